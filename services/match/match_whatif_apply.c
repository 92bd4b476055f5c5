/* match_whatif_apply.c — the changes of a what-if scenario (checked by
 * match_whatif_check.c) applied to an engine copy as the feed records the services would publish once the same change is
 * really made (a project record after a receipt, a context after a new
 * mission, a decision after an endorsement...), through the same
 * tam_match_apply_* the feeds use. So a scenario's run is the run the live
 * matcher will make, and its input hash the one it will state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_whatif.h"

/* ---- records from the model ----------------------------------------------------------------- */

static char *s_dup(tam_arena_t *a, const char *s)
{
    return tam_arena_strndup(a, s, strlen(s));
}

/* A list with room for one more. */
static int s_strs(tam_arena_t *a, tam_strs_t *l, uint32_t n)
{
    l->n = 0;
    l->v = tam_arena_alloc(a, (n + 1) * sizeof *l->v);
    return l->v ? 0 : TAM_ENOMEM;
}

/* The registry's record of project p as the model holds it (codes unknown to
 * the catalogue are not kept by the model and are left out). */
static int s_project_rec(const tam_match_t *m, const tam_match_project_t *p, tam_arena_t *a,
                         tam_project_rec_t *r)
{
    memset(r, 0, sizeof *r);
    tam_project_t *pj = tam_arena_alloc(a, sizeof *pj);
    tam_earmarks_t *e = tam_arena_alloc(a, sizeof *e);
    if (!pj || !e)
        return TAM_ENOMEM;
    memset(pj, 0, sizeof *pj);
    memset(e, 0, sizeof *e);
    r->project = pj;
    pj->earmarks = e;
    pj->id = s_dup(a, p->id);
    pj->title = "what-if";
    pj->budget = p->received > 0 ? p->received : 0;
    pj->budget_status = TAM_E_budget_status_committed;
    pj->start = p->start;
    pj->end = p->end;
    pj->status = p->status;
    pj->dac = "15130";
    pj->donors.v = tam_arena_alloc(a, (p->ndonors + 2) * sizeof *pj->donors.v);
    if (!pj->donors.v)
        return TAM_ENOMEM;
    for (uint32_t k = 0; k < p->ndonors; k++)
        pj->donors.v[pj->donors.n++] = (tam_share_t){.donor = (char *)p->donors[k],
                                                     .percent = k ? 1 : 100};
    if (s_strs(a, &e->countries, p->ne_countries) || s_strs(a, &e->groups, p->ne_groups) ||
        s_strs(a, &e->regions, p->ne_regions) || s_strs(a, &e->categories, 4) ||
        s_strs(a, &e->standards, p->ne_standards) || s_strs(a, &e->modalities, p->ne_modalities))
        return TAM_ENOMEM;
    for (uint32_t k = 0; k < p->ne_countries; k++)
        e->countries.v[e->countries.n++] = (char *)tam_match__country(m, p->e_countries[k])->iso3;
    for (uint32_t k = 0; k < p->ne_groups; k++)
        e->groups.v[e->groups.n++] = (char *)p->e_groups[k];
    for (uint32_t k = 0; k < p->ne_regions; k++) {
        char b[8];
        snprintf(b, sizeof b, "%03u", p->e_regions[k]);
        if (!(e->regions.v[e->regions.n++] = s_dup(a, b)))
            return TAM_ENOMEM;
    }
    for (const char *c = p->e_categories; *c; c++)
        if (!(e->categories.v[e->categories.n++] = tam_arena_strndup(a, c, 1)))
            return TAM_ENOMEM;
    for (uint32_t k = 0; k < p->ne_standards; k++)
        e->standards.v[e->standards.n++] = (char *)tam_match__standard(m, p->e_standards[k])->id;
    for (uint32_t k = 0; k < p->ne_modalities; k++)
        e->modalities.v[e->modalities.n++] =
            (char *)tam_match__modality(m, p->e_modalities[k])->code;
    /* an earmark made only of codes the catalogue does not know matches
     * nothing: keep it so with one such code */
    bool geo = false, th = false, md = false;
    for (size_t k = 0; k < TAM_MATCH_CWORDS; k++)
        geo |= p->geo[k] != 0;
    for (size_t k = 0; k < TAM_MATCH_MAX_STANDARDS; k++)
        th |= p->th[k] >= 0;
    for (size_t k = 0; k < TAM_MATCH_MAX_MODALITIES; k++)
        md |= p->md[k] >= 0;
    if (!geo && !e->countries.n && !e->groups.n && !e->regions.n)
        e->countries.v[e->countries.n++] = "ZZZ";
    if (!th && !e->standards.n && !e->categories.n)
        e->standards.v[e->standards.n++] = "UNKNOWN";
    if (!md && !e->modalities.n)
        e->modalities.v[e->modalities.n++] = "unknown";
    e->post_conflict_only = p->post_conflict_only;
    e->max_per_need = p->max_per_need;
    r->pledged = pj->budget;
    r->received = p->received;
    r->revision = 1;
    return 0;
}

static tam_strs_t *s_list(tam_earmarks_t *e, tam_earmark_dim_t d)
{
    switch (d) {
    case TAM_E_earmark_dim_group: return &e->groups;
    case TAM_E_earmark_dim_country: return &e->countries;
    case TAM_E_earmark_dim_region: return &e->regions;
    case TAM_E_earmark_dim_category: return &e->categories;
    case TAM_E_earmark_dim_standard: return &e->standards;
    case TAM_E_earmark_dim_modality: return &e->modalities;
    default: break;
    }
    return &e->countries;
}

/* Adds or removes code (as the catalogue spells it) in one earmark list. */
static int s_edit(tam_arena_t *a, tam_earmarks_t *e, tam_earmark_dim_t d, const char *code,
                  bool add)
{
    tam_strs_t *l = s_list(e, d);
    for (uint32_t k = 0; k < l->n; k++)
        if (strcmp(l->v[k], code) == 0) {
            if (!add) {
                memmove(&l->v[k], &l->v[k + 1], (l->n - k - 1) * sizeof *l->v);
                l->n--;
            }
            return 0;
        }
    if (!add)
        return 0;
    char **nv = tam_arena_alloc(a, (l->n + 1) * sizeof *nv);
    if (!nv)
        return TAM_ENOMEM;
    if (l->n)
        memcpy(nv, l->v, l->n * sizeof *nv);
    if (!(nv[l->n] = s_dup(a, code)))
        return TAM_ENOMEM;
    l->v = nv;
    l->n++;
    return 0;
}

static int s_apply_rec(tam_match_t *c, const tam_schema_t *s, const void *rec,
                       int (*apply)(tam_match_t *, const void *, size_t))
{
    msgpack_sbuffer sb;
    int rc = tam_encode_sbuf(s, rec, &sb, NULL);
    if (rc == 0)
        rc = apply(c, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int s_context(tam_match_t *c, const tam_whatif_change_t *x, tam_arena_t *a)
{
    tam_context_t r;
    memset(&r, 0, sizeof r);
    r.missions.v = tam_arena_alloc(a, (c->ncountries + 1) * sizeof *r.missions.v);
    if (!r.missions.v)
        return TAM_ENOMEM;
    int ci = tam_match__country_ix(c, x->country);
    for (size_t k = 0; k < c->ncountries; k++) {
        const tam_match_mission_t *ms = &c->missions[k];
        bool here = (int)k == ci;
        if (here && x->kind == TAM_E_whatif_kind_mission_drop)
            continue;
        if (!ms->present && !here)
            continue;
        tam_mission_t *o = &r.missions.v[r.missions.n++];
        memset(o, 0, sizeof *o);
        o->country = (char *)tam_match__country(c, (uint32_t)k)->iso3;
        if (here) {
            o->operation = x->operation && x->operation[0] ? x->operation : "WHATIF";
            o->valid_from = x->valid_from ? x->valid_from : c->run_date;
            o->priorities = x->priorities;
            continue;
        }
        o->operation = (char *)ms->operation;
        o->valid_from = ms->valid_from;
        if (s_strs(a, &o->priorities, (uint32_t)c->nstandards))
            return TAM_ENOMEM;
        for (size_t s = 0; s < c->nstandards; s++)
            if ((ms->prio[s / 64] >> (s % 64)) & 1)
                o->priorities.v[o->priorities.n++] = (char *)tam_match__standard(c, (uint32_t)s)->id;
    }
    return s_apply_rec(c, &tam_schema_context, &r, tam_match_apply_context);
}

static int s_need(tam_match_t *c, const tam_whatif_change_t *x, uint64_t id)
{
    tam_need_t r;
    memset(&r, 0, sizeof r);
    r.id = id;
    if (x->kind == TAM_E_whatif_kind_need_withdraw) {
        const tam_match_need_t *n = &c->needs[tam_match__need_slot(c, x->need)];
        r.respondent = "whatif";
        r.country = (char *)tam_match__country(c, n->country)->iso3;
        r.standard = (char *)tam_match__standard(c, n->standard)->id;
        r.modality = (char *)tam_match__modality(c, n->modality)->code;
        r.priority = n->priority;
        r.cost = n->cost;
        r.start = n->start;
        r.end = n->end;
        r.status = TAM_E_need_status_withdrawn;
    } else {
        r.respondent = x->respondent && x->respondent[0] ? x->respondent : x->country;
        r.country = x->country;
        r.standard = x->standard;
        r.modality = x->modality;
        r.priority = x->priority ? x->priority : 3;
        r.cost = x->amount;
        r.start = x->start ? x->start : c->run_date;
        r.end = x->end ? x->end : tam_date_from_days(tam_date_days(r.start) + 365);
        r.status = TAM_E_need_status_open;
        r.version = 1;
    }
    char cat[2] = {tam_catalog_standard(c->cat, r.standard)->category, 0};
    r.category = cat;
    return s_apply_rec(c, &tam_schema_need, &r, tam_match_apply_need);
}

static int s_decision(tam_match_t *c, const tam_whatif_change_t *x)
{
    const tam_match_need_t *n = &c->needs[tam_match__need_slot(c, x->need)];
    uint32_t ps = tam_match__project_slot(c, x->project);
    tam_decision_t r;
    memset(&r, 0, sizeof r);
    char prop[TAM_MATCH_ID_MAX + 32], cat[2] = {n->category, 0};
    snprintf(prop, sizeof prop, "%llu/%s", (unsigned long long)n->id, x->project);
    r.proposal = prop;
    r.need = n->id;
    r.project = x->project;
    r.country = (char *)tam_match__country(c, n->country)->iso3;
    r.category = cat;
    r.revision = 1;
    if (x->kind == TAM_E_whatif_kind_decline) {
        r.state = TAM_E_decision_state_declined;
    } else {
        r.state = TAM_E_decision_state_endorsed;
        r.endorsed = x->amount;
        uint32_t k = tam_match__prop_find(c, n->id, ps);
        if (!r.endorsed && k != TAM_MATCH_NONE)
            r.endorsed = c->props[k].amount;
    }
    return s_apply_rec(c, &tam_schema_decision, &r, tam_match_apply_decision);
}

static int s_project_new(tam_match_t *c, const tam_whatif_change_t *x, tam_arena_t *a)
{
    tam_project_rec_t r;
    tam_project_t pj;
    tam_earmarks_t none;
    memset(&r, 0, sizeof r);
    memset(&pj, 0, sizeof pj);
    memset(&none, 0, sizeof none);
    r.project = &pj;
    pj.id = x->project;
    pj.title = "what-if";
    pj.budget = x->amount;
    pj.budget_status = TAM_E_budget_status_committed;
    pj.start = x->start ? x->start : c->run_date;
    pj.end = x->end ? x->end : tam_date_from_days(tam_date_days(pj.start) + 3 * 365);
    pj.status = TAM_E_project_status_active;
    pj.dac = "15130";
    pj.earmarks = x->earmarks ? x->earmarks : &none;
    uint32_t nd = x->donors.n ? x->donors.n : 1;
    pj.donors.v = tam_arena_alloc(a, nd * sizeof *pj.donors.v);
    if (!pj.donors.v)
        return TAM_ENOMEM;
    for (uint32_t k = 0; k < nd; k++)
        pj.donors.v[pj.donors.n++] = (tam_share_t){
            .donor = x->donors.n ? x->donors.v[k] : "WHATIF",
            .percent = k ? 1 : 100};
    r.pledged = r.received = x->amount;
    r.revision = 1;
    return s_apply_rec(c, &tam_schema_project_rec, &r, tam_match_apply_project);
}

static int s_apply_one(tam_match_t *c, const tam_whatif_change_t *x, tam_arena_t *a,
                       uint64_t *next_need)
{
    tam_project_rec_t r;
    int rc;
    uint32_t ps;
    switch (x->kind) {
    case TAM_E_whatif_kind_project_new:
        return s_project_new(c, x, a);
    case TAM_E_whatif_kind_weights:
        for (uint32_t k = 0; k < x->weights.n; k++)
            for (int f = 0; f < TAM_MATCH_NF; f++)
                if (strcmp(x->weights.v[k].name, tam_match_factor_names[f]) == 0) {
                    c->par.wsum += x->weights.v[k].weight - c->par.w[f];
                    c->par.w[f] = x->weights.v[k].weight;
                }
        c->full = true; /* every score moves */
        c->changed = true;
        return 0;
    case TAM_E_whatif_kind_mission_add:
    case TAM_E_whatif_kind_mission_drop:
        return s_context(c, x, a);
    case TAM_E_whatif_kind_decline:
    case TAM_E_whatif_kind_endorse:
        return s_decision(c, x);
    case TAM_E_whatif_kind_need_add:
        return s_need(c, x, (*next_need)++);
    case TAM_E_whatif_kind_need_withdraw:
        return s_need(c, x, x->need);
    default:
        break;
    }
    /* the rest edit one project's record */
    ps = tam_match__project_slot(c, x->project);
    if (ps == TAM_MATCH_NONE)
        return TAM_ENOTFOUND;
    if ((rc = s_project_rec(c, &c->projects[ps], a, &r)))
        return rc;
    tam_earmarks_t *e = r.project->earmarks;
    switch (x->kind) {
    case TAM_E_whatif_kind_receipt:
    case TAM_E_whatif_kind_adjustment:
        r.received += x->amount;
        break;
    case TAM_E_whatif_kind_donor_add:
        r.project->donors.v[r.project->donors.n++] = (tam_share_t){.donor = x->donor, .percent = 1};
        break;
    case TAM_E_whatif_kind_earmark_add:
    case TAM_E_whatif_kind_earmark_remove:
        if ((rc = s_edit(a, e, x->dimension, x->code, x->kind == TAM_E_whatif_kind_earmark_add)))
            return rc;
        break;
    case TAM_E_whatif_kind_post_conflict:
        e->post_conflict_only = x->value;
        break;
    case TAM_E_whatif_kind_max_per_need:
        e->max_per_need = x->amount;
        break;
    default:
        return TAM_EINVAL;
    }
    return s_apply_rec(c, &tam_schema_project_rec, &r, tam_match_apply_project);
}

int tam_match__whatif_apply(tam_match_t *c, const tam_whatif_change_t *ch, uint32_t n)
{
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return TAM_ENOMEM;
    uint64_t next = 0;
    for (uint32_t i = 0; i < c->nneeds; i++)
        if (c->needs[i].id > next)
            next = c->needs[i].id;
    next++;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = s_apply_one(c, &ch[i], a, &next);
    tam_arena_destroy(&a);
    return rc;
}

/* match_whatif_apply.c — the changes of a what-if scenario: checked against
 * the model (every problem with its path), then applied to an engine copy
 * as the feed records the services would publish once the same change is
 * really made (a project record after a receipt, a context after a new
 * mission, a decision after an endorsement...), through the same
 * tam_match_apply_* the feeds use. So a scenario's run is the run the live
 * matcher will make, and its input hash the one it will state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_whatif.h"

const tam_match_t *tam_match__whatif_base(const tam_match_t *m)
{
    return m;
}

/* ---- checks ---------------------------------------------------------------------------- */

typedef struct {
    const tam_match_t *m;
    tam_rpc_error_t *err;
    uint32_t i;
    const char *newp[100]; /* projects added by earlier changes */
    uint32_t nnewp;
} s_chk_t;

#define S_BAD(x, field, ...)                                                                 \
    do {                                                                                     \
        char path_[96];                                                                      \
        snprintf(path_, sizeof path_, "changes[%u]%s%s", (x)->i, (field)[0] ? "." : "", (field)); \
        tam_rpc_error_add((x)->err, path_, __VA_ARGS__);                                     \
    } while (0)

static bool s_new_project(const s_chk_t *x, const char *id)
{
    for (uint32_t k = 0; k < x->nnewp; k++)
        if (strcmp(x->newp[k], id) == 0)
            return true;
    return false;
}

/* The project a change names, present in the model (or added before). */
static const tam_match_project_t *s_chk_project(s_chk_t *x, const tam_whatif_change_t *c,
                                                bool *added)
{
    *added = false;
    if (!c->project || !c->project[0]) {
        S_BAD(x, "project", "a project is required for %s",
              tam_enum_whatif_kind.values[c->kind]);
        return NULL;
    }
    uint32_t ps = tam_match__project_slot(x->m, c->project);
    if (ps != TAM_MATCH_NONE && x->m->projects[ps].present)
        return &x->m->projects[ps];
    if (s_new_project(x, c->project)) {
        *added = true;
        return NULL;
    }
    S_BAD(x, "project", "project %s is not known to the matcher", c->project);
    return NULL;
}

/* True if code is a known code of dimension dim. */
static bool s_code_ok(const tam_match_t *m, tam_earmark_dim_t dim, const char *code)
{
    switch (dim) {
    case TAM_E_earmark_dim_group:
        return tam_catalog_group(m->cat, code) != NULL;
    case TAM_E_earmark_dim_country:
        return tam_match__country_ix(m, code) >= 0;
    case TAM_E_earmark_dim_region: {
        char *end = NULL;
        long v = strtol(code, &end, 10);
        return strlen(code) == 3 && !*end && v > 0 && v <= 999 &&
               tam_catalog_area(m->cat, (uint16_t)v) != NULL;
    }
    case TAM_E_earmark_dim_category:
        return strlen(code) == 1 && tam_catalog_category(m->cat, code[0]) != NULL;
    case TAM_E_earmark_dim_standard:
        return tam_match__standard_ix(m, code) >= 0;
    case TAM_E_earmark_dim_modality:
        return tam_match__modality_ix(m, code) >= 0;
    default:
        break;
    }
    return false;
}

/* True if the project lists code in dimension dim. */
static bool s_listed(const tam_match_t *m, const tam_match_project_t *p, tam_earmark_dim_t dim,
                     const char *code)
{
    switch (dim) {
    case TAM_E_earmark_dim_group:
        for (uint32_t k = 0; k < p->ne_groups; k++)
            if (strcmp(p->e_groups[k], code) == 0)
                return true;
        return false;
    case TAM_E_earmark_dim_country: {
        int c = tam_match__country_ix(m, code);
        for (uint32_t k = 0; k < p->ne_countries; k++)
            if (p->e_countries[k] == c)
                return true;
        return false;
    }
    case TAM_E_earmark_dim_region: {
        long v = strtol(code, NULL, 10);
        for (uint32_t k = 0; k < p->ne_regions; k++)
            if (p->e_regions[k] == v)
                return true;
        return false;
    }
    case TAM_E_earmark_dim_category:
        return code[0] && strchr(p->e_categories, code[0]) != NULL;
    case TAM_E_earmark_dim_standard: {
        int s = tam_match__standard_ix(m, code);
        for (uint32_t k = 0; k < p->ne_standards; k++)
            if (p->e_standards[k] == s)
                return true;
        return false;
    }
    case TAM_E_earmark_dim_modality: {
        int s = tam_match__modality_ix(m, code);
        for (uint32_t k = 0; k < p->ne_modalities; k++)
            if (p->e_modalities[k] == s)
                return true;
        return false;
    }
    default:
        break;
    }
    return false;
}

/* The registry's rule: listed standards belong to listed categories (when
 * categories are listed). */
static void s_chk_earmark(s_chk_t *x, const tam_whatif_change_t *c, const tam_match_project_t *p)
{
    const tam_match_t *m = x->m;
    if (!c->code || !c->code[0]) {
        S_BAD(x, "code", "a code is required for %s", tam_enum_whatif_kind.values[c->kind]);
        return;
    }
    if (!s_code_ok(m, c->dimension, c->code)) {
        S_BAD(x, "code", "%s is not a %s the catalogue knows", c->code,
              tam_enum_earmark_dim.values[c->dimension]);
        return;
    }
    if (!p)
        return;
    bool listed = s_listed(m, p, c->dimension, c->code);
    if (c->kind == TAM_E_whatif_kind_earmark_add && listed)
        S_BAD(x, "code", "project %s already lists %s %s", p->id,
              tam_enum_earmark_dim.values[c->dimension], c->code);
    if (c->kind == TAM_E_whatif_kind_earmark_remove && !listed)
        S_BAD(x, "code", "project %s does not list %s %s", p->id,
              tam_enum_earmark_dim.values[c->dimension], c->code);
    if (c->kind == TAM_E_whatif_kind_earmark_add && c->dimension == TAM_E_earmark_dim_standard &&
        p->e_categories[0]) {
        char cat = tam_match__standard(m, (uint32_t)tam_match__standard_ix(m, c->code))->category;
        if (!strchr(p->e_categories, cat))
            S_BAD(x, "code", "standard %s is of category %c, which project %s does not list "
                  "(the registry refuses it: add the category first)", c->code, cat, p->id);
    }
    if (c->kind == TAM_E_whatif_kind_earmark_remove && c->dimension == TAM_E_earmark_dim_category)
        for (uint32_t k = 0; k < p->ne_standards; k++)
            if (tam_match__standard(m, p->e_standards[k])->category == c->code[0]) {
                S_BAD(x, "code", "project %s lists standards of category %s: remove them first",
                      p->id, c->code);
                break;
            }
}

static const tam_match_need_t *s_chk_need(s_chk_t *x, const tam_whatif_change_t *c)
{
    uint32_t ns = c->need ? tam_match__need_slot(x->m, c->need) : TAM_MATCH_NONE;
    if (ns == TAM_MATCH_NONE || !x->m->needs[ns].open) {
        S_BAD(x, "need", c->need ? "need %llu is not an open need" : "a need id is required",
              (unsigned long long)c->need);
        return NULL;
    }
    return &x->m->needs[ns];
}

static void s_chk_earmarks(s_chk_t *x, const tam_earmarks_t *e)
{
    if (!e)
        return;
    const struct {
        const tam_strs_t *l;
        tam_earmark_dim_t d;
        const char *name;
    } ls[] = {{&e->countries, TAM_E_earmark_dim_country, "countries"},
              {&e->groups, TAM_E_earmark_dim_group, "groups"},
              {&e->regions, TAM_E_earmark_dim_region, "regions"},
              {&e->categories, TAM_E_earmark_dim_category, "categories"},
              {&e->standards, TAM_E_earmark_dim_standard, "standards"},
              {&e->modalities, TAM_E_earmark_dim_modality, "modalities"}};
    for (size_t d = 0; d < sizeof ls / sizeof ls[0]; d++)
        for (uint32_t k = 0; k < ls[d].l->n; k++)
            if (!s_code_ok(x->m, ls[d].d, ls[d].l->v[k])) {
                char f[48];
                snprintf(f, sizeof f, "earmarks.%s[%u]", ls[d].name, k);
                S_BAD(x, f, "%s is not a %s the catalogue knows", ls[d].l->v[k],
                      tam_enum_earmark_dim.values[ls[d].d]);
            }
}

static void s_chk_one(s_chk_t *x, const tam_whatif_change_t *c, int64_t *wsum,
                      int64_t w[TAM_MATCH_NF])
{
    const tam_match_t *m = x->m;
    const tam_match_project_t *p = NULL;
    bool added = false;
    switch (c->kind) {
    case TAM_E_whatif_kind_receipt:
    case TAM_E_whatif_kind_adjustment:
        p = s_chk_project(x, c, &added);
        if (c->kind == TAM_E_whatif_kind_receipt && c->amount <= 0)
            S_BAD(x, "amount", "a receipt needs an amount above 0");
        if (c->kind == TAM_E_whatif_kind_adjustment && c->amount == 0)
            S_BAD(x, "amount", "an adjustment needs a non-zero amount");
        if (p && p->received + c->amount < 0)
            S_BAD(x, "amount", "received funds of %s would go below 0 (%lld received)", p->id,
                  (long long)p->received);
        if (p && (p->status == TAM_E_project_status_cancelled ||
                  (p->status == TAM_E_project_status_closed &&
                   c->kind == TAM_E_whatif_kind_receipt)))
            S_BAD(x, "project", "project %s is %s: the registry takes no such entry", p->id,
                  tam_enum_project_status.values[p->status]);
        break;
    case TAM_E_whatif_kind_project_new:
        if (!c->project || !tam_match__id_ok(c->project))
            S_BAD(x, "project", "a new project needs an id of 2-32 letters, digits, '-' or '_'");
        else if ((tam_match__project_slot(m, c->project) != TAM_MATCH_NONE &&
                  m->projects[tam_match__project_slot(m, c->project)].present) ||
                 s_new_project(x, c->project))
            S_BAD(x, "project", "project %s exists already", c->project);
        else if (x->nnewp < 100)
            x->newp[x->nnewp++] = c->project;
        if (c->amount < 0)
            S_BAD(x, "amount", "the new project's received amount cannot be negative");
        if (c->start && c->end && c->start > c->end)
            S_BAD(x, "end", "the window ends before it starts");
        for (uint32_t k = 0; k < c->donors.n; k++)
            if (!tam_match__id_ok(c->donors.v[k])) {
                char f[32];
                snprintf(f, sizeof f, "donors[%u]", k);
                S_BAD(x, f, "not a donor id");
            }
        s_chk_earmarks(x, c->earmarks);
        break;
    case TAM_E_whatif_kind_donor_add:
        p = s_chk_project(x, c, &added);
        if (!c->donor || !tam_match__id_ok(c->donor))
            S_BAD(x, "donor", "a donor id is required (2-32 letters, digits, '-' or '_')");
        else if (p && p->ndonors >= 20)
            S_BAD(x, "donor", "project %s has 20 donors already", p->id);
        else
            for (uint32_t k = 0; p && k < p->ndonors; k++)
                if (strcmp(p->donors[k], c->donor) == 0)
                    S_BAD(x, "donor", "%s funds %s already", c->donor, p->id);
        break;
    case TAM_E_whatif_kind_earmark_add:
    case TAM_E_whatif_kind_earmark_remove:
        p = s_chk_project(x, c, &added);
        s_chk_earmark(x, c, p);
        break;
    case TAM_E_whatif_kind_post_conflict:
        p = s_chk_project(x, c, &added);
        break;
    case TAM_E_whatif_kind_max_per_need:
        p = s_chk_project(x, c, &added);
        if (c->amount < 0)
            S_BAD(x, "amount", "a per-need cap cannot be negative (0: none)");
        break;
    case TAM_E_whatif_kind_weights:
        if (!c->weights.n)
            S_BAD(x, "weights", "weights lists at least one factor");
        for (uint32_t k = 0; k < c->weights.n; k++) {
            int f = -1;
            for (int q = 0; q < TAM_MATCH_NF; q++)
                if (c->weights.v[k].name && strcmp(c->weights.v[k].name, tam_match_factor_names[q]) == 0)
                    f = q;
            char fld[48];
            snprintf(fld, sizeof fld, "weights[%u].name", k);
            if (f < 0) {
                S_BAD(x, fld, "not a factor: priority, context, thematic, modality, urgency, "
                      "equity, ldc or completeness");
                continue;
            }
            *wsum += c->weights.v[k].weight - w[f];
            w[f] = c->weights.v[k].weight;
        }
        if (*wsum <= 0)
            S_BAD(x, "weights", "the weights would all be 0");
        break;
    case TAM_E_whatif_kind_mission_add:
    case TAM_E_whatif_kind_mission_drop: {
        int ci = c->country ? tam_match__country_ix(m, c->country) : -1;
        if (ci < 0) {
            S_BAD(x, "country", "a country the catalogue knows is required");
            break;
        }
        if (c->kind == TAM_E_whatif_kind_mission_drop && !m->missions[ci].present)
            S_BAD(x, "country", "%s is not a mission country of the planning context",
                  c->country);
        for (uint32_t k = 0; k < c->priorities.n; k++)
            if (tam_match__standard_ix(m, c->priorities.v[k]) < 0) {
                char f[32];
                snprintf(f, sizeof f, "priorities[%u]", k);
                S_BAD(x, f, "%s is not a standard the catalogue knows", c->priorities.v[k]);
            }
        break;
    }
    case TAM_E_whatif_kind_decline:
    case TAM_E_whatif_kind_endorse: {
        const tam_match_need_t *n = s_chk_need(x, c);
        p = s_chk_project(x, c, &added);
        if (!n || !p)
            break;
        const tam_match_decision_t *d = tam_match__decision(m, n->id, p->id);
        if (d && d->present && (d->state == TAM_E_decision_state_committed ||
                                d->state == TAM_E_decision_state_delivered))
            S_BAD(x, "need", "the pair %llu/%s is %s already", (unsigned long long)n->id, p->id,
                  tam_enum_decision_state.values[d->state]);
        if (c->kind == TAM_E_whatif_kind_endorse) {
            if (c->amount < 0)
                S_BAD(x, "amount", "an endorsed amount cannot be negative");
            uint32_t pr = tam_match__prop_find(m, n->id, tam_match__project_slot(m, p->id));
            if (c->amount == 0 && pr == TAM_MATCH_NONE)
                S_BAD(x, "amount", "the pair %llu/%s has no proposal: give the amount",
                      (unsigned long long)n->id, p->id);
        }
        break;
    }
    case TAM_E_whatif_kind_need_add:
        if (!c->country || tam_match__country_ix(m, c->country) < 0)
            S_BAD(x, "country", "a country the catalogue knows is required");
        if (!c->standard || tam_match__standard_ix(m, c->standard) < 0)
            S_BAD(x, "standard", "a standard the catalogue knows is required");
        if (!c->modality || tam_match__modality_ix(m, c->modality) < 0)
            S_BAD(x, "modality", "a modality the catalogue knows is required");
        if (c->amount < 1 || c->amount > 1000000000)
            S_BAD(x, "amount", "the need's cost: 1 to 1,000,000,000 USD");
        if (c->start && c->end && c->start > c->end)
            S_BAD(x, "end", "the window ends before it starts");
        if (c->respondent && c->respondent[0] && strlen(c->respondent) < 2)
            S_BAD(x, "respondent", "a respondent id has 2-64 characters");
        break;
    case TAM_E_whatif_kind_need_withdraw:
        s_chk_need(x, c);
        break;
    default:
        S_BAD(x, "kind", "unknown kind");
        break;
    }
}

int tam_match__whatif_check(const tam_match_t *m, const tam_whatif_change_t *ch, uint32_t n,
                            tam_rpc_error_t *err)
{
    s_chk_t x = {.m = tam_match__whatif_base(m), .err = err};
    int64_t w[TAM_MATCH_NF], wsum = m->par.wsum;
    memcpy(w, m->par.w, sizeof w);
    for (x.i = 0; x.i < n; x.i++) {
        /* a change whose kind did not decode has nothing to check against */
        char kp[48];
        snprintf(kp, sizeof kp, "changes[%u].kind", x.i);
        bool bad = false;
        for (size_t k = 0; k < err->n && !bad; k++)
            bad = strcmp(err->errors[k].field, kp) == 0;
        if (!bad)
            s_chk_one(&x, &ch[x.i], &wsum, w);
    }
    return err->n || err->code ? (err->code ? err->code : TAM_EINVAL) : 0;
}

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

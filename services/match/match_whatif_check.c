/* match_whatif_check.c — the changes of a what-if scenario checked against
 * the model before anything is copied or run: every problem is listed with
 * its path ("changes[i].field"), as the registry, the pipeline and ingest
 * would refuse the same change (docs/whatif.md, proto/whatif-json.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_whatif.h"

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


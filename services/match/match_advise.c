/* match_advise.c — match.advise: for a project whose money the run leaves
 * unallocated, the single-earmark relaxations (a group, area, country,
 * category, standard or modality added; the cap or the post-conflict flag
 * lifted), each evaluated exactly by a warm re-solve on a copy of the
 * engine; and where new unearmarked money does most good (docs/whatif.md).
 *
 * A relaxation only adds pairs (or raises caps). If none of the pairs it
 * opens has a positive reduced score s_ij - y_j - z_i against the run's
 * optimal duals, the current allocation stays optimal (LP duality), so it
 * adds exactly nothing and is not re-solved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_whatif.h"

#define S_BIT(v, i) (((v)[(i) / 64] >> ((i) % 64)) & 1)

typedef struct {
    tam_earmark_dim_t dim;   /* or -1: cap, -2: post-conflict */
    int kind;
    char code[33];
    bool solve;              /* an opened pair has a positive reduced score */
    uint32_t nneeds;         /* needs it would make eligible */
    __int128 ub;             /* upper bound of what it adds to the LP optimum */
    bool done;               /* evaluated: its result below */
    int64_t od, fd, pf;      /* objective_delta, funded_delta, priority_funded */
    tam_advice_need_t *nv;   /* the needs it funds (arena) */
    uint32_t nn;
} s_cand_t;

/* What decides a project's pairs and their scores (eligibility rules and
 * factors read nothing else of its earmarks: match_elig.c): two relaxations
 * with equal profiles are the same scenario for the allocation, evaluated once. */
typedef struct {
    uint64_t geo[TAM_MATCH_CWORDS];
    int16_t th[TAM_MATCH_MAX_STANDARDS];
    int16_t md[TAM_MATCH_MAX_MODALITIES];
    int64_t mpn;
    bool pc;
} s_prof_t;

static void s_prof(const tam_match_project_t *o, s_prof_t *pf)
{
    memset(pf, 0, sizeof *pf);
    memcpy(pf->geo, o->geo, sizeof pf->geo);
    memcpy(pf->th, o->th, sizeof pf->th);
    memcpy(pf->md, o->md, sizeof pf->md);
    pf->mpn = o->max_per_need;
    pf->pc = o->post_conflict_only;
}

enum { S_EARMARK = 0, S_CAP = 1, S_PC = 2 };

typedef struct {
    s_cand_t *v;
    s_prof_t *prof;          /* [n] the relaxed profiles (s_screen) */
    uint32_t n, cap;
    int32_t ix[6][1024];     /* (dim, code index) -> candidate, -1 none */
} s_cands_t;

static int s_cand(s_cands_t *cs, int kind, tam_earmark_dim_t dim, int code_ix, const char *code)
{
    if (kind == S_EARMARK && cs->ix[dim][code_ix] >= 0)
        return cs->ix[dim][code_ix];
    if (cs->n == cs->cap) {
        uint32_t nc = cs->cap ? cs->cap * 2 : 64;
        s_cand_t *nv = realloc(cs->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        cs->v = nv;
        cs->cap = nc;
    }
    s_cand_t *c = &cs->v[cs->n];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->dim = dim;
    snprintf(c->code, sizeof c->code, "%s", code);
    if (kind == S_EARMARK)
        cs->ix[dim][code_ix] = (int32_t)cs->n;
    return (int32_t)cs->n++;
}

/* The project with one relaxation, compiled (for scores of opened pairs). */
static int s_relaxed(const tam_match_t *c, const tam_match_project_t *p, const s_cand_t *k,
                     tam_match_project_t *o)
{
    int rc = tam_match__project_copy(o, p);
    if (rc)
        return rc;
    if (k->kind == S_PC) {
        o->post_conflict_only = false;
        return 0;
    }
    if (k->kind == S_CAP) {
        o->max_per_need = 0;
        return 0;
    }
    void *nv = NULL;
    switch (k->dim) {
    case TAM_E_earmark_dim_country:
        nv = realloc(o->e_countries, (o->ne_countries + 1) * sizeof *o->e_countries);
        if (nv) {
            o->e_countries = nv;
            o->e_countries[o->ne_countries++] = (uint16_t)tam_match__country_ix(c, k->code);
        }
        break;
    case TAM_E_earmark_dim_group:
        nv = realloc(o->e_groups, (o->ne_groups + 1) * sizeof *o->e_groups);
        if (nv) {
            o->e_groups = nv;
            snprintf(o->e_groups[o->ne_groups++], 8, "%.7s", k->code);
        }
        break;
    case TAM_E_earmark_dim_region:
        nv = realloc(o->e_regions, (o->ne_regions + 1) * sizeof *o->e_regions);
        if (nv) {
            o->e_regions = nv;
            o->e_regions[o->ne_regions++] = (uint16_t)atoi(k->code);
        }
        break;
    case TAM_E_earmark_dim_category: {
        size_t l = strlen(o->e_categories);
        nv = o->e_categories;
        if (l < 4) {
            o->e_categories[l] = k->code[0];
            o->e_categories[l + 1] = 0;
        }
        break;
    }
    case TAM_E_earmark_dim_standard:
        nv = realloc(o->e_standards, (o->ne_standards + 1) * sizeof *o->e_standards);
        if (nv) {
            o->e_standards = nv;
            o->e_standards[o->ne_standards++] = (uint16_t)tam_match__standard_ix(c, k->code);
        }
        break;
    case TAM_E_earmark_dim_modality:
        nv = realloc(o->e_modalities, (o->ne_modalities + 1) * sizeof *o->e_modalities);
        if (nv) {
            o->e_modalities = nv;
            o->e_modalities[o->ne_modalities++] = (uint8_t)tam_match__modality_ix(c, k->code);
        }
        break;
    default:
        break;
    }
    if (!nv) {
        tam_match__project_free(o);
        return TAM_ENOMEM;
    }
    tam_match__compile(c, o);
    return 0;
}

static int64_t s_need_dual(const tam_match_t *c, const tam_match_need_t *n)
{
    return n->flow < c->sol.n_needs ? c->sol.need_dual[n->flow] : 0;
}

/* Finds the candidates: for every open need that p may not fund, the
 * relaxations of one earmark that would let it (when only one rule
 * excludes it). */
static int s_find(const tam_match_t *c, const tam_match_project_t *p, uint32_t ps, s_cands_t *cs,
                  uint32_t **cn, uint32_t *ncn)
{
    uint32_t cap = 0;
    *cn = NULL;
    *ncn = 0;
    bool any_geo = !p->ne_countries && !p->ne_groups && !p->ne_regions;
    for (uint32_t i = 0; i < c->nneeds; i++) {
        const tam_match_need_t *n = &c->needs[i];
        if (!n->open)
            continue;
        const tam_match_arc_t *a = tam_match__arc(n, ps);
        if (a && a->eligible)
            continue;
        const tam_match_decision_t *d = tam_match__decision(c, n->id, p->id);
        if ((d && d->present && d->state == TAM_E_decision_state_declined) ||
            n->start > p->end || p->start > n->end)
            continue;
        bool geo = !S_BIT(p->geo, n->country), th = p->th[n->standard] < 0,
             md = p->md[n->modality] < 0,
             pc = p->post_conflict_only && !S_BIT(c->mission_on, n->country);
        if (geo + th + md + pc != 1)
            continue;
        int got[4], ng = 0;
        if (geo && !any_geo) {
            const tam_country_t *ct = tam_match__country(c, n->country);
            got[ng++] = s_cand(cs, S_EARMARK, TAM_E_earmark_dim_country, n->country, ct->iso3);
            for (size_t g = 0; g < tam_catalog_ngroups(c->cat); g++)
                if (strcmp(tam_catalog_group_at(c->cat, g)->code, ct->group) == 0)
                    got[ng++] = s_cand(cs, S_EARMARK, TAM_E_earmark_dim_group, (int)g, ct->group);
            uint16_t ar[3] = {ct->region, ct->subregion, ct->intermediate};
            for (int r = 0; r < 3 && ng < 4; r++)
                if (ar[r] && ar[r] < 1024 && tam_catalog_area(c->cat, ar[r])) {
                    char b[8];
                    snprintf(b, sizeof b, "%03u", ar[r]);
                    got[ng++] = s_cand(cs, S_EARMARK, TAM_E_earmark_dim_region, ar[r], b);
                }
        } else if (th) {
            bool cat_listed = strchr(p->e_categories, n->category) != NULL;
            if (cat_listed || !p->e_categories[0])
                got[ng++] = s_cand(cs, S_EARMARK, TAM_E_earmark_dim_standard, n->standard,
                                   tam_match__standard(c, n->standard)->id);
            else {
                char cc[2] = {n->category, 0};
                got[ng++] = s_cand(cs, S_EARMARK, TAM_E_earmark_dim_category,
                                   n->category - 'A', cc);
            }
        } else if (md) {
            got[ng++] = s_cand(cs, S_EARMARK, TAM_E_earmark_dim_modality, n->modality,
                               tam_match__modality(c, n->modality)->code);
        } else if (pc) {
            int k = -1;
            for (uint32_t q = 0; q < cs->n; q++)
                if (cs->v[q].kind == S_PC)
                    k = (int)q;
            got[ng++] = k >= 0 ? k : s_cand(cs, S_PC, 0, 0, "");
        }
        for (int g = 0; g < ng; g++) {
            if (got[g] < 0)
                return TAM_ENOMEM;
            if (*ncn == cap) {
                cap = cap ? cap * 2 : 1024;
                uint32_t *nv = realloc(*cn, (size_t)cap * 2 * sizeof *nv);
                if (!nv)
                    return TAM_ENOMEM;
                *cn = nv;
            }
            (*cn)[2 * *ncn] = (uint32_t)got[g];
            (*cn)[2 * *ncn + 1] = i;
            (*ncn)++;
            cs->v[got[g]].nneeds++;
        }
    }
    return 0;
}

typedef struct {
    int64_t rs, room;
} s_rr_t;

static int s_cmp_rr(const void *a, const void *b)
{
    int64_t x = ((const s_rr_t *)a)->rs, y = ((const s_rr_t *)b)->rs;
    return x > y ? -1 : x < y;
}

/* The least upper bound of this family (weak duality): keep the run's duals,
 * raise the project's price y_j by d >= 0 (which costs its budget B times d)
 * and give each new or widened pair g = (rs - d)+ (which costs its room times
 * that). Feasible for the relaxed problem for every d; the best d is 0 or one
 * of the rs. */
static __int128 s_bound(s_rr_t *v, uint32_t n, int64_t budget)
{
    qsort(v, n, sizeof *v, s_cmp_rr);
    __int128 all = 0, best, c = 0, sr = 0;
    for (uint32_t k = 0; k < n; k++)
        all += (__int128)v[k].rs * v[k].room;
    best = all;
    for (uint32_t k = 0; k < n; k++) {
        /* d = rs_k: pairs before k pay (rs_i - rs_k) room_i */
        __int128 f = (__int128)budget * v[k].rs + sr - c * v[k].rs;
        if (f < best)
            best = f;
        c += v[k].room;
        sr += (__int128)v[k].rs * v[k].room;
    }
    return best < 0 ? 0 : best;
}

/* Marks the candidates whose opened pairs include one with a positive
 * reduced score (the others provably add nothing), with an upper bound of
 * what each can add. */
static int s_screen(const tam_match_t *c, const tam_match_project_t *p, s_cands_t *cs,
                    const uint32_t *cn, uint32_t ncn)
{
    int64_t y = p->flow < c->sol.n_projects ? c->sol.project_dual[p->flow] : 0;
    uint32_t nrr = 0, cap_rr = 1024;
    s_rr_t *rr = malloc(cap_rr * sizeof *rr);
    if (!rr)
        return TAM_ENOMEM;
#define S_RR(r, m)                                                                   \
    do {                                                                             \
        if (nrr == cap_rr) {                                                         \
            s_rr_t *nv_ = realloc(rr, 2 * cap_rr * sizeof *rr);                      \
            if (!nv_) {                                                              \
                free(rr);                                                            \
                return TAM_ENOMEM;                                                   \
            }                                                                        \
            rr = nv_;                                                                \
            cap_rr *= 2;                                                             \
        }                                                                            \
        rr[nrr++] = (s_rr_t){(r), (m)};                                              \
    } while (0)
    cs->prof = malloc(((size_t)cs->n + 1) * sizeof *cs->prof);
    if (!cs->prof) {
        free(rr);
        return TAM_ENOMEM;
    }
    for (uint32_t k = 0; k < cs->n; k++) {
        s_cand_t *cd = &cs->v[k];
        nrr = 0;
        if (cd->kind == S_CAP) {
            s_prof(p, &cs->prof[k]);
            cs->prof[k].mpn = 0;
            /* pairs held at the cap whose score beats both prices */
            for (uint32_t i = 0; i < c->nneeds; i++) {
                const tam_match_need_t *n = &c->needs[i];
                const tam_match_arc_t *a = n->open ? tam_match__arc(n, (uint32_t)(p - c->projects)) : NULL;
                if (!a || !a->eligible || a->flow >= c->sol.n_arcs)
                    continue;
                int64_t rs = a->score - y - s_need_dual(c, n);
                int64_t room = n->flow_amount < p->flow_budget ? n->flow_amount : p->flow_budget;
                room -= c->sol.x[a->flow];
                if ((c->sol.arc_flags[a->flow] & TAM_FLOW_ARC_AT_CAP) && rs > 0 && room > 0) {
                    cd->solve = true;
                    S_RR(rs, room);
                }
            }
            cd->ub = s_bound(rr, nrr, p->flow_budget);
            continue;
        }
        tam_match_project_t o;
        int rc = s_relaxed(c, p, cd, &o);
        if (rc) {
            free(rr);
            return rc;
        }
        o.can_fund = p->can_fund;
        for (uint32_t q = 0; q < ncn; q++) {
            if (cn[2 * q] != k)
                continue;
            const tam_match_need_t *n = &c->needs[cn[2 * q + 1]];
            tam_match_factors_t f;
            tam_match__factors(c, n, &o, c->run_date, &f);
            int64_t rs = tam_match_score(&c->par, &f) - y - s_need_dual(c, n);
            if (rs <= 0)
                continue;
            /* weak duality: the run's duals, with g_ij = rs on the new pair, are
             * feasible for the relaxed problem; its optimum rises by at most
             * rs times what the pair can carry */
            int64_t room = n->flow_amount < p->flow_budget ? n->flow_amount : p->flow_budget;
            if (p->max_per_need > 0 && p->max_per_need < room)
                room = p->max_per_need;
            cd->solve = true;
            S_RR(rs, room > 0 ? room : 0);
        }
        cd->ub = s_bound(rr, nrr, p->flow_budget);
        s_prof(&o, &cs->prof[k]);
        tam_match__project_free(&o);
    }
#undef S_RR
    free(rr);
    return 0;
}

static int s_cmp_ub(const void *a, const void *b, void *arg)
{
    const s_cands_t *cs = arg;
    const s_cand_t *x = &cs->v[*(const uint32_t *)a], *y = &cs->v[*(const uint32_t *)b];
    if (x->ub != y->ub)
        return x->ub > y->ub ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void s_change(const tam_match_project_t *p, const s_cand_t *k, bool undo,
                     tam_whatif_change_t *x)
{
    memset(x, 0, sizeof *x);
    x->project = (char *)p->id;
    if (k->kind == S_PC) {
        x->kind = TAM_E_whatif_kind_post_conflict;
        x->value = undo;
    } else if (k->kind == S_CAP) {
        x->kind = TAM_E_whatif_kind_max_per_need;
        x->amount = undo ? p->max_per_need : 0;
    } else {
        x->kind = undo ? TAM_E_whatif_kind_earmark_remove : TAM_E_whatif_kind_earmark_add;
        x->dimension = k->dim;
        x->code = (char *)k->code;
    }
}

static char *s_text(tam_arena_t *a, const tam_match_project_t *p, const s_cand_t *k)
{
    char b[300];
    if (k->kind == S_PC)
        snprintf(b, sizeof b, "%s: lift post-conflict-only", p->id);
    else if (k->kind == S_CAP)
        snprintf(b, sizeof b, "%s: lift the per-need cap of %lld USD", p->id,
                 (long long)p->max_per_need);
    else
        snprintf(b, sizeof b, "%s: add %s %s to its earmarks", p->id,
                 tam_enum_earmark_dim.values[k->dim], k->code);
    return tam_arena_strndup(a, b, strlen(b));
}

/* Fills an advice item from the copy's current run against base. */
int tam_match__advice_item(const tam_match_t *c, const tam_match_snap_t *base, tam_arena_t *a,
                           tam_advice_t *it)
{
    tam_whatif_result_t r;
    memset(&r, 0, sizeof r);
    int rc = tam_match__compare(c, base, 0, 100000, a, &r);
    if (rc)
        return rc;
    __int128 d = c->sol.objective - base->objective;
    it->objective_delta = d > INT64_MAX ? INT64_MAX : (d < INT64_MIN ? INT64_MIN : (int64_t)d);
    it->funded_delta = r.proposed - r.withdrawn;
    it->needs.v = tam_arena_alloc(a, 21 * sizeof *it->needs.v);
    if (!it->needs.v)
        return TAM_ENOMEM;
    for (uint32_t k = 0; k < r.needs.n; k++) {
        const tam_whatif_need_t *n = &r.needs.v[k];
        if (n->move != TAM_E_need_move_funded)
            continue;
        if (n->priority >= 4)
            it->priority_funded += n->after - n->before;
        if (it->needs.n < 20)
            it->needs.v[it->needs.n++] = (tam_advice_need_t){n->need, n->country, n->standard,
                                                              n->priority, n->after - n->before};
    }
    return 0;
}

static int s_cmp_item(const void *a, const void *b)
{
    const tam_advice_t *x = a, *y = b;
    if (x->objective_delta != y->objective_delta)
        return x->objective_delta > y->objective_delta ? -1 : 1;
    if (x->priority_funded != y->priority_funded)
        return x->priority_funded > y->priority_funded ? -1 : 1;
    return strcmp(x->text, y->text);
}

/* The base copy: own (ready to run) or a copy of m. */
int tam_match__advise_base(const tam_match_t *m, tam_match_t *own, tam_match_t **c)
{
    if (!own)
        return tam_match__whatif_copy(m, c);
    *c = own;
    return tam_match__whatif_ready(own);
}

int tam_match__advise_project(const tam_match_t *m, const char *project, int64_t limit,
                              tam_arena_t *a, tam_advice_list_t *out, tam_rpc_error_t *err)
{
    return tam_match__advise_project_on(m, NULL, project, limit, a, out, err);
}

int tam_match__advise_project_on(const tam_match_t *m, tam_match_t *own, const char *project,
                                 int64_t limit, tam_arena_t *a, tam_advice_list_t *out,
                                 tam_rpc_error_t *err)
{
    int64_t t0 = tam_match__now_us();
    tam_match_t *c = NULL;
    tam_match_snap_t base;
    memset(&base, 0, sizeof base);
    s_cands_t *cs = calloc(1, sizeof *cs);
    uint32_t *cn = NULL, ncn = 0;
    tam_advice_t *items = NULL;
    int rc = TAM_ENOMEM;
    if (cs)
        memset(cs->ix, 0xff, sizeof cs->ix);
    if (!cs) {
        tam_match_destroy(&own);
        goto out;
    }
    if ((rc = tam_match__advise_base(m, own, &c)) || (rc = tam_match__snap(c, &base)))
        goto out;
    c->lean = true; /* the screen below reads the base run's duals; the re-solves need none */
    uint32_t ps = tam_match__project_slot(c, project);
    if (ps == TAM_MATCH_NONE || !c->projects[ps].present) {
        rc = tam_rpc_error_set(err, TAM_ENOTFOUND, "project", "project %s is not known to the matcher", project);
        rc = err->code;
        goto out;
    }
    const tam_match_project_t *p = &c->projects[ps];
    out->project = (char *)project;
    int64_t used = p->flow < c->sol.n_projects ? c->sol.project_used[p->flow] : 0;
    out->unallocated = p->can_fund ? p->flow_budget - used : 0;
    if (out->unallocated <= 0)
        goto done; /* nothing stranded: nothing to advise */
    if ((rc = s_find(c, p, ps, cs, &cn, &ncn)))
        goto out;
    if (p->max_per_need > 0 && s_cand(cs, S_CAP, 0, 0, "") < 0)
        goto out;
    if ((rc = s_screen(c, p, cs, cn, ncn)))
        goto out;
    out->candidates = cs->n;
    items = calloc(cs->n + 1, sizeof *items);
    if (!items) {
        rc = TAM_ENOMEM;
        goto out;
    }
    tam_match_project_t orig;
    if ((rc = tam_match__project_copy(&orig, p)))
        goto out;
    /* best bound first; stop when no candidate left can enter the top limit
     * (its bound, plus what the minimum proposal costs the base run, is
     * below the limit-th exact gain found) */
    uint32_t *ord = malloc(((size_t)cs->n + 1) * sizeof *ord), nord = 0;
    if (!ord) {
        tam_match__project_free(&orig);
        rc = TAM_ENOMEM;
        goto out;
    }
    for (uint32_t k = 0; k < cs->n; k++)
        if (cs->v[k].solve)
            ord[nord++] = k;
    qsort_r(ord, nord, sizeof *ord, s_cmp_ub, cs);
    __int128 slack = c->lp_bound > c->sol.objective ? c->lp_bound - c->sol.objective : 0;
    uint32_t ni = 0;
    for (uint32_t oi = 0; oi < nord; oi++) {
        uint32_t k = ord[oi];
        s_cand_t *cd = &cs->v[k];
        if (ni >= (uint32_t)limit) {
            qsort(items, ni, sizeof *items, s_cmp_item);
            if (cd->ub + slack < (__int128)items[limit - 1].objective_delta) {
                out->pruned = nord - oi;
                break;
            }
        }
        /* the same profile as one evaluated: the same scenario, the same result */
        const s_cand_t *same = NULL;
        for (uint32_t q = 0; q < oi && !same; q++)
            if (cs->v[ord[q]].done && memcmp(&cs->prof[ord[q]], &cs->prof[k], sizeof *cs->prof) == 0)
                same = &cs->v[ord[q]];
        tam_whatif_change_t x;
        if (!same) {
            s_change(&orig, cd, false, &x);
            if ((rc = tam_match__whatif_apply(c, &x, 1)) || (rc = tam_match__whatif_run(c)))
                break;
            out->solved++;
        }
        tam_advice_t *it = &items[ni];
        it->change = tam_arena_alloc(a, sizeof *it->change);
        if (!it->change || !(it->text = s_text(a, &orig, cd))) {
            rc = TAM_ENOMEM;
            break;
        }
        s_change(&orig, cd, false, it->change);
        it->change->project = out->project;
        if (it->change->code &&
            !(it->change->code = tam_arena_strndup(a, cd->code, strlen(cd->code)))) {
            rc = TAM_ENOMEM;
            break;
        }
        if (same) {
            it->objective_delta = same->od;
            it->funded_delta = same->fd;
            it->priority_funded = same->pf;
            it->needs.v = same->nv;
            it->needs.n = same->nn;
        } else if ((rc = tam_match__advice_item(c, &base, a, it))) {
            break;
        }
        cd->done = true;
        cd->od = it->objective_delta;
        cd->fd = it->funded_delta;
        cd->pf = it->priority_funded;
        cd->nv = it->needs.v;
        cd->nn = (uint32_t)it->needs.n;
        if (it->objective_delta > 0 || it->funded_delta > 0)
            ni++;
        if (same)
            continue;
        s_change(&orig, cd, true, &x); /* back to the project as it is; the next run re-solves */
        if ((rc = tam_match__whatif_apply(c, &x, 1)))
            break;
    }
    tam_match__project_free(&orig);
    free(ord);
    if (rc)
        goto out;
    qsort(items, ni, sizeof *items, s_cmp_item);
    out->items.n = ni < limit ? ni : (uint32_t)limit;
    out->items.v = tam_arena_alloc(a, ((size_t)out->items.n + 1) * sizeof *out->items.v);
    if (!out->items.v) {
        rc = TAM_ENOMEM;
        goto out;
    }
    memcpy(out->items.v, items, out->items.n * sizeof *items);
done:
    rc = 0;
out:
    out->solve_us = tam_match__now_us() - t0;
    free(items);
    free(cn);
    if (cs)
        free(cs->v);
    if (cs)
        free(cs->prof);
    free(cs);
    tam_match__snap_free(&base);
    tam_match_destroy(&c);
    return rc;
}

/* match.advise on the live engine m, or on own (a copy taken; then m is own) */
static int s_advise_query(tam_match_t *m, tam_match_t *own, const void *body, size_t len,
                          tam_arena_t *a, msgpack_sbuffer *answer, tam_rpc_error_t *err);

int tam_match__advise_query(tam_match_t *m, const void *body, size_t len, tam_arena_t *a,
                            msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    return s_advise_query(m, NULL, body, len, a, answer, err);
}

int tam_match__advise_query_on(tam_match_t *c, const void *body, size_t len, tam_arena_t *a,
                               msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    return s_advise_query(c, c, body, len, a, answer, err);
}

static int s_advise_query(tam_match_t *m, tam_match_t *own, const void *body, size_t len,
                          tam_arena_t *a, msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_advise_query_t q;
    memset(&q, 0, sizeof q);
    tam_codec_err_t ce;
    if (tam_decode(&tam_schema_advise_query, body, len, a, &q, &ce)) {
        tam_match_destroy(&own);
        return tam_rpc_error_set(err, ce.code, ce.path, "%s", ce.message), err->code;
    }
    bool proj = q.project && q.project[0];
    bool ran = m->run_id != 0;
    if (proj == (q.money > 0) || !ran)
        tam_match_destroy(&own); /* m is not read after this */
    if (proj == (q.money > 0))
        return tam_rpc_error_set(err, TAM_EINVAL, proj ? "money" : "project",
                                 "give either a project or an amount of new money"),
               err->code;
    if (!ran)
        return tam_rpc_error_set(err, TAM_ESTATE, "",
                                 "no run yet: the matcher is waiting for its feeds"),
               err->code;
    tam_advice_list_t out;
    memset(&out, 0, sizeof out);
    out.run = m->run_id;
    out.hash = own ? tam_arena_strndup(a, m->hash, strlen(m->hash)) : m->hash;
    if (!out.hash) {
        tam_match_destroy(&own);
        return TAM_ENOMEM;
    }
    /* own is taken (and destroyed) by what answers; m is not read after this */
    int rc = proj ? tam_match__advise_project_on(own ? NULL : m, own, q.project,
                                                 q.limit ? q.limit : 10, a, &out, err)
                  : tam_match__advise_money_on(own ? NULL : m, own, q.money, a, &out);
    if (err->code)
        return err->code;
    if (rc == TAM_ESTATE)
        return tam_rpc_error_set(err, rc, "", "no run yet"), err->code;
    if (rc)
        return rc;
    tam_info("advise: %s: %lld candidate(s), %lld solved, %u suggestion(s), %lld us",
             proj ? "project" : "money", (long long)out.candidates, (long long)out.solved,
             out.items.n, (long long)out.solve_us);
    msgpack_packer pk;
    msgpack_sbuffer_clear(answer);
    msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
    return tam_encode(&tam_schema_advice_list, &out, &pk, NULL);
}

/* match_clone.c — a deep copy of the engine: model, solver basis, last
 * solution and proposals. What-if scenarios (match_whatif.c) change and run
 * the copy; the original, and the run it published, stay untouched.
 *
 * Every owned pointer of struct tam_match, tam_match_need_t and
 * tam_match_project_t is copied here: a new one needs a line here. */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_whatif.h"

/* Copies n elements of elem bytes (NULL stays NULL; n 0 gives one element,
 * so that "allocated" stays distinguishable from NULL). */
static int s_dup(void **dst, const void *src, size_t elem, size_t n)
{
    *dst = NULL;
    if (!src)
        return 0;
    void *p = malloc(elem * (n ? n : 1));
    if (!p)
        return TAM_ENOMEM;
    if (n)
        memcpy(p, src, elem * n);
    *dst = p;
    return 0;
}

#define S_DUP(dst, src, n) s_dup((void **)&(dst), (src), sizeof *(src), (n))

static int s_map(tam_match_map_t *d, const tam_match_map_t *s)
{
    *d = *s;
    d->keys = NULL;
    d->vals = NULL;
    if (!s->cap)
        return 0;
    return S_DUP(d->keys, s->keys, s->cap) || S_DUP(d->vals, s->vals, s->cap) ? TAM_ENOMEM : 0;
}

static int s_solution(tam_flow_solution_t *d, const tam_flow_solution_t *s)
{
    *d = *s;
    d->x = NULL;
    d->arc_flags = d->need_flags = d->project_flags = NULL;
    d->need_funded = d->need_dual = d->project_used = d->project_dual = NULL;
    if (S_DUP(d->x, s->x, s->n_arcs) || S_DUP(d->arc_flags, s->arc_flags, s->n_arcs) ||
        S_DUP(d->need_funded, s->need_funded, s->n_needs) ||
        S_DUP(d->need_dual, s->need_dual, s->n_needs) ||
        S_DUP(d->need_flags, s->need_flags, s->n_needs) ||
        S_DUP(d->project_used, s->project_used, s->n_projects) ||
        S_DUP(d->project_dual, s->project_dual, s->n_projects) ||
        S_DUP(d->project_flags, s->project_flags, s->n_projects))
        return TAM_ENOMEM;
    return 0;
}

int tam_match__project_copy(tam_match_project_t *d, const tam_match_project_t *s)
{
    *d = *s;
    d->e_countries = NULL;
    d->e_groups = NULL;
    d->e_regions = NULL;
    d->e_standards = NULL;
    d->e_modalities = NULL;
    d->donors = NULL;
    if (S_DUP(d->e_countries, s->e_countries, s->ne_countries + 1) ||
        S_DUP(d->e_groups, s->e_groups, s->ne_groups + 1) ||
        S_DUP(d->e_regions, s->e_regions, s->ne_regions + 1) ||
        S_DUP(d->e_standards, s->e_standards, s->ne_standards + 1) ||
        S_DUP(d->e_modalities, s->e_modalities, s->ne_modalities + 1) ||
        S_DUP(d->donors, s->donors, s->ndonors + 1))
        return TAM_ENOMEM;
    return 0;
}

int tam_match__clone(const tam_match_t *m, tam_match_t **out)
{
    *out = NULL;
    /* Member by member, from a zeroed struct: a member this file does not
     * know (added to struct tam_match later) starts zeroed in the copy,
     * never sharing an owned pointer with the live engine. */
    tam_match_t *c = calloc(1, sizeof *c);
    if (!c)
        return TAM_ENOMEM;
    c->cat = m->cat;
    c->par = m->par;
    c->ncountries = m->ncountries;
    c->nstandards = m->nstandards;
    c->nmodalities = m->nmodalities;
    memcpy(c->cat_nstd, m->cat_nstd, sizeof c->cat_nstd);
    c->ndecs = m->ndecs;
    c->cap_decs = m->cap_decs;
    memcpy(c->missions, m->missions, sizeof c->missions);
    c->ctx_present = m->ctx_present;
    c->ctx_gen = m->ctx_gen;
    memcpy(c->ctx_digest, m->ctx_digest, sizeof c->ctx_digest);
    memcpy(c->mission_on, m->mission_on, sizeof c->mission_on);
    memcpy(c->gen, m->gen, sizeof c->gen);
    c->full = m->full;
    c->changed = m->changed;
    c->ndirty_needs = m->ndirty_needs;
    c->cap_dirty_needs = m->cap_dirty_needs;
    c->ndirty_projects = m->ndirty_projects;
    c->cap_dirty_projects = m->cap_dirty_projects;
    memcpy(c->country_fixed, m->country_fixed, sizeof c->country_fixed);
    c->run_date = m->run_date;
    c->rebuild = m->rebuild;
    c->nops = m->nops;
    c->cap_ops = m->cap_ops;
    c->flow_arcs = m->flow_arcs;
    c->nfrags = m->nfrags;
    c->cap_frags = m->cap_frags;
    c->lp_bound = m->lp_bound;
    c->min_rounds = m->min_rounds;
    c->set_aside = m->set_aside;
    c->ranges_done = m->ranges_done;
    c->live_arcs = m->live_arcs;
    c->run_id = m->run_id;
    c->run_floor = m->run_floor;
    memcpy(c->hash, m->hash, sizeof c->hash);
    c->date = m->date;
    memcpy(c->seqs, m->seqs, sizeof c->seqs);
    memcpy(c->epochs, m->epochs, sizeof c->epochs);
    c->header_len = m->header_len;
    c->requested = m->requested;
    c->funded = m->funded;
    c->unfunded = m->unfunded;
    c->lp_run = m->lp_run;
    c->st = m->st;
    int rc = TAM_ENOMEM;
    if (!(c->scratch = tam_arena_new(0)))
        goto fail;
    if (m->cap_needs && !(c->needs = calloc(m->cap_needs, sizeof *c->needs)))
        goto fail;
    c->cap_needs = m->cap_needs;
    for (uint32_t i = 0; i < m->nneeds; i++) {
        c->needs[i] = m->needs[i];
        c->needs[i].arcs = NULL;
        c->nneeds = i + 1;
        if (S_DUP(c->needs[i].arcs, m->needs[i].arcs, m->needs[i].cap_arcs))
            goto fail;
    }
    if (m->cap_projects && !(c->projects = calloc(m->cap_projects, sizeof *c->projects)))
        goto fail;
    c->cap_projects = m->cap_projects;
    for (uint32_t j = 0; j < m->nprojects; j++) {
        c->nprojects = j + 1;
        if (tam_match__project_copy(&c->projects[j], &m->projects[j]))
            goto fail;
    }
    if (S_DUP(c->decs, m->decs, m->cap_decs) || s_map(&c->need_map, &m->need_map) ||
        s_map(&c->project_map, &m->project_map) || s_map(&c->dec_map, &m->dec_map) ||
        s_map(&c->dec_need, &m->dec_need) || s_map(&c->prop_map, &m->prop_map) ||
        S_DUP(c->dirty_needs, m->dirty_needs, m->cap_dirty_needs) ||
        S_DUP(c->dirty_projects, m->dirty_projects, m->cap_dirty_projects) ||
        S_DUP(c->ops, m->ops, m->cap_ops) || S_DUP(c->frags, m->frags, m->cap_frags) ||
        S_DUP(c->header, m->header, m->header_len))
        goto fail;
    if (m->flow && (rc = tam_flow_clone(m->flow, &c->flow)))
        goto fail;
    rc = TAM_ENOMEM;
    if (s_solution(&c->sol, &m->sol))
        goto fail;
    if (m->nprops && !(c->props = malloc(m->nprops * sizeof *c->props)))
        goto fail;
    for (uint32_t k = 0; k < m->nprops; k++) {
        c->props[k] = m->props[k];
        c->props[k].pub = NULL; /* a copy never publishes */
        c->props[k].pub_len = 0;
    }
    c->nprops = c->cap_props = m->nprops;
    *out = c;
    return 0;
fail:
    tam_match_destroy(&c);
    return rc;
}

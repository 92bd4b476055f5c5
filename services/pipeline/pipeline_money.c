/* pipeline_money.c — the one money model (tam/money.h) over tam-pipeline's
 * views and decisions: every report computes its figures from one
 * tam_pipeline_money_t, built once per report over ALL needs, projects,
 * decisions and proposals (filters apply to the rows afterwards, so that a
 * filtered report shows the same figures as the whole one). */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "pipeline.h"

static tam_money_hold_t s_hold(const tam_pipeline_dec_t *d)
{
    if (!d)
        return TAM_MONEY_NONE;
    switch (d->state) {
    case TAM_E_decision_state_endorsed: return TAM_MONEY_ENDORSED;
    case TAM_E_decision_state_committed:
    case TAM_E_decision_state_delivered: return TAM_MONEY_COMMITTED;
    case TAM_E_decision_state_declined: return TAM_MONEY_DECLINED;
    default: return TAM_MONEY_NONE;
    }
}

int tam_pipeline_money_build(const tam_pipeline_t *p, const tam_pipeline_decs_t *decs,
                             tam_pipeline_money_t *m)
{
    memset(m, 0, sizeof *m);
    size_t nn = tam_pipeline_view_count(p->view, 'n');
    size_t np = tam_pipeline_view_count(p->view, 'p');
    size_t nx = tam_pipeline_view_count(p->view, 'x');
    size_t nk = decs->n + nx;
    m->needs = nn ? calloc(nn, sizeof *m->needs) : NULL;
    m->need_of = nn ? calloc(nn, sizeof *m->need_of) : NULL;
    m->projects = np ? calloc(np, sizeof *m->projects) : NULL;
    m->project_of = np ? calloc(np, sizeof *m->project_of) : NULL;
    m->pairs = nk ? calloc(nk, sizeof *m->pairs) : NULL;
    m->dec_of = nk ? calloc(nk, sizeof *m->dec_of) : NULL;
    m->prop_of = nk ? calloc(nk, sizeof *m->prop_of) : NULL;
    int rc = 0;
    if ((nn && (!m->needs || !m->need_of)) || (np && (!m->projects || !m->project_of)) ||
        (nk && (!m->pairs || !m->dec_of || !m->prop_of))) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    size_t pos = 0;
    const tam_pipeline_need_t *n;
    while (m->nn < nn && (n = tam_pipeline_view_next_need(p->view, &pos))) {
        m->needs[m->nn] = (tam_money_need_t){.id = n->id, .cost = n->cost, .open = n->open};
        m->need_of[m->nn++] = n;
    }
    pos = 0;
    const tam_project_rec_t *rec;
    while (m->np < np && (rec = tam_pipeline_view_next_project(p->view, &pos))) {
        m->projects[m->np] = (tam_money_project_t){.id = rec->project->id, .received = rec->received};
        m->project_of[m->np++] = rec;
    }
    for (size_t i = 0; i < decs->n; i++) {
        const tam_pipeline_dec_t *d = &decs->v[i];
        const tam_pipeline_prop_t *pr = tam_pipeline_view_proposal(p->view, d->proposal);
        m->pairs[m->nk] = (tam_money_pair_t){.need = d->need, .project = d->project,
                                             .hold = s_hold(d), .endorsed = d->endorsed,
                                             .committed = d->committed,
                                             .amount = pr ? pr->amount : 0};
        m->dec_of[m->nk] = d;
        m->prop_of[m->nk++] = pr;
    }
    pos = 0;
    const tam_pipeline_prop_t *pr;
    while (m->nk < nk && (pr = tam_pipeline_view_next_proposal(p->view, &pos))) {
        if (tam_pipeline_decs_get(decs, pr->id))
            continue; /* counted with its decision */
        m->pairs[m->nk] = (tam_money_pair_t){.need = pr->need, .project = pr->project,
                                             .amount = pr->amount};
        m->prop_of[m->nk++] = pr;
    }
    if ((rc = tam_money_compute(m->needs, m->nn, m->projects, m->np, m->pairs, m->nk, &m->tot)))
        goto fail;
    return 0;
fail:
    tam_pipeline_money_free(m);
    return rc;
}

void tam_pipeline_money_free(tam_pipeline_money_t *m)
{
    free(m->needs);
    free(m->need_of);
    free(m->projects);
    free(m->project_of);
    free(m->pairs);
    free(m->dec_of);
    free(m->prop_of);
    memset(m, 0, sizeof *m);
}

int tam_pipeline_totals(tam_arena_t *a, const tam_money_totals_t *t, tam_report_t *out)
{
    tam_report_totals_t *x = tam_arena_alloc(a, sizeof *x);
    if (!x)
        return TAM_ENOMEM;
    *x = (tam_report_totals_t){.requested = t->requested, .proposed = t->proposed,
                               .endorsed = t->endorsed, .committed = t->committed,
                               .unmet = t->unmet, .received = t->received,
                               .available = t->available, .unallocated = t->unallocated};
    out->totals = x;
    return 0;
}

static int s_pm_cmp(const void *a, const void *b)
{
    return strcmp(((const tam_project_money_t *)a)->project,
                  ((const tam_project_money_t *)b)->project);
}

int tam_pipeline_money_read(const tam_pipeline_t *p, tam_txn_t *txn, const void *body, size_t len,
                            tam_arena_t *a, msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_money_query_t q;
    tam_codec_err_t ce;
    if (tam_decode(&tam_schema_money_query, body, len, a, &q, &ce))
        return tam_pipeline__codec_error(err, &ce), 0;
    const char *only = q.project && q.project[0] ? q.project : NULL;
    if (only && !tam_pipeline_view_project(p->view, only)) {
        tam_rpc_error_set(err, TAM_ENOTFOUND, "project",
                          "project %s is not known to tam-pipeline (from tam-registry's feed)", only);
        return 0;
    }
    tam_pipeline_decs_t decs;
    tam_pipeline_money_t m;
    int rc = tam_pipeline_decs_load(txn, &decs);
    if (rc)
        return rc;
    if ((rc = tam_pipeline_money_build(p, &decs, &m))) {
        tam_pipeline_decs_free(&decs);
        return rc;
    }
    tam_money_list_t out = {0};
    tam_report_totals_t tot = {.requested = m.tot.requested, .proposed = m.tot.proposed,
                               .endorsed = m.tot.endorsed, .committed = m.tot.committed,
                               .unmet = m.tot.unmet, .received = m.tot.received,
                               .available = m.tot.available, .unallocated = m.tot.unallocated};
    out.totals = &tot;
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    out.run = run ? run->run : 0;
    int64_t age = 0;
    if (tam_pipeline_view_usable(p->view, TAM_PIPELINE_SRC_REGISTRY, &age) &&
        !tam_pipeline_view_ready(p->view, TAM_PIPELINE_SRC_REGISTRY))
        out.registry_age = age > 0 ? age : 1;
    tam_project_money_t *v = m.np ? tam_arena_alloc(a, m.np * sizeof *v) : NULL;
    if (m.np && !v) {
        rc = TAM_ENOMEM;
        goto done;
    }
    int64_t *held = m.np ? tam_arena_alloc(a, m.np * sizeof *held) : NULL;
    if (m.np && !held) {
        rc = TAM_ENOMEM;
        goto done;
    }
    if (m.np)
        memset(held, 0, m.np * sizeof *held);
    for (size_t k = 0; k < m.nk; k++)
        if (m.pairs[k].iproject != TAM_MONEY_NOWHERE &&
            (m.pairs[k].held_committed > 0 || m.pairs[k].held_endorsed > 0))
            held[m.pairs[k].iproject]++;
    size_t n = 0;
    for (size_t i = 0; i < m.np; i++) {
        const tam_money_project_t *x = &m.projects[i];
        if (only && strcmp(only, x->id) != 0)
            continue;
        v[n++] = (tam_project_money_t){.project = (char *)x->id, .received = x->received,
                                       .committed = x->committed, .endorsed = x->endorsed,
                                       .available = x->available, .proposed = x->proposed,
                                       .unallocated = x->unallocated, .decisions = held[i]};
    }
    if (n)
        qsort(v, n, sizeof *v, s_pm_cmp);
    out.items.n = (uint32_t)n;
    out.items.v = v;
    msgpack_packer pk;
    msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
    if (tam_encode(&tam_schema_money_list, &out, &pk, &ce))
        rc = ce.code == TAM_ENOMEM ? TAM_ENOMEM : TAM_EINTERNAL;
done:
    tam_pipeline_money_free(&m);
    tam_pipeline_decs_free(&decs);
    return rc;
}

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

/* match_money.c — the one money model (tam/money.h) over tam-match's current
 * model, for match.explain: the figures of a need and a project as project
 * show and the reports compute them (tam-pipeline builds the same inputs from
 * the feeds tam-match reads and publishes: every need, every project, every
 * present decision, the current proposals). */
#include <stdlib.h>
#include <string.h>

#include "match_int.h"
#include "tam/error.h"
#include "tam/money.h"

static tam_money_hold_t s_hold(const tam_match_decision_t *d)
{
    switch (d->state) {
    case TAM_E_decision_state_endorsed: return TAM_MONEY_ENDORSED;
    case TAM_E_decision_state_committed:
    case TAM_E_decision_state_delivered: return TAM_MONEY_COMMITTED;
    case TAM_E_decision_state_declined: return TAM_MONEY_DECLINED;
    default: return TAM_MONEY_NONE;
    }
}

int tam_match__money(const tam_match_t *m, uint64_t need_id, uint32_t ps, tam_explain_money_t *out)
{
    memset(out, 0, sizeof *out);
    size_t nn = m->nneeds, np = m->nprojects, nk = (size_t)m->ndecs + m->nprops;
    tam_money_need_t *needs = calloc(nn ? nn : 1, sizeof *needs);
    tam_money_project_t *projects = calloc(np ? np : 1, sizeof *projects);
    tam_money_pair_t *pairs = calloc(nk ? nk : 1, sizeof *pairs);
    int rc = TAM_ENOMEM;
    if (!needs || !projects || !pairs)
        goto done;
    size_t in = TAM_MONEY_NOWHERE, ip = TAM_MONEY_NOWHERE, k = 0, n = 0, p = 0;
    for (uint32_t i = 0; i < m->nneeds; i++) {
        const tam_match_need_t *x = &m->needs[i];
        if (x->id == need_id)
            in = n;
        needs[n++] = (tam_money_need_t){.id = x->id, .cost = x->cost, .open = x->open};
    }
    for (uint32_t i = 0; i < m->nprojects; i++) {
        const tam_match_project_t *x = &m->projects[i];
        if (!x->present)
            continue;
        if (i == ps)
            ip = p;
        projects[p++] = (tam_money_project_t){.id = x->id, .received = x->received};
    }
    for (uint32_t i = 0; i < m->ndecs; i++) {
        const tam_match_decision_t *d = &m->decs[i];
        if (!d->present)
            continue;
        uint32_t slot = tam_match__project_slot(m, d->project);
        uint32_t o = slot == TAM_MATCH_NONE ? TAM_MATCH_NONE : tam_match__prop_find(m, d->need, slot);
        pairs[k++] = (tam_money_pair_t){.need = d->need, .project = d->project, .hold = s_hold(d),
                                        .endorsed = d->endorsed, .committed = d->committed,
                                        .amount = o != TAM_MATCH_NONE ? m->props[o].amount : 0};
    }
    for (uint32_t o = 0; o < m->nprops; o++) {
        const tam_match_prop_t *pr = &m->props[o];
        const char *pid = m->projects[pr->project].id;
        if (tam_match__decision(m, pr->need_id, pid))
            continue; /* counted with its decision */
        pairs[k++] = (tam_money_pair_t){.need = pr->need_id, .project = pid, .amount = pr->amount};
    }
    if ((rc = tam_money_compute(needs, n, projects, p, pairs, k, NULL)))
        goto done;
    if (in != TAM_MONEY_NOWHERE) {
        const tam_money_need_t *x = &needs[in];
        out->need_requested = x->requested;
        out->need_proposed = x->proposed;
        out->need_endorsed = x->endorsed;
        out->need_committed = x->committed;
        out->need_unmet = x->unmet;
    }
    if (ip != TAM_MONEY_NOWHERE) {
        const tam_money_project_t *x = &projects[ip];
        out->project_received = x->received;
        out->project_committed = x->committed;
        out->project_endorsed = x->endorsed;
        out->project_available = x->available;
        out->project_proposed = x->proposed;
        out->project_unallocated = x->unallocated;
    }
done:
    free(needs);
    free(projects);
    free(pairs);
    return rc;
}

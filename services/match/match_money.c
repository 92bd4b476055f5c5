/* match_money.c — the one money model (tam/money.h) over tam-match's current
 * model, for match.explain: the figures of a need and a project as project
 * show and the reports compute them (tam-pipeline builds the same inputs from
 * the feeds tam-match reads and publishes: every need, every project, every
 * present decision, the current proposals).
 *
 * The model is built for the whole engine (O(needs + decisions + proposals),
 * ~3 ms at 20k needs) once per published run and state of the inputs
 * (m->mgen), not once per explanation: explanations asked during a run read
 * the one of the published run (issue 16, queries during a solve). */
#include <pthread.h>
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

/* The money model of the engine's current state: the figures of every need
 * (by need slot) and every present project (pix: project slot -> index). */
struct tam_match_money {
    pthread_mutex_t mu;
    bool valid;
    uint64_t run, gen;
    tam_money_need_t *needs;
    size_t nn;
    tam_money_project_t *projects;
    size_t np;
    uint32_t *pix;
    uint64_t builds;
};

static void s_clear(struct tam_match_money *c)
{
    free(c->needs);
    free(c->projects);
    free(c->pix);
    c->needs = NULL;
    c->projects = NULL;
    c->pix = NULL;
    c->nn = c->np = 0;
    c->valid = false;
}

static int s_build(const tam_match_t *m, struct tam_match_money *c)
{
    s_clear(c);
    size_t nn = m->nneeds, np = m->nprojects, nk = (size_t)m->ndecs + m->nprops;
    c->needs = calloc(nn ? nn : 1, sizeof *c->needs);
    c->projects = calloc(np ? np : 1, sizeof *c->projects);
    c->pix = malloc((np ? np : 1) * sizeof *c->pix);
    tam_money_pair_t *pairs = calloc(nk ? nk : 1, sizeof *pairs);
    int rc = TAM_ENOMEM;
    if (!c->needs || !c->projects || !c->pix || !pairs)
        goto done;
    size_t k = 0, n = 0, p = 0;
    for (uint32_t i = 0; i < m->nneeds; i++) {
        const tam_match_need_t *x = &m->needs[i];
        c->needs[n++] = (tam_money_need_t){.id = x->id, .cost = x->cost, .open = x->open};
    }
    for (uint32_t i = 0; i < m->nprojects; i++) {
        const tam_match_project_t *x = &m->projects[i];
        c->pix[i] = TAM_MATCH_NONE;
        if (!x->present)
            continue;
        c->pix[i] = (uint32_t)p;
        c->projects[p++] = (tam_money_project_t){.id = x->id, .received = x->received};
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
    if ((rc = tam_money_compute(c->needs, n, c->projects, p, pairs, k, NULL)))
        goto done;
    c->nn = n;
    c->np = p;
    c->valid = true;
    c->run = m->run_id;
    c->gen = m->mgen;
done:
    free(pairs);
    if (rc)
        s_clear(c);
    return rc;
}

static void s_fill(const tam_match_t *m, const struct tam_match_money *c, uint64_t need_id,
                   uint32_t ps, tam_explain_money_t *out)
{
    uint32_t in = tam_match__need_slot(m, need_id);
    if (in != TAM_MATCH_NONE && in < c->nn && c->needs[in].id == need_id) {
        const tam_money_need_t *x = &c->needs[in];
        out->need_requested = x->requested;
        out->need_proposed = x->proposed;
        out->need_endorsed = x->endorsed;
        out->need_committed = x->committed;
        out->need_unmet = x->unmet;
    }
    uint32_t ip = ps < m->nprojects ? c->pix[ps] : TAM_MATCH_NONE;
    if (ip != TAM_MATCH_NONE && ip < c->np) {
        const tam_money_project_t *x = &c->projects[ip];
        out->project_received = x->received;
        out->project_committed = x->committed;
        out->project_endorsed = x->endorsed;
        out->project_available = x->available;
        out->project_proposed = x->proposed;
        out->project_unallocated = x->unallocated;
    }
}

int tam_match__money_new(tam_match_t *m)
{
    struct tam_match_money *c = calloc(1, sizeof *c);
    if (!c)
        return TAM_ENOMEM;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return TAM_ENOMEM;
    }
    m->money = c;
    return 0;
}

void tam_match__money_free(tam_match_t *m)
{
    if (!m->money)
        return;
    s_clear(m->money);
    pthread_mutex_destroy(&m->money->mu);
    free(m->money);
    m->money = NULL;
}

int tam_match__money(const tam_match_t *m, uint64_t need_id, uint32_t ps, tam_explain_money_t *out)
{
    memset(out, 0, sizeof *out);
    struct tam_match_money *c = m->money;
    int rc = 0;
    if (!c) { /* a copy (match_clone.c): built for this question only */
        struct tam_match_money t = {0};
        if ((rc = s_build(m, &t)) == 0)
            s_fill(m, &t, need_id, ps, out);
        s_clear(&t);
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    if ((!c->valid || c->run != m->run_id || c->gen != m->mgen || c->nn != m->nneeds) &&
        (rc = s_build(m, c)) == 0)
        c->builds++;
    if (rc == 0)
        s_fill(m, c, need_id, ps, out);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

uint64_t tam_match__money_builds(const tam_match_t *m)
{
    if (!m->money)
        return 0;
    pthread_mutex_lock(&m->money->mu);
    uint64_t b = m->money->builds;
    pthread_mutex_unlock(&m->money->mu);
    return b;
}

/* pipeline_follow.c — decisions follow their need. tam-ingest keeps a need's
 * id across revisions of its reply and publishes each new version (cost
 * possibly changed) or the need withdrawn; tam-pipeline then adjusts the
 * decisions on it so that no report counts more than the need can take and
 * no money is silently dropped (docs/pipeline.md "Decisions follow the
 * need"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "pipeline.h"

#define S_PRINCIPAL "tam-pipeline"
#define S_ROLE "system"
#define S_FLAG_WITHDRAWN "need_withdrawn"
#define S_FLAG_COST "cost_below_committed"

typedef struct {
    tam_decision_t *v;
    size_t n, cap;
    tam_arena_t *a;
} s_list_t;

/* Copies the decision (its strings into the arena): the value d points into
 * is only valid during the callback. */
static int s_collect(const tam_decision_t *d, void *arg)
{
    s_list_t *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        tam_decision_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    tam_decision_t c = *d;
    char **strs[] = {&c.proposal, &c.project, &c.country, &c.category, &c.reason, &c.hash,
                     &c.flag};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (*strs[i] && !(*strs[i] = tam_arena_strndup(l->a, *strs[i], strlen(*strs[i]))))
            return TAM_ENOMEM;
    l->v[l->n++] = c;
    return 0;
}

/* Writes d after tam-pipeline's own act on it. */
static int s_write(const tam_pipeline_t *p, tam_txn_t *txn, tam_decision_t *d,
                   tam_decision_act_t act, tam_decision_state_t from, int64_t amount,
                   const char *reason, tam_events_t *pubs)
{
    if (d->revision >= TAM_PIPELINE_REV_MAX)
        return 0; /* cannot be recorded: left as it is (counted as it stands) */
    int64_t now = tam_pipeline_now(p);
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    d->reason = (char *)reason;
    d->run = run ? run->run : 0;
    d->hash = run ? run->hash : NULL;
    d->revision++;
    d->updated = now;
    if (d->state != from)
        d->since = now;
    tam_audit_entry_t e = {.at = now, .principal = S_PRINCIPAL, .role = S_ROLE, .act = act,
                           .proposal = d->proposal, .amount = amount, .reason = (char *)reason,
                           .run = d->run, .hash = d->hash, .from = from, .to = d->state};
    return tam_pipeline__record(txn, d, &e, pubs, NULL);
}

int tam_pipeline_follow_need(const tam_pipeline_t *p, tam_txn_t *txn, const tam_pipeline_need_t *n,
                             tam_events_t *pubs, size_t *changed)
{
    char prefix[24], reason[300];
    snprintf(prefix, sizeof prefix, "%llu/", (unsigned long long)n->id);
    s_list_t l = {.a = tam_arena_new(0)};
    *changed = 0;
    if (!l.a)
        return TAM_ENOMEM;
    int rc = tam_pipeline_decisions_each(txn, prefix, s_collect, &l);
    if (rc)
        goto done;
    if (!n->open) {
        for (size_t i = 0; i < l.n && rc == 0; i++) {
            tam_decision_t *d = &l.v[i];
            bool holds = d->state == TAM_E_decision_state_endorsed ||
                         d->state == TAM_E_decision_state_committed;
            if (!holds || (d->flag && d->flag[0]))
                continue;
            d->flag = S_FLAG_WITHDRAWN;
            snprintf(reason, sizeof reason,
                     "a revision of its reply withdrew need %llu while this decision holds %lld "
                     "USD %s; the money still counts until a manager acts (acknowledge, "
                     "withdraw or deliver)",
                     (unsigned long long)n->id,
                     (long long)(d->state == TAM_E_decision_state_endorsed ? d->endorsed
                                                                           : d->committed),
                     d->state == TAM_E_decision_state_endorsed ? "endorsed" : "committed");
            rc = s_write(p, txn, d, TAM_E_decision_act_flag, d->state, 0, reason, pubs);
            *changed += rc == 0;
        }
        goto done;
    }
    /* Open: what the cost leaves after the commitments, then endorsements
     * in proposal order. */
    int64_t room = n->cost, committed = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].state == TAM_E_decision_state_committed ||
            l.v[i].state == TAM_E_decision_state_delivered)
            committed += l.v[i].committed;
    room -= committed;
    /* A cost below what is committed: the commitments stay (never dropped),
     * and those not yet delivered are flagged for a manager. */
    for (size_t i = 0; i < l.n && rc == 0 && committed > n->cost; i++) {
        tam_decision_t *d = &l.v[i];
        if (d->state != TAM_E_decision_state_committed || (d->flag && d->flag[0]))
            continue;
        d->flag = S_FLAG_COST;
        snprintf(reason, sizeof reason,
                 "a revision of its reply set need %llu's cost to %lld USD, below the %lld USD "
                 "committed on it; the commitment stays until a manager acts (acknowledge or "
                 "deliver)",
                 (unsigned long long)n->id, (long long)n->cost, (long long)committed);
        rc = s_write(p, txn, d, TAM_E_decision_act_flag, d->state, 0, reason, pubs);
        *changed += rc == 0;
    }
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        tam_decision_t *d = &l.v[i];
        if (d->state != TAM_E_decision_state_endorsed)
            continue;
        int64_t keep = d->endorsed < room ? d->endorsed : (room > 0 ? room : 0);
        room -= keep;
        if (keep == d->endorsed)
            continue;
        int64_t was = d->endorsed;
        d->endorsed = keep;
        if (keep == 0)
            d->state = TAM_E_decision_state_withdrawn;
        snprintf(reason, sizeof reason,
                 "a revision of its reply set need %llu's cost to %lld USD: endorsement reduced "
                 "from %lld to %lld USD%s",
                 (unsigned long long)n->id, (long long)n->cost, (long long)was, (long long)keep,
                 keep ? "" : " (nothing left for it: withdrawn)");
        rc = s_write(p, txn, d, TAM_E_decision_act_reduce, TAM_E_decision_state_endorsed, keep,
                     reason, pubs);
        *changed += rc == 0;
    }
done:
    free(l.v);
    tam_arena_destroy(&l.a);
    return rc;
}

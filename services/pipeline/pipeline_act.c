/* pipeline_act.c — pipeline.act: one act on one proposal, inside the group
 * write transaction. Checks the act against the state machine, the needs of
 * tam-ingest, the projects of tam-registry and the proposals of tam-match (the
 * views), and the amounts against what other decisions already hold; then
 * writes the decision, its index and one audit entry, and names the decision
 * to publish. A refused act writes nothing. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "tam/log.h"
#include "pipeline.h"

const char *const tam_pipeline_dbs[] = {"decisions", "by_project", "audit", "audit_prop",
                                        "requests", NULL};

int64_t tam_pipeline_now(const tam_pipeline_t *p)
{
    if (p && p->now_ms)
        return p->now_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tam_pipeline__codec_error(tam_rpc_error_t *err, const tam_codec_err_t *ce)
{
    tam_rpc_error_set(err, ce->code ? ce->code : TAM_EINVAL, ce->path, "%s", ce->message);
    return err->code;
}

/* ---- reading decisions ---------------------------------------------------------- */

int tam_pipeline_decision_get(tam_txn_t *txn, const char *proposal, tam_arena_t *a,
                              tam_decision_t *out)
{
    tam_val_t v;
    int rc = tam_txn_get(txn, "decisions", proposal, strlen(proposal), &v);
    if (rc)
        return rc;
    tam_codec_err_t ce;
    memset(out, 0, sizeof *out);
    if (tam_decode(&tam_schema_decision, v.data, v.len, a, out, &ce)) {
        tam_error("decision %s: stored value does not decode: %s", proposal, ce.message);
        return TAM_ESTORE;
    }
    return 0;
}

static void s_held_add(const tam_decision_t *d, const char *except, tam_pipeline_held_t *h)
{
    if (except && strcmp(d->proposal, except) == 0)
        return;
    h->decisions++;
    if (d->state == TAM_E_decision_state_committed || d->state == TAM_E_decision_state_delivered)
        h->committed += d->committed;
    else if (d->state == TAM_E_decision_state_endorsed)
        h->endorsed += d->endorsed;
}

typedef struct {
    const char *except;
    tam_pipeline_held_t *h;
} s_held_ctx_t;

static int s_held_fn(const tam_decision_t *d, void *arg)
{
    s_held_ctx_t *c = arg;
    s_held_add(d, c->except, c->h);
    return 0;
}

int tam_pipeline_held_need(tam_txn_t *txn, uint64_t need, const char *except,
                           tam_pipeline_held_t *out)
{
    char prefix[24];
    snprintf(prefix, sizeof prefix, "%llu/", (unsigned long long)need);
    memset(out, 0, sizeof *out);
    s_held_ctx_t c = {except, out};
    return tam_pipeline_decisions_each(txn, prefix, s_held_fn, &c);
}

typedef struct {
    tam_txn_t *txn;
    tam_arena_t *a;
    const char *except;
    tam_pipeline_held_t *h;
} s_proj_ctx_t;

static int s_proj_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)val;
    s_proj_ctx_t *c = arg;
    const char *k = key->data;
    const char *z = memchr(k, 0, key->len);
    char proposal[TAM_PIPELINE_PROPOSAL_MAX + 1];
    size_t plen = z ? key->len - (size_t)(z + 1 - k) : 0;
    if (!z || plen == 0 || plen > TAM_PIPELINE_PROPOSAL_MAX)
        return TAM_ESTORE;
    memcpy(proposal, z + 1, plen);
    proposal[plen] = 0;
    tam_decision_t d;
    tam_arena_reset(c->a);
    int rc = tam_pipeline_decision_get(c->txn, proposal, c->a, &d);
    if (rc)
        return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
    s_held_add(&d, c->except, c->h);
    return 0;
}

int tam_pipeline_held_project(tam_txn_t *txn, const char *project, const char *except,
                              tam_pipeline_held_t *out)
{
    char prefix[TAM_PIPELINE_ID_MAX + 2];
    size_t n = strlen(project);
    if (n > TAM_PIPELINE_ID_MAX)
        return TAM_EINVAL;
    memcpy(prefix, project, n);
    prefix[n] = 0;
    memset(out, 0, sizeof *out);
    s_proj_ctx_t c = {txn, tam_arena_new(4096), except, out};
    if (!c.a)
        return TAM_ENOMEM;
    int rc = tam_txn_scan(txn, "by_project", prefix, n + 1, NULL, 0, s_proj_fn, &c);
    tam_arena_destroy(&c.a);
    return rc;
}

/* ---- the act ---------------------------------------------------------------------- */

static const char *s_usd(int64_t v, char buf[32])
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    int o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

static bool s_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static const char *s_state(tam_decision_state_t s)
{
    return tam_enum_decision_state.values[s];
}

static const char *s_actname(tam_decision_act_t a)
{
    return tam_enum_decision_act.values[a];
}

static const char *const s_src_name[] = {"needs feed of tam-ingest", "projects feed of tam-registry",
                                         "proposals feed of tam-match"};

/* Refuses with TAM_EUNAVAIL unless src's view is synced. */
static int s_need_view(const tam_pipeline_t *p, tam_pipeline_src_t src, tam_rpc_error_t *err)
{
    if (tam_pipeline_view_ready(p->view, src))
        return 0;
    tam_rpc_error_set(err, TAM_EUNAVAIL, "proposal",
                      "tam-pipeline has not received the %s yet (is it running?); try again",
                      s_src_name[src]);
    return err->code;
}

/* Everything an act needs to know, gathered before anything is written. */
typedef struct {
    tam_act_t act;
    uint64_t need_id;
    char project_id[TAM_PIPELINE_ID_MAX + 1];
    bool found;                   /* a decision exists */
    tam_decision_t cur;           /* it (when found) */
    tam_decision_state_t from, to;
    const tam_pipeline_need_t *need;       /* view (NULL if not needed or unknown) */
    const tam_project_rec_t *project;      /* view */
    int64_t amount;               /* endorse/commit: the amount after defaults */
    char note[300];               /* for the answer ("" if none) */
} s_act_t;

/* "42 s", "5 min", "3 h", "2 days" */
static const char *s_age(int64_t ms, char buf[32])
{
    int64_t s = ms / 1000;
    if (s < 120)
        snprintf(buf, 32, "%lld s", (long long)s);
    else if (s < 7200)
        snprintf(buf, 32, "%lld min", (long long)(s / 60));
    else if (s < 172800)
        snprintf(buf, 32, "%lld h", (long long)(s / 3600));
    else
        snprintf(buf, 32, "%lld days", (long long)(s / 86400));
    return buf;
}

/* The need and project must be known; for endorse and commit the need open
 * and the project active. */
static int s_check_pair(const tam_pipeline_t *p, s_act_t *x, bool strict, tam_rpc_error_t *err)
{
    int rc;
    if ((rc = s_need_view(p, TAM_PIPELINE_SRC_INGEST, err)))
        return rc;
    x->need = tam_pipeline_view_need(p->view, x->need_id);
    if (!x->need || (strict && !x->need->open)) {
        tam_rpc_error_set(err, x->need ? TAM_ESTATE : TAM_ENOTFOUND, "proposal",
                          x->need ? "need %llu was withdrawn by its respondent"
                                  : "need %llu is not an open need known to tam-ingest",
                          (unsigned long long)x->need_id);
        return err->code;
    }
    int64_t age = 0;
    if (!tam_pipeline_view_usable(p->view, TAM_PIPELINE_SRC_REGISTRY, &age))
        return s_need_view(p, TAM_PIPELINE_SRC_REGISTRY, err);
    if (!tam_pipeline_view_ready(p->view, TAM_PIPELINE_SRC_REGISTRY)) {
        char b[32];
        snprintf(x->note, sizeof x->note,
                 "tam-registry's projects feed is not current (is tam-registry running?): project "
                 "%s as of its last feed, current %s ago",
                 x->project_id, s_age(age, b));
    }
    x->project = tam_pipeline_view_project(p->view, x->project_id);
    if (!x->project) {
        tam_rpc_error_set(err, TAM_ENOTFOUND, "proposal", "project %s is not known to tam-registry",
                          x->project_id);
        return err->code;
    }
    if (strict && x->project->project->status != TAM_E_project_status_active) {
        tam_rpc_error_set(err, TAM_ESTATE, "proposal", "project %s is %s: only an active project can fund needs",
                          x->project_id, tam_enum_project_status.values[x->project->project->status]);
        return err->code;
    }
    return 0;
}

/* endorse: the pair must be a current proposal; the amount defaults to it. */
static int s_check_endorse(const tam_pipeline_t *p, s_act_t *x, tam_rpc_error_t *err)
{
    int rc = s_need_view(p, TAM_PIPELINE_SRC_MATCH, err);
    if (rc)
        return rc;
    const tam_pipeline_prop_t *pr = tam_pipeline_view_proposal(p->view, x->act.proposal);
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    if (!pr) {
        tam_rpc_error_set(err, TAM_ENOTFOUND, "proposal",
                          "%s is not a current proposal of tam-match (run %llu): only proposed "
                          "pairs can be endorsed",
                          x->act.proposal, run ? (unsigned long long)run->run : 0ULL);
        return err->code;
    }
    /* A run named that is older than the current one: the manager looked at
     * proposals that are no longer current. (A newer one than tam-pipeline
     * has seen is tam-match's current run reaching us before its feed.) */
    if (x->act.run && run && x->act.run < run->run) {
        tam_rpc_error_set(err, TAM_ECONFLICT, "run",
                          "run %llu is not the current run: the current run is %llu (inputs "
                          "%.12s); look at its proposals (tamctl proposals) and endorse on it",
                          (unsigned long long)x->act.run, (unsigned long long)run->run,
                          run->hash ? run->hash : "-");
        return err->code;
    }
    x->amount = x->act.amount ? x->act.amount : pr->amount;
    return 0;
}

/* The amount against the project's available money and the need's unfunded
 * amount, counting what other decisions hold; and the per-need cap. */
static int s_check_amount(const tam_pipeline_t *p, tam_txn_t *txn, s_act_t *x,
                          tam_rpc_error_t *err)
{
    (void)p;
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    const char *what = s_actname(x->act.act);
    if (x->amount < 1) {
        tam_rpc_error_set(err, TAM_EINVAL, "amount", "%s needs an amount of at least 1 USD", what);
        return err->code;
    }
    tam_pipeline_held_t hp, hn;
    int rc = tam_pipeline_held_project(txn, x->project_id, x->act.proposal, &hp);
    if (rc == 0)
        rc = tam_pipeline_held_need(txn, x->need_id, x->act.proposal, &hn);
    if (rc)
        return rc;
    int64_t received = x->project->received;
    int64_t available = received - hp.committed - hp.endorsed;
    if (x->amount > available) {
        tam_rpc_error_set(err, TAM_ECONFLICT, "amount",
                          "%s of %s exceeds what project %s has available: %s (received %s - "
                          "committed %s - endorsed for other proposals %s)",
                          what, s_usd(x->amount, b1), x->project_id, s_usd(available, b2),
                          s_usd(received, b3), s_usd(hp.committed, b4), s_usd(hp.endorsed, b5));
        return err->code;
    }
    int64_t unfunded = x->need->cost - hn.committed - hn.endorsed;
    if (x->amount > unfunded) {
        tam_rpc_error_set(err, TAM_ECONFLICT, "amount",
                          "%s of %s exceeds the unfunded amount of need %llu: %s (cost %s - "
                          "committed %s - endorsed %s from other projects)",
                          what, s_usd(x->amount, b1), (unsigned long long)x->need_id,
                          s_usd(unfunded, b2), s_usd(x->need->cost, b3), s_usd(hn.committed, b4),
                          s_usd(hn.endorsed, b5));
        return err->code;
    }
    int64_t cap = x->project->project->earmarks->max_per_need;
    if (cap > 0 && x->amount > cap) {
        tam_rpc_error_set(err, TAM_ECONFLICT, "amount",
                          "%s of %s exceeds project %s's cap per need: %s", what,
                          s_usd(x->amount, b1), x->project_id, s_usd(cap, b2));
        return err->code;
    }
    return 0;
}

/* Checks the act against the state machine and the views. Returns 0 when it
 * may go ahead; err->code when refused; another negative code on failure. */
static int s_check(const tam_pipeline_t *p, tam_txn_t *txn, tam_arena_t *a, s_act_t *x,
                   tam_rpc_error_t *err)
{
    tam_act_t *act = &x->act;
    if (tam_pipeline_proposal_parse(act->proposal, &x->need_id, x->project_id)) {
        tam_rpc_error_set(err, TAM_EINVAL, "proposal",
                          "'%s' is not a proposal id: \"<need id>/<project id>\", e.g. 12/GLOZ82",
                          act->proposal);
        return err->code;
    }
    if (s_blank(act->reason)) {
        tam_rpc_error_set(err, TAM_EINVAL, "reason", "say why: the reason is recorded in the audit log");
        return err->code;
    }
    bool amounts = act->act == TAM_E_decision_act_endorse || act->act == TAM_E_decision_act_commit;
    if (act->amount && !amounts) {
        tam_rpc_error_set(err, TAM_EINVAL, "amount", "an amount goes only with endorse and commit, not %s",
                          s_actname(act->act));
        return err->code;
    }
    int rc = tam_pipeline_decision_get(txn, act->proposal, a, &x->cur);
    if (rc && rc != TAM_ENOTFOUND)
        return rc;
    x->found = rc == 0;
    x->from = x->found ? x->cur.state : TAM_E_decision_state_none;
    if (tam_pipeline_transition(x->from, act->act, &x->to)) {
        tam_rpc_error_set(err, TAM_ESTATE, "act", "cannot %s proposal %s in state %s: %s",
                          s_actname(act->act), act->proposal, s_state(x->from),
                          tam_pipeline_refusal(x->from, act->act));
        return err->code;
    }
    if (act->act == TAM_E_decision_act_acknowledge && (!x->cur.flag || !x->cur.flag[0])) {
        tam_rpc_error_set(err, TAM_ESTATE, "act",
                          "cannot acknowledge proposal %s: its decision carries no flag (tamctl "
                          "decisions --attention lists the flagged ones)",
                          act->proposal);
        return err->code;
    }
    switch (act->act) {
    case TAM_E_decision_act_endorse:
        if ((rc = s_check_pair(p, x, true, err)) || (rc = s_check_endorse(p, x, err)))
            return rc;
        return s_check_amount(p, txn, x, err);
    case TAM_E_decision_act_commit:
        if ((rc = s_check_pair(p, x, true, err)))
            return rc;
        x->amount = act->amount ? act->amount : x->cur.endorsed;
        return s_check_amount(p, txn, x, err);
    case TAM_E_decision_act_decline:
        /* A first act names a pair that must exist; a withdrawn one is known. */
        return x->found ? 0 : s_check_pair(p, x, false, err);
    default:
        return 0; /* deliver, withdraw: a decision exists (the state machine said so) */
    }
}

/* Encodes obj and puts it under key. */
static int s_put(tam_txn_t *txn, const char *db, const void *key, size_t klen,
                 const tam_schema_t *s, const void *obj, unsigned flags, msgpack_sbuffer *keep)
{
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    int rc = tam_encode_sbuf(s, obj, &sb, &ce);
    if (rc) {
        tam_error("encoding %s failed: %s: %s", s->name, ce.path, ce.message);
        return rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
    }
    rc = tam_txn_put(txn, db, key, klen, sb.data, sb.size, flags);
    if (rc == 0 && keep)
        *keep = sb; /* the caller destroys it */
    else
        msgpack_sbuffer_destroy(&sb);
    return rc;
}

int tam_pipeline__record(tam_txn_t *txn, const tam_decision_t *d, const tam_audit_entry_t *e0,
                         tam_events_t *pubs, uint64_t *seq_out)
{
    uint64_t seq;
    int rc = tam_txn_counter_next(txn, "audit", &seq);
    if (rc)
        return rc;
    tam_audit_entry_t e = *e0;
    e.seq = seq;
    msgpack_sbuffer body = {0};
    size_t plen = strlen(d->proposal), jlen = strlen(d->project);
    uint8_t key[TAM_PIPELINE_PROPOSAL_MAX + TAM_PIPELINE_ID_MAX + 10];
    uint8_t seqkey[8];
    if (plen > TAM_PIPELINE_PROPOSAL_MAX || jlen > TAM_PIPELINE_ID_MAX)
        return TAM_EINTERNAL;
    tam_key_u64(seqkey, seq);
    if ((rc = s_put(txn, "decisions", d->proposal, plen, &tam_schema_decision, d, 0, &body)))
        return rc;
    memcpy(key, d->project, jlen);
    key[jlen] = 0;
    memcpy(key + jlen + 1, d->proposal, plen);
    if ((rc = tam_txn_put(txn, "by_project", key, jlen + 1 + plen, "", 0, 0)))
        goto done;
    if ((rc = s_put(txn, "audit", seqkey, 8, &tam_schema_audit_entry, &e, TAM_PUT_APPEND, NULL)))
        goto done;
    memcpy(key, d->proposal, plen);
    key[plen] = 0;
    memcpy(key + plen + 1, seqkey, 8);
    if ((rc = tam_txn_put(txn, "audit_prop", key, plen + 9, "", 0, 0)))
        goto done;
    char topic[16];
    if (tam_pipeline_topic(d->country, d->category, topic)) {
        rc = TAM_EINTERNAL;
        goto done;
    }
    if ((rc = tam_events_add(pubs, topic, body.data, body.size)))
        goto done;
    if (seq_out)
        *seq_out = seq;
done:
    msgpack_sbuffer_destroy(&body);
    return rc;
}

/* Writes the decision, its project index, the audit entry and its proposal
 * index; fills the ack and the record to publish. */
static int s_apply(const tam_pipeline_t *p, tam_txn_t *txn, const tam_principal_t *who,
                   s_act_t *x, msgpack_sbuffer *answer, tam_events_t *pubs,
                   tam_rpc_error_t *err)
{
    const tam_act_t *act = &x->act;
    int64_t now = tam_pipeline_now(p);
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    uint64_t run_id = act->run;
    const char *hash = act->hash && act->hash[0] ? act->hash : NULL;
    if (run_id == 0 && run)
        run_id = run->run;
    if (!hash && run && run_id == run->run)
        hash = run->hash;

    tam_decision_t d = {0};
    if (x->found) {
        d = x->cur;
    } else {
        d.proposal = act->proposal;
        d.need = x->need_id;
        d.project = x->project_id;
        d.country = (char *)x->need->country;
        d.category = (char *)x->need->category;
    }
    if (d.revision >= TAM_PIPELINE_REV_MAX) {
        tam_rpc_error_set(err, TAM_ERANGE, "proposal", "proposal %s has reached %d acts",
                          act->proposal, TAM_PIPELINE_REV_MAX);
        return err->code;
    }
    switch (act->act) {
    case TAM_E_decision_act_endorse: d.endorsed = x->amount; break;
    case TAM_E_decision_act_commit: d.committed = x->amount; break;
    case TAM_E_decision_act_withdraw:
    case TAM_E_decision_act_decline: d.endorsed = 0; break;
    default: break;
    }
    bool moved = !x->found || x->to != x->from;
    d.state = x->to;
    d.reason = act->reason;
    d.run = run_id;
    d.hash = (char *)hash;
    d.revision++;
    d.updated = now;
    if (moved)
        d.since = now;
    d.flag = NULL; /* the manager's or donor liaison's act answers any flag */

    const char *role;
    tam_pipeline_act_role(act->act, &role);
    bool amounts = act->act == TAM_E_decision_act_endorse || act->act == TAM_E_decision_act_commit;
    tam_audit_entry_t e = {.at = now,
                           .principal = (char *)who->id,
                           .role = (char *)role,
                           .act = act->act,
                           .proposal = act->proposal,
                           .amount = amounts ? x->amount : 0,
                           .reason = act->reason,
                           .run = run_id,
                           .hash = (char *)hash,
                           .from = x->from,
                           .to = x->to};
    uint64_t seq = 0;
    int rc = tam_pipeline__record(txn, &d, &e, pubs, &seq);
    if (rc)
        return rc;
    tam_act_ack_t ack = {.proposal = act->proposal, .state = x->to, .revision = d.revision,
                         .audit = seq, .note = x->note[0] ? x->note : NULL};
    msgpack_packer pk;
    msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
    tam_codec_err_t ce;
    if (tam_encode(&tam_schema_act_ack, &ack, &pk, &ce))
        rc = TAM_EINTERNAL;
    return rc;
}

int tam_pipeline_act(const tam_pipeline_t *p, tam_txn_t *txn, const tam_principal_t *who,
                     const void *body, size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                     tam_events_t *pubs, tam_rpc_error_t *err)
{
    s_act_t x;
    memset(&x, 0, sizeof x);
    tam_codec_err_t ce;
    if (tam_decode(&tam_schema_act, body, len, scratch, &x.act, &ce)) {
        tam_pipeline__codec_error(err, &ce);
        return 0;
    }
    int rc = s_check(p, txn, scratch, &x, err);
    if (err->code)
        return 0; /* refused: nothing written */
    if (rc)
        return rc;
    size_t before = pubs->n;
    rc = s_apply(p, txn, who, &x, answer, pubs, err);
    if (rc || err->code) {
        /* Drop what this act queued; the caller aborts (failure) or the
         * nested transaction is undone (refusal). */
        tam_events_truncate(pubs, before);
        return err->code ? 0 : rc;
    }
    tam_debug("act %s on %s: %s -> %s", s_actname(x.act.act), x.act.proposal, s_state(x.from),
              s_state(x.to));
    return 0;
}

/* pipeline_query.c — the read side of tam-pipeline: the audit entries of a
 * proposal, the whole audit log page by page, the current decisions with
 * filters, the reports, and the feed snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/damaged.h"
#include "tam/error.h"
#include "tam/log.h"
#include "pipeline.h"

/* ---- scanning decisions ------------------------------------------------------- */

typedef struct {
    tam_arena_t *a;
    tam_pipeline_decision_fn fn;
    void *arg;
    tam_damaged_t *damaged; /* NULL: a record that does not decode fails the scan */
} s_each_t;

static int s_each_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_each_t *e = arg;
    tam_decision_t d;
    tam_codec_err_t ce;
    memset(&d, 0, sizeof d);
    tam_arena_reset(e->a);
    if (tam_decode(&tam_schema_decision, val->data, val->len, e->a, &d, &ce)) {
        int klen = (int)(key->len > 100 ? 100 : key->len);
        if (e->damaged) { /* a listing: left out, named in its answer */
            tam_damaged_add(e->damaged, "decisions", ce.path, "%.*s", klen,
                            (const char *)key->data);
            return 0;
        }
        tam_error("decision %.*s: stored value does not decode at %s", klen,
                  (const char *)key->data, ce.path);
        return TAM_ESTORE;
    }
    return e->fn(&d, e->arg);
}

/* The answer's "damaged" (tam_strs_t) pointing into d. */
static tam_strs_t s_damaged_strs(tam_damaged_t *d, tam_arena_t *a)
{
    tam_strs_t v = {0};
    uint32_t n = tam_damaged_listed(d);
    if (n && (v.v = tam_arena_alloc(a, n * sizeof *v.v)) != NULL) {
        for (uint32_t i = 0; i < n; i++)
            v.v[i] = d->key[i];
        v.n = n;
    }
    return v;
}

int tam_pipeline_decisions_each(tam_txn_t *txn, const char *prefix, tam_pipeline_decision_fn fn,
                                void *arg)
{
    s_each_t e = {tam_arena_new(4096), fn, arg, NULL};
    if (!e.a)
        return TAM_ENOMEM;
    size_t plen = prefix ? strlen(prefix) : 0;
    int rc = tam_txn_scan(txn, "decisions", prefix, plen, NULL, 0, s_each_fn, &e);
    tam_arena_destroy(&e.a);
    return rc;
}

int tam_pipeline_counts(tam_txn_t *txn, tam_pipeline_counts_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = tam_txn_count(txn, "decisions", &out->decisions);
    if (rc == 0)
        rc = tam_txn_count(txn, "audit", &out->audit);
    return rc;
}

/* ---- snapshot ------------------------------------------------------------------- */

typedef struct {
    tam_arena_t *a;
    tam_feed_emit_fn emit;
    void *ctx;
} s_snap_t;

static int s_snap_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_snap_t *s = arg;
    tam_decision_t d;
    tam_codec_err_t ce;
    char topic[16];
    memset(&d, 0, sizeof d);
    tam_arena_reset(s->a);
    if (tam_decode(&tam_schema_decision, val->data, val->len, s->a, &d, &ce) ||
        tam_pipeline_topic(d.country, d.category, topic)) {
        tam_error("decision %.*s: stored value does not decode", (int)(key->len > 100 ? 100 : key->len),
                  (const char *)key->data);
        return TAM_ESTORE;
    }
    return s->emit(s->ctx, topic, strlen(topic), val->data, val->len);
}

int tam_pipeline_snapshot(tam_txn_t *txn, const char *prefix, tam_feed_emit_fn emit,
                          void *emit_ctx)
{
    (void)prefix; /* the feed server skips records outside the prefix */
    s_snap_t s = {tam_arena_new(4096), emit, emit_ctx};
    if (!s.a)
        return TAM_ENOMEM;
    int rc = tam_txn_scan(txn, "decisions", NULL, 0, NULL, 0, s_snap_fn, &s);
    tam_arena_destroy(&s.a);
    return rc;
}

/* ---- audit ------------------------------------------------------------------------- */

typedef struct {
    tam_txn_t *txn;
    tam_arena_t *a;
    tam_audit_entry_t *v;
    size_t n, cap;
    size_t limit;
    uint64_t last;
    bool more;
    tam_damaged_t damaged;
} s_audit_t;

/* Adds the entry stored under seq (its 8-byte key); one that does not
 * decode is left out and its seq listed as damaged. */
static int s_audit_add(s_audit_t *c, const uint8_t *seq, const void *data, size_t len)
{
    if (c->n == c->limit) {
        c->more = true;
        return 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        tam_audit_entry_t *v = tam_arena_alloc(c->a, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        if (c->n)
            memcpy(v, c->v, c->n * sizeof *v);
        c->v = v;
        c->cap = cap;
    }
    tam_codec_err_t ce;
    memset(&c->v[c->n], 0, sizeof c->v[0]);
    if (tam_decode(&tam_schema_audit_entry, data, len, c->a, &c->v[c->n], &ce)) {
        c->last = tam_key_get_u64(seq); /* the next page goes on after it */
        tam_damaged_add(&c->damaged, "audit", ce.path, "%llu", (unsigned long long)c->last);
        return 0;
    }
    c->last = c->v[c->n].seq;
    c->n++;
    return 0;
}

static int s_audit_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    if (key->len != 8)
        return TAM_ESTORE;
    return s_audit_add(arg, key->data, val->data, val->len);
}

static int s_audit_prop_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)val;
    s_audit_t *c = arg;
    if (key->len < 9)
        return TAM_ESTORE;
    const uint8_t *seq = (const uint8_t *)key->data + key->len - 8;
    tam_val_t v;
    int rc = tam_txn_get(c->txn, "audit", seq, 8, &v);
    if (rc)
        return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
    return s_audit_add(c, seq, v.data, v.len);
}

static int s_encode(const tam_schema_t *s, const void *obj, msgpack_sbuffer *answer)
{
    msgpack_packer pk;
    tam_codec_err_t ce;
    msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
    int rc = tam_encode(s, obj, &pk, &ce);
    if (rc && rc != TAM_ENOMEM) {
        tam_error("encoding %s failed: %s: %s", s->name, ce.path, ce.message);
        rc = TAM_EINTERNAL;
    }
    return rc;
}

static int s_history(tam_txn_t *txn, const void *body, size_t len, tam_arena_t *a,
                     msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_proposal_ref_t ref;
    tam_codec_err_t ce;
    if (tam_decode(&tam_schema_proposal_ref, body, len, a, &ref, &ce))
        return tam_pipeline__codec_error(err, &ce), 0;
    if (tam_pipeline_proposal_parse(ref.id, NULL, NULL)) {
        tam_rpc_error_set(err, TAM_EINVAL, "id", "'%s' is not a proposal id: \"<need id>/<project id>\"",
                          ref.id);
        return 0;
    }
    uint8_t prefix[TAM_PIPELINE_PROPOSAL_MAX + 1];
    size_t n = strlen(ref.id);
    memcpy(prefix, ref.id, n);
    prefix[n] = 0;
    s_audit_t c = {.txn = txn, .a = a, .limit = TAM_PIPELINE_HISTORY_MAX};
    /* The latest entries if there are more than fit: scan backwards, then
     * reverse. A proposal has a handful of acts in practice. */
    int rc = tam_txn_scan_rev(txn, "audit_prop", prefix, n + 1, s_audit_prop_fn, &c);
    if (rc < 0)
        return rc;
    if (c.n == 0 && c.damaged.n == 0) {
        tam_rpc_error_set(err, TAM_ENOTFOUND, "id", "no act on proposal %s yet (state none)", ref.id);
        return 0;
    }
    for (size_t i = 0; i < c.n / 2; i++) {
        tam_audit_entry_t t = c.v[i];
        c.v[i] = c.v[c.n - 1 - i];
        c.v[c.n - 1 - i] = t;
    }
    tam_audit_list_t out = {0};
    out.items.n = (uint32_t)c.n;
    out.items.v = c.v;
    out.damaged = s_damaged_strs(&c.damaged, a);
    return s_encode(&tam_schema_audit_list, &out, answer);
}

/* pipeline.audit with need and/or project: the seqs come from the indexes
 * (audit_prop: "<proposal>\0<seq>"; by_project: "<project>\0<proposal>"),
 * kept as their 8-byte big-endian keys, so memcmp orders them. */
typedef struct {
    tam_txn_t *txn;
    tam_arena_t *a;
    uint8_t (*v)[8];
    size_t n, cap;
    size_t plen; /* by_project: length of "<project>\0" */
} s_seqs_t;

static int s_seq_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)val;
    s_seqs_t *c = arg;
    if (key->len < 9)
        return TAM_ESTORE;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        uint8_t(*v)[8] = tam_arena_alloc(c->a, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        if (c->n)
            memcpy(v, c->v, c->n * sizeof *v);
        c->v = v;
        c->cap = cap;
    }
    memcpy(c->v[c->n++], (const uint8_t *)key->data + key->len - 8, 8);
    return 0;
}

static int s_proj_prop_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)val;
    s_seqs_t *c = arg;
    size_t n = key->len - c->plen;
    uint8_t prefix[TAM_PIPELINE_PROPOSAL_MAX + 1];
    if (key->len <= c->plen || n > TAM_PIPELINE_PROPOSAL_MAX)
        return TAM_ESTORE;
    memcpy(prefix, (const uint8_t *)key->data + c->plen, n);
    prefix[n] = 0;
    int rc = tam_txn_scan(c->txn, "audit_prop", prefix, n + 1, NULL, 0, s_seq_fn, c);
    return rc < 0 ? rc : 0;
}

static int s_seq_cmp(const void *x, const void *y)
{
    return memcmp(x, y, 8);
}

static int s_audit_filtered(tam_txn_t *txn, const tam_audit_query_t *q, s_audit_t *c)
{
    const char *project = q->project && q->project[0] ? q->project : NULL;
    size_t jlen = project ? strlen(project) : 0;
    s_seqs_t s = {.txn = txn, .a = c->a};
    uint8_t prefix[TAM_PIPELINE_PROPOSAL_MAX + 2];
    int rc, n;
    if (jlen > TAM_PIPELINE_ID_MAX)
        return 0; /* no such project: the codec bounds it anyway */
    if (q->need) {
        /* "<need>/" or "<need>/<project>\0": need ids are digits, so the
         * prefix "12/" never matches need 123. */
        n = snprintf((char *)prefix, sizeof prefix, "%llu/%s", (unsigned long long)q->need,
                     project ? project : "");
        if (n < 0 || (size_t)n >= sizeof prefix - 1)
            return 0;
        rc = tam_txn_scan(txn, "audit_prop", prefix, (size_t)n + (project ? 1 : 0), NULL, 0, s_seq_fn,
                          &s);
    } else {
        memcpy(prefix, project, jlen);
        prefix[jlen] = 0;
        s.plen = jlen + 1;
        rc = tam_txn_scan(txn, "by_project", prefix, jlen + 1, NULL, 0, s_proj_prop_fn, &s);
    }
    if (rc < 0)
        return rc;
    if (s.n)
        qsort(s.v, s.n, sizeof s.v[0], s_seq_cmp);
    uint8_t start[8];
    tam_key_u64(start, q->after + 1);
    for (size_t i = 0; i < s.n; i++) {
        if (memcmp(s.v[i], start, 8) < 0)
            continue;
        tam_val_t v;
        rc = tam_txn_get(txn, "audit", s.v[i], 8, &v);
        if (rc)
            return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
        rc = s_audit_add(c, s.v[i], v.data, v.len);
        if (rc)
            return rc > 0 ? 0 : rc;
    }
    return 0;
}

static int s_audit(tam_txn_t *txn, const void *body, size_t len, tam_arena_t *a,
                   msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_audit_query_t q;
    tam_codec_err_t ce;
    if (tam_decode(&tam_schema_audit_query, body, len, a, &q, &ce))
        return tam_pipeline__codec_error(err, &ce), 0;
    s_audit_t c = {.txn = txn, .a = a, .limit = q.limit ? (size_t)q.limit : TAM_PIPELINE_PAGE};
    uint8_t start[8];
    if (q.after == UINT64_MAX)
        return s_encode(&tam_schema_audit_list, &(tam_audit_list_t){0}, answer);
    tam_key_u64(start, q.after + 1);
    int rc;
    if (q.need || (q.project && q.project[0]))
        rc = s_audit_filtered(txn, &q, &c);
    else
        rc = tam_txn_scan(txn, "audit", NULL, 0, start, 8, s_audit_fn, &c);
    if (rc < 0)
        return rc;
    tam_audit_list_t out = {0};
    out.items.n = (uint32_t)c.n;
    out.items.v = c.v;
    out.next = c.more ? c.last : 0;
    out.damaged = s_damaged_strs(&c.damaged, a);
    return s_encode(&tam_schema_audit_list, &out, answer);
}

/* ---- decisions ---------------------------------------------------------------------- */

typedef struct {
    int64_t since;
    char proposal[TAM_PIPELINE_PROPOSAL_MAX + 1];
} s_hit_t;

typedef struct {
    const tam_decision_query_t *q;
    s_hit_t *v;
    size_t n, cap;
} s_hits_t;

static int s_match_fn(const tam_decision_t *d, void *arg)
{
    s_hits_t *h = arg;
    const tam_decision_query_t *q = h->q;
    if (q->attention && (!d->flag || !d->flag[0]))
        return 0;
    if (q->has_state && d->state != q->state)
        return 0;
    if (q->country && q->country[0] && strcmp(q->country, d->country) != 0)
        return 0;
    if (q->project && q->project[0] && strcmp(q->project, d->project) != 0)
        return 0;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        s_hit_t *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n].since = d->since;
    snprintf(h->v[h->n].proposal, sizeof h->v[0].proposal, "%s", d->proposal);
    h->n++;
    return 0;
}

static int s_hit_cmp(const void *a, const void *b)
{
    const s_hit_t *x = a, *y = b;
    if (x->since != y->since)
        return x->since < y->since ? -1 : 1;
    return strcmp(x->proposal, y->proposal);
}

static int s_decisions(tam_txn_t *txn, const void *body, size_t len, tam_arena_t *a,
                       msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_decision_query_t q;
    tam_codec_err_t ce;
    if (tam_decode(&tam_schema_decision_query, body, len, a, &q, &ce))
        return tam_pipeline__codec_error(err, &ce), 0;
    s_hits_t h = {.q = &q};
    tam_damaged_t damaged = {0};
    int rc = 0;
    if (q.proposal && q.proposal[0]) {
        tam_decision_t d;
        rc = tam_pipeline_decision_get(txn, q.proposal, a, &d);
        if (rc == 0)
            rc = s_match_fn(&d, &h);
        else if (rc == TAM_ENOTFOUND)
            rc = 0;
    } else {
        s_each_t e = {tam_arena_new(4096), s_match_fn, &h, &damaged};
        rc = e.a ? tam_txn_scan(txn, "decisions", NULL, 0, NULL, 0, s_each_fn, &e) : TAM_ENOMEM;
        tam_arena_destroy(&e.a);
    }
    if (rc < 0)
        goto done;
    if (h.n)
        qsort(h.v, h.n, sizeof *h.v, s_hit_cmp);
    size_t off = (size_t)q.offset, lim = q.limit ? (size_t)q.limit : TAM_PIPELINE_PAGE;
    size_t first = off < h.n ? off : h.n;
    size_t count = h.n - first < lim ? h.n - first : lim;
    tam_decision_list_t out = {.total = (int64_t)h.n};
    out.items.v = count ? tam_arena_alloc(a, count * sizeof *out.items.v) : NULL;
    if (count && !out.items.v) {
        rc = TAM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        if ((rc = tam_pipeline_decision_get(txn, h.v[first + i].proposal, a, &out.items.v[i])))
            goto done;
    }
    out.items.n = (uint32_t)count;
    out.damaged = s_damaged_strs(&damaged, a);
    rc = s_encode(&tam_schema_decision_list, &out, answer);
done:
    free(h.v);
    (void)err;
    return rc;
}

/* ---- reports -------------------------------------------------------------------------- */

static int s_report(const tam_pipeline_t *p, tam_txn_t *txn, const void *body, size_t len,
                    tam_arena_t *a, msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_report_request_t rq;
    tam_codec_err_t ce;
    if (tam_decode(&tam_schema_report_request, body, len, a, &rq, &ce))
        return tam_pipeline__codec_error(err, &ce), 0;
    tam_report_t rep;
    memset(&rep, 0, sizeof rep);
    int rc = tam_pipeline_report(p, txn, &rq, a, &rep, err);
    if (err->code)
        return 0;
    if (rc)
        return rc;
    return s_encode(&tam_schema_report, &rep, answer);
}

int tam_pipeline_read(const tam_pipeline_t *p, tam_txn_t *txn, int msg_id, const void *body,
                      size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                      tam_rpc_error_t *err)
{
    switch (msg_id) {
    case TAM_MSG_pipeline_history:
        return s_history(txn, body, len, scratch, answer, err);
    case TAM_MSG_pipeline_audit:
        return s_audit(txn, body, len, scratch, answer, err);
    case TAM_MSG_pipeline_decisions:
        return s_decisions(txn, body, len, scratch, answer, err);
    case TAM_MSG_pipeline_report:
        return s_report(p, txn, body, len, scratch, answer, err);
    case TAM_MSG_pipeline_money:
        return tam_pipeline_money_read(p, txn, body, len, scratch, answer, err);
    default:
        return TAM_EINTERNAL;
    }
}

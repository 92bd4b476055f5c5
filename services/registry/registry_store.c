/* registry_store.c — the write side of the registry: each write request is
 * decoded, validated against the catalogue and the stored records, and then
 * stored with its history inside the caller's LMDB transaction; what must be
 * published after the commit is handed back. All checks run before the
 * first put, so a refused request writes nothing. */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "tam/service.h"
#include "registry.h"

const char *const tam_registry_dbs[] = {"donors", "donor_revs", "projects", "project_revs",
                                        "ledger", "context", NULL};

/* ---- helpers --------------------------------------------------------------- */

size_t tam_registry__rev_key(uint8_t *buf, const char *id, uint64_t rev)
{
    size_t n = strlen(id);
    memcpy(buf, id, n);
    buf[n] = 0;
    tam_key_u64(buf + n + 1, rev);
    return n + 9;
}

int tam_registry__get(tam_txn_t *txn, const char *db, const void *key, size_t klen,
                      const tam_schema_t *s, tam_arena_t *a, void *out)
{
    tam_val_t v;
    int rc = tam_txn_get(txn, db, key, klen, &v);
    if (rc == TAM_ENOTFOUND)
        return rc;
    if (rc)
        return rc == TAM_EFATAL ? rc : TAM_ESTORE;
    tam_codec_err_t ce;
    rc = tam_decode(s, v.data, v.len, a, out, &ce);
    if (rc) {
        tam_error("stored %s record in db %s does not decode (%s: %s)", s->name, db, ce.path,
                  ce.message);
        return rc == TAM_ENOMEM ? rc : TAM_ESTORE;
    }
    return 0;
}

typedef struct {
    tam_arena_t *a;
    tam_context_t *out;
    int rc;
    bool found;
} s_ctx_last_t;

static int s_ctx_last(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)key;
    s_ctx_last_t *c = arg;
    tam_codec_err_t ce;
    c->rc = tam_decode(&tam_schema_context, val->data, val->len, c->a, c->out, &ce);
    if (c->rc) {
        tam_error("stored context does not decode (%s: %s)", ce.path, ce.message);
        c->rc = TAM_ESTORE;
    }
    c->found = c->rc == 0;
    return 1;
}

int tam_registry__context(tam_txn_t *txn, uint64_t version, tam_arena_t *a, tam_context_t *out,
                          bool *found)
{
    memset(out, 0, sizeof *out);
    *found = false;
    if (version > 0) {
        uint8_t k[8];
        tam_key_u64(k, version);
        int rc = tam_registry__get(txn, "context", k, 8, &tam_schema_context, a, out);
        if (rc == TAM_ENOTFOUND)
            return 0;
        *found = rc == 0;
        return rc;
    }
    s_ctx_last_t c = {.a = a, .out = out};
    int rc = tam_txn_scan_rev(txn, "context", NULL, 0, s_ctx_last, &c);
    if (rc)
        return rc == TAM_EFATAL ? rc : TAM_ESTORE;
    *found = c.found;
    return c.rc;
}

int tam_registry__codec_error(tam_rpc_error_t *err, const tam_codec_err_t *ce)
{
    tam_rpc_error_set(err, ce->code < 0 ? ce->code : TAM_EINVAL, ce->path, "%s", ce->message);
    return err->code;
}

/* Encodes obj into a fresh sbuffer. Our own structs always encode; a failure
 * is a bug or out of memory. */
static int s_encode(const tam_schema_t *s, const void *obj, msgpack_sbuffer *sb)
{
    tam_codec_err_t ce;
    int rc = tam_encode_sbuf(s, obj, sb, &ce);
    if (rc) {
        tam_error("cannot encode a %s record (%s: %s)", s->name, ce.path, ce.message);
        return rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
    }
    return 0;
}

static int s_answer(const tam_schema_t *s, const void *obj, msgpack_sbuffer *answer)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
    tam_codec_err_t ce;
    int rc = tam_encode(s, obj, &pk, &ce);
    if (rc) {
        tam_error("cannot encode a %s answer (%s: %s)", s->name, ce.path, ce.message);
        return rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
    }
    return 0;
}

/* A request's dry_run: noted for the caller (tam_registry_t.dry_run) and cleared, so
 * that it is never part of the stored record. */
static void s_dry(const tam_registry_t *r, bool *dry_run)
{
    if (r->dry_run)
        *r->dry_run = *dry_run;
    *dry_run = false;
}

static bool s_is_dry(const tam_registry_t *r)
{
    return r->dry_run && *r->dry_run;
}

static int s_put_ack(const tam_registry_t *r, const char *id, int64_t rev,
                     msgpack_sbuffer *answer)
{
    tam_put_ack_t ack = {.id = (char *)id, .revision = rev, .dry_run = s_is_dry(r)};
    return s_answer(&tam_schema_put_ack, &ack, answer);
}

/* Stores bytes as the current record of id in db and as revision rev in
 * revs. A revision that exists already means the two databases disagree. */
static int s_put_rev(tam_txn_t *txn, const char *db, const char *revs, const char *id,
                     uint64_t rev, const void *bytes, size_t len)
{
    uint8_t k[TAM_REGISTRY_ID_MAX + 9];
    int rc = tam_txn_put(txn, db, id, strlen(id), bytes, len, 0);
    if (rc)
        return rc;
    rc = tam_txn_put(txn, revs, k, tam_registry__rev_key(k, id, rev), bytes, len,
                     TAM_PUT_NOOVERWRITE);
    if (rc == TAM_EEXISTS) {
        tam_error("db %s already holds revision %llu of %s", revs, (unsigned long long)rev, id);
        return TAM_EINTERNAL;
    }
    return rc;
}

static bool s_same(const msgpack_sbuffer *a, const msgpack_sbuffer *b)
{
    return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

static uint32_t s_today(const tam_registry_t *r)
{
    return r->today ? r->today : tam_date_today();
}

/* Decodes the request body; a body that does not decode (also one too large
 * for the scratch arena's cap) is refused. Returns 0. */
static int s_decode(const tam_schema_t *s, const void *body, size_t len, tam_arena_t *a, void *out,
                    tam_rpc_error_t *err)
{
    tam_request_decode(s, body, len, a, out, err); /* every problem of the body, listed */
    return 0;
}

/* Stores a record (schema s, revision rev of id) as current + history and
 * queues it for the feed under topic. */
static int s_commit_rec(tam_txn_t *txn, const tam_schema_t *s, const void *rec, const char *db,
                        const char *revs, const char *id, int64_t rev, const char *topic,
                        tam_events_t *pubs)
{
    msgpack_sbuffer sb;
    int rc = s_encode(s, rec, &sb);
    if (rc)
        return rc;
    rc = s_put_rev(txn, db, revs, id, (uint64_t)rev, sb.data, sb.size);
    if (rc == 0)
        rc = tam_events_add(pubs, topic, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---- donors ---------------------------------------------------------------- */

static int s_donor_put(const tam_registry_t *r, tam_txn_t *txn, const void *body, size_t len,
                       tam_arena_t *a, msgpack_sbuffer *answer, tam_events_t *pubs,
                       tam_rpc_error_t *err)
{
    (void)r;
    tam_donor_t d, cur;
    int rc = s_decode(&tam_schema_donor, body, len, a, &d, err);
    s_dry(r, &d.dry_run);
    /* codec and semantic problems in one list: the checks also run on what
     * decoded of a record the codec refused (fields that did not decode are
     * NULL, zeroed by the arena, and skipped by the checks) */
    if (rc || tam_registry_check_donor(&d, err) || err->code)
        return rc;
    d.by = NULL; /* set by the registry, below */
    if (d.iati_id && !d.iati_id[0])
        d.iati_id = NULL; /* "" and absent mean the same: not known */
    rc = tam_registry__get(txn, "donors", d.id, strlen(d.id), &tam_schema_donor, a, &cur);
    if (rc && rc != TAM_ENOTFOUND)
        return rc;
    bool exists = rc == 0;
    int64_t rev = exists ? cur.revision : 0;
    msgpack_sbuffer now, was;
    if (exists) {
        /* Same content as the current revision: nothing changes. */
        d.revision = rev;
        d.by = cur.by;
        if ((rc = s_encode(&tam_schema_donor, &d, &now)))
            return rc;
        if ((rc = s_encode(&tam_schema_donor, &cur, &was))) {
            msgpack_sbuffer_destroy(&now);
            return rc;
        }
        bool same = s_same(&now, &was);
        msgpack_sbuffer_destroy(&now);
        msgpack_sbuffer_destroy(&was);
        if (same)
            return s_put_ack(r, d.id, rev, answer);
        if (rev >= TAM_REGISTRY_REV_MAX) {
            tam_rpc_error_set(err, TAM_ERANGE, "id", "donor '%s' has reached %d revisions", d.id,
                              TAM_REGISTRY_REV_MAX);
            return 0;
        }
    }
    d.revision = rev + 1;
    d.by = (char *)r->by;
    char topic[TAM_REGISTRY_TOPIC_MAX];
    snprintf(topic, sizeof topic, "donor/%s", d.id);
    rc = s_commit_rec(txn, &tam_schema_donor, &d, "donors", "donor_revs", d.id, d.revision, topic,
                      pubs);
    if (rc == 0)
        rc = s_put_ack(r, d.id, d.revision, answer);
    return rc;
}

/* ---- projects --------------------------------------------------------------- */

typedef struct {
    tam_txn_t *txn;
    int fail; /* a storage error met while looking donors up */
} s_donor_ctx_t;

static int s_donor_exists(const char *id, void *arg)
{
    s_donor_ctx_t *c = arg;
    tam_val_t v;
    int rc = tam_txn_get(c->txn, "donors", id, strlen(id), &v);
    if (rc == 0 || rc == TAM_ENOTFOUND)
        return rc;
    if (rc == TAM_EINVAL) /* a key LMDB cannot hold is no donor's id */
        return TAM_ENOTFOUND;
    c->fail = rc == TAM_EFATAL ? rc : TAM_ESTORE;
    return c->fail;
}

static int s_project_get(tam_txn_t *txn, const char *id, tam_arena_t *a, tam_project_rec_t *out)
{
    if (!tam_registry_id_valid(id))
        return TAM_ENOTFOUND;
    return tam_registry__get(txn, "projects", id, strlen(id), &tam_schema_project_rec, a, out);
}

/* "1,234,567" */
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

/* Sets rec->warnings (pointing into w) from its totals: received above the
 * pledged total, received above the budget. */
static void s_warnings(tam_project_rec_t *rec, char w[2][300], char *wv[2])
{
    char a[32], b[32];
    uint32_t n = 0;
    if (rec->received > rec->pledged) {
        snprintf(w[n], 300, "received %s USD is above the pledged total %s USD: a receipt with no "
                            "pledge recorded, or a pledge missing",
                 s_usd(rec->received, a), s_usd(rec->pledged, b));
        wv[n] = w[n];
        n++;
    }
    if (rec->received > rec->project->budget) {
        snprintf(w[n], 300, "received %s USD is above the budget %s USD", s_usd(rec->received, a),
                 s_usd(rec->project->budget, b));
        wv[n] = w[n];
        n++;
    }
    rec->warnings.n = n;
    rec->warnings.v = n ? wv : NULL;
}

static int s_project_commit(const tam_registry_t *r, tam_txn_t *txn, tam_project_rec_t *rec,
                            msgpack_sbuffer *answer, tam_events_t *pubs)
{
    char w[2][300], *wv[2];
    s_warnings(rec, w, wv);
    char topic[TAM_REGISTRY_TOPIC_MAX];
    const char *id = rec->project->id;
    snprintf(topic, sizeof topic, "project/%s", id);
    int rc = s_commit_rec(txn, &tam_schema_project_rec, rec, "projects", "project_revs", id,
                          rec->revision, topic, pubs);
    if (rc == 0 && answer)
        rc = s_put_ack(r, id, rec->revision, answer);
    return rc;
}

static int s_project_put(const tam_registry_t *r, tam_txn_t *txn, bool add, const void *body,
                         size_t len, tam_arena_t *a, msgpack_sbuffer *answer,
                         tam_events_t *pubs, tam_rpc_error_t *err)
{
    tam_project_t p;
    tam_project_rec_t cur;
    int rc = s_decode(&tam_schema_project, body, len, a, &p, err);
    s_dry(r, &p.dry_run);
    int64_t if_version = p.if_version;
    p.if_version = 0;
    if (rc || err->code)
        return rc;
    rc = s_project_get(txn, p.id, a, &cur);
    if (rc && rc != TAM_ENOTFOUND)
        return rc;
    bool exists = rc == 0;
    if (add && exists)
        tam_rpc_error_set(err, TAM_EEXISTS, "id",
                          "project '%s' exists already (change it with registry.project_update, "
                          "tamctl project update)",
                          p.id);
    if (!add && !exists)
        tam_rpc_error_set(err, TAM_ENOTFOUND, "id", "no project '%s' (add it first)", p.id);
    if (!add && exists && if_version && cur.revision != if_version)
        tam_rpc_error_add_code(err, TAM_ECONFLICT, "if_version",
                               "project '%s' is at revision %lld, not %lld: read it again "
                               "(registry.project_get) and resend",
                               p.id, (long long)cur.revision, (long long)if_version);
    if (!add && exists && (cur.project->status == TAM_E_project_status_closed ||
                           cur.project->status == TAM_E_project_status_cancelled))
        tam_rpc_error_set(err, TAM_ESTATE, "id", "project '%s' is %s: it can no longer change",
                          p.id, tam_enum_project_status.values[cur.project->status]);
    s_donor_ctx_t dc = {.txn = txn};
    tam_registry_check_project(r->cat, &p, s_donor_exists, &dc, err);
    if (dc.fail)
        return dc.fail;
    if (err->code)
        return 0;

    tam_project_rec_t rec = {.project = &p, .revision = 1};
    if (exists) {
        rec.pledged = cur.pledged;
        rec.received = cur.received;
        rec.reason = cur.reason;
        rec.revision = cur.revision;
        rec.by = cur.by;
        msgpack_sbuffer now, was;
        if ((rc = s_encode(&tam_schema_project_rec, &rec, &now)))
            return rc;
        if ((rc = s_encode(&tam_schema_project_rec, &cur, &was))) {
            msgpack_sbuffer_destroy(&now);
            return rc;
        }
        bool same = s_same(&now, &was);
        msgpack_sbuffer_destroy(&now);
        msgpack_sbuffer_destroy(&was);
        if (same)
            return s_put_ack(r, p.id, cur.revision, answer);
        if (cur.revision >= TAM_REGISTRY_REV_MAX) {
            tam_rpc_error_set(err, TAM_ERANGE, "id", "project '%s' has reached %d revisions", p.id,
                              TAM_REGISTRY_REV_MAX);
            return 0;
        }
        rec.revision = cur.revision + 1;
    }
    rec.by = (char *)r->by;
    return s_project_commit(r, txn, &rec, answer, pubs);
}

static int s_project_close(const tam_registry_t *r, tam_txn_t *txn, const void *body, size_t len,
                           tam_arena_t *a, msgpack_sbuffer *answer, tam_events_t *pubs,
                           tam_rpc_error_t *err)
{
    (void)r;
    tam_project_close_t c;
    tam_project_rec_t cur;
    int rc = s_decode(&tam_schema_project_close, body, len, a, &c, err);
    s_dry(r, &c.dry_run);
    if (rc || err->code)
        return rc;
    rc = s_project_get(txn, c.id, a, &cur);
    if (rc && rc != TAM_ENOTFOUND)
        return rc;
    if (tam_registry_check_close(&c, rc == 0 ? &cur : NULL, err))
        return 0;
    if (cur.revision >= TAM_REGISTRY_REV_MAX) {
        tam_rpc_error_set(err, TAM_ERANGE, "id", "project '%s' has reached %d revisions", c.id,
                          TAM_REGISTRY_REV_MAX);
        return 0;
    }
    cur.project->status = c.status;
    cur.reason = c.reason;
    cur.revision++;
    cur.by = (char *)r->by;
    return s_project_commit(r, txn, &cur, answer, pubs);
}

/* ---- ledger ------------------------------------------------------------------ */

static int s_ledger_add(const tam_registry_t *r, tam_txn_t *txn, const void *body, size_t len,
                        tam_arena_t *a, msgpack_sbuffer *answer, tam_events_t *pubs,
                        tam_rpc_error_t *err)
{
    tam_ledger_entry_t e;
    tam_project_rec_t cur;
    int rc = s_decode(&tam_schema_ledger_entry, body, len, a, &e, err);
    s_dry(r, &e.dry_run);
    if (rc || err->code)
        return rc;
    rc = s_project_get(txn, e.project, a, &cur);
    if (rc && rc != TAM_ENOTFOUND)
        return rc;
    if (tam_registry_check_ledger(&e, rc == 0 ? &cur : NULL, err))
        return 0;

    uint64_t id;
    if ((rc = tam_txn_counter_next(txn, "ledger", &id)))
        return rc;
    e.id = id;
    e.by = (char *)r->by;
    if (!e.date)
        e.date = s_today(r);
    if (e.note && !e.note[0])
        e.note = NULL;
    msgpack_sbuffer sb;
    if ((rc = s_encode(&tam_schema_ledger_entry, &e, &sb)))
        return rc;
    uint8_t k[TAM_REGISTRY_ID_MAX + 9];
    rc = tam_txn_put(txn, "ledger", k, tam_registry__rev_key(k, e.project, id), sb.data, sb.size,
                     TAM_PUT_NOOVERWRITE);
    msgpack_sbuffer_destroy(&sb);
    if (rc == TAM_EEXISTS) {
        tam_error("ledger entry %llu of %s exists already", (unsigned long long)id, e.project);
        return TAM_EINTERNAL;
    }
    if (rc)
        return rc;

    if (e.kind == TAM_E_ledger_kind_pledge)
        cur.pledged += e.amount;
    else
        cur.received += e.amount;
    cur.revision++;
    cur.by = (char *)r->by;
    if ((rc = s_project_commit(r, txn, &cur, NULL, pubs)))
        return rc;
    char w[2][300], *wv[2];
    s_warnings(&cur, w, wv);
    tam_ledger_ack_t ack = {.id = id, .pledged = cur.pledged, .received = cur.received,
                            .warnings = cur.warnings, .dry_run = s_is_dry(r)};
    if (cur.warnings.n)
        tam_info("ledger entry %llu of %s stored with %u warning(s)", (unsigned long long)id,
                 e.project, cur.warnings.n);
    return s_answer(&tam_schema_ledger_ack, &ack, answer);
}

/* ---- planning context ----------------------------------------------------------- */

static int s_context_set(const tam_registry_t *r, tam_txn_t *txn, const void *body, size_t len,
                         tam_arena_t *a, msgpack_sbuffer *answer, tam_events_t *pubs,
                         tam_rpc_error_t *err)
{
    tam_context_t c, cur;
    bool found;
    int rc = s_decode(&tam_schema_context, body, len, a, &c, err);
    s_dry(r, &c.dry_run);
    int64_t if_version = c.if_version;
    c.if_version = 0;
    /* codec and semantic problems in one list, as for donors */
    if (rc || tam_registry_check_context(r->cat, &c, err) || err->code)
        return rc;
    if (c.note && !c.note[0])
        c.note = NULL;
    c.by = NULL;
    if ((rc = tam_registry__context(txn, 0, a, &cur, &found)))
        return rc;
    if (if_version && (!found || cur.version != if_version)) {
        tam_rpc_error_set(err, TAM_ECONFLICT, "if_version",
                          "the planning context is at version %lld, not %lld: read it again "
                          "(registry.context_get) and resend",
                          found ? (long long)cur.version : 0LL, (long long)if_version);
        return 0;
    }
    msgpack_sbuffer sb;
    if (found) {
        c.version = cur.version;
        c.set_on = cur.set_on;
        c.by = cur.by;
        msgpack_sbuffer was;
        if ((rc = s_encode(&tam_schema_context, &c, &sb)))
            return rc;
        if ((rc = s_encode(&tam_schema_context, &cur, &was))) {
            msgpack_sbuffer_destroy(&sb);
            return rc;
        }
        bool same = s_same(&sb, &was);
        msgpack_sbuffer_destroy(&sb);
        msgpack_sbuffer_destroy(&was);
        if (same)
            return s_put_ack(r, TAM_REGISTRY_CONTEXT_ID, cur.version, answer);
        if (cur.version >= TAM_REGISTRY_REV_MAX) {
            tam_rpc_error_set(err, TAM_ERANGE, "", "the context has reached %d versions",
                              TAM_REGISTRY_REV_MAX);
            return 0;
        }
    }
    c.version = found ? cur.version + 1 : 1;
    c.set_on = s_today(r);
    c.by = (char *)r->by;
    if ((rc = s_encode(&tam_schema_context, &c, &sb)))
        return rc;
    uint8_t k[8];
    tam_key_u64(k, (uint64_t)c.version);
    rc = tam_txn_put(txn, "context", k, 8, sb.data, sb.size, TAM_PUT_APPEND | TAM_PUT_NOOVERWRITE);
    if (rc == 0)
        rc = tam_events_add(pubs, TAM_REGISTRY_CONTEXT_ID, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0)
        rc = s_put_ack(r, TAM_REGISTRY_CONTEXT_ID, c.version, answer);
    return rc;
}

/* ---- dispatch --------------------------------------------------------------------- */

int tam_registry_write(const tam_registry_t *r, tam_txn_t *txn, int msg_id, const void *body,
                       size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                       tam_events_t *pubs, tam_rpc_error_t *err)
{
    size_t npubs = pubs->n;
    int rc;
    switch (msg_id) {
    case TAM_MSG_registry_donor_put:
        rc = s_donor_put(r, txn, body, len, scratch, answer, pubs, err);
        break;
    case TAM_MSG_registry_project_add:
        rc = s_project_put(r, txn, true, body, len, scratch, answer, pubs, err);
        break;
    case TAM_MSG_registry_project_update:
        rc = s_project_put(r, txn, false, body, len, scratch, answer, pubs, err);
        break;
    case TAM_MSG_registry_project_close:
        rc = s_project_close(r, txn, body, len, scratch, answer, pubs, err);
        break;
    case TAM_MSG_registry_ledger_add:
        rc = s_ledger_add(r, txn, body, len, scratch, answer, pubs, err);
        break;
    case TAM_MSG_registry_context_set:
        rc = s_context_set(r, txn, body, len, scratch, answer, pubs, err);
        break;
    default:
        return TAM_EINTERNAL;
    }
    if (rc || err->code) {
        /* Nothing of a refused or failed request may be published. */
        tam_events_truncate(pubs, npubs);
    }
    return rc;
}

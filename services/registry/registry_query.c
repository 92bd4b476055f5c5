/* registry_query.c — the read side of the registry: listings, single
 * records (current or a past revision), a project's ledger, the planning
 * context, and the feed snapshot. Stored values are already the canonical
 * msgpack of their structs, so answers and snapshots copy them as they are. */
#include <stdlib.h>
#include <string.h>
#include "tam/damaged.h"
#include "tam/error.h"
#include "tam/log.h"
#include "registry.h"

/* Records collected during a scan. They point into the map and stay valid
 * until the read transaction ends, which is after the answer is packed. */
typedef struct {
    tam_val_t key, val;
} s_rec_t;

typedef struct {
    s_rec_t *v;
    size_t n, cap;
} s_recs_t;

static int s_recs_add(s_recs_t *l, const tam_val_t *key, const tam_val_t *val)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        s_rec_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return TAM_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n].key = *key;
    l->v[l->n].val = *val;
    l->n++;
    return 0;
}

static int s_raw(msgpack_sbuffer *sb, const void *data, size_t len)
{
    return msgpack_sbuffer_write(sb, data, len) == 0 ? 0 : TAM_ENOMEM;
}

/* Packs {"items": [values...], "next": last key} (next only if more), the
 * encoding of donor_list, project_list and ledger_list. */
static int s_pack_list(msgpack_sbuffer *answer, const s_recs_t *items, bool more,
                       const tam_damaged_t *damaged)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
    bool next = more && items->n > 0;
    int rc = msgpack_pack_map(&pk, (next ? 2 : 1) + (tam_damaged_listed(damaged) ? 1 : 0));
    rc = rc ? rc : msgpack_pack_str_with_body(&pk, "items", 5);
    rc = rc ? rc : msgpack_pack_array(&pk, (uint32_t)items->n);
    for (size_t i = 0; i < items->n && rc == 0; i++)
        rc = s_raw(answer, items->v[i].val.data, items->v[i].val.len);
    if (rc == 0 && next) {
        const tam_val_t *k = &items->v[items->n - 1].key;
        rc = msgpack_pack_str_with_body(&pk, "next", 4);
        rc = rc ? rc : msgpack_pack_str_with_body(&pk, k->data, k->len);
    }
    rc = rc ? rc : tam_damaged_pack(damaged, &pk);
    return rc ? TAM_ENOMEM : 0;
}

static int s_decode_req(const tam_schema_t *s, const void *body, size_t len, tam_arena_t *a,
                        void *out, tam_rpc_error_t *err)
{
    tam_codec_err_t ce;
    if (tam_decode(s, body, len, a, out, &ce))
        return tam_registry__codec_error(err, &ce);
    return 0;
}

static int s_store_rc(int rc)
{
    return rc == TAM_EFATAL || rc == TAM_ENOMEM ? rc : TAM_ESTORE;
}

/* ---- single records ------------------------------------------------------------ */

/* Answers the current record of key->id from db, or its revision
 * key->revision from revs, as stored. */
static int s_get_rec(tam_txn_t *txn, const char *what, const char *db, const char *revs,
                     const tam_key_t *key, msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_val_t v;
    int rc = TAM_ENOTFOUND;
    bool valid = tam_registry_id_valid(key->id);
    if (valid && key->revision > 0) {
        uint8_t k[TAM_REGISTRY_ID_MAX + 9];
        rc = tam_txn_get(txn, revs, k, tam_registry__rev_key(k, key->id, (uint64_t)key->revision),
                         &v);
    } else if (valid) {
        rc = tam_txn_get(txn, db, key->id, strlen(key->id), &v);
    }
    if (rc == TAM_ENOTFOUND) {
        tam_val_t cur;
        if (valid && key->revision > 0 && tam_txn_get(txn, db, key->id, strlen(key->id), &cur) == 0)
            tam_rpc_error_set(err, TAM_ENOTFOUND, "revision", "%s '%s' has no revision %lld", what,
                              key->id, (long long)key->revision);
        else
            tam_rpc_error_set(err, TAM_ENOTFOUND, "id", "no %s '%s'", what, key->id);
        return 0;
    }
    if (rc)
        return s_store_rc(rc);
    return s_raw(answer, v.data, v.len);
}

static int s_first(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)key;
    *(tam_val_t *)arg = *val;
    return 1;
}

/* The planning context: the latest version, or version key->revision. */
static int s_context_get(tam_txn_t *txn, const tam_key_t *key, msgpack_sbuffer *answer,
                         tam_rpc_error_t *err)
{
    if (strcmp(key->id, TAM_REGISTRY_CONTEXT_ID) != 0) {
        tam_rpc_error_set(err, TAM_ENOTFOUND, "id", "the planning context's id is \"%s\"",
                          TAM_REGISTRY_CONTEXT_ID);
        return 0;
    }
    tam_val_t v = {0};
    int rc;
    if (key->revision > 0) {
        uint8_t k[8];
        tam_key_u64(k, (uint64_t)key->revision);
        rc = tam_txn_get(txn, "context", k, 8, &v);
    } else {
        rc = tam_txn_scan_rev(txn, "context", NULL, 0, s_first, &v);
        if (rc == 0 && !v.data)
            rc = TAM_ENOTFOUND;
    }
    if (rc == TAM_ENOTFOUND) {
        if (key->revision > 0)
            tam_rpc_error_set(err, TAM_ENOTFOUND, "revision", "the context has no version %lld",
                              (long long)key->revision);
        else
            tam_rpc_error_set(err, TAM_ENOTFOUND, "id", "no planning context has been set yet");
        return 0;
    }
    if (rc)
        return s_store_rc(rc);
    return s_raw(answer, v.data, v.len);
}

/* ---- listings ---------------------------------------------------------------------- */

typedef struct {
    s_recs_t items;
    size_t limit;
    const char *after; /* the page starts after this key */
    bool more;         /* a matching record beyond the limit exists */
    size_t max;        /* ledger: most entries an answer may hold */
    /* projects only */
    const tam_project_query_t *q;
    tam_arena_t *a;
    /* every record is decoded with schema (into a) before it is answered;
     * one that does not decode is left out and its key listed here */
    const char *db;
    const tam_schema_t *schema;
    tam_damaged_t damaged;
} s_list_t;

static bool s_is_after(const s_list_t *l, const tam_val_t *key)
{
    return l->after && key->len == strlen(l->after) && memcmp(key->data, l->after, key->len) == 0;
}

/* Whether the stored value decodes; if not, its key goes to l->damaged
 * (ledger keys are the project id, a 0 and the entry's sequence). out may
 * be NULL (the decoded record is not needed). */
static bool s_sound(s_list_t *l, const tam_val_t *key, const tam_val_t *val, void *out)
{
    tam_codec_err_t ce;
    union {
        tam_donor_t d;
        tam_project_rec_t p;
        tam_ledger_entry_t e;
    } scratch;
    tam_arena_reset(l->a);
    if (tam_decode(l->schema, val->data, val->len, l->a, out ? out : &scratch, &ce) == 0)
        return true;
    const char *k = key->data;
    size_t idlen = strnlen(k, key->len);
    if (idlen + 9 == key->len)
        tam_damaged_add(&l->damaged, l->db, ce.path, "%.*s/%llu", (int)idlen, k,
                        (unsigned long long)tam_key_get_u64((const uint8_t *)k + idlen + 1));
    else
        tam_damaged_add(&l->damaged, l->db, ce.path, "%.*s", (int)idlen, k);
    return false;
}

static int s_take(s_list_t *l, const tam_val_t *key, const tam_val_t *val)
{
    if (l->items.n == l->limit) {
        l->more = true;
        return 1;
    }
    return s_recs_add(&l->items, key, val);
}

static int s_donor_row(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_list_t *l = arg;
    if (s_is_after(l, key))
        return 0;
    if (l->items.n < l->limit && !s_sound(l, key, val, NULL))
        return 0;
    return s_take(l, key, val);
}

static bool s_project_matches(const tam_project_query_t *q, const tam_project_rec_t *r)
{
    if (q->has_status && r->project->status != q->status)
        return false;
    if (q->donor && q->donor[0]) {
        for (uint32_t i = 0; i < r->project->donors.n; i++)
            if (strcmp(r->project->donors.v[i].donor, q->donor) == 0)
                return true;
        return false;
    }
    return true;
}

static int s_project_row(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_list_t *l = arg;
    if (s_is_after(l, key))
        return 0;
    tam_project_rec_t rec;
    tam_codec_err_t ce;
    if (l->items.n == l->limit) {
        /* the page is full: a next page exists if this record matches (a
         * damaged one is named by that page, not this one) */
        tam_arena_reset(l->a);
        if (tam_decode(l->schema, val->data, val->len, l->a, &rec, &ce) == 0 &&
            !s_project_matches(l->q, &rec))
            return 0;
        return s_take(l, key, val);
    }
    if (!s_sound(l, key, val, &rec) || !s_project_matches(l->q, &rec))
        return 0;
    return s_take(l, key, val);
}

static size_t s_limit(int64_t limit)
{
    return limit > 0 ? (size_t)limit : TAM_REGISTRY_PAGE;
}

static int s_scan_after(tam_txn_t *txn, const char *db, const char *after, tam_scan_fn fn,
                        s_list_t *l)
{
    l->after = after && after[0] ? after : NULL;
    int rc = tam_txn_scan(txn, db, NULL, 0, l->after, l->after ? strlen(l->after) : 0, fn, l);
    return rc;
}

static int s_donors(tam_txn_t *txn, const void *body, size_t len, tam_arena_t *a,
                    msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_page_str_t q;
    if (s_decode_req(&tam_schema_page_str, body, len, a, &q, err))
        return 0;
    s_list_t l = {.limit = s_limit(q.limit), .a = tam_arena_new(0), .db = "donors",
                  .schema = &tam_schema_donor};
    if (!l.a)
        return TAM_ENOMEM;
    int rc = s_scan_after(txn, "donors", q.after, s_donor_row, &l);
    if (rc == 0)
        rc = s_pack_list(answer, &l.items, l.more, &l.damaged);
    else
        rc = rc == TAM_ENOMEM ? rc : s_store_rc(rc);
    free(l.items.v);
    tam_arena_destroy(&l.a);
    return rc;
}

static int s_projects(tam_txn_t *txn, const void *body, size_t len, tam_arena_t *a,
                      msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_project_query_t q;
    if (s_decode_req(&tam_schema_project_query, body, len, a, &q, err))
        return 0;
    s_list_t l = {.limit = s_limit(q.limit), .q = &q, .a = tam_arena_new(0), .db = "projects",
                  .schema = &tam_schema_project_rec};
    if (!l.a)
        return TAM_ENOMEM;
    int rc = s_scan_after(txn, "projects", q.after, s_project_row, &l);
    if (rc == 0)
        rc = s_pack_list(answer, &l.items, l.more, &l.damaged);
    else if (rc != TAM_ENOMEM && rc != TAM_ESTORE)
        rc = s_store_rc(rc);
    free(l.items.v);
    tam_arena_destroy(&l.a);
    return rc;
}

static int s_ledger_row(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_list_t *l = arg;
    if (l->items.n == l->max) {
        l->more = true;
        return 1;
    }
    return s_sound(l, key, val, NULL) ? s_recs_add(&l->items, key, val) : 0;
}

static int s_ledger(tam_txn_t *txn, const void *body, size_t len, tam_arena_t *a,
                    msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_key_t k;
    if (s_decode_req(&tam_schema_key, body, len, a, &k, err))
        return 0;
    tam_val_t v;
    int rc = tam_registry_id_valid(k.id) ? tam_txn_get(txn, "projects", k.id, strlen(k.id), &v)
                                         : TAM_ENOTFOUND;
    if (rc == TAM_ENOTFOUND)
        tam_rpc_error_set(err, TAM_ENOTFOUND, "id", "no project '%s'", k.id);
    else if (rc)
        return s_store_rc(rc);
    if (k.revision != 0)
        tam_rpc_error_add(err, "revision",
                          "the ledger only grows and has no revisions; registry.project_get with "
                          "a revision gives the totals as they were");
    if (err->code)
        return 0;
    uint8_t prefix[TAM_REGISTRY_ID_MAX + 1];
    size_t n = strlen(k.id);
    memcpy(prefix, k.id, n);
    prefix[n] = 0;
    s_list_t l = {.max = TAM_REGISTRY_LEDGER_MAX, .a = tam_arena_new(0), .db = "ledger",
                  .schema = &tam_schema_ledger_entry};
    if (!l.a)
        return TAM_ENOMEM;
    rc = tam_txn_scan(txn, "ledger", prefix, n + 1, NULL, 0, s_ledger_row, &l);
    if (rc == 0 && l.more)
        tam_rpc_error_set(err, TAM_ETOOBIG, "id", "the ledger of '%s' has more than %d entries",
                          k.id, TAM_REGISTRY_LEDGER_MAX);
    else if (rc == 0)
        rc = s_pack_list(answer, &l.items, false, &l.damaged);
    else
        rc = rc == TAM_ENOMEM ? rc : s_store_rc(rc);
    free(l.items.v);
    tam_arena_destroy(&l.a);
    return rc;
}

int tam_registry_read(const tam_registry_t *r, tam_txn_t *txn, int msg_id, const void *body,
                      size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                      tam_rpc_error_t *err)
{
    (void)r;
    tam_key_t k;
    switch (msg_id) {
    case TAM_MSG_registry_donors:
        return s_donors(txn, body, len, scratch, answer, err);
    case TAM_MSG_registry_projects:
        return s_projects(txn, body, len, scratch, answer, err);
    case TAM_MSG_registry_ledger:
        return s_ledger(txn, body, len, scratch, answer, err);
    case TAM_MSG_registry_donor_get:
    case TAM_MSG_registry_project_get:
    case TAM_MSG_registry_context_get:
        if (msg_id == TAM_MSG_registry_context_get && len == 1 &&
            *(const uint8_t *)body == 0xc0) {
            /* A nil body: there is one context, and its current version. */
            memset(&k, 0, sizeof k);
            k.id = (char *)TAM_REGISTRY_CONTEXT_ID;
            return s_context_get(txn, &k, answer, err);
        }
        if (s_decode_req(&tam_schema_key, body, len, scratch, &k, err))
            return 0;
        if (msg_id == TAM_MSG_registry_donor_get)
            return s_get_rec(txn, "donor", "donors", "donor_revs", &k, answer, err);
        if (msg_id == TAM_MSG_registry_project_get)
            return s_get_rec(txn, "project", "projects", "project_revs", &k, answer, err);
        return s_context_get(txn, &k, answer, err);
    default:
        return TAM_EINTERNAL;
    }
}

/* ---- snapshot ------------------------------------------------------------------------ */

typedef struct {
    const char *group; /* "donor/" or "project/" */
    tam_feed_emit_fn emit;
    void *ctx;
} s_snap_t;

static int s_snap_row(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_snap_t *s = arg;
    char topic[TAM_FEED_TOPIC_MAX];
    size_t g = strlen(s->group);
    if (g + key->len >= sizeof topic)
        return TAM_EINTERNAL; /* ids are at most 32 bytes */
    memcpy(topic, s->group, g);
    memcpy(topic + g, key->data, key->len);
    return s->emit(s->ctx, topic, g + key->len, val->data, val->len);
}

/* Streams one database under topics group+key, restricted to the prefix. */
static int s_snap_db(tam_txn_t *txn, const char *db, const char *group, const char *prefix,
                     tam_feed_emit_fn emit, void *ctx)
{
    size_t g = strlen(group), p = strlen(prefix);
    const char *kp = "";
    if (p >= g) {
        if (strncmp(prefix, group, g) != 0)
            return 0;
        kp = prefix + g;
    } else if (strncmp(group, prefix, p) != 0) {
        return 0;
    }
    s_snap_t s = {.group = group, .emit = emit, .ctx = ctx};
    return tam_txn_scan(txn, db, kp, strlen(kp), NULL, 0, s_snap_row, &s);
}

int tam_registry_snapshot(tam_txn_t *txn, const char *prefix, tam_feed_emit_fn emit,
                          void *emit_ctx)
{
    if (!prefix)
        prefix = "";
    int rc = s_snap_db(txn, "donors", "donor/", prefix, emit, emit_ctx);
    if (rc == 0)
        rc = s_snap_db(txn, "projects", "project/", prefix, emit, emit_ctx);
    size_t p = strlen(prefix);
    if (rc == 0 && strncmp(TAM_REGISTRY_CONTEXT_ID, prefix, p) == 0 &&
        p <= strlen(TAM_REGISTRY_CONTEXT_ID)) {
        tam_val_t v = {0};
        rc = tam_txn_scan_rev(txn, "context", NULL, 0, s_first, &v);
        if (rc == 0 && v.data)
            rc = emit(emit_ctx, TAM_REGISTRY_CONTEXT_ID, strlen(TAM_REGISTRY_CONTEXT_ID), v.data,
                      v.len);
    }
    return rc;
}

int tam_registry_counts(tam_txn_t *txn, tam_registry_counts_t *out)
{
    int rc = tam_txn_count(txn, "donors", &out->donors);
    rc = rc ? rc : tam_txn_count(txn, "projects", &out->projects);
    rc = rc ? rc : tam_txn_count(txn, "ledger", &out->ledger);
    rc = rc ? rc : tam_txn_count(txn, "context", &out->contexts);
    return rc;
}

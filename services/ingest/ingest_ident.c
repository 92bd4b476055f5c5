/* ingest_ident.c — what lets a need keep its id across revisions: identity
 * keys, the content digest that recognises an older revision sent again, the
 * need list of each reply, and the migration of a store written before needs
 * had versions (schema 1). The layout is described in ingest.h. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "tam/error.h"
#include "tam/log.h"

void tam_ingest_buf_init(tam_ingest_buf_t *b, tam_arena_t *a, size_t cap)
{
    b->a = a;
    b->size = 0;
    b->oom = false;
    b->data = cap ? tam_arena_alloc(a, cap) : NULL;
    b->alloc = b->data ? cap : 0;
}

int tam_ingest_buf_write(void *data, const char *buf, size_t len)
{
    tam_ingest_buf_t *b = data;
    if (b->alloc - b->size < len) {
        /* Grow by doubling; the old block stays in the arena until its reset. */
        size_t cap = b->alloc ? 2 * b->alloc : 1024;
        while (cap - b->size < len)
            cap *= 2;
        char *p = tam_arena_alloc(b->a, cap);
        if (!p) {
            b->oom = true;
            return -1;
        }
        if (b->size)
            memcpy(p, b->data, b->size);
        b->data = p;
        b->alloc = cap;
    }
    memcpy(b->data + b->size, buf, len);
    b->size += len;
    return 0;
}

/* SHA-256 of data[0..len) into out. OpenSSL's, which uses the CPU's SHA
 * instructions (libsodium's portable code took 12 % of tam-ingest's CPU);
 * the digest is the same. The algorithm is fetched once. Returns 0;
 * TAM_EINTERNAL. */
static int s_sha256(const void *data, size_t len, uint8_t out[32])
{
    static EVP_MD *md;
    if (!md && !(md = EVP_MD_fetch(NULL, "SHA256", NULL)))
        return TAM_EINTERNAL;
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, md, NULL) == 1 && n == 32 ? 0 : TAM_EINTERNAL;
}

int tam_ingest_digest_in(const tam_reply_t *r, tam_arena_t *a, uint8_t out[32])
{
    tam_ingest_buf_t b;
    msgpack_packer pk;
    tam_codec_err_t cerr;
    tam_ingest_buf_init(&b, a, 4096);
    msgpack_packer_init(&pk, &b, tam_ingest_buf_write);
    int rc = tam_encode(&tam_schema_reply, r, &pk, &cerr);
    if (rc || b.oom)
        return rc == TAM_ENOMEM || b.oom ? TAM_ENOMEM : TAM_EINTERNAL;
    return s_sha256(b.data, b.size, out);
}

int tam_ingest_digest(const tam_reply_t *r, uint8_t out[32])
{
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    int rc = tam_encode_sbuf(&tam_schema_reply, r, &sb, &cerr);
    if (rc)
        return rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
    rc = s_sha256(sb.data, sb.size, out);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

size_t tam_ingest_chain(uint8_t *out, const char *respondent, const char *category)
{
    size_t n = strlen(respondent);
    memcpy(out, respondent, n);
    out[n] = 0;
    out[n + 1] = (uint8_t)category[0];
    out[n + 2] = 0;
    return n + 3;
}

/* Appends s (at most max bytes) to out at *at. */
static void s_put(uint8_t *out, size_t *at, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        n = max;
    memcpy(out + *at, s, n);
    *at += n;
}

size_t tam_ingest_ident(uint8_t *out, const char *respondent, const char *category,
                        const char *country, const char *standard, const char *modality,
                        const char *ref, bool by_ref)
{
    /* 64 + 3 + 1 + 3 + 1 + 64 (ref) or 32 + 1 + 32: well inside the maximum. */
    size_t at = tam_ingest_chain(out, respondent, category);
    out[at++] = by_ref ? 'r' : 'k';
    s_put(out, &at, country, 3);
    out[at++] = '/';
    if (by_ref) {
        s_put(out, &at, ref, 64);
        return at;
    }
    s_put(out, &at, standard, 32);
    out[at++] = '/';
    s_put(out, &at, modality, 32);
    return at;
}

/* ---- bodies ------------------------------------------------------------------ */

/* The key of chunk k of reply id's body: the id alone for chunk 0. */
static size_t s_body_key(uint8_t key[10], uint64_t id, unsigned k)
{
    tam_key_u64(key, id);
    if (!k)
        return 8;
    key[8] = (uint8_t)(k >> 8);
    key[9] = (uint8_t)k;
    return 10;
}

int tam_ingest_body_put(tam_txn_t *txn, uint64_t id, const void *body, size_t len, bool append)
{
    size_t n = len <= TAM_INGEST_BODY_CHUNK ? 1 : (len + TAM_INGEST_BODY_CHUNK - 1) / TAM_INGEST_BODY_CHUNK;
    if (n > 65535)
        return TAM_ETOOBIG;
    size_t each = (len + n - 1) / n, at = 0;
    int rc = 0;
    for (unsigned k = 0; k < n && !rc; k++) {
        uint8_t key[10];
        size_t part = len - at < each ? len - at : each;
        rc = tam_txn_put(txn, "bodies", key, s_body_key(key, id, k), (const uint8_t *)body + at,
                         part, append ? TAM_PUT_APPEND : 0);
        at += part;
    }
    return rc;
}

typedef struct {
    tam_val_t part[8]; /* the first chunks; more are joined as they come */
    size_t n, len;
    tam_arena_t *a;
    char *joined;      /* chunks 8 and on make the body be joined as it is read */
    size_t cap;
} s_body_t;

static int s_body_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_body_t *b = arg;
    if ((key->len != 8 && key->len != 10) || (key->len == 8) != (b->n == 0))
        return TAM_ESTORE;
    if (b->n < 8) {
        b->part[b->n++] = *val;
        b->len += val->len;
        return 0;
    }
    if (!b->joined) { /* copy the first eight, then go on appending */
        b->cap = 2 * (b->len + val->len);
        if (!(b->joined = tam_arena_alloc(b->a, b->cap)))
            return TAM_ENOMEM;
        size_t at = 0;
        for (size_t i = 0; i < b->n; i++) {
            memcpy(b->joined + at, b->part[i].data, b->part[i].len);
            at += b->part[i].len;
        }
    }
    if (b->cap - b->len < val->len) {
        size_t cap = 2 * (b->len + val->len);
        char *p = tam_arena_alloc(b->a, cap);
        if (!p)
            return TAM_ENOMEM;
        memcpy(p, b->joined, b->len);
        b->joined = p;
        b->cap = cap;
    }
    memcpy(b->joined + b->len, val->data, val->len);
    b->len += val->len;
    b->n++;
    return 0;
}

int tam_ingest_body_get(tam_txn_t *txn, uint64_t id, tam_arena_t *a, const void **body,
                        size_t *len)
{
    uint8_t key[8];
    s_body_t b = {.a = a};
    tam_key_u64(key, id);
    int rc = tam_txn_scan(txn, "bodies", key, 8, NULL, 0, s_body_fn, &b);
    if (rc)
        return rc;
    if (!b.n)
        return TAM_ENOTFOUND;
    if (b.n == 1) {
        *body = b.part[0].data;
        *len = b.part[0].len;
        return 0;
    }
    if (!b.joined) {
        if (!(b.joined = tam_arena_alloc(a, b.len ? b.len : 1)))
            return TAM_ENOMEM;
        size_t at = 0;
        for (size_t i = 0; i < b.n; i++) {
            memcpy(b.joined + at, b.part[i].data, b.part[i].len);
            at += b.part[i].len;
        }
    }
    *body = b.joined;
    *len = b.len;
    return 0;
}

/* ---- the need list of a reply ---------------------------------------------- */

int tam_ingest_reply_needs_put_in(tam_txn_t *txn, tam_arena_t *a, uint64_t reply_id,
                                  const uint64_t *ids, const uint32_t *versions, uint32_t n)
{
    tam_arena_t *own = a ? NULL : tam_arena_new(0);
    if (!a && !(a = own))
        return TAM_ENOMEM;
    tam_ingest_buf_t b;
    msgpack_packer pk;
    tam_ingest_buf_init(&b, a, 16 + 14 * (size_t)n);
    msgpack_packer_init(&pk, &b, tam_ingest_buf_write);
    int bad = msgpack_pack_array(&pk, 2 * (size_t)n);
    for (uint32_t i = 0; i < n && !bad; i++)
        bad = msgpack_pack_uint64(&pk, ids[i]) || msgpack_pack_uint32(&pk, versions[i]);
    uint8_t key[8];
    tam_key_u64(key, reply_id);
    int rc = bad || b.oom ? TAM_ENOMEM : tam_txn_put(txn, "rneeds", key, 8, b.data, b.size, 0);
    tam_arena_destroy(&own);
    return rc;
}

int tam_ingest_reply_needs_put(tam_txn_t *txn, uint64_t reply_id, const uint64_t *ids,
                               const uint32_t *versions, uint32_t n)
{
    return tam_ingest_reply_needs_put_in(txn, NULL, reply_id, ids, versions, n);
}

int tam_ingest_reply_needs(tam_txn_t *txn, uint64_t reply_id, tam_arena_t *a, uint64_t **ids,
                           uint32_t **versions, uint32_t *n)
{
    uint8_t key[8];
    tam_val_t v;
    tam_key_u64(key, reply_id);
    *n = 0;
    *ids = NULL;
    *versions = NULL;
    int rc = tam_txn_get(txn, "rneeds", key, 8, &v);
    if (rc)
        return rc;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    rc = TAM_ESTORE;
    if (tam_mp_check(v.data, v.len, &TAM_MP_LIMITS_DEFAULT, NULL) ||
        msgpack_unpack_next(&up, v.data, v.len, &off) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size % 2)
        goto done;
    uint32_t k = up.data.via.array.size / 2;
    const msgpack_object *o = up.data.via.array.ptr;
    if (k) {
        rc = TAM_ENOMEM;
        if (!(*ids = tam_arena_alloc(a, k * sizeof **ids)) ||
            !(*versions = tam_arena_alloc(a, k * sizeof **versions)))
            goto done;
    }
    rc = TAM_ESTORE;
    for (uint32_t i = 0; i < k; i++) {
        if (o[2 * i].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            o[2 * i + 1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            o[2 * i + 1].via.u64 > UINT32_MAX)
            goto done;
        (*ids)[i] = o[2 * i].via.u64;
        (*versions)[i] = (uint32_t)o[2 * i + 1].via.u64;
    }
    *n = k;
    rc = 0;
done:
    msgpack_unpacked_destroy(&up);
    if (rc == TAM_ESTORE)
        tam_error("ingest: stored need list of reply %llu does not decode",
                  (unsigned long long)reply_id);
    return rc;
}

/* ---- migration from schema 1 ------------------------------------------------- */

typedef struct {
    tam_txn_t *txn;
    tam_arena_t *a;
    size_t replies, needs;
} s_mig_t;

/* One reply of schema 1: its needs had consecutive ids from first_need, each
 * at version 1. Writes its need list, its digest and the identities of its
 * needs (replies come in id order, so the latest declaration of an identity
 * wins). */
static int s_mig_reply(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_mig_t *m = arg;
    tam_codec_err_t cerr;
    tam_reply_info_t info;
    tam_reply_t r;
    tam_val_t body;
    if (key->len != 8)
        return TAM_ESTORE;
    tam_arena_reset(m->a);
    memset(&info, 0, sizeof info);
    memset(&r, 0, sizeof r);
    uint64_t id = tam_key_get_u64(key->data);
    if (tam_decode(&tam_schema_reply_info, val->data, val->len, m->a, &info, &cerr)) {
        tam_error("ingest: migration: reply %llu does not decode: %s: %s",
                  (unsigned long long)id, cerr.path, cerr.message);
        return TAM_ESTORE;
    }
    int rc = tam_txn_get(m->txn, "bodies", key->data, 8, &body);
    if (rc)
        return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
    if (tam_decode(&tam_schema_reply, body.data, body.len, m->a, &r, &cerr) ||
        r.needs.n != (uint32_t)info.needs) {
        tam_error("ingest: migration: the body of reply %llu does not decode",
                  (unsigned long long)id);
        return TAM_ESTORE;
    }
    uint32_t n = r.needs.n;
    uint64_t *ids = n ? tam_arena_alloc(m->a, n * sizeof *ids) : NULL;
    uint32_t *vers = n ? tam_arena_alloc(m->a, n * sizeof *vers) : NULL;
    if (n && (!ids || !vers))
        return TAM_ENOMEM;
    uint8_t ik[TAM_INGEST_IDENT_MAX], nk[8];
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = info.first_need + i;
        vers[i] = 1;
        const tam_need_in_t *in = &r.needs.v[i];
        size_t il = tam_ingest_ident(ik, info.respondent, info.category, in->country,
                                     in->standard, in->modality, NULL, false);
        tam_key_u64(nk, ids[i]);
        if ((rc = tam_txn_put(m->txn, "idents", ik, il, nk, 8, 0)))
            return rc;
    }
    if ((rc = tam_ingest_reply_needs_put(m->txn, id, ids, vers, n)))
        return rc;
    uint8_t dk[64 + 3 + 32];
    size_t dl = tam_ingest_chain(dk, info.respondent, info.category);
    tam_key_u64(nk, id);
    if ((rc = tam_ingest_digest(&r, dk + dl)) ||
        (rc = tam_txn_put(m->txn, "digests", dk, dl + 32, nk, 8, 0)))
        return rc;
    m->replies++;
    m->needs += n;
    return rc;
}

int tam_ingest_migrate_v1_v2(tam_txn_t *txn)
{
    s_mig_t m = {txn, tam_arena_new(0), 0, 0};
    if (!m.a)
        return TAM_ENOMEM;
    int rc = tam_txn_scan(txn, "replies", NULL, 0, NULL, 0, s_mig_reply, &m);
    tam_arena_destroy(&m.a);
    if (rc == 0)
        tam_notice("ingest: migrated %zu replies and their %zu needs to schema version 2 "
                   "(needs keep their ids across revisions from now on)",
                   m.replies, m.needs);
    return rc;
}

/* ---- migration from schema 2 ------------------------------------------------- */

typedef struct {
    tam_txn_t *txn;
    uint8_t (*keys)[12]; /* versions records that repeat their need's latest */
    size_t n, cap;
    int rc;
} s_v3_t;

static int s_v3_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)val;
    s_v3_t *m = arg;
    if (key->len != 12)
        return TAM_ESTORE;
    const uint8_t *k = key->data;
    uint32_t ver = (uint32_t)k[8] << 24 | (uint32_t)k[9] << 16 | (uint32_t)k[10] << 8 | k[11];
    tam_val_t nv;
    int rc = tam_txn_get(m->txn, "needs", k, 8, &nv);
    if (rc)
        return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
    /* The latest version number: the need record's "version" (absent: 1). */
    tam_arena_t *a = tam_arena_new(0);
    tam_need_t n;
    tam_codec_err_t cerr;
    memset(&n, 0, sizeof n);
    rc = a && tam_decode(&tam_schema_need, nv.data, nv.len, a, &n, &cerr) == 0 ? 0 : TAM_ESTORE;
    uint32_t latest = n.version > 0 ? (uint32_t)n.version : 1;
    tam_arena_destroy(&a);
    if (rc)
        return rc;
    if (ver != latest)
        return 0;
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        void *p = realloc(m->keys, cap * sizeof *m->keys);
        if (!p)
            return TAM_ENOMEM;
        m->keys = p;
        m->cap = cap;
    }
    memcpy(m->keys[m->n++], k, 12);
    return 0;
}

typedef struct {
    uint64_t *ids; /* replies whose body is one record longer than a chunk */
    size_t n, cap;
} s_big_t;

static int s_big_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_big_t *b = arg;
    if (key->len != 8 || val->len <= TAM_INGEST_BODY_CHUNK)
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        void *p = realloc(b->ids, cap * sizeof *b->ids);
        if (!p)
            return TAM_ENOMEM;
        b->ids = p;
        b->cap = cap;
    }
    b->ids[b->n++] = tam_key_get_u64(key->data);
    return 0;
}

/* Cuts the bodies longer than a chunk into chunks (schema 3). */
static int s_v3_bodies(tam_txn_t *txn, size_t *cut)
{
    s_big_t b = {0};
    int rc = tam_txn_scan(txn, "bodies", NULL, 0, NULL, 0, s_big_fn, &b);
    tam_arena_t *a = rc ? NULL : tam_arena_new(0);
    if (!rc && !a)
        rc = TAM_ENOMEM;
    for (size_t i = 0; i < b.n && !rc; i++) {
        uint8_t key[8];
        tam_val_t v;
        tam_key_u64(key, b.ids[i]);
        tam_arena_reset(a);
        void *copy = NULL;
        if ((rc = tam_txn_get(txn, "bodies", key, 8, &v)))
            break;
        size_t len = v.len;
        if (!(copy = tam_arena_alloc(a, len))) {
            rc = TAM_ENOMEM;
            break;
        }
        memcpy(copy, v.data, len); /* the value lasts only until the next write */
        if ((rc = tam_txn_del(txn, "bodies", key, 8)) == 0)
            rc = tam_ingest_body_put(txn, b.ids[i], copy, len, false);
    }
    tam_arena_destroy(&a);
    free(b.ids);
    *cut = b.n;
    return rc;
}

int tam_ingest_migrate_v2_v3(tam_txn_t *txn, size_t *dropped)
{
    s_v3_t m = {.txn = txn};
    size_t cut = 0;
    /* Collected first, deleted after: no deletes under the scan's cursor. */
    int rc = tam_txn_scan(txn, "versions", NULL, 0, NULL, 0, s_v3_fn, &m);
    for (size_t i = 0; i < m.n && !rc; i++)
        rc = tam_txn_del(txn, "versions", m.keys[i], 12);
    free(m.keys);
    if (rc == 0)
        rc = s_v3_bodies(txn, &cut);
    if (rc == 0) {
        tam_notice("ingest: migrated to schema version 3: %zu latest versions left the history "
                   "(they stay in needs), %zu replies longer than %d bytes stored in chunks",
                   m.n, cut, TAM_INGEST_BODY_CHUNK);
        if (dropped)
            *dropped = m.n;
    }
    return rc;
}

int tam_ingest_migrate(tam_txn_t *txn, uint32_t from, void *arg)
{
    (void)arg;
    if (from < 1 || from >= TAM_INGEST_SCHEMA_VERSION)
        return TAM_ECONFIG;
    int rc = 0;
    if (from <= 1)
        rc = tam_ingest_migrate_v1_v2(txn);
    if (rc == 0 && from <= 2)
        rc = tam_ingest_migrate_v2_v3(txn, NULL);
    return rc;
}

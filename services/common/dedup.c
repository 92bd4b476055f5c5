/* dedup.c — age entries and pruning of the duplicate-detection table, and
 * dated request ids (see tam/dedup.h and docs/storage.md). */
#include <string.h>

#include "tam/dedup.h"
#include "tam/error.h"
#include "tam/log.h"

#define S_AGE_PREFIX "\0\0" /* no answer key starts so: a type is never empty */
#define S_AGE_PLEN 2
#define S_AGE_KEY_MAX 512
#define S_INDEXED_CTR "dedup_age_index" /* 1 once every answer has an age entry */
#define S_ID_HEX 11

static int s_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool tam_dedup_id_time(const char *id, int64_t *ms)
{
    if (!id || id[0] != 't' || strlen(id) < 2 + S_ID_HEX || id[1 + S_ID_HEX] != '-')
        return false;
    int64_t v = 0;
    for (int i = 1; i <= S_ID_HEX; i++) {
        int h = s_hex(id[i]);
        if (h < 0)
            return false;
        v = v << 4 | h;
    }
    if (ms)
        *ms = v;
    return true;
}

void tam_dedup_id_make(char *out, int64_t ms, const uint8_t rnd[10])
{
    static const char hex[] = "0123456789abcdef";
    out[0] = 't';
    for (int i = S_ID_HEX; i >= 1; i--, ms >>= 4)
        out[i] = hex[ms & 15];
    out[1 + S_ID_HEX] = '-';
    char *p = out + 2 + S_ID_HEX;
    for (int i = 0; i < 10; i++) {
        *p++ = hex[rnd[i] >> 4];
        *p++ = hex[rnd[i] & 15];
    }
    *p = 0;
}

int tam_dedup_check(const char *id, int64_t now_ms, int64_t retention_ms)
{
    int64_t t;
    if (!tam_dedup_id_time(id, &t))
        return 0;
    if (t < now_ms - retention_ms)
        return TAM_EEXPIRED;
    if (t > now_ms + retention_ms)
        return TAM_ERANGE;
    return 0;
}

/* "\0\0" + 8-byte big-endian time + key; returns its length (0: too long). */
static size_t s_age_key(uint8_t *out, int64_t ms, const void *key, size_t klen)
{
    if (S_AGE_PLEN + 8 + klen > S_AGE_KEY_MAX)
        return 0;
    memcpy(out, S_AGE_PREFIX, S_AGE_PLEN);
    tam_key_u64(out + S_AGE_PLEN, ms < 0 ? 0 : (uint64_t)ms);
    memcpy(out + S_AGE_PLEN + 8, key, klen);
    return S_AGE_PLEN + 8 + klen;
}

int tam_dedup_put(tam_txn_t *txn, const char *db, const void *key, size_t klen, const char *id,
                  const void *val, size_t vlen, int64_t now_ms)
{
    uint8_t age[S_AGE_KEY_MAX];
    int64_t t;
    if (tam_dedup_id_time(id, &t) && t > now_ms)
        now_ms = t;
    size_t alen = s_age_key(age, now_ms, key, klen);
    if (!alen)
        return TAM_EINVAL;
    int rc = tam_txn_put(txn, db, key, klen, val, vlen, TAM_PUT_NOOVERWRITE);
    return rc ? rc : tam_txn_put(txn, db, age, alen, "", 0, 0);
}

typedef struct {
    tam_txn_t *txn;
    const char *db;
    int64_t now, cutoff;
    size_t max, n;
    bool more;
    uint8_t key[S_AGE_KEY_MAX]; /* the next age entry to delete (copied out of the map) */
    size_t klen;
} s_prune_t;

/* Finds the oldest age entry; stops at once (the delete happens outside the
 * cursor, so the scan restarts for each). */
static int s_oldest(const tam_val_t *k, const tam_val_t *v, void *arg)
{
    s_prune_t *p = arg;
    (void)v;
    if (k->len < S_AGE_PLEN + 8 || k->len > S_AGE_KEY_MAX)
        return TAM_ESTORE;
    if ((int64_t)tam_key_get_u64((const uint8_t *)k->data + S_AGE_PLEN) >= p->cutoff)
        return 1;
    memcpy(p->key, k->data, k->len);
    p->klen = k->len;
    return 1;
}

/* Gives an age entry at now to an answer written before age entries existed. */
static int s_index_one(const tam_val_t *k, const tam_val_t *v, void *arg)
{
    s_prune_t *p = arg;
    (void)v;
    if (k->len >= S_AGE_PLEN && memcmp(k->data, S_AGE_PREFIX, S_AGE_PLEN) == 0)
        return 0;
    uint8_t *key = (uint8_t *)p->key;
    size_t alen = s_age_key(key, p->now, k->data, k->len);
    if (!alen)
        return 0;
    /* Putting while a cursor walks the same db is safe in LMDB for other
     * keys; the age entries sort before every answer key. */
    int rc = tam_txn_put(p->txn, p->db, key, alen, "", 0, 0);
    if (rc)
        return rc;
    p->n++;
    return 0;
}

static int s_prune_fn(tam_txn_t *txn, void *arg)
{
    s_prune_t *p = arg;
    p->txn = txn;
    p->n = 0;
    p->more = false;
    uint64_t indexed = 0;
    int rc = tam_txn_counter_get(txn, S_INDEXED_CTR, &indexed);
    if (rc)
        return rc;
    if (!indexed) {
        if ((rc = tam_txn_scan(txn, p->db, NULL, 0, NULL, 0, s_index_one, p)) ||
            (rc = tam_txn_counter_next(txn, S_INDEXED_CTR, NULL)))
            return rc;
        if (p->n)
            tam_notice("dedup: %zu stored answer(s) given an age entry at the current time", p->n);
        p->n = 0;
    }
    for (;;) {
        p->klen = 0;
        rc = tam_txn_scan(txn, p->db, S_AGE_PREFIX, S_AGE_PLEN, NULL, 0, s_oldest, p);
        if (rc)
            return rc;
        if (!p->klen)
            return 0;
        if (p->n == p->max) {
            p->more = true;
            return 0;
        }
        size_t hdr = S_AGE_PLEN + 8;
        if (p->klen > hdr) {
            rc = tam_txn_del(txn, p->db, p->key + hdr, p->klen - hdr);
            if (rc && rc != TAM_ENOTFOUND)
                return rc;
        }
        if ((rc = tam_txn_del(txn, p->db, p->key, p->klen)))
            return rc;
        p->n++;
    }
}

int tam_dedup_prune(tam_store_t *s, const char *db, int64_t now_ms, int64_t retention_ms,
                    size_t max, size_t *pruned, bool *more)
{
    s_prune_t p = {.db = db, .now = now_ms, .cutoff = now_ms - retention_ms, .max = max};
    if (!s || !db || retention_ms <= 0 || max == 0)
        return TAM_EINVAL;
    int rc = tam_store_write(s, s_prune_fn, &p);
    if (pruned)
        *pruned = rc ? 0 : p.n;
    if (more)
        *more = !rc && p.more;
    return rc;
}

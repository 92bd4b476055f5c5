/* store_txn.c — what a transaction does: get, put, delete, scans, counts and
 * the meta database's counters. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tam/error.h"
#include "tam/log.h"
#include "store_int.h"

static int s_dbi(const tam_txn_t *t, const char *db, MDB_dbi *out)
{
    if (!db)
        return TAM_EINVAL;
    for (size_t i = 0; i < t->s->ndbs; i++)
        if (strcmp(t->s->names[i], db) == 0) {
            *out = t->s->dbis[i];
            return 0;
        }
    return TAM_EUNKNOWN;
}

static int s_key_ok(const tam_store_t *s, const void *key, size_t klen)
{
    return key && klen > 0 && klen <= s->maxkey ? 0 : TAM_EINVAL;
}

void tam_key_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)(v & 0xff);
}

uint64_t tam_key_get_u64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}
int tam_txn_get(tam_txn_t *t, const char *db, const void *key, size_t klen, tam_val_t *out)
{
    MDB_dbi dbi;
    int ret = tam_store__txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (!out || s_key_ok(t->s, key, klen))
        return TAM_EINVAL;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(t->txn, dbi, &k, &v);
    if (rc)
        return tam_store__txn_err(t, "mdb_get", rc);
    *out = (tam_val_t){v.mv_data, v.mv_size};
    return 0;
}

static int s_put(tam_txn_t *t, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                 size_t vlen, unsigned mflags)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(t->txn, dbi, &k, &v, mflags);
    if (rc == MDB_KEYEXIST && (mflags & MDB_APPEND) && !(mflags & MDB_NOOVERWRITE))
        return TAM_EINVAL; /* appended key not greater than the last one */
    if (rc)
        return tam_store__txn_err(t, "mdb_put", rc);
    t->writes++;
    return 0;
}

int tam_txn_put(tam_txn_t *t, const char *db, const void *key, size_t klen, const void *val,
                size_t vlen, unsigned flags)
{
    MDB_dbi dbi;
    int ret = tam_store__txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (t->rdonly || s_key_ok(t->s, key, klen) || (!val && vlen) ||
        (flags & ~(unsigned)(TAM_PUT_NOOVERWRITE | TAM_PUT_APPEND)))
        return TAM_EINVAL;
    unsigned mflags = (flags & TAM_PUT_NOOVERWRITE ? MDB_NOOVERWRITE : 0) |
                      (flags & TAM_PUT_APPEND ? MDB_APPEND : 0);
    return s_put(t, dbi, key, klen, val ? val : "", vlen, mflags);
}

int tam_txn_del(tam_txn_t *t, const char *db, const void *key, size_t klen)
{
    MDB_dbi dbi;
    int ret = tam_store__txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (t->rdonly || s_key_ok(t->s, key, klen))
        return TAM_EINVAL;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(t->txn, dbi, &k, NULL);
    if (rc)
        return tam_store__txn_err(t, "mdb_del", rc);
    t->writes++;
    return 0;
}

static bool s_has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
    return plen == 0 || (k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0);
}

/* Lexicographic order of LMDB's default comparator. */
static int s_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Runs the scan loop from the cursor's current record (rc from positioning). */
static int s_scan_loop(tam_txn_t *t, MDB_cursor *c, int rc, MDB_val *k, MDB_val *v,
                       MDB_cursor_op step, const void *prefix, size_t plen, tam_scan_fn fn,
                       void *arg)
{
    while (rc == 0 && s_has_prefix(k, prefix, plen)) {
        tam_val_t tk = {k->mv_data, k->mv_size}, tv = {v->mv_data, v->mv_size};
        int r = fn(&tk, &tv, arg);
        if (r < 0)
            return r;
        if (r > 0)
            return 0;
        rc = mdb_cursor_get(c, k, v, step);
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : tam_store__txn_err(t, "mdb_cursor_get", rc);
}

static int s_scan_args(tam_txn_t *t, const char *db, const void *prefix, size_t plen,
                       tam_scan_fn fn, MDB_dbi *dbi)
{
    int ret = tam_store__txn_ok(t);
    if (ret || (ret = s_dbi(t, db, dbi)))
        return ret;
    if (!fn || (plen && !prefix) || plen > t->s->maxkey)
        return TAM_EINVAL;
    return 0;
}

int tam_txn_scan(tam_txn_t *t, const char *db, const void *prefix, size_t plen,
                 const void *start, size_t slen, tam_scan_fn fn, void *arg)
{
    MDB_dbi dbi;
    MDB_cursor *c = NULL;
    int ret = s_scan_args(t, db, prefix, plen, fn, &dbi);
    if (ret)
        return ret;
    if ((slen && !start) || slen > t->s->maxkey)
        return TAM_EINVAL;
    /* Begin at the greater of start and prefix. */
    if (!start || !slen || (plen && s_keycmp(start, slen, prefix, plen) < 0)) {
        start = prefix;
        slen = plen;
    }
    int rc = mdb_cursor_open(t->txn, dbi, &c);
    if (rc)
        return tam_store__txn_err(t, "mdb_cursor_open", rc);
    MDB_val k = {slen, (void *)start}, v;
    rc = mdb_cursor_get(c, &k, &v, slen ? MDB_SET_RANGE : MDB_FIRST);
    ret = s_scan_loop(t, c, rc, &k, &v, MDB_NEXT, prefix, plen, fn, arg);
    mdb_cursor_close(c);
    return ret;
}

int tam_txn_scan_rev(tam_txn_t *t, const char *db, const void *prefix, size_t plen,
                     tam_scan_fn fn, void *arg)
{
    MDB_dbi dbi;
    MDB_cursor *c = NULL;
    uint8_t succ[512];
    int ret = s_scan_args(t, db, prefix, plen, fn, &dbi);
    if (ret)
        return ret;
    /* The first key after the prefix range: the prefix without its trailing
     * 0xff bytes, last byte + 1. None if the prefix is empty or all 0xff. */
    size_t n = plen;
    if (plen)
        memcpy(succ, prefix, plen);
    while (n > 0 && succ[n - 1] == 0xff)
        n--;
    int rc = mdb_cursor_open(t->txn, dbi, &c);
    if (rc)
        return tam_store__txn_err(t, "mdb_cursor_open", rc);
    MDB_val k, v;
    if (n > 0) {
        succ[n - 1]++;
        k = (MDB_val){n, succ};
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == 0)
            rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        else if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    } else {
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    }
    ret = s_scan_loop(t, c, rc, &k, &v, MDB_PREV, prefix, plen, fn, arg);
    mdb_cursor_close(c);
    return ret;
}

int tam_txn_count(tam_txn_t *t, const char *db, size_t *n)
{
    MDB_dbi dbi;
    MDB_stat st;
    int ret = tam_store__txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (!n)
        return TAM_EINVAL;
    int rc = mdb_stat(t->txn, dbi, &st);
    if (rc)
        return tam_store__txn_err(t, "mdb_stat", rc);
    *n = st.ms_entries;
    return 0;
}

/* Builds "ctr:<name>" in buf; returns its length or 0 if the name is bad. */
static size_t s_ctr_key(const tam_store_t *s, const char *name, char *buf, size_t cap)
{
    if (!name || !name[0])
        return 0;
    int n = snprintf(buf, cap, S_CTR_PREFIX "%s", name);
    return n > 0 && (size_t)n < cap && (size_t)n <= s->maxkey ? (size_t)n : 0;
}

int tam_txn_counter_get(tam_txn_t *t, const char *name, uint64_t *out)
{
    char key[512];
    int ret = tam_store__txn_ok(t);
    if (ret)
        return ret;
    size_t klen = s_ctr_key(t->s, name, key, sizeof key);
    if (!klen || !out)
        return TAM_EINVAL;
    MDB_val k = {klen, key}, v;
    int rc = mdb_get(t->txn, t->s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return tam_store__txn_err(t, "mdb_get", rc);
    if (v.mv_size != 8) {
        tam_error("store %s: counter %s is malformed (%zu bytes)", t->s->path, name, v.mv_size);
        return TAM_ESTORE;
    }
    *out = tam_key_get_u64(v.mv_data);
    return 0;
}

int tam_txn_counter_next(tam_txn_t *t, const char *name, uint64_t *out)
{
    char key[512];
    uint64_t cur = 0;
    uint8_t val[8];
    if (t && t->rdonly)
        return TAM_EINVAL;
    int ret = tam_txn_counter_get(t, name, &cur);
    if (ret)
        return ret;
    if (cur == UINT64_MAX)
        return TAM_ERANGE;
    size_t klen = s_ctr_key(t->s, name, key, sizeof key);
    tam_key_u64(val, cur + 1);
    if ((ret = s_put(t, t->s->meta, key, klen, val, sizeof val, 0)))
        return ret;
    if (out)
        *out = cur + 1;
    return 0;
}

/* test_store.c — tam/store.h against a real LMDB environment in a fresh
 * temporary directory per test; failures of mdb_put / mdb_txn_commit are
 * injected by link-time wrapping. No test uses TAM_STORE_NOSYNC: every test
 * commits a handful of transactions, so durable commits cost little. */
// LINK: -Wl,--wrap=mdb_put,--wrap=mdb_txn_commit
#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/error.h"
#include "tam/store.h"

/* ---- failure injection ------------------------------------------------- */

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __real_mdb_txn_commit(MDB_txn *txn);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __wrap_mdb_txn_commit(MDB_txn *txn);

/* The Nth call from now (1 = the next) fails once with the given code. */
static int g_put_in, g_put_rc, g_commit_in, g_commit_rc;
static int g_commit_again; /* then fail the next one too */

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    if (g_put_in > 0 && --g_put_in == 0)
        return g_put_rc;
    return __real_mdb_put(txn, dbi, key, data, flags);
}

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
    if (g_commit_in > 0 && --g_commit_in == 0) {
        mdb_txn_abort(txn); /* a failed commit frees the txn, as LMDB's does */
        if (g_commit_again) {
            g_commit_again = 0;
            g_commit_in = 1;
        }
        return g_commit_rc;
    }
    return __real_mdb_txn_commit(txn);
}

/* ---- fixture ----------------------------------------------------------- */

static const char *const g_dbs[] = {"recs", "other", NULL};

typedef struct {
    char dir[64];
    tam_store_opts_t opts;
    tam_store_t *s;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    f->opts = (tam_store_opts_t){.path = f->dir, .dbs = g_dbs, .schema_version = 3};
    g_put_in = g_commit_in = 0;
    *state = f;
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tam_store_close(&f->s);
    int rc = nftw(f->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

static void s_open(fixture_t *f)
{
    assert_int_equal(tam_store_open(&f->s, &f->opts), 0);
    assert_non_null(f->s);
}

/* ---- helpers ----------------------------------------------------------- */

typedef struct {
    const char *key;
    const char *val;
} kv_t;

static int s_put_kvs(tam_txn_t *txn, void *arg)
{
    for (const kv_t *kv = arg; kv->key; kv++) {
        int rc = tam_txn_put(txn, "recs", kv->key, strlen(kv->key), kv->val, strlen(kv->val), 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* Appends each visited key to a text, bytes outside 0x21..0x7e as ~hh. */
typedef struct {
    char text[512];
    int calls;
    int stop_after; /* return 1 at this call (0: never) */
    int fail_at;    /* return TAM_ECONFLICT at this call (0: never) */
} visit_t;

static int s_visit(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    visit_t *v = arg;
    (void)val;
    v->calls++;
    if (v->fail_at && v->calls == v->fail_at)
        return TAM_ECONFLICT;
    size_t n = strlen(v->text);
    if (n)
        n += (size_t)snprintf(v->text + n, sizeof v->text - n, "|");
    const unsigned char *k = key->data;
    for (size_t i = 0; i < key->len && n < sizeof v->text - 4; i++) {
        if (k[i] > 0x20 && k[i] < 0x7f)
            v->text[n++] = (char)k[i], v->text[n] = 0;
        else
            n += (size_t)snprintf(v->text + n, sizeof v->text - n, "~%02x", k[i]);
    }
    return v->stop_after && v->calls == v->stop_after ? 1 : 0;
}

typedef struct {
    const char *prefix, *start;
    size_t plen, slen;
    bool rev;
    visit_t v;
    int rc;
} scan_t;

static int s_scan_fn(tam_txn_t *txn, void *arg)
{
    scan_t *sc = arg;
    if (sc->rev)
        sc->rc = tam_txn_scan_rev(txn, "recs", sc->prefix, sc->plen, s_visit, &sc->v);
    else
        sc->rc = tam_txn_scan(txn, "recs", sc->prefix, sc->plen, sc->start, sc->slen, s_visit,
                              &sc->v);
    return 0;
}

/* Scans recs and returns the visited keys as text. */
static const char *s_scan(fixture_t *f, scan_t *sc, const char *prefix, size_t plen,
                          const char *start, bool rev)
{
    sc->prefix = prefix;
    sc->plen = plen;
    sc->start = start;
    sc->slen = start ? strlen(start) : 0;
    sc->rev = rev;
    assert_int_equal(tam_store_read(f->s, s_scan_fn, sc), 0);
    return sc->v.text;
}

static int s_count_fn(tam_txn_t *txn, void *arg)
{
    return tam_txn_count(txn, "recs", arg);
}

static size_t s_count(fixture_t *f)
{
    size_t n = 99999;
    assert_int_equal(tam_store_read(f->s, s_count_fn, &n), 0);
    return n;
}

static int s_ctr_get_fn(tam_txn_t *txn, void *arg)
{
    return tam_txn_counter_get(txn, "seq", arg);
}

static uint64_t s_ctr(fixture_t *f)
{
    uint64_t v = 99999;
    assert_int_equal(tam_store_read(f->s, s_ctr_get_fn, &v), 0);
    return v;
}

/* Writes n records keyed by big-endian 0..n-1 with value size vlen, after
 * taking one number from counter "seq"; counts its runs; fails with
 * fail_rc after fail_after puts if set; ignores put errors if told. */
typedef struct {
    unsigned n;
    size_t vlen;
    int runs;
    unsigned fail_after;
    int fail_rc;
    bool ignore_errors;
} batch_t;

static void s_fill(uint8_t *buf, size_t len, unsigned i)
{
    for (size_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(i * 31 + j);
}

static int s_batch_fn(tam_txn_t *txn, void *arg)
{
    batch_t *b = arg;
    uint8_t key[8], *val = malloc(b->vlen ? b->vlen : 1);
    uint64_t seq;
    int rc = TAM_ENOMEM;
    b->runs++;
    if (!val)
        return rc;
    if ((rc = tam_txn_counter_next(txn, "seq", &seq)) && !b->ignore_errors)
        goto done;
    for (unsigned i = 0; i < b->n; i++) {
        if (b->fail_after && i == b->fail_after) {
            rc = b->fail_rc;
            goto done;
        }
        tam_key_u64(key, i);
        s_fill(val, b->vlen, i);
        rc = tam_txn_put(txn, "recs", key, sizeof key, val, b->vlen, TAM_PUT_APPEND);
        if (rc && !b->ignore_errors)
            goto done;
    }
    rc = 0;
done:
    free(val);
    return rc;
}

/* Checks that recs holds exactly records 0..n-1 of value size vlen. */
typedef struct {
    unsigned next;
    size_t vlen;
    int bad;
} check_t;

static int s_check_visit(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    check_t *c = arg;
    uint8_t want[4096];
    if (key->len != 8 || tam_key_get_u64(key->data) != c->next || val->len != c->vlen ||
        c->vlen > sizeof want)
        return c->bad = 1;
    s_fill(want, c->vlen, c->next);
    if (memcmp(val->data, want, c->vlen) != 0)
        return c->bad = 1;
    c->next++;
    return 0;
}

static int s_check_fn(tam_txn_t *txn, void *arg)
{
    return tam_txn_scan(txn, "recs", NULL, 0, NULL, 0, s_check_visit, arg);
}

static void s_check_records(fixture_t *f, unsigned n, size_t vlen)
{
    check_t c = {.vlen = vlen};
    assert_int_equal(tam_store_read(f->s, s_check_fn, &c), 0);
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.next, n);
    assert_int_equal(s_count(f), n);
}

/* ---- open and options -------------------------------------------------- */

static void test_open_bad_options(void **state)
{
    fixture_t *f = *state;
    tam_store_t *s = (tam_store_t *)1;
    tam_store_opts_t o = f->opts;
    const char *const with_meta[] = {"recs", "meta", NULL};
    const char *const dup[] = {"recs", "recs", NULL};
    const char *const empty[] = {"", NULL};

    assert_int_equal(tam_store_open(&s, NULL), TAM_EINVAL);
    assert_null(s);
    o.path = NULL;
    assert_int_equal(tam_store_open(&s, &o), TAM_EINVAL);
    o = f->opts, o.dbs = with_meta;
    assert_int_equal(tam_store_open(&s, &o), TAM_EINVAL);
    o.dbs = dup;
    assert_int_equal(tam_store_open(&s, &o), TAM_EINVAL);
    o.dbs = empty;
    assert_int_equal(tam_store_open(&s, &o), TAM_EINVAL);
    o = f->opts, o.map_size = 1 << 20, o.map_max = 1 << 19;
    assert_int_equal(tam_store_open(&s, &o), TAM_EINVAL);
    o = f->opts, o.map_size = 4096;
    assert_int_equal(tam_store_open(&s, &o), TAM_EINVAL);
    o = f->opts, o.flags = 1u << 7;
    assert_int_equal(tam_store_open(&s, &o), TAM_EINVAL);
    assert_null(s);

    /* A path below a regular file cannot be created. */
    char file[96], below[128];
    snprintf(file, sizeof file, "%s/file", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(below, sizeof below, "%s/sub", file);
    o = f->opts, o.path = below;
    assert_int_equal(tam_store_open(&s, &o), TAM_EIO);
    assert_null(s);
    remove(file);
}

static void test_open_creates_nested_dir(void **state)
{
    fixture_t *f = *state;
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/a/b", f->dir);
    f->opts.path = path;
    s_open(f);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(tam_store_map_size(f->s), (size_t)64 << 20);
    assert_int_equal(tam_store_grow_count(f->s), 0);
    assert_int_equal(tam_store_stale_cleared(f->s), 0);
    assert_false(tam_store_failed(f->s));
    tam_store_close(&f->s);
    assert_null(f->s);
    tam_store_close(&f->s); /* closing NULL is harmless */
}

/* ---- put / get / del --------------------------------------------------- */

typedef struct {
    int put, put_again, noover, append_low, append_high, unknown, meta, empty_key, long_key,
        max_key, get, get_missing, del, del_again, get_deleted, long_get;
    char val[16];
} pgd_t;

static int s_pgd_fn(tam_txn_t *txn, void *arg)
{
    pgd_t *r = arg;
    char big[600];
    tam_val_t v;
    memset(big, 'k', sizeof big);
    r->put = tam_txn_put(txn, "recs", "k2", 2, "one", 3, 0);
    r->put_again = tam_txn_put(txn, "recs", "k2", 2, "two", 3, 0);
    r->noover = tam_txn_put(txn, "recs", "k2", 2, "three", 5, TAM_PUT_NOOVERWRITE);
    r->append_low = tam_txn_put(txn, "recs", "k1", 2, "x", 1, TAM_PUT_APPEND);
    r->append_high = tam_txn_put(txn, "recs", "k3", 2, "x", 1, TAM_PUT_APPEND);
    r->unknown = tam_txn_put(txn, "nope", "k", 1, "x", 1, 0);
    r->meta = tam_txn_put(txn, "meta", "k", 1, "x", 1, 0);
    r->empty_key = tam_txn_put(txn, "recs", "", 0, "x", 1, 0);
    r->long_key = tam_txn_put(txn, "recs", big, 512, "x", 1, 0);
    r->max_key = tam_txn_put(txn, "other", big, 511, "", 0, 0);
    r->long_get = tam_txn_get(txn, "recs", big, 512, &v);
    r->get = tam_txn_get(txn, "recs", "k2", 2, &v);
    if (r->get == 0 && v.len < sizeof r->val)
        memcpy(r->val, v.data, v.len);
    r->get_missing = tam_txn_get(txn, "recs", "zz", 2, &v);
    r->del = tam_txn_del(txn, "recs", "k3", 2);
    r->del_again = tam_txn_del(txn, "recs", "k3", 2);
    r->get_deleted = tam_txn_get(txn, "recs", "k3", 2, &v);
    return 0;
}

typedef struct {
    int put, del, next, get;
    char val[16];
} ro_t;

static int s_ro_fn(tam_txn_t *txn, void *arg)
{
    ro_t *r = arg;
    tam_val_t v;
    uint64_t n;
    r->put = tam_txn_put(txn, "recs", "k9", 2, "x", 1, 0);
    r->del = tam_txn_del(txn, "recs", "k2", 2);
    r->next = tam_txn_counter_next(txn, "seq", &n);
    r->get = tam_txn_get(txn, "recs", "k2", 2, &v);
    if (r->get == 0 && v.len < sizeof r->val)
        memcpy(r->val, v.data, v.len);
    return 0;
}

static void test_put_get_del(void **state)
{
    fixture_t *f = *state;
    pgd_t r = {0};
    ro_t ro = {0};
    s_open(f);
    assert_int_equal(tam_store_write(f->s, s_pgd_fn, &r), 0);
    assert_int_equal(r.put, 0);
    assert_int_equal(r.put_again, 0);
    assert_int_equal(r.noover, TAM_EEXISTS);
    assert_int_equal(r.append_low, TAM_EINVAL);
    assert_int_equal(r.append_high, 0);
    assert_int_equal(r.unknown, TAM_EUNKNOWN);
    assert_int_equal(r.meta, TAM_EUNKNOWN);
    assert_int_equal(r.empty_key, TAM_EINVAL);
    assert_int_equal(r.long_key, TAM_EINVAL);
    assert_int_equal(r.max_key, 0);
    assert_int_equal(r.long_get, TAM_EINVAL);
    assert_int_equal(r.get, 0);
    assert_string_equal(r.val, "two");
    assert_int_equal(r.get_missing, TAM_ENOTFOUND);
    assert_int_equal(r.del, 0);
    assert_int_equal(r.del_again, TAM_ENOTFOUND);
    assert_int_equal(r.get_deleted, TAM_ENOTFOUND);
    assert_int_equal(s_count(f), 1);

    /* A read transaction refuses every write and still reads. */
    assert_int_equal(tam_store_read(f->s, s_ro_fn, &ro), 0);
    assert_int_equal(ro.put, TAM_EINVAL);
    assert_int_equal(ro.del, TAM_EINVAL);
    assert_int_equal(ro.next, TAM_EINVAL);
    assert_int_equal(ro.get, 0);
    assert_string_equal(ro.val, "two");
    assert_int_equal(s_count(f), 1);
}

static int s_fail_fn(tam_txn_t *txn, void *arg)
{
    (void)arg;
    tam_txn_put(txn, "recs", "gone", 4, "x", 1, 0);
    return TAM_ECONFLICT;
}

static int s_nested_write_fn(tam_txn_t *txn, void *arg)
{
    (void)txn;
    return tam_store_write(arg, s_fail_fn, NULL);
}

static void test_write_errors(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    assert_int_equal(tam_store_write(f->s, s_fail_fn, NULL), TAM_ECONFLICT);
    assert_int_equal(s_count(f), 0);
    assert_int_equal(tam_store_write(f->s, NULL, NULL), TAM_EINVAL);
    assert_int_equal(tam_store_write(NULL, s_fail_fn, NULL), TAM_EINVAL);
    /* Writes cannot nest in a write or a read. */
    assert_int_equal(tam_store_write(f->s, s_nested_write_fn, f->s), TAM_ESTATE);
    assert_int_equal(tam_store_read(f->s, s_nested_write_fn, f->s), TAM_ESTATE);
    assert_int_equal(s_count(f), 0);
}

/* ---- scans ------------------------------------------------------------- */

static const kv_t g_scan_kvs[] = {
    {"a:1", "1"}, {"a:2", "2"}, {"a:3", "3"}, {"a\xff", "4"}, {"a\xff\x01", "5"}, {"b:1", "6"},
    {"b:2", "7"}, {"c", "8"}, {"\xff\x01", "9"}, {"\xff\xff", "10"}, {NULL, NULL},
};

static void s_load_scan(fixture_t *f)
{
    s_open(f);
    assert_int_equal(tam_store_write(f->s, s_put_kvs, (void *)g_scan_kvs), 0);
}

/* "\xff\xff\x00" has an embedded NUL: put apart from the strings. */
static int s_put_ff00(tam_txn_t *txn, void *arg)
{
    (void)arg;
    return tam_txn_put(txn, "recs", "\xff\xff\x00", 3, "11", 2, 0);
}

static void test_scan_forward(void **state)
{
    fixture_t *f = *state;
    s_load_scan(f);
    assert_int_equal(tam_store_write(f->s, s_put_ff00, NULL), 0);
    assert_int_equal(s_count(f), 11);
    scan_t sc;

    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, NULL, 0, NULL, false),
                        "a:1|a:2|a:3|a~ff|a~ff~01|b:1|b:2|c|~ff~01|~ff~ff|~ff~ff~00");
    assert_int_equal(sc.rc, 0);
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a:", 2, NULL, false), "a:1|a:2|a:3");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a:", 2, "a:2", false), "a:2|a:3");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a:", 2, "a:25", false), "a:3");
    /* A start below the prefix begins at the prefix; above it, nothing. */
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "b:", 2, "a", false), "b:1|b:2");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a:", 2, "b", false), "");
    assert_int_equal(sc.v.calls, 0);
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, NULL, 0, "b:2", false), "b:2|c|~ff~01|~ff~ff|~ff~ff~00");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "\xff\xff", 2, NULL, false), "~ff~ff|~ff~ff~00");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "zz", 2, NULL, false), "");
    assert_int_equal(sc.rc, 0);

    /* The callback stops the scan (1) or fails it (its code). */
    sc = (scan_t){.v.stop_after = 2};
    assert_string_equal(s_scan(f, &sc, NULL, 0, NULL, false), "a:1|a:2");
    assert_int_equal(sc.rc, 0);
    assert_int_equal(sc.v.calls, 2);
    sc = (scan_t){.v.fail_at = 3};
    s_scan(f, &sc, NULL, 0, NULL, false);
    assert_int_equal(sc.rc, TAM_ECONFLICT);
    assert_int_equal(sc.v.calls, 3);
}

typedef struct {
    int unknown, no_fn, long_prefix, null_prefix;
} scan_err_t;

static int s_scan_err_fn(tam_txn_t *txn, void *arg)
{
    scan_err_t *r = arg;
    char big[600] = {0};
    visit_t v = {0};
    r->unknown = tam_txn_scan(txn, "nope", NULL, 0, NULL, 0, s_visit, &v);
    r->no_fn = tam_txn_scan_rev(txn, "recs", NULL, 0, NULL, NULL);
    r->long_prefix = tam_txn_scan(txn, "recs", big, 512, NULL, 0, s_visit, &v);
    r->null_prefix = tam_txn_scan_rev(txn, "recs", NULL, 3, s_visit, &v);
    return v.calls;
}

static void test_scan_reverse(void **state)
{
    fixture_t *f = *state;
    s_load_scan(f);
    assert_int_equal(tam_store_write(f->s, s_put_ff00, NULL), 0);
    scan_t sc;

    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, NULL, 0, NULL, true),
                        "~ff~ff~00|~ff~ff|~ff~01|c|b:2|b:1|a~ff~01|a~ff|a:3|a:2|a:1");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a:", 2, NULL, true), "a:3|a:2|a:1");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "b:", 2, NULL, true), "b:2|b:1");
    /* A prefix ending in 0xff: the range ends before "b". */
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a\xff", 2, NULL, true), "a~ff~01|a~ff");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a", 1, NULL, true), "a~ff~01|a~ff|a:3|a:2|a:1");
    /* All-0xff prefixes have no successor: start from the last key. */
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "\xff", 1, NULL, true), "~ff~ff~00|~ff~ff|~ff~01");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "\xff\xff", 2, NULL, true), "~ff~ff~00|~ff~ff");
    /* A prefix sorting after every key but the 0xff ones; one that matches nothing. */
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "c", 1, NULL, true), "c");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "zz", 2, NULL, true), "");
    assert_int_equal(sc.rc, 0);
    sc = (scan_t){.v.stop_after = 1};
    assert_string_equal(s_scan(f, &sc, "a:", 2, NULL, true), "a:3");
    sc = (scan_t){.v.fail_at = 2};
    s_scan(f, &sc, "a:", 2, NULL, true);
    assert_int_equal(sc.rc, TAM_ECONFLICT);

    scan_err_t r;
    assert_int_equal(tam_store_read(f->s, s_scan_err_fn, &r), 0);
    assert_int_equal(r.unknown, TAM_EUNKNOWN);
    assert_int_equal(r.no_fn, TAM_EINVAL);
    assert_int_equal(r.long_prefix, TAM_EINVAL);
    assert_int_equal(r.null_prefix, TAM_EINVAL);
}

static void test_scan_empty_db(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    scan_t sc = {0};
    assert_string_equal(s_scan(f, &sc, NULL, 0, NULL, false), "");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, NULL, 0, NULL, true), "");
    sc = (scan_t){0};
    assert_string_equal(s_scan(f, &sc, "a", 1, NULL, true), "");
    assert_int_equal(sc.rc, 0);
    assert_int_equal(s_count(f), 0);
}

/* ---- counters ---------------------------------------------------------- */

typedef struct {
    uint64_t got[3];
    int bad_name, null_name;
    bool fail;
} ctr_t;

static int s_ctr_fn(tam_txn_t *txn, void *arg)
{
    ctr_t *c = arg;
    int rc;
    for (int i = 0; i < 3; i++)
        if ((rc = tam_txn_counter_next(txn, "seq", &c->got[i])))
            return rc;
    c->bad_name = tam_txn_counter_next(txn, "", &c->got[0]);
    c->null_name = tam_txn_counter_get(txn, NULL, &c->got[0]);
    if (c->fail) {
        tam_txn_put(txn, "recs", "k", 1, "v", 1, 0);
        return TAM_ECONFLICT;
    }
    return 0;
}

static int s_other_ctr_fn(tam_txn_t *txn, void *arg)
{
    return tam_txn_counter_get(txn, "other", arg);
}

static void test_counters(void **state)
{
    fixture_t *f = *state;
    ctr_t c = {0};
    uint64_t other = 99;
    s_open(f);
    assert_int_equal(s_ctr(f), 0);
    assert_int_equal(tam_store_write(f->s, s_ctr_fn, &c), 0);
    assert_int_equal(c.got[0], 1);
    assert_int_equal(c.got[1], 2);
    assert_int_equal(c.got[2], 3);
    assert_int_equal(c.bad_name, TAM_EINVAL);
    assert_int_equal(c.null_name, TAM_EINVAL);
    assert_int_equal(s_ctr(f), 3);

    /* A failing fn rolls the counter back together with its writes. */
    c = (ctr_t){.fail = true};
    assert_int_equal(tam_store_write(f->s, s_ctr_fn, &c), TAM_ECONFLICT);
    assert_int_equal(c.got[2], 6);
    assert_int_equal(s_ctr(f), 3);
    assert_int_equal(s_count(f), 0);

    c = (ctr_t){0};
    assert_int_equal(tam_store_write(f->s, s_ctr_fn, &c), 0);
    assert_int_equal(c.got[0], 4);
    assert_int_equal(s_ctr(f), 6);
    assert_int_equal(tam_store_read(f->s, s_other_ctr_fn, &other), 0);
    assert_int_equal(other, 0);

    uint8_t k[8];
    tam_key_u64(k, 0x0102030405060708ull);
    assert_memory_equal(k, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(tam_key_get_u64(k) == 0x0102030405060708ull);
    tam_key_u64(k, UINT64_MAX);
    assert_true(tam_key_get_u64(k) == UINT64_MAX);
}

/* ---- group commit ------------------------------------------------------ */

static void test_group_commit(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    batch_t b = {.n = 1000, .vlen = 100};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    assert_int_equal(b.runs, 1);
    s_check_records(f, 1000, 100);
    assert_int_equal(s_ctr(f), 1);

    /* An error after 999 puts leaves nothing of the second batch. */
    tam_store_close(&f->s);
    nftw(f->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    s_open(f);
    b = (batch_t){.n = 1000, .vlen = 100, .fail_after = 999, .fail_rc = TAM_ECONFLICT};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_ECONFLICT);
    assert_int_equal(s_count(f), 0);
    assert_int_equal(s_ctr(f), 0);
}

/* ---- map growth, real -------------------------------------------------- */

static void test_map_grows(void **state)
{
    fixture_t *f = *state;
    f->opts.map_size = 64 << 10;
    s_open(f);
    assert_int_equal(tam_store_map_size(f->s), 64 << 10);
    batch_t b = {.n = 1000, .vlen = 3000}; /* ~3 MB in one transaction */
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    assert_true(tam_store_grow_count(f->s) > 0);
    assert_true(b.runs > 1);
    assert_int_equal(b.runs, (int)tam_store_grow_count(f->s) + 1);
    assert_true(tam_store_map_size(f->s) >= (size_t)3 << 20);
    s_check_records(f, 1000, 3000);
    assert_int_equal(s_ctr(f), 1);

    /* Reopened with the small configured size, the map still covers the file. */
    size_t grown = tam_store_map_size(f->s);
    tam_store_close(&f->s);
    s_open(f);
    assert_true(tam_store_map_size(f->s) >= (size_t)3 << 20);
    assert_true(tam_store_map_size(f->s) <= grown);
    s_check_records(f, 1000, 3000);
}

static void test_map_full_at_cap(void **state)
{
    fixture_t *f = *state;
    f->opts.map_size = 64 << 10;
    f->opts.map_max = 256 << 10;
    s_open(f);
    batch_t b = {.n = 400, .vlen = 3000}; /* ~1.2 MB: more than the cap */
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_EMAPFULL);
    assert_int_equal(tam_store_map_size(f->s), 256 << 10);
    assert_int_equal(tam_store_grow_count(f->s), 2);
    assert_int_equal(b.runs, 3);
    assert_false(tam_store_failed(f->s));
    assert_int_equal(s_count(f), 0);
    assert_int_equal(s_ctr(f), 0);

    /* The store keeps working for what fits. */
    b = (batch_t){.n = 10, .vlen = 100};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    s_check_records(f, 10, 100);
}

/* ---- injected failures ------------------------------------------------- */

static void test_inject_commit_map_full(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    size_t map = tam_store_map_size(f->s);
    batch_t b = {.n = 50, .vlen = 10};
    g_commit_in = 1, g_commit_rc = MDB_MAP_FULL;
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    assert_int_equal(g_commit_in, 0);
    assert_int_equal(b.runs, 2);
    assert_int_equal(tam_store_grow_count(f->s), 1);
    assert_int_equal(tam_store_map_size(f->s), 2 * map);
    s_check_records(f, 50, 10); /* once, no duplicates */
    assert_int_equal(s_ctr(f), 1);
}

static void test_inject_put_map_full(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    batch_t b = {.n = 50, .vlen = 10};
    g_put_in = 20, g_put_rc = MDB_MAP_FULL; /* counter put + 19 records, then full */
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    assert_int_equal(g_put_in, 0);
    assert_int_equal(b.runs, 2);
    assert_int_equal(tam_store_grow_count(f->s), 1);
    s_check_records(f, 50, 10);
    assert_int_equal(s_ctr(f), 1);
}

/* The store notices map-full even when fn swallows the error. */
static void test_inject_put_map_full_ignored(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    batch_t b = {.n = 50, .vlen = 10, .ignore_errors = true};
    g_put_in = 5, g_put_rc = MDB_MAP_FULL;
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    assert_int_equal(b.runs, 2);
    assert_int_equal(tam_store_grow_count(f->s), 1);
    s_check_records(f, 50, 10);
    assert_int_equal(s_ctr(f), 1);
}

static void test_inject_map_full_at_cap(void **state)
{
    fixture_t *f = *state;
    f->opts.map_size = f->opts.map_max = 1 << 20;
    s_open(f);
    batch_t b = {.n = 50, .vlen = 10};
    g_commit_in = 1, g_commit_rc = MDB_MAP_FULL;
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_EMAPFULL);
    assert_int_equal(b.runs, 1);
    assert_int_equal(tam_store_grow_count(f->s), 0);
    assert_int_equal(s_count(f), 0);
    assert_int_equal(s_ctr(f), 0);
}

static void test_inject_txn_full_and_swallowed_error(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    batch_t b = {.n = 50, .vlen = 10};
    g_put_in = 3, g_put_rc = MDB_TXN_FULL;
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_ETOOBIG);
    assert_int_equal(b.runs, 1);
    assert_int_equal(s_count(f), 0);

    /* fn ignores a failed put and returns 0: the store refuses to commit. */
    b = (batch_t){.n = 50, .vlen = 10, .ignore_errors = true};
    g_put_in = 3, g_put_rc = ENOMEM;
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_ESTORE);
    assert_int_equal(s_count(f), 0);
    assert_int_equal(s_ctr(f), 0);

    /* A non-fatal commit error (disk full) writes nothing, the store goes on. */
    b = (batch_t){.n = 50, .vlen = 10};
    g_commit_in = 1, g_commit_rc = ENOSPC;
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_EDISKFULL);
    assert_false(tam_store_failed(f->s));
    assert_int_equal(s_count(f), 0);
    b = (batch_t){.n = 50, .vlen = 10};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    s_check_records(f, 50, 10);
}

static void s_check_fatal_commit(fixture_t *f, int code)
{
    s_open(f);
    batch_t b = {.n = 50, .vlen = 10};
    g_commit_in = 1, g_commit_rc = code;
    if (code == EIO) {
        /* with space left an EIO is tried once more: the write goes through */
        assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
        assert_int_equal(b.runs, 2);
        assert_false(tam_store_failed(f->s));
        assert_int_equal(s_count(f), 50);
        tam_store_close(&f->s);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -f '%s'/*.mdb", f->dir);
        assert_int_equal(system(cmd), 0);
        s_open(f);
        /* two in a row: fatal */
        b = (batch_t){.n = 50, .vlen = 10};
        g_commit_in = 1;
        g_commit_rc = code;
        g_commit_again = 1;
    }
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_EFATAL);
    assert_true(tam_store_failed(f->s));
    assert_int_equal(b.runs, code == EIO ? 2 : 1);
    /* Every later call is refused without touching LMDB. */
    b = (batch_t){.n = 1, .vlen = 1};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_EFATAL);
    assert_int_equal(b.runs, 0);
    size_t n = 0;
    assert_int_equal(tam_store_read(f->s, s_count_fn, &n), TAM_EFATAL);
    /* A restart (reopen) finds nothing of the failed transaction. */
    tam_store_close(&f->s);
    s_open(f);
    assert_false(tam_store_failed(f->s));
    assert_int_equal(s_count(f), 0);
}

static void test_inject_commit_panic(void **state)
{
    s_check_fatal_commit(*state, MDB_PANIC);
}

static void test_inject_commit_eio(void **state)
{
    s_check_fatal_commit(*state, EIO);
}

static void test_inject_put_panic(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    batch_t b = {.n = 50, .vlen = 10, .ignore_errors = true};
    g_put_in = 2, g_put_rc = MDB_PANIC;
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_EFATAL);
    assert_true(tam_store_failed(f->s));
    assert_int_equal(tam_store_read(f->s, s_count_fn, &(size_t){0}), TAM_EFATAL);
}

/* ---- reopen, schema, read-only, stale readers --------------------------- */

static void test_reopen(void **state)
{
    fixture_t *f = *state;
    s_open(f);
    batch_t b = {.n = 20, .vlen = 50};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    tam_store_close(&f->s);

    s_open(f);
    assert_int_equal(tam_store_stale_cleared(f->s), 0);
    s_check_records(f, 20, 50);
    assert_int_equal(s_ctr(f), 1);
    ctr_t c = {0};
    assert_int_equal(tam_store_write(f->s, s_ctr_fn, &c), 0);
    assert_int_equal(c.got[0], 2);
    tam_store_close(&f->s);

    /* Another schema version is refused. */
    tam_store_t *s = NULL;
    f->opts.schema_version = 4;
    assert_int_equal(tam_store_open(&s, &f->opts), TAM_ECONFIG);
    assert_null(s);
    f->opts.schema_version = 3;

    /* Read-only: reads work, writes are refused. */
    f->opts.flags = TAM_STORE_RDONLY;
    s_open(f);
    s_check_records(f, 20, 50);
    assert_int_equal(s_ctr(f), 4);
    b = (batch_t){.n = 1, .vlen = 1};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), TAM_EINVAL);
    assert_int_equal(b.runs, 0);
    tam_store_close(&f->s);

    /* Read-only on a directory with no environment fails cleanly. */
    char empty[96];
    snprintf(empty, sizeof empty, "%s/empty", f->dir);
    assert_int_equal(mkdir(empty, 0700), 0);
    f->opts.path = empty;
    assert_int_equal(tam_store_open(&s, &f->opts), TAM_EIO);
    assert_null(s);
}

static int s_hang_fn(tam_txn_t *txn, void *arg)
{
    (void)txn;
    int fd = *(int *)arg;
    if (write(fd, "R", 1) != 1)
        _exit(3);
    for (;;)
        pause(); /* holds the read transaction until SIGKILL */
}

/* Waits (poll, 10 s) for one byte on fd. */
static bool s_wait_byte(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, 10000) == 1 && read(fd, &c, 1) == 1;
}

static void test_stale_reader_cleared(void **state)
{
    fixture_t *f = *state;
    int ready[2], hold[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(hold), 0);
    /* Create the environment, then close it: no env may cross fork. */
    s_open(f);
    tam_store_close(&f->s);

    /* A holder keeps the environment open: otherwise the next opener would
     * be alone, and LMDB resets the whole reader table, hiding the check. */
    pid_t holder = fork();
    assert_true(holder >= 0);
    if (holder == 0) {
        tam_store_t *s = NULL;
        char c;
        close(hold[1]);
        if (tam_store_open(&s, &f->opts) || write(ready[1], "H", 1) != 1)
            _exit(2);
        while (read(hold[0], &c, 1) > 0)
            ;
        tam_store_close(&s);
        _exit(0);
    }
    close(hold[0]);
    assert_true(s_wait_byte(ready[0]));

    pid_t reader = fork();
    assert_true(reader >= 0);
    if (reader == 0) {
        tam_store_t *s = NULL;
        if (tam_store_open(&s, &f->opts))
            _exit(2);
        tam_store_read(s, s_hang_fn, &ready[1]);
        _exit(4);
    }
    bool got = s_wait_byte(ready[0]);
    kill(reader, SIGKILL);
    int st = 0;
    assert_int_equal(waitpid(reader, &st, 0), reader);
    assert_true(got);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    s_open(f);
    assert_int_equal(tam_store_stale_cleared(f->s), 1);
    batch_t b = {.n = 10, .vlen = 10};
    assert_int_equal(tam_store_write(f->s, s_batch_fn, &b), 0);
    s_check_records(f, 10, 10);

    close(hold[1]); /* lets the holder close and exit */
    assert_int_equal(waitpid(holder, &st, 0), holder);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(ready[0]);
    close(ready[1]);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_bad_options),
        T(test_open_creates_nested_dir),
        T(test_put_get_del),
        T(test_write_errors),
        T(test_scan_forward),
        T(test_scan_reverse),
        T(test_scan_empty_db),
        T(test_counters),
        T(test_group_commit),
        T(test_map_grows),
        T(test_map_full_at_cap),
        T(test_inject_commit_map_full),
        T(test_inject_put_map_full),
        T(test_inject_put_map_full_ignored),
        T(test_inject_map_full_at_cap),
        T(test_inject_txn_full_and_swallowed_error),
        T(test_inject_commit_panic),
        T(test_inject_commit_eio),
        T(test_inject_put_panic),
        T(test_reopen),
        T(test_stale_reader_cleared),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_dedup.c — the duplicate-detection table is pruned by age: dated ids,
 * the expired/range checks, age entries for answers written before they
 * existed, and a week of simulated load (a fast clock: one write group per
 * simulated 10 minutes) during which the table and the file stay bounded. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "tam/dedup.h"
#include "tam/error.h"
#include "tam/rpc.h"
#include "tam/store.h"

#define DB "requests"
#define MIN_MS (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define T0 1796306993000LL /* 2026-12-03 */

static const char *const g_dbs[] = {DB, NULL};

typedef struct {
    char dir[64];
    char data[96];
    tam_store_t *s;
} fx_t;

static int s_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_dedup.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->data, sizeof fx->data, "%s/data.mdb", fx->dir);
    tam_store_opts_t o = {.path = fx->dir, .dbs = g_dbs, .schema_version = 1,
                          .map_size = 1 << 20, .flags = TAM_STORE_NOSYNC};
    if (tam_store_open(&fx->s, &o))
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    tam_store_close(&fx->s);
    nftw(fx->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void test_dated_ids(void **state)
{
    (void)state;
    char id[TAM_RPC_ID_MAX + 1];
    const uint8_t rnd[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 0xff};
    tam_dedup_id_make(id, T0, rnd);
    assert_string_equal(id + 12, "-000102030405060708ff");
    assert_true(tam_rpc_id_valid(id, strlen(id)));
    int64_t t = 0;
    assert_true(tam_dedup_id_time(id, &t));
    assert_int_equal(t, T0);
    /* other shapes are undated: never refused */
    assert_false(tam_dedup_id_time("r1", &t));
    assert_false(tam_dedup_id_time("t0123456789a", &t));        /* no '-' */
    assert_false(tam_dedup_id_time("t0123456789G-x", &t));      /* not hex */
    assert_false(tam_dedup_id_time("0123456789abcdef0123456789abcdef", &t));
    assert_int_equal(tam_dedup_check("r1", T0, DAY_MS), 0);
    assert_int_equal(tam_dedup_check(id, T0 + DAY_MS, DAY_MS), 0);
    assert_int_equal(tam_dedup_check(id, T0 + DAY_MS + 1, DAY_MS), TAM_EEXPIRED);
    assert_int_equal(tam_dedup_check(id, T0 - DAY_MS, DAY_MS), 0);
    assert_int_equal(tam_dedup_check(id, T0 - DAY_MS - 1, DAY_MS), TAM_ERANGE);
}

typedef struct {
    int64_t now;
    int from, n;
    bool dated;
} s_put_t;

static void s_key(char *key, size_t *klen, char *id, int i, bool dated, int64_t now)
{
    if (dated) {
        uint8_t rnd[10] = {0};
        memcpy(rnd, &i, sizeof i);
        tam_dedup_id_make(id, now, rnd);
    } else {
        snprintf(id, TAM_RPC_ID_MAX + 1, "req-%d", i);
    }
    /* as the service loop: principal \0 type \0 id */
    int n = snprintf(key, 160, "alice%ckv.put%c%s", 0, 0, id);
    *klen = (size_t)n;
}

static int s_put_fn(tam_txn_t *txn, void *arg)
{
    s_put_t *p = arg;
    char key[160], id[TAM_RPC_ID_MAX + 1], val[200];
    memset(val, 'a', sizeof val);
    for (int i = p->from; i < p->from + p->n; i++) {
        size_t klen;
        s_key(key, &klen, id, i, p->dated && i % 2 == 0, p->now);
        int rc = tam_dedup_put(txn, DB, key, klen, id, val, sizeof val, p->now);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_count_fn(tam_txn_t *txn, void *arg)
{
    return tam_txn_count(txn, DB, arg);
}

static size_t s_count(fx_t *fx)
{
    size_t n = 0;
    assert_int_equal(tam_store_read(fx->s, s_count_fn, &n), 0);
    return n;
}

static int s_get_fn(tam_txn_t *txn, void *arg)
{
    const char *const *k = arg;
    tam_val_t v;
    return tam_txn_get(txn, DB, k[0], (size_t)(uintptr_t)k[1], &v);
}

/* A week at 100 answers per simulated 10 minutes (14,400 a day), half of
 * them with dated ids, a retention of one day, a prune after each group as
 * the loop would: the table holds about one day, and the file stops growing
 * after the first day. Without pruning it would hold 100,800. */
static void test_week_bounded(void **state)
{
    fx_t *fx = *state;
    const int per = 100;
    const int64_t step = 10 * MIN_MS, retention = DAY_MS;
    int i = 0;
    off_t size_day2 = 0, size_max = 0;
    size_t count_max = 0, pruned_total = 0;
    for (int64_t now = T0; now < T0 + 7 * DAY_MS; now += step) {
        s_put_t p = {now, i, per, true};
        assert_int_equal(tam_store_write(fx->s, s_put_fn, &p), 0);
        i += per;
        bool more = true;
        while (more) {
            size_t n = 0;
            assert_int_equal(tam_dedup_prune(fx->s, DB, now, retention, TAM_DEDUP_PRUNE_BATCH,
                                             &n, &more),
                             0);
            pruned_total += n;
        }
        size_t c = s_count(fx) / 2; /* each answer has its age entry */
        if (c > count_max)
            count_max = c;
        struct stat st;
        assert_int_equal(stat(fx->data, &st), 0);
        if (now < T0 + 2 * DAY_MS)
            size_day2 = st.st_size;
        if (st.st_size > size_max)
            size_max = st.st_size;
    }
    /* one day of answers (plus the group of the current step), never more */
    size_t day = (size_t)(retention / step + 1) * (size_t)per;
    printf("week: %d answers written, %zu pruned, at most %zu kept (one day: %zu), "
           "file %lld bytes after day 2, at most %lld\n",
           i, pruned_total, count_max, day, (long long)size_day2, (long long)size_max);
    assert_true(count_max <= day);
    assert_int_equal(pruned_total + s_count(fx) / 2, (size_t)i);
    /* freed pages are reused: the file after a week within 25% of day 2's */
    assert_true(size_max <= size_day2 + size_day2 / 4);
}

/* Answers stored before age entries existed get one at the first prune (at
 * its time), and are pruned a retention later. */
static int s_legacy_fn(tam_txn_t *txn, void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "bob%ckv.put%cold-%d", 0, 0, i);
        int rc = tam_txn_put(txn, DB, key, (size_t)n, "x", 1, 0);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_legacy_answers(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(tam_store_write(fx->s, s_legacy_fn, NULL), 0);
    assert_int_equal(s_count(fx), 10);
    size_t n = 99;
    bool more = true;
    assert_int_equal(tam_dedup_prune(fx->s, DB, T0, DAY_MS, 4, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_false(more);
    assert_int_equal(s_count(fx), 20); /* each got its age entry */
    assert_int_equal(tam_dedup_prune(fx->s, DB, T0 + DAY_MS, DAY_MS, 4, &n, &more), 0);
    assert_int_equal(n, 0); /* exactly the retention: kept */
    /* a bounded number per call, oldest first */
    assert_int_equal(tam_dedup_prune(fx->s, DB, T0 + DAY_MS + 1, DAY_MS, 4, &n, &more), 0);
    assert_int_equal(n, 4);
    assert_true(more);
    assert_int_equal(s_count(fx), 12);
    assert_int_equal(tam_dedup_prune(fx->s, DB, T0 + DAY_MS + 1, DAY_MS, 100, &n, &more), 0);
    assert_int_equal(n, 6);
    assert_false(more);
    assert_int_equal(s_count(fx), 0);
}

/* An answer's age is the later of its storing and its id's date: a client
 * clock ahead keeps it longer, so that the expired check stays sound. */
static void test_age_is_later_time(void **state)
{
    fx_t *fx = *state;
    s_put_t p = {T0 + HOUR_MS, 0, 2, true}; /* id 0 dated T0+1h, id 1 undated */
    assert_int_equal(tam_store_write(fx->s, s_put_fn, &p), 0);
    char key[160], id[TAM_RPC_ID_MAX + 1];
    size_t klen;
    s_key(key, &klen, id, 0, true, T0 + HOUR_MS);
    size_t n;
    bool more;
    /* stored at T0 (earlier than the id's date) */
    assert_int_equal(tam_dedup_prune(fx->s, DB, T0 + DAY_MS + 1, DAY_MS, 100, &n, &more), 0);
    assert_int_equal(n, 0);
    const char *k[2] = {key, (const char *)(uintptr_t)klen};
    assert_int_equal(tam_store_read(fx->s, s_get_fn, k), 0);
    assert_int_equal(tam_dedup_prune(fx->s, DB, T0 + HOUR_MS + DAY_MS + 1, DAY_MS, 100, &n, &more),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(tam_store_read(fx->s, s_get_fn, k), TAM_ENOTFOUND);
    /* and a resend of it now is refused, never applied again */
    assert_int_equal(tam_dedup_check(id, T0 + HOUR_MS + DAY_MS + 1, DAY_MS), TAM_EEXPIRED);
    assert_int_equal(tam_dedup_prune(fx->s, DB, T0, 0, 100, &n, &more), TAM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dated_ids),
        cmocka_unit_test_setup_teardown(test_week_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_age_is_later_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

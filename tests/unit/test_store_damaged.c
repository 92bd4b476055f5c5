/* test_store_damaged.c — damaged and foreign data files are refused at open
 * with TAM_ECONFIG, never a crash (run under ASan too): truncated files,
 * every page zeroed in turn, 400 single flipped bytes, overwritten meta
 * pages, and another service's store. When a damaged copy still opens (the
 * damage hit a free page or the inside of a value), reading every record
 * must not crash either. */
#include <fcntl.h>
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
#include "tam/error.h"
#include "tam/store.h"

static const char *const g_dbs[] = {"a", "b", "c", NULL};

typedef struct {
    char dir[64], copy[80];
    char data[96], cdata[112];
    uint8_t *orig;
    size_t len;
} fx_t;

static int s_fill(tam_txn_t *txn, void *arg)
{
    (void)arg;
    uint8_t key[8], val[3000];
    for (uint64_t i = 0; i < 1500; i++) {
        tam_key_u64(key, i);
        memset(val, (int)i, sizeof val);
        const char *db = g_dbs[i % 3];
        size_t vlen = i % 50 == 0 ? sizeof val : 40 + i % 100; /* some overflow pages */
        int rc = tam_txn_put(txn, db, key, sizeof key, val, vlen, 0);
        if (rc)
            return rc;
    }
    return 0;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_damaged.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->copy, sizeof fx->copy, "%s/copy", fx->dir);
    snprintf(fx->data, sizeof fx->data, "%s/data.mdb", fx->dir);
    snprintf(fx->cdata, sizeof fx->cdata, "%s/data.mdb", fx->copy);
    mkdir(fx->copy, 0700);
    tam_store_opts_t o = {.path = fx->dir, .dbs = g_dbs, .schema_version = 1,
                          .service = "ingest", .flags = TAM_STORE_NOSYNC};
    tam_store_t *s = NULL;
    if (tam_store_open(&s, &o) || tam_store_write(s, s_fill, NULL))
        return -1;
    tam_store_close(&s);
    FILE *f = fopen(fx->data, "rb");
    fseek(f, 0, SEEK_END);
    fx->len = (size_t)ftell(f);
    rewind(f);
    fx->orig = malloc(fx->len);
    if (fread(fx->orig, 1, fx->len, f) != fx->len)
        return -1;
    fclose(f);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        return -1;
    free(fx->orig);
    free(fx);
    return 0;
}

/* Writes buf[0..len) as the copy's data.mdb (and no lock file). */
static void s_write_copy(fx_t *fx, const uint8_t *buf, size_t len)
{
    char lock[128];
    snprintf(lock, sizeof lock, "%s/lock.mdb", fx->copy);
    unlink(lock);
    FILE *f = fopen(fx->cdata, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static int s_count_one(const tam_val_t *k, const tam_val_t *v, void *arg)
{
    (void)k;
    size_t *n = arg;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < v->len; i++) /* touch every byte of the value */
        sink ^= ((const uint8_t *)v->data)[i];
    (void)sink;
    (*n)++;
    return 0;
}

static int s_read_all(tam_txn_t *txn, void *arg)
{
    for (int i = 0; g_dbs[i]; i++) {
        int rc = tam_txn_scan(txn, g_dbs[i], NULL, 0, NULL, 0, s_count_one, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* Opens the copy: refused (1), or opened and read through (0). */
static int s_open_copy(fx_t *fx, const char *service)
{
    tam_store_opts_t o = {.path = fx->copy, .dbs = g_dbs, .schema_version = 1,
                          .service = service, .flags = TAM_STORE_NOSYNC | TAM_STORE_RDONLY};
    tam_store_t *s = NULL;
    /* read-write, as a service opens it (the full page walk) */
    o.flags = TAM_STORE_NOSYNC;
    int rc = tam_store_open(&s, &o);
    if (rc) {
        assert_int_equal(rc, TAM_ECONFIG);
        assert_null(s);
        return 1;
    }
    size_t n = 0;
    tam_store_read(s, s_read_all, &n); /* may report an error; must not crash */
    tam_store_close(&s);
    return 0;
}

static void test_intact_and_foreign(void **state)
{
    fx_t *fx = *state;
    s_write_copy(fx, fx->orig, fx->len);
    assert_int_equal(s_open_copy(fx, "ingest"), 0);
    assert_int_equal(s_open_copy(fx, NULL), 0);
    /* another service's store */
    assert_int_equal(s_open_copy(fx, "registry"), 1);
}

static void test_truncated(void **state)
{
    fx_t *fx = *state;
    size_t cuts[] = {1, 100, 4096, 8192, 8193, fx->len / 2, fx->len - 4096, fx->len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        s_write_copy(fx, fx->orig, cuts[i]);
        if (!s_open_copy(fx, "ingest"))
            fail_msg("a copy cut to %zu of %zu bytes opened", cuts[i], fx->len);
    }
}

static void test_zeroed_pages(void **state)
{
    fx_t *fx = *state;
    size_t ps = 4096, pages = fx->len / ps, refused = 0;
    uint8_t *buf = malloc(fx->len);
    for (size_t p = 0; p < pages; p++) {
        memcpy(buf, fx->orig, fx->len);
        memset(buf + p * ps, 0, ps);
        s_write_copy(fx, buf, fx->len);
        refused += (size_t)s_open_copy(fx, "ingest");
    }
    printf("zeroed pages: %zu of %zu refused (the rest free pages)\n", refused, pages);
    /* both meta pages and most of the others are in use */
    assert_true(refused >= pages * 3 / 4);
    free(buf);
}

static void test_flipped_bytes(void **state)
{
    fx_t *fx = *state;
    uint8_t *buf = malloc(fx->len);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    size_t refused = 0, n = 400;
    for (size_t k = 0; k < n; k++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        memcpy(buf, fx->orig, fx->len);
        size_t at = (size_t)(rng % fx->len);
        buf[at] ^= (uint8_t)(1u << (rng >> 60 & 7));
        s_write_copy(fx, buf, fx->len);
        refused += (size_t)s_open_copy(fx, "ingest");
    }
    printf("flipped bytes: %zu of %zu copies refused, the others read through\n", refused, n);
    free(buf);
}

static void test_meta_overwritten(void **state)
{
    fx_t *fx = *state;
    uint8_t *buf = malloc(fx->len);
    for (int m = 0; m < 2; m++) {
        memcpy(buf, fx->orig, fx->len);
        memset(buf + m * 4096 + 16, 0x41, 8); /* magic and version */
        s_write_copy(fx, buf, fx->len);
        assert_int_equal(s_open_copy(fx, "ingest"), 1);
    }
    /* not a store at all */
    memset(buf, 'x', fx->len);
    s_write_copy(fx, buf, fx->len);
    assert_int_equal(s_open_copy(fx, "ingest"), 1);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_intact_and_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeroed_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_overwritten, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

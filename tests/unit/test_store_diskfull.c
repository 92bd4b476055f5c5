/* test_store_diskfull.c — a full disk is not corruption. On a 2 MiB tmpfs
 * (needs root, as in CI; skipped with a message otherwise) writes go on until
 * the disk is full: the failed write returns TAM_EDISKFULL (not fatal, the
 * store is not latched), nothing acknowledged is lost, reads go on, further
 * writes are refused the same way, and once space returns (the tmpfs grown)
 * writes succeed again without a reopen by the caller. tamctl exits 75
 * (EX_TEMPFAIL) on the disk_full answer. */
// LINK: -Wl,--wrap=mdb_txn_commit
#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/store.h"

static const char *const g_dbs[] = {"items", NULL};

/* Failure injection: LMDB reports a full disk as EIO on some file systems
 * (what the probe saw, 23 of 23 times): g_as_eio turns ENOSPC into EIO;
 * g_eio_next makes the next n commits fail with EIO (with space left). */
int __real_mdb_txn_commit(MDB_txn *txn);
static int g_as_eio, g_eio_next;

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
    if (g_eio_next > 0) {
        g_eio_next--;
        mdb_txn_abort(txn);
        return EIO;
    }
    int rc = __real_mdb_txn_commit(txn);
    return g_as_eio && rc == ENOSPC ? EIO : rc;
}

typedef struct {
    uint64_t i;
} s_w_t;

static int s_put_fn(tam_txn_t *txn, void *arg)
{
    s_w_t *w = arg;
    uint8_t key[8], val[8192];
    tam_key_u64(key, w->i);
    memset(val, (int)(w->i & 0xff), sizeof val);
    return tam_txn_put(txn, "items", key, sizeof key, val, sizeof val, TAM_PUT_APPEND);
}

typedef struct {
    uint64_t n;
    bool ok;
} s_check_t;

static int s_check_one(const tam_val_t *k, const tam_val_t *v, void *arg)
{
    s_check_t *c = arg;
    uint64_t i = tam_key_get_u64(k->data);
    if (i != c->n || v->len != 8192 || ((const uint8_t *)v->data)[8191] != (uint8_t)(i & 0xff))
        c->ok = false;
    c->n++;
    return 0;
}

static int s_check_fn(tam_txn_t *txn, void *arg)
{
    return tam_txn_scan(txn, "items", NULL, 0, NULL, 0, s_check_one, arg);
}

/* Every acknowledged record (0..n-1) is there, whole, and nothing else. */
static void s_all_there(tam_store_t *s, uint64_t n)
{
    s_check_t c = {0, true};
    assert_int_equal(tam_store_read(s, s_check_fn, &c), 0);
    assert_true(c.ok);
    assert_int_equal(c.n, n);
}

static void s_disk_full(bool as_eio)
{
    g_as_eio = as_eio;
    assert_int_equal(tam_cli_exit_code(TAM_EDISKFULL), EX_TEMPFAIL);
    char dir[64], data[96];
    snprintf(dir, sizeof dir, "/tmp/test_diskfull.XXXXXX");
    assert_non_null(mkdtemp(dir));
    if (mount("tmpfs", dir, "tmpfs", 0, "size=2m,mode=0700") != 0) {
        int e = errno;
        rmdir(dir);
        fprintf(stderr, "test_store_diskfull: SKIPPED: cannot mount a tmpfs (%s): run as root "
                        "(CI does) to test a full disk\n", strerror(e));
        skip();
    }
    snprintf(data, sizeof data, "%s/store", dir);
    tam_store_opts_t o = {.path = data, .dbs = g_dbs, .schema_version = 1, .map_size = 16 << 20};
    tam_store_t *s = NULL;
    assert_int_equal(tam_store_open(&s, &o), 0);

    s_w_t w = {0};
    int rc = 0;
    while (w.i < 10000 && (rc = tam_store_write(s, s_put_fn, &w)) == 0)
        w.i++;
    uint64_t acked = w.i;
    printf("disk full after %llu acknowledged writes of 8 KiB: %s\n", (unsigned long long)acked,
           tam_strerror(rc));
    assert_int_equal(rc, TAM_EDISKFULL);
    assert_true(acked > 50 && acked < 10000);
    assert_false(tam_store_failed(s));
    /* reads go on, with every acknowledged write */
    s_all_there(s, acked);
    /* writes still refused the same way, never fatal */
    for (int k = 0; k < 3; k++) {
        assert_int_equal(tam_store_write(s, s_put_fn, &w), TAM_EDISKFULL);
        assert_false(tam_store_failed(s));
    }
    s_all_there(s, acked);

    /* space returns: the next write succeeds, by itself */
    assert_int_equal(mount("tmpfs", dir, "tmpfs", MS_REMOUNT, "size=64m,mode=0700"), 0);
    assert_int_equal(tam_store_write(s, s_put_fn, &w), 0);
    w.i++;
    for (int k = 0; k < 20; k++, w.i++)
        assert_int_equal(tam_store_write(s, s_put_fn, &w), 0);
    s_all_there(s, w.i);
    tam_store_close(&s);
    /* and a reopen finds them all */
    assert_int_equal(tam_store_open(&s, &o), 0);
    s_all_there(s, w.i);
    tam_store_close(&s);
    assert_int_equal(umount(dir), 0);
    rmdir(dir);
    g_as_eio = 0;
}

static void test_disk_full(void **state)
{
    (void)state;
    s_disk_full(false);
}

/* The same when LMDB says EIO: the free space tells a full disk. */
static void test_disk_full_eio(void **state)
{
    (void)state;
    s_disk_full(true);
}

/* EIO with space left: the write is tried once more; a second EIO in a row
 * is fatal (a failing disk, or corruption). */
static void test_eio_with_space(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/test_eio.XXXXXX");
    assert_non_null(mkdtemp(dir));
    tam_store_opts_t o = {.path = dir, .dbs = g_dbs, .schema_version = 1,
                          .flags = TAM_STORE_NOSYNC};
    tam_store_t *s = NULL;
    assert_int_equal(tam_store_open(&s, &o), 0);
    s_w_t w = {0};
    g_eio_next = 1;
    assert_int_equal(tam_store_write(s, s_put_fn, &w), 0);
    w.i++;
    s_all_there(s, 1);
    g_eio_next = 2;
    assert_int_equal(tam_store_write(s, s_put_fn, &w), TAM_EFATAL);
    assert_true(tam_store_failed(s));
    tam_store_close(&s);
    assert_int_equal(tam_store_open(&s, &o), 0);
    s_all_there(s, 1);
    tam_store_close(&s);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_eio_with_space),
                                       cmocka_unit_test(test_disk_full),
                                       cmocka_unit_test(test_disk_full_eio)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

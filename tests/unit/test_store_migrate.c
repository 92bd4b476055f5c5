/* test_store_migrate.c — schema migrations as a table of steps, each in its
 * own write transaction with its version: a store written by the previous
 * schema (written here, as that version wrote it) is upgraded in place; a
 * step that fails leaves the last version reached; a process killed in the
 * middle of a step (fork, _exit inside the step) leaves the store whole at
 * the last version, and the next open finishes the upgrade. Then the
 * services' `--migrate`: tam-ingest upgrades a schema-1 store and exits 0
 * without serving; a store of a newer version is refused with 78. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "tam/error.h"
#include "tam/store.h"

/* Version 1 kept "name=value" text in "kv"; version 2 splits it into key
 * name, value value; version 3 adds a count in "stats". */
static const char *const g_dbs[] = {"kv", "stats", NULL};
static int g_fail_step3, g_crash_step3;

static int s_v1_fn(tam_txn_t *txn, void *arg)
{
    (void)arg;
    char key[16], rec[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "%04d", i);
        int n = snprintf(rec, sizeof rec, "n%d=%d", i, i * i);
        int rc = tam_txn_put(txn, "kv", key, 4, rec, (size_t)n, 0);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct {
    tam_txn_t *txn;
    char keys[100][16];
    char vals[100][16];
    int n;
} s_conv_t;

static int s_collect(const tam_val_t *k, const tam_val_t *v, void *arg)
{
    s_conv_t *c = arg;
    (void)k;
    const char *eq = memchr(v->data, '=', v->len);
    if (!eq || c->n == 100)
        return TAM_EINVAL;
    size_t kl = (size_t)(eq - (const char *)v->data);
    snprintf(c->keys[c->n], 16, "%.*s", (int)kl, (const char *)v->data);
    snprintf(c->vals[c->n], 16, "%.*s", (int)(v->len - kl - 1), eq + 1);
    c->n++;
    return 0;
}

static int s_step1(tam_txn_t *txn, void *arg)
{
    (void)arg;
    static s_conv_t c;
    memset(&c, 0, sizeof c);
    int rc = tam_txn_scan(txn, "kv", NULL, 0, NULL, 0, s_collect, &c);
    for (int i = 0; rc == 0 && i < c.n; i++) {
        char old[16];
        snprintf(old, sizeof old, "%04d", i);
        if ((rc = tam_txn_del(txn, "kv", old, 4)) == 0)
            rc = tam_txn_put(txn, "kv", c.keys[i], strlen(c.keys[i]), c.vals[i],
                             strlen(c.vals[i]), 0);
    }
    return rc;
}

static int s_step2(tam_txn_t *txn, void *arg)
{
    (void)arg;
    size_t n = 0;
    int rc = tam_txn_count(txn, "kv", &n);
    uint8_t v[8];
    tam_key_u64(v, n);
    if (rc == 0)
        rc = tam_txn_put(txn, "stats", "count", 5, v, 8, 0);
    if (rc == 0 && g_crash_step3)
        _exit(9); /* killed in the middle of the step: its writes never commit */
    return rc ? rc : g_fail_step3 ? TAM_EIO : 0;
}

static const tam_store_step_t g_steps[] = {
    {1, s_step1, "split name=value"},
    {2, s_step2, "count the records"},
    {0, NULL, NULL},
};

static tam_store_opts_t s_opts(const char *dir, uint32_t version)
{
    return (tam_store_opts_t){.path = dir, .dbs = g_dbs, .schema_version = version,
                              .flags = TAM_STORE_NOSYNC, .steps = version > 1 ? g_steps : NULL};
}

static int s_version_fn(tam_txn_t *txn, void *arg)
{
    /* what a version-3 reader sees: 100 split records and the count */
    int *state = arg;
    tam_val_t v;
    *state = 1;
    if (tam_txn_get(txn, "kv", "n7", 2, &v) == 0 && v.len == 2 && memcmp(v.data, "49", 2) == 0)
        *state = 2;
    if (*state == 2 && tam_txn_get(txn, "stats", "count", 5, &v) == 0 && v.len == 8 &&
        tam_key_get_u64(v.data) == 100)
        *state = 3;
    return 0;
}

/* Opens at version want (read-only: no migration) and says which layout the
 * data has. Returns the layout, or -1 if the open is refused. */
static int s_layout(const char *dir, uint32_t want)
{
    tam_store_opts_t o = s_opts(dir, want);
    o.flags |= TAM_STORE_RDONLY;
    o.steps = NULL;
    tam_store_t *s = NULL;
    if (tam_store_open(&s, &o))
        return -1;
    int state = 0;
    assert_int_equal(tam_store_read(s, s_version_fn, &state), 0);
    tam_store_close(&s);
    return state;
}

static void s_write_v1(const char *dir)
{
    tam_store_opts_t o = s_opts(dir, 1);
    tam_store_t *s = NULL;
    assert_int_equal(tam_store_open(&s, &o), 0);
    assert_int_equal(tam_store_write(s, s_v1_fn, NULL), 0);
    tam_store_close(&s);
}

static void test_steps(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/test_migrate.XXXXXX");
    assert_non_null(mkdtemp(dir));
    s_write_v1(dir);
    assert_int_equal(s_layout(dir, 1), 1);

    /* step 2 (version 2 to 3) fails: the store stays at 2, step 1 kept */
    g_fail_step3 = 1;
    tam_store_t *s = NULL;
    tam_store_opts_t o = s_opts(dir, 3);
    assert_int_equal(tam_store_open(&s, &o), TAM_EIO);
    assert_null(s);
    g_fail_step3 = 0;
    assert_int_equal(s_layout(dir, 2), 2);

    /* killed inside step 2: still 2, whole */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        g_crash_step3 = 1;
        tam_store_t *c = NULL;
        tam_store_opts_t co = s_opts(dir, 3);
        tam_store_open(&c, &co);
        _exit(0); /* not reached: the step exits 9 */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 9);
    assert_int_equal(s_layout(dir, 2), 2);

    /* the next open finishes the upgrade */
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_store_close(&s);
    assert_int_equal(s_layout(dir, 3), 3);
    /* and a fresh version-1 store goes all the way in one open */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*.mdb", dir);
    assert_int_equal(system(cmd), 0);
    s_write_v1(dir);
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_store_close(&s);
    assert_int_equal(s_layout(dir, 3), 3);
    /* a version the steps do not reach is refused */
    tam_store_opts_t o4 = s_opts(dir, 5);
    assert_int_equal(tam_store_open(&s, &o4), TAM_ECONFIG);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* tam-ingest --migrate on a store of schema 1 (empty, as version 1 made
 * it): exit 0, the store at version 2, no socket left behind serving. */
static void test_service_migrate(void **state)
{
    (void)state;
    const char *bin = getenv("TAM_BIN_DIR"), *src = getenv("TAM_SOURCE_DIR");
    if (!bin || !src) {
        fprintf(stderr, "test_service_migrate: SKIPPED: TAM_BIN_DIR/TAM_SOURCE_DIR not set\n");
        skip();
    }
    char dir[64], data[96], cmd[1024];
    snprintf(dir, sizeof dir, "/tmp/test_migrate_svc.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/data/ingest", dir);
    static const char *const ingest_v1_dbs[] = {"replies", NULL};
    tam_store_opts_t o = {.path = data, .dbs = ingest_v1_dbs, .schema_version = 1};
    tam_store_t *s = NULL;
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_store_close(&s);
    snprintf(cmd, sizeof cmd,
             "%s/tam-ingest -c %s/config/tamatch.ini -o common.data_dir=%s/data "
             "-o common.run_dir=%s/run -o security.mode=local --migrate 2>/dev/null",
             bin, src, dir, dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);
    o.schema_version = 2;
    o.flags = TAM_STORE_RDONLY;
    assert_int_equal(tam_store_open(&s, &o), 0); /* version 2 now */
    tam_store_close(&s);
    /* a store of a newer version: refused, 78 */
    o.schema_version = 99;
    o.flags = 0;
    char newer[128];
    snprintf(newer, sizeof newer, "%s/newer/ingest", dir);
    o.path = newer;
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_store_close(&s);
    snprintf(cmd, sizeof cmd,
             "%s/tam-ingest -c %s/config/tamatch.ini -o common.data_dir=%s/newer "
             "-o common.run_dir=%s/run -o security.mode=local --migrate 2>/dev/null",
             bin, src, dir, dir);
    rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 78);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_service_migrate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

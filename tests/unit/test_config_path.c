/* test_config_path.c — where a config's relative paths point (tam/config.h,
 * config_path.c): directories relative to the config file's directory (or
 * ./config without a file, or the working directory for -o), relative ipc://
 * endpoints relative to run_dir, absolute values kept, and a socket path
 * too long for a unix socket refused with the key named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/config.h"
#include "tam/error.h"

typedef struct {
    char dir[64];
    char ini[160];
    char cwd[512];
    tam_config_t c;
    char err[512];
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tam-test-cfgpath-XXXXXX");
    if (!fx || !mkdtemp(fx->dir) || !getcwd(fx->cwd, sizeof fx->cwd))
        return -1;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/etc", fx->dir);
    mkdir(sub, 0700);
    snprintf(fx->ini, sizeof fx->ini, "%s/etc/tamatch.ini", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    char p[160];
    if (chdir(fx->cwd) != 0)
        return -1;
    unlink(fx->ini);
    snprintf(p, sizeof p, "%s/etc", fx->dir);
    rmdir(p);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void write_ini(fixture_t *fx, const char *text)
{
    FILE *f = fopen(fx->ini, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The defaults file's relative paths point beside the file's directory, from
 * whatever directory the program runs in. */
static void test_relative_to_the_file(void **state)
{
    fixture_t *fx = *state;
    write_ini(fx, "[common]\nrun_dir = ../run\ndata_dir = ../data\ncatalog_dir = catalog\n");
    assert_int_equal(chdir("/"), 0);
    assert_int_equal(tam_config_load_resolved(&fx->c, fx->ini, NULL, 0, fx->err, sizeof fx->err), 0);
    char want[256];
    snprintf(want, sizeof want, "%s/run", fx->dir);
    assert_string_equal(fx->c.common.run_dir, want);
    snprintf(want, sizeof want, "%s/data", fx->dir);
    assert_string_equal(fx->c.common.data_dir, want);
    snprintf(want, sizeof want, "%s/etc/catalog", fx->dir);
    assert_string_equal(fx->c.common.catalog_dir, want);
    /* the default endpoints are relative: below run_dir */
    snprintf(want, sizeof want, "ipc://%s/run/ingest.req", fx->dir);
    assert_string_equal(fx->c.ingest.endpoint, want);
    snprintf(want, sizeof want, "ipc://%s/run/match.snap", fx->dir);
    assert_string_equal(fx->c.match.snapshot, want);
    /* the same from another directory, with a relative path to the file */
    assert_int_equal(chdir(fx->dir), 0);
    tam_config_t c2;
    assert_int_equal(tam_config_load_resolved(&c2, "etc/tamatch.ini", NULL, 0, fx->err, sizeof fx->err), 0);
    assert_string_equal(c2.common.run_dir, fx->c.common.run_dir);
    assert_string_equal(c2.ingest.endpoint, fx->c.ingest.endpoint);
}

/* Absolute values stay; tcp endpoints are untouched; a relative ipc endpoint
 * in the file follows run_dir. */
static void test_absolute_and_tcp(void **state)
{
    fixture_t *fx = *state;
    write_ini(fx, "[common]\nrun_dir = /srv/tam/./sockets/\n"
                  "[ingest]\nendpoint = tcp://127.0.0.1:7001\nfeed = ipc:///var/x/in.pub\n"
                  "snapshot = ipc://sub/in.snap\n");
    assert_int_equal(tam_config_load_resolved(&fx->c, fx->ini, NULL, 0, fx->err, sizeof fx->err), 0);
    assert_string_equal(fx->c.common.run_dir, "/srv/tam/sockets");
    assert_string_equal(fx->c.ingest.endpoint, "tcp://127.0.0.1:7001");
    assert_string_equal(fx->c.ingest.feed, "ipc:///var/x/in.pub");
    assert_string_equal(fx->c.ingest.snapshot, "ipc:///srv/tam/sockets/sub/in.snap");
    assert_string_equal(fx->c.registry.endpoint, "ipc:///srv/tam/sockets/registry.req");
}

/* -o directories are relative to the working directory; endpoints follow an
 * overridden run_dir. */
static void test_overrides(void **state)
{
    fixture_t *fx = *state;
    write_ini(fx, "[common]\nrun_dir = ../run\n");
    assert_int_equal(chdir(fx->dir), 0);
    const char *sets[] = {"common.run_dir=elsewhere", "common.data_dir=d"};
    assert_int_equal(tam_config_load_resolved(&fx->c, fx->ini, sets, 2, fx->err, sizeof fx->err), 0);
    char want[256];
    snprintf(want, sizeof want, "%s/elsewhere", fx->dir);
    assert_string_equal(fx->c.common.run_dir, want);
    snprintf(want, sizeof want, "%s/d", fx->dir);
    assert_string_equal(fx->c.common.data_dir, want);
    snprintf(want, sizeof want, "ipc://%s/elsewhere/pipeline.req", fx->dir);
    assert_string_equal(fx->c.pipeline.endpoint, want);
    const char *bad[] = {"common.nope=1"};
    assert_int_not_equal(tam_config_load_resolved(&fx->c, fx->ini, bad, 1, fx->err, sizeof fx->err), 0);
    assert_non_null(strstr(fx->err, "-o common.nope=1"));
}

/* Without a file, paths are as if the file were ./config/tamatch.ini. */
static void test_no_file(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chdir(fx->dir), 0);
    assert_int_equal(tam_config_load_resolved(&fx->c, NULL, NULL, 0, fx->err, sizeof fx->err), 0);
    char want[256];
    snprintf(want, sizeof want, "%s/run", fx->dir);
    assert_string_equal(fx->c.common.run_dir, want);
    snprintf(want, sizeof want, "%s/config/catalog", fx->dir);
    assert_string_equal(fx->c.common.catalog_dir, want);
    snprintf(want, sizeof want, "ipc://%s/run/ingest.req", fx->dir);
    assert_string_equal(fx->c.ingest.endpoint, want);
}

/* Every path key is resolved (names ending in _dir: run_dir, data_dir,
 * catalog_dir); other text keys are left alone. */
static void test_every_path_key(void **state)
{
    fixture_t *fx = *state;
    write_ini(fx, "[common]\ncatalog_dir = ./cat/../catalogue\n");
    assert_int_equal(tam_config_load_resolved(&fx->c, fx->ini, NULL, 0, fx->err, sizeof fx->err), 0);
    char want[256];
    snprintf(want, sizeof want, "%s/etc/catalogue", fx->dir);
    assert_string_equal(fx->c.common.catalog_dir, want);
    for (size_t i = 0; i < tam_config_nkeys(); i++) {
        const tam_config_key_t *k = tam_config_key_at(i);
        if (k->type != TAM_CFG_STR)
            continue;
        const char *v = (const char *)&fx->c + k->offset;
        size_t n = strlen(k->name);
        bool path = n > 4 && strcmp(k->name + n - 4, "_dir") == 0;
        if (path)
            assert_true(v[0] == '/');
    }
}

/* A socket path longer than a unix socket allows is refused, naming the key. */
static void test_too_long_socket(void **state)
{
    fixture_t *fx = *state;
    char text[512];
    snprintf(text, sizeof text, "[common]\nrun_dir = /%0120d\n", 0);
    write_ini(fx, text);
    assert_int_equal(tam_config_load_resolved(&fx->c, fx->ini, NULL, 0, fx->err, sizeof fx->err),
                     TAM_ECONFIG);
    assert_non_null(strstr(fx->err, "[ingest] endpoint"));
    assert_non_null(strstr(fx->err, "unix socket"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_relative_to_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_and_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_path_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_long_socket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

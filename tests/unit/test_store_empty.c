/* test_store_empty.c — a 0-byte data.mdb where a store existed is refused at
 * open (LMDB would start an empty store on it, silently), unless the
 * services' --init allowed it; a missing file is a new store. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "tam/error.h"
#include "tam/store.h"

static const char *const g_dbs[] = {"items", NULL};

static int s_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static void test_empty_data_file(void **state)
{
    (void)state;
    char dir[64], data[96];
    snprintf(dir, sizeof dir, "/tmp/test_store_empty.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    tam_store_opts_t o = {.path = dir, .dbs = g_dbs, .schema_version = 1,
                          .flags = TAM_STORE_NOSYNC};
    tam_store_t *s = NULL;

    /* no file: a new store */
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_store_close(&s);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    assert_true(st.st_size > 0);

    /* the file cut to 0 bytes: refused, and left as it was */
    assert_int_equal(truncate(data, 0), 0);
    assert_int_equal(tam_store_open(&s, &o), TAM_ECONFIG);
    assert_null(s);
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_size, 0);

    /* with --init: an empty store on purpose */
    tam_store_allow_init(true);
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_store_allow_init(false);
    tam_store_close(&s);
    assert_int_equal(stat(data, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_store_close(&s);
    nftw(dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_empty_data_file)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

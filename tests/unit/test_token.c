/* test_token.c — bearer tokens of the gateway (tam/token.h): issued for a key
 * of the trust store, stored hashed, checked with that key's roles, replaced
 * by a new one, revoked with their file or their key. */
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
#include "tam/keys.h"
#include "tam/token.h"

static char s_dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/test_token.XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    tam_keyfile_t k;
    char err[256];
    if (tam_key_generate(&k, "manager", TAM_ROLE_MANAGER, NULL) ||
        tam_key_write(s_dir, &k, err, sizeof err) ||
        tam_key_generate(&k, "respondent-KEN", TAM_ROLE_RESPONDENT, "KEN") ||
        tam_key_write(s_dir, &k, err, sizeof err))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_issue_check(void **state)
{
    (void)state;
    char tok[TAM_TOKEN_MAX + 1], err[256];
    assert_int_equal(tam_token_issue(s_dir, "respondent-KEN", tok, err, sizeof err), 0);
    assert_int_equal(strncmp(tok, "respondent-KEN~", 15), 0);
    assert_int_equal(strlen(tok), 15 + TAM_TOKEN_SECRET_HEX);
    tam_principal_t p;
    assert_int_equal(tam_token_check(s_dir, tok, strlen(tok), &p), 0);
    assert_string_equal(p.id, "respondent-KEN");
    assert_int_equal(p.roles, TAM_ROLE_RESPONDENT);
    assert_string_equal(p.respondent, "KEN");
    /* Only the hash is stored, owner-only. */
    char path[200], stored[200] = "";
    snprintf(path, sizeof path, "%s/respondent-KEN" TAM_TOKEN_EXT, s_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(stored, sizeof stored, f));
    fclose(f);
    assert_null(strstr(stored, tok + 15));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
}

static void test_refused(void **state)
{
    (void)state;
    char tok[TAM_TOKEN_MAX + 1], err[256];
    assert_int_equal(tam_token_issue(s_dir, "manager", tok, err, sizeof err), 0);
    tam_principal_t p;
    /* One digit changed; another identity's name with this secret; cut short. */
    char bad[TAM_TOKEN_MAX + 1];
    memcpy(bad, tok, sizeof bad);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
    assert_int_equal(tam_token_check(s_dir, bad, strlen(bad), &p), TAM_EDENIED);
    assert_int_equal(p.roles, 0);
    snprintf(bad, sizeof bad, "respondent-KEN%s", strchr(tok, '~'));
    assert_int_equal(tam_token_check(s_dir, bad, strlen(bad), &p), TAM_EDENIED);
    assert_int_equal(tam_token_check(s_dir, tok, strlen(tok) - 1, &p), TAM_EDENIED);
    assert_int_equal(tam_token_check(s_dir, "../etc~x", 8, &p), TAM_EDENIED);
    assert_int_equal(tam_token_check(s_dir, "", 0, &p), TAM_EDENIED);
    /* No key of that name: nothing issued. */
    assert_int_equal(tam_token_issue(s_dir, "nobody", tok, err, sizeof err), TAM_ENOTFOUND);
    assert_int_equal(tam_token_issue(s_dir, "../x", tok, err, sizeof err), TAM_EINVAL);
}

static void test_replace_revoke(void **state)
{
    (void)state;
    char t1[TAM_TOKEN_MAX + 1], t2[TAM_TOKEN_MAX + 1], err[256];
    tam_principal_t p;
    assert_int_equal(tam_token_issue(s_dir, "manager", t1, err, sizeof err), 0);
    assert_int_equal(tam_token_issue(s_dir, "manager", t2, err, sizeof err), 0);
    assert_string_not_equal(t1, t2);
    assert_int_equal(tam_token_check(s_dir, t1, strlen(t1), &p), TAM_EDENIED);
    assert_int_equal(tam_token_check(s_dir, t2, strlen(t2), &p), 0);
    assert_int_equal(tam_token_revoke(s_dir, "manager"), 0);
    assert_int_equal(tam_token_check(s_dir, t2, strlen(t2), &p), TAM_EDENIED);
    assert_int_equal(tam_token_revoke(s_dir, "manager"), TAM_ENOTFOUND);
    /* Revoking the key revokes its token. */
    assert_int_equal(tam_token_issue(s_dir, "manager", t1, err, sizeof err), 0);
    assert_int_equal(tam_key_remove(s_dir, "manager"), 0);
    assert_int_equal(tam_token_check(s_dir, t1, strlen(t1), &p), TAM_EDENIED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_check),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_replace_revoke),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_registry_access.c — who may send what to the registry, by the role
 * matrix (tam/access.h): the local principal may do everything; a principal
 * without roles nothing; donor liaison edits donors, projects and the ledger
 * but not the context; a planner sets the context only; reads need a reading
 * role; and what the loop does with each type
 * (services/registry/registry_access.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tam/access.h"
#include "tam/error.h"
#include "registry.h" /* services/registry, linked by its CMakeLists.txt */

static const char *const g_writes[] = {"registry.donor_put", "registry.project_add",
                                       "registry.project_update", "registry.project_close",
                                       "registry.ledger_add", NULL};
static const char *const g_reads[] = {"registry.donors", "registry.donor_get", "registry.projects",
                                      "registry.project_get", "registry.ledger",
                                      "registry.context_get", NULL};

static int s_may(uint32_t roles, const char *type)
{
    tam_principal_t p = {.id = "k1", .roles = roles};
    tam_rpc_error_t e;
    tam_rpc_error_init(&e);
    int rc = tam_access_check(&p, type, NULL, NULL, &e);
    if (rc) {
        assert_int_equal(rc, TAM_EDENIED);
        assert_int_equal(e.code, TAM_EDENIED);
        assert_non_null(strstr(e.message, "principal 'k1' (role "));
        assert_non_null(strstr(e.message, "it needs the role"));
    } else {
        assert_int_equal(e.code, 0);
    }
    tam_rpc_error_clear(&e);
    return rc == 0;
}

static void test_local_may_everything(void **state)
{
    (void)state;
    tam_principal_t local;
    assert_int_equal(tam_principal_from_user_id(NULL, &local), 0);
    for (size_t i = 0; g_writes[i]; i++)
        assert_true(s_may(local.roles, g_writes[i]));
    for (size_t i = 0; g_reads[i]; i++)
        assert_true(s_may(local.roles, g_reads[i]));
    assert_true(s_may(local.roles, "registry.context_set"));
}

static void test_no_roles_nothing(void **state)
{
    (void)state;
    tam_principal_t p;
    assert_int_equal(tam_principal_from_user_id("curve-key-1", &p), 0);
    assert_int_equal(p.roles, 0);
    for (size_t i = 0; g_writes[i]; i++)
        assert_false(s_may(p.roles, g_writes[i]));
    for (size_t i = 0; g_reads[i]; i++)
        assert_false(s_may(p.roles, g_reads[i]));
    assert_false(s_may(p.roles, "registry.context_set"));
    assert_false(s_may(p.roles, "sys.ping"));
}

static void test_roles(void **state)
{
    (void)state;
    for (size_t i = 0; g_writes[i]; i++) {
        assert_true(s_may(TAM_ROLE_DONOR_LIAISON, g_writes[i]));
        assert_false(s_may(TAM_ROLE_PLANNER, g_writes[i]));
        assert_false(s_may(TAM_ROLE_RESPONDENT | TAM_ROLE_MANAGER | TAM_ROLE_SERVICE, g_writes[i]));
        assert_true(s_may(TAM_ROLE_ADMIN, g_writes[i]));
    }
    assert_true(s_may(TAM_ROLE_PLANNER, "registry.context_set"));
    assert_false(s_may(TAM_ROLE_DONOR_LIAISON, "registry.context_set"));
    assert_true(s_may(TAM_ROLE_ADMIN, "registry.context_set"));
    for (size_t i = 0; g_reads[i]; i++) {
        assert_true(s_may(TAM_ROLE_SERVICE, g_reads[i]));
        assert_true(s_may(TAM_ROLE_VIEWER, g_reads[i]));
        assert_false(s_may(TAM_ROLE_RESPONDENT, g_reads[i]));
    }
    for (size_t i = 0; g_writes[i]; i++)
        assert_false(s_may(TAM_ROLE_VIEWER, g_writes[i]));
    assert_int_equal(tam_access_roles("registry.ledger_add"), TAM_ROLE_DONOR_LIAISON);
    assert_int_equal(tam_access_roles("nope"), 0);
}

static void test_classify(void **state)
{
    (void)state;
    for (size_t i = 0; g_writes[i]; i++)
        assert_int_equal(tam_registry_classify(g_writes[i]), TAM_REQ_WRITE);
    assert_int_equal(tam_registry_classify("registry.context_set"), TAM_REQ_WRITE);
    for (size_t i = 0; g_reads[i]; i++)
        assert_int_equal(tam_registry_classify(g_reads[i]), TAM_REQ_READ);
    assert_int_equal(tam_registry_classify("sys.ping"), TAM_REQ_READ);
    assert_int_equal(tam_registry_classify("ingest.submit"), TAM_REQ_UNKNOWN);
    assert_int_equal(tam_registry_classify("registry.nothing"), TAM_REQ_UNKNOWN);
    assert_int_equal(tam_registry_classify(""), TAM_REQ_UNKNOWN);
    assert_int_equal(tam_registry_classify(NULL), TAM_REQ_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_may_everything),
        cmocka_unit_test(test_no_roles_nothing),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests_name("registry_access", tests, NULL, NULL);
}

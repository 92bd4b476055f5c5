/* test_whatif_http.c — the gateway's routes of issue 15 (rows in
 * services/gateway/gw_routes.c) against the real services in curve mode:
 * POST /v1/whatif and GET /v1/projects/{id}/advice, by role, with every
 * problem of a bad scenario in the problem's errors (docs/whatif.md). The
 * set-up is test_gateway.c's. */
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <zmq.h>
#include "services_harness.h"

static h_t *H;
static json_t *s_openapi_doc; /* /v1/openapi.json, fetched once */
static pid_t s_gw;
static unsigned s_port;
static char s_tokens[8][200];
static const char *const s_people[] = {"admin", "manager", "donor_liaison", "planner",
                                       "viewer", "respondent-KEN"};
enum { T_ADMIN, T_MANAGER, T_DONOR, T_PLANNER, T_VIEWER, T_KEN, T_NONE = -1 };

#include "http_harness.h"

static int setup(void **state)
{
    (void)state;
    static const char *const replies[] = {"0001-CAF-A", "0002-COD-D", "0003-SSD-C", "0007-KEN-C",
                                          NULL};
    return gw_setup("whatif_http", "max_body = 64K\ntimeout = 10s\n", GW_LEDGER | GW_CONTEXT | GW_WAIT,
                    replies);
}

static int teardown(void **state)
{
    (void)state;
    return gw_teardown();
}

static void test_whatif(void **state)
{
    (void)state;
    const char *body = "{\"changes\": [{\"kind\": \"receipt\", \"project\": \"GLO-ALTERN\", "
                       "\"amount\": 300000}]}";
    int allowed[] = {T_MANAGER, T_DONOR, T_PLANNER, T_ADMIN};
    for (size_t i = 0; i < 4; i++) {
        resp_t r = s_http("POST", allowed[i], "/v1/whatif", body, NULL);
        if (r.status != 200)
            fail_msg("whatif as %s: %ld %s", s_people[allowed[i]], r.status, r.body);
        s_conforms("post", "/v1/whatif", &r);
        json_t *j = s_json(&r);
        assert_true(json_is_integer(json_object_get(j, "objective_delta")));
        assert_int_equal(json_string_length(json_object_get(j, "scenario_hash")), 64);
        json_decref(j);
        s_free(&r);
    }
    int refused[] = {T_VIEWER, T_KEN};
    for (size_t i = 0; i < 2; i++) {
        resp_t r = s_http("POST", refused[i], "/v1/whatif", body, NULL);
        s_problem(&r, 403, NULL);
        s_free(&r);
    }
    /* every problem, each with its pointer */
    resp_t r = s_http("POST", T_MANAGER, "/v1/whatif",
                      "{\"changes\": [{\"kind\": \"receipt\", \"project\": \"NO-SUCH\", \"amount\": 5},"
                      " {\"kind\": \"need_withdraw\", \"need\": 999999}]}", NULL);
    if (r.status != 400 && r.status != 404 && r.status != 422)
        fail_msg("bad scenario: %ld %s", r.status, r.body);
    s_problem(&r, r.status, "/changes/0/project");
    s_problem(&r, r.status, "/changes/1/need");
    s_free(&r);
}

static void test_advice(void **state)
{
    (void)state;
    resp_t r = s_http("GET", T_DONOR, "/v1/projects/GLO-ALTERN/advice", NULL, NULL);
    if (r.status != 200)
        fail_msg("advice: %ld %s", r.status, r.body);
    s_conforms("get", "/v1/projects/{id}/advice", &r);
    json_t *j = s_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "project")), "GLO-ALTERN");
    assert_true(json_is_array(json_object_get(j, "items")));
    json_decref(j);
    s_free(&r);
    r = s_http("GET", T_VIEWER, "/v1/projects/GLO-ALTERN/advice", NULL, NULL);
    s_problem(&r, 403, NULL);
    s_free(&r);
    r = s_http("GET", T_DONOR, "/v1/projects/NO-SUCH/advice", NULL, NULL);
    s_problem(&r, 404, NULL);
    s_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whatif),
        cmocka_unit_test(test_advice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

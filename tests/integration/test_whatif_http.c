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

static int s_gateway_start(void)
{
    char exe[512], log[160];
    snprintf(exe, sizeof exe, "%s/tam-gateway", H->bin);
    snprintf(log, sizeof log, "%s/gateway.log", H->dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(exe, exe, "-c", H->cfg, (char *)NULL);
        _exit(127);
    }
    s_gw = pid;
    for (int i = 0; i < 200; i++) {
        resp_t r = s_http("GET", T_NONE, "/v1/health", NULL, NULL);
        long st = r.status;
        s_free(&r);
        if (st == 200)
            return 0;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling the child's readiness */
    }
    return -1;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    H = h_new("whatif_http", NULL);
    if (!H)
        return -1;
    s_port = s_free_port();
    FILE *f = fopen(H->cfg, "a");
    fprintf(f, "[gateway]\nport = %u\nmax_body = 64K\ntimeout = 10s\nconnection_timeout = 2s\n"
               "max_connections = 200\nper_ip_connections = 100\nconnection_memory = 32K\n", s_port);
    fclose(f);
    for (int s = 0; s < S_N; s++)
        if (s_start(H, s) != 0)
            return -1;
    const char *d = "config/samples/demo";
    char p[5][600];
    snprintf(p[0], sizeof p[0], "%s/%s/donors.json", H->src, d);
    snprintf(p[1], sizeof p[1], "%s/%s/projects.json", H->src, d);
    snprintf(p[2], sizeof p[2], "%s/%s/ledger.json", H->src, d);
    snprintf(p[3], sizeof p[3], "%s/%s/context.json", H->src, d);
    if (s_tamctl(H, NULL, NULL, "-q", "donor", "add", p[0], NULL) ||
        s_tamctl(H, NULL, NULL, "-q", "project", "add", p[1], NULL) ||
        s_tamctl(H, NULL, NULL, "-q", "ledger", "import", p[2], NULL) ||
        s_tamctl(H, NULL, NULL, "-q", "context", "set", p[3], NULL))
        return -1;
    char r[6][600];
    const char *files[] = {"0001-CAF-A", "0002-COD-D", "0003-SSD-C", "0007-KEN-C", NULL};
    for (int i = 0; files[i]; i++)
        snprintf(r[i], sizeof r[i], "%s/%s/replies/%s.json", H->src, d, files[i]);
    if (s_tamctl(H, NULL, NULL, "-q", "submit", r[0], r[1], r[2], r[3], NULL) ||
        s_tamctl(H, NULL, NULL, "wait", "--timeout", "60", NULL))
        return -1;
    for (size_t i = 0; i < sizeof s_people / sizeof s_people[0]; i++) {
        char out[160];
        snprintf(out, sizeof out, "%s/%s.token", H->dir, s_people[i]);
        if (s_tamctl(H, out, NULL, "keys", "token", s_people[i], NULL))
            return -1;
        char *t = s_slurp(out);
        t[strcspn(t, "\n")] = 0;
        snprintf(s_tokens[i], sizeof s_tokens[i], "%s", t);
        free(t);
    }
    if (s_gateway_start() != 0)
        return -1;
    resp_t doc = s_http("GET", T_NONE, "/v1/openapi.json", NULL, NULL);
    s_openapi_doc = json_loads(doc.body, 0, NULL);
    s_free(&doc);
    return s_openapi_doc ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int ret = 0;
    if (s_gw) {
        /* SIGTERM: a clean stop, exit 0 (under ASan also: no leak, no error). */
        kill(s_gw, SIGTERM);
        int st = 0;
        waitpid(s_gw, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char log[160];
            snprintf(log, sizeof log, "%s/gateway.log", H->dir);
            char *t = s_slurp(log);
            fprintf(stderr, "tam-gateway exited with status %d:\n%s\n", st, t);
            free(t);
            ret = -1;
        }
    }
    h_free(H);
    curl_global_cleanup();
    json_decref(s_openapi_doc);
    return ret;
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

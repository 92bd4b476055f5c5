/* test_gateway_writes.c — the gateway's exposure of issue 19's protocol
 * additions (curve mode, every JSON answer validated against
 * /v1/openapi.json by http_harness.h): GET /v1/catalog with its version as
 * ETag (If-None-Match: 304), ?dry_run=true on the writes (nothing stored),
 * and If-Match on PUT /v1/context (if_version; a stale version: 412). */
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
#include <strings.h>
#include <sys/prctl.h>
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
static const char *const s_people[] = {"admin", "planner", "viewer"};
enum { T_ADMIN, T_PLANNER, T_VIEWER, T_NONE = -1 };

#include "http_harness.h"

static int setup(void **state)
{
    (void)state;
    static const char *const replies[] = {"0001-CAF-A", NULL};
    return gw_setup("gateway_writes", "max_body = 64K\ntimeout = 10s\n", GW_CONTEXT, replies);
}

static int teardown(void **state)
{
    (void)state;
    return gw_teardown();
}

/* ---- GET /v1/catalog ----------------------------------------------------------- */

static void test_catalog(void **state)
{
    (void)state;
    resp_t r = s_http("GET", T_NONE, "/v1/catalog", NULL, NULL);
    s_problem(&r, 401, NULL);
    s_free(&r);
    r = s_http("GET", T_VIEWER, "/v1/catalog", NULL, NULL); /* any role */
    assert_int_equal(r.status, 200);
    json_t *j = s_json(&r);
    const char *v = json_string_value(json_object_get(j, "version"));
    assert_non_null(v);
    assert_int_equal(strlen(v), 64);
    char etag[80], inm[120];
    snprintf(etag, sizeof etag, "\"%s\"", v);
    assert_string_equal(r.etag, etag); /* the version hash, not a hash of the bytes */
    assert_true(json_array_size(json_object_get(j, "countries")) >= 190);
    assert_true(json_array_size(json_object_get(j, "standards")) >= 10);
    assert_true(json_array_size(json_object_get(j, "dac")) >= 10);
    json_decref(j);
    s_free(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    r = s_http("GET", T_ADMIN, "/v1/catalog", NULL, inm);
    assert_int_equal(r.status, 304);
    assert_string_equal(r.etag, etag);
    s_free(&r);
    r = s_http("GET", T_ADMIN, "/v1/catalog", NULL, "If-None-Match: \"0123\"");
    assert_int_equal(r.status, 200);
    s_free(&r);
}

/* ---- ?dry_run=true ------------------------------------------------------------- */

static size_t s_count(const char *path)
{
    resp_t r = s_http("GET", T_ADMIN, path, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = s_json(&r);
    size_t n = json_array_size(json_object_get(j, "items"));
    json_decref(j);
    s_free(&r);
    return n;
}

static char *s_file(const char *rel)
{
    char path[600];
    snprintf(path, sizeof path, "%s/config/samples/demo/%s", H->src, rel);
    return s_slurp(path);
}

static json_t *s_body(resp_t *r, long status)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld: %s", r->status, status, r->body);
    return s_json(r);
}

static void test_dry_run_reply(void **state)
{
    (void)state;
    size_t replies = s_count("/v1/replies?status=any"), needs = s_count("/v1/needs");
    assert_true(replies >= 1);
    char *good = s_file("replies/0005-LBY-A.json");
    resp_t r = s_http("POST", T_ADMIN, "/v1/replies?dry_run=true", good, NULL);
    json_t *dry = s_body(&r, 200);
    assert_true(json_is_true(json_object_get(dry, "dry_run")));
    size_t nneeds = json_array_size(json_object_get(dry, "need_ids"));
    assert_true(nneeds >= 1);
    s_free(&r);
    assert_int_equal(s_count("/v1/replies?status=any"), replies); /* nothing stored */
    assert_int_equal(s_count("/v1/needs"), needs);
    /* An invalid reply: every problem, and still nothing stored. */
    json_t *bad = json_loads(good, 0, NULL);
    json_object_set_new(bad, "colour", json_string("red"));
    json_object_set_new(bad, "completeness", json_string("seventy"));
    char *text = json_dumps(bad, 0);
    r = s_http("POST", T_ADMIN, "/v1/replies?dry_run=true", text, NULL);
    s_problem(&r, 422, "/colour");
    s_problem(&r, 422, "/completeness");
    s_free(&r);
    free(text);
    json_decref(bad);
    r = s_http("POST", T_ADMIN, "/v1/replies?dry_run=maybe", good, NULL);
    s_problem(&r, 400, "/dry_run");
    s_free(&r);
    r = s_http("POST", T_ADMIN, "/v1/replies?colour=red", good, NULL);
    s_problem(&r, 400, "/colour");
    s_free(&r);
    assert_int_equal(s_count("/v1/replies?status=any"), replies);
    /* The same reply stored: the dry run's answer was what storing gives. */
    r = s_http("POST", T_ADMIN, "/v1/replies?dry_run=false", good, NULL);
    json_t *real = s_body(&r, 200);
    assert_false(json_is_true(json_object_get(real, "dry_run")));
    assert_int_equal(json_array_size(json_object_get(real, "need_ids")), nneeds);
    assert_int_equal(json_integer_value(json_object_get(real, "revision")),
                     json_integer_value(json_object_get(dry, "revision")));
    s_free(&r);
    assert_int_equal(s_count("/v1/replies?status=any"), replies + 1);
    assert_int_equal(s_count("/v1/needs"), needs + nneeds);
    json_decref(real);
    json_decref(dry);
    free(good);
}

/* ---- the context: ETag = version, If-Match = if_version ------------------------------ */

static long long s_context_version(char *etag, size_t cap, json_t **note)
{
    resp_t r = s_http("GET", T_VIEWER, "/v1/context", NULL, NULL);
    json_t *j = s_body(&r, 200);
    long long v = json_integer_value(json_object_get(j, "version"));
    char want[40];
    snprintf(want, sizeof want, "\"%lld\"", v);
    assert_string_equal(r.etag, want);
    snprintf(etag, cap, "%s", r.etag);
    if (note)
        *note = json_incref(json_object_get(j, "note"));
    json_decref(j);
    s_free(&r);
    return v;
}

static char *s_context_with(const char *note)
{
    char *text = s_file("context.json");
    json_t *c = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(c, "note", json_string(note));
    text = json_dumps(c, 0);
    json_decref(c);
    return text;
}

static void test_context_if_match(void **state)
{
    (void)state;
    char etag[80], hdr[120], etag2[80];
    long long v = s_context_version(etag, sizeof etag, NULL);
    assert_true(v >= 1);
    snprintf(hdr, sizeof hdr, "If-Match: %s", etag);

    /* A dry run: the version it would make; nothing stored. */
    char *a = s_context_with("planning system A");
    resp_t r = s_http("PUT", T_PLANNER, "/v1/context?dry_run=true", a, hdr);
    json_t *j = s_body(&r, 200);
    assert_true(json_is_true(json_object_get(j, "dry_run")));
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), v + 1);
    json_decref(j);
    s_free(&r);
    assert_int_equal(s_context_version(etag2, sizeof etag2, NULL), v);

    /* A viewer is refused before anything else. */
    r = s_http("PUT", T_VIEWER, "/v1/context", a, hdr);
    s_problem(&r, 403, NULL);
    s_free(&r);

    /* A's set, with the version it read: stored, the new version as ETag. */
    r = s_http("PUT", T_PLANNER, "/v1/context", a, hdr);
    j = s_body(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), v + 1);
    snprintf(etag2, sizeof etag2, "\"%lld\"", v + 1);
    assert_string_equal(r.etag, etag2);
    json_decref(j);
    s_free(&r);

    /* B read the same version before A's set: 412, naming the current one. */
    char *b = s_context_with("planning system B");
    r = s_http("PUT", T_PLANNER, "/v1/context", b, hdr);
    s_problem(&r, 412, NULL);
    j = s_json(&r);
    char cur[40];
    snprintf(cur, sizeof cur, "version %lld", v + 1);
    if (!strstr(json_string_value(json_object_get(j, "detail")), cur))
        fail_msg("the 412 does not name %s: %s", cur, r.body);
    json_decref(j);
    s_free(&r);
    json_t *note = NULL;
    assert_int_equal(s_context_version(etag2, sizeof etag2, &note), v + 1);
    assert_string_equal(json_string_value(note), "planning system A"); /* B's not stored */
    json_decref(note);

    /* B reads again and resends with the new ETag: stored. */
    snprintf(hdr, sizeof hdr, "If-Match: %s", etag2);
    r = s_http("PUT", T_PLANNER, "/v1/context", b, hdr);
    assert_int_equal(r.status, 200);
    s_free(&r);

    /* Malformed If-Match, or one differing from the body's if_version: 400. */
    r = s_http("PUT", T_PLANNER, "/v1/context", b, "If-Match: W/\"abc\"");
    s_problem(&r, 400, "");
    s_free(&r);
    json_t *c = json_loads(b, 0, NULL);
    json_object_set_new(c, "if_version", json_integer(1));
    char *bi = json_dumps(c, 0);
    json_decref(c);
    snprintf(hdr, sizeof hdr, "If-Match: \"%lld\"", v + 2);
    r = s_http("PUT", T_PLANNER, "/v1/context", bi, hdr);
    s_problem(&r, 400, "/if_version");
    s_free(&r);
    free(bi);
    /* "*": no check. */
    r = s_http("PUT", T_PLANNER, "/v1/context", a, "If-Match: *");
    assert_int_equal(r.status, 200);
    s_free(&r);
    assert_int_equal(s_context_version(etag2, sizeof etag2, NULL), v + 3);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_dry_run_reply),
        cmocka_unit_test(test_context_if_match),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

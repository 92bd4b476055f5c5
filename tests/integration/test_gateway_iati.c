/* test_gateway_iati.c — GET /v1/iati/activities.xml on tam-gateway, against
 * the real services in curve mode with the demo's donors, projects and
 * ledger: the document validates against the official IATI 2.03 schema
 * (../shared/reference/iati/, used in place, with libxml2), is byte for byte
 * what `tamctl export iati` writes for the same state (one writer,
 * services/iati), ?project= gives one activity; the roles of the matrix,
 * problem+json for a bad query or an unknown project, ETag and 304. */
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <zmq.h>
#include "services_harness.h"

static h_t *H;
static json_t *s_openapi_doc;
static pid_t s_gw;
static unsigned s_port;
static char s_tokens[8][200];
static const char *const s_people[] = {"viewer", "respondent-KEN", "donor_liaison"};
enum { T_VIEWER, T_KEN, T_DONOR, T_NONE = -1 };

#include "http_harness.h"

static int setup(void **state)
{
    (void)state;
    return gw_setup("gateway_iati", "timeout = 10s\n", GW_LEDGER, NULL);
}

static int teardown(void **state)
{
    (void)state;
    int ret = gw_teardown();
    xmlCleanupParser();
    return ret;
}

/* Validates text against the IATI 2.03 activity schema; the number of
 * iati-activity elements. */
static int s_validate(const char *text)
{
    char xsd[600];
    snprintf(xsd, sizeof xsd, "%s/../shared/reference/iati/iati-activities-schema.xsd", H->src);
    if (access(xsd, R_OK) != 0)
        fail_msg("the IATI 2.03 schema is not at %s (CI has it there)", xsd);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(xsd);
    xmlSchemaPtr schema = pc ? xmlSchemaParse(pc) : NULL;
    xmlSchemaFreeParserCtxt(pc);
    assert_non_null(schema);
    xmlDocPtr doc = xmlReadMemory(text, (int)strlen(text), "activities.xml", NULL, XML_PARSE_NONET);
    if (!doc)
        fail_msg("not well-formed XML: %.300s", text);
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    int rc = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    if (rc != 0)
        fail_msg("GET /v1/iati/activities.xml does not validate against the IATI 2.03 schema (%d)", rc);
    int n = 0;
    for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c; c = c->next)
        n += c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "iati-activity") == 0;
    xmlFreeDoc(doc);
    return n;
}

/* tamctl export iati ARGS' output. */
static char *s_tamctl_export(const char *project)
{
    char out[160];
    snprintf(out, sizeof out, "%s/export.xml", H->dir);
    int rc = project ? s_tamctl(H, out, NULL, "export", "iati", "--project", project, NULL)
                     : s_tamctl(H, out, NULL, "export", "iati", NULL);
    assert_int_equal(rc, 0);
    return s_slurp(out);
}

static void test_activities(void **state)
{
    (void)state;
    resp_t r = s_http("GET", T_VIEWER, "/v1/iati/activities.xml", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/xml; charset=utf-8");
    int n = s_validate(r.body);
    print_message("    %d activities, %zu bytes, valid IATI 2.03\n", n, r.len);
    assert_true(n >= 10);
    char *cli = s_tamctl_export(NULL);
    assert_string_equal(r.body, cli); /* one writer: the same bytes */
    free(cli);
    /* the same state: the same ETag, and 304 */
    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", r.etag);
    s_free(&r);
    r = s_http("GET", T_DONOR, "/v1/iati/activities.xml", NULL, inm);
    assert_int_equal(r.status, 304);
    s_free(&r);
    /* one project */
    r = s_http("GET", T_VIEWER, "/v1/iati/activities.xml?project=GLO-TRAIN", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(s_validate(r.body), 1);
    cli = s_tamctl_export("GLO-TRAIN");
    assert_string_equal(r.body, cli);
    free(cli);
    s_free(&r);
}

static void test_refusals(void **state)
{
    (void)state;
    resp_t r = s_http("GET", T_NONE, "/v1/iati/activities.xml", NULL, NULL);
    s_problem(&r, 401, "");
    s_free(&r);
    r = s_http("GET", T_KEN, "/v1/iati/activities.xml", NULL, NULL); /* the matrix: readers only */
    s_problem(&r, 403, "");
    s_free(&r);
    r = s_http("GET", T_VIEWER, "/v1/iati/activities.xml?colour=red", NULL, NULL);
    s_problem(&r, 400, "/colour");
    s_free(&r);
    r = s_http("GET", T_VIEWER, "/v1/iati/activities.xml?project=no%20such", NULL, NULL);
    s_problem(&r, 400, "/project");
    s_free(&r);
    r = s_http("GET", T_VIEWER, "/v1/iati/activities.xml?project=NO-SUCH", NULL, NULL);
    s_problem(&r, 404, NULL); /* the registry's answer, as problem+json */
    s_free(&r);
    r = s_http("POST", T_VIEWER, "/v1/iati/activities.xml", "{}", NULL);
    s_problem(&r, 405, "");
    s_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_activities),
                                       cmocka_unit_test(test_refusals)};
    return cmocka_run_group_tests(tests, setup, teardown);
}

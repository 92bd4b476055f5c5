/* test_iati.c — issue 14 with the real services, driven through tamctl: the
 * demo data, a proposal endorsed and committed (another one committed and
 * delivered), then `tamctl export iati`:
 *   - the file validates against the official IATI 2.03 activity schema
 *     (../shared/reference/iati/ beside the repository, used in place) with
 *     libxml2's xmlSchemaValidateDoc;
 *   - two exports of the same state are byte for byte the same;
 *   - the commitment is a type-2 transaction of its amount in its project's
 *     activity, citing its standard; the delivered one also a type 3;
 *   - every project is one activity; --project gives just one. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include "services_harness.h"
#include "demo_harness.h"

static int s_setup(void **state)
{
    h_t *h = h_new("test_iati", "coalesce = 50ms\nsync_wait = 2s\n");
    *state = h;
    return h ? 0 : -1;
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

/* Runs tamctl ARGS with stdout to out; fails the test unless it exits 0. */
static void s_ok(h_t *h, const char *out, const char *a1, const char *a2, const char *a3,
                 const char *a4, const char *a5, const char *a6)
{
    char err[160];
    snprintf(err, sizeof err, "%s/ok.err", h->dir);
    int rc = s_tamctl(h, out, err, a1, a2, a3, a4, a5, a6, NULL);
    if (rc != 0) {
        char *e = s_slurp(err);
        fail_msg("tamctl %s %s failed (%d): %s", a1, a2 ? a2 : "", rc, e);
    }
}

/* The first proposal's id ("need/project") and amount, by tamctl --json proposals. */
static void s_top(h_t *h, int skip, char prop[64], long long *amount)
{
    char out[160];
    snprintf(out, sizeof out, "%s/proposals.json", h->dir);
    s_ok(h, out, "--json", "proposals", "--top", "5", NULL, NULL);
    json_error_t je;
    json_t *o = json_load_file(out, 0, &je);
    assert_non_null(o);
    json_t *items = json_is_array(o) ? o : json_object_get(o, "items");
    json_t *pr = json_array_get(items, (size_t)skip);
    if (!pr)
        fail_msg("fewer than %d proposals on the demo data", skip + 1);
    snprintf(prop, 64, "%s", json_string_value(json_object_get(pr, "id")));
    *amount = (long long)json_integer_value(json_object_get(pr, "amount"));
    json_decref(o);
}

static xmlXPathObjectPtr s_xpath(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr c = xmlXPathNewContext(doc);
    assert_non_null(c);
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST expr, c);
    xmlXPathFreeContext(c);
    if (!r)
        fail_msg("bad XPath %s", expr);
    return r;
}

static int s_count(xmlDocPtr doc, const char *expr)
{
    xmlXPathObjectPtr r = s_xpath(doc, expr);
    int n = r->nodesetval ? r->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(r);
    return n;
}

static char *s_string(xmlDocPtr doc, const char *expr)
{
    char full[600];
    snprintf(full, sizeof full, "string(%s)", expr);
    xmlXPathObjectPtr r = s_xpath(doc, full);
    char *s = strdup(r->stringval ? (const char *)r->stringval : "");
    xmlXPathFreeObject(r);
    return s;
}

/* Parses path safely and validates it against the IATI 2.03 activity
 * schema where the reference files are; returns the document. */
static xmlDocPtr s_validated(h_t *h, const char *path)
{
    char xsd[600];
    snprintf(xsd, sizeof xsd, "%s/../shared/reference/iati/iati-activities-schema.xsd", h->src);
    if (access(xsd, R_OK) != 0)
        fail_msg("the IATI 2.03 schema is not at %s (CI has it there)", xsd);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(xsd);
    assert_non_null(pc);
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (!schema)
        fail_msg("cannot parse %s", xsd);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    if (!doc)
        fail_msg("%s is not well-formed XML", path);
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    assert_non_null(vc);
    int rc = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    if (rc != 0)
        fail_msg("%s does not validate against the IATI 2.03 schema (%d); errors above", path, rc);
    return doc;
}

static void test_export(void **state)
{
    h_t *h = *state;
    d_relative_config(h); /* as config/tamatch.ini has them */
    d_load_demo(h);

    /* a commitment, and a delivered one */
    char prop[64], prop2[64], amt[32], amt2[32];
    long long amount, amount2;
    s_top(h, 0, prop, &amount);
    s_top(h, 1, prop2, &amount2);
    long long commit = amount < 50000 ? amount : 50000;
    snprintf(amt, sizeof amt, "%lld", commit);
    snprintf(amt2, sizeof amt2, "%lld", amount2);
    s_ok(h, NULL, "endorse", prop, "--reason", "test", NULL, NULL);
    s_ok(h, NULL, "commit", prop, "--amount", amt, "--reason", "agreement signed");
    s_ok(h, NULL, "endorse", prop2, "--reason", "test", NULL, NULL);
    s_ok(h, NULL, "commit", prop2, "--reason", "agreement signed", NULL, NULL);
    s_ok(h, NULL, "deliver", prop2, "--reason", "workshop held", NULL, NULL);

    char x1[160], x2[160], x3[160];
    snprintf(x1, sizeof x1, "%s/a.xml", h->dir);
    snprintf(x2, sizeof x2, "%s/b.xml", h->dir);
    snprintf(x3, sizeof x3, "%s/one.xml", h->dir);
    s_ok(h, x1, "export", "iati", NULL, NULL, NULL, NULL);
    s_ok(h, x2, "export", "iati", NULL, NULL, NULL, NULL);
    char *b1 = s_slurp(x1), *b2 = s_slurp(x2);
    assert_true(strlen(b1) > 1000);
    if (strcmp(b1, b2) != 0)
        fail_msg("two exports of the same state differ: %s %s", x1, x2);
    print_message("    two exports: %zu bytes each, identical\n", strlen(b1));
    free(b1);
    free(b2);

    xmlDocPtr doc = s_validated(h, x1);
    print_message("    %s validates against iati-activities-schema.xsd 2.03\n", x1);

    /* one activity per project */
    char out[160];
    snprintf(out, sizeof out, "%s/projects.json", h->dir);
    s_ok(h, out, "--json", "project", "list", NULL, NULL, NULL);
    json_error_t je;
    json_t *pl = json_load_file(out, 0, &je);
    assert_non_null(pl);
    json_t *items = json_is_array(pl) ? pl : json_object_get(pl, "items");
    int nproj = (int)json_array_size(items);
    json_decref(pl);
    assert_true(nproj > 0);
    assert_int_equal(s_count(doc, "/iati-activities/iati-activity"), nproj);
    assert_int_equal(s_count(doc, "/iati-activities/iati-activity/reporting-org[@ref='XM-DAC-41128']"),
                     nproj);

    /* the commitment: a type-2 transaction of its amount in its project's activity */
    const char *project = strchr(prop, '/') + 1, *project2 = strchr(prop2, '/') + 1;
    char q[600];
    snprintf(q, sizeof q,
             "/iati-activities/iati-activity[iati-identifier='XM-DAC-41128-%s']/transaction"
             "[transaction-type/@code='2'][value='%s']",
             project, amt);
    assert_int_equal(s_count(doc, q), 1);
    char *text = s_string(doc, strcat(q, "/description/narrative"));
    char need[32];
    snprintf(need, sizeof need, "need %.*s ", (int)(strchr(prop, '/') - prop), prop);
    if (!strstr(text, need) || !strstr(text, "standard "))
        fail_msg("the commitment's description does not cite its need and standard: %s", text);
    print_message("    %s: <transaction-type code=\"2\"/> %s: %s\n", prop, amt, text);
    free(text);
    snprintf(q, sizeof q,
             "/iati-activities/iati-activity[iati-identifier='XM-DAC-41128-%s']/transaction"
             "[transaction-type/@code='3'][value='%s']",
             project2, amt2);
    assert_int_equal(s_count(doc, q), 1);
    /* recipient countries of a project with commitments carry percentages adding up to 100 */
    snprintf(q, sizeof q,
             "sum(/iati-activities/iati-activity[iati-identifier='XM-DAC-41128-%s']"
             "/recipient-country/@percentage)",
             project);
    xmlXPathObjectPtr sum = s_xpath(doc, q);
    assert_true(sum->floatval > 99.999 && sum->floatval < 100.001);
    xmlXPathFreeObject(sum);
    xmlFreeDoc(doc);

    /* --project: that one activity only, valid too */
    s_ok(h, x3, "export", "iati", "--project", project, NULL, NULL);
    doc = s_validated(h, x3);
    assert_int_equal(s_count(doc, "/iati-activities/iati-activity"), 1);
    xmlFreeDoc(doc);
    char err[160];
    snprintf(err, sizeof err, "%s/err", h->dir);
    assert_int_not_equal(s_tamctl(h, NULL, err, "export", "iati", "--project", "NO-SUCH", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_export)};
    int rc = cmocka_run_group_tests_name("iati", tests, s_setup, s_teardown);
    xmlCleanupParser();
    return rc;
}

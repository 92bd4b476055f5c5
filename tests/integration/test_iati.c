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

/* The id ("need/project") and amount of the best proposal still to decide
 * other than `other` (NULL: none), by tamctl --json proposals, once tam-match
 * has run on every input (a decision starts a run; deciding on the run
 * before it is refused). */
static void s_top(h_t *h, const char *other, char prop[64], long long *amount)
{
    char out[160];
    snprintf(out, sizeof out, "%s/proposals.json", h->dir);
    s_ok(h, NULL, "wait", "--timeout", "60", NULL, NULL, NULL);
    s_ok(h, out, "--json", "proposals", "--top", "10", NULL, NULL);
    json_error_t je;
    json_t *o = json_load_file(out, 0, &je);
    assert_non_null(o);
    json_t *items = json_is_array(o) ? o : json_object_get(o, "items");
    json_t *pr = NULL, *it;
    size_t i;
    json_array_foreach(items, i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *st = json_string_value(json_object_get(it, "state"));
        if (id && (!other || strcmp(id, other) != 0) && st && strcmp(st, "proposed") == 0) {
            pr = it;
            break;
        }
    }
    if (!pr)
        fail_msg("no proposal to decide among the top 10 of the demo data");
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
    char full[700]; /* callers pass expressions of up to 600 bytes */
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
    s_top(h, NULL, prop, &amount);
    long long commit = amount < 50000 ? amount : 50000;
    snprintf(amt, sizeof amt, "%lld", commit);
    s_ok(h, NULL, "endorse", prop, "--reason", "test", NULL, NULL);
    s_ok(h, NULL, "commit", prop, "--amount", amt, "--reason", "agreement signed");
    s_top(h, prop, prop2, &amount2);
    snprintf(amt2, sizeof amt2, "%lld", amount2);
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

/* ---- import ------------------------------------------------------------------------------- */

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#define S_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<iati-activities version=\"2.03\">\n"
#define S_GOOD(ID, EXTRA)                                                                        \
    " <iati-activity default-currency=\"USD\">\n"                                                \
    "  <iati-identifier>" ID "</iati-identifier>\n"                                              \
    "  <reporting-org ref=\"NO-BRC-971277882\" type=\"10\"><narrative>Norad</narrative></reporting-org>\n" \
    "  <title><narrative>Prison reform in East Africa</narrative></title>\n"                     \
    "  <description type=\"1\"><narrative>Ignored.</narrative></description>\n"                 \
    "  <participating-org ref=\"NO-BRC-971277882\" role=\"1\" type=\"10\"><narrative>Norway</narrative></participating-org>\n" \
    "  <participating-org ref=\"XI-IATI-EC_DEVCO\" role=\"1\" type=\"40\"><narrative>European Union</narrative></participating-org>\n" \
    "  <participating-org ref=\"XM-DAC-41128\" role=\"4\" type=\"40\"/>\n"                       \
    "  <activity-status code=\"2\"/>\n"                                                          \
    "  <activity-date type=\"1\" iso-date=\"2026-01-01\"/>\n"                                    \
    "  <activity-date type=\"2\" iso-date=\"2026-02-01\"/>\n"                                    \
    "  <activity-date type=\"3\" iso-date=\"2027-12-31\"/>\n"                                    \
    "  <recipient-country code=\"KE\" percentage=\"60\"/>\n"                                     \
    "  <recipient-country code=\"UG\" percentage=\"40\"/>\n"                                     \
    "  <recipient-region code=\"202\" vocabulary=\"2\"/>\n"                                      \
    "  <sector code=\"15137\" vocabulary=\"1\" percentage=\"100\"/>\n" EXTRA                     \
    "  <budget type=\"1\" status=\"2\"><period-start iso-date=\"2026-01-01\"/><period-end iso-date=\"2026-12-31\"/>" \
    "<value value-date=\"2026-01-01\">300000</value></budget>\n"                                \
    "  <budget type=\"1\" status=\"2\"><period-start iso-date=\"2027-01-01\"/><period-end iso-date=\"2027-12-31\"/>" \
    "<value currency=\"USD\" value-date=\"2027-01-01\">100000</value></budget>\n"               \
    "  <transaction><transaction-type code=\"11\"/><transaction-date iso-date=\"2026-01-15\"/>"  \
    "<value value-date=\"2026-01-15\">300000</value><provider-org ref=\"NO-BRC-971277882\"/></transaction>\n" \
    "  <transaction><transaction-type code=\"1\"/><transaction-date iso-date=\"2026-02-01\"/>"   \
    "<value value-date=\"2026-02-01\">150000</value><provider-org ref=\"NO-BRC-971277882\"/></transaction>\n" \
    "  <transaction><transaction-type code=\"1\"/><transaction-date iso-date=\"2026-03-01\"/>"   \
    "<value value-date=\"2026-03-01\">50000</value><provider-org ref=\"XI-IATI-EC_DEVCO\"/></transaction>\n" \
    "  <transaction><transaction-type code=\"2\"/><transaction-date iso-date=\"2026-03-01\"/>"   \
    "<value value-date=\"2026-03-01\">1000</value></transaction>\n"                             \
    " </iati-activity>\n"

static int s_import_setup(void **state)
{
    h_t *h = h_new("test_iati_import", NULL);
    *state = h;
    if (!h || s_start(h, S_REGISTRY) != 0)
        return -1;
    return 0;
}

static json_t *s_show(h_t *h, const char *id)
{
    char out[160];
    snprintf(out, sizeof out, "%s/show.json", h->dir);
    s_ok(h, out, "--json", "project", "show", id, NULL, NULL);
    json_error_t je;
    json_t *o = json_load_file(out, 0, &je);
    if (!o)
        fail_msg("project show %s: not JSON", id);
    return o;
}

static void test_import(void **state)
{
    h_t *h = *state;
    char good[160], out[160], err[160];
    snprintf(good, sizeof good, "%s/good.xml", h->dir);
    snprintf(out, sizeof out, "%s/import.out", h->dir);
    snprintf(err, sizeof err, "%s/import.err", h->dir);
    s_write(good, S_HEAD S_GOOD("XM-DAC-41128-EA-PRISONS", "") "</iati-activities>\n");
    xmlDocPtr gd = s_validated(h, good); /* the test's activities are valid IATI 2.03 */
    xmlFreeDoc(gd);
    char sample[600];
    snprintf(sample, sizeof sample, "%s/config/samples/iati-activities.xml", h->src);
    gd = s_validated(h, sample); /* and so is the README's sample */
    xmlFreeDoc(gd);

    /* --dry-run stores nothing */
    assert_int_equal(s_tamctl(h, out, err, "project", "import", "--iati", "--dry-run", good, NULL), 0);
    char *said = s_slurp(out);
    if (!strstr(said, "dry run, nothing stored") || !strstr(said, "-> project EA-PRISONS (new)"))
        fail_msg("dry run said: %s", said);
    free(said);
    assert_int_not_equal(s_tamctl(h, NULL, NULL, "project", "show", "EA-PRISONS", NULL), 0);

    /* each mapped element */
    if (s_tamctl(h, out, err, "project", "import", "--iati", good, NULL) != 0)
        fail_msg("import: %s", s_slurp(err));
    json_t *o = s_show(h, "EA-PRISONS");
    json_t *rec = json_object_get(o, "record");
    assert_non_null(rec);
    json_t *p = json_object_get(rec, "project");
    assert_non_null(p);
    char *dump = json_dumps(o, JSON_COMPACT);
    print_message("    imported: %.600s\n", dump);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Prison reform in East Africa");
    assert_string_equal(json_string_value(json_object_get(p, "status")), "active");
    assert_string_equal(json_string_value(json_object_get(p, "start")), "2026-02-01"); /* actual wins */
    assert_string_equal(json_string_value(json_object_get(p, "end")), "2027-12-31");
    assert_string_equal(json_string_value(json_object_get(p, "dac")), "15137");
    assert_int_equal(json_integer_value(json_object_get(p, "budget")), 400000);
    assert_string_equal(json_string_value(json_object_get(p, "budget_status")), "committed");
    json_t *dn = json_object_get(p, "donors");
    assert_int_equal(json_array_size(dn), 2);
    /* shares from incoming funds: 150,000 and 50,000 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(dn, 0), "donor")),
                        "NO-BRC-971277882");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(dn, 0), "percent")), 75);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(dn, 1), "percent")), 25);
    json_t *em = json_object_get(p, "earmarks");
    assert_non_null(strstr(dump, "\"KEN\""));
    assert_non_null(strstr(dump, "\"UGA\""));
    assert_non_null(strstr(dump, "\"202\""));
    assert_non_null(strstr(dump, "\"A-SMR\"")); /* 15137 Prisons funds the prison standards */
    assert_null(strstr(dump, "\"D-JUDIC\""));
    assert_int_equal(json_array_size(json_object_get(em, "countries")), 2);
    assert_int_equal(json_integer_value(json_object_get(rec, "pledged")), 300000);
    assert_int_equal(json_integer_value(json_object_get(rec, "received")), 200000);
    assert_int_equal(json_array_size(json_object_get(o, "ledger")), 3); /* the outgoing type 2 is not */
    int64_t rev = json_integer_value(json_object_get(rec, "revision"));
    free(dump);
    json_decref(o);

    /* idempotent: the same file again stores nothing new */
    if (s_tamctl(h, out, err, "project", "import", "--iati", good, NULL) != 0)
        fail_msg("second import: %s", s_slurp(err));
    said = s_slurp(out);
    if (!strstr(said, "0 ledger entries recorded"))
        fail_msg("second import said: %s", said);
    free(said);
    o = s_show(h, "EA-PRISONS");
    rec = json_object_get(o, "record");
    assert_int_equal(json_integer_value(json_object_get(rec, "revision")), rev);
    assert_int_equal(json_integer_value(json_object_get(rec, "received")), 200000);
    assert_int_equal(json_array_size(json_object_get(o, "ledger")), 3);
    json_decref(o);

    /* a file mixing a good and a bad activity: the bad one's elements are
     * listed with XPath and line, nothing of it is stored; the good one is */
    char mixed[160];
    snprintf(mixed, sizeof mixed, "%s/mixed.xml", h->dir);
    s_write(mixed, S_HEAD S_GOOD("GOOD-ONE", "")
            S_GOOD("BAD-ONE", "  <recipient-country code=\"XX\"/>\n"
                              "  <sector code=\"99999\" vocabulary=\"1\"/>\n"
                              "  <budget><value currency=\"EUR\" value-date=\"2026-01-01\">5</value></budget>\n"
                              "  <frobnicate/>\n")
            "</iati-activities>\n");
    assert_int_equal(s_tamctl(h, out, err, "project", "import", "--iati", mixed, NULL), 65);
    said = s_slurp(err);
    print_message("    refusals:\n%s", said);
    const char *want[] = {"/iati-activities/iati-activity[2]/recipient-country[3]: @code XX",
                          "/iati-activities/iati-activity[2]/sector[2]: sector 99999",
                          "/iati-activities/iati-activity[2]/budget[1]/value: currency EUR",
                          "/iati-activities/iati-activity[2]/frobnicate: element frobnicate",
                          "activity BAD-ONE refused", NULL};
    for (int i = 0; want[i]; i++)
        if (!strstr(said, want[i]))
            fail_msg("the refusals lack \"%s\": %s", want[i], said);
    assert_non_null(strstr(said, "mixed.xml:"));
    free(said);
    o = s_show(h, "GOOD-ONE");
    json_decref(o);
    assert_int_not_equal(s_tamctl(h, NULL, NULL, "project", "show", "BAD-ONE", NULL), 0);

    /* an activity the registry would refuse (its new donor's IATI id is not
     * valid there): refused before anything is sent, with the registry's
     * reason; no donor, project or ledger entry of it */
    char reg[160];
    snprintf(reg, sizeof reg, "%s/registry-refused.xml", h->dir);
    s_write(reg, S_HEAD
            " <iati-activity default-currency=\"USD\">\n"
            "  <iati-identifier>REG-REFUSED</iati-identifier>\n"
            "  <reporting-org ref=\"XM-DAC-41128\"/>\n"
            "  <title><narrative>Refused</narrative></title>\n"
            "  <participating-org ref=\"XM-DAC-918-3\" role=\"1\" type=\"40\"><narrative>X</narrative></participating-org>\n"
            "  <activity-status code=\"1\"/>\n"
            "  <activity-date type=\"1\" iso-date=\"2026-01-01\"/><activity-date type=\"3\" iso-date=\"2026-12-31\"/>\n"
            "  <sector code=\"15130\"/>\n"
            "  <transaction><transaction-type code=\"11\"/><transaction-date iso-date=\"2026-01-15\"/>"
            "<value value-date=\"2026-01-15\">1000</value></transaction>\n"
            " </iati-activity>\n</iati-activities>\n");
    assert_int_equal(s_tamctl(h, out, err, "project", "import", "--iati", reg, NULL), 65);
    said = s_slurp(err);
    if (!strstr(said, "participating-org: the registry would refuse the new donor XM-DAC-918-3: "
                      "iati_id:") ||
        !strstr(said, "activity REG-REFUSED refused: nothing of it is stored"))
        fail_msg("registry refusal said: %s", said);
    free(said);
    assert_int_not_equal(s_tamctl(h, NULL, NULL, "project", "show", "REG-REFUSED", NULL), 0);
    assert_int_not_equal(s_tamctl(h, NULL, NULL, "donor", "show", "XM-DAC-918-3", NULL), 0);
}

/* Malformed XML, billion laughs, XXE and a 200 MB file: refused with a clear
 * error, nothing stored, memory bounded (the big file is never read). */
static void test_hostile(void **state)
{
    h_t *h = *state;
    char path[160], err[160];
    snprintf(err, sizeof err, "%s/hostile.err", h->dir);
    static const struct {
        const char *name, *text, *said;
    } cases[] = {
        {"malformed", S_HEAD " <iati-activity>\n  <title>\n </iati-activity>\n", "not well-formed XML: Premature end of data"},
        {"laughs",
         "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
         "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
         "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n"
         "<iati-activities version=\"2.03\"><iati-activity><iati-identifier>&lol3;</iati-identifier>"
         "</iati-activity></iati-activities>\n",
         "DOCTYPE or ENTITY declaration is refused"},
        {"xxe",
         "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
         "<iati-activities version=\"2.03\"><iati-activity><iati-identifier>&xxe;</iati-identifier>"
         "</iati-activity></iati-activities>\n",
         "DOCTYPE or ENTITY declaration is refused"},
        {"notiati", "<?xml version=\"1.0\"?>\n<root/>\n", "not an IATI 2.0x activity file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.xml", h->dir, cases[i].name);
        s_write(path, cases[i].text);
        assert_int_not_equal(s_tamctl(h, NULL, err, "project", "import", "--iati", path, NULL), 0);
        char *said = s_slurp(err);
        if (!strstr(said, cases[i].said))
            fail_msg("%s: said %s", cases[i].name, said);
        print_message("    %s: %s", cases[i].name, said);
        free(said);
    }
    snprintf(path, sizeof path, "%s/big.xml", h->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(S_HEAD, f);
    assert_int_equal(ftruncate(fileno(f), 200L << 20), 0); /* sparse: no disk used */
    fclose(f);
    assert_int_not_equal(s_tamctl(h, NULL, err, "project", "import", "--iati", path, NULL), 0);
    char *said = s_slurp(err);
    if (!strstr(said, "200 MiB is more than the 32 MiB"))
        fail_msg("200 MB: said %s", said);
    print_message("    200 MB: %s", said);
    free(said);
    /* nothing stored by any of them */
    char out[160];
    snprintf(out, sizeof out, "%s/list.json", h->dir);
    s_ok(h, out, "--json", "project", "list", NULL, NULL, NULL);
    said = s_slurp(out);
    assert_null(strstr(said, "\"id\""));
    free(said);
}

/* Round trip: the demo's projects exported, imported into an empty
 * registry, exported again give the same activities, byte for byte. */
static void test_round_trip(void **state)
{
    h_t *h = *state;
    d_relative_config(h);
    d_load_demo(h);
    char a[160], b[160], out[160], err[160];
    snprintf(a, sizeof a, "%s/a.xml", h->dir);
    snprintf(out, sizeof out, "%s/rt.out", h->dir);
    snprintf(err, sizeof err, "%s/rt.err", h->dir);
    /* a cancelled and a closed project travel as activity-status 5 and 4 */
    s_ok(h, NULL, "project", "close", "GLO-CULTURAL", "--status", "cancelled", "--reason=stopped");
    s_ok(h, NULL, "project", "close", "HTI-JUSTICE", "--reason=finished", NULL, NULL);
    s_ok(h, a, "export", "iati", NULL, NULL, NULL, NULL);
    char *text = s_slurp(a);
    assert_non_null(strstr(text, "<activity-status code=\"5\"/>"));
    assert_non_null(strstr(text, "<activity-status code=\"4\"/>"));
    free(text);

    h_t *e = h_new("test_iati_empty", NULL);
    assert_non_null(e);
    for (int s = 0; s < S_N; s++)
        if (s_start(e, s) != 0)
            fail_msg("tam-%s did not start", s_names[s]);
    int rc = s_tamctl(e, out, err, "project", "import", "--iati", a, NULL);
    if (rc != 0)
        fail_msg("import of the export into an empty registry (%d): %s", rc, s_slurp(err));
    char *said = s_slurp(out);
    print_message("    %s", said);
    free(said);
    /* again: nothing new (closed and cancelled projects included) */
    rc = s_tamctl(e, out, err, "project", "import", "--iati", a, NULL);
    said = s_slurp(out);
    if (rc != 0 || !strstr(said, "0 donor(s) added, 0 ledger entries recorded"))
        fail_msg("second import (%d): %s %s", rc, said, s_slurp(err));
    free(said);
    snprintf(b, sizeof b, "%s/b.xml", h->dir);
    s_ok(e, b, "export", "iati", NULL, NULL, NULL, NULL);
    h_free(e);
    char *ta = s_slurp(a), *tb = s_slurp(b);
    if (strcmp(ta, tb) != 0) {
        const char *p = ta, *q = tb;
        int line = 1;
        while (*p && *p == *q) {
            line += *p == '\n';
            p++, q++;
        }
        fail_msg("the second export differs from the first at line %d:\n%.200s\n---\n%.200s", line,
                 p - 40 > ta ? p - 40 : ta, q - 40 > tb ? q - 40 : tb);
    }
    print_message("    export, import into an empty registry, export: the same %zu bytes\n",
                  strlen(ta));
    free(ta);
    free(tb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hostile, s_import_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_import, s_import_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, s_setup, s_teardown)};
    int rc = cmocka_run_group_tests_name("iati", tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}

/* test_iati_money.c — issue 14's import rules beyond USD and M49, with the
 * real tam-registry, through tamctl:
 *   - an amount in another currency is imported only with a rate of
 *     [iati] usd_rates_file for its currency and @value-date, converted
 *     exactly (no floating point) and said so in the ledger note; any other
 *     is refused with its XPath, and nothing of the activity is stored;
 *   - recipient-region of vocabulary 1 (DAC) becomes the M49 area that
 *     config/catalog/iati_regions.csv equates it with; another DAC region
 *     is refused;
 *   - a donor that a refused activity would have created is not created,
 *     whether the activity is refused for its own elements or because the
 *     registry would refuse it; the good activity of the same file is
 *     stored with its new donor. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>
#include "services_harness.h"

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_iati_money", NULL);
    *state = h;
    if (!h)
        return -1;
    char path[200];
    snprintf(path, sizeof path, "%s/rates.csv", h->dir);
    s_write(path, "currency,value_date,usd,source\n"
                  "EUR,2026-01-15,1.085,test rate\n"
                  "GBP,2026-01-15,1.2675,test rate\n");
    FILE *f = fopen(h->cfg, "a");
    fprintf(f, "[iati]\nusd_rates_file = rates.csv\n"); /* relative to the config's directory */
    fclose(f);
    return s_start(h, S_REGISTRY);
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

#define S_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<iati-activities version=\"2.03\">\n"
/* An activity in currency CUR funded by FUNDERS, with EXTRA elements. */
#define S_ACT(ID, CUR, FUNDERS, EXTRA)                                                           \
    " <iati-activity default-currency=\"" CUR "\">\n"                                           \
    "  <iati-identifier>" ID "</iati-identifier>\n"                                              \
    "  <title><narrative>Justice " ID "</narrative></title>\n" FUNDERS                           \
    "  <activity-status code=\"2\"/>\n"                                                          \
    "  <activity-date type=\"1\" iso-date=\"2026-01-01\"/>\n"                                    \
    "  <activity-date type=\"3\" iso-date=\"2026-12-31\"/>\n"                                    \
    "  <sector code=\"15130\" vocabulary=\"1\"/>\n" EXTRA " </iati-activity>\n"
#define S_NORWAY "  <participating-org ref=\"NO-BRC-971277882\" role=\"1\" type=\"10\"><narrative>Norway</narrative></participating-org>\n"

static json_t *s_show(h_t *h, const char *id)
{
    char out[160];
    snprintf(out, sizeof out, "%s/show.json", h->dir);
    if (s_tamctl(h, out, NULL, "--json", "project", "show", id, NULL) != 0)
        return NULL;
    json_error_t je;
    return json_load_file(out, 0, &je);
}

static char *s_import(h_t *h, const char *file, int want_exit)
{
    char out[160], err[160];
    snprintf(out, sizeof out, "%s/import.out", h->dir);
    snprintf(err, sizeof err, "%s/import.err", h->dir);
    int rc = s_tamctl(h, out, err, "project", "import", "--iati", file, NULL);
    char *o = s_slurp(out), *e = s_slurp(err);
    if (rc != want_exit)
        fail_msg("import %s exited %d, not %d:\n%s%s", file, rc, want_exit, o, e);
    size_t n = strlen(o) + strlen(e) + 1;
    char *both = malloc(n + 1);
    snprintf(both, n + 1, "%s%s", o, e);
    free(o);
    free(e);
    return both;
}

static void test_currency(void **state)
{
    h_t *h = *state;
    char f[200];
    snprintf(f, sizeof f, "%s/eur.xml", h->dir);
    /* 100,000.00 EUR at 1.085 = 108,500 USD; 1,000.50 EUR = 1,085.5425 -> 1,086;
     * GBP 2,000 at 1.2675 = 2,535 */
    s_write(f, S_HEAD S_ACT("EUR-OK", "EUR", S_NORWAY,
                            "  <budget type=\"1\" status=\"2\"><period-start iso-date=\"2026-01-01\"/>"
                            "<period-end iso-date=\"2026-12-31\"/><value value-date=\"2026-01-15\">100000.00</value></budget>\n"
                            "  <transaction><transaction-type code=\"1\"/><transaction-date iso-date=\"2026-02-01\"/>"
                            "<value value-date=\"2026-01-15\">1000.50</value></transaction>\n"
                            "  <transaction><transaction-type code=\"11\"/><transaction-date iso-date=\"2026-02-02\"/>"
                            "<value currency=\"GBP\" value-date=\"2026-01-15\">2000</value></transaction>\n")
                   "</iati-activities>\n");
    char *said = s_import(h, f, 0);
    if (!strstr(said, "3 amount(s) converted to USD at the rates of "))
        fail_msg("no conversion summary: %s", said);
    free(said);
    json_t *o = s_show(h, "EUR-OK");
    assert_non_null(o);
    json_t *rec = json_object_get(o, "record");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "project"), "budget")), 108500);
    assert_int_equal(json_integer_value(json_object_get(rec, "received")), 1086);
    assert_int_equal(json_integer_value(json_object_get(rec, "pledged")), 2535);
    char *dump = json_dumps(json_object_get(o, "ledger"), JSON_COMPACT);
    if (!strstr(dump, "[1000.50 EUR at 1.085 USD (value-date 2026-01-15)]") ||
        !strstr(dump, "[2000 GBP at 1.2675 USD (value-date 2026-01-15)]"))
        fail_msg("the ledger notes do not say what was converted: %s", dump);
    free(dump);
    json_decref(o);
    /* the same file again: nothing new (the notes are the same) */
    said = s_import(h, f, 0);
    if (!strstr(said, "0 ledger entries recorded"))
        fail_msg("second import: %s", said);
    free(said);

    /* a date without a rate, a currency without a rate, a value-date missing,
     * a malformed amount: each refused with its XPath; nothing stored */
    snprintf(f, sizeof f, "%s/eur-bad.xml", h->dir);
    s_write(f, S_HEAD S_ACT("EUR-BAD", "EUR", S_NORWAY,
                            "  <budget type=\"1\" status=\"1\"><period-start iso-date=\"2026-01-01\"/>"
                            "<period-end iso-date=\"2026-12-31\"/><value value-date=\"2026-01-16\">5</value></budget>\n"
                            "  <transaction><transaction-type code=\"1\"/><transaction-date iso-date=\"2026-02-01\"/>"
                            "<value currency=\"JPY\" value-date=\"2026-01-15\">7</value></transaction>\n"
                            "  <transaction><transaction-type code=\"1\"/><transaction-date iso-date=\"2026-02-01\"/>"
                            "<value>8</value></transaction>\n"
                            "  <transaction><transaction-type code=\"1\"/><transaction-date iso-date=\"2026-02-01\"/>"
                            "<value currency=\"USD\">1e5</value></transaction>\n")
                   "</iati-activities>\n");
    said = s_import(h, f, 65);
    static const char *const want[] = {
        "/iati-activities/iati-activity/budget/value: currency EUR, @value-date 2026-01-16: no rate",
        "/iati-activities/iati-activity/transaction[1]/value: currency JPY, @value-date 2026-01-15: no rate",
        "/iati-activities/iati-activity/transaction[2]/value: currency EUR, @value-date (missing)",
        "/iati-activities/iati-activity/transaction[3]/value: amount 1e5 is not a decimal number",
        "activity EUR-BAD refused: nothing of it is stored"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(said, want[i]))
            fail_msg("the refusals lack \"%s\":\n%s", want[i], said);
    free(said);
    assert_null(s_show(h, "EUR-BAD"));
}

static void test_regions(void **state)
{
    h_t *h = *state;
    char f[200];
    snprintf(f, sizeof f, "%s/regions.xml", h->dir);
    s_write(f, S_HEAD S_ACT("DAC-REG", "USD", S_NORWAY,
                            "  <recipient-region code=\"1027\" vocabulary=\"1\"/>\n"
                            "  <recipient-region code=\"619\"/>\n" /* vocabulary 1 is the default */
                            "  <recipient-region code=\"202\" vocabulary=\"2\"/>\n")
                   S_ACT("DAC-BAD", "USD", S_NORWAY,
                         "  <recipient-region code=\"289\" vocabulary=\"1\"/>\n"
                         "  <recipient-region code=\"14\" vocabulary=\"99\"/>\n")
                   "</iati-activities>\n");
    char *said = s_import(h, f, 65);
    if (!strstr(said, "/iati-activities/iati-activity[2]/recipient-region[1]: DAC region 289 (vocabulary 1) "
                      "is not in config/catalog/iati_regions.csv") ||
        !strstr(said, "/iati-activities/iati-activity[2]/recipient-region[2]: @vocabulary 99"))
        fail_msg("region refusals: %s", said);
    free(said);
    json_t *o = s_show(h, "DAC-REG");
    assert_non_null(o);
    json_t *regions = json_object_get(json_object_get(json_object_get(json_object_get(o, "record"),
                                                                        "project"), "earmarks"), "regions");
    char *r = json_dumps(regions, JSON_COMPACT);
    assert_string_equal(r, "[\"014\",\"143\",\"202\"]"); /* Eastern Africa, Central Asia, Sub-Saharan Africa */
    free(r);
    json_decref(o);
    assert_null(s_show(h, "DAC-BAD"));
}

/* Whether donor id exists in the registry. */
static bool s_donor_exists(h_t *h, const char *id)
{
    char out[160];
    snprintf(out, sizeof out, "%s/donors.json", h->dir);
    assert_int_equal(s_tamctl(h, out, NULL, "--json", "donor", "list", NULL), 0);
    char *t = s_slurp(out);
    char q[80];
    snprintf(q, sizeof q, "\"id\":\"%s\"", id);
    char *compact = t;
    for (char *s = t, *d = t; ; s++) /* drop spaces: the listing may be pretty-printed */
        if (*s != ' ' && *s != '\n' && !(*d++ = *s))
            break;
    bool found = strstr(compact, q) != NULL;
    free(t);
    return found;
}

static void test_refused_donors(void **state)
{
    h_t *h = *state;
    char f[200];
    snprintf(f, sizeof f, "%s/donors.xml", h->dir);
    s_write(f, S_HEAD
            /* the project the registry would refuse (shares of 60%), after its
             * new donor was resolved */
            S_ACT("REF-OWN", "USD",
                  "  <participating-org ref=\"GB-GOV-1\" role=\"1\" type=\"10\"><narrative>United Kingdom</narrative></participating-org>\n",
                  "  <tm:project xmlns:tm=\"urn:tamatch:iati:1\"><tm:share donor=\"GB-GOV-1\" percent=\"60\"/></tm:project>\n")
            /* a valid new donor beside one the registry would refuse (XM-DAC takes digits only) */
            S_ACT("REF-REG", "USD",
                  "  <participating-org ref=\"SE-0-SE-6-2021004499\" role=\"1\" type=\"10\"><narrative>Sweden</narrative></participating-org>\n"
                  "  <participating-org ref=\"XM-DAC-918-3\" role=\"1\" type=\"40\"><narrative>X</narrative></participating-org>\n",
                  "")
            /* good: its new donor is created */
            S_ACT("REF-GOOD", "USD",
                  "  <participating-org ref=\"FI-3\" role=\"1\" type=\"10\"><narrative>Finland</narrative></participating-org>\n",
                  "")
            "</iati-activities>\n");
    char *said = s_import(h, f, 65);
    if (!strstr(said, "activity REF-OWN refused") || !strstr(said, "activity REF-REG refused") ||
        !strstr(said, "/iati-activities/iati-activity[1]: the registry would refuse the project: "
                      "donors: shares add up to 60, not 100") ||
        !strstr(said, "/iati-activities/iati-activity[2]/participating-org[2]: the registry would "
                      "refuse the new donor XM-DAC-918-3: iati_id:"))
        fail_msg("refusals: %s", said);
    free(said);
    assert_false(s_donor_exists(h, "GB-GOV-1"));
    assert_false(s_donor_exists(h, "SE-0-SE-6-2021004499"));
    assert_false(s_donor_exists(h, "XM-DAC-918-3"));
    assert_null(s_show(h, "REF-OWN"));
    assert_null(s_show(h, "REF-REG"));
    assert_true(s_donor_exists(h, "FI-3"));
    json_t *o = s_show(h, "REF-GOOD");
    assert_non_null(o);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_currency),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_refused_donors),
    };
    return cmocka_run_group_tests_name("iati_money", tests, s_setup, s_teardown);
}

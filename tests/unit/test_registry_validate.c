/* test_registry_validate.c — the registry's validation rules
 * (services/registry/registry_validate.c) against the committed catalogue:
 * each rule refuses its case with the code and the field path it names, a
 * record with many problems gets all of them listed, and good records (the
 * shapes of the sample data) pass. One withdrawn DAC code is tested on a copy
 * of the catalogue. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/catalog.h"
#include "tam/error.h"
#include "registry.h" /* services/registry, linked by its CMakeLists.txt */

typedef struct {
    tam_catalog_t *cat;
    tam_arena_t *a;
    tam_rpc_error_t err;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    const char *root = getenv("TAM_SOURCE_DIR");
    char dir[1024], msg[512];
    if (!f || !root) {
        fprintf(stderr, "TAM_SOURCE_DIR is not set\n");
        free(f);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/config/catalog", root);
    if (tam_catalog_load(&f->cat, dir, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s\n", msg);
        free(f);
        return -1;
    }
    f->a = tam_arena_new(0);
    *state = f;
    return f->a ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tam_rpc_error_clear(&f->err);
    tam_arena_destroy(&f->a);
    tam_catalog_destroy(&f->cat);
    free(f);
    return 0;
}

/* Each test starts with an empty error and arena. */
static int reset(void **state)
{
    fixture_t *f = *state;
    tam_rpc_error_clear(&f->err);
    tam_rpc_error_init(&f->err);
    tam_arena_reset(f->a);
    return 0;
}

/* Decodes JSON text into a struct of schema s; fails the test if it does not. */
static void *s_json(fixture_t *f, const tam_schema_t *s, const char *json)
{
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    int rc = tam_json_to_msgpack(json, strlen(json), &sb, &ce);
    if (rc)
        fail_msg("bad JSON in test: %s", ce.message);
    void *out = tam_arena_alloc(f->a, s->size);
    assert_non_null(out);
    rc = tam_decode(s, sb.data, sb.size, f->a, out, &ce);
    msgpack_sbuffer_destroy(&sb);
    if (rc)
        fail_msg("test record does not decode: %s: %s", ce.path, ce.message);
    return out;
}

/* True if err lists a problem at field whose message contains text. */
static bool s_has(const tam_rpc_error_t *e, const char *field, const char *text)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->errors[i].field, field) == 0 && (!text || strstr(e->errors[i].message, text)))
            return true;
    return false;
}

static void s_dump(const tam_rpc_error_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "  %s: %s\n", e->errors[i].field, e->errors[i].message);
}

#define assert_problem(e, field, text)                                                  \
    do {                                                                                \
        if (!s_has((e), (field), (text))) {                                             \
            s_dump(e);                                                                  \
            fail_msg("no problem at %s containing '%s'", (field), (text) ? (text) : ""); \
        }                                                                               \
    } while (0)

/* ---- ids and IATI identifiers ---------------------------------------------- */

static void test_ids(void **state)
{
    (void)state;
    assert_true(tam_registry_id_valid("NOR"));
    assert_true(tam_registry_id_valid("EU-ECHO"));
    assert_true(tam_registry_id_valid("glo_z82"));
    assert_true(tam_registry_id_valid("12345678901234567890123456789012"));
    assert_false(tam_registry_id_valid("123456789012345678901234567890123"));
    assert_false(tam_registry_id_valid("N"));
    assert_false(tam_registry_id_valid("-NOR"));
    assert_false(tam_registry_id_valid("_NOR"));
    assert_false(tam_registry_id_valid("NO R"));
    assert_false(tam_registry_id_valid("NOR/1"));
    assert_false(tam_registry_id_valid("NOR.1"));
    assert_false(tam_registry_id_valid(""));
    assert_false(tam_registry_id_valid(NULL));
}

static void test_iati(void **state)
{
    (void)state;
    assert_true(tam_registry_iati_valid("XM-DAC-41128"));
    assert_true(tam_registry_iati_valid("XM-DAC-8"));
    assert_true(tam_registry_iati_valid("NO-BRC-971277882"));
    assert_true(tam_registry_iati_valid("GB-COH-01234567"));
    assert_true(tam_registry_iati_valid("GB-GOV-1"));
    assert_true(tam_registry_iati_valid("XI-IATI-EC_INTPA"));
    assert_true(tam_registry_iati_valid("US-EIN-13.1234"));
    assert_false(tam_registry_iati_valid("XM-DAC-41A28"));  /* DAC codes are digits */
    assert_false(tam_registry_iati_valid("XM-DAC-"));
    assert_false(tam_registry_iati_valid("XM-DAC-41128-1"));
    assert_false(tam_registry_iati_valid("xm-DAC-41128"));  /* agency prefix upper case */
    assert_false(tam_registry_iati_valid("X-DAC-41128"));
    assert_false(tam_registry_iati_valid("XMDAC41128"));
    assert_false(tam_registry_iati_valid("GB"));
    assert_false(tam_registry_iati_valid("GB-"));
    assert_false(tam_registry_iati_valid("GB-COH--1"));
    assert_false(tam_registry_iati_valid("GB-COH-1-"));
    assert_false(tam_registry_iati_valid("GB-COH 1"));
    assert_false(tam_registry_iati_valid("GB-COH/1"));
    assert_false(tam_registry_iati_valid(""));
    assert_false(tam_registry_iati_valid(NULL));
}

/* ---- donors ------------------------------------------------------------------- */

static void test_donor_ok(void **state)
{
    fixture_t *f = *state;
    tam_donor_t *d = s_json(f, &tam_schema_donor,
                            "{\"id\":\"UNPBF\",\"name\":\"Peacebuilding Fund\","
                            "\"kind\":\"multilateral\",\"iati_id\":\"XM-DAC-41141\"}");
    assert_int_equal(tam_registry_check_donor(d, &f->err), 0);
    assert_int_equal(f->err.n, 0);
    d = s_json(f, &tam_schema_donor, "{\"id\":\"NOR\",\"name\":\"Norway\",\"kind\":\"government\","
                                     "\"iati_id\":\"\",\"revision\":0}");
    assert_int_equal(tam_registry_check_donor(d, &f->err), 0);
}

static void test_donor_refused(void **state)
{
    fixture_t *f = *state;
    tam_donor_t *d = s_json(f, &tam_schema_donor,
                            "{\"id\":\"N O\",\"name\":\"  \",\"kind\":\"government\","
                            "\"iati_id\":\"XM-DAC-ABC\"}");
    assert_int_equal(tam_registry_check_donor(d, &f->err), TAM_EINVAL);
    assert_int_equal(f->err.n, 3);
    assert_problem(&f->err, "id", "not a valid donor id");
    assert_problem(&f->err, "name", "blank");
    assert_problem(&f->err, "iati_id", "IATI");
    assert_string_equal(f->err.field, "id"); /* the first problem is the top-level one */
}

/* ---- projects ----------------------------------------------------------------- */

#define PROJECT(donors, extra, earmarks)                                                   \
    "{\"id\":\"AFR-PRISON\",\"title\":\"Prison reform in Africa\",\"donors\":" donors        \
    ",\"budget\":2850000,\"budget_status\":\"indicative\",\"start\":\"2026-10-01\","         \
    "\"end\":\"2028-08-03\",\"status\":\"active\",\"dac\":\"15137\"" extra ",\"earmarks\":" \
    earmarks "}"

static const char *const g_donors[] = {"NOR", "SWE", "CHE", "UNPBF", NULL};

static int s_donor_fn(const char *id, void *arg)
{
    int *calls = arg;
    (*calls)++;
    for (size_t i = 0; g_donors[i]; i++)
        if (strcmp(g_donors[i], id) == 0)
            return 0;
    return TAM_ENOTFOUND;
}

static int s_donor_broken(const char *id, void *arg)
{
    (void)id, (void)arg;
    return TAM_ESTORE;
}

static int s_check(fixture_t *f, const char *json)
{
    int calls = 0;
    tam_project_t *p = s_json(f, &tam_schema_project, json);
    return tam_registry_check_project(f->cat, p, s_donor_fn, &calls, &f->err);
}

static void test_project_ok(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_check(f, PROJECT("[{\"donor\":\"CHE\",\"percent\":100}]", "",
                                        "{\"groups\":[\"AFRICAN\"],\"categories\":[\"A\"],"
                                        "\"standards\":[\"A-SMR\",\"A-BPTP\",\"A-BODY\"],"
                                        "\"post_conflict_only\":false,\"max_per_need\":250000}")),
                     0);
    reset(state);
    assert_int_equal(s_check(f, PROJECT("[{\"donor\":\"CHE\",\"percent\":81},"
                                        "{\"donor\":\"UNPBF\",\"percent\":19}]",
                                        "", "{}")),
                     0);
    reset(state);
    /* every kind of earmark at once, a window of one day, M49 codes with zeros */
    assert_int_equal(
        s_check(f, "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],"
                   "\"budget\":0,\"budget_status\":\"committed\",\"start\":\"2026-01-01\","
                   "\"end\":\"2026-01-01\",\"status\":\"pipeline\",\"dac\":\"15130\","
                   "\"earmarks\":{\"countries\":[\"CAF\",\"COD\"],\"groups\":[\"AFRICAN\"],"
                   "\"regions\":[\"002\",\"202\",\"011\"],\"categories\":[\"A\",\"D\"],"
                   "\"standards\":[\"A-SMR\",\"D-JUDIC\"],\"modalities\":[\"training\"],"
                   "\"post_conflict_only\":true,\"max_per_need\":0}}"),
        0);
}

static void test_project_unknown_codes(void **state)
{
    fixture_t *f = *state;
    int rc = s_check(f, "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],"
                        "\"budget\":10,\"budget_status\":\"committed\",\"start\":\"2026-01-01\","
                        "\"end\":\"2027-01-01\",\"status\":\"active\",\"dac\":\"99999\","
                        "\"earmarks\":{\"countries\":[\"CAF\",\"XYZ\"],\"groups\":[\"NORDIC\"],"
                        "\"regions\":[\"999\"],\"categories\":[\"E\"],"
                        "\"standards\":[\"Z-NONE\"],\"modalities\":[\"magic\"]}}");
    assert_int_equal(rc, TAM_EUNKNOWN);
    assert_problem(&f->err, "dac", "unknown DAC purpose code '99999'");
    assert_problem(&f->err, "earmarks.countries[1]", "unknown country 'XYZ'");
    assert_problem(&f->err, "earmarks.groups[0]", "unknown regional group 'NORDIC'");
    assert_problem(&f->err, "earmarks.regions[0]", "unknown M49 area '999'");
    assert_problem(&f->err, "earmarks.categories[0]", "unknown category 'E'");
    assert_problem(&f->err, "earmarks.standards[0]", "unknown standard 'Z-NONE'");
    assert_problem(&f->err, "earmarks.modalities[0]", "unknown modality 'magic'");
    assert_int_equal(f->err.n, 7);
}

static void test_project_regions(void **state)
{
    fixture_t *f = *state;
    /* Africa is 002: written "2" it is refused, so that every area has one spelling. */
    assert_int_equal(s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "",
                                        "{\"regions\":[\"2\",\"20a\",\"000\"]}")),
                     TAM_EUNKNOWN);
    assert_problem(&f->err, "earmarks.regions[0]", "unknown M49 area '2' (a region, sub-region or intermediate region in 3 digits");
    assert_problem(&f->err, "earmarks.regions[1]", "unknown M49 area");
    assert_problem(&f->err, "earmarks.regions[2]", "unknown M49 area");
    /* a country code is not an area */
    reset(state);
    assert_int_equal(s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "",
                                        "{\"regions\":[\"004\"]}")),
                     TAM_EUNKNOWN);
}

static void test_project_duplicates(void **state)
{
    fixture_t *f = *state;
    int rc = s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":50},{\"donor\":\"NOR\",\"percent\":50}]",
                                "",
                                "{\"countries\":[\"CAF\",\"CAF\"],\"standards\":[\"A-SMR\",\"A-SMR\"],"
                                "\"modalities\":[\"training\",\"advisory\",\"training\"]}"));
    assert_int_equal(rc, TAM_EINVAL);
    assert_problem(&f->err, "donors[1].donor", "listed twice");
    assert_problem(&f->err, "earmarks.countries[1]", "listed twice (also at [0])");
    assert_problem(&f->err, "earmarks.standards[1]", "listed twice");
    assert_problem(&f->err, "earmarks.modalities[2]", "listed twice (also at [0])");
}

static void test_project_standard_outside_categories(void **state)
{
    fixture_t *f = *state;
    int rc = s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "",
                                "{\"categories\":[\"A\",\"C\"],"
                                "\"standards\":[\"A-SMR\",\"D-JUDIC\",\"C-VAW\",\"B-MLA\"]}"));
    assert_int_equal(rc, TAM_EINVAL);
    assert_int_equal(f->err.n, 2);
    assert_problem(&f->err, "earmarks.standards[1]", "category D");
    assert_problem(&f->err, "earmarks.standards[3]", "category B");
    /* without categories any standard may be named */
    reset(state);
    assert_int_equal(s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "",
                                        "{\"standards\":[\"A-SMR\",\"D-JUDIC\"]}")),
                     0);
}

static void test_project_shares(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":60},{\"donor\":\"SWE\",\"percent\":30}]",
                                        "", "{}")),
                     TAM_EINVAL);
    assert_problem(&f->err, "donors", "add up to 90, not 100");
    reset(state);
    assert_int_equal(s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":60},{\"donor\":\"SWE\",\"percent\":60}]",
                                        "", "{}")),
                     TAM_EINVAL);
    assert_problem(&f->err, "donors", "add up to 120");
}

static void test_project_unknown_donor(void **state)
{
    fixture_t *f = *state;
    int rc = s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":50},{\"donor\":\"ATLANTIS\",\"percent\":50}]",
                                "", "{}"));
    assert_int_equal(rc, TAM_EUNKNOWN);
    assert_int_equal(f->err.n, 1);
    assert_problem(&f->err, "donors[1].donor", "unknown donor 'ATLANTIS'");
    /* a storage failure while looking donors up is returned as such */
    reset(state);
    tam_project_t *p = s_json(f, &tam_schema_project,
                              PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "", "{}"));
    assert_int_equal(tam_registry_check_project(f->cat, p, s_donor_broken, NULL, &f->err), TAM_ESTORE);
}

static void test_project_window_status_text(void **state)
{
    fixture_t *f = *state;
    int rc = s_check(f, "{\"id\":\"-BAD\",\"title\":\" \",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],"
                        "\"budget\":10,\"budget_status\":\"committed\",\"start\":\"2027-01-02\","
                        "\"end\":\"2027-01-01\",\"status\":\"closed\",\"dac\":\"1513X\","
                        "\"earmarks\":{}}");
    assert_int_equal(rc, TAM_EINVAL);
    assert_problem(&f->err, "id", "not a valid project id");
    assert_problem(&f->err, "title", "blank");
    assert_problem(&f->err, "end", "ends (2027-01-01) before it starts (2027-01-02)");
    assert_problem(&f->err, "status", "project_close");
    assert_problem(&f->err, "dac", "unknown DAC");
    assert_int_equal(f->err.n, 5);
    reset(state);
    rc = s_check(f, PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "", "{}"));
    assert_int_equal(rc, 0);
    reset(state);
    /* cancelled is a close too */
    tam_project_t *p = s_json(f, &tam_schema_project,
                              PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "", "{}"));
    p->status = TAM_E_project_status_cancelled;
    assert_int_equal(tam_registry_check_project(f->cat, p, NULL, NULL, &f->err), TAM_EINVAL);
    assert_problem(&f->err, "status", NULL);
}

static void test_project_negative_amounts(void **state)
{
    fixture_t *f = *state;
    /* the codec refuses negatives on the wire; a caller's struct is checked again */
    tam_project_t *p = s_json(f, &tam_schema_project,
                              PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "", "{}"));
    p->budget = -1;
    p->earmarks->max_per_need = -5;
    assert_int_equal(tam_registry_check_project(f->cat, p, NULL, NULL, &f->err), TAM_ERANGE);
    assert_problem(&f->err, "budget", "negative");
    assert_problem(&f->err, "earmarks.max_per_need", "negative");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A withdrawn DAC code is known but refused for a project. */
static void test_project_withdrawn_dac(void **state)
{
    fixture_t *f = *state;
    char dir[] = "/tmp/test_registry_validate.XXXXXX", cmd[2048], msg[512];
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "cp %s/config/catalog/*.csv %s/ && sed -i 's/^15137,\\(.*\\),active,/15137,\\1,withdrawn,/' "
             "%s/dac_purpose_codes.csv && grep -q '^15137,.*,withdrawn,' %s/dac_purpose_codes.csv",
             getenv("TAM_SOURCE_DIR"), dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    tam_catalog_t *cat = NULL;
    int rc = tam_catalog_load(&cat, dir, msg, sizeof msg);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (rc)
        fail_msg("%s", msg);
    tam_project_t *p = s_json(f, &tam_schema_project,
                              PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "", "{}"));
    rc = tam_registry_check_project(cat, p, NULL, NULL, &f->err);
    tam_catalog_destroy(&cat);
    assert_int_equal(rc, TAM_EINVAL);
    assert_problem(&f->err, "dac", "no longer in use");
}

/* ---- close ---------------------------------------------------------------------- */

static tam_project_rec_t *s_rec(fixture_t *f, const char *status, int64_t pledged, int64_t received)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"project\":" PROJECT("[{\"donor\":\"NOR\",\"percent\":100}]", "", "{}")
             ",\"pledged\":%lld,\"received\":%lld,\"revision\":3}",
             (long long)pledged, (long long)received);
    tam_project_rec_t *r = s_json(f, &tam_schema_project_rec, json);
    int i = tam_enum_index(&tam_enum_project_status, status, strlen(status));
    assert_true(i >= 0);
    r->project->status = (tam_project_status_t)i;
    return r;
}

static tam_project_close_t *s_close(fixture_t *f, const char *status, const char *reason)
{
    char json[512];
    snprintf(json, sizeof json, "{\"id\":\"AFR-PRISON\",\"status\":\"%s\",\"reason\":\"%s\"}",
             status, reason);
    return s_json(f, &tam_schema_project_close, json);
}

static void test_close(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(tam_registry_check_close(s_close(f, "closed", "done"), s_rec(f, "active", 0, 0), &f->err), 0);
    assert_int_equal(tam_registry_check_close(s_close(f, "cancelled", "no money"), s_rec(f, "pipeline", 0, 0), &f->err), 0);
    assert_int_equal(tam_registry_check_close(s_close(f, "cancelled", "stop"), s_rec(f, "active", 0, 0), &f->err), 0);

    assert_int_equal(tam_registry_check_close(s_close(f, "closed", "x"), NULL, &f->err), TAM_ENOTFOUND);
    assert_problem(&f->err, "id", "no project");
    reset(state);
    assert_int_equal(tam_registry_check_close(s_close(f, "cancelled", "x"), s_rec(f, "closed", 0, 0), &f->err), TAM_ESTATE);
    assert_problem(&f->err, "id", "already closed");
    reset(state);
    assert_int_equal(tam_registry_check_close(s_close(f, "closed", "x"), s_rec(f, "cancelled", 0, 0), &f->err), TAM_ESTATE);
    assert_problem(&f->err, "id", "already cancelled");
    reset(state);
    assert_int_equal(tam_registry_check_close(s_close(f, "active", "x"), s_rec(f, "active", 0, 0), &f->err), TAM_EINVAL);
    assert_problem(&f->err, "status", "closed or cancelled");
    reset(state);
    assert_int_equal(tam_registry_check_close(s_close(f, "closed", "x"), s_rec(f, "pipeline", 0, 0), &f->err), TAM_ESTATE);
    assert_problem(&f->err, "status", "cancel it");
    reset(state);
    assert_int_equal(tam_registry_check_close(s_close(f, "closed", " "), s_rec(f, "active", 0, 0), &f->err), TAM_EINVAL);
    assert_problem(&f->err, "reason", "blank");
}

/* ---- ledger ---------------------------------------------------------------------- */

static tam_ledger_entry_t *s_entry(fixture_t *f, const char *kind, long long amount)
{
    char json[256];
    snprintf(json, sizeof json, "{\"project\":\"AFR-PRISON\",\"kind\":\"%s\",\"amount\":%lld}",
             kind, amount);
    return s_json(f, &tam_schema_ledger_entry, json);
}

static int s_ledger(fixture_t *f, const char *kind, long long amount, const tam_project_rec_t *r)
{
    tam_rpc_error_clear(&f->err);
    return tam_registry_check_ledger(s_entry(f, kind, amount), r, &f->err);
}

static void test_ledger(void **state)
{
    fixture_t *f = *state;
    tam_project_rec_t *active = s_rec(f, "active", 1000, 400);
    assert_int_equal(s_ledger(f, "pledge", 1, active), 0);
    assert_int_equal(s_ledger(f, "receipt", 5000, active), 0); /* more than pledged is allowed */
    assert_int_equal(s_ledger(f, "adjustment", -400, active), 0);
    assert_int_equal(s_ledger(f, "adjustment", 7, active), 0);

    assert_int_equal(s_ledger(f, "pledge", 0, active), TAM_EINVAL);
    assert_problem(&f->err, "amount", "positive");
    assert_int_equal(s_ledger(f, "pledge", -10, active), TAM_EINVAL);
    assert_problem(&f->err, "amount", "positive");
    assert_int_equal(s_ledger(f, "receipt", 0, active), TAM_EINVAL);
    assert_int_equal(s_ledger(f, "receipt", -1, active), TAM_EINVAL);
    assert_problem(&f->err, "amount", "a receipt must be a positive amount");
    assert_int_equal(s_ledger(f, "adjustment", 0, active), TAM_EINVAL);
    assert_problem(&f->err, "amount", "not be zero");

    /* received never below 0 */
    assert_int_equal(s_ledger(f, "adjustment", -401, active), TAM_ECONFLICT);
    assert_problem(&f->err, "amount", "from 400 to -1");
    /* totals stay within the protocol's bounds */
    active->pledged = TAM_REGISTRY_USD_MAX;
    active->received = TAM_REGISTRY_USD_MAX;
    assert_int_equal(s_ledger(f, "pledge", 1, active), TAM_ERANGE);
    assert_int_equal(s_ledger(f, "receipt", 1, active), TAM_ERANGE);
    assert_int_equal(s_ledger(f, "adjustment", -1, active), 0);

    /* no project; cancelled; closed takes adjustments only */
    assert_int_equal(s_ledger(f, "pledge", 10, NULL), TAM_ENOTFOUND);
    assert_problem(&f->err, "project", "no project 'AFR-PRISON'");
    tam_project_rec_t *cancelled = s_rec(f, "cancelled", 10, 10);
    assert_int_equal(s_ledger(f, "adjustment", -5, cancelled), TAM_ESTATE);
    assert_problem(&f->err, "project", "cancelled");
    assert_int_equal(s_ledger(f, "receipt", 5, cancelled), TAM_ESTATE);
    tam_project_rec_t *closed = s_rec(f, "closed", 10, 10);
    assert_int_equal(s_ledger(f, "pledge", 5, closed), TAM_ESTATE);
    assert_problem(&f->err, "project", "only adjustments");
    assert_int_equal(s_ledger(f, "receipt", 5, closed), TAM_ESTATE);
    assert_int_equal(s_ledger(f, "adjustment", -10, closed), 0);
    assert_int_equal(s_ledger(f, "adjustment", -11, closed), TAM_ECONFLICT);
    tam_project_rec_t *pipeline = s_rec(f, "pipeline", 0, 0);
    assert_int_equal(s_ledger(f, "pledge", 5, pipeline), 0);

    /* both the amount and the state listed */
    assert_int_equal(s_ledger(f, "pledge", -5, closed), TAM_EINVAL);
    assert_problem(&f->err, "amount", NULL);
    assert_problem(&f->err, "project", NULL);

    /* a project at its last revision takes no more entries */
    active->pledged = active->received = 0;
    active->revision = TAM_REGISTRY_REV_MAX;
    assert_int_equal(s_ledger(f, "pledge", 5, active), TAM_ERANGE);
    assert_problem(&f->err, "project", "revisions");
}

/* ---- context --------------------------------------------------------------------- */

static void test_context(void **state)
{
    fixture_t *f = *state;
    tam_context_t *c = s_json(f, &tam_schema_context,
                              "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"MINUSCA\","
                              "\"priorities\":[\"A-SMR\",\"D-JUDIC\"],\"valid_from\":\"2026-01-01\"},"
                              "{\"country\":\"SSD\",\"operation\":\"UNMISS\",\"valid_from\":\"2026-01-01\"}],"
                              "\"note\":\"n\"}");
    assert_int_equal(tam_registry_check_context(f->cat, c, &f->err), 0);
    c = s_json(f, &tam_schema_context, "{\"missions\":[]}");
    assert_int_equal(tam_registry_check_context(f->cat, c, &f->err), 0);

    c = s_json(f, &tam_schema_context,
               "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"MINUSCA\",\"valid_from\":\"2026-01-01\"},"
               "{\"country\":\"XXX\",\"operation\":\"M\",\"valid_from\":\"2026-01-01\"},"
               "{\"country\":\"CAF\",\"operation\":\"again\",\"valid_from\":\"2026-02-01\"},"
               "{\"country\":\"HTI\",\"operation\":\" \",\"priorities\":[\"A-SMR\",\"MINUSCA\",\"A-SMR\",\"A\"],"
               "\"valid_from\":\"2026-01-01\"}]}");
    assert_int_equal(tam_registry_check_context(f->cat, c, &f->err), TAM_EUNKNOWN);
    assert_problem(&f->err, "missions[1].country", "unknown country 'XXX'");
    assert_problem(&f->err, "missions[2].country", "two entries (also missions[0])");
    assert_problem(&f->err, "missions[3].operation", "blank");
    assert_problem(&f->err, "missions[3].priorities[1]", "unknown standard 'MINUSCA'");
    assert_problem(&f->err, "missions[3].priorities[2]", "listed twice");
    assert_problem(&f->err, "missions[3].priorities[3]", "unknown standard 'A'");
    assert_int_equal(f->err.n, 6);
}

/* ---- the sample data passes --------------------------------------------------------- */

static void test_samples(void **state)
{
    fixture_t *f = *state;
    char path[1024];
    const char *files[] = {"projects.json", "context.json", "donors.json"};
    for (size_t k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/config/samples/demo/%s", getenv("TAM_SOURCE_DIR"), files[k]);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        static char text[1 << 20];
        size_t n = fread(text, 1, sizeof text - 1, fp);
        fclose(fp);
        text[n] = 0;
        msgpack_sbuffer sb;
        tam_codec_err_t ce;
        assert_int_equal(tam_json_to_msgpack(text, n, &sb, &ce), 0);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
        const msgpack_object *items = u.data.type == MSGPACK_OBJECT_ARRAY ? u.data.via.array.ptr : &u.data;
        uint32_t count = u.data.type == MSGPACK_OBJECT_ARRAY ? u.data.via.array.size : 1;
        assert_true(count > 0);
        for (uint32_t i = 0; i < count; i++) {
            reset(state);
            int rc;
            if (k == 0) {
                tam_project_t p;
                if (tam_decode_obj(&tam_schema_project, &items[i], f->a, &p, &ce))
                    fail_msg("%s[%u]: %s: %s", files[k], i, ce.path, ce.message);
                int calls = 0;
                rc = tam_registry_check_project(f->cat, &p, NULL, &calls, &f->err);
            } else if (k == 1) {
                tam_context_t c;
                assert_int_equal(tam_decode_obj(&tam_schema_context, &items[i], f->a, &c, &ce), 0);
                rc = tam_registry_check_context(f->cat, &c, &f->err);
            } else {
                tam_donor_t d;
                assert_int_equal(tam_decode_obj(&tam_schema_donor, &items[i], f->a, &d, &ce), 0);
                rc = tam_registry_check_donor(&d, &f->err);
            }
            if (rc) {
                s_dump(&f->err);
                fail_msg("%s[%u] refused", files[k], i);
            }
        }
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
    }
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ids, reset),
        cmocka_unit_test_setup(test_iati, reset),
        cmocka_unit_test_setup(test_donor_ok, reset),
        cmocka_unit_test_setup(test_donor_refused, reset),
        cmocka_unit_test_setup(test_project_ok, reset),
        cmocka_unit_test_setup(test_project_unknown_codes, reset),
        cmocka_unit_test_setup(test_project_regions, reset),
        cmocka_unit_test_setup(test_project_duplicates, reset),
        cmocka_unit_test_setup(test_project_standard_outside_categories, reset),
        cmocka_unit_test_setup(test_project_shares, reset),
        cmocka_unit_test_setup(test_project_unknown_donor, reset),
        cmocka_unit_test_setup(test_project_window_status_text, reset),
        cmocka_unit_test_setup(test_project_negative_amounts, reset),
        cmocka_unit_test_setup(test_project_withdrawn_dac, reset),
        cmocka_unit_test_setup(test_close, reset),
        cmocka_unit_test_setup(test_ledger, reset),
        cmocka_unit_test_setup(test_context, reset),
        cmocka_unit_test_setup(test_samples, reset),
    };
    return cmocka_run_group_tests_name("registry_validate", tests, setup, teardown);
}

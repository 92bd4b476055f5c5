/* test_ingest_validate.c — every rule of tam_ingest_validate (services/ingest)
 * on the real catalogue: a valid reply passes; each defect, made one at a
 * time from the sample config/samples/reply-KEN-A.json, gives its error with
 * its field path; a reply with several defects lists every one of them. That
 * nothing of a refused reply is stored is shown by the integration test
 * (tests/integration/test_ingest.c) through the running service. */
#include <stdarg.h>
#include <stddef.h>
#include <glob.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ingest.h"
#include "tam/error.h"
#include "tam/service.h"

#define TODAY 20261130u /* after every sample reply's date */

typedef struct {
    tam_catalog_t *cat;
    tam_ingest_limits_t lim;
    json_t *base;    /* the sample reply */
    json_t *j;       /* the reply under test (a deep copy of base) */
    tam_arena_t *a;
    tam_rpc_error_t err;
} fixture_t;

static char *s_path(const char *rel)
{
    const char *root = getenv("TAM_SOURCE_DIR");
    char *p = NULL;
    if (asprintf(&p, "%s/%s", root ? root : ".", rel) < 0)
        return NULL;
    return p;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    char *dir = s_path("config/catalog"), *sample = s_path("config/samples/reply-KEN-A.json");
    json_error_t je;
    if (!f || !dir || !sample || tam_catalog_load(&f->cat, dir, err, sizeof err) != 0 ||
        !(f->base = json_load_file(sample, 0, &je))) {
        fprintf(stderr, "setup failed (TAM_SOURCE_DIR set?)\n");
        free(dir);
        free(sample);
        return -1;
    }
    free(dir);
    free(sample);
    f->lim = (tam_ingest_limits_t){.max_text = 4000, .max_needs = 500};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tam_catalog_destroy(&f->cat);
    json_decref(f->base);
    free(f);
    return 0;
}

static int before(void **state)
{
    fixture_t *f = *state;
    f->j = json_deep_copy(f->base);
    f->a = tam_arena_new(0);
    tam_rpc_error_init(&f->err);
    return f->j && f->a ? 0 : -1;
}

static int after(void **state)
{
    fixture_t *f = *state;
    json_decref(f->j);
    f->j = NULL;
    tam_arena_destroy(&f->a);
    tam_rpc_error_clear(&f->err);
    return 0;
}

/* The JSON value at a path like "needs[0].country" (created for a last
 * object key); sets it to v (stolen) when v is not NULL. */
static json_t *s_at(json_t *root, const char *path, json_t *v)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        size_t idx = 0;
        if (br) {
            idx = strtoul(br + 1, NULL, 10);
            *br = 0;
        }
        bool last = !save || !*save;
        if (last && !br && v) {
            json_object_set_new(cur, tok, v);
            return v;
        }
        cur = json_object_get(cur, tok);
        assert_non_null(cur);
        if (br) {
            if (last && v) {
                json_array_set_new(cur, idx, v);
                return v;
            }
            cur = json_array_get(cur, idx);
            assert_non_null(cur);
        }
    }
    return cur;
}

/* Encodes f->j and decodes it as a reply, then validates it. */
static int s_validate(fixture_t *f)
{
    char *text = json_dumps(f->j, 0);
    assert_non_null(text);
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    assert_int_equal(tam_json_to_msgpack(text, strlen(text), &sb, &cerr), 0);
    free(text);
    tam_reply_t *r = tam_arena_alloc(f->a, sizeof *r);
    assert_non_null(r);
    int rc = tam_decode(&tam_schema_reply, sb.data, sb.size, f->a, r, &cerr);
    if (rc)
        fail_msg("the test reply does not decode: %s: %s", cerr.path, cerr.message);
    msgpack_sbuffer_destroy(&sb);
    tam_rpc_error_clear(&f->err);
    return tam_ingest_validate(f->cat, &f->lim, r, TODAY, &f->err);
}

/* Asserts that the error lists a problem at field whose message contains
 * text. */
static void s_has(const fixture_t *f, const char *field, const char *text)
{
    for (size_t i = 0; i < f->err.n; i++)
        if (strcmp(f->err.errors[i].field, field) == 0 && strstr(f->err.errors[i].message, text))
            return;
    for (size_t i = 0; i < f->err.n; i++)
        fprintf(stderr, "  have %s: %s\n", f->err.errors[i].field, f->err.errors[i].message);
    fail_msg("no error at %s containing \"%s\"", field, text);
}

/* Asserts exactly one problem, at field, containing text. */
static void s_only(fixture_t *f, const char *field, const char *text)
{
    assert_int_equal(s_validate(f), TAM_EINVAL);
    s_has(f, field, text);
    if (f->err.n != 1) {
        for (size_t i = 0; i < f->err.n; i++)
            fprintf(stderr, "  have %s: %s\n", f->err.errors[i].field, f->err.errors[i].message);
        fail_msg("expected one error, got %zu", f->err.n);
    }
    assert_int_equal(f->err.code, TAM_EINVAL);
    assert_string_equal(f->err.field, field);
}

/* A need object for the reply's standard A-SMR, country c. */
static json_t *s_need(const char *c, const char *std)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s}", "country", c, "standard", std,
                     "modality", "advisory", "priority", 3, "cost", 5000, "start", "2027-01-01",
                     "end", "2027-06-30");
}

/* ---- valid replies ----------------------------------------------------- */

static void t_sample_valid(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_validate(f), 0);
    assert_int_equal(f->err.n, 0);
}

static void t_demo_replies_valid(void **state)
{
    fixture_t *f = *state;
    char *pattern = s_path("config/samples/demo/replies/*.json");
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    free(pattern);
    assert_int_equal(rc, 0);
    size_t n = g.gl_pathc, refused = 0;
    for (size_t k = 0; k < n; k++) {
        json_error_t je;
        json_decref(f->j);
        if (!(f->j = json_load_file(g.gl_pathv[k], 0, &je)) || s_validate(f) != 0) {
            for (size_t i = 0; i < f->err.n; i++)
                fprintf(stderr, "%s:%s: %s\n", g.gl_pathv[k], f->err.errors[i].field,
                        f->err.errors[i].message);
            refused++;
        }
    }
    globfree(&g);
    assert_int_equal(refused, 0);
    assert_true(n >= 60);
}

static void t_org_any_country(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "respondent", json_pack("{s:s, s:s, s:s}", "type", "igo", "id", "AU.commission",
                                       "name", "African Union Commission"));
    s_at(f->j, "needs[0].country", json_string("UGA"));
    json_array_append_new(s_at(f->j, "needs", NULL), s_need("SSD", "A-SMR"));
    assert_int_equal(s_validate(f), 0);
}

static void t_submitted_absent_uses_today(void **state)
{
    fixture_t *f = *state;
    json_object_del(f->j, "submitted");
    s_at(f->j, "needs[0].start", json_string("2026-01-01"));
    s_at(f->j, "needs[0].end", json_string("2026-11-30"));
    assert_int_equal(s_validate(f), 0);
    s_at(f->j, "needs[0].end", json_string("2026-11-29"));
    s_only(f, "needs[0].end", "before the reply's date 2026-11-30");
}

/* ---- one rule at a time ------------------------------------------------ */

static void t_state_unknown(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "respondent.id", json_string("XKX"));
    /* Its need's country no longer equals the respondent: two problems. */
    assert_int_equal(s_validate(f), TAM_EINVAL);
    s_has(f, "respondent.id", "not the ISO 3166-1 alpha-3 code of a UN Member State");
    s_has(f, "needs[0].country", "declares needs for itself");
}

static void t_org_id_charset(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "respondent.type", json_string("ngo"));
    s_at(f->j, "respondent.id", json_string("Penal Reform/Intl"));
    s_only(f, "respondent.id", "2 to 64 of A-Z");
}

static void t_org_id_is_state(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "respondent.type", json_string("un_entity"));
    s_only(f, "respondent.id", "a State answers with type member_state");
}

static void t_category_unknown(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "instrument.category", json_string("E"));
    assert_int_equal(s_validate(f), TAM_EINVAL);
    s_has(f, "instrument.category", "unknown category 'E'");
    /* Standards are still checked to exist, so nothing else is reported. */
    assert_int_equal(f->err.n, 1);
}

static void t_submitted_future(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "submitted", json_string("2026-12-01")); /* today + 1: time zones */
    assert_int_equal(s_validate(f), 0);
    s_at(f->j, "submitted", json_string("2026-12-02"));
    s_only(f, "submitted", "dated after today");
}

static void t_answer_unknown_standard(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "answers[1].standard", json_string("A-NOPE"));
    s_only(f, "answers[1].standard", "unknown standard 'A-NOPE'");
}

static void t_answer_wrong_category(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "answers[1].standard", json_string("B-EXTR"));
    s_only(f, "answers[1].standard", "belongs to category B, not to this instrument's category A");
}

static void t_answer_twice(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "answers[2].standard", json_string("A-BPTP"));
    s_only(f, "answers[2].standard", "already answered in answers[1]");
}

static void t_need_too_many(void **state)
{
    fixture_t *f = *state;
    f->lim.max_needs = 2;
    json_t *needs = s_at(f->j, "needs", NULL);
    json_array_append_new(needs, s_need("KEN", "A-SMR"));
    assert_int_equal(s_validate(f), 0);
    json_t *third = s_need("KEN", "A-SMR");
    json_object_set_new(third, "modality", json_string("legislative"));
    json_array_append_new(needs, third);
    s_only(f, "needs", "3 needs; a reply may declare at most 2");
    f->lim.max_needs = 500;
}

static void t_need_country_unknown(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "respondent.type", json_string("ngo"));
    s_at(f->j, "respondent.id", json_string("PRI"));
    s_at(f->j, "needs[0].country", json_string("ZZZ"));
    s_only(f, "needs[0].country", "'ZZZ' is not the ISO 3166-1 alpha-3 code");
}

static void t_need_country_not_self(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].country", json_string("UGA"));
    s_only(f, "needs[0].country", "a Member State declares needs for itself (KEN), not for UGA");
}

static void t_need_standard_unknown(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].standard", json_string("A-XYZ"));
    s_only(f, "needs[0].standard", "unknown standard 'A-XYZ'");
}

static void t_need_standard_wrong_category(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].standard", json_string("D-JUDIC"));
    s_only(f, "needs[0].standard", "belongs to category D");
}

static void t_need_standard_unanswered(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].standard", json_string("A-TOKYO"));
    s_only(f, "needs[0].standard", "A-TOKYO has no entry in answers[]");
}

static void t_need_standard_state_not_need(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].standard", json_string("A-BPTP"));
    s_only(f, "needs[0].standard", "answers[1] gives state no_need for standard A-BPTP");
    s_at(f->j, "needs[0].standard", json_string("A-BODY"));
    s_only(f, "needs[0].standard", "answers[2] gives state unanswered");
}

static void t_need_modality_unknown(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].modality", json_string("cash"));
    s_only(f, "needs[0].modality", "unknown modality 'cash'");
}

static void t_need_window_reversed(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].start", json_string("2027-12-31"));
    s_at(f->j, "needs[0].end", json_string("2027-01-01"));
    s_only(f, "needs[0].end", "the window ends before it starts");
}

static void t_need_window_past(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "needs[0].start", json_string("2026-01-01"));
    s_at(f->j, "needs[0].end", json_string("2026-10-14"));
    s_only(f, "needs[0].end", "ends before the reply's date 2026-10-15");
    s_at(f->j, "needs[0].end", json_string("2026-10-15"));
    assert_int_equal(s_validate(f), 0);
}

static void t_text_limits(void **state)
{
    fixture_t *f = *state;
    f->lim.max_text = 20;
    s_at(f->j, "needs[0].text", json_string("exactly twenty bytes"));
    s_at(f->j, "difficulties[0].text", json_string("short"));
    s_at(f->j, "assistance[0].text", json_string("short"));
    s_at(f->j, "practices[0].text", json_string("short"));
    assert_int_equal(s_validate(f), 0);
    s_at(f->j, "needs[0].text", json_string("twenty-one bytes long"));
    s_only(f, "needs[0].text", "text of 21 bytes is longer than the 20 allowed");
    s_at(f->j, "needs[0].text", json_string("ok"));
    s_at(f->j, "practices[0].text", json_string("twenty-one bytes long"));
    s_only(f, "practices[0].text", "longer than the 20 allowed");
    s_at(f->j, "practices[0].text", json_string("ok"));
    s_at(f->j, "respondent.name", json_string("The Republic of Kenya"));
    s_only(f, "respondent.name", "longer than the 20 allowed");
    f->lim.max_text = 4000;
}

static void t_findings(void **state)
{
    fixture_t *f = *state;
    s_at(f->j, "difficulties[0].standard", json_string("C-PREV"));
    s_only(f, "difficulties[0].standard", "belongs to category C");
    s_at(f->j, "difficulties[0].standard", json_string("A-SMR"));
    s_at(f->j, "assistance[0].standard", json_string("nope"));
    s_only(f, "assistance[0].standard", "unknown standard 'nope'");
}

static void t_offers(void **state)
{
    fixture_t *f = *state;
    json_array_append_new(s_at(f->j, "offers", NULL),
                          json_pack("{s:s, s:s, s:s}", "standard", "A-RJ", "modality", "exchange",
                                    "text", "Peer visits to our restorative justice centres."));
    assert_int_equal(s_validate(f), 0);
    s_at(f->j, "offers[0].modality", json_string("money"));
    s_only(f, "offers[0].modality", "unknown modality 'money'");
    s_at(f->j, "offers[0].modality", json_string("exchange"));
    s_at(f->j, "offers[0].standard", json_string("B-MLA"));
    s_only(f, "offers[0].standard", "belongs to category B");
}

/* ---- every error at once ------------------------------------------------ */

static void t_all_errors_listed(void **state)
{
    fixture_t *f = *state;
    json_t *needs = s_at(f->j, "needs", NULL);
    json_array_append_new(needs, s_need("UGA", "A-SMR"));
    json_array_append_new(needs, s_need("KEN", "B-MLA"));
    s_at(f->j, "needs[0].modality", json_string("cash"));
    s_at(f->j, "answers[2].standard", json_string("A-SMR"));
    s_at(f->j, "practices[0].standard", json_string("ZZ"));
    assert_int_equal(s_validate(f), TAM_EINVAL);
    s_has(f, "answers[2].standard", "already answered in answers[0]");
    s_has(f, "needs[0].modality", "unknown modality");
    s_has(f, "needs[1].country", "for itself (KEN), not for UGA");
    s_has(f, "needs[2].standard", "belongs to category B");
    s_has(f, "practices[0].standard", "unknown standard");
    assert_int_equal(f->err.n, 5);
    /* The top level names the first problem. */
    assert_string_equal(f->err.field, "answers[2].standard");
}

/* Codec and semantic problems in one list: the reply is decoded as ingest
 * decodes it (every codec problem listed), then checked on what decoded. */
static void t_codec_and_semantic_listed(void **state)
{
    fixture_t *f = *state;
    json_t *needs = s_at(f->j, "needs", NULL);
    json_array_append_new(needs, s_need("KEN", "A-SMR"));     /* needs[1]: advisory */
    json_array_append_new(needs, s_need("KEN", "B-MLA"));     /* needs[2]: another category */
    s_at(f->j, "needs[0].priority", json_integer(9));         /* codec: out of range */
    s_at(f->j, "needs[1].country", json_integer(404));        /* codec: wrong type */
    s_at(f->j, "needs[1].end", json_string("someday"));       /* codec: not a date */
    s_at(f->j, "needs[0].colour", json_string("blue"));       /* codec: unknown field */
    s_at(f->j, "answers[0].state", json_string("perhaps"));   /* codec: not an answer state */
    s_at(f->j, "respondent.type", json_string("alien"));      /* codec: unknown type */
    s_at(f->j, "difficulties[0].standard", json_string("B-MLA")); /* semantic: category B */
    s_at(f->j, "practices[0].standard", json_string("ZZ"));   /* semantic: unknown standard */
    char *text = json_dumps(f->j, 0);
    assert_non_null(text);
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    assert_int_equal(tam_json_to_msgpack(text, strlen(text), &sb, &cerr), 0);
    free(text);
    tam_reply_t *r = tam_arena_alloc(f->a, sizeof *r);
    assert_non_null(r);
    memset(r, 0, sizeof *r);
    tam_rpc_error_clear(&f->err);
    int rc = tam_request_decode(&tam_schema_reply, sb.data, sb.size, f->a, r, &f->err);
    msgpack_sbuffer_destroy(&sb);
    assert_int_not_equal(rc, 0);
    int code = f->err.code;
    size_t codec = f->err.n;
    assert_int_equal(codec, 6);
    assert_int_equal(tam_ingest_validate(f->cat, &f->lim, r, TODAY, &f->err), TAM_EINVAL);
    assert_int_equal(f->err.code, code); /* the codec's code stands */
    s_has(f, "needs[0].priority", "between");
    s_has(f, "needs[1].country", "must be a string");
    s_has(f, "needs[1].end", "calendar date");
    s_has(f, "needs[0].colour", "");
    s_has(f, "answers[0].state", "must be one of");
    s_has(f, "respondent.type", "must be one of");
    s_has(f, "needs[2].standard", "belongs to category B");
    s_has(f, "difficulties[0].standard", "belongs to category B");
    s_has(f, "practices[0].standard", "unknown standard");
    /* and nothing about what did not decode: no state-dependent check on the
     * respondent, the need's missing country, window or answer state */
    for (size_t i = codec; i < f->err.n; i++) {
        assert_null(strstr(f->err.errors[i].field, "respondent"));
        assert_null(strstr(f->err.errors[i].field, "needs[1]"));
        assert_null(strstr(f->err.errors[i].field, "needs[0]"));
    }
    assert_int_equal(f->err.n, codec + 3);
}

/* ---- identities: each need once per reply ------------------------------- */

static void t_need_identity_twice(void **state)
{
    fixture_t *f = *state;
    json_t *needs = s_at(f->j, "needs", NULL);
    /* needs[0] is KEN, A-SMR, training: a second one of the same kind. */
    json_t *n = s_need("KEN", "A-SMR");
    json_object_set_new(n, "modality", json_string("training"));
    json_array_append_new(needs, s_need("KEN", "A-SMR")); /* advisory: another need */
    json_array_append_new(needs, n);
    s_only(f, "needs[2]", "needs[0] and needs[2] are the same need (KEN, A-SMR, training)");
    /* Distinct refs tell them apart. */
    s_at(f->j, "needs[0].ref", json_string("cohort-1"));
    s_at(f->j, "needs[2].ref", json_string("cohort-2"));
    assert_int_equal(s_validate(f), 0);
    /* The same ref twice, whatever the kind. */
    s_at(f->j, "needs[1].ref", json_string("cohort-2"));
    s_only(f, "needs[2].ref", "needs[1] and needs[2] have the same ref 'cohort-2'");
    s_at(f->j, "needs[1].ref", json_string("a ref"));
    s_only(f, "needs[1].ref", "a ref is 1 to 64 of");
}

static void t_many_errors_capped(void **state)
{
    fixture_t *f = *state;
    json_t *needs = s_at(f->j, "needs", NULL);
    for (int i = 0; i < 150; i++)
        json_array_append_new(needs, s_need("UGA", "A-SMR"));
    assert_int_equal(s_validate(f), TAM_EINVAL);
    assert_int_equal(f->err.n, TAM_RPC_ERRORS_MAX);
    /* Each: not for itself; each after the first: the same need again. */
    assert_int_equal(f->err.dropped, 150 + 149 - TAM_RPC_ERRORS_MAX);
}

/* ---- who may submit ------------------------------------------------------ */

static void t_may_submit(void **state)
{
    (void)state;
    tam_principal_t p;
    assert_int_equal(tam_principal_from_user_id(NULL, &p), 0); /* local: every role */
    assert_true(tam_ingest_may_submit(&p, "KEN"));
    p = (tam_principal_t){.id = "respondent-KEN", .roles = TAM_ROLE_RESPONDENT, .respondent = "KEN"};
    assert_true(tam_ingest_may_submit(&p, "KEN"));
    assert_false(tam_ingest_may_submit(&p, "UGA"));
    p = (tam_principal_t){.id = "KEN", .roles = TAM_ROLE_RESPONDENT}; /* the name is not the id */
    assert_false(tam_ingest_may_submit(&p, "KEN"));
    p = (tam_principal_t){.id = "ops", .roles = TAM_ROLE_MANAGER};
    assert_true(tam_ingest_may_submit(&p, "UGA"));
    p = (tam_principal_t){.id = "KEN", .roles = TAM_ROLE_PLANNER};
    assert_false(tam_ingest_may_submit(&p, "KEN"));
    assert_false(tam_ingest_may_submit(NULL, "KEN"));
}

static void t_org_id_valid(void **state)
{
    (void)state;
    assert_true(tam_ingest_org_id_valid("UNODC"));
    assert_true(tam_ingest_org_id_valid("ngo.penal-reform_intl"));
    assert_false(tam_ingest_org_id_valid("x"));
    assert_false(tam_ingest_org_id_valid("a b"));
    assert_false(tam_ingest_org_id_valid("a/b"));
    assert_false(tam_ingest_org_id_valid(NULL));
    char longid[66];
    memset(longid, 'a', 65);
    longid[65] = 0;
    assert_false(tam_ingest_org_id_valid(longid));
    longid[64] = 0;
    assert_true(tam_ingest_org_id_valid(longid));
}

static void t_bad_arguments(void **state)
{
    fixture_t *f = *state;
    tam_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(tam_ingest_validate(f->cat, &f->lim, &r, TODAY, &f->err), TAM_EINVAL);
    assert_int_equal(tam_ingest_validate(NULL, &f->lim, &r, TODAY, &f->err), TAM_EINVAL);
    assert_int_equal(f->err.n, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, before, after)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_sample_valid),
        T(t_demo_replies_valid),
        T(t_org_any_country),
        T(t_submitted_absent_uses_today),
        T(t_state_unknown),
        T(t_org_id_charset),
        T(t_org_id_is_state),
        T(t_category_unknown),
        T(t_submitted_future),
        T(t_answer_unknown_standard),
        T(t_answer_wrong_category),
        T(t_answer_twice),
        T(t_need_too_many),
        T(t_need_identity_twice),
        T(t_need_country_unknown),
        T(t_need_country_not_self),
        T(t_need_standard_unknown),
        T(t_need_standard_wrong_category),
        T(t_need_standard_unanswered),
        T(t_need_standard_state_not_need),
        T(t_need_modality_unknown),
        T(t_need_window_reversed),
        T(t_need_window_past),
        T(t_text_limits),
        T(t_findings),
        T(t_offers),
        T(t_all_errors_listed),
        T(t_codec_and_semantic_listed),
        T(t_many_errors_capped),
        T(t_may_submit),
        T(t_org_id_valid),
        T(t_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

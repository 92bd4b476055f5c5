/* test_match_elig.c — every eligibility rule of docs/matching.md on
 * hand-made pairs: project active with money, need open, geographic earmarks
 * (any of countries, groups, M49 areas), thematic earmarks (standard or
 * category), modality earmarks, post-conflict only, windows, declined pairs;
 * and the explanation that names the first rule a pair fails. */
#include "match_fixture.h"

static int s_setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int s_teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* The last eligibility line of a pair: the failing rule, or the cap line. */
static const char *s_last(fx_t *fx, const char *id)
{
    int code = 0;
    tam_explanation_t *ex = fx_explain(fx, id, &code);
    if (!ex)
        fail_msg("explain %s: %d", id, code);
    assert_true(ex->eligibility.n > 0);
    return ex->eligibility.v[ex->eligibility.n - 1];
}

static bool s_eligible(fx_t *fx, const char *id)
{
    const char *l = s_last(fx, id);
    return strncmp(l, "not eligible", 12) != 0;
}

static void s_need(fx_t *fx, uint64_t id, const char *country, const char *std, const char *mod)
{
    assert_int_equal(fx_need(fx, (fx_need_t){.id = id, .country = country, .standard = std,
                                             .modality = mod}), 0);
}

static void test_project_state(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", NULL);
    fx_project(fx, (fx_project_t){.id = "OPEN", .received = 100});
    fx_project(fx, (fx_project_t){.id = "CLOSED", .received = 100, .inactive = true});
    fx_project(fx, (fx_project_t){.id = "PIPE", .received = 100, .status = "pipeline"});
    fx_project(fx, (fx_project_t){.id = "EMPTY", .received = 0});
    fx_project(fx, (fx_project_t){.id = "SPENT", .received = 100});
    fx_decision(fx, 9, "SPENT", "KEN", TAM_E_decision_state_committed, 0, 100);
    assert_int_equal(fx_run(fx), 0);
    assert_true(s_eligible(fx, "1/OPEN"));
    assert_non_null(strstr(s_last(fx, "1/CLOSED"), "is closed, not active"));
    assert_non_null(strstr(s_last(fx, "1/PIPE"), "is pipeline, not active"));
    assert_non_null(strstr(s_last(fx, "1/EMPTY"), "no money available"));
    assert_non_null(strstr(s_last(fx, "1/SPENT"), "no money available"));
    tam_run_t *r = fx_header(fx);
    assert_int_equal(r->pairs, 1);
    assert_int_equal(r->projects, 3); /* active ones */
}

static void test_need_open(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", NULL);
    s_need(fx, 2, "KEN", "A-SMR", NULL);
    fx_project(fx, (fx_project_t){.id = "PP", .received = 100});
    assert_int_equal(fx_run(fx), 0);
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .withdrawn = true});
    assert_int_equal(fx_run(fx), 0);
    /* a need that exists but is no longer open is explained as such, not
     * refused as unknown */
    int code = 0;
    tam_explanation_t *ex = fx_explain(fx, "2/PP", &code);
    assert_non_null(ex);
    assert_int_equal(ex->state, TAM_E_pair_state_need_closed);
    assert_int_equal(ex->rank, 0);
    assert_non_null(strstr(ex->eligibility.v[ex->eligibility.n - 1], "need 2 is no longer open"));
    assert_null(fx_explain(fx, "7/PP", &code)); /* never declared */
    assert_int_equal(code, TAM_ENOTFOUND);
    assert_int_equal(fx_header(fx)->needs, 1);
    assert_int_equal(fx_header(fx)->pairs, 1);
}

static void test_geography(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", NULL); /* AFRICAN, Africa 002, Sub-Saharan 202, Eastern 014 */
    s_need(fx, 2, "BRA", "A-SMR", NULL); /* GRULAC, Americas 019, South America 005 */
    s_need(fx, 3, "FRA", "A-SMR", NULL); /* WEOG, Europe 150 */
    fx_project(fx, (fx_project_t){.id = "LIST", .received = 100, .countries = "BRA,NOR"});
    fx_project(fx, (fx_project_t){.id = "GROUP", .received = 100, .groups = "AFRICAN"});
    fx_project(fx, (fx_project_t){.id = "AREA", .received = 100, .regions = "014"});
    fx_project(fx, (fx_project_t){.id = "ANYOF", .received = 100, .countries = "FRA",
                                  .groups = "GRULAC"});
    fx_project(fx, (fx_project_t){.id = "WORLD", .received = 100});
    assert_int_equal(fx_run(fx), 0);
    assert_false(s_eligible(fx, "1/LIST"));
    assert_non_null(strstr(s_last(fx, "1/LIST"), "outside the geographic earmarks "
                                                 "(countries BRA,NOR)"));
    assert_true(s_eligible(fx, "2/LIST"));
    assert_true(s_eligible(fx, "1/GROUP"));
    assert_false(s_eligible(fx, "2/GROUP"));
    assert_true(s_eligible(fx, "1/AREA"));
    assert_false(s_eligible(fx, "3/AREA"));
    /* several lists: inside if ANY of them matches */
    assert_false(s_eligible(fx, "1/ANYOF"));
    assert_true(s_eligible(fx, "2/ANYOF"));
    assert_true(s_eligible(fx, "3/ANYOF"));
    for (int i = 1; i <= 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d/WORLD", i);
        assert_true(s_eligible(fx, id));
    }
    int code;
    tam_explanation_t *ex = fx_explain(fx, "1/AREA", &code);
    bool named = false;
    for (uint32_t i = 0; i < ex->eligibility.n; i++)
        named |= strstr(ex->eligibility.v[i], "M49 area 014") != NULL;
    assert_true(named);
}

/* A code the catalogue does not know keeps an earmark restrictive. */
static void test_unknown_codes_restrict(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", NULL);
    fx_project(fx, (fx_project_t){.id = "ODD", .received = 100, .regions = "999"});
    assert_int_equal(fx_run(fx), 0);
    assert_false(s_eligible(fx, "1/ODD"));
}

static void test_thematic(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", NULL);
    s_need(fx, 2, "KEN", "B-MLA", NULL);
    fx_project(fx, (fx_project_t){.id = "STD", .received = 100, .standards = "A-SMR"});
    fx_project(fx, (fx_project_t){.id = "CAT", .received = 100, .categories = "B"});
    fx_project(fx, (fx_project_t){.id = "MIX", .received = 100, .categories = "A",
                                  .standards = "A-BODY"});
    fx_project(fx, (fx_project_t){.id = "HALF", .received = 100, .categories = "A,B",
                                  .standards = "A-BODY,A-TOKYO"});
    s_need(fx, 3, "KEN", "A-BODY", NULL);
    assert_int_equal(fx_run(fx), 0);
    assert_true(s_eligible(fx, "1/STD"));
    assert_false(s_eligible(fx, "2/STD"));
    assert_non_null(strstr(s_last(fx, "2/STD"), "standard B-MLA (category B) is outside"));
    assert_false(s_eligible(fx, "1/CAT"));
    assert_true(s_eligible(fx, "2/CAT"));
    /* listed standards narrow their category: category A with A-BODY listed
     * funds A-BODY only, not the rest of A */
    assert_false(s_eligible(fx, "1/MIX"));
    assert_non_null(strstr(s_last(fx, "1/MIX"), "category A is earmarked only for its listed "
                                                "standards (A-BODY), not A-SMR"));
    assert_true(s_eligible(fx, "3/MIX"));
    assert_false(s_eligible(fx, "2/MIX"));
    /* a category listed without any of its standards stays whole */
    assert_false(s_eligible(fx, "1/HALF"));
    assert_non_null(strstr(s_last(fx, "1/HALF"), "(A-BODY,A-TOKYO), not A-SMR"));
    assert_true(s_eligible(fx, "2/HALF"));
    assert_true(s_eligible(fx, "3/HALF"));
    int code;
    tam_explanation_t *ex = fx_explain(fx, "2/HALF", &code);
    bool whole = false;
    for (uint32_t i = 0; i < ex->eligibility.n; i++)
        whole |= strstr(ex->eligibility.v[i], "category B of standard B-MLA is earmarked as a "
                                              "whole") != NULL;
    assert_true(whole);
    /* and the allocation follows: MIX gives nothing to the A-SMR need */
    assert_int_equal(fx_amount(fx, 1, "MIX"), 0);
    assert_int_equal(fx_amount(fx, 1, "HALF"), 0);
}

static void test_modality(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", "training");
    s_need(fx, 2, "KEN", "A-SMR", "legislative");
    fx_project(fx, (fx_project_t){.id = "PP", .received = 100, .modalities = "training,advisory"});
    assert_int_equal(fx_run(fx), 0);
    assert_true(s_eligible(fx, "1/PP"));
    assert_false(s_eligible(fx, "2/PP"));
    assert_non_null(strstr(s_last(fx, "2/PP"), "modality legislative is outside"));
}

static void test_post_conflict(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "CAF", "A-SMR", NULL);
    s_need(fx, 2, "KEN", "A-SMR", NULL);
    s_need(fx, 3, "SSD", "A-SMR", NULL);
    fx_project(fx, (fx_project_t){.id = "PKO", .received = 100, .post_conflict_only = true});
    assert_int_equal(fx_run(fx), 0);
    assert_false(s_eligible(fx, "1/PKO")); /* no context at all */
    fx_context(fx, "CAF::2026-01-01,SSD::2026-07-01");
    assert_int_equal(fx_run(fx), 0);
    assert_true(s_eligible(fx, "1/PKO"));
    assert_false(s_eligible(fx, "2/PKO"));
    assert_non_null(strstr(s_last(fx, "2/PKO"), "not a mission country"));
    assert_false(s_eligible(fx, "3/PKO")); /* mission valid only from July */
    assert_int_equal(fx_amount(fx, 1, "PKO"), 100);
}

static void test_windows(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR",
                            .start = "2026-07-01", .end = "2026-12-31"});
    fx_project(fx, (fx_project_t){.id = "EARLY", .received = 100, .start = "2025-01-01",
                                  .end = "2026-06-30"});
    fx_project(fx, (fx_project_t){.id = "EDGE", .received = 100, .start = "2026-12-31",
                                  .end = "2027-12-31"});
    fx_project(fx, (fx_project_t){.id = "LATE", .received = 100, .start = "2027-01-01",
                                  .end = "2027-12-31"});
    assert_int_equal(fx_run(fx), 0);
    assert_false(s_eligible(fx, "1/EARLY"));
    assert_non_null(strstr(s_last(fx, "1/EARLY"), "windows do not overlap"));
    assert_true(s_eligible(fx, "1/EDGE")); /* one common day is an overlap */
    assert_false(s_eligible(fx, "1/LATE"));
}

static void test_declined(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", NULL);
    fx_project(fx, (fx_project_t){.id = "PP", .received = 100});
    fx_project(fx, (fx_project_t){.id = "QQ", .received = 100});
    fx_decision(fx, 1, "PP", "KEN", TAM_E_decision_state_declined, 0, 0);
    assert_int_equal(fx_run(fx), 0);
    assert_false(s_eligible(fx, "1/PP"));
    assert_true(s_eligible(fx, "1/QQ"));
    assert_int_equal(fx_amount(fx, 1, "PP"), 0);
    assert_int_equal(fx_amount(fx, 1, "QQ"), 100);
    /* a withdrawn endorsement makes the pair eligible again */
    fx_decision(fx, 1, "PP", "KEN", TAM_E_decision_state_withdrawn, 0, 0);
    assert_int_equal(fx_run(fx), 0);
    assert_true(s_eligible(fx, "1/PP"));
    assert_int_equal(fx_amount(fx, 1, "PP") + fx_amount(fx, 1, "QQ"), 200);
}

/* The explanation of an eligible pair lists every rule it passed. */
static void test_explain_lists_all(void **state)
{
    fx_t *fx = *state;
    s_need(fx, 1, "KEN", "A-SMR", "training");
    fx_project(fx, (fx_project_t){.id = "PP", .received = 100, .groups = "AFRICAN",
                                  .standards = "A-SMR", .modalities = "training",
                                  .max_per_need = 50});
    assert_int_equal(fx_run(fx), 0);
    int code;
    tam_explanation_t *ex = fx_explain(fx, "1/PP", &code);
    assert_non_null(ex);
    assert_int_equal(ex->eligibility.n, 9);
    assert_non_null(strstr(ex->eligibility.v[0], "is active and may still give 100 USD in this run"));
    assert_non_null(strstr(ex->eligibility.v[2], "group AFRICAN"));
    assert_non_null(strstr(ex->eligibility.v[3], "earmarked by name"));
    assert_non_null(strstr(ex->eligibility.v[8], "at most 50 USD per need"));
    assert_int_equal(ex->proposal->amount, 50);
}

int main(void)
{
    tam_log_init("test_match_elig", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_project_state, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_need_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_geography, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_codes_restrict, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_thematic, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_modality, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_post_conflict, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_windows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_declined, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_explain_lists_all, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_match_score.c — the scoring model: weights from the config, each
 * factor's formula on hand-made cases (through the engine, as a proposal's
 * factor breakdown shows them), the score's rounding and its split into
 * points that add up exactly. */
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

/* ---- pure functions ---------------------------------------------------------- */

static void test_weights_from_config(void **state)
{
    (void)state;
    tam_config_t c;
    tam_match_params_t p;
    char err[256];
    tam_config_defaults(&c);
    assert_int_equal(tam_match_params_from_config(&c, &p, err, sizeof err), 0);
    assert_int_equal(p.w[TAM_MATCH_F_PRIORITY], 3000);
    assert_int_equal(p.w[TAM_MATCH_F_COMPLETENESS], 500);
    assert_int_equal(p.wsum, 11500);
    assert_int_equal(p.horizon_days, 365);
    assert_int_equal(p.today, 0);
    /* all zero after rounding to 1/1000: refused */
    c.match.w_priority = c.match.w_context = c.match.w_thematic = c.match.w_modality = 0;
    c.match.w_urgency = c.match.w_equity = c.match.w_ldc = 0;
    c.match.w_completeness = 0.0004;
    assert_int_equal(tam_match_params_from_config(&c, &p, err, sizeof err), TAM_ECONFIG);
    assert_non_null(strstr(err, "at least one weight"));
    c.match.w_completeness = -1;
    assert_int_equal(tam_match_params_from_config(&c, &p, err, sizeof err), TAM_ECONFIG);
    c.match.w_completeness = 1;
    snprintf(c.match.today, sizeof c.match.today, "2026-13-01");
    assert_int_equal(tam_match_params_from_config(&c, &p, err, sizeof err), TAM_ECONFIG);
    snprintf(c.match.today, sizeof c.match.today, "2026-02-28");
    assert_int_equal(tam_match_params_from_config(&c, &p, err, sizeof err), 0);
    assert_int_equal(p.today, 20260228);
}

static void test_factor_formulas(void **state)
{
    (void)state;
    assert_int_equal(tam_match_f_priority(1), 0);
    assert_int_equal(tam_match_f_priority(2), 2500);
    assert_int_equal(tam_match_f_priority(5), 10000);
    assert_int_equal(tam_match_f_urgency(20260601, 20260601, 365), 10000);
    assert_int_equal(tam_match_f_urgency(20260101, 20260601, 365), 10000); /* started */
    assert_int_equal(tam_match_f_urgency(20260813, 20260601, 365), 8000);  /* 73 days */
    assert_int_equal(tam_match_f_urgency(20270601, 20260601, 365), 0);     /* 365 days */
    assert_int_equal(tam_match_f_urgency(20260602, 20260601, 365), 9972);  /* floor */
    assert_int_equal(tam_match_f_equity(0, 1000000), 10000);
    assert_int_equal(tam_match_f_equity(1000000, 1000000), 5000);
    assert_int_equal(tam_match_f_equity(3000000, 1000000), 2500);
    assert_int_equal(tam_match_f_equity(2000000, 1000000), 3333);
    assert_int_equal(tam_match_f_equity(INT64_MAX / 2, 1000000000000), 0);
    assert_int_equal(tam_match_f_completeness(0), 0);
    assert_int_equal(tam_match_f_completeness(73), 7300);
    assert_int_equal(tam_match_f_completeness(100), 10000);
}

static void test_score_and_points(void **state)
{
    (void)state;
    tam_match_params_t p;
    fx_params(&p);
    tam_match_factors_t f = {{10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000}};
    assert_int_equal(tam_match_score(&p, &f), 10000);
    memset(&f, 0, sizeof f);
    assert_int_equal(tam_match_score(&p, &f), 0);
    /* priority 5 alone: 3 / 11.5 of 10000 = 2608.7 -> 2609 */
    f.v[TAM_MATCH_F_PRIORITY] = 10000;
    assert_int_equal(tam_match_score(&p, &f), 2609);
    int64_t pts[TAM_MATCH_NF];
    tam_match_points(&p, &f, pts);
    assert_int_equal(pts[TAM_MATCH_F_PRIORITY], 2609);
    /* random factors: points are floors plus largest remainders and add up */
    uint64_t x = 88172645463325252ULL;
    for (int t = 0; t < 20000; t++) {
        int64_t num = 0, sum = 0;
        for (int k = 0; k < TAM_MATCH_NF; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f.v[k] = (int32_t)(x % 10001);
            num += p.w[k] * f.v[k];
        }
        int64_t s = tam_match_score(&p, &f);
        assert_int_equal(s, (2 * num + p.wsum) / (2 * p.wsum));
        assert_true(s >= 0 && s <= 10000);
        tam_match_points(&p, &f, pts);
        for (int k = 0; k < TAM_MATCH_NF; k++) {
            int64_t lo = p.w[k] * f.v[k] / p.wsum;
            assert_true(pts[k] == lo || pts[k] == lo + 1);
            sum += pts[k];
        }
        assert_int_equal(sum, s);
    }
}

/* ---- each factor through the engine ------------------------------------------- */

static int64_t s_factor(const tam_proposal_t *p, const char *name)
{
    for (uint32_t i = 0; i < p->factors.n; i++)
        if (strcmp(p->factors.v[i].name, name) == 0)
            return p->factors.v[i].value;
    fail_msg("no factor %s", name);
    return -1;
}

static tam_proposal_t *s_pair(fx_t *fx, const char *id)
{
    int code = 0;
    tam_explanation_t *ex = fx_explain(fx, id, &code);
    if (!ex)
        fail_msg("explain %s: %d", id, code);
    return ex->proposal;
}

static void test_priority_completeness_ldc(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 1,
                            .completeness = 80});
    fx_need(fx, (fx_need_t){.id = 2, .country = "UGA", .standard = "A-SMR", .priority = 4,
                            .completeness = 0});
    /* priority counts within the respondent's own needs (its mid-rank) */
    fx_need(fx, (fx_need_t){.id = 3, .country = "KEN", .standard = "A-BODY", .priority = 3});
    fx_need(fx, (fx_need_t){.id = 4, .country = "UGA", .standard = "A-BODY", .priority = 1});
    fx_need(fx, (fx_need_t){.id = 5, .country = "UGA", .standard = "A-TOKYO", .priority = 4});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 10});
    assert_int_equal(fx_run(fx), 0);
    tam_proposal_t *a = s_pair(fx, "1/P1"), *b = s_pair(fx, "2/P1");
    assert_int_equal(s_factor(a, "priority"), 0);
    assert_int_equal(s_factor(b, "priority"), 7500); /* (1 + 1/2) / 2 */
    assert_int_equal(s_factor(s_pair(fx, "3/P1"), "priority"), 10000);
    assert_int_equal(s_factor(s_pair(fx, "4/P1"), "priority"), 0);
    assert_int_equal(s_factor(a, "completeness"), 8000);
    assert_int_equal(s_factor(b, "completeness"), 0);
    assert_int_equal(s_factor(a, "ldc"), 0);
    assert_int_equal(s_factor(b, "ldc"), 10000);
    /* the points add up to the score, and the weights are the config's */
    int64_t sum = 0;
    for (uint32_t i = 0; i < a->factors.n; i++)
        sum += a->factors.v[i].points;
    assert_int_equal(sum, a->score);
    assert_int_equal(a->factors.v[0].weight, 3000);
}

static void test_thematic_and_modality(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR",
                            .modality = "training"});
    fx_project(fx, (fx_project_t){.id = "EXACT", .received = 10, .standards = "A-SMR,A-BODY",
                                  .modalities = "training"});
    fx_project(fx, (fx_project_t){.id = "CAT", .received = 10, .categories = "A",
                                  .modalities = "advisory,training"});
    fx_project(fx, (fx_project_t){.id = "ANY", .received = 10});
    fx_project(fx, (fx_project_t){.id = "BOTH", .received = 10, .categories = "A,B",
                                  .standards = "B-MLA"});
    fx_project(fx, (fx_project_t){.id = "NARROW", .received = 10, .categories = "A",
                                  .standards = "A-BODY"});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(s_factor(s_pair(fx, "1/EXACT"), "thematic"), 10000);
    assert_int_equal(s_factor(s_pair(fx, "1/CAT"), "thematic"), 6000);
    assert_int_equal(s_factor(s_pair(fx, "1/ANY"), "thematic"), 3000);
    /* standards named in another category leave this one whole */
    assert_int_equal(s_factor(s_pair(fx, "1/BOTH"), "thematic"), 6000);
    /* a standard named in the need's category narrows it: no thematic fit */
    assert_int_equal(s_factor(s_pair(fx, "1/NARROW"), "thematic"), 0);
    assert_int_equal(s_factor(s_pair(fx, "1/EXACT"), "modality"), 10000);
    assert_int_equal(s_factor(s_pair(fx, "1/CAT"), "modality"), 10000);
    assert_int_equal(s_factor(s_pair(fx, "1/ANY"), "modality"), 5000);
    /* exact beats category beats any in the score */
    assert_true(s_pair(fx, "1/EXACT")->score > s_pair(fx, "1/CAT")->score);
    assert_true(s_pair(fx, "1/CAT")->score > s_pair(fx, "1/BOTH")->score);
    assert_true(s_pair(fx, "1/BOTH")->score > s_pair(fx, "1/ANY")->score);
}

static void test_context(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "CAF", .standard = "A-SMR"});
    fx_need(fx, (fx_need_t){.id = 2, .country = "CAF", .standard = "A-BODY"});
    fx_need(fx, (fx_need_t){.id = 3, .country = "KEN", .standard = "A-SMR"});
    fx_need(fx, (fx_need_t){.id = 4, .country = "SSD", .standard = "A-SMR"});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 10});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(s_factor(s_pair(fx, "1/P1"), "context"), 0);
    /* SSD's mission starts after the run date: not yet a mission country */
    assert_int_equal(fx_context(fx, "CAF:A-SMR+D-JUDIC:2026-01-01,SSD:A-SMR:2026-09-01"), 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(s_factor(s_pair(fx, "1/P1"), "context"), 10000);
    assert_int_equal(s_factor(s_pair(fx, "2/P1"), "context"), 5000);
    assert_int_equal(s_factor(s_pair(fx, "3/P1"), "context"), 0);
    assert_int_equal(s_factor(s_pair(fx, "4/P1"), "context"), 0);
    tam_run_t *r = fx_header(fx);
    assert_false(r->warm); /* a new context recomputes every pair */
}

/* Urgency ranks a respondent's own windows by the days from the run date
 * to their start, clamped to [0, horizon]: a window that started in 1990
 * counts as starting now (the run date), like one starting today; beyond
 * the horizon all wait alike. A respondent with one need, or whose windows
 * all start alike, gets the middle (5000). */
static void test_urgency(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR",
                            .start = "2026-06-01"});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-BODY",
                            .start = "2026-08-13"});
    fx_need(fx, (fx_need_t){.id = 3, .country = "KEN", .standard = "A-TOKYO",
                            .start = "2027-07-01", .end = "2027-12-31"});
    fx_need(fx, (fx_need_t){.id = 4, .country = "KEN", .standard = "A-BANGKOK",
                            .start = "1990-01-01"});
    fx_need(fx, (fx_need_t){.id = 5, .country = "UGA", .standard = "A-SMR",
                            .start = "1990-01-01"});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 10});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(s_factor(s_pair(fx, "1/P1"), "urgency"), 8500); /* (2 + 1/2) / 3, in 1/20 */
    assert_int_equal(s_factor(s_pair(fx, "4/P1"), "urgency"), 8500); /* 1990 = now */
    assert_int_equal(s_factor(s_pair(fx, "2/P1"), "urgency"), 3500);
    assert_int_equal(s_factor(s_pair(fx, "3/P1"), "urgency"), 0);
    assert_int_equal(s_factor(s_pair(fx, "5/P1"), "urgency"), 5000);
}

/* Equity: money already endorsed or committed for the country, on any need,
 * lowers the score of its other needs; other countries do not move. */
static void test_equity(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 2000000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-BODY"});
    fx_need(fx, (fx_need_t){.id = 3, .country = "UGA", .standard = "A-BODY"});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 5000000});
    fx_project(fx, (fx_project_t){.id = "P2", .received = 10});
    assert_int_equal(fx_run(fx), 0);
    int64_t uga = s_pair(fx, "3/P2")->score;
    assert_int_equal(s_factor(s_pair(fx, "2/P2"), "equity"), 10000);
    fx_decision(fx, 1, "P1", "KEN", TAM_E_decision_state_endorsed, 1000000, 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(s_factor(s_pair(fx, "2/P2"), "equity"), 5000);
    fx_decision(fx, 1, "P1", "KEN", TAM_E_decision_state_committed, 1000000, 3000000);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(s_factor(s_pair(fx, "2/P2"), "equity"), 2500);
    assert_int_equal(s_factor(s_pair(fx, "3/P2"), "equity"), 10000);
    assert_int_equal(s_pair(fx, "3/P2")->score, uga);
}

int main(void)
{
    tam_log_init("test_match_score", LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_from_config),
        cmocka_unit_test(test_factor_formulas),
        cmocka_unit_test(test_score_and_points),
        cmocka_unit_test_setup_teardown(test_priority_completeness_ldc, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_thematic_and_modality, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_context, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_urgency, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_equity, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

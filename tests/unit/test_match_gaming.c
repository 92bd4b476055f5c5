/* test_match_gaming.c — a respondent cannot win money by what it declares
 * about itself (issue 18; docs/matching.md, "Inputs that cannot be
 * gamed"). The audit's cases: a State that declares every need priority 5,
 * or every start date as today (or 1990), took money from an LDC; a need
 * split in two got twice the per-need cap. Each test compares what the
 * respondent gets declaring honestly with what it gets gaming. */
#include "match_fixture.h"

typedef struct {
    int64_t prio[3];
    const char *start[3];
    bool split; /* IDN's first need declared as two halves */
} s_idn_t;

/* IDN (not an LDC) and KHM (an LDC), both Asia-Pacific, compete for one
 * regional project. Returns what IDN gets in all. */
static int64_t s_idn_money(const s_idn_t *idn, int64_t *khm)
{
    fx_t *fx = fx_new();
    const char *std[3] = {"A-SMR", "A-BODY", "A-TOKYO"};
    for (int k = 0; k < 3; k++)
        fx_need(fx, (fx_need_t){.id = 1 + (uint64_t)k, .country = "IDN", .standard = std[k],
                                .priority = idn->prio[k], .cost = 100000,
                                .start = idn->start[k], .end = "2027-12-31"});
    fx_need(fx, (fx_need_t){.id = 4, .country = "KHM", .standard = "A-SMR", .priority = 4,
                            .cost = 100000, .start = "2026-07-01", .end = "2027-12-31"});
    fx_need(fx, (fx_need_t){.id = 5, .country = "KHM", .standard = "A-BODY", .priority = 2,
                            .cost = 100000, .start = "2026-10-01", .end = "2027-12-31"});
    fx_project(fx, (fx_project_t){.id = "ASIA", .received = 250000, .groups = "APG"});
    assert_int_equal(fx_run(fx), 0);
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    int64_t idn_total = 0, khm_total = 0;
    for (uint32_t i = 0; i < l.items.n; i++) {
        if (strcmp(l.items.v[i].country, "IDN") == 0)
            idn_total += l.items.v[i].amount;
        else
            khm_total += l.items.v[i].amount;
    }
    if (khm)
        *khm = khm_total;
    fx_free(fx);
    return idn_total;
}

static const s_idn_t s_honest = {{4, 3, 1}, {"2026-09-01", "2026-12-01", "2027-03-01"}, false};

/* Raising every priority by one changes nothing; declaring them all top
 * priority gains nothing (it equals declaring no preference). */
static void test_priority_inflation(void **state)
{
    (void)state;
    int64_t khm0, khm1, khm2;
    int64_t honest = s_idn_money(&s_honest, &khm0);
    s_idn_t raised = s_honest;
    for (int k = 0; k < 3; k++)
        raised.prio[k]++;
    int64_t up = s_idn_money(&raised, &khm1);
    s_idn_t top = s_honest;
    for (int k = 0; k < 3; k++)
        top.prio[k] = 5;
    int64_t all5 = s_idn_money(&top, &khm2);
    print_message("    IDN gets %lld honestly, %lld raising every priority, %lld declaring all 5 "
                  "(KHM: %lld, %lld, %lld)\n", (long long)honest, (long long)up,
                  (long long)all5, (long long)khm0, (long long)khm1, (long long)khm2);
    assert_int_equal(up, honest);
    assert_int_equal(khm1, khm0);
    assert_true(all5 <= honest);
    assert_true(khm2 >= khm0);
}

/* Declaring every window as starting today, or in 1990, gains nothing: a
 * start before the run date counts as starting now, and urgency ranks a
 * respondent's own windows, so moving all of them forward ties them. */
static void test_past_start_dates(void **state)
{
    (void)state;
    int64_t khm0, khm1, khm2;
    int64_t honest = s_idn_money(&s_honest, &khm0);
    s_idn_t today = s_honest, past = s_honest;
    for (int k = 0; k < 3; k++) {
        today.start[k] = "2026-06-01"; /* FX_DATE */
        past.start[k] = "1990-01-01";
    }
    int64_t now = s_idn_money(&today, &khm1), old = s_idn_money(&past, &khm2);
    print_message("    IDN gets %lld honestly, %lld with every start today, %lld with every "
                  "start in 1990\n", (long long)honest, (long long)now, (long long)old);
    assert_true(now <= honest);
    assert_true(khm1 >= khm0);
    assert_int_equal(old, now);
    assert_int_equal(khm2, khm1);
}

/* A need split in two parts of the same (respondent, country, standard,
 * modality) shares one per-need cap, with or without refs that tell the
 * parts apart: the parts get no more from a capped project than the whole;
 * and splitting gives the parts no better score than the whole. */
static void test_split(void **state)
{
    (void)state;
    int64_t got[3], score[3];
    static const char *refs[2] = {"prisons-north", "prisons-south"};
    for (int split = 0; split < 3; split++) {
        fx_t *fx = fx_new();
        fx_need(fx, (fx_need_t){.id = 10, .country = "KEN", .standard = "A-BODY",
                                .priority = 3, .cost = 400000});
        int parts = split ? 2 : 1;
        for (int k = 0; k < parts; k++)
            fx_need(fx, (fx_need_t){.id = 1 + (uint64_t)k, .country = "KEN",
                                    .standard = "A-SMR", .priority = 5,
                                    .cost = 1000000 / parts,
                                    .ref = split == 2 ? refs[k] : NULL});
        fx_need(fx, (fx_need_t){.id = 20, .country = "UGA", .standard = "A-SMR",
                                .priority = 3, .cost = 2000000});
        fx_project(fx, (fx_project_t){.id = "CAPPED", .received = 2000000,
                                      .max_per_need = 300000, .standards = "A-SMR"});
        assert_int_equal(fx_run(fx), 0);
        got[split] = score[split] = 0;
        tam_proposal_list_t l;
        fx_proposals(fx, &l, NULL);
        for (uint32_t i = 0; i < l.items.n; i++)
            if (l.items.v[i].need < 10) {
                got[split] += l.items.v[i].amount;
                if (l.items.v[i].score > score[split])
                    score[split] = l.items.v[i].score;
            }
        fx_free(fx);
    }
    print_message("    whole need: %lld USD at score %lld; split in two: %lld USD, best score "
                  "%lld; split with two refs: %lld USD, best score %lld\n", (long long)got[0],
                  (long long)score[0], (long long)got[1], (long long)score[1],
                  (long long)got[2], (long long)score[2]);
    assert_int_equal(got[0], 300000);
    for (int k = 1; k < 3; k++) {
        assert_true(got[k] <= got[0]);
        assert_true(score[k] <= score[0]);
    }
}

/* Completeness is the share of the category's standards the reply
 * answered, as tam-ingest counted them: a reply that answers one of category
 * A's 12 standards and declares 100 gets 8, one that answers all 12 and
 * declares 0 gets 100. */
static void test_declared_completeness(void **state)
{
    (void)state;
    fx_t *fx = fx_new();
    fx_need(fx, (fx_need_t){.id = 1, .country = "IDN", .standard = "A-SMR", .completeness = 100,
                            .answered = 1});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KHM", .standard = "A-SMR", .completeness = 0,
                            .answered = 12});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 10});
    assert_int_equal(fx_run(fx), 0);
    int code;
    tam_explanation_t *a = fx_explain(fx, "1/P1", &code), *b = fx_explain(fx, "2/P1", &code);
    assert_non_null(a);
    assert_non_null(b);
    int64_t va = -1, vb = -1;
    for (uint32_t k = 0; k < a->proposal->factors.n; k++)
        if (strcmp(a->proposal->factors.v[k].name, "completeness") == 0) {
            va = a->proposal->factors.v[k].value;
            vb = b->proposal->factors.v[k].value;
        }
    print_message("    declared 100 with 1 of 12 answered: %lld; declared 0 with 12: %lld\n",
                  (long long)va, (long long)vb);
    assert_int_equal(va, 800);
    assert_int_equal(vb, 10000);
    fx_free(fx);
}

int main(void)
{
    tam_log_init("test_match_gaming", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_inflation),
        cmocka_unit_test(test_past_start_dates),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_declared_completeness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

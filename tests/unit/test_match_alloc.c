/* test_match_alloc.c — the allocation as the matcher builds it: partial
 * funding, per-need caps, needs that earmarks leave unfundable, competing
 * needs, the documented tie-breaks and rank order, and decisions (endorsed
 * and committed amounts fixed, declined pairs excluded, committed money
 * leaving the budget). */
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

static void test_partial_funding(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR",
                                             .cost = 100000}), 0);
    assert_int_equal(fx_project(fx, (fx_project_t){.id = "P1", .received = 60000}), 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 60000);
    tam_run_t *r = fx_header(fx);
    assert_int_equal(r->requested, 100000);
    assert_int_equal(r->funded, 60000);
    assert_int_equal(r->unfunded, 40000);
    assert_int_equal(r->pairs, 1);
    assert_int_equal(r->project_state.n, 1);
    assert_int_equal(r->project_state.v[0].allocated, 60000);
    assert_true(r->project_state.v[0].dual > 0); /* budget binds: money is worth its score */
    /* the published records: the new proposal, then the run record that closes the run */
    assert_int_equal(fx->npubs, 2);
    assert_string_equal(fx->pubs[0].topic, "prop/KEN/A");
    assert_string_equal(fx->pubs[1].topic, "run");
}

static void test_per_need_cap(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-BODY", .cost = 100000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 1000000, .max_per_need = 30000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 30000);
    assert_int_equal(fx_amount(fx, 2, "P1"), 30000);
    int code;
    tam_explanation_t *ex = fx_explain(fx, "1/P1", &code);
    assert_non_null(ex);
    bool cap = false;
    for (uint32_t i = 0; i < ex->binding.n; i++)
        cap |= strstr(ex->binding.v[i], "per-need cap") != NULL;
    assert_true(cap);
    assert_int_equal(ex->need_unfunded, 70000);
}

static void test_unfundable_by_earmarks(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 50000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 1000000, .groups = "GRULAC"});
    fx_project(fx, (fx_project_t){.id = "P2", .received = 1000000, .categories = "B"});
    assert_int_equal(fx_run(fx), 0);
    tam_run_t *r = fx_header(fx);
    assert_int_equal(r->pairs, 0);
    assert_int_equal(r->funded, 0);
    assert_int_equal(r->unfunded, 50000);
    /* match.gaps names the earmarks that exclude it */
    tam_gap_query_t q = {0};
    msgpack_sbuffer qb, ans;
    assert_int_equal(tam_encode_sbuf(&tam_schema_gap_query, &q, &qb, NULL), 0);
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_t err = {0};
    assert_int_equal(tam_match_query(fx->m, TAM_MSG_match_gaps, qb.data, qb.size, fx->a, &ans,
                                     &err), 0);
    tam_gap_list_t gl;
    memset(&gl, 0, sizeof gl);
    assert_int_equal(tam_decode(&tam_schema_gap_list, ans.data, ans.size, fx->a, &gl, NULL), 0);
    assert_int_equal(gl.total, 1);
    assert_int_equal(gl.items.v[0].unfunded, 50000);
    assert_non_null(strstr(gl.items.v[0].reason, "no project may fund it"));
    assert_non_null(strstr(gl.items.v[0].reason, "geographic earmarks (1)"));
    assert_non_null(strstr(gl.items.v[0].reason, "thematic earmarks (1)"));
    msgpack_sbuffer_destroy(&qb);
    msgpack_sbuffer_destroy(&ans);
}

/* Two needs compete for one budget: the higher score gets the money. */
static void test_competition(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 1,
                            .cost = 80000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 80000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 100000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 2, "P1"), 80000);
    assert_int_equal(fx_amount(fx, 1, "P1"), 20000);
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    assert_int_equal(l.items.n, 2);
    assert_string_equal(l.items.v[0].id, "2/P1");
    assert_int_equal(l.items.v[0].rank, 1);
    assert_int_equal(l.items.v[1].rank, 2);
    assert_true(l.items.v[0].score > l.items.v[1].score);
}

/* Equal scores: which need gets the money never depends on which arrived
 * first. Three needs of equal score, declared in one order with ids 5, 6, 7
 * and in the reverse order by a second engine: each need (by content) gets
 * the same money in both, one full, one partly, one nothing; ranks follow
 * score, then amount. */
static void s_ties_load(fx_t *fx, bool reverse)
{
    const char *std[3] = {"A-SMR", "A-BODY", "A-TOKYO"};
    for (int k = 0; k < 3; k++)
        fx_need(fx, (fx_need_t){.id = 5 + (uint64_t)k, .country = "KEN",
                                .standard = std[reverse ? 2 - k : k], .cost = 40000});
    fx_project(fx, (fx_project_t){.id = "PB", .received = 50000});
}

static void test_ties(void **state)
{
    fx_t *fx = *state, *fx2 = fx_new();
    s_ties_load(fx, false);
    s_ties_load(fx2, true);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_run(fx2), 0);
    int64_t got[3];
    for (int k = 0; k < 3; k++) {
        got[k] = fx_amount(fx, 5 + (uint64_t)k, "PB");
        assert_int_equal(got[k], fx_amount(fx2, 7 - (uint64_t)k, "PB"));
    }
    int64_t hi = got[0], lo = got[0], sum = 0;
    for (int k = 0; k < 3; k++) {
        hi = got[k] > hi ? got[k] : hi;
        lo = got[k] < lo ? got[k] : lo;
        sum += got[k];
    }
    assert_int_equal(hi, 40000);
    assert_int_equal(lo, 0);
    assert_int_equal(sum, 50000);
    /* a second project with the same score: ranks by score, then amount */
    fx_project(fx, (fx_project_t){.id = "PA", .received = 50000});
    assert_int_equal(fx_run(fx), 0);
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    int64_t total = 0;
    for (uint32_t i = 0; i < l.items.n; i++) {
        total += l.items.v[i].amount;
        if (i == 0)
            continue;
        const tam_proposal_t *x = &l.items.v[i - 1], *y = &l.items.v[i];
        assert_true(x->score > y->score || (x->score == y->score && x->amount >= y->amount));
    }
    assert_int_equal(total, 100000);
    /* two needs are fully funded before the third gets anything */
    int full = 0;
    for (uint64_t id = 5; id <= 7; id++)
        full += fx_amount(fx, id, "PA") + fx_amount(fx, id, "PB") == 40000;
    assert_int_equal(full, 2);
    fx_free(fx2);
}

/* Endorsed amounts stay even where the optimum would move them; committed
 * money leaves the project's available budget; declined pairs drop out. */
static void test_decisions(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 1,
                            .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "UGA", .standard = "A-SMR", .priority = 5,
                            .cost = 100000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 100000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 2, "P1"), 100000);
    assert_int_equal(fx_amount(fx, 1, "P1"), 0);
    /* endorse 30000 for the lower-scoring need: fixed */
    assert_int_equal(fx_decision(fx, 1, "P1", "KEN", TAM_E_decision_state_endorsed, 30000, 0), 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 30000);
    assert_int_equal(fx_amount(fx, 2, "P1"), 70000);
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    for (uint32_t i = 0; i < l.items.n; i++)
        if (l.items.v[i].need == 1) {
            assert_int_equal(l.items.v[i].state, TAM_E_proposal_state_endorsed);
            assert_int_equal(l.items.v[i].fixed, 30000);
        }
    /* commit it: available drops by 30000, the amount stays fixed */
    assert_int_equal(fx_decision(fx, 1, "P1", "KEN", TAM_E_decision_state_committed, 30000,
                                 30000), 0);
    assert_int_equal(fx_run(fx), 0);
    tam_run_t *r = fx_header(fx);
    assert_int_equal(r->project_state.v[0].available, 70000);
    assert_int_equal(fx_amount(fx, 1, "P1"), 30000);
    assert_int_equal(fx_amount(fx, 2, "P1"), 70000);
    /* decline need 2: it gets nothing more; need 1 takes what it can */
    assert_int_equal(fx_decision(fx, 2, "P1", "UGA", TAM_E_decision_state_declined, 0, 0), 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 2, "P1"), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 100000);
    int code;
    tam_explanation_t *ex = fx_explain(fx, "2/P1", &code);
    assert_non_null(ex);
    assert_non_null(strstr(ex->eligibility.v[ex->eligibility.n - 1], "declined"));
}

/* Money committed to a pair whose project has since closed still counts for
 * the need; the closed project funds nothing new. */
static void test_fixed_on_closed_project(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 100000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 50000, .inactive = true});
    fx_project(fx, (fx_project_t){.id = "P2", .received = 500000});
    fx_decision(fx, 1, "P1", "KEN", TAM_E_decision_state_delivered, 0, 40000);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 40000);
    assert_int_equal(fx_amount(fx, 1, "P2"), 60000);
}

/* Fixed amounts above what the need or budget holds are honoured (never
 * undone by the matcher), and nothing new is added on top. */
static void test_overcommitted(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 10000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .cost = 10000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 15000});
    fx_decision(fx, 1, "P1", "KEN", TAM_E_decision_state_endorsed, 12000, 0);
    fx_decision(fx, 2, "P1", "KEN", TAM_E_decision_state_endorsed, 8000, 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 12000);
    assert_int_equal(fx_amount(fx, 2, "P1"), 8000);
    tam_run_t *r = fx_header(fx);
    assert_int_equal(r->funded, 20000);
    assert_int_equal(r->unfunded, 2000);
}

/* A withdrawn need frees its money for the others (warm update), and the
 * removal is published with reason removed and amount 0. */
static void test_withdrawal(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .priority = 1,
                            .cost = 100000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 100000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 100000);
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 100000, .withdrawn = true});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 2, "P1"), 100000);
    tam_run_t *r = fx_header(fx);
    assert_true(r->warm);
    assert_int_equal(r->changed, 2);
    bool removed = false;
    assert_string_equal(fx->pubs[fx->npubs - 1].topic, "run");
    for (size_t i = 0; i + 1 < fx->npubs; i++) {
        tam_proposal_t p;
        memset(&p, 0, sizeof p);
        assert_int_equal(tam_decode(&tam_schema_proposal, fx->pubs[i].body, fx->pubs[i].len,
                                    fx->a, &p, NULL), 0);
        if (p.need == 1) {
            removed = true;
            assert_int_equal(p.reason, TAM_E_change_reason_removed);
            assert_int_equal(p.amount, 0);
            assert_int_equal(p.rank, 0);
        } else {
            assert_int_equal(p.reason, TAM_E_change_reason_new_pair);
        }
    }
    assert_true(removed);
}

int main(void)
{
    tam_log_init("test_match_alloc", LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partial_funding, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_per_need_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unfundable_by_earmarks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_competition, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ties, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decisions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fixed_on_closed_project, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_overcommitted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_withdrawal, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

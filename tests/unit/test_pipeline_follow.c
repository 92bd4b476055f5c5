/* test_pipeline_follow.c — decisions follow their need (pipeline_follow.c):
 * a revision that lowers a need's cost reduces the endorsements above it
 * (audited, published; commitments untouched); a revision that withdraws a
 * need flags the decisions that hold money (need_withdrawn: audited,
 * published, listed by decisions --attention and by the pipeline report,
 * money still counted) until a manager acknowledges, withdraws or delivers;
 * running it again changes nothing. On pipeline_fixture.h's data set. */
#include "pipeline_fixture.h"

typedef struct {
    pf_t *f;
    uint64_t need;
    size_t changed;
} s_follow_t;

static int s_follow_fn(tam_txn_t *txn, void *arg)
{
    s_follow_t *c = arg;
    tam_events_truncate(&c->f->pubs, 0);
    const tam_pipeline_need_t *n = tam_pipeline_view_need(c->f->view, c->need);
    assert_non_null(n);
    return tam_pipeline_follow_need(&c->f->p, txn, n, &c->f->pubs, &c->changed);
}

/* Publishes a new version of need id and lets the decisions follow it. */
static size_t s_revise(pf_t *f, uint64_t id, const char *country, const char *std, int64_t cost,
                       bool open)
{
    const tam_pipeline_need_t *old = tam_pipeline_view_need(f->view, id);
    bool differs = !old || old->cost != cost || old->open != open;
    tam_pipeline_view_changed(f->view, NULL, true);
    pf_need(f, id, country, std, cost, open);
    const uint64_t *ids;
    size_t n = tam_pipeline_view_changed(f->view, &ids, true);
    /* the view names the need as changed exactly when cost or status changed */
    assert_int_equal(n, differs ? 1 : 0);
    if (n)
        assert_int_equal(ids[0], id);
    s_follow_t c = {f, id, 0};
    assert_int_equal(tam_store_write(f->store, s_follow_fn, &c), 0);
    return c.changed;
}

static tam_decision_t s_decision(pf_t *f, const char *proposal)
{
    tam_decision_query_t q = {.proposal = (char *)proposal};
    tam_decision_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.items.n, 1);
    return l.items.v[0];
}

static tam_audit_entry_t s_last_audit(pf_t *f, const char *proposal)
{
    tam_proposal_ref_t ref = {.id = (char *)proposal};
    tam_audit_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_history, &ref, &l), 0);
    assert_true(l.items.n > 0);
    return l.items.v[l.items.n - 1];
}

static tam_report_t s_report(pf_t *f, tam_report_kind_t kind)
{
    tam_report_request_t rq = {.kind = kind};
    tam_report_t r;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_report, &rq, &r), 0);
    assert_non_null(r.totals);
    return r;
}

static void test_cost_lowered(void **state)
{
    pf_t *f = *state;
    pf_ok(f, "endorse", "1/AFR-A", 0); /* 100,000: need 1's whole cost */
    /* unchanged version: nothing to do */
    assert_int_equal(s_revise(f, 1, "KEN", "A-SMR", 100000, true) + 1, 1);
    /* cost 60,000: the endorsement follows, audited and published */
    assert_int_equal(s_revise(f, 1, "KEN", "A-SMR", 60000, true), 1);
    assert_int_equal(f->pubs.n, 1);
    assert_string_equal(f->pubs.v[0].topic, "decision/KEN/A");
    tam_decision_t d = s_decision(f, "1/AFR-A");
    assert_int_equal(d.state, TAM_E_decision_state_endorsed);
    assert_int_equal(d.endorsed, 60000);
    assert_int_equal(d.revision, 2);
    assert_int_equal(d.run, 7);
    assert_string_equal(d.hash, PF_HASH);
    tam_audit_entry_t e = s_last_audit(f, "1/AFR-A");
    assert_int_equal(e.act, TAM_E_decision_act_reduce);
    assert_string_equal(e.principal, "tam-pipeline");
    assert_string_equal(e.role, "system");
    assert_int_equal(e.amount, 60000);
    assert_int_equal(e.run, 7);
    assert_non_null(strstr(e.reason, "from 100000 to 60000"));
    /* the same version again: nothing more */
    assert_int_equal(s_revise(f, 1, "KEN", "A-SMR", 50000, true), 1);
    assert_int_equal(s_revise(f, 1, "KEN", "A-SMR", 50000, true) + 1, 1);
    tam_report_t g = s_report(f, TAM_E_report_kind_gaps);
    assert_int_equal(g.totals->endorsed, 50000);

    /* commitments are never touched: need 4 (200,000) with 100,000 committed
     * on 4/GLO-D and an endorsement of 7/... is not on need 4; endorse a
     * second pair on need 4 and lower the cost below the commitment */
    pf_ok(f, "endorse", "4/GLO-D", 100000);
    pf_ok(f, "commit", "4/GLO-D", 100000);
    pf_prop(f, "4/SMALL", 7, 10000, false);
    pf_project(f, "SMALL", "NOR:100", 70000, 70000, TAM_E_project_status_active, NULL, "A,C,D", 0);
    pf_ok(f, "endorse", "4/SMALL", 10000);
    /* the endorsement goes, the commitment stays and is flagged */
    assert_int_equal(s_revise(f, 4, "COL", "D-JUDIC", 90000, true), 2);
    assert_int_equal(f->pubs.n, 2);
    assert_string_equal(s_decision(f, "4/GLO-D").flag, "cost_below_committed");
    tam_audit_entry_t e2 = s_last_audit(f, "4/GLO-D");
    assert_int_equal(e2.act, TAM_E_decision_act_flag);
    assert_non_null(strstr(e2.reason, "below the 100000 USD committed"));
    assert_int_equal(s_revise(f, 4, "COL", "D-JUDIC", 80000, true) + 1, 1); /* once */
    d = s_decision(f, "4/SMALL");
    assert_int_equal(d.state, TAM_E_decision_state_withdrawn);
    assert_int_equal(d.endorsed, 0);
    d = s_decision(f, "4/GLO-D");
    assert_int_equal(d.state, TAM_E_decision_state_committed);
    assert_int_equal(d.committed, 100000);
    g = s_report(f, TAM_E_report_kind_gaps);
    assert_int_equal(g.totals->committed, 100000);
    assert_int_equal(g.totals->unmet, g.totals->requested - g.totals->proposed -
                                          g.totals->endorsed - g.totals->committed);
}

static void test_withdrawn_flagged(void **state)
{
    pf_t *f = *state;
    pf_ok(f, "endorse", "1/AFR-A", 0);
    pf_ok(f, "endorse", "4/GLO-D", 120000);
    pf_ok(f, "commit", "4/GLO-D", 100000);
    pf_ok(f, "decline", "7/GLO-D", 0);
    /* need 4 withdrawn by a revision: 4/GLO-D is flagged, the money stays */
    assert_int_equal(s_revise(f, 4, "COL", "D-JUDIC", 200000, false), 1);
    assert_int_equal(f->pubs.n, 1);
    assert_string_equal(f->pubs.v[0].topic, "decision/COL/D");
    tam_decision_t d = s_decision(f, "4/GLO-D");
    assert_int_equal(d.state, TAM_E_decision_state_committed);
    assert_int_equal(d.committed, 100000);
    assert_string_equal(d.flag, "need_withdrawn");
    tam_audit_entry_t e = s_last_audit(f, "4/GLO-D");
    assert_int_equal(e.act, TAM_E_decision_act_flag);
    assert_int_equal(e.from, TAM_E_decision_state_committed);
    assert_int_equal(e.to, TAM_E_decision_state_committed);
    /* flagged once only */
    assert_int_equal(s_revise(f, 4, "COL", "D-JUDIC", 150000, false) + 1, 1);
    /* decisions --attention lists it, and only it */
    tam_decision_query_t q = {.attention = true};
    tam_decision_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 1);
    assert_string_equal(l.items.v[0].proposal, "4/GLO-D");
    /* the pipeline report shows it; every report still counts its money */
    tam_report_t r = s_report(f, TAM_E_report_kind_pipeline);
    assert_int_equal(r.more.n, 2);
    assert_int_equal(r.more.v[1].rows.n, 1);
    assert_string_equal(r.more.v[1].rows.v[0].cells.v[0], "4/GLO-D");
    assert_string_equal(r.more.v[1].rows.v[0].cells.v[5], "need_withdrawn");
    assert_int_equal(r.totals->committed, 100000);
    tam_report_t g = s_report(f, TAM_E_report_kind_gaps);
    tam_report_t dn = s_report(f, TAM_E_report_kind_donors);
    assert_int_equal(g.totals->committed, 100000);
    assert_memory_equal(g.totals, dn.totals, sizeof *g.totals);
    /* an endorsement on a withdrawn need is flagged too */
    assert_int_equal(s_revise(f, 1, "KEN", "A-SMR", 100000, false), 1);
    assert_string_equal(s_decision(f, "1/AFR-A").flag, "need_withdrawn");

    /* the system acts cannot be requested */
    assert_int_equal(pf_act(f, "flag", "4/GLO-D", 0, 0), TAM_ESTATE);
    assert_int_equal(pf_act(f, "reduce", "1/AFR-A", 0, 0), TAM_ESTATE);
    assert_non_null(strstr(f->err.message, "tam-pipeline's own"));
    /* a manager acts: acknowledge keeps the state and money, clears the flag */
    assert_int_equal(pf_ok(f, "acknowledge", "4/GLO-D", 0), TAM_E_decision_state_committed);
    d = s_decision(f, "4/GLO-D");
    assert_null(d.flag);
    assert_int_equal(d.committed, 100000);
    assert_int_equal(pf_act(f, "acknowledge", "4/GLO-D", 0, 0), TAM_ESTATE);
    assert_non_null(strstr(f->err.message, "no flag"));
    assert_int_equal(pf_act(f, "acknowledge", "2/AFR-A", 0, 0), TAM_ESTATE);
    /* withdraw answers the endorsement's flag */
    assert_int_equal(pf_ok(f, "withdraw", "1/AFR-A", 0), TAM_E_decision_state_withdrawn);
    assert_null(s_decision(f, "1/AFR-A").flag);
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 0);
    r = s_report(f, TAM_E_report_kind_pipeline);
    assert_int_equal(r.more.v[1].rows.n, 0);
    assert_int_equal(r.totals->committed, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cost_lowered, pf_setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_withdrawn_flagged, pf_setup, pf_teardown),
    };
    return cmocka_run_group_tests_name("pipeline_follow", tests, pf_group_setup,
                                       pf_group_teardown);
}

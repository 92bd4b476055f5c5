/* test_pipeline_act.c — pipeline.act on a real LMDB environment with the
 * views fed directly: every transition of the state machine, allowed and
 * refused (a refused one writes nothing at all); commits and endorsements
 * beyond the project's available money, beyond the need's unfunded amount or
 * beyond the per-need cap refused with the figures and nothing written; an
 * audit entry for every act (who, role, when, what, why, from/to, run, hash);
 * the run and hash an act is taken on; what the act needs from the feeds;
 * bad input; the reads (history, audit, decisions) and the feed snapshot; and
 * a failing put that must abort the whole act. */
// LINK: -Wl,--wrap=mdb_put
#include <lmdb.h>
#include "pipeline_fixture.h"

/* ---- failure injection ------------------------------------------------------------ */

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
static int g_put_in, g_put_rc; /* the Nth put from now fails with g_put_rc */

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    if (g_put_in > 0 && --g_put_in == 0)
        return g_put_rc;
    return __real_mdb_put(txn, dbi, key, data, flags);
}

static int setup(void **state)
{
    g_put_in = 0;
    return pf_setup(state);
}

/* ---- helpers ------------------------------------------------------------------------ */

static const char *const g_acts[] = {"endorse", "decline", "commit", "deliver", "withdraw"};
static const char *const g_states[] = {"none", "endorsed", "declined", "committed", "delivered",
                                       "withdrawn"};

/* The state machine as the issue and docs/pipeline.md state it, written out
 * here independently of pipeline_state.c: allowed[state][act] = new state, or
 * NULL when refused. */
static const char *const g_allowed[6][5] = {
    /* none */ {"endorsed", "declined", NULL, NULL, NULL},
    /* endorsed */ {NULL, NULL, "committed", NULL, "withdrawn"},
    /* declined */ {NULL, NULL, NULL, NULL, NULL},
    /* committed */ {NULL, NULL, NULL, "delivered", NULL},
    /* delivered */ {NULL, NULL, NULL, NULL, NULL},
    /* withdrawn */ {"endorsed", "declined", NULL, NULL, NULL},
};

/* Acts that bring a fresh pair from none to each state. */
static const char *const g_paths[6][4] = {
    {NULL},
    {"endorse", NULL},
    {"decline", NULL},
    {"endorse", "commit", NULL},
    {"endorse", "commit", "deliver", NULL},
    {"endorse", "withdraw", NULL},
};

static void s_drive(pf_t *f, const char *proposal, int state)
{
    for (int i = 0; g_paths[state][i]; i++)
        pf_ok(f, g_paths[state][i], proposal, 0);
}

static tam_decision_t s_decision(pf_t *f, const char *proposal)
{
    tam_decision_query_t q = {.proposal = (char *)proposal};
    tam_decision_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.items.n, 1);
    return l.items.v[0];
}

static tam_audit_list_t s_history(pf_t *f, const char *proposal)
{
    tam_proposal_ref_t ref = {.id = (char *)proposal};
    tam_audit_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_history, &ref, &l), 0);
    return l;
}

/* ---- the state machine -------------------------------------------------------------- */

static void test_transition_table(void **state)
{
    (void)state;
    for (int s = 0; s < 6; s++)
        for (int a = 0; a < 5; a++) {
            tam_decision_state_t to = TAM_E_decision_state_none;
            int rc = tam_pipeline_transition((tam_decision_state_t)s, (tam_decision_act_t)a, &to);
            if (g_allowed[s][a]) {
                assert_int_equal(rc, 0);
                assert_string_equal(tam_enum_decision_state.values[to], g_allowed[s][a]);
            } else {
                assert_int_equal(rc, TAM_ESTATE);
                assert_true(strlen(tam_pipeline_refusal((tam_decision_state_t)s,
                                                        (tam_decision_act_t)a)) > 10);
            }
        }
    assert_int_equal(tam_pipeline_transition(TAM_E_decision_state__COUNT,
                                             TAM_E_decision_act_endorse, NULL), TAM_EINVAL);
    assert_int_equal(tam_pipeline_transition(TAM_E_decision_state_none,
                                             TAM_E_decision_act__COUNT, NULL), TAM_EINVAL);
    const char *role;
    assert_int_equal(tam_pipeline_act_role(TAM_E_decision_act_commit, &role), TAM_ROLE_DONOR_LIAISON);
    assert_string_equal(role, "donor_liaison");
    for (int a = 0; a < 5; a++)
        if (a != TAM_E_decision_act_commit) {
            assert_int_equal(tam_pipeline_act_role((tam_decision_act_t)a, &role), TAM_ROLE_MANAGER);
            assert_string_equal(role, "manager");
        }
}

/* The one place roles are checked: managers act, donor liaison commits,
 * anyone reads. */
static void test_roles(void **state)
{
    pf_t *f = *state;
    tam_principal_t mgr = {.id = "mgr", .roles = TAM_ROLE_MANAGER};
    tam_principal_t dl = {.id = "dl", .roles = TAM_ROLE_DONOR_LIAISON};
    tam_principal_t resp = {.id = "KEN", .roles = TAM_ROLE_RESPONDENT};
    tam_principal_t admin = {.id = "ops", .roles = TAM_ROLE_ADMIN};
    for (int a = 0; a < 5; a++) {
        tam_act_t act = {.proposal = "1/AFR-A", .act = (tam_decision_act_t)a, .reason = "r"};
        msgpack_sbuffer sb;
        assert_int_equal(tam_encode_sbuf(&tam_schema_act, &act, &sb, NULL), 0);
        bool commit = a == TAM_E_decision_act_commit;
        tam_rpc_error_t e = {0};
        assert_int_equal(tam_pipeline_authorize(&mgr, "pipeline.act", sb.data, sb.size, f->a, &e),
                         commit ? TAM_EDENIED : 0);
        if (commit) {
            assert_string_equal(e.field, "act");
            assert_non_null(strstr(e.message, "principal 'mgr' (role manager) may not send pipeline.act commit"));
            assert_non_null(strstr(e.message, "donor_liaison"));
        }
        tam_rpc_error_clear(&e);
        assert_int_equal(tam_pipeline_authorize(&dl, "pipeline.act", sb.data, sb.size, f->a, &e),
                         commit ? 0 : TAM_EDENIED);
        if (!commit)
            assert_non_null(strstr(e.message, "manager"));
        tam_rpc_error_clear(&e);
        assert_int_equal(tam_pipeline_authorize(&resp, "pipeline.act", sb.data, sb.size, f->a, &e),
                         TAM_EDENIED);
        tam_rpc_error_clear(&e);
        assert_int_equal(tam_pipeline_authorize(&admin, "pipeline.act", sb.data, sb.size, f->a, &e), 0);
        msgpack_sbuffer_destroy(&sb);
    }
    /* a body that does not decode: one of the two roles at least */
    tam_rpc_error_t e = {0};
    assert_int_equal(tam_pipeline_authorize(&mgr, "pipeline.act", "\x01", 1, f->a, &e), 0);
    assert_int_equal(tam_pipeline_authorize(&resp, "pipeline.act", "\x01", 1, f->a, &e), TAM_EDENIED);
    tam_rpc_error_clear(&e);
    /* reads: anyone */
    assert_int_equal(tam_pipeline_authorize(&resp, "pipeline.report", "\x80", 1, f->a, &e), 0);
    assert_int_equal(tam_pipeline_authorize(&resp, "pipeline.history", "\x80", 1, f->a, &e), 0);
    assert_int_equal(tam_pipeline_authorize(&resp, "sys.ping", "\x80", 1, f->a, &e), 0);
}

/* Every (state, act): allowed ones lead to the documented state with an
 * audit entry; refused ones give TAM_ESTATE naming act and state, and the
 * store is byte for byte as before. */
static void test_every_transition(void **state)
{
    pf_t *f = *state;
    for (int s = 0; s < 6; s++) {
        for (int a = 0; a < 5; a++) {
            pf_teardown(state);
            assert_int_equal(pf_setup(state), 0);
            s_drive(f, "1/AFR-A", s);
            size_t blen;
            char *before = pf_dump(f, &blen);
            int rc = pf_act(f, g_acts[a], "1/AFR-A", 0, 0);
            if (g_allowed[s][a]) {
                if (rc)
                    fail_msg("%s from %s refused: %s", g_acts[a], g_states[s], f->err.message);
                tam_decision_t d = s_decision(f, "1/AFR-A");
                assert_string_equal(tam_enum_decision_state.values[d.state], g_allowed[s][a]);
                tam_audit_list_t h = s_history(f, "1/AFR-A");
                tam_audit_entry_t *e = &h.items.v[h.items.n - 1];
                assert_string_equal(tam_enum_decision_act.values[e->act], g_acts[a]);
                assert_string_equal(tam_enum_decision_state.values[e->from], g_states[s]);
                assert_string_equal(tam_enum_decision_state.values[e->to], g_allowed[s][a]);
                assert_int_equal(d.revision, h.items.n);
            } else {
                if (rc != TAM_ESTATE)
                    fail_msg("%s from %s: %s, not state", g_acts[a], g_states[s], tam_errname(rc));
                assert_string_equal(f->err.field, "act");
                assert_non_null(strstr(f->err.message, g_acts[a]));
                char st[32];
                snprintf(st, sizeof st, "state %s", g_states[s]);
                assert_non_null(strstr(f->err.message, st));
                assert_int_equal(f->pubs.n, 0);
                assert_unchanged(f, before, blen);
            }
            free(before);
        }
    }
}

/* The whole life of one pair, and the decision record at each step. */
static void test_life(void **state)
{
    pf_t *f = *state;
    f->p.now_ms = PF_T0;
    assert_int_equal(pf_ok(f, "endorse", "1/AFR-A", 0), TAM_E_decision_state_endorsed);
    tam_decision_t d = s_decision(f, "1/AFR-A");
    assert_int_equal(d.endorsed, 100000); /* the proposal's amount */
    assert_int_equal(d.committed, 0);
    assert_int_equal(d.need, 1);
    assert_string_equal(d.project, "AFR-A");
    assert_string_equal(d.country, "KEN");
    assert_string_equal(d.category, "A");
    assert_int_equal(d.since, PF_T0);
    assert_string_equal(f->pubs.v[0].topic, "decision/KEN/A");
    /* The published body is the stored decision. */
    tam_decision_t pubd;
    assert_int_equal(tam_decode(&tam_schema_decision, f->pubs.v[0].body, f->pubs.v[0].len, f->a,
                                &pubd, NULL), 0);
    assert_int_equal(pubd.revision, 1);

    f->p.now_ms = PF_T0 + PF_DAY;
    assert_int_equal(pf_ok(f, "withdraw", "1/AFR-A", 0), TAM_E_decision_state_withdrawn);
    d = s_decision(f, "1/AFR-A");
    assert_int_equal(d.endorsed, 0);
    assert_int_equal(d.since, PF_T0 + PF_DAY);
    assert_int_equal(pf_ok(f, "endorse", "1/AFR-A", 80000), TAM_E_decision_state_endorsed);
    assert_int_equal(s_decision(f, "1/AFR-A").endorsed, 80000);
    assert_int_equal(pf_ok(f, "commit", "1/AFR-A", 0), TAM_E_decision_state_committed);
    d = s_decision(f, "1/AFR-A");
    assert_int_equal(d.committed, 80000); /* the endorsed amount */
    assert_int_equal(pf_ok(f, "deliver", "1/AFR-A", 0), TAM_E_decision_state_delivered);
    d = s_decision(f, "1/AFR-A");
    assert_int_equal(d.committed, 80000);
    assert_int_equal(d.revision, 5);
    assert_string_equal(d.reason, "test reason");

    /* declined is final: from none, and from withdrawn */
    assert_int_equal(pf_ok(f, "decline", "2/AFR-A", 0), TAM_E_decision_state_declined);
    assert_int_equal(pf_act(f, "endorse", "2/AFR-A", 0, 0), TAM_ESTATE);
    assert_non_null(strstr(f->err.message, "final"));
    pf_ok(f, "endorse", "4/GLO-D", 0);
    pf_ok(f, "withdraw", "4/GLO-D", 0);
    assert_int_equal(pf_ok(f, "decline", "4/GLO-D", 0), TAM_E_decision_state_declined);
    /* commit without endorsement: refused with the reason */
    assert_int_equal(pf_act(f, "commit", "7/GLO-D", 60000, 0), TAM_ESTATE);
    assert_non_null(strstr(f->err.message, "endorse"));
}

/* ---- amounts ------------------------------------------------------------------------- */

static void test_commit_beyond_budget(void **state)
{
    pf_t *f = *state;
    /* SMALL received 70,000. */
    pf_ok(f, "endorse", "1/SMALL", 60000);
    pf_ok(f, "commit", "1/SMALL", 60000);
    pf_ok(f, "endorse", "2/SMALL", 10000);
    size_t blen;
    char *before = pf_dump(f, &blen);
    assert_int_equal(pf_act(f, "commit", "2/SMALL", 10001, 0), TAM_ECONFLICT);
    assert_string_equal(f->err.field, "amount");
    assert_non_null(strstr(f->err.message, "project SMALL has available: 10,000"));
    assert_non_null(strstr(f->err.message, "received 70,000 - committed 60,000"));
    assert_int_equal(f->pubs.n, 0);
    assert_unchanged(f, before, blen);
    /* An endorsement elsewhere holds money too: nothing is left for 3/SMALL. */
    assert_int_equal(pf_act(f, "endorse", "3/SMALL", 1, 0), TAM_ECONFLICT);
    assert_non_null(strstr(f->err.message, "available: 0"));
    assert_non_null(strstr(f->err.message, "endorsed for other proposals 10,000"));
    assert_unchanged(f, before, blen);
    /* Exactly what is available is accepted. */
    pf_ok(f, "commit", "2/SMALL", 10000);
    free(before);
}

static void test_commit_beyond_need(void **state)
{
    pf_t *f = *state;
    /* need 2 costs 50,000; AFR-A holds 30,000 of it. */
    pf_ok(f, "endorse", "2/AFR-A", 30000);
    size_t blen;
    char *before = pf_dump(f, &blen);
    assert_int_equal(pf_act(f, "endorse", "2/SMALL", 20001, 0), TAM_ECONFLICT);
    assert_string_equal(f->err.field, "amount");
    assert_non_null(strstr(f->err.message, "unfunded amount of need 2: 20,000"));
    assert_non_null(strstr(f->err.message, "cost 50,000"));
    assert_unchanged(f, before, blen);
    pf_ok(f, "endorse", "2/SMALL", 20000);
    /* commit of more than the need's unfunded amount */
    pf_ok(f, "commit", "2/AFR-A", 30000);
    free(before);
    before = pf_dump(f, &blen);
    assert_int_equal(pf_act(f, "commit", "2/SMALL", 20001, 0), TAM_ECONFLICT);
    assert_non_null(strstr(f->err.message, "committed 30,000"));
    assert_unchanged(f, before, blen);
    free(before);
}

static void test_amount_rules(void **state)
{
    pf_t *f = *state;
    size_t blen;
    char *before = pf_dump(f, &blen);
    /* GLO-D gives at most 120,000 to one need */
    assert_int_equal(pf_act(f, "endorse", "4/GLO-D", 120001, 0), TAM_ECONFLICT);
    assert_non_null(strstr(f->err.message, "cap per need: 120,000"));
    /* an amount only goes with endorse and commit */
    assert_int_equal(pf_act(f, "decline", "4/GLO-D", 5, 0), TAM_EINVAL);
    assert_string_equal(f->err.field, "amount");
    assert_unchanged(f, before, blen);
    free(before);
    pf_ok(f, "endorse", "4/GLO-D", 120000);
    before = pf_dump(f, &blen);
    assert_int_equal(pf_act(f, "withdraw", "4/GLO-D", 1, 0), TAM_EINVAL);
    assert_int_equal(pf_act(f, "commit", "4/GLO-D", 120001, 0), TAM_ECONFLICT);
    assert_unchanged(f, before, blen);
    free(before);
    /* a commit may be lower than the endorsement */
    pf_ok(f, "commit", "4/GLO-D", 100000);
    assert_int_equal(s_decision(f, "4/GLO-D").committed, 100000);
    assert_int_equal(s_decision(f, "4/GLO-D").endorsed, 120000);
}

/* ---- audit ----------------------------------------------------------------------------- */

static void test_audit_entries(void **state)
{
    pf_t *f = *state;
    static const struct {
        const char *act, *proposal;
        int64_t amount, recorded;
        const char *role, *from, *to;
    } steps[] = {
        {"endorse", "1/AFR-A", 0, 100000, "manager", "none", "endorsed"},
        {"decline", "2/AFR-A", 0, 0, "manager", "none", "declined"},
        {"withdraw", "1/AFR-A", 0, 0, "manager", "endorsed", "withdrawn"},
        {"endorse", "1/AFR-A", 90000, 90000, "manager", "withdrawn", "endorsed"},
        {"commit", "1/AFR-A", 0, 90000, "donor_liaison", "endorsed", "committed"},
        {"deliver", "1/AFR-A", 0, 0, "manager", "committed", "delivered"},
    };
    size_t n = sizeof steps / sizeof steps[0];
    for (size_t i = 0; i < n; i++) {
        f->p.now_ms = PF_T0 + (int64_t)i * 1000;
        pf_ok(f, steps[i].act, steps[i].proposal, steps[i].amount);
    }
    /* refused acts leave no entry */
    assert_int_equal(pf_act(f, "commit", "2/AFR-A", 0, 0), TAM_ESTATE);
    tam_audit_query_t q = {0};
    tam_audit_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_audit, &q, &l), 0);
    assert_int_equal(l.items.n, n);
    assert_int_equal(l.next, 0);
    for (size_t i = 0; i < n; i++) {
        const tam_audit_entry_t *e = &l.items.v[i];
        assert_int_equal(e->seq, i + 1);
        assert_int_equal(e->at, PF_T0 + (int64_t)i * 1000);
        assert_string_equal(e->principal, "local");
        assert_string_equal(e->role, steps[i].role);
        assert_string_equal(tam_enum_decision_act.values[e->act], steps[i].act);
        assert_string_equal(e->proposal, steps[i].proposal);
        assert_int_equal(e->amount, steps[i].recorded);
        assert_string_equal(e->reason, "test reason");
        assert_string_equal(tam_enum_decision_state.values[e->from], steps[i].from);
        assert_string_equal(tam_enum_decision_state.values[e->to], steps[i].to);
        assert_int_equal(e->run, 7); /* the latest run the pipeline has seen */
        assert_string_equal(e->hash, PF_HASH);
    }
    /* paging */
    q.limit = 4;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_audit, &q, &l), 0);
    assert_int_equal(l.items.n, 4);
    assert_int_equal(l.next, 4);
    q.after = l.next;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_audit, &q, &l), 0);
    assert_int_equal(l.items.n, 2);
    assert_int_equal(l.items.v[0].seq, 5);
    assert_int_equal(l.next, 0);
    /* history of one proposal, oldest first */
    tam_audit_list_t h = s_history(f, "1/AFR-A");
    assert_int_equal(h.items.n, 5);
    assert_int_equal(h.items.v[0].seq, 1);
    assert_int_equal(h.items.v[4].seq, 6);
    h = s_history(f, "2/AFR-A");
    assert_int_equal(h.items.n, 1);
    /* another principal is recorded as such */
    assert_int_equal(tam_principal_from_user_id("alice", &f->who), 0);
    pf_ok(f, "endorse", "4/GLO-D", 0);
    h = s_history(f, "4/GLO-D");
    assert_string_equal(h.items.v[0].principal, "alice");
    /* no act yet: not found */
    tam_proposal_ref_t ref = {.id = "3/SMALL"};
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_history, &ref, &h), TAM_ENOTFOUND);
    ref.id = "03/SMALL";
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_history, &ref, &h), TAM_EINVAL);
}

/* ---- run and hash ------------------------------------------------------------------------ */

static void test_run_and_hash(void **state)
{
    pf_t *f = *state;
    /* named run, an older one: refused, naming the current run 7, with or
     * without an amount */
    size_t blen;
    char *before = pf_dump(f, &blen);
    assert_int_equal(pf_act(f, "endorse", "1/AFR-A", 0, 5), TAM_ECONFLICT);
    assert_string_equal(f->err.field, "run");
    assert_non_null(strstr(f->err.message, "run 5 is not the current run"));
    assert_non_null(strstr(f->err.message, "current run is 7"));
    assert_int_equal(pf_act(f, "endorse", "1/AFR-A", 90000, 6), TAM_ECONFLICT);
    assert_non_null(strstr(f->err.message, "current run is 7"));
    assert_unchanged(f, before, blen);
    free(before);
    /* a newer run than tam-pipeline has seen (tam-match's current run, its
     * feed not here yet): accepted and recorded, its hash unknown here */
    assert_int_equal(pf_act(f, "endorse", "1/AFR-A", 90000, 8), 0);
    tam_decision_t d = s_decision(f, "1/AFR-A");
    assert_int_equal(d.run, 8);
    assert_null(d.hash);
    /* the run moves on: the old run 7 is refused from now on */
    pf_run(f, 9, "AFR-A:2");
    assert_int_equal(pf_act(f, "endorse", "2/AFR-A", 0, 7), TAM_ECONFLICT);
    assert_non_null(strstr(f->err.message, "current run is 9"));
    pf_run(f, 7, "AFR-A:2"); /* back to the fixture's run for the rest */
    /* the current run: the hash is filled in */
    assert_int_equal(pf_act(f, "endorse", "2/AFR-A", 0, 7), 0);
    d = s_decision(f, "2/AFR-A");
    assert_int_equal(d.run, 7);
    assert_string_equal(d.hash, PF_HASH);
}

/* ---- what the act needs from the feeds ---------------------------------------------------- */

static void test_feeds_needed(void **state)
{
    pf_t *f = *state;
    size_t blen;
    char *before = pf_dump(f, &blen);
    /* unknown need, withdrawn need, unknown project, project not active, not proposed */
    assert_int_equal(pf_act(f, "endorse", "99/AFR-A", 0, 0), TAM_ENOTFOUND);
    assert_string_equal(f->err.field, "proposal");
    assert_int_equal(pf_act(f, "endorse", "5/AFR-A", 1000, 0), TAM_ESTATE);
    assert_non_null(strstr(f->err.message, "withdrawn"));
    assert_int_equal(pf_act(f, "decline", "1/NOPE", 0, 0), TAM_ENOTFOUND);
    assert_non_null(strstr(f->err.message, "NOPE"));
    assert_int_equal(pf_act(f, "endorse", "1/PIPE", 1000, 0), TAM_ESTATE);
    assert_non_null(strstr(f->err.message, "pipeline"));
    assert_int_equal(pf_act(f, "endorse", "3/AFR-A", 1000, 0), TAM_ENOTFOUND);
    assert_non_null(strstr(f->err.message, "not a current proposal"));
    /* a removed proposal can no longer be endorsed */
    pf_prop(f, "7/GLO-D", 8, 0, true);
    assert_int_equal(pf_act(f, "endorse", "7/GLO-D", 0, 0), TAM_ENOTFOUND);
    /* declining a pair that was never proposed is allowed (need and project exist) */
    assert_unchanged(f, before, blen);
    free(before);
    pf_ok(f, "decline", "3/AFR-A", 0);
    pf_ok(f, "endorse", "2/AFR-A", 0);

    /* feeds not synced: the act is refused as unavailable, not as unknown */
    tam_pipeline_view_reset(f->view, TAM_PIPELINE_SRC_MATCH);
    assert_int_equal(pf_act(f, "endorse", "1/AFR-A", 0, 0), TAM_EUNAVAIL);
    assert_non_null(strstr(f->err.message, "tam-match"));
    /* tam-registry resynchronising (e.g. down): its last feed is used, and
     * the answer says so and how old it is */
    tam_pipeline_view_reset(f->view, TAM_PIPELINE_SRC_REGISTRY);
    int64_t age = -1;
    assert_true(tam_pipeline_view_usable(f->view, TAM_PIPELINE_SRC_REGISTRY, &age));
    assert_true(age >= 0);
    assert_int_equal(pf_ok(f, "decline", "1/SMALL", 0), TAM_E_decision_state_declined);
    tam_act_ack_t ack;
    assert_int_equal(tam_decode(&tam_schema_act_ack, f->answer.data, f->answer.size, f->a, &ack,
                                NULL), 0);
    assert_non_null(ack.note);
    assert_non_null(strstr(ack.note, "tam-registry"));
    assert_non_null(strstr(ack.note, "as of its last feed, current "));
    /* a registry feed never received: refused as unavailable */
    tam_pipeline_view_t *fresh = NULL;
    assert_int_equal(tam_pipeline_view_new(&fresh, f->cat), 0);
    assert_false(tam_pipeline_view_usable(fresh, TAM_PIPELINE_SRC_REGISTRY, NULL));
    tam_pipeline_view_t *keep = f->view;
    f->p.view = fresh;
    tam_pipeline_view_synced(fresh, TAM_PIPELINE_SRC_INGEST, 1);
    pf_t g = *f;
    g.view = fresh;
    pf_need(&g, 1, "KEN", "A-SMR", 100000, true);
    assert_int_equal(pf_act(f, "decline", "1/AFR-A", 0, 0), TAM_EUNAVAIL);
    assert_non_null(strstr(f->err.message, "tam-registry"));
    f->p.view = keep;
    tam_pipeline_view_destroy(&fresh);
    tam_pipeline_view_reset(f->view, TAM_PIPELINE_SRC_INGEST);
    assert_int_equal(pf_act(f, "decline", "1/AFR-A", 0, 0), TAM_EUNAVAIL);
    assert_non_null(strstr(f->err.message, "tam-ingest"));
    /* acts on existing decisions that need no figures go on */
    assert_int_equal(pf_ok(f, "withdraw", "2/AFR-A", 0), TAM_E_decision_state_withdrawn);
    assert_int_equal(s_decision(f, "2/AFR-A").run, 0); /* no run known any more */
}

static void test_bad_input(void **state)
{
    pf_t *f = *state;
    size_t blen;
    char *before = pf_dump(f, &blen);
    static const char *const bad[] = {"01/AFR-A", "1/", "x/AFR-A", "1/A", "1/AFR A", "1AFR-A",
                                      "18446744073709551616/AFR-A", "1/AFR-A/2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pf_act(f, "decline", bad[i], 0, 0), TAM_EINVAL);
        assert_string_equal(f->err.field, "proposal");
    }
    /* a blank reason */
    tam_act_t a = {.proposal = "1/AFR-A", .act = TAM_E_decision_act_decline, .reason = "  \t "};
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_act, &a, &sb, NULL), 0);
    assert_int_equal(pf_act_raw(f, sb.data, sb.size), TAM_EINVAL);
    assert_string_equal(f->err.field, "reason");
    msgpack_sbuffer_destroy(&sb);
    /* no reason at all, an unknown act, not a map */
    static const char no_reason[] = "\x82\xa8proposal\xa7" "1/AFR-A\xa3" "act\xa7" "decline";
    assert_int_equal(pf_act_raw(f, no_reason, sizeof no_reason - 1), TAM_EMISSING);
    assert_string_equal(f->err.field, "reason");
    static const char bad_act[] = "\x83\xa8proposal\xa7" "1/AFR-A\xa3" "act\xa4" "burn\xa6reason\xa1x";
    assert_int_equal(pf_act_raw(f, bad_act, sizeof bad_act - 1), TAM_EUNKNOWN);
    assert_string_equal(f->err.field, "act");
    assert_int_equal(pf_act_raw(f, "\x01", 1), TAM_ETYPE);
    assert_unchanged(f, before, blen);
    free(before);
}

/* ---- reads and the snapshot ------------------------------------------------------------- */

typedef struct {
    int n;
    char topics[8][16];
} s_snap_t;

static int s_emit(void *ctx, const char *topic, size_t tlen, const void *body, size_t len)
{
    s_snap_t *s = ctx;
    tam_decision_t d;
    tam_arena_t *a = tam_arena_new(0);
    assert_int_equal(tam_decode(&tam_schema_decision, body, len, a, &d, NULL), 0);
    tam_arena_destroy(&a);
    assert_true(tlen < 16);
    memcpy(s->topics[s->n], topic, tlen);
    s->topics[s->n++][tlen] = 0;
    return 0;
}

static int s_snap_fn(tam_txn_t *txn, void *arg)
{
    return tam_pipeline_snapshot(txn, "", s_emit, arg);
}

static int s_counts_fn(tam_txn_t *txn, void *arg)
{
    return tam_pipeline_counts(txn, arg);
}

static void test_queries_and_snapshot(void **state)
{
    pf_t *f = *state;
    f->p.now_ms = PF_T0 + 3 * PF_DAY;
    pf_ok(f, "endorse", "4/GLO-D", 0);
    f->p.now_ms = PF_T0 + 1 * PF_DAY;
    pf_ok(f, "endorse", "1/AFR-A", 0);
    f->p.now_ms = PF_T0 + 2 * PF_DAY;
    pf_ok(f, "decline", "3/SMALL", 0);

    tam_decision_query_t q = {0};
    tam_decision_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 3);
    assert_string_equal(l.items.v[0].proposal, "1/AFR-A"); /* oldest state change first */
    assert_string_equal(l.items.v[1].proposal, "3/SMALL");
    assert_string_equal(l.items.v[2].proposal, "4/GLO-D");
    q.has_state = true;
    q.state = TAM_E_decision_state_endorsed;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 2);
    q.country = "COL";
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 1);
    assert_string_equal(l.items.v[0].proposal, "4/GLO-D");
    q = (tam_decision_query_t){.project = "SMALL"};
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 1);
    q = (tam_decision_query_t){.offset = 1, .limit = 1};
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 3);
    assert_int_equal(l.items.n, 1);
    assert_string_equal(l.items.v[0].proposal, "3/SMALL");
    q = (tam_decision_query_t){.proposal = "2/AFR-A"};
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_decisions, &q, &l), 0);
    assert_int_equal(l.total, 0);

    s_snap_t snap = {0};
    assert_int_equal(tam_store_read(f->store, s_snap_fn, &snap), 0);
    assert_int_equal(snap.n, 3);
    assert_string_equal(snap.topics[0], "decision/KEN/A");
    assert_string_equal(snap.topics[1], "decision/IND/C");
    assert_string_equal(snap.topics[2], "decision/COL/D");

    tam_pipeline_counts_t c;
    assert_int_equal(tam_store_read(f->store, s_counts_fn, &c), 0);
    assert_int_equal(c.decisions, 3);
    assert_int_equal(c.audit, 3);
}

/* ---- failures ------------------------------------------------------------------------------ */

static void test_put_fails(void **state)
{
    pf_t *f = *state;
    pf_ok(f, "endorse", "1/AFR-A", 0);
    size_t blen;
    char *before = pf_dump(f, &blen);
    /* Each of the act's five puts in turn: the audit counter, the decision,
     * its project index, the audit entry and its proposal index. */
    for (int k = 1; k <= 5; k++) {
        g_put_in = k;
        g_put_rc = EIO;
        int rc = pf_act(f, "commit", "1/AFR-A", 0, 0);
        assert_true(rc < 0);
        assert_true(rc != TAM_ESTATE && rc != TAM_ECONFLICT);
        assert_int_equal(f->pubs.n, 0);
        g_put_in = 0;
        assert_unchanged(f, before, blen);
    }
    free(before);
    /* a full map half-way: the store grows it and runs the act again from the
     * start; it is applied once */
    g_put_in = 4;
    g_put_rc = MDB_MAP_FULL;
    pf_ok(f, "commit", "1/AFR-A", 0);
    assert_int_equal(tam_store_grow_count(f->store), 1);
    tam_audit_list_t h = s_history(f, "1/AFR-A");
    assert_int_equal(h.items.n, 2);
    assert_int_equal(h.items.v[1].seq, 2);
}

/* ---- the views ---------------------------------------------------------------------------- */

static void test_view(void **state)
{
    pf_t *f = *state;
    tam_pipeline_view_stats_t st;
    tam_pipeline_view_stats(f->view, &st);
    uint64_t bad = st.malformed[TAM_PIPELINE_SRC_MATCH];
    /* a body that does not decode changes nothing */
    assert_int_not_equal(tam_pipeline_view_record(f->view, TAM_PIPELINE_SRC_MATCH, "prop/KEN/A", 10,
                                                  "\x81\xa2id\x01", 5), 0);
    tam_pipeline_view_stats(f->view, &st);
    assert_int_equal(st.malformed[TAM_PIPELINE_SRC_MATCH], bad + 1);
    assert_int_equal(tam_pipeline_view_count(f->view, 'x'), 7);
    /* unknown topics are ignored */
    assert_int_equal(tam_pipeline_view_record(f->view, TAM_PIPELINE_SRC_MATCH, "lp", 2, "", 0), 0);
    /* a withdrawn need is kept, closed */
    pf_need(f, 1, "KEN", "A-SMR", 100000, false);
    assert_false(tam_pipeline_view_need(f->view, 1)->open);
    assert_string_equal(tam_pipeline_view_need(f->view, 1)->group, "AFRICAN");
    /* removed proposals go */
    pf_prop(f, "1/AFR-A", 8, 0, true);
    assert_null(tam_pipeline_view_proposal(f->view, "1/AFR-A"));
    assert_int_equal(tam_pipeline_view_count(f->view, 'x'), 6);
    /* a reset of tam-registry's feed keeps its last records (usable, not
     * ready) until a new snapshot completes, which drops those it did not
     * bring again */
    tam_pipeline_view_reset(f->view, TAM_PIPELINE_SRC_REGISTRY);
    assert_false(tam_pipeline_view_ready(f->view, TAM_PIPELINE_SRC_REGISTRY));
    assert_true(tam_pipeline_view_usable(f->view, TAM_PIPELINE_SRC_REGISTRY, NULL));
    assert_int_equal(tam_pipeline_view_seq(f->view, TAM_PIPELINE_SRC_REGISTRY), 0);
    assert_non_null(tam_pipeline_view_project(f->view, "AFR-A"));
    assert_non_null(tam_pipeline_view_donor(f->view, "NOR"));
    pf_project(f, "SMALL", "NOR:100", 70000, 70000, TAM_E_project_status_active, NULL, "A,C", 0);
    pf_donor(f, "NOR", "Norway");
    tam_pipeline_view_synced(f->view, TAM_PIPELINE_SRC_REGISTRY, 20);
    assert_true(tam_pipeline_view_ready(f->view, TAM_PIPELINE_SRC_REGISTRY));
    assert_null(tam_pipeline_view_project(f->view, "AFR-A"));
    assert_non_null(tam_pipeline_view_project(f->view, "SMALL"));
    assert_null(tam_pipeline_view_donor(f->view, "SWE"));
    assert_non_null(tam_pipeline_view_donor(f->view, "NOR"));
    assert_int_equal(tam_pipeline_view_count(f->view, 'p'), 1);
    /* the other sources were not touched */
    assert_true(tam_pipeline_view_ready(f->view, TAM_PIPELINE_SRC_INGEST));
    assert_int_equal(tam_pipeline_view_seq(f->view, TAM_PIPELINE_SRC_INGEST), 10);
    assert_non_null(tam_pipeline_view_need(f->view, 2));
    assert_non_null(tam_pipeline_view_run(f->view));
    tam_pipeline_view_reset(f->view, TAM_PIPELINE_SRC_MATCH);
    assert_null(tam_pipeline_view_run(f->view));
    assert_int_equal(tam_pipeline_view_count(f->view, 'x'), 0);
}

static void test_map(void **state)
{
    (void)state;
    tam_pipeline_map_t *m = NULL;
    assert_int_equal(tam_pipeline_map_new(&m, free), 0);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        int *v = malloc(sizeof *v);
        *v = i;
        assert_int_equal(tam_pipeline_map_put(m, key, v), 0);
    }
    assert_int_equal(tam_pipeline_map_count(m), 5000);
    int *v = malloc(sizeof *v);
    *v = -1;
    assert_int_equal(tam_pipeline_map_put(m, "k7", v), 0); /* replaces, frees the old value */
    assert_int_equal(*(int *)tam_pipeline_map_get(m, "k7"), -1);
    assert_int_equal(tam_pipeline_map_del(m, "k8"), 0);
    assert_int_equal(tam_pipeline_map_del(m, "k8"), TAM_ENOTFOUND);
    assert_null(tam_pipeline_map_get(m, "k8"));
    size_t pos = 0, n = 0;
    long sum = 0;
    const char *k;
    while ((v = tam_pipeline_map_next(m, &pos, &k))) {
        n++;
        sum += *v;
        assert_int_equal(k[0], 'k');
    }
    assert_int_equal(n, 4999);
    assert_int_equal(sum, 4999L * 5000 / 2 - 7 - 8 - 1);
    tam_pipeline_map_destroy(&m);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test(test_map),
        cmocka_unit_test_setup_teardown(test_roles, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_every_transition, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_life, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_commit_beyond_budget, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_commit_beyond_need, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_amount_rules, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_audit_entries, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_run_and_hash, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_feeds_needed, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_queries_and_snapshot, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_put_fails, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_view, setup, pf_teardown),
    };
    return cmocka_run_group_tests(tests, pf_group_setup, pf_group_teardown);
}

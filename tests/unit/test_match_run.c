/* test_match_run.c — runs: what each run publishes (the header, then only
 * the proposals that changed, with their reason), the snapshot, resyncs of a
 * feed, and determinism: the same inputs in any order give byte-identical
 * proposals and the same hash, and an engine that went through many warm
 * runs ends where a fresh one (a restart) starts. */
#include "match_fixture.h"

static fx_inst_t s_inst;

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

/* The current proposals, with run and reason zeroed (they depend on the
 * history, not on the inputs), re-encoded: the bytes to compare. */
static void s_canon(fx_t *fx, msgpack_sbuffer *out)
{
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    l.run = 0;
    for (uint32_t i = 0; i < l.items.n; i++) {
        l.items.v[i].run = 0;
        l.items.v[i].reason = TAM_E_change_reason_unchanged;
    }
    assert_int_equal(tam_encode_sbuf(&tam_schema_proposal_list, &l, out, NULL), 0);
}

static tam_proposal_t *s_pub(fx_t *fx, size_t i)
{
    tam_proposal_t *p = tam_arena_alloc(fx->a, sizeof *p);
    assert_int_equal(tam_decode(&tam_schema_proposal, fx->pubs[i].body, fx->pubs[i].len, fx->a,
                                p, NULL), 0);
    return p;
}

/* Finds the published record of a pair in the last run, or NULL. */
static tam_proposal_t *s_pub_of(fx_t *fx, const char *id)
{
    for (size_t i = 0; i + 1 < fx->npubs; i++) { /* the last record is the run's */
        tam_proposal_t *p = s_pub(fx, i);
        if (strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

static void test_reasons(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 2,
                            .cost = 50000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .priority = 3,
                            .cost = 50000});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 80000});
    fx_project(fx, (fx_project_t){.id = "P2", .received = 1000, .countries = "UGA"});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx->npubs, 3);
    assert_int_equal(s_pub(fx, 0)->reason, TAM_E_change_reason_new_pair);
    assert_int_equal(s_pub(fx, 0)->run, 1);
    /* nothing changed: a run publishes its header only */
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx->npubs, 1);
    assert_int_equal(fx_header(fx)->changed, 0);
    /* more money: need 1's amount changes; need 2 stays and is not published */
    fx_project(fx, (fx_project_t){.id = "P1", .received = 90000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx->npubs, 2);
    assert_int_equal(s_pub_of(fx, "1/P1")->reason, TAM_E_change_reason_amount);
    assert_int_equal(s_pub_of(fx, "1/P1")->amount, 40000);
    /* need 2's window starts sooner: its urgency rank among KEN's needs
     * rises and need 1's falls, so both scores change (its priority up from
     * 3 to 5 changes nothing: it is already its respondent's first) */
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 50000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx->npubs, 1);
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 50000, .start = "2026-06-15"});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx->npubs, 3);
    assert_int_equal(s_pub_of(fx, "2/P1")->reason, TAM_E_change_reason_score);
    assert_int_equal(s_pub_of(fx, "1/P1")->reason, TAM_E_change_reason_score);
    /* an endorsement: reason decision, state endorsed */
    fx_decision(fx, 2, "P1", "KEN", TAM_E_decision_state_endorsed, 50000, 0);
    assert_int_equal(fx_run(fx), 0);
    tam_proposal_t *p = s_pub_of(fx, "2/P1");
    assert_non_null(p);
    assert_int_equal(p->reason, TAM_E_change_reason_decision);
    assert_int_equal(p->state, TAM_E_proposal_state_endorsed);
    /* a new high-scoring need funded by another project shifts the ranks:
     * rank-only changes are not published, but queries show them */
    fx_need(fx, (fx_need_t){.id = 3, .country = "UGA", .standard = "A-SMR", .priority = 5,
                            .cost = 1000, .completeness = 100, .start = "2026-06-01"});
    /* (UGA's other need, later and lower: need 3 is UGA's first on both
     * counts; no project's window reaches need 4's) */
    fx_need(fx, (fx_need_t){.id = 4, .country = "UGA", .standard = "A-BODY", .priority = 1,
                            .cost = 1000, .start = "2029-01-01", .end = "2029-12-31"});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx->npubs, 2);
    assert_string_equal(s_pub(fx, 0)->id, "3/P2");
    assert_int_equal(s_pub(fx, 0)->rank, 1);
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    assert_int_equal(l.items.n, 3);
    assert_int_equal(l.items.v[1].reason, TAM_E_change_reason_rank);
    assert_int_equal(l.items.v[1].rank, 2);
    assert_true(l.items.v[1].run < l.run); /* last published by an earlier run */
}

typedef struct {
    fx_t *fx;
    size_t n;
    char topics[64][64];
    size_t lens[64];
} s_snap_t;

static int s_emit(void *ctx, const char *topic, size_t tn, const void *body, size_t len)
{
    s_snap_t *s = ctx;
    (void)body;
    if (s->n < 64) {
        snprintf(s->topics[s->n], 64, "%.*s", (int)tn, topic);
        s->lens[s->n] = len;
    }
    s->n++;
    return 0;
}

static void test_snapshot(void **state)
{
    fx_t *fx = *state;
    s_snap_t s = {.fx = fx};
    assert_int_equal(tam_match_snapshot(fx->m, "", s_emit, &s), 0);
    assert_int_equal(s.n, 0); /* nothing before the first run */
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 500});
    fx_need(fx, (fx_need_t){.id = 2, .country = "UGA", .standard = "B-MLA", .cost = 500});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 80000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(tam_match_snapshot(fx->m, "", s_emit, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.topics[2], "run"); /* last, as on the feed */
    /* the snapshot streams the records as published */
    for (size_t i = 0; i < 2; i++) {
        bool found = false;
        for (size_t k = 0; k + 1 < fx->npubs; k++)
            found |= strcmp(fx->pubs[k].topic, s.topics[i]) == 0 && fx->pubs[k].len == s.lens[i];
        assert_true(found);
    }
    s.n = 0;
    assert_int_equal(tam_match_snapshot(fx->m, "prop/UGA/", s_emit, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.topics[0], "prop/UGA/B");
    s.n = 0;
    assert_int_equal(tam_match_snapshot(fx->m, "run", s_emit, &s), 0);
    assert_int_equal(s.n, 1);
}

/* A feed resync: records not sent again before synced are gone. */
static void test_resync_sweep(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 500});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .cost = 500});
    fx_project(fx, (fx_project_t){.id = "P1", .received = 80000});
    fx_project(fx, (fx_project_t){.id = "P2", .received = 80000});
    fx_decision(fx, 1, "P1", "KEN", TAM_E_decision_state_declined, 0, 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 0);
    /* ingest resyncs and only need 2 comes back: need 1 is gone */
    tam_match_feed_reset(fx->m, TAM_MATCH_FEED_INGEST);
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .cost = 500});
    assert_false(tam_match_dirty(fx->m)); /* same record: nothing to do yet */
    tam_match_feed_synced(fx->m, TAM_MATCH_FEED_INGEST);
    assert_true(tam_match_dirty(fx->m));
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_header(fx)->needs, 1);
    /* the pipeline resyncs without the decline: the pair comes back */
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 500});
    tam_match_feed_reset(fx->m, TAM_MATCH_FEED_PIPELINE);
    tam_match_feed_synced(fx->m, TAM_MATCH_FEED_PIPELINE);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P1") + fx_amount(fx, 1, "P2"), 500);
    /* the registry resyncs without P2 and without the context */
    tam_match_feed_reset(fx->m, TAM_MATCH_FEED_REGISTRY);
    fx_project(fx, (fx_project_t){.id = "P1", .received = 80000});
    tam_match_feed_synced(fx->m, TAM_MATCH_FEED_REGISTRY);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 1, "P2"), 0);
    assert_int_equal(fx_amount(fx, 2, "P2"), 0);
    assert_int_equal(fx_amount(fx, 1, "P1"), 500);
}

/* Bad records change nothing. */
static void test_bad_records(void **state)
{
    fx_t *fx = *state;
    const uint8_t junk[] = {0x93, 0x01, 0x02};
    assert_int_not_equal(tam_match_apply_need(fx->m, junk, sizeof junk), 0);
    assert_int_not_equal(tam_match_apply_project(fx->m, junk, 0), 0);
    assert_int_not_equal(tam_match_apply_decision(fx->m, "\xc1", 1), 0);
    /* well-formed but unusable: unknown country */
    assert_int_equal(fx_need(fx, (fx_need_t){.id = 1, .country = "XXX", .standard = "A-SMR"}),
                     TAM_EINVAL);
    assert_int_equal(fx_need(fx, (fx_need_t){.id = 1ULL << 50, .country = "KEN",
                                             .standard = "A-SMR"}), TAM_EINVAL);
    assert_false(tam_match_dirty(fx->m));
    /* topics of no interest are ignored */
    assert_int_equal(tam_match_apply(fx->m, TAM_MATCH_FEED_INGEST, "reply/1", 7, junk, 3), 0);
    assert_false(tam_match_dirty(fx->m));
    tam_match_stats_t st;
    tam_match_stats(fx->m, &st);
    assert_int_equal(st.bad_records, 5);
    assert_int_equal(st.ignored_records, 1);
}

/* Same inputs in another order: byte-identical proposals, same hash. */
static void test_order_independent(void **state)
{
    (void)state;
    fx_gen(&s_inst, 7, 400, 40, 60);
    fx_t *a = fx_new(), *b = fx_new();
    fx_apply_inst(a, &s_inst, 0);
    fx_apply_inst(b, &s_inst, 1);
    assert_int_equal(fx_run(a), 0);
    assert_int_equal(fx_run(b), 0);
    msgpack_sbuffer x, y;
    s_canon(a, &x);
    s_canon(b, &y);
    assert_true(fx_header(a)->funded > 0);
    assert_int_equal(x.size, y.size);
    assert_memory_equal(x.data, y.data, x.size);
    assert_string_equal(tam_match_run_hash(a->m), tam_match_run_hash(b->m));
    /* the hash follows the inputs */
    fx_need(b, (fx_need_t){.id = 5, .country = "KEN", .standard = "A-SMR"});
    assert_int_equal(fx_run(b), 0);
    assert_string_not_equal(tam_match_run_hash(a->m), tam_match_run_hash(b->m));
    msgpack_sbuffer_destroy(&x);
    msgpack_sbuffer_destroy(&y);
    fx_free(a);
    fx_free(b);
}

/* An engine that went through many incremental (warm) runs ends with the
 * proposals a fresh engine computes from the final inputs: what a restart
 * rebuilds. */
static void test_restart_equals_history(void **state)
{
    (void)state;
    fx_gen(&s_inst, 11, 600, 50, 80);
    fx_t *h = fx_new(), *r = fx_new();
    /* history: projects and a first half of the needs, then the rest in
     * bursts, a project that changes twice, a need withdrawn and re-declared,
     * decisions that come and go */
    fx_project_t p0 = s_inst.projects[0];
    p0.received = 1;
    fx_project(h, p0);
    for (int j = 1; j < s_inst.nprojects; j++)
        fx_project(h, s_inst.projects[j]);
    for (int i = 0; i < s_inst.nneeds / 2; i++)
        fx_need(h, s_inst.needs[i]);
    assert_int_equal(fx_run(h), 0);
    fx_context(h, s_inst.context);
    assert_int_equal(fx_run(h), 0);
    int warm = 0;
    for (int i = s_inst.nneeds / 2; i < s_inst.nneeds; i += 25) {
        for (int k = i; k < i + 25 && k < s_inst.nneeds; k++)
            fx_need(h, s_inst.needs[k]);
        if (i % 100 == 0) {
            fx_need_t w = s_inst.needs[i / 3];
            w.withdrawn = true;
            fx_need(h, w);
        }
        assert_int_equal(fx_run(h), 0);
        warm += fx_header(h)->warm;
    }
    for (int i = 0; i < s_inst.nneeds; i += 100)
        fx_need(h, s_inst.needs[i / 3]); /* re-declared */
    fx_project(h, s_inst.projects[0]);
    assert_int_equal(fx_run(h), 0);
    for (int d = 0; d < s_inst.ndecs; d++) {
        fx_decision(h, s_inst.decs[d].need, s_inst.pids[s_inst.decs[d].project],
                    s_inst.decs[d].country, s_inst.decs[d].state, s_inst.decs[d].endorsed,
                    s_inst.decs[d].committed);
        if (d % 20 == 19) {
            assert_int_equal(fx_run(h), 0);
            warm += fx_header(h)->warm;
        }
    }
    /* a decision that was later withdrawn: back to no effect */
    fx_decision(h, s_inst.needs[1].id, s_inst.pids[1], s_inst.needs[1].country,
                TAM_E_decision_state_endorsed, 5000, 0);
    assert_int_equal(fx_run(h), 0);
    fx_decision(h, s_inst.needs[1].id, s_inst.pids[1], s_inst.needs[1].country,
                TAM_E_decision_state_withdrawn, 0, 0);
    assert_int_equal(fx_run(h), 0);
    assert_true(warm > 5); /* the history did exercise warm starts */

    fx_apply_inst(r, &s_inst, 1);
    fx_decision(r, s_inst.needs[1].id, s_inst.pids[1], s_inst.needs[1].country,
                TAM_E_decision_state_withdrawn, 0, 0);
    assert_int_equal(fx_run(r), 0);
    assert_string_equal(tam_match_run_hash(h->m), tam_match_run_hash(r->m));
    msgpack_sbuffer x, y;
    s_canon(h, &x);
    s_canon(r, &y);
    assert_int_equal(x.size, y.size);
    assert_memory_equal(x.data, y.data, x.size);
    tam_run_t *hh = fx_header(h), *rh = fx_header(r);
    assert_int_equal(hh->objective, rh->objective);
    assert_int_equal(hh->funded, rh->funded);
    /* the LP export is the same problem and solution (after the header line) */
    char *la = NULL, *lb = NULL;
    size_t na = 0, nb = 0;
    FILE *fa = open_memstream(&la, &na), *fb = open_memstream(&lb, &nb);
    assert_int_equal(tam_match_write_lp(h->m, fa), 0);
    assert_int_equal(tam_match_write_lp(r->m, fb), 0);
    fclose(fa);
    fclose(fb);
    const char *ba = strchr(la, '\n'), *bb = strchr(lb, '\n');
    assert_true(strcmp(ba, bb) == 0);
    free(la);
    free(lb);
    msgpack_sbuffer_destroy(&x);
    msgpack_sbuffer_destroy(&y);
    fx_free(h);
    fx_free(r);
}

/* Money a decision fixes in the random histories below (endorsed: the
 * endorsed amount; committed, delivered: the committed one, equal here). */
static int64_t s_dec_fixed(int state, int64_t amount)
{
    return state == TAM_E_decision_state_endorsed || state == TAM_E_decision_state_committed ||
                   state == TAM_E_decision_state_delivered
               ? amount : 0;
}

/* The cap of issue 10: for every open need, the new money proposed (amount
 * above the fixed part, over all projects) is at most max(0, cost - what
 * decisions fix on the need, on any project). */
static void s_check_cap(fx_t *fx, const fx_inst_t *in, const bool *open, int nneeds,
                        int64_t (*fixed_of)(int need))
{
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    for (int i = 0; i < nneeds; i++) {
        if (!open[i])
            continue;
        int64_t fresh = 0;
        for (uint32_t k = 0; k < l.items.n; k++)
            if (l.items.v[k].need == in->needs[i].id) {
                assert_true(l.items.v[k].amount >= l.items.v[k].fixed);
                fresh += l.items.v[k].amount - l.items.v[k].fixed;
            }
        int64_t room = in->needs[i].cost - fixed_of(i);
        if (fresh > (room > 0 ? room : 0))
            fail_msg("need %llu: %lld USD of new money proposed, cost %lld, fixed %lld",
                     (unsigned long long)in->needs[i].id, (long long)fresh,
                     (long long)in->needs[i].cost, (long long)fixed_of(i));
    }
}

static struct {
    int need, project, state;
    int64_t amount;
} s_decs[64];
static int s_ndecs;

static int64_t s_fixed_of(int need)
{
    int64_t f = 0;
    for (int k = 0; k < s_ndecs; k++)
        if (s_decs[k].need == need)
            f += s_dec_fixed(s_decs[k].state, s_decs[k].amount);
    return f;
}

/* A need revised below what decisions fix, and decisions on a project the
 * registry no longer lists: nothing new goes to the need. */
static void test_cap_after_revision(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 371, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 180000});
    fx_project(fx, (fx_project_t){.id = "GLO-WOMEN", .received = 1000000});
    fx_project(fx, (fx_project_t){.id = "AFR-PRISON", .received = 1000000});
    fx_project(fx, (fx_project_t){.id = "GONE", .received = 1000000, .countries = "UGA"});
    fx_decision(fx, 371, "GLO-WOMEN", "KEN", TAM_E_decision_state_committed, 180000, 100000);
    assert_int_equal(fx_run(fx), 0);
    /* 80,000 of new money at most: 180,000 - 100,000 fixed */
    assert_int_equal(fx_amount(fx, 371, "GLO-WOMEN") + fx_amount(fx, 371, "AFR-PRISON"),
                     180000);
    /* a revision (same id, new version) with a lower cost: the model holds the
     * new cost; nothing beyond it */
    fx_need(fx, (fx_need_t){.id = 371, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 90000});
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 371, "GLO-WOMEN"), 100000);
    assert_int_equal(fx_amount(fx, 371, "AFR-PRISON"), 0);
    assert_int_equal(fx_header(fx)->requested, 90000);
    /* a second decision on a project that then leaves the registry: its
     * money still counts against the need */
    fx_need(fx, (fx_need_t){.id = 371, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 300000});
    fx_decision(fx, 371, "GONE", "KEN", TAM_E_decision_state_endorsed, 150000, 0);
    assert_int_equal(tam_match_apply(fx->m, TAM_MATCH_FEED_REGISTRY, "project/GONE", 12, NULL, 0),
                     0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_amount(fx, 371, "GLO-WOMEN") + fx_amount(fx, 371, "AFR-PRISON"),
                     100000 + 50000);
    int code;
    tam_explanation_t *ex = fx_explain(fx, "371/AFR-PRISON", &code);
    assert_non_null(ex);
    assert_int_equal(ex->need_fixed, 250000);
    assert_int_equal(ex->need_unfunded, 0);
}

/* Random histories: after every step the warm engine's run must equal what a
 * fresh engine computes from the same current inputs (hash, proposals), and
 * no need gets new money beyond its cost minus what decisions fix. */
static void s_random_history(uint64_t inst_seed, uint64_t step_seed)
{
    fx_gen(&s_inst, inst_seed, 300, 30, 0);
    static bool open[300], removed[30];
    memset(removed, 0, sizeof removed);
    s_ndecs = 0;
    const char *ctx[2] = {s_inst.context, "KEN:A-SMR:2026-01-01,UGA::2026-01-01"};
    int cur_ctx = 0;
    memset(open, 0, sizeof open);
    fx_t *w = fx_new();
    for (int j = 0; j < s_inst.nprojects; j++)
        fx_project(w, s_inst.projects[j]);
    for (int i = 0; i < 200; i++) {
        open[i] = true;
        fx_need(w, s_inst.needs[i]);
    }
    fx_context(w, ctx[cur_ctx]);
    assert_int_equal(fx_run(w), 0);
    uint64_t x = step_seed;
    int warm = 0;
    for (int step = 1; step <= 120; step++) {
        int kind = (int)(fx_rand(&x) % 7);
        int i = (int)(fx_rand(&x) % 300), j = (int)(fx_rand(&x) % (uint64_t)s_inst.nprojects);
        fx_need_t n = s_inst.needs[i];
        switch (kind) {
        case 0: /* a need comes or goes */
            open[i] = !open[i];
            n.withdrawn = !open[i];
            fx_need(w, n);
            break;
        case 1: /* ledger moves; sometimes a project closes or reopens */
            s_inst.projects[j].received = 50000 + (int64_t)(fx_rand(&x) % 3000000);
            if (fx_rand(&x) % 4 == 0)
                s_inst.projects[j].inactive = !s_inst.projects[j].inactive;
            fx_project(w, s_inst.projects[j]);
            removed[j] = false;
            break;
        case 5: /* a revision: same need id, a new cost, often below what is fixed */
            s_inst.needs[i].cost = fx_rand(&x) % 2 ? 1000 + (int64_t)(fx_rand(&x) % 40000)
                                                   : 10000 + (int64_t)(fx_rand(&x) % 500000);
            n.cost = s_inst.needs[i].cost;
            if (open[i])
                fx_need(w, n);
            break;
        case 6: { /* the registry drops a project (its decisions stay), mostly one
                   * that holds decisions */
            if (s_ndecs && fx_rand(&x) % 4)
                j = s_decs[fx_rand(&x) % (uint64_t)s_ndecs].project;
            char topic[64];
            int tn = snprintf(topic, sizeof topic, "project/%s", s_inst.pids[j]);
            assert_int_equal(tam_match_apply(w->m, TAM_MATCH_FEED_REGISTRY, topic, (size_t)tn,
                                             NULL, 0), 0);
            removed[j] = true;
            break;
        }
        case 2: /* earmarks change */
            s_inst.projects[j].max_per_need = (int64_t)(fx_rand(&x) % 3) * 40000;
            s_inst.projects[j].groups = fx_rand(&x) % 2 ? "AFRICAN" : NULL;
            fx_project(w, s_inst.projects[j]);
            removed[j] = false;
            break;
        case 3: { /* a decision */
            int k = 0; /* one entry per pair: the latest decision */
            while (k < s_ndecs && !(s_decs[k].need == i && s_decs[k].project == j))
                k++;
            if (k == s_ndecs && s_ndecs < 64)
                s_ndecs++;
            else if (k == s_ndecs)
                break;
            s_decs[k].need = i;
            s_decs[k].project = j;
            s_decs[k].state = 1 + (int)(fx_rand(&x) % 5); /* endorsed..withdrawn */
            s_decs[k].amount = 1000 + (int64_t)(fx_rand(&x) % 60000);
            tam_decision_state_t st = (tam_decision_state_t)s_decs[k].state;
            fx_decision(w, n.id, s_inst.pids[j], n.country, st, s_decs[k].amount,
                        st == TAM_E_decision_state_committed ||
                                st == TAM_E_decision_state_delivered ? s_decs[k].amount : 0);
            break;
        }
        default:
            cur_ctx = !cur_ctx;
            fx_context(w, ctx[cur_ctx]);
            break;
        }
        assert_int_equal(fx_run(w), 0);
        warm += fx_header(w)->warm;
        s_check_cap(w, &s_inst, open, 300, s_fixed_of);
        if (step % 6)
            continue;
        fx_t *c = fx_new();
        for (int k = 0; k < s_inst.nprojects; k++)
            if (!removed[k])
                fx_project(c, s_inst.projects[k]);
        for (int k = 0; k < 300; k++)
            if (open[k])
                fx_need(c, s_inst.needs[k]);
        for (int k = 0; k < s_ndecs; k++) {
            tam_decision_state_t st = (tam_decision_state_t)s_decs[k].state;
            const fx_need_t *dn = &s_inst.needs[s_decs[k].need];
            fx_decision(c, dn->id, s_inst.pids[s_decs[k].project], dn->country, st,
                        s_decs[k].amount,
                        st == TAM_E_decision_state_committed ||
                                st == TAM_E_decision_state_delivered ? s_decs[k].amount : 0);
        }
        fx_context(c, ctx[cur_ctx]);
        assert_int_equal(fx_run(c), 0);
        assert_string_equal(tam_match_run_hash(w->m), tam_match_run_hash(c->m));
        msgpack_sbuffer a, b;
        s_canon(w, &a);
        s_canon(c, &b);
        assert_int_equal(a.size, b.size);
        assert_memory_equal(a.data, b.data, a.size);
        msgpack_sbuffer_destroy(&a);
        msgpack_sbuffer_destroy(&b);
        fx_free(c);
    }
    assert_true(warm > 20);
    fx_free(w);
}

static void test_warm_equals_cold_random(void **state)
{
    (void)state;
    static const uint64_t seeds[][2] = {{23, 99}, {5, 7}, {41, 1234}, {77, 31337}};
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++)
        s_random_history(seeds[k][0], seeds[k][1]);
}

/* Two runs on the same inputs: byte-identical published records. */
static void test_two_runs_identical(void **state)
{
    (void)state;
    fx_gen(&s_inst, 3, 200, 20, 20);
    fx_t *a = fx_new(), *b = fx_new();
    fx_apply_inst(a, &s_inst, 0);
    fx_apply_inst(b, &s_inst, 0);
    assert_int_equal(fx_run(a), 0);
    assert_int_equal(fx_run(b), 0);
    assert_int_equal(a->npubs, b->npubs);
    for (size_t i = 0; i + 1 < a->npubs; i++) { /* the run record (last) holds solve_us */
        assert_string_equal(a->pubs[i].topic, b->pubs[i].topic);
        assert_int_equal(a->pubs[i].len, b->pubs[i].len);
        assert_memory_equal(a->pubs[i].body, b->pubs[i].body, a->pubs[i].len);
    }
    fx_free(a);
    fx_free(b);
}

int main(void)
{
    tam_log_init("test_match_run", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reasons, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_resync_sweep, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_records, s_setup, s_teardown),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_restart_equals_history),
        cmocka_unit_test_setup_teardown(test_cap_after_revision, s_setup, s_teardown),
        cmocka_unit_test(test_warm_equals_cold_random),
        cmocka_unit_test(test_two_runs_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

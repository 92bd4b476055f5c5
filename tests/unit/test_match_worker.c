/* test_match_worker.c — runs beside queries (issue 16): while a run solves,
 * queries read the last published run (proposals, explanations, header), also
 * when the run rebuilds the solver; a stop request ends a run mid-solve and
 * the next run gives what a fresh engine gives; the worker thread publishes
 * in order and its results equal a plain run's. */
#include "match_fixture.h"
#include "match_int.h"
#include "match_worker.h"

static fx_inst_t s_inst;

/* ---- queries in the middle of a run: from the sync hooks ------------------------- */

typedef struct {
    fx_t *fx;
    int unlocks, locks, yields;
    uint64_t seen_run;      /* run id of the proposals read mid-solve */
    uint32_t seen_props;
    int64_t seen_amount;    /* amount of the probe pair in them */
    int explain_code;
    const char *probe;      /* "<need>/<project>" */
    uint32_t nsig;          /* explanations' solution figures before the run ... */
    int64_t sig[512];
    int mismatches;         /* ... and how many differ mid-run */
    int stop;
    bool stop_in_solve;     /* set stop when the solve starts */
} s_probe_t;

/* What explanations read from the published solution, for the first
 * proposals: the need's unfunded rest, the project's dual, the money of the
 * need's other projects. */
static uint32_t s_sigs(fx_t *fx, int64_t *sig, uint32_t max)
{
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    uint32_t n = 0;
    for (uint32_t i = 0; i < l.items.n && n + 4 <= max; i++) {
        int code;
        tam_explanation_t *ex = fx_explain(fx, l.items.v[i].id, &code);
        assert_non_null(ex);
        int64_t alt = 0;
        for (uint32_t k = 0; k < ex->alternatives.n; k++)
            alt += ex->alternatives.v[k].amount;
        sig[n++] = ex->need_unfunded;
        sig[n++] = ex->project_dual;
        sig[n++] = ex->project_dual_range;
        sig[n++] = alt;
    }
    return n;
}

static void s_unlock(void *arg)
{
    s_probe_t *p = arg;
    p->unlocks++;
    if (p->stop_in_solve) {
        p->stop = 1;
        return;
    }
    /* the engine is mid-run: read it as the loop thread would */
    tam_proposal_list_t l;
    fx_proposals(p->fx, &l, NULL);
    p->seen_run = l.run;
    p->seen_props = l.items.n;
    p->seen_amount = 0;
    for (uint32_t i = 0; i < l.items.n; i++)
        if (strcmp(l.items.v[i].id, p->probe) == 0)
            p->seen_amount = l.items.v[i].amount;
    tam_explanation_t *ex = fx_explain(p->fx, p->probe, &p->explain_code);
    if (ex)
        assert_int_equal(ex->run, p->seen_run);
    tam_run_t *h = fx_header(p->fx);
    assert_int_equal(h->run, p->seen_run);
    if (p->nsig) {
        /* at every unlock: the published run's figures (the run's own dual
         * ranges, say, appear with it, not while it is computed) */
        int64_t now[512];
        uint32_t n = s_sigs(p->fx, now, 512);
        assert_int_equal(n, p->nsig);
        for (uint32_t i = 0; i < n; i++)
            p->mismatches += now[i] != p->sig[i];
    }
}

static void s_lock(void *arg)
{
    ((s_probe_t *)arg)->locks++;
}

static void s_yield(void *arg)
{
    ((s_probe_t *)arg)->yields++;
}

static void s_hook(s_probe_t *p)
{
    tam_match_sync_t sy = {.owner = p->fx->m, .unlock = s_unlock, .lock = s_lock,
                           .yield = s_yield, .arg = p, .stop = &p->stop};
    tam_match_set_sync(p->fx->m, &sy);
}

static const char *s_first_id(fx_t *fx, char *buf, size_t n)
{
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    assert_true(l.items.n > 0);
    snprintf(buf, n, "%s", l.items.v[0].id);
    return buf;
}

static void test_queries_mid_run(void **state)
{
    (void)state;
    fx_gen(&s_inst, 5, 300, 30, 40);
    fx_t *fx = fx_new();
    fx_apply_inst(fx, &s_inst, 0);
    assert_int_equal(fx_run(fx), 0);
    uint64_t run1 = tam_match_run_id(fx->m);
    char probe[64];
    s_first_id(fx, probe, sizeof probe);
    int64_t amount1 = fx_amount(fx, strtoull(probe, NULL, 10), strchr(probe, '/') + 1);
    tam_proposal_list_t l1;
    fx_proposals(fx, &l1, NULL);

    s_probe_t p = {.fx = fx, .probe = probe};
    s_hook(&p);
    /* a warm run (one new need) */
    fx_need(fx, (fx_need_t){.id = 90001, .country = "KEN", .standard = "A-SMR", .cost = 70000});
    assert_int_equal(fx_run(fx), 0);
    assert_true(p.unlocks >= 1);
    assert_int_equal(p.unlocks, p.locks);
    assert_int_equal(p.seen_run, run1);          /* the published run, not the one computed */
    assert_int_equal(p.seen_props, l1.items.n);
    assert_int_equal(p.seen_amount, amount1);
    assert_int_equal(p.explain_code, 0);
    uint64_t run2 = tam_match_run_id(fx->m);
    assert_true(run2 > run1);

    /* a full run (new day: every row recomputed, the solver rebuilt, the
     * published solution re-indexed): still the published run mid-solve */
    tam_proposal_list_t l2;
    fx_proposals(fx, &l2, NULL);
    s_first_id(fx, probe, sizeof probe);
    int64_t amount2 = fx_amount(fx, strtoull(probe, NULL, 10), strchr(probe, '/') + 1);
    p.unlocks = p.locks = p.yields = 0;
    tam_match_set_sync(fx->m, NULL);
    p.nsig = s_sigs(fx, p.sig, 512);
    assert_true(p.nsig > 30);
    s_hook(&p);
    fx->m->par.today = FX_DATE + 1; /* a new day */
    tam_match__ranges_by_resolves(true); /* dual ranges by re-solves: seconds at 2k x 100 */
    assert_int_equal(fx_run(fx), 0);
    tam_match__ranges_by_resolves(false);
    assert_true(p.unlocks >= 1);
    assert_true(p.yields >= 1);                  /* 300 rows: readers let in between them */
    assert_int_equal(p.seen_run, run2);
    assert_int_equal(p.seen_props, l2.items.n);
    assert_int_equal(p.seen_amount, amount2);
    assert_int_equal(p.explain_code, 0);
    assert_int_equal(p.mismatches, 0);          /* the published solution, re-indexed */
    /* the dual ranges (re-solves of the problem here) were computed, and
     * not while the run held the lock */
    tam_match_stats_t st;
    tam_match_stats(fx->m, &st);
    assert_true(fx->m->ranges_done);
    assert_true(st.range_solves > 0);
    assert_int_equal(st.locked_solves, 0);
    tam_match_set_sync(fx->m, NULL);
    fx_free(fx);
}

/* A stop request mid-solve ends the run (TAM_ESTATE, nothing published, the
 * previous run stays current); the next run gives what a fresh engine gives. */
static void test_stop_mid_solve(void **state)
{
    (void)state;
    fx_gen(&s_inst, 9, 300, 30, 40);
    fx_t *fx = fx_new(), *fresh = fx_new();
    fx_apply_inst(fx, &s_inst, 0);
    fx_apply_inst(fresh, &s_inst, 1);
    assert_int_equal(fx_run(fx), 0);
    uint64_t run1 = tam_match_run_id(fx->m);
    char hash1[65];
    snprintf(hash1, sizeof hash1, "%s", tam_match_run_hash(fx->m));

    fx_need(fx, (fx_need_t){.id = 90002, .country = "KEN", .standard = "A-SMR", .cost = 70000});
    fx_need(fresh, (fx_need_t){.id = 90002, .country = "KEN", .standard = "A-SMR", .cost = 70000});
    s_probe_t p = {.fx = fx, .probe = "1/x", .stop_in_solve = true};
    s_hook(&p);
    assert_int_equal(fx_run(fx), TAM_ESTATE);
    assert_int_equal(p.unlocks, 1);              /* stopped in the first solve */
    assert_int_equal(fx->npubs, 0);
    assert_int_equal(tam_match_run_id(fx->m), run1);
    assert_string_equal(tam_match_run_hash(fx->m), hash1);
    assert_int_equal(fx_header(fx)->run, run1);

    p.stop_in_solve = false;
    p.stop = 0;
    tam_match_set_sync(fx->m, NULL);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_run(fresh), 0);
    assert_string_equal(tam_match_run_hash(fx->m), tam_match_run_hash(fresh->m));
    tam_proposal_list_t a, b;
    fx_proposals(fx, &a, NULL);
    fx_proposals(fresh, &b, NULL);
    assert_int_equal(a.items.n, b.items.n);
    for (uint32_t i = 0; i < a.items.n; i++) {
        assert_string_equal(a.items.v[i].id, b.items.v[i].id);
        assert_int_equal(a.items.v[i].amount, b.items.v[i].amount);
    }
    fx_free(fx);
    fx_free(fresh);
}

/* ---- the worker thread ------------------------------------------------------------ */

static void test_worker(void **state)
{
    (void)state;
    fx_gen(&s_inst, 13, 300, 30, 40);
    fx_t *fx = fx_new(), *plain = fx_new();
    fx_apply_inst(fx, &s_inst, 0);
    fx_apply_inst(plain, &s_inst, 0);
    tam_match_worker_t *w = NULL;
    assert_int_equal(tam_match_worker_new(&w, fx->m), 0);
    tam_match_seqs_t seqs = {.seq = {0, 0, 0}};
    assert_int_equal(fx_run(plain), 0);

    /* a reader holding the lock keeps the run from starting: it reads the
     * state before the run ("no run yet") */
    tam_match_worker_rdlock(w);
    assert_int_equal(tam_match_worker_start(w, &seqs), 0);
    assert_true(tam_match_worker_busy(w));
    assert_int_equal(tam_match_worker_start(w, &seqs), TAM_ESTATE);
    assert_int_equal(tam_match_run_id(fx->m), 0);
    tam_match_worker_rdunlock(w);
    fx_pubs_clear(fx);
    assert_int_equal(tam_match_worker_finish(w, fx_publish, fx), 0);
    assert_false(tam_match_worker_busy(w));
    /* what the worker published equals what a plain run published, in order */
    assert_int_equal(fx->npubs, plain->npubs);
    for (size_t i = 0; i < fx->npubs; i++) {
        assert_string_equal(fx->pubs[i].topic, plain->pubs[i].topic);
        if (strcmp(fx->pubs[i].topic, "run") == 0)
            continue; /* the run header: its solve time differs */
        assert_int_equal(fx->pubs[i].len, plain->pubs[i].len);
        assert_memory_equal(fx->pubs[i].body, plain->pubs[i].body, fx->pubs[i].len);
    }
    assert_string_equal(tam_match_run_hash(fx->m), tam_match_run_hash(plain->m));

    /* stop: a run in progress ends (or had ended) and nothing is published */
    fx_need(fx, (fx_need_t){.id = 90003, .country = "KEN", .standard = "A-SMR", .cost = 70000});
    assert_int_equal(tam_match_worker_start(w, &seqs), 0);
    int rc = tam_match_worker_stop(w);
    assert_true(rc == 0 || rc == TAM_ESTATE);
    assert_false(tam_match_worker_busy(w));
    assert_int_equal(tam_match_worker_stop(w), 0);
    tam_match_worker_destroy(&w);
    assert_null(w);
    fx_free(fx);
    fx_free(plain);
}

int main(void)
{
    tam_log_init("test_match_worker", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queries_mid_run),
        cmocka_unit_test(test_stop_mid_solve),
        cmocka_unit_test(test_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

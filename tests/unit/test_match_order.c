/* test_match_order.c — the allocation, the ranks and the run header do not
 * depend on the order in which submissions arrived, nor on the history of
 * warm starts (issue 18): need ids follow arrival order, so every tie-break
 * must use content.
 *
 * Property: the needs of a random instance, submitted in any permutation
 * (each getting the id its arrival position gives it, decisions following
 * their need), give byte-identical run headers (the solve time aside) and
 * the same proposals — same need content, project, amount, score, rank and
 * state — line for line. */
#include "match_fixture.h"
#include "match_int.h"

/* The instance's needs in arrival order perm, ids by arrival position. */
static void s_apply_perm(fx_t *fx, const fx_inst_t *in, const int *perm)
{
    static uint64_t idof[20000];
    for (int j = 0; j < in->nprojects; j++)
        assert_int_equal(fx_project(fx, in->projects[j]), 0);
    for (int k = 0; k < in->nneeds; k++) {
        fx_need_t n = in->needs[perm[k]];
        n.id = 1 + (uint64_t)k;
        idof[perm[k]] = n.id;
        assert_int_equal(fx_need(fx, n), 0);
    }
    for (int d = 0; d < in->ndecs; d++) {
        int i = (int)((in->decs[d].need - 1000) / 3);
        fx_decision(fx, idof[i], in->pids[in->decs[d].project], in->decs[d].country,
                    in->decs[d].state, in->decs[d].endorsed, in->decs[d].committed);
    }
    if (in->context)
        assert_int_equal(fx_context(fx, in->context), 0);
}

/* The run header with its timing and history fields cleared, encoded. */
static char *s_header_bytes(fx_t *fx, size_t *len)
{
    tam_run_t *r = fx_header(fx);
    r->solve_us = 0;
    r->pivots = 0;
    r->warm = false;
    r->changed = 0;
    r->run = 0;
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_run, r, &sb, NULL), 0);
    *len = sb.size;
    return sb.data; /* malloc'd by the sbuffer */
}

/* Every proposal as one line, its need named by the instance index (its
 * content), in rank order. */
static char *s_props_text(fx_t *fx, const fx_inst_t *in, const int *perm)
{
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    size_t cap = 64 + (size_t)l.items.n * 96, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = 0;
    for (uint32_t k = 0; k < l.items.n; k++) {
        const tam_proposal_t *p = &l.items.v[k];
        int orig = perm[p->need - 1];
        (void)in;
        n += (size_t)snprintf(out + n, cap - n, "%lld need#%d %s %lld %lld %d\n",
                              (long long)p->rank, orig, p->project, (long long)p->amount,
                              (long long)p->score, (int)p->state);
    }
    return out;
}

static void s_shuffle(int *perm, int n, uint64_t *x)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(fx_rand(x) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static void test_permutations(void **state)
{
    (void)state;
    static fx_inst_t in;
    static int perm[20000];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fx_gen(&in, seed, 400, 30, 30);
        char *hdr0 = NULL, *txt0 = NULL;
        size_t hlen0 = 0;
        uint64_t x = seed * 7919 + 3;
        for (int round = 0; round < 4; round++) {
            for (int i = 0; i < in.nneeds; i++)
                perm[i] = round == 1 ? in.nneeds - 1 - i : i; /* as given, reversed, random */
            if (round >= 2)
                s_shuffle(perm, in.nneeds, &x);
            /* even seeds with the minimum proposal of the default config */
            tam_match_params_t par;
            fx_params(&par);
            if (seed % 2 == 0) {
                par.min_amount = 5000;
                par.min_share = 2;
            }
            fx_t *fx = fx_new_with(&par);
            s_apply_perm(fx, &in, perm);
            assert_int_equal(fx_run(fx), 0);
            size_t hlen;
            char *hdr = s_header_bytes(fx, &hlen);
            char *txt = s_props_text(fx, &in, perm);
            assert_true(strlen(txt) > 100);
            if (!hdr0) {
                hdr0 = hdr;
                hlen0 = hlen;
                txt0 = txt;
            } else {
                if (strcmp(txt0, txt) != 0) {
                    /* name the first line that differs */
                    const char *a = txt0, *b = txt;
                    while (*a && *a == *b)
                        a++, b++;
                    while (a > txt0 && a[-1] != '\n')
                        a--;
                    while (b > txt && b[-1] != '\n')
                        b--;
                    fail_msg("seed %llu round %d: proposals differ from\n  %.80s\nto\n  %.80s",
                             (unsigned long long)seed, round, a, b);
                }
                assert_int_equal(hlen, hlen0);
                assert_memory_equal(hdr, hdr0, hlen);
                free(hdr);
                free(txt);
            }
            fx_free(fx);
        }
        free(hdr0);
        free(txt0);
    }
}

/* The same inputs give the same header, duals included, whatever the warm
 * history: one engine gets the instance in 20 slices with a run after each
 * (warm runs), then the projects' money cut and restored; another gets it
 * at once. */
static void test_history(void **state)
{
    (void)state;
    static fx_inst_t in;
    static int perm[20000];
    for (uint64_t seed = 11; seed <= 13; seed++) {
        fx_gen(&in, seed, 400, 30, 0);
        for (int i = 0; i < in.nneeds; i++)
            perm[i] = i;
        fx_t *a = fx_new(), *b = fx_new();
        s_apply_perm(b, &in, perm);
        assert_int_equal(fx_run(b), 0);
        for (int j = 0; j < in.nprojects; j++)
            assert_int_equal(fx_project(a, in.projects[j]), 0);
        if (in.context)
            assert_int_equal(fx_context(a, in.context), 0);
        for (int k = 0; k < in.nneeds; k++) {
            fx_need_t n = in.needs[k];
            n.id = 1 + (uint64_t)k;
            assert_int_equal(fx_need(a, n), 0);
            if (k % 20 == 19)
                assert_int_equal(fx_run(a), 0);
        }
        for (int j = 0; j < in.nprojects; j += 3) {
            fx_project_t p = in.projects[j];
            p.received /= 3;
            assert_int_equal(fx_project(a, p), 0);
            assert_int_equal(fx_run(a), 0);
        }
        for (int j = 0; j < in.nprojects; j += 3) {
            assert_int_equal(fx_project(a, in.projects[j]), 0);
            assert_int_equal(fx_run(a), 0);
        }
        assert_int_equal(fx_run(a), 0);
        size_t la, lb;
        char *ha = s_header_bytes(a, &la), *hb = s_header_bytes(b, &lb);
        assert_int_equal(la, lb);
        tam_run_t *ra = fx_header(a), *rb = fx_header(b);
        for (uint32_t q = 0; q < ra->project_state.n; q++)
            if (ra->project_state.v[q].dual != rb->project_state.v[q].dual)
                fail_msg("seed %llu: dual of %s is %lld after a warm history, %lld cold",
                         (unsigned long long)seed, ra->project_state.v[q].project,
                         (long long)ra->project_state.v[q].dual,
                         (long long)rb->project_state.v[q].dual);
        assert_memory_equal(ha, hb, la);
        free(ha);
        free(hb);
        fx_free(a);
        fx_free(b);
    }
}

/* Each published dual is what one more dollar for the project adds to the
 * optimum (the right derivative), checked by re-running with the project's
 * money raised by one dollar. A dual from an arbitrary optimal basis lies
 * between the right and the left derivative and fails this where the
 * optimum is degenerate. */
static void test_duals_are_marginal(void **state)
{
    (void)state;
    static fx_inst_t in;
    static int perm[20000];
    int checked = 0, positive = 0;
    for (uint64_t seed = 21; seed <= 23; seed++) {
        fx_gen(&in, seed, 300, 20, 20);
        for (int i = 0; i < in.nneeds; i++)
            perm[i] = i;
        fx_t *fx = fx_new();
        s_apply_perm(fx, &in, perm);
        assert_int_equal(fx_run(fx), 0);
        for (int j = 0; j < in.nprojects; j++) {
            if (in.projects[j].inactive)
                continue;
            tam_run_t *r0 = fx_header(fx);
            int64_t obj0 = r0->objective, dual = -1, avail = 0;
            for (uint32_t q = 0; q < r0->project_state.n; q++)
                if (strcmp(r0->project_state.v[q].project, in.pids[j]) == 0) {
                    dual = r0->project_state.v[q].dual;
                    avail = r0->project_state.v[q].available;
                }
            assert_true(dual >= 0);
            if (avail <= 0)
                continue;
            fx_project_t p = in.projects[j];
            p.received += 1;
            assert_int_equal(fx_project(fx, p), 0);
            assert_int_equal(fx_run(fx), 0);
            int64_t gain = fx_header(fx)->objective - obj0;
            if (gain != dual)
                fail_msg("seed %llu, %s: one more dollar adds %lld, its dual says %lld",
                         (unsigned long long)seed, in.pids[j], (long long)gain,
                         (long long)dual);
            checked++;
            positive += dual > 0;
            assert_int_equal(fx_project(fx, in.projects[j]), 0);
            assert_int_equal(fx_run(fx), 0);
            assert_int_equal(fx_header(fx)->objective, obj0);
        }
        fx_free(fx);
    }
    print_message("    %d duals checked, %d of them positive\n", checked, positive);
    assert_true(positive > 5);
}

/* Degenerate on purpose: budgets equal to the needs they fund, so that many
 * duals are optimal. The published one is still the marginal value of one
 * more dollar. */
static void test_duals_degenerate(void **state)
{
    (void)state;
    fx_t *fx = fx_new();
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "UGA", .standard = "A-SMR", .cost = 50000});
    fx_need(fx, (fx_need_t){.id = 3, .country = "HTI", .standard = "A-BODY", .cost = 70000});
    fx_project_t ps[3] = {{.id = "P1", .received = 100000, .countries = "KEN"},
                          {.id = "P2", .received = 50000, .countries = "UGA,KEN"},
                          {.id = "P3", .received = 70000, .countries = "HTI,UGA"}};
    for (int j = 0; j < 3; j++)
        assert_int_equal(fx_project(fx, ps[j]), 0);
    assert_int_equal(fx_run(fx), 0);
    for (int j = 0; j < 3; j++) {
        tam_run_t *r0 = fx_header(fx);
        int64_t obj0 = r0->objective, dual = r0->project_state.v[j].dual;
        assert_string_equal(r0->project_state.v[j].project, ps[j].id);
        fx_project_t p = ps[j];
        p.received += 1;
        assert_int_equal(fx_project(fx, p), 0);
        assert_int_equal(fx_run(fx), 0);
        assert_int_equal(fx_header(fx)->objective - obj0, dual);
        assert_int_equal(fx_project(fx, ps[j]), 0);
        assert_int_equal(fx_run(fx), 0);
    }
    fx_free(fx);
}

/* Each dual's range of validity: r extra dollars add exactly dual x r, one
 * more adds less (re-run with the project's money raised). */
static void test_dual_ranges(void **state)
{
    (void)state;
    static fx_inst_t in;
    static int perm[20000];
    fx_gen(&in, 21, 300, 20, 20);
    for (int i = 0; i < in.nneeds; i++)
        perm[i] = i;
    fx_t *fx = fx_new();
    s_apply_perm(fx, &in, perm);
    assert_int_equal(fx_run(fx), 0);
    int checked = 0;
    for (int j = 0; j < in.nprojects; j++) {
        if (in.projects[j].inactive)
            continue;
        tam_run_t *r0 = fx_header(fx);
        int64_t obj0 = r0->objective, dual = -1, range = 0, avail = 0;
        for (uint32_t q = 0; q < r0->project_state.n; q++)
            if (strcmp(r0->project_state.v[q].project, in.pids[j]) == 0) {
                dual = r0->project_state.v[q].dual;
                range = r0->project_state.v[q].dual_range;
                avail = r0->project_state.v[q].available;
            }
        assert_true(range != 0); /* computed at this size */
        if (dual == 0) {
            assert_int_equal(range, -1);
            continue;
        }
        if (avail <= 0)
            continue;
        for (int extra = 0; extra < 2; extra++) {
            fx_project_t p = in.projects[j];
            p.received += range + extra;
            assert_int_equal(fx_project(fx, p), 0);
            assert_int_equal(fx_run(fx), 0);
            int64_t gain = fx_header(fx)->objective - obj0;
            if (extra == 0)
                assert_int_equal(gain, dual * range);
            else
                assert_true(gain < dual * (range + 1));
        }
        assert_int_equal(fx_project(fx, in.projects[j]), 0);
        assert_int_equal(fx_run(fx), 0);
        checked++;
    }
    print_message("    %d ranges checked\n", checked);
    assert_true(checked > 3);
    /* the ranges come from one max flow per project over the tight arcs;
     * re-solving the problem at other budgets (the way taken when the duals
     * are not the least ones) finds the same */
    tam_match_stats_t st;
    tam_run_t *ra = fx_header(fx);
    uint32_t n = ra->project_state.n;
    int64_t flow_range[64];
    assert_true(n <= 64);
    for (uint32_t q = 0; q < n; q++)
        flow_range[q] = ra->project_state.v[q].dual_range;
    fx_t *re = fx_new();
    s_apply_perm(re, &in, perm);
    tam_match__ranges_by_resolves(true);
    assert_int_equal(fx_run(re), 0);
    tam_match__ranges_by_resolves(false);
    tam_run_t *rb = fx_header(re);
    assert_int_equal(rb->project_state.n, n);
    int positive = 0;
    for (uint32_t q = 0; q < n; q++) {
        assert_string_equal(rb->project_state.v[q].project, ra->project_state.v[q].project);
        assert_int_equal(rb->project_state.v[q].dual_range, flow_range[q]);
        positive += flow_range[q] > 0;
    }
    assert_true(positive > 3);
    tam_match_stats(re->m, &st);
    assert_true(st.range_solves > (uint64_t)positive); /* re-solves indeed */
    fx_free(re);
    fx_free(fx);
}

int main(void)
{
    tam_log_init("test_match_order", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permutations),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_duals_are_marginal),
        cmocka_unit_test(test_duals_degenerate),
        cmocka_unit_test(test_dual_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

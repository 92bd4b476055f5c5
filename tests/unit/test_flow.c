/* test_flow.c — the allocation solver: hand-made cases, tie-break rules,
 * invalid input, an independent exact solver (successive shortest paths),
 * LP duality certificates, dual prices vs. re-solves, warm start vs. cold,
 * and glpsol on exported LP files. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "tam/error.h"
#include "tam/flow.h"
#include "../../services/common/flow_int.h" /* white-box: tam_flow__unique's fallback */

/* ---- a growable problem owned by the test ---- */

typedef struct {
    size_t n, m, a, cn, cm, ca;
    uint64_t *nid, *pid;
    int64_t *u, *b;
    tam_flow_arc_t *arcs;
} prob_t;

static void prob_free(prob_t *q)
{
    free(q->nid);
    free(q->pid);
    free(q->u);
    free(q->b);
    free(q->arcs);
    memset(q, 0, sizeof *q);
}

static uint32_t prob_need(prob_t *q, uint64_t id, int64_t u)
{
    if (q->n == q->cn) {
        q->cn = q->cn ? 2 * q->cn : 8;
        q->nid = realloc(q->nid, q->cn * sizeof *q->nid);
        q->u = realloc(q->u, q->cn * sizeof *q->u);
        assert_non_null(q->nid);
        assert_non_null(q->u);
    }
    q->nid[q->n] = id;
    q->u[q->n] = u;
    return (uint32_t)q->n++;
}

static uint32_t prob_project(prob_t *q, uint64_t id, int64_t b)
{
    if (q->m == q->cm) {
        q->cm = q->cm ? 2 * q->cm : 8;
        q->pid = realloc(q->pid, q->cm * sizeof *q->pid);
        q->b = realloc(q->b, q->cm * sizeof *q->b);
        assert_non_null(q->pid);
        assert_non_null(q->b);
    }
    q->pid[q->m] = id;
    q->b[q->m] = b;
    return (uint32_t)q->m++;
}

static uint32_t prob_arc(prob_t *q, uint32_t i, uint32_t j, uint32_t s, int64_t cap, int64_t fixed, uint32_t key)
{
    if (q->a == q->ca) {
        q->ca = q->ca ? 2 * q->ca : 16;
        q->arcs = realloc(q->arcs, q->ca * sizeof *q->arcs);
        assert_non_null(q->arcs);
    }
    q->arcs[q->a] = (tam_flow_arc_t){.need = i, .project = j, .score = s, .tiebreak = key, .cap = cap, .fixed = fixed};
    return (uint32_t)q->a++;
}

static tam_flow_problem_t prob_view(const prob_t *q)
{
    return (tam_flow_problem_t){.n_needs = q->n, .n_projects = q->m, .n_arcs = q->a, .need_id = q->nid,
                                .need_amount = q->u, .project_id = q->pid, .project_budget = q->b,
                                .arcs = q->arcs};
}

/* ---- PRNG (splitmix64) ---- */

static uint64_t rnd_state;
static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static int64_t rnd_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* A random instance; ties are frequent when nscores is small. */
static void prob_random(prob_t *q, size_t n, size_t m, int density_pct, int nscores, int with_fixed, int64_t amt)
{
    memset(q, 0, sizeof *q);
    for (size_t i = 0; i < n; i++)
        prob_need(q, 1000 + 7 * i + (rnd() % 3), rnd_in(0, amt));
    for (size_t j = 0; j < m; j++)
        prob_project(q, 50000 + 11 * j, rnd_in(0, 2 * amt));
    int64_t *nf = calloc(n + 1, sizeof *nf), *pf = calloc(m + 1, sizeof *pf);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            if ((int)(rnd() % 100) >= density_pct)
                continue;
            uint32_t s = nscores ? (uint32_t)(rnd() % (uint64_t)nscores) * (10000 / (nscores > 1 ? nscores - 1 : 1))
                                 : (uint32_t)rnd_in(0, 10000);
            if (s > 10000)
                s = 10000;
            int64_t cap = rnd() % 3 == 0 ? rnd_in(0, amt) : TAM_FLOW_UNCAPPED;
            int64_t fx = 0;
            if (with_fixed && rnd() % 4 == 0) {
                int64_t room = q->u[i] - nf[i] < q->b[j] - pf[j] ? q->u[i] - nf[i] : q->b[j] - pf[j];
                if (cap != TAM_FLOW_UNCAPPED && cap < room)
                    room = cap;
                fx = room > 0 ? rnd_in(0, room) : 0;
                nf[i] += fx;
                pf[j] += fx;
            }
            prob_arc(q, (uint32_t)i, (uint32_t)j, s, cap, fx, (uint32_t)(rnd() % 4));
        }
    free(nf);
    free(pf);
}

/* ---- independent exact solver: successive shortest paths (Bellman-Ford) ----
 * Maximises sum s x on remaining amounts (fixed subtracted); returns the
 * full objective including fixed amounts. */
static __int128 ssp_objective(const prob_t *q)
{
    size_t n = q->n, m = q->m, V = n + m + 2, S = n + m, T = n + m + 1;
    size_t E = 2 * (q->a + n + m);
    int *to = calloc(E, sizeof *to), *head = malloc(V * sizeof *head), *nxt = calloc(E, sizeof *nxt);
    int64_t *capr = calloc(E, sizeof *capr), *cost = calloc(E, sizeof *cost);
    int64_t *dist = malloc(V * sizeof *dist);
    int *pe = malloc(V * sizeof *pe);
    size_t ne = 0;
    __int128 obj = 0;
    int64_t *ur = malloc((n + 1) * sizeof *ur), *br = malloc((m + 1) * sizeof *br);
    for (size_t v = 0; v < V; v++)
        head[v] = -1;
    memcpy(ur, q->u, n * sizeof *ur);
    memcpy(br, q->b, m * sizeof *br);
    for (size_t k = 0; k < q->a; k++) {
        ur[q->arcs[k].need] -= q->arcs[k].fixed;
        br[q->arcs[k].project] -= q->arcs[k].fixed;
        obj += (__int128)q->arcs[k].score * q->arcs[k].fixed;
    }
#define ADD(u_, v_, c_, w_)                                                                                  \
    do {                                                                                                     \
        to[ne] = (int)(v_); capr[ne] = (c_); cost[ne] = (w_); nxt[ne] = head[u_]; head[u_] = (int)ne; ne++;  \
        to[ne] = (int)(u_); capr[ne] = 0; cost[ne] = -(w_); nxt[ne] = head[v_]; head[v_] = (int)ne; ne++;    \
    } while (0)
    for (size_t j = 0; j < m; j++)
        ADD(S, n + j, br[j], 0);
    for (size_t i = 0; i < n; i++)
        ADD(i, T, ur[i], 0);
    for (size_t k = 0; k < q->a; k++) {
        const tam_flow_arc_t *e = &q->arcs[k];
        int64_t c = e->cap == TAM_FLOW_UNCAPPED ? INT64_MAX / 4 : e->cap - e->fixed;
        ADD(n + e->project, e->need, c, -(int64_t)e->score);
    }
#undef ADD
    for (;;) {
        for (size_t v = 0; v < V; v++) {
            dist[v] = INT64_MAX;
            pe[v] = -1;
        }
        dist[S] = 0;
        for (size_t it = 0; it < V; it++) {
            int changed = 0;
            for (size_t u = 0; u < V; u++) {
                if (dist[u] == INT64_MAX)
                    continue;
                for (int e = head[u]; e >= 0; e = nxt[e])
                    if (capr[e] > 0 && dist[u] + cost[e] < dist[to[e]]) {
                        dist[to[e]] = dist[u] + cost[e];
                        pe[to[e]] = e;
                        changed = 1;
                    }
            }
            if (!changed)
                break;
        }
        if (dist[T] == INT64_MAX || dist[T] >= 0)
            break;
        int64_t d = INT64_MAX;
        for (size_t v = T; v != S; v = (size_t)to[pe[v] ^ 1])
            if (capr[pe[v]] < d)
                d = capr[pe[v]];
        for (size_t v = T; v != S; v = (size_t)to[pe[v] ^ 1]) {
            capr[pe[v]] -= d;
            capr[pe[v] ^ 1] += d;
        }
        obj += (__int128)d * -dist[T];
    }
    free(to);
    free(head);
    free(nxt);
    free(capr);
    free(cost);
    free(dist);
    free(pe);
    free(ur);
    free(br);
    return obj;
}

/* ---- checks of a solution against its problem ---- */

/* Primal feasibility, flags, zero-score rule, and the LP duality
 * certificate: the duals are feasible and their objective equals ours. */
static void check_solution(const prob_t *q, const tam_flow_solution_t *s)
{
    assert_int_equal(s->n_arcs, q->a);
    assert_int_equal(s->n_needs, q->n);
    assert_int_equal(s->n_projects, q->m);
    int64_t *nu = calloc(q->n + 1, sizeof *nu), *pu = calloc(q->m + 1, sizeof *pu);
    int64_t *nf = calloc(q->n + 1, sizeof *nf), *pf = calloc(q->m + 1, sizeof *pf);
    __int128 obj = 0, obj_fixed = 0, dual = 0;
    for (size_t k = 0; k < q->a; k++) {
        const tam_flow_arc_t *e = &q->arcs[k];
        int64_t x = s->x[k];
        assert_true(x >= e->fixed);
        assert_true(x <= e->cap);
        if (e->score == 0)
            assert_int_equal(x, e->fixed);
        assert_int_equal(!!(s->arc_flags[k] & TAM_FLOW_ARC_AT_CAP), e->cap != TAM_FLOW_UNCAPPED && x == e->cap);
        nu[e->need] += x;
        pu[e->project] += x;
        nf[e->need] += e->fixed;
        pf[e->project] += e->fixed;
        obj += (__int128)e->score * x;
        obj_fixed += (__int128)e->score * e->fixed;
    }
    assert_true(obj == s->objective);
    for (size_t i = 0; i < q->n; i++) {
        assert_true(nu[i] <= q->u[i]);
        assert_int_equal(nu[i], s->need_funded[i]);
        assert_int_equal(!!(s->need_flags[i] & TAM_FLOW_NEED_FUNDED), nu[i] == q->u[i]);
        assert_true(s->need_dual[i] >= 0);
        dual += (__int128)(q->u[i] - nf[i]) * s->need_dual[i];
    }
    for (size_t j = 0; j < q->m; j++) {
        assert_true(pu[j] <= q->b[j]);
        assert_int_equal(pu[j], s->project_used[j]);
        assert_int_equal(!!(s->project_flags[j] & TAM_FLOW_PROJECT_EXHAUSTED), pu[j] == q->b[j]);
        assert_true(s->project_dual[j] >= 0);
        dual += (__int128)(q->b[j] - pf[j]) * s->project_dual[j];
    }
    for (size_t k = 0; k < q->a; k++) {
        const tam_flow_arc_t *e = &q->arcs[k];
        int64_t g = (int64_t)e->score - s->project_dual[e->project] - s->need_dual[e->need];
        if (g > 0) {
            assert_true(e->cap != TAM_FLOW_UNCAPPED);  /* else the dual would be infeasible */
            dual += (__int128)(e->cap - e->fixed) * g;
        }
    }
    assert_true(dual == obj - obj_fixed);
    free(nu);
    free(pu);
    free(nf);
    free(pf);
}

static __int128 solve_obj(const prob_t *q)
{
    tam_flow_problem_t p = prob_view(q);
    tam_flow_solution_t s = {0};
    assert_int_equal(tam_flow_solve(&p, &s), 0);
    __int128 o = s.objective;
    tam_flow_solution_free(&s);
    return o;
}

static void solve_checked(const prob_t *q, tam_flow_solution_t *s)
{
    tam_flow_problem_t p = prob_view(q);
    assert_int_equal(tam_flow_solve(&p, s), 0);
    check_solution(q, s);
}

/* ---- hand-made cases ---- */

static void test_single_pair(void **st)
{
    (void)st;
    prob_t q = {0};
    prob_need(&q, 1, 100);
    prob_project(&q, 9, 100);
    prob_arc(&q, 0, 0, 5000, TAM_FLOW_UNCAPPED, 0, 0);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    assert_int_equal(s.x[0], 100);
    assert_true(s.objective == 500000);
    assert_int_equal(s.need_flags[0], TAM_FLOW_NEED_FUNDED);
    assert_int_equal(s.project_flags[0], TAM_FLOW_PROJECT_EXHAUSTED);
    assert_int_equal(s.unique, 1);
    tam_flow_solution_free(&s);
    assert_null(s.x);
    prob_free(&q);
}

static void test_partial_funding(void **st)
{
    (void)st;
    prob_t q = {0};
    prob_need(&q, 1, 1000);
    prob_project(&q, 9, 300);
    prob_arc(&q, 0, 0, 10, TAM_FLOW_UNCAPPED, 0, 0);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    assert_int_equal(s.x[0], 300);
    assert_int_equal(s.need_flags[0], 0);
    assert_int_equal(s.project_flags[0], TAM_FLOW_PROJECT_EXHAUSTED);
    assert_int_equal(s.project_dual[0], 10); /* one more dollar of budget: +10 */
    assert_int_equal(s.need_dual[0], 0);
    tam_flow_solution_free(&s);
    /* budget bigger than the need */
    q.u[0] = 200;
    solve_checked(&q, &s);
    assert_int_equal(s.x[0], 200);
    assert_int_equal(s.need_flags[0], TAM_FLOW_NEED_FUNDED);
    assert_int_equal(s.project_flags[0], 0);
    assert_int_equal(s.need_dual[0], 10);
    assert_int_equal(s.project_dual[0], 0);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

static void test_cap_binds(void **st)
{
    (void)st;
    prob_t q = {0};
    prob_need(&q, 1, 1000);
    prob_project(&q, 9, 1000);
    prob_project(&q, 8, 1000);
    prob_arc(&q, 0, 0, 900, 250, 0, 0);
    prob_arc(&q, 0, 1, 100, TAM_FLOW_UNCAPPED, 0, 0);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    assert_int_equal(s.x[0], 250);
    assert_int_equal(s.arc_flags[0] & TAM_FLOW_ARC_AT_CAP, TAM_FLOW_ARC_AT_CAP);
    assert_int_equal(s.x[1], 750);
    assert_int_equal(s.arc_flags[1], 0);
    assert_true(s.objective == 250 * 900 + 750 * 100);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

static void test_competition(void **st)
{
    (void)st;
    /* Two projects for one need: the better score wins; two needs for one
     * project: the better score wins; a need nobody can fund gets nothing. */
    prob_t q = {0};
    prob_need(&q, 1, 100);
    prob_need(&q, 2, 100);
    prob_need(&q, 3, 100);
    prob_project(&q, 10, 100);
    prob_project(&q, 11, 150);
    prob_arc(&q, 0, 0, 40, TAM_FLOW_UNCAPPED, 0, 0);
    prob_arc(&q, 0, 1, 70, TAM_FLOW_UNCAPPED, 0, 0);
    prob_arc(&q, 1, 1, 60, TAM_FLOW_UNCAPPED, 0, 0);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    /* Project 11 (150) serves need 2 (its only option, 60) fully and need 1
     * with the rest (70); project 10 (40) tops need 1 up: 6000+3500+2000,
     * better than giving need 1 all of project 11 (7000+3000). */
    assert_int_equal(s.x[0], 50);
    assert_int_equal(s.x[1], 50);
    assert_int_equal(s.x[2], 100);
    assert_int_equal(s.need_funded[2], 0);
    assert_int_equal(s.need_dual[2], 0);
    assert_true(s.objective == 11500);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

static void test_zero_score_and_fixed(void **st)
{
    (void)st;
    prob_t q = {0};
    prob_need(&q, 1, 100);
    prob_need(&q, 2, 100);
    prob_project(&q, 10, 500);
    prob_arc(&q, 0, 0, 0, TAM_FLOW_UNCAPPED, 0, 0);  /* eligible but worthless: never funded */
    prob_arc(&q, 1, 0, 0, 80, 30, 0);                /* worthless but 30 already committed */
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    assert_int_equal(s.x[0], 0);
    assert_int_equal(s.x[1], 30);
    assert_int_equal(s.arc_flags[1], TAM_FLOW_ARC_FIXED);
    assert_true(s.objective == 0);
    tam_flow_solution_free(&s);
    /* fixed amounts count against the need and the budget */
    q.arcs[1].score = 10;
    q.arcs[1].cap = TAM_FLOW_UNCAPPED;
    q.b[0] = 50;
    solve_checked(&q, &s);
    assert_int_equal(s.x[1], 50);
    assert_true(s.objective == 500);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

static void test_empty(void **st)
{
    (void)st;
    tam_flow_problem_t p = {0};
    tam_flow_solution_t s = {0};
    assert_int_equal(tam_flow_solve(&p, &s), 0);
    assert_true(s.objective == 0);
    assert_int_equal(s.n_arcs, 0);
    tam_flow_solution_free(&s);
    tam_flow_solution_free(NULL);
}

/* ---- tie-break rules ---- */

static int64_t x_of(const prob_t *q, const tam_flow_solution_t *s, uint64_t nid, uint64_t pid)
{
    for (size_t k = 0; k < q->a; k++)
        if (q->nid[q->arcs[k].need] == nid && q->pid[q->arcs[k].project] == pid)
            return s->x[k];
    fail_msg("no arc %llu/%llu", (unsigned long long)nid, (unsigned long long)pid);
    return -1;
}

static void test_tiebreak_key(void **st)
{
    (void)st;
    for (int flip = 0; flip < 2; flip++) {
        prob_t q = {0};
        prob_need(&q, 1, 100);
        prob_project(&q, 10, 100);
        prob_project(&q, 11, 100);
        prob_arc(&q, 0, 0, 7, TAM_FLOW_UNCAPPED, 0, flip ? 3 : 5);
        prob_arc(&q, 0, 1, 7, TAM_FLOW_UNCAPPED, 0, flip ? 5 : 3);
        tam_flow_solution_t s = {0};
        solve_checked(&q, &s);
        assert_int_equal(s.x[0], flip ? 100 : 0);
        assert_int_equal(s.x[1], flip ? 0 : 100);
        assert_int_equal(s.unique, 1);
        tam_flow_solution_free(&s);
        prob_free(&q);
    }
}

static void test_tiebreak_more_money(void **st)
{
    (void)st;
    /* Both {P2->N1: 10} and {P1->N1: 10, P2->N2: 10} score 50: level 2
     * prefers the one that moves more money (all keys equal). */
    prob_t q = {0};
    prob_need(&q, 1, 10);
    prob_need(&q, 2, 10);
    prob_project(&q, 10, 10);
    prob_project(&q, 11, 10);
    prob_arc(&q, 0, 0, 3, TAM_FLOW_UNCAPPED, 0, 0);
    prob_arc(&q, 0, 1, 5, TAM_FLOW_UNCAPPED, 0, 0);
    prob_arc(&q, 1, 1, 2, TAM_FLOW_UNCAPPED, 0, 0);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    assert_true(s.objective == 50);
    assert_int_equal(s.x[0], 10);
    assert_int_equal(s.x[1], 0);
    assert_int_equal(s.x[2], 10);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

static void test_tiebreak_hash(void **st)
{
    (void)st;
    /* Equal score and key: the pair with the smaller h(need, project). */
    prob_t q = {0};
    prob_need(&q, 77, 100);
    prob_project(&q, 10, 100);
    prob_project(&q, 11, 100);
    prob_arc(&q, 0, 0, 7, TAM_FLOW_UNCAPPED, 0, 4);
    prob_arc(&q, 0, 1, 7, TAM_FLOW_UNCAPPED, 0, 4);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    int first = tam_flow_pair_hash(77, 10) < tam_flow_pair_hash(77, 11);
    assert_int_equal(s.x[0], first ? 100 : 0);
    assert_int_equal(s.x[1], first ? 0 : 100);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

/* Solves q and a copy with needs, projects and arcs in shuffled order;
 * allocations per (need id, project id) must be identical. */
static void check_order_independent(const prob_t *q)
{
    prob_t r = {0};
    size_t *pn = malloc((q->n + 1) * sizeof *pn), *pp = malloc((q->m + 1) * sizeof *pp);
    size_t *pa = malloc((q->a + 1) * sizeof *pa);
    uint32_t *inv_n = malloc((q->n + 1) * sizeof *inv_n), *inv_p = malloc((q->m + 1) * sizeof *inv_p);
    for (size_t i = 0; i < q->n; i++)
        pn[i] = i;
    for (size_t j = 0; j < q->m; j++)
        pp[j] = j;
    for (size_t k = 0; k < q->a; k++)
        pa[k] = k;
    for (size_t i = q->n; i > 1; i--) {
        size_t t = rnd() % i, x = pn[i - 1];
        pn[i - 1] = pn[t];
        pn[t] = x;
    }
    for (size_t j = q->m; j > 1; j--) {
        size_t t = rnd() % j, x = pp[j - 1];
        pp[j - 1] = pp[t];
        pp[t] = x;
    }
    for (size_t k = q->a; k > 1; k--) {
        size_t t = rnd() % k, x = pa[k - 1];
        pa[k - 1] = pa[t];
        pa[t] = x;
    }
    for (size_t i = 0; i < q->n; i++)
        inv_n[pn[i]] = prob_need(&r, q->nid[pn[i]], q->u[pn[i]]);
    for (size_t j = 0; j < q->m; j++)
        inv_p[pp[j]] = prob_project(&r, q->pid[pp[j]], q->b[pp[j]]);
    for (size_t k = 0; k < q->a; k++) {
        const tam_flow_arc_t *e = &q->arcs[pa[k]];
        prob_arc(&r, inv_n[e->need], inv_p[e->project], e->score, e->cap, e->fixed, e->tiebreak);
    }
    tam_flow_solution_t s1 = {0}, s2 = {0};
    solve_checked(q, &s1);
    solve_checked(&r, &s2);
    assert_true(s1.objective == s2.objective);
    assert_int_equal(s1.unique, s2.unique);
    for (size_t k = 0; k < q->a; k++)
        assert_int_equal(s2.x[k], x_of(q, &s1, r.nid[r.arcs[k].need], r.pid[r.arcs[k].project]));
    tam_flow_solution_free(&s1);
    tam_flow_solution_free(&s2);
    prob_free(&r);
    free(pn);
    free(pp);
    free(pa);
    free(inv_n);
    free(inv_p);
}

static void test_order_independent(void **st)
{
    (void)st;
    rnd_state = 42;
    for (int t = 0; t < 40; t++) {
        prob_t q = {0};
        prob_random(&q, 3 + rnd() % 20, 2 + rnd() % 6, 50, 3, t % 2, 100);
        check_order_independent(&q);
        prob_free(&q);
    }
}

static void test_not_unique(void **st)
{
    (void)st;
    /* h(268281,1001) - h(268281,1002) == h(437109,1001) - h(437109,1002):
     * the two ways to pair these needs and projects tie on all levels. */
    prob_t q = {0};
    prob_need(&q, 268281, 10);
    prob_need(&q, 437109, 10);
    prob_project(&q, 1001, 10);
    prob_project(&q, 1002, 10);
    for (uint32_t i = 0; i < 2; i++)
        for (uint32_t j = 0; j < 2; j++)
            prob_arc(&q, i, j, 5, TAM_FLOW_UNCAPPED, 0, 0);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    assert_true(s.objective == 100);
    assert_int_equal(s.unique, 0);
    tam_flow_solution_free(&s);
    rnd_state = 7;
    check_order_independent(&q);
    /* break the tie with a key: unique again */
    q.arcs[0].tiebreak = 1;
    solve_checked(&q, &s);
    assert_int_equal(s.unique, 1);
    assert_int_equal(s.x[0], 0);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

/* ---- invalid input ---- */

static void expect_error(const prob_t *q, int code)
{
    tam_flow_problem_t p = prob_view(q);
    tam_flow_solution_t s = {0};
    tam_flow_t *f = (tam_flow_t *)&s; /* must be reset to NULL */
    assert_int_equal(tam_flow_solve(&p, &s), code);
    assert_null(s.x);
    assert_int_equal(tam_flow_new(&f, &p), code);
    assert_null(f);
    assert_int_equal(tam_flow_write_lp(stderr, &p, NULL), code);
}

static void test_invalid(void **st)
{
    (void)st;
    prob_t q = {0};
    prob_need(&q, 1, 100);
    prob_need(&q, 2, 100);
    prob_project(&q, 10, 100);
    prob_arc(&q, 0, 0, 5, TAM_FLOW_UNCAPPED, 0, 0);
    prob_arc(&q, 1, 0, 5, 50, 0, 0);
    q.u[0] = -1;
    expect_error(&q, TAM_EINVAL);
    q.u[0] = 100;
    q.b[0] = -5;
    expect_error(&q, TAM_EINVAL);
    q.b[0] = 100;
    q.arcs[0].score = 10001;
    expect_error(&q, TAM_EINVAL);
    q.arcs[0].score = 5;
    q.arcs[0].need = 2;
    expect_error(&q, TAM_EINVAL);
    q.arcs[0].need = 0;
    q.arcs[0].project = 1;
    expect_error(&q, TAM_EINVAL);
    q.arcs[0].project = 0;
    q.arcs[1].cap = -1;
    expect_error(&q, TAM_EINVAL);
    q.arcs[1].cap = 50;
    q.arcs[1].fixed = 51;
    expect_error(&q, TAM_EINVAL);
    q.arcs[1].fixed = -1;
    expect_error(&q, TAM_EINVAL);
    q.arcs[1].fixed = 50;
    q.arcs[0].fixed = 60;       /* 110 fixed > budget 100 */
    expect_error(&q, TAM_ECONFLICT);
    q.arcs[0].fixed = 0;
    q.nid[1] = 1;               /* duplicate need id */
    expect_error(&q, TAM_EINVAL);
    q.nid[1] = 2;
    q.arcs[1].need = 0;         /* duplicate pair */
    expect_error(&q, TAM_EINVAL);
    q.arcs[1].need = 1;
    prob_project(&q, 10, 5);    /* duplicate project id */
    expect_error(&q, TAM_EINVAL);
    q.pid[1] = 11;
    prob_arc(&q, 0, 1, 1, 1, 0, 0);
    prob_arc(&q, 0, 1, 1, 1, 0, 0); /* duplicate pair, arcs unsorted */
    expect_error(&q, TAM_EINVAL);
    q.a--;
    q.u[0] = INT64_MAX;         /* totals beyond int64 */
    q.u[1] = INT64_MAX;
    q.b[0] = INT64_MAX;
    q.b[1] = INT64_MAX;
    expect_error(&q, TAM_ETOOBIG);
    q.u[0] = 100;
    q.u[1] = 50;
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);      /* one huge side is fine */
    tam_flow_solution_free(&s);
    tam_flow_problem_t p = prob_view(&q);
    p.arcs = NULL;
    assert_int_equal(tam_flow_solve(&p, &s), TAM_EINVAL);
    assert_int_equal(tam_flow_solve(NULL, &s), TAM_EINVAL);
    p = prob_view(&q);
    assert_int_equal(tam_flow_solve(&p, NULL), TAM_EINVAL);
    assert_int_equal(tam_flow_new(NULL, &p), TAM_EINVAL);
    prob_free(&q);
}

/* ---- cross-checks ---- */

static void test_vs_ssp(void **st)
{
    (void)st;
    rnd_state = 1234;
    for (int t = 0; t < 1500; t++) {
        prob_t q = {0};
        prob_random(&q, 1 + rnd() % 6, 1 + rnd() % 4, 30 + (int)(rnd() % 70), t % 3 ? 0 : 4, t % 2,
                    t % 5 ? 50 : 1000000);
        tam_flow_solution_t s = {0};
        solve_checked(&q, &s);
        __int128 ref = ssp_objective(&q);
        if (ref != s.objective)
            fail_msg("instance %d: ours %lld, ssp %lld", t, (long long)s.objective, (long long)ref);
        tam_flow_solution_free(&s);
        prob_free(&q);
    }
}

/* Marginal value of one dollar: with obj(b-1), obj(b), obj(b+1), the dual
 * price lies between the right and left derivatives, and equals them when
 * they agree (the dual is then unique). Same for needs. */
static void test_duals_marginal(void **st)
{
    (void)st;
    rnd_state = 99;
    int exact = 0;
    for (int t = 0; t < 60; t++) {
        prob_t q = {0};
        prob_random(&q, 2 + rnd() % 6, 1 + rnd() % 4, 60, 0, 0, 40);
        tam_flow_solution_t s = {0};
        solve_checked(&q, &s);
        for (size_t j = 0; j < q.m; j++) {
            int64_t b0 = q.b[j];
            q.b[j] = b0 + 1;
            __int128 up = solve_obj(&q) - s.objective;
            __int128 down = up;
            if (b0 > 0) {
                q.b[j] = b0 - 1;
                down = s.objective - solve_obj(&q);
            }
            q.b[j] = b0;
            assert_true(up <= s.project_dual[j]);
            if (b0 > 0)
                assert_true(s.project_dual[j] <= down);
            if (up == down && b0 > 0) {
                assert_true(s.project_dual[j] == up);
                exact++;
            }
        }
        for (size_t i = 0; i < q.n; i++) {
            int64_t u0 = q.u[i];
            q.u[i] = u0 + 1;
            __int128 up = solve_obj(&q) - s.objective;
            q.u[i] = u0;
            assert_true(up <= s.need_dual[i]);
            if (u0 > 0) {
                q.u[i] = u0 - 1;
                __int128 down = s.objective - solve_obj(&q);
                q.u[i] = u0;
                assert_true(s.need_dual[i] <= down);
            }
        }
        tam_flow_solution_free(&s);
        prob_free(&q);
    }
    assert_true(exact > 20);
}

/* ---- warm start ---- */

static void compare_warm_cold(const prob_t *q, const tam_flow_solution_t *w)
{
    tam_flow_solution_t c = {0};
    check_solution(q, w);
    solve_checked(q, &c);
    assert_true(c.objective == w->objective);
    if (c.unique && w->unique)
        assert_memory_equal(c.x, w->x, q->a * sizeof *c.x);
    tam_flow_solution_free(&c);
}

static void test_warm_random(void **st)
{
    (void)st;
    rnd_state = 2024;
    for (int t = 0; t < 80; t++) {
        prob_t q = {0};
        prob_random(&q, 5 + rnd() % 15, 2 + rnd() % 5, 40, t % 2 ? 0 : 5, 1, 1000);
        tam_flow_problem_t p = prob_view(&q);
        tam_flow_t *f = NULL;
        tam_flow_solution_t w = {0};
        assert_int_equal(tam_flow_new(&f, &p), 0);
        assert_int_equal(tam_flow_run(f, &w), 0);
        compare_warm_cold(&q, &w);
        for (int step = 0; step < 25; step++) {
            int op = (int)(rnd() % 6);
            if (op == 0) { /* a new need with arcs */
                uint32_t i = 0;
                int64_t amt = rnd_in(0, 1000);
                assert_int_equal(tam_flow_add_need(f, 900000 + (uint64_t)(t * 100 + step), amt, &i), 0);
                assert_int_equal(prob_need(&q, 900000 + (uint64_t)(t * 100 + step), amt), i);
                for (uint32_t j = 0; j < q.m; j++) {
                    if (rnd() % 2)
                        continue;
                    tam_flow_arc_t a = {.need = i, .project = j, .score = (uint32_t)rnd_in(0, 10000),
                                        .tiebreak = (uint32_t)(rnd() % 3),
                                        .cap = rnd() % 2 ? TAM_FLOW_UNCAPPED : rnd_in(0, 500), .fixed = 0};
                    uint32_t k = 0;
                    assert_int_equal(tam_flow_add_arc(f, &a, &k), 0);
                    assert_int_equal(prob_arc(&q, i, j, a.score, a.cap, 0, a.tiebreak), k);
                }
            } else if (op == 1) { /* need amount up or down */
                uint32_t i = (uint32_t)(rnd() % q.n);
                int64_t fx = 0;
                for (size_t k = 0; k < q.a; k++)
                    if (q.arcs[k].need == i)
                        fx += q.arcs[k].fixed;
                int64_t amt = fx + rnd_in(0, 1000);
                assert_int_equal(tam_flow_set_need_amount(f, i, amt), 0);
                q.u[i] = amt;
            } else if (op == 2) { /* budget up or down */
                uint32_t j = (uint32_t)(rnd() % q.m);
                int64_t fx = 0;
                for (size_t k = 0; k < q.a; k++)
                    if (q.arcs[k].project == j)
                        fx += q.arcs[k].fixed;
                int64_t amt = fx + rnd_in(0, 2000);
                assert_int_equal(tam_flow_set_project_budget(f, j, amt), 0);
                q.b[j] = amt;
            } else if (op == 3 && q.a) { /* score / key / cap change */
                uint32_t k = (uint32_t)(rnd() % q.a);
                tam_flow_arc_t *a = &q.arcs[k];
                uint32_t sc = (uint32_t)rnd_in(0, 10000), key = (uint32_t)(rnd() % 3);
                int64_t cap = rnd() % 2 ? TAM_FLOW_UNCAPPED : a->fixed + rnd_in(0, 500);
                assert_int_equal(tam_flow_set_arc(f, k, sc, key, cap, a->fixed), 0);
                a->score = sc;
                a->tiebreak = key;
                a->cap = cap;
            } else if (op == 4 && q.a) { /* commit part of an allocation (fixed grows) */
                uint32_t k = (uint32_t)(rnd() % q.a);
                tam_flow_arc_t *a = &q.arcs[k];
                int64_t fx = a->fixed + (k < w.n_arcs ? (w.x[k] - a->fixed) / 2 : 0) + rnd_in(0, 3);
                if (fx > a->cap)
                    fx = a->cap;
                int rc = tam_flow_set_arc(f, k, a->score, a->tiebreak, a->cap, fx);
                if (rc == 0)
                    a->fixed = fx;
                else
                    assert_int_equal(rc, TAM_ECONFLICT);
            } else if (op == 5) { /* a new project with arcs */
                uint32_t j = 0;
                int64_t amt = rnd_in(0, 3000);
                assert_int_equal(tam_flow_add_project(f, 800000 + (uint64_t)(t * 100 + step), amt, &j), 0);
                assert_int_equal(prob_project(&q, 800000 + (uint64_t)(t * 100 + step), amt), j);
                for (uint32_t i = 0; i < q.n; i++) {
                    if (rnd() % 3)
                        continue;
                    tam_flow_arc_t a = {.need = i, .project = j, .score = (uint32_t)rnd_in(1, 10000),
                                        .tiebreak = 1, .cap = TAM_FLOW_UNCAPPED, .fixed = 0};
                    assert_int_equal(tam_flow_add_arc(f, &a, NULL), 0);
                    prob_arc(&q, i, j, a.score, a.cap, 0, 1);
                }
            }
            if (rnd() % 2 || step == 24) {
                assert_int_equal(tam_flow_run(f, &w), 0);
                compare_warm_cold(&q, &w);
            }
        }
        assert_int_equal(tam_flow_n_needs(f), q.n);
        assert_int_equal(tam_flow_n_projects(f), q.m);
        assert_int_equal(tam_flow_n_arcs(f), q.a);
        assert_true(tam_flow_mem_bytes(f) > 0);
        tam_flow_solution_free(&w);
        tam_flow_destroy(&f);
        assert_null(f);
        tam_flow_destroy(&f);
        prob_free(&q);
    }
}

static void test_warm_errors(void **st)
{
    (void)st;
    prob_t q = {0};
    prob_need(&q, 1, 100);
    prob_project(&q, 10, 100);
    prob_arc(&q, 0, 0, 5, 80, 40, 0);
    tam_flow_problem_t p = prob_view(&q);
    tam_flow_t *f = NULL;
    tam_flow_solution_t s = {0};
    assert_int_equal(tam_flow_new(&f, &p), 0);
    assert_int_equal(tam_flow_add_need(f, 1, 5, NULL), TAM_EINVAL);      /* duplicate id */
    assert_int_equal(tam_flow_add_need(f, 2, -5, NULL), TAM_EINVAL);
    assert_int_equal(tam_flow_add_project(f, 10, 5, NULL), TAM_EINVAL);
    tam_flow_arc_t a = {.need = 0, .project = 0, .score = 1, .cap = 5};
    assert_int_equal(tam_flow_add_arc(f, &a, NULL), TAM_EINVAL);         /* duplicate pair */
    a.project = 1;
    assert_int_equal(tam_flow_add_arc(f, &a, NULL), TAM_EINVAL);         /* no such project */
    assert_int_equal(tam_flow_set_need_amount(f, 0, 39), TAM_ECONFLICT);  /* below fixed */
    assert_int_equal(tam_flow_set_need_amount(f, 1, 39), TAM_EINVAL);
    assert_int_equal(tam_flow_set_project_budget(f, 0, 10), TAM_ECONFLICT);
    assert_int_equal(tam_flow_set_project_budget(f, 0, -1), TAM_EINVAL);
    assert_int_equal(tam_flow_set_arc(f, 0, 5, 0, 30, 40), TAM_EINVAL);  /* fixed > cap */
    assert_int_equal(tam_flow_set_arc(f, 0, 10001, 0, 80, 40), TAM_EINVAL);
    assert_int_equal(tam_flow_set_arc(f, 1, 5, 0, 80, 40), TAM_EINVAL);
    assert_int_equal(tam_flow_run(f, NULL), TAM_EINVAL);
    /* nothing changed: */
    assert_int_equal(tam_flow_run(f, &s), 0);
    check_solution(&q, &s);
    assert_int_equal(s.x[0], 80);
    assert_int_equal(tam_flow_n_needs(f), 1);
    assert_int_equal(tam_flow_n_projects(f), 1);
    assert_int_equal(tam_flow_n_arcs(f), 1);
    /* a second project cannot push fixed amounts over the need */
    uint32_t j = 0;
    assert_int_equal(tam_flow_add_project(f, 11, 100, &j), 0);
    a = (tam_flow_arc_t){.need = 0, .project = j, .score = 9, .cap = 100, .fixed = 61};
    assert_int_equal(tam_flow_add_arc(f, &a, NULL), TAM_ECONFLICT);
    a.fixed = 60;
    assert_int_equal(tam_flow_add_arc(f, &a, NULL), 0);
    assert_int_equal(tam_flow_run(f, &s), 0);
    prob_project(&q, 11, 100);
    prob_arc(&q, 0, j, 9, 100, 60, 0);
    check_solution(&q, &s);
    assert_int_equal(s.x[0], 40);
    assert_int_equal(s.x[1], 60);
    tam_flow_solution_free(&s);
    tam_flow_destroy(&f);
    assert_int_equal(tam_flow_add_need(NULL, 1, 1, NULL), TAM_EINVAL);
    assert_int_equal(tam_flow_run(NULL, &s), TAM_EINVAL);
    assert_int_equal(tam_flow_n_arcs(NULL), 0);
    prob_free(&q);
}

/* The uniqueness check uses the zero-cost arcs listed by the last pricing
 * pass; its fallback (a scan of all arcs) must agree. */
static void test_unique_fallback(void **st)
{
    (void)st;
    rnd_state = 31;
    int nonunique = 0;
    for (int t = 0; t < 200; t++) {
        prob_t q = {0};
        prob_random(&q, 2 + rnd() % 8, 2 + rnd() % 4, 70, 2, t % 2, 20);
        for (size_t k = 0; k < q.a; k++)
            q.arcs[k].tiebreak = 0;
        /* every other instance: a 2x2 block of equal pairs with the colliding
         * ids of test_not_unique, which ties on all three levels */
        if (q.n >= 2 && q.m >= 2 && t % 2 == 0) {
            q.nid[0] = 268281;
            q.nid[1] = 437109;
            q.pid[0] = 1001;
            q.pid[1] = 1002;
            for (uint32_t i = 0; i < 2; i++)
                for (uint32_t j = 0; j < 2; j++) {
                    size_t k = 0;
                    while (k < q.a && !(q.arcs[k].need == i && q.arcs[k].project == j))
                        k++;
                    if (k == q.a)
                        prob_arc(&q, i, j, 5000, TAM_FLOW_UNCAPPED, 0, 0);
                    q.arcs[k].score = 5000;
                }
        }
        tam_flow_problem_t p = prob_view(&q);
        tam_flow_t *f = NULL;
        tam_flow_solution_t s = {0};
        int u1 = -1, u2 = -1;
        if (tam_flow_new(&f, &p) != 0) { /* ids may clash with the random ones: skip */
            prob_free(&q);
            continue;
        }
        assert_int_equal(tam_flow_run(f, &s), 0);
        check_solution(&q, &s);
        assert_int_equal(tam_flow__unique(f, &u1), 0);
        f->zl_overflow = 1;
        assert_int_equal(tam_flow__unique(f, &u2), 0);
        assert_int_equal(u1, u2);
        assert_int_equal(u1, s.unique);
        nonunique += !u1;
        tam_flow_solution_free(&s);
        tam_flow_destroy(&f);
        prob_free(&q);
    }
    assert_true(nonunique > 0);
}

/* The simplex prices levels 2 and 3 over lists of tied arcs; when a list
 * cannot grow it scans every arc instead, and a potential that drifts past
 * pot_limit is renormalised. Both fallbacks, forced here (white-box), must
 * give the same allocation as the normal path, cold and warm. */
static void test_fallbacks(void **st)
{
    (void)st;
    rnd_state = 4242;
    for (int t = 0; t < 60; t++) {
        prob_t q = {0};
        prob_random(&q, 3 + rnd() % 20, 2 + rnd() % 6, 60, t % 3 ? 3 : 0, t % 2, 200);
        for (size_t k = 0; k < q.a; k++)
            q.arcs[k].tiebreak = (uint32_t)(rnd() % 2);
        tam_flow_problem_t p = prob_view(&q);
        tam_flow_t *f = NULL, *g = NULL;
        tam_flow_solution_t a = {0}, b = {0};
        assert_int_equal(tam_flow_new(&f, &p), 0);
        assert_int_equal(tam_flow_new(&g, &p), 0);
        g->lst_limit = (uint32_t)(t % 4); /* 0: no limit, only pot_limit */
        g->pot_limit = t % 2;
        for (int step = 0; step < 3; step++) {
            if (step > 0) { /* a budget and a need change, both solvers */
                uint32_t j = (uint32_t)(rnd() % q.m), i = (uint32_t)(rnd() % q.n);
                int64_t fj = 0, fi = 0;
                for (size_t k = 0; k < q.a; k++) {
                    fj += q.arcs[k].project == j ? q.arcs[k].fixed : 0;
                    fi += q.arcs[k].need == i ? q.arcs[k].fixed : 0;
                }
                q.b[j] = fj + rnd_in(0, 400);
                q.u[i] = fi + rnd_in(0, 200);
                assert_int_equal(tam_flow_set_project_budget(f, j, q.b[j]), 0);
                assert_int_equal(tam_flow_set_project_budget(g, j, q.b[j]), 0);
                assert_int_equal(tam_flow_set_need_amount(f, i, q.u[i]), 0);
                assert_int_equal(tam_flow_set_need_amount(g, i, q.u[i]), 0);
            }
            assert_int_equal(tam_flow_run(f, &a), 0);
            assert_int_equal(tam_flow_run(g, &b), 0);
            check_solution(&q, &b);
            assert_true(a.objective == b.objective);
            assert_int_equal(a.unique, b.unique);
            if (a.unique)
                assert_memory_equal(a.x, b.x, q.a * sizeof *a.x);
            compare_warm_cold(&q, &b);
        }
        tam_flow_solution_free(&a);
        tam_flow_solution_free(&b);
        tam_flow_destroy(&f);
        tam_flow_destroy(&g);
        prob_free(&q);
    }
}

/* tam_flow_run_lazy fills everything but x and arc_flags, which tam_flow_x
 * reads from the solver: both must equal a full run's, warm too. */
static void test_run_lazy(void **st)
{
    (void)st;
    rnd_state = 515;
    for (int t = 0; t < 30; t++) {
        prob_t q = {0};
        prob_random(&q, 3 + rnd() % 15, 2 + rnd() % 5, 60, t % 2 ? 4 : 0, t % 2, 300);
        tam_flow_problem_t p = prob_view(&q);
        tam_flow_t *f = NULL, *g = NULL;
        tam_flow_solution_t a = {0}, b = {0};
        assert_int_equal(tam_flow_new(&f, &p), 0);
        assert_int_equal(tam_flow_new(&g, &p), 0);
        for (int step = 0; step < 3; step++) {
            if (step > 0) {
                uint32_t j = (uint32_t)(rnd() % q.m);
                int64_t fj = 0;
                for (size_t k = 0; k < q.a; k++)
                    fj += q.arcs[k].project == j ? q.arcs[k].fixed : 0;
                q.b[j] = fj + rnd_in(0, 600);
                assert_int_equal(tam_flow_set_project_budget(f, j, q.b[j]), 0);
                assert_int_equal(tam_flow_set_project_budget(g, j, q.b[j]), 0);
            }
            assert_int_equal(tam_flow_run(f, &a), 0);
            assert_int_equal(tam_flow_run_lazy(g, &b), 0);
            if (step == 0)
                assert_null(b.x);
            assert_int_equal(b.n_arcs, q.a);
            assert_true(a.objective == b.objective);
            assert_int_equal(a.unique, b.unique);
            assert_memory_equal(a.need_funded, b.need_funded, q.n * sizeof *a.need_funded);
            assert_memory_equal(a.need_dual, b.need_dual, q.n * sizeof *a.need_dual);
            assert_memory_equal(a.project_used, b.project_used, q.m * sizeof *a.project_used);
            assert_memory_equal(a.project_dual, b.project_dual, q.m * sizeof *a.project_dual);
            for (uint32_t k = 0; k < q.a; k++)
                assert_int_equal(tam_flow_x(g, k), a.x[k]);
            /* new money by need: the sum of x - fixed over its arcs */
            for (uint32_t i = 0; i <= q.n; i++) {
                int64_t nw = 0;
                for (size_t k = 0; k < q.a; k++)
                    if (q.arcs[k].need == i)
                        nw += a.x[k] - q.arcs[k].fixed;
                assert_int_equal(tam_flow_need_new(g, i), nw);
            }
            /* in batches, in mixed order, one index out of range */
            {
                size_t nx = 3 * q.a + 1; /* more than one batch of 64 */
                uint32_t *ix = malloc(nx * sizeof *ix);
                int64_t *xv = malloc(nx * sizeof *xv);
                assert_non_null(ix);
                assert_non_null(xv);
                ix[0] = (uint32_t)q.a + 7;
                for (size_t k = 1; k < nx; k++)
                    ix[k] = (uint32_t)((q.a - k % q.a) * 7 % q.a);
                tam_flow_x_many(g, ix, nx, xv);
                assert_int_equal(xv[0], 0);
                for (size_t k = 1; k < nx; k++)
                    assert_int_equal(xv[k], a.x[ix[k]]);
                free(ix);
                free(xv);
            }
            /* the whole of x and arc_flags afterwards, as tam_flow_run wrote them */
            if (step == 2 || t % 3 == 0) {
                assert_int_equal(tam_flow_fill_x(g, &b), 0);
                assert_int_equal(b.n_arcs, q.a);
                assert_memory_equal(a.x, b.x, q.a * sizeof *a.x);
                assert_memory_equal(a.arc_flags, b.arc_flags, q.a);
                assert_true(a.objective == b.objective);
            }
        }
        assert_int_equal(tam_flow_x(g, (uint32_t)q.a), 0);
        assert_int_equal(tam_flow_fill_x(NULL, &b), TAM_EINVAL);
        assert_int_equal(tam_flow_fill_x(g, NULL), TAM_EINVAL);
        assert_int_equal(tam_flow_x(NULL, 0), 0);
        assert_int_equal(tam_flow_run_lazy(NULL, &b), TAM_EINVAL);
        tam_flow_solution_free(&a);
        tam_flow_solution_free(&b);
        tam_flow_destroy(&f);
        tam_flow_destroy(&g);
        prob_free(&q);
    }
}

/* ---- LP export and glpsol ---- */

static void test_lp_text(void **st)
{
    (void)st;
    prob_t q = {0};
    prob_need(&q, 1, 100);
    prob_need(&q, 2, 50);
    prob_project(&q, 10, 120);
    prob_arc(&q, 0, 0, 7, TAM_FLOW_UNCAPPED, 0, 0);
    prob_arc(&q, 1, 0, 9, 40, 5, 0);
    tam_flow_problem_t p = prob_view(&q);
    tam_flow_solution_t s = {0};
    solve_checked(&q, &s);
    char *txt = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&txt, &len);
    assert_non_null(m);
    assert_int_equal(tam_flow_write_lp(m, &p, &s), 0);
    fclose(m);
    assert_non_null(strstr(txt, "Maximize\n obj: 7 x_1_10 + 9 x_2_10\n"));
    assert_non_null(strstr(txt, "Subject To\n n_1: x_1_10 <= 100\n n_2: x_2_10 <= 50\n p_10: x_1_10 + x_2_10 <= 120\n"));
    assert_non_null(strstr(txt, "Bounds\n 5 <= x_2_10 <= 40\nEnd\n"));
    assert_non_null(strstr(txt, "\\ solution (tamatch): objective = 920\n\\ x_1_10 = 80\n\\ x_2_10 = 40\n"));
    free(txt);
    /* errors */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(tam_flow_write_lp(full, &p, &s), TAM_EIO);
        fclose(full);
    }
    s.n_arcs = 1;
    assert_int_equal(tam_flow_write_lp(stderr, &p, &s), TAM_EINVAL);
    assert_int_equal(tam_flow_write_lp(NULL, &p, NULL), TAM_EINVAL);
    tam_flow_solution_free(&s);
    prob_free(&q);
}

static void test_i128(void **st)
{
    (void)st;
    char b[48];
    __int128 big = (__int128)INT64_MAX * 10000 + 7;
    assert_int_equal(tam_flow_i128_format(b, sizeof b, big), 23);
    assert_string_equal(b, "92233720368547758070007");
    assert_int_equal(tam_flow_i128_format(b, sizeof b, -42), 3);
    assert_string_equal(b, "-42");
    assert_int_equal(tam_flow_i128_format(b, sizeof b, 0), 1);
    assert_string_equal(b, "0");
    assert_int_equal(tam_flow_i128_format(b, 3, 1234), TAM_ETRUNC);
    assert_string_equal(b, "");
}

static char tmpdir[64];
static char glpsol_path[512];

static int glp_setup(void **st)
{
    (void)st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_flow.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    glpsol_path[0] = 0;
    const char *path = getenv("PATH");
    char *dup = strdup(path ? path : "/usr/bin:/bin");
    for (char *sv = NULL, *d = strtok_r(dup, ":", &sv); d; d = strtok_r(NULL, ":", &sv)) {
        char cand[512];
        snprintf(cand, sizeof cand, "%s/glpsol", d);
        if (access(cand, X_OK) == 0) {
            snprintf(glpsol_path, sizeof glpsol_path, "%s", cand);
            break;
        }
    }
    free(dup);
    return 0;
}

static int glp_teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs glpsol on q's LP; returns its objective rounded to an integer and the
 * objective recomputed exactly from its (integral) column values. */
static void glpsol_solve(const prob_t *q, __int128 *obj_glp, __int128 *obj_cols)
{
    char lp[128], out[128];
    snprintf(lp, sizeof lp, "%s/p.lp", tmpdir);
    snprintf(out, sizeof out, "%s/p.sol", tmpdir);
    FILE *fp = fopen(lp, "w");
    assert_non_null(fp);
    tam_flow_problem_t p = prob_view(q);
    assert_int_equal(tam_flow_write_lp(fp, &p, NULL), 0);
    fclose(fp);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        execl(glpsol_path, "glpsol", "--lp", lp, "-w", out, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fp = fopen(out, "r");
    assert_non_null(fp);
    char line[256];
    int have = 0;
    *obj_cols = 0;
    while (fgets(line, sizeof line, fp)) {
        char pst[8], dst[8];
        unsigned rows, cols, k;
        double v;
        if (sscanf(line, "s bas %u %u %7s %7s %lf", &rows, &cols, pst, dst, &v) == 5) {
            assert_string_equal(pst, "f");
            assert_string_equal(dst, "f");
            assert_true(fabs(v) < 1e15); /* printed with 15 significant digits */
            *obj_glp = (__int128)llround(v);
            have = 1;
        } else if (sscanf(line, "j %u %*s %lf", &k, &v) == 2 && q->a) {
            assert_true(k >= 1 && k <= q->a);
            double r = nearbyint(v);
            assert_true(fabs(v - r) < 1e-6);
            *obj_cols += (__int128)q->arcs[k - 1].score * (int64_t)r;
        }
    }
    fclose(fp);
    assert_true(have);
}

static void test_vs_glpsol(void **st)
{
    (void)st;
    if (!glpsol_path[0])
        skip(); /* glpsol not in PATH (scripts/bootstrap installs glpk-utils) */
    static const struct {
        size_t n, m;
        int reps;
    } sizes[] = {{50, 10, 8}, {200, 30, 4}, {1000, 50, 2}};
    /* edge cases: no bounds section entries; no arcs at all */
    prob_t e = {0};
    prob_need(&e, 5, 10);
    prob_project(&e, 6, 20);
    prob_arc(&e, 0, 0, 3, TAM_FLOW_UNCAPPED, 0, 0);
    __int128 og = -1, oc = -1;
    glpsol_solve(&e, &og, &oc);
    assert_true(og == 30 && oc == 30);
    e.a = 0;
    glpsol_solve(&e, &og, &oc);
    assert_true(og == 0 && oc == 0);
    prob_free(&e);
    rnd_state = 777;
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        for (int r = 0; r < sizes[z].reps; r++) {
            prob_t q = {0};
            prob_random(&q, sizes[z].n, sizes[z].m, 15, r % 2 ? 5 : 0, r % 2, 500000);
            tam_flow_solution_t s = {0};
            solve_checked(&q, &s);
            og = 0;
            oc = 0;
            glpsol_solve(&q, &og, &oc);
            if (og != s.objective || oc != s.objective)
                fail_msg("%zux%zu: ours %lld, glpsol %lld (columns %lld)", sizes[z].n, sizes[z].m,
                         (long long)s.objective, (long long)og, (long long)oc);
            tam_flow_solution_free(&s);
            prob_free(&q);
        }
    }
}

int main(void)
{
    const struct CMUnitTest basic[] = {
        cmocka_unit_test(test_single_pair),
        cmocka_unit_test(test_partial_funding),
        cmocka_unit_test(test_cap_binds),
        cmocka_unit_test(test_competition),
        cmocka_unit_test(test_zero_score_and_fixed),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_tiebreak_key),
        cmocka_unit_test(test_tiebreak_more_money),
        cmocka_unit_test(test_tiebreak_hash),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_not_unique),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_vs_ssp),
        cmocka_unit_test(test_duals_marginal),
        cmocka_unit_test(test_warm_random),
        cmocka_unit_test(test_warm_errors),
        cmocka_unit_test(test_unique_fallback),
        cmocka_unit_test(test_fallbacks),
        cmocka_unit_test(test_run_lazy),
        cmocka_unit_test(test_lp_text),
        cmocka_unit_test(test_i128),
    };
    const struct CMUnitTest glp[] = {
        cmocka_unit_test(test_vs_glpsol),
    };
    int fails = cmocka_run_group_tests_name("flow", basic, NULL, NULL);
    fails += cmocka_run_group_tests_name("flow_glpsol", glp, glp_setup, glp_teardown);
    return fails ? 1 : 0;
}

/* match_range.c — the range of validity of each project's dual price: how
 * many extra USD each still add exactly the dual to the objective
 * (run_project.dual_range, explanation.project_dual_range). For problems up
 * to 50,000 pairs; a run computes them without the write lock. */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_heap.h"
#include "match_int.h"

/* Largest problem (pairs) whose dual ranges every run computes. */
#define S_RANGE_MAX_ARCS 50000

/* The optimum as a function of project q's extra budget d, F(d) = v(b + d)
 * - v(b), is concave and piecewise linear with integral breakpoints; F(d) =
 * y d holds for d in [0, r] and fails above (y: the least dual, the right
 * derivative at 0). r is found by re-solves: s_eval sets the budget to b + d
 * and returns F(d) and the solver's dual g there, a supergradient of F at d
 * (an optimal dual: F(t) <= F(d) + g (t - d) for every t). */
typedef struct {
    tam_flow_t *f;
    tam_flow_solution_t s;
    __int128 base;
    uint32_t q;
    int64_t b;
    uint64_t solves;
} s_range_t;

static int s_eval(s_range_t *r, int64_t d, __int128 *fd, int64_t *g)
{
    int rc = tam_flow_set_project_budget(r->f, r->q, r->b + d);
    if (rc == 0)
        rc = tam_flow_run_lazy(r->f, &r->s);
    if (rc)
        return rc;
    r->solves++;
    *fd = r->s.objective - r->base;
    *g = r->s.project_dual[r->q];
    return 0;
}

/* r for project q with least dual y > 0, d in [1, top]. Keeps lo with F(lo)
 * = y lo (1 at first, as a bisection would assume) and hi above r (F(hi) <
 * y hi). A bisection costs ~log2(room) (~30) solves a project
 * (3,000 solves, 3.3 s of a 3.3 s run at 2k x 100); instead each step cuts
 * at the tangent lines: y d meets F(hi) + g (d - hi) at some x >= r
 * (concavity), x < hi, and the floor of x is r as soon as F holds there (r
 * is integral, r <= x). That is Newton's method on a concave piecewise
 * linear function: a step per linear piece crossed, two or three a project
 * here. A step that would not shrink [lo, hi] bisects instead, so the
 * result is the bisection's in every case (F(d) = y d is monotone in d:
 * true up to r, false after). */
static int s_range(s_range_t *r, int64_t y, int64_t top, int64_t *out)
{
    int64_t lo = 1, hi = top, g;
    __int128 fd;
    int rc = s_eval(r, hi, &fd, &g);
    if (rc)
        return rc;
    if (fd == (__int128)y * hi) {
        *out = hi;
        return 0;
    }
    __int128 fhi = fd;
    int64_t ghi = g;
    while (hi - lo > 1) {
        int64_t c = lo + (hi - lo) / 2;
        if (ghi < y) {
            /* y x = F(hi) + g (x - hi)  =>  x = (F(hi) - g hi) / (y - g) */
            __int128 x = (fhi - (__int128)ghi * hi) / (y - ghi);
            if (x > lo && x < hi)
                c = (int64_t)x;
        }
        if ((rc = s_eval(r, c, &fd, &g)))
            return rc;
        if (fd == (__int128)y * c) {
            lo = c;
            if (c + 1 < hi) {
                /* the tangents said c is r: one more solve makes it sure */
                if ((rc = s_eval(r, c + 1, &fd, &g)))
                    return rc;
                if (fd == (__int128)y * (c + 1)) {
                    lo = c + 1;
                } else {
                    hi = c + 1;
                    fhi = fd;
                    ghi = g;
                }
            }
        } else {
            hi = c;
            fhi = fd;
            ghi = g;
        }
    }
    *out = lo;
    return 0;
}

/* ---- exact ranges from one solution: max flow over the tight arcs ------------------- */

/* Extra money d for project q moves the optimum by the best flow of value d
 * from q in the residual network of an optimal x (q's new money pays a need
 * i, which passes money of another project k on to ... until a need with
 * room, or a project that keeps its money): money on j -> i while x < c (gain
 * s_ij), i -> k while x > f (gain -s_ik), i -> T while i has room, k -> T
 * (gain 0). The best gain per dollar is D(q), the longest path from q to T;
 * F(d) = D(q) d holds exactly while a flow of value d runs on paths of that
 * gain, i.e. on the arcs tight for D (D(u) = len + D(v): a path from q to T
 * has gain D(q) iff all its arcs are tight). So r = the maximum flow from q
 * to T over the tight arcs, when y = D(q) (the least dual is the right
 * derivative: always, unless the duals could not be made canonical). D:
 * Dijkstra from T over reversed arcs, optimal duals as potentials (as in
 * tam_match__canon_duals, transposed). From the run's own optimum: no solve
 * and a max flow per project, instead of ~29 re-solves per project by
 * bisection (3.3 s of a 3.3 s run at 2k x 100) or ~10 by tangent steps. */
#define S_FLOW_INF (INT64_MAX / 4)

typedef struct {
    uint32_t n, T;
    uint32_t *off, *to, *rev, *level, *it, *stack, *pe;
    int64_t *cap0, *cap;
} s_tight_t;

static void s_tight_free(s_tight_t *t)
{
    free(t->off);
    free(t->to);
    free(t->rev);
    free(t->level);
    free(t->it);
    free(t->stack);
    free(t->pe);
    free(t->cap0);
    free(t->cap);
    memset(t, 0, sizeof *t);
}

/* Builds the tight network of x, an allocation of problem p, given dual
 * prices y (projects) and z (needs). Returns 0, then *ok if x and (y, z)
 * are optimal (x feasible, the duals feasible potentials, complementary
 * slackness; then D is exact), else the caller solves; TAM_ENOMEM. */
static int s_tight_new(s_tight_t *t, const tam_flow_problem_t *p, const int64_t *xs,
                       const int64_t *ydual, const int64_t *zdual, int64_t *D, bool *ok)
{
    uint32_t np = (uint32_t)p->n_projects, nn = (uint32_t)p->n_needs, T = np + nn, nv = T + 1;
    size_t mr = 2 * p->n_arcs + nn + np; /* residual arcs at most */
    memset(t, 0, sizeof *t);
    *ok = false;
    uint32_t *ru = malloc((mr + 1) * sizeof *ru), *rv = malloc((mr + 1) * sizeof *rv);
    int64_t *rlen = malloc((mr + 1) * sizeof *rlen), *rcap = malloc((mr + 1) * sizeof *rcap);
    int64_t *pot = malloc(nv * sizeof *pot), *dist = malloc(nv * sizeof *dist);
    int64_t *fund = calloc(nn + 1, sizeof *fund), *used = calloc(np + 1, sizeof *used);
    uint32_t *deg = calloc(nv + 1, sizeof *deg);
    s_edge_t *e = malloc((mr + 1) * sizeof *e);
    s_heap_t h = {malloc(nv * sizeof(int64_t)), malloc(nv * sizeof(uint32_t)),
                  calloc(nv, sizeof(uint32_t)), 0};
    int rc = TAM_ENOMEM;
    if (!ru || !rv || !rlen || !rcap || !pot || !dist || !fund || !used || !deg || !e || !h.key ||
        !h.heap || !h.pos)
        goto out;
    size_t m = 0;
#define S_RES(u_, v_, len_, cap_)                                                             \
    do {                                                                                      \
        ru[m] = (u_);                                                                         \
        rv[m] = (v_);                                                                         \
        rlen[m] = (len_);                                                                     \
        rcap[m++] = (cap_);                                                                   \
    } while (0)
    for (size_t k = 0; k < p->n_arcs; k++) {
        const tam_flow_arc_t *a = &p->arcs[k];
        int64_t x = xs[k], c = a->score == 0 ? a->fixed : a->cap; /* score 0: fixed only */
        if (x < a->fixed || x > c) {
            rc = 0; /* not an allocation of p */
            goto out;
        }
        fund[a->need] += x;
        used[a->project] += x;
        if (x < c)
            S_RES(a->project, np + a->need, (int64_t)a->score, c - x);
        if (x > a->fixed)
            S_RES(np + a->need, a->project, -(int64_t)a->score, x - a->fixed);
    }
    for (uint32_t i = 0; i < nn; i++)
        if (fund[i] > p->need_amount[i] || zdual[i] < 0)
            goto not_optimal;
    for (uint32_t j = 0; j < np; j++)
        if (used[j] > p->project_budget[j] || (ydual[j] > 0 && used[j] != p->project_budget[j]))
            goto not_optimal;
    for (uint32_t i = 0; i < nn; i++)
        if (fund[i] < p->need_amount[i])
            S_RES(np + i, T, 0, p->need_amount[i] - fund[i]);
    for (uint32_t j = 0; j < np; j++)
        S_RES(j, T, 0, S_FLOW_INF);
#undef S_RES
    /* potentials: p(P_j) = y_j, p(W_i) = -z_i, p(T) = 0; reduced lengths
     * p(u) - len - p(v) >= 0 by complementary slackness */
    for (uint32_t j = 0; j < np; j++)
        pot[j] = ydual[j];
    for (uint32_t i = 0; i < nn; i++)
        pot[np + i] = -zdual[i];
    pot[T] = 0;
    for (size_t k = 0; k < m; k++) {
        if (pot[ru[k]] - rlen[k] - pot[rv[k]] < 0)
            goto not_optimal; /* the caller solves instead */
        deg[rv[k]]++;
    }
    /* Dijkstra from T over the reversed arcs: dist(u) = shortest reduced
     * length from u to T, D(u) = p(u) - dist(u) */
    uint32_t acc = 0;
    for (uint32_t v = 0; v <= nv; v++) {
        uint32_t d = deg[v];
        deg[v] = acc;
        acc += d;
    }
    for (size_t k = 0; k < m; k++)
        e[deg[rv[k]]++] = (s_edge_t){ru[k], pot[ru[k]] - rlen[k] - pot[rv[k]]};
    for (uint32_t v = nv; v > 0; v--)
        deg[v] = deg[v - 1];
    deg[0] = 0;
    for (uint32_t v = 0; v < nv; v++)
        dist[v] = S_INF;
    dist[T] = 0;
    s_push(&h, T, 0);
    while (h.n) {
        uint32_t v = s_pop(&h);
        for (uint32_t k = deg[v]; k < deg[v + 1]; k++) {
            int64_t d = dist[v] + e[k].len;
            if (d < dist[e[k].to]) {
                dist[e[k].to] = d;
                s_push(&h, e[k].to, d);
            }
        }
    }
    for (uint32_t v = 0; v < nv; v++)
        D[v] = dist[v] == S_INF ? S_INF : pot[v] - dist[v];
    /* the tight arcs, each with its reverse, by tail */
    memset(deg, 0, (nv + 1) * sizeof *deg);
    size_t nt = 0;
    for (size_t k = 0; k < m; k++) {
        bool tight = D[ru[k]] != S_INF && D[rv[k]] != S_INF && D[ru[k]] == rlen[k] + D[rv[k]];
        rlen[k] = tight; /* reused: a flag from here */
        if (tight) {
            deg[ru[k]]++;
            deg[rv[k]]++;
            nt += 2;
        }
    }
    t->n = nv;
    t->T = T;
    t->off = malloc((nv + 1) * sizeof *t->off);
    t->to = malloc((nt + 1) * sizeof *t->to);
    t->rev = malloc((nt + 1) * sizeof *t->rev);
    t->cap0 = malloc((nt + 1) * sizeof *t->cap0);
    t->cap = malloc((nt + 1) * sizeof *t->cap);
    t->level = malloc(nv * sizeof *t->level);
    t->it = malloc(nv * sizeof *t->it);
    t->stack = malloc((nv + 1) * sizeof *t->stack);
    t->pe = malloc((nv + 1) * sizeof *t->pe);
    if (!t->off || !t->to || !t->rev || !t->cap0 || !t->cap || !t->level || !t->it ||
        !t->stack || !t->pe) {
        s_tight_free(t);
        goto out;
    }
    acc = 0;
    for (uint32_t v = 0; v < nv; v++) {
        t->off[v] = acc;
        acc += deg[v];
        deg[v] = t->off[v];
    }
    t->off[nv] = acc;
    for (size_t k = 0; k < m; k++) {
        if (!rlen[k])
            continue;
        uint32_t a = deg[ru[k]]++, b = deg[rv[k]]++;
        t->to[a] = rv[k];
        t->rev[a] = b;
        t->cap0[a] = rcap[k];
        t->to[b] = ru[k];
        t->rev[b] = a;
        t->cap0[b] = 0;
    }
    *ok = true;
not_optimal:
    rc = 0;
out:
    free(used);
    free(ru);
    free(rv);
    free(rlen);
    free(rcap);
    free(pot);
    free(dist);
    free(fund);
    free(deg);
    free(e);
    free(h.key);
    free(h.heap);
    free(h.pos);
    return rc;
}

/* The maximum flow from src to T over the tight arcs, up to lim (Dinic:
 * breadth-first levels, then augmenting paths found depth first along
 * each node's current arc). */
static int64_t s_tight_flow(s_tight_t *t, uint32_t src, int64_t lim)
{
    memcpy(t->cap, t->cap0, (size_t)t->off[t->n] * sizeof *t->cap);
    int64_t flow = 0;
    while (flow < lim) {
        for (uint32_t v = 0; v < t->n; v++)
            t->level[v] = UINT32_MAX;
        uint32_t qh = 0, qt = 0;
        t->stack[qt++] = src; /* as a queue here */
        t->level[src] = 0;
        while (qh < qt) {
            uint32_t v = t->stack[qh++];
            for (uint32_t k = t->off[v]; k < t->off[v + 1]; k++)
                if (t->cap[k] > 0 && t->level[t->to[k]] == UINT32_MAX) {
                    t->level[t->to[k]] = t->level[v] + 1;
                    t->stack[qt++] = t->to[k];
                }
        }
        if (t->level[t->T] == UINT32_MAX)
            break;
        for (uint32_t v = 0; v < t->n; v++)
            t->it[v] = t->off[v];
        for (;;) {
            /* one path src -> T: stack of nodes, pe[d] the arc leaving stack[d] */
            uint32_t sp = 0;
            t->stack[sp++] = src;
            while (sp && t->stack[sp - 1] != t->T) {
                uint32_t v = t->stack[sp - 1];
                while (t->it[v] < t->off[v + 1]) {
                    uint32_t k = t->it[v];
                    if (t->cap[k] > 0 && t->level[t->to[k]] == t->level[v] + 1)
                        break;
                    t->it[v]++;
                }
                if (t->it[v] < t->off[v + 1]) {
                    t->pe[sp - 1] = t->it[v];
                    t->stack[sp++] = t->to[t->it[v]];
                } else {
                    t->level[v] = UINT32_MAX; /* dead end */
                    if (--sp)
                        t->it[t->stack[sp - 1]]++;
                }
            }
            if (!sp)
                break;
            int64_t b = lim - flow;
            for (uint32_t d = 0; d + 1 < sp; d++)
                if (t->cap[t->pe[d]] < b)
                    b = t->cap[t->pe[d]];
            for (uint32_t d = 0; d + 1 < sp; d++) {
                t->cap[t->pe[d]] -= b;
                t->cap[t->rev[t->pe[d]]] += b;
            }
            flow += b;
            if (flow >= lim)
                break;
        }
    }
    return flow;
}

/* The tight network of the run's own allocation (m->work: x and the least
 * duals) over problem pb, which has the same needs, projects and pairs: no
 * solve. *ok false when m->work does not describe an optimum of pb (then
 * the caller solves pb). Returns 0; TAM_ENOMEM. */
static int s_tight_run(const tam_match_t *m, const tam_match_problem_t *pb, s_tight_t *t,
                       int64_t *D, bool *ok)
{
    const tam_flow_problem_t *p = &pb->p;
    const tam_flow_solution_t *w = &m->work;
    size_t np = p->n_projects, nn = p->n_needs;
    int64_t *x = malloc((p->n_arcs + 1) * sizeof *x), *yd = malloc((np + 1) * sizeof *yd);
    int64_t *zd = malloc((nn + 1) * sizeof *zd);
    uint32_t *pix = malloc(((size_t)m->nprojects + 1) * sizeof *pix);
    uint32_t *pos = malloc((np + 1) * sizeof *pos);
    int rc = TAM_ENOMEM;
    *ok = false;
    if (!x || !yd || !zd || !pix || !pos)
        goto out;
    rc = 0;
    if (!w->x || !w->project_dual || !w->need_dual)
        goto out;
    for (uint32_t j = 0; j < m->nprojects; j++)
        pix[j] = TAM_MATCH_NONE;
    for (size_t q = 0; q < np; q++) {
        const tam_match_project_t *pr = &m->projects[pb->project_slot[q]];
        if (pr->flow >= w->n_projects)
            goto out;
        pix[pb->project_slot[q]] = (uint32_t)q;
        yd[q] = w->project_dual[pr->flow];
        pos[q] = TAM_MATCH_NONE;
    }
    size_t k0 = 0;
    for (size_t i = 0; i < nn; i++) {
        const tam_match_need_t *n = &m->needs[pb->need_slot[i]];
        if (n->flow >= w->n_needs)
            goto out;
        zd[i] = w->need_dual[n->flow];
        size_t k1 = k0;
        for (; k1 < p->n_arcs && p->arcs[k1].need == i; k1++)
            pos[p->arcs[k1].project] = (uint32_t)k1;
        size_t found = 0;
        for (uint32_t a = 0; a < n->narcs; a++) {
            const tam_match_arc_t *arc = &n->arcs[a];
            if (!arc->live)
                continue;
            uint32_t q = pix[arc->project];
            if (q == TAM_MATCH_NONE || pos[q] == TAM_MATCH_NONE || arc->flow >= w->n_arcs)
                goto out;
            x[pos[q]] = w->x[arc->flow];
            found++;
        }
        for (size_t k = k0; k < k1; k++)
            pos[p->arcs[k].project] = TAM_MATCH_NONE;
        if (found != k1 - k0)
            goto out;
        k0 = k1;
    }
    if (k0 == p->n_arcs)
        rc = s_tight_new(t, p, x, yd, zd, D, ok);
out:
    free(x);
    free(yd);
    free(zd);
    free(pix);
    free(pos);
    return rc;
}

static bool s_resolve_only; /* tests: every range by re-solves */

void tam_match__ranges_by_resolves(bool on)
{
    s_resolve_only = on;
}

int tam_match__dual_ranges(tam_match_t *m, int64_t *range, bool *done, uint64_t *solves)
{
    for (uint32_t j = 0; j < m->nprojects; j++)
        range[j] = 0;
    *done = false;
    *solves = 0;
    if (m->flow_arcs > S_RANGE_MAX_ARCS)
        return 0;
    tam_match_problem_t pb;
    int rc = tam_match__problem(m, &pb, false);
    if (rc)
        return rc;
    s_range_t r = {0};
    s_tight_t t = {0};
    int64_t *reach = NULL, *D = NULL;
    bool exact = false;
    int64_t room = 0; /* no extra money can place more than every need's amount */
    for (size_t i = 0; i < pb.p.n_needs; i++)
        room += pb.need_amount[i];
    if (!(D = malloc((pb.p.n_projects + pb.p.n_needs + 1) * sizeof *D))) {
        rc = TAM_ENOMEM;
        goto out;
    }
    /* from the run's own optimum first: no solve at all */
    if (!s_resolve_only && (rc = s_tight_run(m, &pb, &t, D, &exact)))
        goto out;
    for (size_t q = 0; q < pb.p.n_projects && exact; q++) {
        const tam_match_project_t *p = &m->projects[pb.project_slot[q]];
        int64_t y = m->work.project_dual[p->flow];
        exact = y <= 0 || D[q] == y;
    }
    if (exact) {
        for (size_t q = 0; q < pb.p.n_projects; q++) {
            uint32_t slot = pb.project_slot[q];
            int64_t y = m->work.project_dual[m->projects[slot].flow];
            if (tam_match__stopped(m)) {
                rc = TAM_ESTATE;
                goto out;
            }
            int64_t mf = y > 0 ? s_tight_flow(&t, (uint32_t)q, room) : 0;
            /* y 0: adds nothing, however much; no flow: F(1) < y, and 1 as
             * a bisection says */
            range[slot] = y <= 0 ? -1 : mf ? mf : 1;
        }
        *done = true;
        goto out;
    }
    s_tight_free(&t);
    /* else solve the problem, and take its optimum */
    if ((rc = tam_flow_new(&r.f, &pb.p)))
        goto out;
    /* a stop request ends the re-solves too (within a few pivots) */
    tam_flow_set_cancel(r.f, m->sync.owner == m ? m->sync.stop : NULL);
    if ((rc = tam_flow_run(r.f, &r.s)))
        goto out;
    r.solves++;
    r.base = r.s.objective;
    if ((rc = s_tight_new(&t, &pb.p, r.s.x, r.s.project_dual, r.s.need_dual, D, &exact)))
        goto out;
    /* nor can project q place more than the sum over its pairs of what the
     * pair may carry: beyond that F is flat, and r <= that - b */
    if (!(reach = calloc(pb.p.n_projects + 1, sizeof *reach))) {
        rc = TAM_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < pb.p.n_arcs; k++) {
        const tam_flow_arc_t *a = &pb.p.arcs[k];
        int64_t u = pb.need_amount[a->need];
        reach[a->project] += a->cap < u ? a->cap : u;
    }
    for (size_t q = 0; q < pb.p.n_projects; q++) {
        uint32_t slot = pb.project_slot[q];
        const tam_match_project_t *p = &m->projects[slot];
        int64_t y = p->flow < m->work.n_projects ? m->work.project_dual[p->flow] : 0;
        if (y <= 0) {
            range[slot] = -1; /* adds nothing, however much */
            continue;
        }
        if (tam_match__stopped(m)) {
            rc = TAM_ESTATE;
            goto out;
        }
        if (exact && D[q] == y && !s_resolve_only) {
            int64_t mf = s_tight_flow(&t, (uint32_t)q, room);
            range[slot] = mf ? mf : 1; /* none: F(1) < y, and 1 as a bisection says */
            continue;
        }
        r.q = (uint32_t)q;
        r.b = pb.project_budget[q];
        int64_t hi = reach[q] - r.b; /* < room: sums of parts of need amounts */
        if ((rc = s_range(&r, y, hi < 1 ? 1 : hi < room ? hi : room, &range[slot])) ||
            (rc = tam_flow_set_project_budget(r.f, r.q, r.b)))
            goto out;
    }
    *done = true;
out:
    *solves = r.solves;
    if (rc)
        for (uint32_t j = 0; j < m->nprojects; j++)
            range[j] = 0;
    free(reach);
    free(D);
    s_tight_free(&t);
    tam_flow_solution_free(&r.s);
    tam_flow_destroy(&r.f);
    tam_match__problem_free(&pb);
    return rc;
}

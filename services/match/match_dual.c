/* match_dual.c — canonical dual prices, and the range over which each holds.
 *
 * The solver's duals come from the potentials of its final spanning tree.
 * When the optimum is degenerate (common: a budget spent exactly, a need
 * funded exactly), many duals are optimal, and which one a tree gives
 * depends on the pivots that led to it — on the warm-start history. The
 * run publishes one canonical choice instead (docs/allocation.md, "Duals"):
 *
 *   y = the least project prices over all optimal duals: y_j is then the
 *       right derivative of the optimum in b_j — exactly what one more dollar
 *       for project j adds;
 *   z = given that y, the least need prices: z_i = max(0, max over pairs
 *       below their cap of s_ij - y_j) for a funded need, 0 otherwise.
 *
 * Both depend only on the problem (the set of optimal duals does not depend
 * on which optimal allocation is used to describe it). Computation: the
 * optimal duals are the solutions of difference constraints in (y, -z) given
 * by complementary slackness with the allocation; their least element is a
 * longest-path problem from a zero node, solved by Dijkstra on reduced
 * lengths, the solver's own duals serving as feasible potentials. */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_int.h"

typedef struct {
    uint32_t to;
    int64_t len; /* reduced length, >= 0 */
} s_edge_t;

typedef struct {
    int64_t *key;
    uint32_t *heap, *pos; /* pos: index in heap + 1, 0: not in it */
    uint32_t n;
} s_heap_t;

static void s_swap(s_heap_t *h, uint32_t a, uint32_t b)
{
    uint32_t t = h->heap[a];
    h->heap[a] = h->heap[b];
    h->heap[b] = t;
    h->pos[h->heap[a]] = a + 1;
    h->pos[h->heap[b]] = b + 1;
}

static void s_up(s_heap_t *h, uint32_t i)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (h->key[h->heap[p]] <= h->key[h->heap[i]])
            break;
        s_swap(h, i, p);
        i = p;
    }
}

static void s_down(s_heap_t *h, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < h->n && h->key[h->heap[l]] < h->key[h->heap[s]])
            s = l;
        if (r < h->n && h->key[h->heap[r]] < h->key[h->heap[s]])
            s = r;
        if (s == i)
            return;
        s_swap(h, i, s);
        i = s;
    }
}

static void s_push(s_heap_t *h, uint32_t v, int64_t k)
{
    if (h->pos[v]) {
        if (k < h->key[v]) {
            h->key[v] = k;
            s_up(h, h->pos[v] - 1);
        }
        return;
    }
    h->key[v] = k;
    h->heap[h->n] = v;
    h->pos[v] = ++h->n;
    s_up(h, h->n - 1);
}

static uint32_t s_pop(s_heap_t *h)
{
    uint32_t v = h->heap[0];
    h->pos[v] = 0;
    if (--h->n) {
        h->heap[0] = h->heap[h->n];
        h->pos[h->heap[0]] = 1;
        s_down(h, 0);
    }
    return v;
}

#define S_INF INT64_MAX

int tam_match__canon_duals(tam_match_t *m)
{
    tam_flow_solution_t *s = &m->work; /* the run's own */
    size_t np = s->n_projects, nn = s->n_needs, nv = np + nn + 1;
    uint32_t O = (uint32_t)(np + nn); /* nodes: projects, then needs, then O */
    /* potentials: p(Y_j) = y_j, p(W_i) = -z_i, p(O) = 0 */
    int64_t *pot = malloc(nv * sizeof *pot), *dist = malloc(nv * sizeof *dist);
    uint32_t *deg = calloc(nv + 1, sizeof *deg);
    s_edge_t *e = NULL;
    s_heap_t h = {malloc(nv * sizeof(int64_t)), malloc(nv * sizeof(uint32_t)),
                  calloc(nv, sizeof(uint32_t)), 0};
    /* needs that got nothing beyond their fixed amounts (most of them):
     * x = fixed on each of their arcs, so no edge enters their node but
     * O -> W (unfunded) and a path through it is O -> W -> P_j of length
     * s_ij; one edge O -> P_j of the largest such s_ij stands for all of
     * them (an edge per pair was 12% of an incremental run at 20k x 500) */
    uint8_t *idle = calloc(nn + 1, 1);
    int64_t *omax = calloc(np + 1, sizeof *omax);
    int rc = TAM_ENOMEM;
    if (!pot || !dist || !deg || !h.key || !h.heap || !h.pos || !idle || !omax)
        goto out;
    for (uint32_t ns = 0; ns < m->nneeds; ns++) {
        const tam_match_need_t *n = &m->needs[ns];
        if (n->flow == TAM_MATCH_NONE || n->flow >= nn)
            continue;
        int64_t fsum = 0;
        for (uint32_t k = 0; k < n->narcs; k++) {
            const tam_match_arc_t *a = &n->arcs[k];
            const tam_match_project_t *p = &m->projects[a->project];
            if (a->live && a->flow != TAM_MATCH_NONE && a->flow < s->n_arcs &&
                p->flow != TAM_MATCH_NONE && p->flow < np)
                fsum += a->fixed;
        }
        if (s->need_funded[n->flow] != fsum)
            continue;
        idle[n->flow] = 1;
        if (s->need_flags[n->flow] & TAM_FLOW_NEED_FUNDED)
            continue; /* no edge enters it: unreachable, as before */
        for (uint32_t k = 0; k < n->narcs; k++) {
            const tam_match_arc_t *a = &n->arcs[k];
            const tam_match_project_t *p = &m->projects[a->project];
            if (!a->live || a->flow == TAM_MATCH_NONE || a->flow >= s->n_arcs ||
                p->flow == TAM_MATCH_NONE || p->flow >= np || a->score == 0)
                continue;
            if (a->fixed < tam_match__cap(p->flow_mpn, n, a) && (int64_t)a->score > omax[p->flow])
                omax[p->flow] = a->score;
        }
    }
    for (size_t j = 0; j < np; j++)
        pot[j] = s->project_dual[j];
    for (size_t i = 0; i < nn; i++)
        pot[np + i] = -s->need_dual[i];
    pot[O] = 0;
    /* two passes over the arcs: count the edges per source, then fill */
    size_t ne = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            uint32_t acc = 0;
            for (size_t v = 0; v <= nv; v++) {
                uint32_t d = deg[v];
                deg[v] = acc;
                acc += d;
            }
            ne = acc;
            if (!(e = malloc((ne + 1) * sizeof *e)))
                goto out;
        }
#define S_EDGE(u, v, c)                                                                       \
    do {                                                                                      \
        if (pass == 0)                                                                        \
            deg[u]++;                                                                         \
        else                                                                                  \
            e[deg[u]++] = (s_edge_t){(v), -(pot[u] + (c) - pot[v])};                          \
    } while (0)
        for (size_t j = 0; j < np; j++)
            S_EDGE(O, (uint32_t)j, omax[j]);
        for (size_t i = 0; i < nn; i++)
            if (!idle[i] && !(s->need_flags[i] & TAM_FLOW_NEED_FUNDED))
                S_EDGE(O, (uint32_t)(np + i), 0);
        for (uint32_t ns = 0; ns < m->nneeds; ns++) {
            const tam_match_need_t *n = &m->needs[ns];
            if (n->flow == TAM_MATCH_NONE || n->flow >= nn || idle[n->flow])
                continue;
            uint32_t w = (uint32_t)np + n->flow;
            for (uint32_t k = 0; k < n->narcs; k++) {
                const tam_match_arc_t *a = &n->arcs[k];
                const tam_match_project_t *p = &m->projects[a->project];
                if (!a->live || a->flow == TAM_MATCH_NONE || a->flow >= s->n_arcs ||
                    p->flow == TAM_MATCH_NONE || p->flow >= np)
                    continue;
                int64_t x = s->x[a->flow], cap = tam_match__cap(p->flow_mpn, n, a);
                if (a->score == 0)
                    cap = a->fixed; /* the solver adds nothing to a score-0 pair */
                if (x < cap)
                    S_EDGE(w, p->flow, (int64_t)a->score);
                if (x > a->fixed)
                    S_EDGE(p->flow, w, -(int64_t)a->score);
            }
        }
#undef S_EDGE
    }
    /* back to the start offsets */
    for (size_t v = nv; v > 0; v--)
        deg[v] = deg[v - 1];
    deg[0] = 0;
    for (size_t k = 0; k < ne; k++)
        if (e[k].len < 0) {
            /* the solver's duals do not satisfy complementary slackness:
             * cannot happen (tested); keep them rather than guess */
            tam_warn("run: the solver's duals are not optimal; kept as they are");
            m->st.dual_fallbacks++;
            rc = 0;
            goto out;
        }
    for (size_t v = 0; v < nv; v++)
        dist[v] = S_INF;
    dist[O] = 0;
    s_push(&h, O, 0);
    while (h.n) {
        uint32_t u = s_pop(&h);
        for (uint32_t k = deg[u]; k < deg[u + 1]; k++) {
            int64_t d = dist[u] + e[k].len;
            if (d < dist[e[k].to]) {
                dist[e[k].to] = d;
                s_push(&h, e[k].to, d);
            }
        }
    }
    /* least y: the longest path from O, p(v) - dist(v) */
    for (size_t j = 0; j < np; j++)
        s->project_dual[j] = dist[j] == S_INF ? 0 : pot[j] - dist[j];
    /* least z given y */
    for (size_t i = 0; i < nn; i++)
        s->need_dual[i] = 0;
    for (uint32_t ns = 0; ns < m->nneeds; ns++) {
        const tam_match_need_t *n = &m->needs[ns];
        if (n->flow == TAM_MATCH_NONE || n->flow >= nn ||
            !(s->need_flags[n->flow] & TAM_FLOW_NEED_FUNDED))
            continue;
        int64_t z = 0;
        for (uint32_t k = 0; k < n->narcs; k++) {
            const tam_match_arc_t *a = &n->arcs[k];
            const tam_match_project_t *p = &m->projects[a->project];
            if (!a->live || a->flow == TAM_MATCH_NONE || a->flow >= s->n_arcs ||
                p->flow == TAM_MATCH_NONE || p->flow >= np || a->score == 0)
                continue;
            if (s->x[a->flow] < tam_match__cap(p->flow_mpn, n, a) &&
                (int64_t)a->score - s->project_dual[p->flow] > z)
                z = (int64_t)a->score - s->project_dual[p->flow];
        }
        s->need_dual[n->flow] = z;
    }
    rc = 0;
out:
    free(idle);
    free(omax);
    free(pot);
    free(dist);
    free(deg);
    free(e);
    free(h.key);
    free(h.heap);
    free(h.pos);
    return rc;
}

/* ---- ranges of validity ------------------------------------------------------------ */

/* Largest problem (pairs) whose dual ranges every run computes. */
#define S_RANGE_MAX_ARCS 50000

int tam_match__dual_ranges(tam_match_t *m)
{
    for (uint32_t j = 0; j < m->nprojects; j++)
        m->projects[j].dual_range = 0;
    m->ranges_done = false;
    if (m->flow_arcs > S_RANGE_MAX_ARCS)
        return 0;
    tam_match_problem_t pb;
    int rc = tam_match__problem(m, &pb, false);
    if (rc)
        return rc;
    tam_flow_t *f = NULL;
    tam_flow_solution_t s;
    memset(&s, 0, sizeof s);
    if ((rc = tam_flow_new(&f, &pb.p)) || (rc = tam_flow_run(f, &s)))
        goto out;
    m->st.range_solves++;
    m->st.locked_solves += m->locked;
    __int128 base = s.objective;
    int64_t room = 0; /* no extra money can place more than every need's amount */
    for (size_t i = 0; i < pb.p.n_needs; i++)
        room += pb.need_amount[i];
    for (size_t q = 0; q < pb.p.n_projects; q++) {
        tam_match_project_t *p = &m->projects[pb.project_slot[q]];
        int64_t y = p->flow < m->work.n_projects ? m->work.project_dual[p->flow] : 0;
        int64_t b = pb.project_budget[q];
        if (y <= 0) {
            p->dual_range = -1; /* adds nothing, however much */
            continue;
        }
        /* the optimum is concave in the budget: "gains y per dollar up to
         * b + d" holds for d in [1, range] and fails above; bisection */
        int64_t lo = 1, hi = room;
#define S_HOLDS(d, ok)                                                                         \
    do {                                                                                       \
        if ((rc = tam_flow_set_project_budget(f, (uint32_t)q, b + (d))) ||                     \
            (rc = tam_flow_run(f, &s)))                                                        \
            goto out;                                                                          \
        m->st.range_solves++;                                                                  \
        m->st.locked_solves += m->locked;                                                      \
        ok = s.objective - base == (__int128)y * (d);                                          \
    } while (0)
        bool ok;
        S_HOLDS(hi, ok);
        if (ok) {
            lo = hi;
        } else {
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                S_HOLDS(mid, ok);
                if (ok)
                    lo = mid;
                else
                    hi = mid;
            }
        }
#undef S_HOLDS
        p->dual_range = lo;
        if ((rc = tam_flow_set_project_budget(f, (uint32_t)q, b)))
            goto out;
    }
    m->ranges_done = true;
out:
    tam_flow_solution_free(&s);
    tam_flow_destroy(&f);
    tam_match__problem_free(&pb);
    return rc;
}

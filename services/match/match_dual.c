/* match_dual.c — canonical dual prices (their ranges: match_range.c).
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
#include "match_heap.h"
#include "match_int.h"


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

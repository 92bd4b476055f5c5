/* flow_unique.c — is the allocation the only one tied on all three cost
 * levels? (sol->unique; docs/allocation.md §3). */
#include <stdlib.h>
#include "flow_int.h"
#include "tam/error.h"

static inline int s_lex_zero(s_pot_t x)
{
    return x.a == 0 && x.b == 0 && x.c == 0;
}

static uint32_t s_find(uint32_t *uf, uint32_t x)
{
    while (uf[x] != x) {
        uf[x] = uf[uf[x]];
        x = uf[x];
    }
    return x;
}

/* Residual arcs with reduced cost 0 on all levels: arcs strictly between
 * bounds are usable both ways (merged into components); the others give one
 * direction. The optimum is unique iff the component graph is acyclic and no
 * one-way arc joins a component to itself. (No two arcs join the same pair
 * of nodes, so every such cycle is a real alternative flow.) */
int tam_flow__unique(const struct tam_flow *f, int *unique)
{
    uint32_t n = f->n_nodes, *uf = NULL, *eu = NULL, *ev = NULL, *deg = NULL, *start = NULL;
    uint32_t *adj = NULL, *queue = NULL, ne = 0, cap_e = 64;
    int rc = TAM_ENOMEM;

    *unique = 1;
    uf = malloc(n * sizeof *uf);
    eu = malloc(cap_e * sizeof *eu);
    ev = malloc(cap_e * sizeof *ev);
    if (!uf || !eu || !ev)
        goto fail;
    for (uint32_t v = 0; v < n; v++)
        uf[v] = v;
    /* Tree arcs strictly between bounds join components. */
    for (uint32_t v = 1; v < n; v++) {
        uint32_t e = f->pred[v];
        if (e != S_NONE && f->flow[e] > 0 && f->flow[e] < f->cap[e]) {
            uint32_t a = s_find(uf, f->src[e]), b = s_find(uf, f->tgt[e]);
            if (a != b)
                uf[a] = b;
        }
    }
    /* One-way arcs: tree arcs at a bound, and nonbasic arcs with reduced
     * cost (0,0,0) - listed by the last pricing pass, or found by a scan. */
    uint32_t nt = n, nz = f->zl_overflow ? f->m : f->zl_n;
    for (uint32_t t = 1; t < nt + nz; t++) {
        uint32_t e;
        if (t < nt) {
            e = f->pred[t];
            if (e == S_NONE)
                continue;
        } else {
            e = f->zl_overflow ? t - nt : f->zl[t - nt];
            if (f->state[e] == S_TREE)
                continue;
            if (f->zl_overflow && (f->c1[e] + f->pi[f->src[e]] - f->pi[f->tgt[e]] != 0 ||
                                   !s_lex_zero(tam_flow__rc(f, e))))
                continue;
        }
        int64_t fl = f->flow[e], cp = f->cap[e];
        if (cp == 0 || (f->state[e] == S_TREE && fl > 0 && fl < cp))
            continue;
        uint32_t a = s_find(uf, f->src[e]), b = s_find(uf, f->tgt[e]);
        if (fl != 0) {  /* at its cap: only the backward residual */
            uint32_t x = a;
            a = b;
            b = x;
        }
        if (a == b) {
            *unique = 0;
            rc = 0;
            goto fail;
        }
        if (ne == cap_e) {
            uint32_t *nu = realloc(eu, 2 * cap_e * sizeof *eu);
            if (!nu)
                goto fail;
            eu = nu;
            uint32_t *nv = realloc(ev, 2 * cap_e * sizeof *ev);
            if (!nv)
                goto fail;
            ev = nv;
            cap_e *= 2;
        }
        eu[ne] = a;
        ev[ne] = b;
        ne++;
    }
    /* Kahn's algorithm on the component graph. */
    deg = calloc(n, sizeof *deg);
    start = calloc((size_t)n + 1, sizeof *start);
    adj = malloc((ne ? ne : 1) * sizeof *adj);
    queue = malloc(n * sizeof *queue);
    if (!deg || !start || !adj || !queue)
        goto fail;
    for (uint32_t i = 0; i < ne; i++) {
        start[eu[i] + 1]++;
        deg[ev[i]]++;
    }
    for (uint32_t v = 0; v < n; v++)
        start[v + 1] += start[v];
    for (uint32_t i = 0; i < ne; i++)
        adj[start[eu[i]]++] = ev[i];
    for (uint32_t v = n; v > 0; v--)
        start[v] = start[v - 1];
    start[0] = 0;
    uint32_t qh = 0, qt = 0, seen = 0, comps = 0;
    for (uint32_t v = 0; v < n; v++) {
        if (uf[v] != v)
            continue;
        comps++;
        if (deg[v] == 0)
            queue[qt++] = v;
    }
    while (qh < qt) {
        uint32_t v = queue[qh++];
        seen++;
        for (uint32_t i = start[v]; i < start[v + 1]; i++)
            if (--deg[adj[i]] == 0)
                queue[qt++] = adj[i];
    }
    *unique = seen == comps;
    rc = 0;
fail:
    free(uf);
    free(eu);
    free(ev);
    free(deg);
    free(start);
    free(adj);
    free(queue);
    return rc;
}

/* flow_ns.c — primal network simplex for the allocation solver.
 *
 * Spanning tree: parent, pred (tree arc to the parent, S_NONE = the implicit
 * artificial arc to the root), dir (S_UP: pred goes node->parent), a
 * preorder thread with its reverse, and per node the size of its subtree
 * (succ_num) and its last node in the thread (last_succ), as in LEMON. Trees are kept strongly
 * feasible (every node can send a positive amount to the root along its tree
 * path), which, with the leaving-arc rule below, prevents cycling.
 * Costs and potentials are lexicographic triples (see flow_int.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "flow_int.h"
#include "tam/error.h"

static inline int s_lex_zero(s_pot_t x)
{
    return x.a == 0 && x.b == 0 && x.c == 0;
}

/* Level-3 cost of arc e: the pair hash for project->need arcs, else 0. */
static inline int64_t s_c3(const struct tam_flow *f, uint32_t e)
{
    uint32_t u = f->src[e];
    if (f->node_kind[u] != 1)
        return 0;
    return (int64_t)tam_flow_pair_hash(f->node_id[f->tgt[e]], f->node_id[u]);
}

s_pot_t tam_flow__rc(const struct tam_flow *f, uint32_t e)
{
    uint32_t u = f->src[e], v = f->tgt[e];
    const s_pot23_t *pu = &f->pi23[u], *pv = &f->pi23[v];
    s_pot_t r;
    r.a = f->c1[e] + f->pi[u] - f->pi[v];
    r.b = tam_flow__c2(f, e) + pu->b - pv->b;
    r.c = s_c3(f, e) + pu->c - pv->c;
    return r;
}

/* Levels 2 and 3 of state * rc, for ties at level 1. */
static inline void s_sub_rc(const struct tam_flow *f, uint32_t e, int64_t *r2, int64_t *r3)
{
    const s_pot23_t *pu = &f->pi23[f->src[e]], *pv = &f->pi23[f->tgt[e]];
    int64_t st = f->state[e];
    *r2 = st * (tam_flow__c2(f, e) + pu->b - pv->b);
    *r3 = st * (s_c3(f, e) + pu->c - pv->c);
}

/* Records a nonbasic arc with reduced cost (0,0,0) for tam_flow__unique. */
static void s_zero_arc(struct tam_flow *f, uint32_t e)
{
    if (f->zl_n == f->zl_cap) {
        uint32_t nc = f->zl_cap ? 2 * f->zl_cap : 1024;
        uint32_t *z = realloc(f->zl, nc * sizeof *z);
        if (!z) {
            f->zl_overflow = 1;
            return;
        }
        f->zl = z;
        f->zl_cap = nc;
    }
    f->zl[f->zl_n++] = e;
}

/* Block search (as in Grigoriadis / LEMON): scans blocks of arcs cyclically
 * from the last position and returns the most violating arc (lexicographic)
 * of the first block that has one, or S_NONE at optimality. */
static uint32_t s_find_entering(struct tam_flow *f)
{
    const uint32_t m = f->m;
    const uint32_t *src = f->src, *tgt = f->tgt;
    const int16_t *c1 = f->c1;
    const int8_t *state = f->state;
    const int64_t *pi = f->pi;
    uint32_t best = S_NONE, cnt = f->block;
    int64_t b1 = 0, b2 = 0, b3 = 0;
    int have_sub = 1;  /* b2/b3 hold best's levels 2-3 */
    uint32_t e = f->next_arc;

    f->zl_n = 0;
    f->zl_overflow = 0;
    if (m == 0)
        return S_NONE;
    for (uint32_t k = 0; k < m; k++) {
        int64_t st = state[e];
        if (st) {
            int64_t r1 = st * (c1[e] + pi[src[e]] - pi[tgt[e]]);
            if (r1 < b1) {
                b1 = r1;
                best = e;
                have_sub = 0;
            } else if (r1 == b1) {
                int64_t r2, r3;
                s_sub_rc(f, e, &r2, &r3);
                if (r1 == 0 && r2 == 0 && r3 == 0)
                    s_zero_arc(f, e);
                if (!have_sub) {
                    s_sub_rc(f, best, &b2, &b3);
                    have_sub = 1;
                }
                if (r2 < b2 || (r2 == b2 && r3 < b3)) {
                    best = e;
                    b2 = r2;
                    b3 = r3;
                }
            }
        }
        if (++e == m)
            e = 0;
        if (--cnt == 0) {
            if (best != S_NONE)
                break;
            cnt = f->block;
        }
    }
    f->next_arc = e;
    return best;
}

/* The first common ancestor of u and v (LEMON's findJoinNode: the node
 * with fewer successors is the deeper one's side). */
static uint32_t s_join(const struct tam_flow *f, uint32_t u, uint32_t v)
{
    const uint32_t *succ = f->succ_num, *parent = f->parent;
    while (u != v) {
        if (succ[u] < succ[v])
            u = parent[u];
        else
            v = parent[v];
    }
    return u;
}

/* Moves the subtree hanging at u_out (which contains u_in) so that it hangs
 * at v_in by the arc e_in (S_NONE = u_in's artificial arc, then v_in is the
 * root), re-rooting it at u_in; join is the first common ancestor of v_in
 * and u_out. LEMON's updateTreeStructure: the thread is re-linked only at
 * the stem nodes (u_in .. u_out) and at the ends of their subtrees, found by
 * last_succ; succ_num and last_succ change along the stem and the two paths
 * to join. Cost: O(stem + paths), not the size of the moved subtree. */
static void s_update_tree(struct tam_flow *f, uint32_t u_in, uint32_t v_in, uint32_t u_out,
                          uint32_t e_in, uint32_t join)
{
    uint32_t *parent = f->parent, *pred = f->pred, *thread = f->thread, *rev = f->rev_thread;
    uint32_t *succ = f->succ_num, *last = f->last_succ;
    int8_t *dir = f->dir;
    uint32_t old_rev = rev[u_out], old_succ = succ[u_out], old_last = last[u_out];
    uint32_t v_out = parent[u_out];
    int8_t in_dir = (e_in == S_NONE || f->src[e_in] == u_in) ? S_UP : S_DOWN;

    if (u_in == u_out) {
        parent[u_in] = v_in;
        pred[u_in] = e_in;
        dir[u_in] = in_dir;
        if (thread[v_in] != u_out) {
            uint32_t after = thread[old_last];
            thread[old_rev] = after;
            rev[after] = old_rev;
            after = thread[v_in];
            thread[v_in] = u_out;
            rev[u_out] = v_in;
            thread[old_last] = after;
            rev[after] = old_last;
        }
    } else {
        /* old_rev == v_in: join and v_out coincide */
        uint32_t thread_continue = old_rev == v_in ? thread[old_last] : thread[v_in];
        uint32_t stem = u_in, par_stem = v_in, lst = last[u_in], after = thread[lst];
        uint32_t *dirty = f->buf, nd = 0;
        thread[v_in] = u_in;
        dirty[nd++] = v_in;
        while (stem != u_out) {
            /* the next stem node follows the subtree of stem in the thread */
            uint32_t next_stem = parent[stem], before = rev[stem];
            thread[lst] = next_stem;
            dirty[nd++] = lst;
            /* the subtree of stem leaves its old place */
            thread[before] = after;
            rev[after] = before;
            parent[stem] = par_stem;
            par_stem = stem;
            stem = next_stem;
            lst = last[stem] == last[par_stem] ? rev[par_stem] : last[stem];
            after = thread[lst];
        }
        parent[u_out] = par_stem;
        thread[lst] = thread_continue;
        rev[thread_continue] = lst;
        last[u_out] = lst;
        if (old_rev != v_in) {
            thread[old_rev] = after;
            rev[after] = old_rev;
        }
        for (uint32_t i = 0; i < nd; i++)
            rev[thread[dirty[i]]] = dirty[i];
        /* stem nodes from u_out down to u_in: reversed preds, new sizes */
        uint32_t sc = 0, ls = last[u_out];
        for (uint32_t u = u_out, p = parent[u]; u != u_in; u = p, p = parent[u]) {
            pred[u] = pred[p];
            dir[u] = (int8_t)-dir[p];
            sc += succ[u] - succ[p];
            succ[u] = sc;
            last[p] = ls;
        }
        pred[u_in] = e_in;
        dir[u_in] = in_dir;
        succ[u_in] = old_succ;
    }
    /* last_succ from v_in, and from v_out, towards the root */
    uint32_t up_limit = last[join] == v_in ? join : S_NONE, last_out = last[u_out];
    for (uint32_t u = v_in; u != S_NONE && last[u] == v_in; u = parent[u])
        last[u] = last_out;
    if (join != old_rev && v_in != old_rev) {
        for (uint32_t u = v_out; u != up_limit && last[u] == old_last; u = parent[u])
            last[u] = old_rev;
    } else if (last_out != old_last) {
        for (uint32_t u = v_out; u != up_limit && last[u] == old_last; u = parent[u])
            last[u] = last_out;
    }
    for (uint32_t u = v_in; u != join; u = parent[u])
        succ[u] += old_succ;
    for (uint32_t u = v_out; u != join; u = parent[u])
        succ[u] -= old_succ;
}

/* Adds sigma to the potentials of the subtree rooted at u (one pass along
 * the thread). */
static void s_shift_pot(struct tam_flow *f, uint32_t u, s_pot_t sigma)
{
    const uint32_t *thread = f->thread;
    uint32_t end = thread[f->last_succ[u]];
    int64_t *pi = f->pi;
    s_pot23_t *pi23 = f->pi23;
    if (sigma.b == 0 && sigma.c == 0) {
        for (; u != end; u = thread[u])
            pi[u] += sigma.a;
        return;
    }
    for (; u != end; u = thread[u]) {
        pi[u] += sigma.a;
        pi23[u].b += sigma.b;
        pi23[u].c += sigma.c;
    }
}

/* One pivot with entering arc e, pushing flow forwards (src->tgt) if fwd.
 * The leaving arc is the last blocking arc met when walking the cycle in
 * the direction of flow from the join node (keeps the tree strongly
 * feasible). */
static void s_pivot(struct tam_flow *f, uint32_t e, int fwd)
{
    uint32_t *parent = f->parent, *pred = f->pred;
    int8_t *dir = f->dir;
    int64_t *flow = f->flow, *cap = f->cap;
    if (cap[e] == 0) {  /* score-0 or fully fixed pair: both bounds are 0 */
        f->state[e] = fwd ? S_UPPER : S_LOWER;
        f->pivots++;
        return;
    }
    uint32_t first = fwd ? f->src[e] : f->tgt[e];
    uint32_t second = fwd ? f->tgt[e] : f->src[e];
    int64_t delta = fwd ? cap[e] - flow[e] : flow[e];
    uint32_t join = s_join(f, first, second), u_out = S_NONE;
    int result = 0;

    for (uint32_t u = first; u != join; u = parent[u]) {
        uint32_t p = pred[u];
        int64_t d;
        if (p == S_NONE)
            d = 0;  /* artificial arc: never carries flow */
        else
            d = dir[u] == S_DOWN ? cap[p] - flow[p] : flow[p];
        if (d < delta) {
            delta = d;
            u_out = u;
            result = 1;
        }
    }
    for (uint32_t u = second; u != join; u = parent[u]) {
        uint32_t p = pred[u];
        int64_t d;
        if (p == S_NONE)
            d = S_INF;
        else
            d = dir[u] == S_UP ? cap[p] - flow[p] : flow[p];
        if (d <= delta) {
            delta = d;
            u_out = u;
            result = 2;
        }
    }
    if (delta > 0) {
        flow[e] += fwd ? delta : -delta;
        for (uint32_t u = first; u != join; u = parent[u])
            flow[pred[u]] += dir[u] == S_DOWN ? delta : -delta;
        for (uint32_t u = second; u != join; u = parent[u])
            flow[pred[u]] += dir[u] == S_UP ? delta : -delta;
    }
    f->pivots++;
    if (result == 0) {  /* e itself blocks: it moves to its other bound */
        f->state[e] = fwd ? S_UPPER : S_LOWER;
        return;
    }
    uint32_t u_in = result == 1 ? first : second;
    uint32_t v_in = result == 1 ? second : first;
    uint32_t l = pred[u_out];
    if (l != S_NONE)
        f->state[l] = flow[l] == 0 ? S_LOWER : S_UPPER;
    f->state[e] = S_TREE;
    s_pot_t rc = tam_flow__rc(f, e), sigma;
    if (u_in == f->src[e]) {
        sigma.a = -rc.a;
        sigma.b = -rc.b;
        sigma.c = -rc.c;
    } else {
        sigma = rc;
    }
    s_update_tree(f, u_in, v_in, u_out, e, join);
    s_shift_pot(f, u_in, sigma);
}

void tam_flow__simplex(struct tam_flow *f)
{
    double b = sqrt((double)f->m);
    f->block = b < 10.0 ? 10u : (uint32_t)b;
    if (f->next_arc >= f->m)
        f->next_arc = 0;
    f->cancelled = 0;
    for (uint32_t k = 0;; k++) {
        if ((k & 63) == 0 && f->cancel && __atomic_load_n(f->cancel, __ATOMIC_RELAXED)) {
            f->cancelled = 1;
            break;
        }
        uint32_t e = s_find_entering(f);
        if (e == S_NONE)
            break;
        s_pivot(f, e, f->state[e] == S_LOWER);
    }
}

void tam_flow__mark(struct tam_flow *f, uint32_t e)
{
    if (!f->is_dirty[e]) {
        f->is_dirty[e] = 1;
        f->n_dirty++;
    }
}

/* The node whose pred is the tree arc e. */
static uint32_t s_child(const struct tam_flow *f, uint32_t e)
{
    uint32_t u = f->src[e];
    if (f->pred[u] == e && f->parent[u] == f->tgt[e])
        return u;
    return f->tgt[e];
}

void tam_flow__cost_changed(struct tam_flow *f, uint32_t e, s_pot_t d)
{
    if (f->state[e] != S_TREE)
        return;
    uint32_t u = s_child(f, e);
    int sg = u == f->src[e] ? -1 : 1;
    s_shift_pot(f, u, (s_pot_t){sg * d.a, sg * d.b, sg * d.c});
}

void tam_flow__repair(struct tam_flow *f)
{
    if (f->n_dirty == 0)
        return;
    /* 1. Strong feasibility: a tree arc with no residual towards the root
     *    leaves the tree; its child hangs under the root by its artificial
     *    arc (a degenerate pivot). */
    for (uint32_t e = 0; e < f->m; e++) {
        if (!f->is_dirty[e] || f->state[e] != S_TREE)
            continue;
        uint32_t u = s_child(f, e);
        int ok = f->dir[u] == S_UP ? f->flow[e] < f->cap[e] : f->flow[e] > 0;
        if (ok)
            continue;
        f->state[e] = f->flow[e] == 0 ? S_LOWER : S_UPPER;
        s_pot_t sigma = {-f->pi[u], -f->pi23[u].b, -f->pi23[u].c};
        s_update_tree(f, u, S_ROOT, u, S_NONE, S_ROOT);
        s_shift_pot(f, u, sigma);
    }
    /* 2. Nonbasic arcs must sit at a bound: pivot those between bounds in
     *    their improving direction (keeps strong feasibility). */
    for (uint32_t e = 0; e < f->m; e++) {
        if (!f->is_dirty[e])
            continue;
        f->is_dirty[e] = 0;
        if (f->state[e] == S_TREE)
            continue;
        if (f->flow[e] == 0) {
            f->state[e] = S_LOWER;
        } else if (f->flow[e] == f->cap[e]) {
            f->state[e] = S_UPPER;
        } else {
            s_pot_t rc = tam_flow__rc(f, e);
            s_pivot(f, e, !(rc.a > 0 || (rc.a == 0 && (rc.b > 0 || (rc.b == 0 && rc.c > 0)))));
        }
    }
    f->n_dirty = 0;
}

/* ---- uniqueness: is there a zero-cost residual cycle? ---- */

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

/* flow_ns.c — primal network simplex for the allocation solver.
 *
 * Spanning tree: parent, pred (tree arc to the parent, S_NONE = the implicit
 * artificial arc to the root), dir (S_UP: pred goes node->parent), a
 * preorder thread with its reverse, and per node the size of its subtree
 * (succ_num) and its last node in the thread (last_succ), as in LEMON.
 * Trees are kept strongly feasible (every node can send a positive amount to
 * the root along its tree path), which, with the leaving-arc rule below,
 * prevents cycling.
 *
 * Costs are lexicographic triples (see flow_int.h), solved one level at a
 * time: phase 1 prices every arc on level 1 only and keeps only the level-1
 * potentials, as LEMON does. At its end the arcs with level-1 reduced cost 0
 * (noted by its last pricing pass, plus the tree arcs) are the only ones that
 * can enter later: a pivot on such an arc leaves the level-1 potentials as
 * they are, so the set does not change. Phase 2 computes the level-2
 * potentials from the tree and prices that list on level 2; phase 3 likewise
 * on level 3 with the arcs whose levels 1 and 2 are both 0. The end basis has
 * every reduced cost lexicographically >= 0: the same optimum as pricing the
 * triples at once (docs/allocation.md §3), at the cost of one potential per
 * moved node per pivot.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "flow_int.h"
#include "tam/error.h"

/* Level-3 cost of arc e: the pair hash for project->need arcs, else 0. */
static inline int64_t s_c3(const struct tam_flow *f, uint32_t e)
{
    uint32_t u = f->src[e];
    if (f->node_kind[u] != 1)
        return 0;
    return (int64_t)tam_flow_pair_hash(f->node_id[f->tgt[e]], f->node_id[u]);
}

/* Cost of arc e on level lvl (1..3). */
static inline int64_t s_cost(const struct tam_flow *f, uint32_t e, int lvl)
{
    return lvl == 1 ? f->c1[e] : lvl == 2 ? tam_flow__c2(f, e) : s_c3(f, e);
}

static inline int64_t *s_pot(struct tam_flow *f, int lvl)
{
    return lvl == 1 ? f->pi : lvl == 2 ? f->pi2 : f->pi3;
}

/* Reduced cost of arc e on level lvl. */
static inline int64_t s_rc(const struct tam_flow *f, uint32_t e, int lvl)
{
    const int64_t *p = lvl == 1 ? f->pi : lvl == 2 ? f->pi2 : f->pi3;
    return s_cost(f, e, lvl) + p[f->src[e]] - p[f->tgt[e]];
}

s_pot_t tam_flow__rc(const struct tam_flow *f, uint32_t e)
{
    return (s_pot_t){s_rc(f, e, 1), s_rc(f, e, 2), s_rc(f, e, 3)};
}

/* Sets the level-lvl potentials from the tree: the root's is 0 and every
 * tree arc has reduced cost 0. One pass along the thread (preorder). */
static void s_tree_pot(struct tam_flow *f, int lvl)
{
    int64_t *p = s_pot(f, lvl);
    const uint32_t *thread = f->thread, *parent = f->parent, *pred = f->pred;
    p[S_ROOT] = 0;
    for (uint32_t v = thread[S_ROOT]; v != S_ROOT; v = thread[v]) {
        uint32_t e = pred[v];
        int64_t c = e == S_NONE ? 0 : s_cost(f, e, lvl);
        p[v] = f->dir[v] == S_UP ? p[parent[v]] - c : p[parent[v]] + c;
    }
}

void tam_flow__potentials(struct tam_flow *f)
{
    for (int lvl = 1; lvl <= 3; lvl++)
        s_tree_pot(f, lvl);
}

/* ---- candidate lists ---- */

/* Grows a list of at most max arcs; -1 if it cannot. */
static int s_grow_list(uint32_t **a, uint32_t *cap, uint32_t max)
{
    uint32_t nc = *cap ? 2 * *cap : 1024;
    if (nc > max)
        nc = max;
    if (nc <= *cap)
        return -1;
    uint32_t *p = realloc(*a, (size_t)nc * sizeof *p);
    if (!p)
        return -1;
    *a = p;
    *cap = nc;
    return 0;
}

/* Most entries of a list: the arcs (tests may set a lower limit). */
static inline uint32_t s_lst_max(const struct tam_flow *f)
{
    return f->lst_limit && f->lst_limit < f->m ? f->lst_limit : f->m;
}

/* Appends e to a list of at most max entries; when it cannot, the list is
 * marked incomplete (*over) and the phase that reads it scans every arc. */
static inline void s_push(uint32_t **a, uint32_t *n, uint32_t *cap, int *over, uint32_t max, uint32_t e)
{
    if (*over || *n >= max || (*n == *cap && s_grow_list(a, cap, max))) {
        *over = 1;
        return;
    }
    (*a)[(*n)++] = e;
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

/* Potentials differ from the root's by less than 2^61 (docs/allocation.md
 * §7); the root's own drifts when s_shift_pot shifts the rest of the tree,
 * and is brought back to 0 when it passes f->pot_limit (S_POT_LIMIT). */
static void s_renormalize(struct tam_flow *f, int lvl)
{
    int64_t *p = s_pot(f, lvl), r = p[S_ROOT];
    if (r <= f->pot_limit && r >= -f->pot_limit)
        return;
    for (uint32_t v = 0; v < f->n_nodes; v++)
        p[v] -= r;
}

/* Adds sigma to the potentials of the subtree rooted at u, on the levels
 * where sigma is not 0, in one pass along the thread. Only differences of
 * potentials matter, so when the subtree holds more than half of the nodes
 * the rest of the tree gets -sigma instead: the pass then covers the smaller
 * part (on tam-match's problem the moved subtree is usually the larger one;
 * this cuts the nodes touched per pivot several times over). */
static void s_shift_pot(struct tam_flow *f, uint32_t u, s_pot_t sigma)
{
    const uint32_t *thread = f->thread;
    uint32_t end = thread[f->last_succ[u]];
    int n = (sigma.a != 0) + (sigma.b != 0) + (sigma.c != 0), rest = 0;
    if (n == 0)
        return;
    if ((uint64_t)f->succ_num[u] * 2 > f->n_nodes) {
        uint32_t x = u;
        u = end;
        end = x;
        sigma = (s_pot_t){-sigma.a, -sigma.b, -sigma.c};
        rest = 1;
    }
    if (n == 1) {
        int lvl = sigma.a ? 1 : sigma.b ? 2 : 3;
        int64_t *p = s_pot(f, lvl), d = sigma.a + sigma.b + sigma.c;
        for (; u != end; u = thread[u])
            p[u] += d;
        if (rest)
            s_renormalize(f, lvl);
        return;
    }
    int64_t *pi = f->pi, *pi2 = f->pi2, *pi3 = f->pi3;
    for (; u != end; u = thread[u]) {
        pi[u] += sigma.a;
        pi2[u] += sigma.b;
        pi3[u] += sigma.c;
    }
    if (rest)
        for (int lvl = 1; lvl <= 3; lvl++)
            s_renormalize(f, lvl);
}

/* One pivot with entering arc e, pushing flow forwards (src->tgt) if fwd,
 * keeping the potentials of level lvl (0: all three levels).
 * The leaving arc is the last blocking arc met when walking the cycle in
 * the direction of flow from the join node (keeps the tree strongly
 * feasible). */
static void s_pivot(struct tam_flow *f, uint32_t e, int fwd, int lvl)
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
    s_pot_t rc = {0, 0, 0}, sigma;
    if (lvl == 0)
        rc = tam_flow__rc(f, e);
    else if (lvl == 1)
        rc.a = s_rc(f, e, 1);
    else if (lvl == 2)
        rc.b = s_rc(f, e, 2);
    else
        rc.c = s_rc(f, e, 3);
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

/* Phase 1 pricing (LEMON's block search): scans blocks of arcs cyclically
 * from the last position and returns the most violating arc on level 1 of
 * the first block that has one (the first such on ties), or S_NONE at
 * level-1 optimality. Notes the nonbasic arcs with reduced cost 0 in list 0;
 * the list is complete after the pass that returns S_NONE. */
static uint32_t s_price1(struct tam_flow *f)
{
    const uint32_t m = f->m, *src = f->src, *tgt = f->tgt, block = f->block;
    const int16_t *c1 = f->c1;
    const int8_t *state = f->state;
    const int64_t *pi = f->pi;
    uint32_t best = S_NONE, cnt = block, e = f->next_arc, max = s_lst_max(f);
    uint32_t *l = f->lst[0], ln = 0, lcap = f->lst_cap[0] < max ? f->lst_cap[0] : max;
    int over = 0;
    int64_t bmin = 0;

    for (uint32_t k = 0; k < m; k++) {
        int64_t st = state[e];
        int64_t r = st * (c1[e] + pi[src[e]] - pi[tgt[e]]);
        if (r < bmin) {
            bmin = r;
            best = e;
        } else if (r == 0 && st) {
            if (ln == lcap) {
                f->lst_n[0] = ln;
                s_push(&f->lst[0], &f->lst_n[0], &f->lst_cap[0], &over, max, e);
                l = f->lst[0];
                lcap = f->lst_cap[0] < max ? f->lst_cap[0] : max;
                ln = f->lst_n[0];
            } else {
                l[ln++] = e;
            }
        }
        if (++e == m)
            e = 0;
        if (--cnt == 0) {
            if (best != S_NONE)
                break;
            cnt = block;
        }
    }
    f->lst_n[0] = ln;
    f->lst_over[0] = over;
    f->next_arc = e;
    return best;
}

/* Whether levels below lvl of arc e's reduced cost are 0. */
static inline int s_ties_below(const struct tam_flow *f, uint32_t e, int lvl)
{
    return s_rc(f, e, 1) == 0 && (lvl < 3 || s_rc(f, e, 2) == 0);
}

/* Phase lvl (2 or 3) pricing: block search on level lvl over list lvl - 2
 * (every arc, filtered, if that list is incomplete). Notes the nonbasic
 * arcs with reduced cost 0 in list lvl - 1 (phase 3: in zl, for
 * tam_flow__unique). */
static uint32_t s_price_tie(struct tam_flow *f, int lvl)
{
    const int li = lvl - 2, all = f->lst_over[li];
    const uint32_t *l = f->lst[li], n = all ? f->m : f->lst_n[li];
    const int8_t *state = f->state;
    const int64_t *p = s_pot(f, lvl);
    uint32_t **out = lvl == 2 ? &f->lst[1] : &f->zl;
    uint32_t *on = lvl == 2 ? &f->lst_n[1] : &f->zl_n, *ocap = lvl == 2 ? &f->lst_cap[1] : &f->zl_cap;
    int *oover = lvl == 2 ? &f->lst_over[1] : &f->zl_overflow;
    const uint32_t *c3 = lvl == 3 && !all && f->lst_c3_ok ? f->lst_c3 : NULL;
    uint32_t best = S_NONE, cnt = f->tie_block, idx = f->lst_pos, max = s_lst_max(f);
    int64_t bmin = 0;

    *on = 0;
    *oover = 0;
    if (idx >= n)
        idx = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t e = all ? idx : l[idx];
        int64_t st = state[e];
        if (st && (!all || s_ties_below(f, e, lvl))) {
            int64_t c = c3 ? (int64_t)c3[idx] : s_cost(f, e, lvl);
            int64_t r = st * (c + p[f->src[e]] - p[f->tgt[e]]);
            if (r < bmin) {
                bmin = r;
                best = e;
            } else if (r == 0) {
                s_push(out, on, ocap, oover, max, e);
            }
        }
        if (++idx == n)
            idx = 0;
        if (--cnt == 0) {
            if (best != S_NONE)
                break;
            cnt = f->tie_block;
        }
    }
    f->lst_pos = idx;
    return best;
}

/* Adds the tree arcs to list li (they may leave the tree and enter again);
 * for phase 3 also notes the level-3 cost of every entry (a hash: computed
 * once per run instead of once per pricing pass). */
static void s_add_tree_arcs(struct tam_flow *f, int li)
{
    f->lst_c3_ok = 0;
    if (f->lst_over[li])
        return;
    for (uint32_t v = 1; v < f->n_nodes; v++)
        if (f->pred[v] != S_NONE)
            s_push(&f->lst[li], &f->lst_n[li], &f->lst_cap[li], &f->lst_over[li], s_lst_max(f), f->pred[v]);
    if (li != 1 || f->lst_over[1])
        return;
    uint32_t n = f->lst_n[1];
    if (n > f->lst_c3_cap) {
        uint32_t *c = realloc(f->lst_c3, (size_t)n * sizeof *c);
        if (!c)
            return; /* read the hashes on the fly */
        f->lst_c3 = c;
        f->lst_c3_cap = n;
    }
    for (uint32_t i = 0; i < n; i++)
        f->lst_c3[i] = (uint32_t)s_c3(f, f->lst[1][i]);
    f->lst_c3_ok = 1;
}

static uint32_t s_block(uint32_t n)
{
    double b = sqrt((double)n);
    return b < 10.0 ? 10u : (uint32_t)b;
}

/* Stops on tam_flow_set_cancel's flag, checked every 64 pivots. */
static int s_cancelled(struct tam_flow *f, uint32_t k)
{
    if ((k & 63) == 0 && f->cancel && __atomic_load_n(f->cancel, __ATOMIC_RELAXED)) {
        f->cancelled = 1;
        return 1;
    }
    return 0;
}

void tam_flow__simplex(struct tam_flow *f)
{
    uint32_t k = 0;
    f->block = s_block(f->m);
    if (f->next_arc >= f->m)
        f->next_arc = 0;
    f->cancelled = 0;
    for (;; k++) {
        if (s_cancelled(f, k))
            return;
        uint32_t e = s_price1(f);
        if (e == S_NONE)
            break;
        s_pivot(f, e, f->state[e] == S_LOWER, 1);
    }
    for (int lvl = 2; lvl <= 3; lvl++) {
        s_tree_pot(f, lvl);
        s_add_tree_arcs(f, lvl - 2);
        f->tie_block = s_block(f->lst_over[lvl - 2] ? f->m : f->lst_n[lvl - 2]);
        f->lst_pos = 0;
        for (;; k++) {
            if (s_cancelled(f, k))
                return;
            uint32_t e = s_price_tie(f, lvl);
            if (e == S_NONE)
                break;
            s_pivot(f, e, f->state[e] == S_LOWER, lvl);
        }
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
        s_pot_t sigma = {f->pi[S_ROOT] - f->pi[u], f->pi2[S_ROOT] - f->pi2[u], f->pi3[S_ROOT] - f->pi3[u]};
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
            s_pivot(f, e, !(rc.a > 0 || (rc.a == 0 && (rc.b > 0 || (rc.b == 0 && rc.c > 0)))), 0);
        }
    }
    f->n_dirty = 0;
}

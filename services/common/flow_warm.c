/* flow_warm.c — changes to a live solver (tam_flow_t) between runs: new
 * needs, projects and arcs, and new amounts, budgets, scores, caps and fixed
 * amounts. Each validates first and changes nothing on error; the basis is
 * then repaired by tam_flow__repair at the next run (docs/allocation.md §6). */
#include <stdlib.h>
#include <string.h>
#include "flow_int.h"
#include "tam/error.h"

/* Removes amt of flow from pair arc e and the rest of its cycle
 * S -> P -> N -> T -> S. */
static void s_unroute(struct tam_flow *f, uint32_t e, int64_t amt)
{
    if (amt <= 0)
        return;
    uint32_t pe = f->node_arc[f->src[e]], ne = f->node_arc[f->tgt[e]];
    f->flow[e] -= amt;
    f->flow[pe] -= amt;
    f->flow[ne] -= amt;
    f->flow[f->ts_arc] -= amt;
    tam_flow__mark(f, e);
    tam_flow__mark(f, pe);
    tam_flow__mark(f, ne);
    tam_flow__mark(f, f->ts_arc);
}

static void s_unroute_some(struct tam_flow *f, uint32_t e, int64_t *excess)
{
    int64_t t = f->flow[e] < *excess ? f->flow[e] : *excess;
    if (t > 0) {
        s_unroute(f, e, t);
        *excess -= t;
    }
}

/* Sets the capacity of node v's S->P or N->T arc, first removing any flow
 * above it through v's pair arcs (in arc order). */
static void s_set_node_cap(struct tam_flow *f, uint32_t v, int64_t cap)
{
    uint32_t e = f->node_arc[v];
    int64_t excess = f->flow[e] - cap;
    if (excess > 0) {
        if (f->node_kind[v] == 2) {
            for (uint32_t k = 0; k < f->need_count[v] && excess > 0; k++)
                s_unroute_some(f, tam_flow__mixpos(f, f->need_first[v] + k), &excess);
            for (uint32_t k = f->need_app[v]; k != S_NONE && excess > 0; k = f->app_next[k - f->app_base])
                s_unroute_some(f, k, &excess);
        } else {
            for (uint32_t k = 0; k < f->m && excess > 0; k++)
                if (f->src[k] == v && f->node_kind[f->tgt[k]] == 2)
                    s_unroute_some(f, k, &excess);
        }
    }
    f->cap[e] = cap;
    tam_flow__mark(f, e);
}

static void s_set_arc_cap(struct tam_flow *f, uint32_t e, int64_t cap)
{
    if (f->flow[e] > cap)
        s_unroute(f, e, f->flow[e] - cap);
    f->cap[e] = cap;
    tam_flow__mark(f, e);
}

static int s_id_taken(const struct tam_flow *f, uint8_t kind, uint64_t id)
{
    for (uint32_t v = 3; v < f->n_nodes; v++)
        if (f->node_kind[v] == kind && f->node_id[v] == id)
            return 1;
    return 0;
}

static int s_totals_ok(__int128 tn, __int128 tb)
{
    return (tn < tb ? tn : tb) <= INT64_MAX;
}

static int s_add_node(struct tam_flow *f, uint8_t kind, uint64_t id, int64_t amount, uint32_t *index)
{
    if (!f || amount < 0)
        return TAM_EINVAL;
    if (s_id_taken(f, kind, id))
        return TAM_EINVAL;
    uint32_t ns = kind == 2 ? f->n_needs : f->n_projects, other = kind == 2 ? f->n_projects : f->n_needs;
    if (f->n_nodes + 1 >= S_MAX_NODES || f->m + 1 >= S_MAX_ARCS || (ns + 1 < other ? ns + 1 : other) > S_MAX_SIDE)
        return TAM_ETOOBIG;
    __int128 tn = f->tot_need + (kind == 2 ? amount : 0), tb = f->tot_budget + (kind == 1 ? amount : 0);
    if (!s_totals_ok(tn, tb))
        return TAM_ETOOBIG;
    if (tam_flow__reserve_nodes(f, f->n_nodes + 1) || tam_flow__reserve_arcs(f, f->m + 1) || tam_flow__reserve_app(f, f->m + 1) ||
        tam_flow__reserve_ext_nodes(f, f->n_needs + (kind == 2), f->n_projects + (kind == 1)))
        return TAM_ENOMEM;
    uint32_t v = f->n_nodes++;
    f->node_id[v] = id;
    f->node_kind[v] = kind;
    f->need_first[v] = 0;
    f->need_count[v] = 0;
    f->need_app[v] = S_NONE;
    if (kind == 2) {
        uint32_t i = f->n_needs++;
        f->need_node[i] = v;
        f->need_amount[i] = amount;
        f->need_fixed[i] = 0;
        f->node_ext[v] = i;
        f->node_arc[v] = tam_flow__push_arc(f, v, S_SNK, 0, 0, amount);
        if (index)
            *index = i;
    } else {
        uint32_t j = f->n_projects++;
        f->project_node[j] = v;
        f->project_budget[j] = amount;
        f->project_fixed[j] = 0;
        f->node_ext[v] = j;
        f->node_arc[v] = tam_flow__push_arc(f, S_SRC, v, 0, 0, amount);
        if (index)
            *index = j;
    }
    f->tot_need = tn;
    f->tot_budget = tb;
    tam_flow__hang_new_node(f, v);
    return 0;
}

int tam_flow_add_need(tam_flow_t *f, uint64_t id, int64_t amount, uint32_t *index)
{
    return s_add_node(f, 2, id, amount, index);
}

int tam_flow_add_project(tam_flow_t *f, uint64_t id, int64_t budget, uint32_t *index)
{
    return s_add_node(f, 1, id, budget, index);
}

static int s_pair_exists(const struct tam_flow *f, uint32_t nv, uint32_t pv)
{
    for (uint32_t k = 0; k < f->need_count[nv]; k++)
        if (f->src[tam_flow__mixpos(f, f->need_first[nv] + k)] == pv)
            return 1;
    for (uint32_t k = f->need_app[nv]; k != S_NONE; k = f->app_next[k - f->app_base])
        if (f->src[k] == pv)
            return 1;
    return 0;
}

/* Changes the fixed sums of need i and project j by d (>= or <= 0), with
 * the node capacities that follow. */
static void s_shift_fixed(struct tam_flow *f, uint32_t i, uint32_t j, int64_t d)
{
    if (d == 0)
        return;
    f->need_fixed[i] += d;
    f->project_fixed[j] += d;
    f->tot_need -= d;
    f->tot_budget -= d;
    s_set_node_cap(f, f->need_node[i], f->need_amount[i] - f->need_fixed[i]);
    s_set_node_cap(f, f->project_node[j], f->project_budget[j] - f->project_fixed[j]);
}

int tam_flow_add_arc(tam_flow_t *f, const tam_flow_arc_t *a, uint32_t *index)
{
    if (!f || !a || a->need >= f->n_needs || a->project >= f->n_projects || a->score > TAM_FLOW_SCORE_MAX ||
        a->cap < 0 || a->fixed < 0 || a->fixed > a->cap)
        return TAM_EINVAL;
    uint32_t nv = f->need_node[a->need], pv = f->project_node[a->project];
    if (s_pair_exists(f, nv, pv))
        return TAM_EINVAL;
    int64_t nf, pf;
    if (__builtin_add_overflow(f->need_fixed[a->need], a->fixed, &nf) ||
        __builtin_add_overflow(f->project_fixed[a->project], a->fixed, &pf) ||
        nf > f->need_amount[a->need] || pf > f->project_budget[a->project])
        return TAM_ECONFLICT;
    if (f->n_arcs + 1 >= S_MAX_ARCS - f->n_nodes || f->m + 1 >= S_MAX_ARCS)
        return TAM_ETOOBIG;
    if (tam_flow__reserve_arcs(f, f->m + 1) || tam_flow__reserve_app(f, f->m + 1) ||
        tam_flow__reserve_ext_arcs(f, f->n_arcs + 1, a->fixed != 0))
        return TAM_ENOMEM;
    uint32_t e = tam_flow__push_arc(f, pv, nv, a->score, a->tiebreak, a->score ? a->cap - a->fixed : 0);
    f->app_next[e - f->app_base] = f->need_app[nv];
    f->need_app[nv] = e;
    uint32_t x = f->n_arcs++;
    f->arc_int[x] = e;
    f->arc_cap[x] = a->cap;
    if (f->arc_fixed)
        f->arc_fixed[x] = a->fixed;
    s_shift_fixed(f, a->need, a->project, a->fixed);
    if (index)
        *index = x;
    return 0;
}

int tam_flow_set_need_amount(tam_flow_t *f, uint32_t need, int64_t amount)
{
    if (!f || need >= f->n_needs || amount < 0)
        return TAM_EINVAL;
    if (amount < f->need_fixed[need])
        return TAM_ECONFLICT;
    __int128 tn = f->tot_need + (amount - f->need_amount[need]);
    if (!s_totals_ok(tn, f->tot_budget))
        return TAM_ETOOBIG;
    f->tot_need = tn;
    f->need_amount[need] = amount;
    s_set_node_cap(f, f->need_node[need], amount - f->need_fixed[need]);
    return 0;
}

int tam_flow_set_project_budget(tam_flow_t *f, uint32_t project, int64_t budget)
{
    if (!f || project >= f->n_projects || budget < 0)
        return TAM_EINVAL;
    if (budget < f->project_fixed[project])
        return TAM_ECONFLICT;
    __int128 tb = f->tot_budget + (budget - f->project_budget[project]);
    if (!s_totals_ok(f->tot_need, tb))
        return TAM_ETOOBIG;
    f->tot_budget = tb;
    f->project_budget[project] = budget;
    s_set_node_cap(f, f->project_node[project], budget - f->project_fixed[project]);
    return 0;
}

int tam_flow_set_arc(tam_flow_t *f, uint32_t arc, uint32_t score, uint32_t tiebreak, int64_t cap, int64_t fixed)
{
    if (!f || arc >= f->n_arcs || score > TAM_FLOW_SCORE_MAX || cap < 0 || fixed < 0 || fixed > cap)
        return TAM_EINVAL;
    uint32_t e = f->arc_int[arc];
    uint32_t i = f->node_ext[f->tgt[e]], j = f->node_ext[f->src[e]];
    int64_t old_fixed = f->arc_fixed ? f->arc_fixed[arc] : 0, d = fixed - old_fixed;
    if (f->need_fixed[i] + d > f->need_amount[i] || f->project_fixed[j] + d > f->project_budget[j])
        return TAM_ECONFLICT;
    if (d != 0 && tam_flow__reserve_ext_arcs(f, f->n_arcs, 1))
        return TAM_ENOMEM;
    /* Money already allocated on this pair becomes fixed first. */
    if (d > 0)
        s_unroute(f, e, f->flow[e] < d ? f->flow[e] : d);
    if (f->arc_fixed)
        f->arc_fixed[arc] = fixed;
    f->arc_cap[arc] = cap;
    s_shift_fixed(f, i, j, d);
    s_set_arc_cap(f, e, score ? cap - fixed : 0);
    /* the potentials follow at the next run (tam_flow__potentials) */
    f->c1[e] = (int16_t)-(int32_t)score;
    f->key[e] = tiebreak;
    return 0;
}

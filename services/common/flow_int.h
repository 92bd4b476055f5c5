/* flow_int.h — internals of the allocation solver (flow.c, flow_ns.c,
 * flow_lp.c). Not a public header.
 *
 * Network: node 0 is the artificial root, 1 = S (source), 2 = T (sink),
 * then projects and needs. Arcs: S->P_j (cap = remaining budget), P_j->N_i
 * (one per pair, cost -score, cap = cap - fixed), N_i->T (cap = remaining
 * need amount), T->S (uncapped, cost 0). All supplies are zero: the solver
 * finds a min-cost circulation. Every node also has an implicit artificial
 * arc node->root (cost 0, uncapped) that never carries flow because the root
 * has no outgoing arc; it exists only as the initial spanning tree and to
 * re-attach subtrees during warm repairs (pred == S_NONE).
 *
 * Costs are lexicographic triples (c1, c2, c3): c1 = -score, c2 =
 * tiebreak - 2^32, c3 = h(need_id, project_id) for pair arcs; 0 for the
 * others. Potentials are triples too (one array per level); comparisons are
 * lexicographic. The simplex optimises one level at a time (flow_ns.c).
 */
#ifndef TAM_FLOW_INT_H
#define TAM_FLOW_INT_H
#include <stdint.h>
#include <stddef.h>
#include "tam/flow.h"

#define S_MAX_NODES (UINT32_C(1) << 31)
#define S_MAX_ARCS (UINT32_C(1) << 31)
#define S_MAX_SIDE (UINT32_C(1) << 26)  /* min(needs, projects): keeps potentials in int64 */
#define S_NONE UINT32_MAX
#define S_INF INT64_MAX
#define S_ROOT 0u
#define S_POT_LIMIT (INT64_C(1) << 60) /* default pot_limit */
#define S_SRC 1u
#define S_SNK 2u

enum { S_UPPER = -1, S_TREE = 0, S_LOWER = 1 };
enum { S_DOWN = -1, S_UP = 1 };

typedef struct {
    int64_t a, b, c;
} s_pot_t;

struct tam_flow {
    /* ---- external view (index spaces of the caller) ---- */
    uint32_t n_needs, n_projects, n_arcs;   /* external counts */
    uint32_t cap_needs, cap_projects, cap_ext_arcs;
    uint32_t *need_node;       /* [need] -> internal node */
    uint32_t *project_node;    /* [project] -> internal node */
    int64_t *need_amount;      /* [need] total u_i */
    int64_t *need_fixed;       /* [need] sum of fixed on its arcs */
    int64_t *project_budget;   /* [project] total b_j */
    int64_t *project_fixed;    /* [project] sum of fixed */
    uint32_t *arc_int;         /* [arc] -> internal arc */
    int64_t *arc_cap;          /* [arc] the caller's cap */
    int64_t *arc_fixed;        /* [arc] fixed amount, NULL while all are 0 */
    __int128 tot_need, tot_budget; /* sums of remaining amounts */

    /* ---- internal network ---- */
    uint32_t n_nodes, cap_nodes;  /* including root, S, T */
    uint32_t m, cap_arcs;         /* internal arcs (all searched) */
    uint32_t ts_arc;              /* T->S */
    uint64_t *node_id;            /* [node] caller's id (needs, projects) */
    uint32_t *node_ext;           /* [node] external index of need/project */
    uint32_t *node_arc;           /* [node] its S->P or N->T arc */
    uint8_t *node_kind;           /* [node] 0 root/S/T, 1 project, 2 need */
    uint32_t *need_first, *need_count; /* [node] canonical positions of pair arcs into a need */
    uint32_t mix_n, mix_skip, mix_q, mix_r; /* canonical position -> internal arc (tam_flow__mixpos) */
    uint32_t *need_app;           /* [node] head of list of added pair arcs */
    uint32_t app_base, cap_app;   /* app_next covers internal arcs from app_base */
    uint32_t *app_next;           /* [arc - app_base] next added pair arc of the same need */

    uint32_t *src, *tgt;          /* [arc] */
    int16_t *c1;                  /* [arc] -score */
    uint32_t *key;                /* [arc] tiebreak (level 2 = key - 2^32 on pair arcs) */
    int64_t *cap, *flow;          /* [arc] */
    int8_t *state;                /* [arc] S_LOWER/S_UPPER/S_TREE */

    /* spanning tree */
    uint32_t *parent, *pred, *thread, *rev_thread;
    uint32_t *succ_num;           /* [node] nodes in its subtree, itself included */
    uint32_t *last_succ;          /* [node] last node of its subtree in the thread */
    int8_t *dir;
    int64_t *pi, *pi2, *pi3;      /* [node] potentials, levels 1, 2, 3 */

    /* scratch (n_nodes) */
    uint32_t *buf;

    /* warm repair bookkeeping */
    uint8_t *is_dirty;            /* [arc] flow or cap changed since the last run */
    uint32_t n_dirty;

    /* during a run: the arcs that may enter in phases 2 and 3 (flow_ns.c) */
    uint32_t *lst[2], lst_n[2], lst_cap[2];
    int lst_over[2];              /* the list could not grow: phase scans every arc */
    uint32_t *lst_c3, lst_c3_cap; /* level-3 costs of lst[1] (NULL: computed when read) */
    int lst_c3_ok;                /* lst_c3 holds lst[1]'s costs in this run */
    uint32_t lst_limit;           /* tests: most entries per list (0: no limit) */
    int64_t pot_limit;            /* root potential bound (flow_ns.c s_renormalize); tests lower it */
    uint32_t lst_pos, tie_block;  /* pivot search position and block in phases 2-3 */

    uint32_t *zl;                 /* nonbasic arcs with reduced cost (0,0,0) seen by the */
    uint32_t zl_n, zl_cap;        /* last pricing pass (complete when it found no arc) */
    int zl_overflow;              /* zl could not grow: tam_flow__unique scans all arcs */
    uint32_t next_arc;            /* pivot search position */
    uint32_t block;               /* pivot search block size */
    int solved;                   /* a run has completed */
    const int *cancel;            /* tam_flow_set_cancel: stop while *cancel != 0 */
    int cancelled;                /* the last simplex stopped on it */
    uint64_t pivots;
};

/* The first mix_n internal arcs are the arcs of the initial problem in
 * canonical order, stored "mixed" (as LEMON does): canonical position k goes
 * to column k / rows, row k % rows of a table with mix_skip columns, so that
 * one pivot-search block samples needs all over the problem instead of a few
 * neighbours. A deterministic function of the canonical order. */
static inline uint32_t tam_flow__mixpos(const struct tam_flow *f, uint32_t k)
{
    uint32_t q = f->mix_q, r = f->mix_r, j, t;
    if (k < r * (q + 1)) {
        j = k / (q + 1);
        t = k % (q + 1);
    } else {
        j = r + (k - r * (q + 1)) / q;
        t = (k - r * (q + 1)) % q;
    }
    return j + t * f->mix_skip;
}

/* Level-2 cost of arc e: tiebreak - 2^32 for pair arcs (tail is a project), else 0. */
static inline int64_t tam_flow__c2(const struct tam_flow *f, uint32_t e)
{
    return f->node_kind[f->src[e]] == 1 ? (int64_t)f->key[e] - (INT64_C(1) << 32) : 0;
}

/* flow_ns.c — the network simplex on struct tam_flow. */

/* Pivots until no arc violates optimality. Needs a strongly feasible basis. */
void tam_flow__simplex(struct tam_flow *f);

/* Turns the basis left by warm updates (arcs listed in f->dirty) back into a
 * strongly feasible one: re-hangs tree arcs that lost strong feasibility
 * under the root, and pivots nonbasic arcs whose flow is between bounds. */
void tam_flow__repair(struct tam_flow *f);

/* Marks arc e as changed by a warm update (flow or cap). Cannot fail. */
void tam_flow__mark(struct tam_flow *f, uint32_t e);

/* Sets the potentials of all three levels from the tree (after cost
 * changes; at the start of every run). */
void tam_flow__potentials(struct tam_flow *f);

/* Sets *unique to 1 if no other flow has the same cost on all three levels.
 * Returns 0 or TAM_ENOMEM. */
int tam_flow__unique(const struct tam_flow *f, int *unique);

/* Reduced cost of arc e (lexicographic triple). */
s_pot_t tam_flow__rc(const struct tam_flow *f, uint32_t e);

/* flow.c */
/* Validates p; 0, TAM_EINVAL, TAM_ECONFLICT or TAM_ETOOBIG. */
int tam_flow__validate(const tam_flow_problem_t *p);

/* Grow storage to hold at least the given counts; 0 or TAM_ENOMEM (sizes
 * already held stay valid). */
int tam_flow__reserve_nodes(struct tam_flow *f, uint32_t need);
int tam_flow__reserve_arcs(struct tam_flow *f, uint32_t need);
int tam_flow__reserve_app(struct tam_flow *f, uint32_t need_arcs);
int tam_flow__reserve_ext_arcs(struct tam_flow *f, uint32_t need, int want_fixed);
int tam_flow__reserve_ext_nodes(struct tam_flow *f, uint32_t needs, uint32_t projects);

/* Appends an internal arc at its lower bound; space must be reserved. */
uint32_t tam_flow__push_arc(struct tam_flow *f, uint32_t u, uint32_t v, uint32_t score, uint32_t key, int64_t cap);

/* Hangs the new node v under the root by its artificial arc. */
void tam_flow__hang_new_node(struct tam_flow *f, uint32_t v);

#endif

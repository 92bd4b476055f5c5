/* tam/flow.h — exact allocation of project budgets to needs (min-cost flow).
 *
 * The problem. Needs i have an unfunded amount u_i, projects j an available
 * budget b_j (whole USD, int64 >= 0). Each eligible pair (i, j) is an arc
 * with a score s_ij in 0..TAM_FLOW_SCORE_MAX, a cap c_ij (the most the
 * project may give that need, or TAM_FLOW_UNCAPPED) and a fixed amount
 * f_ij (money already endorsed or committed; a lower bound). The solver
 * returns integers x_ij that
 *
 *     maximise   sum s_ij * x_ij
 *     subject to sum_j x_ij <= u_i,  sum_i x_ij <= b_j,  f_ij <= x_ij <= c_ij.
 *
 * It is a transportation problem, solved exactly by a primal network simplex
 * (strongly feasible trees, block pivot search); integral data give an
 * integral optimum. Amounts and objective are exact integers; the objective
 * is a 128-bit integer.
 *
 * Tie-break (full rule and proof in docs/allocation.md). Among all optimal
 * allocations the solver returns one that, in this order of precedence,
 *   1. maximises sum s_ij * x_ij                        (the objective),
 *   2. maximises sum (2^32 - tiebreak_ij) * x_ij        (more money moved, and
 *      money on pairs with a smaller tiebreak key first),
 *   3. minimises sum h(need_id, project_id) * x_ij      (h: a fixed published
 *      32-bit hash of the two ids, see docs/allocation.md),
 * and a pair with score 0 never receives more than its fixed amount. The
 * result depends only on the ids and data, not on the order of needs,
 * projects or arcs in the input. When the three levels still leave a tie
 * (sol->unique == 0; rare) the returned optimum is still a deterministic
 * function of the input, independent of its order.
 *
 * Duals. need_dual[i] (z_i) and project_dual[j] (y_j) are optimal LP dual
 * prices of the remaining need amount and budget, in score per dollar:
 * one more dollar of budget for project j raises the optimum by y_j when the
 * optimal dual is unique (in degenerate cases by at most y_j). Both are >= 0,
 * y_j > 0 only if the budget is exhausted, z_i > 0 only if the need is fully
 * funded, and for every arc: x > f implies s >= y + z, x < c implies s <= y + z.
 * So sum u z + sum b y + sum c * max(0, s - y - z) (over remaining amounts)
 * equals the objective over remaining amounts: a certificate of optimality.
 *
 * Warm start. A tam_flow_t keeps its basis between runs. Adding needs,
 * projects and arcs and changing scores, caps, fixed amounts, need amounts
 * and budgets re-solve from the previous basis (usually a few pivots). A
 * warm result equals the cold result whenever sol->unique is 1; otherwise it
 * is an equally optimal allocation under the same three levels.
 */
#ifndef TAM_FLOW_H
#define TAM_FLOW_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_FLOW_SCORE_MAX 10000
#define TAM_FLOW_UNCAPPED INT64_MAX

/* One eligible (need, project) pair. need/project are indices into the
 * problem's need and project arrays. */
typedef struct {
    uint32_t need;     /* index of the need */
    uint32_t project;  /* index of the project */
    uint32_t score;    /* 0..TAM_FLOW_SCORE_MAX */
    uint32_t tiebreak; /* among equal-score optima, smaller keys get money first */
    int64_t cap;       /* most this project may give this need; TAM_FLOW_UNCAPPED = none */
    int64_t fixed;     /* amount already fixed (endorsed/committed): 0 <= fixed <= cap */
} tam_flow_arc_t;

/* A problem, as arrays owned by the caller. Ids are stable 64-bit ids: unique
 * among needs and unique among projects; a pair appears at most once. */
typedef struct {
    size_t n_needs, n_projects, n_arcs;
    const uint64_t *need_id;        /* [n_needs] */
    const int64_t *need_amount;     /* [n_needs] u_i, total unfunded amount incl. fixed */
    const uint64_t *project_id;     /* [n_projects] */
    const int64_t *project_budget;  /* [n_projects] b_j, total available incl. fixed */
    const tam_flow_arc_t *arcs;     /* [n_arcs] */
    /* [n_projects] names for the LP export (x_<need_id>_<name>, p_<name>;
     * '-' written as '.', which LP names allow); NULL: project ids */
    const char *const *project_name;
} tam_flow_problem_t;

/* Flags in tam_flow_solution_t. */
enum {
    TAM_FLOW_ARC_AT_CAP = 1,       /* x == cap (a finite cap binds) */
    TAM_FLOW_ARC_FIXED = 2,        /* x == fixed > 0: nothing added beyond the fixed amount */
    TAM_FLOW_NEED_FUNDED = 1,      /* sum_j x_ij == u_i */
    TAM_FLOW_PROJECT_EXHAUSTED = 1 /* sum_i x_ij == b_j */
};

/* A result. Arrays are allocated by tam_flow_solve/tam_flow_run and released
 * by tam_flow_solution_free. Index spaces are those of the problem (plus
 * needs, projects and arcs added later, in the order added). */
typedef struct {
    size_t n_needs, n_projects, n_arcs;
    int64_t *x;                /* [n_arcs] amount per arc, including fixed */
    uint8_t *arc_flags;        /* [n_arcs] TAM_FLOW_ARC_* */
    int64_t *need_funded;      /* [n_needs] sum_j x_ij */
    int64_t *need_dual;        /* [n_needs] z_i >= 0, score per dollar */
    uint8_t *need_flags;       /* [n_needs] TAM_FLOW_NEED_FUNDED */
    int64_t *project_used;     /* [n_projects] sum_i x_ij */
    int64_t *project_dual;     /* [n_projects] y_j >= 0, score per dollar */
    uint8_t *project_flags;    /* [n_projects] TAM_FLOW_PROJECT_EXHAUSTED */
    __int128 objective;        /* sum s_ij * x_ij, exact */
    int unique;                /* 1: no other allocation ties on all three levels */
    uint64_t pivots;           /* simplex pivots of this run (statistics) */
} tam_flow_solution_t;

typedef struct tam_flow tam_flow_t;

/* Solves p once. *sol must be zero-initialised or hold an earlier result
 * (whose arrays are reused). Returns 0; TAM_EINVAL for a bad problem (NULL
 * arrays, negative amounts, score > TAM_FLOW_SCORE_MAX, cap < 0, fixed
 * outside 0..cap, index out of range, duplicate id or pair); TAM_ECONFLICT
 * if fixed amounts exceed a need's amount or a project's budget;
 * TAM_ETOOBIG if sizes or total amounts exceed the solver's exact range
 * (see docs/allocation.md); TAM_ENOMEM. On error *sol is left empty. */
int tam_flow_solve(const tam_flow_problem_t *p, tam_flow_solution_t *sol);

/* Frees the arrays of a result and zeroes it. NULL-safe. */
void tam_flow_solution_free(tam_flow_solution_t *sol);

/* Creates a solver holding a copy of p (p may be freed afterwards); nothing
 * is solved yet. Returns 0 or the errors of tam_flow_solve. */
int tam_flow_new(tam_flow_t **out, const tam_flow_problem_t *p);

/* A deep copy of a solver (problem, basis and all), which can be changed and
 * re-solved warm while f stays as it is. Returns 0; TAM_EINVAL; TAM_ENOMEM. */
int tam_flow_clone(const tam_flow_t *f, tam_flow_t **out);

/* Destroys a solver and sets *f to NULL. NULL-safe. */
void tam_flow_destroy(tam_flow_t **f);

/* Solves the current problem from the current basis (cold the first time).
 * *sol as for tam_flow_solve. Returns 0, TAM_EINVAL, TAM_ENOMEM (then *sol
 * is left empty; the solver stays valid). */
int tam_flow_run(tam_flow_t *f, tam_flow_solution_t *sol);

/* As tam_flow_run, but does not write sol->x and sol->arc_flags (they keep
 * what an earlier run wrote, or stay NULL): for intermediate solves whose
 * allocation is read on a few arcs, with tam_flow_x. Everything else in
 * *sol is filled (n_arcs included). Returns as tam_flow_run. */
int tam_flow_run_lazy(tam_flow_t *f, tam_flow_solution_t *sol);

/* Writes sol->x and sol->arc_flags (only) from the solver's current flow,
 * as tam_flow_run would have: after tam_flow_run_lazy, the run's allocation
 * for the solve that is kept. Returns 0; TAM_EINVAL (nothing solved yet);
 * TAM_ENOMEM (then *sol keeps what it had). */
int tam_flow_fill_x(const tam_flow_t *f, tam_flow_solution_t *sol);

/* The amount on arc (fixed included) in the solver's current flow: after a
 * completed run, that run's allocation. 0 for NULL or an index out of range. */
int64_t tam_flow_x(const tam_flow_t *f, uint32_t arc);

/* The amount a need gets beyond the fixed amounts of its arcs in the
 * solver's current flow (the sum over its arcs of x - fixed, each >= 0):
 * 0 means no arc of it carries new money. 0 for NULL or out of range. */
int64_t tam_flow_need_new(const tam_flow_t *f, uint32_t need);

/* x[k] = tam_flow_x(f, arc[k]) for k < n, faster than one call each (the
 * gathers overlap). Nothing for NULL arguments. */
void tam_flow_x_many(const tam_flow_t *f, const uint32_t *arc, size_t n, int64_t *x);

/* Lets another thread stop a run: while *flag (read atomically) is nonzero,
 * tam_flow_run stops within a few pivots and returns TAM_ESTATE (the basis
 * stays valid; a later run goes on from it). NULL: never stopped. */
void tam_flow_set_cancel(tam_flow_t *f, const int *flag);

/* Adds a need / project with the next index (returned in *index if not
 * NULL). Returns 0; TAM_EINVAL (negative amount, duplicate id);
 * TAM_ETOOBIG (sizes or totals out of range); TAM_ENOMEM. On error nothing
 * changes. */
int tam_flow_add_need(tam_flow_t *f, uint64_t id, int64_t amount, uint32_t *index);
int tam_flow_add_project(tam_flow_t *f, uint64_t id, int64_t budget, uint32_t *index);

/* Adds an arc (indices as in the solver) with the next arc index. Returns 0;
 * TAM_EINVAL (as for the problem, including a duplicate pair);
 * TAM_ECONFLICT (fixed over a need's amount or a budget); TAM_ENOMEM. */
int tam_flow_add_arc(tam_flow_t *f, const tam_flow_arc_t *a, uint32_t *index);

/* Changes a need's total amount / a project's total budget. Returns 0;
 * TAM_EINVAL (bad index, negative); TAM_ECONFLICT (below the fixed amounts
 * on it); TAM_ETOOBIG (totals out of range). On error nothing changes. */
int tam_flow_set_need_amount(tam_flow_t *f, uint32_t need, int64_t amount);
int tam_flow_set_project_budget(tam_flow_t *f, uint32_t project, int64_t budget);

/* Changes an arc's score, tiebreak, cap and fixed amount (its need and
 * project cannot change). Returns 0; TAM_EINVAL; TAM_ECONFLICT. On error
 * nothing changes. */
int tam_flow_set_arc(tam_flow_t *f, uint32_t arc, uint32_t score, uint32_t tiebreak,
                     int64_t cap, int64_t fixed);

/* Current sizes of a solver. */
size_t tam_flow_n_needs(const tam_flow_t *f);
size_t tam_flow_n_projects(const tam_flow_t *f);
size_t tam_flow_n_arcs(const tam_flow_t *f);

/* Bytes currently allocated by the solver object (statistics). */
size_t tam_flow_mem_bytes(const tam_flow_t *f);

/* Writes p in CPLEX LP format (glpsol --lp F reads it): "Maximize obj",
 * one row per need ("n_<need_id>") and per project ("p_<project_id>") that
 * has arcs, bounds per arc, variables x_<need_id>_<project_id> listed in arc
 * order in the objective (so they are glpsol's columns 1..n_arcs). If sol is
 * not NULL, a trailing comment block gives the objective and every nonzero
 * x. Amounts above 2^53 are written exactly but may be rounded by a
 * double-precision reader. Returns 0; TAM_EINVAL (as tam_flow_solve, or sol
 * sized differently); TAM_ECONFLICT; TAM_EIO on a write error. */
int tam_flow_write_lp(FILE *out, const tam_flow_problem_t *p, const tam_flow_solution_t *sol);

/* The same text in pieces, for a service that streams it: a writer keeps
 * its place; each tam_flow_lp_next writes the next items (whole lines)
 * until at least want bytes are written or the text is complete. p and sol
 * must stay valid and unchanged while the writer lives. */
typedef struct tam_flow_lp tam_flow_lp_t;
/* Returns 0; the errors of tam_flow_write_lp before writing; TAM_ENOMEM. */
int tam_flow_lp_new(tam_flow_lp_t **out, const tam_flow_problem_t *p,
                    const tam_flow_solution_t *sol);
/* Returns 1 when the text is complete, 0 when more follows; TAM_EIO. */
int tam_flow_lp_next(tam_flow_lp_t *w, FILE *out, size_t want);
void tam_flow_lp_destroy(tam_flow_lp_t **w);

/* Formats v in decimal into buf (size n >= 41 always suffices). Returns the
 * length, or TAM_ETRUNC if n is too small (buf then holds ""). */
int tam_flow_i128_format(char *buf, size_t n, __int128 v);

/* The level-3 tie-break hash h(need_id, project_id) (exposed for tests and
 * auditors). */
uint32_t tam_flow_pair_hash(uint64_t need_id, uint64_t project_id);

#ifdef __cplusplus
}
#endif
#endif

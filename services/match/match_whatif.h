/* match_whatif.h — what-if scenarios and advice (docs/whatif.md): a
 * scenario is applied to a deep copy of the engine and run there, warm from
 * the live solution; the live engine, its run and its feed stay untouched.
 *
 *   match_clone.c    deep copy of the engine
 *   match_whatif.c   evaluation, comparison, match.whatif
 *   match_whatif_check.c  every problem of a scenario, with its path
 *   match_whatif_apply.c  changes applied as the services' feed records
 *   match_advise.c   match.advise: earmark relaxations, new money
 */
#ifndef TAM_MATCH_WHATIF_H
#define TAM_MATCH_WHATIF_H
#include "match_int.h"

/* The engine whose last run is the published one: the only way what-if
 * code reaches the live model (see /work/NOTES-match.md for threading). */
const tam_match_t *tam_match__whatif_base(const tam_match_t *m);

/* A deep copy of m (model, solver basis, solution, proposals without their
 * published records). Returns 0; TAM_ENOMEM. */
int tam_match__clone(const tam_match_t *m, tam_match_t **out);
/* A deep copy of one project record (earmark lists, donors). */
int tam_match__project_copy(tam_match_project_t *d, const tam_match_project_t *s);

/* The proposals and totals of one run of a copy (the base of a comparison). */
typedef struct {
    tam_match_prop_t *props; /* pub NULL */
    uint32_t n;
    __int128 objective;
    int64_t funded;          /* sum of the proposals' amounts */
    uint64_t run;
    char hash[65];
} tam_match_snap_t;
int tam_match__snap(const tam_match_t *c, tam_match_snap_t *s);
void tam_match__snap_free(tam_match_snap_t *s);

/* A copy of the live engine for scenarios: run date pinned to the live
 * run's, and when feed changes are pending, run once so that its current
 * run reflects them (the base). Returns 0; TAM_ESTATE (no run yet);
 * TAM_ENOMEM; the solver's errors. */
int tam_match__whatif_copy(const tam_match_t *live, tam_match_t **out);
/* The same in two steps, for answering beside the live engine: the deep copy
 * with its run date pinned (in the thread that owns live, while nothing
 * changes it; tens of ms at 20k x 500), then, in any thread, the base run
 * when feed changes were pending (c shares nothing with live). */
int tam_match__whatif_clone(const tam_match_t *live, tam_match_t **out);
int tam_match__whatif_ready(tam_match_t *c);

/* One evaluated scenario. */
typedef struct {
    tam_match_t *c;          /* the copy after the scenario's run (owned) */
    tam_match_snap_t base;   /* the run compared with */
    __int128 obj0, obj1;     /* objective of the base run and of the scenario */
    bool warm;
    int64_t solve_us;        /* copy, apply and run */
    int64_t copy_us, run_us; /* of which: the copy (and a base run), the scenario's run */
    const tam_whatif_change_t *ch; /* the changes (the caller's), for the causes */
    uint32_t nch;
    uint64_t need0;          /* the largest need id before the changes (need_add: need0 + k) */
} tam_match_eval_t;

/* Copies the live engine, applies the changes (already checked:
 * tam_match__whatif_check) and runs the copy. Returns as
 * tam_match__whatif_copy. Free with tam_match__eval_free. */
int tam_match__whatif_eval(const tam_match_t *m, const tam_whatif_change_t *ch, uint32_t n,
                           tam_match_eval_t *out);
/* The same on c, a ready copy (tam_match__whatif_copy) that it takes
 * (destroyed on failure). */
/* Copies made by tam_match__whatif_eval* run lean (match_int.h, lean);
 * false only for benchmarks' A/B (bench_whatif --ab-lean). */
extern bool tam_match__whatif_lean;
int tam_match__whatif_eval_on(tam_match_t *c, const tam_whatif_change_t *ch, uint32_t n,
                              tam_match_eval_t *out);
void tam_match__eval_free(tam_match_eval_t *e);
/* The answer of match.whatif for an evaluated scenario (strings from a or
 * the copy: encode before freeing e). */
int tam_match__whatif_result(const tam_match_eval_t *e, int64_t top, int64_t limit,
                             tam_arena_t *a, tam_whatif_result_t *r);
/* Compares the copy's current run with base into r (counts, money, needs,
 * ranks among the top top; at most limit money and need rows). */
int tam_match__compare(const tam_match_t *c, const tam_match_snap_t *b, int64_t top,
                       int64_t limit, tam_arena_t *a, tam_whatif_result_t *r);
/* Applies changes to an engine copy (run date as in the copy). Returns 0 or
 * an error code (the copy is then unusable). */
int tam_match__whatif_apply(tam_match_t *c, const tam_whatif_change_t *ch, uint32_t n);
/* Runs an engine copy without publishing. */
int tam_match__whatif_run(tam_match_t *c);
/* Checks changes against the model; every problem goes to err with its path
 * ("changes[i].field"). Returns 0 or err->code. */
int tam_match__whatif_check(const tam_match_t *m, const tam_whatif_change_t *ch, uint32_t n,
                            tam_rpc_error_t *err);

/* match.advise for a project (its single-earmark relaxations) or for new
 * unearmarked money. Strings of out point into a. */
int tam_match__advise_project(const tam_match_t *m, const char *project, int64_t limit,
                              tam_arena_t *a, tam_advice_list_t *out, tam_rpc_error_t *err);
int tam_match__advise_money(const tam_match_t *m, int64_t amount, tam_arena_t *a,
                            tam_advice_list_t *out);
/* The same on own, a copy (tam_match__whatif_clone) that they take, instead
 * of a copy of m (m is then not read: NULL). */
int tam_match__advise_project_on(const tam_match_t *m, tam_match_t *own, const char *project,
                                 int64_t limit, tam_arena_t *a, tam_advice_list_t *out,
                                 tam_rpc_error_t *err);
int tam_match__advise_money_on(const tam_match_t *m, tam_match_t *own, int64_t amount,
                               tam_arena_t *a, tam_advice_list_t *out);

/* The base copy of an advice: own (taken, made ready) or a ready copy of m. */
int tam_match__advise_base(const tam_match_t *m, tam_match_t *own, tam_match_t **c);
/* Fills an advice item's figures and needs from c's current run against base. */
int tam_match__advice_item(const tam_match_t *c, const tam_match_snap_t *base, tam_arena_t *a,
                           tam_advice_t *it);

/* Answers match.whatif / match.advise (as tam_match_query). */
int tam_match__whatif_query(tam_match_t *m, const void *body, size_t len, tam_arena_t *a,
                            msgpack_sbuffer *answer, tam_rpc_error_t *err);
int tam_match__advise_query(tam_match_t *m, const void *body, size_t len, tam_arena_t *a,
                            msgpack_sbuffer *answer, tam_rpc_error_t *err);
/* Answers match.whatif or match.advise (msg: TAM_MSG_match_whatif /
 * TAM_MSG_match_advise) on c, a copy from tam_match__whatif_clone, in any
 * thread; always destroys c. Returns as tam_match_query. */
int tam_match__advise_query_on(tam_match_t *c, const void *body, size_t len, tam_arena_t *a,
                               msgpack_sbuffer *answer, tam_rpc_error_t *err);
int tam_match__copy_query(tam_match_t *c, int msg, const void *body, size_t len, tam_arena_t *a,
                          msgpack_sbuffer *answer, tam_rpc_error_t *err);

#endif

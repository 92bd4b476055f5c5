/* money.h — the one money model: from the needs, the projects' received
 * funds, the decisions and the matcher's current proposals, the figures every
 * report, `project show` and `explain` print: requested, proposed, endorsed,
 * committed and unmet per need; proposed, endorsed, committed, available and
 * unallocated per project; and their totals. Pure: no I/O, no allocation
 * beyond a scratch index, the same inputs always give the same figures.
 *
 * Definitions (docs/pipeline.md "One money model"), whole USD:
 *   committed    committed amounts of decisions in state committed or
 *                delivered, whatever became of the need (never dropped);
 *   endorsed     endorsed amounts of decisions in state endorsed;
 *   held         committed + endorsed;
 *   proposed     per pair, what the current proposal gives beyond the amount
 *                its decision fixes (nothing for a declined pair), then capped
 *                by what the need still lacks (open needs only: a withdrawn
 *                need is never given new money) and by what the project still
 *                has (received - its held), pairs taken in (need, project)
 *                order;
 *   requested    an open need's cost, or what decisions hold on it if that is
 *                more (a revision lowered the cost below a commitment); for a
 *                withdrawn need, what decisions still hold on it;
 *   unmet        requested - proposed - endorsed - committed (never below 0
 *                by construction);
 *   available    received - committed - endorsed (a project's money before
 *                proposals; below 0 when received fell under what is held);
 *   unallocated  received - committed - endorsed - proposed.
 * The identities hold exactly, per need, per project and in the totals. */
#ifndef TAM_MONEY_H
#define TAM_MONEY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a decision holds on its pair. */
typedef enum {
    TAM_MONEY_NONE = 0,  /* no decision, or a withdrawn endorsement */
    TAM_MONEY_ENDORSED,  /* endorsed: `endorsed` is held */
    TAM_MONEY_COMMITTED, /* committed or delivered: `committed` is held */
    TAM_MONEY_DECLINED   /* declined: nothing held, nothing proposed */
} tam_money_hold_t;

#define TAM_MONEY_NOWHERE ((size_t)-1) /* pair whose need or project is not given */

typedef struct {
    uint64_t id;
    int64_t cost;
    bool open;
    /* out */
    int64_t requested, proposed, endorsed, committed, unmet;
} tam_money_need_t;

typedef struct {
    const char *id;
    int64_t received;
    /* out */
    int64_t proposed, endorsed, committed, available, unallocated;
} tam_money_project_t;

typedef struct {
    uint64_t need;
    const char *project;
    tam_money_hold_t hold;
    int64_t endorsed, committed; /* the decision's amounts (only the held one counts) */
    int64_t amount;              /* the current proposal's amount (0: none) */
    /* out */
    int64_t proposed, held_endorsed, held_committed;
    size_t ineed, iproject; /* indexes into needs / projects, or TAM_MONEY_NOWHERE */
} tam_money_pair_t;

typedef struct {
    int64_t requested, proposed, endorsed, committed, unmet;
    int64_t received, available, unallocated;
} tam_money_totals_t;

/* Computes every figure above. needs (ids unique) and projects (ids unique)
 * are in any order; a pair may name a need or project not given (its held
 * money still counts in the totals, as on a withdrawn need of cost 0 and a
 * project that received nothing; it is proposed nothing). Several pairs may
 * share a (need, project) only if the caller wants them counted separately.
 * tot may be NULL. Returns 0; TAM_ENOMEM (nothing useful written). */
int tam_money_compute(tam_money_need_t *needs, size_t nn, tam_money_project_t *projects,
                      size_t np, tam_money_pair_t *pairs, size_t nk, tam_money_totals_t *tot);

#ifdef __cplusplus
}
#endif
#endif

/* match.h — the inside of tam-match: the in-memory model of needs,
 * projects, decisions and the planning context fed by the feeds; the
 * eligibility rules and the scoring factors; the allocation by tam_flow with
 * warm starts; runs that rank, diff and publish proposals; the queries and
 * the LP export. The rules and formulas are written down in docs/matching.md.
 *
 * Layers (each usable without the ones above it; the unit tests do so):
 *   match_map.c     small hash maps (u64 -> u32, string -> u32)
 *   match_score.c   weights, factor values, score, points
 *   match_model.c   the model: needs, decisions, routing, resync sweeps, digests
 *   match_project.c projects and the planning context
 *   match_elig.c    compiled earmarks, eligibility of a pair, explanations
 *   match_rank.c    content keys (tie-breaks) and relative priorities
 *   match_alloc.c   arcs per need: rows and columns, the ops for the solver
 *   match_solve.c   the tam_flow problem, warm updates, cold rebuilds, solve
 *   match_dual.c    canonical duals
 *   match_range.c   the ranges of validity of the project duals (max flow)
 *   match_hash.c    the run hash over the canonical inputs
 *   match_run.c     a run: what changed, solve, rank, diff, publish
 *   match_query.c   match.proposals, match.explain, match.gaps, match.run
 *   match_lp.c      match.export_lp: the problem in CPLEX LP format
 *   match_server.c  the service loop, feed clients and server, coalescing,
 *                   the one place where the principal is checked
 *
 * Everything runs in one thread (the service loop's): feed records update the
 * model between polls; a run happens between polls too (it takes milliseconds
 * when warm); queries read the result of the last run.
 */
#ifndef TAM_MATCH_H
#define TAM_MATCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "tam/catalog.h"
#include "tam/config.h"
#include "tam/feed.h"
#include "tam/flow.h"
#include "tam/proto.h"
#include "tam/rpc.h"

/* Version of the scoring and allocation rules. Part of the code version that
 * every run hash covers: bump it whenever a rule or formula changes. */
#define TAM_MATCH_RULES "r3"
#define TAM_MATCH_CODE_VERSION TAM_VERSION "+" TAM_MATCH_RULES

#define TAM_MATCH_NONE UINT32_MAX
#define TAM_MATCH_ID_MAX 32            /* longest project id */
#define TAM_MATCH_PAGE 100             /* page size when a query gives limit 0 */
#define TAM_MATCH_LP_CHUNK (512u * 1024u)
#define TAM_MATCH_MAX_COUNTRIES 256    /* catalogue sizes the bitsets hold */
#define TAM_MATCH_MAX_STANDARDS 256
#define TAM_MATCH_MAX_MODALITIES 64
#define TAM_MATCH_CWORDS (TAM_MATCH_MAX_COUNTRIES / 64)
#define TAM_MATCH_SWORDS (TAM_MATCH_MAX_STANDARDS / 64)

/* ---- hash maps (match_map.c) ------------------------------------------------ */

/* Open addressing, no deletion (maps are rebuilt when their owner compacts). */
typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n; /* cap: power of two or 0 */
} tam_match_map_t;

/* Looks up key; returns its value or TAM_MATCH_NONE. */
uint32_t tam_match_map_get(const tam_match_map_t *m, uint64_t key);
/* Sets key to val (adds or replaces). Returns 0; TAM_ENOMEM. */
int tam_match_map_put(tam_match_map_t *m, uint64_t key, uint32_t val);
/* Empties the map (keeps its memory). */
void tam_match_map_clear(tam_match_map_t *m);
void tam_match_map_free(tam_match_map_t *m);
/* 64-bit hash of a string (for maps keyed by strings: compare the string
 * after a hit, see tam_match_smap_*). */
uint64_t tam_match_str_hash(const char *s, size_t n);

/* ---- scoring (match_score.c) ------------------------------------------------- */

enum {
    TAM_MATCH_F_PRIORITY,
    TAM_MATCH_F_CONTEXT,
    TAM_MATCH_F_THEMATIC,
    TAM_MATCH_F_MODALITY,
    TAM_MATCH_F_URGENCY,
    TAM_MATCH_F_EQUITY,
    TAM_MATCH_F_LDC,
    TAM_MATCH_F_COMPLETENESS,
    TAM_MATCH_NF
};

/* The factor names as on the wire (factor.name), in the order above. */
extern const char *const tam_match_factor_names[TAM_MATCH_NF];

/* Factor values, in units of 1/10000 (0..10000). */
#define TAM_MATCH_ONE 10000
#define TAM_MATCH_TH_EXACT 10000   /* project earmarks the need's exact standard */
#define TAM_MATCH_TH_CATEGORY 6000 /* ... only the standard's category */
#define TAM_MATCH_TH_ANY 3000      /* ... no thematic earmark at all */
#define TAM_MATCH_MOD_EXPLICIT 10000 /* project lists the need's modality */
#define TAM_MATCH_MOD_ANY 5000       /* project funds any modality */
#define TAM_MATCH_CTX_MISSION 5000   /* the country is a mission country */
#define TAM_MATCH_CTX_PRIORITY 5000  /* ... and the standard is a mission priority */

/* The parameters of a run, fixed at start from the config. */
typedef struct {
    int64_t w[TAM_MATCH_NF]; /* weights in units of 1/1000, each >= 0 */
    int64_t wsum;            /* > 0 */
    int64_t horizon_days;    /* urgency horizon, >= 1 */
    int64_t equity_scale;    /* USD, >= 1 */
    int64_t min_amount;      /* smallest new money proposed on a pair, USD (0: none) */
    int64_t min_share;       /* ... as a percentage of the need's cost, 0..100 */
    uint32_t today;          /* fixed run date yyyymmdd; 0: the real date (UTC) */
    int64_t coalesce_ms;
    int64_t sync_wait_ms;
} tam_match_params_t;

/* Fills p from c->match: weights converted once to integers (round(w*1000)),
 * checked non-negative and not all zero. Returns 0; TAM_ECONFIG with err
 * (e.g. every weight rounds to 0, or a bad [match] today). */
int tam_match_params_from_config(const tam_config_t *c, tam_match_params_t *p, char *err,
                                 size_t errlen);

typedef struct {
    int32_t v[TAM_MATCH_NF];
} tam_match_factors_t;

/* round(sum w_k v_k / sum w_k), 0..10000. Exact integer arithmetic. */
int64_t tam_match_score(const tam_match_params_t *p, const tam_match_factors_t *f);
/* The score split into points per factor: floor(w_k v_k / W) each, plus the
 * units lost to rounding given to the largest remainders (earlier factor on
 * equal remainders), so that the points add up to tam_match_score exactly. */
void tam_match_points(const tam_match_params_t *p, const tam_match_factors_t *f,
                      int64_t pts[TAM_MATCH_NF]);
/* The single factors (results in 0..10000); see docs/matching.md. */
int32_t tam_match_f_priority(int64_t priority);
/* The priority factor used: the need's mid-rank among its respondent's open
 * needs, from how many have a lower declared priority (below), the same
 * (equal, the need included) and in all (total): (below + (equal - 1)/2) /
 * (total - 1); 5000 for a respondent's only need, or when all are equal. */
int32_t tam_match_f_priority_rel(int64_t below, int64_t equal, int64_t total);
#define TAM_MATCH_REL_STEP 500 /* relative values move in steps of 1/20 */
int32_t tam_match_f_urgency(uint32_t start, uint32_t today, int64_t horizon_days);
int32_t tam_match_f_equity(int64_t received, int64_t scale);
int32_t tam_match_f_completeness(int64_t percent);

/* ---- the model (match_model.c) ------------------------------------------------ */

enum { TAM_MATCH_FEED_INGEST, TAM_MATCH_FEED_REGISTRY, TAM_MATCH_FEED_PIPELINE, TAM_MATCH_NFEEDS };

/* One eligible (or fixed) pair of a need: an arc of the allocation. */
typedef struct {
    uint32_t project;  /* project slot */
    uint32_t flow;     /* arc index in the solver, TAM_MATCH_NONE if none */
    uint16_t score;    /* 0..10000 */
    uint8_t live;      /* in the problem: eligible, or holding a fixed amount */
    uint8_t eligible;  /* may receive new money */
    uint8_t pending;   /* changed in this run, not yet passed to the solver */
    uint8_t frag;      /* held at its fixed amount in this run: new money below the
                        * minimum proposal (match.min_amount, min_share) */
    int64_t fixed;     /* endorsed or committed amount (lower bound) */
} tam_match_arc_t;

typedef struct {
    uint64_t id;
    uint64_t ident;      /* 40-bit hash of its identity: respondent, country and ref, or
                          * without a ref respondent, country, standard, modality */
    uint64_t group;      /* 40-bit hash of (respondent, country, standard, modality):
                          * its cap group (a split need's parts share one cap) */
    uint64_t key;        /* content key: ident << 24 | rank among needs of the same ident
                          * by content (docs/matching.md, "Ties"); never the arrival order */
    uint64_t flow_key;   /* the key the solver knows it by */
    uint64_t resp;       /* 64-bit hash of the respondent id */
    uint16_t country;    /* catalogue index */
    uint16_t standard;   /* catalogue index */
    uint8_t modality;    /* catalogue index */
    char category;
    uint8_t priority;    /* 1..5, as declared */
    uint16_t urg_v;      /* urgency factor used: the need's mid-rank by days to its
                          * start, clamped to [0, horizon], among its respondent's open
                          * needs (sooner: higher; docs/matching.md) */
    int64_t set_aside;   /* its last dollars left out in this run: only fragments
                          * could fund them (match_solve.c) */
    int64_t gnum, gden;  /* its share of a per-need cap: its cost over the costs of
                          * the open needs of the same identity (a split need) */
    uint16_t prio_v;     /* priority factor used: the need's mid-rank among its
                          * respondent's open needs (0..10000, docs/matching.md) */
    uint8_t completeness;/* 0..100, used: computed from the answers */
    uint8_t completeness_declared; /* 0..100, as the reply declared it */
    uint8_t answered;    /* standards its reply answered (0: not known) */
    bool open;           /* present and open */
    bool in_run;         /* open in the last run (its problem) */
    bool dirty;          /* row must be recomputed */
    int64_t fixed_sum;   /* sum of fixed amounts on its live arcs */
    int64_t fixed_all;   /* sum of fixed amounts of all its decisions (any project) */
    uint32_t start, end; /* wanted window */
    int64_t cost;
    uint32_t gen;        /* feed generation it was last seen in */
    uint32_t dec_head;   /* first decision on it (decision slot), or NONE */
    int64_t npart;       /* sum of the need-level weighted factors (w * v) */
    uint32_t flow;       /* need index in the solver, or NONE */
    int64_t flow_amount; /* its amount in the solver */
    tam_match_arc_t *arcs; /* sorted by project slot */
    uint32_t narcs, cap_arcs;
    uint8_t digest[32];  /* of its canonical record (run hash) */
} tam_match_need_t;

typedef struct {
    char id[TAM_MATCH_ID_MAX + 1];
    uint64_t key;          /* numeric id for tam_flow: 63 bits of SHA-256(id) */
    bool present;          /* known to the registry */
    bool in_run;           /* present in the last run (its problem) */
    bool dirty;            /* column must be recomputed */
    tam_project_status_t status;
    int64_t received;
    uint32_t start, end;
    uint32_t gen;
    /* earmarks as given (for explanations and the hash) */
    uint16_t *e_countries; uint32_t ne_countries;   /* catalogue indices */
    char (*e_groups)[8]; uint32_t ne_groups;
    uint16_t *e_regions; uint32_t ne_regions;
    char e_categories[5];                           /* NUL-terminated */
    uint16_t *e_standards; uint32_t ne_standards;   /* catalogue indices */
    uint8_t *e_modalities; uint32_t ne_modalities;  /* catalogue indices */
    bool post_conflict_only;
    int64_t max_per_need;   /* 0: none */
    char (*donors)[TAM_MATCH_ID_MAX + 1]; uint32_t ndonors;
    /* compiled earmarks (match_elig.c) */
    uint64_t geo[TAM_MATCH_CWORDS];          /* countries inside the geographic earmarks */
    int16_t th[TAM_MATCH_MAX_STANDARDS];     /* thematic value per standard, -1: outside */
    int16_t md[TAM_MATCH_MAX_MODALITIES];    /* modality value per modality, -1: outside */
    /* per run */
    int64_t committed;      /* committed/delivered on all its decisions */
    int64_t committed_out;  /* ... on pairs that are not arcs (need not open) */
    int64_t fixed_arcs;     /* sum of fixed amounts on its live arcs */
    int64_t available;      /* received - committed */
    bool can_fund;          /* active and available > 0 (as of the last recompute) */
    int64_t eligible_needs;
    uint32_t flow;          /* project index in the solver, or NONE */
    int64_t flow_budget;
    int64_t flow_mpn;       /* max_per_need the solver's caps were set with */
    int64_t dual_range;     /* extra USD over which its dual holds (0: not computed,
                             * -1: any amount) */
    int64_t set_aside;      /* money of this run below the minimum proposal that could
                             * not be placed in whole proposals (match_solve.c) */
    uint8_t digest[32];
} tam_match_project_t;

typedef struct {
    uint64_t need;
    char project[TAM_MATCH_ID_MAX + 1];
    char country[4];
    tam_decision_state_t state;
    int64_t endorsed, committed;
    uint32_t gen;
    bool present;
    uint32_t next;         /* next decision on the same need, or NONE */
    uint8_t digest[32];
} tam_match_decision_t;

/* The fixed amount a decision puts on its pair (0 unless endorsed, committed
 * or delivered). */
int64_t tam_match_decision_fixed(const tam_match_decision_t *d);

typedef struct {
    bool present;
    uint32_t valid_from;
    char operation[101];
    uint64_t prio[TAM_MATCH_SWORDS]; /* priority standards */
} tam_match_mission_t;

/* A change a run must pass to the solver (match_alloc.c). */
typedef struct {
    uint32_t need, project; /* need slot, project slot */
    int64_t old_fixed;      /* the solver's fixed amount before this run */
    uint16_t old_score;     /* and the pair's score, live and eligible flags (quiet runs) */
    uint8_t old_live, old_elig;
} tam_match_op_t;

typedef struct tam_match_prop tam_match_prop_t;
typedef struct tam_match tam_match_t;

/* Feed sequences a run reflects. */
typedef struct {
    uint64_t seq[TAM_MATCH_NFEEDS];
    uint64_t epoch[TAM_MATCH_NFEEDS]; /* of the feed the sequence belongs to (0: unknown) */
} tam_match_seqs_t;

/* Receives what a run publishes: the run header ("run") first, then each
 * changed proposal ("prop/<ISO3>/<CAT>"). Returns 0 or a negative code
 * (logged; the run is still complete). */
typedef int (*tam_match_publish_fn)(const char *topic, const void *body, size_t len, void *arg);

/* Running tam_match_run in a worker thread while another thread answers
 * queries (tam-match, match_server.c). The run calls unlock() before work
 * that touches only the solver and the solution being computed (the pure
 * solve), lock() after it, and yield() between rows of long recomputations
 * (let waiting readers in); the caller holds its lock around the whole run
 * and its readers take it for reading. While *stop is nonzero the run stops
 * soon (mid-solve included) with TAM_ESTATE; the next run starts over. What
 * readers may see during a run: the published run's proposals, header and
 * solution (m->sol, indexed as the model indexes the solver), and rows of
 * the model that the run may already have recomputed. */
typedef struct {
    const struct tam_match *owner;   /* the engine these apply to (copies: not them) */
    void (*unlock)(void *arg);
    void (*lock)(void *arg);
    void (*yield)(void *arg);
    void *arg;
    const int *stop;                 /* read atomically; NULL: never */
} tam_match_sync_t;
void tam_match_set_sync(tam_match_t *m, const tam_match_sync_t *sync);

/* Creates an empty engine over a loaded catalogue (which must outlive it).
 * Returns 0; TAM_EINVAL (NULL, catalogue larger than the bitsets hold);
 * TAM_ENOMEM. */
int tam_match_new(tam_match_t **out, const tam_catalog_t *cat, const tam_match_params_t *p);
void tam_match_destroy(tam_match_t **m);

/* Apply one feed record (the body as published). Bad records are counted and
 * ignored (return TAM_EINVAL etc.; the model is unchanged). Returns 0 also
 * when the record changes nothing the matcher uses. */
int tam_match_apply_need(tam_match_t *m, const void *body, size_t len);
int tam_match_apply_project(tam_match_t *m, const void *body, size_t len);
int tam_match_apply_context(tam_match_t *m, const void *body, size_t len);
int tam_match_apply_decision(tam_match_t *m, const void *body, size_t len);
/* Routes a record by topic (need/, project/, context, decision/; others are
 * ignored). An empty body for project/<id> removes the project. */
int tam_match_apply(tam_match_t *m, int feed, const char *topic, size_t topic_len,
                    const void *body, size_t len);

/* A feed is reloading its snapshot: records not seen again before
 * tam_match_feed_synced(feed) are removed then. */
void tam_match_feed_reset(tam_match_t *m, int feed);
void tam_match_feed_synced(tam_match_t *m, int feed);

/* True if something changed since the last run. */
bool tam_match_dirty(const tam_match_t *m);

/* Runs the matcher on the current model (date: yyyymmdd, 0 for the
 * configured/real date) and passes the run header and the changed proposals
 * to publish. Returns 0; TAM_ENOMEM; the solver's errors (the previous run
 * then stays current and the next run retries from scratch). */
int tam_match_run(tam_match_t *m, const tam_match_seqs_t *seqs, tam_match_publish_fn publish,
                  void *arg);

/* Answers a read (match.proposals, match.explain, match.gaps, match.run,
 * match.export_lp) from the last run: 0 with *answer filled, or 0 with
 * err->code set (refused: e.g. TAM_ENOTFOUND, TAM_ESTATE before the first
 * run), or a negative code (TAM_ENOMEM). */
int tam_match_query(tam_match_t *m, int msg_id, const void *body, size_t len, tam_arena_t *a,
                    msgpack_sbuffer *answer, tam_rpc_error_t *err);

/* Streams the feed snapshot: the current run header and the last published
 * record of every current proposal whose topic starts with prefix. */
int tam_match_snapshot(tam_match_t *m, const char *prefix, tam_feed_emit_fn emit, void *ctx);

/* Run ids. The next run gets max(last run id, floor) + 1; tam-match sets the
 * floor at start from the counter it keeps under its data directory, so that
 * run ids never repeat or go backwards across restarts (docs/matching.md,
 * "Run ids"). set_run_floor never lowers the next id. */
void tam_match_set_run_floor(tam_match_t *m, uint64_t last);
uint64_t tam_match_next_run_id(const tam_match_t *m);

/* The last run's id (0: none yet) and hash (hex, "" before the first run). */
uint64_t tam_match_run_id(const tam_match_t *m);
const char *tam_match_run_hash(const tam_match_t *m);
/* The date (yyyymmdd) the last run was computed for, 0 before the first. */
uint32_t tam_match_run_date(const tam_match_t *m);

/* Writes the current run's problem and solution in CPLEX LP format.
 * Returns 0; TAM_ESTATE (no run yet); TAM_EIO; TAM_ENOMEM. */
int tam_match_write_lp(tam_match_t *m, FILE *out);

/* Statistics of the engine, for logs and the benchmark. */
typedef struct {
    uint64_t runs, full_runs, warm_runs, cold_solves, rebuilds;
    uint64_t bad_records, ignored_records;
    uint64_t dual_fallbacks;   /* runs whose duals could not be made canonical (never seen) */
    int64_t needs, projects, pairs, proposals;
    int64_t last_solve_us, last_run_us, last_score_us;
    uint64_t last_pivots;
    int64_t last_changed;
    bool last_warm;
    uint64_t quiet_runs;       /* runs whose new needs changed nothing of the allocation:
                                * no re-solve (match_solve.c, "quiet runs") */
    bool last_quiet;
    int64_t last_ranges_us;    /* the last run's dual ranges (match_dual.c), 0: none */
    uint64_t range_solves;     /* solves made for dual ranges, in all */
    uint64_t locked_solves;    /* solves made while a run held the write lock (its
                                * sync hooks): readers waited for each; 0 expected */
} tam_match_stats_t;
void tam_match_stats(const tam_match_t *m, tam_match_stats_t *out);

#endif

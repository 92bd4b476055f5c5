/* match_int.h — the engine's state, shared by the match_*.c files only.
 * See match.h for the layers and docs/matching.md for the rules. */
#ifndef TAM_MATCH_INT_H
#define TAM_MATCH_INT_H
#include "match.h"

/* Need ids are at most 2^44 - 1 and project slots below 2^20, so that a pair
 * fits one 64-bit map key (TAM_MATCH_PAIR_KEY). */
#define TAM_MATCH_NEED_ID_MAX ((1ULL << 44) - 1)
#define TAM_MATCH_PROJECTS_MAX (1u << 20)
#define TAM_MATCH_PAIR_KEY(need_id, slot) (((uint64_t)(need_id) << 20) | (uint64_t)(slot))

/* A proposal of the current (or previous) run. */
struct tam_match_prop {
    uint64_t need_id;
    uint64_t key;            /* the need's content key (ranking tie-break) */
    uint32_t project;        /* project slot (slots are never reused) */
    uint16_t country, standard;
    uint8_t modality;
    char category;
    uint16_t score;
    bool fixed_only;         /* held only by a decision: not eligible for new money */
    int32_t f[TAM_MATCH_NF]; /* factor values */
    int64_t amount, fixed;
    tam_proposal_state_t state;
    int64_t rank;
    uint64_t run;            /* run that last published it */
    tam_change_reason_t reason; /* in the current run */
    uint8_t *pub;            /* the record last published (feed snapshot) */
    size_t pub_len;
};

/* Why a pair is not eligible: the first rule it fails (docs/matching.md). */
typedef enum {
    TAM_MATCH_ELIGIBLE = 0,
    TAM_MATCH_X_PROJECT,   /* project not active, or no money available */
    TAM_MATCH_X_NEED,      /* need not open */
    TAM_MATCH_X_GEO,       /* country outside the geographic earmarks */
    TAM_MATCH_X_THEMATIC,  /* standard and category outside the thematic earmarks */
    TAM_MATCH_X_MODALITY,  /* modality outside the modality earmarks */
    TAM_MATCH_X_CONFLICT,  /* post-conflict only, and not a mission country */
    TAM_MATCH_X_WINDOW,    /* windows do not overlap */
    TAM_MATCH_X_DECLINED,  /* the pair was declined */
    TAM_MATCH_X__COUNT
} tam_match_excl_t;

struct tam_match {
    const tam_catalog_t *cat;
    tam_match_params_t par;
    size_t ncountries, nstandards, nmodalities;
    uint16_t cat_nstd[26];   /* standards per category (A..Z) in the catalogue */
    tam_arena_t *scratch;    /* decoded feed records, reset per record */

    /* needs, by slot; need_map: id -> slot */
    tam_match_need_t *needs;
    uint32_t nneeds, cap_needs;
    tam_match_map_t need_map;
    /* projects, by slot (never reused); project_map: str hash(id) -> slot */
    tam_match_project_t *projects;
    uint32_t nprojects, cap_projects;
    tam_match_map_t project_map;
    /* decisions, by slot; dec_map: str hash("need/project") -> slot;
     * dec_need: need id -> first decision slot (chained by next) */
    tam_match_decision_t *decs;
    uint32_t ndecs, cap_decs;
    tam_match_map_t dec_map, dec_need;
    /* planning context, per country (catalogue index) */
    tam_match_mission_t missions[TAM_MATCH_MAX_COUNTRIES];
    bool ctx_present;
    uint32_t ctx_gen;
    uint8_t ctx_digest[32];
    uint64_t mission_on[TAM_MATCH_CWORDS]; /* valid on run_date */

    uint32_t gen[TAM_MATCH_NFEEDS];

    /* change tracking */
    bool full;               /* recompute every pair */
    bool changed;            /* anything changed since the last run */
    uint32_t *dirty_needs, ndirty_needs, cap_dirty_needs;
    uint32_t *dirty_projects, ndirty_projects, cap_dirty_projects;
    int64_t country_fixed[TAM_MATCH_MAX_COUNTRIES]; /* equity input of the last run */
    uint32_t run_date;

    /* allocation */
    tam_flow_t *flow;
    tam_flow_solution_t sol;  /* the published run's solution (queries read it) */
    tam_flow_solution_t work; /* the solution a run computes; swapped with sol when the run is
                               * published */
    bool rebuild;            /* next run solves cold from a fresh problem */
    tam_match_op_t *ops;
    uint32_t nops, cap_ops;
    uint64_t flow_arcs;      /* arcs in the solver */
    uint64_t *frags;         /* arcs held back in the last run: need slot << 32 | project slot */
    uint32_t nfrags, cap_frags;
    __int128 lp_bound;       /* objective before anything was held back */
    uint32_t min_rounds;     /* re-solves for the minimum in the last run */
    int64_t set_aside;       /* sum of the projects' set_aside in the last run */
    bool ranges_done;        /* the last run computed dual ranges */
    /* the solver's project duals of each solve of the last complete solve
     * sequence (round 0 = before anything is held back), by project slot:
     * [rd_rounds x rd_np]; rd_ok: all of them unique optima (match_solve.c,
     * "quiet runs"). NULL / false in a copy (match_clone.c): no quiet run. */
    int64_t *rduals;
    uint32_t rd_np, rd_rounds, rd_cap;
    int64_t *rzduals;        /* the need duals likewise: [rd_rounds x rd_nn] */
    uint32_t rd_nn, rz_cap;
    bool rd_ok, rd_unique;
    bool canon_kept;         /* this run's duals are already canonical (a quiet run) */
    bool caps_moved;         /* a cap group's shares moved since the last run */
    /* explanations' money model, kept per run and inputs (match_money.c);
     * mgen moves with every change of the inputs. NULL in a copy. */
    struct tam_match_money *money;
    uint64_t mgen;
    uint64_t live_arcs;      /* live arcs over all needs */

    /* the last run */
    uint64_t run_id;
    uint64_t run_floor;      /* the next run id is above it (tam_match_set_run_floor) */
    char hash[65];
    uint32_t date;
    uint64_t seqs[TAM_MATCH_NFEEDS], epochs[TAM_MATCH_NFEEDS];
    uint8_t *header;         /* its encoded run header */
    size_t header_len;
    tam_match_prop_t *props; /* current proposals, in rank order */
    uint32_t nprops, cap_props;
    tam_match_map_t prop_map;/* TAM_MATCH_PAIR_KEY -> index in props */
    int64_t requested, funded, unfunded;
    char *lp;                /* LP export being streamed: text made, not yet sent */
    size_t lp_len;
    uint64_t lp_run;         /* the run it describes */
    struct tam_match_lp *lp_state; /* its writer and problem (match_lp.c); NULL in a copy */

    tam_match_stats_t st;

    /* a run in a worker thread (tam_match_set_sync); only for this engine:
     * a copy of it (whatif) has sync.owner != itself and runs unsynchronised */
    tam_match_sync_t sync;

    /* a what-if copy being evaluated (match_whatif.c sets it once the copy is
     * ready): its runs skip what no what-if answer reads (canonical duals,
     * dual ranges, the encoded proposal records); never set on a live engine */
    bool lean;
    /* the run holds the write lock of its sync hooks (from tam_match_run's
     * start to tam_match__unlock, and again from tam_match__lock): what it
     * does meanwhile, readers wait for (st.locked_solves counts solves) */
    bool locked;
};

/* Synchronisation points of a run (no-ops unless m->sync.owner == m). */
void tam_match__unlock(tam_match_t *m);  /* before work that touches only m->flow / m->work */
void tam_match__lock(tam_match_t *m);    /* after it */
void tam_match__yield(tam_match_t *m);   /* between rows of a long recomputation */
/* True if the run must stop (sync.stop set). */
bool tam_match__stopped(const tam_match_t *m);

/* ---- match_model.c ---- */
/* Slot of a need / project / decision by id, or TAM_MATCH_NONE. */
uint32_t tam_match__need_slot(const tam_match_t *m, uint64_t id);
uint32_t tam_match__project_slot(const tam_match_t *m, const char *id);
/* Catalogue index of a country / standard / modality code, or -1. */
int tam_match__country_ix(const tam_match_t *m, const char *iso3);
int tam_match__standard_ix(const tam_match_t *m, const char *id);
int tam_match__modality_ix(const tam_match_t *m, const char *code);
const tam_country_t *tam_match__country(const tam_match_t *m, uint32_t ix);
const tam_standard_t *tam_match__standard(const tam_match_t *m, uint32_t ix);
const tam_modality_t *tam_match__modality(const tam_match_t *m, uint32_t ix);
/* Marks a need's row / a project's column for recomputation. Returns 0;
 * TAM_ENOMEM. */
int tam_match__dirty_need(tam_match_t *m, uint32_t slot);
int tam_match__dirty_project(tam_match_t *m, uint32_t slot);
/* Grows *v (elements of elem bytes, zeroed) to hold need. Returns 0;
 * TAM_ETOOBIG; TAM_ENOMEM. */
int tam_match__grow(void **v, uint32_t *cap, uint32_t need, size_t elem);
/* Canonical msgpack pieces of record digests, and the digest itself. */
void tam_match__pack_str(msgpack_packer *pk, const char *s);
void tam_match__pack_date(msgpack_packer *pk, uint32_t d);
void tam_match__digest(const msgpack_sbuffer *sb, uint8_t d[32]);
/* Decodes a feed record of schema s into obj (from m->scratch, reset
 * first); a refusal is counted and logged with what. Returns the codec's
 * code. */
int tam_match__decode(tam_match_t *m, const tam_schema_t *s, const void *body, size_t len,
                      void *obj, const char *what);

/* ---- match_project.c ---- */
/* True if id is a usable project id: 2..32 of [A-Za-z0-9_-]. */
bool tam_match__id_ok(const char *id);
/* Frees what a project record owns (not the slot). */
void tam_match__project_free(tam_match_project_t *p);
/* The registry no longer knows the project / the context. */
int tam_match__project_remove(tam_match_t *m, const char *id);
void tam_match__context_clear(tam_match_t *m);

/* ---- match_elig.c ---- */
/* True if p lists a standard of category: then a listed category means
 * only its listed standards (docs/matching.md, eligibility rule 4). */
bool tam_match__narrowed(const tam_match_t *m, const tam_match_project_t *p, char category);
/* Compiles p's earmarks into p->geo, p->th, p->md. */
void tam_match__compile(const tam_match_t *m, tam_match_project_t *p);
/* Recomputes mission_on for the date. */
void tam_match__missions_on(tam_match_t *m, uint32_t date);
/* The first rule (need, project) fails, or TAM_MATCH_ELIGIBLE. declined:
 * the pipeline declined the pair. */
tam_match_excl_t tam_match__elig(const tam_match_t *m, const tam_match_need_t *n,
                                 const tam_match_project_t *p, bool declined);
/* The factor values of the pair on date. */
void tam_match__factors(const tam_match_t *m, const tam_match_need_t *n,
                        const tam_match_project_t *p, uint32_t date, tam_match_factors_t *f);
/* The sum of the need-level weighted factors (w * v) on date. */
int64_t tam_match__npart(const tam_match_t *m, const tam_match_need_t *n, uint32_t date);
/* Lines explaining eligibility, each from a, into out (at most max): every
 * rule passed, or the passed ones and then the failing one. Returns the count. */
size_t tam_match__explain_elig(const tam_match_t *m, const tam_match_need_t *n,
                               const tam_match_project_t *p, bool declined, uint32_t date,
                               tam_arena_t *a, char **out, size_t max);
/* Whole dollars with thousands separators ("1,250,000") into buf. */
const char *tam_match__usd(int64_t v, char buf[32]);
/* A short text for an exclusion reason ("country outside the geographic earmarks"). */
const char *tam_match__excl_text(tam_match_excl_t x);

/* ---- match_rank.c ---- */
/* Sets every open need's content key and relative priority; marks the
 * needs whose key or priority moved, and asks for a rebuild when the solver
 * knows a need by a key that changed. Returns 0; TAM_ENOMEM. */
int tam_match__keys(tam_match_t *m);
/* Lines saying how each factor of need n was obtained (run date, horizon,
 * declared values beside those used, ranks, R and S, LDC and mission status
 * with their sources), each from a, into out (at most max). Returns the
 * count. */
size_t tam_match__basis(const tam_match_t *m, const tam_match_need_t *n, tam_arena_t *a,
                        char **out, size_t max);

/* ---- match_alloc.c ---- */
/* The decision on the pair (need id, project id), or NULL. */
const tam_match_decision_t *tam_match__decision(const tam_match_t *m, uint64_t need_id,
                                                const char *project);
/* Recomputes the need's row / the project's column (on run_date). */
int tam_match__row(tam_match_t *m, uint32_t need_slot);
int tam_match__column(tam_match_t *m, uint32_t project_slot);
/* The arc of (need, project slot), or NULL. */
tam_match_arc_t *tam_match__arc(const tam_match_need_t *n, uint32_t project_slot);
/* Sum of the fixed amounts of every present decision on the need id, on any
 * project (known to the registry or not). */
int64_t tam_match__need_fixed(const tam_match_t *m, uint64_t need_id);
/* The part of n->fixed_all that is not on a live arc of the need (decisions
 * on projects outside the problem). */
int64_t tam_match__fixed_out(const tam_match_need_t *n);
/* The solver's amount for a need / budget for a project as of now:
 * u = (fixed on its arcs) + max(0, cost - fixed by all its decisions). */
int64_t tam_match__need_amount(const tam_match_t *m, const tam_match_need_t *n);
int64_t tam_match__project_budget(const tam_match_t *m, const tam_match_project_t *p);
/* Cap of an arc: 0 if dead, its fixed amount if live only for that, else
 * max(mpn, fixed) (no cap when mpn is 0). tam_match__arc_cap uses the
 * project's current max_per_need. */
int64_t tam_match__cap(int64_t mpn, const tam_match_need_t *n, const tam_match_arc_t *a);
int64_t tam_match__arc_cap(const tam_match_project_t *p, const tam_match_need_t *n,
                           const tam_match_arc_t *a);
/* Holds arc a of need slot ns at its fixed amount in this run (frag) or
 * lets it go (queues the change for the solver). Returns 0; TAM_ENOMEM. */
int tam_match__set_frag(tam_match_t *m, uint32_t ns, tam_match_arc_t *a, bool frag);
/* Queues the capped live arcs of need slot ns for the solver (their caps
 * moved with the need's share of them). Returns 0; TAM_ENOMEM. */
int tam_match__push_caps(tam_match_t *m, uint32_t ns);
/* The smallest new money a pair of the need may be proposed: the larger of
 * min_amount and min_share of its cost, at most the new money it may get. */
int64_t tam_match__min_new(const tam_match_t *m, const tam_match_need_t *n);
/* Level-2 tie-break key of a need's arcs (docs/allocation.md): 0 for every
 * need, so that level 2 means "most money moved" and level 3 (the published
 * hash of the need's content key and the project) breaks what remains:
 * never the arrival order. */
uint32_t tam_match__tiebreak(uint64_t key);

/* ---- match_solve.c ---- */
/* Passes the pending changes to the solver (or rebuilds it) and solves into
 * m->sol. *warm tells which. Returns 0 or the solver's error. */
int tam_match__solve(tam_match_t *m, bool *warm);
/* Passes the queued ops and changed amounts to the solver. Returns 0 or the
 * solver's error. */
int tam_match__apply(tam_match_t *m);
/* Holds back up front the pairs of need slot ns whose cap leaves less new
 * money than its minimum (adds them to m->frags). Returns 0; TAM_ENOMEM. */
int tam_match__hold_capped(tam_match_t *m, uint32_t ns);

/* ---- match_quiet.c ---- */
/* A quiet run: when the only news since the last run are new needs, none of
 * whose pairs could get money in any solve of the last run (strictly below
 * the project's dual in each), every solve would give the same allocation:
 * passes the news to the solver and extends the last solution into m->work
 * with no re-solve. Returns 1 (done), 0 (not quiet: nothing changed), or a
 * negative error. */
int tam_match__quiet(tam_match_t *m, bool *warm);
/* Keeps the project duals of the solve just made (m->work) for the next
 * run's test. Returns 0; TAM_ENOMEM. */
int tam_match__rd_record(tam_match_t *m);
/* Builds the canonical problem of the current model (open needs by content key,
 * present projects by id, live arcs by need then project) with its solution
 * taken from m->sol. Arrays are malloc'd into the out parameters; free with
 * tam_match__problem_free. */
typedef struct {
    tam_flow_problem_t p;
    tam_flow_solution_t s;
    uint64_t *need_id;       /* the solver's need ids: content keys */
    uint32_t *need_slot;     /* [n_needs] need slot of each */
    int64_t *need_amount;
    uint64_t *project_id;
    int64_t *project_budget;
    tam_flow_arc_t *arcs;
    uint32_t *project_slot;  /* [n_projects] */
} tam_match_problem_t;
int tam_match__problem(const tam_match_t *m, tam_match_problem_t *out, bool with_solution);
void tam_match__problem_free(tam_match_problem_t *pb);

/* ---- match_dual.c, match_range.c ---- */
/* Replaces the solver's duals in m->sol by the canonical ones (least project
 * prices, then least need prices; docs/allocation.md). Returns 0;
 * TAM_ENOMEM. */
int tam_match__canon_duals(tam_match_t *m);
/* Each project's dual range, by project slot (range[m->nprojects]): how many
 * extra USD each still add its dual in the run being computed (parametric
 * analysis by re-solves of the problem of the needs and projects in_run,
 * with m->work's duals; -1 for a zero dual). Only for problems up to 50,000
 * pairs (else every range is 0 and *done false). Reads the model and m->work,
 * writes only range, *done and *solves (the re-solves made): a run calls it
 * without the write lock. Returns 0; TAM_ESTATE (stopped: sync.stop); the
 * solver's errors (then every range is 0, *done false). */
int tam_match__dual_ranges(tam_match_t *m, int64_t *range, bool *done, uint64_t *solves);
/* Tests: true makes every range come from re-solves (the way taken when the
 * run's duals are not the least ones), to compare it with the max flow. */
void tam_match__ranges_by_resolves(bool on);

/* ---- match_hash.c ---- */
/* Sets m->hash: SHA-256 of the canonical inputs (docs/matching.md). Returns
 * 0; TAM_ENOMEM. */
int tam_match__hash(tam_match_t *m);
/* The same into out, changing nothing (a run computes it beside readers). */
int tam_match__hash_into(const tam_match_t *m, char out[65]);
/* qsort_r comparator of project slots by project id (arg: the engine). */
int tam_match__cmp_project_slots(const void *a, const void *b, void *arg);

/* ---- match_run.c ---- */
/* Encodes a proposal into sb (cleared first). */
int tam_match__encode_prop(const tam_match_t *m, const tam_match_prop_t *pr, msgpack_sbuffer *sb);
/* Fills a tam_proposal_t from pr (strings point into the catalogue/model,
 * factors allocated from a). */
int tam_match__prop_struct(const tam_match_t *m, const tam_match_prop_t *pr, tam_arena_t *a,
                           tam_proposal_t *out);
/* "<need>/<project>" of a proposal. */
void tam_match__prop_id(const tam_match_t *m, const tam_match_prop_t *pr, char *buf, size_t n);
/* Index in props of the pair, or TAM_MATCH_NONE. */
uint32_t tam_match__prop_find(const tam_match_t *m, uint64_t need_id, uint32_t project_slot);
/* The proposal state of a decision state. */
tam_proposal_state_t tam_match__prop_state(const tam_match_decision_t *d);

/* ---- match_lp.c ---- */
/* One chunk of the current run's LP text (out->text malloc'd: the caller
 * frees it). Refusals go to err (returns err->code). */
int tam_match__export_lp(tam_match_t *m, const tam_lp_request_t *q, tam_lp_chunk_t *out,
                         tam_rpc_error_t *err);
/* Frees an export being streamed. */
void tam_match__lp_free(tam_match_t *m);

/* Monotonic microseconds. */
int64_t tam_match__now_us(void);

/* ---- match_money.c ---- */
/* The money of need need_id and project slot ps from the one money model
 * (tam_money_compute over every need, present project, present decision and
 * current proposal), as project show and the reports give it.
 * Returns 0; TAM_ENOMEM. */
int tam_match__money(const tam_match_t *m, uint64_t need_id, uint32_t ps, tam_explain_money_t *out);
/* The engine's cache of it: created with the engine, freed with it. Returns 0;
 * TAM_ENOMEM. builds: how many times it was built (tests). */
int tam_match__money_new(tam_match_t *m);
void tam_match__money_free(tam_match_t *m);
uint64_t tam_match__money_builds(const tam_match_t *m);

#endif

/* pipeline.h — the inside of tam-pipeline: what managers and donor liaison
 * decide about proposals, the append-only audit log of every act, the views
 * of the other services' feeds that the decisions and the reports need, and
 * the reports themselves.
 *
 * Layers, each usable without the ones above it (the unit tests do so):
 *   pipeline_map.c       a small string-keyed hash map for the views
 *   pipeline_view.c      in-memory views fed by feed clients: needs (tam-ingest),
 *                        projects, donors, context (tam-registry), the latest
 *                        run and its proposals (tam-match)
 *   pipeline_state.c     the state machine and who may do what (pure)
 *   pipeline_act.c       pipeline.act inside one LMDB transaction: checks,
 *                        decision, audit entry, what to publish
 *   pipeline_query.c     history, audit, decisions, the feed snapshot
 *   pipeline_money.c     the one money model (tam/money.h) over the views and
 *                        the decisions; pipeline.money
 *   pipeline_follow.c    decisions follow their need (cost lowered, withdrawn)
 *   pipeline_report.c    the gaps and pipeline reports (pipeline_donors.c: donors)
 *   pipeline_commission.c  the report to the Commission (from ingest's replies)
 *   pipeline_server.c    the service loop, the feeds, the principal check
 *
 * Storage (one LMDB environment, <data_dir>/pipeline); values are msgpack of
 * the proto/pipeline.def structs:
 *   decisions   "<need>/<project>"          -> decision (current state)
 *   by_project  project \0 "<need>/<project>" -> ""  (decisions of a project)
 *   audit       seq (BE64)                  -> audit_entry (append-only)
 *   audit_prop  "<need>/<project>" \0 seq (BE64) -> "" (audit entries of a proposal)
 * and the meta counter "audit" numbers the audit entries. Nothing in audit is
 * ever rewritten or deleted; a decision is rewritten at every act (its past
 * is its audit entries). The decisions of a need are the keys of decisions
 * that start with "<need>/". The value under decisions is byte for byte the
 * body published on the feed (topic decision/<ISO3>/<CAT>) and streamed in
 * snapshots.
 */
#ifndef TAM_PIPELINE_H
#define TAM_PIPELINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "tam/catalog.h"
#include "tam/config.h"
#include "tam/feed.h"
#include "tam/money.h"
#include "tam/principal.h"
#include "tam/proto.h"
#include "tam/rpc.h"
#include "tam/service.h"
#include "tam/store.h"

#define TAM_PIPELINE_SCHEMA 1              /* schema version of the LMDB environment */
#define TAM_PIPELINE_PROPOSAL_MAX 100      /* longest proposal id (proto bound) */
#define TAM_PIPELINE_ID_MAX 32             /* longest project or donor id */
#define TAM_PIPELINE_USD_MAX 1000000000000LL /* largest amount, whole USD (proto bound) */
#define TAM_PIPELINE_REV_MAX 1000000       /* highest decision revision (proto bound) */
#define TAM_PIPELINE_PAGE 100              /* page size when a query gives limit 0 */
#define TAM_PIPELINE_WAITING 20            /* decisions waiting longest, when limit is 0 */
#define TAM_PIPELINE_HISTORY_MAX 10000     /* audit entries per answer (proto bound) */

/* Names of the named databases, NULL-terminated (the loop's "requests" included). */
extern const char *const tam_pipeline_dbs[];

/* ---- string-keyed hash map (pipeline_map.c) -------------------------------- */

typedef struct tam_pipeline_map tam_pipeline_map_t;

/* Creates an empty map whose values are freed with free_fn (NULL: not freed).
 * Returns 0; TAM_ENOMEM. */
int tam_pipeline_map_new(tam_pipeline_map_t **out, void (*free_fn)(void *));
/* Frees every value and the map; *m becomes NULL. Accepts NULL. */
void tam_pipeline_map_destroy(tam_pipeline_map_t **m);
/* The value under key, or NULL. */
void *tam_pipeline_map_get(const tam_pipeline_map_t *m, const char *key);
/* Stores val under key (copied), freeing a value it replaces. On failure val
 * is freed too. Returns 0; TAM_ENOMEM. */
int tam_pipeline_map_put(tam_pipeline_map_t *m, const char *key, void *val);
/* Removes and frees the value under key. Returns 0; TAM_ENOTFOUND. */
int tam_pipeline_map_del(tam_pipeline_map_t *m, const char *key);
/* Removes and frees every value. */
void tam_pipeline_map_clear(tam_pipeline_map_t *m);
size_t tam_pipeline_map_count(const tam_pipeline_map_t *m);
/* Iteration in no particular order: start with *pos = 0; returns the next
 * value (and its key if key is not NULL) or NULL at the end. The map must not
 * change during an iteration. */
void *tam_pipeline_map_next(const tam_pipeline_map_t *m, size_t *pos, const char **key);

/* ---- views of the other services' feeds (pipeline_view.c) ------------------ */

typedef enum {
    TAM_PIPELINE_SRC_INGEST = 0, /* need/<ISO3>/<CAT>: tam_need_t */
    TAM_PIPELINE_SRC_REGISTRY,   /* project/<id>, donor/<id>, context */
    TAM_PIPELINE_SRC_MATCH,      /* run: tam_run_t; prop/<ISO3>/<CAT>: tam_proposal_t */
    TAM_PIPELINE_SRC__COUNT
} tam_pipeline_src_t;

/* A need as the pipeline keeps it (its text is not kept). */
typedef struct {
    uint64_t id;
    char country[4];
    char category[2];
    char standard[33];
    char modality[33];
    char group[9];   /* the country's UN regional group ("" if not in the catalogue) */
    int64_t priority;
    int64_t cost;
    uint32_t start, end;
    bool open;       /* false once withdrawn */
} tam_pipeline_need_t;

/* A current proposal of tam-match (removed ones are not kept). */
typedef struct {
    char id[TAM_PIPELINE_PROPOSAL_MAX + 1];
    uint64_t need;
    char project[TAM_PIPELINE_ID_MAX + 1];
    uint64_t run;
    int64_t amount, fixed, score, rank;
    tam_proposal_state_t state;
} tam_pipeline_prop_t;

typedef struct tam_pipeline_view tam_pipeline_view_t;

typedef struct {
    uint64_t records[TAM_PIPELINE_SRC__COUNT];   /* records applied */
    uint64_t malformed[TAM_PIPELINE_SRC__COUNT]; /* records that did not decode: ignored */
    uint64_t resets[TAM_PIPELINE_SRC__COUNT];
} tam_pipeline_view_stats_t;

/* Creates empty views; cat (read-only, outlives the view) gives each need's
 * regional group. Returns 0; TAM_EINVAL; TAM_ENOMEM. */
int tam_pipeline_view_new(tam_pipeline_view_t **out, const tam_catalog_t *cat);
/* Frees everything; *v becomes NULL. Accepts NULL. */
void tam_pipeline_view_destroy(tam_pipeline_view_t **v);

/* Applies one feed record of source src (topic not NUL-terminated). Records
 * of topics the view does not use are ignored (returns 0).
 * Returns 0; TAM_EINVAL and the codec's codes for a body that does not decode
 * (ignored and counted: a peer's bad record never changes the view);
 * TAM_ENOMEM. */
int tam_pipeline_view_record(tam_pipeline_view_t *v, tam_pipeline_src_t src, const char *topic,
                             size_t topic_len, const void *body, size_t len);
/* Drops everything that came from src (its feed resynchronises). */
void tam_pipeline_view_reset(tam_pipeline_view_t *v, tam_pipeline_src_t src);
/* Records that src's view equals its server's state at seq. */
void tam_pipeline_view_synced(tam_pipeline_view_t *v, tam_pipeline_src_t src, uint64_t seq);
/* True once a snapshot of src was complete (and no reset since). */
bool tam_pipeline_view_ready(const tam_pipeline_view_t *v, tam_pipeline_src_t src);
/* True when src's view may be used: it is ready, or (tam-registry only) it
 * is resynchronising, e.g. because tam-registry is down, and holds the
 * records of its last feed; then *age_ms (if not NULL) is how long ago that
 * feed was last heard from (0 when ready). Reports and acts use it; an act
 * says so in its answer. */
bool tam_pipeline_view_usable(const tam_pipeline_view_t *v, tam_pipeline_src_t src,
                              int64_t *age_ms);
/* The feed sequence src's view reflects (0 when not ready). */
uint64_t tam_pipeline_view_seq(const tam_pipeline_view_t *v, tam_pipeline_src_t src);
void tam_pipeline_view_stats(const tam_pipeline_view_t *v, tam_pipeline_view_stats_t *out);

/* Lookups: NULL when unknown. Pointers stay valid until the next record or
 * reset of the same source. */
const tam_pipeline_need_t *tam_pipeline_view_need(const tam_pipeline_view_t *v, uint64_t id);
const tam_project_rec_t *tam_pipeline_view_project(const tam_pipeline_view_t *v, const char *id);
const tam_donor_t *tam_pipeline_view_donor(const tam_pipeline_view_t *v, const char *id);
const tam_pipeline_prop_t *tam_pipeline_view_proposal(const tam_pipeline_view_t *v,
                                                      const char *id);
/* The ids of needs that arrived new, withdrawn or with a new cost since the
 * last take (repeats possible), for tam_pipeline_follow_need. *ids stays
 * valid until the next record; take = true empties the list (after use). */
size_t tam_pipeline_view_changed(tam_pipeline_view_t *v, const uint64_t **ids, bool take);
/* The latest run, or NULL before the first. */
const tam_run_t *tam_pipeline_view_run(const tam_pipeline_view_t *v);
/* The planning context, or NULL if none was published. */
const tam_context_t *tam_pipeline_view_context(const tam_pipeline_view_t *v);

/* Iteration (start with *pos = 0; NULL at the end), in no particular order. */
const tam_pipeline_need_t *tam_pipeline_view_next_need(const tam_pipeline_view_t *v, size_t *pos);
const tam_project_rec_t *tam_pipeline_view_next_project(const tam_pipeline_view_t *v, size_t *pos);
const tam_pipeline_prop_t *tam_pipeline_view_next_proposal(const tam_pipeline_view_t *v,
                                                           size_t *pos);
size_t tam_pipeline_view_count(const tam_pipeline_view_t *v, char what); /* 'n', 'p', 'd', 'x' */

/* ---- the state machine (pipeline_state.c) ----------------------------------- *
 *
 *   none ──endorse──> endorsed ──commit──> committed ──deliver──> delivered
 *     │                 │   ^
 *     │              withdraw│endorse
 *     │                 v   │
 *     └──decline──> declined <──decline── withdrawn
 *
 * declined and delivered are final. See docs/pipeline.md for the reasons. */

/* The state an act leads to from `from`. Returns 0 and sets *to; TAM_ESTATE
 * when the act is not allowed in that state (TAM_EINVAL for values out of
 * range). */
int tam_pipeline_transition(tam_decision_state_t from, tam_decision_act_t act,
                            tam_decision_state_t *to);
/* Why an act is refused in a state, for the error answer: e.g. "commit needs
 * an endorsed proposal: a programme manager endorses it first". Never NULL. */
const char *tam_pipeline_refusal(tam_decision_state_t from, tam_decision_act_t act);
/* The role an act needs (TAM_ROLE_MANAGER or TAM_ROLE_DONOR_LIAISON) and its
 * name as the audit log records it ("manager", "donor_liaison"). */
uint32_t tam_pipeline_act_role(tam_decision_act_t act, const char **name);
/* The one place the principal of a request is checked: pipeline.act needs
 * the role of its act (tam_pipeline_act_role; a body that does not decode
 * needs manager or donor_liaison, and the handler then names the bad field);
 * reads and sys.ping are open to anyone who can reach the socket. a decodes
 * the act (reset here). Returns 0; TAM_EDENIED with err naming the principal,
 * the act and the role it needs. */
int tam_pipeline_authorize(const tam_principal_t *who, const char *type, const void *body,
                           size_t len, tam_arena_t *a, tam_rpc_error_t *err);
/* Parses "<need id>/<project id>" (canonical: no leading zeros, need id >= 1,
 * project id 2..32 of [A-Za-z0-9_-]). Returns 0; TAM_EINVAL. */
int tam_pipeline_proposal_parse(const char *s, uint64_t *need, char project[TAM_PIPELINE_ID_MAX + 1]);
/* The feed topic of a decision: "decision/<ISO3>/<CAT>". Returns 0; TAM_EINVAL. */
int tam_pipeline_topic(const char *country, const char *category, char out[16]);

/* ---- acts (pipeline_act.c) --------------------------------------------------- */

/* What the commission report reads from tam-ingest: every current reply in
 * full. Fills *out (allocated from a) and *n. Returns 0, or a negative code
 * with err set (e.g. TAM_EUNAVAIL: ingest not reachable). */
typedef int (*tam_pipeline_replies_fn)(void *arg, tam_arena_t *a, tam_reply_full_t **out,
                                       size_t *n, tam_rpc_error_t *err);

/* What the handlers need besides the transaction. */
typedef struct {
    const tam_catalog_t *cat;       /* read-only */
    tam_pipeline_view_t *view;      /* the feeds' views */
    int64_t now_ms;                 /* clock for tests (0: the real clock) */
    tam_pipeline_replies_fn replies; /* commission report source (NULL: unavailable) */
    void *replies_arg;
} tam_pipeline_t;

/* Milliseconds since the Unix epoch (p->now_ms if set). */
int64_t tam_pipeline_now(const tam_pipeline_t *p);

/* Applies one pipeline.act (body: the request, pre-pass done) by principal
 * who inside txn: decodes and checks it, moves the decision through the state
 * machine, checks amounts against the project's available money and the
 * need's unfunded amount, writes the decision and one audit entry.
 * The principal's role is checked by the caller (the server's authorize,
 * with tam_pipeline_act_role); who names the author in the audit log.
 * Three outcomes, as in registry.h:
 *  - accepted: returns 0, err->code == 0, *answer holds the act_ack, pubs
 *    (a tam_events_t) got the decision to publish after the commit;
 *  - refused: returns 0 with err->code < 0 (TAM_ESTATE for a transition that
 *    is not allowed, naming `act` and the current state; TAM_ECONFLICT naming
 *    `amount` with the figures; TAM_ENOTFOUND for an unknown need, project or
 *    proposal; TAM_EUNAVAIL when a feed the check needs is not synced yet;
 *    TAM_EINVAL and codec codes for bad fields); nothing was written;
 *  - failed: a negative code (store conditions, TAM_ENOMEM, TAM_EINTERNAL):
 *    the transaction must be aborted. */
int tam_pipeline_act(const tam_pipeline_t *p, tam_txn_t *txn, const tam_principal_t *who,
                     const void *body, size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                     tam_events_t *pubs, tam_rpc_error_t *err);

/* Writes decision d (under its proposal, with its project index), audit
 * entry e (its seq is assigned here and stored in *seq if not NULL) with its
 * proposal index, and queues d on pubs for the decisions feed. The one
 * writer of decisions, for the acts and for tam-pipeline's own (follow).
 * Returns 0; store codes; TAM_ENOMEM; TAM_EINTERNAL. */
int tam_pipeline__record(tam_txn_t *txn, const tam_decision_t *d, const tam_audit_entry_t *e,
                         tam_events_t *pubs, uint64_t *seq);

/* Keeps the decisions of need n consistent with its latest version (after
 * tam-ingest published it), inside txn:
 *  - n withdrawn: every decision that holds money (endorsed, committed) and
 *    carries no flag is flagged need_withdrawn; its money stays;
 *  - n open with a cost below what its decisions hold: endorsements (in
 *    proposal order) are reduced to what the cost leaves after the
 *    commitments and the endorsements before them; one reduced to 0 becomes
 *    withdrawn. Committed amounts are never touched; if they exceed the
 *    cost, the committed (not yet delivered) decisions are flagged
 *    cost_below_committed.
 * Each change is an audit entry by principal "tam-pipeline", role "system"
 * (acts flag and reduce), with the run tam-pipeline knows, and an event on
 * pubs. Sets *changed to the number of decisions changed.
 * Returns 0; store codes; TAM_ENOMEM. */
int tam_pipeline_follow_need(const tam_pipeline_t *p, tam_txn_t *txn, const tam_pipeline_need_t *n,
                             tam_events_t *pubs, size_t *changed);

/* Reads the decision of a proposal into out (from a). Returns 0;
 * TAM_ENOTFOUND (no act yet: state none); TAM_ESTORE. */
int tam_pipeline_decision_get(tam_txn_t *txn, const char *proposal, tam_arena_t *a,
                              tam_decision_t *out);

/* What is held on a need and on a project by decisions: committed (states
 * committed and delivered) and endorsed (state endorsed), leaving out the
 * decision of the proposal `except` (NULL: none). Returns 0; TAM_ESTORE;
 * TAM_ENOMEM. */
typedef struct {
    int64_t committed, endorsed;
    size_t decisions;
} tam_pipeline_held_t;
int tam_pipeline_held_need(tam_txn_t *txn, uint64_t need, const char *except,
                           tam_pipeline_held_t *out);
int tam_pipeline_held_project(tam_txn_t *txn, const char *project, const char *except,
                              tam_pipeline_held_t *out);

/* ---- reads (pipeline_query.c) -------------------------------------------------- */

/* Answers one read request (pipeline.history, pipeline.audit,
 * pipeline.decisions, pipeline.report) from txn. Same outcomes as
 * tam_pipeline_act (refused: e.g. TAM_ENOTFOUND for a proposal with no act). */
int tam_pipeline_read(const tam_pipeline_t *p, tam_txn_t *txn, int msg_id, const void *body,
                      size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                      tam_rpc_error_t *err);

/* Streams every decision whose topic starts with prefix through emit.
 * Returns 0; emit's error; TAM_ESTORE. */
int tam_pipeline_snapshot(tam_txn_t *txn, const char *prefix, tam_feed_emit_fn emit,
                          void *emit_ctx);

/* Calls fn for every decision whose key starts with prefix ("" or NULL: all;
 * "12/": the decisions of need 12), in key order. d is valid only during the
 * call. fn returns 0 to go on, 1 to stop or a negative code.
 * Returns 0; fn's code; TAM_ESTORE (a stored value does not decode);
 * TAM_ENOMEM. */
typedef int (*tam_pipeline_decision_fn)(const tam_decision_t *d, void *arg);
int tam_pipeline_decisions_each(tam_txn_t *txn, const char *prefix, tam_pipeline_decision_fn fn,
                                void *arg);

typedef struct {
    size_t decisions, audit;
} tam_pipeline_counts_t;
int tam_pipeline_counts(tam_txn_t *txn, tam_pipeline_counts_t *out);

/* ---- reports (pipeline_report.c, pipeline_commission.c) ----------------------- */

/* Builds a report into out (from a): gaps, donors, pipeline (from the views
 * and the decisions in txn) or commission (from p->replies). Returns 0;
 * refused (err set, returns err->code): TAM_EUNAVAIL when commission data
 * cannot be had; TAM_EINVAL for a bad filter; failed: TAM_ENOMEM, TAM_ESTORE. */
int tam_pipeline_report(const tam_pipeline_t *p, tam_txn_t *txn, const tam_report_request_t *rq,
                        tam_arena_t *a, tam_report_t *out, tam_rpc_error_t *err);

/* The commission report from a set of replies (only current ones count),
 * filtered by category (NULL or "": all). Returns 0; TAM_ENOMEM. */
int tam_pipeline_commission(const tam_catalog_t *cat, const tam_reply_full_t *replies, size_t n,
                            const char *category, tam_arena_t *a, tam_report_t *out);

/* The decisions as the reports use them: loaded once per report. */
typedef struct {
    char proposal[TAM_PIPELINE_PROPOSAL_MAX + 1];
    uint64_t need;
    char project[TAM_PIPELINE_ID_MAX + 1];
    char country[4], category[2];
    tam_decision_state_t state;
    int64_t endorsed, committed, since, updated;
    char flag[33]; /* "" or e.g. "need_withdrawn" */
} tam_pipeline_dec_t;

typedef struct {
    tam_pipeline_dec_t *v;
    size_t n, cap;
    tam_pipeline_map_t *by_id; /* proposal -> element of v */
} tam_pipeline_decs_t;

/* Loads every decision. Returns 0; TAM_ENOMEM; TAM_ESTORE. */
int tam_pipeline_decs_load(tam_txn_t *txn, tam_pipeline_decs_t *out);
void tam_pipeline_decs_free(tam_pipeline_decs_t *d);
/* The decision of a proposal, or NULL (state none). */
const tam_pipeline_dec_t *tam_pipeline_decs_get(const tam_pipeline_decs_t *d, const char *proposal);
/* The one money model (tam/money.h) over the views and the decisions
 * (pipeline_money.c): every need and project of the views, one pair per
 * decision (with its current proposal, if any) and one per current proposal
 * with no decision. need_of, project_of, dec_of and prop_of give the view
 * record behind each element (dec_of/prop_of NULL where there is none).
 * Valid while the views and decs do not change. */
typedef struct {
    tam_money_need_t *needs;
    const tam_pipeline_need_t **need_of;
    size_t nn;
    tam_money_project_t *projects;
    const tam_project_rec_t **project_of;
    size_t np;
    tam_money_pair_t *pairs;
    const tam_pipeline_dec_t **dec_of;
    const tam_pipeline_prop_t **prop_of;
    size_t nk;
    tam_money_totals_t tot;
} tam_pipeline_money_t;
/* Returns 0; TAM_ENOMEM (m emptied). */
int tam_pipeline_money_build(const tam_pipeline_t *p, const tam_pipeline_decs_t *decs,
                             tam_pipeline_money_t *m);
void tam_pipeline_money_free(tam_pipeline_money_t *m);
/* Answers pipeline.money from the views and the decisions in txn (same
 * outcomes as tam_pipeline_read; TAM_ENOTFOUND for an unknown project). */
int tam_pipeline_money_read(const tam_pipeline_t *p, tam_txn_t *txn, const void *body, size_t len,
                            tam_arena_t *a, msgpack_sbuffer *answer, tam_rpc_error_t *err);
/* Sets out->totals (from a) to the model's totals. Returns 0; TAM_ENOMEM. */
int tam_pipeline_totals(tam_arena_t *a, const tam_money_totals_t *t, tam_report_t *out);

/* The donors report (pipeline_donors.c). Same returns as tam_pipeline_report. */
int tam_pipeline_report_donors(const tam_pipeline_t *p, const tam_pipeline_money_t *m,
                               const tam_report_request_t *rq, tam_arena_t *a, tam_report_t *out);

/* Which earmark dimensions of project e let need n through: a bit per
 * dimension (TAM_PIPELINE_EM_*) set when that dimension alone admits it. */
enum {
    TAM_PIPELINE_EM_COUNTRIES = 1 << 0,
    TAM_PIPELINE_EM_GROUPS = 1 << 1,
    TAM_PIPELINE_EM_REGIONS = 1 << 2,
    TAM_PIPELINE_EM_CATEGORIES = 1 << 3,
    TAM_PIPELINE_EM_STANDARDS = 1 << 4,
    TAM_PIPELINE_EM_MODALITIES = 1 << 5,
    TAM_PIPELINE_EM_POST_CONFLICT = 1 << 6,
    TAM_PIPELINE_EM_WINDOW = 1 << 7,
    TAM_PIPELINE_EM_ALL = (1 << 8) - 1,
};
unsigned tam_pipeline_earmarks_admit(const tam_catalog_t *cat, const tam_context_t *ctx,
                                     const tam_project_t *pr, const tam_pipeline_need_t *n);

/* Helpers the report files share (pipeline_report.c). */
typedef struct {
    tam_arena_t *a;
    tam_report_row_t *v;
    size_t n, cap;
    size_t ncols;
} tam_pipeline_rows_t;
/* Appends a row of ncols cells (copied into the arena). Returns 0; TAM_ENOMEM. */
int tam_pipeline_rows_add(tam_pipeline_rows_t *r, const char *const *cells);
/* Sets a report's (or part's) columns, hxl and numeric from one table of
 * {name, hxl, numeric} triples. */
typedef struct {
    const char *name, *hxl;
    int numeric; /* 0 text, 1 amounts that add up, 2 numbers that do not (report.numeric) */
} tam_pipeline_col_t;
int tam_pipeline_columns(tam_arena_t *a, const tam_pipeline_col_t *cols, size_t n,
                         tam_strs_t *names, tam_strs_t *hxl, tam_strs_t *numeric);
/* A string list from the arena: n strings, each copied; an empty or NULL one
 * becomes "-" (lists may not hold empty strings). */
int tam_pipeline_strs(tam_arena_t *a, tam_strs_t *out, const char *const *v, size_t n);
/* Formats an integer into an arena string; NULL on OOM. */
char *tam_pipeline_i64(tam_arena_t *a, int64_t v);
/* Formats Unix milliseconds as YYYY-MM-DD (UTC) into buf. */
const char *tam_pipeline_date(int64_t ms, char buf[11]);

/* ---- the service (pipeline_server.c) --------------------------------------------- */

typedef struct tam_pipeline_server tam_pipeline_server_t;

/* Loads the catalogue, opens <data_dir>/pipeline, binds the feed server
 * ([pipeline] feed and snapshot) and connects feed clients to tam-ingest,
 * tam-registry and tam-match. cfg must outlive the server.
 * Returns 0; TAM_ECONFIG / TAM_EIO (catalogue, directories; logged); the
 * store's, feed server's and feed clients' errors; TAM_ENOMEM. */
int tam_pipeline_server_new(tam_pipeline_server_t **out, const tam_config_t *cfg, void *zctx);
/* Serves until SIGTERM/SIGINT. Returns 0 on such a stop, or the code the
 * loop stopped with (TAM_EFATAL: the store failed). */
int tam_pipeline_server_run(tam_pipeline_server_t *s);
/* Closes everything; *s becomes NULL. Accepts NULL. */
void tam_pipeline_server_destroy(tam_pipeline_server_t **s);

/* Sets err from a codec error (decoding a request). Returns err->code. */
int tam_pipeline__codec_error(tam_rpc_error_t *err, const tam_codec_err_t *ce);

#endif

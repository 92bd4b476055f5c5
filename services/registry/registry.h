/* registry.h — the inside of tam-registry: validation of donors, projects,
 * ledger entries and the planning context against the catalogue; the write
 * handlers that store them with their history inside one LMDB transaction;
 * the read handlers; and the snapshot of the feed.
 *
 * Layers, each usable without the ones above it (the unit tests do so):
 *   registry_validate.c  pure checks: record + catalogue -> list of errors
 *   registry_store.c     writes: decode, validate, store, name what to publish
 *   registry_query.c     reads and the feed snapshot
 *   registry_server.c    the service loop, the feed server, the principal check
 *
 * Storage (one LMDB environment, <data_dir>/registry), values are msgpack in
 * the canonical encoding of the proto/registry.def structs:
 *   donors        id                      -> donor (current revision)
 *   donor_revs    id \0 revision(BE64)    -> donor (every revision, current included)
 *   projects      id                      -> project_rec (current revision)
 *   project_revs  id \0 revision(BE64)    -> project_rec (every revision)
 *   ledger        project \0 entry id(BE64) -> ledger_entry (id and date filled)
 *   context       version(BE64)           -> context (every version; the last is current)
 * and the meta counter "ledger" numbers ledger entries. Nothing is deleted.
 * The value under `projects` is byte for byte the body published on the feed
 * and streamed in snapshots.
 */
#ifndef TAM_REGISTRY_H
#define TAM_REGISTRY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "tam/catalog.h"
#include "tam/config.h"
#include "tam/feed.h"
#include "tam/principal.h"
#include "tam/proto.h"
#include "tam/rpc.h"
#include "tam/service.h"
#include "tam/store.h"

#define TAM_REGISTRY_SCHEMA 1          /* schema version of the LMDB environment */
#define TAM_REGISTRY_ID_MAX 32         /* longest donor or project id */
#define TAM_REGISTRY_REV_MAX 1000000   /* highest revision (proto bound) */
#define TAM_REGISTRY_USD_MAX 1000000000000LL /* largest total, whole USD (proto bound) */
#define TAM_REGISTRY_LEDGER_MAX 100000 /* entries per project (bound of ledger_list) */
#define TAM_REGISTRY_PAGE 100          /* page size when a query gives limit 0 */
#define TAM_REGISTRY_CONTEXT_ID "context"

/* Names of the named databases, NULL-terminated (for tam_store_opts_t.dbs). */
extern const char *const tam_registry_dbs[];

/* What the handlers need besides the transaction. */
typedef struct {
    const tam_catalog_t *cat; /* loaded catalogue; read-only */
    uint32_t today;           /* yyyymmdd for set_on and undated ledger entries (0: the real date) */
    const char *by;           /* principal id of the request being written: recorded as "by" in
                                 revisions, ledger entries and context versions (NULL: none) */
    bool *dry_run;            /* set by tam_registry_write: the request was a dry run (its
                                 writes must be undone, nothing published; may be NULL) */
} tam_registry_t;

/* ---- validation (registry_validate.c) ------------------------------------
 * Each check appends every problem it finds to err (tam_rpc_error_add, the
 * first problem's code becomes err->code) with the path of the field, e.g.
 * "earmarks.standards[2]", and returns err->code: 0 when nothing was wrong,
 * else the code of the first problem. They never touch storage. */

/* True if id is a valid donor or project id: 2..32 of [A-Za-z0-9_-], starting
 * with a letter or digit. */
bool tam_registry_id_valid(const char *id);

/* True if s is a well-formed IATI organisation identifier: a two-letter
 * registration agency prefix, then one or more '-'-separated segments of
 * [A-Za-z0-9_.]; the prefix XM-DAC must be followed by exactly one segment of
 * digits (a DAC donor or channel code, e.g. XM-DAC-41128). */
bool tam_registry_iati_valid(const char *s);

/* A donor: id form, non-blank name, IATI identifier form (if given). */
int tam_registry_check_donor(const tam_donor_t *d, tam_rpc_error_t *err);

/* Tells whether a donor exists: 0 yes, TAM_ENOTFOUND no, another negative
 * code if it could not be read (the check then stops with that code). */
typedef int (*tam_registry_donor_fn)(const char *id, void *arg);

/* A project's content: id form, title, donors (each exists, none twice,
 * shares add up to 100), window, status (pipeline or active: closing and
 * cancelling are registry.project_close), DAC code (known and active),
 * earmarks (tam_registry_check_earmarks). donor_fn may be NULL (donors are
 * then not looked up). */
int tam_registry_check_project(const tam_catalog_t *cat, const tam_project_t *p,
                               tam_registry_donor_fn donor_fn, void *arg, tam_rpc_error_t *err);

/* Earmarks, with paths below prefix ("earmarks"): every code known to the
 * catalogue, none listed twice, regions as 3-digit M49 codes, every standard
 * inside the earmarked categories when categories are given. */
int tam_registry_check_earmarks(const tam_catalog_t *cat, const tam_earmarks_t *e,
                                const char *prefix, tam_rpc_error_t *err);

/* A project_close against the current record (cur NULL: no such project):
 * status closed or cancelled, a non-blank reason, the project open, and only
 * an active project may be closed (a pipeline one is cancelled). */
int tam_registry_check_close(const tam_project_close_t *c, const tam_project_rec_t *cur,
                             tam_rpc_error_t *err);

/* A ledger entry against its project's current record (cur NULL: no such
 * project): pledges and receipts positive, adjustments non-zero; no entry on
 * a cancelled project, only adjustments on a closed one; totals stay within
 * 0..TAM_REGISTRY_USD_MAX (received never below 0: TAM_ECONFLICT); the
 * project's revision has room. */
int tam_registry_check_ledger(const tam_ledger_entry_t *e, const tam_project_rec_t *cur,
                              tam_rpc_error_t *err);

/* A planning context: each mission country known and listed once, a
 * non-blank operation, priorities that are known standards listed once. */
int tam_registry_check_context(const tam_catalog_t *cat, const tam_context_t *c,
                               tam_rpc_error_t *err);

/* ---- writes (registry_store.c) ------------------------------------------- */

/* The records a group of writes publishes, in commit order: a tam_events_t
 * (tam/service.h) with topics "donor/<id>", "project/<id>", "context". */
#define TAM_REGISTRY_TOPIC_MAX (8 + TAM_REGISTRY_ID_MAX + 1)

/* Applies one write request (msg_id one of registry.donor_put, project_add,
 * project_update, project_close, ledger_add, context_set) inside txn.
 * body[0..len) is the request body (one msgpack object, pre-pass done).
 *
 * Three outcomes:
 *  - accepted: returns 0, err->code == 0, *answer holds the answer body (a
 *    msgpack sbuffer the caller initialised and later destroys) and pubs got
 *    what to publish once the transaction is committed. A change that changes
 *    nothing (a donor, project or context equal to the current one) is
 *    accepted with the current revision and publishes nothing.
 *  - refused: returns 0 with err->code < 0 listing every problem; nothing
 *    was written to txn and nothing added to pubs.
 *  - failed: returns a negative code (TAM_ESTORE, TAM_EMAPFULL, TAM_ETOOBIG,
 *    TAM_EFATAL, TAM_ENOMEM, TAM_EINTERNAL): the transaction must be aborted;
 *    err may hold a message for the requester.
 * scratch is an arena for decoded values (the caller resets it). */
int tam_registry_write(const tam_registry_t *r, tam_txn_t *txn, int msg_id, const void *body,
                       size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                       tam_events_t *pubs, tam_rpc_error_t *err);

/* ---- reads (registry_query.c) -------------------------------------------- */

/* Answers one read request (registry.donors, donor_get, projects,
 * project_get, ledger, context_get) from txn. Same outcomes as
 * tam_registry_write (refused: e.g. TAM_ENOTFOUND with the field "id"). */
int tam_registry_read(const tam_registry_t *r, tam_txn_t *txn, int msg_id, const void *body,
                      size_t len, tam_arena_t *scratch, msgpack_sbuffer *answer,
                      tam_rpc_error_t *err);

/* Streams the current state for a feed snapshot: every donor ("donor/<id>"),
 * project ("project/<id>", a project_rec) and the context ("context") whose
 * topic starts with prefix, through emit. Returns 0; emit's error; TAM_ESTORE. */
int tam_registry_snapshot(tam_txn_t *txn, const char *prefix, tam_feed_emit_fn emit,
                          void *emit_ctx);

/* Counts of the stored records, for the start-up log line. */
typedef struct {
    size_t donors, projects, ledger, contexts;
} tam_registry_counts_t;
int tam_registry_counts(tam_txn_t *txn, tam_registry_counts_t *out);

/* ---- access (registry_access.c; who may send what: tam/access.h) ---------- */

/* What the service loop does with a type: registry.* writes and reads,
 * sys.ping as a read, anything else unknown. */
tam_req_kind_t tam_registry_classify(const char *type);

/* ---- the service (registry_server.c) ------------------------------------- */

typedef struct tam_registry_server tam_registry_server_t;

/* Loads the catalogue ([common] catalog_dir), opens the LMDB environment in
 * <data_dir>/registry (creating data_dir if missing), binds the feed server
 * ([registry] feed and snapshot; the directory of an ipc:// endpoint is
 * created if missing). cfg must outlive the server.
 * Returns 0; TAM_ECONFIG / TAM_EIO (catalogue, directories; logged);
 * the store's and the feed server's errors; TAM_ENOMEM. */
int tam_registry_server_new(tam_registry_server_t **out, const tam_config_t *cfg, void *zctx);

/* Serves requests on [registry] endpoint until SIGTERM/SIGINT; what was
 * accepted is committed and answered first. Returns 0 on such a stop, or the
 * code tam_service_run stopped with (TAM_EFATAL: the store failed). */
int tam_registry_server_run(tam_registry_server_t *s);

/* Closes everything; *s becomes NULL. Accepts NULL. */
void tam_registry_server_destroy(tam_registry_server_t **s);

/* ---- helpers shared by the files above (registry_store.c) ---------------- */

/* Key id \0 BE64(rev) into buf (at least TAM_REGISTRY_ID_MAX + 9 bytes);
 * returns its length. */
size_t tam_registry__rev_key(uint8_t *buf, const char *id, uint64_t rev);

/* Reads and decodes a stored record of schema s (key as given) into out,
 * allocating from a. Returns 0; TAM_ENOTFOUND; TAM_ESTORE (read failed or
 * the stored value does not decode: logged). */
int tam_registry__get(tam_txn_t *txn, const char *db, const void *key, size_t klen,
                      const tam_schema_t *s, tam_arena_t *a, void *out);

/* The current planning context (version 0: none yet) into out. Returns 0
 * (also when there is none: out->version 0); TAM_ESTORE. */
int tam_registry__context(tam_txn_t *txn, uint64_t version, tam_arena_t *a, tam_context_t *out,
                          bool *found);

/* Sets err from a codec error (decoding a request). Returns err->code. */
int tam_registry__codec_error(tam_rpc_error_t *err, const tam_codec_err_t *ce);

#endif

/* ingest.h — the classes inside tam-ingest: validation of replies against the
 * catalogue, the storage of replies and needs (one LMDB environment), the
 * read-side queries, and the feed events a write produces.
 *
 * Storage layout (named databases; every value is msgpack of a proto/ struct
 * unless noted; keys of ids are 8-byte big-endian so writes append):
 *   replies  reply id              -> reply_info
 *   bodies   reply id              -> the reply exactly as accepted (request body);
 *            reply id + chunk (2 bytes BE) a body longer than TAM_INGEST_BODY_CHUNK
 *                                     is cut into even chunks, the first under the
 *                                     reply id, so that each fits a leaf page (schema 3)
 *   needs    need id               -> need: its latest version (status updated in
 *                                     place on withdrawal)
 *   versions need id + version (4 bytes BE) -> need: every version but the
 *                                     latest (which is in needs), as it was when
 *                                     the next one replaced it (schema 3)
 *   idents   CHAIN + identity      -> need id: the needs of a respondent and
 *                                     category by identity (below)
 *   rneeds   reply id              -> the needs a reply declared (compact, not a proto
 *                                     struct): [id, version, id, version, ...] in the
 *                                     order of reply.needs
 *   digests  CHAIN + SHA-256 of the reply re-encoded -> the latest reply id with
 *                                     that content (older revisions sent again)
 *   open     "ISO3/CAT/" need id   -> "" : the open needs by feed topic (snapshots)
 *   chains   CHAIN + revision (4 bytes BE) -> reply id
 *   answers  reply id              -> the answer set of a current reply (compact, not a
 *                                     proto struct): [respondent, respondent_type index,
 *                                     country or nil, category, [standard, answer_state
 *                                     index, ...]] for every standard of the category
 *   seq      "ids"                 -> last reply id, last need id (2 x 8 bytes BE)
 *   requests (the service loop's: request id -> stored answer, tam/service.h)
 * CHAIN is respondent NUL category NUL. A need's identity is
 *   "r" country "/" ref                     when the reply gives a ref,
 *   "k" country "/" standard "/" modality   otherwise (kept for every need).
 *
 * Everything here runs in the service's one thread; the catalogue is read-only.
 */
#ifndef TAM_INGEST_H
#define TAM_INGEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "tam/catalog.h"
#include "tam/config.h"
#include "tam/feed.h"
#include "tam/proto.h"
#include "tam/rpc.h"
#include "tam/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bump when the layout above changes incompatibly; tam_ingest_migrate
 * upgrades a store from TAM_INGEST_SCHEMA_FROM on, one step per version
 * (tam_ingest_migrate_v1_v2, tam_ingest_migrate_v2_v3). 2: needs keep their
 * ids across revisions (versions, idents, rneeds, digests). 3: versions no
 * longer repeats the latest version of each need (one put and one record
 * fewer per new need); a body longer than TAM_INGEST_BODY_CHUNK is stored in
 * chunks that fit leaf pages. */
#define TAM_INGEST_SCHEMA_VERSION 3
#define TAM_INGEST_SCHEMA_FROM 1

/* The named databases, NULL-terminated, for tam_store_opts_t.dbs. */
extern const char *const tam_ingest_dbs[];

/* Answer pages stop growing past this many bytes of records (a next cursor
 * continues), so that an answer stays well inside a frame. */
#define TAM_INGEST_PAGE_BYTES (512u * 1024u)
/* A listing visits at most this many stored records per request before it
 * answers with what it found and a next cursor (bounded work per request). */
#define TAM_INGEST_SCAN_MAX 20000

typedef struct {
    size_t max_text;  /* [ingest] max_text: longest free text, bytes */
    size_t max_needs; /* [ingest] max_needs_per_reply */
} tam_ingest_limits_t;

/* ---- validation (ingest_validate.c) --------------------------------------- */

/* Checks a decoded reply against the catalogue and the limits: respondent id
 * (a catalogue ISO3 for Member States; [A-Za-z0-9._-] and not a State's code
 * for organisations), category, every standard (known, of the category,
 * answered at most once, state need for each need), countries (a Member
 * State's needs concern itself), modalities, windows (start <= end, ending
 * no earlier than the reply's date), submitted not after today + 1, text
 * lengths, needs count. Every problem is added to err with its field path
 * (e.g. "needs[2].standard"). today is yyyymmdd (UTC).
 * It also runs on a reply the codec refused, when err already lists the
 * codec's problems (tam_request_decode): the checks then judge what decoded
 * and skip each field that did not (NULL, zero, or named in err), so codec
 * and semantic problems come in one list; err keeps the codec's code.
 * Returns 0 when the reply is valid; TAM_EINVAL when err lists problems;
 * TAM_ENOMEM (err could not record them). */
int tam_ingest_validate(const tam_catalog_t *cat, const tam_ingest_limits_t *lim,
                        const tam_reply_t *r, uint32_t today, tam_rpc_error_t *err);

/* True if s is a valid organisation respondent id: 2..64 of [A-Za-z0-9._-]. */
bool tam_ingest_org_id_valid(const char *s);

/* May principal p submit a reply for respondent id? A manager, service or
 * admin may submit for anyone; a respondent key only for the respondent id
 * it names (p->respondent == id). */
bool tam_ingest_may_submit(const tam_principal_t *p, const char *respondent);

/* ---- feed events produced by writes --------------------------------------- */

/* Receives one feed event of a write: topic (NUL-terminated) and the msgpack
 * need record, both valid only during the call. Returns 0 or a negative code
 * (which makes the write fail). */
typedef int (*tam_ingest_emit_fn)(const char *topic, const void *body, size_t len, void *arg);

/* The feed topic of a need: "need/<country>/<category>". Returns 0;
 * TAM_EINVAL if the codes do not have their fixed lengths. */
int tam_ingest_topic(const char *country, const char *category, char out[16]);

/* ---- writes (ingest_store.c) ---------------------------------------------- */

/* Stores one validated reply inside the caller's write transaction, as a
 * revision of the respondent's current reply to the category if there is one.
 * Each need keeps the id of the respondent's need with the same identity (its
 * ref, else country, standard and modality; see docs/ingest.md): a changed
 * field, or a need declared again after a withdrawal, makes its next version;
 * an unchanged need keeps its version and publishes nothing; a need without
 * match gets a new id. Needs of the current reply that the new one leaves out
 * are withdrawn (same id and version); the current reply becomes superseded.
 * The reply (body = the request bytes as received, which decode to r), its
 * summary, need list and per-standard answers are stored. Calls emit once per
 * added, revised, restored and withdrawn need (the caller publishes them after
 * the commit). Fills ack (strings from a).
 * A reply with the same content as the current one stores nothing and fills
 * ack for the current reply with repeat = true. A reply with the same content
 * as an older, superseded revision stores nothing: TAM_ESUPERSEDED, with the
 * answer's message in err.
 * Any error means the caller must not commit this request's writes.
 * Returns 0; TAM_ESUPERSEDED; emit's error; TAM_ENOMEM; TAM_ERANGE (id or
 * revision counters exhausted); TAM_ESTORE (a stored record does not decode);
 * store errors of tam_txn_put/get (TAM_EMAPFULL, TAM_ETOOBIG: return them so
 * the store grows). */
int tam_ingest_apply(tam_txn_t *txn, const tam_catalog_t *cat, const tam_reply_t *r,
                     const void *body, size_t body_len, uint32_t today, tam_ingest_emit_fn emit,
                     void *emit_arg, tam_arena_t *a, tam_submit_ack_t *ack, tam_rpc_error_t *err);

/* The same, recording by (the principal id of the request; NULL: none) as
 * the reply's "by" in its reply_info. tam_ingest_apply passes NULL. */
int tam_ingest_apply_by(tam_txn_t *txn, const tam_catalog_t *cat, const tam_reply_t *r,
                        const char *by, const void *body, size_t body_len, uint32_t today,
                        tam_ingest_emit_fn emit, void *emit_arg, tam_arena_t *a,
                        tam_submit_ack_t *ack, tam_rpc_error_t *err);

/* For a request answered from its stored answer: if the reply it carries is
 * the content of a revision that a later one has since superseded, fills err
 * ("reply 65 is superseded by revision 3, reply 67; nothing stored") and
 * returns TAM_ESUPERSEDED. Returns 0 otherwise (keep the stored answer);
 * TAM_ENOMEM; store errors. */
int tam_ingest_superseded(tam_txn_t *txn, const tam_reply_t *r, tam_arena_t *a,
                          tam_rpc_error_t *err);

/* ---- scratch buffers (ingest_ident.c) --------------------------------------- */

/* A msgpack output buffer whose memory comes from an arena: the records of a
 * reply are encoded with no malloc of their own (the arena is reset per
 * request and keeps its first block). Pass tam_ingest_buf_write and the
 * buffer to msgpack_packer_init. oom is set once a write could not grow it. */
typedef struct {
    char *data;
    size_t size, alloc;
    tam_arena_t *a;
    bool oom;
} tam_ingest_buf_t;

/* Empties b over arena a, with cap bytes reserved up front (0: none yet). */
void tam_ingest_buf_init(tam_ingest_buf_t *b, tam_arena_t *a, size_t cap);

/* The msgpack_packer write callback (data: a tam_ingest_buf_t). Returns 0;
 * -1 when the arena refuses (b->oom set). */
int tam_ingest_buf_write(void *data, const char *buf, size_t len);

/* ---- bodies (ingest_ident.c) ------------------------------------------------ */

/* Longest chunk of a stored body. LMDB keeps a value of more than about 2 KB
 * (with 4 KiB pages) in overflow pages of its own, whole pages each: a reply
 * of 2.1 KB took 8 KiB there. Chunks of at most this size share leaf pages. */
#define TAM_INGEST_BODY_CHUNK 1900

/* Stores the body of reply id (len bytes), in even chunks when longer than
 * TAM_INGEST_BODY_CHUNK; append: id is the largest reply id so far (the
 * writes append). Returns store codes; TAM_ETOOBIG (more than 65,535 chunks). */
int tam_ingest_body_put(tam_txn_t *txn, uint64_t id, const void *body, size_t len, bool append);

/* The body of reply id: *body points into the map (one chunk) or into a
 * (several, joined); valid while txn and a last. Returns 0; TAM_ENOTFOUND;
 * TAM_ENOMEM; TAM_ESTORE; store codes. */
int tam_ingest_body_get(tam_txn_t *txn, uint64_t id, tam_arena_t *a, const void **body,
                        size_t *len);

/* ---- identities, need lists, migration (ingest_ident.c) ------------------- */

/* SHA-256 of r encoded canonically (schema field order). Returns 0;
 * TAM_ENOMEM; TAM_EINTERNAL (r does not encode). */
int tam_ingest_digest(const tam_reply_t *r, uint8_t out[32]);

/* The same, encoding into memory from a (no malloc). */
int tam_ingest_digest_in(const tam_reply_t *r, tam_arena_t *a, uint8_t out[32]);

/* CHAIN (respondent NUL category NUL) into out (at least 67 bytes); its length. */
size_t tam_ingest_chain(uint8_t *out, const char *respondent, const char *category);

/* The identity key of a need: CHAIN + "r" country "/" ref (by_ref) or
 * CHAIN + "k" country "/" standard "/" modality, into out (at least
 * TAM_INGEST_IDENT_MAX bytes). Returns its length. */
#define TAM_INGEST_IDENT_MAX 256
size_t tam_ingest_ident(uint8_t *out, const char *respondent, const char *category,
                        const char *country, const char *standard, const char *modality,
                        const char *ref, bool by_ref);

/* The needs reply id declared: ids and versions (arrays from a, *n entries).
 * Returns 0; TAM_ENOTFOUND; TAM_ESTORE; TAM_ENOMEM. */
int tam_ingest_reply_needs(tam_txn_t *txn, uint64_t reply_id, tam_arena_t *a, uint64_t **ids,
                           uint32_t **versions, uint32_t *n);

/* Writes the need list of reply_id (n ids and versions), encoded in memory
 * from a (NULL: malloc). Returns store codes; TAM_ENOMEM. */
int tam_ingest_reply_needs_put(tam_txn_t *txn, uint64_t reply_id, const uint64_t *ids,
                               const uint32_t *versions, uint32_t n);
int tam_ingest_reply_needs_put_in(tam_txn_t *txn, tam_arena_t *a, uint64_t reply_id,
                                  const uint64_t *ids, const uint32_t *versions, uint32_t n);

/* Upgrades a store of schema version from (1 or 2) to
 * TAM_INGEST_SCHEMA_VERSION inside txn, one step after the other
 * (tam_store_opts_t.migrate; arg unused). Returns 0; TAM_ECONFIG (another
 * version); the steps' codes. */
int tam_ingest_migrate(tam_txn_t *txn, uint32_t from, void *arg);

/* Schema 1 -> 2: need lists, identities and digests of every stored reply.
 * Returns 0; TAM_ESTORE (a record does not decode); TAM_ENOMEM; store errors. */
int tam_ingest_migrate_v1_v2(tam_txn_t *txn);

/* Schema 2 -> 3: deletes from versions each need's latest version (kept in
 * needs), and cuts each body longer than TAM_INGEST_BODY_CHUNK into chunks.
 * *dropped (may be NULL) counts the versions deleted. Returns 0; TAM_ESTORE (a
 * record does not decode, a version without its need); TAM_ENOMEM; store
 * errors. */
int tam_ingest_migrate_v2_v3(tam_txn_t *txn, size_t *dropped);



/* ---- queries (ingest_query.c) --------------------------------------------- */

/* Checks the filters of a needs query (codes in the catalogue, state and
 * status names). Returns 0; TAM_EINVAL with every problem in err; TAM_ENOMEM. */
int tam_ingest_needs_check(const tam_catalog_t *cat, const tam_needs_query_t *q,
                           tam_rpc_error_t *err);

/* Writes the need_list answer of a checked query into out (initialised by
 * the caller). Returns 0; TAM_ENOMEM; TAM_ESTORE. */
int tam_ingest_needs_list(tam_txn_t *txn, const tam_catalog_t *cat, const tam_needs_query_t *q,
                          msgpack_sbuffer *out);

/* Same pair for ingest.replies. */
int tam_ingest_replies_check(const tam_catalog_t *cat, const tam_replies_query_t *q,
                             tam_rpc_error_t *err);
int tam_ingest_replies_list(tam_txn_t *txn, const tam_catalog_t *cat,
                            const tam_replies_query_t *q, msgpack_sbuffer *out);

/* Writes the reply_full answer of reply id into out.
 * Returns 0; TAM_ENOTFOUND; TAM_ENOMEM; TAM_ESTORE. */
int tam_ingest_reply_get(tam_txn_t *txn, uint64_t id, msgpack_sbuffer *out);

/* The feed snapshot: emits every open need whose topic starts with prefix
 * ("" = all), in topic order. Returns 0; emit's error; TAM_ENOMEM; TAM_ESTORE. */
int tam_ingest_snapshot(tam_txn_t *txn, const char *prefix, tam_feed_emit_fn emit,
                        void *emit_ctx);

/* Counts for logs and tests: stored replies, needs, open needs. */
int tam_ingest_counts(tam_txn_t *txn, size_t *replies, size_t *needs, size_t *open);

/* ---- the service (ingest_server.c) ----------------------------------------- */

typedef struct tam_ingest_server tam_ingest_server_t;

/* Loads the catalogue, opens the store in <data_dir>/ingest and binds the
 * feed (publisher and snapshot endpoints) in zctx. cfg must outlive the server.
 * Returns 0; TAM_ECONFIG (catalogue refused, store schema differs); TAM_EIO
 * (files, binds); TAM_ESTORE; TAM_ENOMEM. Problems are logged. */
int tam_ingest_server_new(tam_ingest_server_t **out, const tam_config_t *cfg, void *zctx);

/* Serves requests until SIGTERM/SIGINT, then returns 0 after the batch in
 * hand is committed and answered. Returns tam_service_run's codes
 * (TAM_EFATAL: the store failed; exit non-zero so a supervisor restarts). */
int tam_ingest_server_run(tam_ingest_server_t *s);

/* Closes everything; *s becomes NULL. */
void tam_ingest_server_destroy(tam_ingest_server_t **s);

#ifdef __cplusplus
}
#endif
#endif

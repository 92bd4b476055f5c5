/* tam/service.h — the loop every tamatch service runs: thin services on top.
 *
 * tam_service_run() is a single-threaded zmq_poll loop over
 *   - the request socket (a tam_rpc server bound to def->endpoint),
 *   - extra sources the service registers (its feed server, feed clients):
 *     each gives its poll items before every poll and is processed after it,
 *   - a timer callback, and SIGTERM/SIGINT (a self-pipe among the poll items).
 *
 * Group commit. After each poll the loop takes up to batch_max requests (and
 * batch_bytes of bodies) that are ready without blocking, under load waiting
 * up to batch_wait_ms for more, and classifies each by type:
 *   - writes run together in ONE tam_store_write. For each, in order:
 *     (1) the request id is looked up in the "requests" database (the service
 *         lists it among its dbs): if found, the stored answer is the answer
 *         and nothing new is written (a duplicate; def->duplicate may answer
 *         it with an error instead);
 *     (2) otherwise def->handle runs in a nested transaction (or, with
 *         def->flat_writes, in the group transaction itself): it validates,
 *         writes and fills an answer (ok body, or error) plus feed events.
 *         An error answer (or an error return) undoes everything that request
 *         wrote; the other requests of the batch go on;
 *     (3) an ok answer is encoded (tam_rpc_answer_encode) and stored under the
 *         request id in "requests", in the same nested transaction, so that a
 *         resend after a crash gets the same answer, byte for byte.
 *     If the map fills up, the store grows it and runs the whole write again:
 *     every answer and event of the batch is reset at the start of each run.
 *   - only after tam_store_write returned 0 (mdb_txn_commit succeeded) are the
 *     answers sent, then def->after_commit gets the events of the new ok
 *     answers, in request order, to publish.
 *   - reads then run in one read transaction (so a pipelined read sees the
 *     writes queued before it) and are answered by def->query.
 * Stored answers are pruned after def->request_retention_ms (tam/dedup.h);
 * a write whose dated id is older than that and not stored is answered
 * TAM_EEXPIRED without running handle.
 * Error answers are neither stored nor deduplicated: nothing was written, and
 * a resend is validated again. If the store fails fatally the loop logs it
 * (tam_crit) and returns TAM_EFATAL without answering: main exits non-zero
 * and the supervisor restarts the service; clients resend the same ids.
 *
 * The "requests" database belongs to the loop: its keys are
 * "<principal id>\0<request id>" (an id is unique per principal), its values
 * tam_rpc_answer_encode() bytes. Services must not write it.
 *
 * The loop answers one type itself: "service.stats" (read-only, any
 * principal), a map of the counters of tam_service_stats_t, then the LMDB
 * map's size and use (map_size, map_used: bytes) when the service has a
 * store, then the service's own def->gauges.
 */
#ifndef TAM_SERVICE_H
#define TAM_SERVICE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "tam/codec.h"
#include "tam/rpc.h"
#include "tam/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_SERVICE_REQUESTS_DB "requests"
#define TAM_SERVICE_STATS_TYPE "service.stats"
#define TAM_SERVICE_CATALOG_TYPE "catalog.get"
#define TAM_SERVICE_BATCH_DEFAULT 256
#define TAM_SERVICE_SOURCE_ITEMS 4 /* poll items one source may use */
#define TAM_SERVICE_STOP 1         /* a source's process may return it */

/* ---- answers ----------------------------------------------------------------- */

/* A feed event to publish after the commit: topic (NUL-terminated) and an
 * opaque body (the service's msgpack record). */
typedef struct {
    char *topic;
    void *body;
    size_t len;
} tam_event_t;

/* A list of events a request's writes will publish, in commit order,
 * for code that builds them before it has the answer in hand. */
typedef struct {
    tam_event_t *v;
    size_t n, cap;
} tam_events_t;

/* Appends a copy of (topic, body). Returns 0; TAM_EINVAL (topic empty or
 * longer than 255 bytes); TAM_ENOMEM. */
int tam_events_add(tam_events_t *e, const char *topic, const void *body, size_t len);

/* Frees the events past the first n (n = 0: all); the list stays usable. */
void tam_events_truncate(tam_events_t *e, size_t n);

/* Frees everything, the list itself included (zeroed). */
void tam_events_free(tam_events_t *e);

/* What a handler or query gives back, owned by the loop (handlers only fill
 * it through the functions below, or add problems to &out->error directly
 * with tam_rpc_error_set/add). It is an error answer as soon as error.code is
 * set; otherwise an ok answer once tam_answer_ok was called. */
typedef struct {
    bool ok;
    bool dry_run;          /* a write's ok answer to a dry run: the loop undoes the
                              handler's writes, publishes none of its events and keeps
                              no answer under the request id */
    void *body;            /* ok body: one msgpack object */
    size_t len;
    tam_rpc_error_t error; /* error answer when error.code != 0 */
    tam_event_t *events;
    size_t n_events;
    size_t cap_events_;    /* private */
    bool later;            /* a query's: the service answers it later (def->later takes
                              the request); nothing else of the answer is used */
} tam_answer_t;

/* Sets the ok body (one msgpack object, copied; NULL/0: nil), replacing any
 * earlier one. Returns 0; TAM_EINVAL (not one msgpack object); TAM_ENOMEM. */
int tam_answer_ok(tam_answer_t *a, const void *body, size_t len);

/* Same, taking ownership of a malloc'd body (freed also on failure). */
int tam_answer_ok_take(tam_answer_t *a, void *body, size_t len);

/* True if a is an error answer. */
bool tam_answer_is_error(const tam_answer_t *a);

/* Queues one event (topic and body copied) to publish after the commit if
 * this request's answer is ok. Returns 0; TAM_EINVAL (empty topic, NULL body
 * with len); TAM_ENOMEM. */
int tam_answer_event(tam_answer_t *a, const char *topic, const void *body, size_t len);

/* Frees everything a holds and empties it. */
void tam_answer_clear(tam_answer_t *a);

/* Appends a copy of every event of e to the answer's events. Returns 0;
 * TAM_ENOMEM. */
int tam_answer_events(tam_answer_t *a, const tam_events_t *e);

/* Decodes a request's body[0..len) with schema s into *out (from a), finding every
 * problem of the message (tam_decode_all): the first sets err's code, field
 * and message, and each one is listed in err (field path + message), so a
 * refused request names all that is wrong with it. Returns 0 or the first
 * problem's code. */
int tam_request_decode(const tam_schema_t *s, const void *body, size_t len, tam_arena_t *a,
                       void *out, tam_rpc_error_t *err);

/* The answer to catalog.get from the catalogue cat (proto/PROTOCOL.md, struct
 * catalogue), into out: an ok answer, or an error answer for a bad body.
 * The service loop calls it for a service whose def names its catalogue.
 * Returns 0, the body's problem code (out's error set), or TAM_ENOMEM. */
struct tam_catalog;
int tam_service_catalog_answer(const struct tam_catalog *cat, const tam_rpc_req_t *req,
                               tam_answer_t *out);

/* ---- a handler's workspace -------------------------------------------------- */

/* What a service's handlers build each answer in, reused from one request to
 * the next: the arena the request is decoded into, the answer body, and the
 * feed events the request's writes will publish. */
typedef struct {
    tam_arena_t *arena;
    msgpack_sbuffer body;
    tam_events_t events;
} tam_work_t;

/* Makes w's arena (cap bytes at most; 0: no cap) and empty body and events.
 * Returns 0; TAM_ENOMEM (w is then safe to tam_work_fini). */
int tam_work_init(tam_work_t *w, size_t cap);

/* Empties w for the next request: resets the arena, clears the body and the
 * events (their memory is kept). This function can't fail. */
void tam_work_begin(tam_work_t *w);

/* Turns a handler's outcome into the loop's answer: rc if it is non-zero;
 * else out's error code if the handler set one; else out becomes an ok
 * answer of w's body with w's events (0, or TAM_ENOMEM / TAM_EINVAL). */
int tam_work_finish(tam_work_t *w, int rc, tam_answer_t *out);

/* Frees what w holds (zeroed). */
void tam_work_fini(tam_work_t *w);

/* ---- the service ---------------------------------------------------------------- */

typedef enum {
    TAM_REQ_UNKNOWN = 0, /* the loop answers "unknown message type" (tam_rpc_error_unknown_type) */
    TAM_REQ_READ = 1,    /* answered by query from a read transaction */
    TAM_REQ_WRITE = 2,   /* answered by handle inside the group write */
} tam_req_kind_t;

/* A write handler (txn: a nested write transaction) or a query (txn: a read
 * transaction; NULL if the service has no store). Fills out. Returning a
 * negative code makes an error answer from it if out has none; for a write
 * it also undoes the request's writes. A handler that meets a store
 * condition (TAM_EMAPFULL...) must return it: the loop then aborts and
 * reruns the whole write. */
typedef int (*tam_handle_fn)(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out,
                             void *arg);

/* Something else the loop polls: a feed server or client, a pipe. */
typedef struct {
    /* Writes at most max (TAM_SERVICE_SOURCE_ITEMS) poll items; called before
     * every poll (sockets may change). Returns how many, or a negative code
     * (the loop stops and returns it). */
    int (*pollitems)(void *obj, zmq_pollitem_t *items, int max);
    /* Called after every poll with the items it gave (revents filled).
     * Returns 0; TAM_SERVICE_STOP to stop the loop gracefully; a negative
     * code to stop it with that code. */
    int (*process)(void *obj, const zmq_pollitem_t *items);
    /* Longest the loop may poll before process must run again (ms), or -1
     * for no limit. May be NULL. */
    int (*next_timeout_ms)(void *obj);
    void *obj;
} tam_service_source_t;

typedef struct {
    uint64_t requests;   /* requests handed to the loop (well formed) */
    uint64_t writes;     /* write requests handled (duplicates included) */
    uint64_t reads;      /* read requests answered (service.stats included) */
    uint64_t duplicates; /* writes answered from the requests db */
    uint64_t errors;     /* error answers sent (by the loop or the service) */
    uint64_t denied;     /* requests refused by authorize */
    uint64_t batches;    /* batches processed */
    uint64_t max_batch;  /* largest batch */
    uint64_t commits;    /* successful tam_store_write calls */
    uint64_t store_failures; /* tam_store_write calls that failed (answered with errors) */
    uint64_t undelivered;    /* answers the rpc layer could not deliver */
    uint64_t rejected;       /* malformed messages answered by the rpc layer */
    uint64_t reruns;         /* flat batches run again nested (flat_writes) */
    uint64_t pruned;         /* stored answers pruned from the requests db (retention) */
    uint64_t expired;        /* writes refused: dated id older than the retention */
} tam_service_stats_t;

/* A figure a service adds to its service.stats answer (e.g. tam-match's last
 * run duration); name is a static string, lower case with '_'. */
typedef struct {
    const char *name;
    int64_t value;
} tam_service_gauge_t;

typedef struct {
    const char *name;                 /* for logs, e.g. "ingest" */
    void *zctx;                       /* ZeroMQ context */
    const char *endpoint;             /* request endpoint to bind */
    const tam_rpc_limits_t *limits;   /* NULL: TAM_RPC_LIMITS_DEFAULT */
    tam_store_t *store;               /* NULL: a service without writes */
    unsigned batch_max;               /* 0: TAM_SERVICE_BATCH_DEFAULT */
    size_t batch_bytes;               /* request body bytes per batch at most (a
                                         request is taken whole; 0: no limit) */
    unsigned batch_wait_ms;           /* a batch below both limits that already
                                         holds more than one request waits this
                                         long at most for more (0: only those
                                         ready now; a lone request never waits) */
    /* Writes run directly in the group transaction, without a nested
     * transaction per request: for handlers that check everything before
     * they write. A request that fails having written nothing costs nothing;
     * one that fails after a write (tam_txn_writes changed) makes the loop
     * abort the group write and run the batch again with a nested
     * transaction per request, so that it is undone alone. */
    bool flat_writes;
    bool signals;                     /* stop on SIGTERM/SIGINT (handlers installed
                                         during the run, restored after) */

    /* Required: the kind of a message type. */
    tam_req_kind_t (*classify)(const char *type, void *arg);
    /* Optional: the loop answers catalog.get from it (tam_service_catalog_answer). */
    const struct tam_catalog *catalog;
    /* Optional: the one place the service checks the principal (req->principal)
     * against the type, before any handler runs. Returns 0, or a negative code
     * (TAM_EDENIED) with err filled (the loop fills a generic one if empty). */
    int (*authorize)(const tam_rpc_req_t *req, tam_rpc_error_t *err, void *arg);
    tam_handle_fn handle;             /* writes (required if store) */
    tam_handle_fn query;              /* reads (NULL: reads are answered "unknown") */
    /* Optional: a write whose request id is already stored gets the stored
     * answer, unless this hook fills out with an error answer (which is sent
     * instead, and not stored), e.g. because what the request stored has
     * since been replaced. txn is the group write transaction: read it, never
     * write it. Returns 0 (leave out empty to keep the stored answer), or a
     * negative code (with out's error set, or a generic one is made). */
    int (*duplicate)(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg);
    /* Optional: the events of the committed ok answers, in request order. */
    void (*after_commit)(const tam_event_t *events, size_t n, void *arg);
    /* Optional: called once before the first poll and then whenever due;
     * sets *next_ms (-1: not again). Returns 0; TAM_SERVICE_STOP to stop
     * gracefully; a negative code to stop the loop with it. */
    int (*timer)(void *arg, int *next_ms);
    /* Optional: called once the endpoint is bound (the actual endpoint). */
    void (*ready)(const char *endpoint, void *arg);

    const tam_service_source_t *sources;
    size_t nsources;

    tam_service_stats_t *stats;       /* optional: kept current by the loop's thread */

    /* Duplicate detection (tam/dedup.h): how long stored answers are kept
     * (0: TAM_DEDUP_RETENTION_DEFAULT_MS; services pass [common]
     * request_retention); the loop prunes older ones, a bounded number per
     * transaction, between batches. */
    int64_t request_retention_ms;
    /* Optional: the wall clock in ms since the epoch for answer ages and
     * dated ids (NULL: CLOCK_REALTIME). For tests that simulate days. */
    int64_t (*clock_ms)(void *arg);
    /* Optional: fills at most cap gauges of the service's own for
     * service.stats (in the loop's thread); returns how many. */
    size_t (*gauges)(tam_service_gauge_t *out, size_t cap, void *arg);
    /* Optional: a query that sets out->later (and returns 0) is not answered
     * now: once its batch is done the loop hands the request to later, which
     * owns it from then on (tam_rpc_req_free) and answers it with
     * tam_service_reply from the loop's thread (e.g. in a source's process),
     * so that slow work runs beside the loop while other requests are
     * answered. Without later, out->later is ignored. */
    void (*later)(tam_rpc_req_t *req, void *arg);
} tam_service_def_t;

/* Sends the answer a (an ok body, or its error; an empty answer becomes an
 * internal error) to a request taken by def->later, from the thread of the
 * loop that handed it over, while that loop runs. Does not free req or a.
 * Returns 0; TAM_ESTATE (no loop runs in this thread). */
int tam_service_reply(const tam_rpc_req_t *req, tam_answer_t *a);

/* Runs the loop until SIGTERM/SIGINT (if def->signals) or a source or the
 * timer asks to stop, then finishes nothing more than the batch in hand (it is always
 * committed and answered before the next poll) and returns.
 * Returns 0 on a graceful stop; TAM_EINVAL (bad def); TAM_ESTATE (another
 * loop with signals runs in this process); the rpc server's bind errors;
 * TAM_EFATAL (the store failed fatally: exit non-zero); a source's or the
 * timer's negative code; TAM_EIO (poll failed, e.g. context terminated);
 * TAM_ENOMEM. */
int tam_service_run(const tam_service_def_t *def, void *arg);

#ifdef __cplusplus
}
#endif
#endif

/* tam/feed.h — sequenced state feeds: the ZeroMQ Guide's Clone pattern.
 *
 * A service owns one feed server: a PUB socket on which every change of its
 * state goes out as an update [topic][meta][body] stamped with the server's
 * epoch and a sequence number, and a ROUTER socket that streams a snapshot of
 * the current state (the records whose topic starts with a prefix) followed by
 * the sequence the snapshot reflects. A subscriber owns a feed client, which
 * subscribes first, then asks for the snapshot, drops updates not newer than
 * it, and resynchronises (on_reset + new snapshot) when it sees a gap, an
 * epoch change or a silence. PUB/SUB drops messages at its high-water mark;
 * this protocol is what makes subscribers end up with the server's state
 * anyway. The wire protocol is in proto/FEED.md.
 *
 * Both classes are driven from the caller's zmq_poll loop: get the poll items
 * (again before every poll: the client recreates its sockets when it
 * reconnects), poll with at most next_timeout_ms, then call process. Each
 * object and its sockets belong to one thread.
 *
 * Topics are byte strings chosen by the service ("need/KEN/A"), 1 to
 * TAM_FEED_TOPIC_MAX bytes; topics starting with '~' are reserved for control
 * messages ("~hb", the heartbeat). Bodies are opaque bytes (the service's
 * msgpack record), at most TAM_FEED_BODY_MAX bytes; an empty body is allowed
 * (its meaning, e.g. a deletion, is the service's business).
 */
#ifndef TAM_FEED_H
#define TAM_FEED_H
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_FEED_TOPIC_MAX 256          /* bytes in a topic or prefix */
#define TAM_FEED_BODY_MAX (1u << 20)    /* bytes in a body (1 MiB) */
#define TAM_FEED_PREFIXES_MAX 16        /* prefixes per client / snapshot request */
#define TAM_FEED_HEARTBEAT_TOPIC "~hb"

typedef struct tam_feed_server_t tam_feed_server_t;
typedef struct tam_feed_client_t tam_feed_client_t;

/* ---- server ------------------------------------------------------------ */

/* Given by the server to the snapshot callback: adds one record to the
 * snapshot (copied: the server sends it later, in slices).
 * Returns 0; TAM_EINVAL (empty topic, topic starting with '~', NULL data with
 * non-zero length), TAM_ETOOBIG (topic or body over its cap) or TAM_ENOMEM.
 * After an error the snapshot is already failed (nothing of it is sent): the
 * callback should stop and return it. Records whose topic does not start
 * with the requested prefix are skipped (returns 0). */
typedef int (*tam_feed_emit_fn)(void *emit_ctx, const char *topic, size_t topic_len,
                                const void *body, size_t body_len);

/* The service's snapshot: calls emit once per record whose topic starts with
 * prefix (a NUL-terminated string, "" = everything) and returns 0, or a
 * negative code if it cannot produce the snapshot (the requester gets an
 * "err" answer and retries later). Runs inside tam_feed_server_process, so
 * the state it reads reflects exactly the updates published so far. */
typedef int (*tam_feed_snapshot_fn)(const char *prefix, tam_feed_emit_fn emit, void *emit_ctx,
                                    void *arg);

typedef struct {
    uint64_t published;        /* updates sent */
    uint64_t heartbeats;       /* heartbeats sent */
    uint64_t snapshots;        /* snapshots answered with "end" */
    uint64_t snapshot_records; /* "rec" messages sent */
    uint64_t snapshot_failed;  /* snapshot callback or emit failed: answered "err" */
    uint64_t bad_requests;     /* malformed snapshot requests: answered "err" */
    uint64_t peers_gone;       /* requester disconnected before the answer */
    uint64_t snapshots_abandoned; /* requester did not read: snapshot stopped, later requests refused */
    uint64_t subscriber_drops; /* every subscriber dropped: subscriptions over the caps */
} tam_feed_server_stats_t;

/* Creates a server: binds a PUB socket on pub_endpoint and a ROUTER socket on
 * snapshot_endpoint in context zctx, draws a random non-zero epoch, and
 * sends a heartbeat whenever nothing was published for heartbeat_ms.
 * snapshot_fn(prefix, emit, emit_ctx, arg) answers snapshot requests.
 * Returns 0 and sets *out; TAM_EINVAL (NULL argument, heartbeat_ms <= 0),
 * TAM_ENOMEM, TAM_EIO (socket creation, getrandom, or bind failed — logged
 * with the endpoint). On error *out is NULL. */
int tam_feed_server_new(tam_feed_server_t **out, void *zctx, const char *pub_endpoint,
                        const char *snapshot_endpoint, int heartbeat_ms,
                        tam_feed_snapshot_fn snapshot_fn, void *arg);

/* Closes the sockets (PUB lingers at most 100 ms) and frees the server; sets
 * *s to NULL. Accepts NULL and *s == NULL. */
void tam_feed_server_destroy(tam_feed_server_t **s);

/* Stamps the next sequence number and sends [topic][epoch,seq][body].
 * topic is a NUL-terminated string; body may be NULL when len is 0.
 * Returns 0; TAM_EINVAL (NULL, empty topic, topic starting with '~'),
 * TAM_ETOOBIG (topic or body over its cap; no sequence consumed), TAM_EIO
 * (send failed; the sequence number is consumed, so subscribers see a gap
 * and resync). */
int tam_feed_server_publish(tam_feed_server_t *s, const char *topic, const void *body, size_t len);

/* Writes the server's two poll items into items[0..1]: its snapshot socket
 * (ZMQ_POLLIN; no events while 16 snapshots are in progress, or while those
 * in progress hold 64 MiB: new requests wait) and its PUB (an XPUB, ZMQ_POLLIN: subscriptions, counted against
 * caps of 4,096 distinct topics and 256 KiB; going over drops every
 * subscriber, who reconnect and resync). Returns 2, or TAM_EINVAL if
 * max < 2 or an argument is NULL. */
int tam_feed_server_pollitems(tam_feed_server_t *s, zmq_pollitem_t *items, int max);

/* Answers pending snapshot requests (at most 16 per call, of which one
 * snapshot is produced; a request that is malformed gets an "err" answer),
 * sends one slice of the snapshots in progress (at most 512 records over all
 * requesters, never waiting for one; a requester that takes nothing for
 * 500 ms is abandoned and its later requests refused), and a heartbeat if
 * one is due.
 * items (may be NULL) are the polled items, used only as a readiness hint.
 * Returns 0, or TAM_EIO when a socket fails (e.g. the context was
 * terminated). Never fails because of what a peer sent. */
int tam_feed_server_process(tam_feed_server_t *s, const zmq_pollitem_t *items);

/* Milliseconds until the next heartbeat is due, or until the next slice of
 * a snapshot in progress (0, or 2 while every requester's queue is full)
 * (>= 0): the longest the caller may poll before calling
 * tam_feed_server_process again. */
int tam_feed_server_next_timeout_ms(const tam_feed_server_t *s);

/* The last sequence number published (0 before the first publish). */
uint64_t tam_feed_server_seq(const tam_feed_server_t *s);

/* The server's epoch: random, non-zero, new on every tam_feed_server_new. */
uint64_t tam_feed_server_epoch(const tam_feed_server_t *s);

/* Copies the counters into *out. */
void tam_feed_server_stats(const tam_feed_server_t *s, tam_feed_server_stats_t *out);

/* Test hook: advances the sequence by n without sending anything, so that
 * subscribers see a gap. Returns 0, or TAM_EINVAL if s is NULL. */
int tam_feed_server_skip(tam_feed_server_t *s, uint64_t n);

/* ---- client ------------------------------------------------------------ */

/* A record for the user's state. From a snapshot (from_snapshot = 1) seq is
 * 0: the snapshot's sequence arrives with on_synced. From an update
 * (from_snapshot = 0) seq is the update's sequence. topic is not
 * NUL-terminated; topic and body are valid only during the call. */
typedef void (*tam_feed_record_fn)(const char *topic, size_t topic_len, const void *body,
                                   size_t body_len, uint64_t seq, int from_snapshot, void *arg);
/* The user's state is no longer valid: drop it; a new snapshot follows. */
typedef void (*tam_feed_reset_fn)(void *arg);
/* The snapshot is complete: the user's state equals the server's at seq.
 * Updates after seq follow through on_record. */
typedef void (*tam_feed_synced_fn)(uint64_t seq, void *arg);

typedef struct {
    tam_feed_record_fn on_record; /* required */
    tam_feed_reset_fn on_reset;   /* may be NULL */
    tam_feed_synced_fn on_synced; /* may be NULL */
    void *arg;                    /* passed to every callback */
} tam_feed_callbacks_t;

/* Limits and timers; a zero field takes its default. */
typedef struct {
    int silence_ms;            /* no update or heartbeat for this long: reconnect + resync (3000) */
    int snapshot_timeout_ms;   /* snapshot unanswered (or silent mid-stream) this long: retry (2000) */
    size_t max_frame;          /* ZMQ_MAXMSGSIZE on both sockets (TAM_FEED_BODY_MAX) */
    size_t max_queue;          /* updates held while a snapshot is pending (100000) */
    size_t max_queue_bytes;    /* bytes held while a snapshot is pending (64 MiB) */
} tam_feed_client_opts_t;

typedef struct {
    uint64_t updates;           /* updates delivered to on_record */
    uint64_t filtered;          /* updates outside our prefixes (sequence tracked, not delivered) */
    uint64_t stale;             /* updates dropped because seq <= the state's seq */
    uint64_t heartbeats;        /* heartbeats received */
    uint64_t snapshot_requests; /* snapshot requests sent */
    uint64_t snapshots;         /* snapshots completed (on_synced calls) */
    uint64_t snapshot_records;  /* snapshot records delivered */
    uint64_t snapshot_errors;   /* "err" answers */
    uint64_t snapshot_timeouts; /* requests retried after snapshot_timeout_ms without answer */
    uint64_t queued;            /* updates and heartbeats queued while a snapshot was pending */
    uint64_t resyncs;           /* snapshot requests after the first, for any reason below */
    uint64_t gaps;              /* sequence gap (update or heartbeat ahead of us) */
    uint64_t epoch_changes;     /* update or heartbeat from another epoch */
    uint64_t silences;          /* reconnects after silence_ms without traffic */
    uint64_t resets;            /* on_reset calls */
    uint64_t queue_dropped;     /* updates dropped because the pending queue was full */
    uint64_t malformed;         /* messages dropped as malformed */
    int64_t last_rx_ms;         /* CLOCK_MONOTONIC ms of the last valid update/heartbeat */
} tam_feed_client_stats_t;

/* Creates a client in context zctx: connects a SUB socket to pub_endpoint
 * and a DEALER to snapshot_endpoint and sends the first snapshot request.
 * prefixes[0..nprefixes) select the topics delivered (NULL/0 or any "" =
 * everything); the client still receives every update and filters locally,
 * so that it can detect gaps (see proto/FEED.md). cb->on_record is required;
 * opts may be NULL (defaults). Callbacks run inside process/run and must not
 * destroy the client.
 * Returns 0 and sets *out; TAM_EINVAL (NULL argument, prefix starting with
 * '~'), TAM_ETOOBIG (more than TAM_FEED_PREFIXES_MAX prefixes or one longer
 * than TAM_FEED_TOPIC_MAX), TAM_ENOMEM, TAM_EIO (socket or connect failed).
 * On error *out is NULL. */
int tam_feed_client_new(tam_feed_client_t **out, void *zctx, const char *pub_endpoint,
                        const char *snapshot_endpoint, const char *const *prefixes,
                        size_t nprefixes, const tam_feed_callbacks_t *cb,
                        const tam_feed_client_opts_t *opts);

/* Closes the sockets (linger 0), frees queued updates and the client; sets
 * *c to NULL. Accepts NULL and *c == NULL. */
void tam_feed_client_destroy(tam_feed_client_t **c);

/* Writes the client's poll items (update and snapshot sockets, POLLIN)
 * into items. Call it before every poll: the sockets change on reconnect.
 * Returns the number written: 2, or fewer only after a reconnect failed
 * (process retries it; a socket that does not exist is not polled);
 * TAM_EINVAL if max < 2 or an argument is NULL. */
int tam_feed_client_pollitems(tam_feed_client_t *c, zmq_pollitem_t *items, int max);

/* Receives pending updates and snapshot messages (at most 1024 per socket
 * per call), runs the callbacks, and acts on due timers (silence, snapshot
 * retry). items (may be NULL) are used only as a readiness hint.
 * Returns 0; TAM_ENOMEM or TAM_EIO (a socket could not be created or failed,
 * e.g. the context was terminated). Never fails because of what a peer sent. */
int tam_feed_client_process(tam_feed_client_t *c, const zmq_pollitem_t *items);

/* Milliseconds until the next timer is due (>= 0). */
int tam_feed_client_next_timeout_ms(const tam_feed_client_t *c);

/* Convenience: polls the client's own sockets for at most timeout_ms (less
 * if a timer is due sooner; < 0 = until a timer), then processes.
 * Returns 0 (also when interrupted by a signal), or an error of process;
 * TAM_EIO if zmq_poll fails otherwise. */
int tam_feed_client_run(tam_feed_client_t *c, int timeout_ms);

/* 1 when the user's state equals the server's at tam_feed_client_seq. */
int tam_feed_client_synced(const tam_feed_client_t *c);

/* The sequence the user's state reflects, and the epoch of the server it
 * came from; both 0 while not synced. */
uint64_t tam_feed_client_seq(const tam_feed_client_t *c);
uint64_t tam_feed_client_epoch(const tam_feed_client_t *c);

/* Copies the counters into *out. */
void tam_feed_client_stats(const tam_feed_client_t *c, tam_feed_client_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif

/* tam/rpc.h — request/reply over ZeroMQ: client DEALER -> server ROUTER.
 *
 * The wire protocol is written down in proto/RPC.md. In short:
 *   request  ["", envelope {"v":1, "type":T, "id":I}, body]
 *   answer   ["", envelope {"v":1, "type":T, "id":I, "status":"ok"|"error"}, body]
 * Every frame is one msgpack object (the delimiter is empty). The id is chosen
 * by the client (1..64 of [A-Za-z0-9._:-]) and is also the idempotency key: a
 * resend of the same id gets the same answer. An error answer's body is
 * {"code", "message", "field", "errors": [{"code", "field", "message"}...]}.
 *
 * The server layer answers envelope problems itself (bad frames, not msgpack,
 * hostile sizes, wrong version, bad id or type), so a service only sees well
 * formed requests whose body passed the msgpack pre-pass (tam/mpcheck.h).
 * Everything received, by server and client alike, is validated before use:
 * a hostile peer gets an error answer or is ignored, never a crash.
 *
 * Sockets belong to the thread that created the server or client.
 */
#ifndef TAM_RPC_H
#define TAM_RPC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tam/mpcheck.h"
#include "tam/principal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_RPC_VERSION 1
#define TAM_RPC_ID_MAX 64                /* longest request id */
#define TAM_RPC_TYPE_MAX 64              /* longest message type */
#define TAM_RPC_FIELD_MAX 159            /* longest field path kept in an error */
#define TAM_RPC_MESSAGE_MAX 255          /* longest error message kept */
#define TAM_RPC_ERRORS_MAX 100           /* validation errors kept per answer */
#define TAM_RPC_ENVELOPE_MAX 512         /* largest envelope frame accepted */
#define TAM_RPC_FRAMES 3                 /* delimiter, envelope, body */
#define TAM_RPC_MAX_FRAME_DEFAULT (4u << 20)
#define TAM_RPC_CLIENT_MAX_FRAME (64u << 20) /* largest answer frame a client takes */
#define TAM_RPC_LINGER_MS 1000           /* server: time to flush answers at close */
#define TAM_RPC_ANSWER_HWM 4096          /* answers queued per peer (server, client RCVHWM) */
#define TAM_RPC_PIPE_HWM 4               /* of them in libzmq's pipe (server SNDHWM) */
#define TAM_RPC_PEER_BYTES (2u << 20)    /* bytes of answers waiting per peer beyond the pipe */
#define TAM_RPC_STUCK_MS 10000           /* a peer that takes no answer this long loses them */

enum { TAM_RPC_OK = 0, TAM_RPC_ERROR = 1 }; /* answer status */

/* ---- errors --------------------------------------------------------------- */

typedef struct {
    int code;                              /* TAM_E*: this problem's own code */
    char field[TAM_RPC_FIELD_MAX + 1];
    char message[TAM_RPC_MESSAGE_MAX + 1];
} tam_rpc_field_error_t;

/* An error answer. Zero-initialise (or tam_rpc_error_init) before use and
 * release with tam_rpc_error_clear. field/message describe the first
 * problem; errors lists every problem found, the first one included. */
typedef struct {
    int code;                              /* TAM_E*; wire name tam_errname(code) */
    char field[TAM_RPC_FIELD_MAX + 1];     /* path of the first offending field, "" = whole */
    char message[TAM_RPC_MESSAGE_MAX + 1]; /* human text */
    size_t n;                              /* entries in errors */
    size_t dropped;                        /* problems beyond TAM_RPC_ERRORS_MAX, not kept */
    tam_rpc_field_error_t *errors;         /* owned */
    size_t cap_;                           /* private */
} tam_rpc_error_t;

/* Sets e to an empty error (no allocation). */
void tam_rpc_error_init(tam_rpc_error_t *e);

/* Sets the code and the first problem (field may be NULL = ""); appends it to
 * the list if the list is empty. Texts longer than the buffers are cut at a
 * UTF-8 character boundary. Returns 0; TAM_EINVAL (NULL e, or code >= 0);
 * TAM_ENOMEM (the list entry could not be added; top level still set). */
int tam_rpc_error_set(tam_rpc_error_t *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends one problem; the first one also becomes the top-level field and
 * message, and a still-unset code becomes TAM_EINVAL. Past TAM_RPC_ERRORS_MAX
 * entries only e->dropped counts. Returns 0; TAM_EINVAL (NULL e); TAM_ENOMEM. */
int tam_rpc_error_add(tam_rpc_error_t *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As tam_rpc_error_add, with the problem's own code (code < 0); the first
 * problem's code also becomes e->code if that is still unset. The entry added by
 * tam_rpc_error_add has code e->code when it is the first, TAM_EINVAL otherwise. */
int tam_rpc_error_add_code(tam_rpc_error_t *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The answer a service gives to a message type it does not know:
 * code TAM_EUNKNOWN, field "envelope.type". Returns as tam_rpc_error_set. */
int tam_rpc_error_unknown_type(tam_rpc_error_t *e, const char *type);

/* Frees the list and empties e. Safe on a zeroed or cleared error. */
void tam_rpc_error_clear(tam_rpc_error_t *e);

/* Encodes e as an error answer body (msgpack map; code 0 is sent as
 * "internal"). *out is malloc'd, the caller frees it.
 * Returns 0; TAM_EINVAL; TAM_ENOMEM. */
int tam_rpc_error_encode(const tam_rpc_error_t *e, void **out, size_t *out_len);

/* Decodes an error answer body received from a peer into e (cleared first).
 * Tolerant of what it cannot use (unknown keys, over-long texts are cut,
 * control characters become '?'), strict on shape. An unknown code name
 * becomes TAM_EINTERNAL. Returns 0; TAM_EPROTO (not a map of the expected
 * shape: e then says so, with code TAM_EPROTO); pre-pass codes; TAM_ENOMEM. */
int tam_rpc_error_decode(const void *buf, size_t len, tam_rpc_error_t *e);

/* ---- envelope ------------------------------------------------------------- */

typedef struct {
    unsigned v;                       /* protocol version */
    char type[TAM_RPC_TYPE_MAX + 1];  /* "" when absent or invalid */
    char id[TAM_RPC_ID_MAX + 1];      /* "" when absent or invalid */
    int status;                       /* answers: TAM_RPC_OK / TAM_RPC_ERROR; requests: -1 */
    char obo[TAM_PRINCIPAL_ID_MAX + 1]; /* requests: "on behalf of" this identity, "" = none
                                           (key "obo"; only a gateway key may send it,
                                           tam_principal_on_behalf) */
} tam_rpc_envelope_t;

/* True if s[0..n) is a valid request id: 1..TAM_RPC_ID_MAX of [A-Za-z0-9._:-]. */
bool tam_rpc_id_valid(const char *s, size_t n);

/* True if s[0..n) is a valid message type: 1..TAM_RPC_TYPE_MAX of [A-Za-z0-9._-]. */
bool tam_rpc_type_valid(const char *s, size_t n);

/* Encodes an envelope (a request's when env->status < 0, else an answer's)
 * into buf[0..cap). type and id must be valid; an answer (status >= 0) may
 * also carry an empty one (the echo of an invalid one). Returns 0 and *len; TAM_EINVAL;
 * TAM_ETRUNC (cap too small; 256 bytes always suffice). */
int tam_rpc_envelope_encode(const tam_rpc_envelope_t *env, void *buf, size_t cap, size_t *len);

/* Decodes and validates an envelope frame. answer: also require "status",
 * and accept an empty id and type (the answer to a request that could not be
 * identified; it matches no request). Unknown keys are ignored. On error, err (if not NULL) lists every problem
 * with fields "envelope", "envelope.v", "envelope.type", "envelope.id",
 * "envelope.status", and env still holds the id and type if those were valid
 * (so the error answer can name them; each independently of the other, and
 * with a repeated key too, unless it is the id with two different values).
 * Returns 0; the code of the first
 * problem (TAM_ETOOBIG, TAM_ETRUNC, TAM_EDEPTH, TAM_EPROTO, TAM_ETYPE,
 * TAM_EMISSING, TAM_EINVAL); TAM_ENOMEM. */
int tam_rpc_envelope_decode(const void *buf, size_t len, bool answer, tam_rpc_envelope_t *env,
                            tam_rpc_error_t *err);

/* ---- stored answers ------------------------------------------------------- */

/* Encodes an answer (status + body) as one msgpack value, the form a service
 * stores under the request id for deduplication and later sends with
 * tam_rpc_server_reply_stored. body (one msgpack object; NULL/0: nil) is
 * copied. *out is malloc'd. Returns 0; TAM_EINVAL (bad status, body not one
 * msgpack object); TAM_ENOMEM. */
int tam_rpc_answer_encode(int status, const void *body, size_t len, void **out, size_t *out_len);

/* Splits stored answer bytes (as from tam_rpc_answer_encode) into status and
 * body; body points into bytes. Returns 0; TAM_EPROTO (not a stored answer). */
int tam_rpc_answer_split(const void *bytes, size_t len, int *status, const void **body,
                         size_t *body_len);

/* ---- server --------------------------------------------------------------- */

typedef struct {
    size_t max_frame;                  /* bytes per frame, ZMQ_MAXMSGSIZE (0: default) */
    unsigned max_frames;               /* frames kept per request after the routing id
                                          (0 or < 3: 3); more are drained and refused */
    const tam_mp_limits_t *body_limits; /* pre-pass of bodies (NULL: TAM_MP_LIMITS_DEFAULT) */
} tam_rpc_limits_t;

/* 4 MiB frames, 3 frames, default pre-pass limits. */
extern const tam_rpc_limits_t TAM_RPC_LIMITS_DEFAULT;

typedef struct tam_rpc_server tam_rpc_server_t;

/* A well-formed request, owned by the caller of tam_rpc_server_recv. */
typedef struct {
    char id[TAM_RPC_ID_MAX + 1];
    char type[TAM_RPC_TYPE_MAX + 1];
    tam_principal_t principal;  /* from the connection (tam/principal.h) */
    uint8_t *body;              /* one msgpack object that passed the pre-pass */
    size_t body_len;
    /* private: where the answer goes */
    uint8_t route_[256];
    size_t route_len_;
} tam_rpc_req_t;

typedef struct {
    uint64_t requests;  /* well-formed requests handed out */
    uint64_t rejected;  /* messages answered (or dropped) by the layer itself */
    uint64_t answers;   /* answers queued for sending */
    uint64_t undelivered; /* answers dropped: peer gone or its queue full */
} tam_rpc_server_stats_t;

/* Creates a ROUTER (ROUTER_MANDATORY, LINGER, MAXMSGSIZE) bound to endpoint
 * ("ipc://...", "tcp://127.0.0.1:*", "inproc://..."). lim NULL: defaults.
 * Returns 0; TAM_EINVAL (bad arguments or endpoint); TAM_EIO (bind failed,
 * e.g. address in use); TAM_ENOMEM. */
int tam_rpc_server_new(tam_rpc_server_t **out, void *zctx, const char *endpoint,
                       const tam_rpc_limits_t *lim);

/* Closes the socket (answers still queued get TAM_RPC_LINGER_MS to leave);
 * *s becomes NULL. */
void tam_rpc_server_destroy(tam_rpc_server_t **s);

/* The ZeroMQ socket, for zmq_poll (ZMQ_POLLIN). Never NULL for a live server. */
void *tam_rpc_server_socket(tam_rpc_server_t *s);

/* The endpoint actually bound (a wildcard port resolved); never NULL. */
const char *tam_rpc_server_endpoint(const tam_rpc_server_t *s);

/* Receives the next well-formed request without blocking. Malformed messages
 * met on the way are answered with an error (or dropped if unanswerable) and
 * skipped. Returns 0 with *req set, or 0 with *req NULL when nothing is
 * ready (poll again); TAM_EINVAL; TAM_ENOMEM; TAM_EIO (socket error). */
int tam_rpc_server_recv(tam_rpc_server_t *s, tam_rpc_req_t **req);

/* Sends an ok answer; body is one msgpack object (NULL/0: nil). Never blocks.
 * Returns 0; TAM_EINVAL (body not one msgpack object); TAM_EUNAVAIL (peer gone
 * or its queue full: the answer is dropped, a resend will get it);
 * TAM_ENOMEM; TAM_EIO. */
int tam_rpc_server_reply_ok(tam_rpc_server_t *s, const tam_rpc_req_t *req, const void *body,
                            size_t len);

/* Sends an error answer built from e. Returns as tam_rpc_server_reply_ok. */
int tam_rpc_server_reply_error(tam_rpc_server_t *s, const tam_rpc_req_t *req,
                               const tam_rpc_error_t *e);

/* Sends an answer stored by tam_rpc_answer_encode. Returns as reply_ok;
 * TAM_EPROTO if bytes are not a stored answer. */
int tam_rpc_server_reply_stored(tam_rpc_server_t *s, const tam_rpc_req_t *req, const void *bytes,
                                size_t len);

/* Answers to a peer that does not take them at once wait in the server, per
 * peer, up to TAM_RPC_PEER_BYTES bytes and TAM_RPC_ANSWER_HWM answers (the
 * rest are dropped: the client resends the same id); a peer that takes none
 * for TAM_RPC_STUCK_MS, or is gone, loses them. This sends what the peers
 * take now; call it on every turn of the loop. Returns the longest the loop
 * may poll before calling it again (ms), or -1 when nothing waits. */
int tam_rpc_server_flush(tam_rpc_server_t *s);

/* The same, for a loop that has just answered a batch: a peer whose pipe
 * (TAM_RPC_PIPE_HWM answers) is full is waited for, at most wait_ms for each
 * answer it takes, while budget_ms has not passed; a peer that takes none in
 * wait_ms is left to later flushes. Without it a pipelining client gets
 * TAM_RPC_PIPE_HWM answers per turn of the loop, so its next requests come
 * in batches of that size. Returns as tam_rpc_server_flush. */
int tam_rpc_server_drain(tam_rpc_server_t *s, int wait_ms, int budget_ms);

/* Bytes of answers waiting in the server (see tam_rpc_server_flush). */
size_t tam_rpc_server_backlog(const tam_rpc_server_t *s);

/* Copies the counters into *out. */
void tam_rpc_server_stats(const tam_rpc_server_t *s, tam_rpc_server_stats_t *out);

/* Frees a request; *req becomes NULL. */
void tam_rpc_req_free(tam_rpc_req_t **req);

/* ---- client --------------------------------------------------------------- */

typedef struct tam_rpc_client tam_rpc_client_t;

/* An answer, owned by the caller: zero-initialise, release with
 * tam_rpc_answer_clear (also before reuse). */
typedef struct {
    int status;                      /* TAM_RPC_OK / TAM_RPC_ERROR */
    char id[TAM_RPC_ID_MAX + 1];
    char type[TAM_RPC_TYPE_MAX + 1];
    uint8_t *body;                   /* one msgpack object (passed the pre-pass); owned */
    size_t len;
    tam_rpc_error_t error;           /* decoded when status is TAM_RPC_ERROR */
} tam_rpc_answer_t;

void tam_rpc_answer_clear(tam_rpc_answer_t *a);

/* Creates a DEALER connected to endpoint (plus a socket monitor, so that an
 * unreachable server is told from a slow one; not for inproc://). timeout_ms (> 0) bounds each attempt;
 * retries (>= 0) is how many times a call is resent. Returns 0; TAM_EINVAL;
 * TAM_ENOMEM; TAM_EIO. */
int tam_rpc_client_new(tam_rpc_client_t **out, void *zctx, const char *endpoint, int timeout_ms,
                       int retries);

/* "On behalf of": the requests c sends from now on name the identity name
 * (a key name in the trust store) in their envelope, and the service takes
 * that person as the principal, if this process's key has the gateway role
 * (else it refuses them: denied, field envelope.obo). NULL or "": none.
 * Returns 0; TAM_EINVAL (name longer than TAM_PRINCIPAL_ID_MAX or invalid). */
int tam_rpc_client_on_behalf(tam_rpc_client_t *c, const char *name);

/* Closes the socket (unsent requests are dropped); *c becomes NULL. */
void tam_rpc_client_destroy(tam_rpc_client_t **c);

/* Writes a fresh request id, dated (tam/dedup.h): "t" + the time in ms as
 * 11 hex digits + "-" + 80 random bits as 20 hex digits (33 characters).
 * Returns 0; TAM_EIO (no randomness). */
int tam_rpc_new_id(char out[TAM_RPC_ID_MAX + 1]);

/* One synchronous call with a fresh id (Lazy Pirate): sends, waits up to the
 * timeout for the answer with that id (others are stale and dropped); on
 * timeout closes the socket, reconnects and resends the SAME id, up to
 * retries times. An error answer is a successful call: check ans->status.
 * Returns 0 (ans filled); TAM_EUNAVAIL (no connection to the server could be
 * made in the last attempt); TAM_ETIMEOUT (connected, no answer in time);
 * TAM_EDENIED (the server refused the handshake in the last attempt: in
 * curve mode, our key is not in its trust store, or not for this socket);
 * TAM_EINVAL (bad id, type or body); TAM_ENOMEM; TAM_EIO. */
int tam_rpc_call(tam_rpc_client_t *c, const char *type, const void *body, size_t len,
                 tam_rpc_answer_t *ans);

/* Same with the caller's id (a resend after the caller's own crash).
 * TAM_EINVAL also for an invalid id. */
int tam_rpc_call_id(tam_rpc_client_t *c, const char *id, const char *type, const void *body,
                    size_t len, tam_rpc_answer_t *ans);

/* Pipelining: queues one request without waiting for its answer (it leaves
 * once connected; waits up to the timeout for room if the queue is full).
 * Returns 0; TAM_EUNAVAIL (queue full for the whole timeout); TAM_EINVAL;
 * TAM_ENOMEM; TAM_EIO. */
int tam_rpc_client_send(tam_rpc_client_t *c, const char *id, const char *type, const void *body,
                        size_t len);

/* Waits up to timeout_ms (0: do not wait, -1: forever) for the next
 * well-formed answer, whatever its id; malformed ones are dropped.
 * Returns 0 (ans filled); TAM_ETIMEOUT; TAM_ENOMEM; TAM_EIO. */
int tam_rpc_client_recv(tam_rpc_client_t *c, int timeout_ms, tam_rpc_answer_t *ans);

/* Closes the socket (linger 0) and connects a new one; requests in flight
 * are forgotten. Returns 0; TAM_ENOMEM; TAM_EIO. */
int tam_rpc_client_reconnect(tam_rpc_client_t *c);

/* The ZeroMQ socket, for polling answers in an event loop (ZMQ_POLLIN); it
 * changes after a reconnect. */
void *tam_rpc_client_socket(tam_rpc_client_t *c);

typedef struct {
    uint64_t sent;      /* requests sent (resends included) */
    uint64_t answers;   /* well-formed answers received */
    uint64_t stale;     /* answers dropped by a call for not matching its id */
    uint64_t malformed; /* received messages dropped as malformed */
    uint64_t reconnects;
} tam_rpc_client_stats_t;

void tam_rpc_client_stats(const tam_rpc_client_t *c, tam_rpc_client_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif

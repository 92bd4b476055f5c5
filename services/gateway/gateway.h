/* gateway.h — tam-gateway's classes (docs/gateway.md):
 *   gateway_server.c  the HTTP server (libmicrohttpd): limits, bodies, auth,
 *                     dispatch to a route, the rpc clients to the services
 *   gw_http.c         answers: JSON, problem+json (RFC 9457), ETag
 *   gw_routes.c       the /v1 routes: which message each one sends, and how
 *                     its query or body becomes the request
 *   gw_stream.c       GET /v1/stream: Server-Sent Events from the match feed
 *   gw_static.c       the web dashboard's files at / (docs/dashboard.md)
 * One thread serves HTTP (MHD's internal polling thread) and owns the rpc
 * sockets; the stream has a thread of its own for the feed socket. */
#ifndef TAM_GATEWAY_H
#define TAM_GATEWAY_H
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "tam/codec.h"
#include "tam/config.h"
#include "tam/principal.h"
#include "tam/rpc.h"

typedef struct gw gw_t;
typedef struct gw_stream gw_stream_t;
typedef struct gw_static gw_static_t;
typedef struct gw_slow gw_slow_t;

/* One HTTP request being served. */
typedef struct {
    gw_t *gw;
    struct MHD_Connection *conn;
    const char *method;      /* "GET", ... */
    const char *path;        /* "/v1/proposals" */
    char query[1024];        /* the query arguments as received, "k=v&k=v" (for the ETag) */
    tam_principal_t who;     /* from the bearer token */
    const char *route;       /* the route template matched (for /metrics), NULL: none */
    double t0_ms;            /* when the request was complete (for the latency histogram) */
    char *body;              /* request body, NUL-terminated; NULL if none */
    size_t body_len;
    char etag[72];           /* "": the ETag is the hash of the answer; else this one (a
                              * version: GET /v1/context, /v1/catalog) */
    bool if_match;           /* If-Match became if_version: a stale version answers 412 */
    gw_slow_t **slow;        /* the connection's slow call (gw_slow.c); NULL: calls wait */
} gw_req_t;

/* ---- gateway_server.c ---------------------------------------------------- */

int gw_new(gw_t **out, const tam_config_t *cfg, void *zctx);
/* Serves until SIGTERM/SIGINT. Returns 0; a TAM_E* code. */
int gw_run(gw_t *g);
void gw_destroy(gw_t **g);
const tam_config_t *gw_config(const gw_t *g);
gw_stream_t *gw_stream_of(gw_t *g);
/* The port actually listened on. */
unsigned gw_port(const gw_t *g);

/* Calls service with message type, on behalf of r->who, body msgpack.
 * Returns 0 with *ans filled (check ans->status); TAM_EUNAVAIL/TAM_ETIMEOUT
 * when the service does not answer. */
int gw_call(gw_req_t *r, const char *service, const char *type, const void *body, size_t len,
            tam_rpc_answer_t *ans);
/* The same for a call that may take seconds (match.whatif, match.advise):
 * the first time, suspends the connection, starts the call in a thread and
 * returns GW_PENDING (the route then returns MHD_YES without an answer);
 * once the call returned the connection is resumed, the route runs again,
 * and this returns the call's result. Without r->slow, as gw_call. */
#define GW_PENDING 1
int gw_call_later(gw_req_t *r, const char *service, const char *type, const void *body,
                  size_t len, tam_rpc_answer_t *ans);

/* ---- gw_slow.c ------------------------------------------------------------ */

#define GW_SLOW_TIMEOUT_MS 120000 /* a slow call's timeout (the service answers sooner) */
int gw_call_slow(gw_req_t *r, const char *endpoint, void *zctx, const char *type,
                 const void *body, size_t len, tam_rpc_answer_t *ans);
/* Frees a connection's slow call (its thread has returned or is joined). */
void gw_slow_free(gw_slow_t **slot);
/* Waits until no slow call is in flight (before the daemon stops). */
void gw_slow_drain(void);

/* ---- gw_http.c ------------------------------------------------------------ */

/* Answers problem+json: status, title, detail and errors (a JSON array of
 * {"pointer","detail"}; stolen, may be NULL). Returns MHD_YES/NO. */
enum MHD_Result gw_problem(gw_req_t *r, unsigned status, const char *title, const char *detail,
                           json_t *errors);

/* Appends {"pointer": ptr, "detail": detail} to *errors (created if NULL). */
void gw_error_add(json_t **errors, const char *pointer, const char *detail);

/* Converts an rpc field path ("needs[2].standard") into a JSON pointer
 * ("/needs/2/standard") in out. */
void gw_pointer(const char *path, char *out, size_t cap);

/* Answers an error answer of a service as problem+json (status from its code). */
enum MHD_Result gw_problem_rpc(gw_req_t *r, const tam_rpc_error_t *e);

/* Answers a failed call (TAM_EUNAVAIL, TAM_ETIMEOUT, ...) as 503/504/502. */
enum MHD_Result gw_problem_call(gw_req_t *r, const char *service, int rc);

/* Answers status with JSON text (copied), a strong ETag of the request and
 * text (honouring If-None-Match with 304), and an optional Link header. */
enum MHD_Result gw_json(gw_req_t *r, unsigned status, const char *text, const char *link);

/* As gw_json with another media type (text/csv). */
enum MHD_Result gw_text(gw_req_t *r, unsigned status, const char *ctype, const char *text,
                        const char *link);

/* As gw_text, with the digest of text (gw_digest) already made (NULL:
 * made here): the ETag's costly part, kept by the answer cache. */
#define GW_DIGEST 16
enum MHD_Result gw_text_d(gw_req_t *r, unsigned status, const char *ctype, const char *text,
                          const char *link, const unsigned char *digest);
/* BLAKE2b (GW_DIGEST bytes) of text. */
void gw_digest(const char *text, unsigned char out[GW_DIGEST]);

/* HTTP status for a TAM_E* code of an error answer. */
unsigned gw_status_of(int code);

/* ---- gw_routes.c ---------------------------------------------------------- */

/* Serves r (authenticated) by the route table; 404/405 problem if none. */
enum MHD_Result gw_route(gw_req_t *r);

/* The routes, for the OpenAPI test: method and path template. */
typedef struct {
    const char *method;
    const char *path; /* "/v1/proposals/{need}/{project}" */
    int msg;          /* TAM_MSG_* it sends, or -1 */
    bool body;        /* the request body is the message's request */
} gw_route_info_t;
const gw_route_info_t *gw_routes(size_t *n);

/* ---- gw_openapi.c --------------------------------------------------------- */

/* The OpenAPI document served at /v1/openapi.json: proto/openapi.json (the
 * routes, hand-written) with components.schemas generated from the proto/
 * definitions (tam_schemas), and each route's request body and 200 answer
 * pointing at its message's schemas, so the two cannot drift. malloc'd JSON
 * text, or NULL. */
char *gw_openapi_build(void);

/* ---- gw_iati.c -------------------------------------------------------------- */

/* Serves GET /v1/iati/activities.xml (?project=ID): IATI 2.03, docs/iati.md. */
enum MHD_Result gw_iati_serve(gw_req_t *r);

/* ---- gw_json.c -------------------------------------------------------------- */

/* The paging fields of a list answer. */
typedef struct {
    int64_t total;  /* "total", 0 if none */
    size_t nitems;  /* length of "items" */
    char next[80];  /* "next" as text, "" if none or 0 */
    uint64_t run;   /* "run", 0 if none */
} gw_page_t;

/* A service's msgpack answer as compact JSON text (malloc'd; the text
 * tam_msgpack_to_json gives with JSON_COMPACT), and its paging fields in
 * page (may be NULL). NULL if it is not msgpack or memory runs out. */
char *gw_json_of(const void *buf, size_t len, gw_page_t *page);

/* ---- gw_cache.c ------------------------------------------------------------- */

/* Answers of tam-match for the current run, by request bytes (HTTP thread
 * only). The text of an entry of generation gen for key, or NULL. */
const char *gw_cache_get(uint64_t gen, const void *key, size_t klen, gw_page_t *page,
                         const unsigned char **digest);
/* Keeps a copy of text for gen and key (an old entry makes room). */
void gw_cache_put(uint64_t gen, const void *key, size_t klen, const char *text,
                  const gw_page_t *page);
/* Frees every entry. */
void gw_cache_clear(void);
/* Hits and misses so far, for /metrics. */
void gw_cache_counts(uint64_t *hits, uint64_t *misses);

/* ---- gw_guard.c ------------------------------------------------------------ */

typedef struct gw_guard gw_guard_t;

/* Starts the watchdog of [gateway] header_timeout and max_connections. */
int gw_guard_new(gw_guard_t **out, const tam_config_t *cfg);
/* Stops it; after MHD_stop_daemon. */
void gw_guard_destroy(gw_guard_t **g);
/* MHD_OPTION_NOTIFY_CONNECTION (cls: the guard). */
void gw_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code);
/* The accept policy callback of MHD_start_daemon (cls: the guard): makes
 * room near the limit; accepts every connection. */
enum MHD_Result gw_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* conn's request header is complete (busy) or its request has ended. */
void gw_guard_request(gw_guard_t *g, struct MHD_Connection *conn, bool busy);
/* Connections closed so far for header_timeout and to make room, for /metrics. */
void gw_guard_counts(uint64_t *header_timeouts, uint64_t *evictions);

/* ---- gw_csv.c -------------------------------------------------------------- */

/* The items of a list answer (schema answer, as JSON text) as CSV with a
 * header row, and an HXL hashtag row if hxl. NULL if it is not a list. */
char *gw_csv(const tam_schema_t *answer, const char *json_text, bool hxl);

/* ---- gw_metrics.c --------------------------------------------------------- */

double gw_now_ms(void);
/* Counts one answer of r with status (and its latency since r->t0_ms). */
void gw_metrics_count(const gw_req_t *r, unsigned status);
/* Serves GET /metrics (Prometheus text format). */
enum MHD_Result gw_metrics_serve(gw_req_t *r);

/* ---- gw_stream.c ---------------------------------------------------------- */

int gw_stream_new(gw_stream_t **out, const tam_config_t *cfg, void *zctx);
/* Stops following the feed and ends every open stream (before MHD stops). */
void gw_stream_stop(gw_stream_t *s);
void gw_stream_destroy(gw_stream_t **s);
/* The last sequence of tam-match's feed the stream has taken, and its epoch
 * (0, 0 before the first). */
uint64_t gw_stream_position(gw_stream_t *s, uint64_t *epoch);
/* The run tam-match answers from, as its feed last said (0 while the
 * stream is not synced), and a generation that changes with every run
 * header and every resync: what the answer cache (gw_cache.c) keys on. */
uint64_t gw_stream_run(gw_stream_t *s, uint64_t *gen);
/* Serves GET /v1/stream on r. */
enum MHD_Result gw_stream_serve(gw_stream_t *s, gw_req_t *r);

/* ---- gw_static.c ---------------------------------------------------------- */

/* Reads the dashboard's files from dir (empty: none; a missing directory is
 * logged and serves nothing). Returns 0 (*out may be NULL) or TAM_ENOMEM. */
int gw_static_new(gw_static_t **out, const char *dir);
void gw_static_destroy(gw_static_t **s);
/* Whether url names one of the dashboard's files ("/" is index.html). */
bool gw_static_has(const gw_static_t *s, const char *url);
/* Serves that file (no token needed: the page holds no data). */
enum MHD_Result gw_static_serve(gw_static_t *s, gw_req_t *r);

#endif

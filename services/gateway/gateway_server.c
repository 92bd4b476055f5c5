/* gateway_server.c — tam-gateway's HTTP server on libmicrohttpd: hostile-HTTP
 * limits from [gateway], request bodies with a cap, bearer-token
 * authentication, and the rpc clients (one per service, in the HTTP thread)
 * that carry each request on behalf of its user. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "tam/token.h"
#include "gateway.h"

static const char *const s_services[] = {"ingest", "registry", "match", "pipeline"};
#define S_NSERVICES 4

struct gw {
    const tam_config_t *cfg;
    void *zctx;
    struct MHD_Daemon *d;
    tam_rpc_client_t *clients[S_NSERVICES]; /* made and used in MHD's thread only */
    gw_stream_t *stream;
    gw_static_t *web; /* the dashboard's files, NULL: none */
    gw_guard_t *guard;
    unsigned port;
};

/* Per-request state between MHD's calls of the access handler. */
typedef struct {
    char *body;
    size_t len, cap;
    bool too_big;
    gw_slow_t *slow; /* a slow call of this connection (gw_slow.c) */
} s_upload_t;

const tam_config_t *gw_config(const gw_t *g) { return g->cfg; }
unsigned gw_port(const gw_t *g) { return g->port; }
gw_stream_t *gw_stream_of(gw_t *g) { return g->stream; }

static const char *s_endpoint(const tam_config_t *c, const char *service)
{
    return strcmp(service, "ingest") == 0     ? c->ingest.endpoint
           : strcmp(service, "registry") == 0 ? c->registry.endpoint
           : strcmp(service, "match") == 0    ? c->match.endpoint
                                              : c->pipeline.endpoint;
}

int gw_call(gw_req_t *r, const char *service, const char *type, const void *body, size_t len,
            tam_rpc_answer_t *ans)
{
    gw_t *g = r->gw;
    size_t i = 0;
    while (i < S_NSERVICES && strcmp(s_services[i], service) != 0)
        i++;
    if (i == S_NSERVICES)
        return TAM_EINVAL;
    if (!g->clients[i]) {
        int rc = tam_rpc_client_new(&g->clients[i], g->zctx, s_endpoint(g->cfg, service),
                                    (int)g->cfg->gateway.timeout, 1);
        if (rc)
            return rc;
    }
    int rc = tam_rpc_client_on_behalf(g->clients[i], r->who.id);
    if (rc == 0)
        rc = tam_rpc_call(g->clients[i], type, body, len, ans);
    if (rc == TAM_ETIMEOUT || rc == TAM_EUNAVAIL)
        tam_notice("gateway: %s %s: tam-%s did not answer (%s)", r->method, r->path, service,
                   tam_strerror(rc));
    return rc;
}

int gw_call_later(gw_req_t *r, const char *service, const char *type, const void *body,
                  size_t len, tam_rpc_answer_t *ans)
{
    if (!r->slow)
        return gw_call(r, service, type, body, len, ans);
    return gw_call_slow(r, s_endpoint(r->gw->cfg, service), r->gw->zctx, type, body, len, ans);
}

static enum MHD_Result s_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    gw_req_t *r = cls;
    size_t n = strlen(r->query);
    snprintf(r->query + n, sizeof r->query - n, "%s%s=%s", n ? "&" : "", key, value ? value : "");
    return MHD_YES;
}

/* The principal of the bearer token, or 0 and a 401 answer queued. */
static int s_authenticate(gw_req_t *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *tok = h + 7;
        while (*tok == ' ')
            tok++;
        if (tam_token_check(r->gw->cfg->security.keys_dir, tok, strlen(tok), &r->who) == 0)
            return 1;
    }
    return 0;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    (void)version;
    gw_t *g = cls;
    s_upload_t *u = *con_cls;
    gw_req_t r = {.gw = g, .conn = conn, .method = method, .path = url};
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        *con_cls = u;
        gw_guard_request(g->guard, conn, true); /* its header is complete */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > g->cfg->gateway.max_body)
            u->too_big = true; /* refused below without reading it */
        else
            return MHD_YES; /* the body (if any) comes in the next calls */
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (u->too_big || u->len + n > g->cfg->gateway.max_body) {
            u->too_big = true;
            return MHD_YES; /* drained and dropped */
        }
        if (u->len + n + 1 > u->cap) {
            size_t cap = (u->len + n + 1) * 2;
            char *b = realloc(u->body, cap);
            if (!b)
                return MHD_NO;
            u->body = b;
            u->cap = cap;
        }
        memcpy(u->body + u->len, upload, n);
        u->len += n;
        u->body[u->len] = 0;
        return MHD_YES;
    }
    r.t0_ms = gw_now_ms();
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, s_query_arg, &r);
    r.body = u->body;
    r.body_len = u->len;
    r.slow = &u->slow;
    if (u->too_big) {
        char d[96];
        snprintf(d, sizeof d, "the body is larger than %llu bytes ([gateway] max_body)",
                 (unsigned long long)g->cfg->gateway.max_body);
        json_t *errors = NULL;
        gw_error_add(&errors, "", d);
        return gw_problem(&r, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large", d, errors);
    }
    /* The dashboard's files are public: the page holds no data. */
    if (gw_static_has(g->web, url))
        return gw_static_serve(g->web, &r);
    /* Probes of a load balancer need no token. */
    bool open = strcmp(url, "/v1/health") == 0 || strcmp(url, "/v1/openapi.json") == 0;
    if (!s_authenticate(&r) && !open) {
        json_t *errors = NULL;
        gw_error_add(&errors, "", "send Authorization: Bearer TOKEN (tamctl keys token NAME)");
        return gw_problem(&r, MHD_HTTP_UNAUTHORIZED, "Unauthorized",
                          "a valid bearer token is required", errors);
    }
    if (strcmp(url, "/v1/stream") == 0 && g->stream) {
        r.route = "/v1/stream";
        return gw_stream_serve(g->stream, &r);
    }
    return gw_route(&r);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    gw_t *g = cls;
    s_upload_t *u = *con_cls;
    if (u) {
        gw_slow_free(&u->slow);
        gw_guard_request(g->guard, conn, false); /* idle until its next request */
        free(u->body);
        free(u);
        *con_cls = NULL;
    }
}

int gw_new(gw_t **out, const tam_config_t *cfg, void *zctx)
{
    gw_t *g = calloc(1, sizeof *g);
    if (!g)
        return TAM_ENOMEM;
    g->cfg = cfg;
    g->zctx = zctx;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->gateway.port)};
    if (inet_pton(AF_INET, cfg->gateway.listen, &sa.sin_addr) != 1) {
        tam_crit("[gateway] listen: '%s' is not an IPv4 address", cfg->gateway.listen);
        free(g);
        return TAM_ECONFIG;
    }
    int rc = gw_static_new(&g->web, cfg->gateway.web_dir);
    if (rc == 0 && (rc = gw_stream_new(&g->stream, cfg, zctx)) != 0)
        gw_static_destroy(&g->web);
    if (rc == 0 && (rc = gw_guard_new(&g->guard, cfg)) != 0) {
        gw_stream_destroy(&g->stream);
        gw_static_destroy(&g->web);
    }
    if (rc) {
        free(g);
        return rc;
    }
    unsigned timeout_s = (unsigned)((cfg->gateway.connection_timeout + 999) / 1000);
    g->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
        0, gw_guard_accept, g->guard, s_access, g, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->gateway.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->gateway.per_ip_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->gateway.connection_memory,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_NOTIFY_COMPLETED, s_completed, g,
        MHD_OPTION_NOTIFY_CONNECTION, gw_guard_notify, g->guard, MHD_OPTION_END);
    if (!g->d) {
        tam_crit("cannot listen on http://%s:%lld: %s", cfg->gateway.listen,
                 (long long)cfg->gateway.port, strerror(errno));
        gw_guard_destroy(&g->guard);
        gw_stream_destroy(&g->stream);
        gw_static_destroy(&g->web);
        free(g);
        return TAM_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(g->d, MHD_DAEMON_INFO_BIND_PORT);
    g->port = di ? di->port : (unsigned)cfg->gateway.port;
    tam_info("serving http://%s:%u/v1/ as %s", cfg->gateway.listen, g->port, cfg->gateway.identity);
    *out = g;
    return 0;
}

int gw_run(gw_t *g)
{
    (void)g;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    tam_info("signal %d: stopping", sig);
    return 0;
}

void gw_destroy(gw_t **gp)
{
    if (!gp || !*gp)
        return;
    gw_t *g = *gp;
    gw_stream_stop(g->stream); /* wakes suspended streams, which then end */
    gw_slow_drain();           /* slow calls resume their connections when they return */
    if (g->d)
        MHD_stop_daemon(g->d); /* joins the HTTP thread: its sockets are ours now */
    gw_guard_destroy(&g->guard); /* after: MHD has closed (and unlisted) every connection */
    for (size_t i = 0; i < S_NSERVICES; i++)
        tam_rpc_client_destroy(&g->clients[i]);
    gw_cache_clear();
    gw_stream_destroy(&g->stream);
    gw_static_destroy(&g->web);
    free(g);
    *gp = NULL;
}

/* gw_metrics.c — GET /metrics in the Prometheus text format: the gateway's
 * requests by route and status with a latency histogram, and, through it,
 * each service's counters (service.stats: requests, writes, durable commits,
 * errors, denied, ...), asked on behalf of the caller. Counted and read in
 * the HTTP thread only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/codec.h"
#include "tam/error.h"
#include "gateway.h"

#define S_SERIES 256
static const double s_bounds[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};
#define S_NB (sizeof s_bounds / sizeof s_bounds[0])

typedef struct {
    const char *route; /* a route template (static), or "other" */
    char method[8];
    unsigned status;
    uint64_t count;
} s_series_t;

static s_series_t s_series[S_SERIES];
static size_t s_nseries;
static uint64_t s_hist[S_NB + 1], s_hist_n;
static double s_hist_sum;

double gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void gw_metrics_count(const gw_req_t *r, unsigned status)
{
    const char *route = r->route ? r->route : "other";
    size_t i = 0;
    while (i < s_nseries && !(s_series[i].route == route && s_series[i].status == status &&
                              strcmp(s_series[i].method, r->method) == 0))
        i++;
    if (i == s_nseries && s_nseries < S_SERIES) {
        s_series[i] = (s_series_t){.route = route, .status = status};
        snprintf(s_series[i].method, sizeof s_series[i].method, "%s", r->method);
        s_nseries++;
    }
    if (i < S_SERIES)
        s_series[i].count++;
    double ms = r->t0_ms > 0 ? gw_now_ms() - r->t0_ms : 0;
    size_t b = 0;
    while (b < S_NB && ms > s_bounds[b])
        b++;
    s_hist[b]++;
    s_hist_n++;
    s_hist_sum += ms;
}

static void s_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return;
        }
        size_t nc = (*cap + (size_t)n + 1) * 2;
        char *b = realloc(*buf, nc);
        if (!b)
            return;
        *buf = b;
        *cap = nc;
    }
}

/* Calls service with an empty map; the answer as JSON (NULL if none). */
static json_t *s_ask(gw_req_t *r, const char *service, const char *type)
{
    static const uint8_t empty_map = 0x80;
    tam_rpc_answer_t ans = {0};
    json_t *j = NULL;
    if (gw_call(r, service, type, &empty_map, 1, &ans) == 0 && ans.status == TAM_RPC_OK) {
        char *text = tam_msgpack_to_json(ans.body, ans.len, JSON_COMPACT);
        j = text ? json_loads(text, 0, NULL) : NULL;
        free(text);
    }
    tam_rpc_answer_clear(&ans);
    return j;
}

/* A u64 of a JSON answer (sent as a decimal string above 2^63 - 1). */
static uint64_t s_u64(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? strtoull(json_string_value(v), NULL, 10)
                             : (uint64_t)json_integer_value(v);
}

/* Feed positions and lags: each feed's last sequence (sys.ping), what the
 * current run of tam-match reflects of it (match.run), and what the
 * gateway's stream has taken of tam-match's feed. A lag is given only when
 * both positions are of the same feed epoch. Also the run's duration. */
static void s_lag(gw_req_t *r, char **buf, size_t *len, size_t *cap)
{
    static const char *const sv[] = {"ingest", "registry", "match", "pipeline"};
    uint64_t seq[4] = {0}, epoch[4] = {0};
    s_cat(buf, len, cap, "# HELP tam_feed_seq Sequence of the last update on the service's feed.\n"
                         "# TYPE tam_feed_seq gauge\n");
    for (size_t i = 0; i < 4; i++) {
        json_t *p = s_ask(r, sv[i], "sys.ping");
        if (p) {
            seq[i] = s_u64(p, "feed_seq");
            epoch[i] = s_u64(p, "feed_epoch");
            s_cat(buf, len, cap, "tam_feed_seq{feed=\"%s\"} %llu\n", sv[i], (unsigned long long)seq[i]);
        }
        json_decref(p);
    }
    s_cat(buf, len, cap, "# HELP tam_feed_lag Updates of a feed its subscriber has not yet reflected.\n"
                         "# TYPE tam_feed_lag gauge\n");
    json_t *run = s_ask(r, "match", "match.run");
    for (size_t i = 0; run && i < 4; i++) {
        if (i == 2)
            continue;
        char k[32];
        snprintf(k, sizeof k, "%s_seq", sv[i]);
        uint64_t got = s_u64(run, k);
        snprintf(k, sizeof k, "%s_epoch", sv[i]);
        if (epoch[i] && s_u64(run, k) == epoch[i])
            s_cat(buf, len, cap, "tam_feed_lag{feed=\"%s\",subscriber=\"match\"} %llu\n", sv[i],
                  (unsigned long long)(seq[i] > got ? seq[i] - got : 0));
    }
    uint64_t sepoch = 0, sseq = gw_stream_position(gw_stream_of(r->gw), &sepoch);
    if (epoch[2] && sepoch == epoch[2])
        s_cat(buf, len, cap, "tam_feed_lag{feed=\"match\",subscriber=\"gateway\"} %llu\n",
              (unsigned long long)(seq[2] > sseq ? seq[2] - sseq : 0));
    if (run)
        s_cat(buf, len, cap, "# HELP tam_match_run_solve_seconds Time the current run spent solving.\n"
                             "# TYPE tam_match_run_solve_seconds gauge\n"
                             "tam_match_run_solve_seconds %.6f\n"
                             "# HELP tam_match_run_id The current run.\n# TYPE tam_match_run_id gauge\n"
                             "tam_match_run_id %llu\n",
              (double)json_integer_value(json_object_get(run, "solve_us")) / 1e6,
              (unsigned long long)s_u64(run, "run"));
    json_decref(run);
}

enum MHD_Result gw_metrics_serve(gw_req_t *r)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    s_cat(&buf, &len, &cap, "# HELP tam_gateway_requests_total HTTP requests by route, method and status.\n"
                            "# TYPE tam_gateway_requests_total counter\n");
    for (size_t i = 0; i < s_nseries; i++)
        s_cat(&buf, &len, &cap, "tam_gateway_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
              s_series[i].route, s_series[i].method, s_series[i].status,
              (unsigned long long)s_series[i].count);
    s_cat(&buf, &len, &cap, "# HELP tam_gateway_request_duration_ms Time to answer, milliseconds.\n"
                            "# TYPE tam_gateway_request_duration_ms histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= S_NB; b++) {
        cum += s_hist[b];
        if (b < S_NB)
            s_cat(&buf, &len, &cap, "tam_gateway_request_duration_ms_bucket{le=\"%g\"} %llu\n",
                  s_bounds[b], (unsigned long long)cum);
        else
            s_cat(&buf, &len, &cap, "tam_gateway_request_duration_ms_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)cum);
    }
    s_cat(&buf, &len, &cap, "tam_gateway_request_duration_ms_sum %.3f\ntam_gateway_request_duration_ms_count %llu\n",
          s_hist_sum, (unsigned long long)s_hist_n);
    /* Each service's own counters, asked on behalf of the caller. */
    static const char *const sv[] = {"ingest", "registry", "match", "pipeline"};
    s_cat(&buf, &len, &cap, "# HELP tam_service_up Whether the service answered service.stats.\n"
                            "# TYPE tam_service_up gauge\n");
    for (size_t i = 0; i < 4; i++) {
        static const uint8_t empty_map = 0x80;
        tam_rpc_answer_t ans = {0};
        int rc = gw_call(r, sv[i], "service.stats", &empty_map, 1, &ans);
        bool up = rc == 0 && ans.status == TAM_RPC_OK;
        s_cat(&buf, &len, &cap, "tam_service_up{service=\"%s\"} %d\n", sv[i], up ? 1 : 0);
        char *text = up ? tam_msgpack_to_json(ans.body, ans.len, JSON_COMPACT) : NULL;
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if (!json_is_integer(v))
                continue;
            long long x = (long long)json_integer_value(v);
            if (strcmp(k, "map_size") == 0 || strcmp(k, "map_used") == 0)
                s_cat(&buf, &len, &cap, "tam_lmdb_%s_bytes{service=\"%s\"} %lld\n", k, sv[i], x);
            else if (strcmp(k, "last_run_us") == 0)
                s_cat(&buf, &len, &cap, "tam_match_run_duration_seconds %.6f\n", (double)x / 1e6);
            else
                s_cat(&buf, &len, &cap, "tam_service_%s{service=\"%s\"} %lld\n", k, sv[i], x);
        }
        json_decref(j);
        free(text);
        tam_rpc_answer_clear(&ans);
    }
    s_lag(r, &buf, &len, &cap);
    uint64_t hits, misses;
    gw_cache_counts(&hits, &misses);
    s_cat(&buf, &len, &cap, "# HELP tam_gateway_cache_total Lookups of tam-match's answers of the current run.\n"
                            "# TYPE tam_gateway_cache_total counter\n"
                            "tam_gateway_cache_total{result=\"hit\"} %llu\n"
                            "tam_gateway_cache_total{result=\"miss\"} %llu\n",
          (unsigned long long)hits, (unsigned long long)misses);
    uint64_t late, evicted;
    gw_guard_counts(&late, &evicted);
    s_cat(&buf, &len, &cap, "# HELP tam_gateway_connections_closed_total Connections the gateway closed: "
                            "no request header within header_timeout, or not in a request near max_connections.\n"
                            "# TYPE tam_gateway_connections_closed_total counter\n"
                            "tam_gateway_connections_closed_total{reason=\"header_timeout\"} %llu\n"
                            "tam_gateway_connections_closed_total{reason=\"room\"} %llu\n",
          (unsigned long long)late, (unsigned long long)evicted);
    if (!buf)
        return MHD_NO;
    gw_metrics_count(r, MHD_HTTP_OK);
    struct MHD_Response *res = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (!res) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, res);
    MHD_destroy_response(res);
    return ret;
}

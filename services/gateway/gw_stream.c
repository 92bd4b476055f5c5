/* gw_stream.c — GET /v1/stream: Server-Sent Events of proposal changes and
 * new runs, relayed from tam-match's feed (tam/feed.h).
 *
 * A thread of its own follows the feed (topics prop/ and run) and appends
 * each update to a ring of recent events; each event's id is
 * "<feed epoch hex>-<feed sequence>". An SSE connection reads the ring from
 * its position in MHD's thread; with nothing to send it is suspended, and the
 * feed thread resumes every waiting connection when an event arrives or a
 * keep-alive is due. Last-Event-ID resumes after that event if the ring
 * still holds what followed it; otherwise (a gap on the feed, a tam-match or
 * gateway restart, an id too old) the stream first sends `event: reset`, so
 * the client knows to reload. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "tam/codec.h"
#include "tam/feed.h"
#include "tam/log.h"
#include "gateway.h"

#define S_RING 4096
#define S_WAIT_MAX 1024
#define S_FILTER_MAX 16

typedef struct {
    uint64_t pos;   /* gateway-local, increasing */
    uint64_t epoch, seq;
    char kind;      /* 'p' proposal, 'r' run, 'x' reset */
    char country[4], group[9], category[2];
    char *data;     /* one line of JSON */
} s_event_t;

struct gw_stream {
    const tam_config_t *cfg;
    void *zctx;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    volatile bool stop;
    s_event_t ring[S_RING];
    uint64_t next_pos;  /* position of the next event */
    uint64_t epoch;     /* of the feed, 0 before the first snapshot */
    uint64_t base_seq;  /* resumable from here (synced seq, or the oldest held - 1) */
    uint64_t last_seq;  /* the last feed sequence taken (snapshot or update) */
    uint64_t run_id;    /* the last run header taken (snapshot or update), 0: none */
    uint64_t gen;       /* +1 at every run header and every resync (gw_stream_run) */
    bool synced;        /* following the feed: every later update becomes an event */
    bool joined_unsynced; /* a client joined while not synced: reset it at the sync */
    tam_feed_client_t *fc; /* the feed thread's client (its epoch, in on_synced) */
    struct MHD_Connection *waiting[S_WAIT_MAX];
    size_t nwaiting;
};

/* One SSE connection. */
typedef struct {
    gw_stream_t *s;
    struct MHD_Connection *conn;
    uint64_t pos;           /* next ring position to send */
    char *pending;          /* text not yet written */
    size_t pending_len, pending_off;
    bool keepalive;
    size_t ncountries;
    char countries[S_FILTER_MAX][4];
    char group[9], category[2];
} s_conn_t;

/* ---- the feed thread -------------------------------------------------------- */

static void s_push(gw_stream_t *s, char kind, uint64_t seq, const char *country,
                   const char *group, const char *category, char *data)
{
    pthread_mutex_lock(&s->mu);
    s_event_t *e = &s->ring[s->next_pos % S_RING];
    if (e->data && e->kind != 'x' && e->epoch == s->epoch && e->seq > s->base_seq)
        s->base_seq = e->seq; /* evicted: a client before it cannot resume */
    free(e->data);
    *e = (s_event_t){.pos = s->next_pos++, .epoch = s->epoch, .seq = seq, .kind = kind, .data = data};
    snprintf(e->country, sizeof e->country, "%s", country ? country : "");
    snprintf(e->group, sizeof e->group, "%s", group ? group : "");
    snprintf(e->category, sizeof e->category, "%s", category ? category : "");
    /* Wake every waiting connection. */
    for (size_t i = 0; i < s->nwaiting; i++)
        MHD_resume_connection(s->waiting[i]);
    s->nwaiting = 0;
    pthread_mutex_unlock(&s->mu);
}

static void s_on_record(const char *topic, size_t tn, const void *body, size_t len, uint64_t seq,
                        int from_snapshot, void *arg)
{
    gw_stream_t *s = arg;
    bool run = tn == 3 && memcmp(topic, "run", 3) == 0;
    uint64_t run_id = 0;
    if (run) { /* which run tam-match now answers from: the answer cache's key */
        gw_page_t pg;
        free(gw_json_of(body, len, &pg));
        run_id = pg.run;
    }
    pthread_mutex_lock(&s->mu);
    if (seq > s->last_seq)
        s->last_seq = seq;
    if (run) {
        s->run_id = run_id;
        s->gen++;
    }
    pthread_mutex_unlock(&s->mu);
    if (from_snapshot)
        return; /* the state itself is what GET /v1/proposals serves */
    char *data = len ? tam_msgpack_to_json(body, len, JSON_COMPACT) : strdup("null");
    if (!data)
        return;
    json_t *j = run ? NULL : json_loads(data, 0, NULL);
    s_push(s, run ? 'r' : 'p', seq, json_string_value(json_object_get(j, "country")),
           json_string_value(json_object_get(j, "group")),
           json_string_value(json_object_get(j, "category")), data);
    json_decref(j);
}

static void s_on_reset(void *arg)
{
    gw_stream_t *s = arg;
    tam_notice("stream: the match feed resynchronises (gap or restart); clients are told to reload");
    pthread_mutex_lock(&s->mu);
    s->last_seq = 0;
    s->run_id = 0;
    s->gen++;
    s->synced = false;
    s->epoch = 0; /* nobody resumes until the feed is followed again */
    pthread_mutex_unlock(&s->mu);
    s_push(s, 'x', 0, NULL, NULL, NULL, strdup("{\"reason\":\"the match feed had a gap or "
                                                "restarted: reload\"}"));
}

/* The feed is followed again from its snapshot at seq: updates up to seq
 * are in the snapshot and never become events. A client that joined while
 * the gateway was not synced has reloaded from a state that may be older than
 * that snapshot, and would miss what lies between (a proposal removed then
 * would stay in its list for ever): it is told to reload once more, now. */
static void s_on_synced(uint64_t seq, void *arg)
{
    gw_stream_t *s = arg;
    pthread_mutex_lock(&s->mu);
    s->base_seq = seq;
    s->last_seq = seq;
    s->epoch = tam_feed_client_epoch(s->fc);
    s->synced = true;
    bool reset = s->joined_unsynced;
    s->joined_unsynced = false;
    pthread_mutex_unlock(&s->mu);
    if (reset)
        s_push(s, 'x', 0, NULL, NULL, NULL,
               strdup("{\"reason\":\"the gateway follows the match feed again: reload\"}"));
}

static void *s_thread(void *arg)
{
    gw_stream_t *s = arg;
    static const char *const prefixes[] = {"prop/", "run"};
    tam_feed_callbacks_t cb = {s_on_record, s_on_reset, s_on_synced, s};
    tam_feed_client_opts_t fo = {.silence_ms = (int)(3 * s->cfg->common.heartbeat + 500)};
    tam_feed_client_t *fc = NULL;
    int rc = tam_feed_client_new(&fc, s->zctx, s->cfg->match.feed, s->cfg->match.snapshot,
                                 prefixes, 2, &cb, &fo);
    if (rc) {
        tam_error("stream: cannot follow %s: %s", s->cfg->match.feed, tam_strerror(rc));
        return NULL;
    }
    s->fc = fc;
    int64_t keep_ms = s->cfg->gateway.connection_timeout / 3, waited = 0;
    while (!s->stop) {
        if ((rc = tam_feed_client_run(fc, 200)) != 0) {
            tam_error("stream: feed: %s", tam_strerror(rc));
            break;
        }
        pthread_mutex_lock(&s->mu);
        if (s->synced)
            s->epoch = tam_feed_client_epoch(fc);
        waited += 200;
        if (waited >= keep_ms) {
            /* Keep-alive: every waiting connection writes a comment line. */
            for (size_t i = 0; i < s->nwaiting; i++)
                MHD_resume_connection(s->waiting[i]);
            s->nwaiting = 0;
            waited = 0;
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_lock(&s->mu);
    s->fc = NULL;
    s->synced = false;
    pthread_mutex_unlock(&s->mu);
    tam_feed_client_destroy(&fc);
    return NULL;
}

int gw_stream_new(gw_stream_t **out, const tam_config_t *cfg, void *zctx)
{
    gw_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    s->cfg = cfg;
    s->zctx = zctx;
    s->next_pos = 1;
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, s_thread, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return TAM_ENOMEM;
    }
    s->started = true;
    *out = s;
    return 0;
}

/* Stops the feed thread and wakes every waiting connection (which then ends
 * its stream), so that MHD can be stopped. */
void gw_stream_stop(gw_stream_t *s)
{
    if (!s || s->stop)
        return;
    s->stop = true;
    if (s->started)
        pthread_join(s->thread, NULL);
    s->started = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nwaiting; i++)
        MHD_resume_connection(s->waiting[i]);
    s->nwaiting = 0;
    pthread_mutex_unlock(&s->mu);
}

void gw_stream_destroy(gw_stream_t **sp)
{
    if (!sp || !*sp)
        return;
    gw_stream_t *s = *sp;
    gw_stream_stop(s);
    for (size_t i = 0; i < S_RING; i++)
        free(s->ring[i].data);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *sp = NULL;
}

uint64_t gw_stream_position(gw_stream_t *s, uint64_t *epoch)
{
    if (!s) {
        *epoch = 0;
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    uint64_t seq = s->last_seq;
    *epoch = s->epoch;
    pthread_mutex_unlock(&s->mu);
    return seq;
}

uint64_t gw_stream_run(gw_stream_t *s, uint64_t *gen)
{
    *gen = 0;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    uint64_t run = s->epoch ? s->run_id : 0; /* synced only */
    *gen = s->gen;
    pthread_mutex_unlock(&s->mu);
    return run;
}

/* ---- one connection (MHD's thread) -------------------------------------------- */

static bool s_wanted(const s_conn_t *c, const s_event_t *e)
{
    if (e->kind != 'p')
        return true; /* runs and resets go to everyone */
    bool ok = c->ncountries == 0;
    for (size_t i = 0; i < c->ncountries; i++)
        ok |= strcmp(c->countries[i], e->country) == 0;
    return ok && (!c->group[0] || strcmp(c->group, e->group) == 0) &&
           (!c->category[0] || strcmp(c->category, e->category) == 0);
}

/* Formats the next events for c into c->pending; false if there is none. */
static bool s_fill(s_conn_t *c)
{
    gw_stream_t *s = c->s;
    size_t cap = 0, len = 0;
    char *buf = NULL;
    pthread_mutex_lock(&s->mu);
    if (c->pos + S_RING < s->next_pos) {
        c->pos = s->next_pos; /* fell behind the ring: say so */
        buf = strdup("event: reset\ndata: {\"reason\":\"this client fell behind: reload\"}\n\n");
        len = buf ? strlen(buf) : 0;
    }
    for (; c->pos < s->next_pos && len < 65536; c->pos++) {
        const s_event_t *e = &s->ring[c->pos % S_RING];
        if (!s_wanted(c, e))
            continue;
        size_t need = strlen(e->data) + 96;
        if (len + need > cap) {
            cap = (len + need) * 2;
            char *b = realloc(buf, cap);
            if (!b)
                break;
            buf = b;
        }
        const char *ev = e->kind == 'p' ? "proposal" : e->kind == 'r' ? "run" : "reset";
        if (e->kind == 'x')
            len += (size_t)snprintf(buf + len, cap - len, "event: %s\ndata: %s\n\n", ev, e->data);
        else
            len += (size_t)snprintf(buf + len, cap - len, "id: %llx-%llu\nevent: %s\ndata: %s\n\n",
                                    (unsigned long long)e->epoch, (unsigned long long)e->seq, ev,
                                    e->data);
    }
    if (len == 0 && !s->stop && s->nwaiting < S_WAIT_MAX) {
        if (c->keepalive) {
            c->keepalive = false;
            buf = strdup(": keep-alive\n\n");
            len = buf ? strlen(buf) : 0;
        } else {
            /* Nothing to send: wait for the feed thread to wake us. */
            s->waiting[s->nwaiting++] = c->conn;
            MHD_suspend_connection(c->conn);
            c->keepalive = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    free(c->pending);
    c->pending = buf;
    c->pending_len = len;
    c->pending_off = 0;
    return len > 0;
}

static ssize_t s_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    s_conn_t *c = cls;
    if (c->s->stop)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (c->pending_off == c->pending_len && !s_fill(c))
        return 0; /* suspended (or nothing yet): called again when resumed */
    c->keepalive = false;
    size_t n = c->pending_len - c->pending_off;
    if (n > max)
        n = max;
    memcpy(out, c->pending + c->pending_off, n);
    c->pending_off += n;
    return (ssize_t)n;
}

static void s_free_conn(void *cls)
{
    s_conn_t *c = cls;
    pthread_mutex_lock(&c->s->mu);
    for (size_t i = 0; i < c->s->nwaiting; i++)
        if (c->s->waiting[i] == c->conn) {
            c->s->waiting[i] = c->s->waiting[--c->s->nwaiting];
            break;
        }
    pthread_mutex_unlock(&c->s->mu);
    free(c->pending);
    free(c);
}

typedef struct {
    s_conn_t *c;
    json_t *errors;
} s_args_t;

static bool s_code(const char *v, size_t min, size_t max)
{
    size_t n = strlen(v);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 'A' || v[i] > 'Z')
            return false;
    return true;
}

static enum MHD_Result s_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    s_args_t *a = cls;
    s_conn_t *c = a->c;
    char ptr[80];
    snprintf(ptr, sizeof ptr, "/%.60s", key);
    value = value ? value : "";
    if (strcmp(key, "country") == 0) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", value);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!s_code(t, 3, 3) || c->ncountries == S_FILTER_MAX) {
                gw_error_add(&a->errors, ptr, "ISO 3166 alpha-3 codes (upper case), at most 16");
                return MHD_YES;
            }
            snprintf(c->countries[c->ncountries++], 4, "%s", t);
        }
    } else if (strcmp(key, "group") == 0 && s_code(value, 1, 8)) {
        snprintf(c->group, sizeof c->group, "%s", value);
    } else if (strcmp(key, "category") == 0 && strlen(value) == 1 && value[0] >= 'A' &&
               value[0] <= 'D') {
        snprintf(c->category, sizeof c->category, "%s", value);
    } else {
        gw_error_add(&a->errors, ptr, "unknown or malformed: country (several), group, category");
    }
    return MHD_YES;
}

enum MHD_Result gw_stream_serve(gw_stream_t *s, gw_req_t *r)
{
    if (strcmp(r->method, "GET") != 0)
        return gw_problem(r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed", "GET only", NULL);
    /* The stream carries the match feed: the same roles as match.proposals. */
    if (!tam_principal_may(&r->who, TAM_ROLE_MANAGER | TAM_ROLE_DONOR_LIAISON | TAM_ROLE_PLANNER |
                                        TAM_ROLE_VIEWER | TAM_ROLE_SERVICE)) {
        json_t *errors = NULL;
        gw_error_add(&errors, "", "the stream needs a role that may read the match feed");
        return gw_problem(r, MHD_HTTP_FORBIDDEN, "Forbidden", "may not read the match feed", errors);
    }
    s_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return MHD_NO;
    c->s = s;
    c->conn = r->conn;
    s_args_t a = {c, NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, s_arg, &a);
    if (a.errors) {
        free(c);
        return gw_problem(r, MHD_HTTP_BAD_REQUEST, "Bad query", "bad stream filter", a.errors);
    }
    const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    bool reset = false;
    pthread_mutex_lock(&s->mu);
    c->pos = s->next_pos;
    if (!s->synced)
        s->joined_unsynced = true;
    if (last) {
        unsigned long long ep = 0, sq = 0;
        reset = true;
        if (sscanf(last, "%llx-%llu", &ep, &sq) == 2 && ep == s->epoch && s->epoch &&
            sq >= s->base_seq) {
            /* Resume just after that event: every later one is still held. */
            uint64_t p = s->next_pos;
            while (p > 1 && p + S_RING > s->next_pos && s->ring[(p - 1) % S_RING].data &&
                   !(s->ring[(p - 1) % S_RING].kind != 'x' && s->ring[(p - 1) % S_RING].seq <= sq))
                p--;
            c->pos = p;
            reset = false;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (reset) {
        c->pending = strdup("event: reset\ndata: {\"reason\":\"cannot resume from Last-Event-ID "
                            "(gap, or tam-match or the gateway restarted): reload\"}\n\n");
        c->pending_len = c->pending ? strlen(c->pending) : 0;
    } else {
        c->pending = strdup(": tamatch stream\n\n");
        c->pending_len = c->pending ? strlen(c->pending) : 0;
    }
    struct MHD_Response *res =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, s_reader, c, s_free_conn);
    if (!res) {
        free(c->pending);
        free(c);
        return MHD_NO;
    }
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(res, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, res);
    MHD_destroy_response(res);
    gw_metrics_count(r, MHD_HTTP_OK);
    return ret;
}

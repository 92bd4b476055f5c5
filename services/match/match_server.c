/* match_server.c — tam-match on the shared service loop (tam/service.h),
 * without a store: three feed clients (ingest, registry, pipeline) keep the
 * model current, a runner re-ranks when inputs changed (coalescing bursts),
 * the feed server publishes runs and changed proposals and streams the
 * snapshot, and reads are answered from the last run. Runs are computed in
 * a worker thread (match_worker.c); everything else runs in the loop's
 * thread, between polls. While a run is computed, queries are answered from
 * the last published run and feed records wait in a queue (in order), to be
 * applied when the run is published. match.whatif and match.advise are
 * evaluated on a copy of the engine in a thread of their own
 * (match_aside.c) and answered when done: queries go on meanwhile. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/service_feed.h"
#include "tam/principal.h"
#include "tam/service.h"
#include "match_server.h"
#include "match_worker.h"
#include "match_aside.h"

static const char *const s_feed_names[TAM_MATCH_NFEEDS] = {"ingest", "registry", "pipeline"};

typedef struct {
    tam_match_server_t *s;
    int feed;
} s_client_arg_t;

/* A feed event that arrived during a run, applied after it. */
typedef enum { S_EV_RECORD, S_EV_RESET, S_EV_SYNCED } s_ev_kind_t;
typedef struct {
    s_ev_kind_t kind;
    int feed;
    char *topic;
    size_t tn;
    void *body;
    size_t len;
    uint64_t seq;
    int from_snapshot;
} s_event_t;

struct tam_match_server {
    const tam_config_t *cfg;
    void *zctx;
    tam_catalog_t *cat;
    tam_match_t *m;
    tam_match_params_t par;
    tam_feed_server_t *feed;
    tam_feed_client_t *fc[TAM_MATCH_NFEEDS];
    s_client_arg_t fc_arg[TAM_MATCH_NFEEDS];
    bool synced_once[TAM_MATCH_NFEEDS];
    bool loading[TAM_MATCH_NFEEDS];
    int64_t loading_since[TAM_MATCH_NFEEDS];
    uint64_t run_seqs[TAM_MATCH_NFEEDS]; /* client sequences the last run reflects */
    int64_t start_ms;
    int64_t pending_since;               /* first unprocessed change, -1: none */
    int64_t retry_at;                    /* after a failed run, -1: none */
    bool warned_pipeline;
    tam_arena_t *scratch;
    msgpack_sbuffer answer;
    tam_service_stats_t stats;
    uint64_t publish_failed;
    char counter_dir[900];               /* <data_dir>/match */
    uint64_t counter;                    /* highest run id stored durably */
    tam_match_worker_t *worker;
    tam_match_aside_t *aside;            /* match.whatif / match.advise beside the loop */
    tam_match_seqs_t job_seqs;           /* what the run being computed reflects */
    s_event_t *evq;                      /* feed events during the run, in order */
    size_t nevq, cap_evq;
    bool evq_failed;                     /* an event could not be queued: resync */
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_finish(tam_match_server_t *s);

/* Queries that need the engine idle (they export the solver's state). */
static bool s_needs_idle(const char *type)
{
    return strcmp(type, "match.export_lp") == 0;
}

/* Queries answered later, from a copy of the engine in a thread of their own
 * (match_aside.c): they re-solve, which takes from ms to seconds. */
static bool s_aside(const char *type)
{
    return strcmp(type, "match.whatif") == 0 || strcmp(type, "match.advise") == 0;
}

/* Starts the next what-if / advice request when the engine is idle (a run
 * being computed changes it: the request waits for its publication). */
static void s_aside_kick(tam_match_server_t *s)
{
    if (!tam_match_worker_busy(s->worker))
        tam_match_aside_next(s->aside, s->m);
}

/* The loop hands over a request the query deferred (s_aside). */
static void s_later(tam_rpc_req_t *req, void *arg)
{
    tam_match_server_t *s = arg;
    if (tam_match_aside_push(s->aside, req) != 0) {
        tam_answer_t a;
        memset(&a, 0, sizeof a);
        tam_rpc_error_set(&a.error, TAM_ETOOBIG, "",
                          "%d what-if or advice requests are already waiting: resend later",
                          TAM_MATCH_ASIDE_QUEUE);
        tam_service_reply(req, &a);
        tam_answer_clear(&a);
        tam_rpc_req_free(&req);
        return;
    }
    s_aside_kick(s);
}

static int s_aside_items(void *obj, zmq_pollitem_t *items, int max)
{
    tam_match_server_t *s = obj;
    int fd = tam_match_aside_fd(s->aside);
    if (fd < 0 || max < 1)
        return 0;
    items[0] = (zmq_pollitem_t){.socket = NULL, .fd = fd, .events = ZMQ_POLLIN};
    return 1;
}

static int s_aside_process(void *obj, const zmq_pollitem_t *items)
{
    (void)items;
    tam_match_server_t *s = obj;
    if (tam_match_aside_finish(s->aside) || tam_match_aside_waiting(s->aside))
        s_aside_kick(s);
    return 0;
}

static tam_req_kind_t s_classify(const char *type, void *arg)
{
    (void)arg;
    const tam_message_t *msg = tam_message_find(type);
    if (!msg)
        return TAM_REQ_UNKNOWN;
    if (msg->id == TAM_MSG_sys_ping || strncmp(type, "match.", 6) == 0)
        return TAM_REQ_READ;
    return TAM_REQ_UNKNOWN;
}

static int s_query(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    (void)txn;
    tam_match_server_t *s = arg;
    const tam_message_t *msg = tam_message_find(req->type);
    if (!msg)
        return TAM_EINTERNAL;
    if (s_aside(req->type)) {
        out->later = true; /* s_later takes it once the batch is answered */
        return 0;
    }
    tam_arena_reset(s->scratch);
    msgpack_sbuffer_clear(&s->answer);
    if (msg->id == TAM_MSG_sys_ping)
        return tam_service_pong(req, "tam-match", TAM_MATCH_CODE_VERSION, s->feed, s->scratch, out);
    /* what exports the solver's state (the LP) waits for the run being
     * computed; every other query reads the last published run beside it */
    if (tam_match_worker_busy(s->worker) && s_needs_idle(req->type))
        s_finish(s);
    tam_match_worker_rdlock(s->worker);
    int rc = tam_match_query(s->m, msg->id, req->body, req->body_len, s->scratch, &s->answer,
                             &out->error);
    tam_match_worker_rdunlock(s->worker);
    if (out->error.code)
        return out->error.code;
    if (rc)
        return rc;
    return tam_answer_ok(out, s->answer.data, s->answer.size);
}

/* ---- feeds in ------------------------------------------------------------------ */

static void s_mark(tam_match_server_t *s)
{
    if (s->pending_since < 0)
        s->pending_since = s_now_ms();
}

static void s_record_now(tam_match_server_t *s, int feed, const char *topic, size_t tn,
                         const void *body, size_t len)
{
    tam_match_apply(s->m, feed, topic, tn, body, len);
    if (tam_match_dirty(s->m))
        s_mark(s);
}

static void s_reset_now(s_client_arg_t *ca);
static void s_synced_now(uint64_t seq, s_client_arg_t *ca);

/* Queues a feed event that arrived during a run. Returns false if it could
 * not be queued (out of memory). */
static bool s_queue(tam_match_server_t *s, s_ev_kind_t kind, int feed, const char *topic,
                    size_t tn, const void *body, size_t len, uint64_t seq, int from_snapshot)
{
    if (s->nevq == s->cap_evq) {
        size_t nc = s->cap_evq ? 2 * s->cap_evq : 1024;
        s_event_t *v = realloc(s->evq, nc * sizeof *v);
        if (!v)
            return false;
        s->evq = v;
        s->cap_evq = nc;
    }
    s_event_t *e = &s->evq[s->nevq];
    *e = (s_event_t){.kind = kind, .feed = feed, .tn = tn, .len = len, .seq = seq,
                     .from_snapshot = from_snapshot};
    if (kind == S_EV_RECORD) {
        e->topic = malloc(tn + 1);
        e->body = malloc(len ? len : 1);
        if (!e->topic || !e->body) {
            free(e->topic);
            free(e->body);
            return false;
        }
        memcpy(e->topic, topic, tn);
        e->topic[tn] = 0;
        memcpy(e->body, body, len);
    }
    s->nevq++;
    return true;
}

/* Applies the events queued during the run just published, in order. */
static void s_drain(tam_match_server_t *s)
{
    for (size_t k = 0; k < s->nevq; k++) {
        s_event_t *e = &s->evq[k];
        if (e->kind == S_EV_RECORD)
            s_record_now(s, e->feed, e->topic, e->tn, e->body, e->len);
        else if (e->kind == S_EV_RESET)
            s_reset_now(&s->fc_arg[e->feed]);
        else
            s_synced_now(e->seq, &s->fc_arg[e->feed]);
        free(e->topic);
        free(e->body);
    }
    s->nevq = 0;
    if (s->evq_failed) {
        tam_crit("feeds: records that arrived during a run could not be kept (out of memory); "
                 "the model misses them until a feed reloads its snapshot");
        s->evq_failed = false;
    }
}

static void s_on_record(const char *topic, size_t tn, const void *body, size_t len, uint64_t seq,
                        int from_snapshot, void *arg)
{
    s_client_arg_t *ca = arg;
    tam_match_server_t *s = ca->s;
    if (!tam_match_worker_busy(s->worker)) {
        s_record_now(s, ca->feed, topic, tn, body, len);
        return;
    }
    if (!s_queue(s, S_EV_RECORD, ca->feed, topic, tn, body, len, seq, from_snapshot))
        s->evq_failed = true;
}

static void s_on_reset(void *arg)
{
    s_client_arg_t *ca = arg;
    if (tam_match_worker_busy(ca->s->worker)) {
        if (!s_queue(ca->s, S_EV_RESET, ca->feed, NULL, 0, NULL, 0, 0, 0))
            ca->s->evq_failed = true;
        return;
    }
    s_reset_now(ca);
}

static void s_on_synced(uint64_t seq, void *arg)
{
    s_client_arg_t *ca = arg;
    if (tam_match_worker_busy(ca->s->worker)) {
        if (!s_queue(ca->s, S_EV_SYNCED, ca->feed, NULL, 0, NULL, 0, seq, 0))
            ca->s->evq_failed = true;
        return;
    }
    s_synced_now(seq, ca);
}

static void s_reset_now(s_client_arg_t *ca)
{
    tam_match_server_t *s = ca->s;
    tam_match_feed_reset(s->m, ca->feed);
    s->loading[ca->feed] = true;
    s->loading_since[ca->feed] = s_now_ms();
    tam_info("feed %s: reloading its snapshot", s_feed_names[ca->feed]);
}

static void s_synced_now(uint64_t seq, s_client_arg_t *ca)
{
    tam_match_server_t *s = ca->s;
    tam_match_feed_synced(s->m, ca->feed);
    s->loading[ca->feed] = false;
    if (!s->synced_once[ca->feed])
        tam_info("feed %s: synced at sequence %llu", s_feed_names[ca->feed],
                 (unsigned long long)seq);
    s->synced_once[ca->feed] = true;
    s_mark(s);
}

/* ---- feed out ------------------------------------------------------------------ */

static int s_publish(const char *topic, const void *body, size_t len, void *arg)
{
    tam_match_server_t *s = arg;
    int rc = tam_feed_server_publish(s->feed, topic, body, len);
    if (rc) {
        s->publish_failed++;
        tam_warn("feed: publishing %s failed: %s", topic, tam_strerror(rc));
    }
    return rc;
}

static int s_snapshot(const char *prefix, tam_feed_emit_fn emit, void *emit_ctx, void *arg)
{
    tam_match_server_t *s = arg;
    tam_match_worker_rdlock(s->worker);
    int rc = tam_match_snapshot(s->m, prefix, emit, emit_ctx);
    tam_match_worker_rdunlock(s->worker);
    return rc;
}

/* ---- run ids for good ------------------------------------------------------------ */

/* The one durable thing tam-match keeps: the highest run id it has used, in
 * <data_dir>/match/run_id ("tamatch match run id N\n"). Run ids never repeat
 * or go backwards across restarts (docs/matching.md, "Run ids"). */
#define S_COUNTER_HEAD "tamatch match run id "

/* Reads the counter into s->counter (0 when the file does not exist yet).
 * Returns 0; TAM_EIO; TAM_ECONFIG for a file that is not a counter (logged:
 * guessing a value could repeat run ids). */
static int s_counter_load(tam_match_server_t *s)
{
    snprintf(s->counter_dir, sizeof s->counter_dir, "%s/match", s->cfg->common.data_dir);
    int rc = tam_cli_mkdirs(s->counter_dir);
    if (rc) {
        tam_error("run counter: cannot create %s: %s", s->counter_dir, tam_strerror(rc));
        return rc;
    }
    char path[1000], buf[64];
    snprintf(path, sizeof path, "%s/run_id", s->counter_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        s->counter = 0;
        tam_info("run counter: %s does not exist yet; run ids start at 1", path);
        return 0;
    }
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (n < 0) {
        tam_error("run counter: cannot read %s: %s", path, strerror(e));
        return TAM_EIO;
    }
    buf[n] = 0;
    size_t hl = strlen(S_COUNTER_HEAD);
    char *end = NULL;
    errno = 0;
    uint64_t v = (size_t)n > hl && memcmp(buf, S_COUNTER_HEAD, hl) == 0 &&
                         buf[hl] >= '0' && buf[hl] <= '9'
                     ? strtoull(buf + hl, &end, 10) : 0;
    if (!end || errno || strcmp(end, "\n") != 0) {
        tam_error("run counter: %s is not a run counter (\"" S_COUNTER_HEAD "N\"); fix or "
                  "remove it (removing it lets run ids start again at 1)", path);
        return TAM_ECONFIG;
    }
    s->counter = v;
    tam_info("run counter: the last run id used was %" PRIu64, v);
    return 0;
}

/* Stores id as the highest run id used, durably (write a new file, fsync,
 * rename over the old one, fsync the directory). Returns 0; TAM_EIO. */
static int s_counter_store(tam_match_server_t *s, uint64_t id)
{
    char path[1000], tmp[1010], text[64];
    snprintf(path, sizeof path, "%s/run_id", s->counter_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int len = snprintf(text, sizeof text, S_COUNTER_HEAD "%" PRIu64 "\n", id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, text, (size_t)len) == len && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0) {
        e = errno;
        ok = false;
    }
    if (ok) {
        int dfd = open(s->counter_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ok = dfd >= 0 && fsync(dfd) == 0;
        e = errno;
        if (dfd >= 0)
            close(dfd);
    }
    if (!ok) {
        tam_error("run counter: cannot store run id %" PRIu64 " in %s: %s", id, path,
                  strerror(e));
        return TAM_EIO;
    }
    s->counter = id;
    return 0;
}

/* ---- the runner ------------------------------------------------------------------ */

/* When the next run may start (ms, monotonic), or -1 if none is needed. */
static int64_t s_due(tam_match_server_t *s, int64_t now)
{
    const tam_match_params_t *par = &s->par;
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++)
        if (tam_feed_client_seq(s->fc[f]) != s->run_seqs[f] && tam_feed_client_synced(s->fc[f]))
            s_mark(s);
    /* a new day moves urgency and mission validity: re-rank without waiting
     * for an event */
    if (!par->today && tam_match_run_id(s->m) > 0 && tam_date_today() != tam_match_run_date(s->m))
        s_mark(s);
    if (s->pending_since < 0 && tam_match_run_id(s->m) > 0)
        return -1;
    /* ingest and registry are always waited for at start; the pipeline and
     * reloading feeds for at most sync_wait */
    if (!s->synced_once[TAM_MATCH_FEED_INGEST] || !s->synced_once[TAM_MATCH_FEED_REGISTRY])
        return -1;
    int64_t due = s->pending_since < 0 ? now : s->pending_since + par->coalesce_ms;
    if (!s->synced_once[TAM_MATCH_FEED_PIPELINE] && s->start_ms + par->sync_wait_ms > due)
        due = s->start_ms + par->sync_wait_ms;
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++)
        if (s->loading[f] && s->loading_since[f] + par->sync_wait_ms > due)
            due = s->loading_since[f] + par->sync_wait_ms;
    if (s->retry_at > due)
        due = s->retry_at;
    return due;
}

static int s_run_items(void *obj, zmq_pollitem_t *items, int max)
{
    tam_match_server_t *s = obj;
    if (!tam_match_worker_busy(s->worker) || max < 1)
        return 0;
    items[0] = (zmq_pollitem_t){.socket = NULL, .fd = tam_match_worker_fd(s->worker),
                                .events = ZMQ_POLLIN};
    return 1;
}

/* Takes the result of the run the worker computed: publishes it (in order),
 * then applies the feed events that arrived meanwhile. */
static void s_finish(tam_match_server_t *s)
{
    int rc = tam_match_worker_finish(s->worker, s_publish, s);
    if (rc) {
        tam_error("run failed: %s; retrying in 1 s", tam_strerror(rc));
        s->retry_at = s_now_ms() + 1000;
    } else {
        memcpy(s->run_seqs, s->job_seqs.seq, sizeof s->run_seqs);
        s->pending_since = -1;
        s->retry_at = -1;
    }
    s_drain(s);
    s_aside_kick(s); /* a what-if waiting for the run starts from it */
}

static int s_run_timeout(void *obj)
{
    tam_match_server_t *s = obj;
    if (tam_match_worker_busy(s->worker))
        return tam_match_worker_done(s->worker) ? 0 : 1000;
    int64_t now = s_now_ms(), due = s_due(s, now);
    if (due < 0)
        return 60000; /* look at the date once a minute */
    return due <= now ? 0 : (int)(due - now > 60000 ? 60000 : due - now);
}

static int s_run_process(void *obj, const zmq_pollitem_t *items)
{
    (void)items;
    tam_match_server_t *s = obj;
    if (tam_match_worker_busy(s->worker)) {
        if (tam_match_worker_done(s->worker))
            s_finish(s);
        return 0;
    }
    int64_t now = s_now_ms(), due = s_due(s, now);
    if (due < 0 || due > now)
        return 0;
    if (!s->synced_once[TAM_MATCH_FEED_PIPELINE] && !s->warned_pipeline) {
        tam_warn("feed pipeline: no snapshot after %lld ms; running without decisions until it "
                 "answers", (long long)s->par.sync_wait_ms);
        s->warned_pipeline = true;
    }
    tam_match_seqs_t seqs;
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++) {
        seqs.seq[f] = tam_feed_client_seq(s->fc[f]);
        seqs.epoch[f] = tam_feed_client_epoch(s->fc[f]);
    }
    /* the id is stored before the run is published, so that no id is ever
     * published twice, even if tam-match dies right after */
    uint64_t id = tam_match_next_run_id(s->m);
    if (id > s->counter && s_counter_store(s, id) != 0) {
        s->retry_at = now + 1000;
        return 0; /* no run without a durable id; retried in 1 s */
    }
    /* the sequences are those of the records applied so far: records that
     * arrive during the run wait in the queue */
    s->job_seqs = seqs;
    int rc = tam_match_worker_start(s->worker, &seqs);
    if (rc) {
        tam_error("run: cannot start: %s; retrying in 1 s", tam_strerror(rc));
        s->retry_at = now + 1000;
    }
    return 0; /* the service goes on answering with the last run */
}

static void s_ready(const char *endpoint, void *arg)
{
    tam_match_server_t *s = arg;
    tam_info("ready: requests on %s, feed on %s, snapshots on %s; following ingest %s, "
             "registry %s, pipeline %s", endpoint, s->cfg->match.feed, s->cfg->match.snapshot,
             s->cfg->ingest.feed, s->cfg->registry.feed, s->cfg->pipeline.feed);
}

/* ---- life cycle ------------------------------------------------------------------ */

/* service.stats' own figures of tam-match (docs/gateway.md, /metrics). */
static size_t s_gauges(tam_service_gauge_t *out, size_t cap, void *arg)
{
    tam_match_server_t *s = arg;
    tam_match_stats_t ms;
    tam_match_stats(s->m, &ms);
    const tam_service_gauge_t g[] = {{"runs", (int64_t)ms.runs},
                                     {"last_run_us", ms.last_run_us},
                                     {"last_solve_us", ms.last_solve_us},
                                     {"pairs", ms.pairs},
                                     {"proposals", ms.proposals},
                                     {"lock_hold_us", tam_match_worker_hold_us(s->worker)}};
    size_t n = sizeof g / sizeof g[0] < cap ? sizeof g / sizeof g[0] : cap;
    memcpy(out, g, n * sizeof *out);
    return n;
}

int tam_match_server_new(tam_match_server_t **out, const tam_config_t *cfg, void *zctx)
{
    char err[512];
    int rc;
    *out = NULL;
    tam_match_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    s->cfg = cfg;
    s->zctx = zctx;
    s->pending_since = s->retry_at = -1;
    s->start_ms = s_now_ms();
    msgpack_sbuffer_init(&s->answer);
    if ((rc = tam_match_params_from_config(cfg, &s->par, err, sizeof err))) {
        tam_error("config: %s", err);
        goto fail;
    }
    if (!(s->scratch = tam_arena_new(0))) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    tam_arena_set_cap(s->scratch, (size_t)cfg->common.max_frame * 8 + (64u << 20));
    if ((rc = tam_catalog_load(&s->cat, cfg->common.catalog_dir, err, sizeof err))) {
        tam_error("catalogue: %s", err);
        goto fail;
    }
    if ((rc = tam_match_new(&s->m, s->cat, &s->par)) || (rc = s_counter_load(s)) ||
        (rc = tam_match_worker_new(&s->worker, s->m)) || (rc = tam_match_aside_new(&s->aside)))
        goto fail;
    tam_match_set_run_floor(s->m, s->counter);
    if ((rc = tam_cli_ipc_dir(cfg->match.endpoint)) || (rc = tam_cli_ipc_dir(cfg->match.feed)) ||
        (rc = tam_cli_ipc_dir(cfg->match.snapshot)))
        goto fail;
    if ((rc = tam_feed_server_new(&s->feed, zctx, cfg->match.feed, cfg->match.snapshot,
                                  (int)cfg->common.heartbeat, s_snapshot, s)))
        goto fail;
    const char *pubs[TAM_MATCH_NFEEDS] = {cfg->ingest.feed, cfg->registry.feed,
                                          cfg->pipeline.feed};
    const char *snaps[TAM_MATCH_NFEEDS] = {cfg->ingest.snapshot, cfg->registry.snapshot,
                                           cfg->pipeline.snapshot};
    static const char *const pre_ingest[] = {"need/"};
    static const char *const pre_registry[] = {"project/", "context"};
    static const char *const pre_pipeline[] = {"decision/"};
    const char *const *pres[TAM_MATCH_NFEEDS] = {pre_ingest, pre_registry, pre_pipeline};
    const size_t npres[TAM_MATCH_NFEEDS] = {1, 2, 1};
    tam_feed_client_opts_t fo = {.silence_ms = (int)(3 * cfg->common.heartbeat + 500),
                                 .snapshot_timeout_ms = (int)cfg->common.request_timeout};
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++) {
        s->fc_arg[f] = (s_client_arg_t){s, f};
        tam_feed_callbacks_t cb = {.on_record = s_on_record, .on_reset = s_on_reset,
                                   .on_synced = s_on_synced, .arg = &s->fc_arg[f]};
        if ((rc = tam_feed_client_new(&s->fc[f], zctx, pubs[f], snaps[f], pres[f], npres[f], &cb,
                                      &fo))) {
            tam_error("feed %s: cannot follow %s: %s", s_feed_names[f], pubs[f],
                      tam_strerror(rc));
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    tam_match_server_destroy(&s);
    return rc;
}

int tam_match_server_run(tam_match_server_t *s)
{
    tam_rpc_limits_t lim = {.max_frame = (size_t)s->cfg->common.max_frame,
                            .max_frames = (unsigned)s->cfg->common.max_frames,
                            .body_limits = NULL};
    tam_service_source_t src[3 + TAM_MATCH_NFEEDS];
    size_t n = 0;
    src[n++] = tam_feed_server_source(s->feed);
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++)
        src[n++] = tam_feed_client_source(s->fc[f]);
    /* last: it sees every record the clients took in this round */
    src[n++] = (tam_service_source_t){.pollitems = s_run_items, .process = s_run_process,
                                      .next_timeout_ms = s_run_timeout, .obj = s};
    src[n++] = (tam_service_source_t){.pollitems = s_aside_items, .process = s_aside_process,
                                      .obj = s};
    tam_service_def_t def = {.name = "match",
                             .zctx = s->zctx,
                             .endpoint = s->cfg->match.endpoint,
                             .limits = &lim,
                             .store = NULL,
                             .signals = true,
                             .classify = s_classify,
                             .catalog = s->cat, /* catalog.get */
                             .query = s_query,
                             .ready = s_ready,
                             .sources = src,
                             .nsources = n,
                             .stats = &s->stats,
                             .gauges = s_gauges,
                             .later = s_later};
    int rc = tam_service_run(&def, s);
    /* a run being computed stops at its next check, mid-solve included */
    if (tam_match_worker_busy(s->worker)) {
        int64_t t0 = s_now_ms();
        int wrc = tam_match_worker_stop(s->worker);
        tam_info("stopping: the run being computed %s after %lld ms",
                 wrc == TAM_ESTATE ? "stopped" : "had finished (not published)",
                 (long long)(s_now_ms() - t0));
    }
    tam_match_stats_t ms;
    tam_match_stats(s->m, &ms);
    tam_info("stopping: %llu run(s) (%llu warm), %llu read(s), %llu bad feed record(s), "
             "%llu publish failure(s)", (unsigned long long)ms.runs,
             (unsigned long long)ms.warm_runs, (unsigned long long)s->stats.reads,
             (unsigned long long)ms.bad_records, (unsigned long long)s->publish_failed);
    if (rc)
        tam_crit("service loop stopped: %s", tam_strerror(rc));
    return rc;
}

void tam_match_server_destroy(tam_match_server_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_match_server_t *s = *sp;
    tam_match_aside_destroy(&s->aside); /* stops an evaluation going on */
    tam_match_worker_destroy(&s->worker);
    for (size_t k = 0; k < s->nevq; k++) {
        free(s->evq[k].topic);
        free(s->evq[k].body);
    }
    free(s->evq);
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++)
        tam_feed_client_destroy(&s->fc[f]);
    tam_feed_server_destroy(&s->feed);
    tam_match_destroy(&s->m);
    tam_catalog_destroy(&s->cat);
    tam_arena_destroy(&s->scratch);
    msgpack_sbuffer_destroy(&s->answer);
    free(s);
    *sp = NULL;
}

/* service_feed.c — feeds as service loop sources; publish and snapshot glue
 * (see tam/service_feed.h). */
#include "tam/error.h"
#include "tam/log.h"
#include "tam/proto.h"
#include "tam/service_feed.h"

static int s_server_items(void *obj, zmq_pollitem_t *items, int max)
{
    return tam_feed_server_pollitems(obj, items, max);
}

static int s_server_process(void *obj, const zmq_pollitem_t *items)
{
    return tam_feed_server_process(obj, items);
}

static int s_server_timeout(void *obj)
{
    return tam_feed_server_next_timeout_ms(obj);
}

static int s_client_items(void *obj, zmq_pollitem_t *items, int max)
{
    return tam_feed_client_pollitems(obj, items, max);
}

static int s_client_process(void *obj, const zmq_pollitem_t *items)
{
    return tam_feed_client_process(obj, items);
}

static int s_client_timeout(void *obj)
{
    return tam_feed_client_next_timeout_ms(obj);
}

tam_service_source_t tam_feed_server_source(tam_feed_server_t *s)
{
    return (tam_service_source_t){.pollitems = s_server_items, .process = s_server_process,
                                  .next_timeout_ms = s_server_timeout, .obj = s};
}

tam_service_source_t tam_feed_client_source(tam_feed_client_t *c)
{
    return (tam_service_source_t){.pollitems = s_client_items, .process = s_client_process,
                                  .next_timeout_ms = s_client_timeout, .obj = c};
}

size_t tam_feed_publish_events(tam_feed_server_t *s, const tam_event_t *ev, size_t n)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = tam_feed_server_publish(s, ev[i].topic, ev[i].body, ev[i].len);
        if (rc) {
            failed++;
            tam_warn("feed: publishing %s failed: %s", ev[i].topic, tam_strerror(rc));
        }
    }
    return failed;
}

typedef struct {
    tam_snapshot_txn_fn fn;
    const char *prefix;
    tam_feed_emit_fn emit;
    void *ctx;
} s_snap_t;

static int s_snap_txn(tam_txn_t *txn, void *arg)
{
    s_snap_t *a = arg;
    return a->fn(txn, a->prefix, a->emit, a->ctx);
}

int tam_feed_snapshot_from_store(tam_store_t *st, tam_snapshot_txn_fn fn, const char *prefix,
                                 tam_feed_emit_fn emit, void *emit_ctx)
{
    s_snap_t a = {fn, prefix, emit, emit_ctx};
    int rc = tam_store_read(st, s_snap_txn, &a);
    if (rc && rc != TAM_EUNAVAIL)
        tam_warn("feed: snapshot for prefix '%s' failed: %s", prefix, tam_strerror(rc));
    return rc;
}

int tam_service_pong(const tam_rpc_req_t *req, const char *service, const char *version,
                     tam_feed_server_t *feed, tam_arena_t *a, tam_answer_t *out)
{
    tam_ping_t ping;
    int rc = tam_request_decode(&tam_schema_ping, req->body, req->body_len, a, &ping, &out->error);
    if (rc)
        return rc;
    tam_pong_t pong = {.service = (char *)service,
                       .version = (char *)version,
                       .feed_seq = feed ? tam_feed_server_seq(feed) : 0,
                       .feed_epoch = feed ? tam_feed_server_epoch(feed) : 0,
                       .note = ping.note};
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    if ((rc = tam_encode_sbuf(&tam_schema_pong, &pong, &sb, &ce)))
        return rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
    rc = tam_answer_ok(out, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

void tam_service_log_stop(const tam_service_stats_t *st, tam_feed_server_t *feed, int rc)
{
    tam_feed_server_stats_t fs = {0};
    if (feed)
        tam_feed_server_stats(feed, &fs);
    tam_info("stopping: %llu request(s), %llu write(s) (%llu duplicate(s)), %llu read(s), "
             "%llu error answer(s), %llu commit(s); feed: %llu update(s), %llu snapshot(s)",
             (unsigned long long)st->requests, (unsigned long long)st->writes,
             (unsigned long long)st->duplicates, (unsigned long long)st->reads,
             (unsigned long long)st->errors, (unsigned long long)st->commits,
             (unsigned long long)fs.published, (unsigned long long)fs.snapshots);
    if (rc)
        tam_crit("service loop stopped: %s", tam_strerror(rc));
}

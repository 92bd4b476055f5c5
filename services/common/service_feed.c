/* service_feed.c — feeds as service loop sources; publish and snapshot glue
 * (see tam/service_feed.h). */
#include "tam/error.h"
#include "tam/log.h"
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

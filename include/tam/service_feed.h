/* tam/service_feed.h — the glue between the service loop (tam/service.h) and
 * the feed classes (tam/feed.h) that every publishing or subscribing service
 * needs: feed servers and clients as loop sources, publishing the events of a
 * committed batch, and serving a snapshot from a read transaction. */
#ifndef TAM_SERVICE_FEED_H
#define TAM_SERVICE_FEED_H
#include "tam/feed.h"
#include "tam/service.h"
#include "tam/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A feed server / client as a source of the service loop. */
tam_service_source_t tam_feed_server_source(tam_feed_server_t *s);
tam_service_source_t tam_feed_client_source(tam_feed_client_t *c);

/* Publishes committed events in order. A failed publish is logged (topic and
 * code only) and counted in the return value; its sequence is consumed, so
 * subscribers see a gap and resync from the snapshot, which reads the
 * committed store. Never fails as a whole. */
size_t tam_feed_publish_events(tam_feed_server_t *s, const tam_event_t *ev, size_t n);

/* Emits the snapshot records for prefix from one read transaction. */
typedef int (*tam_snapshot_txn_fn)(tam_txn_t *txn, const char *prefix, tam_feed_emit_fn emit,
                                   void *emit_ctx);

/* Runs fn in a read transaction of st, for a tam_feed_snapshot_fn. Returns
 * fn's result or the store's error (logged with the prefix). */
int tam_feed_snapshot_from_store(tam_store_t *st, tam_snapshot_txn_fn fn, const char *prefix,
                                 tam_feed_emit_fn emit, void *emit_ctx);

/* Answers sys.ping for a service with a feed: decodes the ping (every
 * problem listed in out->error), then sets out's ok body to the pong naming
 * service, version, the feed's sequence and epoch, and the ping's note.
 * Returns 0; the decode error's code; TAM_ENOMEM. */
int tam_service_pong(const tam_rpc_req_t *req, const char *service, const char *version,
                     tam_feed_server_t *feed, tam_arena_t *a, tam_answer_t *out);

/* Logs a stopping service's counters (ids and counts only) and, if rc is
 * not 0, why its loop stopped. feed may be NULL. */
void tam_service_log_stop(const tam_service_stats_t *st, tam_feed_server_t *feed, int rc);

#ifdef __cplusplus
}
#endif
#endif

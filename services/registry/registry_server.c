/* registry_server.c — tam-registry on the shared service loop (tam/service.h):
 * the catalogue, the LMDB environment, the feed server, the one place where
 * the principal of a request is checked, and the glue from requests to the
 * handlers of registry_store.c / registry_query.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/service_feed.h"
#include "registry.h"

struct tam_registry_server {
    const tam_config_t *cfg;
    void *zctx;
    tam_catalog_t *cat;
    tam_store_t *store;
    tam_feed_server_t *feed;
    tam_registry_t reg;
    tam_work_t w;                 /* the request in hand: decoded, answer, events */
    tam_service_stats_t stats;
    uint64_t publish_failed;
};

/* Every named database: the registry's and the loop's request log. */
static const char *const s_dbs[] = {"donors", "donor_revs", "projects", "project_revs",
                                    "ledger", "context", TAM_SERVICE_REQUESTS_DB, NULL};

static tam_req_kind_t s_classify(const char *type, void *arg)
{
    (void)arg;
    return tam_registry_classify(type);
}

/* ---- requests -------------------------------------------------------------------- */

static int s_handle(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    tam_registry_server_t *s = arg;
    const tam_message_t *m = tam_message_find(req->type);
    if (!m)
        return TAM_EINTERNAL; /* classify let only known types through */
    tam_work_begin(&s->w);
    s->reg.by = req->principal.id; /* who made the revision: recorded with it */
    bool dry_run = false;
    s->reg.dry_run = &dry_run;
    int rc = tam_registry_write(&s->reg, txn, m->id, req->body, req->body_len, s->w.arena,
                                &s->w.body, &s->w.events, &out->error);
    s->reg.dry_run = NULL;
    out->dry_run = rc == 0 && out->error.code == 0 && dry_run;
    if (rc == 0 && out->error.code == 0)
        tam_debug("%s %s: ok", req->type, req->id);
    else if (rc == 0)
        tam_info("%s %s refused: %s (%zu problem(s))", req->type, req->id,
                 tam_errname(out->error.code), out->error.n);
    return tam_work_finish(&s->w, rc, out);
}

static int s_query(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    tam_registry_server_t *s = arg;
    const tam_message_t *m = tam_message_find(req->type);
    if (!m)
        return TAM_EINTERNAL;
    tam_work_begin(&s->w);
    if (m->id == TAM_MSG_sys_ping)
        return tam_service_pong(req, "tam-registry", TAM_VERSION, s->feed, s->w.arena, out);
    int rc = tam_registry_read(&s->reg, txn, m->id, req->body, req->body_len, s->w.arena,
                               &s->w.body, &out->error);
    return tam_work_finish(&s->w, rc, out);
}

/* ---- the feed ------------------------------------------------------------------------ */

static void s_after_commit(const tam_event_t *ev, size_t n, void *arg)
{
    tam_registry_server_t *s = arg;
    s->publish_failed += tam_feed_publish_events(s->feed, ev, n);
}

static int s_snapshot(const char *prefix, tam_feed_emit_fn emit, void *emit_ctx, void *arg)
{
    tam_registry_server_t *s = arg;
    return tam_feed_snapshot_from_store(s->store, tam_registry_snapshot, prefix, emit, emit_ctx);
}

static void s_ready(const char *endpoint, void *arg)
{
    tam_registry_server_t *s = arg;
    tam_info("ready: requests on %s, feed on %s, snapshots on %s", endpoint, s->cfg->registry.feed,
             s->cfg->registry.snapshot);
}

/* ---- life cycle -------------------------------------------------------------------------- */

static int s_count_fn(tam_txn_t *txn, void *arg)
{
    return tam_registry_counts(txn, arg);
}

int tam_registry_server_new(tam_registry_server_t **out, const tam_config_t *cfg, void *zctx)
{
    char err[512], path[TAM_CFG_STR_MAX + 16];
    int rc;
    *out = NULL;
    tam_registry_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    s->cfg = cfg;
    s->zctx = zctx;
    /* A request is at most one frame; what it decodes to is a few times that. */
    if ((rc = tam_work_init(&s->w, (size_t)cfg->common.max_frame * 8 + (1u << 20))))
        goto fail;

    if ((rc = tam_catalog_load(&s->cat, cfg->common.catalog_dir, err, sizeof err))) {
        tam_error("catalogue: %s", err);
        goto fail;
    }
    s->reg.cat = s->cat;

    snprintf(path, sizeof path, "%s/registry", cfg->common.data_dir);
    if ((rc = tam_cli_mkdirs(cfg->common.data_dir)))
        goto fail;
    tam_store_opts_t so = {.path = path,
                           .map_size = (size_t)cfg->registry.map_size,
                           .map_max = (size_t)cfg->registry.map_max,
                           .dbs = s_dbs,
                           .schema_version = TAM_REGISTRY_SCHEMA, .service = "registry"};
    if ((rc = tam_store_open(&s->store, &so)))
        goto fail;
    tam_registry_counts_t n = {0};
    if ((rc = tam_store_read(s->store, s_count_fn, &n)))
        goto fail;
    tam_info("store %s: %zu donor(s), %zu project(s), %zu ledger entr%s, %zu context version(s)",
             path, n.donors, n.projects, n.ledger, n.ledger == 1 ? "y" : "ies", n.contexts);

    if ((rc = tam_cli_ipc_dir(cfg->registry.endpoint)) || (rc = tam_cli_ipc_dir(cfg->registry.feed)) ||
        (rc = tam_cli_ipc_dir(cfg->registry.snapshot)))
        goto fail;
    if ((rc = tam_feed_server_new(&s->feed, zctx, cfg->registry.feed, cfg->registry.snapshot,
                                  (int)cfg->common.heartbeat, s_snapshot, s)))
        goto fail;
    *out = s;
    return 0;
fail:
    tam_registry_server_destroy(&s);
    return rc;
}

int tam_registry_server_run(tam_registry_server_t *s)
{
    tam_rpc_limits_t lim = {.max_frame = (size_t)s->cfg->common.max_frame,
                            .max_frames = (unsigned)s->cfg->common.max_frames,
                            .body_limits = NULL};
    tam_service_source_t feed = tam_feed_server_source(s->feed);
    tam_service_def_t def = {.name = "registry",
                             .zctx = s->zctx,
                             .endpoint = s->cfg->registry.endpoint,
                             .limits = &lim,
                             .store = s->store,
                             .batch_max = (unsigned)s->cfg->registry.batch_max,
                             .request_retention_ms = s->cfg->common.request_retention,
                             .signals = true,
                             .classify = s_classify,
                             .catalog = s->cat, /* catalog.get */
                             .handle = s_handle,
                             .query = s_query,
                             .after_commit = s_after_commit,
                             .ready = s_ready,
                             .sources = &feed,
                             .nsources = 1,
                             .stats = &s->stats};
    int rc = tam_service_run(&def, s);
    tam_service_log_stop(&s->stats, s->feed, rc);
    return rc;
}

void tam_registry_server_destroy(tam_registry_server_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_registry_server_t *s = *sp;
    tam_feed_server_destroy(&s->feed);
    tam_store_close(&s->store);
    tam_catalog_destroy(&s->cat);
    tam_work_fini(&s->w);
    free(s);
    *sp = NULL;
}

/* pipeline_server.c — tam-pipeline on the shared service loop (tam/service.h):
 * the catalogue, the LMDB environment, the decisions feed, the feed clients
 * that keep the views of tam-ingest, tam-registry and tam-match current, the
 * one place where the principal's role is checked, the client that reads
 * ingest's replies for the commission report, and the glue from requests to
 * pipeline_act.c / pipeline_query.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/service_feed.h"
#include "tam/principal.h"
#include "tam/service.h"
#include "pipeline.h"

#define S_ARENA_CAP (256u << 20) /* a report over every reply may decode a lot */

typedef struct {
    struct tam_pipeline_server *s;
    tam_pipeline_src_t src;
    const char *service;
    tam_feed_client_t *client;
} s_sub_t;

struct tam_pipeline_server {
    const tam_config_t *cfg;
    void *zctx;
    tam_catalog_t *cat;
    tam_store_t *store;
    tam_feed_server_t *feed;
    tam_pipeline_view_t *view;
    s_sub_t subs[TAM_PIPELINE_SRC__COUNT];
    tam_pipeline_t pl;
    tam_rpc_client_t *ingest;     /* for the commission report; created on first use */
    tam_work_t w;                 /* the request in hand: decoded, answer, events */
    tam_arena_t *auth;            /* authorize's decoding, reset per request */
    tam_events_t follow_pubs;     /* tam-pipeline's own acts (decisions follow their need) */
    tam_service_source_t ingest_src; /* the needs feed client, wrapped by s_ingest_* */
    tam_service_stats_t stats;
    uint64_t publish_failed;
};

/* ---- the principal: the one place it is checked ----------------------------------- */

static int s_authorize(const tam_rpc_req_t *req, tam_rpc_error_t *err, void *arg)
{
    tam_pipeline_server_t *s = arg;
    return tam_pipeline_authorize(&req->principal, req->type, req->body, req->body_len, s->auth,
                                  err);
}

static tam_req_kind_t s_classify(const char *type, void *arg)
{
    (void)arg;
    const tam_message_t *m = tam_message_find(type);
    if (!m)
        return TAM_REQ_UNKNOWN;
    if (m->id == TAM_MSG_sys_ping)
        return TAM_REQ_READ;
    if (strncmp(type, "pipeline.", 9) != 0)
        return TAM_REQ_UNKNOWN;
    return m->writes ? TAM_REQ_WRITE : TAM_REQ_READ;
}

/* ---- requests ------------------------------------------------------------------------ */

static int s_handle(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    tam_pipeline_server_t *s = arg;
    tam_work_begin(&s->w);
    int rc = tam_pipeline_act(&s->pl, txn, &req->principal, req->body, req->body_len, s->w.arena,
                              &s->w.body, &s->w.events, &out->error);
    if (rc == 0 && out->error.code)
        tam_info("%s %s refused: %s (field %s)", req->type, req->id, tam_errname(out->error.code),
                 out->error.field);
    else if (rc == 0)
        tam_info("%s %s by %s: ok", req->type, req->id, req->principal.id);
    return tam_work_finish(&s->w, rc, out);
}

static int s_query(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    tam_pipeline_server_t *s = arg;
    const tam_message_t *m = tam_message_find(req->type);
    if (!m)
        return TAM_EINTERNAL;
    tam_work_begin(&s->w);
    if (m->id == TAM_MSG_sys_ping)
        return tam_service_pong(req, "tam-pipeline", TAM_VERSION, s->feed, s->w.arena, out);
    int rc = tam_pipeline_read(&s->pl, txn, m->id, req->body, req->body_len, s->w.arena,
                               &s->w.body, &out->error);
    return tam_work_finish(&s->w, rc, out);
}

/* ---- ingest's replies, for the commission report ------------------------------------- */

/* One call to tam-ingest; the answer decoded into out from a. */
static int s_ingest_call(tam_pipeline_server_t *s, int msg_id, const void *req, tam_arena_t *a,
                         void *out, tam_rpc_error_t *err)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg_id];
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    tam_rpc_answer_t ans = {0};
    int rc;
    if (!s->ingest &&
        (rc = tam_rpc_client_new(&s->ingest, s->zctx, s->cfg->ingest.endpoint,
                                 (int)s->cfg->common.request_timeout, 1))) {
        tam_rpc_error_set(err, TAM_EUNAVAIL, "", "cannot connect to tam-ingest: %s", tam_strerror(rc));
        return err->code;
    }
    if ((rc = tam_encode_sbuf(m->request, req, &sb, &ce)))
        return rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
    rc = tam_rpc_call(s->ingest, m->type, sb.data, sb.size, &ans);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        tam_rpc_error_set(err, rc == TAM_ENOMEM ? TAM_ENOMEM : TAM_EUNAVAIL, "",
                          "tam-ingest did not answer %s at %s (%s): the commission report needs it",
                          m->type, s->cfg->ingest.endpoint, tam_strerror(rc));
        goto done;
    }
    if (ans.status != TAM_RPC_OK) {
        tam_rpc_error_set(err, ans.error.code ? ans.error.code : TAM_EINTERNAL, "",
                          "tam-ingest refused %s: %s", m->type, ans.error.message);
        goto done;
    }
    if (tam_decode(m->answer, ans.body, ans.len, a, out, &ce))
        tam_rpc_error_set(err, TAM_EPROTO, "", "tam-ingest's answer to %s does not decode: %s: %s",
                          m->type, ce.path, ce.message);
done:
    tam_rpc_answer_clear(&ans);
    return err->code;
}

static int s_replies(void *arg, tam_arena_t *a, tam_reply_full_t **out, size_t *n,
                     tam_rpc_error_t *err)
{
    tam_pipeline_server_t *s = arg;
    tam_reply_full_t *v = NULL;
    size_t cap = 0;
    *n = 0;
    tam_replies_query_t q = {.status = "current", .limit = 1000};
    for (;;) {
        tam_reply_list_t page;
        if (s_ingest_call(s, TAM_MSG_ingest_replies, &q, a, &page, err))
            return err->code;
        for (uint32_t i = 0; i < page.items.n; i++) {
            if (*n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                tam_reply_full_t *nv = tam_arena_alloc(a, nc * sizeof *nv);
                if (!nv)
                    return TAM_ENOMEM;
                if (*n)
                    memcpy(nv, v, *n * sizeof *nv);
                v = nv;
                cap = nc;
            }
            tam_reply_key_t key = {.id = page.items.v[i].id};
            if (s_ingest_call(s, TAM_MSG_ingest_reply_get, &key, a, &v[*n], err))
                return err->code;
            (*n)++;
        }
        if (!page.next)
            break;
        q.after = page.next;
    }
    *out = v;
    tam_info("commission report: %zu current repl%s read from tam-ingest", *n, *n == 1 ? "y" : "ies");
    return 0;
}

/* ---- feeds ------------------------------------------------------------------------------ */

static void s_after_commit(const tam_event_t *ev, size_t n, void *arg)
{
    tam_pipeline_server_t *s = arg;
    s->publish_failed += tam_feed_publish_events(s->feed, ev, n);
}

static int s_snapshot(const char *prefix, tam_feed_emit_fn emit, void *emit_ctx, void *arg)
{
    tam_pipeline_server_t *s = arg;
    return tam_feed_snapshot_from_store(s->store, tam_pipeline_snapshot, prefix, emit, emit_ctx);
}

static void s_on_record(const char *topic, size_t tlen, const void *body, size_t len, uint64_t seq,
                        int from_snapshot, void *arg)
{
    (void)seq, (void)from_snapshot;
    s_sub_t *sub = arg;
    tam_pipeline_view_record(sub->s->view, sub->src, topic, tlen, body, len);
}

static void s_on_reset(void *arg)
{
    s_sub_t *sub = arg;
    tam_pipeline_view_reset(sub->s->view, sub->src);
    tam_info("feed of %s: resynchronising", sub->service);
}

static void s_on_synced(uint64_t seq, void *arg)
{
    s_sub_t *sub = arg;
    tam_pipeline_view_t *v = sub->s->view;
    tam_pipeline_view_synced(v, sub->src, seq);
    tam_info("feed of %s: synced at seq %llu (%zu need(s), %zu project(s), %zu proposal(s) known)",
             sub->service, (unsigned long long)seq, tam_pipeline_view_count(v, 'n'),
             tam_pipeline_view_count(v, 'p'), tam_pipeline_view_count(v, 'x'));
}


/* ---- decisions follow their need ------------------------------------------------------- */

typedef struct {
    tam_pipeline_server_t *s;
    const uint64_t *ids;
    size_t n, changed;
} s_follow_t;

static int s_follow_fn(tam_txn_t *txn, void *arg)
{
    s_follow_t *c = arg;
    tam_pipeline_server_t *s = c->s;
    c->changed = 0;
    tam_events_truncate(&s->follow_pubs, 0); /* the store may run us again */
    for (size_t i = 0; i < c->n; i++) {
        const tam_pipeline_need_t *n = tam_pipeline_view_need(s->view, c->ids[i]);
        size_t ch = 0;
        int rc = n ? tam_pipeline_follow_need(&s->pl, txn, n, &s->follow_pubs, &ch) : 0;
        if (rc)
            return rc;
        c->changed += ch;
    }
    return c->changed ? 0 : 1; /* 1: nothing to write (the transaction is dropped) */
}

/* Brings the decisions on needs that tam-ingest changed in line with them:
 * one write transaction, committed before the decisions are published. */
static int s_follow(tam_pipeline_server_t *s)
{
    s_follow_t c = {.s = s};
    c.n = tam_pipeline_view_changed(s->view, &c.ids, false);
    if (!c.n)
        return 0;
    int rc = tam_store_write(s->store, s_follow_fn, &c);
    size_t nneeds = c.n;
    tam_pipeline_view_changed(s->view, NULL, true);
    if (rc == 0) {
        s->publish_failed += tam_feed_publish_events(s->feed, s->follow_pubs.v, s->follow_pubs.n);
        tam_info("%zu decision(s) follow %zu changed need(s) (flagged or reduced; audit entries "
                 "by tam-pipeline)", c.changed, nneeds);
    } else if (rc != 1) {
        tam_error("decisions following %zu changed need(s): %s", nneeds, tam_strerror(rc));
        if (rc == TAM_EFATAL)
            return rc;
    }
    tam_events_truncate(&s->follow_pubs, 0);
    return 0;
}

static int s_ingest_items(void *obj, zmq_pollitem_t *items, int max)
{
    tam_pipeline_server_t *s = obj;
    return s->ingest_src.pollitems(s->ingest_src.obj, items, max);
}

static int s_ingest_process(void *obj, const zmq_pollitem_t *items)
{
    tam_pipeline_server_t *s = obj;
    int rc = s->ingest_src.process(s->ingest_src.obj, items);
    return rc ? rc : s_follow(s);
}

static int s_ingest_timeout(void *obj)
{
    tam_pipeline_server_t *s = obj;
    return s->ingest_src.next_timeout_ms ? s->ingest_src.next_timeout_ms(s->ingest_src.obj) : -1;
}

static void s_ready(const char *endpoint, void *arg)
{
    tam_pipeline_server_t *s = arg;
    tam_info("ready: requests on %s, feed on %s, snapshots on %s", endpoint, s->cfg->pipeline.feed,
             s->cfg->pipeline.snapshot);
}

/* ---- life cycle -------------------------------------------------------------------------- */

static int s_count_fn(tam_txn_t *txn, void *arg)
{
    return tam_pipeline_counts(txn, arg);
}

static int s_subscribe(tam_pipeline_server_t *s, tam_pipeline_src_t src, const char *service,
                       const char *pub, const char *snap, const char *const *prefixes, size_t np)
{
    s_sub_t *sub = &s->subs[src];
    sub->s = s;
    sub->src = src;
    sub->service = service;
    tam_feed_callbacks_t cb = {.on_record = s_on_record, .on_reset = s_on_reset,
                               .on_synced = s_on_synced, .arg = sub};
    int rc = tam_feed_client_new(&sub->client, s->zctx, pub, snap, prefixes, np, &cb, NULL);
    if (rc)
        tam_error("cannot subscribe to the feed of %s at %s: %s", service, pub, tam_strerror(rc));
    return rc;
}

int tam_pipeline_server_new(tam_pipeline_server_t **out, const tam_config_t *cfg, void *zctx)
{
    char err[512], path[TAM_CFG_STR_MAX + 16];
    int rc;
    *out = NULL;
    tam_pipeline_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    s->cfg = cfg;
    s->zctx = zctx;
    if ((rc = tam_work_init(&s->w, S_ARENA_CAP)))
        goto fail;
    if (!(s->auth = tam_arena_new(0))) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    tam_arena_set_cap(s->auth, (size_t)cfg->common.max_frame * 8 + (1u << 20));
    if ((rc = tam_catalog_load(&s->cat, cfg->common.catalog_dir, err, sizeof err))) {
        tam_error("catalogue: %s", err);
        goto fail;
    }
    if ((rc = tam_pipeline_view_new(&s->view, s->cat)))
        goto fail;
    s->pl = (tam_pipeline_t){.cat = s->cat, .view = s->view, .replies = s_replies, .replies_arg = s};

    snprintf(path, sizeof path, "%s/pipeline", cfg->common.data_dir);
    if ((rc = tam_cli_mkdirs(cfg->common.data_dir)))
        goto fail;
    tam_store_opts_t so = {.path = path,
                           .map_size = (size_t)cfg->pipeline.map_size,
                           .map_max = (size_t)cfg->pipeline.map_max,
                           .dbs = tam_pipeline_dbs,
                           .schema_version = TAM_PIPELINE_SCHEMA, .service = "pipeline"};
    if ((rc = tam_store_open(&s->store, &so)))
        goto fail;
    tam_pipeline_counts_t n = {0};
    if ((rc = tam_store_read(s->store, s_count_fn, &n)))
        goto fail;
    tam_info("store %s: %zu decision(s), %zu audit entr%s", path, n.decisions, n.audit,
             n.audit == 1 ? "y" : "ies");

    if ((rc = tam_cli_ipc_dir(cfg->pipeline.endpoint)) || (rc = tam_cli_ipc_dir(cfg->pipeline.feed)) ||
        (rc = tam_cli_ipc_dir(cfg->pipeline.snapshot)))
        goto fail;
    if ((rc = tam_feed_server_new(&s->feed, zctx, cfg->pipeline.feed, cfg->pipeline.snapshot,
                                  (int)cfg->common.heartbeat, s_snapshot, s)))
        goto fail;
    static const char *const need_p[] = {"need/"};
    static const char *const reg_p[] = {"project/", "donor/", "context"};
    static const char *const match_p[] = {"run", "prop/"};
    if ((rc = s_subscribe(s, TAM_PIPELINE_SRC_INGEST, "tam-ingest", cfg->ingest.feed,
                          cfg->ingest.snapshot, need_p, 1)) ||
        (rc = s_subscribe(s, TAM_PIPELINE_SRC_REGISTRY, "tam-registry", cfg->registry.feed,
                          cfg->registry.snapshot, reg_p, 3)) ||
        (rc = s_subscribe(s, TAM_PIPELINE_SRC_MATCH, "tam-match", cfg->match.feed,
                          cfg->match.snapshot, match_p, 2)))
        goto fail;
    *out = s;
    return 0;
fail:
    tam_pipeline_server_destroy(&s);
    return rc;
}

int tam_pipeline_server_run(tam_pipeline_server_t *s)
{
    tam_rpc_limits_t lim = {.max_frame = (size_t)s->cfg->common.max_frame,
                            .max_frames = (unsigned)s->cfg->common.max_frames,
                            .body_limits = NULL};
    tam_service_source_t src[1 + TAM_PIPELINE_SRC__COUNT];
    src[0] = tam_feed_server_source(s->feed);
    for (int i = 0; i < TAM_PIPELINE_SRC__COUNT; i++)
        src[1 + i] = tam_feed_client_source(s->subs[i].client);
    /* the needs feed: after its records, the decisions follow the needs */
    s->ingest_src = src[1 + TAM_PIPELINE_SRC_INGEST];
    src[1 + TAM_PIPELINE_SRC_INGEST] = (tam_service_source_t){
        .pollitems = s_ingest_items, .process = s_ingest_process,
        .next_timeout_ms = s_ingest_timeout, .obj = s};
    tam_service_def_t def = {.name = "pipeline",
                             .zctx = s->zctx,
                             .endpoint = s->cfg->pipeline.endpoint,
                             .limits = &lim,
                             .store = s->store,
                             .batch_max = (unsigned)s->cfg->pipeline.batch_max,
                             .request_retention_ms = s->cfg->common.request_retention,
                             .signals = true,
                             .classify = s_classify,
                             .catalog = s->cat, /* catalog.get */
                             .authorize = s_authorize,
                             .handle = s_handle,
                             .query = s_query,
                             .after_commit = s_after_commit,
                             .ready = s_ready,
                             .sources = src,
                             .nsources = 1 + TAM_PIPELINE_SRC__COUNT,
                             .stats = &s->stats};
    int rc = tam_service_run(&def, s);
    tam_service_log_stop(&s->stats, s->feed, rc);
    return rc;
}

void tam_pipeline_server_destroy(tam_pipeline_server_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_pipeline_server_t *s = *sp;
    for (int i = 0; i < TAM_PIPELINE_SRC__COUNT; i++)
        tam_feed_client_destroy(&s->subs[i].client);
    tam_rpc_client_destroy(&s->ingest);
    tam_feed_server_destroy(&s->feed);
    tam_store_close(&s->store);
    tam_pipeline_view_destroy(&s->view);
    tam_catalog_destroy(&s->cat);
    tam_work_fini(&s->w);
    tam_arena_destroy(&s->auth);
    tam_events_free(&s->follow_pubs);
    free(s);
    *sp = NULL;
}

/* ingest_server.c — tam-ingest on the shared service loop (tam/service.h):
 * ingest.submit is a write (validated, stored with group commit, deduplicated
 * by request id, acknowledged after the commit); ingest.needs,
 * ingest.replies, ingest.reply_get and sys.ping are reads. Committed changes
 * to needs go out on the feed (topics need/<ISO3>/<CAT>), whose snapshot
 * streams the open needs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingest.h"
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/service.h"
#include "tam/service_feed.h"

struct tam_ingest_server {
    const tam_config_t *cfg;
    void *zctx;
    tam_catalog_t *cat;
    tam_store_t *store;
    tam_feed_server_t *feed;
    tam_ingest_limits_t lim;
    tam_arena_t *a;          /* one request's decoded data; reset per request */
    tam_mp_limits_t body_limits;
    tam_rpc_limits_t rpc_limits;
    tam_service_stats_t stats;
    uint64_t published, publish_failed;
};

/* ---- who may do what: the one place ----------------------------------------- */

static tam_req_kind_t s_classify(const char *type, void *arg)
{
    (void)arg;
    if (strcmp(type, "ingest.submit") == 0)
        return TAM_REQ_WRITE;
    if (strcmp(type, "ingest.needs") == 0 || strcmp(type, "ingest.replies") == 0 ||
        strcmp(type, "ingest.reply_get") == 0 || strcmp(type, "sys.ping") == 0)
        return TAM_REQ_READ;
    return TAM_REQ_UNKNOWN;
}

/* ---- helpers ---------------------------------------------------------------- */

/* Decodes a request body; a problem becomes the error answer. */
static int s_decode(const tam_schema_t *schema, const tam_rpc_req_t *req, tam_arena_t *a,
                    void *obj, tam_answer_t *out)
{
    memset(obj, 0, schema->size);
    return tam_request_decode(schema, req->body, req->body_len, a, obj, &out->error);
}

/* Encodes obj as the ok answer. */
static int s_answer(const tam_schema_t *schema, const void *obj, tam_answer_t *out)
{
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    int rc = tam_encode_sbuf(schema, obj, &sb, &cerr);
    if (rc) {
        tam_error("ingest: cannot encode %s: %s: %s", schema->name, cerr.path, cerr.message);
        return rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
    }
    return tam_answer_ok_take(out, sb.data, sb.size);
}

/* ---- writes ----------------------------------------------------------------- */

/* A write's feed event goes with its answer; the loop publishes it after
 * the commit (s_after_commit). */
static int s_emit(const char *topic, const void *body, size_t len, void *arg)
{
    return tam_answer_event(arg, topic, body, len);
}

#define S_WARNINGS_MAX 100 /* submit_ack.warnings bound (proto/ingest.def) */

/* Warns, in the answer, of needs whose window starts before the reply's date
 * (its `submitted`, else today): stored as given, but a date in the past gains
 * nothing, since urgency counts it as starting now (docs/matching.md). Ids
 * and dates only. Returns 0 or TAM_ENOMEM. */
static int s_past_starts(tam_arena_t *a, const tam_reply_t *r, uint32_t today, tam_submit_ack_t *ack)
{
    uint32_t date = r->submitted ? r->submitted : today;
    uint32_t n = 0, past = 0;
    for (uint32_t i = 0; i < r->needs.n; i++)
        past += tam_date_days(r->needs.v[i].start) < tam_date_days(date);
    if (!past)
        return 0;
    if (!(ack->warnings.v = tam_arena_alloc(a, (past < S_WARNINGS_MAX ? past : S_WARNINGS_MAX) *
                                                   sizeof(char *))))
        return TAM_ENOMEM;
    for (uint32_t i = 0; i < r->needs.n && n < S_WARNINGS_MAX; i++) {
        const tam_need_in_t *in = &r->needs.v[i];
        if (tam_date_days(in->start) >= tam_date_days(date))
            continue;
        char d1[11], d2[11], line[300];
        tam_date_format(in->start, d1);
        tam_date_format(date, d2);
        int len = n == S_WARNINGS_MAX - 1 && past > S_WARNINGS_MAX
                      ? snprintf(line, sizeof line, "%u more needs start before %s", past - n, d2)
                      : snprintf(line, sizeof line,
                                 "needs[%u].start: %s is before the reply's date %s; stored as "
                                 "given, urgency counts it as starting now",
                                 i, d1, d2);
        char *w = tam_arena_alloc(a, (size_t)len + 1);
        if (!w)
            return TAM_ENOMEM;
        memcpy(w, line, (size_t)len + 1);
        ack->warnings.v[n++] = w;
    }
    ack->warnings.n = n;
    return 0;
}

static int s_handle(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    tam_ingest_server_t *s = arg;
    tam_reply_t r;
    tam_arena_reset(s->a);
    int rc = s_decode(&tam_schema_reply, req, s->a, &r, out);
    if (rc == TAM_ENOMEM)
        return rc;
    if (r.respondent && r.respondent->id &&
        !tam_ingest_may_submit(&req->principal, r.respondent->id)) {
        tam_rpc_error_clear(&out->error); /* a refusal says nothing of the reply */
        tam_rpc_error_set(&out->error, TAM_EDENIED, "respondent.id",
                          "principal '%s' (respondent %s) may submit replies for %s only, not "
                          "for %s", req->principal.id, req->principal.respondent,
                          req->principal.respondent, r.respondent->id);
        return TAM_EDENIED;
    }
    uint32_t today = tam_date_today();
    if (rc) {
        /* Codec and semantic problems in one list: the checks run on what
         * decoded (tam_ingest_validate skips what did not). */
        if (out->error.n && tam_ingest_validate(s->cat, &s->lim, &r, today, &out->error) ==
                                TAM_ENOMEM)
            return TAM_ENOMEM;
        return rc;
    }
    if ((rc = tam_ingest_validate(s->cat, &s->lim, &r, today, &out->error)))
        return rc;
    tam_submit_ack_t ack;
    rc = tam_ingest_apply_by(txn, s->cat, &r, req->principal.id, req->body, req->body_len, today,
                             s_emit, out, s->a, &ack, &out->error);
    if (rc == TAM_ESUPERSEDED)
        tam_info("ingest: request %s: an older revision of %s/%s sent again: %s", req->id,
                 r.respondent->id, r.instrument->category, out->error.message);
    if (rc)
        return rc; /* store conditions go back to the loop, which reruns or fails the batch */
    if (!ack.repeat && (rc = s_past_starts(s->a, &r, today, &ack)))
        return rc;
    /* a dry run: answered as stored, then undone by the loop (tam/service.h) */
    ack.dry_run = out->dry_run = r.dry_run;
    if ((rc = s_answer(&tam_schema_submit_ack, &ack, out)))
        return rc;
    tam_debug("ingest: reply %llu: revision %lld%s, %u needs (%lld added, %lld revised, %lld "
              "unchanged), %lld withdrawn",
              (unsigned long long)ack.reply_id, (long long)ack.revision,
              ack.repeat ? " (repeated: nothing stored)" : "", ack.need_ids.n,
              (long long)ack.added, (long long)ack.revised, (long long)ack.unchanged,
              (long long)ack.withdrawn);
    return 0;
}

/* A submit answered from its stored answer: if the reply it carries has since
 * been superseded by a later revision, say so instead of "stored". */
static int s_duplicate(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    tam_ingest_server_t *s = arg;
    tam_reply_t r;
    tam_rpc_error_t scratch;
    tam_rpc_error_init(&scratch);
    tam_arena_reset(s->a);
    memset(&r, 0, sizeof r);
    if (strcmp(req->type, "ingest.submit") != 0 ||
        tam_request_decode(&tam_schema_reply, req->body, req->body_len, s->a, &r, &scratch)) {
        tam_rpc_error_clear(&scratch);
        return 0; /* not a reply: the stored answer stands */
    }
    tam_rpc_error_clear(&scratch);
    int rc = tam_ingest_superseded(txn, &r, s->a, &out->error);
    if (rc == TAM_ESUPERSEDED)
        tam_info("ingest: request %s sent again: %s", req->id, out->error.message);
    return rc == TAM_ESUPERSEDED ? rc : (rc == TAM_EFATAL ? rc : 0);
}

/* Publishes the events of the committed answers, in request order (a failed
 * publish is logged; subscribers see the gap and resync from the snapshot). */
static void s_after_commit(const tam_event_t *events, size_t n, void *arg)
{
    tam_ingest_server_t *s = arg;
    size_t failed = tam_feed_publish_events(s->feed, events, n);
    s->publish_failed += failed;
    s->published += n - failed;
}

/* ---- reads ------------------------------------------------------------------ */

static int s_take(msgpack_sbuffer *sb, int rc, tam_answer_t *out)
{
    if (rc) {
        msgpack_sbuffer_destroy(sb);
        return rc;
    }
    return tam_answer_ok_take(out, sb->data, sb->size);
}

/* A respondent key that holds no reading role sees its own replies only
 * (the role matrix lets it send the read; this is the part that needs the
 * body): the respondent id it may read, or NULL if it may read any. */
static const char *s_own_only(const tam_principal_t *p)
{
    const uint32_t readers = TAM_ROLE_MANAGER | TAM_ROLE_DONOR_LIAISON | TAM_ROLE_PLANNER |
                             TAM_ROLE_VIEWER | TAM_ROLE_SERVICE;
    return tam_principal_may(p, readers) ? NULL : p->respondent;
}

/* The respondent of stored reply id into who (""). Returns 0 or the store's code. */
static int s_reply_owner(tam_txn_t *txn, uint64_t id, tam_arena_t *a, const char **who)
{
    uint8_t key[8];
    tam_val_t v;
    tam_reply_info_t info;
    tam_codec_err_t ce;
    *who = "";
    tam_key_u64(key, id);
    int rc = tam_txn_get(txn, "replies", key, 8, &v);
    if (rc)
        return rc;
    memset(&info, 0, sizeof info);
    if (tam_decode(&tam_schema_reply_info, v.data, v.len, a, &info, &ce))
        return TAM_ESTORE;
    *who = info.respondent;
    return 0;
}

static int s_query(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    tam_ingest_server_t *s = arg;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tam_arena_reset(s->a);
    int rc;
    if (strcmp(req->type, "sys.ping") == 0)
        return tam_service_pong(req, "tam-ingest", TAM_VERSION, s->feed, s->a, out);
    if (!txn)
        return TAM_ESTORE;
    if (strcmp(req->type, "ingest.needs") == 0) {
        tam_needs_query_t q;
        if ((rc = s_decode(&tam_schema_needs_query, req, s->a, &q, out)) ||
            (rc = tam_ingest_needs_check(s->cat, &q, &out->error)))
            return rc;
        return s_take(&sb, tam_ingest_needs_list(txn, s->cat, &q, &sb), out);
    }
    if (strcmp(req->type, "ingest.replies") == 0) {
        tam_replies_query_t q;
        if ((rc = s_decode(&tam_schema_replies_query, req, s->a, &q, out)) ||
            (rc = tam_ingest_replies_check(s->cat, &q, &out->error)))
            return rc;
        const char *own = s_own_only(&req->principal);
        if (own && q.respondent && q.respondent[0] && strcmp(q.respondent, own) != 0) {
            tam_rpc_error_set(&out->error, TAM_EDENIED, "respondent",
                              "principal '%s' (respondent %s) may read its own replies only",
                              req->principal.id, own);
            return TAM_EDENIED;
        }
        if (own)
            q.respondent = (char *)own;
        return s_take(&sb, tam_ingest_replies_list(txn, s->cat, &q, &sb), out);
    }
    if (strcmp(req->type, "ingest.reply_get") == 0) {
        tam_reply_key_t k;
        if ((rc = s_decode(&tam_schema_reply_key, req, s->a, &k, out)))
            return rc;
        const char *own = s_own_only(&req->principal), *owner = "";
        if (own && (s_reply_owner(txn, k.id, s->a, &owner) != 0 || strcmp(owner, own) != 0)) {
            /* Someone else's reply, or none: the same answer, so that a
             * respondent learns nothing of other replies. */
            tam_rpc_error_set(&out->error, TAM_EDENIED, "id",
                              "principal '%s' (respondent %s) may read its own replies only",
                              req->principal.id, own);
            return TAM_EDENIED;
        }
        rc = tam_ingest_reply_get(txn, k.id, &sb);
        if (rc == TAM_ENOTFOUND)
            tam_rpc_error_set(&out->error, rc, "id", "no reply with id %llu",
                              (unsigned long long)k.id);
        return s_take(&sb, rc, out);
    }
    tam_rpc_error_unknown_type(&out->error, req->type);
    return TAM_EUNKNOWN;
}

/* ---- feed ------------------------------------------------------------------- */

/* Runs between batches, so the store holds exactly what was published. */
static int s_snapshot(const char *prefix, tam_feed_emit_fn emit, void *emit_ctx, void *arg)
{
    tam_ingest_server_t *s = arg;
    return tam_feed_snapshot_from_store(s->store, tam_ingest_snapshot, prefix, emit, emit_ctx);
}

/* ---- life ------------------------------------------------------------------- */

static void s_ready(const char *endpoint, void *arg)
{
    tam_ingest_server_t *s = arg;
    tam_notice("ingest: ready: requests on %s, feed on %s, snapshots on %s", endpoint,
               s->cfg->ingest.feed, s->cfg->ingest.snapshot);
}

static int s_counts_fn(tam_txn_t *txn, void *arg)
{
    size_t *c = arg;
    return tam_ingest_counts(txn, &c[0], &c[1], &c[2]);
}

static void s_log_counts(tam_ingest_server_t *s, const char *when)
{
    size_t c[3] = {0, 0, 0};
    if (tam_store_read(s->store, s_counts_fn, c) == 0)
        tam_info("ingest: %s: %zu replies, %zu needs (%zu open)", when, c[0], c[1], c[2]);
}

int tam_ingest_server_new(tam_ingest_server_t **out, const tam_config_t *cfg, void *zctx)
{
    if (!out || !cfg || !zctx)
        return TAM_EINVAL;
    *out = NULL;
    tam_ingest_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    char err[512], path[TAM_CFG_STR_MAX + 16];
    int rc = TAM_ENOMEM;
    s->cfg = cfg;
    s->zctx = zctx;
    s->lim.max_text = cfg->ingest.max_text;
    s->lim.max_needs = (size_t)cfg->ingest.max_needs_per_reply;
    if (!(s->a = tam_arena_new(64 * 1024)))
        goto fail;
    /* A decoded reply can never need more than a few times its frame. */
    tam_arena_set_cap(s->a, 8 * cfg->common.max_frame + (1u << 20));

    if ((rc = tam_catalog_load(&s->cat, cfg->common.catalog_dir, err, sizeof err))) {
        tam_error("ingest: catalogue: %s", err);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/ingest", cfg->common.data_dir);
    if ((rc = tam_cli_mkdirs(cfg->common.data_dir)))
        goto fail;
    tam_store_opts_t so = {.path = path,
                           .map_size = cfg->ingest.map_size,
                           .map_max = cfg->ingest.map_max,
                           .dbs = tam_ingest_dbs,
                           .schema_version = TAM_INGEST_SCHEMA_VERSION, .service = "ingest",
                           .schema_from = TAM_INGEST_SCHEMA_FROM,
                           .migrate = tam_ingest_migrate};
    if ((rc = tam_store_open(&s->store, &so)))
        goto fail;
    if ((rc = tam_cli_ipc_dir(cfg->ingest.endpoint)) || (rc = tam_cli_ipc_dir(cfg->ingest.feed)) ||
        (rc = tam_cli_ipc_dir(cfg->ingest.snapshot)))
        goto fail;
    if ((rc = tam_feed_server_new(&s->feed, zctx, cfg->ingest.feed, cfg->ingest.snapshot,
                                  (int)cfg->common.heartbeat, s_snapshot, s)))
        goto fail;
    s->body_limits = TAM_MP_LIMITS_DEFAULT;
    s->body_limits.max_str = cfg->common.max_frame;
    s->rpc_limits = (tam_rpc_limits_t){.max_frame = cfg->common.max_frame,
                                       .max_frames = (unsigned)cfg->common.max_frames,
                                       .body_limits = &s->body_limits};
    s_log_counts(s, "opened");
    *out = s;
    return 0;
fail:
    tam_ingest_server_destroy(&s);
    return rc;
}

int tam_ingest_server_run(tam_ingest_server_t *s)
{
    if (!s)
        return TAM_EINVAL;
    tam_service_source_t feed = tam_feed_server_source(s->feed);
    tam_service_def_t def = {
        .name = "ingest",
        .zctx = s->zctx,
        .endpoint = s->cfg->ingest.endpoint,
        .limits = &s->rpc_limits,
        .store = s->store,
        .batch_max = (unsigned)s->cfg->ingest.batch_max,
        .batch_bytes = (size_t)s->cfg->ingest.batch_bytes,
        .batch_wait_ms = (unsigned)s->cfg->ingest.batch_wait,
        .flat_writes = true, /* s_handle decodes and validates before it writes */
        .request_retention_ms = s->cfg->common.request_retention,
        .signals = true,
        .classify = s_classify,
        .catalog = s->cat, /* catalog.get */
        .handle = s_handle,
        .duplicate = s_duplicate,
        .query = s_query,
        .after_commit = s_after_commit,
        .ready = s_ready,
        .sources = &feed,
        .nsources = 1,
        .stats = &s->stats,
    };
    int rc = tam_service_run(&def, s);
    tam_info("ingest: stopping: %llu requests, %llu writes (%llu duplicates), %llu reads, "
             "%llu errors, %llu batches (largest %llu), %llu feed updates (%llu failed)",
             (unsigned long long)s->stats.requests, (unsigned long long)s->stats.writes,
             (unsigned long long)s->stats.duplicates, (unsigned long long)s->stats.reads,
             (unsigned long long)s->stats.errors, (unsigned long long)s->stats.batches,
             (unsigned long long)s->stats.max_batch, (unsigned long long)s->published,
             (unsigned long long)s->publish_failed);
    if (rc == 0)
        s_log_counts(s, "stopped");
    return rc;
}

void tam_ingest_server_destroy(tam_ingest_server_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_ingest_server_t *s = *sp;
    tam_feed_server_destroy(&s->feed);
    tam_store_close(&s->store);
    tam_catalog_destroy(&s->cat);
    tam_arena_destroy(&s->a);
    free(s);
    *sp = NULL;
}

/* gw_routes.c — the /v1 routes. Each one names the message it sends; a GET's
 * query (typed by the message's request schema from proto/ .def files) or a
 * write's JSON body becomes its request, validated in full before anything
 * is sent. The role matrix (tam/access.h) is checked for the token's
 * identity before forwarding, and the service checks it again for the
 * person named "on behalf of". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/access.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/proto.h"
#include "gateway.h"

typedef enum { S_QUERY, S_BODY, S_NONE } s_input_t;

typedef struct s_route s_route_t;
typedef enum MHD_Result (*s_fn)(gw_req_t *r, const s_route_t *rt, char **params);

struct s_route {
    const char *method;
    const char *path;    /* template, {name} = one segment */
    const char *service; /* NULL: answered by the gateway */
    int msg;             /* TAM_MSG_* */
    s_input_t input;
    const char *cursor;  /* the request field a `cursor` sets ("after", "offset"), or NULL */
    s_fn fn;             /* NULL: the generic forward */
    const char *etag;    /* the answer's field that is its ETag (a version), or NULL: a hash */
};

/* ---- building the request ------------------------------------------------- */

typedef struct {
    json_t *errors;
} s_errs_t;

static void s_each(const tam_codec_err_t *e, void *arg)
{
    s_errs_t *x = arg;
    char ptr[200];
    gw_pointer(e->path, ptr, sizeof ptr);
    gw_error_add(&x->errors, ptr, e->message);
}

static bool s_digits(const char *v, bool sign)
{
    if (sign && *v == '-')
        v++;
    if (!*v || strlen(v) > 19)
        return false;
    for (; *v; v++)
        if (!isdigit((unsigned char)*v))
            return false;
    return true;
}

typedef struct {
    const s_route_t *rt;
    const tam_schema_t *schema;
    json_t *obj;
    json_t *errors;
    int64_t page_max;
    bool hxl; /* ?hxl=1: an HXL row in CSV answers */
} s_qctx_t;

static enum MHD_Result s_query_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    s_qctx_t *q = cls;
    char ptr[96], msg[200];
    snprintf(ptr, sizeof ptr, "/%s", key);
    const char *name = key;
    if (strcmp(key, "hxl") == 0 && value && (strcmp(value, "1") == 0 || strcmp(value, "0") == 0)) {
        q->hxl = value[0] == '1';
        return MHD_YES;
    }
    if (strcmp(key, "cursor") == 0) {
        if (!q->rt->cursor) {
            gw_error_add(&q->errors, ptr, "this list takes no cursor");
            return MHD_YES;
        }
        name = q->rt->cursor;
    }
    const tam_field_t *f = NULL;
    for (size_t i = 0; i < q->schema->nfields; i++)
        if (strcmp(q->schema->fields[i].name, name) == 0)
            f = &q->schema->fields[i];
    if (!f || (q->rt->cursor && strcmp(key, q->rt->cursor) == 0)) {
        snprintf(msg, sizeof msg, "unknown query parameter '%.60s'", key);
        gw_error_add(&q->errors, ptr, msg);
        return MHD_YES;
    }
    if (json_object_get(q->obj, name)) {
        snprintf(msg, sizeof msg, "'%.60s' is given twice", key);
        gw_error_add(&q->errors, ptr, msg);
        return MHD_YES;
    }
    value = value ? value : "";
    json_t *v = NULL;
    switch (f->type) {
    case TAM_T_I64:
    case TAM_T_U64:
        if (s_digits(value, f->type == TAM_T_I64))
            v = f->type == TAM_T_I64 ? json_integer(strtoll(value, NULL, 10))
                                     : json_integer((json_int_t)strtoull(value, NULL, 10));
        break;
    case TAM_T_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
            v = json_boolean(value[0] == 't');
        break;
    case TAM_T_STR:
    case TAM_T_ENUM:
    case TAM_T_DATE:
        v = json_string(value); /* NULL if not UTF-8 */
        break;
    default:
        break;
    }
    if (!v) {
        snprintf(msg, sizeof msg, "'%.60s' is not a valid %s", key,
                 strcmp(key, "cursor") == 0 ? "cursor (pass the one a Link: rel=\"next\" gave)"
                 : f->type == TAM_T_BOOL    ? "boolean (true or false)"
                 : f->type <= TAM_T_U64     ? "whole number"
                                            : "value");
        gw_error_add(&q->errors, ptr, msg);
        return MHD_YES;
    }
    if (strcmp(name, "limit") == 0 && json_integer_value(v) > q->page_max) {
        snprintf(msg, sizeof msg, "limit is at most %lld ([gateway] page_max)", (long long)q->page_max);
        gw_error_add(&q->errors, ptr, msg);
        json_decref(v);
        return MHD_YES;
    }
    json_object_set_new(q->obj, name, v);
    return MHD_YES;
}

/* Encodes obj as msgpack into *sb and validates it against schema; on a
 * problem answers 422 (every problem listed) and returns false. */
static bool s_encode_valid(gw_req_t *r, json_t *obj, const tam_schema_t *schema,
                           msgpack_sbuffer *sb, tam_arena_t *a, void *out, enum MHD_Result *ret)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    tam_codec_err_t cerr;
    if (!text || tam_json_to_msgpack(text, strlen(text), sb, &cerr) != 0) {
        free(text);
        *ret = gw_problem(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error", "encoding", NULL);
        return false;
    }
    free(text);
    s_errs_t x = {NULL};
    if (tam_decode_all(schema, sb->data, sb->size, a, out, &cerr, s_each, &x) != 0) {
        if (!x.errors)
            s_each(&cerr, &x);
        *ret = gw_problem(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "Invalid request", cerr.message,
                          x.errors);
        return false;
    }
    return true;
}

/* ---- the generic forward --------------------------------------------------- */

/* The Link: rel="next" of a list answer, or "" at its end. */
static void s_link(gw_req_t *r, const s_route_t *rt, const gw_page_t *pg, json_t *req, char *out,
                   size_t cap)
{
    out[0] = 0;
    if (!rt->cursor)
        return;
    char cur[80] = "";
    if (strcmp(rt->cursor, "offset") == 0) {
        json_int_t off = json_integer_value(json_object_get(req, "offset"));
        json_int_t n = (json_int_t)pg->nitems;
        if (n > 0 && off + n < pg->total)
            snprintf(cur, sizeof cur, "%lld", (long long)(off + n));
    } else {
        snprintf(cur, sizeof cur, "%s", pg->next);
    }
    if (!cur[0])
        return;
    /* The same query, with the new cursor. */
    size_t o = (size_t)snprintf(out, cap, "<%s?", r->path);
    const char *q = r->query;
    while (*q && o < cap) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (strncmp(q, "cursor=", 7) != 0)
            o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%.*s&", (int)n, q);
        q += n + (amp ? 1 : 0);
    }
    if (o < cap)
        snprintf(out + o, cap - o, "cursor=%s>; rel=\"next\"", cur);
}

/* The ETag of an answer that carries a version (the context's number, the
 * catalogue's hash): "<version>", so If-Match and If-None-Match take it. */
static void s_etag_of(gw_req_t *r, const char *field, const char *text)
{
    json_t *j = json_loads(text, 0, NULL), *v = json_object_get(j, field);
    if (json_is_integer(v))
        snprintf(r->etag, sizeof r->etag, "\"%lld\"", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < sizeof r->etag - 2)
        snprintf(r->etag, sizeof r->etag, "\"%s\"", json_string_value(v));
    json_decref(j);
}

static enum MHD_Result s_forward(gw_req_t *r, const s_route_t *rt, json_t *reqobj, bool hxl)
{
    size_t nmsg;
    const tam_message_t *m = &tam_messages(&nmsg)[rt->msg];
    enum MHD_Result ret = MHD_NO;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tam_arena_t *a = tam_arena_new(4096);
    void *out = a ? tam_arena_alloc(a, m->request->size) : NULL;
    tam_rpc_answer_t ans = {0};
    tam_rpc_error_t denied = {0};
    if (!out) {
        ret = gw_problem(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error", "out of memory", NULL);
        goto done;
    }
    memset(out, 0, m->request->size);
    /* The same matrix as the services, for the token's identity: first the
     * message (a refused user learns nothing about the body), then, once the
     * body is valid, the act of a decision. */
    const char *sub = NULL;
    bool allowed = tam_access_check(&r->who, m->type, NULL, "", &denied) == 0;
    if (allowed) {
        if (!s_encode_valid(r, reqobj, m->request, &sb, a, out, &ret))
            goto done;
        if (rt->msg == TAM_MSG_pipeline_act) {
            const tam_act_t *act = out;
            sub = tam_enum_decision_act.values[act->act];
            allowed = tam_access_check(&r->who, m->type, sub, "", &denied) == 0;
        }
    }
    if (!allowed) {
        json_t *errors = NULL;
        gw_error_add(&errors, "", denied.message);
        ret = gw_problem(r, MHD_HTTP_FORBIDDEN, "Forbidden", denied.message, errors);
        goto done;
    }
    /* match.proposals: the answer of the run tam-match answers from may be
     * cached already (gw_cache.c). */
    gw_page_t pg;
    char *text = NULL;
    const char *hit = NULL;
    const unsigned char *digest = NULL;
    uint64_t gen = 0, run = 0;
    if (rt->msg == TAM_MSG_match_proposals && (run = gw_stream_run(gw_stream_of(r->gw), &gen))) {
        hit = gw_cache_get(gen, sb.data, sb.size, &pg, &digest);
        text = (char *)hit; /* the cache's: not freed here */
    }
    if (!text) {
        /* what-if and advice re-solve (seconds at 20k x 500): answered beside
         * the HTTP thread, with a longer timeout (gw_slow.c) */
        bool slow = rt->msg == TAM_MSG_match_whatif || rt->msg == TAM_MSG_match_advise;
        int rc = slow ? gw_call_later(r, rt->service, m->type, sb.data, sb.size, &ans)
                      : gw_call(r, rt->service, m->type, sb.data, sb.size, &ans);
        if (rc == GW_PENDING) {
            ret = MHD_YES; /* resumed when the answer is in */
            goto done;
        }
        if (rc) {
            ret = gw_problem_call(r, rt->service, rc);
            goto done;
        }
        if (ans.status != TAM_RPC_OK) {
            ret = gw_problem_rpc(r, &ans.error);
            goto done;
        }
        text = gw_json_of(ans.body, ans.len, &pg);
        if (!text) {
            ret = gw_problem(r, MHD_HTTP_BAD_GATEWAY, "Bad gateway", "an answer that is not JSON",
                             NULL);
            goto done;
        }
        if (run && pg.run == run) /* of the run the feed last announced: keep it */
            gw_cache_put(gen, sb.data, sb.size, text, &pg);
    }
    if (rt->etag && !json_is_true(json_object_get(reqobj, "dry_run")))
        s_etag_of(r, rt->etag, text);
    char link[1400] = "";
    s_link(r, rt, &pg, reqobj, link, sizeof link);
    const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    char *csv = accept && strstr(accept, "text/csv") ? gw_csv(m->answer, text, hxl) : NULL;
    if (csv)
        ret = gw_text(r, MHD_HTTP_OK, "text/csv; charset=utf-8", csv, link[0] ? link : NULL);
    else
        ret = gw_text_d(r, MHD_HTTP_OK, "application/json", text, link[0] ? link : NULL, digest);
    free(csv);
    if (text != hit)
        free(text);
done:
    tam_rpc_error_clear(&denied);
    tam_rpc_answer_clear(&ans);
    tam_arena_destroy(&a);
    msgpack_sbuffer_destroy(&sb);
    return ret;
}

/* A write's query: only ?dry_run=true|false, for a message that takes
 * dry_run (validate only; nothing stored). */
typedef struct {
    const tam_schema_t *schema;
    json_t *obj, *errors;
} s_bctx_t;

static bool s_has_field(const tam_schema_t *s, const char *name)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return true;
    return false;
}

static enum MHD_Result s_body_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    s_bctx_t *b = cls;
    char ptr[96], msg[200];
    snprintf(ptr, sizeof ptr, "/%.80s", key);
    if (strcmp(key, "dry_run") != 0 || !s_has_field(b->schema, "dry_run")) {
        snprintf(msg, sizeof msg, "unknown query parameter '%.60s'%s", key,
                 s_has_field(b->schema, "dry_run") ? " (this write takes only dry_run)" : "");
        gw_error_add(&b->errors, ptr, msg);
    } else if (!value || (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)) {
        gw_error_add(&b->errors, ptr, "'dry_run' is not a valid boolean (true or false)");
    } else if (json_object_get(b->obj, "dry_run") &&
               json_is_true(json_object_get(b->obj, "dry_run")) != (value[0] == 't')) {
        gw_error_add(&b->errors, ptr, "dry_run is given in the query and, otherwise, in the body");
    } else {
        json_object_set_new(b->obj, "dry_run", json_boolean(value[0] == 't'));
    }
    return MHD_YES;
}

/* A write's query (?dry_run) and If-Match (if_version: HTTP's
 * compare-and-set, with the version an ETag gave) into its request; on a
 * problem answers it and returns false. */
static bool s_body_args(gw_req_t *r, const tam_schema_t *schema, json_t *obj, enum MHD_Result *ret)
{
    s_bctx_t b = {schema, obj, NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, s_body_query, &b);
    if (b.errors) {
        *ret = gw_problem(r, MHD_HTTP_BAD_REQUEST, "Bad query",
                          "a query parameter is unknown or malformed", b.errors);
        return false;
    }
    const char *im = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
    if (!im || strcmp(im, "*") == 0) /* "*": any current version */
        return true;
    char *end = NULL;
    long long v = 0;
    size_t n = strlen(im);
    if (s_has_field(schema, "if_version") && n >= 3 && n <= 10 && im[0] == '"' && im[n - 1] == '"' &&
        isdigit((unsigned char)im[1]))
        v = strtoll(im + 1, &end, 10);
    if (!end || *end != '"' || end != im + n - 1 || v < 1) {
        json_t *errors = NULL;
        gw_error_add(&errors, "",
                     s_has_field(schema, "if_version")
                         ? "If-Match takes one version as its ETag gave it, e.g. \"3\""
                         : "this write takes no If-Match");
        *ret = gw_problem(r, MHD_HTTP_BAD_REQUEST, "Bad If-Match", "If-Match is malformed", errors);
        return false;
    }
    json_t *given = json_object_get(obj, "if_version");
    if (given && (!json_is_integer(given) || json_integer_value(given) != v)) {
        json_t *errors = NULL;
        gw_error_add(&errors, "/if_version", "differs from If-Match: send one of them");
        *ret = gw_problem(r, MHD_HTTP_BAD_REQUEST, "Bad If-Match", "if_version and If-Match differ",
                          errors);
        return false;
    }
    json_object_set_new(obj, "if_version", json_integer(v));
    r->if_match = true;
    return true;
}

static enum MHD_Result s_generic(gw_req_t *r, const s_route_t *rt, char **params)
{
    (void)params;
    size_t nmsg;
    const tam_message_t *m = &tam_messages(&nmsg)[rt->msg];
    json_t *obj = NULL;
    enum MHD_Result ret;
    if (rt->input == S_BODY) {
        json_error_t je;
        const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
            json_t *errors = NULL;
            gw_error_add(&errors, "", "send Content-Type: application/json");
            return gw_problem(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
                              "the body must be JSON", errors);
        }
        obj = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);
        if (!obj || !json_is_object(obj)) {
            char d[260];
            if (obj)
                snprintf(d, sizeof d, "the body must be a JSON object");
            else
                snprintf(d, sizeof d, "not valid JSON at line %d, column %d: %s", je.line,
                         je.column, je.text);
            json_decref(obj);
            json_t *errors = NULL;
            gw_error_add(&errors, "", d);
            return gw_problem(r, MHD_HTTP_BAD_REQUEST, "Malformed JSON", d, errors);
        }
    }
    if (obj && !s_body_args(r, m->request, obj, &ret)) {
        json_decref(obj);
        return ret;
    }
    bool hxl = false;
    if (!obj) {
        obj = json_object();
        if (rt->input == S_QUERY) {
            s_qctx_t q = {rt, m->request, obj, NULL, gw_config(r->gw)->gateway.page_max, false};
            MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, s_query_field, &q);
            if (q.errors) {
                json_decref(obj);
                return gw_problem(r, MHD_HTTP_BAD_REQUEST, "Bad query",
                                  "a query parameter is unknown or malformed", q.errors);
            }
            hxl = q.hxl;
        }
    }
    ret = s_forward(r, rt, obj, hxl);
    json_decref(obj);
    return ret;
}

/* ---- routes with path parameters or no service ------------------------------ */

static enum MHD_Result s_explain(gw_req_t *r, const s_route_t *rt, char **p)
{
    char id[140];
    snprintf(id, sizeof id, "%s/%s", p[0], p[1]);
    json_t *obj = json_pack("{s:s}", "id", id);
    enum MHD_Result ret = obj ? s_forward(r, rt, obj, false) : MHD_NO;
    json_decref(obj);
    return ret;
}

static enum MHD_Result s_by_id(gw_req_t *r, const s_route_t *rt, char **p)
{
    json_t *obj = json_pack("{s:s}", "id", p[0]);
    enum MHD_Result ret = obj ? s_forward(r, rt, obj, false) : MHD_NO;
    json_decref(obj);
    return ret;
}

/* match.advise for the project of the path (issue 15, route owned by whatif). */
static enum MHD_Result s_advice(gw_req_t *r, const s_route_t *rt, char **p)
{
    json_t *obj = json_pack("{s:s}", "project", p[0]);
    enum MHD_Result ret = obj ? s_forward(r, rt, obj, false) : MHD_NO;
    json_decref(obj);
    return ret;
}

static enum MHD_Result s_context_get(gw_req_t *r, const s_route_t *rt, char **p)
{
    (void)p;
    json_t *obj = json_pack("{s:s}", "id", "context");
    enum MHD_Result ret = obj ? s_forward(r, rt, obj, false) : MHD_NO;
    json_decref(obj);
    return ret;
}

static enum MHD_Result s_report(gw_req_t *r, const s_route_t *rt, char **p)
{
    if (tam_enum_index(&tam_enum_report_kind, p[0], strlen(p[0])) < 0) {
        json_t *errors = NULL;
        gw_error_add(&errors, "/kind", "gaps, donors, pipeline or commission");
        return gw_problem(r, MHD_HTTP_NOT_FOUND, "Not found", "no such report", errors);
    }
    json_t *obj = json_object();
    s_qctx_t q = {rt, &tam_schema_report_request, obj, NULL, gw_config(r->gw)->gateway.page_max, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, s_query_field, &q);
    if (q.errors || json_object_get(obj, "kind")) {
        json_decref(obj);
        if (!q.errors)
            gw_error_add(&q.errors, "/kind", "the report is named by the path");
        return gw_problem(r, MHD_HTTP_BAD_REQUEST, "Bad query",
                          "a query parameter is unknown or malformed", q.errors);
    }
    json_object_set_new(obj, "kind", json_string(p[0]));
    enum MHD_Result ret = s_forward(r, rt, obj, false);
    json_decref(obj);
    return ret;
}

static enum MHD_Result s_health(gw_req_t *r, const s_route_t *rt, char **p)
{
    (void)rt;
    (void)p;
    return gw_json(r, MHD_HTTP_OK, "{\"status\":\"ok\",\"service\":\"tam-gateway\"}", NULL);
}

/* Ready: every service answers sys.ping (as the token's user). */
static enum MHD_Result s_ready(gw_req_t *r, const s_route_t *rt, char **p)
{
    (void)rt;
    (void)p;
    static const char *const sv[] = {"ingest", "registry", "match", "pipeline"};
    json_t *o = json_object(), *errors = NULL;
    bool ok = true;
    for (size_t i = 0; i < 4; i++) {
        tam_rpc_answer_t ans = {0};
        static const uint8_t empty_map = 0x80;
        int rc = gw_call(r, sv[i], "sys.ping", &empty_map, 1, &ans);
        bool up = rc == 0 && ans.status == TAM_RPC_OK;
        json_object_set_new(o, sv[i], json_string(up ? "ok" : rc ? tam_errname(rc) : ans.error.message));
        if (!up) {
            char ptr[32];
            snprintf(ptr, sizeof ptr, "/%s", sv[i]);
            gw_error_add(&errors, ptr, rc ? tam_strerror(rc) : ans.error.message);
            ok = false;
        }
        tam_rpc_answer_clear(&ans);
    }
    /* The stream follows tam-match's feed (synced: its epoch is known). */
    uint64_t epoch = 0;
    gw_stream_position(gw_stream_of(r->gw), &epoch);
    json_object_set_new(o, "stream", json_string(epoch ? "ok" : "syncing"));
    if (!epoch) {
        gw_error_add(&errors, "/stream", "the event stream is not yet following tam-match's feed");
        ok = false;
    }
    enum MHD_Result ret;
    if (ok) {
        char *t = json_dumps(o, JSON_COMPACT);
        ret = t ? gw_json(r, MHD_HTTP_OK, t, NULL) : MHD_NO;
        free(t);
        json_decref(errors);
    } else {
        ret = gw_problem(r, MHD_HTTP_SERVICE_UNAVAILABLE, "Not ready",
                         "a service does not answer", errors);
    }
    json_decref(o);
    return ret;
}

/* Who the token is: its identity, roles and respondent (for the dashboard,
 * which offers only what the roles allow). No service is asked. */
static enum MHD_Result s_whoami(gw_req_t *r, const s_route_t *rt, char **p)
{
    (void)rt;
    (void)p;
    char buf[TAM_ROLE_NAMES_MAX];
    json_t *roles = json_array();
    tam_roles_format(r->who.roles, buf);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(roles, json_string(t));
    json_t *o = json_pack("{s:s, s:o, s:s}", "id", r->who.id, "roles", roles, "respondent",
                          r->who.respondent);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    enum MHD_Result ret = text ? gw_json(r, MHD_HTTP_OK, text, NULL) : MHD_NO;
    free(text);
    return ret;
}

static enum MHD_Result s_openapi(gw_req_t *r, const s_route_t *rt, char **p)
{
    (void)rt;
    (void)p;
    static char *doc; /* built once, in the HTTP thread; lives as long as the process */
    if (!doc)
        doc = gw_openapi_build();
    if (!doc)
        return gw_problem(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error", "openapi", NULL);
    return gw_json(r, MHD_HTTP_OK, doc, NULL);
}

static enum MHD_Result s_iati(gw_req_t *r, const s_route_t *rt, char **p)
{
    (void)rt;
    (void)p;
    return gw_iati_serve(r);
}

static enum MHD_Result s_metrics(gw_req_t *r, const s_route_t *rt, char **p)
{
    (void)rt;
    (void)p;
    return gw_metrics_serve(r);
}

#define M(x) TAM_MSG_##x
static const s_route_t s_routes[] = {
    {"GET", "/v1/health", NULL, 0, S_NONE, NULL, s_health, NULL},
    {"GET", "/v1/ready", NULL, 0, S_NONE, NULL, s_ready, NULL},
    {"GET", "/v1/openapi.json", NULL, 0, S_NONE, NULL, s_openapi, NULL},
    {"GET", "/v1/whoami", NULL, 0, S_NONE, NULL, s_whoami, NULL},
    {"GET", "/v1/proposals", "match", M(match_proposals), S_QUERY, "offset", NULL, NULL},
    {"GET", "/v1/proposals/{need}/{project}", "match", M(match_explain), S_NONE, NULL, s_explain, NULL},
    {"GET", "/v1/gaps", "match", M(match_gaps), S_QUERY, NULL, NULL, NULL},
    {"GET", "/v1/runs/current", "match", M(match_run), S_NONE, NULL, NULL, NULL},
    {"GET", "/v1/needs", "ingest", M(ingest_needs), S_QUERY, "after", NULL, NULL},
    {"GET", "/v1/replies", "ingest", M(ingest_replies), S_QUERY, "after", NULL, NULL},
    {"POST", "/v1/replies", "ingest", M(ingest_submit), S_BODY, NULL, NULL, NULL},
    {"GET", "/v1/projects", "registry", M(registry_projects), S_QUERY, "after", NULL, NULL},
    {"GET", "/v1/projects/{id}/ledger", "registry", M(registry_ledger), S_NONE, NULL, s_by_id, NULL},
    {"GET", "/v1/projects/{id}/advice", "match", M(match_advise), S_NONE, NULL, s_advice, NULL},
    {"GET", "/v1/donors", "registry", M(registry_donors), S_QUERY, "after", NULL, NULL},
    {"GET", "/v1/context", "registry", M(registry_context_get), S_NONE, NULL, s_context_get, "version"},
    {"PUT", "/v1/context", "registry", M(registry_context_set), S_BODY, NULL, NULL, "revision"},
    {"GET", "/v1/catalog", "registry", M(catalog_get), S_NONE, NULL, NULL, "version"},
    {"GET", "/v1/reports/{kind}", "pipeline", M(pipeline_report), S_QUERY, NULL, s_report, NULL},
    {"POST", "/v1/decisions", "pipeline", M(pipeline_act), S_BODY, NULL, NULL, NULL},
    {"POST", "/v1/whatif", "match", M(match_whatif), S_BODY, NULL, NULL, NULL},
    {"GET", "/v1/history", "pipeline", M(pipeline_audit), S_QUERY, "after", NULL, NULL},
    {"GET", "/v1/iati/activities.xml", NULL, 0, S_NONE, NULL, s_iati, NULL},
    {"GET", "/v1/stream", NULL, 0, S_NONE, NULL, NULL, NULL}, /* gateway_server.c: gw_stream_serve */
    {"GET", "/metrics", NULL, 0, S_NONE, NULL, s_metrics, NULL},
};
#define S_NROUTES (sizeof s_routes / sizeof s_routes[0])

const gw_route_info_t *gw_routes(size_t *n)
{
    static gw_route_info_t info[S_NROUTES];
    for (size_t i = 0; i < S_NROUTES; i++)
        info[i] = (gw_route_info_t){s_routes[i].method, s_routes[i].path,
                                    s_routes[i].service ? s_routes[i].msg : -1,
                                    s_routes[i].input == S_BODY};
    *n = S_NROUTES;
    return info;
}

/* Matches path against a template; fills up to 3 params (pointers into buf). */
static bool s_match(const char *tmpl, const char *path, char *buf, size_t cap, char **params)
{
    size_t np = 0, o = 0;
    while (*tmpl && *path) {
        if (*tmpl == '{') {
            const char *end = strchr(tmpl, '}');
            size_t n = strcspn(path, "/");
            if (!end || n == 0 || np == 3 || o + n + 1 > cap)
                return false;
            memcpy(buf + o, path, n);
            buf[o + n] = 0;
            params[np++] = buf + o;
            o += n + 1;
            tmpl = end + 1;
            path += n;
        } else if (*tmpl++ != *path++) {
            return false;
        }
    }
    return *tmpl == 0 && *path == 0;
}

enum MHD_Result gw_route(gw_req_t *r)
{
    char buf[512];
    char *params[3] = {NULL, NULL, NULL};
    bool path_known = false;
    for (size_t i = 0; i < S_NROUTES; i++) {
        if (!s_match(s_routes[i].path, r->path, buf, sizeof buf, params))
            continue;
        path_known = true;
        r->route = s_routes[i].path;
        if (strcmp(s_routes[i].method, r->method) != 0)
            continue;
        return s_routes[i].fn ? s_routes[i].fn(r, &s_routes[i], params)
                              : s_generic(r, &s_routes[i], params);
    }
    json_t *errors = NULL;
    gw_error_add(&errors, "", path_known ? "method not allowed here" : "no such resource");
    return gw_problem(r, path_known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
                      path_known ? "Method not allowed" : "Not found",
                      "see /v1/openapi.json for the routes", errors);
}

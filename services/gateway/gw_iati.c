/* gw_iati.c — GET /v1/iati/activities.xml: every project (or ?project=ID)
 * as IATI 2.03 activities, by the writer `tamctl export iati` uses
 * (services/iati/iati_write.c), so both give the same bytes for the same
 * state. The caller needs the roles of every message the writer sends (the
 * role matrix, as for any route); each of them goes on behalf of the caller,
 * and the services check them again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/access.h"
#include "tam/catalog.h"
#include "tam/error.h"
#include "tam/proto.h"
#include "iati_write.h"
#include "gateway.h"

/* What the writer reads, by service: the gateway checks them all first. */
static const char *const s_reads[] = {"registry.projects", "registry.project_get",
                                      "registry.donors",   "registry.ledger",
                                      "pipeline.decisions", "pipeline.history", "ingest.needs"};

typedef struct {
    gw_req_t *r;
    const char *service; /* of the failed call */
    int rc;              /* gw_call's code, 0 if it answered */
    tam_rpc_error_t err; /* the service's error answer */
    bool has_err, undecodable;
} s_ctx_t;

/* The writer's call: the message on behalf of the caller, its answer decoded. */
static int s_call(void *arg, const char *service, int msg_id, const void *req, tam_arena_t *a,
                  void *out)
{
    s_ctx_t *x = arg;
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg_id];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tam_rpc_answer_t ans = {0};
    int ret = 1;
    x->service = service;
    if (tam_encode_sbuf(m->request, req, &sb, NULL) != 0) {
        x->undecodable = true;
        goto done;
    }
    if ((x->rc = gw_call(x->r, service, m->type, sb.data, sb.size, &ans)) != 0)
        goto done;
    if (ans.status != TAM_RPC_OK) {
        x->err = ans.error;
        memset(&ans.error, 0, sizeof ans.error); /* moved */
        x->has_err = true;
        goto done;
    }
    if (tam_decode(m->answer, ans.body, ans.len, a, out, NULL) != 0) {
        x->undecodable = true;
        goto done;
    }
    ret = 0;
done:
    tam_rpc_answer_clear(&ans);
    msgpack_sbuffer_destroy(&sb);
    return ret;
}

typedef struct {
    const char *project;
    json_t *errors;
} s_args_t;

static enum MHD_Result s_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    s_args_t *a = cls;
    char ptr[80];
    snprintf(ptr, sizeof ptr, "/%.60s", key);
    size_t n = value ? strlen(value) : 0;
    bool id_ok = n >= 2 && n <= 32;
    for (size_t i = 0; id_ok && i < n; i++)
        id_ok = (value[i] >= 'A' && value[i] <= 'Z') || (value[i] >= 'a' && value[i] <= 'z') ||
                (value[i] >= '0' && value[i] <= '9') || value[i] == '-' || value[i] == '_';
    if (strcmp(key, "project") != 0)
        gw_error_add(&a->errors, ptr, "unknown query parameter: project is the only one");
    else if (!id_ok || a->project)
        gw_error_add(&a->errors, ptr, "one project id: 2 to 32 letters, digits, '-', '_'");
    else
        a->project = value;
    return MHD_YES;
}

enum MHD_Result gw_iati_serve(gw_req_t *r)
{
    const tam_config_t *cfg = gw_config(r->gw);
    for (size_t i = 0; i < sizeof s_reads / sizeof s_reads[0]; i++) {
        tam_rpc_error_t denied = {0};
        if (tam_access_check(&r->who, s_reads[i], NULL, "", &denied) != 0) {
            json_t *errors = NULL;
            gw_error_add(&errors, "", denied.message);
            enum MHD_Result ret = gw_problem(r, MHD_HTTP_FORBIDDEN, "Forbidden", denied.message, errors);
            tam_rpc_error_clear(&denied);
            return ret;
        }
        tam_rpc_error_clear(&denied);
    }
    s_args_t args = {NULL, NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, s_arg, &args);
    if (args.errors)
        return gw_problem(r, MHD_HTTP_BAD_REQUEST, "Bad query", "a query parameter is unknown or malformed",
                          args.errors);
    static tam_catalog_t *cat; /* loaded once, in the HTTP thread; lives as long as the process */
    if (!cat) {
        char err[512];
        if (tam_catalog_load(&cat, cfg->common.catalog_dir, err, sizeof err) != 0) {
            cat = NULL;
            return gw_problem(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error",
                              "the catalogue cannot be loaded ([common] catalog_dir)", NULL);
        }
    }
    s_ctx_t x = {.r = r};
    tam_iati_export_t o = {.call = s_call, .arg = &x, .cat = cat,
                           .org = cfg->tamctl.iati_reporting_org,
                           .org_name = cfg->tamctl.iati_reporting_name, .project = args.project};
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf)
        return MHD_NO;
    int rc = tam_iati_export(&o, buf, NULL);
    enum MHD_Result ret;
    if (rc == 0) {
        ret = gw_text(r, MHD_HTTP_OK, "application/xml; charset=utf-8",
                      (const char *)xmlBufferContent(buf), NULL);
    } else if (x.has_err) {
        ret = gw_problem_rpc(r, &x.err);
    } else if (x.rc) {
        ret = gw_problem_call(r, x.service, x.rc);
    } else if (x.undecodable) {
        ret = gw_problem(r, MHD_HTTP_BAD_GATEWAY, "Bad gateway", "a service's answer does not decode",
                         NULL);
    } else {
        json_t *errors = NULL;
        gw_error_add(&errors, "", tam_iati_strerror(rc));
        ret = gw_problem(r, rc == TAM_IATI_EEMPTY ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
                         rc == TAM_IATI_EEMPTY ? "Not found" : "Internal error", tam_iati_strerror(rc),
                         errors);
    }
    tam_rpc_error_clear(&x.err);
    xmlBufferFree(buf);
    return ret;
}

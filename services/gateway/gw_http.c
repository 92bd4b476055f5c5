/* gw_http.c — the gateway's answers: JSON with a strong ETag, and RFC 9457
 * problem+json for every error, with a JSON pointer per offending field. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "tam/error.h"
#include "gateway.h"

static enum MHD_Result s_send(gw_req_t *r, unsigned status, const char *ctype, const char *text,
                              const char *etag, const char *link)
{
    struct MHD_Response *res =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!res)
        return MHD_NO;
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(res, "Cache-Control", "no-cache");
    MHD_add_response_header(res, "Vary", "Accept, Authorization");
    if (etag)
        MHD_add_response_header(res, MHD_HTTP_HEADER_ETAG, etag);
    if (link)
        MHD_add_response_header(res, "Link", link);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(res, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tamatch\"");
    enum MHD_Result ret = MHD_queue_response(r->conn, status, res);
    MHD_destroy_response(res);
    gw_metrics_count(r, status);
    return ret;
}

void gw_error_add(json_t **errors, const char *pointer, const char *detail)
{
    if (!*errors)
        *errors = json_array();
    if (*errors)
        json_array_append_new(*errors, json_pack("{s:s, s:s}", "pointer", pointer, "detail", detail));
}

void gw_pointer(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return;
    if (path[0] && o + 1 < cap)
        out[o++] = '/';
    for (const char *p = path; *p && o + 2 < cap; p++) {
        if (*p == '.' || *p == '[') {
            out[o++] = '/';
        } else if (*p == ']') {
            continue;
        } else if (*p == '~' || *p == '/') {
            out[o++] = '~';
            out[o++] = *p == '~' ? '0' : '1';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
}

unsigned gw_status_of(int code)
{
    switch (code) {
    case TAM_EDENIED: return MHD_HTTP_FORBIDDEN;
    case TAM_ENOTFOUND: return MHD_HTTP_NOT_FOUND;
    case TAM_EEXISTS:
    case TAM_ECONFLICT:
    case TAM_ESTATE:
    case TAM_ESUPERSEDED: return MHD_HTTP_CONFLICT;
    case TAM_ETOOBIG: return MHD_HTTP_CONTENT_TOO_LARGE;
    case TAM_EINVAL:
    case TAM_ETYPE:
    case TAM_EMISSING:
    case TAM_EUNKNOWN:
    case TAM_ERANGE:
    case TAM_ETRUNC:
    case TAM_EDEPTH: return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case TAM_EUNAVAIL: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case TAM_ETIMEOUT: return MHD_HTTP_GATEWAY_TIMEOUT;
    case TAM_EMAPFULL: return MHD_HTTP_INSUFFICIENT_STORAGE;
    default: return MHD_HTTP_BAD_GATEWAY;
    }
}

enum MHD_Result gw_problem(gw_req_t *r, unsigned status, const char *title, const char *detail,
                           json_t *errors)
{
    json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", title,
                          "status", (json_int_t)status, "detail", detail ? detail : title,
                          "instance", r->path ? r->path : "");
    if (!p) {
        json_decref(errors);
        return MHD_NO;
    }
    json_object_set_new(p, "errors", errors ? errors : json_array());
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (!text)
        return MHD_NO;
    enum MHD_Result ret = s_send(r, status, "application/problem+json", text, NULL, NULL);
    free(text);
    return ret;
}

enum MHD_Result gw_problem_rpc(gw_req_t *r, const tam_rpc_error_t *e)
{
    json_t *errors = NULL;
    char ptr[TAM_RPC_FIELD_MAX + 8];
    for (size_t i = 0; i < e->n; i++) {
        gw_pointer(e->errors[i].field, ptr, sizeof ptr);
        gw_error_add(&errors, ptr, e->errors[i].message);
    }
    if (e->n == 0) {
        gw_pointer(e->field, ptr, sizeof ptr);
        gw_error_add(&errors, ptr, e->message);
    }
    unsigned st = gw_status_of(e->code);
    const char *title = st == MHD_HTTP_UNPROCESSABLE_CONTENT ? "Invalid request"
                                                             : tam_strerror(e->code);
    /* If-Match became if_version: a stale one is HTTP's failed precondition. */
    if (r->if_match && e->code == TAM_ECONFLICT && strcmp(e->field, "if_version") == 0)
        st = MHD_HTTP_PRECONDITION_FAILED, title = "Precondition failed";
    return gw_problem(r, st, title, e->message, errors);
}

enum MHD_Result gw_problem_call(gw_req_t *r, const char *service, int rc)
{
    char detail[160];
    snprintf(detail, sizeof detail, "tam-%s did not answer: %s", service, tam_strerror(rc));
    unsigned st = rc == TAM_ETIMEOUT ? MHD_HTTP_GATEWAY_TIMEOUT
                  : rc == TAM_EUNAVAIL ? MHD_HTTP_SERVICE_UNAVAILABLE
                                       : MHD_HTTP_BAD_GATEWAY;
    return gw_problem(r, st, st == MHD_HTTP_BAD_GATEWAY ? "Bad gateway" : "Service unavailable",
                      detail, NULL);
}

void gw_digest(const char *text, unsigned char out[GW_DIGEST])
{
    crypto_generichash(out, GW_DIGEST, (const unsigned char *)text, strlen(text), NULL, 0);
}

/* A strong ETag: BLAKE2b of the request target and of the digest of the
 * exact bytes sent (which, for lists of proposals, hold the run and its
 * input hash). */
static void s_etag(gw_req_t *r, const unsigned char digest[GW_DIGEST], char out[40])
{
    crypto_generichash_state st;
    unsigned char h[16];
    static const char d[] = "0123456789abcdef";
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)r->path, strlen(r->path) + 1);
    crypto_generichash_update(&st, (const unsigned char *)r->query, strlen(r->query) + 1);
    crypto_generichash_update(&st, digest, GW_DIGEST);
    crypto_generichash_final(&st, h, sizeof h);
    out[0] = '"';
    for (size_t i = 0; i < sizeof h; i++) {
        out[1 + 2 * i] = d[h[i] >> 4];
        out[2 + 2 * i] = d[h[i] & 15];
    }
    out[33] = '"';
    out[34] = 0;
}

enum MHD_Result gw_json(gw_req_t *r, unsigned status, const char *text, const char *link)
{
    return gw_text(r, status, "application/json", text, link);
}

enum MHD_Result gw_text(gw_req_t *r, unsigned status, const char *ctype, const char *text,
                        const char *link)
{
    return gw_text_d(r, status, ctype, text, link, NULL);
}

enum MHD_Result gw_text_d(gw_req_t *r, unsigned status, const char *ctype, const char *text,
                          const char *link, const unsigned char *digest)
{
    char etag[80];
    unsigned char dg[GW_DIGEST];
    if (!digest && !r->etag[0]) {
        gw_digest(text, dg);
        digest = dg;
    }
    if (r->etag[0])
        snprintf(etag, sizeof etag, "%s", r->etag);
    else
        s_etag(r, digest, etag);
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (status == MHD_HTTP_OK && inm && (strstr(inm, etag) || strcmp(inm, "*") == 0)) {
        struct MHD_Response *res = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!res)
            return MHD_NO;
        MHD_add_response_header(res, MHD_HTTP_HEADER_ETAG, etag);
        enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_NOT_MODIFIED, res);
        MHD_destroy_response(res);
        gw_metrics_count(r, MHD_HTTP_NOT_MODIFIED);
        return ret;
    }
    return s_send(r, status, ctype, text, status == MHD_HTTP_OK ? etag : NULL, link);
}

/* gw_stream.c — GET /v1/stream (placeholder until the feed relay lands). */
#include <stdlib.h>
#include "tam/error.h"
#include "gateway.h"

struct gw_stream {
    int unused;
};

int gw_stream_new(gw_stream_t **out, const tam_config_t *cfg, void *zctx)
{
    (void)cfg;
    (void)zctx;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TAM_ENOMEM;
}

void gw_stream_destroy(gw_stream_t **s)
{
    if (s && *s) {
        free(*s);
        *s = NULL;
    }
}

enum MHD_Result gw_stream_serve(gw_stream_t *s, gw_req_t *r)
{
    (void)s;
    return gw_problem(r, MHD_HTTP_NOT_IMPLEMENTED, "Not implemented", "the event stream", NULL);
}

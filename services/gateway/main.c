/* tam-gateway — the HTTP/JSON API over the four services (docs/gateway.md).
 * It holds no data: a client of tam-ingest, tam-registry, tam-match and
 * tam-pipeline with its own key, acting on behalf of each user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include "tam/service_main.h"
#include "gateway.h"

static const char *s_identity(const tam_config_t *cfg)
{
    return cfg->gateway.identity;
}

static int s_create(void **server, const tam_config_t *cfg, void *zctx)
{
    gw_t *s = NULL;
    int rc = gw_new(&s, cfg, zctx);
    *server = s;
    return rc;
}

static int s_run(void *server)
{
    return gw_run(server);
}

static void s_destroy(void *server)
{
    gw_t *s = server;
    gw_destroy(&s);
}

static const tam_service_main_t s_main = {
    .program = "tam-gateway",
    .summary = "The HTTP gateway: the tamatch API over HTTP/JSON with bearer tokens, "
               "and Server-Sent Events of proposal changes.",
    .identity = s_identity,
    .create = s_create,
    .run = s_run,
    .destroy = s_destroy,
    .own_signals = true, /* gw_run takes them with sigwait */
};

int main(int argc, char **argv)
{
    /* --openapi: print the document served at /v1/openapi.json (for the CI lint). */
    if (argc == 2 && strcmp(argv[1], "--openapi") == 0) {
        char *doc = gw_openapi_build();
        if (!doc) {
            fprintf(stderr, "tam-gateway: cannot build the OpenAPI document\n");
            return EX_SOFTWARE;
        }
        puts(doc);
        free(doc);
        return EX_OK;
    }
    return tam_service_main(argc, argv, &s_main);
}

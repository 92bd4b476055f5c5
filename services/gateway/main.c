/* tam-gateway — the HTTP/JSON API over the four services (docs/gateway.md).
 * It holds no data: a client of tam-ingest, tam-registry, tam-match and
 * tam-pipeline with its own key, acting on behalf of each user. */
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
    return tam_service_main(argc, argv, &s_main);
}

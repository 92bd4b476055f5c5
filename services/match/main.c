/* tam-match — the matcher: follows the ingest, registry and pipeline feeds,
 * scores every eligible need-project pair, allocates project money by an
 * exact linear program, and publishes ranked, explainable proposals. Holds
 * no durable state: a restart rebuilds the same proposals from the feeds.
 * See docs/matching.md. */
#include "tam/service_main.h"
#include "match_server.h"

static const char *s_identity(const tam_config_t *cfg)
{
    return cfg->match.identity;
}

static int s_create(void **server, const tam_config_t *cfg, void *zctx)
{
    tam_match_server_t *s = NULL;
    int rc = tam_match_server_new(&s, cfg, zctx);
    *server = s;
    return rc;
}

static int s_run(void *server)
{
    return tam_match_server_run(server);
}

static void s_destroy(void *server)
{
    tam_match_server_t *s = server;
    tam_match_server_destroy(&s);
}

static const tam_service_main_t s_main = {
    .program = "tam-match",
    .summary = "The matcher: scores needs against project capacity, allocates "
               "earmarked money optimally and publishes ranked proposals.",
    .identity = s_identity,
    .create = s_create,
    .run = s_run,
    .destroy = s_destroy,
};

int main(int argc, char **argv)
{
    return tam_service_main(argc, argv, &s_main);
}

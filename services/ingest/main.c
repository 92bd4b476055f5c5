/* tam-ingest — receives the replies of governments and organisations to the
 * questionnaires, checks them against the catalogue, stores them durably and
 * publishes the needs they declare. See docs/ingest.md. */
#include "tam/service_main.h"
#include "ingest.h"

static const char *s_identity(const tam_config_t *cfg)
{
    return cfg->ingest.identity;
}

static int s_create(void **server, const tam_config_t *cfg, void *zctx)
{
    tam_ingest_server_t *s = NULL;
    int rc = tam_ingest_server_new(&s, cfg, zctx);
    *server = s;
    return rc;
}

static int s_run(void *server)
{
    return tam_ingest_server_run(server);
}

static void s_destroy(void *server)
{
    tam_ingest_server_t *s = server;
    tam_ingest_server_destroy(&s);
}

static const tam_service_main_t s_main = {
    .program = "tam-ingest",
    .summary = "The ingest service: validates and stores replies to the "
               "questionnaires, publishes the needs feed.",
    .identity = s_identity,
    .create = s_create,
    .run = s_run,
    .destroy = s_destroy,
};

int main(int argc, char **argv)
{
    return tam_service_main(argc, argv, &s_main);
}

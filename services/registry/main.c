/* tam-registry — the record of extrabudgetary resources: donors, projects
 * with their earmarks, the funding ledger, and the planning context from
 * peacekeeping planning. Serves requests, publishes every committed change
 * on its feed, streams snapshots. See docs/registry.md. */
#include "tam/service_main.h"
#include "registry.h"

static const char *s_identity(const tam_config_t *cfg)
{
    return cfg->registry.identity;
}

static int s_create(void **server, const tam_config_t *cfg, void *zctx)
{
    tam_registry_server_t *s = NULL;
    int rc = tam_registry_server_new(&s, cfg, zctx);
    *server = s;
    return rc;
}

static int s_run(void *server)
{
    return tam_registry_server_run(server);
}

static void s_destroy(void *server)
{
    tam_registry_server_t *s = server;
    tam_registry_server_destroy(&s);
}

static const tam_service_main_t s_main = {
    .program = "tam-registry",
    .summary = "The registry service: donors, extrabudgetary projects and their "
               "earmarks, the funding ledger, and the planning context.",
    .identity = s_identity,
    .create = s_create,
    .run = s_run,
    .destroy = s_destroy,
};

int main(int argc, char **argv)
{
    return tam_service_main(argc, argv, &s_main);
}

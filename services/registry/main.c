/* tam-registry — the record of extrabudgetary resources: donors, projects
 * with their earmarks, the funding ledger, and the planning context from
 * peacekeeping planning. Serves requests, publishes every committed change
 * on its feed, streams snapshots. See docs/registry.md. */
#include <stdio.h>
#include <zmq.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/sec.h"
#include "registry.h"

int main(int argc, char **argv)
{
    tam_config_t cfg;
    int ex = tam_cli_service(argc, argv, "tam-registry",
                             "The registry service: donors, extrabudgetary projects and their "
                             "earmarks, the funding ledger, and the planning context.",
                             &cfg);
    if (ex >= 0)
        return ex;
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        tam_crit("cannot create a ZeroMQ context");
        return EX_OSERR;
    }
    tam_registry_server_t *s = NULL;
    tam_sec_t *sec = NULL;
    int rc = tam_sec_service(&sec, &cfg, zctx, cfg.registry.identity);
    if (rc == 0 && (rc = tam_registry_server_new(&s, &cfg, zctx)))
        tam_crit("cannot start: %s", tam_strerror(rc));
    else
        rc = tam_registry_server_run(s);
    tam_registry_server_destroy(&s);
    tam_sec_destroy(&sec);
    zmq_ctx_term(zctx);
    if (rc == 0)
        tam_info("stopped");
    return rc == 0 ? EX_OK : tam_cli_exit_code(rc);
}

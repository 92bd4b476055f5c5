/* service_main.c — the start-up every service shares (see tam/service_main.h). */
#include <pthread.h>
#include <signal.h>
#include <zmq.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/notify.h"
#include "tam/sec.h"
#include "tam/service_main.h"

int tam_service_main(int argc, char **argv, const tam_service_main_t *d)
{
    static tam_config_t cfg; /* large: not on the stack; the service keeps a pointer */
    int ex = tam_cli_service(argc, argv, d->program, d->summary, &cfg);
    if (ex >= 0)
        return ex;
    if (d->own_signals) {
        /* Every thread (the library's, ZeroMQ's, the service's) inherits
         * this mask; the service's main thread takes them with sigwait. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
    }
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        tam_crit("cannot create a ZeroMQ context");
        return EX_OSERR;
    }
    void *server = NULL;
    tam_sec_t *sec = NULL;
    int rc = tam_sec_service(&sec, &cfg, zctx, d->identity(&cfg)); /* logs its failure */
    if (rc == 0 && (rc = d->create(&server, &cfg, zctx))) {
        tam_crit("cannot start: %s", tam_strerror(rc));
    } else if (rc == 0 && tam_cli_migrate_only()) {
        /* create opened the store, which upgraded it: nothing to serve */
        tam_notice("--migrate: the store is at this version's schema; exiting");
    } else if (rc == 0) {
        if (d->own_signals)
            tam_notify("READY=1");
        if ((rc = d->run(server)))
            tam_crit("stopped: %s", tam_strerror(rc));
        if (d->own_signals)
            tam_notify("STOPPING=1");
    }
    d->destroy(server);
    tam_sec_destroy(&sec);
    zmq_ctx_term(zctx);
    if (rc == 0)
        tam_info("stopped");
    return rc == 0 ? EX_OK : tam_cli_exit_code(rc);
}

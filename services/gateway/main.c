/* tam-gateway — the HTTP/JSON API over the four services (docs/gateway.md).
 * It holds no data: a client of tam-ingest, tam-registry, tam-match and
 * tam-pipeline with its own key, acting on behalf of each user. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/notify.h"
#include "tam/sec.h"
#include "gateway.h"

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
    tam_config_t cfg;
    int ex = tam_cli_service(argc, argv, "tam-gateway",
                             "The HTTP gateway: the tamatch API over HTTP/JSON with bearer tokens, "
                             "and Server-Sent Events of proposal changes.",
                             &cfg);
    if (ex >= 0)
        return ex;
    /* Every thread (MHD's, ZeroMQ's, the stream's) inherits this mask; the
     * main thread takes the signals with sigwait (gw_run). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        tam_crit("cannot create a ZeroMQ context");
        return EX_OSERR;
    }
    gw_t *g = NULL;
    tam_sec_t *sec = NULL;
    int rc = tam_sec_service(&sec, &cfg, zctx, cfg.gateway.identity);
    if (rc == 0 && (rc = gw_new(&g, &cfg, zctx)))
        tam_crit("cannot start: %s", tam_strerror(rc));
    else if (rc == 0) {
        tam_notify("READY=1"); /* listening: gw_new started the HTTP daemon */
        rc = gw_run(g);
        tam_notify("STOPPING=1");
    }
    gw_destroy(&g);
    tam_sec_destroy(&sec);
    zmq_ctx_term(zctx);
    if (rc == 0)
        tam_info("stopped");
    return rc == 0 ? EX_OK : tam_cli_exit_code(rc);
}

/* tam-ingest — receives the replies of governments and organisations to the
 * questionnaires, checks them against the catalogue, stores them durably and
 * publishes the needs they declare. See docs/ingest.md. */
#include <stdlib.h>
#include <zmq.h>

#include "ingest.h"
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/sec.h"

int main(int argc, char **argv)
{
    static tam_config_t cfg; /* large: not on the stack */
    int ex = tam_cli_service(argc, argv, "tam-ingest",
                             "The ingest service: validates and stores replies to the "
                             "questionnaires, publishes the needs feed.",
                             &cfg);
    if (ex >= 0)
        return ex;
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        tam_crit("cannot create a ZeroMQ context");
        return EX_OSERR;
    }
    tam_ingest_server_t *s = NULL;
    tam_sec_t *sec = NULL;
    int rc = tam_sec_service(&sec, &cfg, zctx, cfg.ingest.identity);
    if (rc == 0)
        rc = tam_ingest_server_new(&s, &cfg, zctx);
    if (rc == 0)
        rc = tam_ingest_server_run(s);
    tam_ingest_server_destroy(&s);
    tam_sec_destroy(&sec);
    zmq_ctx_term(zctx);
    if (rc) {
        tam_crit("ingest: stopped: %s", tam_strerror(rc));
        return rc == TAM_ECONFIG ? EX_CONFIG : rc == TAM_EIO ? EX_IOERR : EX_SOFTWARE;
    }
    return EX_OK;
}

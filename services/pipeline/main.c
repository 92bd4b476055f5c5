/* tam-pipeline — decisions on proposals: programme managers endorse, decline,
 * withdraw and mark delivered; donor liaison commits funds. Every act is
 * checked against the state machine and the money available, recorded in an
 * append-only audit log and published on the decisions feed; the reports
 * (gaps, donors, pipeline, commission) are one request away. See
 * docs/pipeline.md. */
#include <stdio.h>
#include <zmq.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/sec.h"
#include "pipeline.h"

int main(int argc, char **argv)
{
    tam_config_t cfg;
    int ex = tam_cli_service(argc, argv, "tam-pipeline",
                             "The pipeline service: decisions on proposals (endorse, decline, "
                             "commit, deliver, withdraw), their audit log, and the gaps, donors, "
                             "pipeline and commission reports.",
                             &cfg);
    if (ex >= 0)
        return ex;
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        tam_crit("cannot create a ZeroMQ context");
        return EX_OSERR;
    }
    tam_pipeline_server_t *s = NULL;
    tam_sec_t *sec = NULL;
    int rc = tam_sec_service(&sec, &cfg, zctx, cfg.pipeline.identity);
    if (rc == 0 && (rc = tam_pipeline_server_new(&s, &cfg, zctx)))
        tam_crit("cannot start: %s", tam_strerror(rc));
    else
        rc = tam_pipeline_server_run(s);
    tam_pipeline_server_destroy(&s);
    tam_sec_destroy(&sec);
    zmq_ctx_term(zctx);
    if (rc == 0)
        tam_info("stopped");
    return rc == 0 ? EX_OK : tam_cli_exit_code(rc);
}

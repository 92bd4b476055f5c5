/* tam-match — the matcher: follows the ingest, registry and pipeline feeds,
 * scores every eligible need-project pair, allocates project money by an
 * exact linear program, and publishes ranked, explainable proposals. Holds
 * no durable state: a restart rebuilds the same proposals from the feeds.
 * See docs/matching.md. */
#include <stdio.h>
#include <zmq.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/sec.h"
#include "match_server.h"

int main(int argc, char **argv)
{
    tam_config_t cfg;
    int ex = tam_cli_service(argc, argv, "tam-match",
                             "The matcher: scores needs against project capacity, allocates "
                             "earmarked money optimally and publishes ranked proposals.",
                             &cfg);
    if (ex >= 0)
        return ex;
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        tam_crit("cannot create a ZeroMQ context");
        return EX_OSERR;
    }
    tam_match_server_t *s = NULL;
    tam_sec_t *sec = NULL;
    int rc = tam_sec_service(&sec, &cfg, zctx, cfg.match.identity);
    if (rc == 0 && (rc = tam_match_server_new(&s, &cfg, zctx)))
        tam_crit("cannot start: %s", tam_strerror(rc));
    else
        rc = tam_match_server_run(s);
    tam_match_server_destroy(&s);
    tam_sec_destroy(&sec);
    zmq_ctx_term(zctx);
    if (rc == 0)
        tam_info("stopped");
    return rc == 0 ? EX_OK : tam_cli_exit_code(rc);
}

/* tam-pipeline — decisions on proposals: programme managers endorse, decline,
 * withdraw and mark delivered; donor liaison commits funds. Every act is
 * checked against the state machine and the money available, recorded in an
 * append-only audit log and published on the decisions feed; the reports
 * (gaps, donors, pipeline, commission) are one request away. See
 * docs/pipeline.md. */
#include "tam/service_main.h"
#include "pipeline.h"

static const char *s_identity(const tam_config_t *cfg)
{
    return cfg->pipeline.identity;
}

static int s_create(void **server, const tam_config_t *cfg, void *zctx)
{
    tam_pipeline_server_t *s = NULL;
    int rc = tam_pipeline_server_new(&s, cfg, zctx);
    *server = s;
    return rc;
}

static int s_run(void *server)
{
    return tam_pipeline_server_run(server);
}

static void s_destroy(void *server)
{
    tam_pipeline_server_t *s = server;
    tam_pipeline_server_destroy(&s);
}

static const tam_service_main_t s_main = {
    .program = "tam-pipeline",
    .summary = "The pipeline service: decisions on proposals (endorse, decline, "
               "commit, deliver, withdraw), their audit log, and the gaps, donors, "
               "pipeline and commission reports.",
    .identity = s_identity,
    .create = s_create,
    .run = s_run,
    .destroy = s_destroy,
};

int main(int argc, char **argv)
{
    return tam_service_main(argc, argv, &s_main);
}

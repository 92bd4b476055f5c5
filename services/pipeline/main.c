/* tam-pipeline — decisions on proposals: programme managers endorse, decline,
 * withdraw and mark delivered; donor liaison commits funds. Every act is
 * checked against the state machine and the money available, recorded in an
 * append-only audit log and published on the decisions feed; the reports
 * (gaps, donors, pipeline, commission) are one request away. See
 * docs/pipeline.md. */
#include "tam/service_main.h"
#include "pipeline.h"

TAM_SERVICE_MAIN(pipeline, "tam-pipeline",
                 "The pipeline service: decisions on proposals (endorse, decline, "
                 "commit, deliver, withdraw), their audit log, and the gaps, donors, "
                 "pipeline and commission reports.")

/* tam-ingest — receives the replies of governments and organisations to the
 * questionnaires, checks them against the catalogue, stores them durably and
 * publishes the needs they declare. See docs/ingest.md. */
#include "tam/service_main.h"
#include "ingest.h"

TAM_SERVICE_MAIN(ingest, "tam-ingest",
                 "The ingest service: validates and stores replies to the "
                 "questionnaires, publishes the needs feed.")

/* tam-match — the matcher: follows the ingest, registry and pipeline feeds,
 * scores every eligible need-project pair, allocates project money by an
 * exact linear program, and publishes ranked, explainable proposals. Holds
 * no durable state: a restart rebuilds the same proposals from the feeds.
 * See docs/matching.md. */
#include "tam/service_main.h"
#include "match_server.h"

TAM_SERVICE_MAIN(match, "tam-match",
                 "The matcher: scores needs against project capacity, allocates "
                 "earmarked money optimally and publishes ranked proposals.")

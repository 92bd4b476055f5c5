/* tam-registry — the record of extrabudgetary resources: donors, projects
 * with their earmarks, the funding ledger, and the planning context from
 * peacekeeping planning. Serves requests, publishes every committed change
 * on its feed, streams snapshots. See docs/registry.md. */
#include "tam/service_main.h"
#include "registry.h"

TAM_SERVICE_MAIN(registry, "tam-registry",
                 "The registry service: donors, extrabudgetary projects and their "
                 "earmarks, the funding ledger, and the planning context.")

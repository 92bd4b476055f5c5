/* registry_access.c — which requests the registry serves. Who may send them
 * is the role matrix's business (tam/access.h), checked by the service loop
 * before any handler runs. */
#include <stdio.h>
#include <string.h>
#include "tam/error.h"
#include "registry.h"

tam_req_kind_t tam_registry_classify(const char *type)
{
    const tam_message_t *m = type ? tam_message_find(type) : NULL;
    if (!m)
        return TAM_REQ_UNKNOWN;
    if (m->id == TAM_MSG_sys_ping)
        return TAM_REQ_READ;
    if (strncmp(type, "registry.", 9) != 0)
        return TAM_REQ_UNKNOWN;
    return m->writes ? TAM_REQ_WRITE : TAM_REQ_READ;
}

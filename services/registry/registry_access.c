/* registry_access.c — which requests the registry serves, and who may send
 * them: the one place where the principal of a request is checked (the
 * principal comes from the connection, tam/principal.h). Today every local
 * client holds every role; with CURVE a key maps to its roles and the rules
 * below start to bite without any handler changing. */
#include <stdio.h>
#include <string.h>
#include "tam/error.h"
#include "registry.h"

uint32_t tam_registry_roles_for(const char *type)
{
    if (tam_registry_classify(type) == TAM_REQ_UNKNOWN || strcmp(type, "sys.ping") == 0)
        return 0;
    const tam_message_t *m = tam_message_find(type);
    if (m->id == TAM_MSG_registry_context_set)
        return TAM_ROLE_PLANNER;
    if (m->writes)
        return TAM_ROLE_DONOR_LIAISON;
    return TAM_ROLE_ALL;
}

int tam_registry_authorize(const tam_principal_t *p, const char *type, tam_rpc_error_t *err)
{
    uint32_t need = tam_registry_roles_for(type);
    if (need == 0 || tam_principal_may(p, need))
        return 0;
    const char *role = need == TAM_ROLE_PLANNER         ? "the planner role"
                       : need == TAM_ROLE_DONOR_LIAISON ? "the donor liaison role"
                                                        : "a role";
    tam_rpc_error_set(err, TAM_EDENIED, "", "principal '%s' may not send %s: it needs %s",
                      p ? p->id : "?", type, role);
    return TAM_EDENIED;
}

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

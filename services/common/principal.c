/* principal.c — the principal of a request, from the connection (see
 * tam/principal.h for the CURVE plan). */
#include <string.h>
#include "tam/error.h"
#include "tam/principal.h"

static void s_anonymous(tam_principal_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, "anonymous", sizeof "anonymous");
}

int tam_principal_from_user_id(const char *user_id, tam_principal_t *out)
{
    if (!out)
        return TAM_EINVAL;
    if (!user_id) {
        /* No ZAP handler ran: a local connection, trusted like a Unix socket. */
        memset(out, 0, sizeof *out);
        memcpy(out->id, TAM_PRINCIPAL_LOCAL, sizeof TAM_PRINCIPAL_LOCAL);
        out->roles = TAM_ROLE_ALL;
        return 0;
    }
    size_t n = strnlen(user_id, TAM_PRINCIPAL_ID_MAX + 1);
    if (n == 0 || n > TAM_PRINCIPAL_ID_MAX)
        goto deny;
    for (size_t i = 0; i < n; i++)
        if (user_id[i] < 0x21 || user_id[i] > 0x7e)
            goto deny;
    memset(out, 0, sizeof *out);
    memcpy(out->id, user_id, n);
    /* CURVE key table goes here: look the User-Id up, set id and roles, and
     * refuse revoked keys. Until then an authenticated but unmapped User-Id
     * gets no roles. */
    out->roles = 0;
    return 0;
deny:
    s_anonymous(out);
    return TAM_EDENIED;
}

int tam_principal_from_msg(zmq_msg_t *msg, tam_principal_t *out)
{
    if (!msg) {
        if (out)
            s_anonymous(out);
        return TAM_EINVAL;
    }
    /* zmq_msg_gets returns NULL (EINVAL) when the property is absent. */
    return tam_principal_from_user_id(zmq_msg_gets(msg, "User-Id"), out);
}

bool tam_principal_may(const tam_principal_t *p, uint32_t roles)
{
    if (!p || roles == 0)
        return false;
    return (p->roles & TAM_ROLE_ADMIN) || (p->roles & roles);
}

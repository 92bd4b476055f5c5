/* principal.c — the principal of a request, from the connection (see
 * tam/principal.h), and the names of the roles. */
#include <string.h>
#include "tam/error.h"
#include "tam/principal.h"
#include "tam/sec.h"

/* Role names in bit order: the words of key files, tamctl and docs. */
static const char *const s_role_names[] = {"respondent", "manager", "donor_liaison", "planner",
                                           "service",    "admin",   "viewer",  "gateway"};
#define S_NROLES (sizeof s_role_names / sizeof s_role_names[0])

void tam_principal_anonymous(tam_principal_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, "anonymous", sizeof "anonymous");
}

void tam_principal_local(tam_principal_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, TAM_PRINCIPAL_LOCAL, sizeof TAM_PRINCIPAL_LOCAL);
    out->roles = TAM_ROLE_ALL;
}

int tam_principal_from_user_id(const char *user_id, tam_principal_t *out)
{
    if (!out)
        return TAM_EINVAL;
    if (!user_id) {
        tam_principal_local(out);
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
    return 0;
deny:
    tam_principal_anonymous(out);
    return TAM_EDENIED;
}

int tam_principal_from_msg(void *zctx, zmq_msg_t *msg, tam_principal_t *out)
{
    if (!out)
        return TAM_EINVAL;
    if (!msg || !zctx) {
        tam_principal_anonymous(out);
        return TAM_EINVAL;
    }
    tam_sec_t *sec = tam_sec_of(zctx);
    if (!sec || tam_sec_mode(sec) != TAM_SEC_CURVE) {
        /* Local mode: nothing a peer sends decides who it is. */
        tam_principal_local(out);
        return 0;
    }
    /* zmq_msg_gets returns NULL (EINVAL) when the property is absent. */
    return tam_sec_lookup_token(sec, zmq_msg_gets(msg, "User-Id"), out);
}

int tam_principal_on_behalf(void *zctx, const tam_principal_t *p, const char *obo,
                            tam_principal_t *out)
{
    if (!p || !obo || !out)
        return TAM_EINVAL;
    tam_sec_t *sec = zctx ? tam_sec_of(zctx) : NULL;
    if (!sec || tam_sec_mode(sec) != TAM_SEC_CURVE) {
        /* Local mode: every request has every role; keep the name for audit. */
        int rc = tam_principal_from_user_id(obo, out);
        if (rc == 0)
            out->roles = TAM_ROLE_ALL;
        return rc;
    }
    if (!(p->roles & TAM_ROLE_GATEWAY)) {
        tam_principal_anonymous(out);
        return TAM_EDENIED;
    }
    return tam_sec_lookup_name(sec, obo, out);
}

bool tam_principal_may(const tam_principal_t *p, uint32_t roles)
{
    if (!p || roles == 0)
        return false;
    return (p->roles & TAM_ROLE_ADMIN) || (p->roles & roles);
}

const char *tam_role_name(uint32_t role)
{
    for (size_t i = 0; i < S_NROLES; i++)
        if (role == 1u << i)
            return s_role_names[i];
    return NULL;
}

int tam_role_parse(const char *name, uint32_t *role)
{
    for (size_t i = 0; name && i < S_NROLES; i++)
        if (strcmp(name, s_role_names[i]) == 0) {
            *role = 1u << i;
            return 0;
        }
    return TAM_EINVAL;
}

const char *tam_roles_format(uint32_t roles, char buf[TAM_ROLE_NAMES_MAX])
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < S_NROLES; i++)
        if (roles & (1u << i)) {
            size_t l = strlen(s_role_names[i]);
            if (n + l + 2 > TAM_ROLE_NAMES_MAX)
                break;
            if (n)
                buf[n++] = ',';
            memcpy(buf + n, s_role_names[i], l + 1);
            n += l;
        }
    return buf;
}

int tam_roles_parse(const char *text, uint32_t *roles)
{
    uint32_t r = 0;
    char word[32];
    const char *p = text;
    if (!text || !roles)
        return TAM_EINVAL;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == 0)
            break;
        if (n >= sizeof word)
            return TAM_EINVAL;
        memcpy(word, p, n);
        word[n] = 0;
        uint32_t one;
        if (tam_role_parse(word, &one))
            return TAM_EINVAL;
        r |= one;
        p += n;
    }
    if (!r)
        return TAM_EINVAL;
    *roles = r;
    return 0;
}

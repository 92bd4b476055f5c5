/* tam/principal.h — who is asking: the ONE place a service decides it.
 *
 * The principal of a request comes from the connection, never from the
 * payload. The rpc server (tam/rpc.h) calls tam_principal_from_msg() on the
 * first frame of every request and hands the result to the service with the
 * request; handlers only ever ask tam_principal_may().
 *
 * Today (ipc:// or tcp:// without CURVE) ZeroMQ attaches no "User-Id" to a
 * message, and every request comes from the principal "local" holding every
 * role: whoever can reach the socket is trusted, as with a Unix socket's file
 * permissions.
 *
 * With CURVE (later): the server sets ZMQ_ZAP_DOMAIN and ZMQ_ZAP_ENFORCE_DOMAIN;
 * a ZAP handler authenticates the client's public key at handshake and returns
 * a User-Id. THIS FILE is where that User-Id is mapped to a principal id and
 * its roles (a table loaded from the config: key -> id + roles), and where a
 * revoked key is refused per message (ZAP only runs at handshake). Until that
 * table exists, a User-Id that is present but not mapped gets NO roles
 * (default deny).
 */
#ifndef TAM_PRINCIPAL_H
#define TAM_PRINCIPAL_H
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TAM_ROLE_RESPONDENT = 1u << 0,    /* a government/organisation: submits its own replies */
    TAM_ROLE_MANAGER = 1u << 1,       /* UNODC programme manager */
    TAM_ROLE_DONOR_LIAISON = 1u << 2, /* edits donors, projects, budgets */
    TAM_ROLE_PLANNER = 1u << 3,       /* peacekeeping planning: pushes context */
    TAM_ROLE_SERVICE = 1u << 4,       /* another tamatch service */
    TAM_ROLE_ADMIN = 1u << 5,         /* operator: implies every role */
    TAM_ROLE_ALL = (1u << 6) - 1,
};

#define TAM_PRINCIPAL_ID_MAX 63
#define TAM_PRINCIPAL_LOCAL "local"

typedef struct {
    char id[TAM_PRINCIPAL_ID_MAX + 1]; /* NUL-terminated; "local" without CURVE */
    uint32_t roles;                    /* TAM_ROLE_* bits */
} tam_principal_t;

/* Decides the principal of a request from the connection metadata of one of
 * its frames (any frame after the routing id; they share the metadata).
 * Without a "User-Id" property: "local" with TAM_ROLE_ALL.
 * With one: id = the User-Id, roles = none (no key table yet, see above).
 * Returns 0; TAM_EINVAL (NULL argument: *out, if given, is set to an
 * anonymous principal with no roles); TAM_EDENIED (User-Id empty, longer than
 * TAM_PRINCIPAL_ID_MAX or not printable ASCII: *out is "anonymous", no roles). */
int tam_principal_from_msg(zmq_msg_t *msg, tam_principal_t *out);

/* Same decision from a User-Id string (NULL: no CURVE, i.e. "local"); what
 * tam_principal_from_msg does after reading the property. Same returns. */
int tam_principal_from_user_id(const char *user_id, tam_principal_t *out);

/* True if p holds at least one of the role bits in roles, or is an admin.
 * False for a NULL principal or roles == 0. */
bool tam_principal_may(const tam_principal_t *p, uint32_t roles);

#ifdef __cplusplus
}
#endif
#endif

/* tam/principal.h — who is asking: the ONE place a service decides it.
 *
 * The principal of a request comes from the connection, never from the
 * payload. The rpc server (tam/rpc.h) and the feed server call
 * tam_sec_principal() (tam/sec.h) on every message; it reads the message's
 * "User-Id" property and looks it up here, in the trust store of the
 * context's security (tam/sec.h):
 *
 *   curve mode: every server socket is a CURVE server with a ZAP domain and
 *     ZMQ_ZAP_ENFORCE_DOMAIN; our in-process ZAP handler accepts only public
 *     keys in the trust store and answers with a User-Id that is a random
 *     token it made for that key (never the key's name). The token maps back
 *     to the key's name, roles and respondent id. A peer cannot supply one
 *     (ZAP's answer wins, and a made-up value matches no token); a key removed
 *     from the store loses its token, so its next message is refused even on
 *     an established connection (ZAP only runs at handshake).
 *   local mode (ipc:// only): every request is "local" with every role;
 *     whatever property a peer sends is ignored.
 *   no security attached to the context (unit tests of the library): as local.
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
    TAM_ROLE_VIEWER = 1u << 6,        /* reads only */
    TAM_ROLE_GATEWAY = 1u << 7,       /* tam-gateway: may act on behalf of a person (tam/rpc.h obo) */
    TAM_ROLE_ALL = (1u << 8) - 1,
};

#define TAM_PRINCIPAL_ID_MAX 63
#define TAM_PRINCIPAL_LOCAL "local"
#define TAM_PRINCIPAL_RESPONDENT_MAX 15
#define TAM_ROLE_NAMES_MAX 96 /* "respondent,manager,..." of every role, with the NUL */

typedef struct {
    char id[TAM_PRINCIPAL_ID_MAX + 1]; /* NUL-terminated; "local" without CURVE */
    uint32_t roles;                    /* TAM_ROLE_* bits */
    char respondent[TAM_PRINCIPAL_RESPONDENT_MAX + 1]; /* a respondent key's id ("KEN"), else "" */
} tam_principal_t;

/* Sets *out to the principal of local mode: "local", every role. */
void tam_principal_local(tam_principal_t *out);

/* Sets *out to "anonymous" with no roles. */
void tam_principal_anonymous(tam_principal_t *out);

/* Decides the principal of a request from the metadata of one of its frames
 * (any frame after the routing id; they share the metadata), by the security
 * attached to zctx (tam/sec.h; none: local mode).
 * Returns 0 (*out set); TAM_EDENIED (curve mode and the User-Id is absent or
 * no key in the trust store has it: *out is "anonymous" with no roles, and
 * the caller must drop the message unanswered); TAM_EINVAL (NULL argument). */
int tam_principal_from_msg(void *zctx, zmq_msg_t *msg, tam_principal_t *out);

/* "On behalf of": the principal that a request from p, naming the identity
 * obo in its envelope, acts as (tam/rpc.h). Only a key with the gateway role
 * may name one (local mode: any request); *out becomes the named key's
 * principal from the trust store, so its roles, respondent id and audit name
 * are the person's, never the gateway's. Returns 0; TAM_EDENIED (p lacks the
 * gateway role, or no key of that name is in the trust store: *out is
 * anonymous); TAM_EINVAL. */
int tam_principal_on_behalf(void *zctx, const tam_principal_t *p, const char *obo,
                            tam_principal_t *out);

/* Builds a principal without a connection (tests, tools): NULL is local
 * mode's "local" with every role; a string is that id with NO roles (set
 * out->roles yourself). Never used for a request. Returns 0; TAM_EINVAL;
 * TAM_EDENIED (id empty, longer than TAM_PRINCIPAL_ID_MAX or not printable
 * ASCII: *out is "anonymous", no roles). */
int tam_principal_from_user_id(const char *user_id, tam_principal_t *out);

/* The name of one role bit ("manager"), or NULL if it is not exactly one
 * known role. */
const char *tam_role_name(uint32_t role);

/* Parses one role name into its bit. Returns 0; TAM_EINVAL (unknown name). */
int tam_role_parse(const char *name, uint32_t *role);

/* Writes the names of the roles in bits, comma separated, in bit order
 * ("" for none). Returns buf. */
const char *tam_roles_format(uint32_t roles, char buf[TAM_ROLE_NAMES_MAX]);

/* Parses "manager,planner" (spaces allowed around names) into bits.
 * Returns 0; TAM_EINVAL (empty or an unknown name). */
int tam_roles_parse(const char *text, uint32_t *roles);

/* True if p holds at least one of the role bits in roles, or is an admin.
 * False for a NULL principal or roles == 0. */
bool tam_principal_may(const tam_principal_t *p, uint32_t roles);

#ifdef __cplusplus
}
#endif
#endif

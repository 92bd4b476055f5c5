/* tam/sec.h — the security of one process: its mode, its own key, the trust
 * store and the ZAP handler, attached to a ZeroMQ context so that every
 * socket the library makes on that context is set up by it.
 *
 * A program calls tam_sec_new() right after zmq_ctx_new() and
 * tam_sec_destroy() right before zmq_ctx_term(). From then on:
 *   - every rpc server ROUTER, feed PUB and snapshot ROUTER is a CURVE server
 *     with ZAP domain TAM_SEC_DOMAIN (requests) or TAM_SEC_DOMAIN_FEED (feeds)
 *     and ZMQ_ZAP_ENFORCE_DOMAIN: with no ZAP handler nothing gets in;
 *   - every rpc client DEALER, feed SUB and snapshot DEALER is a CURVE client
 *     with this process's key, trusting the server key of the service whose
 *     endpoint it connects to (from the config: [ingest] endpoint, feed and
 *     snapshot are served with the key named [ingest] identity, ...);
 *   - an in-process ZAP handler thread (REP on inproc://zeromq.zap.01)
 *     accepts only public keys in the trust store ([security] keys_dir), and
 *     only keys whose roles may read the feed for a feed socket; it answers
 *     with a random token as User-Id (tam/principal.h);
 *   - the trust store is reloaded on SIGHUP (tam_sec_watch_sighup) and when
 *     keys_dir changes (checked every TAM_SEC_RELOAD_MS); a key removed from
 *     it is refused on its next request, and the feed servers drop every
 *     subscriber (the others reconnect, a revoked one cannot).
 * In local mode (ipc:// only) nothing of this: sockets are plain, every
 * request is "local" with every role.
 * A context with no security attached behaves as local mode; only unit tests
 * of the library use one.
 */
#ifndef TAM_SEC_H
#define TAM_SEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "tam/config.h"
#include "tam/keys.h"
#include "tam/principal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_SEC_DOMAIN "tamatch"           /* ZAP domain of request sockets */
#define TAM_SEC_DOMAIN_FEED "tamatch.feed" /* ZAP domain of feed and snapshot sockets */
#define TAM_SEC_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define TAM_SEC_RELOAD_MS 500

typedef enum { TAM_SEC_LOCAL = 0, TAM_SEC_CURVE = 1 } tam_sec_mode_t;

typedef struct tam_sec tam_sec_t;

/* Sets up the security of the process on zctx from cfg's [security] section,
 * as identity (a service's [NAME] identity, tamctl's [tamctl] identity or
 * --as). curve: reads keys_dir/IDENTITY.key_secret (refused if others may
 * read it), the trust store, starts the ZAP handler. local: refuses any
 * tcp:// endpoint in cfg. Both: the run directory becomes owner-only (0700).
 * Returns 0; TAM_ECONFIG (err says what: unknown mode, local with tcp://, no
 * key, bad key file, secret readable by others); TAM_EIO; TAM_ENOMEM;
 * TAM_ESTATE (zctx already has a security). */
int tam_sec_new(tam_sec_t **out, const tam_config_t *cfg, void *zctx, const char *identity,
                char *err, size_t errlen);

/* tam_sec_new for a service's main: logs the refusal (tam_crit) and
 * installs the SIGHUP reload. Returns as tam_sec_new. */
int tam_sec_service(tam_sec_t **out, const tam_config_t *cfg, void *zctx, const char *identity);

/* Stops the ZAP handler, detaches from the context, frees; *s = NULL.
 * Call before zmq_ctx_term. */
void tam_sec_destroy(tam_sec_t **s);

/* The security attached to zctx, or NULL. */
tam_sec_t *tam_sec_of(void *zctx);

tam_sec_mode_t tam_sec_mode(const tam_sec_t *s);

/* The name of this process's own key ("" in local mode). */
const char *tam_sec_identity(const tam_sec_t *s);

/* Reloads the trust store now (also done by the ZAP thread on SIGHUP or a
 * change of keys_dir). Keys kept keep their token, so their connections go
 * on; removed keys' tokens are forgotten. Returns 0; TAM_EIO (keys_dir
 * unreadable: the old store is kept). */
int tam_sec_reload(tam_sec_t *s);

/* Installs a SIGHUP handler that makes every ZAP thread reload its store. */
void tam_sec_watch_sighup(void);

/* Counts trust-store reloads that removed or changed at least one key; a
 * feed server that sees it change drops its subscribers (tam/feed.h). */
uint64_t tam_sec_revocations(const tam_sec_t *s);

/* Says that endpoint (as given to connect) is served with the key named
 * name, beside the endpoints of the config. Returns 0; TAM_EINVAL; TAM_ENOMEM. */
int tam_sec_map_endpoint(tam_sec_t *s, const char *endpoint, const char *name);

/* Looks up a User-Id set by our ZAP handler (see tam/principal.h).
 * Returns 0 with *out the key's principal; TAM_EDENIED (NULL, unknown or
 * revoked: *out anonymous). */
int tam_sec_lookup_token(tam_sec_t *s, const char *user_id, tam_principal_t *out);

/* Looks up a key of the trust store by its name (for "on behalf of",
 * tam_principal_on_behalf). Returns 0 with *out its principal; TAM_EDENIED
 * (NULL or no such key: *out anonymous). */
int tam_sec_lookup_name(tam_sec_t *s, const char *name, tam_principal_t *out);

/* ---- for the socket classes (rpc, feed) ------------------------------------ */

/* Makes sock (not yet bound) a CURVE server in domain, if zctx's security is
 * curve and the endpoint is not inproc://. Returns 0; TAM_EIO. */
int tam_sec_server_socket(void *zctx, void *sock, const char *endpoint, const char *domain);

/* Makes sock (not yet connected to endpoint) a CURVE client, if zctx's
 * security is curve. Returns 0; TAM_ECONFIG (no server key known for
 * endpoint: logged); TAM_EIO. */
int tam_sec_client_socket(void *zctx, void *sock, const char *endpoint);

/* After a bind to an ipc:// endpoint: the socket file becomes 0600 whatever
 * the umask. Other transports: nothing. Returns 0; TAM_EIO (logged). */
int tam_sec_ipc_private(const char *endpoint);

/* Test hook: stops the ZAP handler thread of s (a server then lets nothing
 * in, ZMQ_ZAP_ENFORCE_DOMAIN). */
void tam_sec_zap_stop(tam_sec_t *s);

#ifdef __cplusplus
}
#endif
#endif

/* tam/token.h — bearer tokens for the HTTP gateway (docs/gateway.md).
 *
 * A token belongs to one identity of the trust store ([security] keys_dir)
 * and gives exactly that key's roles. Its text is NAME~SECRET (SECRET: 64
 * hex digits, 256 random bits); only a hash of it (BLAKE2b-256, libsodium's
 * crypto_generichash) is stored, in keys_dir/NAME.token_hash (0600). Issuing
 * a new token for NAME replaces the old one; removing the hash file (or the
 * key, `tamctl keys revoke`) revokes it at once: the gateway checks both on
 * every request.
 */
#ifndef TAM_TOKEN_H
#define TAM_TOKEN_H
#include <stddef.h>
#include "tam/keys.h"
#include "tam/principal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_TOKEN_EXT ".token_hash"
#define TAM_TOKEN_SECRET_HEX 64
#define TAM_TOKEN_MAX (TAM_PRINCIPAL_ID_MAX + 1 + TAM_TOKEN_SECRET_HEX) /* without the NUL */

/* Issues a token for the key NAME (which must be in dir): writes
 * dir/NAME.token_hash, replacing an older token, and the token text into
 * out. Returns 0; TAM_ENOTFOUND (no key NAME in dir); TAM_EINVAL (bad name);
 * TAM_EIO (errmsg says which file). */
int tam_token_issue(const char *dir, const char *name, char out[TAM_TOKEN_MAX + 1], char *errmsg,
                    size_t errlen);

/* Revokes NAME's token. Returns 0; TAM_ENOTFOUND (none issued); TAM_EINVAL; TAM_EIO. */
int tam_token_revoke(const char *dir, const char *name);

/* Checks a presented token (len bytes, not NUL-terminated) against dir: its
 * hash file and its key. Returns 0 with *out the key's principal (name,
 * roles, respondent); TAM_EDENIED (malformed, unknown, revoked or no longer
 * matching a key: *out anonymous). Never logs the token. */
int tam_token_check(const char *dir, const char *token, size_t len, tam_principal_t *out);

#ifdef __cplusplus
}
#endif
#endif

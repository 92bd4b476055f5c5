/* tam/keys.h — key files: one CURVE key per identity (a person, a service),
 * in the ZeroMQ certificate format CZMQ's zcert reads and writes (ZPL text):
 *
 *   metadata
 *       name = "manager"
 *       roles = "manager"
 *       respondent = "KEN"          (respondent keys only)
 *   curve
 *       public-key = "<40 Z85 characters>"
 *       secret-key = "<40 Z85 characters>"   (NAME.key_secret only)
 *
 * NAME.key holds the public part and goes into the trust store ([security]
 * keys_dir); NAME.key_secret holds both and is created 0600. A program
 * refuses a secret file that group or others may read.
 */
#ifndef TAM_KEYS_H
#define TAM_KEYS_H
#include <stdint.h>
#include "tam/principal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_KEY_Z85_LEN 40 /* a 32-byte key in Z85 */
#define TAM_KEY_PUBLIC_EXT ".key"
#define TAM_KEY_SECRET_EXT ".key_secret"

typedef struct {
    char name[TAM_PRINCIPAL_ID_MAX + 1];                /* [A-Za-z0-9._-], 1..63 */
    uint32_t roles;                                     /* TAM_ROLE_* */
    char respondent[TAM_PRINCIPAL_RESPONDENT_MAX + 1];  /* respondent keys: the id, else "" */
    char public_key[TAM_KEY_Z85_LEN + 1];               /* Z85 */
    char secret_key[TAM_KEY_Z85_LEN + 1];               /* Z85; "" when read from NAME.key */
} tam_keyfile_t;

/* True if name is a valid key name: 1..63 of [A-Za-z0-9._-], not starting with '.'. */
bool tam_key_name_valid(const char *name);

/* A new key pair (zmq_curve_keypair) for name with roles; respondent is
 * required with TAM_ROLE_RESPONDENT and refused without it.
 * Returns 0; TAM_EINVAL (bad name, roles or respondent); TAM_EIO (no key
 * pair: libzmq built without CURVE). */
int tam_key_generate(tam_keyfile_t *k, const char *name, uint32_t roles, const char *respondent);

/* Writes dir/NAME.key (0644) and dir/NAME.key_secret (0600, created
 * exclusively: an existing secret is never overwritten). dir is created
 * (0700) if missing. Returns 0; TAM_EEXISTS (a key of that name exists);
 * TAM_EINVAL; TAM_EIO (errmsg says which file). */
int tam_key_write(const char *dir, const tam_keyfile_t *k, char *errmsg, size_t errlen);

/* Reads one key file. secret: require and read secret-key, and refuse a
 * file that group or others may read (or that is not a regular file).
 * Returns 0; TAM_ENOTFOUND (no such file); TAM_EDENIED (secret file readable
 * by others); TAM_EPROTO (not a valid key file: errmsg says what);
 * TAM_EIO. */
int tam_key_read(const char *path, bool secret, tam_keyfile_t *k, char *errmsg, size_t errlen);

/* Reads dir/NAME.key_secret (secret true) or dir/NAME.key. Returns as
 * tam_key_read. */
int tam_key_load(const char *dir, const char *name, bool secret, tam_keyfile_t *k, char *errmsg,
                 size_t errlen);

/* Reads every NAME.key of dir (files that fail are skipped and logged, and
 * so is a second file with the same public key). *out is malloc'd (free()),
 * sorted by name. Returns 0; TAM_ENOTFOUND (no such directory); TAM_EIO;
 * TAM_ENOMEM. */
int tam_key_list(const char *dir, tam_keyfile_t **out, size_t *n);

/* Removes dir/NAME.key from the trust store (and NAME.key_secret if there).
 * Returns 0; TAM_ENOTFOUND; TAM_EINVAL; TAM_EIO. */
int tam_key_remove(const char *dir, const char *name);

#ifdef __cplusplus
}
#endif
#endif

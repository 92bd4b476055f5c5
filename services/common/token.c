/* token.c — bearer tokens of the HTTP gateway (see tam/token.h): issued
 * random, stored hashed, checked in constant time. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tam/error.h"
#include "tam/token.h"

#define S_HASH 32

static void s_hex(const unsigned char *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

static int s_path(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s%s", dir, name, TAM_TOKEN_EXT);
    return n < 0 || (size_t)n >= cap ? TAM_EINVAL : 0;
}

int tam_token_issue(const char *dir, const char *name, char out[TAM_TOKEN_MAX + 1], char *errmsg,
                    size_t errlen)
{
    if (!dir || !name || !out || !tam_key_name_valid(name))
        return TAM_EINVAL;
    if (sodium_init() < 0)
        return TAM_EIO;
    tam_keyfile_t k;
    char kerr[160];
    int rc = tam_key_load(dir, name, false, &k, kerr, sizeof kerr);
    if (rc)
        return rc == TAM_ENOTFOUND ? TAM_ENOTFOUND : TAM_EIO;
    unsigned char secret[TAM_TOKEN_SECRET_HEX / 2], hash[S_HASH];
    char hex[TAM_TOKEN_SECRET_HEX + 1], hhex[2 * S_HASH + 2];
    randombytes_buf(secret, sizeof secret);
    s_hex(secret, sizeof secret, hex);
    sodium_memzero(secret, sizeof secret);
    snprintf(out, TAM_TOKEN_MAX + 1, "%s~%s", name, hex);
    sodium_memzero(hex, sizeof hex);
    crypto_generichash(hash, sizeof hash, (const unsigned char *)out, strlen(out), NULL, 0);
    s_hex(hash, sizeof hash, hhex);
    strcat(hhex, "\n");
    char path[1024], tmp[1100];
    if (s_path(path, sizeof path, dir, name) ||
        snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return TAM_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, hhex, strlen(hhex)) != (ssize_t)strlen(hhex) || fsync(fd) != 0 ||
        close(fd) != 0 || rename(tmp, path) != 0) {
        if (errmsg)
            snprintf(errmsg, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        out[0] = 0;
        return TAM_EIO;
    }
    return 0;
}

int tam_token_revoke(const char *dir, const char *name)
{
    if (!dir || !name || !tam_key_name_valid(name))
        return TAM_EINVAL;
    char path[1024];
    if (s_path(path, sizeof path, dir, name))
        return TAM_EINVAL;
    if (unlink(path) != 0)
        return errno == ENOENT ? TAM_ENOTFOUND : TAM_EIO;
    return 0;
}

int tam_token_check(const char *dir, const char *token, size_t len, tam_principal_t *out)
{
    tam_principal_anonymous(out);
    if (!dir || !token || len > TAM_TOKEN_MAX || sodium_init() < 0)
        return TAM_EDENIED;
    const char *tilde = memchr(token, '~', len);
    if (!tilde || (size_t)(token + len - tilde - 1) != TAM_TOKEN_SECRET_HEX)
        return TAM_EDENIED;
    char name[TAM_PRINCIPAL_ID_MAX + 1];
    size_t nl = (size_t)(tilde - token);
    if (nl == 0 || nl >= sizeof name)
        return TAM_EDENIED;
    memcpy(name, token, nl);
    name[nl] = 0;
    if (!tam_key_name_valid(name))
        return TAM_EDENIED;
    char path[1024], stored[2 * S_HASH + 2] = {0};
    if (s_path(path, sizeof path, dir, name))
        return TAM_EDENIED;
    FILE *f = fopen(path, "re");
    if (!f)
        return TAM_EDENIED;
    size_t got = fread(stored, 1, 2 * S_HASH, f);
    fclose(f);
    if (got != 2 * S_HASH)
        return TAM_EDENIED;
    unsigned char hash[S_HASH];
    char hhex[2 * S_HASH + 1];
    crypto_generichash(hash, sizeof hash, (const unsigned char *)token, len, NULL, 0);
    s_hex(hash, sizeof hash, hhex);
    if (sodium_memcmp(hhex, stored, 2 * S_HASH) != 0)
        return TAM_EDENIED;
    tam_keyfile_t k;
    char kerr[160];
    if (tam_key_load(dir, name, false, &k, kerr, sizeof kerr) != 0)
        return TAM_EDENIED; /* the key was revoked: so is its token */
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", k.name);
    snprintf(out->respondent, sizeof out->respondent, "%s", k.respondent);
    out->roles = k.roles;
    return 0;
}

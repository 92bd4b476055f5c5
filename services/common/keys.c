/* keys.c — key files in CZMQ's zcert format (see tam/keys.h). A small ZPL
 * reader for the two sections a certificate has; we write the same layout
 * zcert_save does, so CZMQ tools read our files and we read theirs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/keys.h"
#include "tam/log.h"

#define S_FILE_MAX 4096 /* a certificate is a few hundred bytes */

static void s_err(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void s_err(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

bool tam_key_name_valid(const char *name)
{
    size_t n = name ? strnlen(name, TAM_PRINCIPAL_ID_MAX + 1) : 0;
    if (n == 0 || n > TAM_PRINCIPAL_ID_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool s_respondent_valid(const char *r)
{
    size_t n = strnlen(r, TAM_PRINCIPAL_RESPONDENT_MAX + 1);
    if (n == 0 || n > TAM_PRINCIPAL_RESPONDENT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (r[i] < 0x21 || r[i] > 0x7e || r[i] == '"')
            return false;
    return true;
}

static bool s_z85_key_valid(const char *z)
{
    uint8_t bin[32];
    return strlen(z) == TAM_KEY_Z85_LEN && zmq_z85_decode(bin, z) != NULL;
}

int tam_key_generate(tam_keyfile_t *k, const char *name, uint32_t roles, const char *respondent)
{
    if (!k || !tam_key_name_valid(name) || !roles || (roles & ~(uint32_t)TAM_ROLE_ALL))
        return TAM_EINVAL;
    bool resp = roles & TAM_ROLE_RESPONDENT;
    if (resp != (respondent && respondent[0]) || (resp && !s_respondent_valid(respondent)))
        return TAM_EINVAL;
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", name);
    k->roles = roles;
    if (resp)
        snprintf(k->respondent, sizeof k->respondent, "%s", respondent);
    if (zmq_curve_keypair(k->public_key, k->secret_key) != 0)
        return TAM_EIO;
    return 0;
}

/* The text of a certificate, as zcert_save writes it (plus our metadata). */
static int s_format(char *buf, size_t cap, const tam_keyfile_t *k, bool secret)
{
    char roles[TAM_ROLE_NAMES_MAX], when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    int n = snprintf(
        buf, cap,
        "#   ****  Generated on %s by tamctl keys  ****\n"
        "#   ZeroMQ CURVE %s Certificate\n"
        "#   %s\n\n"
        "metadata\n    name = \"%s\"\n    roles = \"%s\"\n%s%s%s"
        "curve\n    public-key = \"%s\"\n%s%s%s",
        when, secret ? "**Secret**" : "Public",
        secret ? "DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."
               : "Exchange securely, or use a secure mechanism to verify the contents of this file.",
        k->name, tam_roles_format(k->roles, roles), k->respondent[0] ? "    respondent = \"" : "",
        k->respondent, k->respondent[0] ? "\"\n" : "", k->public_key,
        secret ? "    secret-key = \"" : "", secret ? k->secret_key : "", secret ? "\"\n" : "");
    return n > 0 && (size_t)n < cap ? n : -1;
}

static int s_write_file(const char *path, const char *text, mode_t mode, char *errmsg, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        s_err(errmsg, errlen, "%s: %s", path, strerror(errno));
        return errno == EEXIST ? TAM_EEXISTS : TAM_EIO;
    }
    size_t len = strlen(text);
    /* fchmod: the mode whatever the umask. */
    int ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        s_err(errmsg, errlen, "%s: %s", path, strerror(e));
        unlink(path);
        return TAM_EIO;
    }
    return 0;
}

int tam_key_write(const char *dir, const tam_keyfile_t *k, char *errmsg, size_t errlen)
{
    char pub[1024], sec[1024], text[S_FILE_MAX];
    if (!dir || !k || !tam_key_name_valid(k->name) || !s_z85_key_valid(k->public_key) ||
        !s_z85_key_valid(k->secret_key)) {
        s_err(errmsg, errlen, "invalid key");
        return TAM_EINVAL;
    }
    if (tam_cli_mkdirs(dir)) {
        s_err(errmsg, errlen, "%s: cannot create the directory", dir);
        return TAM_EIO;
    }
    snprintf(pub, sizeof pub, "%s/%s" TAM_KEY_PUBLIC_EXT, dir, k->name);
    snprintf(sec, sizeof sec, "%s/%s" TAM_KEY_SECRET_EXT, dir, k->name);
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0) {
        s_err(errmsg, errlen, "a key named '%s' exists in %s", k->name, dir);
        return TAM_EEXISTS;
    }
    int rc;
    if (s_format(text, sizeof text, k, true) < 0)
        return TAM_EINVAL;
    if ((rc = s_write_file(sec, text, 0600, errmsg, errlen)))
        return rc;
    if (s_format(text, sizeof text, k, false) < 0 ||
        (rc = s_write_file(pub, text, 0644, errmsg, errlen))) {
        unlink(sec);
        return rc ? rc : TAM_EINVAL;
    }
    return 0;
}

/* Value of a ZPL "name = value" line: quoted ("..." or '...') or bare up to
 * a comment. Returns false if malformed. */
static bool s_value(char *v, char **out)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v == '"' || *v == '\'') {
        char q = *v++, *end = strchr(v, q);
        if (!end)
            return false;
        *end = 0;
    } else {
        v[strcspn(v, "#")] = 0;
        size_t n = strlen(v);
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            v[--n] = 0;
    }
    *out = v;
    return true;
}

static int s_parse(char *text, bool secret, tam_keyfile_t *k, char *errmsg, size_t errlen)
{
    enum { NONE, META, CURVE } sect = NONE;
    char *save = NULL;
    int line = 0;
    memset(k, 0, sizeof *k);
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        l[strcspn(l, "\r")] = 0;
        size_t ind = strspn(l, " ");
        if (l[ind] == 0 || l[ind] == '#')
            continue;
        if (ind == 0) {
            sect = strcmp(l, "metadata") == 0 ? META : strcmp(l, "curve") == 0 ? CURVE : NONE;
            continue;
        }
        char *eq = strchr(l + ind, '='), *val;
        if (!eq || !s_value(eq + 1, &val)) {
            s_err(errmsg, errlen, "line %d: expected name = \"value\"", line);
            return TAM_EPROTO;
        }
        char *key = l + ind;
        size_t kn = (size_t)(eq - key);
        while (kn && key[kn - 1] == ' ')
            kn--;
        key[kn] = 0;
        if (sect == META && strcmp(key, "name") == 0)
            snprintf(k->name, sizeof k->name, "%s", val);
        else if (sect == META && strcmp(key, "roles") == 0) {
            if (tam_roles_parse(val, &k->roles)) {
                s_err(errmsg, errlen, "metadata roles: unknown role in '%s'", val);
                return TAM_EPROTO;
            }
        } else if (sect == META && strcmp(key, "respondent") == 0) {
            if (!s_respondent_valid(val)) {
                s_err(errmsg, errlen, "metadata respondent: invalid id");
                return TAM_EPROTO;
            }
            snprintf(k->respondent, sizeof k->respondent, "%s", val);
        } else if (sect == CURVE && strcmp(key, "public-key") == 0)
            snprintf(k->public_key, sizeof k->public_key, "%s", val);
        else if (sect == CURVE && strcmp(key, "secret-key") == 0)
            snprintf(k->secret_key, sizeof k->secret_key, "%s", val);
    }
    if (!tam_key_name_valid(k->name)) {
        s_err(errmsg, errlen, "metadata name: missing or invalid");
        return TAM_EPROTO;
    }
    if (!s_z85_key_valid(k->public_key)) {
        s_err(errmsg, errlen, "curve public-key: missing or not 40 Z85 characters");
        return TAM_EPROTO;
    }
    if (secret && !s_z85_key_valid(k->secret_key)) {
        s_err(errmsg, errlen, "curve secret-key: missing or not 40 Z85 characters");
        return TAM_EPROTO;
    }
    if (!secret)
        memset(k->secret_key, 0, sizeof k->secret_key);
    if (!k->roles) {
        s_err(errmsg, errlen, "metadata roles: missing");
        return TAM_EPROTO;
    }
    if ((k->roles & TAM_ROLE_RESPONDENT) != 0 && !k->respondent[0]) {
        s_err(errmsg, errlen, "metadata respondent: required with the role respondent");
        return TAM_EPROTO;
    }
    return 0;
}

int tam_key_read(const char *path, bool secret, tam_keyfile_t *k, char *errmsg, size_t errlen)
{
    char text[S_FILE_MAX + 1];
    if (!path || !k)
        return TAM_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        s_err(errmsg, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? TAM_ENOTFOUND : TAM_EIO;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        s_err(errmsg, errlen, "%s: not a regular file", path);
        rc = TAM_EPROTO;
    } else if (secret && (st.st_mode & 077)) {
        s_err(errmsg, errlen, "%s: readable by group or others (mode %03o): refused; chmod 600 it",
              path, (unsigned)(st.st_mode & 0777));
        rc = TAM_EDENIED;
    } else if (st.st_size > S_FILE_MAX) {
        s_err(errmsg, errlen, "%s: too large for a key file", path);
        rc = TAM_EPROTO;
    }
    ssize_t n = rc ? 0 : read(fd, text, S_FILE_MAX);
    close(fd);
    if (rc)
        return rc;
    if (n < 0) {
        s_err(errmsg, errlen, "%s: %s", path, strerror(errno));
        return TAM_EIO;
    }
    text[n] = 0;
    if (memchr(text, 0, (size_t)n)) {
        s_err(errmsg, errlen, "%s: not a text file", path);
        return TAM_EPROTO;
    }
    char why[200] = "";
    if ((rc = s_parse(text, secret, k, why, sizeof why)))
        s_err(errmsg, errlen, "%s: %s", path, why);
    return rc;
}

int tam_key_load(const char *dir, const char *name, bool secret, tam_keyfile_t *k, char *errmsg,
                 size_t errlen)
{
    char path[1024];
    if (!dir || !tam_key_name_valid(name)) {
        s_err(errmsg, errlen, "invalid key name");
        return TAM_EINVAL;
    }
    snprintf(path, sizeof path, "%s/%s%s", dir, name, secret ? TAM_KEY_SECRET_EXT : TAM_KEY_PUBLIC_EXT);
    return tam_key_read(path, secret, k, errmsg, errlen);
}

static int s_key_cmp(const void *a, const void *b)
{
    return strcmp(((const tam_keyfile_t *)a)->name, ((const tam_keyfile_t *)b)->name);
}

int tam_key_list(const char *dir, tam_keyfile_t **out, size_t *nout)
{
    if (!dir || !out || !nout)
        return TAM_EINVAL;
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? TAM_ENOTFOUND : TAM_EIO;
    tam_keyfile_t *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), x = sizeof TAM_KEY_PUBLIC_EXT - 1;
        if (l <= x || strcmp(e->d_name + l - x, TAM_KEY_PUBLIC_EXT) != 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            tam_keyfile_t *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                return TAM_ENOMEM;
            }
            v = nv;
            cap = nc;
        }
        char path[1024], why[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (tam_key_read(path, false, &v[n], why, sizeof why)) {
            tam_warn("keys: %s skipped", why);
            continue;
        }
        if (strlen(v[n].name) != l - x || strncmp(v[n].name, e->d_name, l - x) != 0) {
            tam_warn("keys: %s skipped: its name is '%s'", path, v[n].name);
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(v[i].public_key, v[n].public_key) == 0;
        if (dup) {
            tam_warn("keys: %s skipped: same public key as another file", path);
            continue;
        }
        n++;
    }
    closedir(d);
    qsort(v, n, sizeof *v, s_key_cmp);
    *out = v;
    *nout = n;
    return 0;
}

int tam_key_remove(const char *dir, const char *name)
{
    char path[1024];
    if (!dir || !tam_key_name_valid(name))
        return TAM_EINVAL;
    snprintf(path, sizeof path, "%s/%s" TAM_KEY_PUBLIC_EXT, dir, name);
    if (unlink(path) != 0)
        return errno == ENOENT ? TAM_ENOTFOUND : TAM_EIO;
    snprintf(path, sizeof path, "%s/%s" TAM_KEY_SECRET_EXT, dir, name);
    if (unlink(path) != 0 && errno != ENOENT)
        return TAM_EIO;
    return 0;
}

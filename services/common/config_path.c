/* config_path.c — where the relative paths of a configuration point (see
 * tam_config_resolve_dirs and tam_config_resolve_endpoints in tam/config.h):
 * the same config file works from any working directory. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tam/config.h"
#include "tam/error.h"

/* Longest path of a unix socket (sizeof sun_path - 1). */
#define S_SUN_PATH_MAX 107

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* out = base/rel (rel as is when absolute), with "." and ".." parts and
 * doubled slashes removed lexically. Returns 0; TAM_ETRUNC. */
static int s_join(const char *base, const char *rel, char *out, size_t cap)
{
    char tmp[2 * TAM_CFG_STR_MAX + 2];
    int n = rel[0] == '/' ? snprintf(tmp, sizeof tmp, "%s", rel)
                          : snprintf(tmp, sizeof tmp, "%s/%s", base, rel);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return TAM_ETRUNC;
    /* parts[] point into tmp */
    char *parts[TAM_CFG_STR_MAX];
    size_t np = 0;
    for (char *save = NULL, *p = strtok_r(tmp, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (strcmp(p, ".") == 0)
            continue;
        if (strcmp(p, "..") == 0) {
            if (np)
                np--;
            continue;
        }
        parts[np++] = p;
    }
    size_t o = 0;
    if (np == 0) {
        if (cap < 2)
            return TAM_ETRUNC;
        strcpy(out, "/");
        return 0;
    }
    for (size_t i = 0; i < np; i++) {
        size_t l = strlen(parts[i]);
        if (o + 1 + l + 1 > cap)
            return TAM_ETRUNC;
        out[o++] = '/';
        memcpy(out + o, parts[i], l);
        o += l;
    }
    out[o] = 0;
    return 0;
}

int tam_config_base_dir(const char *config_path, char *out, size_t cap)
{
    char cwd[TAM_CFG_STR_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return TAM_EIO;
    char dir[TAM_CFG_STR_MAX];
    if (!config_path) {
        snprintf(dir, sizeof dir, "config");
    } else {
        const char *slash = strrchr(config_path, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == config_path)
            snprintf(dir, sizeof dir, "/");
        else if ((size_t)(slash - config_path) >= sizeof dir)
            return TAM_ETRUNC;
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - config_path), config_path);
    }
    return s_join(cwd, dir, out, cap);
}

/* Whether key k holds a path: a text key whose name ends in _dir, _file or
 * _path (run_dir, data_dir, catalog_dir, and any such key added later). */
static bool s_is_path(const tam_config_key_t *k)
{
    static const char *const ends[] = {"_dir", "_file", "_path"};
    if (k->type != TAM_CFG_STR)
        return false;
    size_t n = strlen(k->name);
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t e = strlen(ends[i]);
        if (n > e && strcmp(k->name + n - e, ends[i]) == 0)
            return true;
    }
    return false;
}

int tam_config_resolve_dirs(tam_config_t *c, const char *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < tam_config_nkeys(); i++) {
        const tam_config_key_t *k = tam_config_key_at(i);
        if (!s_is_path(k))
            continue;
        char *v = (char *)c + k->offset;
        char out[TAM_CFG_STR_MAX];
        if (!v[0])
            continue; /* an empty optional path stays empty */
        if (s_join(base, v, out, sizeof out)) {
            s_err(err, errlen, "[%s] %s: too long once made absolute below %s", k->section,
                  k->name, base);
            return TAM_ECONFIG;
        }
        memcpy(v, out, strlen(out) + 1);
    }
    return 0;
}

int tam_config_resolve_endpoints(tam_config_t *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < tam_config_nkeys(); i++) {
        const tam_config_key_t *k = tam_config_key_at(i);
        if (k->type != TAM_CFG_EP)
            continue;
        char *v = (char *)c + k->offset;
        if (strncmp(v, "ipc://", 6) != 0)
            continue;
        const char *path = v + 6;
        char out[TAM_CFG_STR_MAX];
        if (path[0] == '@') /* abstract namespace: not a file */
            continue;
        if (s_join(c->common.run_dir, path, out, sizeof out)) {
            s_err(err, errlen, "[%s] %s: too long once made absolute below [common] run_dir",
                  k->section, k->name);
            return TAM_ECONFIG;
        }
        if (strlen(out) > S_SUN_PATH_MAX) {
            s_err(err, errlen, "[%s] %s: %s is %zu bytes, longer than a unix socket path may be "
                  "(%d)", k->section, k->name, out, strlen(out), S_SUN_PATH_MAX);
            return TAM_ECONFIG;
        }
        size_t ol = strlen(out); /* at most S_SUN_PATH_MAX: fits with the scheme */
        memcpy(v, "ipc://", 6);
        memcpy(v + 6, out, ol + 1);
    }
    return 0;
}

int tam_config_load_resolved(tam_config_t *c, const char *path, const char *const *sets,
                             int nsets, char *err, size_t errlen)
{
    char base[TAM_CFG_STR_MAX], cwd[TAM_CFG_STR_MAX];
    int rc = tam_config_load(c, path, err, errlen);
    if (rc)
        return rc;
    if (tam_config_base_dir(path, base, sizeof base) || !getcwd(cwd, sizeof cwd)) {
        s_err(err, errlen, "cannot tell the directory of %s", path ? path : "./config");
        return TAM_ECONFIG;
    }
    if ((rc = tam_config_resolve_dirs(c, base, err, errlen)))
        return rc;
    for (int i = 0; i < nsets; i++) {
        char e2[400];
        if ((rc = tam_config_override(c, sets[i], e2, sizeof e2))) {
            if (err && errlen)
                snprintf(err, errlen, "-o %s: %s", sets[i], e2);
            return rc;
        }
    }
    /* directories given with -o are relative to the working directory */
    if ((rc = tam_config_resolve_dirs(c, cwd, err, errlen)))
        return rc;
    return tam_config_resolve_endpoints(c, err, errlen);
}

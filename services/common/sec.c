/* sec.c — the security of a process (see tam/sec.h): setup from the config,
 * the trust store and its tokens, the sockets' CURVE options. The ZAP
 * handler thread is in sec_zap.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sec_int.h"
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft in 4.3 headers, built into Debian's libzmq */
#endif

/* ---- contexts and their security ------------------------------------------- */

#define S_ATTACH_MAX 16
static pthread_mutex_t s_attach_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *zctx;
    tam_sec_t *sec;
} s_attached[S_ATTACH_MAX];

tam_sec_t *tam_sec_of(void *zctx)
{
    tam_sec_t *s = NULL;
    pthread_mutex_lock(&s_attach_mu);
    for (int i = 0; i < S_ATTACH_MAX && !s; i++)
        if (s_attached[i].zctx == zctx && zctx)
            s = s_attached[i].sec;
    pthread_mutex_unlock(&s_attach_mu);
    return s;
}

static int s_attach(void *zctx, tam_sec_t *sec)
{
    int rc = TAM_ENOMEM;
    pthread_mutex_lock(&s_attach_mu);
    for (int i = 0; i < S_ATTACH_MAX; i++)
        if (s_attached[i].zctx == zctx) {
            rc = TAM_ESTATE;
            goto done;
        }
    for (int i = 0; i < S_ATTACH_MAX; i++)
        if (!s_attached[i].zctx) {
            s_attached[i].zctx = zctx;
            s_attached[i].sec = sec;
            rc = 0;
            break;
        }
done:
    pthread_mutex_unlock(&s_attach_mu);
    return rc;
}

static void s_detach(tam_sec_t *sec)
{
    pthread_mutex_lock(&s_attach_mu);
    for (int i = 0; i < S_ATTACH_MAX; i++)
        if (s_attached[i].sec == sec)
            s_attached[i].zctx = NULL, s_attached[i].sec = NULL;
    pthread_mutex_unlock(&s_attach_mu);
}

/* ---- the trust store ------------------------------------------------------------ */

static int s_token(char out[S_TOKEN_LEN + 1])
{
    uint8_t r[S_TOKEN_LEN / 2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return TAM_EIO;
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

bool tam__sec_dir_changed(tam_sec_t *s)
{
    struct stat st;
    if (stat(s->keys_dir, &st) != 0)
        return false;
    return st.st_mtim.tv_sec != s->dir_mtime.tv_sec || st.st_mtim.tv_nsec != s->dir_mtime.tv_nsec;
}

int tam_sec_reload(tam_sec_t *s)
{
    if (!s || s->mode != TAM_SEC_CURVE)
        return 0;
    struct stat st;
    struct timespec mtime = {0, 0};
    if (stat(s->keys_dir, &st) == 0)
        mtime = st.st_mtim;
    tam_keyfile_t *keys = NULL;
    size_t n = 0;
    int rc = tam_key_list(s->keys_dir, &keys, &n);
    if (rc) {
        tam_error("keys: cannot read the trust store %s: %s (kept the old one)", s->keys_dir,
                  tam_strerror(rc));
        return TAM_EIO;
    }
    tam__sec_entry_t *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        free(keys);
        return TAM_ENOMEM;
    }
    pthread_mutex_lock(&s->mu);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].key = keys[i];
        zmq_z85_decode(v[i].pub, keys[i].public_key);
        for (size_t j = 0; j < s->nstore; j++)
            if (memcmp(s->store[j].pub, v[i].pub, 32) == 0 &&
                strcmp(s->store[j].key.name, keys[i].name) == 0) {
                memcpy(v[i].token, s->store[j].token, sizeof v[i].token);
                kept++;
            }
        if (!v[i].token[0] && s_token(v[i].token) != 0) {
            pthread_mutex_unlock(&s->mu);
            free(v);
            free(keys);
            return TAM_EIO;
        }
    }
    bool removed = kept < s->nstore;
    if (removed)
        s->revocations++;
    free(s->store);
    s->store = v;
    s->nstore = n;
    s->dir_mtime = mtime;
    pthread_mutex_unlock(&s->mu);
    free(keys);
    tam_info("keys: trust store %s: %zu keys%s", s->keys_dir, n,
             removed ? " (some removed: their connections are refused from now on)" : "");
    return 0;
}

bool tam__sec_find_pub(tam_sec_t *s, const uint8_t pub[32], tam__sec_entry_t *e)
{
    bool found = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nstore && !found; i++)
        if (memcmp(s->store[i].pub, pub, 32) == 0) {
            *e = s->store[i];
            found = true;
        }
    pthread_mutex_unlock(&s->mu);
    return found;
}

int tam_sec_lookup_token(tam_sec_t *s, const char *user_id, tam_principal_t *out)
{
    tam_principal_anonymous(out);
    if (!s || !user_id || strlen(user_id) != S_TOKEN_LEN)
        return TAM_EDENIED;
    int rc = TAM_EDENIED;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nstore; i++)
        if (memcmp(s->store[i].token, user_id, S_TOKEN_LEN) == 0) {
            const tam_keyfile_t *k = &s->store[i].key;
            memset(out, 0, sizeof *out);
            snprintf(out->id, sizeof out->id, "%s", k->name);
            snprintf(out->respondent, sizeof out->respondent, "%s", k->respondent);
            out->roles = k->roles;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int tam_sec_lookup_name(tam_sec_t *s, const char *name, tam_principal_t *out)
{
    tam_principal_anonymous(out);
    if (!s || !name || !name[0])
        return TAM_EDENIED;
    int rc = TAM_EDENIED;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nstore; i++)
        if (strcmp(s->store[i].key.name, name) == 0) {
            const tam_keyfile_t *k = &s->store[i].key;
            memset(out, 0, sizeof *out);
            snprintf(out->id, sizeof out->id, "%s", k->name);
            snprintf(out->respondent, sizeof out->respondent, "%s", k->respondent);
            out->roles = k->roles;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

uint64_t tam_sec_revocations(const tam_sec_t *s)
{
    if (!s)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    uint64_t r = s->revocations;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return r;
}

/* ---- setup ------------------------------------------------------------------------ */

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

int tam_sec_map_endpoint(tam_sec_t *s, const char *endpoint, const char *name)
{
    if (!s || !endpoint || !tam_key_name_valid(name) || strlen(endpoint) >= TAM_CFG_STR_MAX)
        return TAM_EINVAL;
    pthread_mutex_lock(&s->mu);
    if (s->neps == s->cap_eps) {
        size_t nc = s->cap_eps ? s->cap_eps * 2 : 16;
        tam__sec_ep_t *nv = realloc(s->eps, nc * sizeof *nv);
        if (!nv) {
            pthread_mutex_unlock(&s->mu);
            return TAM_ENOMEM;
        }
        s->eps = nv;
        s->cap_eps = nc;
    }
    snprintf(s->eps[s->neps].endpoint, TAM_CFG_STR_MAX, "%s", endpoint);
    snprintf(s->eps[s->neps].name, sizeof s->eps[0].name, "%s", name);
    s->neps++;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Every EP key of a section with an "identity" key is served with that key. */
static int s_map_config(tam_sec_t *s, const tam_config_t *cfg)
{
    char ep[TAM_CFG_STR_MAX], name[TAM_CFG_STR_MAX];
    for (size_t i = 0; i < tam_config_nkeys(); i++) {
        const tam_config_key_t *k = tam_config_key_at(i);
        if (k->type != TAM_CFG_EP || !tam_config_key(k->section, "identity"))
            continue;
        if (tam_config_get(cfg, k->section, k->name, ep, sizeof ep) ||
            tam_config_get(cfg, k->section, "identity", name, sizeof name))
            return TAM_EINVAL;
        int rc = tam_sec_map_endpoint(s, ep, name);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_check_local(const tam_config_t *cfg, char *err, size_t errlen)
{
    char ep[TAM_CFG_STR_MAX];
    for (size_t i = 0; i < tam_config_nkeys(); i++) {
        const tam_config_key_t *k = tam_config_key_at(i);
        if (k->type != TAM_CFG_EP || tam_config_get(cfg, k->section, k->name, ep, sizeof ep))
            continue;
        if (strncmp(ep, "ipc://", 6) != 0 && strncmp(ep, "inproc://", 9) != 0) {
            s_err(err, errlen,
                  "[security] mode = local is allowed with ipc:// endpoints only, and [%s] %s is "
                  "%s: use mode = curve",
                  k->section, k->name, ep);
            return TAM_ECONFIG;
        }
    }
    return 0;
}

/* The run directory: owner-only, whatever the umask, if it is ours. */
static void s_private_run_dir(const tam_config_t *cfg)
{
    struct stat st;
    if (tam_cli_mkdirs(cfg->common.run_dir) == 0 && stat(cfg->common.run_dir, &st) == 0 &&
        st.st_uid == geteuid() && (st.st_mode & 077) && chmod(cfg->common.run_dir, 0700) != 0)
        tam_warn("cannot make %s owner-only: %s", cfg->common.run_dir, strerror(errno));
}

int tam_sec_new(tam_sec_t **out, const tam_config_t *cfg, void *zctx, const char *identity,
                char *err, size_t errlen)
{
    if (!out || !cfg || !zctx)
        return TAM_EINVAL;
    *out = NULL;
    tam_sec_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->start_mu, NULL);
    pthread_cond_init(&s->start_cv, NULL);
    s->zctx = zctx;
    snprintf(s->keys_dir, sizeof s->keys_dir, "%s", cfg->security.keys_dir);
    int rc;
    if (strcmp(cfg->security.mode, "local") == 0) {
        s->mode = TAM_SEC_LOCAL;
        if ((rc = s_check_local(cfg, err, errlen)))
            goto fail;
    } else if (strcmp(cfg->security.mode, "curve") == 0) {
        s->mode = TAM_SEC_CURVE;
        char why[600];
        if (!identity || !tam_key_name_valid(identity)) {
            s_err(err, errlen, "[security] identity: invalid key name '%s'", identity ? identity : "");
            rc = TAM_ECONFIG;
            goto fail;
        }
        if ((rc = tam_key_load(s->keys_dir, identity, true, &s->self, why, sizeof why))) {
            s_err(err, errlen, "cannot use the key '%s': %s%s", identity, why,
                  rc == TAM_ENOTFOUND ? " (create it with `tamctl keys new`, or run scripts/demo)"
                                      : "");
            rc = TAM_ECONFIG;
            goto fail;
        }
        zmq_z85_decode(s->self_pub, s->self.public_key);
        zmq_z85_decode(s->self_sec, s->self.secret_key);
        if ((rc = s_map_config(s, cfg)))
            goto fail;
        if ((rc = tam_sec_reload(s))) {
            s_err(err, errlen, "[security] keys_dir %s: cannot read the trust store", s->keys_dir);
            rc = TAM_ECONFIG;
            goto fail;
        }
    } else {
        s_err(err, errlen, "[security] mode: '%s' is neither curve nor local", cfg->security.mode);
        rc = TAM_ECONFIG;
        goto fail;
    }
    s_private_run_dir(cfg);
    if ((rc = s_attach(zctx, s))) {
        s_err(err, errlen, "the ZeroMQ context already has a security");
        goto fail;
    }
    /* The ZAP handler starts with the first server socket (tamctl has none). */
    *out = s;
    return 0;
fail:
    tam_sec_destroy(&s);
    return rc;
}

void tam_sec_destroy(tam_sec_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_sec_t *s = *sp;
    tam__sec_zap_join(s);
    s_detach(s);
    explicit_bzero(&s->self, sizeof s->self);
    explicit_bzero(s->self_sec, sizeof s->self_sec);
    free(s->store);
    free(s->eps);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->start_mu);
    pthread_cond_destroy(&s->start_cv);
    free(s);
    *sp = NULL;
}

void tam_sec_zap_stop(tam_sec_t *s)
{
    if (!s)
        return;
    s->zap_stopped = true;
    tam__sec_zap_join(s);
}

tam_sec_mode_t tam_sec_mode(const tam_sec_t *s)
{
    return s ? s->mode : TAM_SEC_LOCAL;
}

const char *tam_sec_identity(const tam_sec_t *s)
{
    return s && s->mode == TAM_SEC_CURVE ? s->self.name : "";
}

/* ---- sockets ------------------------------------------------------------------------ */

static bool s_secured(tam_sec_t *s, const char *endpoint)
{
    return s && s->mode == TAM_SEC_CURVE && endpoint && strncmp(endpoint, "inproc://", 9) != 0;
}

int tam_sec_server_socket(void *zctx, void *sock, const char *endpoint, const char *domain)
{
    tam_sec_t *s = tam_sec_of(zctx);
    if (!s_secured(s, endpoint))
        return 0;
    /* Bound before this socket can take a handshake. A handler stopped by the
     * test hook stays stopped: nothing gets in (ZMQ_ZAP_ENFORCE_DOMAIN). */
    pthread_mutex_lock(&s->mu);
    int zrc = !s->zap_running && !s->zap_stopped ? tam__sec_zap_start(s) : 0;
    pthread_mutex_unlock(&s->mu);
    if (zrc != 0) {
        tam_error("%s: cannot start the ZAP handler (%s)", endpoint, TAM_SEC_ZAP_ENDPOINT);
        return TAM_EIO;
    }
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, s->self_sec, 32) ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) ||
        zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one)) {
        tam_error("%s: cannot make a CURVE server: %s", endpoint, zmq_strerror(errno));
        return TAM_EIO;
    }
    return 0;
}

int tam_sec_client_socket(void *zctx, void *sock, const char *endpoint)
{
    tam_sec_t *s = tam_sec_of(zctx);
    if (!s_secured(s, endpoint))
        return 0;
    char name[TAM_PRINCIPAL_ID_MAX + 1] = "";
    pthread_mutex_lock(&s->mu);
    for (size_t i = s->neps; i-- > 0;)
        if (strcmp(s->eps[i].endpoint, endpoint) == 0) {
            memcpy(name, s->eps[i].name, sizeof name);
            break;
        }
    pthread_mutex_unlock(&s->mu);
    if (!name[0]) {
        tam_error("%s: no server key known for this endpoint (it is no endpoint of the config)",
                  endpoint);
        return TAM_ECONFIG;
    }
    /* The server's public key: from the trust store, else its key file. */
    tam_keyfile_t k;
    char why[600];
    int rc = tam_key_load(s->keys_dir, name, false, &k, why, sizeof why);
    if (rc) {
        tam_error("%s: no public key of the server '%s': %s", endpoint, name, why);
        return TAM_ECONFIG;
    }
    uint8_t server[32];
    zmq_z85_decode(server, k.public_key);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, 32) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, s->self_pub, 32) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, s->self_sec, 32)) {
        tam_error("%s: cannot make a CURVE client: %s", endpoint, zmq_strerror(errno));
        return TAM_EIO;
    }
    return 0;
}

int tam_sec_ipc_private(const char *endpoint)
{
    if (!endpoint || strncmp(endpoint, "ipc://", 6) != 0 || endpoint[6] == '@')
        return 0;
    if (chmod(endpoint + 6, 0600) != 0) {
        tam_error("cannot make %s owner-only: %s", endpoint + 6, strerror(errno));
        return TAM_EIO;
    }
    return 0;
}

int tam_sec_service(tam_sec_t **out, const tam_config_t *cfg, void *zctx, const char *identity)
{
    char err[1024];
    int rc = tam_sec_new(out, cfg, zctx, identity, err, sizeof err);
    if (rc) {
        tam_crit("cannot start: %s", err);
        return rc;
    }
    tam_sec_watch_sighup();
    if ((*out)->mode == TAM_SEC_CURVE)
        tam_info("security: curve, key %s, trust store %s", identity, cfg->security.keys_dir);
    else
        tam_warn("security: local mode: every request is trusted as 'local' (ipc:// only)");
    return 0;
}

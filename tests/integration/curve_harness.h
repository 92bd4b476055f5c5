/* curve_harness.h — every integration test runs in curve mode, as a real
 * deployment does (docs/security.md). One call after the test has written its
 * config and made its ZeroMQ context:
 *
 *     curve_setup(dir, cfg_path, zctx)   makes every key in DIR/keys (the
 *         services ingest, registry, match, pipeline; the people admin,
 *         manager, donor_liaison, planner, viewer, respondent-KEN,
 *         respondent-UGA; tam-gateway's key gateway), appends "[security] mode = curve, keys_dir =
 *         DIR/keys" to the config, and attaches admin's key to zctx, so that
 *         the test's own clients (tam_rpc_client_new, tam_feed_client_new on
 *         zctx) talk CURVE as admin. tamctl with that config uses admin too
 *         (its default identity); `--as NAME` acts as another key.
 *     curve_end(zctx)                    before zmq_ctx_term.
 *     curve_context(cfg_path, identity)  another context, as another key.
 * Header-only; include after <zmq.h>. */
#ifndef TAM_CURVE_HARNESS_H
#define TAM_CURVE_HARNESS_H
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "tam/config.h"
#include "tam/keys.h"
#include "tam/sec.h"

#define CH_FN static __attribute__((unused))

/* The keys every test deployment has: name, roles, respondent. */
static const struct {
    const char *name;
    uint32_t roles;
    const char *respondent;
} ch_keys[] = {
    {"ingest", TAM_ROLE_SERVICE, NULL},
    {"registry", TAM_ROLE_SERVICE, NULL},
    {"match", TAM_ROLE_SERVICE, NULL},
    {"pipeline", TAM_ROLE_SERVICE, NULL},
    {"admin", TAM_ROLE_ADMIN, NULL},
    {"manager", TAM_ROLE_MANAGER, NULL},
    {"donor_liaison", TAM_ROLE_DONOR_LIAISON, NULL},
    {"planner", TAM_ROLE_PLANNER, NULL},
    {"viewer", TAM_ROLE_VIEWER, NULL},
    {"respondent-KEN", TAM_ROLE_RESPONDENT, "KEN"},
    {"respondent-UGA", TAM_ROLE_RESPONDENT, "UGA"},
    {"gateway", TAM_ROLE_GATEWAY, NULL},
};

/* Makes one key in keys_dir. Returns 0 or a TAM_E* code (printed). */
CH_FN int curve_key(const char *keys_dir, const char *name, uint32_t roles, const char *respondent)
{
    tam_keyfile_t k;
    char err[600];
    int rc = tam_key_generate(&k, name, roles, respondent);
    if (rc == 0)
        rc = tam_key_write(keys_dir, &k, err, sizeof err);
    if (rc)
        fprintf(stderr, "curve_harness: key %s: %s\n", name, rc == TAM_EINVAL ? "invalid" : err);
    return rc;
}

/* Loads cfg_path and attaches the security of identity to zctx. */
CH_FN int curve_attach(void *zctx, const char *cfg_path, const char *identity)
{
    static tam_config_t cfg; /* large */
    char err[1024];
    tam_sec_t *sec = NULL;
    int rc = tam_config_load(&cfg, cfg_path, err, sizeof err);
    if (rc == 0)
        rc = tam_sec_new(&sec, &cfg, zctx, identity, err, sizeof err);
    if (rc)
        fprintf(stderr, "curve_harness: %s\n", err);
    return rc;
}

/* See above. Returns 0, or -1 (printed). */
CH_FN int curve_setup(const char *dir, const char *cfg_path, void *zctx)
{
    char keys[512];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    for (size_t i = 0; i < sizeof ch_keys / sizeof ch_keys[0]; i++)
        if (curve_key(keys, ch_keys[i].name, ch_keys[i].roles, ch_keys[i].respondent))
            return -1;
    FILE *f = fopen(cfg_path, "a");
    if (!f)
        return -1;
    fprintf(f, "[security]\nmode = curve\nkeys_dir = %s\n", keys);
    if (fclose(f) != 0)
        return -1;
    return zctx && curve_attach(zctx, cfg_path, "admin") ? -1 : 0;
}

/* A new context acting as identity (destroy with curve_context_end). */
CH_FN void *curve_context(const char *cfg_path, const char *identity)
{
    void *z = zmq_ctx_new();
    if (z && curve_attach(z, cfg_path, identity)) {
        zmq_ctx_term(z);
        z = NULL;
    }
    return z;
}

/* Detaches and frees zctx's security (before zmq_ctx_term). */
CH_FN void curve_end(void *zctx)
{
    tam_sec_t *s = tam_sec_of(zctx);
    tam_sec_destroy(&s);
}

CH_FN void curve_context_end(void *zctx)
{
    if (!zctx)
        return;
    curve_end(zctx);
    zmq_ctx_term(zctx);
}
#endif

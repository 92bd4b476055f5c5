/* keys.c — `tamctl keys new|list|revoke`: the trust store ([security]
 * keys_dir) and the key files of people and services (tam/keys.h). These
 * commands work on files only and need no key themselves. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/keys.h"
#include "tam/token.h"
#include "tamctl.h"

static int s_new(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
                                         {"respondent", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *roles_text = NULL, *respondent = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "r:p:", opts, NULL)) != -1) {
        if (c == 'r')
            roles_text = optarg;
        else if (c == 'p')
            respondent = optarg;
        else
            return EX_USAGE;
    }
    if (optind != argc - 1 || !roles_text) {
        fprintf(stderr, "usage: tamctl keys new NAME --role ROLE[,ROLE] [--respondent ID]\n");
        return EX_USAGE;
    }
    const char *name = argv[optind];
    uint32_t roles;
    if (tam_roles_parse(roles_text, &roles)) {
        fprintf(stderr, "tamctl: --role: '%s' is not a list of roles (respondent, manager, "
                        "donor_liaison, planner, viewer, service, admin, gateway)\n", roles_text);
        return EX_USAGE;
    }
    if (!tam_key_name_valid(name)) {
        fprintf(stderr, "tamctl: NAME: '%s' must be 1 to 63 of A-Z a-z 0-9 . _ -\n", name);
        return EX_USAGE;
    }
    if (((roles & TAM_ROLE_RESPONDENT) != 0) != (respondent != NULL)) {
        fprintf(stderr, "tamctl: --respondent ID is required with the role respondent, and "
                        "only with it\n");
        return EX_USAGE;
    }
    tam_keyfile_t k;
    char err[1200];
    int rc = tam_key_generate(&k, name, roles, respondent);
    if (rc) {
        fprintf(stderr, "tamctl: cannot make a key pair: %s\n", tam_strerror(rc));
        return rc == TAM_EINVAL ? EX_USAGE : EX_SOFTWARE;
    }
    rc = tam_key_write(t->cfg.security.keys_dir, &k, err, sizeof err);
    explicit_bzero(k.secret_key, sizeof k.secret_key);
    if (rc) {
        fprintf(stderr, "tamctl: %s\n", err);
        return rc == TAM_EEXISTS ? EX_CANTCREAT : EX_IOERR;
    }
    if (!t->quiet)
        printf("%s/%s.key\n%s/%s.key_secret (secret: give it to %s only)\n",
               t->cfg.security.keys_dir, name, t->cfg.security.keys_dir, name, name);
    return EX_OK;
}

static int s_list(tamctl_t *t, int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: tamctl keys list\n");
        return EX_USAGE;
    }
    tam_keyfile_t *v = NULL;
    size_t n = 0;
    int rc = tam_key_list(t->cfg.security.keys_dir, &v, &n);
    if (rc) {
        fprintf(stderr, "tamctl: cannot read the trust store %s: %s\n", t->cfg.security.keys_dir,
                tam_strerror(rc));
        return rc == TAM_ENOTFOUND ? EX_NOINPUT : EX_IOERR;
    }
    const char *headers[] = {"name", "roles", "respondent", "public key", NULL};
    tamctl_table_t *tb = tamctl_table_new(headers);
    for (size_t i = 0; i < n; i++) {
        char roles[TAM_ROLE_NAMES_MAX];
        const char *row[] = {v[i].name, tam_roles_format(v[i].roles, roles),
                             v[i].respondent[0] ? v[i].respondent : "-", v[i].public_key};
        tamctl_table_row(tb, row);
    }
    tamctl_table_print(&tb, stdout, false, NULL);
    free(v);
    return EX_OK;
}

static int s_revoke(tamctl_t *t, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tamctl keys revoke NAME\n");
        return EX_USAGE;
    }
    int rc = tam_key_remove(t->cfg.security.keys_dir, argv[1]);
    if (rc) {
        fprintf(stderr, "tamctl: cannot revoke '%s': %s\n", argv[1],
                rc == TAM_ENOTFOUND ? "no such key in the trust store" : tam_strerror(rc));
        return rc == TAM_ENOTFOUND ? EX_DATAERR : rc == TAM_EINVAL ? EX_USAGE : EX_IOERR;
    }
    if (!t->quiet)
        printf("revoked %s: services reload the trust store within a second (or on SIGHUP) "
               "and refuse its next message\n", argv[1]);
    return EX_OK;
}

/* keys token NAME [--revoke]: a bearer token for the HTTP gateway, printed
 * once on stdout (only its hash is kept). */
static int s_token(tamctl_t *t, int argc, char **argv)
{
    bool revoke = argc == 3 && strcmp(argv[2], "--revoke") == 0;
    if (argc != 2 && !revoke) {
        fprintf(stderr, "usage: tamctl keys token NAME [--revoke]\n");
        return EX_USAGE;
    }
    const char *dir = t->cfg.security.keys_dir;
    if (revoke) {
        int rc = tam_token_revoke(dir, argv[1]);
        if (rc) {
            fprintf(stderr, "tamctl: cannot revoke the token of '%s': %s\n", argv[1],
                    rc == TAM_ENOTFOUND ? "none was issued" : tam_strerror(rc));
            return rc == TAM_ENOTFOUND ? EX_DATAERR : rc == TAM_EINVAL ? EX_USAGE : EX_IOERR;
        }
        if (!t->quiet)
            fprintf(stderr, "revoked the token of %s: the gateway refuses it from its next request\n",
                    argv[1]);
        return EX_OK;
    }
    char tok[TAM_TOKEN_MAX + 1], err[256] = "";
    int rc = tam_token_issue(dir, argv[1], tok, err, sizeof err);
    if (rc) {
        fprintf(stderr, "tamctl: cannot issue a token for '%s': %s\n", argv[1],
                rc == TAM_ENOTFOUND ? "no such key in the trust store (tamctl keys new first)"
                : err[0]            ? err
                                    : tam_strerror(rc));
        return rc == TAM_ENOTFOUND ? EX_DATAERR : rc == TAM_EINVAL ? EX_USAGE : EX_IOERR;
    }
    printf("%s\n", tok);
    return EX_OK;
}

TAMCTL_COMMAND(s_cmd_keys_token, "keys token", "NAME [--revoke]",
               "Issue a bearer token for the HTTP gateway with the roles of the key NAME (printed "
               "once; only its hash is stored, a new one replaces it), or revoke it.",
               NULL, s_token)
TAMCTL_COMMAND(s_cmd_keys_new, "keys new", "NAME --role ROLE [--respondent ID]",
               "Make a key pair: NAME.key (public, into the trust store) and NAME.key_secret.",
               "  --role R[,R]     respondent, manager, donor_liaison, planner, viewer, service, admin,\n"
               "                   gateway (tam-gateway's own key: may act on behalf of people)\n"
               "  --respondent ID  the respondent id a respondent key submits for (e.g. KEN)",
               s_new)
TAMCTL_COMMAND(s_cmd_keys_list, "keys list", "", "Show the trust store: names, roles, public keys.",
               NULL, s_list)
TAMCTL_COMMAND(s_cmd_keys_revoke, "keys revoke", "NAME",
               "Remove a key from the trust store; its connections are refused from their next message.",
               NULL, s_revoke)

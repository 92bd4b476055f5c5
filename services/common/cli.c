/* cli.c — shared command line of the services (see tam/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/store.h"

static bool s_migrate_only; /* --migrate */

bool tam_cli_migrate_only(void)
{
    return s_migrate_only;
}

static void s_usage(FILE *f, const char *program, const char *summary)
{
    fprintf(f,
            "usage: %s [-c CONFIG] [-o section.key=value]... [--init] [--migrate]\n"
            "%s\n\n"
            "  -c, --config FILE   the tamatch INI file (default: $TAMATCH_CONFIG, else\n"
            "                      built-in defaults; every key is documented in\n"
            "                      config/tamatch.ini; its relative paths are relative\n"
            "                      to its directory)\n"
            "  -o, --set S.K=V     override one key, e.g. -o common.log_level=debug\n"
            "  --init              accept an empty (0-byte) data.mdb and start an empty\n"
            "                      store on it (refused without: it means a lost store)\n"
            "  --migrate           upgrade the store to this version's schema in place\n"
            "                      (one transaction per step: crash-safe), then exit;\n"
            "                      with the service stopped\n"
            "  -h, --help          this text\n"
            "  -V, --version       the version\n"
            "Runs in the foreground, logs to stderr, exits 0 on SIGTERM after finishing\n"
            "what it has accepted.\n",
            program, summary);
}

int tam_cli_service(int argc, char **argv, const char *program, const char *summary,
                    tam_config_t *cfg)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"init", no_argument, NULL, 'I'},         {"migrate", no_argument, NULL, 'M'},
        {NULL, 0, NULL, 0}};
    const char *path = getenv("TAMATCH_CONFIG");
    const char *sets[64];
    int nsets = 0, c;
    char err[512];

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'I': tam_store_allow_init(true); break;
        case 'M': s_migrate_only = true; break;
        case 'o':
            if (nsets == 64) {
                fprintf(stderr, "%s: too many -o options\n", program);
                return EX_USAGE;
            }
            sets[nsets++] = optarg;
            break;
        case 'h': s_usage(stdout, program, summary); return EX_OK;
        case 'V': printf("%s %s\n", program, TAM_VERSION); return EX_OK;
        default: s_usage(stderr, program, summary); return EX_USAGE;
        }
    }
    if (path && !*path)
        path = NULL;
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", program, argv[optind]);
        s_usage(stderr, program, summary);
        return EX_USAGE;
    }
    int rc = tam_config_load_resolved(cfg, path, sets, nsets, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", program, err);
        return rc == TAM_EIO ? EX_NOINPUT : EX_CONFIG;
    }
    if (tam_config_validate(cfg, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", program, err);
        return EX_CONFIG;
    }
    tam_log_init(program, cfg->common.log_level);
    return -1;
}

int tam_cli_exit_code(int code)
{
    switch (code) {
    case TAM_OK: return EX_OK;
    case TAM_EINVAL: case TAM_ETRUNC: case TAM_ETOOBIG: case TAM_EDEPTH: case TAM_ETYPE:
    case TAM_EMISSING: case TAM_EUNKNOWN: case TAM_ERANGE: case TAM_ESTATE: case TAM_ECONFLICT:
    case TAM_EEXISTS: case TAM_ENOTFOUND: case TAM_EEXPIRED:
        return EX_DATAERR;
    case TAM_EUNAVAIL: return EX_UNAVAILABLE;
    case TAM_ETIMEOUT: case TAM_EDISKFULL: case TAM_EMAPFULL: return EX_TEMPFAIL;
    case TAM_ECONFIG: return EX_CONFIG;
    case TAM_EIO: return EX_IOERR;
    case TAM_EDENIED: return EX_NOPERM;
    case TAM_EPROTO: return EX_PROTOCOL;
    case TAM_ESUPERSEDED: return TAM_EX_SUPERSEDED;
    default: return EX_SOFTWARE;
    }
}

int tam_cli_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int tam_cli_mkdirs(const char *dir)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof path)
        return TAM_EINVAL;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = 0;
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            tam_error("cannot create %s: %s", path, strerror(errno));
            return TAM_EIO;
        }
        if (!c)
            break;
        *p = c;
    }
    return 0;
}

int tam_cli_ipc_dir(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return 0;
    const char *path = endpoint + 6, *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return tam_cli_mkdirs(dir);
}

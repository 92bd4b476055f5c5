/* tam-config — prints the documented default configuration (the text of
 * config/tamatch.ini) and checks configuration files, so that an operator
 * learns of a bad key before a service refuses to start. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include "tam/access.h"
#include "tam/config.h"
#include "tam/error.h"
#include "tamconfig.h"

#ifndef TAM_VERSION
#define TAM_VERSION "unknown"
#endif

#define MAX_OVERRIDES 64

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: tam-config --defaults\n"
            "       tam-config --roles\n"
            "       tam-config --man\n"
            "       tam-config [-c FILE] [-o SECTION.KEY=VALUE]... [--print]\n"
            "\n"
            "Prints the documented default configuration, or checks a configuration.\n"
            "\n"
            "  --defaults          print every section and key with its doc and default\n"
            "                      (the text of config/tamatch.ini)\n"
            "  --roles             print the role matrix (who may send which message type,\n"
            "                      read which feed) as the tables of docs/security.md\n"
            "  --man               print the key list of tamatch.ini(5) in scdoc\n"
            "  -c, --config FILE   check FILE (defaults if not given): print \"ok\" or the\n"
            "                      first error and exit 78\n"
            "  -o SECTION.KEY=VALUE  override one key after the file; repeatable\n"
            "  --print             print the effective configuration instead of \"ok\"\n"
            "                      (paths resolved as the programs resolve them)\n"
            "  -h, --help          show this help\n"
            "  -V, --version       show the version\n"
            "\n"
            "Exit status: 0 ok, 64 usage, 66 file not readable, 74 write error, 78 bad\n"
            "configuration.\n");
}

static int s_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return EX_OK;
    case TAM_EIO:
        return EX_NOINPUT;
    case TAM_ENOMEM:
        return EX_OSERR;
    default:
        return EX_CONFIG;
    }
}

int main(int argc, char **argv)
{
    enum { OPT_DEFAULTS = 256, OPT_PRINT, OPT_ROLES, OPT_MAN };
    static const struct option opts[] = {
        {"defaults", no_argument, NULL, OPT_DEFAULTS},
        {"print", no_argument, NULL, OPT_PRINT},
        {"roles", no_argument, NULL, OPT_ROLES},
        {"man", no_argument, NULL, OPT_MAN},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    const char *overrides[MAX_OVERRIDES];
    size_t noverrides = 0;
    bool defaults = false, print = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:o:hV", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_DEFAULTS:
            defaults = true;
            break;
        case OPT_PRINT:
            print = true;
            break;
        case OPT_ROLES:
            if (argc != 2) {
                s_usage(stderr);
                return EX_USAGE;
            }
            tam_access_write_markdown(stdout);
            return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
        case OPT_MAN:
            if (argc != 2) {
                s_usage(stderr);
                return EX_USAGE;
            }
            if (tam_config_write_man(stdout) != 0 || fflush(stdout) != 0) {
                fprintf(stderr, "tam-config: cannot write to stdout\n");
                return EX_IOERR;
            }
            return EX_OK;
        case 'c':
            path = optarg;
            break;
        case 'o':
            if (noverrides == MAX_OVERRIDES) {
                fprintf(stderr, "tam-config: more than %d -o options\n", MAX_OVERRIDES);
                return EX_USAGE;
            }
            overrides[noverrides++] = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return EX_OK;
        case 'V':
            printf("tam-config %s\n", TAM_VERSION);
            return EX_OK;
        default:
            s_usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind < argc || (defaults && (path || noverrides || print)) ||
        (!defaults && !path && !noverrides && !print)) {
        s_usage(stderr);
        return EX_USAGE;
    }
    if (defaults) {
        if (tam_config_write_defaults(stdout) != 0 || fflush(stdout) != 0) {
            fprintf(stderr, "tam-config: cannot write to stdout\n");
            return EX_IOERR;
        }
        return EX_OK;
    }

    char err[512];
    tam_config_t *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "tam-config: out of memory\n");
        return EX_OSERR;
    }
    /* as every program reads it: paths resolved against the file's directory */
    int rc = tam_config_load_resolved(c, path, overrides, (int)noverrides, err, sizeof err);
    if (rc == TAM_EINVAL)
        rc = TAM_ECONFIG;
    if (rc == 0)
        rc = tam_config_validate(c, err, sizeof err);
    int status = s_exit_code(rc);
    if (rc != 0) {
        fprintf(stderr, "tam-config: %s\n", err);
    } else {
        int wrc = print ? tam_config_write(stdout, c) : (puts("ok") < 0 ? TAM_EIO : 0);
        if (wrc != 0 || fflush(stdout) != 0) {
            fprintf(stderr, "tam-config: cannot write to stdout\n");
            status = EX_IOERR;
        }
    }
    free(c);
    return status;
}

/* iati_export.c — `tamctl export iati [--project ID]`: every project (or one)
 * as an IATI 2.03 iati-activity on standard output, written by the shared
 * writer (services/iati/iati_write.c, also behind tam-gateway's
 * GET /v1/iati/activities.xml). What goes where: docs/iati.md. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libxml/xmlwriter.h>
#include "iati.h"
#include "iati_write.h"
#include "regctl.h"

/* The writer's call: a tamctl client call. */
static int s_call(void *arg, const char *service, int msg_id, const void *req, tam_arena_t *a,
                  void *out)
{
    return tamctl_call(arg, service, msg_id, req, a, out, "export iati");
}

static void s_progress(void *arg, size_t done, size_t total)
{
    regctl_progress(arg, "export iati", done, total);
}

static int s_export(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"project", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *only = NULL;
    int c;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'p')
            return EX_USAGE;
        only = optarg;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: tamctl export iati [--project ID] > FILE.xml\n");
        return EX_USAGE;
    }
    tam_iati_export_t o = {.call = s_call, .arg = t, .cat = regctl_catalog(t),
                           .org = t->cfg.tamctl.iati_reporting_org,
                           .org_name = t->cfg.tamctl.iati_reporting_name, .project = only,
                           .progress = s_progress};
    if (!o.cat) {
        fprintf(stderr, "export iati: the catalogue is needed for country codes\n");
        return EX_CONFIG;
    }
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf)
        return EX_OSERR;
    size_t n = 0;
    int rc = tam_iati_export(&o, buf, &n), ex = 0;
    if (rc < 0) {
        fprintf(stderr, "export iati: %s\n", tam_iati_strerror(rc));
        ex = rc == TAM_IATI_EWRITE ? EX_OSERR : rc == TAM_IATI_ETOOMANY ? EX_SOFTWARE : EX_DATAERR;
    } else {
        ex = rc; /* a tamctl call's exit code (it printed why) */
    }
    if (ex == 0 && (fwrite(xmlBufferContent(buf), 1, (size_t)xmlBufferLength(buf), stdout) !=
                        (size_t)xmlBufferLength(buf) ||
                    fflush(stdout) != 0)) {
        fprintf(stderr, "export iati: cannot write the output\n");
        ex = EX_IOERR;
    }
    xmlBufferFree(buf);
    if (ex == 0 && !t->quiet && !isatty(1))
        fprintf(stderr, "export iati: %zu activities\n", n);
    return ex;
}

TAMCTL_COMMAND(s_cmd_export_iati, "export iati", "[--project ID]",
               "Every project (or one) as an IATI 2.03 activity, on standard output.",
               "--project ID   only this project\n"
               "The file validates against the IATI 2.03 activity schema; the same state\n"
               "gives the same bytes. What goes where: docs/iati.md.",
               s_export)

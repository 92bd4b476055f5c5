/* status.c — `tamctl status`: is every service up, which version, where is
 * its feed. */
#include <getopt.h>
#include <string.h>
#include "out.h"
#include "tamctl.h"

static int s_status(tamctl_t *t, int argc, char **argv)
{
    bool csv;
    int ex0 = tamctl_out_args(t, argc, argv, "status [--json|--csv]", &csv);
    if (ex0)
        return ex0;
    static const char *services[] = {"ingest", "registry", "pipeline", "match"};
    static const tamctl_col_t cols[] = {
        {"service", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"endpoint", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"state", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"version", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"feed_seq", "feed seq", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
        {NULL, NULL, 0, 0, NULL}};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), cols);
    int worst = EX_OK;
    char down[512] = "";
    size_t used = 0, ndown = 0;
    /* Each service gets one quick try: status must not hang on a dead one. */
    t->cfg.common.request_retries = 0;
    if (t->cfg.tamctl.timeout > 1000)
        t->cfg.tamctl.timeout = 1000;
    for (size_t i = 0; i < 4; i++) {
        tam_arena_t *a = tam_arena_new(0);
        tam_ping_t ping = {.note = "status"};
        tam_pong_t pong;
        memset(&pong, 0, sizeof pong);
        /* quiet: the table says DOWN; one hint below names where we looked */
        int rc = a ? tamctl_call_quiet(t, services[i], TAM_MSG_sys_ping, &ping, a, &pong) : -1;
        const char *ep = tamctl_endpoint(t, services[i]);
        tamctl_out_str(o, services[i]);
        tamctl_out_str(o, ep);
        tamctl_out_str(o, rc ? "down" : "up");
        tamctl_out_str(o, rc ? NULL : pong.version);
        if (rc)
            tamctl_out_null(o);
        else
            tamctl_out_u64(o, pong.feed_seq);
        tamctl_out_end(o);
        if (rc) {
            worst = EX_UNAVAILABLE;
            ndown++;
            int w = snprintf(down + used, sizeof down - used, "%s%s at %s", used ? ", " : "",
                             services[i], ep);
            if (w > 0 && (size_t)w < sizeof down - used)
                used += (size_t)w;
        }
        tam_arena_destroy(&a);
    }
    tamctl_out_meta_int(o, "down", (int64_t)ndown);
    int ex = tamctl_out_done(&o, stdout, 0);
    if (worst != EX_OK)
        fprintf(stderr, "tamctl: not reachable: %s (is it running? scripts/demo --keep starts "
                        "them all; -c CONFIG or TAMATCH_CONFIG names another instance)\n", down);
    return ex ? ex : worst;
}

TAMCTL_COMMAND(s_cmd_status, "status", "[--json|--csv]",
               "Show whether each service answers, its endpoint, version and feed sequence.",
               "  --json | --csv     machine-readable output (state: up or down)\n"
               "Exit status 69 when a service does not answer.", s_status)

/* status.c — `tamctl status`: is every service up, which version, where is
 * its feed. */
#include <string.h>
#include "tamctl.h"

static int s_status(tamctl_t *t, int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: tamctl status\n");
        return EX_USAGE;
    }
    static const char *services[] = {"ingest", "registry", "pipeline", "match"};
    const char *headers[] = {"service", "endpoint", "state", "version", ">feed seq", NULL};
    tamctl_table_t *tb = tamctl_table_new(headers);
    int worst = EX_OK;
    for (size_t i = 0; i < 4; i++) {
        tam_arena_t *a = tam_arena_new(0);
        tam_ping_t ping = {.note = "status"};
        tam_pong_t pong;
        /* Each service gets one quick try: status must not hang on a dead one. */
        t->cfg.common.request_retries = 0;
        if (t->cfg.tamctl.timeout > 1000)
            t->cfg.tamctl.timeout = 1000;
        /* quiet: the table says DOWN; no error line per service */
        int ex = tamctl_call_quiet(t, services[i], TAM_MSG_sys_ping, &ping, a, &pong);
        char seq[24];
        snprintf(seq, sizeof seq, "%llu", ex ? 0ULL : (unsigned long long)pong.feed_seq);
        const char *row[] = {services[i], tamctl_endpoint(t, services[i]), ex ? "DOWN" : "up",
                             ex ? "-" : pong.version, ex ? "-" : seq};
        tamctl_table_row(tb, row);
        if (ex)
            worst = EX_UNAVAILABLE;
        tam_arena_destroy(&a);
    }
    tamctl_table_print(&tb, stdout, false, NULL);
    if (worst != EX_OK)
        fprintf(stderr, "tamctl: a service is not reachable (is it running? scripts/demo --keep "
                        "starts them all)\n");
    return worst;
}

TAMCTL_COMMAND(s_cmd_status, "status", "", "Show whether each service answers, its version and feed sequence.",
               NULL, s_status)

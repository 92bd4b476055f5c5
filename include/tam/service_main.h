/* tam/service_main.h — the start-up every tamatch service shares. The main()
 * of tam-ingest, tam-registry, tam-match, tam-pipeline and tam-gateway is one
 * description and one call:
 *
 *     static const tam_service_main_t d = {"tam-registry", "The registry ...",
 *                                          s_identity, s_create, s_run, s_destroy};
 *     int main(int argc, char **argv) { return tam_service_main(argc, argv, &d); }
 *
 * or, for a server that follows the house pattern, TAM_SERVICE_MAIN below.
 *
 * Options, config, logging, keys, signals and exit codes are the same for
 * every service because they are made here (and in tam/cli.h). */
#ifndef TAM_SERVICE_MAIN_H
#define TAM_SERVICE_MAIN_H
#include <stdbool.h>
#include "tam/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *program; /* "tam-ingest": for the usage, the logs and --version */
    const char *summary; /* what --help says the service is */
    /* The key the service runs as: its section's identity. */
    const char *(*identity)(const tam_config_t *cfg);
    /* Creates the service (*server) from cfg (which outlives it) on zctx.
     * Returns 0 or a TAM_E* code (*server may then be set: it is destroyed). */
    int (*create)(void **server, const tam_config_t *cfg, void *zctx);
    /* Runs it until it stops. Returns 0 on a graceful stop, or a TAM_E* code. */
    int (*run)(void *server);
    /* Frees it (called with NULL too). */
    void (*destroy)(void *server);
    /* The service takes SIGTERM and SIGINT itself in its main thread
     * (sigwait): they are blocked in every thread before anything starts, and
     * SIGPIPE is ignored; READY=1 is notified once create returned, and
     * STOPPING=1 once run returned. Otherwise the service loop
     * (tam/service.h) handles signals and notifications. */
    bool own_signals;
} tam_service_main_t;

/* Parses the command line and loads the config (tam_cli_service: -c, -o,
 * --init, --migrate, --help, --version), makes the ZeroMQ context and the
 * service's key (tam_sec_service), creates and runs the service, and tears
 * everything down in order. With --migrate the service is created (its
 * store opened, and so upgraded) and destroyed without running: exit 0. Returns the exit status for main: 0 after a graceful stop;
 * tam_cli_service's status for --help, --version, a bad option or config;
 * otherwise tam_cli_exit_code of the failure (78 config, 74 store I/O, 70
 * internal...), which is logged. */
int tam_service_main(int argc, char **argv, const tam_service_main_t *d);

/* The main() of a service NAME whose server follows the house pattern:
 * tam_NAME_server_t, tam_NAME_server_new(&s, cfg, zctx), tam_NAME_server_run(s),
 * tam_NAME_server_destroy(&s), and its key in cfg->NAME.identity. */
#define TAM_SERVICE_MAIN(NAME, PROGRAM, SUMMARY)                                     \
    static const char *s_identity(const tam_config_t *cfg)                           \
    {                                                                                \
        return cfg->NAME.identity;                                                   \
    }                                                                                \
    static int s_create(void **server, const tam_config_t *cfg, void *zctx)          \
    {                                                                                \
        tam_##NAME##_server_t *s = NULL;                                             \
        int rc = tam_##NAME##_server_new(&s, cfg, zctx);                             \
        *server = s;                                                                 \
        return rc;                                                                   \
    }                                                                                \
    static int s_run(void *server)                                                   \
    {                                                                                \
        return tam_##NAME##_server_run(server);                                      \
    }                                                                                \
    static void s_destroy(void *server)                                              \
    {                                                                                \
        tam_##NAME##_server_t *s = server;                                           \
        tam_##NAME##_server_destroy(&s);                                             \
    }                                                                                \
    static const tam_service_main_t s_main = {                                       \
        .program = PROGRAM,                                                          \
        .summary = SUMMARY,                                                          \
        .identity = s_identity,                                                      \
        .create = s_create,                                                          \
        .run = s_run,                                                                \
        .destroy = s_destroy,                                                        \
    };                                                                               \
    int main(int argc, char **argv)                                                  \
    {                                                                                \
        return tam_service_main(argc, argv, &s_main);                                \
    }

#ifdef __cplusplus
}
#endif
#endif

/* tam/cli.h — the command line every tamatch service shares:
 *   tam-NAME [-c CONFIG] [-o section.key=value]... [--help] [--version]
 * and the sysexits(3) codes our programs exit with. */
#ifndef TAM_CLI_H
#define TAM_CLI_H
#include <stdbool.h>
#include <sysexits.h>
#include "tam/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses argv, loads the config file (if -c is given; defaults otherwise),
 * applies -o overrides, validates, and initialises logging with the
 * configured level under the name `program`.
 * Returns -1 when the program should go on; otherwise the exit status to
 * return at once: EX_OK after --help/--version, EX_USAGE for a bad option,
 * EX_CONFIG for a config that is refused (the message names file, section and
 * key), EX_NOINPUT for a config file that cannot be read. */
int tam_cli_service(int argc, char **argv, const char *program, const char *summary,
                    tam_config_t *cfg);

/* True if --migrate was given: the service opens (and so upgrades) its
 * store, then exits 0 without serving (tam_service_main). */
bool tam_cli_migrate_only(void);

/* tamatch's one exit code beyond sysexits(3): what was sent is an older
 * revision than the one stored (TAM_ESUPERSEDED); nothing was stored. */
#define TAM_EX_SUPERSEDED 79

/* Maps a TAM_E* code to the sysexits code a command should exit with
 * (TAM_ESUPERSEDED: TAM_EX_SUPERSEDED). */
int tam_cli_exit_code(int tam_code);

/* mkdir -p of dir (mode 0700 for what it creates). Returns 0; TAM_EINVAL
 * (too long); TAM_EIO (logged with the path). */
int tam_cli_mkdirs(const char *dir);

/* Creates the directory of an ipc:// endpoint's socket file if missing (any
 * other transport: nothing to do). Returns as tam_cli_mkdirs. */
int tam_cli_ipc_dir(const char *endpoint);

/* Blocks SIGTERM and SIGINT in the calling thread (and threads it creates
 * later) and returns a signalfd that becomes readable when one arrives, for
 * a zmq_poll loop; -1 on error. */
int tam_cli_signalfd(void);

#ifdef __cplusplus
}
#endif
#endif

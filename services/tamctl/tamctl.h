/* tamctl.h — what every tamctl command file shares: registration, the
 * connection to each service, error printing and table output.
 *
 * A command file defines its commands with TAMCTL_COMMAND and needs nothing
 * else from main.c. Commands return a sysexits(3) code. */
#ifndef TAMCTL_H
#define TAMCTL_H
#include <stdbool.h>
#include <stdio.h>
#include <sysexits.h>
#include "tam/config.h"
#include "tam/proto.h"
#include "tam/rpc.h"

typedef struct tamctl tamctl_t;

typedef struct {
    const char *name;     /* "submit", "project add" (a group and a verb) */
    const char *args;     /* usage after the name, e.g. "FILE..." */
    const char *summary;  /* one line */
    const char *help;     /* the options, one per line; may be NULL */
    int (*run)(tamctl_t *t, int argc, char **argv); /* argv[0] is the last word of name */
} tamctl_cmd_t;

void tamctl_register(const tamctl_cmd_t *cmd);

#define TAMCTL_COMMAND(ident, ...)                                              \
    static const tamctl_cmd_t ident = {__VA_ARGS__};                            \
    __attribute__((constructor)) static void ident##_register(void)             \
    {                                                                           \
        tamctl_register(&ident);                                                \
    }

/* Global state, set by main before a command runs. */
struct tamctl {
    tam_config_t cfg;
    void *zctx;
    bool json;              /* --json: machine-readable output on stdout */
    bool quiet;             /* -q: no progress, no summaries */
    const char *program;    /* "tamctl" */
    const tamctl_cmd_t *cmd;
};

/* The request endpoint of a service ("ingest", "registry", "match",
 * "pipeline") from the config; NULL for an unknown name. */
const char *tamctl_endpoint(const tamctl_t *t, const char *service);

/* A client connected to a service, created on first use and kept for the
 * command's life. NULL (after printing why) if it cannot be created. */
tam_rpc_client_t *tamctl_client(tamctl_t *t, const char *service);

/* Encodes req with its message's request schema, calls the service and, on
 * an ok answer, decodes the body with the answer schema into *out (from a).
 * Prints nothing on success. On failure prints one line per problem, as
 * "WHERE:FIELD: message" (WHERE is `where` if not NULL, else the service) and
 * returns the sysexits code; 0 on success. A service that does not answer
 * gives "tamctl: SERVICE not reachable at ENDPOINT (is it running?)". */
int tamctl_call(tamctl_t *t, const char *service, int msg_id, const void *req, tam_arena_t *a,
                void *out, const char *where);

/* Same, but also returns the raw answer body (for --json), malloc'd. */
int tamctl_call_raw(tamctl_t *t, const char *service, int msg_id, const void *req,
                    tam_arena_t *a, void *out, const char *where, uint8_t **body, size_t *len);

/* Like tamctl_call but prints nothing: returns 0 (out decoded) or the TAM_E*
 * code (TAM_EUNAVAIL/TAM_ETIMEOUT when the service does not answer, the
 * error answer's code, TAM_EPROTO for an answer that does not decode). */
int tamctl_call_quiet(tamctl_t *t, const char *service, int msg_id, const void *req,
                      tam_arena_t *a, void *out);

/* Prints an error answer as lines "WHERE:FIELD: message" on stderr. */
void tamctl_print_error(const char *where, const tam_rpc_error_t *e);

/* Prints msgpack bytes as JSON on stdout (indented), with a newline. */
void tamctl_print_json(const void *body, size_t len);

/* ---- simple aligned tables (or CSV) --------------------------------------- */

typedef struct tamctl_table tamctl_table_t;

/* A table with ncols columns named by the NULL-terminated list of headers.
 * A header starting with '>' is right-aligned (numbers); the '>' is not shown. */
tamctl_table_t *tamctl_table_new(const char *const *headers);
/* Appends a row: ncols printf-formatted cells are given as strings. */
void tamctl_table_row(tamctl_table_t *tb, const char *const *cells);
/* Prints and frees. csv: RFC 4180 with a header row; hxl (csv only): a second
 * row of HXL hashtags (NULL-terminated list, same count as columns). */
void tamctl_table_print(tamctl_table_t **tb, FILE *f, bool csv, const char *const *hxl);

/* Frees a table without printing it. */
void tamctl_table_free(tamctl_table_t **tb);

/* Formats whole dollars with thousands separators: 1234567 → "1,234,567". */
const char *tamctl_usd(int64_t v, char buf[32]);

/* Parses a decimal id; returns 0 and *out, or EX_USAGE after printing why. */
int tamctl_parse_u64(const char *what, const char *s, uint64_t *out);

/* Parses a count or number of seconds, 0..100000000; as tamctl_parse_u64. */
int tamctl_parse_count(const char *what, const char *s, int64_t *out);

/* Upper-cases s in place and returns it (country, group, category and
 * standard codes are accepted in any case); NULL stays NULL. */
char *tamctl_upper(char *s);

#endif

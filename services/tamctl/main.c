/* tamctl — the command-line client for every role: respondents submit
 * replies, donor liaison edits projects and budgets, managers act on
 * proposals, everyone reads reports. This file is the dispatcher and the
 * helpers the command files share (tamctl.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <jansson.h>
#include <zmq.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/sec.h"
#include "tamctl.h"

#define S_MAX_CMDS 128

static const tamctl_cmd_t *s_cmds[S_MAX_CMDS];
static size_t s_ncmds;

void tamctl_register(const tamctl_cmd_t *cmd)
{
    if (s_ncmds < S_MAX_CMDS)
        s_cmds[s_ncmds++] = cmd;
}

static int s_cmd_cmp(const void *a, const void *b)
{
    return strcmp((*(const tamctl_cmd_t *const *)a)->name, (*(const tamctl_cmd_t *const *)b)->name);
}

/* Prints text wrapped at 79 columns, continuation lines indented by indent;
 * the first line starts at column col. */
static void s_wrap(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;
    while (*p) {
        const char *sp = strchr(p, ' ');
        int w = sp ? (int)(sp - p) : (int)strlen(p);
        if (col > indent && col + 1 + w > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", w, p);
        col += w;
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

/* One command line of a listing: its name and arguments, then its summary
 * from column 37, or on the next line when the name is longer; never cut. */
static void s_cmd_line(FILE *f, const tamctl_cmd_t *c)
{
    int n = fprintf(f, "  %s%s%s", c->name, c->args && *c->args ? " " : "", c->args ? c->args : "");
    if (n > 35) {
        fprintf(f, "\n%37s", "");
    } else {
        fprintf(f, "%*s", 37 - n, "");
    }
    s_wrap(f, c->summary, 37, 37);
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: tamctl [-c CONFIG] [-o section.key=value]... [--as NAME] [--json] [-q]\n"
            "              COMMAND [ARGS]\n"
            "The command-line client of tamatch.\n\n"
            "  -c, --config FILE  the tamatch INI file (default: $TAMATCH_CONFIG, else the\n"
            "                     built-in defaults, which are those of config/tamatch.ini\n"
            "                     below the current directory: the services of scripts/demo\n"
            "                     when run from the repository root). Relative paths in it\n"
            "                     are relative to its directory, so it works from anywhere.\n"
            "  -o, --set S.K=V    override one config key\n"
            "  --as NAME          act with the key NAME (default: [tamctl] identity, admin);\n"
            "                     its secret is NAME.key_secret in [security] keys_dir\n"
            "  --json             machine-readable output (every command takes it)\n"
            "  -q, --quiet        no progress bar or summary\n"
            "  -h, --help         this text; `tamctl help COMMAND` for one command\n"
            "  -V, --version      the version\n\n"
            "Commands:\n");
    qsort(s_cmds, s_ncmds, sizeof s_cmds[0], s_cmd_cmp);
    for (size_t i = 0; i < s_ncmds; i++)
        s_cmd_line(f, s_cmds[i]);
    fprintf(f, "\nExit status follows sysexits(3): 0 ok, 64 usage, 65 refused data, 69 service\n"
               "unavailable, 75 timed out, 78 bad config.\n");
}

/* The commands of a group ("project": project add, project list, ...);
 * false if word names no group. */
static bool s_group_usage(FILE *f, const char *word)
{
    size_t wl = strlen(word);
    bool any = false;
    qsort(s_cmds, s_ncmds, sizeof s_cmds[0], s_cmd_cmp);
    for (size_t i = 0; i < s_ncmds; i++) {
        const char *name = s_cmds[i]->name;
        if (strncmp(name, word, wl) != 0 || name[wl] != ' ')
            continue;
        if (!any)
            fprintf(f, "usage: tamctl %s SUBCOMMAND [ARGS]; `tamctl help %s SUBCOMMAND` for one\n\n"
                       "Subcommands:\n", word, word);
        any = true;
        s_cmd_line(f, s_cmds[i]);
    }
    return any;
}

static void s_cmd_help(const tamctl_cmd_t *c, FILE *f)
{
    fprintf(f, "usage: tamctl %s %s\n%s\n", c->name, c->args ? c->args : "", c->summary);
    if (c->help)
        fprintf(f, "\n%s\n", c->help);
}

/* Finds the command named by the first one or two words of argv. */
static const tamctl_cmd_t *s_find(int argc, char **argv, int *words)
{
    const tamctl_cmd_t *best = NULL;
    for (size_t i = 0; i < s_ncmds; i++) {
        const char *name = s_cmds[i]->name;
        const char *sp = strchr(name, ' ');
        if (sp) {
            if (argc >= 2 && strncmp(argv[0], name, (size_t)(sp - name)) == 0 &&
                argv[0][sp - name] == 0 && strcmp(argv[1], sp + 1) == 0) {
                *words = 2;
                return s_cmds[i];
            }
        } else if (strcmp(argv[0], name) == 0) {
            best = s_cmds[i];
            *words = 1;
        }
    }
    return best;
}

const char *tamctl_endpoint(const tamctl_t *t, const char *service)
{
    if (strcmp(service, "ingest") == 0)
        return t->cfg.ingest.endpoint;
    if (strcmp(service, "registry") == 0)
        return t->cfg.registry.endpoint;
    if (strcmp(service, "match") == 0)
        return t->cfg.match.endpoint;
    if (strcmp(service, "pipeline") == 0)
        return t->cfg.pipeline.endpoint;
    return NULL;
}

static struct {
    const char *service;
    tam_rpc_client_t *client;
} s_clients[4];

tam_rpc_client_t *tamctl_client(tamctl_t *t, const char *service)
{
    for (size_t i = 0; i < 4; i++)
        if (s_clients[i].service && strcmp(s_clients[i].service, service) == 0)
            return s_clients[i].client;
    const char *ep = tamctl_endpoint(t, service);
    if (!ep) {
        fprintf(stderr, "tamctl: unknown service %s\n", service);
        return NULL;
    }
    for (size_t i = 0; i < 4; i++) {
        if (s_clients[i].service)
            continue;
        int rc = tam_rpc_client_new(&s_clients[i].client, t->zctx, ep, (int)t->cfg.tamctl.timeout,
                                    (int)t->cfg.common.request_retries);
        if (rc) {
            fprintf(stderr, "tamctl: cannot connect to %s at %s: %s\n", service, ep, tam_strerror(rc));
            return NULL;
        }
        s_clients[i].service = service;
        return s_clients[i].client;
    }
    return NULL;
}

static void s_close_clients(void)
{
    for (size_t i = 0; i < 4; i++)
        if (s_clients[i].client)
            tam_rpc_client_destroy(&s_clients[i].client);
}

/* "WHERE:FIELD: message", or "WHERE: message" when the error names no field. */
static void s_print_one(const char *where, const char *field, const char *message)
{
    if (field && field[0])
        fprintf(stderr, "%s:%s: %s\n", where, field, message);
    else
        fprintf(stderr, "%s: %s\n", where, message);
}

void tamctl_print_error(const char *where, const tam_rpc_error_t *e)
{
    if (e->n == 0) {
        s_print_one(where, e->field, e->message);
        return;
    }
    for (size_t i = 0; i < e->n; i++)
        s_print_one(where, e->errors[i].field, e->errors[i].message);
    if (e->dropped)
        fprintf(stderr, "%s: ... and %zu more errors\n", where, e->dropped);
}

void tamctl_print_json(const void *body, size_t len)
{
    char *j = tam_msgpack_to_json(body, len, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (j) {
        puts(j);
        free(j);
    } else {
        puts("null");
    }
}

/* Set when an answer named damaged stored records: the command's output is
 * incomplete, and tamctl exits EX_DATAERR even if the command succeeded. */
static bool s_damaged_seen;

/* An answer that is a map with "damaged": [keys] (a listing that left out
 * stored records that do not decode, tam/damaged.h): says so on stderr. */
static void s_warn_damaged(const char *service, const void *body, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, body, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            const msgpack_object *k = &u.data.via.map.ptr[i].key, *v = &u.data.via.map.ptr[i].val;
            if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != 7 ||
                memcmp(k->via.str.ptr, "damaged", 7) != 0 || v->type != MSGPACK_OBJECT_ARRAY ||
                v->via.array.size == 0)
                continue;
            s_damaged_seen = true;
            fprintf(stderr, "tamctl: %s: %u stored record(s) do not decode and are left out; this "
                            "listing is INCOMPLETE (the service log names them; restore the store "
                            "from a backup). Damaged keys:",
                    service, v->via.array.size);
            for (uint32_t j = 0; j < v->via.array.size; j++) {
                const msgpack_object *e = &v->via.array.ptr[j];
                if (e->type == MSGPACK_OBJECT_STR)
                    fprintf(stderr, " %.*s", (int)e->via.str.size, e->via.str.ptr);
            }
            fputc('\n', stderr);
        }
    }
    msgpack_unpacked_destroy(&u);
}

/* 1 when an ipc:// endpoint has no socket file after waiting up to wait_ms for it
 * (a service being restarted binds it again): nothing can answer there, so resending
 * for the whole retry horizon would only make the person wait. tcp:// and abstract
 * endpoints: 0. */
static int s_ipc_absent(const char *ep, int64_t wait_ms)
{
    if (!ep || strncmp(ep, "ipc://", 6) != 0 || ep[6] == '@')
        return 0;
    struct stat st;
    for (int64_t waited = 0;; waited += 50) {
        if (stat(ep + 6, &st) == 0 || errno != ENOENT)
            return 0;
        if (waited >= wait_ms)
            return 1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void s_unreachable(tamctl_t *t, const char *service)
{
    fprintf(stderr, "tamctl: %s not reachable at %s (is it running? scripts/demo --keep "
                    "starts it; -c CONFIG or TAMATCH_CONFIG names another instance)\n",
            service, tamctl_endpoint(t, service));
}

int tamctl_call_raw(tamctl_t *t, const char *service, int msg_id, const void *req,
                    tam_arena_t *a, void *out, const char *where, uint8_t **body, size_t *len)
{
    size_t nm;
    const tam_message_t *m = tam_messages(&nm);
    if (msg_id < 0 || (size_t)msg_id >= nm)
        return EX_SOFTWARE;
    m = &m[msg_id];
    /* no socket file for one timeout: the service is not running, do not resend */
    if (s_ipc_absent(tamctl_endpoint(t, service), t->cfg.tamctl.timeout)) {
        s_unreachable(t, service);
        return EX_UNAVAILABLE;
    }
    tam_rpc_client_t *c = tamctl_client(t, service);
    if (!c)
        return EX_UNAVAILABLE;
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    if (tam_encode_sbuf(m->request, req, &sb, &cerr) != 0) {
        fprintf(stderr, "%s:%s: %s\n", where ? where : service, cerr.path, cerr.message);
        return EX_DATAERR;
    }
    tam_rpc_answer_t ans = {0};
    int rc = tam_rpc_call(c, m->type, sb.data, sb.size, &ans);
    msgpack_sbuffer_destroy(&sb);
    if (rc == TAM_EUNAVAIL || rc == TAM_ETIMEOUT) {
        s_unreachable(t, service);
        tam_rpc_answer_clear(&ans);
        return rc == TAM_EUNAVAIL ? EX_UNAVAILABLE : EX_TEMPFAIL;
    }
    if (rc == TAM_EDENIED) {
        fprintf(stderr, "tamctl: %s at %s refused the key '%s' (not in its trust store, or "
                        "revoked: tamctl keys list)\n",
                service, tamctl_endpoint(t, service), tam_sec_identity(tam_sec_of(t->zctx)));
        tam_rpc_answer_clear(&ans);
        return EX_NOPERM;
    }
    if (rc) {
        fprintf(stderr, "tamctl: %s: %s\n", service, tam_strerror(rc));
        tam_rpc_answer_clear(&ans);
        return tam_cli_exit_code(rc);
    }
    if (ans.status != TAM_RPC_OK) {
        tamctl_print_error(where ? where : service, &ans.error);
        int ex = tam_cli_exit_code(ans.error.code);
        tam_rpc_answer_clear(&ans);
        return ex;
    }
    if (out && tam_decode(m->answer, ans.body, ans.len, a, out, &cerr) != 0) {
        fprintf(stderr, "tamctl: %s sent an answer that does not decode: %s: %s\n", service,
                cerr.path, cerr.message);
        tam_rpc_answer_clear(&ans);
        return EX_PROTOCOL;
    }
    s_warn_damaged(service, ans.body, ans.len);
    if (body) {
        *body = ans.body;
        *len = ans.len;
        ans.body = NULL;
    }
    tam_rpc_answer_clear(&ans);
    return 0;
}

int tamctl_call_quiet(tamctl_t *t, const char *service, int msg_id, const void *req,
                      tam_arena_t *a, void *out)
{
    size_t nm;
    const tam_message_t *m = tam_messages(&nm);
    if (msg_id < 0 || (size_t)msg_id >= nm)
        return TAM_EINVAL;
    m = &m[msg_id];
    /* An optional figure from a service that is not running: an ipc:// endpoint with no
     * socket file can never answer, so do not wait the timeout for it. */
    if (s_ipc_absent(tamctl_endpoint(t, service), 0))
        return TAM_EUNAVAIL;
    tam_rpc_client_t *cl = tamctl_client(t, service);
    if (!cl)
        return TAM_EUNAVAIL;
    msgpack_sbuffer sb;
    if (tam_encode_sbuf(m->request, req, &sb, NULL))
        return TAM_EINVAL;
    tam_rpc_answer_t ans = {0};
    int rc = tam_rpc_call(cl, m->type, sb.data, sb.size, &ans);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0 && ans.status != TAM_RPC_OK)
        rc = ans.error.code ? ans.error.code : TAM_EINTERNAL;
    if (rc == 0 && tam_decode(m->answer, ans.body, ans.len, a, out, NULL))
        rc = TAM_EPROTO;
    tam_rpc_answer_clear(&ans);
    return rc;
}

int tamctl_call(tamctl_t *t, const char *service, int msg_id, const void *req, tam_arena_t *a,
                void *out, const char *where)
{
    return tamctl_call_raw(t, service, msg_id, req, a, out, where, NULL, NULL);
}

const char *tamctl_usd(int64_t v, char buf[32])
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    int o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

int tamctl_parse_u64(const char *what, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "tamctl: %s must be a whole number, not '%s'\n", what, s);
        return EX_USAGE;
    }
    *out = v;
    return 0;
}

int tamctl_parse_count(const char *what, const char *s, int64_t *out)
{
    uint64_t v;
    int ex = tamctl_parse_u64(what, s, &v);
    if (ex == 0 && v > 100000000) {
        fprintf(stderr, "tamctl: %s must be at most 100000000\n", what);
        return EX_USAGE;
    }
    if (ex == 0)
        *out = (int64_t)v;
    return ex;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},         {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"as", required_argument, NULL, 'a'},     {NULL, 0, NULL, 0}};
    const char *as = NULL;
    tamctl_t t;
    memset(&t, 0, sizeof t);
    t.program = "tamctl";
    const char *path = getenv("TAMATCH_CONFIG");
    const char *sets[32];
    int nsets = 0, c;
    char err[1024];

    /* '+': stop at the command name; its own options follow it. */
    while ((c = getopt_long(argc, argv, "+c:o:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'o':
            if (nsets == 32)
                return EX_USAGE;
            sets[nsets++] = optarg;
            break;
        case 'j': t.json = true; break;
        case 'a': as = optarg; break;
        case 'q': t.quiet = true; break;
        case 'h': s_usage(stdout); return EX_OK;
        case 'V': printf("tamctl %s\n", TAM_VERSION); return EX_OK;
        default: s_usage(stderr); return EX_USAGE;
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return EX_USAGE;
    }
    int rest = argc - optind;
    char **rargv = argv + optind;
    if (strcmp(rargv[0], "help") == 0) {
        int w = 0;
        const tamctl_cmd_t *hc = rest > 1 ? s_find(rest - 1, rargv + 1, &w) : NULL;
        if (hc)
            s_cmd_help(hc, stdout);
        else if (rest != 2 || !s_group_usage(stdout, rargv[1]))
            s_usage(stdout);
        return EX_OK;
    }
    int words = 0;
    t.cmd = s_find(rest, rargv, &words);
    if (!t.cmd && rest == 1 && s_group_usage(stdout, rargv[0]))
        return EX_OK; /* `tamctl project`: what it can do */
    if (!t.cmd && rest > 1 && s_group_usage(stderr, rargv[0])) {
        fprintf(stderr, "\ntamctl: %s has no subcommand '%s'\n", rargv[0], rargv[1]);
        return EX_USAGE;
    }
    if (!t.cmd) {
        fprintf(stderr, "tamctl: unknown command '%s'; `tamctl --help` lists them\n", rargv[0]);
        return EX_USAGE;
    }
    int crc = tam_config_load_resolved(&t.cfg, path && *path ? path : NULL, sets, nsets, err,
                                       sizeof err);
    if (crc) {
        fprintf(stderr, "tamctl: %s\n", err);
        return crc == TAM_EIO ? EX_NOINPUT : EX_CONFIG;
    }
    tam_log_init("tamctl", LOG_WARNING);
    /* Command options: --json and --help are accepted after the command too. */
    int cargc = rest - words + 1;
    char **cargv = rargv + words - 1;
    for (int i = 1; i < cargc; i++) {
        if (strcmp(cargv[i], "--help") == 0 || strcmp(cargv[i], "-h") == 0) {
            s_cmd_help(t.cmd, stdout);
            return EX_OK;
        }
        if (strcmp(cargv[i], "--") == 0)
            break;
    }
    t.zctx = zmq_ctx_new();
    if (!t.zctx)
        return EX_OSERR;
    /* Every command but the key management and restore talks to services as someone. */
    tam_sec_t *sec = NULL;
    if (strncmp(t.cmd->name, "keys", 4) != 0 && strcmp(t.cmd->name, "restore") != 0 &&
        tam_sec_new(&sec, &t.cfg, t.zctx, as ? as : t.cfg.tamctl.identity, err, sizeof err)) {
        fprintf(stderr, "tamctl: %s\n", err);
        zmq_ctx_term(t.zctx);
        return EX_CONFIG;
    }
    optind = 0; /* 0, not 1: glibc then resets its state fully, "+" mode included */
    int ex = t.cmd->run(&t, cargc, cargv);
    if (ex == EX_OK && s_damaged_seen)
        ex = EX_DATAERR; /* the output left out damaged records: not a success */
    s_close_clients();
    tam_sec_destroy(&sec);
    zmq_ctx_term(t.zctx);
    return ex;
}

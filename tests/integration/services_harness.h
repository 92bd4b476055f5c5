/* services_harness.h — the tamatch services as real processes for integration
 * tests, the one harness every integration test shares: a temporary directory
 * with a config whose endpoints are ipc:// paths inside it (curve mode, every
 * test key made), start (ready when sys.ping answers, never a fixed sleep),
 * stop with a signal (exit status), ping, and tamctl with that config, its
 * output in files or captured. Children die with the test process
 * (PR_SET_PDEATHSIG), even on a failed assertion. TAM_KEEP_TMP=1 keeps the
 * directory (logs, stores) for a look after a failure.
 * Include after <cmocka.h> and <zmq.h>. */
#ifndef TAM_SERVICES_HARNESS_H
#define TAM_SERVICES_HARNESS_H
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "tam/error.h"
#include "tam/rpc.h"
#include "curve_harness.h"

/* Not every test program uses every helper. */
#define SH_FN static __attribute__((unused))

enum { S_INGEST, S_REGISTRY, S_PIPELINE, S_MATCH, S_N };
static const char *const s_names[S_N] = {"ingest", "registry", "pipeline", "match"};

typedef struct {
    char dir[64];
    char cfg[128];
    const char *bin, *src;  /* TAM_BIN_DIR, TAM_SOURCE_DIR */
    char ep[S_N][128];      /* request endpoints */
    char pub[S_N][128];     /* feeds */
    char snap[S_N][128];    /* snapshot endpoints */
    pid_t pid[S_N];
    bool have[S_N];         /* the binary exists */
    void *zctx;             /* acts as admin (curve_harness.h) */
} h_t;

/* Extra config lines for h_new_opts; every member may be NULL. */
typedef struct {
    const char *common;       /* appended to [common] */
    const char *section[S_N]; /* appended to each service's section */
    const char *tamctl;       /* the [tamctl] lines (default "timeout = 3s\n") */
} h_opts_t;

SH_FN int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One sys.ping on client c: 0 if the service answered, else the client's
 * code (TAM_EUNAVAIL: no connection yet, TAM_ETIMEOUT: no answer). */
SH_FN int h_ping_on(tam_rpc_client_t *c)
{
    static const uint8_t empty_map = 0x80;
    tam_rpc_answer_t ans = {0};
    int rc = tam_rpc_call(c, "sys.ping", &empty_map, 1, &ans);
    if (rc == 0 && ans.status != TAM_RPC_OK)
        rc = ans.error.code ? ans.error.code : TAM_EPROTO;
    tam_rpc_answer_clear(&ans);
    return rc;
}

/* One sys.ping of service s with a fresh client. */
SH_FN int s_ping(h_t *h, int s, int timeout_ms)
{
    tam_rpc_client_t *c = NULL;
    int rc = tam_rpc_client_new(&c, h->zctx, h->ep[s], timeout_ms, 0);
    if (rc == 0)
        rc = h_ping_on(c);
    tam_rpc_client_destroy(&c);
    return rc;
}

SH_FN char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc(n > 0 ? (size_t)n + 1 : 1);
    size_t got = b && n > 0 ? fread(b, 1, (size_t)n, f) : 0;
    if (b)
        b[got] = 0;
    fclose(f);
    return b;
}

/* Prints the last 4 KiB of service s's log on stderr (after a failure). */
SH_FN void h_log_tail(h_t *h, int s)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s.log", h->dir, s_names[s]);
    char *l = s_slurp(path);
    size_t n = l ? strlen(l) : 0;
    fprintf(stderr, "--- %s (end) ---\n%s\n---\n", path, l ? l + (n > 4096 ? n - 4096 : 0) : "");
    free(l);
}

/* Starts tam-<name> (stdout and stderr appended to DIR/<name>.log) and waits
 * until it answers sys.ping, at most wait_ms. Returns 0, or -1 (the child
 * exited or was killed; its log's end printed). */
SH_FN int h_start(h_t *h, int s, int wait_ms)
{
    char exe[512], log[160];
    snprintf(exe, sizeof exe, "%s/tam-%s", h->bin, s_names[s]);
    snprintf(log, sizeof log, "%s/%s.log", h->dir, s_names[s]);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test, even on a failed assertion */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(exe, exe, "-c", h->cfg, (char *)NULL);
        _exit(127);
    }
    h->pid[s] = pid;
    /* One client for all the pings: it connects as soon as the service
     * listens, and is not torn down while its connection is being made. */
    tam_rpc_client_t *c = NULL;
    int last = tam_rpc_client_new(&c, h->zctx, h->ep[s], 100, 0), pings = 0;
    int64_t end = s_now_ms() + wait_ms;
    while (last != TAM_ENOMEM && last != TAM_EINVAL && s_now_ms() < end) {
        pings++;
        if ((last = h_ping_on(c)) == 0) {
            tam_rpc_client_destroy(&c);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            tam_rpc_client_destroy(&c);
            fprintf(stderr, "tam-%s exited during start (status %d)\n", s_names[s], st);
            h_log_tail(h, s);
            h->pid[s] = 0;
            return -1;
        }
    }
    tam_rpc_client_destroy(&c);
    fprintf(stderr, "tam-%s did not answer %d pings within %d ms (last: %s)\n", s_names[s], pings,
            wait_ms, tam_errname(last));
    h_log_tail(h, s);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    h->pid[s] = 0;
    return -1;
}

/* Starts service s, waiting at most 20 s. Returns 0 or -1. */
SH_FN int s_start(h_t *h, int s)
{
    return h_start(h, s, 20000);
}

/* Sends sig to service s and waits for it (SIGKILL after 20 s). Returns its
 * exit status (128 + signal when a signal ended it); -1 if it was not
 * running. */
SH_FN int h_stop(h_t *h, int s, int sig)
{
    if (h->pid[s] <= 0)
        return -1;
    /* A pidfd becomes readable when the child exits: poll it with a deadline. */
    int pfd = (int)syscall(SYS_pidfd_open, h->pid[s], 0);
    kill(h->pid[s], sig);
    int st = 0;
    if (pfd >= 0) {
        struct pollfd it = {pfd, POLLIN, 0};
        if (poll(&it, 1, 20000) <= 0)
            kill(h->pid[s], SIGKILL);
        close(pfd);
    }
    waitpid(h->pid[s], &st, 0);
    h->pid[s] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* SIGTERM, then the exit status (0 if it was not running; -1 if a signal
 * ended it). */
SH_FN int s_stop(h_t *h, int s)
{
    if (!h->pid[s])
        return 0;
    int st = h_stop(h, s, SIGTERM);
    return st >= 128 ? -1 : st;
}

/* Runs tamctl -c CONFIG args[0..n), stdin from in_path (NULL: /dev/null),
 * stdout to out_path and stderr to err_path (NULL: /dev/null). Returns its
 * exit status (128 + signal), or -1. */
SH_FN int h_tamctl_files(h_t *h, const char *in_path, const char *out_path, const char *err_path,
                         int n, const char *const *args)
{
    char exe[512];
    const char **argv = calloc((size_t)n + 4, sizeof *argv);
    if (!argv)
        return -1;
    snprintf(exe, sizeof exe, "%s/tamctl", h->bin);
    argv[0] = exe;
    argv[1] = "-c";
    argv[2] = h->cfg;
    for (int i = 0; i < n; i++)
        argv[3 + i] = args[i];
    pid_t pid = fork();
    if (pid < 0) {
        free(argv);
        return -1;
    }
    if (pid == 0) {
        int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
        int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0)
            _exit(126);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    free(argv);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs tamctl with the test config; stdout to out (may be NULL), stderr to
 * err (may be NULL); the arguments end with NULL. Returns the exit status. */
SH_FN int s_tamctl(h_t *h, const char *out, const char *err, ...)
{
    const char *args[64];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 64)
        args[n++] = a;
    va_end(ap);
    return h_tamctl_files(h, NULL, out, err, n, args);
}

/* Runs tamctl -c CONFIG args[0..n) with stdin from in_path (NULL:
 * /dev/null); *out and *err (malloc'd; NULL to discard) get its output.
 * Returns its exit status, or -1. */
SH_FN int h_tamctl_v(h_t *h, const char *in_path, char **out, char **err, int n,
                     const char *const *args)
{
    char opath[160], epath[160];
    snprintf(opath, sizeof opath, "%s/tamctl.out", h->dir);
    snprintf(epath, sizeof epath, "%s/tamctl.err", h->dir);
    int rc = h_tamctl_files(h, in_path, opath, epath, n, args);
    if (out)
        *out = s_slurp(opath);
    if (err)
        *err = s_slurp(epath);
    return rc;
}

/* Same with the arguments as a NULL-terminated list. */
SH_FN int h_tamctl(h_t *h, const char *in_path, char **out, char **err, ...)
{
    const char *args[64];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 64)
        args[n++] = a;
    va_end(ap);
    return h_tamctl_v(h, in_path, out, err, n, args);
}

/* Writes text to DIR/name; path gets the file's path. Returns path, or NULL. */
SH_FN const char *h_write(h_t *h, const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", h->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    return fclose(f) == 0 ? path : NULL;
}

/* A harness in a fresh /tmp/<name>.XXXXXX directory, with o's extra config
 * lines (o may be NULL). NULL if the environment is not set (ctest sets
 * TAM_BIN_DIR and TAM_SOURCE_DIR) or the directory cannot be made. */
SH_FN h_t *h_new_opts(const char *name, const h_opts_t *o)
{
    static const h_opts_t none = {0};
    if (!o)
        o = &none;
    h_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->bin = getenv("TAM_BIN_DIR");
    h->src = getenv("TAM_SOURCE_DIR");
    if (!h->bin || !h->src) {
        fprintf(stderr, "TAM_BIN_DIR and TAM_SOURCE_DIR must be set (ctest sets them)\n");
        free(h);
        return NULL;
    }
    snprintf(h->dir, sizeof h->dir, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(h->dir)) {
        free(h);
        return NULL;
    }
    snprintf(h->cfg, sizeof h->cfg, "%s/tamatch.ini", h->dir);
    FILE *f = fopen(h->cfg, "w");
    if (!f) {
        free(h);
        return NULL;
    }
    fprintf(f, "[common]\nrun_dir = %s/run\ndata_dir = %s/data\ncatalog_dir = %s/config/catalog\n"
               "heartbeat = 200ms\n%s", h->dir, h->dir, h->src, o->common ? o->common : "");
    char dir[sizeof h->dir]; /* a copy: gcc -O1 -Wrestrict sees h->dir and h->ep[s] as one object */
    memcpy(dir, h->dir, sizeof dir);
    for (int s = 0; s < S_N; s++) {
        snprintf(h->ep[s], sizeof h->ep[s], "ipc://%s/run/%s.req", dir, s_names[s]);
        snprintf(h->pub[s], sizeof h->pub[s], "ipc://%s/run/%s.pub", dir, s_names[s]);
        snprintf(h->snap[s], sizeof h->snap[s], "ipc://%s/run/%s.snap", dir, s_names[s]);
        fprintf(f, "[%s]\nendpoint = %s\nfeed = %s\nsnapshot = %s\n%s", s_names[s], h->ep[s],
                h->pub[s], h->snap[s], o->section[s] ? o->section[s] : "");
    }
    fprintf(f, "[tamctl]\n%s", o->tamctl ? o->tamctl : "timeout = 3s\n");
    fclose(f);
    h->zctx = zmq_ctx_new();
    if (!h->zctx || curve_setup(h->dir, h->cfg, h->zctx) != 0) {
        if (h->zctx)
            zmq_ctx_term(h->zctx);
        free(h);
        return NULL;
    }
    for (int s = 0; s < S_N; s++) {
        char exe[512];
        snprintf(exe, sizeof exe, "%s/tam-%s", h->bin, s_names[s]);
        h->have[s] = access(exe, X_OK) == 0;
    }
    return h;
}

/* h_new_opts with match_keys (may be NULL) as the extra lines of [match]. */
SH_FN h_t *h_new(const char *name, const char *match_keys)
{
    h_opts_t o = {0};
    o.section[S_MATCH] = match_keys;
    return h_new_opts(name, &o);
}

SH_FN int h_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* Stops every service still running, removes the directory (unless
 * TAM_KEEP_TMP is set), frees h. */
SH_FN void h_free(h_t *h)
{
    if (!h)
        return;
    for (int s = S_N - 1; s >= 0; s--)
        s_stop(h, s);
    curve_end(h->zctx);
    zmq_ctx_term(h->zctx);
    if (!getenv("TAM_KEEP_TMP"))
        nftw(h->dir, h_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(h);
}

#endif

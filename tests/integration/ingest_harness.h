/* ingest_harness.h — for the integration tests of tam-ingest: a temporary
 * directory with a config whose endpoints are ipc:// paths inside it, the
 * real tam-ingest started and stopped as a child process (readiness by
 * sys.ping with a deadline, never a fixed sleep), and tamctl runs with their
 * output captured. Header-only: each test program includes it once. */
#ifndef TAM_INGEST_HARNESS_H
#define TAM_INGEST_HARNESS_H
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
#define IH_FN static __attribute__((unused))

typedef struct {
    char dir[64];
    char cfg[128];
    char log[128];
    char ep[128];       /* request endpoint */
    char pub[128];      /* feed */
    char snap[128];     /* snapshots */
    const char *bin;    /* TAM_BIN_DIR */
    const char *src;    /* TAM_SOURCE_DIR */
    pid_t pid;
    void *zctx;
} ih_t;

IH_FN int64_t ih_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Creates the directory and config. extra (may be NULL) is appended to the
 * [ingest] section, e.g. "batch_max = 64\n". Returns 0 or -1. */
IH_FN int ih_init(ih_t *h, const char *extra)
{
    memset(h, 0, sizeof *h);
    h->bin = getenv("TAM_BIN_DIR");
    h->src = getenv("TAM_SOURCE_DIR");
    if (!h->bin || !h->src) {
        fprintf(stderr, "TAM_BIN_DIR and TAM_SOURCE_DIR must be set (ctest sets them)\n");
        return -1;
    }
    snprintf(h->dir, sizeof h->dir, "/tmp/test_ingest.XXXXXX");
    if (!mkdtemp(h->dir))
        return -1;
    snprintf(h->cfg, sizeof h->cfg, "%s/tamatch.ini", h->dir);
    snprintf(h->log, sizeof h->log, "%s/ingest.log", h->dir);
    snprintf(h->ep, sizeof h->ep, "ipc://%s/run/ingest.req", h->dir);
    snprintf(h->pub, sizeof h->pub, "ipc://%s/run/ingest.pub", h->dir);
    snprintf(h->snap, sizeof h->snap, "ipc://%s/run/ingest.snap", h->dir);
    FILE *f = fopen(h->cfg, "w");
    if (!f)
        return -1;
    fprintf(f,
            "[common]\nrun_dir = %s/run\ndata_dir = %s/data\ncatalog_dir = %s/config/catalog\n"
            "heartbeat = 200ms\n"
            "[ingest]\nendpoint = %s\nfeed = %s\nsnapshot = %s\n%s"
            "[tamctl]\ntimeout = 2s\n",
            h->dir, h->dir, h->src, h->ep, h->pub, h->snap, extra ? extra : "");
    fclose(f);
    h->zctx = zmq_ctx_new();
    return h->zctx && curve_setup(h->dir, h->cfg, h->zctx) == 0 ? 0 : -1;
}

/* One sys.ping on client c: 0 if the service answered, else the client's
 * code (TAM_EUNAVAIL: no connection yet, TAM_ETIMEOUT: no answer). */
IH_FN int ih_ping_on(tam_rpc_client_t *c)
{
    static const uint8_t empty_map = 0x80;
    tam_rpc_answer_t ans = {0};
    int rc = tam_rpc_call(c, "sys.ping", &empty_map, 1, &ans);
    if (rc == 0 && ans.status != TAM_RPC_OK)
        rc = ans.error.code ? ans.error.code : TAM_EPROTO;
    tam_rpc_answer_clear(&ans);
    return rc;
}

/* One sys.ping with a fresh client. */
IH_FN int ih_ping(ih_t *h, int timeout_ms)
{
    tam_rpc_client_t *c = NULL;
    int rc = tam_rpc_client_new(&c, h->zctx, h->ep, timeout_ms, 0);
    if (rc == 0)
        rc = ih_ping_on(c);
    tam_rpc_client_destroy(&c);
    return rc;
}

/* Starts tam-ingest (stderr appended to h->log) and waits until it answers
 * sys.ping, at most wait_ms. Returns 0 or -1 (the child is killed). */
IH_FN int ih_start(ih_t *h, int wait_ms)
{
    char exe[512];
    snprintf(exe, sizeof exe, "%s/tam-ingest", h->bin);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* dies with the test, even when an assertion leaves before teardown */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execl(exe, exe, "-c", h->cfg, (char *)NULL);
        _exit(127);
    }
    h->pid = pid;
    /* One client for all the pings: it connects as soon as the service
     * listens, and is not torn down while its connection is being made. */
    tam_rpc_client_t *c = NULL;
    int last = tam_rpc_client_new(&c, h->zctx, h->ep, 100, 0), pings = 0;
    int64_t end = ih_now_ms() + wait_ms;
    while (last != TAM_ENOMEM && last != TAM_EINVAL && ih_now_ms() < end) {
        pings++;
        if ((last = ih_ping_on(c)) == 0) {
            tam_rpc_client_destroy(&c);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            tam_rpc_client_destroy(&c);
            fprintf(stderr, "tam-ingest exited during start (status %d); see %s\n", st, h->log);
            h->pid = 0;
            return -1;
        }
    }
    tam_rpc_client_destroy(&c);
    fprintf(stderr, "tam-ingest did not answer %d pings within %d ms (last: %s); see %s\n", pings,
            wait_ms, tam_errname(last), h->log);
    if (getenv("TAM_DEBUG_HANG")) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "gdb -p %d -batch -ex 'thread apply all bt' >&2; ss -xlpn | grep %s >&2; "
                 "ss -xpn | grep %s >&2; ls -li %s/run >&2; gdb -p %d -batch -ex 'thread apply all bt' >&2",
                 (int)pid, h->dir, h->dir, h->dir, (int)getpid());
        if (system(cmd) != 0)
            fprintf(stderr, "debug commands failed\n");
        kill(pid, SIGTERM); /* its stop logs its counters */
        waitpid(pid, NULL, 0);
        h->pid = 0;
        return -1;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    h->pid = 0;
    return -1;
}

/* Sends sig and waits for the child (at most 20 s, then SIGKILL). Returns its
 * exit status (128 + signal when killed), or -1. */
IH_FN int ih_stop(ih_t *h, int sig)
{
    if (h->pid <= 0)
        return -1;
    /* A pidfd becomes readable when the child exits: poll it with a deadline. */
    int pfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
    kill(h->pid, sig);
    int st = 0;
    if (pfd >= 0) {
        struct pollfd it = {pfd, POLLIN, 0};
        if (poll(&it, 1, 20000) <= 0)
            kill(h->pid, SIGKILL);
        close(pfd);
    }
    waitpid(h->pid, &st, 0);
    h->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

IH_FN char *ih_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    if (buf)
        buf[got] = 0;
    fclose(f);
    return buf;
}

/* Runs tamctl -c CONFIG args[0..n), stdin from in_path (NULL: /dev/null);
 * *out and *err (malloc'd; NULL to discard) get its output. Returns its exit
 * status, or -1. */
IH_FN int ih_tamctl_v(ih_t *h, const char *in_path, char **out, char **err, int n,
                       const char *const *args)
{
    char exe[512], opath[160], epath[160];
    const char **argv = calloc((size_t)n + 4, sizeof *argv);
    if (!argv)
        return -1;
    snprintf(exe, sizeof exe, "%s/tamctl", h->bin);
    snprintf(opath, sizeof opath, "%s/tamctl.out", h->dir);
    snprintf(epath, sizeof epath, "%s/tamctl.err", h->dir);
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
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
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
    if (out)
        *out = ih_read_file(opath);
    if (err)
        *err = ih_read_file(epath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Same with the arguments as a NULL-terminated list. */
IH_FN int ih_tamctl(ih_t *h, const char *in_path, char **out, char **err, ...)
{
    const char *args[64];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 64)
        args[n++] = a;
    va_end(ap);
    return ih_tamctl_v(h, in_path, out, err, n, args);
}

IH_FN int ih_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

IH_FN void ih_fini(ih_t *h)
{
    if (h->pid > 0)
        ih_stop(h, SIGKILL);
    if (h->zctx) {
        curve_end(h->zctx);
        zmq_ctx_term(h->zctx);
    }
    h->zctx = NULL;
    if (h->dir[0] && !getenv("TAM_KEEP_TMP"))
        nftw(h->dir, ih_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to DIR/name and returns the path (static buffer per call site
 * is not needed: the caller passes buf). */
IH_FN const char *ih_write(ih_t *h, const char *name, const char *text, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", h->dir, name);
    FILE *f = fopen(buf, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return buf;
}

#endif

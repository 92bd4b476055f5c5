/* services_harness.h — the four tamatch services as real processes for
 * integration tests: a temporary directory with a config whose endpoints are
 * ipc:// paths inside it, start (ready when sys.ping answers), stop (SIGTERM,
 * exit status), ping, and tamctl with that config. Children die with the
 * test process (PR_SET_PDEATHSIG), even on a failed assertion.
 * Include after <cmocka.h>, <zmq.h> and the system headers it uses. */
#ifndef TAM_SERVICES_HARNESS_H
#define TAM_SERVICES_HARNESS_H
#include "tam/error.h"
#include "tam/rpc.h"
#include "curve_harness.h"

enum { S_INGEST, S_REGISTRY, S_PIPELINE, S_MATCH, S_N };
static const char *const s_names[S_N] = {"ingest", "registry", "pipeline", "match"};

typedef struct {
    char dir[64];
    char cfg[128];
    const char *bin, *src;
    pid_t pid[S_N];
    bool have[S_N];
    void *zctx;
} h_t;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_ping(h_t *h, int s, int timeout_ms)
{
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/run/%s.req", h->dir, s_names[s]);
    tam_rpc_client_t *c = NULL;
    int rc = tam_rpc_client_new(&c, h->zctx, ep, timeout_ms, 0);
    if (rc == 0) {
        static const uint8_t empty_map = 0x80;
        tam_rpc_answer_t ans = {0};
        rc = tam_rpc_call(c, "sys.ping", &empty_map, 1, &ans);
        if (rc == 0 && ans.status != TAM_RPC_OK)
            rc = TAM_EPROTO;
        tam_rpc_answer_clear(&ans);
    }
    tam_rpc_client_destroy(&c);
    return rc;
}

/* Starts tam-<name> with the test config; waits until it answers sys.ping. */
static int s_start(h_t *h, int s)
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
    int64_t deadline = s_now_ms() + 20000;
    while (s_now_ms() < deadline) {
        if (s_ping(h, s, 200) == 0)
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            h->pid[s] = 0;
            return -1;
        }
    }
    return -1;
}

/* SIGTERM, then wait for the exit status (SIGKILL after 10 s). */
static int s_stop(h_t *h, int s)
{
    if (!h->pid[s])
        return 0;
    kill(h->pid[s], SIGTERM);
    int st = 0;
    int64_t deadline = s_now_ms() + 10000;
    while (waitpid(h->pid[s], &st, WNOHANG) == 0) {
        if (s_now_ms() > deadline) {
            kill(h->pid[s], SIGKILL);
            waitpid(h->pid[s], &st, 0);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling a child's exit, not synchronisation */
    }
    h->pid[s] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs tamctl with the test config; stdout to out (may be NULL), stderr to
 * err (may be NULL). Returns the exit status. */
static int s_tamctl(h_t *h, const char *out, const char *err, ...)
{
    const char *argv[64];
    char exe[512];
    snprintf(exe, sizeof exe, "%s/tamctl", h->bin);
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "-c";
    argv[n++] = h->cfg;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 62)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

/* A harness in a fresh /tmp/<name>.XXXXXX directory; match_keys are extra
 * lines for the [match] section. NULL if the environment is not set (ctest
 * sets TAM_BIN_DIR and TAM_SOURCE_DIR) or the directory cannot be made. */
static h_t *h_new(const char *name, const char *match_keys)
{
    h_t *h = calloc(1, sizeof *h);
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
    fprintf(f, "[common]\nrun_dir = %s/run\ndata_dir = %s/data\ncatalog_dir = %s/config/catalog\n"
               "heartbeat = 200ms\n", h->dir, h->dir, h->src);
    for (int s = 0; s < S_N; s++)
        fprintf(f, "[%s]\nendpoint = ipc://%s/run/%s.req\nfeed = ipc://%s/run/%s.pub\n"
                   "snapshot = ipc://%s/run/%s.snap\n%s", s_names[s], h->dir, s_names[s], h->dir,
                s_names[s], h->dir, s_names[s], s == S_MATCH && match_keys ? match_keys : "");
    fprintf(f, "[tamctl]\ntimeout = 3s\n");
    fclose(f);
    h->zctx = zmq_ctx_new();
    if (curve_setup(h->dir, h->cfg, h->zctx) != 0) {
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

/* Stops every service still running, removes the directory, frees h. */
static void h_free(h_t *h)
{
    if (!h)
        return;
    for (int s = S_N - 1; s >= 0; s--)
        s_stop(h, s);
    curve_end(h->zctx);
    zmq_ctx_term(h->zctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", h->dir);
    free(h);
}

#endif

/* bench_ingest — how fast tam-ingest takes replies, measured against raw
 * ZeroMQ in the same run.
 *
 *   1. baseline: raw ZeroMQ PUSH/PULL over ipc:// between two threads, with
 *      messages of the size of the benchmark's reply;
 *   2. the real tam-ingest (started from the directory of this program, a
 *      fresh data directory, durable commits as in production) taking N
 *      replies from one client with W requests outstanding: acknowledged,
 *      i.e. committed, replies per second, and the ratio to the baseline;
 *      meanwhile the service's resident memory is sampled (VmHWM is the
 *      peak; RssAnon is what is not LMDB's file mapping);
 *   3. ack latency with one request outstanding: p50, p99;
 *   4. a flood: N more replies sent as fast as the sockets take them, with
 *      no window (the client reads answers only when its queue is full):
 *      the service's memory must stay bounded by the frame caps and the
 *      high-water marks, not grow with what clients send.
 *
 * usage: bench_ingest [-n REPLIES] [-w WINDOW] [-b BATCH_MAX] [-l LATENCY_SAMPLES]
 *                     [-m RAW_MESSAGES]     (BATCH_MAX: [ingest] batch_max, default 256)
 * Build Release without sanitizers for meaningful figures (a warning says so
 * otherwise). Nothing is asserted: this prints figures. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "tam/codec.h"
#include "tam/error.h"
#include "tam/proto.h"
#include "tam/rpc.h"

#ifndef TAM_BENCH_BUILD_TYPE
#define TAM_BENCH_BUILD_TYPE ""
#endif
#ifndef TAM_BENCH_SANITIZE
#define TAM_BENCH_SANITIZE 0
#endif

static char g_dir[64], g_cfg[128], g_ep[160], g_bin[512];

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The benchmark reply number i: an NGO's first reply to category A with
 * three needs and short findings, about 1.3 KB of msgpack. */
static int s_reply(size_t i, msgpack_sbuffer *sb)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"respondent\":{\"type\":\"ngo\",\"id\":\"bench-%08zu\",\"name\":\"Benchmark NGO\"},"
             "\"instrument\":{\"category\":\"A\",\"version\":1},\"submitted\":\"2026-10-15\","
             "\"completeness\":%zu,\"answers\":[{\"standard\":\"A-SMR\",\"state\":\"need\"},"
             "{\"standard\":\"A-TOKYO\",\"state\":\"need\"},{\"standard\":\"A-BPTP\",\"state\":\"no_need\"}],"
             "\"needs\":["
             "{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"training\",\"priority\":5,"
             "\"cost\":180000,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\",\"text\":\"Training of "
             "prison officers in the Nelson Mandela Rules, three regional cohorts.\"},"
             "{\"country\":\"UGA\",\"standard\":\"A-SMR\",\"modality\":\"tools\",\"priority\":3,"
             "\"cost\":25000,\"start\":\"2027-03-01\",\"end\":\"2027-09-30\",\"text\":\"Handbook on "
             "prison management for regional commanders.\"},"
             "{\"country\":\"TZA\",\"standard\":\"A-TOKYO\",\"modality\":\"advisory\",\"priority\":4,"
             "\"cost\":%zu,\"start\":\"2027-02-01\",\"end\":\"2027-11-30\",\"text\":\"Advice on "
             "non-custodial measures and probation services.\"}],"
             "\"difficulties\":[{\"standard\":\"A-SMR\",\"text\":\"Overcrowding in remand facilities "
             "limits separation of categories of prisoners.\"}],"
             "\"assistance\":[{\"standard\":\"A-SMR\",\"text\":\"A training-of-trainers programme for "
             "the prison service college.\"}],"
             "\"practices\":[{\"standard\":\"A-TOKYO\",\"text\":\"Community service orders supervised "
             "by local councils reduced short prison terms.\"}]}",
             i, i % 101, 10000 + i % 90000);
    tam_codec_err_t cerr;
    return tam_json_to_msgpack(json, strlen(json), sb, &cerr);
}

/* ---- 1. raw ZeroMQ PUSH/PULL ------------------------------------------------ */

typedef struct {
    void *ctx;
    size_t n, size;
    double t_end;
} s_pull_t;

static void *s_puller(void *arg)
{
    s_pull_t *p = arg;
    void *s = zmq_socket(p->ctx, ZMQ_PULL);
    int zero = 0;
    char ep[200];
    snprintf(ep, sizeof ep, "ipc://%s/raw.sock", g_dir);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_bind(s, ep);
    char *buf = malloc(p->size + 64);
    for (size_t i = 0; i <= p->n; i++) /* message 0 is the start signal */
        if (zmq_recv(s, buf, p->size + 64, 0) < 0)
            break;
    p->t_end = s_now();
    free(buf);
    zmq_close(s);
    return NULL;
}

/* Messages per second from PUSH to PULL over ipc, messages of size bytes. */
static double s_raw(size_t n, size_t size)
{
    s_pull_t p = {zmq_ctx_new(), n, size, 0};
    pthread_t th;
    pthread_create(&th, NULL, s_puller, &p);
    void *s = zmq_socket(p.ctx, ZMQ_PUSH);
    int zero = 0;
    char ep[200];
    snprintf(ep, sizeof ep, "ipc://%s/raw.sock", g_dir);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, ep);
    char *msg = calloc(1, size);
    zmq_send(s, msg, size, 0); /* waits for the connection */
    double t0 = s_now();
    for (size_t i = 0; i < n; i++)
        zmq_send(s, msg, size, 0);
    pthread_join(th, NULL);
    free(msg);
    zmq_close(s);
    zmq_ctx_term(p.ctx);
    return (double)n / (p.t_end - t0);
}

/* ---- the service --------------------------------------------------------------- */

static pid_t s_start(void *zctx)
{
    char exe[600], log[160];
    snprintf(exe, sizeof exe, "%s/tam-ingest", g_bin);
    snprintf(log, sizeof log, "%s/ingest.log", g_dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 2);
        dup2(fd, 1);
        execl(exe, exe, "-c", g_cfg, (char *)NULL);
        _exit(127);
    }
    double end = s_now() + 30;
    while (s_now() < end) {
        tam_rpc_client_t *c = NULL;
        tam_rpc_answer_t ans = {0};
        static const uint8_t map0 = 0x80;
        int ok = tam_rpc_client_new(&c, zctx, g_ep, 200, 0) == 0 &&
                 tam_rpc_call(c, "sys.ping", &map0, 1, &ans) == 0 && ans.status == TAM_RPC_OK;
        tam_rpc_answer_clear(&ans);
        tam_rpc_client_destroy(&c);
        if (ok)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
    }
    fprintf(stderr, "bench_ingest: %s did not start; see %s\n", exe, log);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int s_stop(pid_t pid)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0), st = 0;
    kill(pid, SIGTERM);
    if (pfd >= 0) {
        struct pollfd it = {pfd, POLLIN, 0};
        if (poll(&it, 1, 30000) <= 0)
            kill(pid, SIGKILL);
        close(pfd);
    }
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* kB of a line of /proc/PID/status ("VmHWM", "VmRSS", "RssAnon"). */
static long s_status_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            v = strtol(line + kl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* ---- 2. streaming with a window ------------------------------------------------ */

typedef struct {
    double rate;
    long hwm_kb, anon_peak_kb, rss_kb;
    size_t errors;
} s_stream_t;

static int s_stream(void *zctx, pid_t pid, size_t n, int window, s_stream_t *out)
{
    tam_rpc_client_t *c = NULL;
    if (tam_rpc_client_new(&c, zctx, g_ep, 10000, 0))
        return -1;
    /* Bodies are made before the clock starts. */
    msgpack_sbuffer *bodies = calloc(n, sizeof *bodies);
    for (size_t i = 0; i < n; i++)
        if (s_reply(i, &bodies[i]))
            return -1;
    size_t sent = 0, acked = 0;
    double t0 = s_now(), next_sample = t0;
    out->anon_peak_kb = 0;
    out->errors = 0;
    while (acked < n) {
        while (sent < n && sent - acked < (size_t)window) {
            char id[32];
            snprintf(id, sizeof id, "bench-%08zu", sent);
            if (tam_rpc_client_send(c, id, "ingest.submit", bodies[sent].data, bodies[sent].size))
                return -1;
            sent++;
        }
        tam_rpc_answer_t ans = {0};
        int rc = tam_rpc_client_recv(c, 10000, &ans);
        if (rc) {
            fprintf(stderr, "bench_ingest: no answer for 10 s (%zu acked)\n", acked);
            return -1;
        }
        if (ans.status != TAM_RPC_OK && out->errors++ == 0)
            fprintf(stderr, "bench_ingest: refused: %s: %s\n", ans.error.field, ans.error.message);
        acked++;
        tam_rpc_answer_clear(&ans);
        double now = s_now();
        if (now >= next_sample) {
            long a = s_status_kb(pid, "RssAnon");
            if (a > out->anon_peak_kb)
                out->anon_peak_kb = a;
            next_sample = now + 0.05;
        }
    }
    out->rate = (double)n / (s_now() - t0);
    long a = s_status_kb(pid, "RssAnon");
    if (a > out->anon_peak_kb)
        out->anon_peak_kb = a;
    out->hwm_kb = s_status_kb(pid, "VmHWM");
    out->rss_kb = s_status_kb(pid, "VmRSS");
    for (size_t i = 0; i < n; i++)
        msgpack_sbuffer_destroy(&bodies[i]);
    free(bodies);
    tam_rpc_client_destroy(&c);
    return 0;
}

/* ---- 4. flood: no window ------------------------------------------------------- */

static int s_flood(void *zctx, pid_t pid, size_t n, size_t first, size_t *answered,
                   long *anon_peak_kb, double *secs)
{
    tam_rpc_client_t *c = NULL;
    if (tam_rpc_client_new(&c, zctx, g_ep, 20, 0))
        return -1;
    size_t sent = 0;
    *answered = 0;
    *anon_peak_kb = 0;
    double t0 = s_now(), next_sample = t0, quiet_until = 0;
    while (sent < n || s_now() < quiet_until) {
        if (sent < n) {
            msgpack_sbuffer sb;
            char id[32];
            s_reply(first + sent, &sb);
            snprintf(id, sizeof id, "bench-%08zu", first + sent);
            int rc = tam_rpc_client_send(c, id, "ingest.submit", sb.data, sb.size);
            msgpack_sbuffer_destroy(&sb);
            if (rc == 0) {
                sent++;
                if (sent == n)
                    quiet_until = s_now() + 3;
                continue;
            }
        }
        /* The queue is full (or all is sent): take what has come back. */
        tam_rpc_answer_t ans = {0};
        while (tam_rpc_client_recv(c, sent < n ? 0 : 100, &ans) == 0) {
            (*answered)++;
            tam_rpc_answer_clear(&ans);
            if (sent == n)
                quiet_until = s_now() + 3;
        }
        tam_rpc_answer_clear(&ans);
        double now = s_now();
        if (now >= next_sample) {
            long a = s_status_kb(pid, "RssAnon");
            if (a > *anon_peak_kb)
                *anon_peak_kb = a;
            next_sample = now + 0.05;
        }
        if (sent == n && *answered == n)
            break;
    }
    *secs = s_now() - t0;
    tam_rpc_client_destroy(&c);
    return 0;
}

/* Replies stored (any status), counted through ingest.replies. */
static size_t s_stored(void *zctx)
{
    tam_rpc_client_t *c = NULL;
    size_t n = 0;
    uint64_t after = 0;
    if (tam_rpc_client_new(&c, zctx, g_ep, 10000, 1))
        return 0;
    do {
        char q[128];
        msgpack_sbuffer sb;
        tam_codec_err_t cerr;
        snprintf(q, sizeof q, "{\"status\":\"any\",\"after\":%llu,\"limit\":1000}",
                 (unsigned long long)after);
        tam_json_to_msgpack(q, strlen(q), &sb, &cerr);
        tam_rpc_answer_t ans = {0};
        int rc = tam_rpc_call(c, "ingest.replies", sb.data, sb.size, &ans);
        msgpack_sbuffer_destroy(&sb);
        tam_arena_t *a = tam_arena_new(0);
        tam_reply_list_t l;
        memset(&l, 0, sizeof l);
        after = 0;
        if (rc == 0 && ans.status == TAM_RPC_OK && a &&
            tam_decode(&tam_schema_reply_list, ans.body, ans.len, a, &l, &cerr) == 0) {
            n += l.items.n;
            after = l.next;
        }
        tam_arena_destroy(&a);
        tam_rpc_answer_clear(&ans);
    } while (after);
    tam_rpc_client_destroy(&c);
    return n;
}

/* ---- 3. latency, one outstanding ------------------------------------------------ */

static int s_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int s_latency(void *zctx, size_t n, size_t first, double *p50, double *p99)
{
    tam_rpc_client_t *c = NULL;
    if (tam_rpc_client_new(&c, zctx, g_ep, 10000, 0))
        return -1;
    double *lat = calloc(n, sizeof *lat);
    for (size_t i = 0; i < n; i++) {
        msgpack_sbuffer sb;
        char id[32];
        s_reply(first + i, &sb);
        snprintf(id, sizeof id, "bench-%08zu", first + i);
        tam_rpc_answer_t ans = {0};
        double t = s_now();
        int rc = tam_rpc_call_id(c, id, "ingest.submit", sb.data, sb.size, &ans);
        lat[i] = (s_now() - t) * 1e6;
        msgpack_sbuffer_destroy(&sb);
        tam_rpc_answer_clear(&ans);
        if (rc)
            return -1;
    }
    qsort(lat, n, sizeof *lat, s_dbl_cmp);
    *p50 = lat[n / 2];
    *p99 = lat[(n * 99) / 100];
    free(lat);
    tam_rpc_client_destroy(&c);
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    size_t n = 100000, lat_n = 2000, raw_n = 500000;
    int window = 256, batch = 256, opt;
    while ((opt = getopt(argc, argv, "n:w:b:l:m:h")) != -1) {
        switch (opt) {
        case 'n': n = strtoul(optarg, NULL, 10); break;
        case 'b': batch = atoi(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'l': lat_n = strtoul(optarg, NULL, 10); break;
        case 'm': raw_n = strtoul(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: bench_ingest [-n REPLIES] [-w WINDOW] [-b BATCH_MAX] "
                            "[-l LATENCY_SAMPLES] [-m RAW_MESSAGES]\n");
            return opt == 'h' ? 0 : 64;
        }
    }
    if (n < 1 || window < 1 || batch < 1 || lat_n < 1 || raw_n < 1)
        return 64;
    const char *src = getenv("TAM_SOURCE_DIR");
    char self[512];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return 71;
    self[sl] = 0;
    snprintf(g_bin, sizeof g_bin, "%s", dirname(self));
    char catalog[600];
    snprintf(catalog, sizeof catalog, "%s/../config/catalog", g_bin);
    if (src)
        snprintf(catalog, sizeof catalog, "%s/config/catalog", src);
    else if (access(catalog, R_OK) != 0)
        snprintf(catalog, sizeof catalog, "%s/../../config/catalog", g_bin);

    snprintf(g_dir, sizeof g_dir, "/tmp/bench_ingest.XXXXXX");
    if (!mkdtemp(g_dir))
        return 73;
    snprintf(g_cfg, sizeof g_cfg, "%s/tamatch.ini", g_dir);
    snprintf(g_ep, sizeof g_ep, "ipc://%s/run/ingest.req", g_dir);
    FILE *f = fopen(g_cfg, "w");
    fprintf(f,
            "[common]\ndata_dir = %s/data\ncatalog_dir = %s\nlog_level = notice\n"
            "[ingest]\nendpoint = %s\nfeed = ipc://%s/run/ingest.pub\n"
            "snapshot = ipc://%s/run/ingest.snap\nmap_size = 1G\nbatch_max = %d\n",
            g_dir, catalog, g_ep, g_dir, g_dir, batch);
    fclose(f);

    if (TAM_BENCH_SANITIZE || strcmp(TAM_BENCH_BUILD_TYPE, "Release") != 0)
        printf("WARNING: build type \"%s\"%s: configure with -DCMAKE_BUILD_TYPE=Release and "
               "without TAM_SANITIZE for meaningful figures\n",
               TAM_BENCH_BUILD_TYPE, TAM_BENCH_SANITIZE ? ", sanitizers on" : "");
    msgpack_sbuffer sample;
    s_reply(0, &sample);
    size_t size = sample.size;
    msgpack_sbuffer_destroy(&sample);

    void *zctx = zmq_ctx_new();
    printf("bench_ingest: %zu replies of %zu bytes, window %d, batch_max %d; durable commits "
           "(default LMDB sync)\n",
           n, size, window, batch);
    double raw = s_raw(raw_n, size);
    printf("  raw ZeroMQ PUSH/PULL, ipc, %zu B:      %10.0f msg/s (%zu messages)\n", size, raw,
           raw_n);

    pid_t pid = s_start(zctx);
    if (pid < 0)
        return 69;
    long rss0 = s_status_kb(pid, "VmRSS");
    s_stream_t st;
    if (s_stream(zctx, pid, n, window, &st) != 0) {
        kill(pid, SIGKILL);
        return 70;
    }
    printf("  tam-ingest, acked durable replies:     %10.0f replies/s  ratio %.3f of raw "
           "(goal >= 0.4)%s\n",
           st.rate, st.rate / raw, st.errors ? "  (SOME REFUSED)" : "");
    printf("  tam-ingest memory: peak RSS (VmHWM) %.1f MiB, of which anonymous at most %.1f MiB "
           "(the rest is LMDB's mapped file); %.1f MiB at start, %.1f MiB at the end\n",
           (double)st.hwm_kb / 1024, (double)st.anon_peak_kb / 1024, (double)rss0 / 1024,
           (double)st.rss_kb / 1024);
    printf("RESULT\tingest\tdurable acked replies/s, %d out\t%.0f\traw ZeroMQ PUSH/PULL\t%.0f\t%.3f\t"
           ">= 0.4\n", window, st.rate, raw, st.rate / raw);
    printf("RESULT\tingest\tanonymous memory MiB, %zu replies\t%.1f\t-\t-\t-\tbounded\n", n,
           (double)st.anon_peak_kb / 1024);
    double p50, p99;
    if (s_latency(zctx, lat_n, n, &p50, &p99) == 0) {
        printf("  ack latency, 1 outstanding (%zu):      p50 %.0f us, p99 %.0f us\n", lat_n, p50,
               p99);
        printf("RESULT\tingest\tack latency p50/p99 us, 1 out\t%.0f/%.0f\t-\t-\t-\t-\n", p50, p99);
    }
    size_t answered;
    long flood_anon;
    double flood_secs;
    size_t before = s_stored(zctx);
    if (s_flood(zctx, pid, n, n + lat_n, &answered, &flood_anon, &flood_secs) == 0)
        printf("  flood, no window: %zu sent in %.1f s, %zu stored, %zu answered (answers a client\n"
               "    does not read are dropped at the high-water mark; it resends the same ids);\n"
               "    tam-ingest RssAnon at most %.1f MiB, VmHWM %.1f MiB\n",
               n, flood_secs, s_stored(zctx) - before, answered, (double)flood_anon / 1024,
               (double)s_status_kb(pid, "VmHWM") / 1024);
    int ex = s_stop(pid);
    if (ex != 0)
        printf("  tam-ingest exited %d on SIGTERM (see %s/ingest.log)\n", ex, g_dir);
    zmq_ctx_term(zctx);
    if (ex == 0 && !getenv("TAM_KEEP_TMP"))
        nftw(g_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    return ex == 0 ? 0 : 70;
}

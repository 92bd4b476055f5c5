/* bench_snapshot — issue 17's goal "ping p99 < 50 ms with 10 stuck
 * requesters", measured on the real tam-registry (curve mode, the default)
 * holding tam-gen's projects (20,000 by default: a snapshot of ~12 MB):
 *
 *   rounds alternate, in the same run:
 *     - baseline: sys.ping over the request socket, one outstanding, for
 *       ROUND_MS;
 *     - stuck: 10 new snapshot requesters (DEALER, valid key, receive queue
 *       of one message and a 4 KiB socket buffer) each ask for the whole
 *       snapshot and never read; meanwhile the same pings for ROUND_MS.
 *       They are closed at the end of the round, and new ones come in the
 *       next (the service abandons a requester that takes nothing).
 *   Prints ping p50/p99/max of both, their ratio, the service's user CPU
 *   time during each kind of round, its memory, and the load average.
 *
 * usage: bench_snapshot [-p PROJECTS] [-n ROUNDS] [-t ROUND_MS]
 * Run from the repository root (scripts/bench does); binaries come from
 * this program's directory. Prints RESULT rows and a GOAL line; asserts
 * nothing. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>
#include "tam/error.h"
#include "tam/rpc.h"
#include "tam/sec.h"
#include "../integration/services_harness.h"

#define STUCK 10

static double s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int s_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* User CPU seconds of process pid so far (utime from /proc). */
static double s_utime(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0;
    /* after ")": state, then fields 4..13, utime is field 14 */
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu", &ut) != 1)
        ut = 0;
    return (double)ut / (double)sysconf(_SC_CLK_TCK);
}

/* A "VmRSS:"-style field of /proc/pid/status in KiB (0 if absent). */
static long s_status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = 0;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0)
            v = atol(line + n);
    if (f)
        fclose(f);
    return v;
}

typedef struct {
    double *v;
    size_t n, cap;
} s_lat_t;

static void s_add(s_lat_t *l, double x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = x;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(s_lat_t *l, double p)
{
    if (l->n == 0)
        return 0;
    qsort(l->v, l->n, sizeof *l->v, s_cmp);
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return l->v[i];
}

/* Pings for ms milliseconds, one outstanding; adds each latency to l.
 * Returns the number of pings that failed. */
static int s_pings(tam_rpc_client_t *c, double ms, s_lat_t *l)
{
    int failed = 0;
    double end = s_ms() + ms;
    while (s_ms() < end) {
        double t0 = s_ms();
        if (h_ping_on(c) != 0)
            failed++;
        else
            s_add(l, s_ms() - t0);
    }
    return failed;
}

/* Reads one whole snapshot of service svc as a subscriber would; returns
 * its records, or -1 (no "end" within 30 s). */
static long s_read_snapshot(h_t *h, int svc)
{
    static const uint8_t req[] = {0x81, 0xa6, 'p', 'r', 'e', 'f', 'i', 'x', 0xa0};
    void *d = zmq_socket(h->zctx, ZMQ_DEALER);
    int zero = 0, ms = 30000;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &ms, sizeof ms);
    long recs = -1;
    if (tam_sec_client_socket(h->zctx, d, h->snap[svc]) == 0 && zmq_connect(d, h->snap[svc]) == 0 &&
        zmq_send(d, req, sizeof req, 0) == (int)sizeof req) {
        long n = 0;
        for (;;) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, d, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            int end = zmq_msg_size(&m) == 3 && memcmp(zmq_msg_data(&m), "end", 3) == 0;
            n += zmq_msg_size(&m) == 3 && memcmp(zmq_msg_data(&m), "rec", 3) == 0;
            while (zmq_msg_more(&m)) {
                zmq_msg_close(&m);
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, d, 0) < 0)
                    break;
            }
            zmq_msg_close(&m);
            if (end) {
                recs = n;
                break;
            }
        }
    }
    zmq_close(d);
    return recs;
}

int main(int argc, char **argv)
{
    int projects = 20000, rounds = 6, opt;
    double round_ms = 1500;
    while ((opt = getopt(argc, argv, "p:n:t:")) != -1) {
        switch (opt) {
        case 'p': projects = atoi(optarg); break;
        case 'n': rounds = atoi(optarg); break;
        case 't': round_ms = atof(optarg); break;
        default:
            fprintf(stderr, "usage: bench_snapshot [-p PROJECTS] [-n ROUNDS] [-t ROUND_MS]\n");
            return 64;
        }
    }
    if (projects < 1 || projects > 100000 || rounds < 1 || round_ms < 100) {
        fprintf(stderr, "usage: bench_snapshot [-p PROJECTS] [-n ROUNDS] [-t ROUND_MS>=100]\n");
        return 64;
    }
    static char bin[PATH_MAX], src[PATH_MAX];
    ssize_t bl = readlink("/proc/self/exe", bin, sizeof bin - 1);
    if (bl <= 0)
        return 1;
    bin[bl] = 0;
    *strrchr(bin, '/') = 0;
    if (!getenv("TAM_SOURCE_DIR") && getcwd(src, sizeof src))
        setenv("TAM_SOURCE_DIR", src, 1);
    setenv("TAM_BIN_DIR", bin, 0);
    h_t *h = h_new("bench_snapshot", NULL);
    if (!h)
        return 1;
    fprintf(stderr, "generating %d projects\n", projects);
    if (s_sh("'%s/tam-gen' --seed 12 --replies 1 --projects %d --out '%s/gen' >&2", h->bin,
             projects, h->dir) ||
        s_start(h, S_REGISTRY) != 0) {
        fprintf(stderr, "tam-gen or tam-registry failed (see %s)\n", h->dir);
        return 1;
    }
    double t0 = s_ms();
    if (s_sh("'%s/tamctl' -c '%s' -q donor add '%s/gen/donors.json' >&2 && "
             "'%s/tamctl' -c '%s' -q project add '%s/gen/projects.json' >&2",
             h->bin, h->cfg, h->dir, h->bin, h->cfg, h->dir)) {
        fprintf(stderr, "loading the projects failed\n");
        return 1;
    }
    fprintf(stderr, "loaded in %.1f s\n", (s_ms() - t0) / 1e3);

    double t1 = s_ms();
    long recs = s_read_snapshot(h, S_REGISTRY);
    fprintf(stderr, "a reader's snapshot: %ld records in %.0f ms\n", recs, s_ms() - t1);
    if (recs <= 0) {
        fprintf(stderr, "no snapshot from tam-registry (see %s)\n", h->dir);
        return 1;
    }
    tam_rpc_client_t *c = NULL;
    if (tam_rpc_client_new(&c, h->zctx, h->ep[S_REGISTRY], 5000, 0) != 0)
        return 1;
    s_lat_t base = {0}, stuck = {0};
    int failed = 0;
    double cpu_base = 0, cpu_stuck = 0;
    long rss_base = s_status_kib(h->pid[S_REGISTRY], "VmRSS:"), rss_stuck = 0;
    static const uint8_t req[] = {0x81, 0xa6, 'p', 'r', 'e', 'f', 'i', 'x', 0xa0}; /* {"prefix":""} */
    for (int r = 0; r < rounds; r++) {
        double u0 = s_utime(h->pid[S_REGISTRY]);
        failed += s_pings(c, round_ms, &base);
        double u1 = s_utime(h->pid[S_REGISTRY]);
        void *d[STUCK];
        for (int i = 0; i < STUCK; i++) {
            d[i] = zmq_socket(h->zctx, ZMQ_DEALER);
            int zero = 0, one = 1, small = 4096;
            zmq_setsockopt(d[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_setsockopt(d[i], ZMQ_RCVHWM, &one, sizeof one);
            zmq_setsockopt(d[i], ZMQ_RCVBUF, &small, sizeof small);
            if (tam_sec_client_socket(h->zctx, d[i], h->snap[S_REGISTRY]) != 0 ||
                zmq_connect(d[i], h->snap[S_REGISTRY]) != 0 ||
                zmq_send(d[i], req, sizeof req, 0) != (int)sizeof req) {
                fprintf(stderr, "a stuck requester could not be set up\n");
                return 1;
            }
        }
        failed += s_pings(c, round_ms, &stuck);
        double u2 = s_utime(h->pid[S_REGISTRY]);
        long rss = s_status_kib(h->pid[S_REGISTRY], "VmRSS:");
        rss_stuck = rss > rss_stuck ? rss : rss_stuck;
        for (int i = 0; i < STUCK; i++)
            zmq_close(d[i]);
        cpu_base += u1 - u0;
        cpu_stuck += u2 - u1;
    }
    size_t nb = base.n, ns = stuck.n;
    double b50 = s_pct(&base, 0.5), b99 = s_pct(&base, 0.99), bmax = s_pct(&base, 1.0);
    double s50 = s_pct(&stuck, 0.5), s99 = s_pct(&stuck, 0.99), smax = s_pct(&stuck, 1.0);
    double load[3] = {0};
    getloadavg(load, 3);
    printf("# tam-registry, tam-gen %d projects, snapshot of %ld records, %d rounds of %.0f ms each "
           "way, load average %.2f\n",
           projects, recs, rounds, round_ms, load[0]);
    printf("# pings: baseline %zu (p50 %.2f ms, max %.2f), with %d stuck requesters %zu (p50 "
           "%.2f ms, max %.2f), failed %d\n",
           nb, b50, bmax, STUCK, ns, s50, smax, failed);
    printf("# tam-registry user CPU: %.2f s in baseline rounds, %.2f s in stuck rounds\n", cpu_base,
           cpu_stuck);
    printf("# tam-registry RSS: %ld KiB before the rounds, at most %ld KiB at the end of a stuck "
           "round, peak (VmHWM) %ld KiB\n",
           rss_base, rss_stuck, s_status_kib(h->pid[S_REGISTRY], "VmHWM:"));
    printf("RESULT\tstuck-snapshot-ping\tping p99 ms, %d requesters never reading\t%.2f\tping p99 "
           "ms, none\t%.2f\t%.3f\t< 50 ms\n",
           STUCK, s99, b99, b99 > 0 ? s99 / b99 : 0);
    printf("RESULT\tstuck-snapshot-ping\tping max ms, %d requesters never reading\t%.2f\tping max "
           "ms, none\t%.2f\t%.3f\t-\n",
           STUCK, smax, bmax, bmax > 0 ? smax / bmax : 0);
    printf("GOAL stuck-snapshot-ping: %.2f ms (goal < 50 ms) %s\n", s99,
           failed == 0 && ns > 0 && s99 < 50 ? "met" : "not met");
    tam_rpc_client_destroy(&c);
    free(base.v);
    free(stuck.v);
    h_free(h);
    return 0;
}

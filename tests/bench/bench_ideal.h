/* bench_ideal.h — the ideal durable intake pipeline (bench_ideal.c), served
 * from a thread of bench_ingest so that tam-ingest is measured against it in
 * the same run. */
#ifndef BENCH_IDEAL_H
#define BENCH_IDEAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *dir;      /* scratch directory: the LMDB environment goes in DIR/ideal */
    const char *endpoint; /* where to serve, e.g. ipc://DIR/run/ideal.req */
    const char *cfg_path; /* the benchmark's config (curve: keys of "ingest") */
    bool curve;           /* serve with tam-ingest's CURVE key */
    void *client_zctx;    /* the client's context: the endpoint is mapped to that key */
    unsigned batch_max;   /* requests per commit at most (0: 256) */
} bench_ideal_opts_t;

typedef struct {
    uint64_t replies, commits;
    double cpu_s;          /* the server thread's CPU time */
    long long write_bytes; /* bytes written to disk by the process meanwhile (/proc/self/io) */
    void *thread_;         /* private */
} bench_ideal_stats_t;

typedef struct bench_ideal bench_ideal_t;

/* Opens DIR/ideal and starts serving. Returns 0 or -1 (printed). */
int bench_ideal_start(bench_ideal_t **out, const bench_ideal_opts_t *o);

/* Stops the server, fills *st (may be NULL) and frees everything.
 * Returns 0, or -1 if a batch failed. */
int bench_ideal_stop(bench_ideal_t **x, bench_ideal_stats_t *st);

/* /proc counters of a process (pid 0: this one): CPU seconds (user +
 * system, all threads) and bytes it caused to be written to disk; -1 when
 * unreadable. */
double bench_proc_cpu(int pid);
long long bench_proc_write_bytes(int pid);

/* Bytes of the LMDB environment in dir in use (pages up to the last one
 * used, times the page size), read through a read-only open; -1 on error.
 * dir NULL: the ideal pipeline's own environment (while it runs). */
long long bench_store_bytes(const char *dir);

/* Messages per second from PUSH to PULL over ipc://DIR/raw.sock between two
 * threads, n messages of size bytes: the raw ZeroMQ baseline. */
double bench_raw(const char *dir, size_t n, size_t size);

/* Counter name of the service at ep (service.stats), 0 if it does not say. */
uint64_t bench_service_stat(void *zctx, const char *ep, const char *name);
#endif

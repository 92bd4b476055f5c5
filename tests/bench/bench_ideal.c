/* bench_ideal.c — the ideal durable intake pipeline that bench_ingest sets
 * tam-ingest against (issue 16): the same client, the same reply bytes, the
 * same window and the same wire layer (tam_rpc server, same security mode),
 * but the least a durable service can do per reply:
 *
 *   receive (ZeroMQ + envelope) -> decode the reply (tam_decode) -> ONE LMDB
 *   put of the body (increasing key, MDB_APPEND) -> one durable commit per
 *   batch of what is ready (default sync, up to batch_max) -> encode a small
 *   ack -> send it.
 *
 * No validation against the catalogue, no indexes, no revisions, no
 * deduplication, no feed: what remains is the floor of the hardware and of
 * the libraries. The server runs in a thread of the benchmark with its own
 * ZeroMQ context (curve: with the key of tam-ingest); its CPU time is the
 * thread's own. */
#include <errno.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "tam/codec.h"
#include "tam/error.h"
#include "tam/proto.h"
#include "tam/rpc.h"
#include "tam/sec.h"
#include "tam/store.h"
#include "bench_ideal.h"
#include "../integration/curve_harness.h"

typedef struct {
    const bench_ideal_opts_t *o;
    void *zctx;
    tam_rpc_server_t *srv;
    MDB_env *env;
    MDB_dbi dbi;
    volatile int stop;
    int failed;
    bench_ideal_stats_t st;
} s_ideal_t;

static double s_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One batch: decode, put, commit, then answer every request of it. */
static int s_batch(s_ideal_t *x, tam_rpc_req_t **reqs, size_t n, tam_arena_t *a, uint64_t *seq)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(x->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        tam_reply_t r;
        tam_codec_err_t cerr;
        tam_arena_reset(a);
        memset(&r, 0, sizeof r);
        if (tam_decode(&tam_schema_reply, reqs[i]->body, reqs[i]->body_len, a, &r, &cerr)) {
            mdb_txn_abort(txn);
            return EINVAL;
        }
        uint8_t key[8];
        tam_key_u64(key, ++*seq);
        MDB_val k = {8, key}, v = {reqs[i]->body_len, reqs[i]->body};
        if ((rc = mdb_put(txn, x->dbi, &k, &v, MDB_APPEND))) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    if ((rc = mdb_txn_commit(txn)))
        return rc;
    x->st.commits++;
    for (size_t i = 0; i < n; i++) {
        /* The ack: {"reply_id": N}, encoded per reply. */
        uint8_t ack[32];
        size_t id = *seq - n + 1 + i;
        msgpack_sbuffer sb = {0, (char *)ack, sizeof ack};
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "reply_id", 8);
        msgpack_pack_uint64(&pk, id);
        tam_rpc_server_reply_ok(x->srv, reqs[i], sb.data, sb.size);
        if (sb.data != (char *)ack)
            free(sb.data);
    }
    x->st.replies += n;
    return 0;
}

static void *s_server(void *arg)
{
    s_ideal_t *x = arg;
    unsigned bmax = x->o->batch_max ? x->o->batch_max : 256;
    tam_rpc_req_t **reqs = calloc(bmax, sizeof *reqs);
    tam_arena_t *a = tam_arena_new(64 * 1024);
    uint64_t seq = 0;
    double cpu0 = s_cpu();
    while (reqs && a && !x->stop) {
        /* Answers the peer's pipe did not take wait in the rpc server's
         * backlog (TAM_RPC_PIPE_HWM): send what it takes now, as the service
         * loop does on every turn, and come back when it asks. */
        int fl = tam_rpc_server_flush(x->srv);
        zmq_pollitem_t it = {tam_rpc_server_socket(x->srv), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, fl >= 0 && fl < 50 ? fl : 50) < 0)
            break;
        size_t n = 0;
        while (n < bmax) {
            tam_rpc_req_t *req = NULL;
            if (tam_rpc_server_recv(x->srv, &req) || !req)
                break;
            reqs[n++] = req;
        }
        if (n) {
            int rc = s_batch(x, reqs, n, a, &seq);
            for (size_t i = 0; i < n; i++)
                tam_rpc_req_free(&reqs[i]);
            tam_rpc_server_drain(x->srv, 1, 50); /* as the service loop */
            if (rc) {
                fprintf(stderr, "bench_ideal: batch failed: %s\n", mdb_strerror(rc));
                x->failed = 1;
                break;
            }
        }
    }
    x->st.cpu_s = s_cpu() - cpu0;
    tam_arena_destroy(&a);
    free(reqs);
    return NULL;
}

long long bench_proc_write_bytes(int pid)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof path, "/proc/%d/io", pid);
    else
        snprintf(path, sizeof path, "/proc/self/io");
    FILE *f = fopen(path, "r");
    char line[128];
    long long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "write_bytes:", 12) == 0)
            v = atoll(line + 12);
    if (f)
        fclose(f);
    return v;
}

static s_ideal_t *g_ideal; /* the running ideal pipeline (one at a time) */

long long bench_store_bytes(const char *dir)
{
    MDB_env *env = NULL;
    MDB_envinfo info;
    MDB_stat st;
    if (!dir) {
        if (!g_ideal || mdb_env_info(g_ideal->env, &info) || mdb_env_stat(g_ideal->env, &st))
            return -1;
        return (long long)(info.me_last_pgno + 1) * st.ms_psize;
    }
    long long v = -1;
    if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 64) == 0 &&
        mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0 && mdb_env_info(env, &info) == 0 &&
        mdb_env_stat(env, &st) == 0)
        v = (long long)(info.me_last_pgno + 1) * st.ms_psize;
    if (env)
        mdb_env_close(env);
    return v;
}

double bench_proc_cpu(int pid)
{
    char path[64], buf[1024];
    if (pid)
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
    else
        snprintf(path, sizeof path, "/proc/self/stat");
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = 0;
    /* Fields after the command name (which may hold spaces): state is 3,
     * utime 14, stime 15. */
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int bench_ideal_start(bench_ideal_t **out, const bench_ideal_opts_t *o)
{
    s_ideal_t *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->o = o;
    char path[600];
    snprintf(path, sizeof path, "%s/run", o->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/ideal", o->dir);
    mkdir(path, 0700);
    int rc = mdb_env_create(&x->env);
    if (!rc)
        rc = mdb_env_set_mapsize(x->env, (size_t)1 << 30);
    if (!rc)
        rc = mdb_env_open(x->env, path, 0, 0600); /* default sync: durable */
    MDB_txn *txn = NULL;
    if (!rc)
        rc = mdb_txn_begin(x->env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, 0, &x->dbi);
    if (!rc)
        rc = mdb_txn_commit(txn);
    if (rc) {
        fprintf(stderr, "bench_ideal: lmdb: %s\n", mdb_strerror(rc));
        goto fail;
    }
    x->zctx = o->curve ? curve_context(o->cfg_path, "ingest") : zmq_ctx_new();
    if (!x->zctx || tam_rpc_server_new(&x->srv, x->zctx, o->endpoint, NULL)) {
        fprintf(stderr, "bench_ideal: cannot serve %s\n", o->endpoint);
        goto fail;
    }
    if (o->client_zctx && tam_sec_of(o->client_zctx) &&
        tam_sec_map_endpoint(tam_sec_of(o->client_zctx), o->endpoint, "ingest"))
        goto fail;
    x->st.write_bytes = bench_proc_write_bytes(0);
    pthread_t *th = malloc(sizeof *th);
    if (!th || pthread_create(th, NULL, s_server, x)) {
        free(th);
        goto fail;
    }
    x->st.thread_ = th;
    g_ideal = x;
    *out = (bench_ideal_t *)x;
    return 0;
fail:
    bench_ideal_stop((bench_ideal_t **)&x, NULL);
    return -1;
}

int bench_ideal_stop(bench_ideal_t **p, bench_ideal_stats_t *st)
{
    s_ideal_t *x = (s_ideal_t *)*p;
    if (!x)
        return -1;
    *p = NULL;
    if (g_ideal == x)
        g_ideal = NULL;
    x->stop = 1;
    if (x->st.thread_) {
        pthread_join(*(pthread_t *)x->st.thread_, NULL);
        free(x->st.thread_);
        x->st.thread_ = NULL;
        long long wb = bench_proc_write_bytes(0);
        x->st.write_bytes = wb >= 0 && x->st.write_bytes >= 0 ? wb - x->st.write_bytes : -1;
    }
    if (st)
        *st = x->st;
    int failed = x->failed;
    tam_rpc_server_destroy(&x->srv);
    if (x->zctx) {
        if (x->o->curve)
            curve_context_end(x->zctx);
        else
            zmq_ctx_term(x->zctx);
    }
    if (x->env)
        mdb_env_close(x->env);
    free(x);
    return failed ? -1 : 0;
}

uint64_t bench_service_stat(void *zctx, const char *ep, const char *name)
{
    tam_rpc_client_t *c = NULL;
    tam_rpc_answer_t ans = {0};
    static const uint8_t map0 = 0x80;
    uint64_t v = 0;
    if (tam_rpc_client_new(&c, zctx, ep, 10000, 1) == 0 &&
        tam_rpc_call(c, "service.stats", &map0, 1, &ans) == 0 && ans.status == TAM_RPC_OK) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, (const char *)ans.body, ans.len, NULL) == MSGPACK_UNPACK_SUCCESS &&
            up.data.type == MSGPACK_OBJECT_MAP)
            for (uint32_t i = 0; i < up.data.via.map.size; i++) {
                const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
                if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(name) &&
                    memcmp(kv->key.via.str.ptr, name, strlen(name)) == 0 &&
                    kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                    v = kv->val.via.u64;
            }
        msgpack_unpacked_destroy(&up);
    }
    tam_rpc_answer_clear(&ans);
    tam_rpc_client_destroy(&c);
    return v;
}


/* ---- raw ZeroMQ PUSH/PULL ---------------------------------------------------- */

typedef struct {
    void *ctx;
    const char *dir;
    size_t n, size;
    double t_end;
} s_pull_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *s_puller(void *arg)
{
    s_pull_t *p = arg;
    void *s = zmq_socket(p->ctx, ZMQ_PULL);
    int zero = 0;
    char ep[200];
    snprintf(ep, sizeof ep, "ipc://%s/raw.sock", p->dir);
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
double bench_raw(const char *dir, size_t n, size_t size)
{
    s_pull_t p = {zmq_ctx_new(), dir, n, size, 0};
    pthread_t th;
    pthread_create(&th, NULL, s_puller, &p);
    void *s = zmq_socket(p.ctx, ZMQ_PUSH);
    int zero = 0;
    char ep[200];
    snprintf(ep, sizeof ep, "ipc://%s/raw.sock", dir);
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


/* test_service_ack.c — the service loop never acknowledges a write before
 * the commit that stored it is durable.
 *
 * mdb_txn_commit is wrapped (a count of top-level write commits that
 * returned 0: in LMDB's default sync mode that is after the data pages'
 * fdatasync and the synchronous meta-page write) and fdatasync is
 * interposed (a count of the device flushes the process asked for). The
 * handler puts both counts at the moment it runs into its answer; a client
 * pipelining writes with a window (so batches hold many requests and answers
 * wait in the rpc server's backlog) checks, for every answer it receives,
 * that a commit and a flush have completed since its handler ran. An answer
 * sent before its commit, or before the flush of its commit, fails it. */
// LINK: -Wl,--wrap=mdb_txn_commit -Wl,--wrap=mdb_txn_begin -ldl
#include <dlfcn.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include <zmq.h>

#include "tam/error.h"
#include "tam/rpc.h"
#include "tam/service.h"
#include "tam/store.h"

/* ---- the counters ------------------------------------------------------------ */

static uint64_t g_commits; /* top-level write commits that returned 0 */
static uint64_t g_syncs;   /* fdatasync calls that returned 0 */
static __thread MDB_txn *g_top; /* the thread's open top-level write txn */

int __real_mdb_txn_commit(MDB_txn *txn);
int __real_mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned flags, MDB_txn **txn);

int __wrap_mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned flags, MDB_txn **txn)
{
    int rc = __real_mdb_txn_begin(env, parent, flags, txn);
    if (rc == 0 && !parent && !(flags & MDB_RDONLY))
        g_top = *txn;
    return rc;
}

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
    bool top = txn == g_top;
    int rc = __real_mdb_txn_commit(txn);
    if (top) {
        g_top = NULL;
        if (rc == 0)
            __atomic_add_fetch(&g_commits, 1, __ATOMIC_SEQ_CST);
    }
    return rc;
}

/* liblmdb calls fdatasync through the PLT: this definition takes its place. */
int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    int rc = real ? real(fd) : -1;
    if (rc == 0)
        __atomic_add_fetch(&g_syncs, 1, __ATOMIC_SEQ_CST);
    return rc;
}

/* ---- a service whose answers carry the counters at handle time ------------- */

static const char *const dbs[] = {"requests", "kv", NULL};

typedef struct {
    char dir[64], data[96], ep[128];
    void *zctx;
    int stop_pipe[2], ready_pipe[2];
    pthread_t th;
    int rc;
    tam_service_stats_t stats;
} svc_t;

static tam_req_kind_t s_classify(const char *type, void *arg)
{
    (void)arg;
    return strcmp(type, "kv.put") == 0 ? TAM_REQ_WRITE : TAM_REQ_UNKNOWN;
}

static int s_handle(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    (void)arg;
    int rc = tam_txn_put(txn, "kv", req->id, strlen(req->id), req->body, req->body_len, 0);
    if (rc)
        return rc;
    uint8_t buf[64];
    msgpack_sbuffer sb = {0, (char *)buf, sizeof buf};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "c", 1);
    msgpack_pack_uint64(&pk, __atomic_load_n(&g_commits, __ATOMIC_SEQ_CST));
    msgpack_pack_str_with_body(&pk, "s", 1);
    msgpack_pack_uint64(&pk, __atomic_load_n(&g_syncs, __ATOMIC_SEQ_CST));
    return tam_answer_ok(out, sb.data, sb.size);
}

static void s_ready(const char *endpoint, void *arg)
{
    svc_t *s = arg;
    (void)endpoint;
    if (write(s->ready_pipe[1], "r", 1) != 1)
        abort();
}

static int stop_items(void *obj, zmq_pollitem_t *items, int max)
{
    svc_t *s = obj;
    (void)max;
    items[0] = (zmq_pollitem_t){NULL, s->stop_pipe[0], ZMQ_POLLIN, 0};
    return 1;
}

static int stop_process(void *obj, const zmq_pollitem_t *items)
{
    svc_t *s = obj;
    char b;
    if (!(items[0].revents & ZMQ_POLLIN))
        return 0;
    return read(s->stop_pipe[0], &b, 1) == 1 ? TAM_SERVICE_STOP : TAM_EIO;
}

static void *s_main(void *arg)
{
    svc_t *s = arg;
    tam_store_t *st = NULL;
    /* default sync: every commit flushes (never TAM_STORE_NOSYNC here) */
    tam_store_opts_t o = {.path = s->data, .dbs = dbs, .schema_version = 1};
    if ((s->rc = tam_store_open(&st, &o))) {
        s_ready(NULL, s);
        return NULL;
    }
    tam_service_source_t src = {stop_items, stop_process, NULL, s};
    tam_service_def_t def = {.name = "ack",
                             .zctx = s->zctx,
                             .endpoint = s->ep,
                             .store = st,
                             .flat_writes = true,
                             .classify = s_classify,
                             .handle = s_handle,
                             .ready = s_ready,
                             .sources = &src,
                             .nsources = 1,
                             .stats = &s->stats};
    s->rc = tam_service_run(&def, s);
    if (s->rc)
        s_ready(NULL, s);
    tam_store_close(&st);
    return NULL;
}

/* The unsigned field key of an answer body. */
static uint64_t body_u64(const tam_rpc_answer_t *a, const char *key)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, (const char *)a->body, a->len, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
    uint64_t v = UINT64_MAX;
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            v = kv->val.via.u64;
    }
    msgpack_unpacked_destroy(&u);
    assert_true(v != UINT64_MAX);
    return v;
}

#define N_WRITES 2000
#define WINDOW 200

static void test_ack_after_durable_commit(void **state)
{
    (void)state;
    svc_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.dir, sizeof s.dir, "/tmp/tam-ack-XXXXXX");
    assert_non_null(mkdtemp(s.dir));
    snprintf(s.data, sizeof s.data, "%s/data", s.dir);
    snprintf(s.ep, sizeof s.ep, "ipc://%s/req", s.dir);
    s.zctx = zmq_ctx_new();
    assert_int_equal(pipe2(s.stop_pipe, O_CLOEXEC), 0);
    assert_int_equal(pipe2(s.ready_pipe, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&s.th, NULL, s_main, &s), 0);
    char b;
    assert_int_equal(read(s.ready_pipe[0], &b, 1), 1);
    assert_int_equal(s.rc, 0);

    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, s.zctx, s.ep, 10000, 0), 0);
    size_t sent = 0, got = 0, early_commit = 0, early_sync = 0;
    while (got < N_WRITES) {
        while (sent < N_WRITES && sent - got < WINDOW) {
            char id[32];
            snprintf(id, sizeof id, "w-%06zu", sent++);
            assert_int_equal(tam_rpc_client_send(c, id, "kv.put", "\x81\xa1v\x01", 4), 0);
        }
        tam_rpc_answer_t a = {0};
        assert_int_equal(tam_rpc_client_recv(c, 10000, &a), 0);
        /* what has completed by now, read as the answer arrives */
        uint64_t commits = __atomic_load_n(&g_commits, __ATOMIC_SEQ_CST);
        uint64_t syncs = __atomic_load_n(&g_syncs, __ATOMIC_SEQ_CST);
        assert_int_equal(a.status, TAM_RPC_OK);
        early_commit += commits <= body_u64(&a, "c"); /* its commit has not returned */
        early_sync += syncs <= body_u64(&a, "s");     /* no flush since it was handled */
        tam_rpc_answer_clear(&a);
        got++;
    }
    tam_rpc_client_destroy(&c);
    assert_int_equal(write(s.stop_pipe[1], "s", 1), 1);
    pthread_join(s.th, NULL);
    printf("acks %zu: %llu commits, %llu flushes, largest batch %llu; acked before their "
           "commit: %zu, before a flush: %zu\n",
           got, (unsigned long long)g_commits, (unsigned long long)g_syncs,
           (unsigned long long)s.stats.max_batch, early_commit, early_sync);
    assert_int_equal(s.rc, 0);
    assert_int_equal(early_commit, 0);
    assert_int_equal(early_sync, 0);
    assert_true(g_syncs > 0);               /* the store really flushes */
    assert_true(s.stats.commits < N_WRITES); /* group commit: batches of many */
    close(s.stop_pipe[0]);
    close(s.stop_pipe[1]);
    close(s.ready_pipe[0]);
    close(s.ready_pipe[1]);
    zmq_ctx_term(s.zctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_after_durable_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

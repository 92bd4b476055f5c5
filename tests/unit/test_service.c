/* test_service.c — the service loop with a toy key-value service run in its
 * own thread: group commit, deduplication, errors undone inside a batch,
 * map growth, graceful stop (source and SIGTERM), fatal store errors, and the
 * nested transactions the loop builds on. */
// LINK: -Wl,--wrap=mdb_txn_commit -Wl,--wrap=mdb_txn_begin
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include <zmq.h>

#include "tam/dedup.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/rpc.h"
#include "tam/service.h"
#include "tam/store.h"

/* ---- failure injection: a top-level commit that panics ----------------------- */

int __real_mdb_txn_commit(MDB_txn *txn);
int __real_mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned flags, MDB_txn **txn);
static volatile int g_panic_commit; /* set by the test before the request */
static MDB_txn *g_top_write;        /* the last top-level write txn begun */

int __wrap_mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned flags, MDB_txn **txn)
{
    int rc = __real_mdb_txn_begin(env, parent, flags, txn);
    if (rc == 0 && !parent && !(flags & MDB_RDONLY))
        g_top_write = *txn;
    return rc;
}

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
    if (g_panic_commit && txn == g_top_write) {
        g_panic_commit = 0;
        mdb_txn_abort(txn);
        return MDB_PANIC;
    }
    return __real_mdb_txn_commit(txn);
}

/* ---- fixture ------------------------------------------------------------------ */

typedef struct {
    void *zctx;
    int failed; /* a failed test may leave sockets open: skip zmq_ctx_term */
    char dir[64];
    char data[96];
    char ep[128];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tam-svc-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->dir);
    snprintf(fx->ep, sizeof fx->ep, "ipc://%s/req", fx->dir);
    fx->zctx = zmq_ctx_new();
    assert_non_null(fx->zctx);
    fx->failed = 1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    char cmd[160];
    if (!fx->failed)
        zmq_ctx_term(fx->zctx);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx->dir);
    free(fx);
    return 0;
}

#define DONE(fx) ((fx)->failed = 0)

/* ---- msgpack helpers ------------------------------------------------------------ */

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* {"k": k, "v": bin of vlen bytes (value fill)} */
static void put_body(msgpack_sbuffer *sb, const char *k, size_t vlen, int fill)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "k");
    pk_str(&pk, k);
    pk_str(&pk, "v");
    char *v = malloc(vlen + 1);
    memset(v, fill, vlen);
    msgpack_pack_bin(&pk, vlen);
    msgpack_pack_bin_body(&pk, v, vlen);
    free(v);
}

/* Finds key in a msgpack map; NULL if absent. */
static const msgpack_object *map_get(const msgpack_object *o, const char *key)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &o->via.map.ptr[i].val;
    }
    return NULL;
}

/* The unsigned field of an answer body map. */
static uint64_t body_u64(const tam_rpc_answer_t *a, const char *key)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, (const char *)a->body, a->len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *v = map_get(&u.data, key);
    assert_non_null(v);
    assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    uint64_t r = v->via.u64;
    msgpack_unpacked_destroy(&u);
    return r;
}

/* ---- the toy service: a key-value store ----------------------------------------- */

static const char *const toy_dbs[] = {"requests", "kv", NULL};
static bool g_flat; /* the next toy service runs its writes flat (flat_writes) */
static size_t g_batch_bytes; /* the next toy service's batch_bytes */

typedef struct {
    fx_t *fx;
    size_t map_size, map_max;
    unsigned batch_max;
    bool signals;
    int stop_pipe[2];  /* test -> service: stop */
    int ready_pipe[2]; /* service -> test: bound */
    pthread_t th;
    /* owned by the service thread until join */
    int rc;
    tam_service_stats_t stats;
    unsigned grow_count;
    size_t events;
    char last_topic[64];
} toy_t;

static tam_req_kind_t toy_classify(const char *type, void *arg)
{
    (void)arg;
    /* kv.store is kv.put under another name: an id reused across types */
    if (!strcmp(type, "kv.put") || !strcmp(type, "kv.store") || !strcmp(type, "kv.secret"))
        return TAM_REQ_WRITE;
    if (!strcmp(type, "kv.get"))
        return TAM_REQ_READ;
    return TAM_REQ_UNKNOWN;
}

static int toy_authorize(const tam_rpc_req_t *req, tam_rpc_error_t *err, void *arg)
{
    (void)arg;
    if (strcmp(req->type, "kv.secret") == 0) {
        tam_rpc_error_set(err, TAM_EDENIED, "", "only an admin may write secrets");
        return TAM_EDENIED;
    }
    return tam_principal_may(&req->principal, TAM_ROLE_SERVICE) ? 0 : TAM_EDENIED;
}

/* Decodes {"k": str, "v": bin} (the rpc layer already ran the pre-pass). */
static int toy_decode(const tam_rpc_req_t *req, char *k, size_t kcap, const void **v, size_t *vlen,
                      msgpack_unpacked *u, tam_answer_t *out)
{
    size_t off = 0;
    if (msgpack_unpack_next(u, (const char *)req->body, req->body_len, &off) !=
        MSGPACK_UNPACK_SUCCESS)
        return tam_rpc_error_set(&out->error, TAM_ETYPE, "", "body is not msgpack"), TAM_ETYPE;
    const msgpack_object *ko = map_get(&u->data, "k"), *vo = map_get(&u->data, "v");
    if (!ko || ko->type != MSGPACK_OBJECT_STR || ko->via.str.size == 0 ||
        ko->via.str.size >= kcap) {
        tam_rpc_error_set(&out->error, TAM_EMISSING, "k", "k must be a non-empty string");
        return TAM_EMISSING;
    }
    memcpy(k, ko->via.str.ptr, ko->via.str.size);
    k[ko->via.str.size] = 0;
    if (v) {
        if (!vo || vo->type != MSGPACK_OBJECT_BIN) {
            tam_rpc_error_set(&out->error, TAM_EMISSING, "v", "v must be bytes");
            return TAM_EMISSING;
        }
        *v = vo->via.bin.ptr;
        *vlen = vo->via.bin.size;
    }
    return 0;
}

static int toy_handle(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    toy_t *t = arg;
    char k[128];
    const void *v = NULL;
    size_t vlen = 0;
    uint64_t n = 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = toy_decode(req, k, sizeof k, &v, &vlen, &u, out);
    if (rc)
        goto done;
    if (strncmp(k, "bad", 3) == 0) {
        /* every validation problem is listed */
        tam_rpc_error_add(&out->error, "k", "k must not start with 'bad'");
        tam_rpc_error_add(&out->error, "v", "v is not acceptable either");
        rc = TAM_EINVAL;
        goto done;
    }
    if ((rc = tam_txn_counter_next(txn, "puts", &n)))
        goto done;
    if ((rc = tam_txn_put(txn, "kv", k, strlen(k), v, vlen, 0)))
        goto done;
    if (strcmp(k, "poison") == 0) {
        /* wrote, then failed: the nested transaction must undo both writes */
        tam_rpc_error_set(&out->error, TAM_ECONFLICT, "k", "poison written then refused");
        rc = TAM_ECONFLICT;
        goto done;
    }
    if (strcmp(k, "stop-now") == 0 && write(t->stop_pipe[1], "s", 1) != 1) {
        rc = TAM_EIO;
        goto done;
    }
    char topic[160];
    snprintf(topic, sizeof topic, "kv/%s", k);
    if ((rc = tam_answer_event(out, topic, v, vlen)))
        goto done;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "k");
    pk_str(&pk, k);
    pk_str(&pk, "n");
    msgpack_pack_uint64(&pk, n);
    size_t len = sb.size;
    rc = tam_answer_ok_take(out, msgpack_sbuffer_release(&sb), len);
done:
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int toy_query(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    (void)arg;
    char k[128];
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = toy_decode(req, k, sizeof k, NULL, NULL, &u, out);
    msgpack_unpacked_destroy(&u);
    if (rc)
        return rc;
    tam_val_t val;
    if ((rc = tam_txn_get(txn, "kv", k, strlen(k), &val))) {
        tam_rpc_error_set(&out->error, rc, "k", "no key '%s'", k);
        return rc;
    }
    size_t puts = 0;
    if ((rc = tam_txn_count(txn, "kv", &puts)))
        return rc;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "len");
    msgpack_pack_uint64(&pk, val.len);
    pk_str(&pk, "keys");
    msgpack_pack_uint64(&pk, puts);
    size_t len = sb.size;
    return tam_answer_ok_take(out, msgpack_sbuffer_release(&sb), len);
}

static void toy_after_commit(const tam_event_t *ev, size_t n, void *arg)
{
    toy_t *t = arg;
    t->events += n;
    if (n)
        snprintf(t->last_topic, sizeof t->last_topic, "%s", ev[n - 1].topic);
}

static void toy_ready(const char *endpoint, void *arg)
{
    toy_t *t = arg;
    (void)endpoint;
    if (write(t->ready_pipe[1], "r", 1) != 1)
        abort();
}

static int stop_items(void *obj, zmq_pollitem_t *items, int max)
{
    toy_t *t = obj;
    (void)max;
    items[0] = (zmq_pollitem_t){NULL, t->stop_pipe[0], ZMQ_POLLIN, 0};
    return 1;
}

static int stop_process(void *obj, const zmq_pollitem_t *items)
{
    toy_t *t = obj;
    char b;
    if (!(items[0].revents & ZMQ_POLLIN))
        return 0;
    return read(t->stop_pipe[0], &b, 1) == 1 ? TAM_SERVICE_STOP : TAM_EIO;
}

/* A simulated wall clock for the duplicate table's ages (0: the real one). */
static int64_t g_clock_ms;
static int64_t g_retention_ms;

static int64_t toy_clock(void *arg)
{
    (void)arg;
    return __atomic_load_n(&g_clock_ms, __ATOMIC_SEQ_CST);
}

static void *toy_main(void *arg)
{
    toy_t *t = arg;
    tam_store_t *st = NULL;
    tam_store_opts_t o = {.path = t->fx->data, .map_size = t->map_size, .map_max = t->map_max,
                          .dbs = toy_dbs, .schema_version = 1};
    t->rc = tam_store_open(&st, &o);
    if (t->rc) {
        toy_ready(NULL, t);
        return NULL;
    }
    tam_service_source_t src = {stop_items, stop_process, NULL, t};
    tam_service_def_t def = {
        .name = "toy",
        .zctx = t->fx->zctx,
        .endpoint = t->fx->ep,
        .store = st,
        .batch_max = t->batch_max,
        .signals = t->signals,
        .classify = toy_classify,
        .authorize = toy_authorize,
        .handle = toy_handle,
        .query = toy_query,
        .after_commit = toy_after_commit,
        .ready = toy_ready,
        .sources = &src,
        .nsources = 1,
        .stats = &t->stats,
        .flat_writes = g_flat,
        .batch_bytes = g_batch_bytes,
        .request_retention_ms = g_retention_ms,
        .clock_ms = __atomic_load_n(&g_clock_ms, __ATOMIC_SEQ_CST) ? toy_clock : NULL,
    };
    t->rc = tam_service_run(&def, t);
    if (t->rc)
        toy_ready(NULL, t); /* in case it failed before binding */
    t->grow_count = tam_store_grow_count(st);
    tam_store_close(&st);
    return NULL;
}

static void toy_start(toy_t *t, fx_t *fx, size_t map_size, size_t map_max)
{
    memset(t, 0, sizeof *t);
    t->fx = fx;
    t->map_size = map_size;
    t->map_max = map_max;
    assert_int_equal(pipe2(t->stop_pipe, O_CLOEXEC), 0);
    assert_int_equal(pipe2(t->ready_pipe, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&t->th, NULL, toy_main, t), 0);
    zmq_pollitem_t it = {NULL, t->ready_pipe[0], ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 10000), 1);
    char b;
    assert_int_equal(read(t->ready_pipe[0], &b, 1), 1);
}

/* Asks the loop to stop (unless stopped already) and returns run's result. */
static int toy_join(toy_t *t, bool ask)
{
    if (ask)
        assert_int_equal(write(t->stop_pipe[1], "s", 1), 1);
    pthread_join(t->th, NULL);
    close(t->stop_pipe[0]);
    close(t->stop_pipe[1]);
    close(t->ready_pipe[0]);
    close(t->ready_pipe[1]);
    return t->rc;
}

static tam_rpc_client_t *client(fx_t *fx)
{
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ep, 10000, 0), 0);
    return c;
}

static void send_put(tam_rpc_client_t *c, const char *id, const char *k, size_t vlen)
{
    msgpack_sbuffer sb;
    put_body(&sb, k, vlen, 'x');
    assert_int_equal(tam_rpc_client_send(c, id, "kv.put", sb.data, sb.size), 0);
    msgpack_sbuffer_destroy(&sb);
}

static void call_get(tam_rpc_client_t *c, const char *k, tam_rpc_answer_t *a)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "k");
    pk_str(&pk, k);
    assert_int_equal(tam_rpc_call(c, "kv.get", sb.data, sb.size, a), 0);
    msgpack_sbuffer_destroy(&sb);
}

/* Receives n answers into a[] indexed by the number after prefix in the id. */
static void recv_indexed(tam_rpc_client_t *c, const char *prefix, int n, tam_rpc_answer_t *a)
{
    for (int i = 0; i < n; i++) {
        tam_rpc_answer_t x = {0};
        assert_int_equal(tam_rpc_client_recv(c, 10000, &x), 0);
        size_t pl = strlen(prefix);
        assert_int_equal(strncmp(x.id, prefix, pl), 0);
        int k = atoi(x.id + pl);
        assert_true(k >= 0 && k < n);
        assert_null(a[k].body); /* each answered once */
        a[k] = x;
    }
}

/* ---- tests ------------------------------------------------------------------- */

static void test_group_commit(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    toy_start(&t, fx, 0, 0);
    tam_rpc_client_t *c = client(fx);
    enum { N = 300 };
    static tam_rpc_answer_t a[N];
    memset(a, 0, sizeof a);
    for (int i = 0; i < N; i++) {
        char id[32], k[32];
        snprintf(id, sizeof id, "gc-%d", i);
        snprintf(k, sizeof k, "key%d", i);
        send_put(c, id, k, 10);
    }
    recv_indexed(c, "gc-", N, a);
    bool seen[N + 1] = {false};
    for (int i = 0; i < N; i++) {
        assert_int_equal(a[i].status, TAM_RPC_OK);
        uint64_t n = body_u64(&a[i], "n");
        assert_true(n >= 1 && n <= N);
        assert_false(seen[n]);
        seen[n] = true;
        tam_rpc_answer_clear(&a[i]);
    }
    /* service.stats over the wire */
    tam_rpc_answer_t s = {0};
    assert_int_equal(tam_rpc_call(c, "service.stats", NULL, 0, &s), 0);
    assert_int_equal(s.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&s, "writes"), N);
    uint64_t batches = body_u64(&s, "batches"), max_batch = body_u64(&s, "max_batch");
    assert_true(max_batch > 1);     /* requests were grouped */
    assert_true(batches < N);
    assert_int_equal(body_u64(&s, "commits"), batches);
    tam_rpc_answer_clear(&s);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_int_equal(t.events, N);
    assert_int_equal(t.stats.writes, N);
    assert_int_equal(t.stats.reads, 1);
    assert_int_equal(t.stats.errors, 0);
    assert_int_equal(t.stats.duplicates, 0);
    assert_true(t.stats.max_batch > 1);
    DONE(fx);
}

/* batch_bytes bounds a batch by the bytes of its bodies: at 1 byte, every
 * request is a batch of its own, however many arrive together (the same
 * stream is grouped without it: test_group_commit). */
static void test_batch_bytes(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    g_batch_bytes = 1;
    toy_start(&t, fx, 0, 0);
    g_batch_bytes = 0;
    tam_rpc_client_t *c = client(fx);
    enum { N = 100 };
    static tam_rpc_answer_t a[N];
    memset(a, 0, sizeof a);
    for (int i = 0; i < N; i++) {
        char id[32], k[32];
        snprintf(id, sizeof id, "bb-%d", i);
        snprintf(k, sizeof k, "key%d", i);
        send_put(c, id, k, 10);
    }
    recv_indexed(c, "bb-", N, a);
    for (int i = 0; i < N; i++) {
        assert_int_equal(a[i].status, TAM_RPC_OK);
        tam_rpc_answer_clear(&a[i]);
    }
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_int_equal(t.stats.writes, N);
    assert_int_equal(t.stats.max_batch, 1);
    assert_int_equal(t.stats.commits, N);
    DONE(fx);
}

static void test_duplicates(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    toy_start(&t, fx, 0, 0);
    tam_rpc_client_t *c = client(fx);
    tam_rpc_answer_t a1 = {0}, a2 = {0}, a3 = {0}, g = {0};
    msgpack_sbuffer b1, b2;
    put_body(&b1, "alpha", 4, 'a');
    put_body(&b2, "beta", 4, 'b');
    assert_int_equal(tam_rpc_call_id(c, "dup-1", "kv.put", b1.data, b1.size, &a1), 0);
    assert_int_equal(a1.status, TAM_RPC_OK);
    /* The same id again, even with another body: the same answer, nothing new. */
    assert_int_equal(tam_rpc_call_id(c, "dup-1", "kv.put", b2.data, b2.size, &a2), 0);
    assert_int_equal(a2.status, TAM_RPC_OK);
    assert_int_equal(a1.len, a2.len);
    assert_memory_equal(a1.body, a2.body, a1.len);
    call_get(c, "beta", &g);
    assert_int_equal(g.status, TAM_RPC_ERROR);
    assert_int_equal(g.error.code, TAM_ENOTFOUND);
    call_get(c, "alpha", &g);
    assert_int_equal(g.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&g, "keys"), 1);
    /* The same id with another message type is another request: it is done,
     * not answered with the kv.put's stored answer. */
    assert_int_equal(tam_rpc_call_id(c, "dup-1", "kv.store", b2.data, b2.size, &a2), 0);
    assert_int_equal(a2.status, TAM_RPC_OK);
    assert_string_equal(a2.type, "kv.store");
    call_get(c, "beta", &g);
    assert_int_equal(g.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&g, "keys"), 2);
    /* Twice in one pipelined burst: both get the first one's answer. */
    assert_int_equal(tam_rpc_client_send(c, "dup-2", "kv.put", b2.data, b2.size), 0);
    assert_int_equal(tam_rpc_client_send(c, "dup-2", "kv.put", b2.data, b2.size), 0);
    assert_int_equal(tam_rpc_client_recv(c, 10000, &a2), 0);
    assert_int_equal(tam_rpc_client_recv(c, 10000, &a3), 0);
    assert_string_equal(a2.id, "dup-2");
    assert_string_equal(a3.id, "dup-2");
    assert_int_equal(a2.len, a3.len);
    assert_memory_equal(a2.body, a3.body, a2.len);
    assert_int_equal(body_u64(&a2, "n"), 3);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_int_equal(t.stats.duplicates, 2);
    assert_int_equal(t.events, 3); /* duplicates publish nothing */

    /* After a restart (as after a crash) the resend still gets the answer. */
    toy_start(&t, fx, 0, 0);
    c = client(fx);
    assert_int_equal(tam_rpc_call_id(c, "dup-1", "kv.put", b1.data, b1.size, &a3), 0);
    assert_int_equal(a3.len, a1.len);
    assert_memory_equal(a3.body, a1.body, a1.len);
    call_get(c, "alpha", &g);
    assert_int_equal(body_u64(&g, "keys"), 2);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_int_equal(t.stats.duplicates, 1);
    msgpack_sbuffer_destroy(&b1);
    msgpack_sbuffer_destroy(&b2);
    tam_rpc_answer_clear(&a1);
    tam_rpc_answer_clear(&a2);
    tam_rpc_answer_clear(&a3);
    tam_rpc_answer_clear(&g);
    DONE(fx);
}

static uint64_t stats_get(tam_rpc_client_t *c, const char *key)
{
    tam_rpc_answer_t a = {0};
    assert_int_equal(tam_rpc_call(c, TAM_SERVICE_STATS_TYPE, NULL, 0, &a), 0);
    assert_int_equal(a.status, TAM_RPC_OK);
    uint64_t v = body_u64(&a, key);
    tam_rpc_answer_clear(&a);
    return v;
}

/* Stored answers are pruned after the retention (a simulated clock): a
 * resend of a dated id after that is answered "expired" and not applied; an
 * undated id is a new request again (documented); a dated id far ahead of
 * the clock is refused. */
static void test_dedup_pruned(void **state)
{
    fx_t *fx = *state;
    const int64_t day = 24LL * 3600 * 1000, t0 = 1796306993000LL;
    __atomic_store_n(&g_clock_ms, t0, __ATOMIC_SEQ_CST);
    g_retention_ms = day;
    toy_t t;
    toy_start(&t, fx, 0, 0);
    tam_rpc_client_t *c = client(fx);
    char id[TAM_RPC_ID_MAX + 1], future[TAM_RPC_ID_MAX + 1];
    const uint8_t rnd[10] = {1, 2, 3};
    tam_dedup_id_make(id, t0, rnd);
    tam_dedup_id_make(future, t0 + 2 * day, rnd);
    tam_rpc_answer_t a = {0}, g = {0};
    msgpack_sbuffer b;
    put_body(&b, "alpha", 4, 'a');
    assert_int_equal(tam_rpc_call_id(c, id, "kv.put", b.data, b.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&a, "n"), 1);
    assert_int_equal(tam_rpc_call_id(c, "plain-1", "kv.put", b.data, b.size, &a), 0);
    assert_int_equal(body_u64(&a, "n"), 2);
    assert_int_equal(tam_rpc_call_id(c, future, "kv.put", b.data, b.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_ERROR);
    assert_int_equal(a.error.code, TAM_ERANGE);
    assert_string_equal(a.error.field, "envelope.id");
    /* a day later: still answered from the table */
    __atomic_store_n(&g_clock_ms, t0 + day, __ATOMIC_SEQ_CST);
    assert_int_equal(tam_rpc_call_id(c, id, "kv.put", b.data, b.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&a, "n"), 1);
    assert_int_equal(stats_get(c, "pruned"), 0);
    /* past the retention: the loop prunes both answers (within a poll) */
    __atomic_store_n(&g_clock_ms, t0 + day + 60001, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 100 && stats_get(c, "pruned") < 2; i++)
        usleep(50 * 1000);
    assert_int_equal(stats_get(c, "pruned"), 2);
    assert_int_equal(tam_rpc_call_id(c, id, "kv.put", b.data, b.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_ERROR);
    assert_int_equal(a.error.code, TAM_EEXPIRED);
    assert_string_equal(a.error.field, "envelope.id");
    assert_int_equal(stats_get(c, "expired"), 1);
    call_get(c, "alpha", &g);
    assert_int_equal(g.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&g, "keys"), 1);
    /* the puts counter shows it was not applied again: the next new one is 3 */
    assert_int_equal(tam_rpc_call_id(c, "plain-1", "kv.put", b.data, b.size, &a), 0);
    assert_int_equal(body_u64(&a, "n"), 3);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    __atomic_store_n(&g_clock_ms, 0, __ATOMIC_SEQ_CST);
    g_retention_ms = 0;
    msgpack_sbuffer_destroy(&b);
    tam_rpc_answer_clear(&a);
    tam_rpc_answer_clear(&g);
    DONE(fx);
}

static void test_errors_in_batch(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    toy_start(&t, fx, 0, 0);
    tam_rpc_client_t *c = client(fx);
    tam_rpc_answer_t a[5] = {{0}};
    send_put(c, "e-0", "one", 3);
    send_put(c, "e-1", "poison", 3);
    send_put(c, "e-2", "bad-key", 3);
    assert_int_equal(tam_rpc_client_send(c, "e-3", "kv.put", "\xc0", 1), 0); /* nil body */
    send_put(c, "e-4", "two", 3);
    recv_indexed(c, "e-", 5, a);
    assert_int_equal(a[0].status, TAM_RPC_OK);
    assert_int_equal(body_u64(&a[0], "n"), 1);
    assert_int_equal(a[1].status, TAM_RPC_ERROR);
    assert_int_equal(a[1].error.code, TAM_ECONFLICT);
    assert_int_equal(a[2].status, TAM_RPC_ERROR);
    assert_int_equal(a[2].error.code, TAM_EINVAL);
    assert_string_equal(a[2].error.field, "k");
    assert_int_equal(a[2].error.n, 2);
    assert_string_equal(a[2].error.errors[1].field, "v");
    assert_int_equal(a[3].status, TAM_RPC_ERROR);
    assert_int_equal(a[3].error.code, TAM_EMISSING);
    assert_int_equal(a[4].status, TAM_RPC_OK);
    /* the poison's counter increment was undone with its put */
    assert_int_equal(body_u64(&a[4], "n"), 2);
    tam_rpc_answer_t g = {0};
    call_get(c, "poison", &g);
    assert_int_equal(g.status, TAM_RPC_ERROR);
    assert_int_equal(g.error.code, TAM_ENOTFOUND);
    call_get(c, "two", &g);
    assert_int_equal(g.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&g, "keys"), 2);
    /* An error answer is not stored: a resend is handled (and refused) again. */
    tam_rpc_answer_clear(&a[1]);
    msgpack_sbuffer sb;
    put_body(&sb, "poison", 3, 'x');
    assert_int_equal(tam_rpc_call_id(c, "e-1", "kv.put", sb.data, sb.size, &a[1]), 0);
    assert_int_equal(a[1].error.code, TAM_ECONFLICT);
    msgpack_sbuffer_destroy(&sb);
    /* unknown type, denied type */
    assert_int_equal(tam_rpc_call(c, "kv.nope", NULL, 0, &g), 0);
    assert_int_equal(g.error.code, TAM_EUNKNOWN);
    assert_string_equal(g.error.field, "envelope.type");
    assert_int_equal(tam_rpc_call(c, "kv.secret", NULL, 0, &g), 0);
    assert_int_equal(g.error.code, TAM_EDENIED);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_int_equal(t.stats.duplicates, 0);
    assert_int_equal(t.stats.denied, 1);
    assert_int_equal(t.stats.errors, 7);
    assert_int_equal(t.events, 2);
    for (int i = 0; i < 5; i++)
        tam_rpc_answer_clear(&a[i]);
    tam_rpc_answer_clear(&g);
    DONE(fx);
}

/* flat_writes: a request refused before it writes costs no rerun; one that
 * fails after writing makes the batch run again nested, so that exactly its
 * writes are undone (its counter increment too). */
static void test_flat_writes(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    g_flat = true;
    toy_start(&t, fx, 0, 0);
    g_flat = false;
    tam_rpc_client_t *c = client(fx);
    tam_rpc_answer_t a[4] = {{0}}, g = {0};
    /* Refused before any write: answered, no rerun. */
    send_put(c, "f-0", "one", 3);
    send_put(c, "f-1", "bad-key", 3);
    recv_indexed(c, "f-", 2, a);
    assert_int_equal(a[0].status, TAM_RPC_OK);
    assert_int_equal(body_u64(&a[0], "n"), 1);
    assert_int_equal(a[1].error.code, TAM_EINVAL);
    tam_rpc_answer_t st = {0};
    assert_int_equal(tam_rpc_call(c, TAM_SERVICE_STATS_TYPE, NULL, 0, &st), 0);
    assert_int_equal(body_u64(&st, "reruns"), 0);
    tam_rpc_answer_clear(&st);
    for (int i = 0; i < 2; i++)
        tam_rpc_answer_clear(&a[i]);
    /* Wrote, then refused: the batch runs again nested. */
    send_put(c, "g-0", "two", 3);
    send_put(c, "g-1", "poison", 3);
    send_put(c, "g-2", "three", 3);
    recv_indexed(c, "g-", 3, a);
    assert_int_equal(a[0].status, TAM_RPC_OK);
    assert_int_equal(a[1].error.code, TAM_ECONFLICT);
    assert_int_equal(a[2].status, TAM_RPC_OK);
    assert_int_equal(body_u64(&a[2], "n"), 3); /* the poison's increment was undone */
    call_get(c, "poison", &g);
    assert_int_equal(g.error.code, TAM_ENOTFOUND);
    call_get(c, "three", &g);
    assert_int_equal(g.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&g, "keys"), 3);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_true(t.stats.reruns >= 1);
    assert_int_equal(t.events, 3);
    for (int i = 0; i < 3; i++)
        tam_rpc_answer_clear(&a[i]);
    tam_rpc_answer_clear(&g);
    DONE(fx);
}

static void test_map_full_retry(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    toy_start(&t, fx, 32u << 10, 0); /* a 32 KiB map to begin with */
    tam_rpc_client_t *c = client(fx);
    enum { N = 60 };
    static tam_rpc_answer_t a[N];
    memset(a, 0, sizeof a);
    for (int i = 0; i < N; i++) {
        char id[32], k[32];
        snprintf(id, sizeof id, "mf-%d", i);
        snprintf(k, sizeof k, "big%d", i);
        send_put(c, id, k, 16u << 10);
    }
    recv_indexed(c, "mf-", N, a);
    bool seen[N + 1] = {false};
    for (int i = 0; i < N; i++) {
        assert_int_equal(a[i].status, TAM_RPC_OK);
        uint64_t n = body_u64(&a[i], "n");
        assert_true(n >= 1 && n <= N);
        assert_false(seen[n]); /* no counter value used twice across retries */
        seen[n] = true;
        tam_rpc_answer_clear(&a[i]);
    }
    tam_rpc_answer_t g = {0};
    call_get(c, "big37", &g);
    assert_int_equal(g.status, TAM_RPC_OK);
    assert_int_equal(body_u64(&g, "len"), 16u << 10);
    assert_int_equal(body_u64(&g, "keys"), N);
    tam_rpc_answer_clear(&g);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_true(t.grow_count > 0);
    assert_int_equal(t.events, N); /* events of rerun writes are not doubled */
    assert_int_equal(t.stats.store_failures, 0);
    DONE(fx);
}

static void test_map_max_reached(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    toy_start(&t, fx, 64u << 10, 128u << 10);
    tam_rpc_client_t *c = client(fx);
    tam_rpc_answer_t a = {0};
    msgpack_sbuffer sb;
    put_body(&sb, "huge", 512u << 10, 'h');
    assert_int_equal(tam_rpc_call(c, "kv.put", sb.data, sb.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_ERROR);
    assert_int_equal(a.error.code, TAM_EMAPFULL);
    msgpack_sbuffer_destroy(&sb);
    /* still serving */
    put_body(&sb, "small", 8, 's');
    assert_int_equal(tam_rpc_call(c, "kv.put", sb.data, sb.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_OK);
    msgpack_sbuffer_destroy(&sb);
    tam_rpc_answer_clear(&a);
    tam_rpc_client_destroy(&c);
    assert_int_equal(toy_join(&t, true), 0);
    assert_int_equal(t.stats.store_failures, 1);
    assert_int_equal(t.events, 1);
    DONE(fx);
}

static void test_stop_mid_batch(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    toy_start(&t, fx, 0, 0);
    tam_rpc_client_t *c = client(fx);
    enum { N = 40 };
    for (int i = 0; i < N; i++) {
        char id[32], k[32];
        snprintf(id, sizeof id, "st-%d", i);
        snprintf(k, sizeof k, i == N / 2 ? "stop-now" : "k%d", i);
        send_put(c, id, k, 4);
    }
    /* The loop stops after the batch holding "stop-now": it returns 0 and
     * every request it accepted was committed and answered. */
    assert_int_equal(toy_join(&t, false), 0);
    size_t answered = 0;
    bool stop_answered = false;
    tam_rpc_answer_t a = {0};
    assert_true(t.stats.requests > N / 2 && t.stats.requests <= N);
    for (; answered < t.stats.requests; answered++) {
        assert_int_equal(tam_rpc_client_recv(c, 5000, &a), 0);
        assert_int_equal(a.status, TAM_RPC_OK);
        if (strcmp(a.id, "st-20") == 0)
            stop_answered = true;
        tam_rpc_answer_clear(&a);
    }
    /* nothing more: the requests not accepted are left to the client's resend */
    assert_int_equal(tam_rpc_client_recv(c, 200, &a), TAM_ETIMEOUT);
    assert_true(stop_answered);
    assert_int_equal(t.events, t.stats.requests);
    tam_rpc_client_destroy(&c);
    DONE(fx);
}

static void test_sigterm(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    memset(&t, 0, sizeof t);
    t.fx = fx;
    t.signals = true;
    assert_int_equal(pipe2(t.stop_pipe, O_CLOEXEC), 0);
    assert_int_equal(pipe2(t.ready_pipe, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&t.th, NULL, toy_main, &t), 0);
    zmq_pollitem_t it = {NULL, t.ready_pipe[0], ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 10000), 1);
    char b;
    assert_int_equal(read(t.ready_pipe[0], &b, 1), 1);
    tam_rpc_client_t *c = client(fx);
    tam_rpc_answer_t a = {0};
    msgpack_sbuffer sb;
    put_body(&sb, "before-term", 4, 'x');
    assert_int_equal(tam_rpc_call(c, "kv.put", sb.data, sb.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_OK);
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(kill(getpid(), SIGTERM), 0);
    assert_int_equal(toy_join(&t, false), 0);
    assert_int_equal(t.stats.writes, 1);
    /* the handler is gone again: SIGTERM's disposition is restored */
    struct sigaction sa;
    assert_int_equal(sigaction(SIGTERM, NULL, &sa), 0);
    assert_true(sa.sa_handler == SIG_DFL);
    tam_rpc_answer_clear(&a);
    tam_rpc_client_destroy(&c);
    DONE(fx);
}

static void test_fatal_store(void **state)
{
    fx_t *fx = *state;
    toy_t t;
    toy_start(&t, fx, 0, 0);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ep, 2000, 0), 0);
    tam_rpc_answer_t a = {0};
    msgpack_sbuffer sb;
    put_body(&sb, "doomed", 4, 'x');
    g_panic_commit = 1;
    /* The loop stops without answering: the write was never acknowledged. */
    assert_int_equal(tam_rpc_client_send(c, "fatal-1", "kv.put", sb.data, sb.size), 0);
    assert_int_equal(toy_join(&t, false), TAM_EFATAL);
    assert_int_equal(tam_rpc_client_recv(c, 200, &a), TAM_ETIMEOUT);
    assert_int_equal(t.stats.commits, 0);
    msgpack_sbuffer_destroy(&sb);
    tam_rpc_client_destroy(&c);
    DONE(fx);
}

static void test_bad_defs(void **state)
{
    fx_t *fx = *state;
    tam_service_def_t def = {.zctx = fx->zctx, .endpoint = fx->ep};
    assert_int_equal(tam_service_run(NULL, NULL), TAM_EINVAL);
    assert_int_equal(tam_service_run(&def, NULL), TAM_EINVAL); /* no classify */
    def.classify = toy_classify;
    /* a store without the "requests" database */
    static const char *const dbs[] = {"kv", NULL};
    tam_store_t *st = NULL;
    tam_store_opts_t o = {.path = fx->data, .dbs = dbs, .schema_version = 1};
    assert_int_equal(tam_store_open(&st, &o), 0);
    def.store = st;
    assert_int_equal(tam_service_run(&def, NULL), TAM_EINVAL); /* no handle */
    def.handle = toy_handle;
    assert_int_equal(tam_service_run(&def, NULL), TAM_EINVAL); /* no requests db */
    tam_store_close(&st);
    def.store = NULL;
    def.endpoint = "bogus://nowhere";
    assert_int_equal(tam_service_run(&def, NULL), TAM_EINVAL);
    DONE(fx);
}

/* ---- timer and failing sources ------------------------------------------------- */

typedef struct {
    int calls;
    int fail_with; /* the source's process returns it on its first call */
} tick_t;

static int tick_timer(void *arg, int *next_ms)
{
    tick_t *k = arg;
    k->calls++;
    *next_ms = 1;
    return k->calls == 3 ? TAM_SERVICE_STOP : 0;
}

static int tick_items(void *obj, zmq_pollitem_t *items, int max)
{
    (void)obj;
    (void)items;
    (void)max;
    return 0; /* nothing to poll: only its timeout */
}

static int tick_process(void *obj, const zmq_pollitem_t *items)
{
    tick_t *k = obj;
    (void)items;
    return k->fail_with;
}

static int tick_timeout(void *obj)
{
    (void)obj;
    return 0;
}

static void test_timer_and_sources(void **state)
{
    fx_t *fx = *state;
    tick_t k = {0, 0};
    tam_service_source_t src = {tick_items, tick_process, tick_timeout, &k};
    tam_service_def_t def = {.zctx = fx->zctx, .endpoint = fx->ep, .classify = toy_classify,
                             .timer = tick_timer, .sources = &src, .nsources = 1};
    assert_int_equal(tam_service_run(&def, &k), 0);
    assert_int_equal(k.calls, 3);
    /* a source failing stops the loop with its code */
    k = (tick_t){0, TAM_EIO};
    def.timer = NULL;
    assert_int_equal(tam_service_run(&def, &k), TAM_EIO);
    /* a source without process is refused */
    src.process = NULL;
    assert_int_equal(tam_service_run(&def, &k), TAM_EINVAL);
    DONE(fx);
}

/* ---- nested transactions (tam_txn_sub) ----------------------------------------- */

static int sub_put_fail(tam_txn_t *txn, void *arg)
{
    (void)arg;
    int rc = tam_txn_put(txn, "kv", "b", 1, "2", 1, 0);
    return rc ? rc : TAM_EINVAL;
}

static int sub_put_ok(tam_txn_t *txn, void *arg)
{
    (void)arg;
    return tam_txn_put(txn, "kv", "c", 1, "3", 1, 0);
}

static int sub_outer(tam_txn_t *txn, void *arg)
{
    int *rcs = arg;
    int rc = tam_txn_put(txn, "kv", "a", 1, "1", 1, 0);
    if (rc)
        return rc;
    rcs[0] = tam_txn_sub(txn, sub_put_fail, NULL);
    rcs[1] = tam_txn_status(txn);
    rcs[2] = tam_txn_sub(txn, sub_put_ok, NULL);
    return 0;
}

static int sub_check(tam_txn_t *txn, void *arg)
{
    int *found = arg;
    tam_val_t v;
    found[0] = tam_txn_get(txn, "kv", "a", 1, &v);
    found[1] = tam_txn_get(txn, "kv", "b", 1, &v);
    found[2] = tam_txn_get(txn, "kv", "c", 1, &v);
    found[3] = tam_txn_sub(txn, sub_put_ok, NULL); /* read-only: refused */
    return 0;
}

/* A big put inside the child fills the map: the parent is spoilt, the whole
 * write grows the map and runs again. */
static int sub_big(tam_txn_t *txn, void *arg)
{
    (void)arg;
    static char big[256u << 10];
    return tam_txn_put(txn, "kv", "big", 3, big, sizeof big, 0);
}

static int sub_outer_big(tam_txn_t *txn, void *arg)
{
    int *runs = arg;
    (*runs)++;
    int rc = tam_txn_sub(txn, sub_big, NULL);
    if (rc)
        assert_int_equal(tam_txn_status(txn), rc);
    return rc;
}

static void test_txn_sub(void **state)
{
    fx_t *fx = *state;
    tam_store_t *st = NULL;
    tam_store_opts_t o = {.path = fx->data, .map_size = 64u << 10, .dbs = toy_dbs,
                          .schema_version = 1};
    assert_int_equal(tam_store_open(&st, &o), 0);
    int rcs[3] = {1, 1, 1}, found[4] = {1, 1, 1, 1}, runs = 0;
    assert_int_equal(tam_store_write(st, sub_outer, rcs), 0);
    assert_int_equal(rcs[0], TAM_EINVAL);
    assert_int_equal(rcs[1], 0); /* a failed child leaves the parent usable */
    assert_int_equal(rcs[2], 0);
    assert_int_equal(tam_store_read(st, sub_check, found), 0);
    assert_int_equal(found[0], 0);
    assert_int_equal(found[1], TAM_ENOTFOUND);
    assert_int_equal(found[2], 0);
    assert_int_equal(found[3], TAM_EINVAL);
    assert_int_equal(tam_store_write(st, sub_outer_big, &runs), 0);
    assert_true(runs >= 2);
    assert_true(tam_store_grow_count(st) > 0);
    assert_int_equal(tam_txn_sub(NULL, sub_put_ok, NULL), TAM_EINVAL);
    assert_int_equal(tam_txn_status(NULL), TAM_EINVAL);
    tam_store_close(&st);
    DONE(fx);
}

/* The events list services build before their answer exists. */
static void test_events_list(void **state)
{
    (void)state;
    tam_events_t e = {0};
    char topic[300];
    memset(topic, 'x', sizeof topic - 1);
    topic[sizeof topic - 1] = 0;
    assert_int_equal(tam_events_add(&e, "", "b", 1), TAM_EINVAL);
    assert_int_equal(tam_events_add(&e, topic, "b", 1), TAM_EINVAL); /* over 255 bytes */
    assert_int_equal(tam_events_add(&e, "t/1", NULL, 3), TAM_EINVAL);
    for (int i = 0; i < 40; i++) {
        char t[16];
        snprintf(t, sizeof t, "t/%d", i);
        assert_int_equal(tam_events_add(&e, t, &i, sizeof i), 0);
    }
    assert_int_equal(e.n, 40);
    assert_string_equal(e.v[39].topic, "t/39");
    tam_events_truncate(&e, 10); /* a failed request's events go */
    assert_int_equal(e.n, 10);
    assert_string_equal(e.v[9].topic, "t/9");
    tam_answer_t a = {0};
    assert_int_equal(tam_answer_events(&a, &e), 0);
    assert_int_equal(a.n_events, 10);
    assert_string_equal(a.events[3].topic, "t/3");
    assert_int_equal(*(int *)a.events[3].body, 3);
    tam_answer_clear(&a);
    tam_events_free(&e);
    assert_null(e.v);
    assert_int_equal(e.n, 0);
}

int main(void)
{
    tam_log_init("test_service", LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_list),
        cmocka_unit_test_setup_teardown(test_txn_sub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_in_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flat_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_max_reached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_mid_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_defs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_and_sources, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

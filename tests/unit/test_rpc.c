/* test_rpc.c — request/reply layer: round trips, hostile clients and
 * servers, Lazy Pirate retries, stale answers, unreachable endpoints, the
 * principal from connection metadata. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include <zmq.h>

#include "tam/error.h"
#include "tam/log.h"
#include "tam/proto.h"
#include "tam/dedup.h"
#include "tam/rpc.h"
#include "tam/service.h"

typedef struct {
    void *zctx;
    int failed; /* a test that fails leaves sockets open: skip zmq_ctx_term */
    char dir[64];
    char ipc[128];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tam-rpc-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->ipc, sizeof fx->ipc, "ipc://%s/rpc", fx->dir);
    fx->zctx = zmq_ctx_new();
    assert_non_null(fx->zctx);
    fx->failed = 1; /* cleared by DONE at the end of each test */
    *state = fx;
    return 0;
}
#define DONE(fx) ((fx)->failed = 0)

static int teardown(void **state)
{
    fx_t *fx = *state;
    if (!fx->failed)
        zmq_ctx_term(fx->zctx);
    char path[160];
    snprintf(path, sizeof path, "%s/rpc", fx->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/rpc2", fx->dir);
    unlink(path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- msgpack helpers -------------------------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Builds an envelope; v < 0, type NULL or id NULL leave that key out. */
static void make_env(msgpack_sbuffer *sb, int v, const char *type, const char *id)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (v >= 0) + (type != NULL) + (id != NULL));
    if (v >= 0) {
        pk_str(&pk, "v");
        msgpack_pack_int(&pk, v);
    }
    if (type) {
        pk_str(&pk, "type");
        pk_str(&pk, type);
    }
    if (id) {
        pk_str(&pk, "id");
        pk_str(&pk, id);
    }
}

/* {"n": n} */
static void make_body(msgpack_sbuffer *sb, int n)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "n");
    msgpack_pack_int(&pk, n);
}

/* ---- a server in its own thread ----------------------------------------------- */

enum { MODE_ECHO, MODE_SECOND, MODE_STALE, MODE_MUTE };

typedef struct {
    void *zctx;
    char endpoint[160];
    int mode;
    pthread_t th;
    void *ctl; /* main thread's end of the control pair */
    char ctl_ep[64];
    /* read by the main thread after join */
    int received;
    int first_id_seen;
    char first_id[TAM_RPC_ID_MAX + 1];
    tam_principal_t last_principal;
} srv_t;

static void serve_one(srv_t *t, tam_rpc_server_t *srv, tam_rpc_req_t *req)
{
    t->received++;
    t->last_principal = req->principal;
    if (!t->first_id[0])
        memcpy(t->first_id, req->id, sizeof t->first_id);
    if (strcmp(t->first_id, req->id) == 0)
        t->first_id_seen++;
    if (t->mode == MODE_MUTE)
        return;
    if (t->mode == MODE_SECOND && t->first_id_seen < 2)
        return; /* only the resend is answered */
    if (t->mode == MODE_STALE) {
        tam_rpc_req_t old = *req;
        snprintf(old.id, sizeof old.id, "stale-%d", t->received);
        tam_rpc_server_reply_ok(srv, &old, "\x01", 1);
    }
    if (strcmp(req->type, "test.fail") == 0) {
        tam_rpc_error_t e = {0};
        tam_rpc_error_add(&e, "needs[0].priority", "priority must be 1..5, got %d", 9);
        tam_rpc_error_add(&e, "needs[2].cost", "cost must not be negative");
        tam_rpc_server_reply_error(srv, req, &e);
        tam_rpc_error_clear(&e);
    } else if (strcmp(req->type, "test.echo") == 0) {
        tam_rpc_server_reply_ok(srv, req, req->body, req->body_len);
    } else {
        tam_rpc_error_t e = {0};
        tam_rpc_error_unknown_type(&e, req->type);
        tam_rpc_server_reply_error(srv, req, &e);
        tam_rpc_error_clear(&e);
    }
}

static void *srv_main(void *arg)
{
    srv_t *t = arg;
    tam_rpc_server_t *srv = NULL;
    void *ctl = zmq_socket(t->zctx, ZMQ_PAIR);
    zmq_connect(ctl, t->ctl_ep);
    int rc = tam_rpc_server_new(&srv, t->zctx, t->endpoint, NULL);
    zmq_send(ctl, rc == 0 ? "ready" : "fail", rc == 0 ? 5 : 4, 0);
    while (rc == 0) {
        zmq_pollitem_t it[2] = {{tam_rpc_server_socket(srv), 0, ZMQ_POLLIN, 0},
                                {ctl, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, 2, tam_rpc_server_flush(srv)) < 0)
            break;
        if (it[1].revents)
            break;
        tam_rpc_req_t *req = NULL;
        while (tam_rpc_server_recv(srv, &req) == 0 && req) {
            serve_one(t, srv, req);
            tam_rpc_req_free(&req);
        }
    }
    tam_rpc_server_destroy(&srv);
    int zero = 0;
    zmq_setsockopt(ctl, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(ctl);
    return NULL;
}

static void srv_start(srv_t *t, void *zctx, const char *endpoint, int mode)
{
    static int n;
    memset(t, 0, sizeof *t);
    t->zctx = zctx;
    t->mode = mode;
    snprintf(t->endpoint, sizeof t->endpoint, "%s", endpoint);
    snprintf(t->ctl_ep, sizeof t->ctl_ep, "inproc://ctl-%d", n++);
    t->ctl = zmq_socket(zctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(t->ctl, t->ctl_ep), 0);
    assert_int_equal(pthread_create(&t->th, NULL, srv_main, t), 0);
    char buf[8];
    zmq_pollitem_t it = {t->ctl, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    assert_int_equal(zmq_recv(t->ctl, buf, sizeof buf, 0), 5);
}

static void srv_stop(srv_t *t)
{
    zmq_send(t->ctl, "stop", 4, 0);
    pthread_join(t->th, NULL);
    int zero = 0;
    zmq_setsockopt(t->ctl, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(t->ctl);
}

/* ---- round trips ------------------------------------------------------------ */

static void roundtrip(fx_t *fx, const char *endpoint)
{
    srv_t t;
    srv_start(&t, fx->zctx, endpoint, MODE_ECHO);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, endpoint, 5000, 0), 0);
    msgpack_sbuffer body;
    make_body(&body, 42);
    tam_rpc_answer_t a = {0};

    assert_int_equal(tam_rpc_call(c, "test.echo", body.data, body.size, &a), 0);
    assert_int_equal(a.status, TAM_RPC_OK);
    assert_string_equal(a.type, "test.echo");
    assert_int_equal(strlen(a.id), 33);
    assert_int_equal(a.len, body.size);
    assert_memory_equal(a.body, body.data, body.size);

    assert_int_equal(tam_rpc_call_id(c, "my-id:1", "test.fail", NULL, 0, &a), 0);
    assert_int_equal(a.status, TAM_RPC_ERROR);
    assert_string_equal(a.id, "my-id:1");
    assert_int_equal(a.error.code, TAM_EINVAL);
    assert_string_equal(a.error.field, "needs[0].priority");
    assert_string_equal(a.error.message, "priority must be 1..5, got 9");
    assert_int_equal(a.error.n, 2);
    assert_string_equal(a.error.errors[1].field, "needs[2].cost");

    assert_int_equal(tam_rpc_call(c, "test.nope", NULL, 0, &a), 0);
    assert_int_equal(a.status, TAM_RPC_ERROR);
    assert_int_equal(a.error.code, TAM_EUNKNOWN);
    assert_string_equal(a.error.field, "envelope.type");

    /* The principal without CURVE: local, every role. */
    tam_rpc_answer_clear(&a);
    msgpack_sbuffer_destroy(&body);
    tam_rpc_client_destroy(&c);
    assert_null(c);
    srv_stop(&t);
    assert_int_equal(t.received, 3);
    assert_string_equal(t.last_principal.id, "local");
    assert_true(tam_principal_may(&t.last_principal, TAM_ROLE_DONOR_LIAISON));
    DONE(fx);
}

static void test_roundtrip_inproc(void **state)
{
    roundtrip(*state, "inproc://rpc-rt");
}

static void test_roundtrip_ipc(void **state)
{
    fx_t *fx = *state;
    roundtrip(fx, fx->ipc);
    DONE(fx);
}

static void test_pipelined(void **state)
{
    fx_t *fx = *state;
    srv_t t;
    srv_start(&t, fx->zctx, fx->ipc, MODE_ECHO);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 5000, 0), 0);
    enum { N = 200 };
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        char id[32];
        msgpack_sbuffer body;
        make_body(&body, i);
        snprintf(id, sizeof id, "p-%d", i);
        assert_int_equal(tam_rpc_client_send(c, id, "test.echo", body.data, body.size), 0);
        msgpack_sbuffer_destroy(&body);
    }
    tam_rpc_answer_t a = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(tam_rpc_client_recv(c, 5000, &a), 0);
        int k = -1;
        assert_int_equal(sscanf(a.id, "p-%d", &k), 1);
        assert_true(k >= 0 && k < N);
        msgpack_sbuffer body;
        make_body(&body, k);
        assert_memory_equal(a.body, body.data, body.size);
        msgpack_sbuffer_destroy(&body);
        seen[k]++;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(tam_rpc_client_recv(c, 0, &a), TAM_ETIMEOUT);
    tam_rpc_answer_clear(&a);
    tam_rpc_client_destroy(&c);
    srv_stop(&t);
    DONE(fx);
}

/* ---- hostile clients -------------------------------------------------------- */

/* Sends n raw frames from a DEALER. */
static void raw_send(void *s, int n, const void *const *f, const size_t *len)
{
    for (int i = 0; i < n; i++)
        assert_true(zmq_send(s, f[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
}

/* Lets the server consume what arrived: expects it to hand out no request. */
static void pump_none(tam_rpc_server_t *srv)
{
    zmq_pollitem_t it = {tam_rpc_server_socket(srv), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    tam_rpc_req_t *req = (tam_rpc_req_t *)1;
    assert_int_equal(tam_rpc_server_recv(srv, &req), 0);
    assert_null(req);
}

/* Receives an error answer on a raw DEALER and checks code and field. */
static void expect_error(void *dealer, const char *id, int code, const char *field)
{
    zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    zmq_msg_t f[3];
    for (int i = 0; i < 3; i++) {
        zmq_msg_init(&f[i]);
        assert_true(zmq_msg_recv(&f[i], dealer, 0) >= 0);
        assert_int_equal(zmq_msg_more(&f[i]), i < 2);
    }
    assert_int_equal(zmq_msg_size(&f[0]), 0);
    tam_rpc_envelope_t env;
    assert_int_equal(tam_rpc_envelope_decode(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), true, &env,
                                             NULL),
                     0);
    assert_int_equal(env.status, TAM_RPC_ERROR);
    assert_string_equal(env.id, id);
    tam_rpc_error_t e = {0};
    assert_int_equal(tam_rpc_error_decode(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), &e), 0);
    assert_string_equal(tam_errname(e.code), tam_errname(code));
    assert_string_equal(e.field, field);
    assert_true(e.n >= 1);
    assert_true(e.message[0] != 0);
    tam_rpc_error_clear(&e);
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&f[i]);
}

/* A valid request still goes through afterwards. */
static void expect_serving(tam_rpc_server_t *srv, void *dealer)
{
    msgpack_sbuffer env, body;
    make_env(&env, 1, "test.echo", "still-ok");
    make_body(&body, 7);
    const void *f[3] = {"", env.data, body.data};
    size_t l[3] = {0, env.size, body.size};
    raw_send(dealer, 3, f, l);
    zmq_pollitem_t it = {tam_rpc_server_socket(srv), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    tam_rpc_req_t *req = NULL;
    assert_int_equal(tam_rpc_server_recv(srv, &req), 0);
    assert_non_null(req);
    assert_string_equal(req->id, "still-ok");
    assert_string_equal(req->type, "test.echo");
    assert_int_equal(req->body_len, body.size);
    assert_memory_equal(req->body, body.data, body.size);
    assert_int_equal(tam_rpc_server_reply_ok(srv, req, req->body, req->body_len), 0);
    tam_rpc_req_free(&req);
    assert_null(req);
    zmq_pollitem_t d = {dealer, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&d, 1, 5000), 1);
    for (int more = 1; more;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&m, dealer, 0) >= 0);
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    msgpack_sbuffer_destroy(&env);
    msgpack_sbuffer_destroy(&body);
}

static void *raw_dealer(void *zctx, const char *endpoint)
{
    void *d = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(d, endpoint), 0);
    return d;
}

/* One hostile case: frames sent, then the answer expected. */
static void hostile(tam_rpc_server_t *srv, void *d, int n, const void *const *f, const size_t *l,
                    const char *echo_id, int code, const char *field)
{
    raw_send(d, n, f, l);
    pump_none(srv);
    expect_error(d, echo_id, code, field);
}

static void test_hostile_envelopes(void **state)
{
    fx_t *fx = *state;
    tam_rpc_server_t *srv = NULL;
    tam_rpc_limits_t lim = {.max_frame = 1024};
    assert_int_equal(tam_rpc_server_new(&srv, fx->zctx, "inproc://rpc-hostile", &lim), 0);
    void *d = raw_dealer(fx->zctx, "inproc://rpc-hostile");
    static const uint8_t nil = 0xc0;
    msgpack_sbuffer env;

    /* not msgpack at all */
    const void *f1[3] = {"", "\xc1", &nil};
    size_t l1[3] = {0, 1, 1};
    hostile(srv, d, 3, f1, l1, "", TAM_EPROTO, "envelope");
    /* an array32 header declaring 67 M elements in 5 bytes */
    const void *f2[3] = {"", "\xdd\x04\x00\x00\x00", &nil};
    size_t l2[3] = {0, 5, 1};
    hostile(srv, d, 3, f2, l2, "", TAM_ETRUNC, "envelope");
    /* 30 nested arrays */
    uint8_t deep[31];
    memset(deep, 0x91, 30);
    deep[30] = 0xc0;
    const void *f3[3] = {"", deep, &nil};
    size_t l3[3] = {0, sizeof deep, 1};
    hostile(srv, d, 3, f3, l3, "", TAM_EDEPTH, "envelope");
    /* not a map */
    const void *f4[3] = {"", "\x91\x01", &nil};
    size_t l4[3] = {0, 2, 1};
    hostile(srv, d, 3, f4, l4, "", TAM_ETYPE, "envelope");
    /* missing id */
    make_env(&env, 1, "test.echo", NULL);
    const void *f5[3] = {"", env.data, &nil};
    size_t l5[3] = {0, env.size, 1};
    hostile(srv, d, 3, f5, l5, "", TAM_EMISSING, "envelope.id");
    msgpack_sbuffer_destroy(&env);
    /* id too long */
    char longid[TAM_RPC_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    make_env(&env, 1, "test.echo", longid);
    const void *f6[3] = {"", env.data, &nil};
    size_t l6[3] = {0, env.size, 1};
    hostile(srv, d, 3, f6, l6, "", TAM_ETOOBIG, "envelope.id");
    msgpack_sbuffer_destroy(&env);
    /* id with bad characters */
    make_env(&env, 1, "test.echo", "a b/c");
    const void *f7[3] = {"", env.data, &nil};
    size_t l7[3] = {0, env.size, 1};
    hostile(srv, d, 3, f7, l7, "", TAM_EINVAL, "envelope.id");
    msgpack_sbuffer_destroy(&env);
    /* wrong version: the valid id is echoed so the client can match it */
    make_env(&env, 2, "test.echo", "v2-req");
    const void *f8[3] = {"", env.data, &nil};
    size_t l8[3] = {0, env.size, 1};
    hostile(srv, d, 3, f8, l8, "v2-req", TAM_EPROTO, "envelope.v");
    msgpack_sbuffer_destroy(&env);
    /* missing version and type: every problem is listed */
    make_env(&env, -1, NULL, "two-problems");
    const void *f9[3] = {"", env.data, &nil};
    size_t l9[3] = {0, env.size, 1};
    raw_send(d, 3, f9, l9);
    pump_none(srv);
    {
        zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&it, 1, 5000), 1);
        zmq_msg_t m[3];
        for (int i = 0; i < 3; i++) {
            zmq_msg_init(&m[i]);
            assert_true(zmq_msg_recv(&m[i], d, 0) >= 0);
        }
        tam_rpc_error_t e = {0};
        assert_int_equal(tam_rpc_error_decode(zmq_msg_data(&m[2]), zmq_msg_size(&m[2]), &e), 0);
        assert_int_equal(e.n, 2);
        assert_string_equal(e.errors[0].field, "envelope.type");
        assert_string_equal(e.errors[1].field, "envelope.v");
        tam_rpc_error_clear(&e);
        for (int i = 0; i < 3; i++)
            zmq_msg_close(&m[i]);
    }
    msgpack_sbuffer_destroy(&env);

    make_env(&env, 1, "test.echo", "frames-1");
    /* ten frames */
    const void *f10[10] = {"", env.data, &nil, &nil, &nil, &nil, &nil, &nil, &nil, &nil};
    size_t l10[10] = {0, env.size, 1, 1, 1, 1, 1, 1, 1, 1};
    hostile(srv, d, 10, f10, l10, "frames-1", TAM_ETOOBIG, "frames");
    /* two frames */
    hostile(srv, d, 2, f10, l10, "frames-1", TAM_EPROTO, "frames");
    /* one frame only */
    hostile(srv, d, 1, f10 + 1, l10 + 1, "", TAM_EPROTO, "frames");
    /* non-empty delimiter */
    const void *f11[3] = {"x", env.data, &nil};
    size_t l11[3] = {1, env.size, 1};
    hostile(srv, d, 3, f11, l11, "frames-1", TAM_EPROTO, "delimiter");
    /* body over max_frame (inproc bypasses ZMQ_MAXMSGSIZE: the layer checks) */
    uint8_t big[2048] = {0xc5, 0x07, 0xfd};
    const void *f12[3] = {"", env.data, big};
    size_t l12[3] = {0, env.size, sizeof big};
    hostile(srv, d, 3, f12, l12, "frames-1", TAM_ETOOBIG, "body");
    /* body: deep nesting, hostile length, trailing bytes, empty */
    const void *f13[3] = {"", env.data, deep};
    size_t l13[3] = {0, env.size, sizeof deep};
    hostile(srv, d, 3, f13, l13, "frames-1", TAM_EDEPTH, "body");
    const void *f14[3] = {"", env.data, "\xdd\x04\x00\x00\x00"};
    size_t l14[3] = {0, env.size, 5};
    hostile(srv, d, 3, f14, l14, "frames-1", TAM_ETRUNC, "body");
    const void *f15[3] = {"", env.data, "\xc0\xc0"};
    size_t l15[3] = {0, env.size, 2};
    hostile(srv, d, 3, f15, l15, "frames-1", TAM_EPROTO, "body");
    const void *f16[3] = {"", env.data, ""};
    size_t l16[3] = {0, env.size, 0};
    hostile(srv, d, 3, f16, l16, "frames-1", TAM_ETRUNC, "body");
    msgpack_sbuffer_destroy(&env);

    expect_serving(srv, d);
    tam_rpc_server_stats_t st;
    tam_rpc_server_stats(srv, &st);
    assert_int_equal(st.rejected, 18);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.undelivered, 0);
    zmq_close(d);
    tam_rpc_server_destroy(&srv);
    assert_null(srv);
    DONE(fx);
}

/* Over ipc, ZMQ_MAXMSGSIZE drops the connection of a peer sending an oversize
 * frame: nothing can be answered; the server goes on serving others. */
static void test_oversize_ipc_dropped(void **state)
{
    fx_t *fx = *state;
    tam_rpc_server_t *srv = NULL;
    tam_rpc_limits_t lim = {.max_frame = 1024};
    assert_int_equal(tam_rpc_server_new(&srv, fx->zctx, fx->ipc, &lim), 0);
    void *d = raw_dealer(fx->zctx, fx->ipc);
    msgpack_sbuffer env;
    make_env(&env, 1, "test.echo", "big");
    static uint8_t big[8192] = {0xc5, 0x1f, 0xfd};
    const void *f[3] = {"", env.data, big};
    size_t l[3] = {0, env.size, sizeof big};
    raw_send(d, 3, f, l);
    zmq_pollitem_t it = {tam_rpc_server_socket(srv), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 300), 0); /* never delivered */
    msgpack_sbuffer_destroy(&env);
    void *d2 = raw_dealer(fx->zctx, fx->ipc);
    expect_serving(srv, d2);
    zmq_close(d);
    zmq_close(d2);
    tam_rpc_server_destroy(&srv);
    DONE(fx);
}

/* ---- client: retries, stale answers, unreachable ---------------------------- */

static void test_retry_same_id(void **state)
{
    fx_t *fx = *state;
    srv_t t;
    srv_start(&t, fx->zctx, fx->ipc, MODE_SECOND);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 300, 2), 0);
    tam_rpc_answer_t a = {0};
    assert_int_equal(tam_rpc_call_id(c, "retry-me", "test.echo", "\x07", 1, &a), 0);
    assert_int_equal(a.status, TAM_RPC_OK);
    assert_string_equal(a.id, "retry-me");
    tam_rpc_client_stats_t cs;
    tam_rpc_client_stats(c, &cs);
    assert_int_equal(cs.sent, 2);
    assert_int_equal(cs.reconnects, 1);
    tam_rpc_answer_clear(&a);
    tam_rpc_client_destroy(&c);
    srv_stop(&t);
    assert_string_equal(t.first_id, "retry-me");
    assert_int_equal(t.first_id_seen, 2); /* the same id, seen twice */
    DONE(fx);
}

static void test_retries_exhausted(void **state)
{
    fx_t *fx = *state;
    srv_t t;
    srv_start(&t, fx->zctx, fx->ipc, MODE_MUTE);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 200, 1), 0);
    tam_rpc_answer_t a = {0};
    assert_int_equal(tam_rpc_call(c, "test.echo", NULL, 0, &a), TAM_ETIMEOUT);
    tam_rpc_client_stats_t cs;
    tam_rpc_client_stats(c, &cs);
    assert_int_equal(cs.sent, 2);
    assert_int_equal(cs.reconnects, 1);
    tam_rpc_client_destroy(&c);
    srv_stop(&t);
    assert_true(t.first_id_seen >= 1);
    DONE(fx);
}

static void test_stale_dropped(void **state)
{
    fx_t *fx = *state;
    srv_t t;
    srv_start(&t, fx->zctx, fx->ipc, MODE_STALE);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 5000, 0), 0);
    tam_rpc_answer_t a = {0};
    assert_int_equal(tam_rpc_call_id(c, "fresh", "test.echo", "\x05", 1, &a), 0);
    assert_string_equal(a.id, "fresh");
    assert_int_equal(a.len, 1);
    assert_int_equal(a.body[0], 5);
    tam_rpc_client_stats_t cs;
    tam_rpc_client_stats(c, &cs);
    assert_int_equal(cs.stale, 1);
    tam_rpc_answer_clear(&a);
    tam_rpc_client_destroy(&c);
    srv_stop(&t);
    DONE(fx);
}

static void test_unreachable(void **state)
{
    fx_t *fx = *state;
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/nobody", fx->dir);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, ep, 200, 1), 0);
    tam_rpc_answer_t a = {0};
    int64_t t0 = now_ms();
    assert_int_equal(tam_rpc_call(c, "test.echo", NULL, 0, &a), TAM_EUNAVAIL);
    /* 2 attempts of 200 ms; generous bound against a noisy machine */
    assert_true(now_ms() - t0 < 5000);
    /* queued until a server appears; nothing comes back meanwhile */
    assert_int_equal(tam_rpc_client_send(c, "x", "test.echo", NULL, 0), 0);
    assert_int_equal(tam_rpc_client_recv(c, 50, &a), TAM_ETIMEOUT);
    tam_rpc_client_destroy(&c);
    DONE(fx);
}

static void test_client_bad_args(void **state)
{
    fx_t *fx = *state;
    tam_rpc_client_t *c = NULL;
    tam_rpc_answer_t a = {0};
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 0, 0), TAM_EINVAL);
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 10, -1), TAM_EINVAL);
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, "bogus://x", 10, 0), TAM_EINVAL);
    assert_null(c);
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 100, 0), 0);
    assert_int_equal(tam_rpc_call_id(c, "bad id", "test.echo", NULL, 0, &a), TAM_EINVAL);
    assert_int_equal(tam_rpc_call_id(c, "ok", "bad type!", NULL, 0, &a), TAM_EINVAL);
    assert_int_equal(tam_rpc_call_id(c, "ok", "test.echo", "\xc1", 1, &a), TAM_EINVAL);
    assert_int_equal(tam_rpc_call_id(c, "ok", "test.echo", "\xc0\xc0", 2, &a), TAM_EINVAL);
    tam_rpc_client_destroy(&c);
    tam_rpc_server_t *srv = NULL;
    assert_int_equal(tam_rpc_server_new(&srv, fx->zctx, "bogus://x", NULL), TAM_EINVAL);
    assert_int_equal(tam_rpc_server_new(&srv, fx->zctx, fx->ipc, NULL), 0);
    tam_rpc_server_t *srv2 = NULL;
    assert_int_equal(tam_rpc_server_new(&srv2, fx->zctx, "inproc://dup", NULL), 0);
    tam_rpc_server_t *srv3 = NULL;
    assert_int_equal(tam_rpc_server_new(&srv3, fx->zctx, "inproc://dup", NULL), TAM_EIO);
    assert_null(srv3);
    tam_rpc_server_destroy(&srv2);
    tam_rpc_server_destroy(&srv);
    DONE(fx);
}

/* A hostile server: for one request it sends garbage answers, then the right
 * one. The client drops the garbage and returns the right answer. */
typedef struct {
    void *zctx;
    char endpoint[160];
    int sent;
} evil_t;

static void evil_send(void *r, zmq_msg_t *route, int n, const void *const *f, const size_t *l)
{
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, route);
    zmq_msg_send(&copy, r, ZMQ_SNDMORE);
    for (int i = 0; i < n; i++)
        zmq_send(r, f[i], l[i], i + 1 < n ? ZMQ_SNDMORE : 0);
}

static void *evil_main(void *arg)
{
    evil_t *t = arg;
    void *r = zmq_socket(t->zctx, ZMQ_ROUTER);
    int linger = 5000; /* the answers must leave after close */
    zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof linger);
    zmq_bind(r, t->endpoint);
    zmq_msg_t route, m;
    zmq_msg_init(&route);
    zmq_pollitem_t it = {r, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 10000) == 1 && zmq_msg_recv(&route, r, 0) >= 0) {
        char id[TAM_RPC_ID_MAX + 1] = "";
        int i = 0;
        for (int more = zmq_msg_more(&route); more; i++) {
            zmq_msg_init(&m);
            zmq_msg_recv(&m, r, 0);
            more = zmq_msg_more(&m);
            if (i == 1) {
                tam_rpc_envelope_t env;
                tam_rpc_envelope_decode(zmq_msg_data(&m), zmq_msg_size(&m), false, &env, NULL);
                memcpy(id, env.id, sizeof id);
            }
            zmq_msg_close(&m);
        }
        uint8_t env[256], eenv[256];
        size_t elen = 0, eelen = 0;
        tam_rpc_envelope_t e = {.v = 1, .status = TAM_RPC_OK};
        snprintf(e.type, sizeof e.type, "test.echo");
        snprintf(e.id, sizeof e.id, "%s", id);
        tam_rpc_envelope_encode(&e, env, sizeof env, &elen);
        e.status = TAM_RPC_ERROR;
        tam_rpc_envelope_encode(&e, eenv, sizeof eenv, &eelen);
        uint8_t deep[40];
        memset(deep, 0x91, 39);
        deep[39] = 0xc0;
        /* 1: envelope not msgpack */
        const void *g1[3] = {"", "\xc1", "\xc0"};
        size_t h1[3] = {0, 1, 1};
        evil_send(r, &route, 3, g1, h1);
        /* 2: hostile body length */
        const void *g2[3] = {"", env, "\xdd\x04\x00\x00\x00"};
        size_t h2[3] = {0, elen, 5};
        evil_send(r, &route, 3, g2, h2);
        /* 3: ten frames */
        const void *g3[10] = {"", env, "\xc0", "\xc0", "\xc0", "\xc0", "\xc0", "\xc0", "\xc0", "\xc0"};
        size_t h3[10] = {0, elen, 1, 1, 1, 1, 1, 1, 1, 1};
        evil_send(r, &route, 10, g3, h3);
        /* 4: deep body */
        const void *g4[3] = {"", env, deep};
        size_t h4[3] = {0, elen, sizeof deep};
        evil_send(r, &route, 3, g4, h4);
        /* 5: missing delimiter */
        evil_send(r, &route, 2, g2 + 1, h2 + 1);
        /* 6: error answer whose body is a string: kept, as a protocol error */
        const void *g6[3] = {"", eenv, "\xa3" "abc"};
        size_t h6[3] = {0, eelen, 4};
        evil_send(r, &route, 3, g6, h6);
        t->sent = 6;
    }
    zmq_msg_close(&route);
    zmq_close(r);
    return NULL;
}

static void test_hostile_server(void **state)
{
    fx_t *fx = *state;
    evil_t t = {.zctx = fx->zctx};
    snprintf(t.endpoint, sizeof t.endpoint, "%s", fx->ipc);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, evil_main, &t), 0);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, fx->zctx, fx->ipc, 5000, 0), 0);
    tam_rpc_answer_t a = {0};
    /* The client may connect before the bind: the request waits for it. */
    assert_int_equal(tam_rpc_call_id(c, "evil-1", "test.echo", NULL, 0, &a), 0);
    assert_int_equal(a.status, TAM_RPC_ERROR);
    assert_int_equal(a.error.code, TAM_EPROTO);
    tam_rpc_client_stats_t cs;
    tam_rpc_client_stats(c, &cs);
    assert_int_equal(cs.malformed, 5);
    tam_rpc_answer_clear(&a);
    tam_rpc_client_destroy(&c);
    pthread_join(th, NULL);
    assert_int_equal(t.sent, 6);
    DONE(fx);
}

/* ---- principal from ZAP metadata ---------------------------------------------- */

/* A ZAP handler answering one request with User-Id "curve:respondent-FRA",
 * on a context in local mode: the id must be ignored.
 * Its socket is bound by the test before any connection: without a handler
 * at handshake time, libzmq accepts the peer with no User-Id at all. */
static void *zap_main(void *z)
{
    zmq_pollitem_t it = {z, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 10000) == 1) {
        char reqid[64] = "";
        int reqid_len = 0;
        for (int i = 0, more = 1; more; i++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            zmq_msg_recv(&m, z, 0);
            more = zmq_msg_more(&m);
            if (i == 1 && zmq_msg_size(&m) < sizeof reqid) {
                reqid_len = (int)zmq_msg_size(&m);
                memcpy(reqid, zmq_msg_data(&m), (size_t)reqid_len);
            }
            zmq_msg_close(&m);
        }
        zmq_send(z, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(z, reqid, (size_t)reqid_len, ZMQ_SNDMORE);
        zmq_send(z, "200", 3, ZMQ_SNDMORE);
        zmq_send(z, "OK", 2, ZMQ_SNDMORE);
        zmq_send(z, "curve:respondent-FRA", 20, ZMQ_SNDMORE);
        zmq_send(z, "", 0, 0);
    }
    zmq_close(z);
    return NULL;
}

static void test_principal_from_zap(void **state)
{
    fx_t *fx = *state;
    pthread_t th;
    void *z = zmq_socket(fx->zctx, ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(z, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(z, "inproc://zeromq.zap.01"), 0);
    /* the socket moves to the thread (pthread_create is a full barrier) */
    assert_int_equal(pthread_create(&th, NULL, zap_main, z), 0);
    tam_rpc_server_t *srv = NULL;
    assert_int_equal(tam_rpc_server_new(&srv, fx->zctx, "inproc://rpc-zap", NULL), 0);
    /* ZAP runs on connections to endpoints bound after the domain is set. */
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/rpc2", fx->dir);
    assert_int_equal(zmq_setsockopt(tam_rpc_server_socket(srv), ZMQ_ZAP_DOMAIN, "tam", 3), 0);
    assert_int_equal(zmq_bind(tam_rpc_server_socket(srv), ep), 0);
    void *d = raw_dealer(fx->zctx, ep);
    msgpack_sbuffer env;
    make_env(&env, 1, "test.echo", "who");
    const void *f[3] = {"", env.data, "\xc0"};
    size_t l[3] = {0, env.size, 1};
    raw_send(d, 3, f, l);
    zmq_pollitem_t it = {tam_rpc_server_socket(srv), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    tam_rpc_req_t *req = NULL;
    assert_int_equal(tam_rpc_server_recv(srv, &req), 0);
    assert_non_null(req);
    /* No security attached to the context: local mode, where no property
     * of the connection decides anything (test_sec covers curve mode). */
    assert_string_equal(req->principal.id, "local");
    assert_int_equal(req->principal.roles, TAM_ROLE_ALL);
    tam_rpc_req_free(&req);
    msgpack_sbuffer_destroy(&env);
    zmq_close(d);
    tam_rpc_server_destroy(&srv);
    pthread_join(th, NULL);
    DONE(fx);
}

static void test_principal_rules(void **state)
{
    (void)state;
    tam_principal_t p;
    assert_int_equal(tam_principal_from_user_id(NULL, &p), 0);
    assert_string_equal(p.id, "local");
    assert_int_equal(p.roles, TAM_ROLE_ALL);
    assert_int_equal(tam_principal_from_user_id("key:abc", &p), 0);
    assert_string_equal(p.id, "key:abc");
    assert_false(tam_principal_may(&p, TAM_ROLE_ALL));
    char longid[100];
    memset(longid, 'k', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    assert_int_equal(tam_principal_from_user_id(longid, &p), TAM_EDENIED);
    assert_int_equal(p.roles, 0);
    assert_int_equal(tam_principal_from_user_id("a b", &p), TAM_EDENIED);
    assert_int_equal(tam_principal_from_user_id("", &p), TAM_EDENIED);
    assert_int_equal(tam_principal_from_msg(NULL, NULL, &p), TAM_EINVAL);
    assert_int_equal(p.roles, 0);
    p.roles = TAM_ROLE_MANAGER;
    assert_true(tam_principal_may(&p, TAM_ROLE_MANAGER));
    assert_true(tam_principal_may(&p, TAM_ROLE_MANAGER | TAM_ROLE_PLANNER));
    assert_false(tam_principal_may(&p, TAM_ROLE_PLANNER));
    assert_false(tam_principal_may(&p, 0));
    assert_false(tam_principal_may(NULL, TAM_ROLE_MANAGER));
    p.roles = TAM_ROLE_ADMIN;
    assert_true(tam_principal_may(&p, TAM_ROLE_DONOR_LIAISON));
}

/* ---- wire helpers ------------------------------------------------------------- */

/* Every entry of errors[] carries its own code, on the wire and back (RPC.md 5). */
static void test_error_entry_codes(void **state)
{
    (void)state;
    tam_rpc_error_t e = {0};
    assert_int_equal(tam_rpc_error_set(&e, TAM_ERANGE, "a", "must be between 1 and 5, not 7"), 0);
    assert_int_equal(tam_rpc_error_add_code(&e, TAM_EUNKNOWN, "b", "unknown field"), 0);
    assert_int_equal(tam_rpc_error_add(&e, "c", "bad"), 0);
    assert_int_equal(tam_rpc_error_add_code(&e, 0, "d", "x"), TAM_EINVAL);
    void *buf = NULL;
    size_t len = 0;
    assert_int_equal(tam_rpc_error_encode(&e, &buf, &len), 0);
    tam_rpc_error_t d = {0};
    assert_int_equal(tam_rpc_error_decode(buf, len, &d), 0);
    assert_int_equal(d.code, TAM_ERANGE);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.errors[0].code, TAM_ERANGE);
    assert_int_equal(d.errors[1].code, TAM_EUNKNOWN);
    assert_int_equal(d.errors[2].code, TAM_EINVAL);
    assert_string_equal(d.errors[1].field, "b");
    free(buf);
    tam_rpc_error_clear(&d);
    tam_rpc_error_clear(&e);
    /* a first problem added with its own code sets the answer's code */
    assert_int_equal(tam_rpc_error_add_code(&e, TAM_EMISSING, "x", "required"), 0);
    assert_int_equal(e.code, TAM_EMISSING);
    assert_string_equal(e.field, "x");
    tam_rpc_error_clear(&e);
}

static void test_error_builder(void **state)
{
    (void)state;
    tam_rpc_error_t e = {0};
    for (int i = 0; i < 150; i++)
        assert_int_equal(tam_rpc_error_add(&e, "f", "problem %d", i), 0);
    assert_int_equal(e.code, TAM_EINVAL);
    assert_int_equal(e.n, TAM_RPC_ERRORS_MAX);
    assert_int_equal(e.dropped, 50);
    assert_string_equal(e.message, "problem 0");
    void *buf = NULL;
    size_t len = 0;
    assert_int_equal(tam_rpc_error_encode(&e, &buf, &len), 0);
    tam_rpc_error_t d = {0};
    assert_int_equal(tam_rpc_error_decode(buf, len, &d), 0);
    assert_int_equal(d.code, TAM_EINVAL);
    assert_int_equal(d.n, TAM_RPC_ERRORS_MAX);
    assert_string_equal(d.errors[99].message, "problem 99");
    free(buf);
    tam_rpc_error_clear(&d);
    tam_rpc_error_clear(&e);
    assert_null(e.errors);
    assert_int_equal(e.n, 0);

    /* Long texts are cut at a character boundary: é is 2 bytes. */
    char big[600];
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[sizeof big - 2] = 0;
    assert_int_equal(tam_rpc_error_set(&e, TAM_ERANGE, big, "%s", big), 0);
    assert_int_equal(strlen(e.message) % 2, 0);
    assert_int_equal(strlen(e.field) % 2, 0);
    assert_true(strlen(e.message) >= TAM_RPC_MESSAGE_MAX - 1);
    assert_int_equal(e.n, 1);
    assert_int_equal(tam_rpc_error_set(&e, 0, "x", "y"), TAM_EINVAL);
    tam_rpc_error_clear(&e);

    /* Decoding what a hostile peer sends: shape errors and odd texts. */
    assert_int_equal(tam_rpc_error_decode("\xa3" "abc", 4, &d), TAM_EPROTO);
    assert_int_equal(d.code, TAM_EPROTO);
    tam_rpc_error_clear(&d);
    assert_int_equal(tam_rpc_error_decode("\xdd\x04\x00\x00\x00", 5, &d), TAM_ETRUNC);
    tam_rpc_error_clear(&d);
    /* {"code": "ok", "message": "a\x01b", "errors": [1]} */
    const char odd[] = "\x83\xa4" "code" "\xa2" "ok" "\xa7" "message" "\xa3" "a\x01" "b"
                       "\xa6" "errors" "\x91\x01";
    assert_int_equal(tam_rpc_error_decode(odd, sizeof odd - 1, &d), TAM_EPROTO);
    tam_rpc_error_clear(&d);
    const char odd2[] = "\x82\xa4" "code" "\xa2" "ok" "\xa7" "message" "\xa3" "a\x01" "b";
    assert_int_equal(tam_rpc_error_decode(odd2, sizeof odd2 - 1, &d), 0);
    assert_int_equal(d.code, TAM_EPROTO); /* "ok" is not an error code */
    assert_string_equal(d.message, "a?b");
    tam_rpc_error_clear(&d);
}

static void test_stored_answer(void **state)
{
    (void)state;
    void *buf = NULL;
    size_t len = 0;
    int status = -1;
    const void *body;
    size_t blen;
    assert_int_equal(tam_rpc_answer_encode(TAM_RPC_OK, "\x81\xa1n\x05", 4, &buf, &len), 0);
    assert_int_equal(tam_rpc_answer_split(buf, len, &status, &body, &blen), 0);
    assert_int_equal(status, TAM_RPC_OK);
    assert_int_equal(blen, 4);
    assert_memory_equal(body, "\x81\xa1n\x05", 4);
    assert_int_equal(tam_mp_check(buf, len, &TAM_MP_LIMITS_DEFAULT, NULL), 0);
    free(buf);
    assert_int_equal(tam_rpc_answer_encode(TAM_RPC_ERROR, NULL, 0, &buf, &len), 0);
    assert_int_equal(tam_rpc_answer_split(buf, len, &status, &body, &blen), 0);
    assert_int_equal(status, TAM_RPC_ERROR);
    assert_int_equal(blen, 1);
    free(buf);
    assert_int_equal(tam_rpc_answer_encode(7, NULL, 0, &buf, &len), TAM_EINVAL);
    assert_int_equal(tam_rpc_answer_encode(TAM_RPC_OK, "\xc1", 1, &buf, &len), TAM_EINVAL);
    assert_int_equal(tam_rpc_answer_split("\x92\xa2ok", 4, &status, &body, &blen), TAM_EPROTO);
    assert_int_equal(tam_rpc_answer_split("\x92\xa2ok\xc0\xc0", 6, &status, &body, &blen),
                     TAM_EPROTO);
    assert_int_equal(tam_rpc_answer_split("\x92\xa2no\xc0", 5, &status, &body, &blen),
                     TAM_EPROTO);

    char id[TAM_RPC_ID_MAX + 1], id2[TAM_RPC_ID_MAX + 1];
    assert_int_equal(tam_rpc_new_id(id), 0);
    assert_int_equal(tam_rpc_new_id(id2), 0);
    assert_int_equal(strlen(id), 33); /* dated: t + 11 hex + - + 20 hex (tam/dedup.h) */
    int64_t when = 0;
    assert_true(tam_dedup_id_time(id, &when));
    assert_true(when > 1700000000000LL);
    assert_true(tam_rpc_id_valid(id, strlen(id)));
    assert_string_not_equal(id, id2);
    assert_false(tam_rpc_id_valid("", 0));
    assert_false(tam_rpc_id_valid("a\0b", 3));
    assert_true(tam_rpc_id_valid("A.z_0:9-", 8));
    assert_false(tam_rpc_type_valid("a:b", 3));
}

/* Receives an error answer and returns its envelope (id and type echoed). */
static void recv_error_env(void *dealer, tam_rpc_envelope_t *env)
{
    zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    zmq_msg_t f[3];
    for (int i = 0; i < 3; i++) {
        zmq_msg_init(&f[i]);
        assert_true(zmq_msg_recv(&f[i], dealer, 0) >= 0);
    }
    assert_int_equal(tam_rpc_envelope_decode(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), true, env,
                                             NULL),
                     0);
    assert_int_equal(env->status, TAM_RPC_ERROR);
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&f[i]);
}

/* {"v":1,"type":type,"id":id, key:val} with one key repeated. */
static void make_env_dup(msgpack_sbuffer *sb, const char *type, const char *id, const char *key,
                         const char *val)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pk_str(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pk_str(&pk, "type");
    pk_str(&pk, type);
    pk_str(&pk, "id");
    pk_str(&pk, id);
    pk_str(&pk, key);
    pk_str(&pk, val);
}

/* RPC.md: a valid id is echoed whatever else is wrong, and an invalid id
 * does not blank a valid type (issue 19). */
static void test_echo_independent(void **state)
{
    fx_t *fx = *state;
    tam_rpc_server_t *srv = NULL;
    assert_int_equal(tam_rpc_server_new(&srv, fx->zctx, "inproc://rpc-echo", NULL), 0);
    void *d = raw_dealer(fx->zctx, "inproc://rpc-echo");
    static const uint8_t nil = 0xc0;
    msgpack_sbuffer env;
    tam_rpc_envelope_t a;

    /* an invalid type: the valid id comes back */
    make_env(&env, 1, "bad type!", "typed-bad");
    const void *f1[3] = {"", env.data, &nil};
    size_t l1[3] = {0, env.size, 1};
    hostile(srv, d, 3, f1, l1, "typed-bad", TAM_EINVAL, "envelope.type");
    msgpack_sbuffer_destroy(&env);
    /* an invalid id: the valid type comes back, the id empty */
    make_env(&env, 1, "test.echo", "a b/c");
    const void *f2[3] = {"", env.data, &nil};
    size_t l2[3] = {0, env.size, 1};
    raw_send(d, 3, f2, l2);
    pump_none(srv);
    recv_error_env(d, &a);
    assert_string_equal(a.id, "");
    assert_string_equal(a.type, "test.echo");
    msgpack_sbuffer_destroy(&env);
    /* a repeated key: refused, the id still echoed */
    make_env_dup(&env, "test.echo", "dup-type", "type", "test.other");
    const void *f3[3] = {"", env.data, &nil};
    size_t l3[3] = {0, env.size, 1};
    hostile(srv, d, 3, f3, l3, "dup-type", TAM_EPROTO, "envelope");
    msgpack_sbuffer_destroy(&env);
    /* the id repeated with the same value: echoed; with another one: not */
    make_env_dup(&env, "test.echo", "dup-id", "id", "dup-id");
    const void *f4[3] = {"", env.data, &nil};
    size_t l4[3] = {0, env.size, 1};
    hostile(srv, d, 3, f4, l4, "dup-id", TAM_EPROTO, "envelope");
    msgpack_sbuffer_destroy(&env);
    make_env_dup(&env, "test.echo", "dup-id", "id", "other-id");
    const void *f5[3] = {"", env.data, &nil};
    size_t l5[3] = {0, env.size, 1};
    hostile(srv, d, 3, f5, l5, "", TAM_EPROTO, "envelope");
    msgpack_sbuffer_destroy(&env);

    expect_serving(srv, d);
    zmq_close(d);
    tam_rpc_server_destroy(&srv);
    DONE(fx);
}

/* A nil body is the empty request of a type that takes no arguments; a type
 * with a required field still refuses it, naming the problem (issue 19). */
static void test_nil_body(void **state)
{
    (void)state;
    static const uint8_t nil = 0xc0;
    tam_arena_t *ar = tam_arena_new(0);
    assert_non_null(ar);
    tam_ping_t ping;
    tam_rpc_error_t e = {0};
    assert_int_equal(tam_request_decode(&tam_schema_ping, &nil, 1, ar, &ping, &e), 0);
    assert_int_equal(e.n, 0);
    assert_null(ping.note);
    tam_gap_query_t gq;
    assert_int_equal(tam_decode(&tam_schema_gap_query, &nil, 1, ar, &gq, NULL), 0);
    tam_key_t k;
    assert_int_not_equal(tam_request_decode(&tam_schema_key, &nil, 1, ar, &k, &e), 0);
    assert_true(e.n >= 1);
    tam_rpc_error_clear(&e);
    /* anything else that is not a map is still refused */
    assert_int_not_equal(tam_request_decode(&tam_schema_ping, "\x01", 1, ar, &ping, &e), 0);
    tam_rpc_error_clear(&e);
    tam_arena_destroy(&ar);
}

int main(void)
{
    tam_log_init("test_rpc", LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_inproc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_ipc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_envelopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_independent, setup, teardown),
        cmocka_unit_test(test_nil_body),
        cmocka_unit_test_setup_teardown(test_oversize_ipc_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_same_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_principal_from_zap, setup, teardown),
        cmocka_unit_test(test_principal_rules),
        cmocka_unit_test(test_error_builder),
        cmocka_unit_test(test_error_entry_codes),
        cmocka_unit_test(test_stored_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

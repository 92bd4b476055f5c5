/* test_service_later.c — queries answered later (tam_service_def_t.later,
 * tam_service_reply): the loop answers other requests while one is
 * outstanding, then the service's answer (ok or error) reaches the client;
 * tam_service_reply outside a loop is refused; requests still held at the
 * stop are the service's to free. tam-match answers match.whatif and
 * match.advise this way (services/match/match_aside.c). */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

typedef struct {
    void *zctx;
    char dir[64];
    char ep[128];
    int poke[2];   /* the test writes 'a' (answer the held requests) or 's' (stop) */
    int ready[2];
    pthread_t th;
    int rc;
    tam_rpc_req_t *held[4];
    int nheld;
    int fast;      /* fast queries answered */
} svc_t;

static tam_req_kind_t s_classify(const char *type, void *arg)
{
    (void)arg;
    return strncmp(type, "t.", 2) == 0 ? TAM_REQ_READ : TAM_REQ_UNKNOWN;
}

static int s_query(tam_txn_t *txn, const tam_rpc_req_t *req, tam_answer_t *out, void *arg)
{
    (void)txn;
    svc_t *v = arg;
    if (strcmp(req->type, "t.slow") == 0 || strcmp(req->type, "t.fail") == 0) {
        out->later = true;
        return 0;
    }
    v->fast++;
    static const unsigned char one[] = {0x01};
    return tam_answer_ok(out, one, 1);
}

static void s_later(tam_rpc_req_t *req, void *arg)
{
    svc_t *v = arg;
    assert_true(v->nheld < 4);
    v->held[v->nheld++] = req;
}

static int s_items(void *obj, zmq_pollitem_t *items, int max)
{
    svc_t *v = obj;
    (void)max;
    items[0] = (zmq_pollitem_t){NULL, v->poke[0], ZMQ_POLLIN, 0};
    return 1;
}

static int s_process(void *obj, const zmq_pollitem_t *items)
{
    svc_t *v = obj;
    char b;
    if (!(items[0].revents & ZMQ_POLLIN) || read(v->poke[0], &b, 1) != 1)
        return 0;
    if (b == 's')
        return TAM_SERVICE_STOP;
    for (int k = 0; k < v->nheld; k++) {
        tam_answer_t a;
        memset(&a, 0, sizeof a);
        if (strcmp(v->held[k]->type, "t.fail") == 0) {
            tam_rpc_error_set(&a.error, TAM_ENOTFOUND, "project", "no such project");
        } else {
            static const unsigned char two[] = {0x02};
            assert_int_equal(tam_answer_ok(&a, two, 1), 0);
        }
        assert_int_equal(tam_service_reply(v->held[k], &a), 0);
        tam_answer_clear(&a);
        tam_rpc_req_free(&v->held[k]);
    }
    v->nheld = 0;
    return 0;
}

static void s_ready(const char *endpoint, void *arg)
{
    svc_t *v = arg;
    (void)endpoint;
    assert_int_equal(write(v->ready[1], "r", 1), 1);
}

static void *s_main(void *arg)
{
    svc_t *v = arg;
    tam_service_source_t src = {s_items, s_process, NULL, v};
    tam_service_def_t def = {.name = "later", .zctx = v->zctx, .endpoint = v->ep,
                             .classify = s_classify, .query = s_query, .later = s_later,
                             .ready = s_ready, .sources = &src, .nsources = 1};
    v->rc = tam_service_run(&def, v);
    return NULL;
}

static void send_req(tam_rpc_client_t *c, const char *id, const char *type)
{
    static const unsigned char empty_map[] = {0x80};
    assert_int_equal(tam_rpc_client_send(c, id, type, empty_map, 1), 0);
}

static void test_answered_later(void **state)
{
    (void)state;
    svc_t v;
    memset(&v, 0, sizeof v);
    snprintf(v.dir, sizeof v.dir, "/tmp/tam-later-XXXXXX");
    assert_non_null(mkdtemp(v.dir));
    snprintf(v.ep, sizeof v.ep, "ipc://%s/req", v.dir);
    v.zctx = zmq_ctx_new();
    assert_int_equal(pipe2(v.poke, O_CLOEXEC), 0);
    assert_int_equal(pipe2(v.ready, O_CLOEXEC), 0);
    /* no loop in this thread: refused */
    tam_answer_t none;
    memset(&none, 0, sizeof none);
    tam_rpc_req_t fake;
    memset(&fake, 0, sizeof fake);
    assert_int_equal(tam_service_reply(&fake, &none), TAM_ESTATE);

    assert_int_equal(pthread_create(&v.th, NULL, s_main, &v), 0);
    char b;
    assert_int_equal(read(v.ready[0], &b, 1), 1);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, v.zctx, v.ep, 10000, 0), 0);
    /* the slow ones are held; the fast ones sent after them are answered first */
    send_req(c, "slow-1", "t.slow");
    send_req(c, "fail-1", "t.fail");
    send_req(c, "fast-1", "t.fast");
    send_req(c, "fast-2", "t.fast");
    tam_rpc_answer_t a = {0};
    for (int k = 1; k <= 2; k++) {
        assert_int_equal(tam_rpc_client_recv(c, 10000, &a), 0);
        char id[24];
        snprintf(id, sizeof id, "fast-%d", k);
        assert_string_equal(a.id, id);
        assert_int_equal(a.status, TAM_RPC_OK);
        tam_rpc_answer_clear(&a);
    }
    /* nothing else came meanwhile */
    assert_int_equal(tam_rpc_client_recv(c, 100, &a), TAM_ETIMEOUT);
    /* now the service answers them: an ok body and an error */
    assert_int_equal(write(v.poke[1], "a", 1), 1);
    bool got_ok = false, got_err = false;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tam_rpc_client_recv(c, 10000, &a), 0);
        if (strcmp(a.id, "slow-1") == 0) {
            assert_int_equal(a.status, TAM_RPC_OK);
            assert_int_equal(a.len, 1);
            assert_int_equal(((const unsigned char *)a.body)[0], 0x02);
            got_ok = true;
        } else {
            assert_string_equal(a.id, "fail-1");
            assert_int_not_equal(a.status, TAM_RPC_OK);
            assert_int_equal(a.error.code, TAM_ENOTFOUND);
            assert_string_equal(a.error.field, "project");
            got_err = true;
        }
        tam_rpc_answer_clear(&a);
    }
    assert_true(got_ok && got_err);
    /* one more held at the stop: the service frees it (no answer) */
    send_req(c, "slow-2", "t.slow");
    send_req(c, "fast-3", "t.fast");
    assert_int_equal(tam_rpc_client_recv(c, 10000, &a), 0);
    assert_string_equal(a.id, "fast-3");
    tam_rpc_answer_clear(&a);
    assert_int_equal(write(v.poke[1], "s", 1), 1);
    pthread_join(v.th, NULL);
    assert_int_equal(v.rc, 0);
    assert_int_equal(v.fast, 3);
    assert_int_equal(v.nheld, 1);
    tam_rpc_req_free(&v.held[0]);
    tam_rpc_client_destroy(&c);
    zmq_ctx_term(v.zctx);
    close(v.poke[0]);
    close(v.poke[1]);
    close(v.ready[0]);
    close(v.ready[1]);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", v.dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_answered_later)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

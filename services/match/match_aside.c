/* match_aside.c — match.whatif and match.advise in a thread of their own
 * (match_aside.h). The copy is made in the loop thread (the only one that
 * changes the live engine when no run is computed); from then on it shares
 * nothing with the live engine, so the thread needs no lock. The thread
 * writes one byte to a pipe when it returned; the loop thread then sends
 * the answer (ZeroMQ sockets belong to the loop's thread). */
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tam/error.h"
#include "tam/log.h"
#include "tam/proto.h"
#include "tam/service.h"
#include "match_aside.h"
#include "match_whatif.h"

struct tam_match_aside {
    tam_rpc_req_t *q[TAM_MATCH_ASIDE_QUEUE]; /* waiting, oldest first */
    size_t nq;
    /* the request being evaluated */
    tam_rpc_req_t *req;
    tam_match_t *c;        /* its copy (taken by the thread) */
    int msg;
    tam_arena_t *arena;
    msgpack_sbuffer body;
    tam_rpc_error_t err;
    int rc;
    int stop;              /* atomic: the evaluation must stop (the copy's runs check it) */
    int done;              /* atomic: the thread returned */
    int pipe[2];
    pthread_t th;
    bool running;          /* a thread was started and not joined */
};

int tam_match_aside_new(tam_match_aside_t **out)
{
    *out = NULL;
    tam_match_aside_t *a = calloc(1, sizeof *a);
    if (!a)
        return TAM_ENOMEM;
    a->pipe[0] = a->pipe[1] = -1;
    msgpack_sbuffer_init(&a->body);
    if (!(a->arena = tam_arena_new(0))) {
        tam_match_aside_destroy(&a);
        return TAM_ENOMEM;
    }
    if (pipe2(a->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        tam_error("whatif: pipe: %s", strerror(errno));
        tam_match_aside_destroy(&a);
        return TAM_EIO;
    }
    *out = a;
    return 0;
}

static void s_join(tam_match_aside_t *a)
{
    if (!a->running)
        return;
    pthread_join(a->th, NULL);
    a->running = false;
    char b[16];
    while (read(a->pipe[0], b, sizeof b) > 0)
        ;
}

void tam_match_aside_destroy(tam_match_aside_t **ap)
{
    if (!ap || !*ap)
        return;
    tam_match_aside_t *a = *ap;
    __atomic_store_n(&a->stop, 1, __ATOMIC_RELAXED);
    s_join(a);
    tam_match_destroy(&a->c);
    tam_rpc_req_free(&a->req);
    for (size_t k = 0; k < a->nq; k++)
        tam_rpc_req_free(&a->q[k]);
    tam_rpc_error_clear(&a->err);
    tam_arena_destroy(&a->arena);
    msgpack_sbuffer_destroy(&a->body);
    if (a->pipe[0] >= 0)
        close(a->pipe[0]);
    if (a->pipe[1] >= 0)
        close(a->pipe[1]);
    free(a);
    *ap = NULL;
}

int tam_match_aside_push(tam_match_aside_t *a, tam_rpc_req_t *req)
{
    if (a->nq == TAM_MATCH_ASIDE_QUEUE)
        return TAM_ETOOBIG;
    a->q[a->nq++] = req;
    return 0;
}

bool tam_match_aside_busy(const tam_match_aside_t *a)
{
    return a->req != NULL;
}

bool tam_match_aside_waiting(const tam_match_aside_t *a)
{
    return a->nq > 0;
}

int tam_match_aside_fd(const tam_match_aside_t *a)
{
    return a->running ? a->pipe[0] : -1;
}

static void *s_main(void *arg)
{
    tam_match_aside_t *a = arg;
    tam_match_t *c = a->c;
    a->c = NULL; /* taken: tam_match__copy_query destroys it */
    a->rc = tam_match__copy_query(c, a->msg, a->req->body, a->req->body_len, a->arena, &a->body,
                                  &a->err);
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    unsigned char b = 1;
    while (write(a->pipe[1], &b, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* Sends the answer of the request in hand and forgets it. */
static void s_answer(tam_match_aside_t *a)
{
    tam_answer_t ans;
    memset(&ans, 0, sizeof ans);
    if (a->err.code) {
        ans.error = a->err; /* moved */
        memset(&a->err, 0, sizeof a->err);
    } else if (a->rc) {
        tam_rpc_error_set(&ans.error, a->rc < 0 ? a->rc : TAM_EINTERNAL, "", "%s",
                          tam_strerror(a->rc < 0 ? a->rc : TAM_EINTERNAL));
    } else if (tam_answer_ok(&ans, a->body.data, a->body.size)) {
        tam_rpc_error_set(&ans.error, TAM_ENOMEM, "", "%s", tam_strerror(TAM_ENOMEM));
    }
    tam_service_reply(a->req, &ans);
    tam_answer_clear(&ans);
    tam_rpc_req_free(&a->req);
    tam_rpc_error_clear(&a->err);
    tam_arena_reset(a->arena);
    msgpack_sbuffer_clear(&a->body);
    a->rc = 0;
}

bool tam_match_aside_next(tam_match_aside_t *a, const tam_match_t *m)
{
    while (!a->req && a->nq > 0) {
        a->req = a->q[0];
        memmove(a->q, a->q + 1, --a->nq * sizeof *a->q);
        const tam_message_t *msg = tam_message_find(a->req->type);
        a->msg = msg ? (int)msg->id : -1;
        int rc = tam_match__whatif_clone(m, &a->c);
        if (rc == TAM_ESTATE)
            tam_rpc_error_set(&a->err, rc, "", "no run yet: the matcher is waiting for its feeds");
        if (rc) {
            a->rc = rc;
            s_answer(a);
            continue;
        }
        /* the copy's runs stop when the service stops (never the live engine's hooks) */
        tam_match_sync_t sync = {.owner = a->c, .stop = &a->stop};
        tam_match_set_sync(a->c, &sync);
        __atomic_store_n(&a->done, 0, __ATOMIC_RELAXED);
        int e = pthread_create(&a->th, NULL, s_main, a);
        if (e) {
            tam_error("whatif: cannot start a thread: %s", strerror(e));
            tam_match_destroy(&a->c);
            a->rc = TAM_ENOMEM;
            s_answer(a);
            continue;
        }
        a->running = true;
    }
    return a->req != NULL;
}

bool tam_match_aside_finish(tam_match_aside_t *a)
{
    if (!a->running || !__atomic_load_n(&a->done, __ATOMIC_ACQUIRE))
        return false;
    s_join(a);
    s_answer(a);
    return true;
}

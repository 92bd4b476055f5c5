/* match_worker.c — a run of the matcher in a worker thread, so that the
 * service loop goes on answering queries from the last published run while
 * the next one is computed (issue 16).
 *
 * One rwlock guards the engine. The worker holds it for writing during a
 * run, except while it solves (the solver touches only m->flow and m->work)
 * and makes the duals canonical, and it lets waiting readers in between
 * rows of a long recomputation (tam_match_sync_t). The loop thread takes it
 * for reading around every query and snapshot. Publications are buffered
 * and sent by the loop thread after the run (ZeroMQ sockets belong to one
 * thread), in the order the run made them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_worker.h"

typedef struct {
    char *topic;
    void *body;
    size_t len;
} s_pub_t;

struct tam_match_worker {
    tam_match_t *m;
    pthread_rwlock_t lock;
    int readers_waiting;   /* atomic: readers blocked on the lock */
    int stop;              /* atomic: the run must stop */
    int done;              /* atomic: the run returned */
    int pipe[2];           /* the worker writes one byte when the run returned */
    pthread_t th;
    bool running;          /* a thread was started and not joined */
    tam_match_seqs_t seqs;
    int rc;                /* the run's result */
    s_pub_t *pubs;
    size_t npubs, cap_pubs;
    bool pub_failed;       /* a publication could not be buffered (ENOMEM) */
    int64_t held_since;    /* worker: when it last took the write lock (us) */
    int64_t hold_run;      /* worker: the run's longest write-lock hold so far (us): the
                            * longest stretch between points where a waiting reader
                            * is let in (unlocks and yields) */
    int64_t hold_last;     /* loop: the last finished run's longest hold (us) */
};

static int64_t s_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* The worker took / is about to give back the write lock (worker thread). */
static void s_held(tam_match_worker_t *w)
{
    w->held_since = s_us();
}

static void s_release(tam_match_worker_t *w)
{
    int64_t d = s_us() - w->held_since;
    if (d > w->hold_run)
        w->hold_run = d;
}

/* ---- the sync hooks the run calls (worker thread) -------------------------------- */

static void s_unlock(void *arg)
{
    tam_match_worker_t *w = arg;
    s_release(w);
    pthread_rwlock_unlock(&w->lock);
}

static void s_lock(void *arg)
{
    tam_match_worker_t *w = arg;
    pthread_rwlock_wrlock(&w->lock);
    s_held(w);
}

static void s_yield(void *arg)
{
    tam_match_worker_t *w = arg;
    /* a reader waiting here would be let in: the stretch ends */
    s_release(w);
    if (!__atomic_load_n(&w->readers_waiting, __ATOMIC_ACQUIRE)) {
        s_held(w);
        return;
    }
    pthread_rwlock_unlock(&w->lock);
    /* until the waiting readers hold the lock (then wrlock waits for them) */
    while (__atomic_load_n(&w->readers_waiting, __ATOMIC_ACQUIRE))
        sched_yield();
    pthread_rwlock_wrlock(&w->lock);
    s_held(w);
}

/* ---- publications, buffered (worker thread) ------------------------------------------ */

static int s_buffer(const char *topic, const void *body, size_t len, void *arg)
{
    tam_match_worker_t *w = arg;
    if (w->npubs == w->cap_pubs) {
        size_t nc = w->cap_pubs ? 2 * w->cap_pubs : 256;
        s_pub_t *v = realloc(w->pubs, nc * sizeof *v);
        if (!v) {
            w->pub_failed = true;
            return TAM_ENOMEM;
        }
        w->pubs = v;
        w->cap_pubs = nc;
    }
    s_pub_t *p = &w->pubs[w->npubs];
    p->topic = strdup(topic);
    p->body = malloc(len ? len : 1);
    if (!p->topic || !p->body) {
        free(p->topic);
        free(p->body);
        w->pub_failed = true;
        return TAM_ENOMEM;
    }
    memcpy(p->body, body, len);
    p->len = len;
    w->npubs++;
    return 0;
}

static void *s_main(void *arg)
{
    tam_match_worker_t *w = arg;
    pthread_rwlock_wrlock(&w->lock);
    w->hold_run = 0;
    s_held(w);
    w->rc = tam_match_run(w->m, &w->seqs, s_buffer, w);
    s_release(w);
    pthread_rwlock_unlock(&w->lock);
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    char b = 1;
    while (write(w->pipe[1], &b, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* ---- the loop thread's side ------------------------------------------------------------ */

int tam_match_worker_new(tam_match_worker_t **out, tam_match_t *m)
{
    *out = NULL;
    tam_match_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return TAM_ENOMEM;
    w->m = m;
    w->pipe[0] = w->pipe[1] = -1;
    if (pthread_rwlock_init(&w->lock, NULL) != 0) {
        free(w);
        return TAM_ENOMEM;
    }
    if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        tam_error("worker: pipe: %s", strerror(errno));
        pthread_rwlock_destroy(&w->lock);
        free(w);
        return TAM_EIO;
    }
    tam_match_sync_t sync = {.owner = m, .unlock = s_unlock, .lock = s_lock, .yield = s_yield,
                             .arg = w, .stop = &w->stop};
    tam_match_set_sync(m, &sync);
    *out = w;
    return 0;
}

int tam_match_worker_start(tam_match_worker_t *w, const tam_match_seqs_t *seqs)
{
    if (w->running)
        return TAM_ESTATE;
    w->seqs = *seqs;
    w->rc = 0;
    w->done = 0;
    w->pub_failed = false;
    int e = pthread_create(&w->th, NULL, s_main, w);
    if (e) {
        tam_error("worker: cannot start a thread: %s", strerror(e));
        return TAM_ENOMEM;
    }
    w->running = true;
    return 0;
}

bool tam_match_worker_busy(const tam_match_worker_t *w)
{
    return w->running;
}

bool tam_match_worker_done(const tam_match_worker_t *w)
{
    return w->running && __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

int tam_match_worker_fd(const tam_match_worker_t *w)
{
    return w->pipe[0];
}

int tam_match_worker_finish(tam_match_worker_t *w, tam_match_publish_fn publish, void *arg)
{
    if (!w->running)
        return TAM_ESTATE;
    pthread_join(w->th, NULL);
    w->running = false;
    w->hold_last = w->hold_run;
    char b[64];
    while (read(w->pipe[0], b, sizeof b) > 0)
        ;
    for (size_t k = 0; k < w->npubs; k++) {
        if (publish)
            publish(w->pubs[k].topic, w->pubs[k].body, w->pubs[k].len, arg);
        free(w->pubs[k].topic);
        free(w->pubs[k].body);
    }
    if (w->pub_failed)
        tam_warn("run: some publications could not be buffered (out of memory); subscribers "
                 "catch up from the snapshot");
    w->npubs = 0;
    return w->rc;
}

void tam_match_worker_rdlock(tam_match_worker_t *w)
{
    __atomic_add_fetch(&w->readers_waiting, 1, __ATOMIC_ACQ_REL);
    pthread_rwlock_rdlock(&w->lock);
    __atomic_sub_fetch(&w->readers_waiting, 1, __ATOMIC_ACQ_REL);
}

void tam_match_worker_rdunlock(tam_match_worker_t *w)
{
    pthread_rwlock_unlock(&w->lock);
}

int64_t tam_match_worker_hold_us(const tam_match_worker_t *w)
{
    return w->hold_last;
}

int tam_match_worker_stop(tam_match_worker_t *w)
{
    if (!w->running)
        return 0;
    __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
    int rc = tam_match_worker_finish(w, NULL, NULL);
    __atomic_store_n(&w->stop, 0, __ATOMIC_RELEASE);
    return rc;
}

void tam_match_worker_destroy(tam_match_worker_t **wp)
{
    if (!wp || !*wp)
        return;
    tam_match_worker_t *w = *wp;
    tam_match_worker_stop(w);
    tam_match_set_sync(w->m, NULL);
    free(w->pubs);
    close(w->pipe[0]);
    close(w->pipe[1]);
    pthread_rwlock_destroy(&w->lock);
    free(w);
    *wp = NULL;
}

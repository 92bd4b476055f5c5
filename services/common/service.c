/* service.c — the service loop: poll, group commit, answers after commit,
 * events after answers, graceful stop (see tam/service.h); the writes of a batch
 * are in service_write.c. */
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "tam/dedup.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/access.h"
#include "tam/service.h"
#include "tam/notify.h"
#include "service_int.h"

/* The loop running in this thread (tam_service_reply), or NULL. */
static __thread tam__svc_t *s_loop;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define S_PRUNE_EVERY_MS 60000 /* between prunes when none is left over */
#define S_PRUNE_POLL_MS 1000   /* longest poll while a store may need pruning */
#define S_DRAIN_WAIT_MS 1      /* after a batch: longest wait for a peer to take an answer */
#define S_DRAIN_BUDGET_MS 50   /* and for all of them (sources wait meanwhile) */
#define S_DRAIN_STEP_MS 5      /* between looks at a pending SIGTERM/SIGINT */

/* The wall clock for answer ages: the def's (tests) or CLOCK_REALTIME. */
static int64_t s_wall_ms(const tam__svc_t *v)
{
    if (v->def->clock_ms)
        return v->def->clock_ms(v->arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- signals: a self-pipe among the poll items ------------------------------------ */

static volatile sig_atomic_t s_sig_fd = -1;
static volatile sig_atomic_t s_sig_pending; /* a stop signal came: the drain ends early */
static int s_sig_busy; /* one loop with signals per process */

static void s_on_signal(int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char)signo;
    s_sig_pending = 1;
    if (s_sig_fd >= 0 && write(s_sig_fd, &b, 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

typedef struct {
    int fd[2];
    struct sigaction old_term, old_int;
    bool on;
} s_signals_t;

static int s_signals_on(s_signals_t *sg)
{
    if (__atomic_exchange_n(&s_sig_busy, 1, __ATOMIC_SEQ_CST))
        return TAM_ESTATE;
    if (pipe2(sg->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        __atomic_store_n(&s_sig_busy, 0, __ATOMIC_SEQ_CST);
        return TAM_EIO;
    }
    s_sig_fd = sg->fd[1];
    s_sig_pending = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, &sg->old_term);
    sigaction(SIGINT, &sa, &sg->old_int);
    sg->on = true;
    return 0;
}

static void s_signals_off(s_signals_t *sg)
{
    if (!sg->on)
        return;
    sigaction(SIGTERM, &sg->old_term, NULL);
    sigaction(SIGINT, &sg->old_int, NULL);
    s_sig_fd = -1;
    close(sg->fd[0]);
    close(sg->fd[1]);
    sg->on = false;
    __atomic_store_n(&s_sig_busy, 0, __ATOMIC_SEQ_CST);
}

/* ---- reads, stats and answers --------------------------------------------------- */

static int s_read_fn(tam_txn_t *txn, void *arg)
{
    tam__svc_t *v = arg;
    for (size_t i = 0; i < v->n; i++) {
        if (v->kind[i] != K_READ)
            continue;
        tam_answer_t *a = &v->ans[i];
        tam_answer_clear(a);
        int r = v->def->query(txn, v->reqs[i], a, v->arg);
        if (r == TAM_EFATAL)
            return r;
        if (r >= 0 && a->later && v->def->later) {
            v->kind[i] = K_LATER; /* the service takes the request and answers it later */
            continue;
        }
        if (r < 0)
            tam__service_error_from(a, r, NULL);
        else if (!a->ok)
            tam__service_error_from(a, TAM_EINTERNAL, "the service gave no answer");
    }
    return 0;
}

static void s_stats_sync(tam__svc_t *v)
{
    tam_rpc_server_stats_t rs;
    tam_rpc_server_stats(v->srv, &rs);
    v->st.undelivered = rs.undelivered;
    v->st.rejected = rs.rejected;
    if (v->def->stats)
        *v->def->stats = v->st;
}

/* The answer to "service.stats". */
static int s_stats_answer(tam__svc_t *v, tam_answer_t *a)
{
    s_stats_sync(v);
    const tam_service_stats_t *s = &v->st;
    const struct {
        const char *k;
        uint64_t v;
    } f[] = {{"requests", s->requests},     {"writes", s->writes},
             {"reads", s->reads},           {"duplicates", s->duplicates},
             {"errors", s->errors},         {"denied", s->denied},
             {"batches", s->batches},       {"max_batch", s->max_batch},
             {"commits", s->commits},       {"store_failures", s->store_failures},
             {"undelivered", s->undelivered}, {"rejected", s->rejected},
             {"reruns", s->reruns},         {"pruned", s->pruned},
             {"expired", s->expired}};
    tam_service_gauge_t g[16];
    size_t ng = 0;
    if (v->def->store) {
        g[ng++] = (tam_service_gauge_t){"map_size", (int64_t)tam_store_map_size(v->def->store)};
        g[ng++] = (tam_service_gauge_t){"map_used", (int64_t)tam_store_map_used(v->def->store)};
    }
    if (v->def->gauges)
        ng += v->def->gauges(g + ng, sizeof g / sizeof g[0] - ng, v->arg);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    size_t nf = sizeof f / sizeof f[0];
    int bad = msgpack_pack_map(&pk, nf + ng);
    for (size_t i = 0; i < nf; i++) {
        bad |= msgpack_pack_str(&pk, strlen(f[i].k));
        bad |= msgpack_pack_str_body(&pk, f[i].k, strlen(f[i].k));
        bad |= msgpack_pack_uint64(&pk, f[i].v);
    }
    for (size_t i = 0; i < ng; i++) {
        bad |= msgpack_pack_str(&pk, strlen(g[i].name));
        bad |= msgpack_pack_str_body(&pk, g[i].name, strlen(g[i].name));
        bad |= msgpack_pack_int64(&pk, g[i].value);
    }
    if (bad) {
        msgpack_sbuffer_destroy(&sb);
        return TAM_ENOMEM;
    }
    size_t len = sb.size;
    return tam_answer_ok_take(a, msgpack_sbuffer_release(&sb), len);
}

/* Sends one answer: stored bytes, an error, or an ok body. */
static void s_send(tam__svc_t *v, size_t i)
{
    const tam_rpc_req_t *req = v->reqs[i];
    tam_answer_t *a = &v->ans[i];
    if (v->stored[i]) {
        int rc = tam_rpc_server_reply_stored(v->srv, req, v->stored[i], v->stored_len[i]);
        if (rc == TAM_EPROTO) { /* a damaged stored answer: say so rather than stay silent */
            tam_error("request %s: its stored answer is damaged", req->id);
            tam__service_error_from(a, TAM_EINTERNAL, "the stored answer to this request id is damaged");
            v->st.errors++;
            tam_rpc_server_reply_error(v->srv, req, &a->error);
        }
    } else if (tam_answer_is_error(a) || !a->ok) {
        tam__service_error_from(a, TAM_EINTERNAL, "the service gave no answer");
        v->st.errors++;
        tam_rpc_server_reply_error(v->srv, req, &a->error);
    } else {
        tam_rpc_server_reply_ok(v->srv, req, a->body, a->len);
    }
}

int tam_service_reply(const tam_rpc_req_t *req, tam_answer_t *a)
{
    tam__svc_t *v = s_loop;
    if (!v || !req || !a)
        return TAM_ESTATE;
    if (tam_answer_is_error(a) || !a->ok) {
        tam__service_error_from(a, TAM_EINTERNAL, "the service gave no answer");
        v->st.errors++;
        tam_rpc_server_reply_error(v->srv, req, &a->error);
    } else {
        tam_rpc_server_reply_ok(v->srv, req, a->body, a->len);
    }
    return 0;
}

/* Classifies the batch; answers decided on the spot get kind K_DONE. */
static void s_classify(tam__svc_t *v, size_t *nw, size_t *nr)
{
    const tam_service_def_t *d = v->def;
    *nw = *nr = 0;
    for (size_t i = 0; i < v->n; i++) {
        const tam_rpc_req_t *req = v->reqs[i];
        tam_answer_t *a = &v->ans[i];
        /* answered by the loop itself: service.stats, and catalog.get with a catalogue */
        bool stats = strcmp(req->type, TAM_SERVICE_STATS_TYPE) == 0 ||
                     (d->catalog && strcmp(req->type, TAM_SERVICE_CATALOG_TYPE) == 0);
        tam_req_kind_t k = stats ? TAM_REQ_READ : d->classify(req->type, v->arg);
        if (stats || (k == TAM_REQ_WRITE && d->store && d->handle) ||
            (k == TAM_REQ_READ && d->query)) {
            /* The role matrix (tam/access.h) first, then the service's own
             * checks that need the body. */
            int r = tam_access_check(&req->principal, req->type, NULL, NULL, &a->error);
            if (r == 0 && !stats && d->authorize)
                r = d->authorize(req, &a->error, v->arg);
            if (r < 0 || tam_answer_is_error(a)) {
                v->st.denied++;
                tam_info("%s: %s (type %s) refused for principal %s", v->name, req->id, req->type,
                         req->principal.id);
                if (!tam_answer_is_error(a))
                    tam_rpc_error_set(&a->error, r, "", "principal '%s' may not send %s",
                                      req->principal.id, req->type);
                v->kind[i] = K_DONE;
                continue;
            }
            if (stats) {
                v->kind[i] = req->type[0] == 'c' ? K_CATALOG : K_STATS;
                continue;
            }
            v->kind[i] = k == TAM_REQ_WRITE ? K_WRITE : K_READ;
            if (k == TAM_REQ_WRITE)
                (*nw)++;
            else
                (*nr)++;
        } else {
            tam_rpc_error_unknown_type(&a->error, req->type);
            v->kind[i] = K_DONE;
        }
    }
}

/* Processes the batch in hand. Returns 0 or TAM_EFATAL (nothing answered). */
static int s_batch(tam__svc_t *v)
{
    const tam_service_def_t *d = v->def;
    size_t nw, nr, ndup = 0, nerr0 = (size_t)v->st.errors;
    v->now = s_wall_ms(v);
    s_classify(v, &nw, &nr);
    if (nw) {
        int rc = tam__service_writes(v, nw);
        if (rc == TAM_EFATAL) {
            tam_crit("%s: the store failed fatally; stopping without answering %zu request(s)",
                     v->name, v->n);
            return rc;
        }
    }
    /* Committed (or failed as a whole): answer the writes, then publish. */
    size_t nev = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->kind[i] != K_WRITE)
            continue;
        if (v->ans[i].error.code == TAM_EEXPIRED)
            v->st.expired++;
        s_send(v, i);
        if (v->dup[i])
            ndup++;
        else if (v->stored[i])
            nev += v->ans[i].n_events;
    }
    if (nev && d->after_commit) {
        tam_event_t *ev = malloc(nev * sizeof *ev);
        if (ev) {
            size_t k = 0;
            for (size_t i = 0; i < v->n; i++)
                if (v->kind[i] == K_WRITE && v->stored[i] && !v->dup[i])
                    for (size_t j = 0; j < v->ans[i].n_events; j++)
                        ev[k++] = v->ans[i].events[j];
            d->after_commit(ev, k, v->arg);
            free(ev);
        } else {
            tam_error("%s: out of memory: %zu event(s) not published", v->name, nev);
        }
    }
    int fatal = 0;
    if (nr) {
        int rc = d->store ? tam_store_read(d->store, s_read_fn, v) : s_read_fn(NULL, v);
        if (rc) {
            for (size_t i = 0; i < v->n; i++)
                if (v->kind[i] == K_READ) {
                    tam_answer_clear(&v->ans[i]);
                    tam__service_error_from(&v->ans[i], rc, NULL);
                }
            if (rc == TAM_EFATAL)
                fatal = rc;
        }
    }
    for (size_t i = 0; i < v->n; i++) {
        if (v->kind[i] == K_WRITE)
            continue;
        if (v->kind[i] == K_LATER) {
            tam_rpc_req_t *req = v->reqs[i];
            v->reqs[i] = NULL;
            tam_answer_clear(&v->ans[i]);
            d->later(req, v->arg);
            continue;
        }
        if (v->kind[i] == K_STATS) {
            nr++;
            if (s_stats_answer(v, &v->ans[i]))
                tam__service_error_from(&v->ans[i], TAM_ENOMEM, NULL);
        }
        if (v->kind[i] == K_CATALOG) {
            nr++;
            int rc = tam_service_catalog_answer(d->catalog, v->reqs[i], &v->ans[i]);
            if (rc)
                tam__service_error_from(&v->ans[i], rc, NULL);
        }
        s_send(v, i);
    }
    v->st.requests += v->n;
    v->st.writes += nw;
    v->st.reads += nr;
    v->st.duplicates += ndup;
    v->st.batches++;
    if (v->n > v->st.max_batch)
        v->st.max_batch = v->n;
    tam_debug("%s: batch of %zu: %zu write(s), %zu duplicate(s), %zu read(s), %zu error(s)",
              v->name, v->n, nw, ndup, nr, (size_t)v->st.errors - nerr0);
    if (fatal)
        tam_crit("%s: the store failed fatally while reading; stopping", v->name);
    return fatal;
}

static void s_batch_free(tam__svc_t *v)
{
    for (size_t i = 0; i < v->n; i++) {
        tam_rpc_req_free(&v->reqs[i]);
        tam_answer_clear(&v->ans[i]);
        free(v->stored[i]);
        v->stored[i] = NULL;
        v->stored_len[i] = 0;
        v->dup[i] = false;
    }
    v->n = 0;
}

/* Prunes stored answers older than the retention when due: one bounded
 * transaction per loop turn, so requests are served in between. A failed
 * prune (e.g. a full disk) is tried again later. Returns 0 or TAM_EFATAL. */
static int s_prune(tam__svc_t *v)
{
    if (!v->def->store)
        return 0;
    int64_t now = s_wall_ms(v);
    if (now < v->prune_due)
        return 0;
    size_t n = 0;
    bool more = false;
    int rc = tam_dedup_prune(v->def->store, TAM_SERVICE_REQUESTS_DB, now, v->retention,
                             TAM_DEDUP_PRUNE_BATCH, &n, &more);
    if (rc == TAM_EFATAL)
        return rc;
    if (rc) {
        tam_warn("%s: pruning stored answers failed: %s; trying again later", v->name,
                 tam_strerror(rc));
        v->prune_due = now + S_PRUNE_EVERY_MS;
        return 0;
    }
    v->st.pruned += n;
    if (n)
        tam_info("%s: pruned %zu stored answer(s) older than the retention%s", v->name, n,
                 more ? ", more to go" : "");
    v->prune_due = more ? now : now + S_PRUNE_EVERY_MS;
    return 0;
}

/* ---- the loop ------------------------------------------------------------------- */

/* Takes the requests of the next batch: those ready now, up to batch_max and
 * batch_bytes; then, if that is more than one request (the service is under
 * load), for at most batch_wait_ms, those that arrive meanwhile.
 * Returns 0 or the rpc server's error (the requests taken stay in the batch). */
static int s_gather(tam__svc_t *v)
{
    size_t bytes = 0;
    int64_t until = -1;
    while (v->n < v->batch_max && bytes < v->batch_bytes) {
        tam_rpc_req_t *req = NULL;
        int rc = tam_rpc_server_recv(v->srv, &req);
        if (rc)
            return rc;
        if (req) {
            v->reqs[v->n++] = req;
            bytes += req->body_len;
            continue;
        }
        /* Wait only under load: a lone request is committed at once. */
        if (!v->def->batch_wait_ms || v->n < 2)
            break;
        int64_t now = s_now_ms();
        if (until < 0)
            until = now + v->def->batch_wait_ms;
        if (now >= until)
            break;
        zmq_pollitem_t it = {tam_rpc_server_socket(v->srv), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, (long)(until - now)) <= 0)
            break; /* nothing more, or a signal: commit what is in hand */
    }
    return 0;
}

static int s_check_db(tam_txn_t *txn, void *arg)
{
    size_t n;
    (void)arg;
    return tam_txn_count(txn, TAM_SERVICE_REQUESTS_DB, &n);
}

static int s_def_ok(const tam_service_def_t *d)
{
    if (!d || !d->zctx || !d->endpoint || !d->classify || (d->store && !d->handle) ||
        (d->nsources && !d->sources))
        return TAM_EINVAL;
    for (size_t i = 0; i < d->nsources; i++)
        if (!d->sources[i].pollitems || !d->sources[i].process)
            return TAM_EINVAL;
    if (d->store) {
        int rc = tam_store_read(d->store, s_check_db, NULL);
        if (rc) {
            tam_error("%s: the store has no \"%s\" database (%s)", d->name ? d->name : "service",
                      TAM_SERVICE_REQUESTS_DB, tam_strerror(rc));
            return rc == TAM_EUNKNOWN ? TAM_EINVAL : rc;
        }
    }
    return 0;
}

static int s_alloc(tam__svc_t *v)
{
    size_t n = v->batch_max;
    v->reqs = calloc(n, sizeof *v->reqs);
    v->ans = calloc(n, sizeof *v->ans);
    v->kind = calloc(n, sizeof *v->kind);
    v->stored = calloc(n, sizeof *v->stored);
    v->stored_len = calloc(n, sizeof *v->stored_len);
    v->dup = calloc(n, sizeof *v->dup);
    return v->reqs && v->ans && v->kind && v->stored && v->stored_len && v->dup ? 0 : TAM_ENOMEM;
}

static void s_free(tam__svc_t *v)
{
    s_batch_free(v);
    free(v->reqs);
    free(v->ans);
    free(v->kind);
    free(v->stored);
    free(v->stored_len);
    free(v->dup);
    tam_rpc_server_destroy(&v->srv);
}

/* Calls the timer; returns its code and updates *due (-1: none). */
static int s_timer(const tam_service_def_t *d, void *arg, int64_t *due)
{
    int next = -1;
    int rc = d->timer(arg, &next);
    *due = next >= 0 ? s_now_ms() + next : -1;
    return rc;
}

int tam_service_run(const tam_service_def_t *def, void *arg)
{
    tam__svc_t v = {.def = def, .arg = arg};
    s_signals_t sg = {.on = false};
    zmq_pollitem_t *items = NULL;
    int *first = NULL;
    int ret = s_def_ok(def);
    if (ret)
        return ret;
    v.name = def->name ? def->name : "service";
    v.batch_max = def->batch_max ? def->batch_max : TAM_SERVICE_BATCH_DEFAULT;
    v.batch_bytes = def->batch_bytes ? def->batch_bytes : SIZE_MAX;
    v.retention = def->request_retention_ms > 0 ? def->request_retention_ms
                                                : TAM_DEDUP_RETENTION_DEFAULT_MS;
    size_t nitems = 2 + def->nsources * TAM_SERVICE_SOURCE_ITEMS;
    items = calloc(nitems, sizeof *items);
    first = calloc(def->nsources + 1, sizeof *first);
    if (!items || !first || (ret = s_alloc(&v)))
        goto out_nomem;
    if ((ret = tam_rpc_server_new(&v.srv, def->zctx, def->endpoint, def->limits)))
        goto out;
    s_loop = &v;
    if (def->signals && (ret = s_signals_on(&sg)))
        goto out;
    tam_info("%s: serving requests on %s", v.name, tam_rpc_server_endpoint(v.srv));
    if (def->ready)
        def->ready(tam_rpc_server_endpoint(v.srv), arg);
    if (def->signals && tam_notify("READY=1") < 0)
        tam_warn("%s: cannot tell the supervisor it is ready", v.name);
    int64_t timer_due = -1;
    bool stopping = false;
    if (def->timer && (ret = s_timer(def, arg, &timer_due))) {
        if (ret != TAM_SERVICE_STOP)
            goto out;
        stopping = true;
    }
    while (!stopping) {
        /* Poll items: requests, the signal pipe, then each source's. */
        int n = 0;
        items[n++] = (zmq_pollitem_t){tam_rpc_server_socket(v.srv), 0, ZMQ_POLLIN, 0};
        int sig_ix = -1;
        if (sg.on) {
            sig_ix = n;
            items[n++] = (zmq_pollitem_t){NULL, sg.fd[0], ZMQ_POLLIN, 0};
        }
        long timeout = timer_due < 0 ? -1 : (long)(timer_due > s_now_ms() ? timer_due - s_now_ms() : 0);
        if (def->store && (timeout < 0 || timeout > S_PRUNE_POLL_MS))
            timeout = s_wall_ms(&v) >= v.prune_due ? 0 : S_PRUNE_POLL_MS;
        /* Answers waiting for slow readers: what they take now, and when to try again. */
        int fl = tam_rpc_server_flush(v.srv);
        if (fl >= 0 && (timeout < 0 || fl < timeout))
            timeout = fl;
        for (size_t k = 0; k < def->nsources; k++) {
            const tam_service_source_t *src = &def->sources[k];
            int c = src->pollitems(src->obj, items + n, TAM_SERVICE_SOURCE_ITEMS);
            if (c < 0 || c > TAM_SERVICE_SOURCE_ITEMS) {
                ret = c < 0 ? c : TAM_EINTERNAL;
                tam_error("%s: a source failed to give its poll items: %s", v.name,
                          tam_strerror(ret));
                goto out;
            }
            first[k] = n;
            n += c;
            int t = src->next_timeout_ms ? src->next_timeout_ms(src->obj) : -1;
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
        }
        if (zmq_poll(items, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            tam_error("%s: zmq_poll: %s", v.name, zmq_strerror(errno));
            ret = TAM_EIO;
            goto out;
        }
        if (sig_ix >= 0 && (items[sig_ix].revents & ZMQ_POLLIN)) {
            unsigned char b[16];
            ssize_t got = read(sg.fd[0], b, sizeof b);
            tam_notice("%s: stopping on signal %d", v.name, got > 0 ? b[0] : 0);
            tam_notify("STOPPING=1");
            stopping = true;
        }
        for (size_t k = 0; k < def->nsources; k++) {
            const tam_service_source_t *src = &def->sources[k];
            int r = src->process(src->obj, items + first[k]);
            if (r == TAM_SERVICE_STOP) {
                tam_notice("%s: stopping on request", v.name);
                stopping = true;
            } else if (r < 0) {
                tam_error("%s: a source failed: %s", v.name, tam_strerror(r));
                ret = r;
                goto out;
            }
        }
        if (def->timer && timer_due >= 0 && s_now_ms() >= timer_due) {
            ret = s_timer(def, arg, &timer_due);
            if (ret == TAM_SERVICE_STOP) {
                tam_notice("%s: stopping on the timer's request", v.name);
                stopping = true;
            } else if (ret) {
                goto out;
            }
        }
        if (!stopping && (ret = s_prune(&v)))
            goto out;
        if (stopping || !(items[0].revents & ZMQ_POLLIN))
            continue;
        /* Group commit: everything ready now, up to batch_max requests and
         * batch_bytes of bodies; with batch_wait_ms, a batch still below
         * those waits that long at most for more to arrive. */
        int rerr = s_gather(&v);
        if (v.n) {
            ret = s_batch(&v);
            s_batch_free(&v);
            if (ret) {
                s_stats_sync(&v);
                goto out;
            }
            /* The answers the peers' pipes did not take wait in the rpc
             * server: wait for them to be taken, while the peers read. Else
             * a pipelining client gets TAM_RPC_PIPE_HWM answers per turn, its
             * next requests arrive that many at a time, and every commit
             * (two device flushes) carries a handful of them. */
            for (int spent = 0; spent < S_DRAIN_BUDGET_MS && !(sg.on && s_sig_pending);
                 spent += S_DRAIN_STEP_MS)
                if (tam_rpc_server_drain(v.srv, S_DRAIN_WAIT_MS, S_DRAIN_STEP_MS) < 0)
                    break; /* nothing left waiting */
            s_stats_sync(&v);
        }
        if (rerr && rerr != TAM_ENOMEM) {
            ret = rerr;
            goto out;
        }
    }
    ret = 0;
    tam_info("%s: stopped after %llu request(s) in %llu batch(es)", v.name,
             (unsigned long long)v.st.requests, (unsigned long long)v.st.batches);
    goto out;
out_nomem:
    ret = TAM_ENOMEM;
out:
    if (s_loop == &v)
        s_loop = NULL;
    if (v.srv)
        s_stats_sync(&v);
    s_signals_off(&sg);
    s_free(&v);
    free(items);
    free(first);
    return ret;
}

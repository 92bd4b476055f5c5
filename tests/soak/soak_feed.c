/* soak_feed.c — a feed subscriber for scripts/soak: it follows one service's
 * feed through the project's own client (tam/feed.h, CURVE with the key of
 * --as), leaves and joins again every few seconds (a new client each time),
 * and on SIGUSR1 checks that its state equals a fresh snapshot: a second,
 * new client is made, both are run until they are synced at the same epoch
 * and sequence, and their states are compared record by record. Prints one
 * line of figures and exits 0 if the states are equal, 1 if not, 2 if no
 * comparison could be made in time.
 *
 *   tam-soak-feed -c CONFIG --as NAME --feed ingest|registry|pipeline|match
 *
 * A record is keyed by its topic and its "id" (or "proposal") field: a
 * subscriber keeping records by id replaces a record with a later update.
 * Records that say they are gone (an empty body, a need with status
 * withdrawn, a proposal of rank 0) are not part of the state (a snapshot does
 * not stream them). */
#include <errno.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "tam/config.h"
#include "tam/error.h"
#include "tam/feed.h"
#include "tam/sec.h"

typedef struct {
    char *key;
    void *body;
    size_t len;
    bool used;
} s_slot_t;

typedef struct {
    s_slot_t *v;
    size_t cap, n;
} s_map_t;

typedef struct {
    s_map_t map;
    tam_feed_client_t *c;
    uint64_t records, resets;
    uint64_t updates, gaps, resyncs; /* of the clients already left */
} s_sub_t;

static volatile sig_atomic_t s_check, s_stop;

static void s_on_signal(int sig)
{
    if (sig == SIGUSR1)
        s_check = 1;
    else
        s_stop = 1;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void s_map_clear(s_map_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].key) {
            free(m->v[i].key);
            free(m->v[i].body);
        }
    free(m->v);
    memset(m, 0, sizeof *m);
}

static s_slot_t *s_map_find(s_map_t *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = s_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->v[i].key || strcmp(m->v[i].key, key) == 0)
            return &m->v[i];
    }
}

/* Sets key to body (NULL: marks it gone). Exits on out of memory. */
static void s_map_put(s_map_t *m, const char *key, const void *body, size_t len, bool gone)
{
    if ((m->n + 1) * 2 > m->cap) {
        s_map_t g = {calloc(m->cap ? m->cap * 2 : 1024, sizeof(s_slot_t)), m->cap ? m->cap * 2 : 1024, 0};
        if (!g.v)
            exit(3);
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].key) {
                *s_map_find(&g, m->v[i].key) = m->v[i];
                g.n++;
            }
        free(m->v);
        *m = g;
    }
    s_slot_t *s = s_map_find(m, key);
    if (!s->key) {
        if (!(s->key = strdup(key)))
            exit(3);
        m->n++;
    }
    free(s->body);
    s->body = NULL;
    s->len = 0;
    s->used = !gone;
    if (!gone) {
        if (!(s->body = malloc(len ? len : 1)))
            exit(3);
        memcpy(s->body, body, len);
        s->len = len;
    }
}

/* The record's key (topic + its id) and whether it says it is gone. */
static void s_key(const char *topic, size_t tlen, const void *body, size_t len, char *key,
                  size_t cap, bool *gone)
{
    char id[64] = "";
    *gone = len == 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (len && msgpack_unpack_next(&u, body, len, NULL) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *mp = &u.data.via.map;
        for (uint32_t i = 0; i < mp->size; i++) {
            const msgpack_object *k = &mp->ptr[i].key, *v = &mp->ptr[i].val;
            if (k->type != MSGPACK_OBJECT_STR)
                continue;
            const char *ks = k->via.str.ptr;
            uint32_t kl = k->via.str.size;
            bool is_id = (kl == 2 && memcmp(ks, "id", 2) == 0) ||
                         (kl == 8 && memcmp(ks, "proposal", 8) == 0);
            if (is_id && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                snprintf(id, sizeof id, "%llu", (unsigned long long)v->via.u64);
            else if (is_id && v->type == MSGPACK_OBJECT_STR)
                snprintf(id, sizeof id, "%.*s", (int)(v->via.str.size < 63 ? v->via.str.size : 63),
                         v->via.str.ptr);
            else if (kl == 6 && memcmp(ks, "status", 6) == 0 && v->type == MSGPACK_OBJECT_STR &&
                     v->via.str.size == 9 && memcmp(v->via.str.ptr, "withdrawn", 9) == 0)
                *gone = true;
            else if (kl == 4 && memcmp(ks, "rank", 4) == 0 &&
                     v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 == 0)
                *gone = true;
        }
    }
    msgpack_unpacked_destroy(&u);
    snprintf(key, cap, "%.*s\x1f%s", (int)(tlen < 300 ? tlen : 300), topic, id);
}

static void s_on_record(const char *topic, size_t tlen, const void *body, size_t len,
                        uint64_t seq, int from_snapshot, void *arg)
{
    (void)seq, (void)from_snapshot;
    s_sub_t *s = arg;
    char key[400];
    bool gone;
    s_key(topic, tlen, body, len, key, sizeof key, &gone);
    s_map_put(&s->map, key, body, len, gone);
    s->records++;
}

static void s_on_reset(void *arg)
{
    s_sub_t *s = arg;
    s_map_clear(&s->map);
    s->resets++;
}

/* Leaves: adds the client's counters to the subscriber's and destroys it. */
static void s_leave(s_sub_t *s)
{
    if (!s->c)
        return;
    tam_feed_client_stats_t st;
    tam_feed_client_stats(s->c, &st);
    s->updates += st.updates;
    s->gaps += st.gaps;
    s->resyncs += st.resyncs;
    tam_feed_client_destroy(&s->c);
}

static int s_join(s_sub_t *s, void *zctx, const char *pub, const char *snap)
{
    tam_feed_callbacks_t cb = {s_on_record, s_on_reset, NULL, s};
    s_map_clear(&s->map);
    return tam_feed_client_new(&s->c, zctx, pub, snap, NULL, 0, &cb, NULL);
}

/* Runs both clients (b may be NULL) for at most ms. */
static int s_run(s_sub_t *a, s_sub_t *b, int ms)
{
    zmq_pollitem_t items[4];
    int n = tam_feed_client_pollitems(a->c, items, 2), nb = 0;
    if (n < 0)
        return n;
    if (b && (nb = tam_feed_client_pollitems(b->c, items + n, 2)) < 0)
        return nb;
    int t = tam_feed_client_next_timeout_ms(a->c);
    if (b && tam_feed_client_next_timeout_ms(b->c) < t)
        t = tam_feed_client_next_timeout_ms(b->c);
    if (ms < t)
        t = ms;
    if (zmq_poll(items, n + nb, t) < 0 && errno != EINTR)
        return TAM_EIO;
    int rc = tam_feed_client_process(a->c, items);
    if (rc == 0 && b)
        rc = tam_feed_client_process(b->c, items + n);
    return rc;
}

/* Compares the live states of a and b: records of one missing in the other,
 * and records whose bodies differ. */
static void s_compare(s_sub_t *a, s_sub_t *b, size_t *na, size_t *nb, size_t *missing,
                      size_t *extra, size_t *differ)
{
    *na = *nb = *missing = *extra = *differ = 0;
    for (size_t i = 0; i < b->map.cap; i++) {
        s_slot_t *r = &b->map.v[i];
        if (!r->key || !r->used)
            continue;
        (*nb)++;
        s_slot_t *l = s_map_find(&a->map, r->key);
        if (!l || !l->key || !l->used)
            (*missing)++;
        else if (l->len != r->len || memcmp(l->body, r->body, r->len) != 0)
            (*differ)++;
    }
    for (size_t i = 0; i < a->map.cap; i++) {
        s_slot_t *l = &a->map.v[i];
        if (!l->key || !l->used)
            continue;
        (*na)++;
        s_slot_t *r = s_map_find(&b->map, l->key);
        if (!r || !r->key || !r->used)
            (*extra)++;
    }
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL, *as = "viewer", *feed = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-c") == 0)
            cfg_path = argv[i + 1];
        else if (strcmp(argv[i], "--as") == 0)
            as = argv[i + 1];
        else if (strcmp(argv[i], "--feed") == 0)
            feed = argv[i + 1];
    }
    if (!cfg_path || !feed) {
        fprintf(stderr, "usage: tam-soak-feed -c CONFIG [--as NAME] --feed ingest|registry|pipeline|match\n");
        return 64;
    }
    static tam_config_t cfg;
    char err[1024];
    if (tam_config_load(&cfg, cfg_path, err, sizeof err)) {
        fprintf(stderr, "tam-soak-feed: %s\n", err);
        return 78;
    }
    const char *pub, *snap;
    if (strcmp(feed, "ingest") == 0)
        pub = cfg.ingest.feed, snap = cfg.ingest.snapshot;
    else if (strcmp(feed, "registry") == 0)
        pub = cfg.registry.feed, snap = cfg.registry.snapshot;
    else if (strcmp(feed, "pipeline") == 0)
        pub = cfg.pipeline.feed, snap = cfg.pipeline.snapshot;
    else if (strcmp(feed, "match") == 0)
        pub = cfg.match.feed, snap = cfg.match.snapshot;
    else {
        fprintf(stderr, "tam-soak-feed: unknown feed %s\n", feed);
        return 64;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    void *zctx = zmq_ctx_new();
    tam_sec_t *sec = NULL;
    if (tam_sec_new(&sec, &cfg, zctx, as, err, sizeof err)) {
        fprintf(stderr, "tam-soak-feed: %s\n", err);
        zmq_ctx_term(zctx);
        return 78;
    }
    srand((unsigned)(getpid() ^ s_now_ms()));
    s_sub_t live = {0}, fresh = {0};
    unsigned joins = 0;
    int rc = s_join(&live, zctx, pub, snap);
    joins++;
    int64_t leave_at = s_now_ms() + 2000 + rand() % 6000;
    /* Following, leaving and joining again, until SIGUSR1 (or SIGTERM). */
    while (rc == 0 && !s_check && !s_stop) {
        rc = s_run(&live, NULL, 200);
        if (rc == 0 && s_now_ms() >= leave_at) {
            s_leave(&live);
            rc = s_join(&live, zctx, pub, snap);
            joins++;
            leave_at = s_now_ms() + 2000 + rand() % 6000;
        }
    }
    int status = 2;
    size_t na = 0, nb = 0, missing = 0, extra = 0, differ = 0;
    uint64_t seq = 0;
    if (rc == 0 && s_check) {
        /* The check: a fresh client; both synced at the same (epoch, seq). */
        rc = s_join(&fresh, zctx, pub, snap);
        int64_t end = s_now_ms() + 120000;
        int64_t equal_since = -1;
        while (rc == 0 && !s_stop && s_now_ms() < end) {
            rc = s_run(&live, &fresh, 100);
            bool same = tam_feed_client_synced(live.c) && tam_feed_client_synced(fresh.c) &&
                        tam_feed_client_epoch(live.c) == tam_feed_client_epoch(fresh.c) &&
                        tam_feed_client_seq(live.c) == tam_feed_client_seq(fresh.c);
            if (!same) {
                equal_since = -1;
                continue;
            }
            if (equal_since < 0)
                equal_since = s_now_ms();
            s_compare(&live, &fresh, &na, &nb, &missing, &extra, &differ);
            seq = tam_feed_client_seq(live.c);
            if (missing == 0 && extra == 0 && differ == 0) {
                status = 0;
                break;
            }
            if (s_now_ms() - equal_since > 3000) { /* synced alike and still different */
                status = 1;
                break;
            }
        }
    }
    s_leave(&live);
    s_leave(&fresh);
    printf("feed %s: %s live=%zu fresh=%zu seq=%llu joins=%u resets=%llu updates=%llu gaps=%llu "
           "resyncs=%llu missing=%zu extra=%zu differing=%zu%s%s\n",
           feed, status == 0 ? "equal" : status == 1 ? "DIFFERENT" : "NOT COMPARED", na, nb,
           (unsigned long long)seq, joins, (unsigned long long)live.resets,
           (unsigned long long)live.updates, (unsigned long long)live.gaps,
           (unsigned long long)live.resyncs, missing, extra, differ, rc ? " error: " : "",
           rc ? tam_strerror(rc) : "");
    fflush(stdout);
    s_map_clear(&live.map);
    s_map_clear(&fresh.map);
    tam_sec_destroy(&sec);
    zmq_ctx_term(zctx);
    return status;
}

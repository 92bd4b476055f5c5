/* feed_client.c — the subscribing side of a feed (see tam/feed.h, proto/FEED.md).
 *
 * States: SYNCING (a snapshot request is out; updates are queued) and SYNCED
 * (the user's state equals the server's at c->seq; updates are applied).
 * The SUB socket subscribes to everything and the client filters topics
 * locally: only then is every update's sequence seen, so that a gap is
 * noticed whatever prefixes the user asked for.
 *
 * The rule, applied to each update or heartbeat (epoch E', seq s') in order,
 * when synced at (E, n):
 *   E' != E                  -> resync (the server restarted)
 *   heartbeat, s' > n        -> resync (updates up to s' were lost)
 *   heartbeat, s' <= n       -> alive
 *   update, s' <= n          -> stale, dropped (it is in the snapshot)
 *   update, s' == n + 1      -> applied, n = s'
 *   update, s' >  n + 1      -> resync (gap)
 * Queued items are run through the same rule once the snapshot ends; an
 * overflowing queue simply drops the newest items, which the rule then sees
 * as a gap (or as stale, if they were in the snapshot anyway).
 * Every snapshot request goes out on a fresh DEALER, so that the remains of
 * an abandoned answer can never mix with the next one.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>

#include "tam/error.h"
#include "tam/feed.h"
#include "tam/log.h"
#include "feed_int.h"

#define S_MSGS_PER_CALL 1024
#define S_SUB_HWM 10000
#define S_DEFAULT_SILENCE_MS 3000
#define S_DEFAULT_SNAPSHOT_TIMEOUT_MS 2000
#define S_DEFAULT_MAX_QUEUE 100000
#define S_DEFAULT_MAX_QUEUE_BYTES ((size_t)64 << 20)

/* An update or heartbeat. A queued item owns a copy of its topic and body
 * (own); a live one points into the received frames. */
typedef struct {
    uint64_t epoch;
    uint64_t seq;
    int is_hb;
    int deliver; /* a record for on_record */
    const char *topic;
    size_t tlen;
    const void *body;
    size_t blen;
    char *own;
} s_item_t;

struct tam_feed_client_t {
    void *zctx;
    char *pub_endpoint;
    char *snapshot_endpoint;
    char prefix[TAM_FEED_PREFIXES_MAX][TAM_FEED_TOPIC_MAX + 1];
    size_t plen[TAM_FEED_PREFIXES_MAX];
    size_t nprefix; /* 0 = everything */
    tam_feed_callbacks_t cb;
    tam_feed_client_opts_t opt;
    void *sub;
    void *dealer;
    int synced;
    uint64_t epoch;
    uint64_t seq;
    int user_dirty;       /* the user may hold records: on_reset before the next snapshot */
    int snap_failed;      /* the pending request was answered "err" */
    uint64_t gen;         /* bumped by every resync; stops a queue drain */
    int64_t snap_deadline_ms;
    s_item_t *queue;
    size_t qlen, qcap, qbytes;
    tam_feed_client_stats_t stats;
};

static int s_matches(const tam_feed_client_t *c, const char *topic, size_t tlen)
{
    if (c->nprefix == 0)
        return 1;
    for (size_t i = 0; i < c->nprefix; i++)
        if (c->plen[i] <= tlen && memcmp(topic, c->prefix[i], c->plen[i]) == 0)
            return 1;
    return 0;
}

static void s_queue_clear(tam_feed_client_t *c)
{
    for (size_t i = 0; i < c->qlen; i++)
        free(c->queue[i].own);
    free(c->queue);
    c->queue = NULL;
    c->qlen = c->qcap = c->qbytes = 0;
}

/* (Re)creates the SUB socket, subscribed to everything. */
static int s_open_sub(tam_feed_client_t *c)
{
    tam__feed_close(&c->sub);
    c->sub = tam__feed_socket(c->zctx, ZMQ_SUB, 0, c->pub_endpoint);
    int64_t maxmsg = (int64_t)c->opt.max_frame;
    if (!c->sub || tam__feed_setopt_int(c->sub, ZMQ_RCVHWM, S_SUB_HWM, c->pub_endpoint) != 0 ||
        zmq_setsockopt(c->sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, "", 0) != 0 || zmq_connect(c->sub, c->pub_endpoint) != 0) {
        tam_error("feed: cannot subscribe to %s: %s", c->pub_endpoint, zmq_strerror(errno));
        tam__feed_close(&c->sub);
        return TAM_EIO;
    }
    c->stats.last_rx_ms = tam__feed_now_ms();
    return 0;
}

/* Encodes the snapshot request for our prefixes into sb. */
static int s_encode_request(const tam_feed_client_t *c, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int bad = msgpack_pack_map(&pk, 1);
    if (c->nprefix <= 1) {
        size_t n = c->nprefix ? c->plen[0] : 0;
        bad |= msgpack_pack_str_with_body(&pk, "prefix", 6);
        bad |= msgpack_pack_str_with_body(&pk, c->prefix[0], n);
    } else {
        bad |= msgpack_pack_str_with_body(&pk, "prefixes", 8);
        bad |= msgpack_pack_array(&pk, c->nprefix);
        for (size_t i = 0; i < c->nprefix; i++)
            bad |= msgpack_pack_str_with_body(&pk, c->prefix[i], c->plen[i]);
    }
    return bad ? TAM_ENOMEM : 0;
}

/* Sends a snapshot request on a fresh DEALER and arms the retry timer.
 * A request that cannot be queued is retried when the timer fires. */
static int s_request(tam_feed_client_t *c)
{
    tam__feed_close(&c->dealer);
    c->dealer = tam__feed_socket(c->zctx, ZMQ_DEALER, 0, c->snapshot_endpoint);
    int64_t maxmsg = (int64_t)c->opt.max_frame;
    if (!c->dealer || zmq_setsockopt(c->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_connect(c->dealer, c->snapshot_endpoint) != 0) {
        tam_error("feed: cannot connect to %s: %s", c->snapshot_endpoint, zmq_strerror(errno));
        tam__feed_close(&c->dealer);
        return TAM_EIO;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = s_encode_request(c, &sb);
    if (rc == 0 && zmq_send(c->dealer, sb.data, sb.size, ZMQ_DONTWAIT) < 0)
        tam_warn("feed: snapshot request to %s not sent: %s", c->snapshot_endpoint, zmq_strerror(errno));
    msgpack_sbuffer_destroy(&sb);
    c->stats.snapshot_requests++;
    c->snap_failed = 0;
    c->snap_deadline_ms = tam__feed_now_ms() + c->opt.snapshot_timeout_ms;
    return rc;
}

/* Leaves the synced state (if in it), tells the user to drop its state (if
 * it may hold any), and asks for a new snapshot; reconnect also recreates
 * the SUB socket. */
static int s_resync(tam_feed_client_t *c, int reconnect)
{
    c->stats.resyncs++;
    c->gen++;
    s_queue_clear(c);
    c->synced = 0;
    c->epoch = c->seq = 0;
    if (c->user_dirty) {
        c->user_dirty = 0;
        c->stats.resets++;
        if (c->cb.on_reset)
            c->cb.on_reset(c->cb.arg);
    }
    if (reconnect) {
        int rc = s_open_sub(c);
        if (rc != 0)
            return rc;
    }
    return s_request(c);
}

/* Runs one item through the rule at the top of this file (synced only). */
static int s_apply(tam_feed_client_t *c, s_item_t *it)
{
    if (it->epoch != c->epoch) {
        c->stats.epoch_changes++;
        tam_info("feed: %s: epoch %016" PRIx64 " replaced %016" PRIx64 ": resync", c->pub_endpoint,
                 it->epoch, c->epoch);
        return s_resync(c, 0);
    }
    if (it->is_hb ? it->seq > c->seq : it->seq > c->seq + 1) {
        c->stats.gaps++;
        tam_info("feed: %s: gap (have %" PRIu64 ", %s %" PRIu64 "): resync", c->pub_endpoint, c->seq,
                 it->is_hb ? "heartbeat says" : "got", it->seq);
        return s_resync(c, 0);
    }
    if (it->is_hb)
        return 0;
    if (it->seq <= c->seq) {
        c->stats.stale++;
        return 0;
    }
    c->seq = it->seq;
    if (!it->deliver) {
        c->stats.filtered++;
        return 0;
    }
    c->stats.updates++;
    c->user_dirty = 1;
    c->cb.on_record(it->topic, it->tlen, it->body, it->blen, it->seq, 0, c->cb.arg);
    return 0;
}

/* Applies the queued items after a snapshot; stops at a resync. */
static int s_drain(tam_feed_client_t *c)
{
    s_item_t *q = c->queue;
    size_t n = c->qlen;
    c->queue = NULL;
    c->qlen = c->qcap = c->qbytes = 0;
    uint64_t gen = c->gen;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && c->gen == gen)
            rc = s_apply(c, &q[i]);
        free(q[i].own);
    }
    free(q);
    return rc;
}

/* Holds a copy of an item while the snapshot is pending; drops it when the
 * queue is full (the rule then sees the loss as a gap). */
static int s_enqueue(tam_feed_client_t *c, const s_item_t *it)
{
    size_t bytes = sizeof *it + it->tlen + it->blen;
    if (c->qlen >= c->opt.max_queue || c->qbytes + bytes > c->opt.max_queue_bytes) {
        c->stats.queue_dropped++;
        return 0;
    }
    if (c->qlen == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 64;
        s_item_t *q = realloc(c->queue, cap * sizeof *q);
        if (!q)
            return TAM_ENOMEM;
        c->queue = q;
        c->qcap = cap;
    }
    s_item_t copy = *it;
    if (it->deliver) {
        copy.own = malloc(it->tlen + it->blen + 1);
        if (!copy.own)
            return TAM_ENOMEM;
        memcpy(copy.own, it->topic, it->tlen);
        if (it->blen)
            memcpy(copy.own + it->tlen, it->body, it->blen);
        copy.topic = copy.own;
        copy.body = copy.own + it->tlen;
    }
    c->queue[c->qlen++] = copy;
    c->stats.queued++;
    c->qbytes += bytes;
    return 0;
}

/* Counts and drops a malformed message; returns 0 (not an error of ours). */
static int s_malformed(tam_feed_client_t *c, const char *where, const char *why)
{
    c->stats.malformed++;
    tam_debug("feed: dropped a malformed %s message: %s", where, why);
    return 0;
}

/* Validates an update or heartbeat and applies or queues it. */
static int s_on_update(tam_feed_client_t *c, zmq_msg_t *f, int n)
{
    if (n != 3)
        return s_malformed(c, "update", "not 3 frames");
    const char *topic = zmq_msg_data(&f[0]);
    size_t tlen = zmq_msg_size(&f[0]);
    s_item_t it = {0};
    if (tlen == 0 || tlen > TAM_FEED_TOPIC_MAX)
        return s_malformed(c, "update", "topic size");
    int rc = tam__feed_meta_decode(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &it.epoch, &it.seq);
    if (rc != 0 || it.epoch == 0)
        return s_malformed(c, "update", "meta");
    it.is_hb = tam__feed_frame_is(&f[0], TAM_FEED_HEARTBEAT_TOPIC);
    if (!it.is_hb && topic[0] == '~')
        return 0; /* a control message of a later version: ignored */
    if (!it.is_hb && it.seq == 0)
        return s_malformed(c, "update", "sequence 0");
    c->stats.last_rx_ms = tam__feed_now_ms();
    if (it.is_hb)
        c->stats.heartbeats++;
    it.deliver = !it.is_hb && s_matches(c, topic, tlen);
    if (it.deliver) {
        it.topic = topic;
        it.tlen = tlen;
        it.body = zmq_msg_data(&f[2]);
        it.blen = zmq_msg_size(&f[2]);
    }
    return c->synced ? s_apply(c, &it) : s_enqueue(c, &it);
}

/* Handles one message of the snapshot stream: rec, end or err. */
static int s_on_snapshot(tam_feed_client_t *c, zmq_msg_t *f, int n)
{
    if (c->synced || n < 2)
        return s_malformed(c, "snapshot", c->synced ? "not expecting one" : "frames");
    if (n == 3 && tam__feed_frame_is(&f[0], "rec")) {
        const char *topic = zmq_msg_data(&f[1]);
        size_t tlen = zmq_msg_size(&f[1]);
        if (tlen == 0 || tlen > TAM_FEED_TOPIC_MAX || topic[0] == '~' || !s_matches(c, topic, tlen))
            return s_malformed(c, "snapshot", "record topic");
        c->snap_deadline_ms = tam__feed_now_ms() + c->opt.snapshot_timeout_ms;
        c->user_dirty = 1;
        c->stats.snapshot_records++;
        c->cb.on_record(topic, tlen, zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), 0, 1, c->cb.arg);
        return 0;
    }
    if (n == 2 && tam__feed_frame_is(&f[0], "end")) {
        uint64_t epoch, seq;
        if (tam__feed_meta_decode(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &epoch, &seq) != 0 || epoch == 0)
            return s_malformed(c, "snapshot", "end meta");
        c->synced = 1;
        c->epoch = epoch;
        c->seq = seq;
        c->user_dirty = 1;
        c->stats.snapshots++;
        tam_info("feed: %s: synced at %016" PRIx64 "/%" PRIu64, c->pub_endpoint, epoch, seq);
        if (c->cb.on_synced)
            c->cb.on_synced(seq, c->cb.arg);
        return s_drain(c);
    }
    if (n == 2 && tam__feed_frame_is(&f[0], "err")) {
        c->stats.snapshot_errors++;
        c->snap_failed = 1;
        c->snap_deadline_ms = tam__feed_now_ms() + c->opt.snapshot_timeout_ms;
        tam_warn("feed: %s refused a snapshot (%zu-byte reason); retrying in %d ms", c->snapshot_endpoint,
                 zmq_msg_size(&f[1]), c->opt.snapshot_timeout_ms);
        return 0;
    }
    return s_malformed(c, "snapshot", "unknown kind");
}

/* Receives one message from sock (max 3 frames kept) and hands it to fn.
 * Returns 1 if one was handled, 0 if none was waiting, or an error. */
static int s_recv_one(tam_feed_client_t *c, void *sock, int (*fn)(tam_feed_client_t *, zmq_msg_t *, int))
{
    zmq_msg_t f[3];
    int n = tam__feed_recv(sock, f, 3);
    if (n <= 0)
        return n;
    int rc = n > 3 ? s_malformed(c, "feed", "too many frames") : fn(c, f, n);
    tam__feed_close_frames(f, n < 3 ? n : 3);
    return rc < 0 ? rc : 1;
}

int tam_feed_client_new(tam_feed_client_t **out, void *zctx, const char *pub_endpoint,
                        const char *snapshot_endpoint, const char *const *prefixes, size_t nprefixes,
                        const tam_feed_callbacks_t *cb, const tam_feed_client_opts_t *opts)
{
    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    if (!zctx || !pub_endpoint || !snapshot_endpoint || !cb || !cb->on_record || (nprefixes && !prefixes))
        return TAM_EINVAL;
    if (opts && (opts->silence_ms < 0 || opts->snapshot_timeout_ms < 0))
        return TAM_EINVAL;
    if (nprefixes > TAM_FEED_PREFIXES_MAX)
        return TAM_ETOOBIG;
    int everything = nprefixes == 0;
    for (size_t i = 0; i < nprefixes; i++) {
        if (!prefixes[i] || prefixes[i][0] == '~')
            return TAM_EINVAL;
        size_t n = strnlen(prefixes[i], TAM_FEED_TOPIC_MAX + 1);
        if (n > TAM_FEED_TOPIC_MAX)
            return TAM_ETOOBIG;
        everything |= n == 0;
    }
    tam_feed_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return TAM_ENOMEM;
    int rc = TAM_ENOMEM;
    c->zctx = zctx;
    c->cb = *cb;
    if (opts)
        c->opt = *opts;
    if (!c->opt.silence_ms)
        c->opt.silence_ms = S_DEFAULT_SILENCE_MS;
    if (!c->opt.snapshot_timeout_ms)
        c->opt.snapshot_timeout_ms = S_DEFAULT_SNAPSHOT_TIMEOUT_MS;
    if (!c->opt.max_frame || c->opt.max_frame > INT64_MAX)
        c->opt.max_frame = TAM_FEED_BODY_MAX;
    if (!c->opt.max_queue)
        c->opt.max_queue = S_DEFAULT_MAX_QUEUE;
    if (!c->opt.max_queue_bytes)
        c->opt.max_queue_bytes = S_DEFAULT_MAX_QUEUE_BYTES;
    /* Keep the prefixes no other one covers, so that snapshot answers for
     * several prefixes never hold a record twice. */
    for (size_t i = 0; !everything && i < nprefixes; i++) {
        size_t li = strlen(prefixes[i]), covered = 0;
        for (size_t j = 0; j < nprefixes && !covered; j++) {
            size_t lj = strlen(prefixes[j]);
            covered = j != i && lj <= li && memcmp(prefixes[i], prefixes[j], lj) == 0 && (lj < li || j < i);
        }
        if (!covered) {
            memcpy(c->prefix[c->nprefix], prefixes[i], li + 1);
            c->plen[c->nprefix++] = li;
        }
    }
    c->pub_endpoint = strdup(pub_endpoint);
    c->snapshot_endpoint = strdup(snapshot_endpoint);
    if (!c->pub_endpoint || !c->snapshot_endpoint)
        goto fail;
    rc = s_open_sub(c);
    if (rc == 0)
        rc = s_request(c);
    if (rc != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    tam_feed_client_destroy(&c);
    return rc;
}

void tam_feed_client_destroy(tam_feed_client_t **cp)
{
    if (!cp || !*cp)
        return;
    tam_feed_client_t *c = *cp;
    tam__feed_close(&c->sub);
    tam__feed_close(&c->dealer);
    s_queue_clear(c);
    free(c->pub_endpoint);
    free(c->snapshot_endpoint);
    free(c);
    *cp = NULL;
}

int tam_feed_client_pollitems(tam_feed_client_t *c, zmq_pollitem_t *items, int max)
{
    if (!c || !items || max < 2)
        return TAM_EINVAL;
    int n = 0;
    if (c->sub) /* NULL only after a failed reconnect; process retries it */
        items[n++] = (zmq_pollitem_t){.socket = c->sub, .events = ZMQ_POLLIN};
    if (c->dealer)
        items[n++] = (zmq_pollitem_t){.socket = c->dealer, .events = ZMQ_POLLIN};
    return n;
}

int tam_feed_client_process(tam_feed_client_t *c, const zmq_pollitem_t *items)
{
    if (!c)
        return TAM_EINVAL;
    int rc = 0;
    if (!c->sub || !c->dealer) { /* an earlier reconnect failed: try again */
        rc = !c->sub ? s_open_sub(c) : 0;
        if (rc == 0)
            rc = s_request(c);
        if (rc != 0)
            return rc;
    }
    /* Updates first: while a snapshot is pending they only join the queue,
     * which the snapshot's end then drains in order. Sockets are re-read on
     * every pass because a resync may replace them. */
    if (tam__feed_readable(items, 2, c->sub))
        for (int i = 0; i < S_MSGS_PER_CALL && (rc = s_recv_one(c, c->sub, s_on_update)) > 0; i++)
            ;
    if (rc < 0)
        return rc;
    if (tam__feed_readable(items, 2, c->dealer))
        for (int i = 0; i < S_MSGS_PER_CALL && (rc = s_recv_one(c, c->dealer, s_on_snapshot)) > 0; i++)
            ;
    if (rc < 0)
        return rc;
    int64_t now = tam__feed_now_ms();
    if (now - c->stats.last_rx_ms >= c->opt.silence_ms) {
        c->stats.silences++;
        tam_notice("feed: %s silent for %d ms: reconnecting", c->pub_endpoint, c->opt.silence_ms);
        return s_resync(c, 1);
    }
    if (!c->synced && now >= c->snap_deadline_ms) {
        if (!c->snap_failed) {
            c->stats.snapshot_timeouts++;
            tam_info("feed: %s: no snapshot within %d ms: retrying", c->snapshot_endpoint,
                     c->opt.snapshot_timeout_ms);
        }
        return s_resync(c, 0);
    }
    return 0;
}

int tam_feed_client_next_timeout_ms(const tam_feed_client_t *c)
{
    int64_t now = tam__feed_now_ms();
    int64_t t = c->stats.last_rx_ms + c->opt.silence_ms - now;
    if (!c->synced && c->snap_deadline_ms - now < t)
        t = c->snap_deadline_ms - now;
    return t < 0 ? 0 : t > INT_MAX ? INT_MAX : (int)t;
}

int tam_feed_client_run(tam_feed_client_t *c, int timeout_ms)
{
    if (!c)
        return TAM_EINVAL;
    zmq_pollitem_t items[2];
    int n = tam_feed_client_pollitems(c, items, 2); /* cannot fail here */
    int t = tam_feed_client_next_timeout_ms(c);
    if (timeout_ms >= 0 && timeout_ms < t)
        t = timeout_ms;
    if (zmq_poll(items, n, t) < 0) {
        if (errno == EINTR)
            return 0;
        tam_error("feed: poll: %s", zmq_strerror(errno));
        return TAM_EIO;
    }
    return tam_feed_client_process(c, items);
}

int tam_feed_client_synced(const tam_feed_client_t *c)
{
    return c->synced;
}

uint64_t tam_feed_client_seq(const tam_feed_client_t *c)
{
    return c->seq;
}

uint64_t tam_feed_client_epoch(const tam_feed_client_t *c)
{
    return c->epoch;
}

void tam_feed_client_stats(const tam_feed_client_t *c, tam_feed_client_stats_t *out)
{
    *out = c->stats;
}

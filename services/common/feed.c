/* feed.c — what the feed server and client share: the clock, socket set-up,
 * the meta frame codec and whole-message receive with a frame cap.
 * The classes themselves are in feed_server.c and feed_client.c. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <msgpack.h>

#include "tam/error.h"
#include "tam/sec.h"
#include "tam/log.h"
#include "tam/mpcheck.h"
#include "feed_int.h"

#define S_BIND_GRACE_MS 500

int64_t tam__feed_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for CLOCK_MONOTONIC */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tam__feed_setopt_int(void *sock, int opt, int value, const char *what)
{
    if (zmq_setsockopt(sock, opt, &value, sizeof value) != 0) {
        tam_error("feed: %s: setsockopt %d: %s", what, opt, zmq_strerror(errno));
        return TAM_EIO;
    }
    return 0;
}

void *tam__feed_socket(void *zctx, int type, int linger_ms, const char *what)
{
    void *sock = zmq_socket(zctx, type);
    if (!sock) {
        tam_error("feed: %s: zmq_socket: %s", what, zmq_strerror(errno));
        return NULL;
    }
    if (tam__feed_setopt_int(sock, ZMQ_LINGER, linger_ms, what) != 0) {
        zmq_close(sock);
        return NULL;
    }
    /* (X)PUB and snapshot ROUTER serve, SUB and DEALER connect (tam/sec.h). */
    int rc = type == ZMQ_PUB || type == ZMQ_XPUB || type == ZMQ_ROUTER
                 ? tam_sec_server_socket(zctx, sock, what, TAM_SEC_DOMAIN_FEED)
                 : tam_sec_client_socket(zctx, sock, what);
    if (rc != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* 1 if a process accepts connections on the unix socket path (or its
 * backlog is full), 0 if nobody listens (no file, or a stale one). */
static int s_ipc_live(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0; /* cannot tell: let zmq_bind decide */
    int live = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 || errno == EAGAIN;
    close(fd);
    return live;
}

int tam__feed_bind(void *sock, const char *endpoint)
{
    const char *path = strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (path && path[0] != '@' && path[0] != '*' && strlen(path) < sizeof sa.sun_path) {
        memcpy(sa.sun_path, path, strlen(path) + 1);
        /* A listener closed a moment ago (zmq_close finishes in the I/O
         * thread) still accepts for a few ms: give it S_BIND_GRACE_MS. */
        int64_t deadline = tam__feed_now_ms() + S_BIND_GRACE_MS;
        while (s_ipc_live(&sa)) {
            if (tam__feed_now_ms() >= deadline) {
                tam_error("feed: cannot bind %s: a running process listens there", endpoint);
                return TAM_EIO;
            }
            poll(NULL, 0, 10);
        }
    }
    if (zmq_bind(sock, endpoint) != 0) {
        tam_error("feed: cannot bind %s: %s", endpoint, zmq_strerror(errno));
        return TAM_EIO;
    }
    return tam_sec_ipc_private(endpoint) ? TAM_EIO : 0;
}

void tam__feed_close(void **sock)
{
    if (sock && *sock) {
        zmq_close(*sock);
        *sock = NULL;
    }
}

/* msgpack_packer write callback into a fixed buffer; the caller guarantees
 * room (the meta frame has a fixed upper size). */
typedef struct {
    uint8_t *p;
    size_t n;
} s_fixbuf_t;

static int s_fixbuf_write(void *data, const char *buf, size_t len)
{
    s_fixbuf_t *b = data;
    if (b->n + len > TAM__FEED_META_MAX)
        return -1;
    memcpy(b->p + b->n, buf, len);
    b->n += len;
    return 0;
}

size_t tam__feed_meta_encode(uint8_t *out, uint64_t epoch, uint64_t seq)
{
    s_fixbuf_t b = {out, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, s_fixbuf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, epoch);
    msgpack_pack_uint64(&pk, seq);
    return b.n;
}

int tam__feed_meta_decode(const void *buf, size_t len, uint64_t *epoch, uint64_t *seq)
{
    if (len > TAM__FEED_META_MAX)
        return TAM_ETOOBIG;
    int rc = tam_mp_check(buf, len, &TAM_MP_LIMITS_DEFAULT, NULL);
    if (rc != 0)
        return rc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    rc = TAM_ETYPE;
    if (msgpack_unpack_next(&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == 2 &&
        u.data.via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        u.data.via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *epoch = u.data.via.array.ptr[0].via.u64;
        *seq = u.data.via.array.ptr[1].via.u64;
        rc = 0;
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

void tam__feed_close_frames(zmq_msg_t *f, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

int tam__feed_recv(void *sock, zmq_msg_t *f, int max)
{
    int total = 0, kept = 0;
    zmq_msg_t scratch;
    for (;;) {
        zmq_msg_t *m = kept < max ? &f[kept] : &scratch;
        zmq_msg_init(m);
        /* Frames of one message arrive together: only the first can be
         * missing, so DONTWAIT never splits a message. */
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            int err = errno;
            zmq_msg_close(m);
            if (total == 0 && (err == EAGAIN || err == EINTR))
                return 0;
            tam__feed_close_frames(f, kept);
            tam_error("feed: receive: %s", zmq_strerror(err));
            return TAM_EIO;
        }
        if (total < INT_MAX) /* saturate: only "more than max" matters */
            total++;
        int more = zmq_msg_more(m);
        if (m == &scratch)
            zmq_msg_close(m);
        else
            kept++;
        if (!more)
            return total;
    }
}

int tam__feed_readable(const zmq_pollitem_t *items, int n, const void *sock)
{
    if (!items)
        return 1;
    for (int i = 0; i < n; i++)
        if (items[i].socket == sock)
            return (items[i].revents & ZMQ_POLLIN) != 0;
    return 1;
}

int tam__feed_frame_is(zmq_msg_t *f, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(f) == n && memcmp(zmq_msg_data(f), s, n) == 0;
}

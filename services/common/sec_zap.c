/* sec_zap.c — the in-process ZAP handler (RFC 27) of a process in curve
 * mode: one thread, one REP socket on inproc://zeromq.zap.01 of the context.
 * It accepts a CURVE handshake only for a public key in the trust store, and
 * on a feed socket only for a key whose roles may read this service's feed
 * (tam/access.h); it answers with the key's random token as User-Id. It also
 * reloads the trust store on SIGHUP and when keys_dir changes. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sec_int.h"
#include "tam/access.h"
#include "tam/error.h"
#include "tam/log.h"

#define S_ZAP_FRAMES 8 /* version, id, domain, address, identity, mechanism, credentials... */

volatile sig_atomic_t tam__sec_hup;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_on_hup(int signo)
{
    (void)signo;
    tam__sec_hup++;
}

void tam_sec_watch_sighup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_hup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
}

static void s_send(void *sock, const void *data, size_t len, bool more)
{
    zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0);
}

/* Receives one ZAP request (at most S_ZAP_FRAMES kept) and answers it. */
static void s_handle(tam_sec_t *s, void *sock)
{
    zmq_msg_t f[S_ZAP_FRAMES];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < S_ZAP_FRAMES)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    const char *status = "400", *text = "refused";
    char token[S_TOKEN_LEN + 1] = "";
#define S_IS(i, str)                                                                           \
    (zmq_msg_size(&f[i]) == strlen(str) && memcmp(zmq_msg_data(&f[i]), str, strlen(str)) == 0)
    if (n >= 6 && S_IS(0, "1.0")) {
        bool feed = S_IS(2, TAM_SEC_DOMAIN_FEED), req = S_IS(2, TAM_SEC_DOMAIN);
        tam__sec_entry_t e;
        if (!(feed || req) || !S_IS(5, "CURVE") || n < 7 || zmq_msg_size(&f[6]) != 32) {
            text = "only CURVE in the tamatch domains";
        } else if (!tam__sec_find_pub(s, zmq_msg_data(&f[6]), &e)) {
            text = "key not in the trust store";
            tam_notice("zap: refused an unknown key (%s)", feed ? "feed" : "requests");
        } else if (feed && !tam_access_may_read_feed(s->self.name, e.key.roles)) {
            text = "this key may not read this feed";
            tam_notice("zap: refused key %s on the feed: its roles may not read it", e.key.name);
        } else {
            status = "200";
            text = "OK";
            memcpy(token, e.token, sizeof token);
            tam_debug("zap: accepted key %s", e.key.name);
        }
    }
#undef S_IS
    if (n >= 2) {
        s_send(sock, "1.0", 3, true);
        s_send(sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), true);
        s_send(sock, status, 3, true);
        s_send(sock, text, strlen(text), true);
        s_send(sock, token, strlen(token), true); /* User-Id: the token, never the name */
        s_send(sock, "", 0, false);
    } else if (n > 0) {
        s_send(sock, "", 0, false); /* keep the REP in step */
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static void *s_thread(void *arg)
{
    tam_sec_t *s = arg;
    int zero = 0, ok;
    void *sock = zmq_socket(s->zctx, ZMQ_REP);
    ok = sock && zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) == 0 &&
         zmq_bind(sock, TAM_SEC_ZAP_ENDPOINT) == 0;
    pthread_mutex_lock(&s->start_mu);
    s->zap_started = ok ? 1 : -1;
    pthread_cond_signal(&s->start_cv);
    pthread_mutex_unlock(&s->start_mu);
    if (!ok) {
        tam_error("zap: cannot bind %s: %s", TAM_SEC_ZAP_ENDPOINT, zmq_strerror(errno));
        if (sock)
            zmq_close(sock);
        return NULL;
    }
    sig_atomic_t hup = tam__sec_hup;
    int64_t next_look = s_now_ms() + TAM_SEC_RELOAD_MS;
    while (!s->zap_stop) {
        zmq_pollitem_t it[2] = {{sock, 0, ZMQ_POLLIN, 0}, {NULL, s->zap_wake[0], ZMQ_POLLIN, 0}};
        int rc = zmq_poll(it, 2, TAM_SEC_RELOAD_MS);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (it[1].revents & ZMQ_POLLIN))
            break; /* tam__sec_zap_join: stop now, not at the next poll timeout */
        if (rc > 0)
            s_handle(s, sock);
        /* keys_dir is looked at every TAM_SEC_RELOAD_MS whatever the traffic:
         * a steady stream of handshakes must not keep a revocation out. */
        bool look = s_now_ms() >= next_look;
        if (look)
            next_look = s_now_ms() + TAM_SEC_RELOAD_MS;
        if (hup != tam__sec_hup || (look && tam__sec_dir_changed(s))) {
            hup = tam__sec_hup;
            tam_sec_reload(s);
        }
    }
    zmq_close(sock);
    return NULL;
}

int tam__sec_zap_start(tam_sec_t *s)
{
    s->zap_stop = 0;
    s->zap_started = 0;
    if (pipe(s->zap_wake) != 0)
        return TAM_EIO;
    if (pthread_create(&s->zap, NULL, s_thread, s) != 0) {
        close(s->zap_wake[0]);
        close(s->zap_wake[1]);
        return TAM_EIO;
    }
    pthread_mutex_lock(&s->start_mu);
    while (s->zap_started == 0)
        pthread_cond_wait(&s->start_cv, &s->start_mu);
    int ok = s->zap_started > 0;
    s->zap_running = true;
    pthread_mutex_unlock(&s->start_mu);
    if (!ok) {
        tam__sec_zap_join(s);
        return TAM_EIO;
    }
    return 0;
}

void tam__sec_zap_join(tam_sec_t *s)
{
    if (!s->zap_running)
        return;
    s->zap_stop = 1;
    ssize_t w = write(s->zap_wake[1], "x", 1);
    (void)w; /* if the pipe is full the thread wakes anyway */
    pthread_join(s->zap, NULL);
    close(s->zap_wake[0]);
    close(s->zap_wake[1]);
    s->zap_running = false;
}

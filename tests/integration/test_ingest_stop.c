/* test_ingest_stop.c — tam-ingest stops cleanly under load and comes back on
 * the same endpoint at once. On a tcp:// endpoint (a port cannot be stolen
 * the way an ipc:// path can), with a client keeping 200 requests
 * outstanding:
 *   - SIGTERM: the service exits 0 (it finishes the batch in hand, commits
 *     and answers it, and drops nothing it acknowledged); the time from the
 *     signal to the exit is printed (issue 16 asks for at most 1 s; the
 *     figure is printed, not asserted: this machine is shared);
 *   - a restart at once binds the same endpoint and answers;
 *   - the same after SIGKILL;
 *   - every request sent is then resent with its id: each acknowledged one
 *     gets the same reply id again, and no reply was stored twice. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "services_harness.h"
#include "tam/proto.h"

#define S_WINDOW 200
#define S_MAX 30000

typedef struct {
    h_t *h;
    uint64_t *reply_id; /* per item: from its first ack (0: none yet) */
    size_t n, inflight, acked, errors, dups, mismatched;
} s_run_t;

/* A free TCP port on 127.0.0.1 (bound then released). */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Rewrites the config so that requests go to tcp://127.0.0.1:port. */
static void s_use_tcp(h_t *h, int port)
{
    char *cfg = s_slurp(h->cfg);
    assert_non_null(cfg);
    char *at = strstr(cfg, h->ep[S_INGEST]);
    assert_non_null(at);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    FILE *f = fopen(h->cfg, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - cfg), cfg, ep, at + strlen(h->ep[S_INGEST]));
    fclose(f);
    free(cfg);
    snprintf(h->ep[S_INGEST], sizeof h->ep[S_INGEST], "%s", ep);
}

static void s_send(tam_rpc_client_t *c, size_t i)
{
    char json[600], id[32];
    snprintf(json, sizeof json,
             "{\"respondent\":{\"type\":\"ngo\",\"id\":\"stop-%06zu\"},"
             "\"instrument\":{\"category\":\"A\",\"version\":1},\"completeness\":50,"
             "\"answers\":[{\"standard\":\"A-SMR\",\"state\":\"need\"}],"
             "\"needs\":[{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"training\","
             "\"priority\":3,\"cost\":%zu,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\"}]}",
             i, 1000 + i);
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &sb, &cerr), 0);
    snprintf(id, sizeof id, "stop-%06zu", i);
    assert_int_equal(tam_rpc_client_send(c, id, "ingest.submit", sb.data, sb.size), 0);
    msgpack_sbuffer_destroy(&sb);
}

/* Takes the answers ready within wait_ms; returns how many. */
static size_t s_take(s_run_t *r, tam_rpc_client_t *c, int wait_ms)
{
    tam_rpc_answer_t ans = {0};
    size_t got = 0;
    while (tam_rpc_client_recv(c, wait_ms, &ans) == 0) {
        wait_ms = 0;
        size_t i;
        got++;
        if (sscanf(ans.id, "stop-%zu", &i) != 1 || i >= r->n || ans.status != TAM_RPC_OK) {
            r->errors++;
            tam_rpc_answer_clear(&ans);
            continue;
        }
        tam_arena_t *a = tam_arena_new(0);
        tam_submit_ack_t ack;
        tam_codec_err_t cerr;
        memset(&ack, 0, sizeof ack);
        if (!a || tam_decode(&tam_schema_submit_ack, ans.body, ans.len, a, &ack, &cerr)) {
            r->errors++;
        } else {
            if (ack.revision != 1)
                r->dups++; /* a second reply of the same NGO */
            if (r->reply_id[i] && r->reply_id[i] != (uint64_t)ack.reply_id)
                r->mismatched++;
            if (!r->reply_id[i]) {
                r->reply_id[i] = (uint64_t)ack.reply_id;
                r->acked++;
            }
        }
        tam_arena_destroy(&a);
        tam_rpc_answer_clear(&ans);
        if (r->inflight)
            r->inflight--;
    }
    tam_rpc_answer_clear(&ans);
    return got;
}

/* Keeps the window full for ms milliseconds. */
static void s_load(s_run_t *r, tam_rpc_client_t *c, int ms)
{
    int64_t end = s_now_ms() + ms;
    while (s_now_ms() < end && r->n < S_MAX) {
        while (r->inflight < S_WINDOW && r->n < S_MAX) {
            s_send(c, r->n++);
            r->inflight++;
        }
        s_take(r, c, 5);
    }
}

/* Signal under load; returns ms from the signal to the exit, *status. */
static double s_stop_under_load(s_run_t *r, tam_rpc_client_t *c, int sig, bool reading,
                                int *status)
{
    s_load(r, c, 300);
    int pfd = (int)syscall(SYS_pidfd_open, r->h->pid[S_INGEST], 0);
    assert_true(pfd >= 0);
    int64_t t0 = s_now_ms();
    struct timespec ts0, ts1;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    kill(r->h->pid[S_INGEST], sig);
    struct pollfd it = {pfd, POLLIN, 0};
    /* Keep reading answers meanwhile, as a client does. */
    while (poll(&it, 1, reading ? 0 : 2) == 0 && s_now_ms() - t0 < 20000)
        if (reading)
            s_take(r, c, 2);
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    close(pfd);
    *status = h_stop(r->h, S_INGEST, 0); /* reaps it */
    s_take(r, c, 50);
    r->inflight = 0;
    return (double)(ts1.tv_sec - ts0.tv_sec) * 1e3 + (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e6;
}

static void t_stop_and_restart(void **state)
{
    (void)state;
    s_run_t r;
    memset(&r, 0, sizeof r);
    r.reply_id = calloc(S_MAX, sizeof *r.reply_id);
    assert_non_null(r.reply_id);
    assert_non_null(r.h = h_new("test_ingest_stop", NULL));
    int port = s_free_port();
    assert_true(port > 0);
    s_use_tcp(r.h, port);
    /* The client's context read the config before: tell it whose key serves
     * the new endpoint. */
    assert_int_equal(tam_sec_map_endpoint(tam_sec_of(r.h->zctx), r.h->ep[S_INGEST], "ingest"), 0);
    assert_int_equal(h_start(r.h, S_INGEST, 20000), 0);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, r.h->zctx, r.h->ep[S_INGEST], 2000, 0), 0);

    int st;
    double ms = s_stop_under_load(&r, c, SIGTERM, true, &st);
    printf("SIGTERM with %d requests outstanding: exited %d after %.0f ms (%zu sent, %zu acked)\n",
           S_WINDOW, st, ms, r.n, r.acked);
    assert_int_equal(st, 0);
    /* The same endpoint at once: bound, answering. */
    assert_int_equal(h_start(r.h, S_INGEST, 20000), 0);

    /* A client that stops reading its answers does not hold the stop. */
    ms = s_stop_under_load(&r, c, SIGTERM, false, &st);
    printf("SIGTERM, the client not reading: exited %d after %.0f ms\n", st, ms);
    assert_int_equal(st, 0);
    assert_int_equal(h_start(r.h, S_INGEST, 20000), 0);

    ms = s_stop_under_load(&r, c, SIGKILL, true, &st);
    printf("SIGKILL with %d requests outstanding: gone after %.0f ms\n", S_WINDOW, ms);
    assert_int_equal(st, 128 + SIGKILL);
    assert_int_equal(h_start(r.h, S_INGEST, 20000), 0);

    /* Everything again, same ids: acked ones keep their reply ids, nothing
     * is stored twice, and every request is acknowledged now. */
    size_t sent = r.n;
    for (size_t i = 0; i < sent; i += S_WINDOW) {
        size_t end = i + S_WINDOW < sent ? i + S_WINDOW : sent, want = end - i, got = 0;
        for (size_t k = i; k < end; k++)
            s_send(c, k);
        int64_t deadline = s_now_ms() + 20000;
        while (got < want && s_now_ms() < deadline)
            got += s_take(&r, c, 100);
        assert_int_equal(got, want);
    }
    tam_rpc_client_destroy(&c);
    printf("resent %zu: acked %zu, duplicates %zu, reply ids changed %zu, errors %zu\n", sent,
           r.acked, r.dups, r.mismatched, r.errors);
    assert_int_equal(r.acked, sent);
    assert_int_equal(r.dups, 0);
    assert_int_equal(r.mismatched, 0);
    assert_int_equal(r.errors, 0);
    assert_int_equal(h_stop(r.h, S_INGEST, SIGTERM), 0);
    h_free(r.h);
    free(r.reply_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_stop_and_restart)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

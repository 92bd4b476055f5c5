/* test_hostile.c — the four services under hostile and broken input: for
 * every message type each one serves, random bytes, hostile msgpack headers,
 * well-formed bodies of the wrong message and bit-flipped copies of real
 * sample records, pipelined hundreds at a time. Every request must get an
 * answer; garbage must be refused with nothing stored; afterwards every
 * service still answers sys.ping and stops cleanly (exit 0) on SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <zmq.h>
#include "tam/proto.h"
#include "services_harness.h"

#define S_ROUNDS 12 /* bodies of each kind per message type */

typedef struct {
    uint8_t *p;
    size_t n;
} s_bytes_t;

static uint64_t s_rng = 0x9E3779B97F4A7C15ULL;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

/* msgpack of a JSON file, or of element k of a JSON array file. */
static s_bytes_t s_seed(const char *src, const char *rel, int k)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", src, rel);
    char *text = s_slurp(path);
    s_bytes_t b = {NULL, 0};
    if (!text)
        return b;
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    free(text);
    if (!j)
        return b;
    json_t *item = k >= 0 ? json_array_get(j, (size_t)k) : j;
    char *one = item ? json_dumps(item, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!one)
        return b;
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    if (tam_json_to_msgpack(one, strlen(one), &sb, &ce) == 0) {
        b.p = malloc(sb.size);
        memcpy(b.p, sb.data, sb.size);
        b.n = sb.size;
    }
    msgpack_sbuffer_destroy(&sb);
    free(one);
    return b;
}

/* A raw DEALER: the rpc client refuses to send a body that is not one
 * msgpack object, and here that is the point. */
typedef struct {
    void *sock;
    size_t sent, answered, ok;
} s_flood_t;

/* The socket in use, closed by the teardown if an assertion leaves early
 * (zmq_ctx_term waits for every socket). */
static s_flood_t *s_live;

static s_flood_t *s_flood_new(h_t *h, int s)
{
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/run/%s.req", h->dir, s_names[s]);
    s_flood_t *f = s_live = calloc(1, sizeof *f);
    f->sock = zmq_socket(h->zctx, ZMQ_DEALER);
    int zero = 0, hwm = 100000;
    zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(f->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(f->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    /* A hostile peer with a valid key (admin's, as the harness's context):
     * the worst case, past CURVE and ZAP. */
    assert_int_equal(tam_sec_client_socket(h->zctx, f->sock, ep), 0);
    assert_int_equal(zmq_connect(f->sock, ep), 0);
    return f;
}

static void s_flood_free(s_flood_t **f)
{
    if (*f) {
        zmq_close((*f)->sock);
        free(*f);
    }
    *f = NULL;
    s_live = NULL;
}

static void s_send(s_flood_t *f, const char *type, const void *body, size_t len)
{
    tam_rpc_envelope_t env = {.v = 1, .status = -1};
    snprintf(env.type, sizeof env.type, "%s", type);
    snprintf(env.id, sizeof env.id, "hostile-%06zu", f->sent);
    uint8_t eb[256];
    size_t elen;
    assert_int_equal(tam_rpc_envelope_encode(&env, eb, sizeof eb, &elen), 0);
    assert_int_equal(zmq_send(f->sock, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(f->sock, eb, elen, ZMQ_SNDMORE), (int)elen);
    assert_int_equal(zmq_send(f->sock, body, len, 0), (int)len);
    f->sent++;
}

/* Waits for every answer (each one well-formed), counting the "ok" ones. */
static void s_drain(s_flood_t *f)
{
    int64_t deadline = s_now_ms() + 30000;
    while (f->answered < f->sent && s_now_ms() < deadline) {
        zmq_pollitem_t it = {f->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 1000) <= 0)
            continue;
        zmq_msg_t part[3];
        int n = 0, more = 1;
        while (more && n < 3) {
            zmq_msg_init(&part[n]);
            assert_true(zmq_msg_recv(&part[n], f->sock, 0) >= 0);
            more = zmq_msg_more(&part[n]);
            n++;
        }
        assert_int_equal(n, 3);
        assert_false(more);
        tam_rpc_envelope_t env;
        assert_int_equal(tam_rpc_envelope_decode(zmq_msg_data(&part[1]), zmq_msg_size(&part[1]),
                                                 true, &env, NULL), 0);
        f->answered++;
        f->ok += env.status == TAM_RPC_OK;
        for (int k = 0; k < n; k++)
            zmq_msg_close(&part[k]);
    }
    assert_int_equal(f->answered, f->sent); /* nothing is left unanswered */
}

/* The message types service s serves (its own prefix, and sys.ping), plus one
 * unknown. */
static size_t s_types(int s, const char **out, size_t max)
{
    size_t nm, n = 0;
    const tam_message_t *m = tam_messages(&nm);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s.", s_names[s]);
    for (size_t i = 0; i < nm && n + 2 < max; i++)
        if (strncmp(m[i].type, prefix, strlen(prefix)) == 0)
            out[n++] = m[i].type;
    out[n++] = "sys.ping";
    out[n++] = "sys.nope";
    return n;
}

static int s_count_stored(h_t *h, const char *what)
{
    char out[160];
    snprintf(out, sizeof out, "%s/count.json", h->dir);
    if (s_tamctl(h, out, NULL, "--json", what, "list", NULL) != 0)
        return -1;
    char *text = s_slurp(out);
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    int n = j && json_is_array(j) ? (int)json_array_size(j) : -1;
    json_decref(j);
    return n;
}

static void test_garbage_then_mutations(void **state)
{
    h_t *h = *state;
    for (int s = 0; s < S_N; s++)
        assert_int_equal(s_start(h, s), 0);

    s_bytes_t seeds[6];
    seeds[0] = s_seed(h->src, "config/samples/reply-KEN-A.json", -1);
    seeds[1] = s_seed(h->src, "config/samples/demo/donors.json", 0);
    seeds[2] = s_seed(h->src, "config/samples/demo/projects.json", 0);
    seeds[3] = s_seed(h->src, "config/samples/demo/ledger.json", 0);
    seeds[4] = s_seed(h->src, "config/samples/demo/context.json", -1);
    static uint8_t empty_map[] = {0x80};
    seeds[5] = (s_bytes_t){empty_map, 1};
    for (int k = 0; k < 5; k++)
        assert_non_null(seeds[k].p);
    static const uint8_t hostile[][8] = {
        {0xdd, 0x04, 0x00, 0x00, 0x00},       /* array32 of 67 M elements in 5 bytes */
        {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0}, /* map32 of 4 G pairs */
        {0xdb, 0xff, 0xff, 0xff, 0xff},       /* str32 of 4 GiB */
        {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91}, /* nesting, truncated */
        {0xc1},                               /* never used */
        {0x81, 0xa1, 'x', 0xcb},              /* truncated float */
    };
    static const size_t hostile_len[] = {5, 6, 5, 8, 1, 4};

    /* Phase 1: garbage only. Everything refused, nothing stored. */
    size_t garbage = 0;
    for (int s = 0; s < S_N; s++) {
        s_flood_t *f = s_flood_new(h, s);
        const char *types[32];
        size_t nt = s_types(s, types, 32);
        for (size_t t = 0; t < nt; t++) {
            for (int r = 0; r < S_ROUNDS; r++) {
                uint8_t junk[256];
                size_t n = 1 + s_rand() % sizeof junk;
                for (size_t i = 0; i < n; i++)
                    junk[i] = (uint8_t)s_rand();
                junk[0] |= 0xc0; /* not a fixmap/fixarray/fixstr: never a valid body */
                junk[0] = junk[0] == 0xc0 || junk[0] == 0xc2 || junk[0] == 0xc3 ? 0xc1 : junk[0];
                s_send(f, types[t], junk, n);
            }
            for (size_t k = 0; k < sizeof hostile_len / sizeof hostile_len[0]; k++)
                s_send(f, types[t], hostile[k], hostile_len[k]);
            /* a map with unknown fields only */
            static const uint8_t unknown[] = {0x81, 0xa5, 'c', 'o', 'l', 'o', 'r', 0x01};
            s_send(f, types[t], unknown, sizeof unknown);
        }
        s_drain(f);
        garbage += f->sent;
        assert_int_equal(f->ok, 0);
        s_flood_free(&f);
    }
    assert_int_equal(s_count_stored(h, "project"), 0);
    assert_int_equal(s_count_stored(h, "donor"), 0);
    char out[160];
    snprintf(out, sizeof out, "%s/replies.json", h->dir);
    assert_int_equal(s_tamctl(h, out, NULL, "--json", "replies", NULL), 0);
    char *replies = s_slurp(out);
    assert_non_null(strstr(replies, "[]"));
    free(replies);

    /* Phase 2: real records, whole and bit-flipped, sent as every type. Some
     * may be accepted; none may crash or hang a service. */
    size_t mutated = 0;
    for (int s = 0; s < S_N; s++) {
        s_flood_t *f = s_flood_new(h, s);
        const char *types[32];
        size_t nt = s_types(s, types, 32);
        for (size_t t = 0; t < nt; t++)
            for (int k = 0; k < 6; k++) {
                s_send(f, types[t], seeds[k].p, seeds[k].n);
                for (int r = 0; r < S_ROUNDS / 2; r++) {
                    uint8_t *m = malloc(seeds[k].n);
                    memcpy(m, seeds[k].p, seeds[k].n);
                    for (int flips = 1 + (int)(s_rand() % 4); flips > 0; flips--)
                        m[s_rand() % seeds[k].n] ^= (uint8_t)(1u << (s_rand() % 8));
                    s_send(f, types[t], m, seeds[k].n);
                    free(m);
                }
            }
        s_drain(f);
        mutated += f->sent;
        s_flood_free(&f);
    }
    print_message("hostile: %zu garbage requests all refused, %zu real/mutated records answered\n",
                  garbage, mutated);

    /* Every service is still there, answers, and stops cleanly. */
    for (int s = 0; s < S_N; s++) {
        int st;
        assert_int_equal(waitpid(h->pid[s], &st, WNOHANG), 0);
        assert_int_equal(s_ping(h, s, 3000), 0);
    }
    for (int s = S_N - 1; s >= 0; s--)
        assert_int_equal(s_stop(h, s), 0);
    for (int k = 0; k < 5; k++)
        free(seeds[k].p);
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_hostile", NULL);
    *state = h;
    return h ? 0 : -1;
}

static int s_teardown(void **state)
{
    s_flood_free(&s_live);
    h_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_garbage_then_mutations, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}

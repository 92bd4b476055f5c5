/* test_ingest_crash.c — crash safety of tam-ingest. A client streams replies
 * with ~100 requests outstanding while the service is killed with SIGKILL at
 * random moments and restarted, at least 20 times. The client resends what
 * was not answered, with the same request ids. Afterwards every acknowledged
 * reply must be stored exactly once, with the id its acknowledgement gave:
 * lost = 0, duplicates = 0. The figures are printed; the seed too (set
 * TAM_CRASH_SEED to replay a run). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "services_harness.h"
#include "tam/proto.h"

#define S_CYCLES 24           /* SIGKILL + restart cycles */
#define S_WINDOW 100          /* requests outstanding */
#define S_MAX 60000           /* replies at most */
#define S_RESEND_MS 400       /* resend an unanswered request after this */
#define S_UP_MIN_MS 60        /* the service lives this long at least ... */
#define S_UP_MAX_MS 450       /* ... and at most, between kills */

enum { S_UNSENT, S_FLIGHT, S_ACKED };

typedef struct {
    uint8_t state;
    int64_t sent_at;
    uint64_t reply_id;  /* from the first acknowledgement */
} s_item_t;

typedef struct {
    h_t *h;
    s_item_t *v;
    size_t n;           /* items generated */
    size_t fl[S_WINDOW]; /* the items in flight */
    size_t acked, inflight, resends, answers, mismatched, errors;
    uint64_t rng;
} s_run_t;

static uint64_t s_rand(s_run_t *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng;
}

/* The reply of item i: an NGO of its own, so each item is a first reply. */
static int s_body(size_t i, msgpack_sbuffer *sb)
{
    char json[600];
    snprintf(json, sizeof json,
             "{\"respondent\":{\"type\":\"ngo\",\"id\":\"crash-%06zu\"},"
             "\"instrument\":{\"category\":\"A\",\"version\":1},\"completeness\":%zu,"
             "\"answers\":[{\"standard\":\"A-SMR\",\"state\":\"need\"}],"
             "\"needs\":[{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"training\","
             "\"priority\":3,\"cost\":%zu,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\","
             "\"text\":\"Crash test reply %zu.\"}]}",
             i, i % 101, 1000 + i, i);
    tam_codec_err_t cerr;
    return tam_json_to_msgpack(json, strlen(json), sb, &cerr);
}

static int s_send(s_run_t *r, tam_rpc_client_t *c, size_t i)
{
    char id[32];
    msgpack_sbuffer sb;
    snprintf(id, sizeof id, "crash-%06zu", i);
    if (s_body(i, &sb))
        return -1;
    int rc = tam_rpc_client_send(c, id, "ingest.submit", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0)
        r->v[i].sent_at = s_now_ms();
    return rc;
}

/* Takes every answer that is ready within wait_ms. */
static void s_take(s_run_t *r, tam_rpc_client_t *c, int wait_ms)
{
    tam_rpc_answer_t ans = {0};
    while (tam_rpc_client_recv(c, wait_ms, &ans) == 0) {
        wait_ms = 0;
        r->answers++;
        size_t i;
        if (sscanf(ans.id, "crash-%zu", &i) != 1 || i >= r->n) {
            tam_rpc_answer_clear(&ans);
            continue;
        }
        if (ans.status != TAM_RPC_OK) {
            fprintf(stderr, "crash: %s refused: %s: %s\n", ans.id, ans.error.field,
                    ans.error.message);
            r->errors++;
        } else {
            tam_arena_t *a = tam_arena_new(0);
            tam_submit_ack_t ack;
            tam_codec_err_t cerr;
            memset(&ack, 0, sizeof ack);
            if (!a || tam_decode(&tam_schema_submit_ack, ans.body, ans.len, a, &ack, &cerr)) {
                r->errors++;
            } else if (r->v[i].state == S_ACKED) {
                /* A resend answered again: the same stored answer, or a duplicate. */
                if (ack.reply_id != r->v[i].reply_id)
                    r->mismatched++;
            } else {
                for (size_t k = 0; k < r->inflight; k++)
                    if (r->fl[k] == i) {
                        r->fl[k] = r->fl[--r->inflight];
                        break;
                    }
                r->v[i].state = S_ACKED;
                r->v[i].reply_id = ack.reply_id;
                r->acked++;
                if (ack.revision != 1)
                    r->mismatched++; /* a second reply of the same NGO: a duplicate */
            }
            tam_arena_destroy(&a);
        }
        tam_rpc_answer_clear(&ans);
    }
    tam_rpc_answer_clear(&ans);
}

/* Sends new items up to the window (if more), and resends the overdue. */
static void s_pump(s_run_t *r, tam_rpc_client_t *c, bool more)
{
    int64_t now = s_now_ms();
    for (size_t k = 0; k < r->inflight; k++) {
        size_t i = r->fl[k];
        if (now - r->v[i].sent_at > S_RESEND_MS && s_send(r, c, i) == 0)
            r->resends++;
    }
    while (more && r->inflight < S_WINDOW && r->n < S_MAX) {
        size_t i = r->n++;
        r->v[i].state = S_FLIGHT;
        r->fl[r->inflight++] = i;
        if (s_send(r, c, i) != 0)
            r->v[i].sent_at = 0; /* not queued: resent by the rule above */
    }
}

/* Lists every stored reply and checks it against the acknowledgements. */
static void s_verify(s_run_t *r, size_t *lost, size_t *dups, size_t *stored)
{
    uint8_t *seen = calloc(r->n, 1);
    assert_non_null(seen);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, r->h->zctx, r->h->ep[S_INGEST], 10000, 2), 0);
    uint64_t after = 0;
    *dups = *stored = 0;
    do {
        char q[128];
        msgpack_sbuffer sb;
        tam_codec_err_t cerr;
        snprintf(q, sizeof q, "{\"status\":\"any\",\"after\":%llu,\"limit\":1000}",
                 (unsigned long long)after);
        assert_int_equal(tam_json_to_msgpack(q, strlen(q), &sb, &cerr), 0);
        tam_rpc_answer_t ans = {0};
        assert_int_equal(tam_rpc_call(c, "ingest.replies", sb.data, sb.size, &ans), 0);
        msgpack_sbuffer_destroy(&sb);
        assert_int_equal(ans.status, TAM_RPC_OK);
        tam_arena_t *a = tam_arena_new(0);
        tam_reply_list_t l;
        memset(&l, 0, sizeof l);
        assert_int_equal(tam_decode(&tam_schema_reply_list, ans.body, ans.len, a, &l, &cerr), 0);
        for (uint32_t k = 0; k < l.items.n; k++) {
            size_t i;
            (*stored)++;
            assert_int_equal(sscanf(l.items.v[k].respondent, "crash-%zu", &i), 1);
            assert_true(i < r->n);
            if (seen[i]++)
                (*dups)++;
            if (r->v[i].state == S_ACKED && r->v[i].reply_id != l.items.v[k].id)
                (*dups)++; /* stored under another id than acknowledged */
        }
        after = l.next;
        tam_arena_destroy(&a);
        tam_rpc_answer_clear(&ans);
    } while (after);
    *lost = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].state == S_ACKED && !seen[i])
            (*lost)++;
    tam_rpc_client_destroy(&c);
    free(seen);
}

static void t_sigkill_under_load(void **state)
{
    (void)state;
    s_run_t r;
    memset(&r, 0, sizeof r);
    const char *seed = getenv("TAM_CRASH_SEED");
    r.rng = seed ? strtoull(seed, NULL, 10) : (uint64_t)s_now_ms() ^ (uint64_t)getpid() << 20;
    if (!r.rng)
        r.rng = 1;
    uint64_t seed0 = r.rng;
    r.v = calloc(S_MAX, sizeof *r.v);
    assert_non_null(r.v);
    assert_non_null(r.h = h_new_opts("test_ingest_crash", NULL));
    assert_int_equal(h_start(r.h, S_INGEST, 20000), 0);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, r.h->zctx, r.h->ep[S_INGEST], 200, 0), 0);

    int64_t t0 = s_now_ms();
    int cycles = 0;
    size_t acked_at_kill[S_CYCLES], inflight_at_kill[S_CYCLES];
    while (cycles < S_CYCLES) {
        int64_t kill_at = s_now_ms() + S_UP_MIN_MS +
                          (int64_t)(s_rand(&r) % (S_UP_MAX_MS - S_UP_MIN_MS));
        while (s_now_ms() < kill_at) {
            /* Keep enough replies in reserve to fill the window at every kill
             * still to come, however fast the service is. */
            bool more = r.n + (size_t)S_WINDOW * (size_t)(S_CYCLES - cycles + 1) < S_MAX;
            s_pump(&r, c, more);
            s_take(&r, c, 5);
        }
        s_pump(&r, c, true); /* the window full when the kill comes */
        acked_at_kill[cycles] = r.acked;
        inflight_at_kill[cycles] = r.inflight;
        assert_int_equal(h_stop(r.h, S_INGEST, SIGKILL), 128 + SIGKILL);
        cycles++;
        assert_int_equal(h_start(r.h, S_INGEST, 20000), 0);
    }
    /* Drain: everything sent gets its answer, resending as needed. */
    int64_t end = s_now_ms() + 30000;
    while (r.acked < r.n && s_now_ms() < end) {
        s_pump(&r, c, false);
        s_take(&r, c, 20);
    }
    tam_rpc_client_destroy(&c);
    double secs = (double)(s_now_ms() - t0) / 1000.0;
    /* Read back from a store recovered after one more kill. */
    assert_int_equal(h_stop(r.h, S_INGEST, SIGKILL), 128 + SIGKILL);
    assert_int_equal(h_start(r.h, S_INGEST, 20000), 0);
    size_t lost, dups, stored;
    s_verify(&r, &lost, &dups, &stored);
    size_t min_inflight = SIZE_MAX;
    for (int k = 0; k < cycles; k++)
        if (inflight_at_kill[k] < min_inflight)
            min_inflight = inflight_at_kill[k];
    printf("crash safety: %d SIGKILL cycles in %.1f s (seed %llu), %zu replies sent, acked=%zu, "
           "stored=%zu, resends=%zu, outstanding at each kill >= %zu: lost=%zu duplicates=%zu\n",
           cycles, secs, (unsigned long long)seed0, r.n, r.acked, stored, r.resends, min_inflight,
           lost, dups + r.mismatched);
    (void)acked_at_kill;
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.acked, r.n);
    assert_int_equal(stored, r.n);
    assert_int_equal(lost, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(r.mismatched, 0);
    assert_true(cycles >= 20);
    assert_true(min_inflight > 0);
    h_free(r.h);
    free(r.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_sigkill_under_load)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ingest_fixture.h — what the tests of tam-ingest's store share: a fresh
 * LMDB environment per test with the catalogue, replies submitted from JSON
 * through tam_ingest_validate and tam_ingest_apply, the events they emit,
 * and the queries decoded. Included by one test program each. */
#ifndef INGEST_FIXTURE_H
#define INGEST_FIXTURE_H
/* Each test program uses some of the helpers below. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ingest.h"
#include "tam/error.h"

#define TODAY 20261130u

/* The feed events the writes emitted, in order. */
typedef struct {
    char topic[16];
    uint8_t *body;
    size_t len;
} s_event_t;

typedef struct {
    s_event_t *v;
    size_t n, cap;
    int fail; /* > 0: the fail-th event from now is refused */
} s_events_t;

static void s_events_truncate(s_events_t *ev, size_t n)
{
    for (size_t i = n; i < ev->n; i++)
        free(ev->v[i].body);
    if (n < ev->n)
        ev->n = n;
}

static int s_emit(const char *topic, const void *body, size_t len, void *arg)
{
    s_events_t *ev = arg;
    if (ev->fail > 0 && --ev->fail == 0)
        return TAM_EIO;
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 64;
        s_event_t *v = realloc(ev->v, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        ev->v = v;
        ev->cap = cap;
    }
    s_event_t *e = &ev->v[ev->n];
    snprintf(e->topic, sizeof e->topic, "%s", topic);
    if (!(e->body = malloc(len)))
        return TAM_ENOMEM;
    memcpy(e->body, body, len);
    e->len = len;
    ev->n++;
    return 0;
}

typedef struct {
    tam_catalog_t *cat;
    char dir[128];
    tam_store_t *s;
    tam_arena_t *a;
    s_events_t ev;
    size_t map_size;
    char last_error[512]; /* message of the last s_submit's error answer */
} fixture_t;

static char *s_path(const char *rel)
{
    const char *root = getenv("TAM_SOURCE_DIR");
    char *p = NULL;
    if (asprintf(&p, "%s/%s", root ? root : ".", rel) < 0)
        return NULL;
    return p;
}

static int s_open(fixture_t *f)
{
    tam_store_opts_t o = {.path = f->dir,
                          .map_size = f->map_size,
                          .dbs = tam_ingest_dbs,
                          .schema_version = TAM_INGEST_SCHEMA_VERSION,
                          .flags = TAM_STORE_NOSYNC};
    return tam_store_open(&f->s, &o);
}

static int setup_group(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    char *dir = s_path("config/catalog");
    if (!f || !dir || tam_catalog_load(&f->cat, dir, err, sizeof err) != 0) {
        fprintf(stderr, "setup failed (TAM_SOURCE_DIR set?)\n");
        free(dir);
        free(f);
        return -1;
    }
    free(dir);
    *state = f;
    return 0;
}

static int teardown_group(void **state)
{
    fixture_t *f = *state;
    tam_catalog_destroy(&f->cat);
    free(f);
    return 0;
}

static int before(void **state)
{
    fixture_t *f = *state;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_ingest_store.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->map_size = 0;
    f->a = tam_arena_new(0);
    return f->a && s_open(f) == 0 ? 0 : -1;
}

static int s_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static int after(void **state)
{
    fixture_t *f = *state;
    tam_store_close(&f->s);
    tam_arena_destroy(&f->a);
    s_events_truncate(&f->ev, 0);
    free(f->ev.v);
    memset(&f->ev, 0, sizeof f->ev);
    nftw(f->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- submitting -------------------------------------------------------- */

typedef struct {
    fixture_t *f;
    tam_reply_t *r;
    msgpack_sbuffer *body;
    tam_submit_ack_t *ack;
    size_t mark;
    int runs;
    tam_rpc_error_t err;
} s_sub_t;

static int s_sub_fn(tam_txn_t *txn, void *arg)
{
    s_sub_t *s = arg;
    s->runs++;
    /* A re-run after the map grew starts from a clean slate. */
    s_events_truncate(&s->f->ev, s->mark);
    tam_rpc_error_clear(&s->err);
    return tam_ingest_apply(txn, s->f->cat, s->r, s->body->data, s->body->size, TODAY, s_emit,
                            &s->f->ev, s->f->a, s->ack, &s->err);
}

/* Decodes a JSON reply (printf format), validates and stores it; returns the
 * store's result and fills ack. */
static int s_submit(fixture_t *f, tam_submit_ack_t *ack, const char *fmt, ...)
{
    char *json = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&json, fmt, ap) > 0);
    va_end(ap);
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    if (tam_json_to_msgpack(json, strlen(json), &sb, &cerr))
        fail_msg("bad test JSON: %s", cerr.message);
    free(json);
    tam_reply_t *r = tam_arena_alloc(f->a, sizeof *r);
    if (tam_decode(&tam_schema_reply, sb.data, sb.size, f->a, r, &cerr))
        fail_msg("test reply does not decode: %s: %s", cerr.path, cerr.message);
    tam_rpc_error_t err = {0};
    tam_ingest_limits_t lim = {4000, 500};
    int rc = tam_ingest_validate(f->cat, &lim, r, TODAY, &err);
    if (rc) {
        for (size_t i = 0; i < err.n; i++)
            fprintf(stderr, "  %s: %s\n", err.errors[i].field, err.errors[i].message);
        fail_msg("test reply invalid");
    }
    tam_rpc_error_clear(&err);
    s_sub_t s = {f, r, &sb, ack, f->ev.n, 0, {0}};
    tam_rpc_error_init(&s.err);
    rc = tam_store_write(f->s, s_sub_fn, &s);
    snprintf(f->last_error, sizeof f->last_error, "%s", s.err.message);
    tam_rpc_error_clear(&s.err);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* A Member State reply to category cat with needs for the given standards
 * (each answered need), and no_need for nn. */
#define STATE_REPLY(iso, cat, answers, needs)                                               \
    "{\"respondent\":{\"type\":\"member_state\",\"id\":\"" iso "\"},"                      \
    "\"instrument\":{\"category\":\"" cat "\",\"version\":1},\"submitted\":\"2026-10-01\"," \
    "\"completeness\":50,\"answers\":[" answers "],\"needs\":[" needs "]}"
#define ANS(std, state) "{\"standard\":\"" std "\",\"state\":\"" state "\"}"
#define NEEDM(iso, std, mod, cost)                                                        \
    "{\"country\":\"" iso "\",\"standard\":\"" std "\",\"modality\":\"" mod "\","              \
    "\"priority\":3,\"cost\":" #cost ",\"start\":\"2027-01-01\",\"end\":\"2027-12-31\"}"
#define NEED(iso, std, cost) NEEDM(iso, std, "training", cost)

/* ---- reading ------------------------------------------------------------ */

typedef struct {
    fixture_t *f;
    int which; /* 0 needs, 1 replies, 2 reply_get */
    const void *q;
    uint64_t id;
    msgpack_sbuffer *out;
} s_read_t;

static int s_read_fn(tam_txn_t *txn, void *arg)
{
    s_read_t *r = arg;
    switch (r->which) {
    case 0: return tam_ingest_needs_list(txn, r->f->cat, r->q, r->out);
    case 1: return tam_ingest_replies_list(txn, r->f->cat, r->q, r->out);
    default: return tam_ingest_reply_get(txn, r->id, r->out);
    }
}

static tam_need_list_t *s_needs(fixture_t *f, tam_needs_query_t q)
{
    tam_rpc_error_t err = {0};
    if (tam_ingest_needs_check(f->cat, &q, &err))
        fail_msg("query refused: %s: %s", err.field, err.message);
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    s_read_t r = {f, 0, &q, 0, &out};
    assert_int_equal(tam_store_read(f->s, s_read_fn, &r), 0);
    tam_need_list_t *l = tam_arena_alloc(f->a, sizeof *l);
    tam_codec_err_t cerr;
    if (tam_decode(&tam_schema_need_list, out.data, out.size, f->a, l, &cerr))
        fail_msg("need_list does not decode: %s: %s", cerr.path, cerr.message);
    msgpack_sbuffer_destroy(&out);
    return l;
}

static tam_reply_list_t *s_replies(fixture_t *f, tam_replies_query_t q)
{
    tam_rpc_error_t err = {0};
    if (tam_ingest_replies_check(f->cat, &q, &err))
        fail_msg("query refused: %s: %s", err.field, err.message);
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    s_read_t r = {f, 1, &q, 0, &out};
    assert_int_equal(tam_store_read(f->s, s_read_fn, &r), 0);
    tam_reply_list_t *l = tam_arena_alloc(f->a, sizeof *l);
    tam_codec_err_t cerr;
    if (tam_decode(&tam_schema_reply_list, out.data, out.size, f->a, l, &cerr))
        fail_msg("reply_list does not decode: %s: %s", cerr.path, cerr.message);
    msgpack_sbuffer_destroy(&out);
    return l;
}

static int s_reply_get(fixture_t *f, uint64_t id, tam_reply_full_t *full)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    s_read_t r = {f, 2, NULL, id, &out};
    int rc = tam_store_read(f->s, s_read_fn, &r);
    if (rc == 0) {
        tam_codec_err_t cerr;
        memset(full, 0, sizeof *full);
        if (tam_decode(&tam_schema_reply_full, out.data, out.size, f->a, full, &cerr))
            fail_msg("reply_full does not decode: %s: %s", cerr.path, cerr.message);
    }
    msgpack_sbuffer_destroy(&out);
    return rc;
}

static tam_need_t s_event(fixture_t *f, size_t i)
{
    assert_true(i < f->ev.n);
    tam_need_t n;
    tam_codec_err_t cerr;
    memset(&n, 0, sizeof n);
    assert_int_equal(tam_decode(&tam_schema_need, f->ev.v[i].body, f->ev.v[i].len, f->a, &n, &cerr),
                     0);
    return n;
}

#endif

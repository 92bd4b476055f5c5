/* test_ingest_ident.c — needs keep their identity across revisions
 * (services/ingest/ingest_store.c, ingest_ident.c): matched by ref, else by
 * country, standard and modality; a changed field makes the next version of
 * the same id (history kept); an unchanged need publishes nothing; a
 * withdrawn need declared again is restored under its id; the same content
 * again is a repeat, an older revision's content is superseded, nothing
 * stored; and a store of schema 1 is migrated so that its needs keep their
 * ids from then on. A fresh LMDB environment per test. */
#include "ingest_fixture.h"

/* Kenya's reply to category A: the A-SMR need of the issue (180,000) and
 * another one whose text the revision changes. */
#define KEN_A(text2)                                                                           \
    STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-TOKYO", "need"),                   \
                "{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"training\","        \
                "\"priority\":5,\"cost\":180000,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\"," \
                "\"text\":\"Training of prison officers\"},"                                    \
                "{\"country\":\"KEN\",\"standard\":\"A-TOKYO\",\"modality\":\"advisory\","       \
                "\"priority\":3,\"cost\":60000,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\","  \
                "\"text\":\"" text2 "\"}")

typedef struct {
    const char *db;
    size_t n;
} s_cnt_t;

static int s_cnt_fn(tam_txn_t *txn, void *arg)
{
    s_cnt_t *c = arg;
    return tam_txn_count(txn, c->db, &c->n);
}

static size_t s_records(fixture_t *f, const char *db)
{
    s_cnt_t c = {db, 0};
    assert_int_equal(tam_store_read(f->s, s_cnt_fn, &c), 0);
    return c.n;
}

typedef struct {
    uint8_t key[12];
    tam_arena_t *a;
    tam_need_t *n;
} s_ver_t;

static int s_version_fn(tam_txn_t *txn, void *arg)
{
    s_ver_t *v = arg;
    tam_val_t val;
    tam_codec_err_t cerr;
    int rc = tam_txn_get(txn, "versions", v->key, 12, &val);
    if (rc)
        return rc;
    memset(v->n, 0, sizeof *v->n);
    return tam_decode(&tam_schema_need, val.data, val.len, v->a, v->n, &cerr);
}

/* Version ver of need id from the history (strings from f->a). */
static int s_version(fixture_t *f, uint64_t id, uint32_t ver, tam_need_t *n)
{
    s_ver_t v = {.a = f->a, .n = n};
    tam_key_u64(v.key, id);
    v.key[8] = (uint8_t)(ver >> 24);
    v.key[9] = (uint8_t)(ver >> 16);
    v.key[10] = (uint8_t)(ver >> 8);
    v.key[11] = (uint8_t)ver;
    return tam_store_read(f->s, s_version_fn, &v);
}

/* The Kenya scenario on the ingest side: a revision that changes only the
 * text of the other need keeps both ids; only that need gets a new version. */
static void t_kenya_revision_keeps_ids(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, KEN_A("Advice on non-custodial measures")), 0);
    assert_int_equal(ack.added, 2);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_ids.v[1], 2);
    size_t mark = f->ev.n;
    assert_int_equal(s_submit(f, &ack, KEN_A("Advice on non-custodial measures, two regions")), 0);
    assert_int_equal(ack.reply_id, 2);
    assert_int_equal(ack.revision, 2);
    assert_int_equal(ack.replaces, 1);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_ids.v[1], 2);
    assert_int_equal(ack.need_versions.v[0], 1);
    assert_int_equal(ack.need_versions.v[1], 2);
    assert_int_equal(ack.added, 0);
    assert_int_equal(ack.revised, 1);
    assert_int_equal(ack.unchanged, 1);
    assert_int_equal(ack.withdrawn, 0);
    /* One event: the new version of need 2. Need 1 publishes nothing. */
    assert_int_equal(f->ev.n - mark, 1);
    tam_need_t n = s_event(f, mark);
    assert_int_equal(n.id, 2);
    assert_int_equal(n.version, 2);
    assert_int_equal(n.change, TAM_E_need_change_revised);
    assert_int_equal(n.status, TAM_E_need_status_open);
    assert_int_equal(n.reply_id, 2);
    assert_string_equal(n.text, "Advice on non-custodial measures, two regions");
    /* Still two needs, both open; need 1 still at version 1 of reply 1. */
    tam_need_list_t *l = s_needs(f, (tam_needs_query_t){.status = "any"});
    assert_int_equal(l->items.n, 2);
    assert_int_equal(l->items.v[0].id, 1);
    assert_int_equal(l->items.v[0].version, 1);
    assert_int_equal(l->items.v[0].reply_id, 1);
    assert_int_equal(l->items.v[0].cost, 180000);
    assert_int_equal(l->items.v[1].version, 2);
    /* History: version 1 of need 2, as it was; every latest version is in
     * needs only (schema 3). */
    assert_int_equal(s_records(f, "versions"), 1);
    tam_need_t h;
    assert_int_equal(s_version(f, 2, 1, &h), 0);
    assert_int_equal(h.version, 1);
    assert_string_equal(h.text, "Advice on non-custodial measures");
    tam_reply_full_t full;
    assert_int_equal(s_reply_get(f, 1, &full), 0);
    assert_int_equal(full.need_versions.v[1], 1);
    assert_int_equal(s_reply_get(f, 2, &full), 0);
    assert_int_equal(full.need_ids.v[1], 2);
    assert_int_equal(full.need_versions.v[1], 2);
}

/* A ref keeps the id when the modality changes; without a ref, a changed
 * modality is another need (a new id, the old one withdrawn). */
static void t_ref_identity(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
#define REF_NEED(mod, ref)                                                                      \
    "{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"" mod "\",\"priority\":3,"      \
    "\"cost\":10,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\"" ref "}"
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"),
                                                   REF_NEED("training", ",\"ref\":\"prisons\""))),
                     0);
    assert_int_equal(ack.need_ids.v[0], 1);
    size_t mark = f->ev.n;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"),
                                                   REF_NEED("advisory", ",\"ref\":\"prisons\""))),
                     0);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_versions.v[0], 2);
    assert_int_equal(f->ev.n - mark, 1);
    tam_need_t n = s_event(f, mark);
    assert_string_equal(n.modality, "advisory");
    assert_string_equal(n.ref, "prisons");
    /* Dropping the ref: matched by country, standard and modality. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"),
                                                   REF_NEED("advisory", ""))),
                     0);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_versions.v[0], 3);
    /* No ref and another modality: another need. */
    mark = f->ev.n;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"),
                                                   REF_NEED("legislative", ""))),
                     0);
    assert_int_equal(ack.need_ids.v[0], 2);
    assert_int_equal(ack.added, 1);
    assert_int_equal(ack.withdrawn, 1);
    assert_int_equal(f->ev.n - mark, 2);
    assert_int_equal(s_event(f, mark).id, 2);
    n = s_event(f, mark + 1);
    assert_int_equal(n.id, 1);
    assert_int_equal(n.status, TAM_E_need_status_withdrawn);
    assert_int_equal(n.change, TAM_E_need_change_withdrawn);
    assert_int_equal(n.version, 3);
    /* A need that gains a ref takes over the ref-less one of its kind. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"),
                                                   REF_NEED("legislative", ",\"ref\":\"law\""))),
                     0);
    assert_int_equal(ack.need_ids.v[0], 2);
    assert_int_equal(ack.need_versions.v[0], 2);
}

/* Withdrawn, then declared again: the same id, the next version, "restored". */
static void t_restored(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, KEN_A("x")), 0);
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"),
                                                   NEED("KEN", "A-SMR", 5))),
                     0);
    assert_int_equal(ack.withdrawn, 1); /* need 2 */
    assert_int_equal(ack.need_ids.v[0], 1);
    size_t mark = f->ev.n;
    /* (Reply 1's very content would be refused as superseded: t_repeat_and_superseded.) */
    assert_int_equal(s_submit(f, &ack, KEN_A("y")), 0);
    assert_int_equal(ack.revision, 3);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_ids.v[1], 2);
    assert_int_equal(ack.need_versions.v[0], 3); /* 180,000 again: a change */
    assert_int_equal(ack.need_versions.v[1], 2);
    assert_int_equal(ack.revised, 2);
    assert_int_equal(f->ev.n - mark, 2);
    tam_need_t n = s_event(f, mark + 1);
    assert_int_equal(n.id, 2);
    assert_int_equal(n.change, TAM_E_need_change_restored);
    assert_int_equal(n.status, TAM_E_need_status_open);
    tam_need_list_t *l = s_needs(f, (tam_needs_query_t){.status = "withdrawn"});
    assert_int_equal(l->items.n, 0);
}

/* The current content again stores nothing; an older revision's content is
 * refused as superseded, naming both replies; a new content is stored. */
static void t_repeat_and_superseded(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, KEN_A("first")), 0);
    assert_int_equal(s_submit(f, &ack, KEN_A("second")), 0);
    assert_int_equal(ack.reply_id, 2);
    size_t mark = f->ev.n;
    /* The current reply again. */
    assert_int_equal(s_submit(f, &ack, KEN_A("second")), 0);
    assert_true(ack.repeat);
    assert_int_equal(ack.reply_id, 2);
    assert_int_equal(ack.revision, 2);
    assert_int_equal(ack.unchanged, 2);
    assert_int_equal(ack.need_ids.v[1], 2);
    assert_int_equal(ack.need_versions.v[1], 2);
    assert_int_equal(f->ev.n, mark);
    /* The older one again. */
    assert_int_equal(s_submit(f, &ack, KEN_A("first")), TAM_ESUPERSEDED);
    assert_non_null(strstr(f->last_error,
                           "reply 1 is superseded by revision 2, reply 2; nothing stored"));
    assert_int_equal(f->ev.n, mark);
    assert_int_equal(s_records(f, "replies"), 2);
    /* Another reply of another respondent with the same needs is not affected. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("UGA", "A", ANS("A-SMR", "need"),
                                                   NEED("UGA", "A-SMR", 5))),
                     0);
    /* A third content is a new revision. */
    assert_int_equal(s_submit(f, &ack, KEN_A("third")), 0);
    assert_int_equal(ack.revision, 3);
    assert_false(ack.repeat);
    /* The second is now superseded too: by revision 3, reply 4. */
    assert_int_equal(s_submit(f, &ack, KEN_A("second")), TAM_ESUPERSEDED);
    assert_non_null(strstr(f->last_error, "reply 2 is superseded by revision 3, reply 4"));
}

/* tam_ingest_superseded: what the service asks for a request answered from
 * its stored answer. */
typedef struct {
    tam_reply_t *r;
    tam_arena_t *a;
    tam_rpc_error_t err;
} s_sup_t;

static int s_sup_fn(tam_txn_t *txn, void *arg)
{
    s_sup_t *s = arg;
    return tam_ingest_superseded(txn, s->r, s->a, &s->err);
}

static int s_superseded(fixture_t *f, const char *json)
{
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &sb, &cerr), 0);
    tam_reply_t *r = tam_arena_alloc(f->a, sizeof *r);
    assert_int_equal(tam_decode(&tam_schema_reply, sb.data, sb.size, f->a, r, &cerr), 0);
    msgpack_sbuffer_destroy(&sb);
    s_sup_t s = {r, f->a, {0}};
    tam_rpc_error_init(&s.err);
    int rc = tam_store_read(f->s, s_sup_fn, &s);
    snprintf(f->last_error, sizeof f->last_error, "%s", s.err.message);
    tam_rpc_error_clear(&s.err);
    return rc;
}

static void t_superseded_check(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_superseded(f, KEN_A("first")), 0); /* nothing stored yet */
    assert_int_equal(s_submit(f, &ack, KEN_A("first")), 0);
    assert_int_equal(s_superseded(f, KEN_A("first")), 0); /* current */
    assert_int_equal(s_submit(f, &ack, KEN_A("second")), 0);
    assert_int_equal(s_superseded(f, KEN_A("first")), TAM_ESUPERSEDED);
    assert_non_null(strstr(f->last_error, "reply 1 is superseded by revision 2, reply 2"));
    assert_int_equal(s_superseded(f, KEN_A("second")), 0);
}

/* ---- migration from schema 1 ------------------------------------------------ */

typedef struct {
    const char *db;
    const uint8_t *key;
    size_t klen;
    const char *json; /* value: msgpack of this JSON, or raw bytes below */
    const uint8_t *raw;
    size_t rlen;
} s_put_t;

static int s_put_fn(tam_txn_t *txn, void *arg)
{
    s_put_t *p = arg;
    if (!p->json)
        return tam_txn_put(txn, p->db, p->key, p->klen, p->raw, p->rlen, 0);
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    assert_int_equal(tam_json_to_msgpack(p->json, strlen(p->json), &sb, &cerr), 0);
    int rc = tam_txn_put(txn, p->db, p->key, p->klen, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void s_put(tam_store_t *s, const char *db, const uint8_t *key, size_t klen,
                  const char *json, const uint8_t *raw, size_t rlen)
{
    s_put_t p = {db, key, klen, json, raw, rlen};
    assert_int_equal(tam_store_write(s, s_put_fn, &p), 0);
}

#define V1_NEED(id, std, mod, cost, status)                                                     \
    "{\"id\":" #id ",\"reply_id\":1,\"respondent\":\"KEN\",\"country\":\"KEN\","              \
    "\"category\":\"A\",\"standard\":\"" std "\",\"modality\":\"" mod "\",\"priority\":3,"    \
    "\"cost\":" #cost ",\"start\":\"2027-01-01\",\"end\":\"2027-12-31\",\"completeness\":50," \
    "\"status\":\"" status "\"}"

/* Writes, record by record, what schema 1 stored for KEN's reply 1 with two
 * needs (ids 1 and 2, consecutive): no versions, no need list, no digests. */
static void s_write_v1(fixture_t *f)
{
    static const char *const v1_dbs[] = {"replies", "bodies", "needs",   "open", "chains",
                                         "answers", "seq",    "requests", NULL};
    tam_store_close(&f->s);
    tam_store_opts_t o = {.path = f->dir, .dbs = v1_dbs, .schema_version = 1,
                          .flags = TAM_STORE_NOSYNC};
    char sub[160];
    snprintf(sub, sizeof sub, "%s/v1", f->dir);
    o.path = sub;
    tam_store_t *s;
    assert_int_equal(tam_store_open(&s, &o), 0);
    uint8_t k[16];
    tam_key_u64(k, 1);
    s_put(s, "replies", k, 8,
          "{\"id\":1,\"respondent\":\"KEN\",\"respondent_type\":\"member_state\","
          "\"category\":\"A\",\"version\":1,\"revision\":1,\"status\":\"current\","
          "\"submitted\":\"2026-10-01\",\"stored\":\"2026-11-30\",\"completeness\":50,"
          "\"needs\":2,\"first_need\":1,\"withdrawn\":0,\"countries\":[\"KEN\"]}",
          NULL, 0);
    s_put(s, "bodies", k, 8,
          STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-TOKYO", "need"),
                      NEED("KEN", "A-SMR", 180000) "," NEED("KEN", "A-TOKYO", 60000)),
          NULL, 0);
    s_put(s, "needs", k, 8, V1_NEED(1, "A-SMR", "training", 180000, "open"), NULL, 0);
    tam_key_u64(k, 2);
    s_put(s, "needs", k, 8, V1_NEED(2, "A-TOKYO", "training", 60000, "open"), NULL, 0);
    uint8_t ok[14] = {'K', 'E', 'N', '/', 'A', '/'};
    for (uint64_t id = 1; id <= 2; id++) {
        tam_key_u64(ok + 6, id);
        s_put(s, "open", ok, 14, NULL, (const uint8_t *)"", 0);
    }
    uint8_t ck[10] = {'K', 'E', 'N', 0, 'A', 0, 0, 0, 0, 1};
    tam_key_u64(k, 1);
    s_put(s, "chains", ck, 10, NULL, k, 8);
    tam_key_u64(k, 1);
    tam_key_u64(k + 8, 2);
    s_put(s, "seq", (const uint8_t *)"ids", 3, NULL, k, 16);
    tam_store_close(&s);
    assert_true(strlen(f->dir) + 4 < sizeof f->dir);
    strcat(f->dir, "/v1");
}

static void t_migration_from_schema_1(void **state)
{
    fixture_t *f = *state;
    char top[128];
    snprintf(top, sizeof top, "%s", f->dir);
    s_write_v1(f);
    /* Without a migration, version 1 is refused, as before. */
    tam_store_opts_t o = {.path = f->dir, .dbs = tam_ingest_dbs,
                          .schema_version = TAM_INGEST_SCHEMA_VERSION, .flags = TAM_STORE_NOSYNC};
    assert_int_equal(tam_store_open(&f->s, &o), TAM_ECONFIG);
    /* With it: migrated once, then opened as version 2 with no migration. */
    o.schema_from = TAM_INGEST_SCHEMA_FROM;
    o.migrate = tam_ingest_migrate;
    assert_int_equal(tam_store_open(&f->s, &o), 0);
    tam_store_close(&f->s);
    o.migrate = NULL;
    assert_int_equal(tam_store_open(&f->s, &o), 0);
    tam_reply_full_t full;
    assert_int_equal(s_reply_get(f, 1, &full), 0);
    assert_int_equal(full.need_ids.n, 2);
    assert_int_equal(full.need_ids.v[1], 2);
    assert_int_equal(full.need_versions.v[1], 1);
    /* Kenya revises the A-TOKYO need only: both keep their ids. */
    tam_submit_ack_t ack;
    size_t mark = f->ev.n;
    assert_int_equal(
        s_submit(f, &ack,
                 STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-TOKYO", "need"),
                             NEED("KEN", "A-SMR", 180000) "," NEED("KEN", "A-TOKYO", 65000))),
        0);
    assert_int_equal(ack.reply_id, 2);
    assert_int_equal(ack.revision, 2);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_ids.v[1], 2);
    assert_int_equal(ack.unchanged, 1);
    assert_int_equal(ack.revised, 1);
    assert_int_equal(f->ev.n - mark, 1);
    tam_need_t n = s_event(f, mark);
    assert_int_equal(n.id, 2);
    assert_int_equal(n.version, 2);
    /* Version 1 of need 2, from before the migration, is in the history. */
    assert_int_equal(s_records(f, "versions"), 1);
    /* Reply 1's content again: superseded (its digest was migrated). */
    assert_int_equal(s_submit(f, &ack,
                              STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-TOKYO", "need"),
                                          NEED("KEN", "A-SMR", 180000) "," NEED("KEN", "A-TOKYO", 60000))),
                     TAM_ESUPERSEDED);
    snprintf(f->dir, sizeof f->dir, "%s", top);
}

typedef struct {
    uint64_t id;
    tam_arena_t *a;
    const void *body;
    size_t len;
} s_body_t;

static int s_body_fn(tam_txn_t *txn, void *arg)
{
    s_body_t *b = arg;
    int rc = tam_ingest_body_get(txn, b->id, b->a, &b->body, &b->len);
    if (rc == 0) { /* copied out of the map before the read ends */
        void *copy = tam_arena_alloc(b->a, b->len);
        memcpy(copy, b->body, b->len);
        b->body = copy;
    }
    return rc;
}

/* A store of schema 2 repeats each need's latest version in versions;
 * migrating to 3 drops exactly those, and a version whose need is missing
 * fails the migration, leaving the store at 2. */
static void t_migration_from_schema_2(void **state)
{
    fixture_t *f = *state;
    char top[128], sub[160];
    snprintf(top, sizeof top, "%s", f->dir);
    tam_store_close(&f->s);
    snprintf(sub, sizeof sub, "%s/v2", f->dir);
    tam_store_opts_t o = {.path = sub, .dbs = tam_ingest_dbs, .schema_version = 2,
                          .flags = TAM_STORE_NOSYNC};
    tam_store_t *s;
    assert_int_equal(tam_store_open(&s, &o), 0);
    uint8_t k[12] = {0};
    /* need 1 at version 2 (history: 1 and 2), need 2 of schema 1 (no
     * version: 1; history: 1) */
    tam_key_u64(k, 1);
    s_put(s, "needs", k, 8, V1_NEED(1, "A-SMR", "training", 180000, "open"), NULL, 0);
    k[11] = 1;
    s_put(s, "versions", k, 12, V1_NEED(1, "A-SMR", "training", 170000, "open"), NULL, 0);
    k[11] = 2;
    s_put(s, "versions", k, 12, V1_NEED(1, "A-SMR", "training", 180000, "open"), NULL, 0);
    tam_key_u64(k, 2);
    s_put(s, "needs", k, 8, V1_NEED(2, "A-TOKYO", "training", 60000, "open"), NULL, 0);
    k[11] = 1;
    s_put(s, "versions", k, 12, V1_NEED(2, "A-TOKYO", "training", 60000, "open"), NULL, 0);
    /* a body of 5,000 bytes in one record, as schema 2 kept it */
    static uint8_t big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    tam_key_u64(k, 7);
    s_put(s, "bodies", k, 8, NULL, big, sizeof big);
    tam_store_close(&s);
    /* The need record of need 1 says version 2. */
    o.schema_version = 2;
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_key_u64(k, 1);
    s_put(s, "needs", k, 8,
          "{\"id\":1,\"version\":2,\"reply_id\":1,\"respondent\":\"KEN\",\"country\":\"KEN\","
          "\"category\":\"A\",\"standard\":\"A-SMR\",\"modality\":\"training\",\"priority\":3,"
          "\"cost\":180000,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\",\"completeness\":50,"
          "\"status\":\"open\"}",
          NULL, 0);
    tam_store_close(&s);
    assert_true(strlen(f->dir) + 4 < sizeof f->dir);
    strcat(f->dir, "/v2");
    o.schema_version = TAM_INGEST_SCHEMA_VERSION;
    o.schema_from = TAM_INGEST_SCHEMA_FROM;
    o.migrate = tam_ingest_migrate;
    assert_int_equal(tam_store_open(&f->s, &o), 0);
    assert_int_equal(s_records(f, "versions"), 1);
    tam_need_t h;
    assert_int_equal(s_version(f, 1, 1, &h), 0);
    assert_int_equal(h.cost, 170000);
    assert_int_equal(s_version(f, 2, 1, &h), TAM_ENOTFOUND);
    /* the long body is now in three chunks, and reads back the same */
    assert_int_equal(s_records(f, "bodies"), 3);
    s_body_t b = {.id = 7, .a = f->a};
    assert_int_equal(tam_store_read(f->s, s_body_fn, &b), 0);
    assert_int_equal(b.len, sizeof big);
    assert_memory_equal(b.body, big, sizeof big);
    tam_store_close(&f->s);

    /* A version without its need: refused, nothing changed. */
    snprintf(sub, sizeof sub, "%s/v2bad", top);
    o.path = sub;
    o.schema_version = 2;
    o.migrate = NULL;
    o.schema_from = 0;
    assert_int_equal(tam_store_open(&s, &o), 0);
    tam_key_u64(k, 9);
    k[11] = 1;
    s_put(s, "versions", k, 12, V1_NEED(9, "A-SMR", "training", 1000, "open"), NULL, 0);
    tam_store_close(&s);
    o.schema_version = TAM_INGEST_SCHEMA_VERSION;
    o.schema_from = TAM_INGEST_SCHEMA_FROM;
    o.migrate = tam_ingest_migrate;
    assert_int_equal(tam_store_open(&s, &o), TAM_ESTORE);
    o.schema_version = 2;
    o.migrate = NULL;
    o.schema_from = 0;
    assert_int_equal(tam_store_open(&s, &o), 0); /* still version 2 */
    tam_store_close(&s);
    snprintf(f->dir, sizeof f->dir, "%s", top);
    o.path = f->dir;
    o.schema_version = TAM_INGEST_SCHEMA_VERSION;
    assert_int_equal(tam_store_open(&f->s, &o), 0);
}

/* A reply longer than a chunk is stored in chunks that fit leaf pages and
 * comes back whole, byte for byte. */
static void t_body_chunks(void **state)
{
    fixture_t *f = *state;
    char text[3001];
    memset(text, 'x', 3000);
    text[3000] = 0;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, KEN_A("%s"), text), 0);
    assert_int_equal(s_records(f, "bodies"), 2); /* ~3.3 KB: two chunks */
    tam_reply_full_t full;
    assert_int_equal(s_reply_get(f, ack.reply_id, &full), 0);
    assert_int_equal(full.reply->needs.n, 2);
    assert_string_equal(full.reply->needs.v[1].text, text);
    /* The stored bytes are the request's: encoded again, the same length. */
    s_body_t b = {.id = (uint64_t)ack.reply_id, .a = f->a};
    assert_int_equal(tam_store_read(f->s, s_body_fn, &b), 0);
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    char req[8192];
    snprintf(req, sizeof req, KEN_A("%s"), text);
    assert_int_equal(tam_json_to_msgpack(req, strlen(req), &sb, &cerr), 0);
    assert_int_equal(b.len, sb.size);
    assert_memory_equal(b.body, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    /* A short reply stays one record. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("UGA", "A", ANS("A-SMR", "need"),
                                                   NEED("UGA", "A-SMR", 1000))),
                     0);
    assert_int_equal(s_records(f, "bodies"), 3);
}

/* The content digest is SHA-256 of the canonical encoding, whatever library
 * computes it: stores keep digests across versions (a reply sent again is
 * recognised by them), so the value of a fixed reply is pinned here. */
static void t_digest_stable(void **state)
{
    fixture_t *f = *state;
    const char *json = KEN_A("Advice on non-custodial measures");
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    tam_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &sb, &cerr), 0);
    assert_int_equal(tam_decode(&tam_schema_reply, sb.data, sb.size, f->a, &r, &cerr), 0);
    uint8_t d1[32], d2[32];
    assert_int_equal(tam_ingest_digest(&r, d1), 0);
    assert_int_equal(tam_ingest_digest_in(&r, f->a, d2), 0);
    assert_memory_equal(d1, d2, 32);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d1[i]);
    assert_string_equal(hex, "97a35e85a10f878253acdbdaea5a332a4b50e835fa6fdebee272470362f0175c");
    msgpack_sbuffer_destroy(&sb);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, before, after)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_kenya_revision_keeps_ids), T(t_ref_identity),     T(t_restored),
        T(t_repeat_and_superseded),    T(t_superseded_check), T(t_migration_from_schema_1),
        T(t_migration_from_schema_2),  T(t_digest_stable),           T(t_body_chunks),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}

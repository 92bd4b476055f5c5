/* test_registry_store.c — the registry's write and read handlers
 * (services/registry/registry_store.c, registry_query.c) on a real LMDB
 * environment in a fresh temporary directory per test: records and their
 * history, no-op changes, every kind of refusal leaving the store byte for
 * byte unchanged and publishing nothing, ledger totals, the planning
 * context's versions, listings with filters and pages, the snapshot, and a
 * failing put aborting the whole request. */
// LINK: -Wl,--wrap=mdb_put
#include <ftw.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/catalog.h"
#include "tam/error.h"
#include "tam/log.h"
#include "registry.h" /* services/registry, linked by its CMakeLists.txt */

/* ---- failure injection ---------------------------------------------------- */

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
static int g_put_in, g_put_rc; /* the Nth put from now fails with g_put_rc */

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    if (g_put_in > 0 && --g_put_in == 0)
        return g_put_rc;
    return __real_mdb_put(txn, dbi, key, data, flags);
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct {
    tam_catalog_t *cat;
    char dir[64];
    tam_store_t *store;
    tam_registry_t reg;
    tam_arena_t *a;
    /* the last answer */
    tam_rpc_error_t err;
    msgpack_sbuffer answer;
    tam_events_t pubs;
} fixture_t;

static int s_group_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    const char *root = getenv("TAM_SOURCE_DIR");
    char dir[1024], msg[512];
    if (!f || !root) {
        fprintf(stderr, "TAM_SOURCE_DIR is not set\n");
        free(f);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/config/catalog", root);
    if (tam_catalog_load(&f->cat, dir, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s\n", msg);
        free(f);
        return -1;
    }
    f->a = tam_arena_new(0);
    msgpack_sbuffer_init(&f->answer);
    tam_log_init("test_registry_store", LOG_WARNING);
    *state = f;
    return f->a ? 0 : -1;
}

static int s_group_teardown(void **state)
{
    fixture_t *f = *state;
    tam_arena_destroy(&f->a);
    tam_catalog_destroy(&f->cat);
    msgpack_sbuffer_destroy(&f->answer);
    free(f);
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture_t *f = *state;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_registry_store.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    tam_store_opts_t o = {.path = f->dir, .dbs = tam_registry_dbs,
                          .schema_version = TAM_REGISTRY_SCHEMA, .flags = TAM_STORE_NOSYNC};
    if (tam_store_open(&f->store, &o) != 0)
        return -1;
    f->reg = (tam_registry_t){.cat = f->cat, .today = 20261127};
    tam_rpc_error_init(&f->err);
    g_put_in = 0;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tam_store_close(&f->store);
    nftw(f->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    tam_rpc_error_clear(&f->err);
    tam_events_free(&f->pubs);
    return 0;
}

/* ---- driving the handlers ------------------------------------------------------ */

typedef struct {
    fixture_t *f;
    int msg;
    const void *body;
    size_t len;
    bool read;
} s_call_t;

/* Runs inside tam_store_write / tam_store_read: the answer and the pubs are
 * reset first, since the store may run this again after growing the map. */
static int s_run(tam_txn_t *txn, void *arg)
{
    s_call_t *c = arg;
    fixture_t *f = c->f;
    msgpack_sbuffer_clear(&f->answer);
    tam_rpc_error_clear(&f->err);
    tam_events_truncate(&f->pubs, 0);
    tam_arena_reset(f->a);
    int rc = c->read ? tam_registry_read(&f->reg, txn, c->msg, c->body, c->len, f->a, &f->answer, &f->err)
                     : tam_registry_write(&f->reg, txn, c->msg, c->body, c->len, f->a, &f->answer,
                                          &f->pubs, &f->err);
    if (rc == 0 && f->err.code)
        return 1; /* refused: abort (it wrote nothing anyway) */
    return rc;
}

/* Sends one request written as JSON. Returns 0 (accepted), the refusal's
 * code (f->err lists the problems) or a failure code. */
static int s_call(fixture_t *f, int msg, const char *json)
{
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    if (tam_json_to_msgpack(json, strlen(json), &sb, &ce))
        fail_msg("bad JSON in test: %s", ce.message);
    size_t n;
    const tam_message_t *m = &tam_messages(&n)[msg];
    s_call_t c = {.f = f, .msg = msg, .body = sb.data, .len = sb.size, .read = !m->writes};
    int rc = c.read ? tam_store_read(f->store, s_run, &c) : tam_store_write(f->store, s_run, &c);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 1)
        return f->err.code;
    return rc;
}

/* Decodes the last answer with the message's answer schema. */
static void *s_ans(fixture_t *f, int msg)
{
    size_t n;
    const tam_message_t *m = &tam_messages(&n)[msg];
    void *out = tam_arena_alloc(f->a, m->answer->size);
    tam_codec_err_t ce;
    assert_non_null(out);
    if (tam_decode(m->answer, f->answer.data, f->answer.size, f->a, out, &ce))
        fail_msg("answer does not decode as %s: %s: %s", m->answer->name, ce.path, ce.message);
    return out;
}

static bool s_has(const tam_rpc_error_t *e, const char *field, const char *text)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->errors[i].field, field) == 0 && (!text || strstr(e->errors[i].message, text)))
            return true;
    return false;
}

static void s_dump(const tam_rpc_error_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "  %s: %s\n", e->errors[i].field, e->errors[i].message);
}

#define assert_problem(e, fld, txt)                                                  \
    do {                                                                             \
        if (!s_has((e), (fld), (txt))) {                                             \
            s_dump(e);                                                               \
            fail_msg("no problem at %s containing '%s'", (fld), (txt) ? (txt) : ""); \
        }                                                                            \
    } while (0)

/* A digest of everything stored (every db, every key and value, and the
 * ledger counter), to show that a refused request changed nothing. */
typedef struct {
    uint64_t h;
    size_t n;
} s_digest_t;

static int s_digest_row(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_digest_t *d = arg;
    const uint8_t *parts[2] = {key->data, val->data};
    size_t lens[2] = {key->len, val->len};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < lens[p]; i++)
            d->h = (d->h ^ parts[p][i]) * 1099511628211ULL;
    d->h = (d->h ^ 0xff) * 1099511628211ULL;
    d->n++;
    return 0;
}

static int s_digest_fn(tam_txn_t *txn, void *arg)
{
    s_digest_t *d = arg;
    for (size_t i = 0; tam_registry_dbs[i]; i++) {
        int rc = tam_txn_scan(txn, tam_registry_dbs[i], NULL, 0, NULL, 0, s_digest_row, d);
        if (rc)
            return rc;
    }
    uint64_t c;
    int rc = tam_txn_counter_get(txn, "ledger", &c);
    d->h ^= c;
    return rc;
}

static s_digest_t s_digest(fixture_t *f)
{
    s_digest_t d = {.h = 14695981039346656037ULL};
    assert_int_equal(tam_store_read(f->store, s_digest_fn, &d), 0);
    return d;
}

/* Expects the request to be refused with code at field (message containing
 * text), with nothing stored and nothing to publish. */
#define assert_refused(f, msg, json, code, fld, txt)                      \
    do {                                                                  \
        s_digest_t before_ = s_digest(f);                                 \
        int rc_ = s_call((f), (msg), (json));                             \
        if (rc_ != (code)) {                                              \
            s_dump(&(f)->err);                                            \
            fail_msg("%s: %s, not %s", (json), tam_errname(rc_), tam_errname(code)); \
        }                                                                 \
        assert_problem(&(f)->err, (fld), (txt));                          \
        assert_int_equal((f)->pubs.n, 0);                                 \
        s_digest_t after_ = s_digest(f);                                  \
        assert_true(before_.h == after_.h && before_.n == after_.n);      \
    } while (0)

/* ---- sample records ------------------------------------------------------------ */

#define DONOR_NOR "{\"id\":\"NOR\",\"name\":\"Norway\",\"kind\":\"government\",\"iati_id\":\"XM-DAC-8\"}"
#define DONOR_SWE "{\"id\":\"SWE\",\"name\":\"Sweden\",\"kind\":\"government\"}"
#define DONOR_EU "{\"id\":\"EU\",\"name\":\"European Union\",\"kind\":\"multilateral\"}"

#define PROJ(id, donors, status, extra)                                                     \
    "{\"id\":\"" id "\",\"title\":\"Prison reform\",\"donors\":" donors                     \
    ",\"budget\":2850000,\"budget_status\":\"indicative\",\"start\":\"2026-10-01\","          \
    "\"end\":\"2028-08-03\",\"status\":\"" status "\",\"dac\":\"15137\",\"earmarks\":{"      \
    "\"groups\":[\"AFRICAN\"],\"categories\":[\"A\"],\"standards\":[\"A-SMR\"]" extra "}}"

#define NOR100 "[{\"donor\":\"NOR\",\"percent\":100}]"
#define NOR_SWE "[{\"donor\":\"NOR\",\"percent\":60},{\"donor\":\"SWE\",\"percent\":40}]"

static void s_add_donors(fixture_t *f)
{
    assert_int_equal(s_call(f, TAM_MSG_registry_donor_put, DONOR_NOR), 0);
    assert_int_equal(s_call(f, TAM_MSG_registry_donor_put, DONOR_SWE), 0);
    assert_int_equal(s_call(f, TAM_MSG_registry_donor_put, DONOR_EU), 0);
}

static tam_put_ack_t *s_ack(fixture_t *f, int msg, const char *json)
{
    int rc = s_call(f, msg, json);
    if (rc) {
        s_dump(&f->err);
        fail_msg("refused: %s", tam_strerror(rc));
    }
    return s_ans(f, TAM_MSG_registry_project_add);
}

/* ---- donors ------------------------------------------------------------------------ */

static void test_donor_revisions(void **state)
{
    fixture_t *f = *state;
    tam_put_ack_t *ack = s_ack(f, TAM_MSG_registry_donor_put, DONOR_NOR);
    assert_string_equal(ack->id, "NOR");
    assert_int_equal(ack->revision, 1);
    assert_int_equal(f->pubs.n, 1);
    assert_string_equal(f->pubs.v[0].topic, "donor/NOR");

    /* the same again: nothing changes, nothing is published */
    s_digest_t before = s_digest(f);
    ack = s_ack(f, TAM_MSG_registry_donor_put,
                "{\"id\":\"NOR\",\"name\":\"Norway\",\"kind\":\"government\",\"iati_id\":\"XM-DAC-8\",\"revision\":7}");
    assert_int_equal(ack->revision, 1);
    assert_int_equal(f->pubs.n, 0);
    s_digest_t after = s_digest(f);
    assert_true(before.h == after.h);

    /* a change: revision 2, the first kept */
    ack = s_ack(f, TAM_MSG_registry_donor_put,
                "{\"id\":\"NOR\",\"name\":\"Kingdom of Norway\",\"kind\":\"government\"}");
    assert_int_equal(ack->revision, 2);
    assert_int_equal(f->pubs.n, 1);
    tam_donor_t *fed = tam_arena_alloc(f->a, sizeof *fed);
    tam_codec_err_t ce;
    assert_int_equal(tam_decode(&tam_schema_donor, f->pubs.v[0].body, f->pubs.v[0].len, f->a, fed, &ce), 0);
    assert_string_equal(fed->name, "Kingdom of Norway");
    assert_int_equal(fed->revision, 2);
    assert_null(fed->iati_id);

    assert_int_equal(s_call(f, TAM_MSG_registry_donor_get, "{\"id\":\"NOR\"}"), 0);
    tam_donor_t *d = s_ans(f, TAM_MSG_registry_donor_get);
    assert_string_equal(d->name, "Kingdom of Norway");
    assert_int_equal(d->revision, 2);
    assert_int_equal(s_call(f, TAM_MSG_registry_donor_get, "{\"id\":\"NOR\",\"revision\":1}"), 0);
    d = s_ans(f, TAM_MSG_registry_donor_get);
    assert_string_equal(d->name, "Norway");
    assert_string_equal(d->iati_id, "XM-DAC-8");
    assert_int_equal(d->revision, 1);

    assert_int_equal(s_call(f, TAM_MSG_registry_donor_get, "{\"id\":\"NOR\",\"revision\":3}"), TAM_ENOTFOUND);
    assert_problem(&f->err, "revision", "no revision 3");
    assert_int_equal(s_call(f, TAM_MSG_registry_donor_get, "{\"id\":\"DNK\"}"), TAM_ENOTFOUND);
    assert_problem(&f->err, "id", "no donor 'DNK'");
    assert_int_equal(s_call(f, TAM_MSG_registry_donor_get, "{\"id\":\"a/b\",\"revision\":1}"), TAM_ENOTFOUND);
    assert_problem(&f->err, "id", NULL);
}

static void test_donor_refused(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    assert_refused(f, TAM_MSG_registry_donor_put,
                   "{\"id\":\"NOR\",\"name\":\"Norway\",\"kind\":\"government\",\"iati_id\":\"norway\"}",
                   TAM_EINVAL, "iati_id", "IATI");
    assert_refused(f, TAM_MSG_registry_donor_put,
                   "{\"id\":\"N\",\"name\":\"x\",\"kind\":\"government\"}", TAM_EINVAL, "id", NULL);
    assert_refused(f, TAM_MSG_registry_donor_put,
                   "{\"id\":\"NOR\",\"name\":\"x\",\"kind\":\"king\"}", TAM_EUNKNOWN, "kind", "one of");
    assert_refused(f, TAM_MSG_registry_donor_put, "{\"id\":\"NOR\",\"name\":\"x\",\"kind\":\"government\",\"x\":1}",
                   TAM_EUNKNOWN, "x", "unknown field");
    assert_refused(f, TAM_MSG_registry_donor_put, "[1,2]", TAM_ETYPE, "", NULL);
}

static void test_donor_list(void **state)
{
    fixture_t *f = *state;
    char json[256];
    for (int i = 0; i < 25; i++) {
        snprintf(json, sizeof json, "{\"id\":\"D%02d\",\"name\":\"Donor %d\",\"kind\":\"private\"}", i, i);
        assert_int_equal(s_call(f, TAM_MSG_registry_donor_put, json), 0);
    }
    /* pages of 10 by id, linked by next */
    const char *after = NULL;
    int seen = 0, pages = 0;
    char next[64] = "";
    do {
        if (after)
            snprintf(json, sizeof json, "{\"after\":\"%s\",\"limit\":10}", after);
        else
            snprintf(json, sizeof json, "{\"limit\":10}");
        assert_int_equal(s_call(f, TAM_MSG_registry_donors, json), 0);
        tam_donor_list_t *l = s_ans(f, TAM_MSG_registry_donors);
        for (uint32_t i = 0; i < l->items.n; i++) {
            char want[16];
            snprintf(want, sizeof want, "D%02d", seen++);
            assert_string_equal(l->items.v[i].id, want);
        }
        pages++;
        if (l->next) {
            assert_string_equal(l->next, l->items.v[l->items.n - 1].id);
            snprintf(next, sizeof next, "%s", l->next);
            after = next;
        } else {
            after = NULL;
        }
    } while (after);
    assert_int_equal(seen, 25);
    assert_int_equal(pages, 3);
    /* the default page is 100: everything at once, no next */
    assert_int_equal(s_call(f, TAM_MSG_registry_donors, "{}"), 0);
    tam_donor_list_t *l = s_ans(f, TAM_MSG_registry_donors);
    assert_int_equal(l->items.n, 25);
    assert_null(l->next);
    /* exactly one page full: no next */
    assert_int_equal(s_call(f, TAM_MSG_registry_donors, "{\"after\":\"D14\",\"limit\":10}"), 0);
    l = s_ans(f, TAM_MSG_registry_donors);
    assert_int_equal(l->items.n, 10);
    assert_null(l->next);
    /* after an id that does not exist: from the next one */
    assert_int_equal(s_call(f, TAM_MSG_registry_donors, "{\"after\":\"D145\",\"limit\":1}"), 0);
    l = s_ans(f, TAM_MSG_registry_donors);
    assert_string_equal(l->items.v[0].id, "D15");
}

/* ---- projects -------------------------------------------------------------------- */

static void test_project_add_update_history(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    tam_put_ack_t *ack = s_ack(f, TAM_MSG_registry_project_add, PROJ("AFR-PRISON", NOR100, "pipeline", ""));
    assert_string_equal(ack->id, "AFR-PRISON");
    assert_int_equal(ack->revision, 1);
    assert_int_equal(f->pubs.n, 1);
    assert_string_equal(f->pubs.v[0].topic, "project/AFR-PRISON");

    /* an update with the same content is no change */
    ack = s_ack(f, TAM_MSG_registry_project_update, PROJ("AFR-PRISON", NOR100, "pipeline", ""));
    assert_int_equal(ack->revision, 1);
    assert_int_equal(f->pubs.n, 0);

    ack = s_ack(f, TAM_MSG_registry_project_update,
                PROJ("AFR-PRISON", NOR_SWE, "active", ",\"max_per_need\":250000"));
    assert_int_equal(ack->revision, 2);
    assert_int_equal(f->pubs.n, 1);

    /* the feed body is the stored record, which project_get answers */
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"AFR-PRISON\"}"), 0);
    tam_project_rec_t *r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->revision, 2);
    assert_int_equal(r->project->status, TAM_E_project_status_active);
    assert_int_equal(r->project->donors.n, 2);
    assert_int_equal(r->project->earmarks->max_per_need, 250000);

    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"AFR-PRISON\",\"revision\":1}"), 0);
    r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->revision, 1);
    assert_int_equal(r->project->status, TAM_E_project_status_pipeline);
    assert_int_equal(r->project->donors.n, 1);
    assert_int_equal(r->project->earmarks->max_per_need, 0);
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"AFR-PRISON\",\"revision\":3}"),
                     TAM_ENOTFOUND);
    assert_problem(&f->err, "revision", NULL);
}

static void test_project_feed_body_is_stored_record(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P1", NOR100, "active", ""));
    assert_int_equal(f->pubs.n, 1);
    size_t len = f->pubs.v[0].len;
    uint8_t *pub = malloc(len);
    assert_non_null(pub);
    memcpy(pub, f->pubs.v[0].body, len);
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P1\"}"), 0);
    assert_int_equal(f->answer.size, len);
    assert_memory_equal(f->answer.data, pub, len);
    free(pub);
}

static void test_project_refused(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P1", NOR100, "active", ""));

    /* each rule, with nothing stored */
    assert_refused(f, TAM_MSG_registry_project_add, PROJ("P1", NOR100, "active", ""), TAM_EEXISTS,
                   "id", "exists already");
    assert_refused(f, TAM_MSG_registry_project_add, PROJ("P2", "[{\"donor\":\"DNK\",\"percent\":100}]", "active", ""),
                   TAM_EUNKNOWN, "donors[0].donor", "unknown donor 'DNK'");
    assert_refused(f, TAM_MSG_registry_project_add, PROJ("P2", "[{\"donor\":\"NOR\",\"percent\":60}]", "active", ""),
                   TAM_EINVAL, "donors", "add up to 60");
    assert_refused(f, TAM_MSG_registry_project_add,
                   PROJ("P2", "[{\"donor\":\"NOR\",\"percent\":50},{\"donor\":\"NOR\",\"percent\":50}]", "active", ""),
                   TAM_EINVAL, "donors[1].donor", "listed twice");
    assert_refused(f, TAM_MSG_registry_project_add, PROJ("P2", NOR100, "active", ",\"countries\":[\"XXX\"]"),
                   TAM_EUNKNOWN, "earmarks.countries[0]", "unknown country");
    assert_refused(f, TAM_MSG_registry_project_add, PROJ("P2", NOR100, "active", ",\"modalities\":[\"x\"]"),
                   TAM_EUNKNOWN, "earmarks.modalities[0]", "unknown modality");
    assert_refused(f, TAM_MSG_registry_project_add, PROJ("P2", NOR100, "active", ",\"regions\":[\"202\",\"998\"]"),
                   TAM_EUNKNOWN, "earmarks.regions[1]", "unknown M49 area");
    /* the standards list of PROJ names A-SMR under category A; add one from D */
    assert_refused(f, TAM_MSG_registry_project_add,
                   "{\"id\":\"P2\",\"title\":\"t\",\"donors\":" NOR100 ",\"budget\":1,"
                   "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\","
                   "\"status\":\"active\",\"dac\":\"15130\",\"earmarks\":{\"categories\":[\"A\"],"
                   "\"standards\":[\"A-SMR\",\"D-JUDIC\"]}}",
                   TAM_EINVAL, "earmarks.standards[1]", "category D");
    assert_refused(f, TAM_MSG_registry_project_add,
                   "{\"id\":\"P2\",\"title\":\"t\",\"donors\":" NOR100 ",\"budget\":1,"
                   "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2025-12-31\","
                   "\"status\":\"active\",\"dac\":\"00000\",\"earmarks\":{}}",
                   TAM_EINVAL, "end", "before it starts");
    assert_problem(&f->err, "dac", "unknown DAC");
    assert_refused(f, TAM_MSG_registry_project_add,
                   "{\"id\":\"P2\",\"title\":\"t\",\"donors\":" NOR100 ",\"budget\":-1,"
                   "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\","
                   "\"status\":\"active\",\"dac\":\"15130\",\"earmarks\":{}}",
                   TAM_ERANGE, "budget", NULL);
    assert_refused(f, TAM_MSG_registry_project_add, PROJ("P2", NOR100, "closed", ""), TAM_EINVAL,
                   "status", "project_close");
    assert_refused(f, TAM_MSG_registry_project_update, PROJ("P9", NOR100, "active", ""),
                   TAM_ENOTFOUND, "id", "no project 'P9'");
    assert_refused(f, TAM_MSG_registry_project_update, PROJ("P1", NOR100, "active", ",\"countries\":[\"NOR\",\"XX\"]"),
                   TAM_EUNKNOWN, "earmarks.countries[1]", "unknown country 'XX'");
}

static void test_project_close(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P1", NOR100, "active", ""));
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P2", NOR100, "pipeline", ""));
    assert_refused(f, TAM_MSG_registry_project_close, "{\"id\":\"P2\",\"status\":\"closed\",\"reason\":\"x\"}",
                   TAM_ESTATE, "status", "cancel it");
    assert_refused(f, TAM_MSG_registry_project_close, "{\"id\":\"P9\",\"status\":\"closed\",\"reason\":\"x\"}",
                   TAM_ENOTFOUND, "id", NULL);
    assert_refused(f, TAM_MSG_registry_project_close, "{\"id\":\"P1\",\"status\":\"active\",\"reason\":\"x\"}",
                   TAM_EINVAL, "status", NULL);

    tam_put_ack_t *ack = s_ack(f, TAM_MSG_registry_project_close,
                               "{\"id\":\"P1\",\"status\":\"closed\",\"reason\":\"Completed\"}");
    assert_int_equal(ack->revision, 2);
    assert_int_equal(f->pubs.n, 1);
    ack = s_ack(f, TAM_MSG_registry_project_close,
                "{\"id\":\"P2\",\"status\":\"cancelled\",\"reason\":\"No funding\"}");
    assert_int_equal(ack->revision, 2);

    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P1\"}"), 0);
    tam_project_rec_t *r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->project->status, TAM_E_project_status_closed);
    assert_string_equal(r->reason, "Completed");

    /* closed and cancelled projects no longer change; nothing is deleted */
    assert_refused(f, TAM_MSG_registry_project_update, PROJ("P1", NOR100, "active", ""), TAM_ESTATE,
                   "id", "closed");
    assert_refused(f, TAM_MSG_registry_project_close, "{\"id\":\"P2\",\"status\":\"closed\",\"reason\":\"x\"}",
                   TAM_ESTATE, "id", "already cancelled");
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"receipt\",\"amount\":5}",
                   TAM_ESTATE, "project", "only adjustments");
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P2\",\"kind\":\"adjustment\",\"amount\":5}",
                   TAM_ESTATE, "project", "cancelled");
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P2\",\"revision\":1}"), 0);
    r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->project->status, TAM_E_project_status_pipeline);
    assert_null(r->reason);
}

/* ---- ledger ------------------------------------------------------------------------ */

static void test_ledger(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P1", NOR100, "active", ""));
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P2", NOR100, "active", ""));

    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P1\",\"kind\":\"pledge\",\"amount\":1000000,"
                            "\"date\":\"2026-10-01\",\"note\":\"agreement\",\"id\":0}"),
                     0);
    tam_ledger_ack_t *la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->id, 1);
    assert_int_equal(la->pledged, 1000000);
    assert_int_equal(la->received, 0);
    assert_int_equal(f->pubs.n, 1);
    assert_string_equal(f->pubs.v[0].topic, "project/P1");

    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P2\",\"kind\":\"receipt\",\"amount\":5}"), 0);
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P1\",\"kind\":\"receipt\",\"amount\":400000}"), 0);
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P1\",\"kind\":\"adjustment\",\"amount\":-50000,\"note\":\"\"}"), 0);
    la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->id, 4);
    assert_int_equal(la->pledged, 1000000);
    assert_int_equal(la->received, 350000);

    /* the record carries the totals; each entry is a revision */
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P1\"}"), 0);
    tam_project_rec_t *r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->pledged, 1000000);
    assert_int_equal(r->received, 350000);
    assert_int_equal(r->revision, 4);
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P1\",\"revision\":3}"), 0);
    r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->received, 400000);

    /* the ledger of P1 only, oldest first, dated (default: today) */
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger, "{\"id\":\"P1\"}"), 0);
    tam_ledger_list_t *l = s_ans(f, TAM_MSG_registry_ledger);
    assert_int_equal(l->items.n, 3);
    assert_int_equal(l->items.v[0].id, 1);
    assert_int_equal(l->items.v[0].date, 20261001);
    assert_string_equal(l->items.v[0].note, "agreement");
    assert_int_equal(l->items.v[1].id, 3);
    assert_int_equal(l->items.v[1].kind, TAM_E_ledger_kind_receipt);
    assert_int_equal(l->items.v[1].date, 20261127);
    assert_int_equal(l->items.v[2].amount, -50000);
    assert_null(l->items.v[2].note);

    /* refusals */
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"adjustment\",\"amount\":-350001}",
                   TAM_ECONFLICT, "amount", "below 0");
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"pledge\",\"amount\":-1}",
                   TAM_EINVAL, "amount", "positive");
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"receipt\",\"amount\":0}",
                   TAM_EINVAL, "amount", "positive");
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"adjustment\",\"amount\":0}",
                   TAM_EINVAL, "amount", "zero");
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P9\",\"kind\":\"receipt\",\"amount\":1}",
                   TAM_ENOTFOUND, "project", "no project");
    assert_refused(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"receipt\",\"amount\":1,\"date\":\"2026-02-30\"}",
                   TAM_EINVAL, "date", NULL);
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger, "{\"id\":\"P9\"}"), TAM_ENOTFOUND);
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger, "{\"id\":\"P1\",\"revision\":2}"), TAM_EINVAL);
    assert_problem(&f->err, "revision", "no revisions");

    /* an update keeps the totals */
    s_ack(f, TAM_MSG_registry_project_update, PROJ("P1", NOR_SWE, "active", ""));
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P1\"}"), 0);
    r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->received, 350000);
    assert_int_equal(r->revision, 5);

    /* closed: a refund as a negative adjustment is still recorded */
    s_ack(f, TAM_MSG_registry_project_close, "{\"id\":\"P1\",\"status\":\"closed\",\"reason\":\"done\"}");
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P1\",\"kind\":\"adjustment\",\"amount\":-350000,\"note\":\"refund\"}"), 0);
    la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->received, 0);
}

/* A receipt that takes received above the pledged total or the budget
 * (2,850,000) is stored, with warnings in the answer and the record; they
 * are recomputed at every change. */
static void test_ledger_warnings(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P3", NOR100, "active", ""));
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P3\",\"kind\":\"pledge\",\"amount\":1000000}"), 0);
    tam_ledger_ack_t *la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->warnings.n, 0);
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P3\",\"kind\":\"receipt\",\"amount\":1000001}"), 0);
    la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->received, 1000001);
    assert_int_equal(la->warnings.n, 1);
    assert_non_null(strstr(la->warnings.v[0], "above the pledged total 1,000,000 USD"));
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P3\",\"kind\":\"receipt\",\"amount\":2000000}"), 0);
    la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->warnings.n, 2);
    assert_non_null(strstr(la->warnings.v[1], "above the budget 2,850,000 USD"));
    /* the record says so too (project show prints it) */
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P3\"}"), 0);
    tam_project_rec_t *r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->received, 3000001);
    assert_int_equal(r->warnings.n, 2);
    /* a pledge clears the first; a refund the second */
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P3\",\"kind\":\"pledge\",\"amount\":2500000}"), 0);
    la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->warnings.n, 1);
    assert_non_null(strstr(la->warnings.v[0], "budget"));
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add,
                            "{\"project\":\"P3\",\"kind\":\"adjustment\",\"amount\":-200000}"), 0);
    la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->warnings.n, 0);
    assert_int_equal(s_call(f, TAM_MSG_registry_project_get, "{\"id\":\"P3\"}"), 0);
    r = s_ans(f, TAM_MSG_registry_project_get);
    assert_int_equal(r->warnings.n, 0);
}

/* A put that fails half-way through a request fails the whole transaction:
 * the store keeps nothing of it. */
static void test_put_failure(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P1", NOR100, "active", ""));
    s_digest_t before = s_digest(f);
    g_put_in = 3; /* counter and ledger entry are stored, the project record fails */
    g_put_rc = EIO;
    int rc = s_call(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"receipt\",\"amount\":10}");
    assert_true(rc < 0);
    assert_int_equal(f->err.code, 0);
    s_digest_t after = s_digest(f);
    assert_true(before.h == after.h && before.n == after.n);
    /* a full map half-way: the store grows it and runs the request again from
     * the start; it is applied once (entry 1, one record to publish) */
    g_put_in = 3;
    g_put_rc = MDB_MAP_FULL;
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger_add, "{\"project\":\"P1\",\"kind\":\"receipt\",\"amount\":10}"), 0);
    assert_int_equal(tam_store_grow_count(f->store), 1);
    tam_ledger_ack_t *la = s_ans(f, TAM_MSG_registry_ledger_add);
    assert_int_equal(la->id, 1);
    assert_int_equal(la->received, 10);
    assert_int_equal(f->pubs.n, 1);
    assert_int_equal(s_call(f, TAM_MSG_registry_ledger, "{\"id\":\"P1\"}"), 0);
    assert_int_equal(((tam_ledger_list_t *)s_ans(f, TAM_MSG_registry_ledger))->items.n, 1);
}

/* ---- context ------------------------------------------------------------------------- */

#define CTX1 "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"MINUSCA\",\"priorities\":[\"A-SMR\"],\"valid_from\":\"2026-01-01\"}],\"note\":\"v1\",\"version\":0}"
#define CTX2 "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"MINUSCA\",\"priorities\":[\"A-SMR\"],\"valid_from\":\"2026-01-01\"},{\"country\":\"SSD\",\"operation\":\"UNMISS\",\"valid_from\":\"2026-03-01\"}]}"

static void test_context(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_call(f, TAM_MSG_registry_context_get, "{\"id\":\"context\"}"), TAM_ENOTFOUND);
    tam_put_ack_t *ack = s_ack(f, TAM_MSG_registry_context_set, CTX1);
    assert_string_equal(ack->id, "context");
    assert_int_equal(ack->revision, 1);
    assert_int_equal(f->pubs.n, 1);
    assert_string_equal(f->pubs.v[0].topic, "context");
    /* the same again: still version 1 */
    f->reg.today = 20261201;
    ack = s_ack(f, TAM_MSG_registry_context_set, CTX1);
    assert_int_equal(ack->revision, 1);
    assert_int_equal(f->pubs.n, 0);
    ack = s_ack(f, TAM_MSG_registry_context_set, CTX2);
    assert_int_equal(ack->revision, 2);

    assert_int_equal(s_call(f, TAM_MSG_registry_context_get, "{\"id\":\"context\"}"), 0);
    tam_context_t *c = s_ans(f, TAM_MSG_registry_context_get);
    assert_int_equal(c->version, 2);
    assert_int_equal(c->set_on, 20261201);
    assert_int_equal(c->missions.n, 2);
    assert_null(c->note);
    assert_int_equal(s_call(f, TAM_MSG_registry_context_get, "{\"id\":\"context\",\"revision\":1}"), 0);
    c = s_ans(f, TAM_MSG_registry_context_get);
    assert_int_equal(c->version, 1);
    assert_int_equal(c->set_on, 20261127);
    assert_string_equal(c->note, "v1");
    assert_int_equal(s_call(f, TAM_MSG_registry_context_get, "{\"id\":\"context\",\"revision\":3}"), TAM_ENOTFOUND);
    assert_problem(&f->err, "revision", NULL);
    assert_int_equal(s_call(f, TAM_MSG_registry_context_get, "{\"id\":\"ctx\"}"), TAM_ENOTFOUND);
    assert_problem(&f->err, "id", "\"context\"");

    assert_refused(f, TAM_MSG_registry_context_set,
                   "{\"missions\":[{\"country\":\"XXX\",\"operation\":\"M\",\"valid_from\":\"2026-01-01\"}]}",
                   TAM_EUNKNOWN, "missions[0].country", "unknown country");
    assert_refused(f, TAM_MSG_registry_context_set,
                   "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"M\",\"valid_from\":\"2026-01-01\"},"
                   "{\"country\":\"CAF\",\"operation\":\"M\",\"valid_from\":\"2026-01-01\"}]}",
                   TAM_EINVAL, "missions[1].country", "two entries");
    assert_refused(f, TAM_MSG_registry_context_set,
                   "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"M\",\"priorities\":[\"A\"],\"valid_from\":\"2026-01-01\"}]}",
                   TAM_EUNKNOWN, "missions[0].priorities[0]", "unknown standard");
    /* an empty context is a valid version: no missions any more */
    ack = s_ack(f, TAM_MSG_registry_context_set, "{\"missions\":[]}");
    assert_int_equal(ack->revision, 3);
}

/* ---- listings and snapshot -------------------------------------------------------------- */

static void test_projects_query(void **state)
{
    fixture_t *f = *state;
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("A1", NOR100, "active", ""));
    s_ack(f, TAM_MSG_registry_project_add, PROJ("A2", NOR_SWE, "pipeline", ""));
    s_ack(f, TAM_MSG_registry_project_add, PROJ("A3", NOR_SWE, "active", ""));
    s_ack(f, TAM_MSG_registry_project_add, PROJ("A4", "[{\"donor\":\"EU\",\"percent\":100}]", "active", ""));
    s_ack(f, TAM_MSG_registry_project_close, "{\"id\":\"A1\",\"status\":\"closed\",\"reason\":\"x\"}");

    struct {
        const char *q;
        const char *ids;
        const char *next;
    } cases[] = {
        {"{}", "A1 A2 A3 A4", NULL},
        {"{\"status\":\"active\",\"has_status\":true}", "A3 A4", NULL},
        {"{\"status\":\"active\"}", "A1 A2 A3 A4", NULL}, /* has_status false: no filter */
        {"{\"status\":\"closed\",\"has_status\":true}", "A1", NULL},
        {"{\"donor\":\"SWE\"}", "A2 A3", NULL},
        {"{\"donor\":\"SWE\",\"status\":\"active\",\"has_status\":true}", "A3", NULL},
        {"{\"donor\":\"DNK\"}", "", NULL},
        {"{\"limit\":2}", "A1 A2", "A2"},
        {"{\"limit\":2,\"after\":\"A2\"}", "A3 A4", NULL},
        {"{\"limit\":1,\"donor\":\"NOR\"}", "A1", "A1"},
        {"{\"limit\":1,\"donor\":\"NOR\",\"after\":\"A1\"}", "A2", "A2"},
        {"{\"limit\":1,\"donor\":\"NOR\",\"after\":\"A2\"}", "A3", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(s_call(f, TAM_MSG_registry_projects, cases[i].q), 0);
        tam_project_list_t *l = s_ans(f, TAM_MSG_registry_projects);
        char ids[64] = "";
        for (uint32_t k = 0; k < l->items.n; k++)
            snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s", k ? " " : "",
                     l->items.v[k].project->id);
        if (strcmp(ids, cases[i].ids) != 0)
            fail_msg("query %s gave '%s', not '%s'", cases[i].q, ids, cases[i].ids);
        if (cases[i].next)
            assert_string_equal(l->next, cases[i].next);
        else
            assert_null(l->next);
    }
    assert_int_equal(s_call(f, TAM_MSG_registry_projects, "{\"limit\":1001}"), TAM_ERANGE);
    assert_problem(&f->err, "limit", NULL);
}

typedef struct {
    char topics[32][48];
    size_t n;
    int fail_at; /* emit returns TAM_EUNAVAIL at this record (0: never) */
} s_snap_seen_t;

static int s_emit(void *ctx, const char *topic, size_t topic_len, const void *body, size_t len)
{
    s_snap_seen_t *s = ctx;
    (void)body;
    assert_true(len > 0);
    if (s->fail_at && (int)s->n + 1 == s->fail_at)
        return TAM_EUNAVAIL;
    assert_true(s->n < 32);
    snprintf(s->topics[s->n++], sizeof s->topics[0], "%.*s", (int)topic_len, topic);
    return 0;
}

typedef struct {
    const char *prefix;
    s_snap_seen_t *seen;
} s_snap_arg_t;

static int s_snap_fn(tam_txn_t *txn, void *arg)
{
    s_snap_arg_t *a = arg;
    return tam_registry_snapshot(txn, a->prefix, s_emit, a->seen);
}

static char *s_snap(fixture_t *f, const char *prefix, int fail_at, int *rc)
{
    static char out[512];
    s_snap_seen_t seen = {.fail_at = fail_at};
    s_snap_arg_t a = {prefix, &seen};
    *rc = tam_store_read(f->store, s_snap_fn, &a);
    out[0] = 0;
    for (size_t i = 0; i < seen.n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? " " : "", seen.topics[i]);
    return out;
}

static int s_counts_fn(tam_txn_t *txn, void *arg)
{
    return tam_registry_counts(txn, arg);
}

static void test_snapshot(void **state)
{
    fixture_t *f = *state;
    int rc;
    assert_string_equal(s_snap(f, "", 0, &rc), "");
    assert_int_equal(rc, 0);
    s_add_donors(f);
    s_ack(f, TAM_MSG_registry_project_add, PROJ("P1", NOR100, "active", ""));
    s_ack(f, TAM_MSG_registry_project_add, PROJ("Q1", NOR100, "active", ""));
    s_ack(f, TAM_MSG_registry_context_set, CTX1);
    s_ack(f, TAM_MSG_registry_context_set, CTX2);
    assert_string_equal(s_snap(f, "", 0, &rc), "donor/EU donor/NOR donor/SWE project/P1 project/Q1 context");
    assert_string_equal(s_snap(f, "project/", 0, &rc), "project/P1 project/Q1");
    assert_string_equal(s_snap(f, "project/Q", 0, &rc), "project/Q1");
    assert_string_equal(s_snap(f, "pro", 0, &rc), "project/P1 project/Q1");
    assert_string_equal(s_snap(f, "donor/N", 0, &rc), "donor/NOR");
    assert_string_equal(s_snap(f, "context", 0, &rc), "context");
    assert_string_equal(s_snap(f, "contextX", 0, &rc), "");
    assert_string_equal(s_snap(f, "x", 0, &rc), "");
    assert_int_equal(rc, 0);
    /* an emit error stops the snapshot with that error */
    s_snap(f, "", 2, &rc);
    assert_int_equal(rc, TAM_EUNAVAIL);

    tam_registry_counts_t n;
    assert_int_equal(tam_store_read(f->store, s_counts_fn, &n), 0);
    assert_int_equal(n.donors, 3);
    assert_int_equal(n.projects, 2);
    assert_int_equal(n.contexts, 2);
    assert_int_equal(n.ledger, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_donor_revisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_donor_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_donor_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_add_update_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_feed_body_is_stored_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_projects_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
    };
    return cmocka_run_group_tests_name("registry_store", tests, s_group_setup, s_group_teardown);
}

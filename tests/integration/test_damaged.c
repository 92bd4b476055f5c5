/* test_damaged.c — issue 17: one bad record in a listing is reported as a
 * damaged record with its key, and the rest of the listing is still
 * answered. The real services (curve mode) store donors, projects, ledger
 * entries and replies; they are stopped, one stored value of each listing's
 * database is overwritten through LMDB itself (the file stays a sound LMDB
 * file, so the start-up checks pass it), and after a restart every listing:
 *   - answers the other records;
 *   - names the damaged key under "damaged", which tamctl prints in its
 *     warning "... INCOMPLETE ... Damaged keys: KEY", and exits 65, not 0;
 *   - logs the key, never the stored value's contents.
 * Fails when a listing is cut short or refused whole (the behaviour before),
 * or presents the partial listing as complete. */
#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>
#include "services_harness.h"

/* A msgpack map {"name": "SECRET-TEXT-42", "id": 7}: no listing's schema
 * takes it (required fields missing, id of the wrong type), and its text
 * must never reach a log. */
static const uint8_t g_bad[] = {0x82, 0xa4, 'n', 'a', 'm', 'e', 0xae, 'S', 'E', 'C', 'R', 'E', 'T',
                                '-', 'T', 'E', 'X', 'T', '-', '4', '2', 0xa2, 'i', 'd', 0x07};
/* A map that announces 5 entries and ends: truncated. */
static const uint8_t g_cut[] = {0x85, 0xa2, 'i', 'd'};

static const char *g_donors =
    "[{\"id\":\"NOR\",\"name\":\"Norway\",\"kind\":\"government\"},\n"
    " {\"id\":\"SWE\",\"name\":\"Sweden\",\"kind\":\"government\"},\n"
    " {\"id\":\"UNPBF\",\"name\":\"Peacebuilding Fund\",\"kind\":\"multilateral\"}]\n";

#define PROJ(id, donor)                                                                          \
    "{\"id\":\"" id "\",\"title\":\"Prison reform\",\"donors\":[{\"donor\":\"" donor              \
    "\",\"percent\":100}],\"budget\":2850000,\"budget_status\":\"committed\",\"start\":"          \
    "\"2026-10-01\",\"end\":\"2028-08-03\",\"status\":\"active\",\"dac\":\"15137\",\"earmarks\":" \
    "{\"categories\":[\"A\"]}}"

static const char *g_projects = "[" PROJ("AFR-PRISON", "NOR") ",\n" PROJ("PC-JUDIC", "UNPBF") "]\n";

static const char *g_ledger =
    "[{\"project\":\"AFR-PRISON\",\"kind\":\"pledge\",\"amount\":2850000,\"date\":\"2026-10-01\",\"id\":0},\n"
    " {\"project\":\"AFR-PRISON\",\"kind\":\"receipt\",\"amount\":340000,\"date\":\"2026-10-02\",\"id\":0}]\n";

static bool s_has(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* Runs tamctl with the arguments (NULL-terminated); *out and *err get its
 * output (freed first). Returns the exit status. */
static int s_ctl(h_t *h, char **out, char **err, ...)
{
    const char *args[16];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    for (const char *a; n < 15 && (a = va_arg(ap, const char *)) != NULL;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    free(*out);
    free(*err);
    *out = *err = NULL;
    return h_tamctl_v(h, NULL, out, err, n, args);
}

/* Overwrites one stored value of database db in service svc's store (the
 * service stopped) with val, through LMDB. key NULL: the first key of db;
 * else the first key >= key (klen bytes). The key written is copied to
 * got (klen_got bytes). */
static void s_damage(h_t *h, const char *svc, const char *db, const void *key, size_t klen,
                     const void *val, size_t vlen, uint8_t *got, size_t *got_len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/data/%s", h->dir, svc);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 64u << 20), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
    MDB_val k = {klen, (void *)key}, v;
    assert_int_equal(mdb_cursor_get(c, &k, &v, key ? MDB_SET_RANGE : MDB_FIRST), 0);
    assert_true(k.mv_size <= 64);
    memcpy(got, k.mv_data, k.mv_size);
    *got_len = k.mv_size;
    mdb_cursor_close(c);
    MDB_val nv = {vlen, (void *)val};
    MDB_val kk = {*got_len, got};
    assert_int_equal(mdb_put(txn, dbi, &kk, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static uint64_t s_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The log of service s, malloc'd. */
static char *s_log(h_t *h, const char *svc)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s.log", h->dir, svc);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc(1, (size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return b;
}

static void test_damaged_listings(void **state)
{
    h_t *h = *state;
    char *out = NULL, *err = NULL, p[700];
    assert_int_equal(h_start(h, S_REGISTRY, 20000), 0);
    assert_int_equal(h_start(h, S_INGEST, 20000), 0);
    assert_int_equal(s_ctl(h, &out, &err, "donor", "add", h_write(h, "d.json", g_donors, p, sizeof p), NULL), 0);
    assert_int_equal(s_ctl(h, &out, &err, "project", "add", h_write(h, "p.json", g_projects, p, sizeof p), NULL), 0);
    assert_int_equal(s_ctl(h, &out, &err, "ledger", "import", h_write(h, "l.json", g_ledger, p, sizeof p), NULL), 0);
    char r1[700], r2[700], r3[700];
    snprintf(r1, sizeof r1, "%s/config/samples/demo/replies/0001-CAF-A.json", h->src);
    snprintf(r2, sizeof r2, "%s/config/samples/demo/replies/0002-COD-D.json", h->src);
    snprintf(r3, sizeof r3, "%s/config/samples/demo/replies/0003-SSD-C.json", h->src);
    assert_int_equal(s_ctl(h, &out, &err, "submit", r1, r2, r3, NULL), 0);
    /* Sound: every listing exits 0 and says nothing of damage. */
    assert_int_equal(s_ctl(h, &out, &err, "donor", "list", NULL), 0);
    assert_false(s_has(err, "INCOMPLETE"));
    assert_int_equal(s_ctl(h, &out, &err, "--json", "replies", NULL), 0);
    assert_false(s_has(err, "INCOMPLETE"));
    assert_int_equal(h_stop(h, S_REGISTRY, SIGTERM), 0);
    assert_int_equal(h_stop(h, S_INGEST, SIGTERM), 0);

    uint8_t k[64];
    size_t kl;
    s_damage(h, "registry", "donors", "SWE", 3, g_bad, sizeof g_bad, k, &kl);
    assert_memory_equal(k, "SWE", 3);
    s_damage(h, "registry", "projects", "PC-JUDIC", 8, g_cut, sizeof g_cut, k, &kl);
    s_damage(h, "registry", "ledger", "AFR-PRISON", 11, g_bad, sizeof g_bad, k, &kl);
    assert_int_equal(kl, 19);
    char lkey[64];
    snprintf(lkey, sizeof lkey, "AFR-PRISON/%llu", (unsigned long long)s_be64(k + 11));
    s_damage(h, "ingest", "needs", NULL, 0, g_bad, sizeof g_bad, k, &kl);
    char nkey[32];
    snprintf(nkey, sizeof nkey, "%llu", (unsigned long long)s_be64(k));
    s_damage(h, "ingest", "replies", NULL, 0, g_cut, sizeof g_cut, k, &kl);
    char rkey[32];
    snprintf(rkey, sizeof rkey, "%llu", (unsigned long long)s_be64(k));

    assert_int_equal(h_start(h, S_REGISTRY, 20000), 0);
    assert_int_equal(h_start(h, S_INGEST, 20000), 0);

    /* donors: NOR and UNPBF answered, SWE named, exit 65 */
    assert_int_equal(s_ctl(h, &out, &err, "donor", "list", NULL), 65);
    assert_true(s_has(out, "NOR") && s_has(out, "UNPBF"));
    assert_false(s_has(out, "Sweden"));
    assert_true(s_has(err, "INCOMPLETE") && s_has(err, " SWE"));
    assert_int_equal(s_ctl(h, &out, &err, "--json", "donor", "list", NULL), 65);
    assert_true(s_has(out, "\"UNPBF\"") && !s_has(out, "Sweden"));
    assert_true(s_has(err, " SWE"));

    /* projects: AFR-PRISON answered, PC-JUDIC named */
    assert_int_equal(s_ctl(h, &out, &err, "project", "list", NULL), 65);
    assert_true(s_has(out, "AFR-PRISON"));
    assert_true(s_has(err, " PC-JUDIC"));

    /* ledger: the receipt answered, the pledge named by project and seq */
    assert_int_equal(s_ctl(h, &out, &err, "--json", "ledger", "list", "AFR-PRISON", NULL), 65);
    assert_true(s_has(out, "340000"));
    assert_false(s_has(out, "2850000"));
    assert_true(s_has(err, lkey));

    /* needs and replies: the others answered, the damaged ids named */
    assert_int_equal(s_ctl(h, &out, &err, "--json", "needs", NULL), 65);
    assert_true(s_has(out, "\"country\""));
    char q[64];
    snprintf(q, sizeof q, " %s", nkey);
    assert_true(s_has(err, "INCOMPLETE") && s_has(err, q));
    assert_int_equal(s_ctl(h, &out, &err, "--json", "replies", NULL), 65);
    snprintf(q, sizeof q, " %s", rkey);
    assert_true(s_has(err, q));
    assert_true(s_has(out, "\"respondent\""));

    /* The logs name the keys, never the stored contents. */
    char *log = s_log(h, "registry");
    assert_true(s_has(log, "SWE") && s_has(log, "does not decode"));
    assert_false(s_has(log, "SECRET-TEXT"));
    free(log);
    log = s_log(h, "ingest");
    assert_true(s_has(log, nkey) && s_has(log, "does not decode"));
    assert_false(s_has(log, "SECRET-TEXT"));
    free(log);
    free(out);
    free(err);
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_damaged", NULL);
    if (!h)
        return -1;
    *state = h;
    return 0;
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_damaged_listings, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

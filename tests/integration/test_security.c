/* test_security.c — the role matrix against the four real services in curve
 * mode (services_harness.h + curve_harness.h): every (role, message type)
 * cell of services/common/access.c is sent by a key of that role. An allowed
 * cell must not be refused for its role; a refused one must be answered
 * "denied" naming the principal's role, and must store nothing: the LMDB
 * environment of the service is dumped (every named database, every key and
 * value) before and after, and must be byte for byte the same. Writes carry
 * real bodies (the demo samples), so that an allowed write does store — the
 * control that shows the dump can tell.
 * Also: a respondent key submitting for another State is refused naming the
 * field respondent.id; it reads only its own replies; tamctl --as. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <lmdb.h>
#include <msgpack.h>
#include <zmq.h>

#include <cmocka.h>

#include "tam/access.h"
#include "tam/codec.h"
#include "services_harness.h"

static const struct {
    const char *key;
    uint32_t role;
} g_roles[] = {
    {"respondent-KEN", TAM_ROLE_RESPONDENT}, {"manager", TAM_ROLE_MANAGER},
    {"donor_liaison", TAM_ROLE_DONOR_LIAISON}, {"planner", TAM_ROLE_PLANNER},
    {"viewer", TAM_ROLE_VIEWER}, {"match", TAM_ROLE_SERVICE}, {"admin", TAM_ROLE_ADMIN},
};
#define N_ROLES (sizeof g_roles / sizeof g_roles[0])

/* ---- the store dump: every named database of an environment, FNV-1a 64 ---- */

static void fnv(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL;
}

static uint64_t s_dump(h_t *h, const char *service)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/data/%s", h->dir, service);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL, *c2 = NULL;
    MDB_val k, v;
    uint64_t d = 0xcbf29ce484222325ULL;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    MDB_dbi main_db, sub;
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main_db), 0);
    assert_int_equal(mdb_cursor_open(txn, main_db, &cur), 0);
    size_t dbs = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
        fnv(&d, name, strlen(name) + 1);
        if (mdb_dbi_open(txn, name, 0, &sub) != 0)
            continue;
        dbs++;
        assert_int_equal(mdb_cursor_open(txn, sub, &c2), 0);
        MDB_val k2, v2;
        for (int r2 = mdb_cursor_get(c2, &k2, &v2, MDB_FIRST); r2 == 0;
             r2 = mdb_cursor_get(c2, &k2, &v2, MDB_NEXT)) {
            fnv(&d, k2.mv_data, k2.mv_size);
            fnv(&d, &k2.mv_size, sizeof k2.mv_size);
            fnv(&d, v2.mv_data, v2.mv_size);
            fnv(&d, &v2.mv_size, sizeof v2.mv_size);
        }
        mdb_cursor_close(c2);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    assert_true(dbs > 0);
    return d;
}

/* ---- bodies ------------------------------------------------------------------ */

/* The msgpack of a JSON text (one value). */
static void s_pack_json(const char *json, msgpack_sbuffer *sb)
{
    tam_codec_err_t e;
    msgpack_sbuffer_init(sb);
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), sb, &e), 0);
}

/* The first element of a sample file holding an array (or the whole file). */
static void s_sample(h_t *h, const char *file, msgpack_sbuffer *sb)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config/samples/demo/%s", h->src, file);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    json_t *one = json_is_array(j) ? json_array_get(j, 0) : j;
    char *text = json_dumps(one, JSON_COMPACT);
    s_pack_json(text, sb);
    free(text);
    json_decref(j);
}

/* The body a row is tested with: a real one for writes, {} for reads. */
static void s_body(h_t *h, const char *type, const char *sub, msgpack_sbuffer *sb)
{
    if (strcmp(type, "ingest.submit") == 0)
        s_sample(h, "replies/0007-KEN-C.json", sb);
    else if (strcmp(type, "registry.donor_put") == 0)
        s_sample(h, "donors.json", sb);
    else if (strcmp(type, "registry.project_add") == 0 || strcmp(type, "registry.project_update") == 0)
        s_sample(h, "projects.json", sb);
    else if (strcmp(type, "registry.ledger_add") == 0)
        s_sample(h, "ledger.json", sb);
    else if (strcmp(type, "registry.context_set") == 0)
        s_sample(h, "context.json", sb);
    else if (strcmp(type, "registry.project_close") == 0)
        s_pack_json("{\"id\":\"AFR-PRISON\",\"status\":\"cancelled\",\"reason\":\"test\"}", sb);
    else if (sub) {
        char json[200];
        snprintf(json, sizeof json, "{\"proposal\":\"1/AFR-PRISON\",\"act\":\"%s\",\"reason\":\"r\"}",
                 sub);
        s_pack_json(json, sb);
    } else
        s_pack_json("{}", sb);
}

/* The service a type goes to, and its store ("" for tam-match). */
static const char *s_service(const char *type)
{
    static const char *const owners[] = {"ingest", "registry", "pipeline", "match"};
    for (size_t i = 0; i < 4; i++)
        if (strncmp(type, owners[i], strlen(owners[i])) == 0 && type[strlen(owners[i])] == '.')
            return owners[i];
    return "ingest"; /* sys.ping, service.stats */
}

/* ---- the tests ------------------------------------------------------------------- */

static int group_setup(void **state)
{
    h_t *h = h_new("test_security", NULL);
    if (!h)
        return -1;
    *state = h;
    for (int s = 0; s < S_N; s++)
        if (!h->have[s] || s_start(h, s) != 0)
            return -1;
    return 0;
}

static int group_teardown(void **state)
{
    h_free(*state);
    return 0;
}

static void t_every_cell_of_the_matrix(void **state)
{
    h_t *h = *state;
    size_t nrules;
    const tam_access_rule_t *rules = tam_access_rules(&nrules);
    size_t refused = 0, allowed = 0, stored = 0;
    for (size_t r = 0; r < N_ROLES; r++) {
        void *z = curve_context(h->cfg, g_roles[r].key);
        assert_non_null(z);
        for (size_t i = 0; i < nrules; i++) {
            char type[80];
            const char *slash = strchr(rules[i].type, '/');
            snprintf(type, sizeof type, "%.*s",
                     (int)(slash ? (size_t)(slash - rules[i].type) : strlen(rules[i].type)),
                     rules[i].type);
            const char *sub = slash ? slash + 1 : NULL, *svc = s_service(type);
            const tam_message_t *m = tam_message_find(type);
            bool writes = m && m->writes, has_store = strcmp(svc, "match") != 0;
            bool may = g_roles[r].role == TAM_ROLE_ADMIN || (rules[i].roles & g_roles[r].role);
            msgpack_sbuffer body;
            s_body(h, type, sub, &body);
            char ep[200];
            snprintf(ep, sizeof ep, "ipc://%s/run/%s.req", h->dir, svc);
            uint64_t before = writes && has_store ? s_dump(h, svc) : 0;
            tam_rpc_client_t *c = NULL;
            tam_rpc_answer_t ans = {0};
            assert_int_equal(tam_rpc_client_new(&c, z, ep, 5000, 1), 0);
            int rc = tam_rpc_call(c, type, body.data, body.size, &ans);
            if (rc)
                fail_msg("%s as %s: no answer (%s)", rules[i].type, g_roles[r].key, tam_strerror(rc));
            bool denied = ans.status == TAM_RPC_ERROR && ans.error.code == TAM_EDENIED;
            if (may && denied && !(g_roles[r].role == TAM_ROLE_RESPONDENT))
                fail_msg("%s as %s: refused, but the matrix allows it: %s", rules[i].type,
                         g_roles[r].key, ans.error.message);
            if (may && denied) {
                /* a respondent's own-id check, not the matrix: it names a field */
                assert_true(ans.error.field[0] != 0);
                assert_null(strstr(ans.error.message, "it needs the role"));
            }
            if (!may) {
                char want[80];
                snprintf(want, sizeof want, "(role %s)", tam_role_name(g_roles[r].role));
                if (!denied)
                    fail_msg("%s as %s: not refused (status %d)", rules[i].type, g_roles[r].key,
                             ans.status);
                if (!strstr(ans.error.message, want))
                    fail_msg("%s as %s: the refusal does not name the role: %s", rules[i].type,
                             g_roles[r].key, ans.error.message);
                if (writes && has_store && s_dump(h, svc) != before)
                    fail_msg("%s as %s: refused, but the store changed", rules[i].type,
                             g_roles[r].key);
                refused++;
            } else {
                allowed++;
                if (writes && has_store && ans.status == TAM_RPC_OK && s_dump(h, svc) != before)
                    stored++; /* the control: the dump sees a write */
            }
            tam_rpc_answer_clear(&ans);
            tam_rpc_client_destroy(&c);
            msgpack_sbuffer_destroy(&body);
        }
        curve_context_end(z);
    }
    fprintf(stderr, "matrix: %zu cells refused, %zu allowed, %zu allowed writes stored\n",
            refused, allowed, stored);
    assert_true(refused > 50);
    assert_true(stored >= 3);
}

static void t_respondent_only_for_itself(void **state)
{
    h_t *h = *state;
    char out[256], err[256];
    snprintf(out, sizeof out, "%s/out.txt", h->dir);
    snprintf(err, sizeof err, "%s/err.txt", h->dir);
    char caf[512], ken[512];
    snprintf(caf, sizeof caf, "%s/config/samples/demo/replies/0001-CAF-A.json", h->src);
    snprintf(ken, sizeof ken, "%s/config/samples/demo/replies/0007-KEN-C.json", h->src);
    uint64_t before = s_dump(h, "ingest");
    int ex = s_tamctl(h, out, err, "--as", "respondent-KEN", "submit", caf, NULL);
    char *e = s_slurp(err);
    assert_int_not_equal(ex, 0);
    if (!strstr(e, "respondent.id") || !strstr(e, "KEN"))
        fail_msg("the refusal does not name the field respondent.id: %s", e);
    free(e);
    assert_true(s_dump(h, "ingest") == before);
    assert_int_equal(s_tamctl(h, out, err, "--as", "respondent-KEN", "submit", ken, NULL), 0);
    assert_true(s_dump(h, "ingest") != before);
    /* and it reads its own replies only */
    assert_int_equal(s_tamctl(h, out, err, "-q", "submit", caf, NULL), 0); /* as admin */
    assert_int_equal(s_tamctl(h, out, err, "--as", "respondent-KEN", "replies", NULL), 0);
    char *o = s_slurp(out);
    assert_non_null(strstr(o, "KEN"));
    assert_null(strstr(o, "CAF"));
    free(o);
    assert_int_not_equal(s_tamctl(h, out, err, "--as", "respondent-KEN", "replies", "--respondent",
                                  "CAF", NULL), 0);
    e = s_slurp(err);
    assert_non_null(strstr(e, "respondent"));
    free(e);
    assert_int_equal(s_tamctl(h, out, err, "--as", "viewer", "replies", NULL), 0);
    o = s_slurp(out);
    assert_non_null(strstr(o, "CAF"));
    free(o);
    /* a refusal naming no field reads "service: message", the role named */
    assert_int_equal(s_tamctl(h, out, err, "--as", "viewer", "endorse", "1/NONE", "--reason", "x",
                              NULL), 77);
    e = s_slurp(err);
    assert_non_null(strstr(e, "pipeline: principal 'viewer' (role viewer) may not send pipeline.act"));
    free(e);
}

/* One call as key on z; the answer's body as compact JSON (malloc'd). */
static char *s_call_json(h_t *h, void *z, const char *type, const char *json)
{
    char ep[200];
    snprintf(ep, sizeof ep, "ipc://%s/run/%s.req", h->dir, s_service(type));
    msgpack_sbuffer body;
    s_pack_json(json, &body);
    tam_rpc_client_t *c = NULL;
    tam_rpc_answer_t ans = {0};
    assert_int_equal(tam_rpc_client_new(&c, z, ep, 5000, 1), 0);
    assert_int_equal(tam_rpc_call(c, type, body.data, body.size, &ans), 0);
    if (ans.status != TAM_RPC_OK)
        fail_msg("%s: %s: %s", type, ans.error.field, ans.error.message);
    char *out = tam_msgpack_to_json(ans.body, ans.len, JSON_COMPACT);
    tam_rpc_answer_clear(&ans);
    tam_rpc_client_destroy(&c);
    msgpack_sbuffer_destroy(&body);
    return out;
}

/* Registry revisions, ledger entries, context versions, replies and the
 * pipeline's audit record the name of the key that acted, never "local". */
static void t_records_name_the_key(void **state)
{
    h_t *h = *state;
    void *dl = curve_context(h->cfg, "donor_liaison"), *pl = curve_context(h->cfg, "planner");
    void *adm = curve_context(h->cfg, "admin");
    free(s_call_json(h, dl, "registry.donor_put", "{\"id\":\"XDN\",\"name\":\"X\",\"kind\":\"government\"}"));
    char *j = s_call_json(h, adm, "registry.donor_get", "{\"id\":\"XDN\"}");
    if (!strstr(j, "\"by\":\"donor_liaison\""))
        fail_msg("the donor revision does not name its key: %s", j);
    free(j);
    char path[512];
    snprintf(path, sizeof path, "%s/config/samples/demo/context.json", h->src);
    json_error_t je;
    json_t *cx = json_load_file(path, 0, &je);
    assert_non_null(cx);
    json_object_set_new(cx, "note", json_string("a new version, by the planner"));
    char *changed = json_dumps(cx, JSON_COMPACT);
    json_decref(cx);
    free(s_call_json(h, pl, "registry.context_set", changed));
    j = s_call_json(h, adm, "registry.context_get", "{\"id\":\"context\"}");
    if (!strstr(j, "\"by\":\"planner\""))
        fail_msg("the context version does not name its key: %s", j);
    free(j);
    free(s_call_json(h, dl, "registry.donor_put",
                     "{\"id\":\"CHE\",\"name\":\"Switzerland\",\"kind\":\"government\"}"));
    msgpack_sbuffer pb, lb;
    s_sample(h, "projects.json", &pb);
    s_sample(h, "ledger.json", &lb);
    char *pj = tam_msgpack_to_json(pb.data, pb.size, JSON_COMPACT);
    char *lj = tam_msgpack_to_json(lb.data, lb.size, JSON_COMPACT);
    free(s_call_json(h, dl, "registry.project_add", pj));
    free(s_call_json(h, dl, "registry.ledger_add", lj));
    free(pj);
    free(lj);
    msgpack_sbuffer_destroy(&pb);
    msgpack_sbuffer_destroy(&lb);
    j = s_call_json(h, adm, "registry.ledger", "{\"id\":\"AFR-PRISON\"}");
    if (!strstr(j, "\"by\":\"donor_liaison\""))
        fail_msg("the ledger entry does not name its key: %s", j);
    free(j);
    j = s_call_json(h, adm, "ingest.replies", "{\"respondent\":\"KEN\"}");
    if (!strstr(j, "\"by\":\"respondent-KEN\""))
        fail_msg("the reply does not name its key: %s", j);
    assert_null(strstr(j, "\"by\":\"local\""));
    free(j);
    free(changed);
    curve_context_end(dl);
    curve_context_end(pl);
    curve_context_end(adm);
}

static void t_tamctl_as(void **state)
{
    h_t *h = *state;
    char out[256], err[256], donors[512];
    snprintf(out, sizeof out, "%s/out.txt", h->dir);
    snprintf(err, sizeof err, "%s/err.txt", h->dir);
    snprintf(donors, sizeof donors, "%s/config/samples/demo/donors.json", h->src);
    assert_int_equal(s_tamctl(h, out, err, "--as", "viewer", "donor", "add", donors, NULL), EX_DATAERR);
    char *e = s_slurp(err);
    assert_non_null(strstr(e, "principal 'viewer' (role viewer) may not send registry.donor_put"));
    free(e);
    assert_int_equal(s_tamctl(h, out, err, "--as", "nobody", "status", NULL), EX_CONFIG);
    e = s_slurp(err);
    assert_non_null(strstr(e, "nobody.key_secret"));
    free(e);
    assert_int_equal(s_tamctl(h, out, err, "keys", "list", NULL), 0);
    char *o = s_slurp(out);
    assert_non_null(strstr(o, "respondent-KEN"));
    free(o);
}

/* tamctl keys revoke: the running services reload the store by themselves,
 * and the revoked key's established connection gets no answer from then on;
 * so does a new one. */
static void t_revoke_through_tamctl(void **state)
{
    h_t *h = *state;
    char keys[160], ep[200];
    snprintf(keys, sizeof keys, "%s/keys", h->dir);
    snprintf(ep, sizeof ep, "ipc://%s/run/registry.req", h->dir);
    assert_int_equal(curve_key(keys, "leaver", TAM_ROLE_VIEWER, NULL), 0);
    void *z = curve_context(h->cfg, "leaver");
    assert_non_null(z);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, z, ep, 300, 0), 0);
    static const uint8_t empty = 0x80;
    tam_rpc_answer_t ans = {0};
    int64_t end = s_now_ms() + 10000; /* until the services have loaded the new key */
    int rc;
    while ((rc = tam_rpc_call(c, "sys.ping", &empty, 1, &ans)) != 0 && s_now_ms() < end)
        tam_rpc_client_reconnect(c);
    assert_int_equal(rc, 0);
    assert_int_equal(ans.status, TAM_RPC_OK);
    tam_rpc_answer_clear(&ans);
    char out[256], err[256];
    snprintf(out, sizeof out, "%s/out.txt", h->dir);
    snprintf(err, sizeof err, "%s/err.txt", h->dir);
    assert_int_equal(s_tamctl(h, out, err, "keys", "revoke", "leaver", NULL), 0);
    end = s_now_ms() + 10000; /* until the store is reloaded (0.5 s) */
    while ((rc = tam_rpc_call(c, "sys.ping", &empty, 1, &ans)) == 0 && s_now_ms() < end)
        tam_rpc_answer_clear(&ans);
    assert_int_equal(rc, TAM_ETIMEOUT); /* same connection: nothing answered */
    for (int i = 0; i < 3; i++)
        assert_int_equal(tam_rpc_call(c, "sys.ping", &empty, 1, &ans), TAM_ETIMEOUT);
    tam_rpc_client_destroy(&c);
    assert_int_equal(tam_rpc_client_new(&c, z, ep, 300, 0), 0); /* a new connection */
    assert_int_not_equal(tam_rpc_call(c, "sys.ping", &empty, 1, &ans), 0);
    tam_rpc_client_destroy(&c);
    curve_context_end(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_every_cell_of_the_matrix),
        cmocka_unit_test(t_respondent_only_for_itself),
        cmocka_unit_test(t_records_name_the_key),
        cmocka_unit_test(t_tamctl_as),
        cmocka_unit_test(t_revoke_through_tamctl),
    };
    return cmocka_run_group_tests_name("security", tests, group_setup, group_teardown);
}

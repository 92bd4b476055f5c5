/* test_ingest.c — tam-ingest as a user meets it: the real service started
 * from build/bin, replies submitted through tamctl, the service restarted,
 * everything still there. Every validation rule is shown refusing a reply
 * with its FILE:FIELD error and storing nothing; resends are idempotent;
 * revisions withdraw needs on the feed; tamctl's exit codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <glob.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "services_harness.h"
#include "tam/feed.h"
#include "tam/proto.h"

/* The limits the tests rely on (the defaults are far larger). */
#define EXTRA "max_text = 150\nmax_needs_per_reply = 20\n"

static int setup(void **state)
{
    h_opts_t o = {.section[S_INGEST] = EXTRA, .tamctl = "timeout = 2s\n"};
    h_t *h = h_new_opts("test_ingest", &o);
    if (!h || h_start(h, S_INGEST, 20000) != 0) {
        h_free(h);
        return -1;
    }
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    h_t *h = *state;
    h_free(h);
    return 0;
}

/* ---- direct calls ------------------------------------------------------- */

/* Calls type with a JSON body (or raw msgpack if json is NULL) and id (NULL:
 * fresh); returns the answer (caller clears). */
static tam_rpc_answer_t s_call(h_t *h, const char *type, const char *json, const char *id)
{
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, h->zctx, h->ep[S_INGEST], 5000, 1), 0);
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &sb, &cerr), 0);
    tam_rpc_answer_t ans = {0};
    int rc = id ? tam_rpc_call_id(c, id, type, sb.data, sb.size, &ans)
                : tam_rpc_call(c, type, sb.data, sb.size, &ans);
    assert_int_equal(rc, 0);
    msgpack_sbuffer_destroy(&sb);
    tam_rpc_client_destroy(&c);
    return ans;
}

/* Counts stored replies (any status) or needs (any status), paging. */
static size_t s_count(h_t *h, bool needs)
{
    size_t n = 0;
    uint64_t after = 0;
    do {
        char q[128];
        snprintf(q, sizeof q, "{\"status\":\"any\",\"after\":%llu,\"limit\":1000}",
                 (unsigned long long)after);
        tam_rpc_answer_t ans = s_call(h, needs ? "ingest.needs" : "ingest.replies", q, NULL);
        assert_int_equal(ans.status, TAM_RPC_OK);
        tam_arena_t *a = tam_arena_new(0);
        tam_codec_err_t cerr;
        if (needs) {
            tam_need_list_t l;
            memset(&l, 0, sizeof l);
            assert_int_equal(tam_decode(&tam_schema_need_list, ans.body, ans.len, a, &l, &cerr), 0);
            n += l.items.n;
            after = l.next;
        } else {
            tam_reply_list_t l;
            memset(&l, 0, sizeof l);
            assert_int_equal(tam_decode(&tam_schema_reply_list, ans.body, ans.len, a, &l, &cerr), 0);
            n += l.items.n;
            after = l.next;
        }
        tam_arena_destroy(&a);
        tam_rpc_answer_clear(&ans);
    } while (after);
    return n;
}

static size_t s_json_len(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("not JSON: %s", text);
    size_t n = json_array_size(j);
    json_decref(j);
    return n;
}

/* Loads the sample reply as JSON for mutation. */
static json_t *s_sample(h_t *h)
{
    char path[600];
    json_error_t je;
    snprintf(path, sizeof path, "%s/config/samples/reply-KEN-A.json", h->src);
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    return j;
}

/* The value at "needs[0].country" (v: set it, stolen). */
static json_t *s_at(json_t *root, const char *path, json_t *v)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        size_t idx = 0;
        if (br) {
            idx = strtoul(br + 1, NULL, 10);
            *br = 0;
        }
        bool last = !save || !*save;
        if (last && !br && v) {
            json_object_set_new(cur, tok, v);
            return v;
        }
        cur = json_object_get(cur, tok);
        assert_non_null(cur);
        if (br) {
            if (last && v) {
                json_array_set_new(cur, idx, v);
                return v;
            }
            cur = json_array_get(cur, idx);
            assert_non_null(cur);
        }
    }
    return cur;
}

static const char *s_save(h_t *h, json_t *j, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", h->dir, name);
    assert_int_equal(json_dump_file(j, buf, JSON_INDENT(1)), 0);
    return buf;
}

static bool s_has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

/* ---- submit, restart, find everything ------------------------------------- */

static void t_submit_restart(void **state)
{
    h_t *h = *state;
    char *out = NULL, *err = NULL, pattern[600], csv[600];
    snprintf(pattern, sizeof pattern, "%s/config/samples/demo/replies/*.json", h->src);
    snprintf(csv, sizeof csv, "%s/config/samples/needs-example.csv", h->src);
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    const char **args = calloc(g.gl_pathc + 2, sizeof *args);
    assert_non_null(args);
    args[0] = "submit";
    for (size_t i = 0; i < g.gl_pathc; i++)
        args[1 + i] = g.gl_pathv[i];
    int rc = h_tamctl_v(h, NULL, &out, &err, (int)g.gl_pathc + 1, args);
    if (rc != 0)
        fprintf(stderr, "%s", err);
    assert_int_equal(rc, 0);
    size_t nfiles = g.gl_pathc;
    char summary[200];
    snprintf(summary, sizeof summary, "%zu replies: %zu accepted (368 needs stored", nfiles, nfiles);
    assert_true(s_has(err, summary));
    assert_true(s_has(out, "0001-CAF-A.json: reply "));
    free(out);
    free(err);
    assert_int_equal(h_tamctl(h, NULL, &out, &err, "submit", "--format", "csv", csv, NULL), 0);
    assert_true(s_has(err, "2 replies: 2 accepted (5 needs stored"));
    free(out);
    free(err);
    free(args);
    globfree(&g);
    assert_int_equal(s_count(h, false), nfiles + 2);
    assert_int_equal(s_count(h, true), 373);

    /* A graceful stop exits 0; the restarted service has everything. */
    assert_int_equal(h_stop(h, S_INGEST, SIGTERM), 0);
    assert_int_equal(h_start(h, S_INGEST, 20000), 0);
    assert_int_equal(s_count(h, false), nfiles + 2);
    assert_int_equal(s_count(h, true), 373);

    /* What users see. */
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "--json", "needs", "--respondent", "EAC.secretariat", NULL), 0);
    assert_int_equal(s_json_len(out), 2);
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "needs", "--country", "UGA", "--json", NULL), 0);
    assert_int_equal(s_json_len(out), 3 + 0); /* the CSV's UGA needs (demo has no UGA) */
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "replies", "--group", "WEOG", NULL), 0);
    assert_true(s_has(out, "respondent") && s_has(out, "NOR"));
    assert_false(s_has(out, "KEN"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "needs", "--state", "no_need", "--respondent", "UGA", "--csv", NULL), 0);
    assert_true(s_has(out, "reply_id,respondent_type,respondent,country,category,standard,state\r\n"));
    assert_true(s_has(out, "A-TOKYO,no_need"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "reply", "1", NULL), 0);
    assert_true(s_has(out, "reply 1: CAF (member_state)") && s_has(out, "history: 1\n"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "reply", "99999", NULL), 65);
    assert_true(s_has(err, "ingest:id: no reply with id 99999"));
    free(err);
}

/* ---- idempotency ------------------------------------------------------------ */

static void t_idempotent(void **state)
{
    h_t *h = *state;
    char path[600], *out1, *out2, *err;
    snprintf(path, sizeof path, "%s/config/samples/reply-KEN-A.json", h->src);
    assert_int_equal(h_tamctl(h, NULL, &out1, NULL, "submit", path, NULL), 0);
    assert_int_equal(h_tamctl(h, NULL, &out2, NULL, "submit", path, NULL), 0);
    assert_string_equal(out1, out2); /* same answer, byte for byte */
    assert_true(s_has(out1, "reply 1, revision 1: 1 needs stored"));
    free(out1);
    free(out2);
    assert_int_equal(s_count(h, false), 1);
    assert_int_equal(s_count(h, true), 1);

    /* The same request id sent directly, twice, after a restart too. */
    json_t *j = s_sample(h);
    s_at(j, "respondent.id", json_string("UGA"));
    s_at(j, "needs[0].country", json_string("UGA"));
    char *text = json_dumps(j, 0);
    json_decref(j);
    tam_rpc_answer_t a1 = s_call(h, "ingest.submit", text, "client-7:req-1");
    assert_int_equal(a1.status, TAM_RPC_OK);
    tam_rpc_answer_t a2 = s_call(h, "ingest.submit", text, "client-7:req-1");
    assert_int_equal(h_stop(h, S_INGEST, SIGKILL), 128 + SIGKILL);
    assert_int_equal(h_start(h, S_INGEST, 20000), 0);
    tam_rpc_answer_t a3 = s_call(h, "ingest.submit", text, "client-7:req-1");
    assert_int_equal(a2.status, TAM_RPC_OK);
    assert_int_equal(a3.status, TAM_RPC_OK);
    assert_int_equal(a1.len, a2.len);
    assert_memory_equal(a1.body, a2.body, a1.len);
    assert_int_equal(a1.len, a3.len);
    assert_memory_equal(a1.body, a3.body, a1.len);
    assert_int_equal(s_count(h, false), 2);
    /* Another id with the same content: the current reply already, nothing stored. */
    tam_rpc_answer_t a4 = s_call(h, "ingest.submit", text, "client-7:req-2");
    assert_int_equal(a4.status, TAM_RPC_OK);
    tam_arena_t *a = tam_arena_new(0);
    tam_submit_ack_t ack;
    tam_codec_err_t cerr;
    memset(&ack, 0, sizeof ack);
    assert_int_equal(tam_decode(&tam_schema_submit_ack, a4.body, a4.len, a, &ack, &cerr), 0);
    assert_true(ack.repeat);
    assert_int_equal(ack.reply_id, 2);
    assert_int_equal(ack.revision, 1);
    assert_int_equal(ack.withdrawn, 0);
    tam_arena_destroy(&a);
    assert_int_equal(s_count(h, false), 2);
    tam_rpc_answer_clear(&a1);
    tam_rpc_answer_clear(&a2);
    tam_rpc_answer_clear(&a3);
    tam_rpc_answer_clear(&a4);
    free(text);

    /* tamctl --resubmit draws fresh ids: ingest still knows KEN's current reply. */
    assert_int_equal(h_tamctl(h, NULL, &out1, &err, "submit", "--resubmit", path, NULL), 0);
    assert_true(s_has(out1, "reply 1, revision 1: the same as this current reply; nothing stored"));
    free(out1);
    free(err);
    assert_int_equal(s_count(h, false), 2);
    /* --dry-run prints the content-derived id and sends nothing. */
    assert_int_equal(h_tamctl(h, NULL, &out1, NULL, "submit", "--dry-run", path, NULL), 0);
    assert_true(s_has(out1, "KEN/A r1-"));
    free(out1);
    assert_int_equal(s_count(h, false), 2);
}

/* ---- every validation rule refuses and stores nothing ------------------------ */

typedef struct {
    const char *path;  /* what to change ("" for nothing) */
    const char *json;  /* its new value, as JSON */
    const char *path2, *json2;
    const char *field; /* the error expected */
    const char *message;
} s_rule_t;

static const s_rule_t s_rules[] = {
    {"respondent.id", "\"XKX\"", "needs[0].country", "\"XKX\"", "respondent.id", "not the ISO 3166-1 alpha-3 code"},
    {"respondent.type", "\"ngo\"", "respondent.id", "\"Penal Reform\"", "respondent.id", "2 to 64 of"},
    {"respondent.type", "\"un_entity\"", NULL, NULL, "respondent.id", "a State answers with type member_state"},
    {"respondent.name", "\"" "%151" "\"", NULL, NULL, "respondent.name", "longer than the 150 allowed"},
    {"instrument.category", "\"E\"", NULL, NULL, "instrument.category", "unknown category 'E'"},
    {"submitted", "\"2199-01-01\"", NULL, NULL, "submitted", "dated after today"},
    {"answers[1].standard", "\"A-NOPE\"", NULL, NULL, "answers[1].standard", "unknown standard"},
    {"answers[1].standard", "\"B-EXTR\"", NULL, NULL, "answers[1].standard", "belongs to category B"},
    {"answers[2].standard", "\"A-BPTP\"", NULL, NULL, "answers[2].standard", "already answered in answers[1]"},
    {"needs[0].country", "\"UGA\"", NULL, NULL, "needs[0].country", "declares needs for itself (KEN)"},
    {"respondent.type", "\"igo\"", "needs[0].country", "\"XXX\"", "needs[0].country", "'XXX' is not the ISO"},
    {"needs[0].standard", "\"A-NOPE\"", NULL, NULL, "needs[0].standard", "unknown standard"},
    {"needs[0].standard", "\"C-PREV\"", NULL, NULL, "needs[0].standard", "belongs to category C"},
    {"needs[0].standard", "\"A-TOKYO\"", NULL, NULL, "needs[0].standard", "no entry in answers[]"},
    {"needs[0].standard", "\"A-BPTP\"", NULL, NULL, "needs[0].standard", "gives state no_need"},
    {"needs[0].modality", "\"cash\"", NULL, NULL, "needs[0].modality", "unknown modality 'cash'"},
    {"needs[0].start", "\"2027-12-31\"", "needs[0].end", "\"2027-01-01\"", "needs[0].end", "ends before it starts"},
    {"needs[0].start", "\"2026-01-01\"", "needs[0].end", "\"2026-10-14\"", "needs[0].end", "ends before the reply's date 2026-10-15"},
    {"needs[0].text", "\"" "%151" "\"", NULL, NULL, "needs[0].text", "longer than the 150 allowed"},
    {"difficulties[0].standard", "\"D-JUDIC\"", NULL, NULL, "difficulties[0].standard", "belongs to category D"},
    {"assistance[0].text", "\"" "%151" "\"", NULL, NULL, "assistance[0].text", "longer than the 150 allowed"},
    {"practices[0].standard", "\"??\"", NULL, NULL, "practices[0].standard", "unknown standard"},
    {"offers", "[{\"standard\":\"A-SMR\",\"modality\":\"money\"}]", NULL, NULL, "offers[0].modality", "unknown modality 'money'"},
    {"needs", "%21needs", NULL, NULL, "needs", "21 needs; a reply may declare at most 20"},
};

/* A JSON value from a rule's text; "%151" is a string of 151 bytes,
 * "%21needs" an array of 21 valid needs. */
static json_t *s_value(const char *text)
{
    if (strstr(text, "%151")) {
        char big[152];
        memset(big, 'x', 151);
        big[151] = 0;
        return json_string(big);
    }
    if (strcmp(text, "%21needs") == 0) {
        json_t *a = json_array();
        for (int i = 0; i < 21; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "country", "KEN",
                                               "standard", "A-SMR", "modality", "training",
                                               "priority", 2, "cost", 100, "start", "2027-01-01",
                                               "end", "2027-02-01"));
        return a;
    }
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    return v;
}

static void t_validation_rules(void **state)
{
    h_t *h = *state;
    char path[600], want[800], *err;
    /* Something stored first, so that "nothing stored" is not "empty". */
    snprintf(path, sizeof path, "%s/config/samples/reply-KEN-A.json", h->src);
    assert_int_equal(h_tamctl(h, NULL, NULL, NULL, "submit", path, NULL), 0);
    size_t replies = s_count(h, false), needs = s_count(h, true);
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++) {
        const s_rule_t *r = &s_rules[i];
        json_t *j = s_sample(h);
        s_at(j, r->path, s_value(r->json));
        if (r->path2)
            s_at(j, r->path2, s_value(r->json2));
        char name[32];
        snprintf(name, sizeof name, "rule%02zu.json", i);
        s_save(h, j, name, path, sizeof path);
        json_decref(j);
        int rc = h_tamctl(h, NULL, NULL, &err, "submit", path, NULL);
        snprintf(want, sizeof want, "%s:%s: ", path, r->field);
        if (rc != 65 || !s_has(err, want) || !s_has(err, r->message)) {
            fprintf(stderr, "rule %zu: exit %d, stderr:\n%s", i, rc, err);
            fail_msg("rule %zu (%s) not reported as \"%s ... %s\"", i, r->path, want, r->message);
        }
        free(err);
        assert_int_equal(s_count(h, false), replies);
        assert_int_equal(s_count(h, true), needs);
    }
    /* Several problems at once: every one listed, nothing stored. */
    json_t *j = s_sample(h);
    s_at(j, "needs[0].modality", json_string("cash"));
    s_at(j, "answers[2].standard", json_string("A-SMR"));
    s_at(j, "instrument.category", json_string("Z"));
    s_save(h, j, "several.json", path, sizeof path);
    json_decref(j);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "submit", path, NULL), 65);
    snprintf(want, sizeof want, "%s:instrument.category: ", path);
    assert_true(s_has(err, want));
    snprintf(want, sizeof want, "%s:answers[2].standard: ", path);
    assert_true(s_has(err, want));
    snprintf(want, sizeof want, "%s:needs[0].modality: ", path);
    assert_true(s_has(err, want));
    free(err);
    assert_int_equal(s_count(h, false), replies);

    /* Codec and semantic problems of one reply in one list, through tamctl:
     * a priority of 9, a wrong type and an unknown field (the codec's), an
     * unknown country and a standard of another category (the catalogue's). */
    j = s_sample(h);
    s_at(j, "needs[0].priority", json_integer(9));
    s_at(j, "needs[0].cost", json_string("a lot"));
    s_at(j, "bogus", json_integer(1));
    s_at(j, "practices[0].standard", json_string("B-MLA"));
    s_at(j, "respondent", json_pack("{s:s, s:s}", "type", "ngo", "id", "PRI.intl"));
    s_at(j, "needs[0].country", json_string("XYZ"));
    s_save(h, j, "both-kinds.json", path, sizeof path);
    json_decref(j);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "submit", path, NULL), 65);
    static const char *both[][2] = {
        {"needs[0].priority", "must be between 1 and 5"},
        {"needs[0].cost", "must be an integer"},
        {"bogus", "unknown field"},
        {"needs[0].country", "'XYZ' is not the ISO 3166-1 alpha-3 code"},
        {"practices[0].standard", "standard B-MLA belongs to category B"},
    };
    for (size_t i = 0; i < sizeof both / sizeof both[0]; i++) {
        snprintf(want, sizeof want, "%s:%s: %s", path, both[i][0], both[i][1]);
        if (!s_has(err, want))
            fail_msg("\"%s\" not listed; stderr:\n%s", want, err);
    }
    free(err);
    assert_int_equal(s_count(h, false), replies);
    assert_int_equal(s_count(h, true), needs);

    /* The service's own decoder refuses what tamctl would catch locally. */
    static const char *raw[][3] = {
        {"needs[0].priority", "9", "needs[0].priority"},
        {"needs[0].cost", "0", "needs[0].cost"},
        {"needs[0].start", "\"2027-02-30\"", "needs[0].start"},
        {"bogus", "1", "bogus"},
    };
    for (size_t i = 0; i < 4; i++) {
        j = s_sample(h);
        s_at(j, raw[i][0], s_value(raw[i][1]));
        char *text = json_dumps(j, 0);
        json_decref(j);
        tam_rpc_answer_t ans = s_call(h, "ingest.submit", text, NULL);
        free(text);
        assert_int_equal(ans.status, TAM_RPC_ERROR);
        assert_string_equal(ans.error.field, raw[i][2]);
        tam_rpc_answer_clear(&ans);
        assert_int_equal(s_count(h, false), replies);
    }
}

/* ---- revisions on the feed ---------------------------------------------------- */

typedef struct {
    size_t open, withdrawn, records;
    uint64_t last_withdrawn;
} s_feed_t;

static void s_on_record(const char *topic, size_t tlen, const void *body, size_t len, uint64_t seq,
                        int snap, void *arg)
{
    (void)seq, (void)snap;
    s_feed_t *f = arg;
    assert_true(tlen == 10 && memcmp(topic, "need/KEN/A", 10) == 0);
    tam_arena_t *a = tam_arena_new(0);
    tam_need_t n;
    tam_codec_err_t cerr;
    memset(&n, 0, sizeof n);
    assert_int_equal(tam_decode(&tam_schema_need, body, len, a, &n, &cerr), 0);
    f->records++;
    if (n.status == TAM_E_need_status_open) {
        f->open++;
    } else {
        f->withdrawn++;
        f->last_withdrawn = n.id;
    }
    tam_arena_destroy(&a);
}

/* Runs the feed client until pred holds or 10 s pass. */
static void s_feed_until(tam_feed_client_t *c, s_feed_t *f, size_t records)
{
    int64_t end = s_now_ms() + 10000;
    while (f->records < records && s_now_ms() < end)
        assert_int_equal(tam_feed_client_run(c, 100), 0);
    assert_int_equal(f->records, records);
}

static void t_revision_feed(void **state)
{
    h_t *h = *state;
    char path[600], path2[600], *out;
    snprintf(path, sizeof path, "%s/config/samples/reply-KEN-A.json", h->src);
    s_feed_t f = {0};
    tam_feed_callbacks_t cb = {.on_record = s_on_record, .arg = &f};
    const char *prefix = "need/KEN/";
    tam_feed_client_t *c = NULL;
    assert_int_equal(tam_feed_client_new(&c, h->zctx, h->pub[S_INGEST], h->snap[S_INGEST], &prefix, 1, &cb, NULL), 0);
    int64_t end = s_now_ms() + 10000;
    while (!tam_feed_client_synced(c) && s_now_ms() < end)
        assert_int_equal(tam_feed_client_run(c, 100), 0);
    assert_true(tam_feed_client_synced(c));

    assert_int_equal(h_tamctl(h, NULL, NULL, NULL, "submit", path, NULL), 0);
    s_feed_until(c, &f, 1);
    assert_int_equal(f.open, 1);
    /* The revision: two needs replace the one (another modality is another need). */
    json_t *j = s_sample(h);
    s_at(j, "needs[0].modality", json_string("advisory"));
    json_array_append_new(s_at(j, "needs", NULL),
                          json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "country", "KEN", "standard",
                                    "A-SMR", "modality", "tools", "priority", 2, "cost", 100,
                                    "start", "2027-01-01", "end", "2027-02-01"));
    s_at(j, "completeness", json_integer(90));
    s_save(h, j, "revision.json", path2, sizeof path2);
    json_decref(j);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", path2, NULL), 0);
    assert_true(s_has(out, "reply 2, revision 2, revises reply 1: 2 needs stored (2 new, 0 revised, "
                           "0 unchanged), 1 withdrawn"));
    free(out);
    s_feed_until(c, &f, 4);
    assert_int_equal(f.open, 3);
    assert_int_equal(f.withdrawn, 1);
    assert_int_equal(f.last_withdrawn, 1);
    tam_feed_client_destroy(&c);

    /* A late joiner's snapshot holds the two open needs only. */
    s_feed_t g = {0};
    cb.arg = &g;
    assert_int_equal(tam_feed_client_new(&c, h->zctx, h->pub[S_INGEST], h->snap[S_INGEST], &prefix, 1, &cb, NULL), 0);
    end = s_now_ms() + 10000;
    while (!tam_feed_client_synced(c) && s_now_ms() < end)
        assert_int_equal(tam_feed_client_run(c, 100), 0);
    assert_int_equal(g.open, 2);
    assert_int_equal(g.withdrawn, 0);
    tam_feed_client_destroy(&c);

    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "--json", "needs", "--status", "withdrawn", NULL), 0);
    assert_int_equal(s_json_len(out), 1);
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "replies", "--all", NULL), 0);
    assert_true(s_has(out, "superseded") && s_has(out, "current"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "reply", "1", NULL), 0);
    assert_true(s_has(out, "superseded by reply 2") && s_has(out, "history: 1 2"));
    free(out);
}

/* ---- tamctl: stdin, CSV errors, usage, exit codes ------------------------------ */

static void t_tamctl_cli(void **state)
{
    h_t *h = *state;
    char path[600], *out, *err;
    snprintf(path, sizeof path, "%s/config/samples/reply-KEN-A.json", h->src);
    assert_int_equal(h_tamctl(h, path, &out, NULL, "submit", "-", NULL), 0);
    assert_true(s_has(out, "<stdin>: reply 1, revision 1"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, NULL, NULL, "submit", NULL), 64);
    assert_int_equal(h_tamctl(h, NULL, NULL, NULL, "submit", "-", "-", NULL), 64);
    assert_int_equal(h_tamctl(h, NULL, NULL, NULL, "submit", "--format", "xml", path, NULL), 64);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "help", "submit", NULL), 0);
    assert_true(s_has(out, "--format json|csv"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "submit", "/nonexistent.json", NULL), 66);
    free(err);

    /* A CSV with defects: every one, with line and column; nothing sent. */
    char csv[600];
    h_write(h, "bad.csv",
             "respondent_type,respondent,category,version,completeness,standard,state,country,"
             "modality,priority,cost,start,end\n"
             "member_state,UGA,A,1,60,A-SMR,need,,training,9,abc,2027-01-01,2027-12-31\n"
             "member_state,UGA,A,2,60,A-SMR,no_need,,,,,,\n",
             csv, sizeof csv);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "submit", "--format", "csv", csv, NULL), 65);
    char want[800];
    snprintf(want, sizeof want, "%s:2:priority: 9 is not between 1 and 5", csv);
    assert_true(s_has(err, want));
    snprintf(want, sizeof want, "%s:2:cost: \"abc\" is not a whole number", csv);
    assert_true(s_has(err, want));
    snprintf(want, sizeof want, "%s:3:version: differs from line 2", csv);
    assert_true(s_has(err, want));
    snprintf(want, sizeof want, "%s:3:state: no_need for A-SMR, but line 2 says need", csv);
    assert_true(s_has(err, want));
    free(err);
    /* Service-side problems map back to the CSV line and column. */
    h_write(h, "bad2.csv",
             "respondent_type,respondent,category,version,completeness,standard,country,modality,"
             "priority,cost,start,end\n"
             "member_state,UGA,A,1,60,A-SMR,,training,3,100,2027-01-01,2027-12-31\n"
             "member_state,UGA,A,1,60,A-TOKYO,KEN,cash,3,100,2027-01-01,2027-12-31\n",
             csv, sizeof csv);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "submit", "--format", "csv", csv, NULL), 65);
    snprintf(want, sizeof want, "%s:3:country: a Member State declares needs for itself", csv);
    assert_true(s_has(err, want));
    snprintf(want, sizeof want, "%s:3:modality: unknown modality 'cash'", csv);
    assert_true(s_has(err, want));
    free(err);
    assert_int_equal(s_count(h, false), 1);

    /* Query filters are checked too. */
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "needs", "--state", "maybe", "--country", "XXX", NULL), 65);
    assert_true(s_has(err, "ingest:state: ") && s_has(err, "ingest:country: "));
    free(err);

    /* A service that is not there: a clear message, not a hang. */
    int64_t t0 = s_now_ms();
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "-o", "ingest.endpoint=ipc:///tmp/tam-nobody-here.req",
                               "-o", "tamctl.timeout=300ms", "-o", "common.request_retries=1",
                               "submit", path, NULL),
                     69);
    assert_true(s_has(err, "ingest not reachable at ipc:///tmp/tam-nobody-here.req"));
    free(err);
    assert_int_not_equal(h_tamctl(h, NULL, NULL, &err, "-o", "ingest.endpoint=ipc:///tmp/tam-nobody-here.req",
                                   "-o", "tamctl.timeout=300ms", "-o", "common.request_retries=0",
                                   "needs", NULL),
                         0);
    assert_true(s_has(err, "not reachable"));
    free(err);
    assert_true(s_now_ms() - t0 < 10000);
}

/* ---- a window starting in the past: stored with a warning --------------- */

static void t_past_start_warned(void **state)
{
    h_t *h = *state;
    char path[600], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/past.json", h->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"respondent\": {\"type\": \"member_state\", \"id\": \"KEN\"},\n"
               " \"instrument\": {\"category\": \"A\", \"version\": 1},\n"
               " \"submitted\": \"2026-06-01\", \"completeness\": 50,\n"
               " \"answers\": [{\"standard\": \"A-SMR\", \"state\": \"need\"},\n"
               "             {\"standard\": \"A-TOKYO\", \"state\": \"need\"}],\n"
               " \"needs\": [{\"country\": \"KEN\", \"standard\": \"A-SMR\", \"modality\": \"training\",\n"
               "   \"priority\": 5, \"cost\": 180000, \"start\": \"2026-07-01\", \"end\": \"2027-12-31\"},\n"
               "  {\"country\": \"KEN\", \"standard\": \"A-TOKYO\", \"modality\": \"workshop\",\n"
               "   \"priority\": 3, \"cost\": 60000, \"start\": \"1990-01-01\", \"end\": \"2027-12-31\"}]}\n");
    fclose(f);
    int rc = h_tamctl(h, NULL, &out, &err, "submit", path, NULL);
    if (rc)
        fprintf(stderr, "%s", err);
    assert_int_equal(rc, 0);
    /* stored, and only the need starting before the reply's date is named */
    assert_true(s_has(out, "2 needs stored"));
    assert_true(s_has(err, "warning: needs[1].start: 1990-01-01 is before the reply's date 2026-06-01"));
    assert_false(s_has(err, "needs[0].start"));
    assert_int_equal(s_count(h, true), 2);
    free(out);
    free(err);
    /* the same request again gets the same answer, warning included; nothing new stored */
    assert_int_equal(h_tamctl(h, NULL, &out, &err, "submit", path, NULL), 0);
    assert_true(s_has(err, "warning: needs[1].start: 1990-01-01"));
    assert_int_equal(s_count(h, true), 2);
    free(out);
    free(err);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_submit_restart), T(t_idempotent), T(t_validation_rules), T(t_revision_feed),
        T(t_tamctl_cli), T(t_past_start_warned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

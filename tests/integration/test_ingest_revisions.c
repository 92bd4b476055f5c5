/* test_ingest_revisions.c — needs keep their identity across revisions, through
 * the real tam-ingest and tamctl (docs/ingest.md, "Revisions"): the Kenya
 * scenario of issue 10 (a revision that changes only the text of Kenya's
 * other need keeps both ids; the feed carries one new version, same id), an
 * older revision sent again answered as superseded with exit 79 (the same
 * request id and a fresh one), two needs of one identity refused naming both,
 * `tamctl reply ID --diff` in text and JSON, a withdrawal with its id, and
 * ids kept across a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "services_harness.h"
#include "tam/cli.h"
#include "tam/feed.h"
#include "tam/proto.h"

static int setup(void **state)
{
    h_opts_t o = {.tamctl = "timeout = 2s\n"};
    h_t *h = h_new_opts("test_ingest_revisions", &o);
    if (!h || h_start(h, S_INGEST, 20000) != 0) {
        h_free(h);
        return -1;
    }
    *state = h;
    return 0;
}

/* The test's feed client, closed in teardown too (a failed assertion leaves
 * the test early, and a socket left open would block zmq_ctx_term). */
static tam_feed_client_t *s_client;

static int teardown(void **state)
{
    h_t *h = *state;
    tam_feed_client_destroy(&s_client);
    h_free(h);
    return 0;
}

static bool s_has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

/* Kenya's reply to category A: the sample's A-SMR training need (180,000)
 * and an A-SMR advisory need whose text is `text2`; `drop_first` leaves the
 * training need out. Saved as DIR/name; returns the path in buf. */
static const char *s_kenya(h_t *h, const char *name, const char *text2, bool drop_first,
                           char *buf, size_t len)
{
    char path[600];
    json_error_t je;
    snprintf(path, sizeof path, "%s/config/samples/reply-KEN-A.json", h->src);
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    json_t *needs = json_object_get(j, "needs");
    json_array_append_new(needs, json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:s}", "country", "KEN",
                                           "standard", "A-SMR", "modality", "advisory",
                                           "priority", 3, "cost", 40000, "start", "2027-02-01",
                                           "end", "2027-11-30", "text", text2));
    if (drop_first)
        json_array_remove(needs, 0);
    snprintf(buf, len, "%s/%s", h->dir, name);
    assert_int_equal(json_dump_file(j, buf, JSON_INDENT(1)), 0);
    json_decref(j);
    return buf;
}

/* ---- the feed --------------------------------------------------------------- */

typedef struct {
    size_t records;
    uint64_t id[16];
    int64_t version[16];
    int change[16], status[16];
} s_feed_t;

static void s_on_record(const char *topic, size_t tlen, const void *body, size_t len, uint64_t seq,
                        int snap, void *arg)
{
    (void)topic, (void)tlen, (void)seq, (void)snap;
    s_feed_t *f = arg;
    tam_arena_t *a = tam_arena_new(0);
    tam_need_t n;
    tam_codec_err_t cerr;
    memset(&n, 0, sizeof n);
    assert_int_equal(tam_decode(&tam_schema_need, body, len, a, &n, &cerr), 0);
    if (f->records < 16) {
        f->id[f->records] = n.id;
        f->version[f->records] = n.version;
        f->change[f->records] = n.change;
        f->status[f->records] = n.status;
    }
    f->records++;
    tam_arena_destroy(&a);
}

/* Runs the client until `records` records came, then 300 ms more to catch
 * any record too many. */
static void s_feed_until(tam_feed_client_t *c, s_feed_t *f, size_t records)
{
    int64_t end = s_now_ms() + 10000;
    while (f->records < records && s_now_ms() < end)
        assert_int_equal(tam_feed_client_run(c, 100), 0);
    end = s_now_ms() + 300;
    while (s_now_ms() < end)
        assert_int_equal(tam_feed_client_run(c, 50), 0);
    assert_int_equal(f->records, records);
}

/* `tamctl --json needs --status any`: id -> version, status of each. */
static size_t s_needs(h_t *h, uint64_t *ids, int64_t *versions, char status[][16], size_t max)
{
    char *out;
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "--json", "needs", "--status", "any", NULL), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    size_t n = json_array_size(j);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(j, i);
        ids[i] = (uint64_t)json_integer_value(json_object_get(o, "id"));
        versions[i] = json_integer_value(json_object_get(o, "version"));
        snprintf(status[i], 16, "%s", json_string_value(json_object_get(o, "status")));
    }
    json_decref(j);
    free(out);
    return n;
}

/* ---- the test ------------------------------------------------------------------- */

static void t_kenya_keeps_ids(void **state)
{
    h_t *h = *state;
    char p1[600], p2[600], p3[600], pdup[600], *out, *err;
    s_feed_t f = {0};
    tam_feed_callbacks_t cb = {.on_record = s_on_record, .arg = &f};
    const char *prefix = "need/KEN/";
    assert_int_equal(tam_feed_client_new(&s_client, h->zctx, h->pub[S_INGEST], h->snap[S_INGEST], &prefix, 1, &cb, NULL),
                     0);
    tam_feed_client_t *c = s_client;
    int64_t end = s_now_ms() + 10000;
    while (!tam_feed_client_synced(c) && s_now_ms() < end)
        assert_int_equal(tam_feed_client_run(c, 100), 0);
    assert_true(tam_feed_client_synced(c));

    /* Kenya's reply: needs 1 (A-SMR training, 180,000) and 2 (advisory). */
    s_kenya(h, "ken1.json", "Advice to the prison service", false, p1, sizeof p1);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", p1, NULL), 0);
    assert_true(s_has(out, "reply 1, revision 1: 2 needs stored (2 new, 0 revised, 0 unchanged)"));
    free(out);
    s_feed_until(c, &f, 2);

    /* Kenya re-sends it with only the text of its other need changed. */
    s_kenya(h, "ken2.json", "Advice to the prison service and the probation service", false, p2,
            sizeof p2);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", p2, NULL), 0);
    assert_true(s_has(out, "reply 2, revision 2, revises reply 1: 2 needs stored (0 new, 1 revised, "
                           "1 unchanged), 0 withdrawn"));
    free(out);
    /* One feed record: need 2, version 2, revised. Need 1 publishes nothing. */
    s_feed_until(c, &f, 3);
    assert_int_equal(f.id[2], 2);
    assert_int_equal(f.version[2], 2);
    assert_int_equal(f.change[2], TAM_E_need_change_revised);
    assert_int_equal(f.status[2], TAM_E_need_status_open);
    uint64_t ids[8];
    int64_t vers[8];
    char st[8][16];
    assert_int_equal(s_needs(h, ids, vers, st, 8), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(vers[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(vers[1], 2);

    /* The first file again (same request id: answered from the stored answer)
     * and with a fresh id: both superseded, exit 79, nothing stored. */
    assert_int_equal(h_tamctl(h, NULL, &out, &err, "submit", p1, NULL), TAM_EX_SUPERSEDED);
    assert_true(s_has(err, "reply 1 is superseded by revision 2, reply 2; nothing stored"));
    assert_true(s_has(err, "1 superseded, 0 refused"));
    assert_false(s_has(out, "stored"));
    free(out);
    free(err);
    assert_int_equal(h_tamctl(h, NULL, &out, &err, "submit", "--resubmit", "--json", p1, NULL),
                     TAM_EX_SUPERSEDED);
    assert_true(s_has(out, "\"status\":\"superseded\""));
    free(out);
    free(err);
    /* The current one again: nothing stored, exit 0. */
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", "--resubmit", p2, NULL), 0);
    assert_true(s_has(out, "reply 2, revision 2: the same as this current reply; nothing stored"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "--json", "replies", "--all", NULL), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    free(out);

    /* Two needs of one identity in a reply: refused, both named, nothing stored. */
    j = json_load_file(p2, 0, &je);
    json_t *needs = json_object_get(j, "needs");
    json_array_append(needs, json_array_get(needs, 0));
    snprintf(pdup, sizeof pdup, "%s/dup.json", h->dir);
    assert_int_equal(json_dump_file(j, pdup, JSON_INDENT(1)), 0);
    json_decref(j);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "submit", pdup, NULL), 65);
    char want[800];
    snprintf(want, sizeof want, "%s:needs[2]: needs[0] and needs[2] are the same need", pdup);
    assert_true(s_has(err, want));
    free(err);

    /* What revision 2 changed. */
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "reply", "2", "--diff", NULL), 0);
    assert_true(s_has(out, "reply 2 (KEN, category A), revision 2, against reply 1 (revision 1)"));
    assert_true(s_has(out, "changed"));
    assert_true(s_has(out, "text: \"Advice to the prison service\" -> \"Advice to the prison "
                           "service and the probation service\""));
    assert_true(s_has(out, "unchanged: 1 need\n"));
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "reply", "2", "--diff", "--json", NULL), 0);
    j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "previous")), 1);
    json_t *ch = json_array_get(json_object_get(j, "changed"), 0);
    assert_int_equal(json_integer_value(json_object_get(ch, "id")), 2);
    assert_int_equal(json_integer_value(json_object_get(ch, "old_version")), 1);
    assert_int_equal(json_integer_value(json_object_get(ch, "version")), 2);
    assert_int_equal(json_object_size(json_object_get(ch, "fields")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "added")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "withdrawn")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "unchanged")), 1);
    json_decref(j);
    free(out);

    /* A revision that drops the training need withdraws it with its id; the
     * other keeps its id. */
    s_kenya(h, "ken3.json", "Advice to the prison service and the probation service", true, p3,
            sizeof p3);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", p3, NULL), 0);
    assert_true(s_has(out, "reply 3, revision 3, revises reply 2: 1 needs stored (0 new, 0 revised, "
                           "1 unchanged), 1 withdrawn"));
    free(out);
    s_feed_until(c, &f, 4);
    assert_int_equal(f.id[3], 1);
    assert_int_equal(f.status[3], TAM_E_need_status_withdrawn);
    assert_int_equal(f.change[3], TAM_E_need_change_withdrawn);
    tam_feed_client_destroy(&s_client);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "reply", "3", "--diff", NULL), 0);
    assert_true(s_has(out, "withdrawn"));
    assert_true(s_has(out, "KEN A-SMR training"));
    free(out);
    assert_int_equal(s_needs(h, ids, vers, st, 8), 2);
    assert_string_equal(st[0], "withdrawn");
    assert_string_equal(st[1], "open");

    /* After a restart, declared again: the same ids (1 restored, version 2). */
    assert_int_equal(h_stop(h, S_INGEST, SIGTERM), 0);
    assert_int_equal(h_start(h, S_INGEST, 20000), 0);
    s_kenya(h, "ken4.json", "Advice to the prison and probation services", false, p3, sizeof p3);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", p3, NULL), 0);
    assert_true(s_has(out, "reply 4, revision 4, revises reply 3: 2 needs stored (0 new, 2 revised, "
                           "0 unchanged), 0 withdrawn"));
    free(out);
    assert_int_equal(s_needs(h, ids, vers, st, 8), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(vers[0], 2);
    assert_string_equal(st[0], "open");
    assert_int_equal(ids[1], 2);
    assert_int_equal(vers[1], 3);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "reply", "4", "--diff", NULL), 0);
    assert_true(s_has(out, "restored"));
    free(out);

    /* The CSV has a ref column: the same ref twice is refused at its line. */
    char csv[600];
    const char *head = "respondent_type,respondent,category,version,completeness,standard,state,"
                       "country,modality,priority,cost,start,end,ref\n";
    char text[1024];
    snprintf(text, sizeof text,
             "%smember_state,UGA,A,1,60,A-SMR,need,,training,3,100,2027-01-01,2027-12-31,c1\n"
             "member_state,UGA,A,1,60,A-SMR,need,,training,3,200,2027-01-01,2027-12-31,c1\n",
             head);
    h_write(h, "refs.csv", text, csv, sizeof csv);
    assert_int_equal(h_tamctl(h, NULL, NULL, &err, "submit", "--format", "csv", csv, NULL), 65);
    snprintf(want, sizeof want, "%s:3:ref: needs[0] and needs[1] have the same ref 'c1'", csv);
    assert_true(s_has(err, want));
    free(err);
    snprintf(text, sizeof text,
             "%smember_state,UGA,A,1,60,A-SMR,need,,training,3,100,2027-01-01,2027-12-31,c1\n"
             "member_state,UGA,A,1,60,A-SMR,need,,training,3,200,2027-01-01,2027-12-31,c2\n",
             head);
    h_write(h, "refs.csv", text, csv, sizeof csv);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", "--format", "csv", csv, NULL), 0);
    assert_true(s_has(out, "2 needs stored (2 new"));
    free(out);
    /* `needs --csv` gives the refs back: the same content is the same reply;
     * with one cost changed, a revision that keeps both ids. */
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "needs", "--respondent", "UGA", "--csv", NULL), 0);
    assert_true(s_has(out, ",c1") && s_has(out, ",c2"));
    char *cost = strstr(out, ",200,");
    assert_non_null(cost);
    memcpy(cost, ",250,", 5);
    h_write(h, "uga.csv", out, csv, sizeof csv);
    free(out);
    assert_int_equal(h_tamctl(h, NULL, &out, NULL, "submit", "--format", "csv", csv, NULL), 0);
    assert_true(s_has(out, "reply 6, revision 2, revises reply 5: 2 needs stored (0 new, 1 revised, "
                           "1 unchanged), 0 withdrawn"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_kenya_keeps_ids, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ingest_store.c — storage and queries of tam-ingest (services/ingest):
 * ids, revisions (needs withdrawn, history kept), per-standard answers, the
 * query filters and paging, reply_get, the feed snapshot by topic prefix, and
 * that a transaction re-run after the map grows leaves exactly one copy of
 * everything. A fresh LMDB environment per test. */
#include "ingest_fixture.h"

/* ---- tests -------------------------------------------------------------- */

static void t_first_reply(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-BPTP", "no_need"),
                                                   NEED("KEN", "A-SMR", 1000) "," NEEDM("KEN", "A-SMR", "legislative", 2000))),
                     0);
    assert_int_equal(ack.reply_id, 1);
    assert_int_equal(ack.revision, 1);
    assert_int_equal(ack.replaces, 0);
    assert_int_equal(ack.withdrawn, 0);
    assert_int_equal(ack.need_ids.n, 2);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_ids.v[1], 2);
    assert_int_equal(f->ev.n, 2);
    assert_string_equal(f->ev.v[0].topic, "need/KEN/A");
    tam_need_t n = s_event(f, 1);
    assert_int_equal(n.id, 2);
    assert_int_equal(n.reply_id, 1);
    assert_int_equal(n.cost, 2000);
    assert_int_equal(n.completeness, 50);
    assert_int_equal(n.status, TAM_E_need_status_open);
    assert_string_equal(n.respondent, "KEN");
    assert_string_equal(n.category, "A");

    tam_need_list_t *l = s_needs(f, (tam_needs_query_t){0});
    assert_int_equal(l->items.n, 2);
    assert_int_equal(l->answers.n, 0);
    assert_int_equal(l->next, 0);
    tam_reply_list_t *rl = s_replies(f, (tam_replies_query_t){0});
    assert_int_equal(rl->items.n, 1);
    tam_reply_info_t *ri = &rl->items.v[0];
    assert_int_equal(ri->id, 1);
    assert_int_equal(ri->status, TAM_E_reply_status_current);
    assert_int_equal(ri->submitted, 20261001u);
    assert_int_equal(ri->stored, TODAY);
    assert_int_equal(ri->needs, 2);
    assert_int_equal(ri->first_need, 0); /* needs keep ids across revisions: not consecutive */
    assert_int_equal(ri->countries.n, 1);
    assert_string_equal(ri->countries.v[0], "KEN");

    /* A second reply of another respondent, and of KEN to another category. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("UGA", "A", ANS("A-SMR", "need"), NEED("UGA", "A-SMR", 10))), 0);
    assert_int_equal(ack.reply_id, 2);
    assert_int_equal(ack.revision, 1);
    assert_int_equal(ack.need_ids.v[0], 3);
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "B", ANS("B-MLA", "need"), NEED("KEN", "B-MLA", 10))), 0);
    assert_int_equal(ack.revision, 1);
    assert_int_equal(ack.replaces, 0);
    assert_string_equal(f->ev.v[f->ev.n - 1].topic, "need/KEN/B");
}

static void t_revision(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-TOKYO", "need"),
                                                   NEED("KEN", "A-SMR", 1) "," NEED("KEN", "A-TOKYO", 2))),
                     0);
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("UGA", "A", ANS("A-SMR", "need"), NEED("UGA", "A-SMR", 3))), 0);
    size_t before_n = f->ev.n;
    /* Version 2 of the instrument: still a revision of the same chain. */
    assert_int_equal(s_submit(f, &ack,
                              "{\"respondent\":{\"type\":\"member_state\",\"id\":\"KEN\"},"
                              "\"instrument\":{\"category\":\"A\",\"version\":2},\"completeness\":90,"
                              "\"answers\":[" ANS("A-SMR", "need") "," ANS("A-TOKYO", "no_need") "],"
                              "\"needs\":[" NEED("KEN", "A-SMR", 7) "]}"),
                     0);
    assert_int_equal(ack.reply_id, 3);
    assert_int_equal(ack.revision, 2);
    assert_int_equal(ack.replaces, 1);
    assert_int_equal(ack.withdrawn, 1);
    /* The A-SMR need keeps its id (cost changed: version 2); A-TOKYO goes. */
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_versions.v[0], 2);
    assert_int_equal(ack.revised, 1);
    assert_int_equal(ack.added, 0);
    /* Events: the new version of need 1, then the withdrawn need 2 (same id). */
    assert_int_equal(f->ev.n - before_n, 2);
    tam_need_t n2 = s_event(f, before_n), w1 = s_event(f, before_n + 1);
    assert_int_equal(w1.id, 2);
    assert_int_equal(w1.status, TAM_E_need_status_withdrawn);
    assert_int_equal(w1.change, TAM_E_need_change_withdrawn);
    assert_int_equal(n2.id, 1);
    assert_int_equal(n2.version, 2);
    assert_int_equal(n2.change, TAM_E_need_change_revised);
    assert_int_equal(n2.reply_id, 3);
    assert_int_equal(n2.cost, 7);
    assert_int_equal(n2.status, TAM_E_need_status_open);
    assert_int_equal(n2.completeness, 90);

    tam_need_list_t *l = s_needs(f, (tam_needs_query_t){.country = "KEN"});
    assert_int_equal(l->items.n, 1);
    assert_int_equal(l->items.v[0].id, 1);
    assert_int_equal(l->items.v[0].version, 2);
    l = s_needs(f, (tam_needs_query_t){.status = "withdrawn"});
    assert_int_equal(l->items.n, 1);
    l = s_needs(f, (tam_needs_query_t){.status = "any"});
    assert_int_equal(l->items.n, 3);

    tam_reply_list_t *rl = s_replies(f, (tam_replies_query_t){.respondent = "KEN"});
    assert_int_equal(rl->items.n, 1);
    assert_int_equal(rl->items.v[0].id, 3);
    assert_int_equal(rl->items.v[0].revision, 2);
    assert_int_equal(rl->items.v[0].replaces, 1);
    assert_int_equal(rl->items.v[0].withdrawn, 1);
    assert_int_equal(rl->items.v[0].version, 2);
    assert_int_equal(rl->items.v[0].submitted, TODAY); /* no date given */
    rl = s_replies(f, (tam_replies_query_t){.status = "superseded"});
    assert_int_equal(rl->items.n, 1);
    assert_int_equal(rl->items.v[0].id, 1);
    assert_int_equal(rl->items.v[0].superseded_by, 3);
    assert_int_equal(rl->items.v[0].status, TAM_E_reply_status_superseded);
    rl = s_replies(f, (tam_replies_query_t){.status = "any"});
    assert_int_equal(rl->items.n, 3);

    /* History from either end of the chain; the body as accepted. */
    tam_reply_full_t full;
    assert_int_equal(s_reply_get(f, 1, &full), 0);
    assert_int_equal(full.history.n, 2);
    assert_int_equal(full.history.v[0], 1);
    assert_int_equal(full.history.v[1], 3);
    assert_int_equal(full.need_ids.n, 2);
    assert_int_equal(full.need_ids.v[1], 2);
    assert_int_equal(full.need_versions.v[0], 1);
    assert_int_equal(full.reply->needs.n, 2);
    assert_int_equal(full.reply->needs.v[1].cost, 2);
    assert_int_equal(full.info->status, TAM_E_reply_status_superseded);
    assert_int_equal(s_reply_get(f, 3, &full), 0);
    assert_int_equal(full.history.n, 2);
    assert_int_equal(full.reply->instrument->version, 2);
    assert_int_equal(full.need_ids.v[0], 1);
    assert_int_equal(full.need_versions.v[0], 2);
    assert_int_equal(s_reply_get(f, 99, &full), TAM_ENOTFOUND);

    /* A third revision with no needs withdraws the one left. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "no_need"), "")), 0);
    assert_int_equal(ack.revision, 3);
    assert_int_equal(ack.replaces, 3);
    assert_int_equal(ack.withdrawn, 1);
    assert_int_equal(ack.need_ids.n, 0);
    l = s_needs(f, (tam_needs_query_t){.country = "KEN"});
    assert_int_equal(l->items.n, 0);
    assert_int_equal(s_reply_get(f, 4, &full), 0);
    assert_int_equal(full.history.n, 3);
    assert_int_equal(full.info->first_need, 0);
}

static void t_answers(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    size_t na = tam_catalog_standards_of(f->cat, 'A', NULL, 0);
    assert_true(na >= 4);
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-BPTP", "no_need") "," ANS("A-BODY", "unanswered"),
                                                   NEED("KEN", "A-SMR", 1))),
                     0);
    assert_int_equal(s_submit(f, &ack,
                              "{\"respondent\":{\"type\":\"ngo\",\"id\":\"PRI\"},"
                              "\"instrument\":{\"category\":\"A\",\"version\":1},\"completeness\":10,"
                              "\"answers\":[" ANS("A-BPTP", "no_need") "]}"),
                     0);
    tam_need_list_t *l = s_needs(f, (tam_needs_query_t){.state = "no_need"});
    assert_int_equal(l->items.n, 0);
    assert_int_equal(l->answers.n, 2);
    assert_string_equal(l->answers.v[0].standard, "A-BPTP");
    assert_string_equal(l->answers.v[0].country, "KEN");
    assert_int_equal(l->answers.v[0].reply_id, 1);
    assert_null(l->answers.v[1].country); /* an organisation */
    assert_string_equal(l->answers.v[1].respondent, "PRI");
    l = s_needs(f, (tam_needs_query_t){.state = "no_need", .country = "KEN"});
    assert_int_equal(l->answers.n, 1);
    l = s_needs(f, (tam_needs_query_t){.state = "no_need", .group = "AFRICAN"});
    assert_int_equal(l->answers.n, 1);
    l = s_needs(f, (tam_needs_query_t){.state = "unanswered", .respondent = "KEN"});
    assert_int_equal(l->answers.n, na - 2);
    l = s_needs(f, (tam_needs_query_t){.state = "unanswered", .standard = "A-BODY"});
    assert_int_equal(l->answers.n, 2);

    /* Paging through the unanswered ones two by two visits each once. */
    size_t seen = 0, pages = 0;
    uint64_t after = 0, prev = 0;
    do {
        l = s_needs(f, (tam_needs_query_t){.state = "unanswered", .after = after, .limit = 2});
        for (uint32_t i = 0; i < l->answers.n; i++) {
            assert_true(l->answers.v[i].id > prev);
            prev = l->answers.v[i].id;
        }
        seen += l->answers.n;
        after = l->next;
        pages++;
    } while (after && pages < 100);
    assert_int_equal(seen, (na - 2) + (na - 1));

    /* A revision replaces KEN's answers. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "no_need"), "")), 0);
    l = s_needs(f, (tam_needs_query_t){.state = "no_need", .country = "KEN"});
    assert_int_equal(l->answers.n, 1);
    assert_string_equal(l->answers.v[0].standard, "A-SMR");
    assert_int_equal(l->answers.v[0].reply_id, 3);
}

static void t_filters_and_paging(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need") "," ANS("A-TOKYO", "need"),
                                                   NEED("KEN", "A-SMR", 1) "," NEED("KEN", "A-TOKYO", 2))),
                     0);
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("FRA", "B", ANS("B-MLA", "need"), NEED("FRA", "B-MLA", 3))), 0);
    assert_int_equal(s_submit(f, &ack,
                              "{\"respondent\":{\"type\":\"igo\",\"id\":\"AU\"},"
                              "\"instrument\":{\"category\":\"A\",\"version\":1},\"completeness\":10,"
                              "\"answers\":[" ANS("A-SMR", "need") "],"
                              "\"needs\":[" NEED("SSD", "A-SMR", 4) "," NEED("UGA", "A-SMR", 5) "]}"),
                     0);
    assert_int_equal(s_needs(f, (tam_needs_query_t){.group = "AFRICAN"})->items.n, 4);
    assert_int_equal(s_needs(f, (tam_needs_query_t){.group = "WEOG"})->items.n, 1);
    assert_int_equal(s_needs(f, (tam_needs_query_t){.category = "A"})->items.n, 4);
    assert_int_equal(s_needs(f, (tam_needs_query_t){.standard = "A-SMR"})->items.n, 3);
    assert_int_equal(s_needs(f, (tam_needs_query_t){.respondent = "AU"})->items.n, 2);
    assert_int_equal(s_needs(f, (tam_needs_query_t){.country = "SSD", .respondent = "AU"})->items.n, 1);
    assert_int_equal(s_needs(f, (tam_needs_query_t){.country = "FRA", .category = "A"})->items.n, 0);

    /* Pages of two: ids increase, every need once, next 0 at the end. */
    uint64_t after = 0, prev = 0;
    size_t seen = 0, pages = 0;
    do {
        tam_need_list_t *l = s_needs(f, (tam_needs_query_t){.after = after, .limit = 2});
        assert_true(l->items.n <= 2);
        for (uint32_t i = 0; i < l->items.n; i++) {
            assert_true(l->items.v[i].id > prev);
            prev = l->items.v[i].id;
        }
        seen += l->items.n;
        after = l->next;
        pages++;
    } while (after && pages < 10);
    assert_int_equal(seen, 5);
    assert_int_equal(pages, 3);

    /* Replies by the countries they concern. */
    assert_int_equal(s_replies(f, (tam_replies_query_t){.country = "UGA"})->items.n, 1);
    assert_int_equal(s_replies(f, (tam_replies_query_t){.country = "KEN"})->items.n, 1);
    assert_int_equal(s_replies(f, (tam_replies_query_t){.group = "AFRICAN"})->items.n, 2);
    assert_int_equal(s_replies(f, (tam_replies_query_t){.group = "WEOG", .category = "B"})->items.n, 1);
    assert_int_equal(s_replies(f, (tam_replies_query_t){.group = "WEOG", .category = "A"})->items.n, 0);
    tam_reply_list_t *rl = s_replies(f, (tam_replies_query_t){.respondent = "AU"});
    assert_int_equal(rl->items.n, 1);
    assert_int_equal(rl->items.v[0].countries.n, 2);
    assert_string_equal(rl->items.v[0].countries.v[0], "SSD");
    assert_string_equal(rl->items.v[0].countries.v[1], "UGA");
    rl = s_replies(f, (tam_replies_query_t){.limit = 2});
    assert_int_equal(rl->items.n, 2);
    assert_int_equal(rl->next, 2);
    rl = s_replies(f, (tam_replies_query_t){.limit = 2, .after = 2});
    assert_int_equal(rl->items.n, 1);
    assert_int_equal(rl->next, 0);
    rl = s_replies(f, (tam_replies_query_t){.after = UINT64_MAX});
    assert_int_equal(rl->items.n, 0);
}

static void t_query_checks(void **state)
{
    fixture_t *f = *state;
    tam_rpc_error_t err = {0};
    tam_needs_query_t q = {.country = "XXX", .group = "NORDIC", .category = "E", .standard = "A-NOPE",
                           .state = "maybe", .respondent = "a b"};
    assert_int_equal(tam_ingest_needs_check(f->cat, &q, &err), TAM_EINVAL);
    assert_int_equal(err.n, 6);
    assert_string_equal(err.errors[0].field, "country");
    assert_string_equal(err.errors[1].field, "group");
    assert_string_equal(err.errors[2].field, "category");
    assert_string_equal(err.errors[3].field, "respondent");
    assert_string_equal(err.errors[4].field, "standard");
    assert_string_equal(err.errors[5].field, "state");
    tam_rpc_error_clear(&err);
    q = (tam_needs_query_t){.category = "A", .standard = "B-MLA"};
    assert_int_equal(tam_ingest_needs_check(f->cat, &q, &err), TAM_EINVAL);
    assert_non_null(strstr(err.message, "belongs to category B"));
    tam_rpc_error_clear(&err);
    q = (tam_needs_query_t){.state = "no_need", .status = "open"};
    assert_int_equal(tam_ingest_needs_check(f->cat, &q, &err), TAM_EINVAL);
    assert_string_equal(err.field, "status");
    tam_rpc_error_clear(&err);
    q = (tam_needs_query_t){.status = "closed"};
    assert_int_equal(tam_ingest_needs_check(f->cat, &q, &err), TAM_EINVAL);
    tam_rpc_error_clear(&err);
    q = (tam_needs_query_t){.state = "unanswered", .country = "KEN", .respondent = "KEN"};
    assert_int_equal(tam_ingest_needs_check(f->cat, &q, &err), 0);
    tam_replies_query_t rq = {.status = "old", .country = "KE"};
    assert_int_equal(tam_ingest_replies_check(f->cat, &rq, &err), TAM_EINVAL);
    assert_int_equal(err.n, 2);
    tam_rpc_error_clear(&err);
    rq = (tam_replies_query_t){.status = "any", .group = "GRULAC", .respondent = "UNODC"};
    assert_int_equal(tam_ingest_replies_check(f->cat, &rq, &err), 0);
}

/* ---- snapshot ------------------------------------------------------------ */

typedef struct {
    size_t n;
    char topics[16][16];
    uint64_t ids[16];
    fixture_t *f;
    const char *prefix;
} s_snaprec_t;

static int s_snap_emit(void *ctx, const char *topic, size_t topic_len, const void *body, size_t len)
{
    s_snaprec_t *s = ctx;
    /* As the feed server does: records outside the prefix are skipped. */
    if (strncmp(topic, s->prefix, strlen(s->prefix)) != 0)
        return 0;
    assert_true(s->n < 16 && topic_len < 16);
    memcpy(s->topics[s->n], topic, topic_len);
    s->topics[s->n][topic_len] = 0;
    tam_need_t n;
    tam_codec_err_t cerr;
    memset(&n, 0, sizeof n);
    assert_int_equal(tam_decode(&tam_schema_need, body, len, s->f->a, &n, &cerr), 0);
    assert_int_equal(n.status, TAM_E_need_status_open);
    s->ids[s->n++] = n.id;
    return 0;
}

static int s_snap_fn(tam_txn_t *txn, void *arg)
{
    s_snaprec_t *s = arg;
    return tam_ingest_snapshot(txn, s->prefix, s_snap_emit, s);
}

static size_t s_snap(fixture_t *f, const char *prefix, s_snaprec_t *out)
{
    memset(out, 0, sizeof *out);
    out->f = f;
    out->prefix = prefix;
    assert_int_equal(tam_store_read(f->s, s_snap_fn, out), 0);
    return out->n;
}

static void t_snapshot(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"), NEED("KEN", "A-SMR", 1))), 0);
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "B", ANS("B-MLA", "need"), NEED("KEN", "B-MLA", 1))), 0);
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("FRA", "A", ANS("A-SMR", "need"), NEED("FRA", "A-SMR", 1))), 0);
    /* KEN revises A: need 1 keeps its id, version 2. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"), NEED("KEN", "A-SMR", 2))), 0);
    s_snaprec_t s;
    assert_int_equal(s_snap(f, "", &s), 3);
    assert_string_equal(s.topics[0], "need/FRA/A");
    assert_string_equal(s.topics[1], "need/KEN/A");
    assert_int_equal(s.ids[1], 1);
    assert_string_equal(s.topics[2], "need/KEN/B");
    assert_int_equal(s_snap(f, "need/", &s), 3);
    assert_int_equal(s_snap(f, "ne", &s), 3);
    assert_int_equal(s_snap(f, "need/KEN", &s), 2);
    assert_int_equal(s_snap(f, "need/KEN/", &s), 2);
    assert_int_equal(s_snap(f, "need/KEN/B", &s), 1);
    assert_int_equal(s.ids[0], 2);
    assert_int_equal(s_snap(f, "need/K", &s), 2);
    assert_int_equal(s_snap(f, "need/KEN/C", &s), 0);
    assert_int_equal(s_snap(f, "need/KEN/B/", &s), 0);
    assert_int_equal(s_snap(f, "proposal/", &s), 0);
    assert_int_equal(s_snap(f, "needs", &s), 0);
}

/* ---- map growth ---------------------------------------------------------- */

static void t_map_growth_rerun(void **state)
{
    fixture_t *f = *state;
    tam_store_close(&f->s);
    f->map_size = 1 << 20; /* 1 MiB: must grow several times */
    assert_int_equal(s_open(f), 0);
    char text[3001];
    memset(text, 'x', 3000);
    text[3000] = 0;
    tam_submit_ack_t ack;
    for (int i = 0; i < 400; i++) {
        assert_int_equal(s_submit(f, &ack,
                                  "{\"respondent\":{\"type\":\"ngo\",\"id\":\"ngo-%d\"},"
                                  "\"instrument\":{\"category\":\"A\",\"version\":1},\"completeness\":10,"
                                  "\"answers\":[" ANS("A-SMR", "need") "],"
                                  "\"needs\":[{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"training\","
                                  "\"priority\":3,\"cost\":9,\"start\":\"2027-01-01\",\"end\":\"2027-12-31\","
                                  "\"text\":\"%s\"}]}",
                                  i, text),
                         0);
        assert_int_equal(ack.reply_id, (uint64_t)i + 1);
        tam_arena_reset(f->a);
    }
    assert_true(tam_store_grow_count(f->s) > 0);
    /* One event per need, whatever the re-runs. */
    assert_int_equal(f->ev.n, 400);
    for (size_t i = 0; i < f->ev.n; i++) {
        tam_need_t n = s_event(f, i);
        assert_int_equal(n.id, i + 1);
        tam_arena_reset(f->a);
    }
    /* Reopened, the store holds each reply and need once. */
    tam_store_close(&f->s);
    assert_int_equal(s_open(f), 0);
    size_t replies = 0;
    uint64_t after = 0;
    int pages = 0;
    do {
        tam_reply_list_t *rl = s_replies(f, (tam_replies_query_t){.after = after, .limit = 1000});
        replies += rl->items.n;
        after = rl->next;
        tam_arena_reset(f->a);
    } while (after && ++pages < 10);
    assert_int_equal(replies, 400);
}

/* ---- damaged records ------------------------------------------------------ */

typedef struct {
    const char *db;
    uint64_t id;
    const char *bytes;
    size_t len;
} s_poke_t;

static int s_poke_fn(tam_txn_t *txn, void *arg)
{
    s_poke_t *p = arg;
    uint8_t key[8];
    tam_key_u64(key, p->id);
    return tam_txn_put(txn, p->db, key, 8, p->bytes, p->len, 0);
}

static void s_poke(fixture_t *f, const char *db, uint64_t id, const char *bytes, size_t len)
{
    s_poke_t p = {db, id, bytes, len};
    assert_int_equal(tam_store_write(f->s, s_poke_fn, &p), 0);
}

static int s_read_rc(fixture_t *f, int which, const void *q, uint64_t id)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    s_read_t r = {f, which, q, id, &out};
    int rc = tam_store_read(f->s, s_read_fn, &r);
    msgpack_sbuffer_destroy(&out);
    return rc;
}

/* A listing with a record that does not decode: answered (0), the rest
 * listed, the record's key under "damaged" (issue 17). Returns 1 when so. */
static int s_listing_damaged(fixture_t *f, int which, const void *q, const char *key)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    s_read_t r = {f, which, q, 0, &out};
    int rc = tam_store_read(f->s, s_read_fn, &r);
    int ok = 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (rc == 0 && msgpack_unpack_next(&u, out.data, out.size, NULL) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 7 &&
                memcmp(kv->key.via.str.ptr, "damaged", 7) == 0 && kv->val.type == MSGPACK_OBJECT_ARRAY &&
                kv->val.via.array.size == 1 && kv->val.via.array.ptr[0].type == MSGPACK_OBJECT_STR &&
                kv->val.via.array.ptr[0].via.str.size == strlen(key) &&
                memcmp(kv->val.via.array.ptr[0].via.str.ptr, key, strlen(key)) == 0)
                ok = 1;
        }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&out);
    return ok;
}

/* Records that do not decode: a listing leaves them out and names them
 * (the rest is answered); a single record and a revision of it fail with
 * TAM_ESTORE (logged); never a crash or garbage. */
static void t_damaged_records(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"), NEED("KEN", "A-SMR", 1))), 0);
    tam_needs_query_t nq = {0}, aq = {.state = "no_need"};
    tam_replies_query_t rq = {0};
    s_poke(f, "needs", 1, "\xc1", 1);                 /* not msgpack */
    assert_true(s_listing_damaged(f, 0, &nq, "1"));
    s_poke(f, "answers", 1, "\x93\x01\x02\x03", 4); /* an array of the wrong shape */
    assert_true(s_listing_damaged(f, 0, &aq, "1"));
    s_poke(f, "answers", 1, "\x95\xa3KEN\x00\xa3KEN\xa1" "A\x92\xa5" "A-SMR\x09", 20); /* bad state */
    assert_true(s_listing_damaged(f, 0, &aq, "1"));
    s_poke(f, "replies", 1, "\x81\xa2id\x01", 5);   /* a map missing fields */
    assert_true(s_listing_damaged(f, 1, &rq, "1"));
    assert_int_equal(s_read_rc(f, 2, NULL, 1), TAM_ESTORE); /* the record itself */
    /* A revision of the damaged reply is refused; nothing changes. */
    size_t n = f->ev.n;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"), NEED("KEN", "A-SMR", 2))), TAM_ESTORE);
    assert_int_equal(f->ev.n, n);
    /* Other respondents are not affected. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("UGA", "A", ANS("A-SMR", "need"), NEED("UGA", "A-SMR", 2))), 0);
    assert_int_equal(ack.reply_id, 2);
}

/* An event that cannot be taken fails the write: nothing is committed. */
static void t_emit_failure(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"), NEED("KEN", "A-SMR", 1))), 0);
    f->ev.fail = 1; /* the revision's event: the new version of need 1 */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"), NEED("KEN", "A-SMR", 2))), TAM_EIO);
    tam_need_list_t *l = s_needs(f, (tam_needs_query_t){.status = "any"});
    assert_int_equal(l->items.n, 1);
    assert_int_equal(l->items.v[0].status, TAM_E_need_status_open);
    assert_int_equal(l->items.v[0].cost, 1);
    assert_int_equal(s_replies(f, (tam_replies_query_t){.status = "any"})->items.n, 1);
    /* The same revision goes through afterwards, with the next reply id. */
    assert_int_equal(s_submit(f, &ack, STATE_REPLY("KEN", "A", ANS("A-SMR", "need"), NEED("KEN", "A-SMR", 2))), 0);
    assert_int_equal(ack.reply_id, 2);
    assert_int_equal(ack.revision, 2);
    assert_int_equal(ack.need_ids.v[0], 1);
    assert_int_equal(ack.need_versions.v[0], 2);
}

static void t_bad_arguments(void **state)
{
    fixture_t *f = *state;
    tam_submit_ack_t ack;
    assert_int_equal(tam_ingest_apply(NULL, f->cat, NULL, NULL, 0, TODAY, s_emit, &f->ev, f->a, &ack,
                                      NULL),
                     TAM_EINVAL);
    char topic[16];
    assert_int_equal(tam_ingest_topic("KE", "A", topic), TAM_EINVAL);
    assert_int_equal(tam_ingest_topic("KEN", "AB", topic), TAM_EINVAL);
    assert_int_equal(tam_ingest_topic("KEN", "A", topic), 0);
    assert_string_equal(topic, "need/KEN/A");
    tam_rpc_error_t err = {0};
    assert_int_equal(tam_ingest_needs_check(NULL, NULL, &err), TAM_EINVAL);
    assert_int_equal(tam_ingest_snapshot(NULL, "", s_snap_emit, NULL), TAM_EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, before, after)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_first_reply), T(t_revision),   T(t_answers),          T(t_filters_and_paging),
        T(t_query_checks), T(t_snapshot), T(t_map_growth_rerun), T(t_damaged_records),
        T(t_emit_failure), T(t_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}

/* test_money_flow.c — issue 10's acceptance scenario with the real services,
 * driven through tamctl: the demo data; Kenya's A reply with two needs; a
 * manager endorses a proposal on the A-SMR need, donor liaison commits
 * 100,000 of it (and another commitment elsewhere); Kenya re-sends its reply
 * changing only the text of its other need. Then:
 *   - gaps, donors and pipeline (their totals and their rows), pipeline.money
 *     (project show / list) and the decisions all show the same committed;
 *   - nothing beyond the need's cost is proposed to it (what decisions hold
 *     plus what is proposed stays within the cost);
 *   - where tam-ingest keeps need ids across revisions (issue 10, identity
 *     part), the need keeps its id and its decision carries no flag; where it
 *     does not yet, the old need is withdrawn and the decision is flagged;
 * then a revision that drops the need flags the decision (decisions
 * --attention, the pipeline report's attention table), and the reports still
 * agree; a manager acknowledges and the flag goes, the money stays. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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
#include <zmq.h>
#include "tam/error.h"
#include "tam/rpc.h"
#include "services_harness.h"

/* Runs tamctl --json ARGS... and returns the parsed answer (must succeed). */
static json_t *s_json(h_t *h, ...)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = "--json";
    va_list ap;
    va_start(ap, h);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 15)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char out[160], err[160];
    snprintf(out, sizeof out, "%s/json.out", h->dir);
    snprintf(err, sizeof err, "%s/json.err", h->dir);
    int rc = s_tamctl(h, out, err, argv[0], argv[1], n > 2 ? argv[2] : NULL,
                      n > 3 ? argv[3] : NULL, n > 4 ? argv[4] : NULL, n > 5 ? argv[5] : NULL,
                      n > 6 ? argv[6] : NULL, NULL);
    if (rc != 0) {
        char *e = s_slurp(err);
        fail_msg("tamctl %s %s failed (%d): %s", argv[1], n > 2 ? argv[2] : "", rc, e);
    }
    json_error_t je;
    json_t *o = json_load_file(out, 0, &je);
    if (!o)
        fail_msg("tamctl %s: not JSON: %s", argv[1], je.text);
    return o;
}

static int64_t s_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not a JSON number", key);
    return (int64_t)json_integer_value(v);
}

/* Writes Kenya's A reply: A-SMR 180,000 and A-TOKYO 60,000 with the text given. */
static void s_reply(const char *path, const char *tokyo_text, bool with_smr)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"respondent\": {\"type\": \"member_state\", \"id\": \"KEN\"},\n"
            " \"instrument\": {\"category\": \"A\", \"version\": 1}, \"completeness\": 90,\n"
            " \"answers\": [{\"standard\": \"A-SMR\", \"state\": \"%s\"},\n"
            "             {\"standard\": \"A-TOKYO\", \"state\": \"need\"},\n"
            /* every other standard of category A answered: a complete reply */
            "             {\"standard\": \"A-SMR-PROC\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-BPTP\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-BODY\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-DPSAFE\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-BANGKOK\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-BEIJING\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-RIYADH\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-HAVANA\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-CHILDCJS\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-RJ\", \"state\": \"no_need\"}],\n"
            " \"needs\": [",
            with_smr ? "need" : "no_need");
    if (with_smr)
        fprintf(f, "{\"country\": \"KEN\", \"standard\": \"A-SMR\", \"modality\": \"training\", "
                   "\"priority\": 5, \"cost\": 180000, \"start\": \"2027-01-01\", "
                   "\"end\": \"2027-12-31\", \"text\": \"Training of prison officers.\"},\n");
    fprintf(f, "{\"country\": \"KEN\", \"standard\": \"A-TOKYO\", \"modality\": \"workshop\", "
               "\"priority\": 3, \"cost\": 60000, \"start\": \"2027-03-01\", "
               "\"end\": \"2027-12-31\", \"text\": \"%s\"}]}\n",
            tokyo_text);
    fclose(f);
}

/* The open A-SMR need of KEN: its id (0 if none). */
static uint64_t s_smr_need(h_t *h)
{
    json_t *o = s_json(h, "needs", "--country", "KEN", "--standard", "A-SMR", NULL);
    uint64_t id = 0;
    size_t i;
    json_t *it;
    json_t *items = json_is_array(o) ? o : json_object_get(o, "items");
    json_array_foreach(items, i, it)
        id = (uint64_t)s_int(it, "id");
    json_decref(o);
    return id;
}

static void s_wait(h_t *h)
{
    char err[160];
    snprintf(err, sizeof err, "%s/wait.err", h->dir);
    assert_int_equal(s_tamctl(h, NULL, err, "wait", "--timeout", "30", NULL), 0);
}

/* Every report and listing agrees on committed; returns it. Also checks the
 * identities of the totals and that the rows add up to them. */
static int64_t s_agree(h_t *h)
{
    static const char *const kinds[] = {"gaps", "donors", "pipeline"};
    int64_t committed = -1;
    json_t *first = NULL;
    for (size_t k = 0; k < 3; k++) {
        json_t *r = s_json(h, "report", kinds[k], NULL);
        json_t *t = json_object_get(r, "totals");
        assert_non_null(t);
        int64_t c = s_int(t, "committed");
        assert_int_equal(s_int(t, "unmet"), s_int(t, "requested") - s_int(t, "proposed") -
                                                s_int(t, "endorsed") - c);
        assert_int_equal(s_int(t, "unallocated"), s_int(t, "received") - c -
                                                      s_int(t, "endorsed") - s_int(t, "proposed"));
        if (committed < 0)
            committed = c, first = json_deep_copy(t);
        else
            assert_true(json_equal(first, t));
        /* the rows: gaps and donors have a committed column */
        json_t *cols = json_object_get(r, "columns");
        size_t ci = (size_t)-1, i;
        json_t *x;
        json_array_foreach(cols, i, x)
            if (strcmp(json_string_value(x), "committed") == 0)
                ci = i;
        if (ci != (size_t)-1) {
            int64_t sum = 0;
            json_array_foreach(json_object_get(r, "rows"), i, x)
                sum += atoll(json_string_value(json_array_get(json_object_get(x, "cells"), ci)));
            if (sum != c)
                fail_msg("report %s: rows hold %lld committed, its totals %lld", kinds[k],
                         (long long)sum, (long long)c);
        }
        json_decref(r);
    }
    json_decref(first);
    /* the decisions themselves */
    json_t *d = s_json(h, "decisions", "--limit", "10000", NULL);
    int64_t sum = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(d, "items"), i, it) {
        const char *st = json_string_value(json_object_get(it, "state"));
        if (strcmp(st, "committed") == 0 || strcmp(st, "delivered") == 0)
            sum += s_int(it, "committed");
    }
    json_decref(d);
    assert_int_equal(sum, committed);
    return committed;
}

/* What decisions hold on need id, plus what tam-match proposes beyond them
 * (a proposal's amount counts only beyond what its own decision fixes),
 * stays within its cost. */
static void s_within_cost(h_t *h, uint64_t need, int64_t cost)
{
    json_t *p = s_json(h, "proposals", "--country", "KEN", NULL);
    json_t *d = s_json(h, "decisions", "--country", "KEN", NULL);
    int64_t beyond = 0, held = 0;
    size_t i, j;
    json_t *it, *di;
    json_array_foreach(json_object_get(d, "items"), j, di) {
        const char *st = json_string_value(json_object_get(di, "state"));
        if ((uint64_t)s_int(di, "need") != need)
            continue;
        if (strcmp(st, "committed") == 0 || strcmp(st, "delivered") == 0)
            held += s_int(di, "committed");
        else if (strcmp(st, "endorsed") == 0)
            held += s_int(di, "endorsed");
    }
    json_array_foreach(json_object_get(p, "items"), i, it) {
        if ((uint64_t)s_int(it, "need") != need)
            continue;
        int64_t fixed = 0;
        bool declined = false;
        json_array_foreach(json_object_get(d, "items"), j, di) {
            if (strcmp(json_string_value(json_object_get(di, "proposal")),
                       json_string_value(json_object_get(it, "id"))) != 0)
                continue;
            const char *st = json_string_value(json_object_get(di, "state"));
            declined = strcmp(st, "declined") == 0;
            if (strcmp(st, "committed") == 0 || strcmp(st, "delivered") == 0)
                fixed = s_int(di, "committed");
            else if (strcmp(st, "endorsed") == 0)
                fixed = s_int(di, "endorsed");
        }
        int64_t amt = s_int(it, "amount");
        if (!declined && amt > fixed)
            beyond += amt - fixed;
    }
    json_decref(p);
    json_decref(d);
    if (held + beyond > cost)
        fail_msg("need %llu: %lld held + %lld proposed beyond the decisions > cost %lld",
                 (unsigned long long)need, (long long)held, (long long)beyond, (long long)cost);
}

/* The current run id, as `tamctl wait` names it on stderr. */
static unsigned long long s_run_id(h_t *h)
{
    char err[160];
    snprintf(err, sizeof err, "%s/runid.err", h->dir);
    assert_int_equal(s_tamctl(h, NULL, err, "wait", "--timeout", "30", NULL), 0);
    char *said = s_slurp(err);
    unsigned long long run = 0;
    const char *at = strstr(said, "run ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "run %llu reflects", &run), 1);
    free(said);
    return run;
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_money_flow", "coalesce = 50ms\nsync_wait = 2s\n");
    *state = h;
    return h ? 0 : -1;
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

static void test_kenya(void **state)
{
    h_t *h = *state;
    for (int s = 0; s < S_N; s++) {
        assert_true(h->have[s]);
        if (s_start(h, s) != 0)
            fail_msg("tam-%s did not start; see %s/%s.log", s_names[s], h->dir, s_names[s]);
    }
    char data[512], err[160], p[4][600], cmd[1200];
    snprintf(data, sizeof data, "%s/config/samples/demo", h->src);
    snprintf(err, sizeof err, "%s/tamctl.err", h->dir);
    snprintf(p[0], sizeof p[0], "%s/donors.json", data);
    snprintf(p[1], sizeof p[1], "%s/projects.json", data);
    snprintf(p[2], sizeof p[2], "%s/ledger.json", data);
    snprintf(p[3], sizeof p[3], "%s/context.json", data);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "donor", "add", p[0], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "project", "add", p[1], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "ledger", "import", p[2], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "context", "set", p[3], NULL), 0);
    snprintf(cmd, sizeof cmd, "%s/tamctl -c %s -q submit %s/replies/*.json >/dev/null 2>%s",
             h->bin, h->cfg, data, err);
    assert_int_equal(system(cmd), 0);
    char reply[160];
    snprintf(reply, sizeof reply, "%s/ken-a.json", h->dir);
    s_reply(reply, "A workshop on non-custodial measures.", true);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "submit", reply, NULL), 0);
    s_wait(h);
    uint64_t need = s_smr_need(h);
    assert_true(need > 0);

    /* a proposal on the need: endorse it, commit 100,000 (or all of it) */
    json_t *o = s_json(h, "proposals", "--country", "KEN", "--standard", "A-SMR", NULL);
    json_t *pr = json_array_get(json_object_get(o, "items"), 0);
    assert_non_null(pr);
    char prop[64], amount[24], commit[24];
    snprintf(prop, sizeof prop, "%s", json_string_value(json_object_get(pr, "id")));
    int64_t amt = s_int(pr, "amount");
    json_decref(o);
    snprintf(amount, sizeof amount, "%lld", (long long)amt);
    snprintf(commit, sizeof commit, "%lld", (long long)(amt < 100000 ? amt : 100000));
    assert_int_equal(s_tamctl(h, NULL, err, "endorse", prop, "--amount", amount, "--reason",
                              "Kenya prisons", NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "commit", prop, "--amount", commit, "--reason",
                              "agreed with the donor", NULL), 0);
    /* another commitment elsewhere: the top proposal of the run that knows
     * the commitment above (queries answer from the last published run
     * while the next one is computed: wait for it) */
    s_wait(h);
    o = s_json(h, "proposals", "--top", "1", NULL);
    char other[64];
    snprintf(other, sizeof other, "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(o, "items"), 0), "id")));
    json_decref(o);
    assert_int_equal(s_tamctl(h, NULL, err, "endorse", other, "--reason", "r", NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "commit", other, "--reason", "r", NULL), 0);
    s_wait(h);
    int64_t before = s_agree(h);
    print_message("    %s: endorsed %s, committed %s; %lld committed in all\n", prop, amount,
                  commit, (long long)before);

    /* Kenya re-sends its reply, changing only the other need's text */
    s_reply(reply, "A workshop on non-custodial measures for magistrates.", true);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "submit", reply, NULL), 0);
    s_wait(h);
    s_wait(h);
    uint64_t after = s_smr_need(h);
    assert_int_equal(s_agree(h), before);
    s_within_cost(h, need, 180000);
    s_within_cost(h, after, 180000);
    json_t *att = s_json(h, "decisions", "--attention", NULL);
    size_t flagged = json_array_size(json_object_get(att, "items"));
    json_decref(att);
    bool kept = after == need;
    if (kept) {
        print_message("    the need kept its id %llu; its decision is not flagged\n",
                      (unsigned long long)need);
        assert_int_equal(flagged, 0);
    } else {
        /* tam-ingest does not keep need ids yet: the old need is withdrawn,
         * and its decision flagged; the money still counts everywhere */
        print_message("    the need got a new id (%llu -> %llu): the decision on %llu is "
                      "flagged need_withdrawn\n",
                      (unsigned long long)need, (unsigned long long)after,
                      (unsigned long long)need);
        assert_int_equal(flagged, 1);
    }

    /* a revision that drops the need: flagged, listed, and the reports agree */
    s_reply(reply, "A workshop on non-custodial measures for magistrates.", false);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "submit", reply, NULL), 0);
    s_wait(h);
    int64_t deadline = s_now_ms() + 15000;
    for (;;) { /* tam-pipeline flags it once the needs feed reaches it */
        att = s_json(h, "decisions", "--attention", NULL);
        flagged = json_array_size(json_object_get(att, "items"));
        if (flagged == 1 || s_now_ms() > deadline)
            break;
        json_decref(att);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling another process's state */
    }
    assert_int_equal(flagged, 1);
    assert_int_equal(s_smr_need(h), 0);
    json_t *d = json_array_get(json_object_get(att, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "proposal")), prop);
    assert_string_equal(json_string_value(json_object_get(d, "flag")), "need_withdrawn");
    assert_string_equal(json_string_value(json_object_get(d, "state")), "committed");
    json_decref(att);
    assert_int_equal(s_agree(h), before);
    json_t *r = s_json(h, "report", "pipeline", NULL);
    json_t *part = json_array_get(json_object_get(r, "more"), 1);
    assert_non_null(part);
    assert_int_equal(json_array_size(json_object_get(part, "rows")), 1);
    json_decref(r);
    /* the history shows tam-pipeline's own act */
    char out[160];
    snprintf(out, sizeof out, "%s/history.out", h->dir);
    assert_int_equal(s_tamctl(h, out, err, "history", prop, NULL), 0);
    char *text = s_slurp(out);
    assert_non_null(strstr(text, "tam-pipeline"));
    assert_non_null(strstr(text, "flag"));
    free(text);
    /* the manager acknowledges: the flag goes, the money stays */
    assert_int_equal(s_tamctl(h, NULL, err, "acknowledge", prop, "--reason", "seen", NULL), 0);
    att = s_json(h, "decisions", "--attention", NULL);
    assert_int_equal(json_array_size(json_object_get(att, "items")), 0);
    json_decref(att);
    assert_int_equal(s_agree(h), before);

    /* a tam-match restart between two runs; then endorse --run <old run> is
     * refused, naming the current run; run ids keep rising */
    o = s_json(h, "proposals", "--top", "10", NULL);
    char free_prop[64] = "";
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(o, "items"), i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        if (!free_prop[0] && strcmp(id, prop) != 0 && strcmp(id, other) != 0)
            snprintf(free_prop, sizeof free_prop, "%s", id);
    }
    json_decref(o);
    assert_true(free_prop[0] != 0);
    unsigned long long r1 = s_run_id(h);
    assert_int_equal(s_stop(h, S_MATCH), 0);
    assert_int_equal(s_start(h, S_MATCH), 0);
    unsigned long long r2 = s_run_id(h);
    if (r2 <= r1)
        fail_msg("run ids went back across a tam-match restart: %llu then %llu", r1, r2);
    char old[24], now[64];
    snprintf(old, sizeof old, "%llu", r1);
    snprintf(now, sizeof now, "the current run is %llu", r2);
    deadline = s_now_ms() + 15000;
    char *said = NULL;
    for (;;) { /* until tam-pipeline has the restarted matcher's run */
        int rc = s_tamctl(h, NULL, err, "endorse", free_prop, "--run", old, "--reason", "late",
                          NULL);
        assert_int_not_equal(rc, 0);
        free(said);
        said = s_slurp(err);
        if (strstr(said, now) || s_now_ms() > deadline)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling another process's state */
    }
    if (!strstr(said, "is not the current run") || !strstr(said, now))
        fail_msg("endorse --run %s: %s", old, said);
    print_message("    after a tam-match restart (run %llu -> %llu): %s", r1, r2, said);
    free(said);
    /* nothing was written: the pair has no decision */
    json_t *dq = s_json(h, "decisions", "--limit", "10000", NULL);
    json_array_foreach(json_object_get(dq, "items"), i, it)
        assert_string_not_equal(json_string_value(json_object_get(it, "proposal")), free_prop);
    json_decref(dq);

    /* tam-registry down: endorse uses the last projects feed tam-pipeline
     * received, and says so and how old it is */
    assert_int_equal(s_stop(h, S_REGISTRY), 0);
    char log[160];
    snprintf(log, sizeof log, "%s/pipeline.log", h->dir);
    deadline = s_now_ms() + 15000;
    for (;;) { /* until tam-pipeline notices (heartbeat silence) */
        char *logged = s_slurp(log);
        bool seen = strstr(logged, "feed of tam-registry: resynchronising") != NULL;
        free(logged);
        if (seen)
            break;
        if (s_now_ms() > deadline)
            fail_msg("tam-pipeline did not notice tam-registry going away");
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling another process's log */
    }
    assert_int_equal(s_tamctl(h, NULL, err, "endorse", free_prop, "--reason", "registry down",
                              NULL), 0);
    said = s_slurp(err);
    if (!strstr(said, "tam-registry's projects feed is not current") ||
        !strstr(said, "as of its last feed, current ") || !strstr(said, " ago"))
        fail_msg("endorse with tam-registry down said: %s", said);
    print_message("    %s", said);
    free(said);
    assert_int_equal(s_start(h, S_REGISTRY), 0);
    s_wait(h);

    /* explain gives the money of the one money model: after that endorsement
     * its project's available is project show's (tam-pipeline's), after
     * commitments and endorsements, and so are the need's figures */
    char proj[40];
    snprintf(proj, sizeof proj, "%s", strchr(free_prop, '/') + 1);
    json_t *ex = s_json(h, "explain", free_prop, NULL);
    json_t *em = json_object_get(ex, "money");
    if (!json_is_object(em))
        fail_msg("explain %s gives no money", free_prop);
    json_t *show = s_json(h, "project", "show", proj, NULL);
    json_t *sm = json_object_get(show, "money");
    assert_non_null(sm);
    static const char *const same[][2] = {
        {"project_received", "received"},   {"project_committed", "committed"},
        {"project_endorsed", "endorsed"},   {"project_available", "available"},
        {"project_proposed", "proposed"},   {"project_unallocated", "unallocated"},
    };
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
        if (s_int(em, same[k][0]) != s_int(sm, same[k][1]))
            fail_msg("explain %s: %s %lld, project show %s: %s %lld", free_prop, same[k][0],
                     (long long)s_int(em, same[k][0]), proj, same[k][1],
                     (long long)s_int(sm, same[k][1]));
    assert_true(s_int(em, "project_endorsed") > 0);
    assert_int_equal(s_int(em, "project_available"),
                     s_int(em, "project_received") - s_int(em, "project_committed") -
                         s_int(em, "project_endorsed"));
    /* the need: as in the gaps report's identity */
    assert_true(s_int(em, "need_endorsed") > 0);
    assert_int_equal(s_int(em, "need_unmet"), s_int(em, "need_requested") -
                                                  s_int(em, "need_proposed") -
                                                  s_int(em, "need_endorsed") -
                                                  s_int(em, "need_committed"));
    print_message("    explain %s: project %s available %lld USD, as project show says "
                  "(the run may still give %lld)\n", free_prop, proj,
                  (long long)s_int(em, "project_available"),
                  (long long)s_int(ex, "project_available"));
    json_decref(show);
    json_decref(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kenya)};
    return cmocka_run_group_tests_name("money", tests, s_setup, s_teardown);
}

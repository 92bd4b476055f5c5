/* test_match.c — tam-match end to end, with the real services: tam-ingest,
 * tam-registry, tam-pipeline (when it is built) and tam-match on ipc://
 * endpoints in a temporary directory. The sample data goes in through
 * tamctl as a user would load it; `tamctl wait` sees the first complete
 * ranking; a reply submitted through tamctl shows up as new proposals in
 * `tamctl watch --count`; explain, gaps and export-lp answer; the LP export
 * re-solves to the same optimum in glpsol; and a restarted tam-match
 * rebuilds exactly the same proposals from the feeds. */
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
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>
#include "tam/error.h"
#include "tam/rpc.h"
#include "services_harness.h"

/* Starts `tamctl watch --country C --count 1` and returns once it holds the
 * snapshot (it says "watching" on stderr). */
static pid_t s_watch_start(h_t *h, const char *country)
{
    char wout[160], werr[160], exe[512];
    snprintf(wout, sizeof wout, "%s/watch.out", h->dir);
    snprintf(werr, sizeof werr, "%s/watch.err", h->dir);
    snprintf(exe, sizeof exe, "%s/tamctl", h->bin);
    unlink(werr);
    pid_t w = fork();
    if (w == 0) {
        int fo = open(wout, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(werr, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        /* category A only: the reply of s_reply is A's, and KEN's needs of
         * other categories may be re-scored by it (priority and urgency rank
         * a respondent's needs against its own) */
        execl(exe, exe, "-c", h->cfg, "watch", "--country", country, "--category", "A",
              "--count", "1", (char *)NULL);
        _exit(127);
    }
    int64_t deadline = s_now_ms() + 15000;
    for (;;) {
        char *text = s_slurp(werr);
        bool ready = strstr(text, "watching") != NULL;
        free(text);
        if (ready)
            return w;
        if (s_now_ms() > deadline) {
            kill(w, SIGKILL);
            waitpid(w, NULL, 0);
            fail_msg("tamctl watch did not get the snapshot within 15 s");
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling a file another process writes */
    }
}

/* Waits (at most 15 s) for the watcher to see its change; returns its output. */
static char *s_watch_end(h_t *h, pid_t w)
{
    int st = 0;
    int64_t deadline = s_now_ms() + 15000;
    while (waitpid(w, &st, WNOHANG) == 0) {
        if (s_now_ms() > deadline) {
            kill(w, SIGKILL);
            waitpid(w, &st, 0);
            fail_msg("tamctl watch saw no change within 15 s");
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char wout[160];
    snprintf(wout, sizeof wout, "%s/watch.out", h->dir);
    return s_slurp(wout);
}

/* Writes a one-need reply of country c for standard A-SMR into path. */
/* A reply of country c to category A: its first need (priority 5 of its
 * two: priority counts within the respondent's needs) and a second one; all
 * 12 standards answered (completeness is computed from the answers). */
static void s_reply(const char *path, const char *c)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"respondent\": {\"type\": \"member_state\", \"id\": \"%s\"},\n"
            " \"instrument\": {\"category\": \"A\", \"version\": 1}, \"completeness\": 90,\n"
            " \"answers\": [{\"standard\": \"A-SMR\", \"state\": \"need\"},\n"
            "             {\"standard\": \"A-BODY\", \"state\": \"need\"},\n"
            "             {\"standard\": \"A-TOKYO\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-BANGKOK\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-BEIJING\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-RIYADH\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-HAVANA\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-RJ\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-CHILDCJS\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-BPTP\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-SMR-PROC\", \"state\": \"no_need\"},\n"
            "             {\"standard\": \"A-DPSAFE\", \"state\": \"no_need\"}],\n"
            " \"needs\": [{\"country\": \"%s\", \"standard\": \"A-SMR\", \"modality\": "
            "\"training\", \"priority\": 5, \"cost\": 120000, \"start\": \"2026-12-01\", "
            "\"end\": \"2027-06-30\", \"text\": \"prison staff training\"},\n"
            "            {\"country\": \"%s\", \"standard\": \"A-BODY\", \"modality\": "
            "\"training\", \"priority\": 1, \"cost\": 50000, \"start\": \"2026-12-01\", "
            "\"end\": \"2027-06-30\"}]}\n", c, c, c);
    fclose(f);
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_match", "coalesce = 50ms\nsync_wait = 2s\n");
    *state = h;
    return h ? 0 : -1;
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

/* `tamctl proposals --json` with the history-dependent fields (run ids and
 * change reasons) removed: what must be identical after a restart. */
static char *s_canon_proposals(h_t *h)
{
    char out[160];
    snprintf(out, sizeof out, "%s/proposals.json", h->dir);
    assert_int_equal(s_tamctl(h, out, NULL, "--json", "proposals", "--top", "100000", NULL), 0);
    char *text = s_slurp(out);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    free(text);
    assert_non_null(o);
    json_object_del(o, "run");
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(o, "items"), i, it) {
        json_object_del(it, "run");
        json_object_del(it, "reason");
    }
    char *c = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return c;
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

/* Every demo proposal respects its project's thematic earmarks as a donor
 * means them: a listed standard, or a category listed without any of its
 * standards (docs/matching.md, rule 4). Returns how many proposals came from
 * projects that narrow a category. */
static int s_check_earmarks(h_t *h)
{
    char path[600], out[160];
    snprintf(path, sizeof path, "%s/config/samples/demo/projects.json", h->src);
    json_error_t je;
    json_t *projects = json_load_file(path, 0, &je);
    assert_non_null(projects);
    snprintf(out, sizeof out, "%s/all.json", h->dir);
    assert_int_equal(s_tamctl(h, out, NULL, "--json", "proposals", "--top", "100000", NULL), 0);
    json_t *props = json_load_file(out, 0, &je);
    assert_non_null(props);
    int narrowed = 0;
    size_t i, j, k;
    json_t *pr, *pj, *x;
    json_array_foreach(json_object_get(props, "items"), i, pr) {
        const char *pid = json_string_value(json_object_get(pr, "project"));
        const char *std = json_string_value(json_object_get(pr, "standard"));
        json_t *em = NULL;
        json_array_foreach(projects, j, pj)
            if (strcmp(json_string_value(json_object_get(pj, "id")), pid) == 0)
                em = json_object_get(pj, "earmarks");
        assert_non_null(em);
        json_t *cats = json_object_get(em, "categories"), *stds = json_object_get(em, "standards");
        if (json_array_size(cats) + json_array_size(stds) == 0)
            continue;
        bool listed = false, cat_listed = false, cat_narrowed = false;
        json_array_foreach(stds, k, x) {
            listed |= strcmp(json_string_value(x), std) == 0;
            cat_narrowed |= json_string_value(x)[0] == std[0]; /* "A-SMR": category A */
        }
        json_array_foreach(cats, k, x)
            cat_listed |= json_string_value(x)[0] == std[0];
        if (!listed && !(cat_listed && !cat_narrowed))
            fail_msg("proposal %s: standard %s is outside the earmarks of %s",
                     json_string_value(json_object_get(pr, "id")), std, pid);
        narrowed += cat_narrowed;
    }
    json_decref(projects);
    json_decref(props);
    return narrowed;
}

static void test_end_to_end(void **state)
{
    h_t *h = *state;
    for (int s = 0; s < S_N; s++) {
        if (s == S_PIPELINE && !h->have[s]) {
            print_message("    tam-pipeline not built: running without it\n");
            continue;
        }
        assert_true(h->have[s]);
        if (s_start(h, s) != 0)
            fail_msg("tam-%s did not start; see %s/%s.log", s_names[s], h->dir, s_names[s]);
    }
    char data[512], err[160], out[160];
    snprintf(data, sizeof data, "%s/config/samples/demo", h->src);
    snprintf(err, sizeof err, "%s/tamctl.err", h->dir);
    snprintf(out, sizeof out, "%s/tamctl.out", h->dir);
    char p[4][600];
    snprintf(p[0], sizeof p[0], "%s/donors.json", data);
    snprintf(p[1], sizeof p[1], "%s/projects.json", data);
    snprintf(p[2], sizeof p[2], "%s/ledger.json", data);
    snprintf(p[3], sizeof p[3], "%s/context.json", data);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "donor", "add", p[0], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "project", "add", p[1], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "ledger", "import", p[2], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "context", "set", p[3], NULL), 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s/tamctl -c %s -q submit %s/replies/*.json >/dev/null 2>%s",
             h->bin, h->cfg, data, err);
    assert_int_equal(system(cmd), 0);

    /* the first complete ranking; bursts of feed events cost few runs */
    assert_int_equal(s_tamctl(h, NULL, err, "wait", "--timeout", "30", NULL), 0);
    char *said = s_slurp(err);
    unsigned long long run = 0, ing = 0, reg = 0, pip = 0;
    assert_int_equal(sscanf(said, "run %llu reflects ingest %llu, registry %llu, pipeline %llu",
                            &run, &ing, &reg, &pip), 4);
    free(said);
    print_message("    first ranking: run %llu after %llu ingest and %llu registry events\n", run,
                  ing, reg);
    assert_true(ing >= 368 && reg >= 100);
    assert_true(run * 4 < ing + reg);
    int narrowed = s_check_earmarks(h);
    print_message("    %d proposal(s) from projects that earmark standards, all within them\n",
                  narrowed);
    assert_true(narrowed > 10);
    assert_int_equal(s_tamctl(h, out, err, "proposals", "--top", "5", NULL), 0);
    char *text = s_slurp(out);
    assert_non_null(strstr(text, "rank"));
    assert_non_null(strstr(text, "\n   1  "));
    free(text);

    /* watch KEN's proposals, then submit a reply for KEN */
    pid_t w = s_watch_start(h, "KEN");
    char reply[160];
    snprintf(reply, sizeof reply, "%s/ken.json", h->dir);
    s_reply(reply, "KEN");
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "submit", reply, NULL), 0);
    text = s_watch_end(h, w);
    print_message("    watch: %s", text);
    assert_non_null(strstr(text, "new_pair"));
    assert_non_null(strstr(text, " KEN A-SMR "));
    free(text);
    assert_int_equal(s_tamctl(h, NULL, err, "wait", "--timeout", "30", NULL), 0);

    /* explain the first proposal, list the gaps, export the problem */
    assert_int_equal(s_tamctl(h, out, err, "--json", "proposals", "--top", "1", NULL), 0);
    text = s_slurp(out);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    free(text);
    assert_non_null(o);
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(o, "items"), 0), "id"));
    assert_non_null(id);
    assert_int_equal(s_tamctl(h, out, err, "explain", id, NULL), 0);
    json_decref(o);
    text = s_slurp(out);
    assert_non_null(strstr(text, "eligibility:"));
    assert_non_null(strstr(text, "priority"));
    assert_non_null(strstr(text, "state proposed, rank 1 in run "));
    assert_non_null(strstr(text, "equity basis: "));
    print_message("    %.*s", (int)(strchr(strchr(text, '\n') + 1, '\n') - text + 1), text);
    free(text);
    assert_int_equal(s_tamctl(h, NULL, err, "explain", "1/NO-SUCH", NULL), EX_DATAERR);
    assert_int_equal(s_tamctl(h, out, err, "gaps", "--top", "3", NULL), 0);
    text = s_slurp(out);
    assert_non_null(strstr(text, "unfunded"));
    free(text);
    char lp[160];
    snprintf(lp, sizeof lp, "%s/run.lp", h->dir);
    assert_int_equal(s_tamctl(h, NULL, err, "export-lp", lp, NULL), 0);
    if (access("/usr/bin/glpsol", X_OK) == 0) {
        snprintf(cmd, sizeof cmd, "glpsol --lp %s -w %s/run.sol >/dev/null && "
                 "obj=$(awk '/^s /{print $7}' %s/run.sol) && grep -q \"objective = $obj$\" %s",
                 lp, h->dir, h->dir, lp);
        assert_int_equal(system(cmd), 0);
    }

    /* a restart rebuilds exactly the same proposals (same input hash), and
     * its runs are numbered on from where the last process stopped */
    char *before = s_canon_proposals(h);
    unsigned long long run_before = s_run_id(h), run_after = 0;
    assert_int_equal(s_stop(h, S_MATCH), 0);
    snprintf(cmd, sizeof cmd, "%s/data/match/run_id", h->dir);
    text = s_slurp(cmd);
    unsigned long long stored = 0;
    assert_int_equal(sscanf(text, "tamatch match run id %llu", &stored), 1);
    free(text);
    assert_true(stored >= run_before);
    assert_int_equal(s_start(h, S_MATCH), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "wait", "--timeout", "30", NULL), 0);
    char *after = s_canon_proposals(h);
    assert_true(strlen(before) > 1000);
    assert_string_equal(before, after);
    free(before);
    free(after);
    run_after = s_run_id(h);
    print_message("    run ids across a restart: %llu, then %llu\n", run_before, run_after);
    assert_true(run_after > stored);
    /* and again, with nothing new in between: still rising */
    assert_int_equal(s_stop(h, S_MATCH), 0);
    assert_int_equal(s_start(h, S_MATCH), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "wait", "--timeout", "30", NULL), 0);
    assert_true(s_run_id(h) > run_after);

    /* tam-ingest restarts (its feed starts a new epoch): tam-match reloads
     * the ingest snapshot and goes on with replies submitted afterwards */
    assert_int_equal(s_stop(h, S_INGEST), 0);
    assert_int_equal(s_start(h, S_INGEST), 0);
    w = s_watch_start(h, "UGA");
    snprintf(reply, sizeof reply, "%s/uga.json", h->dir);
    s_reply(reply, "UGA");
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "submit", reply, NULL), 0);
    text = s_watch_end(h, w);
    print_message("    watch after an ingest restart: %s", text);
    assert_non_null(strstr(text, " UGA A-SMR "));
    free(text);
    char log[160];
    snprintf(log, sizeof log, "%s/match.log", h->dir);
    text = s_slurp(log);
    assert_non_null(strstr(text, "feed ingest: reloading its snapshot"));
    free(text);
}

/* wait never says "ready" on stale data: a service that does not answer
 * makes it exit 69 (EX_UNAVAILABLE) naming the service and its endpoint,
 * whether it is one of the sources or tam-match itself. */
static void test_wait_times_out(void **state)
{
    h_t *h = *state;
    assert_int_equal(s_start(h, S_MATCH), 0);
    char err[160], out[160];
    snprintf(err, sizeof err, "%s/wait.err", h->dir);
    snprintf(out, sizeof out, "%s/wait.out", h->dir);
    assert_int_equal(s_tamctl(h, NULL, err, "wait", "--timeout", "1", NULL), EX_UNAVAILABLE);
    char *text = s_slurp(err);
    assert_non_null(strstr(text, "ingest does not answer at ipc://"));
    free(text);
    /* queries before the first run are refused, not hung */
    assert_int_equal(s_tamctl(h, NULL, err, "proposals", NULL), EX_DATAERR);
    text = s_slurp(err);
    assert_non_null(strstr(text, "no run yet"));
    free(text);
    /* the sources up, tam-match gone: 69 again, and --json says why */
    assert_int_equal(s_stop(h, S_MATCH), 0);
    for (int s = S_INGEST; s <= S_PIPELINE; s++)
        assert_int_equal(s_start(h, s), 0);
    assert_int_equal(s_tamctl(h, out, err, "wait", "--timeout", "1", "--json", NULL),
                     EX_UNAVAILABLE);
    text = s_slurp(out);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    free(text);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "unavailable");
    assert_string_equal(json_string_value(json_object_get(o, "unavailable")), "match");
    assert_true(json_is_integer(json_object_get(json_object_get(o, "wanted"), "ingest")));
    json_decref(o);
}

/* A run counter that cannot be read as one stops tam-match at start, with
 * the path named: guessing could repeat run ids. */
static void test_bad_counter(void **state)
{
    h_t *h = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/data", h->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/data/match", h->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/data/match/run_id", h->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("tamatch match run id 12x\n", f);
    fclose(f);
    assert_int_not_equal(s_start(h, S_MATCH), 0);
    char log[160];
    snprintf(log, sizeof log, "%s/match.log", h->dir);
    char *text = s_slurp(log);
    assert_non_null(strstr(text, "run_id is not a run counter"));
    free(text);
    /* a good one: the first run is numbered above it */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("tamatch match run id 41\n", f);
    fclose(f);
    /* every service: `tamctl wait` answers 69, not a run, when one is down */
    for (int s = 0; s < S_N; s++)
        if (h->have[s])
            assert_int_equal(s_start(h, s), 0);
    assert_true(s_run_id(h) >= 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_end_to_end, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wait_times_out, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_counter, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_tamctl.c — tamctl behaves as one tool, on a demo instance (the real
 * services on the sample data, config with relative paths):
 * - it works from any directory (paths relative to the config file,
 *   TAMATCH_CONFIG), and its "is it running?" hint names the endpoint;
 * - --json everywhere with numbers as numbers; CSV with plain integers,
 *   and `needs --csv` is accepted back by `submit --format csv`;
 * - codes in any case; watch with several --country and --group, unknown
 *   codes refused, removed pairs shown as state removed;
 * - groups without a subcommand list them; --help cuts no line. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include <jansson.h>
#include <zmq.h>
#include "services_harness.h"
#include "demo_harness.h"

static int s_setup(void **state)
{
    h_t *h = h_new("test_tamctl", "coalesce = 50ms\nsync_wait = 2s\n");
    if (!h)
        return -1;
    d_relative_config(h);
    d_load_demo(h);
    *state = h;
    return 0;
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

/* Runs a shell script (tamctl = this instance) in the instance directory;
 * returns the exit status, *out and *err the outputs (malloc'd). */
static int s_run(h_t *h, const char *script, char **out, char **err)
{
    char o[160], e[160];
    snprintf(o, sizeof o, "%s/cmd.out", h->dir);
    snprintf(e, sizeof e, "%s/cmd.err", h->dir);
    int rc = d_sh(h, h->dir, script, o, e);
    if (out)
        *out = s_slurp(o);
    if (err)
        *err = s_slurp(e);
    return rc;
}

static json_t *s_json(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %.300s", je.text, text);
    return j;
}

/* ---- from any directory ----------------------------------------------------- */

static void t_from_anywhere(void **state)
{
    h_t *h = *state;
    char cmd[1024];
    assert_int_equal(s_tamctl(h, NULL, NULL, "status", NULL), 0);
    /* from / with -c: every service up, endpoints below the config's run/ */
    snprintf(cmd, sizeof cmd, "cd / && \"%s/tamctl\" -c %s status --json", h->bin, h->cfg);
    char *out, *err;
    assert_int_equal(s_run(h, cmd, &out, &err), 0);
    json_t *j = s_json(out);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 4);
    char want[160];
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        assert_string_equal(json_string_value(json_object_get(it, "state")), "up");
        assert_true(json_is_integer(json_object_get(it, "feed_seq")));
        snprintf(want, sizeof want, "ipc://%s/run/", h->dir);
        assert_non_null(strstr(json_string_value(json_object_get(it, "endpoint")), want));
    }
    assert_int_equal(json_integer_value(json_object_get(j, "down")), 0);
    json_decref(j);
    free(out);
    free(err);
    /* TAMATCH_CONFIG names the instance when -c does not */
    snprintf(cmd, sizeof cmd, "cd /tmp && TAMATCH_CONFIG=%s \"%s/tamctl\" needs --limit 1",
             h->cfg, h->bin);
    assert_int_equal(s_run(h, cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "CAF"));
    free(out);
    /* nothing there: 69, and the hint names the endpoint it tried */
    assert_int_equal(s_run(h, "tamctl -o common.run_dir=/nonexistent/run needs", NULL, &err),
                     69);
    assert_non_null(strstr(err, "ingest not reachable at ipc:///nonexistent/run/ingest.req"));
    free(err);
    assert_int_equal(s_run(h, "tamctl -o common.run_dir=/nonexistent/run status", &out, &err), 69);
    assert_non_null(strstr(err, "ipc:///nonexistent/run/match.req"));
    free(out);
    free(err);
}

/* ---- JSON and CSV --------------------------------------------------------- */

static void t_json_numbers_and_csv(void **state)
{
    h_t *h = *state;
    char *out, *err;
    /* numbers are numbers in JSON */
    assert_int_equal(s_run(h, "tamctl needs --limit 3 --json", &out, NULL), 0);
    json_t *j = s_json(out);
    assert_int_equal(json_array_size(j), 3);
    json_t *n0 = json_array_get(j, 0);
    assert_true(json_is_integer(json_object_get(n0, "cost")));
    assert_true(json_is_integer(json_object_get(n0, "id")));
    assert_true(json_is_integer(json_object_get(n0, "version")));
    assert_string_equal(json_string_value(json_object_get(n0, "respondent_type")), "member_state");
    json_decref(j);
    free(out);
    assert_int_equal(s_run(h, "tamctl project list --json", &out, NULL), 0);
    j = s_json(out);
    assert_true(json_array_size(j) >= 30);
    assert_true(json_is_integer(json_object_get(json_array_get(j, 0), "pledged")));
    assert_true(json_is_integer(json_object_get(json_array_get(j, 0), "available")));
    json_decref(j);
    free(out);
    /* CSV amounts are plain integers */
    assert_int_equal(s_run(h, "tamctl project list --csv", &out, NULL), 0);
    assert_non_null(strstr(out, "id,status,budget,budget_status,pledged,received,committed,endorsed,available,start,end,"));
    assert_null(strstr(out, "0,000,")); /* no thousands separators */
    free(out);
    assert_int_equal(s_run(h, "tamctl gaps --top 5 --csv", &out, NULL), 0);
    assert_non_null(strstr(out, "need,country,group,category,standard,modality,priority,cost,"));
    free(out);
    /* every command's --json: status, wait and export-lp included */
    assert_int_equal(s_run(h, "tamctl wait --json", &out, NULL), 0);
    j = s_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "ready");
    assert_true(json_is_integer(json_object_get(j, "run")));
    json_decref(j);
    free(out);
    assert_int_equal(s_run(h, "tamctl export-lp run.lp --json", &out, NULL), 0);
    j = s_json(out);
    assert_true(json_integer_value(json_object_get(j, "bytes")) > 1000);
    json_decref(j);
    free(out);
    /* needs --csv goes back in with submit --format csv: the same needs,
     * revised by a reply of the same content */
    assert_int_equal(s_run(h, "tamctl needs --respondent KEN --csv > ken.csv && "
                              "cut -d, -f3- ken.csv > a.csv && "
                              "tamctl submit --format csv ken.csv", &out, &err),
                     0);
    assert_non_null(strstr(err, "accepted"));
    assert_non_null(strstr(err, ", 0 refused"));
    free(out);
    free(err);
    assert_int_equal(s_run(h, "tamctl needs --respondent KEN --csv | cut -d, -f3- > b.csv && "
                              "cmp a.csv b.csv && test $(wc -l < b.csv) -gt 2", NULL, NULL),
                     0);
}

/* ---- codes, watch ------------------------------------------------------------ */

static pid_t s_watch(h_t *h, const char *args)
{
    char cmd[512], o[160], e[160];
    snprintf(o, sizeof o, "%s/watch.out", h->dir);
    snprintf(e, sizeof e, "%s/watch.err", h->dir);
    snprintf(cmd, sizeof cmd, "exec \"%s/tamctl\" -c %s watch %s", h->bin, h->cfg, args);
    unlink(e);
    pid_t w = fork();
    if (w == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int64_t deadline = s_now_ms() + 15000;
    for (;;) {
        char *text = s_slurp(e);
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

static void t_codes_and_watch(void **state)
{
    h_t *h = *state;
    char *a, *b, *err;
    /* any case, everywhere (after the run that reflects every earlier act, so that
     * no new run lands between the two listings) */
    assert_int_equal(s_run(h, "tamctl wait", NULL, NULL), 0);
    assert_int_equal(s_run(h, "tamctl proposals --country COD --category D", &a, NULL), 0);
    assert_int_equal(s_run(h, "tamctl proposals --country cod --category d", &b, NULL), 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "COD"));
    free(a);
    free(b);
    assert_int_equal(s_run(h, "tamctl needs --group african --limit 2", &a, NULL), 0);
    assert_non_null(strstr(a, "CAF"));
    free(a);
    /* unknown codes refused as proposals refuses them */
    assert_int_equal(s_run(h, "tamctl proposals --country XYZ", NULL, &err), 65);
    free(err);
    assert_int_equal(s_run(h, "tamctl watch --country xyz", NULL, &err), 65);
    assert_non_null(strstr(err, "watch:country: unknown country code \"XYZ\""));
    free(err);
    assert_int_equal(s_run(h, "tamctl watch --group SOUTH", NULL, &err), 65);
    assert_non_null(strstr(err, "watch:group: unknown regional group \"SOUTH\""));
    free(err);

    /* several --country and a --group; a declined pair shows as removed */
    assert_int_equal(s_run(h, "tamctl proposals --country CAF --top 1 --csv | tail -n 1 | "
                              "cut -d, -f2", &a, NULL), 0);
    a[strcspn(a, "\r\n")] = 0;
    assert_true(strchr(a, '/') != NULL);
    pid_t w = s_watch(h, "--country ssd --country CAF --group grulac --json");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tamctl decline %s --reason 'covered elsewhere' && tamctl wait", a);
    assert_int_equal(s_run(h, cmd, NULL, &err), 0);
    free(err);
    /* HTI (GRULAC: not among the countries, in the group) revises its costs */
    assert_int_equal(s_run(h, "tamctl needs --respondent HTI --csv | "
                              "awk -F, -v OFS=, 'NR > 1 { $12 = $12 + 5000 } 1' > hti.csv && "
                              "tamctl -q submit --format csv hti.csv && tamctl wait",
                           NULL, NULL), 0);
    kill(w, SIGTERM);
    int st = 0;
    waitpid(w, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char path[160];
    snprintf(path, sizeof path, "%s/watch.out", h->dir);
    char *text = s_slurp(path);
    bool removed = false, hti = false;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *p = s_json(line);
        const char *c = json_string_value(json_object_get(p, "country"));
        const char *g = json_string_value(json_object_get(p, "group"));
        if (strcmp(c, "SSD") != 0 && strcmp(c, "CAF") != 0 && strcmp(g, "GRULAC") != 0)
            fail_msg("watch showed a proposal it was not asked for: %s", line);
        if (strcmp(json_string_value(json_object_get(p, "id")), a) == 0) {
            assert_string_equal(json_string_value(json_object_get(p, "reason")), "removed");
            assert_string_equal(json_string_value(json_object_get(p, "state")), "removed");
            removed = true;
        }
        hti |= strcmp(c, "HTI") == 0;
        json_decref(p);
    }
    free(text);
    assert_true(removed);
    assert_true(hti);
    free(a);
}

/* ---- errors, all at once ------------------------------------------------------- */

static void s_write(h_t *h, const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", h->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- --dry-run: the service checks in full, nothing is stored ------------------- */

static void t_dry_run(void **state)
{
    h_t *h = *state;
    char cmd[1200], *out, *err, *before, *after;
    const char *lists = "tamctl replies --status any --json --limit 1000 && tamctl needs --json "
                        "--limit 1000 && tamctl donor list --json && tamctl context show --json";
    assert_int_equal(s_run(h, lists, &before, NULL), 0);
    /* a valid new reply: what storing would answer */
    snprintf(cmd, sizeof cmd, "tamctl submit --dry-run %s/config/samples/reply-KEN-A.json", h->src);
    if (s_run(h, cmd, &out, &err) != 0)
        fail_msg("submit --dry-run: %s%s", out, err);
    assert_non_null(strstr(out, "KEN/A r1-")); /* its request id */
    assert_non_null(strstr(out, "dry run: would be reply"));
    assert_non_null(strstr(err, "dry run: 1 replies: 1 would be accepted"));
    free(out);
    free(err);
    /* an invalid one: every problem, codec and catalogue, from ingest */
    snprintf(cmd, sizeof cmd, "sed -e 's/\"A-SMR\"/\"Z-NONE\"/' -e 's/^{/{\"colour\": 1,/' "
             "%s/config/samples/reply-KEN-A.json > bad-reply.json && "
             "tamctl submit --dry-run bad-reply.json", h->src);
    assert_int_equal(s_run(h, cmd, &out, &err), 65);
    assert_non_null(strstr(err, "bad-reply.json:colour:"));
    assert_non_null(strstr(err, "Z-NONE"));
    free(out);
    free(err);
    /* the context and a donor */
    snprintf(cmd, sizeof cmd, "sed 's/\"note\": \"/\"note\": \"dry: /' %s/config/samples/demo/context.json"
             " > ctx-dry.json && tamctl context set --dry-run ctx-dry.json", h->src);
    assert_int_equal(s_run(h, cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "planning context: dry run: would be version"));
    free(out);
    s_write(h, "donor-dry.json", "{\"id\": \"DRY-1\", \"name\": \"A donor\", \"kind\": "
                                 "\"government\"}\n");
    assert_int_equal(s_run(h, "tamctl donor add --dry-run donor-dry.json", &out, NULL), 0);
    assert_non_null(strstr(out, "donors (dry run): 1 would be added"));
    free(out);
    s_write(h, "donor-bad.json", "{\"id\": \"DRY-2\", \"name\": \" \", \"kind\": \"alien\"}\n");
    assert_int_equal(s_run(h, "tamctl donor add --dry-run donor-bad.json", NULL, &err), 65);
    assert_non_null(strstr(err, "donor-bad.json:kind:"));
    assert_non_null(strstr(err, "donor-bad.json:name:"));
    free(err);
    /* nothing stored anywhere */
    assert_int_equal(s_run(h, lists, &after, NULL), 0);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void t_errors_at_once(void **state)
{
    h_t *h = *state;
    char *out, *err;
    /* every problem of every donor record in one list */
    s_write(h, "donors-bad.json",
            "[{\"id\": \"X\", \"name\": 5, \"kind\": \"alien\", \"extra\": 1},\n"
            " {\"id\": \"GOOD-1\", \"name\": \"A donor\", \"kind\": \"government\", "
            "\"iati_id\": \"not an iati\"},\n"
            " {\"id\": \"GOOD-2\", \"name\": \"  \", \"kind\": \"alien\"}]\n");
    assert_int_equal(s_run(h, "tamctl donor add donors-bad.json", &out, &err), 65);
    assert_non_null(strstr(err, "donors-bad.json[0]:id:"));
    assert_non_null(strstr(err, "donors-bad.json[0]:name:"));
    assert_non_null(strstr(err, "donors-bad.json[0]:kind:"));
    assert_non_null(strstr(err, "donors-bad.json[0]:extra:"));
    assert_non_null(strstr(err, "donors-bad.json[1]:iati_id:"));
    /* a codec problem (kind) and a semantic one (blank name) of one record */
    assert_non_null(strstr(err, "donors-bad.json[2]:kind:"));
    assert_non_null(strstr(err, "donors-bad.json[2]:name: must not be blank"));
    assert_non_null(strstr(out, "3 refused"));
    free(out);
    free(err);
    s_write(h, "context-bad.json",
            "{\"missions\": [{\"country\": \"XYZ\", \"operation\": 5, \"priorities\": "
            "[\"A-SMR\", 7, \"Z-NONE\"], \"valid_from\": \"2026-01-01\"}], \"bogus\": 1}\n");
    assert_int_equal(s_run(h, "tamctl context set context-bad.json", NULL, &err), 65);
    assert_non_null(strstr(err, "context-bad.json:missions[0].operation:"));
    assert_non_null(strstr(err, "context-bad.json:missions[0].priorities[1]:"));
    assert_non_null(strstr(err, "context-bad.json:bogus:"));
    /* and the semantic problems of the same context, in the same list */
    assert_non_null(strstr(err, "context-bad.json:missions[0].country: unknown country 'XYZ'"));
    assert_non_null(strstr(err, "context-bad.json:missions[0].priorities[2]: unknown standard"));
    free(err);
    /* a UTF-8 byte order mark is no error */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "printf '\\357\\273\\277' > bom.json && cat %s/config/samples/"
             "demo/donors.json >> bom.json && tamctl donor add bom.json && printf '\\357\\273\\277'"
             " > bom-reply.json && cat %s/config/samples/reply-KEN-A.json >> bom-reply.json && "
             "tamctl submit bom-reply.json", h->src, h->src);
    assert_int_equal(s_run(h, cmd, NULL, &err), 0);
    free(err);
    /* a CSV given without --format is read as CSV, and said so */
    snprintf(cmd, sizeof cmd, "cp %s/config/samples/needs-example.csv needs.txt && "
             "tamctl submit needs.txt", h->src);
    assert_int_equal(s_run(h, cmd, NULL, &err), 0);
    assert_non_null(strstr(err, "needs.txt: read as the CSV of needs"));
    free(err);
    /* a malformed file: a hint, and counted among the refused */
    s_write(h, "junk.txt", "hello, world\n");
    snprintf(cmd, sizeof cmd, "tamctl submit junk.txt %s/config/samples/reply-KEN-A.json",
             h->src);
    assert_int_equal(s_run(h, cmd, NULL, &err), 65);
    assert_non_null(strstr(err, "junk.txt: not JSON; a CSV of needs is read with --format csv"));
    assert_non_null(strstr(err, "2 replies: 1 accepted"));
    assert_non_null(strstr(err, "1 refused (1 malformed file)"));
    free(err);
    /* CSV: header and row problems in one round */
    s_write(h, "bad.csv",
            "respondent_type,respondent,category,version,completeness,standard,country,"
            "modality,priority,cost,start,end,colour\n"
            "member_state,KEN,A,1,80,A-SMR,KEN,training,9,1000,2027-01-01,2027-06-30,red\n");
    assert_int_equal(s_run(h, "tamctl submit --format csv bad.csv", NULL, &err), 65);
    assert_non_null(strstr(err, "bad.csv:1:colour: unknown column"));
    assert_non_null(strstr(err, "bad.csv:2:priority:"));
    free(err);
    /* limits are stated */
    char deep[128] = "";
    for (int i = 0; i < 20; i++)
        strcat(deep, "[");
    for (int i = 0; i < 20; i++)
        strcat(deep, "]");
    s_write(h, "deep.json", deep);
    assert_int_equal(s_run(h, "tamctl donor add deep.json", NULL, &err), 65);
    assert_non_null(strstr(err, "nested too deeply (at most 16 levels)"));
    free(err);
}

/* ---- help -------------------------------------------------------------------- */

static void t_help(void **state)
{
    h_t *h = *state;
    char *out, *err;
    assert_int_equal(s_run(h, "tamctl --help", &out, NULL), 0);
    /* no line cut, none wider than 80 */
    assert_non_null(strstr(out, "needs [--country C] [--group G] [--category X] [--standard S] "
                                "[--state S]"));
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        if (strlen(line) > 80)
            fail_msg("line of %zu columns: %s", strlen(line), line);
    free(out);
    static const char *groups[][2] = {{"project", "project list"}, {"ledger", "ledger import"},
                                      {"donor", "donor show"}, {"context", "context set"}};
    for (size_t i = 0; i < 4; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "tamctl %s", groups[i][0]);
        assert_int_equal(s_run(h, cmd, &out, NULL), 0);
        assert_non_null(strstr(out, groups[i][1]));
        free(out);
    }
    assert_int_equal(s_run(h, "tamctl project frobnicate", NULL, &err), 64);
    assert_non_null(strstr(err, "project show"));
    free(err);
    /* commands whose only options are --json and --csv: anything else is a usage error */
    static const char *const fmt_only[][2] = {{"tamctl status extra", "usage: tamctl status [--json|--csv]"},
                                              {"tamctl run --top 5", "usage: tamctl run [--json|--csv]"},
                                              {"tamctl report fairness x",
                                               "usage: tamctl report fairness [--json|--csv]"}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s_run(h, fmt_only[i][0], NULL, &err), 64);
        assert_non_null(strstr(err, fmt_only[i][1]));
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_from_anywhere),
        cmocka_unit_test(t_json_numbers_and_csv),
        cmocka_unit_test(t_codes_and_watch),
        cmocka_unit_test(t_dry_run),
        cmocka_unit_test(t_errors_at_once),
        cmocka_unit_test(t_help),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

/* test_whatif.c — what-if on the demo instance (real services, curve mode,
 * through tamctl as a user would): a scenario's objective_delta and
 * scenario_hash are what the live run states once the same receipt is really
 * recorded by tam-registry; the scenario leaves the live run untouched; a
 * change that cannot matter moves no proposal; a bad scenario file gets
 * every problem listed with its path; advice answers for a project and for
 * new money (docs/whatif.md). */
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
    h_t *h = h_new("test_whatif", "coalesce = 50ms\nsync_wait = 2s\n");
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

/* Runs script in the instance directory; stdout and stderr returned. */
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

static json_t *s_json_of(h_t *h, const char *script)
{
    char *out, *err;
    int rc = s_run(h, script, &out, &err);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", script, rc, err);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("%s: not JSON (%s): %.300s", script, je.text, out);
    free(out);
    free(err);
    return j;
}

static void s_write(h_t *h, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", h->dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static json_int_t s_int(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    if (!json_is_integer(v))
        fail_msg("no integer %s", k);
    return json_integer_value(v);
}

static void t_receipt_equals_real(void **state)
{
    h_t *h = *state;
    json_t *r0 = s_json_of(h, "tamctl run --json");
    json_int_t obj0 = s_int(r0, "objective"), run0 = s_int(r0, "run");
    char hash0[65];
    snprintf(hash0, sizeof hash0, "%s", json_string_value(json_object_get(r0, "hash")));

    s_write(h, "receipt.json",
            "{\"changes\": [{\"kind\": \"receipt\", \"project\": \"GLO-ALTERN\", \"amount\": 300000}]}");
    json_t *w = s_json_of(h, "tamctl whatif receipt.json --json");
    json_int_t delta = s_int(w, "objective_delta");
    assert_int_equal(s_int(w, "objective"), obj0);
    assert_string_equal(json_string_value(json_object_get(w, "hash")), hash0);
    assert_true(delta > 0);
    char shash[65];
    snprintf(shash, sizeof shash, "%s", json_string_value(json_object_get(w, "scenario_hash")));
    assert_string_not_equal(shash, hash0);

    /* the live run is untouched: same run, objective and hash */
    json_t *r1 = s_json_of(h, "tamctl run --json");
    assert_int_equal(s_int(r1, "run"), run0);
    assert_int_equal(s_int(r1, "objective"), obj0);
    assert_string_equal(json_string_value(json_object_get(r1, "hash")), hash0);

    /* the same receipt, really: the live run reaches the scenario's objective and hash */
    char *out, *err;
    int rc = s_run(h, "tamctl -q ledger add GLO-ALTERN --receipt 300000 && tamctl wait --timeout 30",
                   &out, &err);
    if (rc)
        fail_msg("ledger add: %d %s", rc, err);
    free(out);
    free(err);
    json_t *r2 = s_json_of(h, "tamctl run --json");
    assert_true(s_int(r2, "run") > run0);
    assert_int_equal(s_int(r2, "objective"), obj0 + delta);
    assert_string_equal(json_string_value(json_object_get(r2, "hash")), shash);
    json_decref(r0);
    json_decref(r1);
    json_decref(r2);
    json_decref(w);
}

static void t_cannot_matter(void **state)
{
    h_t *h = *state;
    /* a new respondent's need that no project may fund (its window starts
     * after every project ends): nothing moves */
    s_write(h, "nothing.json",
            "{\"changes\": [{\"kind\": \"need_add\", \"respondent\": \"NEW-RESP\", \"country\": "
            "\"ISL\", \"standard\": \"A-SMR\", \"modality\": \"training\", \"amount\": 5000, "
            "\"start\": \"2040-01-01\", \"end\": \"2040-12-31\"}]}");
    json_t *w = s_json_of(h, "tamctl whatif nothing.json --json");
    assert_int_equal(s_int(w, "objective_delta"), 0);
    assert_int_equal(s_int(w, "proposals_changed"), 0);
    assert_int_equal(s_int(w, "ranks_moved"), 0);
    assert_int_equal(json_array_size(json_object_get(w, "ranks")), 0);
    assert_int_equal(json_array_size(json_object_get(w, "needs")), 0);
    json_decref(w);
    /* a one-dollar adjustment: whatever moves names its reason */
    s_write(h, "dollar.json",
            "{\"changes\": [{\"kind\": \"adjustment\", \"project\": \"GLO-TRAIN\", \"amount\": 1}], \"top\": 1000}");
    w = s_json_of(h, "tamctl whatif dollar.json --json");
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(w, "ranks"), i, it) {
        const char *why = json_string_value(json_object_get(it, "reason"));
        assert_non_null(why);
        assert_string_not_equal(why, "unchanged");
    }
    json_decref(w);
}

static void t_every_problem(void **state)
{
    h_t *h = *state;
    s_write(h, "bad.json",
            "{\"changes\": [{\"kind\": \"receipt\", \"project\": \"NO-SUCH\", \"amount\": 5},"
            " {\"kind\": \"earmark_add\", \"project\": \"GLO-ALTERN\", \"dimension\": \"planet\", \"code\": \"X\"},"
            " {\"kind\": \"need_withdraw\", \"need\": 999999}]}");
    char *out, *err;
    int rc = s_run(h, "tamctl whatif bad.json", &out, &err);
    assert_int_equal(rc, 65); /* EX_DATAERR: the file itself is wrong */
    assert_non_null(strstr(err, "bad.json:changes[1].dimension"));
    free(out);
    free(err);
    /* shape right, content wrong: the matcher lists every problem */
    s_write(h, "bad2.json",
            "{\"changes\": [{\"kind\": \"receipt\", \"project\": \"NO-SUCH\", \"amount\": 5},"
            " {\"kind\": \"need_withdraw\", \"need\": 999999},"
            " {\"kind\": \"mission_drop\", \"country\": \"ISL\"}]}");
    rc = s_run(h, "tamctl whatif bad2.json", &out, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "changes[0].project"));
    assert_non_null(strstr(err, "changes[1].need"));
    assert_non_null(strstr(err, "changes[2].country"));
    free(out);
    free(err);
}

static void t_advise(void **state)
{
    h_t *h = *state;
    /* the output layer: CSV with a header row of column keys */
    char *o1, *e1;
    assert_int_equal(s_run(h, "tamctl advise --money 500000 --csv", &o1, &e1), 0);
    assert_true(strncmp(o1, "rank,objective_delta,funded_delta,priority_funded,text,funds", 60) == 0);
    free(o1);
    free(e1);
    s_write(h, "csv.json",
            "{\"changes\": [{\"kind\": \"receipt\", \"project\": \"GLO-TRAIN\", \"amount\": 200000}]}");
    assert_int_equal(s_run(h, "tamctl whatif csv.json --csv", &o1, &e1), 0);
    assert_true(strncmp(o1, "need,move,country,standard,priority,cost,before,after", 53) == 0);
    free(o1);
    free(e1);
    json_t *a = s_json_of(h, "tamctl advise --money 500000 --json");
    assert_int_equal(json_array_size(json_object_get(a, "items")), 1);
    assert_int_equal(json_array_size(json_object_get(a, "steps")), 8);
    json_decref(a);
    a = s_json_of(h, "tamctl advise GLO-ALTERN --json");
    assert_true(json_is_integer(json_object_get(a, "candidates")));
    json_decref(a);
    char *out, *err;
    assert_int_not_equal(s_run(h, "tamctl advise NO-SUCH", &out, &err), 0);
    assert_non_null(strstr(err, "project"));
    free(out);
    free(err);
}

int main(void)
{
    (void)s_tamctl;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_receipt_equals_real),
        cmocka_unit_test(t_cannot_matter),
        cmocka_unit_test(t_every_problem),
        cmocka_unit_test(t_advise),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

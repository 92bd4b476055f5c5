/* test_match_lp.c — optimality of the service's allocation: on random
 * instances of several sizes (every kind of earmark, caps, decisions fixing
 * and declining pairs), the problem exported in CPLEX LP format is re-solved
 * by glpsol (Debian glpk-utils), whose optimum must equal the run's
 * objective exactly; the solution in the export adds up to the run's funded
 * total. The solver's own test checks tam_flow on raw problems; this one
 * checks the problem the matcher builds. */
#include <sys/wait.h>
#include <unistd.h>
#include "match_fixture.h"

static fx_inst_t s_inst;
static const char *s_glpsol;

static int s_group_setup(void **state)
{
    (void)state;
    static const char *paths[] = {"/usr/bin/glpsol", "/usr/local/bin/glpsol"};
    for (size_t i = 0; i < 2; i++)
        if (access(paths[i], X_OK) == 0)
            s_glpsol = paths[i];
    return 0;
}

/* Runs glpsol on lp and returns its optimum (raw solution file, exact
 * integer text). */
static long long s_glpk(const char *dir, const char *lp)
{
    char sol[512], log[512];
    snprintf(sol, sizeof sol, "%s/out.sol", dir);
    snprintf(log, sizeof log, "%s/glpsol.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *o = freopen(log, "w", stdout);
        (void)o;
        execl(s_glpsol, "glpsol", "--lp", lp, "-w", sol, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    FILE *f = fopen(sol, "r");
    assert_non_null(f);
    char line[512];
    long long obj = -1;
    while (fgets(line, sizeof line, f)) {
        char s1[8], s2[8], s3[8], s4[8];
        long rows, cols;
        if (sscanf(line, "s %7s %ld %ld %7s %7s %lld", s1, &rows, &cols, s3, s4, &obj) == 6) {
            assert_string_equal(s1, "bas");
            assert_string_equal(s3, "f"); /* primal feasible */
            assert_string_equal(s4, "f"); /* dual feasible: optimal */
            (void)s2;
            break;
        }
    }
    fclose(f);
    return obj;
}

/* min: with the minimum proposal of the default config (pairs held back
 * are bounded by their fixed amount in the export: the LP solved is the
 * one exported). */
static int64_t s_check_min(uint64_t seed, int nneeds, int nprojects, int ndecs, bool min)
{
    if (!s_glpsol)
        skip();
    fx_gen(&s_inst, seed, nneeds, nprojects, ndecs);
    tam_match_params_t par;
    fx_params(&par);
    if (min) {
        par.min_amount = 5000;
        par.min_share = 2;
    }
    fx_t *fx = fx_new_with(&par);
    fx_apply_inst(fx, &s_inst, 0);
    assert_int_equal(fx_run(fx), 0);
    tam_run_t *r = fx_header(fx);
    assert_true(r->pairs > 0);

    char dir[] = "/tmp/test_match_lp.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char lp[512];
    snprintf(lp, sizeof lp, "%s/run.lp", dir);
    FILE *f = fopen(lp, "w");
    assert_non_null(f);
    assert_int_equal(tam_match_write_lp(fx->m, f), 0);
    assert_int_equal(fclose(f), 0);

    long long glpk = s_glpk(dir, lp);
    print_message("    %d needs x %d projects: %lld pairs, objective %lld, glpsol %lld%s\n",
                  nneeds, nprojects, (long long)r->pairs, (long long)r->objective, glpk,
                  min ? " (with the minimum proposal)" : "");
    int64_t held = r->held_back;
    assert_int_equal(glpk, r->objective);

    /* the solution in the export: its objective, and the amounts add up */
    f = fopen(lp, "r");
    char line[256];
    long long obj = -1, sum = 0;
    while (fgets(line, sizeof line, f)) {
        long long v;
        char name[128];
        if (sscanf(line, "\\ solution (tamatch): objective = %lld", &v) == 1)
            obj = v;
        else if (sscanf(line, "\\ %127s = %lld", name, &v) == 2 && name[0] == 'x')
            sum += v;
    }
    fclose(f);
    assert_int_equal(obj, r->objective);
    assert_int_equal(sum, r->funded);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    fx_free(fx);
    return held;
}

static void s_check(uint64_t seed, int nneeds, int nprojects, int ndecs)
{
    (void)s_check_min(seed, nneeds, nprojects, ndecs, false);
}

static void test_with_minimum(void **state)
{
    (void)state;
    int64_t held = s_check_min(51, 400, 30, 40, true) + s_check_min(52, 800, 40, 80, true);
    assert_true(held > 0); /* the minimum did hold pairs back */
}

static void test_small(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++)
        s_check(seed, 40 + (int)seed * 5, 4 + (int)seed, 10);
}

static void test_medium(void **state)
{
    (void)state;
    s_check(21, 400, 30, 40);
    s_check(22, 800, 40, 80);
}

static void test_large(void **state)
{
    (void)state;
    s_check(31, 2000, 100, 200);
}

/* Several runs of one engine with warm starts: each run's export re-solves
 * to its objective. */
static void test_warm_runs(void **state)
{
    (void)state;
    if (!s_glpsol)
        skip();
    fx_gen(&s_inst, 41, 600, 40, 60);
    fx_t *fx = fx_new();
    for (int j = 0; j < s_inst.nprojects; j++)
        fx_project(fx, s_inst.projects[j]);
    fx_context(fx, s_inst.context);
    char dir[] = "/tmp/test_match_lp.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char lp[512];
    snprintf(lp, sizeof lp, "%s/run.lp", dir);
    for (int i = 0; i < s_inst.nneeds; i += 150) {
        for (int k = i; k < i + 150; k++)
            fx_need(fx, s_inst.needs[k]);
        for (int d = 0; d < s_inst.ndecs; d++)
            if (s_inst.decs[d].need < s_inst.needs[i + 149].id)
                fx_decision(fx, s_inst.decs[d].need, s_inst.pids[s_inst.decs[d].project],
                            s_inst.decs[d].country, s_inst.decs[d].state,
                            s_inst.decs[d].endorsed, s_inst.decs[d].committed);
        assert_int_equal(fx_run(fx), 0);
        FILE *f = fopen(lp, "w");
        assert_int_equal(tam_match_write_lp(fx->m, f), 0);
        fclose(f);
        tam_run_t *r = fx_header(fx);
        assert_int_equal(s_glpk(dir, lp), r->objective);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    fx_free(fx);
}

int main(void)
{
    tam_log_init("test_match_lp", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small),
        cmocka_unit_test(test_with_minimum),
        cmocka_unit_test(test_medium),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_warm_runs),
    };
    return cmocka_run_group_tests(tests, s_group_setup, NULL);
}

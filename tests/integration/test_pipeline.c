/* test_pipeline.c — tam-pipeline with the real tam-ingest, tam-registry and
 * tam-match, driven through tamctl as managers and donor liaison drive it: a
 * fresh temporary directory and config (ipc:// endpoints inside it), the
 * binaries started with fork/exec, readiness polled with sys.ping, never a
 * fixed sleep.
 *
 * The tests share one set of services and run in order:
 *   1. decisions change the next run's proposals as docs/pipeline.md says:
 *      endorsed and committed amounts are fixed, committed money leaves the
 *      project's available budget, a declined pair is no longer proposed;
 *   2. refused acts (transition, amount) answer with the field and write no
 *      audit entry;
 *   3. the reports as tamctl prints them (text, CSV with HXL, JSON);
 *   4. a resent request id is applied once; a restart keeps every decision
 *      and the matcher sees them again;
 *   5. with tam-match down, an act that needs no proposal still goes through.
 * Without build/bin/tam-match (another issue builds it) the tests that need
 * it are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zmq.h>

#include "tam/error.h"
#include "tam/proto.h"
#include "tam/rpc.h"
#include "services_harness.h"

#define S_DEADLINE_MS 20000

typedef struct {
    h_t *h;
    bool have_match;
    int rc;
    char *out, *err;
    /* the proposals the scenario acts on */
    char p1[64], p2[64];
    int64_t a1;
} fixture_t;

/* ---- processes ------------------------------------------------------------------- */

static void s_write(const fixture_t *f, const char *name, const char *text, char *path, size_t cap)
{
    assert_non_null(h_write(f->h, name, text, path, cap));
}

/* One call to a service; the answer decoded into out (from a) when ok.
 * Returns 0, the transport's code, or the error answer's code. */
static int s_call(fixture_t *f, int svc, int msg, const void *req, tam_arena_t *a, void *out,
                  int timeout_ms)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg];
    tam_rpc_client_t *c = NULL;
    int rc = tam_rpc_client_new(&c, f->h->zctx, f->h->ep[svc], timeout_ms, 0);
    if (rc)
        return rc;
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(m->request, req, &sb, NULL), 0);
    tam_rpc_answer_t ans = {0};
    rc = tam_rpc_call(c, m->type, sb.data, sb.size, &ans);
    if (rc == 0 && ans.status != TAM_RPC_OK)
        rc = ans.error.code ? ans.error.code : TAM_EPROTO;
    else if (rc == 0 && out)
        assert_int_equal(tam_decode(m->answer, ans.body, ans.len, a, out, NULL), 0);
    tam_rpc_answer_clear(&ans);
    msgpack_sbuffer_destroy(&sb);
    tam_rpc_client_destroy(&c);
    return rc;
}

static int s_pong(fixture_t *f, int svc, uint64_t *seq)
{
    tam_arena_t *a = tam_arena_new(0);
    tam_ping_t ping = {.note = "test"};
    tam_pong_t pong;
    int rc = s_call(f, svc, TAM_MSG_sys_ping, &ping, a, &pong, 300);
    if (rc == 0 && seq)
        *seq = pong.feed_seq;
    tam_arena_destroy(&a);
    return rc;
}

/* Starts service svc; the test fails if it does not answer in time. */
static void s_up(fixture_t *f, int svc)
{
    if (h_start(f->h, svc, S_DEADLINE_MS) != 0)
        fail_msg("tam-%s did not start", s_names[svc]);
}

/* SIGTERM; the exit status must be 0. */
static void s_down(fixture_t *f, int svc)
{
    if (f->h->pid[svc])
        assert_int_equal(h_stop(f->h, svc, SIGTERM), 0);
}

/* Runs tamctl -c INI ARGS...; f->rc, f->out and f->err get what it did. */
static int s_ctl(fixture_t *f, ...)
{
    const char *args[40];
    int n = 0;
    va_list ap;
    va_start(ap, f);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 40;)
        args[n++] = a;
    va_end(ap);
    free(f->out);
    free(f->err);
    f->rc = h_tamctl_v(f->h, NULL, &f->out, &f->err, n, args);
    return f->rc;
}

#define TAMCTL(f, ...) s_ctl((f), __VA_ARGS__, (char *)NULL)

#define assert_tamctl(f, want, ...)                                                         \
    do {                                                                                    \
        int rc_ = TAMCTL(f, __VA_ARGS__);                                                   \
        if (rc_ != (want))                                                                  \
            fail_msg("tamctl exit %d, not %d\nstdout:\n%s\nstderr:\n%s", rc_, (want),        \
                     (f)->out, (f)->err);                                                   \
    } while (0)

#define assert_contains(hay, needle)                                                        \
    do {                                                                                    \
        if (!strstr((hay), (needle)))                                                       \
            fail_msg("'%s' not found in:\n%s", (needle), (hay));                           \
    } while (0)

/* ---- data ------------------------------------------------------------------------------ */

static const char *g_donors =
    "[{\"id\":\"NOR\",\"name\":\"Norway\",\"kind\":\"government\"},"
    " {\"id\":\"SWE\",\"name\":\"Sweden\",\"kind\":\"government\"}]\n";

#define S_PROJ(id, donor, budget, earmarks)                                                  \
    "{\"id\":\"" id "\",\"title\":\"Test project\",\"donors\":[{\"donor\":\"" donor          \
    "\",\"percent\":100}],\"budget\":" budget ",\"budget_status\":\"committed\","            \
    "\"start\":\"2026-01-01\",\"end\":\"2028-12-31\",\"status\":\"active\",\"dac\":\"15130\"," \
    "\"earmarks\":{" earmarks "}}"

static const char *g_projects =
    "[" S_PROJ("AFR-A", "NOR", "200000", "\"groups\":[\"AFRICAN\"],\"categories\":[\"A\"]") ",\n"
    S_PROJ("GLO-A", "SWE", "300000", "\"categories\":[\"A\"]") ",\n"
    S_PROJ("EEG-X", "SWE", "50000", "\"groups\":[\"EEG\"]") "]\n";

static const char *g_ledger =
    "[{\"project\":\"AFR-A\",\"kind\":\"receipt\",\"amount\":120000,\"date\":\"2026-10-01\"},\n"
    " {\"project\":\"GLO-A\",\"kind\":\"receipt\",\"amount\":100000,\"date\":\"2026-10-01\"},\n"
    " {\"project\":\"EEG-X\",\"kind\":\"receipt\",\"amount\":30000,\"date\":\"2026-10-01\"}]\n";

#define S_NEED(c, std, prio, cost)                                                             \
    "{\"country\":\"" c "\",\"standard\":\"" std "\",\"modality\":\"training\",\"priority\":" prio \
    ",\"cost\":" cost ",\"start\":\"2027-01-01\",\"end\":\"2027-12-31\"}"

static const char *g_reply_ken =
    "{\"respondent\":{\"type\":\"member_state\",\"id\":\"KEN\"},\"instrument\":{\"category\":\"A\","
    "\"version\":1},\"completeness\":80,\"answers\":[{\"standard\":\"A-SMR\",\"state\":\"need\"},"
    "{\"standard\":\"A-TOKYO\",\"state\":\"need\"}],\"needs\":[" S_NEED("KEN", "A-SMR", "5", "100000")
    "," S_NEED("KEN", "A-TOKYO", "3", "50000") "],\"difficulties\":[{\"standard\":\"A-SMR\","
    "\"text\":\"Overcrowding in prisons.\"}],\"practices\":[{\"standard\":\"A-TOKYO\",\"text\":"
    "\"Community service orders.\"}]}\n";

static const char *g_reply_ind =
    "{\"respondent\":{\"type\":\"member_state\",\"id\":\"IND\"},\"instrument\":{\"category\":\"A\","
    "\"version\":1},\"completeness\":60,\"answers\":[{\"standard\":\"A-SMR\",\"state\":\"need\"}],"
    "\"needs\":[" S_NEED("IND", "A-SMR", "4", "80000") "],\"difficulties\":[{\"standard\":\"A-SMR\","
    "\"text\":\"overcrowding in  prisons.\"}]}\n";

static void s_load(fixture_t *f)
{
    char p[256];
    s_write(f, "donors.json", g_donors, p, sizeof p);
    assert_tamctl(f, 0, "-q", "donor", "add", p);
    s_write(f, "projects.json", g_projects, p, sizeof p);
    assert_tamctl(f, 0, "-q", "project", "add", p);
    s_write(f, "ledger.json", g_ledger, p, sizeof p);
    assert_tamctl(f, 0, "-q", "ledger", "import", p);
    s_write(f, "ken.json", g_reply_ken, p, sizeof p);
    assert_tamctl(f, 0, "-q", "submit", p);
    s_write(f, "ind.json", g_reply_ind, p, sizeof p);
    assert_tamctl(f, 0, "-q", "submit", p);
}

/* ---- waiting for the matcher -------------------------------------------------------------- */

/* The current run once it reflects every decision the pipeline has published
 * and the data set (3 needs, 3 projects), and the pipeline has seen that run
 * (its reports name it). Both are asked again each time: a run may follow
 * (e.g. tam-match resyncing with a restarted pipeline) while we wait. */
static void s_wait_run(fixture_t *f, tam_arena_t *a, tam_run_t *run)
{
    uint64_t seq = 0;
    assert_int_equal(s_pong(f, S_PIPELINE, &seq), 0);
    int64_t deadline = s_now_ms() + S_DEADLINE_MS;
    uint64_t seen = 0;
    for (;;) {
        tam_ping_t ping = {.note = "test"};
        int rc = s_call(f, S_MATCH, TAM_MSG_match_run, &ping, a, run, 1000);
        if (rc == 0 && run->needs == 3 && run->projects == 3 && run->pipeline_seq >= seq) {
            tam_report_request_t rq = {.kind = TAM_E_report_kind_pipeline};
            tam_report_t rep;
            if (s_call(f, S_PIPELINE, TAM_MSG_pipeline_report, &rq, a, &rep, 1000) == 0) {
                if (rep.run == run->run)
                    break;
                seen = rep.run;
            }
        }
        if (s_now_ms() > deadline)
            fail_msg("no run of tam-match reflects pipeline feed sequence %llu and is seen by "
                     "tam-pipeline (match: run %llu, pipeline: run %llu)",
                     (unsigned long long)seq, (unsigned long long)run->run, (unsigned long long)seen);
        poll(NULL, 0, 50);
    }
}

static tam_proposal_list_t s_proposals(fixture_t *f, tam_arena_t *a)
{
    tam_proposal_query_t q = {.limit = 100};
    tam_proposal_list_t l;
    assert_int_equal(s_call(f, S_MATCH, TAM_MSG_match_proposals, &q, a, &l, 2000), 0);
    return l;
}

static const tam_proposal_t *s_find(const tam_proposal_list_t *l, const char *id)
{
    for (uint32_t i = 0; i < l->items.n; i++)
        if (strcmp(l->items.v[i].id, id) == 0)
            return &l->items.v[i];
    return NULL;
}

static int64_t s_available(const tam_run_t *run, const char *project)
{
    for (uint32_t i = 0; i < run->project_state.n; i++)
        if (strcmp(run->project_state.v[i].project, project) == 0)
            return run->project_state.v[i].available;
    fail_msg("project %s not in the run", project);
    return 0;
}

static size_t s_audit_count(fixture_t *f)
{
    tam_arena_t *a = tam_arena_new(0);
    tam_audit_query_t q = {.limit = 10000};
    tam_audit_list_t l;
    assert_int_equal(s_call(f, S_PIPELINE, TAM_MSG_pipeline_audit, &q, a, &l, 2000), 0);
    size_t n = l.items.n;
    tam_arena_destroy(&a);
    return n;
}

/* "<need>/<project>" */
static void s_split(const char *id, uint64_t *need, char project[40])
{
    char *end;
    *need = strtoull(id, &end, 10);
    assert_true(*end == '/' && strlen(end + 1) < 40);
    strcpy(project, end + 1);
}

/* pipeline.audit with need and/or project gives exactly the entries of the
 * whole log on those proposals, oldest first, paged by after/next. */
static void s_check_audit_filter(fixture_t *f, uint64_t need, const char *project)
{
    tam_arena_t *a = tam_arena_new(0);
    tam_audit_query_t q = {.limit = 10000};
    tam_audit_list_t all, l;
    assert_int_equal(s_call(f, S_PIPELINE, TAM_MSG_pipeline_audit, &q, a, &all, 2000), 0);
    size_t want = 0;
    uint64_t seqs[64];
    for (uint32_t i = 0; i < all.items.n && want < 64; i++) {
        uint64_t n = 0;
        char proj[40];
        s_split(all.items.v[i].proposal, &n, proj);
        if ((!need || n == need) && (!project || strcmp(proj, project) == 0))
            seqs[want++] = all.items.v[i].seq;
    }
    /* one by one, following next */
    size_t got = 0;
    uint64_t after = 0;
    do {
        tam_audit_query_t fq = {.after = after, .limit = 1, .need = need, .project = (char *)project};
        assert_int_equal(s_call(f, S_PIPELINE, TAM_MSG_pipeline_audit, &fq, a, &l, 2000), 0);
        assert_true(l.items.n <= 1);
        if (l.items.n) {
            assert_true(got < want);
            assert_int_equal(l.items.v[0].seq, seqs[got]);
            got++;
        }
        after = l.next;
    } while (after);
    assert_int_equal(got, want);
    /* in one page */
    tam_audit_query_t fq = {.limit = 100, .need = need, .project = (char *)project};
    assert_int_equal(s_call(f, S_PIPELINE, TAM_MSG_pipeline_audit, &fq, a, &l, 2000), 0);
    assert_int_equal(l.items.n, want);
    assert_int_equal(l.next, 0);
    tam_arena_destroy(&a);
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    h_opts_t o = {.common = "log_level = info\nrequest_retries = 2\n",
                  .section = {[S_INGEST] = "map_size = 1M\n", [S_REGISTRY] = "map_size = 1M\n",
                              [S_PIPELINE] = "map_size = 1M\n",
                              [S_MATCH] = "coalesce = 20ms\ntoday = 2026-11-27\n"},
                  .tamctl = "timeout = 5s\n"};
    if (!f || !(f->h = h_new_opts("tam-itest-pipeline", &o))) {
        free(f);
        return -1;
    }
    f->have_match = f->h->have[S_MATCH];
    *state = f;
    s_up(f, S_INGEST);
    s_up(f, S_REGISTRY);
    s_up(f, S_PIPELINE);
    if (f->have_match)
        s_up(f, S_MATCH);
    s_load(f);
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *f = *state;
    h_free(f->h);
    free(f->out);
    free(f->err);
    free(f);
    return 0;
}

#define NEED_MATCH(f)                                                                        \
    do {                                                                                     \
        if (!(f)->have_match) {                                                              \
            fprintf(stderr, "tam-match is not built: skipped\n");                            \
            skip();                                                                          \
        }                                                                                    \
    } while (0)

/* ---- 1. decisions change the next run ------------------------------------------------------ */

static void test_decisions_change_runs(void **state)
{
    fixture_t *f = *state;
    NEED_MATCH(f);
    tam_arena_t *a = tam_arena_new(0);
    tam_run_t run;
    s_wait_run(f, a, &run);
    tam_proposal_list_t l = s_proposals(f, a);
    assert_true(l.items.n >= 2);
    const tam_proposal_t *p1 = &l.items.v[0];
    snprintf(f->p1, sizeof f->p1, "%s", p1->id);
    f->a1 = p1->amount;
    char project1[40];
    snprintf(project1, sizeof project1, "%s", p1->project);
    /* the second: another need and another project if there is one */
    const tam_proposal_t *p2 = &l.items.v[1];
    for (uint32_t i = 1; i < l.items.n; i++)
        if (l.items.v[i].need != p1->need && strcmp(l.items.v[i].project, p1->project) != 0) {
            p2 = &l.items.v[i];
            break;
        }
    snprintf(f->p2, sizeof f->p2, "%s", p2->id);
    int64_t avail0 = s_available(&run, project1);

    /* endorse: fixed at its amount in the next run */
    assert_tamctl(f, 0, "endorse", f->p1, "--reason", "Priority 5 in a mission country");
    assert_contains(f->out, "endorsed");
    char on_run[48];
    snprintf(on_run, sizeof on_run, "on match run %llu", (unsigned long long)run.run);
    assert_contains(f->out, on_run);
    s_wait_run(f, a, &run);
    l = s_proposals(f, a);
    p1 = s_find(&l, f->p1);
    assert_non_null(p1);
    assert_int_equal(p1->state, TAM_E_proposal_state_endorsed);
    assert_int_equal(p1->fixed, f->a1);
    assert_int_equal(p1->amount, f->a1);
    assert_int_equal(s_available(&run, project1), avail0); /* endorsing commits nothing */

    /* decline: the pair is not proposed again */
    assert_tamctl(f, 0, "decline", f->p2, "--reason", "Covered by a bilateral programme");
    assert_contains(f->out, "declined");
    s_wait_run(f, a, &run);
    l = s_proposals(f, a);
    assert_null(s_find(&l, f->p2));

    /* commit: the money leaves the project's available budget */
    assert_tamctl(f, 0, "commit", f->p1, "--reason", "Contribution agreement signed");
    assert_contains(f->out, "committed");
    s_wait_run(f, a, &run);
    l = s_proposals(f, a);
    p1 = s_find(&l, f->p1);
    assert_non_null(p1);
    assert_int_equal(p1->state, TAM_E_proposal_state_committed);
    assert_int_equal(p1->fixed, f->a1);
    assert_int_equal(s_available(&run, project1), avail0 - f->a1);

    /* deliver */
    assert_tamctl(f, 0, "deliver", f->p1, "--reason", "Workshop held");
    s_wait_run(f, a, &run);
    l = s_proposals(f, a);
    p1 = s_find(&l, f->p1);
    assert_non_null(p1);
    assert_int_equal(p1->state, TAM_E_proposal_state_delivered);

    /* the audit trail */
    assert_tamctl(f, 0, "history", f->p1);
    assert_contains(f->out, "donor_liaison");
    assert_contains(f->out, "Contribution agreement signed");
    assert_contains(f->out, "endorsed -> committed");
    assert_contains(f->out, "committed -> delivered");
    assert_tamctl(f, 0, "history", "--json");
    assert_contains(f->out, "\"reason\": \"Covered by a bilateral programme\"");
    assert_int_equal(s_audit_count(f), 4);
    /* the history filters the dashboard uses */
    uint64_t need1 = 0, need2 = 0;
    char project2[40], project1b[40];
    s_split(f->p1, &need1, project1b);
    s_split(f->p2, &need2, project2);
    s_check_audit_filter(f, need1, NULL);
    s_check_audit_filter(f, 0, project1);
    s_check_audit_filter(f, need1, project1);
    s_check_audit_filter(f, need2, project1);
    s_check_audit_filter(f, 0, project2);
    s_check_audit_filter(f, need1 + need2 + 1000, NULL); /* none */
    s_check_audit_filter(f, 0, "NOSUCHPROJECT");
    {
        tam_audit_query_t fq = {.limit = 100, .need = need1};
        tam_audit_list_t fl;
        assert_int_equal(s_call(f, S_PIPELINE, TAM_MSG_pipeline_audit, &fq, a, &fl, 2000), 0);
        assert_int_equal(fl.items.n, 3); /* endorse, commit, deliver */
    }
    assert_tamctl(f, 0, "decisions", "--state", "declined");
    assert_contains(f->out, f->p2);
    tam_arena_destroy(&a);
}

/* ---- 2. refusals ---------------------------------------------------------------------------- */

static void test_refusals(void **state)
{
    fixture_t *f = *state;
    NEED_MATCH(f);
    size_t n = s_audit_count(f);
    char msg[200];
    /* declined is final */
    assert_tamctl(f, 65, "endorse", f->p2, "--reason", "Try again");
    snprintf(msg, sizeof msg, "pipeline:act: cannot endorse proposal %s in state declined", f->p2);
    assert_contains(f->err, msg);
    /* delivered is final */
    assert_tamctl(f, 65, "withdraw", f->p1, "--reason", "Changed our mind");
    assert_contains(f->err, "in state delivered");
    /* commit without endorsement */
    tam_arena_t *a = tam_arena_new(0);
    tam_proposal_list_t l = s_proposals(f, a);
    const char *fresh = NULL;
    for (uint32_t i = 0; i < l.items.n && !fresh; i++)
        if (l.items.v[i].state == TAM_E_proposal_state_proposed)
            fresh = l.items.v[i].id;
    assert_non_null(fresh);
    assert_tamctl(f, 65, "commit", fresh, "--amount", "1000", "--reason", "Direct");
    assert_contains(f->err, "in state none: commit needs an endorsed proposal");
    /* beyond the project's money: nothing written */
    assert_tamctl(f, 0, "endorse", fresh, "--reason", "Next in line");
    assert_tamctl(f, 65, "commit", fresh, "--amount", "10,000,000", "--reason", "Too much");
    assert_contains(f->err, "pipeline:amount: commit of 10,000,000 exceeds what project");
    assert_int_equal(s_audit_count(f), n + 1);
    /* usage errors never reach the service */
    assert_tamctl(f, 64, "endorse", fresh);
    assert_contains(f->err, "--reason is required");
    assert_tamctl(f, 64, "deliver", fresh, "--amount", "5", "--reason", "x");
    assert_tamctl(f, 65, "decline", "not-a-proposal", "--reason", "x");
    assert_contains(f->err, "pipeline:proposal: 'not-a-proposal' is not a proposal id");
    assert_int_equal(s_audit_count(f), n + 1);
    tam_arena_destroy(&a);
}

/* ---- 3. reports --------------------------------------------------------------------------------- */

/* "80,000": whole USD with thousands separators, as tamctl prints them (static buffer). */
static const char *s_usd(int64_t v)
{
    static char out[32];
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0 && digits[i - 1] != '-')
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
    return out;
}

static void test_reports(void **state)
{
    fixture_t *f = *state;
    assert_tamctl(f, 0, "report", "gaps");
    assert_contains(f->out, "Category A: Standards and norms");
    assert_contains(f->out, "AFRICAN");
    assert_contains(f->out, "subtotal");
    assert_contains(f->out, "230,000"); /* requested: 100,000 + 50,000 + 80,000 */
    assert_tamctl(f, 0, "report", "gaps", "--by", "country");
    assert_contains(f->out, "KEN");
    assert_contains(f->out, "all needs and projects: requested ");
    assert_contains(f->out, "A-TOKYO");
    assert_tamctl(f, 0, "report", "gaps", "--csv", "--hxl");
    assert_contains(f->out, "category,group,standard,country,needs,requested,proposed,endorsed,"
                            "committed,unmet\r\n#sector+code,#region+name,");
    assert_contains(f->out, "A,APG,A-SMR,IND,1,80000,");
    assert_tamctl(f, 0, "report", "gaps", "--json");
    assert_contains(f->out, "\"kind\": \"gaps\"");
    assert_tamctl(f, 0, "report", "donors");
    assert_contains(f->out, "Donor SWE / Sweden");
    assert_contains(f->out, "Unallocated money and why no declared need uses it");
    assert_contains(f->out, "no open need fits its earmark on regional groups");
    assert_tamctl(f, 0, "report", "donors", "--csv", "--part", "1");
    assert_contains(f->out, "EEG-X,SWE,30000,");
    /* project show and list: the same money (tam-pipeline's one model) */
    /* the committed proposal p1 (amount a1) is on AFR-A, which has received 120,000 */
    assert_non_null(strstr(f->p1, "/AFR-A"));
    char line[96];
    assert_tamctl(f, 0, "project", "show", "AFR-A");
    snprintf(line, sizeof line, "committed            %s USD", s_usd(f->a1));
    assert_contains(f->out, line);
    snprintf(line, sizeof line, "available            %s USD after commitments and endorsements",
             s_usd(120000 - f->a1));
    assert_contains(f->out, line);
    assert_tamctl(f, 0, "project", "list", "--csv");
    assert_contains(f->out, ",committed,endorsed,available,");
    assert_contains(f->out, "AFR-A,active,200000,");
    snprintf(line, sizeof line, ",120000,%lld,0,%lld,", (long long)f->a1, (long long)(120000 - f->a1));
    assert_contains(f->out, line);
    assert_tamctl(f, 0, "report", "commission");
    assert_contains(f->out, "Overcrowding in prisons.");
    assert_contains(f->out, "Community service orders.");
    assert_tamctl(f, 0, "report", "commission", "--csv");
    assert_contains(f->out, "A,A-SMR,difficulty (9a),Overcrowding in prisons.,2,1,1,0,0,0,0");
    assert_tamctl(f, 0, "report", "pipeline");
    assert_contains(f->out, "Decisions waiting longest");
    if (f->have_match) {
        assert_tamctl(f, 0, "report", "pipeline", "--csv");
        assert_contains(f->out, "\r\ndelivered,1,");
        assert_contains(f->out, "\r\ndeclined,1,0,");
        assert_contains(f->out, "\r\nendorsed,1,"); /* the proposal endorsed by test_refusals */
    }
    assert_tamctl(f, 64, "report", "everything");
    assert_tamctl(f, 65, "report", "gaps", "--group", "NOWHERE");
    assert_contains(f->err, "pipeline:group: unknown regional group");
}

/* ---- 4. idempotency and restart -------------------------------------------------------------- */

static void test_resend_and_restart(void **state)
{
    fixture_t *f = *state;
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/run/pipeline.req", f->h->dir);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, f->h->zctx, ep, 3000, 0), 0);
    /* need 3 and project EEG-X exist: a first act of decline needs no proposal */
    tam_act_t act = {.proposal = "3/EEG-X", .act = TAM_E_decision_act_decline,
                     .reason = "Outside the earmark"};
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_act, &act, &sb, NULL), 0);
    size_t n = s_audit_count(f);
    tam_rpc_answer_t a1 = {0}, a2 = {0};
    assert_int_equal(tam_rpc_call_id(c, "itest-resend-1", "pipeline.act", sb.data, sb.size, &a1), 0);
    assert_int_equal(a1.status, TAM_RPC_OK);
    assert_int_equal(tam_rpc_call_id(c, "itest-resend-1", "pipeline.act", sb.data, sb.size, &a2), 0);
    assert_int_equal(a2.status, TAM_RPC_OK); /* the same answer, not "already declined" */
    assert_int_equal(a1.len, a2.len);
    assert_memory_equal(a1.body, a2.body, a1.len);
    assert_int_equal(s_audit_count(f), n + 1);
    tam_rpc_answer_clear(&a1);
    tam_rpc_answer_clear(&a2);
    msgpack_sbuffer_destroy(&sb);
    tam_rpc_client_destroy(&c);

    /* a restart keeps every decision and the whole log */
    assert_tamctl(f, 0, "decisions", "--json");
    char *before = strdup(f->out);
    assert_tamctl(f, 0, "history", "--json");
    char *log_before = strdup(f->out);
    s_down(f, S_PIPELINE);
    s_up(f, S_PIPELINE);
    assert_tamctl(f, 0, "decisions", "--json");
    assert_string_equal(f->out, before);
    assert_tamctl(f, 0, "history", "--json");
    assert_string_equal(f->out, log_before);
    free(before);
    free(log_before);
    if (f->have_match) {
        /* the matcher resynchronises with the new feed and keeps the decisions */
        tam_arena_t *a = tam_arena_new(0);
        tam_run_t run;
        int64_t deadline = s_now_ms() + S_DEADLINE_MS;
        const tam_proposal_t *p1 = NULL;
        do {
            s_wait_run(f, a, &run);
            tam_proposal_list_t l = s_proposals(f, a);
            p1 = s_find(&l, f->p1);
            if (p1 && p1->state == TAM_E_proposal_state_delivered)
                break;
            poll(NULL, 0, 50);
        } while (s_now_ms() < deadline);
        assert_non_null(p1);
        assert_int_equal(p1->state, TAM_E_proposal_state_delivered);
        tam_arena_destroy(&a);
    }
}

/* ---- 5. without the matcher ------------------------------------------------------------------- */

static void test_match_down(void **state)
{
    fixture_t *f = *state;
    s_down(f, S_MATCH);
    assert_tamctl(f, 0, "decline", "2/EEG-X", "--reason", "Outside the earmark");
    if (f->have_match)
        assert_contains(f->err, "match not reachable");
    assert_contains(f->err, "the act names the latest run tam-pipeline has seen");
    assert_contains(f->out, "declined");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decisions_change_runs),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_resend_and_restart),
        cmocka_unit_test(test_match_down),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

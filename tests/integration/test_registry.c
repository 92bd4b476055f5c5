/* test_registry.c — tam-registry and the registry commands of tamctl, run as
 * a user runs them: a fresh temporary directory and config per test (ipc://
 * endpoints inside it), the real binaries started with fork/exec, readiness
 * polled with sys.ping, every change made through tamctl. Covers loading
 * records from JSON and CSV, totals and history, restart (durability), each
 * validation rule refused with nothing stored, idempotency of resends (also
 * across a restart), and a late-joining feed subscriber that must see the
 * same projects, budgets and context as the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zmq.h>

#include "tam/error.h"
#include "tam/feed.h"
#include "tam/proto.h"
#include "tam/rpc.h"
#include "services_harness.h"

#define S_OUT_MAX (1u << 20)

typedef struct {
    h_t *h;           /* the harness: only tam-registry runs */
    int rc;           /* exit status of the last tamctl */
    char *state;      /* a state kept by a test (freed by teardown) */
    char *out, *err;  /* its stdout and stderr */
} fixture_t;

/* ---- processes ---------------------------------------------------------------- */

static void s_write(const fixture_t *f, const char *name, const char *text, char *path, size_t cap)
{
    assert_non_null(h_write(f->h, name, text, path, cap));
}

/* Starts tam-registry; the test fails if it does not answer within 15 s. */
static void s_up(fixture_t *f)
{
    if (h_start(f->h, S_REGISTRY, 15000) != 0)
        fail_msg("tam-registry did not start");
}

/* SIGTERM, then the exit status must be 0. */
static void s_down(fixture_t *f)
{
    if (f->h->pid[S_REGISTRY])
        assert_int_equal(h_stop(f->h, S_REGISTRY, SIGTERM), 0);
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

#define assert_tamctl(f, want, ...)                                                        \
    do {                                                                                   \
        int rc_ = TAMCTL(f, __VA_ARGS__);                                                  \
        if (rc_ != (want))                                                                 \
            fail_msg("tamctl exit %d, not %d\nstdout:\n%s\nstderr:\n%s", rc_, (want), (f)->out, \
                     (f)->err);                                                            \
    } while (0)

#define assert_contains(hay, needle)                                     \
    do {                                                                 \
        if (!strstr((hay), (needle)))                                    \
            fail_msg("'%s' not found in:\n%s", (needle), (hay));        \
    } while (0)

/* ---- fixture --------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    h_opts_t o = {.common = "log_level = warning\nrequest_retries = 2\n",
                  .section[S_REGISTRY] = "map_size = 1M\n",
                  .tamctl = "timeout = 5s\n"};
    if (!f || !(f->h = h_new_opts("tam-itest-registry", &o))) {
        free(f);
        return -1;
    }
    *state = f;
    s_up(f);
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    h_free(f->h);
    free(f->out);
    free(f->err);
    free(f->state);
    free(f);
    return 0;
}

/* ---- data ------------------------------------------------------------------------- */

static const char *g_donors =
    "[{\"id\":\"NOR\",\"name\":\"Norway\",\"kind\":\"government\",\"iati_id\":\"XM-DAC-8\"},\n"
    " {\"id\":\"SWE\",\"name\":\"Sweden\",\"kind\":\"government\"},\n"
    " {\"id\":\"UNPBF\",\"name\":\"Peacebuilding Fund\",\"kind\":\"multilateral\",\"iati_id\":\"XM-DAC-41141\"}]\n";

#define PROJ(id, extra)                                                                       \
    "{\"id\":\"" id "\",\"title\":\"Prison reform\",\"donors\":[{\"donor\":\"NOR\",\"percent\":60},"   \
    "{\"donor\":\"SWE\",\"percent\":40}],\"budget\":2850000,\"budget_status\":\"committed\","   \
    "\"start\":\"2026-10-01\",\"end\":\"2028-08-03\",\"status\":\"active\",\"dac\":\"15137\","  \
    "\"earmarks\":{\"groups\":[\"AFRICAN\"],\"categories\":[\"A\"],\"standards\":[\"A-SMR\"]" extra "}}"

static const char *g_projects = "[" PROJ("AFR-PRISON", ",\"max_per_need\":250000") ",\n"
    "{\"id\":\"PC-JUDIC\",\"title\":\"Judicial integrity after conflict\",\"donors\":[{\"donor\":"
    "\"UNPBF\",\"percent\":100}],\"budget\":1000000,\"budget_status\":\"indicative\",\"start\":"
    "\"2026-01-01\",\"end\":\"2027-12-31\",\"status\":\"pipeline\",\"dac\":\"15130\",\"earmarks\":"
    "{\"categories\":[\"D\"],\"standards\":[\"D-JUDIC\"],\"post_conflict_only\":true}}]\n";

static const char *g_ledger =
    "[{\"project\":\"AFR-PRISON\",\"kind\":\"pledge\",\"amount\":2850000,\"date\":\"2026-10-01\",\"note\":\"agreement\",\"id\":0},\n"
    " {\"project\":\"AFR-PRISON\",\"kind\":\"receipt\",\"amount\":340000,\"date\":\"2026-10-01\",\"note\":\"first tranche\",\"id\":0},\n"
    " {\"project\":\"PC-JUDIC\",\"kind\":\"pledge\",\"amount\":1000000,\"date\":\"2026-02-01\",\"id\":0}]\n";

static const char *g_context =
    "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"MINUSCA\",\"priorities\":[\"A-SMR\",\"D-JUDIC\"],"
    "\"valid_from\":\"2026-01-01\"},{\"country\":\"SSD\",\"operation\":\"UNMISS\",\"valid_from\":\"2026-01-01\"}],"
    "\"note\":\"test\",\"version\":0}\n";

/* Loads the data above through tamctl. */
static void s_load(fixture_t *f)
{
    char p[256];
    s_write(f, "donors.json", g_donors, p, sizeof p);
    assert_tamctl(f, 0, "donor", "add", p);
    assert_contains(f->out, "3 added");
    s_write(f, "projects.json", g_projects, p, sizeof p);
    assert_tamctl(f, 0, "project", "add", p);
    assert_contains(f->out, "2 added, 0 refused");
    s_write(f, "ledger.json", g_ledger, p, sizeof p);
    assert_tamctl(f, 0, "ledger", "import", p);
    assert_contains(f->out, "3 entries recorded");
    s_write(f, "context.json", g_context, p, sizeof p);
    assert_tamctl(f, 0, "context", "set", p);
    assert_contains(f->out, "version 1, 2 mission countries");
}

/* Everything the store holds, as tamctl shows it in JSON. */
static char *s_state(fixture_t *f)
{
    size_t cap = 6 * S_OUT_MAX, used = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[0] = 0;
    const char *cmds[][4] = {{"donor", "list", NULL, NULL},
                             {"project", "list", NULL, NULL},
                             {"context", "show", NULL, NULL},
                             {"ledger", "list", "AFR-PRISON", NULL},
                             {"ledger", "list", "PC-JUDIC", NULL}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc = s_ctl(f, "--json", cmds[i][0], cmds[i][1], cmds[i][2], (char *)NULL);
        used += (size_t)snprintf(s + used, cap - used, "== %s %s %s: %d\n%s", cmds[i][0], cmds[i][1],
                                 cmds[i][2] ? cmds[i][2] : "", rc, f->out);
    }
    return s;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_load_show_restart(void **state)
{
    fixture_t *f = *state;
    s_load(f);
    assert_tamctl(f, 0, "project", "show", "AFR-PRISON");
    assert_contains(f->out, "pledged              2,850,000 USD");
    assert_contains(f->out, "received             340,000 USD");
    /* tam-pipeline is not running here: the money after commitments is unknown */
    assert_contains(f->out, "available            unknown: tam-pipeline did not answer (received "
                            "340,000 USD before commitments and endorsements)");
    assert_contains(f->out, "AFRICAN (African States)");
    assert_contains(f->out, "A-SMR (Nelson Mandela Rules)");
    assert_contains(f->out, "NOR 60% (Norway)");
    assert_contains(f->out, "first tranche");
    assert_tamctl(f, 0, "ledger", "add", "AFR-PRISON", "--receipt", "1,000,000", "--note", "second");
    assert_contains(f->out, "received 1,340,000 USD");
    assert_tamctl(f, 0, "ledger", "add", "--adjust", "-40000", "AFR-PRISON", "--date", "2026-12-01");
    assert_contains(f->out, "received 1,300,000 USD");
    assert_tamctl(f, 0, "project", "list", "--status", "pipeline");
    assert_contains(f->out, "PC-JUDIC");
    assert_true(strstr(f->out, "AFR-PRISON") == NULL);
    assert_tamctl(f, 0, "project", "list", "--donor", "SWE", "--json");
    assert_contains(f->out, "\"AFR-PRISON\"");
    assert_true(strstr(f->out, "PC-JUDIC") == NULL);
    assert_tamctl(f, 0, "donor", "show", "UNPBF");
    assert_contains(f->out, "PC-JUDIC");

    /* A restart loses nothing acknowledged. */
    char *before = s_state(f);
    s_down(f);
    s_up(f);
    char *after = s_state(f);
    assert_string_equal(before, after);
    assert_contains(after, "\"received\": 1300000");
    free(before);
    free(after);
}

static void test_history(void **state)
{
    fixture_t *f = *state;
    s_load(f);
    char p[256];
    s_write(f, "upd.json", PROJ("AFR-PRISON", ",\"countries\":[\"CAF\",\"COD\"]") "\n", p, sizeof p);
    /* title unchanged, countries added: revision 4 (add, 2 ledger entries, this) */
    assert_tamctl(f, 0, "project", "update", p);
    assert_contains(f->out, "1 changed, 0 unchanged");
    assert_tamctl(f, 0, "project", "update", p);
    assert_contains(f->out, "0 changed, 1 unchanged");
    assert_tamctl(f, 0, "project", "show", "AFR-PRISON");
    assert_contains(f->out, "(revision 4)");
    assert_contains(f->out, "CAF (Central African Republic)");
    assert_tamctl(f, 0, "project", "show", "AFR-PRISON", "--revision", "1");
    assert_contains(f->out, "(revision 1)");
    assert_contains(f->out, "countries           any");
    assert_contains(f->out, "received             0 USD");
    assert_tamctl(f, 65, "project", "update", "--if-version", "3", p);
    assert_contains(f->err, "if_version: project 'AFR-PRISON' is at revision 4, not 3");
    assert_tamctl(f, 0, "project", "close", "AFR-PRISON", "--reason", "Completed");
    assert_contains(f->out, "closed (revision 5)");
    assert_tamctl(f, 65, "project", "update", p);
    assert_contains(f->err, ":id: project 'AFR-PRISON' is closed");
    /* still there, with its reason; earlier revisions intact */
    assert_tamctl(f, 0, "project", "show", "AFR-PRISON", "--json");
    assert_contains(f->out, "\"reason\": \"Completed\"");
    assert_tamctl(f, 0, "project", "show", "AFR-PRISON", "--revision", "4", "--json");
    assert_contains(f->out, "\"status\": \"active\"");

    /* donors and the context keep their history too */
    s_write(f, "nor.json", "{\"id\":\"NOR\",\"name\":\"Kingdom of Norway\",\"kind\":\"government\"}", p, sizeof p);
    assert_tamctl(f, 0, "donor", "add", p);
    assert_contains(f->out, "0 added, 1 changed");
    assert_tamctl(f, 0, "donor", "show", "NOR", "--revision", "1");
    assert_contains(f->out, "name      Norway");
    assert_contains(f->out, "XM-DAC-8");
    s_write(f, "ctx.json", "{\"missions\":[]}", p, sizeof p);
    assert_tamctl(f, 0, "context", "set", p);
    assert_contains(f->out, "version 2, 0 mission countries");
    assert_tamctl(f, 0, "context", "show", "--version", "1");
    assert_contains(f->out, "MINUSCA");
    /* compare-and-set: a stale --if-version is refused naming the current version */
    s_write(f, "ctx3.json", "{\"missions\":[],\"note\":\"third\"}", p, sizeof p);
    assert_tamctl(f, 65, "context", "set", "--if-version", "1", p);
    assert_contains(f->err, "if_version: the planning context is at version 2, not 1");
    assert_tamctl(f, 0, "context", "set", "--if-version", "2", p);
    assert_contains(f->out, "version 3, 0 mission countries");
}

/* Each rule refused with the field named, and nothing stored. */
static void test_validation(void **state)
{
    fixture_t *f = *state;
    s_load(f);
    assert_tamctl(f, 0, "project", "close", "PC-JUDIC", "--status", "cancelled", "--reason", "no funds");
    char *before = f->state = s_state(f);
    static const struct {
        const char *cmd, *verb, *json, *msg;
    } cases[] = {
        {"project", "add", PROJ("X1", ",\"countries\":[\"XXX\"]"), ":earmarks.countries[0]: unknown country 'XXX'"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{\"groups\":[\"AFRICAN\",\"NORDIC\"]}}", ":earmarks.groups[1]: unknown regional group"},
        {"project", "add", PROJ("X1", ",\"regions\":[\"999\"]"), ":earmarks.regions[0]: unknown M49 area"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{\"categories\":[\"E\"]}}", ":earmarks.categories[0]: unknown category 'E'"},
        {"project", "add", PROJ("X1", ",\"modalities\":[\"magic\"]"), ":earmarks.modalities[0]: unknown modality"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{\"standards\":[\"Z-NONE\"]}}", ":earmarks.standards[0]: unknown standard"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"99999\",\"earmarks\":{}}", ":dac: unknown DAC purpose code"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{\"categories\":[\"A\"],\"standards\":[\"D-JUDIC\"]}}",
         ":earmarks.standards[0]: standard 'D-JUDIC' is in category D"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":50}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{}}", ":donors: shares add up to 50, not 100"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"DNK\",\"percent\":100}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{}}", ":donors[0].donor: unknown donor 'DNK'"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":50},{\"donor\":\"NOR\",\"percent\":50}],"
                           "\"budget\":1,\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\","
                           "\"status\":\"active\",\"dac\":\"15130\",\"earmarks\":{}}", ":donors[1].donor: donor 'NOR' is listed twice"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],\"budget\":-5,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{}}", ":budget: must be between 0 and"},
        {"project", "add", "{\"id\":\"X1\",\"title\":\"t\",\"donors\":[{\"donor\":\"NOR\",\"percent\":100}],\"budget\":1,"
                           "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2025-12-31\",\"status\":\"active\","
                           "\"dac\":\"15130\",\"earmarks\":{}}", ":end: the window ends (2025-12-31) before it starts"},
        {"project", "add", PROJ("AFR-PRISON", ""), ":id: project 'AFR-PRISON' exists already"},
        {"project", "update", PROJ("X9", ""), ":id: no project 'X9'"},
        {"project", "update", "{\"id\":\"PC-JUDIC\",\"title\":\"t\",\"donors\":[{\"donor\":\"UNPBF\",\"percent\":100}],\"budget\":1,"
                              "\"budget_status\":\"committed\",\"start\":\"2026-01-01\",\"end\":\"2026-12-31\",\"status\":\"active\","
                              "\"dac\":\"15130\",\"earmarks\":{}}", ":id: project 'PC-JUDIC' is cancelled"},
        {"ledger", "import", "[{\"project\":\"AFR-PRISON\",\"kind\":\"pledge\",\"amount\":0}]", ":amount: a pledge must be a positive amount"},
        {"ledger", "import", "[{\"project\":\"AFR-PRISON\",\"kind\":\"receipt\",\"amount\":-5}]", ":amount: a receipt must be a positive amount"},
        {"ledger", "import", "[{\"project\":\"AFR-PRISON\",\"kind\":\"adjustment\",\"amount\":0}]", ":amount: an adjustment must not be zero"},
        {"ledger", "import", "[{\"project\":\"AFR-PRISON\",\"kind\":\"adjustment\",\"amount\":-340001}]", ":amount: would bring received funds"},
        {"ledger", "import", "[{\"project\":\"NOPE\",\"kind\":\"pledge\",\"amount\":5}]", ":project: no project 'NOPE'"},
        {"ledger", "import", "[{\"project\":\"PC-JUDIC\",\"kind\":\"adjustment\",\"amount\":5}]", ":project: project 'PC-JUDIC' is cancelled"},
        {"context", "set", "{\"missions\":[{\"country\":\"XXX\",\"operation\":\"M\",\"valid_from\":\"2026-01-01\"}]}",
         ":missions[0].country: unknown country 'XXX'"},
        {"context", "set", "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"M\",\"valid_from\":\"2026-01-01\"},"
                           "{\"country\":\"CAF\",\"operation\":\"N\",\"valid_from\":\"2026-01-01\"}]}", ":missions[1].country: country 'CAF' has two entries"},
        {"context", "set", "{\"missions\":[{\"country\":\"CAF\",\"operation\":\"M\",\"priorities\":[\"MINUSCA\"],\"valid_from\":\"2026-01-01\"}]}",
         ":missions[0].priorities[0]: unknown standard 'MINUSCA'"},
        {"donor", "add", "{\"id\":\"DNK\",\"name\":\"Denmark\",\"kind\":\"government\",\"iati_id\":\"XM-DAC-DK\"}", ":iati_id: 'XM-DAC-DK' is not an IATI"},
        {"donor", "add", "{\"id\":\"D K\",\"name\":\"Denmark\",\"kind\":\"government\"}", ":id: 'D K' is not a valid donor id"},
        /* last: its first element is stored */
        {"project", "add", "[" PROJ("X2", "") "," PROJ("X2", "") "]", "[1]:id: project 'X2' exists already"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[256];
        s_write(f, "bad.json", cases[i].json, p, sizeof p);
        int rc = TAMCTL(f, cases[i].cmd, cases[i].verb, p);
        if (rc != 65 || !strstr(f->err, cases[i].msg))
            fail_msg("case %zu (%s %s): exit %d, stderr:\n%s\nwanted: %s", i, cases[i].cmd,
                     cases[i].verb, rc, f->err, cases[i].msg);
        /* the array case stores its first element: take it out of the comparison */
        if (strstr(cases[i].json, "\"X2\""))
            continue;
        char *now = s_state(f);
        if (strcmp(now, before) != 0)
            fail_msg("case %zu stored something:\n%s", i, now);
        free(now);
    }
    /* command-line checks refuse before anything is sent */
    assert_tamctl(f, 64, "ledger", "add", "AFR-PRISON", "--pledge", "-5");
    assert_tamctl(f, 64, "ledger", "add", "AFR-PRISON", "--pledge", "1.5");
    assert_tamctl(f, 64, "ledger", "add", "AFR-PRISON", "--pledge", "5", "--receipt", "5");
    assert_tamctl(f, 64, "project", "close", "AFR-PRISON", "--status", "active", "--reason", "x");
    assert_tamctl(f, 64, "project", "list", "--status", "finished");
}

static void test_csv_import(void **state)
{
    fixture_t *f = *state;
    s_load(f);
    char p[256], sample[600];
    /* the documented sample needs the donors it names */
    s_write(f, "more.json", "[{\"id\":\"EU\",\"name\":\"European Union\",\"kind\":\"multilateral\"},"
                            "{\"id\":\"CAN\",\"name\":\"Canada\",\"kind\":\"government\"}]", p, sizeof p);
    assert_tamctl(f, 0, "donor", "add", p);
    snprintf(sample, sizeof sample, "%s/config/samples/projects.csv", f->h->src);
    assert_tamctl(f, 0, "project", "import", sample);
    assert_contains(f->out, "3 row(s): 3 added, 0 changed, 0 unchanged, 0 refused");
    assert_tamctl(f, 0, "project", "show", "SAH-BORDER", "--json");
    assert_contains(f->out, "\"countries\": [\n          \"MLI\",");
    assert_contains(f->out, "\"percent\": 40");
    /* again: exists, refused, with a hint */
    assert_tamctl(f, 65, "project", "import", sample);
    assert_contains(f->err, "--update");
    assert_tamctl(f, 0, "project", "import", "--update", sample);
    assert_contains(f->out, "0 added, 0 changed, 3 unchanged, 0 refused");

    s_write(f, "bad.csv",
            "id,title,donors,budget,budget_status,start,end,status,dac,countries\n"
            "C1,One,NOR,\"1,000\",committed,2027-01-01,2027-12-31,active,15130,CAF;COD\n"
            "C2,Two,NOR:50;SWE,10,committed,2027-01-01,2027-12-31,active,15130,\n"
            "C3,Three,NOR,10x,committed,2027-01-01,2027-12-31,active,15130,\n"
            "C4,Four,NOR,10,committed,2027-01-01,2027-12-31,active,15130,ATL\n",
            p, sizeof p);
    assert_tamctl(f, 65, "project", "import", p);
    assert_contains(f->out, "4 row(s): 1 added, 0 changed, 0 unchanged, 3 refused");
    assert_contains(f->err, "bad.csv:3:donors: 'SWE' needs its share");
    assert_contains(f->err, "bad.csv:4:budget: must be whole US dollars");
    assert_contains(f->err, "bad.csv:5:earmarks.countries[0]: unknown country 'ATL'");
    assert_tamctl(f, 0, "project", "list", "--csv");
    assert_contains(f->out, "C1,active,1000,");

    s_write(f, "hdr.csv", "id,title,colour\nC9,x,red\n", p, sizeof p);
    assert_tamctl(f, 65, "project", "import", p);
    assert_contains(f->err, "unknown column 'colour'");
    assert_contains(f->err, "required column 'donors' is missing");
}

/* One call with a chosen request id; returns the answer body (malloc'd). */
static uint8_t *s_call_id(fixture_t *f, const char *id, const char *type, const tam_schema_t *s,
                          const void *req, size_t *len, int *status)
{
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/run/registry.req", f->h->dir);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, f->h->zctx, ep, 5000, 1), 0);
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(s, req, &sb, NULL), 0);
    tam_rpc_answer_t ans = {0};
    assert_int_equal(tam_rpc_call_id(c, id, type, sb.data, sb.size, &ans), 0);
    msgpack_sbuffer_destroy(&sb);
    *status = ans.status;
    *len = ans.len;
    uint8_t *body = ans.body;
    ans.body = NULL;
    tam_rpc_answer_clear(&ans);
    tam_rpc_client_destroy(&c);
    return body;
}

static void test_idempotency(void **state)
{
    fixture_t *f = *state;
    s_load(f);
    tam_ledger_entry_t e = {.project = "AFR-PRISON", .kind = TAM_E_ledger_kind_receipt,
                            .amount = 1000, .note = "resent"};
    size_t l1, l2, l3;
    int s1, s2, s3;
    uint8_t *a1 = s_call_id(f, "fixed-id-1", "registry.ledger_add", &tam_schema_ledger_entry, &e, &l1, &s1);
    uint8_t *a2 = s_call_id(f, "fixed-id-1", "registry.ledger_add", &tam_schema_ledger_entry, &e, &l2, &s2);
    assert_int_equal(s1, TAM_RPC_OK);
    assert_int_equal(s2, TAM_RPC_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(a1, a2, l1);
    /* and after a restart: the request log is durable */
    s_down(f);
    s_up(f);
    uint8_t *a3 = s_call_id(f, "fixed-id-1", "registry.ledger_add", &tam_schema_ledger_entry, &e, &l3, &s3);
    assert_int_equal(l1, l3);
    assert_memory_equal(a1, a3, l1);
    free(a1);
    free(a2);
    free(a3);
    assert_tamctl(f, 0, "ledger", "list", "AFR-PRISON", "--json");
    assert_contains(f->out, "\"note\": \"resent\"");
    assert_true(strstr(strstr(f->out, "\"resent\"") + 1, "\"resent\"") == NULL);
    assert_tamctl(f, 0, "project", "show", "AFR-PRISON");
    assert_contains(f->out, "received             341,000 USD");

    /* importing a ledger file again records nothing new */
    char p[256];
    snprintf(p, sizeof p, "%s/ledger.json", f->h->dir);
    assert_tamctl(f, 0, "ledger", "import", p);
    assert_tamctl(f, 0, "project", "show", "AFR-PRISON");
    assert_contains(f->out, "received             341,000 USD");
    assert_contains(f->out, "ledger               3 entries");
    /* a new id is a new entry */
    assert_tamctl(f, 0, "ledger", "add", "AFR-PRISON", "--receipt", "1000", "--note", "resent");
    assert_contains(f->out, "received 342,000 USD");
}

/* ---- the feed -------------------------------------------------------------------------- */

typedef struct {
    char topic[64][48];
    uint8_t *body[64];
    size_t len[64];
    size_t n;
    int resets;
} s_mirror_t;

static void s_on_record(const char *topic, size_t tlen, const void *body, size_t blen,
                        uint64_t seq, int from_snapshot, void *arg)
{
    (void)seq, (void)from_snapshot;
    s_mirror_t *m = arg;
    size_t i = 0;
    while (i < m->n && !(strlen(m->topic[i]) == tlen && memcmp(m->topic[i], topic, tlen) == 0))
        i++;
    if (i == m->n) {
        assert_true(m->n < 64 && tlen < 48);
        memcpy(m->topic[i], topic, tlen);
        m->topic[i][tlen] = 0;
        m->n++;
    }
    free(m->body[i]);
    m->body[i] = malloc(blen);
    assert_non_null(m->body[i]);
    memcpy(m->body[i], body, blen);
    m->len[i] = blen;
}

static void s_on_reset(void *arg)
{
    s_mirror_t *m = arg;
    for (size_t i = 0; i < m->n; i++) {
        free(m->body[i]);
        m->body[i] = NULL;
    }
    m->n = 0;
    m->resets++;
}

static int s_find(const s_mirror_t *m, const char *topic)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->topic[i], topic) == 0)
            return (int)i;
    return -1;
}

/* Decodes a body and encodes it again: the canonical bytes of the record. */
static msgpack_sbuffer s_canon(const tam_schema_t *s, const void *body, size_t len)
{
    tam_arena_t *a = tam_arena_new(0);
    void *obj = tam_arena_alloc(a, s->size);
    tam_codec_err_t ce;
    if (tam_decode(s, body, len, a, obj, &ce))
        fail_msg("feed body does not decode as %s: %s: %s", s->name, ce.path, ce.message);
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(s, obj, &sb, NULL), 0);
    tam_arena_destroy(&a);
    return sb;
}

/* The registry's answers for every project, donor and the context must
 * equal what the subscriber holds. */
static void s_compare(fixture_t *f, const s_mirror_t *m)
{
    size_t nproj = 0, ndonor = 0;
    assert_tamctl(f, 0, "project", "list", "--json");
    for (size_t i = 0; i < m->n; i++)
        nproj += strncmp(m->topic[i], "project/", 8) == 0, ndonor += strncmp(m->topic[i], "donor/", 6) == 0;
    /* registry.projects, one page: compare record by record */
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/run/registry.req", f->h->dir);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, f->h->zctx, ep, 5000, 1), 0);
    const char *types[] = {"registry.projects", "registry.donors"};
    for (int k = 0; k < 2; k++) {
        msgpack_sbuffer q;
        tam_project_query_t pq = {.limit = 1000};
        tam_page_str_t dq = {.limit = 1000};
        assert_int_equal(k == 0 ? tam_encode_sbuf(&tam_schema_project_query, &pq, &q, NULL)
                                : tam_encode_sbuf(&tam_schema_page_str, &dq, &q, NULL), 0);
        tam_rpc_answer_t ans = {0};
        assert_int_equal(tam_rpc_call(c, types[k], q.data, q.size, &ans), 0);
        assert_int_equal(ans.status, TAM_RPC_OK);
        tam_arena_t *a = tam_arena_new(0);
        tam_codec_err_t ce;
        if (k == 0) {
            tam_project_list_t l;
            assert_int_equal(tam_decode(&tam_schema_project_list, ans.body, ans.len, a, &l, &ce), 0);
            assert_int_equal(l.items.n, nproj);
            for (uint32_t i = 0; i < l.items.n; i++) {
                char topic[64];
                snprintf(topic, sizeof topic, "project/%s", l.items.v[i].project->id);
                int j = s_find(m, topic);
                if (j < 0)
                    fail_msg("%s not on the feed", topic);
                msgpack_sbuffer want, got = s_canon(&tam_schema_project_rec, m->body[j], m->len[j]);
                assert_int_equal(tam_encode_sbuf(&tam_schema_project_rec, &l.items.v[i], &want, NULL), 0);
                if (want.size != got.size || memcmp(want.data, got.data, want.size) != 0)
                    fail_msg("%s differs between the feed and registry.projects", topic);
                msgpack_sbuffer_destroy(&want);
                msgpack_sbuffer_destroy(&got);
            }
        } else {
            tam_donor_list_t l;
            assert_int_equal(tam_decode(&tam_schema_donor_list, ans.body, ans.len, a, &l, &ce), 0);
            assert_int_equal(l.items.n, ndonor);
            for (uint32_t i = 0; i < l.items.n; i++) {
                char topic[64];
                snprintf(topic, sizeof topic, "donor/%s", l.items.v[i].id);
                int j = s_find(m, topic);
                assert_true(j >= 0);
                msgpack_sbuffer want, got = s_canon(&tam_schema_donor, m->body[j], m->len[j]);
                assert_int_equal(tam_encode_sbuf(&tam_schema_donor, &l.items.v[i], &want, NULL), 0);
                assert_true(want.size == got.size && memcmp(want.data, got.data, want.size) == 0);
                msgpack_sbuffer_destroy(&want);
                msgpack_sbuffer_destroy(&got);
            }
        }
        tam_arena_destroy(&a);
        tam_rpc_answer_clear(&ans);
        msgpack_sbuffer_destroy(&q);
    }
    /* the context */
    tam_key_t key = {.id = "context"};
    msgpack_sbuffer q;
    assert_int_equal(tam_encode_sbuf(&tam_schema_key, &key, &q, NULL), 0);
    tam_rpc_answer_t ans = {0};
    assert_int_equal(tam_rpc_call(c, "registry.context_get", q.data, q.size, &ans), 0);
    int j = s_find(m, "context");
    if (ans.status == TAM_RPC_OK) {
        assert_true(j >= 0);
        msgpack_sbuffer got = s_canon(&tam_schema_context, m->body[j], m->len[j]);
        msgpack_sbuffer want = s_canon(&tam_schema_context, ans.body, ans.len);
        assert_true(want.size == got.size && memcmp(want.data, got.data, want.size) == 0);
        msgpack_sbuffer_destroy(&want);
        msgpack_sbuffer_destroy(&got);
    } else {
        assert_true(j < 0);
    }
    /* RPC.md: a nil body reads the current context, the same answer */
    static const uint8_t nil = 0xc0;
    tam_rpc_answer_t nans = {0};
    assert_int_equal(tam_rpc_call(c, "registry.context_get", &nil, 1, &nans), 0);
    assert_int_equal(nans.status, ans.status);
    assert_int_equal(nans.len, ans.len);
    assert_memory_equal(nans.body, ans.body, ans.len);
    tam_rpc_answer_clear(&nans);
    /* and a ping takes one too */
    assert_int_equal(tam_rpc_call(c, "sys.ping", &nil, 1, &nans), 0);
    assert_int_equal(nans.status, TAM_RPC_OK);
    tam_rpc_answer_clear(&nans);
    tam_rpc_answer_clear(&ans);
    msgpack_sbuffer_destroy(&q);
    tam_rpc_client_destroy(&c);
}

/* Runs the client until it is synced at least at seq (the registry's feed
 * sequence from sys.ping), within 10 s. */
static void s_sync(fixture_t *f, tam_feed_client_t *fc, uint64_t at_least)
{
    (void)f;
    int64_t deadline = s_now_ms() + 10000;
    while (!(tam_feed_client_synced(fc) && tam_feed_client_seq(fc) >= at_least)) {
        assert_true(s_now_ms() < deadline);
        assert_int_equal(tam_feed_client_run(fc, 100), 0);
    }
}

static uint64_t s_feed_seq(fixture_t *f)
{
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/run/registry.req", f->h->dir);
    tam_rpc_client_t *c = NULL;
    assert_int_equal(tam_rpc_client_new(&c, f->h->zctx, ep, 5000, 1), 0);
    msgpack_sbuffer sb;
    tam_ping_t ping = {0};
    assert_int_equal(tam_encode_sbuf(&tam_schema_ping, &ping, &sb, NULL), 0);
    tam_rpc_answer_t ans = {0};
    assert_int_equal(tam_rpc_call(c, "sys.ping", sb.data, sb.size, &ans), 0);
    tam_arena_t *a = tam_arena_new(0);
    tam_pong_t pong;
    assert_int_equal(tam_decode(&tam_schema_pong, ans.body, ans.len, a, &pong, NULL), 0);
    uint64_t seq = pong.feed_seq;
    tam_arena_destroy(&a);
    tam_rpc_answer_clear(&ans);
    msgpack_sbuffer_destroy(&sb);
    tam_rpc_client_destroy(&c);
    return seq;
}

static void test_feed_late_joiner(void **state)
{
    fixture_t *f = *state;
    s_load(f);
    assert_tamctl(f, 0, "ledger", "add", "PC-JUDIC", "--receipt", "250000");
    assert_tamctl(f, 0, "project", "close", "PC-JUDIC", "--status", "cancelled", "--reason", "x");

    /* joins after all of that */
    s_mirror_t m = {0};
    char pub[160], snap[160];
    snprintf(pub, sizeof pub, "ipc://%s/run/registry.pub", f->h->dir);
    snprintf(snap, sizeof snap, "ipc://%s/run/registry.snap", f->h->dir);
    tam_feed_callbacks_t cb = {.on_record = s_on_record, .on_reset = s_on_reset, .arg = &m};
    tam_feed_client_t *fc = NULL;
    assert_int_equal(tam_feed_client_new(&fc, f->h->zctx, pub, snap, NULL, 0, &cb, NULL), 0);
    s_sync(f, fc, s_feed_seq(f));
    assert_int_equal(m.n, 3 + 2 + 1); /* donors, projects, context */
    s_compare(f, &m);

    /* changes while subscribed arrive as updates */
    assert_tamctl(f, 0, "ledger", "add", "AFR-PRISON", "--pledge", "100");
    char p[256];
    s_write(f, "ctx.json", "{\"missions\":[{\"country\":\"HTI\",\"operation\":\"BINUH\",\"valid_from\":\"2026-05-01\"}]}", p, sizeof p);
    assert_tamctl(f, 0, "context", "set", p);
    s_write(f, "d.json", "{\"id\":\"DNK\",\"name\":\"Denmark\",\"kind\":\"government\"}", p, sizeof p);
    assert_tamctl(f, 0, "donor", "add", p);
    s_sync(f, fc, s_feed_seq(f));
    assert_int_equal(m.n, 4 + 2 + 1);
    s_compare(f, &m);

    /* a prefix subscriber sees projects only */
    s_mirror_t pm = {0};
    tam_feed_callbacks_t pcb = {.on_record = s_on_record, .on_reset = s_on_reset, .arg = &pm};
    tam_feed_client_t *pfc = NULL;
    const char *prefixes[] = {"project/"};
    assert_int_equal(tam_feed_client_new(&pfc, f->h->zctx, pub, snap, prefixes, 1, &pcb, NULL), 0);
    s_sync(f, pfc, s_feed_seq(f));
    assert_int_equal(pm.n, 2);

    /* after a restart (new epoch) the subscriber resyncs to the same state */
    s_down(f);
    s_up(f);
    assert_tamctl(f, 0, "ledger", "add", "AFR-PRISON", "--receipt", "5");
    int64_t deadline = s_now_ms() + 15000;
    for (;;) {
        assert_int_equal(tam_feed_client_run(fc, 100), 0);
        int j = s_find(&m, "project/AFR-PRISON");
        if (tam_feed_client_synced(fc) && j >= 0 && tam_feed_client_seq(fc) >= s_feed_seq(f)) {
            tam_arena_t *a = tam_arena_new(0);
            tam_project_rec_t r;
            assert_int_equal(tam_decode(&tam_schema_project_rec, m.body[j], m.len[j], a, &r, NULL), 0);
            bool done = r.received == 340005;
            tam_arena_destroy(&a);
            if (done)
                break;
        }
        assert_true(s_now_ms() < deadline);
    }
    s_compare(f, &m);
    assert_true(m.resets >= 1);

    tam_feed_client_destroy(&pfc);
    tam_feed_client_destroy(&fc);
    s_on_reset(&m);
    s_on_reset(&pm);
}

static void test_unreachable_and_usage(void **state)
{
    fixture_t *f = *state;
    assert_tamctl(f, 64, "project", "show");
    assert_tamctl(f, 64, "ledger", "add", "P1");
    assert_tamctl(f, 0, "context", "show", "--help");
    assert_tamctl(f, 65, "context", "show"); /* nothing set yet: not found */
    assert_contains(f->err, "no planning context");
    char p[256];
    s_write(f, "bad.json", "{\"missions\": [", p, sizeof p);
    assert_tamctl(f, 65, "context", "set", p);
    assert_contains(f->err, "invalid JSON");
    assert_tamctl(f, 66, "donor", "add", "/nonexistent/donors.json");
    s_down(f);
    /* short waits: what is tested is the answer, not the patience */
    assert_tamctl(f, 69, "-o", "tamctl.timeout=200ms", "-o", "common.request_retries=0", "donor", "list");
    assert_contains(f->err, "not reachable");
    s_write(f, "d.json", g_donors, p, sizeof p);
    assert_tamctl(f, 69, "-o", "tamctl.timeout=200ms", "-o", "common.request_retries=0", "donor", "add", p);
}

/* --dry-run on every registry write of tamctl: the registry checks in full and
 * answers what storing would; nothing is stored (the whole state is compared),
 * and a refusal still names the field. */
static void test_dry_run(void **state)
{
    fixture_t *f = *state;
    s_load(f);
    char *before = f->state = s_state(f);
    char p[256];
    s_write(f, "new.json", PROJ("X-NEW", "") "\n", p, sizeof p);
    assert_tamctl(f, 0, "project", "add", "--dry-run", p);
    assert_contains(f->out, "projects (dry run): 1 would be added, 0 refused; nothing stored");
    assert_tamctl(f, 0, "--json", "project", "add", "--dry-run", p);
    assert_contains(f->out, "\"added\": 1, \"refused\": 0, \"unanswered\": 0, \"dry_run\": true");
    s_write(f, "upd.json", PROJ("AFR-PRISON", ",\"countries\":[\"CAF\"]") "\n", p, sizeof p);
    assert_tamctl(f, 0, "project", "update", "--dry-run", p);
    assert_contains(f->out, "projects (dry run): 1 would be changed, 0 unchanged, 0 refused");
    assert_tamctl(f, 0, "project", "close", "AFR-PRISON", "--reason", "done", "--dry-run");
    assert_contains(f->out, "dry run: AFR-PRISON would be closed");
    assert_tamctl(f, 0, "ledger", "add", "AFR-PRISON", "--receipt", "5,000", "--dry-run");
    assert_contains(f->out, "would bring pledged to 2,850,000, received to");
    assert_contains(f->out, "nothing stored");
    s_write(f, "led.json", "[{\"project\":\"AFR-PRISON\",\"kind\":\"pledge\",\"amount\":7}]", p, sizeof p);
    assert_tamctl(f, 0, "ledger", "import", "--dry-run", p);
    assert_contains(f->out, "ledger (dry run): 1 entry would be recorded");
    /* refused in a dry run as in a real one, field named */
    assert_tamctl(f, 65, "ledger", "add", "AFR-PRISON", "--adjust", "-99999999", "--dry-run");
    assert_contains(f->err, ":amount: would bring received funds");
    s_write(f, "bad.json", PROJ("X-BAD", ",\"countries\":[\"XXX\"]") "\n", p, sizeof p);
    assert_tamctl(f, 65, "project", "add", "--dry-run", p);
    assert_contains(f->err, ":earmarks.countries[0]: unknown country 'XXX'");
    char *now = s_state(f);
    assert_string_equal(now, before);
    free(now);
    /* and the same commands without --dry-run do store */
    s_write(f, "led.json", "[{\"project\":\"AFR-PRISON\",\"kind\":\"pledge\",\"amount\":7}]", p, sizeof p);
    assert_tamctl(f, 0, "ledger", "import", p);
    now = s_state(f);
    assert_true(strcmp(now, before) != 0);
    free(now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_show_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_late_joiner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_and_usage, setup, teardown),
    };
    return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}

/* test_config.c — tam/config.h: defaults, the key table, parsing and refusal
 * of every value type, INI loading with its error messages (file:line,
 * section and key), cross-key validation, overrides, and that the committed
 * config/tamatch.ini is exactly the generated text and loads to the defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/config.h"
#include "tam/error.h"

/* ---- fixture: a temporary directory for INI files ----------------------- */

typedef struct {
    char dir[64];
    char path[128];
    int nfiles;
    tam_config_t def;   /* the defaults */
    tam_config_t c;     /* the config under test */
    char err[512];
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tam-test-config-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    tam_config_defaults(&fx->def);
    tam_config_defaults(&fx->c);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    char p[160];
    for (int i = 0; i < fx->nfiles; i++) {
        snprintf(p, sizeof p, "%s/t%d.ini", fx->dir, i);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Writes len bytes to a new file tN.ini in the fixture directory; returns its path. */
static const char *write_ini_n(fixture_t *fx, const char *text, size_t len)
{
    snprintf(fx->path, sizeof fx->path, "%s/t%d.ini", fx->dir, fx->nfiles++);
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return fx->path;
}

static const char *write_ini(fixture_t *fx, const char *text)
{
    return write_ini_n(fx, text, strlen(text));
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- defaults and the key table ---------------------------------------- */

static void test_defaults(void **state)
{
    fixture_t *fx = *state;
    const tam_config_t *c = &fx->def;
    assert_string_equal(c->common.run_dir, "../run");
    assert_string_equal(c->common.data_dir, "../data");
    assert_string_equal(c->common.catalog_dir, "catalog");
    assert_int_equal(c->common.log_level, LOG_INFO);
    assert_int_equal(c->common.request_timeout, 3000);
    assert_int_equal(c->common.request_retries, 3);
    assert_int_equal(c->common.max_frame, 1024 * 1024);
    assert_int_equal(c->common.max_frames, 4);
    assert_int_equal(c->common.heartbeat, 1000);
    assert_string_equal(c->ingest.endpoint, "ipc://ingest.req");
    assert_string_equal(c->ingest.feed, "ipc://ingest.pub");
    assert_string_equal(c->ingest.snapshot, "ipc://ingest.snap");
    assert_true(c->ingest.map_size == 64ULL << 20);
    assert_true(c->ingest.map_max == 16ULL << 30);
    assert_int_equal(c->ingest.batch_max, 256);
    assert_int_equal(c->ingest.max_needs_per_reply, 500);
    assert_int_equal(c->ingest.max_text, 4000);
    assert_string_equal(c->registry.endpoint, "ipc://registry.req");
    assert_string_equal(c->pipeline.snapshot, "ipc://pipeline.snap");
    assert_string_equal(c->match.feed, "ipc://match.pub");
    assert_int_equal(c->match.coalesce, 200);
    assert_true(c->match.w_priority == 3.0);
    assert_true(c->match.w_context == 2.0);
    assert_true(c->match.w_thematic == 2.0);
    assert_true(c->match.w_modality == 1.0);
    assert_true(c->match.w_urgency == 1.0);
    assert_true(c->match.w_equity == 1.0);
    assert_true(c->match.w_ldc == 1.0);
    assert_true(c->match.w_completeness == 0.5);
    assert_int_equal(c->match.urgency_horizon_days, 365);
    assert_int_equal(c->tamctl.timeout, 3000);
    assert_true(c->tamctl.progress);
    assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), 0);
}

/* Every .def line: a documented key in a known section, sections in INI
 * order, names unique, and its default written in canonical form. */
static void test_key_table(void **state)
{
    fixture_t *fx = *state;
    static const char *const order[] = {"common", "ingest", "registry", "match", "pipeline", "tamctl", "security", "gateway", "iati"};
    size_t n = tam_config_nkeys(), s = 0;
    assert_true(n >= 40);
    assert_null(tam_config_key_at(n));
    for (size_t i = 0; i < n; i++) {
        const tam_config_key_t *k = tam_config_key_at(i);
        assert_non_null(k);
        while (s < 9 && strcmp(k->section, order[s]) != 0)
            s++;
        if (s == 9)
            fail_msg("key %s.%s: section out of order or unknown", k->section, k->name);
        assert_ptr_equal(tam_config_key(k->section, k->name), k);
        size_t dl = strlen(k->doc);
        if (dl < 10 || k->doc[dl - 1] != '.')
            fail_msg("key %s.%s: doc must be a sentence", k->section, k->name);
        char buf[TAM_CFG_STR_MAX + 8];
        assert_int_equal(tam_config_get(&fx->def, k->section, k->name, buf, sizeof buf), 0);
        if (strcmp(buf, k->def) != 0)
            fail_msg("key %s.%s: default \"%s\" is not canonical, write \"%s\"", k->section,
                     k->name, k->def, buf);
    }
    for (s = 0; s < 6; s++)
        assert_non_null(tam_config_section_doc(order[s]));
    assert_null(tam_config_section_doc("nope"));
    assert_null(tam_config_key("match", "nope"));
    assert_null(tam_config_key("nope", "endpoint"));
    assert_null(tam_config_key(NULL, "endpoint"));
}

/* ---- values by type ---------------------------------------------------- */

typedef struct {
    const char *section, *key, *value;
    const char *canonical; /* what tam_config_get prints after the set */
} good_t;

static void test_set_accepts(void **state)
{
    fixture_t *fx = *state;
    static const good_t cases[] = {
        {"ingest", "map_size", "64M", "64M"},
        {"ingest", "map_size", "512k", "512K"}, /* below 1M: refused below */
        {"ingest", "map_size", "2MiB", "2M"},
        {"ingest", "map_size", "3mb", "3M"},
        {"ingest", "map_size", "1G", "1G"},
        {"ingest", "map_size", "1536K", "1536K"},
        {"ingest", "map_size", "2097152", "2M"},
        {"ingest", "map_max", "4T", "4T"},
        {"ingest", "max_text", "4000", "4000"},
        {"ingest", "max_text", "17B", "17"},
        {"common", "request_timeout", "500ms", "500ms"},
        {"common", "request_timeout", "2s", "2s"},
        {"common", "request_timeout", "1m", "1m"},
        {"common", "request_timeout", "250", "250ms"},
        {"common", "request_timeout", "1500", "1500ms"},
        {"common", "request_timeout", "120000", "2m"},
        {"match", "coalesce", "0", "0"},
        {"common", "heartbeat", "10ms", "10ms"},
        {"common", "request_retries", "0", "0"},
        {"common", "request_retries", "+7", "7"},
        {"common", "request_retries", "100", "100"},
        {"tamctl", "progress", "false", "false"},
        {"tamctl", "progress", "YES", "true"},
        {"tamctl", "progress", "no", "false"},
        {"tamctl", "progress", "on", "true"},
        {"tamctl", "progress", "Off", "false"},
        {"tamctl", "progress", "1", "true"},
        {"tamctl", "progress", "0", "false"},
        {"match", "w_equity", "2.5", "2.5"},
        {"match", "w_equity", "0", "0"},
        {"match", "w_equity", "1000", "1000"},
        {"match", "w_equity", "1e2", "100"},
        {"match", "w_equity", "0.1", "0.1"},
        {"common", "log_level", "debug", "debug"},
        {"common", "log_level", "WARNING", "warning"},
        {"common", "log_level", "error", "err"},
        {"common", "run_dir", "/var/run/tamatch", "/var/run/tamatch"},
        {"common", "run_dir", "\"quoted\"", "quoted"},
        {"common", "run_dir", "\" spaced \"", "\" spaced \""},
        {"common", "run_dir", "a=b", "a=b"},
        {"ingest", "endpoint", "tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"},
        {"ingest", "endpoint", "tcp://*:5555", "tcp://*:5555"},
        {"ingest", "endpoint", "tcp://[::1]:5555", "tcp://[::1]:5555"},
        {"ingest", "endpoint", "inproc://ingest", "inproc://ingest"},
        {"ingest", "endpoint", "ipc:///tmp/x.req", "ipc:///tmp/x.req"},
    };
    char buf[TAM_CFG_STR_MAX + 8];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const good_t *g = &cases[i];
        tam_config_defaults(&fx->c);
        int rc = tam_config_set(&fx->c, g->section, g->key, g->value, fx->err, sizeof fx->err);
        if (strcmp(g->value, "512k") == 0) {
            assert_int_equal(rc, TAM_ECONFIG); /* parses, but map_size starts at 1M */
            assert_contains(fx->err, "[ingest] map_size: must be between 1M and 4T");
            continue;
        }
        if (rc != 0)
            fail_msg("%s.%s=%s refused: %s", g->section, g->key, g->value, fx->err);
        assert_int_equal(tam_config_get(&fx->c, g->section, g->key, buf, sizeof buf), 0);
        if (strcmp(buf, g->canonical) != 0)
            fail_msg("%s.%s=%s reads back as %s, want %s", g->section, g->key, g->value, buf,
                     g->canonical);
    }
    /* The typed fields hold the values, not only their text. */
    tam_config_defaults(&fx->c);
    assert_int_equal(tam_config_set(&fx->c, "ingest", "map_max", "3G", NULL, 0), 0);
    assert_true(fx->c.ingest.map_max == 3ULL << 30);
    assert_int_equal(tam_config_set(&fx->c, "common", "heartbeat", "2m", NULL, 0), 0);
    assert_int_equal(fx->c.common.heartbeat, 120000);
    assert_int_equal(tam_config_set(&fx->c, "common", "log_level", "notice", NULL, 0), 0);
    assert_int_equal(fx->c.common.log_level, LOG_NOTICE);
    assert_int_equal(tam_config_set(&fx->c, "match", "w_ldc", "0.25", NULL, 0), 0);
    assert_true(fx->c.match.w_ldc == 0.25);
    assert_int_equal(tam_config_set(&fx->c, "tamctl", "progress", "no", NULL, 0), 0);
    assert_false(fx->c.tamctl.progress);
}

typedef struct {
    const char *section, *key, *value;
    const char *reason; /* expected in the message after "[section] key: " */
} bad_t;

static void test_set_refuses(void **state)
{
    fixture_t *fx = *state;
    static char longstr[600], longipc[130];
    memset(longstr, 'x', sizeof longstr - 1);
    snprintf(longipc, sizeof longipc, "ipc:///%0120d", 0);
    const bad_t cases[] = {
        {"ingest", "map_size", "-1M", "is not a size"},
        {"ingest", "map_size", "1.5G", "is not a size"},
        {"ingest", "map_size", "12X", "is not a size"},
        {"ingest", "map_size", "", "is not a size"},
        {"ingest", "map_size", " 1M", "is not a size"},
        {"ingest", "map_size", "M", "is not a size"},
        {"ingest", "map_size", "99999999999999999999", "is not a size"},
        {"ingest", "map_size", "20000000T", "is not a size"},
        {"ingest", "map_max", "8T", "must be between 1M and 4T"},
        {"common", "max_frame", "512", "must be between 1K and 1G"},
        {"common", "request_timeout", "3x", "is not a duration"},
        {"common", "request_timeout", "-5", "is not a duration"},
        {"common", "request_timeout", "1.5s", "is not a duration"},
        {"common", "request_timeout", "", "is not a duration"},
        {"common", "request_timeout", "5", "must be between 10ms and 10m"},
        {"common", "request_timeout", "11m", "must be between 10ms and 10m"},
        {"common", "request_timeout", "99999999999999999h", "is not a duration"},
        {"common", "request_retries", "4x", "is not an integer"},
        {"common", "request_retries", "", "is not an integer"},
        {"common", "request_retries", "1e3", "is not an integer"},
        {"common", "request_retries", "-", "is not an integer"},
        {"common", "request_retries", "9223372036854775808", "is not an integer"},
        {"common", "request_retries", "-1", "must be between 0 and 100"},
        {"common", "request_retries", "101", "must be between 0 and 100"},
        {"tamctl", "progress", "maybe", "is not a boolean"},
        {"tamctl", "progress", "", "is not a boolean"},
        {"tamctl", "progress", "2", "is not a boolean"},
        {"match", "w_equity", "nan", "is not a finite decimal number"},
        {"match", "w_equity", "inf", "is not a finite decimal number"},
        {"match", "w_equity", "abc", "is not a finite decimal number"},
        {"match", "w_equity", "1,5", "is not a finite decimal number"},
        {"match", "w_equity", "", "is not a finite decimal number"},
        {"match", "w_equity", "1e999", "is not a finite decimal number"},
        {"match", "w_equity", "1000.5", "must be between 0 and 1000"},
        {"match", "w_equity", "-0.1", "must be between 0 and 1000"},
        {"common", "log_level", "loud", "is not a log level"},
        {"common", "log_level", "", "is not a log level"},
        {"common", "log_level", "debugdebugdebugdebug", "is not a log level"},
        {"common", "run_dir", "", "must not be empty"},
        {"common", "run_dir", "\"\"", "must not be empty"},
        {"common", "run_dir", longstr, "too long (599 bytes, at most 511)"},
        {"common", "run_dir", "a\tb", "contains a control character"},
        {"common", "run_dir", "a ;b", "would start a comment"},
        {"ingest", "endpoint", "http://x", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", "tcp://host", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", "tcp://:5555", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", "tcp://host:0", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", "tcp://host:70000", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", "tcp://host:55x", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", "ipc://", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", "inproc://", "not a ZeroMQ endpoint"},
        {"ingest", "endpoint", longipc, "ipc path longer than 107 bytes"},
        {"ingest", "endpoint", "", "must not be empty"},
    };
    char want[300];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_t *b = &cases[i];
        tam_config_defaults(&fx->c);
        fx->err[0] = 0;
        int rc = tam_config_set(&fx->c, b->section, b->key, b->value, fx->err, sizeof fx->err);
        if (rc != TAM_ECONFIG)
            fail_msg("%s.%s=\"%s\" accepted (rc %d)", b->section, b->key, b->value, rc);
        snprintf(want, sizeof want, "[%s] %s: ", b->section, b->key);
        assert_true(strncmp(fx->err, want, strlen(want)) == 0);
        assert_contains(fx->err, b->reason);
        if (!tam_config_equal(&fx->c, &fx->def))
            fail_msg("%s.%s=\"%s\": refused but the config changed", b->section, b->key, b->value);
    }
}

/* A bad value is quoted back shortened and without control bytes. */
static void test_error_echo(void **state)
{
    fixture_t *fx = *state;
    char value[200];
    memset(value, 'q', sizeof value - 1);
    value[sizeof value - 1] = 0;
    value[3] = '\x1b';
    assert_int_equal(tam_config_set(&fx->c, "common", "heartbeat", value, fx->err, sizeof fx->err),
                     TAM_ECONFIG);
    assert_contains(fx->err, "\"qqq?qqq");
    assert_contains(fx->err, "...\" is not a duration");
    assert_null(strchr(fx->err, '\x1b'));
    assert_true(strlen(fx->err) < 160);
    /* A tiny or absent error buffer is fine. */
    char tiny[8];
    assert_int_equal(tam_config_set(&fx->c, "common", "heartbeat", "x", tiny, sizeof tiny), TAM_ECONFIG);
    assert_int_equal(strlen(tiny), 7);
    assert_int_equal(tam_config_set(&fx->c, "common", "heartbeat", "x", NULL, 0), TAM_ECONFIG);
}

static void test_set_unknown(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(tam_config_set(&fx->c, "nope", "x", "1", fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_string_equal(fx->err, "unknown section [nope]");
    assert_int_equal(tam_config_set(&fx->c, "match", "w_nope", "1", fx->err, sizeof fx->err),
                     TAM_ECONFIG);
    assert_string_equal(fx->err, "[match] unknown key \"w_nope\"");
    assert_int_equal(tam_config_set(NULL, "match", "w_ldc", "1", fx->err, sizeof fx->err), TAM_EINVAL);
    assert_int_equal(tam_config_set(&fx->c, NULL, "w_ldc", "1", fx->err, sizeof fx->err), TAM_EINVAL);
    assert_int_equal(tam_config_set(&fx->c, "match", "w_ldc", NULL, fx->err, sizeof fx->err), TAM_EINVAL);
    assert_true(tam_config_equal(&fx->c, &fx->def));
}

/* A set changes exactly its key. */
static void test_set_one_key(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(tam_config_set(&fx->c, "registry", "batch_max", "17", fx->err, sizeof fx->err), 0);
    assert_int_equal(fx->c.registry.batch_max, 17);
    assert_false(tam_config_equal(&fx->c, &fx->def));
    assert_int_equal(fx->c.ingest.batch_max, 256);
    assert_int_equal(fx->c.pipeline.batch_max, 256);
    fx->c.registry.batch_max = 256;
    assert_true(tam_config_equal(&fx->c, &fx->def));
}

static void test_override(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(tam_config_override(&fx->c, "match.w_ldc=2.5", fx->err, sizeof fx->err), 0);
    assert_true(fx->c.match.w_ldc == 2.5);
    assert_int_equal(tam_config_override(&fx->c, "common.run_dir=a=b", fx->err, sizeof fx->err), 0);
    assert_string_equal(fx->c.common.run_dir, "a=b");
    assert_int_equal(tam_config_override(&fx->c, "common.run_dir=", fx->err, sizeof fx->err),
                     TAM_ECONFIG);
    assert_contains(fx->err, "[common] run_dir: must not be empty");
    static const char *const bad[] = {"match.w_ldc", "w_ldc=2", ".w_ldc=2", "match.=2", "=2",
                                      "match=w_ldc.2",
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tam_config_override(&fx->c, bad[i], fx->err, sizeof fx->err), TAM_ECONFIG);
        assert_contains(fx->err, "expected section.key=value");
    }
    assert_int_equal(tam_config_override(&fx->c, "match.w_nope=1", fx->err, sizeof fx->err),
                     TAM_ECONFIG);
    assert_contains(fx->err, "unknown key \"w_nope\"");
    assert_int_equal(tam_config_override(&fx->c, NULL, fx->err, sizeof fx->err), TAM_EINVAL);
    assert_true(fx->c.match.w_ldc == 2.5);
    assert_string_equal(fx->c.common.run_dir, "a=b");
}

static void test_get(void **state)
{
    fixture_t *fx = *state;
    char buf[64];
    assert_int_equal(tam_config_get(&fx->def, "ingest", "endpoint", buf, sizeof buf), 0);
    assert_string_equal(buf, "ipc://ingest.req");
    assert_int_equal(tam_config_get(&fx->def, "ingest", "nope", buf, sizeof buf), TAM_EUNKNOWN);
    assert_string_equal(buf, "");
    assert_int_equal(tam_config_get(&fx->def, "ingest", "endpoint", buf, 5), TAM_ETRUNC);
    assert_string_equal(buf, "ipc:");
    assert_int_equal(tam_config_get(&fx->def, "ingest", "endpoint", buf, 0), TAM_ETRUNC);
    assert_int_equal(tam_config_get(NULL, "ingest", "endpoint", buf, sizeof buf), TAM_EINVAL);
}

/* ---- loading files ----------------------------------------------------- */

static void test_load_null_path(void **state)
{
    fixture_t *fx = *state;
    memset(&fx->c, 0x5a, sizeof fx->c);
    assert_int_equal(tam_config_load(&fx->c, NULL, fx->err, sizeof fx->err), 0);
    assert_true(tam_config_equal(&fx->c, &fx->def));
    assert_int_equal(tam_config_load(NULL, NULL, fx->err, sizeof fx->err), TAM_EINVAL);
}

static void test_load_values(void **state)
{
    fixture_t *fx = *state;
    /* BOM, CRLF, comments, indentation, inline comment, quotes, spaces around '=',
     * an empty known section and a section met twice. */
    const char *path = write_ini(fx,
        "\xEF\xBB\xBF; leading comment\r\n"
        "# another\r\n"
        "[common]\r\n"
        "run_dir=/srv/tam/run\r\n"
        "  data_dir = \"/srv/tam data\"   ; inline comment\r\n"
        "\tlog_level = debug\r\n"
        "[tamctl]\n"
        "[match]\n"
        "    w_equity = 4.5\n"
        "    w_ldc = 0\n"
        "coalesce = 1s\n"
        "[ingest]\n"
        "map_size = 128M\n"
        "endpoint = tcp://127.0.0.1:7001\n"
        "[match]\n"
        "urgency_horizon_days = 90\n");
    assert_int_equal(tam_config_load(&fx->c, path, fx->err, sizeof fx->err), 0);
    assert_string_equal(fx->c.common.run_dir, "/srv/tam/run");
    assert_string_equal(fx->c.common.data_dir, "/srv/tam data");
    assert_int_equal(fx->c.common.log_level, LOG_DEBUG);
    assert_true(fx->c.match.w_equity == 4.5);
    assert_true(fx->c.match.w_ldc == 0.0);
    assert_int_equal(fx->c.match.coalesce, 1000);
    assert_int_equal(fx->c.match.urgency_horizon_days, 90);
    assert_true(fx->c.ingest.map_size == 128ULL << 20);
    assert_string_equal(fx->c.ingest.endpoint, "tcp://127.0.0.1:7001");
    /* Everything else keeps its default. */
    assert_true(fx->c.match.w_priority == 3.0);
    assert_string_equal(fx->c.common.catalog_dir, "catalog");
    assert_string_equal(fx->c.ingest.feed, "ipc://ingest.pub");
    assert_int_equal(fx->c.common.request_timeout, 3000);
    assert_int_equal(tam_config_validate(&fx->c, fx->err, sizeof fx->err), 0);
    /* Loading starts from the defaults, not from what c held. */
    const char *p2 = write_ini(fx, "[common]\nheartbeat = 5s\n");
    assert_int_equal(tam_config_load(&fx->c, p2, fx->err, sizeof fx->err), 0);
    assert_string_equal(fx->c.common.run_dir, "../run");
    assert_int_equal(fx->c.common.heartbeat, 5000);
}

typedef struct {
    const char *text;
    int line;
    const char *msg; /* expected after "path:line: " */
} load_bad_t;

static void test_load_refuses(void **state)
{
    fixture_t *fx = *state;
    static char toolong[300];
    snprintf(toolong, sizeof toolong, "[common]\nrun_dir = %0220d\n", 0);
    const load_bad_t cases[] = {
        {"[foo]\n", 1, "unknown section [foo]"},
        {"[common]\nrun_dir = r\n\n[foo]\n[match]\nw_ldc = 1\n", 4, "unknown section [foo]"},
        {"[ match ]\nw_ldc = 1\n", 1, "unknown section [ match ]"},
        {"[match]\nw_foo = 1\n", 2, "[match] unknown key \"w_foo\""},
        {"; weights\n[match]\nw_equity = 1001\n", 3, "[match] w_equity: must be between 0 and 1000"},
        {"[common]\nheartbeat = soon\n", 2, "[common] heartbeat: \"soon\" is not a duration"},
        {"[common]\nheartbeat = 2s\n\nheartbeat = 3s\n", 4,
         "[common] heartbeat: set twice (first on line 2)"},
        {"[common\nrun_dir = x\n", 1, "expected [section], key = value or a comment"},
        {"[common]\njust words\n", 2, "expected [section], key = value or a comment"},
        {"run_dir = x\n[common]\n", 1, "key \"run_dir\" before any [section]"},
        {toolong, 2, "line longer than 199 bytes"},
        {"[common]\nrun_dir = a\nrun_dir = b\n[match]\nw_foo = 1\n", 3, "[common] run_dir: set twice"},
        {"[common]\njunk\n[nope]\n", 2, "expected [section]"},
        {"[nope]\njunk\n", 1, "unknown section [nope]"},
        {"[common]\nmax_frame = 1K\n[ingest]\nmax_text = 9999999\n", 4,
         "[ingest] max_text: must be between 16 and 1M"},
    };
    char want[300];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const load_bad_t *b = &cases[i];
        const char *path = write_ini(fx, b->text);
        /* c holds a non-default value that a failed load must not touch. */
        tam_config_defaults(&fx->c);
        fx->c.match.w_ldc = 7;
        int rc = tam_config_load(&fx->c, path, fx->err, sizeof fx->err);
        if (rc != TAM_ECONFIG)
            fail_msg("case %zu loaded (rc %d)", i, rc);
        snprintf(want, sizeof want, "%s:%d: %s", path, b->line, b->msg);
        if (strncmp(fx->err, want, strlen(want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, fx->err, want);
        assert_true(fx->c.match.w_ldc == 7.0);
        fx->c.match.w_ldc = 1;
        assert_true(tam_config_equal(&fx->c, &fx->def));
    }
}

static void test_load_nul_byte(void **state)
{
    fixture_t *fx = *state;
    static const char text[] = "[common]\nrun_dir = a\0b\n";
    const char *path = write_ini_n(fx, text, sizeof text - 1);
    assert_int_equal(tam_config_load(&fx->c, path, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_contains(fx->err, ":2: NUL byte in line");
}

static void test_load_io_errors(void **state)
{
    fixture_t *fx = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/missing.ini", fx->dir);
    assert_int_equal(tam_config_load(&fx->c, path, fx->err, sizeof fx->err), TAM_EIO);
    assert_contains(fx->err, path);
    assert_contains(fx->err, "No such file");
    assert_int_equal(tam_config_load(&fx->c, fx->dir, fx->err, sizeof fx->err), TAM_EIO);
    assert_contains(fx->err, fx->dir);
    assert_true(tam_config_equal(&fx->c, &fx->def));
}

/* An empty file and a comments-only file are the defaults. */
static void test_load_empty(void **state)
{
    fixture_t *fx = *state;
    const char *p = write_ini(fx, "");
    assert_int_equal(tam_config_load(&fx->c, p, fx->err, sizeof fx->err), 0);
    assert_true(tam_config_equal(&fx->c, &fx->def));
    p = write_ini(fx, "# nothing\n;\n\n");
    assert_int_equal(tam_config_load(&fx->c, p, fx->err, sizeof fx->err), 0);
    assert_true(tam_config_equal(&fx->c, &fx->def));
}

/* ---- validation -------------------------------------------------------- */

static void test_validate(void **state)
{
    fixture_t *fx = *state;
    tam_config_t *c = &fx->c;
    static const char *const weights[] = {"w_priority", "w_context", "w_thematic", "w_modality",
                                          "w_urgency", "w_equity", "w_ldc", "w_completeness"};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(tam_config_set(c, "match", weights[i], "0", fx->err, sizeof fx->err), 0);
    assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_contains(fx->err, "[match] w_*: at least one scoring weight must be above 0");
    /* Any single weight above 0 is enough. */
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(tam_config_set(c, "match", weights[i], "0.001", NULL, 0), 0);
        assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), 0);
        assert_int_equal(tam_config_set(c, "match", weights[i], "0", NULL, 0), 0);
    }

    tam_config_defaults(c);
    assert_int_equal(tam_config_set(c, "registry", "map_size", "1G", NULL, 0), 0);
    assert_int_equal(tam_config_set(c, "registry", "map_max", "512M", NULL, 0), 0);
    assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_string_equal(fx->err, "[registry] map_size: 1G is above map_max (512M)");
    assert_int_equal(tam_config_set(c, "registry", "map_max", "1G", NULL, 0), 0);
    assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), 0);

    tam_config_defaults(c);
    assert_int_equal(tam_config_set(c, "pipeline", "snapshot", "ipc://ingest.req", NULL, 0), 0);
    assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_string_equal(fx->err, "[pipeline] snapshot: same endpoint as [ingest] endpoint");

    tam_config_defaults(c);
    assert_int_equal(tam_config_set(c, "common", "max_frame", "4K", NULL, 0), 0);
    assert_int_equal(tam_config_set(c, "ingest", "max_text", "4K", NULL, 0), 0);
    assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_contains(fx->err, "[ingest] max_text: 4K must be below [common] max_frame (4K)");
    assert_int_equal(tam_config_set(c, "ingest", "max_text", "4000", NULL, 0), 0);
    assert_int_equal(tam_config_validate(c, fx->err, sizeof fx->err), 0);
    assert_int_equal(tam_config_validate(NULL, fx->err, sizeof fx->err), TAM_EINVAL);
}

/* ---- the documented INI ------------------------------------------------ */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            assert_non_null(nb);
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* config/tamatch.ini is exactly `tam-config --defaults`, and loads to the defaults. */
static void test_committed_ini(void **state)
{
    fixture_t *fx = *state;
    const char *src = getenv("TAM_SOURCE_DIR");
    if (!src)
        fail_msg("TAM_SOURCE_DIR is not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/config/tamatch.ini", src);
    size_t flen = 0;
    char *committed = read_all(path, &flen);
    if (!committed)
        fail_msg("cannot read %s", path);

    char *gen = NULL;
    size_t glen = 0;
    FILE *m = open_memstream(&gen, &glen);
    assert_non_null(m);
    assert_int_equal(tam_config_write_defaults(m), 0);
    assert_int_equal(fclose(m), 0);
    if (flen != glen || memcmp(committed, gen, glen) != 0) {
        free(committed);
        free(gen);
        fail_msg("%s differs from the generated text: run "
                 "`tam-config --defaults > config/tamatch.ini`", path);
    }
    /* Every line fits the parser, every key is set explicitly. */
    size_t keys = 0;
    for (char *line = gen; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        assert_true(len <= 199);
        if (len && line[0] != '#' && line[0] != '[')
            keys++;
        line += len + (nl ? 1 : 0);
    }
    assert_int_equal(keys, tam_config_nkeys());
    free(committed);
    free(gen);

    memset(&fx->c, 0, sizeof fx->c);
    assert_int_equal(tam_config_load(&fx->c, path, fx->err, sizeof fx->err), 0);
    assert_true(tam_config_equal(&fx->c, &fx->def));
    assert_int_equal(tam_config_validate(&fx->c, fx->err, sizeof fx->err), 0);
}

/* tam_config_write of a config with unusual values loads back to the same config. */
static void test_write_roundtrip(void **state)
{
    fixture_t *fx = *state;
    static const char *const sets[][3] = {
        {"common", "run_dir", " spaced "},    {"common", "data_dir", "\"\"x\"\""},
        {"common", "catalog_dir", ";semi"},   {"common", "log_level", "crit"},
        {"common", "max_frame", "1536"},      {"common", "request_timeout", "1500"},
        {"match", "w_equity", "0.1"},         {"match", "w_ldc", "333.33333333333331"},
        {"match", "coalesce", "0"},           {"tamctl", "progress", "off"},
        {"ingest", "map_max", "4T"},          {"ingest", "endpoint", "tcp://*:7000"},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (tam_config_set(&fx->c, sets[i][0], sets[i][1], sets[i][2], fx->err, sizeof fx->err))
            fail_msg("set %s.%s: %s", sets[i][0], sets[i][1], fx->err);
    assert_string_equal(fx->c.common.data_dir, "\"x\"");
    snprintf(fx->path, sizeof fx->path, "%s/t%d.ini", fx->dir, fx->nfiles++);
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    assert_int_equal(tam_config_write(f, &fx->c), 0);
    assert_int_equal(fclose(f), 0);
    tam_config_t *back = malloc(sizeof *back);
    assert_non_null(back);
    int rc = tam_config_load(back, fx->path, fx->err, sizeof fx->err);
    if (rc != 0) {
        free(back);
        fail_msg("written config does not load: %s", fx->err);
    }
    bool same = tam_config_equal(back, &fx->c);
    free(back);
    assert_true(same);
    assert_int_equal(tam_config_write(NULL, &fx->c), TAM_EINVAL);
    assert_int_equal(tam_config_write_defaults(NULL), TAM_EINVAL);
}

/* ---- the tam-config program ---------------------------------------------- */

/* Runs a shell command line; returns its exit status (-1 if it did not exit). */
static int run(const char *cmd)
{
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_program(void **state)
{
    fixture_t *fx = *state;
    const char *bin = getenv("TAM_BIN_DIR"), *src = getenv("TAM_SOURCE_DIR");
    if (!bin || !src)
        fail_msg("TAM_BIN_DIR or TAM_SOURCE_DIR is not set");
    char exe[600], cmd[2048];
    snprintf(exe, sizeof exe, "%s/tam-config", bin);
    if (access(exe, X_OK) != 0)
        fail_msg("%s is not built", exe);
    snprintf(cmd, sizeof cmd, "'%s' --defaults | cmp -s - '%s/config/tamatch.ini'", exe, src);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' -c '%s/config/tamatch.ini' | grep -qx ok", exe, src);
    assert_int_equal(run(cmd), 0);
    const char *bad = write_ini(fx, "[match]\nw_equity = 2000\n");
    snprintf(cmd, sizeof cmd, "'%s' -c '%s' 2>'%s/err.txt' >/dev/null", exe, bad, fx->dir);
    assert_int_equal(run(cmd), 78); /* EX_CONFIG */
    snprintf(cmd, sizeof cmd,
             "grep -qF '%s:2: [match] w_equity: must be between 0 and 1000' '%s/err.txt'", bad,
             fx->dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "'%s' -o match.w_ldc=0 -o common.heartbeat=2s --print | grep -qx 'heartbeat = 2s'", exe);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' -c '%s/missing.ini' 2>/dev/null", exe, fx->dir);
    assert_int_equal(run(cmd), 66); /* EX_NOINPUT */
    snprintf(cmd, sizeof cmd, "'%s' 2>/dev/null", exe);
    assert_int_equal(run(cmd), 64); /* EX_USAGE */
    snprintf(cmd, sizeof cmd, "'%s' --defaults -c x 2>/dev/null", exe);
    assert_int_equal(run(cmd), 64);
    snprintf(cmd, sizeof cmd, "'%s' --version | grep -q '^tam-config [0-9]'", exe);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' --help | grep -q '^usage: tam-config'", exe);
    assert_int_equal(run(cmd), 0);
    char errfile[128];
    snprintf(errfile, sizeof errfile, "%s/err.txt", fx->dir);
    unlink(errfile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_accepts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_one_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_null_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_nul_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_io_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_committed_ini, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program, setup, teardown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

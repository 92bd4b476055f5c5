/* test_gateway_docs.c — the curl examples of docs/gateway.md work as written
 * on the demo: every ```sh block of the document that runs curl is read
 * (the "Examples on the demo" block first: it sets $url and a token per
 * role), joined at its backslash continuations, and run line by line in one
 * shell, from a directory like the repository root (config/ is the
 * repository's, run/keys/NAME.token holds each person's token as
 * scripts/demo writes them), against the four services loaded with the demo
 * data and a tam-gateway. Each example must answer the status its comment
 * names ("# 304", "# 403 problem+json"), else 200; a stream (`curl -N`) must
 * have begun. Two placeholders are filled as a reader would: NEED/PROJECT
 * with the first proposal's id, "<etag>" with the ETag of the example
 * before it. Each role must appear in an example that passed. */
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>
#include "services_harness.h"
#include "demo_harness.h"

#define S_MAX 64

typedef struct {
    char *cmd[S_MAX];
    int line[S_MAX];
    size_t n;
} s_examples_t;

static pid_t s_gw;
static unsigned s_port;

/* Appends src to the growing string *dst. */
static void s_append(char **dst, const char *src, size_t n)
{
    size_t have = *dst ? strlen(*dst) : 0;
    char *d = realloc(*dst, have + n + 1);
    assert_non_null(d);
    memcpy(d + have, src, n);
    d[have + n] = 0;
    *dst = d;
}

/* The command with the placeholders filled: each token becomes a shell
 * function call, closed out of single quotes where it stands in them. */
static char *s_fill(const char *cmd)
{
    static const struct {
        const char *token, *fn;
    } ph[] = {{"\"<etag>\"", "tam_etag"}, {"NEED/PROJECT", "tam_proposal"}};
    char *out = NULL;
    bool sq = false;
    for (const char *p = cmd; *p;) {
        size_t k = 0;
        while (k < 2 && strncmp(p, ph[k].token, strlen(ph[k].token)) != 0)
            k++;
        if (k < 2) {
            char call[64];
            snprintf(call, sizeof call, sq ? "'\"$(%s)\"'" : "\"$(%s)\"", ph[k].fn);
            s_append(&out, call, strlen(call));
            p += strlen(ph[k].token);
            continue;
        }
        if (*p == '\'')
            sq = !sq;
        s_append(&out, p++, 1);
    }
    return out ? out : strdup("");
}

/* The commands of the ```sh blocks of path that run curl; the block that
 * sets url= first. */
static void s_examples(const char *path, s_examples_t *x)
{
    char *text = s_slurp(path);
    assert_non_null(text);
    s_examples_t later = {0};
    char *p = text;
    int line = 1;
    while ((p = strstr(p, "```sh\n"))) {
        line = 1;
        for (char *q = text; q < p; q++)
            line += *q == '\n';
        char *body = p + 6, *end = strstr(body, "```");
        if (!end)
            break;
        *end = 0;
        bool runs_curl = strstr(body, "curl ") != NULL, sets_url = strstr(body, "url=") != NULL;
        s_examples_t *into = sets_url ? x : &later;
        int l = line + 1;
        char *cmd = NULL;
        int cmd_line = 0;
        for (char *ln = body; runs_curl && *ln;) {
            char *nl = strchr(ln, '\n');
            size_t n = nl ? (size_t)(nl - ln) : strlen(ln);
            bool cont = n > 0 && ln[n - 1] == '\\';
            if (!cmd)
                cmd_line = l;
            s_append(&cmd, ln, cont ? n - 1 : n);
            if (!cont) {
                if (cmd[strspn(cmd, " ")] && into->n < S_MAX) {
                    into->cmd[into->n] = s_fill(cmd);
                    into->line[into->n++] = cmd_line;
                }
                free(cmd);
                cmd = NULL;
            }
            l++;
            ln += n + (nl ? 1 : 0);
        }
        free(cmd);
        p = end + 3;
    }
    for (size_t i = 0; i < later.n && x->n < S_MAX; i++) {
        x->cmd[x->n] = later.cmd[i];
        x->line[x->n++] = later.line[i];
    }
    free(text);
}

/* The status an example's comment names ("# 304", "# 403 ..."), else 200. */
static long s_expected(const char *cmd)
{
    const char *c = strstr(cmd, "  #");
    long st = 0;
    if (c && sscanf(c + 3, " %3ld", &st) == 1 && st >= 100 && st <= 599)
        return st;
    return 200;
}

static void t_examples(void **state)
{
    h_t *h = *state;
    char doc[512], script[200], out[200], err[200];
    snprintf(doc, sizeof doc, "%s/docs/gateway.md", h->src);
    s_examples_t x = {0};
    s_examples(doc, &x);
    print_message("    %zu curl examples in docs/gateway.md\n", x.n);
    assert_true(x.n >= 15); /* the extraction itself must not silently find nothing */

    snprintf(script, sizeof script, "%s/examples.sh", h->dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    /* Every curl answers its status on a line of its own, and none waits long. */
    fprintf(f, "curl() { command curl --max-time 4 \"$@\" -w '\\n@@STATUS %%{http_code}\\n'; }\n"
               "tam_proposal() { command curl -s -H \"$viewer\" \"$url/v1/proposals?limit=1\" | "
               "/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"items\"][0][\"id\"])'; }\n"
               "tam_etag() { sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' \"$TAM_PREV\" | tr -d '\\r' | tail -1; }\n"
               "TAM_LAST=/dev/null\n");
    for (size_t i = 0; i < x.n; i++) {
        char *cmd = x.cmd[i];
        char *port = strstr(cmd, "127.0.0.1:8080");
        if (port) { /* the demo's address: this instance's port */
            char fixed[1024];
            snprintf(fixed, sizeof fixed, "%.*s127.0.0.1:%u%s", (int)(port - cmd), cmd, s_port,
                     port + 14);
            free(cmd);
            cmd = x.cmd[i] = strdup(fixed);
        }
        fprintf(f, "echo '@@EX %d'\nTAM_PREV=$TAM_LAST\nTAM_LAST=%s/ex%zu.out\n{ %s\n} > \"$TAM_LAST\" 2>&1\n"
                   "echo \"@@RC $?\"\ncat \"$TAM_LAST\"\n",
                x.line[i], h->dir, i, cmd);
    }
    fclose(f);

    char work[200], link[260], cfgdir[600], keys[260];
    snprintf(work, sizeof work, "%s/work", h->dir);
    assert_int_equal(mkdir(work, 0700), 0);
    snprintf(link, sizeof link, "%s/config", work);
    snprintf(cfgdir, sizeof cfgdir, "%s/config", h->src);
    assert_int_equal(symlink(cfgdir, link), 0);
    snprintf(keys, sizeof keys, "%s/run", work);
    assert_int_equal(mkdir(keys, 0700), 0);
    snprintf(keys, sizeof keys, "%s/run/keys", work);
    assert_int_equal(mkdir(keys, 0700), 0);
    static const char *const people[] = {"admin", "manager", "donor_liaison", "planner",
                                         "viewer", "respondent-KEN"};
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++) {
        char tok[320];
        snprintf(tok, sizeof tok, "%s/%s.token", keys, people[i]);
        assert_int_equal(s_tamctl(h, tok, NULL, "keys", "token", people[i], NULL), 0);
    }

    snprintf(out, sizeof out, "%s/examples.out", h->dir);
    snprintf(err, sizeof err, "%s/examples.err", h->dir);
    char run[300];
    snprintf(run, sizeof run, ". %s", script);
    int rc = d_sh(h, work, run, out, err);
    char *o = s_slurp(out);
    assert_non_null(o);
    if (rc != 0)
        fail_msg("examples.sh exited %d:\n%s", rc, o);
    /* Each example: its exit code, its status, a stream that began. */
    static const char *const roles[] = {"$viewer", "$manager", "$planner", "$donor", "$ken"};
    bool role_ok[5] = {false};
    for (size_t i = 0; i < x.n; i++) {
        char mark[32];
        snprintf(mark, sizeof mark, "@@EX %d\n", x.line[i]);
        char *at = strstr(o, mark);
        if (!at)
            fail_msg("docs/gateway.md:%d: did not run", x.line[i]);
        size_t off = (size_t)(at - o) + strlen(mark); /* not at + 1: gcc -O1 misreads it */
        char *next = strstr(o + off, "@@EX ");
        if (next)
            next[-1] = 0;
        int ex = -1;
        long st = -1;
        char *r = strstr(at, "@@RC ");
        char *s = strstr(at, "@@STATUS ");
        if (r)
            sscanf(r + 5, "%d", &ex);
        if (s)
            sscanf(s + 9, "%ld", &st);
        bool stream = strstr(x.cmd[i], "curl -sN") != NULL;
        bool is_curl = strstr(x.cmd[i], "curl ") != NULL;
        if (!is_curl) {
            if (ex != 0)
                fail_msg("docs/gateway.md:%d: `%s` exited %d:\n%s", x.line[i], x.cmd[i], ex, at);
        } else if (stream) {
            /* curl -N ends at --max-time (28) once the stream has begun */
            if ((ex != 28 && ex != 0) || st != 200 || (!strstr(at, ": tamatch stream") &&
                                                        !strstr(at, "event: reset")))
                fail_msg("docs/gateway.md:%d: the stream did not begin (exit %d, status %ld):\n%s",
                         x.line[i], ex, st, at);
        } else if (ex != 0 || st != s_expected(x.cmd[i])) {
            fail_msg("docs/gateway.md:%d: `%s`: exit %d, status %ld, expected %ld:\n%s",
                     x.line[i], x.cmd[i], ex, st, s_expected(x.cmd[i]), at);
        }
        for (size_t k = 0; k < 5; k++)
            role_ok[k] |= is_curl && strstr(x.cmd[i], roles[k]) != NULL;
        if (next)
            next[-1] = '\n';
    }
    for (size_t k = 0; k < 5; k++)
        if (!role_ok[k])
            fail_msg("no curl example uses %s", roles[k]);
    free(o);
    for (size_t i = 0; i < x.n; i++)
        free(x.cmd[i]);
}

static unsigned s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_gateway_docs", "coalesce = 50ms\nsync_wait = 2s\n");
    if (!h)
        return -1;
    d_relative_config(h);
    s_port = s_free_port();
    FILE *f = fopen(h->cfg, "a");
    fprintf(f, "[gateway]\nport = %u\nconnection_timeout = 3s\n", s_port);
    fclose(f);
    d_load_demo(h);
    char exe[512], log[160];
    snprintf(exe, sizeof exe, "%s/tam-gateway", h->bin);
    snprintf(log, sizeof log, "%s/gateway.log", h->dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(exe, exe, "-c", h->cfg, (char *)NULL);
        _exit(127);
    }
    s_gw = pid;
    /* Ready when it accepts a connection. */
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (ok) {
            *state = h;
            return 0;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling the child's readiness */
    }
    return -1;
}

static int s_teardown(void **state)
{
    if (s_gw) {
        kill(s_gw, SIGTERM);
        int st = 0;
        waitpid(s_gw, &st, 0);
    }
    h_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_examples),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

/* test_readme.c — every tamctl example of the README's tour works as
 * written on the demo data: the examples are read from README.md (the sh
 * blocks and `tamctl ...` code spans of "A tour of tamctl"), and each command
 * is run, in README order, against a fresh demo instance (the real services,
 * loaded as scripts/demo loads them) from a directory where config/ is the
 * repository's. Each must exit 0; `tamctl watch` must follow the feed until
 * it is stopped and then exit 0. So the README cannot drift from tamctl. */
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
#include <zmq.h>
#include "services_harness.h"
#include "demo_harness.h"

#define S_MAX_EXAMPLES 200

typedef struct {
    char *cmd[S_MAX_EXAMPLES]; /* "tamctl ..." commands, in README order */
    int line[S_MAX_EXAMPLES];  /* README line of each */
    size_t n;
} s_examples_t;

/* The end of the shell words of s: a "  #" comment outside quotes cut off. */
static void s_cut_comment(char *s)
{
    char q = 0;
    for (char *p = s; *p; p++) {
        if (q) {
            q = *p == q ? 0 : q;
        } else if (*p == '\'' || *p == '"') {
            q = *p;
        } else if (*p == '#' && (p == s || p[-1] == ' ')) {
            *p = 0;
            break;
        }
    }
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'))
        s[--n] = 0;
}

/* Adds each " ; "-separated command of one line that starts with "tamctl ". */
static void s_add_line(s_examples_t *x, char *text, int line)
{
    char q = 0, *start = text;
    for (char *p = text;; p++) {
        if (*p && q) {
            q = *p == q ? 0 : q;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            q = *p;
            continue;
        }
        if (*p && !(*p == ';' && p > text && p[-1] == ' '))
            continue;
        char end = *p;
        *p = 0;
        while (*start == ' ')
            start++;
        char *c = strdup(start);
        s_cut_comment(c);
        if (strncmp(c, "tamctl ", 7) == 0 && x->n < S_MAX_EXAMPLES) {
            x->line[x->n] = line;
            x->cmd[x->n++] = c;
        } else {
            if (*c)
                fail_msg("README.md:%d: an example that is not a tamctl command: %s", line, c);
            free(c);
        }
        if (!end)
            break;
        start = p + 1;
    }
}

/* The tour's examples: lines of its sh blocks, and `tamctl ...` code spans. */
static void s_examples(const char *readme, s_examples_t *x)
{
    char *text = s_slurp(readme);
    char *tour = strstr(text, "\n## A tour of tamctl");
    assert_non_null(tour);
    char *end = strstr(tour + 1, "\n## ");
    if (end)
        *end = 0;
    int line = 1;
    for (char *p = text; p < tour; p++)
        line += *p == '\n';
    bool in_sh = false;
    for (char *l = tour + 1; l && *l; line++) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        if (strncmp(l, "```", 3) == 0) {
            in_sh = !in_sh && strncmp(l, "```sh", 5) == 0;
        } else if (in_sh) {
            s_add_line(x, l, line);
        } else {
            for (char *c = strstr(l, "`tamctl "); c; c = strstr(c, "`tamctl ")) {
                char *close = strchr(c + 1, '`');
                if (!close)
                    break;
                *close = 0;
                /* `tamctl project`, `ledger` ...: names, not commands; a span
                 * with a placeholder (/path/to/) is prose */
                if (!strstr(c, "/path/to/"))
                    s_add_line(x, c + 1, line);
                c = close + 1;
            }
        }
        l = nl ? nl + 1 : NULL;
    }
    free(text);
}

/* Runs `tamctl watch ...` until it holds the feed's snapshot, then stops it
 * with SIGTERM as Ctrl-C would; it must exit 0. */
static void s_watch(h_t *h, const char *cwd, const char *cmd, int line)
{
    char script[1024], e[160];
    snprintf(e, sizeof e, "%s/watch.err", h->dir);
    snprintf(script, sizeof script, "exec \"%s/tamctl\" -c \"%s\" %s", h->bin, h->cfg, cmd + 7);
    pid_t w = fork();
    if (w == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fo = open("/dev/null", O_WRONLY);
        int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        if (chdir(cwd) != 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    int64_t deadline = s_now_ms() + 15000;
    for (;;) {
        char *text = s_slurp(e);
        bool ready = strstr(text, "watching") != NULL;
        int st;
        if (!ready && waitpid(w, &st, WNOHANG) == w)
            fail_msg("README.md:%d: %s exited at once: %s", line, cmd, text);
        free(text);
        if (ready)
            break;
        if (s_now_ms() > deadline) {
            kill(w, SIGKILL);
            waitpid(w, NULL, 0);
            fail_msg("README.md:%d: %s did not follow the feed within 15 s", line, cmd);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling a file another process writes */
    }
    kill(w, SIGTERM);
    int st = 0;
    waitpid(w, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("README.md:%d: %s did not exit 0 on SIGTERM", line, cmd);
}

static void t_readme_examples(void **state)
{
    h_t *h = *state;
    char readme[512], work[160], link[200], cfgdir[600];
    snprintf(readme, sizeof readme, "%s/README.md", h->src);
    s_examples_t x = {0};
    s_examples(readme, &x);
    print_message("    %zu tamctl examples in the README's tour\n", x.n);
    assert_true(x.n >= 20); /* the extraction itself must not silently find nothing */

    /* a working directory like the repository root, whose config/ is the
     * repository's (examples name config/samples/...), outputs kept apart */
    snprintf(work, sizeof work, "%s/work", h->dir);
    assert_int_equal(mkdir(work, 0700), 0);
    snprintf(link, sizeof link, "%s/config", work);
    snprintf(cfgdir, sizeof cfgdir, "%s/config", h->src);
    assert_int_equal(symlink(cfgdir, link), 0);

    char out[160], err[160];
    snprintf(out, sizeof out, "%s/example.out", h->dir);
    snprintf(err, sizeof err, "%s/example.err", h->dir);
    for (size_t i = 0; i < x.n; i++) {
        if (strncmp(x.cmd[i], "tamctl watch", 12) == 0) {
            s_watch(h, work, x.cmd[i], x.line[i]);
            continue;
        }
        int rc = d_sh(h, work, x.cmd[i], out, err);
        if (rc != 0) {
            char *e = s_slurp(err);
            fail_msg("README.md:%d: `%s` exited %d:\n%s", x.line[i], x.cmd[i], rc, e);
        }
    }
    for (size_t i = 0; i < x.n; i++)
        free(x.cmd[i]);
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_readme", "coalesce = 50ms\nsync_wait = 2s\n");
    if (!h)
        return -1;
    d_relative_config(h); /* paths relative to the config file, as config/tamatch.ini has them */
    d_load_demo(h);
    if (s_tamctl(h, NULL, NULL, "status", NULL) != 0)
        return -1;
    *state = h;
    return 0;
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_readme_examples),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

/* demo_harness.h — the demo instance for tests that use tamctl as a
 * newcomer would: the four services of services_harness.h with a config whose
 * paths are relative (to the config file's directory, as config/tamatch.ini
 * has them), loaded with the demo data of config/samples/demo exactly as
 * scripts/demo loads it, and a shell runner in which `tamctl` means this
 * instance's tamctl. Include after services_harness.h. */
#ifndef TAM_DEMO_HARNESS_H
#define TAM_DEMO_HARNESS_H

/* Rewrites h's config so that its run and data directories and its ipc://
 * endpoints are relative, as config/tamatch.ini has them: the lines
 * "run_dir = <dir>/run" and "data_dir = <dir>/data" become "run" and "data",
 * and "ipc://<dir>/run/" becomes "ipc://"; every other line (whatever the
 * harness adds) is kept. The services and tamctl then find each other only if
 * they resolve paths against the config file's directory. */
static void d_relative_config(h_t *h)
{
    char *text = s_slurp(h->cfg);
    FILE *f = fopen(h->cfg, "w");
    assert_non_null(f);
    char ipc[96], run[96], data[96];
    snprintf(ipc, sizeof ipc, "ipc://%s/run/", h->dir);
    snprintf(run, sizeof run, "run_dir = %s/run\n", h->dir);
    snprintf(data, sizeof data, "data_dir = %s/data\n", h->dir);
    for (const char *p = text; *p;) {
        if (strncmp(p, ipc, strlen(ipc)) == 0) {
            fputs("ipc://", f);
            p += strlen(ipc);
        } else if ((p == text || p[-1] == '\n') && strncmp(p, run, strlen(run)) == 0) {
            fputs("run_dir = run\n", f);
            p += strlen(run);
        } else if ((p == text || p[-1] == '\n') && strncmp(p, data, strlen(data)) == 0) {
            fputs("data_dir = data\n", f);
            p += strlen(data);
        } else {
            fputc(*p++, f);
        }
    }
    fclose(f);
    free(text);
}

/* Runs `sh -c script` in directory cwd, with `tamctl` a shell function
 * calling this instance's tamctl with its config; stdout and stderr to the
 * files out and err (NULL: /dev/null). Returns the exit status, or -1. */
static int d_sh(h_t *h, const char *cwd, const char *script, const char *out, const char *err)
{
    size_t n = strlen(script) + 2 * strlen(h->bin) + strlen(h->cfg) + 200;
    char *full = malloc(n);
    assert_non_null(full);
    snprintf(full, n, "tamctl() { \"%s/tamctl\" -c \"%s\" \"$@\"; }\n%s", h->bin, h->cfg, script);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        if (chdir(cwd) != 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    free(full);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts the four services and loads the demo data as scripts/demo does
 * (donors, projects, ledger, context, every reply), then waits for the first
 * complete run. Fails the test on any error. */
static void d_load_demo(h_t *h)
{
    for (int s = 0; s < S_N; s++) {
        if (!h->have[s])
            fail_msg("tam-%s is not built", s_names[s]);
        if (s_start(h, s) != 0)
            fail_msg("tam-%s did not start; see %s/%s.log", s_names[s], h->dir, s_names[s]);
    }
    char script[1024], err[160];
    snprintf(err, sizeof err, "%s/load.err", h->dir);
    snprintf(script, sizeof script,
             "set -e\nd=config/samples/demo\n"
             "tamctl -q donor add $d/donors.json\n"
             "tamctl -q project add $d/projects.json\n"
             "tamctl -q ledger import $d/ledger.json\n"
             "tamctl -q context set $d/context.json\n"
             "tamctl -q submit $d/replies/*.json\n"
             "tamctl wait --timeout 60\n");
    int rc = d_sh(h, h->src, script, NULL, err);
    if (rc != 0) {
        char *text = s_slurp(err);
        fail_msg("loading the demo data failed (%d): %s", rc, text);
    }
}

#endif

/* test_backup.c — issue 17's data safety with the real services (curve mode):
 *   - `tamctl backup` under load (a writer records ledger entries and revises
 *     a reply, one acknowledged write after another), then `tamctl restore`
 *     into a fresh directory and the services started on it: every write
 *     acknowledged before the backup began is there, and what is there is a
 *     prefix of the writes (each store's copy is consistent in itself); replaying the writes the copy
 *     missed gives the same run hash as the original deployment;
 *   - a backup with one flipped byte, a manifest that does not match, and a
 *     directory that is not fresh are refused, naming the file, and leave
 *     nothing behind;
 *   - a store cut to 0 bytes, and one of a newer schema version, are refused
 *     at start with a message that says what to do. */
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
#include "tam/store.h"
#include "services_harness.h"

#define N_WRITES 40     /* writer iterations: one ledger entry and one revision each */
#define BACKUP_AFTER 12 /* the backup starts once this many iterations are acknowledged */
#define PROJECT "AFR-PRISON"
#define AMOUNT0 1000    /* iteration i records a receipt of AMOUNT0 + i, and a need of COST0 + i */
#define COST0 60000

static json_t *s_json(h_t *h, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char out[160], err[160];
    snprintf(out, sizeof out, "%s/json.out", h->dir);
    snprintf(err, sizeof err, "%s/json.err", h->dir);
    int rc = s_tamctl(h, out, err, "--json", a1, a2, a3, a4, NULL);
    if (rc != 0) {
        char *e = s_slurp(err);
        fail_msg("tamctl %s %s failed (%d): %s", a1, a2 ? a2 : "", rc, e);
    }
    json_error_t je;
    json_t *o = json_load_file(out, 0, &je);
    if (!o)
        fail_msg("tamctl %s: not JSON: %s", a1, je.text);
    return o;
}

/* Kenya's category A reply whose A-TOKYO need says "load I" and costs COST0 + I
 * (the cost, like a project's receipts, is an input of the run hash). */
static void s_reply(const char *path, int i)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"respondent\": {\"type\": \"member_state\", \"id\": \"KEN\"},\n"
            " \"instrument\": {\"category\": \"A\", \"version\": 1}, \"completeness\": 90,\n"
            " \"answers\": [{\"standard\": \"A-TOKYO\", \"state\": \"need\"}],\n"
            " \"needs\": [{\"country\": \"KEN\", \"standard\": \"A-TOKYO\", \"modality\": "
            "\"workshop\", \"priority\": 3, \"cost\": %d, \"start\": \"2027-03-01\", "
            "\"end\": \"2027-12-31\", \"text\": \"load %d\"}]}\n",
            COST0 + i, i);
    fclose(f);
}

/* One writer iteration: the ledger entry, then the revision; each counted in
 * progress (one line "L i" or "R i" per acknowledged write). */
static int s_write(h_t *h, int i, FILE *progress)
{
    char amount[32], note[32], reply[160];
    snprintf(amount, sizeof amount, "%d", AMOUNT0 + i);
    snprintf(note, sizeof note, "load-%d", i);
    if (s_tamctl(h, NULL, NULL, "-q", "ledger", "add", PROJECT, "--receipt", amount, "--note", note,
                 NULL) != 0)
        return -1;
    if (progress) {
        fprintf(progress, "L %d\n", i);
        fflush(progress);
    }
    snprintf(reply, sizeof reply, "%s/load-%d.json", h->dir, i);
    s_reply(reply, i);
    if (s_tamctl(h, NULL, NULL, "-q", "submit", reply, NULL) != 0)
        return -1;
    if (progress) {
        fprintf(progress, "R %d\n", i);
        fflush(progress);
    }
    return 0;
}

/* The last acknowledged iteration of each kind in the progress file. */
static void s_progress(const char *path, int *l, int *r)
{
    *l = *r = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char kind;
    int i;
    while (fscanf(f, " %c %d", &kind, &i) == 2)
        *(kind == 'L' ? l : r) = i;
    fclose(f);
}

/* The load pledges in the project's ledger: checks they are AMOUNT0+1 ..
 * AMOUNT0+k in order, with no gap, and returns k. */
static int s_ledger_prefix(h_t *h)
{
    json_t *o = s_json(h, "ledger", "list", PROJECT, NULL);
    json_t *items = json_is_array(o) ? o : json_object_get(o, "items"), *it;
    size_t i;
    int k = 0;
    json_array_foreach(items, i, it) {
        const char *note = json_string_value(json_object_get(it, "note"));
        if (!note || strncmp(note, "load-", 5) != 0)
            continue;
        k++;
        if (atoi(note + 5) != k)
            fail_msg("ledger entry %s where load-%d was expected: not a consistent copy", note, k);
    }
    json_decref(o);
    return k;
}

/* The iteration of the reply revision the restored ingest holds. */
static int s_reply_at(h_t *h)
{
    json_t *o = s_json(h, "needs", "--country", "KEN", NULL);
    json_t *items = json_is_array(o) ? o : json_object_get(o, "items"), *it;
    size_t i;
    int at = 0;
    json_array_foreach(items, i, it) {
        const char *text = json_string_value(json_object_get(it, "text"));
        if (text && strncmp(text, "load ", 5) == 0)
            at = atoi(text + 5);
    }
    json_decref(o);
    return at;
}

static char *s_run_hash(h_t *h)
{
    char err[160];
    snprintf(err, sizeof err, "%s/wait.err", h->dir);
    if (s_tamctl(h, NULL, err, "wait", "--timeout", "60", NULL) != 0)
        fail_msg("tamctl wait failed: %s", s_slurp(err));
    json_t *o = s_json(h, "proposals", "--top", "1", NULL);
    const char *hash = json_string_value(json_object_get(o, "hash"));
    assert_non_null(hash);
    assert_true(strlen(hash) >= 16);
    char *c = strdup(hash);
    json_decref(o);
    return c;
}

static void s_start_all(h_t *h)
{
    for (int s = 0; s < S_N; s++) {
        assert_true(h->have[s]);
        if (s_start(h, s) != 0)
            fail_msg("tam-%s did not start; see %s/%s.log", s_names[s], h->dir, s_names[s]);
    }
}

static void s_stop_all(h_t *h)
{
    for (int s = S_N - 1; s >= 0; s--)
        assert_int_equal(s_stop(h, s), 0);
}

static int s_setup(void **state)
{
    h_t *h = h_new("test_backup", "coalesce = 50ms\nsync_wait = 2s\n");
    *state = h;
    return h ? 0 : -1;
}

static int s_teardown(void **state)
{
    h_free(*state);
    return 0;
}

static void test_backup_under_load(void **state)
{
    h_t *h = *state;
    s_start_all(h);
    char data[512], err[160], p[4][600], cmd[1400];
    snprintf(data, sizeof data, "%s/config/samples/demo", h->src);
    snprintf(err, sizeof err, "%s/tamctl.err", h->dir);
    snprintf(p[0], sizeof p[0], "%s/donors.json", data);
    snprintf(p[1], sizeof p[1], "%s/projects.json", data);
    snprintf(p[2], sizeof p[2], "%s/ledger.json", data);
    snprintf(p[3], sizeof p[3], "%s/context.json", data);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "donor", "add", p[0], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "project", "add", p[1], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "ledger", "import", p[2], NULL), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "-q", "context", "set", p[3], NULL), 0);
    snprintf(cmd, sizeof cmd, "%s/tamctl -c %s -q submit %s/replies/*.json >/dev/null 2>%s",
             h->bin, h->cfg, data, err);
    assert_int_equal(system(cmd), 0);
    free(s_run_hash(h)); /* tam-match has run once: its run counter exists */

    /* The writer, in a child process, one acknowledged write after another. */
    char progress[160], backup[160];
    snprintf(progress, sizeof progress, "%s/progress", h->dir);
    snprintf(backup, sizeof backup, "%s/backup", h->dir);
    pid_t writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *f = fopen(progress, "w");
        for (int i = 1; i <= N_WRITES; i++)
            if (!f || s_write(h, i, f) != 0)
                _exit(1);
        _exit(0);
    }
    /* The backup starts once BACKUP_AFTER iterations are acknowledged. */
    int acked_l = 0, acked_r = 0;
    int64_t deadline = s_now_ms() + 120000;
    while (acked_r < BACKUP_AFTER && s_now_ms() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling the writer's progress file */
        s_progress(progress, &acked_l, &acked_r);
    }
    assert_true(acked_r >= BACKUP_AFTER);
    char out[160];
    snprintf(out, sizeof out, "%s/backup.out", h->dir);
    if (s_tamctl(h, out, err, "--json", "backup", backup, NULL) != 0)
        fail_msg("tamctl backup failed: %s", s_slurp(err));
    int after_l, after_r;
    s_progress(progress, &after_l, &after_r);
    print_message("    backup taken with %d ledger entries and %d revisions acknowledged before "
                  "it began, %d and %d when it ended\n", acked_l, acked_r, after_l, after_r);
    int st = 0;
    assert_int_equal(waitpid(writer, &st, 0), writer);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* The manifest: every store with its schema version, records and checksum. */
    json_error_t je;
    snprintf(cmd, sizeof cmd, "%s/manifest.json", backup);
    json_t *m = json_load_file(cmd, 0, &je);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "format")), "tamatch-backup");
    assert_int_equal(json_array_size(json_object_get(m, "stores")), 3);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(m, "stores"), i, e) {
        assert_true(json_integer_value(json_object_get(e, "schema_version")) >= 1);
        json_t *f = json_array_get(json_object_get(e, "files"), 0);
        assert_int_equal(strlen(json_string_value(json_object_get(f, "sha256"))), 64);
        assert_true(json_is_object(json_object_get(e, "feed"))); /* the services answered */
    }
    assert_int_equal(json_array_size(json_object_get(m, "files")), 1); /* match/run_id */
    json_decref(m);

    /* The original's final state and run hash. */
    char *hash_orig = s_run_hash(h);
    assert_int_equal(s_ledger_prefix(h), N_WRITES);
    assert_int_equal(s_reply_at(h), N_WRITES);
    s_stop_all(h);

    /* Restore into a fresh data directory (the original is moved aside). */
    char data_dir[160], moved[160];
    snprintf(data_dir, sizeof data_dir, "%s/data", h->dir);
    snprintf(moved, sizeof moved, "%s/data.orig", h->dir);
    assert_int_equal(rename(data_dir, moved), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "restore", backup, moved, NULL), EX_CANTCREAT);
    char *said = s_slurp(err);
    assert_non_null(strstr(said, "not empty"));
    free(said);
    assert_int_equal(s_tamctl(h, NULL, err, "restore", backup, data_dir, NULL), 0);
    s_start_all(h);

    /* Every write acknowledged before the backup began is there, and what is
     * there is a prefix of the writes. */
    int have_l = s_ledger_prefix(h), have_r = s_reply_at(h);
    print_message("    restored: %d ledger entries, reply at revision of iteration %d\n", have_l,
                  have_r);
    assert_true(have_l >= acked_l && have_l <= N_WRITES);
    /* (each store's copy is one read transaction; the stores are copied one
     * after another, so ingest's and registry's may be a few writes apart) */
    assert_true(have_r >= acked_r && have_r <= N_WRITES);

    /* Replaying what the copy missed gives the original's run hash (which
     * the copy alone does not: the writer went on after the backup). */
    assert_true(have_l < N_WRITES);
    char *hash_copy = s_run_hash(h);
    assert_string_not_equal(hash_copy, hash_orig);
    free(hash_copy);
    for (int k = have_l + 1; k <= N_WRITES; k++) {
        char amount[32], note[32];
        snprintf(amount, sizeof amount, "%d", AMOUNT0 + k);
        snprintf(note, sizeof note, "load-%d", k);
        assert_int_equal(s_tamctl(h, NULL, err, "-q", "ledger", "add", PROJECT, "--receipt", amount,
                                  "--note", note, NULL), 0);
    }
    for (int k = have_r + 1; k <= N_WRITES; k++) {
        char reply[160];
        snprintf(reply, sizeof reply, "%s/load-%d.json", h->dir, k);
        assert_int_equal(s_tamctl(h, NULL, err, "-q", "submit", reply, NULL), 0);
    }
    assert_int_equal(s_ledger_prefix(h), N_WRITES);
    char *hash_rest = s_run_hash(h);
    print_message("    run hash: original %.16s, restored and replayed %.16s\n", hash_orig,
                  hash_rest);
    assert_string_equal(hash_orig, hash_rest);
    free(hash_orig);
    free(hash_rest);
}

/* Copies the backup of the first test into dir, for one kind of damage. */
static void s_copy_backup(h_t *h, const char *to)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp -r %s/backup %s", h->dir, to);
    assert_int_equal(system(cmd), 0);
}

static void test_damaged_backup_refused(void **state)
{
    h_t *h = *state;
    char err[160], bad[160], target[160], path[260];
    snprintf(err, sizeof err, "%s/restore.err", h->dir);
    snprintf(target, sizeof target, "%s/restored-bad", h->dir);

    /* one flipped byte in the middle of the registry's data file */
    snprintf(bad, sizeof bad, "%s/bad-flip", h->dir);
    s_copy_backup(h, bad);
    snprintf(path, sizeof path, "%s/registry/data.mdb", bad);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, st.st_size / 2), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, st.st_size / 2), 1);
    close(fd);
    assert_int_equal(s_tamctl(h, NULL, err, "restore", bad, target, NULL), EX_DATAERR);
    char *said = s_slurp(err);
    print_message("    %s", said);
    assert_non_null(strstr(said, "registry/data.mdb"));
    assert_non_null(strstr(said, "SHA-256"));
    free(said);
    assert_int_equal(access(target, F_OK), -1); /* nothing written */

    /* a truncated file */
    snprintf(bad, sizeof bad, "%s/bad-trunc", h->dir);
    s_copy_backup(h, bad);
    snprintf(path, sizeof path, "%s/pipeline/data.mdb", bad);
    assert_int_equal(truncate(path, 4096), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "restore", bad, target, NULL), EX_DATAERR);
    said = s_slurp(err);
    assert_non_null(strstr(said, "pipeline/data.mdb"));
    free(said);
    assert_int_equal(access(target, F_OK), -1);

    /* a manifest whose schema version is not this build's */
    snprintf(bad, sizeof bad, "%s/bad-schema", h->dir);
    s_copy_backup(h, bad);
    snprintf(path, sizeof path, "%s/manifest.json", bad);
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    assert_non_null(m);
    json_object_set_new(json_array_get(json_object_get(m, "stores"), 0), "schema_version",
                        json_integer(999));
    assert_int_equal(json_dump_file(m, path, JSON_INDENT(2)), 0);
    json_decref(m);
    assert_int_equal(s_tamctl(h, NULL, err, "restore", bad, target, NULL), EX_DATAERR);
    said = s_slurp(err);
    assert_non_null(strstr(said, "schema version 999"));
    assert_non_null(strstr(said, "manifest.json"));
    free(said);
    assert_int_equal(access(target, F_OK), -1);

    /* data files swapped between two stores: each checksum is then wrong */
    snprintf(bad, sizeof bad, "%s/bad-swap", h->dir);
    s_copy_backup(h, bad);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cd %s && mv ingest/data.mdb x && mv registry/data.mdb "
             "ingest/data.mdb && mv x registry/data.mdb", bad);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(s_tamctl(h, NULL, err, "restore", bad, target, NULL), EX_DATAERR);
    said = s_slurp(err);
    assert_non_null(strstr(said, "ingest/data.mdb"));
    free(said);
    assert_int_equal(access(target, F_OK), -1);

    /* the intact backup restores */
    assert_int_equal(s_tamctl(h, NULL, err, "restore", "-q", target, target, NULL), EX_USAGE);
    snprintf(bad, sizeof bad, "%s/backup", h->dir);
    assert_int_equal(s_tamctl(h, NULL, err, "restore", bad, target, NULL), 0);
}

/* A store cut to 0 bytes (as a failed copy leaves it) stops tam-registry at
 * start with a message, instead of an empty store published as the truth. */
static void test_empty_store_refused(void **state)
{
    h_t *h = *state;
    char data[160], log[160];
    assert_int_equal(s_stop(h, S_REGISTRY), 0);
    snprintf(data, sizeof data, "%s/data/registry/data.mdb", h->dir);
    assert_int_equal(truncate(data, 0), 0);
    assert_int_not_equal(s_start(h, S_REGISTRY), 0);
    snprintf(log, sizeof log, "%s/registry.log", h->dir);
    char *said = s_slurp(log);
    assert_non_null(strstr(said, "data.mdb is empty (0 bytes)"));
    assert_non_null(strstr(said, "--init"));
    free(said);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_size, 0); /* left for the operator to restore */
}

/* A store of a newer schema version: tam-pipeline refuses it and says what
 * to do about it. */
static void test_newer_schema_refused(void **state)
{
    h_t *h = *state;
    char dir[160], moved[160], log[160];
    assert_int_equal(s_stop(h, S_PIPELINE), 0);
    snprintf(dir, sizeof dir, "%s/data/pipeline", h->dir);
    snprintf(moved, sizeof moved, "%s/data/pipeline.v1", h->dir);
    assert_int_equal(rename(dir, moved), 0);
    static const char *const dbs[] = {"decisions", NULL};
    tam_store_opts_t o = {.path = dir, .dbs = dbs, .schema_version = 999};
    tam_store_t *st = NULL;
    assert_int_equal(tam_store_open(&st, &o), 0);
    tam_store_close(&st);
    assert_int_not_equal(s_start(h, S_PIPELINE), 0);
    snprintf(log, sizeof log, "%s/pipeline.log", h->dir);
    char *said = s_slurp(log);
    assert_non_null(strstr(said, "schema version 999 in the store"));
    assert_non_null(strstr(said, "a newer tamatch wrote it"));
    free(said);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_under_load),
        cmocka_unit_test(test_damaged_backup_refused),
        cmocka_unit_test(test_empty_store_refused),
        cmocka_unit_test(test_newer_schema_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

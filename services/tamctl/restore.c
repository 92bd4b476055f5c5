/* restore.c — `tamctl restore BACKUP DATA_DIR` (see backup.c): checks a
 * backup against its manifest and copies it into a fresh data directory, or
 * refuses it naming the file, leaving nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backup.h"
#include "tamctl.h"

typedef struct {
    char msg[4400];
} s_why_t;

static int s_refuse(s_why_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_refuse(s_why_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof w->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* A file's size and SHA-256 against the manifest's entry f. */
static int s_check_file(const char *path, json_t *f, s_why_t *w)
{
    const char *want = json_string_value(json_object_get(f, "sha256"));
    json_int_t size = json_integer_value(json_object_get(f, "size"));
    char hex[65];
    uint64_t have = 0;
    int rc = tamctl_sha256_file(path, hex, &have);
    if (rc)
        return s_refuse(w, "%s: %s", path, strerror(-rc));
    if (!want || (json_int_t)have != size)
        return s_refuse(w, "%s: %llu bytes, the manifest says %lld: damaged or not this backup's",
                        path, (unsigned long long)have, (long long)size);
    if (strcmp(hex, want) != 0)
        return s_refuse(w, "%s: SHA-256 %s differs from the manifest's %s: damaged", path, hex,
                        want);
    return 0;
}

/* The manifest's entry for store i, checked for shape and schema version. */
static json_t *s_entry(json_t *m, size_t i, const char *mpath, s_why_t *w)
{
    const char *svc = tamctl_backup_stores[i];
    json_t *stores = json_object_get(m, "stores"), *e;
    size_t k;
    json_array_foreach(stores, k, e) {
        if (!json_is_string(json_object_get(e, "service")) ||
            strcmp(json_string_value(json_object_get(e, "service")), svc))
            continue;
        json_int_t v = json_integer_value(json_object_get(e, "schema_version"));
        json_t *files = json_object_get(e, "files");
        if (json_array_size(files) != 1 || !json_is_object(json_object_get(e, "records"))) {
            s_refuse(w, "%s: stores[%zu] (%s): no files or records", mpath, k, svc);
            return NULL;
        }
        if (v != (json_int_t)tamctl_backup_schema(i)) {
            s_refuse(w, "%s: %s has schema version %lld, this tamatch needs %u: restore with "
                        "the tamatch that made it, then upgrade (tam-%s migrates at start)",
                     mpath, svc, (long long)v, tamctl_backup_schema(i), svc);
            return NULL;
        }
        return e;
    }
    s_refuse(w, "%s: no store of %s: not a complete tamatch backup", mpath, svc);
    return NULL;
}

/* Opens the restored copy and compares what it holds with the manifest. */
static int s_check_store(const char *dir, json_t *e, s_why_t *w)
{
    char err[4200];
    json_t *d = tamctl_store_describe(dir, err, sizeof err);
    if (!d)
        return s_refuse(w, "%s", err);
    int rc = 0;
    if (!json_equal(json_object_get(d, "schema_version"), json_object_get(e, "schema_version")) ||
        !json_equal(json_object_get(d, "records"), json_object_get(e, "records")))
        rc = s_refuse(w, "%s/" TAMCTL_BACKUP_DATA ": its records or schema version differ from "
                         "the manifest's", dir);
    json_decref(d);
    return rc;
}

static int s_restore_all(const char *bdir, const char *ddir, json_t *m, const char *mpath,
                         s_why_t *w)
{
    json_t *e[TAMCTL_BACKUP_NSTORES];
    char src[4400], dst[4400], sdir[4200];
    /* Everything is checked before anything is written. */
    for (size_t i = 0; i < TAMCTL_BACKUP_NSTORES; i++) {
        if (!(e[i] = s_entry(m, i, mpath, w)))
            return -1;
        json_t *f = json_array_get(json_object_get(e[i], "files"), 0);
        const char *rel = json_string_value(json_object_get(f, "path"));
        char want[300];
        snprintf(want, sizeof want, "%s/" TAMCTL_BACKUP_DATA, tamctl_backup_stores[i]);
        if (!rel || strcmp(rel, want))
            return s_refuse(w, "%s: %s: file path is not %s", mpath, tamctl_backup_stores[i], want);
        snprintf(src, sizeof src, "%s/%s", bdir, rel);
        if (s_check_file(src, f, w))
            return -1;
    }
    json_t *files = json_object_get(m, "files"), *f;
    size_t k;
    if (files && !json_is_array(files))
        return s_refuse(w, "%s: files: not an array", mpath);
    json_array_foreach(files, k, f) {
        const char *rel = json_string_value(json_object_get(f, "path"));
        size_t j = 0;
        while (j < TAMCTL_BACKUP_NFILES && (!rel || strcmp(rel, tamctl_backup_files[j])))
            j++;
        if (j == TAMCTL_BACKUP_NFILES)
            return s_refuse(w, "%s: files[%zu]: %s is not a file tamatch backs up", mpath, k,
                            rel ? rel : "(no path)");
        snprintf(src, sizeof src, "%s/%s", bdir, rel);
        if (s_check_file(src, f, w))
            return -1;
    }
    if (mkdir(ddir, 0700) != 0 && errno != EEXIST)
        return s_refuse(w, "%s: %s", ddir, strerror(errno));
    for (size_t i = 0; i < TAMCTL_BACKUP_NSTORES; i++) {
        json_t *fe = json_array_get(json_object_get(e[i], "files"), 0);
        const char *rel = json_string_value(json_object_get(fe, "path"));
        if (snprintf(sdir, sizeof sdir, "%s/%s", ddir, tamctl_backup_stores[i]) >= (int)sizeof sdir ||
            snprintf(src, sizeof src, "%s/%s", bdir, rel) >= (int)sizeof src ||
            snprintf(dst, sizeof dst, "%s/" TAMCTL_BACKUP_DATA, sdir) >= (int)sizeof dst)
            return s_refuse(w, "%s: path too long", ddir);
        if (mkdir(sdir, 0700) != 0)
            return s_refuse(w, "%s: %s", sdir, strerror(errno));
        if (tamctl_file_copy(src, dst, w->msg, sizeof w->msg) || s_check_file(dst, fe, w) ||
            s_check_store(sdir, e[i], w))
            return -1;
    }
    json_array_foreach(files, k, f) {
        const char *rel = json_string_value(json_object_get(f, "path"));
        if (snprintf(src, sizeof src, "%s/%s", bdir, rel) >= (int)sizeof src ||
            snprintf(dst, sizeof dst, "%s/%s", ddir, rel) >= (int)sizeof dst ||
            snprintf(sdir, sizeof sdir, "%s", dst) >= (int)sizeof sdir)
            return s_refuse(w, "%s: path too long", ddir);
        *strrchr(sdir, '/') = 0;
        if (mkdir(sdir, 0700) != 0 && errno != EEXIST)
            return s_refuse(w, "%s: %s", sdir, strerror(errno));
        if (tamctl_file_copy(src, dst, w->msg, sizeof w->msg) || s_check_file(dst, f, w))
            return -1;
    }
    return 0;
}

/* Removes what a refused restore wrote: DATA_DIR/<store>/data.mdb, the
 * store directories, DATA_DIR itself if it is then empty. */
static void s_undo(const char *ddir)
{
    char p[4400];
    for (size_t i = 0; i < TAMCTL_BACKUP_NSTORES; i++) {
        snprintf(p, sizeof p, "%s/%s/" TAMCTL_BACKUP_DATA, ddir, tamctl_backup_stores[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s/%s", ddir, tamctl_backup_stores[i]);
        rmdir(p);
    }
    for (size_t i = 0; i < TAMCTL_BACKUP_NFILES; i++) {
        snprintf(p, sizeof p, "%s/%s", ddir, tamctl_backup_files[i]);
        unlink(p);
        *strrchr(p, '/') = 0;
        rmdir(p);
    }
    rmdir(ddir);
}

static int s_restore(tamctl_t *t, int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tamctl restore BACKUP DATA_DIR\n");
        return EX_USAGE;
    }
    const char *bdir = argv[1], *ddir = argv[2];
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/" TAMCTL_BACKUP_MANIFEST, bdir);
    json_error_t je;
    json_t *m = json_load_file(mpath, JSON_REJECT_DUPLICATES, &je);
    if (!m) {
        fprintf(stderr, "tamctl: %s: %s (line %d): not a backup's manifest, or damaged\n", mpath,
                je.text, je.line);
        return access(mpath, R_OK) == 0 ? EX_DATAERR : EX_NOINPUT;
    }
    const char *fmt = json_string_value(json_object_get(m, "format"));
    if (!fmt || strcmp(fmt, TAMCTL_BACKUP_FORMAT) ||
        json_integer_value(json_object_get(m, "format_version")) != TAMCTL_BACKUP_FORMAT_VERSION) {
        fprintf(stderr, "tamctl: %s: not a tamatch backup manifest of format version %d\n", mpath,
                TAMCTL_BACKUP_FORMAT_VERSION);
        json_decref(m);
        return EX_DATAERR;
    }
    if (!tamctl_dir_fresh(ddir)) {
        fprintf(stderr, "tamctl: %s: exists and is not empty; restore into a new directory, "
                        "then point [common] data_dir at it\n", ddir);
        json_decref(m);
        return EX_CANTCREAT;
    }
    s_why_t w = {{0}};
    int rc = s_restore_all(bdir, ddir, m, mpath, &w);
    if (rc) {
        s_undo(ddir);
        fprintf(stderr, "tamctl: backup refused: %s\n", w.msg);
    } else if (!t->quiet) {
        printf("restored %s (made %s) into %s\n", bdir,
               json_string_value(json_object_get(m, "created")), ddir);
    }
    json_decref(m);
    return rc ? EX_DATAERR : EX_OK;
}

TAMCTL_COMMAND(s_cmd_restore, "restore", "BACKUP DATA_DIR",
               "Check a backup against its manifest and copy it into the new directory "
               "DATA_DIR; a damaged or mismatched backup is refused, naming the file.",
               NULL, s_restore)

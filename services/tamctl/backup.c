/* backup.c — `tamctl backup DIR` and `tamctl restore BACKUP DATA_DIR`.
 *
 * backup: for each store (ingest, registry, pipeline) under [common]
 * data_dir, a compacted copy made by mdb_env_copy2 from one read transaction
 * of the live environment (LMDB lets another process read it while the
 * service writes), then a manifest.json written last: the feed epoch and
 * sequence each service reported just before its copy (the copy holds every
 * change up to at least that sequence), the schema version, counters and
 * record counts found in the copy, a SHA-256 and size per file, the time.
 *
 * restore: checks the manifest (format, the stores this build knows, their
 * schema versions) and every file against its size and SHA-256, copies the
 * files into DATA_DIR (which must not exist or be empty), checks the copies
 * again, and opens each to compare its schema version and record counts with
 * the manifest. Any mismatch refuses the backup, naming the file, and removes
 * what was written. The services are then started on DATA_DIR. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "backup.h"
#include "tam/error.h"
#include "tamctl.h"

#ifndef TAM_VERSION
#define TAM_VERSION "unknown"
#endif

/* The live feed position of a service, or null when it does not answer. */
static json_t *s_feed(tamctl_t *t, const char *svc)
{
    tam_arena_t *a = tam_arena_new(0);
    tam_ping_t ping = {.note = "backup"};
    tam_pong_t pong;
    memset(&pong, 0, sizeof pong);
    int rc = a ? tamctl_call_quiet(t, svc, TAM_MSG_sys_ping, &ping, a, &pong) : -1;
    json_t *o = json_null();
    if (rc == 0) {
        char epoch[17];
        snprintf(epoch, sizeof epoch, "%016llx", (unsigned long long)pong.feed_epoch);
        o = json_pack("{s:s, s:I}", "epoch", epoch, "seq", (json_int_t)pong.feed_seq);
    }
    tam_arena_destroy(&a);
    return o;
}

static int s_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int s_backup(tamctl_t *t, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tamctl backup DIR\n");
        return EX_USAGE;
    }
    const char *dir = argv[1];
    if (!tamctl_dir_fresh(dir)) {
        fprintf(stderr, "tamctl: %s: exists and is not empty; back up into a new directory\n",
                dir);
        return EX_CANTCREAT;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "tamctl: %s: %s\n", dir, strerror(errno));
        return EX_CANTCREAT;
    }
    /* One quick try per service for its feed position: a stopped service
     * still has a store to copy. */
    t->cfg.common.request_retries = 0;
    json_t *stores = json_array();
    char err[4200], src[4300], dst[4300];
    int ex = EX_OK;
    for (size_t i = 0; i < TAMCTL_BACKUP_NSTORES && ex == EX_OK; i++) {
        const char *svc = tamctl_backup_stores[i];
        snprintf(src, sizeof src, "%s/%s", t->cfg.common.data_dir, svc);
        snprintf(dst, sizeof dst, "%s/%s", dir, svc);
        json_t *feed = s_feed(t, svc);
        if (tamctl_store_copy(src, dst, err, sizeof err)) {
            fprintf(stderr, "tamctl: %s: %s\n", svc, err);
            json_decref(feed);
            ex = EX_IOERR;
            break;
        }
        char path[4200], hex[65];
        uint64_t size = 0;
        json_t *d = NULL;
        if (snprintf(path, sizeof path, "%s/" TAMCTL_BACKUP_DATA, dst) >= (int)sizeof path)
            snprintf(err, sizeof err, "path too long");
        else
            d = tamctl_store_describe(dst, err, sizeof err);
        int hrc = d ? tamctl_sha256_file(path, hex, &size) : 0;
        if (!d || hrc || s_fsync_path(path) || s_fsync_path(dst)) {
            fprintf(stderr, "tamctl: %s: %s\n", svc, !d ? err : hrc ? strerror(-hrc) : strerror(errno));
            json_decref(feed);
            json_decref(d);
            ex = EX_IOERR;
            break;
        }
        char rel[300];
        snprintf(rel, sizeof rel, "%s/" TAMCTL_BACKUP_DATA, svc);
        json_object_set_new(d, "service", json_string(svc));
        json_object_set_new(d, "feed", feed);
        json_object_set_new(d, "files", json_pack("[{s:s, s:I, s:s}]", "path", rel, "size",
                                                  (json_int_t)size, "sha256", hex));
        json_array_append_new(stores, d);
        if (!t->quiet && !t->json)
            fprintf(stderr, "tamctl: %s: %llu bytes copied\n", svc, (unsigned long long)size);
    }
    /* The plain files, where they exist (tam-match writes its run counter
     * with its first run). */
    json_t *files = json_array();
    for (size_t i = 0; i < TAMCTL_BACKUP_NFILES && ex == EX_OK; i++) {
        const char *rel = tamctl_backup_files[i];
        char path[4200], hex[65];
        uint64_t size = 0;
        snprintf(src, sizeof src, "%s/%s", t->cfg.common.data_dir, rel);
        if (access(src, F_OK) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        snprintf(dst, sizeof dst, "%s", path);
        char *slash = strrchr(dst, '/');
        *slash = 0;
        if (mkdir(dst, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "tamctl: %s: %s\n", dst, strerror(errno));
            ex = EX_IOERR;
        } else if (tamctl_file_copy(src, path, err, sizeof err) ||
                   tamctl_sha256_file(path, hex, &size) != 0) {
            fprintf(stderr, "tamctl: %s\n", err);
            ex = EX_IOERR;
        } else {
            json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", rel, "size",
                                                   (json_int_t)size, "sha256", hex));
        }
    }
    if (ex != EX_OK) {
        json_decref(files);
        json_decref(stores);
        fprintf(stderr, "tamctl: the backup in %s is incomplete (no manifest): remove it\n", dir);
        return ex;
    }
    time_t now = time(NULL);
    char iso[32];
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *m = json_pack("{s:s, s:i, s:s, s:s, s:I, s:o, s:o}", "format", TAMCTL_BACKUP_FORMAT,
                          "format_version", TAMCTL_BACKUP_FORMAT_VERSION, "tamatch_version",
                          TAM_VERSION, "created", iso, "created_unix", (json_int_t)now,
                          "stores", stores, "files", files);
    char mpath[4200], tmp[4300];
    snprintf(mpath, sizeof mpath, "%s/" TAMCTL_BACKUP_MANIFEST, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", mpath);
    int wrc = json_dump_file(m, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (wrc == 0 && (s_fsync_path(tmp) || rename(tmp, mpath) || s_fsync_path(dir)))
        wrc = -1;
    if (wrc) {
        fprintf(stderr, "tamctl: %s: cannot write: %s\n", mpath, strerror(errno));
        json_decref(m);
        return EX_IOERR;
    }
    if (t->json) {
        json_dumpf(m, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
    }
    else if (!t->quiet)
        printf("%s\n", mpath);
    json_decref(m);
    return EX_OK;
}

TAMCTL_COMMAND(s_cmd_backup, "backup", "DIR",
               "Copy every store (compacted, consistent) into the new directory DIR while the "
               "services run, with a manifest.json of checksums, schema versions and feed "
               "positions.",
               NULL, s_backup)

/* The LMDB and file work of backup and restore (see backup.h). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ingest/ingest.h"
#include "../pipeline/pipeline.h"
#include "../registry/registry.h"
#include "backup.h"

const char *const tamctl_backup_stores[TAMCTL_BACKUP_NSTORES] = {"ingest", "registry",
                                                                 "pipeline"};

const char *const tamctl_backup_files[TAMCTL_BACKUP_NFILES] = {"match/run_id"};

uint32_t tamctl_backup_schema(size_t i)
{
    static const uint32_t v[TAMCTL_BACKUP_NSTORES] = {TAM_INGEST_SCHEMA_VERSION,
                                                      TAM_REGISTRY_SCHEMA, TAM_PIPELINE_SCHEMA};
    return i < TAMCTL_BACKUP_NSTORES ? v[i] : 0;
}

int tamctl_sha256_file(const char *path, char hex[65], uint64_t *size)
{
    if (sodium_init() < 0)
        return -ENOSYS;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    static unsigned char buf[1 << 16];
    uint64_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        total += (uint64_t)n;
    }
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (err)
        return err;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, 65, h, sizeof h);
    if (size)
        *size = total;
    return 0;
}

int tamctl_dir_fresh(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static int s_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int tamctl_file_copy(const char *src, const char *dst, char *err, size_t errlen)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return s_err(err, errlen, "%s: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return s_err(err, errlen, "%s: %s", dst, strerror(errno));
    }
    static char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            rc = s_err(err, errlen, "%s: %s", src, strerror(errno));
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t k = write(out, buf + off, (size_t)(n - off));
            if (k < 0) {
                rc = s_err(err, errlen, "%s: %s", dst, strerror(errno));
                break;
            }
            off += k;
        }
    }
    if (rc == 0 && fsync(out) != 0)
        rc = s_err(err, errlen, "%s: %s", dst, strerror(errno));
    close(in);
    close(out);
    return rc;
}

/* Opens dir read-only. A live store (a service writes it) needs the lock file,
 * to hold its pages while we read; a copy nobody writes is opened with
 * MDB_NOLOCK, so that nothing is written beside it. */
static MDB_env *s_open_ro(const char *dir, unsigned flags, char *err, size_t errlen)
{
    MDB_env *env = NULL;
    char data[4096];
    struct stat st;
    snprintf(data, sizeof data, "%s/" TAMCTL_BACKUP_DATA, dir);
    if (stat(data, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        snprintf(err, errlen, "%s: %s", data,
                 stat(data, &st) != 0 ? strerror(errno) : "empty or not a file");
        return NULL;
    }
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | flags, 0600);
    if (rc) {
        snprintf(err, errlen, "%s: not an LMDB environment (%s)", data, mdb_strerror(rc));
        mdb_env_close(env);
        return NULL;
    }
    return env;
}

int tamctl_store_copy(const char *src, const char *dst, char *err, size_t errlen)
{
    MDB_env *env = s_open_ro(src, 0, err, errlen);
    if (!env)
        return -1;
    int ret = -1;
    if (mkdir(dst, 0700) != 0) {
        snprintf(err, errlen, "%s: %s", dst, strerror(errno));
        goto out;
    }
    int rc = mdb_env_copy2(env, dst, MDB_CP_COMPACT);
    if (rc) {
        snprintf(err, errlen, "copying %s to %s: %s", src, dst, mdb_strerror(rc));
        goto out;
    }
    ret = 0;
out:
    mdb_env_close(env);
    return ret;
}

/* The meta database: the schema version (4 bytes, big-endian) and the
 * counters ("ctr/NAME" or similar: 8 bytes, big-endian). */
static int s_meta(MDB_txn *txn, json_t *o, char *err, size_t errlen)
{
    MDB_dbi dbi;
    MDB_cursor *c = NULL;
    int rc = mdb_dbi_open(txn, "meta", 0, &dbi);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dbi, &c);
    if (rc) {
        snprintf(err, errlen, "meta database: %s", mdb_strerror(rc));
        return -1;
    }
    json_t *ctr = json_object();
    json_object_set_new(o, "counters", ctr);
    MDB_val k, v;
    int have_schema = 0;
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
        char name[256];
        size_t n = k.mv_size < sizeof name - 1 ? k.mv_size : sizeof name - 1;
        memcpy(name, k.mv_data, n);
        name[n] = 0;
        const uint8_t *b = v.mv_data;
        uint64_t x = 0;
        for (size_t i = 0; i < v.mv_size && i < 8; i++)
            x = x << 8 | b[i];
        if (!strcmp(name, "schema_version") && v.mv_size == 4) {
            json_object_set_new(o, "schema_version", json_integer((json_int_t)x));
            have_schema = 1;
        } else if (v.mv_size == 8) {
            json_object_set_new(ctr, name, json_integer((json_int_t)x));
        }
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND || !have_schema) {
        snprintf(err, errlen, "meta database: %s",
                 rc != MDB_NOTFOUND ? mdb_strerror(rc) : "no schema version");
        return -1;
    }
    return 0;
}

/* Record counts of every named database (the keys of the main database). */
static int s_records(MDB_txn *txn, json_t *o, char *err, size_t errlen)
{
    MDB_dbi main;
    MDB_cursor *c = NULL;
    int rc = mdb_dbi_open(txn, NULL, 0, &main);
    if (rc == 0)
        rc = mdb_cursor_open(txn, main, &c);
    if (rc) {
        snprintf(err, errlen, "main database: %s", mdb_strerror(rc));
        return -1;
    }
    json_t *rec = json_object();
    json_object_set_new(o, "records", rec);
    MDB_val k, v;
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
        char name[256];
        if (k.mv_size == 0 || k.mv_size >= sizeof name)
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        if (!strcmp(name, "meta"))
            continue;
        MDB_dbi dbi;
        MDB_stat st;
        int r = mdb_dbi_open(txn, name, 0, &dbi);
        if (r == 0)
            r = mdb_stat(txn, dbi, &st);
        if (r) {
            snprintf(err, errlen, "database %s: %s", name, mdb_strerror(r));
            mdb_cursor_close(c);
            return -1;
        }
        json_object_set_new(rec, name, json_integer((json_int_t)st.ms_entries));
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) {
        snprintf(err, errlen, "main database: %s", mdb_strerror(rc));
        return -1;
    }
    return 0;
}

json_t *tamctl_store_describe(const char *dir, char *err, size_t errlen)
{
    MDB_env *env = s_open_ro(dir, MDB_NOLOCK, err, errlen);
    if (!env)
        return NULL;
    json_t *o = json_object();
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
        goto fail;
    }
    if (s_meta(txn, o, err, errlen) || s_records(txn, o, err, errlen))
        goto fail;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return o;
fail:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    json_decref(o);
    return NULL;
}

/* store.c — the one LMDB wrapper every stateful service uses (see tam/store.h
 * and docs/storage.md): named databases, a meta database with the schema
 * version and counters, group commit with map growth, fatal-error latching. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tam/error.h"
#include "tam/log.h"
#include "tam/store.h"

#define S_META_DB "meta"
#define S_SCHEMA_KEY "schema_version"
#define S_CTR_PREFIX "ctr:"
#define S_DEFAULT_MAP ((size_t)64 << 20)
#define S_MIN_MAP ((size_t)32 << 10)
#define S_MAX_DBS 64
#define S_MAX_READERS 126

struct tam_store {
    MDB_env *env;
    char *path;
    size_t ndbs;
    char **names;       /* caller's database names, in the order given */
    MDB_dbi *dbis;      /* their handles */
    MDB_dbi meta;
    size_t map_size;
    size_t map_max;     /* 0: no cap */
    size_t maxkey;
    unsigned grow_count;
    unsigned stale_cleared;
    bool rdonly;
    bool failed;
    bool writing;       /* inside tam_store_write's fn */
    unsigned reading;   /* open tam_store_read transactions */
};

struct tam_txn {
    tam_store_t *s;
    MDB_txn *txn;
    bool rdonly;
    bool map_full;  /* MDB_MAP_FULL seen: tam_store_write grows and retries */
    bool txn_full;  /* MDB_TXN_FULL seen: too many dirty pages for one txn */
    bool fatal;     /* MDB_PANIC or corruption seen */
    int poisoned;   /* first other LMDB error that left the txn unusable */
    uint64_t writes; /* successful puts and deletes (tam_txn_writes) */
};

/* Latches the store into the failed state; every later call gets TAM_EFATAL. */
static int s_fatal(tam_store_t *s, const char *what, int rc)
{
    if (!s->failed)
        tam_crit("store %s: fatal LMDB error in %s: %s; the process must restart", s->path, what,
                 mdb_strerror(rc));
    s->failed = true;
    return TAM_EFATAL;
}

/* Maps an LMDB error from an operation inside txn to a tam code and records
 * what tam_store_write must know about it. */
static int s_txn_err(tam_txn_t *t, const char *what, int rc)
{
    switch (rc) {
    case MDB_NOTFOUND:
        return TAM_ENOTFOUND;
    case MDB_KEYEXIST:
        return TAM_EEXISTS;
    case MDB_BAD_VALSIZE:
        return TAM_EINVAL;
    case MDB_MAP_FULL:
        t->map_full = true;
        return TAM_EMAPFULL;
    case MDB_TXN_FULL:
        t->txn_full = true;
        return TAM_ETOOBIG;
    case MDB_PANIC:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        t->fatal = true;
        return s_fatal(t->s, what, rc);
    default:
        tam_error("store %s: %s: %s", t->s->path, what, mdb_strerror(rc));
        if (!t->poisoned)
            t->poisoned = rc;
        return TAM_ESTORE;
    }
}

/* Common entry check of every txn operation: state left by an earlier error
 * wins over a new call into LMDB (which would only say MDB_BAD_TXN). */
static int s_txn_ok(const tam_txn_t *t)
{
    if (!t || !t->txn)
        return TAM_EINVAL;
    if (t->fatal || t->s->failed)
        return TAM_EFATAL;
    if (t->map_full)
        return TAM_EMAPFULL;
    if (t->txn_full)
        return TAM_ETOOBIG;
    if (t->poisoned)
        return TAM_ESTORE;
    return 0;
}

int tam_txn_status(const tam_txn_t *t)
{
    return s_txn_ok(t);
}

uint64_t tam_txn_writes(const tam_txn_t *t)
{
    return t ? t->writes : 0;
}

int tam_txn_sub(tam_txn_t *t, tam_store_fn fn, void *arg)
{
    int ret = s_txn_ok(t);
    if (ret)
        return ret;
    if (!fn || t->rdonly)
        return TAM_EINVAL;
    tam_txn_t sub = {.s = t->s};
    int rc = mdb_txn_begin(t->s->env, t->txn, 0, &sub.txn);
    if (rc)
        return s_txn_err(t, "mdb_txn_begin (nested)", rc);
    ret = fn(&sub, arg);
    /* What the child met concerns the whole write: map full must grow the
     * map and rerun everything; the others make tam_store_write fail. */
    t->fatal |= sub.fatal;
    t->map_full |= sub.map_full;
    t->txn_full |= sub.txn_full;
    if (sub.poisoned && !t->poisoned)
        t->poisoned = sub.poisoned;
    if (ret || s_txn_ok(t)) {
        mdb_txn_abort(sub.txn);
        int cond = s_txn_ok(t);
        return cond ? cond : ret;
    }
    rc = mdb_txn_commit(sub.txn); /* merges into the parent; frees the child */
    if (rc)
        return s_txn_err(t, "mdb_txn_commit (nested)", rc);
    t->writes += sub.writes;
    return 0;
}

static int s_dbi(const tam_txn_t *t, const char *db, MDB_dbi *out)
{
    if (!db)
        return TAM_EINVAL;
    for (size_t i = 0; i < t->s->ndbs; i++)
        if (strcmp(t->s->names[i], db) == 0) {
            *out = t->s->dbis[i];
            return 0;
        }
    return TAM_EUNKNOWN;
}

static int s_key_ok(const tam_store_t *s, const void *key, size_t klen)
{
    return key && klen > 0 && klen <= s->maxkey ? 0 : TAM_EINVAL;
}

void tam_key_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)(v & 0xff);
}

uint64_t tam_key_get_u64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* mkdir -p with mode 0700 for the directories it creates. */
static int s_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return TAM_EINVAL;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            tam_error("store %s: mkdir %s: %s", path, buf, strerror(errno));
            return TAM_EIO;
        }
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tam_error("store %s: not a directory", path);
        return TAM_EIO;
    }
    return 0;
}

static int s_opts_ok(const tam_store_opts_t *o, size_t *ndbs)
{
    if (!o || !o->path || !o->path[0] || strlen(o->path) >= PATH_MAX - 16 || !o->dbs)
        return TAM_EINVAL;
    if (o->flags & ~(unsigned)(TAM_STORE_NOSYNC | TAM_STORE_RDONLY))
        return TAM_EINVAL;
    if (o->map_size && o->map_size < S_MIN_MAP)
        return TAM_EINVAL;
    size_t n = 0;
    for (; o->dbs[n]; n++) {
        if (n >= S_MAX_DBS || !o->dbs[n][0] || strcmp(o->dbs[n], S_META_DB) == 0)
            return TAM_EINVAL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(o->dbs[j], o->dbs[n]) == 0)
                return TAM_EINVAL;
    }
    *ndbs = n;
    return 0;
}

/* Opens every named database and the meta database, then checks or writes the
 * schema version, all in one transaction. */
static int s_open_dbs(tam_store_t *s, const char *const *dbs, uint32_t version,
                      uint32_t migrate_from, uint32_t *have_out)
{
    MDB_txn *txn = NULL;
    unsigned dflags = s->rdonly ? 0 : MDB_CREATE;
    int ret = TAM_ESTORE;
    int rc = mdb_txn_begin(s->env, NULL, s->rdonly ? MDB_RDONLY : 0, &txn);
    if (rc)
        goto fail_rc;
    if ((rc = mdb_dbi_open(txn, S_META_DB, dflags, &s->meta)))
        goto fail_rc;
    for (size_t i = 0; i < s->ndbs; i++)
        if ((rc = mdb_dbi_open(txn, dbs[i], dflags, &s->dbis[i])))
            goto fail_rc;

    MDB_val k = {strlen(S_SCHEMA_KEY), (void *)S_SCHEMA_KEY}, v;
    uint8_t want[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16), (uint8_t)(version >> 8),
                       (uint8_t)version};
    rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND && !s->rdonly) {
        v = (MDB_val){sizeof want, want};
        if ((rc = mdb_put(txn, s->meta, &k, &v, 0)))
            goto fail_rc;
    } else if (rc == MDB_NOTFOUND) {
        tam_error("store %s: no schema version (expected %u)", s->path, version);
        ret = TAM_ECONFIG;
        goto fail;
    } else if (rc) {
        goto fail_rc;
    } else if (v.mv_size != 4 || memcmp(v.mv_data, want, 4) != 0) {
        const uint8_t *b = v.mv_data;
        uint32_t have = v.mv_size == 4 ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
                                             (uint32_t)b[2] << 8 | b[3]
                                       : 0;
        if (migrate_from && have >= migrate_from && have < version && !s->rdonly) {
            *have_out = have; /* tam_store_open migrates it */
            rc = mdb_txn_commit(txn);
            txn = NULL;
            if (rc)
                goto fail_rc;
            return 0;
        }
        tam_error("store %s: schema version %u%s in the store, this program needs %u: %s",
                  s->path, have, v.mv_size == 4 ? "" : " (malformed)", version,
                  v.mv_size != 4 ? "the store is damaged; restore it from a backup"
                  : have > version
                      ? "a newer tamatch wrote it; run that version, or restore a backup made "
                        "before the upgrade (tamctl restore)"
                  : migrate_from && !s->rdonly
                      ? "too old to migrate in place; upgrade through the release that "
                        "migrates it, which does so at its start (docs/operations.md, Upgrades)"
                      : "this program cannot migrate it; start the service of this version, "
                        "which migrates the stores it can at start (docs/operations.md, "
                        "Upgrades)");
        ret = TAM_ECONFIG;
        goto fail;
    }
    rc = mdb_txn_commit(txn); /* also keeps the handles of a read-only txn */
    txn = NULL;
    if (rc)
        goto fail_rc;
    return 0;
fail_rc:
    tam_error("store %s: opening databases: %s", s->path, mdb_strerror(rc));
    if (rc == MDB_PANIC)
        s->failed = true;
fail:
    if (txn)
        mdb_txn_abort(txn);
    return ret;
}

typedef struct {
    const tam_store_opts_t *opts;
    uint32_t from;
} s_migrate_t;

/* The migration's write: the service's function, then the new version. */
static int s_migrate_fn(tam_txn_t *txn, void *arg)
{
    s_migrate_t *m = arg;
    int rc = m->opts->migrate(txn, m->from, m->opts->migrate_arg);
    if (rc)
        return rc;
    uint32_t version = m->opts->schema_version;
    uint8_t want[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16), (uint8_t)(version >> 8),
                       (uint8_t)version};
    MDB_val k = {strlen(S_SCHEMA_KEY), (void *)S_SCHEMA_KEY}, v = {sizeof want, want};
    rc = mdb_put(txn->txn, txn->s->meta, &k, &v, 0);
    return rc ? s_txn_err(txn, "writing the schema version", rc) : 0;
}

static bool s_init_allowed; /* tam_store_allow_init: the services' --init */

void tam_store_allow_init(bool allow)
{
    s_init_allowed = allow;
}

/* A data.mdb of 0 bytes is what a store looks like after a truncation or a
 * copy gone wrong: LMDB would silently start an empty store on it, and the
 * feed would publish the empty state. Refused unless --init says that an
 * empty store is wanted (a missing file is a new store, and is fine). */
static int s_empty_file_check(const char *path)
{
    char data[4096];
    struct stat st;
    if (snprintf(data, sizeof data, "%s/data.mdb", path) >= (int)sizeof data)
        return TAM_EINVAL;
    if (stat(data, &st) != 0 || st.st_size != 0)
        return 0;
    if (s_init_allowed) {
        tam_notice("store %s: data.mdb is empty; starting an empty store (--init)", path);
        return 0;
    }
    tam_crit("store %s: data.mdb is empty (0 bytes) where a store existed: refusing to start "
             "on it. Restore the store from a backup (tamctl restore, docs/operations.md), or, "
             "to start with an empty store on purpose, start once with --init", path);
    return TAM_ECONFIG;
}

int tam_store_open(tam_store_t **out, const tam_store_opts_t *opts)
{
    size_t ndbs = 0;
    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    int ret = s_opts_ok(opts, &ndbs);
    if (ret)
        return ret;
    tam_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    ret = TAM_ENOMEM;
    s->ndbs = ndbs;
    s->rdonly = opts->flags & TAM_STORE_RDONLY;
    if (!(s->path = strdup(opts->path)) || !(s->names = calloc(ndbs + 1, sizeof *s->names)) ||
        !(s->dbis = calloc(ndbs + 1, sizeof *s->dbis)))
        goto fail;
    for (size_t i = 0; i < ndbs; i++)
        if (!(s->names[i] = strdup(opts->dbs[i])))
            goto fail;

    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t map = opts->map_size ? opts->map_size : S_DEFAULT_MAP;
    map = (map + page - 1) / page * page;
    s->map_max = opts->map_max / page * page;
    if (opts->map_max && opts->map_max < map) {
        ret = TAM_EINVAL;
        goto fail;
    }
    if (!s->rdonly && (ret = s_mkdirs(opts->path)))
        goto fail;
    if ((ret = s_empty_file_check(opts->path)))
        goto fail;
    ret = TAM_ESTORE;
    unsigned eflags = MDB_NOTLS;
    if (opts->flags & TAM_STORE_NOSYNC)
        eflags |= MDB_NOSYNC;
    if (s->rdonly)
        eflags |= MDB_RDONLY;
    int rc;
    const char *step = "mdb_env_create";
    if ((rc = mdb_env_create(&s->env)))
        goto fail_rc;
    step = "configuring the environment";
    if ((rc = mdb_env_set_maxdbs(s->env, (MDB_dbi)ndbs + 1)) ||
        (rc = mdb_env_set_mapsize(s->env, map)) ||
        (rc = mdb_env_set_maxreaders(s->env, S_MAX_READERS)))
        goto fail_rc;
    step = "mdb_env_open";
    if ((rc = mdb_env_open(s->env, opts->path, eflags, 0600))) {
        if (rc == ENOENT || rc == EACCES)
            ret = TAM_EIO;
        goto fail_rc;
    }
    MDB_envinfo info;
    if ((rc = mdb_env_info(s->env, &info)))
        goto fail_rc;
    /* LMDB raises a map smaller than the data already in the file. */
    s->map_size = info.me_mapsize;
    if (s->map_max && s->map_size > s->map_max)
        tam_warn("store %s: map is %zu bytes, above the cap of %zu: it will not grow", s->path,
                 s->map_size, s->map_max);
    s->maxkey = (size_t)mdb_env_get_maxkeysize(s->env);

    int dead = 0;
    step = "mdb_reader_check";
    if ((rc = mdb_reader_check(s->env, &dead)))
        goto fail_rc;
    s->stale_cleared = (unsigned)dead;
    tam_info("store %s: cleared %d stale reader(s)", s->path, dead);

    uint32_t have = opts->schema_version;
    if ((ret = s_open_dbs(s, opts->dbs, opts->schema_version,
                          opts->migrate ? opts->schema_from : 0, &have)))
        goto fail;
    if (have != opts->schema_version) {
        s_migrate_t m = {opts, have};
        tam_notice("store %s: migrating schema version %u to %u", s->path, have,
                   opts->schema_version);
        if ((ret = tam_store_write(s, s_migrate_fn, &m))) {
            tam_error("store %s: migration from schema version %u failed: %s; nothing changed",
                      s->path, have, tam_strerror(ret));
            goto fail;
        }
        tam_notice("store %s: now at schema version %u", s->path, opts->schema_version);
    }
    tam_info("store %s: open, %zu database(s), map %zu bytes%s", s->path, ndbs, s->map_size,
             s->rdonly ? ", read-only" : "");
    *out = s;
    return 0;
fail_rc:
    tam_error("store %s: %s: %s", opts->path, step, mdb_strerror(rc));
fail:
    tam_store_close(&s);
    return ret;
}

void tam_store_close(tam_store_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_store_t *s = *sp;
    if (s->env)
        mdb_env_close(s->env);
    for (size_t i = 0; s->names && i < s->ndbs; i++)
        free(s->names[i]);
    free(s->names);
    free(s->dbis);
    free(s->path);
    free(s);
    *sp = NULL;
}

size_t tam_store_map_size(const tam_store_t *s)
{
    return s ? s->map_size : 0;
}

size_t tam_store_map_used(const tam_store_t *s)
{
    MDB_envinfo info;
    MDB_stat st;
    if (!s || !s->env || mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &st))
        return 0;
    return (info.me_last_pgno + 1) * (size_t)st.ms_psize;
}

unsigned tam_store_grow_count(const tam_store_t *s)
{
    return s ? s->grow_count : 0;
}

unsigned tam_store_stale_cleared(const tam_store_t *s)
{
    return s ? s->stale_cleared : 0;
}

bool tam_store_failed(const tam_store_t *s)
{
    return s && s->failed;
}

/* Doubles the map (capped at map_max). Only called with no transaction open.
 * Returns 0 or TAM_EMAPFULL. */
static int s_grow(tam_store_t *s)
{
    size_t next = s->map_size > SIZE_MAX / 2 ? SIZE_MAX / 2 : s->map_size * 2;
    if (s->map_max && next > s->map_max)
        next = s->map_max;
    if (next <= s->map_size) {
        tam_error("store %s: map full at %zu bytes, the cap", s->path, s->map_size);
        return TAM_EMAPFULL;
    }
    MDB_envinfo info;
    int rc = mdb_env_set_mapsize(s->env, next);
    if (rc == 0)
        rc = mdb_env_info(s->env, &info);
    if (rc) {
        tam_error("store %s: growing the map to %zu bytes: %s", s->path, next, mdb_strerror(rc));
        return TAM_EMAPFULL;
    }
    s->map_size = info.me_mapsize;
    s->grow_count++;
    tam_notice("store %s: map grown to %zu bytes", s->path, s->map_size);
    return 0;
}

/* Begins a transaction; adopts a map grown by another process; on a full
 * reader table clears stale readers once and retries. */
static int s_begin(tam_store_t *s, unsigned flags, MDB_txn **txn)
{
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (rc == MDB_MAP_RESIZED && !s->writing && !s->reading) {
            MDB_envinfo info;
            if (mdb_env_set_mapsize(s->env, 0) == 0 && mdb_env_info(s->env, &info) == 0)
                s->map_size = info.me_mapsize;
            continue;
        }
        if (rc == MDB_READERS_FULL) {
            int dead = 0;
            mdb_reader_check(s->env, &dead);
            tam_warn("store %s: reader table full, cleared %d stale reader(s)", s->path, dead);
            continue;
        }
        break;
    }
    if (rc == MDB_PANIC)
        return s_fatal(s, "mdb_txn_begin", rc);
    if (rc) {
        tam_error("store %s: mdb_txn_begin: %s", s->path, mdb_strerror(rc));
        return TAM_ESTORE;
    }
    return 0;
}

int tam_store_write(tam_store_t *s, tam_store_fn fn, void *arg)
{
    if (!s || !fn)
        return TAM_EINVAL;
    if (s->failed)
        return TAM_EFATAL;
    if (s->rdonly)
        return TAM_EINVAL;
    if (s->writing || s->reading)
        return TAM_ESTATE; /* growing the map needs no transaction open */
    for (;;) {
        tam_txn_t t = {.s = s};
        int ret = s_begin(s, 0, &t.txn);
        if (ret)
            return ret;
        s->writing = true;
        int frc = fn(&t, arg);
        s->writing = false;
        if (t.fatal || s->failed || t.map_full || t.txn_full || t.poisoned || frc) {
            mdb_txn_abort(t.txn);
            if (t.fatal || s->failed)
                return TAM_EFATAL;
            if (t.map_full) {
                if ((ret = s_grow(s)))
                    return ret;
                continue;
            }
            if (t.txn_full) {
                tam_warn("store %s: transaction too large (MDB_TXN_FULL)", s->path);
                return TAM_ETOOBIG;
            }
            return frc ? frc : TAM_ESTORE;
        }
        int rc = mdb_txn_commit(t.txn); /* frees the txn, also on failure */
        if (rc == 0)
            return 0;
        if (rc == MDB_MAP_FULL) {
            if ((ret = s_grow(s)))
                return ret;
            continue;
        }
        if (rc == MDB_TXN_FULL) {
            tam_warn("store %s: transaction too large at commit (MDB_TXN_FULL)", s->path);
            return TAM_ETOOBIG;
        }
        if (rc == MDB_PANIC || rc == MDB_BAD_TXN || rc == EIO || rc == MDB_CORRUPTED)
            return s_fatal(s, "mdb_txn_commit", rc);
        /* Anything else (ENOSPC, ENOMEM...): nothing was committed. If the
         * meta page write failed, the next mdb_txn_begin reports MDB_PANIC. */
        tam_error("store %s: mdb_txn_commit: %s", s->path, mdb_strerror(rc));
        return TAM_ESTORE;
    }
}

int tam_store_read(tam_store_t *s, tam_store_fn fn, void *arg)
{
    if (!s || !fn)
        return TAM_EINVAL;
    if (s->failed)
        return TAM_EFATAL;
    tam_txn_t t = {.s = s, .rdonly = true};
    int ret = s_begin(s, MDB_RDONLY, &t.txn);
    if (ret)
        return ret;
    s->reading++;
    ret = fn(&t, arg);
    s->reading--;
    mdb_txn_abort(t.txn);
    return t.fatal || s->failed ? TAM_EFATAL : ret;
}

int tam_txn_get(tam_txn_t *t, const char *db, const void *key, size_t klen, tam_val_t *out)
{
    MDB_dbi dbi;
    int ret = s_txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (!out || s_key_ok(t->s, key, klen))
        return TAM_EINVAL;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(t->txn, dbi, &k, &v);
    if (rc)
        return s_txn_err(t, "mdb_get", rc);
    *out = (tam_val_t){v.mv_data, v.mv_size};
    return 0;
}

static int s_put(tam_txn_t *t, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                 size_t vlen, unsigned mflags)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(t->txn, dbi, &k, &v, mflags);
    if (rc == MDB_KEYEXIST && (mflags & MDB_APPEND) && !(mflags & MDB_NOOVERWRITE))
        return TAM_EINVAL; /* appended key not greater than the last one */
    if (rc)
        return s_txn_err(t, "mdb_put", rc);
    t->writes++;
    return 0;
}

int tam_txn_put(tam_txn_t *t, const char *db, const void *key, size_t klen, const void *val,
                size_t vlen, unsigned flags)
{
    MDB_dbi dbi;
    int ret = s_txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (t->rdonly || s_key_ok(t->s, key, klen) || (!val && vlen) ||
        (flags & ~(unsigned)(TAM_PUT_NOOVERWRITE | TAM_PUT_APPEND)))
        return TAM_EINVAL;
    unsigned mflags = (flags & TAM_PUT_NOOVERWRITE ? MDB_NOOVERWRITE : 0) |
                      (flags & TAM_PUT_APPEND ? MDB_APPEND : 0);
    return s_put(t, dbi, key, klen, val ? val : "", vlen, mflags);
}

int tam_txn_del(tam_txn_t *t, const char *db, const void *key, size_t klen)
{
    MDB_dbi dbi;
    int ret = s_txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (t->rdonly || s_key_ok(t->s, key, klen))
        return TAM_EINVAL;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(t->txn, dbi, &k, NULL);
    if (rc)
        return s_txn_err(t, "mdb_del", rc);
    t->writes++;
    return 0;
}

static bool s_has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
    return plen == 0 || (k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0);
}

/* Lexicographic order of LMDB's default comparator. */
static int s_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Runs the scan loop from the cursor's current record (rc from positioning). */
static int s_scan_loop(tam_txn_t *t, MDB_cursor *c, int rc, MDB_val *k, MDB_val *v,
                       MDB_cursor_op step, const void *prefix, size_t plen, tam_scan_fn fn,
                       void *arg)
{
    while (rc == 0 && s_has_prefix(k, prefix, plen)) {
        tam_val_t tk = {k->mv_data, k->mv_size}, tv = {v->mv_data, v->mv_size};
        int r = fn(&tk, &tv, arg);
        if (r < 0)
            return r;
        if (r > 0)
            return 0;
        rc = mdb_cursor_get(c, k, v, step);
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : s_txn_err(t, "mdb_cursor_get", rc);
}

static int s_scan_args(tam_txn_t *t, const char *db, const void *prefix, size_t plen,
                       tam_scan_fn fn, MDB_dbi *dbi)
{
    int ret = s_txn_ok(t);
    if (ret || (ret = s_dbi(t, db, dbi)))
        return ret;
    if (!fn || (plen && !prefix) || plen > t->s->maxkey)
        return TAM_EINVAL;
    return 0;
}

int tam_txn_scan(tam_txn_t *t, const char *db, const void *prefix, size_t plen,
                 const void *start, size_t slen, tam_scan_fn fn, void *arg)
{
    MDB_dbi dbi;
    MDB_cursor *c = NULL;
    int ret = s_scan_args(t, db, prefix, plen, fn, &dbi);
    if (ret)
        return ret;
    if ((slen && !start) || slen > t->s->maxkey)
        return TAM_EINVAL;
    /* Begin at the greater of start and prefix. */
    if (!start || !slen || (plen && s_keycmp(start, slen, prefix, plen) < 0)) {
        start = prefix;
        slen = plen;
    }
    int rc = mdb_cursor_open(t->txn, dbi, &c);
    if (rc)
        return s_txn_err(t, "mdb_cursor_open", rc);
    MDB_val k = {slen, (void *)start}, v;
    rc = mdb_cursor_get(c, &k, &v, slen ? MDB_SET_RANGE : MDB_FIRST);
    ret = s_scan_loop(t, c, rc, &k, &v, MDB_NEXT, prefix, plen, fn, arg);
    mdb_cursor_close(c);
    return ret;
}

int tam_txn_scan_rev(tam_txn_t *t, const char *db, const void *prefix, size_t plen,
                     tam_scan_fn fn, void *arg)
{
    MDB_dbi dbi;
    MDB_cursor *c = NULL;
    uint8_t succ[512];
    int ret = s_scan_args(t, db, prefix, plen, fn, &dbi);
    if (ret)
        return ret;
    /* The first key after the prefix range: the prefix without its trailing
     * 0xff bytes, last byte + 1. None if the prefix is empty or all 0xff. */
    size_t n = plen;
    if (plen)
        memcpy(succ, prefix, plen);
    while (n > 0 && succ[n - 1] == 0xff)
        n--;
    int rc = mdb_cursor_open(t->txn, dbi, &c);
    if (rc)
        return s_txn_err(t, "mdb_cursor_open", rc);
    MDB_val k, v;
    if (n > 0) {
        succ[n - 1]++;
        k = (MDB_val){n, succ};
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == 0)
            rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        else if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    } else {
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    }
    ret = s_scan_loop(t, c, rc, &k, &v, MDB_PREV, prefix, plen, fn, arg);
    mdb_cursor_close(c);
    return ret;
}

int tam_txn_count(tam_txn_t *t, const char *db, size_t *n)
{
    MDB_dbi dbi;
    MDB_stat st;
    int ret = s_txn_ok(t);
    if (ret || (ret = s_dbi(t, db, &dbi)))
        return ret;
    if (!n)
        return TAM_EINVAL;
    int rc = mdb_stat(t->txn, dbi, &st);
    if (rc)
        return s_txn_err(t, "mdb_stat", rc);
    *n = st.ms_entries;
    return 0;
}

/* Builds "ctr:<name>" in buf; returns its length or 0 if the name is bad. */
static size_t s_ctr_key(const tam_store_t *s, const char *name, char *buf, size_t cap)
{
    if (!name || !name[0])
        return 0;
    int n = snprintf(buf, cap, S_CTR_PREFIX "%s", name);
    return n > 0 && (size_t)n < cap && (size_t)n <= s->maxkey ? (size_t)n : 0;
}

int tam_txn_counter_get(tam_txn_t *t, const char *name, uint64_t *out)
{
    char key[512];
    int ret = s_txn_ok(t);
    if (ret)
        return ret;
    size_t klen = s_ctr_key(t->s, name, key, sizeof key);
    if (!klen || !out)
        return TAM_EINVAL;
    MDB_val k = {klen, key}, v;
    int rc = mdb_get(t->txn, t->s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return s_txn_err(t, "mdb_get", rc);
    if (v.mv_size != 8) {
        tam_error("store %s: counter %s is malformed (%zu bytes)", t->s->path, name, v.mv_size);
        return TAM_ESTORE;
    }
    *out = tam_key_get_u64(v.mv_data);
    return 0;
}

int tam_txn_counter_next(tam_txn_t *t, const char *name, uint64_t *out)
{
    char key[512];
    uint64_t cur = 0;
    uint8_t val[8];
    if (t && t->rdonly)
        return TAM_EINVAL;
    int ret = tam_txn_counter_get(t, name, &cur);
    if (ret)
        return ret;
    if (cur == UINT64_MAX)
        return TAM_ERANGE;
    size_t klen = s_ctr_key(t->s, name, key, sizeof key);
    tam_key_u64(val, cur + 1);
    if ((ret = s_put(t, t->s->meta, key, klen, val, sizeof val, 0)))
        return ret;
    if (out)
        *out = cur + 1;
    return 0;
}

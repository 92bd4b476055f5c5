/* store_open.c — opening and closing a store: directory, options, the named
 * databases, the schema version and its migration, the empty-file check. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tam/error.h"
#include "tam/log.h"
#include "store_int.h"

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
/* The store's identity in its meta database: the service it belongs to and a
 * random store id, written when a service first opens it. A store of another
 * service (a copy into the wrong directory, a wrong data_dir) is refused.
 * Returns 0, TAM_ECONFIG (foreign: logged), or an LMDB error in *rc. */
static int s_identity(tam_store_t *s, MDB_txn *txn, const char *service, int *rc)
{
    MDB_val k = {strlen(S_SERVICE_KEY), (void *)S_SERVICE_KEY}, v;
    *rc = mdb_get(txn, s->meta, &k, &v);
    if (*rc == MDB_NOTFOUND) {
        *rc = 0;
        if (s->rdonly)
            return 0;
        uint8_t rnd[8];
        char id[17];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            memset(rnd, 0, sizeof rnd);
        for (int i = 0; i < 8; i++)
            snprintf(id + 2 * i, 3, "%02x", rnd[i]);
        v = (MDB_val){strlen(service), (void *)service};
        if ((*rc = mdb_put(txn, s->meta, &k, &v, 0)))
            return 0;
        MDB_val ik = {strlen(S_STORE_ID_KEY), (void *)S_STORE_ID_KEY}, iv = {16, id};
        if ((*rc = mdb_put(txn, s->meta, &ik, &iv, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
            *rc = 0;
        if (*rc == 0)
            tam_notice("store %s: identity written: service %s, store id %.16s", s->path,
                       service, id);
        return 0;
    }
    if (*rc)
        return 0;
    if (v.mv_size != strlen(service) || memcmp(v.mv_data, service, v.mv_size) != 0) {
        tam_crit("store %s: this store belongs to the service '%.*s', not to %s: refusing to "
                 "open it (check data_dir, or restore this service's own store)",
                 s->path, (int)(v.mv_size > 64 ? 64 : v.mv_size), (const char *)v.mv_data,
                 service);
        return TAM_ECONFIG;
    }
    return 0;
}

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

    if (s->service && (ret = s_identity(s, txn, s->service, &rc)))
        goto fail;
    ret = TAM_ESTORE;
    if (rc)
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
    return rc ? tam_store__txn_err(txn, "writing the schema version", rc) : 0;
}

/* The oldest version opts can migrate from (0: none): schema_from with a
 * migrate function, or the first of an unbroken run of steps that ends at
 * the current version. */
static uint32_t s_migrate_from(const tam_store_opts_t *o)
{
    if (o->steps) {
        uint32_t from = o->schema_version;
        for (bool found = true; found && from > 0;) {
            found = false;
            for (const tam_store_step_t *st = o->steps; st->fn; st++)
                if (st->from + 1 == from) {
                    from = st->from;
                    found = true;
                    break;
                }
        }
        return from < o->schema_version ? from : 0;
    }
    return o->migrate ? o->schema_from : 0;
}

typedef struct {
    const tam_store_step_t *step;
    void *arg;
} s_step_t;

/* One step's write: its function, then its target version. */
static int s_step_fn(tam_txn_t *txn, void *arg)
{
    s_step_t *st = arg;
    int rc = st->step->fn(txn, st->arg);
    if (rc)
        return rc;
    uint32_t version = st->step->from + 1;
    uint8_t want[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16), (uint8_t)(version >> 8),
                       (uint8_t)version};
    MDB_val k = {strlen(S_SCHEMA_KEY), (void *)S_SCHEMA_KEY}, v = {sizeof want, want};
    rc = mdb_put(txn->txn, txn->s->meta, &k, &v, 0);
    return rc ? tam_store__txn_err(txn, "writing the schema version", rc) : 0;
}

/* Upgrades from version have to the current one, one step per write
 * transaction that also writes the step's version: a crash (or a failed
 * step) leaves the store at the last version reached, whole, and the next
 * open goes on from there. */
static int s_run_steps(tam_store_t *s, const tam_store_opts_t *o, uint32_t have)
{
    while (have < o->schema_version) {
        const tam_store_step_t *step = NULL;
        for (const tam_store_step_t *st = o->steps; st->fn; st++)
            if (st->from == have)
                step = st;
        if (!step)
            return TAM_ECONFIG; /* cannot happen: s_migrate_from checked the chain */
        tam_notice("store %s: migrating schema version %u to %u%s%s", s->path, have, have + 1,
                   step->what ? ": " : "", step->what ? step->what : "");
        s_step_t st = {step, o->migrate_arg};
        int ret = tam_store_write(s, s_step_fn, &st);
        if (ret) {
            tam_error("store %s: migration from schema version %u failed: %s; the store stays at "
                      "version %u",
                      s->path, have, tam_strerror(ret), have);
            return ret;
        }
        have++;
        tam_notice("store %s: now at schema version %u", s->path, have);
    }
    return 0;
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
    if ((opts->service && !(s->service = strdup(opts->service))) ||
        !(s->path = strdup(opts->path)) || !(s->names = calloc(ndbs + 1, sizeof *s->names)) ||
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
    if ((ret = s_empty_file_check(opts->path)) || (ret = tam_store__check_file(opts->path, !s->rdonly)))
        goto fail;
    ret = TAM_ESTORE;
    unsigned eflags = MDB_NOTLS;
    if (opts->flags & TAM_STORE_NOSYNC)
        eflags |= MDB_NOSYNC;
    if (s->rdonly)
        eflags |= MDB_RDONLY;
    s->eflags = eflags;
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
    if ((ret = s_open_dbs(s, opts->dbs, opts->schema_version, s_migrate_from(opts), &have)))
        goto fail;
    if (have != opts->schema_version && opts->steps) {
        if ((ret = s_run_steps(s, opts, have)))
            goto fail;
    } else if (have != opts->schema_version) {
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
    free(s->service);
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

int tam_store__reopen(tam_store_t *s)
{
    MDB_txn *txn = NULL;
    mdb_env_close(s->env);
    s->env = NULL;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, (MDB_dbi)s->ndbs + 1);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, S_MAX_READERS);
    if (rc == 0)
        rc = mdb_env_open(s->env, s->path, s->eflags, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, S_META_DB, 0, &s->meta);
    for (size_t i = 0; rc == 0 && i < s->ndbs; i++)
        rc = mdb_dbi_open(txn, s->names[i], 0, &s->dbis[i]);
    if (rc == 0) {
        rc = mdb_txn_commit(txn); /* keeps the handles */
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort(txn);
    if (rc) {
        tam_error("store %s: reopening the environment: %s", s->path, mdb_strerror(rc));
        return TAM_ESTORE;
    }
    tam_notice("store %s: environment reopened", s->path);
    return 0;
}

/* store.c — the one LMDB wrapper every stateful service uses (see tam/store.h
 * and docs/storage.md): group commit with map growth, fatal-error latching and
 * nested transactions. Opening is in store_open.c, the operations inside a
 * transaction in store_txn.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "tam/error.h"
#include "tam/log.h"
#include "store_int.h"

/* Latches the store into the failed state; every later call gets TAM_EFATAL. */
int tam_store__fatal(tam_store_t *s, const char *what, int rc)
{
    if (!s->failed)
        tam_crit("store %s: fatal LMDB error in %s: %s; the process must restart", s->path, what,
                 mdb_strerror(rc));
    s->failed = true;
    return TAM_EFATAL;
}

/* Maps an LMDB error from an operation inside txn to a tam code and records
 * what tam_store_write must know about it. */
int tam_store__txn_err(tam_txn_t *t, const char *what, int rc)
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
        return tam_store__fatal(t->s, what, rc);
    default:
        tam_error("store %s: %s: %s", t->s->path, what, mdb_strerror(rc));
        if (!t->poisoned)
            t->poisoned = rc;
        return TAM_ESTORE;
    }
}

/* Common entry check of every txn operation: state left by an earlier error
 * wins over a new call into LMDB (which would only say MDB_BAD_TXN). */
int tam_store__txn_ok(const tam_txn_t *t)
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
    return tam_store__txn_ok(t);
}

uint64_t tam_txn_writes(const tam_txn_t *t)
{
    return t ? t->writes : 0;
}

int tam_txn_sub(tam_txn_t *t, tam_store_fn fn, void *arg)
{
    int ret = tam_store__txn_ok(t);
    if (ret)
        return ret;
    if (!fn || t->rdonly)
        return TAM_EINVAL;
    tam_txn_t sub = {.s = t->s};
    int rc = mdb_txn_begin(t->s->env, t->txn, 0, &sub.txn);
    if (rc)
        return tam_store__txn_err(t, "mdb_txn_begin (nested)", rc);
    ret = fn(&sub, arg);
    /* What the child met concerns the whole write: map full must grow the
     * map and rerun everything; the others make tam_store_write fail. */
    t->fatal |= sub.fatal;
    t->map_full |= sub.map_full;
    t->txn_full |= sub.txn_full;
    if (sub.poisoned && !t->poisoned)
        t->poisoned = sub.poisoned;
    if (ret || tam_store__txn_ok(t)) {
        mdb_txn_abort(sub.txn);
        int cond = tam_store__txn_ok(t);
        return cond ? cond : ret;
    }
    rc = mdb_txn_commit(sub.txn); /* merges into the parent; frees the child */
    if (rc)
        return tam_store__txn_err(t, "mdb_txn_commit (nested)", rc);
    t->writes += sub.writes;
    return 0;
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
int tam_store__begin(tam_store_t *s, unsigned flags, MDB_txn **txn)
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
    if (rc == MDB_PANIC && s->may_reopen && !s->writing && !s->reading) {
        /* A write of a full disk (or the one retried EIO) left the
         * environment unusable: a new one over the same file. */
        if (tam_store__reopen(s) == 0)
            rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (rc && s->diskfull)
            return TAM_EDISKFULL;
    }
    if (rc == MDB_PANIC)
        return tam_store__fatal(s, "mdb_txn_begin", rc);
    if (rc) {
        tam_error("store %s: mdb_txn_begin: %s", s->path, mdb_strerror(rc));
        return TAM_ESTORE;
    }
    return 0;
}

/* True if the disk of the store has less than S_FREE_MIN bytes free for us. */
static bool s_space_short(const tam_store_t *s)
{
    struct statvfs v;
    if (statvfs(s->path, &v) != 0)
        return false;
    return (unsigned long long)v.f_bavail * v.f_frsize < S_FREE_MIN;
}

/* A failed write: is it a full disk? ENOSPC, EDQUOT and EFBIG say so; LMDB
 * often reports a full disk as EIO, so EIO (or the MDB_PANIC of a failed
 * meta-page write) counts too when the disk has (almost) no space left.
 * Returns TAM_EDISKFULL (latched until a write succeeds; not fatal) or 0. */
static int s_disk_full(tam_store_t *s, int rc)
{
    bool full = rc == ENOSPC || rc == EDQUOT || rc == EFBIG ||
                ((rc == EIO || rc == MDB_PANIC) && s_space_short(s));
    if (!full)
        return 0;
    if (!s->diskfull)
        tam_error("store %s: the disk is full (%s): writes are refused (\"storage full; resend "
                  "later\") until space returns; reads go on",
                  s->path, mdb_strerror(rc));
    s->diskfull = true;
    s->may_reopen = true;
    return TAM_EDISKFULL;
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
    bool retried = false;
    for (;;) {
        tam_txn_t t = {.s = s};
        int ret = tam_store__begin(s, 0, &t.txn);
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
            if (!frc && t.poisoned && (ret = s_disk_full(s, t.poisoned)))
                return ret; /* a page spill met the full disk */
            return frc ? frc : TAM_ESTORE;
        }
        int rc = mdb_txn_commit(t.txn); /* frees the txn, also on failure */
        if (rc == 0) {
            if (s->diskfull)
                tam_notice("store %s: space is back: writes accepted again", s->path);
            s->diskfull = s->may_reopen = false;
            return 0;
        }
        if ((ret = s_disk_full(s, rc)))
            return ret;
        if (rc == EIO && !retried) {
            /* EIO with space left: a passing fault, or the disk is failing.
             * Once more (over a reopened environment if LMDB needs one);
             * a second EIO is fatal. */
            tam_warn("store %s: mdb_txn_commit: %s with free space: trying the write once more",
                     s->path, mdb_strerror(rc));
            retried = true;
            s->may_reopen = true;
            continue;
        }
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
            return tam_store__fatal(s, "mdb_txn_commit", rc);
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
    int ret = tam_store__begin(s, MDB_RDONLY, &t.txn);
    if (ret)
        return ret;
    s->reading++;
    ret = fn(&t, arg);
    s->reading--;
    mdb_txn_abort(t.txn);
    return t.fatal || s->failed ? TAM_EFATAL : ret;
}

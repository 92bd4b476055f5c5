/* store_int.h — what the store's sources share (not a public header). */
#ifndef TAM_STORE_INT_H
#define TAM_STORE_INT_H
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/store.h"


#define S_META_DB "meta"
#define S_SCHEMA_KEY "schema_version"
#define S_CTR_PREFIX "ctr:"
#define S_DEFAULT_MAP ((size_t)64 << 20)
#define S_MIN_MAP ((size_t)32 << 10)
#define S_MAX_DBS 64
#define S_MAX_READERS 126
#define S_SERVICE_KEY "service"
#define S_STORE_ID_KEY "store_id"
#define S_FREE_MIN ((unsigned long long)4 << 20) /* less free: an EIO is a full disk */

struct tam_store {
    MDB_env *env;
    char *path;
    char *service;      /* identity checked at open (NULL: none) */
    size_t ndbs;
    char **names;       /* caller's database names, in the order given */
    MDB_dbi *dbis;      /* their handles */
    MDB_dbi meta;
    size_t map_size;
    size_t map_max;     /* 0: no cap */
    size_t maxkey;
    unsigned grow_count;
    unsigned stale_cleared;
    unsigned eflags;    /* mdb_env_open flags, for a reopen */
    bool diskfull;      /* the last write failed for want of disk space */
    bool may_reopen;    /* MDB_PANIC at begin: reopen (after a disk-full or retried write) */
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
int tam_store__fatal(tam_store_t *s, const char *what, int rc);

/* Maps an LMDB error from an operation inside txn to a tam code and records
 * what tam_store_write must know about it. */
int tam_store__txn_err(tam_txn_t *t, const char *what, int rc);

/* 0 if txn is usable, else the code of what spoilt it (see tam_txn_status). */
int tam_store__txn_ok(const tam_txn_t *t);

/* Closes and opens the environment again, with the same databases: after a
 * failed write of a full disk left LMDB's environment unusable (MDB_PANIC).
 * Returns 0 or TAM_ESTORE. No transaction may be open. */
int tam_store__reopen(tam_store_t *s);

/* Checks dir/data.mdb before LMDB maps it (store_check.c): meta pages, size,
 * and (walk) every reachable page: not for a live store another process
 * writes (a read-only open), whose pages may be mid-write. Returns 0 (also: no file, or empty); TAM_ECONFIG
 * (damaged: logged as critical with what and where); TAM_EIO; TAM_ENOMEM. */
int tam_store__check_file(const char *dir, bool walk);

/* Begins a top-level transaction (see store.c). */
int tam_store__begin(tam_store_t *s, unsigned flags, MDB_txn **txn);

#endif

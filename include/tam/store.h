/* tam/store.h — durable storage: one LMDB environment per service.
 *
 * Named databases hold msgpack values under keys chosen by the caller
 * (increasing big-endian sequence numbers where possible, so writes append).
 * A meta database holds the schema version and named counters.
 *
 * Writes go through tam_store_write(): the caller's function performs all the
 * puts of a group of requests inside one write transaction; the store commits
 * it. If the map is full (MDB_MAP_FULL from a put or from the commit), the
 * store aborts, grows the map (doubling, up to map_max) and runs the function
 * again from the start, so the function must only touch the transaction and
 * state it resets itself. Nothing is acknowledged before tam_store_write()
 * returns 0, which means mdb_txn_commit() returned 0.
 *
 * A fatal LMDB error (MDB_PANIC, a failed meta-page write, EIO) makes every
 * later call return TAM_EFATAL; the service logs it and exits so a supervisor
 * restarts it.
 *
 * A store and its transactions belong to one thread.
 */
#ifndef TAM_STORE_H
#define TAM_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tam_store tam_store_t;
typedef struct tam_txn tam_txn_t;

enum {
    TAM_STORE_NOSYNC = 1 << 0, /* MDB_NOSYNC: tests and benchmarks only, never services */
    TAM_STORE_RDONLY = 1 << 1, /* open read-only (operators' tools) */
};

/* One step of a service's schema migrations: upgrades a store at version
 * from to from + 1 (fn gets the opts' migrate_arg). */
typedef struct {
    uint32_t from;
    int (*fn)(tam_txn_t *txn, void *arg);
    const char *what; /* for the log, e.g. "needs keep their ids" (may be NULL) */
} tam_store_step_t;

typedef struct {
    const char *path;            /* directory; created (mode 0700) if missing */
    size_t map_size;             /* initial map size in bytes (0: 64 MiB) */
    size_t map_max;              /* growth cap in bytes (0: no cap) */
    const char *const *dbs;      /* NULL-terminated names of the named databases */
    uint32_t schema_version;     /* written on first open; a different one refuses to open */
    /* The service the store belongs to (NULL: not checked): written with a
     * random store id into the meta database when first opened; a store of
     * another service refuses to open (TAM_ECONFIG). */
    const char *service;
    unsigned flags;              /* TAM_STORE_* */
    /* Optional migration: a store at version v with schema_from <= v <
     * schema_version is upgraded at open by migrate(txn, v, arg), in one write
     * transaction that also writes the new version (logged as a notice); an
     * error leaves the store as it was and the open fails with it. */
    uint32_t schema_from;
    int (*migrate)(tam_txn_t *txn, uint32_t from, void *arg);
    void *migrate_arg;
    /* Or a table of steps (ended by one with fn NULL), each in its own write
     * transaction with its version (crash-safe: a crash leaves the last
     * version reached, and the next open goes on): a store at any version
     * from which the steps lead unbroken to schema_version is upgraded;
     * schema_from and migrate are then ignored. */
    const tam_store_step_t *steps;
} tam_store_opts_t;

/* Opens (creating if needed) the environment at opts->path, clears stale
 * readers left by crashed processes (mdb_reader_check), opens every named
 * database and checks the schema version.
 * Before LMDB maps an existing data.mdb, the file is checked (meta pages,
 * size, every page reachable from the roots; read-only opens: meta pages and
 * size): a damaged file refuses to open with TAM_ECONFIG and a critical log
 * line saying what and where, never a crash.
 * Returns 0; TAM_EINVAL (bad options), TAM_ECONFIG (damaged or foreign
 * file; schema version differs
 * and cannot be migrated: the message logged names both versions and what to
 * do; or an empty data.mdb, see tam_store_allow_init), TAM_EIO
 * (directory), TAM_ESTORE; migrate's error. */
int tam_store_open(tam_store_t **out, const tam_store_opts_t *opts);

/* A data.mdb of 0 bytes in opts->path makes tam_store_open refuse the store
 * (TAM_ECONFIG, with a message saying to restore a backup or use --init)
 * unless this was called with true first: the services' --init option. */
void tam_store_allow_init(bool allow);

/* Closes the environment; *s becomes NULL. No transaction may be open. */
void tam_store_close(tam_store_t **s);

/* Current map size in bytes. */
size_t tam_store_map_size(const tam_store_t *s);
/* Bytes of the map in use (the last page written, times the page size): with
 * tam_store_map_size, how full the map is. 0 if it cannot be read. */
size_t tam_store_map_used(const tam_store_t *s);

/* Number of times the map has grown since open (for tests and stats). */
unsigned tam_store_grow_count(const tam_store_t *s);

/* Number of stale reader slots (left by crashed processes) that
 * mdb_reader_check cleared when this store was opened. */
unsigned tam_store_stale_cleared(const tam_store_t *s);

/* True once a fatal error was seen; every call then returns TAM_EFATAL. */
bool tam_store_failed(const tam_store_t *s);

typedef int (*tam_store_fn)(tam_txn_t *txn, void *arg);

/* Runs fn in one write transaction and commits it. fn returns 0 to commit or
 * a negative code to abort (that code is returned). On MDB_MAP_FULL the map
 * grows and fn runs again from the start.
 * Returns 0 only after a successful commit; fn's error; TAM_EMAPFULL (map_max
 * reached); TAM_ETOOBIG (MDB_TXN_FULL: too much in one transaction);
 * TAM_EFATAL; TAM_ESTORE (also when fn ignored a failed put and returned 0);
 * TAM_EINVAL (read-only store); TAM_ESTATE (called inside another
 * tam_store_write or tam_store_read fn). */
int tam_store_write(tam_store_t *s, tam_store_fn fn, void *arg);

/* Runs fn in a short read-only transaction (a snapshot of committed data).
 * Returns fn's result, or TAM_ESTORE/TAM_EFATAL. */
int tam_store_read(tam_store_t *s, tam_store_fn fn, void *arg);

/* A value found in the store. Points into the map: valid only until the
 * transaction ends. Copy (or decode) it before returning. */
typedef struct {
    const void *data;
    size_t len;
} tam_val_t;

enum {
    TAM_PUT_NOOVERWRITE = 1 << 0, /* fail with TAM_EEXISTS if the key exists */
    TAM_PUT_APPEND = 1 << 1,      /* key is greater than every key in db (fast path) */
};

/* Looks a key up. Returns 0 and fills *out; TAM_ENOTFOUND; TAM_EUNKNOWN (no
 * such db name); TAM_EINVAL (empty or over-long key); TAM_ESTORE. */
int tam_txn_get(tam_txn_t *txn, const char *db, const void *key, size_t klen, tam_val_t *out);

/* Stores a value (write transactions only). Returns 0; TAM_EEXISTS (with
 * TAM_PUT_NOOVERWRITE); TAM_EUNKNOWN; TAM_EINVAL (read-only txn, empty or
 * over-long key (> 511 bytes), TAM_PUT_APPEND with a key not greater than the
 * last); TAM_ESTORE. TAM_EMAPFULL / TAM_ETOOBIG: the transaction is spent,
 * return the code; tam_store_write grows the map and runs fn again. */
int tam_txn_put(tam_txn_t *txn, const char *db, const void *key, size_t klen, const void *val,
                size_t vlen, unsigned flags);

/* Deletes a key (write transactions only). Returns 0; TAM_ENOTFOUND;
 * TAM_EUNKNOWN; TAM_EINVAL; TAM_ESTORE. */
int tam_txn_del(tam_txn_t *txn, const char *db, const void *key, size_t klen);

/* Called for each record of a scan; return 0 to go on, 1 to stop, or a
 * negative code to stop with that error. */
typedef int (*tam_scan_fn)(const tam_val_t *key, const tam_val_t *val, void *arg);

/* Visits, in key order, the records whose key starts with prefix (plen 0:
 * all), beginning at the first key >= start (NULL: the first key of the
 * prefix). Returns 0 when done or stopped by fn returning 1; fn's negative
 * code; TAM_EUNKNOWN; TAM_EINVAL; TAM_ESTORE. */
int tam_txn_scan(tam_txn_t *txn, const char *db, const void *prefix, size_t plen,
                 const void *start, size_t slen, tam_scan_fn fn, void *arg);

/* Visits records in reverse key order from the last key with the prefix.
 * Returns as tam_txn_scan. */
int tam_txn_scan_rev(tam_txn_t *txn, const char *db, const void *prefix, size_t plen,
                     tam_scan_fn fn, void *arg);

/* Number of records in db. Returns 0 and sets *n; TAM_EUNKNOWN; TAM_ESTORE. */
int tam_txn_count(tam_txn_t *txn, const char *db, size_t *n);

/* Increments the named counter in the meta database and returns its new value
 * in *out (the first call gives 1). Rolled back with the transaction.
 * Returns 0; TAM_EINVAL (read-only txn, empty name); TAM_ERANGE (at
 * UINT64_MAX); TAM_ESTORE. */
int tam_txn_counter_next(tam_txn_t *txn, const char *name, uint64_t *out);

/* Reads the named counter's current value (0 if never incremented).
 * Returns 0; TAM_EINVAL; TAM_ESTORE (malformed value). */
int tam_txn_counter_get(tam_txn_t *txn, const char *name, uint64_t *out);

/* Runs fn in a nested write transaction inside txn (LMDB child txn): fn's
 * writes are kept if it returns 0 and undone if it returns a negative code,
 * while the rest of txn goes on. While fn runs, only its own txn may be used.
 * A store condition met inside (map full, transaction full, fatal or other
 * LMDB error) also spoils txn: tam_txn_status then reports it, and the caller
 * must return it so that tam_store_write aborts (and, for map full, grows the
 * map and runs the whole write again).
 * Returns 0 (committed into txn); fn's code (undone); TAM_EINVAL (NULL fn,
 * read-only txn); the store condition's code (TAM_EMAPFULL, TAM_ETOOBIG,
 * TAM_EFATAL, TAM_ESTORE) when txn is spoilt. */
int tam_txn_sub(tam_txn_t *txn, tam_store_fn fn, void *arg);

/* How many puts and deletes succeeded in txn so far (a nested txn's count
 * joins its parent's when it commits): lets a caller tell whether a failed
 * step wrote anything. 0 for NULL. */
uint64_t tam_txn_writes(const tam_txn_t *txn);

/* 0 if txn is still usable; else the code of the condition that spoilt it:
 * TAM_EMAPFULL, TAM_ETOOBIG (MDB_TXN_FULL), TAM_EFATAL, TAM_ESTORE;
 * TAM_EINVAL for NULL. */
int tam_txn_status(const tam_txn_t *txn);

/* Big-endian encoding of a 64-bit number, so that keys sort numerically. */
void tam_key_u64(uint8_t out[8], uint64_t v);
uint64_t tam_key_get_u64(const void *p);

#ifdef __cplusplus
}
#endif
#endif

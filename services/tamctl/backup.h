/* backup.h — what `tamctl backup` and `tamctl restore` share: the stores,
 * their schema versions in this build, checksums, and the contents of an
 * LMDB environment as the manifest records them. See docs/operations.md. */
#ifndef TAMCTL_BACKUP_H
#define TAMCTL_BACKUP_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define TAMCTL_BACKUP_FORMAT "tamatch-backup"
#define TAMCTL_BACKUP_FORMAT_VERSION 1
#define TAMCTL_BACKUP_MANIFEST "manifest.json"
#define TAMCTL_BACKUP_DATA "data.mdb"

/* The services that keep a store, in the order they are copied. */
extern const char *const tamctl_backup_stores[];
#define TAMCTL_BACKUP_NSTORES 3

/* The schema version this build's service expects for store i. */
uint32_t tamctl_backup_schema(size_t i);

/* SHA-256 of a file, as 64 hex digits, and its size. Returns 0, or -errno. */
int tamctl_sha256_file(const char *path, char hex[65], uint64_t *size);

/* Opens the LMDB environment in dir read-only and describes it as
 * {"schema_version": N, "counters": {name: n}, "records": {db: n}}.
 * Returns the new object, or NULL with a message in err. */
json_t *tamctl_store_describe(const char *dir, char *err, size_t errlen);

/* Copies the environment in src to dst (created, 0700) with compaction,
 * consistent as of one read transaction, while writers go on. Returns 0, or
 * NULL-free message in err and -1. */
int tamctl_store_copy(const char *src, const char *dst, char *err, size_t errlen);

/* Copies the file src to dst (created exclusively, mode 0600) and syncs it.
 * Returns 0, or -1 with a message naming the file in err. */
int tamctl_file_copy(const char *src, const char *dst, char *err, size_t errlen);

/* The plain files kept beside the stores (tam-match's run counter, so that
 * run ids go on rising after a restore), relative to data_dir. */
extern const char *const tamctl_backup_files[];
#define TAMCTL_BACKUP_NFILES 1

/* True if path does not exist or is an empty directory. */
int tamctl_dir_fresh(const char *path);

#endif

/* tam/dedup.h — the duplicate-detection table ("requests") and its pruning.
 *
 * The service loop stores the ok answer of every write under
 * "<principal>\0<type>\0<request id>" (tam/service.h), so that a resend gets
 * the same answer and writes nothing new. Without pruning that table grows
 * forever. Each stored answer also gets an age entry in the same database,
 * "\0\0" + its time (8 bytes, big-endian ms since the epoch) + its key, and
 * tam_dedup_prune deletes the answers whose time is older than the
 * retention, oldest first, a bounded number per transaction.
 *
 * A resend that arrives after its answer was pruned must not be applied a
 * second time. Request ids made by tam_rpc_new_id are dated: "t" + the time
 * of their making (11 hex digits, ms since the epoch) + "-" + 80 random bits.
 * An answer's age is the later of the time it was stored and its id's date;
 * a dated id older than the retention that is not in the table is refused
 * with TAM_EEXPIRED ("expired"): it can only be a resend whose answer was
 * pruned, or a client whose clock is off by more than the retention. Ids
 * of any other shape (clients that choose their own) are deduplicated for
 * the retention only, which must be longer than any client's retry horizon.
 */
#ifndef TAM_DEDUP_H
#define TAM_DEDUP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tam/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_DEDUP_RETENTION_DEFAULT_MS (7LL * 24 * 3600 * 1000)
#define TAM_DEDUP_PRUNE_BATCH 1000 /* answers deleted per prune transaction */

/* True if id is dated (see above); sets *ms to its date. */
bool tam_dedup_id_time(const char *id, int64_t *ms);

/* Writes a dated id for time ms into out (at least 34 bytes): "t" + 11 hex
 * digits + "-" + 20 hex digits of the 80 random bits in rnd. */
void tam_dedup_id_make(char *out, int64_t ms, const uint8_t rnd[10]);

/* 0 if a write with this request id, not found in the table, may be applied
 * at now_ms; TAM_EEXPIRED if the id is dated more than retention_ms before
 * now_ms; TAM_ERANGE if it is dated more than retention_ms after it (a clock
 * that far ahead would keep its answers past any bound). */
int tam_dedup_check(const char *id, int64_t now_ms, int64_t retention_ms);

/* Stores an answer (key, val) in db, in txn, with its age entry at
 * max(now_ms, the id's date). TAM_PUT_NOOVERWRITE semantics. Returns as
 * tam_txn_put. */
int tam_dedup_put(tam_txn_t *txn, const char *db, const void *key, size_t klen, const char *id,
                  const void *val, size_t vlen, int64_t now_ms);

/* Deletes, in one write transaction, up to max answers of db older than
 * now_ms - retention_ms, oldest first, with their age entries; sets *pruned
 * to how many (may be NULL) and *more to whether older ones remain (NULL
 * ok). The first call on a store whose answers have no age entries (written
 * before this existed) gives each of them one at now_ms. Returns 0 or
 * tam_store_write's error. */
int tam_dedup_prune(tam_store_t *s, const char *db, int64_t now_ms, int64_t retention_ms,
                    size_t max, size_t *pruned, bool *more);

#ifdef __cplusplus
}
#endif
#endif

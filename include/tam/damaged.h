/* tam/damaged.h — stored records that do not decode, as a listing reports
 * them.
 *
 * A listing that meets a stored value it cannot decode leaves that record
 * out, goes on with the rest, and answers the keys it left out under
 * "damaged" (an array of str, ids only): an answer with "damaged" is
 * incomplete and says so (proto/PROTOCOL.md; tamctl warns and exits 65).
 * The log line names the database and the key, never the value. */
#ifndef TAM_DAMAGED_H
#define TAM_DAMAGED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#define TAM_DAMAGED_MAX 64     /* keys an answer lists; more are counted in n */
#define TAM_DAMAGED_KEY_MAX 80 /* bytes of one key as text */

typedef struct {
    uint32_t n; /* damaged records met (may exceed TAM_DAMAGED_MAX) */
    char key[TAM_DAMAGED_MAX][TAM_DAMAGED_KEY_MAX + 1];
} tam_damaged_t;

/* Records one damaged record of database db under key (printf format; the
 * text is cut to TAM_DAMAGED_KEY_MAX bytes, bytes outside printable ASCII
 * become '?') and logs it as an error naming db, the key and where the
 * decoder stopped (path may be NULL). Cannot fail. */
void tam_damaged_add(tam_damaged_t *d, const char *db, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Number of keys tam_damaged_pack writes (0: nothing to pack). */
uint32_t tam_damaged_listed(const tam_damaged_t *d);

/* Packs the map entry "damaged": [keys...] when d holds any key; nothing
 * otherwise. The caller counts it in its map's size (tam_damaged_listed(d)
 * != 0). Returns 0 or TAM_ENOMEM. */
int tam_damaged_pack(const tam_damaged_t *d, msgpack_packer *pk);

/* Adds "damaged": [...] to the answer in sb, which must be one msgpack map
 * of at most 14 entries (a fixmap, as every listing answer is): its header
 * is counted up and the entry appended. No-op when d holds nothing.
 * Returns 0; TAM_EINVAL (sb does not start with such a map); TAM_ENOMEM. */
int tam_damaged_append(const tam_damaged_t *d, msgpack_sbuffer *sb);

#endif

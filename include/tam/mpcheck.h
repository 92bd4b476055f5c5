/* tam/mpcheck.h — the strict pre-pass run on every msgpack buffer before
 * msgpack-c sees it.
 *
 * msgpack-c allocates for a declared array or map length before any element
 * arrives (5 bytes can ask for 1.5 GiB) and has no depth or size limits of its
 * own. tam_mp_check walks the bytes once, without allocating, and accepts only
 * a buffer that holds exactly one complete object whose every declared length
 * and element count fits in the bytes that remain, within the given limits.
 */
#ifndef TAM_MPCHECK_H
#define TAM_MPCHECK_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    unsigned max_depth;   /* deepest nesting of arrays/maps (top level is depth 1) */
    size_t max_items;     /* total objects (all array elements + map keys/values) */
    size_t max_str;       /* longest str/bin/ext payload in bytes */
} tam_mp_limits_t;

/* Defaults: depth 8, 1,000,000 items, 1 MiB strings. */
extern const tam_mp_limits_t TAM_MP_LIMITS_DEFAULT;

/* Checks buf[0..len) as one msgpack object.
 * Returns 0; TAM_ETRUNC (ends early, or a declared count cannot fit in the
 * remaining bytes); TAM_EDEPTH; TAM_ETOOBIG (items or string over limit);
 * TAM_EPROTO (reserved byte 0xc1, or trailing bytes after the object).
 * If offset is not NULL it receives the byte offset where the problem was
 * found. Never allocates. */
int tam_mp_check(const void *buf, size_t len, const tam_mp_limits_t *lim, size_t *offset);

#ifdef __cplusplus
}
#endif
#endif

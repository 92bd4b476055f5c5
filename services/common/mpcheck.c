/* mpcheck.c — allocation-free validation of a msgpack buffer (see mpcheck.h).
 *
 * The walk keeps a stack of "objects still owed" per open container. Each
 * declared container length is checked against the bytes left: every element
 * takes at least one byte, so a count larger than the remaining bytes can
 * never be satisfied and is refused before anyone allocates for it.
 */
#include <stdint.h>
#include "tam/error.h"
#include "tam/mpcheck.h"

const tam_mp_limits_t TAM_MP_LIMITS_DEFAULT = {8, 1000000, 1u << 20};

#define S_MAX_DEPTH 64

static uint64_t s_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int tam_mp_check(const void *buf, size_t len, const tam_mp_limits_t *lim, size_t *offset)
{
    const uint8_t *p = buf;
    size_t pos = 0, items = 0;
    uint64_t owed[S_MAX_DEPTH + 1]; /* objects still owed at each open level */
    unsigned depth = 0;
    unsigned max_depth = lim->max_depth < S_MAX_DEPTH ? lim->max_depth : S_MAX_DEPTH;
    int rc = 0;

    owed[0] = 1; /* the top-level object */
    while (owed[0] > 0 || depth > 0) {
        if (owed[depth] == 0) { /* container finished: pop */
            depth--;
            continue;
        }
        owed[depth]--;
        if (pos >= len) {
            rc = TAM_ETRUNC;
            goto out;
        }
        if (++items > lim->max_items) {
            rc = TAM_ETOOBIG;
            goto out;
        }
        uint8_t b = p[pos++];
        uint64_t payload = 0; /* bytes of raw payload following the header */
        uint64_t children = 0; /* nested objects declared */
        unsigned hdr = 0;      /* bytes of length field following the type byte */
        int is_str = 0;

        if (b <= 0x7f || b >= 0xe0) {
            /* positive / negative fixint */
        } else if (b >= 0x80 && b <= 0x8f) {
            children = 2u * (b & 0x0f);
        } else if (b >= 0x90 && b <= 0x9f) {
            children = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            payload = b & 0x1f;
            is_str = 1;
        } else {
            switch (b) {
            case 0xc0: case 0xc2: case 0xc3: break;                 /* nil, false, true */
            case 0xc1: rc = TAM_EPROTO; pos--; goto out;            /* never used */
            case 0xc4: case 0xd9: hdr = 1; is_str = 1; break;       /* bin8, str8 */
            case 0xc5: case 0xda: hdr = 2; is_str = 1; break;       /* bin16, str16 */
            case 0xc6: case 0xdb: hdr = 4; is_str = 1; break;       /* bin32, str32 */
            case 0xc7: hdr = 1; is_str = 2; break;                  /* ext8 */
            case 0xc8: hdr = 2; is_str = 2; break;                  /* ext16 */
            case 0xc9: hdr = 4; is_str = 2; break;                  /* ext32 */
            case 0xca: payload = 4; break;                          /* float32 */
            case 0xcb: payload = 8; break;                          /* float64 */
            case 0xcc: case 0xd0: payload = 1; break;
            case 0xcd: case 0xd1: payload = 2; break;
            case 0xce: case 0xd2: payload = 4; break;
            case 0xcf: case 0xd3: payload = 8; break;
            case 0xd4: payload = 2; break;                          /* fixext1 */
            case 0xd5: payload = 3; break;
            case 0xd6: payload = 5; break;
            case 0xd7: payload = 9; break;
            case 0xd8: payload = 17; break;
            case 0xdc: hdr = 2; break;                              /* array16 */
            case 0xdd: hdr = 4; break;                              /* array32 */
            case 0xde: hdr = 2; break;                              /* map16 */
            case 0xdf: hdr = 4; break;                              /* map32 */
            default: rc = TAM_EPROTO; pos--; goto out;
            }
            if (hdr) {
                if (len - pos < hdr) {
                    rc = TAM_ETRUNC;
                    goto out;
                }
                uint64_t n = s_be(p + pos, hdr);
                pos += hdr;
                if (b == 0xdc || b == 0xdd)
                    children = n;
                else if (b == 0xde || b == 0xdf)
                    children = 2 * n;
                else
                    payload = n + (is_str == 2 ? 1 : 0); /* ext: type byte + data */
            }
        }
        if (is_str && payload - (is_str == 2 ? 1 : 0) > lim->max_str) {
            rc = TAM_ETOOBIG;
            goto out;
        }
        if (payload > len - pos) {
            rc = TAM_ETRUNC;
            goto out;
        }
        pos += payload;
        if (children) {
            /* Every child needs at least one byte of its own. */
            if (children > len - pos) {
                rc = TAM_ETRUNC;
                goto out;
            }
            if (children > lim->max_items - items) {
                rc = TAM_ETOOBIG;
                goto out;
            }
            if (depth + 1 > max_depth) { /* the container being opened is at level depth+1 */
                rc = TAM_EDEPTH;
                goto out;
            }
            owed[++depth] = children;
        }
    }
    if (pos != len)
        rc = TAM_EPROTO; /* trailing bytes */
out:
    if (offset)
        *offset = pos;
    return rc;
}

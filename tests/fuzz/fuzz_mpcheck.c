/* fuzz_mpcheck — differential test of the pre-pass against msgpack-c: every
 * buffer the pre-pass accepts must unpack completely, and the pre-pass must
 * never read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <msgpack.h>
#include "tam/mpcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tam_mp_limits_t lim = {8, size, 1u << 20};
    if (tam_mp_check(data, size, &lim, NULL) != 0)
        return 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&u, (const char *)data, size, &off);
    if (r != MSGPACK_UNPACK_SUCCESS || off != size)
        abort();
    msgpack_unpacked_destroy(&u);
    return 0;
}

/* fuzz_feed — the feed's update metadata decoder ([epoch, seq]), which every
 * subscriber runs on bytes from the network. */
#include <stdint.h>
#include <stdlib.h>
#include "../../services/common/feed_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t epoch = 0, seq = 0;
    if (tam__feed_meta_decode(data, size, &epoch, &seq) == 0) {
        uint8_t buf[32];
        size_t n = tam__feed_meta_encode(buf, epoch, seq);
        uint64_t e2 = 0, s2 = 0;
        if (tam__feed_meta_decode(buf, n, &e2, &s2) != 0 || e2 != epoch || s2 != seq)
            abort();
    }
    return 0;
}

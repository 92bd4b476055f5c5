/* fuzz_json — a reply file as tamctl reads it: JSON → msgpack → strict
 * decode of a reply, and msgpack → JSON for --json output. */
#include <stdint.h>
#include <stdlib.h>
#include "tam/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_sbuffer sb;
    tam_codec_err_t err;
    if (tam_json_to_msgpack((const char *)data, size, &sb, &err) == 0) {
        tam_arena_t *a = tam_arena_new(0);
        tam_reply_t r;
        (void)tam_decode(&tam_schema_reply, sb.data, sb.size, a, &r, &err);
        char *j = tam_msgpack_to_json(sb.data, sb.size, 0);
        free(j);
        tam_arena_destroy(&a);
    }
    msgpack_sbuffer_destroy(&sb);
    return 0;
}

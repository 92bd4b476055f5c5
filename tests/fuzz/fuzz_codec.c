/* fuzz_codec — the strict decoder against every schema: the first byte picks
 * the schema, the rest is the message. Whatever the bytes, decoding returns
 * a code; an accepted message re-encodes and decodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tam/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t ns;
    const tam_schema_t *const *schemas = tam_schemas(&ns);
    const tam_schema_t *s = schemas[data[0] % ns];
    tam_arena_t *a = tam_arena_new(0);
    tam_arena_set_cap(a, 64u << 20);
    void *obj = tam_arena_alloc(a, s->size);
    tam_codec_err_t err;
    if (tam_decode(s, data + 1, size - 1, a, obj, &err) == 0) {
        msgpack_sbuffer one, two;
        if (tam_encode_sbuf(s, obj, &one, &err) != 0)
            abort();
        tam_arena_t *b = tam_arena_new(0);
        void *back = tam_arena_alloc(b, s->size);
        if (tam_decode(s, one.data, one.size, b, back, &err) != 0)
            abort();
        if (tam_encode_sbuf(s, back, &two, &err) != 0 || one.size != two.size ||
            memcmp(one.data, two.data, one.size) != 0)
            abort();
        msgpack_sbuffer_destroy(&one);
        msgpack_sbuffer_destroy(&two);
        tam_arena_destroy(&b);
    } else if (err.code >= 0 || err.message[0] == 0) {
        abort(); /* every refusal carries a code and a message */
    }
    tam_arena_destroy(&a);
    return 0;
}

/* fuzz_rpc — the decoders of everything a peer sends over request/reply:
 * envelopes (request and answer), error bodies, stored answers. None may
 * crash, leak or read out of bounds; what they accept must be consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tam_rpc_envelope_t env;
    tam_rpc_error_t err = {0};
    int rc = tam_rpc_envelope_decode(data, size, false, &env, &err);
    /* an accepted request envelope holds a valid id and type */
    if (rc == 0 && (!tam_rpc_id_valid(env.id, strlen(env.id)) ||
                    !tam_rpc_type_valid(env.type, strlen(env.type)) || err.n != 0))
        abort();
    if (rc != 0 && (err.n == 0 || err.code != rc))
        abort();
    tam_rpc_error_clear(&err);
    tam_rpc_envelope_decode(data, size, true, &env, NULL);

    if (tam_rpc_error_decode(data, size, &err) == 0 && err.code >= 0)
        abort();
    /* re-encoding what was decoded gives a body that decodes to the same */
    void *buf = NULL;
    size_t len = 0;
    if (tam_rpc_error_encode(&err, &buf, &len) == 0) {
        tam_rpc_error_t again = {0};
        if (tam_rpc_error_decode(buf, len, &again) != 0 || again.code != err.code ||
            strcmp(again.field, err.field) != 0 || strcmp(again.message, err.message) != 0)
            abort();
        tam_rpc_error_clear(&again);
        free(buf);
    }
    tam_rpc_error_clear(&err);

    int status;
    const void *body;
    size_t blen;
    if (tam_rpc_answer_split(data, size, &status, &body, &blen) == 0 &&
        (blen == 0 || (const uint8_t *)body + blen != data + size))
        abort();
    return 0;
}

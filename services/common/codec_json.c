/* codec_json.c — the one-to-one mapping between JSON (reply and project
 * files, --json output) and msgpack. Typed validation stays in the decoder:
 * JSON is converted to msgpack first and decoded like anything from the wire,
 * so a file and a message are held to exactly the same rules. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "tam/codec.h"
#include "tam/error.h"
#include "tam/mpcheck.h"

#define S_JSON_MAX_DEPTH 16

static int s_pack_json(msgpack_packer *pk, const json_t *j, int depth)
{
    if (depth > S_JSON_MAX_DEPTH)
        return TAM_EDEPTH;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (msgpack_pack_map(pk, json_object_size(j)))
            return TAM_ENOMEM;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v) {
            if (msgpack_pack_str_with_body(pk, key, strlen(key)))
                return TAM_ENOMEM;
            int rc = s_pack_json(pk, v, depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    case JSON_ARRAY: {
        if (msgpack_pack_array(pk, json_array_size(j)))
            return TAM_ENOMEM;
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            int rc = s_pack_json(pk, v, depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    case JSON_STRING:
        return msgpack_pack_str_with_body(pk, json_string_value(j), json_string_length(j)) ? TAM_ENOMEM : 0;
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(j)) ? TAM_ENOMEM : 0;
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(j)) ? TAM_ENOMEM : 0;
    case JSON_TRUE:
        return msgpack_pack_true(pk) ? TAM_ENOMEM : 0;
    case JSON_FALSE:
        return msgpack_pack_false(pk) ? TAM_ENOMEM : 0;
    case JSON_NULL:
        return msgpack_pack_nil(pk) ? TAM_ENOMEM : 0;
    }
    return TAM_EINTERNAL;
}

int tam_json_to_msgpack(const char *json, size_t len, msgpack_sbuffer *out, tam_codec_err_t *err)
{
    json_error_t je;
    msgpack_sbuffer_init(out);
    /* A UTF-8 byte order mark (editors on Windows write one) is not JSON
     * but says nothing wrong about it: skipped. */
    if (json && len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0) {
        json += 3;
        len -= 3;
    }
    /* JSON_REJECT_DUPLICATES: a repeated key in a reply file is an error, as on the wire. */
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (err) {
            err->code = TAM_EINVAL;
            err->path[0] = 0;
            snprintf(err->message, sizeof err->message, "invalid JSON at line %d column %d: %s",
                     je.line, je.column, je.text);
        }
        return TAM_EINVAL;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = s_pack_json(&pk, j, 1);
    json_decref(j);
    if (rc) {
        msgpack_sbuffer_destroy(out);
        msgpack_sbuffer_init(out);
        if (err) {
            err->code = rc;
            err->path[0] = 0;
            if (rc == TAM_EDEPTH)
                snprintf(err->message, sizeof err->message,
                         "JSON nested too deeply (at most %d levels)", S_JSON_MAX_DEPTH);
            else
                snprintf(err->message, sizeof err->message, "JSON could not be converted");
        }
    }
    return rc;
}

static json_t *s_to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        /* JSON integers in jansson are int64; larger ids go out as strings. */
        if (o->via.u64 > (uint64_t)INT64_MAX) {
            char b[24];
            snprintf(b, sizeof b, "%llu", (unsigned long long)o->via.u64);
            return json_string(b);
        }
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR: {
        json_t *s = json_stringn(o->via.str.ptr, o->via.str.size); /* NULL if not UTF-8 */
        return s ? s : json_string("\xef\xbf\xbd");
    }
    case MSGPACK_OBJECT_BIN: return json_null();
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++)
            json_array_append_new(a, s_to_json(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR)
                continue;
            char key[256];
            size_t n = k->via.str.size < sizeof key - 1 ? k->via.str.size : sizeof key - 1;
            if (n)
                memcpy(key, k->via.str.ptr, n);
            key[n] = 0;
            json_object_set_new(m, key, s_to_json(&o->via.map.ptr[i].val));
        }
        return m;
    }
    default: return json_null();
    }
}

char *tam_msgpack_to_json(const void *buf, size_t len, size_t flags)
{
    if (tam_mp_check(buf, len, &TAM_MP_LIMITS_DEFAULT, NULL) != 0)
        return NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    char *out = NULL;
    if (msgpack_unpack_next(&u, buf, len, NULL) == MSGPACK_UNPACK_SUCCESS) {
        json_t *j = s_to_json(&u.data);
        if (j) {
            out = json_dumps(j, flags | JSON_ENCODE_ANY);
            json_decref(j);
        }
    }
    msgpack_unpacked_destroy(&u);
    return out;
}

/* codec.c — schema-driven encoder and strict decoder (see tam/codec.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tam/codec.h"
#include "tam/error.h"
#include "tam/mpcheck.h"
#include "tam/proto.h"

/* ---- error paths --------------------------------------------------------
 * The decoder keeps the path of the field it is in ("needs[3].standard") in
 * a small buffer, appending on the way down and truncating on the way up;
 * it is copied into the error only when something fails. */

typedef struct {
    char buf[160];
    size_t len;
} s_path_t;

static size_t s_path_push(s_path_t *p, const char *name, size_t nlen)
{
    size_t mark = p->len;
    size_t room = sizeof p->buf - 1 - p->len;
    if (p->len && room) {
        p->buf[p->len++] = '.';
        room--;
    }
    if (nlen > room)
        nlen = room;
    if (nlen)
        memcpy(p->buf + p->len, name, nlen);
    p->len += nlen;
    p->buf[p->len] = 0;
    return mark;
}

static size_t s_path_index(s_path_t *p, uint32_t i)
{
    size_t mark = p->len;
    char digits[12];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    if (sizeof p->buf - 1 - p->len < nd + 2)
        return mark;
    p->buf[p->len++] = '[';
    while (nd)
        p->buf[p->len++] = digits[--nd];
    p->buf[p->len++] = ']';
    p->buf[p->len] = 0;
    return mark;
}

static void s_path_pop(s_path_t *p, size_t mark)
{
    p->len = mark;
    p->buf[mark] = 0;
}

/* Records a problem in err. In collect-all mode (err->each_ set) it is also
 * handed to the callback at once, and err keeps the first code in first_. */
__attribute__((format(printf, 4, 5))) static int s_fail(tam_codec_err_t *err, int code,
                                                        const s_path_t *path, const char *fmt, ...)
{
    if (err) {
        tam_codec_err_t e = *err;
        e.code = code;
        snprintf(e.path, sizeof e.path, "%s", path ? path->buf : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e.message, sizeof e.message, fmt, ap);
        va_end(ap);
        if (err->each_) {
            err->each_(&e, err->each_arg_);
            if (err->first_ == 0) {
                *err = e;
                err->first_ = code;
            }
        } else {
            *err = e;
        }
    }
    return code;
}

/* In collect-all mode a field-level problem (already reported) does not stop
 * the walk; running out of memory always does. */
static bool s_go_on(const tam_codec_err_t *err, int rc)
{
    return err && err->each_ && rc != TAM_ENOMEM && rc != TAM_EINTERNAL;
}

static void s_err_reset(tam_codec_err_t *err)
{
    if (err) {
        err->each_ = NULL;
        err->each_arg_ = NULL;
        err->first_ = 0;
    }
}

/* ---- encode -------------------------------------------------------------- */

static bool s_present(const tam_field_t *f, const char *base)
{
    const void *p = base + f->offset;
    if (f->flags & TAM_F_ARG) {
        switch (f->type) {
        case TAM_T_I64: return *(const int64_t *)p != 0;
        case TAM_T_U64: return *(const uint64_t *)p != 0;
        case TAM_T_BOOL: return *(const bool *)p;
        default: break;
        }
    }
    switch (f->type) {
    case TAM_T_STR:
    case TAM_T_OBJ:
        return *(void *const *)p != NULL;
    case TAM_T_DATE:
        return (f->flags & TAM_F_REQ) || *(const uint32_t *)p != 0;
    case TAM_T_STRS:
    case TAM_T_OBJS:
    case TAM_T_U64S:
        return (f->flags & TAM_F_REQ) || ((const tam_vec_t *)p)->n > 0;
    default:
        return true;
    }
}

static int s_encode(const tam_schema_t *s, const void *obj, msgpack_packer *pk, s_path_t *path,
                    tam_codec_err_t *err)
{
    const char *base = obj;
    uint32_t count = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const tam_field_t *f = &s->fields[i];
        bool present = s_present(f, base);
        if (!present && (f->flags & TAM_F_REQ) && (f->type == TAM_T_STR || f->type == TAM_T_OBJ)) {
            s_path_push(path, f->name, strlen(f->name));
            return s_fail(err, TAM_EMISSING, path, "required field missing");
        }
        count += present;
    }
    int rc = msgpack_pack_map(pk, count);
    for (size_t i = 0; i < s->nfields && rc == 0; i++) {
        const tam_field_t *f = &s->fields[i];
        if (!s_present(f, base))
            continue;
        const void *p = base + f->offset;
        size_t nlen = f->name_len;
        rc = msgpack_pack_str_with_body(pk, f->name, nlen);
        if (rc)
            break;
        switch (f->type) {
        case TAM_T_STR: {
            const char *v = *(char *const *)p;
            rc = msgpack_pack_str_with_body(pk, v, strlen(v));
            break;
        }
        case TAM_T_I64:
            rc = msgpack_pack_int64(pk, *(const int64_t *)p);
            break;
        case TAM_T_U64:
            rc = msgpack_pack_uint64(pk, *(const uint64_t *)p);
            break;
        case TAM_T_BOOL:
            rc = *(const bool *)p ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
            break;
        case TAM_T_ENUM: {
            int v = *(const int *)p;
            if (v < 0 || (size_t)v >= f->en->n) {
                s_path_push(path, f->name, nlen);
                return s_fail(err, TAM_EINVAL, path, "enum value %d out of range", v);
            }
            const char *name = f->en->values[v];
            rc = msgpack_pack_str_with_body(pk, name, strlen(name));
            break;
        }
        case TAM_T_DATE: {
            char d[11];
            tam_date_format(*(const uint32_t *)p, d);
            rc = msgpack_pack_str_with_body(pk, d, 10);
            break;
        }
        case TAM_T_U64S: {
            const tam_u64s_t *v = p;
            rc = msgpack_pack_array(pk, v->n);
            for (uint32_t k = 0; k < v->n && rc == 0; k++)
                rc = msgpack_pack_uint64(pk, v->v[k]);
            break;
        }
        case TAM_T_STRS: {
            const tam_strs_t *v = p;
            rc = msgpack_pack_array(pk, v->n);
            for (uint32_t k = 0; k < v->n && rc == 0; k++)
                rc = msgpack_pack_str_with_body(pk, v->v[k] ? v->v[k] : "",
                                                v->v[k] ? strlen(v->v[k]) : 0);
            break;
        }
        case TAM_T_OBJ: {
            size_t mark = s_path_push(path, f->name, nlen);
            int r = s_encode(f->sub, *(void *const *)p, pk, path, err);
            if (r)
                return r;
            s_path_pop(path, mark);
            break;
        }
        case TAM_T_OBJS: {
            const tam_vec_t *v = p;
            rc = msgpack_pack_array(pk, v->n);
            size_t mark = s_path_push(path, f->name, nlen);
            for (uint32_t k = 0; k < v->n && rc == 0; k++) {
                size_t m2 = s_path_index(path, k);
                int r = s_encode(f->sub, (const char *)v->v + k * f->sub->size, pk, path, err);
                if (r)
                    return r;
                s_path_pop(path, m2);
            }
            s_path_pop(path, mark);
            break;
        }
        }
    }
    if (rc)
        return s_fail(err, TAM_ENOMEM, path, "out of memory while encoding");
    return 0;
}

int tam_encode(const tam_schema_t *s, const void *obj, msgpack_packer *pk, tam_codec_err_t *err)
{
    s_err_reset(err);
    s_path_t path = {{0}, 0};
    return s_encode(s, obj, pk, &path, err);
}

int tam_encode_sbuf(const tam_schema_t *s, const void *obj, msgpack_sbuffer *out,
                    tam_codec_err_t *err)
{
    msgpack_sbuffer_init(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = tam_encode(s, obj, &pk, err);
    if (rc) {
        msgpack_sbuffer_destroy(out);
        msgpack_sbuffer_init(out);
    }
    return rc;
}

/* ---- decode -------------------------------------------------------------- */

static const char *s_typename(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "string";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "binary";
    default: return "extension";
    }
}

static int s_decode_map(const tam_schema_t *s, const msgpack_object *o, tam_arena_t *a, void *out,
                        s_path_t *path, tam_codec_err_t *err);

/* The offending value of a string, for an error message: at most 40 bytes of it in
 * quotes, anything but printable ASCII as '?', "..." when cut. */
static const char *s_quote(char buf[48], const char *p, uint32_t n)
{
    size_t k = 0, m = n > 40 ? 40 : n;
    buf[k++] = '"';
    for (size_t i = 0; i < m; i++)
        buf[k++] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
    if (n > m) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k++] = '"';
    buf[k] = 0;
    return buf;
}

static int s_str(const tam_field_t *f, const msgpack_object *v, tam_arena_t *a, char **dst,
                 int64_t min, int64_t max, s_path_t *path, tam_codec_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_STR)
        return s_fail(err, TAM_ETYPE, path, "must be a string, not %s", s_typename(v->type));
    uint32_t n = v->via.str.size;
    if ((int64_t)n < min)
        return s_fail(err, TAM_EINVAL, path, "must be at least %lld bytes long, not %u",
                      (long long)min, n);
    if (max > 0 && (int64_t)n > max)
        return s_fail(err, TAM_ETOOBIG, path, "must be at most %lld bytes long, not %u",
                      (long long)max, n);
    if (!tam_utf8_valid(v->via.str.ptr, n))
        return s_fail(err, TAM_EINVAL, path, "must be valid UTF-8 text without control characters");
    (void)f;
    *dst = tam_arena_strndup(a, v->via.str.ptr, n);
    if (!*dst)
        return s_fail(err, TAM_ENOMEM, path, "message too large to decode");
    return 0;
}

static int s_field(const tam_field_t *f, const msgpack_object *v, tam_arena_t *a, char *base,
                   s_path_t *path, tam_codec_err_t *err)
{
    void *p = base + f->offset;
    switch (f->type) {
    case TAM_T_STR:
        return s_str(f, v, a, (char **)p, f->min, f->max, path, err);
    case TAM_T_I64: {
        int64_t x;
        if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (v->via.u64 > INT64_MAX)
                return s_fail(err, TAM_ERANGE, path, "must be between %lld and %lld, not %llu",
                              (long long)f->min, (long long)f->max,
                              (unsigned long long)v->via.u64);
            x = (int64_t)v->via.u64;
        } else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            x = v->via.i64;
        } else {
            return s_fail(err, TAM_ETYPE, path, "must be an integer, not %s", s_typename(v->type));
        }
        if (x < f->min || x > f->max)
            return s_fail(err, TAM_ERANGE, path, "must be between %lld and %lld, not %lld",
                          (long long)f->min, (long long)f->max, (long long)x);
        *(int64_t *)p = x;
        return 0;
    }
    case TAM_T_U64:
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return s_fail(err, TAM_ETYPE, path, "must be a non-negative integer, not %s",
                          s_typename(v->type));
        if (f->max > 0 && v->via.u64 > (uint64_t)f->max)
            return s_fail(err, TAM_ERANGE, path, "must be at most %lld, not %llu", (long long)f->max,
                          (unsigned long long)v->via.u64);
        *(uint64_t *)p = v->via.u64;
        return 0;
    case TAM_T_BOOL:
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return s_fail(err, TAM_ETYPE, path, "must be true or false, not %s", s_typename(v->type));
        *(bool *)p = v->via.boolean;
        return 0;
    case TAM_T_ENUM: {
        if (v->type != MSGPACK_OBJECT_STR)
            return s_fail(err, TAM_ETYPE, path, "must be a string, not %s", s_typename(v->type));
        int idx = tam_enum_index(f->en, v->via.str.ptr, v->via.str.size);
        if (idx < 0) {
            char list[150];
            size_t used = 0;
            list[0] = 0;
            for (size_t k = 0; k < f->en->n && used < sizeof list; k++) {
                int n = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                 f->en->values[k]);
                if (n < 0)
                    break;
                used += (size_t)n;
            }
            char q[48];
            return s_fail(err, TAM_EUNKNOWN, path, "must be one of: %s; not %s", list,
                          s_quote(q, v->via.str.ptr, v->via.str.size));
        }
        *(int *)p = idx;
        return 0;
    }
    case TAM_T_DATE:
        if (v->type != MSGPACK_OBJECT_STR)
            return s_fail(err, TAM_ETYPE, path, "must be a date string YYYY-MM-DD, not %s",
                          s_typename(v->type));
        if (tam_date_parse(v->via.str.ptr, v->via.str.size, (uint32_t *)p) != 0) {
            char q[48];
            return s_fail(err, TAM_EINVAL, path,
                          "must be a calendar date YYYY-MM-DD between 1900 and 2200, not %s",
                          s_quote(q, v->via.str.ptr, v->via.str.size));
        }
        return 0;
    case TAM_T_STRS:
    case TAM_T_U64S:
    case TAM_T_OBJS: {
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return s_fail(err, TAM_ETYPE, path, "must be an array, not %s", s_typename(v->type));
        uint32_t n = v->via.array.size;
        if ((int64_t)n < f->min)
            return s_fail(err, TAM_EINVAL, path, "must have at least %lld elements, not %u",
                          (long long)f->min, n);
        if (f->max > 0 && (int64_t)n > f->max)
            return s_fail(err, TAM_ETOOBIG, path, "must have at most %lld elements, not %u",
                          (long long)f->max, n);
        tam_vec_t *vec = p;
        size_t esize = f->type == TAM_T_STRS   ? sizeof(char *)
                       : f->type == TAM_T_U64S ? sizeof(uint64_t)
                                               : f->sub->size;
        vec->v = n ? tam_arena_alloc(a, (size_t)n * esize) : NULL;
        if (n && !vec->v)
            return s_fail(err, TAM_ENOMEM, path, "message too large to decode");
        vec->n = n; /* only with its elements: a refused message's struct stays walkable */
        for (uint32_t k = 0; k < n; k++) {
            size_t mark = s_path_index(path, k);
            const msgpack_object *e = &v->via.array.ptr[k];
            int rc;
            if (f->type == TAM_T_STRS)
                rc = s_str(f, e, a, (char **)vec->v + k, 1, f->elem_max, path, err);
            else if (f->type == TAM_T_U64S)
                rc = e->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                         ? (((uint64_t *)vec->v)[k] = e->via.u64, 0)
                         : s_fail(err, TAM_ETYPE, path, "must be a non-negative integer, not %s",
                                  s_typename(e->type));
            else
                rc = s_decode_map(f->sub, e, a, (char *)vec->v + k * esize, path, err);
            if (rc && !s_go_on(err, rc))
                return rc;
            s_path_pop(path, mark);
        }
        return 0;
    }
    case TAM_T_OBJ: {
        void *sub = tam_arena_alloc(a, f->sub->size);
        if (!sub)
            return s_fail(err, TAM_ENOMEM, path, "message too large to decode");
        *(void **)p = sub;
        return s_decode_map(f->sub, v, a, sub, path, err);
    }
    }
    return s_fail(err, TAM_EINTERNAL, path, "unknown field type");
}

/* Whether a wire field name (not NUL-terminated, may hold NULs) is f's. */
static inline bool s_name_is(const tam_field_t *f, const char *name, uint32_t nlen)
{
    return f->name_len == nlen && memcmp(f->name, name, nlen) == 0;
}

static int s_decode_map(const tam_schema_t *s, const msgpack_object *o, tam_arena_t *a, void *out,
                        s_path_t *path, tam_codec_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return s_fail(err, TAM_ETYPE, path, "must be a map (object), not %s", s_typename(o->type));
    uint64_t seen = 0; /* schemas have at most 64 fields (checked by the codec test) */
    size_t next = 0;   /* the field expected next */
    int failed = 0;    /* collect-all mode: a problem was reported below */
    const msgpack_object_kv *kv = o->via.map.ptr;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &kv[i].key;
        if (k->type != MSGPACK_OBJECT_STR) {
            int rc = s_fail(err, TAM_ETYPE, path, "field names must be strings, not %s",
                            s_typename(k->type));
            if (s_go_on(err, rc))
                continue;
            return rc;
        }
        uint32_t nlen = k->via.str.size;
        const char *name = nlen ? k->via.str.ptr : ""; /* msgpack-c gives NULL for "" */
        /* Encoders write fields in definition order: try the expected one first. */
        size_t fi = next < s->nfields ? next : 0;
        if (!s_name_is(&s->fields[fi], name, nlen))
            for (fi = 0; fi < s->nfields; fi++)
                if (s_name_is(&s->fields[fi], name, nlen))
                    break;
        size_t mark = s_path_push(path, name, nlen < 64 ? nlen : 64);
        int rc = 0;
        if (fi == s->nfields) {
            if (!tam_utf8_valid(name, nlen))
                s_path_pop(path, mark), s_path_push(path, "?", 1);
            rc = s_fail(err, TAM_EUNKNOWN, path, "unknown field in %s", s->name);
        } else if (seen & (UINT64_C(1) << fi)) {
            rc = s_fail(err, TAM_EINVAL, path, "field given twice");
        } else {
            seen |= UINT64_C(1) << fi;
            next = fi + 1;
            const msgpack_object *v = &kv[i].val;
            if (v->type == MSGPACK_OBJECT_NIL) {
                if (s->fields[fi].flags & TAM_F_REQ)
                    rc = s_fail(err, TAM_EMISSING, path, "required field is null");
            } else {
                rc = s_field(&s->fields[fi], v, a, out, path, err);
            }
        }
        if (rc && !s_go_on(err, rc))
            return rc;
        if (rc)
            failed = rc;
        s_path_pop(path, mark);
    }
    for (size_t fi = 0; fi < s->nfields; fi++) {
        if ((s->fields[fi].flags & TAM_F_REQ) && !(seen & (UINT64_C(1) << fi))) {
            size_t mark = s_path_push(path, s->fields[fi].name, s->fields[fi].name_len);
            int rc = s_fail(err, TAM_EMISSING, path, "required field missing");
            s_path_pop(path, mark);
            if (!s_go_on(err, rc))
                return rc;
            failed = rc;
        }
    }
    return failed;
}

int tam_decode_obj(const tam_schema_t *s, const msgpack_object *o, tam_arena_t *a, void *out,
                   tam_codec_err_t *err)
{
    s_err_reset(err);
    s_path_t path = {{0}, 0};
    memset(out, 0, s->size);
    return s_decode_map(s, o, a, out, &path, err);
}

static bool s_has_required(const tam_schema_t *s)
{
    for (size_t fi = 0; fi < s->nfields; fi++)
        if (s->fields[fi].flags & TAM_F_REQ)
            return true;
    return false;
}

static int s_decode(const tam_schema_t *s, const void *buf, size_t len, tam_arena_t *a, void *out,
                    tam_codec_err_t *err)
{
    memset(out, 0, s->size);
    if (len > TAM_CODEC_MAX_MSG)
        return s_fail(err, TAM_ETOOBIG, NULL, "message of %zu bytes exceeds the %u-byte cap", len,
                      TAM_CODEC_MAX_MSG);
    size_t at = 0;
    tam_mp_limits_t lim = {8, len, 1u << 20};
    int rc = tam_mp_check(buf, len, &lim, &at);
    if (rc)
        return s_fail(err, rc, NULL, "malformed msgpack at byte %zu: %s", at, tam_strerror(rc));
    /* After the pre-pass the zone's needs are bounded by the input size
     * (at most one msgpack_object per input byte); it grows in chunks. */
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, len < 16384 ? len * 4 + 256 : 65536))
        return s_fail(err, TAM_ENOMEM, NULL, "out of memory");
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(buf, len, &off, &zone, &obj);
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        msgpack_zone_destroy(&zone);
        return s_fail(err, TAM_EPROTO, NULL, "msgpack could not be unpacked (%d)", (int)ur);
    }
    s_path_t path = {{0}, 0};
    /* A nil message says nothing: it is the empty map of a schema that
     * requires no field (RPC.md: a body is nil when there is nothing to say). */
    if (obj.type == MSGPACK_OBJECT_NIL && !s_has_required(s)) {
        msgpack_zone_destroy(&zone);
        return 0;
    }
    rc = s_decode_map(s, &obj, a, out, &path, err);
    msgpack_zone_destroy(&zone);
    return rc;
}

int tam_decode(const tam_schema_t *s, const void *buf, size_t len, tam_arena_t *a, void *out,
               tam_codec_err_t *err)
{
    s_err_reset(err);
    return s_decode(s, buf, len, a, out, err);
}

int tam_decode_all(const tam_schema_t *s, const void *buf, size_t len, tam_arena_t *a, void *out,
                   tam_codec_err_t *err, tam_codec_each_fn each, void *arg)
{
    tam_codec_err_t local;
    if (!err)
        err = &local;
    s_err_reset(err);
    err->each_ = each;
    err->each_arg_ = arg;
    int rc = s_decode(s, buf, len, a, out, err);
    int first = err->first_;
    s_err_reset(err);
    return first ? first : rc;
}

/* ---- lookups ----------------------------------------------------------- */

int tam_enum_index(const tam_enum_t *e, const char *name, size_t len)
{
    for (size_t i = 0; i < e->n; i++)
        if (strlen(e->values[i]) == len && (len == 0 || memcmp(e->values[i], name, len) == 0))
            return (int)i;
    return -1;
}

const tam_message_t *tam_message_find(const char *type)
{
    size_t n;
    const tam_message_t *m = tam_messages(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].type, type) == 0)
            return &m[i];
    return NULL;
}

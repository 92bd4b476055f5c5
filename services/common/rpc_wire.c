/* rpc_wire.c — what the rpc server and client share: error answers, the
 * envelope, stored answers and request ids (see tam/rpc.h, proto/RPC.md). */
#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "tam/dedup.h"
#include "tam/error.h"
#include "tam/rpc.h"

/* Envelopes are small flat maps; unknown keys may hold a little nesting. */
static const tam_mp_limits_t s_env_limits = {4, 64, TAM_RPC_ENVELOPE_MAX};
/* Error bodies from a peer: a map with a list of small maps. */
static const tam_mp_limits_t s_err_limits = {4, 8192, 1u << 16};
/* Bodies we produced ourselves (stored answers): only shape is checked. */
static const tam_mp_limits_t s_own_limits = {64, SIZE_MAX, SIZE_MAX};

/* ---- texts ------------------------------------------------------------------ */

/* Cuts a string that was truncated to fit so that it does not end inside a
 * UTF-8 sequence. */
static void s_utf8_trim(char *s)
{
    size_t len = strlen(s);
    if (len == 0)
        return;
    size_t i = len - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    unsigned char lead = (unsigned char)s[i];
    size_t want = lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3
                                : (lead & 0xf8) == 0xf0   ? 4
                                                          : 1;
    if (i + want > len)
        s[i] = 0;
}

__attribute__((format(printf, 3, 0))) static void s_vformat(char *buf, size_t cap,
                                                          const char *fmt, va_list ap)
{
    if (!fmt) {
        buf[0] = 0;
        return;
    }
    int n = vsnprintf(buf, cap, fmt, ap);
    if (n < 0)
        buf[0] = 0;
    else if ((size_t)n >= cap)
        s_utf8_trim(buf);
}

static void s_copy(char *buf, size_t cap, const char *s)
{
    size_t n = s ? strnlen(s, cap - 1) : 0;
    memcpy(buf, s ? s : "", n);
    buf[n] = 0;
    if (s && s[n])
        s_utf8_trim(buf);
}

/* Copies a msgpack string received from a peer: cut to fit, NUL-terminated,
 * control characters (and NULs) replaced so that it prints safely. */
static void s_copy_peer(char *buf, size_t cap, const char *s, size_t n)
{
    bool cut = n > cap - 1;
    if (cut)
        n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
    }
    buf[n] = 0;
    if (cut)
        s_utf8_trim(buf);
}

/* ---- error builder ---------------------------------------------------------- */

void tam_rpc_error_init(tam_rpc_error_t *e)
{
    if (e)
        memset(e, 0, sizeof *e);
}

void tam_rpc_error_clear(tam_rpc_error_t *e)
{
    if (!e)
        return;
    free(e->errors);
    memset(e, 0, sizeof *e);
}

/* Appends one entry (texts already formatted). */
static int s_error_push(tam_rpc_error_t *e, int code, const char *field, const char *message)
{
    if (e->n >= TAM_RPC_ERRORS_MAX) {
        e->dropped++;
        return 0;
    }
    if (e->n == e->cap_) {
        size_t cap = e->cap_ ? e->cap_ * 2 : 4;
        if (cap > TAM_RPC_ERRORS_MAX)
            cap = TAM_RPC_ERRORS_MAX;
        tam_rpc_field_error_t *v = realloc(e->errors, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        e->errors = v;
        e->cap_ = cap;
    }
    tam_rpc_field_error_t *fe = &e->errors[e->n++];
    fe->code = code < 0 ? code : TAM_EINVAL;
    s_copy(fe->field, sizeof fe->field, field);
    s_copy(fe->message, sizeof fe->message, message);
    return 0;
}

int tam_rpc_error_set(tam_rpc_error_t *e, int code, const char *field, const char *fmt, ...)
{
    if (!e || code >= 0)
        return TAM_EINVAL;
    e->code = code;
    s_copy(e->field, sizeof e->field, field);
    va_list ap;
    va_start(ap, fmt);
    s_vformat(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    if (!e->message[0])
        s_copy(e->message, sizeof e->message, tam_strerror(code));
    return e->n == 0 ? s_error_push(e, code, e->field, e->message) : 0;
}

__attribute__((format(printf, 4, 0))) static int s_error_vadd(tam_rpc_error_t *e, int code,
                                                             const char *field,
                                                             const char *fmt, va_list ap)
{
    char msg[TAM_RPC_MESSAGE_MAX + 1];
    s_vformat(msg, sizeof msg, fmt, ap);
    bool first = e->n == 0;
    if (code >= 0) /* tam_rpc_error_add: the code set before the first problem, else invalid */
        code = first && e->code < 0 ? e->code : TAM_EINVAL;
    if (e->code >= 0)
        e->code = code;
    if (!msg[0])
        s_copy(msg, sizeof msg, tam_strerror(code));
    if (first && !e->message[0]) {
        s_copy(e->field, sizeof e->field, field);
        s_copy(e->message, sizeof e->message, msg);
    }
    return s_error_push(e, code, field, msg);
}

int tam_rpc_error_add(tam_rpc_error_t *e, const char *field, const char *fmt, ...)
{
    if (!e)
        return TAM_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    int rc = s_error_vadd(e, 0, field, fmt, ap);
    va_end(ap);
    return rc;
}

int tam_rpc_error_add_code(tam_rpc_error_t *e, int code, const char *field, const char *fmt, ...)
{
    if (!e || code >= 0)
        return TAM_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    int rc = s_error_vadd(e, code, field, fmt, ap);
    va_end(ap);
    return rc;
}

int tam_rpc_error_unknown_type(tam_rpc_error_t *e, const char *type)
{
    return tam_rpc_error_set(e, TAM_EUNKNOWN, "envelope.type", "unknown message type '%s'",
                             type ? type : "");
}

/* ---- msgpack helpers -------------------------------------------------------- */

static int s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n) ? -1 : 0;
}

static bool s_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

/* Unpacks buf after the pre-pass. Returns 0 or a pre-pass/unpack code. */
static int s_unpack(const void *buf, size_t len, const tam_mp_limits_t *lim,
                    msgpack_unpacked *out)
{
    int rc = tam_mp_check(buf, len, lim, NULL);
    if (rc)
        return rc;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(out, buf, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS)
        return r == MSGPACK_UNPACK_NOMEM_ERROR ? TAM_ENOMEM : TAM_EPROTO;
    return 0;
}

int tam_rpc_error_encode(const tam_rpc_error_t *e, void **out, size_t *out_len)
{
    if (!e || !out || !out_len)
        return TAM_EINVAL;
    *out = NULL;
    *out_len = 0;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int bad = msgpack_pack_map(&pk, 4);
    bad |= s_pack_str(&pk, "code");
    bad |= s_pack_str(&pk, tam_errname(e->code ? e->code : TAM_EINTERNAL));
    bad |= s_pack_str(&pk, "message");
    bad |= s_pack_str(&pk, e->message);
    bad |= s_pack_str(&pk, "field");
    bad |= s_pack_str(&pk, e->field);
    bad |= s_pack_str(&pk, "errors");
    if (e->n == 0) {
        /* Always list at least the top-level problem. */
        bad |= msgpack_pack_array(&pk, 1);
        bad |= msgpack_pack_map(&pk, 3);
        bad |= s_pack_str(&pk, "code");
        bad |= s_pack_str(&pk, tam_errname(e->code ? e->code : TAM_EINTERNAL));
        bad |= s_pack_str(&pk, "field") | s_pack_str(&pk, e->field);
        bad |= s_pack_str(&pk, "message") | s_pack_str(&pk, e->message);
    } else {
        bad |= msgpack_pack_array(&pk, e->n);
        for (size_t i = 0; i < e->n; i++) {
            bad |= msgpack_pack_map(&pk, 3);
            bad |= s_pack_str(&pk, "code");
            bad |= s_pack_str(&pk, tam_errname(e->errors[i].code ? e->errors[i].code : TAM_EINVAL));
            bad |= s_pack_str(&pk, "field") | s_pack_str(&pk, e->errors[i].field);
            bad |= s_pack_str(&pk, "message") | s_pack_str(&pk, e->errors[i].message);
        }
    }
    if (bad) {
        msgpack_sbuffer_destroy(&sb);
        return TAM_ENOMEM;
    }
    *out_len = sb.size;
    *out = msgpack_sbuffer_release(&sb);
    return 0;
}

static void s_err_proto(tam_rpc_error_t *e, const char *what)
{
    tam_rpc_error_clear(e);
    tam_rpc_error_set(e, TAM_EPROTO, "", "malformed error answer from the server: %s", what);
}

int tam_rpc_error_decode(const void *buf, size_t len, tam_rpc_error_t *e)
{
    if (!buf || !e)
        return TAM_EINVAL;
    tam_rpc_error_clear(e);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int ret = s_unpack(buf, len, &s_err_limits, &u);
    if (ret) {
        s_err_proto(e, "not msgpack within limits");
        goto out;
    }
    const msgpack_object *o = &u.data;
    ret = TAM_EPROTO;
    if (o->type != MSGPACK_OBJECT_MAP) {
        s_err_proto(e, "not a map");
        goto out;
    }
    const msgpack_object *errors = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        bool is_code = s_key_is(k, "code"), is_msg = s_key_is(k, "message"),
             is_field = s_key_is(k, "field");
        if ((is_code || is_msg || is_field) && v->type != MSGPACK_OBJECT_STR) {
            s_err_proto(e, "a text field is not a string");
            goto out;
        }
        if (is_code) {
            char name[32];
            s_copy_peer(name, sizeof name, v->via.str.ptr, v->via.str.size);
            e->code = v->via.str.size < sizeof name ? tam_errcode(name) : TAM_EINTERNAL;
        } else if (is_msg) {
            s_copy_peer(e->message, sizeof e->message, v->via.str.ptr, v->via.str.size);
        } else if (is_field) {
            s_copy_peer(e->field, sizeof e->field, v->via.str.ptr, v->via.str.size);
        } else if (s_key_is(k, "errors")) {
            if (v->type != MSGPACK_OBJECT_ARRAY) {
                s_err_proto(e, "errors is not an array");
                goto out;
            }
            errors = v;
        }
    }
    if (e->code >= 0) /* absent, or "ok" in an error answer */
        e->code = TAM_EPROTO;
    for (uint32_t i = 0; errors && i < errors->via.array.size; i++) {
        const msgpack_object *it = &errors->via.array.ptr[i];
        char field[TAM_RPC_FIELD_MAX + 1] = "", msg[TAM_RPC_MESSAGE_MAX + 1] = "";
        int code = e->code; /* an entry without a code (an older peer): the answer's */
        if (it->type != MSGPACK_OBJECT_MAP) {
            s_err_proto(e, "an errors entry is not a map");
            goto out;
        }
        for (uint32_t j = 0; j < it->via.map.size; j++) {
            const msgpack_object *k = &it->via.map.ptr[j].key, *v = &it->via.map.ptr[j].val;
            if (s_key_is(k, "code") && v->type == MSGPACK_OBJECT_STR) {
                char name[32];
                s_copy_peer(name, sizeof name, v->via.str.ptr, v->via.str.size);
                code = v->via.str.size < sizeof name ? tam_errcode(name) : TAM_EINTERNAL;
                continue;
            }
            char *dst = s_key_is(k, "field") ? field : s_key_is(k, "message") ? msg : NULL;
            if (!dst)
                continue;
            if (v->type != MSGPACK_OBJECT_STR) {
                s_err_proto(e, "an errors entry has a non-string text");
                goto out;
            }
            s_copy_peer(dst, dst == field ? sizeof field : sizeof msg, v->via.str.ptr,
                        v->via.str.size);
        }
        if ((ret = s_error_push(e, code, field, msg)))
            goto out;
    }
    ret = 0;
out:
    msgpack_unpacked_destroy(&u);
    return ret;
}

/* ---- envelope --------------------------------------------------------------- */

static bool s_chars_ok(const char *s, size_t n, size_t max, const char *extra)
{
    if (!s || n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != 0 && strchr(extra, c));
        if (!ok)
            return false;
    }
    return true;
}

bool tam_rpc_id_valid(const char *s, size_t n)
{
    return s_chars_ok(s, n, TAM_RPC_ID_MAX, "._:-");
}

bool tam_rpc_type_valid(const char *s, size_t n)
{
    return s_chars_ok(s, n, TAM_RPC_TYPE_MAX, "._-");
}

/* A msgpack writer into a fixed buffer. */
typedef struct {
    uint8_t *p;
    size_t cap, len;
} s_fixbuf_t;

static int s_fixbuf_write(void *data, const char *buf, size_t len)
{
    s_fixbuf_t *fb = data;
    if (len > fb->cap - fb->len)
        return -1;
    memcpy(fb->p + fb->len, buf, len);
    fb->len += len;
    return 0;
}

int tam_rpc_envelope_encode(const tam_rpc_envelope_t *env, void *buf, size_t cap, size_t *len)
{
    if (!env || !buf || !len || env->status > TAM_RPC_ERROR)
        return TAM_EINVAL;
    /* An answer may carry an empty type or id: the echo of a request whose
     * type or id could not be read (each one independently of the other). */
    size_t tn = strlen(env->type), in = strlen(env->id);
    bool empty_ok = env->status >= 0;
    if (!(tam_rpc_type_valid(env->type, tn) || (empty_ok && tn == 0)) ||
        !(tam_rpc_id_valid(env->id, in) || (empty_ok && in == 0)))
        return TAM_EINVAL;
    s_fixbuf_t fb = {buf, cap, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &fb, s_fixbuf_write);
    bool answer = env->status >= 0;
    bool obo = !answer && env->obo[0];
    if (obo && !tam_rpc_id_valid(env->obo, strnlen(env->obo, sizeof env->obo)))
        return TAM_EINVAL;
    int bad = msgpack_pack_map(&pk, answer || obo ? 4 : 3);
    bad |= s_pack_str(&pk, "v") | msgpack_pack_unsigned_int(&pk, env->v ? env->v : TAM_RPC_VERSION);
    bad |= s_pack_str(&pk, "type") | s_pack_str(&pk, env->type);
    bad |= s_pack_str(&pk, "id") | s_pack_str(&pk, env->id);
    if (answer)
        bad |= s_pack_str(&pk, "status") |
               s_pack_str(&pk, env->status == TAM_RPC_OK ? "ok" : "error");
    if (obo)
        bad |= s_pack_str(&pk, "obo") | s_pack_str(&pk, env->obo);
    if (bad)
        return TAM_ETRUNC;
    *len = fb.len;
    return 0;
}

/* Records one envelope problem. */
static void s_env_err(tam_rpc_error_t *err, int *first, int code, const char *field,
                      const char *msg)
{
    if (!*first)
        *first = code;
    if (!err)
        return;
    tam_rpc_error_add_code(err, code, field, "%s", msg);
}

/* Validates one string value of the envelope. */
static void s_env_str(const msgpack_object *v, const char *field, size_t max, bool is_id,
                      bool answer, char *dst, tam_rpc_error_t *err, int *first)
{
    char msg[160];
    if (v->type != MSGPACK_OBJECT_STR) {
        snprintf(msg, sizeof msg, "%s must be a string", field);
        s_env_err(err, first, TAM_ETYPE, field, msg);
        return;
    }
    size_t n = v->via.str.size;
    if (n == 0 && answer) {
        dst[0] = 0; /* an answer to a request that could not be identified */
    } else if (n == 0) {
        snprintf(msg, sizeof msg, "%s is empty", field);
        s_env_err(err, first, TAM_EINVAL, field, msg);
    } else if (n > max) {
        snprintf(msg, sizeof msg, "%s is %zu bytes, at most %zu", field, n, max);
        s_env_err(err, first, TAM_ETOOBIG, field, msg);
    } else if (is_id ? !tam_rpc_id_valid(v->via.str.ptr, n) : !tam_rpc_type_valid(v->via.str.ptr, n)) {
        snprintf(msg, sizeof msg, "%s may hold only %s", field,
                 is_id ? "A-Z a-z 0-9 . _ : -" : "A-Z a-z 0-9 . _ -");
        s_env_err(err, first, TAM_EINVAL, field, msg);
    } else {
        memcpy(dst, v->via.str.ptr, n);
        dst[n] = 0;
    }
}

int tam_rpc_envelope_decode(const void *buf, size_t len, bool answer, tam_rpc_envelope_t *env,
                            tam_rpc_error_t *err)
{
    if (!env)
        return TAM_EINVAL;
    memset(env, 0, sizeof *env);
    env->status = -1;
    int first = 0;
    char msg[160];
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (!buf || len > TAM_RPC_ENVELOPE_MAX) {
        snprintf(msg, sizeof msg, "envelope is %zu bytes, at most %u", len, TAM_RPC_ENVELOPE_MAX);
        s_env_err(err, &first, TAM_ETOOBIG, "envelope", msg);
        goto out;
    }
    int rc = s_unpack(buf, len, &s_env_limits, &u);
    if (rc) {
        snprintf(msg, sizeof msg, "envelope is not one msgpack value within limits (%s)",
                 tam_strerror(rc));
        s_env_err(err, &first, rc == TAM_ENOMEM ? TAM_ENOMEM : rc, "envelope", msg);
        goto out;
    }
    const msgpack_object *o = &u.data;
    if (o->type != MSGPACK_OBJECT_MAP) {
        s_env_err(err, &first, TAM_ETYPE, "envelope", "envelope must be a map");
        goto out;
    }
    const msgpack_object *vv = NULL, *vt = NULL, *vi = NULL, *vs = NULL, *vo = NULL;
    bool dup = false, id_differs = false;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object **slot = s_key_is(k, "v") ? &vv : s_key_is(k, "type") ? &vt
                                      : s_key_is(k, "id")                     ? &vi
                                      : s_key_is(k, "status")                 ? &vs
                                      : s_key_is(k, "obo") && !answer         ? &vo
                                                                              : NULL;
        if (!slot)
            continue; /* unknown keys are ignored: a change that matters bumps v */
        if (*slot) {
            /* Refused, but the scan goes on so that a valid id is still
             * echoed. A repeated id is echoed only if both copies agree. */
            const msgpack_object *again = &o->via.map.ptr[i].val;
            if (slot == &vi && !(again->type == MSGPACK_OBJECT_STR &&
                                 (*slot)->type == MSGPACK_OBJECT_STR &&
                                 again->via.str.size == (*slot)->via.str.size &&
                                 !memcmp(again->via.str.ptr, (*slot)->via.str.ptr,
                                         again->via.str.size)))
                id_differs = true;
            if (!dup) {
                snprintf(msg, sizeof msg, "envelope has the key '%.*s' more than once",
                         (int)k->via.str.size, k->via.str.ptr);
                s_env_err(err, &first, TAM_EPROTO, "envelope", msg);
            }
            dup = true;
            continue;
        }
        *slot = &o->via.map.ptr[i].val;
    }
    /* id and type first, so that an error answer can name them. */
    if (!vi)
        s_env_err(err, &first, TAM_EMISSING, "envelope.id", "envelope.id is missing");
    else
        s_env_str(vi, "envelope.id", TAM_RPC_ID_MAX, true, answer, env->id, err, &first);
    if (id_differs)
        env->id[0] = 0; /* two different ids: which one to echo is unknowable */
    if (!vt)
        s_env_err(err, &first, TAM_EMISSING, "envelope.type", "envelope.type is missing");
    else
        s_env_str(vt, "envelope.type", TAM_RPC_TYPE_MAX, false, answer, env->type, err, &first);
    if (vo)
        s_env_str(vo, "envelope.obo", TAM_PRINCIPAL_ID_MAX, true, false, env->obo, err, &first);
    if (!vv) {
        s_env_err(err, &first, TAM_EMISSING, "envelope.v", "envelope.v is missing");
    } else if (vv->type != MSGPACK_OBJECT_POSITIVE_INTEGER || vv->via.u64 != TAM_RPC_VERSION) {
        snprintf(msg, sizeof msg, "protocol version not supported; this peer speaks v=%d",
                 TAM_RPC_VERSION);
        s_env_err(err, &first, TAM_EPROTO, "envelope.v", msg);
    } else {
        env->v = TAM_RPC_VERSION;
    }
    if (answer) {
        if (!vs)
            s_env_err(err, &first, TAM_EMISSING, "envelope.status", "envelope.status is missing");
        else if (s_key_is(vs, "ok"))
            env->status = TAM_RPC_OK;
        else if (s_key_is(vs, "error"))
            env->status = TAM_RPC_ERROR;
        else
            s_env_err(err, &first, TAM_EINVAL, "envelope.status",
                      "envelope.status must be \"ok\" or \"error\"");
    }
out:
    msgpack_unpacked_destroy(&u);
    return first;
}

/* ---- stored answers --------------------------------------------------------- */

/* Stored form: the 2-array [status, body], i.e. 0x92, "ok"|"error", body. */
static const uint8_t s_hdr_ok[] = {0x92, 0xa2, 'o', 'k'};
static const uint8_t s_hdr_err[] = {0x92, 0xa5, 'e', 'r', 'r', 'o', 'r'};
static const uint8_t s_nil = 0xc0;

int tam_rpc_answer_encode(int status, const void *body, size_t len, void **out, size_t *out_len)
{
    if (!out || !out_len || (status != TAM_RPC_OK && status != TAM_RPC_ERROR) || (!body && len))
        return TAM_EINVAL;
    *out = NULL;
    *out_len = 0;
    if (!body) {
        body = &s_nil;
        len = 1;
    }
    if (tam_mp_check(body, len, &s_own_limits, NULL))
        return TAM_EINVAL;
    const uint8_t *hdr = status == TAM_RPC_OK ? s_hdr_ok : s_hdr_err;
    size_t hlen = status == TAM_RPC_OK ? sizeof s_hdr_ok : sizeof s_hdr_err;
    if (len > SIZE_MAX - hlen)
        return TAM_ETOOBIG;
    uint8_t *b = malloc(hlen + len);
    if (!b)
        return TAM_ENOMEM;
    memcpy(b, hdr, hlen);
    memcpy(b + hlen, body, len);
    *out = b;
    *out_len = hlen + len;
    return 0;
}

int tam_rpc_answer_split(const void *bytes, size_t len, int *status, const void **body,
                         size_t *body_len)
{
    const uint8_t *b = bytes;
    if (!b || !status || !body || !body_len)
        return TAM_EINVAL;
    size_t hlen;
    if (len > sizeof s_hdr_ok && memcmp(b, s_hdr_ok, sizeof s_hdr_ok) == 0) {
        *status = TAM_RPC_OK;
        hlen = sizeof s_hdr_ok;
    } else if (len > sizeof s_hdr_err && memcmp(b, s_hdr_err, sizeof s_hdr_err) == 0) {
        *status = TAM_RPC_ERROR;
        hlen = sizeof s_hdr_err;
    } else {
        return TAM_EPROTO;
    }
    if (tam_mp_check(b + hlen, len - hlen, &s_own_limits, NULL))
        return TAM_EPROTO;
    *body = b + hlen;
    *body_len = len - hlen;
    return 0;
}

/* ---- ids -------------------------------------------------------------------- */

int tam_rpc_new_id(char out[TAM_RPC_ID_MAX + 1])
{
    uint8_t r[10];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return TAM_EIO;
        got += (size_t)n;
    }
    /* Dated (tam/dedup.h): a resend after the service pruned its answer is
     * refused as expired instead of applied again. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tam_dedup_id_make(out, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, r);
    return 0;
}

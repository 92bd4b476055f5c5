/* gw_json.c — a service's msgpack answer as compact JSON text, written
 * straight from the unpacked msgpack (no jansson tree: the list answers are
 * tens of KiB and the tree's allocations were most of the gateway's time,
 * bench_gateway). Same text as tam_msgpack_to_json(..., JSON_COMPACT) for
 * what the services send: integers above 2^63 - 1 as decimal strings, a
 * string that is not UTF-8 as U+FFFD, binary and extension values as null,
 * only string keys (at most 255 bytes, as there). Also reads the paging
 * fields of a list answer (total, next, the number of items) for the Link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "tam/codec.h"
#include "gateway.h"

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} s_buf_t;

static void s_grow(s_buf_t *b, const char *s, size_t n);

/* Appends n bytes; the common case (room left) inline. */
static inline void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->len + n < b->cap) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        return;
    }
    s_grow(b, s, n);
}

static void s_grow(s_buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Length of the valid UTF-8 sequence at s (of at most n bytes), 0 if not
 * valid (overlong forms, surrogates and code points above U+10FFFF are not). */
static size_t s_utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && c < 0xc2))
        return 0;
    unsigned cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static bool s_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = s_utf8_char((const unsigned char *)s + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* A JSON string of s (valid UTF-8), escaped as jansson escapes it. */
static void s_str(s_buf_t *b, const char *s, size_t n)
{
    s_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        s_put(b, s + run, i - run);
        run = i + 1;
        char e[8];
        switch (c) {
        case '"': s_put(b, "\\\"", 2); break;
        case '\\': s_put(b, "\\\\", 2); break;
        case '\b': s_put(b, "\\b", 2); break;
        case '\f': s_put(b, "\\f", 2); break;
        case '\n': s_put(b, "\\n", 2); break;
        case '\r': s_put(b, "\\r", 2); break;
        case '\t': s_put(b, "\\t", 2); break;
        default:
            snprintf(e, sizeof e, "\\u%04X", c);
            s_put(b, e, 6);
        }
    }
    s_put(b, s + run, n - run);
    s_put(b, "\"", 1);
}

static void s_value(s_buf_t *b, const msgpack_object *o)
{
    char num[40];
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN: s_put(b, o->via.boolean ? "true" : "false", o->via.boolean ? 4 : 5); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            s_put(b, num, (size_t)snprintf(num, sizeof num, "\"%llu\"", (unsigned long long)o->via.u64));
        else
            s_put(b, num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)o->via.u64));
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        s_put(b, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)o->via.i64));
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        int n = snprintf(num, sizeof num, "%.17g", o->via.f64);
        s_put(b, num, (size_t)n);
        if (!strpbrk(num, ".eEn")) /* as jansson: a real keeps a fraction */
            s_put(b, ".0", 2);
        break;
    }
    case MSGPACK_OBJECT_STR:
        if (s_utf8(o->via.str.ptr, o->via.str.size))
            s_str(b, o->via.str.ptr, o->via.str.size);
        else
            s_str(b, "\xef\xbf\xbd", 3);
        break;
    case MSGPACK_OBJECT_ARRAY:
        s_put(b, "[", 1);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                s_put(b, ",", 1);
            s_value(b, &o->via.array.ptr[i]);
        }
        s_put(b, "]", 1);
        break;
    case MSGPACK_OBJECT_MAP: {
        s_put(b, "{", 1);
        bool first = true;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR)
                continue;
            size_t n = k->via.str.size < 255 ? k->via.str.size : 255;
            const char *nul = n ? memchr(k->via.str.ptr, 0, n) : NULL;
            if (nul)
                n = (size_t)(nul - k->via.str.ptr);
            if (!s_utf8(k->via.str.ptr, n))
                continue; /* jansson refuses such a key */
            if (!first)
                s_put(b, ",", 1);
            first = false;
            s_str(b, k->via.str.ptr, n);
            s_put(b, ":", 1);
            s_value(b, &o->via.map.ptr[i].val);
        }
        s_put(b, "}", 1);
        break;
    }
    default: s_put(b, "null", 4); break; /* nil, binary, extension */
    }
}

char *gw_json_of(const void *buf, size_t len, gw_page_t *page)
{
    if (page)
        *page = (gw_page_t){0};
    if (tam_mp_check(buf, len, &TAM_MP_LIMITS_DEFAULT, NULL) != 0)
        return NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    /* JSON of msgpack is mostly a little longer: one allocation, usually. */
    s_buf_t b = {.cap = len + len / 2 + 64};
    b.p = malloc(b.cap);
    if (!b.p) {
        msgpack_unpacked_destroy(&u);
        return NULL;
    }
    if (msgpack_unpack_next(&u, buf, len, NULL) == MSGPACK_UNPACK_SUCCESS) {
        s_value(&b, &u.data);
        s_put(&b, "", 0);
        if (!b.oom)
            b.p[b.len] = 0;
        const msgpack_object *o = &u.data;
        for (uint32_t i = 0; page && o->type == MSGPACK_OBJECT_MAP && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
            if (k->type != MSGPACK_OBJECT_STR)
                continue;
#define S_KEY(name) (k->via.str.size == sizeof name - 1 && memcmp(k->via.str.ptr, name, sizeof name - 1) == 0)
            if (S_KEY("run") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                page->run = v->via.u64;
            else if (S_KEY("total") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                page->total = v->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)v->via.u64;
            else if (S_KEY("items") && v->type == MSGPACK_OBJECT_ARRAY)
                page->nitems = v->via.array.size;
            else if (S_KEY("next") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64)
                snprintf(page->next, sizeof page->next, "%llu", (unsigned long long)v->via.u64);
            else if (S_KEY("next") && v->type == MSGPACK_OBJECT_STR && v->via.str.size &&
                     v->via.str.size < sizeof page->next && s_utf8(v->via.str.ptr, v->via.str.size))
                snprintf(page->next, sizeof page->next, "%.*s", (int)v->via.str.size, v->via.str.ptr);
#undef S_KEY
        }
    } else {
        b.oom = true; /* not one msgpack value */
    }
    msgpack_unpacked_destroy(&u);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* answer.c — the answer a service handler fills for the loop (tam/service.h):
 * an ok body or an error, plus the feed events to publish after the commit. */
#include <stdlib.h>
#include <string.h>

#include "tam/error.h"
#include "tam/service.h"

/* Bodies are produced by the service itself: only their shape is checked. */
static const tam_mp_limits_t s_own_limits = {64, SIZE_MAX, SIZE_MAX};

int tam_answer_ok_take(tam_answer_t *a, void *body, size_t len)
{
    if (!a || (!body && len)) {
        free(body);
        return TAM_EINVAL;
    }
    if (!body) {
        if (!(body = malloc(1))) /* nil */
            return TAM_ENOMEM;
        *(uint8_t *)body = 0xc0;
        len = 1;
    }
    if (tam_mp_check(body, len, &s_own_limits, NULL)) {
        free(body);
        return TAM_EINVAL;
    }
    free(a->body);
    a->body = body;
    a->len = len;
    a->ok = true;
    return 0;
}

int tam_answer_ok(tam_answer_t *a, const void *body, size_t len)
{
    if (!a || (!body && len))
        return TAM_EINVAL;
    void *copy = NULL;
    if (body) {
        if (!(copy = malloc(len ? len : 1)))
            return TAM_ENOMEM;
        memcpy(copy, body, len);
    }
    return tam_answer_ok_take(a, copy, body ? len : 0);
}

bool tam_answer_is_error(const tam_answer_t *a)
{
    return a && a->error.code != 0;
}

int tam_answer_event(tam_answer_t *a, const char *topic, const void *body, size_t len)
{
    if (!a || !topic || !topic[0] || (!body && len))
        return TAM_EINVAL;
    if (a->n_events == a->cap_events_) {
        size_t cap = a->cap_events_ ? a->cap_events_ * 2 : 4;
        tam_event_t *v = realloc(a->events, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        a->events = v;
        a->cap_events_ = cap;
    }
    tam_event_t ev = {strdup(topic), malloc(len ? len : 1), len};
    if (!ev.topic || !ev.body) {
        free(ev.topic);
        free(ev.body);
        return TAM_ENOMEM;
    }
    if (len)
        memcpy(ev.body, body, len);
    a->events[a->n_events++] = ev;
    return 0;
}

void tam_answer_clear(tam_answer_t *a)
{
    if (!a)
        return;
    free(a->body);
    tam_rpc_error_clear(&a->error);
    for (size_t i = 0; i < a->n_events; i++) {
        free(a->events[i].topic);
        free(a->events[i].body);
    }
    free(a->events);
    memset(a, 0, sizeof *a);
}

static void s_each(const tam_codec_err_t *e, void *arg)
{
    tam_rpc_error_t *err = arg;
    if (err->n == 0)
        tam_rpc_error_set(err, e->code, e->path, "%s", e->message);
    else
        tam_rpc_error_add_code(err, e->code, e->path, "%s", e->message);
}

int tam_request_decode(const tam_schema_t *s, const void *body, size_t len, tam_arena_t *a,
                       void *out, tam_rpc_error_t *err)
{
    tam_codec_err_t ce;
    return tam_decode_all(s, body, len, a, out, &ce, s_each, err);
}

int tam_events_add(tam_events_t *e, const char *topic, const void *body, size_t len)
{
    size_t tl = topic ? strlen(topic) : 0;
    if (tl == 0 || tl > 255 || (!body && len))
        return TAM_EINVAL;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        tam_event_t *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        e->v = v;
        e->cap = cap;
    }
    char *t = malloc(tl + 1);
    void *b = malloc(len ? len : 1);
    if (!t || !b) {
        free(t);
        free(b);
        return TAM_ENOMEM;
    }
    memcpy(t, topic, tl + 1);
    if (len)
        memcpy(b, body, len);
    e->v[e->n++] = (tam_event_t){t, b, len};
    return 0;
}

void tam_events_truncate(tam_events_t *e, size_t n)
{
    while (e->n > n) {
        e->n--;
        free(e->v[e->n].topic);
        free(e->v[e->n].body);
    }
}

void tam_events_free(tam_events_t *e)
{
    tam_events_truncate(e, 0);
    free(e->v);
    *e = (tam_events_t){0};
}

int tam_answer_events(tam_answer_t *a, const tam_events_t *e)
{
    int rc = 0;
    for (size_t i = 0; i < e->n && rc == 0; i++)
        rc = tam_answer_event(a, e->v[i].topic, e->v[i].body, e->v[i].len);
    return rc;
}

/* ---- a handler's workspace ------------------------------------------------------ */

int tam_work_init(tam_work_t *w, size_t cap)
{
    memset(w, 0, sizeof *w);
    msgpack_sbuffer_init(&w->body);
    if (!(w->arena = tam_arena_new(0)))
        return TAM_ENOMEM;
    if (cap)
        tam_arena_set_cap(w->arena, cap);
    return 0;
}

void tam_work_begin(tam_work_t *w)
{
    tam_arena_reset(w->arena);
    msgpack_sbuffer_clear(&w->body);
    tam_events_truncate(&w->events, 0);
}

int tam_work_finish(tam_work_t *w, int rc, tam_answer_t *out)
{
    if (rc)
        return rc;
    if (out->error.code)
        return out->error.code;
    rc = tam_answer_ok(out, w->body.data, w->body.size);
    return rc ? rc : tam_answer_events(out, &w->events);
}

void tam_work_fini(tam_work_t *w)
{
    tam_arena_destroy(&w->arena);
    msgpack_sbuffer_destroy(&w->body);
    tam_events_free(&w->events);
    memset(w, 0, sizeof *w);
}

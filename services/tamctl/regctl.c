/* regctl.c — helpers of the registry's tamctl commands (see regctl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tam/cli.h"
#include "tam/error.h"
#include "tam/mpcheck.h"
#include "regctl.h"

#define S_FILE_MAX (64u << 20)
#define S_WINDOW 32

/* ---- files ------------------------------------------------------------------------ */

int regctl_read_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tamctl: %s: %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int ex = 0;
    while (buf) {
        if (n + 1 == cap) {
            if (cap >= S_FILE_MAX) {
                fprintf(stderr, "tamctl: %s: larger than %u MiB\n", path, S_FILE_MAX >> 20);
                ex = EX_DATAERR;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                fprintf(stderr, "tamctl: %s: read error\n", path);
                ex = EX_IOERR;
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!buf) {
        fprintf(stderr, "tamctl: %s: out of memory\n", path);
        return EX_OSERR;
    }
    if (ex) {
        free(buf);
        return ex;
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return 0;
}

int regctl_doc_load(regctl_doc_t *d, const char *path)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    msgpack_sbuffer_init(&d->sb);
    msgpack_unpacked_init(&d->u);
    char *text;
    size_t len;
    int ex = regctl_read_file(path, &text, &len);
    if (ex)
        return ex;
    tam_codec_err_t ce;
    int rc = tam_json_to_msgpack(text, len, &d->sb, &ce);
    free(text);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, ce.message);
        return EX_DATAERR;
    }
    tam_mp_limits_t lim = {.max_depth = 16, .max_items = 50000000, .max_str = 1u << 20};
    if (tam_mp_check(d->sb.data, d->sb.size, &lim, NULL) != 0 ||
        msgpack_unpack_next(&d->u, d->sb.data, d->sb.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "%s: too deeply nested or too large (at most %u levels, %u items, "
                        "strings of %u bytes)\n", path, (unsigned)lim.max_depth,
                (unsigned)lim.max_items, (unsigned)lim.max_str);
        return EX_DATAERR;
    }
    if (d->u.data.type == MSGPACK_OBJECT_ARRAY) {
        d->array = true;
        d->items = d->u.data.via.array.ptr;
        d->n = d->u.data.via.array.size;
    } else if (d->u.data.type == MSGPACK_OBJECT_MAP) {
        d->items = &d->u.data;
        d->n = 1;
    } else {
        fprintf(stderr, "%s: must hold an object or an array of objects\n", path);
        return EX_DATAERR;
    }
    return 0;
}

static void s_print_problem(const tam_codec_err_t *e, void *arg)
{
    fprintf(stderr, "%s:%s: %s\n", (const char *)arg, e->path, e->message);
}

int regctl_doc_decode(const regctl_doc_t *d, uint32_t i, const tam_schema_t *s, tam_arena_t *a,
                      void *out)
{
    char where[160];
    regctl_doc_where(d, i, where, sizeof where);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, d->items[i])) {
        msgpack_sbuffer_destroy(&sb);
        return EX_OSERR;
    }
    tam_codec_err_t ce;
    int rc = tam_decode_all(s, sb.data, sb.size, a, out, &ce, s_print_problem, where);
    msgpack_sbuffer_destroy(&sb);
    return rc == 0 ? 0 : rc == TAM_ENOMEM ? EX_OSERR : EX_DATAERR;
}

void regctl_doc_free(regctl_doc_t *d)
{
    msgpack_unpacked_destroy(&d->u);
    msgpack_sbuffer_destroy(&d->sb);
    d->items = NULL;
    d->n = 0;
}

void regctl_doc_where(const regctl_doc_t *d, uint32_t i, char *buf, size_t cap)
{
    if (d->array)
        snprintf(buf, cap, "%s[%u]", d->path, i);
    else
        snprintf(buf, cap, "%s", d->path);
}

/* ---- batches --------------------------------------------------------------------------- */

regctl_item_t *regctl_batch_add(regctl_batch_t *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        regctl_item_t *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return NULL;
        b->v = v;
        b->cap = cap;
    }
    regctl_item_t *it = &b->v[b->n++];
    memset(it, 0, sizeof *it);
    it->status = -1;
    return it;
}

void regctl_batch_free(regctl_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].body);
        free(b->v[i].answer);
        tam_rpc_error_clear(&b->v[i].error);
    }
    free(b->v);
    memset(b, 0, sizeof *b);
}

int regctl_batch_encode(regctl_batch_t *b, int msg_id, const void *obj, const char *where,
                        const char *id)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg_id];
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    if (tam_encode_sbuf(m->request, obj, &sb, &ce)) {
        fprintf(stderr, "%s:%s: %s\n", where, ce.path, ce.message);
        return EX_DATAERR;
    }
    regctl_item_t *it = regctl_batch_add(b);
    if (!it) {
        msgpack_sbuffer_destroy(&sb);
        fprintf(stderr, "tamctl: out of memory\n");
        return EX_OSERR;
    }
    it->len = sb.size; /* release empties sb */
    it->body = (uint8_t *)msgpack_sbuffer_release(&sb);
    snprintf(it->where, sizeof it->where, "%s", where);
    if (id)
        snprintf(it->id, sizeof it->id, "%s", id);
    return 0;
}

int regctl_batch_raw(regctl_batch_t *b, const regctl_doc_t *d, uint32_t i)
{
    return regctl_batch_raw_set(b, d, i, NULL, 0);
}

/* True if k is the string key. */
static bool s_is_key(const msgpack_object *k, const char *key)
{
    size_t n = strlen(key);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, key, n) == 0;
}

int regctl_batch_raw_set(regctl_batch_t *b, const regctl_doc_t *d, uint32_t i, const char *key,
                         int64_t value)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const msgpack_object *o = &d->items[i];
    int bad;
    if ((!key && !b->dry) || o->type != MSGPACK_OBJECT_MAP) {
        bad = msgpack_pack_object(&pk, *o);
    } else {
        uint32_t n = 0;
        for (uint32_t k = 0; k < o->via.map.size; k++)
            n += !(key && s_is_key(&o->via.map.ptr[k].key, key)) &&
                 !(b->dry && s_is_key(&o->via.map.ptr[k].key, "dry_run"));
        bad = msgpack_pack_map(&pk, n + (key != NULL) + b->dry);
        for (uint32_t k = 0; k < o->via.map.size && !bad; k++)
            if (!(key && s_is_key(&o->via.map.ptr[k].key, key)) &&
                !(b->dry && s_is_key(&o->via.map.ptr[k].key, "dry_run")))
                bad = msgpack_pack_object(&pk, o->via.map.ptr[k].key) ||
                      msgpack_pack_object(&pk, o->via.map.ptr[k].val);
        if (key)
            bad = bad || msgpack_pack_str_with_body(&pk, key, strlen(key)) ||
                  msgpack_pack_int64(&pk, value);
        if (b->dry)
            bad = bad || msgpack_pack_str_with_body(&pk, "dry_run", 7) || msgpack_pack_true(&pk);
    }
    regctl_item_t *it = bad ? NULL : regctl_batch_add(b);
    if (!it) {
        msgpack_sbuffer_destroy(&sb);
        fprintf(stderr, "tamctl: out of memory\n");
        return EX_OSERR;
    }
    it->len = sb.size; /* release empties sb */
    it->body = (uint8_t *)msgpack_sbuffer_release(&sb);
    regctl_doc_where(d, i, it->where, sizeof it->where);
    return 0;
}

void regctl_stable_id(char out[TAM_RPC_ID_MAX + 1], const char *prefix, const void *body,
                      size_t len, size_t index)
{
    uint64_t h = 14695981039346656037ULL;
    const uint8_t *p = body;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    snprintf(out, TAM_RPC_ID_MAX + 1, "%.16s-%016llx-%zu", prefix, (unsigned long long)h, index);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void regctl_progress(const tamctl_t *t, const char *label, size_t done, size_t total)
{
    static int64_t last;
    if (t->quiet || total < 2 || !isatty(STDERR_FILENO))
        return;
    int64_t now = s_now_ms();
    if (done < total && now - last < 100)
        return;
    last = now;
    fprintf(stderr, "\r%s: %zu/%zu", label, done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* Hands every in-flight request (again) to the socket. */
static int s_send(tam_rpc_client_t *c, const char *type, regctl_batch_t *b, const size_t *fly,
                  size_t nfly)
{
    for (size_t k = 0; k < nfly; k++) {
        regctl_item_t *it = &b->v[fly[k]];
        int rc = tam_rpc_client_send(c, it->id, type, it->body, it->len);
        if (rc)
            return rc;
    }
    return 0;
}

int regctl_batch_send(tamctl_t *t, int msg_id, regctl_batch_t *b, const char *label)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg_id];
    tam_rpc_client_t *c = tamctl_client(t, "registry");
    if (!c)
        return EX_UNAVAILABLE;
    for (size_t i = 0; i < b->n; i++)
        if (!b->v[i].id[0] && tam_rpc_new_id(b->v[i].id)) {
            fprintf(stderr, "tamctl: no randomness for request ids\n");
            return EX_OSERR;
        }
    size_t fly[S_WINDOW], nfly = 0, next = 0, done = 0;
    int tries = 0, ex = 0;
    int timeout = (int)t->cfg.tamctl.timeout;
    int retries = (int)t->cfg.common.request_retries;
    while (done < b->n) {
        while (nfly < S_WINDOW && next < b->n) {
            fly[nfly] = next++;
            int rc = s_send(c, m->type, b, &fly[nfly], 1);
            if (rc) {
                ex = rc == TAM_EUNAVAIL ? EX_UNAVAILABLE : tam_cli_exit_code(rc);
                goto unreachable;
            }
            nfly++;
        }
        tam_rpc_answer_t ans = {0};
        int rc = tam_rpc_client_recv(c, timeout, &ans);
        if (rc == TAM_ETIMEOUT) {
            if (tries++ >= retries) {
                ex = EX_TEMPFAIL;
                goto unreachable;
            }
            /* Lazy Pirate: a fresh socket, the same ids; answers already sent
             * for them are replayed from the registry's request log. */
            if ((rc = tam_rpc_client_reconnect(c)) || (rc = s_send(c, m->type, b, fly, nfly))) {
                ex = rc == TAM_EUNAVAIL ? EX_UNAVAILABLE : tam_cli_exit_code(rc);
                goto unreachable;
            }
            continue;
        }
        if (rc) {
            fprintf(stderr, "tamctl: registry: %s\n", tam_strerror(rc));
            return tam_cli_exit_code(rc);
        }
        size_t k = 0;
        while (k < nfly && strcmp(b->v[fly[k]].id, ans.id) != 0)
            k++;
        if (k == nfly) { /* an answer to an earlier send of a request already answered */
            tam_rpc_answer_clear(&ans);
            continue;
        }
        regctl_item_t *it = &b->v[fly[k]];
        it->done = true;
        it->status = ans.status;
        if (ans.status == TAM_RPC_OK) {
            it->answer = ans.body;
            it->answer_len = ans.len;
            ans.body = NULL;
        } else {
            it->error = ans.error; /* moved: ans no longer owns the list */
            tam_rpc_error_init(&ans.error);
            tamctl_print_error(it->where, &it->error);
        }
        tam_rpc_answer_clear(&ans);
        fly[k] = fly[--nfly];
        done++;
        tries = 0;
        regctl_progress(t, label, done, b->n);
    }
    return 0;
unreachable:
    fprintf(stderr, "%stamctl: registry not reachable at %s (is it running? scripts/demo --keep starts it)%s\n",
            done > 0 && !t->quiet && isatty(STDERR_FILENO) ? "\n" : "",
            tamctl_endpoint(t, "registry"),
            done > 0 ? "; the requests not answered can be sent again safely" : "");
    return ex;
}

/* ---- listings ------------------------------------------------------------------------- */

int regctl_list_all(tamctl_t *t, int msg_id, void *req, void (*set_after)(void *req, char *after),
                    tam_arena_t *a, tam_vec_t *items, size_t item_size, uint8_t **raw,
                    size_t *raw_len)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg_id];
    const tam_field_t *fitems = &m->answer->fields[0], *fnext = &m->answer->fields[1];
    const tam_schema_t *sub = fitems->sub;
    items->n = 0;
    items->v = NULL;
    if (raw) {
        *raw = NULL;
        *raw_len = 0;
    }
    char *after = NULL;
    for (;;) {
        set_after(req, after);
        void *page = tam_arena_alloc(a, m->answer->size);
        if (!page)
            return EX_OSERR;
        int ex = tamctl_call(t, "registry", msg_id, req, a, page, NULL);
        if (ex)
            return ex;
        const tam_vec_t *pv = (const tam_vec_t *)((const char *)page + fitems->offset);
        if (pv->n > 0) {
            void *all = tam_arena_alloc(a, (size_t)(items->n + pv->n) * item_size);
            if (!all)
                return EX_OSERR;
            if (items->n)
                memcpy(all, items->v, (size_t)items->n * item_size);
            memcpy((char *)all + (size_t)items->n * item_size, pv->v, (size_t)pv->n * item_size);
            items->v = all;
            items->n += pv->n;
        }
        after = *(char **)((char *)page + fnext->offset);
        if (!after || pv->n == 0)
            break;
    }
    if (raw) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        int rc = msgpack_pack_array(&pk, items->n);
        tam_codec_err_t ce;
        for (uint32_t i = 0; i < items->n && rc == 0; i++)
            rc = tam_encode(sub, (const char *)items->v + (size_t)i * item_size, &pk, &ce);
        if (rc) {
            msgpack_sbuffer_destroy(&sb);
            return EX_SOFTWARE;
        }
        *raw_len = sb.size;
        *raw = (uint8_t *)msgpack_sbuffer_release(&sb);
    }
    return 0;
}

/* ---- output ---------------------------------------------------------------------------- */

static tam_catalog_t *s_cat;
static bool s_cat_tried;

static void s_cat_free(void)
{
    tam_catalog_destroy(&s_cat);
}

const tam_catalog_t *regctl_catalog(tamctl_t *t)
{
    if (!s_cat_tried) {
        char err[512];
        s_cat_tried = true;
        if (tam_catalog_load(&s_cat, t->cfg.common.catalog_dir, err, sizeof err) != 0)
            fprintf(stderr, "tamctl: catalogue not loaded (%s): showing codes only\n", err);
        else
            atexit(s_cat_free);
    }
    return s_cat;
}

void regctl_print_json(const void *body, size_t len)
{
    tamctl_print_json(body, len);
}

const char *regctl_date(uint32_t d, char buf[11])
{
    if (!d)
        snprintf(buf, 11, "-");
    else
        tam_date_format(d, buf);
    return buf;
}

const char *regctl_join(const tam_strs_t *l, const char *sep, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? sep : "", l->v[i]);
        if (w < 0 || (size_t)w >= cap - used) {
            if (cap > 4)
                snprintf(buf + cap - 4, 4, "...");
            break;
        }
        used += (size_t)w;
    }
    return buf;
}

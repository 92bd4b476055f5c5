/* ingest_query.c — the read side of tam-ingest: needs and answers, replies,
 * one reply with its history, and the feed snapshot. Each runs in one short
 * read transaction and bounds its work (TAM_INGEST_SCAN_MAX records visited,
 * TAM_INGEST_PAGE_BYTES of answer) so that a query never stalls the service;
 * the answer's next cursor continues where it stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "tam/damaged.h"
#include "tam/error.h"
#include "tam/log.h"

#define S_LIMIT_DEFAULT 100
#define S_HISTORY_MAX 10000

static bool s_set(const char *s)
{
    return s && s[0];
}

static size_t s_limit(int64_t limit)
{
    return limit > 0 ? (size_t)limit : S_LIMIT_DEFAULT;
}

/* ---- filter checks -------------------------------------------------------- */

typedef struct {
    tam_rpc_error_t *err;
    int nomem;
    size_t count;
} s_ctx_t;

#define S_ADD(c, field, ...)                                               \
    do {                                                                   \
        (c)->count++;                                                      \
        if (tam_rpc_error_add((c)->err, (field), __VA_ARGS__) == TAM_ENOMEM) \
            (c)->nomem = 1;                                                \
    } while (0)

static void s_check_codes(s_ctx_t *c, const tam_catalog_t *cat, const char *country,
                          const char *group, const char *category, const char *respondent)
{
    if (s_set(country) && !tam_catalog_country(cat, country))
        S_ADD(c, "country", "'%s' is not the ISO 3166-1 alpha-3 code of a UN Member State",
              country);
    if (s_set(group) && !tam_catalog_group(cat, group))
        S_ADD(c, "group", "unknown regional group '%s' (AFRICAN, APG, EEG, GRULAC or WEOG)", group);
    if (s_set(category) && !tam_catalog_category(cat, category[0]))
        S_ADD(c, "category", "unknown category '%s' (A, B, C or D)", category);
    if (s_set(respondent) && !tam_catalog_country(cat, respondent) &&
        !tam_ingest_org_id_valid(respondent))
        S_ADD(c, "respondent", "not a respondent id (an ISO alpha-3 code or an organisation id)");
}

static int s_check_end(s_ctx_t *c)
{
    if (c->nomem)
        return TAM_ENOMEM;
    if (c->count) {
        c->err->code = TAM_EINVAL;
        return TAM_EINVAL;
    }
    return 0;
}

int tam_ingest_needs_check(const tam_catalog_t *cat, const tam_needs_query_t *q,
                           tam_rpc_error_t *err)
{
    if (!cat || !q || !err)
        return TAM_EINVAL;
    s_ctx_t c = {err, 0, 0};
    s_check_codes(&c, cat, q->country, q->group, q->category, q->respondent);
    if (s_set(q->standard)) {
        const tam_standard_t *st = tam_catalog_standard(cat, q->standard);
        if (!st)
            S_ADD(&c, "standard", "unknown standard '%s'", q->standard);
        else if (s_set(q->category) && st->category != q->category[0])
            S_ADD(&c, "standard", "standard %s belongs to category %c, not %s", q->standard,
                  st->category, q->category);
    }
    bool need = !s_set(q->state) || strcmp(q->state, "need") == 0;
    if (!need && strcmp(q->state, "no_need") != 0 && strcmp(q->state, "unanswered") != 0)
        S_ADD(&c, "state", "state is need, no_need or unanswered");
    if (s_set(q->status)) {
        if (strcmp(q->status, "open") != 0 && strcmp(q->status, "withdrawn") != 0 &&
            strcmp(q->status, "any") != 0)
            S_ADD(&c, "status", "status is open, withdrawn or any");
        else if (!need)
            S_ADD(&c, "status", "status filters needs (state need) only");
    }
    return s_check_end(&c);
}

int tam_ingest_replies_check(const tam_catalog_t *cat, const tam_replies_query_t *q,
                             tam_rpc_error_t *err)
{
    if (!cat || !q || !err)
        return TAM_EINVAL;
    s_ctx_t c = {err, 0, 0};
    s_check_codes(&c, cat, q->country, q->group, q->category, q->respondent);
    if (s_set(q->status) && strcmp(q->status, "current") != 0 &&
        strcmp(q->status, "superseded") != 0 && strcmp(q->status, "any") != 0)
        S_ADD(&c, "status", "status is current, superseded or any");
    return s_check_end(&c);
}

/* ---- paging --------------------------------------------------------------- */

/* What a listing collected: encoded records, their count, where it stopped. */
typedef struct {
    tam_txn_t *txn;
    const tam_catalog_t *cat;
    tam_arena_t *a;
    msgpack_sbuffer items;
    msgpack_packer pk; /* into items */
    size_t n, limit, scanned;
    uint64_t last;  /* id of the last record considered */
    bool more;      /* stopped before the end */
    int rc;
    tam_damaged_t damaged; /* stored records left out: they do not decode */
} s_page_t;

static int s_page_init(s_page_t *p, tam_txn_t *txn, const tam_catalog_t *cat, int64_t limit)
{
    memset(p, 0, sizeof *p);
    p->txn = txn;
    p->cat = cat;
    p->limit = s_limit(limit);
    msgpack_sbuffer_init(&p->items);
    msgpack_packer_init(&p->pk, &p->items, msgpack_sbuffer_write);
    return (p->a = tam_arena_new(0)) ? 0 : TAM_ENOMEM;
}

static void s_page_free(s_page_t *p)
{
    msgpack_sbuffer_destroy(&p->items);
    tam_arena_destroy(&p->a);
}

/* True (and more set) when the page must stop before the next record. */
static bool s_page_full(s_page_t *p)
{
    if (p->n >= p->limit || p->items.size >= TAM_INGEST_PAGE_BYTES ||
        p->scanned >= TAM_INGEST_SCAN_MAX) {
        p->more = true;
        return true;
    }
    return false;
}

/* Writes {list_key: [items], other_key: [], "next": cursor} into out. */
static int s_page_emit(s_page_t *p, const char *list_key, const char *other_key,
                       msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int n = (other_key ? 3 : 2) + (tam_damaged_listed(&p->damaged) ? 1 : 0);
    if (msgpack_pack_map(&pk, (size_t)n) ||
        msgpack_pack_str_with_body(&pk, list_key, strlen(list_key)) ||
        msgpack_pack_array(&pk, p->n) ||
        (p->items.size && msgpack_sbuffer_write(out, p->items.data, p->items.size)) ||
        (other_key && (msgpack_pack_str_with_body(&pk, other_key, strlen(other_key)) ||
                       msgpack_pack_array(&pk, 0))) ||
        msgpack_pack_str_with_body(&pk, "next", 4) ||
        msgpack_pack_uint64(&pk, p->more ? p->last : 0) || tam_damaged_pack(&p->damaged, &pk))
        return TAM_ENOMEM;
    return 0;
}

/* True if country (may be NULL) is in group (unset: any). */
static bool s_in_group(const tam_catalog_t *cat, const char *country, const char *group)
{
    if (!s_set(group))
        return true;
    const tam_country_t *c = country ? tam_catalog_country(cat, country) : NULL;
    return c && strcmp(c->group, group) == 0;
}

/* ---- ingest.needs, state need ------------------------------------------- */

typedef struct {
    s_page_t page;
    const tam_needs_query_t *q;
    int status; /* -1: any */
} s_needs_t;

static int s_needs_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_needs_t *s = arg;
    s_page_t *p = &s->page;
    if (s_page_full(p))
        return 1;
    if (key->len != 8)
        return TAM_ESTORE;
    p->scanned++;
    p->last = tam_key_get_u64(key->data);
    tam_need_t n;
    tam_codec_err_t cerr;
    memset(&n, 0, sizeof n);
    tam_arena_reset(p->a);
    if (tam_decode(&tam_schema_need, val->data, val->len, p->a, &n, &cerr)) {
        tam_damaged_add(&p->damaged, "needs", cerr.path, "%llu", (unsigned long long)p->last);
        return 0;
    }
    const tam_needs_query_t *q = s->q;
    if ((s->status >= 0 && (int)n.status != s->status) ||
        (s_set(q->country) && strcmp(n.country, q->country) != 0) ||
        (s_set(q->category) && strcmp(n.category, q->category) != 0) ||
        (s_set(q->standard) && strcmp(n.standard, q->standard) != 0) ||
        (s_set(q->respondent) && strcmp(n.respondent, q->respondent) != 0) ||
        !s_in_group(p->cat, n.country, q->group))
        return 0;
    if (msgpack_sbuffer_write(&p->items, val->data, val->len))
        return TAM_ENOMEM;
    p->n++;
    return 0;
}

/* ---- ingest.needs, state no_need / unanswered ---------------------------- */

typedef struct {
    s_page_t page;
    const tam_needs_query_t *q;
    int state;
    uint64_t after;
} s_answers_t;

/* A msgpack str as a NUL-terminated copy in a; NULL if o is not a str. */
static char *s_str(tam_arena_t *a, const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_STR ? tam_arena_strndup(a, o->via.str.ptr, o->via.str.size)
                                         : NULL;
}

/* Expands one stored answer set (layout in ingest.h) into answer_rec. */
static int s_answers_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_answers_t *s = arg;
    s_page_t *p = &s->page;
    const tam_needs_query_t *q = s->q;
    if (key->len != 8)
        return TAM_ESTORE;
    if (p->scanned >= TAM_INGEST_SCAN_MAX) {
        p->more = true;
        return 1;
    }
    p->scanned++;
    uint64_t reply = tam_key_get_u64(key->data);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = TAM_ESTORE;
    tam_arena_reset(p->a);
    if (tam_mp_check(val->data, val->len, &TAM_MP_LIMITS_DEFAULT, NULL) ||
        msgpack_unpack_next(&up, val->data, val->len, &off) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size != 5)
        goto done;
    const msgpack_object *f = up.data.via.array.ptr;
    tam_answer_rec_t ar = {.reply_id = reply};
    if (!(ar.respondent = s_str(p->a, &f[0])) || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[1].via.u64 >= TAM_E_respondent_type__COUNT || !(ar.category = s_str(p->a, &f[3])) ||
        f[4].type != MSGPACK_OBJECT_ARRAY || f[4].via.array.size % 2)
        goto done;
    ar.respondent_type = (tam_respondent_type_t)f[1].via.u64;
    ar.country = s_str(p->a, &f[2]); /* nil for organisations */
    const msgpack_object *v = f[4].via.array.ptr;
    uint32_t n = f[4].via.array.size / 2;
    rc = 0;
    for (uint32_t i = 0; i < n && i < 256; i++) {
        ar.id = reply * 256 + i;
        if (ar.id <= s->after)
            continue;
        if (s_page_full(p)) {
            rc = 1;
            goto done;
        }
        p->last = ar.id;
        if (v[2 * i].type != MSGPACK_OBJECT_STR ||
            v[2 * i + 1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            v[2 * i + 1].via.u64 >= TAM_E_answer_state__COUNT) {
            rc = TAM_ESTORE;
            goto done;
        }
        ar.state = (tam_answer_state_t)v[2 * i + 1].via.u64;
        const msgpack_object_str *std = &v[2 * i].via.str;
        if ((int)ar.state != s->state ||
            (s_set(q->standard) &&
             (std->size != strlen(q->standard) || memcmp(std->ptr, q->standard, std->size) != 0)) ||
            (s_set(q->country) && (!ar.country || strcmp(ar.country, q->country) != 0)) ||
            (s_set(q->category) && strcmp(ar.category, q->category) != 0) ||
            (s_set(q->respondent) && strcmp(ar.respondent, q->respondent) != 0) ||
            !s_in_group(p->cat, ar.country, q->group))
            continue;
        tam_codec_err_t cerr;
        if (!(ar.standard = tam_arena_strndup(p->a, std->ptr, std->size))) {
            rc = TAM_ENOMEM;
            goto done;
        }
        rc = tam_encode(&tam_schema_answer_rec, &ar, &p->pk, &cerr);
        if (rc) {
            rc = rc == TAM_ENOMEM ? rc : TAM_EINTERNAL;
            goto done;
        }
        p->n++;
    }
done:
    msgpack_unpacked_destroy(&up);
    if (rc == TAM_ESTORE) { /* left out (what it gave before the fault stays) */
        tam_damaged_add(&p->damaged, "answers", NULL, "%llu", (unsigned long long)reply);
        rc = 0;
    }
    return rc;
}

int tam_ingest_needs_list(tam_txn_t *txn, const tam_catalog_t *cat, const tam_needs_query_t *q,
                          msgpack_sbuffer *out)
{
    if (!txn || !cat || !q || !out)
        return TAM_EINVAL;
    uint8_t start[8];
    int rc;
    if (!s_set(q->state) || strcmp(q->state, "need") == 0) {
        s_needs_t s = {.q = q, .status = TAM_E_need_status_open};
        if (s_set(q->status))
            s.status = strcmp(q->status, "open") == 0        ? TAM_E_need_status_open
                       : strcmp(q->status, "withdrawn") == 0 ? TAM_E_need_status_withdrawn
                                                             : -1;
        if ((rc = s_page_init(&s.page, txn, cat, q->limit)))
            goto need_done;
        if (q->after == UINT64_MAX)
            goto need_emit;
        tam_key_u64(start, q->after + 1);
        if ((rc = tam_txn_scan(txn, "needs", NULL, 0, start, 8, s_needs_fn, &s)))
            goto need_done;
    need_emit:
        rc = s_page_emit(&s.page, "items", "answers", out);
    need_done:
        s_page_free(&s.page);
        return rc;
    }
    s_answers_t s = {.q = q, .after = q->after};
    s.state = strcmp(q->state, "no_need") == 0 ? TAM_E_answer_state_no_need
                                               : TAM_E_answer_state_unanswered;
    if ((rc = s_page_init(&s.page, txn, cat, q->limit)))
        goto ans_done;
    tam_key_u64(start, q->after / 256);
    if ((rc = tam_txn_scan(txn, "answers", NULL, 0, start, 8, s_answers_fn, &s)))
        goto ans_done;
    /* The answers go under "answers", with an empty "items". */
    {
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 3 + (tam_damaged_listed(&s.page.damaged) ? 1 : 0)) ||
            msgpack_pack_str_with_body(&pk, "items", 5) ||
            msgpack_pack_array(&pk, 0) || msgpack_pack_str_with_body(&pk, "answers", 7) ||
            msgpack_pack_array(&pk, s.page.n) ||
            (s.page.items.size &&
             msgpack_sbuffer_write(out, s.page.items.data, s.page.items.size)) ||
            msgpack_pack_str_with_body(&pk, "next", 4) ||
            msgpack_pack_uint64(&pk, s.page.more ? s.page.last : 0) ||
            tam_damaged_pack(&s.page.damaged, &pk))
            rc = TAM_ENOMEM;
    }
ans_done:
    s_page_free(&s.page);
    return rc;
}

/* ---- ingest.replies ------------------------------------------------------- */

typedef struct {
    s_page_t page;
    const tam_replies_query_t *q;
    int status; /* -1: any */
} s_replies_t;

static int s_replies_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_replies_t *s = arg;
    s_page_t *p = &s->page;
    if (s_page_full(p))
        return 1;
    if (key->len != 8)
        return TAM_ESTORE;
    p->scanned++;
    p->last = tam_key_get_u64(key->data);
    tam_reply_info_t r;
    tam_codec_err_t cerr;
    memset(&r, 0, sizeof r);
    tam_arena_reset(p->a);
    if (tam_decode(&tam_schema_reply_info, val->data, val->len, p->a, &r, &cerr)) {
        tam_damaged_add(&p->damaged, "replies", cerr.path, "%llu", (unsigned long long)p->last);
        return 0;
    }
    const tam_replies_query_t *q = s->q;
    if ((s->status >= 0 && (int)r.status != s->status) ||
        (s_set(q->respondent) && strcmp(r.respondent, q->respondent) != 0) ||
        (s_set(q->category) && strcmp(r.category, q->category) != 0))
        return 0;
    if (s_set(q->country) || s_set(q->group)) {
        bool hit = false;
        for (uint32_t i = 0; i < r.countries.n && !hit; i++)
            hit = (!s_set(q->country) || strcmp(r.countries.v[i], q->country) == 0) &&
                  s_in_group(p->cat, r.countries.v[i], q->group);
        if (!hit)
            return 0;
    }
    if (msgpack_sbuffer_write(&p->items, val->data, val->len))
        return TAM_ENOMEM;
    p->n++;
    return 0;
}

int tam_ingest_replies_list(tam_txn_t *txn, const tam_catalog_t *cat,
                            const tam_replies_query_t *q, msgpack_sbuffer *out)
{
    if (!txn || !cat || !q || !out)
        return TAM_EINVAL;
    s_replies_t s = {.q = q, .status = TAM_E_reply_status_current};
    if (s_set(q->status))
        s.status = strcmp(q->status, "current") == 0      ? TAM_E_reply_status_current
                   : strcmp(q->status, "superseded") == 0 ? TAM_E_reply_status_superseded
                                                          : -1;
    uint8_t start[8];
    int rc = s_page_init(&s.page, txn, cat, q->limit);
    if (rc)
        goto done;
    if (q->after != UINT64_MAX) {
        tam_key_u64(start, q->after + 1);
        if ((rc = tam_txn_scan(txn, "replies", NULL, 0, start, 8, s_replies_fn, &s)))
            goto done;
    }
    rc = s_page_emit(&s.page, "items", NULL, out);
done:
    s_page_free(&s.page);
    return rc;
}

/* ---- ingest.reply_get ----------------------------------------------------- */

typedef struct {
    uint64_t ids[S_HISTORY_MAX];
    size_t n;
} s_hist_t;

static int s_hist_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)key;
    s_hist_t *h = arg;
    if (val->len != 8)
        return TAM_ESTORE;
    h->ids[h->n++] = tam_key_get_u64(val->data);
    return h->n == S_HISTORY_MAX ? 1 : 0;
}

/* An id or version of reply_full: an unsigned integer, as everywhere (PROTOCOL.md). */
static int s_pack_id(msgpack_packer *pk, uint64_t id)
{
    return msgpack_pack_uint64(pk, id);
}

int tam_ingest_reply_get(tam_txn_t *txn, uint64_t id, msgpack_sbuffer *out)
{
    if (!txn || !out)
        return TAM_EINVAL;
    uint8_t key[8];
    tam_val_t info_v, body_v = {NULL, 0};
    tam_codec_err_t cerr;
    tam_reply_info_t info;
    s_hist_t *h = NULL;
    tam_arena_t *a = tam_arena_new(0);
    int rc = TAM_ENOMEM;
    if (!a)
        goto fail;
    tam_key_u64(key, id);
    if ((rc = tam_txn_get(txn, "replies", key, 8, &info_v)))
        goto fail;
    if ((rc = tam_ingest_body_get(txn, id, a, &body_v.data, &body_v.len))) {
        rc = rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
        goto fail;
    }
    memset(&info, 0, sizeof info);
    if (tam_decode(&tam_schema_reply_info, info_v.data, info_v.len, a, &info, &cerr)) {
        rc = TAM_ESTORE;
        goto fail;
    }
    /* The chain of this respondent and category, newest first. */
    size_t rlen = strlen(info.respondent);
    uint8_t prefix[64 + 3];
    memcpy(prefix, info.respondent, rlen);
    prefix[rlen] = 0;
    prefix[rlen + 1] = (uint8_t)info.category[0];
    prefix[rlen + 2] = 0;
    rc = TAM_ENOMEM;
    if (!(h = calloc(1, sizeof *h)))
        goto fail;
    if ((rc = tam_txn_scan_rev(txn, "chains", prefix, rlen + 3, s_hist_fn, h)))
        goto fail;

    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    /* The needs it declared, with the version of each it declared. */
    uint64_t *ids;
    uint32_t *versions, nn;
    if ((rc = tam_ingest_reply_needs(txn, id, a, &ids, &versions, &nn))) {
        rc = rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
        goto fail;
    }
    rc = TAM_ENOMEM;
    if (msgpack_pack_map(&pk, 5) || msgpack_pack_str_with_body(&pk, "info", 4) ||
        msgpack_sbuffer_write(out, info_v.data, info_v.len) ||
        msgpack_pack_str_with_body(&pk, "reply", 5) ||
        msgpack_sbuffer_write(out, body_v.data, body_v.len) ||
        msgpack_pack_str_with_body(&pk, "need_ids", 8) || msgpack_pack_array(&pk, nn))
        goto fail;
    for (uint32_t i = 0; i < nn; i++)
        if (s_pack_id(&pk, ids[i]))
            goto fail;
    if (msgpack_pack_str_with_body(&pk, "need_versions", 13) || msgpack_pack_array(&pk, nn))
        goto fail;
    for (uint32_t i = 0; i < nn; i++)
        if (s_pack_id(&pk, versions[i]))
            goto fail;
    if (msgpack_pack_str_with_body(&pk, "history", 7) || msgpack_pack_array(&pk, h->n))
        goto fail;
    for (size_t i = h->n; i > 0; i--)
        if (s_pack_id(&pk, h->ids[i - 1]))
            goto fail;
    rc = 0;
fail:
    free(h);
    tam_arena_destroy(&a);
    return rc;
}

/* ---- snapshot ------------------------------------------------------------- */

typedef struct {
    tam_txn_t *txn;
    tam_feed_emit_fn emit;
    void *emit_ctx;
} s_snap_t;

static int s_snap_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    (void)val;
    s_snap_t *s = arg;
    if (key->len != 14)
        return TAM_ESTORE;
    const uint8_t *k = key->data;
    char topic[16];
    memcpy(topic, "need/", 5);
    memcpy(topic + 5, k, 5);
    topic[10] = 0;
    tam_val_t v;
    int rc = tam_txn_get(s->txn, "needs", k + 6, 8, &v);
    if (rc)
        return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
    return s->emit(s->emit_ctx, topic, 10, v.data, v.len);
}

int tam_ingest_snapshot(tam_txn_t *txn, const char *prefix, tam_feed_emit_fn emit,
                        void *emit_ctx)
{
    if (!txn || !prefix || !emit)
        return TAM_EINVAL;
    /* Topics are "need/ISO/C": the index key is "ISO/C/" + id. */
    size_t plen = strlen(prefix);
    const char *ip = "";
    if (plen <= 5) {
        if (strncmp(prefix, "need/", plen) != 0)
            return 0;
    } else {
        if (strncmp(prefix, "need/", 5) != 0 || plen > 10)
            return 0;
        ip = prefix + 5;
    }
    s_snap_t s = {txn, emit, emit_ctx};
    return tam_txn_scan(txn, "open", ip, strlen(ip), NULL, 0, s_snap_fn, &s);
}

int tam_ingest_counts(tam_txn_t *txn, size_t *replies, size_t *needs, size_t *open)
{
    int rc;
    if ((rc = tam_txn_count(txn, "replies", replies)) || (rc = tam_txn_count(txn, "needs", needs)) ||
        (rc = tam_txn_count(txn, "open", open)))
        return rc;
    return 0;
}

/* ingest_store.c — how a validated reply is written: ids, the reply and its
 * summary, its needs and answers, and the revision of the respondent's
 * earlier reply to the same category. The layout is described in ingest.h.
 * Everything runs inside the caller's write transaction, which the service
 * commits for a whole group of requests before any of them is acknowledged. */
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "tam/error.h"
#include "tam/log.h"

/* "requests" is the service loop's (TAM_SERVICE_REQUESTS_DB). */
const char *const tam_ingest_dbs[] = {"replies", "bodies", "needs", "open", "chains",
                                      "answers", "seq",    "requests", NULL};

#define S_IDS_KEY "ids"
#define S_REVISION_MAX 1000000
#define S_CHAIN_MAX (64 + 1 + 1 + 1 + 4)

/* ---- events --------------------------------------------------------------- */

int tam_ingest_topic(const char *country, const char *category, char out[16])
{
    if (!country || !category || strlen(country) != 3 || strlen(category) != 1)
        return TAM_EINVAL;
    memcpy(out, "need/", 5);
    memcpy(out + 5, country, 3);
    out[8] = '/';
    out[9] = category[0];
    out[10] = 0;
    return 0;
}

/* ---- keys ----------------------------------------------------------------- */

/* "ISO3/CAT/" + id: the open-needs index key (14 bytes). */
static size_t s_open_key(uint8_t out[14], const char *country, const char *category, uint64_t id)
{
    memcpy(out, country, 3);
    out[3] = '/';
    out[4] = (uint8_t)category[0];
    out[5] = '/';
    tam_key_u64(out + 6, id);
    return 14;
}

/* respondent NUL category NUL: the prefix of a respondent's chain. */
static size_t s_chain_prefix(uint8_t *out, const char *respondent, const char *category)
{
    size_t n = strlen(respondent);
    memcpy(out, respondent, n);
    out[n] = 0;
    out[n + 1] = (uint8_t)category[0];
    out[n + 2] = 0;
    return n + 3;
}

/* ---- the respondent's current reply --------------------------------------- */

typedef struct {
    uint64_t reply_id;
    uint32_t revision;
} s_last_t;

static int s_last_fn(const tam_val_t *key, const tam_val_t *val, void *arg)
{
    s_last_t *l = arg;
    if (key->len < 4 || val->len != 8)
        return TAM_ESTORE;
    const uint8_t *k = (const uint8_t *)key->data + key->len - 4;
    l->revision = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
    l->reply_id = tam_key_get_u64(val->data);
    return 1;
}

/* Reads the last reply id and need id given out. */
static int s_ids_get(tam_txn_t *txn, uint64_t *reply, uint64_t *need)
{
    tam_val_t v;
    int rc = tam_txn_get(txn, "seq", S_IDS_KEY, strlen(S_IDS_KEY), &v);
    if (rc == TAM_ENOTFOUND) {
        *reply = *need = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (v.len != 16)
        return TAM_ESTORE;
    *reply = tam_key_get_u64(v.data);
    *need = tam_key_get_u64((const uint8_t *)v.data + 8);
    return 0;
}

static int s_ids_put(tam_txn_t *txn, uint64_t reply, uint64_t need)
{
    uint8_t v[16];
    tam_key_u64(v, reply);
    tam_key_u64(v + 8, need);
    return tam_txn_put(txn, "seq", S_IDS_KEY, strlen(S_IDS_KEY), v, sizeof v, 0);
}

/* Encodes obj into sb (emptied first). */
static int s_enc(const tam_schema_t *s, const void *obj, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    tam_codec_err_t cerr;
    sb->size = 0;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int rc = tam_encode(s, obj, &pk, &cerr);
    if (rc == TAM_EMISSING || rc == TAM_EINVAL) {
        tam_error("ingest: cannot encode %s: %s: %s", s->name, cerr.path, cerr.message);
        return TAM_EINTERNAL;
    }
    return rc;
}

/* ---- revision: supersede the current reply -------------------------------- */

typedef struct {
    tam_txn_t *txn;
    tam_arena_t *a;
    msgpack_sbuffer *sb;
    tam_ingest_emit_fn emit;
    void *emit_arg;
} s_w_t;

/* Emits the need record just encoded into w->sb. */
static int s_event(s_w_t *w, const char *country, const char *category)
{
    char topic[16];
    if (tam_ingest_topic(country, category, topic))
        return TAM_EINTERNAL;
    return w->emit(topic, w->sb->data, w->sb->size, w->emit_arg);
}

/* Withdraws the open needs of reply info, marks it superseded by new_id and
 * drops its answers from the index. *withdrawn counts the needs. */
static int s_supersede(s_w_t *w, tam_reply_info_t *info, uint64_t new_id, int64_t *withdrawn)
{
    tam_codec_err_t cerr;
    uint8_t key[8], okey[14];
    int rc = 0;
    *withdrawn = 0;
    for (int64_t i = 0; i < info->needs && info->first_need; i++) {
        uint64_t id = info->first_need + (uint64_t)i;
        tam_val_t v;
        tam_key_u64(key, id);
        if ((rc = tam_txn_get(w->txn, "needs", key, 8, &v)))
            return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
        tam_need_t n;
        memset(&n, 0, sizeof n);
        if (tam_decode(&tam_schema_need, v.data, v.len, w->a, &n, &cerr))
            return TAM_ESTORE;
        if (n.status != TAM_E_need_status_open)
            continue;
        n.status = TAM_E_need_status_withdrawn;
        if ((rc = s_enc(&tam_schema_need, &n, w->sb)) ||
            (rc = tam_txn_put(w->txn, "needs", key, 8, w->sb->data, w->sb->size, 0)))
            return rc;
        rc = tam_txn_del(w->txn, "open", okey, s_open_key(okey, n.country, n.category, id));
        if (rc && rc != TAM_ENOTFOUND)
            return rc;
        if ((rc = s_event(w, n.country, n.category)))
            return rc;
        (*withdrawn)++;
    }
    info->status = TAM_E_reply_status_superseded;
    info->superseded_by = new_id;
    tam_key_u64(key, info->id);
    if ((rc = s_enc(&tam_schema_reply_info, info, w->sb)) ||
        (rc = tam_txn_put(w->txn, "replies", key, 8, w->sb->data, w->sb->size, 0)))
        return rc;
    rc = tam_txn_del(w->txn, "answers", key, 8);
    return rc == TAM_ENOTFOUND ? 0 : rc;
}

/* ---- the new reply -------------------------------------------------------- */

static int s_country_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, distinct countries a reply concerns, into info->countries. */
static int s_countries(const tam_reply_t *r, tam_arena_t *a, tam_strs_t *out)
{
    uint32_t cap = r->needs.n + 1, n = 0;
    char **v = tam_arena_alloc(a, cap * sizeof *v);
    if (!v)
        return TAM_ENOMEM;
    if (r->respondent->type == TAM_E_respondent_type_member_state)
        v[n++] = r->respondent->id;
    for (uint32_t i = 0; i < r->needs.n; i++)
        v[n++] = r->needs.v[i].country;
    qsort(v, n, sizeof *v, s_country_cmp);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
            v[k++] = v[i];
    out->n = k;
    out->v = v;
    return 0;
}

/* The answer set (layout in ingest.h): every standard of the category, in
 * catalogue order (at most 255), with its listed state or unanswered. Kept
 * compact because it is written for every reply; ingest.needs expands it. */
static int s_answers_put(s_w_t *w, const tam_catalog_t *cat, const tam_reply_t *r, uint64_t id)
{
    const tam_standard_t *std[255];
    char category = r->instrument->category[0];
    size_t n = tam_catalog_standards_of(cat, category, std, 255);
    if (n > 255)
        n = 255;
    msgpack_packer pk;
    const char *who = r->respondent->id;
    bool state = r->respondent->type == TAM_E_respondent_type_member_state;
    w->sb->size = 0;
    msgpack_packer_init(&pk, w->sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, 5) || msgpack_pack_str_with_body(&pk, who, strlen(who)) ||
             msgpack_pack_int(&pk, (int)r->respondent->type) ||
             (state ? msgpack_pack_str_with_body(&pk, who, strlen(who)) : msgpack_pack_nil(&pk)) ||
             msgpack_pack_str_with_body(&pk, &category, 1) || msgpack_pack_array(&pk, 2 * n);
    for (size_t i = 0; i < n && !rc; i++) {
        int st = TAM_E_answer_state_unanswered;
        for (uint32_t j = 0; j < r->answers.n; j++)
            if (strcmp(r->answers.v[j].standard, std[i]->id) == 0)
                st = (int)r->answers.v[j].state;
        rc = msgpack_pack_str_with_body(&pk, std[i]->id, strlen(std[i]->id)) ||
             msgpack_pack_int(&pk, st);
    }
    if (rc)
        return TAM_ENOMEM;
    uint8_t key[8];
    tam_key_u64(key, id);
    return tam_txn_put(w->txn, "answers", key, 8, w->sb->data, w->sb->size, TAM_PUT_APPEND);
}

static int s_needs_put(s_w_t *w, const tam_reply_t *r, uint64_t reply_id, uint64_t first)
{
    uint8_t key[8], okey[14];
    int rc = 0;
    for (uint32_t i = 0; i < r->needs.n; i++) {
        const tam_need_in_t *in = &r->needs.v[i];
        tam_need_t n = {
            .id = first + i,
            .reply_id = reply_id,
            .respondent = r->respondent->id,
            .country = in->country,
            .category = r->instrument->category,
            .standard = in->standard,
            .modality = in->modality,
            .priority = in->priority,
            .cost = in->cost,
            .start = in->start,
            .end = in->end,
            .completeness = r->completeness,
            .status = TAM_E_need_status_open,
            .text = in->text,
        };
        tam_key_u64(key, n.id);
        if ((rc = s_enc(&tam_schema_need, &n, w->sb)) ||
            (rc = tam_txn_put(w->txn, "needs", key, 8, w->sb->data, w->sb->size, TAM_PUT_APPEND)) ||
            (rc = tam_txn_put(w->txn, "open", okey, s_open_key(okey, n.country, n.category, n.id),
                              "", 0, 0)) ||
            (rc = s_event(w, n.country, n.category)))
            return rc;
    }
    return 0;
}

int tam_ingest_apply(tam_txn_t *txn, const tam_catalog_t *cat, const tam_reply_t *r,
                     const void *body, size_t body_len, uint32_t today, tam_ingest_emit_fn emit,
                     void *emit_arg, tam_arena_t *a, tam_submit_ack_t *ack)
{
    return tam_ingest_apply_by(txn, cat, r, NULL, body, body_len, today, emit, emit_arg, a, ack);
}

int tam_ingest_apply_by(tam_txn_t *txn, const tam_catalog_t *cat, const tam_reply_t *r,
                        const char *by, const void *body, size_t body_len, uint32_t today,
                        tam_ingest_emit_fn emit, void *emit_arg, tam_arena_t *a,
                        tam_submit_ack_t *ack)
{
    if (!txn || !cat || !r || !r->respondent || !r->instrument || !r->instrument->category ||
        !body || !emit || !a || !ack)
        return TAM_EINVAL;
    /* One buffer for every record of this reply: sized for a typical one. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (!(sb.data = malloc(8192)))
        return TAM_ENOMEM;
    sb.alloc = 8192;
    s_w_t w = {txn, a, &sb, emit, emit_arg};
    tam_codec_err_t cerr;
    uint8_t chain[S_CHAIN_MAX], key[8];
    int rc;

    /* Lookups first: the current reply of this respondent to this category. */
    size_t plen = s_chain_prefix(chain, r->respondent->id, r->instrument->category);
    s_last_t last = {0, 0};
    if ((rc = tam_txn_scan_rev(txn, "chains", chain, plen, s_last_fn, &last)))
        goto fail;
    tam_reply_info_t old;
    memset(&old, 0, sizeof old);
    if (last.reply_id) {
        tam_val_t v;
        tam_key_u64(key, last.reply_id);
        if ((rc = tam_txn_get(txn, "replies", key, 8, &v))) {
            rc = rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
            goto fail;
        }
        if (tam_decode(&tam_schema_reply_info, v.data, v.len, a, &old, &cerr)) {
            tam_error("ingest: stored reply %llu does not decode: %s: %s",
                      (unsigned long long)last.reply_id, cerr.path, cerr.message);
            rc = TAM_ESTORE;
            goto fail;
        }
    }
    uint64_t last_reply, last_need;
    if ((rc = s_ids_get(txn, &last_reply, &last_need)))
        goto fail;
    if (last.revision >= S_REVISION_MAX || last_reply >= UINT64_MAX / 256 ||
        last_need > UINT64_MAX - r->needs.n - 1) {
        rc = TAM_ERANGE;
        goto fail;
    }
    uint64_t id = last_reply + 1, first = r->needs.n ? last_need + 1 : 0;

    /* Writes. */
    int64_t withdrawn = 0;
    if (last.reply_id && (rc = s_supersede(&w, &old, id, &withdrawn)))
        goto fail;
    if ((rc = s_needs_put(&w, r, id, last_need + 1)) || (rc = s_answers_put(&w, cat, r, id)))
        goto fail;

    tam_reply_info_t info = {
        .id = id,
        .respondent = r->respondent->id,
        .respondent_type = r->respondent->type,
        .name = r->respondent->name,
        .category = r->instrument->category,
        .version = r->instrument->version,
        .revision = (int64_t)last.revision + 1,
        .replaces = last.reply_id,
        .status = TAM_E_reply_status_current,
        .submitted = r->submitted ? r->submitted : today,
        .stored = today,
        .completeness = r->completeness,
        .needs = r->needs.n,
        .first_need = first,
        .withdrawn = withdrawn,
        .by = (char *)by,
    };
    if ((rc = s_countries(r, a, &info.countries)))
        goto fail;
    tam_key_u64(key, id);
    if ((rc = s_enc(&tam_schema_reply_info, &info, &sb)) ||
        (rc = tam_txn_put(txn, "replies", key, 8, sb.data, sb.size, TAM_PUT_APPEND)) ||
        (rc = tam_txn_put(txn, "bodies", key, 8, body, body_len, TAM_PUT_APPEND)))
        goto fail;
    uint32_t rev = (uint32_t)info.revision;
    uint8_t *rk = chain + plen;
    rk[0] = (uint8_t)(rev >> 24);
    rk[1] = (uint8_t)(rev >> 16);
    rk[2] = (uint8_t)(rev >> 8);
    rk[3] = (uint8_t)rev;
    if ((rc = tam_txn_put(txn, "chains", chain, plen + 4, key, 8, 0)) ||
        (rc = s_ids_put(txn, id, last_need + r->needs.n)))
        goto fail;

    /* The answer. */
    memset(ack, 0, sizeof *ack);
    ack->reply_id = id;
    ack->revision = info.revision;
    ack->replaces = last.reply_id;
    ack->withdrawn = withdrawn;
    ack->need_ids.n = r->needs.n;
    if (r->needs.n && !(ack->need_ids.v = tam_arena_alloc(a, r->needs.n * sizeof(char *)))) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < r->needs.n; i++) {
        char buf[24];
        int len = snprintf(buf, sizeof buf, "%llu", (unsigned long long)(first + i));
        if (!(ack->need_ids.v[i] = tam_arena_strndup(a, buf, (size_t)len))) {
            rc = TAM_ENOMEM;
            goto fail;
        }
    }
    rc = 0;
fail:
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

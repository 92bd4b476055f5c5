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
const char *const tam_ingest_dbs[] = {"replies", "bodies",  "needs",   "versions",
                                      "idents",  "rneeds",  "digests", "open",
                                      "chains",  "answers", "seq",     "requests",
                                      NULL};

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
static int s_enc(const tam_schema_t *s, const void *obj, tam_ingest_buf_t *sb)
{
    msgpack_packer pk;
    tam_codec_err_t cerr;
    sb->size = 0;
    msgpack_packer_init(&pk, sb, tam_ingest_buf_write);
    int rc = tam_encode(s, obj, &pk, &cerr);
    if (sb->oom)
        return TAM_ENOMEM;
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
    tam_ingest_buf_t *sb;
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

/* Reads need id into *n (from w->a). Returns 0; TAM_ESTORE; store codes. */
static int s_need_get(s_w_t *w, uint64_t id, tam_need_t *n, tam_val_t *raw)
{
    tam_codec_err_t cerr;
    uint8_t key[8];
    tam_key_u64(key, id);
    int rc = tam_txn_get(w->txn, "needs", key, 8, raw);
    if (rc)
        return rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
    memset(n, 0, sizeof *n);
    if (tam_decode(&tam_schema_need, raw->data, raw->len, w->a, n, &cerr)) {
        tam_error("ingest: stored need %llu does not decode: %s: %s", (unsigned long long)id,
                  cerr.path, cerr.message);
        return TAM_ESTORE;
    }
    return 0;
}

/* Withdraws the open needs of the current reply (ids, n) that the new reply
 * does not declare again (keep[0..nkeep)), marks the reply superseded by
 * new_id and drops its answers from the index. *withdrawn counts the needs. */
static int s_supersede(s_w_t *w, tam_reply_info_t *info, const uint64_t *ids, uint32_t n,
                       const uint64_t *keep, uint32_t nkeep, uint64_t new_id, int64_t *withdrawn)
{
    uint8_t key[8], okey[14];
    int rc = 0;
    *withdrawn = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool kept = false;
        for (uint32_t j = 0; j < nkeep && !kept; j++)
            kept = keep[j] == ids[i];
        if (kept)
            continue;
        tam_need_t nd;
        tam_val_t raw;
        if ((rc = s_need_get(w, ids[i], &nd, &raw)))
            return rc;
        if (nd.status != TAM_E_need_status_open)
            continue;
        nd.status = TAM_E_need_status_withdrawn;
        nd.change = TAM_E_need_change_withdrawn;
        tam_key_u64(key, ids[i]);
        if ((rc = s_enc(&tam_schema_need, &nd, w->sb)) ||
            (rc = tam_txn_put(w->txn, "needs", key, 8, w->sb->data, w->sb->size, 0)))
            return rc;
        rc = tam_txn_del(w->txn, "open", okey, s_open_key(okey, nd.country, nd.category, ids[i]));
        if (rc && rc != TAM_ENOTFOUND)
            return rc;
        if ((rc = s_event(w, nd.country, nd.category)))
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
    msgpack_packer_init(&pk, w->sb, tam_ingest_buf_write);
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
    if (rc || w->sb->oom)
        return TAM_ENOMEM;
    uint8_t key[8];
    tam_key_u64(key, id);
    return tam_txn_put(w->txn, "answers", key, 8, w->sb->data, w->sb->size, TAM_PUT_APPEND);
}

/* ---- identities: which stored need each declared need is ------------------- */

enum { S_ADDED, S_REVISED, S_RESTORED, S_UNCHANGED };

/* What one declared need of the reply becomes. */
typedef struct {
    uint64_t id;      /* 0 until resolved */
    uint32_t version;
    int kind;         /* S_* */
    tam_need_t old;   /* the stored need it matched (id != 0 and kind != S_ADDED) */
    const void *old_raw;
    size_t old_len;
} s_slot_t;

static bool s_streq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Looks identity (by_ref or natural) of need i up; on a usable match that no
 * other need of the reply claimed, fills slot i. With ref_less_only, a match
 * must have no ref (a need that gains a ref adopts a need that had none). */
static int s_match(s_w_t *w, const tam_reply_t *r, s_slot_t *sl, uint32_t i, bool by_ref,
                   bool ref_less_only)
{
    const tam_need_in_t *in = &r->needs.v[i];
    uint8_t ik[TAM_INGEST_IDENT_MAX];
    size_t il = tam_ingest_ident(ik, r->respondent->id, r->instrument->category, in->country,
                                 in->standard, in->modality, in->ref, by_ref);
    tam_val_t v;
    int rc = tam_txn_get(w->txn, "idents", ik, il, &v);
    if (rc == TAM_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.len != 8)
        return TAM_ESTORE;
    uint64_t id = tam_key_get_u64(v.data);
    for (uint32_t j = 0; j < r->needs.n; j++)
        if (sl[j].id == id)
            return 0; /* claimed by another need of this reply */
    tam_need_t n;
    tam_val_t raw;
    if ((rc = s_need_get(w, id, &n, &raw)))
        return rc;
    /* An identity entry whose need has since changed key is stale. */
    if (strcmp(n.country, in->country) != 0)
        return 0;
    if (by_ref ? !s_streq(n.ref, in->ref)
               : strcmp(n.standard, in->standard) != 0 || strcmp(n.modality, in->modality) != 0)
        return 0;
    if (ref_less_only && n.ref)
        return 0;
    sl[i].id = id;
    sl[i].old = n;
    /* Copied: a value in a write transaction lasts only until the next put. */
    void *copy = tam_arena_alloc(w->a, raw.len ? raw.len : 1);
    if (!copy)
        return TAM_ENOMEM;
    memcpy(copy, raw.data, raw.len);
    sl[i].old_raw = copy;
    sl[i].old_len = raw.len;
    return 0;
}

/* Resolves every declared need: refs first, then natural keys of needs
 * without a ref, then needs with a new ref that take over a ref-less one. */
static int s_resolve(s_w_t *w, const tam_reply_t *r, s_slot_t *sl)
{
    int rc = 0;
    for (uint32_t i = 0; i < r->needs.n && !rc; i++)
        if (r->needs.v[i].ref)
            rc = s_match(w, r, sl, i, true, false);
    for (uint32_t i = 0; i < r->needs.n && !rc; i++)
        if (!r->needs.v[i].ref)
            rc = s_match(w, r, sl, i, false, false);
    for (uint32_t i = 0; i < r->needs.n && !rc; i++)
        if (r->needs.v[i].ref && !sl[i].id)
            rc = s_match(w, r, sl, i, false, true);
    return rc;
}

/* The need record declared by needs[i] of r in reply reply_id. */
static tam_need_t s_need_of(const tam_reply_t *r, uint32_t i, uint64_t reply_id)
{
    const tam_need_in_t *in = &r->needs.v[i];
    int64_t answered = 0; /* standards answered need or no_need: the matcher's completeness */
    for (uint32_t k = 0; k < r->answers.n; k++)
        answered += r->answers.v[k].state != TAM_E_answer_state_unanswered;
    return (tam_need_t){
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
        .ref = in->ref,
        .answered = answered,
    };
}

/* True if the declared need differs from the stored one in any field a
 * version carries. */
static bool s_changed(const tam_need_t *o, const tam_need_t *n)
{
    return o->priority != n->priority || o->cost != n->cost || o->start != n->start ||
           o->end != n->end || o->completeness != n->completeness ||
           (o->answered != 0 && o->answered != n->answered) || /* 0: stored before the count */
           strcmp(o->standard, n->standard) != 0 || strcmp(o->modality, n->modality) != 0 ||
           !s_streq(o->text, n->text) || !s_streq(o->ref, n->ref);
}

/* Writes the needs of the new reply: new ids, next versions, identities. */
static int s_needs_put(s_w_t *w, const tam_reply_t *r, uint64_t reply_id, s_slot_t *sl,
                       uint64_t *last_need)
{
    uint8_t key[12], okey[14], ik[TAM_INGEST_IDENT_MAX];
    int rc = 0;
    for (uint32_t i = 0; i < r->needs.n; i++) {
        s_slot_t *s = &sl[i];
        tam_need_t n = s_need_of(r, i, reply_id);
        uint32_t old_version = 0;
        if (!s->id) {
            s->id = ++*last_need;
            s->kind = S_ADDED;
            s->version = 1;
            n.change = TAM_E_need_change_added;
        } else {
            old_version = s->old.version > 0 ? (uint32_t)s->old.version : 1;
            if (s->old.status != TAM_E_need_status_open) {
                s->kind = S_RESTORED;
                n.change = TAM_E_need_change_restored;
            } else if (s_changed(&s->old, &n)) {
                s->kind = S_REVISED;
                n.change = TAM_E_need_change_revised;
            } else {
                s->kind = S_UNCHANGED;
                s->version = old_version;
                continue; /* same id, same version: nothing to write or publish */
            }
            s->version = old_version + 1;
        }
        n.id = s->id;
        n.version = s->version;
        tam_key_u64(key, n.id);
        key[8] = (uint8_t)(s->version >> 24);
        key[9] = (uint8_t)(s->version >> 16);
        key[10] = (uint8_t)(s->version >> 8);
        key[11] = (uint8_t)s->version;
        /* Schema 3: the latest version lives in needs only; the one it
         * replaces moves into the history (a need stored before versions
         * had none: its first). */
        if (s->kind != S_ADDED) {
            uint8_t k1[12];
            memcpy(k1, key, 8);
            k1[8] = (uint8_t)(old_version >> 24);
            k1[9] = (uint8_t)(old_version >> 16);
            k1[10] = (uint8_t)(old_version >> 8);
            k1[11] = (uint8_t)old_version;
            if ((rc = tam_txn_put(w->txn, "versions", k1, 12, s->old_raw, s->old_len, 0)))
                return rc;
        }
        if ((rc = s_enc(&tam_schema_need, &n, w->sb)) ||
            (rc = tam_txn_put(w->txn, "needs", key, 8, w->sb->data, w->sb->size,
                              s->kind == S_ADDED ? TAM_PUT_APPEND : 0)) ||
            (rc = tam_txn_put(w->txn, "open", okey, s_open_key(okey, n.country, n.category, n.id),
                              "", 0, 0)) ||
            (rc = s_event(w, n.country, n.category)))
            return rc;
        size_t il = tam_ingest_ident(ik, n.respondent, n.category, n.country, n.standard,
                                     n.modality, NULL, false);
        if ((rc = tam_txn_put(w->txn, "idents", ik, il, key, 8, 0)))
            return rc;
        if (n.ref) {
            il = tam_ingest_ident(ik, n.respondent, n.category, n.country, NULL, NULL, n.ref, true);
            if ((rc = tam_txn_put(w->txn, "idents", ik, il, key, 8, 0)))
                return rc;
        }
    }
    return 0;
}

/* ---- the answer -------------------------------------------------------------- */

/* need_ids and need_versions of the ack from ids and versions. */
static int s_ack_needs(tam_arena_t *a, tam_submit_ack_t *ack, const uint64_t *ids,
                       const uint32_t *versions, uint32_t n)
{
    ack->need_ids.n = ack->need_versions.n = n;
    if (!n)
        return 0;
    if (!(ack->need_ids.v = tam_arena_alloc(a, n * sizeof(uint64_t))) ||
        !(ack->need_versions.v = tam_arena_alloc(a, n * sizeof(uint64_t))))
        return TAM_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        ack->need_ids.v[i] = ids[i];
        ack->need_versions.v[i] = versions[i];
    }
    return 0;
}

/* ---- older revisions sent again ------------------------------------------------ */

/* Looks the content of r up among the chain's replies: *found the latest
 * reply with the same digest (0: none); dkey/dlen the digest key. */
static int s_digest_find(tam_txn_t *txn, const tam_reply_t *r, tam_arena_t *a, uint8_t *dkey,
                         size_t *dlen,
                         uint64_t *found)
{
    size_t n = tam_ingest_chain(dkey, r->respondent->id, r->instrument->category);
    int rc = a ? tam_ingest_digest_in(r, a, dkey + n) : tam_ingest_digest(r, dkey + n);
    *dlen = n + 32;
    *found = 0;
    if (rc)
        return rc;
    tam_val_t v;
    rc = tam_txn_get(txn, "digests", dkey, *dlen, &v);
    if (rc == TAM_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.len != 8)
        return TAM_ESTORE;
    *found = tam_key_get_u64(v.data);
    return 0;
}

/* The chain's current reply: id and revision (0 and 0: none). */
static int s_current(tam_txn_t *txn, const tam_reply_t *r, s_last_t *last)
{
    uint8_t chain[S_CHAIN_MAX];
    size_t plen = s_chain_prefix(chain, r->respondent->id, r->instrument->category);
    last->reply_id = 0;
    last->revision = 0;
    return tam_txn_scan_rev(txn, "chains", chain, plen, s_last_fn, last);
}

static int s_superseded_error(tam_rpc_error_t *err, uint64_t old, const s_last_t *last)
{
    tam_rpc_error_set(err, TAM_ESUPERSEDED, "",
                      "reply %llu is superseded by revision %u, reply %llu; nothing stored (to "
                      "declare that content again, send it as a new reply, e.g. with today's "
                      "date in submitted)",
                      (unsigned long long)old, last->revision, (unsigned long long)last->reply_id);
    return TAM_ESUPERSEDED;
}

int tam_ingest_superseded(tam_txn_t *txn, const tam_reply_t *r, tam_arena_t *a,
                          tam_rpc_error_t *err)
{
    (void)a;
    if (!txn || !r || !r->respondent || !r->instrument || !r->instrument->category || !err)
        return TAM_EINVAL;
    uint8_t dkey[S_CHAIN_MAX + 32];
    size_t dlen;
    uint64_t found;
    s_last_t last;
    int rc = s_digest_find(txn, r, a, dkey, &dlen, &found);
    if (rc || !found || (rc = s_current(txn, r, &last)))
        return rc;
    return found != last.reply_id ? s_superseded_error(err, found, &last) : 0;
}

/* ---- the new reply ------------------------------------------------------------- */

int tam_ingest_apply(tam_txn_t *txn, const tam_catalog_t *cat, const tam_reply_t *r,
                     const void *body, size_t body_len, uint32_t today, tam_ingest_emit_fn emit,
                     void *emit_arg, tam_arena_t *a, tam_submit_ack_t *ack, tam_rpc_error_t *err)
{
    return tam_ingest_apply_by(txn, cat, r, NULL, body, body_len, today, emit, emit_arg, a, ack,
                               err);
}

int tam_ingest_apply_by(tam_txn_t *txn, const tam_catalog_t *cat, const tam_reply_t *r,
                        const char *by, const void *body, size_t body_len, uint32_t today,
                        tam_ingest_emit_fn emit, void *emit_arg, tam_arena_t *a,
                        tam_submit_ack_t *ack, tam_rpc_error_t *err)
{
    if (!txn || !cat || !r || !r->respondent || !r->instrument || !r->instrument->category ||
        !body || !emit || !a || !ack || !err)
        return TAM_EINVAL;
    /* One buffer for every record of this reply, from the request's arena:
     * no malloc per reply. */
    tam_ingest_buf_t sb;
    tam_ingest_buf_init(&sb, a, 8192);
    if (!sb.data)
        return TAM_ENOMEM;
    s_w_t w = {txn, a, &sb, emit, emit_arg};
    tam_codec_err_t cerr;
    uint8_t chain[S_CHAIN_MAX], key[8], dkey[S_CHAIN_MAX + 32];
    size_t dlen;
    uint64_t same = 0;
    uint64_t *old_ids = NULL;
    uint32_t *old_versions = NULL, old_n = 0;
    int rc;
    memset(ack, 0, sizeof *ack);

    /* Lookups first: the current reply of this respondent to this category. */
    size_t plen = s_chain_prefix(chain, r->respondent->id, r->instrument->category);
    s_last_t last = {0, 0};
    if ((rc = s_current(txn, r, &last)) || (rc = s_digest_find(txn, r, a, dkey, &dlen, &same)))
        goto fail;
    if (same && same != last.reply_id) {
        rc = s_superseded_error(err, same, &last);
        goto fail;
    }
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
        rc = tam_ingest_reply_needs(txn, last.reply_id, a, &old_ids, &old_versions, &old_n);
        if (rc) {
            rc = rc == TAM_ENOTFOUND ? TAM_ESTORE : rc;
            goto fail;
        }
    }
    if (same) {
        /* The current reply again: nothing to store; answer for it. */
        ack->reply_id = last.reply_id;
        ack->revision = last.revision;
        ack->replaces = old.replaces;
        ack->repeat = true;
        ack->unchanged = old_n;
        rc = s_ack_needs(a, ack, old_ids, old_versions, old_n);
        goto fail;
    }
    uint64_t last_reply, last_need;
    if ((rc = s_ids_get(txn, &last_reply, &last_need)))
        goto fail;
    if (last.revision >= S_REVISION_MAX || last_reply >= UINT64_MAX / 256 ||
        last_need > UINT64_MAX - r->needs.n - 1) {
        rc = TAM_ERANGE;
        goto fail;
    }
    uint64_t id = last_reply + 1;
    uint32_t nn = r->needs.n;
    s_slot_t *sl = nn ? tam_arena_alloc(a, nn * sizeof *sl) : NULL;
    uint64_t *ids = nn ? tam_arena_alloc(a, nn * sizeof *ids) : NULL;
    uint32_t *versions = nn ? tam_arena_alloc(a, nn * sizeof *versions) : NULL;
    if (nn && (!sl || !ids || !versions)) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    if ((rc = s_resolve(&w, r, sl)))
        goto fail;

    /* Writes. */
    if ((rc = s_needs_put(&w, r, id, sl, &last_need)))
        goto fail;
    for (uint32_t i = 0; i < nn; i++) {
        ids[i] = sl[i].id;
        versions[i] = sl[i].version;
        ack->added += sl[i].kind == S_ADDED;
        ack->revised += sl[i].kind == S_REVISED || sl[i].kind == S_RESTORED;
        ack->unchanged += sl[i].kind == S_UNCHANGED;
    }
    int64_t withdrawn = 0;
    if (last.reply_id &&
        (rc = s_supersede(&w, &old, old_ids, old_n, ids, nn, id, &withdrawn)))
        goto fail;
    if ((rc = s_answers_put(&w, cat, r, id)))
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
        .needs = nn,
        .withdrawn = withdrawn,
        .by = (char *)by,
    };
    if ((rc = s_countries(r, a, &info.countries)))
        goto fail;
    tam_key_u64(key, id);
    if ((rc = s_enc(&tam_schema_reply_info, &info, &sb)) ||
        (rc = tam_txn_put(txn, "replies", key, 8, sb.data, sb.size, TAM_PUT_APPEND)) ||
        (rc = tam_ingest_body_put(txn, id, body, body_len, true)) ||
        (rc = tam_ingest_reply_needs_put_in(txn, a, id, ids, versions, nn)) ||
        (rc = tam_txn_put(txn, "digests", dkey, dlen, key, 8, 0)))
        goto fail;
    uint32_t rev = (uint32_t)info.revision;
    uint8_t *rk = chain + plen;
    rk[0] = (uint8_t)(rev >> 24);
    rk[1] = (uint8_t)(rev >> 16);
    rk[2] = (uint8_t)(rev >> 8);
    rk[3] = (uint8_t)rev;
    if ((rc = tam_txn_put(txn, "chains", chain, plen + 4, key, 8, 0)) ||
        (rc = s_ids_put(txn, id, last_need)))
        goto fail;

    /* The answer. */
    ack->reply_id = id;
    ack->revision = info.revision;
    ack->replaces = last.reply_id;
    ack->withdrawn = withdrawn;
    rc = s_ack_needs(a, ack, ids, versions, nn);
fail:
    return rc;
}

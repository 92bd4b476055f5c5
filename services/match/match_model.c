/* match_model.c — the matcher's in-memory view of its inputs: the engine's
 * life cycle, open needs (ingest feed), decisions (pipeline feed), routing of
 * feed records and the sweeps after a feed reloads its snapshot. Projects
 * and the planning context are in match_project.c. Each record is decoded
 * strictly, checked against the catalogue, reduced to what matching uses,
 * and digested (SHA-256 of a canonical msgpack form, the unit of the run
 * hash). A record whose digest did not change changes nothing; one that did
 * marks the row of its need or the column of its project for the next run. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_int.h"

/* ---- catalogue indices --------------------------------------------------------- */

int tam_match__country_ix(const tam_match_t *m, const char *iso3)
{
    const tam_country_t *c = tam_catalog_country(m->cat, iso3);
    if (!c)
        return -1;
    ptrdiff_t i = c - tam_catalog_country_at(m->cat, 0);
    return i >= 0 && (size_t)i < m->ncountries && tam_catalog_country_at(m->cat, (size_t)i) == c
               ? (int)i : -1;
}

int tam_match__standard_ix(const tam_match_t *m, const char *id)
{
    const tam_standard_t *s = tam_catalog_standard(m->cat, id);
    if (!s)
        return -1;
    ptrdiff_t i = s - tam_catalog_standard_at(m->cat, 0);
    return i >= 0 && (size_t)i < m->nstandards && tam_catalog_standard_at(m->cat, (size_t)i) == s
               ? (int)i : -1;
}

int tam_match__modality_ix(const tam_match_t *m, const char *code)
{
    const tam_modality_t *s = tam_catalog_modality(m->cat, code);
    if (!s)
        return -1;
    ptrdiff_t i = s - tam_catalog_modality_at(m->cat, 0);
    return i >= 0 && (size_t)i < m->nmodalities &&
                   tam_catalog_modality_at(m->cat, (size_t)i) == s
               ? (int)i : -1;
}

const tam_country_t *tam_match__country(const tam_match_t *m, uint32_t ix)
{
    return tam_catalog_country_at(m->cat, ix);
}

const tam_standard_t *tam_match__standard(const tam_match_t *m, uint32_t ix)
{
    return tam_catalog_standard_at(m->cat, ix);
}

const tam_modality_t *tam_match__modality(const tam_match_t *m, uint32_t ix)
{
    return tam_catalog_modality_at(m->cat, ix);
}

/* ---- life cycle ------------------------------------------------------------------ */

int tam_match_new(tam_match_t **out, const tam_catalog_t *cat, const tam_match_params_t *p)
{
    if (!out || !cat || !p || p->wsum <= 0)
        return TAM_EINVAL;
    *out = NULL;
    if (sodium_init() < 0)
        return TAM_EINTERNAL;
    tam_match_t *m = calloc(1, sizeof *m);
    if (!m)
        return TAM_ENOMEM;
    m->cat = cat;
    m->par = *p;
    m->ncountries = tam_catalog_ncountries(cat);
    m->nstandards = tam_catalog_nstandards(cat);
    m->nmodalities = tam_catalog_nmodalities(cat);
    for (size_t i = 0; i < m->nstandards && i < TAM_MATCH_MAX_STANDARDS; i++) {
        unsigned cx = (unsigned char)tam_catalog_standard_at(cat, i)->category - 'A';
        if (cx < 26)
            m->cat_nstd[cx]++;
    }
    if (m->ncountries > TAM_MATCH_MAX_COUNTRIES || m->nstandards > TAM_MATCH_MAX_STANDARDS ||
        m->nmodalities > TAM_MATCH_MAX_MODALITIES) {
        tam_error("catalogue too large for the matcher: %zu countries, %zu standards, "
                  "%zu modalities", m->ncountries, m->nstandards, m->nmodalities);
        free(m);
        return TAM_EINVAL;
    }
    if (!(m->scratch = tam_arena_new(0))) {
        free(m);
        return TAM_ENOMEM;
    }
    if (tam_match__money_new(m)) {
        tam_arena_destroy(&m->scratch);
        free(m);
        return TAM_ENOMEM;
    }
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++)
        m->gen[f] = 1;
    m->rebuild = true;
    *out = m;
    return 0;
}

void tam_match_destroy(tam_match_t **mp)
{
    if (!mp || !*mp)
        return;
    tam_match_t *m = *mp;
    for (uint32_t i = 0; i < m->nneeds; i++)
        free(m->needs[i].arcs);
    free(m->needs);
    for (uint32_t i = 0; i < m->nprojects; i++)
        tam_match__project_free(&m->projects[i]);
    free(m->projects);
    free(m->decs);
    tam_match_map_free(&m->need_map);
    tam_match_map_free(&m->project_map);
    tam_match_map_free(&m->dec_map);
    tam_match_map_free(&m->dec_need);
    free(m->dirty_needs);
    free(m->dirty_projects);
    tam_flow_destroy(&m->flow);
    tam_flow_solution_free(&m->sol);
    tam_flow_solution_free(&m->work);
    free(m->ops);
    free(m->frags);
    free(m->rduals);
    tam_match__money_free(m);
    free(m->rzduals);
    free(m->header);
    for (uint32_t i = 0; i < m->nprops; i++)
        free(m->props[i].pub);
    free(m->props);
    tam_match_map_free(&m->prop_map);
    tam_match__lp_free(m);
    tam_arena_destroy(&m->scratch);
    free(m);
    *mp = NULL;
}

/* ---- helpers ----------------------------------------------------------------------- */

int tam_match__grow(void **v, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > UINT32_MAX / 2)
            return TAM_ETOOBIG;
        c *= 2;
    }
    void *nv = realloc(*v, (size_t)c * elem);
    if (!nv)
        return TAM_ENOMEM;
    memset((char *)nv + (size_t)*cap * elem, 0, (size_t)(c - *cap) * elem);
    *v = nv;
    *cap = c;
    return 0;
}

int tam_match__dirty_need(tam_match_t *m, uint32_t slot)
{
    m->changed = true;
    m->mgen++;
    tam_match_need_t *n = &m->needs[slot];
    if (n->dirty)
        return 0;
    int rc = tam_match__grow((void **)&m->dirty_needs, &m->cap_dirty_needs, m->ndirty_needs + 1,
                    sizeof *m->dirty_needs);
    if (rc)
        return rc;
    n->dirty = true;
    m->dirty_needs[m->ndirty_needs++] = slot;
    return 0;
}

int tam_match__dirty_project(tam_match_t *m, uint32_t slot)
{
    m->changed = true;
    m->mgen++;
    tam_match_project_t *p = &m->projects[slot];
    if (p->dirty)
        return 0;
    int rc = tam_match__grow((void **)&m->dirty_projects, &m->cap_dirty_projects, m->ndirty_projects + 1,
                    sizeof *m->dirty_projects);
    if (rc)
        return rc;
    p->dirty = true;
    m->dirty_projects[m->ndirty_projects++] = slot;
    return 0;
}

uint32_t tam_match__need_slot(const tam_match_t *m, uint64_t id)
{
    return tam_match_map_get(&m->need_map, id);
}

uint32_t tam_match__project_slot(const tam_match_t *m, const char *id)
{
    uint32_t s = tam_match_map_get(&m->project_map, tam_match_str_hash(id, strlen(id)));
    return s != TAM_MATCH_NONE && strcmp(m->projects[s].id, id) == 0 ? s : TAM_MATCH_NONE;
}

/* Packs a string (canonical form of msgpack-c). */
void tam_match__pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* SHA-256 of sb's bytes into d. */
void tam_match__digest(const msgpack_sbuffer *sb, uint8_t d[32])
{
    crypto_hash_sha256(d, (const unsigned char *)sb->data, sb->size);
}

void tam_match__pack_date(msgpack_packer *pk, uint32_t d)
{
    char b[11];
    tam_date_format(d, b);
    tam_match__pack_str(pk, b);
}

int tam_match__decode(tam_match_t *m, const tam_schema_t *s, const void *body, size_t len, void *obj,
                    const char *what)
{
    tam_codec_err_t ce;
    tam_arena_reset(m->scratch);
    memset(obj, 0, s->size);
    int rc = tam_decode(s, body, len, m->scratch, obj, &ce);
    if (rc) {
        m->st.bad_records++;
        /* the field only: the decoder's message can quote the value (no contents in logs) */
        tam_warn("feed: %s record refused: it does not decode at %s", what,
                 ce.path[0] ? ce.path : "(record)");
    }
    return rc;
}

/* ---- needs -------------------------------------------------------------------------- */

/* First 40 bits of SHA-256 over the n strings, each with its NUL. */
static uint64_t s_hash40(const char *const *parts, int n)
{
    uint8_t h[32];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (int k = 0; k < n; k++)
        crypto_hash_sha256_update(&st, (const unsigned char *)parts[k], strlen(parts[k]) + 1);
    crypto_hash_sha256_final(&st, h);
    uint64_t v = 0;
    for (int k = 0; k < 5; k++)
        v = v << 8 | h[k];
    return v;
}

int tam_match_apply_need(tam_match_t *m, const void *body, size_t len)
{
    m->mgen++; /* the inputs of explanations' money (match_money.c) */
    tam_need_t r;
    int rc = tam_match__decode(m, &tam_schema_need, body, len, &r, "need");
    if (rc)
        return rc;
    int c = tam_match__country_ix(m, r.country), s = tam_match__standard_ix(m, r.standard),
        md = tam_match__modality_ix(m, r.modality);
    if (r.id == 0 || r.id > TAM_MATCH_NEED_ID_MAX || c < 0 || s < 0 || md < 0 ||
        r.start > r.end) {
        m->st.bad_records++;
        tam_warn("feed: need %llu refused: id, country, standard, modality or window not usable",
                 (unsigned long long)r.id);
        return TAM_EINVAL;
    }
    uint32_t slot = tam_match__need_slot(m, r.id);
    bool open = r.status == TAM_E_need_status_open;
    if (!open) {
        if (slot == TAM_MATCH_NONE || !m->needs[slot].open)
            return 0;
        m->needs[slot].open = false;
        return tam_match__dirty_need(m, slot);
    }
    /* the digest covers the content, never the id (which follows arrival
     * order): needs equal in content are interchangeable in the run hash */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 11);
    tam_match__pack_str(&pk, r.respondent);
    tam_match__pack_str(&pk, r.ref ? r.ref : "");
    tam_match__pack_str(&pk, r.country);
    tam_match__pack_str(&pk, r.standard);
    tam_match__pack_str(&pk, r.modality);
    msgpack_pack_int64(&pk, r.priority);
    msgpack_pack_int64(&pk, r.cost);
    tam_match__pack_date(&pk, r.start);
    tam_match__pack_date(&pk, r.end);
    msgpack_pack_int64(&pk, r.completeness);
    msgpack_pack_int64(&pk, r.answered);
    uint8_t d[32];
    tam_match__digest(&sb, d);
    msgpack_sbuffer_destroy(&sb);
    /* identity, as tam-ingest keeps it across revisions: who asks, for which
     * country, and the respondent's ref, or else the standard and modality;
     * the cap group: who asks, for which country, standard and modality
     * (parts of a split need share it, whatever their refs) */
    const char *ref = r.ref && r.ref[0] ? r.ref : NULL;
    const char *gparts[5] = {r.respondent, r.country, r.standard, r.modality, ""};
    const char *iparts[5] = {r.respondent, r.country, "ref", ref ? ref : "", ""};
    uint64_t ident = s_hash40(ref ? iparts : gparts, 4), group = s_hash40(gparts, 4);

    if (slot == TAM_MATCH_NONE) {
        if ((rc = tam_match__grow((void **)&m->needs, &m->cap_needs, m->nneeds + 1, sizeof *m->needs)))
            return rc;
        slot = m->nneeds;
        if ((rc = tam_match_map_put(&m->need_map, r.id, slot)))
            return rc;
        m->nneeds++;
        tam_match_need_t *n = &m->needs[slot];
        memset(n, 0, sizeof *n);
        n->id = r.id;
        n->flow = TAM_MATCH_NONE;
        n->dec_head = tam_match_map_get(&m->dec_need, r.id);
    }
    tam_match_need_t *n = &m->needs[slot];
    n->gen = m->gen[TAM_MATCH_FEED_INGEST];
    if (n->open && memcmp(n->digest, d, 32) == 0)
        return 0;
    n->country = (uint16_t)c;
    n->standard = (uint16_t)s;
    n->modality = (uint8_t)md;
    n->category = tam_catalog_standard_at(m->cat, (size_t)s)->category;
    n->priority = (uint8_t)r.priority;
    n->ident = ident;
    n->group = group;
    n->resp = tam_match_str_hash(r.respondent, strlen(r.respondent));
    /* completeness: the share of its category's standards the reply
     * answered, as tam-ingest counted them; the declared value only for a
     * record from before that count (docs/matching.md) */
    n->completeness_declared = (uint8_t)r.completeness;
    unsigned cx = (unsigned char)n->category - 'A';
    int64_t total = cx < 26 ? m->cat_nstd[cx] : 0;
    if (r.answered > 0 && total > 0) {
        int64_t a = r.answered < total ? r.answered : total;
        n->completeness = (uint8_t)((200 * a + total) / (2 * total));
    } else {
        n->completeness = (uint8_t)r.completeness;
    }
    n->answered = (uint8_t)(r.answered > 255 ? 255 : r.answered);
    n->cost = r.cost;
    n->start = r.start;
    n->end = r.end;
    n->open = true;
    memcpy(n->digest, d, 32);
    return tam_match__dirty_need(m, slot);
}

/* ---- decisions ------------------------------------------------------------------------- */

int64_t tam_match_decision_fixed(const tam_match_decision_t *d)
{
    if (!d->present)
        return 0;
    switch (d->state) {
    case TAM_E_decision_state_endorsed:
        return d->endorsed;
    case TAM_E_decision_state_committed:
    case TAM_E_decision_state_delivered:
        return d->committed;
    default:
        return 0;
    }
}

static int s_dec_dirty(tam_match_t *m, const tam_match_decision_t *d)
{
    m->changed = true;
    m->mgen++;
    uint32_t ns = tam_match__need_slot(m, d->need);
    return ns == TAM_MATCH_NONE ? 0 : tam_match__dirty_need(m, ns);
}

int tam_match_apply_decision(tam_match_t *m, const void *body, size_t len)
{
    m->mgen++; /* the inputs of explanations' money (match_money.c) */
    tam_decision_t r;
    int rc = tam_match__decode(m, &tam_schema_decision, body, len, &r, "decision");
    if (rc)
        return rc;
    if (r.need == 0 || r.need > TAM_MATCH_NEED_ID_MAX || !tam_match__id_ok(r.project)) {
        m->st.bad_records++;
        tam_warn("feed: decision record refused: bad need or project id");
        return TAM_EINVAL;
    }
    char key[TAM_MATCH_ID_MAX + 32];
    int kn = snprintf(key, sizeof key, "%llu/%s", (unsigned long long)r.need, r.project);
    uint64_t h = tam_match_str_hash(key, (size_t)kn);

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 5); /* the need is named by the run hash (match_hash.c) */
    tam_match__pack_str(&pk, r.project);
    tam_match__pack_str(&pk, r.country);
    tam_match__pack_str(&pk, tam_enum_decision_state.values[r.state]);
    msgpack_pack_int64(&pk, r.endorsed);
    msgpack_pack_int64(&pk, r.committed);
    uint8_t d[32];
    tam_match__digest(&sb, d);
    msgpack_sbuffer_destroy(&sb);

    uint32_t slot = tam_match_map_get(&m->dec_map, h);
    if (slot != TAM_MATCH_NONE &&
        (m->decs[slot].need != r.need || strcmp(m->decs[slot].project, r.project) != 0)) {
        tam_error("feed: decision %s collides in the matcher's index; ignored", key);
        return TAM_ECONFLICT;
    }
    if (slot == TAM_MATCH_NONE) {
        if ((rc = tam_match__grow((void **)&m->decs, &m->cap_decs, m->ndecs + 1, sizeof *m->decs)))
            return rc;
        slot = m->ndecs;
        if ((rc = tam_match_map_put(&m->dec_map, h, slot)))
            return rc;
        uint32_t head = tam_match_map_get(&m->dec_need, r.need);
        if ((rc = tam_match_map_put(&m->dec_need, r.need, slot)))
            return rc;
        m->ndecs++;
        tam_match_decision_t *x = &m->decs[slot];
        memset(x, 0, sizeof *x);
        x->need = r.need;
        snprintf(x->project, sizeof x->project, "%s", r.project);
        x->next = head;
        uint32_t ns = tam_match__need_slot(m, r.need);
        if (ns != TAM_MATCH_NONE)
            m->needs[ns].dec_head = slot;
    }
    tam_match_decision_t *x = &m->decs[slot];
    x->gen = m->gen[TAM_MATCH_FEED_PIPELINE];
    if (x->present && memcmp(x->digest, d, 32) == 0)
        return 0;
    snprintf(x->country, sizeof x->country, "%s", r.country);
    x->state = r.state;
    x->endorsed = r.endorsed;
    x->committed = r.committed;
    x->present = true;
    memcpy(x->digest, d, 32);
    return s_dec_dirty(m, x);
}

/* ---- routing and resyncs ----------------------------------------------------------------- */

static bool s_prefix(const char *t, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && memcmp(t, p, k) == 0;
}

int tam_match_apply(tam_match_t *m, int feed, const char *topic, size_t tn, const void *body,
                    size_t len)
{
    if (feed == TAM_MATCH_FEED_INGEST && s_prefix(topic, tn, "need/"))
        return tam_match_apply_need(m, body, len);
    if (feed == TAM_MATCH_FEED_REGISTRY && s_prefix(topic, tn, "project/")) {
        if (len == 0) {
            char id[TAM_MATCH_ID_MAX + 1];
            if (tn - 8 > TAM_MATCH_ID_MAX)
                return TAM_EINVAL;
            memcpy(id, topic + 8, tn - 8);
            id[tn - 8] = 0;
            return tam_match__project_remove(m, id);
        }
        return tam_match_apply_project(m, body, len);
    }
    if (feed == TAM_MATCH_FEED_REGISTRY && tn == 7 && memcmp(topic, "context", 7) == 0) {
        if (len == 0) {
            tam_match__context_clear(m);
            return 0;
        }
        return tam_match_apply_context(m, body, len);
    }
    if (feed == TAM_MATCH_FEED_PIPELINE && s_prefix(topic, tn, "decision/"))
        return tam_match_apply_decision(m, body, len);
    m->st.ignored_records++;
    return 0;
}

void tam_match_feed_reset(tam_match_t *m, int feed)
{
    if (feed >= 0 && feed < TAM_MATCH_NFEEDS)
        m->gen[feed]++;
}

void tam_match_feed_synced(tam_match_t *m, int feed)
{
    m->mgen++; /* the inputs of explanations' money (match_money.c) */
    uint32_t g = m->gen[feed];
    if (feed == TAM_MATCH_FEED_INGEST) {
        for (uint32_t i = 0; i < m->nneeds; i++)
            if (m->needs[i].open && m->needs[i].gen != g) {
                m->needs[i].open = false;
                tam_match__dirty_need(m, i);
            }
    } else if (feed == TAM_MATCH_FEED_REGISTRY) {
        for (uint32_t i = 0; i < m->nprojects; i++)
            if (m->projects[i].present && m->projects[i].gen != g)
                tam_match__project_remove(m, m->projects[i].id);
        if (m->ctx_present && m->ctx_gen != g)
            tam_match__context_clear(m);
    } else if (feed == TAM_MATCH_FEED_PIPELINE) {
        for (uint32_t i = 0; i < m->ndecs; i++)
            if (m->decs[i].present && m->decs[i].gen != g) {
                m->decs[i].present = false;
                memset(m->decs[i].digest, 0, 32);
                s_dec_dirty(m, &m->decs[i]);
            }
    }
}

bool tam_match_dirty(const tam_match_t *m)
{
    return m->changed || m->full;
}

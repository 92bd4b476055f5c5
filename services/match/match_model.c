/* match_model.c — the matcher's in-memory view of its inputs: open needs
 * (ingest feed), projects and the planning context (registry feed) and
 * decisions (pipeline feed). Each record is decoded strictly, checked against
 * the catalogue, reduced to what matching uses, and digested (SHA-256 of a
 * canonical msgpack form, the unit of the run hash). A record whose digest
 * did not change changes nothing; one that did marks the row of its need or
 * the column of its project for the next run. */
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
    for (int f = 0; f < TAM_MATCH_NFEEDS; f++)
        m->gen[f] = 1;
    m->rebuild = true;
    *out = m;
    return 0;
}

static void s_project_free(tam_match_project_t *p)
{
    free(p->e_countries);
    free(p->e_groups);
    free(p->e_regions);
    free(p->e_standards);
    free(p->e_modalities);
    free(p->donors);
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
        s_project_free(&m->projects[i]);
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
    free(m->ops);
    free(m->header);
    for (uint32_t i = 0; i < m->nprops; i++)
        free(m->props[i].pub);
    free(m->props);
    tam_match_map_free(&m->prop_map);
    free(m->lp);
    tam_arena_destroy(&m->scratch);
    free(m);
    *mp = NULL;
}

/* ---- helpers ----------------------------------------------------------------------- */

static int s_grow(void **v, uint32_t *cap, uint32_t need, size_t elem)
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
    tam_match_need_t *n = &m->needs[slot];
    if (n->dirty)
        return 0;
    int rc = s_grow((void **)&m->dirty_needs, &m->cap_dirty_needs, m->ndirty_needs + 1,
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
    tam_match_project_t *p = &m->projects[slot];
    if (p->dirty)
        return 0;
    int rc = s_grow((void **)&m->dirty_projects, &m->cap_dirty_projects, m->ndirty_projects + 1,
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

/* Packs a string / unsigned / signed value (canonical forms of msgpack-c). */
static void s_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* SHA-256 of sb's bytes into d. */
static void s_digest(const msgpack_sbuffer *sb, uint8_t d[32])
{
    crypto_hash_sha256(d, (const unsigned char *)sb->data, sb->size);
}

static void s_date(msgpack_packer *pk, uint32_t d)
{
    char b[11];
    tam_date_format(d, b);
    s_str(pk, b);
}

static int s_decode(tam_match_t *m, const tam_schema_t *s, const void *body, size_t len, void *obj,
                    const char *what)
{
    tam_codec_err_t ce;
    tam_arena_reset(m->scratch);
    memset(obj, 0, s->size);
    int rc = tam_decode(s, body, len, m->scratch, obj, &ce);
    if (rc) {
        m->st.bad_records++;
        tam_warn("feed: %s record refused: %s: %s", what, ce.path[0] ? ce.path : "(record)",
                 ce.message);
    }
    return rc;
}

/* ---- needs -------------------------------------------------------------------------- */

int tam_match_apply_need(tam_match_t *m, const void *body, size_t len)
{
    tam_need_t r;
    int rc = s_decode(m, &tam_schema_need, body, len, &r, "need");
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
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 9);
    msgpack_pack_uint64(&pk, r.id);
    s_str(&pk, r.country);
    s_str(&pk, r.standard);
    s_str(&pk, r.modality);
    msgpack_pack_int64(&pk, r.priority);
    msgpack_pack_int64(&pk, r.cost);
    s_date(&pk, r.start);
    s_date(&pk, r.end);
    msgpack_pack_int64(&pk, r.completeness);
    uint8_t d[32];
    s_digest(&sb, d);
    msgpack_sbuffer_destroy(&sb);

    if (slot == TAM_MATCH_NONE) {
        if ((rc = s_grow((void **)&m->needs, &m->cap_needs, m->nneeds + 1, sizeof *m->needs)))
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
    n->completeness = (uint8_t)r.completeness;
    n->cost = r.cost;
    n->start = r.start;
    n->end = r.end;
    n->open = true;
    memcpy(n->digest, d, 32);
    return tam_match__dirty_need(m, slot);
}

/* ---- projects ------------------------------------------------------------------------- */

static int s_cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int s_cmp_u8(const void *a, const void *b)
{
    return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b;
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A project reduced to what matching uses; lists sorted and resolved. Codes
 * unknown to our catalogue are kept as "matches nothing" (nu_* counts), so
 * that an earmark never widens because of a catalogue mismatch. */
typedef struct {
    tam_match_project_t p;
    uint32_t nu_geo, nu_th, nu_md;
} s_proj_t;

static bool s_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 2 || n > TAM_MATCH_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int s_project_build(tam_match_t *m, const tam_project_rec_t *r, s_proj_t *o)
{
    const tam_project_t *pj = r->project;
    const tam_earmarks_t *e = pj->earmarks;
    tam_match_project_t *p = &o->p;
    snprintf(p->id, sizeof p->id, "%s", pj->id);
    p->status = pj->status;
    p->received = r->received;
    p->start = pj->start;
    p->end = pj->end;
    p->post_conflict_only = e->post_conflict_only;
    p->max_per_need = e->max_per_need;
    uint32_t n = e->countries.n;
    p->e_countries = calloc(n + 1, sizeof *p->e_countries);
    p->e_groups = calloc(e->groups.n + 1, sizeof *p->e_groups);
    p->e_regions = calloc(e->regions.n + 1, sizeof *p->e_regions);
    p->e_standards = calloc(e->standards.n + 1, sizeof *p->e_standards);
    p->e_modalities = calloc(e->modalities.n + 1, sizeof *p->e_modalities);
    p->donors = calloc(pj->donors.n + 1, sizeof *p->donors);
    if (!p->e_countries || !p->e_groups || !p->e_regions || !p->e_standards || !p->e_modalities ||
        !p->donors)
        return TAM_ENOMEM;
    for (uint32_t i = 0; i < e->countries.n; i++) {
        int c = tam_match__country_ix(m, e->countries.v[i]);
        if (c < 0)
            o->nu_geo++;
        else
            p->e_countries[p->ne_countries++] = (uint16_t)c;
    }
    qsort(p->e_countries, p->ne_countries, sizeof *p->e_countries, s_cmp_u16);
    char *gs[8];
    uint32_t ng = 0;
    for (uint32_t i = 0; i < e->groups.n && ng < 8; i++) {
        if (tam_catalog_group(m->cat, e->groups.v[i]))
            gs[ng++] = e->groups.v[i];
        else
            o->nu_geo++;
    }
    qsort(gs, ng, sizeof *gs, s_cmp_str);
    for (uint32_t i = 0; i < ng; i++)
        snprintf(p->e_groups[p->ne_groups++], 8, "%s", gs[i]);
    for (uint32_t i = 0; i < e->regions.n; i++) {
        const char *s = e->regions.v[i];
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (!*s || *end || v <= 0 || v > 999 || !tam_catalog_area(m->cat, (uint16_t)v))
            o->nu_geo++;
        else
            p->e_regions[p->ne_regions++] = (uint16_t)v;
    }
    qsort(p->e_regions, p->ne_regions, sizeof *p->e_regions, s_cmp_u16);
    uint32_t nc = 0;
    for (uint32_t i = 0; i < e->categories.n && nc < 4; i++) {
        char c = e->categories.v[i][0];
        if (tam_catalog_category(m->cat, c) && !strchr(p->e_categories, c))
            p->e_categories[nc++] = c;
        else
            o->nu_th++;
    }
    qsort(p->e_categories, nc, 1, s_cmp_u8);
    for (uint32_t i = 0; i < e->standards.n; i++) {
        int s = tam_match__standard_ix(m, e->standards.v[i]);
        if (s < 0)
            o->nu_th++;
        else
            p->e_standards[p->ne_standards++] = (uint16_t)s;
    }
    qsort(p->e_standards, p->ne_standards, sizeof *p->e_standards, s_cmp_u16);
    for (uint32_t i = 0; i < e->modalities.n; i++) {
        int s = tam_match__modality_ix(m, e->modalities.v[i]);
        if (s < 0)
            o->nu_md++;
        else
            p->e_modalities[p->ne_modalities++] = (uint8_t)s;
    }
    qsort(p->e_modalities, p->ne_modalities, 1, s_cmp_u8);
    for (uint32_t i = 0; i < pj->donors.n; i++)
        snprintf(p->donors[p->ndonors++], TAM_MATCH_ID_MAX + 1, "%s", pj->donors.v[i].donor);
    if (o->nu_geo || o->nu_th || o->nu_md)
        tam_warn("feed: project %s earmarks %u code(s) unknown to the catalogue; they match "
                 "nothing", p->id, o->nu_geo + o->nu_th + o->nu_md);
    return 0;
}

/* Canonical form: everything matching uses, lists sorted (their order does
 * not matter), donors in the project's order (it is shown). */
static void s_project_digest(const tam_match_t *m, const s_proj_t *o, uint8_t d[32])
{
    const tam_match_project_t *p = &o->p;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 17);
    s_str(&pk, p->id);
    s_str(&pk, tam_enum_project_status.values[p->status]);
    msgpack_pack_int64(&pk, p->received);
    s_date(&pk, p->start);
    s_date(&pk, p->end);
    msgpack_pack_array(&pk, p->ndonors);
    for (uint32_t i = 0; i < p->ndonors; i++)
        s_str(&pk, p->donors[i]);
    msgpack_pack_array(&pk, p->ne_countries);
    for (uint32_t i = 0; i < p->ne_countries; i++)
        s_str(&pk, tam_match__country(m, p->e_countries[i])->iso3);
    msgpack_pack_array(&pk, p->ne_groups);
    for (uint32_t i = 0; i < p->ne_groups; i++)
        s_str(&pk, p->e_groups[i]);
    msgpack_pack_array(&pk, p->ne_regions);
    for (uint32_t i = 0; i < p->ne_regions; i++)
        msgpack_pack_uint64(&pk, p->e_regions[i]);
    s_str(&pk, p->e_categories);
    msgpack_pack_array(&pk, p->ne_standards);
    for (uint32_t i = 0; i < p->ne_standards; i++)
        s_str(&pk, tam_match__standard(m, p->e_standards[i])->id);
    msgpack_pack_array(&pk, p->ne_modalities);
    for (uint32_t i = 0; i < p->ne_modalities; i++)
        s_str(&pk, tam_match__modality(m, p->e_modalities[i])->code);
    /* unknown codes: they restrict without matching */
    msgpack_pack_uint64(&pk, o->nu_geo);
    msgpack_pack_uint64(&pk, o->nu_th);
    msgpack_pack_uint64(&pk, o->nu_md);
    if (p->post_conflict_only)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    msgpack_pack_int64(&pk, p->max_per_need);
    s_digest(&sb, d);
    msgpack_sbuffer_destroy(&sb);
}

/* A slot for project id (new: appended, with its numeric key). */
static int s_project_slot(tam_match_t *m, const char *id, uint32_t *out)
{
    uint64_t h = tam_match_str_hash(id, strlen(id));
    uint32_t slot = tam_match_map_get(&m->project_map, h);
    if (slot != TAM_MATCH_NONE) {
        if (strcmp(m->projects[slot].id, id) != 0) {
            tam_error("feed: project %s collides with project %s in the matcher's index; "
                      "it is ignored", id, m->projects[slot].id);
            return TAM_ECONFLICT;
        }
        *out = slot;
        return 0;
    }
    if (m->nprojects >= TAM_MATCH_PROJECTS_MAX)
        return TAM_ETOOBIG;
    int rc = s_grow((void **)&m->projects, &m->cap_projects, m->nprojects + 1,
                    sizeof *m->projects);
    if (rc)
        return rc;
    slot = m->nprojects;
    if ((rc = tam_match_map_put(&m->project_map, h, slot)))
        return rc;
    m->nprojects++;
    tam_match_project_t *p = &m->projects[slot];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    uint8_t d[32];
    crypto_hash_sha256(d, (const unsigned char *)id, strlen(id));
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | d[i];
    p->key = (k & INT64_MAX) ? (k & INT64_MAX) : 1;
    p->flow = TAM_MATCH_NONE;
    *out = slot;
    return 0;
}

int tam_match_apply_project(tam_match_t *m, const void *body, size_t len)
{
    tam_project_rec_t r;
    int rc = s_decode(m, &tam_schema_project_rec, body, len, &r, "project");
    if (rc)
        return rc;
    if (!s_id_ok(r.project->id) || r.project->start > r.project->end) {
        m->st.bad_records++;
        tam_warn("feed: project record refused: bad id or window");
        return TAM_EINVAL;
    }
    s_proj_t o;
    memset(&o, 0, sizeof o);
    uint32_t slot;
    if ((rc = s_project_build(m, &r, &o)) || (rc = s_project_slot(m, o.p.id, &slot))) {
        s_project_free(&o.p);
        return rc;
    }
    uint8_t d[32];
    s_project_digest(m, &o, d);
    tam_match_project_t *p = &m->projects[slot];
    p->gen = m->gen[TAM_MATCH_FEED_REGISTRY];
    if (p->present && memcmp(p->digest, d, 32) == 0) {
        s_project_free(&o.p);
        return 0;
    }
    /* Move the new content in; keep the slot's identity and solver state. */
    s_project_free(p);
    tam_match_project_t keep = *p;
    *p = o.p;
    p->key = keep.key;
    p->gen = keep.gen;
    p->dirty = keep.dirty;
    p->flow = keep.flow;
    p->flow_budget = keep.flow_budget;
    p->flow_mpn = keep.flow_mpn;
    p->can_fund = keep.can_fund;
    p->committed = keep.committed;
    p->committed_out = keep.committed_out;
    p->fixed_arcs = keep.fixed_arcs;
    p->available = keep.available;
    p->eligible_needs = keep.eligible_needs;
    p->present = true;
    memcpy(p->digest, d, 32);
    tam_match__compile(m, p);
    /* unknown codes keep a non-empty earmark restrictive */
    if (o.nu_geo && !p->ne_countries && !p->ne_groups && !p->ne_regions)
        memset(p->geo, 0, sizeof p->geo);
    if (o.nu_th && !p->ne_standards && !p->e_categories[0])
        for (size_t i = 0; i < TAM_MATCH_MAX_STANDARDS; i++)
            p->th[i] = -1;
    if (o.nu_md && !p->ne_modalities)
        for (size_t i = 0; i < TAM_MATCH_MAX_MODALITIES; i++)
            p->md[i] = -1;
    return tam_match__dirty_project(m, slot);
}

static int s_project_remove(tam_match_t *m, const char *id)
{
    uint32_t slot = tam_match__project_slot(m, id);
    if (slot == TAM_MATCH_NONE || !m->projects[slot].present)
        return 0;
    m->projects[slot].present = false;
    memset(m->projects[slot].digest, 0, 32);
    return tam_match__dirty_project(m, slot);
}

/* ---- planning context ---------------------------------------------------------------- */

int tam_match_apply_context(tam_match_t *m, const void *body, size_t len)
{
    tam_context_t r;
    int rc = s_decode(m, &tam_schema_context, body, len, &r, "context");
    if (rc)
        return rc;
    tam_match_mission_t ms[TAM_MATCH_MAX_COUNTRIES];
    memset(ms, 0, sizeof ms);
    for (uint32_t i = 0; i < r.missions.n; i++) {
        const tam_mission_t *x = &r.missions.v[i];
        int c = tam_match__country_ix(m, x->country);
        if (c < 0) {
            tam_warn("feed: context mission %u: country unknown to the catalogue; ignored", i);
            continue;
        }
        tam_match_mission_t *o = &ms[c];
        if (o->present && o->valid_from <= x->valid_from)
            continue; /* one entry per country: keep the earliest valid */
        memset(o, 0, sizeof *o);
        o->present = true;
        o->valid_from = x->valid_from;
        snprintf(o->operation, sizeof o->operation, "%s", x->operation);
        for (uint32_t j = 0; j < x->priorities.n; j++) {
            int s = tam_match__standard_ix(m, x->priorities.v[j]);
            if (s >= 0)
                o->prio[s / 64] |= 1ULL << (s % 64);
        }
    }
    /* canonical: missions by country (catalogue order), priorities by standard */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint32_t nm = 0;
    for (size_t c = 0; c < m->ncountries; c++)
        nm += ms[c].present;
    msgpack_pack_array(&pk, nm);
    for (size_t c = 0; c < m->ncountries; c++) {
        if (!ms[c].present)
            continue;
        msgpack_pack_array(&pk, 4);
        s_str(&pk, tam_match__country(m, (uint32_t)c)->iso3);
        s_str(&pk, ms[c].operation);
        s_date(&pk, ms[c].valid_from);
        uint32_t np = 0;
        for (size_t s = 0; s < m->nstandards; s++)
            np += (ms[c].prio[s / 64] >> (s % 64)) & 1;
        msgpack_pack_array(&pk, np);
        for (size_t s = 0; s < m->nstandards; s++)
            if ((ms[c].prio[s / 64] >> (s % 64)) & 1)
                s_str(&pk, tam_match__standard(m, (uint32_t)s)->id);
    }
    uint8_t d[32];
    s_digest(&sb, d);
    msgpack_sbuffer_destroy(&sb);
    m->ctx_gen = m->gen[TAM_MATCH_FEED_REGISTRY];
    if (m->ctx_present && memcmp(d, m->ctx_digest, 32) == 0)
        return 0;
    memcpy(m->missions, ms, sizeof ms);
    memcpy(m->ctx_digest, d, 32);
    m->ctx_present = true;
    m->full = true;
    m->changed = true;
    return 0;
}

static void s_context_clear(tam_match_t *m)
{
    if (!m->ctx_present)
        return;
    memset(m->missions, 0, sizeof m->missions);
    memset(m->ctx_digest, 0, 32);
    m->ctx_present = false;
    m->full = true;
    m->changed = true;
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
    uint32_t ns = tam_match__need_slot(m, d->need);
    return ns == TAM_MATCH_NONE ? 0 : tam_match__dirty_need(m, ns);
}

int tam_match_apply_decision(tam_match_t *m, const void *body, size_t len)
{
    tam_decision_t r;
    int rc = s_decode(m, &tam_schema_decision, body, len, &r, "decision");
    if (rc)
        return rc;
    if (r.need == 0 || r.need > TAM_MATCH_NEED_ID_MAX || !s_id_ok(r.project)) {
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
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint64(&pk, r.need);
    s_str(&pk, r.project);
    s_str(&pk, r.country);
    s_str(&pk, tam_enum_decision_state.values[r.state]);
    msgpack_pack_int64(&pk, r.endorsed);
    msgpack_pack_int64(&pk, r.committed);
    uint8_t d[32];
    s_digest(&sb, d);
    msgpack_sbuffer_destroy(&sb);

    uint32_t slot = tam_match_map_get(&m->dec_map, h);
    if (slot != TAM_MATCH_NONE &&
        (m->decs[slot].need != r.need || strcmp(m->decs[slot].project, r.project) != 0)) {
        tam_error("feed: decision %s collides in the matcher's index; ignored", key);
        return TAM_ECONFLICT;
    }
    if (slot == TAM_MATCH_NONE) {
        if ((rc = s_grow((void **)&m->decs, &m->cap_decs, m->ndecs + 1, sizeof *m->decs)))
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
            return s_project_remove(m, id);
        }
        return tam_match_apply_project(m, body, len);
    }
    if (feed == TAM_MATCH_FEED_REGISTRY && tn == 7 && memcmp(topic, "context", 7) == 0) {
        if (len == 0) {
            s_context_clear(m);
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
                s_project_remove(m, m->projects[i].id);
        if (m->ctx_present && m->ctx_gen != g)
            s_context_clear(m);
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

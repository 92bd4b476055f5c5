/* match_project.c — projects and the planning context from the registry
 * feed: each project reduced to what matching uses (earmark codes resolved
 * against the catalogue, lists sorted), digested, compiled for fast
 * eligibility checks; the planning context per mission country. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_int.h"

void tam_match__project_free(tam_match_project_t *p)
{
    free(p->e_countries);
    free(p->e_groups);
    free(p->e_regions);
    free(p->e_standards);
    free(p->e_modalities);
    free(p->donors);
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

bool tam_match__id_ok(const char *id)
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
    tam_match__pack_str(&pk, p->id);
    tam_match__pack_str(&pk, tam_enum_project_status.values[p->status]);
    msgpack_pack_int64(&pk, p->received);
    tam_match__pack_date(&pk, p->start);
    tam_match__pack_date(&pk, p->end);
    msgpack_pack_array(&pk, p->ndonors);
    for (uint32_t i = 0; i < p->ndonors; i++)
        tam_match__pack_str(&pk, p->donors[i]);
    msgpack_pack_array(&pk, p->ne_countries);
    for (uint32_t i = 0; i < p->ne_countries; i++)
        tam_match__pack_str(&pk, tam_match__country(m, p->e_countries[i])->iso3);
    msgpack_pack_array(&pk, p->ne_groups);
    for (uint32_t i = 0; i < p->ne_groups; i++)
        tam_match__pack_str(&pk, p->e_groups[i]);
    msgpack_pack_array(&pk, p->ne_regions);
    for (uint32_t i = 0; i < p->ne_regions; i++)
        msgpack_pack_uint64(&pk, p->e_regions[i]);
    tam_match__pack_str(&pk, p->e_categories);
    msgpack_pack_array(&pk, p->ne_standards);
    for (uint32_t i = 0; i < p->ne_standards; i++)
        tam_match__pack_str(&pk, tam_match__standard(m, p->e_standards[i])->id);
    msgpack_pack_array(&pk, p->ne_modalities);
    for (uint32_t i = 0; i < p->ne_modalities; i++)
        tam_match__pack_str(&pk, tam_match__modality(m, p->e_modalities[i])->code);
    /* unknown codes: they restrict without matching */
    msgpack_pack_uint64(&pk, o->nu_geo);
    msgpack_pack_uint64(&pk, o->nu_th);
    msgpack_pack_uint64(&pk, o->nu_md);
    if (p->post_conflict_only)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    msgpack_pack_int64(&pk, p->max_per_need);
    tam_match__digest(&sb, d);
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
    int rc = tam_match__grow((void **)&m->projects, &m->cap_projects, m->nprojects + 1,
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
    m->mgen++; /* the inputs of explanations' money (match_money.c) */
    tam_project_rec_t r;
    int rc = tam_match__decode(m, &tam_schema_project_rec, body, len, &r, "project");
    if (rc)
        return rc;
    if (!tam_match__id_ok(r.project->id) || r.project->start > r.project->end) {
        m->st.bad_records++;
        tam_warn("feed: project record refused: bad id or window");
        return TAM_EINVAL;
    }
    s_proj_t o;
    memset(&o, 0, sizeof o);
    uint32_t slot;
    if ((rc = s_project_build(m, &r, &o)) || (rc = s_project_slot(m, o.p.id, &slot))) {
        tam_match__project_free(&o.p);
        return rc;
    }
    uint8_t d[32];
    s_project_digest(m, &o, d);
    tam_match_project_t *p = &m->projects[slot];
    p->gen = m->gen[TAM_MATCH_FEED_REGISTRY];
    if (p->present && memcmp(p->digest, d, 32) == 0) {
        tam_match__project_free(&o.p);
        return 0;
    }
    /* Move the new content in; keep the slot's identity and solver state. */
    tam_match__project_free(p);
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

int tam_match__project_remove(tam_match_t *m, const char *id)
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
    m->mgen++; /* the inputs of explanations' money (match_money.c) */
    tam_context_t r;
    int rc = tam_match__decode(m, &tam_schema_context, body, len, &r, "context");
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
        tam_match__pack_str(&pk, tam_match__country(m, (uint32_t)c)->iso3);
        tam_match__pack_str(&pk, ms[c].operation);
        tam_match__pack_date(&pk, ms[c].valid_from);
        uint32_t np = 0;
        for (size_t s = 0; s < m->nstandards; s++)
            np += (ms[c].prio[s / 64] >> (s % 64)) & 1;
        msgpack_pack_array(&pk, np);
        for (size_t s = 0; s < m->nstandards; s++)
            if ((ms[c].prio[s / 64] >> (s % 64)) & 1)
                tam_match__pack_str(&pk, tam_match__standard(m, (uint32_t)s)->id);
    }
    uint8_t d[32];
    tam_match__digest(&sb, d);
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

void tam_match__context_clear(tam_match_t *m)
{
    if (!m->ctx_present)
        return;
    memset(m->missions, 0, sizeof m->missions);
    memset(m->ctx_digest, 0, 32);
    m->ctx_present = false;
    m->full = true;
    m->changed = true;
}

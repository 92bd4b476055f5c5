/* catalog_answer.c — the answer to catalog.get, which the service loop gives from the
 * catalogue a service loaded (see tam/service.h, proto/PROTOCOL.md struct catalog). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "tam/catalog.h"
#include "tam/error.h"
#include "tam/proto.h"
#include "tam/service.h"

static char *s_dup(tam_arena_t *a, const char *s)
{
    return tam_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

/* A code as digits, zero-padded to width. */
static char *s_code(tam_arena_t *a, int width, unsigned v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%0*u", width, v);
    return s_dup(a, buf);
}

/* Sets vec to n zeroed elements from a; false when out of memory. */
#define S_ALLOC(a, vec, n)                                                               \
    ((vec).n = (uint32_t)(n),                                                            \
     (vec).v = (n) ? tam_arena_alloc(a, (n) * sizeof *(vec).v) : NULL, !(n) || (vec).v)

/* Fills c (all but version) from cat. Returns 0 or TAM_ENOMEM. */
static int s_fill(const tam_catalog_t *cat, tam_arena_t *a, tam_catalogue_t *c)
{
    size_t n = tam_catalog_ncountries(cat);
    if (!S_ALLOC(a, c->countries, n))
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tam_country_t *k = tam_catalog_country_at(cat, i);
        tam_cat_country_t *o = &c->countries.v[i];
        memset(o, 0, sizeof *o);
        o->iso3 = s_dup(a, k->iso3);
        o->name = s_dup(a, k->name);
        o->group = s_dup(a, k->group);
        o->ldc = k->ldc;
        uint16_t areas[3] = {k->region, k->subregion, k->intermediate};
        o->areas.v = tam_arena_alloc(a, 3 * sizeof *o->areas.v);
        if (!o->areas.v)
            return TAM_ENOMEM;
        for (int j = 0; j < 3; j++)
            if (areas[j])
                o->areas.v[o->areas.n++] = s_code(a, 3, areas[j]);
    }
    n = tam_catalog_ngroups(cat);
    if (!S_ALLOC(a, c->groups, n))
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tam_group_t *g = tam_catalog_group_at(cat, i);
        c->groups.v[i] = (tam_cat_group_t){.code = s_dup(a, g->code), .name = s_dup(a, g->name)};
    }
    n = tam_catalog_nareas(cat);
    if (!S_ALLOC(a, c->areas, n))
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tam_area_t *r = tam_catalog_area_at(cat, i);
        const char *kind = r->kind == TAM_AREA_REGION      ? "region"
                           : r->kind == TAM_AREA_SUBREGION ? "subregion"
                                                           : "intermediate";
        c->areas.v[i] = (tam_cat_area_t){.code = s_code(a, 3, r->m49),
                                         .name = s_dup(a, r->name), .kind = (char *)kind};
    }
    n = tam_catalog_ncategories(cat);
    if (!S_ALLOC(a, c->categories, n))
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tam_category_t *k = tam_catalog_category_at(cat, i);
        char code[2] = {k->code, 0};
        c->categories.v[i] = (tam_cat_category_t){.code = s_dup(a, code),
                                                  .title = s_dup(a, k->title)};
    }
    n = tam_catalog_nstandards(cat);
    if (!S_ALLOC(a, c->standards, n))
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tam_standard_t *s = tam_catalog_standard_at(cat, i);
        char code[2] = {s->category, 0};
        c->standards.v[i] = (tam_cat_standard_t){
            .id = s_dup(a, s->id), .category = s_dup(a, code), .short_name = s_dup(a, s->short_name),
            .title = s_dup(a, s->title), .dac = s->dac_code ? s_code(a, 5, s->dac_code) : NULL};
    }
    n = tam_catalog_nmodalities(cat);
    if (!S_ALLOC(a, c->modalities, n))
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tam_modality_t *m = tam_catalog_modality_at(cat, i);
        c->modalities.v[i] = (tam_cat_modality_t){.code = s_dup(a, m->code),
                                                  .title = s_dup(a, m->title)};
    }
    n = tam_catalog_ndac(cat);
    if (!S_ALLOC(a, c->dac, n))
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tam_dac_t *d = tam_catalog_dac_at(cat, i);
        c->dac.v[i] = (tam_cat_dac_t){.code = s_code(a, 5, d->code),
                                      .name = s_dup(a, d->name), .active = d->active};
    }
    return 0;
}

int tam_service_catalog_answer(const tam_catalog_t *cat, const tam_rpc_req_t *req,
                               tam_answer_t *out)
{
    tam_arena_t *a = tam_arena_new(1 << 16);
    if (!a)
        return TAM_ENOMEM;
    tam_catalog_query_t q;
    tam_catalogue_t c;
    memset(&c, 0, sizeof c);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char version[65];
    int rc = tam_request_decode(&tam_schema_catalog_query, req->body, req->body_len, a, &q,
                                &out->error);
    if (rc)
        goto out;
    if ((rc = s_fill(cat, a, &c)))
        goto out;
    /* the version: SHA-256 of the answer with an empty version */
    c.version = "";
    if ((rc = tam_encode_sbuf(&tam_schema_catalogue, &c, &sb, NULL)))
        goto out;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)sb.data, sb.size);
    sodium_bin2hex(version, sizeof version, h, sizeof h);
    msgpack_sbuffer_destroy(&sb);
    if (q.if_version && strcmp(q.if_version, version) == 0)
        memset(&c, 0, sizeof c); /* the client has it: the version alone */
    c.version = version;
    if ((rc = tam_encode_sbuf(&tam_schema_catalogue, &c, &sb, NULL)))
        goto out;
    rc = tam_answer_ok(out, sb.data, sb.size);
out:
    msgpack_sbuffer_destroy(&sb);
    tam_arena_destroy(&a);
    return rc;
}

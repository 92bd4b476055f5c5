/* bench_gen.h — the matcher benchmarks' generated inputs (bench_match, bench_whatif):
 * one random open need, one random active project with random earmarks, applied to an
 * engine as feed records. The including file defines s_rand() (its generator, so that
 * its seed decides the instance) and s_cat (the catalogue) before including this. */
#ifndef TAM_BENCH_GEN_H
#define TAM_BENCH_GEN_H

static const char *s_date(int y, int m, int d, char *b)
{
    snprintf(b, 11, "%04d-%02d-%02d", y, m, d);
    return b;
}

static int s_need(tam_match_t *m, uint64_t id)
{
    static const char *mods[] = {"training", "advisory", "legislative", "assessment", "workshop",
                                 "tools"};
    const tam_country_t *c = tam_catalog_country_at(s_cat, s_rand() % tam_catalog_ncountries(s_cat));
    const tam_standard_t *st =
        tam_catalog_standard_at(s_cat, s_rand() % tam_catalog_nstandards(s_cat));
    char cat[2] = {st->category, 0}, b1[11], b2[11];
    int y = 2026 + (int)(s_rand() % 2), mo = 1 + (int)(s_rand() % 12);
    uint32_t start, end;
    tam_date_parse(s_date(y, mo, 1, b1), 10, &start);
    tam_date_parse(s_date(y + 1, mo, 28, b2), 10, &end);
    tam_need_t r = {.id = id, .reply_id = id / 6 + 1, .respondent = (char *)c->iso3,
                    .country = (char *)c->iso3, .category = cat, .standard = (char *)st->id,
                    .modality = (char *)mods[s_rand() % 6],
                    .priority = 1 + (int64_t)(s_rand() % 5),
                    .cost = 10000 * (1 + (int64_t)(s_rand() % 50)) + (int64_t)(s_rand() % 997),
                    .start = start, .end = end, .completeness = (int64_t)(s_rand() % 101),
                    .status = TAM_E_need_status_open};
    msgpack_sbuffer sb;
    int rc = tam_encode_sbuf(&tam_schema_need, &r, &sb, NULL);
    if (rc == 0)
        rc = tam_match_apply(m, 0, "need/X/A", 8, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int s_project(tam_match_t *m, int j)
{
    static char *groups[] = {"AFRICAN", "APG", "GRULAC", "EEG", "WEOG"};
    static char *regions[] = {"002", "202", "014", "419", "142", "150", "145", "009"};
    static char *cats[] = {"A", "B", "C", "D"};
    static char *mods[] = {"training", "advisory", "legislative", "assessment"};
    char id[16];
    snprintf(id, sizeof id, "PRJ%04d", j);
    char *g[2], *rg[2], *ca[2], *md[2], *sd[2];
    tam_earmarks_t e;
    memset(&e, 0, sizeof e);
    switch (s_rand() % 4) {
    case 0: g[0] = groups[s_rand() % 5]; e.groups.n = 1; e.groups.v = g; break;
    case 1: rg[0] = regions[s_rand() % 8]; e.regions.n = 1; e.regions.v = rg; break;
    case 2:
        g[0] = groups[s_rand() % 5];
        g[1] = groups[s_rand() % 5];
        e.groups.n = g[0] == g[1] ? 1 : 2;
        e.groups.v = g;
        break;
    default: break;
    }
    switch (s_rand() % 3) {
    case 0: ca[0] = cats[s_rand() % 4]; e.categories.n = 1; e.categories.v = ca; break;
    case 1: {
        const tam_standard_t *a = tam_catalog_standard_at(s_cat, s_rand() % tam_catalog_nstandards(s_cat)),
                             *b = tam_catalog_standard_at(s_cat, s_rand() % tam_catalog_nstandards(s_cat));
        sd[0] = (char *)a->id;
        sd[1] = (char *)b->id;
        e.standards.n = a == b ? 1 : 2;
        e.standards.v = sd;
        break;
    }
    default: break;
    }
    if (s_rand() % 3 == 0) {
        md[0] = mods[s_rand() % 4];
        md[1] = mods[s_rand() % 4];
        e.modalities.n = md[0] == md[1] ? 1 : 2;
        e.modalities.v = md;
    }
    if (s_rand() % 4 == 0)
        e.max_per_need = 50000 + (int64_t)(s_rand() % 200000);
    tam_share_t sh = {.donor = "NOR", .percent = 100};
    int64_t received = 200000 + (int64_t)(s_rand() % 3000000);
    tam_project_t p = {.id = id, .title = "bench", .budget = received,
                       .budget_status = TAM_E_budget_status_committed, .start = 20260101,
                       .end = 20291231, .status = TAM_E_project_status_active, .dac = "15130",
                       .earmarks = &e};
    p.donors.n = 1;
    p.donors.v = &sh;
    tam_project_rec_t r = {.project = &p, .pledged = received, .received = received,
                           .revision = 1};
    msgpack_sbuffer sb;
    int rc = tam_encode_sbuf(&tam_schema_project_rec, &r, &sb, NULL);
    if (rc == 0)
        rc = tam_match_apply_project(m, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

#endif

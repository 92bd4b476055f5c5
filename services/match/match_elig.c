/* match_elig.c — eligibility of a (need, project) pair and the factor values
 * of its score, as docs/matching.md states them. A project's earmarks are
 * compiled once per change into a country bitset and per-standard and
 * per-modality tables, so that the check of one pair is a few lookups (a full
 * run checks every need against every project). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tam/codec.h"
#include "match_int.h"

#define S_BIT(set, i) (((set)[(i) / 64] >> ((i) % 64)) & 1)

bool tam_match__narrowed(const tam_match_t *m, const tam_match_project_t *p, char category)
{
    for (uint32_t i = 0; i < p->ne_standards; i++)
        if (tam_match__standard(m, p->e_standards[i])->category == category)
            return true;
    return false;
}

void tam_match__compile(const tam_match_t *m, tam_match_project_t *p)
{
    memset(p->geo, 0, sizeof p->geo);
    bool any_geo = !p->ne_countries && !p->ne_groups && !p->ne_regions;
    for (size_t c = 0; c < m->ncountries; c++) {
        const tam_country_t *ct = tam_match__country(m, (uint32_t)c);
        bool in = any_geo;
        for (uint32_t i = 0; !in && i < p->ne_countries; i++)
            in = p->e_countries[i] == c;
        for (uint32_t i = 0; !in && i < p->ne_groups; i++)
            in = strcmp(p->e_groups[i], ct->group) == 0;
        for (uint32_t i = 0; !in && i < p->ne_regions; i++)
            in = tam_catalog_country_in_area(ct, p->e_regions[i]);
        if (in)
            p->geo[c / 64] |= 1ULL << (c % 64);
    }
    /* Listed standards narrow their category: a listed category counts as
     * a whole only when none of its standards is listed. */
    bool any_th = !p->ne_standards && !p->e_categories[0];
    for (size_t s = 0; s < TAM_MATCH_MAX_STANDARDS; s++) {
        p->th[s] = -1;
        if (s >= m->nstandards)
            continue;
        bool exact = false;
        for (uint32_t i = 0; !exact && i < p->ne_standards; i++)
            exact = p->e_standards[i] == s;
        char cat = tam_match__standard(m, (uint32_t)s)->category;
        if (exact)
            p->th[s] = TAM_MATCH_TH_EXACT;
        else if (strchr(p->e_categories, cat) && !tam_match__narrowed(m, p, cat))
            p->th[s] = TAM_MATCH_TH_CATEGORY;
        else if (any_th)
            p->th[s] = TAM_MATCH_TH_ANY;
    }
    for (size_t k = 0; k < TAM_MATCH_MAX_MODALITIES; k++) {
        p->md[k] = -1;
        if (k >= m->nmodalities)
            continue;
        if (!p->ne_modalities)
            p->md[k] = TAM_MATCH_MOD_ANY;
        for (uint32_t i = 0; i < p->ne_modalities; i++)
            if (p->e_modalities[i] == k)
                p->md[k] = TAM_MATCH_MOD_EXPLICIT;
    }
}

void tam_match__missions_on(tam_match_t *m, uint32_t date)
{
    memset(m->mission_on, 0, sizeof m->mission_on);
    for (size_t c = 0; c < m->ncountries; c++)
        if (m->missions[c].present && m->missions[c].valid_from <= date)
            m->mission_on[c / 64] |= 1ULL << (c % 64);
}

tam_match_excl_t tam_match__elig(const tam_match_t *m, const tam_match_need_t *n,
                                 const tam_match_project_t *p, bool declined)
{
    if (!p->can_fund)
        return TAM_MATCH_X_PROJECT;
    if (!n->open)
        return TAM_MATCH_X_NEED;
    if (!S_BIT(p->geo, n->country))
        return TAM_MATCH_X_GEO;
    if (p->th[n->standard] < 0)
        return TAM_MATCH_X_THEMATIC;
    if (p->md[n->modality] < 0)
        return TAM_MATCH_X_MODALITY;
    if (p->post_conflict_only && !S_BIT(m->mission_on, n->country))
        return TAM_MATCH_X_CONFLICT;
    if (n->start > p->end || p->start > n->end)
        return TAM_MATCH_X_WINDOW;
    if (declined)
        return TAM_MATCH_X_DECLINED;
    return TAM_MATCH_ELIGIBLE;
}

const char *tam_match__excl_text(tam_match_excl_t x)
{
    switch (x) {
    case TAM_MATCH_ELIGIBLE:
        return "eligible";
    case TAM_MATCH_X_PROJECT:
        return "project not active or without available money";
    case TAM_MATCH_X_NEED:
        return "need not open";
    case TAM_MATCH_X_GEO:
        return "country outside the geographic earmarks";
    case TAM_MATCH_X_THEMATIC:
        return "standard outside the thematic earmarks";
    case TAM_MATCH_X_MODALITY:
        return "modality outside the modality earmarks";
    case TAM_MATCH_X_CONFLICT:
        return "post-conflict only, not a mission country";
    case TAM_MATCH_X_WINDOW:
        return "windows do not overlap";
    case TAM_MATCH_X_DECLINED:
        return "declined";
    default:
        return "?";
    }
}

static int32_t s_context(const tam_match_t *m, const tam_match_need_t *n)
{
    if (!S_BIT(m->mission_on, n->country))
        return 0;
    return TAM_MATCH_CTX_MISSION +
           (S_BIT(m->missions[n->country].prio, n->standard) ? TAM_MATCH_CTX_PRIORITY : 0);
}

void tam_match__factors(const tam_match_t *m, const tam_match_need_t *n,
                        const tam_match_project_t *p, uint32_t date, tam_match_factors_t *f)
{
    (void)date; /* the urgency rank (n->urg_v) is computed for the run date */
    f->v[TAM_MATCH_F_PRIORITY] = n->prio_v;
    f->v[TAM_MATCH_F_CONTEXT] = s_context(m, n);
    f->v[TAM_MATCH_F_THEMATIC] = p->th[n->standard] < 0 ? 0 : p->th[n->standard];
    f->v[TAM_MATCH_F_MODALITY] = p->md[n->modality] < 0 ? 0 : p->md[n->modality];
    f->v[TAM_MATCH_F_URGENCY] = n->urg_v;
    f->v[TAM_MATCH_F_EQUITY] = tam_match_f_equity(m->country_fixed[n->country],
                                                  m->par.equity_scale);
    f->v[TAM_MATCH_F_LDC] = tam_match__country(m, n->country)->ldc ? TAM_MATCH_ONE : 0;
    f->v[TAM_MATCH_F_COMPLETENESS] = tam_match_f_completeness(n->completeness);
}

int64_t tam_match__npart(const tam_match_t *m, const tam_match_need_t *n, uint32_t date)
{
    (void)date;
    const int64_t *w = m->par.w;
    return w[TAM_MATCH_F_PRIORITY] * n->prio_v +
           w[TAM_MATCH_F_CONTEXT] * s_context(m, n) +
           w[TAM_MATCH_F_URGENCY] * n->urg_v +
           w[TAM_MATCH_F_EQUITY] *
               tam_match_f_equity(m->country_fixed[n->country], m->par.equity_scale) +
           w[TAM_MATCH_F_LDC] * (tam_match__country(m, n->country)->ldc ? TAM_MATCH_ONE : 0) +
           w[TAM_MATCH_F_COMPLETENESS] * tam_match_f_completeness(n->completeness);
}

/* ---- explanations ------------------------------------------------------------------- */

const char *tam_match__usd(int64_t v, char buf[32])
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu",
                     (unsigned long long)(v < 0 ? -(uint64_t)v : (uint64_t)v));
    int o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

/* Appends printf text to b (capacity 200 incl. NUL), cutting with "..." when
 * it would not fit. */
typedef struct {
    char s[201];
    size_t n;
    bool cut;
} s_line_t;

static void s_add(s_line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_add(s_line_t *l, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if (l->cut || l->n >= 196)
        return;
    size_t room = 196 - l->n; /* keep space for "..." */
    if ((size_t)k > room) {
        while (room > 0 && ((unsigned char)tmp[room] & 0xC0) == 0x80)
            room--; /* never cut a UTF-8 character */
        memcpy(l->s + l->n, tmp, room);
        l->n += room;
        memcpy(l->s + l->n, "...", 4);
        l->n += 3;
        l->cut = true;
        return;
    }
    memcpy(l->s + l->n, tmp, (size_t)k + 1);
    l->n += (size_t)k;
}

static void s_geo_list(const tam_match_t *m, const tam_match_project_t *p, s_line_t *l)
{
    const char *sep = "";
    if (p->ne_countries) {
        s_add(l, "countries");
        for (uint32_t i = 0; i < p->ne_countries; i++)
            s_add(l, "%s%s", i ? "," : " ", tam_match__country(m, p->e_countries[i])->iso3);
        sep = "; ";
    }
    if (p->ne_groups) {
        s_add(l, "%sgroups", sep);
        for (uint32_t i = 0; i < p->ne_groups; i++)
            s_add(l, "%s%s", i ? "," : " ", p->e_groups[i]);
        sep = "; ";
    }
    if (p->ne_regions) {
        s_add(l, "%sM49 areas", sep);
        for (uint32_t i = 0; i < p->ne_regions; i++)
            s_add(l, "%s%03u", i ? "," : " ", p->e_regions[i]);
    }
    if (!p->ne_countries && !p->ne_groups && !p->ne_regions)
        s_add(l, "only codes unknown to the catalogue");
}

static char *s_keep(tam_arena_t *a, const s_line_t *l)
{
    return tam_arena_strndup(a, l->s, l->n);
}

size_t tam_match__explain_elig(const tam_match_t *m, const tam_match_need_t *n,
                               const tam_match_project_t *p, bool declined, uint32_t date,
                               tam_arena_t *a, char **out, size_t max)
{
    size_t k = 0;
    s_line_t l;
    char d1[11], d2[11], d3[11], d4[11], u1[32], u2[32];
    const tam_country_t *ct = tam_match__country(m, n->country);
    const tam_standard_t *st = tam_match__standard(m, n->standard);
    const char *md = tam_match__modality(m, n->modality)->code;
    tam_match_excl_t x = tam_match__elig(m, n, p, declined);
#define S_LINE(...)                                 \
    do {                                            \
        memset(&l, 0, sizeof l);                    \
        s_add(&l, __VA_ARGS__);                     \
        if (k < max && (out[k] = s_keep(a, &l)))    \
            k++;                                    \
    } while (0)
#define S_FAIL(rule) (x == (rule))

    if (S_FAIL(TAM_MATCH_X_PROJECT)) {
        if (!p->present)
            S_LINE("not eligible: project %s is not in the registry", p->id);
        else if (p->status != TAM_E_project_status_active)
            S_LINE("not eligible: project %s is %s, not active", p->id,
                   tam_enum_project_status.values[p->status]);
        else
            S_LINE("not eligible: project %s has no money available (received %s, committed "
                   "%s USD)", p->id, tam_match__usd(p->received, u1),
                   tam_match__usd(p->committed, u2));
        return k;
    }
    S_LINE("project %s is active and may still give %s USD in this run", p->id,
           tam_match__usd(p->available, u1));
    if (S_FAIL(TAM_MATCH_X_NEED)) {
        S_LINE("not eligible: need %llu is no longer open (a later reply of its respondent "
               "withdrew it); money decided on it stays", (unsigned long long)n->id);
        return k;
    }
    S_LINE("need %llu is open", (unsigned long long)n->id);

    memset(&l, 0, sizeof l);
    if (S_FAIL(TAM_MATCH_X_GEO)) {
        s_add(&l, "not eligible: country %s is outside the geographic earmarks (", ct->iso3);
        s_geo_list(m, p, &l);
        s_add(&l, ")");
    } else if (!p->ne_countries && !p->ne_groups && !p->ne_regions) {
        s_add(&l, "no geographic earmark: any country");
    } else {
        s_add(&l, "country %s is inside the geographic earmarks:", ct->iso3);
        bool any = false;
        for (uint32_t i = 0; i < p->ne_countries; i++)
            if (p->e_countries[i] == n->country) {
                s_add(&l, " listed");
                any = true;
            }
        for (uint32_t i = 0; i < p->ne_groups; i++)
            if (strcmp(p->e_groups[i], ct->group) == 0) {
                s_add(&l, "%s group %s", any ? "," : "", ct->group);
                any = true;
            }
        for (uint32_t i = 0; i < p->ne_regions; i++)
            if (tam_catalog_country_in_area(ct, p->e_regions[i])) {
                const tam_area_t *ar = tam_catalog_area(m->cat, p->e_regions[i]);
                s_add(&l, "%s M49 area %03u %s", any ? "," : "", p->e_regions[i],
                      ar ? ar->name : "");
                any = true;
            }
    }
    if (k < max && (out[k] = s_keep(a, &l)))
        k++;
    if (x == TAM_MATCH_X_GEO)
        return k;

    int th = p->th[n->standard];
    if (S_FAIL(TAM_MATCH_X_THEMATIC)) {
        memset(&l, 0, sizeof l);
        if (strchr(p->e_categories, st->category)) {
            /* the category is listed, but narrowed by the standards listed in it */
            s_add(&l, "not eligible: category %c is earmarked only for its listed standards (",
                  st->category);
            const char *sep = "";
            for (uint32_t i = 0; i < p->ne_standards; i++) {
                const tam_standard_t *ls = tam_match__standard(m, p->e_standards[i]);
                if (ls->category == st->category) {
                    s_add(&l, "%s%s", sep, ls->id);
                    sep = ",";
                }
            }
            s_add(&l, "), not %s", st->id);
        } else {
            s_add(&l, "not eligible: standard %s (category %c) is outside the thematic earmarks (",
                  st->id, st->category);
            if (p->e_categories[0])
                s_add(&l, "categories %s", p->e_categories);
            for (uint32_t i = 0; i < p->ne_standards; i++)
                s_add(&l, "%s%s", i ? "," : (p->e_categories[0] ? "; standards " : "standards "),
                      tam_match__standard(m, p->e_standards[i])->id);
            s_add(&l, ")");
        }
        if (k < max && (out[k] = s_keep(a, &l)))
            k++;
        return k;
    }
    if (th == TAM_MATCH_TH_EXACT)
        S_LINE("standard %s is earmarked by name", st->id);
    else if (th == TAM_MATCH_TH_CATEGORY)
        S_LINE("category %c of standard %s is earmarked as a whole (none of its standards is "
               "listed)", st->category, st->id);
    else
        S_LINE("no thematic earmark: any standard");

    if (S_FAIL(TAM_MATCH_X_MODALITY)) {
        memset(&l, 0, sizeof l);
        s_add(&l, "not eligible: modality %s is outside the modality earmarks (", md);
        for (uint32_t i = 0; i < p->ne_modalities; i++)
            s_add(&l, "%s%s", i ? "," : "", tam_match__modality(m, p->e_modalities[i])->code);
        s_add(&l, ")");
        if (k < max && (out[k] = s_keep(a, &l)))
            k++;
        return k;
    }
    if (p->md[n->modality] == TAM_MATCH_MOD_EXPLICIT)
        S_LINE("modality %s is earmarked", md);
    else
        S_LINE("no modality earmark: any modality");

    tam_date_format(date, d1);
    if (S_FAIL(TAM_MATCH_X_CONFLICT)) {
        S_LINE("not eligible: project funds post-conflict (mission) countries only, and %s is "
               "not a mission country of the planning context on %s", ct->iso3, d1);
        return k;
    }
    if (p->post_conflict_only)
        S_LINE("post-conflict only: %s is a mission country (%s) on %s", ct->iso3,
               m->missions[n->country].operation, d1);
    else
        S_LINE("not limited to post-conflict countries");

    tam_date_format(n->start, d1);
    tam_date_format(n->end, d2);
    tam_date_format(p->start, d3);
    tam_date_format(p->end, d4);
    if (S_FAIL(TAM_MATCH_X_WINDOW)) {
        S_LINE("not eligible: windows do not overlap (need %s..%s, project %s..%s)", d1, d2, d3,
               d4);
        return k;
    }
    S_LINE("windows overlap (need %s..%s, project %s..%s)", d1, d2, d3, d4);
    if (S_FAIL(TAM_MATCH_X_DECLINED)) {
        S_LINE("not eligible: the pair was declined in the pipeline");
        return k;
    }
    S_LINE("not declined");
    if (p->max_per_need > 0)
        S_LINE("at most %s USD per need", tam_match__usd(p->max_per_need, u1));
    else
        S_LINE("no per-need cap");
#undef S_LINE
#undef S_FAIL
    return k;
}

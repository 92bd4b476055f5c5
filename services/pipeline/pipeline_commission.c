/* pipeline_commission.c — the report to the Commission (ECOSOC 2004/28,
 * para 9): per standard, the difficulties respondents reported (9a), the
 * ways technical assistance could overcome them (9b) and the useful
 * practices (9c), each with how many respondents said it, by UN regional
 * group (organisations in a column of their own).
 *
 * Only current replies count. Statements are the same statement when their
 * texts are equal ignoring case and runs of spaces; a respondent is counted
 * once per statement however many of its replies make it. The text shown is
 * the first seen, with its spacing tidied. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "pipeline.h"

#define S_GROUPS_MAX 8 /* regional groups of the catalogue (5 today) */

enum { K_DIFFICULTY, K_ASSISTANCE, K_PRACTICE, K_N };
static const char *const s_kind_names[K_N] = {"difficulty (9a)", "assistance (9b)",
                                               "practice (9c)"};

typedef struct {
    const char *standard; /* arena */
    char category[2];
    size_t std_index;     /* position in the catalogue (sort order) */
    int kind;
    char *text;           /* tidied, arena */
    int64_t total;
    int64_t by_group[S_GROUPS_MAX + 1]; /* + organisations */
} s_stmt_t;

/* Collapses runs of white space to one space and trims; into the arena. */
static char *s_tidy(tam_arena_t *a, const char *s)
{
    size_t n = strlen(s);
    char *out = tam_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool space = false;
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = false;
        out[o++] = *s;
    }
    out[o] = 0;
    return out;
}

static int s_stmt_cmp(const void *a, const void *b)
{
    const s_stmt_t *x = *(const s_stmt_t *const *)a, *y = *(const s_stmt_t *const *)b;
    int c = strcmp(x->category, y->category);
    if (c)
        return c;
    if (x->std_index != y->std_index)
        return x->std_index < y->std_index ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->text, y->text);
}

/* The position of a standard in the catalogue, for sorting (unknown: last). */
static size_t s_std_index(const tam_catalog_t *cat, const char *id)
{
    size_t n = tam_catalog_nstandards(cat);
    for (size_t i = 0; i < n; i++)
        if (strcmp(tam_catalog_standard_at(cat, i)->id, id) == 0)
            return i;
    return n;
}

typedef struct {
    const tam_catalog_t *cat;
    tam_arena_t *a;
    const char *category;         /* filter ("" or NULL: all) */
    tam_pipeline_map_t *stmts;    /* key -> s_stmt_t */
    tam_pipeline_map_t *seen;     /* key \x01 respondent -> (non-NULL marker) */
    size_t ngroups;
} s_ctx_t;

static int s_add(s_ctx_t *c, const char *respondent, size_t group, int kind,
                 const tam_finding_t *f)
{
    const tam_standard_t *std = tam_catalog_standard(c->cat, f->standard);
    char category[2] = {std ? std->category : '?', 0};
    if (c->category && c->category[0] && c->category[0] != category[0])
        return 0;
    char *text = s_tidy(c->a, f->text);
    if (!text)
        return TAM_ENOMEM;
    if (!text[0])
        return 0;
    size_t klen = strlen(f->standard) + strlen(text) + 8;
    char *key = malloc(klen + strlen(respondent) + 2);
    if (!key)
        return TAM_ENOMEM;
    int n = snprintf(key, klen, "%s\t%d\t", f->standard, kind);
    for (const char *s = text; *s; s++)
        key[n++] = (char)tolower((unsigned char)*s);
    key[n] = 0;
    int rc = 0;
    s_stmt_t *st = tam_pipeline_map_get(c->stmts, key);
    if (!st) {
        if (!(st = calloc(1, sizeof *st)) ||
            !(st->standard = tam_arena_strndup(c->a, f->standard, strlen(f->standard)))) {
            free(st);
            rc = TAM_ENOMEM;
            goto done;
        }
        st->category[0] = category[0];
        st->std_index = s_std_index(c->cat, f->standard);
        st->kind = kind;
        st->text = text;
        if ((rc = tam_pipeline_map_put(c->stmts, key, st)))
            goto done;
    }
    /* Count the respondent once per statement. */
    snprintf(key + n, strlen(respondent) + 2, "\x01%s", respondent);
    if (tam_pipeline_map_get(c->seen, key))
        goto done;
    if ((rc = tam_pipeline_map_put(c->seen, key, (void *)1)))
        goto done;
    st->total++;
    st->by_group[group]++;
done:
    free(key);
    return rc;
}

/* The column of a respondent: its regional group, or the last one
 * (organisations, and States the catalogue does not place). */
static size_t s_group_of(const s_ctx_t *c, const tam_reply_info_t *info)
{
    if (info->respondent_type != TAM_E_respondent_type_member_state)
        return c->ngroups;
    const tam_country_t *cty = tam_catalog_country(c->cat, info->respondent);
    for (size_t g = 0; cty && g < c->ngroups; g++)
        if (strcmp(tam_catalog_group_at(c->cat, g)->code, cty->group) == 0)
            return g;
    return c->ngroups;
}

int tam_pipeline_commission(const tam_catalog_t *cat, const tam_reply_full_t *replies, size_t n,
                            const char *category, tam_arena_t *a, tam_report_t *out)
{
    s_ctx_t c = {.cat = cat, .a = a, .category = category};
    s_stmt_t **sorted = NULL;
    c.ngroups = tam_catalog_ngroups(cat);
    if (c.ngroups > S_GROUPS_MAX)
        c.ngroups = S_GROUPS_MAX;
    int rc = tam_pipeline_map_new(&c.stmts, free);
    if (rc == 0)
        rc = tam_pipeline_map_new(&c.seen, NULL);
    size_t nreplies = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const tam_reply_full_t *r = &replies[i];
        if (!r->info || !r->reply || r->info->status != TAM_E_reply_status_current)
            continue;
        nreplies++;
        size_t g = s_group_of(&c, r->info);
        const tam_finding_t *lv[K_N] = {r->reply->difficulties.v, r->reply->assistance.v,
                                        r->reply->practices.v};
        const uint32_t ln[K_N] = {r->reply->difficulties.n, r->reply->assistance.n,
                                  r->reply->practices.n};
        for (int k = 0; k < K_N && rc == 0; k++)
            for (uint32_t j = 0; j < ln[k] && rc == 0; j++)
                rc = s_add(&c, r->info->respondent, g, k, &lv[k][j]);
    }
    if (rc)
        goto done;

    size_t ns = tam_pipeline_map_count(c.stmts);
    if (ns && !(sorted = malloc(ns * sizeof *sorted))) {
        rc = TAM_ENOMEM;
        goto done;
    }
    size_t pos = 0;
    for (size_t i = 0; i < ns; i++)
        sorted[i] = tam_pipeline_map_next(c.stmts, &pos, NULL);
    if (ns)
        qsort(sorted, ns, sizeof *sorted, s_stmt_cmp);

    /* Columns: category, standard, kind, statement, respondents, one per group, organisations. */
    tam_pipeline_col_t cols[5 + S_GROUPS_MAX + 1] = {
        {"category", "#sector+code", 0},
        {"standard", "#subsector+code", 0},
        {"kind", "#indicator+type", 0},
        {"statement", "#description", 0},
        {"respondents", "#affected+num+respondents", 2},
    };
    char hxl[S_GROUPS_MAX][40];
    size_t ncols = 5;
    for (size_t g = 0; g < c.ngroups; g++) {
        const tam_group_t *grp = tam_catalog_group_at(cat, g);
        snprintf(hxl[g], sizeof hxl[g], "#affected+num+%s", grp->code);
        for (char *h = hxl[g]; *h; h++)
            *h = (char)tolower((unsigned char)*h);
        cols[ncols++] = (tam_pipeline_col_t){grp->code, hxl[g], 2};
    }
    cols[ncols++] = (tam_pipeline_col_t){"organisations", "#affected+num+organisations", 2};

    tam_pipeline_rows_t t = {.a = a, .ncols = ncols};
    for (size_t i = 0; i < ns; i++) {
        s_stmt_t *st = sorted[i];
        const char *cells[5 + S_GROUPS_MAX + 1] = {st->category, st->standard,
                                                   s_kind_names[st->kind], st->text,
                                                   tam_pipeline_i64(a, st->total)};
        for (size_t g = 0; g <= c.ngroups; g++)
            cells[5 + g] = tam_pipeline_i64(a, st->by_group[g]);
        for (size_t k = 0; k < ncols; k++)
            if (!cells[k]) {
                rc = TAM_ENOMEM;
                goto done;
            }
        if ((rc = tam_pipeline_rows_add(&t, cells)))
            goto done;
    }
    out->rows.n = (uint32_t)t.n;
    out->rows.v = t.v;
    out->group_by = 2;
    out->subtotals = false;
    if ((rc = tam_pipeline_columns(a, cols, ncols, &out->columns, &out->hxl, &out->numeric)))
        goto done;
    char n1[200];
    snprintf(n1, sizeof n1, "from %zu current repl%s; %zu distinct statement(s)", nreplies,
             nreplies == 1 ? "y" : "ies", ns);
    const char *nv[] = {n1,
                        "respondents: how many respondents' current replies make the statement "
                        "(texts equal ignoring case and spacing); organisations: IGOs, NGOs, "
                        "institutes and UN entities"};
    rc = tam_pipeline_strs(a, &out->notes, nv, 2);
done:
    free(sorted);
    tam_pipeline_map_destroy(&c.stmts);
    tam_pipeline_map_destroy(&c.seen);
    return rc;
}

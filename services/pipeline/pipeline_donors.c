/* pipeline_donors.c — the donors report: per donor and project, the budget,
 * what was received, committed, endorsed and proposed, what is left
 * unallocated, and which earmarks hold money that no declared need can use.
 *
 * A project funded by several donors is split by their shares: each amount
 * is divided by percent (rounded down) and the last donor listed takes what
 * rounding left, so the donors' rows of a project add up to its totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "pipeline.h"

/* ---- earmarks --------------------------------------------------------------------- */

static bool s_in(const tam_strs_t *l, const char *s)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static bool s_mission(const tam_context_t *ctx, const char *country)
{
    if (!ctx)
        return false;
    for (uint32_t i = 0; i < ctx->missions.n; i++)
        if (strcmp(ctx->missions.v[i].country, country) == 0)
            return true;
    return false;
}

/* Whether a standard of category c is listed (the category is then narrowed
 * to its listed standards, as tam-match's eligibility has it). */
static bool s_narrowed(const tam_catalog_t *cat, const tam_earmarks_t *e, char c)
{
    for (uint32_t i = 0; i < e->standards.n; i++) {
        const tam_standard_t *st = tam_catalog_standard(cat, e->standards.v[i]);
        if (st && st->category == c)
            return true;
    }
    return false;
}

unsigned tam_pipeline_earmarks_admit(const tam_catalog_t *cat, const tam_context_t *ctx,
                                     const tam_project_t *pr, const tam_pipeline_need_t *n)
{
    const tam_earmarks_t *e = pr->earmarks;
    unsigned ok = 0;
    /* Geography: countries, groups and regions are alternatives (any listed
     * one admits); an unlisted dimension admits everything. */
    unsigned geo_listed = 0, geo_ok = 0;
    if (e && e->countries.n) {
        geo_listed |= TAM_PIPELINE_EM_COUNTRIES;
        if (s_in(&e->countries, n->country))
            geo_ok = 1;
    }
    if (e && e->groups.n) {
        geo_listed |= TAM_PIPELINE_EM_GROUPS;
        if (s_in(&e->groups, n->group))
            geo_ok = 1;
    }
    if (e && e->regions.n) {
        geo_listed |= TAM_PIPELINE_EM_REGIONS;
        const tam_country_t *c = tam_catalog_country(cat, n->country);
        for (uint32_t i = 0; i < e->regions.n && c; i++)
            if (tam_catalog_country_in_area(c, (uint16_t)atoi(e->regions.v[i]))) {
                geo_ok = 1;
                break;
            }
    }
    unsigned geo_all = TAM_PIPELINE_EM_COUNTRIES | TAM_PIPELINE_EM_GROUPS | TAM_PIPELINE_EM_REGIONS;
    ok |= geo_ok || !geo_listed ? geo_all : geo_all & ~geo_listed;
    /* Themes: a listed standard admits its needs; a listed category admits
     * its needs only when none of its standards is listed (narrowing). */
    unsigned th_all = TAM_PIPELINE_EM_CATEGORIES | TAM_PIPELINE_EM_STANDARDS;
    unsigned th_listed = 0;
    bool th_ok = false;
    if (e && e->standards.n) {
        th_listed |= TAM_PIPELINE_EM_STANDARDS;
        th_ok = s_in(&e->standards, n->standard);
    }
    if (e && e->categories.n) {
        th_listed |= TAM_PIPELINE_EM_CATEGORIES;
        th_ok = th_ok || (s_in(&e->categories, n->category) && !s_narrowed(cat, e, n->category[0]));
    }
    ok |= th_ok || !th_listed ? th_all : th_all & ~th_listed;
    if (!e || e->modalities.n == 0 || s_in(&e->modalities, n->modality))
        ok |= TAM_PIPELINE_EM_MODALITIES;
    if (!e || !e->post_conflict_only || s_mission(ctx, n->country))
        ok |= TAM_PIPELINE_EM_POST_CONFLICT;
    if (n->start <= pr->end && n->end >= pr->start)
        ok |= TAM_PIPELINE_EM_WINDOW;
    return ok;
}

static const struct {
    unsigned bit;
    const char *name;
} s_dims[] = {
    {TAM_PIPELINE_EM_COUNTRIES, "countries"},   {TAM_PIPELINE_EM_GROUPS, "regional groups"},
    {TAM_PIPELINE_EM_REGIONS, "M49 regions"},   {TAM_PIPELINE_EM_CATEGORIES, "categories"},
    {TAM_PIPELINE_EM_STANDARDS, "standards"},   {TAM_PIPELINE_EM_MODALITIES, "modalities"},
    {TAM_PIPELINE_EM_POST_CONFLICT, "post-conflict only"},
    {TAM_PIPELINE_EM_WINDOW, "window"},
};

/* For one project: how many open needs pass all earmarks (*fits), what
 * those needs still lack in the money model (*lack), and which dimensions no
 * open need passes (returned as bits). */
static unsigned s_excluding(const tam_pipeline_t *p, const tam_pipeline_money_t *m,
                            const tam_project_t *pr, int64_t *fits, int64_t *lack)
{
    unsigned any = 0;
    *fits = *lack = 0;
    const tam_context_t *ctx = tam_pipeline_view_context(p->view);
    for (size_t i = 0; i < m->nn; i++) {
        const tam_pipeline_need_t *n = m->need_of[i];
        if (!n->open)
            continue;
        unsigned ok = tam_pipeline_earmarks_admit(p->cat, ctx, pr, n);
        any |= ok;
        if (ok == TAM_PIPELINE_EM_ALL) {
            (*fits)++;
            *lack += m->needs[i].unmet;
        }
    }
    return TAM_PIPELINE_EM_ALL & ~any;
}

/* ---- the report ---------------------------------------------------------------------- */

enum { F_BUDGET, F_RECEIVED, F_COMMITTED, F_ENDORSED, F_PROPOSED, F_UNALLOC, F_N };

typedef struct {
    const tam_project_rec_t *rec;
    int64_t fig[F_N];
    int64_t eligible; /* from the run; -1: unknown */
    int64_t fits;     /* open needs that pass every earmark (our own count) */
    char why[300];    /* why money is stranded ("" if it is not) */
} s_proj_t;

typedef struct {
    const char *donor;
    s_proj_t *proj;
    int64_t percent;
    int64_t fig[F_N];
} s_row_t;

static int s_row_cmp(const void *a, const void *b)
{
    const s_row_t *x = a, *y = b;
    int c = strcmp(x->donor, y->donor);
    return c ? c : strcmp(x->proj->rec->project->id, y->proj->rec->project->id);
}

static int s_proj_cmp(const void *a, const void *b)
{
    const s_proj_t *x = a, *y = b;
    return strcmp(x->rec->project->id, y->rec->project->id);
}

static int64_t s_eligible(const tam_run_t *run, const char *project)
{
    if (!run)
        return -1;
    for (uint32_t i = 0; i < run->project_state.n; i++)
        if (strcmp(run->project_state.v[i].project, project) == 0)
            return run->project_state.v[i].eligible_needs;
    return -1;
}

static const char *s_usd(int64_t v, char buf[32])
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
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

/* Why a project's unallocated money finds no use, or "" when it has none
 * (every project with unallocated money is listed, with its reason). */
static void s_why(const tam_pipeline_t *p, const tam_pipeline_money_t *m, s_proj_t *pj)
{
    pj->why[0] = 0;
    const tam_project_t *pr = pj->rec->project;
    int64_t lack = 0;
    unsigned excl = s_excluding(p, m, pr, &pj->fits, &lack);
    if (pj->fig[F_UNALLOC] <= 0)
        return;
    if (pr->status != TAM_E_project_status_active) {
        snprintf(pj->why, sizeof pj->why,
                 "the project is %s: only an active project's money is proposed",
                 tam_enum_project_status.values[pr->status]);
        return;
    }
    int64_t eligible = pj->eligible >= 0 ? pj->eligible : pj->fits;
    char b1[32], b2[32];
    if (eligible > 0 && pj->fits > 0 && lack == 0) {
        snprintf(pj->why, sizeof pj->why,
                 "its %lld eligible need(s) are already funded (committed, endorsed or proposed, "
                 "from this project or others): nothing declared is left for its earmark",
                 (long long)pj->fits);
        return;
    }
    if (eligible > 0) {
        int64_t cap = pr->earmarks ? pr->earmarks->max_per_need : 0;
        if (cap > 0)
            snprintf(pj->why, sizeof pj->why,
                     "its %lld eligible need(s) can take at most %s USD each from it (its cap per "
                     "need); what they still lack, %s USD, is beyond that",
                     (long long)pj->fits, s_usd(cap, b2), s_usd(lack, b1));
        else
            snprintf(pj->why, sizeof pj->why,
                     "its eligible needs still lack %s USD that the current run did not place "
                     "(score or window limits, or a run older than the latest data)",
                     s_usd(lack, b1));
        return;
    }
    size_t o = 0;
    if (excl) {
        o += (size_t)snprintf(pj->why, sizeof pj->why, "no open need fits its earmark on ");
        bool first = true;
        for (size_t i = 0; i < sizeof s_dims / sizeof s_dims[0] && o < sizeof pj->why; i++)
            if (excl & s_dims[i].bit) {
                o += (size_t)snprintf(pj->why + o, sizeof pj->why - o, "%s%s", first ? "" : ", ",
                                      s_dims[i].name);
                first = false;
            }
    } else if (pj->fits == 0) {
        snprintf(pj->why, sizeof pj->why,
                 "each earmark admits some open need, but no need meets all of them together");
    } else {
        snprintf(pj->why, sizeof pj->why, "tam-match finds no eligible need");
    }
}

static const tam_pipeline_col_t s_cols[] = {
    {"donor", "#org+code+funder", 0},   {"donor name", "#org+name+funder", 0},
    {"project", "#activity+code", 0},
    {"status", "#status", 0},           {"share %", "#indicator+pct+share", 2},
    {"budget", "#value+budget+usd", 1},  {"received", "#value+received+usd", 1},
    {"committed", "#value+committed+usd", 1}, {"endorsed", "#value+endorsed+usd", 1},
    {"proposed", "#value+proposed+usd", 1},   {"unallocated", "#value+unallocated+usd", 1},
    {"eligible needs", "#indicator+num+needs", 2},
};

static const tam_pipeline_col_t s_stranded_cols[] = {
    {"project", "#activity+code", 0},   {"donors", "#org+name+funder", 0},
    {"unallocated", "#value+unallocated+usd", 1},
    {"eligible needs", "#indicator+num+needs", 2}, {"why", "#description", 0},
};

/* Splits v by percent among a project's donors: donor k of n. */
static int64_t s_share(int64_t v, const tam_project_t *pr, uint32_t k)
{
    if (k + 1 < pr->donors.n)
        return v / 100 * pr->donors.v[k].percent + v % 100 * pr->donors.v[k].percent / 100;
    int64_t rest = v;
    for (uint32_t i = 0; i + 1 < pr->donors.n; i++)
        rest -= s_share(v, pr, i);
    return rest;
}

int tam_pipeline_report_donors(const tam_pipeline_t *p, const tam_pipeline_money_t *m,
                               const tam_report_request_t *rq, tam_arena_t *a, tam_report_t *out)
{
    int rc = 0;
    size_t np = tam_pipeline_view_count(p->view, 'p');
    s_proj_t *proj = np ? calloc(np, sizeof *proj) : NULL;
    s_row_t *rows = NULL;
    size_t nrows = 0;
    tam_pipeline_map_t *index = NULL;
    if ((np && !proj) || (rc = tam_pipeline_map_new(&index, NULL))) {
        rc = rc ? rc : TAM_ENOMEM;
        goto done;
    }
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    size_t pos = 0, k = 0, ndonor_rows = 0;
    const tam_project_rec_t *rec;
    while ((rec = tam_pipeline_view_next_project(p->view, &pos)) && k < np) {
        bool keep = !rq->donor || !rq->donor[0];
        for (uint32_t i = 0; i < rec->project->donors.n && !keep; i++)
            keep = strcmp(rec->project->donors.v[i].donor, rq->donor) == 0;
        if (!keep)
            continue;
        proj[k].rec = rec;
        proj[k].fig[F_BUDGET] = rec->project->budget;
        proj[k].fig[F_RECEIVED] = rec->received;
        proj[k].eligible = s_eligible(run, rec->project->id);
        ndonor_rows += rec->project->donors.n;
        k++;
    }
    np = k;
    if (np)
        qsort(proj, np, sizeof *proj, s_proj_cmp);
    for (size_t i = 0; i < np && rc == 0; i++)
        rc = tam_pipeline_map_put(index, proj[i].rec->project->id, &proj[i]);
    if (rc)
        goto done;
    for (size_t i = 0; i < m->np; i++) {
        s_proj_t *pj = tam_pipeline_map_get(index, m->project_of[i]->project->id);
        if (!pj)
            continue;
        pj->fig[F_COMMITTED] = m->projects[i].committed;
        pj->fig[F_ENDORSED] = m->projects[i].endorsed;
        pj->fig[F_PROPOSED] = m->projects[i].proposed;
    }
    size_t nstranded = 0;
    for (size_t i = 0; i < np; i++) {
        s_proj_t *pj = &proj[i];
        pj->fig[F_UNALLOC] = pj->fig[F_RECEIVED] - pj->fig[F_COMMITTED] - pj->fig[F_ENDORSED] -
                             pj->fig[F_PROPOSED];
        s_why(p, m, pj);
        nstranded += pj->why[0] != 0;
    }

    if (ndonor_rows && !(rows = calloc(ndonor_rows, sizeof *rows))) {
        rc = TAM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < np; i++) {
        const tam_project_t *prj = proj[i].rec->project;
        for (uint32_t d = 0; d < prj->donors.n; d++) {
            if (rq->donor && rq->donor[0] && strcmp(prj->donors.v[d].donor, rq->donor) != 0)
                continue;
            s_row_t *r = &rows[nrows++];
            r->donor = prj->donors.v[d].donor;
            r->proj = &proj[i];
            r->percent = prj->donors.v[d].percent;
            for (int f = 0; f < F_UNALLOC; f++)
                r->fig[f] = s_share(proj[i].fig[f], prj, d);
            r->fig[F_UNALLOC] = r->fig[F_RECEIVED] - r->fig[F_COMMITTED] - r->fig[F_ENDORSED] -
                                r->fig[F_PROPOSED];
        }
    }
    if (nrows)
        qsort(rows, nrows, sizeof *rows, s_row_cmp);

    size_t ncols = sizeof s_cols / sizeof s_cols[0];
    tam_pipeline_rows_t t = {.a = a, .ncols = ncols};
    for (size_t i = 0; i < nrows; i++) {
        const s_row_t *r = &rows[i];
        const tam_donor_t *dn = tam_pipeline_view_donor(p->view, r->donor);
        const char *cells[12] = {r->donor, dn ? dn->name : "",
                                 r->proj->rec->project->id,
                                 tam_enum_project_status.values[r->proj->rec->project->status],
                                 tam_pipeline_i64(a, r->percent)};
        for (int f = 0; f < F_N; f++)
            cells[5 + f] = tam_pipeline_i64(a, r->fig[f]);
        cells[11] = r->proj->eligible >= 0 ? tam_pipeline_i64(a, r->proj->eligible) : "-";
        for (int c = 0; c < 12; c++)
            if (!cells[c]) {
                rc = TAM_ENOMEM;
                goto done;
            }
        if ((rc = tam_pipeline_rows_add(&t, cells)))
            goto done;
    }
    out->rows.n = (uint32_t)t.n;
    out->rows.v = t.v;
    out->group_by = 2;
    out->subtotals = true;
    if ((rc = tam_pipeline_columns(a, s_cols, ncols, &out->columns, &out->hxl, &out->numeric)))
        goto done;

    /* The projects whose money no declared need can use. */
    tam_report_part_t *part = tam_arena_alloc(a, sizeof *part);
    if (!part) {
        rc = TAM_ENOMEM;
        goto done;
    }
    size_t ns = sizeof s_stranded_cols / sizeof s_stranded_cols[0];
    tam_pipeline_rows_t s = {.a = a, .ncols = ns};
    for (size_t i = 0; i < np; i++) {
        s_proj_t *pj = &proj[i];
        if (!pj->why[0])
            continue;
        char donors[200];
        size_t o = 0;
        donors[0] = 0;
        for (uint32_t d = 0; d < pj->rec->project->donors.n && o < sizeof donors; d++)
            o += (size_t)snprintf(donors + o, sizeof donors - o, "%s%s", d ? ", " : "",
                                  pj->rec->project->donors.v[d].donor);
        const char *cells[5] = {pj->rec->project->id, donors,
                                tam_pipeline_i64(a, pj->fig[F_UNALLOC]),
                                pj->eligible >= 0 ? tam_pipeline_i64(a, pj->eligible)
                                                  : tam_pipeline_i64(a, pj->fits),
                                pj->why};
        if (!cells[2] || !cells[3] || (rc = tam_pipeline_rows_add(&s, cells))) {
            rc = rc ? rc : TAM_ENOMEM;
            goto done;
        }
    }
    static const char title[] = "Unallocated money and why no declared need uses it";
    if (!(part->title = tam_arena_strndup(a, title, sizeof title - 1))) {
        rc = TAM_ENOMEM;
        goto done;
    }
    part->rows.n = (uint32_t)s.n;
    part->rows.v = s.v;
    if ((rc = tam_pipeline_columns(a, s_stranded_cols, ns, &part->columns, &part->hxl,
                                   &part->numeric)))
        goto done;
    out->more.n = 1;
    out->more.v = part;

    char n1[300], n2[200];
    snprintf(n1, sizeof n1,
             "unallocated = received - committed - endorsed - proposed; a co-funded project is "
             "split by the donors' shares (the last donor listed takes the rounding)");
    if (run)
        snprintf(n2, sizeof n2, "proposed and eligible needs from match run %llu; %zu project(s) "
                                "hold unallocated money (listed with the reason)",
                 (unsigned long long)run->run, nstranded);
    else
        snprintf(n2, sizeof n2, "no match run seen yet: proposed is 0 and eligible needs are "
                                "counted by tam-pipeline from the earmarks; %zu project(s) hold "
                                "unallocated money (listed with the reason)", nstranded);
    const char *nv[] = {n1, n2};
    rc = tam_pipeline_strs(a, &out->notes, nv, 2);
done:
    free(rows);
    free(proj);
    tam_pipeline_map_destroy(&index);
    return rc;
}

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

unsigned tam_pipeline_earmarks_admit(const tam_catalog_t *cat, const tam_context_t *ctx,
                                     const tam_project_t *pr, const tam_pipeline_need_t *n)
{
    const tam_earmarks_t *e = pr->earmarks;
    unsigned ok = 0;
    if (!e || e->countries.n == 0 || s_in(&e->countries, n->country))
        ok |= TAM_PIPELINE_EM_COUNTRIES;
    if (!e || e->groups.n == 0 || s_in(&e->groups, n->group))
        ok |= TAM_PIPELINE_EM_GROUPS;
    if (!e || e->regions.n == 0) {
        ok |= TAM_PIPELINE_EM_REGIONS;
    } else {
        const tam_country_t *c = tam_catalog_country(cat, n->country);
        for (uint32_t i = 0; i < e->regions.n && c; i++)
            if (tam_catalog_country_in_area(c, (uint16_t)atoi(e->regions.v[i]))) {
                ok |= TAM_PIPELINE_EM_REGIONS;
                break;
            }
    }
    if (!e || e->categories.n == 0 || s_in(&e->categories, n->category))
        ok |= TAM_PIPELINE_EM_CATEGORIES;
    if (!e || e->standards.n == 0 || s_in(&e->standards, n->standard))
        ok |= TAM_PIPELINE_EM_STANDARDS;
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

/* For one project: how many open needs pass all earmarks (*fits), and which
 * dimensions no open need passes (returned as bits). */
static unsigned s_excluding(const tam_pipeline_t *p, const tam_project_t *pr, int64_t *fits)
{
    unsigned any = 0;
    *fits = 0;
    size_t pos = 0;
    const tam_pipeline_need_t *n;
    const tam_context_t *ctx = tam_pipeline_view_context(p->view);
    while ((n = tam_pipeline_view_next_need(p->view, &pos))) {
        if (!n->open)
            continue;
        unsigned ok = tam_pipeline_earmarks_admit(p->cat, ctx, pr, n);
        any |= ok;
        if (ok == TAM_PIPELINE_EM_ALL)
            (*fits)++;
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

/* Why a project's unallocated money finds no need, or "" when it is not stranded. */
static void s_why(const tam_pipeline_t *p, s_proj_t *pj)
{
    pj->why[0] = 0;
    const tam_project_t *pr = pj->rec->project;
    unsigned excl = s_excluding(p, pr, &pj->fits);
    if (pr->status != TAM_E_project_status_active || pj->fig[F_UNALLOC] <= 0)
        return;
    int64_t eligible = pj->eligible >= 0 ? pj->eligible : pj->fits;
    if (eligible > 0)
        return;
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
        s_why(p, pj);
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
    static const char title[] = "Earmarked money that no declared need can use";
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
                                "hold money no declared need can use",
                 (unsigned long long)run->run, nstranded);
    else
        snprintf(n2, sizeof n2, "no match run seen yet: proposed is 0 and eligible needs are "
                                "counted by tam-pipeline from the earmarks; %zu project(s) hold "
                                "money no declared need can use", nstranded);
    const char *nv[] = {n1, n2};
    rc = tam_pipeline_strs(a, &out->notes, nv, 2);
done:
    free(rows);
    free(proj);
    tam_pipeline_map_destroy(&index);
    return rc;
}

/* pipeline_report.c — the gaps and pipeline reports, the helpers every
 * report shares, and the dispatch to the donors (pipeline_donors.c) and
 * commission (pipeline_commission.c) reports.
 *
 * Figures come from the one money model (tam/money.h, built once per report
 * by pipeline_money.c over everything tam-pipeline knows; filters select
 * rows afterwards): requested, proposed, endorsed, committed, unmet per need,
 * with requested = proposed + endorsed + committed + unmet on every row and
 * in the totals every report carries. docs/pipeline.md defines them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "tam/log.h"
#include "pipeline.h"

/* ---- shared helpers ------------------------------------------------------------ */

char *tam_pipeline_i64(tam_arena_t *a, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    return tam_arena_strndup(a, buf, (size_t)n);
}

const char *tam_pipeline_date(int64_t ms, char buf[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) ||
        snprintf(buf, 11, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) != 10)
        snprintf(buf, 11, "-");
    return buf;
}

int tam_pipeline_strs(tam_arena_t *a, tam_strs_t *out, const char *const *v, size_t n)
{
    out->n = 0;
    out->v = n ? tam_arena_alloc(a, n * sizeof *out->v) : NULL;
    if (n && !out->v)
        return TAM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        /* The codec refuses empty strings in lists: a missing value is "-". */
        const char *s = v[i] && v[i][0] ? v[i] : "-";
        if (!(out->v[i] = tam_arena_strndup(a, s, strlen(s))))
            return TAM_ENOMEM;
    }
    out->n = (uint32_t)n;
    return 0;
}

int tam_pipeline_columns(tam_arena_t *a, const tam_pipeline_col_t *cols, size_t n,
                         tam_strs_t *names, tam_strs_t *hxl, tam_strs_t *numeric)
{
    const char *nv[64], *hv[64], *mv[64];
    if (n > 64)
        return TAM_EINTERNAL;
    for (size_t i = 0; i < n; i++) {
        nv[i] = cols[i].name;
        hv[i] = cols[i].hxl ? cols[i].hxl : "";
        mv[i] = cols[i].numeric == 1 ? "1" : cols[i].numeric == 2 ? "2" : "0";
    }
    int rc = tam_pipeline_strs(a, names, nv, n);
    if (rc == 0)
        rc = tam_pipeline_strs(a, hxl, hv, n);
    if (rc == 0)
        rc = tam_pipeline_strs(a, numeric, mv, n);
    return rc;
}

int tam_pipeline_rows_add(tam_pipeline_rows_t *r, const char *const *cells)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        tam_report_row_t *v = tam_arena_alloc(r->a, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        if (r->n)
            memcpy(v, r->v, r->n * sizeof *v);
        r->v = v;
        r->cap = cap;
    }
    int rc = tam_pipeline_strs(r->a, &r->v[r->n].cells, cells, r->ncols);
    if (rc)
        return rc;
    r->n++;
    return 0;
}

/* Appends the notes to out->notes (each copied). */
static int s_notes(tam_arena_t *a, tam_report_t *out, const char *const *v, size_t n)
{
    return tam_pipeline_strs(a, &out->notes, v, n);
}

/* ---- decisions loaded for a report ------------------------------------------------ */

static int s_decs_fn(const tam_decision_t *d, void *arg)
{
    tam_pipeline_decs_t *ds = arg;
    if (ds->n == ds->cap) {
        size_t cap = ds->cap ? ds->cap * 2 : 256;
        tam_pipeline_dec_t *v = realloc(ds->v, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        ds->v = v;
        ds->cap = cap;
    }
    tam_pipeline_dec_t *e = &ds->v[ds->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->proposal, sizeof e->proposal, "%s", d->proposal);
    e->need = d->need;
    snprintf(e->project, sizeof e->project, "%s", d->project);
    snprintf(e->country, sizeof e->country, "%s", d->country);
    snprintf(e->category, sizeof e->category, "%s", d->category);
    e->state = d->state;
    e->endorsed = d->endorsed;
    e->committed = d->committed;
    e->since = d->since;
    e->updated = d->updated;
    snprintf(e->flag, sizeof e->flag, "%s", d->flag ? d->flag : "");
    return 0;
}

int tam_pipeline_decs_load(tam_txn_t *txn, tam_pipeline_decs_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = tam_pipeline_decisions_each(txn, NULL, s_decs_fn, out);
    if (rc == 0)
        rc = tam_pipeline_map_new(&out->by_id, NULL);
    for (size_t i = 0; i < out->n && rc == 0; i++)
        rc = tam_pipeline_map_put(out->by_id, out->v[i].proposal, &out->v[i]);
    if (rc)
        tam_pipeline_decs_free(out);
    return rc;
}

void tam_pipeline_decs_free(tam_pipeline_decs_t *d)
{
    tam_pipeline_map_destroy(&d->by_id);
    free(d->v);
    memset(d, 0, sizeof *d);
}

const tam_pipeline_dec_t *tam_pipeline_decs_get(const tam_pipeline_decs_t *d, const char *proposal)
{
    return tam_pipeline_map_get(d->by_id, proposal);
}

/* ---- gaps -------------------------------------------------------------------------- */

typedef struct {
    char category[2], group[9], standard[33], country[4];
    int64_t needs, requested, proposed, endorsed, committed, unmet;
} s_gap_t;

/* A row's key fields: from the need, or (a decision on a need tam-pipeline
 * does not know) from the decision, with the country's group. */
typedef struct {
    const char *category, *group, *standard, *country;
} s_gap_key_t;

static bool s_gap_filter(const tam_report_request_t *rq, const s_gap_key_t *k)
{
    if (rq->category && rq->category[0] && strcmp(rq->category, k->category) != 0)
        return false;
    if (rq->group && rq->group[0] && strcmp(rq->group, k->group) != 0)
        return false;
    return true;
}

/* The row of key k, created on first use. NULL on OOM. */
static s_gap_t *s_gap_row(tam_pipeline_map_t *rows, const s_gap_key_t *k)
{
    char key[64];
    snprintf(key, sizeof key, "%s\t%s\t%s\t%s", k->category, k->group, k->standard, k->country);
    s_gap_t *g = tam_pipeline_map_get(rows, key);
    if (g)
        return g;
    if (!(g = calloc(1, sizeof *g)))
        return NULL;
    snprintf(g->category, sizeof g->category, "%s", k->category);
    snprintf(g->group, sizeof g->group, "%s", k->group);
    snprintf(g->standard, sizeof g->standard, "%s", k->standard);
    snprintf(g->country, sizeof g->country, "%s", k->country);
    return tam_pipeline_map_put(rows, key, g) == 0 ? g : NULL;
}

static int s_gap_cmp(const void *a, const void *b)
{
    const s_gap_t *x = *(const s_gap_t *const *)a, *y = *(const s_gap_t *const *)b;
    int c = strcmp(x->category, y->category);
    if (!c)
        c = strcmp(x->group, y->group);
    if (!c)
        c = strcmp(x->standard, y->standard);
    if (!c)
        c = strcmp(x->country, y->country);
    return c;
}

static const tam_pipeline_col_t s_gap_cols[] = {
    {"category", "#sector+code", 0},   {"group", "#region+name", 0},
    {"standard", "#subsector+code", 0}, {"country", "#country+code", 0},
    {"needs", "#activity+num+needs", 1}, {"requested", "#value+requested+usd", 1},
    {"proposed", "#value+proposed+usd", 1}, {"endorsed", "#value+endorsed+usd", 1},
    {"committed", "#value+committed+usd", 1}, {"unmet", "#value+unmet+usd", 1},
};

static int s_gaps(const tam_pipeline_t *p, const tam_pipeline_money_t *m,
                  const tam_report_request_t *rq, tam_arena_t *a, tam_report_t *out)
{
    tam_pipeline_map_t *rows = NULL;
    s_gap_t **sorted = NULL;
    int rc = tam_pipeline_map_new(&rows, free);
    if (rc)
        return rc;
    /* Open needs, and withdrawn ones that decisions still hold money on. */
    for (size_t i = 0; i < m->nn; i++) {
        const tam_money_need_t *x = &m->needs[i];
        const tam_pipeline_need_t *n = m->need_of[i];
        s_gap_key_t k = {n->category, n->group, n->standard, n->country};
        if ((!n->open && x->requested == 0) || !s_gap_filter(rq, &k))
            continue;
        s_gap_t *g = s_gap_row(rows, &k);
        if (!g)
            goto oom;
        g->needs += n->open;
        g->requested += x->requested;
        g->proposed += x->proposed;
        g->endorsed += x->endorsed;
        g->committed += x->committed;
        g->unmet += x->unmet;
    }
    /* Money held on needs tam-pipeline does not know (yet). */
    for (size_t i = 0; i < m->nk; i++) {
        const tam_money_pair_t *x = &m->pairs[i];
        const tam_pipeline_dec_t *d = m->dec_of[i];
        int64_t held = x->held_committed + x->held_endorsed;
        if (x->ineed != TAM_MONEY_NOWHERE || !d || !held)
            continue;
        const tam_country_t *c = tam_catalog_country(p->cat, d->country);
        s_gap_key_t k = {d->category, c ? c->group : "", "-", d->country};
        if (!s_gap_filter(rq, &k))
            continue;
        s_gap_t *g = s_gap_row(rows, &k);
        if (!g)
            goto oom;
        g->requested += held;
        g->endorsed += x->held_endorsed;
        g->committed += x->held_committed;
    }

    size_t nrows = tam_pipeline_map_count(rows);
    if (nrows && !(sorted = malloc(nrows * sizeof *sorted)))
        goto oom;
    size_t pos = 0;
    for (size_t i = 0; i < nrows; i++)
        sorted[i] = tam_pipeline_map_next(rows, &pos, NULL);
    if (nrows)
        qsort(sorted, nrows, sizeof *sorted, s_gap_cmp);

    size_t ncols = sizeof s_gap_cols / sizeof s_gap_cols[0];
    tam_pipeline_rows_t r = {.a = a, .ncols = ncols};
    for (size_t i = 0; i < nrows; i++) {
        s_gap_t *g = sorted[i];
        int64_t fig[6] = {g->needs, g->requested, g->proposed, g->endorsed, g->committed,
                          g->unmet};
        const char *cells[10] = {g->category, g->group[0] ? g->group : "-", g->standard, g->country};
        for (int k = 0; k < 6; k++)
            if (!(cells[4 + k] = tam_pipeline_i64(a, fig[k])))
                goto oom;
        if ((rc = tam_pipeline_rows_add(&r, cells)))
            goto done;
    }
    out->rows.n = (uint32_t)r.n;
    out->rows.v = r.v;
    out->group_by = 2;
    out->subtotals = true;
    if ((rc = tam_pipeline_columns(a, s_gap_cols, ncols, &out->columns, &out->hxl, &out->numeric)))
        goto done;
    char notes[2][400];
    snprintf(notes[0], sizeof notes[0],
             "requested = cost of open needs (or what decisions hold, if more; on a withdrawn "
             "need, what they hold); proposed = what tam-match's current run proposes beyond the "
             "amounts decisions fix; committed includes delivered; unmet = requested - proposed - "
             "endorsed - committed");
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    if (run)
        snprintf(notes[1], sizeof notes[1], "proposals of match run %llu (inputs %.12s)",
                 (unsigned long long)run->run, run->hash);
    else
        snprintf(notes[1], sizeof notes[1], "no match run seen yet: proposed is 0");
    const char *nv[] = {notes[0], notes[1]};
    rc = s_notes(a, out, nv, 2);
    goto done;
oom:
    rc = TAM_ENOMEM;
done:
    free(sorted);
    tam_pipeline_map_destroy(&rows);
    return rc;
}

/* ---- pipeline ------------------------------------------------------------------------ */

static const tam_pipeline_col_t s_state_cols[] = {
    {"state", "#status", 0},         {"decisions", "#activity+num", 1},
    {"amount", "#value+usd", 1},      {"oldest", "#date+start", 0},
    {"next step", "#description", 0},
};

static const tam_pipeline_col_t s_wait_cols[] = {
    {"proposal", "#activity+id", 0}, {"country", "#country+code", 0},
    {"project", "#activity+code", 0}, {"state", "#status", 0},
    {"amount", "#value+usd", 1},      {"since", "#date+start", 0},
    {"days", "#indicator+days", 2},   {"next step", "#description", 0},
};

static const tam_pipeline_col_t s_attn_cols[] = {
    {"proposal", "#activity+id", 0}, {"country", "#country+code", 0},
    {"project", "#activity+code", 0}, {"state", "#status", 0},
    {"amount", "#value+usd", 1},      {"flag", "#status+flag", 0},
    {"flagged", "#date", 0},          {"next step", "#description", 0},
};

/* The decisions that need a manager's attention (flagged), oldest flag
 * first, as part `part`. */
static int s_attention(const tam_pipeline_decs_t *decs, tam_arena_t *a, tam_report_part_t *part)
{
    size_t n = sizeof s_attn_cols / sizeof s_attn_cols[0];
    tam_pipeline_rows_t r = {.a = a, .ncols = n};
    int rc = 0;
    for (size_t i = 0; i < decs->n && rc == 0; i++) {
        const tam_pipeline_dec_t *d = &decs->v[i];
        if (!d->flag[0])
            continue;
        char date[11];
        int64_t amt = d->state == TAM_E_decision_state_endorsed ? d->endorsed : d->committed;
        const char *cells[8] = {d->proposal, d->country, d->project,
                                tam_enum_decision_state.values[d->state], tam_pipeline_i64(a, amt),
                                d->flag, tam_pipeline_date(d->updated, date),
                                d->state == TAM_E_decision_state_endorsed
                                    ? "withdraw or acknowledge (manager)"
                                    : "acknowledge or deliver (manager); the money stays committed"};
        rc = cells[4] ? tam_pipeline_rows_add(&r, cells) : TAM_ENOMEM;
    }
    if (rc)
        return rc;
    static const char title[] = "Decisions that need a manager's attention (a revision withdrew "
                                "the need or lowered its cost below a commitment; the money still "
                                "counts)";
    if (!(part->title = tam_arena_strndup(a, title, sizeof title - 1)))
        return TAM_ENOMEM;
    part->rows.n = (uint32_t)r.n;
    part->rows.v = r.v;
    return tam_pipeline_columns(a, s_attn_cols, n, &part->columns, &part->hxl, &part->numeric);
}

static int s_wait_cmp(const void *a, const void *b)
{
    const tam_pipeline_dec_t *x = *(const tam_pipeline_dec_t *const *)a;
    const tam_pipeline_dec_t *y = *(const tam_pipeline_dec_t *const *)b;
    if (x->since != y->since)
        return x->since < y->since ? -1 : 1;
    return strcmp(x->proposal, y->proposal);
}

static const char *s_next_step(int state)
{
    switch (state) {
    case -1: return "endorse or decline (manager)";
    case TAM_E_decision_state_endorsed: return "commit (donor liaison) or withdraw (manager)";
    case TAM_E_decision_state_committed: return "deliver (manager)";
    case TAM_E_decision_state_withdrawn: return "endorse again or decline (manager)";
    default: return "-";
    }
}

static int s_pipeline(const tam_pipeline_t *p, const tam_pipeline_decs_t *decs,
                      const tam_pipeline_money_t *m, const tam_report_request_t *rq,
                      tam_arena_t *a, tam_report_t *out)
{
    /* Row 0: proposals with no decision; then one row per decision state. */
    enum { NS = TAM_E_decision_state__COUNT };
    int64_t count[NS] = {0}, amount[NS] = {0}, oldest[NS] = {0};
    const tam_pipeline_dec_t **wait = NULL;
    size_t nwait = 0;
    int rc = 0;
    for (size_t i = 0; i < m->nk; i++) {
        if (m->dec_of[i])
            continue;
        count[TAM_E_decision_state_none]++;
        amount[TAM_E_decision_state_none] += m->pairs[i].proposed;
    }    if (decs->n && !(wait = malloc(decs->n * sizeof *wait)))
        return TAM_ENOMEM;
    for (size_t i = 0; i < decs->n; i++) {
        const tam_pipeline_dec_t *d = &decs->v[i];
        count[d->state]++;
        if (d->state == TAM_E_decision_state_endorsed)
            amount[d->state] += d->endorsed;
        else if (d->state == TAM_E_decision_state_committed ||
                 d->state == TAM_E_decision_state_delivered)
            amount[d->state] += d->committed;
        if (!oldest[d->state] || d->since < oldest[d->state])
            oldest[d->state] = d->since;
        if (d->state == TAM_E_decision_state_endorsed || d->state == TAM_E_decision_state_committed)
            wait[nwait++] = d;
    }
    static const tam_decision_state_t order[] = {
        TAM_E_decision_state_none,      TAM_E_decision_state_endorsed,
        TAM_E_decision_state_committed, TAM_E_decision_state_delivered,
        TAM_E_decision_state_withdrawn, TAM_E_decision_state_declined};
    size_t ncols = sizeof s_state_cols / sizeof s_state_cols[0];
    tam_pipeline_rows_t r = {.a = a, .ncols = ncols};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        tam_decision_state_t s = order[i];
        char date[11];
        const char *cells[5] = {s == TAM_E_decision_state_none ? "proposed (no decision)"
                                                               : tam_enum_decision_state.values[s],
                                tam_pipeline_i64(a, count[s]), tam_pipeline_i64(a, amount[s]),
                                oldest[s] ? tam_pipeline_date(oldest[s], date) : "-",
                                count[s] ? s_next_step(s == TAM_E_decision_state_none ? -1 : (int)s)
                                         : "-"};
        if (!cells[1] || !cells[2] || (rc = tam_pipeline_rows_add(&r, cells))) {
            rc = rc ? rc : TAM_ENOMEM;
            goto done;
        }
    }
    out->rows.n = (uint32_t)r.n;
    out->rows.v = r.v;
    if ((rc = tam_pipeline_columns(a, s_state_cols, ncols, &out->columns, &out->hxl, &out->numeric)))
        goto done;

    if (nwait)
        qsort(wait, nwait, sizeof *wait, s_wait_cmp);
    size_t limit = rq->limit ? (size_t)rq->limit : TAM_PIPELINE_WAITING;
    if (nwait > limit)
        nwait = limit;
    tam_report_part_t *part = tam_arena_alloc(a, 2 * sizeof *part);
    if (!part) {
        rc = TAM_ENOMEM;
        goto done;
    }
    memset(part, 0, 2 * sizeof *part);
    size_t nw = sizeof s_wait_cols / sizeof s_wait_cols[0];
    tam_pipeline_rows_t w = {.a = a, .ncols = nw};
    int64_t now = tam_pipeline_now(p);
    for (size_t i = 0; i < nwait; i++) {
        const tam_pipeline_dec_t *d = wait[i];
        char date[11];
        int64_t amt = d->state == TAM_E_decision_state_endorsed ? d->endorsed : d->committed;
        int64_t days = now > d->since ? (now - d->since) / 86400000 : 0;
        const char *cells[8] = {d->proposal, d->country, d->project,
                                tam_enum_decision_state.values[d->state], tam_pipeline_i64(a, amt),
                                tam_pipeline_date(d->since, date), tam_pipeline_i64(a, days),
                                s_next_step((int)d->state)};
        if (!cells[4] || !cells[6] || (rc = tam_pipeline_rows_add(&w, cells))) {
            rc = rc ? rc : TAM_ENOMEM;
            goto done;
        }
    }
    char title[120];
    snprintf(title, sizeof title, "Decisions waiting longest (endorsed: awaiting commitment; "
                                  "committed: awaiting delivery)");
    if (!(part->title = tam_arena_strndup(a, title, strlen(title)))) {
        rc = TAM_ENOMEM;
        goto done;
    }
    part->rows.n = (uint32_t)w.n;
    part->rows.v = w.v;
    if ((rc = tam_pipeline_columns(a, s_wait_cols, nw, &part->columns, &part->hxl, &part->numeric)))
        goto done;
    if ((rc = s_attention(decs, a, &part[1])))
        goto done;
    out->more.n = 2;
    out->more.v = part;
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    char note[200];
    if (run)
        snprintf(note, sizeof note, "proposed (no decision): what current proposals of match run %llu with no decision give, within what needs lack and projects have",
                 (unsigned long long)run->run);
    else
        snprintf(note, sizeof note, "no match run seen yet: no proposals counted");
    const char *nv[] = {"amount: endorsed amounts for endorsed; committed amounts for committed "
                        "and delivered; 0 for withdrawn and declined",
                        note};
    rc = s_notes(a, out, nv, 2);
done:
    free(wait);
    return rc;
}

/* ---- dispatch -------------------------------------------------------------------------- */

static const char *const s_titles[] = {
    [TAM_E_report_kind_gaps] = "Funding gaps by category, regional group, standard and country",
    [TAM_E_report_kind_donors] = "Donors and projects: how the money is used",
    [TAM_E_report_kind_pipeline] = "The decision pipeline",
    [TAM_E_report_kind_commission] = ("For the report to the Commission (ECOSOC 2004/28 para 9): "
                                      "difficulties, ways assistance could help and useful "
                                      "practices, by standard"),
};

static int s_check_request(const tam_pipeline_t *p, const tam_report_request_t *rq,
                           tam_rpc_error_t *err)
{
    if (rq->category && rq->category[0] && !tam_catalog_category(p->cat, rq->category[0])) {
        tam_rpc_error_set(err, TAM_EINVAL, "category", "unknown category '%s' (A, B, C or D)",
                          rq->category);
        return err->code;
    }
    if (rq->group && rq->group[0] && !tam_catalog_group(p->cat, rq->group)) {
        tam_rpc_error_set(err, TAM_EINVAL, "group",
                          "unknown regional group '%s' (AFRICAN, APG, EEG, GRULAC, WEOG)", rq->group);
        return err->code;
    }
    return 0;
}

int tam_pipeline_report(const tam_pipeline_t *p, tam_txn_t *txn, const tam_report_request_t *rq,
                        tam_arena_t *a, tam_report_t *out, tam_rpc_error_t *err)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)rq->kind >= TAM_E_report_kind__COUNT)
        return TAM_EINVAL;
    if (s_check_request(p, rq, err))
        return err->code;
    out->kind = rq->kind;
    const char *title = s_titles[rq->kind];
    if (!(out->title = tam_arena_strndup(a, title, strlen(title))))
        return TAM_ENOMEM;
    const tam_run_t *run = tam_pipeline_view_run(p->view);
    out->run = run ? run->run : 0;

    if (rq->kind == TAM_E_report_kind_commission) {
        if (!p->replies) {
            tam_rpc_error_set(err, TAM_EUNAVAIL, "", "the replies of tam-ingest are not available");
            return err->code;
        }
        tam_reply_full_t *replies = NULL;
        size_t n = 0;
        int rc = p->replies(p->replies_arg, a, &replies, &n, err);
        if (rc || err->code)
            return err->code ? err->code : rc;
        const char *title_keep = out->title;
        rc = tam_pipeline_commission(p->cat, replies, n, rq->category, a, out);
        out->title = (char *)title_keep;
        out->kind = rq->kind;
        out->run = run ? run->run : 0;
        return rc;
    }

    tam_pipeline_decs_t decs;
    tam_pipeline_money_t m;
    int rc = tam_pipeline_decs_load(txn, &decs);
    if (rc)
        return rc;
    if ((rc = tam_pipeline_money_build(p, &decs, &m))) {
        tam_pipeline_decs_free(&decs);
        return rc;
    }
    switch (rq->kind) {
    case TAM_E_report_kind_gaps: rc = s_gaps(p, &m, rq, a, out); break;
    case TAM_E_report_kind_donors: rc = tam_pipeline_report_donors(p, &m, rq, a, out); break;
    default: rc = s_pipeline(p, &decs, &m, rq, a, out); break;
    }
    if (rc == 0)
        rc = tam_pipeline_totals(a, &m.tot, out);
    tam_pipeline_money_free(&m);
    tam_pipeline_decs_free(&decs);
    return rc;
}

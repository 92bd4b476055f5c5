/* flow_lp.c — export of an allocation problem in CPLEX LP format, so that
 * an auditor can re-solve it with glpsol or any LP solver. The text is
 * produced item by item (a writer keeps its place), so that a service can
 * stream it in chunks without holding it whole. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "flow_int.h"
#include "tam/error.h"

#define S_TERMS_PER_LINE 6

enum { S_HEAD, S_OBJ, S_NROWS, S_PROWS, S_BOUNDS, S_SOL, S_DONE };

struct tam_flow_lp {
    const tam_flow_problem_t *p;
    const tam_flow_solution_t *sol;
    uint32_t *ns, *nl, *ps, *pl;  /* arcs by need, by project (CSR) */
    int section;
    size_t i;                     /* next item of the section */
};

/* Arc indices grouped by key (need or project): CSR arrays. */
static int s_group(const tam_flow_problem_t *p, int by_need, size_t nk, uint32_t **start, uint32_t **list)
{
    *start = calloc(nk + 1, sizeof **start);
    *list = malloc((p->n_arcs ? p->n_arcs : 1) * sizeof **list);
    if (!*start || !*list)
        return TAM_ENOMEM;
    for (size_t k = 0; k < p->n_arcs; k++)
        (*start)[(by_need ? p->arcs[k].need : p->arcs[k].project) + 1]++;
    for (size_t i = 0; i < nk; i++)
        (*start)[i + 1] += (*start)[i];
    for (size_t k = 0; k < p->n_arcs; k++)
        (*list)[(*start)[by_need ? p->arcs[k].need : p->arcs[k].project]++] = (uint32_t)k;
    for (size_t i = nk; i > 0; i--)
        (*start)[i] = (*start)[i - 1];
    (*start)[0] = 0;
    return 0;
}

/* A project's name in LP names: its name with '-' as '.', or its id. */
static void s_pname(FILE *out, const tam_flow_problem_t *p, uint32_t j)
{
    if (!p->project_name) {
        fprintf(out, "%" PRIu64, p->project_id[j]);
        return;
    }
    for (const char *c = p->project_name[j]; *c; c++)
        fputc(*c == '-' ? '.' : *c, out);
}

static void s_var(FILE *out, const tam_flow_problem_t *p, size_t k)
{
    fprintf(out, "x_%" PRIu64 "_", p->need_id[p->arcs[k].need]);
    s_pname(out, p, p->arcs[k].project);
}

/* Row i of the need (by_need) or project rows, if it has arcs. */
static void s_row(FILE *out, const tam_flow_problem_t *p, int by_need, size_t i,
                  const uint32_t *start, const uint32_t *list)
{
    if (start[i] == start[i + 1])
        return;
    if (by_need) {
        fprintf(out, " n_%" PRIu64 ":", p->need_id[i]);
    } else {
        fputs(" p_", out);
        s_pname(out, p, (uint32_t)i);
        fputc(':', out);
    }
    for (uint32_t t = start[i]; t < start[i + 1]; t++) {
        fputs(t == start[i] ? " " : (t - start[i]) % S_TERMS_PER_LINE ? " + " : "\n   + ", out);
        s_var(out, p, list[t]);
    }
    fprintf(out, " <= %" PRId64 "\n", by_need ? p->need_amount[i] : p->project_budget[i]);
}

int tam_flow_lp_new(tam_flow_lp_t **out, const tam_flow_problem_t *p,
                    const tam_flow_solution_t *sol)
{
    *out = NULL;
    int rc = tam_flow__validate(p);
    if (rc)
        return rc;
    if (sol && (sol->n_arcs != p->n_arcs || (p->n_arcs && !sol->x)))
        return TAM_EINVAL;
    tam_flow_lp_t *w = calloc(1, sizeof *w);
    if (!w)
        return TAM_ENOMEM;
    w->p = p;
    w->sol = sol;
    if ((rc = s_group(p, 1, p->n_needs, &w->ns, &w->nl)) ||
        (rc = s_group(p, 0, p->n_projects, &w->ps, &w->pl))) {
        tam_flow_lp_destroy(&w);
        return rc;
    }
    *out = w;
    return 0;
}

void tam_flow_lp_destroy(tam_flow_lp_t **wp)
{
    if (!wp || !*wp)
        return;
    tam_flow_lp_t *w = *wp;
    free(w->ns);
    free(w->nl);
    free(w->ps);
    free(w->pl);
    free(w);
    *wp = NULL;
}

/* Writes one item of the current section (or moves to the next section). */
static void s_item(tam_flow_lp_t *w, FILE *out)
{
    const tam_flow_problem_t *p = w->p;
    switch (w->section) {
    case S_HEAD:
        fprintf(out,
                "\\ tamatch allocation problem: %zu needs, %zu projects, %zu pairs\n"
                "\\ x_<need id>_<project> = USD from the project to the need ('-' in a\n"
                "\\ project id is written '.').\n"
                "\\ Rows n_<need id>: need amount; p_<project>: budget (both including fixed\n"
                "\\ amounts, which are lower bounds of x).\n"
                "\\ The LP relaxation of this transportation problem has integral optimal\n"
                "\\ vertices, so its optimum equals the integer optimum.\n"
                "Maximize\n obj:",
                p->n_needs, p->n_projects, p->n_arcs);
        if (p->n_arcs == 0)
            fputs(" 0 x_none", out);
        w->section = S_OBJ;
        w->i = 0;
        return;
    case S_OBJ:
        if (w->i < p->n_arcs) {
            size_t k = w->i++;
            fputs(k == 0 ? " " : k % S_TERMS_PER_LINE ? " + " : "\n   + ", out);
            fprintf(out, "%" PRIu32 " ", p->arcs[k].score);
            s_var(out, p, k);
            return;
        }
        fputs("\nSubject To\n", out);
        if (p->n_arcs == 0)
            fputs(" none: x_none <= 0\n", out);
        w->section = S_NROWS;
        w->i = 0;
        return;
    case S_NROWS:
        if (w->i < p->n_needs) {
            s_row(out, p, 1, w->i++, w->ns, w->nl);
            return;
        }
        w->section = S_PROWS;
        w->i = 0;
        return;
    case S_PROWS:
        if (w->i < p->n_projects) {
            s_row(out, p, 0, w->i++, w->ps, w->pl);
            return;
        }
        fputs("Bounds\n", out);
        w->section = S_BOUNDS;
        w->i = 0;
        return;
    case S_BOUNDS:
        if (w->i < p->n_arcs) {
            size_t k = w->i++;
            const tam_flow_arc_t *a = &p->arcs[k];
            if (a->cap == TAM_FLOW_UNCAPPED && a->fixed == 0)
                return;
            fputc(' ', out);
            if (a->cap == TAM_FLOW_UNCAPPED) {
                s_var(out, p, k);
                fprintf(out, " >= %" PRId64 "\n", a->fixed);
            } else {
                fprintf(out, "%" PRId64 " <= ", a->fixed);
                s_var(out, p, k);
                fprintf(out, " <= %" PRId64 "\n", a->cap);
            }
            return;
        }
        fputs("End\n", out);
        w->i = 0;
        if (!w->sol) {
            w->section = S_DONE;
            return;
        }
        char obj[48];
        tam_flow_i128_format(obj, sizeof obj, w->sol->objective);
        fprintf(out, "\\ solution (tamatch): objective = %s\n", obj);
        w->section = S_SOL;
        return;
    case S_SOL:
        if (w->i < p->n_arcs) {
            size_t k = w->i++;
            if (w->sol->x[k] == 0)
                return;
            fputs("\\ ", out);
            s_var(out, p, k);
            fprintf(out, " = %" PRId64 "\n", w->sol->x[k]);
            return;
        }
        w->section = S_DONE;
        return;
    default:
        return;
    }
}

int tam_flow_lp_next(tam_flow_lp_t *w, FILE *out, size_t want)
{
    long start = ftell(out);
    while (w->section != S_DONE) {
        /* check the position every 64 items: ftell flushes nothing but costs */
        for (int k = 0; k < 64 && w->section != S_DONE; k++)
            s_item(w, out);
        long pos = ftell(out);
        if (start >= 0 && pos >= 0 && (size_t)(pos - start) >= want)
            break;
    }
    if (ferror(out))
        return TAM_EIO;
    return w->section == S_DONE;
}

int tam_flow_write_lp(FILE *out, const tam_flow_problem_t *p, const tam_flow_solution_t *sol)
{
    if (!out)
        return TAM_EINVAL;
    tam_flow_lp_t *w = NULL;
    int rc = tam_flow_lp_new(&w, p, sol);
    if (rc)
        return rc;
    while ((rc = tam_flow_lp_next(w, out, (size_t)1 << 30)) == 0)
        ;
    tam_flow_lp_destroy(&w);
    if (rc < 0)
        return rc;
    return ferror(out) || fflush(out) ? TAM_EIO : 0;
}

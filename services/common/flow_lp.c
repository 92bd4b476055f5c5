/* flow_lp.c — export of an allocation problem in CPLEX LP format, so that
 * an auditor can re-solve it with glpsol or any LP solver. */
#include <inttypes.h>
#include <stdlib.h>
#include "flow_int.h"
#include "tam/error.h"

#define S_TERMS_PER_LINE 6

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

static void s_var(FILE *out, const tam_flow_problem_t *p, size_t k)
{
    fprintf(out, "x_%" PRIu64 "_%" PRIu64, p->need_id[p->arcs[k].need], p->project_id[p->arcs[k].project]);
}

static void s_rows(FILE *out, const tam_flow_problem_t *p, const char *prefix, const uint64_t *ids,
                   const int64_t *rhs, size_t nk, const uint32_t *start, const uint32_t *list)
{
    for (size_t i = 0; i < nk; i++) {
        if (start[i] == start[i + 1])
            continue;
        fprintf(out, " %s_%" PRIu64 ":", prefix, ids[i]);
        for (uint32_t t = start[i]; t < start[i + 1]; t++) {
            fputs(t == start[i] ? " " : (t - start[i]) % S_TERMS_PER_LINE ? " + " : "\n   + ", out);
            s_var(out, p, list[t]);
        }
        fprintf(out, " <= %" PRId64 "\n", rhs[i]);
    }
}

int tam_flow_write_lp(FILE *out, const tam_flow_problem_t *p, const tam_flow_solution_t *sol)
{
    uint32_t *ns = NULL, *nl = NULL, *ps = NULL, *pl = NULL;
    int rc;

    if (!out)
        return TAM_EINVAL;
    if ((rc = tam_flow__validate(p)) != 0)
        return rc;
    if (sol && (sol->n_arcs != p->n_arcs || (p->n_arcs && !sol->x)))
        return TAM_EINVAL;
    if ((rc = s_group(p, 1, p->n_needs, &ns, &nl)) != 0 || (rc = s_group(p, 0, p->n_projects, &ps, &pl)) != 0)
        goto fail;
    fprintf(out,
            "\\ tamatch allocation problem: %zu needs, %zu projects, %zu pairs\n"
            "\\ x_<need id>_<project id> = USD from the project to the need.\n"
            "\\ Rows n_<need id>: need amount; p_<project id>: budget (both including fixed\n"
            "\\ amounts, which are lower bounds of x).\n"
            "\\ The LP relaxation of this transportation problem has integral optimal\n"
            "\\ vertices, so its optimum equals the integer optimum.\n"
            "Maximize\n obj:",
            p->n_needs, p->n_projects, p->n_arcs);
    if (p->n_arcs == 0)
        fputs(" 0 x_none", out);
    for (size_t k = 0; k < p->n_arcs; k++) {
        fputs(k == 0 ? " " : k % S_TERMS_PER_LINE ? " + " : "\n   + ", out);
        fprintf(out, "%" PRIu32 " ", p->arcs[k].score);
        s_var(out, p, k);
    }
    fputs("\nSubject To\n", out);
    if (p->n_arcs == 0)
        fputs(" none: x_none <= 0\n", out);
    s_rows(out, p, "n", p->need_id, p->need_amount, p->n_needs, ns, nl);
    s_rows(out, p, "p", p->project_id, p->project_budget, p->n_projects, ps, pl);
    fputs("Bounds\n", out);
    for (size_t k = 0; k < p->n_arcs; k++) {
        const tam_flow_arc_t *a = &p->arcs[k];
        if (a->cap == TAM_FLOW_UNCAPPED && a->fixed == 0)
            continue;
        fputc(' ', out);
        if (a->cap == TAM_FLOW_UNCAPPED) {
            s_var(out, p, k);
            fprintf(out, " >= %" PRId64 "\n", a->fixed);
        } else {
            fprintf(out, "%" PRId64 " <= ", a->fixed);
            s_var(out, p, k);
            fprintf(out, " <= %" PRId64 "\n", a->cap);
        }
    }
    fputs("End\n", out);
    if (sol) {
        char obj[48];
        tam_flow_i128_format(obj, sizeof obj, sol->objective);
        fprintf(out, "\\ solution (tamatch): objective = %s\n", obj);
        for (size_t k = 0; k < p->n_arcs; k++) {
            if (sol->x[k] == 0)
                continue;
            fputs("\\ ", out);
            s_var(out, p, k);
            fprintf(out, " = %" PRId64 "\n", sol->x[k]);
        }
    }
    rc = ferror(out) || fflush(out) ? TAM_EIO : 0;
fail:
    free(ns);
    free(nl);
    free(ps);
    free(pl);
    return rc;
}

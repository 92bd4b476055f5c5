/* run.c — `tamctl run`: the current run header of tam-match, so that anyone
 * can check a ranking: when it was made and from what (date, input hash,
 * feed positions), with which rules (weights, urgency horizon, equity scale,
 * minimum proposal), what it found (objective, the pure LP bound and what
 * the minimum cost) and each project's dual price with its range of
 * validity. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "out.h"
#include "tamctl.h"

static void s_date(uint32_t d, char out[16])
{
    snprintf(out, 16, "%04u-%02u-%02u", d / 10000 % 10000, d / 100 % 100, d % 100);
}

static int s_run(tamctl_t *t, int argc, char **argv)
{
    bool csv;
    int ex0 = tamctl_out_args(t, argc, argv, "run [--json|--csv]", &csv);
    if (ex0)
        return ex0;
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_ping_t ping = {.note = "run"};
    tam_run_t r;
    memset(&r, 0, sizeof r);
    uint8_t *body = NULL;
    size_t len = 0;
    int ex = tamctl_call_raw(t, "match", TAM_MSG_match_run, &ping, a, &r, "match", &body, &len);
    if (ex) {
        tam_arena_destroy(&a);
        return ex;
    }
    if (t->json) {
        tamctl_print_json(body, len);
        free(body);
        tam_arena_destroy(&a);
        return EX_OK;
    }
    free(body);
    if (!csv) {
        char date[16], u1[32], u2[32], u3[32];
        s_date(r.date, date);
        printf("run %llu of %s, input hash %s, code %s\n", (unsigned long long)r.run, date,
               r.hash, r.code_version);
        printf("  reflects feeds: ingest %llu (epoch %llx), registry %llu (epoch %llx), "
               "pipeline %llu (epoch %llx)\n",
               (unsigned long long)r.ingest_seq, (unsigned long long)r.ingest_epoch,
               (unsigned long long)r.registry_seq, (unsigned long long)r.registry_epoch,
               (unsigned long long)r.pipeline_seq, (unsigned long long)r.pipeline_epoch);
        printf("  weights:");
        for (uint32_t k = 0; k < r.weights.n; k++)
            printf(" %s %lld.%03lld", r.weights.v[k].name,
                   (long long)(r.weights.v[k].weight / 1000),
                   (long long)(r.weights.v[k].weight % 1000));
        printf("\n  urgency horizon %lld days from the run date; equity scale S = %s USD "
               "(equity = S / (S + R))\n",
               (long long)r.urgency_horizon_days, tamctl_usd(r.equity_scale, u1));
        printf("  minimum proposal: the larger of %s USD and %lld%% of the need's cost\n",
               tamctl_usd(r.min_amount, u1), (long long)r.min_share);
        printf("  %lld open need(s), %lld active project(s), %lld eligible pair(s)\n",
               (long long)r.needs, (long long)r.projects, (long long)r.pairs);
        printf("  requested %s USD, proposed or fixed %s USD, unfunded %s USD\n",
               tamctl_usd(r.requested, u1), tamctl_usd(r.funded, u2),
               tamctl_usd(r.unfunded, u3));
        printf("  objective %lld score-USD; pure LP bound %lld (%lld lost to the minimum: "
               "%lld pair(s) held back, %s USD set aside, %lld re-solve(s))\n",
               (long long)r.objective, (long long)r.lp_bound,
               (long long)(r.lp_bound - r.objective), (long long)r.held_back,
               tamctl_usd(r.set_aside, u1), (long long)r.min_rounds);
        printf("  solved %s in %lld us (%llu pivots), optimum %s\n\n",
               r.warm ? "warm" : "cold", (long long)r.solve_us, (unsigned long long)r.pivots,
               r.unique ? "unique" : "tied (canonical choice)");
    }
    static const tamctl_col_t cols[] = {
        {"project", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"available", "available USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"allocated", "allocated USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"eligible_needs", "needs", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
        {"dual", "dual", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
        {"dual_range", "holds for USD", TAMCTL_STR, TAMCTL_OUT_TABLE, NULL},
        {"dual_range", NULL, TAMCTL_INT, TAMCTL_OUT_DATA, NULL},
        {NULL, NULL, 0, 0, NULL}};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), cols);
    if (!o) {
        tam_arena_destroy(&a);
        return EX_OSERR;
    }
    for (uint32_t q = 0; q < r.project_state.n; q++) {
        const tam_run_project_t *p = &r.project_state.v[q];
        char range[40];
        if (p->dual_range < 0)
            snprintf(range, sizeof range, "any amount");
        else if (p->dual_range == 0)
            snprintf(range, sizeof range, "not computed");
        else
            snprintf(range, sizeof range, "%s", tamctl_usd(p->dual_range, (char[32]){0}));
        tamctl_out_str(o, p->project);
        tamctl_out_int(o, p->available);
        tamctl_out_int(o, p->allocated);
        tamctl_out_int(o, p->eligible_needs);
        tamctl_out_int(o, p->dual);
        tamctl_out_str(o, range);
        tamctl_out_int(o, p->dual_range);
        tamctl_out_end(o);
    }
    ex = tamctl_out_done(&o, stdout, 0);
    if (!csv)
        printf("\ndual: score points one more USD for the project adds to the objective; it "
               "holds for the next \"holds for\" USD (then each dollar adds less).\n");
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_run, "run", "[--json|--csv]",
               "Show the current matching run: date, input hash, feed positions, weights, "
               "objective and LP bound, dual prices with their ranges.",
               "  --json             the run header as tam-match sends it\n"
               "  --csv              the per-project table only\n"
               "Exit status 69 when tam-match does not answer.",
               s_run)

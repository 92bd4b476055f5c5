/* bench_whatif.c — what-if scenarios and advice at 20k needs x 500 projects
 * (docs/whatif.md): latency of match.whatif's evaluation (copy of the
 * engine, changes applied, warm run, comparison) for scenarios of 1 and 10
 * changes, beside a cold run of the same model measured in the same process;
 * match.advise for the project with the most unallocated money; and rank
 * stability: how many proposals change amount or rank after a one-dollar
 * ledger adjustment, a small new need in a country, and a small new need
 * that no project may fund (a change that cannot matter: churn must be 0).
 *
 *   bench_whatif [--needs N] [--projects M] [--reps R] [--seed S]
 *
 * The instance generator is bench_match's (same seed, same instance). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "match_whatif.h"
#include "tam/codec.h"
#include "tam/config.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/proto.h"

static uint64_t s_x = 88172645463325252ULL;

static uint64_t s_rand(void)
{
    s_x ^= s_x << 13;
    s_x ^= s_x >> 7;
    s_x ^= s_x << 17;
    return s_x;
}

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const tam_catalog_t *s_cat;

#include "bench_gen.h"

static int s_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(const double *v, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static long s_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* Builds an engine with the instance of seed; returns its time to first run. */
static tam_match_t *s_build(const tam_match_params_t *par, int nneeds, int nprojects,
                            uint64_t seed, double *t_apply, double *t_run)
{
    tam_match_t *m = NULL;
    if (tam_match_new(&m, s_cat, par))
        return NULL;
    s_x = seed * 2654435761u + 1;
    double t0 = s_now();
    for (int j = 0; j < nprojects; j++)
        if (s_project(m, j))
            return NULL;
    for (int i = 0; i < nneeds; i++)
        if (s_need(m, 1000 + (uint64_t)i))
            return NULL;
    double t1 = s_now();
    tam_match_seqs_t seqs = {.seq = {1, 1, 1}};
    if (tam_match_run(m, &seqs, NULL, NULL))
        return NULL;
    *t_apply = t1 - t0;
    *t_run = s_now() - t1;
    return m;
}


typedef struct {
    double p50, p99;
    int64_t churn, ranks;
    double copy, run, solve, score, warm; /* means: copy, scenario run, its solve, its scoring (s); warm share */
    double rounds, pivots;                /* means: re-solves for the minimum proposal, pivots */
} s_fig_t;

/* Evaluates reps scenarios made by mk(k, changes) and times each. */
static int s_time(const tam_match_t *m, int reps, uint32_t (*mk)(const tam_match_t *, int, tam_whatif_change_t *),
                  s_fig_t *out)
{
    double *v = malloc((size_t)reps * sizeof *v);
    tam_whatif_change_t ch[16];
    tam_arena_t *a = tam_arena_new(0);
    out->churn = out->ranks = 0;
    out->copy = out->run = out->solve = out->score = out->warm = out->rounds = out->pivots = 0;
    for (int k = 0; k < reps; k++) {
        uint32_t n = mk(m, k, ch);
        tam_rpc_error_t err = {0};
        if (tam_match__whatif_check(m, ch, n, &err)) {
            fprintf(stderr, "bench_whatif: scenario refused: %s %s\n", err.field, err.message);
            return 1;
        }
        tam_rpc_error_clear(&err);
        double t0 = s_now();
        tam_match_eval_t e;
        tam_whatif_result_t r;
        if (tam_match__whatif_eval(m, ch, n, &e) || tam_match__whatif_result(&e, 20, 100, a, &r))
            return 1;
        out->copy += (double)e.copy_us / 1e6 / reps;
        out->run += (double)e.run_us / 1e6 / reps;
        out->solve += (double)e.c->st.last_solve_us / 1e6 / reps;
        out->score += (double)e.c->st.last_score_us / 1e6 / reps;
        out->warm += (double)e.c->st.last_warm / reps;
        out->rounds += (double)e.c->min_rounds / reps;
        out->pivots += (double)e.c->st.last_pivots / reps;
        tam_match__eval_free(&e);
        v[k] = s_now() - t0;
        out->churn += r.proposals_changed;
        out->ranks += r.ranks_moved;
        tam_arena_reset(a);
    }
    qsort(v, (size_t)reps, sizeof *v, s_cmp_d);
    out->p50 = s_pct(v, reps, 0.5);
    out->p99 = s_pct(v, reps, 0.99);
    free(v);
    tam_arena_destroy(&a);
    return 0;
}

static int s_nproj;
static char s_pid[16][16];

static const char *s_p(int k)
{
    static int i;
    i = (i + 1) % 16;
    snprintf(s_pid[i], sizeof s_pid[i], "PRJ%04d", (int)((unsigned)k * 2654435761u % (unsigned)s_nproj));
    return s_pid[i];
}

static uint32_t s_one(const tam_match_t *m, int k, tam_whatif_change_t *ch)
{
    (void)m;
    ch[0] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_receipt, .project = (char *)s_p(k),
                                  .amount = 100000 + k};
    return 1;
}

static uint32_t s_ten(const tam_match_t *m, int k, tam_whatif_change_t *ch)
{
    static const char *ctry[] = {"KEN", "HTI", "NPL", "PER", "UKR", "MLI", "BRA", "IND"};
    uint32_t n = 0;
    for (int q = 0; q < 4; q++)
        ch[n++] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_receipt,
                                        .project = (char *)s_p(k * 10 + q), .amount = 50000};
    for (int q = 0; q < 3; q++)
        ch[n++] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_need_add,
                                        .country = (char *)ctry[(k + q) % 8], .standard = "A-SMR",
                                        .modality = "training", .priority = 4, .amount = 80000};
    ch[n++] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_adjustment,
                                    .project = (char *)s_p(k * 10 + 5), .amount = -1000};
    ch[n++] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_max_per_need,
                                    .project = (char *)s_p(k * 10 + 6), .amount = 0};
    /* an open need withdrawn */
    for (uint32_t i = (uint32_t)k * 37u % m->nneeds; i < m->nneeds; i++)
        if (m->needs[i].open) {
            ch[n++] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_need_withdraw,
                                            .need = m->needs[i].id};
            break;
        }
    return n;
}

static uint32_t s_dollar(const tam_match_t *m, int k, tam_whatif_change_t *ch)
{
    (void)m;
    ch[0] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_adjustment, .project = (char *)s_p(k),
                                  .amount = 1};
    return 1;
}

static uint32_t s_small(const tam_match_t *m, int k, tam_whatif_change_t *ch)
{
    const tam_country_t *c = tam_catalog_country_at(m->cat, (size_t)k * 7 % tam_catalog_ncountries(m->cat));
    ch[0] = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_need_add, .country = (char *)c->iso3,
                                  .standard = "A-SMR", .modality = "training", .priority = 3,
                                  .amount = 5000};
    return 1;
}

/* a small need no project may fund: its window starts after every project ends */
static uint32_t s_nothing(const tam_match_t *m, int k, tam_whatif_change_t *ch)
{
    s_small(m, k, ch);
    ch[0].start = 20350101;
    ch[0].end = 20351231;
    ch[0].respondent = "NEW-RESPONDENT"; /* no other need of its respondent re-ranks */
    return 1;
}

static double s_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

/* A/B, interleaved in this process: the same 1-change scenarios evaluated by
 * lean copies (A) and full ones (B, canonical duals, dual ranges and
 * records as a live run): user CPU and wall time per evaluation. */
static int s_ab_lean(tam_match_t *m, int reps)
{
    double cpu[2] = {0, 0}, wall[2] = {0, 0};
    for (int k = 0; k < 2 * reps; k++) {
        int b = k & 1;
        tam_match__whatif_lean = !b;
        tam_whatif_change_t ch[1];
        s_one(m, k / 2, ch);
        double c0 = s_cpu(), t0 = s_now();
        tam_match_eval_t e;
        if (tam_match__whatif_eval(m, ch, 1, &e))
            return 70;
        tam_match__eval_free(&e);
        cpu[b] += s_cpu() - c0;
        wall[b] += s_now() - t0;
    }
    tam_match__whatif_lean = true;
    printf("A/B lean copies, %d interleaved pairs (1 change): user CPU %.1f vs %.1f ms per "
           "what-if (lean/full %.2f), wall %.1f vs %.1f ms\n", reps, cpu[0] / reps * 1e3,
           cpu[1] / reps * 1e3, cpu[0] / cpu[1], wall[0] / reps * 1e3, wall[1] / reps * 1e3);
    tam_match_destroy(&m);
    return 0;
}

int main(int argc, char **argv)
{
    int nneeds = 20000, nprojects = 500, reps = 40, colds = 3;
    uint64_t seed = 1;
    static const struct option opts[] = {{"needs", required_argument, NULL, 'n'},
                                         {"projects", required_argument, NULL, 'p'},
                                         {"reps", required_argument, NULL, 'r'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"colds", required_argument, NULL, 'c'},
                                         {"skip-advise", no_argument, NULL, 'a'},
                                         {"ab-lean", no_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    bool skip_advise = false, ab_lean = false;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': nneeds = atoi(optarg); break;
        case 'p': nprojects = atoi(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'c': colds = atoi(optarg); break;
        case 'a': skip_advise = true; break;
        case 'l': ab_lean = true; break;
        default:
            fprintf(stderr, "usage: bench_whatif [--needs N] [--projects M] [--reps R] [--seed S] "
                            "[--colds K] [--skip-advise] [--ab-lean]\n");
            return 64;
        }
    }
    if (nneeds < 1 || nprojects < 1 || nprojects > 9999 || reps < 2) {
        fprintf(stderr, "bench_whatif: bad sizes\n");
        return 64;
    }
    s_nproj = nprojects;
    if (ab_lean)
        skip_advise = true;
    tam_log_init("bench_whatif", LOG_WARNING);
    const char *src = getenv("TAM_SOURCE_DIR");
    char dir[1024], err[512];
    snprintf(dir, sizeof dir, "%s/config/catalog", src ? src : ".");
    tam_catalog_t *cat = NULL;
    if (tam_catalog_load(&cat, dir, err, sizeof err)) {
        fprintf(stderr, "bench_whatif: %s (set TAM_SOURCE_DIR to the repository)\n", err);
        return 66;
    }
    s_cat = cat;
    tam_config_t cfg;
    tam_config_defaults(&cfg);
    tam_match_params_t par;
    if (tam_match_params_from_config(&cfg, &par, err, sizeof err))
        return 78;
    par.today = 20260601;
    double ta, tr;
    tam_match_t *m = s_build(&par, nneeds, nprojects, seed, &ta, &tr);
    if (!m) {
        fprintf(stderr, "bench_whatif: building the instance failed\n");
        return 70;
    }
    tam_match_stats_t st;
    tam_match_stats(m, &st);
    printf("bench_whatif: %d needs x %d projects, %lld pairs, %lld proposals, seed %llu\n", nneeds,
           nprojects, (long long)st.pairs, (long long)st.proposals, (unsigned long long)seed);
    if (ab_lean)
        return s_ab_lean(m, reps);
    /* baseline, same process: a cold run of the same model (a fresh engine, every
     * pair scored, solved from scratch), median of 3 */
    double cold[16];
    if (colds < 1 || colds > 16)
        colds = 3;
    for (int k = 0; k < colds; k++) {
        double a1, r1;
        tam_match_t *f = s_build(&par, nneeds, nprojects, seed, &a1, &r1);
        if (!f)
            return 70;
        cold[k] = r1;
        tam_match_destroy(&f);
    }
    qsort(cold, (size_t)colds, sizeof *cold, s_cmp_d);
    double cold_s = cold[colds / 2];
    s_fig_t one, ten, dollar, small, nothing;
    if (s_time(m, reps, s_one, &one) || s_time(m, reps, s_ten, &ten) ||
        s_time(m, reps / 4 + 2, s_dollar, &dollar) || s_time(m, reps / 4 + 2, s_small, &small) ||
        s_time(m, reps / 4 + 2, s_nothing, &nothing))
        return 70;
    int nd = reps / 4 + 2;
    /* advise: the project with the most unallocated money */
    uint32_t best = 0;
    int64_t most = -1;
    for (uint32_t j = 0; j < m->nprojects; j++) {
        const tam_match_project_t *p = &m->projects[j];
        int64_t used = p->flow < m->sol.n_projects ? m->sol.project_used[p->flow] : 0;
        if (p->can_fund && p->flow_budget - used > most) {
            most = p->flow_budget - used;
            best = j;
        }
    }
    tam_arena_t *a = tam_arena_new(0);
    tam_advice_list_t adv;
    memset(&adv, 0, sizeof adv);
    tam_rpc_error_t e = {0};
    __int128 slack0 = m->lp_bound - m->sol.objective;
    double t0 = s_now(), t_adv = 0, t_money = 0;
    tam_advice_list_t money;
    memset(&money, 0, sizeof money);
    if (!skip_advise) {
        if (tam_match__advise_project(m, m->projects[best].id, 10, a, &adv, &e))
            return 70;
        t_adv = s_now() - t0;
        t0 = s_now();
        if (tam_match__advise_money(m, 1000000, a, &money))
            return 70;
        t_money = s_now() - t0;
    }

    printf("cold run of the same model (median of %d): %.0f ms\n", colds, cold_s * 1e3);
    printf("what-if, 1 change (a receipt): p50 %.1f ms, p99 %.1f ms over %d\n", one.p50 * 1e3,
           one.p99 * 1e3, reps);
    printf("what-if, 10 changes: p50 %.1f ms, p99 %.1f ms over %d\n", ten.p50 * 1e3,
           ten.p99 * 1e3, reps);
    const s_fig_t *fs[] = {&one, &ten};
    for (int q = 0; q < 2; q++)
        printf("  %s: mean copy %.1f ms, scenario run %.1f ms (scoring %.1f, solve %.1f; warm in "
               "%.0f%%, %.1f re-solves for the minimum proposal, %.0f pivots)\n",
               q ? "10 changes" : "1 change", fs[q]->copy * 1e3, fs[q]->run * 1e3,
               fs[q]->score * 1e3, fs[q]->solve * 1e3, fs[q]->warm * 100, fs[q]->rounds,
               fs[q]->pivots);
    printf("churn per scenario (proposals changing amount/score/state, + rank only):\n");
    printf("  one-dollar adjustment: %.1f + %.1f rank-only (mean of %d)\n",
           (double)dollar.churn / nd, (double)dollar.ranks / nd, nd);
    printf("  small new need (5,000 USD) in a country: %.1f + %.1f rank-only\n",
           (double)small.churn / nd, (double)small.ranks / nd);
    printf("  small new need no project may fund: %lld + %lld rank-only (total over %d)\n",
           (long long)nothing.churn, (long long)nothing.ranks, nd);
    printf("advise %s (%lld USD unallocated): %.2f s, %lld candidates, %lld re-solved, %lld "
           "pruned by bound, %u suggestions (best adds %lld; the minimum proposal costs the run "
           "%lld, added to every bound)\n", m->projects[best].id, (long long)most, t_adv,
           (long long)adv.candidates, (long long)adv.solved, (long long)adv.pruned, adv.items.n,
           adv.items.n ? (long long)adv.items.v[0].objective_delta : 0LL,
           (long long)(slack0 > 0 ? slack0 : 0));
    printf("advise --money 1,000,000: %.2f s (%u steps)\n", t_money, money.steps.n);
    /* the floor, same process: the live engine itself making the same receipts
     * for real (feed record, warm run): what a what-if costs beyond it is the
     * copy and the comparison */
    double *live = malloc((size_t)reps * sizeof *live);
    for (int k = 0; k < reps; k++) {
        tam_whatif_change_t ch[1];
        s_one(m, k, ch);
        double t1 = s_now();
        if (tam_match__whatif_apply(m, ch, 1) || tam_match__whatif_run(m))
            return 70;
        live[k] = s_now() - t1;
    }
    qsort(live, (size_t)reps, sizeof *live, s_cmp_d);
    double live50 = s_pct(live, reps, 0.5);
    free(live);
    printf("the live engine making the same receipt for real (warm run): p50 %.1f ms\n",
           live50 * 1e3);
    printf("peak RSS %ld MB\n", s_rss_mb());
    printf("RESULT\twhatif\twhat-if p50 ms, 1 change\t%.1f\tcold run ms\t%.1f\t%.1f\t-\n",
           one.p50 * 1e3, cold_s * 1e3, cold_s / one.p50);
    printf("RESULT\twhatif\twhat-if p99 ms, 1 change\t%.1f\tcold run ms\t%.1f\t%.1f\t< 300\n",
           one.p99 * 1e3, cold_s * 1e3, cold_s / one.p99);
    printf("RESULT\twhatif\twhat-if p99 ms, 10 changes\t%.1f\tcold run ms\t%.1f\t%.1f\t< 300\n",
           ten.p99 * 1e3, cold_s * 1e3, cold_s / ten.p99);
    printf("RESULT\twhatif\tlive warm run of the same receipt, p50 ms\t%.1f\tcold run ms\t%.1f\t%.1f\t-\n",
           live50 * 1e3, cold_s * 1e3, cold_s / live50);
    printf("RESULT\twhatif\tchurn, +1 USD adjustment\t%.1f\t-\t-\t-\t-\n", (double)dollar.churn / nd);
    printf("RESULT\twhatif\tchurn, small new need\t%.1f\t-\t-\t-\t-\n", (double)small.churn / nd);
    printf("RESULT\twhatif\tchurn, change that cannot matter\t%lld\t-\t-\t-\t0\n",
           (long long)(nothing.churn + nothing.ranks));
    printf("RESULT\twhatif\tadvise s, one project\t%.2f\t-\t-\t-\t< 2\n", t_adv);
    double p99 = one.p99 > ten.p99 ? one.p99 : ten.p99;
    if (nneeds >= 20000) {
        printf("GOAL whatif-p99: %.0f ms (goal < 300 ms) %s\n", p99 * 1e3, p99 < 0.3 ? "met" : "not met");
        printf("GOAL whatif-vs-cold: %.1fx (goal >= 10x) %s\n", cold_s / one.p50,
               cold_s / one.p50 >= 10 ? "met" : "not met");
        if (!skip_advise)
            printf("GOAL advise-20k: %.2f s (goal < 2 s) %s\n", t_adv, t_adv < 2 ? "met" : "not met");
    }
    printf("GOAL whatif-churn-%dk: %lld (goal 0 for a change that cannot matter) %s\n",
           nneeds / 1000, (long long)(nothing.churn + nothing.ranks),
           nothing.churn + nothing.ranks == 0 ? "met" : "not met");
    tam_rpc_error_clear(&e);
    tam_arena_destroy(&a);
    tam_match_destroy(&m);
    tam_catalog_destroy(&cat);
    return 0;
}

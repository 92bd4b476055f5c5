/* bench_match.c — re-ranking latency of tam-match's engine: from a need
 * record arriving (as tam-ingest publishes it) to the run header and every
 * changed proposal handed to the feed, at 20k needs x 500 projects by
 * default (10-20% of pairs eligible). Each event is one new need; its run
 * re-scores only that row and re-solves from the previous basis. Printed
 * beside the same-run baseline: a full cold run (every pair scored, the
 * allocation solved from scratch) on the same final inputs.
 *
 *   bench_match [--needs N] [--projects M] [--events K] [--seed S] [--quick] [--no-quiet]
 *
 * --quick: only the events and the fresh engine they are compared with (no
 * bulk load, no queries; for A/B and profiling the incremental runs).
 * --no-quiet: every event re-solves (no quiet runs, match_quiet.c): the
 * behaviour before them, for A/B in the same binary.
 *
 * In the service, a need also crosses tam-ingest's commit and two feed hops,
 * and waits [match] coalesce (200 ms by default) so that bursts cost one run;
 * this measures the matcher's own work. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "match_int.h"
#include "match_worker.h"
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

static double s_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const tam_catalog_t *s_cat;
static size_t s_pubs, s_pub_bytes;

static int s_publish(const char *topic, const void *body, size_t len, void *arg)
{
    (void)topic;
    (void)arg;
    /* what the feed server does with a record: copy it into a message */
    void *copy = malloc(len);
    if (copy) {
        memcpy(copy, body, len);
        free(copy);
    }
    s_pubs++;
    s_pub_bytes += len;
    return 0;
}

#include "bench_gen.h"

/* One query as the loop thread answers it during a run; returns its ms. */
static double s_query(tam_match_t *m, tam_match_worker_t *w, int msg, const msgpack_sbuffer *q,
                      tam_arena_t *a, double *wait)
{
    msgpack_sbuffer ans;
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_t err = {0};
    double t0 = s_now();
    tam_arena_reset(a);
    tam_match_worker_rdlock(w);
    *wait = s_now() - t0;
    int rc = tam_match_query(m, msg, q->data, q->size, a, &ans, &err);
    tam_match_worker_rdunlock(w);
    double t = s_now() - t0;
    if (rc || err.code)
        fprintf(stderr, "bench_match: query %d refused: %d %d\n", msg, rc, err.code);
    tam_rpc_error_clear(&err);
    msgpack_sbuffer_destroy(&ans);
    return t;
}

/* The problem of the engine's last run in bench_alloc's instance format
 * (tests/bench/bench_inst.h), for the solver against LEMON on the structure
 * tam-match makes (bench_alloc --instance). */
static int s_write_inst(const tam_match_t *m, const char *path)
{
    tam_match_problem_t pb;
    if (tam_match__problem(m, &pb, false))
        return -1;
    FILE *f = fopen(path, "w");
    if (!f) {
        tam_match__problem_free(&pb);
        return -1;
    }
    const tam_flow_problem_t *p = &pb.p;
    fprintf(f, "tamflow 1 %zu %zu %zu\n", p->n_needs, p->n_projects, p->n_arcs);
    for (size_t i = 0; i < p->n_needs; i++)
        fprintf(f, "n %llu %lld\n", (unsigned long long)p->need_id[i], (long long)p->need_amount[i]);
    for (size_t j = 0; j < p->n_projects; j++)
        fprintf(f, "p %llu %lld\n", (unsigned long long)p->project_id[j],
                (long long)p->project_budget[j]);
    for (size_t k = 0; k < p->n_arcs; k++) {
        const tam_flow_arc_t *a = &p->arcs[k];
        /* no decisions here: fixed is 0; a pair held back has cap 0 */
        fprintf(f, "a %u %u %u %lld %u\n", a->need, a->project, a->score,
                a->cap == TAM_FLOW_UNCAPPED ? -1LL : (long long)(a->cap - a->fixed), a->tiebreak);
    }
    int rc = ferror(f) | (fclose(f) != 0);
    tam_match__problem_free(&pb);
    return rc ? -1 : 0;
}

/* FNV-1a over every project's dual range (slot order): before/after checks */
static uint64_t s_range_digest(const tam_match_t *m)
{
    uint64_t h = 1469598103934665603ULL;
    for (uint32_t j = 0; j < m->nprojects; j++) {
        uint64_t v = (uint64_t)m->projects[j].dual_range;
        for (int b = 0; b < 8; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 1099511628211ULL;
        }
    }
    return h;
}

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

/* Peak memory per stage: the kernel's high-water mark of this process
 * (VmHWM), reset at the start of a stage (clear_refs 5). */
static void s_peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double s_peak_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024.0;
}

static double s_peak_apply, s_peak_first;

/* Builds an engine with the instance of seed; returns its time to first run. */
static tam_match_t *s_build(const tam_match_params_t *par, int nneeds, int nprojects,
                            uint64_t seed, double *t_apply, double *t_run)
{
    s_peak_reset();
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
    s_peak_apply = s_peak_mb();
    s_peak_reset();
    tam_match_seqs_t seqs = {.seq = {1, 1, 1}};
    if (tam_match_run(m, &seqs, s_publish, NULL))
        return NULL;
    s_peak_first = s_peak_mb();
    *t_apply = t1 - t0;
    *t_run = s_now() - t1;
    return m;
}

int main(int argc, char **argv)
{
    int nneeds = 20000, nprojects = 500, events = 200;
    uint64_t seed = 1;
    bool no_min = false, quick = false, no_quiet = false;
    const char *inst_out = NULL;
    static const struct option opts[] = {{"needs", required_argument, NULL, 'n'},
                                         {"projects", required_argument, NULL, 'p'},
                                         {"events", required_argument, NULL, 'e'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"no-min", no_argument, NULL, 'm'},
                                         {"write-instance", required_argument, NULL, 'w'},
                                         {"quick", no_argument, NULL, 'q'},
                                         {"no-quiet", no_argument, NULL, 'Q'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': nneeds = atoi(optarg); break;
        case 'p': nprojects = atoi(optarg); break;
        case 'e': events = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'm': no_min = true; break;
        case 'w': inst_out = optarg; break;
        case 'q': quick = true; break;
        case 'Q': no_quiet = true; break;
        default:
            fprintf(stderr, "usage: bench_match [--needs N] [--projects M] [--events K] "
                            "[--seed S] [--no-min] [--write-instance FILE] [--quick] [--no-quiet]\n");
            return 64;
        }
    }
    if (nneeds < 1 || nprojects < 1 || nprojects > 9999 || events < 1) {
        fprintf(stderr, "bench_match: bad sizes\n");
        return 64;
    }
    tam_log_init("bench_match", getenv("BENCH_DEBUG") ? LOG_DEBUG : LOG_WARNING);
    const char *src = getenv("TAM_SOURCE_DIR");
    char dir[1024], err[512];
    snprintf(dir, sizeof dir, "%s/config/catalog", src ? src : ".");
    tam_catalog_t *cat = NULL;
    if (tam_catalog_load(&cat, dir, err, sizeof err)) {
        fprintf(stderr, "bench_match: %s (set TAM_SOURCE_DIR to the repository)\n", err);
        return 66;
    }
    s_cat = cat;
    tam_config_t cfg;
    tam_config_defaults(&cfg);
    tam_match_params_t par;
    if (tam_match_params_from_config(&cfg, &par, err, sizeof err))
        return 78;
    par.today = 20260601;
    if (no_min)
        par.min_amount = par.min_share = 0; /* no minimum proposal: the pure LP */

    printf("bench_match: %d needs x %d projects, %d events (new needs), seed %llu\n", nneeds,
           nprojects, events, (unsigned long long)seed);
    double ta, tr;
    tam_match_t *m = s_build(&par, nneeds, nprojects, seed, &ta, &tr);
    if (!m) {
        fprintf(stderr, "bench_match: building the instance failed\n");
        return 70;
    }
    tam_match_stats_t st;
    tam_match_stats(m, &st);
    printf("instance: %lld eligible pairs (%.1f%% of all), %lld proposals; records applied in "
           "%.0f ms\n", (long long)st.pairs, 100.0 * (double)st.pairs / ((double)nneeds * nprojects),
           (long long)st.proposals, ta * 1e3);
    printf("first run (cold): %.0f ms (scoring %.0f ms, solve %.0f ms, dual ranges %.0f ms in %llu "
           "solves)\n", tr * 1e3, (double)st.last_score_us / 1e3, (double)st.last_solve_us / 1e3,
           (double)st.last_ranges_us / 1e3, (unsigned long long)st.range_solves);

    printf("first run: hash %.16s, dual ranges digest %016llx\n", tam_match_run_hash(m),
           (unsigned long long)s_range_digest(m));
    if (inst_out && s_write_inst(m, inst_out) != 0) {
        fprintf(stderr, "bench_match: cannot write %s\n", inst_out);
        return 73;
    }

    double *lat = malloc((size_t)events * sizeof *lat), *solve = malloc((size_t)events * sizeof *solve);
    double *cpu = malloc((size_t)events * sizeof *cpu);
    int warm = 0;
    size_t changed = 0;
    uint64_t seq = 1;
    s_peak_reset();
    for (int k = 0; k < events; k++) {
        s_pubs = 0;
        double c0 = s_cpu();
        double t0 = s_now();
        s_need(m, 1000 + (uint64_t)nneeds + (uint64_t)k);
        tam_match_seqs_t seqs = {.seq = {++seq, 1, 1}};
        if (no_quiet)
            m->rd_ok = false; /* as if the last run's prices were unknown */
        if (tam_match_run(m, &seqs, s_publish, NULL)) {
            fprintf(stderr, "bench_match: run failed\n");
            return 70;
        }
        lat[k] = s_now() - t0;
        cpu[k] = s_cpu() - c0;
        tam_match_stats(m, &st);
        solve[k] = (double)st.last_solve_us / 1e6;
        warm += st.last_warm;
        if (getenv("BENCH_TRACE"))
            fprintf(stderr, "event %d: run %.1f ms (cpu %.1f) score %.1f solve %.1f pivots %llu "
                            "changed %lld%s\n",
                    k, lat[k] * 1e3, cpu[k] * 1e3, st.last_score_us / 1e3, st.last_solve_us / 1e3,
                    (unsigned long long)st.last_pivots, (long long)st.last_changed,
                    st.last_quiet ? " (quiet)" : "");
        changed += (size_t)st.last_changed;
    }
    int64_t final_pairs = st.pairs;
    uint64_t quiet_runs = st.quiet_runs;
    double peak_events = s_peak_mb();
    s_peak_reset();


    /* baseline, same run: a fresh engine (a restart) on the final inputs */
    tam_match_t *fresh = NULL;
    if (tam_match_new(&fresh, s_cat, &par))
        return 70;
    s_x = seed * 2654435761u + 1;
    for (int j = 0; j < nprojects; j++)
        s_project(fresh, j);
    for (int i = 0; i < nneeds + events; i++)
        s_need(fresh, 1000 + (uint64_t)i);
    double t0 = s_now();
    tam_match_seqs_t seqs = {.seq = {seq, 1, 1}};
    tam_match_run(fresh, &seqs, s_publish, NULL);
    double cold = s_now() - t0;
    double peak_cold = s_peak_mb();
    tam_match_stats(fresh, &st);

    double tbulk = 0, peak_bulk = 0;
    const char *bsame = "equal";
    if (!quick) {
        /* bulk load: a tenth of the needs, a run, then all the others at once
         * (as when tam-ingest takes a batch of imported replies); the first
         * complete run after the last record against the cold run above */
        s_peak_reset();
        tam_match_t *bulk = NULL;
        if (tam_match_new(&bulk, s_cat, &par))
            return 70;
        s_x = seed * 2654435761u + 1;
        for (int j = 0; j < nprojects; j++)
            s_project(bulk, j);
        int first = (nneeds + events) / 10;
        for (int i = 0; i < first; i++)
            s_need(bulk, 1000 + (uint64_t)i);
        tam_match_seqs_t bseqs = {.seq = {1, 1, 1}};
        tam_match_run(bulk, &bseqs, s_publish, NULL);
        for (int i = first; i < nneeds + events; i++)
            s_need(bulk, 1000 + (uint64_t)i);
        bseqs.seq[0] = 2;
        double tb0 = s_now();
        tam_match_run(bulk, &bseqs, s_publish, NULL);
        tbulk = s_now() - tb0;
        peak_bulk = s_peak_mb();
        tam_match_stats_t bst;
        tam_match_stats(bulk, &bst);
        bsame = strcmp(tam_match_run_hash(fresh), tam_match_run_hash(bulk)) == 0
                                ? "equal" : "DIFFERENT";
        printf("bulk load: %d needs, a run, then %d at once: first complete run %.0f ms (%s; "
               "scoring %.0f ms, solve %.0f ms, %llu pivots), %.2fx the cold run (scoring %.0f ms, "
               "solve %.0f ms, "
               "%llu pivots); hash %s\n", first, nneeds + events - first, tbulk * 1e3,
               bst.last_warm ? "warm" : "cold", bst.last_score_us / 1e3, bst.last_solve_us / 1e3,
               (unsigned long long)bst.last_pivots, tbulk / cold, st.last_score_us / 1e3,
               st.last_solve_us / 1e3, (unsigned long long)st.last_pivots, bsame);
        tam_match_destroy(&bulk);
    }
    const char *same = strcmp(tam_match_run_hash(fresh), tam_match_run_hash(m)) == 0
                           ? "equal" : "DIFFERENT";
    double w99 = 0, q50 = 0, q99 = 0, tq = 0, hold = 0;
    uint64_t locked = 0;
    int nq = 0;
    if (!quick) {
        /* queries during a full cold run (a new day: every pair re-scored, the
         * allocation solved from scratch) computed by the worker thread, as
         * tam-match answers them: proposals --top 20 and explain, every 5 ms */
        tam_match_worker_t *w = NULL;
        if (tam_match_worker_new(&w, m))
            return 70;
        char probe[96];
        tam_match__prop_id(m, &m->props[m->nprops / 2], probe, sizeof probe);
        tam_proposal_query_t pq = {.limit = 20};
        tam_proposal_ref_t pr = {.id = probe};
        msgpack_sbuffer qprop, qexp;
        tam_encode_sbuf(&tam_schema_proposal_query, &pq, &qprop, NULL);
        tam_encode_sbuf(&tam_schema_proposal_ref, &pr, &qexp, NULL);
        tam_arena_t *qa = tam_arena_new(0);
        int qmax = 100000;
        double *qlat = malloc((size_t)qmax * sizeof *qlat);
        double *qwait = malloc((size_t)qmax * sizeof *qwait);
        m->par.today++;
        tam_match_seqs_t qseqs = {.seq = {++seq, 1, 1}};
        double tq0 = s_now();
        if (tam_match_worker_start(w, &qseqs))
            return 70;
        while (!tam_match_worker_done(w) && nq + 2 <= qmax) {
            qlat[nq] = s_query(m, w, TAM_MSG_match_proposals, &qprop, qa, &qwait[nq]);
            nq++;
            qlat[nq] = s_query(m, w, TAM_MSG_match_explain, &qexp, qa, &qwait[nq]);
            nq++;
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        if (tam_match_worker_finish(w, s_publish, NULL))
            return 70;
        tq = s_now() - tq0;
        hold = (double)tam_match_worker_hold_us(w) / 1e6;
        tam_match_stats(m, &st);
        locked = st.locked_solves;
        tam_match_worker_destroy(&w);
        m->par.today--;
        qsort(qlat, (size_t)nq, sizeof *qlat, s_cmp_d);
        qsort(qwait, (size_t)nq, sizeof *qwait, s_cmp_d);
        w99 = nq ? s_pct(qwait, nq, 0.99) : 0;
        q50 = nq ? s_pct(qlat, nq, 0.5) : 0;
        q99 = nq ? s_pct(qlat, nq, 0.99) : 0;
        printf("queries during a full cold run (%.0f ms, worker thread): %d answered, p50 %.2f ms, "
               "p99 %.2f ms, max %.2f ms\n", tq * 1e3, nq, q50 * 1e3, q99 * 1e3,
               nq ? qlat[nq - 1] * 1e3 : 0);
        printf("  of which waiting for the engine's lock: p99 %.2f ms, max %.2f ms (the rest is "
               "the query's own work and CPU shared with the run)\n", w99 * 1e3,
               nq ? qwait[nq - 1] * 1e3 : 0);
        printf("  the run's longest write-lock hold: %.2f ms; solves made holding it: %llu\n",
               hold * 1e3, (unsigned long long)locked);
        msgpack_sbuffer_destroy(&qprop);
        msgpack_sbuffer_destroy(&qexp);
        tam_arena_destroy(&qa);
        free(qlat);
        free(qwait);
    }

    qsort(lat, (size_t)events, sizeof *lat, s_cmp_d);
    qsort(solve, (size_t)events, sizeof *solve, s_cmp_d);
    qsort(cpu, (size_t)events, sizeof *cpu, s_cmp_d);
    double p50 = s_pct(lat, events, 0.5), p99 = s_pct(lat, events, 0.99);
    printf("\nre-ranking after one new need (record in -> last change published):\n");
    printf("  p50 %7.1f ms   p90 %7.1f ms   p99 %7.1f ms   max %7.1f ms   (%d/%d warm, %.1f "
           "changes per run)\n", p50 * 1e3, s_pct(lat, events, 0.9) * 1e3, p99 * 1e3,
           lat[events - 1] * 1e3, warm, events, (double)changed / events);
    printf("  of which solving: p50 %.1f ms, p99 %.1f ms\n", s_pct(solve, events, 0.5) * 1e3,
           s_pct(solve, events, 0.99) * 1e3);
    printf("  CPU time of the run's thread: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms (%llu quiet "
           "runs: no re-solve)\n", s_pct(cpu, events, 0.5) * 1e3, s_pct(cpu, events, 0.9) * 1e3,
           s_pct(cpu, events, 0.99) * 1e3, (unsigned long long)quiet_runs);
    printf("baseline, full cold run on the final inputs (%lld pairs): %.0f ms (solve %.0f ms)\n",
           (long long)final_pairs, cold * 1e3, (double)st.last_solve_us / 1e3);
    printf("ratio full cold / incremental p50: %.1fx; p99 goal < 1000 ms: %s\n", cold / p50,
           p99 < 1.0 ? "met" : "NOT met");
    printf("run hash after the events vs fresh engine: %s; peak RSS %ld MB\n", same, s_rss_mb());
    printf("after the events: hash %.16s, dual ranges digest %016llx\n", tam_match_run_hash(m),
           (unsigned long long)s_range_digest(m));
    /* one line per figure for scripts/bench */
    char size[64];
    snprintf(size, sizeof size, "%dk x %d", nneeds / 1000, nprojects);
    char gsize[64];
    snprintf(gsize, sizeof gsize, "%dkx%d", nneeds / 1000, nprojects);
    int inc_goal = nneeds >= 100000 ? 300 : 50;
    printf("RESULT\tmatch\tre-rank p50 ms, %s\t%.1f\tfull cold run ms\t%.0f\t%.1fx\t"
           "well under full\n", size, p50 * 1e3, cold * 1e3, cold / p50);
    printf("RESULT\tmatch\tre-rank p99 ms, %s\t%.1f\tfull cold run ms\t%.0f\t%.1fx\t"
           "p99 < 1000 ms\n", size, p99 * 1e3, cold * 1e3, cold / p99);
    printf("RESULT\tmatch\tbulk load first run ms, %s\t%.0f\tcold run ms\t%.0f\t%.2fx\t"
           "<= 1.2x\n", size, tbulk * 1e3, cold * 1e3, tbulk / cold);
    printf("GOAL match-bulk-load-%s: first complete run %.2fx a cold solve (%.0f / %.0f ms) "
           "(goal <= 1.2x) %s\n", gsize, tbulk / cold, tbulk * 1e3, cold * 1e3,
           tbulk <= 1.2 * cold && bsame[0] == 'e' ? "met" : "not met");
    printf("RESULT\tmatch\tquery p99 ms during cold run, %s\t%.2f\tcold run ms\t%.0f\t%.4f\t"
           "< 20 ms\n", size, q99 * 1e3, tq * 1e3, q99 / tq);
    printf("GOAL match-query-during-cold-%s: p99 %.2f ms over %d queries during a %.0f ms cold run "
           "(goal < 20 ms; lock wait p99 %.2f ms, longest write-lock hold %.2f ms) %s\n", gsize,
           q99 * 1e3, nq, tq * 1e3, w99 * 1e3, hold * 1e3,
           q99 < 0.020 && nq > 0 ? "met" : "not met");
    printf("RESULT\tmatch\tlongest write-lock hold ms in cold run, %s\t%.2f\tcold run ms\t%.0f\t"
           "%.4f\t< 20 ms\n", size, hold * 1e3, tq * 1e3, hold / (tq > 0 ? tq : 1));
    printf("GOAL match-incremental-%s: p50 %.1f ms per run after one new need (goal < %d ms) %s\n",
           gsize, p50 * 1e3, inc_goal, p50 * 1e3 < inc_goal ? "met" : "not met");
    /* the scale curve: time and peak memory per stage (scripts/bench) */
    printf("SCALE\t%s\t%lld pairs\tapply %.0f ms, %.0f MB\tfirst cold run %.0f ms, %.0f MB\t"
           "incremental p50 %.1f ms, %.0f MB\tcold run (second engine) %.0f ms, %.0f MB\t"
           "bulk-load run (third engine) %.0f ms, %.0f MB\tquery p99 %.2f ms\n", size,
           (long long)final_pairs, ta * 1e3, s_peak_apply, tr * 1e3, s_peak_first, p50 * 1e3,
           peak_events, cold * 1e3, peak_cold, tbulk * 1e3, peak_bulk, q99 * 1e3);
    free(lat);
    free(solve);
    free(cpu);
    tam_match_destroy(&m);
    tam_match_destroy(&fresh);
    tam_catalog_destroy(&cat);
    return same[0] == 'e' && bsame[0] == 'e' ? 0 : 1;
}

/* proposals.c — what tam-match computed: `tamctl proposals` (ranked, with
 * filters), `tamctl explain ID`, `tamctl gaps`, `tamctl watch` (live changes
 * from the proposals feed), `tamctl export-lp FILE` (the current run's
 * problem and solution in CPLEX LP format) and `tamctl wait` (until tam-match
 * has published a run that reflects what the other services hold now). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "tam/feed.h"
#include "out.h"
#include "tamctl.h"

/* "0.7500" for a value in 1/10000. */
static const char *s_unit(int64_t v, char buf[32])
{
    snprintf(buf, 32, "%lld.%04lld", (long long)(v / 10000), (long long)(v % 10000));
    return buf;
}

static void s_donors(const tam_strs_t *d, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < d->n && o + 1 < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? "," : "", d->v[i]);
}

/* ---- tamctl proposals ------------------------------------------------------------- */

static const tamctl_col_t s_prop_cols[] = {
    {"rank", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"id", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"country", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"standard", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"modality", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"project", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"donors", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"amount", "amount USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"score", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"state", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

/* Where a ranked listing (proposals, gaps) stands: it pages by offset within
 * one run, and refuses to mix two runs. */
typedef struct {
    void *q;        /* the query: its offset and limit are set per page */
    int64_t *offset, *limit;
    uint64_t run;
    int64_t total, unfunded;
    char hash[65];
} s_ranked_t;

static int s_run_check(s_ranked_t *x, tamctl_out_t *o, uint64_t run)
{
    if (tamctl_out_rows(o) && run != x->run) {
        fprintf(stderr, "tamctl: a new run (%llu) was published while listing; run the "
                        "command again\n", (unsigned long long)run);
        return EX_TEMPFAIL;
    }
    x->run = run;
    return 0;
}

static int s_prop_page(tamctl_t *t, void *vctx, tam_arena_t *a, tamctl_out_t *o, int64_t want,
                       bool *more)
{
    s_ranked_t *x = vctx;
    tam_proposal_list_t l;
    uint8_t *body = NULL;
    size_t len = 0;
    memset(&l, 0, sizeof l);
    *x->offset = (int64_t)tamctl_out_rows(o);
    *x->limit = want;
    int ex = tamctl_call_raw(t, "match", TAM_MSG_match_proposals, x->q, a, &l, NULL, &body, &len);
    if (ex == 0)
        ex = s_run_check(x, o, l.run);
    json_t *recs = ex == 0 && t->json ? tamctl_json_items(body, len, "items") : NULL;
    free(body);
    if (ex)
        return ex;
    snprintf(x->hash, sizeof x->hash, "%s", l.hash);
    x->total = l.total;
    for (uint32_t i = 0; i < l.items.n; i++) {
        const tam_proposal_t *p = &l.items.v[i];
        char donors[200];
        s_donors(&p->donors, donors, sizeof donors);
        tamctl_out_record(o, json_array_get(recs, i));
        tamctl_out_int(o, p->rank);
        tamctl_out_str(o, p->id);
        tamctl_out_str(o, p->country);
        tamctl_out_str(o, p->standard);
        tamctl_out_str(o, p->modality);
        tamctl_out_str(o, p->project);
        tamctl_out_str(o, donors);
        tamctl_out_int(o, p->amount);
        tamctl_out_int(o, p->score);
        tamctl_out_str(o, tam_enum_proposal_state.values[p->state]);
        tamctl_out_end(o);
    }
    json_decref(recs);
    *more = (int64_t)tamctl_out_rows(o) < l.total;
    return 0;
}

static int s_proposals(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"country", required_argument, NULL, 'C'},  {"group", required_argument, NULL, 'g'},
        {"category", required_argument, NULL, 'k'}, {"standard", required_argument, NULL, 's'},
        {"project", required_argument, NULL, 'p'},  {"donor", required_argument, NULL, 'd'},
        {"top", required_argument, NULL, 'n'},      {"csv", no_argument, NULL, 'v'},
        {"json", no_argument, NULL, 'j'},           {NULL, 0, NULL, 0}};
    tam_proposal_query_t q;
    memset(&q, 0, sizeof q);
    int64_t top = 100;
    bool csv = false;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C': q.country = tamctl_upper(optarg); break;
        case 'g': q.group = tamctl_upper(optarg); break;
        case 'k': q.category = tamctl_upper(optarg); break;
        case 's': q.standard = tamctl_upper(optarg); break;
        case 'p': q.project = optarg; break;
        case 'd': q.donor = optarg; break;
        case 'n':
            if ((ex = tamctl_parse_count("--top", optarg, &top)))
                return ex;
            break;
        case 'v': csv = true; break;
        case 'j': t->json = true; break;
        default:
            fprintf(stderr, "usage: tamctl proposals [OPTIONS]; see tamctl help proposals\n");
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tamctl proposals: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    s_ranked_t x = {.q = &q, .offset = &q.offset, .limit = &q.limit};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), s_prop_cols);
    ex = tamctl_out_pages(t, o, top, s_prop_page, &x);
    tamctl_out_meta_int(o, "run", (int64_t)x.run);
    tamctl_out_meta_str(o, "hash", x.hash);
    tamctl_out_meta_int(o, "total", x.total);
    int64_t got = (int64_t)tamctl_out_rows(o);
    ex = tamctl_out_done(&o, stdout, ex);
    if (ex == 0 && !t->quiet && !csv && !t->json)
        fprintf(stderr, "%lld of %lld proposal(s) of run %llu (hash %.12s)%s\n", (long long)got,
                (long long)x.total, (unsigned long long)x.run, x.hash,
                got < x.total ? "; --top N for more" : "");
    return ex;
}

/* ---- tamctl explain ------------------------------------------------------------------ */

static int s_explain(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'j') {
            fprintf(stderr, "usage: tamctl explain [--json] NEED/PROJECT\n");
            return EX_USAGE;
        }
        t->json = true;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: tamctl explain [--json] NEED/PROJECT\n");
        return EX_USAGE;
    }
    tam_proposal_ref_t q = {.id = argv[optind]};
    tam_arena_t *a = tam_arena_new(0);
    tam_explanation_t ex;
    uint8_t *body = NULL;
    size_t len = 0;
    memset(&ex, 0, sizeof ex);
    int rc = a ? tamctl_call_raw(t, "match", TAM_MSG_match_explain, &q, a, &ex, NULL, &body, &len)
               : EX_OSERR;
    if (rc == 0 && t->json) {
        tamctl_print_json(body, len);
    } else if (rc == 0) {
        const tam_proposal_t *p = ex.proposal;
        char amt[32], fixed[32], avail[32], unf[32], donors[200], b1[32], b2[32];
        s_donors(&p->donors, donors, sizeof donors);
        printf("proposal %s: need %llu (%s, %s, %s, %s) from project %s (donors %s)\n", p->id,
               (unsigned long long)p->need, p->country, p->group, p->standard, p->modality,
               p->project, donors);
        char rank[48];
        if (ex.rank > 0)
            snprintf(rank, sizeof rank, "rank %lld", (long long)ex.rank);
        else
            snprintf(rank, sizeof rank, "not ranked");
        printf("  state %s, %s in run %llu (input hash %.16s)\n",
               tam_enum_pair_state.values[ex.state], rank, (unsigned long long)ex.run, ex.hash);
        printf("  amount %s USD (fixed %s), score %lld of 10000\n", tamctl_usd(p->amount, amt),
               tamctl_usd(p->fixed, fixed), (long long)p->score);
        printf("\nscore = sum of weight x value / sum of weights, in points:\n");
        printf("  %-14s %8s %8s %8s\n", "factor", "value", "weight", "points");
        for (uint32_t i = 0; i < p->factors.n; i++) {
            const tam_factor_t *f = &p->factors.v[i];
            printf("  %-14s %8s %8.3f %8lld\n", f->name, s_unit(f->value, b1),
                   (double)f->weight / 1000.0, (long long)f->points);
        }
        printf("  %-14s %8s %8s %8lld\n", "total", "", "", (long long)p->score);
        printf("equity basis: %s USD already endorsed or committed for %s; equity = %s / (%s + "
               "that)\n", tamctl_usd(ex.equity_basis, b1), p->country,
               tamctl_usd(ex.equity_scale, b2), b2);
        if (ex.basis.n) {
            printf("\nhow the values were obtained (declared beside used):\n");
            for (uint32_t i = 0; i < ex.basis.n; i++)
                printf("  - %s\n", ex.basis.v[i]);
        }
        printf("\neligibility:\n");
        for (uint32_t i = 0; i < ex.eligibility.n; i++)
            printf("  - %s\n", ex.eligibility.v[i]);
        printf("\nbinding constraints:\n");
        for (uint32_t i = 0; i < ex.binding.n; i++)
            printf("  - %s\n", ex.binding.v[i]);
        if (ex.binding.n == 0)
            printf("  - none\n");
        const tam_explain_money_t *mo = ex.money;
        if (mo) {
            /* the one money model, labelled as project show and the reports */
            printf("\nneed %llu:\n", (unsigned long long)p->need);
            printf("  requested            %s USD\n", tamctl_usd(mo->need_requested, b1));
            printf("  proposed             %s USD (match run %llu)\n",
                   tamctl_usd(mo->need_proposed, b1), (unsigned long long)ex.run);
            printf("  endorsed             %s USD\n", tamctl_usd(mo->need_endorsed, b1));
            printf("  committed            %s USD\n", tamctl_usd(mo->need_committed, b1));
            printf("  unmet                %s USD\n", tamctl_usd(mo->need_unmet, b1));
            printf("project %s:\n", p->project);
            printf("  received             %s USD\n", tamctl_usd(mo->project_received, b1));
            printf("  committed            %s USD\n", tamctl_usd(mo->project_committed, b1));
            printf("  endorsed             %s USD\n", tamctl_usd(mo->project_endorsed, b1));
            printf("  available            %s USD after commitments and endorsements\n",
                   tamctl_usd(mo->project_available, b1));
            printf("  proposed             %s USD (match run %llu)\n",
                   tamctl_usd(mo->project_proposed, b1), (unsigned long long)ex.run);
            printf("  unallocated          %s USD\n", tamctl_usd(mo->project_unallocated, b1));
        }
        printf("\nin this run: the need costs %s USD; decisions fix %s USD of it; unfunded after "
               "this run: %s USD\n", tamctl_usd(ex.need_cost, b1), tamctl_usd(ex.need_fixed, b2),
               tamctl_usd(ex.need_unfunded, unf));
        printf("project %s may still give %s USD in this run (received - committed; its "
               "endorsements are held on their pairs); dual price %lld (one more USD for it would "
               "raise the objective by %s score points)\n", p->project,
               tamctl_usd(ex.project_available, avail), (long long)ex.project_dual,
               tamctl_usd(ex.project_dual, b2));
        if (ex.alternatives.n) {
            printf("\nother projects that may fund the need:\n");
            static const char *h[] = {"project", ">score", ">amount USD", NULL};
            tamctl_table_t *tb = tamctl_table_new(h);
            for (uint32_t i = 0; i < ex.alternatives.n; i++) {
                char s[16], m[32];
                snprintf(s, sizeof s, "%lld", (long long)ex.alternatives.v[i].score);
                const char *row[] = {ex.alternatives.v[i].project, s,
                                     tamctl_usd(ex.alternatives.v[i].amount, m)};
                tamctl_table_row(tb, row);
            }
            tamctl_table_print(&tb, stdout, false, NULL);
        }
    }
    free(body);
    tam_arena_destroy(&a);
    return rc;
}

/* ---- tamctl gaps ------------------------------------------------------------------------ */

static const tamctl_col_t s_gap_cols[] = {
    {"need", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"country", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"group", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"category", "cat", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"standard", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"modality", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"priority", "pri", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"cost", "cost USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"funded", "funded USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"unfunded", "unfunded USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"reason", "why", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

static int s_gap_page(tamctl_t *t, void *vctx, tam_arena_t *a, tamctl_out_t *o, int64_t want,
                      bool *more)
{
    s_ranked_t *x = vctx;
    tam_gap_list_t l;
    uint8_t *body = NULL;
    size_t len = 0;
    memset(&l, 0, sizeof l);
    *x->offset = (int64_t)tamctl_out_rows(o);
    *x->limit = want;
    int ex = tamctl_call_raw(t, "match", TAM_MSG_match_gaps, x->q, a, &l, NULL, &body, &len);
    if (ex == 0)
        ex = s_run_check(x, o, l.run);
    json_t *recs = ex == 0 && t->json ? tamctl_json_items(body, len, "items") : NULL;
    free(body);
    if (ex)
        return ex;
    x->total = l.total;
    x->unfunded = l.unfunded;
    for (uint32_t i = 0; i < l.items.n; i++) {
        const tam_gap_t *g = &l.items.v[i];
        tamctl_out_record(o, json_array_get(recs, i));
        tamctl_out_u64(o, g->need);
        tamctl_out_str(o, g->country);
        tamctl_out_str(o, g->group);
        tamctl_out_str(o, g->category);
        tamctl_out_str(o, g->standard);
        tamctl_out_str(o, g->modality);
        tamctl_out_int(o, g->priority);
        tamctl_out_int(o, g->cost);
        tamctl_out_int(o, g->funded);
        tamctl_out_int(o, g->unfunded);
        tamctl_out_str(o, g->reason);
        tamctl_out_end(o);
    }
    json_decref(recs);
    *more = (int64_t)tamctl_out_rows(o) < l.total;
    return 0;
}

static int s_gaps(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"country", required_argument, NULL, 'C'},  {"group", required_argument, NULL, 'g'},
        {"category", required_argument, NULL, 'k'}, {"top", required_argument, NULL, 'n'},
        {"csv", no_argument, NULL, 'v'},            {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    tam_gap_query_t q;
    memset(&q, 0, sizeof q);
    int64_t top = 100;
    bool csv = false;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C': q.country = tamctl_upper(optarg); break;
        case 'g': q.group = tamctl_upper(optarg); break;
        case 'k': q.category = tamctl_upper(optarg); break;
        case 'n':
            if ((ex = tamctl_parse_count("--top", optarg, &top)))
                return ex;
            break;
        case 'v': csv = true; break;
        case 'j': t->json = true; break;
        default:
            fprintf(stderr, "usage: tamctl gaps [OPTIONS]; see tamctl help gaps\n");
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tamctl gaps: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    s_ranked_t x = {.q = &q, .offset = &q.offset, .limit = &q.limit};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), s_gap_cols);
    ex = tamctl_out_pages(t, o, top, s_gap_page, &x);
    tamctl_out_meta_int(o, "run", (int64_t)x.run);
    tamctl_out_meta_int(o, "total", x.total);
    tamctl_out_meta_int(o, "unfunded", x.unfunded);
    int64_t got = (int64_t)tamctl_out_rows(o);
    ex = tamctl_out_done(&o, stdout, ex);
    char u[32];
    if (ex == 0 && !t->quiet && !csv && !t->json)
        fprintf(stderr, "%lld unmet need(s), %s USD unfunded, in run %llu%s\n",
                (long long)x.total, tamctl_usd(x.unfunded, u), (unsigned long long)x.run,
                got < x.total ? "; --top N for more" : "");
    return ex;
}

TAMCTL_COMMAND(s_cmd_proposals, "proposals", "[OPTIONS]",
               "List the current run's proposals in rank order (tam-match).",
               "  --country ISO3     only needs of this country\n"
               "  --group G          only this UN regional group (AFRICAN, APG, EEG, GRULAC, WEOG)\n"
               "  --category X       only standards of category A, B, C or D\n"
               "  --standard ID      only this standard\n"
               "  --project ID       only this project's money\n"
               "  --donor ID         only projects this donor funds\n"
               "  --top N            at most N proposals (default 100)\n"
               "  --csv | --json     machine-readable output",
               s_proposals)
TAMCTL_COMMAND(s_cmd_explain, "explain", "NEED/PROJECT",
               "Explain a pair of the current run (id and input hash): its state (proposed, "
               "unfunded, ineligible, declined, decided) and rank, factors, weights and points, "
               "the equity basis, eligibility, binding constraints, dual price, alternatives.",
               "  --json             the explanation as JSON", s_explain)
TAMCTL_COMMAND(s_cmd_gaps, "gaps", "[OPTIONS]",
               "List needs the current run leaves unfunded, largest first, and why.",
               "  --country ISO3 | --group G | --category X   filters\n"
               "  --top N            at most N needs (default 100)\n"
               "  --csv | --json     machine-readable output",
               s_gaps)

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
#include "tamctl.h"

#define S_PAGE 1000

static void s_table_drop(tamctl_table_t **tb)
{
    FILE *f = fopen("/dev/null", "w");
    if (f) {
        tamctl_table_print(tb, f, true, NULL);
        fclose(f);
    } else if (*tb) {
        tamctl_table_print(tb, stderr, true, NULL);
    }
}

/* Appends the JSON of a msgpack list's "items" to all. */
static int s_json_items(json_t *all, const uint8_t *body, size_t len)
{
    char *text = tam_msgpack_to_json(body, len, 0);
    json_error_t je;
    json_t *page = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    if (!page)
        return EX_SOFTWARE;
    json_array_extend(all, json_object_get(page, "items"));
    json_decref(page);
    return 0;
}

static void s_json_out(json_t *o)
{
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        puts(text);
        free(text);
    }
}

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
        case 'C': q.country = optarg; break;
        case 'g': q.group = optarg; break;
        case 'k': q.category = optarg; break;
        case 's': q.standard = optarg; break;
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
    static const char *h[] = {">rank", "id", "country", "standard", "modality", "project",
                              "donors", ">amount USD", ">score", "state", NULL};
    tamctl_table_t *tb = t->json ? NULL : tamctl_table_new(h);
    json_t *items = t->json ? json_array() : NULL;
    int64_t got = 0, total = 0;
    uint64_t run = 0;
    char hash[65] = "";
    ex = 0;
    do {
        q.offset = got;
        q.limit = top - got < S_PAGE ? top - got : S_PAGE;
        if (q.limit <= 0)
            break;
        tam_arena_t *a = tam_arena_new(0);
        tam_proposal_list_t l;
        uint8_t *body = NULL;
        size_t len = 0;
        memset(&l, 0, sizeof l);
        ex = a ? tamctl_call_raw(t, "match", TAM_MSG_match_proposals, &q, a, &l, NULL, &body,
                                 &len)
               : EX_OSERR;
        if (ex == 0 && got && l.run != run) {
            fprintf(stderr, "tamctl: a new run (%llu) was published while listing; run the "
                            "command again\n", (unsigned long long)l.run);
            ex = EX_TEMPFAIL;
        }
        if (ex == 0) {
            run = l.run;
            snprintf(hash, sizeof hash, "%s", l.hash);
            total = l.total;
            got += l.items.n;
            if (items)
                ex = s_json_items(items, body, len);
            for (uint32_t i = 0; tb && i < l.items.n; i++) {
                const tam_proposal_t *p = &l.items.v[i];
                char rank[24], amt[32], score[16], donors[200];
                snprintf(rank, sizeof rank, "%lld", (long long)p->rank);
                snprintf(score, sizeof score, "%lld", (long long)p->score);
                tamctl_usd(p->amount, amt);
                s_donors(&p->donors, donors, sizeof donors);
                const char *row[] = {rank, p->id, p->country, p->standard, p->modality,
                                     p->project, donors, amt, score,
                                     tam_enum_proposal_state.values[p->state]};
                tamctl_table_row(tb, row);
            }
            if (l.items.n == 0)
                got = total; /* nothing more */
        }
        free(body);
        tam_arena_destroy(&a);
    } while (ex == 0 && got < total && got < top);
    if (ex) {
        if (tb)
            s_table_drop(&tb);
        json_decref(items);
        return ex;
    }
    if (items) {
        json_t *o = json_object();
        json_object_set_new(o, "run", json_integer((json_int_t)run));
        json_object_set_new(o, "hash", json_string(hash));
        json_object_set_new(o, "total", json_integer(total));
        json_object_set_new(o, "items", items);
        s_json_out(o);
        json_decref(o);
        return 0;
    }
    tamctl_table_print(&tb, stdout, csv, NULL);
    if (!t->quiet && !csv)
        fprintf(stderr, "%lld of %lld proposal(s) of run %llu (hash %.12s)%s\n",
                (long long)got, (long long)total, (unsigned long long)run, hash,
                got < total ? "; --top N for more" : "");
    return 0;
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
        printf("\neligibility:\n");
        for (uint32_t i = 0; i < ex.eligibility.n; i++)
            printf("  - %s\n", ex.eligibility.v[i]);
        printf("\nbinding constraints:\n");
        for (uint32_t i = 0; i < ex.binding.n; i++)
            printf("  - %s\n", ex.binding.v[i]);
        if (ex.binding.n == 0)
            printf("  - none\n");
        printf("\nneed costs %s USD; decisions fix %s USD of it; unfunded after this run: %s "
               "USD\n", tamctl_usd(ex.need_cost, b1), tamctl_usd(ex.need_fixed, b2),
               tamctl_usd(ex.need_unfunded, unf));
        printf("project %s: %s USD available; dual price %lld (one more USD for it would raise "
               "the objective by %s score points)\n", p->project,
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
        case 'C': q.country = optarg; break;
        case 'g': q.group = optarg; break;
        case 'k': q.category = optarg; break;
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
    static const char *h[] = {">need", "country", "group", "cat", "standard", "modality",
                              ">pri", ">cost USD", ">funded USD", ">unfunded USD", "why",
                              NULL};
    tamctl_table_t *tb = t->json ? NULL : tamctl_table_new(h);
    json_t *items = t->json ? json_array() : NULL;
    int64_t got = 0, total = 0, unfunded = 0;
    uint64_t run = 0;
    ex = 0;
    do {
        q.offset = got;
        q.limit = top - got < S_PAGE ? top - got : S_PAGE;
        if (q.limit <= 0)
            break;
        tam_arena_t *a = tam_arena_new(0);
        tam_gap_list_t l;
        uint8_t *body = NULL;
        size_t len = 0;
        memset(&l, 0, sizeof l);
        ex = a ? tamctl_call_raw(t, "match", TAM_MSG_match_gaps, &q, a, &l, NULL, &body, &len)
               : EX_OSERR;
        if (ex == 0) {
            run = l.run;
            total = l.total;
            unfunded = l.unfunded;
            got += l.items.n;
            if (items)
                ex = s_json_items(items, body, len);
            for (uint32_t i = 0; tb && i < l.items.n; i++) {
                const tam_gap_t *g = &l.items.v[i];
                char id[24], pri[8], cost[32], fund[32], unf[32];
                snprintf(id, sizeof id, "%llu", (unsigned long long)g->need);
                snprintf(pri, sizeof pri, "%lld", (long long)g->priority);
                const char *row[] = {id, g->country, g->group, g->category, g->standard,
                                     g->modality, pri, tamctl_usd(g->cost, cost),
                                     tamctl_usd(g->funded, fund), tamctl_usd(g->unfunded, unf),
                                     g->reason};
                tamctl_table_row(tb, row);
            }
            if (l.items.n == 0)
                got = total;
        }
        free(body);
        tam_arena_destroy(&a);
    } while (ex == 0 && got < total && got < top);
    if (ex) {
        if (tb)
            s_table_drop(&tb);
        json_decref(items);
        return ex;
    }
    if (items) {
        json_t *o = json_object();
        json_object_set_new(o, "run", json_integer((json_int_t)run));
        json_object_set_new(o, "total", json_integer(total));
        json_object_set_new(o, "unfunded", json_integer(unfunded));
        json_object_set_new(o, "items", items);
        s_json_out(o);
        json_decref(o);
        return 0;
    }
    tamctl_table_print(&tb, stdout, csv, NULL);
    char u[32];
    if (!t->quiet && !csv)
        fprintf(stderr, "%lld unmet need(s), %s USD unfunded, in run %llu%s\n",
                (long long)total, tamctl_usd(unfunded, u), (unsigned long long)run,
                got < total ? "; --top N for more" : "");
    return 0;
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

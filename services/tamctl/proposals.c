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

static int s_count_arg(const char *what, const char *s, int64_t *out)
{
    uint64_t v;
    int ex = tamctl_parse_u64(what, s, &v);
    if (ex == 0 && v > 100000000) {
        fprintf(stderr, "tamctl: %s must be at most 100000000\n", what);
        return EX_USAGE;
    }
    if (ex == 0)
        *out = (int64_t)v;
    return ex;
}

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
            if ((ex = s_count_arg("--top", optarg, &top)))
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
        printf("  amount %s USD (fixed %s), score %lld of 10000, rank %lld, state %s, run %llu\n",
               tamctl_usd(p->amount, amt), tamctl_usd(p->fixed, fixed), (long long)p->score,
               (long long)p->rank, tam_enum_proposal_state.values[p->state],
               (unsigned long long)p->run);
        printf("\nscore = sum of weight x value / sum of weights, in points:\n");
        printf("  %-14s %8s %8s %8s\n", "factor", "value", "weight", "points");
        for (uint32_t i = 0; i < p->factors.n; i++) {
            const tam_factor_t *f = &p->factors.v[i];
            printf("  %-14s %8s %8.3f %8lld\n", f->name, s_unit(f->value, b1),
                   (double)f->weight / 1000.0, (long long)f->points);
        }
        printf("  %-14s %8s %8s %8lld\n", "total", "", "", (long long)p->score);
        printf("\neligibility:\n");
        for (uint32_t i = 0; i < ex.eligibility.n; i++)
            printf("  - %s\n", ex.eligibility.v[i]);
        printf("\nbinding constraints:\n");
        for (uint32_t i = 0; i < ex.binding.n; i++)
            printf("  - %s\n", ex.binding.v[i]);
        if (ex.binding.n == 0)
            printf("  - none\n");
        printf("\nneed unfunded after this run: %s USD\n", tamctl_usd(ex.need_unfunded, unf));
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
            if ((ex = s_count_arg("--top", optarg, &top)))
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

/* ---- tamctl watch ----------------------------------------------------------------------- */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

typedef struct {
    tamctl_t *t;
    char category;       /* filter on the topic's last part, 0: none */
    int64_t count, max;  /* proposal changes printed / to print (0: no limit) */
    int bad;
} s_watch_t;

static void s_watch_record(const char *topic, size_t tn, const void *body, size_t len,
                           uint64_t seq, int from_snapshot, void *arg)
{
    s_watch_t *w = arg;
    (void)seq;
    if (from_snapshot || (w->max && w->count >= w->max))
        return; /* live changes only */
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return;
    if (tn == 3 && memcmp(topic, "run", 3) == 0) {
        tam_run_t r;
        memset(&r, 0, sizeof r);
        if (!w->t->quiet && tam_decode(&tam_schema_run, body, len, a, &r, NULL) == 0) {
            char f[32], u[32];
            fprintf(stderr, "run %llu: %lld change(s), funded %s USD, unfunded %s USD, hash %.12s\n",
                    (unsigned long long)r.run, (long long)r.changed, tamctl_usd(r.funded, f),
                    tamctl_usd(r.unfunded, u), r.hash);
        }
    } else if (tn > 5 && (!w->category || topic[tn - 1] == w->category)) {
        tam_proposal_t p;
        memset(&p, 0, sizeof p);
        if (tam_decode(&tam_schema_proposal, body, len, a, &p, NULL) != 0) {
            w->bad++;
        } else if (w->t->json) {
            char *j = tam_msgpack_to_json(body, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (j) {
                puts(j);
                free(j);
            }
            w->count++;
        } else {
            char amt[32];
            printf("run %llu %-9s %-16s %s %-12s %-12s %-10s %12s USD score %5lld rank %lld %s\n",
                   (unsigned long long)p.run, tam_enum_change_reason.values[p.reason], p.id,
                   p.country, p.standard, p.modality, p.project, tamctl_usd(p.amount, amt),
                   (long long)p.score, (long long)p.rank, tam_enum_proposal_state.values[p.state]);
            w->count++;
        }
        fflush(stdout);
    }
    tam_arena_destroy(&a);
}

static void s_watch_reset(void *arg)
{
    s_watch_t *w = arg;
    if (!w->t->quiet)
        fprintf(stderr, "(feed interrupted or tam-match restarted: resynchronising; changes in "
                        "between are not shown)\n");
}

static void s_watch_synced(uint64_t seq, void *arg)
{
    s_watch_t *w = arg;
    if (!w->t->quiet)
        fprintf(stderr, "watching %s (at sequence %llu); Ctrl-C to stop\n", w->t->cfg.match.feed,
                (unsigned long long)seq);
}

static int s_watch(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"country", required_argument, NULL, 'C'}, {"category", required_argument, NULL, 'k'},
        {"count", required_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    const char *country = NULL, *category = NULL;
    s_watch_t w = {.t = t};
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C': country = optarg; break;
        case 'k': category = optarg; break;
        case 'n':
            if ((ex = s_count_arg("--count", optarg, &w.max)))
                return ex;
            break;
        case 'j': t->json = true; break;
        default:
            fprintf(stderr, "usage: tamctl watch [--country C] [--category X] [--count N] "
                            "[--json]\n");
            return EX_USAGE;
        }
    }
    if (optind < argc || (country && strlen(country) != 3) ||
        (category && strlen(category) != 1)) {
        fprintf(stderr, "usage: tamctl watch [--country ISO3] [--category A-D] [--count N]\n");
        return EX_USAGE;
    }
    /* topics are prop/<ISO3>/<CAT>: a country narrows the subscription; a
     * category alone is filtered here */
    char prefix[32];
    if (country)
        snprintf(prefix, sizeof prefix, "prop/%s/%s", country, category ? category : "");
    else
        snprintf(prefix, sizeof prefix, "prop/");
    w.category = category && !country ? category[0] : 0;
    const char *prefixes[] = {prefix, "run"};
    tam_feed_callbacks_t cb = {.on_record = s_watch_record, .on_reset = s_watch_reset,
                               .on_synced = s_watch_synced, .arg = &w};
    tam_feed_client_opts_t fo = {.silence_ms = (int)(3 * t->cfg.common.heartbeat + 500),
                                 .snapshot_timeout_ms = (int)t->cfg.tamctl.timeout};
    tam_feed_client_t *fc = NULL;
    int rc = tam_feed_client_new(&fc, t->zctx, t->cfg.match.feed, t->cfg.match.snapshot,
                                 prefixes, 2, &cb, &fo);
    if (rc) {
        fprintf(stderr, "tamctl: cannot follow %s: %s\n", t->cfg.match.feed, tam_strerror(rc));
        return EX_UNAVAILABLE;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    s_stop = 0;
    ex = 0;
    while (!s_stop && !(w.max && w.count >= w.max)) {
        if ((rc = tam_feed_client_run(fc, 500))) {
            fprintf(stderr, "tamctl: feed: %s\n", tam_strerror(rc));
            ex = EX_IOERR;
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    tam_feed_client_destroy(&fc);
    if (w.bad)
        fprintf(stderr, "tamctl: %d record(s) on the feed did not decode\n", w.bad);
    return ex;
}

/* ---- tamctl export-lp --------------------------------------------------------------------- */

static int s_export_lp(tamctl_t *t, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tamctl export-lp FILE   (- for standard output)\n");
        return EX_USAGE;
    }
    const char *path = argv[1];
    bool out_std = strcmp(path, "-") == 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = out_std ? stdout : fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        return EX_CANTCREAT;
    }
    tam_lp_request_t q = {0};
    uint64_t total = 0;
    int ex = 0;
    do {
        tam_arena_t *a = tam_arena_new(0);
        tam_lp_chunk_t ch;
        memset(&ch, 0, sizeof ch);
        ex = a ? tamctl_call(t, "match", TAM_MSG_match_export_lp, &q, a, &ch, NULL) : EX_OSERR;
        if (ex == 0) {
            size_t n = strlen(ch.text);
            q.run = ch.run; /* the following chunks must come from the same run */
            total = ch.total;
            if (fwrite(ch.text, 1, n, f) != n)
                ex = EX_IOERR;
            q.offset += n;
            if (n == 0 && q.offset < total)
                ex = EX_PROTOCOL;
        }
        tam_arena_destroy(&a);
    } while (ex == 0 && q.offset < total);
    if (!out_std) {
        if (fclose(f) != 0 && ex == 0)
            ex = EX_IOERR;
        if (ex == 0 && rename(tmp, path) != 0) {
            perror(path);
            ex = EX_CANTCREAT;
        }
        if (ex)
            remove(tmp);
    } else if (fflush(stdout) != 0 && ex == 0) {
        ex = EX_IOERR;
    }
    if (ex == 0 && !t->quiet && !out_std)
        fprintf(stderr, "%s: %llu bytes, run %llu (re-solve with: glpsol --lp %s)\n", path,
                (unsigned long long)total, (unsigned long long)q.run, path);
    return ex;
}

/* ---- tamctl wait ---------------------------------------------------------------------------- */

/* One quiet call (no error printing): 0, or a TAM_E* code / status error. */
static int s_quiet(tamctl_t *t, const char *service, int msg_id, const void *req,
                   tam_arena_t *a, void *out)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg_id];
    tam_rpc_client_t *cl = tamctl_client(t, service);
    if (!cl)
        return TAM_EUNAVAIL;
    msgpack_sbuffer sb;
    if (tam_encode_sbuf(m->request, req, &sb, NULL))
        return TAM_EINVAL;
    tam_rpc_answer_t ans = {0};
    int rc = tam_rpc_call(cl, m->type, sb.data, sb.size, &ans);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0 && ans.status != TAM_RPC_OK)
        rc = ans.error.code ? ans.error.code : TAM_EINTERNAL;
    if (rc == 0 && tam_decode(m->answer, ans.body, ans.len, a, out, NULL))
        rc = TAM_EPROTO;
    tam_rpc_answer_clear(&ans);
    return rc;
}

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_wait(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    int64_t timeout_s = 30;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 't') {
            fprintf(stderr, "usage: tamctl wait [--timeout SECONDS]\n");
            return EX_USAGE;
        }
        if ((ex = s_count_arg("--timeout", optarg, &timeout_s)))
            return ex;
    }
    if (optind < argc) {
        fprintf(stderr, "usage: tamctl wait [--timeout SECONDS]\n");
        return EX_USAGE;
    }
    int64_t deadline = s_mono_ms() + timeout_s * 1000;
    /* what the feeds hold now; a service that does not answer is not waited for */
    static const char *svc[] = {"ingest", "registry", "pipeline"};
    uint64_t want[3] = {0, 0, 0}, want_epoch[3] = {0, 0, 0};
    bool up[3] = {false, false, false};
    t->cfg.common.request_retries = 0;
    if (t->cfg.tamctl.timeout > 1000)
        t->cfg.tamctl.timeout = 1000;
    for (int i = 0; i < 3; i++) {
        tam_arena_t *a = tam_arena_new(0);
        tam_ping_t ping = {.note = "wait"};
        tam_pong_t pong;
        memset(&pong, 0, sizeof pong);
        if (a && s_quiet(t, svc[i], TAM_MSG_sys_ping, &ping, a, &pong) == 0) {
            up[i] = true;
            want[i] = pong.feed_seq;
            want_epoch[i] = pong.feed_epoch;
        } else if (!t->quiet) {
            fprintf(stderr, "tamctl wait: %s does not answer; not waiting for it\n", svc[i]);
        }
        tam_arena_destroy(&a);
    }
    tam_run_t last;
    memset(&last, 0, sizeof last);
    bool any = false;
    int last_rc = 0;
    for (;;) {
        tam_arena_t *a = tam_arena_new(0);
        tam_ping_t ping = {0};
        tam_run_t r;
        memset(&r, 0, sizeof r);
        int rc = a ? s_quiet(t, "match", TAM_MSG_match_run, &ping, a, &r) : TAM_ENOMEM;
        last_rc = rc;
        if (rc == 0) {
            any = true;
            last.run = r.run;
            last.ingest_seq = r.ingest_seq;
            last.registry_seq = r.registry_seq;
            last.pipeline_seq = r.pipeline_seq;
            uint64_t have[3] = {r.ingest_seq, r.registry_seq, r.pipeline_seq};
            uint64_t have_epoch[3] = {r.ingest_epoch, r.registry_epoch, r.pipeline_epoch};
            bool ok = true;
            /* The same feed (epoch: a restarted service counts from 0 again) at
             * least as far as the service was when we asked. */
            for (int i = 0; i < 3; i++)
                ok &= !up[i] || (have[i] >= want[i] && (want_epoch[i] == 0 || have_epoch[i] == want_epoch[i]));
            if (ok) {
                if (!t->quiet)
                    fprintf(stderr, "run %llu reflects ingest %llu, registry %llu, pipeline "
                                    "%llu\n", (unsigned long long)r.run,
                            (unsigned long long)r.ingest_seq, (unsigned long long)r.registry_seq,
                            (unsigned long long)r.pipeline_seq);
                tam_arena_destroy(&a);
                return EX_OK;
            }
        }
        tam_arena_destroy(&a);
        if (s_mono_ms() >= deadline)
            break;
        zmq_poll(NULL, 0, 100); /* a client's polling interval, not synchronisation */
    }
    fprintf(stderr, "tamctl wait: after %lld s tam-match has %s (wanted ingest %llu, registry "
                    "%llu, pipeline %llu; last run %llu reflects %llu, %llu, %llu)\n",
            (long long)timeout_s,
            any ? "not caught up"
            : last_rc == TAM_EUNAVAIL || last_rc == TAM_ETIMEOUT ? "not answered"
                                                                 : "published no run",
            (unsigned long long)want[0], (unsigned long long)want[1],
            (unsigned long long)want[2], (unsigned long long)last.run,
            (unsigned long long)last.ingest_seq, (unsigned long long)last.registry_seq,
            (unsigned long long)last.pipeline_seq);
    return EX_TEMPFAIL;
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
               "Explain a proposal: factors, weights and points, eligibility, binding "
               "constraints, dual price, alternatives.",
               "  --json             the explanation as JSON", s_explain)
TAMCTL_COMMAND(s_cmd_gaps, "gaps", "[OPTIONS]",
               "List needs the current run leaves unfunded, largest first, and why.",
               "  --country ISO3 | --group G | --category X   filters\n"
               "  --top N            at most N needs (default 100)\n"
               "  --csv | --json     machine-readable output",
               s_gaps)
TAMCTL_COMMAND(s_cmd_watch, "watch", "[OPTIONS]",
               "Print proposals as tam-match publishes changes to them (Ctrl-C stops).",
               "  --country ISO3     only this country's proposals\n"
               "  --category X       only this category\n"
               "  --count N          stop after N changes\n"
               "  --json             one JSON object per line",
               s_watch)
TAMCTL_COMMAND(s_cmd_export_lp, "export-lp", "FILE",
               "Write the current run's problem and solution in CPLEX LP format (- : stdout).",
               NULL, s_export_lp)
TAMCTL_COMMAND(s_cmd_wait, "wait", "[--timeout S]",
               "Wait until tam-match has published a run reflecting the current feeds of "
               "ingest, registry and pipeline (exit 75 on timeout).",
               "  --timeout S        give up after S seconds (default 30)", s_wait)

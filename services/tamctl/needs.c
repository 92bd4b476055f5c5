/* needs.c — `tamctl needs`, `tamctl replies` and `tamctl reply ID`: what
 * tam-ingest holds. Listings page through the service (ingest.needs,
 * ingest.replies) until the end or --limit, and print a table, CSV or JSON. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tam/error.h"
#include "submit.h"
#include "tamctl.h"

#define S_PAGE 1000

/* Collects the items of every page for --json. */
static int s_json_extend(json_t *all, const uint8_t *body, size_t len, const char *key)
{
    char *text = tam_msgpack_to_json(body, len, 0);
    json_error_t je;
    json_t *page = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    if (!page)
        return EX_SOFTWARE;
    json_array_extend(all, json_object_get(page, key));
    json_decref(page);
    return 0;
}

static void s_json_print(json_t *all)
{
    char *text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        puts(text);
        free(text);
    }
}

/* Frees a table without printing it (tamctl.h offers print-and-free only). */
static void s_table_drop(tamctl_table_t **tb)
{
    FILE *f = fopen("/dev/null", "w");
    if (f) {
        tamctl_table_print(tb, f, true, NULL);
        fclose(f);
    }
}

static void s_table_done(tamctl_table_t **tb, int ex, bool csv)
{
    if (ex == 0)
        tamctl_table_print(tb, stdout, csv, NULL);
    else
        s_table_drop(tb);
}

static int s_limit_arg(const char *s, size_t *out)
{
    uint64_t v;
    int ex = tamctl_parse_u64("--limit", s, &v);
    if (ex == 0)
        *out = (size_t)v;
    return ex;
}

/* ---- tamctl needs --------------------------------------------------------------- */

static void s_need_row(tamctl_table_t *tb, const tam_need_t *n)
{
    char id[24], reply[24], pri[8], cost[32], start[11], end[11], window[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)n->id);
    snprintf(reply, sizeof reply, "%llu", (unsigned long long)n->reply_id);
    snprintf(pri, sizeof pri, "%lld", (long long)n->priority);
    tamctl_usd(n->cost, cost);
    tam_date_format(n->start, start);
    tam_date_format(n->end, end);
    snprintf(window, sizeof window, "%s..%s", start, end);
    const char *row[] = {id,        n->country, n->category,  n->standard,
                         n->modality, pri,      cost,         window,
                         n->respondent, reply,  tam_enum_need_status.values[n->status]};
    tamctl_table_row(tb, row);
}

static void s_answer_row(tamctl_table_t *tb, const tam_answer_rec_t *a)
{
    char reply[24];
    snprintf(reply, sizeof reply, "%llu", (unsigned long long)a->reply_id);
    const char *row[] = {reply, a->respondent, a->country ? a->country : "-", a->category,
                         a->standard, tam_enum_answer_state.values[a->state]};
    tamctl_table_row(tb, row);
}

static int s_needs(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"country", required_argument, NULL, 'C'},  {"group", required_argument, NULL, 'g'},
        {"category", required_argument, NULL, 'k'}, {"standard", required_argument, NULL, 's'},
        {"state", required_argument, NULL, 'S'},    {"status", required_argument, NULL, 't'},
        {"respondent", required_argument, NULL, 'r'}, {"limit", required_argument, NULL, 'l'},
        {"all", no_argument, NULL, 'a'},            {"csv", no_argument, NULL, 'v'},
        {"json", no_argument, NULL, 'j'},           {NULL, 0, NULL, 0}};
    tam_needs_query_t q;
    memset(&q, 0, sizeof q);
    size_t limit = SIZE_MAX;
    bool csv = false;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C': q.country = optarg; break;
        case 'g': q.group = optarg; break;
        case 'k': q.category = optarg; break;
        case 's': q.standard = optarg; break;
        case 'S': q.state = optarg; break;
        case 't': q.status = optarg; break;
        case 'r': q.respondent = optarg; break;
        case 'a': q.status = "any"; break;
        case 'l':
            if ((ex = s_limit_arg(optarg, &limit)))
                return ex;
            break;
        case 'v': csv = true; break;
        case 'j': t->json = true; break;
        default: fprintf(stderr, "usage: tamctl needs [OPTIONS]; see tamctl help needs\n"); return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tamctl needs: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    bool answers = q.state && strcmp(q.state, "need") != 0;
    static const char *nh[] = {">id", "country", "cat", "standard", "modality", ">pri",
                               ">cost USD", "window", "respondent", ">reply", "status", NULL};
    static const char *ah[] = {">reply", "respondent", "country", "cat", "standard", "state", NULL};
    tamctl_table_t *tb = t->json ? NULL : tamctl_table_new(answers ? ah : nh);
    json_t *all = t->json ? json_array() : NULL;
    size_t count = 0;
    ex = 0;
    do {
        size_t left = limit - count;
        q.limit = left < S_PAGE ? (int64_t)left : S_PAGE;
        tam_arena_t *a = tam_arena_new(0);
        tam_need_list_t l;
        uint8_t *body = NULL;
        size_t len = 0;
        memset(&l, 0, sizeof l);
        ex = a ? tamctl_call_raw(t, "ingest", TAM_MSG_ingest_needs, &q, a, &l, NULL, &body, &len)
               : EX_OSERR;
        if (ex == 0) {
            count += answers ? l.answers.n : l.items.n;
            for (uint32_t i = 0; tb && i < l.items.n; i++)
                s_need_row(tb, &l.items.v[i]);
            for (uint32_t i = 0; tb && i < l.answers.n; i++)
                s_answer_row(tb, &l.answers.v[i]);
            if (all)
                ex = s_json_extend(all, body, len, answers ? "answers" : "items");
            q.after = l.next;
        }
        free(body);
        tam_arena_destroy(&a);
    } while (ex == 0 && q.after && count < limit);
    if (ex == 0 && all)
        s_json_print(all);
    if (tb)
        s_table_done(&tb, ex, csv);
    json_decref(all);
    return ex;
}

/* ---- tamctl replies ------------------------------------------------------------- */

static void s_reply_row(tamctl_table_t *tb, const tam_reply_info_t *r)
{
    char id[24], ver[16], rev[16], sub[11], needs[16], wd[16], repl[24], compl[8];
    snprintf(id, sizeof id, "%llu", (unsigned long long)r->id);
    snprintf(ver, sizeof ver, "%lld", (long long)r->version);
    snprintf(rev, sizeof rev, "%lld", (long long)r->revision);
    tam_date_format(r->submitted, sub);
    snprintf(needs, sizeof needs, "%lld", (long long)r->needs);
    snprintf(wd, sizeof wd, "%lld", (long long)r->withdrawn);
    snprintf(repl, sizeof repl, "%llu", (unsigned long long)r->replaces);
    snprintf(compl, sizeof compl, "%lld%%", (long long)r->completeness);
    const char *row[] = {id, r->respondent, tam_enum_respondent_type.values[r->respondent_type],
                         r->category, ver, rev, tam_enum_reply_status.values[r->status], sub,
                         needs, wd, r->replaces ? repl : "-", compl};
    tamctl_table_row(tb, row);
}

static int s_replies(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"respondent", required_argument, NULL, 'r'}, {"country", required_argument, NULL, 'C'},
        {"group", required_argument, NULL, 'g'},      {"category", required_argument, NULL, 'k'},
        {"status", required_argument, NULL, 't'},     {"all", no_argument, NULL, 'a'},
        {"limit", required_argument, NULL, 'l'},      {"csv", no_argument, NULL, 'v'},
        {"json", no_argument, NULL, 'j'},             {NULL, 0, NULL, 0}};
    tam_replies_query_t q;
    memset(&q, 0, sizeof q);
    size_t limit = SIZE_MAX;
    bool csv = false;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': q.respondent = optarg; break;
        case 'C': q.country = optarg; break;
        case 'g': q.group = optarg; break;
        case 'k': q.category = optarg; break;
        case 't': q.status = optarg; break;
        case 'a': q.status = "any"; break;
        case 'l':
            if ((ex = s_limit_arg(optarg, &limit)))
                return ex;
            break;
        case 'v': csv = true; break;
        case 'j': t->json = true; break;
        default: fprintf(stderr, "usage: tamctl replies [OPTIONS]; see tamctl help replies\n"); return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tamctl replies: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    static const char *h[] = {">id", "respondent", "type", "cat", ">ver", ">rev", "status",
                              "submitted", ">needs", ">withdrawn", ">replaces", ">complete", NULL};
    tamctl_table_t *tb = t->json ? NULL : tamctl_table_new(h);
    json_t *all = t->json ? json_array() : NULL;
    size_t count = 0;
    ex = 0;
    do {
        size_t left = limit - count;
        q.limit = left < S_PAGE ? (int64_t)left : S_PAGE;
        tam_arena_t *a = tam_arena_new(0);
        tam_reply_list_t l;
        uint8_t *body = NULL;
        size_t len = 0;
        memset(&l, 0, sizeof l);
        ex = a ? tamctl_call_raw(t, "ingest", TAM_MSG_ingest_replies, &q, a, &l, NULL, &body, &len)
               : EX_OSERR;
        if (ex == 0) {
            count += l.items.n;
            for (uint32_t i = 0; tb && i < l.items.n; i++)
                s_reply_row(tb, &l.items.v[i]);
            if (all)
                ex = s_json_extend(all, body, len, "items");
            q.after = l.next;
        }
        free(body);
        tam_arena_destroy(&a);
    } while (ex == 0 && q.after && count < limit);
    if (ex == 0 && all)
        s_json_print(all);
    if (tb)
        s_table_done(&tb, ex, csv);
    json_decref(all);
    return ex;
}

/* ---- tamctl reply ID ------------------------------------------------------------ */

static int s_reply(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"diff", no_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    int c;
    bool diff = false;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd') {
            diff = true;
            continue;
        }
        if (c != 'j') {
            fprintf(stderr, "usage: tamctl reply ID [--diff] [--json]\n");
            return EX_USAGE;
        }
        t->json = true;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: tamctl reply ID [--diff] [--json]\n");
        return EX_USAGE;
    }
    tam_reply_key_t k;
    int ex = tamctl_parse_u64("reply id", argv[optind], &k.id);
    if (ex)
        return ex;
    if (diff)
        return tamctl_reply_diff(t, k.id);
    tam_arena_t *a = tam_arena_new(0);
    tam_reply_full_t f;
    uint8_t *body = NULL;
    size_t len = 0;
    memset(&f, 0, sizeof f);
    ex = a ? tamctl_call_raw(t, "ingest", TAM_MSG_ingest_reply_get, &k, a, &f, NULL, &body, &len)
           : EX_OSERR;
    if (ex == 0 && t->json) {
        tamctl_print_json(body, len);
    } else if (ex == 0) {
        const tam_reply_info_t *i = f.info;
        char sub[11], sto[11];
        tam_date_format(i->submitted, sub);
        tam_date_format(i->stored, sto);
        printf("reply %llu: %s (%s%s%s), category %s, instrument version %lld\n",
               (unsigned long long)i->id, i->respondent,
               tam_enum_respondent_type.values[i->respondent_type], i->name ? ", " : "",
               i->name ? i->name : "", i->category, (long long)i->version);
        printf("revision %lld, %s", (long long)i->revision, tam_enum_reply_status.values[i->status]);
        if (i->superseded_by)
            printf(" by reply %llu", (unsigned long long)i->superseded_by);
        if (i->replaces)
            printf("; revises reply %llu (%lld needs withdrawn)", (unsigned long long)i->replaces,
                   (long long)i->withdrawn);
        printf("\nsubmitted %s, stored %s, completeness %lld%%\nhistory:", sub, sto,
               (long long)i->completeness);
        for (uint32_t h = 0; h < f.history.n; h++)
            printf(" %s", f.history.v[h]);
        printf("\n");
        static const char *hd[] = {">need", ">ver", "country", "standard", "modality", ">pri",
                                   ">cost USD", "ref", NULL};
        tamctl_table_t *tb = tamctl_table_new(hd);
        for (uint32_t n = 0; n < f.reply->needs.n && n < f.need_ids.n; n++) {
            const tam_need_in_t *in = &f.reply->needs.v[n];
            char pri[8], cost[32];
            snprintf(pri, sizeof pri, "%lld", (long long)in->priority);
            tamctl_usd(in->cost, cost);
            const char *ver = n < f.need_versions.n ? f.need_versions.v[n] : "1";
            const char *row[] = {f.need_ids.v[n], ver,  in->country, in->standard, in->modality,
                                 pri,             cost, in->ref ? in->ref : ""};
            tamctl_table_row(tb, row);
        }
        if (f.reply->needs.n)
            tamctl_table_print(&tb, stdout, false, NULL);
        else {
            printf("no needs\n");
            s_table_drop(&tb);
        }
    }
    free(body);
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_needs, "needs", "[--country C] [--group G] [--category X] [--standard S] [--state S]",
               "List needs (or per-standard answers) held by ingest, with filters.",
               "  --country ISO3     needs concerning this country\n"
               "  --group G          countries of this UN regional group (AFRICAN, APG, EEG, GRULAC, WEOG)\n"
               "  --category X       A, B, C or D\n"
               "  --standard S       one standard, e.g. A-SMR\n"
               "  --respondent R     needs declared by this respondent\n"
               "  --state S          need (default: the needs), no_need or unanswered (the answers\n"
               "                     of current replies in that state)\n"
               "  --status S         open (default), withdrawn or any; --all is --status any\n"
               "  --limit N          at most N records\n"
               "  --csv, --json      CSV with a header row, or a JSON array",
               s_needs)
TAMCTL_COMMAND(s_cmd_replies, "replies", "[--respondent R] [--country C] [--group G] [--category X]",
               "List the replies held by ingest, with filters.",
               "  --respondent R     replies of this respondent (ISO3 or organisation id)\n"
               "  --country ISO3     replies concerning this country (respondent or needs)\n"
               "  --group G          replies concerning a country of this regional group\n"
               "  --category X       A, B, C or D\n"
               "  --status S         current (default), superseded or any; --all is --status any\n"
               "  --limit N          at most N replies\n"
               "  --csv, --json      CSV with a header row, or a JSON array",
               s_replies)
TAMCTL_COMMAND(s_cmd_reply, "reply", "ID [--diff] [--json]",
               "Show one stored reply with its needs and revision history.",
               "  --diff             what this revision changed against the previous one, need by\n"
               "                     need: added, restored, changed (fields old -> new),\n"
               "                     withdrawn, and how many are unchanged (needs keep their ids)\n"
               "  --json             the reply (or the diff) as JSON",
               s_reply)

/* needs.c — `tamctl needs`, `tamctl replies` and `tamctl reply ID`: what
 * tam-ingest holds. Listings page through the service (ingest.needs,
 * ingest.replies) until the end or --limit, and print a table, CSV or JSON. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tam/error.h"
#include "out.h"
#include "submit.h"
#include "tamctl.h"


static int s_limit_arg(const char *s, int64_t *out)
{
    uint64_t v;
    int ex = tamctl_parse_u64("--limit", s, &v);
    if (ex == 0)
        *out = v > INT64_MAX ? INT64_MAX : (int64_t)v;
    return ex;
}

/* ---- tamctl needs --------------------------------------------------------------- */

/* The data columns are those of `submit --format csv` (proto/needs-csv.md),
 * so that `needs --csv` can be submitted again; id, reply_id and status are
 * for information and ignored by submit. */
static const tamctl_col_t s_need_cols[] = {
    {"id", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"reply_id", "reply", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"respondent_type", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
    {"respondent", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"country", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"category", "cat", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"version", NULL, TAMCTL_INT, TAMCTL_OUT_DATA, NULL},
    {"completeness", NULL, TAMCTL_PCT, TAMCTL_OUT_DATA, NULL},
    {"standard", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"modality", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"priority", "pri", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"cost", "cost USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"start", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
    {"end", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
    {"window", NULL, TAMCTL_STR, TAMCTL_OUT_TABLE, NULL},
    {"status", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"text", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
    {"ref", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
    {NULL, NULL, 0, 0, NULL}};

static const tamctl_col_t s_answer_cols[] = {
    {"reply_id", "reply", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"respondent_type", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
    {"respondent", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"country", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"category", "cat", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"standard", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"state", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

/* What a need record lacks for the CSV of submit: its reply's respondent
 * type and instrument version, by reply id. A need repeated unchanged by a
 * revision keeps the reply id of the revision that declared it: the version
 * is that of the latest revision of the chain (next: superseded_by). */
typedef struct {
    uint64_t id;
    int type;
    int64_t version;
    uint64_t next;
} s_reply_meta_t;

typedef struct {
    s_reply_meta_t *v;
    size_t n, cap;
} s_reply_metas_t;

typedef struct {
    tam_needs_query_t q;
    bool answers;
    s_reply_metas_t *metas; /* CSV and JSON only */
} s_needs_ctx_t;

static const s_reply_meta_t *s_meta_of(const s_reply_metas_t *m, uint64_t id)
{
    size_t lo = 0, hi = m ? m->n : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].id == id)
            return &m->v[mid];
        if (m->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void s_need_row(tamctl_out_t *o, const tam_need_t *n, json_t *rec,
                       const s_reply_metas_t *metas)
{
    char start[11], end[11], window[24];
    tam_date_format(n->start, start);
    tam_date_format(n->end, end);
    snprintf(window, sizeof window, "%s..%s", start, end);
    const s_reply_meta_t *m = s_meta_of(metas, n->reply_id);
    tamctl_out_record(o, rec);
    tamctl_out_u64(o, n->id);
    tamctl_out_u64(o, n->reply_id);
    tamctl_out_str(o, m ? tam_enum_respondent_type.values[m->type] : NULL);
    tamctl_out_str(o, n->respondent);
    tamctl_out_str(o, n->country);
    tamctl_out_str(o, n->category);
    if (m)
        tamctl_out_int(o, m->version);
    else
        tamctl_out_null(o);
    tamctl_out_int(o, n->completeness);
    tamctl_out_str(o, n->standard);
    tamctl_out_str(o, n->modality);
    tamctl_out_int(o, n->priority);
    tamctl_out_int(o, n->cost);
    tamctl_out_str(o, start);
    tamctl_out_str(o, end);
    tamctl_out_str(o, window);
    tamctl_out_str(o, tam_enum_need_status.values[n->status]);
    tamctl_out_str(o, n->text);
    tamctl_out_str(o, n->ref);
    tamctl_out_end(o);
}

static void s_answer_row(tamctl_out_t *o, const tam_answer_rec_t *a, json_t *rec)
{
    tamctl_out_record(o, rec);
    tamctl_out_u64(o, a->reply_id);
    tamctl_out_str(o, tam_enum_respondent_type.values[a->respondent_type]);
    tamctl_out_str(o, a->respondent);
    tamctl_out_str(o, a->country);
    tamctl_out_str(o, a->category);
    tamctl_out_str(o, a->standard);
    tamctl_out_str(o, tam_enum_answer_state.values[a->state]);
    tamctl_out_end(o);
}

static int s_needs_page(tamctl_t *t, void *vctx, tam_arena_t *a, tamctl_out_t *o, int64_t want,
                        bool *more)
{
    s_needs_ctx_t *x = vctx;
    tam_need_list_t l;
    uint8_t *body = NULL;
    size_t len = 0;
    memset(&l, 0, sizeof l);
    x->q.limit = want;
    int ex = tamctl_call_raw(t, "ingest", TAM_MSG_ingest_needs, &x->q, a, &l, NULL, &body, &len);
    if (ex)
        return ex;
    json_t *recs = t->json ? tamctl_json_items(body, len, x->answers ? "answers" : "items") : NULL;
    free(body);
    for (uint32_t i = 0; !x->answers && i < l.items.n; i++)
        s_need_row(o, &l.items.v[i], json_array_get(recs, i), x->metas);
    for (uint32_t i = 0; x->answers && i < l.answers.n; i++)
        s_answer_row(o, &l.answers.v[i], json_array_get(recs, i));
    json_decref(recs);
    x->q.after = l.next;
    *more = l.next != 0;
    return 0;
}

/* Fills m with every reply's respondent type and version (for needs --csv). */
static int s_reply_metas(tamctl_t *t, s_reply_metas_t *m)
{
    tam_replies_query_t q;
    memset(&q, 0, sizeof q);
    q.status = "any";
    int ex = 0;
    do {
        tam_arena_t *a = tam_arena_new(0);
        tam_reply_list_t l;
        memset(&l, 0, sizeof l);
        q.limit = 1000;
        ex = a ? tamctl_call(t, "ingest", TAM_MSG_ingest_replies, &q, a, &l, NULL) : EX_OSERR;
        for (uint32_t i = 0; ex == 0 && i < l.items.n; i++) {
            if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 256;
                s_reply_meta_t *v = realloc(m->v, cap * sizeof *v);
                if (!v) {
                    ex = EX_OSERR;
                    break;
                }
                m->v = v;
                m->cap = cap;
            }
            /* replies come by increasing id: the array stays sorted */
            m->v[m->n++] = (s_reply_meta_t){l.items.v[i].id, (int)l.items.v[i].respondent_type,
                                            l.items.v[i].version, l.items.v[i].superseded_by};
        }
        q.after = ex == 0 && l.items.n ? l.next : 0;
        tam_arena_destroy(&a);
    } while (ex == 0 && q.after);
    /* Newest first, so that each chain is followed one step at a time. */
    for (size_t i = m->n; ex == 0 && i > 0; i--) {
        s_reply_meta_t *r = &m->v[i - 1];
        const s_reply_meta_t *nx = r->next ? s_meta_of(m, r->next) : NULL;
        if (nx)
            r->version = nx->version;
    }
    return ex;
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
    s_needs_ctx_t x;
    memset(&x, 0, sizeof x);
    tam_needs_query_t *q = &x.q;
    int64_t limit = -1;
    bool csv = false;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C': q->country = tamctl_upper(optarg); break;
        case 'g': q->group = tamctl_upper(optarg); break;
        case 'k': q->category = tamctl_upper(optarg); break;
        case 's': q->standard = tamctl_upper(optarg); break;
        case 'S': q->state = optarg; break;
        case 't': q->status = optarg; break;
        case 'r': q->respondent = optarg; break;
        case 'a': q->status = "any"; break;
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
    x.answers = q->state && strcmp(q->state, "need") != 0;
    tamctl_fmt_t fmt = tamctl_out_format(t, csv);
    tamctl_out_t *o = tamctl_out_new(fmt, x.answers ? s_answer_cols : s_need_cols);
    s_reply_metas_t metas = {0};
    ex = 0;
    if (fmt != TAMCTL_FMT_TABLE && !x.answers) {
        ex = s_reply_metas(t, &metas);
        x.metas = &metas;
    }
    if (ex == 0)
        ex = tamctl_out_pages(t, o, limit, s_needs_page, &x);
    free(metas.v);
    return tamctl_out_done(&o, stdout, ex);
}

/* ---- tamctl replies ------------------------------------------------------------- */

static const tamctl_col_t s_reply_cols[] = {
    {"id", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"respondent", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"respondent_type", "type", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"category", "cat", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"version", "ver", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"revision", "rev", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"status", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"submitted", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"needs", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"withdrawn", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"replaces", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"completeness", "complete", TAMCTL_PCT, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

static int s_replies_page(tamctl_t *t, void *vctx, tam_arena_t *a, tamctl_out_t *o, int64_t want,
                          bool *more)
{
    tam_replies_query_t *q = vctx;
    tam_reply_list_t l;
    uint8_t *body = NULL;
    size_t len = 0;
    memset(&l, 0, sizeof l);
    q->limit = want;
    int ex = tamctl_call_raw(t, "ingest", TAM_MSG_ingest_replies, q, a, &l, NULL, &body, &len);
    if (ex)
        return ex;
    json_t *recs = t->json ? tamctl_json_items(body, len, "items") : NULL;
    free(body);
    for (uint32_t i = 0; i < l.items.n; i++) {
        const tam_reply_info_t *r = &l.items.v[i];
        tamctl_out_record(o, json_array_get(recs, i));
        tamctl_out_u64(o, r->id);
        tamctl_out_str(o, r->respondent);
        tamctl_out_str(o, tam_enum_respondent_type.values[r->respondent_type]);
        tamctl_out_str(o, r->category);
        tamctl_out_int(o, r->version);
        tamctl_out_int(o, r->revision);
        tamctl_out_str(o, tam_enum_reply_status.values[r->status]);
        tamctl_out_date(o, r->submitted);
        tamctl_out_int(o, r->needs);
        tamctl_out_int(o, r->withdrawn);
        if (r->replaces)
            tamctl_out_u64(o, r->replaces);
        else
            tamctl_out_null(o);
        tamctl_out_int(o, r->completeness);
        tamctl_out_end(o);
    }
    json_decref(recs);
    q->after = l.next;
    *more = l.next != 0;
    return 0;
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
    int64_t limit = -1;
    bool csv = false;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': q.respondent = optarg; break;
        case 'C': q.country = tamctl_upper(optarg); break;
        case 'g': q.group = tamctl_upper(optarg); break;
        case 'k': q.category = tamctl_upper(optarg); break;
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
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), s_reply_cols);
    ex = tamctl_out_pages(t, o, limit, s_replies_page, &q);
    return tamctl_out_done(&o, stdout, ex);
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
            printf(" %llu", (unsigned long long)f.history.v[h]);
        printf("\n");
        static const char *hd[] = {">need", ">ver", "country", "standard", "modality", ">pri",
                                   ">cost USD", "ref", NULL};
        tamctl_table_t *tb = tamctl_table_new(hd);
        for (uint32_t n = 0; n < f.reply->needs.n && n < f.need_ids.n; n++) {
            const tam_need_in_t *in = &f.reply->needs.v[n];
            char pri[8], cost[32], nid[24], ver[24];
            snprintf(pri, sizeof pri, "%lld", (long long)in->priority);
            tamctl_usd(in->cost, cost);
            snprintf(nid, sizeof nid, "%llu", (unsigned long long)f.need_ids.v[n]);
            snprintf(ver, sizeof ver, "%llu",
                     n < f.need_versions.n ? (unsigned long long)f.need_versions.v[n] : 1ULL);
            const char *row[] = {nid, ver,  in->country, in->standard, in->modality,
                                 pri, cost, in->ref ? in->ref : ""};
            tamctl_table_row(tb, row);
        }
        if (f.reply->needs.n)
            tamctl_table_print(&tb, stdout, false, NULL);
        else {
            printf("no needs\n");
            tamctl_table_free(&tb);
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

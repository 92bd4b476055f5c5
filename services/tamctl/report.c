/* report.c — `tamctl report gaps|donors|pipeline|commission`: the reports of
 * tam-pipeline as a readable text table (sections, subtotals, totals, long
 * texts wrapped), as CSV (optionally with the HXL hashtag row humanitarian
 * funding data carries) or as JSON. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "tam/catalog.h"
#include "regctl.h"
#include "tamctl.h"

#define S_WRAP 60 /* text columns wider than this wrap onto more lines */

/* One table of a report: the main one or a part. */
typedef struct {
    const char *title;
    const char *subtitle; /* text output only; may be NULL */
    const tam_strs_t *columns, *hxl, *numeric;
    const tam_report_row_t *rows;
    size_t nrows;
    size_t group_by;
    bool subtotals;
} s_table_t;

static int s_kind(const s_table_t *tb, size_t c)
{
    if (c >= tb->numeric->n)
        return 0;
    return tb->numeric->v[c][0] == '1' ? 1 : tb->numeric->v[c][0] == '2' ? 2 : 0;
}

static const char *s_cell(const tam_report_row_t *r, size_t c)
{
    return c < r->cells.n ? r->cells.v[c] : "";
}

/* ---- CSV ------------------------------------------------------------------------------ */

static void s_csv_cell(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void s_csv_line(FILE *f, const tam_strs_t *l, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        if (c)
            fputc(',', f);
        s_csv_cell(f, c < l->n ? l->v[c] : "");
    }
    fputs("\r\n", f);
}

static void s_csv(const s_table_t *tb, bool hxl, FILE *f)
{
    size_t n = tb->columns->n;
    s_csv_line(f, tb->columns, n);
    if (hxl)
        s_csv_line(f, tb->hxl, n);
    for (size_t r = 0; r < tb->nrows; r++)
        s_csv_line(f, &tb->rows[r].cells, n);
}

/* ---- text ------------------------------------------------------------------------------ */

/* Display width in characters (UTF-8 continuation bytes do not count). */
static size_t s_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* Byte length of the first `chars` characters of s. */
static size_t s_bytes(const char *s, size_t chars)
{
    size_t b = 0;
    while (s[b] && chars) {
        b++;
        while (((unsigned char)s[b] & 0xc0) == 0x80)
            b++;
        chars--;
    }
    return b;
}

/* The next line of a wrapped cell: at most w characters, cut at a space if
 * there is one. *s moves past it. Returns the byte length to print. */
static size_t s_wrap_next(const char **s, size_t w)
{
    const char *p = *s;
    if (s_width(p) <= w) {
        size_t n = strlen(p);
        *s = p + n;
        return n;
    }
    size_t lim = s_bytes(p, w), cut = lim;
    while (cut > 0 && p[cut] != ' ')
        cut--;
    if (cut == 0)
        cut = lim;
    *s = p + cut + (p[cut] == ' ');
    return cut;
}

/* An amount cell with thousands separators; other cells as they are. */
static const char *s_show(const s_table_t *tb, size_t c, const char *v, char buf[40])
{
    if (s_kind(tb, c) == 0)
        return v;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end)
        return v;
    return tamctl_usd(x, buf);
}

typedef struct {
    const s_table_t *tb;
    size_t w[64];
    size_t first; /* first column shown in the grid (the others head sections) */
    size_t ncols;
    FILE *f;
} s_grid_t;

static void s_grid_widths(s_grid_t *g, const int64_t *tot)
{
    const s_table_t *tb = g->tb;
    char buf[40];
    for (size_t c = g->first; c < g->ncols; c++) {
        size_t w = s_width(tb->columns->v[c]);
        for (size_t r = 0; r < tb->nrows; r++) {
            size_t x = s_width(s_show(tb, c, s_cell(&tb->rows[r], c), buf));
            if (x > w)
                w = x;
        }
        if (tot && s_kind(tb, c) == 1) {
            size_t x = s_width(tamctl_usd(tot[c], buf));
            if (x > w)
                w = x;
        }
        if (s_kind(tb, c) == 0 && w > S_WRAP)
            w = S_WRAP;
        g->w[c] = w;
    }
    if (tb->subtotals && g->first < g->ncols && g->w[g->first] < 8)
        g->w[g->first] = 8; /* room for "subtotal" */
}

/* Prints one row of cells (wrapping long texts onto more lines). */
static void s_grid_row(const s_grid_t *g, const char *const *cells, const char *indent)
{
    const char *rest[64];
    char buf[64][40];
    for (size_t c = g->first; c < g->ncols; c++)
        rest[c] = s_show(g->tb, c, cells[c] ? cells[c] : "", buf[c]);
    bool more = true;
    while (more) {
        more = false;
        fputs(indent, g->f);
        /* the last column is not padded on the right */
        size_t last = g->first;
        for (size_t c = g->first; c < g->ncols; c++)
            if (*rest[c])
                last = c;
        for (size_t c = g->first; c < g->ncols; c++) {
            const char *s = rest[c];
            size_t n = s_wrap_next(&rest[c], g->w[c]);
            if (*rest[c])
                more = true;
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%.*s", (int)n, s);
            size_t pad = g->w[c] > s_width(tmp) ? g->w[c] - s_width(tmp) : 0;
            if (s_kind(g->tb, c))
                fprintf(g->f, "%*s%s", (int)pad, "", tmp);
            else if (c < last)
                fprintf(g->f, "%s%*s", tmp, (int)pad, "");
            else
                fputs(tmp, g->f);
            if (c < last)
                fputs("  ", g->f);
            else
                break;
        }
        fputc('\n', g->f);
        /* cells already printed in full show nothing on the next lines */
        for (size_t c = g->first; c < g->ncols && more; c++)
            if (!*rest[c])
                rest[c] = "";
    }
}

/* A label for a section key, with the catalogue's name where one fits. */
static const char *s_label(tamctl_t *t, const char *column, const char *v, char *buf, size_t cap)
{
    const tam_catalog_t *cat = regctl_catalog(t);
    const char *name = NULL;
    if (cat && strcmp(column, "category") == 0 && v[0] && !v[1]) {
        const tam_category_t *c = tam_catalog_category(cat, v[0]);
        name = c ? c->title : NULL;
    } else if (cat && strcmp(column, "group") == 0) {
        const tam_group_t *g = tam_catalog_group(cat, v);
        name = g ? g->name : NULL;
    } else if (cat && strcmp(column, "standard") == 0) {
        const tam_standard_t *s = tam_catalog_standard(cat, v);
        name = s ? s->short_name : NULL;
    } else if (cat && strcmp(column, "country") == 0) {
        const tam_country_t *c = tam_catalog_country(cat, v);
        name = c ? c->name : NULL;
    }
    size_t cl = strlen(column);
    if (cl >= 4 && strcmp(column + cl - 4, "name") == 0)
        snprintf(buf, cap, "%s", v);
    else if (strcmp(column, "donor") == 0)
        snprintf(buf, cap, "Donor %s", v);
    else if (name && strcmp(column, "category") == 0)
        snprintf(buf, cap, "Category %s: %s", v, name);
    else if (name)
        snprintf(buf, cap, "%s (%s)", v, name);
    else
        snprintf(buf, cap, "%s %s", column, v);
    return buf;
}

static void s_sum_line(const s_grid_t *g, const char *label, const int64_t *sum, const char *indent)
{
    const char *cells[64] = {0};
    char num[64][24];
    for (size_t c = g->first; c < g->ncols; c++) {
        if (s_kind(g->tb, c) == 1) {
            snprintf(num[c], sizeof num[c], "%lld", (long long)sum[c]);
            cells[c] = num[c];
        } else {
            cells[c] = "";
        }
    }
    cells[g->first] = label;
    s_grid_row(g, cells, indent);
}

static void s_text(tamctl_t *t, const s_table_t *tb, FILE *f)
{
    s_grid_t g = {.tb = tb, .f = f, .ncols = tb->columns->n};
    if (g.ncols > 64)
        g.ncols = 64;
    g.first = tb->group_by < g.ncols ? tb->group_by : 0;
    int64_t total[64] = {0}, sub[64] = {0};
    for (size_t r = 0; r < tb->nrows; r++)
        for (size_t c = 0; c < g.ncols; c++)
            if (s_kind(tb, c) == 1)
                total[c] += strtoll(s_cell(&tb->rows[r], c), NULL, 10);
    s_grid_widths(&g, tb->subtotals ? total : NULL);
    const char *indent = g.first ? "  " : "";
    const char *head[64];
    for (size_t c = 0; c < g.ncols; c++)
        head[c] = tb->columns->v[c];

    fprintf(f, "%s\n", tb->title);
    if (tb->subtitle)
        fprintf(f, "%s\n", tb->subtitle);
    if (tb->nrows == 0) {
        fprintf(f, "  (nothing to report)\n");
        return;
    }
    if (!g.first)
        s_grid_row(&g, head, indent);
    for (size_t r = 0; r < tb->nrows; r++) {
        const tam_report_row_t *row = &tb->rows[r];
        bool newsec = false;
        if (g.first) {
            newsec = r == 0;
            for (size_t c = 0; c < g.first && !newsec; c++)
                newsec = strcmp(s_cell(row, c), s_cell(&tb->rows[r - 1], c)) != 0;
        }
        if (newsec) {
            if (r && tb->subtotals)
                s_sum_line(&g, "subtotal", sub, indent);
            memset(sub, 0, sizeof sub);
            char line[512];
            size_t o = 0;
            for (size_t c = 0; c < g.first && o < sizeof line; c++) {
                char lab[256];
                o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", c ? " / " : "",
                                      s_label(t, tb->columns->v[c], s_cell(row, c), lab, sizeof lab));
            }
            fprintf(f, "\n%s\n", line);
            s_grid_row(&g, head, indent);
        }
        const char *cells[64];
        for (size_t c = 0; c < g.ncols; c++) {
            cells[c] = s_cell(row, c);
            if (s_kind(tb, c) == 1)
                sub[c] += strtoll(cells[c], NULL, 10);
        }
        s_grid_row(&g, cells, indent);
    }
    if (g.first && tb->subtotals)
        s_sum_line(&g, "subtotal", sub, indent);
    if (tb->subtotals) {
        fputc('\n', f);
        s_sum_line(&g, "total", total, indent);
    }
}

/* ---- summary levels --------------------------------------------------------------------- */

/* The table summed over its first k columns (rows come sorted by them): those
 * key columns, then every column that adds up. Cells are allocated from a;
 * the result's columns and numeric flags point into cols and num. Returns 0 or
 * EX_OSERR. */
static int s_aggregate(const s_table_t *in, size_t k, tam_arena_t *a, s_table_t *out,
                       tam_strs_t *cols, tam_strs_t *num, tam_report_row_t **rows_out)
{
    size_t n = in->columns->n, keep[64], nk = 0;
    for (size_t c = 0; c < n && nk < 64; c++)
        if (c < k || s_kind(in, c) == 1)
            keep[nk++] = c;
    cols->v = tam_arena_alloc(a, nk * sizeof *cols->v);
    num->v = tam_arena_alloc(a, nk * sizeof *num->v);
    tam_report_row_t *rows = in->nrows ? tam_arena_alloc(a, in->nrows * sizeof *rows) : NULL;
    if (!cols->v || !num->v || (in->nrows && !rows))
        return EX_OSERR;
    cols->n = num->n = (uint32_t)nk;
    for (size_t i = 0; i < nk; i++) {
        cols->v[i] = in->columns->v[keep[i]];
        num->v[i] = keep[i] < k ? "0" : "1";
    }
    size_t nr = 0;
    int64_t sum[64] = {0};
    for (size_t r = 0; r <= in->nrows; r++) {
        bool boundary = r == in->nrows;
        for (size_t c = 0; c < k && !boundary && r > 0; c++)
            boundary = strcmp(s_cell(&in->rows[r], c), s_cell(&in->rows[r - 1], c)) != 0;
        if (boundary && r > 0) {
            tam_report_row_t *o = &rows[nr++];
            o->cells.n = (uint32_t)nk;
            if (!(o->cells.v = tam_arena_alloc(a, nk * sizeof *o->cells.v)))
                return EX_OSERR;
            for (size_t i = 0; i < nk; i++) {
                char b[24];
                if (keep[i] < k) {
                    o->cells.v[i] = (char *)s_cell(&in->rows[r - 1], keep[i]);
                    continue;
                }
                snprintf(b, sizeof b, "%lld", (long long)sum[i]);
                if (!(o->cells.v[i] = tam_arena_strndup(a, b, strlen(b))))
                    return EX_OSERR;
            }
            memset(sum, 0, sizeof sum);
        }
        if (r == in->nrows)
            break;
        for (size_t i = 0; i < nk; i++)
            if (keep[i] >= k)
                sum[i] += strtoll(s_cell(&in->rows[r], keep[i]), NULL, 10);
    }
    *out = *in;
    out->columns = cols;
    out->hxl = cols; /* not printed in text */
    out->numeric = num;
    out->rows = rows;
    out->nrows = nr;
    *rows_out = rows;
    return 0;
}

/* ---- the command -------------------------------------------------------------------------- */

static int s_report(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"csv", no_argument, NULL, 'C'},
                                         {"hxl", no_argument, NULL, 'H'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"category", required_argument, NULL, 'c'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"donor", required_argument, NULL, 'd'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"part", required_argument, NULL, 'p'},
                                         {"by", required_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: tamctl report gaps|donors|pipeline|commission [--csv [--hxl] [--part N]] [--json]\n"
        "       [--category C] [--group G] [--by group|standard|country] [--donor D] [--limit N]\n";
    tam_report_request_t rq = {0};
    bool csv = false, hxl = false;
    uint64_t part = 0, lim = 0;
    size_t by = 2; /* gaps text: category and group (2), + standard (3), + country (4) */
    int c, ex;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C': csv = true; break;
        case 'H': hxl = csv = true; break;
        case 'j': t->json = true; break;
        case 'c': rq.category = optarg; break;
        case 'g': rq.group = tamctl_upper(optarg); break;
        case 'd': rq.donor = optarg; break;
        case 'l':
            if ((ex = tamctl_parse_u64("--limit", optarg, &lim)))
                return ex;
            if (lim > 1000) {
                fprintf(stderr, "tamctl: --limit is at most 1000\n");
                return EX_USAGE;
            }
            rq.limit = (int64_t)lim;
            break;
        case 'p':
            if ((ex = tamctl_parse_u64("--part", optarg, &part)))
                return ex;
            break;
        case 'b':
            if (strcmp(optarg, "group") == 0)
                by = 2;
            else if (strcmp(optarg, "standard") == 0)
                by = 3;
            else if (strcmp(optarg, "country") == 0)
                by = 4;
            else {
                fprintf(stderr, "tamctl: --by must be group, standard or country\n");
                return EX_USAGE;
            }
            break;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    int kind = optind + 1 == argc
                   ? tam_enum_index(&tam_enum_report_kind, argv[optind], strlen(argv[optind]))
                   : -1;
    if (kind < 0) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    rq.kind = (tam_report_kind_t)kind;
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_report_t rep;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    ex = tamctl_call_raw(t, "pipeline", TAM_MSG_pipeline_report, &rq, a, &rep, NULL, &raw, &raw_len);
    if (ex)
        goto done;
    if (t->json) {
        tamctl_print_json(raw, raw_len);
        goto done;
    }
    s_table_t main = {.title = rep.title, .columns = &rep.columns, .hxl = &rep.hxl,
                      .numeric = &rep.numeric, .rows = rep.rows.v, .nrows = rep.rows.n,
                      .group_by = (size_t)rep.group_by, .subtotals = rep.subtotals};
    if (csv) {
        if (part > rep.more.n) {
            fprintf(stderr, "tamctl: report %s has %u further table(s): --part 1..%u\n",
                    argv[optind], rep.more.n, rep.more.n);
            ex = EX_USAGE;
            goto done;
        }
        if (part == 0) {
            s_csv(&main, hxl, stdout);
        } else {
            const tam_report_part_t *p = &rep.more.v[part - 1];
            s_table_t pt = {.title = p->title, .columns = &p->columns, .hxl = &p->hxl,
                            .numeric = &p->numeric, .rows = p->rows.v, .nrows = p->rows.n};
            s_csv(&pt, hxl, stdout);
        }
        goto done;
    }
    if (rep.kind == TAM_E_report_kind_gaps && by < 4) {
        /* At a glance: summed by category and regional group (or standard),
         * a section per category (or category and group). */
        s_table_t sum;
        tam_strs_t cols, num;
        tam_report_row_t *rows;
        if ((ex = s_aggregate(&main, by, a, &sum, &cols, &num, &rows)))
            goto done;
        sum.group_by = by == 2 ? 1 : 2;
        sum.subtitle = by == 2 ? "(summed per regional group; --by standard or --by country for detail)"
                               : "(summed per standard; --by country for detail)";
        s_text(t, &sum, stdout);
    } else {
        s_text(t, &main, stdout);
    }
    if (!t->quiet)
        for (uint32_t i = 0; i < rep.notes.n; i++)
            printf("%s%s\n", i ? "  " : "\nnote: ", rep.notes.v[i]);
    if (!t->quiet && rep.totals) {
        /* the same in every report, whatever its filters (the one money model) */
        const tam_report_totals_t *x = rep.totals;
        char b[8][32];
        printf("  all needs and projects: requested %s, proposed %s, endorsed %s, committed %s, "
               "unmet %s; received %s, available %s, unallocated %s USD\n",
               tamctl_usd(x->requested, b[0]), tamctl_usd(x->proposed, b[1]),
               tamctl_usd(x->endorsed, b[2]), tamctl_usd(x->committed, b[3]),
               tamctl_usd(x->unmet, b[4]), tamctl_usd(x->received, b[5]),
               tamctl_usd(x->available, b[6]), tamctl_usd(x->unallocated, b[7]));
    }
    for (uint32_t i = 0; i < rep.more.n; i++) {
        const tam_report_part_t *p = &rep.more.v[i];
        s_table_t pt = {.title = p->title, .columns = &p->columns, .hxl = &p->hxl,
                        .numeric = &p->numeric, .rows = p->rows.v, .nrows = p->rows.n};
        fputc('\n', stdout);
        s_text(t, &pt, stdout);
    }
done:
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_report, "report", "KIND [--csv|--hxl|--json]",
               "Reports, KIND: gaps, donors, pipeline or commission.",
               "  gaps           requested, proposed, endorsed, committed and unmet, by category,\n"
               "                 regional group, standard and country\n"
               "  donors         per donor and project: budget, received, committed, proposed,\n"
               "                 unallocated; earmarked money no declared need can use\n"
               "  pipeline       counts and amounts per decision state; decisions waiting longest\n"
               "  commission     per standard: difficulties (9a), ways assistance could help (9b),\n"
               "                 useful practices (9c), with respondents by regional group\n"
               "  --csv          CSV (RFC 4180) of the main table; --part N: the N-th further table\n"
               "  --hxl          CSV with the HXL hashtag row under the header\n"
               "  --json         the whole report as JSON\n"
               "  --category C   gaps, commission: only category C (A, B, C or D)\n"
               "  --group G      gaps: only regional group G (AFRICAN, APG, EEG, GRULAC, WEOG)\n"
               "  --by LEVEL     gaps as text: rows per regional group (default), standard or\n"
               "                 country (CSV and JSON always hold the rows per country)\n"
               "  --donor D      donors: only projects donor D funds\n"
               "  --limit N      pipeline: list the N decisions waiting longest (default 20)",
               s_report)

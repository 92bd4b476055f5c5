/* out.c — tamctl's one output layer (out.h): typed rows rendered as a
 * table, CSV or JSON, and the paging loop every listing shares. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out.h"
#include "tam/codec.h"

#define S_MAX_COLS 32
#define S_PAGE 1000

typedef struct {
    enum { S_NULL, S_TEXT, S_NUM, S_UNUM } kind;
    char *s;
    int64_t v;
    uint64_t u;
} s_cell_t;

struct tamctl_out {
    tamctl_fmt_t fmt;
    const tamctl_col_t *cols;
    size_t ncols;
    s_cell_t *cells; /* nrows * ncols */
    json_t **recs;   /* nrows, NULL where none */
    size_t nrows, cap;
    size_t col;      /* next cell of the current row */
    json_t *cur_rec;
    json_t *meta;
    bool nomem;
};

int tamctl_out_args(tamctl_t *t, int argc, char **argv, const char *usage, bool *csv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'v'},
                                         {NULL, 0, NULL, 0}};
    int c;
    *csv = false;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            t->json = true;
        else if (c == 'v')
            *csv = true;
        else
            break;
    }
    if (c != -1 || optind < argc) {
        fprintf(stderr, "usage: tamctl %s\n", usage);
        return EX_USAGE;
    }
    return 0;
}

tamctl_fmt_t tamctl_out_format(const tamctl_t *t, bool csv)
{
    return t->json ? TAMCTL_FMT_JSON : csv ? TAMCTL_FMT_CSV : TAMCTL_FMT_TABLE;
}

tamctl_out_t *tamctl_out_new(tamctl_fmt_t fmt, const tamctl_col_t *cols)
{
    tamctl_out_t *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->fmt = fmt;
    o->cols = cols;
    while (cols[o->ncols].key && o->ncols < S_MAX_COLS)
        o->ncols++;
    return o;
}

static void s_clear_row(tamctl_out_t *o, size_t r)
{
    for (size_t c = 0; c < o->ncols; c++)
        free(o->cells[r * o->ncols + c].s);
    json_decref(o->recs[r]);
}

void tamctl_out_free(tamctl_out_t **po)
{
    tamctl_out_t *o = *po;
    if (!o)
        return;
    for (size_t r = 0; r < o->nrows; r++)
        s_clear_row(o, r);
    /* the row being built, if any */
    if (o->cells && o->nrows < o->cap)
        for (size_t c = 0; c < o->col; c++)
            free(o->cells[o->nrows * o->ncols + c].s);
    json_decref(o->cur_rec);
    json_decref(o->meta);
    free(o->cells);
    free(o->recs);
    free(o);
    *po = NULL;
}

/* The next cell of the current row, growing the storage; NULL when full. */
static s_cell_t *s_next(tamctl_out_t *o)
{
    if (!o || o->nomem || o->col >= o->ncols)
        return NULL;
    if (o->nrows == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        s_cell_t *c = realloc(o->cells, cap * o->ncols * sizeof *c);
        if (!c) {
            o->nomem = true;
            return NULL;
        }
        o->cells = c;
        json_t **r = realloc(o->recs, cap * sizeof *r);
        if (!r) {
            o->nomem = true;
            return NULL;
        }
        o->recs = r;
        o->cap = cap;
    }
    s_cell_t *cell = &o->cells[o->nrows * o->ncols + o->col++];
    memset(cell, 0, sizeof *cell);
    return cell;
}

void tamctl_out_str(tamctl_out_t *o, const char *s)
{
    s_cell_t *c = s_next(o);
    if (!c || !s)
        return;
    c->kind = S_TEXT;
    c->s = strdup(s);
    if (!c->s) {
        c->kind = S_NULL;
        o->nomem = true;
    }
}

void tamctl_out_int(tamctl_out_t *o, int64_t v)
{
    s_cell_t *c = s_next(o);
    if (c) {
        c->kind = S_NUM;
        c->v = v;
    }
}

void tamctl_out_u64(tamctl_out_t *o, uint64_t v)
{
    s_cell_t *c = s_next(o);
    if (c) {
        c->kind = S_UNUM;
        c->u = v;
    }
}

void tamctl_out_null(tamctl_out_t *o)
{
    s_next(o);
}

void tamctl_out_date(tamctl_out_t *o, uint32_t d)
{
    char buf[11];
    if (d == 0) {
        tamctl_out_null(o);
        return;
    }
    tam_date_format(d, buf);
    tamctl_out_str(o, buf);
}

void tamctl_out_record(tamctl_out_t *o, json_t *rec)
{
    if (!o || !rec)
        return;
    json_decref(o->cur_rec);
    o->cur_rec = json_incref(rec);
}

void tamctl_out_end(tamctl_out_t *o)
{
    if (!o)
        return;
    while (o->col < o->ncols && !o->nomem)
        tamctl_out_null(o);
    if (o->nomem) {
        json_decref(o->cur_rec);
        o->cur_rec = NULL;
        return;
    }
    o->recs[o->nrows] = o->cur_rec;
    o->cur_rec = NULL;
    o->nrows++;
    o->col = 0;
}

size_t tamctl_out_rows(const tamctl_out_t *o)
{
    return o ? o->nrows : 0;
}

static void s_meta(tamctl_out_t *o, const char *key, json_t *v)
{
    if (!o->meta)
        o->meta = json_object();
    json_object_set_new(o->meta, key, v);
}

void tamctl_out_meta_int(tamctl_out_t *o, const char *key, int64_t v)
{
    if (o)
        s_meta(o, key, json_integer((json_int_t)v));
}

void tamctl_out_meta_str(tamctl_out_t *o, const char *key, const char *v)
{
    if (o)
        s_meta(o, key, v ? json_string(v) : json_null());
}

void tamctl_out_meta_json(tamctl_out_t *o, const char *key, json_t *v)
{
    if (o && v)
        s_meta(o, key, v);
    else
        json_decref(v);
}

/* ---- rendering ------------------------------------------------------------------ */

/* The text of a cell as the table (human) or CSV (data) shows it. */
static const char *s_text(const tamctl_col_t *col, const s_cell_t *c, bool human, char buf[40])
{
    switch (c->kind) {
    case S_NULL: return human ? "-" : "";
    case S_TEXT: return c->s;
    case S_UNUM: snprintf(buf, 40, "%llu", (unsigned long long)c->u); return buf;
    case S_NUM: break;
    }
    if (human && col->type == TAMCTL_USD)
        return tamctl_usd(c->v, buf);
    snprintf(buf, 40, "%lld%s", (long long)c->v, human && col->type == TAMCTL_PCT ? "%" : "");
    return buf;
}

static json_t *s_json_cell(const s_cell_t *c)
{
    switch (c->kind) {
    case S_TEXT: return json_string(c->s);
    case S_NUM: return json_integer((json_int_t)c->v);
    case S_UNUM: return json_integer((json_int_t)c->u);
    default: return json_null();
    }
}

static int s_print_json(tamctl_out_t *o, FILE *f)
{
    json_t *items = json_array();
    for (size_t r = 0; r < o->nrows; r++) {
        json_t *row = o->recs[r] ? json_deep_copy(o->recs[r]) : json_object();
        if (!json_is_object(row)) {
            json_decref(row);
            row = json_object();
        }
        for (size_t c = 0; c < o->ncols; c++) {
            if (o->cols[c].where == TAMCTL_OUT_TABLE || json_object_get(row, o->cols[c].key))
                continue;
            json_object_set_new(row, o->cols[c].key, s_json_cell(&o->cells[r * o->ncols + c]));
        }
        json_array_append_new(items, row);
    }
    json_t *top = items;
    if (o->meta) {
        top = json_deep_copy(o->meta);
        json_object_set_new(top, "items", items);
    }
    char *text = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(top);
    if (!text)
        return EX_OSERR;
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return 0;
}

static void s_print_grid(tamctl_out_t *o, FILE *f, bool csv)
{
    const char *heads[S_MAX_COLS + 1], *hxl[S_MAX_COLS + 1];
    size_t map[S_MAX_COLS], n = 0;
    bool any_hxl = false;
    char right[S_MAX_COLS][64];
    for (size_t c = 0; c < o->ncols; c++) {
        const tamctl_col_t *col = &o->cols[c];
        if (col->where == (csv ? TAMCTL_OUT_TABLE : TAMCTL_OUT_DATA))
            continue;
        const char *h = csv ? col->key : col->title ? col->title : col->key;
        if (!csv && col->type != TAMCTL_STR) {
            snprintf(right[n], sizeof right[n], ">%s", h);
            h = right[n];
        }
        heads[n] = h;
        hxl[n] = col->hxl;
        any_hxl |= col->hxl != NULL;
        map[n++] = c;
    }
    heads[n] = NULL;
    hxl[n] = NULL;
    tamctl_table_t *tb = tamctl_table_new(heads);
    for (size_t r = 0; r < o->nrows; r++) {
        const char *cells[S_MAX_COLS];
        char bufs[S_MAX_COLS][40];
        for (size_t i = 0; i < n; i++)
            cells[i] = s_text(&o->cols[map[i]], &o->cells[r * o->ncols + map[i]], !csv, bufs[i]);
        tamctl_table_row(tb, cells);
    }
    tamctl_table_print(&tb, f, csv, csv && any_hxl ? hxl : NULL);
}

int tamctl_out_done(tamctl_out_t **po, FILE *f, int ex)
{
    tamctl_out_t *o = *po;
    if (ex == 0 && !o)
        ex = EX_OSERR;
    if (ex == 0 && o->nomem)
        ex = EX_OSERR;
    if (ex == 0) {
        if (o->fmt == TAMCTL_FMT_JSON)
            ex = s_print_json(o, f);
        else
            s_print_grid(o, f, o->fmt == TAMCTL_FMT_CSV);
    }
    tamctl_out_free(po);
    return ex;
}

/* ---- paging --------------------------------------------------------------------- */

int tamctl_out_pages(tamctl_t *t, tamctl_out_t *o, int64_t limit, tamctl_page_fn page, void *ctx)
{
    int ex = 0;
    bool more = true;
    while (ex == 0 && more) {
        int64_t got = (int64_t)tamctl_out_rows(o), want = S_PAGE;
        if (limit >= 0 && limit - got < want)
            want = limit - got;
        if (want <= 0)
            break;
        tam_arena_t *a = tam_arena_new(0);
        if (!a)
            return EX_OSERR;
        more = false;
        ex = page(t, ctx, a, o, want, &more);
        tam_arena_destroy(&a);
        if (ex == 0 && (int64_t)tamctl_out_rows(o) == got)
            more = false; /* an empty page ends any listing */
    }
    return ex;
}

json_t *tamctl_json_items(const uint8_t *body, size_t len, const char *key)
{
    char *text = tam_msgpack_to_json(body, len, 0);
    json_error_t je;
    json_t *page = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    if (!page)
        return NULL;
    json_t *items = key ? json_incref(json_object_get(page, key)) : json_incref(page);
    json_decref(page);
    return items;
}

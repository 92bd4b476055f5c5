/* table.c — aligned text tables and CSV (with optional HXL hashtags) for
 * tamctl listings and reports. */
#include <stdlib.h>
#include <string.h>
#include "tamctl.h"

#define S_MAX_COLS 24

struct tamctl_table {
    size_t ncols, nrows, cap;
    const char *headers[S_MAX_COLS];
    bool right[S_MAX_COLS];
    char **cells; /* nrows * ncols, malloc'd strings */
};

tamctl_table_t *tamctl_table_new(const char *const *headers)
{
    tamctl_table_t *tb = calloc(1, sizeof *tb);
    if (!tb)
        return NULL;
    while (headers[tb->ncols] && tb->ncols < S_MAX_COLS) {
        const char *h = headers[tb->ncols];
        tb->right[tb->ncols] = h[0] == '>';
        tb->headers[tb->ncols] = h[0] == '>' ? h + 1 : h;
        tb->ncols++;
    }
    return tb;
}

void tamctl_table_row(tamctl_table_t *tb, const char *const *cells)
{
    if (!tb)
        return;
    if (tb->nrows == tb->cap) {
        size_t cap = tb->cap ? tb->cap * 2 : 64;
        char **n = realloc(tb->cells, cap * tb->ncols * sizeof *n);
        if (!n)
            return;
        tb->cells = n;
        tb->cap = cap;
    }
    for (size_t i = 0; i < tb->ncols; i++)
        tb->cells[tb->nrows * tb->ncols + i] = strdup(cells[i] ? cells[i] : "");
    tb->nrows++;
}

/* Display width in characters (UTF-8 continuation bytes do not count). */
static size_t s_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void s_csv_cell(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
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

void tamctl_table_free(tamctl_table_t **ptb)
{
    tamctl_table_t *tb = *ptb;
    if (!tb)
        return;
    for (size_t i = 0; i < tb->nrows * tb->ncols; i++)
        free(tb->cells[i]);
    free(tb->cells);
    free(tb);
    *ptb = NULL;
}

void tamctl_table_print(tamctl_table_t **ptb, FILE *f, bool csv, const char *const *hxl)
{
    tamctl_table_t *tb = *ptb;
    if (!tb)
        return;
    if (csv) {
        for (size_t c = 0; c < tb->ncols; c++) {
            if (c)
                fputc(',', f);
            s_csv_cell(f, tb->headers[c]);
        }
        fputs("\r\n", f);
        if (hxl) {
            for (size_t c = 0; c < tb->ncols; c++) {
                if (c)
                    fputc(',', f);
                s_csv_cell(f, hxl[c] ? hxl[c] : "");
            }
            fputs("\r\n", f);
        }
        for (size_t r = 0; r < tb->nrows; r++) {
            for (size_t c = 0; c < tb->ncols; c++) {
                if (c)
                    fputc(',', f);
                s_csv_cell(f, tb->cells[r * tb->ncols + c]);
            }
            fputs("\r\n", f);
        }
    } else {
        size_t w[S_MAX_COLS];
        for (size_t c = 0; c < tb->ncols; c++) {
            w[c] = s_width(tb->headers[c]);
            for (size_t r = 0; r < tb->nrows; r++) {
                size_t x = s_width(tb->cells[r * tb->ncols + c]);
                if (x > w[c])
                    w[c] = x;
            }
        }
        for (size_t r = 0; r <= tb->nrows; r++) {
            for (size_t c = 0; c < tb->ncols; c++) {
                const char *s = r == 0 ? tb->headers[c] : tb->cells[(r - 1) * tb->ncols + c];
                size_t pad = w[c] - s_width(s);
                if (tb->right[c])
                    fprintf(f, "%*s%s", (int)pad, "", s);
                else if (c + 1 < tb->ncols)
                    fprintf(f, "%s%*s", s, (int)pad, "");
                else
                    fputs(s, f);
                if (c + 1 < tb->ncols)
                    fputs("  ", f);
            }
            fputc('\n', f);
        }
    }
    tamctl_table_free(ptb);
}

char *tamctl_upper(char *s)
{
    for (char *p = s; p && *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return s;
}

/* out.h — the one output layer of tamctl's listings: a command describes its
 * columns once, adds rows of typed cells (and, optionally, the full record
 * the service sent for each row), and the layer renders the same rows as an
 * aligned table, as CSV or as JSON. Paging through a service's listing is
 * here too, so that no command repeats the loop.
 *
 *   table  titles, money with thousands separators, "-" for an empty cell
 *   CSV    RFC 4180, a header row of column keys, plain integers, one column
 *          per field (columns marked TAMCTL_OUT_TABLE are left out)
 *   JSON   an array of objects (numbers as JSON numbers, absent cells null);
 *          with meta fields (run, total, ...) an object holding them and
 *          "items". A row with a record is that record, with the keys of the
 *          columns it lacks added.
 */
#ifndef TAMCTL_OUT_H
#define TAMCTL_OUT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "tamctl.h"

typedef enum {
    TAMCTL_STR, /* text */
    TAMCTL_INT, /* a whole number, right-aligned */
    TAMCTL_USD, /* whole dollars: 1,234,567 in tables, 1234567 in CSV and JSON */
    TAMCTL_PCT, /* a percentage: 80% in tables, 80 in CSV and JSON */
} tamctl_coltype_t;

/* Where a column appears. */
#define TAMCTL_OUT_ALL 0
#define TAMCTL_OUT_TABLE 1 /* in tables only (a condensed view of data columns) */
#define TAMCTL_OUT_DATA 2  /* in CSV and JSON only */

typedef struct {
    const char *key;        /* CSV header and JSON member name; NULL ends a list */
    const char *title;      /* table header (NULL: the key) */
    tamctl_coltype_t type;
    int where;              /* TAMCTL_OUT_ALL, _TABLE or _DATA */
    const char *hxl;        /* HXL hashtag for a second CSV header row, or NULL */
} tamctl_col_t;

typedef enum { TAMCTL_FMT_TABLE, TAMCTL_FMT_CSV, TAMCTL_FMT_JSON } tamctl_fmt_t;

typedef struct tamctl_out tamctl_out_t;

/* The format a command asked for: --json (t->json) wins over --csv. */
tamctl_fmt_t tamctl_out_format(const tamctl_t *t, bool csv);

/* Parses the arguments of a command whose only options are --json and --csv
 * (sets t->json, *csv). Prints "usage: tamctl USAGE" and returns EX_USAGE on
 * any other option or a positional argument; 0 otherwise. */
int tamctl_out_args(tamctl_t *t, int argc, char **argv, const char *usage, bool *csv);

/* A new output of the NULL-key-terminated cols (kept by reference: static
 * storage). NULL on out of memory. */
tamctl_out_t *tamctl_out_new(tamctl_fmt_t fmt, const tamctl_col_t *cols);
void tamctl_out_free(tamctl_out_t **o);

/* Adds cells to the current row, left to right, one per column of cols
 * (table-only and data-only columns included). */
void tamctl_out_str(tamctl_out_t *o, const char *s); /* NULL: empty / null */
void tamctl_out_int(tamctl_out_t *o, int64_t v);
void tamctl_out_u64(tamctl_out_t *o, uint64_t v);
void tamctl_out_null(tamctl_out_t *o);
/* A date (yyyymmdd, 0: none) as YYYY-MM-DD text. */
void tamctl_out_date(tamctl_out_t *o, uint32_t d);
/* The full record of the current row for JSON (a reference is taken; NULL
 * is ignored). */
void tamctl_out_record(tamctl_out_t *o, json_t *rec);
/* Ends the current row. */
void tamctl_out_end(tamctl_out_t *o);

size_t tamctl_out_rows(const tamctl_out_t *o);

/* A top-level JSON field beside "items" (ignored by table and CSV). */
void tamctl_out_meta_int(tamctl_out_t *o, const char *key, int64_t v);
void tamctl_out_meta_str(tamctl_out_t *o, const char *key, const char *v);
/* Any JSON value beside "items", e.g. a report's "totals" object (the
 * reference is stolen). */
void tamctl_out_meta_json(tamctl_out_t *o, const char *key, json_t *v);

/* With ex == 0 prints *o on f; frees it either way. Returns ex (EX_OSERR if
 * memory ran out while rows were added). */
int tamctl_out_done(tamctl_out_t **o, FILE *f, int ex);

/* ---- paging -------------------------------------------------------------------- */

/* One page of a listing: calls the service for at most `want` rows (page
 * size and the command's limit already applied), adds them to o and says
 * whether more may follow. The arena lives for this page only. Returns 0 or
 * a sysexits code (errors printed). */
typedef int (*tamctl_page_fn)(tamctl_t *t, void *ctx, tam_arena_t *a, tamctl_out_t *o,
                              int64_t want, bool *more);

/* Calls page until it says no more, it fails, or limit rows (< 0: no limit)
 * were added. Returns 0 or page's sysexits code. */
int tamctl_out_pages(tamctl_t *t, tamctl_out_t *o, int64_t limit, tamctl_page_fn page, void *ctx);

/* The items (array under key) of a msgpack answer as JSON (new reference),
 * or NULL; for tamctl_out_record. */
json_t *tamctl_json_items(const uint8_t *body, size_t len, const char *key);

#endif

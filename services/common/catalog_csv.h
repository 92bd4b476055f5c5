/* catalog_csv.h — internal to the catalogue: a strict CSV reader over libcsv
 * that maps columns by header name, counts lines and checks fields, and
 * writes every error as "path:line: column N \"name\": reason". Not installed. */
#ifndef TAM_CATALOG_CSV_H
#define TAM_CATALOG_CSV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAM__CSV_MAX_FIELDS 64        /* fields in one row */
#define TAM__CSV_MAX_FIELD 4096       /* bytes in one field */
#define TAM__CSV_MAX_FILE (16 << 20)  /* bytes in one file */

typedef struct tam__csv tam__csv_t;

/* Called for each data row; returns 0, or the code returned by one of the
 * error functions below (which also wrote the message). */
typedef int (*tam__csv_row_fn)(tam__csv_t *x, void *arg);

/* Reads the CSV file at path. Its header row must name every column in cols
 * (NULL-terminated; other columns are ignored, in any order); each data row
 * must have as many fields as the header. Calls row for every data row, in
 * order, and stops at the first error. *nrows gets the number of data rows.
 * Returns 0; TAM_EIO (open/read); TAM_ECONFIG (malformed CSV, missing column,
 * a row refused by row); TAM_ENOMEM; err says where and why. */
int tam__csv_read(const char *path, const char *const *cols, tam__csv_row_fn row, void *arg,
                  size_t *nrows, char *err, size_t errlen);

/* Field col (an index into cols) of the current row; never NULL. */
const char *tam__csv_field(const tam__csv_t *x, size_t col);

/* Line of the file where the current row starts. */
int tam__csv_line(const tam__csv_t *x);

/* Records an error about column col of the current row and returns
 * TAM_ECONFIG. */
int tam__csv_error(tam__csv_t *x, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an error about the current row as a whole: TAM_ECONFIG. */
int tam__csv_error_row(tam__csv_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records "out of memory" and returns TAM_ENOMEM. */
int tam__csv_nomem(tam__csv_t *x);

/* Field checks: 0, or TAM_ECONFIG with the message recorded.
 * _uint: decimal digits only, within [min, max]; an empty field gives 0 if
 * empty_ok. _flag: "0" or "1". _code: minlen..maxlen bytes, all in charset;
 * what describes the form in the message ("3 capital letters"). _text: valid
 * UTF-8 without control characters or surrounding spaces; empty only if
 * empty_ok. _oneof: one of the NULL-terminated words, *index gets its place. */
int tam__csv_uint(tam__csv_t *x, size_t col, uint64_t min, uint64_t max, bool empty_ok,
                  uint64_t *out);
int tam__csv_flag(tam__csv_t *x, size_t col, bool *out);
int tam__csv_code(tam__csv_t *x, size_t col, const char *charset, size_t minlen, size_t maxlen,
                  const char *what);
int tam__csv_text(tam__csv_t *x, size_t col, bool empty_ok);
int tam__csv_oneof(tam__csv_t *x, size_t col, const char *const *words, size_t *index);

/* Copies value for a message: shortened, control bytes replaced. out needs
 * at least 56 bytes. */
void tam__csv_echo(char *out, size_t len, const char *value);

#endif

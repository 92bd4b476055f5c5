/* catalog_csv.c — strict CSV reading for the catalogue (libcsv), with line
 * and column numbers in every error. */
#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalog_csv.h"
#include "tam/error.h"

struct tam__csv {
    const char *path;
    const char *const *cols;
    size_t ncols;
    size_t map[TAM__CSV_MAX_FIELDS]; /* cols index -> field position */
    size_t nheader;                  /* fields in the header row */
    bool header_done;
    char *fields[TAM__CSV_MAX_FIELDS];
    size_t nfields;
    int line;      /* line being parsed */
    int row_line;  /* line where the current row started */
    size_t rows;   /* data rows so far */
    int rc;        /* first error */
    tam__csv_row_fn row;
    void *arg;
    char *err;
    size_t errlen;
};

#define S_ECHO_MAX 48

void tam__csv_echo(char *out, size_t len, const char *value)
{
    size_t n = 0;
    if (len == 0)
        return;
    for (const char *p = value; *p && n + 4 < len; p++, n++) {
        if (n == S_ECHO_MAX) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        out[n] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    }
    out[n] = 0;
}

/* Writes "path:line: <prefix><message>" unless an error is already recorded. */
__attribute__((format(printf, 5, 0))) static int s_verror(tam__csv_t *x, int rc, int line,
                                                         const char *prefix, const char *fmt, va_list ap)
{
    if (x->rc)
        return x->rc;
    x->rc = rc;
    if (!x->err || x->errlen == 0)
        return rc;
    int n = snprintf(x->err, x->errlen, "%s:%d: %s", x->path, line, prefix);
    if (n >= 0 && (size_t)n < x->errlen)
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
    return rc;
}

static int s_error_at(tam__csv_t *x, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_error_at(tam__csv_t *x, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verror(x, TAM_ECONFIG, line, "", fmt, ap);
    va_end(ap);
    return rc;
}

int tam__csv_error(tam__csv_t *x, size_t col, const char *fmt, ...)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "column %zu \"%s\": ", x->map[col] + 1, x->cols[col]);
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verror(x, TAM_ECONFIG, x->row_line, prefix, fmt, ap);
    va_end(ap);
    return rc;
}

int tam__csv_error_row(tam__csv_t *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verror(x, TAM_ECONFIG, x->row_line, "", fmt, ap);
    va_end(ap);
    return rc;
}

int tam__csv_nomem(tam__csv_t *x)
{
    if (!x->rc) {
        x->rc = TAM_ENOMEM;
        if (x->err && x->errlen)
            snprintf(x->err, x->errlen, "%s:%d: out of memory", x->path, x->row_line);
    }
    return x->rc;
}

const char *tam__csv_field(const tam__csv_t *x, size_t col)
{
    return col < x->ncols && x->map[col] < x->nfields ? x->fields[x->map[col]] : "";
}

int tam__csv_line(const tam__csv_t *x)
{
    return x->row_line;
}

/* ---- field checks ------------------------------------------------------- */

int tam__csv_uint(tam__csv_t *x, size_t col, uint64_t min, uint64_t max, bool empty_ok,
                  uint64_t *out)
{
    const char *s = tam__csv_field(x, col);
    char echo[64];
    if (!*s && empty_ok) {
        *out = 0;
        return 0;
    }
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            break;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    tam__csv_echo(echo, sizeof echo, s);
    if (p == s || *p)
        return tam__csv_error(x, col, "\"%s\" is not a number", echo);
    if (v < min || v > max)
        return tam__csv_error(x, col, "%s is not between %llu and %llu", echo,
                              (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

int tam__csv_flag(tam__csv_t *x, size_t col, bool *out)
{
    const char *s = tam__csv_field(x, col);
    char echo[64];
    if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0) {
        *out = s[0] == '1';
        return 0;
    }
    tam__csv_echo(echo, sizeof echo, s);
    return tam__csv_error(x, col, "\"%s\" is not 0 or 1", echo);
}

int tam__csv_code(tam__csv_t *x, size_t col, const char *charset, size_t minlen, size_t maxlen,
                  const char *what)
{
    const char *s = tam__csv_field(x, col);
    size_t n = strlen(s);
    char echo[64];
    if (n >= minlen && n <= maxlen && strspn(s, charset) == n)
        return 0;
    tam__csv_echo(echo, sizeof echo, s);
    return tam__csv_error(x, col, "\"%s\" is not %s", echo, what);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t s_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int tam__csv_text(tam__csv_t *x, size_t col, bool empty_ok)
{
    const unsigned char *s = (const unsigned char *)tam__csv_field(x, col);
    size_t n = strlen((const char *)s);
    if (n == 0)
        return empty_ok ? 0 : tam__csv_error(x, col, "must not be empty");
    if (s[0] == ' ' || s[n - 1] == ' ')
        return tam__csv_error(x, col, "leading or trailing space");
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x20 || s[i] == 0x7f)
            return tam__csv_error(x, col, "control character at byte %zu", i + 1);
        size_t len = s_utf8_len(s + i);
        if (len == 0)
            return tam__csv_error(x, col, "invalid UTF-8 at byte %zu", i + 1);
        i += len;
    }
    return 0;
}

int tam__csv_oneof(tam__csv_t *x, size_t col, const char *const *words, size_t *index)
{
    const char *s = tam__csv_field(x, col);
    char list[160] = "", echo[64];
    size_t used = 0;
    for (size_t i = 0; words[i]; i++) {
        if (strcmp(s, words[i]) == 0) {
            *index = i;
            return 0;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", words[i]);
        if (n > 0 && used + (size_t)n < sizeof list)
            used += (size_t)n;
    }
    tam__csv_echo(echo, sizeof echo, s);
    return tam__csv_error(x, col, "\"%s\" is not one of: %s", echo, list);
}

/* ---- parsing ------------------------------------------------------------ */

static void s_clear_row(tam__csv_t *x)
{
    for (size_t i = 0; i < x->nfields; i++)
        free(x->fields[i]);
    x->nfields = 0;
}

/* libcsv field callback: keeps a NUL-terminated copy of the field. */
static void s_on_field(void *data, size_t len, void *arg)
{
    tam__csv_t *x = arg;
    if (x->rc)
        return;
    if (x->nfields == 0)
        x->row_line = x->line;
    if (x->nfields == TAM__CSV_MAX_FIELDS) {
        s_error_at(x, x->row_line, "more than %d fields", TAM__CSV_MAX_FIELDS);
        return;
    }
    if (len > TAM__CSV_MAX_FIELD) {
        s_error_at(x, x->row_line, "field %zu longer than %d bytes", x->nfields + 1, TAM__CSV_MAX_FIELD);
        return;
    }
    if (len && memchr(data, 0, len)) {
        s_error_at(x, x->row_line, "field %zu holds a NUL byte", x->nfields + 1);
        return;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        tam__csv_nomem(x);
        return;
    }
    if (len)
        memcpy(copy, data, len);
    copy[len] = 0;
    x->fields[x->nfields++] = copy;
}

/* The header row: find each wanted column. */
static void s_on_header(tam__csv_t *x)
{
    if (x->nfields && strncmp(x->fields[0], "\xEF\xBB\xBF", 3) == 0)
        memmove(x->fields[0], x->fields[0] + 3, strlen(x->fields[0] + 3) + 1);
    for (size_t c = 0; c < x->ncols; c++) {
        size_t i = 0;
        while (i < x->nfields && strcmp(x->fields[i], x->cols[c]) != 0)
            i++;
        if (i == x->nfields) {
            s_error_at(x, x->row_line, "missing column \"%s\" in the header", x->cols[c]);
            return;
        }
        x->map[c] = i;
    }
    for (size_t i = 0; i < x->nfields; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(x->fields[i], x->fields[j]) == 0) {
                char echo[64];
                tam__csv_echo(echo, sizeof echo, x->fields[i]);
                s_error_at(x, x->row_line, "column %zu: \"%s\" appears twice in the header", i + 1, echo);
                return;
            }
    x->nheader = x->nfields;
    x->header_done = true;
}

/* libcsv's space test: nothing is a space, so fields are kept as written. */
static int s_never_space(unsigned char c)
{
    (void)c;
    return 0;
}

/* libcsv row callback. */
static void s_on_row(int c, void *arg)
{
    tam__csv_t *x = arg;
    (void)c;
    if (!x->rc) {
        if (!x->header_done) {
            s_on_header(x);
        } else if (x->nfields != x->nheader) {
            s_error_at(x, x->row_line, "%zu fields, the header has %zu", x->nfields, x->nheader);
        } else {
            int rc = x->row(x, x->arg);
            if (rc && !x->rc)
                s_error_at(x, x->row_line, "row refused (%s)", tam_strerror(rc));
            x->rows++;
        }
    }
    s_clear_row(x);
}

int tam__csv_read(const char *path, const char *const *cols, tam__csv_row_fn row, void *arg,
                  size_t *nrows, char *err, size_t errlen)
{
    tam__csv_t x = {.path = path, .cols = cols, .row = row, .arg = arg, .err = err, .errlen = errlen};
    struct csv_parser p;
    bool parser = false;
    char *line = NULL;
    size_t cap = 0, total = 0;
    FILE *f = NULL;

    while (cols[x.ncols])
        x.ncols++;
    if (x.ncols > TAM__CSV_MAX_FIELDS) {
        x.rc = TAM_EINVAL;
        goto done;
    }
    f = fopen(path, "r");
    if (!f) {
        x.rc = TAM_EIO;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        tam__csv_nomem(&x);
        goto done;
    }
    parser = true;
    /* Keep spaces around fields: a code with a stray space is an error, not trimmed. */
    csv_set_space_func(&p, s_never_space);
    ssize_t n;
    while (!x.rc && (n = getline(&line, &cap, f)) >= 0) {
        x.line++;
        total += (size_t)n;
        if (total > TAM__CSV_MAX_FILE) {
            s_error_at(&x, x.line, "file larger than %d bytes", TAM__CSV_MAX_FILE);
            break;
        }
        if (x.nfields == 0)
            x.row_line = x.line;
        if (csv_parse(&p, line, (size_t)n, s_on_field, s_on_row, &x) != (size_t)n && !x.rc)
            s_error_at(&x, x.line, "malformed CSV: %s", csv_strerror(csv_error(&p)));
    }
    if (!x.rc && ferror(f)) {
        x.rc = TAM_EIO;
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto done;
    }
    if (!x.rc && csv_fini(&p, s_on_field, s_on_row, &x) != 0 && !x.rc)
        s_error_at(&x, x.row_line, "malformed CSV: a quoted field is not closed");
    if (!x.rc && !x.header_done)
        s_error_at(&x, 1, "empty file: no header row");
done:
    s_clear_row(&x);
    if (parser)
        csv_free(&p);
    free(line);
    if (f)
        fclose(f);
    if (nrows)
        *nrows = x.rows;
    return x.rc;
}

/* submit_csv.c — the flat CSV of needs accepted by `tamctl submit --format
 * csv` (proto/needs-csv.md): one row per need or per answered standard, rows
 * grouped by respondent and category into one reply each. Every problem of a
 * file is reported, each as FILE:LINE:COLUMN: message, before anything is
 * sent. Numeric bounds come from the protocol definitions, not from here. */
#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "submit.h"
#include "tam/codec.h"
#include "tam/error.h"
#include "tam/proto.h"

#define S_MAX_GROUPS 10000

enum {
    C_TYPE, C_RESPONDENT, C_NAME, C_CATEGORY, C_VERSION, C_SUBMITTED, C_COMPLETENESS,
    C_STANDARD, C_STATE, C_COUNTRY, C_MODALITY, C_PRIORITY, C_COST, C_START, C_END, C_TEXT,
    C_REF, C__COUNT
};

static const char *const s_cols[C__COUNT] = {
    "respondent_type", "respondent", "respondent_name", "category", "version",
    "submitted", "completeness", "standard", "state", "country",
    "modality", "priority", "cost", "start", "end", "text", "ref"};

/* Columns every file must have; the others are optional. */
static const int s_required[] = {C_TYPE, C_RESPONDENT, C_CATEGORY, C_VERSION, C_COMPLETENESS,
                                 C_STANDARD};

/* ---- raw rows --------------------------------------------------------------- */

typedef struct {
    char **f;
    size_t n, cap;
    int line;
} s_row_t;

typedef struct {
    const char *name;
    s_row_t *rows;
    size_t n, cap;
    s_row_t cur;
    int line;       /* line being fed */
    int errors;
    int nomem;
    int too_long;   /* line of a field over TAMCTL_CSV_MAX_FIELD, 0 if none */
    int too_many;   /* more than TAMCTL_CSV_MAX_ROWS rows */
} s_parse_t;

static void s_err(s_parse_t *p, int line, const char *col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_err(s_parse_t *p, int line, const char *col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (p->errors < 100) {
        fprintf(stderr, "%s:%d:%s: ", p->name, line, col ? col : "");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    } else if (p->errors == 100) {
        fprintf(stderr, "%s: ... more problems not shown\n", p->name);
    }
    va_end(ap);
    p->errors++;
}

static void s_field_cb(void *s, size_t len, void *data)
{
    s_parse_t *p = data;
    if (p->nomem)
        return;
    if (len > TAMCTL_CSV_MAX_FIELD) {
        if (!p->too_long)
            p->too_long = p->line;
        len = 0;
    }
    if (p->cur.n == 0)
        p->cur.line = p->line;
    if (p->cur.n == p->cur.cap) {
        size_t cap = p->cur.cap ? p->cur.cap * 2 : 16;
        char **f = cap <= 256 ? realloc(p->cur.f, cap * sizeof *f) : NULL;
        if (!f) {
            p->nomem = 1;
            return;
        }
        p->cur.f = f;
        p->cur.cap = cap;
    }
    char *v = malloc(len + 1);
    if (!v) {
        p->nomem = 1;
        return;
    }
    if (len)
        memcpy(v, s, len);
    v[len] = 0;
    p->cur.f[p->cur.n++] = v;
}

static void s_row_free(s_row_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    free(r->f);
    memset(r, 0, sizeof *r);
}

static void s_row_cb(int c, void *data)
{
    (void)c;
    s_parse_t *p = data;
    if (p->nomem || p->cur.n == 0)
        return;
    if (p->n > TAMCTL_CSV_MAX_ROWS) { /* the header and that many rows */
        p->too_many = 1;
        s_row_free(&p->cur);
        return;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        s_row_t *r = realloc(p->rows, cap * sizeof *r);
        if (!r) {
            p->nomem = 1;
            s_row_free(&p->cur);
            return;
        }
        p->rows = r;
        p->cap = cap;
    }
    p->rows[p->n++] = p->cur;
    memset(&p->cur, 0, sizeof p->cur);
}

/* Splits data into rows of fields, fed line by line so that each row knows
 * the line it starts on. */
static int s_rows(s_parse_t *p, const char *data, size_t len)
{
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return EX_OSERR;
    /* A UTF-8 byte order mark is not part of the first column's name. */
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    size_t off = 0;
    int rc = 0;
    p->line = 1;
    while (off < len && !p->nomem) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t chunk = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
        if (csv_parse(&cp, data + off, chunk, s_field_cb, s_row_cb, p) != chunk) {
            s_err(p, p->line, NULL, "malformed CSV: %s", csv_strerror(csv_error(&cp)));
            rc = EX_DATAERR;
            break;
        }
        off += chunk;
        if (nl)
            p->line++;
    }
    if (rc == 0 && !p->nomem && csv_fini(&cp, s_field_cb, s_row_cb, p) != 0) {
        s_err(p, p->line, NULL, "malformed CSV: %s (an unterminated quote?)",
              csv_strerror(csv_error(&cp)));
        rc = EX_DATAERR;
    }
    csv_free(&cp);
    s_row_free(&p->cur);
    if (p->nomem)
        return EX_OSERR;
    if (p->too_long) {
        s_err(p, p->too_long, NULL, "a field is longer than %d bytes", TAMCTL_CSV_MAX_FIELD);
        rc = EX_DATAERR;
    }
    if (p->too_many) {
        s_err(p, p->line, NULL, "more than %d rows", TAMCTL_CSV_MAX_ROWS);
        rc = EX_DATAERR;
    }
    return rc;
}

/* ---- groups: one reply per respondent and category -------------------------- */

typedef struct {
    char *standard;
    int state;
    int line;
} s_ans_t;

typedef struct {
    tam_need_in_t need;
    int line;
} s_need_t;

typedef struct {
    const char *respondent, *category;  /* point into rows */
    const char *name;
    int type;
    int64_t version, completeness;
    uint32_t submitted;
    int first_line;
    s_ans_t *ans;
    uint32_t nans, cap_ans;
    s_need_t *needs;
    uint32_t nneeds, cap_needs;
    int bad;
} s_group_t;

typedef struct {
    s_parse_t *p;
    int col[C__COUNT]; /* index in the row, -1 if the file has no such column */
    s_group_t *g;
    size_t ng, cap;
} s_build_t;

static const char *s_get(const s_build_t *b, const s_row_t *r, int c)
{
    return b->col[c] >= 0 ? r->f[b->col[c]] : "";
}

/* Bounds of a field from the protocol definition. */
static void s_bounds(const tam_schema_t *s, const char *field, int64_t *min, int64_t *max)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, field) == 0) {
            *min = s->fields[i].min;
            *max = s->fields[i].max;
            return;
        }
    *min = INT64_MIN;
    *max = INT64_MAX;
}

/* Parses a whole number within the bounds of schema's field. */
static int s_int(s_build_t *b, const s_row_t *r, int c, const tam_schema_t *s, const char *field,
                 int64_t *out)
{
    const char *v = s_get(b, r, c);
    int64_t min, max;
    s_bounds(s, field, &min, &max);
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno) {
        s_err(b->p, r->line, s_cols[c], "\"%.40s\" is not a whole number", v);
        return -1;
    }
    if (x < min || x > max) {
        s_err(b->p, r->line, s_cols[c], "%lld is not between %lld and %lld", x, (long long)min,
              (long long)max);
        return -1;
    }
    *out = x;
    return 0;
}

static int s_date(s_build_t *b, const s_row_t *r, int c, uint32_t *out)
{
    const char *v = s_get(b, r, c);
    if (tam_date_parse(v, strlen(v), out) != 0) {
        s_err(b->p, r->line, s_cols[c], "\"%.40s\" is not a date YYYY-MM-DD", v);
        return -1;
    }
    return 0;
}

static s_group_t *s_group(s_build_t *b, const s_row_t *r)
{
    const char *who = s_get(b, r, C_RESPONDENT), *cat = s_get(b, r, C_CATEGORY);
    for (size_t i = b->ng; i > 0; i--) /* rows of a group are usually together */
        if (strcmp(b->g[i - 1].respondent, who) == 0 && strcmp(b->g[i - 1].category, cat) == 0)
            return &b->g[i - 1];
    if (b->ng == S_MAX_GROUPS) {
        s_err(b->p, r->line, NULL, "more than %d respondent and category pairs in one file",
              S_MAX_GROUPS);
        return NULL;
    }
    if (b->ng == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        s_group_t *g = realloc(b->g, cap * sizeof *g);
        if (!g) {
            b->p->nomem = 1;
            return NULL;
        }
        b->g = g;
        b->cap = cap;
    }
    s_group_t *g = &b->g[b->ng++];
    memset(g, 0, sizeof *g);
    g->respondent = who;
    g->category = cat;
    g->first_line = r->line;
    g->type = -1;
    return g;
}

/* Checks that a reply-level column agrees with the group's first row. */
static void s_same(s_build_t *b, s_group_t *g, const s_row_t *r, int c, bool differs)
{
    if (differs) {
        s_err(b->p, r->line, s_cols[c], "differs from line %d (the same respondent and category)",
              g->first_line);
        g->bad = 1;
    }
}

static void s_row(s_build_t *b, const s_row_t *r)
{
    s_group_t *g = s_group(b, r);
    if (!g)
        return;
    bool first = g->first_line == r->line;
    int bad = 0;

    /* Reply-level columns: parsed on the first row, compared on the others. */
    const char *tv = s_get(b, r, C_TYPE);
    int type = tam_enum_index(&tam_enum_respondent_type, tv, strlen(tv));
    if (type < 0) {
        s_err(b->p, r->line, s_cols[C_TYPE],
              "\"%.40s\" is not member_state, igo, ngo, institute or un_entity", tv);
        bad = 1;
    }
    int64_t version = 0, completeness = 0;
    uint32_t submitted = 0;
    bad |= s_int(b, r, C_VERSION, &tam_schema_instrument, "version", &version) ? 1 : 0;
    bad |= s_int(b, r, C_COMPLETENESS, &tam_schema_reply, "completeness", &completeness) ? 1 : 0;
    if (*s_get(b, r, C_SUBMITTED))
        bad |= s_date(b, r, C_SUBMITTED, &submitted) ? 1 : 0;
    const char *name = s_get(b, r, C_NAME);
    if (first) {
        g->type = type;
        g->version = version;
        g->completeness = completeness;
        g->submitted = submitted;
        g->name = name;
    } else if (!bad) {
        s_same(b, g, r, C_TYPE, type != g->type);
        s_same(b, g, r, C_VERSION, version != g->version);
        s_same(b, g, r, C_COMPLETENESS, completeness != g->completeness);
        s_same(b, g, r, C_SUBMITTED, submitted != g->submitted);
        s_same(b, g, r, C_NAME, strcmp(name, g->name) != 0);
    }

    /* The answer for the row's standard. */
    const char *std = s_get(b, r, C_STANDARD), *sv = s_get(b, r, C_STATE);
    int state = *sv ? tam_enum_index(&tam_enum_answer_state, sv, strlen(sv))
                    : TAM_E_answer_state_need;
    if (!*std) {
        s_err(b->p, r->line, s_cols[C_STANDARD], "empty: every row names a standard");
        bad = 1;
    }
    if (state < 0) {
        s_err(b->p, r->line, s_cols[C_STATE], "\"%.40s\" is not need, no_need or unanswered", sv);
        bad = 1;
    }
    if (*std && state >= 0) {
        s_ans_t *a = NULL;
        for (uint32_t i = 0; i < g->nans; i++)
            if (strcmp(g->ans[i].standard, std) == 0)
                a = &g->ans[i];
        if (a && a->state != state) {
            s_err(b->p, r->line, s_cols[C_STATE], "%s for %s, but line %d says %s",
                  tam_enum_answer_state.values[state], std, a->line,
                  tam_enum_answer_state.values[a->state]);
            bad = 1;
        } else if (!a) {
            if (g->nans == g->cap_ans) {
                uint32_t cap = g->cap_ans ? g->cap_ans * 2 : 16;
                s_ans_t *v = realloc(g->ans, cap * sizeof *v);
                if (!v) {
                    b->p->nomem = 1;
                    return;
                }
                g->ans = v;
                g->cap_ans = cap;
            }
            g->ans[g->nans++] = (s_ans_t){(char *)std, state, r->line};
        }
    }

    /* The need, for rows with state need. */
    static const int need_cols[] = {C_COUNTRY, C_MODALITY, C_PRIORITY, C_COST, C_START, C_END,
                                    C_TEXT, C_REF};
    if (state != TAM_E_answer_state_need) {
        for (size_t i = 0; i < sizeof need_cols / sizeof need_cols[0]; i++)
            if (*s_get(b, r, need_cols[i])) {
                s_err(b->p, r->line, s_cols[need_cols[i]],
                      "only a row with state need declares a need; leave it empty");
                bad = 1;
            }
        g->bad |= bad;
        return;
    }
    s_need_t n;
    memset(&n, 0, sizeof n);
    n.line = r->line;
    n.need.standard = (char *)std;
    n.need.country = (char *)s_get(b, r, C_COUNTRY);
    if (!*n.need.country && type == TAM_E_respondent_type_member_state)
        n.need.country = (char *)s_get(b, r, C_RESPONDENT); /* a State's own need */
    n.need.modality = (char *)s_get(b, r, C_MODALITY);
    const char *text = s_get(b, r, C_TEXT);
    n.need.text = *text ? (char *)text : NULL;
    const char *ref = s_get(b, r, C_REF);
    n.need.ref = *ref ? (char *)ref : NULL;
    static const int req_cols[] = {C_COUNTRY, C_MODALITY};
    for (size_t i = 0; i < 2; i++)
        if (!*(req_cols[i] == C_COUNTRY ? n.need.country : n.need.modality)) {
            s_err(b->p, r->line, s_cols[req_cols[i]], "a need requires it%s",
                  b->col[req_cols[i]] < 0 ? " (the file has no such column)" : "");
            bad = 1;
        }
    bad |= s_int(b, r, C_PRIORITY, &tam_schema_need_in, "priority", &n.need.priority) ? 1 : 0;
    bad |= s_int(b, r, C_COST, &tam_schema_need_in, "cost", &n.need.cost) ? 1 : 0;
    bad |= s_date(b, r, C_START, &n.need.start) ? 1 : 0;
    bad |= s_date(b, r, C_END, &n.need.end) ? 1 : 0;
    g->bad |= bad;
    if (bad)
        return;
    if (g->nneeds == g->cap_needs) {
        uint32_t cap = g->cap_needs ? g->cap_needs * 2 : 16;
        s_need_t *v = realloc(g->needs, cap * sizeof *v);
        if (!v) {
            b->p->nomem = 1;
            return;
        }
        g->needs = v;
        g->cap_needs = cap;
    }
    g->needs[g->nneeds++] = n;
}

/* Encodes group g as a reply into out. */
static int s_encode(s_build_t *b, const s_group_t *g, tamctl_csv_reply_t *out)
{
    tam_respondent_t who = {.type = (tam_respondent_type_t)g->type,
                            .id = (char *)g->respondent,
                            .name = g->name && *g->name ? (char *)g->name : NULL};
    tam_instrument_t ins = {.category = (char *)g->category, .version = g->version};
    tam_reply_t r = {.respondent = &who,
                     .instrument = &ins,
                     .submitted = g->submitted,
                     .completeness = g->completeness};
    tam_answer_in_t *ans = calloc(g->nans ? g->nans : 1, sizeof *ans);
    tam_need_in_t *needs = calloc(g->nneeds ? g->nneeds : 1, sizeof *needs);
    out->answer_lines = calloc(g->nans ? g->nans : 1, sizeof(int));
    out->need_lines = calloc(g->nneeds ? g->nneeds : 1, sizeof(int));
    int rc = EX_OSERR;
    if (!ans || !needs || !out->answer_lines || !out->need_lines)
        goto done;
    for (uint32_t i = 0; i < g->nans; i++) {
        ans[i] = (tam_answer_in_t){g->ans[i].standard, (tam_answer_state_t)g->ans[i].state};
        out->answer_lines[i] = g->ans[i].line;
    }
    for (uint32_t i = 0; i < g->nneeds; i++) {
        needs[i] = g->needs[i].need;
        out->need_lines[i] = g->needs[i].line;
    }
    r.answers.n = g->nans;
    r.answers.v = ans;
    r.needs.n = g->nneeds;
    r.needs.v = needs;
    out->nanswers = g->nans;
    out->nneeds = g->nneeds;
    out->first_line = g->first_line;
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    int erc = tam_encode_sbuf(&tam_schema_reply, &r, &sb, &cerr);
    if (erc == TAM_ENOMEM)
        goto done;
    if (erc) {
        const char *col;
        int line;
        tamctl_csv_locate(out, cerr.path, &line, &col);
        s_err(b->p, line, col, "%s", cerr.message);
        rc = EX_DATAERR;
        goto done;
    }
    out->body = (uint8_t *)sb.data;
    out->len = sb.size;
    rc = 0;
done:
    free(ans);
    free(needs);
    return rc;
}

void tamctl_csv_locate(const tamctl_csv_reply_t *r, const char *field, int *line,
                       const char **column)
{
    static const struct {
        const char *path;
        int col;
    } map[] = {{"respondent.type", C_TYPE},      {"respondent.id", C_RESPONDENT},
               {"respondent.name", C_NAME},      {"instrument.category", C_CATEGORY},
               {"instrument.version", C_VERSION}, {"submitted", C_SUBMITTED},
               {"completeness", C_COMPLETENESS}, {"standard", C_STANDARD},
               {"state", C_STATE},               {"country", C_COUNTRY},
               {"modality", C_MODALITY},         {"priority", C_PRIORITY},
               {"cost", C_COST},                 {"start", C_START},
               {"end", C_END},                   {"text", C_TEXT},
               {"ref", C_REF}};
    *line = r->first_line;
    *column = field;
    unsigned idx;
    int used = 0;
    const char *rest = field;
    if ((sscanf(field, "needs[%u].%n", &idx, &used) == 1 && used > 0) ||
        (sscanf(field, "needs[%u]%n", &idx, &used) == 1 && used > 0 && !field[used])) {
        if (idx < r->nneeds)
            *line = r->need_lines[idx];
        rest = field + used;
    } else if (sscanf(field, "answers[%u].%n", &idx, &used) == 1 && used > 0) {
        if (idx < r->nanswers)
            *line = r->answer_lines[idx];
        rest = field + used;
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(rest, map[i].path) == 0) {
            *column = s_cols[map[i].col];
            return;
        }
}

/* Whether a file given without --format is the CSV of needs: a name ending
 * in .csv, or a first line (after a byte order mark) that is not JSON and
 * names the respondent columns. */
bool tamctl_csv_looks(const char *name, const char *text, size_t len)
{
    size_t nl = strlen(name);
    if (nl > 4 && strcasecmp(name + nl - 4, ".csv") == 0)
        return true;
    size_t i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i < len && (text[i] == '{' || text[i] == '['))
        return false;
    const char *eol = memchr(text + i, '\n', len - i);
    size_t ll = eol ? (size_t)(eol - (text + i)) : len - i;
    char first[512];
    snprintf(first, sizeof first, "%.*s", (int)(ll < sizeof first - 1 ? ll : sizeof first - 1),
             text + i);
    return strchr(first, ',') && strstr(first, "respondent");
}

void tamctl_csv_free(tamctl_csv_reply_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].body);
        free(v[i].need_lines);
        free(v[i].answer_lines);
    }
    free(v);
}

int tamctl_csv_replies(const char *name, const char *data, size_t len, tamctl_csv_reply_t **out,
                       size_t *n)
{
    *out = NULL;
    *n = 0;
    s_parse_t p = {.name = name};
    s_build_t b = {.p = &p};
    tamctl_csv_reply_t *v = NULL;
    int rc = s_rows(&p, data, len);
    if (rc)
        goto done;
    if (p.n == 0) {
        s_err(&p, 1, NULL, "no header row");
        rc = EX_DATAERR;
        goto done;
    }
    /* The header names the columns, in any order. */
    const s_row_t *h = &p.rows[0];
    for (int c = 0; c < C__COUNT; c++)
        b.col[c] = -1;
    /* Columns that `tamctl needs --csv` adds for information: ignored. */
    static const char *const info[] = {"id", "reply_id", "status"};
    for (size_t i = 0; i < h->n; i++) {
        int c = 0;
        while (c < C__COUNT && strcmp(h->f[i], s_cols[c]) != 0)
            c++;
        bool is_info = false;
        for (size_t k = 0; c == C__COUNT && k < sizeof info / sizeof info[0]; k++)
            is_info |= strcmp(h->f[i], info[k]) == 0;
        if (is_info)
            continue;
        if (c == C__COUNT)
            s_err(&p, h->line, h->f[i], "unknown column (see proto/needs-csv.md)");
        else if (b.col[c] >= 0)
            s_err(&p, h->line, h->f[i], "column given twice");
        else
            b.col[c] = (int)i;
    }
    bool missing = false;
    for (size_t i = 0; i < sizeof s_required / sizeof s_required[0]; i++)
        if (b.col[s_required[i]] < 0) {
            s_err(&p, h->line, s_cols[s_required[i]], "required column missing");
            missing = true;
        }
    /* Every problem in one round: rows are checked despite a bad header
     * (unless a required column is missing: every row would repeat it), and
     * the replies whose rows are sound are encoded despite other bad rows. */
    if (missing) {
        rc = EX_DATAERR;
        goto done;
    }
    for (size_t i = 1; i < p.n && !p.nomem; i++) {
        if (p.rows[i].n != h->n) {
            s_err(&p, p.rows[i].line, NULL, "%zu fields where the header has %zu", p.rows[i].n,
                  h->n);
            continue;
        }
        s_row(&b, &p.rows[i]);
    }
    if (p.nomem) {
        rc = EX_OSERR;
        goto done;
    }
    if (p.n == 1)
        s_err(&p, h->line, NULL, "no rows after the header");
    if (!(v = calloc(b.ng, sizeof *v))) {
        rc = EX_OSERR;
        goto done;
    }
    for (size_t i = 0; i < b.ng; i++) {
        if (b.g[i].bad)
            continue;
        int erc = s_encode(&b, &b.g[i], &v[i]);
        if (erc == EX_OSERR) {
            rc = erc;
            goto done;
        }
    }
    if (p.errors) {
        rc = EX_DATAERR;
        goto done;
    }
    *out = v;
    *n = b.ng;
    v = NULL;
    rc = 0;
done:
    tamctl_csv_free(v, b.ng);
    for (size_t i = 0; i < b.ng; i++) {
        free(b.g[i].ans);
        free(b.g[i].needs);
    }
    free(b.g);
    for (size_t i = 0; i < p.n; i++)
        s_row_free(&p.rows[i]);
    free(p.rows);
    return rc;
}

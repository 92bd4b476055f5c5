/* project_csv.c — `tamctl project import FILE.csv`: many projects from a
 * spreadsheet export. One project per row; the header row names the columns
 * (any order); lists are ';'-separated in one cell. See docs/registry.md. */
#include <csv.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tam/error.h"
#include "iati.h"
#include "regctl.h"

/* The columns, the required ones first. */
enum {
    C_ID, C_TITLE, C_DONORS, C_BUDGET, C_BUDGET_STATUS, C_START, C_END, C_STATUS, C_DAC,
    C_COUNTRIES, C_GROUPS, C_REGIONS, C_CATEGORIES, C_STANDARDS, C_MODALITIES, C_POST_CONFLICT,
    C_MAX_PER_NEED, C_COUNT,
    C_REQUIRED = C_COUNTRIES
};

static const char *const s_cols[C_COUNT] = {
    "id", "title", "donors", "budget", "budget_status", "start", "end", "status", "dac",
    "countries", "groups", "regions", "categories", "standards", "modalities",
    "post_conflict_only", "max_per_need"};

#define S_MAX_FIELDS 64

typedef struct {
    const char *path;
    tamctl_t *t;
    tam_arena_t *a;
    int line;                  /* line of the file being fed */
    /* the row being read */
    char *fields[S_MAX_FIELDS];
    size_t nfields;
    bool overflow;
    /* the header */
    int col[C_COUNT];          /* field index of each column, -1 if absent */
    size_t ncols;
    bool header_done;
    int fatal;                 /* a sysexits code that stops the import */
    /* results */
    const tam_project_list_t *existing;
    bool update;               /* --update: existing projects are changed */
    regctl_batch_t adds, updates;
    size_t rows, refused_local;
} s_import_t;

static void s_field_cb(void *s, size_t len, void *data)
{
    s_import_t *x = data;
    if (x->nfields == S_MAX_FIELDS) {
        x->overflow = true;
        return;
    }
    x->fields[x->nfields++] = tam_arena_strndup(x->a, s ? s : "", s ? len : 0);
}

/* ---- cells ------------------------------------------------------------------------------ */

static const char *s_cell(const s_import_t *x, int c)
{
    int i = x->col[c];
    return i >= 0 && (size_t)i < x->nfields && x->fields[i] ? x->fields[i] : "";
}

__attribute__((format(printf, 3, 4))) static void s_bad(s_import_t *x, int c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s:%d:%s: %s\n", x->path, x->line, c >= 0 ? s_cols[c] : "", msg);
}

/* Whole dollars, ',' allowed between digits; empty is 0 if empty_ok. */
static bool s_usd(s_import_t *x, int c, bool empty_ok, int64_t *out)
{
    const char *s = s_cell(x, c);
    int64_t v = 0;
    size_t digits = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (v > 100000000000LL) {
                s_bad(x, c, "'%s' is more than 1,000,000,000,000", s);
                return false;
            }
            v = v * 10 + (*p - '0');
            digits++;
        } else if (!(*p == ',' && digits > 0 && p[1] >= '0' && p[1] <= '9')) {
            s_bad(x, c, "must be whole US dollars (digits, e.g. 1250000 or 1,250,000), not '%s'", s);
            return false;
        }
    }
    if (digits == 0 && !empty_ok) {
        s_bad(x, c, "is required");
        return false;
    }
    *out = v;
    return true;
}

static bool s_enum(s_import_t *x, int c, const tam_enum_t *e, int *out)
{
    const char *s = s_cell(x, c);
    int i = tam_enum_index(e, s, strlen(s));
    if (i < 0) {
        char list[128] = "";
        for (size_t k = 0; k < e->n; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", e->values[k]);
        s_bad(x, c, "must be one of %s, not '%s'", list, s);
        return false;
    }
    *out = i;
    return true;
}

static bool s_date(s_import_t *x, int c, uint32_t *out)
{
    const char *s = s_cell(x, c);
    if (tam_date_parse(s, strlen(s), out)) {
        s_bad(x, c, "must be a date YYYY-MM-DD, not '%s'", s);
        return false;
    }
    return true;
}

static char *s_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

/* A ';'-separated list; empty parts are skipped. */
static bool s_list(s_import_t *x, int c, tam_strs_t *out)
{
    const char *s = s_cell(x, c);
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ';';
    out->n = 0;
    out->v = tam_arena_alloc(x->a, n * sizeof *out->v);
    char *copy = tam_arena_strndup(x->a, s, strlen(s));
    if (!out->v || !copy)
        return false;
    for (char *save = NULL, *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        tok = s_trim(tok);
        if (*tok)
            out->v[out->n++] = tok;
    }
    return true;
}

/* "NOR:60;SWE:40", or one donor without a share ("NOR", meaning 100). */
static bool s_donors(s_import_t *x, tam_project_t *p)
{
    tam_strs_t parts;
    if (!s_list(x, C_DONORS, &parts))
        return false;
    if (parts.n == 0) {
        s_bad(x, C_DONORS, "is required: DONOR:PERCENT;... (e.g. NOR:60;SWE:40)");
        return false;
    }
    p->donors.n = parts.n;
    p->donors.v = tam_arena_alloc(x->a, parts.n * sizeof *p->donors.v);
    if (!p->donors.v)
        return false;
    for (uint32_t i = 0; i < parts.n; i++) {
        char *colon = strchr(parts.v[i], ':');
        tam_share_t *sh = &p->donors.v[i];
        if (!colon) {
            if (parts.n > 1) {
                s_bad(x, C_DONORS, "'%s' needs its share: DONOR:PERCENT", parts.v[i]);
                return false;
            }
            sh->donor = parts.v[i];
            sh->percent = 100;
            continue;
        }
        *colon = 0;
        sh->donor = s_trim(parts.v[i]);
        char *pct = s_trim(colon + 1), *end;
        size_t pl = strlen(pct);
        if (pl && pct[pl - 1] == '%')
            pct[pl - 1] = 0;
        long v = strtol(pct, &end, 10);
        if (!*pct || *end || v < 1 || v > 100) {
            s_bad(x, C_DONORS, "share of %s must be a whole percent 1..100, not '%s'", sh->donor, pct);
            return false;
        }
        sh->percent = v;
    }
    return true;
}

static bool s_bool(s_import_t *x, int c, bool *out)
{
    const char *s = s_cell(x, c);
    static const char *const yes[] = {"true", "yes", "1", "y", NULL};
    static const char *const no[] = {"false", "no", "0", "n", "", NULL};
    for (size_t i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
    for (size_t i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    s_bad(x, c, "must be true or false (yes/no, 1/0), not '%s'", s);
    return false;
}

static bool s_exists(const s_import_t *x, const char *id)
{
    for (uint32_t i = 0; x->existing && i < x->existing->items.n; i++)
        if (strcmp(x->existing->items.v[i].project->id, id) == 0)
            return true;
    return false;
}

/* ---- rows ------------------------------------------------------------------------------- */

static void s_header(s_import_t *x)
{
    for (int c = 0; c < C_COUNT; c++)
        x->col[c] = -1;
    x->ncols = x->nfields;
    for (size_t i = 0; i < x->nfields; i++) {
        const char *name = x->fields[i];
        int c = 0;
        while (c < C_COUNT && strcmp(s_cols[c], name) != 0)
            c++;
        if (c == C_COUNT) {
            fprintf(stderr, "%s:%d: unknown column '%s' (the columns are in `tamctl help project import`)\n",
                    x->path, x->line, name);
            x->fatal = EX_DATAERR;
        } else if (x->col[c] >= 0) {
            fprintf(stderr, "%s:%d: column '%s' appears twice\n", x->path, x->line, name);
            x->fatal = EX_DATAERR;
        } else {
            x->col[c] = (int)i;
        }
    }
    for (int c = 0; c < C_REQUIRED; c++)
        if (x->col[c] < 0) {
            fprintf(stderr, "%s:%d: required column '%s' is missing\n", x->path, x->line, s_cols[c]);
            x->fatal = EX_DATAERR;
        }
    x->header_done = true;
}

static void s_row(s_import_t *x)
{
    tam_project_t *p = tam_arena_alloc(x->a, sizeof *p);
    tam_earmarks_t *e = tam_arena_alloc(x->a, sizeof *e);
    if (!p || !e) {
        x->fatal = EX_OSERR;
        return;
    }
    x->rows++;
    if (x->nfields != x->ncols) {
        s_bad(x, -1, "has %zu fields, the header %zu", x->nfields, x->ncols);
        x->refused_local++;
        return;
    }
    int bs = 0, st = 0;
    p->id = (char *)s_cell(x, C_ID);
    p->title = (char *)s_cell(x, C_TITLE);
    p->dac = (char *)s_cell(x, C_DAC);
    p->earmarks = e;
    /* every cell is checked, so that one pass shows every problem of the row */
    bool ok = s_donors(x, p);
    ok &= s_usd(x, C_BUDGET, false, &p->budget);
    ok &= s_enum(x, C_BUDGET_STATUS, &tam_enum_budget_status, &bs);
    ok &= s_date(x, C_START, &p->start);
    ok &= s_date(x, C_END, &p->end);
    ok &= s_enum(x, C_STATUS, &tam_enum_project_status, &st);
    ok &= s_list(x, C_COUNTRIES, &e->countries);
    ok &= s_list(x, C_GROUPS, &e->groups);
    ok &= s_list(x, C_REGIONS, &e->regions);
    ok &= s_list(x, C_CATEGORIES, &e->categories);
    ok &= s_list(x, C_STANDARDS, &e->standards);
    ok &= s_list(x, C_MODALITIES, &e->modalities);
    ok &= s_bool(x, C_POST_CONFLICT, &e->post_conflict_only);
    ok &= s_usd(x, C_MAX_PER_NEED, true, &e->max_per_need);
    if (!ok) {
        x->refused_local++;
        return;
    }
    p->budget_status = (tam_budget_status_t)bs;
    p->status = (tam_project_status_t)st;
    char where[160];
    snprintf(where, sizeof where, "%s:%d", x->path, x->line);
    bool upd = x->update && s_exists(x, p->id);
    int msg = upd ? TAM_MSG_registry_project_update : TAM_MSG_registry_project_add;
    /* the codec's checks (lengths, counts) run here; the registry's on the server */
    if (regctl_batch_encode(upd ? &x->updates : &x->adds, msg, p, where, NULL))
        x->refused_local++;
}

static void s_row_cb(int term, void *data)
{
    (void)term;
    s_import_t *x = data;
    if (x->fatal)
        goto done;
    if (x->overflow) {
        fprintf(stderr, "%s:%d: more than %d fields\n", x->path, x->line, S_MAX_FIELDS);
        x->fatal = EX_DATAERR;
    } else if (!x->header_done) {
        s_header(x);
    } else if (!(x->nfields == 1 && !x->fields[0][0])) { /* a blank line */
        s_row(x);
    }
done:
    x->nfields = 0;
    x->overflow = false;
}

/* Feeds the file to libcsv one line at a time, to know the line of each row. */
static int s_parse(s_import_t *x, const char *text, size_t len)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return EX_OSERR;
    size_t off = 0;
    int ex = 0;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        off = 3; /* a UTF-8 byte order mark, as spreadsheets write */
    while (off < len && !x->fatal) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) + 1 : len - off;
        x->line++;
        if (csv_parse(&p, text + off, n, s_field_cb, s_row_cb, x) != n) {
            fprintf(stderr, "%s:%d: malformed CSV: %s\n", x->path, x->line, csv_strerror(csv_error(&p)));
            ex = EX_DATAERR;
            break;
        }
        off += n;
    }
    if (ex == 0 && !x->fatal && csv_fini(&p, s_field_cb, s_row_cb, x) != 0) {
        fprintf(stderr, "%s:%d: malformed CSV: %s\n", x->path, x->line, csv_strerror(csv_error(&p)));
        ex = EX_DATAERR;
    }
    csv_free(&p);
    if (ex == 0 && !x->fatal && !x->header_done) {
        fprintf(stderr, "%s: empty: a header row is needed\n", x->path);
        ex = EX_DATAERR;
    }
    return ex ? ex : x->fatal;
}

static int s_import(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"update", no_argument, NULL, 'u'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"iati", no_argument, NULL, 'i'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    bool update = false, iati = false, dry = false;
    int c;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'u')
            update = true;
        else if (c == 'i')
            iati = true;
        else if (c == 'n')
            dry = true;
        else if (c == 'j')
            t->json = true;
        else
            return EX_USAGE;
    }
    if (iati && optind < argc)
        return tamctl_iati_import(t, argc - optind, argv + optind, dry);
    if (optind + 1 != argc || iati || dry) {
        fprintf(stderr, "usage: tamctl project import FILE.csv [--update]\n"
                        "       tamctl project import --iati [--dry-run] FILE.xml...\n");
        return EX_USAGE;
    }
    s_import_t x = {.path = argv[optind], .t = t, .update = update};
    x.a = tam_arena_new(0);
    if (!x.a)
        return EX_OSERR;
    char *text = NULL;
    size_t len;
    tam_project_list_t existing = {0};
    tam_project_query_t q = {0};
    int ex = regctl_read_file(x.path, &text, &len);
    if (ex == 0)
        ex = regctl_all_projects(t, &q, x.a, &existing, NULL, NULL);
    x.existing = &existing;
    if (ex == 0)
        ex = s_parse(&x, text, len);
    free(text);
    if (ex == 0 && x.adds.n)
        ex = regctl_batch_send(t, TAM_MSG_registry_project_add, &x.adds, "project import (new)");
    if (ex == 0 && x.updates.n)
        ex = regctl_batch_send(t, TAM_MSG_registry_project_update, &x.updates,
                               "project import (changed)");
    if (ex == 0) {
        size_t added = 0, changed = 0, same = 0, refused = x.refused_local, exist = 0;
        for (size_t i = 0; i < x.adds.n; i++) {
            added += x.adds.v[i].status == TAM_RPC_OK;
            refused += x.adds.v[i].status != TAM_RPC_OK;
            exist += x.adds.v[i].status == TAM_RPC_ERROR && x.adds.v[i].error.code == TAM_EEXISTS;
        }
        for (size_t i = 0; i < x.updates.n; i++) {
            regctl_item_t *it = &x.updates.v[i];
            tam_put_ack_t ack;
            tam_codec_err_t ce;
            if (it->status != TAM_RPC_OK ||
                tam_decode(&tam_schema_put_ack, it->answer, it->answer_len, x.a, &ack, &ce)) {
                refused++;
                continue;
            }
            bool was_same = false;
            for (uint32_t k = 0; k < existing.items.n; k++)
                if (strcmp(existing.items.v[k].project->id, ack.id) == 0)
                    was_same = existing.items.v[k].revision == ack.revision;
            same += was_same;
            changed += !was_same;
        }
        if (t->json)
            printf("{\"rows\": %zu, \"added\": %zu, \"changed\": %zu, \"unchanged\": %zu, "
                   "\"refused\": %zu}\n",
                   x.rows, added, changed, same, refused);
        else if (!t->quiet)
            printf("%s: %zu row(s): %zu added, %zu changed, %zu unchanged, %zu refused\n", x.path,
                   x.rows, added, changed, same, refused);
        if (exist && !update)
            fprintf(stderr, "tamctl: %zu project(s) exist already; `tamctl project import --update %s` "
                            "changes them\n",
                    exist, x.path);
        if (refused)
            ex = EX_DATAERR;
    }
    regctl_batch_free(&x.adds);
    regctl_batch_free(&x.updates);
    tam_arena_destroy(&x.a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_project_import, "project import",
               "FILE.csv [--update] | --iati [--dry-run] FILE.xml...",
               "Add many projects from a CSV file, with progress and a summary.",
               "One project per row, RFC 4180 CSV (UTF-8); the header row names the columns,\n"
               "in any order. Required: id, title, donors, budget, budget_status, start, end,\n"
               "status, dac. Optional (empty: any): countries, groups, regions, categories,\n"
               "standards, modalities, post_conflict_only (true/false), max_per_need.\n"
               "Lists are ';'-separated in one cell (e.g. CAF;COD); donors are DONOR:PERCENT\n"
               "pairs (NOR:60;SWE:40, or one donor alone for 100). Amounts are whole USD.\n"
               "A project that exists is refused, unless --update: then it is changed.\n"
               "Problems are printed as FILE:LINE:COLUMN: message; the other rows are stored.\n"
               "--iati: IATI 2.03 activity files instead, each activity a project (or a new\n"
               "revision of it), its funders donors, its incoming transactions ledger\n"
               "entries; an activity with an element that cannot be mapped is refused whole,\n"
               "each such element named by XPath and line. --dry-run stores nothing.\n"
               "See docs/iati.md.",
               s_import)

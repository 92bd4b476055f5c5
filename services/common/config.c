/* config.c — the key table generated from the include/tam/cfg .def files,
 * defaults, overrides, INI loading (inih), cross-key checks and the documented
 * INI writer. Values are parsed and formatted in config_value.c. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config_value.h"
#include "tam/config.h"
#include "tam/error.h"
#include "tam/log.h"

/* ---------------------------------------------------------------------------
 * The tables. A .def line in the wrong file fails to compile here, because
 * offsetof() names the section its line declares. */

#define TAM_CFG_SECTION(section, doc)
#define TAM_CFG_KEY(sec, nm, type, def, mn, mx, doc)                                        \
    {#sec, #nm, TAM_CFG_##type, def, (int64_t)(mn), (int64_t)(mx), (double)(mn), (double)(mx), \
     doc, offsetof(tam_config_t, sec.nm), sizeof(((tam_config_t *)0)->sec.nm)},
static const tam_config_key_t s_keys[] = {
#include "tam/cfg/common.def"
#include "tam/cfg/ingest.def"
#include "tam/cfg/registry.def"
#include "tam/cfg/match.def"
#include "tam/cfg/pipeline.def"
#include "tam/cfg/tamctl.def"
#include "tam/cfg/security.def"
#include "tam/cfg/gateway.def"
#include "tam/cfg/iati.def"
};
#undef TAM_CFG_KEY
#undef TAM_CFG_SECTION

#define S_NKEYS (sizeof s_keys / sizeof s_keys[0])

typedef struct {
    const char *name;
    const char *doc;
} s_section_t;

#define TAM_CFG_SECTION(sec, doc) {#sec, doc},
#define TAM_CFG_KEY(sec, nm, type, def, mn, mx, doc)
static const s_section_t s_section_docs[] = {
#include "tam/cfg/common.def"
#include "tam/cfg/ingest.def"
#include "tam/cfg/registry.def"
#include "tam/cfg/match.def"
#include "tam/cfg/pipeline.def"
#include "tam/cfg/tamctl.def"
#include "tam/cfg/security.def"
#include "tam/cfg/gateway.def"
#include "tam/cfg/iati.def"
};
#undef TAM_CFG_KEY
#undef TAM_CFG_SECTION

#define S_SECTION_NAME(sec) #sec,
static const char *const s_sections[] = {TAM_CFG_SECTION_LIST(S_SECTION_NAME)};
#define S_NSECTIONS (sizeof s_sections / sizeof s_sections[0])

#define S_ECHO_MAX TAM__CONFIG_ECHO_MAX

/* ---------------------------------------------------------------------------
 * Small helpers */

static void s_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_fmt(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static bool s_section_known(const char *name)
{
    for (size_t i = 0; i < S_NSECTIONS; i++)
        if (strcmp(s_sections[i], name) == 0)
            return true;
    return false;
}

static void *s_field(tam_config_t *c, const tam_config_key_t *k)
{
    return (char *)c + k->offset;
}

static const void *s_cfield(const tam_config_t *c, const tam_config_key_t *k)
{
    return (const char *)c + k->offset;
}

/* Parses and stores one value; c is unchanged on error. Returns 0 or
 * TAM_ECONFIG with "[section] key: reason" in msg. */
static int s_assign(tam_config_t *c, const tam_config_key_t *k, const char *text, char *msg,
                    size_t msglen)
{
    char why[256];
    if (tam__config_parse(k, text, s_field(c, k), why, sizeof why) != 0) {
        s_fmt(msg, msglen, "[%s] %s: %s", k->section, k->name, why);
        return TAM_ECONFIG;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * The key table */

size_t tam_config_nkeys(void)
{
    return S_NKEYS;
}

const tam_config_key_t *tam_config_key_at(size_t i)
{
    return i < S_NKEYS ? &s_keys[i] : NULL;
}

const tam_config_key_t *tam_config_key(const char *section, const char *name)
{
    if (!section || !name)
        return NULL;
    for (size_t i = 0; i < S_NKEYS; i++)
        if (strcmp(s_keys[i].section, section) == 0 && strcmp(s_keys[i].name, name) == 0)
            return &s_keys[i];
    return NULL;
}

const char *tam_config_section_doc(const char *section)
{
    if (!section)
        return NULL;
    for (size_t i = 0; i < sizeof s_section_docs / sizeof s_section_docs[0]; i++)
        if (strcmp(s_section_docs[i].name, section) == 0)
            return s_section_docs[i].doc;
    return NULL;
}

void tam_config_defaults(tam_config_t *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < S_NKEYS; i++) {
        char msg[300];
        if (s_assign(c, &s_keys[i], s_keys[i].def, msg, sizeof msg) != 0) {
            /* A bad default in a .def file is our bug, caught by the unit tests. */
            fprintf(stderr, "tamatch: bad default in include/tam/cfg: %s\n", msg);
            abort();
        }
    }
}

bool tam_config_equal(const tam_config_t *a, const tam_config_t *b)
{
    for (size_t i = 0; i < S_NKEYS; i++) {
        const tam_config_key_t *k = &s_keys[i];
        const void *fa = s_cfield(a, k), *fb = s_cfield(b, k);
        bool same;
        if (k->type == TAM_CFG_STR || k->type == TAM_CFG_EP)
            same = strcmp(fa, fb) == 0;
        else if (k->type == TAM_CFG_REAL)
            same = *(const double *)fa == *(const double *)fb;
        else
            same = memcmp(fa, fb, k->size) == 0;
        if (!same)
            return false;
    }
    return true;
}

int tam_config_set(tam_config_t *c, const char *section, const char *key, const char *value,
                   char *err, size_t errlen)
{
    if (!c || !section || !key || !value) {
        s_fmt(err, errlen, "tam_config_set: NULL argument");
        return TAM_EINVAL;
    }
    const tam_config_key_t *k = tam_config_key(section, key);
    if (!k) {
        char es[S_ECHO_MAX + 8], ek[S_ECHO_MAX + 8];
        tam__config_echo(es, sizeof es, section);
        tam__config_echo(ek, sizeof ek, key);
        if (!s_section_known(section))
            s_fmt(err, errlen, "unknown section [%s]", es);
        else
            s_fmt(err, errlen, "[%s] unknown key \"%s\"", es, ek);
        return TAM_ECONFIG;
    }
    return s_assign(c, k, value, err, errlen);
}

int tam_config_override(tam_config_t *c, const char *assignment, char *err, size_t errlen)
{
    if (!c || !assignment) {
        s_fmt(err, errlen, "tam_config_override: NULL argument");
        return TAM_EINVAL;
    }
    char section[64], key[64];
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq || dot == assignment || eq == dot + 1 ||
        (size_t)(dot - assignment) >= sizeof section || (size_t)(eq - dot - 1) >= sizeof key) {
        char echo[S_ECHO_MAX + 8];
        tam__config_echo(echo, sizeof echo, assignment);
        s_fmt(err, errlen, "\"%s\": expected section.key=value", echo);
        return TAM_ECONFIG;
    }
    memcpy(section, assignment, (size_t)(dot - assignment));
    section[dot - assignment] = 0;
    memcpy(key, dot + 1, (size_t)(eq - dot - 1));
    key[eq - dot - 1] = 0;
    return tam_config_set(c, section, key, eq + 1, err, errlen);
}

int tam_config_get(const tam_config_t *c, const char *section, const char *key, char *buf,
                   size_t len)
{
    if (!c || !buf)
        return TAM_EINVAL;
    const tam_config_key_t *k = tam_config_key(section, key);
    if (!k) {
        if (len)
            buf[0] = 0;
        return TAM_EUNKNOWN;
    }
    return tam__config_format(k, s_cfield(c, k), buf, len);
}

/* ---------------------------------------------------------------------------
 * Loading a file with inih */

typedef struct {
    FILE *f;
    const char *path;
    tam_config_t *cfg;
    int lineno;       /* line last handed to inih */
    int err_line;     /* line of the first error we found, 0 if none */
    char msg[400];    /* that error, complete */
    int *seen;        /* line where each key was set, by key index */
    char *line;       /* getline buffer */
    size_t cap;
    bool nul;         /* the line held a NUL byte */
} s_load_t;

static void s_load_error(s_load_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_load_error(s_load_t *st, const char *fmt, ...)
{
    if (st->err_line)
        return;  /* report the first error only */
    st->err_line = st->lineno;
    int n = snprintf(st->msg, sizeof st->msg, "%s:%d: ", st->path, st->lineno);
    if (n < 0 || (size_t)n >= sizeof st->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg + n, sizeof st->msg - (size_t)n, fmt, ap);
    va_end(ap);
}

/* inih's line reader. Reads whole lines ourselves so that we count them,
 * refuse lines that would not fit inih's buffer (instead of letting it split
 * them), drop indentation (inih would read an indented line as a
 * continuation of the previous value) and see section headers, including
 * those of empty sections, which inih never reports. */
static char *s_reader(char *str, int num, void *stream)
{
    s_load_t *st = stream;
    ssize_t n = getline(&st->line, &st->cap, st->f);
    if (n < 0)
        return NULL;
    st->lineno++;
    char *p = st->line;
    if (memchr(p, 0, (size_t)n)) {
        s_load_error(st, "NUL byte in line");
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    if (st->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;  /* UTF-8 byte order mark */
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        p[--len] = 0;
    if (num <= 0 || len + 1 > (size_t)num) {
        s_load_error(st, "line longer than %d bytes", num > 0 ? num - 1 : 0);
        snprintf(str, (size_t)(num > 0 ? num : 1), "%s", "");
        return str;
    }
    if (*p == '[') {
        char *end = strchr(p, ']');
        if (end) {
            char name[S_ECHO_MAX + 8];
            *end = 0;
            if (!s_section_known(p + 1)) {
                tam__config_echo(name, sizeof name, p + 1);
                s_load_error(st, "unknown section [%s]", name);
            }
            *end = ']';
        }
    }
    memcpy(str, p, len + 1);
    return str;
}

static int s_handler(void *user, const char *section, const char *name, const char *value)
{
    s_load_t *st = user;
    char es[S_ECHO_MAX + 8], en[S_ECHO_MAX + 8];
    tam__config_echo(es, sizeof es, section);
    tam__config_echo(en, sizeof en, name);
    if (!*section) {
        s_load_error(st, "key \"%s\" before any [section]", en);
        return 0;
    }
    const tam_config_key_t *k = tam_config_key(section, name);
    if (!k) {
        if (s_section_known(section))
            s_load_error(st, "[%s] unknown key \"%s\"", es, en);
        else
            s_load_error(st, "unknown section [%s]", es);
        return 0;
    }
    size_t idx = (size_t)(k - s_keys);
    if (st->seen[idx]) {
        s_load_error(st, "[%s] %s: set twice (first on line %d)", es, en, st->seen[idx]);
        return 0;
    }
    st->seen[idx] = st->lineno;
    char msg[300];
    if (s_assign(st->cfg, k, value, msg, sizeof msg) != 0) {
        s_load_error(st, "%s", msg);
        return 0;
    }
    return 1;
}

int tam_config_load(tam_config_t *c, const char *path, char *err, size_t errlen)
{
    s_load_t st = {0};
    int rc = 0;
    if (!c) {
        s_fmt(err, errlen, "tam_config_load: NULL config");
        return TAM_EINVAL;
    }
    st.cfg = malloc(sizeof *st.cfg);
    st.seen = calloc(S_NKEYS, sizeof *st.seen);
    if (!st.cfg || !st.seen) {
        s_fmt(err, errlen, "out of memory");
        rc = TAM_ENOMEM;
        goto fail;
    }
    tam_config_defaults(st.cfg);
    if (path) {
        st.path = path;
        st.f = fopen(path, "r");
        if (!st.f) {
            s_fmt(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            rc = TAM_EIO;
            goto fail;
        }
        int r = ini_parse_stream(s_reader, &st, s_handler, &st);
        if (ferror(st.f)) {
            s_fmt(err, errlen, "%s: read error: %s", path, strerror(errno));
            rc = TAM_EIO;
            goto fail;
        }
        if (r == -2) {
            s_fmt(err, errlen, "out of memory");
            rc = TAM_ENOMEM;
            goto fail;
        }
        if (r > 0 && (st.err_line == 0 || r < st.err_line)) {
            s_fmt(err, errlen, "%s:%d: expected [section], key = value or a comment", path, r);
            rc = TAM_ECONFIG;
            goto fail;
        }
        if (st.err_line || r != 0) {
            s_fmt(err, errlen, "%s", st.msg);
            rc = TAM_ECONFIG;
            goto fail;
        }
    }
    memcpy(c, st.cfg, sizeof *c);
fail:
    if (st.f)
        fclose(st.f);
    free(st.line);
    free(st.seen);
    free(st.cfg);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Cross-key checks */

int tam_config_validate(const tam_config_t *c, char *err, size_t errlen)
{
    char a[64], b[64];
    if (!c) {
        s_fmt(err, errlen, "tam_config_validate: NULL config");
        return TAM_EINVAL;
    }
    bool any_weight = false;
    for (size_t i = 0; i < S_NKEYS; i++) {
        const tam_config_key_t *k = &s_keys[i];
        if (k->type == TAM_CFG_REAL && strcmp(k->section, "match") == 0 &&
            strncmp(k->name, "w_", 2) == 0 && *(const double *)s_cfield(c, k) > 0)
            any_weight = true;
    }
    if (!any_weight) {
        s_fmt(err, errlen, "[match] w_*: at least one scoring weight must be above 0");
        return TAM_ECONFIG;
    }
    for (size_t i = 0; i < S_NSECTIONS; i++) {
        const tam_config_key_t *ks = tam_config_key(s_sections[i], "map_size");
        const tam_config_key_t *km = tam_config_key(s_sections[i], "map_max");
        if (!ks || !km || ks->type != TAM_CFG_SIZE || km->type != TAM_CFG_SIZE)
            continue;
        uint64_t size = *(const uint64_t *)s_cfield(c, ks), max = *(const uint64_t *)s_cfield(c, km);
        if (size > max) {
            tam__config_format_size(a, sizeof a, size);
            tam__config_format_size(b, sizeof b, max);
            s_fmt(err, errlen, "[%s] map_size: %s is above map_max (%s)", s_sections[i], a, b);
            return TAM_ECONFIG;
        }
    }
    for (size_t i = 0; i < S_NKEYS; i++) {
        if (s_keys[i].type != TAM_CFG_EP)
            continue;
        for (size_t j = 0; j < i; j++)
            if (s_keys[j].type == TAM_CFG_EP &&
                strcmp(s_cfield(c, &s_keys[i]), s_cfield(c, &s_keys[j])) == 0) {
                s_fmt(err, errlen, "[%s] %s: same endpoint as [%s] %s", s_keys[i].section,
                      s_keys[i].name, s_keys[j].section, s_keys[j].name);
                return TAM_ECONFIG;
            }
    }
    if (c->common.request_retention <=
        (int64_t)(c->common.request_retries + 1) * c->common.request_timeout) {
        s_fmt(err, errlen,
              "[common] request_retention: must be longer than a client's retry horizon, "
              "(request_retries + 1) x request_timeout");
        return TAM_ECONFIG;
    }
    if (c->ingest.max_text >= c->common.max_frame) {
        tam__config_format_size(a, sizeof a, c->ingest.max_text);
        tam__config_format_size(b, sizeof b, c->common.max_frame);
        s_fmt(err, errlen, "[ingest] max_text: %s must be below [common] max_frame (%s)", a, b);
        return TAM_ECONFIG;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * The documented INI */

/* Writes text as "# " comment lines of at most 78 columns. */
static void s_write_wrapped(FILE *f, const char *text)
{
    const size_t width = 76;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *line = p, *cut = NULL;
        for (const char *q = p; *q && (size_t)(q - line) <= width; q++)
            if (*q == ' ')
                cut = q;
        size_t rest = strlen(line);
        if (rest <= width)
            cut = line + rest;
        else if (!cut) /* one word longer than the width: keep it whole */
            cut = line + strcspn(line, " ");
        fprintf(f, "# %.*s\n", (int)(cut - line), line);
        p = cut;
    }
}

static void s_write_type(FILE *f, const tam_config_key_t *k, const char *def)
{
    char lo[64], hi[64];
    tam__config_format_bound(k, k->min, k->rmin, lo, sizeof lo);
    tam__config_format_bound(k, k->max, k->rmax, hi, sizeof hi);
    switch (k->type) {
    case TAM_CFG_STR:
        fprintf(f, "# Type: text%s.", k->min > 0 ? ", not empty" : "");
        break;
    case TAM_CFG_EP:
        fprintf(f, "# Type: ZeroMQ endpoint.");
        break;
    case TAM_CFG_INT:
        fprintf(f, "# Type: integer, %s to %s.", lo, hi);
        break;
    case TAM_CFG_SIZE:
        fprintf(f, "# Type: size in bytes, %s to %s.", lo, hi);
        break;
    case TAM_CFG_MS:
        fprintf(f, "# Type: duration, %s to %s.", lo, hi);
        break;
    case TAM_CFG_BOOL:
        fprintf(f, "# Type: boolean.");
        break;
    case TAM_CFG_REAL:
        fprintf(f, "# Type: number, %s to %s.", lo, hi);
        break;
    case TAM_CFG_LEVEL:
        fprintf(f, "# Type: log level.");
        break;
    }
    fprintf(f, " Default: %s.\n", def);
}

int tam_config_write(FILE *f, const tam_config_t *c)
{
    if (!f || !c)
        return TAM_EINVAL;
    tam_config_t *defaults = malloc(sizeof *defaults);
    if (!defaults)
        return TAM_ENOMEM;
    tam_config_defaults(defaults);
    s_write_wrapped(f, "tamatch.ini: the configuration of every tamatch program.");
    fprintf(f, "#\n");
    s_write_wrapped(f, "Generated by `tam-config --defaults` from include/tam/cfg/*.def: edit "
                       "those files, not this text, and regenerate. A key left out takes its "
                       "default; unknown sections and keys are errors. Sizes are bytes with an "
                       "optional K, M, G or T suffix (powers of 1024); durations are milliseconds "
                       "with an optional ms, s, m or h suffix; booleans are true/false, yes/no, "
                       "on/off or 1/0. Text may be put in double quotes. A comment line starts "
                       "with # or ;, a comment after a value with \" ;\". A line holds at most 199 "
                       "bytes. Relative paths are relative to the directory of this file, relative "
                       "ipc:// endpoints to [common] run_dir. Override a key on a command line with "
                       "-o section.key=value.");
    for (size_t s = 0; s < S_NSECTIONS; s++) {
        fprintf(f, "\n[%s]\n", s_sections[s]);
        const char *doc = tam_config_section_doc(s_sections[s]);
        if (doc)
            s_write_wrapped(f, doc);
        for (size_t i = 0; i < S_NKEYS; i++) {
            const tam_config_key_t *k = &s_keys[i];
            char value[TAM_CFG_STR_MAX + 8], def[TAM_CFG_STR_MAX + 8];
            if (strcmp(k->section, s_sections[s]) != 0)
                continue;
            tam__config_format(k, s_cfield(c, k), value, sizeof value);
            tam__config_format(k, s_cfield(defaults, k), def, sizeof def);
            fprintf(f, "\n");
            s_write_wrapped(f, k->doc);
            s_write_type(f, k, def);
            fprintf(f, "%s = %s\n", k->name, value);
        }
    }
    free(defaults);
    return ferror(f) ? TAM_EIO : 0;
}

int tam_config_write_defaults(FILE *f)
{
    if (!f)
        return TAM_EINVAL;
    tam_config_t *c = malloc(sizeof *c);
    if (!c)
        return TAM_ENOMEM;
    tam_config_defaults(c);
    int rc = tam_config_write(f, c);
    free(c);
    return rc;
}

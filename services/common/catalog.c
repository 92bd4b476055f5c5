/* catalog.c — loads the catalogue CSV files (config/catalog) into tables
 * sorted by code and answers lookups by binary search. Rows are read and
 * their fields checked by catalog_csv.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalog_csv.h"
#include "tam/catalog.h"
#include "tam/error.h"

/* ---- tables ------------------------------------------------------------- */

/* Entries in file order, plus pointers to them sorted by code. */
typedef struct {
    char *items;
    size_t n, cap, size;
    int *lines;                /* file line of each entry, for duplicate errors */
    const void **sorted;
    int (*cmp)(const void *a, const void *b);
    void (*key)(const void *item, char *buf, size_t len); /* the code as text */
} s_table_t;

/* Strings live in blocks freed with the catalogue. */
typedef struct s_block {
    struct s_block *next;
    size_t used, cap;
    char data[];
} s_block_t;

struct tam_catalog {
    s_block_t *blocks;
    s_table_t groups, areas, categories, modalities, dac, channels, standards, countries;
};

static void *s_push(s_table_t *t, int line)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char *items = realloc(t->items, cap * t->size);
        if (!items)
            return NULL;
        t->items = items;
        int *lines = realloc(t->lines, cap * sizeof *lines);
        if (!lines)
            return NULL;
        t->lines = lines;
        t->cap = cap;
    }
    void *item = t->items + t->n * t->size;
    memset(item, 0, t->size);
    t->lines[t->n++] = line;
    return item;
}

static int s_qsort_cmp(const void *a, const void *b, void *arg)
{
    const s_table_t *t = arg;
    return t->cmp(*(const void *const *)a, *(const void *const *)b);
}

/* Sorts sorted[] (the table's entries) by cmp and refuses two entries with
 * the same key, naming both lines. */
static int s_check_unique(const s_table_t *t, const void **sorted, int (*cmp)(const void *, const void *),
                          void (*key)(const void *, char *, size_t), const char *path,
                          const char *column, char *err, size_t errlen)
{
    s_table_t by = *t;
    by.cmp = cmp;
    for (size_t i = 0; i < t->n; i++)
        sorted[i] = t->items + i * t->size;
    qsort_r(sorted, t->n, sizeof *sorted, s_qsort_cmp, &by);
    for (size_t i = 1; i < t->n; i++) {
        if (cmp(sorted[i - 1], sorted[i]) != 0)
            continue;
        int la = t->lines[((const char *)sorted[i - 1] - t->items) / t->size];
        int lb = t->lines[((const char *)sorted[i] - t->items) / t->size];
        char k[64];
        key(sorted[i], k, sizeof k);
        snprintf(err, errlen, "%s:%d: column \"%s\": duplicate \"%s\" (first on line %d)", path,
                 la > lb ? la : lb, column, k, la < lb ? la : lb);
        return TAM_ECONFIG;
    }
    return 0;
}

/* Builds the index by code; refuses duplicate codes. */
static int s_finish(s_table_t *t, const char *path, const char *column, char *err, size_t errlen)
{
    t->sorted = malloc((t->n ? t->n : 1) * sizeof *t->sorted);
    if (!t->sorted) {
        snprintf(err, errlen, "%s: out of memory", path);
        return TAM_ENOMEM;
    }
    return s_check_unique(t, t->sorted, t->cmp, t->key, path, column, err, errlen);
}

static const void *s_find(const s_table_t *t, const void *probe)
{
    size_t lo = 0, hi = t->sorted ? t->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = t->cmp(probe, t->sorted[mid]);
        if (c == 0)
            return t->sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const void *s_at(const s_table_t *t, size_t i)
{
    return i < t->n ? t->items + i * t->size : NULL;
}

static void s_table_free(s_table_t *t)
{
    free(t->items);
    free(t->lines);
    free(t->sorted);
}

static const char *s_strdup(tam_catalog_t *cat, const char *s)
{
    size_t len = strlen(s) + 1;
    s_block_t *b = cat->blocks;
    if (!b || b->cap - b->used < len) {
        size_t cap = len > 65536 ? len : 65536;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = cat->blocks;
        cat->blocks = b;
    }
    char *p = b->data + b->used;
    memcpy(p, s, len);
    b->used += len;
    return p;
}

/* ---- comparators and keys ------------------------------------------------ */

#define S_STR_KEY(T, field)                                                   \
    static int s_cmp_##T(const void *a, const void *b)                        \
    {                                                                         \
        return strcmp(((const tam_##T##_t *)a)->field, ((const tam_##T##_t *)b)->field); \
    }                                                                         \
    static void s_key_##T(const void *a, char *buf, size_t len)               \
    {                                                                         \
        tam__csv_echo(buf, len, ((const tam_##T##_t *)a)->field);             \
    }
#define S_NUM_KEY(T, field)                                                   \
    static int s_cmp_##T(const void *a, const void *b)                        \
    {                                                                         \
        unsigned long long x = ((const tam_##T##_t *)a)->field;               \
        unsigned long long y = ((const tam_##T##_t *)b)->field;               \
        return x < y ? -1 : x > y;                                            \
    }                                                                         \
    static void s_key_##T(const void *a, char *buf, size_t len)               \
    {                                                                         \
        snprintf(buf, len, "%llu", (unsigned long long)((const tam_##T##_t *)a)->field); \
    }

S_STR_KEY(country, iso3)
/* Secondary keys of countries, which must be unique too. */
#define tam_country2_t tam_country_t
#define tam_country3_t tam_country_t
S_STR_KEY(country2, iso2)
S_NUM_KEY(country3, m49)
S_STR_KEY(group, code)
S_STR_KEY(standard, id)
S_STR_KEY(modality, code)
S_NUM_KEY(area, m49)
S_NUM_KEY(category, code)
S_NUM_KEY(dac, code)
S_NUM_KEY(channel, code)

/* ---- rows ------------------------------------------------------------- */

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"
#define TRY(expr)                 \
    do {                          \
        int rc_ = (expr);         \
        if (rc_)                  \
            return rc_;           \
    } while (0)

/* Stores field col as a catalogue string in *dst. */
static int s_text(tam__csv_t *x, tam_catalog_t *cat, size_t col, bool empty_ok, const char **dst)
{
    TRY(tam__csv_text(x, col, empty_ok));
    *dst = s_strdup(cat, tam__csv_field(x, col));
    return *dst ? 0 : tam__csv_nomem(x);
}

static const char *const s_group_cols[] = {"code", "name", NULL};
static int s_row_group(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_group_t *g = s_push(&cat->groups, tam__csv_line(x));
    if (!g)
        return tam__csv_nomem(x);
    TRY(tam__csv_code(x, 0, UPPER, 1, sizeof g->code - 1, "1 to 7 capital letters"));
    strcpy(g->code, tam__csv_field(x, 0));
    return s_text(x, cat, 1, false, &g->name);
}

static const char *const s_area_cols[] = {"m49", "name", "kind", NULL};
static const char *const s_area_kinds[] = {"region", "subregion", "intermediate", NULL};
static int s_row_area(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_area_t *a = s_push(&cat->areas, tam__csv_line(x));
    uint64_t v;
    size_t kind;
    if (!a)
        return tam__csv_nomem(x);
    TRY(tam__csv_uint(x, 0, 1, 999, false, &v));
    a->m49 = (uint16_t)v;
    TRY(s_text(x, cat, 1, false, &a->name));
    TRY(tam__csv_oneof(x, 2, s_area_kinds, &kind));
    a->kind = (tam_area_kind_t)(kind + 1);
    return 0;
}

static const char *const s_category_cols[] = {"code", "title", NULL};
static int s_row_category(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_category_t *c = s_push(&cat->categories, tam__csv_line(x));
    if (!c)
        return tam__csv_nomem(x);
    TRY(tam__csv_code(x, 0, UPPER, 1, 1, "one capital letter"));
    c->code = tam__csv_field(x, 0)[0];
    return s_text(x, cat, 1, false, &c->title);
}

static const char *const s_modality_cols[] = {"code", "title", NULL};
static int s_row_modality(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_modality_t *m = s_push(&cat->modalities, tam__csv_line(x));
    if (!m)
        return tam__csv_nomem(x);
    TRY(tam__csv_code(x, 0, LOWER DIGITS "_-", 1, 32, "1 to 32 of a-z 0-9 _ -"));
    TRY(s_text(x, cat, 0, false, &m->code));
    return s_text(x, cat, 1, false, &m->title);
}

static const char *const s_status[] = {"active", "withdrawn", NULL};

static const char *const s_dac_cols[] = {"code", "name", "status", "category_code", "category_name", NULL};
static int s_row_dac(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_dac_t *d = s_push(&cat->dac, tam__csv_line(x));
    uint64_t v;
    size_t status;
    if (!d)
        return tam__csv_nomem(x);
    TRY(tam__csv_uint(x, 0, 10000, 99999, false, &v));
    d->code = (uint32_t)v;
    TRY(s_text(x, cat, 1, false, &d->name));
    TRY(tam__csv_oneof(x, 2, s_status, &status));
    d->active = status == 0;
    TRY(tam__csv_uint(x, 3, 100, 999, false, &v));
    d->category = (uint16_t)v;
    return s_text(x, cat, 4, true, &d->category_name);
}

static const char *const s_channel_cols[] = {"code", "iati_org_id", "name", "status", "category", NULL};
static int s_row_channel(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_channel_t *c = s_push(&cat->channels, tam__csv_line(x));
    uint64_t v;
    size_t status;
    if (!c)
        return tam__csv_nomem(x);
    TRY(tam__csv_uint(x, 0, 10000, 99999, false, &v));
    c->code = (uint32_t)v;
    TRY(tam__csv_code(x, 1, UPPER DIGITS "-", 1, 64, "an IATI organisation id (A-Z 0-9 -)"));
    TRY(s_text(x, cat, 1, false, &c->iati_org_id));
    TRY(s_text(x, cat, 2, false, &c->name));
    TRY(tam__csv_oneof(x, 3, s_status, &status));
    c->active = status == 0;
    TRY(tam__csv_uint(x, 4, 10000, 99999, false, &v));
    c->category = (uint32_t)v;
    return 0;
}

static const char *const s_standard_cols[] = {"id", "category", "short_name", "title",
                                              "adopted_by", "year", "dac_code", NULL};
static int s_row_standard(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_standard_t *s = s_push(&cat->standards, tam__csv_line(x));
    uint64_t v;
    if (!s)
        return tam__csv_nomem(x);
    TRY(tam__csv_code(x, 0, UPPER DIGITS "-", 1, 32, "1 to 32 of A-Z 0-9 -"));
    TRY(s_text(x, cat, 0, false, &s->id));
    TRY(tam__csv_code(x, 1, UPPER, 1, 1, "one capital letter"));
    s->category = tam__csv_field(x, 1)[0];
    if (!tam_catalog_category(cat, s->category))
        return tam__csv_error(x, 1, "unknown category \"%c\"", s->category);
    TRY(s_text(x, cat, 2, false, &s->short_name));
    TRY(s_text(x, cat, 3, false, &s->title));
    TRY(s_text(x, cat, 4, true, &s->adopted_by));
    TRY(tam__csv_uint(x, 5, 1900, 2100, false, &v));
    s->year = (uint16_t)v;
    TRY(tam__csv_uint(x, 6, 10000, 99999, false, &v));
    s->dac_code = (uint32_t)v;
    if (!tam_catalog_dac(cat, s->dac_code))
        return tam__csv_error(x, 6, "DAC purpose code %u is not in dac_purpose_codes.csv", s->dac_code);
    return 0;
}

enum { C_ISO3, C_ISO2, C_M49, C_NAME, C_GROUP, C_REGION, C_REGION_NAME, C_SUBREGION,
       C_SUBREGION_NAME, C_INTERMEDIATE, C_INTERMEDIATE_NAME, C_LDC, C_LLDC, C_SIDS };
static const char *const s_country_cols[] = {
    "iso3", "iso2", "m49", "name", "group", "region", "region_name", "subregion",
    "subregion_name", "intermediate", "intermediate_name", "ldc", "lldc", "sids", NULL};

/* An M49 area column and its name column: the code (empty only if optional)
 * names an area of the right kind in areas.csv, and the name matches it. */
static int s_country_area(tam__csv_t *x, tam_catalog_t *cat, size_t col, tam_area_kind_t kind,
                          bool optional, uint16_t *out)
{
    uint64_t v;
    const char *name = tam__csv_field(x, col + 1);
    char echo[64];
    TRY(tam__csv_uint(x, col, 1, 999, optional, &v));
    *out = (uint16_t)v;
    if (v == 0)
        return *name ? tam__csv_error(x, col + 1, "a name without an area code") : 0;
    const tam_area_t *a = tam_catalog_area(cat, (uint16_t)v);
    if (!a || a->kind != kind)
        return tam__csv_error(x, col, "M49 area %u is not a %s in areas.csv", (unsigned)v,
                              s_area_kinds[kind - 1]);
    if (strcmp(a->name, name) != 0) {
        tam__csv_echo(echo, sizeof echo, name);
        return tam__csv_error(x, col + 1, "\"%s\" is not the name of M49 area %u (\"%s\")", echo,
                              (unsigned)v, a->name);
    }
    return 0;
}

static int s_row_country(tam__csv_t *x, void *arg)
{
    tam_catalog_t *cat = arg;
    tam_country_t *c = s_push(&cat->countries, tam__csv_line(x));
    uint64_t v;
    if (!c)
        return tam__csv_nomem(x);
    TRY(tam__csv_code(x, C_ISO3, UPPER, 3, 3, "3 capital letters"));
    strcpy(c->iso3, tam__csv_field(x, C_ISO3));
    TRY(tam__csv_code(x, C_ISO2, UPPER, 2, 2, "2 capital letters"));
    strcpy(c->iso2, tam__csv_field(x, C_ISO2));
    TRY(tam__csv_uint(x, C_M49, 1, 999, false, &v));
    c->m49 = (uint16_t)v;
    TRY(s_text(x, cat, C_NAME, false, &c->name));
    TRY(tam__csv_code(x, C_GROUP, UPPER, 1, sizeof c->group - 1, "1 to 7 capital letters"));
    strcpy(c->group, tam__csv_field(x, C_GROUP));
    /* The groups table is read-only to callers, but ours while loading. */
    tam_group_t *g = (tam_group_t *)tam_catalog_group(cat, c->group);
    if (!g)
        return tam__csv_error(x, C_GROUP, "unknown regional group \"%s\"", c->group);
    g->ncountries++;
    TRY(s_country_area(x, cat, C_REGION, TAM_AREA_REGION, false, &c->region));
    TRY(s_country_area(x, cat, C_SUBREGION, TAM_AREA_SUBREGION, false, &c->subregion));
    TRY(s_country_area(x, cat, C_INTERMEDIATE, TAM_AREA_INTERMEDIATE, true, &c->intermediate));
    TRY(tam__csv_flag(x, C_LDC, &c->ldc));
    TRY(tam__csv_flag(x, C_LLDC, &c->lldc));
    return tam__csv_flag(x, C_SIDS, &c->sids);
}

/* ---- load and destroy --------------------------------------------------- */

typedef struct {
    const char *file;
    const char *const *cols;
    tam__csv_row_fn row;
    size_t table; /* offset of the s_table_t in tam_catalog_t */
} s_file_t;

/* In dependency order: a file may refer only to files above it. */
static const s_file_t s_files[] = {
    {"groups.csv", s_group_cols, s_row_group, offsetof(tam_catalog_t, groups)},
    {"areas.csv", s_area_cols, s_row_area, offsetof(tam_catalog_t, areas)},
    {"categories.csv", s_category_cols, s_row_category, offsetof(tam_catalog_t, categories)},
    {"modalities.csv", s_modality_cols, s_row_modality, offsetof(tam_catalog_t, modalities)},
    {"dac_purpose_codes.csv", s_dac_cols, s_row_dac, offsetof(tam_catalog_t, dac)},
    {"crs_channels.csv", s_channel_cols, s_row_channel, offsetof(tam_catalog_t, channels)},
    {"standards.csv", s_standard_cols, s_row_standard, offsetof(tam_catalog_t, standards)},
    {"countries.csv", s_country_cols, s_row_country, offsetof(tam_catalog_t, countries)},
};

static void s_table_init(s_table_t *t, size_t size, int (*cmp)(const void *, const void *),
                         void (*key)(const void *, char *, size_t))
{
    t->size = size;
    t->cmp = cmp;
    t->key = key;
}

/* ISO alpha-2 and M49 codes of countries are unique as well as alpha-3. */
static int s_countries_unique(const tam_catalog_t *cat, const char *dir, char *err, size_t errlen)
{
    const s_table_t *t = &cat->countries;
    char path[4096];
    snprintf(path, sizeof path, "%s/countries.csv", dir);
    const void **tmp = malloc((t->n ? t->n : 1) * sizeof *tmp);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return TAM_ENOMEM;
    }
    int rc = s_check_unique(t, tmp, s_cmp_country2, s_key_country2, path, "iso2", err, errlen);
    if (!rc)
        rc = s_check_unique(t, tmp, s_cmp_country3, s_key_country3, path, "m49", err, errlen);
    free(tmp);
    return rc;
}

int tam_catalog_load(tam_catalog_t **out, const char *dir, char *err, size_t errlen)
{
    int rc = 0;
    char path[4096];
    if (err && errlen)
        err[0] = 0;
    if (!out || !dir) {
        snprintf(err, errlen, "tam_catalog_load: NULL argument");
        return TAM_EINVAL;
    }
    *out = NULL;
    tam_catalog_t *cat = calloc(1, sizeof *cat);
    if (!cat) {
        snprintf(err, errlen, "out of memory");
        return TAM_ENOMEM;
    }
    s_table_init(&cat->groups, sizeof(tam_group_t), s_cmp_group, s_key_group);
    s_table_init(&cat->areas, sizeof(tam_area_t), s_cmp_area, s_key_area);
    s_table_init(&cat->categories, sizeof(tam_category_t), s_cmp_category, s_key_category);
    s_table_init(&cat->modalities, sizeof(tam_modality_t), s_cmp_modality, s_key_modality);
    s_table_init(&cat->dac, sizeof(tam_dac_t), s_cmp_dac, s_key_dac);
    s_table_init(&cat->channels, sizeof(tam_channel_t), s_cmp_channel, s_key_channel);
    s_table_init(&cat->standards, sizeof(tam_standard_t), s_cmp_standard, s_key_standard);
    s_table_init(&cat->countries, sizeof(tam_country_t), s_cmp_country, s_key_country);

    for (size_t i = 0; i < sizeof s_files / sizeof s_files[0]; i++) {
        const s_file_t *fd = &s_files[i];
        s_table_t *t = (s_table_t *)((char *)cat + fd->table);
        size_t rows = 0;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, fd->file) >= sizeof path) {
            snprintf(err, errlen, "%s: catalogue directory name too long", fd->file);
            rc = TAM_EINVAL;
            goto fail;
        }
        rc = tam__csv_read(path, fd->cols, fd->row, cat, &rows, err, errlen);
        if (rc)
            goto fail;
        if (rows == 0) {
            snprintf(err, errlen, "%s: no rows after the header", path);
            rc = TAM_ECONFIG;
            goto fail;
        }
        rc = s_finish(t, path, fd->cols[0], err, errlen);
        if (rc)
            goto fail;
    }
    rc = s_countries_unique(cat, dir, err, errlen);
    if (rc)
        goto fail;
    *out = cat;
    return 0;
fail:
    tam_catalog_destroy(&cat);
    return rc;
}

void tam_catalog_destroy(tam_catalog_t **cat)
{
    if (!cat || !*cat)
        return;
    tam_catalog_t *c = *cat;
    for (size_t i = 0; i < sizeof s_files / sizeof s_files[0]; i++)
        s_table_free((s_table_t *)((char *)c + s_files[i].table));
    while (c->blocks) {
        s_block_t *next = c->blocks->next;
        free(c->blocks);
        c->blocks = next;
    }
    free(c);
    *cat = NULL;
}

/* ---- lookups -------------------------------------------------------------- */

const tam_country_t *tam_catalog_country(const tam_catalog_t *cat, const char *iso3)
{
    tam_country_t probe = {0};
    if (!cat || !iso3 || strlen(iso3) != 3)
        return NULL;
    memcpy(probe.iso3, iso3, 4);
    return s_find(&cat->countries, &probe);
}

const tam_group_t *tam_catalog_group(const tam_catalog_t *cat, const char *code)
{
    tam_group_t probe = {0};
    if (!cat || !code || strlen(code) >= sizeof probe.code)
        return NULL;
    strcpy(probe.code, code);
    return s_find(&cat->groups, &probe);
}

const tam_area_t *tam_catalog_area(const tam_catalog_t *cat, uint16_t m49)
{
    tam_area_t probe = {.m49 = m49};
    return cat ? s_find(&cat->areas, &probe) : NULL;
}

const tam_category_t *tam_catalog_category(const tam_catalog_t *cat, char code)
{
    tam_category_t probe = {.code = code};
    return cat ? s_find(&cat->categories, &probe) : NULL;
}

const tam_standard_t *tam_catalog_standard(const tam_catalog_t *cat, const char *id)
{
    tam_standard_t probe = {.id = id};
    return cat && id ? s_find(&cat->standards, &probe) : NULL;
}

const tam_modality_t *tam_catalog_modality(const tam_catalog_t *cat, const char *code)
{
    tam_modality_t probe = {.code = code};
    return cat && code ? s_find(&cat->modalities, &probe) : NULL;
}

const tam_dac_t *tam_catalog_dac(const tam_catalog_t *cat, uint32_t code)
{
    tam_dac_t probe = {.code = code};
    return cat ? s_find(&cat->dac, &probe) : NULL;
}

const tam_channel_t *tam_catalog_channel(const tam_catalog_t *cat, uint32_t code)
{
    tam_channel_t probe = {.code = code};
    return cat ? s_find(&cat->channels, &probe) : NULL;
}

#define S_ITER(T, plural, table)                                                \
    size_t tam_catalog_n##plural(const tam_catalog_t *cat)                      \
    {                                                                           \
        return cat ? cat->table.n : 0;                                          \
    }                                                                           \
    const tam_##T##_t *tam_catalog_##T##_at(const tam_catalog_t *cat, size_t i) \
    {                                                                           \
        return cat ? s_at(&cat->table, i) : NULL;                               \
    }

S_ITER(country, countries, countries)
S_ITER(group, groups, groups)
S_ITER(area, areas, areas)
S_ITER(category, categories, categories)
S_ITER(standard, standards, standards)
S_ITER(modality, modalities, modalities)
S_ITER(dac, dac, dac)
S_ITER(channel, channels, channels)

bool tam_catalog_country_in_area(const tam_country_t *country, uint16_t m49_area)
{
    return country && m49_area &&
           (country->region == m49_area || country->subregion == m49_area ||
            country->intermediate == m49_area);
}

size_t tam_catalog_standards_of(const tam_catalog_t *cat, char category,
                                const tam_standard_t **out, size_t max)
{
    size_t n = 0;
    if (!cat)
        return 0;
    for (size_t i = 0; i < cat->standards.n; i++) {
        const tam_standard_t *s = s_at(&cat->standards, i);
        if (s->category != category)
            continue;
        if (out && n < max)
            out[n] = s;
        n++;
    }
    return n;
}

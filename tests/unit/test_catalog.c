/* test_catalog.c — tam/catalog.h against the committed config/catalog (counts
 * and facts the data states, lookups, M49 area membership, standards by
 * category) and against copies of it with one defect each, which must be
 * refused with an error naming file, line and column. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/catalog.h"
#include "tam/error.h"

static const char *const g_files[] = {"groups.csv", "areas.csv", "categories.csv",
                                      "modalities.csv", "dac_purpose_codes.csv", "crs_channels.csv",
                                      "standards.csv", "countries.csv"};
#define NFILES (sizeof g_files / sizeof g_files[0])

typedef struct {
    char src[1024];     /* the committed catalogue */
    char dir[64];       /* a temporary copy */
    tam_catalog_t *cat; /* the committed catalogue, loaded */
    char err[512];
} fixture_t;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    const char *root = getenv("TAM_SOURCE_DIR");
    if (!fx || !root) {
        fprintf(stderr, "TAM_SOURCE_DIR is not set\n");
        free(fx);
        return -1;
    }
    snprintf(fx->src, sizeof fx->src, "%s/config/catalog", root);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tam-test-catalog-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    if (tam_catalog_load(&fx->cat, fx->src, fx->err, sizeof fx->err) != 0) {
        fprintf(stderr, "loading %s: %s\n", fx->src, fx->err);
        nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    tam_catalog_destroy(&fx->cat);
    assert_null(fx->cat);
    nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* ---- file helpers ------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Copies the committed catalogue into fx->dir (overwriting). */
static void copy_catalog(fixture_t *fx)
{
    char from[1200], to[200];
    for (size_t i = 0; i < NFILES; i++) {
        size_t len;
        snprintf(from, sizeof from, "%s/%s", fx->src, g_files[i]);
        snprintf(to, sizeof to, "%s/%s", fx->dir, g_files[i]);
        char *buf = slurp(from, &len);
        spit(to, buf, len);
        free(buf);
    }
}

/* In the copy of file, replaces the first occurrence of old by repl
 * (old "" appends repl at the end). repl_len counts bytes, for NUL bytes. */
static void patch(fixture_t *fx, const char *file, const char *old, const char *repl, size_t repl_len)
{
    char path[200];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    char *buf = slurp(path, &len);
    char *at = *old ? strstr(buf, old) : buf + len;
    if (!at)
        fail_msg("%s does not contain \"%s\"", file, old);
    size_t olen = strlen(old), pre = (size_t)(at - buf);
    char *out = malloc(len - olen + repl_len + 1);
    assert_non_null(out);
    memcpy(out, buf, pre);
    memcpy(out + pre, repl, repl_len);
    memcpy(out + pre + repl_len, at + olen, len - pre - olen);
    spit(path, out, len - olen + repl_len);
    free(out);
    free(buf);
}

/* ---- the committed catalogue ---------------------------------------------- */

static void test_counts(void **state)
{
    fixture_t *fx = *state;
    const tam_catalog_t *cat = fx->cat;
    assert_int_equal(tam_catalog_ncountries(cat), 193);
    assert_int_equal(tam_catalog_ngroups(cat), 5);
    assert_int_equal(tam_catalog_ncategories(cat), 4);
    assert_int_equal(tam_catalog_nstandards(cat), 33);
    assert_int_equal(tam_catalog_nmodalities(cat), 10);
    assert_int_equal(tam_catalog_nareas(cat), 29);
    assert_int_equal(tam_catalog_ndac(cat), 27);
    assert_int_equal(tam_catalog_nchannels(cat), 15);

    static const struct { const char *code; unsigned n; } groups[] = {
        {"AFRICAN", 54}, {"APG", 54}, {"EEG", 23}, {"GRULAC", 33}, {"WEOG", 29}};
    unsigned counted[5] = {0}, ldc = 0, lldc = 0, sids = 0;
    for (size_t i = 0; i < tam_catalog_ncountries(cat); i++) {
        const tam_country_t *c = tam_catalog_country_at(cat, i);
        size_t g = 0;
        while (g < 5 && strcmp(c->group, groups[g].code) != 0)
            g++;
        assert_true(g < 5);
        counted[g]++;
        ldc += c->ldc;
        lldc += c->lldc;
        sids += c->sids;
        assert_ptr_equal(tam_catalog_country(cat, c->iso3), c);
        assert_non_null(tam_catalog_area(cat, c->region));
        assert_non_null(tam_catalog_area(cat, c->subregion));
    }
    for (size_t g = 0; g < 5; g++) {
        const tam_group_t *grp = tam_catalog_group(cat, groups[g].code);
        assert_non_null(grp);
        assert_int_equal(grp->ncountries, groups[g].n);
        assert_int_equal(counted[g], groups[g].n);
    }
    /* UN LDC list after December 2024: 44, all Member States; LLDC 32, SIDS 37. */
    assert_int_equal(ldc, 44);
    assert_int_equal(lldc, 32);
    assert_int_equal(sids, 37);

    unsigned kinds[4] = {0};
    for (size_t i = 0; i < tam_catalog_nareas(cat); i++)
        kinds[tam_catalog_area_at(cat, i)->kind]++;
    assert_int_equal(kinds[TAM_AREA_REGION], 5);
    assert_int_equal(kinds[TAM_AREA_SUBREGION], 17);
    assert_int_equal(kinds[TAM_AREA_INTERMEDIATE], 7);

    for (size_t i = 0; i < tam_catalog_nstandards(cat); i++) {
        const tam_standard_t *s = tam_catalog_standard_at(cat, i);
        assert_non_null(tam_catalog_category(cat, s->category));
        assert_non_null(tam_catalog_dac(cat, s->dac_code));
        assert_ptr_equal(tam_catalog_standard(cat, s->id), s);
    }
    assert_null(tam_catalog_country_at(cat, 193));
    assert_null(tam_catalog_standard_at(cat, 33));
    assert_null(tam_catalog_group_at(cat, 5));
    assert_null(tam_catalog_modality_at(cat, 10));
    assert_null(tam_catalog_category_at(cat, 4));
    assert_null(tam_catalog_area_at(cat, 29));
    assert_null(tam_catalog_dac_at(cat, 27));
    assert_null(tam_catalog_channel_at(cat, 15));
}

static void test_facts(void **state)
{
    fixture_t *fx = *state;
    const tam_catalog_t *cat = fx->cat;
    const tam_country_t *afg = tam_catalog_country(cat, "AFG");
    assert_non_null(afg);
    assert_string_equal(afg->iso2, "AF");
    assert_int_equal(afg->m49, 4);
    assert_string_equal(afg->name, "Afghanistan");
    assert_string_equal(afg->group, "APG");
    assert_int_equal(afg->region, 142);
    assert_int_equal(afg->subregion, 34);
    assert_int_equal(afg->intermediate, 0);
    assert_true(afg->ldc);
    assert_true(afg->lldc);
    assert_false(afg->sids);

    const tam_country_t *tur = tam_catalog_country(cat, "TUR");
    assert_non_null(tur);
    assert_string_equal(tur->name, "T\xc3\xbcrkiye");
    assert_string_equal(tur->group, "WEOG");
    const tam_country_t *stp = tam_catalog_country(cat, "STP"); /* graduated in 2024 */
    assert_non_null(stp);
    assert_false(stp->ldc);
    assert_true(stp->sids);
    assert_string_equal(tam_catalog_country(cat, "USA")->group, "WEOG");
    assert_string_equal(tam_catalog_country(cat, "ARM")->group, "EEG");
    assert_string_equal(tam_catalog_country(cat, "NZL")->group, "WEOG");
    assert_string_equal(tam_catalog_country(cat, "ZWE")->group, "AFRICAN");

    assert_string_equal(tam_catalog_group(cat, "APG")->name, "Asia-Pacific States");
    const tam_area_t *lac = tam_catalog_area(cat, 419);
    assert_non_null(lac);
    assert_string_equal(lac->name, "Latin America and the Caribbean");
    assert_int_equal(lac->kind, TAM_AREA_SUBREGION);
    assert_int_equal(tam_catalog_area(cat, 142)->kind, TAM_AREA_REGION);
    assert_int_equal(tam_catalog_area(cat, 17)->kind, TAM_AREA_INTERMEDIATE);

    const tam_standard_t *smr = tam_catalog_standard(cat, "A-SMR");
    assert_non_null(smr);
    assert_int_equal(smr->category, 'A');
    assert_string_equal(smr->short_name, "Nelson Mandela Rules");
    assert_int_equal(smr->year, 1955);
    assert_int_equal(smr->dac_code, 15137);
    assert_string_equal(tam_catalog_dac(cat, 15137)->name, "Prisons");
    assert_int_equal(tam_catalog_dac(cat, 15210)->category, 152);
    assert_string_equal(tam_catalog_dac(cat, 15210)->category_name, "Conflict, Peace & Security");
    assert_int_equal(tam_catalog_category(cat, 'C')->code, 'C');
    assert_non_null(strstr(tam_catalog_category(cat, 'B')->title, "international cooperation"));
    assert_string_equal(tam_catalog_modality(cat, "training")->code, "training");
    assert_string_equal(tam_catalog_modality_at(cat, 0)->code, "legislative");
    const tam_channel_t *unodc = tam_catalog_channel(cat, 41128);
    assert_non_null(unodc);
    assert_string_equal(unodc->iati_org_id, "XM-DAC-41128");
    assert_true(unodc->active);
    assert_false(tam_catalog_channel(cat, 41109)->active);
}

static void test_unknown_codes(void **state)
{
    fixture_t *fx = *state;
    const tam_catalog_t *cat = fx->cat;
    assert_null(tam_catalog_country(cat, "XXX"));
    assert_null(tam_catalog_country(cat, "afg"));
    assert_null(tam_catalog_country(cat, "AF"));
    assert_null(tam_catalog_country(cat, "AFGX"));
    assert_null(tam_catalog_country(cat, ""));
    assert_null(tam_catalog_country(cat, NULL));
    assert_null(tam_catalog_standard(cat, "A-NOPE"));
    assert_null(tam_catalog_standard(cat, "a-smr"));
    assert_null(tam_catalog_standard(cat, NULL));
    assert_null(tam_catalog_category(cat, 'E'));
    assert_null(tam_catalog_category(cat, 'a'));
    assert_null(tam_catalog_category(cat, 0));
    assert_null(tam_catalog_modality(cat, "Training"));
    assert_null(tam_catalog_modality(cat, NULL));
    assert_null(tam_catalog_group(cat, "apg"));
    assert_null(tam_catalog_group(cat, "AFRICANX"));
    assert_null(tam_catalog_group(cat, NULL));
    assert_null(tam_catalog_area(cat, 0));
    assert_null(tam_catalog_area(cat, 999));
    assert_null(tam_catalog_dac(cat, 1));
    assert_null(tam_catalog_dac(cat, 99999));
    assert_null(tam_catalog_channel(cat, 0));
    /* A NULL catalogue is empty. */
    assert_null(tam_catalog_country(NULL, "AFG"));
    assert_null(tam_catalog_area(NULL, 142));
    assert_int_equal(tam_catalog_ncountries(NULL), 0);
    assert_null(tam_catalog_country_at(NULL, 0));
    assert_int_equal(tam_catalog_standards_of(NULL, 'A', NULL, 0), 0);
}

static void test_in_area(void **state)
{
    fixture_t *fx = *state;
    const tam_catalog_t *cat = fx->cat;
    const tam_country_t *ago = tam_catalog_country(cat, "AGO");
    assert_true(tam_catalog_country_in_area(ago, 2));   /* Africa */
    assert_true(tam_catalog_country_in_area(ago, 202)); /* Sub-Saharan Africa */
    assert_true(tam_catalog_country_in_area(ago, 17));  /* Middle Africa */
    assert_false(tam_catalog_country_in_area(ago, 142));
    assert_false(tam_catalog_country_in_area(ago, 15));
    const tam_country_t *afg = tam_catalog_country(cat, "AFG");
    assert_true(tam_catalog_country_in_area(afg, 142));
    assert_true(tam_catalog_country_in_area(afg, 34));
    assert_false(tam_catalog_country_in_area(afg, 0)); /* no intermediate region is not area 0 */
    assert_false(tam_catalog_country_in_area(NULL, 142));
    /* Whole areas: 54 States in Africa, 33 in Latin America and the Caribbean. */
    unsigned africa = 0, lac = 0;
    for (size_t i = 0; i < tam_catalog_ncountries(cat); i++) {
        africa += tam_catalog_country_in_area(tam_catalog_country_at(cat, i), 2);
        lac += tam_catalog_country_in_area(tam_catalog_country_at(cat, i), 419);
    }
    assert_int_equal(africa, 54);
    assert_int_equal(lac, 33);
}

static void test_standards_of(void **state)
{
    fixture_t *fx = *state;
    const tam_catalog_t *cat = fx->cat;
    const tam_standard_t *out[40];
    assert_int_equal(tam_catalog_standards_of(cat, 'A', out, 40), 12);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(out[i]->category, 'A');
    assert_int_equal(tam_catalog_standards_of(cat, 'B', out, 40), 7);
    assert_int_equal(tam_catalog_standards_of(cat, 'C', out, 40), 5);
    assert_int_equal(tam_catalog_standards_of(cat, 'D', out, 40), 9);
    assert_int_equal(tam_catalog_standards_of(cat, 'E', out, 40), 0);
    /* Fewer slots than standards: count all, fill max, file order. */
    const tam_standard_t *three[4] = {NULL, NULL, NULL, NULL};
    assert_int_equal(tam_catalog_standards_of(cat, 'A', three, 3), 12);
    assert_string_equal(three[0]->id, "A-SMR");
    assert_string_equal(three[1]->id, "A-SMR-PROC");
    assert_string_equal(three[2]->id, "A-BPTP");
    assert_null(three[3]);
    assert_int_equal(tam_catalog_standards_of(cat, 'D', NULL, 0), 9);
}

/* ---- refused catalogues ------------------------------------------------- */

typedef struct {
    const char *file;
    const char *old, *repl; /* patch: replace old by repl ("" old: append) */
    int rc;
    const char *where; /* "file:line" expected at the start of the message */
    const char *msg;   /* expected after it */
} bad_t;

static void test_refused(void **state)
{
    fixture_t *fx = *state;
    static const char *const countries_header =
        "iso3,iso2,m49,name,group,region,region_name,subregion,subregion_name,intermediate,"
        "intermediate_name,ldc,lldc,sids,note\n";
    const bad_t cases[] = {
        {"countries.csv", "AFG,AF,004,", "AFG,AF,0x4,", TAM_ECONFIG, "countries.csv:2:",
         " column 3 \"m49\": \"0x4\" is not a number"},
        {"countries.csv", ",sids,", ",sidz,", TAM_ECONFIG, "countries.csv:1:",
         " missing column \"sids\" in the header"},
        {"countries.csv", "Afghanistan,APG,", "Afghanistan,XYZ,", TAM_ECONFIG, "countries.csv:2:",
         " column 5 \"group\": unknown regional group \"XYZ\""},
        {"countries.csv", "", "AFG,AF,004,Afghanistan,APG,142,Asia,34,Southern Asia,,,1,1,0,\n",
         TAM_ECONFIG, "countries.csv:195:", " column \"iso3\": duplicate \"AFG\" (first on line 2)"},
        {"countries.csv", "", "ZZZ,ZZ\n", TAM_ECONFIG, "countries.csv:195:",
         " 2 fields, the header has 15"},
        {"countries.csv", "", "\"ZZZ,ZZ\n", TAM_ECONFIG, "countries.csv:195:",
         " malformed CSV: a quoted field is not closed"},
        {"countries.csv", "AFG,AF,", "AFG,A\"F,", TAM_ECONFIG, "countries.csv:2:", " malformed CSV"},
        {"countries.csv", "AFG,", "afg,", TAM_ECONFIG, "countries.csv:2:",
         " column 1 \"iso3\": \"afg\" is not 3 capital letters"},
        {"countries.csv", "AFG,", " AFG,", TAM_ECONFIG, "countries.csv:2:",
         " column 1 \"iso3\": \" AFG\" is not 3 capital letters"},
        {"countries.csv", "Afghanistan,APG,142,Asia,", "Afghanistan,APG,142,Asiana,", TAM_ECONFIG,
         "countries.csv:2:", " column 7 \"region_name\": \"Asiana\" is not the name of M49 area 142"},
        {"countries.csv", "Afghanistan,APG,142,", "Afghanistan,APG,34,", TAM_ECONFIG,
         "countries.csv:2:", " column 6 \"region\": M49 area 34 is not a region in areas.csv"},
        {"countries.csv", "Southern Asia,,,1,1,0", "Southern Asia,,,2,1,0", TAM_ECONFIG,
         "countries.csv:2:", " column 12 \"ldc\": \"2\" is not 0 or 1"},
        {"countries.csv", "Southern Asia,,,1", "Southern Asia,,Nowhere,1", TAM_ECONFIG,
         "countries.csv:2:", " column 11 \"intermediate_name\": a name without an area code"},
        {"countries.csv", "Afghanistan", "Afgh\xff" "anistan", TAM_ECONFIG, "countries.csv:2:",
         " column 4 \"name\": invalid UTF-8 at byte 5"},
        {"countries.csv", "Afghanistan", "Afgh\xc0\xaf" "anistan", TAM_ECONFIG, "countries.csv:2:",
         " column 4 \"name\": invalid UTF-8 at byte 5"},
        {"countries.csv", "Afghanistan", "\"Afgh\nanistan\"", TAM_ECONFIG, "countries.csv:2:",
         " column 4 \"name\": control character at byte 5"},
        {"countries.csv", "Afghanistan", "", TAM_ECONFIG, "countries.csv:2:",
         " column 4 \"name\": must not be empty"},
        {"countries.csv", "AGO,AO,024", "AGO,AO,4", TAM_ECONFIG, "countries.csv:3:",
         " column \"m49\": duplicate \"4\" (first on line 2)"},
        {"countries.csv", "AGO,AO,", "AGO,AF,", TAM_ECONFIG, "countries.csv:3:",
         " column \"iso2\": duplicate \"AF\" (first on line 2)"},
        {"countries.csv", countries_header, "", TAM_ECONFIG, "countries.csv:1:",
         " missing column \"iso3\" in the header"},
        {"countries.csv", "sids,note\n", "sids,ldc\n", TAM_ECONFIG, "countries.csv:1:",
         " column 15: \"ldc\" appears twice in the header"},
        {"standards.csv", "A-SMR,A,", "A-SMR,E,", TAM_ECONFIG, "standards.csv:2:",
         " column 2 \"category\": unknown category \"E\""},
        {"standards.csv", "GA 70/175,1955,15137", "GA 70/175,1955,15999", TAM_ECONFIG,
         "standards.csv:2:", " column 7 \"dac_code\": DAC purpose code 15999 is not in"},
        {"standards.csv", "GA 70/175,1955,", "GA 70/175,55,", TAM_ECONFIG, "standards.csv:2:",
         " column 6 \"year\": 55 is not between 1900 and 2100"},
        {"standards.csv", "A-BPTP,", "A-SMR,", TAM_ECONFIG, "standards.csv:4:",
         " column \"id\": duplicate \"A-SMR\" (first on line 2)"},
        {"modalities.csv", "advisory,", "training,", TAM_ECONFIG, "modalities.csv:4:",
         " column \"code\": duplicate \"training\" (first on line 3)"},
        {"modalities.csv", "advisory,", "Advisory,", TAM_ECONFIG, "modalities.csv:3:",
         " column 1 \"code\": \"Advisory\" is not 1 to 32 of a-z 0-9 _ -"},
        {"groups.csv", "APG,", "APGAPGAPG,", TAM_ECONFIG, "groups.csv:3:",
         " column 1 \"code\": \"APGAPGAPG\" is not 1 to 7 capital letters"},
        {"areas.csv", "2,Africa,region", "2,Africa,continent", TAM_ECONFIG, "areas.csv:2:",
         " column 3 \"kind\": \"continent\" is not one of: region, subregion, intermediate"},
        {"areas.csv", "5,South America", "1000,South America", TAM_ECONFIG, "areas.csv:3:",
         " column 1 \"m49\": 1000 is not between 1 and 999"},
        {"dac_purpose_codes.csv", ",active,", ",retired,", TAM_ECONFIG, "dac_purpose_codes.csv:2:",
         " column 3 \"status\": \"retired\" is not one of: active, withdrawn"},
        {"crs_channels.csv", "XM-DAC-41114", "XM DAC 41114", TAM_ECONFIG, "crs_channels.csv:3:",
         " column 2 \"iati_org_id\""},
        {"categories.csv", "A,", "AB,", TAM_ECONFIG, "categories.csv:2:",
         " column 1 \"code\": \"AB\" is not one capital letter"},
    };
    char want[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_t *b = &cases[i];
        copy_catalog(fx);
        patch(fx, b->file, b->old, b->repl, strlen(b->repl));
        static char sentinel;
        tam_catalog_t *cat = (tam_catalog_t *)&sentinel; /* load must reset it to NULL */
        fx->err[0] = 0;
        int rc = tam_catalog_load(&cat, fx->dir, fx->err, sizeof fx->err);
        if (rc != b->rc)
            fail_msg("case %zu (%s): rc %d, want %d; err \"%s\"", i, b->file, rc, b->rc, fx->err);
        assert_null(cat);
        snprintf(want, sizeof want, "%s/%s%s", fx->dir, b->where, b->msg);
        if (strncmp(fx->err, want, strlen(want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, fx->err, want);
    }
    /* The unpatched copy loads: each case above failed for its defect alone. */
    copy_catalog(fx);
    tam_catalog_t *ok = NULL;
    assert_int_equal(tam_catalog_load(&ok, fx->dir, fx->err, sizeof fx->err), 0);
    assert_int_equal(tam_catalog_ncountries(ok), 193);
    tam_catalog_destroy(&ok);
}

/* A NUL byte inside a field. */
static void test_refused_nul(void **state)
{
    fixture_t *fx = *state;
    copy_catalog(fx);
    patch(fx, "groups.csv", "Asia-Pacific", "Asia\0Pacific", 12);
    tam_catalog_t *cat = NULL;
    assert_int_equal(tam_catalog_load(&cat, fx->dir, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_null(cat);
    assert_non_null(strstr(fx->err, "groups.csv:3: field 2 holds a NUL byte"));
}

static void test_refused_files(void **state)
{
    fixture_t *fx = *state;
    char path[200];
    tam_catalog_t *cat = NULL;

    copy_catalog(fx);
    snprintf(path, sizeof path, "%s/modalities.csv", fx->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(tam_catalog_load(&cat, fx->dir, fx->err, sizeof fx->err), TAM_EIO);
    assert_null(cat);
    assert_non_null(strstr(fx->err, "modalities.csv: cannot open: No such file"));

    copy_catalog(fx);
    snprintf(path, sizeof path, "%s/categories.csv", fx->dir);
    spit(path, "", 0);
    assert_int_equal(tam_catalog_load(&cat, fx->dir, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_non_null(strstr(fx->err, "categories.csv:1: empty file: no header row"));

    copy_catalog(fx);
    snprintf(path, sizeof path, "%s/modalities.csv", fx->dir);
    spit(path, "code,title,basis\n", 17);
    assert_int_equal(tam_catalog_load(&cat, fx->dir, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_non_null(strstr(fx->err, "modalities.csv: no rows after the header"));

    /* Over the field size cap. */
    copy_catalog(fx);
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'x', 5000);
    patch(fx, "groups.csv", "Asia-Pacific States", big, 5000);
    free(big);
    assert_int_equal(tam_catalog_load(&cat, fx->dir, fx->err, sizeof fx->err), TAM_ECONFIG);
    assert_non_null(strstr(fx->err, "groups.csv:3: field 2 longer than 4096 bytes"));

    assert_int_equal(tam_catalog_load(&cat, "/nonexistent-tam-dir", fx->err, sizeof fx->err), TAM_EIO);
    assert_int_equal(tam_catalog_load(NULL, fx->dir, fx->err, sizeof fx->err), TAM_EINVAL);
    assert_int_equal(tam_catalog_load(&cat, NULL, fx->err, sizeof fx->err), TAM_EINVAL);
    assert_null(cat);
    tam_catalog_destroy(&cat);
    tam_catalog_destroy(NULL);
}

/* CRLF line endings, a byte order mark, quoted fields, extra and reordered
 * columns are all read. */
static void test_tolerated(void **state)
{
    fixture_t *fx = *state;
    char path[200];
    copy_catalog(fx);
    snprintf(path, sizeof path, "%s/groups.csv", fx->dir);
    static const char groups[] =
        "\xEF\xBB\xBF" "extra,name,code\r\n"
        "1,African States,AFRICAN\r\n"
        "2,\"Asia-Pacific States\",APG\r\n"
        "3,Eastern European States,EEG\r\n"
        "\r\n"
        "4,\"Latin American and Caribbean States\",GRULAC\r\n"
        "5,\"Western European and other States, \"\"WEOG\"\"\",WEOG";
    spit(path, groups, sizeof groups - 1);
    tam_catalog_t *cat = NULL;
    assert_int_equal(tam_catalog_load(&cat, fx->dir, fx->err, sizeof fx->err), 0);
    assert_int_equal(tam_catalog_ngroups(cat), 5);
    assert_string_equal(tam_catalog_group(cat, "APG")->name, "Asia-Pacific States");
    assert_string_equal(tam_catalog_group(cat, "WEOG")->name,
                        "Western European and other States, \"WEOG\"");
    assert_int_equal(tam_catalog_group(cat, "WEOG")->ncountries, 29);
    tam_catalog_destroy(&cat);
    assert_null(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_facts),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_in_area),
        cmocka_unit_test(test_standards_of),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_refused_nul),
        cmocka_unit_test(test_refused_files),
        cmocka_unit_test(test_tolerated),
    };
    return cmocka_run_group_tests_name("catalog", tests, setup, teardown);
}

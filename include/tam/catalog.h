/* tam/catalog.h — the reference lists every service shares: UN Member States
 * with their regional group, M49 areas and LDC/LLDC/SIDS status; the
 * categories, standards and norms the questionnaires ask about; the kinds of
 * assistance (modalities); OECD DAC purpose codes and CRS channel codes.
 *
 * Loaded once at start from the CSV files in a directory ([common]
 * catalog_dir, normally config/catalog; see its README.md for sources) and
 * read-only afterwards, so one catalogue may be shared by any number of
 * threads. Any malformed file or row refuses the whole catalogue.
 *
 * Lookups by code return a pointer into the catalogue (valid until
 * tam_catalog_destroy) or NULL for an unknown code; they are binary searches
 * (O(log n)), cheap enough to run per need per project. Codes are
 * case-sensitive, as the files write them (country "AFG", standard "A-SMR",
 * modality "training", category 'A', group "APG"). The *_at(i) accessors
 * iterate in file order and return NULL for i >= the count.
 */
#ifndef TAM_CATALOG_H
#define TAM_CATALOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tam_catalog tam_catalog_t;

/* A UN Member State (countries.csv). */
typedef struct {
    char iso3[4];          /* ISO 3166-1 alpha-3, the respondent code */
    char iso2[3];          /* ISO 3166-1 alpha-2 */
    uint16_t m49;          /* M49 numeric code (= ISO 3166-1 numeric) */
    const char *name;      /* UN (M49) English short name, UTF-8 */
    char group[8];         /* UN regional group code: AFRICAN, APG, EEG, GRULAC, WEOG */
    uint16_t region;       /* M49 region, e.g. 142 Asia */
    uint16_t subregion;    /* M49 sub-region, e.g. 34 Southern Asia */
    uint16_t intermediate; /* M49 intermediate region, 0 if none */
    bool ldc;              /* least developed country */
    bool lldc;             /* landlocked developing country */
    bool sids;             /* small island developing State */
} tam_country_t;

/* A UN regional group (groups.csv). */
typedef struct {
    char code[8];          /* AFRICAN, APG, EEG, GRULAC, WEOG */
    const char *name;      /* e.g. "Asia-Pacific States" */
    uint16_t ncountries;   /* Member States in the group */
} tam_group_t;

typedef enum {
    TAM_AREA_REGION = 1,
    TAM_AREA_SUBREGION = 2,
    TAM_AREA_INTERMEDIATE = 3,
} tam_area_kind_t;

/* An M49 region, sub-region or intermediate region (areas.csv). */
typedef struct {
    uint16_t m49;
    const char *name;
    tam_area_kind_t kind;
} tam_area_t;

/* One of the four categories of standards and norms (categories.csv). */
typedef struct {
    char code;             /* 'A'..'D' */
    const char *title;
} tam_category_t;

/* One standard or norm (standards.csv). Ids are stable once data uses them. */
typedef struct {
    const char *id;        /* e.g. "A-SMR" */
    char category;         /* its category's code */
    const char *short_name;
    const char *title;
    const char *adopted_by; /* descriptive only, never a key */
    uint16_t year;
    uint32_t dac_code;     /* suggested DAC purpose code, present in the catalogue */
} tam_standard_t;

/* A kind of technical assistance (modalities.csv). */
typedef struct {
    const char *code;      /* e.g. "training" */
    const char *title;
} tam_modality_t;

/* An OECD DAC CRS purpose code (dac_purpose_codes.csv). */
typedef struct {
    uint32_t code;         /* 5 digits, e.g. 15130 */
    const char *name;
    bool active;
    uint16_t category;     /* 3-digit DAC category, e.g. 151 */
    const char *category_name;
} tam_dac_t;

/* A DAC CRS channel code of a UN entity (crs_channels.csv). */
typedef struct {
    uint32_t code;         /* e.g. 41128 UNODC */
    const char *iati_org_id; /* by the XM-DAC-<code> convention unless noted in the file */
    const char *name;
    bool active;
    uint32_t category;     /* channel category, e.g. 41100 */
} tam_channel_t;

/* Loads every file of the catalogue in dir and checks each row: codes well
 * formed and unique, numbers in range, text valid UTF-8, and references
 * resolved (a country's group and M49 areas, a standard's category and DAC
 * code). On error *out is NULL and err holds one line naming the file, line
 * and column, e.g. "config/catalog/countries.csv:12: column 5 \"group\":
 * unknown regional group \"XYZ\"".
 * Returns 0; TAM_ECONFIG (malformed or inconsistent data); TAM_EIO (a file
 * cannot be opened or read); TAM_ENOMEM; TAM_EINVAL (NULL argument). */
int tam_catalog_load(tam_catalog_t **out, const char *dir, char *err, size_t errlen);

/* Frees the catalogue; *cat becomes NULL. Accepts NULL and *cat == NULL. */
void tam_catalog_destroy(tam_catalog_t **cat);

/* Lookups: the entry with that code, or NULL if unknown (or cat/code NULL). */
const tam_country_t *tam_catalog_country(const tam_catalog_t *cat, const char *iso3);
const tam_group_t *tam_catalog_group(const tam_catalog_t *cat, const char *code);
const tam_area_t *tam_catalog_area(const tam_catalog_t *cat, uint16_t m49);
const tam_category_t *tam_catalog_category(const tam_catalog_t *cat, char code);
const tam_standard_t *tam_catalog_standard(const tam_catalog_t *cat, const char *id);
const tam_modality_t *tam_catalog_modality(const tam_catalog_t *cat, const char *code);
const tam_dac_t *tam_catalog_dac(const tam_catalog_t *cat, uint32_t code);
const tam_channel_t *tam_catalog_channel(const tam_catalog_t *cat, uint32_t code);

/* Counts (0 for a NULL cat) and entries in file order (NULL past the end). */
size_t tam_catalog_ncountries(const tam_catalog_t *cat);
size_t tam_catalog_ngroups(const tam_catalog_t *cat);
size_t tam_catalog_nareas(const tam_catalog_t *cat);
size_t tam_catalog_ncategories(const tam_catalog_t *cat);
size_t tam_catalog_nstandards(const tam_catalog_t *cat);
size_t tam_catalog_nmodalities(const tam_catalog_t *cat);
size_t tam_catalog_ndac(const tam_catalog_t *cat);
size_t tam_catalog_nchannels(const tam_catalog_t *cat);
const tam_country_t *tam_catalog_country_at(const tam_catalog_t *cat, size_t i);
const tam_group_t *tam_catalog_group_at(const tam_catalog_t *cat, size_t i);
const tam_area_t *tam_catalog_area_at(const tam_catalog_t *cat, size_t i);
const tam_category_t *tam_catalog_category_at(const tam_catalog_t *cat, size_t i);
const tam_standard_t *tam_catalog_standard_at(const tam_catalog_t *cat, size_t i);
const tam_modality_t *tam_catalog_modality_at(const tam_catalog_t *cat, size_t i);
const tam_dac_t *tam_catalog_dac_at(const tam_catalog_t *cat, size_t i);
const tam_channel_t *tam_catalog_channel_at(const tam_catalog_t *cat, size_t i);

/* True if the country lies in the M49 area: its region, sub-region or
 * intermediate region is m49_area. False for a NULL country or area 0. */
bool tam_catalog_country_in_area(const tam_country_t *country, uint16_t m49_area);

/* Puts the standards of a category, in file order, into out[0..max) and
 * returns how many the category has (which may exceed max: call with max 0
 * to count). 0 for an unknown category. */
size_t tam_catalog_standards_of(const tam_catalog_t *cat, char category,
                                const tam_standard_t **out, size_t max);

#ifdef __cplusplus
}
#endif
#endif

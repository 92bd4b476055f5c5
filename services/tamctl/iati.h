/* iati.h — what the IATI import (iati_import.c) takes from iati_xml.c: safe
 * reading of an IATI file and the DAC sector mapping table. docs/iati.md. */
#ifndef TAMCTL_IATI_H
#define TAMCTL_IATI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>
#include <libxml/tree.h>

/* The namespace of tamatch's extension elements (tm:project, tm:share,
 * tm:earmarks) and attribute (participating-org/@tm:donor): docs/iati.md. */
#define IATI_TM_NS "urn:tamatch:iati:1"

/* Largest file an import reads; larger ones are refused before reading. */
#define IATI_FILE_MAX (32 << 20)

/* Reads and parses path: refused (NULL, after printing "PATH[:LINE]: why")
 * if larger than IATI_FILE_MAX, holding a DOCTYPE or ENTITY declaration, or
 * not well-formed. Never touches the network or any other file. */
xmlDocPtr iati_read(const char *path);

/* One row of config/catalog/iati_sectors.csv: which standards a DAC sector
 * code (vocabulary 1: 5-digit purpose code, 2: 3-digit category) funds;
 * standards "*" is every standard. */
typedef struct {
    int vocabulary;
    char code[8];
    char standards[600]; /* "A-SMR;A-BPTP" or "*" */
} iati_sector_t;

#define IATI_SECTORS_MAX 256
typedef struct {
    iati_sector_t v[IATI_SECTORS_MAX];
    size_t n;
} iati_sectors_t;

/* Loads DIR/iati_sectors.csv; 0 or EX_CONFIG after printing why. */
int iati_sectors_load(iati_sectors_t *m, const char *dir);
const iati_sector_t *iati_sector(const iati_sectors_t *m, int vocabulary, const char *code);

/* One row of config/catalog/iati_regions.csv: a region code of a
 * recipient-region vocabulary (1: OECD DAC) that equals an M49 area. */
typedef struct {
    int vocabulary;
    char code[8];
    int m49;
} iati_region_t;

#define IATI_REGIONS_MAX 64
typedef struct {
    iati_region_t v[IATI_REGIONS_MAX];
    size_t n;
} iati_regions_t;

/* Loads DIR/iati_regions.csv; 0 or EX_CONFIG after printing why. */
int iati_regions_load(iati_regions_t *m, const char *dir);
const iati_region_t *iati_region(const iati_regions_t *m, int vocabulary, const char *code);

/* One exchange rate of [iati] usd_rates_file: one unit of currency in USD
 * (millionths) for values whose @value-date is date. */
typedef struct {
    char currency[4];
    uint32_t date;
    int64_t usd_micro;
    char rate[24]; /* as written in the file */
} iati_rate_t;

#define IATI_RATES_MAX 512
typedef struct {
    iati_rate_t v[IATI_RATES_MAX];
    size_t n;
    char path[512];
} iati_rates_t;

/* Loads the rates file path ("" or NULL: none, only USD is imported); 0 or
 * EX_CONFIG after printing why. */
int iati_rates_load(iati_rates_t *r, const char *path);
/* The rate for currency on date, or NULL. */
const iati_rate_t *iati_rate(const iati_rates_t *r, const char *currency, uint32_t date);

/* An xsd:decimal (sign, digits, at most 6 decimals, |v| <= 10^12) in
 * millionths: 0, or -1 if it is not one. */
int iati_decimal(const char *s, int64_t *micro);
/* Millionths to whole units, half away from zero. */
int64_t iati_round_micro(int64_t micro);
/* micro units of rate's currency in whole USD (half away from zero): 0, or
 * -1 beyond 10^12 USD. */
int iati_convert(const iati_rate_t *rate, int64_t micro, int64_t *usd);

/* `tamctl project import --iati [--dry-run] FILE.xml...` (iati_import.c):
 * files are argv[0..argc). Returns a sysexits code. */
struct tamctl;
int tamctl_iati_import(struct tamctl *t, int argc, char **argv, bool dry);

#endif

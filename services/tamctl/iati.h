/* iati.h — what the IATI import (iati_import.c) takes from iati_xml.c: safe
 * reading of an IATI file and the DAC sector mapping table. docs/iati.md. */
#ifndef TAMCTL_IATI_H
#define TAMCTL_IATI_H
#include <stdbool.h>
#include <stddef.h>
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

/* `tamctl project import --iati [--dry-run] FILE.xml...` (iati_import.c):
 * files are argv[0..argc). Returns a sysexits code. */
struct tamctl;
int tamctl_iati_import(struct tamctl *t, int argc, char **argv, bool dry);

#endif

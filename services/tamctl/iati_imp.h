/* iati_imp.h — what the two halves of `tamctl project import --iati` share:
 * iati_import.c (files, activities, the command) and iati_donors.c (XML
 * helpers, funders as donors, their shares, tamatch's extension). */
#ifndef TAMCTL_IATI_IMP_H
#define TAMCTL_IATI_IMP_H
#include <libxml/tree.h>
#include "iati.h"
#include "regctl.h"

#define S_MAX_FUNDERS 20
#define S_MAX_TX 1000

typedef struct {
    tamctl_t *t;
    tam_arena_t *a;
    const tam_catalog_t *cat;
    iati_sectors_t sectors;
    iati_regions_t regions;       /* DAC regions that equal an M49 area */
    iati_rates_t *rates;          /* [iati] usd_rates_file */
    size_t converted;             /* amounts converted to USD at those rates */
    tam_donor_list_t donors;      /* the registry's */
    tam_project_list_t projects;  /* the registry's */
    regctl_batch_t donor_b, add_b, upd_b, ledger_b, close_b;
    char new_donors[64][33];      /* donors created by this import */
    size_t n_new_donors;
    bool dry;
    size_t activities, added, updated, refused, entries;
    const char *file;
    int problems;                 /* of the current activity */
} iati_imp_t;

typedef struct {
    const char *ref, *name, *type, *tm_donor; /* tm_donor: @tm:donor, the donor id it was exported from */
    xmlNodePtr node;
    const char *donor;            /* resolved donor id */
    int64_t in, pledged;          /* incoming funds and commitments it provided */
} iati_funder_t;

/* Prints "FILE:LINE: XPATH: message" for node n and counts the problem. */
void iati_problem(iati_imp_t *x, xmlNodePtr n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *iati_dup(tam_arena_t *a, const char *s);
/* An IATI element (no namespace) / an element of tamatch's namespace named name. */
bool iati_is(xmlNodePtr n, const char *name);
bool iati_is_tm(xmlNodePtr n, const char *name);
/* An attribute's value, the first child element named name, the trimmed
 * text of n's first narrative (or of n): in the arena, NULL if none. */
char *iati_attr(iati_imp_t *x, xmlNodePtr n, const char *name);
xmlNodePtr iati_child(xmlNodePtr n, const char *name);
char *iati_text(iati_imp_t *x, xmlNodePtr n);
/* 2 to 32 letters, digits, '-', '_': a donor or project id. */
bool iati_id_ok(const char *s);
/* Appends s to l unless it is there. */
void iati_add_str(iati_imp_t *x, tam_strs_t *l, const char *s);
/* The donor id of a funding organisation (created in x->donor_b if new);
 * NULL after a problem. */
const char *iati_resolve_donor(iati_imp_t *x, iati_funder_t *f);
/* Donors' shares from the incoming transactions' providers. */
void iati_shares(iati_imp_t *x, iati_funder_t *fv, int nf, tam_project_t *p, xmlNodePtr act);
/* Shares and earmarks from tamatch's extension element tm:project. */
void iati_extension(iati_imp_t *x, xmlNodePtr ext, iati_funder_t *fv, int nf, tam_project_t *p);

#endif

/* iati_write.h — the IATI 2.03 writer shared by `tamctl export iati` and
 * tam-gateway's GET /v1/iati/activities.xml (docs/iati.md): the same state
 * gives the same bytes, whoever asks. It reads the services through the
 * caller's call function, so each caller keeps its own clients and identity. */
#ifndef TAM_IATI_WRITE_H
#define TAM_IATI_WRITE_H
#include <stddef.h>
#include <libxml/tree.h>
#include "tam/codec.h"
#include "tam/catalog.h"

/* The namespace of tamatch's extension elements (tm:project, tm:share,
 * tm:earmarks) and attribute (participating-org/@tm:donor). */
#define TAM_IATI_TM_NS "urn:tamatch:iati:1"

/* Sends message msg_id (TAM_MSG_*) with request req to service ("registry",
 * "pipeline", "ingest") and decodes the answer into out (the message's
 * answer struct) in arena a. Returns 0, or a nonzero code of the caller's
 * (passed back by tam_iati_export). */
typedef int (*tam_iati_call_fn)(void *arg, const char *service, int msg_id, const void *req,
                                tam_arena_t *a, void *out);

typedef struct {
    tam_iati_call_fn call;
    void *arg;
    const tam_catalog_t *cat;   /* required: ISO alpha-2 codes, area and DAC names */
    const char *org, *org_name; /* the reporting organisation: XM-DAC-41128, its name */
    const char *project;        /* NULL: every project, in id order */
    /* Optional: after each activity (arg is the call's). */
    void (*progress)(void *arg, size_t done, size_t total);
} tam_iati_export_t;

#define TAM_IATI_EWRITE (-1)   /* the XML writer failed (out of memory) */
#define TAM_IATI_EEMPTY (-2)   /* no project to export */
#define TAM_IATI_ETOOMANY (-3) /* a project with more than 10,000 decisions */
#define TAM_IATI_EDATA (-4)    /* a country without an ISO alpha-2 code in the catalogue */

/* Writes one iati-activities document (version 2.03) into buf; the number of
 * activities in *nactivities (may be NULL). Returns 0, a TAM_IATI_E* code,
 * or the first nonzero code of o->call (nothing useful is in buf then). */
int tam_iati_export(const tam_iati_export_t *o, xmlBufferPtr buf, size_t *nactivities);
/* What a negative code of tam_iati_export means. */
const char *tam_iati_strerror(int rc);

#endif

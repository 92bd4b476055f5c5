/* regctl.h — what the registry's tamctl commands (donor.c, project.c,
 * project_csv.c, ledger.c, context.c) share: JSON record files, sending many
 * records pipelined with stable request ids, progress and summaries, fetching
 * every page of a listing, and the catalogue for readable output. */
#ifndef TAMCTL_REGCTL_H
#define TAMCTL_REGCTL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "tam/catalog.h"
#include "out.h"
#include "tamctl.h"

/* ---- record files ------------------------------------------------------------ */

/* A JSON file holding one record (an object) or many (an array of objects). */
typedef struct {
    const char *path;
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    const msgpack_object *items; /* the records */
    uint32_t n;
    bool array;                  /* the file held an array */
} regctl_doc_t;

/* Reads and parses path. Prints "PATH: why" on failure.
 * Returns 0; EX_NOINPUT (cannot read); EX_DATAERR (not JSON, not an object or
 * an array of objects, too large). */
int regctl_doc_load(regctl_doc_t *d, const char *path);
void regctl_doc_free(regctl_doc_t *d);

/* "PATH" for a single-record file, "PATH[i]" for an element of an array. */
void regctl_doc_where(const regctl_doc_t *d, uint32_t i, char *buf, size_t cap);

/* Decodes record i of d with schema s into out (from a), printing every
 * problem of the record, each as "WHERE:FIELD: message", not only the first.
 * Returns 0; EX_DATAERR (problems printed); EX_OSERR. */
int regctl_doc_decode(const regctl_doc_t *d, uint32_t i, const tam_schema_t *s, tam_arena_t *a,
                      void *out);

/* Reads a whole file (at most 64 MiB) into a malloc'd NUL-terminated buffer.
 * Returns 0; EX_NOINPUT; EX_DATAERR (too large) after printing why. */
int regctl_read_file(const char *path, char **text, size_t *len);

/* ---- sending many records ------------------------------------------------------ */

/* One request of a batch. The caller fills body (malloc'd msgpack, freed by
 * regctl_batch_free), where and, if it wants a stable idempotency key, id
 * (else a random one is drawn). The batch fills the outcome. */
typedef struct {
    uint8_t *body;
    size_t len;
    char id[TAM_RPC_ID_MAX + 1];
    char where[160];
    /* outcome */
    bool done;
    int status;            /* TAM_RPC_OK / TAM_RPC_ERROR, or -1: no answer */
    uint8_t *answer;       /* ok: the answer body (malloc'd) */
    size_t answer_len;
    tam_rpc_error_t error; /* error answer */
} regctl_item_t;

typedef struct {
    regctl_item_t *v;
    size_t n, cap;
    bool dry; /* regctl_batch_raw(_set) add dry_run true: validate only, nothing stored */
} regctl_batch_t;

/* Appends an empty item and returns it (NULL on OOM). */
regctl_item_t *regctl_batch_add(regctl_batch_t *b);
void regctl_batch_free(regctl_batch_t *b);

/* Encodes obj with the request schema of msg_id into a new item.
 * Returns 0, or EX_DATAERR after printing "WHERE:FIELD: why". */
int regctl_batch_encode(regctl_batch_t *b, int msg_id, const void *obj, const char *where,
                        const char *id);

/* Adds record i of d as it was read (regctl_batch_raw), with key set to value
 * in it when key is not NULL (replacing the file's own). Returns 0 or EX_OSERR. */
int regctl_batch_raw_set(regctl_batch_t *b, const regctl_doc_t *d, uint32_t i, const char *key,
                         int64_t value);

/* Sends every item to the registry, up to 32 in flight so that the service
 * commits them in groups, and waits for every answer; a request that times
 * out is resent with the same id (the registry applies it once). Error
 * answers are printed as "WHERE:FIELD: message". Shows progress on a
 * terminal (label: what is being done) unless -q.
 * Returns 0 when every item got an answer (ok or error); EX_UNAVAILABLE or
 * EX_TEMPFAIL when the registry could not be reached (items left without
 * an answer have status -1). */
int regctl_batch_send(tamctl_t *t, int msg_id, regctl_batch_t *b, const char *label);

/* Adds record i of d as it is in the file (no local check): the registry
 * answers with every problem of the record, codec and semantic, in one
 * list. Returns 0; EX_OSERR. */
int regctl_batch_raw(regctl_batch_t *b, const regctl_doc_t *d, uint32_t i);

/* An id derived from what a record says and where it stands (FNV-1a of the
 * encoded body, and its index): resending the same file gets the same ids,
 * so a repeated import applies nothing twice. */
void regctl_stable_id(char out[TAM_RPC_ID_MAX + 1], const char *prefix, const void *body,
                      size_t len, size_t index);

/* ---- output ------------------------------------------------------------------------- */

/* Progress on stderr ("\rLABEL: done/total"), only on a terminal and not -q;
 * at most every 100 ms; done == total ends the line. */
void regctl_progress(const tamctl_t *t, const char *label, size_t done, size_t total);

/* The catalogue from [common] catalog_dir, loaded on first use; NULL (after
 * one warning) if it cannot be loaded: output then shows codes only. */
const tam_catalog_t *regctl_catalog(tamctl_t *t);

/* Calls a listing (registry.donors / registry.projects) page by page until
 * its end. req is the request struct whose "after" field is set through
 * set_after before each page; every item of every page is decoded into list
 * (the answer struct of the last page, with all items merged) from a. With
 * raw, the items are also returned as one msgpack array (malloc'd), for
 * --json. Returns 0 or a sysexits code (errors printed). */
int regctl_list_all(tamctl_t *t, int msg_id, void *req, void (*set_after)(void *req, char *after),
                    tam_arena_t *a, tam_vec_t *items, size_t item_size, uint8_t **raw,
                    size_t *raw_len);

/* Prints msgpack bytes as JSON (as tamctl_print_json). */
void regctl_print_json(const void *body, size_t len);

/* Formats a date (yyyymmdd) as YYYY-MM-DD, "-" for 0. */
const char *regctl_date(uint32_t d, char buf[11]);

/* Joins a string list with sep into buf (cut with "..." if too long). */
const char *regctl_join(const tam_strs_t *l, const char *sep, char *buf, size_t cap);

/* ---- shared by the command files ------------------------------------------------ */

/* Every project matching q (q->after and q->limit are set here). */
int regctl_all_projects(tamctl_t *t, tam_project_query_t *q, tam_arena_t *a,
                        tam_project_list_t *out, uint8_t **raw, size_t *raw_len);

/* Prints how a batch of project_add / project_update requests went (before:
 * the projects before an update, to tell changed from unchanged) and returns
 * EX_DATAERR if any was refused (refused_local: refused before sending). */
int regctl_project_summary(tamctl_t *t, bool update, const tam_project_list_t *before,
                           const regctl_batch_t *b, size_t refused_local, tam_arena_t *a);

/* Prints a ledger as a table, CSV or JSON (out.h); returns 0 or EX_OSERR. */
int regctl_ledger_out(const tam_ledger_list_t *l, tamctl_fmt_t fmt);

#endif

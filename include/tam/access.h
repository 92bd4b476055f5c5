/* tam/access.h — THE role matrix: which roles may send which message type,
 * and read which service's feed. One table (services/common/access.c),
 * enforced in one place (the service loop, tam/service.h, before any
 * handler runs; the feeds in the ZAP handler, tam/sec.h), and printed into
 * docs/security.md (a unit test checks that the document matches).
 *
 * Adding a message type: add one row to s_rules in access.c with the roles
 * that may send it (TAM_ROLE_ADMIN always may), then regenerate the table in
 * docs/security.md (`tam-config --roles`). A type with no row is refused to
 * everyone but admin (default deny).
 *
 * Business checks that depend on the body stay with the service, driven by
 * the principal: a respondent submits and reads only its own respondent id;
 * pipeline.act looks up its act's row ("pipeline.act/commit") here.
 */
#ifndef TAM_ACCESS_H
#define TAM_ACCESS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "tam/principal.h"
#include "tam/rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *type;  /* message type, or "type/sub" for a part of one (pipeline.act/commit) */
    uint32_t roles;    /* TAM_ROLE_* that may send it (admin always may) */
    const char *note;  /* what else is checked, for the document; may be NULL */
} tam_access_rule_t;

typedef struct {
    const char *service; /* the key name the feed is served with: ingest, registry, ... */
    const char *feed;    /* what it carries */
    uint32_t roles;
} tam_access_feed_t;

/* The tables, for tests and the document. */
const tam_access_rule_t *tam_access_rules(size_t *n);
const tam_access_feed_t *tam_access_feeds(size_t *n);

/* The roles that may send type (or "type/sub"); 0 if the table has no row. */
uint32_t tam_access_roles(const char *type);

/* THE check: may p send type (sub: NULL, or the part of it, e.g. an act)?
 * Returns 0; TAM_EDENIED with err (if not NULL) set: code denied, field
 * (NULL = "") and a message naming the principal, its roles and the roles
 * the type needs. */
int tam_access_check(const tam_principal_t *p, const char *type, const char *sub,
                     const char *field, tam_rpc_error_t *err);

/* May a key with roles read the feed of the service whose key is named
 * service? An unknown service: admin and service only. */
bool tam_access_may_read_feed(const char *service, uint32_t roles);

/* Writes the matrix as the Markdown tables of docs/security.md. */
void tam_access_write_markdown(FILE *f);

#ifdef __cplusplus
}
#endif
#endif

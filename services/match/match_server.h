/* match_server.h — tam-match as a service: the loop, its feeds and the
 * runner (match_server.c). */
#ifndef TAM_MATCH_SERVER_H
#define TAM_MATCH_SERVER_H
#include "tam/config.h"
#include "match.h"

typedef struct tam_match_server tam_match_server_t;

/* Loads the catalogue ([common] catalog_dir), converts the [match] weights,
 * binds the feed server ([match] feed and snapshot; the directory of an
 * ipc:// endpoint is created if missing) and connects the feed clients to
 * the ingest, registry and pipeline feeds. cfg must outlive the server.
 * Returns 0; TAM_ECONFIG (weights, catalogue; logged); TAM_EIO; the feed
 * server's and clients' errors; TAM_ENOMEM. */
int tam_match_server_new(tam_match_server_t **out, const tam_config_t *cfg, void *zctx);

/* Serves [match] endpoint, follows the feeds and re-ranks until
 * SIGTERM/SIGINT. Returns 0 on such a stop, or the loop's error. */
int tam_match_server_run(tam_match_server_t *s);

/* Closes everything; *s becomes NULL. Accepts NULL. */
void tam_match_server_destroy(tam_match_server_t **s);

#endif

/* service_int.h — what service.c and service_write.c share (not public).
 * Names follow the libuv convention: tam__ = internal, non-static. */
#ifndef TAM_SERVICE_INT_H
#define TAM_SERVICE_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/service.h"

enum { K_DONE = 0, K_READ, K_WRITE, K_STATS, K_CATALOG, K_LATER }; /* K_DONE: answer already
                                                                   * decided; K_LATER: the
                                                                   * service answers later */

typedef struct {
    const tam_service_def_t *def;
    void *arg;
    const char *name;
    tam_rpc_server_t *srv;
    unsigned batch_max;
    size_t n;              /* requests in the batch */
    tam_rpc_req_t **reqs;
    tam_answer_t *ans;
    unsigned char *kind;
    void **stored;         /* write answers as stored (new or duplicate) */
    size_t *stored_len;
    bool *dup;
    size_t lo, hi, cur;    /* the writes of the current tam_store_write; the one in hand */
    bool nested;           /* this batch runs each write in a nested txn */
    bool rerun;            /* a flat write failed after writing: rerun nested */
    size_t batch_bytes;    /* request body bytes per batch at most */
    int64_t now;           /* wall clock (ms) of the batch in hand: answer ages */
    int64_t retention;     /* ms stored answers are kept */
    int64_t prune_due;     /* wall clock of the next prune */
    tam_service_stats_t st;
} tam__svc_t;

/* Makes sure a failed request carries an error answer (code rc; what, or
 * rc's text, as its message). */
void tam__service_error_from(tam_answer_t *a, int rc, const char *what);

/* Runs the writes of the batch (nw of them) in group transactions: each
 * answer is stored with its request id, a duplicate gets the stored answer,
 * a failed request alone is undone. Returns 0, or TAM_EFATAL. */
int tam__service_writes(tam__svc_t *v, size_t nw);

#endif

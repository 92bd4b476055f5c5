/* match_aside.h — match.whatif and match.advise answered beside the service
 * loop (issue 15): the loop thread copies the engine while no run changes it
 * (tens of ms at 20k x 500), and a thread of their own evaluates the
 * scenario or the advice on that copy and makes the answer, while the loop
 * goes on answering other queries and applying feed records. One request at
 * a time, in the order they came; every function is called from the loop
 * thread. */
#ifndef TAM_MATCH_ASIDE_H
#define TAM_MATCH_ASIDE_H
#include <stdbool.h>
#include "tam/rpc.h"
#include "match.h"

#define TAM_MATCH_ASIDE_QUEUE 16 /* requests waiting at most; more are refused (busy) */

typedef struct tam_match_aside tam_match_aside_t;

/* Returns 0; TAM_ENOMEM; TAM_EIO. */
int tam_match_aside_new(tam_match_aside_t **out);
/* Stops the request being evaluated (its run stops at its next check),
 * waits for it and frees the requests still queued, unanswered. */
void tam_match_aside_destroy(tam_match_aside_t **a);

/* Queues req (taken). Returns 0; TAM_ETOOBIG (the queue is full: req is not
 * taken). */
int tam_match_aside_push(tam_match_aside_t *a, tam_rpc_req_t *req);
/* Starts the first queued request on a copy of m, when none is being
 * evaluated. m must not change while this runs (no run being computed); a
 * request that cannot start (no run yet, out of memory) is answered at once.
 * Returns true if one is being evaluated. */
bool tam_match_aside_next(tam_match_aside_t *a, const tam_match_t *m);
/* True while a request is being evaluated or waits. */
bool tam_match_aside_busy(const tam_match_aside_t *a);
bool tam_match_aside_waiting(const tam_match_aside_t *a);
/* A descriptor that becomes readable when the evaluation returned, -1 if
 * none is going on. */
int tam_match_aside_fd(const tam_match_aside_t *a);
/* If the evaluation returned: sends its answer (tam_service_reply) and frees
 * it. Returns true if it did. */
bool tam_match_aside_finish(tam_match_aside_t *a);

#endif

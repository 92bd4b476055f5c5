/* match_worker.h — tam_match_run in a worker thread while the loop thread
 * answers queries (match_worker.c). One worker per engine; every function
 * but the hooks it installs is called from the loop thread. */
#ifndef TAM_MATCH_WORKER_H
#define TAM_MATCH_WORKER_H
#include <stdbool.h>
#include "match.h"

typedef struct tam_match_worker tam_match_worker_t;

/* Creates the worker of m and installs its sync hooks on m. Returns 0;
 * TAM_ENOMEM; TAM_EIO. */
int tam_match_worker_new(tam_match_worker_t **out, tam_match_t *m);
/* Stops a running run (as tam_match_worker_stop), removes the hooks. */
void tam_match_worker_destroy(tam_match_worker_t **w);

/* Starts tam_match_run(m, seqs) in a thread. From now until
 * tam_match_worker_finish, the loop thread reads m only between
 * tam_match_worker_rdlock and _rdunlock and changes nothing in it.
 * Returns 0; TAM_ESTATE (a run is going on); TAM_ENOMEM. */
int tam_match_worker_start(tam_match_worker_t *w, const tam_match_seqs_t *seqs);
/* True between start and finish. */
bool tam_match_worker_busy(const tam_match_worker_t *w);
/* True when the run has returned (finish will not wait). */
bool tam_match_worker_done(const tam_match_worker_t *w);
/* A descriptor that becomes readable when the run has returned. */
int tam_match_worker_fd(const tam_match_worker_t *w);
/* Waits for the run, passes what it published to publish (in order; NULL:
 * drops it) and returns the run's result. TAM_ESTATE if none was started. */
int tam_match_worker_finish(tam_match_worker_t *w, tam_match_publish_fn publish, void *arg);
/* Stops the run at its next check (mid-solve included, within a few
 * pivots or rows), waits for it and drops its publications. Returns the
 * run's result (TAM_ESTATE when it was stopped), 0 if none was going on. */
int tam_match_worker_stop(tam_match_worker_t *w);
/* The longest time the last finished run held the write lock at a stretch
 * (us; readers wait that long at worst), 0 before the first. */
int64_t tam_match_worker_hold_us(const tam_match_worker_t *w);

/* Read access to the engine from the loop thread during a run (waiting
 * readers are let in between rows of a recomputation; during a solve they
 * do not wait). Harmless when no run is going on. */
void tam_match_worker_rdlock(tam_match_worker_t *w);
void tam_match_worker_rdunlock(tam_match_worker_t *w);

#endif

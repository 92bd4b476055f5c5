/* service_write.c — the service loop's writes: one group transaction per
 * batch, a nested transaction per request, the answer stored under its
 * request id in the same transaction (see tam/service.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tam/dedup.h"
#include "tam/error.h"
#include "tam/log.h"
#include "service_int.h"

/* Makes sure a failed request carries an error answer (code rc). */
void tam__service_error_from(tam_answer_t *a, int rc, const char *what)
{
    if (tam_answer_is_error(a))
        return;
    if (rc >= 0)
        rc = TAM_EINTERNAL;
    tam_rpc_error_set(&a->error, rc, "", "%s", what ? what : tam_strerror(rc));
}

/* ---- the writes of a batch ------------------------------------------------------ */

/* "<principal id>\0<message type>\0<request id>": ids are unique per
 * principal, and an id reused for another message type is another request
 * (its stored answer would not fit the type). */
#define S_DEDUP_KEY_MAX (TAM_PRINCIPAL_ID_MAX + TAM_RPC_TYPE_MAX + TAM_RPC_ID_MAX + 3)
static size_t s_dedup_key(const tam_rpc_req_t *req, char *key)
{
    size_t p = strlen(req->principal.id), t = strlen(req->type), i = strlen(req->id);
    memcpy(key, req->principal.id, p);
    key[p] = 0;
    memcpy(key + p + 1, req->type, t);
    key[p + 1 + t] = 0;
    memcpy(key + p + t + 2, req->id, i);
    return p + t + 2 + i;
}

static void s_reset_write(tam__svc_t *v, size_t i)
{
    tam_answer_clear(&v->ans[i]);
    free(v->stored[i]);
    v->stored[i] = NULL;
    v->stored_len[i] = 0;
    v->dup[i] = false;
}

#define S_DRY_RUN 1 /* s_one: a dry run's answer is ready; undo its writes */

/* One write request, inside its nested transaction. */
static int s_one(tam_txn_t *sub, void *arg)
{
    tam__svc_t *v = arg;
    size_t i = v->cur;
    tam_answer_t *a = &v->ans[i];
    int r = v->def->handle(sub, v->reqs[i], a, v->arg);
    if (r < 0)
        return r;
    if (tam_answer_is_error(a))
        return a->error.code;
    if (!a->ok) {
        tam_error("%s: handler gave no answer to %s (type %s)", v->name, v->reqs[i]->id,
                  v->reqs[i]->type);
        return TAM_EINTERNAL;
    }
    if (a->dry_run) {
        /* validated and answered; nothing of it is kept or published */
        for (size_t k = 0; k < a->n_events; k++) {
            free(a->events[k].topic);
            free(a->events[k].body);
        }
        a->n_events = 0;
        return S_DRY_RUN;
    }
    if ((r = tam_rpc_answer_encode(TAM_RPC_OK, a->body, a->len, &v->stored[i], &v->stored_len[i])))
        return r == TAM_EINVAL ? TAM_EINTERNAL : r;
    char key[S_DEDUP_KEY_MAX];
    size_t klen = s_dedup_key(v->reqs[i], key);
    return tam_dedup_put(sub, TAM_SERVICE_REQUESTS_DB, key, klen, v->reqs[i]->id, v->stored[i],
                         v->stored_len[i], v->now);
}

/* The group write: run again from the start if the map grows. */
static int s_write_fn(tam_txn_t *txn, void *arg)
{
    tam__svc_t *v = arg;
    for (size_t i = v->lo; i < v->hi; i++)
        if (v->kind[i] == K_WRITE)
            s_reset_write(v, i);
    for (size_t i = v->lo; i < v->hi; i++) {
        if (v->kind[i] != K_WRITE)
            continue;
        char key[S_DEDUP_KEY_MAX];
        size_t klen = s_dedup_key(v->reqs[i], key);
        tam_val_t val;
        int r = tam_txn_get(txn, TAM_SERVICE_REQUESTS_DB, key, klen, &val);
        if (r == 0) {
            if (!(v->stored[i] = malloc(val.len ? val.len : 1)))
                return TAM_ENOMEM;
            memcpy(v->stored[i], val.data, val.len);
            v->stored_len[i] = val.len;
            v->dup[i] = true;
            if (v->def->duplicate) {
                tam_answer_t *a = &v->ans[i];
                r = v->def->duplicate(txn, v->reqs[i], a, v->arg);
                if (r == TAM_EFATAL)
                    return r;
                if (r < 0 || tam_answer_is_error(a)) {
                    free(v->stored[i]);
                    v->stored[i] = NULL;
                    v->stored_len[i] = 0;
                    tam__service_error_from(a, r, NULL);
                }
            }
            continue;
        }
        if (r != TAM_ENOTFOUND)
            return r;
        if ((r = tam_dedup_check(v->reqs[i]->id, v->now, v->retention))) {
            /* Not stored, and too old to be new: a resend whose answer was
             * pruned. Never applied a second time. */
            tam_rpc_error_set(&v->ans[i].error, r, "envelope.id",
                              r == TAM_EEXPIRED
                                  ? "request id dated more than request_retention ago: its "
                                    "answer, if any, was pruned; not applied (send a new id)"
                                  : "request id dated more than request_retention ahead of the "
                                    "service's clock");
            continue;
        }
        v->cur = i;
        uint64_t w0 = tam_txn_writes(txn);
        r = v->nested ? tam_txn_sub(txn, s_one, v) : s_one(txn, v);
        if (r == 0)
            continue;
        int cond = tam_txn_status(txn);
        if (cond)
            return cond; /* the whole write is aborted (and rerun on map full) */
        if (!v->nested && tam_txn_writes(txn) != w0) {
            /* Failed after writing, or a dry run that wrote, with nothing to
             * undo it alone: abort the group and run it again with one
             * nested txn per request. */
            v->rerun = true;
            return TAM_EINTERNAL;
        }
        if (r == S_DRY_RUN)
            continue; /* its writes undone; answered from ans[i], not stored */
        /* This request failed alone; its writes are undone. */
        free(v->stored[i]);
        v->stored[i] = NULL;
        v->stored_len[i] = 0;
        tam__service_error_from(&v->ans[i], r, NULL);
    }
    return 0;
}

/* Answers every write in [lo, hi) with error rc: nothing of them was stored. */
static void s_fail_writes(tam__svc_t *v, size_t lo, size_t hi, int rc)
{
    char msg[TAM_RPC_MESSAGE_MAX + 1];
    if (rc == TAM_EDISKFULL)
        snprintf(msg, sizeof msg, "storage full; resend later (nothing was written)");
    else
        snprintf(msg, sizeof msg, "the request could not be stored (%s); resend it later",
                 tam_strerror(rc));
    for (size_t i = lo; i < hi; i++)
        if (v->kind[i] == K_WRITE) {
            s_reset_write(v, i);
            tam__service_error_from(&v->ans[i], rc, msg);
        }
}

/* Runs the writes of the batch. Returns 0, or TAM_EFATAL. */
int tam__service_writes(tam__svc_t *v, size_t nw)
{
    v->lo = 0;
    v->hi = v->n;
    v->nested = !v->def->flat_writes;
    v->rerun = false;
    int rc = tam_store_write(v->def->store, s_write_fn, v);
    if (v->rerun) {
        tam_debug("%s: a write failed after writing; the batch runs again, nested", v->name);
        v->nested = true;
        v->rerun = false;
        v->st.reruns++;
        rc = tam_store_write(v->def->store, s_write_fn, v);
    }
    if (rc == TAM_ETOOBIG && nw > 1) {
        /* Too much for one transaction: one transaction per request. */
        tam_warn("%s: batch of %zu writes too large for one transaction, splitting", v->name, nw);
        v->nested = true;
        for (size_t i = 0; i < v->n; i++) {
            if (v->kind[i] != K_WRITE)
                continue;
            v->lo = i;
            v->hi = i + 1;
            rc = tam_store_write(v->def->store, s_write_fn, v);
            if (rc == TAM_EFATAL)
                return rc;
            if (rc) {
                v->st.store_failures++;
                s_fail_writes(v, i, i + 1, rc);
            } else {
                v->st.commits++;
            }
        }
        return 0;
    }
    if (rc == TAM_EFATAL)
        return rc;
    if (rc) {
        tam_error("%s: a group write of %zu request(s) failed: %s", v->name, nw, tam_strerror(rc));
        v->st.store_failures++;
        s_fail_writes(v, 0, v->n, rc);
        return 0;
    }
    v->st.commits++;
    return 0;
}


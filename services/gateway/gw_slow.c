/* gw_slow.c — calls that may take seconds (POST /v1/whatif, GET
 * /v1/projects/{id}/advice: tam-match re-solves for them; an advice at 20k
 * needs x 500 projects takes seconds, docs/whatif.md). The HTTP thread must
 * not wait for them, nor give up after [gateway] timeout: the connection is
 * suspended, the call made in a thread of its own (its own client, timeout
 * GW_SLOW_TIMEOUT_MS), and when it returned the connection is resumed and
 * the route runs again, now taking the answer (gw_call_slow). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include "tam/error.h"
#include "tam/log.h"
#include "gateway.h"

struct gw_slow {
    struct MHD_Connection *conn;
    void *zctx;
    char *endpoint;
    char type[TAM_RPC_TYPE_MAX + 1];
    char who[TAM_PRINCIPAL_ID_MAX + 1];
    void *body;
    size_t len;
    pthread_t th;
    int rc;
    tam_rpc_answer_t ans;
};

/* calls in flight (gw_slow_drain waits for them before the daemon stops) */
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_cv = PTHREAD_COND_INITIALIZER;
static int s_inflight;

static void *s_main(void *arg)
{
    gw_slow_t *j = arg;
    tam_rpc_client_t *c = NULL;
    j->rc = tam_rpc_client_new(&c, j->zctx, j->endpoint, GW_SLOW_TIMEOUT_MS, 0);
    if (j->rc == 0)
        j->rc = tam_rpc_client_on_behalf(c, j->who);
    if (j->rc == 0)
        j->rc = tam_rpc_call(c, j->type, j->body, j->len, &j->ans);
    tam_rpc_client_destroy(&c);
    if (j->rc == TAM_ETIMEOUT || j->rc == TAM_EUNAVAIL)
        tam_notice("gateway: %s: the service did not answer (%s)", j->type, tam_strerror(j->rc));
    pthread_mutex_lock(&s_mu);
    MHD_resume_connection(j->conn); /* the route runs again and takes the answer */
    s_inflight--;
    pthread_cond_broadcast(&s_cv);
    pthread_mutex_unlock(&s_mu);
    return NULL;
}

static void s_free(gw_slow_t *j)
{
    pthread_join(j->th, NULL);
    tam_rpc_answer_clear(&j->ans);
    free(j->endpoint);
    free(j->body);
    free(j);
}

void gw_slow_free(gw_slow_t **slot)
{
    if (slot && *slot) {
        s_free(*slot);
        *slot = NULL;
    }
}

void gw_slow_drain(void)
{
    pthread_mutex_lock(&s_mu);
    while (s_inflight > 0)
        pthread_cond_wait(&s_cv, &s_mu);
    pthread_mutex_unlock(&s_mu);
}

int gw_call_slow(gw_req_t *r, const char *endpoint, void *zctx, const char *type,
                 const void *body, size_t len, tam_rpc_answer_t *ans)
{
    gw_slow_t *j = *r->slow;
    if (j) { /* resumed: the call returned */
        int rc = j->rc;
        *ans = j->ans;
        memset(&j->ans, 0, sizeof j->ans);
        gw_slow_free(r->slow);
        return rc;
    }
    j = calloc(1, sizeof *j);
    if (!j)
        return TAM_ENOMEM;
    j->conn = r->conn;
    j->zctx = zctx;
    j->endpoint = strdup(endpoint);
    j->body = malloc(len ? len : 1);
    snprintf(j->type, sizeof j->type, "%s", type);
    snprintf(j->who, sizeof j->who, "%s", r->who.id);
    if (!j->endpoint || !j->body) {
        free(j->endpoint);
        free(j->body);
        free(j);
        return TAM_ENOMEM;
    }
    if (len)
        memcpy(j->body, body, len);
    j->len = len;
    /* suspended before the thread may resume it */
    pthread_mutex_lock(&s_mu);
    MHD_suspend_connection(r->conn);
    int e = pthread_create(&j->th, NULL, s_main, j);
    if (e == 0)
        s_inflight++;
    else
        MHD_resume_connection(r->conn);
    pthread_mutex_unlock(&s_mu);
    if (e) {
        free(j->endpoint);
        free(j->body);
        free(j);
        return TAM_ENOMEM;
    }
    *r->slow = j;
    return GW_PENDING;
}

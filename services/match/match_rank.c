/* match_rank.c — what a run derives from the needs as a whole, before it
 * scores them: each need's content key (the tie-break of the allocation and
 * of the ranking, never the arrival order) and each need's relative
 * priority (its mid-rank among its respondent's own open needs), so that
 * neither the order in which replies arrived nor a respondent that declares
 * everything top priority changes who gets money (docs/matching.md,
 * "Ties" and "priority"). */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_int.h"

/* Orders need slots by identity, then content digest, then (only between
 * needs equal in every field matching uses) id: the order of content keys. */
static int s_cmp_ident(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    const tam_match_need_t *x = &m->needs[*(const uint32_t *)a],
                           *y = &m->needs[*(const uint32_t *)b];
    if (x->ident != y->ident)
        return x->ident < y->ident ? -1 : 1;
    int c = memcmp(x->digest, y->digest, 32);
    if (c)
        return c;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders need slots by respondent, then declared priority. */
static int s_cmp_resp(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    const tam_match_need_t *x = &m->needs[*(const uint32_t *)a],
                           *y = &m->needs[*(const uint32_t *)b];
    if (x->resp != y->resp)
        return x->resp < y->resp ? -1 : 1;
    return (int)x->priority - (int)y->priority;
}

int32_t tam_match_f_priority_rel(int64_t below, int64_t equal, int64_t total)
{
    if (total <= 1 || equal < 1)
        return TAM_MATCH_ONE / 2;
    /* (below + (equal - 1) / 2) / (total - 1), rounded half up */
    int64_t num = (2 * below + equal - 1) * TAM_MATCH_ONE, den = 2 * (total - 1);
    return (int32_t)((2 * num + den) / (2 * den));
}

int tam_match__keys(tam_match_t *m)
{
    uint32_t *ix = malloc(((size_t)m->nneeds + 1) * sizeof *ix);
    if (!ix)
        return TAM_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->nneeds; i++)
        if (m->needs[i].open)
            ix[n++] = i;
    int rc = 0;
    /* content keys: identity (40 bits), then 24 bits of the need's content
     * digest, so that a key moves only when the need itself changes; keys
     * equal so far (same identity and digest prefix: rare, or needs equal in
     * content) take the next free value, in content order */
    qsort_r(ix, n, sizeof *ix, s_cmp_ident, m);
    uint64_t prev = 0;
    for (uint32_t k = 0; k < n; k++) {
        tam_match_need_t *x = &m->needs[ix[k]];
        uint64_t low = (uint64_t)x->digest[0] << 16 | (uint64_t)x->digest[1] << 8 | x->digest[2];
        uint64_t key = x->ident << 24 | low;
        if (k > 0 && key <= prev)
            key = prev + 1;
        prev = key;
        if (key != x->key) {
            x->key = key;
            if (x->flow != TAM_MATCH_NONE && x->flow_key != key)
                m->rebuild = true; /* the solver knows it by its old key */
            if ((rc = tam_match__dirty_need(m, ix[k])))
                goto out;
        }
    }
    /* relative priorities, per respondent */
    qsort_r(ix, n, sizeof *ix, s_cmp_resp, m);
    for (uint32_t lo = 0; lo < n;) {
        uint32_t hi = lo;
        while (hi < n && m->needs[ix[hi]].resp == m->needs[ix[lo]].resp)
            hi++;
        for (uint32_t a = lo; a < hi;) {
            uint32_t b = a;
            while (b < hi && m->needs[ix[b]].priority == m->needs[ix[a]].priority)
                b++;
            int32_t v = tam_match_f_priority_rel(a - lo, b - a, hi - lo);
            for (uint32_t k = a; k < b; k++) {
                tam_match_need_t *x = &m->needs[ix[k]];
                if (x->prio_v != v) {
                    x->prio_v = (uint16_t)v;
                    if ((rc = tam_match__dirty_need(m, ix[k])))
                        goto out;
                }
            }
            a = b;
        }
        lo = hi;
    }
out:
    free(ix);
    return rc;
}

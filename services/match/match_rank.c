/* match_rank.c — what a run derives from the needs as a whole, before it
 * scores them: each need's content key (the tie-break of the allocation and
 * of the ranking, never the arrival order) and each need's relative
 * priority (its mid-rank among its respondent's own open needs), so that
 * neither the order in which replies arrived nor a respondent that declares
 * everything top priority changes who gets money (docs/matching.md,
 * "Ties" and "priority"). */
#include <stdlib.h>
#include <string.h>
#include "tam/codec.h"
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

/* Orders need slots by cap group. */
static int s_cmp_group(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    uint64_t x = m->needs[*(const uint32_t *)a].group, y = m->needs[*(const uint32_t *)b].group;
    return x < y ? -1 : x > y;
}

/* Days from the run date to the need's start, clamped to [0, horizon]: a
 * window that has started counts as starting now, however long ago. */
static int64_t s_wait(const tam_match_t *m, const tam_match_need_t *n)
{
    int64_t d = tam_date_days(n->start) - tam_date_days(m->run_date);
    return d < 0 ? 0 : (d > m->par.horizon_days ? m->par.horizon_days : d);
}

/* The order of the mid-ranks: declared priority (ascending), or wait (later
 * first). */
static int64_t s_val_prio(const tam_match_t *m, const tam_match_need_t *n)
{
    (void)m;
    return n->priority;
}

static int64_t s_val_wait(const tam_match_t *m, const tam_match_need_t *n)
{
    return -s_wait(m, n);
}

/* A need's place in the mid-rank order, computed once per run (the sort
 * compares plain values: it was 9% of a run that re-solves nothing). */
typedef struct {
    uint64_t resp;
    int64_t v;
    uint32_t slot;
} s_rank_t;

static int s_cmp_rank(const void *a, const void *b)
{
    const s_rank_t *x = a, *y = b;
    if (x->resp != y->resp)
        return x->resp < y->resp ? -1 : 1;
    return x->v < y->v ? -1 : x->v > y->v;
}

/* Mid-ranks within each respondent's needs of ix, ordered by val: needs
 * with equal values share one value; writes them with set, which returns
 * true if the need's value moved (then it is marked dirty). */
static int s_midranks(tam_match_t *m, const uint32_t *ix, uint32_t n, s_rank_t *r,
                      int64_t (*val)(const tam_match_t *, const tam_match_need_t *),
                      bool (*set)(tam_match_need_t *, int32_t))
{
    for (uint32_t k = 0; k < n; k++) {
        const tam_match_need_t *x = &m->needs[ix[k]];
        r[k] = (s_rank_t){x->resp, val(m, x), ix[k]};
    }
    qsort(r, n, sizeof *r, s_cmp_rank);
    int rc = 0;
    for (uint32_t lo = 0; lo < n;) {
        uint32_t hi = lo;
        while (hi < n && r[hi].resp == r[lo].resp)
            hi++;
        for (uint32_t a = lo; a < hi;) {
            uint32_t b = a;
            while (b < hi && r[b].v == r[a].v)
                b++;
            int32_t v = tam_match_f_priority_rel(a - lo, b - a, hi - lo);
            for (uint32_t k = a; k < b; k++)
                if (set(&m->needs[r[k].slot], v) && (rc = tam_match__dirty_need(m, r[k].slot)))
                    return rc;
            a = b;
        }
        lo = hi;
    }
    return 0;
}

static bool s_set_prio(tam_match_need_t *x, int32_t v)
{
    if (x->prio_v == v)
        return false;
    x->prio_v = (uint16_t)v;
    return true;
}

static bool s_set_urg(tam_match_need_t *x, int32_t v)
{
    if (x->urg_v == v)
        return false;
    x->urg_v = (uint16_t)v;
    return true;
}

int32_t tam_match_f_priority_rel(int64_t below, int64_t equal, int64_t total)
{
    if (total <= 1 || equal < 1)
        return TAM_MATCH_ONE / 2;
    /* (below + (equal - 1) / 2) / (total - 1), rounded half up to a multiple
     * of TAM_MATCH_REL_STEP: one more need of a respondent then moves the
     * values of only some of its other needs (a run re-solves less), and the
     * values stay symmetric around 1/2 */
    int64_t num = (2 * below + equal - 1) * (TAM_MATCH_ONE / TAM_MATCH_REL_STEP),
            den = 2 * (total - 1);
    return (int32_t)((2 * num + den) / (2 * den) * TAM_MATCH_REL_STEP);
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
    /* shares of per-need caps within a cap group (a need split in parts
     * shares one cap) */
    qsort_r(ix, n, sizeof *ix, s_cmp_group, m);
    for (uint32_t lo = 0; lo < n;) {
        uint32_t hi = lo;
        int64_t sum = 0;
        while (hi < n && m->needs[ix[hi]].group == m->needs[ix[lo]].group)
            sum += m->needs[ix[hi++]].cost;
        for (uint32_t k = lo; k < hi; k++) {
            tam_match_need_t *x = &m->needs[ix[k]];
            if (x->gnum != x->cost || x->gden != sum) {
                bool was_full = x->gden == 0 || x->gnum >= x->gden, full = x->cost >= sum;
                x->gnum = x->cost;
                x->gden = sum;
                if ((rc = tam_match__dirty_need(m, ix[k])) ||
                    (!(was_full && full) && (rc = tam_match__push_caps(m, ix[k]))))
                    goto out; /* its caps in the solver change */
            }
        }
        lo = hi;
    }
    /* relative priority and urgency, per respondent */
    s_rank_t *r = malloc(((size_t)n + 1) * sizeof *r);
    if (!r) {
        rc = TAM_ENOMEM;
        goto out;
    }
    rc = s_midranks(m, ix, n, r, s_val_prio, s_set_prio);
    if (rc == 0)
        rc = s_midranks(m, ix, n, r, s_val_wait, s_set_urg);
    free(r);
    if (rc)
        goto out;
out:
    free(ix);
    return rc;
}

/* ---- explanations ------------------------------------------------------------------ */

size_t tam_match__basis(const tam_match_t *m, const tam_match_need_t *n, tam_arena_t *a,
                        char **out, size_t max)
{
    size_t k = 0;
    char line[301], d1[11], d2[11], u1[32], u2[32];
#define S_LINE(...)                                                                            \
    do {                                                                                       \
        snprintf(line, sizeof line, __VA_ARGS__);                                              \
        if (k < max && (out[k] = tam_arena_strndup(a, line, strlen(line))))                    \
            k++;                                                                               \
    } while (0)
    /* the respondent's open needs: by declared priority, by wait */
    int64_t total = 0, pb = 0, pe = 0, ul = 0, ue = 0, w = s_wait(m, n);
    for (uint32_t i = 0; i < m->nneeds; i++) {
        const tam_match_need_t *x = &m->needs[i];
        if (!x->open || x->resp != n->resp)
            continue;
        total++;
        pb += x->priority < n->priority;
        pe += x->priority == n->priority;
        int64_t wx = s_wait(m, x);
        ul += wx > w;
        ue += wx == w;
    }
    const tam_country_t *c = tam_match__country(m, n->country);
    tam_date_format(m->run_date, d1);
    S_LINE("run date %s; urgency horizon %lld days", d1, (long long)m->par.horizon_days);
    S_LINE("priority: declared %d; used %d.%04d = its mid-rank among the respondent's %lld open "
           "need(s): %lld declared lower, %lld the same (itself included), in steps of 1/20",
           n->priority, n->prio_v / 10000, n->prio_v % 10000, (long long)total, (long long)pb,
           (long long)pe);
    tam_date_format(n->start, d2);
    S_LINE("urgency: declared start %s, %lld day(s) from the run date counted (0..%lld: a start "
           "in the past counts as 0); used %d.%04d = its mid-rank among the respondent's %lld "
           "open need(s): %lld start later, %lld the same (itself included)",
           d2, (long long)w, (long long)m->par.horizon_days, n->urg_v / 10000, n->urg_v % 10000,
           (long long)total, (long long)ul, (long long)ue);
    unsigned cx = (unsigned char)n->category - 'A';
    if (n->answered > 0)
        S_LINE("completeness: declared %d%%; used %d%% = %d of the %d standards of category %c "
               "answered (need or no_need)", n->completeness_declared, n->completeness,
               n->answered, cx < 26 ? m->cat_nstd[cx] : 0, n->category);
    else
        S_LINE("completeness: declared %d%%, used as declared (a record from before tam-ingest "
               "counted the answers)", n->completeness_declared);
    int64_t r = m->country_fixed[n->country] > 0 ? m->country_fixed[n->country] : 0;
    S_LINE("equity: R = %s USD endorsed or committed for %s, S = %s USD: S / (S + R)",
           tam_match__usd(r, u1), c->iso3, tam_match__usd(m->par.equity_scale, u2));
    S_LINE("ldc: %s %s on the UN list of least developed countries (catalogue, "
           "config/catalog/countries.csv)", c->iso3, c->ldc ? "is" : "is not");
    const tam_match_mission_t *mi = &m->missions[n->country];
    if (mi->present && mi->valid_from <= m->run_date) {
        tam_date_format(mi->valid_from, d2);
        S_LINE("context: %s is a mission country (%s, valid from %s; planning context of "
               "tam-registry)", c->iso3, mi->operation, d2);
    } else {
        S_LINE("context: %s is not a mission country on the run date (planning context of "
               "tam-registry)", c->iso3);
    }
#undef S_LINE
    return k;
}

/* money.c — the one money model (tam/money.h). */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/money.h"

typedef struct {
    uint64_t id;
    const char *key;
    size_t i;
} s_idx_t;

static int s_cmp_u64(const void *a, const void *b)
{
    const s_idx_t *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int s_cmp_str(const void *a, const void *b)
{
    const s_idx_t *x = a, *y = b;
    return strcmp(x->key, y->key);
}

/* Pairs in (need, project) order, so that capping is deterministic. */
static int s_cmp_pair(const void *a, const void *b)
{
    const tam_money_pair_t *x = *(tam_money_pair_t *const *)a, *y = *(tam_money_pair_t *const *)b;
    if (x->need != y->need)
        return x->need < y->need ? -1 : 1;
    int c = strcmp(x->project ? x->project : "", y->project ? y->project : "");
    if (c)
        return c;
    return x < y ? -1 : x > y; /* stable for duplicates */
}

static size_t s_find_need(const s_idx_t *v, size_t n, uint64_t id)
{
    s_idx_t k = {.id = id};
    const s_idx_t *r = n ? bsearch(&k, v, n, sizeof *v, s_cmp_u64) : NULL;
    return r ? r->i : TAM_MONEY_NOWHERE;
}

static size_t s_find_project(const s_idx_t *v, size_t n, const char *id)
{
    if (!id)
        return TAM_MONEY_NOWHERE;
    s_idx_t k = {.key = id};
    const s_idx_t *r = n ? bsearch(&k, v, n, sizeof *v, s_cmp_str) : NULL;
    return r ? r->i : TAM_MONEY_NOWHERE;
}

static int64_t s_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int tam_money_compute(tam_money_need_t *needs, size_t nn, tam_money_project_t *projects,
                      size_t np, tam_money_pair_t *pairs, size_t nk, tam_money_totals_t *tot)
{
    s_idx_t *ni = nn ? malloc(nn * sizeof *ni) : NULL;
    s_idx_t *pi = np ? malloc(np * sizeof *pi) : NULL;
    tam_money_pair_t **order = nk ? malloc(nk * sizeof *order) : NULL;
    int64_t *room_n = nn ? calloc(nn, sizeof *room_n) : NULL;
    int64_t *room_p = np ? calloc(np, sizeof *room_p) : NULL;
    int rc = 0;
    if ((nn && (!ni || !room_n)) || (np && (!pi || !room_p)) || (nk && !order)) {
        rc = TAM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nn; i++) {
        ni[i] = (s_idx_t){.id = needs[i].id, .i = i};
        needs[i].requested = needs[i].proposed = needs[i].endorsed = needs[i].committed = 0;
        needs[i].unmet = 0;
    }
    for (size_t i = 0; i < np; i++) {
        pi[i] = (s_idx_t){.key = projects[i].id ? projects[i].id : "", .i = i};
        projects[i].proposed = projects[i].endorsed = projects[i].committed = 0;
    }
    if (nn)
        qsort(ni, nn, sizeof *ni, s_cmp_u64);
    if (np)
        qsort(pi, np, sizeof *pi, s_cmp_str);

    tam_money_totals_t t = {0};
    /* 1. What decisions hold, on needs and on projects. */
    for (size_t k = 0; k < nk; k++) {
        tam_money_pair_t *x = &pairs[k];
        order[k] = x;
        x->ineed = s_find_need(ni, nn, x->need);
        x->iproject = s_find_project(pi, np, x->project);
        x->proposed = 0;
        x->held_endorsed = x->hold == TAM_MONEY_ENDORSED && x->endorsed > 0 ? x->endorsed : 0;
        x->held_committed = x->hold == TAM_MONEY_COMMITTED && x->committed > 0 ? x->committed : 0;
        t.endorsed += x->held_endorsed;
        t.committed += x->held_committed;
        if (x->ineed != TAM_MONEY_NOWHERE) {
            needs[x->ineed].endorsed += x->held_endorsed;
            needs[x->ineed].committed += x->held_committed;
        } else {
            t.requested += x->held_endorsed + x->held_committed; /* as a withdrawn need */
        }
        if (x->iproject != TAM_MONEY_NOWHERE) {
            projects[x->iproject].endorsed += x->held_endorsed;
            projects[x->iproject].committed += x->held_committed;
        }
    }
    /* 2. What is left to propose: on open needs and on projects. */
    for (size_t i = 0; i < nn; i++) {
        tam_money_need_t *n = &needs[i];
        int64_t held = n->endorsed + n->committed;
        int64_t cost = n->cost > 0 ? n->cost : 0;
        n->requested = n->open ? (cost > held ? cost : held) : held;
        room_n[i] = n->open && cost > held ? cost - held : 0;
    }
    for (size_t i = 0; i < np; i++) {
        tam_money_project_t *p = &projects[i];
        p->available = p->received - p->committed - p->endorsed;
        room_p[i] = p->available > 0 ? p->available : 0;
    }
    /* 3. Proposed beyond the fixed amounts, capped by both rooms. */
    if (nk)
        qsort(order, nk, sizeof *order, s_cmp_pair);
    for (size_t k = 0; k < nk; k++) {
        tam_money_pair_t *x = order[k];
        if (x->hold == TAM_MONEY_DECLINED || x->ineed == TAM_MONEY_NOWHERE ||
            x->iproject == TAM_MONEY_NOWHERE || x->amount <= 0)
            continue;
        int64_t fixed = x->held_endorsed + x->held_committed;
        int64_t want = x->amount > fixed ? x->amount - fixed : 0;
        int64_t got = s_min(want, s_min(room_n[x->ineed], room_p[x->iproject]));
        if (got <= 0)
            continue;
        x->proposed = got;
        room_n[x->ineed] -= got;
        room_p[x->iproject] -= got;
        needs[x->ineed].proposed += got;
        projects[x->iproject].proposed += got;
        t.proposed += got;
    }
    /* 4. The identities. */
    for (size_t i = 0; i < nn; i++) {
        tam_money_need_t *n = &needs[i];
        n->unmet = n->requested - n->proposed - n->endorsed - n->committed;
        t.requested += n->requested;
        t.unmet += n->unmet;
    }
    for (size_t i = 0; i < np; i++) {
        tam_money_project_t *p = &projects[i];
        p->unallocated = p->available - p->proposed;
        t.received += p->received;
    }
    t.available = t.received - t.committed - t.endorsed;
    t.unallocated = t.available - t.proposed;
    if (tot)
        *tot = t;
done:
    free(ni);
    free(pi);
    free(order);
    free(room_n);
    free(room_p);
    return rc;
}

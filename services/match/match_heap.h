/* match_heap.h — a binary min-heap of node keys for the Dijkstra passes of
 * match_dual.c and match_range.c (header-only, static: each file includes
 * it once). */
#ifndef TAM_MATCH_HEAP_H
#define TAM_MATCH_HEAP_H
#include <stdint.h>

typedef struct {
    uint32_t to;
    int64_t len; /* reduced length, >= 0 */
} s_edge_t;

typedef struct {
    int64_t *key;
    uint32_t *heap, *pos; /* pos: index in heap + 1, 0: not in it */
    uint32_t n;
} s_heap_t;

static inline void s_swap(s_heap_t *h, uint32_t a, uint32_t b)
{
    uint32_t t = h->heap[a];
    h->heap[a] = h->heap[b];
    h->heap[b] = t;
    h->pos[h->heap[a]] = a + 1;
    h->pos[h->heap[b]] = b + 1;
}

static inline void s_up(s_heap_t *h, uint32_t i)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (h->key[h->heap[p]] <= h->key[h->heap[i]])
            break;
        s_swap(h, i, p);
        i = p;
    }
}

static inline void s_down(s_heap_t *h, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < h->n && h->key[h->heap[l]] < h->key[h->heap[s]])
            s = l;
        if (r < h->n && h->key[h->heap[r]] < h->key[h->heap[s]])
            s = r;
        if (s == i)
            return;
        s_swap(h, i, s);
        i = s;
    }
}

static inline void s_push(s_heap_t *h, uint32_t v, int64_t k)
{
    if (h->pos[v]) {
        if (k < h->key[v]) {
            h->key[v] = k;
            s_up(h, h->pos[v] - 1);
        }
        return;
    }
    h->key[v] = k;
    h->heap[h->n] = v;
    h->pos[v] = ++h->n;
    s_up(h, h->n - 1);
}

static inline uint32_t s_pop(s_heap_t *h)
{
    uint32_t v = h->heap[0];
    h->pos[v] = 0;
    if (--h->n) {
        h->heap[0] = h->heap[h->n];
        h->pos[h->heap[0]] = 1;
        s_down(h, 0);
    }
    return v;
}

#define S_INF INT64_MAX /* no path */

#endif

/* pipeline_map.c — a string-keyed hash map with separate chaining (FNV-1a),
 * enough for the views: thousands to a few hundred thousand entries, one
 * thread. */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "pipeline.h"

typedef struct s_node {
    struct s_node *next;
    uint64_t hash;
    void *val;
    char key[]; /* NUL-terminated */
} s_node_t;

struct tam_pipeline_map {
    s_node_t **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    void (*free_fn)(void *);
};

static uint64_t s_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int tam_pipeline_map_new(tam_pipeline_map_t **out, void (*free_fn)(void *))
{
    *out = NULL;
    tam_pipeline_map_t *m = calloc(1, sizeof *m);
    if (!m)
        return TAM_ENOMEM;
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return TAM_ENOMEM;
    }
    m->free_fn = free_fn;
    *out = m;
    return 0;
}

static void s_free_node(tam_pipeline_map_t *m, s_node_t *n)
{
    if (m->free_fn && n->val)
        m->free_fn(n->val);
    free(n);
}

void tam_pipeline_map_clear(tam_pipeline_map_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        s_node_t *n = m->buckets[i];
        while (n) {
            s_node_t *next = n->next;
            s_free_node(m, n);
            n = next;
        }
        m->buckets[i] = NULL;
    }
    m->count = 0;
}

void tam_pipeline_map_destroy(tam_pipeline_map_t **pm)
{
    if (!pm || !*pm)
        return;
    tam_pipeline_map_clear(*pm);
    free((*pm)->buckets);
    free(*pm);
    *pm = NULL;
}

static s_node_t **s_find(const tam_pipeline_map_t *m, const char *key, uint64_t h)
{
    s_node_t **p = &m->buckets[h & (m->nbuckets - 1)];
    while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
        p = &(*p)->next;
    return p;
}

void *tam_pipeline_map_get(const tam_pipeline_map_t *m, const char *key)
{
    if (!m || !key)
        return NULL;
    s_node_t **p = s_find(m, key, s_hash(key));
    return *p ? (*p)->val : NULL;
}

/* Doubles the bucket array; on OOM the map keeps working, only slower. */
static void s_grow(tam_pipeline_map_t *m)
{
    size_t nb = m->nbuckets * 2;
    s_node_t **b = calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        s_node_t *n = m->buckets[i];
        while (n) {
            s_node_t *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

int tam_pipeline_map_put(tam_pipeline_map_t *m, const char *key, void *val)
{
    uint64_t h = s_hash(key);
    s_node_t **p = s_find(m, key, h);
    if (*p) {
        if (m->free_fn && (*p)->val && (*p)->val != val)
            m->free_fn((*p)->val);
        (*p)->val = val;
        return 0;
    }
    size_t klen = strlen(key);
    s_node_t *n = malloc(sizeof *n + klen + 1);
    if (!n) {
        if (m->free_fn && val)
            m->free_fn(val);
        return TAM_ENOMEM;
    }
    n->next = NULL;
    n->hash = h;
    n->val = val;
    memcpy(n->key, key, klen + 1);
    *p = n;
    m->count++;
    if (m->count > m->nbuckets)
        s_grow(m);
    return 0;
}

int tam_pipeline_map_del(tam_pipeline_map_t *m, const char *key)
{
    s_node_t **p = s_find(m, key, s_hash(key));
    if (!*p)
        return TAM_ENOTFOUND;
    s_node_t *n = *p;
    *p = n->next;
    s_free_node(m, n);
    m->count--;
    return 0;
}

size_t tam_pipeline_map_count(const tam_pipeline_map_t *m)
{
    return m ? m->count : 0;
}

/* *pos encodes bucket index and depth within the chain: bucket * 2^16 would
 * cap chains, so it is (bucket << 20) | depth; chains never reach 2^20 with a
 * load factor of at most 1 (and a few more after a failed grow). */
void *tam_pipeline_map_next(const tam_pipeline_map_t *m, size_t *pos, const char **key)
{
    if (!m)
        return NULL;
    size_t b = *pos >> 20, d = *pos & ((1u << 20) - 1);
    for (; b < m->nbuckets; b++, d = 0) {
        s_node_t *n = m->buckets[b];
        for (size_t i = 0; n && i < d; i++)
            n = n->next;
        if (n) {
            *pos = (b << 20) | (d + 1);
            if (key)
                *key = n->key;
            return n->val;
        }
    }
    *pos = m->nbuckets << 20;
    return NULL;
}

/* match_map.c — a small open-addressing hash map from 64-bit keys to slot
 * numbers, and a string hash. Linear probing, load at most 1/2; an empty
 * bucket holds the value TAM_MATCH_NONE. No deletion: owners rebuild. */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match.h"

static uint64_t s_mix(uint64_t x)
{
    /* splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t tam_match_str_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return s_mix(h ^ n);
}

uint32_t tam_match_map_get(const tam_match_map_t *m, uint64_t key)
{
    if (!m->cap)
        return TAM_MATCH_NONE;
    size_t mask = m->cap - 1;
    for (size_t i = s_mix(key) & mask;; i = (i + 1) & mask) {
        if (m->vals[i] == TAM_MATCH_NONE)
            return TAM_MATCH_NONE;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

static void s_insert(uint64_t *keys, uint32_t *vals, size_t cap, uint64_t key, uint32_t val,
                     size_t *n)
{
    size_t mask = cap - 1;
    for (size_t i = s_mix(key) & mask;; i = (i + 1) & mask) {
        if (vals[i] == TAM_MATCH_NONE) {
            keys[i] = key;
            vals[i] = val;
            (*n)++;
            return;
        }
        if (keys[i] == key) {
            vals[i] = val;
            return;
        }
    }
}

int tam_match_map_put(tam_match_map_t *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        uint64_t *keys = malloc(cap * sizeof *keys);
        uint32_t *vals = malloc(cap * sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return TAM_ENOMEM;
        }
        memset(vals, 0xff, cap * sizeof *vals);
        size_t n = 0;
        for (size_t i = 0; i < m->cap; i++)
            if (m->vals[i] != TAM_MATCH_NONE)
                s_insert(keys, vals, cap, m->keys[i], m->vals[i], &n);
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
        m->n = n;
    }
    s_insert(m->keys, m->vals, m->cap, key, val, &m->n);
    return 0;
}

void tam_match_map_clear(tam_match_map_t *m)
{
    if (m->cap)
        memset(m->vals, 0xff, m->cap * sizeof *m->vals);
    m->n = 0;
}

void tam_match_map_free(tam_match_map_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

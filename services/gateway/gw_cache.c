/* gw_cache.c — tam-match's answers to match.proposals for the run it answers
 * from, so that a planning system polling the same page costs tam-match
 * nothing until the next run (bench_gateway: tam-match's own answer rate
 * bounded the gateway). An entry is keyed by the exact request bytes and the
 * stream's generation (gw_stream_run), which changes with every run header
 * on tam-match's feed and every resync; it is stored only when the answer
 * is of the run the feed last announced, so no entry outlives its run. The
 * answers of match.proposals depend on nothing but the request and the run
 * (the role matrix is checked for the caller before the cache is looked at).
 * Bounded: S_N entries, at most S_MAX_TEXT bytes each. HTTP thread only. */
#include <stdlib.h>
#include <string.h>
#include "gateway.h"

#define S_N 32
#define S_MAX_TEXT (1 << 20)

typedef struct {
    uint64_t gen;
    void *key;
    size_t klen;
    char *text;
    unsigned char digest[GW_DIGEST]; /* of text, for the ETag */
    gw_page_t page;
} s_entry_t;

static s_entry_t s_v[S_N];
static size_t s_next;
static uint64_t s_hits, s_misses;

const char *gw_cache_get(uint64_t gen, const void *key, size_t klen, gw_page_t *page,
                         const unsigned char **digest)
{
    for (size_t i = 0; i < S_N; i++) {
        const s_entry_t *e = &s_v[i];
        if (e->text && e->gen == gen && e->klen == klen && memcmp(e->key, key, klen) == 0) {
            *page = e->page;
            *digest = e->digest;
            s_hits++;
            return e->text;
        }
    }
    s_misses++;
    return NULL;
}

static void s_free(s_entry_t *e)
{
    free(e->key);
    free(e->text);
    memset(e, 0, sizeof *e);
}

void gw_cache_put(uint64_t gen, const void *key, size_t klen, const char *text,
                  const gw_page_t *page)
{
    size_t n = strlen(text);
    if (n > S_MAX_TEXT)
        return;
    /* the slot of an entry of another generation, else the next in turn */
    size_t slot = s_next;
    for (size_t i = 0; i < S_N; i++)
        if (!s_v[i].text || s_v[i].gen != gen) {
            slot = i;
            break;
        }
    if (slot == s_next)
        s_next = (s_next + 1) % S_N;
    s_entry_t *e = &s_v[slot];
    s_free(e);
    e->key = malloc(klen ? klen : 1);
    e->text = malloc(n + 1);
    if (!e->key || !e->text) {
        s_free(e);
        return;
    }
    memcpy(e->key, key, klen);
    memcpy(e->text, text, n + 1);
    e->klen = klen;
    e->gen = gen;
    e->page = *page;
    gw_digest(e->text, e->digest);
}

void gw_cache_clear(void)
{
    for (size_t i = 0; i < S_N; i++)
        s_free(&s_v[i]);
}

void gw_cache_counts(uint64_t *hits, uint64_t *misses)
{
    *hits = s_hits;
    *misses = s_misses;
}

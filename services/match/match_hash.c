/* match_hash.c — the run hash: SHA-256 over the canonical inputs of a run
 * (header, parameters, then the digests of the open needs, known projects,
 * decisions and the planning context in canonical order), so that any
 * ranking can be named and replayed (docs/matching.md, "Run hash"). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_int.h"

static int s_cmp_need_key(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    uint64_t x = m->needs[*(const uint32_t *)a].key, y = m->needs[*(const uint32_t *)b].key;
    return x < y ? -1 : x > y;
}

/* A decision names its need by id, which follows arrival order; the hash
 * names it by the need's content key when the need is open (the same
 * decision on the same need content hashes the same whatever id the need
 * got), and by id otherwise. */
typedef struct {
    uint64_t key;
    bool open;
} s_dkey_t;

static s_dkey_t s_dec_key(const tam_match_t *m, const tam_match_decision_t *d)
{
    uint32_t ns = tam_match__need_slot(m, d->need);
    if (ns != TAM_MATCH_NONE && m->needs[ns].open)
        return (s_dkey_t){m->needs[ns].key, true};
    return (s_dkey_t){d->need, false};
}

int tam_match__cmp_project_slots(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    return strcmp(m->projects[*(const uint32_t *)a].id, m->projects[*(const uint32_t *)b].id);
}

static int s_cmp_dec(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    const tam_match_decision_t *x = &m->decs[*(const uint32_t *)a],
                               *y = &m->decs[*(const uint32_t *)b];
    s_dkey_t kx = s_dec_key(m, x), ky = s_dec_key(m, y);
    if (kx.open != ky.open)
        return kx.open ? -1 : 1;
    if (kx.key != ky.key)
        return kx.key < ky.key ? -1 : 1;
    return strcmp(x->project, y->project);
}

static void s_count(crypto_hash_sha256_state *st, const char *tag, uint64_t n)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(n >> (56 - 8 * i));
    crypto_hash_sha256_update(st, (const unsigned char *)tag, strlen(tag));
    crypto_hash_sha256_update(st, b, 8);
}

/* SHA-256 over the canonical inputs (docs/matching.md, "Run hash"). */
int tam_match__hash(tam_match_t *m)
{
    return tam_match__hash_into(m, m->hash);
}

int tam_match__hash_into(const tam_match_t *m, char out[65])
{
    uint32_t nmax = m->nneeds > m->nprojects ? m->nneeds : m->nprojects;
    if (m->ndecs > nmax)
        nmax = m->ndecs;
    uint32_t *ix = malloc(((size_t)nmax + 1) * sizeof *ix);
    if (!ix)
        return TAM_ENOMEM;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    const char *head = "tamatch match run\n" TAM_MATCH_CODE_VERSION "\n";
    crypto_hash_sha256_update(&st, (const unsigned char *)head, strlen(head));
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4 + TAM_MATCH_NF);
    msgpack_pack_uint32(&pk, m->run_date);
    msgpack_pack_int64(&pk, m->par.horizon_days);
    msgpack_pack_int64(&pk, m->par.equity_scale);
    msgpack_pack_uint32(&pk, TAM_MATCH_NF);
    for (int k = 0; k < TAM_MATCH_NF; k++)
        msgpack_pack_int64(&pk, m->par.w[k]);
    crypto_hash_sha256_update(&st, (const unsigned char *)sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);

    uint32_t n = 0;
    for (uint32_t i = 0; i < m->nneeds; i++)
        if (m->needs[i].open)
            ix[n++] = i;
    qsort_r(ix, n, sizeof *ix, s_cmp_need_key, (void *)m);
    s_count(&st, "needs", n);
    for (uint32_t k = 0; k < n; k++)
        crypto_hash_sha256_update(&st, m->needs[ix[k]].digest, 32);
    n = 0;
    for (uint32_t j = 0; j < m->nprojects; j++)
        if (m->projects[j].present)
            ix[n++] = j;
    qsort_r(ix, n, sizeof *ix, tam_match__cmp_project_slots, (void *)m);
    s_count(&st, "projects", n);
    for (uint32_t k = 0; k < n; k++)
        crypto_hash_sha256_update(&st, m->projects[ix[k]].digest, 32);
    n = 0;
    for (uint32_t d = 0; d < m->ndecs; d++)
        if (m->decs[d].present)
            ix[n++] = d;
    qsort_r(ix, n, sizeof *ix, s_cmp_dec, (void *)m);
    s_count(&st, "decisions", n);
    for (uint32_t k = 0; k < n; k++) {
        const tam_match_decision_t *x = &m->decs[ix[k]];
        s_dkey_t dk = s_dec_key(m, x);
        uint8_t d[32];
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint8(&pk, dk.open);
        msgpack_pack_uint64(&pk, dk.key);
        msgpack_pack_bin(&pk, 32);
        msgpack_pack_bin_body(&pk, x->digest, 32);
        tam_match__digest(&sb, d);
        msgpack_sbuffer_destroy(&sb);
        crypto_hash_sha256_update(&st, d, 32);
    }
    s_count(&st, "context", m->ctx_present);
    if (m->ctx_present)
        crypto_hash_sha256_update(&st, m->ctx_digest, 32);
    uint8_t d[32];
    crypto_hash_sha256_final(&st, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    free(ix);
    return 0;
}

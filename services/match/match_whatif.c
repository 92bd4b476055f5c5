/* match_whatif.c — match.whatif: a scenario evaluated on a deep copy of the
 * engine, warm from the live solution, and compared with the current run
 * (docs/whatif.md). The copy is run by tam_match_run itself, without a
 * publisher: the numbers are those the live matcher will publish once the
 * same changes are really made. Nothing is stored or published, and the
 * live engine is only read (through tam_match__whatif_base). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_whatif.h"

/* The one access to the live engine. tam-match answers match.whatif and
 * match.advise only while no run is being computed (perfm's worker waits for
 * them: /work/NOTES-match.md), so the engine is not mutated while copied. */
const tam_match_t *tam_match__whatif_base(const tam_match_t *m)
{
    return m;
}

int tam_match__whatif_run(tam_match_t *c)
{
    tam_match_seqs_t seqs;
    memcpy(seqs.seq, c->seqs, sizeof seqs.seq);
    memcpy(seqs.epoch, c->epochs, sizeof seqs.epoch);
    return tam_match_run(c, &seqs, NULL, NULL);
}

int tam_match__whatif_clone(const tam_match_t *live, tam_match_t **out)
{
    const tam_match_t *m = tam_match__whatif_base(live);
    *out = NULL;
    if (!m->run_id || !m->flow)
        return TAM_ESTATE;
    int rc = tam_match__clone(m, out);
    if (rc == 0)
        (*out)->par.today = m->run_date; /* the run date of the run compared with */
    return rc;
}

int tam_match__whatif_ready(tam_match_t *c)
{
    if ((c->changed || c->full) && !c->lean)
        return tam_match__whatif_run(c);
    return 0;
}

int tam_match__whatif_copy(const tam_match_t *live, tam_match_t **out)
{
    int rc = tam_match__whatif_clone(live, out);
    if (rc == 0 && (rc = tam_match__whatif_ready(*out)))
        tam_match_destroy(out);
    return rc;
}

void tam_match__snap_free(tam_match_snap_t *s)
{
    free(s->props);
    memset(s, 0, sizeof *s);
}

int tam_match__snap(const tam_match_t *c, tam_match_snap_t *s)
{
    memset(s, 0, sizeof *s);
    s->props = malloc(((size_t)c->nprops + 1) * sizeof *s->props);
    if (!s->props)
        return TAM_ENOMEM;
    for (uint32_t k = 0; k < c->nprops; k++) {
        s->props[k] = c->props[k];
        s->props[k].pub = NULL;
        s->funded += c->props[k].amount;
    }
    s->n = c->nprops;
    s->objective = c->sol.objective;
    s->run = c->run_id;
    memcpy(s->hash, c->hash, sizeof s->hash);
    return 0;
}

/* ---- comparing two runs ------------------------------------------------------------------ */

typedef struct {
    uint64_t need;
    int64_t before, after;
} s_nd_t;

static int s_cmp_nd(const void *a, const void *b)
{
    const s_nd_t *x = a, *y = b;
    int64_t dx = llabs(x->after - x->before), dy = llabs(y->after - y->before);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return x->need < y->need ? -1 : x->need > y->need;
}

static int s_cmp_money(const void *a, const void *b)
{
    const tam_whatif_money_t *x = a, *y = b;
    int64_t dx = x->proposed + x->withdrawn, dy = y->proposed + y->withdrawn;
    if (dx != dy)
        return dx > dy ? -1 : 1;
    if (x->by != y->by)
        return x->by < y->by ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int s_cmp_rank(const void *a, const void *b)
{
    const tam_whatif_rank_t *x = a, *y = b;
    int64_t rx = x->rank_after ? x->rank_after : INT64_MAX, ry = y->rank_after ? y->rank_after : INT64_MAX;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return x->rank_before < y->rank_before ? -1 : x->rank_before > y->rank_before;
}

/* Accumulates one pair's movement d (USD) into the money rows. */
typedef struct {
    int64_t (*country)[2], (*project)[2], cat[26][2], group[16][2];
    const char *gname[16];
    uint32_t ngroups;
} s_money_t;

static void s_money_add(const tam_match_t *c, s_money_t *mo, const tam_match_prop_t *pr, int64_t d)
{
    int side = d > 0 ? 0 : 1;
    int64_t v = d > 0 ? d : -d;
    mo->country[pr->country][side] += v;
    mo->project[pr->project][side] += v;
    unsigned cx = (unsigned)(pr->category - 'A');
    if (cx < 26)
        mo->cat[cx][side] += v;
    const char *g = tam_match__country(c, pr->country)->group;
    uint32_t k = 0;
    while (k < mo->ngroups && strcmp(mo->gname[k], g) != 0)
        k++;
    if (k == mo->ngroups && k < 16)
        mo->gname[mo->ngroups++] = g;
    if (k < 16)
        mo->group[k][side] += v;
}

static int s_need_put(tam_match_map_t *map, s_nd_t **v, uint32_t *n, uint32_t *cap,
                      uint64_t need, int64_t before, int64_t after)
{
    uint32_t k = tam_match_map_get(map, need);
    if (k == TAM_MATCH_NONE) {
        if (*n == *cap) {
            uint32_t nc = *cap ? *cap * 2 : 256;
            s_nd_t *nv = realloc(*v, nc * sizeof *nv);
            if (!nv)
                return TAM_ENOMEM;
            *v = nv;
            *cap = nc;
        }
        k = (*n)++;
        (*v)[k] = (s_nd_t){need, 0, 0};
        if (tam_match_map_put(map, need, k))
            return TAM_ENOMEM;
    }
    (*v)[k].before += before;
    (*v)[k].after += after;
    return 0;
}

int tam_match__compare(const tam_match_t *c, const tam_match_snap_t *b, int64_t top, int64_t limit,
                       tam_arena_t *a, tam_whatif_result_t *r)
{
    int rc = TAM_ENOMEM;
    tam_match_map_t bmap = {0}, nmap = {0};
    s_nd_t *nd = NULL;
    uint32_t nnd = 0, cap_nd = 0;
    bool *seen = calloc((size_t)b->n + 1, 1);
    s_money_t mo;
    memset(&mo, 0, sizeof mo);
    mo.country = calloc(c->ncountries + 1, sizeof *mo.country);
    mo.project = calloc((size_t)c->nprojects + 1, sizeof *mo.project);
    uint32_t nrk = 0, cap_rk = 64;
    tam_whatif_rank_t *rk = tam_arena_alloc(a, cap_rk * sizeof *rk);
    if (!seen || !mo.country || !mo.project || !rk)
        goto out;
    for (uint32_t k = 0; k < b->n; k++)
        if (tam_match_map_put(&bmap, TAM_MATCH_PAIR_KEY(b->props[k].need_id, b->props[k].project), k))
            goto out;
    r->proposals_changed = r->ranks_moved = 0;
    for (uint32_t k = 0; k <= c->nprops + b->n; k++) {
        const tam_match_prop_t *nw = NULL, *old = NULL;
        if (k < c->nprops) {
            nw = &c->props[k];
            uint32_t o = tam_match_map_get(&bmap, TAM_MATCH_PAIR_KEY(nw->need_id, nw->project));
            if (o != TAM_MATCH_NONE) {
                old = &b->props[o];
                seen[o] = true;
            }
        } else if (k > c->nprops && !seen[k - c->nprops - 1]) {
            old = &b->props[k - c->nprops - 1];
        } else {
            continue;
        }
        const tam_match_prop_t *any = nw ? nw : old;
        int64_t ab = old ? old->amount : 0, aa = nw ? nw->amount : 0;
        tam_change_reason_t why = nw ? nw->reason : TAM_E_change_reason_removed;
        if (why == TAM_E_change_reason_rank)
            r->ranks_moved++;
        else if (why != TAM_E_change_reason_unchanged)
            r->proposals_changed++;
        if (aa != ab) {
            s_money_add(c, &mo, any, aa - ab);
            if (aa > ab)
                r->proposed += aa - ab;
            else
                r->withdrawn += ab - aa;
            if (s_need_put(&nmap, &nd, &nnd, &cap_nd, any->need_id, ab, aa))
                goto out;
        }
        int64_t rb = old ? old->rank : 0, ra = nw ? nw->rank : 0;
        if ((rb && rb <= top) || (ra && ra <= top)) {
            if (rb == ra && ab == aa)
                continue;
            if (nrk == cap_rk) {
                tam_whatif_rank_t *nv = tam_arena_alloc(a, 2 * cap_rk * sizeof *nv);
                if (!nv)
                    goto out;
                memcpy(nv, rk, nrk * sizeof *nv);
                rk = nv;
                cap_rk *= 2;
            }
            char id[TAM_MATCH_ID_MAX + 32];
            tam_match__prop_id(c, any, id, sizeof id);
            rk[nrk++] = (tam_whatif_rank_t){.proposal = tam_arena_strndup(a, id, strlen(id)),
                                            .rank_before = rb, .rank_after = ra,
                                            .amount_before = ab, .amount_after = aa,
                                            .reason = why};
            if (!rk[nrk - 1].proposal)
                goto out;
        }
    }
    if (nrk)
        qsort(rk, nrk, sizeof *rk, s_cmp_rank);
    r->ranks.v = rk;
    r->ranks.n = nrk;

    /* needs, largest movement first */
    if (nnd)
        qsort(nd, nnd, sizeof *nd, s_cmp_nd);
    r->needs_total = nnd;
    uint32_t nshow = nnd < limit ? nnd : (uint32_t)limit;
    r->needs.v = tam_arena_alloc(a, ((size_t)nshow + 1) * sizeof *r->needs.v);
    if (!r->needs.v)
        goto out;
    for (uint32_t k = 0; k < nshow; k++) {
        uint32_t ns = tam_match__need_slot(c, nd[k].need);
        if (ns == TAM_MATCH_NONE)
            continue;
        const tam_match_need_t *n = &c->needs[ns];
        r->needs.v[r->needs.n++] = (tam_whatif_need_t){
            .need = n->id,
            .move = nd[k].after > nd[k].before ? TAM_E_need_move_funded : TAM_E_need_move_unfunded,
            .country = (char *)tam_match__country(c, n->country)->iso3,
            .standard = (char *)tam_match__standard(c, n->standard)->id,
            .priority = n->priority ? n->priority : 1,
            .cost = n->cost,
            .before = nd[k].before,
            .after = nd[k].after};
    }

    /* money rows */
    size_t nrows = c->ncountries + c->nprojects + 26 + mo.ngroups;
    tam_whatif_money_t *rows = tam_arena_alloc(a, (nrows + 1) * sizeof *rows);
    if (!rows)
        goto out;
    uint32_t nr = 0;
    for (size_t k = 0; k < c->ncountries; k++)
        if (mo.country[k][0] || mo.country[k][1])
            rows[nr++] = (tam_whatif_money_t){TAM_E_money_dim_country,
                                              (char *)tam_match__country(c, (uint32_t)k)->iso3,
                                              mo.country[k][0], mo.country[k][1]};
    for (uint32_t k = 0; k < mo.ngroups; k++)
        if (mo.group[k][0] || mo.group[k][1])
            rows[nr++] = (tam_whatif_money_t){TAM_E_money_dim_group, (char *)mo.gname[k],
                                              mo.group[k][0], mo.group[k][1]};
    for (int k = 0; k < 26; k++)
        if (mo.cat[k][0] || mo.cat[k][1]) {
            char cc = (char)('A' + k);
            rows[nr++] = (tam_whatif_money_t){TAM_E_money_dim_category,
                                              tam_arena_strndup(a, &cc, 1), mo.cat[k][0],
                                              mo.cat[k][1]};
            if (!rows[nr - 1].key)
                goto out;
        }
    for (uint32_t k = 0; k < c->nprojects; k++)
        if (mo.project[k][0] || mo.project[k][1])
            rows[nr++] = (tam_whatif_money_t){TAM_E_money_dim_project, (char *)c->projects[k].id,
                                              mo.project[k][0], mo.project[k][1]};
    if (nr)
        qsort(rows, nr, sizeof *rows, s_cmp_money);
    r->money.v = rows;
    r->money.n = nr < limit ? nr : (uint32_t)limit;
    rc = 0;
out:
    tam_match_map_free(&bmap);
    tam_match_map_free(&nmap);
    free(nd);
    free(seen);
    free(mo.country);
    free(mo.project);
    return rc;
}

static int64_t s_i64(__int128 v)
{
    return v > INT64_MAX ? INT64_MAX : (v < INT64_MIN ? INT64_MIN : (int64_t)v);
}

bool tam_match__whatif_lean = true;

static int s_eval(const tam_match_t *m, tam_match_t *own, const tam_whatif_change_t *ch,
                  uint32_t n, tam_match_eval_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t t0 = tam_match__now_us();
    int rc = own ? 0 : tam_match__whatif_copy(m, &out->c);
    if (own)
        out->c = own;
    if (rc == 0)
        rc = tam_match__snap(out->c, &out->base);
    int64_t t1 = tam_match__now_us();
    out->ch = ch;
    out->nch = n;
    if (rc == 0) {
        out->c->lean = tam_match__whatif_lean; /* the answer reads no duals nor records */
        for (uint32_t i = 0; i < out->c->nneeds; i++)
            if (out->c->needs[i].id > out->need0)
                out->need0 = out->c->needs[i].id;
    }
    if (rc == 0)
        rc = tam_match__whatif_apply(out->c, ch, n);
    if (rc == 0)
        rc = tam_match__whatif_run(out->c);
    out->copy_us = t1 - t0;
    out->run_us = tam_match__now_us() - t1;
    if (rc) {
        tam_match__eval_free(out);
        return rc;
    }
    out->obj0 = out->base.objective;
    out->obj1 = out->c->sol.objective;
    out->warm = out->c->st.last_warm;
    out->solve_us = tam_match__now_us() - t0;
    return 0;
}

int tam_match__whatif_eval(const tam_match_t *m, const tam_whatif_change_t *ch, uint32_t n,
                           tam_match_eval_t *out)
{
    return s_eval(m, NULL, ch, n, out);
}

int tam_match__whatif_eval_on(tam_match_t *c, const tam_whatif_change_t *ch, uint32_t n,
                              tam_match_eval_t *out)
{
    return s_eval(NULL, c, ch, n, out);
}

void tam_match__eval_free(tam_match_eval_t *e)
{
    tam_match_destroy(&e->c);
    tam_match__snap_free(&e->base);
}

/* The first change of e that names the pair (need, project): "changes[i]",
 * else "optimum" (docs/whatif.md, "Causes"). */
static const char *s_cause(const tam_match_eval_t *e, uint64_t need, const char *project,
                           char buf[24])
{
    const tam_match_t *c = e->c;
    uint32_t ns = tam_match__need_slot(c, need);
    const char *iso3 = ns == TAM_MATCH_NONE ? "" : tam_match__country(c, c->needs[ns].country)->iso3;
    uint64_t added = 0;
    for (uint32_t i = 0; i < e->nch; i++) {
        const tam_whatif_change_t *x = &e->ch[i];
        bool hit = false;
        switch (x->kind) {
        case TAM_E_whatif_kind_weights:
            hit = true;
            break;
        case TAM_E_whatif_kind_need_add:
            hit = need == e->need0 + ++added;
            break;
        case TAM_E_whatif_kind_need_withdraw:
            hit = need == x->need;
            break;
        case TAM_E_whatif_kind_decline:
        case TAM_E_whatif_kind_endorse:
            hit = need == x->need && x->project && strcmp(x->project, project) == 0;
            break;
        case TAM_E_whatif_kind_mission_add:
        case TAM_E_whatif_kind_mission_drop:
            hit = x->country && strcmp(x->country, iso3) == 0;
            break;
        default: /* the project's own record */
            hit = x->project && strcmp(x->project, project) == 0;
            break;
        }
        if (hit) {
            snprintf(buf, 24, "changes[%u]", i);
            return buf;
        }
    }
    return "optimum";
}

int tam_match__whatif_result(const tam_match_eval_t *e, int64_t top, int64_t limit,
                             tam_arena_t *a, tam_whatif_result_t *r)
{
    memset(r, 0, sizeof *r);
    const tam_match_t *c = e->c;
    r->run = e->base.run;
    r->hash = tam_arena_strndup(a, e->base.hash, strlen(e->base.hash));
    r->scenario_hash = (char *)c->hash;
    r->code_version = TAM_MATCH_CODE_VERSION;
    r->date = c->run_date;
    r->objective = s_i64(e->obj0);
    r->objective_after = s_i64(e->obj1);
    r->objective_delta = s_i64(e->obj1 - e->obj0);
    int64_t after = 0;
    for (uint32_t k = 0; k < c->nprops; k++)
        after += c->props[k].amount;
    r->funded_delta = after - e->base.funded;
    r->warm = e->warm;
    r->solve_us = e->solve_us;
    if (!r->hash)
        return TAM_ENOMEM;
    int rc = tam_match__compare(c, &e->base, top, limit, a, r);
    for (uint32_t k = 0; rc == 0 && k < r->ranks.n; k++) {
        tam_whatif_rank_t *x = &r->ranks.v[k];
        char *end = NULL, buf[24];
        uint64_t need = strtoull(x->proposal, &end, 10);
        const char *cause = s_cause(e, need, end && *end == '/' ? end + 1 : "", buf);
        if (!(x->cause = tam_arena_strndup(a, cause, strlen(cause))))
            rc = TAM_ENOMEM;
    }
    return rc;
}

/* ---- match.whatif ----------------------------------------------------------------------- */

static void s_each(const tam_codec_err_t *e, void *arg)
{
    tam_rpc_error_t *err = arg;
    tam_rpc_error_add(err, e->path, "%s", e->message);
    if (err->n == 1)
        err->code = e->code;
}

/* match.whatif on m; own: m itself, a copy taken (evaluated in place) */
static int s_whatif_answer(tam_match_t *m, tam_match_t **own, const void *body, size_t len,
                           tam_arena_t *a, msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_whatif_t q;
    memset(&q, 0, sizeof q);
    tam_codec_err_t ce;
    if (tam_decode_all(&tam_schema_whatif, body, len, a, &q, &ce, s_each, err) != 0 && !err->n)
        return tam_rpc_error_set(err, ce.code, ce.path, "%s", ce.message), err->code;
    if (!m->run_id)
        return tam_rpc_error_set(err, TAM_ESTATE, "",
                                 "no run yet: the matcher is waiting for its feeds"),
               err->code;
    /* semantic checks also on what decoded when the shape had problems */
    tam_match__whatif_check(m, q.changes.v, q.changes.n, err);
    if (err->n || err->code)
        return err->code ? err->code : TAM_EINVAL;
    tam_match_eval_t e;
    int rc;
    if (*own) {
        tam_match_t *c = *own;
        *own = NULL; /* taken by the evaluation */
        rc = tam_match__whatif_eval_on(c, q.changes.v, q.changes.n, &e);
    } else {
        rc = tam_match__whatif_eval(m, q.changes.v, q.changes.n, &e);
    }
    if (rc == TAM_ESTATE)
        return tam_rpc_error_set(err, rc, "", "no run yet"), err->code;
    if (rc)
        return rc;
    tam_whatif_result_t r;
    rc = tam_match__whatif_result(&e, q.top ? q.top : 20, q.limit ? q.limit : 100, a, &r);
    if (rc == 0) {
        msgpack_packer pk;
        msgpack_sbuffer_clear(answer);
        msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
        rc = tam_encode(&tam_schema_whatif_result, &r, &pk, NULL);
    }
    tam_info("whatif: %u change(s) on run %llu: objective delta %lld, %lld proposal(s) changed, "
             "%s, %lld us", q.changes.n, (unsigned long long)e.base.run,
             (long long)s_i64(e.obj1 - e.obj0), (long long)(rc ? 0 : r.proposals_changed),
             e.warm ? "warm" : "cold", (long long)e.solve_us);
    tam_match__eval_free(&e);
    return rc;
}

/* match.whatif on the live engine m, or on own (a copy it takes) */
static int s_whatif_query(tam_match_t *m, tam_match_t *own, const void *body, size_t len,
                          tam_arena_t *a, msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    int rc = own ? tam_match__whatif_ready(own) : 0;
    if (own)
        m = own;
    if (rc == 0)
        rc = s_whatif_answer(m, &own, body, len, a, answer, err);
    tam_match_destroy(&own);
    return rc;
}

int tam_match__whatif_query(tam_match_t *m, const void *body, size_t len, tam_arena_t *a,
                            msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    return s_whatif_query(m, NULL, body, len, a, answer, err);
}

int tam_match__copy_query(tam_match_t *c, int msg, const void *body, size_t len, tam_arena_t *a,
                          msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    if (msg == TAM_MSG_match_whatif)
        return s_whatif_query(NULL, c, body, len, a, answer, err);
    if (msg == TAM_MSG_match_advise)
        return tam_match__advise_query_on(c, body, len, a, answer, err);
    tam_match_destroy(&c);
    return TAM_EINTERNAL;
}


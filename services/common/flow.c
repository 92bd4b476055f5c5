/* flow.c — the allocation solver's API: validation, canonical order, the
 * network built from a problem, and the solution. Warm updates are in
 * flow_warm.c, the simplex in flow_ns.c, the LP export in flow_lp.c. */
#include <stdlib.h>
#include <string.h>
#include "flow_int.h"
#include "tam/error.h"


/* ---- small helpers ---- */

static uint64_t s_mix(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint32_t tam_flow_pair_hash(uint64_t need_id, uint64_t project_id)
{
    return (uint32_t)(s_mix(need_id ^ s_mix(project_id)) >> 32);
}

int tam_flow_i128_format(char *buf, size_t n, __int128 v)
{
    char tmp[48];
    size_t len = 0;
    unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        tmp[len++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[len++] = '-';
    if (!buf || n < len + 1) {
        if (buf && n)
            buf[0] = 0;
        return TAM_ETRUNC;
    }
    for (size_t i = 0; i < len; i++)
        buf[i] = tmp[len - 1 - i];
    buf[len] = 0;
    return (int)len;
}

static int s_grow(void **p, size_t elem, size_t n)
{
    void *q = realloc(*p, elem * (n ? n : 1));
    if (!q)
        return TAM_ENOMEM;
    *p = q;
    return 0;
}

#define S_GROW(ptr, n) s_grow((void **)&(ptr), sizeof *(ptr), (n))

/* ---- validation and canonical order ---- */

typedef struct {
    uint64_t id;
    uint32_t ix;
} s_idix_t;

static int s_cmp_idix(const void *a, const void *b)
{
    const s_idix_t *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Canonical ranks: needs and projects by id; arcs by (need rank, project
 * rank). order is NULL when the arcs already are in that order. */
typedef struct {
    uint32_t *need_rank, *proj_rank, *need_of_rank, *proj_of_rank, *order;
} s_canon_t;

static void s_canon_free(s_canon_t *c)
{
    free(c->need_rank);
    free(c->proj_rank);
    free(c->need_of_rank);
    free(c->proj_of_rank);
    free(c->order);
    memset(c, 0, sizeof *c);
}

static int s_rank_ids(const uint64_t *ids, size_t n, uint32_t **rank, uint32_t **of_rank)
{
    s_idix_t *v = malloc((n ? n : 1) * sizeof *v);
    *rank = malloc((n ? n : 1) * sizeof **rank);
    *of_rank = malloc((n ? n : 1) * sizeof **of_rank);
    int rc = TAM_ENOMEM;
    if (!v || !*rank || !*of_rank)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        v[i].id = ids[i];
        v[i].ix = (uint32_t)i;
    }
    qsort(v, n, sizeof *v, s_cmp_idix);
    rc = TAM_EINVAL;
    for (size_t r = 0; r < n; r++) {
        if (r > 0 && v[r].id == v[r - 1].id)
            goto fail;  /* duplicate id */
        (*rank)[v[r].ix] = (uint32_t)r;
        (*of_rank)[r] = v[r].ix;
    }
    rc = 0;
fail:
    free(v);
    return rc;
}

/* Full validation of p; fills c (caller frees with s_canon_free). */
static int s_canon(const tam_flow_problem_t *p, s_canon_t *c)
{
    int rc = TAM_EINVAL;
    size_t n, m, a;
    int64_t *nfix = NULL, *pfix = NULL;
    uint32_t *tmp = NULL, *cnt = NULL;

    memset(c, 0, sizeof *c);
    if (!p)
        return TAM_EINVAL;
    n = p->n_needs;
    m = p->n_projects;
    a = p->n_arcs;
    if ((n && (!p->need_id || !p->need_amount)) || (m && (!p->project_id || !p->project_budget)) ||
        (a && !p->arcs))
        return TAM_EINVAL;
    if (n + m + 3 >= S_MAX_NODES || a >= S_MAX_ARCS - n - m - 1 || (n < m ? n : m) > S_MAX_SIDE)
        return TAM_ETOOBIG;
    __int128 tn = 0, tb = 0;
    for (size_t i = 0; i < n; i++) {
        if (p->need_amount[i] < 0)
            return TAM_EINVAL;
        tn += p->need_amount[i];
    }
    for (size_t j = 0; j < m; j++) {
        if (p->project_budget[j] < 0)
            return TAM_EINVAL;
        tb += p->project_budget[j];
    }
    if ((tn < tb ? tn : tb) > INT64_MAX)
        return TAM_ETOOBIG;
    nfix = calloc(n ? n : 1, sizeof *nfix);
    pfix = calloc(m ? m : 1, sizeof *pfix);
    if (!nfix || !pfix) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    for (size_t k = 0; k < a; k++) {
        const tam_flow_arc_t *e = &p->arcs[k];
        if (e->need >= n || e->project >= m || e->score > TAM_FLOW_SCORE_MAX || e->cap < 0 ||
            e->fixed < 0 || e->fixed > e->cap)
            goto fail;
        if (__builtin_add_overflow(nfix[e->need], e->fixed, &nfix[e->need]) ||
            __builtin_add_overflow(pfix[e->project], e->fixed, &pfix[e->project]) ||
            nfix[e->need] > p->need_amount[e->need] || pfix[e->project] > p->project_budget[e->project]) {
            rc = TAM_ECONFLICT;
            goto fail;
        }
    }
    if ((rc = s_rank_ids(p->need_id, n, &c->need_rank, &c->need_of_rank)) != 0 ||
        (rc = s_rank_ids(p->project_id, m, &c->proj_rank, &c->proj_of_rank)) != 0)
        goto fail;
    /* Already canonical? (strictly increasing keys also rules out duplicates) */
    int sorted = 1;
    for (size_t k = 1; k < a && sorted; k++) {
        uint32_t n0 = c->need_rank[p->arcs[k - 1].need], n1 = c->need_rank[p->arcs[k].need];
        if (n1 < n0 || (n1 == n0 && c->proj_rank[p->arcs[k].project] <= c->proj_rank[p->arcs[k - 1].project]))
            sorted = 0;
    }
    if (!sorted) {
        /* LSD counting sort: by project rank, then stably by need rank. */
        size_t kmax = n > m ? n : m;
        tmp = malloc(a * sizeof *tmp);
        c->order = malloc(a * sizeof *c->order);
        cnt = malloc((kmax + 1) * sizeof *cnt);
        rc = TAM_ENOMEM;
        if (!tmp || !c->order || !cnt)
            goto fail;
        memset(cnt, 0, (m + 1) * sizeof *cnt);
        for (size_t k = 0; k < a; k++)
            cnt[c->proj_rank[p->arcs[k].project] + 1]++;
        for (size_t j = 0; j < m; j++)
            cnt[j + 1] += cnt[j];
        for (size_t k = 0; k < a; k++)
            tmp[cnt[c->proj_rank[p->arcs[k].project]]++] = (uint32_t)k;
        memset(cnt, 0, (n + 1) * sizeof *cnt);
        for (size_t k = 0; k < a; k++)
            cnt[c->need_rank[p->arcs[k].need] + 1]++;
        for (size_t i = 0; i < n; i++)
            cnt[i + 1] += cnt[i];
        for (size_t k = 0; k < a; k++)
            c->order[cnt[c->need_rank[p->arcs[tmp[k]].need]]++] = tmp[k];
        rc = TAM_EINVAL;
        for (size_t k = 1; k < a; k++) {
            const tam_flow_arc_t *x = &p->arcs[c->order[k - 1]], *y = &p->arcs[c->order[k]];
            if (x->need == y->need && x->project == y->project)
                goto fail;  /* duplicate pair */
        }
    }
    rc = 0;
fail:
    free(nfix);
    free(pfix);
    free(tmp);
    free(cnt);
    if (rc)
        s_canon_free(c);
    return rc;
}

int tam_flow__validate(const tam_flow_problem_t *p)
{
    s_canon_t c;
    int rc = s_canon(p, &c);
    if (rc == 0)
        s_canon_free(&c);
    return rc;
}

/* ---- storage ---- */

int tam_flow__reserve_nodes(struct tam_flow *f, uint32_t need)
{
    if (need <= f->cap_nodes)
        return 0;
    uint32_t nc = f->cap_nodes ? f->cap_nodes : 16;
    while (nc < need)
        nc = nc > S_MAX_NODES / 2 ? S_MAX_NODES : nc * 2;
    if (S_GROW(f->node_id, nc) || S_GROW(f->node_ext, nc) || S_GROW(f->node_arc, nc) ||
        S_GROW(f->node_kind, nc) || S_GROW(f->need_first, nc) || S_GROW(f->need_count, nc) ||
        S_GROW(f->need_app, nc) || S_GROW(f->parent, nc) || S_GROW(f->pred, nc) ||
        S_GROW(f->thread, nc) || S_GROW(f->rev_thread, nc) || S_GROW(f->succ_num, nc) || S_GROW(f->last_succ, nc) ||
        S_GROW(f->dir, nc) || S_GROW(f->pi, nc) || S_GROW(f->pi2, nc) || S_GROW(f->pi3, nc) || S_GROW(f->buf, nc))
        return TAM_ENOMEM;
    f->cap_nodes = nc;
    return 0;
}

int tam_flow__reserve_arcs(struct tam_flow *f, uint32_t need)
{
    if (need <= f->cap_arcs)
        return 0;
    uint32_t nc = f->cap_arcs ? f->cap_arcs + f->cap_arcs / 2 : 16;
    if (nc < need)
        nc = need;
    if (S_GROW(f->src, nc) || S_GROW(f->tgt, nc) || S_GROW(f->c1, nc) || S_GROW(f->key, nc) ||
        S_GROW(f->cap, nc) || S_GROW(f->flow, nc) || S_GROW(f->state, nc) || S_GROW(f->is_dirty, nc))
        return TAM_ENOMEM;
    f->cap_arcs = nc;
    return 0;
}

int tam_flow__reserve_app(struct tam_flow *f, uint32_t need_arcs)
{
    uint32_t need = need_arcs - f->app_base;
    if (need <= f->cap_app)
        return 0;
    uint32_t nc = f->cap_app ? f->cap_app * 2 : 64;
    if (nc < need)
        nc = need;
    if (S_GROW(f->app_next, nc))
        return TAM_ENOMEM;
    f->cap_app = nc;
    return 0;
}

int tam_flow__reserve_ext_arcs(struct tam_flow *f, uint32_t need, int want_fixed)
{
    if (want_fixed && !f->arc_fixed) {
        f->arc_fixed = calloc(f->cap_ext_arcs ? f->cap_ext_arcs : 1, sizeof *f->arc_fixed);
        if (!f->arc_fixed)
            return TAM_ENOMEM;
    }
    if (need <= f->cap_ext_arcs)
        return 0;
    uint32_t nc = f->cap_ext_arcs ? f->cap_ext_arcs + f->cap_ext_arcs / 2 : 16;
    if (nc < need)
        nc = need;
    if (S_GROW(f->arc_int, nc) || S_GROW(f->arc_cap, nc) || (f->arc_fixed && S_GROW(f->arc_fixed, nc)))
        return TAM_ENOMEM;
    if (f->arc_fixed)
        memset(f->arc_fixed + f->cap_ext_arcs, 0, (nc - f->cap_ext_arcs) * sizeof *f->arc_fixed);
    f->cap_ext_arcs = nc;
    return 0;
}

int tam_flow__reserve_ext_nodes(struct tam_flow *f, uint32_t needs, uint32_t projects)
{
    if (needs > f->cap_needs) {
        uint32_t nc = needs < 16 ? 16 : needs + needs / 2;
        if (S_GROW(f->need_node, nc) || S_GROW(f->need_amount, nc) || S_GROW(f->need_fixed, nc))
            return TAM_ENOMEM;
        f->cap_needs = nc;
    }
    if (projects > f->cap_projects) {
        uint32_t nc = projects < 16 ? 16 : projects + projects / 2;
        if (S_GROW(f->project_node, nc) || S_GROW(f->project_budget, nc) || S_GROW(f->project_fixed, nc))
            return TAM_ENOMEM;
        f->cap_projects = nc;
    }
    return 0;
}

/* Sets internal arc e (state LOWER, no flow). */
static void s_put_arc(struct tam_flow *f, uint32_t e, uint32_t u, uint32_t v, uint32_t score, uint32_t key,
                      int64_t cap)
{
    f->src[e] = u;
    f->tgt[e] = v;
    f->c1[e] = (int16_t)-(int32_t)score;
    f->key[e] = key;
    f->cap[e] = cap;
    f->flow[e] = 0;
    f->state[e] = S_LOWER;
    f->is_dirty[e] = 0;
}

/* Appends an internal arc; space must be reserved. */
uint32_t tam_flow__push_arc(struct tam_flow *f, uint32_t u, uint32_t v, uint32_t score, uint32_t key, int64_t cap)
{
    uint32_t e = f->m++;
    s_put_arc(f, e, u, v, score, key, cap);
    return e;
}

/* Appends node v as a child of the root by its artificial arc. */
void tam_flow__hang_new_node(struct tam_flow *f, uint32_t v)
{
    uint32_t nx = f->thread[S_ROOT];
    f->parent[v] = S_ROOT;
    f->pred[v] = S_NONE;
    f->dir[v] = S_UP;
    f->succ_num[v] = 1;
    f->last_succ[v] = v;
    f->succ_num[S_ROOT]++;
    if (f->last_succ[S_ROOT] == S_ROOT)
        f->last_succ[S_ROOT] = v;
    f->pi[v] = f->pi[S_ROOT];
    f->pi2[v] = f->pi2[S_ROOT];
    f->pi3[v] = f->pi3[S_ROOT];
    f->thread[S_ROOT] = v;
    f->rev_thread[v] = S_ROOT;
    f->thread[v] = nx;
    f->rev_thread[nx] = v;
}

void tam_flow_destroy(tam_flow_t **fp)
{
    if (!fp || !*fp)
        return;
    struct tam_flow *f = *fp;
    void *ptrs[] = {f->need_node, f->project_node, f->need_amount, f->need_fixed, f->project_budget,
                    f->project_fixed, f->arc_int, f->arc_cap, f->arc_fixed, f->node_id, f->node_ext,
                    f->node_arc, f->node_kind, f->need_first, f->need_count, f->need_app, f->app_next,
                    f->src, f->tgt, f->c1, f->key, f->cap, f->flow, f->state, f->parent, f->pred,
                    f->thread, f->rev_thread, f->succ_num, f->last_succ, f->dir, f->pi, f->pi2, f->pi3, f->buf, f->is_dirty, f->zl,
                    f->lst[0], f->lst[1], f->lst_c3};
    for (size_t i = 0; i < sizeof ptrs / sizeof *ptrs; i++)
        free(ptrs[i]);
    free(f);
    *fp = NULL;
}

int tam_flow_new(tam_flow_t **out, const tam_flow_problem_t *p)
{
    s_canon_t c;
    struct tam_flow *f = NULL;
    uint32_t *colstart = NULL;
    int rc;

    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    if ((rc = s_canon(p, &c)) != 0)
        return rc;
    rc = TAM_ENOMEM;
    f = calloc(1, sizeof *f);
    if (!f)
        goto fail;
    uint32_t n = (uint32_t)p->n_needs, m = (uint32_t)p->n_projects, a = (uint32_t)p->n_arcs;
    uint32_t nn = 3 + m + n, na = a + m + n + 1;
    int any_fixed = 0;
    for (uint32_t k = 0; k < a && !any_fixed; k++)
        any_fixed = p->arcs[k].fixed != 0;
    if (tam_flow__reserve_nodes(f, nn) || tam_flow__reserve_arcs(f, na) || tam_flow__reserve_ext_arcs(f, a, any_fixed) ||
        tam_flow__reserve_ext_nodes(f, n, m))
        goto fail;
    f->n_needs = n;
    f->n_projects = m;
    f->n_arcs = a;
    f->pot_limit = S_POT_LIMIT;
    f->n_nodes = nn;
    f->tot_need = 0;
    f->tot_budget = 0;
    for (uint32_t v = 0; v < 3; v++) {
        f->node_id[v] = 0;
        f->node_ext[v] = S_NONE;
        f->node_arc[v] = S_NONE;
        f->node_kind[v] = 0;
    }
    for (uint32_t r = 0; r < m; r++) {
        uint32_t j = c.proj_of_rank[r], v = 3 + r;
        f->project_node[j] = v;
        f->project_budget[j] = p->project_budget[j];
        f->project_fixed[j] = 0;
        f->node_id[v] = p->project_id[j];
        f->node_ext[v] = j;
        f->node_kind[v] = 1;
    }
    for (uint32_t r = 0; r < n; r++) {
        uint32_t i = c.need_of_rank[r], v = 3 + m + r;
        f->need_node[i] = v;
        f->need_amount[i] = p->need_amount[i];
        f->need_fixed[i] = 0;
        f->node_id[v] = p->need_id[i];
        f->node_ext[v] = i;
        f->node_kind[v] = 2;
        f->need_first[v] = 0;
        f->need_count[v] = 0;
        f->need_app[v] = S_NONE;
    }
    /* Canonical arc sequence: pair arcs (by need, project), budget arcs,
     * need arcs, T->S; stored mixed (tam_flow__mixpos). */
    f->mix_n = na;
    f->mix_skip = na / nn > 3 ? na / nn : 3;
    f->mix_q = na / f->mix_skip;
    f->mix_r = na % f->mix_skip;
    for (uint32_t k = 0; k < a; k++) {
        uint32_t x = c.order ? c.order[k] : k;
        const tam_flow_arc_t *e = &p->arcs[x];
        uint32_t nv = f->need_node[e->need];
        f->arc_cap[x] = e->cap;
        if (f->arc_fixed)
            f->arc_fixed[x] = e->fixed;
        f->need_fixed[e->need] += e->fixed;
        f->project_fixed[e->project] += e->fixed;
        if (f->need_count[nv]++ == 0)
            f->need_first[nv] = k;
    }
    /* Fill internal arcs in storage order: row t of the mixing table holds
     * canonical positions colstart[col] + t. */
    colstart = malloc(f->mix_skip * sizeof *colstart);
    if (!colstart)
        goto fail;
    for (uint32_t col = 0; col < f->mix_skip; col++)
        colstart[col] = col < f->mix_r ? col * (f->mix_q + 1) : f->mix_r * (f->mix_q + 1) + (col - f->mix_r) * f->mix_q;
    for (uint32_t ie = 0, t = 0, col = 0; ie < na; ie++) {
        uint32_t k = colstart[col] + t;
        if (++col == f->mix_skip) {
            col = 0;
            t++;
        }
        if (k < a) {
            uint32_t x = c.order ? c.order[k] : k;
            const tam_flow_arc_t *e = &p->arcs[x];
            s_put_arc(f, ie, f->project_node[e->project], f->need_node[e->need], e->score, e->tiebreak,
                      e->score ? e->cap - e->fixed : 0);
            f->arc_int[x] = ie;
        } else if (k < a + m) {
            uint32_t j = c.proj_of_rank[k - a], v = 3 + (k - a);
            int64_t b = f->project_budget[j] - f->project_fixed[j];
            s_put_arc(f, ie, S_SRC, v, 0, 0, b);
            f->node_arc[v] = ie;
            f->tot_budget += b;
        } else if (k < a + m + n) {
            uint32_t i = c.need_of_rank[k - a - m], v = 3 + m + (k - a - m);
            int64_t u = f->need_amount[i] - f->need_fixed[i];
            s_put_arc(f, ie, v, S_SNK, 0, 0, u);
            f->node_arc[v] = ie;
            f->tot_need += u;
        } else {
            f->ts_arc = ie;
            s_put_arc(f, ie, S_SNK, S_SRC, 0, 0, S_INF);
        }
    }
    f->m = na;
    free(colstart);
    colstart = NULL;
    f->app_base = f->m;
    /* Initial tree: every node hangs under the root by its artificial arc. */
    f->parent[S_ROOT] = S_NONE;
    f->pred[S_ROOT] = S_NONE;
    f->dir[S_ROOT] = S_UP;
    for (uint32_t v = 0; v < nn; v++) {
        if (v) {
            f->parent[v] = S_ROOT;
            f->pred[v] = S_NONE;
            f->dir[v] = S_UP;
        }
        f->succ_num[v] = v ? 1 : nn;
        f->last_succ[v] = v ? v : nn - 1;
        f->thread[v] = v + 1 == nn ? S_ROOT : v + 1;
        f->rev_thread[v] = v == 0 ? nn - 1 : v - 1;
        f->pi[v] = 0;
        f->pi2[v] = 0;
        f->pi3[v] = 0;
    }
    s_canon_free(&c);
    *out = f;
    return 0;
fail:
    free(colstart);
    s_canon_free(&c);
    tam_flow_destroy(&f);
    return rc;
}

size_t tam_flow_n_needs(const tam_flow_t *f)
{
    return f ? f->n_needs : 0;
}

size_t tam_flow_n_projects(const tam_flow_t *f)
{
    return f ? f->n_projects : 0;
}

size_t tam_flow_n_arcs(const tam_flow_t *f)
{
    return f ? f->n_arcs : 0;
}

size_t tam_flow_mem_bytes(const tam_flow_t *f)
{
    if (!f)
        return 0;
    size_t per_node = 3 * 4 + 8 + 4 + 4 + 1 + 4 * 3 + 4 * 5 + 1 + 3 * 8 + 8;
    size_t per_arc = 4 + 4 + 2 + 4 + 8 + 8 + 1 + 1;
    size_t per_ext_arc = 4 + 8 + (f->arc_fixed ? 8 : 0);
    return sizeof *f + (size_t)f->cap_nodes * per_node + (size_t)f->cap_arcs * per_arc +
           (size_t)f->cap_ext_arcs * per_ext_arc + (size_t)f->cap_app * 4 +
           ((size_t)f->lst_cap[0] + f->lst_cap[1] + f->lst_c3_cap + f->zl_cap) * 4 +
           ((size_t)f->cap_needs + f->cap_projects) * 20;
}

/* ---- solving and the solution ---- */

void tam_flow_solution_free(tam_flow_solution_t *sol)
{
    if (!sol)
        return;
    free(sol->x);
    free(sol->arc_flags);
    free(sol->need_funded);
    free(sol->need_dual);
    free(sol->need_flags);
    free(sol->project_used);
    free(sol->project_dual);
    free(sol->project_flags);
    memset(sol, 0, sizeof *sol);
}

/* sol->x and sol->arc_flags from the current flow (arrays large enough);
 * returns the fixed amounts' part of the objective. */
static __int128 s_fill_x(const struct tam_flow *f, tam_flow_solution_t *sol)
{
    size_t a = f->n_arcs;
    __int128 obj = 0;
    for (size_t k = 0; k < a; k++) {
        /* arc_int scatters (arc mixing): fetch ahead, the gather is what costs */
        if (k + 16 < a)
            __builtin_prefetch(&f->flow[f->arc_int[k + 16]]);
        uint32_t e = f->arc_int[k];
        int64_t fx = f->arc_fixed ? f->arc_fixed[k] : 0, x = fx + f->flow[e];
        sol->x[k] = x;
        uint8_t fl = x == f->arc_cap[k] && x != TAM_FLOW_UNCAPPED ? TAM_FLOW_ARC_AT_CAP : 0;
        if (fx > 0) {
            obj += (__int128)(-f->c1[e]) * fx;
            if (x == fx)
                fl |= TAM_FLOW_ARC_FIXED;
        }
        sol->arc_flags[k] = fl;
    }
    return obj;
}

/* Fills sol, reusing its arrays (realloc) so that repeated warm runs do not
 * fault in fresh pages. */
static int s_extract(const struct tam_flow *f, tam_flow_solution_t *sol, uint64_t pivots, int lazy)
{
    size_t a = f->n_arcs, n = f->n_needs, m = f->n_projects;
    if ((!lazy && (S_GROW(sol->x, a) || S_GROW(sol->arc_flags, a))) || S_GROW(sol->need_funded, n) ||
        S_GROW(sol->need_dual, n) || S_GROW(sol->need_flags, n) || S_GROW(sol->project_used, m) ||
        S_GROW(sol->project_dual, m) || S_GROW(sol->project_flags, m))
        return TAM_ENOMEM;
    sol->n_arcs = a;
    sol->n_needs = n;
    sol->n_projects = m;
    /* Objective: pair flows in storage order (sequential), plus fixed. */
    __int128 obj = 0;
    for (uint32_t e = 0; e < f->m; e++)
        obj += (__int128)(-f->c1[e]) * f->flow[e];
    for (size_t k = 0; lazy && f->arc_fixed && k < a; k++)
        if (f->arc_fixed[k] > 0)
            obj += (__int128)(-f->c1[f->arc_int[k]]) * f->arc_fixed[k];
    if (!lazy)
        obj += s_fill_x(f, sol);
    sol->objective = obj;
    int64_t ps = f->pi[S_SRC], pt = f->pi[S_SNK];
    for (size_t i = 0; i < n; i++) {
        uint32_t v = f->need_node[i], e = f->node_arc[v];
        int64_t z = pt - f->pi[v];
        sol->need_funded[i] = f->need_fixed[i] + f->flow[e];
        sol->need_dual[i] = z > 0 ? z : 0;
        sol->need_flags[i] = sol->need_funded[i] == f->need_amount[i] ? TAM_FLOW_NEED_FUNDED : 0;
    }
    for (size_t j = 0; j < m; j++) {
        uint32_t v = f->project_node[j], e = f->node_arc[v];
        int64_t y = f->pi[v] - ps;
        sol->project_used[j] = f->project_fixed[j] + f->flow[e];
        sol->project_dual[j] = y > 0 ? y : 0;
        sol->project_flags[j] = sol->project_used[j] == f->project_budget[j] ? TAM_FLOW_PROJECT_EXHAUSTED : 0;
    }
    sol->pivots = pivots;
    return tam_flow__unique(f, &sol->unique);
}

static int s_run(tam_flow_t *f, tam_flow_solution_t *sol, int lazy)
{
    if (!f || !sol)
        return TAM_EINVAL;
    uint64_t p0 = f->pivots;
    tam_flow__potentials(f);
    tam_flow__repair(f);
    tam_flow__simplex(f);
    if (f->cancelled)
        return TAM_ESTATE; /* sol untouched; the basis stays strongly feasible */
    f->solved = 1;
    int rc = s_extract(f, sol, f->pivots - p0, lazy);
    if (rc)
        tam_flow_solution_free(sol);
    return rc;
}

int tam_flow_run(tam_flow_t *f, tam_flow_solution_t *sol)
{
    return s_run(f, sol, 0);
}

int tam_flow_run_lazy(tam_flow_t *f, tam_flow_solution_t *sol)
{
    return s_run(f, sol, 1);
}

int tam_flow_fill_x(const tam_flow_t *f, tam_flow_solution_t *sol)
{
    if (!f || !sol || !f->solved)
        return TAM_EINVAL;
    size_t a = f->n_arcs;
    if (S_GROW(sol->x, a) || S_GROW(sol->arc_flags, a))
        return TAM_ENOMEM;
    (void)s_fill_x(f, sol);
    sol->n_arcs = a;
    return 0;
}

int64_t tam_flow_x(const tam_flow_t *f, uint32_t arc)
{
    if (!f || arc >= f->n_arcs)
        return 0;
    return (f->arc_fixed ? f->arc_fixed[arc] : 0) + f->flow[f->arc_int[arc]];
}

int64_t tam_flow_need_new(const tam_flow_t *f, uint32_t need)
{
    if (!f || need >= f->n_needs)
        return 0;
    return f->flow[f->node_arc[f->need_node[need]]];
}

void tam_flow_x_many(const tam_flow_t *f, const uint32_t *arc, size_t n, int64_t *x)
{
    if (!f || !arc || !x)
        return;
    /* a need's arcs lie apart in storage (mixed): start every gather of
     * the batch, then read them */
    uint32_t e[64];
    for (size_t k0 = 0; k0 < n; k0 += 64) {
        size_t c = n - k0 < 64 ? n - k0 : 64;
        for (size_t k = 0; k < c; k++) {
            uint32_t a = arc[k0 + k];
            e[k] = a < f->n_arcs ? f->arc_int[a] : UINT32_MAX;
            if (e[k] != UINT32_MAX)
                __builtin_prefetch(&f->flow[e[k]]);
        }
        for (size_t k = 0; k < c; k++) {
            uint32_t a = arc[k0 + k];
            x[k0 + k] = e[k] == UINT32_MAX ? 0 : (f->arc_fixed ? f->arc_fixed[a] : 0) + f->flow[e[k]];
        }
    }
}

void tam_flow_set_cancel(tam_flow_t *f, const int *flag)
{
    if (f)
        f->cancel = flag;
}

int tam_flow_solve(const tam_flow_problem_t *p, tam_flow_solution_t *sol)
{
    tam_flow_t *f = NULL;
    if (!sol)
        return TAM_EINVAL;
    int rc = tam_flow_new(&f, p);
    if (rc == 0)
        rc = tam_flow_run(f, sol);
    tam_flow_destroy(&f);
    if (rc)
        tam_flow_solution_free(sol);
    return rc;
}

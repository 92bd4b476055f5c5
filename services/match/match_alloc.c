/* match_alloc.c — the allocation problem kept in step with the model.
 *
 * Each need holds its arcs (eligible pairs, and pairs holding a fixed amount)
 * sorted by project slot. A run recomputes the rows of the needs and the
 * columns of the projects that changed; every arc whose state changes is
 * queued as an op. The ops then go to the tam_flow solver, which re-solves
 * from its previous basis (warm start): arcs are never removed from the
 * solver, a dead arc gets cap 0 and can come back later. The solver is
 * rebuilt from scratch (cold, from the canonical problem) on the first run,
 * after a full recomputation, when dead arcs pile up, when an update is
 * refused, and when a warm optimum is not unique on the solver's three
 * tie-break levels: then only the cold answer is canonical (the same as
 * after a restart). */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_int.h"

typedef struct {
    uint32_t project;
    int64_t fixed;
    bool declined;
} s_dec_t;

uint32_t tam_match__tiebreak(uint64_t key)
{
    (void)key;
    return 0;
}

int64_t tam_match__cap(int64_t mpn, const tam_match_need_t *n, const tam_match_arc_t *a)
{
    if (!a->live)
        return 0;
    if (!a->eligible || a->frag)
        return a->fixed;
    if (mpn <= 0)
        return TAM_FLOW_UNCAPPED;
    /* a need's share of the cap of its identity group (docs/matching.md) */
    if (n->gden > 0 && n->gnum < n->gden)
        mpn = (int64_t)((__int128)mpn * n->gnum / n->gden);
    return mpn > a->fixed ? mpn : a->fixed;
}

int64_t tam_match__arc_cap(const tam_match_project_t *p, const tam_match_need_t *n,
                           const tam_match_arc_t *a)
{
    return tam_match__cap(p->max_per_need, n, a);
}

int64_t tam_match__need_amount(const tam_match_t *m, const tam_match_need_t *n)
{
    (void)m;
    if (!n->open)
        return 0;
    /* fixed money on its arcs, plus new money up to what decisions on any
     * project (in the problem or not) leave of its current cost */
    int64_t rest = n->cost - (n->fixed_all > n->fixed_sum ? n->fixed_all : n->fixed_sum) -
                   n->set_aside;
    return n->fixed_sum + (rest > 0 ? rest : 0);
}

int64_t tam_match__fixed_out(const tam_match_need_t *n)
{
    return n->fixed_all > n->fixed_sum ? n->fixed_all - n->fixed_sum : 0;
}

int64_t tam_match__need_fixed(const tam_match_t *m, uint64_t need_id)
{
    int64_t sum = 0;
    for (uint32_t d = tam_match_map_get(&m->dec_need, need_id); d != TAM_MATCH_NONE;
         d = m->decs[d].next)
        if (m->decs[d].need == need_id)
            sum += tam_match_decision_fixed(&m->decs[d]);
    return sum;
}

int64_t tam_match__project_budget(const tam_match_t *m, const tam_match_project_t *p)
{
    (void)m;
    int64_t b = p->fixed_arcs;
    if (p->present && p->status == TAM_E_project_status_active) {
        int64_t own = p->received - p->committed_out - p->set_aside;
        if (own > b)
            b = own;
    }
    return b;
}

tam_match_arc_t *tam_match__arc(const tam_match_need_t *n, uint32_t project)
{
    uint32_t lo = 0, hi = n->narcs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (n->arcs[mid].project < project)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n->narcs && n->arcs[lo].project == project ? &n->arcs[lo] : NULL;
}

const tam_match_decision_t *tam_match__decision(const tam_match_t *m, uint64_t need_id,
                                                const char *project)
{
    for (uint32_t d = tam_match_map_get(&m->dec_need, need_id); d != TAM_MATCH_NONE;
         d = m->decs[d].next)
        if (m->decs[d].present && strcmp(m->decs[d].project, project) == 0)
            return &m->decs[d];
    return NULL;
}

/* The need's decisions resolved to project slots, sorted by slot. Returns
 * the count (possibly more than max: then only max were stored). */
static uint32_t s_need_decs(const tam_match_t *m, const tam_match_need_t *n, s_dec_t *out,
                            uint32_t max)
{
    uint32_t k = 0;
    for (uint32_t d = n->dec_head; d != TAM_MATCH_NONE; d = m->decs[d].next) {
        const tam_match_decision_t *x = &m->decs[d];
        if (!x->present || x->need != n->id)
            continue;
        int64_t fixed = tam_match_decision_fixed(x);
        bool declined = x->state == TAM_E_decision_state_declined;
        if (fixed <= 0 && !declined)
            continue;
        uint32_t ps = tam_match__project_slot(m, x->project);
        if (ps == TAM_MATCH_NONE)
            continue;
        if (k < max) {
            uint32_t i = k;
            while (i > 0 && out[i - 1].project > ps) {
                out[i] = out[i - 1];
                i--;
            }
            out[i] = (s_dec_t){ps, fixed > 0 ? fixed : 0, declined};
        }
        k++;
    }
    return k;
}

/* The state an arc should have; false if the pair is not in the problem. */
static bool s_desired(const tam_match_t *m, const tam_match_need_t *n, uint32_t j, int64_t fixed,
                      bool declined, tam_match_arc_t *a)
{
    const tam_match_project_t *p = &m->projects[j];
    if (!n->open || !p->present)
        return false;
    bool elig = tam_match__elig(m, n, p, declined) == TAM_MATCH_ELIGIBLE;
    if (!elig && fixed <= 0)
        return false;
    int64_t th = p->th[n->standard] < 0 ? 0 : p->th[n->standard];
    int64_t md = p->md[n->modality] < 0 ? 0 : p->md[n->modality];
    const int64_t *w = m->par.w;
    int64_t num = n->npart + w[TAM_MATCH_F_THEMATIC] * th + w[TAM_MATCH_F_MODALITY] * md;
    a->project = j;
    a->score = (uint16_t)((2 * num + m->par.wsum) / (2 * m->par.wsum));
    a->live = 1;
    a->eligible = elig;
    a->fixed = fixed > 0 ? fixed : 0;
    return true;
}

static int s_push_op(tam_match_t *m, uint32_t need, tam_match_arc_t *a)
{
    if (a->pending)
        return 0;
    if (m->nops == m->cap_ops) {
        uint32_t c = m->cap_ops ? m->cap_ops * 2 : 1024;
        tam_match_op_t *v = realloc(m->ops, (size_t)c * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        m->ops = v;
        m->cap_ops = c;
    }
    m->ops[m->nops++] = (tam_match_op_t){need, a->project, a->live ? a->fixed : 0, a->score,
                                         a->live, a->eligible};
    a->pending = 1;
    return 0;
}

int tam_match__set_frag(tam_match_t *m, uint32_t ns, tam_match_arc_t *a, bool frag)
{
    if ((a->frag != 0) == frag)
        return 0;
    a->frag = frag;
    return a->flow != TAM_MATCH_NONE ? s_push_op(m, ns, a) : 0;
}

int tam_match__push_caps(tam_match_t *m, uint32_t ns)
{
    m->caps_moved = true; /* no quiet run (match_quiet.c) */
    tam_match_need_t *n = &m->needs[ns];
    for (uint32_t k = 0; k < n->narcs; k++) {
        tam_match_arc_t *a = &n->arcs[k];
        int rc;
        if (a->live && a->flow != TAM_MATCH_NONE && m->projects[a->project].max_per_need > 0 &&
            (rc = s_push_op(m, ns, a)))
            return rc;
    }
    return 0;
}

int64_t tam_match__min_new(const tam_match_t *m, const tam_match_need_t *n)
{
    int64_t room = tam_match__need_amount(m, n) - n->fixed_sum + n->set_aside;
    int64_t share = (n->cost * m->par.min_share + 99) / 100;
    int64_t t = m->par.min_amount > share ? m->par.min_amount : share;
    return t < room ? t : room;
}

/* Moves arc a of need slot ns to the state want (live) or to dead (want
 * NULL), keeping the sums and queueing an op when the solver must know. */
static int s_change(tam_match_t *m, uint32_t ns, tam_match_arc_t *a, const tam_match_arc_t *want)
{
    tam_match_need_t *n = &m->needs[ns];
    tam_match_project_t *p = &m->projects[a->project];
    bool same = want ? (a->live && a->score == want->score && a->eligible == want->eligible &&
                        a->fixed == want->fixed)
                     : !a->live;
    if (same)
        return 0;
    if (a->flow != TAM_MATCH_NONE || want) {
        int rc = s_push_op(m, ns, a);
        if (rc)
            return rc;
    }
    if (a->live) {
        n->fixed_sum -= a->fixed;
        p->fixed_arcs -= a->fixed;
        m->live_arcs--;
    }
    if (want) {
        a->score = want->score;
        a->eligible = want->eligible;
        a->fixed = want->fixed;
        a->live = 1;
        n->fixed_sum += a->fixed;
        p->fixed_arcs += a->fixed;
        m->live_arcs++;
    } else {
        a->live = 0;
        a->eligible = 0;
        a->fixed = 0;
        a->score = 0;
    }
    return 0;
}

static int s_arcs_reserve(tam_match_need_t *n, uint32_t need)
{
    if (need <= n->cap_arcs)
        return 0;
    uint32_t c = n->cap_arcs ? n->cap_arcs : 4;
    while (c < need)
        c *= 2;
    tam_match_arc_t *v = realloc(n->arcs, (size_t)c * sizeof *v);
    if (!v)
        return TAM_ENOMEM;
    n->arcs = v;
    n->cap_arcs = c;
    return 0;
}

int tam_match__row(tam_match_t *m, uint32_t ns)
{
    tam_match_need_t *n = &m->needs[ns];
    int rc = 0;
    n->fixed_all = n->open ? tam_match__need_fixed(m, n->id) : 0;
    if (!n->open) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < n->narcs; i++) {
            tam_match_arc_t a = n->arcs[i];
            if ((rc = s_change(m, ns, &a, NULL)))
                return rc;
            if (a.flow != TAM_MATCH_NONE)
                n->arcs[k++] = a;
        }
        n->narcs = k;
        return 0;
    }
    n->npart = tam_match__npart(m, n, m->run_date);
    s_dec_t local[32], *decs = local;
    uint32_t nd = s_need_decs(m, n, local, 32);
    if (nd > 32) {
        if (!(decs = malloc(nd * sizeof *decs)))
            return TAM_ENOMEM;
        s_need_decs(m, n, decs, nd);
    }
    /* merge the old arcs with every project, into a fresh array */
    tam_match_arc_t *buf = malloc(((size_t)n->narcs + m->nprojects + 1) * sizeof *buf);
    if (!buf) {
        rc = TAM_ENOMEM;
        goto out;
    }
    uint32_t i = 0, k = 0, d = 0;
    for (uint32_t j = 0; j < m->nprojects; j++) {
        tam_match_arc_t *old = i < n->narcs && n->arcs[i].project == j ? &n->arcs[i++] : NULL;
        int64_t fixed = 0;
        bool declined = false;
        if (d < nd && decs[d].project == j) {
            fixed = decs[d].fixed;
            declined = decs[d].declined;
            d++;
        }
        tam_match_arc_t want, cur;
        bool live = s_desired(m, n, j, fixed, declined, &want);
        if (!live && !old)
            continue;
        if (old)
            cur = *old;
        else
            cur = (tam_match_arc_t){.project = j, .flow = TAM_MATCH_NONE};
        if ((rc = s_change(m, ns, &cur, live ? &want : NULL)))
            goto out;
        if (cur.live || cur.flow != TAM_MATCH_NONE)
            buf[k++] = cur;
    }
    if ((rc = s_arcs_reserve(n, k)))
        goto out;
    if (k)
        memcpy(n->arcs, buf, (size_t)k * sizeof *buf);
    n->narcs = k;
out:
    free(buf);
    if (decs != local)
        free(decs);
    return rc;
}

int tam_match__column(tam_match_t *m, uint32_t j)
{
    tam_match_project_t *p = &m->projects[j];
    bool force = p->flow != TAM_MATCH_NONE && p->flow_mpn != p->max_per_need;
    for (uint32_t ns = 0; ns < m->nneeds; ns++) {
        tam_match_need_t *n = &m->needs[ns];
        if (!n->open)
            continue;
        int64_t fixed = 0;
        bool declined = false;
        if (n->dec_head != TAM_MATCH_NONE) {
            const tam_match_decision_t *x = tam_match__decision(m, n->id, p->id);
            if (x) {
                fixed = tam_match_decision_fixed(x);
                declined = x->state == TAM_E_decision_state_declined;
            }
        }
        tam_match_arc_t want;
        bool live = s_desired(m, n, j, fixed, declined, &want);
        tam_match_arc_t *a = tam_match__arc(n, j);
        int rc = 0;
        if (live && !a) {
            if ((rc = s_arcs_reserve(n, n->narcs + 1)))
                return rc;
            uint32_t at = 0;
            while (at < n->narcs && n->arcs[at].project < j)
                at++;
            memmove(n->arcs + at + 1, n->arcs + at, (size_t)(n->narcs - at) * sizeof *n->arcs);
            n->narcs++;
            a = &n->arcs[at];
            *a = (tam_match_arc_t){.project = j, .flow = TAM_MATCH_NONE};
        }
        if (!a)
            continue;
        if ((rc = s_change(m, ns, a, live ? &want : NULL)))
            return rc;
        if (force && a->live && a->flow != TAM_MATCH_NONE && (rc = s_push_op(m, ns, a)))
            return rc;
        if (!a->live && a->flow == TAM_MATCH_NONE) {
            uint32_t at = (uint32_t)(a - n->arcs);
            memmove(a, a + 1, (size_t)(n->narcs - at - 1) * sizeof *a);
            n->narcs--;
        }
    }
    return 0;
}

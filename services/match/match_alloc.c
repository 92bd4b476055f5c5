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

uint32_t tam_match__tiebreak(uint64_t need_id)
{
    return need_id >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)need_id;
}

static int64_t s_cap(int64_t mpn, const tam_match_arc_t *a)
{
    if (!a->live)
        return 0;
    if (!a->eligible)
        return a->fixed;
    if (mpn <= 0)
        return TAM_FLOW_UNCAPPED;
    return mpn > a->fixed ? mpn : a->fixed;
}

int64_t tam_match__arc_cap(const tam_match_project_t *p, const tam_match_arc_t *a)
{
    return s_cap(p->max_per_need, a);
}

int64_t tam_match__need_amount(const tam_match_t *m, const tam_match_need_t *n)
{
    (void)m;
    if (!n->open)
        return 0;
    return n->cost > n->fixed_sum ? n->cost : n->fixed_sum;
}

int64_t tam_match__project_budget(const tam_match_t *m, const tam_match_project_t *p)
{
    (void)m;
    int64_t b = p->fixed_arcs;
    if (p->present && p->status == TAM_E_project_status_active) {
        int64_t own = p->received - p->committed_out;
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
    m->ops[m->nops++] = (tam_match_op_t){need, a->project, a->live ? a->fixed : 0};
    a->pending = 1;
    return 0;
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

/* ---- the solver -------------------------------------------------------------------- */

static int s_cmp_need(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    uint64_t x = m->needs[*(const uint32_t *)a].id, y = m->needs[*(const uint32_t *)b].id;
    return x < y ? -1 : x > y;
}

static int s_cmp_proj(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    return strcmp(m->projects[*(const uint32_t *)a].id, m->projects[*(const uint32_t *)b].id);
}

typedef struct {
    const tam_match_arc_t *arcs;
    const uint32_t *pix;
} s_ord_t;

static int s_cmp_arc(const void *a, const void *b, void *arg)
{
    const s_ord_t *o = arg;
    uint32_t x = o->pix[o->arcs[*(const uint32_t *)a].project],
             y = o->pix[o->arcs[*(const uint32_t *)b].project];
    return x < y ? -1 : x > y;
}

void tam_match__problem_free(tam_match_problem_t *pb)
{
    free(pb->need_id);
    free(pb->need_amount);
    free(pb->project_id);
    free(pb->project_budget);
    free(pb->arcs);
    free(pb->project_slot);
    free(pb->s.x);
    free(pb->s.arc_flags);
    free(pb->s.need_funded);
    free(pb->s.need_dual);
    free(pb->s.need_flags);
    free(pb->s.project_used);
    free(pb->s.project_dual);
    free(pb->s.project_flags);
    memset(pb, 0, sizeof *pb);
}

/* The canonical problem: open needs by id, present projects by id, live arcs
 * by need then project. assign (a rebuild, inside a run): the model's
 * current state, whose indices become the solver's. Otherwise (export,
 * between runs): the problem the last run solved, from what the solver was
 * given (amounts, budgets, caps), with the solution copied from m->sol. */
#define S_NEED_IN(n) (assign ? (n)->open : (n)->in_run)
#define S_PROJ_IN(p) (assign ? (p)->present : (p)->in_run)
static int s_problem(tam_match_t *m, tam_match_problem_t *pb, bool assign, bool with_solution)
{
    memset(pb, 0, sizeof *pb);
    uint32_t nn = 0, np = 0;
    uint64_t na = 0;
    for (uint32_t i = 0; i < m->nneeds; i++)
        if (S_NEED_IN(&m->needs[i])) {
            nn++;
            for (uint32_t k = 0; k < m->needs[i].narcs; k++)
                na += m->needs[i].arcs[k].live;
        }
    for (uint32_t j = 0; j < m->nprojects; j++)
        np += S_PROJ_IN(&m->projects[j]);
    uint32_t *nord = malloc(((size_t)nn + 1) * sizeof *nord);
    uint32_t *pix = malloc(((size_t)m->nprojects + 1) * sizeof *pix);
    uint32_t *aord = malloc(((size_t)m->nprojects + 1) * sizeof *aord);
    pb->need_id = malloc(((size_t)nn + 1) * sizeof *pb->need_id);
    pb->need_amount = malloc(((size_t)nn + 1) * sizeof *pb->need_amount);
    pb->project_id = malloc(((size_t)np + 1) * sizeof *pb->project_id);
    pb->project_budget = malloc(((size_t)np + 1) * sizeof *pb->project_budget);
    pb->project_slot = malloc(((size_t)np + 1) * sizeof *pb->project_slot);
    pb->arcs = malloc((na + 1) * sizeof *pb->arcs);
    int rc = TAM_ENOMEM;
    if (!nord || !pix || !aord || !pb->need_id || !pb->need_amount || !pb->project_id ||
        !pb->project_budget || !pb->project_slot || !pb->arcs)
        goto fail;
    if (with_solution) {
        pb->s.x = calloc(na + 1, sizeof *pb->s.x);
        pb->s.arc_flags = calloc(na + 1, 1);
        pb->s.need_funded = calloc((size_t)nn + 1, sizeof *pb->s.need_funded);
        pb->s.need_dual = calloc((size_t)nn + 1, sizeof *pb->s.need_dual);
        pb->s.need_flags = calloc((size_t)nn + 1, 1);
        pb->s.project_used = calloc((size_t)np + 1, sizeof *pb->s.project_used);
        pb->s.project_dual = calloc((size_t)np + 1, sizeof *pb->s.project_dual);
        pb->s.project_flags = calloc((size_t)np + 1, 1);
        if (!pb->s.x || !pb->s.arc_flags || !pb->s.need_funded || !pb->s.need_dual ||
            !pb->s.need_flags || !pb->s.project_used || !pb->s.project_dual ||
            !pb->s.project_flags)
            goto fail;
        pb->s.n_needs = nn;
        pb->s.n_projects = np;
        pb->s.n_arcs = na;
        pb->s.objective = m->sol.objective;
        pb->s.unique = m->sol.unique;
    }
    nn = np = 0;
    for (uint32_t i = 0; i < m->nneeds; i++)
        if (S_NEED_IN(&m->needs[i]))
            nord[nn++] = i;
    for (uint32_t j = 0; j < m->nprojects; j++)
        if (S_PROJ_IN(&m->projects[j]))
            pb->project_slot[np++] = j;
    qsort_r(nord, nn, sizeof *nord, s_cmp_need, m);
    qsort_r(pb->project_slot, np, sizeof *pb->project_slot, s_cmp_proj, m);
    for (uint32_t j = 0; j < m->nprojects; j++)
        pix[j] = TAM_MATCH_NONE;
    for (uint32_t q = 0; q < np; q++) {
        tam_match_project_t *p = &m->projects[pb->project_slot[q]];
        pix[pb->project_slot[q]] = q;
        pb->project_id[q] = p->key;
        pb->project_budget[q] = assign ? tam_match__project_budget(m, p) : p->flow_budget;
        if (with_solution && p->flow != TAM_MATCH_NONE && p->flow < m->sol.n_projects) {
            pb->s.project_used[q] = m->sol.project_used[p->flow];
            pb->s.project_dual[q] = m->sol.project_dual[p->flow];
            pb->s.project_flags[q] = m->sol.project_flags[p->flow];
        }
    }
    uint64_t a = 0;
    for (uint32_t q = 0; q < nn; q++) {
        tam_match_need_t *n = &m->needs[nord[q]];
        pb->need_id[q] = n->id;
        pb->need_amount[q] = assign ? tam_match__need_amount(m, n) : n->flow_amount;
        if (with_solution && n->flow != TAM_MATCH_NONE && n->flow < m->sol.n_needs) {
            pb->s.need_funded[q] = m->sol.need_funded[n->flow];
            pb->s.need_dual[q] = m->sol.need_dual[n->flow];
            pb->s.need_flags[q] = m->sol.need_flags[n->flow];
        }
        /* the need's live arcs in canonical project order */
        uint32_t nl = 0;
        for (uint32_t k = 0; k < n->narcs; k++)
            if (n->arcs[k].live)
                aord[nl++] = k;
        s_ord_t oc = {n->arcs, pix};
        qsort_r(aord, nl, sizeof *aord, s_cmp_arc, &oc);
        for (uint32_t k2 = 0; k2 < nl; k2++) {
            tam_match_arc_t *x = &n->arcs[aord[k2]];
            const tam_match_project_t *p = &m->projects[x->project];
            pb->arcs[a] = (tam_flow_arc_t){.need = q,
                                          .project = pix[x->project],
                                          .score = x->score,
                                          .tiebreak = tam_match__tiebreak(n->id),
                                          .cap = s_cap(assign ? p->max_per_need
                                                              : p->flow_mpn, x),
                                          .fixed = x->fixed};
            if (with_solution && x->flow != TAM_MATCH_NONE && x->flow < m->sol.n_arcs) {
                pb->s.x[a] = m->sol.x[x->flow];
                pb->s.arc_flags[a] = m->sol.arc_flags[x->flow];
            }
            if (assign)
                x->flow = (uint32_t)a;
            a++;
        }
    }
    if (assign) {
        /* the model now indexes the new solver; dead arcs leave */
        for (uint32_t i = 0; i < m->nneeds; i++) {
            tam_match_need_t *n = &m->needs[i];
            n->flow = TAM_MATCH_NONE;
            uint32_t k = 0;
            for (uint32_t t = 0; t < n->narcs; t++) {
                n->arcs[t].pending = 0;
                if (n->arcs[t].live)
                    n->arcs[k++] = n->arcs[t];
            }
            n->narcs = k;
        }
        for (uint32_t q = 0; q < nn; q++) {
            tam_match_need_t *n = &m->needs[nord[q]];
            n->flow = q;
            n->flow_amount = pb->need_amount[q];
        }
        for (uint32_t j = 0; j < m->nprojects; j++)
            m->projects[j].flow = TAM_MATCH_NONE;
        for (uint32_t q = 0; q < np; q++) {
            tam_match_project_t *p = &m->projects[pb->project_slot[q]];
            p->flow = q;
            p->flow_budget = pb->project_budget[q];
            p->flow_mpn = p->max_per_need;
        }
        m->flow_arcs = a;
        m->nops = 0;
    }
    pb->p = (tam_flow_problem_t){.n_needs = nn, .n_projects = np, .n_arcs = a,
                                 .need_id = pb->need_id, .need_amount = pb->need_amount,
                                 .project_id = pb->project_id,
                                 .project_budget = pb->project_budget, .arcs = pb->arcs};
    free(nord);
    free(pix);
    free(aord);
    return 0;
fail:
    free(nord);
    free(pix);
    free(aord);
    tam_match__problem_free(pb);
    return rc;
}

#undef S_NEED_IN
#undef S_PROJ_IN

int tam_match__problem(const tam_match_t *m, tam_match_problem_t *out, bool with_solution)
{
    return s_problem((tam_match_t *)m, out, false, with_solution);
}

static int s_rebuild(tam_match_t *m)
{
    tam_match_problem_t pb;
    tam_flow_destroy(&m->flow);
    int rc = s_problem(m, &pb, true, false);
    if (rc == 0)
        rc = tam_flow_new(&m->flow, &pb.p);
    tam_match__problem_free(&pb);
    if (rc == 0)
        rc = tam_flow_run(m->flow, &m->sol);
    if (rc) {
        tam_flow_destroy(&m->flow);
        tam_flow_solution_free(&m->sol);
    }
    m->st.rebuilds++;
    return rc;
}

/* Passes the queued ops to the solver in an order that never asks it to hold
 * more fixed money than a need or budget has (docs/allocation.md). */
static int s_apply(tam_match_t *m)
{
    int rc = 0;
    tam_flow_t *f = m->flow;
    for (uint32_t i = 0; i < m->nneeds; i++) {
        tam_match_need_t *n = &m->needs[i];
        int64_t t = tam_match__need_amount(m, n);
        if (n->flow != TAM_MATCH_NONE && t > n->flow_amount) {
            if ((rc = tam_flow_set_need_amount(f, n->flow, t)))
                return rc;
            n->flow_amount = t;
        } else if (n->flow == TAM_MATCH_NONE && n->open) {
            if ((rc = tam_flow_add_need(f, n->id, t, &n->flow)))
                return rc;
            n->flow_amount = t;
        }
    }
    for (uint32_t j = 0; j < m->nprojects; j++) {
        tam_match_project_t *p = &m->projects[j];
        int64_t t = tam_match__project_budget(m, p);
        if (p->flow != TAM_MATCH_NONE && t > p->flow_budget) {
            if ((rc = tam_flow_set_project_budget(f, p->flow, t)))
                return rc;
            p->flow_budget = t;
        } else if (p->flow == TAM_MATCH_NONE && p->present) {
            if ((rc = tam_flow_add_project(f, p->key, t, &p->flow)))
                return rc;
            p->flow_budget = t;
            p->flow_mpn = p->max_per_need;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t o = 0; o < m->nops; o++) {
            tam_match_need_t *n = &m->needs[m->ops[o].need];
            tam_match_arc_t *a = tam_match__arc(n, m->ops[o].project);
            if (!a || !a->pending)
                continue;
            bool lower = !a->live || a->fixed < m->ops[o].old_fixed;
            if (pass == 0 && (!lower || a->flow == TAM_MATCH_NONE))
                continue;
            const tam_match_project_t *p = &m->projects[a->project];
            uint32_t tb = tam_match__tiebreak(n->id);
            if (a->flow != TAM_MATCH_NONE) {
                rc = tam_flow_set_arc(f, a->flow, a->live ? a->score : 0, tb,
                                      tam_match__arc_cap(p, a), a->fixed);
            } else if (a->live) {
                tam_flow_arc_t fa = {.need = n->flow, .project = p->flow, .score = a->score,
                                     .tiebreak = tb, .cap = tam_match__arc_cap(p, a),
                                     .fixed = a->fixed};
                rc = tam_flow_add_arc(f, &fa, &a->flow);
                if (rc == 0)
                    m->flow_arcs++;
            }
            if (rc)
                return rc;
            a->pending = 0;
        }
    }
    m->nops = 0;
    for (uint32_t i = 0; i < m->nneeds; i++) {
        tam_match_need_t *n = &m->needs[i];
        int64_t t = tam_match__need_amount(m, n);
        if (n->flow != TAM_MATCH_NONE && t != n->flow_amount) {
            if ((rc = tam_flow_set_need_amount(f, n->flow, t)))
                return rc;
            n->flow_amount = t;
        }
    }
    for (uint32_t j = 0; j < m->nprojects; j++) {
        tam_match_project_t *p = &m->projects[j];
        int64_t t = tam_match__project_budget(m, p);
        if (p->flow != TAM_MATCH_NONE && t != p->flow_budget) {
            if ((rc = tam_flow_set_project_budget(f, p->flow, t)))
                return rc;
            p->flow_budget = t;
        }
        p->flow_mpn = p->max_per_need;
    }
    return 0;
}

int tam_match__solve(tam_match_t *m, bool *warm)
{
    *warm = false;
    if (m->flow && !m->rebuild && m->flow_arcs > 2 * m->live_arcs + 100000)
        m->rebuild = true; /* dead arcs cost pivot searches: start afresh */
    if (m->flow && !m->rebuild) {
        int rc = s_apply(m);
        if (rc == 0)
            rc = tam_flow_run(m->flow, &m->sol);
        if (rc == 0 && m->sol.unique) {
            *warm = true;
            return 0;
        }
        if (rc)
            tam_warn("run: warm update of the allocation refused (%s); solving afresh",
                     tam_strerror(rc));
        else
            tam_debug("run: warm optimum not unique; solving afresh for the canonical one");
    }
    int rc = s_rebuild(m);
    m->rebuild = rc != 0;
    if (rc)
        tam_error("run: the allocation could not be solved: %s", tam_strerror(rc));
    return rc;
}

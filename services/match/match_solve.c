/* match_solve.c — the allocation problem as tam_flow sees it: the canonical
 * problem (for a rebuild and for the LP export), the warm update that passes
 * the queued ops to the solver, and the choice between a warm and a cold
 * solve (see match_alloc.c for when each happens). */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_int.h"

static int s_cmp_need(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    uint64_t x = m->needs[*(const uint32_t *)a].key, y = m->needs[*(const uint32_t *)b].key;
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
    free(pb->need_slot);
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
    /* assign (a run's rebuild): the model is only read until the re-index
     * at the end, and only the run writes it: readers may go on meanwhile
     * (the sort of 20k needs alone held them 26-42 ms) */
    if (assign)
        tam_match__unlock(m);
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
    pb->need_slot = malloc(((size_t)nn + 1) * sizeof *pb->need_slot);
    pb->need_amount = malloc(((size_t)nn + 1) * sizeof *pb->need_amount);
    pb->project_id = malloc(((size_t)np + 1) * sizeof *pb->project_id);
    pb->project_budget = malloc(((size_t)np + 1) * sizeof *pb->project_budget);
    pb->project_slot = malloc(((size_t)np + 1) * sizeof *pb->project_slot);
    pb->arcs = malloc((na + 1) * sizeof *pb->arcs);
    /* assign: the model's arcs in the new order, re-indexed at the end
     * (nothing in the model changes before then: readers may look in) */
    tam_match_arc_t **aptr = assign ? malloc((na + 1) * sizeof *aptr) : NULL;
    int rc = TAM_ENOMEM;
    if (!nord || !pix || !aord || !pb->need_id || !pb->need_slot || !pb->need_amount || !pb->project_id ||
        !pb->project_budget || !pb->project_slot || !pb->arcs || (assign && !aptr))
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
        pb->need_id[q] = n->key;
        pb->need_slot[q] = nord[q];
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
                                          .tiebreak = tam_match__tiebreak(n->key),
                                          .cap = tam_match__cap(assign ? p->max_per_need
                                                              : p->flow_mpn, n, x),
                                          .fixed = x->fixed};
            if (with_solution && x->flow != TAM_MATCH_NONE && x->flow < m->sol.n_arcs) {
                pb->s.x[a] = m->sol.x[x->flow];
                pb->s.arc_flags[a] = m->sol.arc_flags[x->flow];
            }
            if (assign)
                aptr[a] = x;
            a++;
        }
    }
    if (assign) {
        tam_match__lock(m);
        /* the model now indexes the new solver; dead arcs leave */
        for (uint64_t k = 0; k < a; k++)
            aptr[k]->flow = (uint32_t)k;
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
            n->flow_key = n->key;
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
    free(aptr);
    return 0;
fail:
    free(nord);
    free(pix);
    free(aord);
    free(aptr);
    tam_match__problem_free(pb);
    if (assign)
        tam_match__lock(m);
    return rc;
}

#undef S_NEED_IN
#undef S_PROJ_IN

int tam_match__problem(const tam_match_t *m, tam_match_problem_t *out, bool with_solution)
{
    return s_problem((tam_match_t *)m, out, false, with_solution);
}

/* Solves into m->work; readers may read the model and m->sol meanwhile
 * (the solver touches only m->flow and m->work). Lazy: m->work.x and
 * arc_flags are left as they were — the minimum-proposal rounds read x of a
 * few arcs with tam_flow_x, and s_rounds writes the whole of x once, for
 * the solve the run keeps (extracting x after each of ~4 solves was ~13% of
 * an incremental run at 20k x 500: 1.4M arcs gathered each time). */
static int s_flow_run(tam_match_t *m)
{
    tam_flow_set_cancel(m->flow, m->sync.owner == m ? m->sync.stop : NULL);
    tam_match__unlock(m);
    if (m->locked)
        m->st.locked_solves++; /* never: readers would wait for the solve */
    int rc = tam_flow_run_lazy(m->flow, &m->work);
    tam_match__lock(m);
    return rc;
}

/* m->work.x and arc_flags of the solve the run keeps. */
static int s_flow_x(tam_match_t *m)
{
    tam_match__unlock(m); /* reads m->flow, writes m->work only */
    int rc = tam_flow_fill_x(m->flow, &m->work);
    tam_match__lock(m);
    return rc;
}

static int s_rebuild(tam_match_t *m)
{
    tam_match_problem_t pb;
    /* no reader reads the solver: freeing it (hundreds of MB) without the
     * lock, before the problem is built (the peak stays as it was) */
    tam_match__unlock(m);
    tam_flow_destroy(&m->flow);
    tam_match__lock(m);
    /* the published solution comes along, re-indexed as the model now
     * indexes the new solver: readers keep reading it during the solve */
    int rc = s_problem(m, &pb, true, true);
    if (rc == 0) {
        tam_flow_solution_t old = m->sol;
        m->sol = pb.s;
        memset(&pb.s, 0, sizeof pb.s);
        /* building the solver reads only pb; no reader can reach the old
         * solution any more: both freed without the lock */
        tam_match__unlock(m);
        tam_flow_solution_free(&old);
        rc = tam_flow_new(&m->flow, &pb.p);
        tam_match__problem_free(&pb);
        tam_match__lock(m);
    } else {
        tam_match__problem_free(&pb);
    }
    if (rc == 0)
        rc = s_flow_run(m);
    if (rc) {
        tam_flow_destroy(&m->flow);
        tam_flow_solution_free(&m->work);
    }
    m->st.rebuilds++;
    return rc;
}

/* Passes the queued ops to the solver in an order that never asks it to hold
 * more fixed money than a need or budget has (docs/allocation.md). */
int tam_match__apply(tam_match_t *m)
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
            if ((rc = tam_flow_add_need(f, n->key, t, &n->flow)))
                return rc;
            n->flow_key = n->key;
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
            uint32_t tb = tam_match__tiebreak(n->key);
            if (a->flow != TAM_MATCH_NONE) {
                rc = tam_flow_set_arc(f, a->flow, a->live ? a->score : 0, tb,
                                      tam_match__arc_cap(p, n, a), a->fixed);
            } else if (a->live) {
                tam_flow_arc_t fa = {.need = n->flow, .project = p->flow, .score = a->score,
                                     .tiebreak = tb, .cap = tam_match__arc_cap(p, n, a),
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

/* Warm start is given up for a cold solve when more than S_WARM_NEW_PCT %
 * of the solver's needs (and more than S_WARM_NEW_MIN) are new. */
#define S_WARM_NEW_PCT 10
#define S_WARM_NEW_MIN 50

static int s_solve_once(tam_match_t *m, bool *warm)
{
    *warm = false;
    if (m->flow && !m->rebuild && m->flow_arcs > 2 * m->live_arcs + 100000)
        m->rebuild = true; /* dead arcs cost pivot searches: start afresh */
    if (m->flow && !m->rebuild) {
        /* a poor warm basis: when many needs arrive at once (a bulk load,
         * a feed's snapshot) every one of them hangs under the root and
         * warm pivoting costs far more than solving cold (measured: 14x the
         * pivots at 100k x 2000, 7.5x the time at 20k x 500; issue 16) */
        uint64_t fresh = 0, known = tam_flow_n_needs(m->flow);
        for (uint32_t i = 0; i < m->nneeds; i++)
            fresh += m->needs[i].open && m->needs[i].flow == TAM_MATCH_NONE;
        if (fresh > S_WARM_NEW_MIN && fresh * 100 > known * S_WARM_NEW_PCT) {
            tam_debug("run: %llu new need(s) beside %llu: solving cold", (unsigned long long)fresh,
                      (unsigned long long)known);
            m->rebuild = true;
        }
    }
    if (m->flow && !m->rebuild) {
        int rc = tam_match__apply(m);
        if (rc == 0)
            rc = s_flow_run(m);
        if (rc == TAM_ESTATE && tam_match__stopped(m))
            return rc;
        if (rc == 0 && m->work.unique) {
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
    if (rc == TAM_ESTATE && tam_match__stopped(m))
        return rc;
    if (rc)
        tam_error("run: the allocation could not be solved: %s", tam_strerror(rc));
    return rc;
}

/* Lets go of the arcs the last run held back (they may be worth proposing
 * now). */
static int s_release(tam_match_t *m)
{
    for (uint32_t k = 0; k < m->nfrags; k++) {
        uint32_t ns = (uint32_t)(m->frags[k] >> 32), ps = (uint32_t)m->frags[k];
        tam_match_arc_t *a = ns < m->nneeds ? tam_match__arc(&m->needs[ns], ps) : NULL;
        int rc;
        if (a && (rc = tam_match__set_frag(m, ns, a, false)))
            return rc;
    }
    m->nfrags = 0;
    for (uint32_t j = 0; j < m->nprojects; j++)
        m->projects[j].set_aside = 0; /* budgets go back to the solver in s_apply */
    for (uint32_t i = 0; i < m->nneeds; i++)
        m->needs[i].set_aside = 0;
    m->set_aside = 0;
    return 0;
}

/* Holds back every pair whose new money is above 0 and below the need's
 * minimum. From round S_EXACT_ROUNDS on, a fragment also sets its dollars
 * aside for this run on the side that binds — the budget of a spent project,
 * the last dollars of a funded need: otherwise the same remainder moves on
 * to the next need or project, one re-solve each (measured: over 60 rounds
 * at 5k x 200). Returns how many (>= 0) or a negative code. */
#define S_EXACT_ROUNDS 2
#define S_BATCH 64
static int64_t s_hold_back(tam_match_t *m)
{
    int64_t held = 0;
    for (uint32_t ns = 0; ns < m->nneeds; ns++) {
        if ((ns & 63) == 63)
            tam_match__yield(m);
        tam_match_need_t *n = &m->needs[ns];
        if (!n->open || n->flow == TAM_MATCH_NONE)
            continue;
        /* most needs get nothing: their arcs need no look (the scan of
         * every arc was 13% of a warm run at 20k x 500) */
        if (n->flow < m->work.n_needs && m->work.need_funded[n->flow] == 0)
            continue;
        /* nor do needs funded by their fixed amounts alone */
        if (tam_flow_need_new(m->flow, n->flow) == 0)
            continue;
        int64_t min = -1;
        /* x of the need's arcs in batches: they lie apart in the solver's
         * storage, and one tam_flow_x call each was 11% of a re-solving
         * run at 20k x 500 */
        uint32_t pos[S_BATCH], fa[S_BATCH];
        int64_t xs[S_BATCH];
        uint32_t nb = 0, ib = 0;
        for (uint32_t k = 0;; ib++) {
            if (ib == nb) {
                for (nb = ib = 0; k < n->narcs && nb < S_BATCH; k++) {
                    const tam_match_arc_t *c = &n->arcs[k];
                    if (c->live && c->eligible && !c->frag && c->flow < m->work.n_arcs) {
                        pos[nb] = k;
                        fa[nb++] = c->flow;
                    }
                }
                if (nb == 0)
                    break;
                tam_flow_x_many(m->flow, fa, nb, xs);
            }
            tam_match_arc_t *a = &n->arcs[pos[ib]];
            int64_t extra = xs[ib] - a->fixed;
            if (extra <= 0)
                continue;
            if (min < 0)
                min = tam_match__min_new(m, n);
            if (extra >= min)
                continue;
            int rc = tam_match__grow((void **)&m->frags, &m->cap_frags, m->nfrags + 1,
                                     sizeof *m->frags);
            if (rc == 0)
                rc = tam_match__set_frag(m, ns, a, true);
            if (rc)
                return rc;
            m->frags[m->nfrags++] = (uint64_t)ns << 32 | a->project;
            held++;
            tam_match_project_t *p = &m->projects[a->project];
            if (m->min_rounds < S_EXACT_ROUNDS)
                continue;
            /* the fragment's dollars leave the side(s) that bind: then the
             * rest of the allocation stays optimal and the remainder cannot
             * move on */
            if (p->flow < m->work.n_projects &&
                (m->work.project_flags[p->flow] & TAM_FLOW_PROJECT_EXHAUSTED)) {
                p->set_aside += extra;
                m->set_aside += extra;
            }
            if (m->work.need_flags[n->flow] & TAM_FLOW_NEED_FUNDED)
                n->set_aside += extra;
        }
    }
    return held;
}

/* Holds back up front the pairs of need slot ns whose cap leaves less new
 * money than the need's minimum: they could only ever give fragments. */
int tam_match__hold_capped(tam_match_t *m, uint32_t ns)
{
    tam_match_need_t *n = &m->needs[ns];
    if (!n->open)
        return 0;
    int64_t min = -1;
    for (uint32_t k = 0; k < n->narcs; k++) {
        tam_match_arc_t *a = &n->arcs[k];
        const tam_match_project_t *p = &m->projects[a->project];
        if (!a->live || !a->eligible || a->frag || p->max_per_need <= 0)
            continue;
        if (min < 0)
            min = tam_match__min_new(m, n);
        if (tam_match__arc_cap(p, n, a) - a->fixed >= min)
            continue;
        int rc = tam_match__grow((void **)&m->frags, &m->cap_frags, m->nfrags + 1,
                                 sizeof *m->frags);
        if (rc == 0)
            rc = tam_match__set_frag(m, ns, a, true);
        if (rc)
            return rc;
        m->frags[m->nfrags++] = (uint64_t)ns << 32 | a->project;
    }
    return 0;
}

static int s_hold_capped(tam_match_t *m)
{
    for (uint32_t ns = 0; ns < m->nneeds; ns++) {
        int rc = tam_match__hold_capped(m, ns);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_rounds(tam_match_t *m, bool *warm)
{
    int rc;
    if ((rc = s_release(m)))
        return rc;
    if ((m->par.min_amount > 0 || m->par.min_share > 0) && (rc = s_hold_capped(m)))
        return rc;
    if ((rc = s_solve_once(m, warm)) || (rc = tam_match__rd_record(m)))
        return rc;
    m->lp_bound = m->work.objective;
    m->min_rounds = 0;
    if (m->par.min_amount <= 0 && m->par.min_share <= 0)
        return s_flow_x(m);
    for (;;) {
        if (tam_match__stopped(m))
            return TAM_ESTATE;
        int64_t held = s_hold_back(m);
        if (held < 0)
            return (int)held;
        if (held == 0)
            return s_flow_x(m);
        bool w = false;
        int64_t t0 = tam_match__now_us();
        if ((rc = s_solve_once(m, &w)) || (rc = tam_match__rd_record(m)))
            return rc;
        *warm = *warm && w;
        m->min_rounds++;
        tam_debug("run: minimum proposal, round %u: %lld pair(s) held back, %s solve %lld us",
                  m->min_rounds, (long long)held, w ? "warm" : "cold",
                  (long long)(tam_match__now_us() - t0));
    }
}

int tam_match__solve(tam_match_t *m, bool *warm)
{
    m->canon_kept = false;
    /* a run whose only news are needs that get nothing: no re-solve */
    int rc = tam_match__quiet(m, warm);
    m->caps_moved = false;
    if (rc)
        return rc > 0 ? 0 : rc;
    m->rd_ok = false;
    m->rd_rounds = 0;
    rc = s_rounds(m, warm);
    m->rd_ok = rc == 0 && m->rd_unique;
    return rc;
}

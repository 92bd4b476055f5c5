/* match_quiet.c — quiet runs: new needs that get nothing change nothing.
 *
 * A run solves a sequence of problems (docs/matching.md, "The minimum
 * proposal"): round 0, the allocation with the pairs capped below the
 * minimum held back; then, while some pair gets a fragment, the same with
 * those held back too. Each solve's optimum is unique (else the run solves
 * cold for the canonical one), so the run's result is a function of its
 * inputs only.
 *
 * When the only news since the last run are needs added with their pairs
 * (no decision on them, nothing else changed), take the duals (y, z) the
 * solver gave in round r of the last run and set z = 0 for a new need. If
 * every new pair that could carry new money has a score strictly below y_j
 * in every round, then in each round:
 *   - the old allocation with nothing on the new pairs, and those duals,
 *     satisfy complementary slackness: the allocation is optimal;
 *   - every optimal allocation satisfies complementary slackness with those
 *     duals, so puts nothing on a pair with s < y + z: the optimal set is
 *     the old one with zeros on the new pairs, and the tie-break levels
 *     choose the same point in it;
 * so each round gives the old allocation again (the new needs get nothing,
 * hold nothing back, set nothing aside), and the run's result is the last
 * one's. The news go to the solver (for later runs) without a re-solve and
 * the last solution is extended with zeros. The canonical duals stay too
 * when no new pair is above its project's canonical price (they are the
 * least over a set that only shrank and still holds them); else they are
 * computed as in any run. The equality with a cold run is tested in
 * test_match_min (history). */
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_int.h"

static int s_reserve(int64_t **v, uint32_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    if (c > UINT32_MAX)
        return TAM_ENOMEM;
    int64_t *q = realloc(*v, c * sizeof *q);
    if (!q)
        return TAM_ENOMEM;
    *v = q;
    *cap = (uint32_t)c;
    return 0;
}

int tam_match__rd_record(tam_match_t *m)
{
    uint32_t np = m->nprojects, nn = m->nneeds;
    size_t r = m->rd_rounds;
    if (r == 0) {
        m->rd_np = np;
        m->rd_nn = nn;
    }
    if (m->rd_np != np || m->rd_nn != nn)
        return 0; /* cannot happen within a run */
    if (s_reserve(&m->rduals, &m->rd_cap, (r + 1) * np) ||
        s_reserve(&m->rzduals, &m->rz_cap, (r + 1) * nn))
        return TAM_ENOMEM;
    const tam_flow_solution_t *w = &m->work;
    int64_t *y = &m->rduals[r * np], *z = &m->rzduals[r * nn];
    for (uint32_t j = 0; j < np; j++) {
        uint32_t f = m->projects[j].flow;
        y[j] = f < w->n_projects ? w->project_dual[f] : -1;
    }
    for (uint32_t i = 0; i < nn; i++) {
        uint32_t f = m->needs[i].flow;
        z[i] = f < w->n_needs ? w->need_dual[f] : -1;
    }
    m->rd_rounds++;
    m->rd_unique = (r == 0 || m->rd_unique) && w->unique != 0;
    return 0;
}

static bool s_min_on(const tam_match_t *m)
{
    return m->par.min_amount > 0 || m->par.min_share > 0;
}

/* A pair held back up front (its cap leaves less than the need's minimum:
 * it holds its fixed amount, 0, in every solve) whose score alone changed:
 * nothing changes for the solver's allocation or the duals. */
static bool s_capped_score_only(const tam_match_t *m, const tam_match_need_t *n,
                                const tam_match_arc_t *a, const tam_match_op_t *op)
{
    /* (a cap group's shares moved: the pair's cap may have too, and then it
     * may not have been held back from the start of the last run) */
    if (!s_min_on(m) || m->caps_moved || !a->frag || !a->live || !a->eligible || a->fixed != 0 ||
        !op->old_live || !op->old_elig || op->old_fixed != 0)
        return false;
    const tam_match_project_t *p = &m->projects[a->project];
    if (p->max_per_need <= 0 || p->flow == TAM_MATCH_NONE)
        return false;
    /* as s_hold_capped sees it at the start of a run: nothing set aside,
     * the pair not held */
    tam_match_need_t free_n = *n;
    tam_match_arc_t free_a = *a;
    free_n.set_aside = 0;
    free_a.frag = 0;
    return tam_match__arc_cap(p, &free_n, &free_a) < tam_match__min_new(m, &free_n);
}

/* Whether the news are only new needs whose pairs stay below every round's
 * price; *canon: and below the canonical prices too. Changes nothing. */
static bool s_is_quiet(const tam_match_t *m, bool *canon)
{
    *canon = true;
    if (!m->rd_ok || !m->flow || m->rebuild || m->full || m->rd_rounds == 0 ||
        m->rd_np != m->nprojects || !m->sol.unique)
        return false;
    if (m->sol.n_needs != tam_flow_n_needs(m->flow) ||
        m->sol.n_projects != tam_flow_n_projects(m->flow) ||
        m->sol.n_arcs != tam_flow_n_arcs(m->flow))
        return false;
    for (uint32_t j = 0; j < m->nprojects; j++) {
        const tam_match_project_t *p = &m->projects[j];
        if (p->flow == TAM_MATCH_NONE) {
            if (p->present)
                return false;
        } else if (tam_match__project_budget(m, p) != p->flow_budget ||
                   p->flow_mpn != p->max_per_need) {
            return false;
        }
    }
    /* pairs of needs the solver knows: only score changes (a respondent's
     * other needs move in priority) of pairs priced out before and after */
    for (uint32_t o = 0; o < m->nops; o++) {
        const tam_match_op_t *op = &m->ops[o];
        const tam_match_need_t *n = &m->needs[op->need];
        if (n->flow == TAM_MATCH_NONE)
            continue; /* a new need's: below */
        const tam_match_arc_t *a = tam_match__arc((tam_match_need_t *)n, op->project);
        if (a && s_capped_score_only(m, n, a, op))
            continue;
        if (!a || op->need >= m->rd_nn || !a->live || !a->eligible || a->fixed != 0 ||
            a->frag || op->old_fixed != 0 || (op->old_live && !op->old_elig) ||
            (!op->old_live && a->flow != TAM_MATCH_NONE))
            return false;
        const tam_match_project_t *p = &m->projects[a->project];
        if (p->flow == TAM_MATCH_NONE || p->flow >= m->sol.n_projects)
            return false;
        int64_t cap = tam_match__arc_cap(p, n, a);
        if (cap <= 0 || (s_min_on(m) && p->max_per_need > 0 && cap < tam_match__min_new(m, n)))
            return false;
        for (uint32_t r = 0; r < m->rd_rounds; r++) {
            int64_t y = m->rduals[(size_t)r * m->rd_np + a->project];
            int64_t z = m->rzduals[(size_t)r * m->rd_nn + op->need];
            if (y < 0 || z < 0 || (int64_t)a->score >= y + z ||
                (op->old_live && (int64_t)op->old_score >= y + z))
                return false;
        }
        /* the least duals stay if the pair was not tight at them (so on no
         * longest path of match_dual.c's graph) and is not above them now */
        int64_t yc = m->sol.project_dual[p->flow];
        int64_t zc = n->flow < m->sol.n_needs ? m->sol.need_dual[n->flow] : -1;
        if (zc < 0 || (int64_t)a->score > yc + zc ||
            (op->old_live && (int64_t)op->old_score >= yc + zc))
            *canon = false;
    }
    uint32_t fresh = 0;
    for (uint32_t i = 0; i < m->nneeds; i++) {
        const tam_match_need_t *n = &m->needs[i];
        if (n->flow != TAM_MATCH_NONE) {
            if (tam_match__need_amount(m, n) != n->flow_amount)
                return false;
            continue;
        }
        if (!n->open)
            continue;
        if (tam_match__need_amount(m, n) <= 0 || n->fixed_sum != 0 || n->set_aside != 0)
            return false;
        fresh++;
        int64_t min = s_min_on(m) ? tam_match__min_new(m, n) : 0;
        for (uint32_t k = 0; k < n->narcs; k++) {
            const tam_match_arc_t *a = &n->arcs[k];
            if (!a->live)
                continue;
            const tam_match_project_t *p = &m->projects[a->project];
            if (a->fixed != 0 || a->frag || a->flow != TAM_MATCH_NONE ||
                p->flow == TAM_MATCH_NONE || p->flow >= m->sol.n_projects)
                return false;
            if (!a->eligible || a->score == 0)
                continue; /* nothing beyond the fixed amount (0) */
            int64_t cap = tam_match__arc_cap(p, n, a);
            if (cap <= 0)
                continue;
            if (s_min_on(m) && p->max_per_need > 0 && cap < min)
                continue; /* held back up front: stays at 0 */
            for (uint32_t r = 0; r < m->rd_rounds; r++)
                if ((int64_t)a->score >= m->rduals[(size_t)r * m->rd_np + a->project])
                    return false;
            if ((int64_t)a->score > m->sol.project_dual[p->flow])
                *canon = false;
        }
    }
    return fresh > 0;
}

#define S_EXTEND(ptr, n, from, nfrom)                                                          \
    do {                                                                                       \
        void *q_ = realloc((ptr), ((n) ? (n) : 1) * sizeof *(ptr));                            \
        if (!q_)                                                                               \
            return TAM_ENOMEM;                                                                 \
        (ptr) = q_;                                                                            \
        memcpy((ptr), (from), (nfrom) * sizeof *(ptr));                                        \
        memset((ptr) + (nfrom), 0, ((n) - (nfrom)) * sizeof *(ptr));                          \
    } while (0)

/* m->work = m->sol with zeros for the needs and arcs added since. */
static int s_extend(tam_match_t *m)
{
    const tam_flow_solution_t *s = &m->sol;
    tam_flow_solution_t *w = &m->work;
    size_t na = tam_flow_n_arcs(m->flow), nn = tam_flow_n_needs(m->flow);
    size_t np = tam_flow_n_projects(m->flow);
    if (na < s->n_arcs || nn < s->n_needs || np != s->n_projects)
        return TAM_ESTATE;
    S_EXTEND(w->x, na, s->x, s->n_arcs);
    S_EXTEND(w->arc_flags, na, s->arc_flags, s->n_arcs);
    S_EXTEND(w->need_funded, nn, s->need_funded, s->n_needs);
    S_EXTEND(w->need_dual, nn, s->need_dual, s->n_needs);
    S_EXTEND(w->need_flags, nn, s->need_flags, s->n_needs);
    S_EXTEND(w->project_used, np, s->project_used, np);
    S_EXTEND(w->project_dual, np, s->project_dual, np);
    S_EXTEND(w->project_flags, np, s->project_flags, np);
    w->n_arcs = na;
    w->n_needs = nn;
    w->n_projects = np;
    w->objective = s->objective;
    w->unique = s->unique;
    w->pivots = 0;
    return 0;
}

int tam_match__quiet(tam_match_t *m, bool *warm)
{
    bool canon;
    if (!s_is_quiet(m, &canon))
        return 0;
    /* the new needs: their capped pairs held back (as every run does), then
     * them and their pairs to the solver */
    uint32_t first = m->nneeds;
    int rc = 0;
    for (uint32_t i = 0; i < m->nneeds && rc == 0; i++)
        if (m->needs[i].flow == TAM_MATCH_NONE && m->needs[i].open) {
            if (i < first)
                first = i;
            if (s_min_on(m))
                rc = tam_match__hold_capped(m, i);
        }
    if (rc == 0)
        rc = tam_match__apply(m);
    if (rc == 0) {
        tam_match__unlock(m); /* m->work only */
        rc = s_extend(m);
        tam_match__lock(m);
    }
    if (rc) {
        /* the solver may hold part of the news: the run solves cold */
        tam_warn("run: passing new needs to the solver failed (%s); solving afresh",
                 tam_strerror(rc));
        m->rebuild = true;
        return 0;
    }
    /* flags of the new pairs: at cap when the cap is 0 (a pair held back) */
    for (uint32_t i = first; i < m->nneeds; i++) {
        const tam_match_need_t *n = &m->needs[i];
        if (n->flow == TAM_MATCH_NONE || n->flow < m->sol.n_needs)
            continue;
        for (uint32_t k = 0; k < n->narcs; k++) {
            const tam_match_arc_t *a = &n->arcs[k];
            if (a->live && a->flow < m->work.n_arcs && a->flow >= m->sol.n_arcs &&
                tam_match__arc_cap(&m->projects[a->project], n, a) == 0)
                m->work.arc_flags[a->flow] = TAM_FLOW_ARC_AT_CAP;
        }
    }
    m->canon_kept = canon;
    *warm = true;
    m->st.quiet_runs++;
    tam_debug("run: quiet: %zu new need(s) get nothing in any of %u solve(s); no re-solve",
              m->work.n_needs - m->sol.n_needs, m->rd_rounds);
    return 1;
}

/* match_query.c — the reads of tam-match, answered from the last run:
 * ranked proposals with filters and paging, the explanation of one pair, the
 * unmet needs, the run header and the LP export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_int.h"
#include "match_whatif.h"

static int s_codec_error(tam_rpc_error_t *err, const tam_codec_err_t *ce)
{
    tam_rpc_error_set(err, ce->code, ce->path, "%s", ce->message);
    return err->code;
}

static int s_answer(const tam_schema_t *s, const void *obj, msgpack_sbuffer *answer)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(answer);
    msgpack_packer_init(&pk, answer, msgpack_sbuffer_write);
    return tam_encode(s, obj, &pk, NULL);
}

static int s_no_run(const tam_match_t *m, tam_rpc_error_t *err)
{
    if (m->run_id)
        return 0;
    tam_rpc_error_set(err, TAM_ESTATE, "", "no run yet: the matcher is waiting for its feeds");
    return err->code;
}

/* Checks the filters shared by proposals and gaps; -1 = no filter. */
typedef struct {
    int country, standard;
    const char *group;
    char category;
    uint32_t project;
    const char *donor;
} s_filter_t;

static int s_filter(const tam_match_t *m, const char *country, const char *group,
                    const char *category, const char *standard, const char *project,
                    const char *donor, s_filter_t *f, tam_rpc_error_t *err)
{
    memset(f, 0, sizeof *f);
    f->country = f->standard = -1;
    f->project = TAM_MATCH_NONE;
    if (country && *country && (f->country = tam_match__country_ix(m, country)) < 0)
        tam_rpc_error_add(err, "country", "unknown country code \"%s\"", country);
    if (group && *group) {
        if (!tam_catalog_group(m->cat, group))
            tam_rpc_error_add(err, "group", "unknown regional group \"%s\" (AFRICAN, APG, EEG, "
                                            "GRULAC or WEOG)", group);
        f->group = group;
    }
    if (category && *category) {
        if (!tam_catalog_category(m->cat, category[0]))
            tam_rpc_error_add(err, "category", "unknown category \"%s\"", category);
        f->category = category[0];
    }
    if (standard && *standard && (f->standard = tam_match__standard_ix(m, standard)) < 0)
        tam_rpc_error_add(err, "standard", "unknown standard \"%s\"", standard);
    if (project && *project &&
        (f->project = tam_match__project_slot(m, project)) == TAM_MATCH_NONE) {
        tam_rpc_error_add(err, "project", "unknown project \"%s\"", project);
        err->code = TAM_ENOTFOUND;
    }
    if (donor && *donor)
        f->donor = donor;
    return err->code;
}

static bool s_match(const tam_match_t *m, const s_filter_t *f, uint16_t country, char category,
                    uint16_t standard, uint32_t project)
{
    if (f->country >= 0 && f->country != country)
        return false;
    if (f->group && strcmp(tam_match__country(m, country)->group, f->group) != 0)
        return false;
    if (f->category && f->category != category)
        return false;
    if (f->standard >= 0 && f->standard != standard)
        return false;
    if (f->project != TAM_MATCH_NONE && f->project != project)
        return false;
    if (f->donor) {
        const tam_match_project_t *p = &m->projects[project];
        bool any = false;
        for (uint32_t i = 0; !any && i < p->ndonors; i++)
            any = strcmp(p->donors[i], f->donor) == 0;
        if (!any)
            return false;
    }
    return true;
}

/* ---- match.proposals ---------------------------------------------------------------- */

typedef struct {
    const tam_match_t *m;
    tam_proposal_sort_t by;
} s_sort_t;

/* Orders indexes into m->props by a sort key; ties keep rank order (the
 * order of m->props), so the order is total and pages are stable. */
static int s_cmp_sort(const void *pa, const void *pb, void *arg)
{
    const s_sort_t *so = arg;
    uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
    const tam_match_prop_t *a = &so->m->props[ia], *b = &so->m->props[ib];
    int c = 0;
    switch (so->by) {
    case TAM_E_proposal_sort_score: c = (a->score < b->score) - (a->score > b->score); break;
    case TAM_E_proposal_sort_amount: c = (a->amount < b->amount) - (a->amount > b->amount); break;
    case TAM_E_proposal_sort_country:
        c = strcmp(tam_match__country(so->m, a->country)->iso3,
                   tam_match__country(so->m, b->country)->iso3);
        break;
    case TAM_E_proposal_sort_need: c = (a->need_id > b->need_id) - (a->need_id < b->need_id); break;
    case TAM_E_proposal_sort_project:
        c = strcmp(so->m->projects[a->project].id, so->m->projects[b->project].id);
        break;
    default: break;
    }
    return c ? c : (ia > ib) - (ia < ib);
}

/* Whether one of the proposal's texts contains q, ignoring case (q: the
 * query's free text, "" matches all). */
static bool s_text_match(const tam_match_t *m, const tam_match_prop_t *pr, const char *q)
{
    if (!q || !*q)
        return true;
    const tam_match_project_t *p = &m->projects[pr->project];
    const tam_country_t *c = tam_match__country(m, pr->country);
    char id[TAM_MATCH_ID_MAX + 32];
    tam_match__prop_id(m, pr, id, sizeof id);
    const char *texts[] = {id, c->iso3, c->name, c->group,
                           tam_match__standard(m, pr->standard)->id,
                           tam_match__modality(m, pr->modality)->code, p->id};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] && strcasestr(texts[i], q))
            return true;
    for (uint32_t i = 0; i < p->ndonors; i++)
        if (strcasestr(p->donors[i], q))
            return true;
    return false;
}

static int s_proposals(tam_match_t *m, const void *body, size_t len, tam_arena_t *a,
                       msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_proposal_query_t q;
    tam_codec_err_t ce;
    memset(&q, 0, sizeof q);
    if (tam_decode(&tam_schema_proposal_query, body, len, a, &q, &ce))
        return s_codec_error(err, &ce);
    s_filter_t f;
    int state = -1;
    if (q.state && *q.state &&
        (state = tam_enum_index(&tam_enum_proposal_state, q.state, strlen(q.state))) < 0)
        tam_rpc_error_add(err, "state", "unknown state \"%s\" (proposed, endorsed, committed or "
                                        "delivered)", q.state);
    if (s_filter(m, q.country, q.group, q.category, q.standard, q.project, q.donor, &f, err) ||
        s_no_run(m, err))
        return err->code;
    int64_t limit = q.limit ? q.limit : TAM_MATCH_PAGE;
    tam_proposal_list_t out = {.run = m->run_id, .hash = m->hash};
    out.items.v = tam_arena_alloc(a, (size_t)limit * sizeof *out.items.v);
    if (!out.items.v)
        return TAM_ENOMEM;
    /* The matching proposals, in rank order (m->props is), then in q.sort's. */
    uint32_t *ix = NULL, n = 0;
    if (q.sort != TAM_E_proposal_sort_rank &&
        !(ix = tam_arena_alloc(a, (size_t)(m->nprops ? m->nprops : 1) * sizeof *ix)))
        return TAM_ENOMEM;
    for (uint32_t k = 0; k < m->nprops; k++) {
        const tam_match_prop_t *pr = &m->props[k];
        if (!s_match(m, &f, pr->country, pr->category, pr->standard, pr->project) ||
            (state >= 0 && (int)pr->state != state) || !s_text_match(m, pr, q.q))
            continue;
        if (ix) {
            ix[n++] = k;
            continue;
        }
        if (out.total++ < q.offset || out.items.n >= limit)
            continue;
        int rc = tam_match__prop_struct(m, pr, a, &out.items.v[out.items.n]);
        if (rc)
            return rc;
        out.items.n++;
    }
    if (ix) {
        s_sort_t so = {m, q.sort};
        qsort_r(ix, n, sizeof *ix, s_cmp_sort, &so);
        out.total = n;
        for (uint32_t i = (uint32_t)(q.offset < n ? q.offset : n); i < n && out.items.n < limit; i++) {
            int rc = tam_match__prop_struct(m, &m->props[ix[i]], a, &out.items.v[out.items.n]);
            if (rc)
                return rc;
            out.items.n++;
        }
    }
    return s_answer(&tam_schema_proposal_list, &out, answer);
}

/* ---- match.explain ---------------------------------------------------------------------- */

/* Parses "<need id>/<project id>". */
static bool s_parse_ref(const char *s, uint64_t *need, const char **project)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || slash - s > 20)
        return false;
    uint64_t v = 0;
    for (const char *c = s; c < slash; c++) {
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    *need = v;
    *project = slash + 1;
    return **project != 0;
}

static int s_cmp_alt(const void *a, const void *b)
{
    const tam_alternative_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->amount != y->amount)
        return x->amount > y->amount ? -1 : 1;
    return strcmp(x->project, y->project);
}

static int s_explain(tam_match_t *m, const void *body, size_t len, tam_arena_t *a,
                     msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_proposal_ref_t q;
    tam_codec_err_t ce;
    memset(&q, 0, sizeof q);
    if (tam_decode(&tam_schema_proposal_ref, body, len, a, &q, &ce))
        return s_codec_error(err, &ce);
    uint64_t need_id;
    const char *pid;
    if (!s_parse_ref(q.id, &need_id, &pid))
        return tam_rpc_error_set(err, TAM_EINVAL, "id",
                                 "\"%s\" is not \"<need id>/<project id>\"", q.id),
               err->code;
    if (s_no_run(m, err))
        return err->code;
    uint32_t ns = tam_match__need_slot(m, need_id), ps = tam_match__project_slot(m, pid);
    if (ns == TAM_MATCH_NONE)
        return tam_rpc_error_set(err, TAM_ENOTFOUND, "id",
                                 "need %llu is not known to run %llu: no reply declared it",
                                 (unsigned long long)need_id, (unsigned long long)m->run_id),
               err->code;
    if (!m->needs[ns].in_run && m->needs[ns].open)
        return tam_rpc_error_set(err, TAM_ENOTFOUND, "id",
                                 "need %llu arrived after run %llu: ask again after the next run "
                                 "(tamctl wait)", (unsigned long long)need_id,
                                 (unsigned long long)m->run_id),
               err->code;
    if (ps == TAM_MATCH_NONE || !m->projects[ps].in_run)
        return tam_rpc_error_set(err, TAM_ENOTFOUND, "id", "project %s is not in run %llu", pid,
                                 (unsigned long long)m->run_id),
               err->code;
    const tam_match_need_t *n = &m->needs[ns];
    const tam_match_project_t *p = &m->projects[ps];
    const tam_match_decision_t *dec = tam_match__decision(m, need_id, p->id);
    bool declined = dec && dec->state == TAM_E_decision_state_declined;
    int64_t dec_fixed = dec ? tam_match_decision_fixed(dec) : 0;

    tam_explanation_t ex;
    memset(&ex, 0, sizeof ex);
    ex.run = m->run_id;
    ex.hash = m->hash;
    ex.proposal = tam_arena_alloc(a, sizeof *ex.proposal);
    ex.eligibility.v = tam_arena_alloc(a, 32 * sizeof(char *));
    ex.binding.v = tam_arena_alloc(a, 16 * sizeof(char *));
    if (!ex.proposal || !ex.eligibility.v || !ex.binding.v)
        return TAM_ENOMEM;
    uint32_t k = n->in_run ? tam_match__prop_find(m, need_id, ps) : TAM_MATCH_NONE;
    tam_match_prop_t tmp;
    const tam_match_prop_t *pr;
    if (k != TAM_MATCH_NONE) {
        pr = &m->props[k];
    } else {
        memset(&tmp, 0, sizeof tmp);
        tmp.need_id = need_id;
        tmp.project = ps;
        tmp.country = n->country;
        tmp.standard = n->standard;
        tmp.modality = n->modality;
        tmp.category = n->category;
        tam_match_factors_t f;
        tam_match__factors(m, n, p, m->run_date, &f);
        memcpy(tmp.f, f.v, sizeof tmp.f);
        tmp.score = (uint16_t)tam_match_score(&m->par, &f);
        tmp.state = tam_match__prop_state(dec);
        /* money decided on a need that is no longer open still stands */
        tmp.amount = tmp.fixed = n->in_run ? 0 : dec_fixed;
        tmp.run = m->run_id;
        tmp.reason = TAM_E_change_reason_unchanged;
        pr = &tmp;
    }
    int rc = tam_match__prop_struct(m, pr, a, ex.proposal);
    if (rc)
        return rc;
    ex.rank = k != TAM_MATCH_NONE ? pr->rank : 0;
    tam_match_excl_t excl = tam_match__elig(m, n, p, declined);
    if (dec_fixed > 0)
        ex.state = dec->state == TAM_E_decision_state_endorsed    ? TAM_E_pair_state_endorsed
                   : dec->state == TAM_E_decision_state_committed ? TAM_E_pair_state_committed
                                                                  : TAM_E_pair_state_delivered;
    else if (declined)
        ex.state = TAM_E_pair_state_declined;
    else if (!n->in_run)
        ex.state = TAM_E_pair_state_need_closed;
    else if (k != TAM_MATCH_NONE)
        ex.state = TAM_E_pair_state_proposed;
    else if (excl == TAM_MATCH_ELIGIBLE)
        ex.state = TAM_E_pair_state_unfunded;
    else
        ex.state = TAM_E_pair_state_ineligible;
    ex.eligibility.n = (uint32_t)tam_match__explain_elig(m, n, p, declined, m->run_date, a,
                                                         ex.eligibility.v, 32);

    int64_t funded = (n->flow < m->sol.n_needs && n->in_run ? m->sol.need_funded[n->flow] : 0) +
                     tam_match__fixed_out(n);
    ex.need_cost = n->cost;
    ex.need_fixed = tam_match__need_fixed(m, n->id);
    if (!n->in_run)
        funded = ex.need_fixed;
    ex.need_unfunded = n->in_run && n->cost > funded ? n->cost - funded : 0;
    ex.equity_basis = m->country_fixed[n->country] > 0 ? m->country_fixed[n->country] : 0;
    ex.equity_scale = m->par.equity_scale;
    ex.project_available = p->available;
    /* the money as project show and the reports give it (tam/money.h) */
    if (!(ex.money = tam_arena_alloc(a, sizeof *ex.money)))
        return TAM_ENOMEM;
    if ((rc = tam_match__money(m, need_id, ps, ex.money)))
        return rc;
    int64_t ydual = p->flow < m->sol.n_projects ? m->sol.project_dual[p->flow] : 0;
    int64_t zdual = n->flow < m->sol.n_needs ? m->sol.need_dual[n->flow] : 0;
    ex.project_dual = ydual < 0 ? 0 : (ydual > TAM_FLOW_SCORE_MAX ? TAM_FLOW_SCORE_MAX : ydual);
    ex.project_dual_range = p->dual_range;
    ex.run_date = m->run_date;
    ex.urgency_horizon_days = m->par.horizon_days;
    ex.declared_priority = n->priority;
    ex.declared_start = n->start;
    ex.declared_completeness = n->completeness_declared;
    ex.answered = n->answered;
    ex.ldc = tam_match__country(m, n->country)->ldc;
    ex.mission = m->missions[n->country].present &&
                         m->missions[n->country].valid_from <= m->run_date
                     ? (char *)m->missions[n->country].operation
                     : "";
    if (!(ex.basis.v = tam_arena_alloc(a, 16 * sizeof(char *))))
        return TAM_ENOMEM;
    ex.basis.n = (uint32_t)tam_match__basis(m, n, a, ex.basis.v, 16);

    /* binding constraints, from the solver's flags */
    char line[201];
    const tam_match_arc_t *arc = tam_match__arc(n, ps);
    uint8_t af = arc && arc->live && arc->flow < m->sol.n_arcs ? m->sol.arc_flags[arc->flow] : 0;
    uint8_t nf = n->in_run && n->flow < m->sol.n_needs ? m->sol.need_flags[n->flow] : 0;
    uint8_t pf = p->flow < m->sol.n_projects ? m->sol.project_flags[p->flow] : 0;
#define S_BIND(...)                                                            \
    do {                                                                       \
        snprintf(line, sizeof line, __VA_ARGS__);                              \
        if (ex.binding.n < 16 &&                                               \
            (ex.binding.v[ex.binding.n] = tam_arena_strndup(a, line, strlen(line)))) \
            ex.binding.n++;                                                    \
    } while (0)
    char u1[32], u2[32];
    if (pr->fixed > 0)
        S_BIND("%s USD fixed by a decision (%s)", tam_match__usd(pr->fixed, u1),
               tam_enum_proposal_state.values[pr->state]);
    if (n->in_run && ex.need_fixed >= n->cost && ex.need_fixed > 0)
        S_BIND("no new money: decisions already fix %s USD for the need, which costs %s",
               tam_match__usd(ex.need_fixed, u1), tam_match__usd(n->cost, u2));
    if (af & TAM_FLOW_ARC_AT_CAP)
        S_BIND("per-need cap reached: the project gives at most %s USD to one need",
               tam_match__usd(tam_match__arc_cap(p, n, arc), u1));
    if (nf & TAM_FLOW_NEED_FUNDED)
        S_BIND("need fully funded: %s USD of %s", tam_match__usd(funded, u1),
               tam_match__usd(n->cost, u2));
    if (pf & TAM_FLOW_PROJECT_EXHAUSTED)
        S_BIND("project budget exhausted: all %s USD it may give are allocated; one more "
               "dollar would add %lld points%s%s%s", tam_match__usd(p->flow_budget, u1),
               (long long)ydual, p->dual_range > 0 ? ", and each of the next " : "",
               p->dual_range > 0 ? tam_match__usd(p->dual_range, u2) : "",
               p->dual_range > 0 ? " USD as much (the dual's range)" : "");
    if (arc && arc->live && arc->frag)
        S_BIND("held back: the LP optimum gave it new money below the minimum proposal of %s "
               "USD for this need (larger of min_amount %lld USD and min_share %lld%% of its "
               "cost); the allocation was solved again without it",
               tam_match__usd(tam_match__min_new(m, n), u1), (long long)m->par.min_amount,
               (long long)m->par.min_share);
    else if (arc && arc->live && arc->eligible && pr->amount == 0)
        S_BIND("not funded: its score %u is not above what the money earns elsewhere (project "
               "dual %lld + need dual %lld)", (unsigned)pr->score, (long long)ydual,
               (long long)zdual);
    if (ex.binding.n == 0 && pr->amount > 0)
        S_BIND("no constraint binds on this pair alone");
#undef S_BIND

    /* alternatives: the need's other eligible projects */
    uint32_t nalt = 0;
    for (uint32_t i = 0; i < n->narcs; i++)
        nalt += n->arcs[i].live && n->arcs[i].eligible && n->arcs[i].project != ps;
    if (nalt > 1000)
        nalt = 1000;
    ex.alternatives.v = tam_arena_alloc(a, ((size_t)nalt + 1) * sizeof *ex.alternatives.v);
    if (!ex.alternatives.v)
        return TAM_ENOMEM;
    for (uint32_t i = 0; i < n->narcs && ex.alternatives.n < nalt; i++) {
        const tam_match_arc_t *x = &n->arcs[i];
        if (!x->live || !x->eligible || x->project == ps)
            continue;
        ex.alternatives.v[ex.alternatives.n++] = (tam_alternative_t){
            .project = (char *)m->projects[x->project].id,
            .score = x->score,
            .amount = x->flow < m->sol.n_arcs ? m->sol.x[x->flow] : 0};
    }
    qsort(ex.alternatives.v, ex.alternatives.n, sizeof *ex.alternatives.v, s_cmp_alt);
    return s_answer(&tam_schema_explanation, &ex, answer);
}

/* ---- match.gaps --------------------------------------------------------------------------- */

typedef struct {
    uint32_t need;
    int64_t funded, unfunded;
    uint64_t id;
} s_gap_t;

static int s_cmp_gap(const void *a, const void *b)
{
    const s_gap_t *x = a, *y = b;
    if (x->unfunded != y->unfunded)
        return x->unfunded > y->unfunded ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Why a need is (partly) unfunded, in at most 200 bytes. */
static char *s_gap_reason(const tam_match_t *m, const tam_match_need_t *n, tam_arena_t *a)
{
    char b[201];
    uint32_t elig = 0, capped = 0, exhausted = 0;
    for (uint32_t i = 0; i < n->narcs; i++) {
        const tam_match_arc_t *x = &n->arcs[i];
        if (!x->live || !x->eligible)
            continue;
        elig++;
        const tam_match_project_t *p = &m->projects[x->project];
        if (x->flow < m->sol.n_arcs && (m->sol.arc_flags[x->flow] & TAM_FLOW_ARC_AT_CAP))
            capped++;
        else if (p->flow < m->sol.n_projects &&
                 (m->sol.project_flags[p->flow] & TAM_FLOW_PROJECT_EXHAUSTED))
            exhausted++;
    }
    if (elig) {
        snprintf(b, sizeof b,
                 "%u eligible project(s): %u at their per-need cap, %u with their money "
                 "allocated to higher-scoring needs", elig, capped, exhausted);
        return tam_arena_strndup(a, b, strlen(b));
    }
    uint32_t cnt[TAM_MATCH_X__COUNT] = {0};
    uint32_t np = 0;
    for (uint32_t j = 0; j < m->nprojects; j++) {
        const tam_match_project_t *p = &m->projects[j];
        if (!p->in_run)
            continue;
        np++;
        const tam_match_decision_t *d =
            n->dec_head == TAM_MATCH_NONE ? NULL : tam_match__decision(m, n->id, p->id);
        cnt[tam_match__elig(m, n, p, d && d->state == TAM_E_decision_state_declined)]++;
    }
    int k = snprintf(b, sizeof b, "no project may fund it");
    if (np == 0)
        snprintf(b + k, sizeof b - (size_t)k, ": no projects");
    const char *sep = ": ";
    for (int x = 1; x < TAM_MATCH_X__COUNT && k < (int)sizeof b - 1; x++) {
        if (!cnt[x])
            continue;
        k += snprintf(b + k, sizeof b - (size_t)k, "%s%s (%u)", sep,
                      tam_match__excl_text((tam_match_excl_t)x), cnt[x]);
        sep = ", ";
    }
    if (k >= (int)sizeof b)
        memcpy(b + sizeof b - 4, "...", 4);
    return tam_arena_strndup(a, b, strlen(b));
}

static int s_gaps(tam_match_t *m, const void *body, size_t len, tam_arena_t *a,
                  msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_gap_query_t q;
    tam_codec_err_t ce;
    memset(&q, 0, sizeof q);
    if (tam_decode(&tam_schema_gap_query, body, len, a, &q, &ce))
        return s_codec_error(err, &ce);
    s_filter_t f;
    if (s_filter(m, q.country, q.group, q.category, NULL, NULL, NULL, &f, err) ||
        s_no_run(m, err))
        return err->code;
    s_gap_t *g = malloc(((size_t)m->nneeds + 1) * sizeof *g);
    if (!g)
        return TAM_ENOMEM;
    uint32_t ng = 0;
    tam_gap_list_t out = {.run = m->run_id, .hash = m->hash};
    for (uint32_t i = 0; i < m->nneeds; i++) {
        const tam_match_need_t *n = &m->needs[i];
        if (!n->in_run || !s_match(m, &f, n->country, n->category, n->standard, TAM_MATCH_NONE))
            continue;
        int64_t funded = (n->flow < m->sol.n_needs ? m->sol.need_funded[n->flow] : 0) +
                         tam_match__fixed_out(n);
        if (funded >= n->cost)
            continue;
        g[ng++] = (s_gap_t){i, funded, n->cost - funded, n->id};
        out.unfunded += n->cost - funded;
    }
    qsort(g, ng, sizeof *g, s_cmp_gap);
    out.total = ng;
    int64_t limit = q.limit ? q.limit : TAM_MATCH_PAGE;
    uint32_t from = q.offset < ng ? (uint32_t)q.offset : ng;
    uint32_t cnt = ng - from < limit ? ng - from : (uint32_t)limit;
    out.items.v = tam_arena_alloc(a, ((size_t)cnt + 1) * sizeof *out.items.v);
    int rc = TAM_ENOMEM;
    if (!out.items.v)
        goto out;
    for (uint32_t k = 0; k < cnt; k++) {
        const s_gap_t *x = &g[from + k];
        const tam_match_need_t *n = &m->needs[x->need];
        const tam_country_t *c = tam_match__country(m, n->country);
        tam_gap_t *o = &out.items.v[out.items.n++];
        o->need = n->id;
        o->country = (char *)c->iso3;
        o->group = (char *)c->group;
        o->category = tam_arena_strndup(a, &n->category, 1);
        o->standard = (char *)tam_match__standard(m, n->standard)->id;
        o->modality = (char *)tam_match__modality(m, n->modality)->code;
        o->priority = n->priority;
        o->cost = n->cost;
        o->funded = x->funded;
        o->unfunded = x->unfunded;
        o->reason = s_gap_reason(m, n, a);
        if (!o->category || !o->reason)
            goto out;
    }
    rc = s_answer(&tam_schema_gap_list, &out, answer);
out:
    free(g);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

int tam_match_query(tam_match_t *m, int msg_id, const void *body, size_t len, tam_arena_t *a,
                    msgpack_sbuffer *answer, tam_rpc_error_t *err)
{
    tam_codec_err_t ce;
    switch (msg_id) {
    case TAM_MSG_match_proposals:
        return s_proposals(m, body, len, a, answer, err);
    case TAM_MSG_match_explain:
        return s_explain(m, body, len, a, answer, err);
    case TAM_MSG_match_gaps:
        return s_gaps(m, body, len, a, answer, err);
    case TAM_MSG_match_run: {
        tam_ping_t q;
        memset(&q, 0, sizeof q);
        if (tam_decode(&tam_schema_ping, body, len, a, &q, &ce))
            return s_codec_error(err, &ce);
        if (s_no_run(m, err))
            return err->code;
        msgpack_sbuffer_clear(answer);
        return msgpack_sbuffer_write(answer, (const char *)m->header, m->header_len) ? TAM_ENOMEM
                                                                                   : 0;
    }
    case TAM_MSG_match_export_lp: {
        tam_lp_request_t q;
        memset(&q, 0, sizeof q);
        if (tam_decode(&tam_schema_lp_request, body, len, a, &q, &ce))
            return s_codec_error(err, &ce);
        tam_lp_chunk_t c;
        memset(&c, 0, sizeof c);
        int rc = tam_match__export_lp(m, &q, &c, err);
        if (rc || err->code) {
            free(c.text);
            return rc ? rc : err->code;
        }
        rc = s_answer(&tam_schema_lp_chunk, &c, answer);
        free(c.text);
        return rc;
    }
    case TAM_MSG_match_whatif: /* match_whatif.c */
        return tam_match__whatif_query(m, body, len, a, answer, err);
    case TAM_MSG_match_advise: /* match_advise.c */
        return tam_match__advise_query(m, body, len, a, answer, err);
    default:
        return tam_rpc_error_unknown_type(err, "?"), err->code;
    }
}

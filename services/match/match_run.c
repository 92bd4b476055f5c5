/* match_run.c — one run of the matcher: bring the rows and columns that
 * changed up to date, solve the allocation, rank the proposals, compare them
 * with the previous run's and publish the run header and the proposals that
 * changed (docs/matching.md, "Runs"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "tam/log.h"
#include "match_int.h"

int64_t tam_match__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

tam_proposal_state_t tam_match__prop_state(const tam_match_decision_t *d)
{
    if (!d || !d->present)
        return TAM_E_proposal_state_proposed;
    switch (d->state) {
    case TAM_E_decision_state_endorsed:
        return TAM_E_proposal_state_endorsed;
    case TAM_E_decision_state_committed:
        return TAM_E_proposal_state_committed;
    case TAM_E_decision_state_delivered:
        return TAM_E_proposal_state_delivered;
    default:
        return TAM_E_proposal_state_proposed;
    }
}

/* ---- a run in a worker thread ------------------------------------------------------ */

void tam_match_set_sync(tam_match_t *m, const tam_match_sync_t *sync)
{
    if (sync)
        m->sync = *sync;
    else
        memset(&m->sync, 0, sizeof m->sync);
}

void tam_match__unlock(tam_match_t *m)
{
    m->locked = false;
    if (m->sync.owner == m && m->sync.unlock)
        m->sync.unlock(m->sync.arg);
}

void tam_match__lock(tam_match_t *m)
{
    if (m->sync.owner == m && m->sync.lock)
        m->sync.lock(m->sync.arg);
    m->locked = m->sync.owner == m;
}

void tam_match__yield(tam_match_t *m)
{
    if (m->sync.owner == m && m->sync.yield)
        m->sync.yield(m->sync.arg);
}

bool tam_match__stopped(const tam_match_t *m)
{
    return m->sync.owner == m && m->sync.stop && __atomic_load_n(m->sync.stop, __ATOMIC_RELAXED);
}

void tam_match_set_run_floor(tam_match_t *m, uint64_t last)
{
    if (last > m->run_floor)
        m->run_floor = last;
}

uint64_t tam_match_next_run_id(const tam_match_t *m)
{
    return (m->run_id > m->run_floor ? m->run_id : m->run_floor) + 1;
}

uint64_t tam_match_run_id(const tam_match_t *m)
{
    return m->run_id;
}

const char *tam_match_run_hash(const tam_match_t *m)
{
    return m->hash;
}

uint32_t tam_match_run_date(const tam_match_t *m)
{
    return m->run_id ? m->run_date : 0;
}

void tam_match_stats(const tam_match_t *m, tam_match_stats_t *out)
{
    *out = m->st;
}

/* ---- proposals as records --------------------------------------------------------- */

void tam_match__prop_id(const tam_match_t *m, const tam_match_prop_t *pr, char *buf, size_t n)
{
    snprintf(buf, n, "%llu/%s", (unsigned long long)pr->need_id, m->projects[pr->project].id);
}

uint32_t tam_match__prop_find(const tam_match_t *m, uint64_t need_id, uint32_t project_slot)
{
    return tam_match_map_get(&m->prop_map, TAM_MATCH_PAIR_KEY(need_id, project_slot));
}

int tam_match__prop_struct(const tam_match_t *m, const tam_match_prop_t *pr, tam_arena_t *a,
                           tam_proposal_t *o)
{
    const tam_match_project_t *p = &m->projects[pr->project];
    const tam_country_t *c = tam_match__country(m, pr->country);
    char id[TAM_MATCH_ID_MAX + 32];
    tam_match__prop_id(m, pr, id, sizeof id);
    memset(o, 0, sizeof *o);
    o->id = tam_arena_strndup(a, id, strlen(id));
    o->run = pr->run;
    o->need = pr->need_id;
    o->project = (char *)p->id;
    o->donors.n = p->ndonors;
    o->donors.v = tam_arena_alloc(a, (p->ndonors + 1) * sizeof(char *));
    o->country = (char *)c->iso3;
    o->group = (char *)c->group;
    o->category = tam_arena_strndup(a, &pr->category, 1);
    o->standard = (char *)tam_match__standard(m, pr->standard)->id;
    o->modality = (char *)tam_match__modality(m, pr->modality)->code;
    o->rank = pr->rank;
    o->amount = pr->amount;
    o->fixed = pr->fixed;
    o->score = pr->score;
    o->state = pr->state;
    o->reason = pr->reason;
    o->fixed_only = pr->fixed_only;
    o->factors.n = TAM_MATCH_NF;
    o->factors.v = tam_arena_alloc(a, TAM_MATCH_NF * sizeof *o->factors.v);
    if (!o->id || !o->donors.v || !o->category || !o->factors.v)
        return TAM_ENOMEM;
    for (uint32_t i = 0; i < p->ndonors; i++)
        o->donors.v[i] = (char *)p->donors[i];
    tam_match_factors_t f;
    memcpy(f.v, pr->f, sizeof f.v);
    int64_t pts[TAM_MATCH_NF];
    tam_match_points(&m->par, &f, pts);
    for (int k = 0; k < TAM_MATCH_NF; k++)
        o->factors.v[k] = (tam_factor_t){.name = (char *)tam_match_factor_names[k],
                                         .value = pr->f[k], .weight = m->par.w[k],
                                         .points = pts[k]};
    return 0;
}

int tam_match__encode_prop(const tam_match_t *m, const tam_match_prop_t *pr, msgpack_sbuffer *sb)
{
    tam_arena_t *a = tam_arena_new(4096);
    if (!a)
        return TAM_ENOMEM;
    tam_proposal_t o;
    int rc = tam_match__prop_struct(m, pr, a, &o);
    if (rc == 0) {
        msgpack_sbuffer_clear(sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        rc = tam_encode(&tam_schema_proposal, &o, &pk, NULL);
    }
    tam_arena_destroy(&a);
    return rc;
}

static void s_topic(const tam_match_t *m, const tam_match_prop_t *pr, char *buf, size_t n)
{
    snprintf(buf, n, "prop/%s/%c", tam_match__country(m, pr->country)->iso3, pr->category);
}

/* ---- preparing a run ---------------------------------------------------------------- */

/* Totals from the decisions: per project committed money (and the part on
 * needs that are not open), per country the endorsed and committed money
 * (equity). Projects whose can_fund flips and needs whose country's total
 * moved get recomputed. */
static int s_prepare(tam_match_t *m)
{
    int64_t cf[TAM_MATCH_MAX_COUNTRIES] = {0};
    int rc = tam_match__keys(m);
    if (rc)
        return rc;
    for (uint32_t j = 0; j < m->nprojects; j++)
        m->projects[j].committed = m->projects[j].committed_out = 0;
    for (uint32_t d = 0; d < m->ndecs; d++) {
        const tam_match_decision_t *x = &m->decs[d];
        if (!x->present)
            continue;
        int c = tam_match__country_ix(m, x->country);
        if (c >= 0)
            cf[c] += tam_match_decision_fixed(x);
        if (x->state != TAM_E_decision_state_committed &&
            x->state != TAM_E_decision_state_delivered)
            continue;
        uint32_t ps = tam_match__project_slot(m, x->project);
        if (ps == TAM_MATCH_NONE)
            continue;
        m->projects[ps].committed += x->committed;
        uint32_t ns = tam_match__need_slot(m, x->need);
        if (ns == TAM_MATCH_NONE || !m->needs[ns].open)
            m->projects[ps].committed_out += x->committed;
    }
    for (uint32_t j = 0; j < m->nprojects; j++) {
        tam_match_project_t *p = &m->projects[j];
        p->available = p->received - p->committed;
        bool can = p->present && p->status == TAM_E_project_status_active && p->available > 0;
        if (can != p->can_fund) {
            p->can_fund = can;
            if ((rc = tam_match__dirty_project(m, j)))
                return rc;
        }
    }
    bool moved[TAM_MATCH_MAX_COUNTRIES] = {0}, any = false;
    for (size_t c = 0; c < m->ncountries; c++)
        if (cf[c] != m->country_fixed[c]) {
            moved[c] = any = true;
            m->country_fixed[c] = cf[c];
        }
    if (any && !m->full)
        for (uint32_t i = 0; i < m->nneeds; i++)
            if (m->needs[i].open && moved[m->needs[i].country] &&
                (rc = tam_match__dirty_need(m, i)))
                return rc;
    return 0;
}

static int s_recompute(tam_match_t *m)
{
    int rc = 0;
    /* rows are whole between them: waiting readers may look in after each */
    if (m->full) {
        for (uint32_t i = 0; i < m->nneeds && rc == 0; i++) {
            rc = tam_match__row(m, i);
            tam_match__yield(m);
            if ((i & 63) == 63 && tam_match__stopped(m))
                rc = TAM_ESTATE;
        }
        m->rebuild = true;
    } else {
        for (uint32_t k = 0; k < m->ndirty_needs && rc == 0; k++) {
            rc = tam_match__row(m, m->dirty_needs[k]);
            tam_match__yield(m);
        }
        for (uint32_t k = 0; k < m->ndirty_projects && rc == 0; k++) {
            rc = tam_match__column(m, m->dirty_projects[k]);
            tam_match__yield(m);
        }
    }
    if (rc)
        return rc;
    for (uint32_t k = 0; k < m->ndirty_needs; k++)
        m->needs[m->dirty_needs[k]].dirty = false;
    for (uint32_t k = 0; k < m->ndirty_projects; k++)
        m->projects[m->dirty_projects[k]].dirty = false;
    m->ndirty_needs = m->ndirty_projects = 0;
    m->full = false;
    return 0;
}

/* ---- ranking and diffing ----------------------------------------------------------------- */

static int s_cmp_rank(const void *a, const void *b, void *arg)
{
    const tam_match_t *m = arg;
    const tam_match_prop_t *x = a, *y = b;
    if (x->fixed_only != y->fixed_only)
        return x->fixed_only ? 1 : -1; /* nobody can act on these: after the others */
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->amount != y->amount)
        return x->amount > y->amount ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(m->projects[x->project].id, m->projects[y->project].id);
}

/* The run's totals, computed beside readers and stored when it publishes. */
typedef struct {
    int64_t requested, funded, unfunded, pairs, needs;
    int64_t *elig;  /* [nprojects] eligible needs per project */
} s_totals_t;

static void s_totals_commit(tam_match_t *m, s_totals_t *t)
{
    for (uint32_t j = 0; j < m->nprojects; j++)
        m->projects[j].eligible_needs = t->elig[j];
    m->requested = t->requested;
    m->funded = t->funded;
    m->unfunded = t->unfunded;
    m->st.pairs = t->pairs;
    m->st.needs = t->needs;
}

/* The proposals of the solution just found (m->work), ranked, and the
 * run's totals into *t (t->elig allocated; changes nothing in m). */
static int s_collect(const tam_match_t *m, tam_match_prop_t **out, uint32_t *nout, s_totals_t *t)
{
    uint32_t cap = 1024, n = 0;
    memset(t, 0, sizeof *t);
    tam_match_prop_t *v = malloc(cap * sizeof *v);
    t->elig = calloc((size_t)m->nprojects + 1, sizeof *t->elig);
    if (!v || !t->elig) {
        free(v);
        free(t->elig);
        t->elig = NULL;
        return TAM_ENOMEM;
    }
    for (uint32_t i = 0; i < m->nneeds; i++) {
        const tam_match_need_t *n_ = &m->needs[i];
        if (!n_->open)
            continue;
        t->needs++;
        int64_t funded = 0;
        for (uint32_t k = 0; k < n_->narcs; k++) {
            const tam_match_arc_t *a = &n_->arcs[k];
            if (!a->live)
                continue;
            if (a->eligible) {
                t->elig[a->project]++;
                t->pairs++;
            }
            int64_t x = a->flow < m->work.n_arcs ? m->work.x[a->flow] : 0;
            if (x <= 0)
                continue;
            funded += x;
            if (n == cap) {
                cap *= 2;
                tam_match_prop_t *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    free(t->elig);
                    t->elig = NULL;
                    return TAM_ENOMEM;
                }
                v = nv;
            }
            tam_match_prop_t *pr = &v[n++];
            memset(pr, 0, sizeof *pr);
            const tam_match_project_t *p = &m->projects[a->project];
            pr->need_id = n_->id;
            pr->key = n_->key;
            pr->project = a->project;
            pr->country = n_->country;
            pr->standard = n_->standard;
            pr->modality = n_->modality;
            pr->category = n_->category;
            pr->score = a->score;
            pr->fixed_only = !a->eligible;
            pr->amount = x;
            pr->fixed = a->fixed;
            tam_match_factors_t f;
            tam_match__factors(m, n_, p, m->run_date, &f);
            memcpy(pr->f, f.v, sizeof pr->f);
            pr->state = n_->dec_head == TAM_MATCH_NONE
                            ? TAM_E_proposal_state_proposed
                            : tam_match__prop_state(tam_match__decision(m, n_->id, p->id));
        }
        funded += tam_match__fixed_out(n_); /* decided on projects outside the problem */
        t->requested += n_->cost;
        t->funded += funded;
        if (n_->cost > funded)
            t->unfunded += n_->cost - funded;
    }
    qsort_r(v, n, sizeof *v, s_cmp_rank, (void *)m);
    for (uint32_t k = 0; k < n; k++)
        v[k].rank = k + 1;
    *out = v;
    *nout = n;
    return 0;
}

static tam_change_reason_t s_reason(const tam_match_prop_t *o, const tam_match_prop_t *n)
{
    if (!o)
        return TAM_E_change_reason_new_pair;
    if (o->state != n->state || o->fixed != n->fixed || o->fixed_only != n->fixed_only)
        return TAM_E_change_reason_decision;
    if (o->amount != n->amount)
        return TAM_E_change_reason_amount;
    if (o->score != n->score || memcmp(o->f, n->f, sizeof o->f) != 0)
        return TAM_E_change_reason_score;
    if (o->rank != n->rank)
        return TAM_E_change_reason_rank;
    return TAM_E_change_reason_unchanged;
}

static bool s_published(tam_change_reason_t r)
{
    return r != TAM_E_change_reason_unchanged && r != TAM_E_change_reason_rank;
}

/* ---- the header ---------------------------------------------------------------------------- */

static int s_header(tam_match_t *m, const tam_flow_solution_t *sol, int64_t changed,
                    int64_t solve_us, bool warm, uint64_t pivots)
{
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return TAM_ENOMEM;
    tam_run_t r;
    memset(&r, 0, sizeof r);
    r.run = m->run_id;
    r.hash = m->hash;
    r.code_version = TAM_MATCH_CODE_VERSION;
    r.needs = m->st.needs;
    r.pairs = m->st.pairs;
    __int128 obj = sol->objective;
    r.objective = obj > INT64_MAX ? INT64_MAX : (obj < 0 ? 0 : (int64_t)obj);
    r.requested = m->requested;
    r.funded = m->funded;
    r.unfunded = m->unfunded;
    r.changed = changed;
    r.solve_us = solve_us;
    r.ingest_seq = m->seqs[TAM_MATCH_FEED_INGEST];
    r.registry_seq = m->seqs[TAM_MATCH_FEED_REGISTRY];
    r.pipeline_seq = m->seqs[TAM_MATCH_FEED_PIPELINE];
    r.ingest_epoch = m->epochs[TAM_MATCH_FEED_INGEST];
    r.registry_epoch = m->epochs[TAM_MATCH_FEED_REGISTRY];
    r.pipeline_epoch = m->epochs[TAM_MATCH_FEED_PIPELINE];
    r.date = m->run_date;
    r.urgency_horizon_days = m->par.horizon_days;
    r.equity_scale = m->par.equity_scale;
    r.warm = warm;
    r.pivots = pivots;
    r.unique = sol->unique;
    __int128 lb = m->lp_bound;
    r.lp_bound = lb > INT64_MAX ? INT64_MAX : (lb < 0 ? 0 : (int64_t)lb);
    r.min_amount = m->par.min_amount;
    r.min_share = m->par.min_share;
    r.held_back = m->nfrags;
    r.min_rounds = m->min_rounds;
    r.set_aside = m->set_aside;
    uint32_t np = 0;
    uint32_t *ix = tam_arena_alloc(a, ((size_t)m->nprojects + 1) * sizeof *ix);
    r.project_state.v = tam_arena_alloc(a, ((size_t)m->nprojects + 1) * sizeof(tam_run_project_t));
    r.weights.v = tam_arena_alloc(a, TAM_MATCH_NF * sizeof *r.weights.v);
    int rc = TAM_ENOMEM;
    if (!ix || !r.project_state.v || !r.weights.v)
        goto out;
    for (uint32_t j = 0; j < m->nprojects; j++)
        if (m->projects[j].present) {
            ix[np++] = j;
            if (m->projects[j].status == TAM_E_project_status_active)
                r.projects++;
        }
    qsort_r(ix, np, sizeof *ix, tam_match__cmp_project_slots, m);
    for (uint32_t q = 0; q < np; q++) {
        const tam_match_project_t *p = &m->projects[ix[q]];
        bool in = p->flow < sol->n_projects;
        int64_t dual = in ? sol->project_dual[p->flow] : 0;
        r.project_state.v[q] = (tam_run_project_t){
            .project = (char *)p->id,
            .available = p->available,
            .allocated = in ? sol->project_used[p->flow] : 0,
            .dual = dual < 0 ? 0 : (dual > TAM_FLOW_SCORE_MAX ? TAM_FLOW_SCORE_MAX : dual),
            .dual_range = p->dual_range,
            .eligible_needs = p->eligible_needs};
    }
    r.project_state.n = np;
    r.weights.n = TAM_MATCH_NF;
    for (int k = 0; k < TAM_MATCH_NF; k++)
        r.weights.v[k] = (tam_factor_t){.name = (char *)tam_match_factor_names[k],
                                        .weight = m->par.w[k]};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if ((rc = tam_encode(&tam_schema_run, &r, &pk, NULL))) {
        msgpack_sbuffer_destroy(&sb);
        goto out;
    }
    free(m->header);
    m->header_len = sb.size;
    m->header = (uint8_t *)msgpack_sbuffer_release(&sb);
out:
    tam_arena_destroy(&a);
    return rc;
}

/* ---- the run ----------------------------------------------------------------------------- */

/* Nothing changed since the last run (only feed sequences moved, e.g. records
 * the matcher does not use): a new header states the sequences; the
 * proposals, hash and solution stay. */
static int s_same_run(tam_match_t *m, const tam_match_seqs_t *seqs, tam_match_publish_fn publish,
                      void *arg)
{
    uint64_t prev = m->run_id;
    m->run_id = tam_match_next_run_id(m);
    memcpy(m->seqs, seqs->seq, sizeof m->seqs);
    memcpy(m->epochs, seqs->epoch, sizeof m->epochs);
    int rc = s_header(m, &m->sol, 0, 0, true, 0);
    if (rc) {
        m->run_id = prev;
        return rc;
    }
    for (uint32_t k = 0; k < m->nprops; k++)
        m->props[k].reason = TAM_E_change_reason_unchanged;
    if (publish && (rc = publish("run", m->header, m->header_len, arg)))
        tam_warn("run %llu: publishing the header failed: %s", (unsigned long long)m->run_id,
                 tam_strerror(rc));
    m->st.runs++;
    m->st.last_changed = 0;
    m->st.last_solve_us = 0;
    m->st.last_pivots = 0;
    tam_debug("run %llu: inputs unchanged, header only", (unsigned long long)m->run_id);
    return 0;
}

int tam_match_run(tam_match_t *m, const tam_match_seqs_t *seqs, tam_match_publish_fn publish,
                  void *arg)
{
    int64_t t0 = tam_match__now_us();
    m->locked = m->sync.owner == m; /* a synchronised run starts holding the lock */
    uint64_t quiet0 = m->st.quiet_runs;
    uint32_t date = m->par.today ? m->par.today : tam_date_today();
    if (date != m->run_date || m->run_id == 0)
        m->full = true;
    m->run_date = date;
    if (m->full)
        tam_match__missions_on(m, date);
    bool full = m->full;
    if (!m->changed && !full && m->flow && m->run_id > 0)
        return s_same_run(m, seqs, publish, arg);
    int rc = s_prepare(m);
    if (rc == 0)
        rc = s_recompute(m);
    int64_t t1 = tam_match__now_us();
    bool warm = false;
    if (rc == 0 && tam_match__stopped(m))
        rc = TAM_ESTATE;
    if (rc == 0)
        rc = tam_match__solve(m, &warm);
    if (rc == 0 && !m->lean && !m->canon_kept) {
        /* reads the model, writes only m->work: readers may go on */
        tam_match__unlock(m);
        rc = tam_match__canon_duals(m);
        tam_match__lock(m);
    }
    int64_t t2 = tam_match__now_us();
    if (rc) {
        m->full = true; /* the next run starts over */
        return rc;
    }
    for (uint32_t i = 0; i < m->nneeds; i++)
        m->needs[i].in_run = m->needs[i].open;
    for (uint32_t j = 0; j < m->nprojects; j++)
        m->projects[j].in_run = m->projects[j].present;
    tam_match_prop_t *nv = NULL;
    uint32_t nn = 0;
    tam_match_map_t nmap = {0};
    bool *seen = NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    /* hashing, ranking and the dual ranges read the model and m->work only:
     * readers may go on (the ranges re-solve a copy of the problem, up to
     * thousands of times at 2k x 100: seconds, which readers waited for
     * when they were computed holding the lock) */
    char hash[65];
    s_totals_t tot = {0};
    int64_t *range = NULL, tr0 = 0, tr1 = 0;
    bool ranges = false;
    uint64_t rsolves = 0;
    tam_match__unlock(m);
    rc = tam_match__hash_into(m, hash);
    if (rc == 0)
        rc = s_collect(m, &nv, &nn, &tot);
    bool lk = m->locked; /* false here; st.locked_solves counts if it is not */
    if (rc == 0 && !m->lean) {
        tr0 = tam_match__now_us();
        int rrc = TAM_ENOMEM;
        if ((range = malloc(((size_t)m->nprojects + 1) * sizeof *range)))
            rrc = tam_match__dual_ranges(m, range, &ranges, &rsolves);
        tr1 = tam_match__now_us();
        if (rrc == TAM_ESTATE && tam_match__stopped(m))
            rc = TAM_ESTATE;
        else if (rrc)
            tam_warn("run: the ranges of the dual prices could not be computed: %s",
                     tam_strerror(rrc));
    }
    tam_match__lock(m);
    if (rc) {
        free(range);
        goto fail;
    }
    if (!m->lean) {
        /* the new ranges become visible with the run (the header below) */
        for (uint32_t j = 0; j < m->nprojects; j++)
            m->projects[j].dual_range = range ? range[j] : 0;
        m->ranges_done = ranges;
        m->st.range_solves += rsolves;
        m->st.locked_solves += lk ? rsolves : 0;
        m->st.last_ranges_us = ranges ? tr1 - tr0 : 0;
    }
    free(range);
    memcpy(m->hash, hash, sizeof m->hash);
    s_totals_commit(m, &tot);
    free(tot.elig);
    seen = calloc((size_t)m->nprops + 1, sizeof *seen);
    if (!seen) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    uint64_t run = tam_match_next_run_id(m);
    int64_t changed = 0;
    for (uint32_t k = 0; k < nn; k++) {
        tam_match_prop_t *pr = &nv[k];
        if ((rc = tam_match_map_put(&nmap, TAM_MATCH_PAIR_KEY(pr->need_id, pr->project), k)))
            goto fail;
        uint32_t o = tam_match__prop_find(m, pr->need_id, pr->project);
        tam_match_prop_t *old = o == TAM_MATCH_NONE ? NULL : &m->props[o];
        if (old)
            seen[o] = true;
        pr->reason = s_reason(old, pr);
        if (s_published(pr->reason)) {
            pr->run = run;
            changed++;
        } else {
            pr->run = old->run;
            pr->pub = old->pub; /* still the last record published */
            pr->pub_len = old->pub_len;
            old->pub = NULL;
        }
    }
    for (uint32_t o = 0; o < m->nprops; o++)
        changed += !seen[o];
    m->run_id = run;
    memcpy(m->seqs, seqs->seq, sizeof m->seqs);
    memcpy(m->epochs, seqs->epoch, sizeof m->epochs);
    if ((rc = s_header(m, &m->work, changed, t2 - t1, warm, m->work.pivots)))
        goto fail;
    char topic[32];
    for (uint32_t k = 0; k < nn; k++) {
        tam_match_prop_t *pr = &nv[k];
        if (!s_published(pr->reason) || m->lean)
            continue; /* a what-if copy never publishes: no record to keep */
        if ((rc = tam_match__encode_prop(m, pr, &sb)))
            goto fail;
        pr->pub_len = sb.size;
        pr->pub = (uint8_t *)msgpack_sbuffer_release(&sb);
        s_topic(m, pr, topic, sizeof topic);
        if (publish)
            publish(topic, pr->pub, pr->pub_len, arg);
    }
    for (uint32_t o = 0; o < m->nprops; o++) {
        if (seen[o])
            continue;
        if (m->lean)
            continue;
        tam_match_prop_t gone = m->props[o];
        gone.amount = gone.fixed = gone.rank = 0;
        gone.reason = TAM_E_change_reason_removed;
        gone.state = TAM_E_proposal_state_proposed;
        gone.run = run;
        if ((rc = tam_match__encode_prop(m, &gone, &sb)))
            goto fail;
        s_topic(m, &gone, topic, sizeof topic);
        if (publish)
            publish(topic, sb.data, sb.size, arg);
    }
    /* The run record closes the run on the feed (proto/FEEDS.md): after it, a
     * subscriber has every change of this run. */
    if (publish && (rc = publish("run", m->header, m->header_len, arg))) {
        tam_warn("run %llu: publishing the header failed: %s", (unsigned long long)run,
                 tam_strerror(rc));
        rc = 0;
    }
    /* the new run becomes current, its solution the published one (the
     * previous one's arrays are reused by the next solve) */
    tam_flow_solution_t ps = m->sol;
    m->sol = m->work;
    m->work = ps;
    for (uint32_t o = 0; o < m->nprops; o++)
        free(m->props[o].pub);
    free(m->props);
    tam_match_map_free(&m->prop_map);
    m->props = nv;
    m->nprops = m->cap_props = nn;
    m->prop_map = nmap;
    free(seen);
    msgpack_sbuffer_destroy(&sb);
    m->changed = false;

    int64_t t3 = tam_match__now_us();
    m->st.runs++;
    m->st.full_runs += full;
    m->st.warm_runs += warm;
    m->st.cold_solves += !warm;
    m->st.proposals = nn;
    m->st.last_solve_us = t2 - t1;
    m->st.last_score_us = t1 - t0;
    m->st.last_run_us = t3 - t0;
    m->st.last_pivots = m->sol.pivots;
    m->st.last_changed = changed;
    m->st.last_warm = warm;
    m->st.last_quiet = m->st.quiet_runs > quiet0;
    m->st.projects = 0;
    for (uint32_t j = 0; j < m->nprojects; j++)
        m->st.projects += m->projects[j].present;
    /* a run that publishes nothing is a what-if copy's (match_whatif.c): debug only */
    tam_log(publish ? LOG_INFO : LOG_DEBUG,
            "run %llu: %lld need(s), %lld project(s), %lld pair(s), %u proposal(s), %lld "
             "changed; funded %lld of %lld USD; %s solve %lld us (%llu pivots), run %lld us; "
             "hash %.16s",
             (unsigned long long)run, (long long)m->st.needs, (long long)m->st.projects,
             (long long)m->st.pairs, nn, (long long)changed, (long long)m->funded,
             (long long)m->requested, warm ? "warm" : "cold", (long long)(t2 - t1),
             (unsigned long long)m->sol.pivots, (long long)(t3 - t0), m->hash);
    return 0;
fail:
    if (nv) {
        for (uint32_t k = 0; k < nn; k++)
            if (nv[k].pub) {
                /* give back pubs borrowed from the previous run */
                uint32_t o = tam_match__prop_find(m, nv[k].need_id, nv[k].project);
                if (o != TAM_MATCH_NONE && !m->props[o].pub && nv[k].run == m->props[o].run) {
                    m->props[o].pub = nv[k].pub;
                    m->props[o].pub_len = nv[k].pub_len;
                } else {
                    free(nv[k].pub);
                }
            }
        free(nv);
    }
    tam_match_map_free(&nmap);
    free(seen);
    msgpack_sbuffer_destroy(&sb);
    m->full = true;
    return rc;
}

int tam_match_snapshot(tam_match_t *m, const char *prefix, tam_feed_emit_fn emit, void *ctx)
{
    if (!m->header)
        return 0;
    size_t pl = strlen(prefix);
    int rc;
    char topic[32];
    for (uint32_t k = 0; k < m->nprops; k++) {
        const tam_match_prop_t *pr = &m->props[k];
        s_topic(m, pr, topic, sizeof topic);
        if (strncmp(topic, prefix, pl) != 0 || !pr->pub)
            continue;
        if ((rc = emit(ctx, topic, strlen(topic), pr->pub, pr->pub_len)))
            return rc;
    }
    /* the run record last, as on the feed (proto/FEEDS.md) */
    if (strncmp("run", prefix, pl < 3 ? pl : 3) == 0 && pl <= 3 &&
        (rc = emit(ctx, "run", 3, m->header, m->header_len)))
        return rc;
    return 0;
}

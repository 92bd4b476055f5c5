/* test_pipeline_money.c — the one money model through tam-pipeline, over
 * random histories: needs submitted, revised (cost changed) and withdrawn,
 * ledger entries changing what projects received, matching runs (a context
 * change shows as a new run) proposing random amounts on random pairs, and
 * random acts (endorse, commit, decline, withdraw, deliver, with random
 * amounts; refused ones included). After EVERY step the gaps, donors and
 * pipeline reports are read the way tamctl reads them and checked:
 *   - Σ committed (and Σ endorsed, Σ proposed) is the same in every report,
 *     equal to the totals object, and Σ committed equals the committed
 *     amounts of the stored decisions counted independently;
 *   - per gaps row and in the totals: unmet = requested - proposed -
 *     endorsed - committed, never below 0;
 *   - per donors row and in the totals: unallocated = received - committed -
 *     endorsed - proposed.
 * TAM_MONEY_HISTORIES (default 500) sets how many histories run. */
#include "pipeline_fixture.h"

static uint64_t s_rng;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}
static int64_t s_upto(int64_t n)
{
    return n > 0 ? (int64_t)(s_rand() % (uint64_t)(n + 1)) : 0;
}

/* The projects of pf_data, re-published with a new received total by a
 * ledger step. */
typedef struct {
    const char *id, *donors;
    int64_t budget;
    tam_project_status_t status;
    const char *groups, *cats;
    int64_t cap;
} s_proj_t;
static const s_proj_t s_projects[] = {
    {"AFR-A", "NOR:60,SWE:40", 500000, TAM_E_project_status_active, "AFRICAN", "A", 0},
    {"GLO-D", "USA:100", 300000, TAM_E_project_status_active, NULL, "D", 120000},
    {"EEG-X", "SWE:100", 100000, TAM_E_project_status_active, "EEG", NULL, 0},
    {"PIPE", "NOR:100", 50000, TAM_E_project_status_pipeline, NULL, NULL, 0},
    {"SMALL", "NOR:100", 70000, TAM_E_project_status_active, NULL, "A,C", 0},
};
#define S_NPROJ (sizeof s_projects / sizeof s_projects[0])

static const struct {
    const char *country, *standard;
} s_kinds[] = {{"KEN", "A-SMR"}, {"KEN", "A-TOKYO"}, {"IND", "C-PREV"}, {"COL", "D-JUDIC"}};

#define S_MAXNEED 40
typedef struct {
    uint64_t ids[S_MAXNEED];
    int kind[S_MAXNEED];
    size_t n;
    uint64_t next_id, run;
    char props[256][48]; /* current proposals */
    size_t nprops;
    size_t steps, accepted;
} s_hist_t;

static int64_t s_cell(const tam_report_row_t *r, uint32_t i)
{
    assert_true(i < r->cells.n);
    return strcmp(r->cells.v[i], "-") == 0 ? 0 : atoll(r->cells.v[i]);
}

static void s_report(pf_t *f, tam_report_kind_t kind, tam_report_t *out)
{
    tam_report_request_t rq = {.kind = kind};
    int rc = pf_read(f, TAM_MSG_pipeline_report, &rq, out);
    if (rc)
        fail_msg("report %d refused: %s", (int)kind, f->err.message);
    assert_non_null(out->totals);
}

typedef struct {
    int64_t committed, endorsed;
    struct {
        uint64_t need;
        int64_t committed, endorsed;
    } per[512];
    size_t n;
} s_sum_t;

static int s_sum_fn(const tam_decision_t *d, void *arg)
{
    s_sum_t *s = arg;
    int64_t c = 0, e = 0;
    if (d->state == TAM_E_decision_state_committed || d->state == TAM_E_decision_state_delivered)
        c = d->committed;
    else if (d->state == TAM_E_decision_state_endorsed)
        e = d->endorsed;
    s->committed += c;
    s->endorsed += e;
    size_t i = 0;
    while (i < s->n && s->per[i].need != d->need)
        i++;
    if (i == s->n) {
        assert_true(s->n < 512);
        s->per[s->n++].need = d->need;
        s->per[i].committed = s->per[i].endorsed = 0;
    }
    s->per[i].committed += c;
    s->per[i].endorsed += e;
    return 0;
}

static int s_sum_txn(tam_txn_t *txn, void *arg)
{
    return tam_pipeline_decisions_each(txn, NULL, s_sum_fn, arg);
}

static void s_check(pf_t *f, const s_hist_t *h)
{
    tam_report_t g, d, p;
    s_report(f, TAM_E_report_kind_gaps, &g);
    s_report(f, TAM_E_report_kind_donors, &d);
    s_report(f, TAM_E_report_kind_pipeline, &p);
    const tam_report_totals_t *t = g.totals;
    /* one set of totals */
    assert_memory_equal(t, d.totals, sizeof *t);
    assert_memory_equal(t, p.totals, sizeof *t);
    assert_int_equal(t->unmet, t->requested - t->proposed - t->endorsed - t->committed);
    assert_int_equal(t->unallocated, t->received - t->committed - t->endorsed - t->proposed);
    assert_true(t->unmet >= 0);

    /* what the decisions hold, counted without the model */
    static s_sum_t held;
    memset(&held, 0, sizeof held);
    assert_int_equal(tam_store_read(f->store, s_sum_txn, &held), 0);
    if (held.committed != t->committed)
        fail_msg("history step %zu: decisions hold %lld committed, the totals say %lld", h->steps,
                 (long long)held.committed, (long long)t->committed);
    assert_int_equal(held.endorsed, t->endorsed);
    /* decisions follow the need: on an open need, endorsements never hold
     * more than its cost leaves after the commitments */
    for (size_t i = 0; i < held.n; i++) {
        const tam_pipeline_need_t *n = tam_pipeline_view_need(f->view, held.per[i].need);
        if (!n || !n->open || held.per[i].endorsed == 0)
            continue;
        if (held.per[i].committed + held.per[i].endorsed > n->cost)
            fail_msg("history step %zu: need %llu (cost %lld) holds %lld committed + %lld "
                     "endorsed", h->steps, (unsigned long long)n->id, (long long)n->cost,
                     (long long)held.per[i].committed, (long long)held.per[i].endorsed);
    }

    /* gaps: requested|proposed|endorsed|committed|unmet in cells 5..9 */
    int64_t gs[5] = {0};
    for (uint32_t i = 0; i < g.rows.n; i++) {
        const tam_report_row_t *r = &g.rows.v[i];
        int64_t req = s_cell(r, 5), pro = s_cell(r, 6), end = s_cell(r, 7), com = s_cell(r, 8),
                un = s_cell(r, 9);
        assert_int_equal(un, req - pro - end - com);
        assert_true(un >= 0);
        gs[0] += req, gs[1] += pro, gs[2] += end, gs[3] += com, gs[4] += un;
    }
    if (gs[3] != t->committed)
        fail_msg("history step %zu: gaps shows %lld committed, the totals %lld", h->steps,
                 (long long)gs[3], (long long)t->committed);
    assert_int_equal(gs[0], t->requested);
    assert_int_equal(gs[1], t->proposed);
    assert_int_equal(gs[2], t->endorsed);
    assert_int_equal(gs[4], t->unmet);

    /* donors: received|committed|endorsed|proposed|unallocated in cells 6..10 */
    int64_t ds[5] = {0};
    for (uint32_t i = 0; i < d.rows.n; i++) {
        const tam_report_row_t *r = &d.rows.v[i];
        int64_t rec = s_cell(r, 6), com = s_cell(r, 7), end = s_cell(r, 8), pro = s_cell(r, 9),
                un = s_cell(r, 10);
        assert_int_equal(un, rec - com - end - pro);
        ds[0] += rec, ds[1] += com, ds[2] += end, ds[3] += pro, ds[4] += un;
    }
    if (ds[1] != t->committed)
        fail_msg("history step %zu: donors shows %lld committed, the totals %lld", h->steps,
                 (long long)ds[1], (long long)t->committed);
    assert_int_equal(ds[0], t->received);
    assert_int_equal(ds[2], t->endorsed);
    assert_int_equal(ds[3], t->proposed);
    assert_int_equal(ds[4], t->unallocated);

    /* pipeline: committed + delivered rows (2, 3), endorsed row (1) */
    assert_int_equal(p.rows.n, 6);
    assert_int_equal(s_cell(&p.rows.v[2], 2) + s_cell(&p.rows.v[3], 2), t->committed);
    assert_int_equal(s_cell(&p.rows.v[1], 2), t->endorsed);
    assert_true(s_cell(&p.rows.v[0], 2) <= t->proposed);
    tam_arena_reset(f->a);
}

/* What tam-pipeline's server does after need records: the decisions follow. */
typedef struct {
    pf_t *f;
    const uint64_t *ids;
    size_t n;
} s_follow_t;

static int s_follow_fn(tam_txn_t *txn, void *arg)
{
    s_follow_t *c = arg;
    tam_events_truncate(&c->f->pubs, 0);
    for (size_t i = 0; i < c->n; i++) {
        size_t ch;
        int rc = tam_pipeline_follow_need(&c->f->p, txn, tam_pipeline_view_need(c->f->view, c->ids[i]),
                                          &c->f->pubs, &ch);
        if (rc)
            return rc;
    }
    return 0;
}

static void s_follow(pf_t *f)
{
    s_follow_t c = {.f = f};
    c.n = tam_pipeline_view_changed(f->view, &c.ids, false);
    assert_int_equal(tam_store_write(f->store, s_follow_fn, &c), 0);
    tam_pipeline_view_changed(f->view, NULL, true);
}

static void s_need_step(pf_t *f, s_hist_t *h)
{
    int what = (int)s_upto(2);
    if (what == 0 || h->n == 0) { /* submission */
        if (h->n == S_MAXNEED)
            return;
        int k = (int)s_upto(3);
        h->ids[h->n] = h->next_id++;
        h->kind[h->n] = k;
        pf_need(f, h->ids[h->n], s_kinds[k].country, s_kinds[k].standard, 1000 * (1 + s_upto(200)), true);
        h->n++;
        return;
    }
    size_t i = (size_t)s_upto((int64_t)h->n - 1);
    int k = h->kind[i];
    /* a revision (new cost, possibly lower than what decisions hold) or a withdrawal */
    pf_need(f, h->ids[i], s_kinds[k].country, s_kinds[k].standard, 1000 * (1 + s_upto(200)), what == 1);
}

static void s_run_step(pf_t *f, s_hist_t *h)
{
    h->run++;
    pf_run(f, h->run, "AFR-A:1,GLO-D:1,EEG-X:0,SMALL:1");
    /* remove some current proposals, propose on some pairs */
    for (size_t i = 0; i < h->nprops;) {
        if (s_upto(2) == 0) {
            pf_prop(f, h->props[i], h->run, 0, true);
            memcpy(h->props[i], h->props[--h->nprops], sizeof h->props[i]);
        } else {
            i++;
        }
    }
    size_t n = (size_t)s_upto(6);
    for (size_t j = 0; j < n && h->nprops < 256 && h->n; j++) {
        uint64_t need = h->ids[s_upto((int64_t)h->n - 1)];
        const char *proj = s_projects[s_upto(S_NPROJ - 1)].id;
        char id[48];
        snprintf(id, sizeof id, "%llu/%s", (unsigned long long)need, proj);
        bool known = false;
        for (size_t i = 0; i < h->nprops && !known; i++)
            known = strcmp(h->props[i], id) == 0;
        pf_prop(f, id, h->run, 1000 * (1 + s_upto(150)), false);
        if (!known)
            snprintf(h->props[h->nprops++], sizeof h->props[0], "%s", id);
    }
}

static void s_act_step(pf_t *f, s_hist_t *h)
{
    static const char *const acts[] = {"endorse", "endorse", "commit", "commit",
                                       "decline", "withdraw", "deliver"};
    if (!h->nprops)
        return;
    const char *prop = h->props[s_upto((int64_t)h->nprops - 1)];
    const char *act = acts[s_upto(6)];
    bool amounts = strcmp(act, "endorse") == 0 || strcmp(act, "commit") == 0;
    int64_t amount = amounts && s_upto(1) ? 1000 * (1 + s_upto(150)) : 0;
    int rc = pf_act(f, act, prop, amount, 0);
    assert_true(rc <= 0);
    h->accepted += rc == 0;
}

/* A planning context change: a mission country, or none (post-conflict
 * earmarks and the stranded-money reasons depend on it). */
static void s_context_step(pf_t *f)
{
    static const char *const cs[] = {"KEN", "COL", "IND"};
    tam_mission_t m = {.country = (char *)cs[s_upto(2)], .operation = "TEST",
                       .valid_from = 20260101};
    tam_context_t c = {.version = 1};
    c.missions.n = (uint32_t)s_upto(1);
    c.missions.v = &m;
    pf_record(f, TAM_PIPELINE_SRC_REGISTRY, "context", &tam_schema_context, &c);
}

static void s_ledger_step(pf_t *f)
{
    const s_proj_t *p = &s_projects[s_upto(S_NPROJ - 1)];
    pf_project(f, p->id, p->donors, p->budget, 1000 * s_upto(400), p->status, p->groups, p->cats,
               p->cap);
}

static void test_random_histories(void **state)
{
    pf_t *f = *state;
    const char *env = getenv("TAM_MONEY_HISTORIES");
    int histories = env ? atoi(env) : 500;
    size_t accepted = 0, steps = 0;
    for (int hi = 0; hi < histories; hi++) {
        s_rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(hi + 1) * 0x100000001B3ULL;
        s_hist_t h = {.next_id = 100, .run = 7};
        /* the needs of pf_data take part too */
        static const uint64_t base[] = {1, 2, 3, 4, 7};
        static const int base_kind[] = {0, 1, 2, 3, 3};
        for (size_t i = 0; i < 5; i++)
            h.ids[h.n] = base[i], h.kind[h.n++] = base_kind[i];
        static const char *const base_props[] = {"1/AFR-A", "2/AFR-A", "4/GLO-D", "7/GLO-D",
                                                 "1/SMALL", "2/SMALL", "3/SMALL"};
        for (size_t i = 0; i < 7; i++)
            snprintf(h.props[h.nprops++], sizeof h.props[0], "%s", base_props[i]);
        int nsteps = 10 + (int)s_upto(20);
        for (int st = 0; st < nsteps; st++) {
            h.steps = (size_t)st;
            int64_t k = s_upto(9);
            if (k <= 4)
                s_act_step(f, &h);
            else if (k <= 6)
                s_need_step(f, &h), s_follow(f);
            else if (k == 7)
                s_upto(1) ? s_ledger_step(f) : s_context_step(f);
            else
                s_run_step(f, &h);
            s_check(f, &h);
        }
        accepted += h.accepted;
        steps += (size_t)nsteps;
        pf_teardown(state);
        assert_int_equal(pf_setup(state), 0);
    }
    /* the histories did decide things (a test whose acts were all refused
     * would check little) */
    assert_true(accepted > (size_t)histories);
    print_message("%d histories, %zu steps, %zu accepted acts\n", histories, steps, accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_histories, pf_setup, pf_teardown),
    };
    return cmocka_run_group_tests_name("pipeline_money", tests, pf_group_setup, pf_group_teardown);
}

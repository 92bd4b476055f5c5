/* test_match_whatif.c — what-if scenarios and advice (docs/whatif.md): each
 * kind of change gives the objective and input hash that the live engine
 * reaches once the same change is really made; the live engine is untouched
 * by a scenario; a scenario's problems are all listed with their paths; a
 * change that cannot matter moves nothing; advice is exact. */
#include "match_fixture.h"
#include "match_int.h"
#include "match_whatif.h"

static fx_inst_t s_in;

static fx_t *s_live(const fx_inst_t *in, const tam_match_params_t *par)
{
    fx_t *fx;
    if (par) {
        fx = fx_new_with(par);
    } else {
        fx = fx_new();
    }
    fx_apply_inst(fx, in, 0);
    assert_int_equal(fx_run(fx), 0);
    return fx;
}

/* A scenario evaluated on fx, then the same change made for real on a fresh
 * engine (fixture records, as the services publish them): objectives and
 * input hashes agree. */
static void s_same(fx_t *fx, tam_whatif_change_t *ch, uint32_t n, const fx_inst_t *real,
                   const tam_match_params_t *par, void (*extra)(fx_t *))
{
    tam_rpc_error_t err = {0};
    if (tam_match__whatif_check(fx->m, ch, n, &err))
        fail_msg("check: %s %s", err.field, err.message);
    tam_rpc_error_clear(&err);
    tam_match_eval_t e;
    assert_int_equal(tam_match__whatif_eval(fx->m, ch, n, &e), 0);
    fx_t *r = fx_new_with(par ? par : &fx->par);
    fx_apply_inst(r, real, 0);
    if (extra)
        extra(r);
    assert_int_equal(fx_run(r), 0);
    tam_run_t *h = fx_header(r);
    if (h->objective != (int64_t)e.obj1)
        fail_msg("kind %s: what-if objective %lld, real %lld",
                 tam_enum_whatif_kind.values[ch[0].kind], (long long)e.obj1,
                 (long long)h->objective);
    if (strcmp(h->hash, e.c->hash) != 0) {
        for (uint32_t j = 0; j < r->m->nprojects; j++) {
            uint32_t cj = tam_match__project_slot(e.c, r->m->projects[j].id);
            if (memcmp(r->m->projects[j].digest, e.c->projects[cj].digest, 32))
                fprintf(stderr, "project %s differs\n", r->m->projects[j].id);
        }
        fprintf(stderr, "decs %u %u needs %u %u ctx %d\n", r->m->ndecs, e.c->ndecs, r->m->nneeds, e.c->nneeds,
                memcmp(r->m->ctx_digest, e.c->ctx_digest, 32));
        fail_msg("kind %s: input hashes differ", tam_enum_whatif_kind.values[ch[0].kind]);
    }
    fx_free(r);
    tam_match__eval_free(&e);
}

static char s_need_country[4];

static uint64_t s_eligible_need(fx_t *fx, const char *project)
{
    tam_proposal_list_t l;
    fx_proposals(fx, &l, project);
    if (!l.items.n)
        return 0;
    snprintf(s_need_country, sizeof s_need_country, "%s", l.items.v[0].country);
    return l.items.v[0].need;
}

static int s_j;        /* project index the extras use */
static uint64_t s_need; /* need id the extras use */

static void s_x_decline(fx_t *r)
{
    fx_decision(r, s_need, s_in.pids[s_j], s_need_country, TAM_E_decision_state_declined, 0, 0);
}

static void test_kinds_equal_real(void **state)
{
    (void)state;
    fx_gen(&s_in, 7, 300, 20, 20);
    fx_t *fx = s_live(&s_in, NULL);
    static fx_inst_t real;
    s_j = 3;
    for (int j = 0; j < s_in.nprojects; j++)
        if (!s_in.projects[j].inactive && !s_in.projects[j].post_conflict_only) {
            s_j = j;
            break;
        }
    const char *pid = s_in.pids[s_j];

    /* receipt */
    tam_whatif_change_t c = {.kind = TAM_E_whatif_kind_receipt, .project = (char *)pid,
                             .amount = 250000};
    real = s_in;
    real.projects[s_j].received += 250000;
    s_same(fx, &c, 1, &real, NULL, NULL);

    /* adjustment down */
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_adjustment, .project = (char *)pid,
                              .amount = -50000};
    real = s_in;
    real.projects[s_j].received -= 50000;
    s_same(fx, &c, 1, &real, NULL, NULL);

    /* cap, post-conflict flag */
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_max_per_need, .project = (char *)pid,
                              .amount = 30000};
    real = s_in;
    real.projects[s_j].max_per_need = 30000;
    s_same(fx, &c, 1, &real, NULL, NULL);
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_post_conflict, .project = (char *)pid,
                              .value = true};
    real = s_in;
    real.projects[s_j].post_conflict_only = true;
    s_same(fx, &c, 1, &real, NULL, NULL);

    /* earmark widened / narrowed: a modality list */
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_earmark_add, .project = (char *)pid,
                              .dimension = TAM_E_earmark_dim_modality, .code = "workshop"};
    real = s_in;
    bool had = s_in.projects[s_j].modalities != NULL;
    char mods[128];
    snprintf(mods, sizeof mods, "%s%sworkshop", had ? s_in.projects[s_j].modalities : "",
             had ? "," : "");
    real.projects[s_j].modalities = mods;
    if (had) /* adding to a list narrows nothing */
        s_same(fx, &c, 1, &real, NULL, NULL);
    else { /* an empty list is "any": adding one narrows it to that one */
        s_same(fx, &c, 1, &real, NULL, NULL);
    }

    /* a new project */
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_project_new, .project = "NEWPRJ",
                              .amount = 400000, .start = fx_date("2026-01-01"),
                              .end = fx_date("2028-12-31")};
    c.donors = fx_list(fx, "NOR");
    real = s_in;
    real.nprojects++;
    snprintf(real.pids[real.nprojects - 1], 16, "NEWPRJ");
    real.projects[real.nprojects - 1] = (fx_project_t){.id = real.pids[real.nprojects - 1],
                                                       .received = 400000, .donors = "NOR"};
    s_same(fx, &c, 1, &real, NULL, NULL);

    /* a need added and one withdrawn */
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_need_add, .country = "KEN",
                              .standard = "A-SMR", .modality = "training", .priority = 5,
                              .amount = 120000, .start = fx_date("2026-07-01"),
                              .end = fx_date("2027-06-30")};
    real = s_in;
    real.needs[real.nneeds++] = (fx_need_t){.id = 5000, .country = "KEN", .standard = "A-SMR",
                                            .modality = "training", .priority = 5,
                                            .cost = 120000};
    s_same(fx, &c, 1, &real, NULL, NULL);
    s_need = s_in.needs[10].id;
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_need_withdraw, .need = s_need};
    real = s_in;
    real.needs[10].withdrawn = true;
    s_same(fx, &c, 1, &real, NULL, NULL);

    /* a mission country added, one dropped */
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_mission_add, .country = "KEN",
                              .operation = "TESTOP", .valid_from = fx_date("2026-01-01")};
    c.priorities = fx_list(fx, "A-SMR");
    real = s_in;
    real.context = "KEN:A-SMR:2026-01-01,CAF:A-SMR+D-JUDIC:2026-01-01,SSD:A-BODY:2026-01-01,"
                   "HTI::2026-03-01,LBY:B-MLA:2027-01-01,AFG:D-JUDIC+A-BANGKOK:2026-01-01";
    s_same(fx, &c, 1, &real, NULL, NULL);
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_mission_drop, .country = "SSD"};
    real = s_in;
    real.context = "CAF:A-SMR+D-JUDIC:2026-01-01,HTI::2026-03-01,LBY:B-MLA:2027-01-01,"
                   "AFG:D-JUDIC+A-BANGKOK:2026-01-01";
    s_same(fx, &c, 1, &real, NULL, NULL);

    /* a proposal declined */
    s_need = s_eligible_need(fx, pid);
    assert_true(s_need != 0);
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_decline, .need = s_need,
                              .project = (char *)pid};
    real = s_in;
    s_same(fx, &c, 1, &real, NULL, s_x_decline);

    /* different weights */
    tam_weight_t w = {.name = "equity", .weight = 4000};
    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_weights};
    c.weights.n = 1;
    c.weights.v = &w;
    tam_match_params_t p2 = fx->par;
    p2.wsum += 4000 - p2.w[TAM_MATCH_F_EQUITY];
    p2.w[TAM_MATCH_F_EQUITY] = 4000;
    s_same(fx, &c, 1, &s_in, &p2, NULL);
    fx_free(fx);
}

/* The live engine after scenarios: same header bytes, same proposals. */
static void test_live_untouched(void **state)
{
    (void)state;
    fx_gen(&s_in, 11, 200, 15, 10);
    fx_t *fx = s_live(&s_in, NULL);
    size_t hl = fx->m ? 0 : 0;
    tam_run_t *h0 = fx_header(fx);
    int64_t obj0 = h0->objective;
    char hash0[65];
    snprintf(hash0, sizeof hash0, "%s", h0->hash);
    uint64_t run0 = h0->run;
    tam_proposal_list_t l0;
    fx_proposals(fx, &l0, NULL);
    (void)hl;
    tam_whatif_change_t ch[3] = {
        {.kind = TAM_E_whatif_kind_receipt, .project = s_in.pids[0], .amount = 900000},
        {.kind = TAM_E_whatif_kind_need_withdraw, .need = s_in.needs[3].id},
        {.kind = TAM_E_whatif_kind_project_new, .project = "XNEW", .amount = 700000}};
    for (int k = 0; k < 3; k++) {
        tam_match_eval_t e;
        assert_int_equal(tam_match__whatif_eval(fx->m, ch, 3, &e), 0);
        assert_true(e.obj1 != e.obj0);
        tam_match__eval_free(&e);
    }
    assert_int_equal(fx->npubs, 0 + fx->npubs); /* nothing published through fx */
    size_t before = fx->npubs;
    tam_run_t *h1 = fx_header(fx);
    assert_int_equal(h1->objective, obj0);
    assert_string_equal(h1->hash, hash0);
    assert_int_equal(h1->run, run0);
    assert_int_equal(fx->npubs, before);
    tam_proposal_list_t l1;
    fx_proposals(fx, &l1, NULL);
    assert_int_equal(l1.items.n, l0.items.n);
    for (uint32_t k = 0; k < l0.items.n; k++) {
        assert_string_equal(l1.items.v[k].id, l0.items.v[k].id);
        assert_int_equal(l1.items.v[k].amount, l0.items.v[k].amount);
        assert_int_equal(l1.items.v[k].rank, l0.items.v[k].rank);
    }
    /* and the live engine's next run after the real change reaches the
     * scenario's objective */
    tam_match_eval_t e;
    assert_int_equal(tam_match__whatif_eval(fx->m, ch, 1, &e), 0);
    fx_inst_t *real = malloc(sizeof *real);
    *real = s_in;
    real->projects[0].received += 900000;
    assert_int_equal(fx_project(fx, real->projects[0]), 0);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_header(fx)->objective, (int64_t)e.obj1);
    assert_string_equal(fx_header(fx)->hash, e.c->hash);
    tam_match__eval_free(&e);
    free(real);
    fx_free(fx);
}

static tam_rpc_error_t s_query(fx_t *fx, int msg, const char *json, msgpack_sbuffer *ans)
{
    tam_rpc_error_t err = {0};
    msgpack_sbuffer qb;
    msgpack_sbuffer_init(&qb);
    tam_codec_err_t ce;
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &qb, &ce), 0);
    msgpack_sbuffer_init(ans);
    tam_match_query(fx->m, msg, qb.data, qb.size, fx->a, ans, &err);
    msgpack_sbuffer_destroy(&qb);
    return err;
}

static bool s_has_path(const tam_rpc_error_t *e, const char *path)
{
    for (size_t k = 0; k < e->n; k++)
        if (strcmp(e->errors[k].field, path) == 0)
            return true;
    return false;
}

static void test_every_error_listed(void **state)
{
    (void)state;
    fx_gen(&s_in, 3, 50, 6, 0);
    fx_t *fx = s_live(&s_in, NULL);
    msgpack_sbuffer ans;
    tam_rpc_error_t err = s_query(
        fx, TAM_MSG_match_whatif,
        "{\"changes\":[{\"kind\":\"receipt\",\"project\":\"NOPE\",\"amount\":-5},"
        "{\"kind\":\"earmark_add\",\"project\":\"PRJ000\",\"dimension\":\"country\",\"code\":\"XYZ\"},"
        "{\"kind\":\"need_add\",\"country\":\"KEN\",\"standard\":\"Z-NONE\",\"modality\":\"training\"},"
        "{\"kind\":\"weights\",\"weights\":[{\"name\":\"luck\",\"weight\":1}]},"
        "{\"kind\":\"teleport\"}]}",
        &ans);
    assert_true(err.code != 0);
    assert_true(err.n >= 7);
    /* the codec's problem (an unknown kind) and every semantic one */
    assert_true(s_has_path(&err, "changes[4].kind"));
    assert_true(s_has_path(&err, "changes[0].project"));
    assert_true(s_has_path(&err, "changes[0].amount"));
    assert_true(s_has_path(&err, "changes[1].code"));
    assert_true(s_has_path(&err, "changes[2].standard"));
    assert_true(s_has_path(&err, "changes[2].amount"));
    assert_true(s_has_path(&err, "changes[3].weights[0].name"));
    assert_false(s_has_path(&err, "changes[4].project")); /* nothing checked past a bad kind */
    tam_rpc_error_clear(&err);
    msgpack_sbuffer_destroy(&ans);
    /* a good one answers with the result */
    err = s_query(fx, TAM_MSG_match_whatif,
                  "{\"changes\":[{\"kind\":\"receipt\",\"project\":\"PRJ000\",\"amount\":300000}]}",
                  &ans);
    assert_int_equal(err.code, 0);
    tam_whatif_result_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(tam_decode(&tam_schema_whatif_result, ans.data, ans.size, fx->a, &r, NULL), 0);
    assert_int_equal(r.objective_after - r.objective, r.objective_delta);
    assert_int_equal(r.proposed - r.withdrawn, r.funded_delta);
    tam_rpc_error_clear(&err);
    msgpack_sbuffer_destroy(&ans);
    fx_free(fx);
}

/* A change that cannot matter (a new need no project may fund) moves no
 * proposal; a change that does gives every moved proposal a reason. */
static void test_churn(void **state)
{
    (void)state;
    fx_gen(&s_in, 5, 300, 20, 20);
    fx_t *fx = s_live(&s_in, NULL);
    tam_whatif_change_t c = {.kind = TAM_E_whatif_kind_need_add, .country = "ISL",
                             .standard = "A-SMR", .modality = "training", .priority = 3,
                             .amount = 20000, .start = fx_date("2030-01-01"),
                             .end = fx_date("2030-06-30")};
    tam_match_eval_t e;
    assert_int_equal(tam_match__whatif_eval(fx->m, &c, 1, &e), 0);
    tam_whatif_result_t r;
    assert_int_equal(tam_match__whatif_result(&e, 1000, 1000, fx->a, &r), 0);
    assert_int_equal(r.objective_delta, 0);
    assert_int_equal(r.proposals_changed, 0);
    assert_int_equal(r.ranks_moved, 0);
    assert_int_equal(r.ranks.n, 0);
    assert_int_equal(r.needs_total, 0);
    tam_match__eval_free(&e);

    c = (tam_whatif_change_t){.kind = TAM_E_whatif_kind_receipt, .project = s_in.pids[s_j],
                              .amount = 500000};
    assert_int_equal(tam_match__whatif_eval(fx->m, &c, 1, &e), 0);
    assert_int_equal(tam_match__whatif_result(&e, 100000, 1000, fx->a, &r), 0);
    assert_true(r.proposals_changed + r.ranks_moved > 0);
    int direct = 0;
    for (uint32_t k = 0; k < r.ranks.n; k++) {
        const tam_whatif_rank_t *x = &r.ranks.v[k];
        assert_int_not_equal(x->reason, TAM_E_change_reason_unchanged);
        /* its cause: the receipt for the project's own pairs, else the optimum */
        const char *pj = strchr(x->proposal, '/');
        assert_non_null(pj);
        assert_non_null(x->cause);
        if (strcmp(pj + 1, s_in.pids[s_j]) == 0) {
            assert_string_equal(x->cause, "changes[0]");
            direct++;
        } else {
            assert_string_equal(x->cause, "optimum");
        }
        if (x->amount_before != x->amount_after)
            assert_true(x->reason == TAM_E_change_reason_amount ||
                        x->reason == TAM_E_change_reason_new_pair ||
                        x->reason == TAM_E_change_reason_removed);
        else
            assert_int_equal(x->reason, TAM_E_change_reason_rank);
    }
    assert_true(direct > 0); /* the money received went to the project's own pairs */
    tam_match__eval_free(&e);
    fx_free(fx);
}

/* A project whose money is stranded by its country earmark: advice
 * suggests widening it, and its objective is that of the real change. */
static void test_advise(void **state)
{
    (void)state;
    fx_t *fx = fx_new();
    assert_int_equal(fx_project(fx, (fx_project_t){.id = "STRAND", .received = 500000,
                                                   .countries = "ISL"}), 0);
    assert_int_equal(fx_project(fx, (fx_project_t){.id = "OTHER", .received = 100000}), 0);
    fx_need(fx, (fx_need_t){.id = 1, .country = "ISL", .standard = "A-SMR", .cost = 50000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-SMR", .cost = 200000,
                            .priority = 5});
    fx_need(fx, (fx_need_t){.id = 3, .country = "KEN", .standard = "C-VAW", .cost = 100000,
                            .priority = 1});
    fx_need(fx, (fx_need_t){.id = 4, .country = "HTI", .standard = "D-JUDIC", .cost = 300000});
    assert_int_equal(fx_run(fx), 0);
    tam_advice_list_t out;
    memset(&out, 0, sizeof out);
    tam_rpc_error_t err = {0};
    assert_int_equal(tam_match__advise_project(fx->m, "STRAND", 10, fx->a, &out, &err), 0);
    assert_int_equal(out.unallocated, 450000);
    assert_true(out.items.n >= 2);
    assert_true(out.solved <= out.candidates);
    /* best: a group or area holding both KEN and HTI? KEN is AFRICAN, HTI GRULAC: the
     * best single change funds the most; every item's objective is exact */
    for (uint32_t k = 0; k < out.items.n; k++) {
        tam_advice_t *it = &out.items.v[k];
        assert_true(it->needs.n > 0);
        assert_true(k == 0 || out.items.v[k - 1].objective_delta >= it->objective_delta);
        tam_match_eval_t e;
        assert_int_equal(tam_match__whatif_eval(fx->m, it->change, 1, &e), 0);
        assert_int_equal(it->objective_delta, (int64_t)(e.obj1 - e.obj0));
        tam_match__eval_free(&e);
    }
    /* adding KEN funds need 2 (priority 5) and 3 */
    bool ken = false;
    for (uint32_t k = 0; k < out.items.n; k++)
        if (strstr(out.items.v[k].text, "country KEN")) {
            ken = true;
            assert_true(out.items.v[k].priority_funded > 0); /* need 2, priority 5 */
        }
    assert_true(ken);

    /* new money: steps rise, and the full amount's objective is the what-if's */
    memset(&out, 0, sizeof out);
    assert_int_equal(tam_match__advise_money(fx->m, 400000, fx->a, &out), 0);
    assert_int_equal(out.steps.n, 8);
    for (uint32_t k = 1; k < out.steps.n; k++) {
        assert_true(out.steps.v[k].objective_delta >= out.steps.v[k - 1].objective_delta);
        assert_true(out.steps.v[k].marginal <= out.steps.v[k - 1].marginal); /* concave */
    }
    tam_match_eval_t e;
    assert_int_equal(tam_match__whatif_eval(fx->m, out.items.v[0].change, 1, &e), 0);
    assert_int_equal(out.items.v[0].objective_delta, (int64_t)(e.obj1 - e.obj0));
    assert_int_equal(out.steps.v[7].objective_delta, (int64_t)(e.obj1 - e.obj0));
    tam_match__eval_free(&e);
    tam_rpc_error_clear(&err);
    fx_free(fx);
}

/* Pruning by bound loses nothing: the best suggestion with a list of one
 * (most candidates pruned) is the best of the full list, on random
 * instances, for every project with unallocated money. */
static void test_advise_bound(void **state)
{
    (void)state;
    int checked = 0, pruned = 0, shared = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fx_gen(&s_in, seed, 300, 12, 10);
        tam_match_params_t p;
        fx_params(&p);
        p.min_amount = 5000; /* the minimum proposal on: the bound must cover it */
        p.min_share = 2;
        fx_t *fx = s_live(&s_in, &p);
        for (int j = 0; j < s_in.nprojects; j++) {
            tam_advice_list_t one, all;
            memset(&one, 0, sizeof one);
            memset(&all, 0, sizeof all);
            tam_rpc_error_t err = {0};
            assert_int_equal(tam_match__advise_project(fx->m, s_in.pids[j], 1, fx->a, &one, &err), 0);
            assert_int_equal(tam_match__advise_project(fx->m, s_in.pids[j], 100, fx->a, &all, &err), 0);
            tam_rpc_error_clear(&err);
            assert_int_equal(one.items.n > 0, all.items.n > 0);
            if (!all.items.n)
                continue;
            assert_int_equal(one.items.v[0].objective_delta, all.items.v[0].objective_delta);
            assert_true(one.solved <= all.solved);
            pruned += one.pruned > 0;
            checked++;
            /* each suggestion is exact, also one that shares the solve of another with the
             * same relaxed profile: its own scenario gives its objective delta */
            for (uint32_t k = 0; k < all.items.n && k < 4; k++) {
                tam_match_eval_t e;
                assert_int_equal(tam_match__whatif_eval(fx->m, all.items.v[k].change, 1, &e), 0);
                assert_int_equal((int64_t)(e.obj1 - e.obj0), all.items.v[k].objective_delta);
                tam_match__eval_free(&e);
            }
            shared += all.items.n > all.solved;
        }
        fx_free(fx);
    }
    assert_true(checked > 3);
    printf("advise bound: %d project(s) checked, pruning in %d, a shared solve in %d\n", checked,
           pruned, shared);
}

int main(void)
{
    tam_log_init("test_match_whatif", LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_equal_real),
        cmocka_unit_test(test_live_untouched),
        cmocka_unit_test(test_every_error_listed),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_advise),
        cmocka_unit_test(test_advise_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_match_query.c — the reads of tam-match: proposals with each filter
 * (country, group, category, standard, project, donor, state, free text)
 * and paging, explanations (alternatives, duals, errors), gaps with filters
 * and their order, the run header, the LP export in chunks, and the refusals
 * (before the first run, unknown codes, malformed requests). */
#include "match_fixture.h"
#include "match_int.h"

static fx_inst_t s_inst;

static int s_setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int s_teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* Calls a query with an encoded request; returns the refusal code (0: ok). */
static int s_call(fx_t *fx, int msg, const tam_schema_t *qs, const void *q, const tam_schema_t *as,
                  void *out, tam_rpc_error_t *err)
{
    msgpack_sbuffer qb, ans;
    assert_int_equal(tam_encode_sbuf(qs, q, &qb, NULL), 0);
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_clear(err);
    int rc = tam_match_query(fx->m, msg, qb.data, qb.size, fx->a, &ans, err);
    if (rc == 0 && err->code == 0) {
        memset(out, 0, as->size);
        assert_int_equal(tam_decode(as, ans.data, ans.size, fx->a, out, NULL), 0);
    }
    msgpack_sbuffer_destroy(&qb);
    msgpack_sbuffer_destroy(&ans);
    return rc ? rc : err->code;
}

static void s_load(fx_t *fx)
{
    fx_gen(&s_inst, 5, 500, 40, 40);
    fx_apply_inst(fx, &s_inst, 0);
    assert_int_equal(fx_run(fx), 0);
}

static void test_before_first_run(void **state)
{
    fx_t *fx = *state;
    tam_rpc_error_t err = {0};
    tam_proposal_query_t q = {0};
    tam_proposal_list_t l;
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &q,
                            &tam_schema_proposal_list, &l, &err), TAM_ESTATE);
    assert_non_null(strstr(err.message, "no run yet"));
    tam_lp_request_t lq = {0};
    tam_lp_chunk_t c;
    assert_int_equal(s_call(fx, TAM_MSG_match_export_lp, &tam_schema_lp_request, &lq,
                            &tam_schema_lp_chunk, &c, &err), TAM_ESTATE);
    FILE *f = fopen("/dev/null", "w");
    assert_int_equal(tam_match_write_lp(fx->m, f), TAM_ESTATE);
    fclose(f);
    tam_rpc_error_clear(&err);
}

static void test_filters_and_paging(void **state)
{
    fx_t *fx = *state;
    s_load(fx);
    tam_rpc_error_t err = {0};
    tam_proposal_query_t q = {.limit = 10000};
    tam_proposal_list_t all;
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &q,
                            &tam_schema_proposal_list, &all, &err), 0);
    assert_true(all.total > 50);
    assert_int_equal(all.items.n, all.total);
    assert_int_equal(all.run, 1);
    assert_int_equal(strlen(all.hash), 64);
    for (uint32_t i = 0; i < all.items.n; i++)
        assert_int_equal(all.items.v[i].rank, i + 1);
    /* each filter keeps exactly the matching proposals, in rank order */
    struct {
        tam_proposal_query_t q;
        int field;
    } cases[] = {
        {{.country = "KEN"}, 0}, {{.group = "AFRICAN"}, 1}, {{.category = "A"}, 2},
        {{.standard = "A-SMR"}, 3}, {{.project = "PRJ003"}, 4}, {{.donor = "EU"}, 5},
        {{.q = "smr"}, 6}, {{.q = "prj003"}, 7}, {{.state = "proposed"}, 8},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tam_proposal_list_t l;
        cases[c].q.limit = 10000;
        assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query,
                                &cases[c].q, &tam_schema_proposal_list, &l, &err), 0);
        int64_t expect = 0;
        for (uint32_t i = 0; i < all.items.n; i++) {
            const tam_proposal_t *p = &all.items.v[i];
            bool in = false;
            switch (cases[c].field) {
            case 0: in = strcmp(p->country, "KEN") == 0; break;
            case 1: in = strcmp(p->group, "AFRICAN") == 0; break;
            case 2: in = strcmp(p->category, "A") == 0; break;
            case 3: in = strcmp(p->standard, "A-SMR") == 0; break;
            case 4: in = strcmp(p->project, "PRJ003") == 0; break;
            case 5:
                for (uint32_t d = 0; d < p->donors.n; d++)
                    in |= strcmp(p->donors.v[d], "EU") == 0;
                break;
            case 6: /* free text, any case: here in the standard (no country name has it) */
            case 7: { /* ... here in the project (and so the id) */
                const char *needle = cases[c].q.q;
                const char *texts[] = {p->id, p->country, p->group, p->standard, p->modality, p->project};
                for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
                    in |= strcasestr(texts[k], needle) != NULL;
                for (uint32_t d = 0; d < p->donors.n; d++)
                    in |= strcasestr(p->donors.v[d], needle) != NULL;
                break;
            }
            case 8: in = p->state == TAM_E_proposal_state_proposed; break;
            }
            expect += in;
        }
        assert_true(expect > 0);
        assert_int_equal(l.total, expect);
        assert_int_equal(l.items.n, expect);
        for (uint32_t i = 1; i < l.items.n; i++)
            assert_true(l.items.v[i].rank > l.items.v[i - 1].rank);
    }
    /* paging: offset and limit over the same order; default limit 100 */
    tam_proposal_query_t pq = {.offset = 7, .limit = 5};
    tam_proposal_list_t page;
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &pq,
                            &tam_schema_proposal_list, &page, &err), 0);
    assert_int_equal(page.items.n, 5);
    assert_int_equal(page.total, all.total);
    assert_string_equal(page.items.v[0].id, all.items.v[7].id);
    tam_proposal_query_t dq = {0};
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &dq,
                            &tam_schema_proposal_list, &page, &err), 0);
    assert_int_equal(page.items.n, all.total < 100 ? all.total : 100);
    tam_proposal_query_t far = {.offset = 100000};
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &far,
                            &tam_schema_proposal_list, &page, &err), 0);
    assert_int_equal(page.items.n, 0);
    /* unknown codes are refused with the field named */
    tam_proposal_query_t bad = {.country = "XYZ", .standard = "NOPE"};
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &bad,
                            &tam_schema_proposal_list, &page, &err), TAM_EINVAL);
    assert_string_equal(err.field, "country");
    assert_int_equal(err.n, 2);
    /* each state keeps its proposals: together, all of them; an unknown state is refused */
    int64_t sum = 0;
    for (int s = 0; s < (int)tam_enum_proposal_state.n; s++) {
        tam_proposal_query_t sq = {.state = (char *)tam_enum_proposal_state.values[s], .limit = 10000};
        assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &sq,
                                &tam_schema_proposal_list, &page, &err), 0);
        int64_t expect = 0;
        for (uint32_t i = 0; i < all.items.n; i++)
            expect += (int)all.items.v[i].state == s;
        assert_int_equal(page.total, expect);
        for (uint32_t i = 0; i < page.items.n; i++)
            assert_int_equal(page.items.v[i].state, s);
        sum += page.total;
    }
    assert_int_equal(sum, all.total);
    tam_proposal_query_t bst = {.state = "pending"};
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &bst,
                            &tam_schema_proposal_list, &page, &err), TAM_EINVAL);
    assert_string_equal(err.field, "state");
    tam_proposal_query_t nop = {.project = "NOSUCH"};
    assert_int_equal(s_call(fx, TAM_MSG_match_proposals, &tam_schema_proposal_query, &nop,
                            &tam_schema_proposal_list, &page, &err), TAM_ENOTFOUND);
    tam_rpc_error_clear(&err);
}

static void test_explain(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-BODY", .priority = 1,
                            .cost = 100000});
    fx_project(fx, (fx_project_t){.id = "BIG", .received = 100000,
                                  .standards = "A-SMR,A-BODY"});
    fx_project(fx, (fx_project_t){.id = "SMALL", .received = 10000, .standards = "A-BODY"});
    assert_int_equal(fx_run(fx), 0);
    int code;
    tam_explanation_t *ex = fx_explain(fx, "1/BIG", &code);
    assert_non_null(ex);
    assert_int_equal(ex->proposal->amount, 100000);
    assert_int_equal(ex->need_unfunded, 0);
    assert_int_equal(ex->project_available, 100000);
    assert_true(ex->project_dual > 0);
    assert_int_equal(ex->alternatives.n, 0);
    bool funded = false, spent = false;
    for (uint32_t i = 0; i < ex->binding.n; i++) {
        funded |= strstr(ex->binding.v[i], "need fully funded") != NULL;
        spent |= strstr(ex->binding.v[i], "project budget exhausted") != NULL;
    }
    assert_true(funded && spent);
    ex = fx_explain(fx, "2/SMALL", &code);
    assert_non_null(ex);
    assert_int_equal(ex->proposal->amount, 10000);
    assert_int_equal(ex->need_unfunded, 90000);
    assert_int_equal(ex->alternatives.n, 1);
    assert_string_equal(ex->alternatives.v[0].project, "BIG");
    assert_int_equal(ex->alternatives.v[0].amount, 0);
    /* an eligible pair that gets nothing is explained too, with amount 0 */
    ex = fx_explain(fx, "2/BIG", &code);
    assert_non_null(ex);
    assert_int_equal(ex->proposal->amount, 0);
    assert_int_equal(ex->proposal->rank, 0);
    bool why = false;
    for (uint32_t i = 0; i < ex->binding.n; i++)
        why |= strstr(ex->binding.v[i], "not funded") != NULL;
    assert_true(why);
    /* refusals */
    assert_null(fx_explain(fx, "1-BIG", &code));
    assert_int_equal(code, TAM_EINVAL);
    assert_null(fx_explain(fx, "/BIG", &code));
    assert_int_equal(code, TAM_EINVAL);
    assert_null(fx_explain(fx, "99/BIG", &code));
    assert_int_equal(code, TAM_ENOTFOUND);
    assert_null(fx_explain(fx, "1/NOPE", &code));
    assert_int_equal(code, TAM_ENOTFOUND);
    assert_null(fx_explain(fx, "99999999999999999999999/BIG", &code));
    assert_int_equal(code, TAM_EINVAL);
}

/* explain's money model is built once per run and state of the inputs, and
 * built again when an input moves between runs. */
static void test_explain_money_cached(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-BODY", .cost = 50000});
    fx_project(fx, (fx_project_t){.id = "BIG", .received = 100000,
                                  .standards = "A-SMR,A-BODY"});
    assert_int_equal(fx_run(fx), 0);
    uint64_t b0 = tam_match__money_builds(fx->m);
    int code;
    tam_explanation_t *ex = fx_explain(fx, "1/BIG", &code);
    assert_non_null(ex);
    assert_int_equal(ex->money->project_received, 100000);
    assert_int_equal(ex->money->need_requested, 100000);
    ex = fx_explain(fx, "2/BIG", &code);
    assert_non_null(ex);
    assert_int_equal(ex->money->need_requested, 50000);
    assert_int_equal(tam_match__money_builds(fx->m), b0 + 1);
    /* inputs move before the next run: the figures follow */
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-BODY", .cost = 60000});
    ex = fx_explain(fx, "2/BIG", &code);
    if (!ex)
        fail_msg("explain after a need's update: code %d", code);
    assert_int_equal(ex->money->need_requested, 60000);
    assert_int_equal(tam_match__money_builds(fx->m), b0 + 2);
    fx_decision(fx, 2, "BIG", "KEN", TAM_E_decision_state_endorsed, 20000, 0);
    ex = fx_explain(fx, "2/BIG", &code);
    if (!ex)
        fail_msg("explain after a decision: code %d", code);
    assert_int_equal(ex->money->need_endorsed, 20000);
    assert_int_equal(tam_match__money_builds(fx->m), b0 + 3);
    assert_int_equal(fx_run(fx), 0);
    ex = fx_explain(fx, "2/BIG", &code);
    assert_non_null(ex);
    assert_int_equal(ex->money->need_endorsed, 20000);
    assert_int_equal(tam_match__money_builds(fx->m), b0 + 4);
}

/* explain names the current run and gives each pair its real state and
 * rank: proposed, unfunded, ineligible, declined, decided; and the USD the
 * equity factor is based on. */
static void test_explain_states(void **state)
{
    fx_t *fx = *state;
    fx_need(fx, (fx_need_t){.id = 1, .country = "KEN", .standard = "A-SMR", .priority = 5,
                            .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 2, .country = "KEN", .standard = "A-BODY", .priority = 1,
                            .cost = 100000});
    fx_need(fx, (fx_need_t){.id = 3, .country = "UGA", .standard = "A-SMR", .priority = 1,
                            .cost = 50000});
    fx_project(fx, (fx_project_t){.id = "BIG", .received = 100000,
                                  .standards = "A-SMR,A-BODY"});
    fx_project(fx, (fx_project_t){.id = "SMALL", .received = 10000, .standards = "A-BODY"});
    fx_project(fx, (fx_project_t){.id = "UGA", .received = 500000, .countries = "UGA"});
    fx_decision(fx, 3, "BIG", "UGA", TAM_E_decision_state_declined, 0, 0);
    fx_decision(fx, 3, "UGA", "UGA", TAM_E_decision_state_committed, 30000, 30000);
    assert_int_equal(fx_run(fx), 0);
    assert_int_equal(fx_run(fx), 0); /* the run id moves; explain follows it */
    int code;
    tam_explanation_t *ex = fx_explain(fx, "1/BIG", &code);
    assert_non_null(ex);
    assert_int_equal(ex->run, tam_match_run_id(fx->m));
    assert_int_equal(ex->run, 2);
    assert_string_equal(ex->hash, tam_match_run_hash(fx->m));
    assert_int_equal(ex->state, TAM_E_pair_state_proposed);
    assert_int_equal(ex->rank, ex->proposal->rank);
    assert_true(ex->rank >= 1);
    ex = fx_explain(fx, "2/BIG", &code); /* eligible, nothing at the optimum */
    assert_int_equal(ex->state, TAM_E_pair_state_unfunded);
    assert_int_equal(ex->rank, 0);
    ex = fx_explain(fx, "1/SMALL", &code); /* A-SMR not in SMALL's earmarks */
    assert_int_equal(ex->state, TAM_E_pair_state_ineligible);
    ex = fx_explain(fx, "3/BIG", &code);
    assert_int_equal(ex->state, TAM_E_pair_state_declined);
    assert_int_equal(ex->proposal->state, TAM_E_proposal_state_proposed);
    ex = fx_explain(fx, "3/UGA", &code);
    assert_int_equal(ex->state, TAM_E_pair_state_committed);
    assert_true(ex->rank >= 1);
    assert_int_equal(ex->need_fixed, 30000);
    assert_int_equal(ex->need_cost, 50000);
    /* equity: the USD already fixed for the country, and the scale */
    assert_int_equal(ex->equity_basis, 30000);
    assert_int_equal(ex->equity_scale, fx->par.equity_scale);
    int64_t v = -1;
    for (uint32_t i = 0; i < ex->proposal->factors.n; i++)
        if (strcmp(ex->proposal->factors.v[i].name, "equity") == 0)
            v = ex->proposal->factors.v[i].value;
    assert_int_equal(v, tam_match_f_equity(30000, fx->par.equity_scale));
    ex = fx_explain(fx, "1/BIG", &code);
    assert_int_equal(ex->equity_basis, 0);
    /* the gaps name the run and its hash too */
    tam_gap_query_t q = {.limit = 10};
    msgpack_sbuffer qb, ans;
    assert_int_equal(tam_encode_sbuf(&tam_schema_gap_query, &q, &qb, NULL), 0);
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_t err = {0};
    assert_int_equal(tam_match_query(fx->m, TAM_MSG_match_gaps, qb.data, qb.size, fx->a, &ans,
                                     &err), 0);
    tam_gap_list_t gl;
    memset(&gl, 0, sizeof gl);
    assert_int_equal(tam_decode(&tam_schema_gap_list, ans.data, ans.size, fx->a, &gl, NULL), 0);
    assert_int_equal(gl.run, 2);
    assert_string_equal(gl.hash, tam_match_run_hash(fx->m));
    msgpack_sbuffer_destroy(&qb);
    msgpack_sbuffer_destroy(&ans);
    tam_rpc_error_clear(&err);
}

static void test_gaps(void **state)
{
    fx_t *fx = *state;
    s_load(fx);
    tam_rpc_error_t err = {0};
    tam_gap_query_t q = {.limit = 10000};
    tam_gap_list_t g;
    assert_int_equal(s_call(fx, TAM_MSG_match_gaps, &tam_schema_gap_query, &q,
                            &tam_schema_gap_list, &g, &err), 0);
    tam_run_t *r = fx_header(fx);
    assert_true(g.total > 0);
    assert_int_equal(g.unfunded, r->unfunded);
    int64_t sum = 0;
    for (uint32_t i = 0; i < g.items.n; i++) {
        const tam_gap_t *x = &g.items.v[i];
        sum += x->unfunded;
        assert_int_equal(x->cost, x->funded + x->unfunded);
        assert_true(strlen(x->reason) > 10);
        if (i)
            assert_true(g.items.v[i - 1].unfunded >= x->unfunded);
    }
    assert_int_equal(sum, g.unfunded);
    tam_gap_query_t fq = {.group = "GRULAC", .category = "D", .limit = 10000};
    tam_gap_list_t fg;
    assert_int_equal(s_call(fx, TAM_MSG_match_gaps, &tam_schema_gap_query, &fq,
                            &tam_schema_gap_list, &fg, &err), 0);
    assert_true(fg.total > 0 && fg.total < g.total);
    for (uint32_t i = 0; i < fg.items.n; i++) {
        assert_string_equal(fg.items.v[i].group, "GRULAC");
        assert_string_equal(fg.items.v[i].category, "D");
    }
    tam_gap_query_t pq = {.offset = 2, .limit = 3};
    assert_int_equal(s_call(fx, TAM_MSG_match_gaps, &tam_schema_gap_query, &pq,
                            &tam_schema_gap_list, &fg, &err), 0);
    assert_int_equal(fg.items.n, 3);
    assert_int_equal(fg.items.v[0].need, g.items.v[2].need);
    tam_gap_query_t bq = {.group = "NOPE"};
    assert_int_equal(s_call(fx, TAM_MSG_match_gaps, &tam_schema_gap_query, &bq,
                            &tam_schema_gap_list, &fg, &err), TAM_EINVAL);
    assert_string_equal(err.field, "group");
    tam_rpc_error_clear(&err);
}

static void test_export_chunks(void **state)
{
    fx_t *fx = *state;
    fx_gen(&s_inst, 9, 4000, 150, 50);
    fx_apply_inst(fx, &s_inst, 0);
    assert_int_equal(fx_run(fx), 0);
    char *whole = NULL;
    size_t wlen = 0;
    FILE *f = open_memstream(&whole, &wlen);
    assert_int_equal(tam_match_write_lp(fx->m, f), 0);
    fclose(f);
    assert_true(wlen > TAM_MATCH_LP_CHUNK); /* takes several chunks */
    tam_rpc_error_t err = {0};
    char *got = malloc(wlen + 1);
    size_t off = 0;
    int chunks = 0;
    while (off < wlen) {
        tam_lp_request_t q = {.offset = off, .run = 1};
        tam_lp_chunk_t c;
        assert_int_equal(s_call(fx, TAM_MSG_match_export_lp, &tam_schema_lp_request, &q,
                                &tam_schema_lp_chunk, &c, &err), 0);
        assert_int_equal(c.run, 1);
        size_t n = strlen(c.text);
        assert_true(n > 0 && n <= TAM_MATCH_LP_CHUNK && off + n <= wlen);
        /* made as it is read: the whole length comes with the last chunk,
         * before that one more than what was sent */
        assert_int_equal(c.total, off + n == wlen ? wlen : off + n + 1);
        if (chunks == 1) {
            /* the same chunk asked again (a client's retry): the same bytes */
            tam_lp_chunk_t again;
            assert_int_equal(s_call(fx, TAM_MSG_match_export_lp, &tam_schema_lp_request, &q,
                                    &tam_schema_lp_chunk, &again, &err), 0);
            assert_string_equal(again.text, c.text);
            /* an offset that does not continue the export: refused */
            tam_lp_request_t skip = {.offset = off + 1, .run = 1};
            assert_int_equal(s_call(fx, TAM_MSG_match_export_lp, &tam_schema_lp_request, &skip,
                                    &tam_schema_lp_chunk, &again, &err), TAM_ERANGE);
            assert_string_equal(err.field, "offset");
            tam_rpc_error_clear(&err);
        }
        memcpy(got + off, c.text, n);
        off += n;
        chunks++;
        tam_arena_reset(fx->a);
    }
    assert_true(chunks >= 2);
    assert_memory_equal(got, whole, wlen);
    /* names are readable: need ids and project ids */
    assert_non_null(strstr(whole, " x_"));
    assert_non_null(strstr(whole, "_PRJ"));
    assert_non_null(strstr(whole, " p_PRJ"));
    /* past the end, or for a run that is no longer current: refused */
    tam_lp_request_t q = {.offset = wlen + 1};
    tam_lp_chunk_t c;
    assert_int_equal(s_call(fx, TAM_MSG_match_export_lp, &tam_schema_lp_request, &q,
                            &tam_schema_lp_chunk, &c, &err), TAM_ERANGE);
    fx_need(fx, (fx_need_t){.id = 3, .country = "KEN", .standard = "A-SMR"});
    assert_int_equal(fx_run(fx), 0);
    tam_lp_request_t old = {.run = 1};
    assert_int_equal(s_call(fx, TAM_MSG_match_export_lp, &tam_schema_lp_request, &old,
                            &tam_schema_lp_chunk, &c, &err), TAM_ESTATE);
    assert_string_equal(err.field, "run");
    free(got);
    free(whole);
    tam_rpc_error_clear(&err);
}

static void test_malformed(void **state)
{
    fx_t *fx = *state;
    s_load(fx);
    msgpack_sbuffer ans;
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_t err = {0};
    const uint8_t bad[] = {0x81, 0xa3, 'x', 'y', 'z', 0x01}; /* {"xyz": 1} */
    int msgs[] = {TAM_MSG_match_proposals, TAM_MSG_match_explain, TAM_MSG_match_gaps,
                  TAM_MSG_match_run, TAM_MSG_match_export_lp};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        int rc = tam_match_query(fx->m, msgs[i], bad, sizeof bad, fx->a, &ans, &err);
        assert_true(rc < 0 || err.code < 0);
        assert_int_equal(err.code, TAM_EUNKNOWN);
        tam_rpc_error_clear(&err);
    }
    msgpack_sbuffer_destroy(&ans);
}

int main(void)
{
    tam_log_init("test_match_query", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_before_first_run, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_filters_and_paging, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_explain, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_explain_states, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_explain_money_cached, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_gaps, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_export_chunks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

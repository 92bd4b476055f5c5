/* test_pipeline_report.c — the reports of tam-pipeline checked cell by cell
 * against figures worked out by hand on the small data set of
 * pipeline_fixture.h plus these decisions:
 *   T0      endorse 1/AFR-A          (the proposal's 100,000)
 *   T0+1d   endorse 4/GLO-D 120,000
 *   T0+2d   commit  4/GLO-D 100,000
 *   T0+3d   decline 2/AFR-A
 * which leave 7/GLO-D (60,000), 1/SMALL, 2/SMALL and 3/SMALL (10,000 each)
 * proposed with no decision, and 4/GLO-D proposing 20,000 beyond the 100,000
 * committed (its proposal of 120,000 predates the commitment). The
 * commission report is checked on hand-made replies. */
#include "pipeline_fixture.h"

static void s_decide(pf_t *f)
{
    f->p.now_ms = PF_T0;
    pf_ok(f, "endorse", "1/AFR-A", 0);
    f->p.now_ms = PF_T0 + PF_DAY;
    pf_ok(f, "endorse", "4/GLO-D", 120000);
    f->p.now_ms = PF_T0 + 2 * PF_DAY;
    pf_ok(f, "commit", "4/GLO-D", 100000);
    f->p.now_ms = PF_T0 + 3 * PF_DAY;
    pf_ok(f, "decline", "2/AFR-A", 0);
    f->p.now_ms = PF_T0 + 10 * PF_DAY;
}

static int setup(void **state)
{
    int rc = pf_setup(state);
    if (rc == 0)
        s_decide(*state);
    return rc;
}

static int s_report(pf_t *f, tam_report_kind_t kind, tam_report_request_t *rq, tam_report_t *out)
{
    tam_report_request_t r = rq ? *rq : (tam_report_request_t){0};
    r.kind = kind;
    return pf_read(f, TAM_MSG_pipeline_report, &r, out);
}

/* Asserts that row r holds exactly the cells given ("|"-separated). */
static void s_row(const tam_report_row_t *r, const char *want)
{
    char buf[1024];
    size_t o = 0;
    for (uint32_t i = 0; i < r->cells.n; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? "|" : "", r->cells.v[i]);
    if (strcmp(buf, want) != 0)
        fail_msg("row\n  %s\nnot\n  %s", buf, want);
}

static void s_columns(const tam_strs_t *c, const char *want)
{
    tam_report_row_t r = {.cells = *c};
    s_row(&r, want);
}

/* ---- gaps ------------------------------------------------------------------------------ */

static void test_gaps(void **state)
{
    pf_t *f = *state;
    tam_report_t r;
    assert_int_equal(s_report(f, TAM_E_report_kind_gaps, NULL, &r), 0);
    s_columns(&r.columns, "category|group|standard|country|needs|requested|proposed|endorsed|"
                          "committed|unmet");
    s_columns(&r.hxl, "#sector+code|#region+name|#subsector+code|#country+code|#activity+num+needs|"
                      "#value+requested+usd|#value+proposed+usd|#value+endorsed+usd|"
                      "#value+committed+usd|#value+unmet+usd");
    s_columns(&r.numeric, "0|0|0|0|1|1|1|1|1|1");
    assert_int_equal(r.group_by, 2);
    assert_true(r.subtotals);
    assert_int_equal(r.run, 7);
    assert_int_equal(r.rows.n, 4);
    /* need 1: endorsed in full; 1/SMALL's 10,000 is beyond its cost: not counted */
    s_row(&r.rows.v[0], "A|AFRICAN|A-SMR|KEN|1|100000|0|100000|0|0");
    /* need 2: 2/AFR-A declined, 2/SMALL proposes 10,000; need 5 (withdrawn) is not counted */
    s_row(&r.rows.v[1], "A|AFRICAN|A-TOKYO|KEN|1|50000|10000|0|0|40000");
    s_row(&r.rows.v[2], "C|APG|C-PREV|IND|1|80000|10000|0|0|70000");
    /* needs 4 and 7: 100,000 committed on 4 (the endorsement is not counted
     * twice) and 20,000 proposed beyond it; 60,000 proposed on 7 */
    s_row(&r.rows.v[3], "D|GRULAC|D-JUDIC|COL|2|260000|80000|0|100000|80000");

    tam_report_request_t rq = {.group = "AFRICAN"};
    assert_int_equal(s_report(f, TAM_E_report_kind_gaps, &rq, &r), 0);
    assert_int_equal(r.rows.n, 2);
    rq = (tam_report_request_t){.category = "C"};
    assert_int_equal(s_report(f, TAM_E_report_kind_gaps, &rq, &r), 0);
    assert_int_equal(r.rows.n, 1);
    s_row(&r.rows.v[0], "C|APG|C-PREV|IND|1|80000|10000|0|0|70000");
    rq = (tam_report_request_t){.group = "XYZ"};
    assert_int_equal(s_report(f, TAM_E_report_kind_gaps, &rq, &r), TAM_EINVAL);
    assert_string_equal(f->err.field, "group");
    rq = (tam_report_request_t){.category = "Q"};
    assert_int_equal(s_report(f, TAM_E_report_kind_gaps, &rq, &r), TAM_EINVAL);
    assert_string_equal(f->err.field, "category");

    /* the run moves on: 1/SMALL is removed, 4/GLO-D proposes exactly what is
     * committed; the delivered commitment still counts */
    pf_prop(f, "1/SMALL", 8, 0, true);
    pf_prop(f, "4/GLO-D", 8, 100000, false);
    pf_ok(f, "deliver", "4/GLO-D", 0);
    assert_int_equal(s_report(f, TAM_E_report_kind_gaps, NULL, &r), 0);
    s_row(&r.rows.v[0], "A|AFRICAN|A-SMR|KEN|1|100000|0|100000|0|0");
    s_row(&r.rows.v[3], "D|GRULAC|D-JUDIC|COL|2|260000|60000|0|100000|100000");
    assert_non_null(r.totals);
    assert_int_equal(r.totals->committed, 100000);

    /* need 4 is withdrawn by a revision: its committed money still counts,
     * requested is what it holds, and nothing new is proposed to it */
    pf_need(f, 4, "COL", "D-JUDIC", 200000, false);
    assert_int_equal(s_report(f, TAM_E_report_kind_gaps, NULL, &r), 0);
    s_row(&r.rows.v[3], "D|GRULAC|D-JUDIC|COL|1|160000|60000|0|100000|0");
    assert_int_equal(r.totals->committed, 100000);
    assert_int_equal(r.totals->unmet, r.totals->requested - r.totals->proposed -
                                          r.totals->endorsed - r.totals->committed);
}

/* ---- donors ------------------------------------------------------------------------------ */

static void test_donors(void **state)
{
    pf_t *f = *state;
    tam_report_t r;
    assert_int_equal(s_report(f, TAM_E_report_kind_donors, NULL, &r), 0);
    s_columns(&r.columns, "donor|donor name|project|status|share %|budget|received|committed|"
                          "endorsed|proposed|unallocated|eligible needs");
    s_columns(&r.numeric, "0|0|0|0|2|1|1|1|1|1|1|2");
    assert_int_equal(r.group_by, 2);
    assert_int_equal(r.rows.n, 6);
    /* AFR-A: received 150,001, 100,000 endorsed (1/AFR-A), nothing proposed
     * (1/AFR-A decided, 2/AFR-A declined): unallocated 50,001; split 60/40, the
     * last donor takes the rounding (150,001 x 60% = 90,000.6 -> 90,000) */
    s_row(&r.rows.v[0], "NOR|Norway|AFR-A|active|60|300000|90000|0|60000|0|30000|2");
    s_row(&r.rows.v[1], "NOR|Norway|PIPE|pipeline|100|50000|0|0|0|0|0|-");
    /* SMALL: three proposals of 10,000, one of them (1/SMALL) beyond what
     * need 1 lacks once endorsed in full */
    s_row(&r.rows.v[2], "NOR|Norway|SMALL|active|100|70000|70000|0|0|20000|50000|3");
    s_row(&r.rows.v[3], "SWE|Sweden|AFR-A|active|40|200000|60001|0|40000|0|20001|2");
    s_row(&r.rows.v[4], "SWE|Sweden|EEG-X|active|100|100000|40000|0|0|0|40000|0");
    /* GLO-D: 100,000 committed (4/GLO-D), 60,000 proposed (7/GLO-D) and
     * 20,000 beyond the commitment on 4/GLO-D */
    s_row(&r.rows.v[5], "USA|United States|GLO-D|active|100|300000|300000|100000|0|80000|120000|2");
    /* every project with unallocated money, and why: EEG-X's earmark on the
     * EEG group; the others' eligible needs still lack money the hand-made
     * run did not place (GLO-D: its cap per need) */
    assert_int_equal(r.more.n, 1);
    assert_int_equal(r.more.v[0].rows.n, 4);
    s_row(&r.more.v[0].rows.v[0],
          "AFR-A|NOR, SWE|50001|2|its eligible needs still lack 40,000 USD that the current run "
          "did not place (score or window limits, or a run older than the latest data)");
    s_row(&r.more.v[0].rows.v[1],
          "EEG-X|SWE|40000|0|no open need fits its earmark on regional groups");
    s_row(&r.more.v[0].rows.v[2], "GLO-D|USA|120000|2|its 2 eligible need(s) can take at most "
                                  "120,000 USD each from it (its cap per need); what they still "
                                  "lack, 80,000 USD, is beyond that");

    /* a project whose only eligible need is already funded (PAC-LEGIS in
     * the demo): listed, with that reason */
    pf_project(f, "FUNDED", "SWE:100", 100000, 100000, TAM_E_project_status_active, "APG", "C", 0);
    pf_run(f, 7, "AFR-A:2,GLO-D:2,EEG-X:0,SMALL:3,FUNDED:1");
    pf_prop(f, "3/FUNDED", 7, 80000, false);
    assert_int_equal(s_report(f, TAM_E_report_kind_donors, NULL, &r), 0);
    assert_int_equal(r.more.v[0].rows.n, 5);
    s_row(&r.more.v[0].rows.v[2], "FUNDED|SWE|20000|1|its 1 eligible need(s) are already funded "
                                  "(committed, endorsed or proposed, from this project or "
                                  "others): nothing declared is left for its earmark");
    pf_run(f, 7, "AFR-A:2,GLO-D:2,EEG-X:0,SMALL:3");
    pf_prop(f, "3/FUNDED", 7, 0, true);
    pf_project(f, "FUNDED", "SWE:100", 100000, 0, TAM_E_project_status_active, "APG", "C", 0);

    tam_report_request_t rq = {.donor = "SWE"};
    assert_int_equal(s_report(f, TAM_E_report_kind_donors, &rq, &r), 0);
    assert_int_equal(r.rows.n, 3);
    s_row(&r.rows.v[1], "SWE|Sweden|EEG-X|active|100|100000|40000|0|0|0|40000|0");

    /* Earmarks that each admit some need but no need together; and, with no
     * run, the pipeline counts eligible needs itself. */
    pf_project(f, "COMBO", "USA:100", 10000, 5000, TAM_E_project_status_active, "APG", "A", 0);
    tam_pipeline_view_reset(f->view, TAM_PIPELINE_SRC_MATCH);
    tam_pipeline_view_synced(f->view, TAM_PIPELINE_SRC_MATCH, 11);
    assert_int_equal(s_report(f, TAM_E_report_kind_donors, NULL, &r), 0);
    assert_int_equal(r.run, 0);
    s_row(&r.rows.v[0], "NOR|Norway|AFR-A|active|60|300000|90000|0|60000|0|30000|-");
    s_row(&r.more.v[0].rows.v[1], "COMBO|USA|5000|0|each earmark admits some open need, but no "
                                  "need meets all of them together");
    s_row(&r.more.v[0].rows.v[2], "EEG-X|SWE|40000|0|no open need fits its earmark on regional groups");
}

static void test_earmarks(void **state)
{
    pf_t *f = *state;
    tam_earmarks_t em = {0};
    tam_project_t pr = {.start = 20260101, .end = 20261231, .earmarks = &em};
    tam_pipeline_need_t n = {.country = "KEN", .category = "A", .standard = "A-SMR",
                             .modality = "training", .group = "AFRICAN", .start = 20270101,
                             .end = 20271231, .open = true};
    /* the window does not overlap: only that dimension fails */
    assert_int_equal(tam_pipeline_earmarks_admit(f->cat, NULL, &pr, &n),
                     TAM_PIPELINE_EM_ALL & ~TAM_PIPELINE_EM_WINDOW);
    pr.end = 20270101;
    assert_int_equal(tam_pipeline_earmarks_admit(f->cat, NULL, &pr, &n), TAM_PIPELINE_EM_ALL);
    char *regions[] = {"202"}, *notin[] = {"150"}, *mods[] = {"legislative"};
    em.regions = (tam_strs_t){1, regions}; /* Sub-Saharan Africa */
    assert_int_equal(tam_pipeline_earmarks_admit(f->cat, NULL, &pr, &n), TAM_PIPELINE_EM_ALL);
    em.regions = (tam_strs_t){1, notin}; /* Europe */
    em.modalities = (tam_strs_t){1, mods};
    em.post_conflict_only = true;
    assert_int_equal(tam_pipeline_earmarks_admit(f->cat, NULL, &pr, &n),
                     TAM_PIPELINE_EM_ALL & ~(TAM_PIPELINE_EM_REGIONS | TAM_PIPELINE_EM_MODALITIES |
                                             TAM_PIPELINE_EM_POST_CONFLICT));
    tam_mission_t m = {.country = "KEN", .operation = "TEST", .valid_from = 20260101};
    tam_context_t ctx = {0};
    ctx.missions.n = 1;
    ctx.missions.v = &m;
    assert_true(tam_pipeline_earmarks_admit(f->cat, &ctx, &pr, &n) & TAM_PIPELINE_EM_POST_CONFLICT);
}

/* ---- pipeline --------------------------------------------------------------------------- */

static void test_pipeline(void **state)
{
    pf_t *f = *state;
    tam_report_t r;
    assert_int_equal(s_report(f, TAM_E_report_kind_pipeline, NULL, &r), 0);
    s_columns(&r.columns, "state|decisions|amount|oldest|next step");
    assert_int_equal(r.rows.n, 6);
    s_row(&r.rows.v[0], "proposed (no decision)|4|80000|-|endorse or decline (manager)");
    s_row(&r.rows.v[1], "endorsed|1|100000|2027-01-01|commit (donor liaison) or withdraw (manager)");
    s_row(&r.rows.v[2], "committed|1|100000|2027-01-03|deliver (manager)");
    s_row(&r.rows.v[3], "delivered|0|0|-|-");
    s_row(&r.rows.v[4], "withdrawn|0|0|-|-");
    s_row(&r.rows.v[5], "declined|1|0|2027-01-04|-");
    assert_int_equal(r.more.n, 2);
    assert_int_equal(r.more.v[1].rows.n, 0); /* nothing flagged */
    const tam_report_part_t *w = &r.more.v[0];
    s_columns(&w->columns, "proposal|country|project|state|amount|since|days|next step");
    assert_int_equal(w->rows.n, 2);
    s_row(&w->rows.v[0], "1/AFR-A|KEN|AFR-A|endorsed|100000|2027-01-01|10|"
                         "commit (donor liaison) or withdraw (manager)");
    s_row(&w->rows.v[1], "4/GLO-D|COL|GLO-D|committed|100000|2027-01-03|8|deliver (manager)");
    tam_report_request_t rq = {.limit = 1};
    assert_int_equal(s_report(f, TAM_E_report_kind_pipeline, &rq, &r), 0);
    assert_int_equal(r.more.v[0].rows.n, 1);

    /* withdrawing and delivering move the counts */
    pf_ok(f, "withdraw", "1/AFR-A", 0);
    pf_ok(f, "deliver", "4/GLO-D", 0);
    assert_int_equal(s_report(f, TAM_E_report_kind_pipeline, NULL, &r), 0);
    s_row(&r.rows.v[1], "endorsed|0|0|-|-");
    s_row(&r.rows.v[3], "delivered|1|100000|2027-01-11|-");
    s_row(&r.rows.v[4], "withdrawn|1|0|2027-01-11|endorse again or decline (manager)");
    assert_int_equal(r.more.v[0].rows.n, 0);
}

/* ---- commission --------------------------------------------------------------------------- */

typedef struct {
    tam_reply_full_t v[5];
    tam_reply_info_t info[5];
    tam_reply_t reply[5];
    tam_finding_t f[5][3][2];
} s_replies_t;

static void s_reply(s_replies_t *r, int i, const char *respondent, tam_respondent_type_t type,
                    bool current)
{
    r->info[i] = (tam_reply_info_t){.id = (uint64_t)i + 1, .respondent = (char *)respondent,
                                    .respondent_type = type,
                                    .status = current ? TAM_E_reply_status_current
                                                      : TAM_E_reply_status_superseded};
    r->v[i].info = &r->info[i];
    r->v[i].reply = &r->reply[i];
}

/* kind 0 difficulties, 1 assistance, 2 practices */
static void s_finding(s_replies_t *r, int i, int kind, const char *std, const char *text)
{
    tam_reply_t *rp = &r->reply[i];
    uint32_t *n = kind == 0 ? &rp->difficulties.n : kind == 1 ? &rp->assistance.n : &rp->practices.n;
    tam_finding_t **v = kind == 0 ? &rp->difficulties.v : kind == 1 ? &rp->assistance.v
                                                                   : &rp->practices.v;
    assert_true(*n < 2);
    r->f[i][kind][*n] = (tam_finding_t){.standard = (char *)std, .text = (char *)text};
    *v = r->f[i][kind];
    (*n)++;
}

static void s_commission_data(s_replies_t *r)
{
    memset(r, 0, sizeof *r);
    s_reply(r, 0, "KEN", TAM_E_respondent_type_member_state, true);
    s_finding(r, 0, 0, "A-SMR", "Overcrowding  in prisons. ");
    s_finding(r, 0, 1, "A-SMR", "Training of staff");
    s_reply(r, 1, "IND", TAM_E_respondent_type_member_state, true);
    s_finding(r, 1, 0, "A-SMR", "overcrowding in\tprisons.");
    s_finding(r, 1, 0, "C-PREV", "Lack of data");
    s_reply(r, 2, "PRI", TAM_E_respondent_type_ngo, true);
    s_finding(r, 2, 0, "A-SMR", "Overcrowding in prisons.");
    s_finding(r, 2, 2, "A-SMR", "Paralegals in prisons");
    s_reply(r, 3, "KEN", TAM_E_respondent_type_member_state, false); /* superseded: ignored */
    s_finding(r, 3, 0, "A-SMR", "An old statement");
    s_reply(r, 4, "KEN", TAM_E_respondent_type_member_state, true); /* KEN again: counted once */
    s_finding(r, 4, 0, "A-SMR", "OVERCROWDING IN PRISONS.");
}

static void test_commission(void **state)
{
    pf_t *f = *state;
    s_replies_t d;
    s_commission_data(&d);
    tam_report_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(tam_pipeline_commission(f->cat, d.v, 5, NULL, f->a, &r), 0);
    s_columns(&r.columns, "category|standard|kind|statement|respondents|AFRICAN|APG|EEG|GRULAC|"
                          "WEOG|organisations");
    s_columns(&r.numeric, "0|0|0|0|2|2|2|2|2|2|2");
    assert_int_equal(r.rows.n, 4);
    s_row(&r.rows.v[0], "A|A-SMR|difficulty (9a)|Overcrowding in prisons.|3|1|1|0|0|0|1");
    s_row(&r.rows.v[1], "A|A-SMR|assistance (9b)|Training of staff|1|1|0|0|0|0|0");
    s_row(&r.rows.v[2], "A|A-SMR|practice (9c)|Paralegals in prisons|1|0|0|0|0|0|1");
    s_row(&r.rows.v[3], "C|C-PREV|difficulty (9a)|Lack of data|1|0|1|0|0|0|0");
    assert_non_null(strstr(r.notes.v[0], "4 current replies"));

    memset(&r, 0, sizeof r);
    assert_int_equal(tam_pipeline_commission(f->cat, d.v, 5, "C", f->a, &r), 0);
    assert_int_equal(r.rows.n, 1);
    s_row(&r.rows.v[0], "C|C-PREV|difficulty (9a)|Lack of data|1|0|1|0|0|0|0");
    memset(&r, 0, sizeof r);
    assert_int_equal(tam_pipeline_commission(f->cat, NULL, 0, NULL, f->a, &r), 0);
    assert_int_equal(r.rows.n, 0);
}

/* Through pipeline.report: the replies come from p->replies (tam-ingest in
 * the service); without it, or when it fails, the report is unavailable. */
static int s_fake_replies(void *arg, tam_arena_t *a, tam_reply_full_t **out, size_t *n,
                          tam_rpc_error_t *err)
{
    (void)a;
    s_replies_t *d = arg;
    if (!d) {
        tam_rpc_error_set(err, TAM_EUNAVAIL, "", "tam-ingest did not answer");
        return err->code;
    }
    *out = d->v;
    *n = 5;
    return 0;
}

static void test_commission_report(void **state)
{
    pf_t *f = *state;
    tam_report_t r;
    assert_int_equal(s_report(f, TAM_E_report_kind_commission, NULL, &r), TAM_EUNAVAIL);
    f->p.replies = s_fake_replies;
    f->p.replies_arg = NULL;
    assert_int_equal(s_report(f, TAM_E_report_kind_commission, NULL, &r), TAM_EUNAVAIL);
    assert_non_null(strstr(f->err.message, "tam-ingest"));
    s_replies_t d;
    s_commission_data(&d);
    f->p.replies_arg = &d;
    tam_report_request_t rq = {.category = "A"};
    assert_int_equal(s_report(f, TAM_E_report_kind_commission, &rq, &r), 0);
    assert_int_equal(r.kind, TAM_E_report_kind_commission);
    assert_non_null(strstr(r.title, "para 9"));
    assert_int_equal(r.rows.n, 3);
    s_row(&r.rows.v[0], "A|A-SMR|difficulty (9a)|Overcrowding in prisons.|3|1|1|0|0|0|1");
    f->p.replies = NULL;
}

/* ---- pipeline.money (project show, project list) ------------------------------------ */

static void test_money(void **state)
{
    pf_t *f = *state;
    tam_money_query_t q = {0};
    tam_money_list_t l;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_money, &q, &l), 0);
    assert_int_equal(l.items.n, 5);
    assert_int_equal(l.run, 7);
    assert_int_equal(l.registry_age, 0);
    /* by id: AFR-A, EEG-X, GLO-D, PIPE, SMALL */
    const tam_project_money_t *a = &l.items.v[0], *g = &l.items.v[2];
    assert_string_equal(a->project, "AFR-A");
    assert_int_equal(a->received, 150001);
    assert_int_equal(a->endorsed, 100000);
    assert_int_equal(a->available, 50001);
    assert_int_equal(a->decisions, 1);
    assert_string_equal(g->project, "GLO-D");
    assert_int_equal(g->committed, 100000);
    assert_int_equal(g->available, 200000);
    assert_int_equal(g->proposed, 80000);
    assert_int_equal(g->unallocated, 120000);
    /* the same totals as every report */
    tam_report_t r;
    tam_report_request_t rq = {.kind = TAM_E_report_kind_donors};
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_report, &rq, &r), 0);
    tam_money_list_t l2;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_money, &q, &l2), 0);
    assert_memory_equal(l2.totals, r.totals, sizeof *r.totals);
    q.project = "GLO-D";
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_money, &q, &l), 0);
    assert_int_equal(l.items.n, 1);
    assert_int_equal(l.items.v[0].committed, 100000);
    q.project = "NOPE";
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_money, &q, &l), TAM_ENOTFOUND);
    assert_string_equal(f->err.field, "project");
    /* tam-registry resynchronising: its last feed, and how old */
    tam_pipeline_view_reset(f->view, TAM_PIPELINE_SRC_REGISTRY);
    q.project = NULL;
    assert_int_equal(pf_read(f, TAM_MSG_pipeline_money, &q, &l), 0);
    assert_int_equal(l.items.n, 5);
    assert_true(l.registry_age > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gaps, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_donors, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_earmarks, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_pipeline, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_money, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_commission, setup, pf_teardown),
        cmocka_unit_test_setup_teardown(test_commission_report, setup, pf_teardown),
    };
    return cmocka_run_group_tests(tests, pf_group_setup, pf_group_teardown);
}

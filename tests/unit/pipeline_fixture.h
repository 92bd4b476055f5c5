/* pipeline_fixture.h — shared by tests/unit/test_pipeline_*.c: a fresh LMDB
 * environment per test, views fed directly with encoded feed records (as the
 * feed clients would), a small hand-made data set whose figures the tests
 * compute by hand, and helpers that run one act or one read the way the
 * service loop does. Header-only: each test program includes it once. */
#ifndef TAM_PIPELINE_FIXTURE_H
#define TAM_PIPELINE_FIXTURE_H
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/catalog.h"
#include "tam/error.h"
#include "tam/log.h"
#include "pipeline.h" /* services/pipeline, linked by its CMakeLists.txt */

#define PF_FN static __attribute__((unused))
#define PF_DAY 86400000LL
#define PF_T0 1798761600000LL /* 2027-01-01 00:00 UTC */
#define PF_HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
    tam_catalog_t *cat;
    char dir[64];
    tam_store_t *store;
    tam_pipeline_view_t *view;
    tam_pipeline_t p;
    tam_principal_t who;
    tam_arena_t *a;
    /* the last act or read */
    tam_rpc_error_t err;
    msgpack_sbuffer answer;
    tam_events_t pubs;
    int rc;
} pf_t;

/* ---- feeding the views ----------------------------------------------------------- */

/* Gives every field of obj (schema s) that the test left zero a valid value
 * (the smallest in range, a string of the shortest length, a date), so that
 * records of other services' schemas stay valid when those schemas gain
 * fields the test does not know about. Strings and sub-structs come from a. */
PF_FN void pf_fill(const tam_schema_t *s, void *obj, tam_arena_t *a)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const tam_field_t *fl = &s->fields[i];
        char *p = (char *)obj + fl->offset;
        switch (fl->type) {
        case TAM_T_STR:
            if (!*(char **)p && (fl->flags & TAM_F_REQ)) {
                char *v = tam_arena_alloc(a, (size_t)fl->min + 1);
                memset(v, 'x', (size_t)fl->min);
                *(char **)p = v;
            }
            break;
        case TAM_T_I64:
            if (*(int64_t *)p < fl->min)
                *(int64_t *)p = fl->min;
            break;
        case TAM_T_DATE:
            if (!*(uint32_t *)p)
                *(uint32_t *)p = 20270101;
            break;
        case TAM_T_OBJ:
            if (!*(void **)p && (fl->flags & TAM_F_REQ)) {
                void *sub = tam_arena_alloc(a, fl->sub->size);
                pf_fill(fl->sub, sub, a);
                *(void **)p = sub;
            }
            break;
        case TAM_T_OBJS: {
            tam_vec_t *v = (tam_vec_t *)p;
            for (uint32_t k = 0; k < v->n; k++)
                pf_fill(fl->sub, (char *)v->v + k * fl->sub->size, a);
            break;
        }
        default:
            break;
        }
    }
}

PF_FN void pf_record(pf_t *f, tam_pipeline_src_t src, const char *topic, const tam_schema_t *s,
                     const void *obj)
{
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    assert_int_equal(tam_encode_sbuf(s, obj, &sb, &ce), 0);
    if (tam_pipeline_view_record(f->view, src, topic, strlen(topic), sb.data, sb.size) != 0) {
        tam_arena_t *a = tam_arena_new(0);
        char out[4096];
        tam_decode(s, sb.data, sb.size, a, out, &ce);
        tam_arena_destroy(&a);
        msgpack_sbuffer_destroy(&sb);
        fail_msg("%s record refused: %s: %s", topic, ce.path, ce.message);
    }
    msgpack_sbuffer_destroy(&sb);
}

PF_FN void pf_need(pf_t *f, uint64_t id, const char *country, const char *std, int64_t cost,
                   bool open)
{
    char cat[2] = {std[0], 0}, topic[16];
    tam_need_t n = {.id = id, .reply_id = 1, .respondent = (char *)country,
                    .country = (char *)country, .category = cat, .standard = (char *)std,
                    .modality = "training", .priority = 3, .cost = cost, .start = 20270101,
                    .end = 20271231, .completeness = 80,
                    .status = open ? TAM_E_need_status_open : TAM_E_need_status_withdrawn};
    snprintf(topic, sizeof topic, "need/%s/%s", country, cat);
    pf_record(f, TAM_PIPELINE_SRC_INGEST, topic, &tam_schema_need, &n);
}

/* donors: "NOR:60,SWE:40"; groups, categories: comma-separated or NULL. */
PF_FN void pf_project(pf_t *f, const char *id, const char *donors, int64_t budget,
                      int64_t received, tam_project_status_t status, const char *groups,
                      const char *categories, int64_t max_per_need)
{
    tam_share_t shares[8];
    char dbuf[128], gbuf[64], cbuf[16];
    char *gv[8], *cv[8];
    tam_earmarks_t em = {.max_per_need = max_per_need};
    tam_project_t pr = {.id = (char *)id, .title = "Test project", .budget = budget,
                        .budget_status = TAM_E_budget_status_committed, .start = 20260101,
                        .end = 20281231, .status = status, .dac = "15130", .earmarks = &em};
    snprintf(dbuf, sizeof dbuf, "%s", donors);
    uint32_t n = 0;
    for (char *sv = NULL, *tok = strtok_r(dbuf, ",", &sv); tok && n < 8;
         tok = strtok_r(NULL, ",", &sv)) {
        char *colon = strchr(tok, ':');
        *colon = 0;
        shares[n++] = (tam_share_t){.donor = tok, .percent = atoi(colon + 1)};
    }
    pr.donors.n = n;
    pr.donors.v = shares;
    if (groups) {
        snprintf(gbuf, sizeof gbuf, "%s", groups);
        for (char *sv = NULL, *tok = strtok_r(gbuf, ",", &sv); tok && em.groups.n < 8;
             tok = strtok_r(NULL, ",", &sv))
            gv[em.groups.n++] = tok;
        em.groups.v = gv;
    }
    if (categories) {
        snprintf(cbuf, sizeof cbuf, "%s", categories);
        for (char *sv = NULL, *tok = strtok_r(cbuf, ",", &sv); tok && em.categories.n < 8;
             tok = strtok_r(NULL, ",", &sv))
            cv[em.categories.n++] = tok;
        em.categories.v = cv;
    }
    tam_project_rec_t rec = {.project = &pr, .pledged = budget, .received = received, .revision = 1};
    pf_fill(&tam_schema_project_rec, &rec, f->a);
    char topic[64];
    snprintf(topic, sizeof topic, "project/%s", id);
    pf_record(f, TAM_PIPELINE_SRC_REGISTRY, topic, &tam_schema_project_rec, &rec);
}

PF_FN void pf_donor(pf_t *f, const char *id, const char *name)
{
    tam_donor_t d = {.id = (char *)id, .name = (char *)name, .kind = TAM_E_donor_kind_government,
                     .revision = 1};
    char topic[64];
    snprintf(topic, sizeof topic, "donor/%s", id);
    pf_record(f, TAM_PIPELINE_SRC_REGISTRY, topic, &tam_schema_donor, &d);
}

/* states: "AFR-A:2,GLO-D:1" project:eligible_needs */
PF_FN void pf_run(pf_t *f, uint64_t run, const char *states)
{
    tam_run_project_t ps[16];
    char buf[256];
    uint32_t n = 0;
    snprintf(buf, sizeof buf, "%s", states);
    for (char *sv = NULL, *tok = strtok_r(buf, ",", &sv); tok && n < 16;
         tok = strtok_r(NULL, ",", &sv)) {
        char *colon = strchr(tok, ':');
        *colon = 0;
        ps[n++] = (tam_run_project_t){.project = tok, .eligible_needs = atoi(colon + 1)};
    }
    tam_run_t r = {.run = run, .hash = PF_HASH, .code_version = "test"};
    r.project_state.n = n;
    r.project_state.v = ps;
    pf_fill(&tam_schema_run, &r, f->a);
    pf_record(f, TAM_PIPELINE_SRC_MATCH, "run", &tam_schema_run, &r);
}

PF_FN void pf_prop(pf_t *f, const char *id, uint64_t run, int64_t amount, bool removed)
{
    uint64_t need;
    char project[TAM_PIPELINE_ID_MAX + 1];
    assert_int_equal(tam_pipeline_proposal_parse(id, &need, project), 0);
    const tam_pipeline_need_t *n = tam_pipeline_view_need(f->view, need);
    assert_non_null(n);
    tam_proposal_t p = {.id = (char *)id, .run = run, .need = need, .project = project,
                        .country = (char *)n->country, .group = (char *)n->group,
                        .category = (char *)n->category, .standard = (char *)n->standard,
                        .modality = (char *)n->modality, .rank = removed ? 0 : 1,
                        .amount = removed ? 0 : amount, .score = 5000,
                        .state = TAM_E_proposal_state_proposed,
                        .reason = removed ? TAM_E_change_reason_removed : TAM_E_change_reason_new_pair};
    pf_fill(&tam_schema_proposal, &p, f->a);
    char topic[16];
    snprintf(topic, sizeof topic, "prop/%s/%s", n->country, n->category);
    pf_record(f, TAM_PIPELINE_SRC_MATCH, topic, &tam_schema_proposal, &p);
}

PF_FN void pf_synced(pf_t *f)
{
    for (int s = 0; s < TAM_PIPELINE_SRC__COUNT; s++)
        tam_pipeline_view_synced(f->view, (tam_pipeline_src_t)s, 10);
}

/* The data set every test starts from (docs: tests/unit/test_pipeline_report.c
 * works its figures out by hand):
 *   needs  1 KEN A-SMR 100,000 · 2 KEN A-TOKYO 50,000 · 3 IND C-PREV 80,000 ·
 *          4 COL D-JUDIC 200,000 · 5 KEN A-SMR 30,000 (withdrawn) · 7 COL D-JUDIC 60,000
 *   projects AFR-A (NOR 60, SWE 40; budget 500,000, received 150,001; AFRICAN, A)
 *            GLO-D (USA; 300,000 / 300,000; D; at most 120,000 per need)
 *            EEG-X (SWE; 100,000 / 40,000; EEG)   PIPE (NOR; 50,000 / 0; pipeline)
 *            SMALL (NOR; 70,000 / 70,000; A, C)
 *   run 7: 1/AFR-A 100,000 · 2/AFR-A 50,000 · 4/GLO-D 120,000 · 7/GLO-D 60,000 ·
 *          1/SMALL, 2/SMALL, 3/SMALL 10,000 each */
PF_FN void pf_data(pf_t *f)
{
    pf_need(f, 1, "KEN", "A-SMR", 100000, true);
    pf_need(f, 2, "KEN", "A-TOKYO", 50000, true);
    pf_need(f, 3, "IND", "C-PREV", 80000, true);
    pf_need(f, 4, "COL", "D-JUDIC", 200000, true);
    pf_need(f, 5, "KEN", "A-SMR", 30000, false);
    pf_need(f, 7, "COL", "D-JUDIC", 60000, true);
    pf_donor(f, "NOR", "Norway");
    pf_donor(f, "SWE", "Sweden");
    pf_donor(f, "USA", "United States");
    pf_project(f, "AFR-A", "NOR:60,SWE:40", 500000, 150001, TAM_E_project_status_active, "AFRICAN",
               "A", 0);
    pf_project(f, "GLO-D", "USA:100", 300000, 300000, TAM_E_project_status_active, NULL, "D", 120000);
    pf_project(f, "EEG-X", "SWE:100", 100000, 40000, TAM_E_project_status_active, "EEG", NULL, 0);
    pf_project(f, "PIPE", "NOR:100", 50000, 0, TAM_E_project_status_pipeline, NULL, NULL, 0);
    pf_project(f, "SMALL", "NOR:100", 70000, 70000, TAM_E_project_status_active, NULL, "A,C", 0);
    pf_run(f, 7, "AFR-A:2,GLO-D:2,EEG-X:0,SMALL:3");
    pf_prop(f, "1/AFR-A", 7, 100000, false);
    pf_prop(f, "2/AFR-A", 7, 50000, false);
    pf_prop(f, "4/GLO-D", 7, 120000, false);
    pf_prop(f, "7/GLO-D", 7, 60000, false);
    pf_prop(f, "1/SMALL", 7, 10000, false);
    pf_prop(f, "2/SMALL", 7, 10000, false);
    pf_prop(f, "3/SMALL", 7, 10000, false);
    pf_synced(f);
}

/* ---- fixture ------------------------------------------------------------------------ */

PF_FN int pf_group_setup(void **state)
{
    pf_t *f = calloc(1, sizeof *f);
    const char *root = getenv("TAM_SOURCE_DIR");
    char dir[1024], msg[512];
    if (!f || !root) {
        fprintf(stderr, "TAM_SOURCE_DIR is not set\n");
        free(f);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/config/catalog", root);
    if (tam_catalog_load(&f->cat, dir, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s\n", msg);
        free(f);
        return -1;
    }
    f->a = tam_arena_new(0);
    msgpack_sbuffer_init(&f->answer);
    tam_log_init("test_pipeline", LOG_CRIT);
    *state = f;
    return f->a ? 0 : -1;
}

PF_FN int pf_group_teardown(void **state)
{
    pf_t *f = *state;
    tam_arena_destroy(&f->a);
    tam_catalog_destroy(&f->cat);
    msgpack_sbuffer_destroy(&f->answer);
    free(f);
    return 0;
}

static int pf_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A fresh store and views holding pf_data. */
PF_FN int pf_setup(void **state)
{
    pf_t *f = *state;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_pipeline.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    tam_store_opts_t o = {.path = f->dir, .dbs = tam_pipeline_dbs,
                          .schema_version = TAM_PIPELINE_SCHEMA, .flags = TAM_STORE_NOSYNC};
    if (tam_store_open(&f->store, &o) != 0 || tam_pipeline_view_new(&f->view, f->cat) != 0)
        return -1;
    f->p = (tam_pipeline_t){.cat = f->cat, .view = f->view, .now_ms = PF_T0};
    tam_principal_from_user_id(NULL, &f->who); /* "local", every role */
    tam_rpc_error_init(&f->err);
    pf_data(f);
    return 0;
}

PF_FN int pf_teardown(void **state)
{
    pf_t *f = *state;
    tam_store_close(&f->store);
    tam_pipeline_view_destroy(&f->view);
    nftw(f->dir, pf_rm, 8, FTW_DEPTH | FTW_PHYS);
    tam_rpc_error_clear(&f->err);
    tam_events_free(&f->pubs);
    tam_arena_reset(f->a);
    return 0;
}

/* ---- acts and reads ------------------------------------------------------------------- */

typedef struct {
    pf_t *f;
    const void *body;
    size_t len;
} pf_call_t;

static int pf_act_fn(tam_txn_t *txn, void *arg)
{
    pf_call_t *c = arg;
    pf_t *f = c->f;
    msgpack_sbuffer_clear(&f->answer);
    tam_events_truncate(&f->pubs, 0);
    tam_rpc_error_clear(&f->err);
    /* A refused act is committed anyway: the test then proves it wrote nothing. */
    return tam_pipeline_act(&f->p, txn, &f->who, c->body, c->len, f->a, &f->answer, &f->pubs,
                            &f->err);
}

/* Runs pipeline.act with raw body bytes; returns err.code, or the failure code. */
PF_FN int pf_act_raw(pf_t *f, const void *body, size_t len)
{
    pf_call_t c = {f, body, len};
    f->rc = tam_store_write(f->store, pf_act_fn, &c);
    return f->rc ? f->rc : f->err.code;
}

/* Runs one act (amount 0 and run 0: not given). Returns err.code (0: accepted). */
PF_FN int pf_act(pf_t *f, const char *act, const char *proposal, int64_t amount, uint64_t run)
{
    int k = tam_enum_index(&tam_enum_decision_act, act, strlen(act));
    assert_true(k >= 0);
    tam_act_t a = {.proposal = (char *)proposal, .act = (tam_decision_act_t)k, .amount = amount,
                   .reason = "test reason", .run = run};
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_act, &a, &sb, NULL), 0);
    int rc = pf_act_raw(f, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Same, and the act must be accepted; returns the state after it. */
PF_FN tam_decision_state_t pf_ok(pf_t *f, const char *act, const char *proposal, int64_t amount)
{
    int rc = pf_act(f, act, proposal, amount, 0);
    if (rc)
        fail_msg("%s %s refused: %s: %s: %s", act, proposal, tam_errname(rc), f->err.field,
                 f->err.message);
    tam_act_ack_t ack;
    assert_int_equal(tam_decode(&tam_schema_act_ack, f->answer.data, f->answer.size, f->a, &ack, NULL), 0);
    assert_string_equal(ack.proposal, proposal);
    assert_int_equal(f->pubs.n, 1);
    return ack.state;
}

typedef struct {
    pf_t *f;
    int msg;
    const void *body;
    size_t len;
} pf_read_t;

static int pf_read_fn(tam_txn_t *txn, void *arg)
{
    pf_read_t *r = arg;
    msgpack_sbuffer_clear(&r->f->answer);
    tam_rpc_error_clear(&r->f->err);
    return tam_pipeline_read(&r->f->p, txn, r->msg, r->body, r->len, r->f->a, &r->f->answer,
                             &r->f->err);
}

/* Runs a read (request struct req of msg's schema) and decodes the answer
 * into out. Returns err.code or the failure code. */
PF_FN int pf_read(pf_t *f, int msg, const void *req, void *out)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg];
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(m->request, req, &sb, NULL), 0);
    pf_read_t r = {f, msg, sb.data, sb.size};
    int rc = tam_store_read(f->store, pf_read_fn, &r);
    msgpack_sbuffer_destroy(&sb);
    if (rc || f->err.code)
        return rc ? rc : f->err.code;
    tam_codec_err_t ce;
    if (tam_decode(m->answer, f->answer.data, f->answer.size, f->a, out, &ce))
        fail_msg("answer does not decode: %s: %s", ce.path, ce.message);
    return 0;
}

/* ---- the store's content, to prove a refusal wrote nothing -------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} pf_dump_t;

static int pf_dump_rec(const tam_val_t *k, const tam_val_t *v, void *arg)
{
    pf_dump_t *d = arg;
    size_t need = d->len + k->len + v->len + 16;
    if (need > d->cap) {
        d->cap = need * 2;
        d->buf = realloc(d->buf, d->cap);
        assert_non_null(d->buf);
    }
    memcpy(d->buf + d->len, k->data, k->len);
    d->len += k->len;
    d->buf[d->len++] = '=';
    memcpy(d->buf + d->len, v->data, v->len);
    d->len += v->len;
    d->buf[d->len++] = '\n';
    return 0;
}

static int pf_dump_fn(tam_txn_t *txn, void *arg)
{
    static const char *const dbs[] = {"decisions", "by_project", "audit", "audit_prop"};
    for (size_t i = 0; i < 4; i++) {
        pf_dump_rec(&(tam_val_t){dbs[i], strlen(dbs[i])}, &(tam_val_t){"", 0}, arg);
        int rc = tam_txn_scan(txn, dbs[i], NULL, 0, NULL, 0, pf_dump_rec, arg);
        if (rc)
            return rc;
    }
    uint64_t seq;
    int rc = tam_txn_counter_get(txn, "audit", &seq);
    char c[32];
    snprintf(c, sizeof c, "audit=%llu", (unsigned long long)seq);
    pf_dump_rec(&(tam_val_t){c, strlen(c)}, &(tam_val_t){"", 0}, arg);
    return rc;
}

/* Everything the pipeline stores, as one malloc'd byte string (NUL-terminated). */
PF_FN char *pf_dump(pf_t *f, size_t *len)
{
    pf_dump_t d = {0};
    assert_int_equal(tam_store_read(f->store, pf_dump_fn, &d), 0);
    pf_dump_rec(&(tam_val_t){"", 0}, &(tam_val_t){"", 0}, &d);
    *len = d.len;
    return d.buf;
}

#define assert_unchanged(f, before, blen)                                    \
    do {                                                                     \
        size_t l_;                                                           \
        char *now_ = pf_dump((f), &l_);                                      \
        assert_int_equal(l_, (blen));                                        \
        assert_memory_equal(now_, (before), (blen));                         \
        free(now_);                                                          \
    } while (0)

#endif

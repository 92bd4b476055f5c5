/* match_fixture.h — helpers shared by the tests of tam-match's engine
 * (tests/unit/test_match_*.c): a catalogue, an engine with a fixed run date,
 * and builders that encode feed records exactly as the services publish
 * them. Header-only: each test program includes it once. */
#ifndef TAM_MATCH_FIXTURE_H
#define TAM_MATCH_FIXTURE_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "match.h"
#include "tam/codec.h"
#include "tam/config.h"
#include "tam/error.h"
#include "tam/log.h"
#include "tam/proto.h"

#define FX_DATE 20260601u /* the fixed run date of the tests */

typedef struct {
    char topic[64];
    uint8_t *body;
    size_t len;
} fx_pub_t;

typedef struct {
    tam_catalog_t *cat;
    tam_match_params_t par;
    tam_match_t *m;
    fx_pub_t pubs[4096];
    size_t npubs;
    tam_arena_t *a;
} fx_t;

static inline void fx_pubs_clear(fx_t *fx)
{
    for (size_t i = 0; i < fx->npubs; i++)
        free(fx->pubs[i].body);
    fx->npubs = 0;
}

static inline int fx_publish(const char *topic, const void *body, size_t len, void *arg)
{
    fx_t *fx = arg;
    if (fx->npubs >= sizeof fx->pubs / sizeof fx->pubs[0])
        return TAM_ETOOBIG;
    fx_pub_t *p = &fx->pubs[fx->npubs++];
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->body = malloc(len ? len : 1);
    memcpy(p->body, body, len);
    p->len = len;
    return 0;
}

/* Default params of the config, with the test date and no minimum
 * proposal (most tests use small amounts; test_match_min sets its own). */
static inline void fx_params(tam_match_params_t *p)
{
    tam_config_t c;
    char err[256];
    tam_config_defaults(&c);
    assert_int_equal(tam_match_params_from_config(&c, p, err, sizeof err), 0);
    p->today = FX_DATE;
    p->min_amount = 0;
    p->min_share = 0;
}

static inline fx_t *fx_new_with(const tam_match_params_t *par)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    const char *src = getenv("TAM_SOURCE_DIR");
    char dir[1024], err[512];
    snprintf(dir, sizeof dir, "%s/config/catalog", src ? src : ".");
    assert_int_equal(tam_catalog_load(&fx->cat, dir, err, sizeof err), 0);
    fx->par = *par;
    assert_int_equal(tam_match_new(&fx->m, fx->cat, &fx->par), 0);
    fx->a = tam_arena_new(0);
    return fx;
}

static inline fx_t *fx_new(void)
{
    tam_match_params_t p;
    fx_params(&p);
    return fx_new_with(&p);
}

static inline void fx_free(fx_t *fx)
{
    if (!fx)
        return;
    fx_pubs_clear(fx);
    tam_match_destroy(&fx->m);
    tam_catalog_destroy(&fx->cat);
    tam_arena_destroy(&fx->a);
    free(fx);
}

static inline int fx_run(fx_t *fx)
{
    fx_pubs_clear(fx);
    tam_match_seqs_t s = {.seq = {0, 0, 0}};
    return tam_match_run(fx->m, &s, fx_publish, fx);
}

static inline uint32_t fx_date(const char *s)
{
    uint32_t d = 0;
    assert_int_equal(tam_date_parse(s, strlen(s), &d), 0);
    return d;
}

/* ---- records ---------------------------------------------------------------- */

typedef struct {
    uint64_t id;
    const char *country, *standard, *modality;
    int64_t priority, cost, completeness;
    const char *start, *end;
    bool withdrawn;
    const char *ref; /* the respondent's reference (NULL: none) */
    int64_t answered; /* standards the reply answered (0: not counted) */
} fx_need_t;

static inline int fx_need(fx_t *fx, fx_need_t n)
{
    const tam_standard_t *st = tam_catalog_standard(fx->cat, n.standard);
    char cat[2] = {st ? st->category : 'A', 0};
    tam_need_t r = {.id = n.id, .reply_id = 1, .respondent = (char *)n.country,
                    .country = (char *)n.country, .category = cat,
                    .standard = (char *)n.standard,
                    .modality = (char *)(n.modality ? n.modality : "training"),
                    .priority = n.priority ? n.priority : 3, .cost = n.cost ? n.cost : 100000,
                    .start = fx_date(n.start ? n.start : "2026-07-01"),
                    .end = fx_date(n.end ? n.end : "2027-06-30"),
                    .completeness = n.completeness,
                    .status = n.withdrawn ? TAM_E_need_status_withdrawn : TAM_E_need_status_open,
                    .ref = (char *)n.ref, .answered = n.answered};
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_need, &r, &sb, NULL), 0);
    int rc = tam_match_apply_need(fx->m, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Comma-separated list -> tam_strs_t (from the fixture's arena). */
static inline tam_strs_t fx_list(fx_t *fx, const char *csv)
{
    tam_strs_t s = {0, NULL};
    if (!csv || !*csv)
        return s;
    s.v = tam_arena_alloc(fx->a, 256 * sizeof(char *));
    const char *p = csv;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        s.v[s.n++] = tam_arena_strndup(fx->a, p, n);
        p += n + (e ? 1 : 0);
    }
    return s;
}

typedef struct {
    const char *id;
    int64_t received;
    const char *start, *end;
    const char *status; /* "pipeline", "closed", "cancelled"; NULL: active */
    bool inactive;      /* closed */
    const char *countries, *groups, *regions, *categories, *standards, *modalities;
    bool post_conflict_only;
    int64_t max_per_need;
    const char *donors; /* "NOR,SWE" (equal shares) */
} fx_project_t;

static inline int fx_project(fx_t *fx, fx_project_t p)
{
    tam_earmarks_t e = {.countries = fx_list(fx, p.countries), .groups = fx_list(fx, p.groups),
                        .regions = fx_list(fx, p.regions),
                        .categories = fx_list(fx, p.categories),
                        .standards = fx_list(fx, p.standards),
                        .modalities = fx_list(fx, p.modalities),
                        .post_conflict_only = p.post_conflict_only,
                        .max_per_need = p.max_per_need};
    tam_strs_t ds = fx_list(fx, p.donors ? p.donors : "NOR");
    tam_share_t sh[20];
    for (uint32_t i = 0; i < ds.n; i++)
        sh[i] = (tam_share_t){.donor = ds.v[i], .percent = 100 / ds.n};
    tam_project_t pj = {.id = (char *)p.id, .title = "test project", .budget = p.received,
                        .budget_status = TAM_E_budget_status_committed,
                        .start = fx_date(p.start ? p.start : "2026-01-01"),
                        .end = fx_date(p.end ? p.end : "2028-12-31"),
                        .status = p.status ? (tam_project_status_t)tam_enum_index(
                                                 &tam_enum_project_status, p.status,
                                                 strlen(p.status))
                                  : p.inactive ? TAM_E_project_status_closed
                                               : TAM_E_project_status_active,
                        .dac = "15130", .earmarks = &e};
    pj.donors.n = ds.n;
    pj.donors.v = sh;
    tam_project_rec_t r = {.project = &pj, .pledged = p.received, .received = p.received,
                           .revision = 1};
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_project_rec, &r, &sb, NULL), 0);
    int rc = tam_match_apply_project(fx->m, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    tam_arena_reset(fx->a);
    return rc;
}

/* missions: "CAF:A-SMR+D-JUDIC:2026-01-01,SSD::2026-01-01" */
static inline int fx_context(fx_t *fx, const char *missions)
{
    tam_mission_t ms[64];
    uint32_t n = 0;
    tam_strs_t parts = fx_list(fx, missions);
    for (uint32_t i = 0; i < parts.n; i++) {
        char *c = parts.v[i], *c1 = strchr(c, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        assert_non_null(c2);
        *c1 = *c2 = 0;
        tam_strs_t pr = {0, NULL};
        if (c1[1]) {
            pr.v = tam_arena_alloc(fx->a, 64 * sizeof(char *));
            char *p = c1 + 1;
            while (p && *p) {
                char *plus = strchr(p, '+');
                if (plus)
                    *plus = 0;
                pr.v[pr.n++] = p;
                p = plus ? plus + 1 : NULL;
            }
        }
        ms[n++] = (tam_mission_t){.country = c, .operation = "TESTOP", .priorities = pr,
                                  .valid_from = fx_date(c2 + 1)};
    }
    tam_context_t r = {.version = 1};
    r.missions.n = n;
    r.missions.v = ms;
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_context, &r, &sb, NULL), 0);
    int rc = tam_match_apply_context(fx->m, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    tam_arena_reset(fx->a);
    return rc;
}

static inline int fx_decision(fx_t *fx, uint64_t need, const char *project, const char *country,
                              tam_decision_state_t state, int64_t endorsed, int64_t committed)
{
    char id[64];
    snprintf(id, sizeof id, "%llu/%s", (unsigned long long)need, project);
    tam_decision_t r = {.proposal = id, .need = need, .project = (char *)project,
                        .country = (char *)country, .category = "A", .state = state,
                        .endorsed = endorsed, .committed = committed, .revision = 1,
                        .updated = 1, .since = 1};
    msgpack_sbuffer sb;
    assert_int_equal(tam_encode_sbuf(&tam_schema_decision, &r, &sb, NULL), 0);
    int rc = tam_match_apply_decision(fx->m, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---- reading results through the queries ------------------------------------------ */

/* The current proposals (all, by rank) decoded into *out from fx->a. */
static inline void fx_proposals(fx_t *fx, tam_proposal_list_t *out, const char *project)
{
    tam_proposal_query_t q = {.limit = 10000, .project = (char *)project};
    msgpack_sbuffer qb, ans;
    assert_int_equal(tam_encode_sbuf(&tam_schema_proposal_query, &q, &qb, NULL), 0);
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_t err = {0};
    int rc = tam_match_query(fx->m, TAM_MSG_match_proposals, qb.data, qb.size, fx->a, &ans, &err);
    if (rc || err.code)
        fail_msg("match.proposals: %d %s %s", rc, err.field, err.message);
    memset(out, 0, sizeof *out);
    assert_int_equal(tam_decode(&tam_schema_proposal_list, ans.data, ans.size, fx->a, out, NULL),
                     0);
    msgpack_sbuffer_destroy(&qb);
    msgpack_sbuffer_destroy(&ans);
    tam_rpc_error_clear(&err);
}

/* Amount proposed for "<need>/<project>" (0 if none). */
static inline int64_t fx_amount(fx_t *fx, uint64_t need, const char *project)
{
    tam_proposal_list_t l;
    fx_proposals(fx, &l, NULL);
    char id[64];
    snprintf(id, sizeof id, "%llu/%s", (unsigned long long)need, project);
    for (uint32_t i = 0; i < l.items.n; i++)
        if (strcmp(l.items.v[i].id, id) == 0)
            return l.items.v[i].amount;
    return 0;
}

/* The explanation of "<need>/<project>" (or NULL with *code set). */
static inline tam_explanation_t *fx_explain(fx_t *fx, const char *id, int *code)
{
    tam_proposal_ref_t q = {.id = (char *)id};
    msgpack_sbuffer qb, ans;
    assert_int_equal(tam_encode_sbuf(&tam_schema_proposal_ref, &q, &qb, NULL), 0);
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_t err = {0};
    int rc = tam_match_query(fx->m, TAM_MSG_match_explain, qb.data, qb.size, fx->a, &ans, &err);
    msgpack_sbuffer_destroy(&qb);
    tam_explanation_t *ex = NULL;
    if (code)
        *code = rc ? rc : err.code;
    if (!rc && !err.code) {
        ex = tam_arena_alloc(fx->a, sizeof *ex);
        assert_int_equal(tam_decode(&tam_schema_explanation, ans.data, ans.size, fx->a, ex, NULL),
                         0);
    }
    msgpack_sbuffer_destroy(&ans);
    tam_rpc_error_clear(&err);
    return ex;
}

/* The run header of the last run. */
static inline tam_run_t *fx_header(fx_t *fx)
{
    msgpack_sbuffer qb, ans;
    tam_ping_t q = {0};
    assert_int_equal(tam_encode_sbuf(&tam_schema_ping, &q, &qb, NULL), 0);
    msgpack_sbuffer_init(&ans);
    tam_rpc_error_t err = {0};
    assert_int_equal(tam_match_query(fx->m, TAM_MSG_match_run, qb.data, qb.size, fx->a, &ans,
                                     &err), 0);
    tam_run_t *r = tam_arena_alloc(fx->a, sizeof *r);
    assert_int_equal(tam_decode(&tam_schema_run, ans.data, ans.size, fx->a, r, NULL), 0);
    msgpack_sbuffer_destroy(&qb);
    msgpack_sbuffer_destroy(&ans);
    tam_rpc_error_clear(&err);
    return r;
}


/* ---- random instances ------------------------------------------------------------- */

/* A reproducible random instance: needs, projects (with every kind of
 * earmark), a planning context and decisions, as fixture records. */
typedef struct {
    fx_need_t needs[20000];
    int nneeds;
    fx_project_t projects[1000];
    char pids[1000][16];
    char pdates[1000][2][11];
    int nprojects;
    struct {
        uint64_t need;
        int project;
        const char *country;
        tam_decision_state_t state;
        int64_t endorsed, committed;
    } decs[1000];
    int ndecs;
    const char *context;
} fx_inst_t;

static inline uint64_t fx_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static inline void fx_gen(fx_inst_t *in, uint64_t seed, int nneeds, int nprojects, int ndecs)
{
    static const char *countries[] = {"KEN", "UGA", "CAF", "SSD", "HTI", "AFG", "BRA", "FRA",
                                      "NGA", "COD", "PER", "IND", "UKR", "MLI", "LBY", "NPL"};
    static const char *standards[] = {"A-SMR", "A-BODY", "A-TOKYO", "A-BANGKOK", "B-MLA",
                                      "B-EXTR", "C-VICTIMS", "C-VAW", "D-JUDIC", "D-PROSEC",
                                      "D-BANGALORE", "A-CHILDCJS"};
    static const char *mods[] = {"training", "advisory", "legislative", "assessment",
                                 "workshop", "tools"};
    static const char *groups[] = {"AFRICAN", "APG", "GRULAC", "EEG", "WEOG"};
    static const char *regions[] = {"002", "202", "014", "419", "142", "150"};
    static const char *cats[] = {"A", "B", "C", "D", "A,D", "B,C"};
    static const char *stdsets[] = {"A-SMR", "A-SMR,A-BODY", "C-VAW,C-VICTIMS", "D-JUDIC",
                                    "B-MLA,B-EXTR"};
    static const char *modsets[] = {"training", "training,advisory", "legislative,assessment"};
    static const char *starts[] = {"2026-01-01", "2026-06-01", "2026-07-15", "2026-10-01",
                                   "2027-01-01", "2027-06-01"};
    static const char *ends[] = {"2026-12-31", "2027-03-31", "2027-12-31", "2028-06-30"};
    uint64_t x = seed * 2654435761u + 1;
    memset(in, 0, sizeof *in);
    in->nneeds = nneeds;
    for (int i = 0; i < nneeds; i++) {
        fx_need_t *n = &in->needs[i];
        int s = (int)(fx_rand(&x) % 4);
        n->id = 1000 + (uint64_t)i * 3;
        n->country = countries[fx_rand(&x) % 16];
        n->standard = standards[fx_rand(&x) % 12];
        n->modality = mods[fx_rand(&x) % 6];
        n->priority = 1 + (int64_t)(fx_rand(&x) % 5);
        n->cost = 10000 * (1 + (int64_t)(fx_rand(&x) % 50)) + (int64_t)(fx_rand(&x) % 997);
        n->completeness = (int64_t)(fx_rand(&x) % 101);
        n->start = starts[s];
        n->end = ends[s];
    }
    in->nprojects = nprojects;
    for (int j = 0; j < nprojects; j++) {
        fx_project_t *p = &in->projects[j];
        snprintf(in->pids[j], sizeof in->pids[j], "PRJ%03d", j);
        p->id = in->pids[j];
        p->received = 100000 * (1 + (int64_t)(fx_rand(&x) % 30)) + (int64_t)(fx_rand(&x) % 9973);
        switch (fx_rand(&x) % 5) {
        case 0: p->groups = groups[fx_rand(&x) % 5]; break;
        case 1: p->regions = regions[fx_rand(&x) % 6]; break;
        case 2: p->countries = "KEN,UGA,HTI,NPL"; p->groups = "GRULAC"; break;
        default: break;
        }
        switch (fx_rand(&x) % 4) {
        case 0: p->categories = cats[fx_rand(&x) % 6]; break;
        case 1: p->standards = stdsets[fx_rand(&x) % 5]; break;
        case 2: p->categories = "A"; p->standards = "A-SMR"; break;
        default: break;
        }
        if (fx_rand(&x) % 3 == 0)
            p->modalities = modsets[fx_rand(&x) % 3];
        if (fx_rand(&x) % 4 == 0)
            p->max_per_need = 50000 * (1 + (int64_t)(fx_rand(&x) % 4)) + (int64_t)(fx_rand(&x) % 991);
        p->post_conflict_only = fx_rand(&x) % 7 == 0;
        if (fx_rand(&x) % 10 == 0)
            p->inactive = true;
        p->start = starts[fx_rand(&x) % 4]; /* before every end */
        p->end = ends[fx_rand(&x) % 4];
        p->donors = fx_rand(&x) % 2 ? "NOR,SWE" : "EU";
    }
    in->context = "CAF:A-SMR+D-JUDIC:2026-01-01,SSD:A-BODY:2026-01-01,HTI::2026-03-01,"
                  "LBY:B-MLA:2027-01-01,AFG:D-JUDIC+A-BANGKOK:2026-01-01";
    in->ndecs = nneeds && nprojects ? ndecs : 0;
    for (int d = 0; d < in->ndecs; d++) {
        int i, j, dup;
        do { /* one decision per pair */
            i = (int)(fx_rand(&x) % (uint64_t)nneeds);
            j = (int)(fx_rand(&x) % (uint64_t)nprojects);
            dup = 0;
            for (int e = 0; e < d; e++)
                dup |= in->decs[e].need == in->needs[i].id && in->decs[e].project == j;
        } while (dup);
        in->decs[d].need = in->needs[i].id;
        in->decs[d].country = in->needs[i].country;
        in->decs[d].project = j;
        int k = (int)(fx_rand(&x) % 4);
        int64_t amt = 1000 * (1 + (int64_t)(fx_rand(&x) % 20)) + (int64_t)(fx_rand(&x) % 89);
        in->decs[d].state = k == 0 ? TAM_E_decision_state_declined
                            : k == 1 ? TAM_E_decision_state_endorsed
                            : k == 2 ? TAM_E_decision_state_committed
                                     : TAM_E_decision_state_delivered;
        in->decs[d].endorsed = k == 0 ? 0 : amt;
        in->decs[d].committed = k >= 2 ? amt : 0;
    }
}

/* Applies the whole instance; order 0: as generated, 1: reversed. */
static inline void fx_apply_inst(fx_t *fx, const fx_inst_t *in, int order)
{
    for (int k = 0; k < in->nprojects; k++) {
        int j = order ? in->nprojects - 1 - k : k;
        assert_int_equal(fx_project(fx, in->projects[j]), 0);
    }
    for (int k = 0; k < in->nneeds; k++) {
        int i = order ? in->nneeds - 1 - k : k;
        assert_int_equal(fx_need(fx, in->needs[i]), 0);
    }
    for (int k = 0; k < in->ndecs; k++) {
        int d = order ? in->ndecs - 1 - k : k;
        fx_decision(fx, in->decs[d].need, in->pids[in->decs[d].project], in->decs[d].country,
                    in->decs[d].state, in->decs[d].endorsed, in->decs[d].committed);
    }
    if (in->context)
        assert_int_equal(fx_context(fx, in->context), 0);
}

#endif

/* pipeline_view.c — what tam-pipeline knows of the other services, kept
 * current by their feeds: open (and withdrawn) needs from tam-ingest,
 * projects, donors and the planning context from tam-registry, and the latest
 * run and its current proposals from tam-match. Every record is decoded with
 * the strict codec; one that does not decode is counted and ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "tam/log.h"
#include "pipeline.h"

/* A decoded record with the arena that holds it. */
typedef struct {
    tam_arena_t *a;
    uint64_t gen; /* the registry feed's generation it came in (see reset) */
    union {
        tam_project_rec_t project;
        tam_donor_t donor;
        tam_context_t context;
        tam_run_t run;
    } u;
} s_rec_t;

struct tam_pipeline_view {
    const tam_catalog_t *cat;
    tam_pipeline_map_t *needs;     /* decimal id -> tam_pipeline_need_t */
    tam_pipeline_map_t *projects;  /* id -> s_rec_t (project) */
    tam_pipeline_map_t *donors;    /* id -> s_rec_t (donor) */
    tam_pipeline_map_t *proposals; /* "<need>/<project>" -> tam_pipeline_prop_t */
    s_rec_t *context;
    s_rec_t *run;
    bool ready[TAM_PIPELINE_SRC__COUNT];
    uint64_t seq[TAM_PIPELINE_SRC__COUNT];
    tam_pipeline_view_stats_t st;
    tam_arena_t *scratch;          /* needs and proposals are decoded here, then copied */
    /* tam-registry's records are kept through a resynchronisation (the
     * registry may be down: acts then use its last feed, and say how old it
     * is); each record carries the generation it came in, and a completed
     * snapshot drops those of older generations. */
    uint64_t reg_gen;
    bool reg_stale;                /* reset since the last sync, data kept */
    int64_t heard_ms[TAM_PIPELINE_SRC__COUNT]; /* last known current: record, sync or the
                                                  reset of a synced feed (real clock) */
    uint64_t *changed;             /* needs new, withdrawn or with a new cost, not yet taken */
    size_t nchanged, capchanged;
};

static void s_rec_free(void *p)
{
    s_rec_t *r = p;
    if (!r)
        return;
    tam_arena_destroy(&r->a);
    free(r);
}

int tam_pipeline_view_new(tam_pipeline_view_t **out, const tam_catalog_t *cat)
{
    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    tam_pipeline_view_t *v = calloc(1, sizeof *v);
    if (!v)
        return TAM_ENOMEM;
    v->cat = cat;
    int rc = TAM_ENOMEM;
    if ((rc = tam_pipeline_map_new(&v->needs, free)) ||
        (rc = tam_pipeline_map_new(&v->projects, s_rec_free)) ||
        (rc = tam_pipeline_map_new(&v->donors, s_rec_free)) ||
        (rc = tam_pipeline_map_new(&v->proposals, free)))
        goto fail;
    if (!(v->scratch = tam_arena_new(0))) {
        rc = TAM_ENOMEM;
        goto fail;
    }
    tam_arena_set_cap(v->scratch, TAM_FEED_BODY_MAX * 8u);
    *out = v;
    return 0;
fail:
    tam_pipeline_view_destroy(&v);
    return rc;
}

void tam_pipeline_view_destroy(tam_pipeline_view_t **pv)
{
    if (!pv || !*pv)
        return;
    tam_pipeline_view_t *v = *pv;
    tam_pipeline_map_destroy(&v->needs);
    free(v->changed);
    tam_pipeline_map_destroy(&v->projects);
    tam_pipeline_map_destroy(&v->donors);
    tam_pipeline_map_destroy(&v->proposals);
    s_rec_free(v->context);
    s_rec_free(v->run);
    tam_arena_destroy(&v->scratch);
    free(v);
    *pv = NULL;
}

/* Decodes body with schema s into a fresh s_rec_t. Returns 0 or a code. */
static int s_decode_rec(const tam_schema_t *s, const void *body, size_t len, s_rec_t **out)
{
    tam_codec_err_t ce;
    *out = NULL;
    s_rec_t *r = calloc(1, sizeof *r);
    if (!r || !(r->a = tam_arena_new(len * 2 + 1024))) {
        free(r);
        return TAM_ENOMEM;
    }
    tam_arena_set_cap(r->a, TAM_FEED_BODY_MAX * 8u);
    int rc = tam_decode(s, body, len, r->a, &r->u, &ce);
    if (rc) {
        s_rec_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

static bool s_topic_is(const char *topic, size_t tlen, const char *prefix)
{
    size_t n = strlen(prefix);
    return tlen >= n && memcmp(topic, prefix, n) == 0;
}

static int s_need(tam_pipeline_view_t *v, const void *body, size_t len)
{
    tam_need_t n;
    tam_codec_err_t ce;
    tam_arena_reset(v->scratch);
    int rc = tam_decode(&tam_schema_need, body, len, v->scratch, &n, &ce);
    if (rc)
        return rc;
    tam_pipeline_need_t *e = calloc(1, sizeof *e);
    if (!e)
        return TAM_ENOMEM;
    e->id = n.id;
    snprintf(e->country, sizeof e->country, "%s", n.country);
    snprintf(e->category, sizeof e->category, "%s", n.category);
    snprintf(e->standard, sizeof e->standard, "%s", n.standard);
    snprintf(e->modality, sizeof e->modality, "%s", n.modality);
    const tam_country_t *c = tam_catalog_country(v->cat, e->country);
    snprintf(e->group, sizeof e->group, "%s", c ? c->group : "");
    e->priority = n.priority;
    e->cost = n.cost;
    e->start = n.start;
    e->end = n.end;
    e->open = n.status == TAM_E_need_status_open;
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)n.id);
    const tam_pipeline_need_t *old = tam_pipeline_map_get(v->needs, key);
    if (!old || old->open != e->open || old->cost != e->cost) {
        if (v->nchanged == v->capchanged) {
            size_t cap = v->capchanged ? v->capchanged * 2 : 64;
            uint64_t *ids = realloc(v->changed, cap * sizeof *ids);
            if (!ids) {
                free(e);
                return TAM_ENOMEM;
            }
            v->changed = ids;
            v->capchanged = cap;
        }
        v->changed[v->nchanged++] = e->id;
    }
    return tam_pipeline_map_put(v->needs, key, e);
}

static int s_proposal(tam_pipeline_view_t *v, const void *body, size_t len)
{
    tam_proposal_t p;
    tam_codec_err_t ce;
    tam_arena_reset(v->scratch);
    int rc = tam_decode(&tam_schema_proposal, body, len, v->scratch, &p, &ce);
    if (rc)
        return rc;
    if (p.reason == TAM_E_change_reason_removed || p.amount == 0) {
        tam_pipeline_map_del(v->proposals, p.id); /* not there is fine */
        return 0;
    }
    tam_pipeline_prop_t *e = calloc(1, sizeof *e);
    if (!e)
        return TAM_ENOMEM;
    snprintf(e->id, sizeof e->id, "%s", p.id);
    e->need = p.need;
    snprintf(e->project, sizeof e->project, "%s", p.project);
    e->run = p.run;
    e->amount = p.amount;
    e->fixed = p.fixed;
    e->score = p.score;
    e->rank = p.rank;
    e->state = p.state;
    return tam_pipeline_map_put(v->proposals, e->id, e);
}

static int64_t s_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drops the registry records of generations before the current one. */
static void s_drop_old(tam_pipeline_map_t *m, uint64_t gen)
{
    for (;;) {
        size_t pos = 0;
        const char *key = NULL;
        s_rec_t *r;
        while ((r = tam_pipeline_map_next(m, &pos, &key)) && r->gen == gen)
            ;
        if (!r)
            return;
        char k[80];
        snprintf(k, sizeof k, "%s", key);
        tam_pipeline_map_del(m, k);
    }
}

int tam_pipeline_view_record(tam_pipeline_view_t *v, tam_pipeline_src_t src, const char *topic,
                             size_t tlen, const void *body, size_t len)
{
    if (!v || !topic || (unsigned)src >= TAM_PIPELINE_SRC__COUNT)
        return TAM_EINVAL;
    int rc = 0;
    s_rec_t *r = NULL;
    bool used = true;
    switch (src) {
    case TAM_PIPELINE_SRC_INGEST:
        if (s_topic_is(topic, tlen, "need/"))
            rc = s_need(v, body, len);
        else
            used = false;
        break;
    case TAM_PIPELINE_SRC_REGISTRY:
        if (s_topic_is(topic, tlen, "project/")) {
            if ((rc = s_decode_rec(&tam_schema_project_rec, body, len, &r)) == 0)
                rc = tam_pipeline_map_put(v->projects, r->u.project.project->id, r);
        } else if (s_topic_is(topic, tlen, "donor/")) {
            if ((rc = s_decode_rec(&tam_schema_donor, body, len, &r)) == 0)
                rc = tam_pipeline_map_put(v->donors, r->u.donor.id, r);
        } else if (tlen == 7 && memcmp(topic, "context", 7) == 0) {
            if ((rc = s_decode_rec(&tam_schema_context, body, len, &r)) == 0) {
                s_rec_free(v->context);
                v->context = r;
            }
        } else {
            used = false;
        }
        break;
    case TAM_PIPELINE_SRC_MATCH:
        if (tlen == 3 && memcmp(topic, "run", 3) == 0) {
            if ((rc = s_decode_rec(&tam_schema_run, body, len, &r)) == 0) {
                s_rec_free(v->run);
                v->run = r;
            }
        } else if (s_topic_is(topic, tlen, "prop/")) {
            rc = s_proposal(v, body, len);
        } else {
            used = false;
        }
        break;
    default:
        return TAM_EINVAL;
    }
    if (r && src == TAM_PIPELINE_SRC_REGISTRY)
        r->gen = v->reg_gen;
    if (rc == TAM_ENOMEM)
        return rc;
    if (rc) {
        v->st.malformed[src]++;
        tam_warn("feed record on %.*s does not decode (%s): ignored", (int)(tlen > 64 ? 64 : tlen),
                 topic, tam_errname(rc));
        return rc;
    }
    if (used) {
        v->st.records[src]++;
        v->heard_ms[src] = s_clock_ms();
    }
    return 0;
}

void tam_pipeline_view_reset(tam_pipeline_view_t *v, tam_pipeline_src_t src)
{
    if (!v || (unsigned)src >= TAM_PIPELINE_SRC__COUNT)
        return;
    switch (src) {
    case TAM_PIPELINE_SRC_INGEST:
        tam_pipeline_map_clear(v->needs);
        break;
    case TAM_PIPELINE_SRC_REGISTRY:
        /* kept: see reg_gen; in sync until now (heartbeats), stale from now */
        if (v->ready[src])
            v->heard_ms[src] = s_clock_ms();
        v->reg_gen++;
        v->reg_stale = v->ready[src] || v->reg_stale;
        break;
    case TAM_PIPELINE_SRC_MATCH:
        tam_pipeline_map_clear(v->proposals);
        s_rec_free(v->run);
        v->run = NULL;
        break;
    default:
        break;
    }
    v->ready[src] = false;
    v->seq[src] = 0;
    v->st.resets[src]++;
}

void tam_pipeline_view_synced(tam_pipeline_view_t *v, tam_pipeline_src_t src, uint64_t seq)
{
    if (!v || (unsigned)src >= TAM_PIPELINE_SRC__COUNT)
        return;
    if (src == TAM_PIPELINE_SRC_REGISTRY) {
        s_drop_old(v->projects, v->reg_gen);
        s_drop_old(v->donors, v->reg_gen);
        if (v->context && v->context->gen != v->reg_gen) {
            s_rec_free(v->context);
            v->context = NULL;
        }
        v->reg_stale = false;
    }
    v->ready[src] = true;
    v->seq[src] = seq;
    v->heard_ms[src] = s_clock_ms();
}

bool tam_pipeline_view_usable(const tam_pipeline_view_t *v, tam_pipeline_src_t src,
                              int64_t *age_ms)
{
    if (age_ms)
        *age_ms = 0;
    if (tam_pipeline_view_ready(v, src))
        return true;
    if (src != TAM_PIPELINE_SRC_REGISTRY || !v->reg_stale)
        return false;
    if (age_ms) {
        int64_t age = s_clock_ms() - v->heard_ms[src];
        *age_ms = age > 0 ? age : 0;
    }
    return true;
}

bool tam_pipeline_view_ready(const tam_pipeline_view_t *v, tam_pipeline_src_t src)
{
    return v && (unsigned)src < TAM_PIPELINE_SRC__COUNT && v->ready[src];
}

uint64_t tam_pipeline_view_seq(const tam_pipeline_view_t *v, tam_pipeline_src_t src)
{
    return tam_pipeline_view_ready(v, src) ? v->seq[src] : 0;
}

void tam_pipeline_view_stats(const tam_pipeline_view_t *v, tam_pipeline_view_stats_t *out)
{
    *out = v->st;
}

const tam_pipeline_need_t *tam_pipeline_view_need(const tam_pipeline_view_t *v, uint64_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)id);
    return tam_pipeline_map_get(v->needs, key);
}

const tam_project_rec_t *tam_pipeline_view_project(const tam_pipeline_view_t *v, const char *id)
{
    s_rec_t *r = tam_pipeline_map_get(v->projects, id);
    return r ? &r->u.project : NULL;
}

const tam_donor_t *tam_pipeline_view_donor(const tam_pipeline_view_t *v, const char *id)
{
    s_rec_t *r = tam_pipeline_map_get(v->donors, id);
    return r ? &r->u.donor : NULL;
}

const tam_pipeline_prop_t *tam_pipeline_view_proposal(const tam_pipeline_view_t *v,
                                                      const char *id)
{
    return tam_pipeline_map_get(v->proposals, id);
}

const tam_run_t *tam_pipeline_view_run(const tam_pipeline_view_t *v)
{
    return v->run ? &v->run->u.run : NULL;
}

const tam_context_t *tam_pipeline_view_context(const tam_pipeline_view_t *v)
{
    return v->context ? &v->context->u.context : NULL;
}

size_t tam_pipeline_view_changed(tam_pipeline_view_t *v, const uint64_t **ids, bool take)
{
    size_t n = v->nchanged;
    if (ids)
        *ids = v->changed;
    if (take)
        v->nchanged = 0;
    return n;
}

const tam_pipeline_need_t *tam_pipeline_view_next_need(const tam_pipeline_view_t *v, size_t *pos)
{
    return tam_pipeline_map_next(v->needs, pos, NULL);
}

const tam_project_rec_t *tam_pipeline_view_next_project(const tam_pipeline_view_t *v, size_t *pos)
{
    s_rec_t *r = tam_pipeline_map_next(v->projects, pos, NULL);
    return r ? &r->u.project : NULL;
}

const tam_pipeline_prop_t *tam_pipeline_view_next_proposal(const tam_pipeline_view_t *v,
                                                           size_t *pos)
{
    return tam_pipeline_map_next(v->proposals, pos, NULL);
}

size_t tam_pipeline_view_count(const tam_pipeline_view_t *v, char what)
{
    switch (what) {
    case 'n': return tam_pipeline_map_count(v->needs);
    case 'p': return tam_pipeline_map_count(v->projects);
    case 'd': return tam_pipeline_map_count(v->donors);
    case 'x': return tam_pipeline_map_count(v->proposals);
    default: return 0;
    }
}

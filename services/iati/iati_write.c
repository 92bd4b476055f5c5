/* iati_write.c — the IATI 2.03 writer: every project (or one) as an
 * iati-activity, from the registry, tam-pipeline and tam-ingest through the
 * caller's call function (tamctl's clients, or tam-gateway's on behalf of a
 * user), so that `tamctl export iati` and GET /v1/iati/activities.xml give
 * the same bytes. What goes in (docs/iati.md):
 *   iati-identifier   org "-" project id
 *   reporting-org     org / org_name (type 40, multilateral)
 *   title, description
 *   participating-org donors (role 1, funding, with their iati_id as @ref),
 *                     the reporting organisation as extending (3) and implementing (4)
 *   activity-status   pipeline 1, active 2, closed 4, cancelled 5
 *   activity-date     planned start (1) and end (3)
 *   recipient-country earmarked and committed countries (ISO alpha-2 from the
 *                     catalogue), with the percentage of the committed money
 *                     when anything is committed
 *   recipient-region  earmarked M49 areas (vocabulary 2, UN statistics division)
 *   sector            the project's DAC purpose code (vocabulary 1, 100%)
 *   budget            the planned budget over the window (status 1 indicative, 2 committed)
 *   transaction       ledger: pledge 11 (incoming commitment), receipt and
 *                     adjustment 1 (incoming funds); decisions: committed and
 *                     delivered amounts as commitments (2), delivered ones
 *                     also as disbursements (3), each describing the need it
 *                     serves and citing its standard
 * Everything in USD. The output depends only on the stored state: ordered by
 * project id, ledger entry id and proposal, no generation time — the same
 * state gives the same bytes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/xmlwriter.h>
#include "tam/proto.h"
#include "iati_write.h"

typedef struct {
    const tam_iati_export_t *o;
    tam_donor_list_t donors;
    tam_need_list_t needs;  /* every need (any status), by id */
    bool needs_loaded;
    const tam_catalog_t *cat;
    const char *org, *org_name;
} s_ctx_t;

static void s_set_after_page(void *req, char *after)
{
    ((tam_page_str_t *)req)->after = after;
}

static const tam_donor_t *s_donor(const s_ctx_t *x, const char *id)
{
    for (uint32_t i = 0; i < x->donors.items.n; i++)
        if (strcmp(x->donors.items.v[i].id, id) == 0)
            return &x->donors.items.v[i];
    return NULL;
}

/* Every need, open and withdrawn, for the descriptions of commitments. */
static int s_load_needs(s_ctx_t *x, tam_arena_t *a)
{
    if (x->needs_loaded)
        return 0;
    tam_needs_query_t q = {.status = "any", .limit = 1000};
    size_t cap = 0;
    for (;;) {
        tam_need_list_t page;
        memset(&page, 0, sizeof page);
        int ex = x->o->call(x->o->arg, "ingest", TAM_MSG_ingest_needs, &q, a, &page);
        if (ex)
            return ex;
        if (x->needs.items.n + page.items.n > cap) {
            cap = (x->needs.items.n + page.items.n) * 2;
            tam_need_t *v = tam_arena_alloc(a, cap * sizeof *v);
            if (!v)
                return TAM_IATI_EWRITE;
            if (x->needs.items.n)
                memcpy(v, x->needs.items.v, x->needs.items.n * sizeof *v);
            x->needs.items.v = v;
        }
        if (page.items.n)
            memcpy(x->needs.items.v + x->needs.items.n, page.items.v,
                   page.items.n * sizeof *page.items.v);
        x->needs.items.n += page.items.n;
        if (!page.next)
            break;
        q.after = page.next;
    }
    x->needs_loaded = true;
    return 0;
}

static const tam_need_t *s_need(const s_ctx_t *x, uint64_t id)
{
    for (uint32_t i = 0; i < x->needs.items.n; i++)
        if (x->needs.items.v[i].id == id)
            return &x->needs.items.v[i];
    return NULL;
}

/* ---- XML helpers ------------------------------------------------------------------------ */

static void s_date(char buf[24], uint32_t d)
{
    snprintf(buf, 24, "%04u-%02u-%02u", d / 10000 % 10000, d / 100 % 100, d % 100);
}

static void s_ms_date(char buf[24], int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, 24, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
}

#define W(call)                                                                                   \
    do {                                                                                          \
        if ((call) < 0)                                                                           \
            return -1;                                                                            \
    } while (0)

static int s_attr(xmlTextWriterPtr w, const char *name, const char *value)
{
    return xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST value);
}

/* <NAME><narrative>TEXT</narrative></NAME>, with attributes (name, value pairs, NULL-ended). */
static int s_narrated(xmlTextWriterPtr w, const char *name, const char *text, ...)
{
    W(xmlTextWriterStartElement(w, BAD_CAST name));
    va_list ap;
    va_start(ap, text);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        if (v && s_attr(w, k, v) < 0) {
            va_end(ap);
            return -1;
        }
    }
    va_end(ap);
    if (text) {
        W(xmlTextWriterStartElement(w, BAD_CAST "narrative"));
        W(xmlTextWriterWriteString(w, BAD_CAST text));
        W(xmlTextWriterEndElement(w));
    }
    return xmlTextWriterEndElement(w);
}

static int s_coded(xmlTextWriterPtr w, const char *name, const char *code)
{
    W(xmlTextWriterStartElement(w, BAD_CAST name));
    W(s_attr(w, "code", code));
    return xmlTextWriterEndElement(w);
}

static int s_dated(xmlTextWriterPtr w, const char *name, const char *date)
{
    W(xmlTextWriterStartElement(w, BAD_CAST name));
    W(s_attr(w, "iso-date", date));
    return xmlTextWriterEndElement(w);
}

/* A transaction: type, date, value in USD, description, provider (ref, name). */
static int s_transaction(xmlTextWriterPtr w, const char *type, const char *date, int64_t usd,
                         const char *text, const char *prov_ref, const char *prov_name)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)usd);
    W(xmlTextWriterStartElement(w, BAD_CAST "transaction"));
    W(s_coded(w, "transaction-type", type));
    W(s_dated(w, "transaction-date", date));
    W(xmlTextWriterStartElement(w, BAD_CAST "value"));
    W(s_attr(w, "currency", "USD"));
    W(s_attr(w, "value-date", date));
    W(xmlTextWriterWriteString(w, BAD_CAST v));
    W(xmlTextWriterEndElement(w));
    if (text)
        W(s_narrated(w, "description", text, NULL));
    if (prov_name || prov_ref)
        W(s_narrated(w, "provider-org", prov_name, "ref", prov_ref, NULL));
    return xmlTextWriterEndElement(w);
}

/* ---- one activity ------------------------------------------------------------------------ */

typedef struct {
    char iso3[4];
    int64_t committed;
} s_country_t;

static int s_cmp_decision(const void *a, const void *b)
{
    return strcmp(((const tam_decision_t *)a)->proposal, ((const tam_decision_t *)b)->proposal);
}

static int s_cmp_country(const void *a, const void *b)
{
    return strcmp(((const s_country_t *)a)->iso3, ((const s_country_t *)b)->iso3);
}

static bool s_holds_money(const tam_decision_t *d)
{
    return d->state == TAM_E_decision_state_committed || d->state == TAM_E_decision_state_delivered;
}

/* Recipient countries: the earmarked ones and those with commitments, by
 * alpha-3; with commitments, each one's share of the committed money in
 * hundredths of a percent, largest remainders first so that they add up to
 * 100.00 exactly. */
static int s_countries(xmlTextWriterPtr w, const s_ctx_t *x, const tam_project_t *p,
                       const tam_decision_t *dv, uint32_t dn)
{
    uint32_t cap = p->earmarks->countries.n + dn;
    s_country_t *c = calloc(cap ? cap : 1, sizeof *c);
    int64_t *rem = calloc(cap ? cap : 1, sizeof *rem);
    int64_t *bp = calloc(cap ? cap : 1, sizeof *bp);
    if (!c || !rem || !bp) {
        free(c), free(rem), free(bp);
        return -1;
    }
    uint32_t n = 0;
    int64_t total = 0;
    for (uint32_t i = 0; i < p->earmarks->countries.n; i++)
        snprintf(c[n++].iso3, 4, "%s", p->earmarks->countries.v[i]);
    for (uint32_t i = 0; i < dn; i++) {
        if (!s_holds_money(&dv[i]))
            continue;
        uint32_t k = 0;
        while (k < n && strcmp(c[k].iso3, dv[i].country) != 0)
            k++;
        if (k == n)
            snprintf(c[n++].iso3, 4, "%s", dv[i].country);
        c[k].committed += dv[i].committed;
        total += dv[i].committed;
    }
    qsort(c, n, sizeof *c, s_cmp_country);
    if (total > 0) {
        int64_t given = 0;
        for (uint32_t i = 0; i < n; i++) {
            bp[i] = c[i].committed * 10000 / total;
            rem[i] = c[i].committed * 10000 % total;
            given += bp[i];
        }
        for (; given < 10000; given++) { /* the largest remainder (first on ties) gets one more */
            uint32_t best = 0;
            for (uint32_t i = 1; i < n; i++)
                if (rem[i] > rem[best])
                    best = i;
            bp[best]++;
            rem[best] = -1;
        }
    }
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const tam_country_t *cc = x->cat ? tam_catalog_country(x->cat, c[i].iso3) : NULL;
        if (!cc) {
            fprintf(stderr, "export iati: %s: country %s has no ISO alpha-2 code in the catalogue\n",
                    p->id, c[i].iso3);
            rc = -2;
            break;
        }
        char pct[48];
        snprintf(pct, sizeof pct, "%lld.%02lld", (long long)(bp[i] / 100), (long long)(bp[i] % 100));
        rc = s_narrated(w, "recipient-country", cc->name, "code", cc->iso2, "percentage",
                        total > 0 ? pct : NULL, NULL);
    }
    free(c), free(rem), free(bp);
    return rc;
}

/* "Need 12 (KEN, A-SMR Nelson Mandela Rules: Standard Minimum Rules for the
 * Treatment of Prisoners ...)": what a commitment serves. */
static void s_need_text(const s_ctx_t *x, const tam_decision_t *d, const char *what, char *buf,
                        size_t cap)
{
    const tam_need_t *n = s_need(x, d->need);
    const tam_standard_t *s = n && x->cat ? tam_catalog_standard(x->cat, n->standard) : NULL;
    if (s)
        snprintf(buf, cap, "%s to need %llu of %s (%s): %s, standard %s %s (%s)", what,
                 (unsigned long long)d->need, d->country, n->modality, s->short_name, s->id,
                 s->title, s->adopted_by);
    else
        snprintf(buf, cap, "%s to need %llu of %s, category %s", what,
                 (unsigned long long)d->need, d->country, d->category);
}

/* The date the decision was committed: its commit act in the audit trail
 * (a delivered decision's state began with delivery). */
static int s_commit_date(const s_ctx_t *x, const tam_decision_t *d, tam_arena_t *a, char date[24])
{
    if (d->state == TAM_E_decision_state_committed) {
        s_ms_date(date, d->since);
        return 0;
    }
    tam_proposal_ref_t ref = {.id = (char *)d->proposal};
    tam_audit_list_t l;
    memset(&l, 0, sizeof l);
    int ex = x->o->call(x->o->arg, "pipeline", TAM_MSG_pipeline_history, &ref, a, &l);
    if (ex)
        return ex;
    int64_t at = d->since;
    for (uint32_t i = 0; i < l.items.n; i++)
        if (l.items.v[i].act == TAM_E_decision_act_commit)
            at = l.items.v[i].at; /* the last commit */
    s_ms_date(date, at);
    return 0;
}

/* A list as one space-separated attribute (absent when empty). */
static int s_list_attr(xmlTextWriterPtr w, const char *name, const tam_strs_t *l)
{
    if (!l->n)
        return 0;
    size_t cap = 1;
    for (uint32_t i = 0; i < l->n; i++)
        cap += strlen(l->v[i]) + 1;
    char *buf = malloc(cap), *q = buf;
    if (!buf)
        return -1;
    for (uint32_t i = 0; i < l->n; i++)
        q += sprintf(q, "%s%s", i ? " " : "", l->v[i]);
    int rc = s_attr(w, name, buf);
    free(buf);
    return rc;
}

/* What IATI has no element for, in tamatch's namespace (IATI allows
 * elements of other namespaces at the end of an activity): the project id,
 * the donors' shares and the earmarks beyond countries and regions. The
 * import reads it back, so that export, import and export again give the
 * same activity. */
static int s_extension(xmlTextWriterPtr w, const tam_project_t *p)
{
    char num[32];
    W(xmlTextWriterStartElement(w, BAD_CAST "tm:project"));
    W(s_attr(w, "id", p->id));
    for (uint32_t i = 0; i < p->donors.n; i++) {
        W(xmlTextWriterStartElement(w, BAD_CAST "tm:share"));
        W(s_attr(w, "donor", p->donors.v[i].donor));
        snprintf(num, sizeof num, "%lld", (long long)p->donors.v[i].percent);
        W(s_attr(w, "percent", num));
        W(xmlTextWriterEndElement(w));
    }
    const tam_earmarks_t *e = p->earmarks;
    W(xmlTextWriterStartElement(w, BAD_CAST "tm:earmarks"));
    W(s_list_attr(w, "groups", &e->groups));
    W(s_list_attr(w, "categories", &e->categories));
    W(s_list_attr(w, "standards", &e->standards));
    W(s_list_attr(w, "modalities", &e->modalities));
    if (e->post_conflict_only)
        W(s_attr(w, "post-conflict-only", "true"));
    if (e->max_per_need) {
        snprintf(num, sizeof num, "%lld", (long long)e->max_per_need);
        W(s_attr(w, "max-per-need", num));
    }
    W(xmlTextWriterEndElement(w));
    return xmlTextWriterEndElement(w);
}

static const char *const s_status_code[] = {"1", "2", "4", "5"}; /* pipeline active closed cancelled */

static int s_activity(s_ctx_t *x, xmlTextWriterPtr w, const tam_project_t *p, tam_arena_t *a)
{
    /* the ledger and the decisions first: a service error leaves no half activity */
    tam_key_t key = {.id = p->id};
    tam_ledger_list_t led;
    memset(&led, 0, sizeof led);
    int ex = x->o->call(x->o->arg, "registry", TAM_MSG_registry_ledger, &key, a, &led);
    tam_decision_query_t q = {.project = p->id, .limit = 10000};
    tam_decision_list_t dec;
    memset(&dec, 0, sizeof dec);
    if (ex == 0)
        ex = x->o->call(x->o->arg, "pipeline", TAM_MSG_pipeline_decisions, &q, a, &dec);
    if (ex)
        return ex;
    if (dec.total > (int64_t)dec.items.n)
        return TAM_IATI_ETOOMANY;
    if (dec.items.n)
        qsort(dec.items.v, dec.items.n, sizeof *dec.items.v, s_cmp_decision);
    bool money = false;
    for (uint32_t i = 0; i < dec.items.n; i++)
        money |= s_holds_money(&dec.items.v[i]);
    if (money && (ex = s_load_needs(x, a)))
        return ex;

    char ident[128], start[24], end[24], buf[1200];
    snprintf(ident, sizeof ident, "%s-%s", x->org, p->id);
    s_date(start, p->start);
    s_date(end, p->end);
    W(xmlTextWriterStartElement(w, BAD_CAST "iati-activity"));
    W(s_attr(w, "xml:lang", "en"));
    W(s_attr(w, "default-currency", "USD"));
    W(xmlTextWriterWriteElement(w, BAD_CAST "iati-identifier", BAD_CAST ident));
    W(s_narrated(w, "reporting-org", x->org_name, "ref", x->org, "type", "40", NULL));
    W(s_narrated(w, "title", p->title, NULL));
    snprintf(buf, sizeof buf,
             "Extrabudgetary project %s of %s, funding technical assistance requested under the "
             "United Nations standards and norms in crime prevention and criminal justice "
             "(ECOSOC resolution 2004/28).",
             p->id, x->org_name);
    W(s_narrated(w, "description", buf, "type", "1", NULL));
    for (uint32_t i = 0; i < p->donors.n; i++) {
        const tam_donor_t *d = s_donor(x, p->donors.v[i].donor);
        const char *ref = d && d->iati_id && *d->iati_id ? d->iati_id : NULL;
        static const char *const type[] = {"10", "40", "60", "70"}; /* by donor_kind */
        W(s_narrated(w, "participating-org", d ? d->name : p->donors.v[i].donor, "ref", ref,
                     "role", "1", "type", d ? type[d->kind] : NULL, "tm:donor",
                     p->donors.v[i].donor, NULL));
    }
    W(s_narrated(w, "participating-org", x->org_name, "ref", x->org, "role", "3", "type", "40",
                 NULL));
    W(s_narrated(w, "participating-org", x->org_name, "ref", x->org, "role", "4", "type", "40",
                 NULL));
    W(s_coded(w, "activity-status", s_status_code[p->status]));
    W(xmlTextWriterStartElement(w, BAD_CAST "activity-date"));
    W(s_attr(w, "type", "1"));
    W(s_attr(w, "iso-date", start));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, BAD_CAST "activity-date"));
    W(s_attr(w, "type", "3"));
    W(s_attr(w, "iso-date", end));
    W(xmlTextWriterEndElement(w));
    int rc = s_countries(w, x, p, dec.items.v, dec.items.n);
    if (rc == -2)
        return TAM_IATI_EDATA;
    W(rc);
    for (uint32_t i = 0; i < p->earmarks->regions.n; i++) {
        const char *code = p->earmarks->regions.v[i];
        const tam_area_t *ar = x->cat ? tam_catalog_area(x->cat, (uint16_t)atoi(code)) : NULL;
        W(s_narrated(w, "recipient-region", ar ? ar->name : NULL, "code", code, "vocabulary", "2",
                     NULL));
    }
    const tam_dac_t *dac = x->cat ? tam_catalog_dac(x->cat, (uint32_t)atoi(p->dac)) : NULL;
    W(s_narrated(w, "sector", dac ? dac->name : NULL, "code", p->dac, "vocabulary", "1",
                 "percentage", "100", NULL));
    W(xmlTextWriterStartElement(w, BAD_CAST "budget"));
    W(s_attr(w, "type", "1"));
    W(s_attr(w, "status", p->budget_status == TAM_E_budget_status_committed ? "2" : "1"));
    W(s_dated(w, "period-start", start));
    W(s_dated(w, "period-end", end));
    snprintf(buf, sizeof buf, "%lld", (long long)p->budget);
    W(xmlTextWriterStartElement(w, BAD_CAST "value"));
    W(s_attr(w, "currency", "USD"));
    W(s_attr(w, "value-date", start));
    W(xmlTextWriterWriteString(w, BAD_CAST buf));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterEndElement(w));

    /* the ledger: the donor is named when the project has one */
    const tam_donor_t *only = p->donors.n == 1 ? s_donor(x, p->donors.v[0].donor) : NULL;
    for (uint32_t i = 0; i < led.items.n; i++) {
        const tam_ledger_entry_t *e = &led.items.v[i];
        char date[24];
        s_date(date, e->date);
        bool pledge = e->kind == TAM_E_ledger_kind_pledge;
        W(s_transaction(w, pledge ? "11" : "1", date, e->amount,
                        e->note && *e->note ? e->note : NULL, only ? only->iati_id : NULL,
                        only ? only->name : NULL));
    }
    /* the decisions: commitments, and disbursements of delivered ones */
    for (uint32_t i = 0; i < dec.items.n; i++) {
        const tam_decision_t *d = &dec.items.v[i];
        if (!s_holds_money(d))
            continue;
        char date[24];
        if ((ex = s_commit_date(x, d, a, date)))
            return ex;
        s_need_text(x, d, "Commitment", buf, sizeof buf);
        W(s_transaction(w, "2", date, d->committed, buf, x->org, x->org_name));
        if (d->state == TAM_E_decision_state_delivered) {
            s_ms_date(date, d->since);
            s_need_text(x, d, "Delivered assistance", buf, sizeof buf);
            W(s_transaction(w, "3", date, d->committed, buf, x->org, x->org_name));
        }
    }
    W(s_extension(w, p));
    return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

/* ---- the document ------------------------------------------------------------------------ */

/* Every page of a list (a registry list: items and next) into *items. */
static int s_list_all(const tam_iati_export_t *o, int msg_id, void *req,
                      void (*set_after)(void *req, char *after), tam_arena_t *a, tam_vec_t *items,
                      size_t item_size)
{
    size_t nm;
    const tam_message_t *m = &tam_messages(&nm)[msg_id];
    const tam_field_t *fitems = &m->answer->fields[0], *fnext = &m->answer->fields[1];
    items->n = 0;
    items->v = NULL;
    char *after = NULL;
    for (;;) {
        set_after(req, after);
        void *page = tam_arena_alloc(a, m->answer->size);
        if (!page)
            return TAM_IATI_EWRITE;
        memset(page, 0, m->answer->size);
        int rc = o->call(o->arg, "registry", msg_id, req, a, page);
        if (rc)
            return rc;
        const tam_vec_t *pv = (const tam_vec_t *)((const char *)page + fitems->offset);
        if (pv->n > 0) {
            void *all = tam_arena_alloc(a, (size_t)(items->n + pv->n) * item_size);
            if (!all)
                return TAM_IATI_EWRITE;
            if (items->n)
                memcpy(all, items->v, (size_t)items->n * item_size);
            memcpy((char *)all + (size_t)items->n * item_size, pv->v, (size_t)pv->n * item_size);
            items->v = all;
            items->n += pv->n;
        }
        after = *(char **)((char *)page + fnext->offset);
        if (!after || !*after || pv->n == 0)
            break;
    }
    return 0;
}

static void s_project_after(void *req, char *after)
{
    ((tam_project_query_t *)req)->after = after;
}

int tam_iati_export(const tam_iati_export_t *o, xmlBufferPtr buf, size_t *nactivities)
{
    if (nactivities)
        *nactivities = 0;
    if (!o || !o->call || !o->cat || !buf)
        return TAM_IATI_EWRITE;
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return TAM_IATI_EWRITE;
    s_ctx_t x = {.o = o, .cat = o->cat, .org = o->org, .org_name = o->org_name};
    tam_project_list_t pl;
    memset(&pl, 0, sizeof pl);
    int rc = 0;
    if (o->project) {
        tam_key_t key = {.id = (char *)o->project};
        tam_project_rec_t rec;
        memset(&rec, 0, sizeof rec);
        rc = o->call(o->arg, "registry", TAM_MSG_registry_project_get, &key, a, &rec);
        if (rc == 0) {
            pl.items.v = tam_arena_alloc(a, sizeof *pl.items.v);
            if (!pl.items.v)
                rc = TAM_IATI_EWRITE;
            else
                pl.items.v[0] = rec, pl.items.n = 1;
        }
    } else {
        tam_project_query_t q = {.limit = 1000};
        rc = s_list_all(o, TAM_MSG_registry_projects, &q, s_project_after, a,
                        (tam_vec_t *)&pl.items, sizeof(tam_project_rec_t));
    }
    tam_page_str_t dq = {.limit = 1000};
    if (rc == 0)
        rc = s_list_all(o, TAM_MSG_registry_donors, &dq, s_set_after_page, a,
                        (tam_vec_t *)&x.donors.items, sizeof(tam_donor_t));
    if (rc == 0 && pl.items.n == 0)
        rc = TAM_IATI_EEMPTY;
    xmlTextWriterPtr w = rc == 0 ? xmlNewTextWriterMemory(buf, 0) : NULL;
    if (rc == 0 && !w)
        rc = TAM_IATI_EWRITE;
    if (rc == 0) {
        xmlTextWriterSetIndent(w, 1);
        xmlTextWriterSetIndentString(w, BAD_CAST " ");
        if (xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0 ||
            xmlTextWriterStartElement(w, BAD_CAST "iati-activities") < 0 ||
            s_attr(w, "version", "2.03") < 0 || s_attr(w, "xmlns:tm", TAM_IATI_TM_NS) < 0)
            rc = TAM_IATI_EWRITE;
    }
    for (uint32_t i = 0; rc == 0 && i < pl.items.n; i++) {
        int r = s_activity(&x, w, pl.items.v[i].project, a);
        rc = r == -1 ? TAM_IATI_EWRITE : r;
        if (o->progress)
            o->progress(o->arg, i + 1, pl.items.n);
    }
    if (rc == 0 && (xmlTextWriterEndDocument(w) < 0 || xmlTextWriterFlush(w) < 0))
        rc = TAM_IATI_EWRITE;
    if (w)
        xmlFreeTextWriter(w);
    if (rc == 0 && nactivities)
        *nactivities = pl.items.n;
    tam_arena_destroy(&a);
    return rc;
}

const char *tam_iati_strerror(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case TAM_IATI_EWRITE: return "the XML writer failed (out of memory)";
    case TAM_IATI_EEMPTY: return "no projects to export (IATI needs at least one activity)";
    case TAM_IATI_ETOOMANY: return "a project has more than 10,000 decisions";
    case TAM_IATI_EDATA: return "a country without an ISO alpha-2 code in the catalogue";
    default: return "a service's answer failed";
    }
}

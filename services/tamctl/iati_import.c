/* iati_import.c — `tamctl project import --iati FILE.xml...`: each IATI 2.03
 * iati-activity becomes a project (or a new revision of the project it names),
 * its funding organisations donors, its incoming transactions ledger entries.
 * What maps to what, and what is refused: docs/iati.md.
 *
 * An activity with any element that cannot be mapped is listed element by
 * element ("FILE:LINE: XPATH: why") and nothing of it is stored; the others
 * are. Importing the same file again stores nothing new: projects equal to
 * the stored ones change nothing, and a transaction already in the ledger
 * (same kind, amount, date and note) is not recorded again. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/tree.h>
#include "iati.h"
#include "regctl.h"

#define S_MAX_FUNDERS 20
#define S_MAX_TX 1000

typedef struct {
    tamctl_t *t;
    tam_arena_t *a;
    const tam_catalog_t *cat;
    iati_sectors_t sectors;
    tam_donor_list_t donors;      /* the registry's */
    tam_project_list_t projects;  /* the registry's */
    regctl_batch_t donor_b, add_b, upd_b, ledger_b;
    char new_donors[64][33];      /* donors created by this import */
    size_t n_new_donors;
    bool dry;
    size_t activities, added, updated, refused, entries;
    const char *file;
    int problems;                 /* of the current activity */
} s_imp_t;

typedef struct {
    const char *ref, *name, *type, *tm_donor; /* tm_donor: @tm:donor, the donor id it was exported from */
    xmlNodePtr node;
    const char *donor;            /* resolved donor id */
    int64_t in, pledged;          /* incoming funds and commitments it provided */
} s_funder_t;

/* ---- small helpers ----------------------------------------------------------------------- */

static void s_problem(s_imp_t *x, xmlNodePtr n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_problem(s_imp_t *x, xmlNodePtr n, const char *fmt, ...)
{
    xmlChar *path = xmlGetNodePath(n);
    fprintf(stderr, "%s:%ld: %s: ", x->file, xmlGetLineNo(n), path ? (const char *)path : "?");
    xmlFree(path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    x->problems++;
}

static char *s_dup(tam_arena_t *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tam_arena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static bool s_is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, name) == 0;
}

/* An element of tamatch's extension namespace. */
static bool s_is_tm(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, IATI_TM_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* An attribute's value (in the arena), or NULL. */
static char *s_attr(s_imp_t *x, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *s = s_dup(x->a, (const char *)v);
    xmlFree(v);
    return s;
}

static xmlNodePtr s_child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (s_is(c, name))
            return c;
    return NULL;
}

/* The text of n's first narrative (or of n itself), trimmed, in the arena. */
static char *s_text(s_imp_t *x, xmlNodePtr n)
{
    xmlNodePtr nar = s_child(n, "narrative");
    xmlChar *v = xmlNodeGetContent(nar ? nar : n);
    if (!v)
        return NULL;
    const char *s = (const char *)v;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    size_t len = strlen(s);
    while (len && strchr(" \n\t\r", s[len - 1]))
        len--;
    char *out = tam_arena_alloc(x->a, len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = 0;
    }
    xmlFree(v);
    return out && *out ? out : NULL;
}

static bool s_date(s_imp_t *x, xmlNodePtr n, uint32_t *out)
{
    char *d = s_attr(x, n, "iso-date");
    if (d && tam_date_parse(d, strlen(d), out) == 0)
        return true;
    s_problem(x, n, "@iso-date %s is not a date YYYY-MM-DD", d ? d : "(missing)");
    return false;
}

/* A value element in USD, as whole dollars (cents rounded half away from zero). */
static bool s_usd(s_imp_t *x, xmlNodePtr parent, const char *deflt, int64_t *out)
{
    xmlNodePtr value = s_child(parent, "value");
    if (!value) {
        s_problem(x, parent, "value missing");
        return false;
    }
    char *cur = s_attr(x, value, "currency");
    if (!cur)
        cur = (char *)deflt;
    if (!cur || strcmp(cur, "USD") != 0) {
        s_problem(x, value, "currency %s: only USD is imported (nothing is converted)",
                  cur ? cur : "(none: no @currency and no @default-currency)");
        return false;
    }
    char *s = s_text(x, value), *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (!s || *end || v > 1e12 || v < -1e12) {
        s_problem(x, value, "amount %s is not a number of USD", s ? s : "(empty)");
        return false;
    }
    *out = (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
    return true;
}

static bool s_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 32)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static const tam_country_t *s_country2(const tam_catalog_t *cat, const char *iso2)
{
    for (size_t i = 0; i < tam_catalog_ncountries(cat); i++) {
        const tam_country_t *c = tam_catalog_country_at(cat, i);
        if (strcmp(c->iso2, iso2) == 0)
            return c;
    }
    return NULL;
}

static void s_add_str(s_imp_t *x, tam_strs_t *l, const char *s)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return;
    char **v = tam_arena_alloc(x->a, (l->n + 1) * sizeof *v);
    if (!v)
        return;
    if (l->n)
        memcpy(v, l->v, l->n * sizeof *v);
    v[l->n++] = s_dup(x->a, s);
    l->v = v;
}

/* Elements of an activity that tamatch does not take and that change
 * nothing it stores (docs/iati.md): passed over. Anything else unknown is
 * refused. */
static const char *const s_passed[] = {
    "iati-identifier", "reporting-org", "description", "other-identifier", "contact-info",
    "activity-scope", "location", "tag", "policy-marker", "collaboration-type",
    "default-flow-type", "default-finance-type", "default-aid-type", "default-tied-status",
    "document-link", "related-activity", "legacy-data", "conditions", "result", "crs-add", "fss",
    "humanitarian-scope", "capital-spend", "planned-disbursement", "country-budget-items", NULL};

static bool s_passed_over(xmlNodePtr n)
{
    for (int i = 0; s_passed[i]; i++)
        if (s_is(n, s_passed[i]))
            return true;
    return false;
}

/* ---- donors ------------------------------------------------------------------------------ */

static const char *s_resolve_donor(s_imp_t *x, s_funder_t *f)
{
    /* tamatch's own export names the donor id (@tm:donor) */
    for (uint32_t i = 0; f->tm_donor && i < x->donors.items.n; i++)
        if (strcmp(x->donors.items.v[i].id, f->tm_donor) == 0)
            return x->donors.items.v[i].id;
    for (size_t i = 0; f->tm_donor && i < x->n_new_donors; i++)
        if (strcmp(x->new_donors[i], f->tm_donor) == 0)
            return x->new_donors[i];
    if (f->ref && *f->ref) { /* by IATI organisation identifier, or donor id */
        for (uint32_t i = 0; i < x->donors.items.n; i++) {
            const tam_donor_t *d = &x->donors.items.v[i];
            if ((d->iati_id && strcmp(d->iati_id, f->ref) == 0) || strcmp(d->id, f->ref) == 0)
                return d->id;
        }
        for (size_t i = 0; !f->tm_donor && i < x->n_new_donors; i++)
            if (strcmp(x->new_donors[i], f->ref) == 0)
                return x->new_donors[i];
    } else if (!f->tm_donor) { /* no identifier: a donor of exactly that name */
        for (uint32_t i = 0; f->name && i < x->donors.items.n; i++)
            if (strcmp(x->donors.items.v[i].name, f->name) == 0)
                return x->donors.items.v[i].id;
        s_problem(x, f->node, "a funding organisation without @ref must have the name of a donor "
                              "(%s is none)", f->name ? f->name : "no name");
        return NULL;
    }
    const char *id = f->tm_donor ? f->tm_donor : f->ref;
    if (!s_id_ok(id)) {
        s_problem(x, f->node, "%s matches no donor and cannot be a new donor's id "
                              "(2 to 32 letters, digits, '-', '_')", id);
        return NULL;
    }
    static const struct {
        const char *type;
        tam_donor_kind_t kind;
    } kinds[] = {{"10", TAM_E_donor_kind_government},   {"11", TAM_E_donor_kind_government},
                 {"15", TAM_E_donor_kind_government},   {"40", TAM_E_donor_kind_multilateral},
                 {"60", TAM_E_donor_kind_foundation},   {"70", TAM_E_donor_kind_private},
                 {"71", TAM_E_donor_kind_private}};
    int k = -1;
    for (size_t i = 0; f->type && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].type, f->type) == 0)
            k = (int)i;
    if (k < 0 || !f->name) {
        s_problem(x, f->node, "%s matches no donor; a new donor needs @type 10, 11, 15 "
                              "(government), 40 (multilateral), 60 (foundation) or 70, 71 "
                              "(private) and a name (narrative)", id);
        return NULL;
    }
    tam_donor_t d = {.id = (char *)id, .name = (char *)f->name, .kind = kinds[k].kind,
                     .iati_id = f->ref && *f->ref ? (char *)f->ref : NULL};
    char where[160];
    snprintf(where, sizeof where, "%s: donor %s", x->file, id);
    if (x->n_new_donors == 64 || regctl_batch_encode(&x->donor_b, TAM_MSG_registry_donor_put, &d,
                                                     where, NULL)) {
        x->problems++;
        return NULL;
    }
    snprintf(x->new_donors[x->n_new_donors], 33, "%s", id);
    if (x->dry)
        printf("  new donor %s (%s)\n", id, f->name);
    return x->new_donors[x->n_new_donors++];
}

/* Shares in whole percent from what each funder gave (incoming funds, else
 * incoming commitments), largest remainders first; one funder: 100. */
static void s_shares(s_imp_t *x, s_funder_t *fv, int nf, tam_project_t *p, xmlNodePtr act)
{
    int64_t total = 0, basis[S_MAX_FUNDERS];
    for (int i = 0; i < nf; i++)
        total += fv[i].in;
    for (int i = 0; i < nf; i++)
        basis[i] = total > 0 ? fv[i].in : fv[i].pledged;
    if (total <= 0)
        for (int i = 0; i < nf; i++)
            total += basis[i];
    if (nf == 1) {
        basis[0] = total = 1;
    } else if (total <= 0) {
        s_problem(x, act, "%d funding organisations, but no incoming funds or commitments "
                          "(transaction type 1 or 11) name them as provider-org/@ref: their "
                          "shares are unknown", nf);
        return;
    }
    p->donors.v = tam_arena_alloc(x->a, (size_t)nf * sizeof *p->donors.v);
    if (!p->donors.v)
        return;
    p->donors.n = (uint32_t)nf;
    int64_t given = 0, rem[S_MAX_FUNDERS];
    for (int i = 0; i < nf; i++) {
        p->donors.v[i].donor = (char *)fv[i].donor;
        p->donors.v[i].percent = basis[i] * 100 / total;
        rem[i] = basis[i] * 100 % total;
        given += p->donors.v[i].percent;
    }
    for (; given < 100; given++) {
        int best = 0;
        for (int i = 1; i < nf; i++)
            if (rem[i] > rem[best])
                best = i;
        p->donors.v[best].percent++;
        rem[best] = -1;
    }
    for (int i = 0; i < nf; i++)
        if (p->donors.v[i].percent < 1)
            s_problem(x, fv[i].node, "its share of the funding is below 1%%");
}

/* ---- tamatch's extension ---------------------------------------------------------------- */

/* A space-separated list attribute into l. */
static void s_list(s_imp_t *x, xmlNodePtr n, const char *name, tam_strs_t *l)
{
    char *v = s_attr(x, n, name);
    l->n = 0;
    for (char *save = NULL, *tok = v ? strtok_r(v, " ", &save) : NULL; tok;
         tok = strtok_r(NULL, " ", &save))
        s_add_str(x, l, tok);
}

/* tm:project: the donors' shares (each must be a funding participating-org)
 * and the earmarks IATI has no element for. */
static void s_extension(s_imp_t *x, xmlNodePtr ext, s_funder_t *fv, int nf, tam_project_t *p)
{
    uint32_t n = 0;
    for (xmlNodePtr c = ext->children; c; c = c->next)
        n += s_is_tm(c, "share");
    p->donors.v = tam_arena_alloc(x->a, (n ? n : 1) * sizeof *p->donors.v);
    if (!p->donors.v)
        return;
    p->donors.n = 0;
    tam_earmarks_t *em = p->earmarks;
    for (xmlNodePtr c = ext->children; c; c = c->next) {
        if (s_is_tm(c, "share")) {
            char *d = s_attr(x, c, "donor"), *pc = s_attr(x, c, "percent");
            int k = 0;
            while (k < nf && !(d && fv[k].donor && strcmp(fv[k].donor, d) == 0))
                k++;
            if (k == nf || !pc || atoi(pc) < 1 || atoi(pc) > 100) {
                s_problem(x, c, "@donor %s is not a funding participating-org, or @percent is "
                                "not 1 to 100", d ? d : "(missing)");
                continue;
            }
            p->donors.v[p->donors.n].donor = (char *)fv[k].donor;
            p->donors.v[p->donors.n++].percent = atoi(pc);
        } else if (s_is_tm(c, "earmarks")) {
            s_list(x, c, "groups", &em->groups);
            s_list(x, c, "categories", &em->categories);
            s_list(x, c, "standards", &em->standards);
            s_list(x, c, "modalities", &em->modalities);
            char *v = s_attr(x, c, "post-conflict-only");
            em->post_conflict_only = v && strcmp(v, "true") == 0;
            v = s_attr(x, c, "max-per-need");
            em->max_per_need = v ? atoll(v) : 0;
        } else if (c->type == XML_ELEMENT_NODE) {
            s_problem(x, c, "element %s is not mapped by tamatch", (const char *)c->name);
        }
    }
    if (p->donors.n == 0)
        s_problem(x, ext, "no tm:share: the donors' shares are unknown");
}

/* ---- one activity -------------------------------------------------------------------------- */

static const tam_project_rec_t *s_existing(const s_imp_t *x, const char *id)
{
    for (uint32_t i = 0; i < x->projects.items.n; i++)
        if (strcmp(x->projects.items.v[i].project->id, id) == 0)
            return &x->projects.items.v[i];
    return NULL;
}

/* The standards of a sector row into the earmark lists; "*" sets *any. */
static void s_earmark_sector(s_imp_t *x, const iati_sector_t *s, tam_earmarks_t *em, bool *any)
{
    if (strcmp(s->standards, "*") == 0) {
        *any = true;
        return;
    }
    char buf[sizeof s->standards];
    snprintf(buf, sizeof buf, "%s", s->standards);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
        s_add_str(x, &em->standards, tok);
}

static int s_activity(s_imp_t *x, xmlNodePtr act)
{
    x->problems = 0;
    x->activities++;
    tam_project_t p = {0};
    tam_earmarks_t *em = tam_arena_alloc(x->a, sizeof *em);
    if (!em)
        return EX_OSERR;
    memset(em, 0, sizeof *em);
    p.earmarks = em;
    const char *deflt = s_attr(x, act, "default-currency");
    s_funder_t fv[S_MAX_FUNDERS];
    int nf = 0, status = -1, best_dac_pct = -1;
    uint32_t start = 0, end = 0;
    bool actual_start = false, actual_end = false, any_standard = false, all_committed = true;
    bool budgets = false;
    tam_ledger_entry_t *tx = tam_arena_alloc(x->a, S_MAX_TX * sizeof *tx);
    xmlNodePtr txn[S_MAX_TX];
    int ntx = 0;
    char *ident = NULL;
    xmlNodePtr ext = NULL; /* tamatch's own extension, when it exported the activity */
    for (xmlNodePtr c = act->children; c && !ext; c = c->next)
        if (s_is_tm(c, "project"))
            ext = c;
    xmlNodePtr idnode = s_child(act, "iati-identifier");
    if (idnode)
        ident = s_text(x, idnode);
    if (!ident || !tx) {
        s_problem(x, act, "iati-identifier missing");
        return 0;
    }
    const char *org = x->t->cfg.tamctl.iati_reporting_org;
    size_t ol = strlen(org);
    p.id = strncmp(ident, org, ol) == 0 && ident[ol] == '-' ? ident + ol + 1 : ident;
    if (!s_id_ok(p.id))
        s_problem(x, idnode, "%s cannot be a project id: 2 to 32 letters, digits, '-', '_' (after "
                             "the prefix %s- of this organisation's own activities)", ident, org);

    for (xmlNodePtr n = act->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (s_is(n, "title")) {
            p.title = s_text(x, n);
            if (!p.title || strlen(p.title) > 300)
                s_problem(x, n, "a title of 1 to 300 characters is needed");
        } else if (s_is(n, "participating-org")) {
            char *role = s_attr(x, n, "role");
            if (!role || strcmp(role, "1") != 0)
                continue; /* only funders become donors */
            if (nf == S_MAX_FUNDERS) {
                s_problem(x, n, "more than %d funding organisations", S_MAX_FUNDERS);
                continue;
            }
            xmlChar *tm = xmlGetNsProp(n, BAD_CAST "donor", BAD_CAST IATI_TM_NS);
            fv[nf] = (s_funder_t){.ref = s_attr(x, n, "ref"), .name = s_text(x, n),
                                  .type = s_attr(x, n, "type"), .node = n,
                                  .tm_donor = tm ? s_dup(x->a, (const char *)tm) : NULL};
            xmlFree(tm);
            nf++;
        } else if (s_is(n, "activity-status")) {
            char *c = s_attr(x, n, "code");
            if (c && (strcmp(c, "1") == 0))
                status = TAM_E_project_status_pipeline;
            else if (c && (strcmp(c, "2") == 0 || strcmp(c, "3") == 0))
                status = TAM_E_project_status_active;
            else
                s_problem(x, n, "@code %s: only pipeline (1), implementation (2) and finalisation "
                                "(3) activities are imported", c ? c : "(missing)");
        } else if (s_is(n, "activity-date")) {
            char *ty = s_attr(x, n, "type");
            uint32_t d;
            int t = ty ? atoi(ty) : 0;
            if (t < 1 || t > 4) {
                s_problem(x, n, "@type %s: 1 to 4 (planned/actual start/end) are imported",
                          ty ? ty : "(missing)");
            } else if (s_date(x, n, &d)) {
                if (t == 2 || (t == 1 && !actual_start))
                    start = d, actual_start |= t == 2;
                if (t == 4 || (t == 3 && !actual_end))
                    end = d, actual_end |= t == 4;
            }
        } else if (s_is(n, "recipient-country")) {
            char *c = s_attr(x, n, "code");
            const tam_country_t *cc = c && x->cat ? s_country2(x->cat, c) : NULL;
            if (!cc)
                s_problem(x, n, "@code %s is not a UN Member State's ISO alpha-2 code in the "
                                "catalogue", c ? c : "(missing)");
            else
                s_add_str(x, &em->countries, cc->iso3);
        } else if (s_is(n, "recipient-region")) {
            char *c = s_attr(x, n, "code"), *v = s_attr(x, n, "vocabulary");
            int m49 = c ? atoi(c) : 0;
            char code[8];
            snprintf(code, sizeof code, "%03d", m49 % 1000);
            if (!v || strcmp(v, "2") != 0)
                s_problem(x, n, "@vocabulary %s: only UN M49 regions (vocabulary 2) are imported",
                          v ? v : "(missing: 1, OECD DAC)");
            else if (!x->cat || !tam_catalog_area(x->cat, (uint16_t)m49) || m49 >= 1000)
                s_problem(x, n, "@code %s is not an M49 area of the catalogue", c ? c : "(missing)");
            else
                s_add_str(x, &em->regions, code);
        } else if (s_is(n, "sector")) {
            char *c = s_attr(x, n, "code"), *v = s_attr(x, n, "vocabulary"), *pc;
            int voc = v ? atoi(v) : 1;
            const iati_sector_t *s = c && (voc == 1 || voc == 2) ? iati_sector(&x->sectors, voc, c)
                                                                 : NULL;
            if (!s && !ext) {
                s_problem(x, n, "sector %s (vocabulary %d) is not in config/catalog/iati_sectors.csv"
                                " (the DAC codes that fund standards)", c ? c : "(missing)", voc);
                continue;
            }
            if (s)
                s_earmark_sector(x, s, em, &any_standard);
            int pct = (pc = s_attr(x, n, "percentage")) ? atoi(pc) : 100;
            if (voc == 1 && pct > best_dac_pct && x->cat && tam_catalog_dac(x->cat, (uint32_t)atoi(c))) {
                best_dac_pct = pct;
                p.dac = c;
            }
        } else if (s_is(n, "budget")) {
            int64_t v;
            char *st = s_attr(x, n, "status");
            if (s_usd(x, n, deflt, &v)) {
                p.budget += v;
                budgets = true;
                all_committed &= st && strcmp(st, "2") == 0;
            }
        } else if (s_is(n, "transaction")) {
            xmlNodePtr tt = s_child(n, "transaction-type"), td = s_child(n, "transaction-date");
            char *code = tt ? s_attr(x, tt, "code") : NULL;
            if (code && strcmp(code, "1") != 0 && strcmp(code, "11") != 0)
                continue; /* outgoing: tamatch's own decisions say what it commits and spends */
            int64_t v;
            uint32_t d;
            if (!code || !td) {
                s_problem(x, n, "transaction-type and transaction-date are needed");
                continue;
            }
            if (!s_usd(x, n, deflt, &v) || !s_date(x, td, &d))
                continue;
            if (ntx == S_MAX_TX) {
                s_problem(x, n, "more than %d incoming transactions", S_MAX_TX);
                continue;
            }
            bool pledge = strcmp(code, "11") == 0;
            if (v <= 0 && pledge) {
                s_problem(x, n, "an incoming commitment must be positive");
                continue;
            }
            char note[501];
            xmlNodePtr desc = s_child(n, "description");
            char *dtext = desc ? s_text(x, desc) : NULL;
            if (dtext)
                snprintf(note, sizeof note, "%s", dtext);
            else
                snprintf(note, sizeof note, "IATI %s transaction %d", ident, ntx + 1);
            tx[ntx] = (tam_ledger_entry_t){
                .kind = pledge ? TAM_E_ledger_kind_pledge
                               : v > 0 ? TAM_E_ledger_kind_receipt : TAM_E_ledger_kind_adjustment,
                .amount = v, .date = d, .note = s_dup(x->a, note)};
            txn[ntx++] = n;
        } else if (s_is_tm(n, "project")) {
            continue; /* read below */
        } else if (!s_passed_over(n)) {
            s_problem(x, n, "element %s is not mapped by tamatch", (const char *)n->name);
        }
    }
    /* donors' shares from the incoming transactions' providers */
    for (int i = 0; i < ntx; i++) {
        xmlNodePtr prov = s_child(txn[i], "provider-org");
        char *ref = prov ? s_attr(x, prov, "ref") : NULL;
        if (!ref)
            continue;
        int k = 0;
        while (k < nf && !(fv[k].ref && strcmp(fv[k].ref, ref) == 0))
            k++;
        if (k == nf) {
            s_problem(x, prov, "@ref %s is not a funding participating-org of the activity", ref);
            continue;
        }
        if (tx[i].kind == TAM_E_ledger_kind_pledge)
            fv[k].pledged += tx[i].amount;
        else if (tx[i].amount > 0)
            fv[k].in += tx[i].amount;
    }
    if (!p.title)
        s_problem(x, act, "title missing");
    if (status < 0 && !s_child(act, "activity-status"))
        s_problem(x, act, "activity-status missing");
    if (!start || !end)
        s_problem(x, act, "activity-date: a start (type 1 or 2) and an end (type 3 or 4) are needed");
    else if (end < start)
        s_problem(x, act, "activity-date: the end is before the start");
    if (!p.dac && !s_child(act, "sector"))
        s_problem(x, act, "sector: a DAC purpose code (vocabulary 1) is needed");
    else if (!p.dac)
        s_problem(x, act, "sector: none of vocabulary 1 is a DAC purpose code of the catalogue");
    if (nf == 0)
        s_problem(x, act, "participating-org: no funding organisation (@role 1)");
    for (int i = 0; i < nf && x->problems == 0; i++)
        fv[i].donor = s_resolve_donor(x, &fv[i]);
    if (x->problems == 0 && ext)
        s_extension(x, ext, fv, nf, &p);
    else if (x->problems == 0)
        s_shares(x, fv, nf, &p, act);
    if (any_standard && !ext)
        em->standards.n = 0;
    if (x->problems) {
        fprintf(stderr, "%s: activity %s refused: nothing of it is stored\n", x->file, ident);
        x->refused++;
        return 0;
    }
    p.start = start;
    p.end = end;
    p.status = (tam_project_status_t)status;
    p.budget_status = budgets && all_committed ? TAM_E_budget_status_committed
                                               : TAM_E_budget_status_indicative;
    const tam_project_rec_t *old = s_existing(x, p.id);
    char where[200];
    snprintf(where, sizeof where, "%s: %s", x->file, ident);
    int ex = regctl_batch_encode(old ? &x->upd_b : &x->add_b,
                                 old ? TAM_MSG_registry_project_update : TAM_MSG_registry_project_add,
                                 &p, where, NULL);
    if (ex)
        return ex;
    /* the ledger: what is not there yet */
    tam_ledger_list_t led = {0};
    if (old) {
        tam_key_t key = {.id = (char *)p.id};
        if ((ex = tamctl_call(x->t, "registry", TAM_MSG_registry_ledger, &key, x->a, &led, where)))
            return ex;
    }
    int fresh = 0;
    for (int i = 0; i < ntx; i++) {
        bool seen = false;
        for (uint32_t k = 0; k < led.items.n && !seen; k++) {
            const tam_ledger_entry_t *e = &led.items.v[k];
            seen = e->kind == tx[i].kind && e->amount == tx[i].amount && e->date == tx[i].date &&
                   e->note && strcmp(e->note, tx[i].note) == 0;
        }
        if (seen)
            continue;
        tx[i].project = (char *)p.id;
        if ((ex = regctl_batch_encode(&x->ledger_b, TAM_MSG_registry_ledger_add, &tx[i], where, NULL)))
            return ex;
        regctl_item_t *it = &x->ledger_b.v[x->ledger_b.n - 1];
        regctl_stable_id(it->id, "iati", it->body, it->len, (size_t)i);
        fresh++;
    }
    if (x->dry)
        printf("%s -> project %s (%s): %u donor(s), budget %lld USD, %d new ledger entr%s\n", ident,
               p.id, old ? "update" : "new", p.donors.n, (long long)p.budget, fresh,
               fresh == 1 ? "y" : "ies");
    return 0;
}

/* ---- the command ------------------------------------------------------------------------- */

static size_t s_ok(const regctl_batch_t *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->v[i].status == TAM_RPC_OK;
    return n;
}

/* Ledger entries of activities whose project the registry refused are not
 * sent: nothing more of such an activity is stored. Returns how many such
 * activities there were. */
static size_t s_drop_refused(s_imp_t *x)
{
    size_t kept = 0, refused = 0;
    const regctl_batch_t *pb[2] = {&x->add_b, &x->upd_b};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < pb[k]->n; i++)
            if (pb[k]->v[i].status != TAM_RPC_OK) {
                refused++;
                fprintf(stderr, "%s: refused by the registry: no ledger entry of it is recorded\n",
                        pb[k]->v[i].where);
            }
    for (size_t i = 0; i < x->ledger_b.n; i++) {
        bool drop = false;
        for (int k = 0; k < 2 && !drop; k++)
            for (size_t j = 0; j < pb[k]->n && !drop; j++)
                drop = pb[k]->v[j].status != TAM_RPC_OK &&
                       strcmp(pb[k]->v[j].where, x->ledger_b.v[i].where) == 0;
        if (drop)
            free(x->ledger_b.v[i].body);
        else
            x->ledger_b.v[kept++] = x->ledger_b.v[i];
    }
    x->ledger_b.n = kept;
    return refused;
}

static void s_set_after_page(void *req, char *after)
{
    ((tam_page_str_t *)req)->after = after;
}

int tamctl_iati_import(tamctl_t *t, int argc, char **argv, bool dry)
{
    s_imp_t *x = calloc(1, sizeof *x);
    if (!x)
        return EX_OSERR;
    x->t = t;
    x->dry = dry;
    x->a = tam_arena_new(0);
    x->cat = regctl_catalog(t);
    int ex = !x->a ? EX_OSERR : !x->cat ? EX_CONFIG : 0;
    if (ex == 0)
        ex = iati_sectors_load(&x->sectors, t->cfg.common.catalog_dir);
    tam_page_str_t dq = {.limit = 1000};
    tam_project_query_t pq = {0};
    if (ex == 0)
        ex = regctl_list_all(t, TAM_MSG_registry_donors, &dq, s_set_after_page, x->a,
                             (tam_vec_t *)&x->donors.items, sizeof(tam_donor_t), NULL, NULL);
    if (ex == 0)
        ex = regctl_all_projects(t, &pq, x->a, &x->projects, NULL, NULL);
    bool bad_file = false;
    for (int f = 0; ex == 0 && f < argc; f++) {
        x->file = argv[f];
        xmlDocPtr doc = iati_read(argv[f]);
        xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!doc) {
            bad_file = true;
            continue;
        }
        xmlChar *ver = root ? xmlGetProp(root, BAD_CAST "version") : NULL;
        if (!root || !s_is(root, "iati-activities") || !ver || strncmp((char *)ver, "2.0", 3) != 0) {
            fprintf(stderr, "%s: not an IATI 2.0x activity file (iati-activities version=\"2.03\")\n",
                    argv[f]);
            bad_file = true;
        } else {
            size_t total = 0, done = 0;
            for (xmlNodePtr n = root->children; n; n = n->next)
                total += s_is(n, "iati-activity");
            for (xmlNodePtr n = root->children; n && ex == 0; n = n->next)
                if (s_is(n, "iati-activity")) {
                    ex = s_activity(x, n);
                    regctl_progress(t, argv[f], ++done, total);
                }
        }
        xmlFree(ver);
        xmlFreeDoc(doc);
    }
    if (ex == 0 && !dry) {
        if (x->donor_b.n)
            ex = regctl_batch_send(t, TAM_MSG_registry_donor_put, &x->donor_b, "iati donors");
        if (ex == 0 && x->add_b.n)
            ex = regctl_batch_send(t, TAM_MSG_registry_project_add, &x->add_b, "iati projects (new)");
        if (ex == 0 && x->upd_b.n)
            ex = regctl_batch_send(t, TAM_MSG_registry_project_update, &x->upd_b, "iati projects");
        if (ex == 0)
            s_drop_refused(x);
        if (ex == 0 && x->ledger_b.n)
            ex = regctl_batch_send(t, TAM_MSG_registry_ledger_add, &x->ledger_b, "iati ledger");
    }
    if (ex == 0) {
        size_t refused_remote = dry ? 0 : (x->add_b.n - s_ok(&x->add_b)) + (x->upd_b.n - s_ok(&x->upd_b));
        size_t added = dry ? x->add_b.n : s_ok(&x->add_b), upd = dry ? x->upd_b.n : s_ok(&x->upd_b);
        size_t entries = dry ? x->ledger_b.n : s_ok(&x->ledger_b);
        size_t donors = dry ? x->donor_b.n : s_ok(&x->donor_b);
        size_t refused = x->refused + refused_remote;
        if (t->json)
            printf("{\"activities\": %zu, \"added\": %zu, \"updated\": %zu, \"refused\": %zu, "
                   "\"donors_added\": %zu, \"ledger_entries\": %zu, \"dry_run\": %s}\n",
                   x->activities, added, upd, refused, donors, entries, dry ? "true" : "false");
        else if (!t->quiet)
            printf("%s%zu activit%s: %zu new project(s), %zu existing (updated or unchanged), "
                   "%zu refused; %zu donor(s) added, %zu ledger entr%s recorded\n",
                   dry ? "dry run, nothing stored: " : "", x->activities,
                   x->activities == 1 ? "y" : "ies", added, upd, refused, donors, entries,
                   entries == 1 ? "y" : "ies");
        if (refused || bad_file || (!dry && s_ok(&x->ledger_b) != x->ledger_b.n))
            ex = EX_DATAERR;
    }
    regctl_batch_free(&x->donor_b);
    regctl_batch_free(&x->add_b);
    regctl_batch_free(&x->upd_b);
    regctl_batch_free(&x->ledger_b);
    tam_arena_destroy(&x->a);
    free(x);
    return ex;
}

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
#include "iati_imp.h"
#include "registry.h"
#include "tam/error.h"

static bool s_date(iati_imp_t *x, xmlNodePtr n, uint32_t *out)
{
    char *d = iati_attr(x, n, "iso-date");
    if (d && tam_date_parse(d, strlen(d), out) == 0)
        return true;
    iati_problem(x, n, "@iso-date %s is not a date YYYY-MM-DD", d ? d : "(missing)");
    return false;
}

/* A value element as whole USD (half away from zero). Another currency
 * (value/@currency, else the activity's @default-currency) only with a rate
 * of [iati] usd_rates_file for that currency and the value's @value-date;
 * conv then says what was converted (for the ledger note), else it is "". */
static bool s_usd(iati_imp_t *x, xmlNodePtr parent, const char *deflt, int64_t *out, char *conv,
                  size_t convcap)
{
    if (conv && convcap)
        conv[0] = 0;
    xmlNodePtr value = iati_child(parent, "value");
    if (!value) {
        iati_problem(x, parent, "value missing");
        return false;
    }
    char *cur = iati_attr(x, value, "currency");
    if (!cur)
        cur = (char *)deflt;
    char *s = iati_text(x, value);
    int64_t micro;
    if (!s || iati_decimal(s, &micro) != 0) {
        iati_problem(x, value, "amount %s is not a decimal number (at most 6 decimals, at most "
                               "10^12)", s ? s : "(empty)");
        return false;
    }
    if (!cur) {
        iati_problem(x, value, "currency (none: no @currency and no @default-currency)");
        return false;
    }
    if (strcmp(cur, "USD") == 0) {
        *out = iati_round_micro(micro);
        return true;
    }
    char *vd = iati_attr(x, value, "value-date");
    uint32_t date = 0;
    const iati_rate_t *rate = vd && tam_date_parse(vd, strlen(vd), &date) == 0 && x->rates
                                  ? iati_rate(x->rates, cur, date)
                                  : NULL;
    if (!rate) {
        iati_problem(x, value, "currency %s, @value-date %s: no rate for it in [iati] "
                               "usd_rates_file%s%s (only USD, or a rate the config allows, is "
                               "imported; nothing is converted otherwise)",
                     cur, vd ? vd : "(missing)", x->rates && x->rates->path[0] ? " " : "",
                     x->rates && x->rates->path[0] ? x->rates->path : " (none configured)");
        return false;
    }
    if (iati_convert(rate, micro, out) != 0) {
        iati_problem(x, value, "amount %s %s is more than 10^12 USD", s, cur);
        return false;
    }
    x->converted++;
    if (conv)
        snprintf(conv, convcap, "%s %s at %s USD (value-date %s)", s, cur, rate->rate, vd);
    if (x->dry)
        printf("  converted %s %s to %lld USD at %s (value-date %s)\n", s, cur, (long long)*out,
               rate->rate, vd);
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

static const char *const s_passed[] = {
    "iati-identifier", "reporting-org", "description", "other-identifier", "contact-info",
    "activity-scope", "location", "tag", "policy-marker", "collaboration-type",
    "default-flow-type", "default-finance-type", "default-aid-type", "default-tied-status",
    "document-link", "related-activity", "legacy-data", "conditions", "result", "crs-add", "fss",
    "humanitarian-scope", "capital-spend", "planned-disbursement", "country-budget-items", NULL};

static bool s_passed_over(xmlNodePtr n)
{
    for (int i = 0; s_passed[i]; i++)
        if (iati_is(n, s_passed[i]))
            return true;
    return false;
}

/* ---- one activity -------------------------------------------------------------------------- */

static const tam_project_rec_t *s_existing(const iati_imp_t *x, const char *id)
{
    for (uint32_t i = 0; i < x->projects.items.n; i++)
        if (strcmp(x->projects.items.v[i].project->id, id) == 0)
            return &x->projects.items.v[i];
    return NULL;
}

/* The standards of a sector row into the earmark lists; "*" sets *any. */
static void s_earmark_sector(iati_imp_t *x, const iati_sector_t *s, tam_earmarks_t *em, bool *any)
{
    if (strcmp(s->standards, "*") == 0) {
        *any = true;
        return;
    }
    char buf[sizeof s->standards];
    snprintf(buf, sizeof buf, "%s", s->standards);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
        iati_add_str(x, &em->standards, tok);
}

/* Lists each problem of a registry check as a problem of node n. */
static void s_registry_says(iati_imp_t *x, xmlNodePtr n, const char *what, const tam_rpc_error_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        iati_problem(x, n, "the registry would refuse %s: %s: %s", what, e->errors[i].field,
                     e->errors[i].message);
    if (e->n == 0 && e->code)
        iati_problem(x, n, "the registry would refuse %s: %s: %s", what, e->field, e->message);
}

/* Whether a donor id is the registry's or one this import creates. */
static int s_donor_known(const char *id, void *arg)
{
    const iati_imp_t *x = arg;
    for (uint32_t i = 0; i < x->donors.items.n; i++)
        if (strcmp(x->donors.items.v[i].id, id) == 0)
            return 0;
    for (size_t i = 0; i < x->n_new_donors; i++)
        if (strcmp(x->new_donors[i], id) == 0)
            return 0;
    return TAM_ENOTFOUND;
}

/* Forgets the donors a refused activity would have created (those after
 * the first n of the batch and m of the list). */
static void s_forget_donors(iati_imp_t *x, size_t n, size_t m)
{
    for (size_t i = n; i < x->donor_b.n; i++) {
        free(x->donor_b.v[i].body);
        free(x->donor_b.v[i].answer);
        tam_rpc_error_clear(&x->donor_b.v[i].error);
    }
    x->donor_b.n = n;
    x->n_new_donors = m;
}

static int s_activity(iati_imp_t *x, xmlNodePtr act)
{
    x->problems = 0;
    const size_t donors0 = x->donor_b.n, new0 = x->n_new_donors;
    x->activities++;
    tam_project_t p = {0};
    tam_earmarks_t *em = tam_arena_alloc(x->a, sizeof *em);
    if (!em)
        return EX_OSERR;
    memset(em, 0, sizeof *em);
    p.earmarks = em;
    const char *deflt = iati_attr(x, act, "default-currency");
    iati_funder_t fv[S_MAX_FUNDERS];
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
        if (iati_is_tm(c, "project"))
            ext = c;
    xmlNodePtr idnode = iati_child(act, "iati-identifier");
    if (idnode)
        ident = iati_text(x, idnode);
    if (!ident || !tx) {
        iati_problem(x, act, "iati-identifier missing");
        return 0;
    }
    const char *org = x->t->cfg.tamctl.iati_reporting_org;
    size_t ol = strlen(org);
    p.id = strncmp(ident, org, ol) == 0 && ident[ol] == '-' ? ident + ol + 1 : ident;
    if (!iati_id_ok(p.id))
        iati_problem(x, idnode, "%s cannot be a project id: 2 to 32 letters, digits, '-', '_' (after "
                             "the prefix %s- of this organisation's own activities)", ident, org);

    for (xmlNodePtr n = act->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (iati_is(n, "title")) {
            p.title = iati_text(x, n);
            if (!p.title || strlen(p.title) > 300)
                iati_problem(x, n, "a title of 1 to 300 characters is needed");
        } else if (iati_is(n, "participating-org")) {
            char *role = iati_attr(x, n, "role");
            if (!role || strcmp(role, "1") != 0)
                continue; /* only funders become donors */
            if (nf == S_MAX_FUNDERS) {
                iati_problem(x, n, "more than %d funding organisations", S_MAX_FUNDERS);
                continue;
            }
            xmlChar *tm = xmlGetNsProp(n, BAD_CAST "donor", BAD_CAST IATI_TM_NS);
            fv[nf] = (iati_funder_t){.ref = iati_attr(x, n, "ref"), .name = iati_text(x, n),
                                  .type = iati_attr(x, n, "type"), .node = n,
                                  .tm_donor = tm ? iati_dup(x->a, (const char *)tm) : NULL};
            xmlFree(tm);
            nf++;
        } else if (iati_is(n, "activity-status")) {
            char *c = iati_attr(x, n, "code");
            if (c && (strcmp(c, "1") == 0))
                status = TAM_E_project_status_pipeline;
            else if (c && (strcmp(c, "2") == 0 || strcmp(c, "3") == 0))
                status = TAM_E_project_status_active;
            else if (c && strcmp(c, "4") == 0)
                status = TAM_E_project_status_closed;
            else if (c && strcmp(c, "5") == 0)
                status = TAM_E_project_status_cancelled;
            else
                iati_problem(x, n, "@code %s: pipeline (1), implementation (2), finalisation (3), "
                                "closed (4) and cancelled (5) activities are imported",
                             c ? c : "(missing)");
        } else if (iati_is(n, "activity-date")) {
            char *ty = iati_attr(x, n, "type");
            uint32_t d;
            int t = ty ? atoi(ty) : 0;
            if (t < 1 || t > 4) {
                iati_problem(x, n, "@type %s: 1 to 4 (planned/actual start/end) are imported",
                          ty ? ty : "(missing)");
            } else if (s_date(x, n, &d)) {
                if (t == 2 || (t == 1 && !actual_start))
                    start = d, actual_start |= t == 2;
                if (t == 4 || (t == 3 && !actual_end))
                    end = d, actual_end |= t == 4;
            }
        } else if (iati_is(n, "recipient-country")) {
            char *c = iati_attr(x, n, "code");
            const tam_country_t *cc = c && x->cat ? s_country2(x->cat, c) : NULL;
            if (!cc)
                iati_problem(x, n, "@code %s is not a UN Member State's ISO alpha-2 code in the "
                                "catalogue", c ? c : "(missing)");
            else
                iati_add_str(x, &em->countries, cc->iso3);
        } else if (iati_is(n, "recipient-region")) {
            char *c = iati_attr(x, n, "code"), *v = iati_attr(x, n, "vocabulary");
            int m49 = c ? atoi(c) : 0;
            char code[8];
            snprintf(code, sizeof code, "%03d", m49 % 1000);
            const iati_region_t *dr = NULL;
            if ((!v || strcmp(v, "1") == 0) && c && (dr = iati_region(&x->regions, 1, c))) {
                m49 = dr->m49; /* a DAC region equal to an M49 area */
                snprintf(code, sizeof code, "%03d", m49);
            }
            if ((!v || strcmp(v, "1") == 0) && !dr)
                iati_problem(x, n, "DAC region %s (vocabulary 1) is not in "
                                   "config/catalog/iati_regions.csv (the DAC regions equal to an "
                                   "M49 area); use vocabulary 2 (UN M49) or country earmarks",
                             c ? c : "(missing)");
            else if (v && strcmp(v, "1") != 0 && strcmp(v, "2") != 0)
                iati_problem(x, n, "@vocabulary %s: DAC regions (1) and UN M49 areas (2) are "
                                   "imported", v);
            else if (!x->cat || !tam_catalog_area(x->cat, (uint16_t)m49) || m49 >= 1000)
                iati_problem(x, n, "@code %s is not an M49 area of the catalogue", c ? c : "(missing)");
            else
                iati_add_str(x, &em->regions, code);
        } else if (iati_is(n, "sector")) {
            char *c = iati_attr(x, n, "code"), *v = iati_attr(x, n, "vocabulary"), *pc;
            int voc = v ? atoi(v) : 1;
            const iati_sector_t *s = c && (voc == 1 || voc == 2) ? iati_sector(&x->sectors, voc, c)
                                                                 : NULL;
            if (!s && !ext) {
                iati_problem(x, n, "sector %s (vocabulary %d) is not in config/catalog/iati_sectors.csv"
                                " (the DAC codes that fund standards)", c ? c : "(missing)", voc);
                continue;
            }
            if (s)
                s_earmark_sector(x, s, em, &any_standard);
            int pct = (pc = iati_attr(x, n, "percentage")) ? atoi(pc) : 100;
            if (voc == 1 && pct > best_dac_pct && x->cat && tam_catalog_dac(x->cat, (uint32_t)atoi(c))) {
                best_dac_pct = pct;
                p.dac = c;
            }
        } else if (iati_is(n, "budget")) {
            int64_t v;
            char *st = iati_attr(x, n, "status");
            if (s_usd(x, n, deflt, &v, NULL, 0)) {
                p.budget += v;
                budgets = true;
                all_committed &= st && strcmp(st, "2") == 0;
            }
        } else if (iati_is(n, "transaction")) {
            xmlNodePtr tt = iati_child(n, "transaction-type"), td = iati_child(n, "transaction-date");
            char *code = tt ? iati_attr(x, tt, "code") : NULL;
            if (code && strcmp(code, "1") != 0 && strcmp(code, "11") != 0)
                continue; /* outgoing: tamatch's own decisions say what it commits and spends */
            int64_t v;
            uint32_t d;
            if (!code || !td) {
                iati_problem(x, n, "transaction-type and transaction-date are needed");
                continue;
            }
            char conv[160];
            if (!s_usd(x, n, deflt, &v, conv, sizeof conv) || !s_date(x, td, &d))
                continue;
            if (ntx == S_MAX_TX) {
                iati_problem(x, n, "more than %d incoming transactions", S_MAX_TX);
                continue;
            }
            bool pledge = strcmp(code, "11") == 0;
            if (v <= 0 && pledge) {
                iati_problem(x, n, "an incoming commitment must be positive");
                continue;
            }
            char note[501];
            xmlNodePtr desc = iati_child(n, "description");
            char *dtext = desc ? iati_text(x, desc) : NULL;
            if (dtext)
                snprintf(note, sizeof note, "%s", dtext);
            else
                snprintf(note, sizeof note, "IATI %s transaction %d", ident, ntx + 1);
            if (conv[0]) { /* the note keeps what was converted, and at which rate */
                size_t nl = strlen(note);
                snprintf(note + nl, sizeof note - nl, " [%s]", conv);
            }
            tx[ntx] = (tam_ledger_entry_t){
                .kind = pledge ? TAM_E_ledger_kind_pledge
                               : v > 0 ? TAM_E_ledger_kind_receipt : TAM_E_ledger_kind_adjustment,
                .amount = v, .date = d, .note = iati_dup(x->a, note)};
            txn[ntx++] = n;
        } else if (iati_is_tm(n, "project")) {
            continue; /* read below */
        } else if (!s_passed_over(n)) {
            iati_problem(x, n, "element %s is not mapped by tamatch", (const char *)n->name);
        }
    }
    /* donors' shares from the incoming transactions' providers */
    for (int i = 0; i < ntx; i++) {
        xmlNodePtr prov = iati_child(txn[i], "provider-org");
        char *ref = prov ? iati_attr(x, prov, "ref") : NULL;
        if (!ref)
            continue;
        int k = 0;
        while (k < nf && !(fv[k].ref && strcmp(fv[k].ref, ref) == 0))
            k++;
        if (k == nf) {
            iati_problem(x, prov, "@ref %s is not a funding participating-org of the activity", ref);
            continue;
        }
        if (tx[i].kind == TAM_E_ledger_kind_pledge)
            fv[k].pledged += tx[i].amount;
        else if (tx[i].amount > 0)
            fv[k].in += tx[i].amount;
    }
    if (!p.title)
        iati_problem(x, act, "title missing");
    if (status < 0 && !iati_child(act, "activity-status"))
        iati_problem(x, act, "activity-status missing");
    if (!start || !end)
        iati_problem(x, act, "activity-date: a start (type 1 or 2) and an end (type 3 or 4) are needed");
    else if (end < start)
        iati_problem(x, act, "activity-date: the end is before the start");
    if (!p.dac && !iati_child(act, "sector"))
        iati_problem(x, act, "sector: a DAC purpose code (vocabulary 1) is needed");
    else if (!p.dac)
        iati_problem(x, act, "sector: none of vocabulary 1 is a DAC purpose code of the catalogue");
    if (nf == 0)
        iati_problem(x, act, "participating-org: no funding organisation (@role 1)");
    for (int i = 0; i < nf && x->problems == 0; i++)
        fv[i].donor = iati_resolve_donor(x, &fv[i]);
    if (x->problems == 0 && ext)
        iati_extension(x, ext, fv, nf, &p);
    else if (x->problems == 0)
        iati_shares(x, fv, nf, &p, act);
    if (any_standard && !ext)
        em->standards.n = 0;
    p.start = start;
    p.end = end;
    /* closed and cancelled: stored as active, then closed (after the ledger) */
    bool closing = status == TAM_E_project_status_closed || status == TAM_E_project_status_cancelled;
    p.status = closing ? TAM_E_project_status_active : (tam_project_status_t)status;
    p.budget_status = budgets && all_committed ? TAM_E_budget_status_committed
                                               : TAM_E_budget_status_indicative;
    if (x->problems == 0) {
        /* The registry's own checks, here, so that a project it would refuse
         * creates no donor either (its donors are sent first). */
        tam_rpc_error_t e = {0};
        tam_registry_check_project(x->cat, &p, s_donor_known, x, &e);
        s_registry_says(x, act, "the project", &e);
        tam_rpc_error_clear(&e);
    }
    if (x->problems) {
        fprintf(stderr, "%s: activity %s refused: nothing of it is stored\n", x->file, ident);
        s_forget_donors(x, donors0, new0);
        x->refused++;
        return 0;
    }
    const tam_project_rec_t *old = s_existing(x, p.id);
    char where[200];
    snprintf(where, sizeof where, "%s: %s", x->file, ident);
    bool ended = old && (old->project->status == TAM_E_project_status_closed ||
                         old->project->status == TAM_E_project_status_cancelled);
    if (ended && old->project->status != (tam_project_status_t)status) {
        iati_problem(x, act, "project %s is %s: it cannot change any more", p.id,
                     old->project->status == TAM_E_project_status_closed ? "closed" : "cancelled");
        s_forget_donors(x, donors0, new0);
        x->refused++;
        return 0;
    }
    int ex = ended ? 0
                   : regctl_batch_encode(old ? &x->upd_b : &x->add_b,
                                         old ? TAM_MSG_registry_project_update
                                             : TAM_MSG_registry_project_add,
                                         &p, where, NULL);
    if (ex == 0 && closing && !ended) {
        char reason[160];
        snprintf(reason, sizeof reason, "IATI activity-status %s", status == TAM_E_project_status_closed ? "4 (closed)" : "5 (cancelled)");
        tam_project_close_t cl = {.id = (char *)p.id, .status = (tam_project_status_t)status,
                                  .reason = reason};
        ex = regctl_batch_encode(&x->close_b, TAM_MSG_registry_project_close, &cl, where, NULL);
    }
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
static void s_drop_from(regctl_batch_t *b, const regctl_batch_t *const pb[2])
{
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        bool drop = false;
        for (int k = 0; k < 2 && !drop; k++)
            for (size_t j = 0; j < pb[k]->n && !drop; j++)
                drop = pb[k]->v[j].status != TAM_RPC_OK &&
                       strcmp(pb[k]->v[j].where, b->v[i].where) == 0;
        if (drop)
            free(b->v[i].body);
        else
            b->v[kept++] = b->v[i];
    }
    b->n = kept;
}

static void s_drop_refused(iati_imp_t *x)
{
    const regctl_batch_t *const pb[2] = {&x->add_b, &x->upd_b};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < pb[k]->n; i++)
            if (pb[k]->v[i].status != TAM_RPC_OK)
                fprintf(stderr, "%s: refused by the registry: no ledger entry of it is recorded\n",
                        pb[k]->v[i].where);
    s_drop_from(&x->ledger_b, pb);
    s_drop_from(&x->close_b, pb);
}

static void s_set_after_page(void *req, char *after)
{
    ((tam_page_str_t *)req)->after = after;
}

int tamctl_iati_import(tamctl_t *t, int argc, char **argv, bool dry)
{
    iati_imp_t *x = calloc(1, sizeof *x);
    if (!x)
        return EX_OSERR;
    x->t = t;
    x->dry = dry;
    x->a = tam_arena_new(0);
    x->cat = regctl_catalog(t);
    int ex = !x->a ? EX_OSERR : !x->cat ? EX_CONFIG : 0;
    if (ex == 0)
        ex = iati_sectors_load(&x->sectors, t->cfg.common.catalog_dir);
    if (ex == 0)
        ex = iati_regions_load(&x->regions, t->cfg.common.catalog_dir);
    if (ex == 0 && !(x->rates = malloc(sizeof *x->rates)))
        ex = EX_OSERR;
    if (ex == 0)
        ex = iati_rates_load(x->rates, t->cfg.iati.usd_rates_file);
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
        if (!root || !iati_is(root, "iati-activities") || !ver || strncmp((char *)ver, "2.0", 3) != 0) {
            fprintf(stderr, "%s: not an IATI 2.0x activity file (iati-activities version=\"2.03\")\n",
                    argv[f]);
            bad_file = true;
        } else {
            size_t total = 0, done = 0;
            for (xmlNodePtr n = root->children; n; n = n->next)
                total += iati_is(n, "iati-activity");
            for (xmlNodePtr n = root->children; n && ex == 0; n = n->next)
                if (iati_is(n, "iati-activity")) {
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
        if (ex == 0 && x->close_b.n)
            ex = regctl_batch_send(t, TAM_MSG_registry_project_close, &x->close_b, "iati closures");
    }
    if (ex == 0) {
        size_t refused_remote = dry ? 0 : (x->add_b.n - s_ok(&x->add_b)) + (x->upd_b.n - s_ok(&x->upd_b));
        size_t added = dry ? x->add_b.n : s_ok(&x->add_b), upd = dry ? x->upd_b.n : s_ok(&x->upd_b);
        size_t entries = dry ? x->ledger_b.n : s_ok(&x->ledger_b);
        size_t donors = dry ? x->donor_b.n : s_ok(&x->donor_b);
        size_t refused = x->refused + refused_remote;
        if (t->json)
            printf("{\"activities\": %zu, \"added\": %zu, \"updated\": %zu, \"refused\": %zu, "
                   "\"donors_added\": %zu, \"ledger_entries\": %zu, \"converted\": %zu, "
                   "\"dry_run\": %s}\n",
                   x->activities, added, upd, refused, donors, entries, x->converted,
                   dry ? "true" : "false");
        else if (!t->quiet)
            printf("%s%zu activit%s: %zu new project(s), %zu existing (updated or unchanged), "
                   "%zu refused; %zu donor(s) added, %zu ledger entr%s recorded\n",
                   dry ? "dry run, nothing stored: " : "", x->activities,
                   x->activities == 1 ? "y" : "ies", added, upd, refused, donors, entries,
                   entries == 1 ? "y" : "ies");
        if (!t->json && !t->quiet && x->converted)
            printf("%zu amount(s) converted to USD at the rates of %s\n", x->converted,
                   x->rates->path);
        if (refused || bad_file ||
            (!dry && (s_ok(&x->ledger_b) != x->ledger_b.n || s_ok(&x->close_b) != x->close_b.n)))
            ex = EX_DATAERR;
    }
    regctl_batch_free(&x->donor_b);
    regctl_batch_free(&x->add_b);
    regctl_batch_free(&x->upd_b);
    regctl_batch_free(&x->ledger_b);
    regctl_batch_free(&x->close_b);
    tam_arena_destroy(&x->a);
    free(x->rates);
    free(x);
    return ex;
}

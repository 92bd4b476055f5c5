/* registry_validate.c — checks of donors, projects, earmarks, ledger entries
 * and the planning context against the catalogue and the rules of the
 * registry. Every problem is listed with the path of its field; the caller
 * stores nothing when a check returns non-zero. The codec has already
 * checked types, lengths, numeric ranges, enum values and dates. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "registry.h"

/* Records one problem: the first one sets err->code, later ones are added
 * to the list. */
__attribute__((format(printf, 4, 5))) static void s_err(tam_rpc_error_t *err, int code,
                                                        const char *field, const char *fmt, ...)
{
    char msg[TAM_RPC_MESSAGE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err->code == 0)
        tam_rpc_error_set(err, code, field, "%s", msg);
    else
        tam_rpc_error_add_code(err, code, field, "%s", msg);
}

static bool s_blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

static bool s_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool tam_registry_id_valid(const char *id)
{
    if (!id)
        return false;
    size_t n = strlen(id);
    if (n < 2 || n > TAM_REGISTRY_ID_MAX || !s_alnum(id[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!s_alnum(id[i]) && id[i] != '-' && id[i] != '_')
            return false;
    return true;
}

bool tam_registry_iati_valid(const char *s)
{
    if (!s || !(s[0] >= 'A' && s[0] <= 'Z') || !(s[1] >= 'A' && s[1] <= 'Z') || s[2] != '-')
        return false;
    if (strncmp(s, "XM-DAC-", 7) == 0) {
        const char *d = s + 7;
        if (!*d || strlen(d) > 10)
            return false;
        for (; *d; d++)
            if (*d < '0' || *d > '9')
                return false;
        return true;
    }
    /* segments after the prefix: non-empty runs of [A-Za-z0-9_.] between '-' */
    size_t seg = 0;
    for (const char *p = s + 3;; p++) {
        if (*p == '-' || *p == 0) {
            if (seg == 0)
                return false;
            if (*p == 0)
                return true;
            seg = 0;
        } else if (s_alnum(*p) || *p == '_' || *p == '.') {
            seg++;
        } else {
            return false;
        }
    }
}

static void s_check_id(const char *id, const char *field, const char *what, tam_rpc_error_t *err)
{
    if (!tam_registry_id_valid(id))
        s_err(err, TAM_EINVAL, field,
              "'%s' is not a valid %s id: 2 to %d letters, digits, '-' or '_', starting with a "
              "letter or digit",
              id ? id : "", what, TAM_REGISTRY_ID_MAX);
}

int tam_registry_check_donor(const tam_donor_t *d, tam_rpc_error_t *err)
{
    /* A field left NULL did not decode (tam_registry_check_* also run on a
     * record with codec problems, to list every problem at once): the codec
     * has named it, nothing more to say here. */
    if (d->id)
        s_check_id(d->id, "id", "donor", err);
    if (d->name && s_blank(d->name))
        s_err(err, TAM_EINVAL, "name", "must not be blank");
    if (d->iati_id && d->iati_id[0] && !tam_registry_iati_valid(d->iati_id))
        s_err(err, TAM_EINVAL, "iati_id",
              "'%s' is not an IATI organisation identifier: a 2-letter agency prefix and "
              "'-'-separated parts, e.g. XM-DAC-41128 or GB-COH-01234567 (XM-DAC takes digits only)",
              d->iati_id);
    return err->code;
}

/* Index of the first earlier element equal to v[i], or -1. Lists are short
 * (at most a few hundred entries), so the quadratic scan is fine. */
static long s_dup(char *const *v, uint32_t i)
{
    for (uint32_t k = 0; k < i; k++)
        if (v[k] && v[i] && strcmp(v[k], v[i]) == 0)
            return (long)k;
    return -1;
}

static void s_field(char *buf, size_t cap, const char *prefix, const char *name, long index)
{
    if (index >= 0)
        snprintf(buf, cap, "%s%s%s[%ld]", prefix, *prefix ? "." : "", name, index);
    else
        snprintf(buf, cap, "%s%s%s", prefix, *prefix ? "." : "", name);
}

/* Checks each element of a code list: known to the catalogue (by `known`)
 * and not repeated. hint follows the message of an unknown code. */
static void s_codes(const tam_catalog_t *cat, const tam_strs_t *l, const char *prefix,
                    const char *name, const char *what, const char *hint,
                    bool (*known)(const tam_catalog_t *, const char *), tam_rpc_error_t *err)
{
    char f[TAM_RPC_FIELD_MAX + 1];
    for (uint32_t i = 0; i < l->n; i++) {
        if (!l->v[i])
            continue; /* did not decode: the codec has said why */
        s_field(f, sizeof f, prefix, name, i);
        long d = s_dup(l->v, i);
        if (d >= 0)
            s_err(err, TAM_EINVAL, f, "'%s' is listed twice (also at [%ld])", l->v[i], d);
        else if (!known(cat, l->v[i]))
            s_err(err, TAM_EUNKNOWN, f, "unknown %s '%s'%s", what, l->v[i], hint);
    }
}

static bool s_country(const tam_catalog_t *c, const char *s) { return tam_catalog_country(c, s); }
static bool s_group(const tam_catalog_t *c, const char *s) { return tam_catalog_group(c, s); }
static bool s_standard(const tam_catalog_t *c, const char *s) { return tam_catalog_standard(c, s); }
static bool s_modality(const tam_catalog_t *c, const char *s) { return tam_catalog_modality(c, s); }
static bool s_category(const tam_catalog_t *c, const char *s)
{
    return strlen(s) == 1 && tam_catalog_category(c, s[0]);
}

/* M49 area codes are written with three digits, as the UN writes them
 * ("002" Africa, "202" Sub-Saharan Africa): one spelling per area, so that
 * duplicates and comparisons are plain string matches. */
static bool s_area(const tam_catalog_t *c, const char *s)
{
    if (strlen(s) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    unsigned v = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    return v > 0 && tam_catalog_area(c, (uint16_t)v);
}

int tam_registry_check_earmarks(const tam_catalog_t *cat, const tam_earmarks_t *e,
                                const char *prefix, tam_rpc_error_t *err)
{
    s_codes(cat, &e->countries, prefix, "countries", "country", " (ISO alpha-3 of a UN Member State)",
            s_country, err);
    s_codes(cat, &e->groups, prefix, "groups", "regional group",
            " (AFRICAN, APG, EEG, GRULAC or WEOG)", s_group, err);
    s_codes(cat, &e->regions, prefix, "regions", "M49 area",
            " (a region, sub-region or intermediate region in 3 digits, e.g. 002 Africa, 202 "
            "Sub-Saharan Africa)",
            s_area, err);
    s_codes(cat, &e->categories, prefix, "categories", "category", " (A, B, C or D)", s_category,
            err);
    s_codes(cat, &e->standards, prefix, "standards", "standard", "", s_standard, err);
    s_codes(cat, &e->modalities, prefix, "modalities", "modality", "", s_modality, err);
    /* Listed standards narrow their category (docs/matching.md): a listed
     * standard whose category is not listed has no category to narrow. */
    if (e->categories.n > 0) {
        char f[TAM_RPC_FIELD_MAX + 1];
        for (uint32_t i = 0; i < e->standards.n; i++) {
            const tam_standard_t *st = tam_catalog_standard(cat, e->standards.v[i]);
            if (!st || s_dup(e->standards.v, i) >= 0)
                continue;
            bool in = false;
            for (uint32_t k = 0; k < e->categories.n && !in; k++)
                in = e->categories.v[k][0] == st->category && e->categories.v[k][1] == 0;
            if (!in) {
                s_field(f, sizeof f, prefix, "standards", i);
                s_err(err, TAM_EINVAL, f,
                      "standard '%s' is in category %c, which the earmarked categories do not "
                      "include",
                      st->id, st->category);
            }
        }
    }
    if (e->max_per_need < 0) {
        char f[TAM_RPC_FIELD_MAX + 1];
        s_field(f, sizeof f, prefix, "max_per_need", -1);
        s_err(err, TAM_ERANGE, f, "must not be negative");
    }
    return err->code;
}

int tam_registry_check_project(const tam_catalog_t *cat, const tam_project_t *p,
                               tam_registry_donor_fn donor_fn, void *arg, tam_rpc_error_t *err)
{
    s_check_id(p->id, "id", "project", err);
    if (s_blank(p->title))
        s_err(err, TAM_EINVAL, "title", "must not be blank");

    char f[TAM_RPC_FIELD_MAX + 1];
    int64_t total = 0;
    for (uint32_t i = 0; i < p->donors.n; i++) {
        const tam_share_t *sh = &p->donors.v[i];
        snprintf(f, sizeof f, "donors[%u].donor", i);
        bool dup = false;
        for (uint32_t k = 0; k < i && !dup; k++)
            if (strcmp(p->donors.v[k].donor, sh->donor) == 0) {
                s_err(err, TAM_EINVAL, f, "donor '%s' is listed twice (also at donors[%u])",
                      sh->donor, k);
                dup = true;
            }
        if (!dup && donor_fn) {
            int rc = donor_fn(sh->donor, arg);
            if (rc == TAM_ENOTFOUND)
                s_err(err, TAM_EUNKNOWN, f, "unknown donor '%s' (add it with tamctl donor add)",
                      sh->donor);
            else if (rc)
                return rc; /* storage failure: not the requester's fault */
        }
        if (sh->percent < 1 || sh->percent > 100) {
            snprintf(f, sizeof f, "donors[%u].percent", i);
            s_err(err, TAM_ERANGE, f, "must be between 1 and 100");
        }
        total += sh->percent;
    }
    if (p->donors.n == 0)
        s_err(err, TAM_EMISSING, "donors", "at least one donor is needed");
    else if (total != 100)
        s_err(err, TAM_EINVAL, "donors", "shares add up to %lld, not 100", (long long)total);

    if (p->budget < 0)
        s_err(err, TAM_ERANGE, "budget", "must not be negative");
    if (p->start && p->end && p->end < p->start) {
        char a[11], b[11];
        tam_date_format(p->start, a);
        tam_date_format(p->end, b);
        s_err(err, TAM_EINVAL, "end", "the window ends (%s) before it starts (%s)", b, a);
    }
    if (p->status == TAM_E_project_status_closed || p->status == TAM_E_project_status_cancelled)
        s_err(err, TAM_EINVAL, "status",
              "a project is added or changed as pipeline or active; close or cancel it with "
              "registry.project_close (tamctl project close), which records the reason");

    bool dac_ok = p->dac && strlen(p->dac) == 5;
    for (size_t i = 0; dac_ok && i < 5; i++)
        dac_ok = p->dac[i] >= '0' && p->dac[i] <= '9';
    const tam_dac_t *dac = dac_ok ? tam_catalog_dac(cat, (uint32_t)strtoul(p->dac, NULL, 10)) : NULL;
    if (!dac)
        s_err(err, TAM_EUNKNOWN, "dac", "unknown DAC purpose code '%s' (5 digits from the catalogue)",
              p->dac ? p->dac : "");
    else if (!dac->active)
        s_err(err, TAM_EINVAL, "dac", "DAC purpose code %s is no longer in use", p->dac);

    if (!p->earmarks)
        s_err(err, TAM_EMISSING, "earmarks", "required field missing");
    else
        tam_registry_check_earmarks(cat, p->earmarks, "earmarks", err);
    return err->code;
}

static bool s_open(const tam_project_rec_t *r)
{
    return r->project->status != TAM_E_project_status_closed &&
           r->project->status != TAM_E_project_status_cancelled;
}

int tam_registry_check_close(const tam_project_close_t *c, const tam_project_rec_t *cur,
                             tam_rpc_error_t *err)
{
    if (!cur)
        s_err(err, TAM_ENOTFOUND, "id", "no project '%s'", c->id);
    else if (!s_open(cur))
        s_err(err, TAM_ESTATE, "id", "project '%s' is already %s", c->id,
              tam_enum_project_status.values[cur->project->status]);
    if (c->status != TAM_E_project_status_closed && c->status != TAM_E_project_status_cancelled)
        s_err(err, TAM_EINVAL, "status", "must be closed or cancelled");
    else if (cur && s_open(cur) && c->status == TAM_E_project_status_closed &&
             cur->project->status == TAM_E_project_status_pipeline)
        s_err(err, TAM_ESTATE, "status",
              "project '%s' never became active: cancel it rather than close it", c->id);
    if (s_blank(c->reason))
        s_err(err, TAM_EINVAL, "reason", "must not be blank");
    return err->code;
}

int tam_registry_check_ledger(const tam_ledger_entry_t *e, const tam_project_rec_t *cur,
                              tam_rpc_error_t *err)
{
    const char *kind = (unsigned)e->kind < tam_enum_ledger_kind.n ? tam_enum_ledger_kind.values[e->kind] : "?";
    if (e->kind == TAM_E_ledger_kind_adjustment) {
        if (e->amount == 0)
            s_err(err, TAM_EINVAL, "amount", "an adjustment must not be zero");
    } else if (e->amount <= 0) {
        s_err(err, TAM_EINVAL, "amount", "a %s must be a positive amount, not %lld", kind,
              (long long)e->amount);
    }
    if (!cur) {
        s_err(err, TAM_ENOTFOUND, "project", "no project '%s'", e->project);
        return err->code;
    }
    if (cur->project->status == TAM_E_project_status_cancelled) {
        s_err(err, TAM_ESTATE, "project", "project '%s' is cancelled: its ledger takes no entries",
              e->project);
    } else if (cur->project->status == TAM_E_project_status_closed &&
               e->kind != TAM_E_ledger_kind_adjustment) {
        s_err(err, TAM_ESTATE, "project",
              "project '%s' is closed: only adjustments (e.g. a refund) may be added", e->project);
    }
    if (cur->revision >= TAM_REGISTRY_REV_MAX)
        s_err(err, TAM_ERANGE, "project", "project '%s' has reached %d revisions", e->project,
              TAM_REGISTRY_REV_MAX);
    if (err->code)
        return err->code;
    /* Amounts and totals are within ±1e12, so these sums cannot overflow. */
    if (e->kind == TAM_E_ledger_kind_pledge) {
        if (cur->pledged + e->amount > TAM_REGISTRY_USD_MAX)
            s_err(err, TAM_ERANGE, "amount", "pledges would total more than %lld USD",
                  (long long)TAM_REGISTRY_USD_MAX);
    } else {
        int64_t r = cur->received + e->amount;
        if (r < 0)
            s_err(err, TAM_ECONFLICT, "amount",
                  "would bring received funds of '%s' from %lld to %lld: they cannot go below 0",
                  e->project, (long long)cur->received, (long long)r);
        else if (r > TAM_REGISTRY_USD_MAX)
            s_err(err, TAM_ERANGE, "amount", "received funds would exceed %lld USD",
                  (long long)TAM_REGISTRY_USD_MAX);
    }
    return err->code;
}

int tam_registry_check_context(const tam_catalog_t *cat, const tam_context_t *c,
                               tam_rpc_error_t *err)
{
    char f[TAM_RPC_FIELD_MAX + 1];
    for (uint32_t i = 0; i < c->missions.n; i++) {
        const tam_mission_t *m = &c->missions.v[i];
        snprintf(f, sizeof f, "missions[%u].country", i);
        bool dup = !m->country; /* NULL: did not decode, named by the codec */
        for (uint32_t k = 0; k < i && !dup; k++)
            if (c->missions.v[k].country && strcmp(c->missions.v[k].country, m->country) == 0) {
                s_err(err, TAM_EINVAL, f,
                      "country '%s' has two entries (also missions[%u]): one per country",
                      m->country, k);
                dup = true;
            }
        if (!dup && !tam_catalog_country(cat, m->country))
            s_err(err, TAM_EUNKNOWN, f, "unknown country '%s' (ISO alpha-3 of a UN Member State)",
                  m->country);
        if (m->operation && s_blank(m->operation)) {
            snprintf(f, sizeof f, "missions[%u].operation", i);
            s_err(err, TAM_EINVAL, f, "must not be blank");
        }
        snprintf(f, sizeof f, "missions[%u]", i);
        s_codes(cat, &m->priorities, f, "priorities", "standard",
                " (priorities are ids of standards, e.g. A-SMR)", s_standard, err);
    }
    return err->code;
}

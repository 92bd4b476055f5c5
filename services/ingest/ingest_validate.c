/* ingest_validate.c — the checks a decoded reply must pass before anything of
 * it is stored. The codec has already enforced shape, types, lengths and
 * numeric ranges (priority 1..5, cost 1..1e9, dates 1900..2200); here come the
 * rules that need the catalogue, the config or several fields at once. Every
 * problem is reported, each with its field path, so a respondent can fix a
 * reply in one round. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "tam/error.h"

/* Collects problems; remembers an allocation failure so it is not lost. */
typedef struct {
    tam_rpc_error_t *err;
    int nomem;
    size_t count;
} s_ctx_t;

#define S_ADD(c, field, ...)                                               \
    do {                                                                   \
        (c)->count++;                                                      \
        if (tam_rpc_error_add((c)->err, (field), __VA_ARGS__) == TAM_ENOMEM) \
            (c)->nomem = 1;                                                \
    } while (0)

/* True if the codec has already named a problem at path or inside it (the
 * checks also run on a reply the codec refused, to list every problem at
 * once: a field that did not decode is left zero and must not be judged). */
static bool s_failed(const s_ctx_t *c, const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < c->err->n; i++) {
        const char *f = c->err->errors[i].field;
        if (strncmp(f, path, n) == 0 && (f[n] == 0 || f[n] == '.' || f[n] == '['))
            return true;
    }
    return false;
}

/* The same for list[i].field. */
static bool s_failed_at(const s_ctx_t *c, const char *list, uint32_t i, const char *field)
{
    if (!c->err->n)
        return false; /* the usual case: the reply decoded */
    char path[96];
    snprintf(path, sizeof path, "%s[%u].%s", list, i, field);
    return s_failed(c, path);
}

/* Where a problem is: list[i].field, formatted only when there is one (a
 * valid reply costs no string formatting). */
typedef struct {
    const char *list;
    uint32_t i;
    const char *field;
} s_at_t;

static void s_addp(s_ctx_t *c, s_at_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_addp(s_ctx_t *c, s_at_t at, const char *fmt, ...)
{
    char path[96], msg[TAM_RPC_MESSAGE_MAX + 1];
    snprintf(path, sizeof path, "%s[%u].%s", at.list, at.i, at.field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    S_ADD(c, path, "%s", msg);
}

bool tam_ingest_org_id_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 2 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

bool tam_ingest_may_submit(const tam_principal_t *p, const char *respondent)
{
    if (!p || !respondent)
        return false;
    if (tam_principal_may(p, TAM_ROLE_MANAGER | TAM_ROLE_SERVICE | TAM_ROLE_ADMIN))
        return true;
    /* A respondent key names its respondent id (tam/keys.h); the key's
     * name is not the id. */
    return tam_principal_may(p, TAM_ROLE_RESPONDENT) && p->respondent[0] &&
           strcmp(p->respondent, respondent) == 0;
}

/* Checks that standard id exists and belongs to category (0: the category
 * is unknown, check existence only); adds a problem at path otherwise.
 * Returns the standard or NULL. */
static const tam_standard_t *s_standard(s_ctx_t *c, const tam_catalog_t *cat, const char *id,
                                        char category, s_at_t at)
{
    if (!id)
        return NULL; /* did not decode: the codec has said why */
    const tam_standard_t *st = tam_catalog_standard(cat, id);
    if (!st) {
        s_addp(c, at, "unknown standard '%s' (see the catalogue's standards.csv)", id);
        return NULL;
    }
    if (category && st->category != category) {
        s_addp(c, at, "standard %s belongs to category %c, not to this instrument's category %c",
               id, st->category, category);
        return NULL;
    }
    return st;
}

static void s_text(s_ctx_t *c, const tam_ingest_limits_t *lim, const char *text, s_at_t at)
{
    size_t n = text ? strlen(text) : 0;
    if (n > lim->max_text)
        s_addp(c, at, "text of %zu bytes is longer than the %zu allowed", n, lim->max_text);
}

static void s_findings(s_ctx_t *c, const tam_catalog_t *cat, const tam_ingest_limits_t *lim,
                       const char *name, const tam_finding_t *v, uint32_t n, char category)
{
    for (uint32_t i = 0; i < n; i++) {
        s_standard(c, cat, v[i].standard, category, (s_at_t){name, i, "standard"});
        s_text(c, lim, v[i].text, (s_at_t){name, i, "text"});
    }
}

/* The answer given for standard id, or NULL; *at its index. */
static const tam_answer_in_t *s_answer_of(const tam_reply_t *r, const char *id, uint32_t *at)
{
    for (uint32_t j = 0; j < r->answers.n; j++)
        if (r->answers.v[j].standard && strcmp(r->answers.v[j].standard, id) == 0) {
            *at = j;
            return &r->answers.v[j];
        }
    return NULL;
}

static void s_respondent(s_ctx_t *c, const tam_catalog_t *cat, const tam_respondent_t *who)
{
    if (!who || !who->id || (c->err->n && s_failed(c, "respondent.type")))
        return; /* what did not decode, the codec has named */
    if (who->type == TAM_E_respondent_type_member_state) {
        if (!tam_catalog_country(cat, who->id))
            S_ADD(c, "respondent.id",
                  "'%s' is not the ISO 3166-1 alpha-3 code of a UN Member State in the catalogue",
                  who->id);
        return;
    }
    if (!tam_ingest_org_id_valid(who->id))
        S_ADD(c, "respondent.id",
              "an organisation's id is 2 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'");
    else if (tam_catalog_country(cat, who->id))
        S_ADD(c, "respondent.id",
              "'%s' is a Member State's code: a State answers with type member_state", who->id);
}

static void s_answers(s_ctx_t *c, const tam_catalog_t *cat, const tam_reply_t *r, char category)
{
    for (uint32_t i = 0; i < r->answers.n; i++) {
        s_at_t at = {"answers", i, "standard"};
        if (!s_standard(c, cat, r->answers.v[i].standard, category, at))
            continue;
        for (uint32_t j = 0; j < i; j++)
            if (r->answers.v[j].standard &&
                strcmp(r->answers.v[j].standard, r->answers.v[i].standard) == 0) {
                s_addp(c, at, "standard %s is already answered in answers[%u]",
                       r->answers.v[i].standard, j);
                break;
            }
    }
}

static void s_needs(s_ctx_t *c, const tam_catalog_t *cat, const tam_ingest_limits_t *lim,
                    const tam_reply_t *r, char category, uint32_t date)
{
    char d[11];
    /* Whether a State answers: known only if the respondent decoded. */
    bool state = r->respondent && r->respondent->id &&
                 r->respondent->type == TAM_E_respondent_type_member_state &&
                 !(c->err->n && s_failed(c, "respondent.type"));
    if (r->needs.n > lim->max_needs)
        S_ADD(c, "needs", "%u needs; a reply may declare at most %zu", r->needs.n, lim->max_needs);
    for (uint32_t i = 0; i < r->needs.n; i++) {
        const tam_need_in_t *n = &r->needs.v[i];
        s_at_t at = {"needs", i, "country"};
        if (!n->country)
            ; /* did not decode: the codec has said why */
        else if (!tam_catalog_country(cat, n->country))
            s_addp(c, at, "'%s' is not the ISO 3166-1 alpha-3 code of a UN Member State",
                   n->country);
        else if (state && strcmp(n->country, r->respondent->id) != 0)
            s_addp(c, at, "a Member State declares needs for itself (%s), not for %s",
                   r->respondent->id, n->country);
        at.field = "standard";
        if (s_standard(c, cat, n->standard, category, at)) {
            uint32_t j = 0;
            const tam_answer_in_t *ans = s_answer_of(r, n->standard, &j);
            if (!ans)
                s_addp(c, at, "standard %s has no entry in answers[]; a need requires state need",
                       n->standard);
            else if (ans->state != TAM_E_answer_state_need &&
                     !s_failed_at(c, "answers", j, "state"))
                s_addp(c, at, "answers[%u] gives state %s for standard %s; a need requires state need",
                       j, tam_enum_answer_state.values[ans->state], n->standard);
        }
        at.field = "modality";
        if (n->modality && !tam_catalog_modality(cat, n->modality))
            s_addp(c, at, "unknown modality '%s' (see the catalogue's modalities.csv)", n->modality);
        at.field = "end";
        if (!n->start || !n->end)
            ; /* a date that did not decode (no valid date is 0) */
        else if (n->end < n->start)
            s_addp(c, at, "the window ends before it starts");
        else if (n->end < date) {
            tam_date_format(date, d);
            s_addp(c, at, "the window ends before the reply's date %s", d);
        }
        at.field = "text";
        s_text(c, lim, n->text, at);
    }
}

/* True if s is a valid need ref: 1..64 of [A-Za-z0-9._:/-]. */
static bool s_ref_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == ':' || ch == '/'))
            return false;
    }
    return true;
}

/* Each need has one identity in a reply: its ref (with its country), or
 * country, standard and modality when it has none. Two needs with the same
 * identity are refused, naming both. */
static void s_identities(s_ctx_t *c, const tam_reply_t *r)
{
    for (uint32_t i = 0; i < r->needs.n; i++) {
        const tam_need_in_t *n = &r->needs.v[i];
        if (!n->country || !n->standard || !n->modality || s_failed_at(c, "needs", i, "ref"))
            continue; /* its identity did not decode: the codec has said why */
        if (n->ref && !s_ref_valid(n->ref)) {
            s_addp(c, (s_at_t){"needs", i, "ref"},
                   "a ref is 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-', ':' and '/'");
            continue;
        }
        for (uint32_t j = 0; j < i; j++) {
            const tam_need_in_t *m = &r->needs.v[j];
            if (!m->country || !m->standard || !m->modality || s_failed_at(c, "needs", j, "ref"))
                continue;
            if (n->ref && m->ref && strcmp(n->ref, m->ref) == 0) {
                s_addp(c, (s_at_t){"needs", i, "ref"},
                       "needs[%u] and needs[%u] have the same ref '%s'; a ref names one need of "
                       "the reply",
                       j, i, n->ref);
                break;
            }
            if (!n->ref && !m->ref && strcmp(n->country, m->country) == 0 &&
                strcmp(n->standard, m->standard) == 0 && strcmp(n->modality, m->modality) == 0) {
                char path[48];
                snprintf(path, sizeof path, "needs[%u]", i);
                S_ADD(c, path,
                      "needs[%u] and needs[%u] are the same need (%s, %s, %s): declare it once, "
                      "or give each a distinct ref",
                      j, i, n->country, n->standard, n->modality);
                break;
            }
        }
    }
}

static void s_offers(s_ctx_t *c, const tam_catalog_t *cat, const tam_ingest_limits_t *lim,
                     const tam_reply_t *r, char category)
{
    for (uint32_t i = 0; i < r->offers.n; i++) {
        const tam_offer_t *o = &r->offers.v[i];
        s_standard(c, cat, o->standard, category, (s_at_t){"offers", i, "standard"});
        if (o->modality && !tam_catalog_modality(cat, o->modality))
            s_addp(c, (s_at_t){"offers", i, "modality"},
                   "unknown modality '%s' (see the catalogue's modalities.csv)", o->modality);
        s_text(c, lim, o->text, (s_at_t){"offers", i, "text"});
    }
}

int tam_ingest_validate(const tam_catalog_t *cat, const tam_ingest_limits_t *lim,
                        const tam_reply_t *r, uint32_t today, tam_rpc_error_t *err)
{
    /* A reply the codec refused (err already lists its problems) is checked
     * on what decoded; otherwise respondent and instrument must be there. */
    if (!cat || !lim || !r || !err || (!err->n && (!r->respondent || !r->instrument)))
        return TAM_EINVAL;
    bool refused = err->n > 0;
    s_ctx_t c = {err, 0, 0};
    s_respondent(&c, cat, r->respondent);

    const char *cs = r->instrument ? r->instrument->category : NULL;
    char category = cs ? cs[0] : 0;
    bool cat_ok = category && !cs[1] && tam_catalog_category(cat, category);
    if (!cat_ok && (!refused || (cs && !s_failed(&c, "instrument.category"))))
        S_ADD(&c, "instrument.category", "unknown category '%s' (A, B, C or D)",
              r->instrument->category ? r->instrument->category : "");

    uint32_t date = r->submitted ? r->submitted : today;
    if (r->submitted && tam_date_days(r->submitted) > tam_date_days(today) + 1) {
        char d[11];
        tam_date_format(today, d);
        S_ADD(&c, "submitted", "the reply is dated after today (%s)", d);
    }
    size_t nlen = r->respondent && r->respondent->name ? strlen(r->respondent->name) : 0;
    if (nlen > lim->max_text)
        S_ADD(&c, "respondent.name", "text of %zu bytes is longer than the %zu allowed", nlen,
              lim->max_text);

    /* With an unknown category, standards are only checked to exist. */
    if (!cat_ok)
        category = 0;
    s_answers(&c, cat, r, category);
    s_needs(&c, cat, lim, r, category, date);
    s_identities(&c, r);
    s_findings(&c, cat, lim, "difficulties", r->difficulties.v, r->difficulties.n, category);
    s_findings(&c, cat, lim, "assistance", r->assistance.v, r->assistance.n, category);
    s_findings(&c, cat, lim, "practices", r->practices.v, r->practices.n, category);
    s_offers(&c, cat, lim, r, category);
    if (c.nomem)
        return TAM_ENOMEM;
    if (c.count || refused) {
        if (!refused)
            err->code = TAM_EINVAL;
        return TAM_EINVAL; /* a refused reply keeps the codec's code */
    }
    return 0;
}

/* iati_donors.c — for `tamctl project import --iati` (iati_import.c): the
 * XML helpers, funding organisations as donors (matched or created), their
 * shares, and tamatch's own extension (docs/iati.md). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "iati_imp.h"
#include "registry.h"

void iati_problem(iati_imp_t *x, xmlNodePtr n, const char *fmt, ...)
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

char *iati_dup(tam_arena_t *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tam_arena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

bool iati_is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, name) == 0;
}

/* An element of tamatch's extension namespace. */
bool iati_is_tm(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, IATI_TM_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* An attribute's value (in the arena), or NULL. */
char *iati_attr(iati_imp_t *x, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *s = iati_dup(x->a, (const char *)v);
    xmlFree(v);
    return s;
}

xmlNodePtr iati_child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (iati_is(c, name))
            return c;
    return NULL;
}

/* The text of n's first narrative (or of n itself), trimmed, in the arena. */
char *iati_text(iati_imp_t *x, xmlNodePtr n)
{
    xmlNodePtr nar = iati_child(n, "narrative");
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

bool iati_id_ok(const char *s)
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

void iati_add_str(iati_imp_t *x, tam_strs_t *l, const char *s)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return;
    char **v = tam_arena_alloc(x->a, (l->n + 1) * sizeof *v);
    if (!v)
        return;
    if (l->n)
        memcpy(v, l->v, l->n * sizeof *v);
    v[l->n++] = iati_dup(x->a, s);
    l->v = v;
}

/* Elements of an activity that tamatch does not take and that change
 * nothing it stores (docs/iati.md): passed over. Anything else unknown is
 * refused. */
/* ---- donors ------------------------------------------------------------------------------ */

const char *iati_resolve_donor(iati_imp_t *x, iati_funder_t *f)
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
        iati_problem(x, f->node, "a funding organisation without @ref must have the name of a donor "
                              "(%s is none)", f->name ? f->name : "no name");
        return NULL;
    }
    const char *id = f->tm_donor ? f->tm_donor : f->ref;
    if (!iati_id_ok(id)) {
        iati_problem(x, f->node, "%s matches no donor and cannot be a new donor's id "
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
        iati_problem(x, f->node, "%s matches no donor; a new donor needs @type 10, 11, 15 "
                              "(government), 40 (multilateral), 60 (foundation) or 70, 71 "
                              "(private) and a name (narrative)", id);
        return NULL;
    }
    tam_donor_t d = {.id = (char *)id, .name = (char *)f->name, .kind = kinds[k].kind,
                     .iati_id = f->ref && *f->ref ? (char *)f->ref : NULL};
    tam_rpc_error_t e = {0}; /* the registry's own check, before anything is sent */
    if (tam_registry_check_donor(&d, &e)) {
        for (size_t i = 0; i < e.n; i++)
            iati_problem(x, f->node, "the registry would refuse the new donor %s: %s: %s", id,
                         e.errors[i].field, e.errors[i].message);
        if (e.n == 0)
            iati_problem(x, f->node, "the registry would refuse the new donor %s: %s: %s", id,
                         e.field, e.message);
        tam_rpc_error_clear(&e);
        return NULL;
    }
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
void iati_shares(iati_imp_t *x, iati_funder_t *fv, int nf, tam_project_t *p, xmlNodePtr act)
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
        iati_problem(x, act, "%d funding organisations, but no incoming funds or commitments "
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
            iati_problem(x, fv[i].node, "its share of the funding is below 1%%");
}

/* ---- tamatch's extension ---------------------------------------------------------------- */

/* A space-separated list attribute into l. */
static void s_list(iati_imp_t *x, xmlNodePtr n, const char *name, tam_strs_t *l)
{
    char *v = iati_attr(x, n, name);
    l->n = 0;
    for (char *save = NULL, *tok = v ? strtok_r(v, " ", &save) : NULL; tok;
         tok = strtok_r(NULL, " ", &save))
        iati_add_str(x, l, tok);
}

/* tm:project: the donors' shares (each must be a funding participating-org)
 * and the earmarks IATI has no element for. */
void iati_extension(iati_imp_t *x, xmlNodePtr ext, iati_funder_t *fv, int nf, tam_project_t *p)
{
    uint32_t n = 0;
    for (xmlNodePtr c = ext->children; c; c = c->next)
        n += iati_is_tm(c, "share");
    p->donors.v = tam_arena_alloc(x->a, (n ? n : 1) * sizeof *p->donors.v);
    if (!p->donors.v)
        return;
    p->donors.n = 0;
    tam_earmarks_t *em = p->earmarks;
    for (xmlNodePtr c = ext->children; c; c = c->next) {
        if (iati_is_tm(c, "share")) {
            char *d = iati_attr(x, c, "donor"), *pc = iati_attr(x, c, "percent");
            int k = 0;
            while (k < nf && !(d && fv[k].donor && strcmp(fv[k].donor, d) == 0))
                k++;
            if (k == nf || !pc || atoi(pc) < 1 || atoi(pc) > 100) {
                iati_problem(x, c, "@donor %s is not a funding participating-org, or @percent is "
                                "not 1 to 100", d ? d : "(missing)");
                continue;
            }
            p->donors.v[p->donors.n].donor = (char *)fv[k].donor;
            p->donors.v[p->donors.n++].percent = atoi(pc);
        } else if (iati_is_tm(c, "earmarks")) {
            s_list(x, c, "groups", &em->groups);
            s_list(x, c, "categories", &em->categories);
            s_list(x, c, "standards", &em->standards);
            s_list(x, c, "modalities", &em->modalities);
            char *v = iati_attr(x, c, "post-conflict-only");
            em->post_conflict_only = v && strcmp(v, "true") == 0;
            v = iati_attr(x, c, "max-per-need");
            em->max_per_need = v ? atoll(v) : 0;
        } else if (c->type == XML_ELEMENT_NODE) {
            iati_problem(x, c, "element %s is not mapped by tamatch", (const char *)c->name);
        }
    }
    if (p->donors.n == 0)
        iati_problem(x, ext, "no tm:share: the donors' shares are unknown");
}

/* access.c — the role matrix (see tam/access.h): the one table of who may
 * send what and read which feed, and the one check. */
#include <string.h>
#include "tam/access.h"
#include "tam/error.h"

#define R TAM_ROLE_RESPONDENT
#define M TAM_ROLE_MANAGER
#define D TAM_ROLE_DONOR_LIAISON
#define P TAM_ROLE_PLANNER
#define V TAM_ROLE_VIEWER
#define S TAM_ROLE_SERVICE
#define A TAM_ROLE_ADMIN
#define G TAM_ROLE_GATEWAY /* its own requests; on behalf of a person, that person's roles count */
#define READERS (M | D | P | V | S) /* everyone who reads the system's state */
#define ANYONE (R | READERS)

static const tam_access_rule_t s_rules[] = {
    {"sys.ping", ANYONE | G, "liveness"},
    {"service.stats", ANYONE, "counters of the service loop"},
    {"catalog.get", ANYONE | G, "the catalogue of codes, from every service"},
    {"ingest.submit", R | M | S, "a respondent only for its own respondent id (field respondent.id)"},
    {"ingest.needs", READERS, NULL},
    {"ingest.replies", R | READERS, "a respondent sees its own replies only"},
    {"ingest.reply_get", R | READERS, "a respondent sees its own replies only"},
    {"registry.donor_put", D, NULL},
    {"registry.donors", READERS, NULL},
    {"registry.donor_get", READERS, NULL},
    {"registry.project_add", D, NULL},
    {"registry.project_update", D, NULL},
    {"registry.project_close", D, NULL},
    {"registry.projects", READERS, NULL},
    {"registry.project_get", READERS, NULL},
    {"registry.ledger_add", D, NULL},
    {"registry.ledger", READERS, NULL},
    {"registry.context_set", P, NULL},
    {"registry.context_get", READERS, NULL},
    {"match.proposals", READERS, NULL},
    {"match.explain", READERS, NULL},
    {"match.gaps", READERS, NULL},
    {"match.run", READERS, NULL},
    {"match.export_lp", READERS, NULL},
    {"match.whatif", M | D | P, "evaluated on a copy: stores and publishes nothing; costs a solve, so not for viewers"},
    {"match.advise", M | D, "donor liaison's advice (one solve per relaxation); managers see it too"},
    {"pipeline.act", M | D, "the act decides, rows below"},
    {"pipeline.act/endorse", M, NULL},
    {"pipeline.act/decline", M, NULL},
    {"pipeline.act/withdraw", M, NULL},
    {"pipeline.act/deliver", M, NULL},
    {"pipeline.act/commit", D, NULL},
    {"pipeline.act/acknowledge", M, "clears a flag (need_withdrawn) on a decision"},
    {"pipeline.act/reduce", M, "tam-pipeline's own act (audit log only): refused as a request"},
    {"pipeline.act/flag", M, "tam-pipeline's own act (audit log only): refused as a request"},
    {"pipeline.history", READERS, NULL},
    {"pipeline.audit", READERS, NULL},
    {"pipeline.decisions", READERS, NULL},
    {"pipeline.report", READERS, NULL},
    {"pipeline.money", READERS, "projects' money for project show and project list"},
};

static const tam_access_feed_t s_feeds[] = {
    {"ingest", "needs", READERS},
    {"registry", "donors, projects, ledger totals, planning context", READERS},
    {"pipeline", "decisions", READERS},
    {"match", "proposals", READERS | G},
};

#define S_NRULES (sizeof s_rules / sizeof s_rules[0])
#define S_NFEEDS (sizeof s_feeds / sizeof s_feeds[0])

const tam_access_rule_t *tam_access_rules(size_t *n)
{
    *n = S_NRULES;
    return s_rules;
}

const tam_access_feed_t *tam_access_feeds(size_t *n)
{
    *n = S_NFEEDS;
    return s_feeds;
}

static uint32_t s_roles(const char *type, const char *sub)
{
    size_t tl = strlen(type);
    for (size_t i = 0; i < S_NRULES; i++) {
        const char *t = s_rules[i].type;
        if (strncmp(t, type, tl) != 0)
            continue;
        if (!sub && t[tl] == 0)
            return s_rules[i].roles;
        if (sub && t[tl] == '/' && strcmp(t + tl + 1, sub) == 0)
            return s_rules[i].roles;
    }
    return 0;
}

uint32_t tam_access_roles(const char *type)
{
    if (!type)
        return 0;
    const char *slash = strchr(type, '/');
    if (!slash)
        return s_roles(type, NULL);
    char t[TAM_RPC_TYPE_MAX + 1];
    size_t n = (size_t)(slash - type);
    if (n >= sizeof t)
        return 0;
    memcpy(t, type, n);
    t[n] = 0;
    return s_roles(t, slash + 1);
}

int tam_access_check(const tam_principal_t *p, const char *type, const char *sub,
                     const char *field, tam_rpc_error_t *err)
{
    uint32_t need = type ? s_roles(type, sub) : 0;
    if (p && need && tam_principal_may(p, need))
        return 0;
    if (p && (p->roles & TAM_ROLE_ADMIN))
        return 0; /* admin implies every role, also for types without a row */
    if (err) {
        char have[TAM_ROLE_NAMES_MAX], want[TAM_ROLE_NAMES_MAX];
        tam_roles_format(p ? p->roles : 0, have);
        tam_roles_format(need | TAM_ROLE_ADMIN, want);
        tam_rpc_error_set(err, TAM_EDENIED, field, "principal '%s' (role %s) may not send %s%s%s: it needs the role %s",
                          p ? p->id : "?", have[0] ? have : "none", type ? type : "?",
                          sub ? " " : "", sub ? sub : "", want);
    }
    return TAM_EDENIED;
}

bool tam_access_may_read_feed(const char *service, uint32_t roles)
{
    uint32_t need = S | A;
    for (size_t i = 0; service && i < S_NFEEDS; i++)
        if (strcmp(s_feeds[i].service, service) == 0)
            need = s_feeds[i].roles;
    return (roles & A) || (roles & need);
}

static void s_cells(FILE *f, uint32_t roles)
{
    static const uint32_t cols[] = {R, M, D, P, V, S, G, A};
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
        fprintf(f, " %s |", (roles & cols[c]) || cols[c] == A ? "yes" : "-");
}

void tam_access_write_markdown(FILE *f)
{
    static const char *head =
        "| respondent | manager | donor_liaison | planner | viewer | service | gateway | admin |";
    fprintf(f, "| message type %s checked besides |\n|---|---|---|---|---|---|---|---|---|---|\n", head);
    for (size_t i = 0; i < S_NRULES; i++) {
        fprintf(f, "| `%s` |", s_rules[i].type);
        s_cells(f, s_rules[i].roles);
        fprintf(f, " %s |\n", s_rules[i].note ? s_rules[i].note : "");
    }
    fprintf(f, "\n| feed of %s carries |\n|---|---|---|---|---|---|---|---|---|---|\n", head);
    for (size_t i = 0; i < S_NFEEDS; i++) {
        fprintf(f, "| %s |", s_feeds[i].service);
        s_cells(f, s_feeds[i].roles);
        fprintf(f, " %s |\n", s_feeds[i].feed);
    }
}

/* pipeline_state.c — the decision state machine and who may take each act.
 * Pure functions: the one table of allowed transitions, the text that says
 * why one is refused, and the role each act needs. docs/pipeline.md draws it. */
#include <stdio.h>
#include <string.h>
#include "tam/error.h"
#include "pipeline.h"
#include "tam/access.h"

#define S_NONE TAM_E_decision_state__COUNT /* "not allowed" in the table */

/* to = s_next[from][act]; S_NONE where the act is refused. */
static const tam_decision_state_t s_next[TAM_E_decision_state__COUNT][TAM_E_decision_act__COUNT] = {
    [TAM_E_decision_state_none] = {
        [TAM_E_decision_act_endorse] = TAM_E_decision_state_endorsed,
        [TAM_E_decision_act_decline] = TAM_E_decision_state_declined,
        [TAM_E_decision_act_commit] = S_NONE,
        [TAM_E_decision_act_deliver] = S_NONE,
        [TAM_E_decision_act_withdraw] = S_NONE,
        [TAM_E_decision_act_acknowledge] = S_NONE,
        [TAM_E_decision_act_reduce] = S_NONE,
        [TAM_E_decision_act_flag] = S_NONE},
    [TAM_E_decision_state_endorsed] = {
        [TAM_E_decision_act_endorse] = S_NONE,
        [TAM_E_decision_act_decline] = S_NONE,
        [TAM_E_decision_act_commit] = TAM_E_decision_state_committed,
        [TAM_E_decision_act_deliver] = S_NONE,
        [TAM_E_decision_act_withdraw] = TAM_E_decision_state_withdrawn,
        [TAM_E_decision_act_acknowledge] = TAM_E_decision_state_endorsed,
        [TAM_E_decision_act_reduce] = S_NONE,
        [TAM_E_decision_act_flag] = S_NONE},
    [TAM_E_decision_state_declined] = {
        [TAM_E_decision_act_endorse] = S_NONE,
        [TAM_E_decision_act_decline] = S_NONE,
        [TAM_E_decision_act_commit] = S_NONE,
        [TAM_E_decision_act_deliver] = S_NONE,
        [TAM_E_decision_act_withdraw] = S_NONE,
        [TAM_E_decision_act_acknowledge] = S_NONE,
        [TAM_E_decision_act_reduce] = S_NONE,
        [TAM_E_decision_act_flag] = S_NONE},
    [TAM_E_decision_state_committed] = {
        [TAM_E_decision_act_endorse] = S_NONE,
        [TAM_E_decision_act_decline] = S_NONE,
        [TAM_E_decision_act_commit] = S_NONE,
        [TAM_E_decision_act_deliver] = TAM_E_decision_state_delivered,
        [TAM_E_decision_act_withdraw] = S_NONE,
        [TAM_E_decision_act_acknowledge] = TAM_E_decision_state_committed,
        [TAM_E_decision_act_reduce] = S_NONE,
        [TAM_E_decision_act_flag] = S_NONE},
    [TAM_E_decision_state_delivered] = {
        [TAM_E_decision_act_endorse] = S_NONE,
        [TAM_E_decision_act_decline] = S_NONE,
        [TAM_E_decision_act_commit] = S_NONE,
        [TAM_E_decision_act_deliver] = S_NONE,
        [TAM_E_decision_act_withdraw] = S_NONE,
        [TAM_E_decision_act_acknowledge] = TAM_E_decision_state_delivered,
        [TAM_E_decision_act_reduce] = S_NONE,
        [TAM_E_decision_act_flag] = S_NONE},
    [TAM_E_decision_state_withdrawn] = {
        [TAM_E_decision_act_endorse] = TAM_E_decision_state_endorsed,
        [TAM_E_decision_act_decline] = TAM_E_decision_state_declined,
        [TAM_E_decision_act_commit] = S_NONE,
        [TAM_E_decision_act_deliver] = S_NONE,
        [TAM_E_decision_act_withdraw] = S_NONE,
        [TAM_E_decision_act_acknowledge] = TAM_E_decision_state_withdrawn,
        [TAM_E_decision_act_reduce] = S_NONE,
        [TAM_E_decision_act_flag] = S_NONE},
};

int tam_pipeline_transition(tam_decision_state_t from, tam_decision_act_t act,
                            tam_decision_state_t *to)
{
    if ((unsigned)from >= TAM_E_decision_state__COUNT || (unsigned)act >= TAM_E_decision_act__COUNT)
        return TAM_EINVAL;
    tam_decision_state_t n = s_next[from][act];
    if (n == S_NONE)
        return TAM_ESTATE;
    if (to)
        *to = n;
    return 0;
}

const char *tam_pipeline_refusal(tam_decision_state_t from, tam_decision_act_t act)
{
    if (act == TAM_E_decision_act_reduce || act == TAM_E_decision_act_flag)
        return "reduce and flag are tam-pipeline's own acts, recorded in the audit log; they "
               "cannot be requested";
    if (act == TAM_E_decision_act_acknowledge)
        return "only a flagged decision can be acknowledged (tamctl decisions --attention lists "
               "them)";
    if (from == TAM_E_decision_state_declined)
        return "declined is final: the pair is never proposed again";
    if (from == TAM_E_decision_state_delivered)
        return "delivered is final";
    switch (act) {
    case TAM_E_decision_act_endorse:
        return from == TAM_E_decision_state_endorsed
                   ? "it is already endorsed"
                   : "only a proposal with no decision or a withdrawn endorsement can be endorsed";
    case TAM_E_decision_act_decline:
        return from == TAM_E_decision_state_endorsed
                   ? "withdraw the endorsement first, then decline"
                   : "committed funds cannot be declined";
    case TAM_E_decision_act_commit:
        return from == TAM_E_decision_state_committed
                   ? "it is already committed"
                   : "commit needs an endorsed proposal: a programme manager endorses it first";
    case TAM_E_decision_act_deliver:
        return "only committed funds can be marked delivered";
    case TAM_E_decision_act_withdraw:
        return from == TAM_E_decision_state_committed
                   ? "committed funds cannot be withdrawn"
                   : "only an endorsement can be withdrawn";
    default:
        return "unknown act";
    }
}

uint32_t tam_pipeline_act_role(tam_decision_act_t act, const char **name)
{
    if (act == TAM_E_decision_act_commit) {
        if (name)
            *name = "donor_liaison";
        return TAM_ROLE_DONOR_LIAISON;
    }
    if (name)
        *name = "manager";
    return TAM_ROLE_MANAGER;
}

int tam_pipeline_authorize(const tam_principal_t *who, const char *type, const void *body,
                           size_t len, tam_arena_t *a, tam_rpc_error_t *err)
{
    const tam_message_t *m = tam_message_find(type);
    if (!m || m->id != TAM_MSG_pipeline_act)
        return 0;
    /* Which act, and so which row of the role matrix (tam/access.h):
     * "pipeline.act/commit" and so on; a body that does not decode is held
     * to the pipeline.act row and refused later by the handler. */
    const char *sub = NULL;
    tam_act_t act;
    tam_codec_err_t ce;
    memset(&act, 0, sizeof act);
    tam_arena_reset(a);
    if (tam_decode(&tam_schema_act, body, len, a, &act, &ce) == 0)
        sub = tam_enum_decision_act.values[act.act];
    return tam_access_check(who, "pipeline.act", sub, "act", err);
}

static bool s_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

int tam_pipeline_proposal_parse(const char *s, uint64_t *need,
                                char project[TAM_PIPELINE_ID_MAX + 1])
{
    if (!s || s[0] < '1' || s[0] > '9')
        return TAM_EINVAL;
    uint64_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (UINT64_MAX - 9) / 10)
            return TAM_EINVAL;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (*p != '/')
        return TAM_EINVAL;
    p++;
    size_t len = strlen(p);
    if (len < 2 || len > TAM_PIPELINE_ID_MAX)
        return TAM_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!s_id_char(p[i]))
            return TAM_EINVAL;
    if (need)
        *need = n;
    if (project)
        memcpy(project, p, len + 1);
    return 0;
}

int tam_pipeline_topic(const char *country, const char *category, char out[16])
{
    if (!country || !category || strlen(country) != 3 || strlen(category) != 1)
        return TAM_EINVAL;
    snprintf(out, 16, "decision/%s/%s", country, category);
    return 0;
}

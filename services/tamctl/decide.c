/* decide.c — `tamctl endorse|decline|commit|deliver|withdraw PROPOSAL`,
 * `tamctl history [PROPOSAL]` and `tamctl decisions`: acts on proposals and
 * their audit trail (tam-pipeline). An act names the match run it was taken
 * on: --run if given, else the current run of tam-match; if tam-match does
 * not answer, tam-pipeline records the latest run it has seen. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "out.h"
#include "tamctl.h"

/* Parses a whole-dollar amount: digits, optionally grouped with ',' or '_'. */
static int s_amount(const char *s, int64_t *out)
{
    int64_t v = 0;
    int digits = 0;
    for (const char *p = s; *p; p++) {
        if ((*p == ',' || *p == '_') && digits)
            continue;
        if (*p < '0' || *p > '9' || v > (1000000000000LL - (*p - '0')) / 10) {
            fprintf(stderr, "tamctl: --amount must be whole US dollars from 1 to "
                            "1,000,000,000,000, not '%s'\n", s);
            return EX_USAGE;
        }
        v = v * 10 + (*p - '0');
        digits++;
    }
    if (!digits || v < 1) {
        fprintf(stderr, "tamctl: --amount must be at least 1, not '%s'\n", s);
        return EX_USAGE;
    }
    *out = v;
    return 0;
}

static const char *s_usage(tam_decision_act_t act)
{
    switch (act) {
    case TAM_E_decision_act_endorse:
        return "usage: tamctl endorse PROPOSAL [--amount N] --reason TEXT [--run N]\n";
    case TAM_E_decision_act_commit:
        return "usage: tamctl commit PROPOSAL [--amount N] --reason TEXT [--run N]\n";
    case TAM_E_decision_act_decline: return "usage: tamctl decline PROPOSAL --reason TEXT [--run N]\n";
    case TAM_E_decision_act_deliver: return "usage: tamctl deliver PROPOSAL --reason TEXT [--run N]\n";
    case TAM_E_decision_act_acknowledge:
        return "usage: tamctl acknowledge PROPOSAL --reason TEXT [--run N]\n";
    default: return "usage: tamctl withdraw PROPOSAL --reason TEXT [--run N]\n";
    }
}

static int s_act(tamctl_t *t, int argc, char **argv, tam_decision_act_t what)
{
    static const struct option opts[] = {{"amount", required_argument, NULL, 'a'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"run", required_argument, NULL, 'R'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    tam_act_t act = {.act = what};
    bool amounts = what == TAM_E_decision_act_endorse || what == TAM_E_decision_act_commit;
    int c, ex;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (!amounts) {
                fprintf(stderr, "tamctl: --amount goes only with endorse and commit\n");
                return EX_USAGE;
            }
            if ((ex = s_amount(optarg, &act.amount)))
                return ex;
            break;
        case 'r': act.reason = optarg; break;
        case 'R':
            if ((ex = tamctl_parse_u64("--run", optarg, &act.run)))
                return ex;
            break;
        case 'j': t->json = true; break;
        default: fputs(s_usage(what), stderr); return EX_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fputs(s_usage(what), stderr);
        return EX_USAGE;
    }
    if (!act.reason || !act.reason[0]) {
        fprintf(stderr, "tamctl: --reason is required: say why (it is recorded in the audit log)\n");
        return EX_USAGE;
    }
    act.proposal = argv[optind];
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    if (act.run && what == TAM_E_decision_act_endorse) {
        /* --run N: refused unless N is tam-match's current run (tam-pipeline
         * checks it too, against the latest run its feed brought). One quick
         * try: a matcher that is down leaves the check to tam-pipeline. */
        tam_ping_t ping = {.note = "act"};
        tam_run_t run;
        int retries = (int)t->cfg.common.request_retries;
        t->cfg.common.request_retries = 0;
        int rc = tamctl_call_quiet(t, "match", TAM_MSG_match_run, &ping, a, &run);
        t->cfg.common.request_retries = retries;
        if (rc == 0 && run.run > act.run) {
            fprintf(stderr,
                    "tamctl:run: run %llu is not the current run: the current run is %llu "
                    "(inputs %.12s); look at its proposals (tamctl proposals) and endorse on it\n",
                    (unsigned long long)act.run, (unsigned long long)run.run,
                    run.hash ? run.hash : "-");
            tam_arena_destroy(&a);
            return EX_DATAERR;
        }
    }
    if (act.run == 0) {
        /* The run the act is taken on: the current one of tam-match. One
         * quick try: the act must not wait for a matcher that is down. */
        tam_ping_t ping = {.note = "act"};
        tam_run_t run;
        int retries = (int)t->cfg.common.request_retries;
        t->cfg.common.request_retries = 0;
        if (tamctl_call(t, "match", TAM_MSG_match_run, &ping, a, &run, "match") == 0) {
            act.run = run.run;
            act.hash = run.hash;
        } else {
            fprintf(stderr, "tamctl: the act names the latest run tam-pipeline has seen instead\n");
        }
        t->cfg.common.request_retries = retries;
    }
    tam_act_ack_t ack;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    ex = tamctl_call_raw(t, "pipeline", TAM_MSG_pipeline_act, &act, a, &ack, NULL, &raw, &raw_len);
    if (ex == 0 && t->json) {
        tamctl_print_json(raw, raw_len);
    } else if (ex == 0 && !t->quiet) {
        char b[32];
        printf("%s: %s", ack.proposal, tam_enum_decision_state.values[ack.state]);
        if (amounts && act.amount)
            printf(" (%s USD)", tamctl_usd(act.amount, b));
        printf(", revision %lld, audit entry %llu", (long long)ack.revision,
               (unsigned long long)ack.audit);
        if (act.run)
            printf(", on match run %llu", (unsigned long long)act.run);
        printf("\n");
    }
    if (ex == 0 && ack.note && ack.note[0])
        fprintf(stderr, "tamctl: note: %s\n", ack.note);
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

static int s_endorse(tamctl_t *t, int argc, char **argv)
{
    return s_act(t, argc, argv, TAM_E_decision_act_endorse);
}
static int s_decline(tamctl_t *t, int argc, char **argv)
{
    return s_act(t, argc, argv, TAM_E_decision_act_decline);
}
static int s_commit(tamctl_t *t, int argc, char **argv)
{
    return s_act(t, argc, argv, TAM_E_decision_act_commit);
}
static int s_deliver(tamctl_t *t, int argc, char **argv)
{
    return s_act(t, argc, argv, TAM_E_decision_act_deliver);
}
static int s_withdraw(tamctl_t *t, int argc, char **argv)
{
    return s_act(t, argc, argv, TAM_E_decision_act_withdraw);
}
static int s_acknowledge(tamctl_t *t, int argc, char **argv)
{
    return s_act(t, argc, argv, TAM_E_decision_act_acknowledge);
}

/* ---- history ------------------------------------------------------------------------ */

static const char *s_when(int64_t ms, char buf[24])
{
    time_t tt = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, 24, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, 24, "-");
    return buf;
}

static const tamctl_col_t s_audit_cols[] = {
    {"seq", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"when", "when (UTC)", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"principal", "who", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"role", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"act", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"proposal", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"change", "state", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"amount", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"run", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"hash", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
    {"reason", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

typedef struct {
    const char *proposal; /* one proposal's history, or NULL: the whole log */
    uint64_t after;       /* the whole log: the next page's cursor */
} s_audit_ctx_t;

static int s_audit_page(tamctl_t *t, void *vctx, tam_arena_t *a, tamctl_out_t *o, int64_t want,
                        bool *more)
{
    s_audit_ctx_t *x = vctx;
    tam_audit_list_t l;
    uint8_t *body = NULL;
    size_t len = 0;
    int ex;
    memset(&l, 0, sizeof l);
    if (x->proposal) {
        tam_proposal_ref_t ref = {.id = (char *)x->proposal};
        ex = tamctl_call_raw(t, "pipeline", TAM_MSG_pipeline_history, &ref, a, &l, NULL, &body,
                             &len);
    } else {
        tam_audit_query_t q = {.after = x->after, .limit = want < 1000 ? want : 1000};
        ex = tamctl_call_raw(t, "pipeline", TAM_MSG_pipeline_audit, &q, a, &l, NULL, &body, &len);
    }
    json_t *recs = ex == 0 && t->json ? tamctl_json_items(body, len, "items") : NULL;
    free(body);
    if (ex)
        return ex;
    for (uint32_t i = 0; i < l.items.n; i++) {
        const tam_audit_entry_t *e = &l.items.v[i];
        char when[24], change[40];
        snprintf(change, sizeof change, "%s -> %s", tam_enum_decision_state.values[e->from],
                 tam_enum_decision_state.values[e->to]);
        tamctl_out_record(o, json_array_get(recs, i));
        tamctl_out_u64(o, e->seq);
        tamctl_out_str(o, s_when(e->at, when));
        tamctl_out_str(o, e->principal);
        tamctl_out_str(o, e->role);
        tamctl_out_str(o, tam_enum_decision_act.values[e->act]);
        tamctl_out_str(o, e->proposal);
        tamctl_out_str(o, change);
        if (e->amount)
            tamctl_out_int(o, e->amount);
        else
            tamctl_out_null(o);
        if (e->run)
            tamctl_out_u64(o, e->run);
        else
            tamctl_out_null(o);
        tamctl_out_str(o, e->hash);
        tamctl_out_str(o, e->reason);
        tamctl_out_end(o);
    }
    json_decref(recs);
    x->after = l.next;
    *more = !x->proposal && l.next != 0;
    return 0;
}

static int s_history(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'C'},
                                         {NULL, 0, NULL, 0}};
    bool csv = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j': t->json = true; break;
        case 'C': csv = true; break;
        default: return EX_USAGE;
        }
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "usage: tamctl history [PROPOSAL] [--json|--csv]\n");
        return EX_USAGE;
    }
    s_audit_ctx_t x = {.proposal = optind < argc ? argv[optind] : NULL};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), s_audit_cols);
    int ex = tamctl_out_pages(t, o, -1, s_audit_page, &x);
    return tamctl_out_done(&o, stdout, ex);
}

/* ---- decisions ----------------------------------------------------------------------- */

static const tamctl_col_t s_dec_cols[] = {
    {"proposal", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"country", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"category", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"project", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"state", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"endorsed", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"committed", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"flag", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"since", "since (UTC)", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"revision", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"run", NULL, TAMCTL_INT, TAMCTL_OUT_DATA, NULL},
    {"reason", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

typedef struct {
    tam_decision_query_t *q;
    int64_t total;
} s_dec_ctx_t;

static int s_dec_page(tamctl_t *t, void *vctx, tam_arena_t *a, tamctl_out_t *o, int64_t want,
                      bool *more)
{
    s_dec_ctx_t *x = vctx;
    tam_decision_list_t l;
    uint8_t *body = NULL;
    size_t len = 0;
    memset(&l, 0, sizeof l);
    x->q->offset = (int64_t)tamctl_out_rows(o);
    x->q->limit = want < 1000 ? want : 1000;
    int ex = tamctl_call_raw(t, "pipeline", TAM_MSG_pipeline_decisions, x->q, a, &l, NULL, &body,
                             &len);
    json_t *recs = ex == 0 && t->json ? tamctl_json_items(body, len, "items") : NULL;
    free(body);
    if (ex)
        return ex;
    x->total = l.total;
    for (uint32_t i = 0; i < l.items.n; i++) {
        const tam_decision_t *d = &l.items.v[i];
        char when[24];
        tamctl_out_record(o, json_array_get(recs, i));
        tamctl_out_str(o, d->proposal);
        tamctl_out_str(o, d->country);
        tamctl_out_str(o, d->category);
        tamctl_out_str(o, d->project);
        tamctl_out_str(o, tam_enum_decision_state.values[d->state]);
        tamctl_out_int(o, d->endorsed);
        tamctl_out_int(o, d->committed);
        tamctl_out_str(o, d->flag);
        tamctl_out_str(o, s_when(d->since, when));
        tamctl_out_int(o, d->revision);
        tamctl_out_u64(o, d->run);
        tamctl_out_str(o, d->reason);
        tamctl_out_end(o);
    }
    json_decref(recs);
    *more = l.items.n > 0 && (int64_t)tamctl_out_rows(o) < l.total;
    return 0;
}

static int s_decisions(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"country", required_argument, NULL, 'c'},
                                         {"project", required_argument, NULL, 'p'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"attention", no_argument, NULL, 'A'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'C'},
                                         {NULL, 0, NULL, 0}};
    tam_decision_query_t q = {0};
    bool csv = false;
    int c, ex;
    uint64_t lim = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': {
            int st = tam_enum_index(&tam_enum_decision_state, optarg, strlen(optarg));
            if (st < 0) {
                fprintf(stderr, "tamctl: --state must be none, endorsed, declined, committed, "
                                "delivered or withdrawn\n");
                return EX_USAGE;
            }
            q.state = (tam_decision_state_t)st;
            q.has_state = true;
            break;
        }
        case 'c': q.country = tamctl_upper(optarg); break;
        case 'p': q.project = optarg; break;
        case 'A': q.attention = true; break;
        case 'l':
            if ((ex = tamctl_parse_u64("--limit", optarg, &lim)))
                return ex;
            if (lim == 0) {
                fprintf(stderr, "tamctl: --limit must be at least 1\n");
                return EX_USAGE;
            }
            break;
        case 'j': t->json = true; break;
        case 'C': csv = true; break;
        default: return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "usage: tamctl decisions [--state S] [--country C] [--project P] "
                        "[--attention] [--limit N] [--json|--csv]\n");
        return EX_USAGE;
    }
    s_dec_ctx_t x = {.q = &q};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), s_dec_cols);
    ex = tamctl_out_pages(t, o, lim ? (int64_t)lim : 100, s_dec_page, &x);
    tamctl_out_meta_int(o, "total", x.total);
    int64_t got = (int64_t)tamctl_out_rows(o);
    ex = tamctl_out_done(&o, stdout, ex);
    if (ex == 0 && !csv && !t->json && !t->quiet && got < x.total)
        fprintf(stderr, "(%lld of %lld decisions; --limit shows more)\n", (long long)got,
                (long long)x.total);
    return ex;
}

#define S_ACT_HELP                                                                          \
    "  --reason TEXT  why (required; recorded in the audit log)\n"                          \
    "  --run N        the match run the decision was taken on (default: the current run)\n" \
    "  --json         print the answer as JSON"

TAMCTL_COMMAND(s_cmd_endorse, "endorse", "PROPOSAL --reason TEXT",
               "Programme manager: endorse a proposal (its amount is then fixed for the matcher).",
               "  --amount N     the amount endorsed, whole USD (default: the proposed amount)\n" S_ACT_HELP,
               s_endorse)
TAMCTL_COMMAND(s_cmd_decline, "decline", "PROPOSAL --reason TEXT",
               "Programme manager: decline a proposal; the pair is never proposed again.",
               S_ACT_HELP, s_decline)
TAMCTL_COMMAND(s_cmd_commit, "commit", "PROPOSAL --reason TEXT",
               "Donor liaison: commit funds to an endorsed proposal.",
               "  --amount N     the amount committed, whole USD (default: the endorsed amount); at\n"
               "                 most the project's available money and the need's unfunded amount\n" S_ACT_HELP,
               s_commit)
TAMCTL_COMMAND(s_cmd_deliver, "deliver", "PROPOSAL --reason TEXT",
               "Programme manager: mark committed assistance as delivered.", S_ACT_HELP, s_deliver)
TAMCTL_COMMAND(s_cmd_withdraw, "withdraw", "PROPOSAL --reason TEXT",
               "Programme manager: withdraw an endorsement (before commitment).", S_ACT_HELP,
               s_withdraw)
TAMCTL_COMMAND(s_cmd_history, "history", "[PROPOSAL] [--json|--csv]",
               "The audit log: every act on one proposal, or the whole log.", NULL, s_history)
TAMCTL_COMMAND(s_cmd_decisions, "decisions", "[--state S] [...]",
               "Current decisions, oldest state change first.",
               "  --state S      none, endorsed, declined, committed, delivered or withdrawn\n"
               "  --country C    ISO alpha-3 code\n"
               "  --project P    project id\n"
               "  --attention    only decisions that need a manager's attention (need_withdrawn:\n"
               "                 a revision withdrew the need while the decision holds money)\n"
               "  --limit N      at most N (default 100; fetched in pages)\n"
               "  --json, --csv  machine-readable output (one output layer: JSON numbers, plain\n"
               "                 integers in CSV)",
               s_decisions)
TAMCTL_COMMAND(s_cmd_acknowledge, "acknowledge", "PROPOSAL --reason TEXT",
               "Programme manager: acknowledge a flagged decision (need_withdrawn); it keeps its "
               "state and money.",
               S_ACT_HELP, s_acknowledge)

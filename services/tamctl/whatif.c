/* whatif.c — `tamctl whatif FILE.json` (a scenario evaluated by tam-match on
 * a copy of the current run: nothing stored or published) and `tamctl advise
 * PROJECT | --money AMOUNT` (donor liaison's advice). docs/whatif.md. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include "out.h"
#include "regctl.h"
#include "tam/error.h"
#include "tam/proto.h"

/* ---- tamctl whatif ------------------------------------------------------------------ */

static const tamctl_col_t s_need_cols[] = {
    {"need", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"move", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"country", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"standard", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"priority", "pri", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"cost", "cost USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"before", "before USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"after", "after USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

static void s_print_problem(const tam_codec_err_t *e, void *arg)
{
    fprintf(stderr, "%s:%s: %s\n", (const char *)arg, e->path, e->message);
}

/* A what-if or an advice is a copy of the model and one or more exact solves:
 * seconds at 20k needs (docs/whatif.md), far beyond the 3 s of a query. The
 * match client is made on the first call, with this timeout; no retries, since
 * a resend would only queue the same work again. */
static void s_long_timeout(tamctl_t *t)
{
    if (t->cfg.tamctl.timeout < 120 * 1000)
        t->cfg.tamctl.timeout = 120 * 1000;
    t->cfg.common.request_retries = 0;
}

static int s_whatif(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"top", required_argument, NULL, 'n'},
                                         {"csv", no_argument, NULL, 'v'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    int64_t top = 0;
    bool csv = false;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if ((ex = tamctl_parse_count("--top", optarg, &top)))
                return ex;
            break;
        case 'v': csv = true; break;
        case 'j': t->json = true; break;
        default:
            fprintf(stderr, "usage: tamctl whatif FILE.json [--top N] [--csv|--json]\n");
            return EX_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: tamctl whatif FILE.json [--top N] [--csv|--json]\n");
        return EX_USAGE;
    }
    const char *path = argv[optind];
    char *text = NULL;
    size_t len = 0;
    if ((ex = regctl_read_file(path, &text, &len)))
        return ex;
    tam_arena_t *a = tam_arena_new(0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tam_codec_err_t ce;
    tam_whatif_t q;
    memset(&q, 0, sizeof q);
    ex = 0;
    if (!a) {
        ex = EX_OSERR;
    } else if (tam_json_to_msgpack(text, len, &sb, &ce)) {
        fprintf(stderr, "%s:%s: %s\n", path, ce.path, ce.message);
        ex = EX_DATAERR;
    } else if (tam_decode_all(&tam_schema_whatif, sb.data, sb.size, a, &q, &ce, s_print_problem,
                              (void *)path)) {
        ex = EX_DATAERR; /* every problem printed */
    }
    free(text);
    msgpack_sbuffer_destroy(&sb);
    if (ex) {
        tam_arena_destroy(&a);
        return ex;
    }
    if (top)
        q.top = top;
    tam_whatif_result_t r;
    memset(&r, 0, sizeof r);
    uint8_t *body = NULL;
    size_t blen = 0;
    s_long_timeout(t);
    ex = tamctl_call_raw(t, "match", TAM_MSG_match_whatif, &q, a, &r, path, &body, &blen);
    if (ex == 0 && t->json) {
        tamctl_print_json(body, blen);
    } else if (ex == 0) {
        char u1[32], u2[32];
        FILE *f = csv ? stderr : stdout;
        if (!t->quiet || !csv) {
            fprintf(f, "run %llu (hash %.16s), scenario hash %.16s, date %u\n",
                    (unsigned long long)r.run, r.hash, r.scenario_hash, r.date);
            fprintf(f, "objective %lld -> %lld: delta %+lld (score x USD)\n",
                    (long long)r.objective, (long long)r.objective_after,
                    (long long)r.objective_delta);
            fprintf(f, "money: %s USD newly proposed, %s USD withdrawn; %lld proposal(s) "
                       "change, %lld move in rank only\n",
                    tamctl_usd(r.proposed, u1), tamctl_usd(r.withdrawn, u2),
                    (long long)r.proposals_changed, (long long)r.ranks_moved);
            for (uint32_t k = 0; k < r.money.n; k++)
                fprintf(f, "  %-8s %-10s +%s -%s\n", tam_enum_money_dim.values[r.money.v[k].by],
                        r.money.v[k].key, tamctl_usd(r.money.v[k].proposed, u1),
                        tamctl_usd(r.money.v[k].withdrawn, u2));
            for (uint32_t k = 0; k < r.ranks.n; k++)
                fprintf(f, "  rank %lld -> %lld  %s  %s -> %s USD  (%s, from %s)\n",
                        (long long)r.ranks.v[k].rank_before, (long long)r.ranks.v[k].rank_after,
                        r.ranks.v[k].proposal, tamctl_usd(r.ranks.v[k].amount_before, u1),
                        tamctl_usd(r.ranks.v[k].amount_after, u2),
                        tam_enum_change_reason.values[r.ranks.v[k].reason],
                        r.ranks.v[k].cause ? r.ranks.v[k].cause : "?");
            fprintf(f, "%lld need(s) move:\n", (long long)r.needs_total);
        }
        tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), s_need_cols);
        for (uint32_t k = 0; o && k < r.needs.n; k++) {
            const tam_whatif_need_t *n = &r.needs.v[k];
            tamctl_out_u64(o, n->need);
            tamctl_out_str(o, tam_enum_need_move.values[n->move]);
            tamctl_out_str(o, n->country);
            tamctl_out_str(o, n->standard);
            tamctl_out_int(o, n->priority);
            tamctl_out_int(o, n->cost);
            tamctl_out_int(o, n->before);
            tamctl_out_int(o, n->after);
            tamctl_out_end(o);
        }
        ex = o ? tamctl_out_done(&o, stdout, 0) : EX_OSERR;
    }
    free(body);
    tam_arena_destroy(&a);
    return ex;
}

/* ---- tamctl advise -------------------------------------------------------------------- */

static const tamctl_col_t s_adv_cols[] = {
    {"rank", "#", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"objective_delta", "objective +", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
    {"funded_delta", "funded USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"priority_funded", "priority 4-5 USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
    {"text", "change", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {"funds", "needs funded (need country standard USD)", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
    {NULL, NULL, 0, 0, NULL}};

static int s_advise(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"money", required_argument, NULL, 'm'},
                                         {"top", required_argument, NULL, 'n'},
                                         {"csv", no_argument, NULL, 'v'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    tam_advise_query_t q;
    memset(&q, 0, sizeof q);
    bool csv = false;
    int c, ex;
    char *end = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            q.money = strtoll(optarg, &end, 10);
            if (!*optarg || *end || q.money <= 0 || q.money > 1000000000000LL) {
                fprintf(stderr, "tamctl advise: --money takes whole USD, 1 to 10^12\n");
                return EX_USAGE;
            }
            break;
        case 'n':
            if ((ex = tamctl_parse_count("--top", optarg, &q.limit)))
                return ex;
            if (q.limit > 100)
                q.limit = 100;
            break;
        case 'v': csv = true; break;
        case 'j': t->json = true; break;
        default:
            fprintf(stderr, "usage: tamctl advise PROJECT | --money AMOUNT [--top N] [--csv|--json]\n");
            return EX_USAGE;
        }
    }
    if ((q.money > 0) == (optind < argc) || optind + 1 < argc) {
        fprintf(stderr, "usage: tamctl advise PROJECT | --money AMOUNT [--top N] [--csv|--json]\n");
        return EX_USAGE;
    }
    if (optind < argc)
        q.project = argv[optind];
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_advice_list_t r;
    memset(&r, 0, sizeof r);
    uint8_t *body = NULL;
    size_t blen = 0;
    s_long_timeout(t);
    ex = tamctl_call_raw(t, "match", TAM_MSG_match_advise, &q, a, &r, NULL, &body, &blen);
    if (ex == 0 && t->json) {
        tamctl_print_json(body, blen);
    } else if (ex == 0) {
        char u[32];
        tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), s_adv_cols);
        for (uint32_t k = 0; o && k < r.items.n; k++) {
            const tam_advice_t *it = &r.items.v[k];
            char funds[1024];
            size_t fl = 0;
            funds[0] = 0;
            for (uint32_t i = 0; i < it->needs.n && fl < sizeof funds - 80; i++)
                fl += (size_t)snprintf(funds + fl, sizeof funds - fl, "%s%llu %s %s %s",
                                       i ? "; " : "", (unsigned long long)it->needs.v[i].need,
                                       it->needs.v[i].country, it->needs.v[i].standard,
                                       tamctl_usd(it->needs.v[i].amount, u));
            tamctl_out_int(o, k + 1);
            tamctl_out_int(o, it->objective_delta);
            tamctl_out_int(o, it->funded_delta);
            tamctl_out_int(o, it->priority_funded);
            tamctl_out_str(o, it->text);
            tamctl_out_str(o, funds);
            tamctl_out_end(o);
        }
        ex = o ? tamctl_out_done(&o, stdout, 0) : EX_OSERR;
        if (ex == 0 && !t->quiet && !csv) {
            for (uint32_t k = 0; k < r.steps.n; k++)
                fprintf(stderr, "  %s USD adds %lld (%lld per dollar on this stretch)\n",
                        tamctl_usd(r.steps.v[k].amount, u), (long long)r.steps.v[k].objective_delta,
                        (long long)r.steps.v[k].marginal);
            if (q.project)
                fprintf(stderr, "%s: %s USD unallocated in run %llu; %lld relaxation(s) "
                                "considered, %lld re-solved (the others provably add nothing)\n",
                        q.project, tamctl_usd(r.unallocated, u), (unsigned long long)r.run,
                        (long long)r.candidates, (long long)r.solved);
        }
    }
    free(body);
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_whatif, "whatif", "FILE.json",
               "Evaluate a scenario of hypothetical changes (receipts, new projects, earmarks, "
               "weights, mission countries, declines, needs) on a copy of the current run: "
               "objective delta, money moved, needs funded and unfunded, rank changes. "
               "Nothing is stored or published (docs/whatif.md).",
               "  --top N            rank changes among the top N proposals (default 20)\n"
               "  --csv | --json     the needs as CSV, or the whole answer as JSON",
               s_whatif)
TAMCTL_COMMAND(s_cmd_advise, "advise", "PROJECT | --money AMOUNT",
               "For a project with unallocated money: the single-earmark relaxations that would "
               "add most to the optimum, each evaluated exactly, with the needs they fund. With "
               "--money: what AMOUNT of new unearmarked money would fund.",
               "  --money AMOUNT     new unearmarked money, whole USD\n"
               "  --top N            at most N suggestions (default 10)\n"
               "  --csv | --json     machine-readable output",
               s_advise)

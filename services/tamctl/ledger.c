/* ledger.c — `tamctl ledger add|import|list`: pledges, receipts and
 * adjustments of a project's funds. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "regctl.h"

int regctl_ledger_out(const tam_ledger_list_t *l, tamctl_fmt_t fmt)
{
    static const tamctl_col_t cols[] = {
        {"id", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
        {"project", NULL, TAMCTL_STR, TAMCTL_OUT_DATA, NULL},
        {"date", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"kind", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"amount", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"note", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {NULL, NULL, 0, 0, NULL}};
    tamctl_out_t *o = tamctl_out_new(fmt, cols);
    for (uint32_t i = 0; i < l->items.n; i++) {
        const tam_ledger_entry_t *e = &l->items.v[i];
        tamctl_out_u64(o, e->id);
        tamctl_out_str(o, e->project);
        tamctl_out_date(o, e->date);
        tamctl_out_str(o, tam_enum_ledger_kind.values[e->kind]);
        tamctl_out_int(o, e->amount);
        tamctl_out_str(o, e->note);
        tamctl_out_end(o);
    }
    return tamctl_out_done(&o, stdout, 0);
}

/* Whole dollars: digits with optional ',' or '_' between groups, a sign only
 * where allowed. Returns 0, or EX_USAGE after printing why. */
static int s_amount(const char *opt, const char *s, bool sign_ok, int64_t *out)
{
    char digits[32];
    size_t n = 0;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    for (; *p && n < sizeof digits - 1; p++) {
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
        else if ((*p == ',' || *p == '_') && n > 0 && p[1] >= '0' && p[1] <= '9')
            continue;
        else
            break;
    }
    digits[n] = 0;
    if (*p || n == 0 || (neg && !sign_ok) || (s[0] == '+' && !sign_ok)) {
        fprintf(stderr, "tamctl: %s takes whole US dollars%s, not '%s'\n", opt,
                sign_ok ? " (negative to reduce received funds)" : "", s);
        return EX_USAGE;
    }
    errno = 0;
    long long v = strtoll(digits, NULL, 10);
    if (errno || v > 1000000000000LL) {
        fprintf(stderr, "tamctl: %s: %s is more than 1,000,000,000,000\n", opt, s);
        return EX_USAGE;
    }
    *out = neg ? -v : v;
    return 0;
}

static void s_print_ack(const tamctl_t *t, const char *project, const tam_ledger_ack_t *ack)
{
    char b1[32], b2[32];
    if (!t->quiet && ack->dry_run)
        printf("dry run: an entry on %s would bring pledged to %s, received to %s USD; nothing "
               "stored\n",
               project, tamctl_usd(ack->pledged, b1), tamctl_usd(ack->received, b2));
    else if (!t->quiet)
        printf("entry %llu on %s: pledged %s, received %s USD\n", (unsigned long long)ack->id,
               project, tamctl_usd(ack->pledged, b1), tamctl_usd(ack->received, b2));
    for (uint32_t i = 0; i < ack->warnings.n; i++)
        fprintf(stderr, "tamctl: warning: %s: %s (%s)\n", project, ack->warnings.v[i],
                ack->dry_run ? "dry run" : "stored");
}

/* ---- add --------------------------------------------------------------------------------- */

static int s_add(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"pledge", required_argument, NULL, 'p'},
                                         {"receipt", required_argument, NULL, 'r'},
                                         {"adjust", required_argument, NULL, 'a'},
                                         {"date", required_argument, NULL, 'd'},
                                         {"note", required_argument, NULL, 'n'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"dry-run", no_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    tam_ledger_entry_t e = {0};
    int kinds = 0, c, ex;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
        case 'r':
        case 'a':
            kinds++;
            e.kind = c == 'p' ? TAM_E_ledger_kind_pledge
                              : c == 'r' ? TAM_E_ledger_kind_receipt : TAM_E_ledger_kind_adjustment;
            if ((ex = s_amount(c == 'p' ? "--pledge" : c == 'r' ? "--receipt" : "--adjust", optarg,
                               c == 'a', &e.amount)))
                return ex;
            break;
        case 'd':
            if (tam_date_parse(optarg, strlen(optarg), &e.date)) {
                fprintf(stderr, "tamctl: --date must be YYYY-MM-DD, not '%s'\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'n': e.note = optarg; break;
        case 'j': t->json = true; break;
        case 'D': e.dry_run = true; break;
        default: return EX_USAGE;
        }
    }
    if (optind + 1 != argc || kinds != 1) {
        fprintf(stderr, "usage: tamctl ledger add PROJECT --pledge|--receipt|--adjust AMOUNT "
                        "[--date YYYY-MM-DD] [--note TEXT] [--dry-run]\n");
        return EX_USAGE;
    }
    e.project = argv[optind];
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_ledger_ack_t ack;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    ex = tamctl_call_raw(t, "registry", TAM_MSG_registry_ledger_add, &e, a, &ack, NULL, &raw,
                         &raw_len);
    if (ex == 0 && t->json)
        regctl_print_json(raw, raw_len);
    else if (ex == 0)
        s_print_ack(t, e.project, &ack);
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

/* ---- import --------------------------------------------------------------------------------- */

static int s_import(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"dry-run", no_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    int c;
    bool dry = false;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            t->json = true;
        else if (c == 'D')
            dry = true;
        else
            return EX_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: tamctl ledger import [--dry-run] FILE...\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    regctl_batch_t b = {0};
    size_t refused = 0;
    int ex = 0;
    for (int f = optind; f < argc && ex == 0; f++) {
        regctl_doc_t doc;
        if ((ex = regctl_doc_load(&doc, argv[f]))) {
            regctl_doc_free(&doc);
            break;
        }
        for (uint32_t i = 0; i < doc.n && ex == 0; i++) {
            char where[160];
            tam_ledger_entry_t e;
            regctl_doc_where(&doc, i, where, sizeof where);
            int dex = regctl_doc_decode(&doc, i, &tam_schema_ledger_entry, a, &e);
            if (dex == EX_OSERR) {
                ex = dex;
                break;
            }
            if (dex) {
                refused++;
                continue;
            }
            e.id = 0; /* the registry numbers entries */
            e.dry_run = dry;
            if ((ex = regctl_batch_encode(&b, TAM_MSG_registry_ledger_add, &e, where, NULL)))
                break;
            /* The same entry at the same place of a file gets the same request
             * id: importing a file twice records its entries once. */
            regctl_item_t *it = &b.v[b.n - 1];
            regctl_stable_id(it->id, "ledger", it->body, it->len, i);
        }
        regctl_doc_free(&doc);
    }
    if (ex == 0)
        ex = regctl_batch_send(t, TAM_MSG_registry_ledger_add, &b, "ledger import");
    if (ex == 0) {
        size_t ok = 0, unanswered = 0;
        int64_t pledged = 0, received = 0;
        for (size_t i = 0; i < b.n; i++) {
            ok += b.v[i].status == TAM_RPC_OK;
            refused += b.v[i].status == TAM_RPC_ERROR;
            unanswered += b.v[i].status < 0;
            tam_ledger_entry_t e;
            tam_codec_err_t ce;
            if (b.v[i].status == TAM_RPC_OK &&
                tam_decode(&tam_schema_ledger_entry, b.v[i].body, b.v[i].len, a, &e, &ce) == 0) {
                if (e.kind == TAM_E_ledger_kind_pledge)
                    pledged += e.amount;
                else
                    received += e.amount;
            }
        }
        char b1[32], b2[32];
        if (t->json)
            printf("{\"recorded\": %zu, \"refused\": %zu, \"pledged\": %lld, \"received\": %lld, "
                   "\"dry_run\": %s}\n",
                   ok, refused, (long long)pledged, (long long)received, dry ? "true" : "false");
        else if (!t->quiet)
            printf("ledger%s: %zu entr%s %srecorded (pledges %s, receipts and adjustments %s USD), "
                   "%zu refused%s\n",
                   dry ? " (dry run)" : "", ok, ok == 1 ? "y" : "ies", dry ? "would be " : "",
                   tamctl_usd(pledged, b1), tamctl_usd(received, b2), refused,
                   dry ? "; nothing stored" : "");
        if (refused || unanswered)
            ex = EX_DATAERR;
    }
    regctl_batch_free(&b);
    tam_arena_destroy(&a);
    return ex;
}

/* ---- list ---------------------------------------------------------------------------------- */

static int s_list(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'C'},
                                         {NULL, 0, NULL, 0}};
    bool csv = false;
    int c;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            t->json = true;
        else if (c == 'C')
            csv = true;
        else
            return EX_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: tamctl ledger list PROJECT [--json|--csv]\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_key_t k = {.id = argv[optind]};
    tam_ledger_list_t l;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int ex = tamctl_call_raw(t, "registry", TAM_MSG_registry_ledger, &k, a, &l, NULL, &raw, &raw_len);
    if (ex == 0)
        ex = regctl_ledger_out(&l, tamctl_out_format(t, csv));
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_ledger_add, "ledger add", "PROJECT --KIND AMOUNT [--dry-run]",
               "Record a pledge, a receipt or an adjustment of a project's funds.",
               "--pledge AMOUNT | --receipt AMOUNT | --adjust AMOUNT   (exactly one)\n"
               "--date YYYY-MM-DD   value date (default: today)\n"
               "--note TEXT         reference or reason\n"
               "AMOUNT is whole US dollars (1250000, 1,250,000 or 1_250_000); pledges and\n"
               "receipts are positive, adjustments non-zero and may be negative (a refund).\n"
               "Received funds never go below 0.\n"
               "--dry-run           the registry checks the entry and answers the totals it\n"
               "                    would bring; nothing is stored",
               s_add)
TAMCTL_COMMAND(s_cmd_ledger_import, "ledger import", "[--dry-run] FILE...",
               "Record the ledger entries of JSON files (arrays, as tam-gen writes ledger.json).",
               "Safe to repeat: each entry is sent with a request id derived from its content\n"
               "and position in the file, so the registry records it once.\n"
               "--dry-run   the registry checks every entry in full; nothing is stored. Each\n"
               "            entry is checked against the stored ledger, not against the\n"
               "            entries before it in the files",
               s_import)
TAMCTL_COMMAND(s_cmd_ledger_list, "ledger list", "PROJECT [--json|--csv]",
               "List a project's ledger entries, oldest first.", NULL, s_list)

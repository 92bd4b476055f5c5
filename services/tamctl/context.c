/* context.c — `tamctl context set|show`: the planning context pushed by
 * peacekeeping planners (mission countries, their peace operation and
 * rule-of-law priority standards). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "regctl.h"
#include "tam/cli.h"

/* How many missions the context file lists (for the summary line). */
static uint32_t s_missions(const regctl_doc_t *d)
{
    const msgpack_object *o = &d->items[0];
    for (uint32_t i = 0; o->type == MSGPACK_OBJECT_MAP && i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 8 &&
            memcmp(kv->key.via.str.ptr, "missions", 8) == 0 && kv->val.type == MSGPACK_OBJECT_ARRAY)
            return kv->val.via.array.size;
    }
    return 0;
}

static int s_set(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"if-version", required_argument, NULL, 'v'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    int c;
    bool dry = false;
    uint64_t if_version = 0;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            t->json = true;
        else if (c == 'n')
            dry = true;
        else if (c != 'v' || tamctl_parse_u64("--if-version", optarg, &if_version) ||
                 if_version == 0 || if_version > 1000000)
            return EX_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: tamctl context set [--if-version N] [--dry-run] FILE\n");
        return EX_USAGE;
    }
    regctl_doc_t doc;
    int ex = regctl_doc_load(&doc, argv[optind]);
    if (ex == 0 && doc.array) {
        fprintf(stderr, "%s: must hold one context (an object), not an array\n", argv[optind]);
        ex = EX_DATAERR;
    }
    /* Sent as written: the registry lists every problem of the context,
     * codec and semantic, at once. */
    tam_arena_t *a = tam_arena_new(0);
    regctl_batch_t b = {.dry = dry};
    if (ex == 0 && !a)
        ex = EX_OSERR;
    if (ex == 0)
        ex = regctl_batch_raw_set(&b, &doc, 0, if_version ? "if_version" : NULL,
                                  (int64_t)if_version);
    if (ex == 0)
        ex = regctl_batch_send(t, TAM_MSG_registry_context_set, &b, "context set");
    tam_put_ack_t ack;
    const regctl_item_t *it = ex == 0 ? &b.v[0] : NULL;
    if (it && it->status != TAM_RPC_OK)
        ex = it->status == TAM_RPC_ERROR ? tam_cli_exit_code(it->error.code) : EX_UNAVAILABLE;
    if (ex == 0 && tam_decode(&tam_schema_put_ack, it->answer, it->answer_len, a, &ack, NULL))
        ex = EX_PROTOCOL;
    if (ex == 0 && t->json)
        regctl_print_json(it->answer, it->answer_len);
    else if (ex == 0 && !t->quiet && ack.dry_run)
        printf("planning context: dry run: would be version %lld, %u mission countr%s; nothing "
               "stored\n", (long long)ack.revision, s_missions(&doc),
               s_missions(&doc) == 1 ? "y" : "ies");
    else if (ex == 0 && !t->quiet)
        printf("planning context: version %lld, %u mission countr%s\n", (long long)ack.revision,
               s_missions(&doc), s_missions(&doc) == 1 ? "y" : "ies");
    regctl_batch_free(&b);
    tam_arena_destroy(&a);
    regctl_doc_free(&doc);
    return ex;
}

static int s_show(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'C'},
                                         {"version", required_argument, NULL, 'v'},
                                         {NULL, 0, NULL, 0}};
    uint64_t version = 0;
    bool csv = false;
    int c;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            t->json = true;
        else if (c == 'C')
            csv = true;
        else if (c == 'v') {
            if (tamctl_parse_u64("--version", optarg, &version))
                return EX_USAGE;
        } else
            return EX_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: tamctl context show [--version N] [--json|--csv]\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_key_t k = {.id = "context", .revision = (int64_t)version};
    tam_context_t ctx;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int ex = tamctl_call_raw(t, "registry", TAM_MSG_registry_context_get, &k, a, &ctx, NULL, &raw,
                             &raw_len);
    if (ex == 0 && t->json) {
        regctl_print_json(raw, raw_len);
    } else if (ex == 0) {
        const tam_catalog_t *cat = regctl_catalog(t);
        char d[11];
        if (!csv && !t->quiet)
            printf("planning context version %lld, set on %s%s%s\n", (long long)ctx.version,
                   regctl_date(ctx.set_on, d), ctx.note ? ": " : "", ctx.note ? ctx.note : "");
        static const tamctl_col_t cols[] = {
            {"country", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
            {"name", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
            {"operation", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
            {"valid_from", "valid from", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
            {"priorities", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
            {NULL, NULL, 0, 0, NULL}};
        tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), cols);
        for (uint32_t i = 0; i < ctx.missions.n; i++) {
            const tam_mission_t *m = &ctx.missions.v[i];
            const tam_country_t *co = cat ? tam_catalog_country(cat, m->country) : NULL;
            char pr[512];
            tamctl_out_str(o, m->country);
            tamctl_out_str(o, co ? co->name : NULL);
            tamctl_out_str(o, m->operation);
            tamctl_out_date(o, m->valid_from);
            tamctl_out_str(o, regctl_join(&m->priorities, csv ? ";" : ", ", pr, sizeof pr));
            tamctl_out_end(o);
        }
        ex = tamctl_out_done(&o, stdout, 0);
    }
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_context_set, "context set", "[--if-version N] [--dry-run] FILE",
               "Replace the planning context with the one in a JSON file (a new version).",
               "The file: {\"missions\": [{\"country\": \"CAF\", \"operation\": \"MINUSCA\",\n"
               "  \"priorities\": [\"A-SMR\", \"D-JUDIC\"], \"valid_from\": \"2026-01-01\"}],\n"
               "  \"note\": \"source of this version\"}\n"
               "One entry per country; priorities are standard ids. The same context as the\n"
               "current one makes no new version. See config/samples/demo/context.json.\n"
               "--if-version N   replace it only if the current version is N (as context\n"
               "                 show gives it); otherwise refused (conflict), nothing stored\n"
               "--dry-run        the registry checks it in full (if-version included) and\n"
               "                 answers the version it would make; nothing stored",
               s_set)
TAMCTL_COMMAND(s_cmd_context_show, "context show", "[--version N]",
               "Show the planning context (or one of its past versions).",
               "--version N   a past version (1 is the first)\n"
               "--json        the context as JSON\n"
               "--csv         the missions as CSV",
               s_show)

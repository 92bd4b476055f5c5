/* donor.c — `tamctl donor add|list|show`: the donors of extrabudgetary funds
 * in the registry. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "out.h"
#include "regctl.h"

static void s_set_after_page(void *req, char *after)
{
    ((tam_page_str_t *)req)->after = after;
}

/* All donors, decoded from a. */
static int s_all_donors(tamctl_t *t, tam_arena_t *a, tam_donor_list_t *out, uint8_t **raw,
                        size_t *raw_len)
{
    tam_page_str_t q = {.limit = 1000};
    memset(out, 0, sizeof *out);
    return regctl_list_all(t, TAM_MSG_registry_donors, &q, s_set_after_page, a,
                           (tam_vec_t *)&out->items, sizeof(tam_donor_t), raw, raw_len);
}

static int64_t s_revision_of(const tam_donor_list_t *l, const char *id)
{
    for (uint32_t i = 0; i < l->items.n; i++)
        if (strcmp(l->items.v[i].id, id) == 0)
            return l->items.v[i].revision;
    return 0;
}

/* ---- add ---------------------------------------------------------------------------- */

static int s_add(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    int c;
    bool dry = false;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            dry = true;
        else if (c == 'j')
            t->json = true;
        else
            return EX_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: tamctl donor add [--dry-run] FILE...\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    /* What exists before, to tell added from changed and unchanged. */
    tam_donor_list_t before;
    int ex = s_all_donors(t, a, &before, NULL, NULL);
    size_t refused = 0, total = 0, added = 0, changed = 0, same = 0;
    for (int f = optind; f < argc && ex == 0; f++) {
        regctl_doc_t doc;
        regctl_batch_t b = {.dry = dry};
        if ((ex = regctl_doc_load(&doc, argv[f]))) {
            regctl_doc_free(&doc);
            break;
        }
        /* Sent as written: the registry lists every problem of a record,
         * codec and semantic, at once. */
        for (uint32_t i = 0; i < doc.n && ex == 0; i++) {
            total++;
            ex = regctl_batch_raw(&b, &doc, i);
        }
        if (ex == 0)
            ex = regctl_batch_send(t, TAM_MSG_registry_donor_put, &b, "donor add");
        for (size_t i = 0; i < b.n; i++) {
            regctl_item_t *it = &b.v[i];
            tam_put_ack_t ack;
            tam_codec_err_t ce;
            if (it->status != TAM_RPC_OK) {
                refused += it->status == TAM_RPC_ERROR;
                continue;
            }
            if (tam_decode(&tam_schema_put_ack, it->answer, it->answer_len, a, &ack, &ce) == 0) {
                int64_t was = s_revision_of(&before, ack.id);
                added += was == 0;
                changed += was > 0 && ack.revision > was;
                same += was > 0 && ack.revision == was;
            }
        }
        regctl_batch_free(&b);
        regctl_doc_free(&doc);
    }
    if (ex == 0 || ex == EX_DATAERR) {
        if (t->json)
            printf("{\"records\": %zu, \"added\": %zu, \"changed\": %zu, \"unchanged\": %zu, "
                   "\"refused\": %zu, \"dry_run\": %s}\n",
                   total, added, changed, same, refused, dry ? "true" : "false");
        else if (!t->quiet)
            printf("donors%s: %zu %sadded, %zu %schanged, %zu unchanged, %zu refused%s\n",
                   dry ? " (dry run)" : "", added, dry ? "would be " : "", changed,
                   dry ? "would be " : "", same, refused, dry ? "; nothing stored" : "");
    }
    tam_arena_destroy(&a);
    if (ex == 0 && refused)
        ex = EX_DATAERR;
    return ex;
}

/* ---- list ---------------------------------------------------------------------------- */

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
    if (optind < argc) {
        fprintf(stderr, "usage: tamctl donor list [--json|--csv]\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    static const tamctl_col_t cols[] = {
        {"id", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"kind", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"name", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"iati_id", "IATI id", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"revision", "rev", TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
        {NULL, NULL, 0, 0, NULL}};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), cols);
    tam_donor_list_t l;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int ex = s_all_donors(t, a, &l, t->json ? &raw : NULL, &raw_len);
    json_t *recs = ex == 0 && raw ? tamctl_json_items(raw, raw_len, NULL) : NULL;
    for (uint32_t i = 0; ex == 0 && i < l.items.n; i++) {
        const tam_donor_t *d = &l.items.v[i];
        tamctl_out_record(o, json_array_get(recs, i));
        tamctl_out_str(o, d->id);
        tamctl_out_str(o, tam_enum_donor_kind.values[d->kind]);
        tamctl_out_str(o, d->name);
        tamctl_out_str(o, d->iati_id);
        tamctl_out_int(o, d->revision);
        tamctl_out_end(o);
    }
    json_decref(recs);
    ex = tamctl_out_done(&o, stdout, ex);
    if (ex == 0 && !csv && !t->json && !t->quiet)
        printf("%u donor(s)\n", l.items.n);
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

/* ---- show ---------------------------------------------------------------------------- */

static void s_set_after_query(void *req, char *after)
{
    ((tam_project_query_t *)req)->after = after;
}

static int s_show(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"revision", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    uint64_t rev = 0;
    int c;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            t->json = true;
        else if (c == 'r') {
            if (tamctl_parse_u64("--revision", optarg, &rev))
                return EX_USAGE;
        } else
            return EX_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: tamctl donor show ID [--revision N] [--json]\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_key_t k = {.id = argv[optind], .revision = (int64_t)rev};
    tam_donor_t d;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int ex = tamctl_call_raw(t, "registry", TAM_MSG_registry_donor_get, &k, a, &d, NULL, &raw,
                             &raw_len);
    if (ex == 0 && t->json) {
        regctl_print_json(raw, raw_len);
    } else if (ex == 0) {
        printf("donor     %s\nname      %s\nkind      %s\nIATI id   %s\nrevision  %lld\n", d.id,
               d.name, tam_enum_donor_kind.values[d.kind], d.iati_id ? d.iati_id : "-",
               (long long)d.revision);
        /* The projects it funds (as they are now). */
        tam_project_query_t q = {.donor = d.id, .limit = 1000};
        tam_project_list_t pl = {0};
        ex = regctl_list_all(t, TAM_MSG_registry_projects, &q, s_set_after_query, a,
                             (tam_vec_t *)&pl.items, sizeof(tam_project_rec_t), NULL, NULL);
        if (ex == 0) {
            printf("funds     %u project(s)\n", pl.items.n);
            for (uint32_t i = 0; i < pl.items.n; i++) {
                const tam_project_t *p = pl.items.v[i].project;
                int64_t pct = 0;
                for (uint32_t s = 0; s < p->donors.n; s++)
                    if (strcmp(p->donors.v[s].donor, d.id) == 0)
                        pct = p->donors.v[s].percent;
                printf("  %-16s %3lld%%  %-9s %s\n", p->id, (long long)pct,
                       tam_enum_project_status.values[p->status], p->title);
            }
        }
    }
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_donor_add, "donor add", "[--dry-run] FILE...",
               "Add or change donors from JSON files (an object or an array of objects).",
               "A donor: {\"id\": \"NOR\", \"name\": \"Norway\", \"kind\": \"government\",\n"
               "          \"iati_id\": \"XM-DAC-8\"}\n"
               "kind: government, multilateral, foundation or private. A donor equal to the\n"
               "stored one changes nothing; a different one becomes its next revision.\n"
               "Prints how many were added, changed, unchanged and refused (--json: as JSON).\n"
               "--dry-run   the registry checks every donor in full and answers as if storing;\n"
               "            nothing is stored",
               s_add)
TAMCTL_COMMAND(s_cmd_donor_list, "donor list", "[--json|--csv]", "List the donors.", NULL, s_list)
TAMCTL_COMMAND(s_cmd_donor_show, "donor show", "ID [--revision N]",
               "Show one donor (or one of its past revisions) and the projects it funds.",
               "--revision N   the donor as it was at revision N\n"
               "--json         the donor record as JSON",
               s_show)

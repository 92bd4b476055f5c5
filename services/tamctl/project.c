/* project.c — `tamctl project add|update|close|list|show`: extrabudgetary
 * projects, their earmarks and funding totals. (`project import`, from CSV,
 * is in project_csv.c.) */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "out.h"
#include "regctl.h"

static void s_set_after(void *req, char *after)
{
    ((tam_project_query_t *)req)->after = after;
}

int regctl_all_projects(tamctl_t *t, tam_project_query_t *q, tam_arena_t *a,
                        tam_project_list_t *out, uint8_t **raw, size_t *raw_len)
{
    memset(out, 0, sizeof *out);
    q->limit = 1000;
    return regctl_list_all(t, TAM_MSG_registry_projects, q, s_set_after, a,
                           (tam_vec_t *)&out->items, sizeof(tam_project_rec_t), raw, raw_len);
}

static int64_t s_revision_of(const tam_project_list_t *l, const char *id)
{
    for (uint32_t i = 0; i < l->items.n; i++)
        if (strcmp(l->items.v[i].project->id, id) == 0)
            return l->items.v[i].revision;
    return 0;
}

int regctl_project_summary(tamctl_t *t, bool update, const tam_project_list_t *before,
                           const regctl_batch_t *b, size_t refused_local, tam_arena_t *a)
{
    const char *would = b->dry ? "would be " : "";
    size_t ok = 0, changed = 0, same = 0, refused = refused_local, unanswered = 0;
    for (size_t i = 0; i < b->n; i++) {
        const regctl_item_t *it = &b->v[i];
        if (it->status == TAM_RPC_ERROR) {
            refused++;
            continue;
        }
        if (it->status != TAM_RPC_OK) {
            unanswered++;
            continue;
        }
        ok++;
        tam_put_ack_t ack;
        tam_codec_err_t ce;
        if (before && tam_decode(&tam_schema_put_ack, it->answer, it->answer_len, a, &ack, &ce) == 0) {
            int64_t was = s_revision_of(before, ack.id);
            changed += was > 0 && ack.revision > was;
            same += was > 0 && ack.revision == was;
        }
    }
    if (t->json) {
        if (update)
            printf("{\"changed\": %zu, \"unchanged\": %zu, \"refused\": %zu, \"unanswered\": %zu, "
                   "\"dry_run\": %s}\n",
                   changed, same, refused, unanswered, b->dry ? "true" : "false");
        else
            printf("{\"added\": %zu, \"refused\": %zu, \"unanswered\": %zu, \"dry_run\": %s}\n", ok,
                   refused, unanswered, b->dry ? "true" : "false");
    } else if (!t->quiet) {
        if (update)
            printf("projects%s: %zu %schanged, %zu unchanged, %zu refused", b->dry ? " (dry run)" : "",
                   changed, would, same, refused);
        else
            printf("projects%s: %zu %sadded, %zu refused", b->dry ? " (dry run)" : "", ok, would,
                   refused);
        if (unanswered)
            printf(", %zu not answered", unanswered);
        printf("%s\n", b->dry ? "; nothing stored" : "");
    }
    return refused ? EX_DATAERR : 0;
}

/* ---- add / update --------------------------------------------------------------------- */

static int s_put(tamctl_t *t, int argc, char **argv, bool update)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"if-version", required_argument, NULL, 'v'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    int c;
    uint64_t if_version = 0;
    bool dry = false;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            t->json = true;
        else if (c == 'n')
            dry = true;
        else if (c != 'v' || !update ||
                 tamctl_parse_u64("--if-version", optarg, &if_version) || if_version == 0 ||
                 if_version > 1000000)
            return EX_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: tamctl project %s [--dry-run] FILE...\n",
                update ? "update [--if-version N]" : "add");
        return EX_USAGE;
    }
    int msg = update ? TAM_MSG_registry_project_update : TAM_MSG_registry_project_add;
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_project_list_t before = {0};
    tam_project_query_t q = {0};
    regctl_batch_t b = {.dry = dry};
    size_t refused = 0;
    int ex = update ? regctl_all_projects(t, &q, a, &before, NULL, NULL) : 0;
    for (int f = optind; f < argc && ex == 0; f++) {
        regctl_doc_t doc;
        if ((ex = regctl_doc_load(&doc, argv[f]))) {
            regctl_doc_free(&doc);
            break;
        }
        for (uint32_t i = 0; i < doc.n && ex == 0; i++) {
            char where[160];
            tam_project_t p;
            regctl_doc_where(&doc, i, where, sizeof where);
            int dex = regctl_doc_decode(&doc, i, &tam_schema_project, a, &p);
            if (dex == EX_OSERR) {
                ex = dex;
                break;
            }
            if (dex) {
                refused++;
                continue;
            }
            p.if_version = (int64_t)if_version;
            p.dry_run = dry;
            ex = regctl_batch_encode(&b, msg, &p, where, NULL);
        }
        regctl_doc_free(&doc);
    }
    if (ex == 0)
        ex = regctl_batch_send(t, msg, &b, update ? "project update" : "project add");
    if (ex == 0)
        ex = regctl_project_summary(t, update, update ? &before : NULL, &b, refused, a);
    regctl_batch_free(&b);
    tam_arena_destroy(&a);
    return ex;
}

static int s_add(tamctl_t *t, int argc, char **argv)
{
    return s_put(t, argc, argv, false);
}

static int s_update(tamctl_t *t, int argc, char **argv)
{
    return s_put(t, argc, argv, true);
}

/* ---- close ------------------------------------------------------------------------------- */

static int s_close(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"status", required_argument, NULL, 's'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *status = "closed", *reason = NULL;
    bool dry = false;
    int c;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': status = optarg; break;
        case 'r': reason = optarg; break;
        case 'j': t->json = true; break;
        case 'n': dry = true; break;
        default: return EX_USAGE;
        }
    }
    int st = tam_enum_index(&tam_enum_project_status, status, strlen(status));
    if (optind + 1 != argc || !reason ||
        (st != TAM_E_project_status_closed && st != TAM_E_project_status_cancelled)) {
        fprintf(stderr, "usage: tamctl project close ID [--status closed|cancelled] --reason TEXT "
                        "[--dry-run]\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_project_close_t req = {.id = argv[optind], .status = (tam_project_status_t)st,
                               .reason = (char *)reason, .dry_run = dry};
    tam_put_ack_t ack;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int ex = tamctl_call_raw(t, "registry", TAM_MSG_registry_project_close, &req, a, &ack, NULL,
                             &raw, &raw_len);
    if (ex == 0 && t->json)
        regctl_print_json(raw, raw_len);
    else if (ex == 0 && !t->quiet && ack.dry_run)
        printf("dry run: %s would be %s (revision %lld); nothing stored\n", ack.id, status,
               (long long)ack.revision);
    else if (ex == 0 && !t->quiet)
        printf("%s %s (revision %lld)\n", ack.id, status, (long long)ack.revision);
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

/* ---- list ---------------------------------------------------------------------------------- */

static const char *s_donors_cell(const tam_project_t *p, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < p->donors.n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s %lld%%", i ? ", " : "", p->donors.v[i].donor,
                         (long long)p->donors.v[i].percent);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* The projects' money from tam-pipeline (one quick try: project commands
 * must not wait for a pipeline that is down). Returns 0 with *out decoded,
 * or non-zero (then the figures are unknown). */
static int s_money(tamctl_t *t, const char *id, tam_arena_t *a, tam_money_list_t *out)
{
    tam_money_query_t q = {.project = (char *)id};
    int retries = (int)t->cfg.common.request_retries;
    int64_t timeout = t->cfg.tamctl.timeout;
    t->cfg.common.request_retries = 0;
    if (timeout > 1000)
        t->cfg.tamctl.timeout = 1000; /* the pipeline's client is made here, with it */
    int rc = tamctl_call_quiet(t, "pipeline", TAM_MSG_pipeline_money, &q, a, out);
    t->cfg.common.request_retries = retries;
    t->cfg.tamctl.timeout = timeout;
    return rc;
}

static const tam_project_money_t *s_money_of(const tam_money_list_t *m, const char *id)
{
    for (uint32_t i = 0; m && i < m->items.n; i++)
        if (strcmp(m->items.v[i].project, id) == 0)
            return &m->items.v[i];
    return NULL;
}

static int s_list(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"status", required_argument, NULL, 's'},
                                         {"donor", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'C'},
                                         {NULL, 0, NULL, 0}};
    tam_project_query_t q = {0};
    bool csv = false;
    int c;
    optind = 0; /* a full reset: main parsed its own options in another mode */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': {
            int st = tam_enum_index(&tam_enum_project_status, optarg, strlen(optarg));
            if (st < 0) {
                fprintf(stderr, "tamctl: --status must be pipeline, active, closed or cancelled\n");
                return EX_USAGE;
            }
            q.status = (tam_project_status_t)st;
            q.has_status = true;
            break;
        }
        case 'd': q.donor = optarg; break;
        case 'j': t->json = true; break;
        case 'C': csv = true; break;
        default: return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "usage: tamctl project list [--status S] [--donor D] [--json|--csv]\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    static const tamctl_col_t cols[] = {
        {"id", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"status", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"budget", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"budget_status", "budget status", TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"pledged", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"received", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"committed", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"endorsed", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"available", NULL, TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"start", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"end", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"donors", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"title", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {NULL, NULL, 0, 0, NULL}};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), cols);
    tam_project_list_t l;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int64_t tb_budget = 0, tp = 0, tr = 0;
    int ex = regctl_all_projects(t, &q, a, &l, t->json ? &raw : NULL, &raw_len);
    tam_money_list_t money;
    bool have_money = ex == 0 && s_money(t, NULL, a, &money) == 0;
    json_t *recs = ex == 0 && raw ? tamctl_json_items(raw, raw_len, NULL) : NULL;
    for (uint32_t i = 0; ex == 0 && i < l.items.n; i++) {
        const tam_project_rec_t *r = &l.items.v[i];
        const tam_project_t *p = r->project;
        char don[160];
        tamctl_out_record(o, json_array_get(recs, i));
        tamctl_out_str(o, p->id);
        tamctl_out_str(o, tam_enum_project_status.values[p->status]);
        tamctl_out_int(o, p->budget);
        tamctl_out_str(o, tam_enum_budget_status.values[p->budget_status]);
        tamctl_out_int(o, r->pledged);
        tamctl_out_int(o, r->received);
        const tam_project_money_t *m = have_money ? s_money_of(&money, p->id) : NULL;
        if (m) {
            tamctl_out_int(o, m->committed);
            tamctl_out_int(o, m->endorsed);
            tamctl_out_int(o, m->available);
        } else {
            tamctl_out_null(o);
            tamctl_out_null(o);
            tamctl_out_null(o);
        }
        tamctl_out_date(o, p->start);
        tamctl_out_date(o, p->end);
        tamctl_out_str(o, s_donors_cell(p, don, sizeof don));
        tamctl_out_str(o, p->title);
        tamctl_out_end(o);
        tb_budget += p->budget;
        tp += r->pledged;
        tr += r->received;
    }
    json_decref(recs);
    ex = tamctl_out_done(&o, stdout, ex);
    if (ex == 0 && !csv && !t->json && !t->quiet) {
        char b1[32], b2[32], b3[32];
        printf("%u project(s); budget %s, pledged %s, received %s USD\n", l.items.n,
               tamctl_usd(tb_budget, b1), tamctl_usd(tp, b2), tamctl_usd(tr, b3));
        if (!have_money)
            printf("committed, endorsed, available: unknown (tam-pipeline did not answer)\n");
        else
            printf("available = received - committed - endorsed (tam-pipeline, match run %llu)\n",
                   (unsigned long long)money.run);
    }
    free(raw);
    tam_arena_destroy(&a);
    return ex;
}

/* ---- show ------------------------------------------------------------------------------------ */

/* One earmark line: "any" for an empty list, else each code with its name. */
static void s_codes_line(const char *label, const tam_strs_t *l,
                         const char *(*name)(const tam_catalog_t *, const char *),
                         const tam_catalog_t *cat)
{
    if (l->n == 0) {
        printf("  %-19s any\n", label);
        return;
    }
    for (uint32_t i = 0; i < l->n; i++) {
        const char *n = cat ? name(cat, l->v[i]) : NULL;
        char cut[64];
        if (n && strlen(n) > 56) { /* long titles end at a word, with "..." */
            snprintf(cut, sizeof cut, "%.56s", n);
            char *sp = strrchr(cut, ' ');
            snprintf(sp && sp > cut + 20 ? sp : cut + 56, 4, "...");
            n = cut;
        }
        printf("  %-19s %s%s%s%s\n", i ? "" : label, l->v[i], n ? " (" : "", n ? n : "",
               n ? ")" : "");
    }
}

static const char *s_country_name(const tam_catalog_t *c, const char *code)
{
    const tam_country_t *x = tam_catalog_country(c, code);
    return x ? x->name : NULL;
}

static const char *s_group_name(const tam_catalog_t *c, const char *code)
{
    const tam_group_t *x = tam_catalog_group(c, code);
    return x ? x->name : NULL;
}

static const char *s_area_name(const tam_catalog_t *c, const char *code)
{
    const tam_area_t *x = tam_catalog_area(c, (uint16_t)strtoul(code, NULL, 10));
    return x ? x->name : NULL;
}

static const char *s_category_name(const tam_catalog_t *c, const char *code)
{
    const tam_category_t *x = tam_catalog_category(c, code[0]);
    return x && !code[1] ? x->title : NULL;
}

static const char *s_standard_name(const tam_catalog_t *c, const char *code)
{
    const tam_standard_t *x = tam_catalog_standard(c, code);
    return x ? x->short_name : NULL;
}

static const char *s_modality_name(const tam_catalog_t *c, const char *code)
{
    const tam_modality_t *x = tam_catalog_modality(c, code);
    return x ? x->title : NULL;
}

static void s_print_project(tamctl_t *t, const tam_project_rec_t *r, const tam_project_money_t *m,
                            uint64_t run, tam_arena_t *a)
{
    const tam_project_t *p = r->project;
    const tam_catalog_t *cat = regctl_catalog(t);
    char b1[32], b2[32], d1[11], d2[11];
    printf("project              %s (revision %lld)\n", p->id, (long long)r->revision);
    printf("title                %s\n", p->title);
    printf("status               %s\n", tam_enum_project_status.values[p->status]);
    if (r->reason)
        printf("reason               %s\n", r->reason);
    printf("budget               %s USD, %s\n", tamctl_usd(p->budget, b1),
           tam_enum_budget_status.values[p->budget_status]);
    printf("window               %s to %s\n", regctl_date(p->start, d1), regctl_date(p->end, d2));
    const tam_dac_t *dac = cat ? tam_catalog_dac(cat, (uint32_t)strtoul(p->dac, NULL, 10)) : NULL;
    printf("DAC purpose          %s%s%s%s\n", p->dac, dac ? " (" : "", dac ? dac->name : "", dac ? ")" : "");
    for (uint32_t i = 0; i < p->donors.n; i++) {
        tam_key_t k = {.id = p->donors.v[i].donor};
        tam_donor_t d;
        /* One quick lookup per donor for its name; without it the id is enough. */
        int ex = tamctl_call(t, "registry", TAM_MSG_registry_donor_get, &k, a, &d, NULL);
        printf("%-21s%s %lld%%%s%s%s\n", i ? "" : "donors", k.id, (long long)p->donors.v[i].percent,
               ex ? "" : " (", ex ? "" : d.name, ex ? "" : ")");
    }
    printf("pledged              %s USD\n", tamctl_usd(r->pledged, b1));
    printf("received             %s USD\n", tamctl_usd(r->received, b2));
    for (uint32_t i = 0; i < r->warnings.n; i++)
        printf("%-21s%s\n", i ? "" : "warning", r->warnings.v[i]);
    if (m) {
        printf("committed            %s USD\n", tamctl_usd(m->committed, b1));
        printf("endorsed             %s USD\n", tamctl_usd(m->endorsed, b1));
        printf("available            %s USD after commitments and endorsements (%lld %s money)\n",
               tamctl_usd(m->available, b1), (long long)m->decisions,
               m->decisions == 1 ? "decision holds" : "decisions hold");
        printf("proposed             %s USD (match run %llu)\n", tamctl_usd(m->proposed, b1),
               (unsigned long long)run);
        printf("unallocated          %s USD\n", tamctl_usd(m->unallocated, b1));
    } else {
        printf("available            unknown: tam-pipeline did not answer (received %s USD before "
               "commitments and endorsements)\n",
               tamctl_usd(r->received, b1));
    }
    const tam_earmarks_t *e = p->earmarks;
    printf("earmarks\n");
    s_codes_line("countries", &e->countries, s_country_name, cat);
    s_codes_line("regional groups", &e->groups, s_group_name, cat);
    s_codes_line("M49 regions", &e->regions, s_area_name, cat);
    s_codes_line("categories", &e->categories, s_category_name, cat);
    s_codes_line("standards", &e->standards, s_standard_name, cat);
    s_codes_line("modalities", &e->modalities, s_modality_name, cat);
    printf("  %-20s%s\n", "post-conflict only", e->post_conflict_only ? "yes (mission countries of the planning context)" : "no");
    printf("  %-20s%s\n", "most per need", e->max_per_need ? tamctl_usd(e->max_per_need, b1) : "no cap");
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
        fprintf(stderr, "usage: tamctl project show ID [--revision N] [--json]\n");
        return EX_USAGE;
    }
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_key_t k = {.id = argv[optind], .revision = (int64_t)rev};
    tam_key_t lk = {.id = argv[optind]};
    tam_project_rec_t r;
    tam_ledger_list_t l;
    uint8_t *raw = NULL, *lraw = NULL;
    size_t raw_len = 0, lraw_len = 0;
    int ex = tamctl_call_raw(t, "registry", TAM_MSG_registry_project_get, &k, a, &r, NULL, &raw,
                             &raw_len);
    if (ex == 0)
        ex = tamctl_call_raw(t, "registry", TAM_MSG_registry_ledger, &lk, a, &l, NULL, &lraw,
                             &lraw_len);
    /* today's money only: a past revision shows its own totals */
    tam_money_list_t money;
    const tam_project_money_t *m = NULL;
    if (ex == 0 && !rev && s_money(t, k.id, a, &money) == 0 && money.items.n == 1)
        m = &money.items.v[0];
    if (ex == 0 && t->json) {
        /* {"record": project_rec, "ledger": [entries]} */
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, m ? 3 : 2);
        msgpack_pack_str_with_body(&pk, "record", 6);
        msgpack_sbuffer_write(&sb, (const char *)raw, raw_len);
        msgpack_pack_str_with_body(&pk, "ledger", 6);
        msgpack_pack_array(&pk, l.items.n);
        tam_codec_err_t ce;
        for (uint32_t i = 0; i < l.items.n; i++)
            tam_encode(&tam_schema_ledger_entry, &l.items.v[i], &pk, &ce);
        if (m) {
            msgpack_pack_str_with_body(&pk, "money", 5);
            tam_encode(&tam_schema_project_money, m, &pk, &ce);
        }
        regctl_print_json(sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    } else if (ex == 0) {
        s_print_project(t, &r, m, m ? money.run : 0, a);
        printf("ledger               %u entr%s%s\n", l.items.n, l.items.n == 1 ? "y" : "ies",
               rev ? " (to this day; the totals above are those of the revision)" : "");
        if (l.items.n)
            regctl_ledger_out(&l, TAMCTL_FMT_TABLE);
    }
    free(raw);
    free(lraw);
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_project_add, "project add", "[--dry-run] FILE...",
               "Add projects from JSON files (an object or an array, as tam-gen writes them).",
               "The fields of a project are in proto/PROTOCOL.md (struct project) and\n"
               "docs/registry.md, with examples in config/samples/demo/projects.json.\n"
               "A project that exists already is refused: change it with `project update`.\n"
               "Every problem is printed as FILE[i]:FIELD: message; the others are stored.\n"
               "--dry-run   the registry checks every project in full and answers as if\n"
               "            storing; nothing is stored",
               s_add)
TAMCTL_COMMAND(s_cmd_project_update, "project update", "[--if-version N] [--dry-run] FILE...",
               "Change projects from JSON files (the whole project; history is kept).",
               "Each project must exist and be pipeline or active. A project equal to the\n"
               "stored one changes nothing; totals and ledger are kept.\n"
               "--if-version N   change each only if its current revision is N (as project\n"
               "                 show gives it); otherwise refused (conflict)\n"
               "--dry-run        checked in full (if-version included); nothing is stored",
               s_update)
TAMCTL_COMMAND(s_cmd_project_close, "project close", "ID --reason TEXT [--dry-run]",
               "Close (finished) or cancel (stopped) a project; it is kept with its history.",
               "--reason TEXT       why (required; kept with the record)\n"
               "--status closed     an active project that has finished (the default)\n"
               "--status cancelled  a pipeline or active project stopped before completion\n"
               "A closed project's ledger takes adjustments only (e.g. a refund); a cancelled\n"
               "one takes nothing.\n"
               "--dry-run           checked in full; nothing is stored",
               s_close)
TAMCTL_COMMAND(s_cmd_project_list, "project list", "[--status S] [--donor D]",
               "List projects with their budgets and funding totals.",
               "--status S   only pipeline, active, closed or cancelled projects\n"
               "--donor D    only projects donor D funds\n"
               "--json       the records as JSON (project, pledged, received, revision)\n"
               "--csv        the table as CSV",
               s_list)
TAMCTL_COMMAND(s_cmd_project_show, "project show", "ID [--revision N]",
               "Show a project: funding totals, available funds, earmarks, donors, ledger.",
               "--revision N   the project as it was at revision N (1: as added)\n"
               "--json         {\"record\": the project record, \"ledger\": its entries}",
               s_show)

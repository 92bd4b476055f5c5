/* fairness.c — `tamctl report fairness`: how the current proposals share
 * the requested money out, per UN regional group, LDC / non-LDC, mission /
 * non-mission country and category, each beside the share for the whole
 * world. Following the UN rule-of-law indicators' caution it describes
 * proposals: rows come in a fixed order (groups, then status, then
 * categories), never sorted by a share, and no country is listed. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "out.h"
#include "regctl.h"
#include "tamctl.h"

typedef struct {
    const char *dim, *slice;
    int64_t needs, requested, proposed, committed;
} s_row_t;

enum { S_GROUPS = 5, S_NROWS = S_GROUPS + 2 + 2 + 4 + 1 };
static const char *const s_groups[S_GROUPS] = {"AFRICAN", "APG", "EEG", "GRULAC", "WEOG"};

/* The rows a country and category fall in (indices into rows). */
static int s_slices(const tam_country_t *c, bool mission, char cat, int out[4])
{
    int n = 0;
    for (int g = 0; g < S_GROUPS; g++)
        if (c && strcmp(c->group, s_groups[g]) == 0)
            out[n++] = g;
    out[n++] = S_GROUPS + (c && c->ldc ? 0 : 1);
    out[n++] = S_GROUPS + 2 + (mission ? 0 : 1);
    if (cat >= 'A' && cat <= 'D')
        out[n++] = S_GROUPS + 4 + (cat - 'A');
    return n;
}

static bool s_mission(const tam_context_t *ctx, const char *iso3, uint32_t date)
{
    for (uint32_t i = 0; ctx && i < ctx->missions.n; i++)
        if (strcmp(ctx->missions.v[i].country, iso3) == 0 && ctx->missions.v[i].valid_from <= date)
            return true;
    return false;
}

static void s_pct(char *buf, size_t n, int64_t part, int64_t whole)
{
    if (whole <= 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.1f%%", 100.0 * (double)part / (double)whole);
}

static int s_fairness(tamctl_t *t, int argc, char **argv)
{
    bool csv;
    int ex0 = tamctl_out_args(t, argc, argv, "report fairness [--json|--csv]", &csv);
    if (ex0)
        return ex0;
    const tam_catalog_t *cat = regctl_catalog(t);
    if (!cat)
        return EX_CONFIG;
    s_row_t rows[S_NROWS];
    memset(rows, 0, sizeof rows);
    for (int g = 0; g < S_GROUPS; g++)
        rows[g] = (s_row_t){"regional group", s_groups[g], 0, 0, 0, 0};
    rows[S_GROUPS] = (s_row_t){"LDC status", "LDC", 0, 0, 0, 0};
    rows[S_GROUPS + 1] = (s_row_t){"LDC status", "non-LDC", 0, 0, 0, 0};
    rows[S_GROUPS + 2] = (s_row_t){"mission status", "mission", 0, 0, 0, 0};
    rows[S_GROUPS + 3] = (s_row_t){"mission status", "non-mission", 0, 0, 0, 0};
    static const char *const cats[4] = {"A", "B", "C", "D"};
    for (int k = 0; k < 4; k++)
        rows[S_GROUPS + 4 + k] = (s_row_t){"category", cats[k], 0, 0, 0, 0};
    s_row_t *world = &rows[S_NROWS - 1];
    *world = (s_row_t){"world", "all", 0, 0, 0, 0};

    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    /* the run (its date decides mission status) and the planning context */
    tam_ping_t ping = {.note = "fairness"};
    tam_run_t run;
    memset(&run, 0, sizeof run);
    int ex = tamctl_call(t, "match", TAM_MSG_match_run, &ping, a, &run, "match");
    tam_context_t ctx;
    memset(&ctx, 0, sizeof ctx);
    tam_key_t key = {.id = "context"};
    bool have_ctx = false;
    if (ex == 0)
        have_ctx = tamctl_call_quiet(t, "registry", TAM_MSG_registry_context_get, &key, a,
                                     &ctx) == 0;
    /* requested: every open need */
    tam_needs_query_t nq = {.limit = 1000};
    while (ex == 0) {
        tam_need_list_t l;
        memset(&l, 0, sizeof l);
        if ((ex = tamctl_call(t, "ingest", TAM_MSG_ingest_needs, &nq, a, &l, "ingest")))
            break;
        for (uint32_t i = 0; i < l.items.n; i++) {
            const tam_need_t *n = &l.items.v[i];
            int ix[4], k = s_slices(tam_catalog_country(cat, n->country),
                                    have_ctx && s_mission(&ctx, n->country, run.date),
                                    n->category[0], ix);
            for (int q = 0; q < k; q++) {
                rows[ix[q]].needs++;
                rows[ix[q]].requested += n->cost;
            }
            world->needs++;
            world->requested += n->cost;
        }
        if (!l.next || l.items.n == 0)
            break;
        nq.after = l.next;
    }
    /* proposed and committed: every proposal of the run */
    tam_proposal_query_t pq = {.limit = 10000};
    while (ex == 0) {
        tam_proposal_list_t l;
        memset(&l, 0, sizeof l);
        if ((ex = tamctl_call(t, "match", TAM_MSG_match_proposals, &pq, a, &l, "match")))
            break;
        for (uint32_t i = 0; i < l.items.n; i++) {
            const tam_proposal_t *p = &l.items.v[i];
            bool committed = p->state == TAM_E_proposal_state_committed ||
                             p->state == TAM_E_proposal_state_delivered;
            int ix[4], k = s_slices(tam_catalog_country(cat, p->country),
                                    have_ctx && s_mission(&ctx, p->country, run.date),
                                    p->category[0], ix);
            for (int q = 0; q < k; q++) {
                rows[ix[q]].proposed += p->amount;
                rows[ix[q]].committed += committed ? p->fixed : 0;
            }
            world->proposed += p->amount;
            world->committed += committed ? p->fixed : 0;
        }
        pq.offset += l.items.n;
        if (l.items.n == 0 || pq.offset >= l.total)
            break;
    }
    if (ex) {
        tam_arena_destroy(&a);
        return ex;
    }
    static const tamctl_col_t cols[] = {
        {"dimension", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"slice", NULL, TAMCTL_STR, TAMCTL_OUT_ALL, NULL},
        {"needs", NULL, TAMCTL_INT, TAMCTL_OUT_ALL, NULL},
        {"requested", "requested USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"proposed", "proposed USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"proposed_share", "proposed", TAMCTL_STR, TAMCTL_OUT_TABLE, NULL},
        {"world_proposed_share", "world", TAMCTL_STR, TAMCTL_OUT_TABLE, NULL},
        {"committed", "committed USD", TAMCTL_USD, TAMCTL_OUT_ALL, NULL},
        {"committed_share", "committed", TAMCTL_STR, TAMCTL_OUT_TABLE, NULL},
        {"world_committed_share", "world", TAMCTL_STR, TAMCTL_OUT_TABLE, NULL},
        {NULL, NULL, 0, 0, NULL}};
    tamctl_out_t *o = tamctl_out_new(tamctl_out_format(t, csv), cols);
    if (!o) {
        tam_arena_destroy(&a);
        return EX_OSERR;
    }
    char wp[16], wc[16];
    s_pct(wp, sizeof wp, world->proposed, world->requested);
    s_pct(wc, sizeof wc, world->committed, world->requested);
    for (int r = 0; r < S_NROWS; r++) {
        char sp[16], sc[16];
        s_pct(sp, sizeof sp, rows[r].proposed, rows[r].requested);
        s_pct(sc, sizeof sc, rows[r].committed, rows[r].requested);
        tamctl_out_str(o, rows[r].dim);
        tamctl_out_str(o, rows[r].slice);
        tamctl_out_int(o, rows[r].needs);
        tamctl_out_int(o, rows[r].requested);
        tamctl_out_int(o, rows[r].proposed);
        tamctl_out_str(o, sp);
        tamctl_out_str(o, wp);
        tamctl_out_int(o, rows[r].committed);
        tamctl_out_str(o, sc);
        tamctl_out_str(o, wc);
        tamctl_out_end(o);
    }
    tamctl_out_meta_int(o, "run", (int64_t)run.run);
    tamctl_out_meta_str(o, "hash", run.hash);
    ex = tamctl_out_done(&o, stdout, 0);
    if (ex == 0 && !t->json && !csv)
        printf("\nrun %llu (input hash %.16s): shares of the requested money (open needs' cost) "
               "that the run proposes (fixed amounts included) and that donors committed, per "
               "slice, beside the same share for the world. It describes proposals; it does "
               "not rank countries.%s\n",
               (unsigned long long)run.run, run.hash,
               have_ctx ? "" : " (no planning context: every country counts as non-mission)");
    tam_arena_destroy(&a);
    return ex;
}

TAMCTL_COMMAND(s_cmd_fairness, "report fairness", "[--json|--csv]",
               "Share of the requested money proposed and committed per regional group, "
               "LDC status, mission status and category, beside the world's.",
               "  --json | --csv     machine-readable output (USD columns; shares in the "
               "table only)\n"
               "It describes proposals; it never ranks countries.",
               s_fairness)

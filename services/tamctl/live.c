/* live.c — the matcher as it runs: `tamctl watch` (proposals as they are
 * published), `tamctl wait` (until a run reflects every change made so far) and
 * `tamctl export-lp` (the current run's problem for any LP solver). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/error.h"
#include "tam/feed.h"
#include "out.h"
#include "regctl.h"
#include "tamctl.h"

/* ---- tamctl watch ----------------------------------------------------------------------- */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

#define S_MAX_FILTER 64

typedef struct {
    tamctl_t *t;
    char category;       /* filter on the topic's last part, 0: none */
    const char *countries[S_MAX_FILTER], *groups[S_MAX_FILTER];
    size_t ncountries, ngroups;
    int64_t count, max;  /* proposal changes printed / to print (0: no limit) */
    int bad;
} s_watch_t;

static bool s_in(const char *const *set, size_t n, const char *v)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (v && strcmp(set[i], v) == 0)
            return true;
    return false;
}

/* A removed pair is shown with state "removed": its decision state no longer
 * applies to anything proposed. */
static const char *s_state(const tam_proposal_t *p)
{
    return p->reason == TAM_E_change_reason_removed ? "removed"
                                                     : tam_enum_proposal_state.values[p->state];
}

static void s_watch_record(const char *topic, size_t tn, const void *body, size_t len,
                           uint64_t seq, int from_snapshot, void *arg)
{
    s_watch_t *w = arg;
    (void)seq;
    if (from_snapshot || (w->max && w->count >= w->max))
        return; /* live changes only */
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return;
    if (tn == 3 && memcmp(topic, "run", 3) == 0) {
        tam_run_t r;
        memset(&r, 0, sizeof r);
        if (!w->t->quiet && tam_decode(&tam_schema_run, body, len, a, &r, NULL) == 0) {
            char f[32], u[32];
            fprintf(stderr, "run %llu: %lld change(s), funded %s USD, unfunded %s USD, hash %.12s\n",
                    (unsigned long long)r.run, (long long)r.changed, tamctl_usd(r.funded, f),
                    tamctl_usd(r.unfunded, u), r.hash);
        }
    } else if (tn > 5 && (!w->category || topic[tn - 1] == w->category)) {
        tam_proposal_t p;
        memset(&p, 0, sizeof p);
        if (tam_decode(&tam_schema_proposal, body, len, a, &p, NULL) != 0) {
            w->bad++;
        } else if ((w->ncountries || w->ngroups) &&
                   !((w->ncountries && s_in(w->countries, w->ncountries, p.country)) ||
                     (w->ngroups && s_in(w->groups, w->ngroups, p.group)))) {
            /* not asked for */
        } else if (w->t->json) {
            json_t *o = tamctl_json_items(body, len, NULL);
            if (o && p.reason == TAM_E_change_reason_removed)
                json_object_set_new(o, "state", json_string("removed"));
            char *j = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (j) {
                puts(j);
                free(j);
            }
            json_decref(o);
            w->count++;
        } else {
            char amt[32];
            printf("run %llu %-9s %-16s %s %-12s %-12s %-10s %12s USD score %5lld rank %lld %s\n",
                   (unsigned long long)p.run, tam_enum_change_reason.values[p.reason], p.id,
                   p.country, p.standard, p.modality, p.project, tamctl_usd(p.amount, amt),
                   (long long)p.score, (long long)p.rank, s_state(&p));
            w->count++;
        }
        fflush(stdout);
    }
    tam_arena_destroy(&a);
}

static void s_watch_reset(void *arg)
{
    s_watch_t *w = arg;
    if (!w->t->quiet)
        fprintf(stderr, "(feed interrupted or tam-match restarted: resynchronising; changes in "
                        "between are not shown)\n");
}

static void s_watch_synced(uint64_t seq, void *arg)
{
    s_watch_t *w = arg;
    if (!w->t->quiet)
        fprintf(stderr, "watching %s (at sequence %llu); Ctrl-C to stop\n", w->t->cfg.match.feed,
                (unsigned long long)seq);
}

/* Checks a code against the catalogue as tam-match checks a proposals query:
 * "watch:FIELD: message" and EX_DATAERR for an unknown one. */
static int s_check_code(tamctl_t *t, const char *field, const char *v)
{
    const tam_catalog_t *cat = regctl_catalog(t);
    if (strcmp(field, "country") == 0) {
        if (strlen(v) != 3 || (cat && !tam_catalog_country(cat, v))) {
            fprintf(stderr, "watch:country: unknown country code \"%s\"\n", v);
            return EX_DATAERR;
        }
    } else if (strcmp(field, "group") == 0) {
        if (cat ? !tam_catalog_group(cat, v) : strlen(v) > 7) {
            fprintf(stderr, "watch:group: unknown regional group \"%s\" (AFRICAN, APG, EEG, GRULAC "
                            "or WEOG)\n", v);
            return EX_DATAERR;
        }
    } else if (strlen(v) != 1 || v[0] < 'A' || v[0] > 'D') {
        fprintf(stderr, "watch:category: unknown category \"%s\" (A, B, C or D)\n", v);
        return EX_DATAERR;
    }
    return 0;
}

static int s_watch(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"country", required_argument, NULL, 'C'}, {"group", required_argument, NULL, 'g'},
        {"category", required_argument, NULL, 'k'}, {"count", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},          {NULL, 0, NULL, 0}};
    const char *category = NULL;
    s_watch_t w = {.t = t};
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C':
        case 'g':
            if ((c == 'C' ? w.ncountries : w.ngroups) == S_MAX_FILTER) {
                fprintf(stderr, "tamctl watch: at most %d --%s options\n", S_MAX_FILTER,
                        c == 'C' ? "country" : "group");
                return EX_USAGE;
            }
            if ((ex = s_check_code(t, c == 'C' ? "country" : "group", tamctl_upper(optarg))))
                return ex;
            if (c == 'C')
                w.countries[w.ncountries++] = optarg;
            else
                w.groups[w.ngroups++] = optarg;
            break;
        case 'k':
            category = tamctl_upper(optarg);
            if ((ex = s_check_code(t, "category", category)))
                return ex;
            break;
        case 'n':
            if ((ex = tamctl_parse_count("--count", optarg, &w.max)))
                return ex;
            break;
        case 'j': t->json = true; break;
        default:
            fprintf(stderr, "usage: tamctl watch [--country ISO3]... [--group G]... [--category X] "
                            "[--count N] [--json]\n");
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "usage: tamctl watch [--country ISO3]... [--group G]... [--category X] "
                        "[--count N] [--json]\n");
        return EX_USAGE;
    }
    /* topics are prop/<ISO3>/<CAT>: countries alone narrow the subscription
     * (one prefix each); with groups (a proposal of a listed country or of a
     * listed group) and for a category alone, the filter is here */
    char prefix[S_MAX_FILTER][32];
    const char *prefixes[S_MAX_FILTER + 1];
    size_t np = 0;
    for (size_t i = 0; w.ngroups == 0 && i < w.ncountries; i++) {
        snprintf(prefix[np], sizeof prefix[np], "prop/%s/%s", w.countries[i],
                 category ? category : "");
        prefixes[np] = prefix[np];
        np++;
    }
    if (np == 0) {
        snprintf(prefix[0], sizeof prefix[0], "prop/");
        prefixes[np] = prefix[np];
        np++;
    }
    prefixes[np++] = "run";
    w.category = category ? category[0] : 0;
    tam_feed_callbacks_t cb = {.on_record = s_watch_record, .on_reset = s_watch_reset,
                               .on_synced = s_watch_synced, .arg = &w};
    tam_feed_client_opts_t fo = {.silence_ms = (int)(3 * t->cfg.common.heartbeat + 500),
                                 .snapshot_timeout_ms = (int)t->cfg.tamctl.timeout};
    tam_feed_client_t *fc = NULL;
    int rc = tam_feed_client_new(&fc, t->zctx, t->cfg.match.feed, t->cfg.match.snapshot,
                                 prefixes, np, &cb, &fo);
    if (rc) {
        fprintf(stderr, "tamctl: cannot follow %s: %s\n", t->cfg.match.feed, tam_strerror(rc));
        return EX_UNAVAILABLE;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    s_stop = 0;
    ex = 0;
    while (!s_stop && !(w.max && w.count >= w.max)) {
        if ((rc = tam_feed_client_run(fc, 500))) {
            fprintf(stderr, "tamctl: feed: %s\n", tam_strerror(rc));
            ex = EX_IOERR;
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    tam_feed_client_destroy(&fc);
    if (w.bad)
        fprintf(stderr, "tamctl: %d record(s) on the feed did not decode\n", w.bad);
    return ex;
}

/* ---- tamctl export-lp --------------------------------------------------------------------- */

static int s_export_lp(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'j') {
            fprintf(stderr, "usage: tamctl export-lp FILE [--json]   (- for standard output)\n");
            return EX_USAGE;
        }
        t->json = true;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: tamctl export-lp FILE [--json]   (- for standard output)\n");
        return EX_USAGE;
    }
    if (t->json && strcmp(argv[optind], "-") == 0) {
        fprintf(stderr, "tamctl export-lp: --json reports on standard output; give a FILE, not -\n");
        return EX_USAGE;
    }
    const char *path = argv[optind];
    bool out_std = strcmp(path, "-") == 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = out_std ? stdout : fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        return EX_CANTCREAT;
    }
    /* each chunk is made when asked for, but the first copies the run's
     * problem (seconds at 100k needs x 2000 projects) and a chunk waits for
     * a run being computed: a longer timeout than a query's */
    if (t->cfg.tamctl.timeout < 120000)
        t->cfg.tamctl.timeout = 120000;
    tam_lp_request_t q = {0};
    uint64_t total = 0;
    int ex = 0;
    do {
        tam_arena_t *a = tam_arena_new(0);
        tam_lp_chunk_t ch;
        memset(&ch, 0, sizeof ch);
        ex = a ? tamctl_call(t, "match", TAM_MSG_match_export_lp, &q, a, &ch, NULL) : EX_OSERR;
        if (ex == 0) {
            size_t n = strlen(ch.text);
            q.run = ch.run; /* the following chunks must come from the same run */
            total = ch.total;
            if (fwrite(ch.text, 1, n, f) != n)
                ex = EX_IOERR;
            q.offset += n;
            if (n == 0 && q.offset < total)
                ex = EX_PROTOCOL;
        }
        tam_arena_destroy(&a);
    } while (ex == 0 && q.offset < total);
    if (!out_std) {
        if (fclose(f) != 0 && ex == 0)
            ex = EX_IOERR;
        if (ex == 0 && rename(tmp, path) != 0) {
            perror(path);
            ex = EX_CANTCREAT;
        }
        if (ex)
            remove(tmp);
    } else if (fflush(stdout) != 0 && ex == 0) {
        ex = EX_IOERR;
    }
    if (ex == 0 && t->json) {
        json_t *o = json_pack("{s:s, s:I, s:I}", "file", path, "bytes", (json_int_t)total, "run",
                              (json_int_t)q.run);
        char *j = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (j)
            puts(j);
        free(j);
        json_decref(o);
    } else if (ex == 0 && !t->quiet && !out_std) {
        fprintf(stderr, "%s: %llu bytes, run %llu (re-solve with: glpsol --lp %s)\n", path,
                (unsigned long long)total, (unsigned long long)q.run, path);
    }
    return ex;
}

/* ---- tamctl wait ---------------------------------------------------------------------------- */

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The outcome of `wait --json`: state ready, timeout or unavailable, with
 * what was wanted and what the last run reflects. */
static void s_wait_json(const char *state, const char *missing, const uint64_t want[3],
                        const tam_run_t *last)
{
    json_t *o = json_pack("{s:s, s:I, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}", "state", state,
                          "run", (json_int_t)last->run, "wanted", "ingest", (json_int_t)want[0],
                          "registry", (json_int_t)want[1], "pipeline", (json_int_t)want[2],
                          "reflects", "ingest", (json_int_t)last->ingest_seq, "registry",
                          (json_int_t)last->registry_seq, "pipeline",
                          (json_int_t)last->pipeline_seq);
    if (o && missing)
        json_object_set_new(o, "unavailable", json_string(missing));
    char *j = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (j)
        puts(j);
    free(j);
    json_decref(o);
}

static int s_wait(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    int64_t timeout_s = 30;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j') {
            t->json = true;
            continue;
        }
        if (c != 't') {
            fprintf(stderr, "usage: tamctl wait [--timeout SECONDS] [--json]\n");
            return EX_USAGE;
        }
        if ((ex = tamctl_parse_count("--timeout", optarg, &timeout_s)))
            return ex;
    }
    if (optind < argc) {
        fprintf(stderr, "usage: tamctl wait [--timeout SECONDS] [--json]\n");
        return EX_USAGE;
    }
    int64_t deadline = s_mono_ms() + timeout_s * 1000;
    /* What the feeds hold now. A service that does not answer makes any
     * answer stale: wait says so and exits 69, never 0. */
    static const char *svc[] = {"ingest", "registry", "pipeline"};
    uint64_t want[3] = {0, 0, 0}, want_epoch[3] = {0, 0, 0};
    tam_run_t last;
    memset(&last, 0, sizeof last);
    t->cfg.common.request_retries = 0;
    if (t->cfg.tamctl.timeout > 1000)
        t->cfg.tamctl.timeout = 1000;
    for (int i = 0; i < 3; i++) {
        tam_arena_t *a = tam_arena_new(0);
        tam_ping_t ping = {.note = "wait"};
        tam_pong_t pong;
        memset(&pong, 0, sizeof pong);
        int rc = a ? tamctl_call_quiet(t, svc[i], TAM_MSG_sys_ping, &ping, a, &pong) : TAM_ENOMEM;
        tam_arena_destroy(&a);
        if (rc) {
            fprintf(stderr, "tamctl wait: %s does not answer at %s (%s); what tam-match shows "
                            "may be stale\n", svc[i], tamctl_endpoint(t, svc[i]), tam_strerror(rc));
            if (t->json)
                s_wait_json("unavailable", svc[i], want, &last);
            return EX_UNAVAILABLE;
        }
        want[i] = pong.feed_seq;
        want_epoch[i] = pong.feed_epoch;
    }
    bool any = false;
    int last_rc = 0;
    for (;;) {
        tam_arena_t *a = tam_arena_new(0);
        tam_ping_t ping = {0};
        tam_run_t r;
        memset(&r, 0, sizeof r);
        int rc = a ? tamctl_call_quiet(t, "match", TAM_MSG_match_run, &ping, a, &r) : TAM_ENOMEM;
        last_rc = rc;
        if (rc == 0) {
            any = true;
            last.run = r.run;
            last.ingest_seq = r.ingest_seq;
            last.registry_seq = r.registry_seq;
            last.pipeline_seq = r.pipeline_seq;
            uint64_t have[3] = {r.ingest_seq, r.registry_seq, r.pipeline_seq};
            uint64_t have_epoch[3] = {r.ingest_epoch, r.registry_epoch, r.pipeline_epoch};
            bool ok = true;
            /* The same feed (epoch: a restarted service counts from 0 again) at
             * least as far as the service was when we asked. */
            for (int i = 0; i < 3; i++)
                ok &= have[i] >= want[i] && (want_epoch[i] == 0 || have_epoch[i] == want_epoch[i]);
            if (ok) {
                if (t->json)
                    s_wait_json("ready", NULL, want, &last);
                else if (!t->quiet)
                    fprintf(stderr, "run %llu reflects ingest %llu, registry %llu, pipeline "
                                    "%llu\n", (unsigned long long)r.run,
                            (unsigned long long)r.ingest_seq, (unsigned long long)r.registry_seq,
                            (unsigned long long)r.pipeline_seq);
                tam_arena_destroy(&a);
                return EX_OK;
            }
        }
        tam_arena_destroy(&a);
        if (s_mono_ms() >= deadline)
            break;
        zmq_poll(NULL, 0, 100); /* a client's polling interval, not synchronisation */
    }
    bool unreachable = !any && (last_rc == TAM_EUNAVAIL || last_rc == TAM_ETIMEOUT);
    if (unreachable)
        fprintf(stderr, "tamctl wait: match does not answer at %s\n", tamctl_endpoint(t, "match"));
    else
        fprintf(stderr, "tamctl wait: after %lld s tam-match has %s (wanted ingest %llu, registry "
                        "%llu, pipeline %llu; last run %llu reflects %llu, %llu, %llu)\n",
                (long long)timeout_s, any ? "not caught up" : "published no run",
                (unsigned long long)want[0], (unsigned long long)want[1],
                (unsigned long long)want[2], (unsigned long long)last.run,
                (unsigned long long)last.ingest_seq, (unsigned long long)last.registry_seq,
                (unsigned long long)last.pipeline_seq);
    if (t->json)
        s_wait_json(unreachable ? "unavailable" : "timeout", unreachable ? "match" : NULL, want,
                    &last);
    return unreachable ? EX_UNAVAILABLE : EX_TEMPFAIL;
}

TAMCTL_COMMAND(s_cmd_watch, "watch", "[OPTIONS]",
               "Print proposals as tam-match publishes changes to them (Ctrl-C stops).",
               "  --country ISO3     this country's proposals (repeatable)\n"
               "  --group G          this UN regional group's proposals (repeatable); with\n"
               "                     --country: those of any listed country or group\n"
               "  --category X       only this category\n"
               "  --count N          stop after N changes\n"
               "  --json             one JSON object per line; a pair no longer proposed\n"
               "                     has state \"removed\"\n"
               "Codes are accepted in any case; unknown ones are refused (exit 65).",
               s_watch)
TAMCTL_COMMAND(s_cmd_export_lp, "export-lp", "FILE [--json]",
               "Write the current run's problem and solution in CPLEX LP format (- : stdout).",
               "  --json             report file, bytes and run as JSON (not with -)", s_export_lp)
TAMCTL_COMMAND(s_cmd_wait, "wait", "[--timeout S] [--json]",
               "Wait until tam-match has published a run reflecting the current feeds of "
               "ingest, registry and pipeline.",
               "  --timeout S        give up after S seconds (default 30)\n"
               "  --json             the outcome as JSON: state ready, timeout or unavailable\n"
               "Exit status: 0 when a run reflects every feed; 69 when a service does not\n"
               "answer (what tam-match shows may then be stale); 75 on timeout.", s_wait)

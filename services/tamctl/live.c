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
#include "tamctl.h"

/* ---- tamctl watch ----------------------------------------------------------------------- */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

typedef struct {
    tamctl_t *t;
    char category;       /* filter on the topic's last part, 0: none */
    int64_t count, max;  /* proposal changes printed / to print (0: no limit) */
    int bad;
} s_watch_t;

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
        } else if (w->t->json) {
            char *j = tam_msgpack_to_json(body, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (j) {
                puts(j);
                free(j);
            }
            w->count++;
        } else {
            char amt[32];
            printf("run %llu %-9s %-16s %s %-12s %-12s %-10s %12s USD score %5lld rank %lld %s\n",
                   (unsigned long long)p.run, tam_enum_change_reason.values[p.reason], p.id,
                   p.country, p.standard, p.modality, p.project, tamctl_usd(p.amount, amt),
                   (long long)p.score, (long long)p.rank, tam_enum_proposal_state.values[p.state]);
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

static int s_watch(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"country", required_argument, NULL, 'C'}, {"category", required_argument, NULL, 'k'},
        {"count", required_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    const char *country = NULL, *category = NULL;
    s_watch_t w = {.t = t};
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'C': country = optarg; break;
        case 'k': category = optarg; break;
        case 'n':
            if ((ex = tamctl_parse_count("--count", optarg, &w.max)))
                return ex;
            break;
        case 'j': t->json = true; break;
        default:
            fprintf(stderr, "usage: tamctl watch [--country C] [--category X] [--count N] "
                            "[--json]\n");
            return EX_USAGE;
        }
    }
    if (optind < argc || (country && strlen(country) != 3) ||
        (category && strlen(category) != 1)) {
        fprintf(stderr, "usage: tamctl watch [--country ISO3] [--category A-D] [--count N]\n");
        return EX_USAGE;
    }
    /* topics are prop/<ISO3>/<CAT>: a country narrows the subscription; a
     * category alone is filtered here */
    char prefix[32];
    if (country)
        snprintf(prefix, sizeof prefix, "prop/%s/%s", country, category ? category : "");
    else
        snprintf(prefix, sizeof prefix, "prop/");
    w.category = category && !country ? category[0] : 0;
    const char *prefixes[] = {prefix, "run"};
    tam_feed_callbacks_t cb = {.on_record = s_watch_record, .on_reset = s_watch_reset,
                               .on_synced = s_watch_synced, .arg = &w};
    tam_feed_client_opts_t fo = {.silence_ms = (int)(3 * t->cfg.common.heartbeat + 500),
                                 .snapshot_timeout_ms = (int)t->cfg.tamctl.timeout};
    tam_feed_client_t *fc = NULL;
    int rc = tam_feed_client_new(&fc, t->zctx, t->cfg.match.feed, t->cfg.match.snapshot,
                                 prefixes, 2, &cb, &fo);
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
    if (argc != 2) {
        fprintf(stderr, "usage: tamctl export-lp FILE   (- for standard output)\n");
        return EX_USAGE;
    }
    const char *path = argv[1];
    bool out_std = strcmp(path, "-") == 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = out_std ? stdout : fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        return EX_CANTCREAT;
    }
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
    if (ex == 0 && !t->quiet && !out_std)
        fprintf(stderr, "%s: %llu bytes, run %llu (re-solve with: glpsol --lp %s)\n", path,
                (unsigned long long)total, (unsigned long long)q.run, path);
    return ex;
}

/* ---- tamctl wait ---------------------------------------------------------------------------- */

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_wait(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    int64_t timeout_s = 30;
    int c, ex;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 't') {
            fprintf(stderr, "usage: tamctl wait [--timeout SECONDS]\n");
            return EX_USAGE;
        }
        if ((ex = tamctl_parse_count("--timeout", optarg, &timeout_s)))
            return ex;
    }
    if (optind < argc) {
        fprintf(stderr, "usage: tamctl wait [--timeout SECONDS]\n");
        return EX_USAGE;
    }
    int64_t deadline = s_mono_ms() + timeout_s * 1000;
    /* what the feeds hold now; a service that does not answer is not waited for */
    static const char *svc[] = {"ingest", "registry", "pipeline"};
    uint64_t want[3] = {0, 0, 0}, want_epoch[3] = {0, 0, 0};
    bool up[3] = {false, false, false};
    t->cfg.common.request_retries = 0;
    if (t->cfg.tamctl.timeout > 1000)
        t->cfg.tamctl.timeout = 1000;
    for (int i = 0; i < 3; i++) {
        tam_arena_t *a = tam_arena_new(0);
        tam_ping_t ping = {.note = "wait"};
        tam_pong_t pong;
        memset(&pong, 0, sizeof pong);
        if (a && tamctl_call_quiet(t, svc[i], TAM_MSG_sys_ping, &ping, a, &pong) == 0) {
            up[i] = true;
            want[i] = pong.feed_seq;
            want_epoch[i] = pong.feed_epoch;
        } else if (!t->quiet) {
            fprintf(stderr, "tamctl wait: %s does not answer; not waiting for it\n", svc[i]);
        }
        tam_arena_destroy(&a);
    }
    tam_run_t last;
    memset(&last, 0, sizeof last);
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
                ok &= !up[i] || (have[i] >= want[i] && (want_epoch[i] == 0 || have_epoch[i] == want_epoch[i]));
            if (ok) {
                if (!t->quiet)
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
    fprintf(stderr, "tamctl wait: after %lld s tam-match has %s (wanted ingest %llu, registry "
                    "%llu, pipeline %llu; last run %llu reflects %llu, %llu, %llu)\n",
            (long long)timeout_s,
            any ? "not caught up"
            : last_rc == TAM_EUNAVAIL || last_rc == TAM_ETIMEOUT ? "not answered"
                                                                 : "published no run",
            (unsigned long long)want[0], (unsigned long long)want[1],
            (unsigned long long)want[2], (unsigned long long)last.run,
            (unsigned long long)last.ingest_seq, (unsigned long long)last.registry_seq,
            (unsigned long long)last.pipeline_seq);
    return EX_TEMPFAIL;
}

TAMCTL_COMMAND(s_cmd_watch, "watch", "[OPTIONS]",
               "Print proposals as tam-match publishes changes to them (Ctrl-C stops).",
               "  --country ISO3     only this country's proposals\n"
               "  --category X       only this category\n"
               "  --count N          stop after N changes\n"
               "  --json             one JSON object per line",
               s_watch)
TAMCTL_COMMAND(s_cmd_export_lp, "export-lp", "FILE",
               "Write the current run's problem and solution in CPLEX LP format (- : stdout).",
               NULL, s_export_lp)
TAMCTL_COMMAND(s_cmd_wait, "wait", "[--timeout S]",
               "Wait until tam-match has published a run reflecting the current feeds of "
               "ingest, registry and pipeline (exit 75 on timeout).",
               "  --timeout S        give up after S seconds (default 30)", s_wait)

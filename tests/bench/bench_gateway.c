/* bench_gateway — tam-gateway's cost, measured against a baseline in the
 * same run (issue 12):
 *   1. `GET /v1/proposals?limit=50` throughput and latency of the real
 *      tam-gateway (bearer token, on behalf of the viewer, match.proposals
 *      over CURVE to the real tam-match) against a libmicrohttpd server, in
 *      this process, with the same daemon options, that answers a fixed body
 *      of the same size. Keep-alive connections, alternating rounds; the
 *      medians of the rounds. Goal: at least 0.5 of the baseline's requests/s.
 *   2. Time from a reply submitted over HTTP (POST /v1/replies, as admin) to
 *      its change on GET /v1/stream: the run that reflects it (`event: run`)
 *      and the first proposal for one of its needs, p50 and p99, with the
 *      services loaded with tam-gen's data at about 20k needs x 500 projects.
 * The five services run in curve mode from the directory of this program
 * (build/bin), on ipc:// endpoints in a temporary directory, with default
 * settings otherwise. Run from the repository root (it reads config/).
 *   bench_gateway [-r REPLIES] [-p PROJECTS] [-n REQUESTS] [-c CONNECTIONS] [-k SAMPLES]
 *   defaults: -r 4000 (about 20k needs) -p 500 -n 3000 -c 4 -k 40
 * Prints RESULT rows and GOAL lines (scripts/bench). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zmq.h>
#include "../integration/services_harness.h"

static unsigned g_gw_port, g_base_port;
static char g_viewer[200], g_admin[200];
static pid_t g_gw;

static double s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double s_pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, s_cmp);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static double s_median3(double a, double b, double c)
{
    double v[3] = {a, b, c};
    qsort(v, 3, sizeof *v, s_cmp);
    return v[1];
}

/* ---- HTTP/1.1 over a keep-alive socket ----------------------------------------- */

static int s_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static bool s_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* One request on fd; the answer's status, and its body in *body (malloc'd,
 * may be NULL). Returns the status, or -1. */
static int s_request(int fd, const char *method, const char *path, const char *token,
                     const char *body, char **out)
{
    char head[1024];
    int hn = body ? snprintf(head, sizeof head,
                             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                             method, path, token, strlen(body))
                  : snprintf(head, sizeof head,
                             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n",
                             method, path, token);
    if (!s_write_all(fd, head, (size_t)hn) || (body && !s_write_all(fd, body, strlen(body))))
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    char *eoh = NULL;
    while (!(eoh = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL)) {
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + len, cap - len);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)r;
    }
    int status = -1;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    size_t clen = 0;
    for (char *p = buf; p < eoh; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            clen = strtoul(p + 15, NULL, 10);
    size_t hlen = (size_t)(eoh - buf) + 4;
    while (len < hlen + clen) {
        if (hlen + clen + 1 > cap)
            buf = realloc(buf, cap = hlen + clen + 1);
        ssize_t r = read(fd, buf + len, cap - len);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)r;
    }
    if (out) {
        *out = malloc(clen + 1);
        memcpy(*out, buf + hlen, clen);
        (*out)[clen] = 0;
    }
    free(buf);
    return status;
}

/* ---- the baseline: libmicrohttpd, a fixed body ------------------------------------ */

static char *g_fixed;
static size_t g_fixed_len;

static enum MHD_Result s_fixed(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *up,
                               size_t *up_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)up, (void)up_size;
    static int seen;
    if (!*con_cls) { /* as tam-gateway: answer once the request is complete */
        *con_cls = &seen;
        return MHD_YES;
    }
    struct MHD_Response *res =
        MHD_create_response_from_buffer(g_fixed_len, g_fixed, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, res);
    MHD_destroy_response(res);
    return ret;
}

/* ---- load: C connections, N requests in all ------------------------------------------ */

typedef struct {
    unsigned port;
    size_t n;
    double *lat;
    int errors;
} s_load_t;

static void *s_loader(void *arg)
{
    s_load_t *l = arg;
    int fd = s_connect(l->port);
    for (size_t i = 0; i < l->n; i++) {
        double t0 = s_ms();
        int st = fd >= 0 ? s_request(fd, "GET", "/v1/proposals?limit=50", g_viewer, NULL, NULL) : -1;
        l->lat[i] = s_ms() - t0;
        if (st != 200) {
            if (l->errors++ < 3)
                fprintf(stderr, "port %u: request %zu: status %d (%s)\n", l->port, i, st,
                        fd < 0 ? strerror(errno) : "answer");
            if (fd >= 0)
                close(fd);
            fd = s_connect(l->port);
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Requests/s and p99 (ms) of port under conns connections, n requests. */
static int s_load(unsigned port, size_t n, int conns, double *rps, double *p99, double *p50)
{
    pthread_t th[64];
    s_load_t l[64];
    double *lat = calloc(n, sizeof *lat);
    size_t per = n / (size_t)conns;
    double t0 = s_ms();
    for (int i = 0; i < conns; i++) {
        l[i] = (s_load_t){port, per, lat + (size_t)i * per, 0};
        pthread_create(&th[i], NULL, s_loader, &l[i]);
    }
    int errors = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        errors += l[i].errors;
    }
    double secs = (s_ms() - t0) / 1e3;
    *rps = (double)(per * (size_t)conns) / secs;
    *p50 = s_pct(lat, per * (size_t)conns, 0.50);
    *p99 = s_pct(lat, per * (size_t)conns, 0.99);
    free(lat);
    return errors;
}

/* ---- the stream: a reader thread that timestamps each event ------------------------------- */

typedef struct {
    double t;
    char kind;          /* 'r' run, 'p' proposal, 'x' reset */
    uint64_t need, ingest_seq;
} s_ev_t;

static struct {
    int fd;
    pthread_mutex_t mu;
    s_ev_t *ev;
    size_t n, cap;
    volatile bool stop;
} g_sse = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t s_u64(json_t *v)
{
    return json_is_string(v) ? strtoull(json_string_value(v), NULL, 10)
                             : (uint64_t)json_integer_value(v);
}

static void *s_sse_reader(void *arg)
{
    (void)arg;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    while (!g_sse.stop) {
        struct pollfd p = {g_sse.fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        if (len + 65536 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(g_sse.fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        double t = s_ms();
        len += (size_t)r;
        buf[len] = 0;
        char *start = buf, *end;
        while ((end = strstr(start, "\n\n"))) {
            *end = 0;
            char *ev = strstr(start, "event: "), *data = strstr(start, "data: ");
            if (ev && data) {
                s_ev_t e = {.t = t, .kind = ev[7] == 'r' && ev[8] == 'u' ? 'r'
                                            : ev[7] == 'p'                 ? 'p'
                                                                           : 'x'};
                json_t *j = json_loads(data + 6, 0, NULL);
                e.need = s_u64(json_object_get(j, "need"));
                e.ingest_seq = s_u64(json_object_get(j, "ingest_seq"));
                json_decref(j);
                pthread_mutex_lock(&g_sse.mu);
                if (g_sse.n == g_sse.cap)
                    g_sse.ev = realloc(g_sse.ev, (g_sse.cap = g_sse.cap ? 2 * g_sse.cap : 4096) *
                                                     sizeof *g_sse.ev);
                g_sse.ev[g_sse.n++] = e;
                pthread_mutex_unlock(&g_sse.mu);
            }
            start = end + 2;
        }
        memmove(buf, start, len - (size_t)(start - buf) + 1);
        len -= (size_t)(start - buf);
    }
    free(buf);
    return NULL;
}

/* ---- setup -------------------------------------------------------------------------------- */

static unsigned s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

static int s_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void s_token(h_t *h, const char *who, char *out, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.token", h->dir, who);
    s_sh("'%s/tamctl' -c '%s' keys token %s > '%s'", h->bin, h->cfg, who, path);
    char *t = s_slurp(path);
    snprintf(out, cap, "%.*s", t ? (int)strcspn(t, "\n") : 0, t ? t : "");
    free(t);
}

static int s_gateway_start(h_t *h)
{
    char exe[600], log[200];
    snprintf(exe, sizeof exe, "%s/tam-gateway", h->bin);
    snprintf(log, sizeof log, "%s/gateway.log", h->dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(exe, exe, "-c", h->cfg, (char *)NULL);
        _exit(127);
    }
    g_gw = pid;
    for (int i = 0; i < 600; i++) {
        int fd = s_connect(g_gw_port);
        if (fd >= 0) {
            char *b = NULL;
            int st = s_request(fd, "GET", "/v1/ready", g_viewer, NULL, &b);
            free(b);
            close(fd);
            if (st == 200)
                return 0;
        }
        usleep(100 * 1000); /* polling the child's readiness */
    }
    return -1;
}

int main(int argc, char **argv)
{
    int replies = 4000, projects = 500, conns = 4, samples = 40;
    size_t requests = 3000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-r") == 0)
            replies = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-p") == 0)
            projects = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-n") == 0)
            requests = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-c") == 0)
            conns = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-k") == 0)
            samples = atoi(argv[i + 1]);
    }
    if (conns < 1 || conns > 64 || samples < 1 || replies < samples + 1) {
        fprintf(stderr, "usage: bench_gateway [-r REPLIES] [-p PROJECTS] [-n REQUESTS] "
                        "[-c CONNECTIONS<=64] [-k SAMPLES<REPLIES]\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    /* This program's directory holds the binaries; the source tree is the cwd. */
    static char bin[PATH_MAX], src[PATH_MAX];
    ssize_t bl = readlink("/proc/self/exe", bin, sizeof bin - 1);
    if (bl <= 0)
        return 1;
    bin[bl] = 0;
    *strrchr(bin, '/') = 0;
    if (!getenv("TAM_SOURCE_DIR") && getcwd(src, sizeof src))
        setenv("TAM_SOURCE_DIR", src, 1);
    setenv("TAM_BIN_DIR", bin, 0);
    h_t *h = h_new("bench_gateway", NULL);
    if (!h)
        return 1;
    g_gw_port = s_free_port();
    FILE *f = fopen(h->cfg, "a");
    fprintf(f, "[gateway]\nport = %u\ntimeout = 30s\n", g_gw_port);
    fclose(f);

    /* The data: tam-gen at REPLIES x PROJECTS; the last SAMPLES replies are
     * held back for the latency samples. */
    fprintf(stderr, "generating %d replies, %d projects\n", replies, projects);
    if (s_sh("'%s/tam-gen' --seed 12 --replies %d --projects %d --out '%s/gen' >&2", h->bin,
             replies, projects, h->dir) ||
        s_sh("mkdir -p '%s/held' && ls '%s/gen/replies' | sort | tail -n %d | "
             "while read f; do mv \"%s/gen/replies/$f\" '%s/held/'; done",
             h->dir, h->dir, samples, h->dir, h->dir))
        return 1;
    for (int s = 0; s < S_N; s++)
        if (s_start(h, s) != 0) {
            fprintf(stderr, "tam-%s did not start (see %s)\n", s_names[s], h->dir);
            return 1;
        }
    double t0 = s_ms();
    char pre[900];
    snprintf(pre, sizeof pre, "'%s/tamctl' -c '%s' -q", h->bin, h->cfg);
    if (s_sh("%s donor add '%s/gen/donors.json' && %s project add '%s/gen/projects.json' && "
             "%s ledger import '%s/gen/ledger.json' && %s context set '%s/gen/context.json' && "
             "%s submit '%s'/gen/replies/*.json && %s wait --timeout 900 >&2",
             pre, h->dir, pre, h->dir, pre, h->dir, pre, h->dir, pre, h->dir, pre)) {
        fprintf(stderr, "loading the data failed\n");
        return 1;
    }
    fprintf(stderr, "loaded in %.1f s\n", (s_ms() - t0) / 1e3);
    s_token(h, "viewer", g_viewer, sizeof g_viewer);
    s_token(h, "admin", g_admin, sizeof g_admin);
    if (s_tamctl(h, NULL, NULL, "status", NULL) != 0)
        fprintf(stderr, "tamctl status failed\n");
    if (s_gateway_start(h) != 0) {
        fprintf(stderr, "tam-gateway did not get ready (see %s/gateway.log)\n", h->dir);
        return 1;
    }
    /* The run's size. */
    int fd = s_connect(g_gw_port);
    char *body = NULL;
    s_request(fd, "GET", "/v1/runs/current", g_viewer, NULL, &body);
    json_t *run = json_loads(body ? body : "", 0, NULL);
    long long needs = (long long)json_integer_value(json_object_get(run, "needs"));
    long long nproj = (long long)json_integer_value(json_object_get(run, "projects"));
    long long pairs = (long long)json_integer_value(json_object_get(run, "pairs"));
    json_decref(run);
    free(body);
    body = NULL;
    printf("  run: %lld open needs, %lld active projects, %lld eligible pairs\n", needs, nproj, pairs);

    /* 1. Throughput against the fixed-body baseline (same size, same MHD options). */
    int st = s_request(fd, "GET", "/v1/proposals?limit=50", g_viewer, NULL, &body);
    close(fd);
    if (st != 200 || !body) {
        fprintf(stderr, "GET /v1/proposals?limit=50: %d\n", st);
        return 1;
    }
    g_fixed = body;
    g_fixed_len = strlen(body);
    g_base_port = s_free_port();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_base_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
        s_fixed, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
        256u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)65536, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d)
        return 1;
    double grps[3], gp99[3], gp50[3], brps[3], bp99[3], bp50[3];
    int gerr = 0, berr = 0;
    s_load(g_gw_port, requests / 10, conns, &grps[0], &gp99[0], &gp50[0]); /* warm-up */
    for (int r = 0; r < 3; r++) {
        berr += s_load(g_base_port, requests, conns, &brps[r], &bp99[r], &bp50[r]);
        gerr += s_load(g_gw_port, requests, conns, &grps[r], &gp99[r], &gp50[r]);
        printf("  round %d: gateway %.0f req/s p50 %.2f ms p99 %.2f ms; baseline %.0f req/s "
               "p50 %.2f ms p99 %.2f ms\n", r + 1, grps[r], gp50[r], gp99[r], brps[r], bp50[r], bp99[r]);
    }
    MHD_stop_daemon(d);
    double g = s_median3(grps[0], grps[1], grps[2]), b = s_median3(brps[0], brps[1], brps[2]);
    double g99 = s_median3(gp99[0], gp99[1], gp99[2]), b99 = s_median3(bp99[0], bp99[1], bp99[2]);
    printf("  body %zu bytes, %d connections, %zu requests a round, errors: gateway %d, baseline %d\n",
           g_fixed_len, conns, requests, gerr, berr);
    printf("RESULT\tgateway\tGET /v1/proposals?limit=50 req/s\t%.0f\tMHD fixed body, same size\t%.0f\t%.3f\t>= 0.5\n",
           g, b, g / b);
    printf("RESULT\tgateway\tGET /v1/proposals?limit=50 p99 ms\t%.2f\tMHD fixed body, same size\t%.2f\t%.3f\t-\n",
           g99, b99, g99 / b99);
    /* What each request would cost without the gateway's answer cache: the
     * same question straight to tam-match over CURVE (as admin), one at a
     * time as the gateway's one HTTP thread asks. */
    {
        char ep[200];
        snprintf(ep, sizeof ep, "ipc://%s/run/match.req", h->dir);
        tam_rpc_client_t *c = NULL;
        static const uint8_t q[] = {0x81, 0xa5, 'l', 'i', 'm', 'i', 't', 0x32};
        double rr[3];
        for (int r = 0; r < 3 && tam_rpc_client_new(&c, h->zctx, ep, 10000, 1) == 0; r++) {
            double t1 = s_ms();
            size_t k = 0;
            for (; k < requests; k++) {
                tam_rpc_answer_t ans = {0};
                if (tam_rpc_call(c, "match.proposals", q, sizeof q, &ans) || ans.status != TAM_RPC_OK)
                    break;
                tam_rpc_answer_clear(&ans);
            }
            rr[r] = (double)k / ((s_ms() - t1) / 1e3);
            tam_rpc_client_destroy(&c);
        }
        double direct = s_median3(rr[0], rr[1], rr[2]);
        printf("RESULT\tgateway\tmatch.proposals limit=50 straight to tam-match over CURVE req/s (every request, as without the cache)\t%.0f\tMHD fixed body, same size\t%.0f\t%.3f\t-\n",
               direct, b, direct / b);
        printf("RESULT\tgateway\tGET /v1/proposals?limit=50 req/s\t%.0f\tmatch.proposals direct over CURVE\t%.0f\t%.3f\t-\n",
               g, direct, g / direct);
    }
    printf("GOAL gateway-proposals: %.3f (goal >= 0.5) %s\n", g / b,
           g / b >= 0.5 && gerr == 0 ? "met" : "not met");

    /* 2. Reply over HTTP -> its change on the stream. */
    g_sse.fd = s_connect(g_gw_port);
    char req[512];
    /* HTTP/1.0: the events come unchunked, until the connection closes. */
    int rn = snprintf(req, sizeof req, "GET /v1/stream HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                                       "Authorization: Bearer %s\r\n\r\n", g_viewer);
    s_write_all(g_sse.fd, req, (size_t)rn);
    pthread_t reader;
    pthread_create(&reader, NULL, s_sse_reader, NULL);
    double *t_run = calloc((size_t)samples, sizeof *t_run),
           *t_prop = calloc((size_t)samples, sizeof *t_prop);
    size_t nrun = 0, nprop = 0;
    DIR *held = NULL;
    char hdir[200];
    snprintf(hdir, sizeof hdir, "%s/held", h->dir);
    char **files = calloc((size_t)samples, sizeof *files);
    size_t nfiles = 0;
    if ((held = opendir(hdir))) {
        struct dirent *de;
        while ((de = readdir(held)) && nfiles < (size_t)samples)
            if (de->d_name[0] != '.')
                files[nfiles++] = strdup(de->d_name);
        closedir(held);
    }
    for (size_t i = 0; i < nfiles; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", hdir, files[i]);
        char *reply = s_slurp(path);
        pthread_mutex_lock(&g_sse.mu);
        size_t from = g_sse.n;
        pthread_mutex_unlock(&g_sse.mu);
        double ts = s_ms();
        char *ack = NULL;
        int post = s_connect(g_gw_port); /* a client of its own, as a respondent's system */
        st = s_request(post, "POST", "/v1/replies", g_admin, reply, &ack);
        close(post);
        free(reply);
        json_t *a = json_loads(ack ? ack : "", 0, NULL);
        free(ack);
        if (st != 200 || !a) {
            fprintf(stderr, "POST /v1/replies (%s): %d\n", files[i], st);
            json_decref(a);
            continue;
        }
        json_t *ids = json_object_get(a, "need_ids");
        /* Wait (at most 60 s) for the run after it, then (2 s more: they follow their run) for a
         * proposal of one of its needs. */
        double got_run = 0, got_prop = 0, deadline = s_ms() + 60000;
        while (s_ms() < deadline && !(got_run && (got_prop || s_ms() > got_run + 2000))) {
            pthread_mutex_lock(&g_sse.mu);
            for (size_t k = from; k < g_sse.n; k++) {
                const s_ev_t *e = &g_sse.ev[k];
                if (e->kind == 'r' && !got_run)
                    got_run = e->t;
                if (e->kind == 'p' && !got_prop)
                    for (size_t x = 0; x < json_array_size(ids); x++)
                        if ((uint64_t)json_integer_value(json_array_get(ids, x)) == e->need)
                            got_prop = e->t; /* need ids are integers (proto: U64S) */
            }
            from = g_sse.n;
            pthread_mutex_unlock(&g_sse.mu);
            usleep(2000); /* the reader thread timestamps; this only collects */
        }
        json_decref(a);
        if (got_run)
            t_run[nrun++] = got_run - ts;
        if (got_prop)
            t_prop[nprop++] = got_prop - ts;
        /* Let the run's proposals drain before the next sample. */
        usleep(300 * 1000);
    }
    g_sse.stop = true;
    pthread_join(reader, NULL);
    close(g_sse.fd);
    double r50 = s_pct(t_run, nrun, 0.5), r99 = s_pct(t_run, nrun, 0.99);
    double p50 = s_pct(t_prop, nprop, 0.5), p99 = s_pct(t_prop, nprop, 0.99);
    printf("  %zu replies over HTTP: %zu runs seen on the stream within 60 s (a reply that changes "
           "nothing the matcher uses makes none), %zu with a proposal of their needs\n",
           nfiles, nrun, nprop);
    printf("RESULT\tgateway\treply POST -> its run on /v1/stream, p50 ms (%lld needs x %lld projects)\t%.0f\t-\t-\t-\t-\n",
           needs, nproj, r50);
    printf("RESULT\tgateway\treply POST -> its run on /v1/stream, p99 ms\t%.0f\t-\t-\t-\t-\n", r99);
    printf("RESULT\tgateway\treply POST -> a proposal of its needs on /v1/stream, p50 ms\t%.0f\t-\t-\t-\t-\n", p50);
    printf("RESULT\tgateway\treply POST -> a proposal of its needs on /v1/stream, p99 ms\t%.0f\t-\t-\t-\t-\n", p99);
    /* "Fast enough to feel live" (DESIGN.md section 6): the change is on
     * the stream within 2 s for 99 in 100 replies. */
    printf("GOAL gateway-stream-latency: p50 %.0f ms, p99 %.0f ms to the run, p50 %.0f ms, p99 %.0f ms "
           "to a proposal, at %lld needs x %lld projects (goal p99 <= 2000 ms) %s\n",
           r50, r99, p50, p99, needs, nproj, nrun > 0 && r99 <= 2000 ? "met" : "not met");
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    free(t_run);
    free(t_prop);
    free(g_sse.ev);
    free(g_fixed);
    kill(g_gw, SIGTERM);
    waitpid(g_gw, NULL, 0);
    h_free(h);
    return 0;
}

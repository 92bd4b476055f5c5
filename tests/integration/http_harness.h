/* http_harness.h — an HTTP client for the gateway's integration tests: one
 * request through libcurl (bearer token per demo person, status, body,
 * Content-Type, ETag, Link), problem+json assertions, and a small JSON
 * Schema validator that checks answers against /v1/openapi.json.
 * The test defines H, s_port, s_tokens and s_openapi_doc (and, for the
 * fixture at the end, s_people and s_gw) before including this header (after
 * <cmocka.h>, <curl/curl.h>, <jansson.h> and services_harness.h). */
#ifndef TAM_HTTP_HARNESS_H
#define TAM_HTTP_HARNESS_H
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
typedef struct {
    long status;
    char *body;
    size_t len;
    char ctype[128], etag[80], link[1024];
} resp_t;

static size_t s_write(char *p, size_t sz, size_t n, void *arg)
{
    resp_t *r = arg;
    size_t add = sz * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    b[r->len] = 0;
    return add;
}

static void s_hdrcopy(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    while (n && *v == ' ')
        v++, n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static size_t s_header(char *p, size_t sz, size_t n, void *arg)
{
    resp_t *r = arg;
    size_t len = sz * n;
    if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
        s_hdrcopy(r->ctype, sizeof r->ctype, p + 13, len - 13);
    else if (len > 5 && strncasecmp(p, "ETag:", 5) == 0)
        s_hdrcopy(r->etag, sizeof r->etag, p + 5, len - 5);
    else if (len > 5 && strncasecmp(p, "Link:", 5) == 0)
        s_hdrcopy(r->link, sizeof r->link, p + 5, len - 5);
    return len;
}

static void s_conforms(const char *method, const char *route, const resp_t *r);
static void s_conforms_any(const char *method, const char *path, const resp_t *r);

/* One request; who: T_* (T_NONE: no token). hdr: one extra header or NULL.
 * Every JSON answer is validated against /v1/openapi.json (once fetched). */
static resp_t s_http(const char *method, int who, const char *path, const char *body,
                     const char *hdr)
{
    resp_t r = {0};
    char url[1400], auth[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", s_port, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    if (who >= 0) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_tokens[who]);
        h = curl_slist_append(h, auth);
    }
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (hdr)
        h = curl_slist_append(h, hdr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = strdup("");
    s_conforms_any(method, path, &r);
    return r;
}

static json_t *s_json(const resp_t *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    if (!j)
        fail_msg("not JSON (status %ld): %s", r->status, r->body);
    return j;
}

/* A subset of JSON Schema (type, oneOf, enum, required, properties,
 * additionalProperties false, items, $ref, minimum, maximum): enough for the
 * schemas the gateway generates from proto/. Returns NULL or what failed. */
static const char *s_valid(const json_t *schema, const json_t *v, char *where, size_t cap)
{
    static char why[512];
    const char *ref = json_string_value(json_object_get(schema, "$ref"));
    if (ref) {
        const char *name = strrchr(ref, '/') + 1;
        schema = json_object_get(json_object_get(json_object_get(s_openapi_doc, "components"),
                                                 "schemas"), name);
        if (!schema) {
            snprintf(why, sizeof why, "%s: no schema %s", where, name);
            return why;
        }
    }
    json_t *one = json_object_get(schema, "oneOf");
    if (one) {
        size_t matched = 0;
        for (size_t i = 0; i < json_array_size(one); i++)
            matched += s_valid(json_array_get(one, i), v, where, cap) == NULL;
        if (matched != 1) {
            snprintf(why, sizeof why, "%s: matches %zu of oneOf", where, matched);
            return why;
        }
        return NULL;
    }
    const char *type = json_string_value(json_object_get(schema, "type"));
    bool ok = !type || (strcmp(type, "object") == 0 && json_is_object(v)) ||
              (strcmp(type, "array") == 0 && json_is_array(v)) ||
              (strcmp(type, "string") == 0 && json_is_string(v)) ||
              (strcmp(type, "integer") == 0 && json_is_integer(v)) ||
              (strcmp(type, "boolean") == 0 && json_is_boolean(v));
    if (!ok) {
        snprintf(why, sizeof why, "%s: not of type %s", where, type);
        return why;
    }
    json_t *en = json_object_get(schema, "enum");
    if (en) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(en); i++)
            found |= json_equal(json_array_get(en, i), (json_t *)v);
        if (!found) {
            snprintf(why, sizeof why, "%s: not one of the enum", where);
            return why;
        }
    }
    json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
    if (json_is_integer(v) && ((mn && json_integer_value(v) < json_integer_value(mn)) ||
                               (mx && json_integer_value(v) > json_integer_value(mx)))) {
        snprintf(why, sizeof why, "%s: out of range", where);
        return why;
    }
    size_t wl = strlen(where);
    if (json_is_object(v)) {
        json_t *props = json_object_get(schema, "properties"), *req = json_object_get(schema, "required");
        for (size_t i = 0; i < json_array_size(req); i++)
            if (!json_object_get(v, json_string_value(json_array_get(req, i)))) {
                snprintf(why, sizeof why, "%s: required %s missing", where,
                         json_string_value(json_array_get(req, i)));
                return why;
            }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            json_t *ps = json_object_get(props, k);
            if (!ps && json_is_false(json_object_get(schema, "additionalProperties"))) {
                snprintf(why, sizeof why, "%s: property %s not in the schema", where, k);
                return why;
            }
            snprintf(where + wl, cap - wl, "/%s", k);
            const char *e = ps ? s_valid(ps, x, where, cap) : NULL;
            where[wl] = 0;
            if (e)
                return e;
        }
    } else if (json_is_array(v) && json_object_get(schema, "items")) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            snprintf(where + wl, cap - wl, "/%zu", i);
            const char *e = s_valid(json_object_get(schema, "items"), json_array_get(v, i), where, cap);
            where[wl] = 0;
            if (e)
                return e;
        }
    }
    return NULL;
}

/* Validates an answer of method path (a route template of the document)
 * against the document: its 200 schema, or the Problem schema. */
static void s_conforms(const char *method, const char *route, const resp_t *r)
{
    if (!s_openapi_doc || r->status == 304 || !r->body[0])
        return;
    json_t *op = json_object_get(json_object_get(json_object_get(s_openapi_doc, "paths"), route), method);
    if (!op)
        fail_msg("%s %s is not in the OpenAPI document", method, route);
    json_t *schema;
    if (r->status == 200)
        schema = json_object_get(json_object_get(json_object_get(json_object_get(
                     json_object_get(op, "responses"), "200"), "content"), "application/json"), "schema");
    else
        schema = json_object_get(json_object_get(json_object_get(s_openapi_doc, "components"),
                                                 "schemas"), "Problem");
    json_t *v = json_loads(r->body, 0, NULL);
    char where[512] = "";
    const char *e = v && schema ? s_valid(schema, v, where, sizeof where) : "no schema or not JSON";
    if (e)
        fail_msg("%s %s (%ld) does not conform to /v1/openapi.json: %s", method, route, r->status, e);
    json_decref(v);
}

/* The path template of the document that path (a query is ignored)
 * matches, literal segments first; NULL if none. */
static const char *s_route_of(const char *path)
{
    json_t *paths = json_object_get(s_openapi_doc, "paths");
    const char *tmpl, *best = NULL;
    int best_lit = -1;
    json_t *item;
    size_t plen = strcspn(path, "?");
    json_object_foreach(paths, tmpl, item) {
        const char *t = tmpl, *p = path, *end = path + plen;
        int lit = 0;
        bool ok = true;
        while (ok && *t && p < end) {
            if (*t == '{') {
                const char *close = strchr(t, '}');
                size_t n = 0;
                while (p + n < end && p[n] != '/')
                    n++;
                ok = close && n > 0;
                t = close ? close + 1 : t;
                p += n;
            } else {
                ok = *t++ == *p++;
                lit++;
            }
        }
        if (ok && !*t && p == end && lit > best_lit) {
            best = tmpl;
            best_lit = lit;
        }
    }
    return best;
}

/* Validates any JSON answer (application/json or problem+json) of method
 * path against the document: 200 by its route's schema, errors by Problem.
 * CSV, text and 304 answers carry no JSON to check. */
static void s_conforms_any(const char *method, const char *path, const resp_t *r)
{
    if (!s_openapi_doc || r->status == 0 || r->status == 304 || !r->body[0] ||
        !(strcmp(r->ctype, "application/json") == 0 ||
          strcmp(r->ctype, "application/problem+json") == 0))
        return;
    const char *route = s_route_of(path);
    char m[8];
    size_t i = 0;
    for (; method[i] && i < sizeof m - 1; i++)
        m[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] - 'A' + 'a' : method[i]);
    m[i] = 0;
    if (r->status != 200 && (!route || !json_object_get(json_object_get(json_object_get(
                                            s_openapi_doc, "paths"), route), m)))
        route = "/v1/proposals", strcpy(m, "get"); /* errors share the Problem schema */
    if (!route)
        fail_msg("%s %s answered 200 but is not in /v1/openapi.json", method, path);
    s_conforms(m, route, r);
}

/* Asserts a problem+json answer of status whose errors name pointer. */
static void s_problem(resp_t *r, long status, const char *pointer)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld: %s", r->status, status, r->body);
    s_conforms("get", "/v1/proposals", r); /* any route: errors share the Problem schema */
    assert_string_equal(r->ctype, "application/problem+json");
    json_t *j = s_json(r);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_non_null(json_string_value(json_object_get(j, "title")));
    assert_non_null(json_string_value(json_object_get(j, "detail")));
    json_t *errs = json_object_get(j, "errors");
    assert_true(json_array_size(errs) >= 1);
    if (pointer) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(errs); i++)
            found |= strcmp(json_string_value(json_object_get(json_array_get(errs, i), "pointer")),
                            pointer) == 0;
        if (!found)
            fail_msg("no error with pointer %s in %s", pointer, r->body);
    }
    json_decref(j);
}

static void s_free(resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

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

/* ---- the gateway fixture ---------------------------------------------------------
 * The four services in curve mode, the sample data, a token per person of
 * s_people[] (s_tokens[i]), and tam-gateway on a free port (s_gw, s_port)
 * with the OpenAPI document it serves (s_openapi_doc). The test defines
 * s_people[] and s_gw besides the names above. */

enum {
    GW_LEDGER = 1,  /* the sample ledger */
    GW_CONTEXT = 2, /* the sample planning context */
    GW_WAIT = 4,    /* after the replies: wait for tam-match's run */
};

/* Starts tam-gateway with H's config (its log in H->dir/gateway.log) and
 * waits until it serves /v1/openapi.json. Returns 0 or -1. */
static __attribute__((unused)) int gw_start(void)
{
    char exe[512], log[160];
    snprintf(exe, sizeof exe, "%s/tam-gateway", H->bin);
    snprintf(log, sizeof log, "%s/gateway.log", H->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(exe, exe, "-c", H->cfg, (char *)NULL);
        _exit(127);
    }
    s_gw = pid;
    json_decref(s_openapi_doc);
    s_openapi_doc = NULL;
    for (int i = 0; i < 200 && !s_openapi_doc; i++) {
        resp_t r = s_http("GET", T_NONE, "/v1/openapi.json", NULL, NULL);
        if (r.status == 200)
            s_openapi_doc = json_loads(r.body, 0, NULL);
        s_free(&r);
        if (!s_openapi_doc) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL); /* polling the child's readiness */
        }
    }
    return s_openapi_doc ? 0 : -1;
}

/* The whole fixture: services named name, "[gateway] port = ..." followed by
 * the lines gateway_cfg, the sample donors and projects, what load asks
 * (GW_*), the sample replies listed in replies[] (NULL-terminated, may be
 * NULL), the tokens, tam-gateway. Returns 0 or -1. */
static __attribute__((unused)) int gw_setup(const char *name, const char *gateway_cfg,
                                            unsigned load, const char *const *replies)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    H = h_new(name, NULL);
    if (!H)
        return -1;
    s_port = s_free_port();
    FILE *f = fopen(H->cfg, "a");
    if (!f)
        return -1;
    fprintf(f, "[gateway]\nport = %u\n%s", s_port, gateway_cfg ? gateway_cfg : "");
    fclose(f);
    for (int s = 0; s < S_N; s++)
        if (s_start(H, s) != 0)
            return -1;
    static const struct {
        unsigned when;
        const char *cmd, *verb, *file;
    } data[] = {{0, "donor", "add", "donors.json"},
                {0, "project", "add", "projects.json"},
                {GW_LEDGER, "ledger", "import", "ledger.json"},
                {GW_CONTEXT, "context", "set", "context.json"}};
    char p[600];
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) {
        if (data[i].when && !(load & data[i].when))
            continue;
        snprintf(p, sizeof p, "%s/config/samples/demo/%s", H->src, data[i].file);
        if (s_tamctl(H, NULL, NULL, "-q", data[i].cmd, data[i].verb, p, NULL))
            return -1;
    }
    for (size_t i = 0; replies && replies[i]; i++) {
        snprintf(p, sizeof p, "%s/config/samples/demo/replies/%s.json", H->src, replies[i]);
        if (s_tamctl(H, NULL, NULL, "-q", "submit", p, NULL))
            return -1;
    }
    if ((load & GW_WAIT) && s_tamctl(H, NULL, NULL, "wait", "--timeout", "60", NULL))
        return -1;
    for (size_t i = 0; i < sizeof s_people / sizeof s_people[0]; i++) {
        char out[160];
        snprintf(out, sizeof out, "%s/%s.token", H->dir, s_people[i]);
        if (s_tamctl(H, out, NULL, "keys", "token", s_people[i], NULL))
            return -1;
        char *t = s_slurp(out);
        if (!t)
            return -1;
        t[strcspn(t, "\n")] = 0;
        snprintf(s_tokens[i], sizeof s_tokens[i], "%s", t);
        free(t);
    }
    return gw_start();
}

/* Stops tam-gateway with SIGTERM: a clean stop is exit 0 (under ASan also: no
 * leak, no error); otherwise its log is printed and -1 returned. Then stops
 * the services. */
static __attribute__((unused)) int gw_teardown(void)
{
    int ret = 0;
    if (s_gw) {
        kill(s_gw, SIGTERM);
        int st = 0;
        waitpid(s_gw, &st, 0);
        s_gw = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char log[160];
            snprintf(log, sizeof log, "%s/gateway.log", H->dir);
            char *t = s_slurp(log);
            fprintf(stderr, "tam-gateway exited with status %d:\n%s\n", st, t ? t : "");
            free(t);
            ret = -1;
        }
    }
    h_free(H);
    H = NULL;
    curl_global_cleanup();
    json_decref(s_openapi_doc);
    s_openapi_doc = NULL;
    return ret;
}

#endif

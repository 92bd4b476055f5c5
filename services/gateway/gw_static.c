/* gw_static.c — the web dashboard's files (docs/dashboard.md), served at /.
 *
 * [gateway] web_dir is read once at start into memory: its regular files
 * (not below it: the dashboard is flat) whose names are [A-Za-z0-9._-] with
 * an extension of a known type, none beginning with a dot. A request is
 * answered only if its path names one of them ("/" is index.html), so no
 * path from a request ever reaches the file system: no traversal, no
 * symlink or device to follow. Every answer carries a strong ETag (BLAKE2b
 * of the bytes; If-None-Match gives 304), Cache-Control: no-cache (so a
 * browser revalidates, cheaply), and a Content-Security-Policy that lets the
 * page load scripts, styles and data from this origin only: nothing from a
 * CDN, no web fonts, no inline script. */
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tam/error.h"
#include "tam/log.h"
#include "gateway.h"

#define S_FILES_MAX 64
#define S_FILE_MAX (2u << 20)
#define S_NAME_MAX 64

/* What the page may load: everything from its own origin, nothing else. */
#define S_CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "           \
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "      \
    "frame-ancestors 'none'"

typedef struct {
    char name[S_NAME_MAX + 1]; /* "app.js" */
    const char *ctype;
    char *data;
    size_t len;
    char etag[40];
} s_file_t;

struct gw_static {
    s_file_t files[S_FILES_MAX];
    size_t n;
};

static const struct {
    const char *ext, *ctype;
} s_types[] = {
    {".html", "text/html; charset=utf-8"},       {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},   {".svg", "image/svg+xml"},
    {".json", "application/json"},               {".txt", "text/plain; charset=utf-8"},
    {".png", "image/png"},                       {".ico", "image/x-icon"},
};

/* The media type of a file name, or NULL: not served. */
static const char *s_ctype(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > S_NAME_MAX || name[0] == '.')
        return NULL;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return NULL;
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof s_types / sizeof s_types[0]; i++)
        if (strcmp(dot, s_types[i].ext) == 0)
            return s_types[i].ctype;
    return NULL;
}

static void s_etag(const char *data, size_t len, char out[40])
{
    unsigned char h[16];
    static const char d[] = "0123456789abcdef";
    crypto_generichash(h, sizeof h, (const unsigned char *)data, len, NULL, 0);
    out[0] = '"';
    for (size_t i = 0; i < sizeof h; i++) {
        out[1 + 2 * i] = d[h[i] >> 4];
        out[2 + 2 * i] = d[h[i] & 15];
    }
    out[33] = '"';
    out[34] = 0;
}

/* Reads one file into f. Returns 0, or -1 (logged: the file is skipped). */
static int s_load(const char *dir, const char *name, s_file_t *f)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > S_FILE_MAX) {
        tam_notice("web_dir: %s: %s", path,
                    !fp ? strerror(errno) : "not a regular file of at most 2 MiB; not served");
        if (fp)
            fclose(fp);
        return -1;
    }
    f->len = (size_t)st.st_size;
    f->data = malloc(f->len + 1);
    if (!f->data || fread(f->data, 1, f->len, fp) != f->len) {
        tam_notice("web_dir: cannot read %s", path);
        free(f->data);
        f->data = NULL;
        fclose(fp);
        return -1;
    }
    fclose(fp);
    snprintf(f->name, sizeof f->name, "%s", name);
    s_etag(f->data, f->len, f->etag);
    return 0;
}

int gw_static_new(gw_static_t **out, const char *dir)
{
    *out = NULL;
    if (!dir || !dir[0])
        return 0; /* no dashboard */
    gw_static_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    DIR *d = opendir(dir);
    if (!d) {
        tam_notice("web_dir %s: %s: the dashboard is not served", dir, strerror(errno));
        free(s);
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *ct = s_ctype(e->d_name);
        if (!ct)
            continue;
        if (s->n == S_FILES_MAX) {
            tam_notice("web_dir %s: more than %d files; %s and later are not served", dir,
                        S_FILES_MAX, e->d_name);
            break;
        }
        if (s_load(dir, e->d_name, &s->files[s->n]) == 0)
            s->files[s->n++].ctype = ct;
    }
    closedir(d);
    tam_info("dashboard: %zu files from %s at /", s->n, dir);
    *out = s;
    return 0;
}

void gw_static_destroy(gw_static_t **sp)
{
    if (!sp || !*sp)
        return;
    for (size_t i = 0; i < (*sp)->n; i++)
        free((*sp)->files[i].data);
    free(*sp);
    *sp = NULL;
}

static const s_file_t *s_find(const gw_static_t *s, const char *url)
{
    if (!s || url[0] != '/')
        return NULL;
    const char *name = url[1] ? url + 1 : "index.html";
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->files[i].name, name) == 0)
            return &s->files[i];
    return NULL;
}

bool gw_static_has(const gw_static_t *s, const char *url)
{
    return s_find(s, url) != NULL;
}

enum MHD_Result gw_static_serve(gw_static_t *s, gw_req_t *r)
{
    const s_file_t *f = s_find(s, r->path);
    r->route = "/{file}";
    if (!f)
        return gw_problem(r, MHD_HTTP_NOT_FOUND, "Not found", "no such file", NULL);
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return gw_problem(r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed", "GET or HEAD",
                          NULL);
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool same = inm && (strstr(inm, f->etag) || strcmp(inm, "*") == 0);
    struct MHD_Response *res =
        same ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
             : MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (!res)
        return MHD_NO;
    if (!same)
        MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, f->ctype);
    MHD_add_response_header(res, MHD_HTTP_HEADER_ETAG, f->etag);
    MHD_add_response_header(res, "Cache-Control", "no-cache");
    MHD_add_response_header(res, "Content-Security-Policy", S_CSP);
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
    unsigned st = same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    enum MHD_Result ret = MHD_queue_response(r->conn, st, res);
    MHD_destroy_response(res);
    gw_metrics_count(r, st);
    return ret;
}

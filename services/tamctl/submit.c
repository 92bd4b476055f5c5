/* submit.c — `tamctl submit FILE...`: send reply files to tam-ingest.
 *
 * Files are JSON (one reply, or an array of replies) or, with --format csv,
 * the flat CSV of needs (proto/needs-csv.md). Each reply is checked locally
 * against the protocol first, then sent with many requests outstanding
 * (pipelined over one connection). Its request id is derived from its
 * content (SHA-256 of the encoded reply), so running the same command again
 * after a crash or a timeout gets the same answers and stores nothing twice;
 * --resubmit draws fresh ids instead. Replies of the same respondent to the
 * same category are sent one after the other, in command-line order, so that
 * revisions apply in that order. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "submit.h"
#include "tam/cli.h"
#include "tam/error.h"
#include "tamctl.h"

#define S_FILE_MAX (256u << 20) /* largest input file */
#define S_WINDOW_DEFAULT 128
#define S_WINDOW_MAX 1000

/* ---- content-derived request ids ------------------------------------------------ */

/* "r1-" + 48 hex digits of the SHA-256 of the encoded reply. */
static void s_content_id(const void *body, size_t len, char out[TAM_RPC_ID_MAX + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, body, (unsigned long long)len);
    memcpy(out, "r1-", 3);
    for (int i = 0; i < 24; i++)
        snprintf(out + 3 + 2 * i, 3, "%02x", d[i]);
}

/* ---- the replies to send -------------------------------------------------------- */

enum { S_PENDING, S_FLIGHT, S_OK, S_SUPERSEDED, S_REFUSED, S_FAILED };

typedef struct {
    char *where;                    /* "FILE", "FILE[i]" (JSON array), "FILE" (CSV) */
    const tamctl_csv_reply_t *csv;  /* line mapping of a CSV reply, or NULL */
    uint8_t *body;                  /* owned unless csv */
    size_t len;
    char id[TAM_RPC_ID_MAX + 1];
    char key[72];                   /* respondent, category: sent in order */
    long prev;                      /* previous item with the same key, or -1 */
    int state;
    int64_t deadline;
    int tries;
    uint32_t nneeds;
    int64_t withdrawn;
    bool owned;                     /* body is owned although csv (a dry run's copy) */
} s_item_t;

typedef struct {
    tamctl_t *t;
    s_item_t *v;
    size_t n, cap;
    tamctl_csv_reply_t **csv; /* per CSV file, to free */
    size_t *ncsv;
    size_t nfiles_csv, cap_csv;
    int worst;                /* first sysexits code of a failure */
    bool progress;
    bool dry;                 /* --dry-run: ingest validates, stores nothing */
    int64_t last_draw;
    size_t done, ok, superseded, refused, failed, needs, withdrawn;
    json_t *jout;             /* unused unless --json */
} s_run_t;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_worst(s_run_t *r, int ex)
{
    if (!r->worst)
        r->worst = ex;
}

static s_item_t *s_add(s_run_t *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        s_item_t *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    s_item_t *it = &r->v[r->n++];
    memset(it, 0, sizeof *it);
    it->prev = -1;
    return it;
}

/* Reads a whole file ("-": stdin). Returns 0; a sysexits code after printing why. */
static int s_slurp(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tamctl: %s: %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    int rc = EX_OSERR;
    while (buf) {
        if (n == cap) {
            if (cap >= S_FILE_MAX) {
                fprintf(stderr, "tamctl: %s: larger than %u MiB\n", path, S_FILE_MAX >> 20);
                rc = EX_DATAERR;
                break;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "tamctl: %s: %s\n", path, strerror(errno));
                rc = EX_IOERR;
                break;
            }
            buf[n] = 0;
            *out = buf;
            *len = n;
            buf = NULL;
            rc = 0;
        }
    }
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Prints an error of item it, with CSV fields mapped to line and column. */
static void s_print_error(const s_item_t *it, const char *field, const char *message)
{
    if (it->csv) {
        int line;
        const char *col;
        tamctl_csv_locate(it->csv, field, &line, &col);
        fprintf(stderr, "%s:%d:%s: %s\n", it->where, line, col, message);
    } else {
        fprintf(stderr, "%s:%s: %s\n", it->where, field, message);
    }
}

/* Problems are told by ingest, with the semantic ones: none printed here. */
static void s_quiet(const tam_codec_err_t *e, void *arg)
{
    (void)e;
    (void)arg;
}

/* Fills an item's key (respondent/category, so that revisions go in order)
 * and id. A reply with codec problems is sent all the same: ingest answers
 * with every problem of it, codec and semantic (which need the catalogue),
 * in one list, and stores nothing. Its key is what decoded of it. */
static int s_prepare(s_run_t *r, s_item_t *it, bool fresh)
{
    (void)r;
    tam_arena_t *a = tam_arena_new(0);
    if (!a)
        return EX_OSERR;
    tam_reply_t rep;
    tam_codec_err_t cerr;
    memset(&rep, 0, sizeof rep);
    int rc = tam_decode_all(&tam_schema_reply, it->body, it->len, a, &rep, &cerr, s_quiet, NULL);
    if (rc == TAM_ENOMEM) {
        tam_arena_destroy(&a);
        return EX_OSERR;
    }
    const char *who = rep.respondent && rep.respondent->id ? rep.respondent->id : "?";
    const char *cat = rep.instrument && rep.instrument->category ? rep.instrument->category : "?";
    snprintf(it->key, sizeof it->key, "%s/%s", who, cat);
    it->nneeds = rep.needs.n;
    if (fresh) {
        if (tam_rpc_new_id(it->id)) {
            tam_arena_destroy(&a);
            return EX_OSERR;
        }
    } else {
        s_content_id(it->body, it->len, it->id);
    }
    tam_arena_destroy(&a);
    return 0;
}

/* A dry run's request: the reply with dry_run true (ingest validates it in
 * full, stores and publishes nothing). A body that is not a map is sent as
 * it is: ingest refuses it. */
static int s_make_dry(s_item_t *it)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, (const char *)it->body, it->len, &off) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&up);
        return 0;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const msgpack_object_map *m = &up.data.via.map;
    uint32_t n = 0;
    for (uint32_t k = 0; k < m->size; k++)
        n += !(m->ptr[k].key.type == MSGPACK_OBJECT_STR && m->ptr[k].key.via.str.size == 7 &&
               memcmp(m->ptr[k].key.via.str.ptr, "dry_run", 7) == 0);
    int bad = msgpack_pack_map(&pk, n + 1);
    for (uint32_t k = 0; k < m->size && !bad; k++)
        if (!(m->ptr[k].key.type == MSGPACK_OBJECT_STR && m->ptr[k].key.via.str.size == 7 &&
              memcmp(m->ptr[k].key.via.str.ptr, "dry_run", 7) == 0))
            bad = msgpack_pack_object(&pk, m->ptr[k].key) || msgpack_pack_object(&pk, m->ptr[k].val);
    bad = bad || msgpack_pack_str_with_body(&pk, "dry_run", 7) || msgpack_pack_true(&pk);
    msgpack_unpacked_destroy(&up);
    if (bad) {
        msgpack_sbuffer_destroy(&sb);
        return EX_OSERR;
    }
    if (!it->csv || it->owned)
        free(it->body);
    it->owned = true;
    it->len = sb.size; /* release empties sb */
    it->body = (uint8_t *)msgpack_sbuffer_release(&sb);
    return 0;
}

/* Adds the replies of one JSON file: an object, or an array of objects. */
static int s_load_json(s_run_t *r, const char *path, const char *text, size_t len)
{
    msgpack_sbuffer sb;
    tam_codec_err_t cerr;
    int rc = tam_json_to_msgpack(text, len, &sb, &cerr);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, cerr.message);
        s_worst(r, EX_DATAERR);
        r->refused++;
        return 0;
    }
    uint8_t first = sb.size ? (uint8_t)sb.data[0] : 0;
    bool array = (first >= 0x90 && first <= 0x9f) || first == 0xdc || first == 0xdd;
    if (!array) {
        s_item_t *it = s_add(r);
        if (!it || !(it->where = strdup(path))) {
            msgpack_sbuffer_destroy(&sb);
            return EX_OSERR;
        }
        it->body = (uint8_t *)sb.data;
        it->len = sb.size;
        return 0;
    }
    /* An array: one reply per element, named FILE[i]. */
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    rc = 0;
    if (tam_mp_check(sb.data, sb.size, &TAM_MP_LIMITS_DEFAULT, NULL) ||
        msgpack_unpack_next(&up, sb.data, sb.size, &off) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "%s: too large or too deeply nested (at most %u levels, %u items, "
                        "strings of %u bytes)\n", path, (unsigned)TAM_MP_LIMITS_DEFAULT.max_depth,
                (unsigned)TAM_MP_LIMITS_DEFAULT.max_items, (unsigned)TAM_MP_LIMITS_DEFAULT.max_str);
        s_worst(r, EX_DATAERR);
        goto done;
    }
    for (uint32_t i = 0; i < up.data.via.array.size; i++) {
        msgpack_sbuffer eb;
        msgpack_sbuffer_init(&eb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &eb, msgpack_sbuffer_write);
        s_item_t *it = s_add(r);
        if (!it || msgpack_pack_object(&pk, up.data.via.array.ptr[i]) ||
            asprintf(&it->where, "%s[%u]", path, i) < 0) {
            if (it)
                it->where = NULL;
            msgpack_sbuffer_destroy(&eb);
            rc = EX_OSERR;
            goto done;
        }
        it->body = (uint8_t *)eb.data;
        it->len = eb.size;
    }
done:
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int s_load_csv(s_run_t *r, const char *path, const char *text, size_t len)
{
    tamctl_csv_reply_t *v;
    size_t n;
    int rc = tamctl_csv_replies(path, text, len, &v, &n);
    if (rc == EX_DATAERR) {
        s_worst(r, rc);
        r->refused++;
        return 0;
    }
    if (rc)
        return rc;
    if (r->nfiles_csv == r->cap_csv) {
        size_t cap = r->cap_csv ? r->cap_csv * 2 : 8;
        tamctl_csv_reply_t **c = realloc(r->csv, cap * sizeof *c);
        size_t *nc = realloc(r->ncsv, cap * sizeof *nc);
        if (c)
            r->csv = c;
        if (nc)
            r->ncsv = nc;
        if (!c || !nc) {
            tamctl_csv_free(v, n);
            return EX_OSERR;
        }
        r->cap_csv = cap;
    }
    r->csv[r->nfiles_csv] = v;
    r->ncsv[r->nfiles_csv++] = n;
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = s_add(r);
        if (!it || !(it->where = strdup(path)))
            return EX_OSERR;
        it->csv = &v[i];
        it->body = v[i].body;
        it->len = v[i].len;
    }
    return 0;
}

/* Links each item to the previous one of the same respondent and category. */
static int s_link(s_run_t *r)
{
    size_t cap = 16;
    while (cap < 2 * r->n)
        cap *= 2;
    long *tab = malloc(cap * sizeof *tab);
    if (!tab)
        return EX_OSERR;
    for (size_t i = 0; i < cap; i++)
        tab[i] = -1;
    for (size_t i = 0; i < r->n; i++) {
        s_item_t *it = &r->v[i];
        if (it->state != S_PENDING)
            continue;
        uint64_t h = 1469598103934665603ULL;
        for (const char *p = it->key; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ULL;
        size_t s = h & (cap - 1);
        while (tab[s] >= 0 && strcmp(r->v[tab[s]].key, it->key) != 0)
            s = (s + 1) & (cap - 1);
        it->prev = tab[s];
        tab[s] = (long)i;
    }
    free(tab);
    return 0;
}

/* ---- progress and results ------------------------------------------------------- */

static void s_draw(s_run_t *r, bool force)
{
    if (!r->progress)
        return;
    int64_t now = s_now_ms();
    if (!force && now - r->last_draw < 100)
        return;
    r->last_draw = now;
    size_t total = r->n ? r->n : 1, width = 30, fill = r->done * width / total;
    char bar[64];
    for (size_t i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %zu/%zu replies, %zu refused ", bar, r->done, r->n, r->refused);
    fflush(stderr);
}

static void s_clear_line(s_run_t *r)
{
    if (r->progress)
        fprintf(stderr, "\r%*s\r", 70, "");
}

static void s_json_result(s_run_t *r, const s_item_t *it, const tam_rpc_answer_t *ans)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(it->where));
    json_object_set_new(o, "request_id", json_string(it->id));
    if (ans && ans->status == TAM_RPC_OK) {
        char *j = tam_msgpack_to_json(ans->body, ans->len, 0);
        json_error_t je;
        json_t *ack = j ? json_loads(j, 0, &je) : NULL;
        free(j);
        json_object_set_new(o, "status", json_string("ok"));
        json_object_set_new(o, "ack", ack ? ack : json_null());
    } else {
        json_object_set_new(o, "status", json_string(ans && ans->error.code == TAM_ESUPERSEDED
                                                         ? "superseded"
                                                         : "error"));
        json_t *errs = json_array();
        if (ans)
            for (size_t i = 0; i < ans->error.n; i++)
                json_array_append_new(errs, json_pack("{s:s, s:s}", "field", ans->error.errors[i].field,
                                                      "message", ans->error.errors[i].message));
        json_object_set_new(o, "errors", errs);
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) {
        puts(line);
        free(line);
    }
    json_decref(o);
    (void)r;
}

/* Takes an answer for the in-flight item it. */
static void s_answer(s_run_t *r, s_item_t *it, const tam_rpc_answer_t *ans)
{
    r->done++;
    if (ans->status == TAM_RPC_OK) {
        tam_submit_ack_t ack;
        tam_codec_err_t cerr;
        tam_arena_t *a = tam_arena_new(0);
        memset(&ack, 0, sizeof ack);
        if (!a || tam_decode(&tam_schema_submit_ack, ans->body, ans->len, a, &ack, &cerr)) {
            s_clear_line(r);
            fprintf(stderr, "tamctl: %s: ingest sent an answer that does not decode\n", it->where);
            it->state = S_FAILED;
            r->failed++;
            s_worst(r, EX_PROTOCOL);
            tam_arena_destroy(&a);
            return;
        }
        it->state = S_OK;
        it->withdrawn = ack.withdrawn;
        r->ok++;
        if (!ack.repeat)
            r->needs += ack.need_ids.n;
        r->withdrawn += (size_t)ack.withdrawn;
        if (r->t->json) {
            s_json_result(r, it, ans);
        } else if (!r->t->quiet && !r->progress && ack.dry_run) {
            printf("%s: dry run: would be reply %llu, revision %lld: %u needs (%lld new, %lld "
                   "revised, %lld unchanged), %lld withdrawn; nothing stored\n",
                   it->where, (unsigned long long)ack.reply_id, (long long)ack.revision,
                   ack.need_ids.n, (long long)ack.added, (long long)ack.revised,
                   (long long)ack.unchanged, (long long)ack.withdrawn);
        } else if (!r->t->quiet && !r->progress && ack.repeat) {
            printf("%s: reply %llu, revision %lld: the same as this current reply; nothing stored\n",
                   it->where, (unsigned long long)ack.reply_id, (long long)ack.revision);
        } else if (!r->t->quiet && !r->progress) {
            char rev[64] = "";
            if (ack.replaces)
                snprintf(rev, sizeof rev, ", revises reply %llu", (unsigned long long)ack.replaces);
            printf("%s: reply %llu, revision %lld%s: %u needs stored (%lld new, %lld revised, %lld "
                   "unchanged), %lld withdrawn\n",
                   it->where, (unsigned long long)ack.reply_id, (long long)ack.revision, rev,
                   ack.need_ids.n, (long long)ack.added, (long long)ack.revised,
                   (long long)ack.unchanged, (long long)ack.withdrawn);
        }
        if (!r->t->json && !r->t->quiet)
            for (uint32_t w = 0; w < ack.warnings.n; w++)
                fprintf(stderr, "tamctl: %s: warning: %s\n", it->where, ack.warnings.v[w]);
        tam_arena_destroy(&a);
        return;
    }
    if (ans->error.code == TAM_ESUPERSEDED) {
        /* An older revision sent again: not stored, not refused either. */
        it->state = S_SUPERSEDED;
        r->superseded++;
        s_clear_line(r);
        if (!r->t->quiet)
            fprintf(stderr, "%s: %s\n", it->where, ans->error.message);
        if (r->t->json)
            s_json_result(r, it, ans);
        return;
    }
    it->state = S_REFUSED;
    r->refused++;
    s_worst(r, tam_cli_exit_code(ans->error.code));
    s_clear_line(r);
    if (ans->error.n == 0)
        s_print_error(it, ans->error.field, ans->error.message);
    for (size_t i = 0; i < ans->error.n; i++)
        s_print_error(it, ans->error.errors[i].field, ans->error.errors[i].message);
    if (ans->error.dropped)
        fprintf(stderr, "%s: ... and %zu more errors\n", it->where, ans->error.dropped);
    if (r->t->json)
        s_json_result(r, it, ans);
}

/* ---- the pipeline ---------------------------------------------------------------- */

static bool s_eligible(const s_run_t *r, const s_item_t *it)
{
    return it->state == S_PENDING && (it->prev < 0 || r->v[it->prev].state >= S_OK);
}

/* Sends every reply with up to window outstanding; returns 0 or a sysexits
 * code for a failure that stopped everything (unreachable service). */
static int s_pipeline(s_run_t *r, int window)
{
    tamctl_t *t = r->t;
    /* One ping first: it tells "nobody there" from "no answer" and says so. */
    tam_arena_t *pa = tam_arena_new(0);
    tam_ping_t ping = {.note = "submit"};
    tam_pong_t pong;
    int pex = pa ? tamctl_call(t, "ingest", TAM_MSG_sys_ping, &ping, pa, &pong, NULL) : EX_OSERR;
    tam_arena_destroy(&pa);
    if (pex)
        return pex;
    tam_rpc_client_t *c = tamctl_client(t, "ingest");
    if (!c)
        return EX_UNAVAILABLE;
    int timeout = (int)t->cfg.tamctl.timeout, retries = (int)t->cfg.common.request_retries;
    size_t lo = 0, inflight = 0;
    long *fl = malloc((size_t)window * sizeof *fl); /* indexes of in-flight items */
    if (!fl)
        return EX_OSERR;
    int rc = 0;
    while (r->done < r->n) {
        /* Fill the window. */
        while (lo < r->n && r->v[lo].state != S_PENDING)
            lo++;
        for (size_t i = lo; i < r->n && inflight < (size_t)window && i < lo + 4 * (size_t)window;
             i++) {
            s_item_t *it = &r->v[i];
            if (!s_eligible(r, it))
                continue;
            int src = tam_rpc_client_send(c, it->id, "ingest.submit", it->body, it->len);
            if (src == TAM_EUNAVAIL) {
                if (++it->tries > retries) {
                    rc = EX_UNAVAILABLE;
                    goto out;
                }
                break; /* try again after the poll below */
            }
            if (src) {
                fprintf(stderr, "tamctl: %s: %s\n", it->where, tam_strerror(src));
                rc = tam_cli_exit_code(src);
                goto out;
            }
            it->state = S_FLIGHT;
            it->deadline = s_now_ms() + timeout;
            fl[inflight++] = (long)i;
        }
        if (inflight == 0 && r->done < r->n)
            continue; /* nothing could be sent yet: the loop retries sending */
        /* Wait for the next answer, at most until the nearest deadline. */
        int64_t now = s_now_ms(), next = now + timeout;
        for (size_t k = 0; k < inflight; k++)
            if (r->v[fl[k]].deadline < next)
                next = r->v[fl[k]].deadline;
        int wait = next > now ? (int)(next - now) : 0;
        if (r->progress && wait > 100)
            wait = 100;
        tam_rpc_answer_t ans = {0};
        int rrc = tam_rpc_client_recv(c, wait, &ans);
        if (rrc == 0) {
            for (size_t k = 0; k < inflight; k++)
                if (strcmp(r->v[fl[k]].id, ans.id) == 0) {
                    s_answer(r, &r->v[fl[k]], &ans);
                    fl[k] = fl[--inflight];
                    break;
                }
            /* No match: a late answer to a resent request; already taken. */
        } else if (rrc != TAM_ETIMEOUT) {
            fprintf(stderr, "tamctl: ingest: %s\n", tam_strerror(rrc));
            tam_rpc_answer_clear(&ans);
            rc = tam_cli_exit_code(rrc);
            goto out;
        }
        tam_rpc_answer_clear(&ans);
        /* Resend what timed out, with the same id: the service answers a
         * request it already stored from its record, so nothing doubles. */
        now = s_now_ms();
        for (size_t k = 0; k < inflight; k++) {
            s_item_t *it = &r->v[fl[k]];
            if (it->deadline > now)
                continue;
            if (++it->tries > retries) {
                rc = EX_TEMPFAIL;
                goto out;
            }
            if (tam_rpc_client_send(c, it->id, "ingest.submit", it->body, it->len) == 0)
                it->deadline = s_now_ms() + timeout;
            else
                it->deadline = now + timeout; /* not connected: count it as a try */
        }
        s_draw(r, false);
    }
out:
    if (rc == EX_UNAVAILABLE || rc == EX_TEMPFAIL) {
        s_clear_line(r);
        fprintf(stderr, "tamctl: ingest at %s stopped answering (%d tries of %d ms); run the same "
                        "command again: what was stored is not stored twice\n",
                tamctl_endpoint(t, "ingest"), retries + 1, timeout);
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].state == S_PENDING || r->v[i].state == S_FLIGHT) {
            r->v[i].state = S_FAILED;
            r->failed++;
        }
    free(fl);
    return rc;
}

/* ---- the command ---------------------------------------------------------------- */

static void s_free(s_run_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].where);
        if (!r->v[i].csv || r->v[i].owned)
            free(r->v[i].body);
    }
    free(r->v);
    for (size_t i = 0; i < r->nfiles_csv; i++)
        tamctl_csv_free(r->csv[i], r->ncsv[i]);
    free(r->csv);
    free(r->ncsv);
}

static int s_submit(tamctl_t *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"window", required_argument, NULL, 'w'},
        {"dry-run", no_argument, NULL, 'n'},      {"resubmit", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},         {NULL, 0, NULL, 0}};
    bool csv = false, csv_given = false, dry = false, fresh = false;
    int window = S_WINDOW_DEFAULT, c;
    while ((c = getopt_long(argc, argv, "f:w:nr", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            csv_given = true;
            if (strcmp(optarg, "csv") == 0)
                csv = true;
            else if (strcmp(optarg, "json") == 0)
                csv = false;
            else {
                fprintf(stderr, "tamctl submit: --format is json or csv\n");
                return EX_USAGE;
            }
            break;
        case 'w': {
            char *end;
            long w = strtol(optarg, &end, 10);
            if (*end || w < 1 || w > S_WINDOW_MAX) {
                fprintf(stderr, "tamctl submit: --window is 1 to %d\n", S_WINDOW_MAX);
                return EX_USAGE;
            }
            window = (int)w;
            break;
        }
        case 'n': dry = true; break;
        case 'r': fresh = true; break;
        case 'j': t->json = true; break;
        default: fprintf(stderr, "usage: tamctl submit [OPTIONS] FILE...\n"); return EX_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: tamctl submit [OPTIONS] FILE... (`-` reads standard input)\n");
        return EX_USAGE;
    }
    int stdin_uses = 0;
    for (int i = optind; i < argc; i++)
        stdin_uses += strcmp(argv[i], "-") == 0;
    if (stdin_uses > 1) {
        fprintf(stderr, "tamctl submit: standard input ('-') can be read once\n");
        return EX_USAGE;
    }

    s_run_t r;
    memset(&r, 0, sizeof r);
    r.t = t;
    int ex = 0;
    size_t files_refused = 0;
    for (int i = optind; i < argc && !ex; i++) {
        char *text;
        size_t len;
        int src = s_slurp(argv[i], &text, &len);
        if (src) {
            s_worst(&r, src);
            files_refused++;
            continue;
        }
        const char *name = strcmp(argv[i], "-") == 0 ? "<stdin>" : argv[i];
        bool is_csv = csv_given ? csv : tamctl_csv_looks(name, text, len);
        if (!csv_given && is_csv && !t->quiet)
            fprintf(stderr, "%s: read as the CSV of needs (proto/needs-csv.md); --format json "
                            "to read it as JSON\n", name);
        size_t before = r.refused;
        ex = is_csv ? s_load_csv(&r, name, text, len) : s_load_json(&r, name, text, len);
        if (!csv_given && !is_csv && r.refused > before)
            fprintf(stderr, "%s: not JSON; a CSV of needs is read with --format csv "
                            "(proto/needs-csv.md)\n", name);
        free(text);
    }
    files_refused += r.refused; /* files that gave no reply at all */
    r.refused = 0;
    for (size_t i = 0; i < r.n && !ex; i++)
        ex = s_prepare(&r, &r.v[i], fresh);
    if (!ex)
        ex = s_link(&r);
    if (ex) {
        s_free(&r);
        return ex;
    }
    if (dry) {
        /* Each reply's request id, then ingest's verdict on it. */
        r.dry = true;
        for (size_t i = 0; i < r.n && !ex; i++) {
            if (r.v[i].state == S_PENDING && !t->quiet && !t->json)
                printf("%s: %s %s (%u needs)\n", r.v[i].where, r.v[i].key, r.v[i].id,
                       r.v[i].nneeds);
            ex = s_make_dry(&r.v[i]);
        }
        if (ex) {
            s_free(&r);
            return ex;
        }
    }
    r.progress = !t->quiet && !t->json && t->cfg.tamctl.progress && r.n > 1 && isatty(2);
    s_draw(&r, true);
    int pex = r.done < r.n ? s_pipeline(&r, window) : 0;
    s_draw(&r, true);
    s_clear_line(&r);
    /* A malformed file is a refused submission: it counts among the refused,
     * and the replies it may have held are not known. */
    if (!t->quiet && !t->json && r.dry)
        fprintf(stderr, "tamctl: submit: dry run: %zu replies: %zu would be accepted (%zu needs), "
                        "%zu refused, %zu not answered; nothing stored\n",
                r.n + files_refused, r.ok, r.needs, r.refused + files_refused, r.failed);
    else if (!t->quiet && !t->json)
        fprintf(stderr,
                "tamctl: submit: %zu replies: %zu accepted (%zu needs stored, %zu withdrawn), %zu "
                "superseded, %zu refused%s, %zu not answered\n",
                r.n + files_refused, r.ok, r.needs, r.withdrawn, r.superseded, r.refused + files_refused,
                files_refused ? (files_refused == 1 ? " (1 malformed file)"
                                                    : " (malformed files included)") : "",
                r.failed);
    ex = pex ? pex : r.worst;
    if (!ex && (r.refused || r.failed || files_refused))
        ex = EX_DATAERR;
    if (!ex && r.superseded)
        ex = TAM_EX_SUPERSEDED;
    s_free(&r);
    return ex;
}

TAMCTL_COMMAND(s_cmd_submit, "submit", "[--format json|csv] FILE...",
               "Submit or revise replies: JSON files (proto/PROTOCOL.md, reply) or CSV of needs.",
               "  --format json|csv  input format (default json: one reply or an array of them per\n"
               "                     file; csv: the flat needs CSV of proto/needs-csv.md, one reply\n"
               "                     per respondent and category)\n"
               "  -                  read one file from standard input\n"
               "  --window N         requests outstanding at once (default 128)\n"
               "  --dry-run          print each reply's request id and have ingest validate it in\n"
               "                     full (catalogue included): every error, or what storing would\n"
               "                     answer; nothing is stored or published (a revision later in the\n"
               "                     same run is checked against the stored reply, not this one)\n"
               "  --resubmit         fresh request ids (by default the id is a hash of the reply, so\n"
               "                     running the same command twice stores each reply once); ingest\n"
               "                     still recognises a reply it holds: the current one is answered\n"
               "                     \"nothing stored\", an older revision as superseded\n"
               "  --json             one JSON line per reply on stdout\n"
               "A revision keeps the ids of the needs it declares again (same ref, else same country,\n"
               "standard and modality); a changed need gets its next version.\n"
               "Errors are printed as FILE:FIELD: message (CSV: FILE:LINE:COLUMN: message). Exit 0\n"
               "only when every reply was accepted; 65 if any was refused; 79 if none was refused\n"
               "but some were older revisions than the ones stored (superseded: nothing stored);\n"
               "69 if ingest is down; 75 if it stopped answering.",
               s_submit)

/* test_sec.c — tam/sec.h, tam/keys.h, tam/principal.h at the socket level:
 * a real rpc server and feed server in curve mode (their own context, as the
 * key "ingest"), and clients as other keys, in one thread, on ipc:// in a
 * fresh directory. Zero messages get in (no request handed to the service,
 * no answer, no feed data, no snapshot) for: a plain client without CURVE, a
 * key not in the trust store, a revoked key on an established connection, a
 * server whose ZAP handler is not running, and a raw ZMTP client that puts
 * its own User-Id in its READY command. Every refusal has a positive control
 * on the same server (a key of the store gets in), so each test can fail.
 * Also: key files (format, 0600, refusal of a secret others can read), local
 * mode refused with tcp://, ipc sockets 0600 whatever the umask, and the role
 * matrix against the protocol and docs/security.md. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "tam/access.h"
#include "tam/error.h"
#include "tam/feed.h"
#include "tam/proto.h"
#include "tam/rpc.h"
#include "../integration/curve_harness.h"

#define QUIET_MS 1000 /* how long "nothing arrives" is watched */
#define WAIT_MS 5000  /* longest a positive control may take */

typedef struct {
    char dir[64], cfg[128], keys[128], ep[160], pub[160], snap[160];
    void *zs;                 /* the server's context, key "ingest" */
    tam_rpc_server_t *srv;
    tam_feed_server_t *feed;
    void *ctx[4];             /* client contexts to close */
    void *socks[8];
    int nctx, nsocks;
} fx_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int snap_none(const char *prefix, tam_feed_emit_fn emit, void *ctx, void *arg)
{
    (void)arg;
    return emit(ctx, "need/KEN/A", 10, prefix, 0);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_sec.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->cfg, sizeof f->cfg, "%s/tamatch.ini", f->dir);
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->ep, sizeof f->ep, "ipc://%s/run/ingest.req", f->dir);
    snprintf(f->pub, sizeof f->pub, "ipc://%s/run/ingest.pub", f->dir);
    snprintf(f->snap, sizeof f->snap, "ipc://%s/run/ingest.snap", f->dir);
    FILE *c = fopen(f->cfg, "w");
    fprintf(c, "[common]\nrun_dir = %s/run\n[ingest]\nendpoint = %s\nfeed = %s\nsnapshot = %s\n",
            f->dir, f->ep, f->pub, f->snap);
    fclose(c);
    if (curve_setup(f->dir, f->cfg, NULL) != 0 || !(f->zs = curve_context(f->cfg, "ingest")))
        return -1;
    mode_t old = umask(0); /* the sockets must be 0600 whatever the umask */
    int rc = tam_rpc_server_new(&f->srv, f->zs, f->ep, NULL);
    if (rc == 0)
        rc = tam_feed_server_new(&f->feed, f->zs, f->pub, f->snap, 100, snap_none, NULL);
    umask(old);
    *state = f;
    return rc;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    for (int i = 0; i < f->nsocks; i++)
        zmq_close(f->socks[i]);
    tam_rpc_server_destroy(&f->srv);
    tam_feed_server_destroy(&f->feed);
    for (int i = 0; i < f->nctx; i++)
        curve_context_end(f->ctx[i]);
    curve_context_end(f->zs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* A client context acting as name (cfg: the fixture's, or another). */
static void *as(fx_t *f, const char *cfg, const char *name)
{
    void *z = name ? curve_context(cfg ? cfg : f->cfg, name) : zmq_ctx_new();
    assert_non_null(z);
    f->ctx[f->nctx++] = z;
    return z;
}

/* A socket of type on z connected to ep, CURVE if z has a security. */
static void *sock(fx_t *f, void *z, int type, const char *ep)
{
    void *s = zmq_socket(z, type);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(tam_sec_client_socket(z, s, ep), 0);
    if (type == ZMQ_SUB)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal(zmq_connect(s, ep), 0);
    f->socks[f->nsocks++] = s;
    return s;
}

static size_t request(uint8_t *buf, size_t cap, const char *id)
{
    tam_rpc_envelope_t env = {.v = 1, .status = -1};
    snprintf(env.type, sizeof env.type, "sys.ping");
    snprintf(env.id, sizeof env.id, "%s", id);
    size_t len = 0;
    assert_int_equal(tam_rpc_envelope_encode(&env, buf, cap, &len), 0);
    return len;
}

static void send_request(void *d, const char *id)
{
    uint8_t env[256];
    size_t n = request(env, sizeof env, id);
    zmq_send(d, "", 0, ZMQ_SNDMORE);
    zmq_send(d, env, n, ZMQ_SNDMORE);
    zmq_send(d, "\x80", 1, 0);
}

/* Serves the rpc server for up to ms: answers every request ok and returns
 * the first one (NULL if none came). */
static tam_rpc_req_t *serve(fx_t *f, int ms)
{
    tam_rpc_req_t *first = NULL;
    int64_t end = now_ms() + ms;
    while (!first && now_ms() < end) {
        zmq_pollitem_t it = {tam_rpc_server_socket(f->srv), 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 50);
        tam_rpc_req_t *r = NULL;
        assert_int_equal(tam_rpc_server_recv(f->srv, &r), 0);
        if (r) {
            tam_rpc_server_reply_ok(f->srv, r, NULL, 0);
            first = r;
        }
        tam_feed_server_process(f->feed, NULL);
    }
    return first;
}

/* Waits up to ms for a message on s; true if one came. */
static bool gets(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) != 1)
        return false;
    zmq_msg_t m;
    zmq_msg_init(&m);
    int more = 1;
    while (more && zmq_msg_recv(&m, s, 0) >= 0)
        more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    return true;
}

/* Sends a request on d and serves until the answer is back: the principal. */
static void roundtrip(fx_t *f, void *d, const char *id, tam_principal_t *who)
{
    send_request(d, id);
    tam_rpc_req_t *r = serve(f, WAIT_MS);
    assert_non_null(r);
    *who = r->principal;
    tam_rpc_req_free(&r);
    assert_true(gets(d, WAIT_MS));
}

/* Sends a request on d: the server must get nothing, d no answer. */
static void refused(fx_t *f, void *d, const char *id)
{
    send_request(d, id);
    tam_rpc_req_t *r = serve(f, QUIET_MS);
    if (r)
        fail_msg("request %s reached the service as principal %s", id, r->principal.id);
    assert_false(gets(d, 0));
}

/* ---- tests ------------------------------------------------------------------ */

static void t_keys_get_in_with_their_principal(void **state)
{
    fx_t *f = *state;
    tam_principal_t p;
    roundtrip(f, sock(f, as(f, NULL, "viewer"), ZMQ_DEALER, f->ep), "v1", &p);
    assert_string_equal(p.id, "viewer");
    assert_int_equal(p.roles, TAM_ROLE_VIEWER);
    roundtrip(f, sock(f, as(f, NULL, "respondent-KEN"), ZMQ_DEALER, f->ep), "k1", &p);
    assert_string_equal(p.id, "respondent-KEN");
    assert_string_equal(p.respondent, "KEN");
    assert_int_equal(p.roles, TAM_ROLE_RESPONDENT);
}

static void t_plain_client_gets_nothing_in(void **state)
{
    fx_t *f = *state;
    void *plain = as(f, NULL, NULL);
    refused(f, sock(f, plain, ZMQ_DEALER, f->ep), "p1");
    void *sub = sock(f, plain, ZMQ_SUB, f->pub), *snap = sock(f, plain, ZMQ_DEALER, f->snap);
    void *ok = sock(f, as(f, NULL, "viewer"), ZMQ_SUB, f->pub);
    zmq_send(snap, "\x81\xa6prefix\xa0", 9, 0);
    int64_t end = now_ms() + QUIET_MS;
    bool ok_got = false;
    while (now_ms() < end) {
        tam_feed_server_publish(f->feed, "need/KEN/A", "x", 1);
        tam_feed_server_process(f->feed, NULL);
        ok_got |= gets(ok, 50);
        assert_false(gets(sub, 0));
        assert_false(gets(snap, 0));
    }
    assert_true(ok_got); /* the control: a key of the store gets the feed */
}

static void t_unknown_key_gets_nothing_in(void **state)
{
    fx_t *f = *state;
    /* A second trust store holding the stranger and the server's public key. */
    char cfg2[160], keys2[160], cmd[512];
    snprintf(keys2, sizeof keys2, "%s/keys2", f->dir);
    snprintf(cfg2, sizeof cfg2, "%s/other.ini", f->dir);
    assert_int_equal(curve_key(keys2, "stranger", TAM_ROLE_ADMIN, NULL), 0);
    snprintf(cmd, sizeof cmd, "cp %s/ingest.key %s/", f->keys, keys2);
    assert_int_equal(system(cmd), 0);
    FILE *c = fopen(cfg2, "w");
    fprintf(c, "[ingest]\nendpoint = %s\nfeed = %s\nsnapshot = %s\n[security]\nkeys_dir = %s\n",
            f->ep, f->pub, f->snap, keys2);
    fclose(c);
    void *z = as(f, cfg2, "stranger");
    refused(f, sock(f, z, ZMQ_DEALER, f->ep), "s1");
    void *sub = sock(f, z, ZMQ_SUB, f->pub), *snap = sock(f, z, ZMQ_DEALER, f->snap);
    zmq_send(snap, "\x81\xa6prefix\xa0", 9, 0);
    for (int i = 0; i < 10; i++) {
        tam_feed_server_publish(f->feed, "need/KEN/A", "x", 1);
        tam_feed_server_process(f->feed, NULL);
        assert_false(gets(sub, QUIET_MS / 10));
        assert_false(gets(snap, 0));
    }
    tam_principal_t p;
    roundtrip(f, sock(f, as(f, NULL, "admin"), ZMQ_DEALER, f->ep), "a1", &p); /* control */
    assert_string_equal(p.id, "admin");
}

static void t_revoked_key_refused_on_established_connection(void **state)
{
    fx_t *f = *state;
    void *z = as(f, NULL, "viewer");
    void *d = sock(f, z, ZMQ_DEALER, f->ep), *sub = sock(f, z, ZMQ_SUB, f->pub);
    tam_principal_t p;
    roundtrip(f, d, "r1", &p);
    bool got = false;
    for (int64_t end = now_ms() + WAIT_MS; !got && now_ms() < end;) {
        tam_feed_server_publish(f->feed, "need/KEN/A", "x", 1);
        tam_feed_server_process(f->feed, NULL);
        got = gets(sub, 50);
    }
    assert_true(got); /* subscribed, connection established */
    void *snap = sock(f, z, ZMQ_DEALER, f->snap);
    zmq_send(snap, "\x81\xa6prefix\xa0", 9, 0);
    serve(f, 200);
    assert_true(gets(snap, WAIT_MS)); /* snapshots answered before the revocation */
    while (gets(snap, 100))
        ;

    assert_int_equal(tam_key_remove(f->keys, "viewer"), 0);
    assert_int_equal(tam_sec_reload(tam_sec_of(f->zs)), 0);
    refused(f, d, "r2"); /* the same connection: ZAP does not run again */
    tam_rpc_server_stats_t st;
    tam_rpc_server_stats(f->srv, &st);
    assert_true(st.rejected >= 1);
    zmq_send(snap, "\x81\xa6prefix\xa0", 9, 0);
    tam_feed_server_process(f->feed, NULL); /* drops every subscriber */
    while (gets(sub, 100))
        ; /* what was in flight before */
    for (int i = 0; i < 10; i++) {
        tam_feed_server_publish(f->feed, "need/KEN/A", "x", 1);
        tam_feed_server_process(f->feed, NULL);
        assert_false(gets(sub, QUIET_MS / 10));
        assert_false(gets(snap, 0));
    }
    roundtrip(f, sock(f, as(f, NULL, "manager"), ZMQ_DEALER, f->ep), "m1", &p); /* control */
    assert_string_equal(p.id, "manager");
}

static void t_no_zap_handler_lets_nothing_in(void **state)
{
    fx_t *f = *state;
    tam_principal_t p;
    roundtrip(f, sock(f, as(f, NULL, "planner"), ZMQ_DEALER, f->ep), "z0", &p); /* control */
    tam_sec_zap_stop(tam_sec_of(f->zs));
    void *z = as(f, NULL, "admin");
    refused(f, sock(f, z, ZMQ_DEALER, f->ep), "z1");
    void *sub = sock(f, z, ZMQ_SUB, f->pub), *snap = sock(f, z, ZMQ_DEALER, f->snap);
    zmq_send(snap, "\x81\xa6prefix\xa0", 9, 0);
    for (int i = 0; i < 10; i++) {
        tam_feed_server_publish(f->feed, "need/KEN/A", "x", 1);
        tam_feed_server_process(f->feed, NULL);
        assert_false(gets(sub, QUIET_MS / 10));
        assert_false(gets(snap, 0));
    }
}

/* ---- raw ZMTP: a peer that brings its own User-Id ----------------------------- */

static size_t put_prop(uint8_t *b, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    b[0] = (uint8_t)n;
    memcpy(b + 1, name, n);
    b[1 + n] = 0, b[2 + n] = 0, b[3 + n] = 0, b[4 + n] = (uint8_t)v;
    memcpy(b + 5 + n, value, v);
    return 5 + n + v;
}

/* Reads what the peer sent within ms (the peer's greeting or READY), if anything. */
static void drain_fd(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    uint8_t b[512];
    if (poll(&p, 1, ms) == 1 && read(fd, b, sizeof b) < 0)
        return;
}

/* Connects a unix socket to ep and speaks ZMTP 3.0 by hand, step by step as
 * a peer would: the greeting with the NULL mechanism, a READY with
 * Socket-Type DEALER and User-Id user, then one request. Returns the fd. */
static int raw_zmtp(const char *ep, const char *user)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", ep + 6);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    uint8_t greeting[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0};
    memcpy(greeting + 12, "NULL", 4);
    assert_int_equal(write(fd, greeting, 64), 64);
    drain_fd(fd, 1000);
    uint8_t out[512];
    size_t n = 2;
    out[0] = 0x04; /* a command, short */
    out[n++] = 5;
    memcpy(out + n, "READY", 5);
    n += 5;
    n += put_prop(out + n, "Socket-Type", "DEALER");
    n += put_prop(out + n, "User-Id", user);
    out[1] = (uint8_t)(n - 2);
    if (write(fd, out, n) != (ssize_t)n)
        return fd; /* a curve server may have hung up already: fine */
    drain_fd(fd, 200);
    uint8_t env[256];
    size_t el = request(env, sizeof env, "raw-1");
    n = 0;
    out[n++] = 0x01, out[n++] = 0;                  /* "" */
    out[n++] = 0x01, out[n++] = (uint8_t)el;        /* envelope */
    memcpy(out + n, env, el);
    n += el;
    out[n++] = 0x00, out[n++] = 1, out[n++] = 0x80; /* body {} */
    if (write(fd, out, n) != (ssize_t)n)
        return fd;
    return fd;
}

static void t_raw_zmtp_user_id_refused_in_curve_mode(void **state)
{
    fx_t *f = *state;
    int fd = raw_zmtp(f->ep, "admin");
    tam_rpc_req_t *r = serve(f, QUIET_MS);
    if (r)
        fail_msg("a raw ZMTP client claiming User-Id admin became principal %s", r->principal.id);
    close(fd);
    tam_principal_t p;
    roundtrip(f, sock(f, as(f, NULL, "viewer"), ZMQ_DEALER, f->ep), "c1", &p); /* control */
}

static void t_raw_zmtp_user_id_ignored_in_local_mode(void **state)
{
    fx_t *f = *state;
    void *z = as(f, NULL, NULL); /* no security: local mode */
    char ep[160];
    snprintf(ep, sizeof ep, "ipc://%s/run/local.req", f->dir);
    tam_rpc_server_t *srv = NULL;
    assert_int_equal(tam_rpc_server_new(&srv, z, ep, NULL), 0);
    int fd = raw_zmtp(ep, "KEN");
    tam_rpc_req_t *r = NULL;
    zmq_pollitem_t it = {tam_rpc_server_socket(srv), 0, ZMQ_POLLIN, 0};
    for (int i = 0; i < 100 && !r; i++) {
        zmq_poll(&it, 1, 50);
        assert_int_equal(tam_rpc_server_recv(srv, &r), 0);
    }
    assert_non_null(r); /* it got in (local mode trusts the socket)... */
    assert_string_equal(r->principal.id, "local"); /* ...but not as KEN */
    tam_rpc_req_free(&r);
    close(fd);
    tam_rpc_server_destroy(&srv);
}

/* ---- files, config, permissions ---------------------------------------------------- */

static void t_key_files(void **state)
{
    fx_t *f = *state;
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/respondent-KEN.key_secret", f->keys);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    tam_keyfile_t k, s;
    char err[600];
    assert_int_equal(tam_key_load(f->keys, "respondent-KEN", false, &k, err, sizeof err), 0);
    assert_int_equal(tam_key_load(f->keys, "respondent-KEN", true, &s, err, sizeof err), 0);
    assert_string_equal(k.respondent, "KEN");
    assert_int_equal(k.roles, TAM_ROLE_RESPONDENT);
    assert_string_equal(k.public_key, s.public_key);
    assert_string_equal(k.secret_key, "");
    assert_int_equal(strlen(s.secret_key), 40);
    /* zcert's layout: sections at column 0, keys indented by 4, quoted values */
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/respondent-KEN.key", f->keys);
    FILE *fp = fopen(path, "r");
    assert_true(getdelim(&text, &len, 0, fp) > 0);
    fclose(fp);
    assert_non_null(strstr(text, "\nmetadata\n    name = \"respondent-KEN\"\n"));
    assert_non_null(strstr(text, "\ncurve\n    public-key = \""));
    assert_null(strstr(text, "secret-key"));
    free(text);
    snprintf(path, sizeof path, "%s/respondent-KEN.key_secret", f->keys);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(tam_key_load(f->keys, "respondent-KEN", true, &s, err, sizeof err), TAM_EDENIED);
    assert_non_null(strstr(err, "readable by group or others"));
    assert_null(curve_context(f->cfg, "respondent-KEN")); /* a program refuses it */
    assert_int_equal(tam_key_write(f->keys, &s, err, sizeof err), TAM_EEXISTS);
}

static void t_local_mode_refused_with_tcp(void **state)
{
    (void)state;
    static tam_config_t cfg;
    tam_config_defaults(&cfg);
    snprintf(cfg.security.mode, sizeof cfg.security.mode, "local");
    snprintf(cfg.registry.endpoint, sizeof cfg.registry.endpoint, "tcp://0.0.0.0:7001");
    void *z = zmq_ctx_new();
    tam_sec_t *s = NULL;
    char err[600] = "";
    assert_int_equal(tam_sec_new(&s, &cfg, z, "x", err, sizeof err), TAM_ECONFIG);
    assert_non_null(strstr(err, "[registry] endpoint"));
    snprintf(cfg.security.mode, sizeof cfg.security.mode, "none");
    assert_int_equal(tam_sec_new(&s, &cfg, z, "x", err, sizeof err), TAM_ECONFIG);
    zmq_ctx_term(z);
}

static void t_ipc_sockets_owner_only(void **state)
{
    fx_t *f = *state;
    const char *eps[] = {f->ep, f->pub, f->snap};
    struct stat st;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(stat(eps[i] + 6, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600); /* bound with umask 0 */
    }
    char run[128];
    snprintf(run, sizeof run, "%s/run", f->dir);
    assert_int_equal(stat(run, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

/* ---- the role matrix -------------------------------------------------------------------- */

static void t_matrix_covers_the_protocol(void **state)
{
    (void)state;
    size_t nm, nr;
    const tam_message_t *m = tam_messages(&nm);
    const tam_access_rule_t *r = tam_access_rules(&nr);
    for (size_t i = 0; i < nm; i++)
        if (!tam_access_roles(m[i].type))
            fail_msg("message type %s has no row in the role matrix", m[i].type);
    for (size_t i = 0; i < nr; i++) {
        char t[80];
        snprintf(t, sizeof t, "%.*s", (int)strcspn(r[i].type, "/"), r[i].type);
        if (!tam_message_find(t) && strcmp(t, "service.stats") != 0)
            fail_msg("role matrix row %s names no message type", r[i].type);
        assert_int_equal(r[i].roles & TAM_ROLE_ADMIN, 0); /* admin is implied, not listed */
    }
    tam_principal_t viewer = {.id = "v", .roles = TAM_ROLE_VIEWER};
    for (size_t i = 0; i < nm; i++)
        if (m[i].writes)
            assert_int_equal(tam_access_check(&viewer, m[i].type, NULL, NULL, NULL), TAM_EDENIED);
}

static void t_matrix_is_the_document(void **state)
{
    (void)state;
    const char *src = getenv("TAM_SOURCE_DIR");
    if (!src)
        fail_msg("TAM_SOURCE_DIR is not set (ctest sets it)");
    char *table = NULL, *doc = NULL, path[600];
    size_t tl = 0, dl = 0;
    FILE *mem = open_memstream(&table, &tl);
    tam_access_write_markdown(mem);
    fclose(mem);
    snprintf(path, sizeof path, "%s/docs/security.md", src);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_true(getdelim(&doc, &dl, 0, fp) > 0);
    fclose(fp);
    if (!strstr(doc, table))
        fail_msg("docs/security.md does not hold the role matrix of services/common/access.c; "
                 "paste the output of `tam-config --roles`:\n%s", table);
    free(table);
    free(doc);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a refused raw peer writes into a closed socket */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_keys_get_in_with_their_principal, setup, teardown),
        cmocka_unit_test_setup_teardown(t_plain_client_gets_nothing_in, setup, teardown),
        cmocka_unit_test_setup_teardown(t_unknown_key_gets_nothing_in, setup, teardown),
        cmocka_unit_test_setup_teardown(t_revoked_key_refused_on_established_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(t_no_zap_handler_lets_nothing_in, setup, teardown),
        cmocka_unit_test_setup_teardown(t_raw_zmtp_user_id_refused_in_curve_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(t_raw_zmtp_user_id_ignored_in_local_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(t_key_files, setup, teardown),
        cmocka_unit_test(t_local_mode_refused_with_tcp),
        cmocka_unit_test_setup_teardown(t_ipc_sockets_owner_only, setup, teardown),
        cmocka_unit_test(t_matrix_covers_the_protocol),
        cmocka_unit_test(t_matrix_is_the_document),
    };
    return cmocka_run_group_tests_name("sec", tests, NULL, NULL);
}

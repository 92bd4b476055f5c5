/* test_codec.c — the schema-driven codec: round trips for every struct and
 * message type, and one rejection test per validation rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "tam/error.h"
#include "tam/mpcheck.h"
#include "tam/proto.h"
#include "tam/service.h"

/* ---- a random valid instance of any schema, built from its descriptors ---- */

static uint64_t s_rng = 88172645463325252ull;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static char *s_rand_str(tam_arena_t *a, int64_t min, int64_t max)
{
    if (max <= 0 || max > 300)
        max = max <= 0 ? 40 : 300;
    int64_t n = min + (int64_t)(s_rand() % (uint64_t)(max - min + 1));
    char *s = tam_arena_alloc(a, (size_t)n + 1);
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -";
    for (int64_t i = 0; i < n; i++)
        s[i] = al[s_rand() % (sizeof al - 1)];
    return s;
}

static void s_fill(const tam_schema_t *s, void *obj, tam_arena_t *a, int depth)
{
    char *base = obj;
    for (size_t i = 0; i < s->nfields; i++) {
        const tam_field_t *f = &s->fields[i];
        void *p = base + f->offset;
        bool skip = !(f->flags & TAM_F_REQ) && s_rand() % 4 == 0;
        switch (f->type) {
        case TAM_T_STR:
            if (!skip)
                *(char **)p = s_rand_str(a, f->min, f->max);
            break;
        case TAM_T_I64:
        {
            uint64_t span = (uint64_t)f->max - (uint64_t)f->min + 1; /* 0: the full range */
            *(int64_t *)p = (int64_t)((uint64_t)f->min + (span ? s_rand() % span : s_rand()));
        }
            break;
        case TAM_T_U64: *(uint64_t *)p = f->max > 0 ? s_rand() % (uint64_t)f->max : s_rand(); break;
        case TAM_T_BOOL: *(bool *)p = s_rand() & 1; break;
        case TAM_T_ENUM: *(int *)p = (int)(s_rand() % f->en->n); break;
        case TAM_T_DATE:
            if (!skip)
                *(uint32_t *)p = tam_date_from_days((int64_t)(s_rand() % 40000));
            break;
        case TAM_T_STRS: {
            tam_strs_t *v = p;
            v->n = skip ? 0 : (uint32_t)(f->min + (int64_t)(s_rand() % 4));
            if (f->max > 0 && v->n > f->max) /* within the field's bound */
                v->n = (uint32_t)f->max;
            v->v = tam_arena_alloc(a, sizeof(char *) * (v->n + 1));
            for (uint32_t k = 0; k < v->n; k++)
                v->v[k] = s_rand_str(a, 1, f->elem_max);
            break;
        }
        case TAM_T_U64S: {
            tam_u64s_t *v = p;
            v->n = skip ? 0 : (uint32_t)(f->min + (int64_t)(s_rand() % 4));
            if (f->max > 0 && v->n > f->max)
                v->n = (uint32_t)f->max;
            v->v = tam_arena_alloc(a, sizeof(uint64_t) * (v->n + 1));
            for (uint32_t k = 0; k < v->n; k++)
                v->v[k] = s_rand();
            break;
        }
        case TAM_T_OBJ:
            if (!skip || (f->flags & TAM_F_REQ)) {
                void *sub = tam_arena_alloc(a, f->sub->size);
                s_fill(f->sub, sub, a, depth + 1);
                *(void **)p = sub;
            }
            break;
        case TAM_T_OBJS: {
            tam_vec_t *v = p;
            v->n = skip || depth > 3 ? (uint32_t)f->min : (uint32_t)(f->min + (int64_t)(s_rand() % 4));
            v->v = tam_arena_alloc(a, f->sub->size * (v->n + 1));
            for (uint32_t k = 0; k < v->n; k++)
                s_fill(f->sub, (char *)v->v + k * f->sub->size, a, depth + 1);
            break;
        }
        }
    }
}

static void test_roundtrip_every_schema(void **state)
{
    (void)state;
    size_t ns;
    const tam_schema_t *const *schemas = tam_schemas(&ns);
    assert_true(ns > 5);
    for (size_t i = 0; i < ns; i++) {
        assert_true(schemas[i]->nfields <= 64); /* the decoder's seen-bitmap */
        for (int rep = 0; rep < 50; rep++) {
            tam_arena_t *a = tam_arena_new(0), *b = tam_arena_new(0);
            void *obj = tam_arena_alloc(a, schemas[i]->size);
            s_fill(schemas[i], obj, a, 0);
            msgpack_sbuffer one, two;
            tam_codec_err_t err;
            assert_int_equal(tam_encode_sbuf(schemas[i], obj, &one, &err), 0);
            void *back = tam_arena_alloc(b, schemas[i]->size);
            int rc = tam_decode(schemas[i], one.data, one.size, b, back, &err);
            if (rc)
                fail_msg("%s: %s: %s", schemas[i]->name, err.path, err.message);
            assert_int_equal(tam_encode_sbuf(schemas[i], back, &two, &err), 0);
            assert_int_equal(one.size, two.size);
            assert_memory_equal(one.data, two.data, one.size);
            msgpack_sbuffer_destroy(&one);
            msgpack_sbuffer_destroy(&two);
            tam_arena_destroy(&a);
            tam_arena_destroy(&b);
        }
    }
}

static void test_every_message_has_schemas(void **state)
{
    (void)state;
    size_t nm;
    const tam_message_t *m = tam_messages(&nm);
    assert_true(nm >= 2);
    for (size_t i = 0; i < nm; i++) {
        assert_ptr_equal(tam_message_find(m[i].type), &m[i]);
        assert_non_null(m[i].request);
        assert_non_null(m[i].answer);
        assert_int_equal(m[i].id, (int)i);
    }
    assert_null(tam_message_find("ingest.nope"));
    assert_null(tam_message_find(""));
}

/* ---- hand-written wire input for the rejection tests ---------------------- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_buf_t;

static void s_buf_init(s_buf_t *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void s_kstr(s_buf_t *b, const char *k, const char *v)
{
    msgpack_pack_str_with_body(&b->pk, k, strlen(k));
    msgpack_pack_str_with_body(&b->pk, v, strlen(v));
}

static void s_kint(s_buf_t *b, const char *k, int64_t v)
{
    msgpack_pack_str_with_body(&b->pk, k, strlen(k));
    msgpack_pack_int64(&b->pk, v);
}

/* A valid need_in map, with field `omit` left out and `override` (if not
 * NULL) packed instead of the field of that name by the callback. */
typedef void (*s_override_fn)(s_buf_t *b);

static void s_need_in(s_buf_t *b, const char *omit, const char *oname, s_override_fn ov)
{
    const char *names[] = {"country", "standard", "modality", "priority", "cost", "start", "end", "text"};
    uint32_t n = 0;
    for (int i = 0; i < 8; i++)
        n += !(omit && strcmp(omit, names[i]) == 0);
    msgpack_pack_map(&b->pk, n);
    for (int i = 0; i < 8; i++) {
        if (omit && strcmp(omit, names[i]) == 0)
            continue;
        if (oname && strcmp(oname, names[i]) == 0) {
            msgpack_pack_str_with_body(&b->pk, names[i], strlen(names[i]));
            ov(b);
            continue;
        }
        switch (i) {
        case 0: s_kstr(b, "country", "KEN"); break;
        case 1: s_kstr(b, "standard", "A-SMR"); break;
        case 2: s_kstr(b, "modality", "training"); break;
        case 3: s_kint(b, "priority", 4); break;
        case 4: s_kint(b, "cost", 120000); break;
        case 5: s_kstr(b, "start", "2027-01-01"); break;
        case 6: s_kstr(b, "end", "2027-12-31"); break;
        case 7: s_kstr(b, "text", "Training of prison staff"); break;
        }
    }
}

static int s_decode_need(s_buf_t *b, tam_codec_err_t *err, tam_need_in_t *out)
{
    tam_arena_t *a = tam_arena_new(0);
    int rc = tam_decode(&tam_schema_need_in, b->sb.data, b->sb.size, a, out, err);
    /* Nothing large was allocated for any rejected input. */
    assert_true(tam_arena_used(a) <= 64 * 1024);
    tam_arena_destroy(&a);
    msgpack_sbuffer_destroy(&b->sb);
    return rc;
}

static void test_valid_need_decodes(void **state)
{
    (void)state;
    s_buf_t b;
    s_buf_init(&b);
    s_need_in(&b, NULL, NULL, NULL);
    tam_arena_t *a = tam_arena_new(0);
    tam_need_in_t n;
    tam_codec_err_t err;
    assert_int_equal(tam_decode(&tam_schema_need_in, b.sb.data, b.sb.size, a, &n, &err), 0);
    assert_string_equal(n.country, "KEN");
    assert_int_equal(n.priority, 4);
    assert_int_equal(n.cost, 120000);
    assert_int_equal(n.start, 20270101);
    assert_int_equal(n.end, 20271231);
    tam_arena_destroy(&a);
    msgpack_sbuffer_destroy(&b.sb);
}

#define EXPECT(rc_, code_, path_)                       \
    do {                                                \
        assert_int_equal((rc_), (code_));               \
        assert_int_equal(err.code, (code_));            \
        assert_string_equal(err.path, (path_));         \
        assert_true(strlen(err.message) > 0);           \
    } while (0)

static void test_reject_missing_field(void **state)
{
    (void)state;
    s_buf_t b;
    tam_need_in_t n;
    tam_codec_err_t err;
    s_buf_init(&b);
    s_need_in(&b, "standard", NULL, NULL);
    EXPECT(s_decode_need(&b, &err, &n), TAM_EMISSING, "standard");
    /* an optional field may be left out */
    s_buf_init(&b);
    s_need_in(&b, "text", NULL, NULL);
    assert_int_equal(s_decode_need(&b, &err, &n), 0);
}

static void s_ov_int(s_buf_t *b) { msgpack_pack_int64(&b->pk, 7); }
static void s_ov_str(s_buf_t *b) { msgpack_pack_str_with_body(&b->pk, "x", 1); }
static void s_ov_float(s_buf_t *b) { msgpack_pack_double(&b->pk, 1.5); }
static void s_ov_nil(s_buf_t *b) { msgpack_pack_nil(&b->pk); }
static void s_ov_big(s_buf_t *b) { msgpack_pack_uint64(&b->pk, UINT64_MAX); }
static void s_ov_neg(s_buf_t *b) { msgpack_pack_int64(&b->pk, -5); }
static void s_ov_baddate(s_buf_t *b) { msgpack_pack_str_with_body(&b->pk, "2027-02-30", 10); }
static void s_ov_datefmt(s_buf_t *b) { msgpack_pack_str_with_body(&b->pk, "27-1-1", 6); }
static void s_ov_long(s_buf_t *b)
{
    static char s[5000];
    memset(s, 'a', sizeof s);
    msgpack_pack_str_with_body(&b->pk, s, sizeof s);
}
static void s_ov_utf8(s_buf_t *b) { msgpack_pack_str_with_body(&b->pk, "K\xc3\x28", 3); }
static void s_ov_nul(s_buf_t *b) { msgpack_pack_str_with_body(&b->pk, "K\0N", 3); }
static void s_ov_array(s_buf_t *b) { msgpack_pack_array(&b->pk, 0); }

static void test_reject_wrong_types(void **state)
{
    (void)state;
    s_buf_t b;
    tam_need_in_t n;
    tam_codec_err_t err;
    s_buf_init(&b), s_need_in(&b, NULL, "country", s_ov_int);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETYPE, "country");
    s_buf_init(&b), s_need_in(&b, NULL, "priority", s_ov_str);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETYPE, "priority");
    s_buf_init(&b), s_need_in(&b, NULL, "cost", s_ov_float);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETYPE, "cost");
    s_buf_init(&b), s_need_in(&b, NULL, "start", s_ov_int);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETYPE, "start");
    s_buf_init(&b), s_need_in(&b, NULL, "text", s_ov_array);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETYPE, "text");
    s_buf_init(&b), s_need_in(&b, NULL, "standard", s_ov_nil);
    EXPECT(s_decode_need(&b, &err, &n), TAM_EMISSING, "standard");
    /* nil for an optional field is absence */
    s_buf_init(&b), s_need_in(&b, NULL, "text", s_ov_nil);
    assert_int_equal(s_decode_need(&b, &err, &n), 0);
    assert_null(n.text);
}

static void test_reject_ranges_and_lengths(void **state)
{
    (void)state;
    s_buf_t b;
    tam_need_in_t n;
    tam_codec_err_t err;
    s_buf_init(&b), s_need_in(&b, NULL, "priority", s_ov_int); /* 7 > 5 */
    EXPECT(s_decode_need(&b, &err, &n), TAM_ERANGE, "priority");
    s_buf_init(&b), s_need_in(&b, NULL, "cost", s_ov_neg);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ERANGE, "cost");
    s_buf_init(&b), s_need_in(&b, NULL, "cost", s_ov_big);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ERANGE, "cost");
    s_buf_init(&b), s_need_in(&b, NULL, "country", s_ov_str); /* 1 byte, needs 3 */
    EXPECT(s_decode_need(&b, &err, &n), TAM_EINVAL, "country");
    s_buf_init(&b), s_need_in(&b, NULL, "text", s_ov_long);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETOOBIG, "text");
    s_buf_init(&b), s_need_in(&b, NULL, "country", s_ov_utf8);
    EXPECT(s_decode_need(&b, &err, &n), TAM_EINVAL, "country");
    s_buf_init(&b), s_need_in(&b, NULL, "country", s_ov_nul);
    EXPECT(s_decode_need(&b, &err, &n), TAM_EINVAL, "country");
    s_buf_init(&b), s_need_in(&b, NULL, "end", s_ov_baddate);
    EXPECT(s_decode_need(&b, &err, &n), TAM_EINVAL, "end");
    s_buf_init(&b), s_need_in(&b, NULL, "start", s_ov_datefmt);
    EXPECT(s_decode_need(&b, &err, &n), TAM_EINVAL, "start");
}

static void test_reject_unknown_and_duplicate_fields(void **state)
{
    (void)state;
    tam_codec_err_t err;
    tam_need_in_t n;
    s_buf_t b;
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 2);
    s_kstr(&b, "country", "KEN");
    s_kint(&b, "priorty", 3);
    EXPECT(s_decode_need(&b, &err, &n), TAM_EUNKNOWN, "priorty");
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 2);
    s_kstr(&b, "country", "KEN");
    s_kstr(&b, "country", "UGA");
    EXPECT(s_decode_need(&b, &err, &n), TAM_EINVAL, "country");
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 1);
    msgpack_pack_int(&b.pk, 1);
    msgpack_pack_int(&b.pk, 1);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETYPE, "");
    s_buf_init(&b);
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_int(&b.pk, 1);
    EXPECT(s_decode_need(&b, &err, &n), TAM_ETYPE, "");
}

/* Found by fuzz_codec: a field name with a NUL inside, and an empty one. */
static void test_reject_names_with_nul(void **state)
{
    (void)state;
    tam_codec_err_t err;
    tam_need_in_t n;
    s_buf_t b;
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 1);
    msgpack_pack_str_with_body(&b.pk, "text\0xyzzyxyzzyxyzzy", 21);
    msgpack_pack_str_with_body(&b.pk, "a", 1);
    assert_int_equal(s_decode_need(&b, &err, &n), TAM_EUNKNOWN);
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 1);
    msgpack_pack_str_with_body(&b.pk, "", 0);
    msgpack_pack_str_with_body(&b.pk, "", 0);
    assert_int_equal(s_decode_need(&b, &err, &n), TAM_EUNKNOWN);
    assert_int_equal(tam_enum_index(&tam_enum_answer_state, "need\0zzzzzzzzzzzzzzzzz", 22), -1);
    assert_int_equal(tam_enum_index(&tam_enum_answer_state, "", 0), -1);
    assert_int_equal(tam_enum_index(&tam_enum_answer_state, "no_need", 7), TAM_E_answer_state_no_need);
}

typedef struct {
    int n;
    char paths[8][160];
    int codes[8];
} s_seen_t;

static void s_collect(const tam_codec_err_t *e, void *arg)
{
    s_seen_t *seen = arg;
    if (seen->n < 8) {
        snprintf(seen->paths[seen->n], sizeof seen->paths[0], "%s", e->path);
        seen->codes[seen->n] = e->code;
    }
    seen->n++;
}

/* Collect-all mode: every problem of a reply, in order, with its path. */
static void test_decode_all_lists_every_problem(void **state)
{
    (void)state;
    const char *json =
        "{\"respondent\":{\"type\":\"member_state\",\"id\":\"KEN\"},"
        "\"instrument\":{\"category\":\"A\",\"version\":0},\"completeness\":80,"
        "\"answers\":[{\"standard\":\"A-SMR\",\"state\":\"maybe\"}],"
        "\"needs\":[{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"training\","
        "\"priority\":9,\"cost\":0,\"start\":\"2027-01-01\"}],\"colour\":1}";
    msgpack_sbuffer sb;
    tam_codec_err_t err;
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &sb, &err), 0);
    tam_arena_t *a = tam_arena_new(0);
    tam_reply_t r;
    s_seen_t seen = {0};
    int rc = tam_decode_all(&tam_schema_reply, sb.data, sb.size, a, &r, &err, s_collect, &seen);
    assert_int_equal(rc, TAM_ERANGE);
    assert_int_equal(err.code, TAM_ERANGE);
    assert_string_equal(err.path, "instrument.version");
    assert_int_equal(seen.n, 6);
    assert_string_equal(seen.paths[0], "instrument.version");
    assert_string_equal(seen.paths[1], "answers[0].state");
    assert_string_equal(seen.paths[2], "needs[0].priority");
    assert_string_equal(seen.paths[3], "needs[0].cost");
    assert_string_equal(seen.paths[4], "needs[0].end");
    assert_int_equal(seen.codes[4], TAM_EMISSING);
    assert_string_equal(seen.paths[5], "colour");
    assert_int_equal(seen.codes[5], TAM_EUNKNOWN);
    /* the plain decoder still stops at the first */
    assert_int_equal(tam_decode(&tam_schema_reply, sb.data, sb.size, a, &r, &err), TAM_ERANGE);
    assert_string_equal(err.path, "instrument.version");
    /* a clean message: no callback, 0 */
    msgpack_sbuffer_destroy(&sb);
    const char *ok = "{\"country\":\"KEN\",\"standard\":\"A-SMR\",\"modality\":\"training\","
                     "\"priority\":3,\"cost\":10,\"start\":\"2027-01-01\",\"end\":\"2027-02-01\"}";
    assert_int_equal(tam_json_to_msgpack(ok, strlen(ok), &sb, &err), 0);
    tam_need_in_t n;
    seen.n = 0;
    assert_int_equal(tam_decode_all(&tam_schema_need_in, sb.data, sb.size, a, &n, NULL, s_collect, &seen), 0);
    assert_int_equal(seen.n, 0);
    msgpack_sbuffer_destroy(&sb);
    /* a malformed buffer is one problem */
    const uint8_t bad[] = {0xdd, 0x04, 0x00, 0x00, 0x00};
    assert_int_equal(tam_decode_all(&tam_schema_need_in, bad, sizeof bad, a, &n, &err, s_collect, &seen), TAM_ETRUNC);
    assert_int_equal(seen.n, 1);
    tam_arena_destroy(&a);
}

/* What a service answers: every problem listed in the error answer. */
static void test_request_decode_lists_every_problem(void **state)
{
    (void)state;
    const char *json = "{\"country\":\"KE\",\"standard\":\"A-SMR\",\"modality\":7,"
                       "\"priority\":3,\"cost\":-1,\"start\":\"2027-01-01\",\"end\":\"2027-02-01\"}";
    msgpack_sbuffer sb;
    tam_codec_err_t ce;
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &sb, &ce), 0);
    tam_arena_t *a = tam_arena_new(0);
    tam_need_in_t n;
    tam_rpc_error_t err;
    tam_rpc_error_init(&err);
    assert_int_equal(tam_request_decode(&tam_schema_need_in, sb.data, sb.size, a, &n, &err), TAM_EINVAL);
    assert_int_equal(err.code, TAM_EINVAL);
    assert_string_equal(err.field, "country");
    assert_int_equal(err.n, 3);
    assert_string_equal(err.errors[0].field, "country");
    assert_string_equal(err.errors[1].field, "modality");
    assert_string_equal(err.errors[2].field, "cost");
    tam_rpc_error_clear(&err);
    tam_arena_destroy(&a);
    msgpack_sbuffer_destroy(&sb);
}

static void test_reject_nested_paths_and_enums(void **state)
{
    (void)state;
    const char *json =
        "{\"respondent\":{\"type\":\"member_state\",\"id\":\"KEN\"},"
        "\"instrument\":{\"category\":\"A\",\"version\":1},\"completeness\":80,"
        "\"answers\":[{\"standard\":\"A-SMR\",\"state\":\"need\"},{\"standard\":\"A-BPTP\",\"state\":\"maybe\"}]}";
    msgpack_sbuffer sb;
    tam_codec_err_t err;
    assert_int_equal(tam_json_to_msgpack(json, strlen(json), &sb, &err), 0);
    tam_arena_t *a = tam_arena_new(0);
    tam_reply_t r;
    int rc = tam_decode(&tam_schema_reply, sb.data, sb.size, a, &r, &err);
    EXPECT(rc, TAM_EUNKNOWN, "answers[1].state");
    assert_non_null(strstr(err.message, "no_need"));
    msgpack_sbuffer_destroy(&sb);

    const char *json2 =
        "{\"respondent\":{\"type\":\"member_state\",\"id\":\"KEN\"},"
        "\"instrument\":{\"category\":\"A\"},\"completeness\":80,\"answers\":[]}";
    assert_int_equal(tam_json_to_msgpack(json2, strlen(json2), &sb, &err), 0);
    rc = tam_decode(&tam_schema_reply, sb.data, sb.size, a, &r, &err);
    EXPECT(rc, TAM_EMISSING, "instrument.version");
    msgpack_sbuffer_destroy(&sb);

    const char *json3 = "{\"respondent\": 5.5}";
    assert_int_equal(tam_json_to_msgpack(json3, strlen(json3), &sb, &err), 0);
    rc = tam_decode(&tam_schema_reply, sb.data, sb.size, a, &r, &err);
    EXPECT(rc, TAM_ETYPE, "respondent");
    msgpack_sbuffer_destroy(&sb);
    tam_arena_destroy(&a);
}

static void test_reject_hostile_bytes(void **state)
{
    (void)state;
    tam_codec_err_t err;
    tam_need_in_t n;
    tam_arena_t *a = tam_arena_new(0);
    /* array32 declaring 67 million elements in 5 bytes */
    const uint8_t huge_array[] = {0xdd, 0x04, 0x00, 0x00, 0x00};
    EXPECT(tam_decode(&tam_schema_need_in, huge_array, sizeof huge_array, a, &n, &err), TAM_ETRUNC, "");
    /* map32 declaring 4 billion pairs */
    const uint8_t huge_map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0};
    EXPECT(tam_decode(&tam_schema_need_in, huge_map, sizeof huge_map, a, &n, &err), TAM_ETRUNC, "");
    /* str32 declaring 4 GiB */
    const uint8_t huge_str[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    assert_int_not_equal(tam_decode(&tam_schema_need_in, huge_str, sizeof huge_str, a, &n, &err), 0);
    assert_true(err.code == TAM_ETRUNC || err.code == TAM_ETOOBIG);
    /* truncated: a valid map cut short, at every length */
    s_buf_t b;
    s_buf_init(&b);
    s_need_in(&b, NULL, NULL, NULL);
    for (size_t cut = 0; cut < b.sb.size; cut++) {
        int rc = tam_decode(&tam_schema_need_in, b.sb.data, cut, a, &n, &err);
        assert_int_equal(rc, TAM_ETRUNC);
    }
    /* trailing garbage after a complete object */
    char *more = malloc(b.sb.size + 1);
    memcpy(more, b.sb.data, b.sb.size);
    more[b.sb.size] = 0x01;
    EXPECT(tam_decode(&tam_schema_need_in, more, b.sb.size + 1, a, &n, &err), TAM_EPROTO, "");
    free(more);
    msgpack_sbuffer_destroy(&b.sb);
    /* the reserved byte */
    const uint8_t reserved[] = {0xc1};
    EXPECT(tam_decode(&tam_schema_need_in, reserved, 1, a, &n, &err), TAM_EPROTO, "");
    /* nesting deeper than the cap: 40 nested arrays */
    uint8_t deep[41];
    memset(deep, 0x91, 40);
    deep[40] = 0x01;
    EXPECT(tam_decode(&tam_schema_need_in, deep, sizeof deep, a, &n, &err), TAM_EDEPTH, "");
    assert_true(tam_arena_used(a) <= 64 * 1024);
    tam_arena_destroy(&a);
}

static void test_mpcheck_limits(void **state)
{
    (void)state;
    /* depth: 8 levels allowed, 9 refused */
    uint8_t d[10];
    memset(d, 0x91, 9);
    d[9] = 0x01;
    tam_mp_limits_t lim = {8, 1000, 100};
    assert_int_equal(tam_mp_check(d + 1, 9, &lim, NULL), 0);
    assert_int_equal(tam_mp_check(d, 10, &lim, NULL), TAM_EDEPTH);
    /* items cap */
    uint8_t arr[1 + 20];
    arr[0] = 0x90 | 15;
    memset(arr + 1, 0x01, 15);
    lim.max_items = 10;
    assert_int_equal(tam_mp_check(arr, 16, &lim, NULL), TAM_ETOOBIG);
    lim.max_items = 16;
    assert_int_equal(tam_mp_check(arr, 16, &lim, NULL), 0);
    /* string cap */
    uint8_t str[1 + 5] = {0xa5, 'a', 'b', 'c', 'd', 'e'};
    lim.max_str = 4;
    assert_int_equal(tam_mp_check(str, 6, &lim, NULL), TAM_ETOOBIG);
    /* empty input */
    assert_int_equal(tam_mp_check(str, 0, &lim, NULL), TAM_ETRUNC);
}

static void test_oversize_message_refused(void **state)
{
    (void)state;
    tam_codec_err_t err;
    tam_need_in_t n;
    tam_arena_t *a = tam_arena_new(0);
    size_t len = TAM_CODEC_MAX_MSG + 1;
    char *big = calloc(1, len);
    EXPECT(tam_decode(&tam_schema_need_in, big, len, a, &n, &err), TAM_ETOOBIG, "");
    free(big);
    /* an arena cap turns a large but well-formed message into an error */
    tam_arena_set_cap(a, 4096);
    tam_arena_reset(a);
    s_buf_t b;
    s_buf_init(&b);
    s_need_in(&b, NULL, "text", s_ov_long); /* 5000 bytes: over the field bound first */
    int rc = tam_decode(&tam_schema_need_in, b.sb.data, b.sb.size, a, &n, &err);
    assert_int_not_equal(rc, 0);
    msgpack_sbuffer_destroy(&b.sb);
    tam_arena_destroy(&a);
}

static void test_encode_requires_fields(void **state)
{
    (void)state;
    tam_need_in_t n = {0};
    n.country = "KEN";
    msgpack_sbuffer sb;
    tam_codec_err_t err;
    EXPECT(tam_encode_sbuf(&tam_schema_need_in, &n, &sb, &err), TAM_EMISSING, "standard");
    assert_int_equal(sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_json_mapping(void **state)
{
    (void)state;
    tam_codec_err_t err;
    msgpack_sbuffer sb;
    assert_int_equal(tam_json_to_msgpack("{\"a\":1,", 7, &sb, &err), TAM_EINVAL);
    assert_non_null(strstr(err.message, "line 1"));
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(tam_json_to_msgpack("{\"a\":1,\"a\":2}", 13, &sb, &err), TAM_EINVAL);
    msgpack_sbuffer_destroy(&sb);
    /* nesting in JSON is capped before conversion recurses */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(tam_json_to_msgpack(deep, 200, &sb, &err), TAM_EDEPTH);
    msgpack_sbuffer_destroy(&sb);
    /* msgpack → JSON → msgpack gives the same bytes for a struct */
    const char *j = "{\"country\":\"KEN\",\"priority\":3}";
    assert_int_equal(tam_json_to_msgpack(j, strlen(j), &sb, &err), 0);
    char *back = tam_msgpack_to_json(sb.data, sb.size, JSON_COMPACT);
    assert_non_null(back);
    assert_string_equal(back, j);
    free(back);
    msgpack_sbuffer_destroy(&sb);
    const uint8_t bad[] = {0xdd, 0x04, 0x00, 0x00, 0x00};
    assert_null(tam_msgpack_to_json(bad, sizeof bad, 0));
}

static void test_dates_and_utf8(void **state)
{
    (void)state;
    uint32_t d;
    assert_int_equal(tam_date_parse("2024-02-29", 10, &d), 0);
    assert_int_equal(d, 20240229);
    assert_int_equal(tam_date_parse("2023-02-29", 10, &d), TAM_EINVAL);
    assert_int_equal(tam_date_parse("1899-12-31", 10, &d), TAM_EINVAL);
    assert_int_equal(tam_date_parse("2024-13-01", 10, &d), TAM_EINVAL);
    assert_int_equal(tam_date_parse("2024-1-011", 10, &d), TAM_EINVAL);
    for (int64_t day = -1000; day < 80000; day += 37)
        assert_int_equal(tam_date_days(tam_date_from_days(day)), day);
    assert_int_equal(tam_date_days(19700101), 0);
    char buf[11];
    tam_date_format(20270315, buf);
    assert_string_equal(buf, "2027-03-15");
    assert_true(tam_utf8_valid("Côte d\xe2\x80\x99Ivoire", 16));
    assert_false(tam_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(tam_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(tam_utf8_valid("a\x01", 2));            /* control */
    assert_true(tam_utf8_valid("tab\tnl\n", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_schema),
        cmocka_unit_test(test_every_message_has_schemas),
        cmocka_unit_test(test_valid_need_decodes),
        cmocka_unit_test(test_reject_missing_field),
        cmocka_unit_test(test_reject_wrong_types),
        cmocka_unit_test(test_reject_ranges_and_lengths),
        cmocka_unit_test(test_reject_unknown_and_duplicate_fields),
        cmocka_unit_test(test_reject_names_with_nul),
        cmocka_unit_test(test_decode_all_lists_every_problem),
        cmocka_unit_test(test_request_decode_lists_every_problem),
        cmocka_unit_test(test_reject_nested_paths_and_enums),
        cmocka_unit_test(test_reject_hostile_bytes),
        cmocka_unit_test(test_mpcheck_limits),
        cmocka_unit_test(test_oversize_message_refused),
        cmocka_unit_test(test_encode_requires_fields),
        cmocka_unit_test(test_json_mapping),
        cmocka_unit_test(test_dates_and_utf8),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}

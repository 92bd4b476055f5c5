/* test_gw_json.c — the gateway's direct msgpack-to-JSON writer (gw_json.c)
 * gives the same text as the codec's jansson path (tam_msgpack_to_json with
 * JSON_COMPACT), on every kind of value the services can send and on the
 * edge cases (big integers, escapes, bad UTF-8, binary, odd keys), and reads
 * the paging fields of a list answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "../../services/gateway/gw_json.c"

static void s_key(msgpack_packer *pk, const char *k, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}

static void s_same(const msgpack_sbuffer *sb)
{
    char *want = tam_msgpack_to_json(sb->data, sb->size, JSON_COMPACT);
    char *got = gw_json_of(sb->data, sb->size, NULL);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

static void t_values(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char longkey[300];
    memset(longkey, 'k', sizeof longkey);
    msgpack_pack_map(&pk, 17);
    s_key(&pk, "big", 3), msgpack_pack_uint64(&pk, UINT64_MAX);
    s_key(&pk, "max", 3), msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX);
    s_key(&pk, "neg", 3), msgpack_pack_int64(&pk, INT64_MIN);
    static const char esc[] = "he said \"hi\"\\\n\t\r\b\f\x01\x1f/\x7f \xc3\xbc \xe2\x80\xa8";
    s_key(&pk, "esc", 3), s_key(&pk, esc, sizeof esc - 1);
    s_key(&pk, "bad", 3), s_key(&pk, "\xff\xfe", 2);
    s_key(&pk, "overlong", 8), s_key(&pk, "\xc0\xaf", 2);
    s_key(&pk, "surrogate", 9), s_key(&pk, "\xed\xa0\x80", 3);
    s_key(&pk, "arr", 3), msgpack_pack_array(&pk, 3), msgpack_pack_true(&pk),
        msgpack_pack_false(&pk), msgpack_pack_nil(&pk);
    s_key(&pk, "bin", 3), msgpack_pack_bin(&pk, 2), msgpack_pack_bin_body(&pk, "ab", 2);
    s_key(&pk, "real", 4), msgpack_pack_double(&pk, 1.5);
    s_key(&pk, "whole", 5), msgpack_pack_double(&pk, 2.0);
    s_key(&pk, "nested", 6), msgpack_pack_map(&pk, 1), s_key(&pk, "e", 1), msgpack_pack_array(&pk, 0);
    msgpack_pack_int(&pk, 7), msgpack_pack_int(&pk, 8);          /* a non-string key: skipped */
    s_key(&pk, "\xff", 1), msgpack_pack_int(&pk, 9);             /* a key not UTF-8: skipped */
    s_key(&pk, longkey, sizeof longkey), msgpack_pack_int(&pk, 10); /* cut to 255 bytes */
    s_key(&pk, "nul\0cut", 7), msgpack_pack_int(&pk, 11);          /* cut at the NUL */
    s_key(&pk, "", 0), s_key(&pk, "", 0);
    s_same(&sb);
    msgpack_sbuffer_destroy(&sb);
    /* Scalars at the top. */
    msgpack_sbuffer_init(&sb);
    msgpack_pack_str(&pk, 3), msgpack_pack_str_body(&pk, "abc", 3);
    s_same(&sb);
    msgpack_sbuffer_destroy(&sb);
}

static void t_page(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    s_key(&pk, "total", 5), msgpack_pack_uint64(&pk, 120);
    s_key(&pk, "items", 5), msgpack_pack_array(&pk, 2), msgpack_pack_int(&pk, 1), msgpack_pack_int(&pk, 2);
    s_key(&pk, "next", 4), msgpack_pack_uint64(&pk, 41);
    gw_page_t pg;
    char *t = gw_json_of(sb.data, sb.size, &pg);
    assert_string_equal(t, "{\"total\":120,\"items\":[1,2],\"next\":41}");
    assert_int_equal(pg.total, 120);
    assert_int_equal(pg.nitems, 2);
    assert_string_equal(pg.next, "41");
    free(t);
    /* Not msgpack (a truncated map): NULL, like the codec. */
    assert_null(gw_json_of(sb.data, 3, &pg));
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_values), cmocka_unit_test(t_page)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

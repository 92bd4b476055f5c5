/* bench_codec — encode+decode throughput of the schema-driven codec for a
 * stored need record (14 fields, the record the ingest feed carries), beside
 * raw msgpack-c packing the same fields by hand and unpacking them into a
 * msgpack_object, measured in the same run. Prints records/s and the ratio.
 *   bench_codec [--records N] [--rounds R]   (median of R rounds) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/proto.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static tam_need_t s_sample(uint64_t i)
{
    tam_need_t n = {0};
    n.id = 1000000 + i;
    n.reply_id = 5000 + i / 4;
    n.respondent = "KEN";
    n.country = "KEN";
    n.category = "A";
    n.standard = "A-SMR";
    n.modality = "training";
    n.priority = (int64_t)(1 + i % 5);
    n.cost = 180000 + (int64_t)(i % 1000) * 100;
    n.start = 20270101;
    n.end = 20271231;
    n.completeness = 85;
    n.status = TAM_E_need_status_open;
    n.text = "Training of prison officers in the Nelson Mandela Rules, three regional cohorts.";
    return n;
}

static void s_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void s_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_int64(pk, v);
}

/* The baseline: the same map packed field by field, unpacked into msgpack-c's
 * own object tree (no validation, no copy-out). */
static double s_raw(size_t records, volatile uint64_t *sink)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    double t0 = s_now();
    for (size_t i = 0; i < records; i++) {
        tam_need_t n = s_sample(i);
        msgpack_sbuffer_clear(&sb);
        char d1[11], d2[11];
        tam_date_format(n.start, d1);
        tam_date_format(n.end, d2);
        msgpack_pack_map(&pk, 14);
        msgpack_pack_str_with_body(&pk, "id", 2);
        msgpack_pack_uint64(&pk, n.id);
        msgpack_pack_str_with_body(&pk, "reply_id", 8);
        msgpack_pack_uint64(&pk, n.reply_id);
        s_kv_str(&pk, "respondent", n.respondent);
        s_kv_str(&pk, "country", n.country);
        s_kv_str(&pk, "category", n.category);
        s_kv_str(&pk, "standard", n.standard);
        s_kv_str(&pk, "modality", n.modality);
        s_kv_int(&pk, "priority", n.priority);
        s_kv_int(&pk, "cost", n.cost);
        s_kv_str(&pk, "start", d1);
        s_kv_str(&pk, "end", d2);
        s_kv_int(&pk, "completeness", n.completeness);
        s_kv_str(&pk, "status", "open");
        s_kv_str(&pk, "text", n.text);
        size_t off = 0;
        if (msgpack_unpack_next(&u, sb.data, sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
            abort();
        *sink += u.data.via.map.size;
    }
    double t = s_now() - t0;
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return t;
}

static double s_tam(size_t records, volatile uint64_t *sink)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    tam_arena_t *a = tam_arena_new(0);
    tam_codec_err_t err;
    double t0 = s_now();
    for (size_t i = 0; i < records; i++) {
        tam_need_t n = s_sample(i), back;
        msgpack_sbuffer_clear(&sb);
        if (tam_encode(&tam_schema_need, &n, &pk, &err) != 0)
            abort();
        tam_arena_reset(a);
        if (tam_decode(&tam_schema_need, sb.data, sb.size, a, &back, &err) != 0) {
            fprintf(stderr, "decode: %s: %s\n", err.path, err.message);
            abort();
        }
        *sink += (uint64_t)back.cost;
    }
    double t = s_now() - t0;
    tam_arena_destroy(&a);
    msgpack_sbuffer_destroy(&sb);
    return t;
}

int main(int argc, char **argv)
{
    size_t records = 300000;
    int rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_codec [--records N] [--rounds R]\n");
            return 64;
        }
    }
    if (rounds < 1 || rounds > 99 || records < 1)
        return 64;
    volatile uint64_t sink = 0;
    double raw[99], tam[99];
    for (int r = 0; r < rounds; r++) { /* interleaved, so noise hits both alike */
        raw[r] = s_raw(records, &sink);
        tam[r] = s_tam(records, &sink);
    }
    qsort(raw, (size_t)rounds, sizeof raw[0], s_cmp);
    qsort(tam, (size_t)rounds, sizeof tam[0], s_cmp);
    double raw_rps = (double)records / raw[rounds / 2], tam_rps = (double)records / tam[rounds / 2];
    printf("bench_codec: need record (14 fields), %zu records x %d rounds, median\n", records, rounds);
    printf("%-34s %14s %14s %8s\n", "figure", "tamatch", "baseline", "ratio");
    printf("%-34s %14.0f %14.0f %8.2f\n", "encode+decode records/s (raw msgpack-c)", tam_rps, raw_rps,
           tam_rps / raw_rps);
    printf("RESULT\tcodec\tencode+decode records/s\t%.0f\traw msgpack-c\t%.0f\t%.2f\t>= 0.5\n", tam_rps,
           raw_rps, tam_rps / raw_rps);
    return 0;
}

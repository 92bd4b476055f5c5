/* reply_diff.c — `tamctl reply ID --diff`: what a revision changed against
 * the previous revision of the same respondent and category, need by need.
 * Needs keep their ids across revisions (docs/ingest.md), so the two replies'
 * need lists (ingest.reply_get: need_ids, need_versions) are compared by id:
 * a need of both is changed when its version differs (its fields old -> new)
 * and unchanged otherwise; a need only in the new one is added (restored if
 * its version is above 1: an earlier revision had withdrawn it); a need only
 * in the previous one is withdrawn. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "submit.h"
#include "tam/error.h"
#include "tamctl.h"

typedef struct {
    const tam_reply_full_t *f;
    uint64_t id;
} s_side_t;

/* Index of need id in f's need list, or -1. */
static long s_find(const tam_reply_full_t *f, uint64_t id)
{
    for (uint32_t i = 0; i < f->need_ids.n; i++)
        if (f->need_ids.v[i] == id)
            return (long)i;
    return -1;
}

static uint64_t s_version(const tam_reply_full_t *f, uint32_t i)
{
    return i < f->need_versions.n ? f->need_versions.v[i] : 1;
}

static const char *s_str(const char *s)
{
    return s ? s : "";
}

/* The fields of a declared need that can change, old and new, as JSON. */
static json_t *s_fields(const tam_need_in_t *o, const tam_need_in_t *n)
{
    json_t *j = json_object();
    char a[11], b[11];
#define S_STRF(name)                                                                          \
    if (strcmp(s_str(o->name), s_str(n->name)) != 0)                                          \
        json_object_set_new(j, #name,                                                         \
                            json_pack("{s:s, s:s}", "old", s_str(o->name), "new", s_str(n->name)));
#define S_INTF(name)                                                                          \
    if (o->name != n->name)                                                                   \
        json_object_set_new(j, #name, json_pack("{s:I, s:I}", "old", (json_int_t)o->name, "new", \
                                                (json_int_t)n->name));
#define S_DATEF(name)                                                                         \
    if (o->name != n->name) {                                                                 \
        tam_date_format(o->name, a);                                                          \
        tam_date_format(n->name, b);                                                          \
        json_object_set_new(j, #name, json_pack("{s:s, s:s}", "old", a, "new", b));           \
    }
    S_STRF(ref)
    S_STRF(standard)
    S_STRF(modality)
    S_INTF(priority)
    S_INTF(cost)
    S_DATEF(start)
    S_DATEF(end)
    S_STRF(text)
#undef S_STRF
#undef S_INTF
#undef S_DATEF
    return j;
}

static json_t *s_need_json(const tam_reply_full_t *f, uint32_t i)
{
    const tam_need_in_t *n = &f->reply->needs.v[i];
    json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:I}", "id",
                          (json_int_t)f->need_ids.v[i], "version",
                          (json_int_t)s_version(f, i), "country", n->country, "standard",
                          n->standard, "modality", n->modality, "cost", (json_int_t)n->cost);
    if (n->ref)
        json_object_set_new(j, "ref", json_string(n->ref));
    return j;
}

/* Builds the whole diff of cur against prev (NULL: the first revision). */
static json_t *s_diff(const tam_reply_full_t *cur, const tam_reply_full_t *prev)
{
    const tam_reply_info_t *ci = cur->info;
    json_t *d = json_pack("{s:I, s:s, s:s, s:I}", "reply", (json_int_t)ci->id, "respondent",
                          ci->respondent, "category", ci->category, "revision",
                          (json_int_t)ci->revision);
    json_t *added = json_array(), *restored = json_array(), *changed = json_array(),
           *withdrawn = json_array(), *same = json_array(), *rc = json_object();
    if (prev) {
        json_object_set_new(d, "previous", json_integer((json_int_t)prev->info->id));
        json_object_set_new(d, "previous_revision", json_integer((json_int_t)prev->info->revision));
        if (prev->info->completeness != ci->completeness)
            json_object_set_new(rc, "completeness",
                                json_pack("{s:I, s:I}", "old", (json_int_t)prev->info->completeness,
                                          "new", (json_int_t)ci->completeness));
        if (prev->info->version != ci->version)
            json_object_set_new(rc, "instrument_version",
                                json_pack("{s:I, s:I}", "old", (json_int_t)prev->info->version,
                                          "new", (json_int_t)ci->version));
        if (prev->info->submitted != ci->submitted) {
            char a[11], b[11];
            tam_date_format(prev->info->submitted, a);
            tam_date_format(ci->submitted, b);
            json_object_set_new(rc, "submitted", json_pack("{s:s, s:s}", "old", a, "new", b));
        }
    }
    for (uint32_t i = 0; i < cur->need_ids.n && i < cur->reply->needs.n; i++) {
        uint64_t id = cur->need_ids.v[i];
        long j = prev ? s_find(prev, id) : -1;
        json_t *n = s_need_json(cur, i);
        if (j < 0) {
            json_array_append_new(s_version(cur, i) > 1 ? restored : added, n);
        } else if (s_version(prev, (uint32_t)j) == s_version(cur, i)) {
            json_array_append_new(same, json_integer((json_int_t)id));
            json_decref(n);
        } else {
            json_object_set_new(n, "old_version", json_integer((json_int_t)s_version(prev, (uint32_t)j)));
            json_object_set_new(n, "fields", s_fields(&prev->reply->needs.v[j], &cur->reply->needs.v[i]));
            json_array_append_new(changed, n);
        }
    }
    for (uint32_t j = 0; prev && j < prev->need_ids.n && j < prev->reply->needs.n; j++)
        if (s_find(cur, prev->need_ids.v[j]) < 0)
            json_array_append_new(withdrawn, s_need_json(prev, j));
    json_object_set_new(d, "reply_changes", rc);
    json_object_set_new(d, "added", added);
    json_object_set_new(d, "restored", restored);
    json_object_set_new(d, "changed", changed);
    json_object_set_new(d, "withdrawn", withdrawn);
    json_object_set_new(d, "unchanged", json_integer((json_int_t)json_array_size(same)));
    json_object_set_new(d, "unchanged_ids", same);
    return d;
}

/* One need of a list: "  added      3  KEN A-SMR tools (ref r) version 1". */
static void s_print_need(const char *what, json_t *n)
{
    const char *ref = json_string_value(json_object_get(n, "ref"));
    printf("  %-9s %6lld  %s %s %s%s%s%s  version ", what,
           (long long)json_integer_value(json_object_get(n, "id")),
           json_string_value(json_object_get(n, "country")),
           json_string_value(json_object_get(n, "standard")),
           json_string_value(json_object_get(n, "modality")), ref ? " (ref " : "", ref ? ref : "",
           ref ? ")" : "");
    json_t *ov = json_object_get(n, "old_version");
    if (ov)
        printf("%lld -> ", (long long)json_integer_value(ov));
    printf("%lld\n", (long long)json_integer_value(json_object_get(n, "version")));
}

/* "old -> new" of a field object. */
static void s_print_change(const char *indent, const char *key, json_t *v)
{
    json_t *o = json_object_get(v, "old"), *n = json_object_get(v, "new");
    if (json_is_integer(o))
        printf("%s%s: %lld -> %lld\n", indent, key, (long long)json_integer_value(o),
               (long long)json_integer_value(n));
    else
        printf("%s%s: \"%s\" -> \"%s\"\n", indent, key, json_string_value(o), json_string_value(n));
}

static void s_print(json_t *d)
{
    json_t *prev = json_object_get(d, "previous");
    printf("reply %lld (%s, category %s), revision %lld", (long long)json_integer_value(json_object_get(d, "reply")),
           json_string_value(json_object_get(d, "respondent")),
           json_string_value(json_object_get(d, "category")),
           (long long)json_integer_value(json_object_get(d, "revision")));
    if (prev)
        printf(", against reply %lld (revision %lld):\n", (long long)json_integer_value(prev),
               (long long)json_integer_value(json_object_get(d, "previous_revision")));
    else
        printf(": the first revision, every need is new:\n");
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(d, "reply_changes"), key, v)
        s_print_change("  ", key, v);
    size_t i;
    json_array_foreach(json_object_get(d, "added"), i, v)
        s_print_need("added", v);
    json_array_foreach(json_object_get(d, "restored"), i, v)
        s_print_need("restored", v);
    json_array_foreach(json_object_get(d, "changed"), i, v) {
        s_print_need("changed", v);
        json_t *fv;
        json_object_foreach(json_object_get(v, "fields"), key, fv)
            s_print_change("                    ", key, fv);
        if (json_object_size(json_object_get(v, "fields")) == 0)
            printf("                    (its fields are the same: the reply's completeness changed)\n");
    }
    json_array_foreach(json_object_get(d, "withdrawn"), i, v)
        s_print_need("withdrawn", v);
    long long same = (long long)json_integer_value(json_object_get(d, "unchanged"));
    printf("  unchanged: %lld need%s\n", same, same == 1 ? "" : "s");
}

int tamctl_reply_diff(tamctl_t *t, uint64_t id)
{
    tam_arena_t *a = tam_arena_new(0);
    tam_reply_full_t cur, prev;
    memset(&cur, 0, sizeof cur);
    memset(&prev, 0, sizeof prev);
    tam_reply_key_t k = {.id = id};
    int ex = a ? tamctl_call(t, "ingest", TAM_MSG_ingest_reply_get, &k, a, &cur, NULL) : EX_OSERR;
    if (ex)
        goto done;
    /* The revision before this one in the chain's history (oldest first). */
    uint64_t before = 0;
    for (uint32_t i = 1; i < cur.history.n; i++)
        if (cur.history.v[i] == id)
            before = cur.history.v[i - 1];
    if (before) {
        k.id = before;
        if ((ex = tamctl_call(t, "ingest", TAM_MSG_ingest_reply_get, &k, a, &prev, NULL)))
            goto done;
    }
    json_t *d = s_diff(&cur, before ? &prev : NULL);
    if (t->json) {
        char *s = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
    } else {
        s_print(d);
    }
    json_decref(d);
done:
    tam_arena_destroy(&a);
    return ex;
}

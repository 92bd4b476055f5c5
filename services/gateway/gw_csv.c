/* gw_csv.c — `Accept: text/csv` for lists: the items of a list answer as
 * RFC 4180 CSV, one column per scalar field of the item's proto/ struct (in
 * its definition order; lists of strings joined by ';'), and with `?hxl=1`
 * a second row of HXL hashtags so humanitarian tools can read it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/codec.h"
#include "gateway.h"

/* HXL hashtags of the field names that have an obvious one; others #meta+NAME. */
static const struct {
    const char *field, *tag;
} s_hxl[] = {
    {"country", "#country+code"},     {"group", "#region+name"},
    {"category", "#sector+category"}, {"standard", "#indicator+standard"},
    {"modality", "#activity+modality"}, {"project", "#activity+project+code"},
    {"donors", "#org+funder"},        {"donor", "#org+funder"},
    {"amount", "#value+usd"},         {"cost", "#value+usd+cost"},
    {"respondent", "#org+respondent"}, {"state", "#status"},
    {"status", "#status"},            {"date", "#date"},
};

typedef struct {
    char *b;
    size_t len, cap;
} s_buf_t;

static void s_put(s_buf_t *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = (o->len + n + 1) * 2;
        char *b = realloc(o->b, cap);
        if (!b)
            return;
        o->b = b;
        o->cap = cap;
    }
    memcpy(o->b + o->len, s, n);
    o->len += n;
    o->b[o->len] = 0;
}

/* One cell, quoted when it holds a comma, quote or line break. */
static void s_cell(s_buf_t *o, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        s_put(o, v, strlen(v));
        return;
    }
    s_put(o, "\"", 1);
    for (const char *p = v; *p; p++) {
        s_put(o, p, 1);
        if (*p == '"')
            s_put(o, "\"", 1); /* doubled */
    }
    s_put(o, "\"", 1);
}

static bool s_scalar(const tam_field_t *f)
{
    return f->type != TAM_T_OBJ && f->type != TAM_T_OBJS;
}

char *gw_csv(const tam_schema_t *answer, const char *json_text, bool hxl)
{
    const tam_schema_t *item = NULL;
    for (size_t i = 0; answer && i < answer->nfields; i++)
        if (answer->fields[i].type == TAM_T_OBJS && strcmp(answer->fields[i].name, "items") == 0)
            item = answer->fields[i].sub;
    json_t *j = item ? json_loads(json_text, 0, NULL) : NULL;
    json_t *items = json_object_get(j, "items");
    if (!json_is_array(items)) {
        json_decref(j);
        return NULL; /* not a list: the caller answers JSON */
    }
    s_buf_t o = {0};
    s_put(&o, "", 0);
    bool first = true;
    for (size_t f = 0; f < item->nfields; f++)
        if (s_scalar(&item->fields[f])) {
            if (!first)
                s_put(&o, ",", 1);
            s_cell(&o, item->fields[f].name);
            first = false;
        }
    s_put(&o, "\r\n", 2);
    if (hxl) {
        first = true;
        for (size_t f = 0; f < item->nfields; f++) {
            if (!s_scalar(&item->fields[f]))
                continue;
            char tag[96];
            snprintf(tag, sizeof tag, "#meta+%s", item->fields[f].name);
            for (size_t k = 0; k < sizeof s_hxl / sizeof s_hxl[0]; k++)
                if (strcmp(s_hxl[k].field, item->fields[f].name) == 0)
                    snprintf(tag, sizeof tag, "%s", s_hxl[k].tag);
            if (!first)
                s_put(&o, ",", 1);
            s_cell(&o, tag);
            first = false;
        }
        s_put(&o, "\r\n", 2);
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        first = true;
        for (size_t f = 0; f < item->nfields; f++) {
            if (!s_scalar(&item->fields[f]))
                continue;
            if (!first)
                s_put(&o, ",", 1);
            first = false;
            json_t *v = json_object_get(it, item->fields[f].name);
            char num[32];
            if (json_is_string(v)) {
                s_cell(&o, json_string_value(v));
            } else if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                s_put(&o, num, strlen(num));
            } else if (json_is_boolean(v)) {
                s_put(&o, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
            } else if (json_is_array(v)) {
                s_buf_t a = {0};
                s_put(&a, "", 0);
                for (size_t k = 0; k < json_array_size(v); k++) {
                    const char *s = json_string_value(json_array_get(v, k));
                    if (k)
                        s_put(&a, ";", 1);
                    if (s)
                        s_put(&a, s, strlen(s));
                }
                s_cell(&o, a.b ? a.b : "");
                free(a.b);
            }
        }
        s_put(&o, "\r\n", 2);
    }
    json_decref(j);
    return o.b;
}

/* gw_openapi.c — /v1/openapi.json: the routes of proto/openapi.json plus
 * the JSON Schema of every proto/ struct, generated from the same tables as
 * the codec (tam_schemas), so field names, types, ranges and required fields
 * cannot drift from what the services accept and answer. */
#include <stdio.h>
#include <string.h>
#include "tam/proto.h"
#include "gateway.h"

extern const char gw_openapi_json[];

static json_t *s_ref(const char *name)
{
    char ref[160];
    snprintf(ref, sizeof ref, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *s_field(const tam_field_t *f)
{
    json_t *t = NULL;
    switch (f->type) {
    case TAM_T_STR:
        t = json_pack("{s:s}", "type", "string");
        if (f->min > 0)
            json_object_set_new(t, "minLength", json_integer(f->min));
        if (f->max > 0)
            json_object_set_new(t, "maxLength", json_integer(f->max));
        break;
    case TAM_T_I64:
        t = json_pack("{s:s, s:I, s:I}", "type", "integer", "minimum", (json_int_t)f->min,
                      "maximum", (json_int_t)f->max);
        break;
    case TAM_T_U64: {
        /* jansson's integers are int64: larger values go out as decimal strings. */
        json_t *i = json_pack("{s:s, s:i}", "type", "integer", "minimum", 0);
        if (f->max > 0)
            json_object_set_new(i, "maximum", json_integer(f->max));
        t = json_pack("{s:[o, {s:s, s:s}]}", "oneOf", i, "type", "string", "pattern",
                      "^[0-9]{19,20}$");
        break;
    }
    case TAM_T_BOOL: t = json_pack("{s:s}", "type", "boolean"); break;
    case TAM_T_ENUM: {
        json_t *vals = json_array();
        for (size_t i = 0; f->en && i < f->en->n; i++)
            json_array_append_new(vals, json_string(f->en->values[i]));
        t = json_pack("{s:s, s:o}", "type", "string", "enum", vals);
        break;
    }
    case TAM_T_DATE: t = json_pack("{s:s, s:s}", "type", "string", "format", "date"); break;
    case TAM_T_STRS:
        t = json_pack("{s:s, s:{s:s, s:i}, s:i}", "type", "array", "items", "type", "string",
                      "maxLength", (int)f->elem_max, "maxItems", (int)f->max);
        break;
    case TAM_T_U64S:
        t = json_pack("{s:s, s:{s:s, s:i}, s:I}", "type", "array", "items", "type", "integer",
                      "minimum", 0, "maxItems", (json_int_t)f->max);
        break;
    case TAM_T_OBJ: t = s_ref(f->sub->name); break;
    case TAM_T_OBJS:
        t = json_pack("{s:s, s:o, s:I}", "type", "array", "items", s_ref(f->sub->name), "maxItems",
                      (json_int_t)f->max);
        break;
    }
    if (t && f->doc && f->type != TAM_T_OBJ)
        json_object_set_new(t, "description", json_string(f->doc));
    return t;
}

static json_t *s_schema(const tam_schema_t *s)
{
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i < s->nfields; i++) {
        json_object_set_new(props, s->fields[i].name, s_field(&s->fields[i]));
        if (s->fields[i].flags & TAM_F_REQ)
            json_array_append_new(req, json_string(s->fields[i].name));
    }
    /* Unknown fields are refused by the codec: additionalProperties false. */
    return json_pack("{s:s, s:s, s:o, s:o, s:b}", "type", "object", "description",
                     s->doc ? s->doc : "", "properties", props, "required", req,
                     "additionalProperties", 0);
}

char *gw_openapi_build(void)
{
    json_t *doc = json_loads(gw_openapi_json, 0, NULL);
    if (!doc)
        return NULL;
    json_t *comp = json_object_get(doc, "components");
    json_t *schemas = json_object_get(comp, "schemas");
    size_t n;
    const tam_schema_t *const *all = tam_schemas(&n);
    for (size_t i = 0; schemas && i < n; i++)
        json_object_set_new(schemas, all[i]->name, s_schema(all[i]));
    size_t nr, nm;
    const gw_route_info_t *routes = gw_routes(&nr);
    const tam_message_t *msgs = tam_messages(&nm);
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < nr; i++) {
        if (routes[i].msg < 0 || (size_t)routes[i].msg >= nm)
            continue;
        char method[8];
        size_t k = 0;
        for (; routes[i].method[k] && k < sizeof method - 1; k++)
            method[k] = (char)(routes[i].method[k] - 'A' + 'a');
        method[k] = 0;
        json_t *op = json_object_get(json_object_get(paths, routes[i].path), method);
        if (!op)
            continue; /* the route test reports it */
        const tam_message_t *m = &msgs[routes[i].msg];
        json_t *ok = json_object_get(json_object_get(op, "responses"), "200");
        json_t *media = json_object_get(json_object_get(ok, "content"), "application/json");
        if (media)
            json_object_set_new(media, "schema", s_ref(m->answer->name));
        /* A query parameter named as a field of the request: its schema is
         * the field's (type, range, enum values). */
        json_t *params = json_object_get(op, "parameters"), *prm;
        size_t pi;
        json_array_foreach(params, pi, prm) {
            const char *pname = json_string_value(json_object_get(prm, "name"));
            for (size_t f = 0; pname && !routes[i].body && f < m->request->nfields; f++)
                if (strcmp(m->request->fields[f].name, pname) == 0)
                    json_object_set_new(prm, "schema", s_field(&m->request->fields[f]));
        }
        if (routes[i].body) {
            json_t *rb = json_object_get(json_object_get(json_object_get(op, "requestBody"),
                                                         "content"), "application/json");
            if (rb)
                json_object_set_new(rb, "schema", s_ref(m->request->name));
        }
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

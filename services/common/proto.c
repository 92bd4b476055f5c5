/* proto.c — schema tables generated from the proto/ .def files (see tam/proto.h). */
#include <stddef.h>
#include "tam/proto.h"

/* enums */
#define S_EV_NAME(e, v, doc) #v,
#define S_EV_DOC(e, v, doc) doc,
#define S_ENUM_DEF(e, edoc) \
    static const char *const s_ev_##e[] = {TAM_ENUM_##e(S_EV_NAME)}; \
    static const char *const s_ed_##e[] = {TAM_ENUM_##e(S_EV_DOC)}; \
    const tam_enum_t tam_enum_##e = {#e, edoc, sizeof s_ev_##e / sizeof s_ev_##e[0], s_ev_##e, s_ed_##e};
TAM_ALL_ENUMS(S_ENUM_DEF)

/* struct fields */
#define S_SUB_STR(sub) NULL, NULL, 0
#define S_SUB_I64(sub) NULL, NULL, 0
#define S_SUB_U64(sub) NULL, NULL, 0
#define S_SUB_BOOL(sub) NULL, NULL, 0
#define S_SUB_DATE(sub) NULL, NULL, 0
#define S_SUB_ENUM(sub) NULL, &tam_enum_##sub, 0
#define S_SUB_STRS(sub) NULL, NULL, sub
#define S_SUB_U64S(sub) NULL, NULL, 0
#define S_SUB_OBJ(sub) &tam_schema_##sub, NULL, 0
#define S_SUB_OBJS(sub) &tam_schema_##sub, NULL, 0
#define S_FIELD(s, type, name, sub, mn, mx, fl, doc) \
    {#name, sizeof #name - 1, TAM_T_##type, offsetof(struct tam_##s, name), S_SUB_##type(sub), mn, mx, TAM_F_##fl, doc},
#define S_SCHEMA_DEF(s, sdoc) \
    static const tam_field_t s_fields_##s[] = {TAM_STRUCT_##s(S_FIELD)}; \
    const tam_schema_t tam_schema_##s = {#s, sdoc, sizeof(struct tam_##s), \
                                         sizeof s_fields_##s / sizeof s_fields_##s[0], s_fields_##s};
TAM_ALL_STRUCTS(S_SCHEMA_DEF)

/* OBJS fields are read through tam_vec_t: the generated anonymous structs
 * must have its layout. */
_Static_assert(sizeof(tam_vec_t) == sizeof(struct { uint32_t n; int *v; }), "vec layout");
_Static_assert(offsetof(tam_vec_t, v) == offsetof(struct { uint32_t n; int *v; }, v), "vec layout");

#define S_SCHEMA_PTR(s, doc) &tam_schema_##s,
static const tam_schema_t *const s_schemas[] = {TAM_ALL_STRUCTS(S_SCHEMA_PTR)};

#define S_ENUM_PTR(e, doc) &tam_enum_##e,
static const tam_enum_t *const s_enums[] = {TAM_ALL_ENUMS(S_ENUM_PTR) NULL};

#define S_MSG(m, type, w, req, ans, doc) {TAM_MSG_##m, type, w, &tam_schema_##req, &tam_schema_##ans, doc},
static const tam_message_t s_messages[] = {TAM_ALL_MESSAGES(S_MSG)};

#define S_FEED(svc, topic, rec, key, rm, doc) {svc, topic, &tam_schema_##rec, key, rm, doc},
static const tam_feed_topic_t s_feeds[] = {TAM_ALL_FEEDS(S_FEED)};

const tam_feed_topic_t *tam_feed_topics(size_t *n)
{
    *n = sizeof s_feeds / sizeof s_feeds[0];
    return s_feeds;
}

const tam_message_t *tam_messages(size_t *n)
{
    *n = sizeof s_messages / sizeof s_messages[0];
    return s_messages;
}

const tam_schema_t *const *tam_schemas(size_t *n)
{
    *n = sizeof s_schemas / sizeof s_schemas[0];
    return s_schemas;
}

const tam_enum_t *const *tam_enums(size_t *n)
{
    *n = sizeof s_enums / sizeof s_enums[0] - 1;
    return s_enums;
}

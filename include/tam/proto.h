/* tam/proto.h — the C side of the protocol definitions in the proto/ .def files.
 *
 * For each enum E: `tam_E_t` with constants TAM_E_E_value, and
 * `tam_enum_E`. For each struct S: `tam_S_t` and `tam_schema_S`. For each
 * message M: the constant TAM_MSG_M and an entry in tam_messages().
 * Nothing here is written by hand per message: edit the .def files.
 */
#ifndef TAM_PROTO_H
#define TAM_PROTO_H
#include "tam/codec.h"
#include "tamatch.def"

#ifdef __cplusplus
extern "C" {
#endif

/* enums */
#define TAM__EV(e, v, doc) TAM_E_##e##_##v,
#define TAM__ENUM_DECL(e, doc) \
    typedef enum { TAM_ENUM_##e(TAM__EV) TAM_E_##e##__COUNT } tam_##e##_t; \
    extern const tam_enum_t tam_enum_##e;
TAM_ALL_ENUMS(TAM__ENUM_DECL)

/* structs */
#define TAM__FWD(s, doc) typedef struct tam_##s tam_##s##_t;
TAM_ALL_STRUCTS(TAM__FWD)

#define TAM__CT_STR(sub) char *
#define TAM__CT_I64(sub) int64_t
#define TAM__CT_U64(sub) uint64_t
#define TAM__CT_BOOL(sub) bool
#define TAM__CT_ENUM(sub) tam_##sub##_t
#define TAM__CT_DATE(sub) uint32_t
#define TAM__CT_STRS(sub) tam_strs_t
#define TAM__CT_U64S(sub) tam_u64s_t
#define TAM__CT_OBJ(sub) tam_##sub##_t *
#define TAM__CT_OBJS(sub) struct { uint32_t n; tam_##sub##_t *v; }
#define TAM__MEMBER(s, type, name, sub, mn, mx, fl, doc) TAM__CT_##type(sub) name;
#define TAM__STRUCT_DECL(s, doc) \
    struct tam_##s { TAM_STRUCT_##s(TAM__MEMBER) }; \
    extern const tam_schema_t tam_schema_##s;
TAM_ALL_STRUCTS(TAM__STRUCT_DECL)

/* messages */
#define TAM__MSG_ID(m, type, w, req, ans, doc) TAM_MSG_##m,
enum { TAM_ALL_MESSAGES(TAM__MSG_ID) TAM_MSG__COUNT };

#ifdef __cplusplus
}
#endif
#endif

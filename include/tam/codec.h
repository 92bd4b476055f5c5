/* tam/codec.h — schema-driven msgpack codec.
 *
 * Every message type is defined once, in the proto/ .def files (X-macro lists). From
 * that one definition come the C structs (tam/proto.h), the schema tables
 * below (proto.c), this generic encoder and strict decoder, the JSON mapping
 * used by tamctl, and the protocol document (tam-protodoc → proto/PROTOCOL.md).
 *
 * Wire form: a struct is a msgpack map from field name (str) to value.
 * STR is str; I64/U64 are integers; BOOL is bool; ENUM is a str from the
 * enum's list; DATE is a str "YYYY-MM-DD"; STRS is an array of str; OBJ is a
 * map; OBJS is an array of maps. An optional field may be absent or nil.
 * Unknown and duplicate keys are refused, so a typo in a reply file is an
 * error rather than silently lost data.
 *
 * Decoding is strict: tam_mp_check() first proves that declared lengths,
 * counts and depth fit the bytes received; then msgpack-c unpacks; then every
 * field's presence, type, length, range, enum value and date is checked.
 * The first problem is reported with the path of the offending field
 * (e.g. "needs[3].standard"). Decoded values live in a tam_arena_t.
 */
#ifndef TAM_CODEC_H
#define TAM_CODEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- arena: one allocation region per decoded message ------------------ */

typedef struct tam_arena tam_arena_t;

/* Creates an arena; chunk is the size of each block (0: 16 KiB). NULL on OOM. */
tam_arena_t *tam_arena_new(size_t chunk);
/* Frees the arena and everything allocated from it; *a becomes NULL. */
void tam_arena_destroy(tam_arena_t **a);
/* Frees everything allocated, keeps the first block for reuse. */
void tam_arena_reset(tam_arena_t *a);
/* Zeroed, 8-byte-aligned memory valid until reset/destroy; NULL on OOM or
 * when the arena's cap (tam_arena_set_cap) would be exceeded. */
void *tam_arena_alloc(tam_arena_t *a, size_t size);
/* Copy of s[0..n) with a terminating NUL; NULL on OOM. */
char *tam_arena_strndup(tam_arena_t *a, const char *s, size_t n);
/* Limits the total bytes an arena may hold (0: no cap). */
void tam_arena_set_cap(tam_arena_t *a, size_t cap);
/* Bytes currently allocated from the system by the arena. */
size_t tam_arena_used(const tam_arena_t *a);

/* ---- schemas ------------------------------------------------------------ */

typedef enum {
    TAM_T_STR,  /* char *, NUL-terminated UTF-8; min/max: length in bytes */
    TAM_T_I64,  /* int64_t; min/max: value range */
    TAM_T_U64,  /* uint64_t; max (if > 0): upper bound */
    TAM_T_BOOL, /* bool */
    TAM_T_ENUM, /* the enum's C type (int-sized); wire: one of its value names */
    TAM_T_DATE, /* uint32_t yyyymmdd (0: absent); wire "YYYY-MM-DD" */
    TAM_T_STRS, /* tam_strs_t; min/max: count; elem_max: length of each */
    TAM_T_OBJ,  /* pointer to the sub-struct, NULL when absent */
    TAM_T_OBJS, /* { uint32_t n; T *v; }; min/max: count */
    TAM_T_U64S, /* tam_u64s_t; min/max: count; elements: non-negative integers */
} tam_type_t;

/* REQ: required. OPT: optional. ARG: an optional request argument that is never part of
 * a record: encoded only when set (non-zero, true), so that records and answers that do
 * not use it keep their bytes. */
enum { TAM_F_REQ = 1, TAM_F_OPT = 0, TAM_F_ARG = 2 };

typedef struct {
    const char *name;
    const char *doc;
    size_t n;
    const char *const *values;
    const char *const *docs;
} tam_enum_t;

typedef struct tam_schema tam_schema_t;

typedef struct {
    const char *name;
    size_t name_len;         /* strlen(name), known at compile time */
    tam_type_t type;
    size_t offset;
    const tam_schema_t *sub; /* OBJ, OBJS */
    const tam_enum_t *en;    /* ENUM */
    uint32_t elem_max;       /* STRS: longest element */
    int64_t min, max;
    unsigned flags;          /* TAM_F_REQ */
    const char *doc;
} tam_field_t;

struct tam_schema {
    const char *name;
    const char *doc;
    size_t size;
    size_t nfields;
    const tam_field_t *fields;
};

/* Layout shared by every OBJS field and by STRS. */
typedef struct {
    uint32_t n;
    void *v;
} tam_vec_t;

typedef struct {
    uint32_t n;
    uint64_t *v;
} tam_u64s_t;

typedef struct {
    uint32_t n;
    char **v;
} tam_strs_t;

/* A message type: its wire name, request and answer schemas. */
typedef struct {
    int id;
    const char *type;            /* e.g. "ingest.submit" */
    bool writes;                 /* true: goes through group commit */
    const tam_schema_t *request;
    const tam_schema_t *answer;
    const char *doc;
} tam_message_t;

/* One topic of a service's feed (FEED.md): what it carries and how a record of
 * it is keyed and removed. */
typedef struct {
    const char *service;         /* "ingest", "registry", "match", "pipeline" */
    const char *topic;           /* pattern, e.g. "need/<ISO3>/<CAT>" */
    const tam_schema_t *record;  /* the body's struct */
    const char *key;             /* the field (dotted path) that keys a record; "": the topic */
    const char *removed_when;    /* "field = value": such a record removes its key; "": never */
    const char *doc;
} tam_feed_topic_t;

/* ---- errors ------------------------------------------------------------- */

typedef struct tam_codec_err tam_codec_err_t;

/* Called by tam_decode_all for each problem found. */
typedef void (*tam_codec_each_fn)(const tam_codec_err_t *e, void *arg);

struct tam_codec_err {
    int code;          /* TAM_E* */
    char path[160];    /* offending field, e.g. "needs[3].standard"; "" = whole */
    char message[200]; /* human text, names the rule broken */
    /* private: set by tam_decode_all, cleared by every other entry point */
    tam_codec_each_fn each_;
    void *each_arg_;
    int first_;
};

/* ---- encode / decode ---------------------------------------------------- */

/* Appends obj (a struct of schema s) to pk as a msgpack map.
 * Returns 0; TAM_EMISSING if a required STR/OBJ is NULL (path in err if not
 * NULL); TAM_ENOMEM. */
int tam_encode(const tam_schema_t *s, const void *obj, msgpack_packer *pk, tam_codec_err_t *err);

/* Same, into a fresh sbuffer that the caller frees with msgpack_sbuffer_destroy. */
int tam_encode_sbuf(const tam_schema_t *s, const void *obj, msgpack_sbuffer *out,
                    tam_codec_err_t *err);

/* Decodes buf[0..len) into *out (a zeroed struct of schema s), allocating
 * from a. Returns 0; TAM_ETRUNC, TAM_ETOOBIG, TAM_EDEPTH, TAM_EPROTO (from the
 * pre-pass); TAM_ETYPE, TAM_EMISSING, TAM_EUNKNOWN, TAM_ERANGE, TAM_EINVAL
 * (fields); TAM_ENOMEM (arena cap). err gets the code, path and message. */
int tam_decode(const tam_schema_t *s, const void *buf, size_t len, tam_arena_t *a, void *out,
               tam_codec_err_t *err);

/* Like tam_decode, but goes on after a field fails so that every problem of
 * a message is found: each one is passed to each(e, arg) as it is met (the
 * offending field is skipped; its container goes on with the next field or
 * element). A malformed buffer (pre-pass) is still one problem. Returns the
 * first problem's code, or 0. After a failure *out holds what decoded and is
 * safe to walk: a field that failed is left zero (NULL for strings and
 * structs), and a vector's count is set only with its elements, so semantic
 * checks can run on it (ingest and the registry do, to list every problem at
 * once). err receives the first problem, as with tam_decode. */
int tam_decode_all(const tam_schema_t *s, const void *buf, size_t len, tam_arena_t *a, void *out,
                   tam_codec_err_t *err, tam_codec_each_fn each, void *arg);

/* Decodes an already unpacked msgpack object (checked by the caller). */
int tam_decode_obj(const tam_schema_t *s, const msgpack_object *o, tam_arena_t *a, void *out,
                   tam_codec_err_t *err);

/* Largest message and frame the codec decodes (bytes); larger is TAM_ETOOBIG. */
#define TAM_CODEC_MAX_MSG (16u << 20)

/* ---- JSON (files and --json output); same field names and rules -------- */

/* Converts a JSON text into msgpack bytes, one to one (objects → maps,
 * integers → ints, reals → floats which typed fields refuse, null → nil).
 * A leading UTF-8 byte order mark is skipped.
 * Returns 0; TAM_EINVAL with line:column in err->message on bad JSON. */
int tam_json_to_msgpack(const char *json, size_t len, msgpack_sbuffer *out, tam_codec_err_t *err);

/* Renders msgpack bytes (already checked) as JSON text (malloc'd, caller
 * frees); flags as jansson's json_dumps. NULL on error. */
char *tam_msgpack_to_json(const void *buf, size_t len, size_t flags);

/* ---- schema lookups ------------------------------------------------------ */

/* Finds the message type by wire name; NULL if unknown. */
const tam_message_t *tam_message_find(const char *type);
/* All message types, for documentation and dispatch tables. */
const tam_message_t *tam_messages(size_t *n);
/* All feed topics of every service, in definition order. */
const tam_feed_topic_t *tam_feed_topics(size_t *n);
/* All schemas and enums, in definition order (for the protocol document). */
const tam_schema_t *const *tam_schemas(size_t *n);
const tam_enum_t *const *tam_enums(size_t *n);

/* Index of name in e, or -1. */
int tam_enum_index(const tam_enum_t *e, const char *name, size_t len);

/* Date helpers: parse "YYYY-MM-DD" (exactly) into yyyymmdd; 0 on success,
 * TAM_EINVAL otherwise. Format into buf[11]. Days since 1970-01-01. */
int tam_date_parse(const char *s, size_t len, uint32_t *out);
void tam_date_format(uint32_t d, char buf[11]);
int64_t tam_date_days(uint32_t d);
uint32_t tam_date_from_days(int64_t days);
/* Today's date (UTC). */
uint32_t tam_date_today(void);

/* True if s[0..n) is valid UTF-8 with no NUL and no C0 control other than
 * tab, newline and carriage return. */
bool tam_utf8_valid(const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif

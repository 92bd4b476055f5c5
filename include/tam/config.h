/* tam/config.h — the one configuration of every tamatch program.
 *
 * One INI file (config/tamatch.ini) with a section per service: [common],
 * [ingest], [registry], [match], [pipeline], [tamctl],
 * [security], [gateway], [iati]. Every key has a default
 * in code, so a missing file section or key means "the default".
 *
 * Keys are defined once, in include/tam/cfg/<section>.def, one line each:
 *
 *   TAM_CFG_KEY(section, name, TYPE, "default", min, max, "doc")
 *
 * That line gives the field c-><section>.<name> of tam_config_t, its parser,
 * range check, name lookup and its documentation in the generated INI
 * (tam_config_write_defaults, `tam-config --defaults`). Adding a line is all
 * it takes; then regenerate config/tamatch.ini (a unit test compares them).
 * The default is written as it would be in the INI ("64M", "3s", "true"),
 * in canonical form (the form tam_config_get prints; a unit test checks it).
 *
 * TYPE        field              INI value                                min..max
 * STR         char[512]          text; may be put in "double quotes"      length (max 0: 511)
 * EP          char[512]          ZeroMQ endpoint ipc://, tcp://, inproc:// length (max 0: 511)
 * INT         int64_t            decimal integer                          inclusive range
 * SIZE        uint64_t (bytes)   number with optional K, M, G, T suffix   bytes, inclusive
 *                                (powers of 1024; "KB", "KiB" also read)
 * MS          int64_t (ms)       number with optional ms, s, m, h suffix  ms, inclusive
 *                                (no suffix: ms)
 * BOOL        bool               true/false yes/no on/off 1/0             unused
 * REAL        double             decimal number, finite                   inclusive range
 * LEVEL       int (LOG_* value)  debug info notice warning err crit ...   unused
 *
 * min/max are C constant expressions; TAM_KiB..TAM_TiB and TAM_SEC..TAM_HOUR
 * below help to write them. A section's .def may also hold one
 * TAM_CFG_SECTION(section, "doc") line, printed above the section.
 *
 * Parsing: inih, with these rules: ';' or '#' starts a comment line; " ;"
 * starts a comment after a value; leading whitespace is ignored (there are no
 * continuation lines); a line may hold at most 199 bytes after its
 * indentation; a key may appear once per file; unknown sections and keys are errors, never ignored.
 * Relative paths are relative to the config file's directory and relative
 * ipc:// endpoints to [common] run_dir, once resolved (below).
 *
 * Adding a section: a new .def file, a TAM_CFG_SECTION_LIST entry and an
 * #include in the struct below and in services/common/config.c.
 */
#ifndef TAM_CONFIG_H
#define TAM_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAM_KiB (1024LL)
#define TAM_MiB (1024LL * TAM_KiB)
#define TAM_GiB (1024LL * TAM_MiB)
#define TAM_TiB (1024LL * TAM_GiB)
#define TAM_SEC (1000LL)
#define TAM_MIN (60LL * TAM_SEC)
#define TAM_HOUR (60LL * TAM_MIN)

/* Capacity of STR and EP fields, including the terminating NUL. */
#define TAM_CFG_STR_MAX 512

typedef enum {
    TAM_CFG_STR,
    TAM_CFG_EP,
    TAM_CFG_INT,
    TAM_CFG_SIZE,
    TAM_CFG_MS,
    TAM_CFG_BOOL,
    TAM_CFG_REAL,
    TAM_CFG_LEVEL,
} tam_cfg_type_t;

#define TAM_CFG_CTYPE_STR char
#define TAM_CFG_CTYPE_EP char
#define TAM_CFG_CTYPE_INT int64_t
#define TAM_CFG_CTYPE_SIZE uint64_t
#define TAM_CFG_CTYPE_MS int64_t
#define TAM_CFG_CTYPE_BOOL bool
#define TAM_CFG_CTYPE_REAL double
#define TAM_CFG_CTYPE_LEVEL int
#define TAM_CFG_CDIM_STR [TAM_CFG_STR_MAX]
#define TAM_CFG_CDIM_EP [TAM_CFG_STR_MAX]
#define TAM_CFG_CDIM_INT
#define TAM_CFG_CDIM_SIZE
#define TAM_CFG_CDIM_MS
#define TAM_CFG_CDIM_BOOL
#define TAM_CFG_CDIM_REAL
#define TAM_CFG_CDIM_LEVEL

/* The sections, in the order of the INI file. */
#define TAM_CFG_SECTION_LIST(X) X(common) X(ingest) X(registry) X(match) X(pipeline) X(tamctl) X(security) X(gateway) X(iati)

#define TAM_CFG_SECTION(section, doc)
#define TAM_CFG_KEY(section, name, type, def, min, max, doc) \
    TAM_CFG_CTYPE_##type name TAM_CFG_CDIM_##type;

/* The whole configuration: c->match.w_equity, c->ingest.endpoint, ... */
typedef struct tam_config {
    struct {
#include "tam/cfg/common.def"
    } common;
    struct {
#include "tam/cfg/ingest.def"
    } ingest;
    struct {
#include "tam/cfg/registry.def"
    } registry;
    struct {
#include "tam/cfg/match.def"
    } match;
    struct {
#include "tam/cfg/pipeline.def"
    } pipeline;
    struct {
#include "tam/cfg/tamctl.def"
    } tamctl;
    struct {
#include "tam/cfg/security.def"
    } security;
    struct {
#include "tam/cfg/gateway.def"
    } gateway;
    struct {
#include "tam/cfg/iati.def"
    } iati;
} tam_config_t;

#undef TAM_CFG_KEY
#undef TAM_CFG_SECTION

/* One key, as its .def line declared it. */
typedef struct {
    const char *section;
    const char *name;
    tam_cfg_type_t type;
    const char *def;      /* default as written in the INI */
    int64_t min, max;     /* INT/SIZE/MS: range; STR/EP: length range (max 0: capacity) */
    double rmin, rmax;    /* REAL: range */
    const char *doc;
    size_t offset, size;  /* of the field in tam_config_t */
} tam_config_key_t;

/* Fills c with every key's default. Cannot fail (the defaults are ours and a
 * unit test parses each one). */
void tam_config_defaults(tam_config_t *c);

/* Sets c to the defaults, then applies the INI file at path (NULL: defaults
 * only). Per-key checks only: call tam_config_validate() after applying any
 * command-line overrides. On error c is unchanged and err (if errlen > 0)
 * holds one line such as "tamatch.ini:12: [match] w_equity: must be between
 * 0 and 1000".
 * Returns 0; TAM_EIO (cannot open or read the file); TAM_ECONFIG (syntax
 * error, unknown section or key, key set twice, bad or out-of-range value,
 * line too long); TAM_ENOMEM; TAM_EINVAL (c NULL). */
int tam_config_load(tam_config_t *c, const char *path, char *err, size_t errlen);

/* ---- where relative paths point (config_path.c) ----------------------------
 * Paths (text keys named *_dir, *_file or *_path: [common] run_dir, data_dir,
 * catalog_dir, ...), when relative, are relative to the directory of the
 * config file (with no file: to ./config, where
 * config/tamatch.ini is, so that the built-in defaults and that file mean the
 * same); given with -o, to the working directory. A relative ipc:// endpoint
 * is relative to run_dir. Resolved, all are absolute, so the same config
 * works from any working directory. */

/* The absolute directory relative paths of config_path refer to (NULL: no
 * file, ./config). Returns 0; TAM_EIO (no working directory); TAM_ETRUNC. */
int tam_config_base_dir(const char *config_path, char *out, size_t cap);

/* Makes every path key (*_dir, *_file, *_path) absolute below base
 * (absolute values are only normalised, empty ones stay empty). Returns 0; TAM_ECONFIG (too long; err says
 * which key). */
int tam_config_resolve_dirs(tam_config_t *c, const char *base, char *err, size_t errlen);

/* Makes every relative ipc:// endpoint absolute below run_dir (call after
 * tam_config_resolve_dirs). Returns 0; TAM_ECONFIG (too long for a unix
 * socket path; err names the key and the path). */
int tam_config_resolve_endpoints(tam_config_t *c, char *err, size_t errlen);

/* tam_config_load, then the directories against the file's directory, then
 * the -o assignments (sets, nsets), then directories given there against the
 * working directory and the endpoints against run_dir. Returns as
 * tam_config_load and tam_config_override (err: one line, "-o ASSIGNMENT: why"
 * for a bad override). */
int tam_config_load_resolved(tam_config_t *c, const char *path, const char *const *sets,
                             int nsets, char *err, size_t errlen);

/* Cross-key checks: at least one [match] w_* weight above 0; map_size not
 * above map_max in each section that has both; no two endpoints equal;
 * [ingest] max_text below [common] max_frame.
 * Returns 0; TAM_ECONFIG with err naming the section and key; TAM_EINVAL. */
int tam_config_validate(const tam_config_t *c, char *err, size_t errlen);

/* Sets one key from its INI text, with the checks of tam_config_load (for
 * "-o section.key=value" on command lines). On error c is unchanged.
 * Returns 0; TAM_ECONFIG (unknown section/key, bad value; err says which);
 * TAM_EINVAL (NULL argument). */
int tam_config_set(tam_config_t *c, const char *section, const char *key, const char *value,
                   char *err, size_t errlen);

/* Applies "section.key=value" (the argument of -o) with tam_config_set.
 * Returns 0; TAM_ECONFIG (malformed assignment, or as tam_config_set);
 * TAM_EINVAL. */
int tam_config_override(tam_config_t *c, const char *assignment, char *err, size_t errlen);

/* Writes the value of one key in canonical INI form into buf (NUL-terminated).
 * Returns 0; TAM_EUNKNOWN (no such key); TAM_ETRUNC (buf too small; buf
 * holds a truncated, terminated prefix); TAM_EINVAL. */
int tam_config_get(const tam_config_t *c, const char *section, const char *key, char *buf,
                   size_t len);

/* Writes the documented INI of c: every section and every key in .def order,
 * each preceded by its doc, type, range and default as comments.
 * Returns 0; TAM_EIO (write error); TAM_ENOMEM; TAM_EINVAL. */
int tam_config_write(FILE *f, const tam_config_t *c);

/* tam_config_write() of the defaults: the text of config/tamatch.ini.
 * Returns 0; TAM_EIO; TAM_ENOMEM; TAM_EINVAL. */
int tam_config_write_defaults(FILE *f);

/* True if every key of a and b has the same value. */
bool tam_config_equal(const tam_config_t *a, const tam_config_t *b);

/* The key table, in INI order. tam_config_key() returns NULL for an unknown
 * section or key; tam_config_key_at() returns NULL for i >= tam_config_nkeys(). */
size_t tam_config_nkeys(void);
const tam_config_key_t *tam_config_key_at(size_t i);
const tam_config_key_t *tam_config_key(const char *section, const char *name);

/* The doc line of a section (from its TAM_CFG_SECTION), or NULL if unknown. */
const char *tam_config_section_doc(const char *section);

#ifdef __cplusplus
}
#endif
#endif

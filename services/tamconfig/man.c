/* tam-config --man: the key list of tamatch.ini(5), in scdoc, from the same
 * include/tam/cfg .def lines as the defaults (man/CMakeLists.txt puts it
 * between man/tamatch.ini.5.scd.head and .tail). */
#include <stdio.h>
#include "tam/config.h"
#include "tamconfig.h"

typedef struct {
    int is_section;
    const char *section, *name, *type, *def, *doc;
} s_line_t;

#undef TAM_CFG_SECTION
#undef TAM_CFG_KEY
#define TAM_CFG_SECTION(sec, doc) {1, #sec, NULL, NULL, NULL, doc},
#define TAM_CFG_KEY(sec, nm, type, def, mn, mx, doc) {0, #sec, #nm, #type, def, doc},
static const s_line_t s_lines[] = {
#include "tam/cfg/common.def"
#include "tam/cfg/ingest.def"
#include "tam/cfg/registry.def"
#include "tam/cfg/match.def"
#include "tam/cfg/pipeline.def"
#include "tam/cfg/tamctl.def"
#include "tam/cfg/security.def"
#include "tam/cfg/gateway.def"
#include "tam/cfg/iati.def"
};
#undef TAM_CFG_KEY
#undef TAM_CFG_SECTION

/* Writes s with scdoc's markup characters escaped; backquoted words bold. */
static void s_text(FILE *f, const char *s)
{
    int quoted = 0;
    for (; *s; s++) {
        if (*s == '`') {
            fputc('*', f);
            quoted = !quoted;
        } else if (*s == '*' || *s == '_' || *s == '\\') {
            fputc('\\', f);
            fputc(*s, f);
        } else {
            fputc(*s, f);
        }
    }
    if (quoted)
        fputc('*', f);
}

static const char *s_type(const char *t)
{
    static const struct { const char *def, *doc; } types[] = {
        {"STR", "text"}, {"EP", "endpoint"}, {"SIZE", "size: bytes, or with K, M, G"},
        {"MS", "duration: ms, s, min, h"}, {"INT", "integer"}, {"REAL", "number"},
        {"BOOL", "true or false"}, {"LEVEL", "syslog level"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(t, types[i].def))
            return types[i].doc;
    return t;
}

int tam_config_write_man(FILE *f)
{
    for (size_t i = 0; i < sizeof s_lines / sizeof s_lines[0]; i++) {
        const s_line_t *l = &s_lines[i];
        if (l->is_section) {
            fprintf(f, "## [%s]\n\n", l->section);
            s_text(f, l->doc);
            fputs("\n\n", f);
            continue;
        }
        fputs("*", f);
        s_text(f, l->name);
        fputs("* = ", f);
        if (*l->def) {
            fputc('_', f);
            s_text(f, l->def);
            fputc('_', f);
        } else {
            fputs("(empty)", f);
        }
        fprintf(f, " (%s)\n\t", s_type(l->type));
        s_text(f, l->doc);
        fputs("\n\n", f);
    }
    return ferror(f) ? -1 : 0;
}

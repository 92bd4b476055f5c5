/* iati_xml.c — reading IATI files safely, for `tamctl project import --iati`:
 * a size cap checked before reading, no network, no DTD (a DOCTYPE is
 * refused before parsing, so no entity is ever declared, expanded or
 * fetched), parse errors with their line; and the mapping table of DAC
 * sector codes (config/catalog/iati_sectors.csv). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libxml/parser.h>
#include "iati.h"

static xmlParserInputPtr s_no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url, (void)id, (void)ctxt;
    return NULL; /* nothing outside the file is ever read */
}

xmlDocPtr iati_read(const char *path)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    if (st.st_size > IATI_FILE_MAX) {
        fprintf(stderr, "%s: %lld MiB is more than the %d MiB an IATI import reads; split the file\n",
                path, (long long)(st.st_size >> 20), IATI_FILE_MAX >> 20);
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st.st_size) {
        fprintf(stderr, "%s: cannot read it\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    /* No DTD: a DOCTYPE is where entities (billion laughs) and external
     * entities (XXE) are declared. IATI files have none. */
    if (memmem(buf, n, "<!DOCTYPE", 9) || memmem(buf, n, "<!ENTITY", 8)) {
        fprintf(stderr, "%s: a DOCTYPE or ENTITY declaration is refused: IATI files need none, and "
                        "entity expansion and external entities are not allowed\n",
                path);
        free(buf);
        return NULL;
    }
    xmlSetExternalEntityLoader(s_no_loader);
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    xmlDocPtr doc = NULL;
    if (ctxt)
        doc = xmlCtxtReadMemory(ctxt, buf, (int)n, path, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = ctxt ? xmlCtxtGetLastError(ctxt) : NULL;
        char msg[300] = "out of memory";
        if (e && e->message) {
            snprintf(msg, sizeof msg, "%s", e->message);
            msg[strcspn(msg, "\n")] = 0;
        }
        fprintf(stderr, "%s:%d: not well-formed XML: %s\n", path, e ? e->line : 0, msg);
    } else if (doc->intSubset || doc->extSubset) {
        fprintf(stderr, "%s: a DOCTYPE is refused\n", path);
        xmlFreeDoc(doc);
        doc = NULL;
    }
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    free(buf);
    return doc;
}

int iati_sectors_load(iati_sectors_t *m, const char *dir)
{
    memset(m, 0, sizeof *m);
    char path[1024], line[2048];
    snprintf(path, sizeof path, "%s/iati_sectors.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tamctl: %s: %s (the DAC sector mapping of IATI imports)\n", path,
                strerror(errno));
        return EX_CONFIG;
    }
    int ln = 0, ex = 0;
    while (fgets(line, sizeof line, f) && ex == 0) {
        if (++ln == 1)
            continue; /* header: vocabulary,code,standards,basis */
        line[strcspn(line, "\r\n")] = 0;
        char *voc = strtok(line, ","), *code = strtok(NULL, ","), *stds = strtok(NULL, ",");
        if (!voc || !code || !stds || m->n == IATI_SECTORS_MAX || strlen(code) >= 8 ||
            strlen(stds) >= sizeof m->v[0].standards) {
            fprintf(stderr, "tamctl: %s:%d: expected vocabulary,code,standards,basis\n", path, ln);
            ex = EX_CONFIG;
            break;
        }
        iati_sector_t *s = &m->v[m->n++];
        s->vocabulary = atoi(voc);
        snprintf(s->code, sizeof s->code, "%s", code);
        snprintf(s->standards, sizeof s->standards, "%s", stds);
    }
    fclose(f);
    return ex;
}

const iati_sector_t *iati_sector(const iati_sectors_t *m, int vocabulary, const char *code)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].vocabulary == vocabulary && strcmp(m->v[i].code, code) == 0)
            return &m->v[i];
    return NULL;
}

/* bench_inst.h — the allocation benchmark's instance text format, shared by
 * bench_alloc (C) and lemon_alloc (C++). One instance per file:
 *
 *   tamflow 1 <needs> <projects> <arcs>
 *   n <need id> <amount>                       (needs lines)
 *   p <project id> <budget>                    (projects lines)
 *   a <need index> <project index> <score> <cap or -1 = none> <tiebreak>
 *
 * Indices are 0-based positions among the n and p lines. No fixed amounts.
 * The reader is deliberately small: bench input comes from bench_alloc.
 */
#ifndef TAM_BENCH_INST_H
#define TAM_BENCH_INST_H
#include <stdio.h>
#include <stdlib.h>

/* Reads the whole file into a NUL-terminated buffer; NULL on error. */
static inline char *bench_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    rewind(f);
    char *buf = (char *)malloc((size_t)n + 1);
    if (!buf || n < 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Skips to the next token and parses a signed decimal integer. */
static inline long long bench_int(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r' || (*s >= 'a' && *s <= 'z'))
        s++;
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    long long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    *p = s;
    return neg ? -v : v;
}

#endif

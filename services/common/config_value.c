/* config_value.c — parsing and formatting of one configuration value by
 * type (STR, EP, INT, SIZE, MS, BOOL, REAL, LEVEL): see tam/config.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config_value.h"
#include "tam/error.h"
#include "tam/log.h"

static const char *const s_levels[] = {"emerg", "alert", "crit", "err",
                                       "warning", "notice", "info", "debug"};

static void s_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_fmt(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Copies a user-supplied value for an error message: shortened, with control
 * bytes replaced, so a message is always one printable line. */
void tam__config_echo(char *out, size_t len, const char *value)
{
    size_t n = 0;
    if (len == 0)
        return;
    for (const char *p = value; *p && n + 4 < len; p++, n++) {
        if (n == TAM__CONFIG_ECHO_MAX) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        out[n] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    }
    out[n] = 0;
}

/* ---------------------------------------------------------------------------
 * Formatting values in canonical INI form */

void tam__config_format_size(char *buf, size_t len, uint64_t v)
{
    static const struct { char suffix; uint64_t unit; } units[] = {
        {'T', (uint64_t)TAM_TiB}, {'G', (uint64_t)TAM_GiB}, {'M', (uint64_t)TAM_MiB}, {'K', (uint64_t)TAM_KiB}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (v != 0 && v % units[i].unit == 0) {
            s_fmt(buf, len, "%llu%c", (unsigned long long)(v / units[i].unit), units[i].suffix);
            return;
        }
    s_fmt(buf, len, "%llu", (unsigned long long)v);
}

static void s_fmt_ms(char *buf, size_t len, int64_t v)
{
    if (v == 0)
        s_fmt(buf, len, "0");
    else if (v % TAM_HOUR == 0)
        s_fmt(buf, len, "%lldh", (long long)(v / TAM_HOUR));
    else if (v % TAM_MIN == 0)
        s_fmt(buf, len, "%lldm", (long long)(v / TAM_MIN));
    else if (v % TAM_SEC == 0)
        s_fmt(buf, len, "%llds", (long long)(v / TAM_SEC));
    else
        s_fmt(buf, len, "%lldms", (long long)v);
}

/* The shortest %g text that reads back as exactly d. */
static void s_fmt_real(char *buf, size_t len, double d)
{
    char tmp[64];
    if (d == floor(d) && fabs(d) < 1e15) {
        s_fmt(buf, len, "%.0f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    s_fmt(buf, len, "%s", tmp);
}

/* A string needs quotes when inih would otherwise change it on reading. */
static bool s_needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
        return true;
    if (s[0] == ';' || s[0] == '#')
        return true;
    return n >= 2 && s[0] == '"' && s[n - 1] == '"';
}

/* Formats a field. Returns 0 or TAM_ETRUNC. */
int tam__config_format(const tam_config_key_t *k, const void *field, char *buf, size_t len)
{
    char tmp[TAM_CFG_STR_MAX + 8];
    switch (k->type) {
    case TAM_CFG_STR:
    case TAM_CFG_EP: {
        const char *s = field;
        if (s_needs_quotes(s))
            snprintf(tmp, sizeof tmp, "\"%s\"", s);
        else
            snprintf(tmp, sizeof tmp, "%s", s);
        break;
    }
    case TAM_CFG_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)*(const int64_t *)field);
        break;
    case TAM_CFG_SIZE:
        tam__config_format_size(tmp, sizeof tmp, *(const uint64_t *)field);
        break;
    case TAM_CFG_MS:
        s_fmt_ms(tmp, sizeof tmp, *(const int64_t *)field);
        break;
    case TAM_CFG_BOOL:
        snprintf(tmp, sizeof tmp, "%s", *(const bool *)field ? "true" : "false");
        break;
    case TAM_CFG_REAL:
        s_fmt_real(tmp, sizeof tmp, *(const double *)field);
        break;
    case TAM_CFG_LEVEL: {
        int lvl = *(const int *)field;
        snprintf(tmp, sizeof tmp, "%s", lvl >= 0 && lvl <= 7 ? s_levels[lvl] : "info");
        break;
    }
    }
    size_t n = strlen(tmp);
    if (len == 0)
        return TAM_ETRUNC;
    snprintf(buf, len, "%s", tmp);
    return n < len ? 0 : TAM_ETRUNC;
}

/* Formats a number of the key's type (for ranges in messages and docs). */
void tam__config_format_bound(const tam_config_key_t *k, int64_t i, double d, char *buf, size_t len)
{
    if (k->type == TAM_CFG_SIZE)
        tam__config_format_size(buf, len, (uint64_t)i);
    else if (k->type == TAM_CFG_MS)
        s_fmt_ms(buf, len, i);
    else if (k->type == TAM_CFG_REAL)
        s_fmt_real(buf, len, d);
    else
        s_fmt(buf, len, "%lld", (long long)i);
}

/* ---------------------------------------------------------------------------
 * Parsing values. Each parser fills *out or writes a reason into msg. */

typedef union {
    char s[TAM_CFG_STR_MAX];
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    int level;
} s_value_t;

/* Reads the leading decimal digits of text as uint64; *end points past them.
 * Returns false if there are none or they overflow. */
static bool s_digits(const char *text, uint64_t *v, const char **end)
{
    uint64_t acc = 0;
    const char *p = text;
    if (!isdigit((unsigned char)*p))
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    *v = acc;
    *end = p;
    return true;
}

static int s_parse_str(const tam_config_key_t *k, const char *text, s_value_t *out, char *msg,
                       size_t msglen)
{
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
        text++;
        n -= 2;
    }
    size_t cap = k->max > 0 && (size_t)k->max < TAM_CFG_STR_MAX - 1 ? (size_t)k->max : TAM_CFG_STR_MAX - 1;
    if (n > cap) {
        s_fmt(msg, msglen, "too long (%zu bytes, at most %zu)", n, cap);
        return TAM_ECONFIG;
    }
    if (k->min > 0 && n < (size_t)k->min) {
        if (k->min == 1)
            s_fmt(msg, msglen, "must not be empty");
        else
            s_fmt(msg, msglen, "too short (%zu bytes, at least %lld)", n, (long long)k->min);
        return TAM_ECONFIG;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
            s_fmt(msg, msglen, "contains a control character");
            return TAM_ECONFIG;
        }
        if (text[i] == ';' && i > 0 && isspace((unsigned char)text[i - 1])) {
            s_fmt(msg, msglen, "contains \" ;\", which would start a comment in the INI file");
            return TAM_ECONFIG;
        }
    }
    memset(out->s, 0, sizeof out->s);
    memcpy(out->s, text, n);
    return 0;
}

/* ZeroMQ endpoint: ipc://path (path fits a Unix socket address),
 * tcp://host:port (port a number or *), inproc://name. */
static int s_check_endpoint(const char *ep, char *msg, size_t msglen)
{
    const char *rest;
    if (strncmp(ep, "ipc://", 6) == 0) {
        rest = ep + 6;
        if (!*rest)
            goto bad;
        if (strlen(rest) > 107) {
            s_fmt(msg, msglen, "ipc path longer than 107 bytes (the limit of a Unix socket address)");
            return TAM_ECONFIG;
        }
        return 0;
    }
    if (strncmp(ep, "tcp://", 6) == 0) {
        rest = ep + 6;
        const char *colon = strrchr(rest, ':');
        if (!colon || colon == rest)
            goto bad;
        const char *port = colon + 1;
        if (strcmp(port, "*") == 0)
            return 0;
        uint64_t v;
        const char *end;
        if (!s_digits(port, &v, &end) || *end || v == 0 || v > 65535)
            goto bad;
        return 0;
    }
    if (strncmp(ep, "inproc://", 9) == 0 && ep[9])
        return 0;
bad:
    s_fmt(msg, msglen, "not a ZeroMQ endpoint (ipc://path, tcp://host:port or inproc://name)");
    return TAM_ECONFIG;
}

static int s_parse_size(const char *text, uint64_t *v, char *msg, size_t msglen)
{
    static const struct { const char *suffix; uint64_t mult; } units[] = {
        {"", 1}, {"B", 1},
        {"K", (uint64_t)TAM_KiB}, {"KB", (uint64_t)TAM_KiB}, {"KiB", (uint64_t)TAM_KiB},
        {"M", (uint64_t)TAM_MiB}, {"MB", (uint64_t)TAM_MiB}, {"MiB", (uint64_t)TAM_MiB},
        {"G", (uint64_t)TAM_GiB}, {"GB", (uint64_t)TAM_GiB}, {"GiB", (uint64_t)TAM_GiB},
        {"T", (uint64_t)TAM_TiB}, {"TB", (uint64_t)TAM_TiB}, {"TiB", (uint64_t)TAM_TiB}};
    uint64_t n;
    const char *end;
    if (s_digits(text, &n, &end))
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcasecmp(end, units[i].suffix) == 0) {
                if (n > UINT64_MAX / units[i].mult)
                    break;
                *v = n * units[i].mult;
                return 0;
            }
    s_fmt(msg, msglen, "is not a size in bytes (e.g. 4096, 512K, 64M, 1G)");
    return TAM_ECONFIG;
}

static int s_parse_ms(const char *text, int64_t *v, char *msg, size_t msglen)
{
    static const struct { const char *suffix; uint64_t mult; } units[] = {
        {"", 1}, {"ms", 1}, {"s", (uint64_t)TAM_SEC}, {"m", (uint64_t)TAM_MIN}, {"h", (uint64_t)TAM_HOUR}};
    uint64_t n;
    const char *end;
    if (s_digits(text, &n, &end))
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcasecmp(end, units[i].suffix) == 0) {
                if (n > (uint64_t)INT64_MAX / units[i].mult)
                    break;
                *v = (int64_t)(n * units[i].mult);
                return 0;
            }
    s_fmt(msg, msglen, "is not a duration (e.g. 500ms, 2s, 1m; no unit means ms)");
    return TAM_ECONFIG;
}

static int s_parse_int(const char *text, int64_t *v, char *msg, size_t msglen)
{
    const char *p = text;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    uint64_t n;
    const char *end;
    if (s_digits(p, &n, &end) && !*end && n <= (uint64_t)INT64_MAX + neg) {
        *v = neg ? (int64_t)(0 - n) : (int64_t)n;
        return 0;
    }
    s_fmt(msg, msglen, "is not an integer");
    return TAM_ECONFIG;
}

static int s_parse_real(const char *text, double *v, char *msg, size_t msglen)
{
    char *end = NULL;
    errno = 0;
    double d = *text && !isspace((unsigned char)*text) ? strtod(text, &end) : 0;
    if (!end || end == text || *end || errno == ERANGE || !isfinite(d)) {
        s_fmt(msg, msglen, "is not a finite decimal number");
        return TAM_ECONFIG;
    }
    *v = d;
    return 0;
}

static int s_parse_bool(const char *text, bool *v, char *msg, size_t msglen)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *v = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *v = false;
            return 0;
        }
    }
    s_fmt(msg, msglen, "is not a boolean (true/false, yes/no, on/off, 1/0)");
    return TAM_ECONFIG;
}

static int s_parse_level(const char *text, int *v, char *msg, size_t msglen)
{
    char lower[16];
    size_t n = strlen(text);
    if (n < sizeof lower) {
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)tolower((unsigned char)text[i]);
        int lvl = tam_log_level_parse(lower);
        if (lvl >= 0) {
            *v = lvl;
            return 0;
        }
    }
    s_fmt(msg, msglen, "is not a log level (debug, info, notice, warning, err, crit, alert, emerg)");
    return TAM_ECONFIG;
}

/* Parses text as the value of key k into out, range-checked.
 * Returns 0 or TAM_ECONFIG with the reason (without the key name) in msg. */
static int s_parse(const tam_config_key_t *k, const char *text, s_value_t *out, char *msg,
                   size_t msglen)
{
    char echo[TAM__CONFIG_ECHO_MAX + 8], why[160], lo[64], hi[64];
    int rc = 0;
    why[0] = 0;
    memset(out, 0, sizeof *out);
    switch (k->type) {
    case TAM_CFG_STR:
        return s_parse_str(k, text, out, msg, msglen);
    case TAM_CFG_EP:
        rc = s_parse_str(k, text, out, msg, msglen);
        return rc ? rc : s_check_endpoint(out->s, msg, msglen);
    case TAM_CFG_INT:
        rc = s_parse_int(text, &out->i, why, sizeof why);
        if (!rc && (out->i < k->min || out->i > k->max))
            goto range;
        break;
    case TAM_CFG_SIZE:
        rc = s_parse_size(text, &out->u, why, sizeof why);
        if (!rc && (out->u < (uint64_t)k->min || out->u > (uint64_t)k->max))
            goto range;
        break;
    case TAM_CFG_MS:
        rc = s_parse_ms(text, &out->i, why, sizeof why);
        if (!rc && (out->i < k->min || out->i > k->max))
            goto range;
        break;
    case TAM_CFG_BOOL:
        rc = s_parse_bool(text, &out->b, why, sizeof why);
        break;
    case TAM_CFG_REAL:
        rc = s_parse_real(text, &out->d, why, sizeof why);
        if (!rc && (out->d < k->rmin || out->d > k->rmax))
            goto range;
        break;
    case TAM_CFG_LEVEL:
        rc = s_parse_level(text, &out->level, why, sizeof why);
        break;
    }
    if (rc) {
        tam__config_echo(echo, sizeof echo, text);
        s_fmt(msg, msglen, "\"%s\" %s", echo, why);
    }
    return rc;
range:
    tam__config_format_bound(k, k->min, k->rmin, lo, sizeof lo);
    tam__config_format_bound(k, k->max, k->rmax, hi, sizeof hi);
    s_fmt(msg, msglen, "must be between %s and %s", lo, hi);
    return TAM_ECONFIG;
}


int tam__config_parse(const tam_config_key_t *k, const char *text, void *out, char *msg,
                      size_t msglen)
{
    s_value_t v;
    int rc = s_parse(k, text, &v, msg, msglen);
    if (rc == 0)
        memcpy(out, &v, k->size);
    return rc;
}

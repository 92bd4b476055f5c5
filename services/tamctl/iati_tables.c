/* iati_tables.c — the tables an IATI import reads besides the file: the
 * exchange rates the config allows ([iati] usd_rates_file) and the DAC
 * regions that equal an M49 area (config/catalog/iati_regions.csv), and
 * exact decimal amounts (xsd:decimal, never through floating point). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/codec.h"
#include "iati.h"

int iati_decimal(const char *s, int64_t *micro)
{
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    int64_t whole = 0, frac = 0;
    int nd = 0, nf = 0;
    for (; *p >= '0' && *p <= '9'; p++, nd++) {
        if (whole > 1000000000000LL)
            return -1; /* far beyond any amount tamatch stores */
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, nf++) {
            if (nf == 6)
                return -1; /* more precision than a millionth */
            frac = frac * 10 + (*p - '0');
        }
    if (*p || (nd == 0 && nf == 0))
        return -1;
    for (int i = nf; i < 6; i++)
        frac *= 10;
    *micro = (whole * 1000000 + frac) * (neg ? -1 : 1);
    return 0;
}

int64_t iati_round_micro(int64_t micro)
{
    return micro < 0 ? -((-micro + 500000) / 1000000) : (micro + 500000) / 1000000;
}

int iati_rates_load(iati_rates_t *r, const char *path)
{
    memset(r, 0, sizeof *r);
    if (!path || !*path)
        return 0; /* no conversion allowed */
    snprintf(r->path, sizeof r->path, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tamctl: %s: %s ([iati] usd_rates_file)\n", path, strerror(errno));
        return EX_CONFIG;
    }
    char line[1024];
    int ln = 0, ex = 0;
    while (fgets(line, sizeof line, f) && ex == 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (++ln == 1 || !line[0])
            continue; /* header: currency,value_date,usd,source */
        char *cur = strtok(line, ","), *date = strtok(NULL, ","), *usd = strtok(NULL, ",");
        iati_rate_t *x = r->n < IATI_RATES_MAX ? &r->v[r->n] : NULL;
        bool ok = x && cur && date && usd && strlen(cur) == 3 && cur[0] >= 'A' && cur[0] <= 'Z' &&
                  cur[1] >= 'A' && cur[1] <= 'Z' && cur[2] >= 'A' && cur[2] <= 'Z' &&
                  strcmp(cur, "USD") != 0 && tam_date_parse(date, strlen(date), &x->date) == 0 &&
                  iati_decimal(usd, &x->usd_micro) == 0 && x->usd_micro > 0 &&
                  x->usd_micro <= 1000000LL * 1000000;
        for (size_t i = 0; ok && i < r->n; i++)
            ok = !(strcmp(r->v[i].currency, cur) == 0 && r->v[i].date == x->date);
        if (!ok) {
            fprintf(stderr, "tamctl: %s:%d: expected currency,value_date,usd,source: a currency "
                            "code other than USD, a date YYYY-MM-DD, a positive rate with at most 6 "
                            "decimals, each currency and date once (at most %d rates)\n",
                    path, ln, IATI_RATES_MAX);
            ex = EX_CONFIG;
            break;
        }
        snprintf(x->currency, sizeof x->currency, "%s", cur);
        snprintf(x->rate, sizeof x->rate, "%s", usd);
        r->n++;
    }
    fclose(f);
    return ex;
}

const iati_rate_t *iati_rate(const iati_rates_t *r, const char *currency, uint32_t date)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].date == date && strcmp(r->v[i].currency, currency) == 0)
            return &r->v[i];
    return NULL;
}

int iati_convert(const iati_rate_t *rate, int64_t micro, int64_t *usd)
{
    /* micro x usd_micro is in 1e-12 USD; at most 1e18 x 1e12: __int128 */
    __int128 p = (__int128)micro * rate->usd_micro;
    __int128 half = (__int128)500000000000LL, unit = (__int128)1000000000000LL;
    __int128 v = p < 0 ? -((-p + half) / unit) : (p + half) / unit;
    if (v > 1000000000000LL || v < -1000000000000LL)
        return -1;
    *usd = (int64_t)v;
    return 0;
}

int iati_regions_load(iati_regions_t *m, const char *dir)
{
    memset(m, 0, sizeof *m);
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/iati_regions.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tamctl: %s: %s (the DAC regions of IATI imports)\n", path, strerror(errno));
        return EX_CONFIG;
    }
    int ln = 0, ex = 0;
    while (fgets(line, sizeof line, f) && ex == 0) {
        if (++ln == 1)
            continue; /* header: vocabulary,code,m49,basis */
        line[strcspn(line, "\r\n")] = 0;
        char *voc = strtok(line, ","), *code = strtok(NULL, ","), *m49 = strtok(NULL, ",");
        if (!voc || !code || !m49 || m->n == IATI_REGIONS_MAX || strlen(code) >= 8 ||
            atoi(m49) <= 0 || atoi(m49) >= 1000) {
            fprintf(stderr, "tamctl: %s:%d: expected vocabulary,code,m49,basis\n", path, ln);
            ex = EX_CONFIG;
            break;
        }
        iati_region_t *r = &m->v[m->n++];
        r->vocabulary = atoi(voc);
        snprintf(r->code, sizeof r->code, "%s", code);
        r->m49 = atoi(m49);
    }
    fclose(f);
    return ex;
}

const iati_region_t *iati_region(const iati_regions_t *m, int vocabulary, const char *code)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].vocabulary == vocabulary && strcmp(m->v[i].code, code) == 0)
            return &m->v[i];
    return NULL;
}

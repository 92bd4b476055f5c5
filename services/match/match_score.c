/* match_score.c — the scoring model's arithmetic: weights converted once to
 * integers, the factors that need a formula, the score and its split into
 * points. All integer, so that the same inputs give the same scores on any
 * machine (docs/matching.md, "Score"). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tam/codec.h"
#include "tam/error.h"
#include "match.h"

const char *const tam_match_factor_names[TAM_MATCH_NF] = {
    "priority", "context", "thematic", "modality", "urgency", "equity", "ldc", "completeness"};

int tam_match_params_from_config(const tam_config_t *c, tam_match_params_t *p, char *err,
                                 size_t errlen)
{
    if (!c || !p)
        return TAM_EINVAL;
    memset(p, 0, sizeof *p);
    const double w[TAM_MATCH_NF] = {c->match.w_priority, c->match.w_context, c->match.w_thematic,
                                    c->match.w_modality, c->match.w_urgency, c->match.w_equity,
                                    c->match.w_ldc,      c->match.w_completeness};
    for (int k = 0; k < TAM_MATCH_NF; k++) {
        if (!(w[k] >= 0) || w[k] > 1000) {
            snprintf(err, errlen, "[match] w_%s: must be between 0 and 1000",
                     tam_match_factor_names[k]);
            return TAM_ECONFIG;
        }
        p->w[k] = llround(w[k] * 1000.0);
        p->wsum += p->w[k];
    }
    if (p->wsum <= 0) {
        snprintf(err, errlen, "[match] w_*: at least one weight must be 0.001 or more");
        return TAM_ECONFIG;
    }
    p->horizon_days = c->match.urgency_horizon_days;
    p->equity_scale = c->match.equity_scale;
    p->min_amount = c->match.min_amount;
    p->min_share = c->match.min_share;
    if (p->min_amount < 0 || p->min_share < 0 || p->min_share > 100) {
        snprintf(err, errlen, "[match] min_amount must be 0 or more, min_share 0..100");
        return TAM_ECONFIG;
    }
    if (p->horizon_days < 1 || p->equity_scale < 1) {
        snprintf(err, errlen, "[match] urgency_horizon_days and equity_scale must be 1 or more");
        return TAM_ECONFIG;
    }
    if (c->match.today[0] &&
        tam_date_parse(c->match.today, strlen(c->match.today), &p->today) != 0) {
        snprintf(err, errlen, "[match] today: \"%s\" is not a date YYYY-MM-DD", c->match.today);
        return TAM_ECONFIG;
    }
    p->coalesce_ms = c->match.coalesce;
    p->sync_wait_ms = c->match.sync_wait;
    return 0;
}

int64_t tam_match_score(const tam_match_params_t *p, const tam_match_factors_t *f)
{
    int64_t num = 0;
    for (int k = 0; k < TAM_MATCH_NF; k++)
        num += p->w[k] * f->v[k];
    /* round half up: floor(num / W + 1/2) */
    return (2 * num + p->wsum) / (2 * p->wsum);
}

void tam_match_points(const tam_match_params_t *p, const tam_match_factors_t *f,
                      int64_t pts[TAM_MATCH_NF])
{
    int64_t rem[TAM_MATCH_NF], sum = 0;
    for (int k = 0; k < TAM_MATCH_NF; k++) {
        int64_t x = p->w[k] * f->v[k];
        pts[k] = x / p->wsum;
        rem[k] = x % p->wsum;
        sum += pts[k];
    }
    int64_t left = tam_match_score(p, f) - sum; /* 0..TAM_MATCH_NF, see docs */
    while (left-- > 0) {
        int best = -1;
        for (int k = 0; k < TAM_MATCH_NF; k++)
            if (rem[k] > 0 && (best < 0 || rem[k] > rem[best]))
                best = k;
        if (best < 0)
            break; /* cannot happen: the units come from the remainders */
        pts[best]++;
        rem[best] = 0;
    }
}

int32_t tam_match_f_priority(int64_t priority)
{
    if (priority < 1)
        priority = 1;
    if (priority > 5)
        priority = 5;
    return (int32_t)((priority - 1) * TAM_MATCH_ONE / 4);
}

int32_t tam_match_f_urgency(uint32_t start, uint32_t today, int64_t horizon_days)
{
    int64_t d = tam_date_days(start) - tam_date_days(today);
    if (d <= 0)
        return TAM_MATCH_ONE;
    if (d >= horizon_days)
        return 0;
    return (int32_t)(TAM_MATCH_ONE * (horizon_days - d) / horizon_days);
}

int32_t tam_match_f_equity(int64_t received, int64_t scale)
{
    if (received <= 0)
        return TAM_MATCH_ONE;
    /* round(10000 * scale / (scale + received)), in 128 bits */
    __int128 den = (__int128)scale + received;
    __int128 num = (__int128)2 * TAM_MATCH_ONE * scale + den;
    return (int32_t)(num / (2 * den));
}

int32_t tam_match_f_completeness(int64_t percent)
{
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    return (int32_t)(percent * 100);
}

/* match_advise_money.c — match.advise for new unearmarked money: where AMOUNT
 * would do most good, as the projects and needs it would fund, and the
 * parametric optimum in the amount (docs/whatif.md, "Advice"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/error.h"
#include "match_whatif.h"

/* New unearmarked money: a project that may fund anything, evaluated at
 * eighths of the amount by exact warm re-solves (the optimum is concave and
 * piecewise linear in the amount: each stretch's slope is the dual price
 * that holds on it). The advice is the full amount's scenario. */
int tam_match__advise_money(const tam_match_t *m, int64_t amount, tam_arena_t *a,
                            tam_advice_list_t *out)
{
    return tam_match__advise_money_on(m, NULL, amount, a, out);
}

int tam_match__advise_money_on(const tam_match_t *m, tam_match_t *own, int64_t amount,
                               tam_arena_t *a, tam_advice_list_t *out)
{
    int64_t t0 = tam_match__now_us();
    tam_match_t *c = NULL;
    tam_match_snap_t base;
    memset(&base, 0, sizeof base);
    int rc = tam_match__advise_base(m, own, &c);
    if (rc == 0)
        rc = tam_match__snap(c, &base);
    if (rc == 0)
        c->lean = true;
    static char id[] = "NEW-MONEY";
    int steps = amount >= 8 ? 8 : 1;
    out->steps.v = tam_arena_alloc(a, (size_t)steps * sizeof *out->steps.v);
    out->items.v = tam_arena_alloc(a, sizeof *out->items.v);
    if (rc == 0 && (!out->steps.v || !out->items.v))
        rc = TAM_ENOMEM;
    int64_t prev_amt = 0;
    __int128 prev_obj = base.objective;
    for (int s = 1; rc == 0 && s <= steps; s++) {
        int64_t amt = amount / steps * s + (s == steps ? amount % steps : 0);
        tam_whatif_change_t x;
        memset(&x, 0, sizeof x);
        x.project = id;
        if (s == 1) {
            x.kind = TAM_E_whatif_kind_project_new;
            x.amount = amt;
        } else {
            x.kind = TAM_E_whatif_kind_adjustment;
            x.amount = amt - prev_amt;
        }
        if ((rc = tam_match__whatif_apply(c, &x, 1)) || (rc = tam_match__whatif_run(c)))
            break;
        out->solved++;
        __int128 obj = c->sol.objective;
        tam_money_step_t *st = &out->steps.v[out->steps.n++];
        st->amount = amt;
        st->objective_delta = (int64_t)(obj - base.objective);
        st->marginal = amt > prev_amt ? (int64_t)((obj - prev_obj) / (amt - prev_amt)) : 0;
        prev_amt = amt;
        prev_obj = obj;
    }
    if (rc == 0) {
        tam_advice_t *it = &out->items.v[0];
        memset(it, 0, sizeof *it);
        it->change = tam_arena_alloc(a, sizeof *it->change);
        char b[120];
        snprintf(b, sizeof b, "%lld USD of new money that may fund any need",
                 (long long)amount);
        it->text = tam_arena_strndup(a, b, strlen(b));
        if (!it->change || !it->text)
            rc = TAM_ENOMEM;
        else {
            memset(it->change, 0, sizeof *it->change);
            it->change->kind = TAM_E_whatif_kind_project_new;
            it->change->project = id;
            it->change->amount = amount;
            rc = tam_match__advice_item(c, &base, a, it);
            out->items.n = 1;
        }
    }
    out->candidates = 1;
    out->solve_us = tam_match__now_us() - t0;
    tam_match__snap_free(&base);
    tam_match_destroy(&c);
    return rc;
}

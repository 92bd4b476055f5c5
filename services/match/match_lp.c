/* match_lp.c — the current run's problem in CPLEX LP format, with its
 * solution, for auditors: `glpsol --lp FILE` (or any LP solver) re-solves it
 * and must find the same objective. The variable names carry the numeric ids
 * the solver uses; a comment block maps them to project ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/codec.h"
#include "tam/error.h"
#include "match_int.h"

int tam_match_write_lp(tam_match_t *m, FILE *out)
{
    if (!m || !out)
        return TAM_EINVAL;
    if (m->run_id == 0)
        return TAM_ESTATE;
    tam_match_problem_t pb;
    int rc = tam_match__problem(m, &pb, true);
    if (rc)
        return rc;
    char date[11];
    tam_date_format(m->run_date, date);
    fprintf(out,
            "\\ tamatch match run %llu of %s, hash %s, code %s\n"
            "\\ maximise sum score * x over eligible (need, project) pairs; rows n_<need id>:\n"
            "\\ what a need may receive (fixed amounts on its pairs, plus new money up to\n"
            "\\ its cost minus what all its decisions fix, never below 0); rows\n"
            "\\ p_<project>: what a project may give (received minus commitments on pairs\n"
            "\\ outside the problem); bounds: fixed amounts (endorsed/committed) below, the\n"
            "\\ per-need cap above; a pair held back because the LP optimum gave it new money\n"
            "\\ below the minimum proposal is bounded by its fixed amount (%lld held back;\n"
            "\\ pure LP bound %lld). See docs/matching.md.\n"
            "\\ %zu need(s), %zu project(s), %zu pair(s). Project numbers in names:\n",
            (unsigned long long)m->run_id, date, m->hash, TAM_MATCH_CODE_VERSION,
            (long long)m->nfrags, (long long)(m->lp_bound > INT64_MAX ? INT64_MAX : m->lp_bound),
            pb.p.n_needs,
            pb.p.n_projects, pb.p.n_arcs);
    for (size_t q = 0; q < pb.p.n_projects; q++)
        fprintf(out, "\\   %llu = %s\n", (unsigned long long)pb.project_id[q],
                m->projects[pb.project_slot[q]].id);
    if (ferror(out)) {
        tam_match__problem_free(&pb);
        return TAM_EIO;
    }
    /* the solver knows needs by content key; the LP names them by need id */
    for (size_t q = 0; q < pb.p.n_needs; q++)
        pb.need_id[q] = m->needs[pb.need_slot[q]].id;
    rc = tam_flow_write_lp(out, &pb.p, &pb.s);
    tam_match__problem_free(&pb);
    return rc;
}

/* The LP text of the current run, built once per run. */
static int s_lp_text(tam_match_t *m)
{
    if (m->lp && m->lp_run == m->run_id)
        return 0;
    free(m->lp);
    m->lp = NULL;
    m->lp_len = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return TAM_ENOMEM;
    int rc = tam_match_write_lp(m, f);
    if (fclose(f) != 0 && rc == 0)
        rc = TAM_ENOMEM;
    if (rc) {
        free(buf);
        return rc;
    }
    m->lp = buf;
    m->lp_len = len;
    m->lp_run = m->run_id;
    return 0;
}

int tam_match__export_lp(tam_match_t *m, const tam_lp_request_t *q, tam_lp_chunk_t *out,
                         tam_rpc_error_t *err)
{
    if (m->run_id == 0)
        return tam_rpc_error_set(err, TAM_ESTATE, "", "no run yet: the matcher is waiting for "
                                                      "its feeds"),
               err->code;
    if (q->run && q->run != m->run_id)
        return tam_rpc_error_set(err, TAM_ESTATE, "run",
                                 "run %llu is no longer current (current: %llu); start again",
                                 (unsigned long long)q->run, (unsigned long long)m->run_id),
               err->code;
    int rc = s_lp_text(m);
    if (rc)
        return rc;
    if (q->offset > m->lp_len)
        return tam_rpc_error_set(err, TAM_ERANGE, "offset", "offset %llu is past the end (%zu)",
                                 (unsigned long long)q->offset, m->lp_len),
               err->code;
    size_t n = m->lp_len - q->offset;
    if (n > TAM_MATCH_LP_CHUNK)
        n = TAM_MATCH_LP_CHUNK;
    out->run = m->run_id;
    out->total = m->lp_len;
    out->text = m->lp + q->offset; /* encoded by length below */
    out->text = strndup(out->text, n);
    return out->text ? 0 : TAM_ENOMEM;
}

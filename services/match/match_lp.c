/* match_lp.c — the current run's problem in CPLEX LP format, with its
 * solution, for auditors: `glpsol --lp FILE` (or any LP solver) re-solves it
 * and must find the same objective. Variables are named x_<need id>_<project
 * id> ('-' in a project id written '.'). match.export_lp streams the text:
 * each chunk is made when it is asked for, from a copy of the run's problem
 * taken at the first chunk, so that the service never holds the whole text
 * (2.4 GB at 100k needs x 2000 projects) and a later run does not end an
 * export under way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tam/codec.h"
#include "tam/error.h"
#include "match_int.h"

struct tam_match_lp {
    tam_match_problem_t pb;
    const char **names;     /* [n_projects] project ids */
    tam_flow_lp_t *w;
    uint64_t sent;          /* bytes sent so far */
    bool done;              /* the writer has written everything */
    uint64_t prev_off;      /* the last chunk sent, for a repeated request */
    char *prev;
    size_t prev_len;
};

void tam_match__lp_free(tam_match_t *m)
{
    struct tam_match_lp *s = m->lp_state;
    if (s) {
        tam_flow_lp_destroy(&s->w);
        tam_match__problem_free(&s->pb);
        free(s->names);
        free(s->prev);
        free(s);
    }
    m->lp_state = NULL;
    free(m->lp);
    m->lp = NULL;
    m->lp_len = 0;
    m->lp_run = 0;
}

/* The comment block before the problem. */
static void s_head(const tam_match_t *m, const tam_match_problem_t *pb, FILE *out)
{
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
            "\\ %zu need(s), %zu project(s), %zu pair(s).\n",
            (unsigned long long)m->run_id, date, m->hash, TAM_MATCH_CODE_VERSION,
            (long long)m->nfrags, (long long)(m->lp_bound > INT64_MAX ? INT64_MAX : m->lp_bound),
            pb->p.n_needs, pb->p.n_projects, pb->p.n_arcs);
}

/* The current run's problem, named for the LP (need ids, project ids). */
static int s_start(const tam_match_t *m, struct tam_match_lp **out)
{
    struct tam_match_lp *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    int rc = tam_match__problem(m, &s->pb, true);
    if (rc) {
        free(s);
        return rc;
    }
    s->names = malloc((s->pb.p.n_projects + 1) * sizeof *s->names);
    if (!s->names) {
        tam_match__problem_free(&s->pb);
        free(s);
        return TAM_ENOMEM;
    }
    /* the solver knows needs by content key; the LP names them by need id */
    for (size_t q = 0; q < s->pb.p.n_needs; q++)
        s->pb.need_id[q] = m->needs[s->pb.need_slot[q]].id;
    for (size_t q = 0; q < s->pb.p.n_projects; q++)
        s->names[q] = m->projects[s->pb.project_slot[q]].id;
    s->pb.p.project_name = s->names;
    if ((rc = tam_flow_lp_new(&s->w, &s->pb.p, &s->pb.s))) {
        tam_match__problem_free(&s->pb);
        free(s->names);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int tam_match_write_lp(tam_match_t *m, FILE *out)
{
    if (!m || !out)
        return TAM_EINVAL;
    if (m->run_id == 0)
        return TAM_ESTATE;
    struct tam_match_lp *s = NULL;
    int rc = s_start(m, &s);
    if (rc)
        return rc;
    s_head(m, &s->pb, out);
    while ((rc = tam_flow_lp_next(s->w, out, (size_t)1 << 30)) == 0)
        ;
    tam_flow_lp_destroy(&s->w);
    tam_match__problem_free(&s->pb);
    free(s->names);
    free(s);
    if (rc < 0)
        return rc;
    return ferror(out) || fflush(out) ? TAM_EIO : 0;
}

/* Makes text until m->lp holds a chunk or the writer is done. */
static int s_fill(tam_match_t *m, struct tam_match_lp *s)
{
    if (s->done || m->lp_len >= TAM_MATCH_LP_CHUNK)
        return 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return TAM_ENOMEM;
    if (m->lp_len)
        fwrite(m->lp, 1, m->lp_len, f);
    int rc = tam_flow_lp_next(s->w, f, TAM_MATCH_LP_CHUNK - m->lp_len);
    if (fclose(f) != 0 && rc >= 0)
        rc = TAM_ENOMEM;
    if (rc < 0) {
        free(buf);
        return rc;
    }
    s->done = rc == 1;
    free(m->lp);
    m->lp = buf;
    m->lp_len = len;
    return 0;
}

int tam_match__export_lp(tam_match_t *m, const tam_lp_request_t *q, tam_lp_chunk_t *out,
                         tam_rpc_error_t *err)
{
    struct tam_match_lp *s = m->lp_state;
    bool ours = s && q->run && q->run == m->lp_run && q->offset > 0;
    if (!ours) {
        if (m->run_id == 0)
            return tam_rpc_error_set(err, TAM_ESTATE, "", "no run yet: the matcher is waiting "
                                                          "for its feeds"),
                   err->code;
        if (q->run && q->run != m->run_id)
            return tam_rpc_error_set(err, TAM_ESTATE, "run",
                                     "run %llu is no longer current (current: %llu); start again",
                                     (unsigned long long)q->run, (unsigned long long)m->run_id),
                   err->code;
        if (q->offset > 0)
            return tam_rpc_error_set(err, TAM_ERANGE, "offset",
                                     "no export of run %llu is under way at offset %llu; start "
                                     "again at 0", (unsigned long long)m->run_id,
                                     (unsigned long long)q->offset),
                   err->code;
        /* a new export of the current run (one at a time: it replaces any) */
        tam_match__lp_free(m);
        int rc = s_start(m, &s);
        if (rc)
            return rc;
        m->lp_state = s;
        m->lp_run = m->run_id;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
            return TAM_ENOMEM;
        s_head(m, &s->pb, f);
        if (fclose(f) != 0) {
            free(buf);
            return TAM_ENOMEM;
        }
        m->lp = buf;
        m->lp_len = len;
    }
    out->run = m->lp_run;
    if (q->offset == s->prev_off && s->prev && q->offset < s->sent) {
        /* the last chunk again (the client did not get it) */
        out->total = s->done && m->lp_len == 0 ? s->sent : s->sent + 1;
        out->text = strndup(s->prev, s->prev_len);
        return out->text ? 0 : TAM_ENOMEM;
    }
    if (q->offset != s->sent)
        return tam_rpc_error_set(err, TAM_ERANGE, "offset",
                                 "the export of run %llu continues at offset %llu, not %llu",
                                 (unsigned long long)m->lp_run, (unsigned long long)s->sent,
                                 (unsigned long long)q->offset),
               err->code;
    int rc = s_fill(m, s);
    if (rc)
        return rc;
    size_t n = m->lp_len < TAM_MATCH_LP_CHUNK ? m->lp_len : TAM_MATCH_LP_CHUNK;
    free(s->prev);
    s->prev = strndup(m->lp, n);
    if (!s->prev)
        return TAM_ENOMEM;
    s->prev_len = n;
    s->prev_off = s->sent;
    memmove(m->lp, m->lp + n, m->lp_len - n);
    m->lp_len -= n;
    s->sent += n;
    /* total: the whole length once it is known; until then one more than
     * what was sent, so that a reader asks for the next chunk */
    out->total = s->done && m->lp_len == 0 ? s->sent : s->sent + 1;
    out->text = strndup(s->prev, n);
    if (!out->text)
        return TAM_ENOMEM;
    if (s->done && m->lp_len == 0) {
        /* complete: the copy of the problem goes; the last chunk stays for a repeat */
        tam_flow_lp_destroy(&s->w);
        tam_match__problem_free(&s->pb);
        free(s->names);
        s->names = NULL;
    }
    return 0;
}

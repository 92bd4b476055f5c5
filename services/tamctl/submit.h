/* submit.h — internal to `tamctl submit` and `reply`: the flat CSV of needs
 * (submit_csv.c) turned into replies (the format is defined in
 * proto/needs-csv.md), and the diff of a revision (reply_diff.c). */
#ifndef TAMCTL_SUBMIT_H
#define TAMCTL_SUBMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One reply built from the rows of one respondent and category. */
typedef struct {
    uint8_t *body;      /* msgpack of a reply (schema reply), malloc'd */
    size_t len;
    int first_line;     /* line of its first row */
    int *need_lines;    /* line of needs[i] */
    uint32_t nneeds;
    int *answer_lines;  /* line of answers[i] (its first row) */
    uint32_t nanswers;
} tamctl_csv_reply_t;

/* Most rows, and bytes in one field, a CSV file may have. */
#define TAMCTL_CSV_MAX_ROWS 100000
#define TAMCTL_CSV_MAX_FIELD 8192

/* Parses the needs CSV data[0..len) read from name: rows grouped by
 * respondent and category, in order of first appearance, one reply each.
 * Every problem found is printed on stderr as "NAME:LINE:COLUMN: message".
 * Returns 0 with *out (free with tamctl_csv_free) and *n; a sysexits code
 * (EX_DATAERR: problems printed; EX_OSERR: out of memory). */
/* Whether a file given without --format is the CSV of needs: a name ending
 * in .csv, or a first line (after a byte order mark) that is not JSON and
 * names the respondent columns. */
bool tamctl_csv_looks(const char *name, const char *text, size_t len);

int tamctl_csv_replies(const char *name, const char *data, size_t len, tamctl_csv_reply_t **out,
                       size_t *n);

void tamctl_csv_free(tamctl_csv_reply_t *v, size_t n);

/* Maps a field path of a CSV reply ("needs[2].cost", "respondent.id") to the
 * line and the CSV column it came from; column is a static string. */
void tamctl_csv_locate(const tamctl_csv_reply_t *r, const char *field, int *line,
                       const char **column);

/* `tamctl reply ID --diff` (reply_diff.c): prints what reply id changed against
 * the previous revision of its chain, need by need (JSON with t->json).
 * Returns 0 or a sysexits code (errors printed). */
struct tamctl;
int tamctl_reply_diff(struct tamctl *t, uint64_t id);

#endif

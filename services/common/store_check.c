/* store_check.c — a data.mdb is checked before LMDB maps it: a truncated
 * file gave SIGBUS, a zeroed page SIGABRT and flipped bytes SIGSEGV or a
 * listing cut short. The file is read with pread (never mapped): both meta
 * pages (magic, version, page size, newest transaction), the size against
 * the last page in use, then every page reachable from the roots (page
 * number, kind, node offsets, child and overflow page numbers in range, no
 * page reached twice). LMDB keeps no checksums, so a flipped byte inside a
 * value is not seen here: the services' decoders report that record as
 * damaged. Layout: LMDB 0.9 on a 64-bit machine (mdb.c). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tam/error.h"
#include "tam/log.h"
#include "store_int.h"

#define S_MAGIC 0xBEEFC0DEu
#define S_DATA_VERSION 1u
#define S_HDR 16           /* PAGEHDRSZ */
#define S_NODE 8           /* NODESIZE */
#define S_P_INVALID (~(uint64_t)0)
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define P_LEAF2 0x20
#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define F_DUPDATA 0x04
#define S_DB_SIZE 48       /* sizeof(MDB_db) */

typedef struct {
    int fd;
    uint64_t psize, last_pg, fsize;
    uint8_t *page;
    uint8_t *seen;          /* bitmap of pages reached */
    uint64_t *stack;        /* pages to visit */
    size_t n, cap;
    char why[200];
} s_chk_t;

static uint16_t s_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static uint32_t s_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t s_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#define U(x) ((unsigned long long)(x))

static int s_bad(s_chk_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_bad(s_chk_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return TAM_ECONFIG;
}

static int s_push(s_chk_t *c, uint64_t pg, uint64_t from)
{
    if (pg == S_P_INVALID)
        return 0;
    if (pg < 2 || pg > c->last_pg)
        return s_bad(c, "page %llu points to page %llu, outside the file", U(from), U(pg));
    if (c->seen[pg >> 3] & (1u << (pg & 7)))
        return s_bad(c, "page %llu is reached twice (from page %llu)", U(pg), U(from));
    c->seen[pg >> 3] |= (uint8_t)(1u << (pg & 7));
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        uint64_t *v = realloc(c->stack, cap * sizeof *v);
        if (!v)
            return TAM_ENOMEM;
        c->stack = v;
        c->cap = cap;
    }
    c->stack[c->n++] = pg;
    return 0;
}

static int s_read_page(s_chk_t *c, uint64_t pg)
{
    ssize_t n = pread(c->fd, c->page, c->psize, (off_t)(pg * c->psize));
    if (n != (ssize_t)c->psize)
        return s_bad(c, "page %llu cannot be read (%llu bytes)", U(pg), U((unsigned long long)(n < 0 ? 0 : n)));
    return 0;
}

/* Checks one branch or leaf page and queues the pages it points to. */
static int s_page(s_chk_t *c, uint64_t pg)
{
    int rc = s_read_page(c, pg);
    if (rc)
        return rc;
    const uint8_t *p = c->page;
    uint16_t flags = s_u16(p + 10);
    if (s_u64(p) != pg)
        return s_bad(c, "page %llu says it is page %llu (zeroed or overwritten)", U(pg), U(s_u64(p)));
    if (flags & P_OVERFLOW) {
        uint32_t pages = s_u32(p + 12);
        if (pages == 0 || pg + pages - 1 > c->last_pg)
            return s_bad(c, "overflow page %llu claims %llu pages beyond the file", U(pg), U(pages));
        for (uint64_t k = pg + 1; k < pg + pages; k++)
            c->seen[k >> 3] |= (uint8_t)(1u << (k & 7));
        return 0;
    }
    unsigned kind = flags & (P_BRANCH | P_LEAF);
    if (kind != P_BRANCH && kind != P_LEAF)
        return s_bad(c, "page %llu has no valid kind (flags 0x%llx)", U(pg), U(flags));
    uint16_t lower = s_u16(p + 12), upper = s_u16(p + 14);
    if (lower < S_HDR || lower > upper || upper > c->psize || (lower - S_HDR) % 2)
        return s_bad(c, "page %llu has a bad layout (lower %llu)", U(pg), U(lower));
    if (flags & P_LEAF2)
        return 0; /* fixed-size keys, no nodes */
    unsigned nkeys = (lower - S_HDR) / 2;
    if (kind == P_BRANCH && nkeys == 0)
        return s_bad(c, "branch page %llu is empty", U(pg));
    for (unsigned i = 0; i < nkeys; i++) {
        uint16_t off = s_u16(p + S_HDR + 2 * i);
        if (off < upper || (uint64_t)off + S_NODE > c->psize)
            return s_bad(c, "page %llu: node offset %llu out of the page", U(pg), U(off));
        const uint8_t *nd = p + off;
        uint16_t lo = s_u16(nd), hi = s_u16(nd + 2), nflags = s_u16(nd + 4), ksize = s_u16(nd + 6);
        if ((uint64_t)off + S_NODE + ksize > c->psize)
            return s_bad(c, "page %llu: key of node %llu runs off the page", U(pg), U(i));
        if (kind == P_BRANCH) {
            uint64_t child = (uint64_t)lo | (uint64_t)hi << 16 | (uint64_t)nflags << 32;
            if ((rc = s_push(c, child, pg)))
                return rc;
            continue;
        }
        uint64_t dsize = (uint64_t)lo | (uint64_t)hi << 16;
        const uint8_t *data = nd + S_NODE + ksize;
        uint64_t have = (uint64_t)(c->psize - (off + S_NODE + ksize));
        if (nflags & F_BIGDATA) {
            if (have < 8)
                return s_bad(c, "page %llu: node %llu runs off the page", U(pg), U(i));
            if ((rc = s_push(c, s_u64(data), pg)))
                return rc;
            continue;
        }
        if (dsize > have)
            return s_bad(c, "page %llu: value of node %llu runs off the page", U(pg), U(i));
        if ((nflags & F_SUBDATA) && !(nflags & F_DUPDATA)) {
            if (dsize != S_DB_SIZE)
                return s_bad(c, "page %llu: database record %llu is malformed", U(pg), U(i));
            if ((rc = s_push(c, s_u64(data + 40), pg)))
                return rc;
        }
    }
    return 0;
}

/* Reads meta page k; 0 and *txnid, *meta (a copy) if it is valid. */
static int s_meta(s_chk_t *c, unsigned k, uint64_t psize, uint8_t *meta, uint64_t *txnid)
{
    uint8_t buf[S_HDR + 136];
    if (pread(c->fd, buf, sizeof buf, (off_t)(k * psize)) != (ssize_t)sizeof buf)
        return s_bad(c, "meta page %llu cannot be read", U(k));
    if (!(s_u16(buf + 10) & P_META) || s_u32(buf + S_HDR) != S_MAGIC)
        return s_bad(c, "meta page %llu is not an LMDB meta page (not a store, or overwritten)", U(k));
    if (s_u32(buf + S_HDR + 4) != S_DATA_VERSION)
        return s_bad(c, "meta page %llu: LMDB data version %llu", U(k), U(s_u32(buf + S_HDR + 4)));
    memcpy(meta, buf + S_HDR, 136);
    *txnid = s_u64(meta + 128);
    return 0;
}

int tam_store__check_file(const char *dir, bool walk)
{
    char path[4096];
    struct stat st;
    s_chk_t c = {.fd = -1};
    int ret = 0;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return TAM_EINVAL;
    if (stat(path, &st) != 0 || st.st_size == 0)
        return 0; /* new store, or the empty-file check's business */
    c.fsize = (uint64_t)st.st_size;
    if ((c.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        tam_error("store %s: cannot read data.mdb: %s", dir, strerror(errno));
        return TAM_EIO;
    }
    uint8_t m0[136], m1[136];
    uint64_t t0 = 0, t1 = 0;
    uint8_t first[S_HDR + 136];
    if (pread(c.fd, first, sizeof first, 0) != (ssize_t)sizeof first) {
        ret = s_bad(&c, "the file is %llu bytes, too short for a store", U(c.fsize));
        goto out;
    }
    /* The page size is kept in the free database's md_pad. */
    c.psize = s_u32(first + S_HDR + 24);
    if (c.psize < 512 || c.psize > 65536 || (c.psize & (c.psize - 1))) {
        ret = s_bad(&c, "meta page 0: page size %llu is not valid", U(c.psize));
        goto out;
    }
    if (c.fsize < 2 * c.psize) {
        ret = s_bad(&c, "the file is %llu bytes, less than its two meta pages (%llu)", U(c.fsize), U(2 * c.psize));
        goto out;
    }
    if ((ret = s_meta(&c, 0, c.psize, m0, &t0)) || (ret = s_meta(&c, 1, c.psize, m1, &t1)))
        goto out;
    const uint8_t *m = t1 > t0 ? m1 : m0;
    c.last_pg = s_u64(m + 120);
    if (c.last_pg < 1 || c.last_pg > c.fsize / c.psize * 16) {
        ret = s_bad(&c, "the meta page's last page %llu is not valid", U(c.last_pg));
        goto out;
    }
    if ((c.last_pg + 1) * c.psize > c.fsize) {
        ret = s_bad(&c, "truncated: the file is %llu bytes, its pages need %llu", U(c.fsize), U((c.last_pg + 1) * c.psize));
        goto out;
    }
    if (!walk)
        goto out;
    c.page = malloc(c.psize);
    c.seen = calloc(c.last_pg / 8 + 1, 1);
    if (!c.page || !c.seen) {
        ret = TAM_ENOMEM;
        goto out;
    }
    /* roots of the free database and the main database (named databases
     * are records of the main one) */
    if ((ret = s_push(&c, s_u64(m + 24 + 40), 0)) ||
        (ret = s_push(&c, s_u64(m + 24 + S_DB_SIZE + 40), 1)))
        goto out;
    while (c.n && !ret)
        ret = s_page(&c, c.stack[--c.n]);
out:
    if (ret == TAM_ECONFIG)
        tam_crit("store %s: data.mdb is damaged: %s. Refusing to start on it: restore the store "
                 "from a backup (tamctl restore, docs/operations.md)",
                 dir, c.why);
    close(c.fd);
    free(c.page);
    free(c.seen);
    free(c.stack);
    return ret;
}

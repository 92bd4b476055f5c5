/* arena.c — bump allocator for decoded messages, plus the date and UTF-8
 * helpers the codec uses. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tam/codec.h"
#include "tam/error.h"

typedef struct s_block {
    struct s_block *next;
    size_t size, used;
    max_align_t data[];
} s_block_t;

struct tam_arena {
    s_block_t *head;  /* current block (most recent first) */
    size_t chunk;
    size_t cap;       /* 0: none */
    size_t total;     /* bytes held from malloc */
};

tam_arena_t *tam_arena_new(size_t chunk)
{
    tam_arena_t *a = calloc(1, sizeof *a);
    if (a)
        a->chunk = chunk ? chunk : 16384;
    return a;
}

static void s_free_chain(s_block_t *b)
{
    while (b) {
        s_block_t *next = b->next;
        free(b);
        b = next;
    }
}

void tam_arena_destroy(tam_arena_t **pa)
{
    if (!pa || !*pa)
        return;
    s_free_chain((*pa)->head);
    free(*pa);
    *pa = NULL;
}

void tam_arena_reset(tam_arena_t *a)
{
    if (!a->head)
        return;
    /* Keep the oldest block if it is a standard one; free the rest. */
    s_block_t *b = a->head, *keep = NULL;
    while (b) {
        s_block_t *next = b->next;
        if (!next && b->size == a->chunk)
            keep = b;
        else
            free(b);
        b = next;
    }
    a->head = keep;
    a->total = 0;
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
        a->total = sizeof *keep + keep->size;
    }
}

void tam_arena_set_cap(tam_arena_t *a, size_t cap)
{
    a->cap = cap;
}

size_t tam_arena_used(const tam_arena_t *a)
{
    return a->total;
}

void *tam_arena_alloc(tam_arena_t *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    if (size == 0)
        size = 8;
    s_block_t *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t bsize = size > a->chunk ? size : a->chunk;
        if (a->cap && a->total + sizeof *b + bsize > a->cap)
            return NULL;
        b = malloc(sizeof *b + bsize);
        if (!b)
            return NULL;
        b->size = bsize;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->total += sizeof *b + bsize;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *tam_arena_strndup(tam_arena_t *a, const char *s, size_t n)
{
    char *p = tam_arena_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

bool tam_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return false;
            if (c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false; /* overlong, out of range, or surrogate */
        i += len;
    }
    return true;
}

static int s_days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

int tam_date_parse(const char *s, size_t len, uint32_t *out)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return TAM_EINVAL;
    int v[3] = {0, 0, 0};
    const int pos[3][2] = {{0, 4}, {5, 2}, {8, 2}};
    for (int f = 0; f < 3; f++)
        for (int k = 0; k < pos[f][1]; k++) {
            char c = s[pos[f][0] + k];
            if (c < '0' || c > '9')
                return TAM_EINVAL;
            v[f] = v[f] * 10 + (c - '0');
        }
    if (v[0] < 1900 || v[0] > 2200 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
        v[2] > s_days_in_month(v[0], v[1]))
        return TAM_EINVAL;
    *out = (uint32_t)(v[0] * 10000 + v[1] * 100 + v[2]);
    return 0;
}

void tam_date_format(uint32_t d, char buf[11])
{
    unsigned y = d / 10000 % 10000, m = d / 100 % 100, day = d % 100;
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + day / 10);
    buf[9] = (char)('0' + day % 10);
    buf[10] = 0;
}

/* Days from civil (Howard Hinnant's algorithm). */
int64_t tam_date_days(uint32_t d)
{
    int64_t y = d / 10000, m = d / 100 % 100, day = d % 100;
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint32_t tam_date_from_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    return (uint32_t)(y * 10000 + m * 100 + day);
}

uint32_t tam_date_today(void)
{
    return tam_date_from_days((int64_t)(time(NULL) / 86400));
}

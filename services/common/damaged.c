/* damaged.c — stored records that do not decode, as a listing reports them
 * (tam/damaged.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tam/damaged.h"
#include "tam/error.h"
#include "tam/log.h"

void tam_damaged_add(tam_damaged_t *d, const char *db, const char *path, const char *fmt, ...)
{
    char key[TAM_DAMAGED_KEY_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    if (n < 0)
        key[0] = 0;
    for (char *c = key; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            *c = '?';
    /* ids and where the decoder stopped, never the value */
    tam_error("store: %s: the stored record %s does not decode%s%s; left out of the listing",
              db, key, path && path[0] ? " at " : "", path && path[0] ? path : "");
    if (d->n < TAM_DAMAGED_MAX)
        memcpy(d->key[d->n], key, sizeof key);
    d->n++;
}

uint32_t tam_damaged_listed(const tam_damaged_t *d)
{
    return d->n < TAM_DAMAGED_MAX ? d->n : TAM_DAMAGED_MAX;
}

int tam_damaged_pack(const tam_damaged_t *d, msgpack_packer *pk)
{
    uint32_t n = tam_damaged_listed(d);
    if (n == 0)
        return 0;
    int rc = msgpack_pack_str_with_body(pk, "damaged", 7);
    rc = rc ? rc : msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = msgpack_pack_str_with_body(pk, d->key[i], strlen(d->key[i]));
    return rc ? TAM_ENOMEM : 0;
}

int tam_damaged_append(const tam_damaged_t *d, msgpack_sbuffer *sb)
{
    if (tam_damaged_listed(d) == 0)
        return 0;
    if (!sb || sb->size == 0 || ((uint8_t)sb->data[0] & 0xf0) != 0x80 ||
        ((uint8_t)sb->data[0] & 0x0f) >= 15)
        return TAM_EINVAL;
    sb->data[0] = (char)((uint8_t)sb->data[0] + 1);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    return tam_damaged_pack(d, &pk);
}

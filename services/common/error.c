/* error.c — texts and wire names of the tamatch error codes. */
#include <string.h>
#include "tam/error.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} s_errors[] = {
    {TAM_OK, "ok", "success"},
    {TAM_ENOMEM, "nomem", "out of memory"},
    {TAM_EINVAL, "invalid", "invalid value"},
    {TAM_ETRUNC, "truncated", "input truncated"},
    {TAM_ETOOBIG, "too_big", "size exceeds limit"},
    {TAM_EDEPTH, "too_deep", "nesting too deep"},
    {TAM_ETYPE, "type", "wrong type"},
    {TAM_EMISSING, "missing", "required field missing"},
    {TAM_EUNKNOWN, "unknown", "unknown type, field or code"},
    {TAM_ERANGE, "range", "value out of range"},
    {TAM_ENOTFOUND, "not_found", "not found"},
    {TAM_EEXISTS, "exists", "already exists"},
    {TAM_ESTORE, "store", "storage error"},
    {TAM_EMAPFULL, "map_full", "storage full"},
    {TAM_EFATAL, "fatal", "fatal error"},
    {TAM_ETIMEOUT, "timeout", "timed out"},
    {TAM_EUNAVAIL, "unavailable", "service unavailable"},
    {TAM_ECONFIG, "config", "bad configuration"},
    {TAM_EIO, "io", "input/output error"},
    {TAM_ESTATE, "state", "not allowed in the current state"},
    {TAM_EDENIED, "denied", "permission denied"},
    {TAM_ECONFLICT, "conflict", "conflicts with existing data"},
    {TAM_EPROTO, "protocol", "protocol error"},
    {TAM_EINTERNAL, "internal", "internal error"},
    {TAM_ESUPERSEDED, "superseded", "superseded by a later revision"},
    {TAM_EEXPIRED, "expired", "request id older than the duplicate table keeps"},
    {TAM_EDISKFULL, "disk_full", "storage full; resend later"},
};

#define S_NERR (sizeof s_errors / sizeof s_errors[0])

const char *tam_strerror(int code)
{
    for (size_t i = 0; i < S_NERR; i++)
        if (s_errors[i].code == code)
            return s_errors[i].text;
    return "unknown error";
}

const char *tam_errname(int code)
{
    for (size_t i = 0; i < S_NERR; i++)
        if (s_errors[i].code == code)
            return s_errors[i].name;
    return "internal";
}

int tam_errcode(const char *name)
{
    for (size_t i = 0; i < S_NERR; i++)
        if (strcmp(s_errors[i].name, name) == 0)
            return s_errors[i].code;
    return TAM_EINTERNAL;
}

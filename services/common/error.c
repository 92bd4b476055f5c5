/* error.c — texts and wire names of the tamatch error codes. */
#include <stddef.h>
#include <string.h>
#include "tam/error.h"

/* The one table of error codes: RPC.md's code table is generated from it
 * (tam-protodoc --errors; ctest gen.rpc_error_table_current). */
static const struct {
    int code;
    const char *name;
    const char *text;
    const char *doc; /* meaning on the wire; NULL: never sent */
} s_errors[] = {
    {TAM_OK, "ok", "success", NULL},
    {TAM_EINVAL, "invalid", "invalid value", "a field failed validation"},
    {TAM_EMISSING, "missing", "required field missing", "a required field is absent"},
    {TAM_ETYPE, "type", "wrong type", "a value has the wrong type"},
    {TAM_ERANGE, "range", "value out of range", "a number or date out of range"},
    {TAM_ETOOBIG, "too_big", "size exceeds limit", "a size, length or count over its cap"},
    {TAM_EDEPTH, "too_deep", "nesting too deep", "nesting deeper than the cap"},
    {TAM_ETRUNC, "truncated", "input truncated", "data ends before what it declares"},
    {TAM_EPROTO, "protocol", "protocol error", "framing, envelope or version problem"},
    {TAM_EUNKNOWN, "unknown", "unknown type, field or code",
     "unknown message type (field `envelope.type`), field or code"},
    {TAM_ENOTFOUND, "not_found", "not found", "no such record"},
    {TAM_EEXISTS, "exists", "already exists", "record already exists"},
    {TAM_ECONFLICT, "conflict", "conflicts with existing data",
     "conflicts with existing data (e.g. amount over budget, or a stale `if_version`)"},
    {TAM_ESTATE, "state", "not allowed in the current state",
     "not allowed in the record's current state"},
    {TAM_EDENIED, "denied", "permission denied", "the principal may not do this"},
    {TAM_EMAPFULL, "map_full", "storage full",
     "the service's storage is full: nothing was written, resend later"},
    {TAM_ESTORE, "store", "storage error",
     "the service could not store the request: nothing was written, resend later"},
    {TAM_ENOMEM, "nomem", "out of memory",
     "the service ran out of memory for this request: nothing was written, resend later"},
    {TAM_EUNAVAIL, "unavailable", "service unavailable",
     "(client side only) no connection could be made"},
    {TAM_ETIMEOUT, "timeout", "timed out", "(client side only) connected, but no answer"},
    {TAM_EINTERNAL, "internal", "internal error", "a bug in the service"},
    {TAM_ESUPERSEDED, "superseded", "superseded by a later revision",
     "what was sent is an older revision than one already stored (e.g. `ingest.submit` of a "
     "reply whose content a later revision replaced): nothing stored. Also the answer to a "
     "resend of a request id whose stored answer describes such a revision"},
    {TAM_EDISKFULL, "disk_full", "storage full; resend later",
     "the service's disk is full: nothing was written, resend later (reads are still "
     "answered; tamctl exits 75)"},
    {TAM_EEXPIRED, "expired", "request id older than the duplicate table keeps",
     "a dated request id older than `request_retention` whose stored answer was pruned "
     "(section 3): not applied"},
    {TAM_EFATAL, "fatal", "fatal error", NULL},
    {TAM_ECONFIG, "config", "bad configuration", NULL},
    {TAM_EIO, "io", "input/output error", NULL},
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

size_t tam_errors(size_t i, const char **name, const char **doc)
{
    size_t n = 0;
    for (size_t k = 0; k < S_NERR; k++) {
        if (!s_errors[k].doc)
            continue;
        if (n++ == i) {
            *name = s_errors[k].name;
            *doc = s_errors[k].doc;
            return 1;
        }
    }
    return 0;
}

/* tam/error.h — error codes shared by every tamatch library call and the wire.
 *
 * Every function returns 0 on success or one of the negative codes below.
 * Each code has a stable wire name (tam_errname) used in error answers, and a
 * human text (tam_strerror). Codes are never renumbered; new ones are added
 * at the end.
 */
#ifndef TAM_ERROR_H
#define TAM_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TAM_OK = 0,
    TAM_ENOMEM = -1,       /* out of memory */
    TAM_EINVAL = -2,       /* invalid argument or value (a field failed validation) */
    TAM_ETRUNC = -3,       /* input ends before the data it declares */
    TAM_ETOOBIG = -4,      /* a size, length or count exceeds its cap */
    TAM_EDEPTH = -5,       /* nesting deeper than the cap */
    TAM_ETYPE = -6,        /* a value has the wrong type */
    TAM_EMISSING = -7,     /* a required field is absent */
    TAM_EUNKNOWN = -8,     /* unknown message type, field, or code */
    TAM_ERANGE = -9,       /* a number or date outside its allowed range */
    TAM_ENOTFOUND = -10,   /* no such record */
    TAM_EEXISTS = -11,     /* record already exists */
    TAM_ESTORE = -12,      /* storage error (LMDB) */
    TAM_EMAPFULL = -13,    /* storage map full and cannot grow further */
    TAM_EFATAL = -14,      /* unrecoverable: the process must stop */
    TAM_ETIMEOUT = -15,    /* no answer within the timeout */
    TAM_EUNAVAIL = -16,    /* service not reachable */
    TAM_ECONFIG = -17,     /* bad configuration */
    TAM_EIO = -18,         /* file or socket I/O error */
    TAM_ESTATE = -19,      /* operation not allowed in the current state */
    TAM_EDENIED = -20,     /* the principal may not do this */
    TAM_ECONFLICT = -21,   /* conflicts with existing data (e.g. amount over budget) */
    TAM_EPROTO = -22,      /* protocol violation (bad envelope, version, frames) */
    TAM_EINTERNAL = -23,   /* a bug: an invariant of ours did not hold */
    TAM_ESUPERSEDED = -24, /* a later revision already replaced what was sent: nothing stored */
    TAM_EEXPIRED = -25,    /* a dated request id older than the duplicate table keeps: not applied */
    TAM_EDISKFULL = -26,   /* the disk is full: nothing was written, resend later */
    TAM_ERR_MIN = -26
};

/* Human-readable text for an error code; never NULL. */
const char *tam_strerror(int code);

/* Stable short wire name ("invalid", "truncated", ...); never NULL.
 * Unknown codes map to "internal". */
const char *tam_errname(int code);

/* Inverse of tam_errname; returns TAM_EINTERNAL for an unknown name. */
int tam_errcode(const char *name);

/* The i-th code that may appear in an error answer, in the order of RPC.md's
 * table: sets its wire name and its meaning. Returns 1, or 0 past the last. */
size_t tam_errors(size_t i, const char **name, const char **doc);

#ifdef __cplusplus
}
#endif
#endif

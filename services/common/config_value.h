/* config_value.h — internal to config.c and config_value.c: parsing and
 * formatting one configuration value of a given type. Not installed. */
#ifndef TAM_CONFIG_VALUE_H
#define TAM_CONFIG_VALUE_H
#include <stddef.h>
#include <stdint.h>
#include "tam/config.h"

/* Longest part of a bad value quoted back in an error message. */
#define TAM__CONFIG_ECHO_MAX 48

/* Parses text as the value of key k into out (k->size bytes; STR/EP fields
 * are zero-filled past the string), range-checked.
 * Returns 0, or TAM_ECONFIG with the reason, without the key's name, in msg. */
int tam__config_parse(const tam_config_key_t *k, const char *text, void *out, char *msg,
                      size_t msglen);

/* Formats a field of key k in canonical INI form (what tam__config_parse
 * reads back to the same value). Returns 0 or TAM_ETRUNC. */
int tam__config_format(const tam_config_key_t *k, const void *field, char *buf, size_t len);

/* Formats a range bound of key k: i for INT/SIZE/MS, d for REAL. */
void tam__config_format_bound(const tam_config_key_t *k, int64_t i, double d, char *buf, size_t len);

/* Formats a byte count with the largest exact K/M/G/T suffix. */
void tam__config_format_size(char *buf, size_t len, uint64_t v);

/* Copies value for an error message: at most TAM__CONFIG_ECHO_MAX bytes and
 * "...", control bytes replaced by '?'. out needs TAM__CONFIG_ECHO_MAX + 8. */
void tam__config_echo(char *out, size_t len, const char *value);

#endif

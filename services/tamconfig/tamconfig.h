/* tam-config's parts. */
#ifndef TAMCONFIG_H
#define TAMCONFIG_H
#include <stdio.h>
#include <string.h>

/* Writes the key list of tamatch.ini(5) as scdoc. Returns 0, -1 on a write error. */
int tam_config_write_man(FILE *f);

#endif

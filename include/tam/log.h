/* tam/log.h — one-line log records on stderr with a syslog priority prefix
 * ("<6>tam-ingest: ..."), so journald and any supervisor read them.
 *
 * Replies are official government data: log ids and counts, never contents.
 */
#ifndef TAM_LOG_H
#define TAM_LOG_H
#include <syslog.h>

/* Sets the program name shown in every record and the lowest priority logged
 * (LOG_DEBUG..LOG_EMERG; default LOG_INFO). */
void tam_log_init(const char *program, int max_priority);

/* Parses "debug", "info", "notice", "warning", "err"; returns -1 if unknown. */
int tam_log_level_parse(const char *name);

/* Writes one record if priority <= the configured level. Never fails. */
void tam_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tam_debug(...) tam_log(LOG_DEBUG, __VA_ARGS__)
#define tam_info(...) tam_log(LOG_INFO, __VA_ARGS__)
#define tam_notice(...) tam_log(LOG_NOTICE, __VA_ARGS__)
#define tam_warn(...) tam_log(LOG_WARNING, __VA_ARGS__)
#define tam_error(...) tam_log(LOG_ERR, __VA_ARGS__)
#define tam_crit(...) tam_log(LOG_CRIT, __VA_ARGS__)

#endif

/* log.c — stderr logging with syslog priority prefixes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tam/log.h"

static char s_program[64] = "tam";
static int s_level = LOG_INFO;

void tam_log_init(const char *program, int max_priority)
{
    snprintf(s_program, sizeof s_program, "%s", program ? program : "tam");
    if (max_priority >= LOG_EMERG && max_priority <= LOG_DEBUG)
        s_level = max_priority;
}

int tam_log_level_parse(const char *name)
{
    static const char *names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    for (int i = 0; i < 8; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    if (strcmp(name, "error") == 0)
        return LOG_ERR;
    if (strcmp(name, "warn") == 0)
        return LOG_WARNING;
    return -1;
}

void tam_log(int priority, const char *fmt, ...)
{
    if (priority > s_level)
        return;
    char line[1024];
    int n = snprintf(line, sizeof line, "<%d>%s: ", priority, s_program);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per record keeps records whole when several processes share stderr. */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = 0;
    } else {
        line[sizeof line - 2] = '\n';
    }
    fputs(line, stderr);
}

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int log_max_level = LOG_INFO;

void log_msg(int prio, const char *fmt, ...) {
        char line[2048];
        va_list ap;
        int n;

        if (prio > log_max_level)
                return;
        n = snprintf(line, sizeof line, "<%d>", prio);
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (n > (int)sizeof line - 2)
                n = (int)sizeof line - 2;
        line[n++] = '\n';
        (void)!write(STDERR_FILENO, line, (size_t)n);
}

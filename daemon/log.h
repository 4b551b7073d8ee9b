/* lmctld's log: one line per event on stderr, with a priority prefix that
 * journald understands (sd-daemon's <N> convention). */
#pragma once

#include <syslog.h>

extern int log_max_level;

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

/* Logs and returns R (a negative errno), in one step. */
#define log_error_errno(r, fmt, ...) ({ log_msg(LOG_ERR, fmt ": %s", ##__VA_ARGS__, strerror(-(r))); (r); })

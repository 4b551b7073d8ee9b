/* lmctld's log. Under systemd (stderr connected to the journal, as
 * $JOURNAL_STREAM says) each message goes to the journal with structured
 * fields: PRIORITY, and while a request is being served, LMCT_VERB,
 * LMCT_CONTAINER, LMCT_CALLER_UID and LMCT_CALLER_PID, so that
 *   journalctl -u lmctld LMCT_CONTAINER=containerA
 * finds what happened to a container. Otherwise one line per message on
 * stderr, with sd-daemon's <N> priority prefix. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

extern int log_max_level;

/* The request being served, attached to what is logged meanwhile. */
typedef struct log_context {
        const char *verb;
        const char *container;  /* NULL if the request names none */
        pid_t pid;
        uid_t uid;
} log_context;

/* Chooses the journal or stderr; call once at start. */
void log_open(void);
bool log_to_journal(void);
/* Sets (or with NULL clears) the request context. */
void log_set_context(const log_context *ctx);
/* The request being served, or NULL. */
const log_context *log_get_context(void);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

/* Logs and returns R (a negative errno), in one step. */
#define log_error_errno(r, fmt, ...) ({ log_msg(LOG_ERR, fmt ": %s", ##__VA_ARGS__, strerror(-(r))); (r); })

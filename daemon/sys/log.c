#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

int log_max_level = LOG_INFO;
static bool journal;
static const log_context *context;

/* Whether stderr is the journal's stream (systemd sets JOURNAL_STREAM to
 * its device and inode), as sd_journal_stream_fd's documentation says. */
void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                  (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool log_to_journal(void) { return journal; }

void log_set_context(const log_context *ctx) { context = ctx; }
const log_context *log_get_context(void) { return context; }

static void to_journal(int prio, const char *msg) {
        char f[6][2100];
        struct iovec iov[6];
        size_t n = 0;

#define FIELD(...) do { \
                int l_ = snprintf(f[n], sizeof f[n], __VA_ARGS__); \
                iov[n] = (struct iovec){ f[n], (size_t)(l_ < (int)sizeof f[n] ? l_ : (int)sizeof f[n] - 1) }; \
                n++; \
        } while (0)
        FIELD("MESSAGE=%s", msg);
        FIELD("PRIORITY=%d", prio);
        if (context) {
                FIELD("LMCT_VERB=%s", context->verb);
                if (context->container && context->container[0])
                        FIELD("LMCT_CONTAINER=%s", context->container);
                FIELD("LMCT_CALLER_UID=%u", (unsigned)context->uid);
                FIELD("LMCT_CALLER_PID=%d", (int)context->pid);
        }
#undef FIELD
        if (sd_journal_sendv(iov, (int)n) < 0) {
                /* The journal went away: fall back to plain lines. */
                journal = false;
                log_msg(prio, "%s", msg);
        }
}

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
        if (journal) {
                line[n] = '\0';
                to_journal(prio, line + 3); /* without "<N>" */
                return;
        }
        line[n++] = '\n';
        (void)!write(STDERR_FILENO, line, (size_t)n);
}

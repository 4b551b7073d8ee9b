#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "lmct-name.h"
#include "log.h"
#include "util.h"

#define INTENT_MAX 24576

static const char *const xattr_names[] = { "trusted.lmct.intent", "user.lmct.intent" };
static const char *const owner_names[] = { "trusted.lmct.owner", "user.lmct.owner" };
static const char *const label_names[] = { "trusted.lmct.labels", "user.lmct.labels" };
static const char *const device_names[] = { "trusted.lmct.devices", "user.lmct.devices" };

int journal_begin(manager *m, const char *verb, const char *name, const limit_plan *old, const char *old_labels,
                  const char *old_devices) {
        char buf[INTENT_MAX];
        int n;

        if (!m->intent_xattr)
                return 0;
        n = snprintf(buf, sizeof buf, "%s %s\n", verb, name);
        /* Newest write first: recovery restores in the reverse order of the
         * writes, as a rollback does (cpu.max and cpu.max.burst, say, each
         * bound the other). */
        for (size_t i = old ? old->n : 0; i-- > 0 && n < (int)sizeof buf;) {
                const char *v = old->w[i].old;
                if (!v[0])
                        continue; /* unreadable: nothing to restore */
                if (v[0] == '\n')
                        v = "";
                /* First line only: io.weight's per-device lines are not lmct's. */
                n += snprintf(buf + n, sizeof buf - (size_t)n, "%s=%.*s\n", old->w[i].file, (int)strcspn(v, "\n"),
                              v);
        }
        /* One line each: newlines become tabs (no label or rule holds one). */
        for (int k = 0; k < 2; k++) {
                const char *text = k ? old_devices : old_labels;
                if (!text || n >= (int)sizeof buf)
                        continue;
                n += snprintf(buf + n, sizeof buf - (size_t)n, "%s=", k ? "devices" : "labels");
                for (const char *p = text; *p && n < (int)sizeof buf - 1; p++)
                        buf[n++] = *p == '\n' ? '\t' : *p;
                if (n < (int)sizeof buf - 1)
                        buf[n++] = '\n';
                else
                        n = (int)sizeof buf;
        }
        if (n >= (int)sizeof buf)
                return -E2BIG;
        if (fsetxattr(m->rootfd, m->intent_xattr, buf, (size_t)n, 0) < 0)
                return log_error_errno(negerrno(), "cannot record the intent to %s %s", verb, name);
        return 0;
}

void journal_end(manager *m) {
        if (m->intent_xattr && fremovexattr(m->rootfd, m->intent_xattr) < 0 && errno != ENODATA)
                log_error("cannot remove the intent record %s: %m", m->intent_xattr);
}

/* Removes NAME (relative to the root) and everything below it. */
static int remove_tree(manager *m, const char *name) {
        char parent[LMCT_NAME_MAX + 1], failed[NAME_MAX + 1];
        const char *last = lmct_name_last(name);
        _cleanup_close_ int pfd = -1;
        int r;

        snprintf(parent, sizeof parent, "%.*s", last == name ? 0 : (int)(last - 1 - name), name);
        pfd = cg_open(m->rootfd, parent);
        if (pfd < 0)
                return pfd == -ENOENT ? 0 : pfd;
        r = cg_rmtree(pfd, last, failed, sizeof failed);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                log_error("cannot remove %s (cgroup %s): %s", name, failed, strerror(-r));
        return r;
}

/* A record found in xattr_names[NS]: the labels are in label_names[NS]. */
static int resolve(manager *m, char *rec, size_t ns) {
        char *nl = strchr(rec, '\n'), *name, *line;
        int r;

        if (!nl)
                return -EBADMSG;
        *nl = '\0';
        name = strchr(rec, ' ');
        if (!name)
                return -EBADMSG;
        *name++ = '\0';
        if (lmct_name_check(name, strlen(name), m->max_depth, false, NULL, NULL, 0) < 0 ||
            lmct_name_last(name) == NULL)
                return -EBADMSG;
        if (strcmp(rec, "create") == 0 || strcmp(rec, "destroy") == 0) {
                r = remove_tree(m, name);
                if (r == 0)
                        log_notice("%s %s was interrupted by the previous lmctld: %s", rec, name,
                                   rec[0] == 'c' ? "undone" : "finished");
                return r;
        }
        if (strcmp(rec, "update") == 0) {
                _cleanup_close_ int fd = cg_open(m->rootfd, name);
                if (fd == -ENOENT)
                        return 0;
                if (fd < 0)
                        return fd;
                for (line = nl + 1; *line;) {
                        char *end = strchr(line, '\n'), *eq = strchr(line, '=');
                        if (!end || !eq || eq > end)
                                return -EBADMSG;
                        *end = *eq = '\0';
                        if (strcmp(line, "labels") == 0 || strcmp(line, "devices") == 0) {
                                const char *attr = line[0] == 'l' ? label_names[ns] : device_names[ns];
                                for (char *p = eq + 1; *p; p++)
                                        if (*p == '\t')
                                                *p = '\n';
                                /* Device rules: their program follows the record at adoption. */
                                r = eq[1] ? fsetxattr(fd, attr, eq + 1, strlen(eq + 1), 0) : fremovexattr(fd, attr);
                                if (r < 0 && errno != ENODATA)
                                        log_error("%s: cannot restore its %s: %m", name, line);
                                line = end + 1;
                                continue;
                        }
                        if (!climits_file(line))
                                return -EBADMSG;
                        r = cg_write(fd, line, eq[1] ? eq + 1 : "\n");
                        if (r < 0 && r != -ENOENT)
                                log_error("%s: cannot restore %s = %s: %s", name, line, eq + 1, strerror(-r));
                        line = end + 1;
                }
                log_notice("update %s was interrupted by the previous lmctld: undone", name);
                return 0;
        }
        return -EBADMSG;
}

void journal_recover(manager *m) {
        int r;

        for (size_t i = 0; i < ELEMENTSOF(xattr_names); i++) {
                char rec[INTENT_MAX + 1];
                ssize_t n = fgetxattr(m->rootfd, xattr_names[i], rec, sizeof rec - 1);
                if (n < 0)
                        continue;
                rec[n] = '\0';
                r = resolve(m, rec, i);
                if (r == -EBADMSG)
                        log_error("ignoring a malformed intent record in %s", xattr_names[i]);
                /* Otherwise a failure was logged; what is left is adopted as it is. */
                (void)fremovexattr(m->rootfd, xattr_names[i]);
        }
        /* Which namespace this daemon may write: trusted.* needs CAP_SYS_ADMIN. */
        for (size_t i = 0; i < ELEMENTSOF(xattr_names); i++)
                if (fsetxattr(m->rootfd, xattr_names[i], "", 0, 0) == 0) {
                        (void)fremovexattr(m->rootfd, xattr_names[i]);
                        m->intent_xattr = xattr_names[i];
                        m->owner_xattr = owner_names[i];
                        m->labels_xattr = label_names[i];
                        /* Device rules are kept in trusted.* only: a user.*
                         * record could be rewritten by a tenant who owns the
                         * directory, and lmctld would load it at its next start. */
                        m->devices_xattr = i == 0 ? device_names[i] : NULL;
                        return;
                }
        log_warning("%s takes no extended attributes (%m): a crash in the middle of a create, update or "
                    "destroy may leave it half done", m->root_path);
}

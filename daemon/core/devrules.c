#include "devrules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bpfdev.h"
#include "cleanup.h"
#include "lmct-limits.h"
#include "log.h"
#include "util.h"

/* The rules of a record, parsed; ALLOW[i] for RULES[i]. */
typedef struct parsed {
        lmct_device_rule rules[LMCT_DEVICE_RULES_MAX];
        int allow[LMCT_DEVICE_RULES_MAX];
        size_t n;
} parsed;

static int parse_record(const char *text, parsed *p) {
        p->n = 0;
        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                char buf[64];
                const char *rule;

                if (len >= sizeof buf || p->n == LMCT_DEVICE_RULES_MAX)
                        return -EBADMSG;
                memcpy(buf, line, len);
                buf[len] = '\0';
                line = nl ? nl + 1 : line + len;
                if (strncmp(buf, "tag ", 4) == 0)
                        continue; /* the program's tag (devrules_adopt) */
                if (strncmp(buf, "allow ", 6) == 0)
                        p->allow[p->n] = 1, rule = buf + 6;
                else if (strncmp(buf, "deny ", 5) == 0)
                        p->allow[p->n] = 0, rule = buf + 5;
                else
                        return -EBADMSG;
                if (lmct_parse_device_rule(rule, &p->rules[p->n]) < 0)
                        return -EBADMSG;
                p->n++;
        }
        return 0;
}

/* The kernel's tag of the program a record was made with ("tag HEX16"). */
static bool record_tag(const char *text, uint8_t tag[8]) {
        const char *t = strncmp(text, "tag ", 4) == 0 ? text + 4 : NULL;

        for (int i = 0; t && i < 8; i++) {
                unsigned v;
                if (sscanf(t + 2 * i, "%2x", &v) != 1)
                        return false;
                tag[i] = (uint8_t)v;
        }
        return t != NULL;
}

void devrules_read_record(const manager *m, int fd, char *buf, size_t len) {
        ssize_t n = m->devices_xattr ? fgetxattr(fd, m->devices_xattr, buf, len - 1) : -1;

        buf[n > 0 ? n : 0] = '\0';
}

int devrules_write_record(const manager *m, int fd, const char *record) {
        if (!m->devices_xattr)
                return -EOPNOTSUPP;
        if (!record[0])
                return fremovexattr(fd, m->devices_xattr) < 0 && errno != ENODATA ? negerrno() : 0;
        return fsetxattr(fd, m->devices_xattr, record, strlen(record), 0) < 0 ? negerrno() : 0;
}

static int load(const parsed *p, int *fd, status *st) {
        char log[512];
        int r = bpfdev_load(p->rules, p->allow, p->n, fd, log, sizeof log);

        if (r == -EPERM)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                               "devices: lmctld may not load BPF programs (it needs CAP_BPF and CAP_SYS_ADMIN)");
        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "devices: the kernel refused the device program: %s%s%.*s",
                               strerror(-r), log[0] ? ": " : "", (int)strcspn(log, "\n"), log);
        return 0;
}

int devrules_prepare(manager *m, const Lmct__V1__Limits *l, devrules_op *op, status *st) {
        parsed *p;
        size_t len = 0;
        int r;

        op->change = false;
        op->progfd = -1;
        op->record[0] = op->old[0] = '\0';
        if (!l || !l->devices)
                return 0;
        op->change = true;
        if (!m->devices_xattr)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EOPNOTSUPP,
                               "cannot keep device rules: lmctld may not write trusted.* extended attributes "
                               "on %s (it needs CAP_SYS_ADMIN, as loading the program does)", m->root_path);
        if (l->devices->n_rules > LMCT_DEVICE_RULES_MAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG, "devices: more than %d rules",
                               LMCT_DEVICE_RULES_MAX);
        p = malloc(sizeof *p);
        if (!p)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        p->n = 0;
        for (size_t i = 0; i < l->devices->n_rules; i++) {
                const Lmct__V1__DeviceRule *d = l->devices->rules[i];
                lmct_device_rule *dr = &p->rules[i];
                char text[48];

                dr->type = !d->type || strcmp(d->type, "a") == 0 ? 'a'
                           : strcmp(d->type, "c") == 0          ? 'c'
                           : strcmp(d->type, "b") == 0          ? 'b'
                                                                : 0;
                dr->major = d->has_major ? d->major : -1;
                dr->minor = d->has_minor ? d->minor : -1;
                dr->access = LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD;
                if (!dr->type || dr->major < -1 || dr->major > LMCT_DEV_MAJOR_MAX || dr->minor < -1 ||
                    dr->minor > LMCT_DEV_MINOR_MAX || (d->access && lmct_parse_device_access(d->access, &dr->access) < 0)) {
                        free(p);
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "devices: rule %zu is not a type (a, b, c), numbers (0..%d:0..%d, or any) "
                                       "and access (letters of rwm)", i + 1, LMCT_DEV_MAJOR_MAX, LMCT_DEV_MINOR_MAX);
                }
                p->allow[i] = d->has_allow && d->allow;
                p->n++;
                len += (size_t)snprintf(op->record + len, sizeof op->record - len, "%s %s\n",
                                        p->allow[i] ? "allow" : "deny", lmct_format_device_rule(dr, text, sizeof text));
        }
        r = p->n > 0 ? load(p, &op->progfd, st) : 0;
        free(p);
        if (r >= 0 && op->progfd >= 0) {
                /* The program's tag heads the record: at adoption, the
                 * attached program is recognized without loading another. */
                uint8_t tag[8];
                char head[32];
                size_t hl;
                if (bpfdev_tag(op->progfd, tag) == 0) {
                        hl = (size_t)snprintf(head, sizeof head, "tag %02x%02x%02x%02x%02x%02x%02x%02x\n", tag[0],
                                              tag[1], tag[2], tag[3], tag[4], tag[5], tag[6], tag[7]);
                        if (len + hl < sizeof op->record) {
                                memmove(op->record + hl, op->record, len + 1);
                                memcpy(op->record, head, hl);
                        }
                }
        }
        return r;
}

int devrules_apply(manager *m, devrules_op *op, int cgfd, const char *name, status *st) {
        int r;

        if (!op->change)
                return 0;
        devrules_read_record(m, cgfd, op->old, sizeof op->old);
        r = devrules_write_record(m, cgfd, op->record);
        if (r < 0)
                return st_fail(st, st_code_from_errno(r), r, "%s: cannot record its device rules: %s", name,
                               strerror(-r));
        r = bpfdev_replace(cgfd, op->progfd);
        if (r < 0) {
                if (devrules_write_record(m, cgfd, op->old) < 0)
                        log_error("%s: cannot put its device rules' record back", name);
                return st_fail(st, r == -EPERM ? LMCT__V1__CODE__FAILED_PRECONDITION : st_code_from_errno(r), r,
                               "%s: the kernel refused to attach its device program: %s%s", name, strerror(-r),
                               r == -EPERM ? " (an ancestor's program does not allow others below it)" : "");
        }
        return 0;
}

void devrules_done(devrules_op *op) {
        if (op->progfd >= 0)
                close(op->progfd);
        op->progfd = -1;
}

Lmct__V1__DeviceRule *devrules_rule_message(const lmct_device_rule *dr, bool allow) {
        Lmct__V1__DeviceRule *r = malloc(sizeof *r);
        char text[48];

        if (!r)
                return NULL;
        lmct__v1__device_rule__init(r);
        r->has_allow = true;
        r->allow = allow;
        r->type = strndup(&dr->type, 1);
        if (dr->major >= 0)
                r->has_major = true, r->major = dr->major;
        if (dr->minor >= 0)
                r->has_minor = true, r->minor = dr->minor;
        /* "c 1:3 rw": the access is its last word. */
        r->access = strdup(strrchr(lmct_format_device_rule(dr, text, sizeof text), ' ') + 1);
        if (!r->type || !r->access) {
                lmct__v1__device_rule__free_unpacked(r, NULL);
                return NULL;
        }
        return r;
}

int devrules_read(const manager *m, int fd, Lmct__V1__DeviceRules **ret) {
        _cleanup_free_ char *text = malloc(DEVRULES_TEXT_MAX);
        _cleanup_free_ parsed *p = malloc(sizeof *p);
        Lmct__V1__DeviceRules *d;

        *ret = NULL;
        if (!text || !p)
                return -ENOMEM;
        devrules_read_record(m, fd, text, DEVRULES_TEXT_MAX);
        if (!text[0] || parse_record(text, p) < 0)
                return 0;
        d = malloc(sizeof *d);
        if (!d)
                return -ENOMEM;
        lmct__v1__device_rules__init(d);
        d->rules = calloc(p->n ? p->n : 1, sizeof *d->rules);
        if (!d->rules) {
                free(d);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->n; i++) {
                Lmct__V1__DeviceRule *r = devrules_rule_message(&p->rules[i], p->allow[i]);
                if (!r)
                        break;
                d->rules[d->n_rules++] = r;
        }
        *ret = d;
        return 0;
}

void devrules_adopt(manager *m, int fd, const char *name) {
        _cleanup_free_ char *text = malloc(DEVRULES_TEXT_MAX);
        _cleanup_free_ parsed *p = malloc(sizeof *p);
        _cleanup_close_ int prog = -1;
        uint32_t ids[8];
        uint8_t want[8], have[8];
        size_t n = 0;
        status st = { 0 };
        bool tagged;
        int r;

        if (!text || !p || !m->devices_xattr)
                return;
        devrules_read_record(m, fd, text, DEVRULES_TEXT_MAX);
        if (bpfdev_query(fd, ids, ELEMENTSOF(ids), &n) < 0)
                return; /* no BPF here: nothing was attached either */
        if (!text[0]) {
                /* No rules recorded: a program left by an update that did not
                 * finish (its record was put back) goes. */
                if (n > 0 && bpfdev_replace(fd, -1) == 0)
                        log_notice("%s: %zu device program(s) without a record: detached", name, n);
                return;
        }
        if (parse_record(text, p) < 0) {
                log_error("%s: its device rules' record is malformed; the attached program stays as it is", name);
                return;
        }
        /* The common case costs a query and a tag: nothing is loaded. */
        tagged = record_tag(text, want);
        if (tagged && n == 1 && bpfdev_tag_by_id(ids[0], have) >= 0 && memcmp(want, have, sizeof want) == 0)
                return;
        if (p->n == 0 || load(p, &prog, &st) < 0 || bpfdev_tag(prog, want) < 0) {
                log_error("%s: cannot load its device program again: %s", name, st.msg);
                return;
        }
        if (n == 1 && bpfdev_tag_by_id(ids[0], have) >= 0 && memcmp(want, have, sizeof want) == 0)
                return; /* a record without its tag, and the right program */
        r = bpfdev_replace(fd, prog);
        if (r < 0)
                log_error("%s: cannot put its device program back: %s", name, strerror(-r));
        else
                log_notice("%s: its device program did not match its record (%zu attached): put back", name, n);
}

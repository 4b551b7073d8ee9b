#include "climits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cleanup.h"
#include "lmct-limits.h"
#include "util.h"

/* K_DESCENDANTS and K_DEPTH bound the tree below a container, in
 * containers: each container may hold one leaf (_self) for its processes,
 * so the kernel's cgroup count is 2N+1 for N containers and its depth D+1
 * for D levels. lmctld counts containers exactly; the kernel's bound is the
 * backstop. They need no controller. */
enum kind { K_BYTES, K_COUNT, K_WEIGHT, K_IO_WEIGHT, K_DESCENDANTS, K_DEPTH, K_BURST };
#define NO_CONTROLLER (-1)

/* The limits that map one field to one file. */
static const struct simple_limit {
        const char *what;
        const char *file;
        int controller;
        enum kind kind;
        size_t has_off, val_off;
} simple_limits[] = {
#define F(f) offsetof(Lmct__V1__Limits, has_##f), offsetof(Lmct__V1__Limits, f)
        { "cpu-weight", "cpu.weight", CG_CPU, K_WEIGHT, F(cpu_weight) },
        { "memory", "memory.max", CG_MEMORY, K_BYTES, F(memory_max) },
        { "memory-high", "memory.high", CG_MEMORY, K_BYTES, F(memory_high) },
        { "memory-low", "memory.low", CG_MEMORY, K_BYTES, F(memory_low) },
        { "memory-min", "memory.min", CG_MEMORY, K_BYTES, F(memory_min) },
        { "swap", "memory.swap.max", CG_MEMORY, K_BYTES, F(swap_max) },
        { "pids", "pids.max", CG_PIDS, K_COUNT, F(pids_max) },
        { "io-weight", "io.weight", CG_IO, K_IO_WEIGHT, F(io_weight) },
        { "max-descendants", "cgroup.max.descendants", NO_CONTROLLER, K_DESCENDANTS, F(max_descendants) },
        { "max-depth", "cgroup.max.depth", NO_CONTROLLER, K_DEPTH, F(max_depth) },
        { "cpu-burst", "cpu.max.burst", CG_CPU, K_BURST, F(cpu_burst_us) },
#undef F
};

/* The limits that are a switch: one bool field, one file holding 0 or 1. */
static const struct flag_limit {
        const char *what;
        const char *file;
        int controller;
        size_t has_off, val_off;
} flag_limits[] = {
#define F(f) offsetof(Lmct__V1__Limits, has_##f), offsetof(Lmct__V1__Limits, f)
        { "oom-group", "memory.oom.group", CG_MEMORY, F(oom_group) },
        { "cpu-idle", "cpu.idle", CG_CPU, F(cpu_idle) },
#undef F
};

/* The limits that are a list (cpuset.cpus, cpuset.mems): a string field,
 * "" removes. */
static const struct list_limit {
        const char *what;
        const char *file;
        const char *example;
        size_t off;
} list_limits[] = {
        { "cpuset", "cpuset.cpus", "a CPU list such as 0-3,6", offsetof(Lmct__V1__Limits, cpuset_cpus) },
        { "cpuset-mems", "cpuset.mems", "a memory node list such as 0-1", offsetof(Lmct__V1__Limits, cpuset_mems) },
};
#define LIST(l, s) (*(char *const *)((const char *)(l) + (s)->off))
#define LISTW(l, s) (*(char **)((char *)(l) + (s)->off))

#define HAS(l, s) (*(const protobuf_c_boolean *)((const char *)(l) + (s)->has_off))
#define VAL(l, s) (*(const uint64_t *)((const char *)(l) + (s)->val_off))
#define HASW(l, s) (*(protobuf_c_boolean *)((char *)(l) + (s)->has_off))
#define VALW(l, s) (*(uint64_t *)((char *)(l) + (s)->val_off))
#define FLAG(l, s) (*(const protobuf_c_boolean *)((const char *)(l) + (s)->val_off))
#define FLAGW(l, s) (*(protobuf_c_boolean *)((char *)(l) + (s)->val_off))

/* cpu.max, cpu.max.burst (before or after it), every other limit once,
 * two files per huge page size and per device: a plan never holds more
 * writes than that. */
_Static_assert(2 + ELEMENTSOF(list_limits) + ELEMENTSOF(flag_limits) + ELEMENTSOF(simple_limits) - 1 +
                               2 * LMCT_HUGETLB_MAX + 2 * LMCT_IO_DEVICES_MAX <=
                       CLIMITS_WRITES_MAX,
               "a limit plan can outgrow CLIMITS_WRITES_MAX");

/* hugetlb.<SIZE>.max or hugetlb.<SIZE>.rsvd.max, SIZE as the kernel names it. */
static bool hugetlb_file(const char *file, char *size, size_t len) {
        const char *p = file + strlen("hugetlb."), *end;
        uint64_t bytes;
        char name[16], canon[16];

        if (strncmp(file, "hugetlb.", 8) != 0)
                return false;
        end = strchr(p, '.');
        if (!end || (size_t)(end - p) >= sizeof name || (strcmp(end, ".max") != 0 && strcmp(end, ".rsvd.max") != 0))
                return false;
        snprintf(name, sizeof name, "%.*s", (int)(end - p), p);
        if (lmct_parse_page_size(name, &bytes) < 0 ||
            strcmp(name, lmct_format_page_size(bytes, canon, sizeof canon)) != 0)
                return false;
        if (size)
                snprintf(size, len, "%s", name);
        return true;
}

bool climits_file(const char *file) {
        if (strcmp(file, "cpu.max") == 0 || strcmp(file, "io.max") == 0 || hugetlb_file(file, NULL, 0))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(simple_limits); i++)
                if (strcmp(file, simple_limits[i].file) == 0)
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(flag_limits); i++)
                if (strcmp(file, flag_limits[i].file) == 0)
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(list_limits); i++)
                if (strcmp(file, list_limits[i].file) == 0)
                        return true;
        return false;
}

Lmct__V1__Limits *climits_new(void) {
        Lmct__V1__Limits *l = malloc(sizeof *l);

        if (l)
                lmct__v1__limits__init(l);
        return l;
}

static limit_write *add(limit_plan *p, const char *what, const char *file, int controller) {
        limit_write *w = &p->w[p->n++];

        memset(w, 0, sizeof *w);
        w->what = what;
        snprintf(w->file, sizeof w->file, "%s", file);
        w->controller = controller;
        if (controller != NO_CONTROLLER)
                p->mask |= CG_MASK(controller);
        return w;
}

static void fmt_u64(char *buf, size_t len, uint64_t v) {
        if (v == LMCT_MAX)
                snprintf(buf, len, "max");
        else
                snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* Current cpu.max of DIRFD as thousandths of a CPU and period. */
static int read_cpu_max(int dirfd, uint64_t *millis, uint64_t *period) {
        uint64_t q, p;
        int r = dirfd < 0 ? -EBADF : cg_read_cpu_max(dirfd, &q, &p);

        *millis = LMCT_MAX;
        *period = LMCT_CPU_PERIOD_DEFAULT;
        if (r < 0)
                return r;
        *period = p;
        if (q != UINT64_MAX)
                *millis = lmct_cpu_millis_from_quota(q, p);
        return 0;
}

/* cpu.max.burst, planned beside cpu.max: the kernel holds the burst to at
 * most the quota, so a burst going down is written before cpu.max, one
 * going up after. */
static int plan_burst(const Lmct__V1__Limits *l, int dirfd, limit_plan *p, bool before, status *st) {
        uint64_t cur = 0;

        if (!l->has_cpu_burst_us)
                return 0;
        if (l->cpu_burst_us > (UINT64_C(1) << 44) - 1)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ERANGE,
                               "cpu-burst %llu is too large (microseconds, at most the quota)",
                               (unsigned long long)l->cpu_burst_us);
        if (dirfd < 0 || cg_read_u64(dirfd, "cpu.max.burst", &cur) < 0)
                cur = 0;
        if ((l->cpu_burst_us < cur) != before)
                return 0;
        snprintf(add(p, "cpu-burst", "cpu.max.burst", CG_CPU)->value, sizeof p->w[0].value, "%llu",
                 (unsigned long long)l->cpu_burst_us);
        return 0;
}

static int plan_cpu(const Lmct__V1__Limits *l, int dirfd, limit_plan *p, status *st) {
        uint64_t millis, period, quota;
        limit_write *w;

        if (!l->has_cpu_millis && !l->has_cpu_period_us)
                return 0;
        (void)read_cpu_max(dirfd, &millis, &period);
        if (l->has_cpu_period_us) {
                if (l->cpu_period_us < LMCT_CPU_PERIOD_MIN || l->cpu_period_us > LMCT_CPU_PERIOD_MAX)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "cpu-period %llu is outside %u..%u microseconds",
                                       (unsigned long long)l->cpu_period_us, LMCT_CPU_PERIOD_MIN, LMCT_CPU_PERIOD_MAX);
                period = l->cpu_period_us;
        }
        if (l->has_cpu_millis) {
                if (l->cpu_millis == 0)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "cpu must be more than 0");
                millis = l->cpu_millis;
        }
        w = add(p, l->has_cpu_millis ? "cpu" : "cpu-period", "cpu.max", CG_CPU);
        if (millis == LMCT_MAX) {
                snprintf(w->value, sizeof w->value, "max %llu", (unsigned long long)period);
                return 0;
        }
        quota = lmct_cpu_quota_from_millis(millis, period);
        if (quota < LMCT_CPU_QUOTA_MIN) {
                char c[32];
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                               "cpu %s is a quota of %llu us per %llu us period, below the kernel's minimum of %u us",
                               lmct_format_cpu(millis, c, sizeof c), (unsigned long long)quota,
                               (unsigned long long)period, LMCT_CPU_QUOTA_MIN);
        }
        if (quota > (UINT64_C(1) << 44) - 1)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ERANGE, "cpu %llu.%03llu is too large",
                               (unsigned long long)(millis / 1000), (unsigned long long)(millis % 1000));
        snprintf(w->value, sizeof w->value, "%llu %llu", (unsigned long long)quota, (unsigned long long)period);
        return 0;
}

/* hugetlb.<SIZE>.max for each page size, and .rsvd.max beside it where
 * the kernel has it: with both, a mapping past the bound fails at mmap()
 * (ENOMEM) instead of killing the process at its first touch (SIGBUS). */
static int plan_hugetlb(const Lmct__V1__Limits *l, limit_plan *p, status *st) {
        if (l->n_hugetlb > LMCT_HUGETLB_MAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG, "hugetlb: more than %d page sizes",
                               LMCT_HUGETLB_MAX);
        for (size_t i = 0; i < l->n_hugetlb; i++) {
                const Lmct__V1__HugetlbLimit *h = l->hugetlb[i];
                char canon[16], file[40];
                uint64_t size;
                limit_write *w;

                if (!h->page_size || strlen(h->page_size) >= sizeof canon ||
                    lmct_parse_page_size(h->page_size, &size) < 0 ||
                    strcmp(h->page_size, lmct_format_page_size(size, canon, sizeof canon)) != 0)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "hugetlb: a page size is named as the kernel names it, such as 2MB or 1GB");
                for (size_t k = 0; k < i; k++)
                        if (strcmp(l->hugetlb[k]->page_size, h->page_size) == 0)
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                               "hugetlb %s: given twice", canon);
                if (!h->has_max)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "hugetlb %s: give a limit in bytes, or max", canon);
                if (h->max != LMCT_MAX && h->max % size != 0)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "hugetlb %s: %llu bytes is not a whole number of %s pages", canon,
                                       (unsigned long long)h->max, canon);
                snprintf(file, sizeof file, "hugetlb.%s.max", canon);
                fmt_u64(add(p, "hugetlb", file, CG_HUGETLB)->value, sizeof p->w[0].value, h->max);
                snprintf(file, sizeof file, "hugetlb.%s.rsvd.max", canon);
                w = add(p, "hugetlb", file, CG_HUGETLB);
                w->optional = true;
                fmt_u64(w->value, sizeof w->value, h->max);
        }
        return 0;
}

/* io.max and io.weight lines of single devices, keyed "MAJ:MIN". */
static int plan_io_devices(const Lmct__V1__Limits *l, limit_plan *p, status *st) {
        static const char *const bound_names[] = { "rbps", "wbps", "riops", "wiops" };

        if (l->n_io_devices > LMCT_IO_DEVICES_MAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG, "io-max: more than %d devices",
                               LMCT_IO_DEVICES_MAX);
        for (size_t i = 0; i < l->n_io_devices; i++) {
                const Lmct__V1__IoDeviceLimit *d = l->io_devices[i];
                const protobuf_c_boolean has[] = { d->has_rbps, d->has_wbps, d->has_riops, d->has_wiops };
                const uint64_t val[] = { d->rbps, d->wbps, d->riops, d->wiops };
                bool any = false;
                char key[24];
                limit_write *w;
                int n;

                if (!d->has_major || !d->has_minor || d->major > LMCT_DEV_MAJOR_MAX || d->minor > LMCT_DEV_MINOR_MAX)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "io-max: a device is given by its major (0..%d) and minor (0..%d) numbers",
                                       LMCT_DEV_MAJOR_MAX, LMCT_DEV_MINOR_MAX);
                snprintf(key, sizeof key, "%u:%u", d->major, d->minor);
                for (size_t k = 0; k < i; k++)
                        if (l->io_devices[k]->major == d->major && l->io_devices[k]->minor == d->minor)
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                               "io-max %s: given twice", key);
                for (size_t k = 0; k < ELEMENTSOF(has); k++) {
                        if (!has[k])
                                continue;
                        any = true;
                        if (val[k] == 0)
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ERANGE,
                                               "io-max %s: %s 0 would stop the device; give at least 1, or max",
                                               key, bound_names[k]);
                        if (k >= 2 && val[k] != LMCT_MAX && val[k] >= UINT32_MAX)
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ERANGE,
                                               "io-max %s: %s %llu is too large", key, bound_names[k],
                                               (unsigned long long)val[k]);
                }
                if (any) {
                        w = add(p, "io-max", "io.max", CG_IO);
                        snprintf(w->key, sizeof w->key, "%s", key);
                        n = snprintf(w->value, sizeof w->value, "%s", key);
                        for (size_t k = 0; k < ELEMENTSOF(has); k++)
                                if (has[k]) {
                                        char v[24];
                                        fmt_u64(v, sizeof v, val[k]);
                                        n += snprintf(w->value + n, sizeof w->value - (size_t)n, " %s=%s",
                                                      bound_names[k], v);
                                }
                }
                if (d->has_weight) {
                        if (d->weight != 0 && (d->weight < LMCT_WEIGHT_MIN || d->weight > LMCT_WEIGHT_MAX))
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ERANGE,
                                               "io-weight %s: %llu is outside %d..%d (0 removes it)", key,
                                               (unsigned long long)d->weight, LMCT_WEIGHT_MIN, LMCT_WEIGHT_MAX);
                        w = add(p, "io-weight", "io.weight", CG_IO);
                        snprintf(w->key, sizeof w->key, "%s", key);
                        if (d->weight)
                                snprintf(w->value, sizeof w->value, "%s %llu", key, (unsigned long long)d->weight);
                        else
                                snprintf(w->value, sizeof w->value, "%s default", key);
                        any = true;
                }
                if (!any)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "io-max %s: give a bound (rbps, wbps, riops, wiops) or a weight", key);
        }
        return 0;
}

int climits_plan(const Lmct__V1__Limits *l, int dirfd, limit_plan *p, status *st) {
        int r;

        memset(p, 0, sizeof *p);
        if (!l)
                return 0;
        /* The kernel takes no weight for an idle group (and resets it to
         * 100 when idleness ends): both at once cannot be applied whole. */
        if (l->has_cpu_idle && l->cpu_idle && l->has_cpu_weight)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                               "cpu-idle and cpu-weight: an idle container has no weight; give one or the other");
        /* A change of memory nodes makes the kernel migrate the memory of
         * the processes already there, and the write waits for it: lmctld
         * never waits on a tenant's memory. Nodes are set before anything
         * runs. */
        if (l->cpuset_mems && dirfd >= 0) {
                uint64_t populated = 0;
                char buf[256], cur[256];
                if (cg_read(dirfd, "cgroup.events", buf, sizeof buf) >= 0)
                        (void)cg_parse_key(buf, "populated", &populated);
                if (populated && (cg_read(dirfd, "cpuset.mems", cur, sizeof cur) < 0 ||
                                  strcmp(cur, l->cpuset_mems) != 0))
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY,
                                       "cpuset-mems: the container has processes, whose memory the kernel would "
                                       "migrate; set memory nodes before anything runs in it");
        }
        r = plan_burst(l, dirfd, p, true, st);
        if (r < 0)
                return r;
        r = plan_cpu(l, dirfd, p, st);
        if (r < 0)
                return r;
        r = plan_burst(l, dirfd, p, false, st);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(list_limits); i++) {
                const struct list_limit *s = &list_limits[i];
                const char *v = LIST(l, s);
                limit_write *w;

                if (!v)
                        continue;
                if (strlen(v) >= sizeof w->value || lmct_parse_cpuset(v) < 0)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "%s is not %s", s->what,
                                       s->example);
                w = add(p, s->what, s->file, CG_CPUSET);
                snprintf(w->value, sizeof w->value, "%s", v[0] ? v : "\n");
        }
        for (size_t i = 0; i < ELEMENTSOF(flag_limits); i++) {
                const struct flag_limit *s = &flag_limits[i];

                if (HAS(l, s))
                        snprintf(add(p, s->what, s->file, s->controller)->value, sizeof p->w[0].value, "%d",
                                 FLAG(l, s) ? 1 : 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(simple_limits); i++) {
                const struct simple_limit *s = &simple_limits[i];
                uint64_t v;
                limit_write *w;

                if (!HAS(l, s) || s->kind == K_BURST)
                        continue;
                v = VAL(l, s);
                if ((s->kind == K_WEIGHT || s->kind == K_IO_WEIGHT) && (v < LMCT_WEIGHT_MIN || v > LMCT_WEIGHT_MAX))
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ERANGE, "%s %llu is outside %d..%d",
                                       s->what, (unsigned long long)v, LMCT_WEIGHT_MIN, LMCT_WEIGHT_MAX);
                if ((s->kind == K_COUNT || s->kind == K_DESCENDANTS || s->kind == K_DEPTH) && v != LMCT_MAX &&
                    v > INT32_MAX / 4)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ERANGE, "%s %llu is too large",
                                       s->what, (unsigned long long)v);
                w = add(p, s->what, s->file, s->controller);
                if (s->kind == K_IO_WEIGHT)
                        snprintf(w->value, sizeof w->value, "default %llu", (unsigned long long)v);
                else if (s->kind == K_DESCENDANTS && v != LMCT_MAX)
                        fmt_u64(w->value, sizeof w->value, 2 * v + 1);
                else if (s->kind == K_DEPTH && v != LMCT_MAX)
                        fmt_u64(w->value, sizeof w->value, v + 1);
                else
                        fmt_u64(w->value, sizeof w->value, v);
        }
        r = plan_hugetlb(l, p, st);
        if (r < 0)
                return r;
        return plan_io_devices(l, p, st);
}

/* The line of BUF that begins with KEY and a space, or NULL. */
static const char *find_line(const char *buf, const char *key) {
        size_t kl = strlen(key);

        for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
                        return l;
        return NULL;
}

/* What KEY's line of FILE says when the device has none of its own. */
static void device_default(const limit_write *w, char *buf, size_t len) {
        if (strcmp(w->file, "io.max") == 0)
                snprintf(buf, len, "%s rbps=max wbps=max riops=max wiops=max", w->key);
        else
                snprintf(buf, len, "%s default", w->key);
}

void climits_save(limit_plan *p, int dirfd) {
        char buf[4096];

        for (size_t i = 0; i < p->n; i++) {
                limit_write *w = &p->w[i];
                ssize_t n = cg_read(dirfd, w->file, buf, sizeof buf);
                const char *line = buf;

                if (n < 0) {
                        w->old[0] = '\0';
                        continue;
                }
                if (n == 0) {
                        snprintf(w->old, sizeof w->old, "\n");
                        continue;
                }
                /* One line restores one value: the device's own, or the
                 * first (io.weight's default). */
                if (w->key[0] && !(line = find_line(buf, w->key))) {
                        device_default(w, w->old, sizeof w->old);
                        continue;
                }
                snprintf(w->old, sizeof w->old, "%.*s", (int)strcspn(line, "\n"), line);
        }
        p->saved = true;
}

int climits_apply(limit_plan *p, int dirfd, bool rollback, status *st) {
        if (rollback && !p->saved)
                climits_save(p, dirfd);
        for (size_t i = 0; i < p->n; i++) {
                limit_write *w = &p->w[i];
                int r;

                r = cg_write(dirfd, w->file, w->value);
                if (r == -ENOENT && w->optional)
                        continue; /* an older kernel: the bound without its reservation */
                if (r < 0) {
                        for (size_t k = i; rollback && k-- > 0;)
                                if (p->w[k].old[0])
                                        (void)cg_write(dirfd, p->w[k].file, p->w[k].old);
                        if (r == -ENOENT && w->controller == CG_HUGETLB)
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, r,
                                               "hugetlb: the kernel offers no such page size (%s does not exist; "
                                               "see /sys/kernel/mm/hugepages)", w->file);
                        if (r == -ENODEV && w->key[0])
                                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, r,
                                               "%s %s: no such disk (the kernel keys I/O limits by whole disks, "
                                               "not partitions)", w->what, w->key);
                        if (r == -EOPNOTSUPP && strcmp(w->file, "io.weight") == 0 && w->key[0])
                                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                               "io-weight %s: the device has no weight-based I/O control; enable "
                                               "it for the host with 'echo \"%s enable=1\" > "
                                               "/sys/fs/cgroup/io.cost.qos'", w->key, w->key);
                        if (r == -ENOENT)
                                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                               "%s: %s does not exist (controller %s not enabled, or a kernel without it)", w->what,
                                               w->file, w->controller >= 0 ? cg_controller_name(w->controller) : "core");
                        return st_fail(st, r == -EINVAL || r == -ERANGE ? LMCT__V1__CODE__INVALID_ARGUMENT
                                                                        : st_code_from_errno(r),
                                       r, "%s: the kernel refused %s = %s: %s", w->what, w->file,
                                       w->value[0] == '\n' ? "\"\"" : w->value, strerror(-r));
                }
                w->done = true;
        }
        return 0;
}

Lmct__V1__HugetlbLimit *climits_hugetlb_add(Lmct__V1__Limits *l, const char *size, uint64_t max) {
        Lmct__V1__HugetlbLimit **v = realloc(l->hugetlb, (l->n_hugetlb + 1) * sizeof *v), *h;

        if (!v)
                return NULL;
        l->hugetlb = v;
        h = malloc(sizeof *h);
        if (!h)
                return NULL;
        lmct__v1__hugetlb_limit__init(h);
        h->page_size = strdup(size);
        if (!h->page_size) {
                free(h);
                return NULL;
        }
        h->has_max = true;
        h->max = max;
        v[l->n_hugetlb++] = h;
        return h;
}

Lmct__V1__IoDeviceLimit *climits_io_device(Lmct__V1__Limits *l, uint32_t maj, uint32_t min) {
        Lmct__V1__IoDeviceLimit **v, *d;

        for (size_t i = 0; i < l->n_io_devices; i++)
                if (l->io_devices[i]->major == maj && l->io_devices[i]->minor == min)
                        return l->io_devices[i];
        v = realloc(l->io_devices, (l->n_io_devices + 1) * sizeof *v);
        if (!v)
                return NULL;
        l->io_devices = v;
        d = malloc(sizeof *d);
        if (!d)
                return NULL;
        lmct__v1__io_device_limit__init(d);
        d->has_major = d->has_minor = true;
        d->major = maj;
        d->minor = min;
        v[l->n_io_devices++] = d;
        return d;
}

/* The hugetlb.<SIZE>.max files of DIRFD, one entry per page size. */
static int read_hugetlb(int dirfd, Lmct__V1__Limits *l) {
        _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (fd < 0)
                return negerrno();
        d = fdopendir(fd);
        if (!d)
                return negerrno();
        fd = -1;
        while (r >= 0 && (de = readdir(d))) {
                char size[16];
                uint64_t v;
                if (!hugetlb_file(de->d_name, size, sizeof size) || strstr(de->d_name, ".rsvd.") ||
                    l->n_hugetlb >= 2 * LMCT_HUGETLB_MAX)
                        continue;
                if (cg_read_u64(dirfd, de->d_name, &v) >= 0 && !climits_hugetlb_add(l, size, v))
                        r = -ENOMEM;
        }
        closedir(d);
        return r;
}

/* io.max's device lines and io.weight's lines after "default". */
static int read_io_devices(int dirfd, Lmct__V1__Limits *l) {
        char buf[4096];

        if (cg_read(dirfd, "io.max", buf, sizeof buf) >= 0)
                for (char *line = buf, *next; line && *line; line = next) {
                        unsigned maj, min;
                        char rb[24], wb[24], ri[24], wi[24];
                        Lmct__V1__IoDeviceLimit *d;
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        if (sscanf(line, "%u:%u rbps=%23s wbps=%23s riops=%23s wiops=%23s", &maj, &min, rb, wb, ri,
                                   wi) != 6 ||
                            l->n_io_devices >= 4 * LMCT_IO_DEVICES_MAX)
                                continue;
                        if (!(d = climits_io_device(l, maj, min)))
                                return -ENOMEM;
                        d->has_rbps = lmct_parse_uint(rb, 0, UINT64_MAX - 1, 1, &d->rbps) >= 0;
                        d->has_wbps = lmct_parse_uint(wb, 0, UINT64_MAX - 1, 1, &d->wbps) >= 0;
                        d->has_riops = lmct_parse_uint(ri, 0, UINT64_MAX - 1, 1, &d->riops) >= 0;
                        d->has_wiops = lmct_parse_uint(wi, 0, UINT64_MAX - 1, 1, &d->wiops) >= 0;
                }
        if (cg_read(dirfd, "io.weight", buf, sizeof buf) >= 0)
                for (char *line = buf, *next; line && *line; line = next) {
                        unsigned maj, min;
                        unsigned long long w;
                        Lmct__V1__IoDeviceLimit *d;
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        if (sscanf(line, "%u:%u %llu", &maj, &min, &w) != 3 ||
                            l->n_io_devices >= 4 * LMCT_IO_DEVICES_MAX)
                                continue;
                        if (!(d = climits_io_device(l, maj, min)))
                                return -ENOMEM;
                        d->has_weight = true;
                        d->weight = w;
                }
        return 0;
}

void climits_undo(limit_plan *p, int dirfd) {
        for (size_t k = p->n; k-- > 0;)
                if (p->w[k].done && p->w[k].old[0])
                        (void)cg_write(dirfd, p->w[k].file, p->w[k].old);
}

int climits_read(int dirfd, Lmct__V1__Limits **ret) {
        Lmct__V1__Limits *l = climits_new();
        char buf[256];

        if (!l)
                return -ENOMEM;
        if (read_cpu_max(dirfd, &l->cpu_millis, &l->cpu_period_us) >= 0)
                l->has_cpu_millis = l->has_cpu_period_us = true;
        for (size_t i = 0; i < ELEMENTSOF(list_limits); i++)
                if (cg_read(dirfd, list_limits[i].file, buf, sizeof buf) >= 0)
                        LISTW(l, &list_limits[i]) = strdup(buf);
        for (size_t i = 0; i < ELEMENTSOF(flag_limits); i++) {
                const struct flag_limit *s = &flag_limits[i];
                uint64_t v;

                if (cg_read_u64(dirfd, s->file, &v) >= 0) {
                        HASW(l, s) = true;
                        FLAGW(l, s) = v != 0;
                }
        }
        /* An idle group's cpu.weight reads 0: it has none. */
        if (l->has_cpu_idle && l->cpu_idle)
                l->has_cpu_weight = false;
        for (size_t i = 0; i < ELEMENTSOF(simple_limits); i++) {
                const struct simple_limit *s = &simple_limits[i];
                uint64_t v;
                int r;

                if (s->kind == K_IO_WEIGHT)
                        r = cg_read_key(dirfd, s->file, "default", &v);
                else
                        r = cg_read_u64(dirfd, s->file, &v);
                if (r < 0)
                        continue;
                if (v != LMCT_MAX && s->kind == K_DESCENDANTS)
                        v = v > 0 ? (v - 1) / 2 : 0;
                else if (v != LMCT_MAX && s->kind == K_DEPTH)
                        v = v > 0 ? v - 1 : 0;
                HASW(l, s) = true;
                VALW(l, s) = v;
        }
        if (read_hugetlb(dirfd, l) < 0 || read_io_devices(dirfd, l) < 0) {
                lmct__v1__limits__free_unpacked(l, NULL);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}

void climits_tighten(Lmct__V1__Limits *eff, const Lmct__V1__Limits *anc) {
        if (anc->has_cpu_millis && (!eff->has_cpu_millis || anc->cpu_millis < eff->cpu_millis)) {
                eff->has_cpu_millis = true;
                eff->cpu_millis = anc->cpu_millis;
        }
        /* An OOM at an ancestor with oom-group on takes this container
         * whole too; an idle ancestor makes its whole subtree idle against
         * the ancestor's siblings. */
        for (size_t i = 0; i < ELEMENTSOF(flag_limits); i++) {
                const struct flag_limit *s = &flag_limits[i];
                if (HAS(anc, s) && FLAG(anc, s)) {
                        HASW(eff, s) = true;
                        FLAGW(eff, s) = true;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(simple_limits); i++) {
                const struct simple_limit *s = &simple_limits[i];
                if (s->kind != K_BYTES && s->kind != K_COUNT)
                        continue;
                if (HAS(anc, s) && (!HAS(eff, s) || VAL(anc, s) < VAL(eff, s))) {
                        HASW(eff, s) = true;
                        VALW(eff, s) = VAL(anc, s);
                }
        }
        /* Per page size and per device: the tighter bound (a weight is
         * relative to siblings, not a bound: not carried down). Out of
         * memory leaves EFF less tight, never wrong. */
        for (size_t i = 0; i < anc->n_hugetlb; i++) {
                const Lmct__V1__HugetlbLimit *a = anc->hugetlb[i];
                Lmct__V1__HugetlbLimit *e = NULL;
                if (!a->page_size || !a->has_max)
                        continue;
                for (size_t k = 0; k < eff->n_hugetlb && !e; k++)
                        if (strcmp(eff->hugetlb[k]->page_size, a->page_size) == 0)
                                e = eff->hugetlb[k];
                if (!e)
                        (void)climits_hugetlb_add(eff, a->page_size, a->max);
                else if (a->max < e->max)
                        e->max = a->max;
        }
        for (size_t i = 0; i < anc->n_io_devices; i++) {
                const Lmct__V1__IoDeviceLimit *a = anc->io_devices[i];
                Lmct__V1__IoDeviceLimit *e;
                if (!a->has_rbps && !a->has_wbps && !a->has_riops && !a->has_wiops)
                        continue;
                if (!(e = climits_io_device(eff, a->major, a->minor)))
                        continue;
#define TIGHTEN(f)                                                       \
        if (a->has_##f && (!e->has_##f || a->f < e->f)) {                \
                e->has_##f = true;                                       \
                e->f = a->f;                                             \
        }
                TIGHTEN(rbps)
                TIGHTEN(wbps)
                TIGHTEN(riops)
                TIGHTEN(wiops)
#undef TIGHTEN
        }
}

bool climits_any(const Lmct__V1__Limits *l) {
        if (!l)
                return false;
        if (l->has_cpu_millis || l->has_cpu_period_us)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(list_limits); i++)
                if (LIST(l, &list_limits[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(flag_limits); i++)
                if (HAS(l, &flag_limits[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(simple_limits); i++)
                if (HAS(l, &simple_limits[i]))
                        return true;
        return l->n_hugetlb > 0 || l->n_io_devices > 0 || l->devices;
}

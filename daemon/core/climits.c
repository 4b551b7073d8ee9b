#include "climits.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
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

/* cpu.max, cpu.max.burst (before or after it), then every other limit
 * once: a plan never holds more writes than that. */
_Static_assert(2 + ELEMENTSOF(list_limits) + ELEMENTSOF(flag_limits) + ELEMENTSOF(simple_limits) - 1 <=
                       CLIMITS_WRITES_MAX,
               "a limit plan can outgrow CLIMITS_WRITES_MAX");

bool climits_file(const char *file) {
        if (strcmp(file, "cpu.max") == 0)
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
        w->file = file;
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
        return 0;
}

void climits_save(limit_plan *p, int dirfd) {
        for (size_t i = 0; i < p->n; i++) {
                limit_write *w = &p->w[i];
                ssize_t n = cg_read(dirfd, w->file, w->old, sizeof w->old);
                if (n < 0)
                        w->old[0] = '\0';
                else if (n == 0)
                        snprintf(w->old, sizeof w->old, "\n");
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
                if (r < 0) {
                        for (size_t k = i; rollback && k-- > 0;)
                                if (p->w[k].old[0])
                                        (void)cg_write(dirfd, p->w[k].file, p->w[k].old);
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
        return false;
}

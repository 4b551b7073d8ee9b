#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lmctl.h"

enum {
        O_CPU = LIMIT_OPT_BASE,
        O_CPU_PERIOD,
        O_CPU_WEIGHT,
        O_CPUSET,
        O_MEMORY,
        O_MEMORY_HIGH,
        O_MEMORY_LOW,
        O_MEMORY_MIN,
        O_SWAP,
        O_PIDS,
        O_IO_WEIGHT,
        O_MAX_DESCENDANTS,
        O_MAX_DEPTH,
        O_CPU_IDLE,
        O_CPU_BURST,
        O_CPUSET_MEMS,
        O_OOM_GROUP,
        O_HUGETLB,
        O_IO_MAX,
        O_DEVICE_ALLOW,
        O_DEVICE_DENY,
        O_NO_DEVICE_RULES,
};

const struct option limit_options[] = {
        { "cpu", required_argument, NULL, O_CPU },
        { "cpu-period", required_argument, NULL, O_CPU_PERIOD },
        { "cpu-weight", required_argument, NULL, O_CPU_WEIGHT },
        { "cpuset", required_argument, NULL, O_CPUSET },
        { "memory", required_argument, NULL, O_MEMORY },
        { "memory-high", required_argument, NULL, O_MEMORY_HIGH },
        { "memory-low", required_argument, NULL, O_MEMORY_LOW },
        { "memory-min", required_argument, NULL, O_MEMORY_MIN },
        { "swap", required_argument, NULL, O_SWAP },
        { "pids", required_argument, NULL, O_PIDS },
        { "io-weight", required_argument, NULL, O_IO_WEIGHT },
        { "max-descendants", required_argument, NULL, O_MAX_DESCENDANTS },
        { "max-children", required_argument, NULL, O_MAX_DESCENDANTS },
        { "max-depth", required_argument, NULL, O_MAX_DEPTH },
        { "cpu-idle", optional_argument, NULL, O_CPU_IDLE },
        { "cpu-burst", required_argument, NULL, O_CPU_BURST },
        { "cpuset-mems", required_argument, NULL, O_CPUSET_MEMS },
        { "oom-group", optional_argument, NULL, O_OOM_GROUP },
        { "hugetlb", required_argument, NULL, O_HUGETLB },
        { "io-max", required_argument, NULL, O_IO_MAX },
        { "device-allow", required_argument, NULL, O_DEVICE_ALLOW },
        { "device-deny", required_argument, NULL, O_DEVICE_DENY },
        { "no-device-rules", no_argument, NULL, O_NO_DEVICE_RULES },
        {},
};

size_t limit_options_copy(struct option *to, size_t room) {
        size_t n = ELEMENTSOF(limit_options);

        if (n > room)
                abort(); /* a table too small for the options: a programming error */
        memcpy(to, limit_options, n * sizeof *to);
        return n;
}

#define SET(field, v) (l->has_##field = true, l->field = (v))

void limits_clear(Lmct__V1__Limits *l) {
        free(l->cpuset_cpus);
        free(l->cpuset_mems);
        for (size_t i = 0; i < l->n_hugetlb; i++) {
                free(l->hugetlb[i]->page_size);
                free(l->hugetlb[i]);
        }
        free(l->hugetlb);
        for (size_t i = 0; i < l->n_io_devices; i++)
                free(l->io_devices[i]);
        free(l->io_devices);
        if (l->devices) {
                for (size_t i = 0; i < l->devices->n_rules; i++) {
                        free(l->devices->rules[i]->type);
                        free(l->devices->rules[i]->access);
                        free(l->devices->rules[i]);
                }
                free(l->devices->rules);
                free(l->devices);
        }
        lmct__v1__limits__init(l);
}

/* --hugetlb SIZE=LIMIT: a page size ("2MB", "2M", "1G") and bytes or max. */
static int hugetlb_opt(ctx *c, const char *value, Lmct__V1__Limits *l) {
        const char *eq = strchr(value, '=');
        char size[32], canon[16];
        uint64_t bytes, max;
        Lmct__V1__HugetlbLimit **v, *h;

        if (!eq || (size_t)(eq - value) >= sizeof size)
                return usage_error(c, "--hugetlb '%s': give PAGESIZE=LIMIT, such as 2MB=64M or 1GB=max", value);
        snprintf(size, sizeof size, "%.*s", (int)(eq - value), value);
        if (lmct_parse_page_size(size, &bytes) < 0)
                return usage_error(c, "--hugetlb '%s': '%s' is not a huge page size (2MB, 1GB; see "
                                   "/sys/kernel/mm/hugepages)", value, size);
        if (lmct_parse_size(eq + 1, 1, &max) < 0)
                return usage_error(c, "--hugetlb '%s': give the limit as a size (64M, 2G) or max", value);
        lmct_format_page_size(bytes, canon, sizeof canon);
        if (max != LMCT_MAX && max % bytes != 0)
                return usage_error(c, "--hugetlb '%s': %s is not a whole number of %s pages", value, eq + 1, canon);
        for (size_t i = 0; i < l->n_hugetlb; i++)
                if (strcmp(l->hugetlb[i]->page_size, canon) == 0) {
                        l->hugetlb[i]->max = max;
                        return 0;
                }
        if (l->n_hugetlb == LMCT_HUGETLB_MAX)
                return usage_error(c, "--hugetlb: more than %d page sizes", LMCT_HUGETLB_MAX);
        v = realloc(l->hugetlb, (l->n_hugetlb + 1) * sizeof *v);
        if (!v)
                return usage_error(c, "out of memory");
        l->hugetlb = v;
        h = malloc(sizeof *h);
        if (h) {
                lmct__v1__hugetlb_limit__init(h);
                h->page_size = strdup(canon);
        }
        if (!h || !h->page_size) {
                free(h);
                return usage_error(c, "out of memory");
        }
        h->has_max = true;
        h->max = max;
        v[l->n_hugetlb++] = h;
        return 0;
}

/* A block device named by path (resolved here, as the caller) or MAJ:MIN,
 * to its entry in L. */
static int io_device_opt(ctx *c, const char *opt, const char *arg, const char *dev, Lmct__V1__Limits *l,
                         Lmct__V1__IoDeviceLimit **ret) {
        unsigned maj, min;
        char part[64], tail;
        Lmct__V1__IoDeviceLimit **v, *d;

        if (dev[0] == '/') {
                struct stat sb;
                if (stat(dev, &sb) < 0)
                        return usage_error(c, "--%s '%s': %s: %s", opt, arg, dev, strerror(errno));
                if (!S_ISBLK(sb.st_mode))
                        return usage_error(c, "--%s '%s': %s is not a block device", opt, arg, dev);
                maj = major(sb.st_rdev);
                min = minor(sb.st_rdev);
        } else if (sscanf(dev, "%u:%u%c", &maj, &min, &tail) != 2 || maj > LMCT_DEV_MAJOR_MAX ||
                   min > LMCT_DEV_MINOR_MAX || !strchr("0123456789", dev[0])) {
                return usage_error(c, "--%s '%s': give the device as a path (/dev/vda) or MAJOR:MINOR (254:0)",
                                   opt, arg);
        }
        /* The kernel keys these by whole disk: say so for a partition. */
        snprintf(part, sizeof part, "/sys/dev/block/%u:%u/partition", maj, min);
        if (access(part, F_OK) == 0)
                return usage_error(c, "--%s '%s': %u:%u is a partition; give its whole disk", opt, arg, maj, min);
        for (size_t i = 0; i < l->n_io_devices; i++)
                if (l->io_devices[i]->major == maj && l->io_devices[i]->minor == min) {
                        *ret = l->io_devices[i];
                        return 0;
                }
        if (l->n_io_devices == LMCT_IO_DEVICES_MAX)
                return usage_error(c, "--%s: more than %d devices", opt, LMCT_IO_DEVICES_MAX);
        v = realloc(l->io_devices, (l->n_io_devices + 1) * sizeof *v);
        if (!v)
                return usage_error(c, "out of memory");
        l->io_devices = v;
        d = malloc(sizeof *d);
        if (!d)
                return usage_error(c, "out of memory");
        lmct__v1__io_device_limit__init(d);
        d->has_major = d->has_minor = true;
        d->major = maj;
        d->minor = min;
        v[l->n_io_devices++] = d;
        *ret = d;
        return 0;
}

/* --io-max DEV:rbps=N,wbps=N,riops=N,wiops=N (bytes with K, M, G; max). */
static int io_max_opt(ctx *c, const char *value, Lmct__V1__Limits *l) {
        const char *eq = strchr(value, '='), *colon = NULL, *p;
        char dev[256];
        Lmct__V1__IoDeviceLimit *d;
        int r;

        for (p = value; eq && p < eq; p++)
                if (*p == ':')
                        colon = p;
        if (!colon || (size_t)(colon - value) >= sizeof dev)
                return usage_error(c, "--io-max '%s': give DEVICE:KEY=VALUE,..., such as /dev/vda:rbps=10M,riops=100",
                                   value);
        snprintf(dev, sizeof dev, "%.*s", (int)(colon - value), value);
        if ((r = io_device_opt(c, "io-max", value, dev, l, &d)))
                return r;
        for (p = colon + 1; *p;) {
                size_t n = strcspn(p, ","), kl = strcspn(p, "=");
                char val[32];
                uint64_t v;
                if (kl >= n || n - kl - 1 >= sizeof val)
                        return usage_error(c, "--io-max '%s': '%.*s' is not KEY=VALUE", value, (int)n, p);
                snprintf(val, sizeof val, "%.*s", (int)(n - kl - 1), p + kl + 1);
                if (kl == 4 && (strncmp(p, "rbps", 4) == 0 || strncmp(p, "wbps", 4) == 0)) {
                        if (lmct_parse_size(val, 1, &v) < 0 || v == 0)
                                return usage_error(c, "--io-max '%s': %.4s takes bytes per second above 0 "
                                                   "(10M, 512K) or max", value, p);
                        if (p[0] == 'r')
                                d->has_rbps = true, d->rbps = v;
                        else
                                d->has_wbps = true, d->wbps = v;
                } else if (kl == 5 && (strncmp(p, "riops", 5) == 0 || strncmp(p, "wiops", 5) == 0)) {
                        if (lmct_parse_uint(val, 1, UINT32_MAX - 1, 1, &v) < 0)
                                return usage_error(c, "--io-max '%s': %.5s takes operations per second above 0, "
                                                   "or max", value, p);
                        if (p[0] == 'r')
                                d->has_riops = true, d->riops = v;
                        else
                                d->has_wiops = true, d->wiops = v;
                } else {
                        return usage_error(c, "--io-max '%s': '%.*s' is not rbps, wbps, riops or wiops", value,
                                           (int)kl, p);
                }
                p += n;
                if (*p == ',')
                        p++;
        }
        return 0;
}

/* --io-weight DEV:N or DEV:default (the device's own weight). */
static int io_weight_dev_opt(ctx *c, const char *value, Lmct__V1__Limits *l) {
        const char *colon = strrchr(value, ':');
        char dev[256];
        uint64_t v = 0;
        Lmct__V1__IoDeviceLimit *d;
        int r;

        if ((size_t)(colon - value) >= sizeof dev)
                return usage_error(c, "--io-weight '%s': the device name is too long", value);
        if (strcmp(colon + 1, "default") != 0 &&
            lmct_parse_uint(colon + 1, LMCT_WEIGHT_MIN, LMCT_WEIGHT_MAX, 0, &v) < 0)
                return usage_error(c, "--io-weight '%s': give DEVICE:WEIGHT with a weight %d..%d, or "
                                   "DEVICE:default", value, LMCT_WEIGHT_MIN, LMCT_WEIGHT_MAX);
        snprintf(dev, sizeof dev, "%.*s", (int)(colon - value), value);
        if ((r = io_device_opt(c, "io-weight", value, dev, l, &d)))
                return r;
        d->has_weight = true;
        d->weight = v;
        return 0;
}

/* --device-allow RULE, --device-deny RULE (in order: the last match
 * decides), --no-device-rules (an empty list: the rules removed). */
static int device_opt(ctx *c, const char *opt, const char *value, Lmct__V1__Limits *l) {
        lmct_device_rule dr;
        Lmct__V1__DeviceRule **v, *r;
        char text[48];

        if (!l->devices) {
                l->devices = malloc(sizeof *l->devices);
                if (!l->devices)
                        return usage_error(c, "out of memory");
                lmct__v1__device_rules__init(l->devices);
        }
        if (strcmp(opt, "no-device-rules") == 0) {
                if (l->devices->n_rules)
                        return usage_error(c, "--no-device-rules with --device-allow or --device-deny");
                return 0;
        }
        if (lmct_parse_device_rule(value, &dr) < 0)
                return usage_error(c, "--%s '%s': give TYPE MAJOR:MINOR ACCESS, such as 'c 1:3 rw' or 'b 8:* r' "
                                   "(TYPE a, b or c; * for any number; ACCESS of r, w, m), or 'a' for every device",
                                   opt, value);
        if (l->devices->n_rules == LMCT_DEVICE_RULES_MAX)
                return usage_error(c, "--%s: more than %d device rules", opt, LMCT_DEVICE_RULES_MAX);
        v = realloc(l->devices->rules, (l->devices->n_rules + 1) * sizeof *v);
        if (!v)
                return usage_error(c, "out of memory");
        l->devices->rules = v;
        r = malloc(sizeof *r);
        if (!r)
                return usage_error(c, "out of memory");
        lmct__v1__device_rule__init(r);
        r->has_allow = true;
        r->allow = strcmp(opt, "device-allow") == 0;
        r->type = strndup(&dr.type, 1);
        if (dr.major >= 0)
                r->has_major = true, r->major = dr.major;
        if (dr.minor >= 0)
                r->has_minor = true, r->minor = dr.minor;
        /* "c 1:3 rw": the access is its last word. */
        r->access = strdup(strrchr(lmct_format_device_rule(&dr, text, sizeof text), ' ') + 1);
        v[l->devices->n_rules++] = r;
        if (!r->type || !r->access)
                return usage_error(c, "out of memory");
        return 0;
}

int limit_opt(ctx *c, const char *opt, const char *value, Lmct__V1__Limits *l) {
        uint64_t v;
        int r;

        if (strncmp(opt, "device-", 7) == 0 || strcmp(opt, "no-device-rules") == 0)
                return device_opt(c, opt, value, l);
        if (strcmp(opt, "hugetlb") == 0)
                return hugetlb_opt(c, value, l);
        if (strcmp(opt, "io-max") == 0)
                return io_max_opt(c, value, l);
        if (strcmp(opt, "io-weight") == 0 && strchr(value, ':'))
                return io_weight_dev_opt(c, value, l);
        if (strcmp(opt, "cpu") == 0) {
                r = lmct_parse_cpu(value, &v);
                if (r < 0)
                        return usage_error(c, "--cpu '%s': give CPUs as a number above 0 (6, 0.5) or max", value);
                SET(cpu_millis, v);
        } else if (strcmp(opt, "cpu-period") == 0) {
                r = lmct_parse_uint(value, LMCT_CPU_PERIOD_MIN, LMCT_CPU_PERIOD_MAX, 0, &v);
                if (r < 0)
                        return usage_error(c, "--cpu-period '%s': give microseconds, %d..%d", value,
                                           LMCT_CPU_PERIOD_MIN, LMCT_CPU_PERIOD_MAX);
                SET(cpu_period_us, v);
        } else if (strcmp(opt, "cpu-weight") == 0 || strcmp(opt, "io-weight") == 0) {
                r = lmct_parse_uint(value, LMCT_WEIGHT_MIN, LMCT_WEIGHT_MAX, 0, &v);
                if (r < 0)
                        return usage_error(c, "--%s '%s': give a weight, %d..%d", opt, value, LMCT_WEIGHT_MIN,
                                           LMCT_WEIGHT_MAX);
                if (opt[0] == 'c')
                        SET(cpu_weight, v);
                else
                        SET(io_weight, v);
        } else if (strcmp(opt, "cpuset") == 0) {
                if (lmct_parse_cpuset(value) < 0)
                        return usage_error(c, "--cpuset '%s': give a CPU list such as 0-3,6", value);
                free(l->cpuset_cpus);
                l->cpuset_cpus = strdup(value);
        } else if (strcmp(opt, "cpuset-mems") == 0) {
                if (lmct_parse_cpuset(value) < 0)
                        return usage_error(c, "--cpuset-mems '%s': give a memory node list such as 0-1", value);
                free(l->cpuset_mems);
                l->cpuset_mems = strdup(value);
        } else if (strcmp(opt, "cpu-idle") == 0 || strcmp(opt, "oom-group") == 0) {
                /* A switch: on when given alone, or =on|off. */
                bool on;
                if (!value || strcmp(value, "on") == 0)
                        on = true;
                else if (strcmp(value, "off") == 0)
                        on = false;
                else
                        return usage_error(c, "--%s='%s': give on or off", opt, value);
                if (opt[0] == 'c')
                        SET(cpu_idle, on);
                else
                        SET(oom_group, on);
        } else if (strcmp(opt, "cpu-burst") == 0) {
                r = lmct_parse_uint(value, 0, (UINT64_C(1) << 44) - 1, 0, &v);
                if (r < 0)
                        return usage_error(c, "--cpu-burst '%s': give microseconds per period (at most the quota)",
                                           value);
                SET(cpu_burst_us, v);
        } else if (strcmp(opt, "pids") == 0) {
                r = lmct_parse_uint(value, 0, INT32_MAX, 1, &v);
                if (r < 0)
                        return usage_error(c, "--pids '%s': give a number of processes or max", value);
                SET(pids_max, v);
        } else if (strcmp(opt, "max-descendants") == 0 || strcmp(opt, "max-children") == 0 ||
                   strcmp(opt, "max-depth") == 0) {
                r = lmct_parse_uint(value, 0, INT32_MAX / 4, 1, &v);
                if (r < 0)
                        return usage_error(c, "--%s '%s': give a number of %s or max", opt, value,
                                           strcmp(opt, "max-depth") == 0 ? "levels" : "containers");
                if (strcmp(opt, "max-depth") == 0)
                        SET(max_depth, v);
                else
                        SET(max_descendants, v);
        } else {
                r = lmct_parse_size(value, 1, &v);
                if (r < 0)
                        return usage_error(c, "--%s '%s': give a size in bytes with an optional K, M, G or T "
                                           "(512M, 4G) or max", opt, value);
                if (strcmp(opt, "memory") == 0)
                        SET(memory_max, v);
                else if (strcmp(opt, "memory-high") == 0)
                        SET(memory_high, v);
                else if (strcmp(opt, "memory-low") == 0)
                        SET(memory_low, v);
                else if (strcmp(opt, "memory-min") == 0)
                        SET(memory_min, v);
                else
                        SET(swap_max, v);
        }
        return 0;
}

struct json_object *json_limit(unsigned long long v) {
        return v == LMCT_MAX ? json_object_new_string("max") : json_object_new_uint64(v);
}

int label_opt(ctx *c, const char *arg, enum label_mode mode, label_opts *lo) {
        const char *eq = strchr(arg, '='), *why;
        size_t kl = eq ? (size_t)(eq - arg) : strlen(arg);
        bool remove = !eq && mode == LABEL_EDIT && kl > 0 && arg[kl - 1] == '-';
        char *key;

        if (!eq && mode == LABEL_SET)
                return usage_error(c, "--label '%s': give KEY=VALUE", arg);
        if (!eq && mode == LABEL_EDIT && !remove)
                return usage_error(c, "--label '%s': give KEY=VALUE, or KEY- to remove the label", arg);
        if (remove)
                kl--;
        if (lo->n == LMCT_LABELS_MAX || lo->n_remove == LMCT_LABELS_MAX)
                return usage_error(c, "--label: more than %d", LMCT_LABELS_MAX);
        key = strndup(arg, kl);
        if (!key)
                return usage_error(c, "out of memory");
        lo->keys[lo->n_keys++] = key;
        why = lmct_label_problem(key, eq ? eq + 1 : NULL);
        if (why)
                return usage_error(c, "--label '%s': %s", arg, why);
        if (remove) {
                lo->remove[lo->n_remove++] = key;
                return 0;
        }
        lmct__v1__label__init(&lo->l[lo->n]);
        lo->l[lo->n].key = key;
        lo->l[lo->n].value = eq ? (char *)eq + 1 : NULL;
        lo->p[lo->n] = &lo->l[lo->n];
        lo->n++;
        return 0;
}

void label_opts_done(label_opts *lo) {
        for (size_t i = 0; i < lo->n_keys; i++)
                free(lo->keys[i]);
        lo->n_keys = 0;
}

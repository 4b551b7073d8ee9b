#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

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

int limit_opt(ctx *c, const char *opt, const char *value, Lmct__V1__Limits *l) {
        uint64_t v;
        int r;

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

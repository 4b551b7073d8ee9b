/* show: configured and effective limits, usage now. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "lmctl.h"

typedef struct row {
        const char *label;
        bool cpu;       /* thousandths of a CPU */
        bool bytes;
        size_t has_off, val_off;
} row;

#define R(label, cpu, bytes, f) { label, cpu, bytes, offsetof(Lmct__V1__Limits, has_##f), offsetof(Lmct__V1__Limits, f) }
static const row rows[] = {
        R("cpu", true, false, cpu_millis),
        R("cpu-period", false, false, cpu_period_us),
        R("cpu-weight", false, false, cpu_weight),
        R("memory", false, true, memory_max),
        R("memory-high", false, true, memory_high),
        R("memory-low", false, true, memory_low),
        R("memory-min", false, true, memory_min),
        R("swap", false, true, swap_max),
        R("pids", false, false, pids_max),
        R("io-weight", false, false, io_weight),
        R("max-descendants", false, false, max_descendants),
        R("max-depth", false, false, max_depth),
        R("cpu-burst", false, false, cpu_burst_us),
};

/* The switches: on, off, or "-" when the file is not there. */
typedef struct flag_row {
        const char *label;
        size_t has_off, val_off;
} flag_row;
#define F(label, f) { label, offsetof(Lmct__V1__Limits, has_##f), offsetof(Lmct__V1__Limits, f) }
static const flag_row flag_rows[] = {
        F("cpu-idle", cpu_idle),
        F("oom-group", oom_group),
};
#undef F

static int get_flag(const Lmct__V1__Limits *l, const flag_row *fr) {
        if (!l || !*(const protobuf_c_boolean *)((const char *)l + fr->has_off))
                return -1;
        return *(const protobuf_c_boolean *)((const char *)l + fr->val_off) ? 1 : 0;
}
#undef R

static bool get(const Lmct__V1__Limits *l, const row *rw, uint64_t *v) {
        if (!l || !*(const protobuf_c_boolean *)((const char *)l + rw->has_off))
                return false;
        *v = *(const uint64_t *)((const char *)l + rw->val_off);
        return true;
}

static const char *fmt(const row *rw, const Lmct__V1__Limits *l, char *buf, size_t len) {
        uint64_t v;

        if (!get(l, rw, &v))
                return "-";
        if (rw->cpu)
                return lmct_format_cpu(v, buf, len);
        if (rw->bytes)
                return lmct_format_size(v, buf, len);
        if (v == LMCT_MAX)
                return "max";
        snprintf(buf, len, "%llu", (unsigned long long)v);
        return buf;
}

/* "allow c 1:3 rw", as lmctl's options give it. */
static const char *device_rule_text(const Lmct__V1__DeviceRule *r, char *buf, size_t len) {
        lmct_device_rule dr = { r->type && r->type[0] ? r->type[0] : 'a', r->has_major ? r->major : -1,
                                r->has_minor ? r->minor : -1, 0 };
        char rule[48];

        if (!r->access || lmct_parse_device_access(r->access, &dr.access) < 0)
                dr.access = LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD;
        snprintf(buf, len, "%s %s", r->allow ? "allow" : "deny", lmct_format_device_rule(&dr, rule, sizeof rule));
        return buf;
}

static struct json_object *limits_json(const Lmct__V1__Limits *l) {
        struct json_object *o = json_object_new_object();
        uint64_t v;

        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                if (!get(l, &rows[i], &v))
                        continue;
                if (rows[i].cpu && v != LMCT_MAX)
                        json_object_object_add(o, rows[i].label, json_object_new_double((double)v / 1000.0));
                else
                        json_object_object_add(o, rows[i].label, json_limit(v));
        }
        for (size_t i = 0; i < sizeof flag_rows / sizeof flag_rows[0]; i++) {
                int f = get_flag(l, &flag_rows[i]);
                if (f >= 0)
                        json_object_object_add(o, flag_rows[i].label, json_object_new_boolean(f));
        }
        if (l && l->cpuset_cpus)
                json_object_object_add(o, "cpuset", json_object_new_string(l->cpuset_cpus));
        if (l && l->cpuset_mems)
                json_object_object_add(o, "cpuset-mems", json_object_new_string(l->cpuset_mems));
        if (l && l->n_hugetlb) {
                struct json_object *h = json_object_new_object();
                for (size_t i = 0; i < l->n_hugetlb; i++)
                        if (l->hugetlb[i]->page_size)
                                json_object_object_add(h, l->hugetlb[i]->page_size, json_limit(l->hugetlb[i]->max));
                json_object_object_add(o, "hugetlb", h);
        }
        if (l && l->devices) {
                struct json_object *d = json_object_new_array();
                for (size_t i = 0; i < l->devices->n_rules; i++) {
                        char text[64];
                        json_object_array_add(d, json_object_new_string(device_rule_text(l->devices->rules[i], text,
                                                                                         sizeof text)));
                }
                json_object_object_add(o, "devices", d);
        }
        if (l && l->n_io_devices) {
                struct json_object *io = json_object_new_object();
                for (size_t i = 0; i < l->n_io_devices; i++) {
                        const Lmct__V1__IoDeviceLimit *d = l->io_devices[i];
                        struct json_object *e = json_object_new_object();
                        char dev[24];
#define J(f) if (d->has_##f) json_object_object_add(e, #f, json_limit(d->f))
                        J(rbps); J(wbps); J(riops); J(wiops);
#undef J
                        if (d->has_weight)
                                json_object_object_add(e, "weight", json_object_new_uint64(d->weight));
                        snprintf(dev, sizeof dev, "%u:%u", d->major, d->minor);
                        json_object_object_add(io, dev, e);
                }
                json_object_object_add(o, "io-devices", io);
        }
        return o;
}

/* One device's bounds as "rbps=10M,riops=100" (bounds set to max left
 * out), or "-". */
static const char *io_bounds(const Lmct__V1__IoDeviceLimit *d, char *buf, size_t len) {
        static const char *const names[] = { "rbps", "wbps", "riops", "wiops" };
        size_t n = 0;

        buf[0] = '\0';
        for (int k = 0; d && k < 4; k++) {
                const protobuf_c_boolean has[] = { d->has_rbps, d->has_wbps, d->has_riops, d->has_wiops };
                const uint64_t v[] = { d->rbps, d->wbps, d->riops, d->wiops };
                char num[32];
                if (!has[k] || v[k] == LMCT_MAX)
                        continue;
                if (k < 2)
                        lmct_format_size(v[k], num, sizeof num);
                else
                        snprintf(num, sizeof num, "%llu", (unsigned long long)v[k]);
                n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "%s%s=%s", n ? "," : "", names[k], num);
        }
        return buf[0] ? buf : "-";
}

static const Lmct__V1__IoDeviceLimit *find_device(const Lmct__V1__Limits *l, uint32_t maj, uint32_t min) {
        for (size_t i = 0; l && i < l->n_io_devices; i++)
                if (l->io_devices[i]->major == maj && l->io_devices[i]->minor == min)
                        return l->io_devices[i];
        return NULL;
}

/* Rows per huge page size and per disk: configured here, or bounded here
 * by an ancestor. */
static void print_device_rows(const Lmct__V1__ContainerInfo *info) {
        const Lmct__V1__Limits *conf = info->configured, *eff = info->effective;
        char a[160], b[160], label[40];

        for (size_t i = 0; eff && i < eff->n_hugetlb; i++) {
                const Lmct__V1__HugetlbLimit *e = eff->hugetlb[i], *c = NULL;
                for (size_t k = 0; conf && k < conf->n_hugetlb; k++)
                        if (e->page_size && conf->hugetlb[k]->page_size &&
                            strcmp(conf->hugetlb[k]->page_size, e->page_size) == 0)
                                c = conf->hugetlb[k];
                if (e->max == LMCT_MAX && (!c || c->max == LMCT_MAX))
                        continue;
                snprintf(label, sizeof label, "hugetlb %s", e->page_size);
                printf("%-12s %-12s %s\n", label, c ? lmct_format_size(c->max, a, sizeof a) : "-",
                       lmct_format_size(e->max, b, sizeof b));
        }
        for (size_t i = 0; eff && i < eff->n_io_devices; i++) {
                const Lmct__V1__IoDeviceLimit *e = eff->io_devices[i];
                const char *ev = io_bounds(e, b, sizeof b);
                const char *cv = io_bounds(find_device(conf, e->major, e->minor), a, sizeof a);
                if (strcmp(ev, "-") == 0 && strcmp(cv, "-") == 0)
                        continue;
                snprintf(label, sizeof label, "io-max %u:%u", e->major, e->minor);
                printf("%-12s %-12s %s\n", label, cv, ev);
        }
        for (size_t i = 0; conf && i < conf->n_io_devices; i++) {
                const Lmct__V1__IoDeviceLimit *c = conf->io_devices[i];
                if (!c->has_weight)
                        continue;
                snprintf(label, sizeof label, "io-weight %u:%u", c->major, c->minor);
                printf("%-12s %-12llu -\n", label, (unsigned long long)c->weight);
        }
}

static struct json_object *usage_json(const Lmct__V1__Usage *u) {
        struct json_object *o = json_object_new_object();

#define U(f) if (u->has_##f) json_object_object_add(o, #f, json_object_new_uint64(u->f))
        U(cpu_usage_us); U(cpu_user_us); U(cpu_system_us); U(cpu_nr_periods); U(cpu_nr_throttled);
        U(cpu_throttled_us); U(memory_current); U(memory_peak); U(pids_current); U(processes);
#undef U
        if (u->has_frozen)
                json_object_object_add(o, "frozen", json_object_new_boolean(u->frozen));
        if (u->has_populated)
                json_object_object_add(o, "populated", json_object_new_boolean(u->populated));
        return o;
}

static void print_json(const Lmct__V1__ContainerInfo *info) {
        struct json_object *o = json_object_new_object(), *ch = json_object_new_array();

        json_object_object_add(o, "name", json_object_new_string(info->name));
        json_object_object_add(o, "configured", limits_json(info->configured));
        json_object_object_add(o, "effective", limits_json(info->effective));
        if (info->usage)
                json_object_object_add(o, "usage", usage_json(info->usage));
        for (size_t i = 0; i < info->n_children; i++)
                json_object_array_add(ch, json_object_new_string(info->children[i]));
        json_object_object_add(o, "children", ch);
        if (info->n_labels) {
                struct json_object *lb = json_object_new_object();
                for (size_t i = 0; i < info->n_labels; i++)
                        json_object_object_add(lb, info->labels[i]->key,
                                               json_object_new_string(info->labels[i]->value));
                json_object_object_add(o, "labels", lb);
        }
        if (info->has_owner_uid) {
                struct json_object *ow = json_object_new_object();
                json_object_object_add(ow, "uid", json_object_new_int64(info->owner_uid));
                json_object_object_add(ow, "gid", json_object_new_int64(info->owner_gid));
                if (info->owner_from)
                        json_object_object_add(ow, "from", json_object_new_string(info->owner_from));
                json_object_object_add(o, "owner", ow);
        }
        if (info->last_run) {
                const Lmct__V1__RunResult *rr = info->last_run;
                struct json_object *lr = json_object_new_object();
                json_object_object_add(lr, "pid", json_object_new_int(rr->pid));
                json_object_object_add(lr, "exited", json_object_new_boolean(rr->exited));
                if (rr->has_exit_code)
                        json_object_object_add(lr, "exit_code", json_object_new_int(rr->exit_code));
                if (rr->has_signal)
                        json_object_object_add(lr, "signal", json_object_new_int(rr->signal));
                if (rr->log_path)
                        json_object_object_add(lr, "log", json_object_new_string(rr->log_path));
                json_object_object_add(o, "last_run", lr);
        }
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

static void print_human(const Lmct__V1__ContainerInfo *info) {
        const Lmct__V1__Usage *u = info->usage;
        char a[32], b[32];

        printf("name        %s\n", info->name);
        printf("children    ");
        if (!info->n_children)
                printf("(none)");
        for (size_t i = 0; i < info->n_children; i++)
                printf("%s%s", i ? " " : "", info->children[i]);
        if (info->n_labels) {
                printf("\nlabels     ");
                for (size_t i = 0; i < info->n_labels; i++)
                        printf(" %s=%s", info->labels[i]->key, info->labels[i]->value);
        }
        if (info->has_owner_uid) {
                printf("\nowner       uid %u gid %u", info->owner_uid, info->owner_gid);
                if (info->owner_from && strcmp(info->owner_from, info->name) != 0)
                        printf(" (handed over at %s)", info->owner_from);
        }
        printf("\n\n%-12s %-12s %s\n", "LIMIT", "CONFIGURED", "EFFECTIVE");
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                const char *conf = fmt(&rows[i], info->configured, a, sizeof a);
                const char *eff = fmt(&rows[i], info->effective, b, sizeof b);
                /* Nothing set here and only the default in effect: no row. */
                if (strcmp(conf, "-") == 0 && (!strcmp(eff, "-") || !strcmp(eff, "max") || !strcmp(eff, "0")))
                        continue;
                /* The tree bounds: the kernel's default "max" is no bound. */
                if (strncmp(rows[i].label, "max-", 4) == 0 && strcmp(conf, "max") == 0)
                        continue;
                printf("%-12s %-12s %s\n", rows[i].label, conf,
                       rows[i].cpu || rows[i].bytes || !strcmp(rows[i].label, "pids") ? eff : "-");
        }
        for (size_t i = 0; i < sizeof flag_rows / sizeof flag_rows[0]; i++) {
                int conf = get_flag(info->configured, &flag_rows[i]), eff = get_flag(info->effective, &flag_rows[i]);
                /* Off here and nowhere above: no row. */
                if (conf <= 0 && eff <= 0)
                        continue;
                printf("%-12s %-12s %s\n", flag_rows[i].label, conf < 0 ? "-" : conf ? "on" : "off",
                       eff > 0 ? "on" : "off");
        }
        if ((info->configured && info->configured->cpuset_mems && info->configured->cpuset_mems[0]))
                printf("%-12s %-12s %s\n", "cpuset-mems", info->configured->cpuset_mems,
                       info->effective && info->effective->cpuset_mems ? info->effective->cpuset_mems : "-");
        if ((info->configured && info->configured->cpuset_cpus) || (info->effective && info->effective->cpuset_cpus))
                printf("%-12s %-12s %s\n", "cpuset",
                       info->configured && info->configured->cpuset_cpus && info->configured->cpuset_cpus[0]
                               ? info->configured->cpuset_cpus : "-",
                       info->effective && info->effective->cpuset_cpus ? info->effective->cpuset_cpus : "-");
        print_device_rows(info);
        if (info->configured && info->configured->devices)
                for (size_t i = 0; i < info->configured->devices->n_rules; i++) {
                        char text[64];
                        printf("%-12s %s\n", i ? "" : "devices",
                               device_rule_text(info->configured->devices->rules[i], text, sizeof text));
                }
        if (!u)
                return;
        printf("\nUSAGE\n");
        if (u->has_cpu_usage_us)
                printf("cpu time    %.3fs (user %.3fs, system %.3fs)\n", (double)u->cpu_usage_us / 1e6,
                       (double)u->cpu_user_us / 1e6, (double)u->cpu_system_us / 1e6);
        if (u->has_cpu_nr_periods)
                printf("throttled   %llu of %llu periods, %.3fs\n", (unsigned long long)u->cpu_nr_throttled,
                       (unsigned long long)u->cpu_nr_periods, (double)u->cpu_throttled_us / 1e6);
        if (u->has_memory_current)
                printf("memory      %s (peak %s)\n", lmct_format_size(u->memory_current, a, sizeof a),
                       u->has_memory_peak ? lmct_format_size(u->memory_peak, b, sizeof b) : "-");
        if (u->has_pids_current)
                printf("pids        %llu\n", (unsigned long long)u->pids_current);
        printf("processes   %llu\n", (unsigned long long)u->processes);
        printf("state       %s\n", u->frozen ? "frozen" : u->populated ? "running" : "empty");
        if (info->last_run) {
                const Lmct__V1__RunResult *rr = info->last_run;
                printf("last run    pid %d, ", rr->pid);
                if (!rr->exited)
                        printf("running");
                else if (rr->has_signal)
                        printf("killed by signal %d", rr->signal);
                else
                        printf("exited %d", rr->exit_code);
                if (rr->log_path)
                        printf(", output in %s", rr->log_path);
                printf("\n");
        }
}

int cmd_show(ctx *c, int argc, char **argv) {
        lmct_response *resp = NULL;
        int r;

        if ((r = json_help_options(c, argc, argv, 1, "give exactly one container name")) >= 0)
                return r;
        if ((r = connect_daemon(c)))
                return r;
        r = lmct_show(c->client, argv[optind], &resp);
        if (r < 0)
                return call_failed(c, argv[optind], r);
        if (resp->show) {
                if (c->json)
                        print_json(resp->show);
                else
                        print_human(resp->show);
        }
        lmct_response_free(resp);
        return EXIT_OK;
}

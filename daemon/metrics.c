/* /metrics in the Prometheus text format, served by libevent's HTTP server
 * on the loop lmctld already runs. Series are per container, labelled
 * name="a/b", named as cAdvisor names them where the meaning is the same. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "events.h"
#include "log.h"
#include "manager-internal.h"
#include "util.h"

struct metrics {
        manager *m;
        struct evhttp *http;
};

/* Each series: its name, type and help, then a line per container. */
enum {
        M_CPU, M_CPU_USER, M_CPU_SYS, M_PERIODS, M_THROTTLED, M_THROTTLED_S, M_MEM, M_WSET, M_RSS, M_CACHE,
        M_OOM, M_OOM_KILL, M_PIDS, M_MEM_LIMIT, M_CPU_QUOTA, M_CPU_PERIOD, _M_MAX
};
static const struct series {
        const char *name, *type, *help;
} series[_M_MAX] = {
        [M_CPU] = { "container_cpu_usage_seconds_total", "counter", "CPU time consumed (cpu.stat usage_usec)" },
        [M_CPU_USER] = { "container_cpu_user_seconds_total", "counter", "CPU time in user mode" },
        [M_CPU_SYS] = { "container_cpu_system_seconds_total", "counter", "CPU time in kernel mode" },
        [M_PERIODS] = { "container_cpu_cfs_periods_total", "counter", "Enforcement periods elapsed (cpu.max)" },
        [M_THROTTLED] = { "container_cpu_cfs_throttled_periods_total", "counter", "Periods in which it was throttled" },
        [M_THROTTLED_S] = { "container_cpu_cfs_throttled_seconds_total", "counter", "Time it was throttled" },
        [M_MEM] = { "container_memory_usage_bytes", "gauge", "Memory in use (memory.current)" },
        [M_WSET] = { "container_memory_working_set_bytes", "gauge", "memory.current less inactive_file" },
        [M_RSS] = { "container_memory_rss", "gauge", "Anonymous memory (memory.stat anon)" },
        [M_CACHE] = { "container_memory_cache", "gauge", "Page cache (memory.stat file)" },
        [M_OOM] = { "container_memory_oom_total", "counter", "Times its memory limit was hit and the OOM killer ran (memory.events oom)" },
        [M_OOM_KILL] = { "container_oom_events_total", "counter", "Processes killed by the OOM killer (memory.events oom_kill)" },
        [M_PIDS] = { "container_tasks", "gauge", "Tasks in the container and below (pids.current)" },
        [M_MEM_LIMIT] = { "container_spec_memory_limit_bytes", "gauge", "memory.max (0: no limit)" },
        [M_CPU_QUOTA] = { "container_spec_cpu_quota", "gauge", "cpu.max quota in microseconds (0: no limit)" },
        [M_CPU_PERIOD] = { "container_spec_cpu_period", "gauge", "cpu.max period in microseconds" },
};

typedef struct sample {
        bool has[_M_MAX];
        double v[_M_MAX];
} sample;

static void set(sample *s, int k, double v) {
        s->has[k] = true;
        s->v[k] = v;
}

static void read_sample(int fd, sample *s) {
        char buf[4096];
        uint64_t v, inactive = 0;
        unsigned long long q, p;

        memset(s, 0, sizeof *s);
        if (cg_read(fd, "cpu.stat", buf, sizeof buf) >= 0) {
                if (cg_parse_key(buf, "usage_usec", &v) >= 0)
                        set(s, M_CPU, (double)v / 1e6);
                if (cg_parse_key(buf, "user_usec", &v) >= 0)
                        set(s, M_CPU_USER, (double)v / 1e6);
                if (cg_parse_key(buf, "system_usec", &v) >= 0)
                        set(s, M_CPU_SYS, (double)v / 1e6);
                if (cg_parse_key(buf, "nr_periods", &v) >= 0)
                        set(s, M_PERIODS, (double)v);
                if (cg_parse_key(buf, "nr_throttled", &v) >= 0)
                        set(s, M_THROTTLED, (double)v);
                if (cg_parse_key(buf, "throttled_usec", &v) >= 0)
                        set(s, M_THROTTLED_S, (double)v / 1e6);
        }
        if (cg_read_u64(fd, "memory.current", &v) >= 0) {
                set(s, M_MEM, (double)v);
                if (cg_read(fd, "memory.stat", buf, sizeof buf) >= 0) {
                        (void)cg_parse_key(buf, "inactive_file", &inactive);
                        set(s, M_WSET, (double)(v > inactive ? v - inactive : 0));
                        if (cg_parse_key(buf, "anon", &v) >= 0)
                                set(s, M_RSS, (double)v);
                        if (cg_parse_key(buf, "file", &v) >= 0)
                                set(s, M_CACHE, (double)v);
                }
        }
        if (cg_read(fd, "memory.events", buf, sizeof buf) >= 0) {
                if (cg_parse_key(buf, "oom", &v) >= 0)
                        set(s, M_OOM, (double)v);
                if (cg_parse_key(buf, "oom_kill", &v) >= 0)
                        set(s, M_OOM_KILL, (double)v);
        }
        if (cg_read_u64(fd, "pids.current", &v) >= 0)
                set(s, M_PIDS, (double)v);
        if (cg_read_u64(fd, "memory.max", &v) >= 0)
                set(s, M_MEM_LIMIT, v == UINT64_MAX ? 0 : (double)v);
        if (cg_read(fd, "cpu.max", buf, sizeof buf) >= 0) {
                if (sscanf(buf, "max %llu", &p) == 1) {
                        set(s, M_CPU_QUOTA, 0);
                        set(s, M_CPU_PERIOD, (double)p);
                } else if (sscanf(buf, "%llu %llu", &q, &p) == 2) {
                        set(s, M_CPU_QUOTA, (double)q);
                        set(s, M_CPU_PERIOD, (double)p);
                }
        }
}

typedef struct collect {
        manager *m;
        char **names;
        sample *samples;
        size_t n, alloc;
} collect;

static void walk(collect *c, node *n) {
        char path[LMCT_NAME_MAX + 1];
        status ignored;

        if (n->parent) {
                _cleanup_close_ int fd = open_node(c->m, n, &ignored);
                if (fd >= 0 && c->n < c->alloc) {
                        read_sample(fd, &c->samples[c->n]);
                        c->names[c->n] = strdup(tree_path(n, path, sizeof path));
                        if (c->names[c->n])
                                c->n++;
                }
        }
        for (size_t i = 0; i < n->n_children; i++)
                walk(c, n->children[i]);
}

static void on_metrics(struct evhttp_request *req, void *arg) {
        metrics *mt = arg;
        struct evbuffer *out;
        collect c = { mt->m, NULL, NULL, 0, 0 };

        if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
                evhttp_send_error(req, 405, "only GET");
                return;
        }
        out = evbuffer_new();
        c.alloc = manager_count(mt->m);
        c.names = calloc(c.alloc ? c.alloc : 1, sizeof *c.names);
        c.samples = calloc(c.alloc ? c.alloc : 1, sizeof *c.samples);
        if (!out || !c.names || !c.samples) {
                evhttp_send_error(req, 500, "out of memory");
                goto done;
        }
        walk(&c, mt->m->root);
        /* Series by series, as the text format asks. Names hold no '"' or
         * '\\' (container names are A-Z a-z 0-9 _ - /): no escaping needed. */
        for (int k = 0; k < _M_MAX; k++) {
                evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", series[k].name, series[k].help,
                                    series[k].name, series[k].type);
                for (size_t i = 0; i < c.n; i++)
                        if (c.samples[i].has[k])
                                evbuffer_add_printf(out, "%s{name=\"%s\"} %.17g\n", series[k].name, c.names[i],
                                                    c.samples[i].v[k]);
        }
        evbuffer_add_printf(out,
                            "# HELP lmct_containers Containers lmctld manages\n# TYPE lmct_containers gauge\n"
                            "lmct_containers %zu\n"
                            "# HELP lmct_event_subscribers Open event subscriptions\n"
                            "# TYPE lmct_event_subscribers gauge\nlmct_event_subscribers %u\n",
                            manager_count(mt->m), events_subscribers(mt->m->events));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(req, 200, "OK", out);
done:
        for (size_t i = 0; i < c.n; i++)
                free(c.names[i]);
        free(c.names);
        free(c.samples);
        if (out)
                evbuffer_free(out);
}

static void on_other(struct evhttp_request *req, void *arg) {
        (void)arg;
        evhttp_send_error(req, 404, "lmctld serves /metrics only");
}

int metrics_start(struct event_base *base, manager *m, const char *listen, metrics **ret) {
        char host[64];
        const char *colon = strrchr(listen, ':');
        unsigned long port;
        char *end;
        metrics *mt;

        if (!colon || (size_t)(colon - listen) >= sizeof host) {
                log_error("--metrics-listen %s: give ADDRESS:PORT, such as 127.0.0.1:9101", listen);
                return -EINVAL;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port = strtoul(colon + 1, &end, 10);
        if (*end || port == 0 || port > 65535) {
                log_error("--metrics-listen %s: the port must be 1..65535", listen);
                return -EINVAL;
        }
        mt = calloc(1, sizeof *mt);
        if (!mt)
                return -ENOMEM;
        mt->m = m;
        mt->http = evhttp_new(base);
        if (!mt->http || evhttp_bind_socket(mt->http, host, (uint16_t)port) < 0) {
                log_error("cannot serve metrics on %s: %m", listen);
                metrics_free(mt);
                return -EADDRNOTAVAIL;
        }
        evhttp_set_allowed_methods(mt->http, EVHTTP_REQ_GET);
        evhttp_set_cb(mt->http, "/metrics", on_metrics, mt);
        evhttp_set_gencb(mt->http, on_other, mt);
        evhttp_set_timeout(mt->http, 10);
        log_info("serving metrics on http://%s/metrics", listen);
        *ret = mt;
        return 0;
}

metrics *metrics_free(metrics *mt) {
        if (!mt)
                return NULL;
        if (mt->http)
                evhttp_free(mt->http);
        free(mt);
        return NULL;
}

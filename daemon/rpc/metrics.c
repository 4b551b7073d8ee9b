/* /metrics in the Prometheus text format, on the loop lmctld already runs.
 * Series are per container, labelled name="a/b", named as cAdvisor names
 * them where the meaning is the same.
 *
 * Who may read is who may connect: a Unix socket's mode and group decide
 * it (unix:PATH); a TCP address serves anyone who reaches it. Either way
 * the connections are bounded: at most METRICS_CONNS_MAX at once (the
 * listener pauses at that many, so slow clients never use up lmctld's
 * descriptors), each closed METRICS_CONN_DEADLINE_S seconds after it
 * came, whatever it does. libevent's HTTP server (2.1) has neither bound
 * nor a hook that could add one, so this serves the one thing a scraper
 * asks, itself: a GET of /metrics, HTTP/1.0 or 1.1, answered with
 * Content-Length and Connection: close; anything else is 404 or 405. A
 * connection's socket, and any descriptor a client sends on a Unix one,
 * are closed off the loop (release.h), as a lmctld client's are.
 *
 * The files are read in a thread (offload.h), not in the loop: a scrape of
 * a thousand containers reads some twenty thousand files. The loop takes
 * the containers' names, the thread opens each below a descriptor of the
 * root and renders the text, and the loop sends it to every scraper that
 * asked meanwhile: one render at a time, whoever waits for it. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "cleanup.h"
#include "events.h"
#include "listen.h"
#include "list.h"
#include "log.h"
#include "lmct-limits.h"
#include "manager.h"
#include "offload.h"
#include "release.h"
#include "util.h"

#define METRICS_CONNS_MAX 16
#define METRICS_CONN_DEADLINE_S 10
#define REQUEST_HEAD_MAX 8192

typedef struct mconn mconn;
struct mconn {
        metrics *mt;
        int fd;
        struct event *ev_read, *ev_write, *deadline;
        struct evbuffer *in, *out;
        bool waiting;            /* for the render in progress */
        LIST_FIELDS(mconn, conns);
};

/* A render in a thread: what it reads, and the text it makes. */
typedef struct render_job {
        struct metrics *mt;      /* the loop's, never the thread's */
        int rootfd;              /* a copy of the tree's root */
        char **names;            /* full names, as the tree had them */
        size_t n;
        size_t containers;
        unsigned subscribers;
        struct evbuffer *out;
        int r;
} render_job;

struct metrics {
        manager *m;
        events *events;
        struct event_base *base;
        struct evconnlistener *listener;
        mconn *conns;
        unsigned n_conns;
        quota *q;                /* what its clients' descriptors count against */
        offload *render;         /* the render in progress, or NULL */
        struct event *backoff;
        char *unix_path;         /* removed at exit */
};

/* Each series: its name, type and help, then a line per container. */
enum {
        M_CPU, M_CPU_USER, M_CPU_SYS, M_PERIODS, M_THROTTLED, M_THROTTLED_S, M_MEM, M_WSET, M_RSS, M_CACHE,
        M_OOM, M_OOM_KILL, M_PIDS, M_MEM_LIMIT, M_CPU_QUOTA, M_CPU_PERIOD,
        M_PSI_CPU_SOME, M_PSI_CPU_FULL, M_PSI_MEM_SOME, M_PSI_MEM_FULL, M_PSI_IO_SOME, M_PSI_IO_FULL, _M_MAX
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
        [M_PSI_CPU_SOME] = { "container_pressure_cpu_waiting_seconds_total", "counter", "Time some of its tasks waited for a CPU (cpu.pressure some total)" },
        [M_PSI_CPU_FULL] = { "container_pressure_cpu_stalled_seconds_total", "counter", "Time all of its tasks waited for a CPU (cpu.pressure full total)" },
        [M_PSI_MEM_SOME] = { "container_pressure_memory_waiting_seconds_total", "counter", "Time some of its tasks stalled on memory (memory.pressure some total)" },
        [M_PSI_MEM_FULL] = { "container_pressure_memory_stalled_seconds_total", "counter", "Time all of its tasks stalled on memory (memory.pressure full total)" },
        [M_PSI_IO_SOME] = { "container_pressure_io_waiting_seconds_total", "counter", "Time some of its tasks stalled on I/O (io.pressure some total)" },
        [M_PSI_IO_FULL] = { "container_pressure_io_stalled_seconds_total", "counter", "Time all of its tasks stalled on I/O (io.pressure full total)" },
};

/* The PSI files and the series of their "some" and "full" totals. */
static const struct psi_file {
        const char *file;
        int some, full;
} psi_files[] = {
        { "cpu.pressure", M_PSI_CPU_SOME, M_PSI_CPU_FULL },
        { "memory.pressure", M_PSI_MEM_SOME, M_PSI_MEM_FULL },
        { "io.pressure", M_PSI_IO_SOME, M_PSI_IO_FULL },
};

/* The series with a second label: per device (io.stat) and per huge page
 * size. */
#define SAMPLE_DEVICES 8
#define SAMPLE_PAGE_SIZES CG_PAGE_SIZES_MAX
enum { D_RBYTES, D_WBYTES, D_RIOS, D_WIOS, _D_MAX };
static const struct series dev_series[_D_MAX] = {
        [D_RBYTES] = { "container_fs_reads_bytes_total", "counter", "Bytes read from the device (io.stat rbytes)" },
        [D_WBYTES] = { "container_fs_writes_bytes_total", "counter", "Bytes written to the device (io.stat wbytes)" },
        [D_RIOS] = { "container_fs_reads_total", "counter", "Reads completed on the device (io.stat rios)" },
        [D_WIOS] = { "container_fs_writes_total", "counter", "Writes completed on the device (io.stat wios)" },
};
enum { H_USAGE, H_FAILCNT, H_LIMIT, _H_MAX };
static const struct series huge_series[_H_MAX] = {
        [H_USAGE] = { "container_hugetlb_usage_bytes", "gauge", "Huge pages in use (hugetlb.<size>.current)" },
        [H_FAILCNT] = { "container_hugetlb_failcnt", "counter", "Huge page allocations and reservations refused at the limit (hugetlb.<size>.events max)" },
        [H_LIMIT] = { "container_spec_hugetlb_limit_bytes", "gauge", "hugetlb.<size>.max (0: no limit)" },
};

typedef struct sample {
        bool has[_M_MAX];
        double v[_M_MAX];
        size_t n_dev, n_huge;
        struct {
                char name[24];
                double v[_D_MAX];
        } dev[SAMPLE_DEVICES];
        struct {
                char name[16];
                bool has[_H_MAX];
                double v[_H_MAX];
        } huge[SAMPLE_PAGE_SIZES];
} sample;

static void set(sample *s, int k, double v) {
        s->has[k] = true;
        s->v[k] = v;
}

static void read_devices(int fd, sample *s) {
        char buf[4096];

        if (cg_read(fd, "io.stat", buf, sizeof buf) < 0)
                return;
        for (char *line = buf, *next; line && *line && s->n_dev < SAMPLE_DEVICES; line = next) {
                unsigned maj, min;
                unsigned long long rb, wb, ri, wi;
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (sscanf(line, "%u:%u rbytes=%llu wbytes=%llu rios=%llu wios=%llu", &maj, &min, &rb, &wb, &ri,
                           &wi) != 6)
                        continue;
                snprintf(s->dev[s->n_dev].name, sizeof s->dev[0].name, "%u:%u", maj, min);
                s->dev[s->n_dev].v[D_RBYTES] = (double)rb;
                s->dev[s->n_dev].v[D_WBYTES] = (double)wb;
                s->dev[s->n_dev].v[D_RIOS] = (double)ri;
                s->dev[s->n_dev].v[D_WIOS] = (double)wi;
                s->n_dev++;
        }
}

static void read_hugetlb(int fd, sample *s) {
        char names[CG_PAGE_SIZES_MAX][16];
        size_t n = cg_page_sizes(names);
        cg_hugetlb hs;

        for (size_t i = 0; i < n && i < SAMPLE_PAGE_SIZES; i++) {
                __typeof__(s->huge[0]) *h = &s->huge[s->n_huge];
                if (cg_read_hugetlb(fd, names[i], &hs) < 0)
                        continue; /* the controller is not enabled here */
                memset(h, 0, sizeof *h);
                snprintf(h->name, sizeof h->name, "%s", names[i]);
                h->has[H_USAGE] = true;
                h->v[H_USAGE] = (double)hs.current;
                h->has[H_FAILCNT] = hs.has_hits;
                h->v[H_FAILCNT] = (double)hs.limit_hits;
                h->has[H_LIMIT] = hs.has_max;
                h->v[H_LIMIT] = hs.max == UINT64_MAX ? 0 : (double)hs.max;
                s->n_huge++;
        }
}

static void read_sample(int fd, sample *s) {
        char buf[4096];
        uint64_t v, inactive = 0;
        uint64_t q, p;

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
        if (cg_read_cpu_max(fd, &q, &p) >= 0) {
                set(s, M_CPU_QUOTA, q == UINT64_MAX ? 0 : (double)q);
                set(s, M_CPU_PERIOD, (double)p);
        }
        for (size_t i = 0; i < ELEMENTSOF(psi_files); i++) {
                cg_pressure psi;
                if (cg_read(fd, psi_files[i].file, buf, sizeof buf) < 0)
                        continue;
                if (cg_parse_pressure(buf, "some", &psi) == 0)
                        set(s, psi_files[i].some, (double)psi.total_us / 1e6);
                if (cg_parse_pressure(buf, "full", &psi) == 0)
                        set(s, psi_files[i].full, (double)psi.total_us / 1e6);
        }
        read_devices(fd, s);
        read_hugetlb(fd, s);
}

/* The names of the containers below N, in tree order. */
static int collect_names(node *n, render_job *job, size_t alloc) {
        char path[LMCT_NAME_MAX + 1];

        if (n->parent && job->n < alloc) {
                job->names[job->n] = strdup(tree_path(n, path, sizeof path));
                if (!job->names[job->n])
                        return -ENOMEM;
                job->n++;
        }
        for (size_t i = 0; i < n->n_children; i++)
                if (collect_names(n->children[i], job, alloc) < 0)
                        return -ENOMEM;
        return 0;
}

/* In the thread: reads every container's files (one that is gone by now
 * is left out) and renders the body, series by series, as the text format
 * asks. Touches nothing but JOB. */
static void render_work(void *p) {
        render_job *job = p;
        sample *samples = calloc(job->n ? job->n : 1, sizeof *samples);
        bool *seen = calloc(job->n ? job->n : 1, sizeof *seen);
        struct evbuffer *out = job->out;

        if (!samples || !seen) {
                free(samples);
                free(seen);
                job->r = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < job->n; i++) {
                _cleanup_close_ int fd = cg_open(job->rootfd, job->names[i]);
                if (fd < 0)
                        continue;
                read_sample(fd, &samples[i]);
                seen[i] = true;
        }
        /* Names hold no '"' or '\\' (container names are A-Z a-z 0-9 _ - /):
         * no escaping needed. */
        for (int k = 0; k < _M_MAX; k++) {
                evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", series[k].name, series[k].help,
                                    series[k].name, series[k].type);
                for (size_t i = 0; i < job->n; i++)
                        if (seen[i] && samples[i].has[k])
                                evbuffer_add_printf(out, "%s{name=\"%s\"} %.17g\n", series[k].name, job->names[i],
                                                    samples[i].v[k]);
        }
        for (int k = 0; k < _D_MAX; k++) {
                evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", dev_series[k].name, dev_series[k].help,
                                    dev_series[k].name, dev_series[k].type);
                for (size_t i = 0; i < job->n; i++)
                        for (size_t d = 0; seen[i] && d < samples[i].n_dev; d++)
                                evbuffer_add_printf(out, "%s{name=\"%s\",device=\"%s\"} %.17g\n", dev_series[k].name,
                                                    job->names[i], samples[i].dev[d].name, samples[i].dev[d].v[k]);
        }
        for (int k = 0; k < _H_MAX; k++) {
                evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", huge_series[k].name, huge_series[k].help,
                                    huge_series[k].name, huge_series[k].type);
                for (size_t i = 0; i < job->n; i++)
                        for (size_t h = 0; seen[i] && h < samples[i].n_huge; h++)
                                if (samples[i].huge[h].has[k])
                                        evbuffer_add_printf(out, "%s{name=\"%s\",pagesize=\"%s\"} %.17g\n",
                                                            huge_series[k].name, job->names[i],
                                                            samples[i].huge[h].name, samples[i].huge[h].v[k]);
        }
        evbuffer_add_printf(out,
                            "# HELP lmct_containers Containers lmctld manages\n# TYPE lmct_containers gauge\n"
                            "lmct_containers %zu\n"
                            "# HELP lmct_event_subscribers Open event subscriptions\n"
                            "# TYPE lmct_event_subscribers gauge\nlmct_event_subscribers %u\n",
                            job->containers, job->subscribers);
        free(samples);
        free(seen);
        job->r = 0;
}

static void render_free(void *p) {
        render_job *job = p;

        for (size_t i = 0; i < job->n; i++)
                free(job->names[i]);
        free(job->names);
        if (job->out)
                evbuffer_free(job->out);
        if (job->rootfd >= 0)
                close(job->rootfd);
        free(job);
}

static void respond(mconn *c, int code, const char *reason, struct evbuffer *body);
static void respond_text(mconn *c, int code, const char *reason, const char *text);

/* In the loop: the text goes to every scraper waiting for it. */
static void render_done(void *p) {
        render_job *job = p;
        metrics *mt = job->mt;
        size_t len = evbuffer_get_length(job->out);
        const char *text = job->r >= 0 ? (const char *)evbuffer_pullup(job->out, -1) : NULL;

        mt->render = NULL;
        for (mconn *c = mt->conns; c; c = c->conns_next) {
                struct evbuffer *body;
                if (!c->waiting)
                        continue;
                c->waiting = false;
                body = text || !len ? evbuffer_new() : NULL;
                if (!body || (len && evbuffer_add(body, text, len) < 0)) {
                        if (body)
                                evbuffer_free(body);
                        respond_text(c, 500, "Internal Server Error", "out of memory");
                } else
                        respond(c, 200, "OK", body);
        }
        render_free(job);
}

/* Starts a render, unless one is in progress (its text will do). */
static int render_start(metrics *mt) {
        size_t alloc = manager_count(mt->m);
        render_job *job;

        if (mt->render)
                return 0;
        job = calloc(1, sizeof *job);
        if (!job)
                return -ENOMEM;
        job->mt = mt;
        job->rootfd = fcntl(mt->m->rootfd, F_DUPFD_CLOEXEC, 3);
        job->names = calloc(alloc ? alloc : 1, sizeof *job->names);
        job->out = evbuffer_new();
        job->containers = manager_count(mt->m);
        job->subscribers = events_subscribers(mt->events);
        if (job->rootfd < 0 || !job->names || !job->out || collect_names(mt->m->root, job, alloc) < 0 ||
            offload_start(mt->base, render_work, render_done, render_free, job, &mt->render) < 0) {
                render_free(job);
                return -ENOMEM;
        }
        return 0;
}

static void mconn_free(mconn *c) {
        metrics *mt = c->mt;

        LIST_REMOVE(conns, mt->conns, c);
        event_free(c->ev_read);
        event_free(c->ev_write);
        event_free(c->deadline);
        evbuffer_free(c->in);
        evbuffer_free(c->out);
        release_fds(mt->m->releaser, mt->q, &c->fd, 1, 0, 0);
        free(c);
        if (mt->n_conns-- == METRICS_CONNS_MAX && mt->listener)
                evconnlistener_enable(mt->listener);
}

/* The answer: a status, the headers, BODY (taken, may be NULL). */
static void respond(mconn *c, int code, const char *reason, struct evbuffer *body) {
        size_t len = body ? evbuffer_get_length(body) : 0;

        evbuffer_add_printf(c->out,
                            "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                            code, reason, len);
        if (body) {
                evbuffer_add_buffer(c->out, body);
                evbuffer_free(body);
        }
        event_del(c->ev_read);
        event_add(c->ev_write, NULL);
}

static void respond_text(mconn *c, int code, const char *reason, const char *text) {
        struct evbuffer *b = evbuffer_new();

        if (b)
                evbuffer_add_printf(b, "%s\n", text);
        respond(c, code, reason, b);
}

/* The request line of a whole request head in C's input. */
static void answer(mconn *c) {
        char line[256], *method, *target, *version, *save = NULL;
        size_t n = evbuffer_copyout(c->in, line, sizeof line - 1) < 0 ? 0 : strcspn(line, "\r\n");

        line[n < sizeof line ? n : sizeof line - 1] = '\0';
        method = strtok_r(line, " ", &save);
        target = strtok_r(NULL, " ", &save);
        version = strtok_r(NULL, " ", &save);
        if (!method || !target || !version || strncmp(version, "HTTP/1.", 7) != 0) {
                respond_text(c, 400, "Bad Request", "not an HTTP/1 request");
                return;
        }
        if (strcmp(method, "GET") != 0) {
                respond_text(c, 405, "Method Not Allowed", "only GET");
                return;
        }
        if (strcmp(target, "/metrics") != 0 && strncmp(target, "/metrics?", 9) != 0) {
                respond_text(c, 404, "Not Found", "lmctld serves /metrics only");
                return;
        }
        if (render_start(c->mt) < 0) {
                respond_text(c, 500, "Internal Server Error", "out of memory");
                return;
        }
        /* Answered when the render is done; nothing more is read meanwhile. */
        c->waiting = true;
        event_del(c->ev_read);
}

static void on_mreadable(evutil_socket_t fd, short what, void *arg) {
        mconn *c = arg;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 253)];
        } control;
        char buf[4096];
        struct iovec iov = { buf, sizeof buf };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control };
        struct evbuffer_ptr end;
        ssize_t n;

        (void)what;
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        /* A descriptor sent on a Unix socket is let go off the loop. */
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        release_fds(c->mt->m->releaser, c->mt->q, (int *)CMSG_DATA(cm),
                                    (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int), 0, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                mconn_free(c);
                return;
        }
        evbuffer_add(c->in, buf, (size_t)n);
        end = evbuffer_search(c->in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0)
                end = evbuffer_search(c->in, "\n\n", 2, NULL);
        if (end.pos >= 0)
                answer(c);
        else if (evbuffer_get_length(c->in) > REQUEST_HEAD_MAX)
                respond_text(c, 431, "Request Header Fields Too Large", "request head over 8 KiB");
}

static void on_mwritable(evutil_socket_t fd, short what, void *arg) {
        mconn *c = arg;

        (void)what;
        if (evbuffer_write(c->out, fd) < 0 && errno != EAGAIN && errno != EINTR) {
                mconn_free(c);
                return;
        }
        if (evbuffer_get_length(c->out) == 0)
                mconn_free(c); /* answered: Connection: close */
}

static void on_mdeadline(evutil_socket_t fd, short what, void *arg) {
        (void)fd;
        (void)what;
        mconn_free(arg);
}

static void on_maccept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
        metrics *mt = arg;
        struct timeval tv = { METRICS_CONN_DEADLINE_S, 0 };
        mconn *c = calloc(1, sizeof *c);

        (void)l;
        (void)sa;
        (void)salen;
        if (c) {
                c->mt = mt;
                c->fd = fd;
                c->in = evbuffer_new();
                c->out = evbuffer_new();
                c->ev_read = event_new(mt->base, fd, EV_READ | EV_PERSIST, on_mreadable, c);
                c->ev_write = event_new(mt->base, fd, EV_WRITE | EV_PERSIST, on_mwritable, c);
                c->deadline = evtimer_new(mt->base, on_mdeadline, c);
        }
        if (!c || !c->in || !c->out || !c->ev_read || !c->ev_write || !c->deadline) {
                if (c) {
                        evbuffer_free_each((struct evbuffer *[]){ c->in, c->out }, 2);
                        event_free_each((struct event *[]){ c->ev_read, c->ev_write, c->deadline }, 3);
                        free(c);
                }
                release_fds(mt->m->releaser, mt->q, &fd, 1, 0, 0);
                return;
        }
        LIST_PREPEND(conns, mt->conns, c);
        event_add(c->ev_read, NULL);
        evtimer_add(c->deadline, &tv);
        if (++mt->n_conns == METRICS_CONNS_MAX)
                evconnlistener_disable(mt->listener);
}

static void on_backoff(evutil_socket_t fd, short what, void *arg) {
        metrics *mt = arg;

        (void)fd;
        (void)what;
        if (mt->listener && mt->n_conns < METRICS_CONNS_MAX)
                evconnlistener_enable(mt->listener);
}

/* accept() failed (no descriptor left): try again in a second, not at once. */
static void on_maccept_error(struct evconnlistener *l, void *arg) {
        metrics *mt = arg;
        int e = EVUTIL_SOCKET_ERROR();
        struct timeval tv = { 1, 0 };

        if (e == EAGAIN || e == EINTR || e == ECONNABORTED)
                return;
        evconnlistener_disable(l);
        evtimer_add(mt->backoff, &tv);
}

/* The socket of unix:PATH, its group GROUP (NULL: root's only). */
static int unix_socket(metrics *mt, const char *path, const char *group) {
        gid_t gid = (gid_t)-1;
        int fd;

        if (group) {
                struct group *gr = getgrnam(group);
                if (!gr) {
                        log_error("--metrics-group %s: no such group", group);
                        return -EINVAL;
                }
                gid = gr->gr_gid;
        }
        fd = listen_unix(path, group ? 0660 : 0600, gid);
        if (fd >= 0 && !(mt->unix_path = strdup(path))) {
                close(fd);
                return -ENOMEM;
        }
        return fd;
}

/* A listening TCP socket on ADDRESS:PORT. */
static int tcp_socket(const char *where) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
        struct addrinfo *ai = NULL;
        const char *colon = strrchr(where, ':');
        char host[64], port[8];
        unsigned long p;
        char *end;
        int fd, one = 1;

        if (!colon || (size_t)(colon - where) >= sizeof host) {
                log_error("--metrics-listen %s: give ADDRESS:PORT, such as 127.0.0.1:9101, or unix:PATH", where);
                return -EINVAL;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - where), where);
        p = strtoul(colon + 1, &end, 10);
        if (*end || p == 0 || p > 65535) {
                log_error("--metrics-listen %s: the port must be 1..65535", where);
                return -EINVAL;
        }
        snprintf(port, sizeof port, "%lu", p);
        if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9101 */
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = '\0';
        }
        if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
                log_error("--metrics-listen %s: %s is not a numeric address", where, host);
                return -EINVAL;
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
                int r = negerrno();
                log_error("cannot serve metrics on %s: %s", where, strerror(-r));
                if (fd >= 0)
                        close(fd);
                freeaddrinfo(ai);
                return r;
        }
        freeaddrinfo(ai);
        return fd;
}

int metrics_start(struct event_base *base, manager *m, events *ev, const char *listen, const char *group,
                  metrics **ret) {
        metrics *mt = calloc(1, sizeof *mt);
        int fd;

        if (!mt)
                return -ENOMEM;
        mt->m = m;
        mt->events = ev;
        mt->base = base;
        /* The page sizes, read once here: the render's thread only reads them. */
        (void)cg_page_sizes((char[CG_PAGE_SIZES_MAX][16]){ { 0 } });
        if (strncmp(listen, "unix:", 5) == 0)
                fd = unix_socket(mt, listen + 5, group);
        else if (group) {
                log_error("--metrics-group applies to a unix:PATH listener only");
                fd = -EINVAL;
        } else
                fd = tcp_socket(listen);
        if (fd < 0) {
                metrics_free(mt);
                return fd;
        }
        mt->q = quota_get("metrics clients", false);
        mt->backoff = evtimer_new(base, on_backoff, mt);
        mt->listener = evconnlistener_new(base, on_maccept, mt, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
        if (!mt->q || !mt->backoff || !mt->listener) {
                if (!mt->listener)
                        close(fd);
                metrics_free(mt);
                return -ENOMEM;
        }
        evconnlistener_set_error_cb(mt->listener, on_maccept_error);
        log_info("serving metrics on %s%s/metrics", strncmp(listen, "unix:", 5) == 0 ? "" : "http://", listen);
        *ret = mt;
        return 0;
}

metrics *metrics_free(metrics *mt) {
        if (!mt)
                return NULL;
        /* The thread frees its job once it is done reading. */
        if (mt->render)
                offload_abandon(mt->render);
        mt->render = NULL;
        if (mt->listener)
                evconnlistener_free(mt->listener);
        mt->listener = NULL;
        while (mt->conns)
                mconn_free(mt->conns);
        if (mt->backoff)
                event_free(mt->backoff);
        if (mt->unix_path) {
                (void)unlink(mt->unix_path);
                free(mt->unix_path);
        }
        quota_unref(mt->q);
        free(mt);
        return NULL;
}

#include "events.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "list.h"
#include "lmct-name.h"
#include "log.h"
#include "manager-internal.h"
#include "util.h"

#define QUEUE_MAX (256u << 10)
/* PSI triggers per subscription (three resources, some and full); per
 * principal and in all, quota.h bounds them (each holds a descriptor and
 * kernel work). */
#define TRIGGERS_PER_SUB 6
#define WINDOW_MIN_US 500000u
#define WINDOW_MAX_US 10000000u
/* memory_above: how often memory.current is read (cgroup v2 has no usage
 * threshold notification). */
#define MEMORY_SAMPLE_MS 100

static const char *const psi_resources[] = { "cpu", "memory", "io" };
#define N_PSI 3

enum { F_EVENTS, F_MEMORY, F_PIDS, _F_MAX };
static const char *const files[_F_MAX] = { "cgroup.events", "memory.events", "pids.events" };

/* memory.events keys reported, and the event each becomes. */
static const char *const mem_keys[] = { "high", "max", "oom", "oom_kill" };
static const char *const mem_kinds[] = { "memory_high", "memory_max", "oom", "oom_kill" };
#define N_MEM 4

typedef struct watched {
        char *name;              /* the container's full name */
        int file;                /* F_* */
        uint64_t last[N_MEM];    /* memory: own counters; pids: max */
        bool populated, frozen;
        bool empty_held;         /* "empty" waits for the command's exit status */
} watched;

struct subscriber;

/* A PSI trigger held open for one subscription. */
typedef struct trigger {
        struct subscriber *s;
        int resource;            /* index in psi_resources */
        bool full;
        uint64_t stall_us, window_us;
        int fd;                  /* the *.pressure file the trigger was written to */
        struct event *ev;
        uint64_t total_us;       /* the stall total when last reported */
        bool armed;              /* past the readiness epoll reports at once */
} trigger;

typedef struct subscriber {
        events *e;
        const void *owner;
        event_sink sink;
        char *name;              /* full name; "" for the root */
        bool recursive;
        uint64_t dropped;
        /* memory_above: memory.current, and memory.peak while it is below
         * the threshold (it catches a crossing between two readings). */
        uint64_t mem_above;
        int mem_fd, peak_fd;
        bool above;
        trigger *trig;
        size_t n_trig;
        bool gone;               /* its connection closed while events walked the list */
        quota *q;                /* its principal, and what it holds of its bounds */
        unsigned held_triggers;
        bool held_sub, held_threshold;
        LIST_FIELDS(struct subscriber, subs);
} subscriber;

struct events {
        manager *m;
        bool (*run_waiting)(manager *m, const char *name);
        int ifd;
        struct event *ev;
        watched **by_wd;         /* indexed by inotify watch descriptor */
        size_t n_wd;
        subscriber *subs;
        unsigned n_subs;
        unsigned n_triggers;
        /* One timer reads every memory threshold (n_thresholds of them). */
        struct event *mem_timer;
        unsigned n_thresholds;
        /* Inside a walk of the subscribers (or of the watches), sending
         * may close a connection: its subscriptions are only marked gone,
         * and freed once the walk is over. */
        unsigned busy;
        bool reap;
        bool warned;
};

static void sub_free(events *e, subscriber *s);
static void on_changed(void *userdata, const char *kind, const char *name, uid_t uid, pid_t pid);
static void on_run_ended(void *userdata, const char *name);

static void enter(events *e) {
        e->busy++;
}

static void leave(events *e) {
        subscriber *s, *next;

        if (--e->busy > 0 || !e->reap)
                return;
        e->reap = false;
        LIST_FOREACH_SAFE(subs, s, next, e->subs)
                if (s->gone)
                        sub_free(e, s);
}

static uint64_t now_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Whether a subscription to SUB covers container NAME. */
static bool covers(const subscriber *s, const char *name) {
        size_t l = strlen(s->name);

        if (l == 0)
                return s->recursive ? true : strchr(name, '/') == NULL;
        if (strncmp(name, s->name, l) != 0)
                return false;
        if (name[l] == '\0')
                return true;
        return name[l] == '/' && (s->recursive || strchr(name + l + 1, '/') == NULL);
}

static Lmct__V1__Event *ev_make(const char *kind, const char *name) {
        Lmct__V1__Event *ev = malloc(sizeof *ev);

        if (!ev)
                return NULL;
        lmct__v1__event__init(ev);
        ev->kind = strdup(kind);
        ev->name = strdup(name);
        ev->has_time_ns = true;
        ev->time_ns = now_ns();
        if (!ev->kind || !ev->name) {
                lmct__v1__event__free_unpacked(ev, NULL);
                return NULL;
        }
        return ev;
}

/* Queues EV (owned, named as S's caller sees it) for S, or counts it as
 * dropped if S has too much unread already. */
static void send_event(subscriber *s, Lmct__V1__Event *ev) {
        if (s->sink.pending(s->sink.userdata) > QUEUE_MAX) {
                s->dropped++;
                lmct__v1__event__free_unpacked(ev, NULL);
                return;
        }
        if (s->dropped) {
                Lmct__V1__Event *d = ev_make("dropped", "");
                int r = d ? -ENOMEM : 0;
                if (d) {
                        d->has_count = true;
                        d->count = s->dropped;
                        r = s->sink.send(s->sink.userdata, d);
                }
                if (r != -ENOMEM)
                        s->dropped = 0;
                if (r == -EPIPE) {
                        /* That send closed the connection: S is only marked
                         * gone (callers walk inside enter). */
                        lmct__v1__event__free_unpacked(ev, NULL);
                        return;
                }
        }
        if (s->sink.send(s->sink.userdata, ev) == -ENOMEM)
                s->dropped++;
}

/* Full name NAME as S's caller names it ("/" for its root; the full name
 * if it cannot see it). */
static const char *shown_to(const subscriber *s, const char *name) {
        const char *rel = s->sink.relative(s->sink.userdata, name);

        return rel ? (*rel ? rel : "/") : name;
}

/* An event of KIND about container NAME (full), named for S's caller. */
static Lmct__V1__Event *ev_for(const subscriber *s, const char *kind, const char *name) {
        return ev_make(kind, shown_to(s, name));
}
/* Sends a copy of EV to S. */
static void deliver(subscriber *s, const Lmct__V1__Event *ev) {
        Lmct__V1__Event *copy;

        if (s->sink.pending(s->sink.userdata) > QUEUE_MAX) {
                s->dropped++;
                return;
        }
        copy = ev_for(s, ev->kind, ev->name);
        if (!copy) {
                s->dropped++;
                return;
        }
        copy->time_ns = ev->time_ns;
        copy->has_count = ev->has_count;
        copy->count = ev->count;
        copy->has_uid = ev->has_uid;
        copy->uid = ev->uid;
        copy->has_pid = ev->has_pid;
        copy->pid = ev->pid;
        if (ev->last_run) {
                copy->last_run = malloc(sizeof *copy->last_run);
                if (copy->last_run) {
                        *copy->last_run = *ev->last_run;
                        copy->last_run->log_path = NULL;
                        copy->last_run->error = NULL;
                }
        }
        send_event(s, copy);
}

static void publish(events *e, Lmct__V1__Event *ev) {
        enter(e);
        for (subscriber *s = e->subs; s; s = s->subs_next)
                if (!s->gone && covers(s, ev->name))
                        deliver(s, ev);
        leave(e);
        lmct__v1__event__free_unpacked(ev, NULL);
}

static void emit(events *e, const char *kind, const char *name, uint64_t count) {
        Lmct__V1__Event *ev = ev_make(kind, name);

        if (!ev)
                return;
        if (count) {
                ev->has_count = true;
                ev->count = count;
        }
        publish(e, ev);
}

/* The memory.events counters of container N itself: its subtree's less its
 * subcontainers' subtrees'. */
static void own_memory_events(manager *m, node *n, int fd, uint64_t out[N_MEM]) {
        char buf[1024];

        memset(out, 0, N_MEM * sizeof *out);
        if (cg_read(fd, "memory.events", buf, sizeof buf) < 0)
                return;
        for (int k = 0; k < N_MEM; k++)
                (void)cg_parse_key(buf, mem_keys[k], &out[k]);
        for (size_t i = 0; i < n->n_children; i++) {
                status ignored;
                _cleanup_close_ int cfd = open_node(m, n->children[i], &ignored);
                uint64_t v;
                if (cfd < 0 || cg_read(cfd, "memory.events", buf, sizeof buf) < 0)
                        continue;
                for (int k = 0; k < N_MEM; k++)
                        if (cg_parse_key(buf, mem_keys[k], &v) >= 0)
                                out[k] = out[k] > v ? out[k] - v : 0;
        }
}

/* Reads W's file now: the state to compare later changes against, and
 * with REPORT the events since the last reading. */
static void refresh(events *e, watched *w, bool report) {
        node *n = tree_lookup(e->m->root, w->name, NULL, NULL);
        status ignored;
        _cleanup_close_ int fd = -1;
        char buf[512];
        uint64_t v;

        if (!n)
                return;
        fd = open_node(e->m, n, &ignored);
        if (fd < 0)
                return;
        if (w->file == F_EVENTS) {
                bool populated = false, frozen = false;
                if (cg_read(fd, "cgroup.events", buf, sizeof buf) < 0)
                        return;
                if (cg_parse_key(buf, "populated", &v) >= 0)
                        populated = v;
                if (cg_parse_key(buf, "frozen", &v) >= 0)
                        frozen = v;
                /* The command lmctld ran may leave the cgroup a moment before
                 * it is reaped: its exit status is awaited (events_run_ended). */
                if (report && !populated && w->populated && e->run_waiting && e->run_waiting(e->m, w->name)) {
                        w->empty_held = true;
                        report = false;
                        w->populated = false;
                }
                if (report && populated != w->populated) {
                        Lmct__V1__Event *ev = ev_make(populated ? "populated" : "empty", w->name);
                        if (ev && !populated && n->last_run)
                                ev->last_run = run_result_message(n->last_run, false, NULL);
                        if (ev)
                                publish(e, ev);
                }
                if (report && frozen != w->frozen)
                        emit(e, frozen ? "frozen" : "thawed", w->name, 0);
                w->populated = populated;
                w->frozen = frozen;
        } else if (w->file == F_MEMORY) {
                uint64_t now[N_MEM];
                own_memory_events(e->m, n, fd, now);
                for (int k = 0; k < N_MEM; k++) {
                        if (report && now[k] > w->last[k])
                                emit(e, mem_kinds[k], w->name, now[k] - w->last[k]);
                        w->last[k] = now[k];
                }
        } else {
                v = 0;
                if (cg_read(fd, "pids.events", buf, sizeof buf) >= 0)
                        (void)cg_parse_key(buf, "max", &v);
                if (report && v > w->last[0])
                        emit(e, "pids_max", w->name, v - w->last[0]);
                w->last[0] = v;
        }
}

static void unwatch(events *e, int wd) {
        if (wd < 0 || (size_t)wd >= e->n_wd || !e->by_wd[wd])
                return;
        free(e->by_wd[wd]->name);
        free(e->by_wd[wd]);
        e->by_wd[wd] = NULL;
}

/* Watches the files of container NAME (N). */
static void watch_node(events *e, node *n, const char *name) {
        status ignored;
        _cleanup_close_ int fd = open_node(e->m, n, &ignored);

        if (fd < 0)
                return;
        for (int f = 0; f < _F_MAX; f++) {
                char path[64];
                watched *w;
                int wd;

                snprintf(path, sizeof path, "/proc/self/fd/%d/%s", fd, files[f]);
                wd = inotify_add_watch(e->ifd, path, IN_MODIFY);
                if (wd < 0) {
                        if (errno != ENOENT && !e->warned) {
                                log_warning("cannot watch %s/%s: %m (events from it will be missing)", name,
                                            files[f]);
                                e->warned = true;
                        }
                        continue;
                }
                if ((size_t)wd >= e->n_wd) {
                        size_t nn = (size_t)wd * 2 + 16;
                        watched **nv = realloc(e->by_wd, nn * sizeof *nv);
                        if (!nv)
                                continue;
                        memset(nv + e->n_wd, 0, (nn - e->n_wd) * sizeof *nv);
                        e->by_wd = nv;
                        e->n_wd = nn;
                }
                if (e->by_wd[wd])
                        continue; /* the same file, watched already */
                w = calloc(1, sizeof *w);
                if (!w || !(w->name = strdup(name))) {
                        free(w);
                        inotify_rm_watch(e->ifd, wd);
                        continue;
                }
                w->file = f;
                e->by_wd[wd] = w;
                refresh(e, w, false);
        }
}

static void watch_all(events *e, node *n) {
        char path[LMCT_NAME_MAX + 1];

        if (n->parent)
                watch_node(e, n, tree_path(n, path, sizeof path));
        for (size_t i = 0; i < n->n_children; i++)
                watch_all(e, n->children[i]);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg) {
        events *e = arg;
        char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        (void)what;
        enter(e);
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ie = (struct inotify_event *)p;
                        p += sizeof *ie + ie->len;
                        if (ie->mask & IN_IGNORED)
                                unwatch(e, ie->wd);
                        else if (ie->wd >= 0 && (size_t)ie->wd < e->n_wd && e->by_wd[ie->wd])
                                refresh(e, e->by_wd[ie->wd], true);
                }
        }
        leave(e);
}

static int read_u64_at(int fd, uint64_t *ret) {
        char buf[32], *end;
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

        if (n < 0)
                return negerrno();
        buf[n] = '\0';
        errno = 0;
        *ret = strtoull(buf, &end, 10);
        return end == buf || errno ? -EIO : 0;
}

static void memory_stop(subscriber *s) {
        events *e = s->e;

        if (s->mem_fd >= 0) {
                close(s->mem_fd);
                if (--e->n_thresholds == 0 && e->mem_timer)
                        event_del(e->mem_timer);
        }
        if (s->peak_fd >= 0)
                close(s->peak_fd);
        s->mem_fd = s->peak_fd = -1;
}

static void memory_event(subscriber *s, const char *kind, uint64_t bytes) {
        Lmct__V1__Event *ev = ev_for(s, kind, s->name);

        if (!ev) {
                s->dropped++;
                return;
        }
        ev->has_memory_bytes = ev->has_threshold = true;
        ev->memory_bytes = bytes;
        ev->threshold = s->mem_above;
        send_event(s, ev);
}

/* One reading of S's threshold. */
static void memory_check(subscriber *s) {
        uint64_t cur, peak = 0;

        if (read_u64_at(s->mem_fd, &cur) < 0) {
                memory_stop(s); /* the container is gone: "destroyed" says so */
                return;
        }
        if (s->peak_fd >= 0 && read_u64_at(s->peak_fd, &peak) < 0)
                peak = 0;
        if (!s->above && (cur >= s->mem_above || peak >= s->mem_above)) {
                s->above = true;
                memory_event(s, "memory_above", cur >= s->mem_above ? cur : peak);
        } else if (s->above && cur < s->mem_above) {
                s->above = false;
                memory_event(s, "memory_below", cur);
        }
        if (s->peak_fd >= 0 && peak >= s->mem_above) {
                close(s->peak_fd); /* it never falls again: it tells nothing more */
                s->peak_fd = -1;
        }
}

/* Every 100 ms while any subscription has a threshold: one wakeup reads
 * them all. */
static void on_memory_tick(evutil_socket_t fd, short what, void *arg) {
        events *e = arg;

        (void)fd;
        (void)what;
        enter(e);
        for (subscriber *s = e->subs; s; s = s->subs_next)
                if (!s->gone && s->mem_fd >= 0)
                        memory_check(s);
        leave(e);
}

/* T's line (some or full) of its *.pressure file, read through the
 * descriptor that holds the trigger. */
static int trigger_read(const trigger *t, cg_pressure *p) {
        char buf[256];
        ssize_t n = pread(t->fd, buf, sizeof buf - 1, 0);

        if (n <= 0)
                return n < 0 ? negerrno() : -ENODATA;
        buf[n] = '\0';
        return cg_parse_pressure(buf, t->full ? "full" : "some", p);
}

static void trigger_stop(trigger *t) {
        if (t->ev)
                event_free(t->ev);
        t->ev = NULL;
        if (t->fd >= 0) {
                close(t->fd);
                t->s->e->n_triggers--;
        }
        t->fd = -1;
}

static void pressure_fired(trigger *t);

/* The trigger fired. The file's readiness is edge-triggered: one call per
 * wakeup of the kernel's trigger, plus one as the descriptor is added (its
 * file always polls readable); that one counts only if the stall since the
 * trigger was made reached its threshold. */
static void on_pressure(evutil_socket_t fd, short what, void *arg) {
        trigger *t = arg;
        events *e = t->s->e;

        (void)fd;
        (void)what;
        /* Sending may close the connection: its subscriptions (T's among
         * them) are freed only once this is over. */
        enter(e);
        if (!t->s->gone)
                pressure_fired(t);
        leave(e);
}

static void pressure_fired(trigger *t) {
        cg_pressure p;
        Lmct__V1__Event *ev;
        bool first = !t->armed;

        t->armed = true;
        if (trigger_read(t, &p) < 0) {
                trigger_stop(t); /* the container is gone */
                return;
        }
        if (first && p.total_us - t->total_us < t->stall_us)
                return;
        t->total_us = p.total_us;
        ev = ev_for(t->s, "pressure", t->s->name);
        if (ev && (ev->trigger = malloc(sizeof *ev->trigger))) {
                lmct__v1__pressure_trigger__init(ev->trigger);
                ev->trigger->resource = strdup(psi_resources[t->resource]);
                ev->trigger->has_full = ev->trigger->has_stall_us = ev->trigger->has_window_us = true;
                ev->trigger->full = t->full;
                ev->trigger->stall_us = t->stall_us;
                ev->trigger->window_us = t->window_us;
                ev->pressure = pressure_message(&p);
        }
        if (!ev || !ev->trigger || !ev->trigger->resource || !ev->pressure) {
                if (ev)
                        lmct__v1__event__free_unpacked(ev, NULL);
                t->s->dropped++;
                return;
        }
        send_event(t->s, ev);
}

static bool have_capability(unsigned cap) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];

        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[cap / 32].effective & (1u << (cap % 32));
}

/* Writes trigger T to its file in the cgroup DIRFD. */
static int trigger_start(events *e, trigger *t, int dirfd, const char *shown, status *st) {
        char file[32], spec[64];
        cg_pressure p;
        int len;

        snprintf(file, sizeof file, "%s.pressure", psi_resources[t->resource]);
        t->fd = openat(dirfd, file, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (t->fd < 0) {
                int r = negerrno();
                if (r == -ENOENT)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                       "%s has no %s: the kernel does not account pressure (PSI)", shown, file);
                return st_fail(st, st_code_from_errno(r), r, "cannot open %s of %s: %s", file, shown, strerror(-r));
        }
        e->n_triggers++;
        if (trigger_read(t, &p) == 0)
                t->total_us = p.total_us;
        len = snprintf(spec, sizeof spec, "%s %llu %llu", t->full ? "full" : "some",
                       (unsigned long long)t->stall_us, (unsigned long long)t->window_us);
        if (write(t->fd, spec, (size_t)len + 1) < 0) {
                int r = negerrno();
                /* Since Linux 6.5 a writer without CAP_SYS_RESOURCE gets
                 * windows of whole multiples of 2 s only. */
                bool unprivileged = r == -EINVAL && t->window_us % 2000000 && !have_capability(CAP_SYS_RESOURCE);
                return st_fail(st, r == -EINVAL ? LMCT__V1__CODE__INVALID_ARGUMENT : st_code_from_errno(r), r,
                               "the kernel refused the trigger \"%s\" on %s of %s: %s%s", spec, file, shown,
                               strerror(-r),
                               unprivileged ? " (lmctld lacks CAP_SYS_RESOURCE: windows must be whole multiples "
                                              "of 2 s)"
                                            : "");
        }
        t->ev = event_new(e->m->base, t->fd, EV_READ | EV_ET | EV_PERSIST, on_pressure, t);
        if (!t->ev || event_add(t->ev, NULL) < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "cannot watch %s of %s", file,
                               shown);
        return 0;
}

/* Takes N of kind K of the subscriber's principal's bounds. */
static int hold(subscriber *s, quota_kind k, size_t n, status *st) {
        int r = quota_take(s->q, k, n);

        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r, "%s holds %llu %s already (at most %llu%s)",
                               quota_key(s->q), (unsigned long long)quota_used(s->q, k), quota_kind_name(k),
                               (unsigned long long)(r == -EDQUOT ? quota_limit(s->q, k) : quota_global_limit(k)),
                               r == -EDQUOT ? "" : " in all, some kept for root");
        return 0;
}

/* REQ's threshold and triggers, checked before any is set up. */
static int check_options(const Lmct__V1__EventsRequest *req, status *st) {
        if (req->has_memory_above && req->memory_above == 0)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                               "memory_above must be at least 1 byte");
        if (req->n_pressure > TRIGGERS_PER_SUB)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG,
                               "%zu pressure triggers: at most %d per subscription", req->n_pressure,
                               TRIGGERS_PER_SUB);
        for (size_t i = 0; i < req->n_pressure; i++) {
                const Lmct__V1__PressureTrigger *pt = req->pressure[i];
                int k;
                for (k = 0; k < N_PSI; k++)
                        if (pt->resource && strcmp(pt->resource, psi_resources[k]) == 0)
                                break;
                if (k == N_PSI) {
                        /* Quoted only when it is a plain word: the message stays one line. */
                        bool word = pt->resource && *pt->resource && strlen(pt->resource) <= 32;
                        for (const char *p = pt->resource; word && *p; p++)
                                word = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "pressure trigger %zu: resource %s%s%s is not cpu, memory or io", i + 1,
                                       word ? "\"" : "", word ? pt->resource : "(unprintable or empty)",
                                       word ? "\"" : "");
                }
                if (pt->window_us < WINDOW_MIN_US || pt->window_us > WINDOW_MAX_US)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "pressure trigger %zu: a window of %llu us is outside %u..%u", i + 1,
                                       (unsigned long long)pt->window_us, WINDOW_MIN_US, WINDOW_MAX_US);
                if (pt->stall_us < 1 || pt->stall_us > pt->window_us)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "pressure trigger %zu: a stall of %llu us is outside 1..%llu (its window)",
                                       i + 1, (unsigned long long)pt->stall_us,
                                       (unsigned long long)pt->window_us);
        }
        return 0;
}

/* S's memory threshold ABOVE on the container DIRFD (SHOWN to its caller):
 * memory.current read on E's timer, and memory.peak while usage is below. */
static int memory_start(events *e, subscriber *s, int dirfd, uint64_t above, const char *shown, status *st) {
        uint64_t cur, peak;
        struct timeval tv = { 0, MEMORY_SAMPLE_MS * 1000 };
        int r;

        s->mem_above = above;
        s->mem_fd = openat(dirfd, "memory.current", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (s->mem_fd < 0) {
                r = negerrno();
                if (r == -ENOENT)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                       "%s has no memory.current: the memory controller is not enabled there", shown);
                return st_fail(st, st_code_from_errno(r), r, "cannot open memory.current of %s: %s", shown,
                               strerror(-r));
        }
        e->n_thresholds++; /* memory_stop counts it off */
        /* A peak already past the threshold tells nothing new. */
        s->peak_fd = openat(dirfd, "memory.peak", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (s->peak_fd >= 0 && read_u64_at(s->peak_fd, &peak) == 0 && peak >= s->mem_above) {
                close(s->peak_fd);
                s->peak_fd = -1;
        }
        if (read_u64_at(s->mem_fd, &cur) < 0)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EIO, "cannot read memory.current of %s",
                               shown);
        /* Usage above already: the first reading reports it. */
        if (!e->mem_timer && !(e->mem_timer = event_new(e->m->base, -1, EV_PERSIST, on_memory_tick, e)))
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        if (!event_pending(e->mem_timer, EV_TIMEOUT, NULL) && event_add(e->mem_timer, &tv) < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

/* S's PSI triggers (REQ's, checked) on the container DIRFD. */
static int triggers_start(events *e, subscriber *s, int dirfd, const Lmct__V1__EventsRequest *req, const char *shown,
                          status *st) {
        s->trig = calloc(req->n_pressure, sizeof *s->trig);
        if (!s->trig)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        for (size_t i = 0; i < req->n_pressure; i++) {
                const Lmct__V1__PressureTrigger *pt = req->pressure[i];
                trigger *t = &s->trig[s->n_trig++];
                int r;

                t->s = s;
                t->fd = -1;
                for (t->resource = 0; strcmp(pt->resource, psi_resources[t->resource]) != 0; t->resource++)
                        ;
                t->full = pt->full;
                t->stall_us = pt->stall_us;
                t->window_us = pt->window_us;
                r = trigger_start(e, t, dirfd, shown, st);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The options of a subscription to S->name: a memory threshold and PSI
 * triggers, all checked before any is set up. */
static int sub_options(events *e, subscriber *s, const Lmct__V1__EventsRequest *req, status *st) {
        const char *shown = shown_to(s, s->name);
        _cleanup_close_ int owned = -1;
        int dirfd, r;
        node *n;

        r = check_options(req, st);
        if (r < 0 || (!req->has_memory_above && req->n_pressure == 0))
                return r;
        if (req->n_pressure && (r = hold(s, Q_TRIGGERS, req->n_pressure, st)) < 0)
                return r;
        s->held_triggers = (unsigned)req->n_pressure;
        if (req->has_memory_above && (r = hold(s, Q_THRESHOLDS, 1, st)) < 0)
                return r;
        s->held_threshold = req->has_memory_above;
        n = tree_lookup(e->m->root, s->name, NULL, NULL);
        if (!n)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "%s does not exist", shown);
        /* A threshold needs the container's memory accounted: turned on
         * down to it, as for a limit, with no limit set. */
        if (req->has_memory_above && n->parent && (r = ensure_controllers(e->m, n->parent, CG_MASK(CG_MEMORY), st)) < 0)
                return r;
        dirfd = node_fd(e->m, n, st, &owned);
        if (dirfd < 0)
                return dirfd;
        if (req->has_memory_above && (r = memory_start(e, s, dirfd, req->memory_above, shown, st)) < 0)
                return r;
        if (req->n_pressure)
                return triggers_start(e, s, dirfd, req, shown, st);
        return 0;
}

/* Frees S, which is not (or no longer) in E's list. */
static void sub_destroy(subscriber *s) {
        memory_stop(s);
        for (size_t i = 0; i < s->n_trig; i++)
                trigger_stop(&s->trig[i]);
        free(s->trig);
        if (s->q) {
                quota_give(s->q, Q_TRIGGERS, s->held_triggers);
                quota_give(s->q, Q_THRESHOLDS, s->held_threshold);
                quota_give(s->q, Q_SUBS, s->held_sub);
                quota_unref(s->q);
        }
        if (s->sink.free)
                s->sink.free(s->sink.userdata);
        free(s->name);
        free(s);
}

int events_new(manager *m, bool (*run_waiting)(manager *m, const char *name), events **ret) {
        events *e = calloc(1, sizeof *e);

        if (!e)
                return -ENOMEM;
        e->m = m;
        e->run_waiting = run_waiting;
        m->observer = (manager_observer){ on_changed, on_run_ended, e };
        e->ifd = -1;
        *ret = e;
        return 0;
}

/* Stops watching once nobody listens. */
static void stop_watching(events *e) {
        if (e->ev)
                event_free(e->ev);
        e->ev = NULL;
        if (e->ifd >= 0)
                close(e->ifd);
        e->ifd = -1;
        for (size_t i = 0; i < e->n_wd; i++)
                if (e->by_wd[i]) {
                        free(e->by_wd[i]->name);
                        free(e->by_wd[i]);
                }
        free(e->by_wd);
        e->by_wd = NULL;
        e->n_wd = 0;
}

static void sub_free(events *e, subscriber *s) {
        if (e->busy) {
                s->gone = true; /* freed once the walk is over (leave) */
                e->reap = true;
                return;
        }
        LIST_REMOVE(subs, e->subs, s);
        e->n_subs--;
        sub_destroy(s);
        if (e->n_subs == 0)
                stop_watching(e);
}

events *events_free(events *e) {
        if (!e)
                return NULL;
        if (e->m->observer.userdata == e)
                e->m->observer = (manager_observer){ 0 };
        while (e->subs)
                sub_free(e, e->subs);
        stop_watching(e);
        if (e->mem_timer)
                event_free(e->mem_timer);
        free(e);
        return NULL;
}

int events_subscribe(events *e, const void *owner, quota *q, const char *name, const Lmct__V1__EventsRequest *req,
                     const event_sink *sink, Lmct__V1__Event **ret, status *st) {
        subscriber *s;
        unsigned mine = 0;
        int r;

        LIST_FOREACH(subs, s, e->subs)
                mine += s->owner == owner;
        if (mine >= 16)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -EBUSY,
                               "this connection has %u event subscriptions already", mine);
        s = calloc(1, sizeof *s);
        if (!s || !(s->name = strdup(name ? name : ""))) {
                free(s);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        s->e = e;
        s->owner = owner;
        s->sink = *sink;
        s->recursive = req->recursive;
        s->mem_fd = s->peak_fd = -1;
        s->q = quota_ref(q);
        r = hold(s, Q_SUBS, 1, st);
        s->held_sub = r >= 0;
        if (r >= 0)
                r = sub_options(e, s, req, st);
        if (r < 0) {
                s->sink.free = NULL; /* not taken */
                sub_destroy(s);
                return r;
        }
        if (e->ifd < 0) {
                e->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (e->ifd < 0) {
                        r = st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, negerrno(), "cannot watch: %m");
                        s->sink.free = NULL; /* not taken */
                        sub_destroy(s);
                        return r;
                }
                e->ev = event_new(e->m->base, e->ifd, EV_READ | EV_PERSIST, on_inotify, e);
                if (!e->ev || event_add(e->ev, NULL) < 0) {
                        stop_watching(e);
                        s->sink.free = NULL; /* not taken */
                        sub_destroy(s);
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
                }
                watch_all(e, e->m->root);
        }
        LIST_PREPEND(subs, e->subs, s);
        e->n_subs++;
        *ret = ev_make("subscribed", name ? name : "");
        return 0;
}

void events_owner_gone(events *e, const void *owner) {
        subscriber *s, *next;

        LIST_FOREACH_SAFE(subs, s, next, e->subs)
                if (s->owner == owner)
                        sub_free(e, s);
}

/* lmctld changed container NAME (KIND: created, updated, destroyed) for
 * the caller UID/PID (the manager's observer). */
static void on_changed(void *userdata, const char *kind, const char *name, uid_t uid, pid_t pid) {
        events *e = userdata;
        Lmct__V1__Event *ev;
        node *n;

        if (!e || e->n_subs == 0)
                return;
        if (strcmp(kind, "created") == 0 && (n = tree_lookup(e->m->root, name, NULL, NULL)))
                watch_node(e, n, name);
        ev = ev_make(kind, name);
        if (!ev)
                return;
        if (uid != (uid_t)-1) {
                ev->has_uid = ev->has_pid = true;
                ev->uid = uid;
                ev->pid = pid;
        }
        publish(e, ev);
}

/* The command lmctld started in NAME was reaped: an "empty" event held
 * back for its exit status goes out now (the manager's observer). */
static void on_run_ended(void *userdata, const char *name) {
        events *e = userdata;

        if (!e || e->n_subs == 0)
                return;
        enter(e);
        for (size_t i = 0; i < e->n_wd; i++) {
                watched *w = e->by_wd[i];
                if (w && w->file == F_EVENTS && w->empty_held && strcmp(w->name, name) == 0) {
                        w->empty_held = false;
                        w->populated = true; /* report the change now */
                        refresh(e, w, true);
                }
        }
        leave(e);
}

unsigned events_subscribers(const events *e) {
        return e ? e->n_subs : 0;
}

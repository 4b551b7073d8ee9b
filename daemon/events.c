#include "events.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "cgroup.h"
#include "dispatch.h"
#include "lmct-name.h"
#include "log.h"
#include "manager-internal.h"
#include "runs.h"
#include "util.h"

#define QUEUE_MAX (256u << 10)

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

typedef struct subscriber {
        conn *c;
        uint64_t id;
        char *name;              /* full name; "" for the root */
        bool recursive;
        uint64_t dropped;
        struct subscriber *prev, *next;
} subscriber;

struct events {
        manager *m;
        int ifd;
        struct event *ev;
        watched **by_wd;         /* indexed by inotify watch descriptor */
        size_t n_wd;
        subscriber *subs;
        unsigned n_subs;
        bool warned;
};

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

/* Sends a copy of EV (with its name as S's caller sees it) to S, or counts
 * it as dropped if S has too much unread already. */
static void deliver(subscriber *s, const Lmct__V1__Event *ev) {
        const caller *who = conn_caller(s->c);
        Lmct__V1__Response *resp;
        Lmct__V1__Event *copy;
        const char *rel;

        if (conn_output_pending(s->c) > QUEUE_MAX) {
                s->dropped++;
                return;
        }
        if (s->dropped) {
                Lmct__V1__Event *d = ev_make("dropped", "");
                resp = d ? response_new(s->id, NULL) : NULL;
                if (resp) {
                        d->has_count = true;
                        d->count = s->dropped;
                        resp->result_case = LMCT__V1__RESPONSE__RESULT_EVENT;
                        resp->event = d;
                        conn_send(s->c, resp);
                        s->dropped = 0;
                } else if (d)
                        lmct__v1__event__free_unpacked(d, NULL);
        }
        rel = caller_relative(who, ev->name);
        copy = ev_make(ev->kind, rel ? (*rel ? rel : "/") : ev->name);
        resp = copy ? response_new(s->id, NULL) : NULL;
        if (!resp) {
                if (copy)
                        lmct__v1__event__free_unpacked(copy, NULL);
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
        resp->result_case = LMCT__V1__RESPONSE__RESULT_EVENT;
        resp->event = copy;
        conn_send(s->c, resp);
}

static void publish(events *e, Lmct__V1__Event *ev) {
        for (subscriber *s = e->subs; s; s = s->next)
                if (covers(s, ev->name))
                        deliver(s, ev);
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
                if (report && !populated && w->populated && runs_waiting_in(e->m, w->name)) {
                        w->empty_held = true;
                        report = false;
                        w->populated = false;
                }
                if (report && populated != w->populated) {
                        Lmct__V1__Event *ev = ev_make(populated ? "populated" : "empty", w->name);
                        if (ev && !populated && n->last_run) {
                                Lmct__V1__RunResult *rr = malloc(sizeof *rr);
                                if (rr) {
                                        lmct__v1__run_result__init(rr);
                                        rr->has_pid = rr->has_exited = true;
                                        rr->pid = n->last_run->pid;
                                        rr->exited = n->last_run->exited;
                                        rr->has_exit_code = n->last_run->exited && !n->last_run->signal;
                                        rr->exit_code = n->last_run->exit_code;
                                        rr->has_signal = n->last_run->signal != 0;
                                        rr->signal = n->last_run->signal;
                                        ev->last_run = rr;
                                }
                        }
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
}

int events_new(manager *m, events **ret) {
        events *e = calloc(1, sizeof *e);

        if (!e)
                return -ENOMEM;
        e->m = m;
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
        if (s->prev)
                s->prev->next = s->next;
        else
                e->subs = s->next;
        if (s->next)
                s->next->prev = s->prev;
        e->n_subs--;
        conn_unref(s->c);
        free(s->name);
        free(s);
        if (e->n_subs == 0)
                stop_watching(e);
}

events *events_free(events *e) {
        if (!e)
                return NULL;
        while (e->subs)
                sub_free(e, e->subs);
        stop_watching(e);
        free(e);
        return NULL;
}

int events_subscribe(events *e, conn *c, uint64_t id, const char *name, bool recursive, Lmct__V1__Event **ret,
                     status *st) {
        subscriber *s;
        unsigned mine = 0;

        for (s = e->subs; s; s = s->next)
                mine += s->c == c;
        if (mine >= 16)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -EBUSY,
                               "this connection has %u event subscriptions already", mine);
        if (e->ifd < 0) {
                e->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (e->ifd < 0)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, negerrno(), "cannot watch: %m");
                e->ev = event_new(e->m->base, e->ifd, EV_READ | EV_PERSIST, on_inotify, e);
                if (!e->ev || event_add(e->ev, NULL) < 0) {
                        stop_watching(e);
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
                }
                watch_all(e, e->m->root);
        }
        s = calloc(1, sizeof *s);
        if (!s || !(s->name = strdup(name ? name : ""))) {
                free(s);
                if (e->n_subs == 0)
                        stop_watching(e);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        s->c = conn_ref(c);
        s->id = id;
        s->recursive = recursive;
        s->next = e->subs;
        if (e->subs)
                e->subs->prev = s;
        e->subs = s;
        e->n_subs++;
        *ret = ev_make("subscribed", name ? name : "");
        return 0;
}

void events_conn_closed(events *e, conn *c) {
        for (subscriber *s = e->subs, *next; s; s = next) {
                next = s->next;
                if (s->c == c)
                        sub_free(e, s);
        }
}

void events_changed(events *e, const char *kind, const char *name, uid_t uid, pid_t pid) {
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

void events_run_ended(events *e, const char *name) {
        if (!e || e->n_subs == 0)
                return;
        for (size_t i = 0; i < e->n_wd; i++) {
                watched *w = e->by_wd[i];
                if (w && w->file == F_EVENTS && w->empty_held && strcmp(w->name, name) == 0) {
                        w->empty_held = false;
                        w->populated = true; /* report the change now */
                        refresh(e, w, true);
                }
        }
}

unsigned events_subscribers(const events *e) {
        return e ? e->n_subs : 0;
}

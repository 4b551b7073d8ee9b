/* Subscriptions: who gets which events, each named as its subscriber sees
 * it; queueing and dropping; the manager's observer. */
#include "events-internal.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <time.h>

#include "cgroup.h"
#include "lmct-name.h"
#include "log.h"
#include "util.h"

static void sub_free(events *e, subscriber *s);
static void on_changed(void *userdata, const char *kind, const char *name, uid_t uid, pid_t pid);
static void on_run_ended(void *userdata, const char *name);

void events_enter(events *e) {
        e->busy++;
}

void events_leave(events *e) {
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

Lmct__V1__Event *ev_make(const char *kind, const char *name) {
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
void sub_send(subscriber *s, Lmct__V1__Event *ev) {
        if (s->sink.pending(s->sink.userdata) > QUEUE_MAX) {
                s->dropped++;
                lmct__v1__event__free_unpacked(ev, NULL);
                return;
        }
        if (s->dropped) {
                Lmct__V1__Event *d = ev_make("dropped", "");
                int r = -ENOMEM; /* kept for later if the notice cannot be made */
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
Lmct__V1__Event *ev_for(const subscriber *s, const char *kind, const char *name) {
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
        sub_send(s, copy);
}

void ev_publish(events *e, Lmct__V1__Event *ev) {
        events_enter(e);
        for (subscriber *s = e->subs; s; s = s->subs_next)
                if (!s->gone && covers(s, ev->name))
                        deliver(s, ev);
        events_leave(e);
        lmct__v1__event__free_unpacked(ev, NULL);
}

void ev_emit(events *e, const char *kind, const char *name, uint64_t count) {
        Lmct__V1__Event *ev = ev_make(kind, name);

        if (!ev)
                return;
        if (count) {
                ev->has_count = true;
                ev->count = count;
        }
        ev_publish(e, ev);
}

/* Takes N of kind K of the subscriber's principal's bounds. */
static int hold(subscriber *s, quota_kind k, size_t n, status *st) {
        int r = quota_take(s->q, k, n);
        char why[sizeof st->msg];

        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r, "%s",
                               quota_refusal(s->q, k, r, "holds", quota_kind_name(k), why, sizeof why));
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
        if (req->has_memory_above && (r = threshold_start(e, s, dirfd, req->memory_above, shown, st)) < 0)
                return r;
        if (req->n_pressure)
                return triggers_start(e, s, dirfd, req, shown, st);
        return 0;
}

/* Frees S, which is not (or no longer) in E's list. */
static void sub_destroy(subscriber *s) {
        threshold_stop(s);
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
                events_stop_watching(e);
}

events *events_free(events *e) {
        if (!e)
                return NULL;
        if (e->m->observer.userdata == e)
                e->m->observer = (manager_observer){ 0 };
        while (e->subs)
                sub_free(e, e->subs);
        events_stop_watching(e);
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
                e->ev = event_new(e->m->base, e->ifd, EV_READ | EV_PERSIST, events_on_inotify, e);
                if (!e->ev || event_add(e->ev, NULL) < 0) {
                        events_stop_watching(e);
                        s->sink.free = NULL; /* not taken */
                        sub_destroy(s);
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
                }
                events_watch_all(e, e->m->root);
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
                events_watch_node(e, n, name);
        ev = ev_make(kind, name);
        if (!ev)
                return;
        if (uid != (uid_t)-1) {
                ev->has_uid = ev->has_pid = true;
                ev->uid = uid;
                ev->pid = pid;
        }
        ev_publish(e, ev);
}

/* The command lmctld started in NAME was reaped: an "empty" event held
 * back for its exit status goes out now (the manager's observer). */
static void on_run_ended(void *userdata, const char *name) {
        events *e = userdata;

        if (!e || e->n_subs == 0)
                return;
        events_enter(e);
        for (size_t i = 0; i < e->n_wd; i++) {
                watched *w = e->by_wd[i];
                if (w && w->file == F_EVENTS && w->empty_held && strcmp(w->name, name) == 0) {
                        w->empty_held = false;
                        w->populated = true; /* report the change now */
                        events_refresh(e, w, true);
                }
        }
        events_leave(e);
}

unsigned events_subscribers(const events *e) {
        return e ? e->n_subs : 0;
}

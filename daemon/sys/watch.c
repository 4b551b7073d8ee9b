#include "watch.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>

#include "list.h"
#include "log.h"
#include "util.h"

struct watch {
        watcher *owner;
        LIST_FIELDS(watch, watches);
        int wd;
        struct event *timer;
        watch_cb cb;
        void *userdata;
        void (*free_userdata)(void *);
};

struct watcher {
        int fd;
        struct event *ev;
        watch *head;
};

static void watch_free(watch *w) {
        watcher *wr = w->owner;
        bool shared = false;
        watch *o;

        LIST_REMOVE(watches, wr->head, w);
        LIST_FOREACH(watches, o, wr->head)
                if (o->wd == w->wd)
                        shared = true;
        if (!shared)
                inotify_rm_watch(wr->fd, w->wd);
        if (w->timer)
                event_free(w->timer);
        if (w->free_userdata)
                w->free_userdata(w->userdata);
        free(w);
}

void watch_cancel(watch *w) {
        if (w)
                watch_free(w);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
        watch *w = arg;

        (void)fd;
        (void)what;
        w->cb(w, true, w->userdata);
        watch_free(w);
}

static void fire(watcher *wr, int wd) {
        /* A callback may free its own watch but no other: take the next
         * pointer before each call, and restart when a watch was freed. */
        for (watch *w = wr->head; w;) {
                watch *next = w->watches_next;
                if (w->wd == wd && w->cb(w, false, w->userdata))
                        watch_free(w);
                w = next;
        }
}

static void on_inotify(evutil_socket_t fd, short what, void *arg) {
        watcher *wr = arg;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        (void)what;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *)p;
                        fire(wr, ev->wd);
                        p += sizeof *ev + ev->len;
                }
        }
}

int watcher_new(struct event_base *base, watcher **ret) {
        watcher *wr = calloc(1, sizeof *wr);

        if (!wr)
                return -ENOMEM;
        wr->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (wr->fd < 0) {
                int r = negerrno();
                free(wr);
                return r;
        }
        wr->ev = event_new(base, wr->fd, EV_READ | EV_PERSIST, on_inotify, wr);
        if (!wr->ev || event_add(wr->ev, NULL) < 0) {
                if (wr->ev)
                        event_free(wr->ev);
                close(wr->fd);
                free(wr);
                return -ENOMEM;
        }
        *ret = wr;
        return 0;
}

watcher *watcher_free(watcher *wr) {
        if (!wr)
                return NULL;
        while (wr->head)
                watch_free(wr->head);
        event_free(wr->ev);
        close(wr->fd);
        free(wr);
        return NULL;
}

int watch_events(watcher *wr, int dirfd, int timeout_ms, watch_cb cb, void *userdata,
                 void (*free_userdata)(void *), watch **ret) {
        char path[64];
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        watch *w;
        int wd;

        snprintf(path, sizeof path, "/proc/self/fd/%d/cgroup.events", dirfd);
        wd = inotify_add_watch(wr->fd, path, IN_MODIFY);
        if (wd < 0)
                return negerrno();
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->owner = wr;
        w->wd = wd;
        w->cb = cb;
        w->userdata = userdata;
        w->free_userdata = free_userdata;
        w->timer = evtimer_new(event_get_base(wr->ev), on_timeout, w);
        if (!w->timer || (timeout_ms >= 0 && evtimer_add(w->timer, &tv) < 0)) {
                if (w->timer)
                        event_free(w->timer);
                free(w);
                return -ENOMEM;
        }
        LIST_PREPEND(watches, wr->head, w);
        if (ret)
                *ret = w;
        return 0;
}

/* Waiting for a cgroup to change state without blocking the loop: inotify
 * on its cgroup.events, fed into libevent, with a deadline. */
#pragma once

#include <stdbool.h>

struct event_base;
typedef struct watcher watcher;
typedef struct watch watch;

/* Called when the watched cgroup.events changed, or with TIMED_OUT when the
 * deadline passed. Returns true when the wait is over: the watch is then
 * freed (and FREE_USERDATA called). With TIMED_OUT it is always over. */
typedef bool (*watch_cb)(watch *w, bool timed_out, void *userdata);

int watcher_new(struct event_base *base, watcher **ret);
watcher *watcher_free(watcher *wr);

/* Watches cgroup.events in DIRFD; TIMEOUT_MS < 0: no deadline. */
int watch_events(watcher *wr, int dirfd, int timeout_ms, watch_cb cb, void *userdata,
                 void (*free_userdata)(void *), watch **ret);
/* Ends a watch early (frees it, calls FREE_USERDATA). */
void watch_cancel(watch *w);

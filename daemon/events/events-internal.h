/* The event stream's parts, shared by its files:
 *   events.c      subscriptions: who gets what, queueing and dropping,
 *                 the manager's observer
 *   watching.c    the kernel's event files (cgroup.events, memory.events,
 *                 pids.events) watched with inotify
 *   thresholds.c  memory usage thresholds (memory_above)
 *   triggers.c    PSI triggers
 * Not for other layers: events.h is the event stream's interface. */
#pragma once

#include <event2/util.h>
#include <stdbool.h>
#include <stdint.h>

#include "events.h"
#include "list.h"
#include "manager.h"

/* Bytes of a subscriber's events that may wait unsent before more are
 * dropped (and counted). */
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

/* The resources with a *.pressure file, by index (triggers.c). */
extern const char *const psi_resources[];
#define N_PSI 3

/* The files watched for each container (watching.c), and the
 * memory.events keys reported. */
enum { F_EVENTS, F_MEMORY, F_PIDS, _F_MAX };
#define N_MEM 5

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


/* events.c */
/* A walk of the subscribers or the watches: subscriptions closed inside it
 * are freed when the outermost walk ends. */
void events_enter(events *e);
void events_leave(events *e);
Lmct__V1__Event *ev_make(const char *kind, const char *name);
/* An event of KIND about container NAME (full), named for S's caller. */
Lmct__V1__Event *ev_for(const subscriber *s, const char *kind, const char *name);
/* Queues EV (taken) for S, or counts it as dropped. */
void sub_send(subscriber *s, Lmct__V1__Event *ev);
/* EV (taken) to every subscriber whose subtree holds its container. */
void ev_publish(events *e, Lmct__V1__Event *ev);
void ev_emit(events *e, const char *kind, const char *name, uint64_t count);

/* watching.c */
void events_watch_node(events *e, node *n, const char *name);
void events_watch_all(events *e, node *n);
void events_stop_watching(events *e);
void events_refresh(events *e, watched *w, bool report);
void events_on_inotify(evutil_socket_t fd, short what, void *arg);

/* thresholds.c */
/* S's memory threshold ABOVE on the container DIRFD (SHOWN to its caller). */
int threshold_start(events *e, subscriber *s, int dirfd, uint64_t above, const char *shown, status *st);
void threshold_stop(subscriber *s);

/* triggers.c */
/* S's PSI triggers (REQ's, checked) on the container DIRFD. */
int triggers_start(events *e, subscriber *s, int dirfd, const Lmct__V1__EventsRequest *req, const char *shown,
                   status *st);
void trigger_stop(trigger *t);

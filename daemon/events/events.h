/* The event stream (EventsRequest): subscribers, and the kernel's own
 * notifications that feed them.
 *
 * While anyone subscribes, lmctld watches (inotify, in the libevent loop)
 * each container's cgroup.events (populated, frozen), memory.events (high,
 * max, oom, oom_kill) and pids.events (max). A change is read, compared
 * with what was seen last, and sent as events to the subscribers whose
 * subtree holds the container. memory.events counts a subtree; each
 * container reports its own part (its counters less its subcontainers'),
 * so an OOM kill is reported once, on the container whose processes it
 * killed. lmctld's own changes (created, updated, destroyed) carry who
 * asked for them.
 *
 * A subscriber that does not read never slows anyone: once 256 KiB of its
 * events wait unsent, further events are dropped and counted, and a
 * "dropped" event with the count goes out when it has room again.
 *
 * A subscription may also ask, for its container alone, for PSI triggers
 * (the kernel wakes the *.pressure file's poller; lmctld watches it in
 * the loop) and for a memory usage threshold. cgroup v2 has no
 * notification for usage (v1's cgroup.event_control thresholds are gone),
 * so that one is read: memory.current every 100 ms while the subscription
 * lasts, and memory.peak, which catches a crossing between two readings. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lmct.pb-c.h"
#include "manager.h"
#include "quota.h"
#include "status.h"

typedef struct events events;

/* Where a subscription's events go. The event stream knows nothing of
 * connections: whoever subscribes (the socket side) gives one of these. */
typedef struct event_sink {
        /* Sends EV (taken). Returns 0; -ENOMEM if it could not (EV is
         * freed, and counted as dropped); -EPIPE if it went out but the
         * subscriber has gone since (the send closed it). */
        int (*send)(void *userdata, Lmct__V1__Event *ev);
        /* Bytes sent to the subscriber that it has not read yet. */
        size_t (*pending)(void *userdata);
        /* Full name NAME as the subscriber names it ("" its own root), or
         * NULL for a name it cannot see. */
        const char *(*relative)(void *userdata, const char *name);
        void (*free)(void *userdata);   /* once the subscription ends */
        void *userdata;
} event_sink;

/* Starts the event stream of M's tree, and registers it as M's observer
 * (created, updated, destroyed; a command's exit). RUN_WAITING: whether a
 * command lmctld started in a container has not been reaped yet (its
 * "empty" event waits for the exit status). */
int events_new(manager *m, bool (*run_waiting)(manager *m, const char *name), events **ret);
events *events_free(events *e);

/* Starts a subscription of OWNER (an opaque key: at most 16 each), whose
 * bounds are counted against principal Q, to NAME (a full name, valid and
 * existing) and, with REQ's recursive, everything below it; with REQ's
 * memory_above and pressure triggers, for NAME alone. Fills *RET with the
 * "subscribed" event that answers the request; then SINK (taken on
 * success) gets the events. */
int events_subscribe(events *e, const void *owner, quota *q, const char *name, const Lmct__V1__EventsRequest *req,
                     const event_sink *sink, Lmct__V1__Event **ret, status *st);
/* OWNER has gone: its subscriptions end. */
void events_owner_gone(events *e, const void *owner);

/* How many subscriptions are open (for STATUS= and metrics). */
unsigned events_subscribers(const events *e);

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

#include "manager.h"
#include "server.h"

typedef struct events events;

int events_new(manager *m, events **ret);
events *events_free(events *e);

/* Starts a subscription of connection C (request ID) to NAME (a full name,
 * valid and existing) and, with REQ's recursive, everything below it; with
 * REQ's memory_above and pressure triggers, for NAME alone. Fills *RET
 * with the "subscribed" event that answers the request. */
int events_subscribe(events *e, conn *c, uint64_t id, const char *name, const Lmct__V1__EventsRequest *req,
                     Lmct__V1__Event **ret, status *st);
/* C has gone: its subscriptions end. */
void events_conn_closed(events *e, conn *c);

/* lmctld changed container NAME (KIND: created, updated, destroyed) for
 * the caller UID/PID. */
void events_changed(events *e, const char *kind, const char *name, uid_t uid, pid_t pid);

/* The command lmctld started in NAME was reaped: an "empty" event held
 * back for its exit status goes out now. */
void events_run_ended(events *e, const char *name);

/* How many subscriptions are open (for STATUS= and metrics). */
unsigned events_subscribers(const events *e);

/* The socket side of lmctld: connections, frames, answers.
 *
 * Bounds: a connection holds at most 12 descriptors it sent and 64
 * requests in flight; its principal (quota.h) holds at most so many
 * connections, descriptors and bytes of unread answers, and everyone's
 * together less what is kept for root. A connection whose answers (or
 * whose principal's answers) pile up is not read from until they are read
 * down to half, so that a request is never answered into a full queue. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"
#include "lmct.pb-c.h"
#include "events.h"
#include "manager.h"

struct event_base;
typedef struct server server;
typedef struct conn conn;

/* Serves requests on the tree of M and the event stream EV. */
int server_new(struct event_base *base, manager *m, events *ev, int listen_fd, server **ret);
/* How long a client may take to finish a request frame it began, or leave
 * answers unread without reading any, before it is cut off (default 30 s). */
void server_set_timeout(server *srv, unsigned ms);
/* Counts a request of C that waits (DELTA 1) or ended (-1); -EBUSY when C
 * has too many waiting already. */
int conn_inflight(conn *c, int delta);
/* Serves connected socket FD (taken) for the caller WHO (moved into the
 * connection; its principal's connection already counted), as if accepted. */
void server_add_conn(server *srv, int fd, caller *who);
server *server_free(server *srv);
unsigned server_connections(const server *srv);

/* Sends RESP on C (dropped if C has gone) and frees it. */
void conn_send(conn *c, Lmct__V1__Response *resp);
conn *conn_ref(conn *c);
void conn_unref(conn *c);
/* Claims the N descriptors that came with the request being handled (run
 * and exec: stdin, stdout, stderr; checked to be of those kinds); -EBADF
 * if fewer came. The caller owns them and lets them go with
 * conn_release_fds. */
int conn_take_fds(conn *c, int *fds, size_t n);
/* Closes descriptors that came from C's client, off the loop. */
void conn_release_fds(conn *c, const int *fds, size_t n);
bool conn_alive(const conn *c);
manager *conn_manager(const conn *c);
events *conn_events(const conn *c);

/* Bytes of answers waiting to be sent to C. */
size_t conn_output_pending(const conn *c);
/* The largest answer C may be given (a listing, stats of a subtree). */
size_t conn_answer_max(const conn *c);
/* Who the peer is and where it lives, as of accept. */
const caller *conn_caller(const conn *c);

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
/* What one connection may wait for at once: requests not yet answered,
 * and commands whose end it waits for (each at most 64). */
typedef enum conn_wait { CONN_REQUESTS, CONN_COMMANDS, _CONN_WAIT_MAX } conn_wait;
/* Counts one more (DELTA 1) or one less (-1) of K for C; -EBUSY when C
 * waits for as many as it may already. */
int conn_wait_count(conn *c, conn_wait k, int delta);
/* How many of K C waits for. */
unsigned conn_waiting(const conn *c, conn_wait k);
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

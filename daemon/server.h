/* The socket side of lmctld: connections, frames, answers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"
#include "lmct.pb-c.h"
#include "manager.h"

struct event_base;
typedef struct server server;
typedef struct conn conn;

struct ucred;

int server_new(struct event_base *base, manager *m, int listen_fd, server **ret);
/* How long a client may take to finish a request frame it began, or leave
 * answers unread without reading any, before it is cut off (default 30 s). */
void server_set_timeout(server *srv, unsigned ms);
/* Counts a request of C that waits (DELTA 1) or ended (-1); -EBUSY when C
 * has too many waiting already. */
int conn_inflight(conn *c, int delta);
/* Serves connected socket FD (taken) for a peer with CRED, as if accepted. */
void server_add_conn(server *srv, int fd, const struct ucred *cred);
server *server_free(server *srv);
unsigned server_connections(const server *srv);

/* Sends RESP on C (dropped if C has gone) and frees it. */
void conn_send(conn *c, Lmct__V1__Response *resp);
conn *conn_ref(conn *c);
void conn_unref(conn *c);
/* Claims the N oldest descriptors the client sent (SCM_RIGHTS); -EBADF if
 * fewer came. The caller owns them. */
int conn_take_fds(conn *c, int *fds, size_t n);
bool conn_alive(const conn *c);
manager *conn_manager(const conn *c);

/* The peer's credentials, taken from the kernel at accept. */
void conn_peer(const conn *c, pid_t *pid, uid_t *uid);
/* Bytes of answers waiting to be sent to C. */
size_t conn_output_pending(const conn *c);
/* Who the peer is and where it lives, as of accept. */
const caller *conn_caller(const conn *c);

/* Requests to manager operations: one table row per verb. */
#pragma once

#include "lmct.pb-c.h"
#include "manager.h"
#include "server.h"
#include "status.h"

/* Answers REQ on C, now or (for operations that wait) later. REQ's
 * container name may be rewritten (resolved below the caller's position). */
void dispatch(conn *c, manager *m, Lmct__V1__Request *req);

/* C has gone: commands it started and waits for are dealt with. */
void dispatch_conn_closed(conn *c);

/* A response with ID and ST's code and message (ST NULL: OK). */
Lmct__V1__Response *response_new(uint64_t id, const status *st);

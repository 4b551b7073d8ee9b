/* Commands lmctld starts (run, exec): spawning, waiting for their exit in
 * the event loop, --rm, detached output, signals by run id. */
#pragma once

#include <stdbool.h>

#include <stdint.h>

#include "lmct.pb-c.h"
#include "manager.h"
#include "server.h"
#include "status.h"

/* Starts the command of RQ for request ID on C. Returns 0 with the first
 * answer in *RET (the pid); unless detached, the final answer follows on C
 * with the same id when the command ended. */
int runs_start(manager *m, conn *c, uint64_t id, const Lmct__V1__RunRequest *rq, Lmct__V1__RunResult **ret,
               status *st);
int runs_exec(manager *m, conn *c, uint64_t id, const Lmct__V1__ExecRequest *rq, Lmct__V1__RunResult **ret,
              status *st);
/* Signals the command C started with request RUN_ID. */
int runs_signal(manager *m, conn *c, uint64_t run_id, int sig, status *st);
/* C has gone: the commands it waits for are killed (and --rm goes on). */
void runs_conn_closed(manager *m, conn *c);
/* At shutdown: forget every command; they keep running. */
void runs_free_all(manager *m);
/* Whether a command lmctld started in NAME has not been reaped yet. */
bool runs_waiting_in(manager *m, const char *name);

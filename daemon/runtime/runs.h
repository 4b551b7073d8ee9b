/* Commands lmctld starts (run, exec): starting them without waiting, waiting
 * for their exit in the event loop, --rm, detached output, signals by run
 * id. A run knows nothing of connections: it reports through the sink its
 * requester gave, and is found again by an opaque OWNER key (the
 * requester's connection) and the request's id.
 *
 * Who starts what (peer.h): a privileged caller (root outside every
 * container) may give a command another user, a root filesystem, a bundle,
 * namespaces and a hostname of its own. Anyone else's command runs as
 * itself (uid, gid, supplementary groups), in its own namespaces and root,
 * with no capability it does not have, in the directory it names only if
 * it may enter it; exec joins a command only if that command runs in the
 * caller's own namespaces. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lmct.pb-c.h"
#include "manager.h"
#include "peer.h"
#include "status.h"

/* What a run reports: R < 0 with ST, the command could not be started;
 * otherwise RS (the pid; once it ended, how). FINAL: nothing more comes.
 * ERROR: why a command that exited at once (126, 127) could not be
 * executed. */
typedef struct run_report {
        int r;
        const status *st;
        const run_status *rs;
        const char *error;
        bool final;
} run_report;

typedef struct run_sink {
        void (*report)(void *userdata, const run_report *rep);
        void (*free)(void *userdata);   /* once nothing more will be reported */
        void *userdata;
} run_sink;

/* What a run needs of its requester: who it is, what to close its
 * descriptors against, and the key it is found by. */
typedef struct run_origin {
        const caller *who;
        const void *owner;
        uint64_t id;
} run_origin;

/* Starts the command of RQ with STDIO (taken, even on failure; unused when
 * detached). Returns MANAGER_PENDING, after which SINK reports (the first
 * report answers the request), or a negative errno with ST (SINK not
 * taken). */
int runs_start(manager *m, const run_origin *o, const Lmct__V1__RunRequest *rq, int stdio[3], const run_sink *sink,
               status *st);
int runs_exec(manager *m, const run_origin *o, const Lmct__V1__ExecRequest *rq, int stdio[3], const run_sink *sink,
              status *st);
/* Signals the command OWNER started with request RUN_ID. */
int runs_signal(manager *m, const void *owner, uint64_t run_id, int sig, status *st);
/* OWNER has gone: nobody waits for its commands any more; they are killed
 * (and --rm goes on), and their sinks freed. */
void runs_owner_gone(manager *m, const void *owner);
/* At shutdown: forget every command (they keep running). */
void runs_free_all(manager *m);
/* Whether a command lmctld started in NAME has not been reaped yet. */
bool runs_waiting_in(manager *m, const char *name);

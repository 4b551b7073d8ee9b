/* The container tree's logic: each verb as an operation on cgroupfs and the
 * in-memory index. Returns 0 or a negative errno with ST filled in; the
 * operations that wait (destroy -f, pause) may instead return
 * MANAGER_PENDING and call DONE later, exactly once. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "lmct.pb-c.h"
#include "peer.h"
#include "status.h"
#include "tree.h"
#include "watch.h"

#define MANAGER_PENDING 1

struct event_base;
struct spawn_spec;
struct releaser;

typedef struct manager {
        struct event_base *base;
        watcher *watcher;
        int rootfd;
        char *root_path;       /* as given: /sys/fs/cgroup/lmct */
        char *root_cgpath;     /* as /proc/PID/cgroup shows it: /lmct */
        node *root;
        unsigned avail;        /* controllers the root can enable below itself */
        char unavail_why[_CG_MAX][160];
        unsigned max_depth;
        int destroy_timeout_ms;
        int pause_timeout_ms;
        struct run *runs;      /* commands lmctld started and still tracks */
        struct reclaim *reclaims; /* memory.reclaim writes in progress (reclaim.c) */
        struct reclaim_stop *stops; /* destroys waiting for reclaims to stop */
        unsigned start_timeout_ms; /* a command must execute within this */
        unsigned reclaim_timeout_ms; /* a reclaim is stopped after this */
        /* How commands are started (spawn.h; NULL: spawn_start). */
        int (*spawn)(const struct spawn_spec *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_errfd, char *err,
                     size_t errlen);
        struct releaser *releaser; /* closes clients' descriptors off the loop (release.h) */
        char *log_dir;         /* detached output when no journal runs */
        const char *intent_xattr; /* crash-consistency record (journal.h), NULL if none */
        const char *owner_xattr;  /* where a container's owner is kept, NULL if nowhere */
        const char *labels_xattr; /* where its labels are kept (labels.h), NULL if nowhere */
        const char *devices_xattr; /* where its device rules are kept (devrules.h), NULL if nowhere */
        /* Who hears of lmctld's changes (the event stream); set once at start. */
        struct manager_observer {
                /* Container NAME (full) was created, updated or destroyed
                 * (KIND) for the caller UID/PID ((uid_t)-1: lmctld's own
                 * doing). */
                void (*changed)(void *userdata, const char *kind, const char *name, uid_t uid, pid_t pid);
                /* The command lmctld started in NAME was reaped (its status
                 * is in the node's last_run). */
                void (*run_ended)(void *userdata, const char *name);
                void *userdata;
        } observer;
} manager;
typedef struct manager_observer manager_observer;

/* Called when a pending operation ends: R is 0 or a negative errno, ST the
 * status when R < 0. */
typedef void (*op_done_fn)(void *userdata, int r, const status *st);

/* The tree at ROOT_PATH, a cgroup v2 directory; PLAIN_CGPATH NULL. A
 * test's tree that is a plain directory (the fuzzer's) gives the path
 * /proc/PID/cgroup would show for it instead, and is not checked. */
int manager_new(struct event_base *base, const char *root_path, const char *plain_cgpath, unsigned max_depth,
                manager **ret);
manager *manager_free(manager *m);
size_t manager_count(const manager *m);

/* Who a subtree is handed to (create --owner). */
typedef struct owner_spec {
        unsigned uid, gid;
} owner_spec;

struct label_change;

/* OWNER may be NULL; LABELS is the container's labels as text (labels.h),
 * NULL or "" for none. */
/* WHO: the caller the change is made for (carried to the events it
 * causes), or NULL for lmctld's own. */
int manager_create(manager *m, const caller *who, const char *name, const Lmct__V1__Limits *l, bool parents, const owner_spec *owner,
                   const char *labels, status *st);
/* LC: a change to the labels, or NULL. */
int manager_update(manager *m, const caller *who, const char *name, const Lmct__V1__Limits *l, const struct label_change *lc,
                   status *st);
int manager_destroy(manager *m, const caller *who, const char *name, bool recursive, bool force, status *st,
                    op_done_fn done, void *userdata);
/* Whether a caller may see N (and so everything below it). */
typedef bool (*node_filter)(const node *n, void *userdata);
/* VISIBLE may be NULL: everything is. Otherwise a container it refuses is
 * left out, and the visible subtrees below it are listed instead. With
 * N_SEL selectors, only the containers that carry every label of SEL. */
/* MAX_BYTES (here and for ps and stats): the largest answer the caller may
 * be sent; a bigger one is refused (RESOURCE_EXHAUSTED) before it is built. */
int manager_list(manager *m, const char *name, bool recursive, node_filter visible, void *ud,
                 Lmct__V1__Label *const *sel, size_t n_sel, size_t max_bytes, Lmct__V1__ListResult **ret,
                 status *st);
int manager_show(manager *m, const char *name, Lmct__V1__ContainerInfo **ret, status *st);
int manager_ps(manager *m, const char *name, bool recursive, size_t max_bytes, Lmct__V1__PsResult **ret,
               status *st);
/* What a process must be for a caller to move it (NULL: anything). */
typedef struct enter_policy {
        bool check_uid;        /* real, effective and saved uid are UID */
        uid_t uid;
        const char *within;    /* it is in this container or below already */
        /* Whether it may be taken from container FROM (its full name; ""
         * for outside every container), or NULL: from anywhere. */
        int (*may_take)(void *userdata, const char *from, status *st);
        void *userdata;
} enter_policy;
int manager_enter(manager *m, const char *name, const int32_t *pids, size_t n_pids, const enter_policy *pol,
                  status *st);
int manager_pause(manager *m, const char *name, status *st, op_done_fn done, void *userdata);
int manager_resume(manager *m, const char *name, status *st);
int manager_kill(manager *m, const char *name, int sig, status *st);
int manager_detect(manager *m, pid_t pid, char **ret_name, status *st);
/* The container the process behind PIDFD (pid PID) is in, into NAME (""
 * outside lmctld's tree): read through its /proc directory, and checked to
 * be about that process and not one that took its pid since. */
int manager_pid_position(manager *m, pid_t pid, int pidfd, char *name, size_t len, status *st);
int manager_stats(manager *m, const char *name, bool recursive, size_t max_bytes, Lmct__V1__StatsResult **ret,
                  status *st);

/* Proactive reclaim of NAME (memory.reclaim), BYTES at most its usage, in
 * a thread: counted against WHO's principal (Q_RECLAIMS). Returns
 * MANAGER_PENDING, then calls DONE exactly once with the result (the
 * callee's to free) or an error; or fails at once with ST. */
typedef struct reclaim reclaim;
typedef void (*reclaim_done_fn)(void *userdata, int r, const status *st, Lmct__V1__ReclaimResult *res);
int manager_reclaim(manager *m, const caller *who, const char *name, bool has_bytes, uint64_t bytes, status *st,
                    reclaim_done_fn done, void *userdata);
/* lmctld stops: every reclaim's DONE gets -ECANCELED; the threads end on
 * their own. */
void manager_reclaims_abandon(manager *m);

/* Opens the leaf of container NAME (creating it) for starting processes. */
int manager_leaf_fd(manager *m, const char *name, status *st);
/* Whether NAME exists (after validation; INVALID_ARGUMENT otherwise). */
int manager_exists(manager *m, const char *name, status *st);
/* The full name of existing container NAME ("" for the root) into OUT. */
int manager_resolve(manager *m, const char *name, bool allow_root, char *out, size_t len, status *st);
/* Opens N's cgroup directory. If it vanished behind lmctld's back, drops N
 * from the index and says NOT_FOUND. */
int open_node(manager *m, node *n, status *st);
/* N's directory fd without a syscall for the root: returns the root's fd
 * (*OWNED -1) or a new fd that is also stored in *OWNED for the caller to
 * close. */
int node_fd(manager *m, node *n, status *st, int *owned);
/* Enables MASK's controllers in every cgroup from the root down to PARENT,
 * so that PARENT's children have those controllers' files. */
int ensure_controllers(manager *m, node *parent, unsigned mask, status *st);
/* A Pressure message of one *.pressure line (stats, events); NULL when out
 * of memory. */
Lmct__V1__Pressure *pressure_message(const cg_pressure *p);
/* The RunResult message of RS: its pid and, once it ended, how; with
 * LOG_PATH the file its detached output went to, with ERROR why it could
 * not be executed. NULL when out of memory. */
Lmct__V1__RunResult *run_result_message(const run_status *rs, bool log_path, const char *error);
/* Records how the last command in NAME went; once it ended, tells the
 * observer. */
void manager_set_last_run(manager *m, const char *name, const run_status *rs);

/* Helpers shared by the core's files, and by them alone (an upper layer
 * uses manager.h; tests/check-layers.sh checks it). */
#pragma once

#include "manager.h"
#include "cgroup.h"

/* Validates NAME; on success *RET_NORM points at its normalized form
 * (inside NAME) and the depth is returned. */
int check_name(manager *m, const char *name, bool allow_root, status *st, const char **ret_norm);

/* Validates NAME and finds its node, refusing one being destroyed. */
int find_node(manager *m, const char *name, bool allow_root, status *st, node **ret);

/* An operation waits on N: its ancestors cannot be destroyed meanwhile. */
void node_hold(node *n);
void node_release(node *n);

/* The full name of N for messages ("/" for the root). */
#define NODE_NAME(n, buf) ((n)->parent ? tree_path((n), (buf), sizeof(buf)) : "/")

/* Validates NAME, finds its node and opens its directory; its full name
 * goes to PATH ("/" for the root). Returns the fd or a negative errno. */
int open_container(manager *m, const char *name, bool allow_root, status *st, node **ret, char *path, size_t len);

/* An operation that waits for a container's cgroup.events to say something
 * (destroy -f: empty; pause: frozen). CHECK returns MANAGER_PENDING to go
 * on waiting, or the outcome (0 or a negative errno with ST filled in);
 * with TIMED_OUT it must give an outcome. */
typedef struct node_wait node_wait;
typedef int (*node_wait_check)(node_wait *nw, bool timed_out, status *st);
struct node_wait {
        manager *m;
        node *n;          /* held while waiting; NULL once released */
        int fd;           /* its cgroup directory */
        bool destroying;
        bool finished;
        node_wait_check check;
        op_done_fn done;
        void *userdata;
        uid_t uid;        /* who asked ((uid_t)-1: lmctld itself) */
        pid_t pid;
};

/* Takes FD. Holds N (marking it destroying if asked), checks once, and
 * either returns the outcome at once or MANAGER_PENDING, after which DONE
 * is called exactly once (with -ECANCELED if lmctld stops first). */
int node_wait_start(manager *m, const caller *who, node *n, int fd, bool destroying, int timeout_ms, node_wait_check check,
                    op_done_fn done, void *userdata, status *st);
/* Lets go of the node before CHECK removes it. */
void node_wait_release(node_wait *nw);

/* A destroy of N (full name NAME) that finds it held by reclaims alone
 * (reclaim.c): stops them, and once they have returned runs the destroy
 * again (MANAGER_PENDING; DONE is called then). 0 when something else
 * holds N. */
typedef struct reclaim_stop reclaim_stop;
int reclaims_stop_then(manager *m, const caller *who, node *n, const char *name, bool recursive, bool force,
                       status *st, op_done_fn done, void *userdata);

/* Reads the directories below FD into N's children (recursively). */
int adopt(manager *m, node *n, int fd);

/* The usage figures of the cgroup FD (show, stats). */
int read_usage(int fd, Lmct__V1__Usage *u);
/* OWN tightened by every ancestor of N up to the root (show, stats). */
int effective_limits(manager *m, node *n, const Lmct__V1__Limits *own, int fd, Lmct__V1__Limits **ret);

/* An answer (list, stats, ps) that would be over MAX bytes: refused before
 * more of it is built. */
int answer_too_big(status *st, size_t max);

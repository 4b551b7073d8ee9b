/* Helpers shared by the manager's files. */
#pragma once

#include "manager.h"

/* Printable, quoted, shortened form of an untrusted string. */
const char *quote(const char *s, char *buf, size_t len);

/* Validates NAME; on success *RET_NORM points at its normalized form
 * (inside NAME) and the depth is returned. */
int check_name(manager *m, const char *name, bool allow_root, status *st, const char **ret_norm);

/* Validates NAME and finds its node, refusing one being destroyed. */
int find_node(manager *m, const char *name, bool allow_root, status *st, node **ret);

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

/* An operation waits on N: its ancestors cannot be destroyed meanwhile. */
void node_hold(node *n);
void node_release(node *n);

/* The full name of N for messages ("/" for the root). */
#define NODE_NAME(n, buf) ((n)->parent ? tree_path((n), (buf), sizeof(buf)) : "/")

/* Reads the directories below FD into N's children (recursively). */
int adopt(manager *m, node *n, int fd);

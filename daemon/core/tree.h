/* The daemon's index of the container tree. The kernel's cgroup tree is the
 * state; this mirrors its shape (names, which controllers each cgroup
 * enables below itself) so that lookups and listings cost no syscalls. It
 * is rebuilt from cgroupfs at start and kept in step by every change. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* How the last command lmctld started in a container went. */
typedef struct run_status {
        int pid;
        bool exited;
        int exit_code;
        int signal;
        char log_path[4096];
} run_status;

typedef struct node node;
struct node {
        char *name;              /* last component; "" for the root */
        node *parent;
        node **children;         /* sorted by name */
        size_t n_children, n_alloc;
        unsigned subtree_mask;   /* controllers in its cgroup.subtree_control */
        unsigned depth;
        unsigned busy;           /* operations waiting on it (destroy -f) */
        bool destroying;
        bool has_owner;          /* the subtree is handed to owner_uid */
        unsigned owner_uid, owner_gid;
        unsigned max_desc;       /* containers allowed below; UINT_MAX: no bound */
        unsigned max_depth;      /* levels allowed below; UINT_MAX: no bound */
        run_status *last_run;
};

node *tree_new_root(void);
node *tree_free(node *n);

/* Child of PARENT with NAME (LEN bytes), or NULL. */
node *tree_child(const node *parent, const char *name, size_t len);
/* Adds child NAME; -EEXIST if there. */
int tree_add(node *parent, const char *name, node **ret);
/* Unlinks N from its parent and frees it with its subtree. */
void tree_remove(node *n);

/* Walks normalized NAME ("a/b") from ROOT. Returns the node or NULL, and
 * in *RET_DEEPEST the deepest node that exists on the way, and in
 * *RET_MISSING the offset in NAME of the first missing component. */
node *tree_lookup(node *root, const char *name, node **ret_deepest, size_t *ret_missing);

/* The full name of N ("a/b"; "" for the root) into BUF. */
char *tree_path(const node *n, char *buf, size_t len);

/* Counts the nodes below N. */
size_t tree_count(const node *n);

/* create, update, destroy: the verbs that change the tree's shape or limits. */
#include "manager-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "climits.h"
#include "devrules.h"
#include "journal.h"
#include "labels.h"
#include "lmct-name.h"
#include "log.h"
#include "util.h"

static int mkdir_error(status *st, int r, const char *name) {
        if (r == -EAGAIN || r == -ENOSPC)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r,
                               "cannot create %s: the cgroup limit on descendants or depth is reached", name);
        return st_fail(st, st_code_from_errno(r), r, "cannot create %s: %s", name, strerror(-r));
}

/* Tells the observer lmctld changed container NAME for the caller UID/PID. */
static void changed(manager *m, const char *kind, const char *name, uid_t uid, pid_t pid) {
        if (m->observer.changed)
                m->observer.changed(m->observer.userdata, kind, name, uid, pid);
}

#define WHO_UID(who) ((who) ? (who)->uid : (uid_t)-1)
#define WHO_PID(who) ((who) ? (who)->pid : 0)

/* The bounds on the tree below each ancestor of a create that adds NEW
 * containers, the deepest at DEPTH. */
static int check_bounds(node *deepest, size_t new, unsigned depth, status *st) {
        char buf[LMCT_NAME_MAX + 1];

        for (node *a = deepest; a && a->parent; a = a->parent) {
                if (a->max_desc != UINT_MAX && tree_count(a) + new > a->max_desc)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOSPC,
                                       "%s allows %u container%s below it (max-descendants)",
                                       tree_path(a, buf, sizeof buf), a->max_desc, a->max_desc == 1 ? "" : "s");
                if (a->max_depth != UINT_MAX && depth - a->depth > a->max_depth)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOSPC,
                                       "%s allows %u level%s of containers below it (max-depth)",
                                       tree_path(a, buf, sizeof buf), a->max_depth, a->max_depth == 1 ? "" : "s");
        }
        return 0;
}

/* Records the tree bounds L set on N. */
static void set_bounds(node *n, const Lmct__V1__Limits *l) {
        if (l && l->has_max_descendants)
                n->max_desc = l->max_descendants >= UINT_MAX ? UINT_MAX : (unsigned)l->max_descendants;
        if (l && l->has_max_depth)
                n->max_depth = l->max_depth >= UINT_MAX ? UINT_MAX : (unsigned)l->max_depth;
}

/* A create on its way: what was checked, and what has been made. */
typedef struct create_op {
        manager *m;
        const char *norm;        /* the name, normalized */
        const char *first_new;   /* in NORM: the first component to make */
        node *deepest;           /* the deepest container that exists */
        limit_plan plan;
        devrules_op dev;
        const owner_spec *owner;
        const char *labels;      /* NULL: none */
        bool journaled;
        bool made;               /* a directory was made: undone on failure */
        int basefd;              /* DEEPEST's directory */
        int fd;                  /* the last directory made and opened, or -1 */
} create_op;

/* Everything that can be refused before anything is made. */
static int create_check(manager *m, create_op *op, const char *name, const Lmct__V1__Limits *l, bool parents,
                        status *st) {
        char buf[LMCT_NAME_MAX + 1];
        const char *last;
        size_t missing, new = 1;
        int r;

        r = check_name(m, name, false, st, &op->norm);
        if (r < 0)
                return r;
        if (tree_lookup(m->root, op->norm, &op->deepest, &missing))
                return st_fail(st, LMCT__V1__CODE__ALREADY_EXISTS, -EEXIST, "%s already exists", op->norm);
        for (node *a = op->deepest; a; a = a->parent)
                if (a->destroying)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY, "%s is being destroyed",
                                       NODE_NAME(a, buf));
        last = lmct_name_last(op->norm);
        op->first_new = op->norm + missing;
        if (op->first_new != last && !parents)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "parent %.*s does not exist",
                               (int)(last - 1 - op->norm), op->norm);
        r = climits_plan(l, -1, &op->plan, st);
        if (r < 0)
                return r;
        for (const char *q = op->first_new; *q; q++)
                new += *q == '/';
        r = check_bounds(op->deepest, new, op->deepest->depth + (unsigned)new, st);
        if (r < 0)
                return r;
        if (op->owner && !m->owner_xattr)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EOPNOTSUPP,
                               "cannot keep an owner: %s takes no extended attributes", m->root_path);
        if (op->labels && !m->labels_xattr)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EOPNOTSUPP,
                               "cannot keep labels: %s takes no extended attributes", m->root_path);
        /* Last of the checks: it loads the device program. */
        r = devrules_prepare(m, l, &op->dev, st);
        if (r < 0)
                return r;
        /* More than one syscall: the first new directory is recorded, so that
         * a restart after a crash midway removes what was made. */
        op->journaled = op->plan.n > 0 || op->first_new != last || op->owner || op->labels || op->dev.change;
        return 0;
}

/* Component COMP of the create exists on disk already: made outside
 * lmctld (only the first missing one can be). Indexed as the kernel holds
 * it, and refused. */
static int create_found(create_op *op, int parentfd, const char *comp, const char *p, status *st) {
        char buf[LMCT_NAME_MAX + 1];
        node *found;
        int efd = openat(parentfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

        if (efd >= 0 && tree_add(op->deepest, comp, &found) >= 0)
                (void)adopt(op->m, found, efd);
        if (efd >= 0)
                close(efd);
        snprintf(buf, sizeof buf, "%.*s", (int)(p - op->norm + strlen(comp)), op->norm);
        return st_fail(st, LMCT__V1__CODE__ALREADY_EXISTS, -EEXIST, "%s already exists", buf);
}

/* Makes each missing directory, enabling the plan's controllers in the
 * intermediate ones; the last stays open in OP->fd when something is to
 * be written to it. */
static int create_dirs(create_op *op, status *st) {
        char buf[LMCT_NAME_MAX + 1];
        int parentfd = op->basefd, r;
        const char *p;

        for (p = op->first_new; *p;) {
                size_t len = strcspn(p, "/");
                char comp[LMCT_COMPONENT_MAX + 1];
                int child;

                memcpy(comp, p, len);
                comp[len] = '\0';
                if (mkdirat(parentfd, comp, 0755) < 0) {
                        r = negerrno();
                        if (r == -EEXIST)
                                return create_found(op, parentfd, comp, p, st);
                        snprintf(buf, sizeof buf, "%.*s", (int)(p - op->norm + len), op->norm);
                        return mkdir_error(st, r, buf);
                }
                op->made = true;
                p += len;
                if (!*p && op->plan.n == 0 && !op->owner && !op->labels && !op->dev.change)
                        break; /* nothing to write: no need to open it */
                child = openat(parentfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (child < 0)
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot open the new cgroup %s", comp);
                if (op->fd >= 0)
                        close(op->fd);
                parentfd = op->fd = child;
                if (*p == '/') {
                        p++;
                        /* An intermediate parent: open the way for the limits below. */
                        r = cg_enable(op->fd, op->plan.mask);
                        if (r < 0)
                                return st_fail(st, st_code_from_errno(r), r, "cannot enable controllers in %.*s: %s",
                                               (int)(p - 1 - op->norm), op->norm, strerror(-r));
                }
        }
        return 0;
}

/* Writes the limits, the owner and the labels onto the new container. */
static int create_write(create_op *op, status *st) {
        int r;

        if (op->plan.n > 0 && (r = climits_apply(&op->plan, op->fd, false, st)) < 0)
                return r;
        if (op->owner) {
                char v[32];
                int k = snprintf(v, sizeof v, "%u:%u", op->owner->uid, op->owner->gid);
                if (fsetxattr(op->fd, op->m->owner_xattr, v, (size_t)k, 0) < 0)
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot record the owner of %s: %m",
                                       op->norm);
        }
        if (op->labels && (r = labels_write(op->m, op->fd, op->labels)) < 0)
                return st_fail(st, st_code_from_errno(r), r, "cannot record the labels of %s: %s", op->norm,
                               strerror(-r));
        return devrules_apply(op->m, &op->dev, op->fd, op->norm, st);
}

/* Adds what was made to the index; on failure, what it added is removed. */
static int create_index(create_op *op, const Lmct__V1__Limits *l, status *st) {
        node *n = op->deepest;
        int r;

        for (const char *p = op->first_new; *p;) {
                size_t len = strcspn(p, "/");
                char comp[LMCT_COMPONENT_MAX + 1];

                memcpy(comp, p, len);
                comp[len] = '\0';
                r = tree_add(n, comp, &n);
                if (r < 0) {
                        node *top = tree_child(op->deepest, op->first_new, strcspn(op->first_new, "/"));
                        if (top)
                                tree_remove(top);
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r, "out of memory");
                }
                p += len;
                if (*p == '/') {
                        p++;
                        n->subtree_mask = op->plan.mask;
                }
        }
        set_bounds(n, l);
        if (op->owner) {
                n->has_owner = true;
                n->owner_uid = op->owner->uid;
                n->owner_gid = op->owner->gid;
        }
        return 0;
}

/* Removes every directory the create made. */
static void create_rollback(create_op *op) {
        char first[LMCT_COMPONENT_MAX + 1], failed[NAME_MAX + 1];
        size_t len = strcspn(op->first_new, "/");
        int k;

        memcpy(first, op->first_new, len);
        first[len] = '\0';
        k = cg_rmtree(op->basefd, first, failed, sizeof failed);
        if (k < 0)
                log_error("create %s: cannot remove %s after a failure: %s", op->norm, failed, strerror(-k));
}

int manager_create(manager *m, const caller *who, const char *name, const Lmct__V1__Limits *l, bool parents,
                   const owner_spec *owner, const char *labels, status *st) {
        create_op op = { .m = m, .owner = owner, .labels = labels && *labels ? labels : NULL, .fd = -1,
                         .dev.progfd = -1 };
        _cleanup_close_ int owned = -1;
        char buf[LMCT_NAME_MAX + 1];
        int r;

        r = create_check(m, &op, name, l, parents, st);
        if (r < 0) {
                devrules_done(&op.dev);
                return r;
        }
        r = ensure_controllers(m, op.deepest, op.plan.mask, st);
        if (r >= 0)
                r = op.basefd = node_fd(m, op.deepest, st, &owned);
        if (r < 0) {
                devrules_done(&op.dev);
                return r;
        }
        if (op.journaled) {
                snprintf(buf, sizeof buf, "%.*s", (int)(op.first_new - op.norm + strcspn(op.first_new, "/")),
                         op.norm);
                r = journal_begin(m, "create", buf, NULL, NULL, NULL);
                if (r < 0) {
                        devrules_done(&op.dev);
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot record the intent to create %s: %s",
                                       op.norm, strerror(-r));
                }
        }
        r = create_dirs(&op, st);
        if (r >= 0)
                r = create_write(&op, st);
        if (r >= 0)
                r = create_index(&op, l, st);
        if (r < 0 && op.made)
                create_rollback(&op);
        if (op.fd >= 0)
                close(op.fd);
        devrules_done(&op.dev);
        if (op.journaled)
                journal_end(m);
        if (r < 0)
                return r;
        if (owner)
                log_info("created %s, owned by uid %u gid %u", op.norm, owner->uid, owner->gid);
        else
                log_info("created %s", op.norm);
        for (const char *p = op.first_new; *p; p++)
                if (*p == '/') {
                        snprintf(buf, sizeof buf, "%.*s", (int)(p - op.norm), op.norm);
                        changed(m, "created", buf, WHO_UID(who), WHO_PID(who));
                }
        changed(m, "created", op.norm, WHO_UID(who), WHO_PID(who));
        return 0;
}

int manager_update(manager *m, const caller *who, const char *name, const Lmct__V1__Limits *l, const label_change *lc, status *st) {
        char buf[LMCT_NAME_MAX + 1], old_labels[LABELS_TEXT_MAX], new_labels[LABELS_TEXT_MAX];
        bool relabel = lc && (lc->n_set || lc->n_remove), journaled;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ devrules_op *dev = NULL;
        limit_plan plan;
        node *n;
        int r;

        fd = open_container(m, name, false, st, &n, buf, sizeof buf);
        if (fd < 0)
                return fd;
        if (relabel) {
                if (!m->labels_xattr)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EOPNOTSUPP,
                                       "cannot keep labels: %s takes no extended attributes", m->root_path);
                r = labels_read(m, fd, old_labels, sizeof old_labels);
                if (r < 0)
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot read the labels of %s: %s", buf,
                                       strerror(-r));
                r = labels_edit(old_labels, lc, new_labels, sizeof new_labels, st);
                if (r < 0)
                        return r;
        }
        r = climits_plan(l, fd, &plan, st);
        if (r < 0)
                return r;
        dev = malloc(sizeof *dev);
        if (!dev)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        r = devrules_prepare(m, l, dev, st);
        if (r >= 0 && plan.n == 0 && !relabel && !dev->change)
                r = st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "no limit or label given");
        if (r >= 0)
                r = ensure_controllers(m, n->parent, plan.mask, st);
        if (r < 0) {
                devrules_done(dev);
                return r;
        }
        /* Several files, or limits and labels and device rules: all or
         * none, across a crash too. */
        journaled = plan.n + relabel + dev->change > 1;
        if (journaled) {
                climits_save(&plan, fd);
                devrules_read_record(m, fd, dev->old, sizeof dev->old);
                r = journal_begin(m, "update", buf, &plan, relabel ? old_labels : NULL, dev->change ? dev->old : NULL);
                if (r < 0) {
                        devrules_done(dev);
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot record the intent to update %s: %s",
                                       buf, strerror(-r));
                }
        }
        /* The labels first: one syscall, and if it fails nothing has changed. */
        if (relabel && (r = labels_write(m, fd, new_labels)) < 0)
                st_fail(st, st_code_from_errno(r), r, "cannot record the labels of %s: %s", buf, strerror(-r));
        else {
                if (plan.n > 0)
                        r = climits_apply(&plan, fd, plan.n > 1 || dev->change, st);
                /* The device program last: if it is refused, the limits go back. */
                if (r >= 0 && (r = devrules_apply(m, dev, fd, buf, st)) < 0)
                        climits_undo(&plan, fd);
                if (r < 0 && relabel && labels_write(m, fd, old_labels) < 0)
                        log_error("%s: cannot put its labels back after a failed update", buf);
        }
        devrules_done(dev);
        if (journaled)
                journal_end(m);
        if (r < 0)
                return r;
        set_bounds(n, l);
        log_info("updated %s", buf);
        changed(m, "updated", buf, WHO_UID(who), WHO_PID(who));
        return 0;
}

/* Removes N's directories bottom-up and drops it from the index. */
static int remove_node(manager *m, node *n, uid_t uid, pid_t pid, status *st) {
        char path[LMCT_NAME_MAX + 1], failed[NAME_MAX + 1];
        _cleanup_close_ int owned = -1;
        int pfd, r;

        tree_path(n, path, sizeof path);
        pfd = node_fd(m, n->parent, st, &owned);
        if (pfd < 0)
                return pfd;
        /* A restart after a crash midway finishes the removal. */
        r = journal_begin(m, "destroy", path, NULL, NULL, NULL);
        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot record the intent to destroy %s: %s", path,
                               strerror(-r));
        r = cg_rmtree(pfd, n->name, failed, sizeof failed);
        journal_end(m);
        if (r < 0) {
                /* Part of the subtree may be gone: read it again from the kernel. */
                node *parent = n->parent;
                _cleanup_close_ int fd = -1;
                char name[LMCT_COMPONENT_MAX + 1];

                snprintf(name, sizeof name, "%s", n->name);
                tree_remove(n);
                fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0 && tree_add(parent, name, &n) >= 0)
                        (void)adopt(m, n, fd);
                if (r == -EBUSY)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                       "%s has processes (in cgroup %s)", path, failed);
                if (r == -ENOTEMPTY)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                       "%s holds cgroups that are not containers (%s)", path, failed);
                return st_fail(st, st_code_from_errno(r), r, "cannot remove %s (cgroup %s): %s", path, failed,
                               strerror(-r));
        }
        tree_remove(n);
        log_info("destroyed %s", path);
        changed(m, "destroyed", path, uid, pid);
        return 0;
}

static int destroy_check(node_wait *nw, bool timed_out, status *st) {
        char buf[LMCT_NAME_MAX + 1];
        node *n = nw->n;

        if (cg_populated(nw->fd) > 0) {
                if (!timed_out)
                        return MANAGER_PENDING;
                return st_fail(st, LMCT__V1__CODE__UNAVAILABLE, -ETIMEDOUT,
                               "%s still has processes %d s after they were killed", tree_path(n, buf, sizeof buf),
                               nw->m->destroy_timeout_ms / 1000);
        }
        node_wait_release(nw);
        {
                /* Logged and reported for the request that asked, which
                 * is no longer being served. */
                log_context ctx = { .verb = "destroy", .container = tree_path(n, buf, sizeof buf), .pid = nw->pid,
                                    .uid = nw->uid };
                const log_context *saved = log_get_context();
                int r;
                if (nw->uid != (uid_t)-1)
                        log_set_context(&ctx);
                r = remove_node(nw->m, n, nw->uid, nw->pid, st);
                log_set_context(saved);
                return r;
        }
}

int manager_destroy(manager *m, const caller *who, const char *name, bool recursive, bool force, status *st, op_done_fn done,
                    void *userdata) {
        char buf[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        node *n;
        int r, pop;

        r = find_node(m, name, false, st, &n);
        if (r < 0)
                return r;
        tree_path(n, buf, sizeof buf);
        if (n->n_children && !recursive)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -ENOTEMPTY,
                               "%s has %zu subcontainer%s (%s%s); destroy them first or destroy recursively", buf,
                               n->n_children, n->n_children == 1 ? "" : "s", n->children[0]->name,
                               n->n_children > 1 ? ", ..." : "");
        if (n->busy) {
                /* Reclaims are stopped, and the destroy goes on once they
                 * have returned (a destroy that would fail for processes
                 * stops none); anything else in progress refuses it. */
                if (!force) {
                        fd = open_node(m, n, st);
                        if (fd < 0)
                                return fd;
                        if (cg_populated(fd) > 0)
                                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY,
                                               "%s has processes; kill them first or destroy with force", buf);
                }
                r = reclaims_stop_then(m, who, n, buf, recursive, force, st, done, userdata);
                if (r != 0)
                        return r;
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY,
                               "%s has an operation in progress in its subtree", buf);
        }
        if (!n->n_children) {
                /* The common case, one syscall: an empty cgroup with no leaf.
                 * The kernel refuses it (EBUSY) if anything is below or inside. */
                _cleanup_close_ int owned = -1;
                int pfd = node_fd(m, n->parent, st, &owned);
                if (pfd < 0)
                        return pfd;
                if (unlinkat(pfd, n->name, AT_REMOVEDIR) == 0) {
                        tree_remove(n);
                        log_info("destroyed %s", buf);
                        changed(m, "destroyed", buf, WHO_UID(who), WHO_PID(who));
                        return 0;
                }
        }
        fd = open_node(m, n, st);
        if (fd < 0)
                return fd;
        pop = cg_populated(fd);
        if (pop < 0)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, pop, "cannot read cgroup.events of %s: %s", buf,
                               strerror(-pop));
        if (pop == 0)
                return remove_node(m, n, WHO_UID(who), WHO_PID(who), st);
        if (!force)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY,
                               "%s has processes; kill them first or destroy with force", buf);
        r = cg_write(fd, "cgroup.kill", "1");
        if (r == -ENOENT)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                               "this kernel has no cgroup.kill (Linux 5.14 or later is needed to destroy with force)");
        if (r < 0)
                return st_fail(st, st_code_from_errno(r), r, "cannot kill the processes of %s: %s", buf,
                               strerror(-r));
        r = node_wait_start(m, who, n, TAKE_FD(fd), true, m->destroy_timeout_ms, destroy_check, done, userdata, st);
        if (r != MANAGER_PENDING)
                return r;
        log_info("destroy %s: killed its processes, waiting for them to exit", buf);
        return MANAGER_PENDING;
}

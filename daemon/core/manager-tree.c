/* create, update, destroy: the verbs that change the tree's shape or limits. */
#include "manager-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "climits.h"
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

int manager_create(manager *m, const caller *who, const char *name, const Lmct__V1__Limits *l, bool parents, const owner_spec *owner,
                   const char *labels, status *st) {
        char buf[LMCT_NAME_MAX + 1];
        _cleanup_close_ int owned = -1, fd = -1;
        int basefd, parentfd;
        const char *norm, *last, *p, *first_new;
        node *deepest, *n;
        size_t missing;
        limit_plan plan;
        bool journaled;
        int r;

        r = check_name(m, name, false, st, &norm);
        if (r < 0)
                return r;
        if (tree_lookup(m->root, norm, &deepest, &missing))
                return st_fail(st, LMCT__V1__CODE__ALREADY_EXISTS, -EEXIST, "%s already exists", norm);
        for (node *a = deepest; a; a = a->parent)
                if (a->destroying)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY, "%s is being destroyed",
                                       NODE_NAME(a, buf));
        last = lmct_name_last(norm);
        first_new = norm + missing;
        if (first_new != last && !parents)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "parent %.*s does not exist",
                               (int)(last - 1 - norm), norm);
        r = climits_plan(l, -1, &plan, st);
        if (r < 0)
                return r;
        {
                size_t new = 1;
                for (const char *q = first_new; *q; q++)
                        new += *q == '/';
                r = check_bounds(deepest, new, deepest->depth + (unsigned)new, st);
                if (r < 0)
                        return r;
        }
        if (owner && !m->owner_xattr)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EOPNOTSUPP,
                               "cannot keep an owner: %s takes no extended attributes", m->root_path);
        if (labels && !*labels)
                labels = NULL;
        if (labels && !m->labels_xattr)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EOPNOTSUPP,
                               "cannot keep labels: %s takes no extended attributes", m->root_path);
        r = ensure_controllers(m, deepest, plan.mask, st);
        if (r < 0)
                return r;
        basefd = node_fd(m, deepest, st, &owned);
        if (basefd < 0)
                return basefd;
        /* More than one syscall: record the first new directory, so that a
         * restart after a crash midway removes what was made. */
        journaled = plan.n > 0 || first_new != last || owner || labels;
        if (journaled) {
                snprintf(buf, sizeof buf, "%.*s", (int)(first_new - norm + strcspn(first_new, "/")), norm);
                r = journal_begin(m, "create", buf, NULL, NULL);
                if (r < 0)
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot record the intent to create %s: %s",
                                       norm, strerror(-r));
        }

        /* Make each missing directory; the limits go on the last one. */
        parentfd = basefd;
        for (p = first_new; *p;) {
                size_t len = strcspn(p, "/");
                char comp[LMCT_COMPONENT_MAX + 1];
                int child;

                memcpy(comp, p, len);
                comp[len] = '\0';
                if (mkdirat(parentfd, comp, 0755) < 0) {
                        r = negerrno();
                        snprintf(buf, sizeof buf, "%.*s", (int)(p - norm + len), norm);
                        if (r == -EEXIST) {
                                /* Only the first missing component can exist on disk: made
                                 * outside lmctld. Index it as the kernel holds it. */
                                node *found;
                                int efd = openat(parentfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                                if (efd >= 0 && tree_add(deepest, comp, &found) >= 0)
                                        (void)adopt(m, found, efd);
                                if (efd >= 0)
                                        close(efd);
                                if (journaled)
                                        journal_end(m);
                                return st_fail(st, LMCT__V1__CODE__ALREADY_EXISTS, r, "%s already exists", buf);
                        }
                        mkdir_error(st, r, buf);
                        goto rollback;
                }
                p += len;
                if (!*p && plan.n == 0 && !owner && !labels)
                        break; /* nothing to write: no need to open it */
                child = openat(parentfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (child < 0) {
                        r = st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot open the new cgroup %s", comp);
                        goto rollback;
                }
                if (fd >= 0)
                        close(fd);
                parentfd = fd = child;
                if (*p == '/') {
                        p++;
                        /* An intermediate parent: open the way for the limits below. */
                        r = cg_enable(fd, plan.mask);
                        if (r < 0) {
                                st_fail(st, st_code_from_errno(r), r, "cannot enable controllers in %.*s: %s",
                                        (int)(p - 1 - norm), norm, strerror(-r));
                                goto rollback;
                        }
                }
        }
        if (plan.n > 0) {
                r = climits_apply(&plan, fd, false, st);
                if (r < 0)
                        goto rollback;
        }
        if (owner) {
                char v[32];
                int k = snprintf(v, sizeof v, "%u:%u", owner->uid, owner->gid);
                if (fsetxattr(fd, m->owner_xattr, v, (size_t)k, 0) < 0) {
                        r = st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot record the owner of %s: %m", norm);
                        goto rollback;
                }
        }
        if (labels) {
                r = labels_write(m, fd, labels);
                if (r < 0) {
                        st_fail(st, st_code_from_errno(r), r, "cannot record the labels of %s: %s", norm,
                                strerror(-r));
                        goto rollback;
                }
        }

        n = deepest;
        for (p = first_new; *p;) {
                size_t len = strcspn(p, "/");
                char comp[LMCT_COMPONENT_MAX + 1];

                memcpy(comp, p, len);
                comp[len] = '\0';
                r = tree_add(n, comp, &n);
                if (r < 0) {
                        st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r, "out of memory");
                        goto rollback_index;
                }
                p += len;
                if (*p == '/') {
                        p++;
                        n->subtree_mask = plan.mask;
                }
        }
        set_bounds(n, l);
        if (owner) {
                n->has_owner = true;
                n->owner_uid = owner->uid;
                n->owner_gid = owner->gid;
        }
        if (journaled)
                journal_end(m);
        if (owner)
                log_info("created %s, owned by uid %u gid %u", norm, owner->uid, owner->gid);
        else
                log_info("created %s", norm);
        for (p = first_new; *p; p++)
                if (*p == '/') {
                        snprintf(buf, sizeof buf, "%.*s", (int)(p - norm), norm);
                        changed(m, "created", buf, WHO_UID(who), WHO_PID(who));
                }
        changed(m, "created", norm, WHO_UID(who), WHO_PID(who));
        return 0;

rollback_index: {
        node *top = tree_child(deepest, first_new, strcspn(first_new, "/"));
        if (top)
                tree_remove(top);
}
rollback: {
        char first[LMCT_COMPONENT_MAX + 1], failed[NAME_MAX + 1];
        size_t len = strcspn(first_new, "/");
        int k;

        memcpy(first, first_new, len);
        first[len] = '\0';
        k = cg_rmtree(basefd, first, failed, sizeof failed);
        if (k < 0)
                log_error("create %s: cannot remove %s after a failure: %s", norm, failed, strerror(-k));
        if (journaled)
                journal_end(m);
}
        return r;
}

int manager_update(manager *m, const caller *who, const char *name, const Lmct__V1__Limits *l, const label_change *lc, status *st) {
        char buf[LMCT_NAME_MAX + 1], old_labels[LABELS_TEXT_MAX], new_labels[LABELS_TEXT_MAX];
        bool relabel = lc && (lc->n_set || lc->n_remove), journaled;
        _cleanup_close_ int fd = -1;
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
        if (plan.n == 0 && !relabel)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "no limit or label given");
        r = ensure_controllers(m, n->parent, plan.mask, st);
        if (r < 0)
                return r;
        /* Several files, or limits and labels: all or none, across a crash too. */
        journaled = plan.n > 1 || (plan.n > 0 && relabel);
        if (journaled) {
                climits_save(&plan, fd);
                r = journal_begin(m, "update", buf, &plan, relabel ? old_labels : NULL);
                if (r < 0)
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot record the intent to update %s: %s",
                                       buf, strerror(-r));
        }
        /* The labels first: one syscall, and if it fails nothing has changed. */
        if (relabel && (r = labels_write(m, fd, new_labels)) < 0)
                st_fail(st, st_code_from_errno(r), r, "cannot record the labels of %s: %s", buf, strerror(-r));
        else if (plan.n > 0) {
                r = climits_apply(&plan, fd, plan.n > 1, st);
                if (r < 0 && relabel && labels_write(m, fd, old_labels) < 0)
                        log_error("%s: cannot put its labels back after a failed update", buf);
        }
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
        r = journal_begin(m, "destroy", path, NULL, NULL);
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
        if (n->busy)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY,
                               "%s has an operation in progress in its subtree", buf);
        if (n->n_children && !recursive)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -ENOTEMPTY,
                               "%s has %zu subcontainer%s (%s%s); destroy them first or destroy recursively", buf,
                               n->n_children, n->n_children == 1 ? "" : "s", n->children[0]->name,
                               n->n_children > 1 ? ", ..." : "");
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

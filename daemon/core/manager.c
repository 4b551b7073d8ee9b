#include "manager-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

#include "climits.h"
#include "devrules.h"
#include "journal.h"
#include "lmct-name.h"
#include "log.h"
#include "util.h"

int answer_too_big(status *st, size_t max) {
        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -EMSGSIZE,
                       "the answer would be over %zu bytes, more than this caller may be sent at once: ask for "
                       "less (a smaller subtree, or without -r)",
                       max);
}

int check_name(manager *m, const char *name, bool allow_root, status *st, const char **ret_norm) {
        char err[200], q[100];
        size_t skip;
        int r;

        if (!name)
                name = "";
        r = lmct_name_check(name, strlen(name), m->max_depth, allow_root, &skip, err, sizeof err);
        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, r, "invalid name %s: %s",
                               quote(name, q, sizeof q), err);
        *ret_norm = name + skip;
        return r;
}

int find_node(manager *m, const char *name, bool allow_root, status *st, node **ret) {
        const char *norm;
        char buf[LMCT_NAME_MAX + 1];
        node *n;
        int r;

        r = check_name(m, name, allow_root, st, &norm);
        if (r < 0)
                return r;
        n = tree_lookup(m->root, norm, NULL, NULL);
        if (!n)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "%s does not exist", norm);
        for (node *a = n; a; a = a->parent)
                if (a->destroying)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY, "%s is being destroyed",
                                       NODE_NAME(a, buf));
        *ret = n;
        return 0;
}

int open_node(manager *m, node *n, status *st) {
        char path[LMCT_NAME_MAX + 1];
        int fd;

        tree_path(n, path, sizeof path);
        fd = cg_open(m->rootfd, path);
        if (fd >= 0)
                return fd;
        if (fd == -ENOENT && n->parent && !n->busy) {
                log_warning("%s: cgroup directory vanished outside lmctld, forgetting it", path);
                tree_remove(n);
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, fd, "%s does not exist", path);
        }
        return st_fail(st, st_code_from_errno(fd), fd, "cannot open the cgroup of %s: %s",
                       n->parent ? path : "/", strerror(-fd));
}

int node_fd(manager *m, node *n, status *st, int *owned) {
        *owned = -1;
        if (!n->parent)
                return m->rootfd;
        return *owned = open_node(m, n, st);
}

int ensure_controllers(manager *m, node *parent, unsigned mask, status *st) {
        node *chain[LMCT_NAME_DEPTH_MAX + 2];
        char buf[LMCT_NAME_MAX + 1];
        size_t depth = 0;

        if (mask & ~m->avail) {
                for (int c = 0; c < _CG_MAX; c++)
                        if (mask & ~m->avail & CG_MASK(c))
                                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EOPNOTSUPP,
                                               "controller %s is not available: %s", cg_controller_name(c),
                                               m->unavail_why[c]);
        }
        for (node *a = parent; a && depth < ELEMENTSOF(chain); a = a->parent)
                chain[depth++] = a;
        while (depth > 0) {
                node *a = chain[--depth];
                unsigned missing = mask & ~a->subtree_mask;
                _cleanup_close_ int owned = -1;
                int fd, r;

                if (!missing)
                        continue;
                fd = node_fd(m, a, st, &owned);
                if (fd < 0)
                        return fd;
                r = cg_enable(fd, missing);
                if (r == -EBUSY)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                       "cannot enable controllers below %s: it holds processes of its own "
                                       "(cgroup v2 distributes resources only below cgroups without processes)",
                                       NODE_NAME(a, buf));
                if (r < 0)
                        return st_fail(st, st_code_from_errno(r), r, "cannot enable controllers below %s: %s",
                                       NODE_NAME(a, buf), strerror(-r));
                a->subtree_mask |= missing;
        }
        return 0;
}

void node_hold(node *n) {
        for (node *a = n; a; a = a->parent)
                a->busy++;
}

void node_release(node *n) {
        for (node *a = n; a; a = a->parent)
                a->busy--;
}

int open_container(manager *m, const char *name, bool allow_root, status *st, node **ret, char *path, size_t len) {
        node *n;
        int r;

        r = find_node(m, name, allow_root, st, &n);
        if (r < 0)
                return r;
        if (n->parent)
                tree_path(n, path, len);
        else
                snprintf(path, len, "/");
        *ret = n;
        return open_node(m, n, st);
}

void node_wait_release(node_wait *nw) {
        if (!nw->n)
                return;
        node_release(nw->n);
        if (nw->destroying)
                nw->n->destroying = false;
        nw->n = NULL;
}

static void node_wait_free(void *p) {
        node_wait *nw = p;

        node_wait_release(nw);
        if (!nw->finished) {
                status st = { .code = LMCT__V1__CODE__UNAVAILABLE };
                snprintf(st.msg, sizeof st.msg, "lmctld is shutting down");
                nw->done(nw->userdata, -ECANCELED, &st);
        }
        close(nw->fd);
        free(nw);
}

static bool node_wait_changed(watch *w, bool timed_out, void *userdata) {
        node_wait *nw = userdata;
        status st = { 0 };
        int r;

        (void)w;
        r = nw->check(nw, timed_out, &st);
        if (r == MANAGER_PENDING && !timed_out)
                return false;
        nw->finished = true;
        nw->done(nw->userdata, r == MANAGER_PENDING ? -ETIMEDOUT : r, &st);
        return true;
}

int node_wait_start(manager *m, const caller *who, node *n, int fd, bool destroying, int timeout_ms, node_wait_check check,
                    op_done_fn done, void *userdata, status *st) {
        node_wait *nw;
        watch *w;
        int r;

        nw = calloc(1, sizeof *nw);
        if (!nw) {
                close(fd);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        *nw = (node_wait){ m, n, fd, destroying, false, check, done, userdata, who ? who->uid : (uid_t)-1,
                           who ? who->pid : 0 };
        node_hold(n);
        if (destroying)
                n->destroying = true;
        r = watch_events(m->watcher, fd, timeout_ms, node_wait_changed, nw, node_wait_free, &w);
        if (r < 0) {
                nw->finished = true;
                node_wait_free(nw);
                return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot watch cgroup.events: %s", strerror(-r));
        }
        /* The state may have been reached before the watch was in place. */
        r = check(nw, false, st);
        if (r == MANAGER_PENDING)
                return MANAGER_PENDING;
        nw->finished = true;
        watch_cancel(w);
        return r;
}

struct adopt_ctx {
        manager *m;
        node *n;
        int r;
};

static int adopt_child(int dirfd, const char *name, void *userdata) {
        struct adopt_ctx *ctx = userdata;
        _cleanup_close_ int fd = -1;
        node *child;
        int r;

        /* Only names lmct could have made: this skips leaves ("_self") and
         * anything another tool put there. */
        if (lmct_name_check(name, strlen(name), 1, 0, NULL, NULL, 0) != 1)
                return 0;
        if (ctx->n->depth >= ctx->m->max_depth)
                return 0;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0; /* raced with a removal */
        r = tree_add(ctx->n, name, &child);
        if (r == -EEXIST)
                return 0;
        if (r < 0)
                return r;
        return adopt(ctx->m, child, fd);
}

/* What a container keeps besides its limits: its owner (an extended
 * attribute) and the bounds on the tree below it (the kernel's files, in
 * containers: see climits.c). */
static void read_meta(manager *m, node *n, int fd) {
        char buf[64];
        unsigned uid, gid;
        uint64_t v;
        ssize_t k;

        if (m->owner_xattr && (k = fgetxattr(fd, m->owner_xattr, buf, sizeof buf - 1)) > 0) {
                buf[k] = '\0';
                if (sscanf(buf, "%u:%u", &uid, &gid) == 2) {
                        n->has_owner = true;
                        n->owner_uid = uid;
                        n->owner_gid = gid;
                }
        }
        if (cg_read_u64(fd, "cgroup.max.descendants", &v) >= 0 && v != UINT64_MAX)
                n->max_desc = v > 0 ? (unsigned)((v - 1) / 2) : 0;
        if (cg_read_u64(fd, "cgroup.max.depth", &v) >= 0 && v != UINT64_MAX)
                n->max_depth = v > 0 ? (unsigned)(v - 1) : 0;
        {
                char path[LMCT_NAME_MAX + 1];
                devrules_adopt(m, fd, tree_path(n, path, sizeof path));
        }
}

int adopt(manager *m, node *n, int fd) {
        struct adopt_ctx ctx = { m, n, 0 };
        char buf[256];

        if (cg_read(fd, "cgroup.subtree_control", buf, sizeof buf) >= 0)
                n->subtree_mask = cg_parse_controllers(buf);
        if (n->parent)
                read_meta(m, n, fd);
        return cg_for_each_child(fd, adopt_child, &ctx);
}

/* Why a controller the root cannot enable is missing, from /proc/cgroups. */
static void explain_unavailable(manager *m) {
        char line[256];
        FILE *f;

        for (int c = 0; c < _CG_MAX; c++)
                snprintf(m->unavail_why[c], sizeof m->unavail_why[c],
                         "not delegated to %s (absent from its cgroup.controllers)", m->root_path);
        f = fopen("/proc/cgroups", "re");
        if (!f)
                return;
        while (fgets(line, sizeof line, f)) {
                char name[64];
                unsigned hier, num, enabled;
                if (sscanf(line, "%63s %u %u %u", name, &hier, &num, &enabled) != 4)
                        continue;
                for (int c = 0; c < _CG_MAX; c++) {
                        if (strcmp(name, cg_controller_name(c)) != 0)
                                continue;
                        if (!enabled)
                                snprintf(m->unavail_why[c], sizeof m->unavail_why[c],
                                         "disabled on the kernel command line");
                        else if (hier != 0)
                                snprintf(m->unavail_why[c], sizeof m->unavail_why[c],
                                         "bound to a cgroup v1 hierarchy on this host");
                }
        }
        fclose(f);
}

/* The root's path as /proc/PID/cgroup shows it, from /proc/self/mountinfo. */
static __attribute__((unused)) int find_cgpath(manager *m) {
        char real[PATH_MAX], line[4096], best_mp[PATH_MAX] = "", best_root[PATH_MAX] = "";
        size_t best = 0;
        FILE *f;

        if (!realpath(m->root_path, real))
                return negerrno();
        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return negerrno();
        while (fgets(line, sizeof line, f)) {
                char root[PATH_MAX], mp[PATH_MAX];
                const char *sep = strstr(line, " - ");
                size_t l;
                if (!sep || strncmp(sep, " - cgroup2 ", 11) != 0)
                        continue;
                if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2)
                        continue;
                l = strlen(mp);
                if (strcmp(mp, "/") == 0)
                        l = 0;
                if (strncmp(real, mp, l) == 0 && (real[l] == '/' || real[l] == '\0') && l >= best) {
                        best = l;
                        snprintf(best_mp, sizeof best_mp, "%s", mp);
                        snprintf(best_root, sizeof best_root, "%s", strcmp(root, "/") == 0 ? "" : root);
                }
        }
        fclose(f);
        if (!best_mp[0])
                return -ENOENT;
        if (asprintf(&m->root_cgpath, "%s%s", best_root, real + best) < 0)
                return -ENOMEM;
        return 0;
}

/* Opens the root ROOT_PATH into *RET, creating it if it is missing and its
 * parent is on cgroup v2; with CHECK, it must be on cgroup v2 itself. */
static int open_root(const char *root_path, bool check, int *ret) __attribute__((nonnull));
static int open_root(const char *root_path, bool check, int *ret) {
        _cleanup_close_ int fd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct statfs sfs;

        if (fd < 0 && errno == ENOENT) {
                /* Create it only inside a cgroup v2 hierarchy. */
                _cleanup_free_ char *parent = strdup(root_path);
                char *slash = parent ? strrchr(parent, '/') : NULL;
                if (slash)
                        *(slash == parent ? slash + 1 : slash) = '\0';
                if (!parent || statfs(slash ? parent : ".", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
                        log_error("%s does not exist and its parent is not on a cgroup v2 filesystem", root_path);
                        return -EMEDIUMTYPE;
                }
                if (mkdir(root_path, 0755) < 0)
                        return log_error_errno(negerrno(), "cannot create the cgroup root %s", root_path);
                log_info("created the cgroup root %s", root_path);
                fd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return log_error_errno(negerrno(), "cannot open the cgroup root %s", root_path);
        if (check && (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)) {
                log_error("%s is not on a cgroup v2 filesystem", root_path);
                return -EMEDIUMTYPE;
        }
        *ret = TAKE_FD(fd);
        return 0;
}

int manager_new(struct event_base *base, const char *root_path, const char *plain_cgpath, unsigned max_depth,
                manager **ret) {
        manager *m;
        char buf[256];
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        *m = (manager){ .base = base, .rootfd = -1, .max_depth = max_depth, .destroy_timeout_ms = 30000,
                        .pause_timeout_ms = 30000, .start_timeout_ms = 10000, .reclaim_timeout_ms = 10000,
                        .root_path = strdup(root_path) };
        r = m->root_path ? open_root(root_path, !plain_cgpath, &m->rootfd) : -ENOMEM;
        if (r < 0)
                goto fail;
        r = cg_read(m->rootfd, "cgroup.controllers", buf, sizeof buf);
        if (r < 0) {
                log_error_errno(r, "cannot read %s/cgroup.controllers", root_path);
                goto fail;
        }
        m->avail = cg_parse_controllers(buf);
        explain_unavailable(m);
        r = plain_cgpath ? ((m->root_cgpath = strdup(plain_cgpath)) ? 0 : -ENOMEM) : find_cgpath(m);
        if (r < 0) {
                log_error_errno(r, "cannot find %s in the cgroup2 mounts", root_path);
                goto fail;
        }
        journal_recover(m);
        m->root = tree_new_root();
        r = m->root ? adopt(m, m->root, m->rootfd) : -ENOMEM;
        if (r < 0) {
                log_error_errno(r, "cannot read the container tree below %s", root_path);
                goto fail;
        }
        r = watcher_new(base, &m->watcher);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

manager *manager_free(manager *m) {
        if (!m)
                return NULL;
        manager_reclaims_abandon(m);
        watcher_free(m->watcher);
        tree_free(m->root);
        if (m->rootfd >= 0)
                close(m->rootfd);
        free(m->root_path);
        free(m->root_cgpath);
        free(m->log_dir);
        free(m);
        return NULL;
}

size_t manager_count(const manager *m) {
        return tree_count(m->root);
}

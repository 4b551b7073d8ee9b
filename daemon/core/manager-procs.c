/* enter, pause, resume, kill: the verbs that act on a container's processes. */
#include "manager-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "lmct-name.h"
#include "log.h"
#include "peer.h"
#include "util.h"

#define ENTER_PIDS_MAX 1024

static int pidfd_send_signal_(int pidfd, int sig) {
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Whether the process behind PIDFD (pid PID) passes POL: its uids, and
 * the container it is in. Every read of /proc/PID is followed by a check
 * that PIDFD's process is still alive, so that what was read was about it
 * and not about a process that got its pid since. */
static int enter_allowed(manager *m, pid_t pid, int pidfd, const enter_policy *pol, status *st) {
        if (pol->check_uid) {
                char file[64], buf[4096], *u;
                unsigned r_, e_, s_;
                _cleanup_close_ int fd = -1;
                ssize_t k;

                snprintf(file, sizeof file, "/proc/%d/status", pid);
                fd = open(file, O_RDONLY | O_CLOEXEC);
                k = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
                if (k < 0 || !pidfd_alive(pidfd))
                        return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH, "process %d does not exist", pid);
                buf[k] = '\0';
                u = strstr(buf, "\nUid:");
                if (!u || sscanf(u + 5, "%u %u %u", &r_, &e_, &s_) != 3)
                        return st_fail(st, LMCT__V1__CODE__INTERNAL, -EIO, "cannot read the owner of process %d", pid);
                if (r_ != pol->uid || e_ != pol->uid || s_ != pol->uid)
                        return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                                       "process %d is not uid %u's (its uids are %u, %u, %u)", pid,
                                       (unsigned)pol->uid, r_, e_, s_);
        }
        if (pol->within || pol->may_take) {
                char where[LMCT_NAME_MAX + 1];
                size_t l = pol->within ? strlen(pol->within) : 0;
                int r = manager_pid_position(m, pid, pidfd, where, sizeof where, st);
                if (r < 0)
                        return r;
                if (pol->within && (strncmp(where, pol->within, l) != 0 || (where[l] != '\0' && where[l] != '/')))
                        return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                                       "process %d is not in your container", pid);
                /* Its own process, but in a container of someone else's:
                 * taking it from there would undo their limits. */
                if (pol->may_take && (r = pol->may_take(pol->userdata, where, st)) < 0)
                        return r;
        }
        return 0;
}

/* PIDS as given: some, not too many, none of them init or lmctld. */
static int check_pids(const int32_t *pids, size_t n_pids, status *st) {
        if (n_pids == 0)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "no process given");
        if (n_pids > ENTER_PIDS_MAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG, "%zu processes given, at most %d",
                               n_pids, ENTER_PIDS_MAX);
        for (size_t i = 0; i < n_pids; i++) {
                if (pids[i] <= 0)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "%d is not a process id",
                                       pids[i]);
                if (pids[i] == 1 || pids[i] == getpid())
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "process %d is %s and stays where it is", pids[i],
                                       pids[i] == 1 ? "the init process" : "lmctld itself");
        }
        return 0;
}

/* Moves process PID (held by PIDFD) into LEAF of container PATH; it must
 * still be alive after the move, so the pid written was its own. */
static int move_pid(int leaf, const char *path, int32_t pid, int pidfd, status *st) {
        char num[16];
        int r;

        snprintf(num, sizeof num, "%d", pid);
        r = cg_write(leaf, "cgroup.procs", num);
        if (r == -ESRCH)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, r, "process %d does not exist", pid);
        if (r == -EINVAL)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, r,
                               "process %d cannot be moved (a kernel thread?)", pid);
        if (r < 0)
                return st_fail(st, st_code_from_errno(r), r, "cannot move process %d into %s: %s", pid, path,
                               strerror(-r));
        if (!pidfd_alive(pidfd))
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH, "process %d ended while it was being moved",
                               pid);
        return 0;
}

int manager_enter(manager *m, const char *name, const int32_t *pids, size_t n_pids, const enter_policy *pol,
                  status *st) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int leaf = -1;
        int *pfds = NULL;
        node *n;
        int r;

        r = find_node(m, name, false, st, &n);
        if (r < 0)
                return r;
        tree_path(n, path, sizeof path);
        r = check_pids(pids, n_pids, st);
        if (r < 0)
                return r;
        /* Every process is checked before anything changes (the leaf is
         * made only for processes that may go there). The check and the
         * move are about the process each pidfd holds: alive at the check,
         * and still alive after the move, so the pid written cannot have
         * been another's meanwhile. */
        pfds = calloc(n_pids, sizeof *pfds);
        if (!pfds)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n_pids; i++)
                pfds[i] = -1;
        for (size_t i = 0; i < n_pids && r >= 0; i++) {
                pfds[i] = pidfd_open_(pids[i]);
                if (pfds[i] < 0)
                        r = errno == ESRCH ? st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH,
                                                     "process %d does not exist", pids[i])
                                           : st_fail(st, st_code_from_errno(negerrno()), negerrno(),
                                                     "cannot open process %d: %m", pids[i]);
                else if (pol)
                        r = enter_allowed(m, pids[i], pfds[i], pol, st);
        }
        if (r >= 0 && (leaf = manager_leaf_fd(m, path, st)) < 0)
                r = leaf;
        for (size_t i = 0; i < n_pids && r >= 0; i++)
                r = move_pid(leaf, path, pids[i], pfds[i], st);
        if (r >= 0)
                log_info("entered %zu process%s into %s", n_pids, n_pids == 1 ? "" : "es", path);
        for (size_t i = 0; i < n_pids; i++)
                if (pfds[i] >= 0)
                        close(pfds[i]);
        free(pfds);
        return r < 0 ? r : 0;
}

static int frozen(int fd) {
        uint64_t v;
        int r = cg_read_key(fd, "cgroup.events", "frozen", &v);

        return r < 0 ? r : v != 0;
}

static int pause_check(node_wait *nw, bool timed_out, status *st) {
        char path[LMCT_NAME_MAX + 1];

        if (frozen(nw->fd) > 0)
                return 0;
        if (!timed_out)
                return MANAGER_PENDING;
        return st_fail(st, LMCT__V1__CODE__UNAVAILABLE, -ETIMEDOUT, "%s did not freeze within %d s",
                       tree_path(nw->n, path, sizeof path), nw->m->pause_timeout_ms / 1000);
}

/* Writes NAME's cgroup.freeze (ON: 1, else 0); its directory into *RET_FD,
 * its node into *RET_N, its full name into PATH. */
static int set_frozen(manager *m, const char *name, bool on, char *path, size_t len, node **ret_n, int *ret_fd,
                      status *st) {
        _cleanup_close_ int fd = open_container(m, name, false, st, ret_n, path, len);
        int r;

        if (fd < 0)
                return fd;
        r = cg_write(fd, "cgroup.freeze", on ? "1" : "0");
        if (r < 0)
                return st_fail(st, st_code_from_errno(r), r, "cannot %s %s: %s", on ? "freeze" : "thaw", path,
                               strerror(-r));
        log_info("%s %s", on ? "paused" : "resumed", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int manager_pause(manager *m, const char *name, status *st, op_done_fn done, void *userdata) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        node *n;
        int r;

        r = set_frozen(m, name, true, path, sizeof path, &n, &fd, st);
        if (r < 0)
                return r;
        if (frozen(fd) > 0)
                return 0;
        return node_wait_start(m, NULL, n, TAKE_FD(fd), false, m->pause_timeout_ms, pause_check, done, userdata, st);
}

int manager_resume(manager *m, const char *name, status *st) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        node *n;

        return set_frozen(m, name, false, path, sizeof path, &n, &fd, st);
}

int manager_pid_position(manager *m, pid_t pid, int pidfd, char *name, size_t len, status *st) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dir = -1;
        char path[32];
        int r;

        snprintf(path, sizeof path, "/proc/%d", (int)pid);
        dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* Alive once the directory is open: it is the pidfd's process's. */
        if (dir < 0 || !pidfd_alive(pidfd))
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH, "process %d does not exist", pid);
        r = read_all_at(dir, "cgroup", 64 << 10, &text, NULL);
        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH, "process %d does not exist", pid);
        r = peer_position(text, m->root_cgpath, name, len);
        if (r == -ENOENT)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, r, "process %d is in no cgroup v2 cgroup", pid);
        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, r, "cannot read the cgroup of process %d", pid);
        return 0;
}

typedef struct kill_ctx {
        manager *m;
        const char *within;      /* the container's full name */
        int sig;
} kill_ctx;

/* Signals PID only if, its pidfd open, it is still in the container: a pid
 * that was freed and taken by another process since cgroup.procs was read
 * is left alone, wherever that process lives. */
static int signal_pid(pid_t pid, void *userdata) {
        kill_ctx *k = userdata;
        _cleanup_close_ int pfd = pidfd_open_(pid);
        char where[LMCT_NAME_MAX + 1];
        size_t l = strlen(k->within);
        status ignored;

        if (pfd < 0 || manager_pid_position(k->m, pid, pfd, where, sizeof where, &ignored) < 0)
                return 0;
        if (strncmp(where, k->within, l) == 0 && (where[l] == '\0' || where[l] == '/'))
                (void)pidfd_send_signal_(pfd, k->sig);
        return 0;
}

int manager_kill(manager *m, const char *name, int sig, status *st) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        kill_ctx k = { m, path, sig };
        node *n;
        int r;

        if (sig < 1 || sig > SIGRTMAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "%d is not a signal number (1..%d)",
                               sig, SIGRTMAX);
        fd = open_container(m, name, false, st, &n, path, sizeof path);
        if (fd < 0)
                return fd;
        if (sig == SIGKILL) {
                r = cg_write(fd, "cgroup.kill", "1");
                if (r < 0 && r != -ENOENT)
                        return st_fail(st, st_code_from_errno(r), r, "cannot kill %s: %s", path, strerror(-r));
                if (r == 0)
                        goto done;
        }
        (void)cg_for_each_pid_below(fd, signal_pid, &k);
done:
        log_info("sent signal %d to %s", sig, path);
        return 0;
}

int manager_leaf_fd(manager *m, const char *name, status *st) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        int leaf;
        node *n;

        fd = open_container(m, name, false, st, &n, path, sizeof path);
        if (fd < 0)
                return fd;
        if (mkdirat(fd, LMCT_LEAF, 0755) < 0 && errno != EEXIST)
                return st_fail(st, st_code_from_errno(negerrno()), negerrno(), "cannot create the leaf of %s: %s",
                               path, strerror(errno));
        leaf = openat(fd, LMCT_LEAF, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (leaf < 0)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot open the leaf of %s: %s", path,
                               strerror(errno));
        return leaf;
}

int manager_exists(manager *m, const char *name, status *st) {
        const char *norm;
        int r = check_name(m, name, false, st, &norm);

        if (r < 0)
                return r;
        return tree_lookup(m->root, norm, NULL, NULL) != NULL;
}

int manager_resolve(manager *m, const char *name, bool allow_root, char *out, size_t len, status *st) {
        node *n;
        int r = find_node(m, name, allow_root, st, &n);

        if (r < 0)
                return r;
        tree_path(n, out, len);
        return 0;
}

void manager_set_last_run(manager *m, const char *name, const run_status *rs) {
        node *n = tree_lookup(m->root, name, NULL, NULL);

        if (n && !n->last_run)
                n->last_run = malloc(sizeof *n->last_run);
        if (n && n->last_run)
                *n->last_run = *rs;
        if (rs->exited && m->observer.run_ended)
                m->observer.run_ended(m->observer.userdata, name);
}

#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* What is said on the channel (a SOCK_SEQPACKET pair: one message each):
 * the helper says TOOK once it holds its own descriptors, then BORN with
 * the command's pid and a pidfd of it (SCM_RIGHTS); the command, if it
 * cannot execute, a child_error. The channel closes when it executes. */
#define TOOK 'F'
struct born {
        char kind;               /* 'B' */
        int pid;
};
struct child_error {
        int err;
        int exec_failed;
        char step[160];
};

static void child_fail(int pipefd, int err, int exec_failed, const char *step) {
        struct child_error ce = { .err = err, .exec_failed = exec_failed };

        snprintf(ce.step, sizeof ce.step, "%s", step);
        (void)!write(pipefd, &ce, sizeof ce);
        _exit(exec_failed ? (err == ENOENT ? 127 : 126) : 125);
}

#define CHECK(expr, step)                                    \
        do {                                                 \
                if ((expr) < 0)                              \
                        child_fail(errpipe, errno, 0, step); \
        } while (0)

static const char *find_path(char *const *envp) {
        for (char *const *e = envp; e && *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        return *e + 5;
        return SPAWN_DEFAULT_PATH;
}

/* execve with a PATH search in the command's own environment. */
static int exec_search(char *const *argv, char *const *envp) {
        const char *path = find_path(envp), *p;
        int saved = ENOENT;
        char buf[4096];

        if (strchr(argv[0], '/')) {
                execve(argv[0], argv, envp);
                return -errno;
        }
        for (p = path; ; ) {
                size_t len = strcspn(p, ":");
                if (len + strlen(argv[0]) + 2 < sizeof buf) {
                        snprintf(buf, sizeof buf, "%.*s%s%s", (int)len, p, len ? "/" : "", argv[0]);
                        execve(buf, argv, envp);
                        if (errno != ENOENT && errno != ENOTDIR)
                                saved = errno;
                }
                if (!p[len])
                        break;
                p += len + 1;
        }
        return -saved;
}

static struct rlimit inherited_nofile;
static bool nofile_raised;

unsigned long spawn_raise_nofile(unsigned long need) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &inherited_nofile) < 0)
                return 1024;
        rl = inherited_nofile;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
                /* With CAP_SYS_RESOURCE the hard limit rises too. */
                struct rlimit want = { need, need };
                if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
                        nofile_raised = true;
                        return need;
                }
        }
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (rl.rlim_cur < inherited_nofile.rlim_cur)
                rl.rlim_cur = inherited_nofile.rlim_cur;
        if (rl.rlim_cur != inherited_nofile.rlim_cur && setrlimit(RLIMIT_NOFILE, &rl) == 0)
                nofile_raised = true;
        getrlimit(RLIMIT_NOFILE, &rl);
        return (unsigned long)rl.rlim_cur;
}

/* The helper starts sharing lmctld's descriptor table (CLONE_FILES), so
 * that nothing of lmctld's is ever copied into it: a copy would have to be
 * closed, and closing a descriptor some client sent (a FUSE file) can wait
 * forever. Its first act is to make a table of its own holding 0-2 alone
 * (close_range with CLOSE_RANGE_UNSHARE copies only what is below the
 * range), then it takes from lmctld, by pidfd_getfd, exactly what it
 * needs: its channel, its stdio (at 0-2), the cgroup, the process it
 * joins and that process's /proc directory. lmctld keeps them open until
 * it says it took them. Returns the channel, or -1 (nothing to report on). */
static int child_take_fds(const spawn_spec *sp, spawn_spec *own, int chan_in_parent) {
        int parent, chan;

        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_UNSHARE) < 0)
                return -1;
        parent = (int)syscall(SYS_pidfd_open, getppid(), 0);
        if (parent < 0)
                return -1;
        chan = (int)syscall(SYS_pidfd_getfd, parent, chan_in_parent, 0);
        if (chan < 0)
                return -1;
        for (int i = 0; i < 3; i++) {
                int fd;
                close(i);
                fd = (int)syscall(SYS_pidfd_getfd, parent, sp->stdio[i], 0);
                if (fd != i || fcntl(fd, F_SETFD, 0) < 0)
                        child_fail(chan, errno ? errno : EBADF, 0, "take the standard descriptors");
                own->stdio[i] = i;
        }
        own->join_pidfd = own->root_procfd = -1;
        if ((own->cgroup_fd = (int)syscall(SYS_pidfd_getfd, parent, sp->cgroup_fd, 0)) < 0)
                child_fail(chan, errno, 0, "take the container's cgroup");
        if (sp->join_pidfd >= 0 && (own->join_pidfd = (int)syscall(SYS_pidfd_getfd, parent, sp->join_pidfd, 0)) < 0)
                child_fail(chan, errno, 0, "take the process to join");
        if (sp->root_procfd >= 0 &&
            (own->root_procfd = (int)syscall(SYS_pidfd_getfd, parent, sp->root_procfd, 0)) < 0)
                child_fail(chan, errno, 0, "take the process to join");
        close(parent);
        return chan;
}

/* Drops the bounding set to what SP's capabilities allow, while it still
 * may (CAP_SETPCAP). */
static void drop_bounding(const spawn_spec *sp, int errpipe) {
        CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keep capabilities");
        for (int c = 0; c <= CAP_LAST_CAP; c++)
                if (!(sp->caps->bounding & (UINT64_C(1) << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        child_fail(errpipe, errno, 0, "drop a bounding capability");
}

/* The capability sets, by capset(2) itself: the child allocates nothing
 * (it was cloned from a process with threads, any of which may have held
 * the allocator's lock at that moment). */
static void set_caps(const spawn_caps *caps, int errpipe) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];
        uint64_t inh = caps->inheritable | caps->ambient; /* ambient needs inheritable */

        for (int i = 0; i < 2; i++)
                d[i] = (struct __user_cap_data_struct){ .effective = (uint32_t)(caps->effective >> (32 * i)),
                                                        .permitted = (uint32_t)(caps->permitted >> (32 * i)),
                                                        .inheritable = (uint32_t)(inh >> (32 * i)) };
        CHECK(syscall(SYS_capset, &h, d), "set capabilities");
        for (int v = 0; v <= CAP_LAST_CAP; v++)
                if (caps->ambient & (UINT64_C(1) << v))
                        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0), "raise an ambient capability");
}

/* The process's own limits and privileges, then its working directory
 * (entered as its own user, so that it starts nowhere it could not go),
 * last before exec. */
static void child_privileges(const spawn_spec *sp, int errpipe) {
        if (nofile_raised)
                CHECK(setrlimit(RLIMIT_NOFILE, &inherited_nofile), "restore the open-file limit");
        for (size_t i = 0; i < sp->n_rlimits; i++) {
                struct rlimit rl = { sp->rlimits[i].soft, sp->rlimits[i].hard };
                CHECK(setrlimit(sp->rlimits[i].resource, &rl), "set a resource limit");
        }
        if (sp->set_oom_score_adj) {
                char v[16];
                int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                CHECK(fd, "set oom_score_adj");
                snprintf(v, sizeof v, "%d", sp->oom_score_adj);
                CHECK(write(fd, v, strlen(v)), "set oom_score_adj");
                close(fd);
        }
        if (sp->caps)
                drop_bounding(sp, errpipe);
        if (sp->set_user) {
                CHECK(setgroups(sp->n_groups, sp->groups), "set supplementary groups");
                CHECK(setresgid(sp->gid, sp->gid, sp->gid), "set the group");
                CHECK(setresuid(sp->uid, sp->uid, sp->uid), "set the user");
        }
        if (sp->caps)
                set_caps(sp->caps, errpipe);
        if (sp->no_new_privs)
                CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
        if (sp->cwd)
                CHECK(chdir(sp->cwd), "change to the working directory");
}

static void child_loopback_up(int errpipe) {
        struct ifreq ifr = { 0 };
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        CHECK(fd, "open a socket for loopback");
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr), "read loopback flags");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr), "bring loopback up");
        close(fd);
}

/* Into the namespaces and the root of another process: the container's
 * command (exec), or the caller itself. Joining a mount namespace puts us
 * at its root mount, which need not be the process's root (pivot_root,
 * chroot): that is taken from the process itself, as nsenter does. */
static void child_join(const spawn_spec *sp, int errpipe) {
        int rootfd = -1, ns = sp->join_ns & ~CLONE_NEWPID;

        if (sp->root_procfd >= 0) {
                rootfd = openat(sp->root_procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
                CHECK(rootfd, "open the root directory of the process to join");
        }
        if (ns)
                CHECK(setns(sp->join_pidfd, ns), "join the namespaces of the process to join");
        if (rootfd >= 0) {
                CHECK(fchdir(rootfd), "enter the root of the process to join");
                CHECK(chroot("."), "enter the root of the process to join");
                CHECK(chdir("/"), "chdir /");
                close(rootfd);
        }
}

/* The command's process, cloned by the helper into its cgroup (and its new
 * namespaces), a child of lmctld's. */
static void child(const spawn_spec *sp, int errpipe) {
        char step[160];
        sigset_t all;
        int r;

        close(sp->cgroup_fd);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < NSIG; s++)
                signal(s, SIG_DFL);
        /* A session of its own, as runc gives a container's process: a
         * "kill 0" inside reaches the command's own group, never lmctld's. */
        CHECK(setsid(), "start a session");
        if (sp->join_pidfd >= 0)
                child_join(sp, errpipe);
        if (sp->ns_flags & CLONE_NEWNS)
                CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private");
        if (sp->rootfs) {
                r = spawn_setup_root(sp, step, sizeof step);
                if (r < 0)
                        child_fail(errpipe, -r, 0, step);
        } else if ((sp->ns_flags & (CLONE_NEWPID | CLONE_NEWNS)) == (CLONE_NEWPID | CLONE_NEWNS))
                CHECK(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount a fresh /proc");
        if (!sp->rootfs && (sp->ns_flags & (CLONE_NEWNET | CLONE_NEWNS)) == (CLONE_NEWNET | CLONE_NEWNS)) {
                /* sysfs shows the network namespace of whoever mounted it. */
                CHECK(mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL),
                      "mount a fresh /sys");
                if (sp->ns_flags & CLONE_NEWCGROUP)
                        (void)mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        }
        if (sp->ns_flags & CLONE_NEWUTS && sp->hostname)
                CHECK(sethostname(sp->hostname, strlen(sp->hostname)), "set the hostname");
        if (sp->ns_flags & CLONE_NEWNET)
                child_loopback_up(errpipe);
        child_privileges(sp, errpipe);
        /* Its stdio is at 0-2 already; nothing else survives the exec. */
        syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
        r = exec_search(sp->argv, sp->envp);
        child_fail(errpipe, -r, 1, sp->argv[0]);
}

/* The helper: takes its descriptors, enters the pid namespace the command
 * is to be born in (its own stays lmctld's), clones the command as a child
 * of lmctld's (CLONE_PARENT) into its cgroup, says so, and exits. It runs
 * in lmctld's memory (CLONE_VM) while lmctld's thread waits (CLONE_VFORK):
 * a few system calls, none of which waits on anything a client holds. It
 * allocates nothing and writes only its own stack. */
typedef struct helper_args {
        const spawn_spec *sp;
        int chan;
} helper_args;

static int helper(void *p) {
        const helper_args *ha = p;
        char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
        struct clone_args args = { 0 };
        spawn_spec own = *ha->sp;
        struct born b = { .kind = 'B' };
        struct iovec iov = { &b, sizeof b };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        struct cmsghdr *cm;
        int errpipe, pidfd = -1;
        long pid;

        errpipe = child_take_fds(ha->sp, &own, ha->chan);
        if (errpipe < 0)
                _exit(125);
        if (own.join_pidfd >= 0 && (own.join_ns & CLONE_NEWPID))
                CHECK(setns(own.join_pidfd, CLONE_NEWPID), "join the pid namespace of the process to join");
        args.flags = CLONE_PARENT | CLONE_INTO_CGROUP | CLONE_PIDFD | (uint64_t)own.ns_flags;
        args.pidfd = (uint64_t)(uintptr_t)&pidfd;
        args.cgroup = (uint64_t)own.cgroup_fd;
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) {
                /* Nothing of lmctld's to read in its memory from /proc
                 * before it executes. */
                (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                child(&own, errpipe);
        }
        if (pid < 0)
                child_fail(errpipe, errno, 0, "clone3 into the container's cgroup");
        b.pid = (int)pid;
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pidfd, sizeof pidfd);
        _exit(sendmsg(errpipe, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof b ? 0 : 125);
}

/* What the helper said, read once it has exited: the command's pid and
 * pidfd, or why there is none. */
static int helper_said(int chan, pid_t *ret_pid, int *ret_pidfd, char *err, size_t errlen) {
        for (;;) {
                int x = spawn_outcome(chan, ret_pid, ret_pidfd, err, errlen);
                if (x == SPAWN_TOOK)
                        continue;
                if (x == SPAWN_BORN)
                        return 0;
                if (x == 0 || x == -EAGAIN || x > 0) {
                        snprintf(err, errlen, "the helper starting the command ended without a word");
                        return -ECHILD;
                }
                return x; /* ERR says what failed */
        }
}

int spawn_start(const spawn_spec *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_errfd, char *err, size_t errlen) {
        /* The helper's stack is within this thread's own (which waits
         * meanwhile): to the sanitizers, and to the command forked from it,
         * it is an ordinary stack. */
        char stack[256 << 10] __attribute__((aligned(64)));
        helper_args ha = { .sp = sp };
        int chan[2], r, st;
        pid_t hpid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0) {
                snprintf(err, errlen, "cannot make the channel to the command's process: %m");
                return negerrno();
        }
        ha.chan = chan[1];
        hpid = clone(helper, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &ha);
        if (hpid < 0) {
                r = negerrno();
                close(chan[0]);
                close(chan[1]);
                snprintf(err, errlen, "cannot start the command's process: %s", strerror(-r));
                return r;
        }
        /* It has exited (or is on its way out): it is reaped at once. */
        while (waitpid(hpid, &st, __WALL) < 0 && errno == EINTR)
                ;
        close(chan[1]);
        (void)fcntl(chan[0], F_SETFL, O_NONBLOCK);
        r = helper_said(chan[0], ret_pid, ret_pidfd, err, errlen);
        if (r < 0) {
                close(chan[0]);
                return r;
        }
        *ret_errfd = chan[0];
        return 0;
}

int spawn_outcome(int errfd, pid_t *ret_pid, int *ret_pidfd, char *err, size_t errlen) {
        union {
                struct child_error ce;
                struct born b;
                char kind;
        } m;
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { &m, sizeof m };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        struct cmsghdr *cm;
        ssize_t n;

        do
                n = recvmsg(errfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return -EAGAIN;
        if (n < 0)
                return negerrno();
        if (n == 0)
                return 0; /* closed on exec */
        cm = CMSG_FIRSTHDR(&mh);
        if (n == 1 && m.kind == TOOK)
                return SPAWN_TOOK;
        if (n == sizeof m.b && m.kind == 'B' && cm && cm->cmsg_type == SCM_RIGHTS) {
                *ret_pid = m.b.pid;
                memcpy(ret_pidfd, CMSG_DATA(cm), sizeof *ret_pidfd);
                return SPAWN_BORN;
        }
        if (n != sizeof m.ce) {
                snprintf(err, errlen, "the command's process ended before it executed");
                return -ECHILD;
        }
        m.ce.step[sizeof m.ce.step - 1] = '\0';
        if (m.ce.exec_failed) {
                snprintf(err, errlen, "%s: %s", m.ce.step, m.ce.err == ENOENT ? "command not found" : strerror(m.ce.err));
                return m.ce.err == ENOENT ? 127 : 126;
        }
        snprintf(err, errlen, "cannot %s: %s", m.ce.step, strerror(m.ce.err));
        return m.ce.err > 0 ? -m.ce.err : -EIO;
}

#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif



/* What the child reports through the error pipe before exec. */
struct child_error {
        int err;
        int exec_failed;
        char step[96];
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

/* mkdir -p of PATH relative to the current directory. */
static int mkdir_parents(const char *path, bool last_too) {
        char buf[4096];
        size_t len = strlen(path);

        if (len >= sizeof buf)
                return -1;
        memcpy(buf, path, len + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -1;
                *p = '/';
        }
        if (last_too && mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
        return 0;
}

/* One mount of an OCI config, relative to the new root (the cwd). */
static void child_mount(const spawn_mount *mt, const char *bundle_dir, int errpipe) {
        const char *dest = mt->destination;
        char step[160], src[4096];
        struct stat sb;
        bool is_file = false;

        while (*dest == '/')
                dest++;
        snprintf(step, sizeof step, "mount %s", mt->destination);
        src[0] = '\0';
        if (mt->source) {
                bool abs = mt->source[0] == '/' || !bundle_dir;
                if ((size_t)snprintf(src, sizeof src, "%s%s%s", abs ? "" : bundle_dir, abs ? "" : "/", mt->source) >=
                    sizeof src)
                        child_fail(errpipe, ENAMETOOLONG, 0, step);
        }
        if (mt->bind && stat(src, &sb) == 0 && !S_ISDIR(sb.st_mode))
                is_file = true;
        if (*dest) {
                CHECK(mkdir_parents(dest, !is_file), step);
                if (is_file) {
                        int fd = open(dest, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                        CHECK(fd, step);
                        close(fd);
                }
        }
        if (mt->bind) {
                CHECK(mount(src, *dest ? dest : ".", NULL, mt->flags | MS_BIND, NULL), step);
                if (mt->readonly || (mt->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)))
                        CHECK(mount(NULL, *dest ? dest : ".", NULL,
                                    MS_BIND | MS_REMOUNT | (mt->flags & ~(unsigned long)MS_REC) | (mt->readonly ? MS_RDONLY : 0),
                                    NULL),
                              step);
                return;
        }
        if (strcmp(mt->type, "cgroup") == 0 || strcmp(mt->type, "cgroup2") == 0) {
                CHECK(mount("cgroup2", dest, "cgroup2", mt->flags | (mt->readonly ? MS_RDONLY : 0), NULL), step);
                return;
        }
        CHECK(mount(src[0] ? src : mt->type, dest, mt->type, mt->flags | (mt->readonly ? MS_RDONLY : 0), mt->data),
              step);
}

/* The device nodes every container gets, bound from the host's. */
static int bind_default_devices(void) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                char host[64], here[64];
                struct stat sb;
                int fd;
                snprintf(host, sizeof host, "/dev/%s", nodes[i]);
                snprintf(here, sizeof here, "dev/%s", nodes[i]);
                if (lstat(here, &sb) == 0 && S_ISCHR(sb.st_mode))
                        continue;
                fd = open(here, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
                if (fd < 0)
                        return -1;
                close(fd);
                if (mount(host, here, NULL, MS_BIND, NULL) < 0)
                        return -1;
        }
        (void)symlink("/proc/self/fd", "dev/fd");
        (void)symlink("/proc/self/fd/0", "dev/stdin");
        (void)symlink("/proc/self/fd/1", "dev/stdout");
        (void)symlink("/proc/self/fd/2", "dev/stderr");
        (void)symlink("pts/ptmx", "dev/ptmx");
        (void)mkdir("dev/pts", 0755);
        (void)mkdir("dev/shm", 01777);
        return 0;
}

static void child_rootfs(const spawn_spec *sp, int errpipe) {
        char bundle_dir[4096];
        bool dev_mounted = false;

        snprintf(bundle_dir, sizeof bundle_dir, "%s", sp->rootfs);
        CHECK(mount(sp->rootfs, sp->rootfs, NULL, MS_BIND | MS_REC, NULL), "bind-mount the root directory");
        CHECK(chdir(sp->rootfs), "enter the root directory");
        if (sp->mounts) {
                /* Bind sources are relative to the bundle: the root's parent. */
                char *slash = strrchr(bundle_dir, '/');
                if (slash)
                        *slash = '\0';
                for (size_t i = 0; i < sp->n_mounts; i++) {
                        child_mount(&sp->mounts[i], bundle_dir, errpipe);
                        if (strcmp(sp->mounts[i].destination, "/dev") == 0)
                                dev_mounted = true;
                }
                if (!dev_mounted) {
                        (void)mkdir("dev", 0755);
                        CHECK(mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
                              "mount /dev");
                }
                CHECK(bind_default_devices(), "set up /dev");
        } else {
                (void)mkdir("proc", 0555);
                (void)mkdir("dev", 0755);
                (void)mkdir("sys", 0555);
                CHECK(mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount /proc");
                CHECK(mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"), "mount /dev");
                CHECK(bind_default_devices(), "set up /dev");
                if (mount("sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
                        CHECK(mount("/sys", "sys", NULL, MS_BIND | MS_REC | MS_RDONLY, NULL), "mount /sys");
        }
        CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root");
        CHECK(umount2(".", MNT_DETACH), "detach the old root");
        CHECK(chdir("/"), "chdir /");
        for (size_t i = 0; i < sp->n_masked; i++) {
                struct stat sb;
                if (stat(sp->masked[i], &sb) < 0)
                        continue;
                if (S_ISDIR(sb.st_mode))
                        CHECK(mount("tmpfs", sp->masked[i], "tmpfs", MS_RDONLY, "size=0"), "mask a path");
                else
                        CHECK(mount("/dev/null", sp->masked[i], NULL, MS_BIND, NULL), "mask a path");
        }
        for (size_t i = 0; i < sp->n_readonly; i++) {
                if (access(sp->readonly_paths[i], F_OK) < 0)
                        continue;
                CHECK(mount(sp->readonly_paths[i], sp->readonly_paths[i], NULL, MS_BIND | MS_REC, NULL),
                      "make a path read-only");
                CHECK(mount(NULL, sp->readonly_paths[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL),
                      "make a path read-only");
        }
        if (sp->root_readonly)
                CHECK(mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL), "make the root read-only");
}

static struct rlimit inherited_nofile;
static bool nofile_raised;

void spawn_raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &inherited_nofile) < 0 || inherited_nofile.rlim_cur >= inherited_nofile.rlim_max)
                return;
        rl = (struct rlimit){ inherited_nofile.rlim_max, inherited_nofile.rlim_max };
        nofile_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* The process's own limits and privileges, last before exec. */
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
        if (sp->caps) {
                CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keep capabilities");
                for (int c = 0; c <= CAP_LAST_CAP; c++)
                        if (!(sp->caps->bounding & (UINT64_C(1) << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
                            errno != EINVAL)
                                child_fail(errpipe, errno, 0, "drop a bounding capability");
        }
        if (sp->set_user) {
                CHECK(setgroups(sp->n_groups, sp->groups), "set supplementary groups");
                CHECK(setresgid(sp->gid, sp->gid, sp->gid), "set the group");
                CHECK(setresuid(sp->uid, sp->uid, sp->uid), "set the user");
        }
        if (sp->caps) {
                cap_t c = cap_init();
                cap_value_t v;
                CHECK(c ? 0 : -1, "set capabilities");
                for (v = 0; v <= CAP_LAST_CAP; v++) {
                        if (sp->caps->effective & (UINT64_C(1) << v))
                                cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
                        if (sp->caps->permitted & (UINT64_C(1) << v))
                                cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET);
                        /* The kernel raises an ambient capability only if it is inheritable too. */
                        if ((sp->caps->inheritable | sp->caps->ambient) & (UINT64_C(1) << v))
                                cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET);
                }
                CHECK(cap_set_proc(c), "set capabilities");
                cap_free(c);
                for (v = 0; v <= CAP_LAST_CAP; v++)
                        if (sp->caps->ambient & (UINT64_C(1) << v))
                                CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0), "raise an ambient capability");
        }
        if (sp->no_new_privs)
                CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
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

static void child(const spawn_spec *sp, int errpipe) {
        sigset_t all;
        int fds[3];
        int r;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < NSIG; s++)
                signal(s, SIG_DFL);
        /* A session of its own, as runc gives a container's process: a
         * "kill 0" inside reaches the command's own group, never lmctld's. */
        CHECK(setsid(), "start a session");
        if (sp->join_pidfd >= 0) {
                /* Joining a mount namespace puts us at its root mount, which
                 * need not be the command's root (pivot_root, chroot): take
                 * that from the command itself, as nsenter does. */
                char path[64];
                int rootfd;
                snprintf(path, sizeof path, "/proc/%d/root", (int)sp->join_pid);
                rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                CHECK(rootfd, "open the root of the container's command");
                CHECK(setns(sp->join_pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP),
                      "join the namespaces of the container's command");
                CHECK(fchdir(rootfd), "enter the root of the container's command");
                CHECK(chroot("."), "enter the root of the container's command");
                CHECK(chdir("/"), "chdir /");
                close(rootfd);
        }
        if (sp->ns_flags & CLONE_NEWNS)
                CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private");
        if (sp->rootfs)
                child_rootfs(sp, errpipe);
        else if ((sp->ns_flags & (CLONE_NEWPID | CLONE_NEWNS)) == (CLONE_NEWPID | CLONE_NEWNS))
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
        if (sp->cwd)
                CHECK(chdir(sp->cwd), "change to the working directory");
        child_privileges(sp, errpipe);
        /* stdio: move out of the way of 0-2 first, then into place. */
        for (int i = 0; i < 3; i++) {
                fds[i] = fcntl(sp->stdio[i], F_DUPFD_CLOEXEC, 3);
                CHECK(fds[i], "take the standard descriptors");
        }
        for (int i = 0; i < 3; i++)
                CHECK(dup2(fds[i], i), "install the standard descriptors");
        syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
        r = exec_search(sp->argv, sp->envp);
        child_fail(errpipe, -r, 1, sp->argv[0]);
}

int spawn_process(const spawn_spec *sp, pid_t *ret_pid, int *ret_pidfd, char *err, size_t errlen) {
        struct clone_args args = { 0 };
        struct child_error ce;
        int pipefd[2], pidfd = -1, self_pidns = -1;
        ssize_t n;
        long pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negerrno();
        if (sp->join_pidfd >= 0) {
                /* Children created from now on are born in the target's pid
                 * namespace; lmctld itself stays where it is. */
                self_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                if (self_pidns < 0 || setns(sp->join_pidfd, CLONE_NEWPID) < 0) {
                        int r = negerrno();
                        if (self_pidns >= 0)
                                close(self_pidns);
                        close(pipefd[0]);
                        close(pipefd[1]);
                        snprintf(err, errlen, "cannot join the pid namespace of the container's command: %s",
                                 strerror(-r));
                        return r;
                }
        }
        args.flags = CLONE_INTO_CGROUP | CLONE_PIDFD | (uint64_t)sp->ns_flags;
        args.pidfd = (uint64_t)(uintptr_t)&pidfd;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)sp->cgroup_fd;
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid != 0 && self_pidns >= 0) {
                int e = errno;
                (void)setns(self_pidns, CLONE_NEWPID);
                close(self_pidns);
                errno = e;
        }
        if (pid < 0) {
                int r = negerrno();
                close(pipefd[0]);
                close(pipefd[1]);
                snprintf(err, errlen, "clone3 into the container's cgroup: %s%s", strerror(-r),
                         r == -ENOSYS || r == -E2BIG ? " (Linux 5.7 or later is needed)" : "");
                return r;
        }
        if (pid == 0) {
                close(pipefd[0]);
                child(sp, pipefd[1]);
        }
        close(pipefd[1]);
        /* Bounded: the child only sets up and executes. */
        do
                n = read(pipefd[0], &ce, sizeof ce);
        while (n < 0 && errno == EINTR);
        close(pipefd[0]);
        if (n == sizeof ce) {
                waitpid((pid_t)pid, NULL, 0);
                close(pidfd);
                ce.step[sizeof ce.step - 1] = '\0';
                if (ce.exec_failed) {
                        snprintf(err, errlen, "%s: %s", ce.step,
                                 ce.err == ENOENT ? "command not found" : strerror(ce.err));
                        return ce.err == ENOENT ? 127 : 126;
                }
                snprintf(err, errlen, "cannot %s: %s", ce.step, strerror(ce.err));
                return -ce.err;
        }
        *ret_pid = (pid_t)pid;
        *ret_pidfd = pidfd;
        return 0;
}

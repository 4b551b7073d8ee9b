#include "scope.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "peer.h"
#include "util.h"

#define KEEPER "_keeper"

static const char *cgroup2_mount(void) {
        static const char *const candidates[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
        struct statfs sfs;

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (statfs(candidates[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
                        return candidates[i];
        return NULL;
}

static _Noreturn void keeper_main(void) {
        sigset_t all;
        int null;

        (void)setsid();
        (void)prctl(PR_SET_NAME, "lmct-keeper");
        for (int sig = 1; sig < _NSIG; sig++)
                (void)signal(sig, SIG_DFL);
        sigemptyset(&all);
        (void)sigprocmask(SIG_SETMASK, &all, NULL);
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; fd < 3 && null >= 0; fd++)
                (void)dup2(null, fd);
        (void)close_range(3, ~0U, 0);
        if (chdir("/") < 0) {
                /* Stays where it was: it only must not pin a mount. */
        }
        for (;;)
                pause();
}

/* Starts a keeper that is not lmctld's child (it must outlive lmctld and
 * never need reaping by it). */
static int keeper_start(pid_t *ret) {
        int p[2], status;
        pid_t child, keeper = 0;
        ssize_t n;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negerrno();
        child = fork();
        if (child < 0) {
                int r = negerrno();
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (child == 0) {
                pid_t k = fork();
                if (k == 0) {
                        close(p[0]);
                        close(p[1]);
                        keeper_main();
                }
                (void)!write(p[1], &k, sizeof k);
                _exit(k < 0);
        }
        close(p[1]);
        n = read(p[0], &keeper, sizeof keeper);
        close(p[0]);
        (void)waitpid(child, &status, 0);
        if (n != sizeof keeper || keeper <= 0)
                return -ECHILD;
        *ret = keeper;
        return 0;
}

/* The cgroup of PID as /proc/PID/cgroup gives it for cgroup v2. */
static int pid_cgroup(pid_t pid, char *buf, size_t len) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        const char *cg;
        size_t n;
        int r;

        snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
        r = read_all_at(AT_FDCWD, path, 1 << 16, &text, &n);
        if (r < 0)
                return r;
        cg = peer_cgroup_path(text, &n);
        if (!cg)
                return -ENOENT;
        snprintf(buf, len, "%.*s", (int)n, cg);
        return 0;
}

static int start_scope(sd_bus *bus, const char *unit, pid_t keeper) {
        _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s",
                                          "lmct containers (delegated to lmctld)", "Slice", "s", "system.slice",
                                          "Delegate", "b", 1, "TasksMax", "t", UINT64_MAX, "PIDs", "au", 1,
                                          (uint32_t)keeper);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &err, &reply);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        if (r < 0)
                log_error("cannot create the scope %s: %s", unit, err.message ? err.message : strerror(-r));
        return r;
}

/* The scope's cgroup if systemd has it active; -ENOENT if there is none. */
static int find_scope(sd_bus *bus, const char *unit, char **ret_cg) {
        _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *state = NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        char *opath;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &err, &reply, "s", unit);
        if (r < 0) {
                if (sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit"))
                        return -ENOENT;
                log_error("cannot look up %s: %s", unit, err.message ? err.message : strerror(-r));
                return r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        opath = r >= 0 ? strdup(path) : NULL;
        sd_bus_message_unref(reply);
        if (!opath)
                return r < 0 ? r : -ENOMEM;
        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", opath, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", &err, &state);
        if (r >= 0 && strcmp(state, "active") != 0)
                r = -ENOENT; /* inactive or failed: start a new one */
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", opath,
                                               "org.freedesktop.systemd1.Scope", "ControlGroup", &err, ret_cg);
        free(opath);
        if (r < 0 && r != -ENOENT)
                log_error("cannot read the state of %s: %s", unit, err.message ? err.message : strerror(-r));
        return r;
}

/* systemd's own private socket when root (as systemctl does: no dependency
 * on a bus daemon being up), the system bus otherwise. */
static int bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (geteuid() != 0 || access("/run/systemd/private", F_OK) < 0)
                return sd_bus_open_system(ret);
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return sd_bus_open_system(ret);
        }
        *ret = bus;
        return 0;
}

int scope_keeper_ensure(int kfd) {
        char buf[64];
        pid_t keeper;
        int r;

        if (cg_read(kfd, "cgroup.procs", buf, sizeof buf) > 0)
                return 0;
        r = keeper_start(&keeper);
        if (r < 0)
                return log_error_errno(r, "cannot start a keeper");
        snprintf(buf, sizeof buf, "%d", (int)keeper);
        r = cg_write(kfd, "cgroup.procs", buf);
        if (r < 0) {
                kill(keeper, SIGKILL);
                return log_error_errno(r, "cannot move the keeper into " KEEPER);
        }
        log_warning("the scope's keeper was gone: started a new one (pid %d)", (int)keeper);
        return 0;
}

/* Starts the scope UNIT around a new keeper, and waits (10 s at most) for
 * systemd to move the keeper into it: the scope's cgroup path into *RET. */
static int scope_create(sd_bus *bus, const char *unit, pid_t *ret_keeper, char **ret) {
        char now[4096];
        size_t l = strlen(unit), n;
        pid_t keeper;
        int r;

        r = keeper_start(&keeper);
        if (r < 0)
                return log_error_errno(r, "cannot start the keeper of %s", unit);
        r = start_scope(bus, unit, keeper);
        for (int i = 0; r >= 0; i++) {
                if (pid_cgroup(keeper, now, sizeof now) == 0 && (n = strlen(now)) > l &&
                    strcmp(now + n - l, unit) == 0 && now[n - l - 1] == '/')
                        break;
                if (i == 1000) {
                        log_error("systemd did not move the keeper into %s within 10 s", unit);
                        r = -ETIMEDOUT;
                        break;
                }
                usleep(10000);
        }
        if (r >= 0 && !(*ret = strdup(now)))
                r = -ENOMEM;
        if (r < 0) {
                kill(keeper, SIGKILL);
                return r;
        }
        log_info("created the scope %s for the containers at %s", unit, *ret);
        *ret_keeper = keeper;
        return 0;
}

/* The keeper's leaf in the scope's cgroup PATH, with a keeper in it: KEEPER
 * when the scope was just made, else the one there (lmctld restarted) or,
 * if it died, a new one. */
static int keeper_leaf(const char *path, pid_t keeper, int *ret_keeper_fd) {
        _cleanup_close_ int fd = -1, kfd = -1;
        char pidbuf[32];
        int r;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(negerrno(), "cannot open the scope's cgroup %s", path);
        if (mkdirat(fd, KEEPER, 0755) < 0 && errno != EEXIST)
                return log_error_errno(negerrno(), "cannot create %s/%s", path, KEEPER);
        kfd = openat(fd, KEEPER, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (kfd < 0)
                return log_error_errno(negerrno(), "cannot open %s/%s", path, KEEPER);
        if (keeper) {
                snprintf(pidbuf, sizeof pidbuf, "%d", (int)keeper);
                r = cg_write(kfd, "cgroup.procs", pidbuf);
                if (r < 0)
                        return log_error_errno(r, "cannot move the keeper into %s/%s", path, KEEPER);
        } else if ((r = scope_keeper_ensure(kfd)) < 0)
                return r;
        *ret_keeper_fd = TAKE_FD(kfd);
        return 0;
}

int scope_setup(const char *unit, char **ret_path, int *ret_keeper_fd) {
        _cleanup_free_ char *cg = NULL;
        const char *mnt = cgroup2_mount();
        sd_bus *bus = NULL;
        pid_t keeper = 0;
        int r;

        if (!mnt) {
                log_error("no cgroup v2 hierarchy is mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified");
                return -EMEDIUMTYPE;
        }
        r = bus_open(&bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to systemd");
        r = find_scope(bus, unit, &cg);
        if (r == -ENOENT)
                r = scope_create(bus, unit, &keeper, &cg);
        sd_bus_flush_close_unref(bus);
        if (r < 0)
                return r;
        if (asprintf(ret_path, "%s%s", mnt, cg) < 0) {
                if (keeper)
                        kill(keeper, SIGKILL);
                return -ENOMEM;
        }
        r = keeper_leaf(*ret_path, keeper, ret_keeper_fd);
        if (r < 0) {
                if (keeper)
                        kill(keeper, SIGKILL);
                free(*ret_path);
                *ret_path = NULL;
        }
        return r;
}

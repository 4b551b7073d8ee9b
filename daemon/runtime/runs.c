#include "runs.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <systemd/sd-journal.h>

#include "climits.h"
#include "list.h"
#include "lmct-name.h"
#include "log.h"
#include "oci.h"
#include "offload.h"
#include "release.h"
#include "spawn.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define ARGS_MAX 4096
#define ENV_MAX 4096
typedef enum run_state {
        RUN_LOADING,    /* its bundle is read in a thread, with a deadline */
        RUN_STARTING,   /* cloned; the error pipe is watched, with a deadline */
        RUN_RUNNING,    /* executed; its pidfd is watched */
        RUN_REAPING,    /* it failed to start or was killed at the deadline: reaped, not reported */
        RUN_REMOVING,   /* ended; its container (--rm) is being destroyed */
} run_state;

typedef struct run run;
struct run {
        manager *m;
        const void *owner;       /* NULL once nobody waits for it */
        uint64_t id;
        quota *q;
        char name[LMCT_NAME_MAX + 1];
        pid_t pid;
        int pidfd, errfd;        /* the command's pidfd; its channel while it starts */
        struct event *ev;        /* the channel (with the deadline), then the pidfd */
        run_state state;
        bool remove, detach, is_exec;
        bool orphan;             /* lmctld stops: the --rm destroy's callback frees it */
        run_status rs;
        run_sink sink;
        /* While loading: its requester, the request, the reading, and the
         * client's stdio kept for the command. */
        const caller *who;
        Lmct__V1__RunRequest *req;
        offload *load;
        int stdio[3];
        LIST_FIELDS(run, runs);
};

static void sink_drop(run *r) {
        run_sink s = r->sink;

        r->sink = (run_sink){ 0 };
        if (s.free)
                s.free(s.userdata);
}

static void report(run *r, int err, const status *st, const char *error, bool final) {
        run_report rep = { .r = err, .st = st, .rs = &r->rs, .error = error, .final = final };

        if (r->sink.report)
                r->sink.report(r->sink.userdata, &rep);
        if (final)
                sink_drop(r);
}

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

/* The caller's stdio goes off the loop (a client's descriptors may take
 * long to close); lmctld's own (a detached command's) here. */
static void let_go_stdio(manager *m, quota *q, int stdio[3], bool own) {
        if (stdio[0] < 0 && stdio[1] < 0 && stdio[2] < 0)
                return; /* given to a command already, or never claimed */
        if (own)
                close_fds(stdio, 3);
        else
                release_fds(m->releaser, q, stdio, 3, 0, 3);
        stdio[0] = stdio[1] = stdio[2] = -1;
}

static void run_free(run *r) {
        LIST_REMOVE(runs, r->m->runs, r);
        if (r->load)
                offload_abandon(r->load);
        if (r->req)
                lmct__v1__run_request__free_unpacked(r->req, NULL);
        let_go_stdio(r->m, r->q, r->stdio, false);
        if (r->ev)
                event_free(r->ev);
        if (r->pidfd >= 0)
                close(r->pidfd);
        if (r->errfd >= 0)
                close(r->errfd);
        quota_give(r->q, Q_RUNS, 1);
        quota_unref(r->q);
        sink_drop(r);
        free(r);
}

static void ignore_done(void *userdata, int r, const status *st) {
        (void)userdata;
        (void)r;
        (void)st;
}

static const char *verb(const run *r) {
        return r->is_exec ? "exec" : "run";
}

static void on_removed(void *userdata, int err, const status *st) {
        run *r = userdata;

        if (err < 0 && err != -ECANCELED)
                log_warning("run --rm %s: cannot remove the container: %s", r->name, st->msg);
        if (err == -ECANCELED)
                log_info("run --rm %s: lmctld stops before the container was removed", r->name);
        if (!r->orphan)
                report(r, err == -ECANCELED ? 0 : err, st, NULL, true);
        run_free(r);
}

/* --rm: the container goes once its command has. */
static void remove_container(run *r) {
        status st = { 0 };
        int x;

        r->state = RUN_REMOVING;
        x = manager_destroy(r->m, NULL, r->name, true, true, &st, on_removed, r);
        if (x != MANAGER_PENDING)
                on_removed(r, x, &st);
}

static void on_exit_event(evutil_socket_t fd, short what, void *arg) {
        run *r = arg;
        siginfo_t si = { 0 };

        (void)fd;
        (void)what;
        if (waitid(P_PIDFD, (id_t)r->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return;
        event_free(r->ev);
        r->ev = NULL;
        close(r->pidfd);
        r->pidfd = -1;
        if (r->state == RUN_REAPING) {
                /* Its failure was reported already. */
                if (r->remove)
                        remove_container(r);
                else
                        run_free(r);
                return;
        }
        r->rs.exited = true;
        if (si.si_code == CLD_EXITED)
                r->rs.exit_code = si.si_status;
        else
                r->rs.signal = si.si_status;
        if (!r->is_exec) {
                manager_set_last_run(r->m, r->name, &r->rs);
        }
        log_info("%s %s: pid %d %s %d", verb(r), r->name, r->pid, r->rs.signal ? "killed by signal" : "exited with",
                 r->rs.signal ? r->rs.signal : r->rs.exit_code);
        if (r->remove) {
                remove_container(r);
                return;
        }
        report(r, 0, NULL, NULL, true);
        run_free(r);
}

/* Watches R's pidfd from now on: for its exit, or to reap it. */
static int watch_exit(run *r, run_state state) {
        if (r->ev)
                event_free(r->ev);
        if (r->errfd >= 0)
                close(r->errfd);
        r->errfd = -1;
        r->state = state;
        r->ev = event_new(r->m->base, r->pidfd, EV_READ | EV_PERSIST, on_exit_event, r);
        if (r->ev && event_add(r->ev, NULL) == 0)
                return 0;
        /* Cannot wait for it: not left running unwatched. */
        syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
        return -ENOMEM;
}

static void start_failed(run *r, int err, const status *st) {
        report(r, err, st, NULL, true);
        if (watch_exit(r, RUN_REAPING) < 0)
                run_free(r); /* killed; the kernel reaps it with lmctld */
}

/* The command's channel: it executed, could not, or failed to set up; or
 * the deadline passed. */
static void on_started(evutil_socket_t fd, short what, void *arg) {
        run *r = arg;
        char err[256];
        status st = { 0 };
        pid_t unused_pid;
        int unused_fd, x;

        if (what & EV_TIMEOUT) {
                syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
                log_warning("%s %s: pid %d did not execute within %u ms; killed", verb(r), r->name, r->pid,
                            r->m->start_timeout_ms);
                start_failed(r, st_fail(&st, LMCT__V1__CODE__UNAVAILABLE, -ETIMEDOUT,
                                        "the command did not start within %u.%03u s (is %s paused, or its "
                                        "working directory on a filesystem that does not answer?)",
                                        r->m->start_timeout_ms / 1000, r->m->start_timeout_ms % 1000, r->name),
                             &st);
                return;
        }
        x = spawn_outcome((int)fd, &unused_pid, &unused_fd, err, sizeof err);
        if (x == -EAGAIN || x == SPAWN_TOOK || x == SPAWN_BORN)
                return; /* (the helper's words are read by spawn_start) */
        if (x < 0) {
                log_info("%s %s: %s", verb(r), r->name, err);
                start_failed(r, st_fail(&st, st_code_from_errno(x), x, "%s", err), &st);
                return;
        }
        if (x > 0) {
                /* As shells do: 127 not found, 126 not executable; final. */
                log_info("%s %s: %s", verb(r), r->name, err);
                r->rs.exited = true;
                r->rs.exit_code = x;
                report(r, 0, NULL, err, true);
                if (watch_exit(r, RUN_REAPING) < 0)
                        run_free(r);
                return;
        }
        if (watch_exit(r, RUN_RUNNING) < 0) {
                start_failed(r, st_fail(&st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory"), &st);
                return;
        }
        if (!r->is_exec)
                manager_set_last_run(r->m, r->name, &r->rs);
        report(r, 0, NULL, NULL, r->detach);
        if (r->detach)
                r->owner = NULL;
}

/* Whether ORIGIN's principal may have one more command. (What one
 * connection may wait for is the requester's to bound.) */
static int check_room(const run_origin *o, status *st) {
        int q = quota_take(o->who->q, Q_RUNS, 1);
        char why[sizeof st->msg];

        if (q < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, q, "%s",
                               quota_refusal(o->who->q, Q_RUNS, q, "runs", "commands", why, sizeof why));
        return 0;
}

/* Starts SP with STDIO (taken: the command has its own copies, or the
 * start failed) and tracks it. */
static int start(manager *m, const run_origin *o, const char *name, const spawn_spec *sp, int stdio[3],
                 bool own_stdio, bool remove, bool detach, bool is_exec, const run_status *rs0, const run_sink *sink,
                 status *st) {
        spawn_fn fn = m->spawn ? m->spawn : spawn_start;
        struct timeval tv = { m->start_timeout_ms / 1000, (m->start_timeout_ms % 1000) * 1000 };
        char err[256];
        run *r;
        int x;

        x = check_room(o, st);
        if (x >= 0 && !(r = calloc(1, sizeof *r))) {
                quota_give(o->who->q, Q_RUNS, 1);
                x = st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        if (x < 0) {
                let_go_stdio(m, o->who->q, stdio, own_stdio);
                return x;
        }
        *r = (run){ .m = m, .owner = o->owner, .id = o->id, .q = quota_ref(o->who->q), .pidfd = -1, .errfd = -1,
                    .state = RUN_STARTING, .remove = remove, .detach = detach, .is_exec = is_exec, .rs = *rs0,
                    .stdio = { -1, -1, -1 } };
        snprintf(r->name, sizeof r->name, "%s", name);
        LIST_PREPEND(runs, m->runs, r);
        x = fn(sp, &r->pid, &r->pidfd, &r->errfd, err, sizeof err);
        let_go_stdio(m, o->who->q, stdio, own_stdio);
        if (x < 0) {
                run_free(r);
                return st_fail(st, st_code_from_errno(x), x, "%s", err);
        }
        r->rs.pid = r->pid;
        r->ev = event_new(m->base, r->errfd, EV_READ | EV_PERSIST, on_started, r);
        if (!r->ev || event_add(r->ev, &tv) < 0) {
                syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
                run_free(r);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        r->sink = *sink;
        log_info("%s %s: started pid %d (%s)", verb(r), name, r->pid, sp->argv[0]);
        return MANAGER_PENDING;
}

/* argv or envp as a NULL-terminated array of the request's strings. */
static char **strv_of(char **v, size_t n, const char *extra) {
        char **a = calloc(n + 2, sizeof *a);

        if (!a)
                return NULL;
        if (n > 0)
                memcpy(a, v, n * sizeof *a);
        if (extra)
                a[n] = (char *)extra;
        return a;
}

static int check_strings(char **v, size_t n, size_t max, bool env, const char *what, status *st) {
        if (n > max)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG, "more than %zu %s", max, what);
        for (size_t i = 0; i < n; i++)
                if (env && (!strchr(v[i], '=') || v[i][0] == '='))
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                       "environment entry %zu is not KEY=VALUE", i + 1);
        return 0;
}

static bool env_has_path(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strncmp(v[i], "PATH=", 5) == 0)
                        return true;
        return false;
}

/* Checks a command's arguments, environment and directory and makes the
 * argv and envp arrays for spawning it (a default PATH when none is set). */
static int command_arrays(char **args, size_t n_args, char **env, size_t n_env, const char *cwd, bool need_args,
                          char ***ret_argv, char ***ret_envp, status *st) {
        int r;

        if (n_args == 0 && need_args)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "no command given");
        if ((r = check_strings(args, n_args, ARGS_MAX, false, "arguments", st)) < 0 ||
            (r = check_strings(env, n_env, ENV_MAX, true, "environment entries", st)) < 0)
                return r;
        if (cwd && cwd[0] != '/')
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "cwd must be an absolute path");
        *ret_argv = strv_of(args, n_args, NULL);
        *ret_envp = strv_of(env, n_env, env_has_path(env, n_env) ? NULL : "PATH=" SPAWN_DEFAULT_PATH);
        if (!*ret_argv || !*ret_envp)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

/* The log file of a detached command in NAME: "a_b.log", and for a name too
 * long for one file name, its start and a hash of the whole. */
static void log_file_name(const char *name, char *out, size_t len) {
        uint64_t h = 0xcbf29ce484222325u;
        size_t n = strlen(name);

        if (n + 4 <= NAME_MAX)
                snprintf(out, len, "%s.log", name);
        else {
                for (const char *p = name; *p; p++)
                        h = (h ^ (unsigned char)*p) * 0x100000001b3u;
                snprintf(out, len, "%.200s-%016llx.log", name, (unsigned long long)h);
        }
        for (char *p = out; *p; p++)
                if (*p == '/')
                        *p = '_';
}

/* Where a detached command's output goes: the journal when one runs (its
 * lines at one priority, whatever they begin with), else a file below the
 * log directory. */
static int detached_output(manager *m, const char *name, run_status *rs, status *st) {
        char file[NAME_MAX + 1];
        int dfd, fd;

        if (access("/run/systemd/journal/stdout", F_OK) == 0) {
                char ident[LMCT_NAME_MAX + 8];
                snprintf(ident, sizeof ident, "lmct/%s", name);
                fd = sd_journal_stream_fd(ident, LOG_INFO, 0);
                if (fd >= 0)
                        return fd;
        }
        if (mkdir(m->log_dir, 0750) < 0 && errno != EEXIST)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot create %s: %s", m->log_dir,
                               strerror(errno));
        dfd = open(m->log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot open %s: %s", m->log_dir,
                               strerror(errno));
        log_file_name(name, file, sizeof file);
        fd = openat(dfd, file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
        close(dfd);
        if (fd < 0)
                return st_fail(st, LMCT__V1__CODE__INTERNAL, negerrno(), "cannot open %s/%s: %s", m->log_dir, file,
                               strerror(errno));
        snprintf(rs->log_path, sizeof rs->log_path, "%s/%s", m->log_dir, file);
        return fd;
}

static int isolation_flags(const Lmct__V1__Isolation *iso, const char *hostname, const char *rootfs) {
        int f = 0;

        if (iso) {
                f |= iso->pid ? CLONE_NEWPID | CLONE_NEWNS : 0; /* a fresh /proc needs its own mounts */
                f |= iso->mount ? CLONE_NEWNS : 0;
                f |= iso->uts ? CLONE_NEWUTS : 0;
                f |= iso->ipc ? CLONE_NEWIPC : 0;
                f |= iso->net ? CLONE_NEWNET : 0;
                f |= iso->cgroup ? CLONE_NEWCGROUP : 0;
        }
        if (hostname && *hostname)
                f |= CLONE_NEWUTS;
        if (rootfs && *rootfs)
                f |= CLONE_NEWNS;
        return f;
}

/* A command as the process whose credentials are CR: its user, groups,
 * capability sets and no_new_privs. A uid-0 process's command is bounded
 * by what it holds now (bounding & permitted), not by what an exec as
 * root would give back. Without MKNOD no CAP_MKNOD: a caller's command
 * leaves whatever device policy its caller's cgroup had, and lmct's
 * containers have none yet that would stop the use of a node it made. */
static void spec_as(const peer_creds *cr, bool mknod, spawn_spec *sp, spawn_caps *caps) {
        uint64_t no_mknod = mknod ? ~UINT64_C(0) : ~(UINT64_C(1) << CAP_MKNOD);

        sp->set_user = true;
        sp->uid = cr->uid;
        sp->gid = cr->gid;
        sp->groups = cr->groups;
        sp->n_groups = cr->n_groups;
        *caps = (spawn_caps){ .bounding = (cr->uid == 0 ? cr->cap_bnd & cr->cap_prm : cr->cap_bnd) & no_mknod,
                              .effective = cr->cap_eff & no_mknod, .permitted = cr->cap_prm & no_mknod,
                              .inheritable = cr->cap_inh & no_mknod, .ambient = cr->cap_amb & no_mknod };
        sp->caps = caps;
        sp->no_new_privs = cr->no_new_privs;
}

/* A caller without privilege: its command is itself, in its own
 * namespaces and root, with no capability it does not have. A caller
 * confined in ways that would not carry over (a seccomp filter, a
 * security label of its own) or in a user namespace of its own starts
 * nothing. */
static int self_spec(const caller *who, spawn_spec *sp, spawn_caps *caps, status *st) {
        int differ = who->pidfd >= 0 ? caller_ns_differ(who) : 0;

        if (differ & CLONE_NEWUSER)
                return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                               "commands are not started for a caller in a user namespace of its own");
        if (who->creds.seccomp || who->creds.foreign_label)
                return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                               "commands are not started for a caller confined by %s: its command would not be",
                               who->creds.seccomp ? "a seccomp filter" : "a security label (AppArmor, SELinux)");
        spec_as(&who->creds, false, sp, caps);
        sp->join_pidfd = who->pidfd;
        sp->join_ns = differ;
        sp->root_procfd = who->procfd;
        return 0;
}

/* Root's exec: as the container's command itself (its user, groups and
 * capabilities, in its namespaces and root), so that whatever that
 * command made of its world, no binary in it runs with more than the
 * command has. A command in a user namespace of its own is not joined. */
static int target_spec(const run *t, int tproc, spawn_spec *sp, peer_creds *cr, spawn_caps *caps, status *st) {
        uint64_t ns[_PEER_NS_MAX];
        int r = peer_read_creds(tproc, cr);

        if (r >= 0)
                r = peer_read_ns(tproc, ns);
        if (r < 0 || !pidfd_alive(t->pidfd))
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -ESRCH, "%s's command has just ended", t->name);
        if (ns[PEER_NS_USER] != peer_self_ns()[PEER_NS_USER])
                return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                               "the command in %s runs in a user namespace of its own: lmctld does not join it",
                               t->name);
        spec_as(cr, true, sp, caps);
        sp->join_pidfd = t->pidfd;
        sp->join_ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWPID;
        sp->root_procfd = tproc;
        return 0;
}

/* What only a privileged caller may ask of run. */
static int check_privilege(const caller *who, const Lmct__V1__RunRequest *rq, status *st) {
        const char *what;

        if (who->privileged)
                return 0;
        what = rq->bundle ? "a bundle" : rq->rootfs ? "a root filesystem" : rq->isolate ? "namespaces"
               : rq->hostname ? "a hostname" : NULL;
        if (!what && rq->has_uid && (rq->uid != who->uid || (rq->has_gid && rq->gid != who->gid)))
                what = "another user";
        if (!what)
                return 0;
        if (who->view[0])
                return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                               "a caller inside a container may not run a command with %s", what);
        return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                       "uid %u may not run a command with %s (only root outside every container may)",
                       (unsigned)who->uid, what);
}

/* Refuses to start a command into a frozen cgroup: it would never get as
 * far as exec. */
static int check_thawed(int leaf, const char *name, status *st) {
        uint64_t frozen = 0;

        if (cg_read_key(leaf, "cgroup.events", "frozen", &frozen) >= 0 && frozen)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EBUSY,
                               "%s is paused: resume it before starting a command in it", name);
        return 0;
}

/* The container of a run: made (--rm) or updated with the bundle's and the
 * request's limits. *CREATED says whether it was made. */
static int prepare_container(manager *m, const caller *who, const Lmct__V1__RunRequest *rq, const char *name, oci_bundle *bundle,
                             bool *created, status *st) {
        int exists = manager_exists(m, rq->name, st), r;

        if (exists < 0)
                return exists;
        if (exists && rq->remove)
                return st_fail(st, LMCT__V1__CODE__ALREADY_EXISTS, -EEXIST,
                               "%s already exists; run --rm makes a container of its own", name);
        if (!exists && !rq->remove)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT,
                               "%s does not exist (create it first, or run --rm to make one for this command)", name);
        if (!exists) {
                r = manager_create(m, who, name, bundle ? oci_limits(bundle) : rq->limits, false, NULL, NULL, st);
                if (r < 0)
                        return r;
                *created = true;
        } else if (bundle && climits_any(oci_limits(bundle))) {
                r = manager_update(m, who, name, oci_limits(bundle), NULL, st);
                if (r < 0)
                        return r;
        }
        /* Limits on the command line come last: they win. */
        if ((exists || bundle) && climits_any(rq->limits))
                return manager_update(m, who, name, rq->limits, NULL, st);
        return 0;
}

static int check_run_request(const caller *who, const Lmct__V1__RunRequest *rq, status *st) {
        int r = check_privilege(who, rq, st);

        if (r < 0)
                return r;
        if (rq->bundle && (rq->rootfs || rq->isolate || rq->hostname || rq->has_uid))
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                               "a bundle's config.json says the root, namespaces, hostname and user");
        if (rq->rootfs && rq->rootfs[0] != '/')
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "rootfs must be an absolute path");
        if (rq->hostname && (strlen(rq->hostname) > 64 || !*rq->hostname))
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "hostname must be 1 to 64 bytes");
        return 0;
}

/* The command's side of SP for a privileged caller: what it asked for. */
static void privileged_spec(const Lmct__V1__RunRequest *rq, const char *name, oci_bundle *bundle, char **argv,
                            spawn_spec *sp) {
        if (bundle) {
                oci_spawn_spec(bundle, sp);
                if (rq->n_args > 0) {
                        sp->argv = argv; /* a command on the line replaces process.args */
                        if (rq->cwd)
                                sp->cwd = rq->cwd;
                }
                return;
        }
        sp->set_user = rq->has_uid;
        sp->uid = rq->uid;
        sp->gid = rq->has_gid ? rq->gid : rq->uid;
        sp->ns_flags = isolation_flags(rq->isolate, rq->hostname, rq->rootfs);
        sp->hostname = rq->hostname ? rq->hostname : lmct_name_last(name);
        sp->rootfs = rq->rootfs;
}


/* Starts RQ, its bundle (if any) read already: from here on nothing waits. */
static int start_now(manager *m, const run_origin *o, const Lmct__V1__RunRequest *rq, oci_bundle *bundle,
                     int stdio[3], const run_sink *sink, status *st) {
        _cleanup_free_ char **argv = NULL, **envp = NULL;
        _cleanup_close_ int cgfd = -1;
        int fds[3] = { -1, -1, -1 }, r;
        spawn_spec sp = { .join_pidfd = -1, .root_procfd = -1 };
        spawn_caps caps;
        run_status rs = { 0 };
        bool created = false;
        const char *name;

        if (!rq->detach) {
                memcpy(fds, stdio, sizeof fds); /* taken, whatever comes */
                stdio[0] = stdio[1] = stdio[2] = -1;
        }
        r = command_arrays(rq->args, rq->n_args, rq->env, rq->n_env, rq->cwd, !bundle, &argv, &envp, st);
        if (r < 0)
                goto out;
        name = !rq->name ? "" : rq->name[0] == '/' ? rq->name + 1 : rq->name; /* checked next */
        r = prepare_container(m, o->who, rq, name, bundle, &created, st);
        if (r < 0)
                goto fail;
        cgfd = manager_leaf_fd(m, name, st);
        if (cgfd < 0) {
                r = cgfd;
                goto fail;
        }
        r = check_thawed(cgfd, name, st);
        if (r < 0)
                goto fail;
        if (rq->detach) {
                fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                fds[1] = detached_output(m, name, &rs, st);
                if (fds[0] < 0 || fds[1] < 0) {
                        r = fds[1] < 0 ? fds[1] : st_fail(st, LMCT__V1__CODE__INTERNAL, -EIO, "cannot open /dev/null");
                        goto fail;
                }
                fds[2] = fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
        }
        sp.argv = argv;
        sp.envp = envp;
        sp.cwd = rq->cwd ? rq->cwd : "/";
        if (o->who->privileged)
                privileged_spec(rq, name, bundle, argv, &sp);
        else if ((r = self_spec(o->who, &sp, &caps, st)) < 0)
                goto fail;
        sp.cgroup_fd = cgfd;
        memcpy(sp.stdio, fds, sizeof fds);
        r = start(m, o, name, &sp, fds, rq->detach, rq->remove, rq->detach, false, &rs, sink, st);
        if (r < 0)
                goto fail;
        goto out;
fail:
        if (created && rq->remove) {
                status ignored;
                (void)manager_destroy(m, o->who, name, true, true, &ignored, ignore_done, NULL);
        }
out:
        let_go_stdio(m, o->who->q, fds, rq->detach);
        return r;
}

/* A bundle read in a thread: its path, and what came of it. */
typedef struct bundle_load {
        run *r;                  /* read in the loop only */
        char *path;
        oci_bundle *bundle;
        status st;
        int result;
} bundle_load;

static void load_work(void *arg) {
        bundle_load *bl = arg;

        bl->result = oci_load(bl->path, &bl->bundle, &bl->st);
}

static void load_free(void *arg) {
        bundle_load *bl = arg;

        oci_free(bl->bundle);
        free(bl->path);
        free(bl);
}

/* The bundle is read: the command starts, in place of R (which held its
 * place in the bounds meanwhile), or the request fails. */
static void load_done(void *arg) {
        bundle_load *bl = arg;
        run *r = bl->r;
        manager *m = r->m;
        run_origin o = { .who = r->who, .owner = r->owner, .id = r->id };
        Lmct__V1__RunRequest *rq = TAKE_PTR(r->req);
        run_sink sink = r->sink;
        status st = { 0 };
        int stdio[3], x;

        r->load = NULL;
        memcpy(stdio, r->stdio, sizeof stdio);
        r->stdio[0] = r->stdio[1] = r->stdio[2] = -1;
        r->sink = (run_sink){ 0 };
        run_free(r);
        if (bl->result < 0) {
                st = bl->st;
                x = bl->result;
                let_go_stdio(m, o.who->q, stdio, rq->detach);
        } else
                x = start_now(m, &o, rq, bl->bundle, stdio, &sink, &st);
        if (x < 0) {
                run_report rep = { .r = x, .st = &st, .final = true };
                sink.report(sink.userdata, &rep);
                sink.free(sink.userdata);
        }
        lmct__v1__run_request__free_unpacked(rq, NULL);
        load_free(bl);
}

static void on_load_timeout(evutil_socket_t fd, short what, void *arg) {
        run *r = arg;
        status st = { 0 };

        (void)fd;
        (void)what;
        log_warning("run %s: reading the bundle took over %u ms; given up", r->name, r->m->start_timeout_ms);
        report(r, st_fail(&st, LMCT__V1__CODE__UNAVAILABLE, -ETIMEDOUT,
                          "reading the bundle took over %u.%03u s (is it on a filesystem that does not answer?)",
                          r->m->start_timeout_ms / 1000, r->m->start_timeout_ms % 1000),
               &st, NULL, true);
        run_free(r);
}

/* A bundle is read in a thread (its path is the caller's to name, and may
 * be on a filesystem that does not answer); a run holds the request's
 * place meanwhile, with a deadline. */
static int load_then_start(manager *m, const run_origin *o, const Lmct__V1__RunRequest *rq, int stdio[3],
                           const run_sink *sink, status *st) {
        struct timeval tv = { m->start_timeout_ms / 1000, (m->start_timeout_ms % 1000) * 1000 };
        size_t len = lmct__v1__run_request__get_packed_size(rq);
        _cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
        bundle_load *bl;
        run *r;
        int x;

        x = check_room(o, st);
        if (x < 0)
                return x;
        r = calloc(1, sizeof *r);
        bl = calloc(1, sizeof *bl);
        if (!r || !bl || !buf || !(bl->path = strdup(rq->bundle))) {
                quota_give(o->who->q, Q_RUNS, 1);
                free(r);
                if (bl)
                        free(bl->path);
                free(bl);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        *r = (run){ .m = m, .owner = o->owner, .id = o->id, .q = quota_ref(o->who->q), .pidfd = -1, .errfd = -1,
                    .state = RUN_LOADING, .who = o->who, .detach = rq->detach, .stdio = { -1, -1, -1 } };
        snprintf(r->name, sizeof r->name, "%s", rq->name ? rq->name : "");
        LIST_PREPEND(runs, m->runs, r);
        bl->r = r;
        lmct__v1__run_request__pack(rq, buf);
        r->req = lmct__v1__run_request__unpack(NULL, len, buf);
        r->ev = evtimer_new(m->base, on_load_timeout, r);
        if (!r->req || !r->ev || evtimer_add(r->ev, &tv) < 0 ||
            offload_start(m->base, load_work, load_done, load_free, bl, &r->load) < 0) {
                load_free(bl);
                run_free(r);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        if (!rq->detach) {
                memcpy(r->stdio, stdio, 3 * sizeof *stdio);
                stdio[0] = stdio[1] = stdio[2] = -1;
        }
        r->sink = *sink;
        return MANAGER_PENDING;
}

int runs_start(manager *m, const run_origin *o, const Lmct__V1__RunRequest *rq, int stdio[3], const run_sink *sink,
               status *st) {
        _cleanup_free_ char **argv = NULL, **envp = NULL;
        int r = check_run_request(o->who, rq, st);

        if (r >= 0)
                r = command_arrays(rq->args, rq->n_args, rq->env, rq->n_env, rq->cwd, !rq->bundle, &argv, &envp, st);
        if (r >= 0 && !rq->bundle)
                return start_now(m, o, rq, NULL, stdio, sink, st); /* takes STDIO */
        if (r >= 0)
                r = load_then_start(m, o, rq, stdio, sink, st);
        if (r < 0 && !rq->detach)
                let_go_stdio(m, o->who->q, stdio, false);
        return r;
}

/* The container's first command that still runs: the one exec joins. */
static run *exec_target(manager *m, const char *name) {
        run *r, *target = NULL;

        LIST_FOREACH(runs, r, m->runs)
                if (!r->is_exec && r->state == RUN_RUNNING && r->pidfd >= 0 && strcmp(r->name, name) == 0)
                        target = r;
        return target;
}

/* The /proc directory of T's process, checked to be its. */
static int target_procfd(const run *t, status *st) {
        char path[32];
        int fd;

        snprintf(path, sizeof path, "/proc/%d", (int)t->pid);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && pidfd_alive(t->pidfd))
                return fd;
        if (fd >= 0)
                close(fd);
        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -ESRCH, "%s's command has just ended", t->name);
}

/* A caller without privilege joins only a command that runs in its own
 * namespaces and root: exec gives it nothing it does not have. */
static int check_same_place(const caller *who, int tproc, const char *name, status *st) {
        static const char *const what[_PEER_NS_MAX] = { "mount", "uts", "ipc", "net", "pid", "cgroup", "user" };
        uint64_t ns[_PEER_NS_MAX];
        struct stat a, b;

        if (who->procfd < 0)
                return 0; /* made up: nothing to compare */
        if (peer_read_ns(tproc, ns) < 0)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -ESRCH, "%s's command has just ended", name);
        for (int i = 0; i < _PEER_NS_MAX; i++)
                if (ns[i] != who->ns[i])
                        return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                                       "the command in %s runs in another %s namespace than yours; only root "
                                       "outside every container may join it",
                                       name, what[i]);
        if (fstatat(tproc, "root", &a, 0) < 0 || fstatat(who->procfd, "root", &b, 0) < 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino)
                return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                               "the command in %s runs in another root directory than yours; only root outside "
                               "every container may join it",
                               name);
        return 0;
}

int runs_exec(manager *m, const run_origin *o, const Lmct__V1__ExecRequest *rq, int stdio[3], const run_sink *sink,
              status *st) {
        _cleanup_free_ char **argv = NULL, **envp = NULL;
        _cleanup_close_ int cgfd = -1, tproc = -1;
        spawn_spec sp = { .join_pidfd = -1, .root_procfd = -1 };
        run_status rs = { 0 };
        spawn_caps caps;
        peer_creds tcreds = { 0 };
        const char *name;
        run *target;
        int exists, r;

        r = command_arrays(rq->args, rq->n_args, rq->env, rq->n_env, rq->cwd, true, &argv, &envp, st);
        if (r < 0)
                goto out;
        exists = manager_exists(m, rq->name, st);
        if (exists <= 0) {
                r = exists < 0 ? exists : st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "%s does not exist", rq->name);
                goto out;
        }
        name = rq->name[0] == '/' ? rq->name + 1 : rq->name;
        target = exec_target(m, name);
        if (!target) {
                r = st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -ESRCH,
                            "%s has no running command started by lmctld to join", name);
                goto out;
        }
        tproc = target_procfd(target, st);
        if (tproc < 0) {
                r = tproc;
                goto out;
        }
        cgfd = manager_leaf_fd(m, name, st);
        if (cgfd < 0) {
                r = cgfd;
                goto out;
        }
        if ((r = check_thawed(cgfd, name, st)) < 0)
                goto out;
        sp.argv = argv;
        sp.envp = envp;
        sp.cwd = rq->cwd ? rq->cwd : "/";
        if (o->who->privileged) {
                if ((r = target_spec(target, tproc, &sp, &tcreds, &caps, st)) < 0)
                        goto out;
        } else if ((r = check_same_place(o->who, tproc, name, st)) < 0 || (r = self_spec(o->who, &sp, &caps, st)) < 0)
                goto out;
        sp.cgroup_fd = cgfd;
        memcpy(sp.stdio, stdio, 3 * sizeof *stdio);
        r = start(m, o, name, &sp, stdio, false, false, false, true, &rs, sink, st);
out:
        peer_creds_done(&tcreds);
        let_go_stdio(m, o->who->q, stdio, false);
        return r;
}

int runs_signal(manager *m, const void *owner, uint64_t run_id, int sig, status *st) {
        run *r;

        if (sig < 1 || sig > SIGRTMAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "%d is not a signal number", sig);
        LIST_FOREACH(runs, r, m->runs) {
                if (r->owner != owner || r->id != run_id || r->pidfd < 0 || r->state == RUN_REAPING)
                        continue;
                if (syscall(SYS_pidfd_send_signal, r->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                        return st_fail(st, st_code_from_errno(negerrno()), negerrno(), "cannot signal pid %d: %s",
                                       r->pid, strerror(errno));
                return 0;
        }
        return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH, "no running command started by request %llu",
                       (unsigned long long)run_id);
}

void runs_owner_gone(manager *m, const void *owner) {
        run *r;

        run *next;

        LIST_FOREACH_SAFE(runs, r, next, m->runs) {
                status ignored;
                if (r->owner != owner)
                        continue;
                if (r->state == RUN_LOADING) {
                        run_free(r); /* its bundle's reading is given up */
                        continue;
                }
                r->owner = NULL;
                sink_drop(r);
                if (r->pidfd < 0 || r->detach || r->state == RUN_REAPING)
                        continue;
                /* Nobody waits for it any more: as a foreground job losing its
                 * terminal, it ends; with --rm its container goes too. */
                if (r->remove)
                        (void)manager_kill(m, r->name, SIGKILL, &ignored);
                else
                        syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
        }
}

bool runs_waiting_in(manager *m, const char *name) {
        run *r;

        LIST_FOREACH(runs, r, m->runs)
                if (!r->is_exec && r->pidfd >= 0 && r->state != RUN_REAPING && strcmp(r->name, name) == 0)
                        return true;
        return false;
}

void runs_free_all(manager *m) {
        run *r, *next;

        LIST_FOREACH_SAFE(runs, r, next, m->runs) {
                sink_drop(r);
                if (r->state == RUN_REMOVING)
                        r->orphan = true; /* its destroy's callback comes when the manager stops */
                else
                        run_free(r);
        }
}

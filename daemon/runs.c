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
#include <systemd/sd-journal.h>

#include "climits.h"
#include "dispatch.h"
#include "events.h"
#include "lmct-name.h"
#include "log.h"
#include "oci.h"
#include "spawn.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define ARGS_MAX 4096
#define ENV_MAX 4096


typedef struct run {
        manager *m;
        conn *c;
        uint64_t id;
        char name[LMCT_NAME_MAX + 1];
        pid_t pid;
        int pidfd;
        struct event *ev;
        bool remove, detach, is_exec;
        run_status rs;
        struct run *prev, *next;
} run;

/* Commands a connection may have running at once. */
#define RUNS_PER_CONN_MAX 64

static int check_room(manager *m, conn *c, status *st) {
        unsigned n = 0;

        for (run *r = m->runs; r; r = r->next)
                n += r->c == c;
        if (n >= RUNS_PER_CONN_MAX)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -EBUSY,
                               "this connection runs %u commands already", n);
        return 0;
}

static void run_unlink(run *r) {
        manager *m = r->m;

        if (r->prev)
                r->prev->next = r->next;
        else
                m->runs = r->next;
        if (r->next)
                r->next->prev = r->prev;
}

static void run_free(run *r) {
        run_unlink(r);
        if (r->ev)
                event_free(r->ev);
        if (r->pidfd >= 0)
                close(r->pidfd);
        if (r->c)
                conn_unref(r->c);
        free(r);
}

static Lmct__V1__RunResult *result_new(const run_status *rs) {
        Lmct__V1__RunResult *rr = malloc(sizeof *rr);

        if (!rr)
                return NULL;
        lmct__v1__run_result__init(rr);
        rr->has_pid = true;
        rr->pid = rs->pid;
        if (rs->exited) {
                rr->has_exited = rr->exited = true;
                if (rs->signal) {
                        rr->has_signal = true;
                        rr->signal = rs->signal;
                } else {
                        rr->has_exit_code = true;
                        rr->exit_code = rs->exit_code;
                }
        }
        if (rs->log_path[0])
                rr->log_path = strdup(rs->log_path);
        return rr;
}

/* The final answer, when somebody waits for it. */
static void run_finish(run *r, int err, const status *st) {
        if (r->c && !r->detach) {
                Lmct__V1__Response *resp = response_new(r->id, err < 0 ? st : NULL);
                if (resp && err >= 0) {
                        resp->run = result_new(&r->rs);
                        resp->result_case = LMCT__V1__RESPONSE__RESULT_RUN;
                }
                if (resp)
                        conn_send(r->c, resp);
        }
        run_free(r);
}

static void on_removed(void *userdata, int err, const status *st) {
        run *r = userdata;

        if (err < 0 && err != -ECANCELED)
                log_warning("run --rm %s: cannot remove the container: %s", r->name, st->msg);
        run_finish(r, err == -ECANCELED ? 0 : err, st);
}

static void on_exit_event(evutil_socket_t fd, short what, void *arg) {
        run *r = arg;
        siginfo_t si = { 0 };
        status st = { 0 };
        int x;

        (void)fd;
        (void)what;
        if (waitid(P_PIDFD, (id_t)r->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return;
        r->rs.exited = true;
        if (si.si_code == CLD_EXITED)
                r->rs.exit_code = si.si_status;
        else
                r->rs.signal = si.si_status;
        event_free(r->ev);
        r->ev = NULL;
        close(r->pidfd);
        r->pidfd = -1;
        if (!r->is_exec) {
                manager_set_last_run(r->m, r->name, &r->rs);
                events_run_ended(r->m->events, r->name);
        }
        log_info("%s %s: pid %d %s %d", r->is_exec ? "exec" : "run", r->name, r->pid,
                 r->rs.signal ? "killed by signal" : "exited with", r->rs.signal ? r->rs.signal : r->rs.exit_code);
        if (r->remove) {
                x = manager_destroy(r->m, r->name, true, true, &st, on_removed, r);
                if (x != MANAGER_PENDING)
                        on_removed(r, x, &st);
                return;
        }
        run_finish(r, 0, NULL);
}

static void ignore_done(void *userdata, int r, const status *st) {
        (void)userdata;
        (void)r;
        (void)st;
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

/* Where a detached command's output goes: the journal when one runs, else
 * a file below the log directory. */
static int detached_output(manager *m, const char *name, run_status *rs, status *st) {
        char file[LMCT_NAME_MAX + 8];
        int dfd, fd;

        if (access("/run/systemd/journal/stdout", F_OK) == 0) {
                char ident[LMCT_NAME_MAX + 8];
                snprintf(ident, sizeof ident, "lmct/%s", name);
                fd = sd_journal_stream_fd(ident, LOG_INFO, 1);
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
        snprintf(file, sizeof file, "%s.log", name);
        for (char *p = file; *p; p++)
                if (*p == '/')
                        *p = '_';
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

/* Starts a command and tracks it. FDS: stdin, stdout, stderr (taken). */
static int start(manager *m, conn *c, uint64_t id, const char *name, spawn_spec *sp, bool remove, bool detach,
                 bool is_exec, const run_status *rs0, Lmct__V1__RunResult **ret, status *st) {
        char err[256];
        run *r;
        int x;

        r = calloc(1, sizeof *r);
        if (!r)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        r->m = m;
        r->id = id;
        r->pidfd = -1;
        r->remove = remove;
        r->detach = detach;
        r->is_exec = is_exec;
        r->rs = *rs0;
        snprintf(r->name, sizeof r->name, "%s", name);
        x = spawn_process(sp, &r->pid, &r->pidfd, err, sizeof err);
        if (x < 0) {
                free(r);
                return st_fail(st, st_code_from_errno(x), x, "%s", err);
        }
        if (x > 0) {
                /* As shells do: 127 not found, 126 not executable. The
                 * answer is final; with --rm the container goes. */
                status ignored;
                free(r);
                r = NULL;
                *ret = malloc(sizeof **ret);
                if (!*ret)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
                lmct__v1__run_result__init(*ret);
                (*ret)->has_exited = (*ret)->exited = true;
                (*ret)->has_exit_code = true;
                (*ret)->exit_code = x;
                (*ret)->error = strdup(err);
                log_info("%s %s: %s", is_exec ? "exec" : "run", name, err);
                if (remove && manager_destroy(m, name, true, true, &ignored, ignore_done, NULL) < 0)
                        log_warning("run --rm %s: cannot remove the container: %s", name, ignored.msg);
                return 0;
        }
        r->ev = event_new(m->base, r->pidfd, EV_READ | EV_PERSIST, on_exit_event, r);
        if (!r->ev || event_add(r->ev, NULL) < 0) {
                /* Cannot wait for it: do not leave it running unwatched. */
                syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
                waitpid(r->pid, NULL, 0);
                if (r->ev)
                        event_free(r->ev);
                close(r->pidfd);
                free(r);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        r->rs.pid = r->pid;
        r->c = detach ? NULL : conn_ref(c);
        r->next = m->runs;
        if (m->runs)
                m->runs->prev = r;
        m->runs = r;
        if (!is_exec)
                manager_set_last_run(m, name, &r->rs);
        log_info("%s %s: started pid %d (%s)", is_exec ? "exec" : "run", name, r->pid, sp->argv[0]);
        *ret = result_new(&r->rs);
        return *ret ? 0 : st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
}

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

/* Claims the caller's stdin, stdout and stderr (unless DETACH) and makes
 * sure the connection may start one more command; on failure nothing is
 * kept. */
static int take_stdio(manager *m, conn *c, bool detach, int fds[3], status *st) {
        int r;

        if (!detach && conn_take_fds(c, fds, 3) < 0)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EBADF,
                               "the request did not carry stdin, stdout and stderr (3 descriptors with SCM_RIGHTS)");
        r = check_room(m, c, st);
        if (r < 0) {
                close_fds(fds, 3);
                fds[0] = fds[1] = fds[2] = -1;
        }
        return r;
}


int runs_start(manager *m, conn *c, uint64_t id, const Lmct__V1__RunRequest *rq, Lmct__V1__RunResult **ret,
               status *st) {
        int fds[3] = { -1, -1, -1 }, cgfd = -1, exists, r;
        _cleanup_free_ char **argv = NULL, **envp = NULL;
        spawn_spec sp = { 0 };
        run_status rs = { 0 };
        const caller *who = conn_caller(c);
        bool created = false;
        const char *name;
        oci_bundle *bundle = NULL;

        r = take_stdio(m, c, rq->detach, fds, st);
        if (r < 0)
                return r;
        if (who->uid != 0) {
                /* A command runs as its caller, and nothing that needs
                 * privilege to set up is set up for a caller without it. */
                const char *what = rq->bundle ? "a bundle" : rq->rootfs ? "a root filesystem"
                                   : rq->isolate ? "namespaces" : rq->hostname ? "a hostname" : NULL;
                if (!what && rq->has_uid && (rq->uid != who->uid || (rq->has_gid && rq->gid != who->gid)))
                        what = "another user";
                if (what) {
                        r = st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                                    "uid %u may not run a command with %s (only root may)", (unsigned)who->uid, what);
                        goto out;
                }
        }
        r = command_arrays(rq->args, rq->n_args, rq->env, rq->n_env, rq->cwd, !rq->bundle, &argv, &envp, st);
        if (r < 0)
                goto out;
        if (rq->bundle && (rq->rootfs || rq->isolate || rq->hostname || rq->has_uid)) {
                r = st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                            "a bundle's config.json says the root, namespaces, hostname and user");
                goto out;
        }
        if (rq->bundle && (r = oci_load(rq->bundle, &bundle, st)) < 0)
                goto out;
        if (rq->rootfs && rq->rootfs[0] != '/') {
                r = st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "rootfs must be an absolute path");
                goto out;
        }
        if (rq->rootfs) {
                struct stat sb;
                if (stat(rq->rootfs, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                        r = st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -ENOTDIR, "rootfs %s is not a directory",
                                    rq->rootfs);
                        goto out;
                }
        }
        if (rq->hostname && (strlen(rq->hostname) > 64 || !*rq->hostname)) {
                r = st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "hostname must be 1 to 64 bytes");
                goto out;
        }
        exists = manager_exists(m, rq->name, st);
        if (exists < 0) {
                r = exists;
                goto out;
        }
        name = rq->name[0] == '/' ? rq->name + 1 : rq->name;
        if (exists && rq->remove) {
                r = st_fail(st, LMCT__V1__CODE__ALREADY_EXISTS, -EEXIST,
                            "%s already exists; run --rm makes a container of its own", name);
                goto out;
        }
        if (!exists && !rq->remove) {
                r = st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT,
                            "%s does not exist (create it first, or run --rm to make one for this command)", name);
                goto out;
        }
        if (!exists) {
                r = manager_create(m, name, bundle ? oci_limits(bundle) : rq->limits, false, NULL, NULL, st);
                if (r < 0)
                        goto out;
                created = true;
        } else if (bundle && climits_any(oci_limits(bundle))) {
                r = manager_update(m, name, oci_limits(bundle), NULL, st);
                if (r < 0)
                        goto out;
        }
        /* Limits on the command line come last: they win. */
        if ((exists || bundle) && climits_any(rq->limits)) {
                r = manager_update(m, name, rq->limits, NULL, st);
                if (r < 0)
                        goto fail_created;
        }
        cgfd = manager_leaf_fd(m, name, st);
        if (cgfd < 0) {
                r = cgfd;
                goto fail_created;
        }
        if (rq->detach) {
                fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                fds[1] = detached_output(m, name, &rs, st);
                if (fds[0] < 0 || fds[1] < 0) {
                        r = fds[1] < 0 ? fds[1] : st_fail(st, LMCT__V1__CODE__INTERNAL, -EIO, "cannot open /dev/null");
                        goto fail_created;
                }
                fds[2] = fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
        }
        sp.argv = argv;
        sp.envp = envp;
        sp.cwd = rq->cwd ? rq->cwd : "/";
        if (bundle) {
                oci_spawn_spec(bundle, &sp);
                if (rq->n_args > 0) {
                        sp.argv = argv; /* a command on the line replaces process.args */
                        if (rq->cwd)
                                sp.cwd = rq->cwd;
                }
        } else if (who->uid != 0) {
                sp.set_user = true;
                sp.uid = who->uid;
                sp.gid = who->gid;
                sp.hostname = lmct_name_last(name);
        } else {
                sp.set_user = rq->has_uid;
                sp.uid = rq->uid;
                sp.gid = rq->has_gid ? rq->gid : rq->uid;
                sp.ns_flags = isolation_flags(rq->isolate, rq->hostname, rq->rootfs);
                sp.hostname = rq->hostname ? rq->hostname : lmct_name_last(name);
                sp.rootfs = rq->rootfs;
        }
        sp.cgroup_fd = cgfd;
        sp.join_pidfd = -1;
        memcpy(sp.stdio, fds, sizeof fds);
        r = start(m, c, id, name, &sp, rq->remove, rq->detach, false, &rs, ret, st);
        if (r < 0)
                goto fail_created;
        goto out;

fail_created:
        if (created && rq->remove) {
                status ignored;
                (void)manager_destroy(m, name, true, true, &ignored, ignore_done, NULL);
        }
out:
        oci_free(bundle);
        close_fds(fds, 3);
        if (cgfd >= 0)
                close(cgfd);
        return r;
}

int runs_exec(manager *m, conn *c, uint64_t id, const Lmct__V1__ExecRequest *rq, Lmct__V1__RunResult **ret,
              status *st) {
        int fds[3] = { -1, -1, -1 }, cgfd = -1, exists, r;
        _cleanup_free_ char **argv = NULL, **envp = NULL;
        spawn_spec sp = { 0 };
        run_status rs = { 0 };
        const caller *who = conn_caller(c);
        const char *name;
        run *target = NULL;

        r = take_stdio(m, c, false, fds, st);
        if (r < 0)
                return r;
        r = command_arrays(rq->args, rq->n_args, rq->env, rq->n_env, rq->cwd, true, &argv, &envp, st);
        if (r < 0)
                goto out;
        exists = manager_exists(m, rq->name, st);
        if (exists <= 0) {
                r = exists < 0 ? exists : st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "%s does not exist", rq->name);
                goto out;
        }
        name = rq->name[0] == '/' ? rq->name + 1 : rq->name;
        /* The container's first command: the oldest run still going. */
        for (run *x = m->runs; x; x = x->next)
                if (!x->is_exec && x->pidfd >= 0 && strcmp(x->name, name) == 0)
                        target = x;
        if (!target) {
                r = st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -ESRCH,
                            "%s has no running command started by lmctld to join", name);
                goto out;
        }
        cgfd = manager_leaf_fd(m, name, st);
        if (cgfd < 0) {
                r = cgfd;
                goto out;
        }
        sp.argv = argv;
        sp.envp = envp;
        sp.cwd = rq->cwd ? rq->cwd : "/";
        if (who->uid != 0) {
                /* Into another's command too, a caller runs as itself. */
                sp.set_user = true;
                sp.uid = who->uid;
                sp.gid = who->gid;
        }
        sp.cgroup_fd = cgfd;
        sp.join_pidfd = target->pidfd;
        sp.join_pid = target->pid;
        memcpy(sp.stdio, fds, sizeof fds);
        r = start(m, c, id, name, &sp, false, false, true, &rs, ret, st);
out:
        close_fds(fds, 3);
        if (cgfd >= 0)
                close(cgfd);
        return r;
}

int runs_signal(manager *m, conn *c, uint64_t run_id, int sig, status *st) {
        if (sig < 1 || sig > SIGRTMAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "%d is not a signal number", sig);
        for (run *r = m->runs; r; r = r->next) {
                if (r->c != c || r->id != run_id || r->pidfd < 0)
                        continue;
                if (syscall(SYS_pidfd_send_signal, r->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                        return st_fail(st, st_code_from_errno(negerrno()), negerrno(), "cannot signal pid %d: %s",
                                       r->pid, strerror(errno));
                return 0;
        }
        return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH, "no running command started by request %llu",
                       (unsigned long long)run_id);
}

void runs_conn_closed(manager *m, conn *c) {
        for (run *r = m->runs; r; r = r->next) {
                status ignored;
                if (r->c != c || r->pidfd < 0)
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
        for (run *r = m->runs; r; r = r->next)
                if (!r->is_exec && r->pidfd >= 0 && strcmp(r->name, name) == 0)
                        return true;
        return false;
}

void runs_free_all(manager *m) {
        while (m->runs) {
                run *r = m->runs;
                if (r->c) {
                        conn_unref(r->c);
                        r->c = NULL;
                }
                run_free(r);
        }
}

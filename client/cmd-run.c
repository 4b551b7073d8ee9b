/* run and exec: a command inside a container, with the caller's stdio. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lmctl.h"

/* Signals lmctl passes on to the command instead of dying of them. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static int parse_isolate(ctx *c, const char *s, Lmct__V1__Isolation *iso) {
        char buf[256], *save = NULL;

        snprintf(buf, sizeof buf, "%s", s);
        for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                if (!strcmp(w, "pid"))
                        iso->has_pid = iso->pid = 1;
                else if (!strcmp(w, "mount"))
                        iso->has_mount = iso->mount = 1;
                else if (!strcmp(w, "uts"))
                        iso->has_uts = iso->uts = 1;
                else if (!strcmp(w, "ipc"))
                        iso->has_ipc = iso->ipc = 1;
                else if (!strcmp(w, "net"))
                        iso->has_net = iso->net = 1;
                else if (!strcmp(w, "cgroup"))
                        iso->has_cgroup = iso->cgroup = 1;
                else
                        return usage_error(c, "--isolate '%s': give a list of pid, mount, uts, ipc, net, cgroup", w);
        }
        return 0;
}

static int parse_user(ctx *c, const char *s, Lmct__V1__RunRequest *rq) {
        char *end;
        unsigned long u = strtoul(s, &end, 10), g;

        if (end == s || (*end && *end != ':') || u > UINT32_MAX - 1) {
                struct passwd *pw = getpwnam(s);
                if (!pw)
                        return usage_error(c, "--user '%s': give UID[:GID] or a user name", s);
                rq->has_uid = rq->has_gid = 1;
                rq->uid = pw->pw_uid;
                rq->gid = pw->pw_gid;
                return 0;
        }
        rq->has_uid = 1;
        rq->uid = (uint32_t)u;
        if (*end == ':') {
                const char *gs = end + 1;
                g = strtoul(gs, &end, 10);
                if (end == gs || *end || g > UINT32_MAX - 1)
                        return usage_error(c, "--user '%s': give UID[:GID]", s);
                rq->has_gid = 1;
                rq->gid = (uint32_t)g;
        }
        return 0;
}

/* Sends REQ with the caller's stdio, forwards signals, and returns the
 * command's exit status as lmctl's: its code, or 128 + the signal. */
/* Blocked from the start: a signal that comes early is forwarded too. */
static int block_forwarded(void) {
        sigset_t mask;

        sigemptyset(&mask);
        for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
                sigaddset(&mask, forwarded[i]);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        return signalfd(-1, &mask, SFD_CLOEXEC);
}

static int wait_for(ctx *c, Lmct__V1__Request *req, const char *name, bool detach, int sfd) {
        int r, fds[3] = { 0, 1, 2 };

        r = lmct_send_fds(c->client, req, fds, detach ? 0 : 3);
        if (r < 0)
                return call_failed(c, name, r);
        for (;;) {
                struct pollfd p[2] = { { lmct_client_fd(c->client), POLLIN, 0 }, { sfd, POLLIN, 0 } };
                lmct_response *resp = NULL;
                const Lmct__V1__RunResult *rr;

                if (!lmct_client_buffered(c->client) && poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return EXIT_FAILURE_;
                }
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof si) == sizeof si) {
                                Lmct__V1__Request sr = LMCT__V1__REQUEST__INIT;
                                Lmct__V1__SignalRequest sg = LMCT__V1__SIGNAL_REQUEST__INIT;
                                sr.verb_case = LMCT__V1__REQUEST__VERB_SIGNAL;
                                sr.signal = &sg;
                                sg.has_run_id = sg.has_signal = 1;
                                sg.run_id = req->id;
                                sg.signal = (int32_t)si.ssi_signo;
                                (void)lmct_send(c->client, &sr);
                        }
                        if (!lmct_client_buffered(c->client) && !(p[0].revents & (POLLIN | POLLHUP)))
                                continue;
                }
                r = lmct_recv(c->client, &resp);
                if (r < 0)
                        return call_failed(c, name, r);
                if (resp->id != req->id && resp->id != 0) { /* the answer to a forwarded signal */
                        lmct_response_free(resp);
                        continue;
                }
                if (resp->status && resp->status->code != LMCT__V1__CODE__OK) {
                        fprintf(stderr, "lmctl: %s %s: %s\n", c->verb, name,
                                resp->status->message ? resp->status->message : lmct_code_name(resp->status->code));
                        r = resp->status->code == LMCT__V1__CODE__NOT_FOUND ? EXIT_NOT_FOUND
                            : resp->status->code == LMCT__V1__CODE__ALREADY_EXISTS ? EXIT_EXISTS
                            : resp->status->code == LMCT__V1__CODE__INVALID_ARGUMENT ? EXIT_USAGE
                            : resp->status->code == LMCT__V1__CODE__FAILED_PRECONDITION ? EXIT_PRECONDITION
                            : resp->status->code == LMCT__V1__CODE__PERMISSION_DENIED ? EXIT_DENIED
                            : EXIT_FAILURE_;
                        lmct_response_free(resp);
                        return r;
                }
                rr = resp->run;
                if (rr && rr->exited) {
                        if (rr->error)
                                fprintf(stderr, "lmctl: %s %s: %s\n", c->verb, name, rr->error);
                        r = rr->has_signal ? 128 + rr->signal : rr->exit_code;
                        lmct_response_free(resp);
                        return r;
                }
                if (detach) {
                        if (c->json)
                                printf("{\"pid\":%d%s%s%s}\n", rr ? rr->pid : 0, rr && rr->log_path ? ",\"log\":\"" : "",
                                       rr && rr->log_path ? rr->log_path : "", rr && rr->log_path ? "\"" : "");
                        else
                                printf("%d\n", rr ? rr->pid : 0);
                        lmct_response_free(resp);
                        return EXIT_OK;
                }
                lmct_response_free(resp); /* started: wait for the end */
        }
}

enum { O_RM = 500, O_ISOLATE, O_HOSTNAME, O_ROOTFS, O_BUNDLE, O_CWD, O_USER };

/* What run and exec were asked for, as the options build it. */
typedef struct run_args {
        Lmct__V1__RunRequest rq;
        Lmct__V1__ExecRequest ex;
        Lmct__V1__Isolation iso;
        Lmct__V1__Limits l;
        char **env;
        size_t n_env;
        bool any_limit;
        char cwd[PATH_MAX], rootfs[PATH_MAX], bundle[PATH_MAX];
} run_args;

/* --rootfs and --bundle: ARG made absolute into BUF. */
static int take_path(ctx *c, const char *opt, const char *arg, char *buf) {
        if (!realpath(arg, buf))
                return usage_error(c, "--%s '%s': %s", opt, arg, strerror(errno));
        return 0;
}

/* One option O (with ARG) of run or exec: 0, or the exit status. */
static int run_option(ctx *c, int o, char *arg, run_args *a) {
        int r = 0;

        switch (o) {
        case O_RM: a->rq.has_remove = a->rq.remove = 1; break;
        case 'd': a->rq.has_detach = a->rq.detach = 1; break;
        case O_ISOLATE:
                if (!(r = parse_isolate(c, arg, &a->iso)))
                        a->rq.isolate = &a->iso;
                break;
        case O_HOSTNAME: a->rq.hostname = arg; break;
        case O_ROOTFS:
                if (!(r = take_path(c, "rootfs", arg, a->rootfs)))
                        a->rq.rootfs = a->rootfs;
                break;
        case O_BUNDLE:
                if (!(r = take_path(c, "bundle", arg, a->bundle)))
                        a->rq.bundle = a->bundle;
                break;
        case 'e':
                if (!strchr(arg, '=') || arg[0] == '=')
                        return usage_error(c, "-e '%s': give KEY=VALUE", arg);
                a->env[a->n_env++] = arg;
                break;
        case O_CWD: a->rq.cwd = a->ex.cwd = arg; break;
        case O_USER: r = parse_user(c, arg, &a->rq); break;
        case 'j': c->json = true; break;
        case 'h': cmd_usage(c->verb); return EXIT_OK;
        default: cmd_usage(c->verb); return EXIT_USAGE;
        }
        return r;
}

/* The options and arguments of run (RUN) or exec into A: -1 to go on, or
 * the exit status. */
static int parse_run(ctx *c, int argc, char **argv, bool run, run_args *a) {
        struct option opts[40] = {
                { "rm", no_argument, NULL, O_RM },
                { "detach", no_argument, NULL, 'd' },
                { "isolate", required_argument, NULL, O_ISOLATE },
                { "hostname", required_argument, NULL, O_HOSTNAME },
                { "rootfs", required_argument, NULL, O_ROOTFS },
                { "bundle", required_argument, NULL, O_BUNDLE },
                { "env", required_argument, NULL, 'e' },
                { "cwd", required_argument, NULL, O_CWD },
                { "user", required_argument, NULL, O_USER },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
        };
        int o, idx, r;

        limit_options_copy(opts + 11, ELEMENTSOF(opts) - 11);
        while ((o = getopt_long(argc, argv, run ? "de:jh" : "e:jh", opts, &idx)) >= 0) {
                if (o >= LIMIT_OPT_BASE && run) {
                        if ((r = limit_opt(c, opts[idx].name, optarg, &a->l)))
                                return r;
                        a->any_limit = true;
                } else if ((r = run_option(c, o, optarg, a)) || o == 'h')
                        return r;
        }
        if (!run && (a->rq.remove || a->rq.detach || a->rq.isolate || a->rq.hostname || a->rq.rootfs ||
                     a->rq.bundle || a->rq.has_uid))
                return usage_error(c, "exec takes only -e, --cwd");
        if (a->rq.rootfs && a->rq.bundle)
                return usage_error(c, "give --rootfs or --bundle, not both");
        if (argc - optind < 1 || (argc - optind < 2 && !a->rq.bundle)) {
                cmd_usage(c->verb);
                return usage_error(c, "give a container name, then -- and a command");
        }
        /* Without a root of its own, the command starts where lmctl is. */
        if (!a->rq.cwd && !a->rq.rootfs && !a->rq.bundle && getcwd(a->cwd, sizeof a->cwd))
                a->rq.cwd = a->ex.cwd = a->cwd;
        return -1;
}

static int run_or_exec(ctx *c, int argc, char **argv, bool run) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        run_args a = { .rq = LMCT__V1__RUN_REQUEST__INIT, .ex = LMCT__V1__EXEC_REQUEST__INIT,
                       .iso = LMCT__V1__ISOLATION__INIT, .l = LMCT__V1__LIMITS__INIT };
        int sfd = block_forwarded(), r;

        a.env = calloc((size_t)argc + 1, sizeof *a.env);
        if (!a.env)
                return EXIT_FAILURE_;
        r = parse_run(c, argc, argv, run, &a);
        if (r < 0)
                r = connect_daemon(c);
        else if (r == 0)
                r = -1; /* --help: done */
        if (r) {
                limits_clear(&a.l);
                free(a.env);
                return r < 0 ? EXIT_OK : r;
        }
        if (run) {
                a.rq.name = argv[optind];
                a.rq.args = argv + optind + 1;
                a.rq.n_args = (size_t)(argc - optind - 1);
                a.rq.env = a.env;
                a.rq.n_env = a.n_env;
                a.rq.limits = a.any_limit ? &a.l : NULL;
                req.verb_case = LMCT__V1__REQUEST__VERB_RUN;
                req.run = &a.rq;
        } else {
                a.ex.name = argv[optind];
                a.ex.args = argv + optind + 1;
                a.ex.n_args = (size_t)(argc - optind - 1);
                a.ex.env = a.env;
                a.ex.n_env = a.n_env;
                req.verb_case = LMCT__V1__REQUEST__VERB_EXEC;
                req.exec = &a.ex;
        }
        r = wait_for(c, &req, argv[optind], a.rq.detach, sfd);
        limits_clear(&a.l);
        free(a.env);
        return r;
}

int cmd_run(ctx *c, int argc, char **argv) {
        return run_or_exec(c, argc, argv, true);
}

int cmd_exec(ctx *c, int argc, char **argv) {
        return run_or_exec(c, argc, argv, false);
}

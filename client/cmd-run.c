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

static int run_or_exec(ctx *c, int argc, char **argv, bool run) {
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
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__RunRequest rq = LMCT__V1__RUN_REQUEST__INIT;
        Lmct__V1__ExecRequest ex = LMCT__V1__EXEC_REQUEST__INIT;
        Lmct__V1__Isolation iso = LMCT__V1__ISOLATION__INIT;
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        char **env = calloc((size_t)argc + 1, sizeof *env), cwd[PATH_MAX], rootfs[PATH_MAX], bundle[PATH_MAX];
        size_t n_env = 0;
        bool any_limit = false;
        int o, idx, r = 0;

        int sfd = block_forwarded();

        if (!env)
                return EXIT_FAILURE_;
        limit_options_copy(opts + 11, ELEMENTSOF(opts) - 11);
        while ((o = getopt_long(argc, argv, run ? "de:jh" : "e:jh", opts, &idx)) >= 0) {
                if (o >= LIMIT_OPT_BASE && run) {
                        if ((r = limit_opt(c, opts[idx].name, optarg, &l)))
                                goto out;
                        any_limit = true;
                        continue;
                }
                switch (o) {
                case O_RM: rq.has_remove = rq.remove = 1; break;
                case 'd': rq.has_detach = rq.detach = 1; break;
                case O_ISOLATE: if ((r = parse_isolate(c, optarg, &iso))) goto out; rq.isolate = &iso; break;
                case O_HOSTNAME: rq.hostname = optarg; break;
                case O_ROOTFS:
                        if (!realpath(optarg, rootfs)) {
                                r = usage_error(c, "--rootfs '%s': %s", optarg, strerror(errno));
                                goto out;
                        }
                        rq.rootfs = rootfs;
                        break;
                case O_BUNDLE:
                        if (!realpath(optarg, bundle)) {
                                r = usage_error(c, "--bundle '%s': %s", optarg, strerror(errno));
                                goto out;
                        }
                        rq.bundle = bundle;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=') {
                                r = usage_error(c, "-e '%s': give KEY=VALUE", optarg);
                                goto out;
                        }
                        env[n_env++] = optarg;
                        break;
                case O_CWD: rq.cwd = ex.cwd = optarg; break;
                case O_USER: if ((r = parse_user(c, optarg, &rq))) goto out; break;
                case 'j': c->json = true; break;
                case 'h': cmd_usage(c->verb); r = EXIT_OK; goto out;
                default: cmd_usage(c->verb); r = EXIT_USAGE; goto out;
                }
        }
        if (!run && (rq.remove || rq.detach || rq.isolate || rq.hostname || rq.rootfs || rq.bundle || rq.has_uid)) {
                r = usage_error(c, "exec takes only -e, --cwd");
                goto out;
        }
        if (rq.rootfs && rq.bundle) {
                r = usage_error(c, "give --rootfs or --bundle, not both");
                goto out;
        }
        if (argc - optind < 1 || (argc - optind < 2 && !rq.bundle)) {
                cmd_usage(c->verb);
                r = usage_error(c, "give a container name, then -- and a command");
                goto out;
        }
        /* Without a root of its own, the command starts where lmctl is. */
        if (!rq.cwd && !rq.rootfs && !rq.bundle && getcwd(cwd, sizeof cwd))
                rq.cwd = ex.cwd = cwd;
        if ((r = connect_daemon(c)))
                goto out;
        if (run) {
                rq.name = argv[optind];
                rq.args = argv + optind + 1;
                rq.n_args = (size_t)(argc - optind - 1);
                rq.env = env;
                rq.n_env = n_env;
                rq.limits = any_limit ? &l : NULL;
                req.verb_case = LMCT__V1__REQUEST__VERB_RUN;
                req.run = &rq;
        } else {
                ex.name = argv[optind];
                ex.args = argv + optind + 1;
                ex.n_args = (size_t)(argc - optind - 1);
                ex.env = env;
                ex.n_env = n_env;
                req.verb_case = LMCT__V1__REQUEST__VERB_EXEC;
                req.exec = &ex;
        }
        r = wait_for(c, &req, argv[optind], rq.detach, sfd);
out:
        free(l.cpuset_cpus);
        free(env);
        return r;
}

int cmd_run(ctx *c, int argc, char **argv) {
        return run_or_exec(c, argc, argv, true);
}

int cmd_exec(ctx *c, int argc, char **argv) {
        return run_or_exec(c, argc, argv, false);
}

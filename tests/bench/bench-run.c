/* Benchmark: starting a command in a container. One run, medians, ratios:
 *   floor      clone3(CLONE_INTO_CGROUP) + exec /bin/true + wait, done here
 *   fork+exec  the same without a cgroup
 *   lmctl run  `lmctl run C -- /bin/true` as a process (CLI startup included)
 *   liblmct    the same request through liblmct, no CLI process
 *   bundle     `lmctl run --rm --bundle B` against `crun run` of the same bundle
 *
 *   bench-run --lmctl PATH --socket S --cgroup-root DIR [--bundle B] [--crun] [--iterations N] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "lmct.h"

extern char **environ;


static int run_argv(char *const argv[]) {
        pid_t pid;
        int st;
        posix_spawn_file_actions_t fa;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
                return -1;
        posix_spawn_file_actions_destroy(&fa);
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* clone3 into CGFD (or no cgroup at -1), exec /bin/true, wait. */
static void direct(int cgfd) {
        struct clone_args a = { .exit_signal = SIGCHLD };
        long pid;

        if (cgfd >= 0) {
                a.flags = CLONE_INTO_CGROUP;
                a.cgroup = (uint64_t)cgfd;
        }
        pid = syscall(SYS_clone3, &a, sizeof a);
        if (pid == 0) {
                execl("/bin/true", "true", (char *)NULL);
                _exit(127);
        }
        waitpid((pid_t)pid, NULL, 0);
}

static void lib_run(lmct_client *c, const char *name) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__RunRequest rq = LMCT__V1__RUN_REQUEST__INIT;
        char *args[] = { "/bin/true" };
        int fds[3] = { 0, 1, 2 };

        req.verb_case = LMCT__V1__REQUEST__VERB_RUN;
        req.run = &rq;
        rq.name = (char *)name;
        rq.args = args;
        rq.n_args = 1;
        req.id = 0;
        if (lmct_send_fds(c, &req, fds, 3) < 0)
                exit(1);
        for (;;) {
                lmct_response *r = NULL;
                if (lmct_recv(c, &r) < 0)
                        exit(1);
                if (r->status && r->status->code) {
                        fprintf(stderr, "bench-run: %s\n", r->status->message);
                        exit(1);
                }
                bool done = r->run && r->run->exited;
                lmct_response_free(r);
                if (done)
                        return;
        }
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "lmctl", required_argument, NULL, 'l' }, { "socket", required_argument, NULL, 's' },
                { "cgroup-root", required_argument, NULL, 'r' }, { "bundle", required_argument, NULL, 'b' },
                { "crun", no_argument, NULL, 'c' }, { "iterations", required_argument, NULL, 'i' }, {},
        };
        const char *lmctl = NULL, *sock = NULL, *root = NULL, *bundle = NULL;
        int iters = 100, use_crun = 0, o, rootfd, cgfd;
        double *t[6];
        lmct_client *c;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (o) {
                case 'l': lmctl = optarg; break;
                case 's': sock = optarg; break;
                case 'r': root = optarg; break;
                case 'b': bundle = optarg; break;
                case 'c': use_crun = 1; break;
                case 'i': iters = atoi(optarg); break;
                default: return 2;
                }
        }
        if (!lmctl || !sock || !root || iters < 1)
                return fprintf(stderr, "usage: bench-run --lmctl PATH --socket S --cgroup-root DIR ...\n"), 2;
        for (int k = 0; k < 6; k++)
                t[k] = calloc((size_t)iters, sizeof(double));
        if (lmct_connect(sock, &c) < 0 || (lmct_create(c, "bench-run", NULL, false) < 0 && lmct_client_code(c) != 6))
                return fprintf(stderr, "bench-run: cannot use lmctld at %s\n", sock), 1;
        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        mkdirat(rootfd, "bench-floor", 0755);
        cgfd = openat(rootfd, "bench-floor", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0)
                return perror("bench-floor"), 1;

        for (int i = 0; i < iters; i++) {
                char *lm[] = { (char *)lmctl, "-s", (char *)sock, "run", "bench-run", "--", "/bin/true", NULL };
                char *lmb[] = { (char *)lmctl, "-s", (char *)sock, "run", "--rm", "bench-b", "--bundle", (char *)bundle, NULL };
                char id[32], *cr[] = { "/usr/bin/crun", "run", "-b", (char *)bundle, id, NULL };
                double a;

                a = now_us(); direct(cgfd); t[0][i] = now_us() - a;
                a = now_us(); direct(-1); t[1][i] = now_us() - a;
                a = now_us(); if (run_argv(lm) != 0) return fprintf(stderr, "lmctl run failed\n"), 1;
                t[2][i] = now_us() - a;
                a = now_us(); lib_run(c, "bench-run"); t[3][i] = now_us() - a;
                if (bundle) {
                        a = now_us(); if (run_argv(lmb) != 0) return fprintf(stderr, "lmctl run --bundle failed\n"), 1;
                        t[4][i] = now_us() - a;
                }
                if (bundle && use_crun) {
                        snprintf(id, sizeof id, "bench-crun-%d", i);
                        a = now_us(); run_argv(cr); t[5][i] = now_us() - a;
                }
        }
        {
                double floor = median(t[0], (size_t)iters), fe = median(t[1], (size_t)iters), cli = median(t[2], (size_t)iters),
                       lib = median(t[3], (size_t)iters);
                printf("starting /bin/true, %d iterations, medians:\n", iters);
                printf("  clone3 into a cgroup + exec, done directly  %9.1f us  (the floor)\n", floor);
                printf("  fork+exec, no cgroup                        %9.1f us  %5.2fx floor\n", fe, fe / floor);
                printf("  lmctl run c -- /bin/true (CLI included)     %9.1f us  %5.2fx floor\n", cli, cli / floor);
                printf("  the same request through liblmct            %9.1f us  %5.2fx floor\n", lib, lib / floor);
                if (bundle) {
                        double b = median(t[4], (size_t)iters);
                        printf("  lmctl run --rm --bundle B                   %9.1f us\n", b);
                        if (use_crun) {
                                double cr = median(t[5], (size_t)iters);
                                printf("  crun run -b B                               %9.1f us  lmctl/crun %.2f\n", cr, b / cr);
                        }
                }
        }
        lmct_destroy(c, "bench-run", false, false);
        lmct_client_free(c);
        unlinkat(rootfd, "bench-floor", AT_REMOVEDIR);
        return 0;
}

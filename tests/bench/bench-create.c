/* Benchmark: create, update and destroy of a container with three limits
 * through one lmctld connection, against the same mkdir/write/rmdir done
 * directly, interleaved in one run; then list -r and lmctld's resident
 * memory with many containers. Prints medians and ratios.
 *
 *   bench-create --socket PATH --cgroup-root DIR [--no-limits]
 *                [--iterations N] [--scale N --daemon-pid PID]
 *
 * DIR is lmctld's cgroup root: the direct operations run in the same
 * directory, so both sides pay for the same controllers. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "lmct.h"


/* The IPC floor: median of a 8-byte ping-pong with another process over
 * a Unix stream socket. */
static double pingpong_us(int n) {
        double *t = calloc((size_t)n, sizeof *t), m;
        char b[64] = { 0 };
        int sv[2];
        pid_t pid;

        if (!t || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                while (read(sv[1], b, sizeof b) > 0)
                        (void)!write(sv[1], b, 8);
                _exit(0);
        }
        close(sv[1]);
        for (int i = 0; i < n; i++) {
                double a = now_us();
                (void)!write(sv[0], b, 8);
                (void)!read(sv[0], b, sizeof b);
                t[i] = now_us() - a;
        }
        close(sv[0]);
        waitpid(pid, NULL, 0);
        m = median(t, (size_t)n);
        free(t);
        return m;
}

static int write_file(int dfd, const char *file, const char *val) {
        int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
        ssize_t n;
        if (fd < 0)
                return -errno;
        n = write(fd, val, strlen(val));
        close(fd);
        return n < 0 ? -errno : 0;
}

static void die(const char *what, int r) {
        fprintf(stderr, "bench-create: %s: %s\n", what, strerror(-r));
        exit(1);
}

/* One step of the direct path: 0 create (mkdir, three writes), 1 update
 * (one write), 2 destroy (rmdir). */
static void direct_step(int rootfd, const char *name, int step, int limits) {
        int dfd, r;

        if (step == 0) {
                if (mkdirat(rootfd, name, 0755) < 0)
                        die("mkdir", -errno);
                dfd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (limits && ((r = write_file(dfd, "cpu.max", "50000 100000")) < 0 ||
                               (r = write_file(dfd, "memory.max", "268435456")) < 0 ||
                               (r = write_file(dfd, "pids.max", "100")) < 0))
                        die("write", r);
                close(dfd);
        } else if (step == 1) {
                if (limits) {
                        dfd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if ((r = write_file(dfd, "memory.max", "536870912")) < 0)
                                die("write", r);
                        close(dfd);
                }
        } else if (unlinkat(rootfd, name, AT_REMOVEDIR) < 0)
                die("rmdir", -errno);
}

/* The floor for any daemon: a server process that does the same steps on
 * a one-byte request over a Unix socket, with no logic of its own. */
static int floor_server(int rootfd, int limits, pid_t *ret_pid) {
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair", -errno);
        pid = fork();
        if (pid == 0) {
                int msg[2];
                char name[64];
                close(sv[0]);
                while (read(sv[1], msg, sizeof msg) == sizeof msg) {
                        snprintf(name, sizeof name, "bench-floor-%d", msg[1]);
                        direct_step(rootfd, name, msg[0], limits);
                        (void)!write(sv[1], "", 1);
                }
                _exit(0);
        }
        close(sv[1]);
        *ret_pid = pid;
        return sv[0];
}

static void bench_floor(int fd, int i, double *t[3]) {
        double at[4];
        char ok;

        at[0] = now_us();
        for (int step = 0; step < 3; step++) {
                int msg[2] = { step, i };
                (void)!write(fd, msg, sizeof msg);
                (void)!read(fd, &ok, 1);
                at[step + 1] = now_us();
        }
        for (int k = 0; k < 3; k++)
                t[k][i] = at[k + 1] - at[k];
}

static void bench_direct(int rootfd, int i, int limits, double *t[3]) {
        char name[64];
        double a, b, d, e;

        snprintf(name, sizeof name, "bench-direct-%d", i);
        a = now_us();
        direct_step(rootfd, name, 0, limits);
        b = now_us();
        direct_step(rootfd, name, 1, limits);
        d = now_us();
        direct_step(rootfd, name, 2, limits);
        e = now_us();
        t[0][i] = b - a, t[1][i] = d - b, t[2][i] = e - d;
}

static void bench_lmct(lmct_client *c, int i, int limits, const Lmct__V1__Limits *l, const Lmct__V1__Limits *up,
                       double *t[3]) {
        char name[64];
        double a, b, d, e;
        int r;

        snprintf(name, sizeof name, "bench-lmct-%d", i);
        a = now_us();
        if ((r = lmct_create(c, name, l, false)) < 0)
                die(lmct_client_message(c), r);
        b = now_us();
        if (limits && (r = lmct_update(c, name, up)) < 0)
                die(lmct_client_message(c), r);
        d = now_us();
        if ((r = lmct_destroy(c, name, false, false)) < 0)
                die(lmct_client_message(c), r);
        e = now_us();
        t[0][i] = b - a, t[1][i] = d - b, t[2][i] = e - d;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "cgroup-root", required_argument, NULL, 'r' },
                { "no-limits", no_argument, NULL, 'n' },
                { "iterations", required_argument, NULL, 'i' },
                { "scale", required_argument, NULL, 'S' },
                { "daemon-pid", required_argument, NULL, 'p' },
                {},
        };
        const char *sock = NULL, *rootdir = NULL;
        int limits = 1, iters = 300, scale = 0, dpid = 0, o, r, rootfd;
        double *t[3][3];
        pid_t floor_pid;
        int floor_fd;
        lmct_client *c = NULL;
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT, up = LMCT__V1__LIMITS__INIT;
        static const char *ops[3] = { "create", "update", "destroy" };

        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (o) {
                case 's': sock = optarg; break;
                case 'r': rootdir = optarg; break;
                case 'n': limits = 0; break;
                case 'i': iters = atoi(optarg); break;
                case 'S': scale = atoi(optarg); break;
                case 'p': dpid = atoi(optarg); break;
                default: return 2;
                }
        }
        if (!sock || !rootdir || iters < 1)
                return fprintf(stderr, "usage: bench-create --socket PATH --cgroup-root DIR [...]\n"), 2;
        rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                die(rootdir, -errno);
        if ((r = lmct_connect(sock, &c)) < 0)
                die("connect", r);
        if (limits) {
                l.has_cpu_millis = 1, l.cpu_millis = 500;
                l.has_memory_max = 1, l.memory_max = 256u << 20;
                l.has_pids_max = 1, l.pids_max = 100;
        }
        up.has_memory_max = 1, up.memory_max = 512u << 20;
        if (!limits)
                up.has_memory_max = 0, up.has_pids_max = 0;
        for (int s = 0; s < 3; s++)
                for (int k = 0; k < 3; k++)
                        t[s][k] = calloc((size_t)iters, sizeof(double));
        printf("lmct benchmark, %s\n", rootdir);
        /* Warm up: lets lmctld enable the controllers in the root once. */
        if ((r = lmct_create(c, "bench-warm", &l, false)) < 0 || (r = lmct_destroy(c, "bench-warm", false, false)) < 0)
                die(lmct_client_message(c), r);

        floor_fd = floor_server(rootfd, limits, &floor_pid);
        for (int i = 0; i < iters; i++) {
                /* Rotate which side goes first: each pays for the kernel's
                 * asynchronous teardown of the others' last cgroups equally. */
                for (int k = 0; k < 3; k++) {
                        int side = (k + i) % 3;
                        if (side == 0)
                                bench_direct(rootfd, i, limits, t[0]);
                        else if (side == 1)
                                bench_floor(floor_fd, i, t[2]);
                        else
                                bench_lmct(c, i, limits, &l, &up, t[1]);
                }
        }
        close(floor_fd);
        waitpid(floor_pid, NULL, 0);

        {
                double *v = calloc((size_t)iters, sizeof *v), pp = pingpong_us(iters);
                for (int i = 0; i < iters; i++) {
                        double a = now_us();
                        if ((r = lmct_version(c, NULL)) < 0)
                                die(lmct_client_message(c), r);
                        v[i] = now_us() - a;
                }
                printf("IPC floor: ping-pong between two processes over a Unix socket: median %.1f us\n", pp);
                printf("lmctld round trip (version request, no cgroupfs work): median %.1f us\n",
                       median(v, (size_t)iters));
                free(v);
        }
        printf("create/update/destroy, %d iterations interleaved, limits: %s\n", iters,
               limits ? "cpu.max memory.max pids.max (update: memory.max)" : "none (structure only)");
        printf("%-10s %14s %14s %14s %10s %10s\n", "(medians)", "direct", "floor server", "lmctld",
               "vs direct", "vs floor");
        {
                double tot[3] = { 0, 0, 0 };
                for (int k = 0; k < 3; k++) {
                        double m0, m1, m2;
                        if (!limits && k == 1)
                                continue;
                        m0 = median(t[0][k], (size_t)iters);
                        m1 = median(t[1][k], (size_t)iters);
                        m2 = median(t[2][k], (size_t)iters);
                        tot[0] += m0, tot[1] += m1, tot[2] += m2;
                        printf("%-10s %11.1f us %11.1f us %11.1f us %9.2fx %9.2fx\n", ops[k], m0, m2, m1, m1 / m0,
                               m1 / m2);
                }
                printf("%-10s %11.1f us %11.1f us %11.1f us %9.2fx %9.2fx\n", "all three", tot[0], tot[2], tot[1],
                       tot[1] / tot[0], tot[1] / tot[2]);
                printf("direct: the syscalls in this process; floor server: the same syscalls in another process,\n"
                       "asked over a Unix socket (what any daemon pays); lmctld: the same through liblmct.\n");
        }

        if (scale > 0) {
                int parents = scale >= 100 ? 100 : 1, per = scale / parents, sent = 0;
                double lt[20];
                char name[64];

                for (int p = 0; p < parents; p++) {
                        snprintf(name, sizeof name, "scale%d", p);
                        if ((r = lmct_create(c, name, NULL, false)) < 0)
                                die(lmct_client_message(c), r);
                        /* Pipelined in batches of 100. */
                        for (int k = 0; k < per; k += 100) {
                                int batch = per - k < 100 ? per - k : 100;
                                for (int j = 0; j < batch; j++) {
                                        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
                                        Lmct__V1__CreateRequest cr = LMCT__V1__CREATE_REQUEST__INIT;
                                        char child[96];
                                        snprintf(child, sizeof child, "scale%d/c%d", p, k + j);
                                        req.verb_case = LMCT__V1__REQUEST__VERB_CREATE;
                                        req.create = &cr;
                                        cr.name = child;
                                        if ((r = lmct_send(c, &req)) < 0)
                                                die("send", r);
                                }
                                for (int j = 0; j < batch; j++) {
                                        lmct_response *resp = NULL;
                                        if ((r = lmct_recv(c, &resp)) < 0)
                                                die("recv", r);
                                        if (resp->status && resp->status->code)
                                                die(resp->status->message, -EIO);
                                        lmct_response_free(resp);
                                        sent++;
                                }
                        }
                }
                for (int k = 0; k < 20; k++) {
                        lmct_response *resp = NULL;
                        double a = now_us();
                        if ((r = lmct_list(c, "", true, &resp)) < 0)
                                die(lmct_client_message(c), r);
                        lt[k] = now_us() - a;
                        if (k == 0)
                                printf("list -r returns %zu names\n", resp->list ? resp->list->n_names : 0);
                        lmct_response_free(resp);
                }
                printf("list -r with %d containers: median %.2f ms over 20 runs (target < 50 ms)\n", sent + parents,
                       median(lt, 20) / 1000);
                if (dpid > 0) {
                        char path[64], line[256];
                        FILE *f;
                        snprintf(path, sizeof path, "/proc/%d/status", dpid);
                        f = fopen(path, "re");
                        while (f && fgets(line, sizeof line, f))
                                if (strncmp(line, "VmRSS:", 6) == 0)
                                        printf("lmctld resident memory with %d containers: %.1f MiB (target < 32 MiB)\n",
                                               sent + parents, atof(line + 6) / 1024);
                        if (f)
                                fclose(f);
                }
                for (int p = 0; p < parents; p++) {
                        snprintf(name, sizeof name, "scale%d", p);
                        if ((r = lmct_destroy(c, name, true, false)) < 0)
                                die(lmct_client_message(c), r);
                }
        }
        lmct_client_free(c);
        close(rootfd);
        for (int s = 0; s < 3; s++)
                for (int k = 0; k < 3; k++)
                        free(t[s][k]);
        return 0;
}

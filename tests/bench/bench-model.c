/* Benchmark: a create with every kind of limit issue 13 added (memory.oom.group,
 * cpu.idle, cpu.max.burst beside cpu.max, cpuset.mems, hugetlb.2MB.max and
 * its reservation bound, a disk's io.max line, and a device program),
 * a change of the device rules alone, a reclaim of an idle container, and a
 * destroy: through lmctld, and the same syscalls done directly (mkdir, the
 * writes, BPF_PROG_LOAD and BPF_PROG_ATTACH, memory.current read around a
 * memory.reclaim write, rmdir). Medians of interleaved iterations, and their
 * ratios. A benchmark, not a test: it prints figures and asserts nothing.
 *
 *   bench-model --socket PATH --cgroup-root DIR --disk MAJ:MIN [--iterations N]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "bpfdev.h"
#include "lmct.h"

static void die(const char *what, int r) {
        fprintf(stderr, "bench-model: %s: %s\n", what, strerror(-r));
        exit(1);
}

static void write_file(int dfd, const char *file, const char *val) {
        int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                die(file, -errno);
        n = write(fd, val, strlen(val));
        close(fd);
        if (n < 0)
                die(file, -errno);
}

/* Deny every device, allow /dev/null; then also /dev/zero for reading. */
static const lmct_device_rule rules[] = { { 'a', -1, -1, 7 }, { 'c', 1, 3, LMCT_DEV_READ | LMCT_DEV_WRITE },
                                          { 'c', 1, 5, LMCT_DEV_READ } };
static const int allow[] = { 0, 1, 1 };

static void attach_rules(int dfd, size_t n) {
        int prog, r;

        if ((r = bpfdev_load(rules, allow, n, &prog, NULL, 0)) < 0 || (r = bpfdev_replace(dfd, prog)) < 0)
                die("device program", r);
        close(prog);
}

static unsigned long long read_u64(int dfd, const char *file) {
        char buf[32];
        int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

        if (fd >= 0)
                close(fd);
        if (n <= 0)
                die(file, -EIO);
        buf[n] = '\0';
        return strtoull(buf, NULL, 10);
}

/* What lmctld does for a reclaim of 4 KiB: memory.current, the write (at
 * most the usage), memory.current again. */
static void reclaim_direct(int dfd) {
        unsigned long long cur = read_u64(dfd, "memory.current");
        char val[32];

        snprintf(val, sizeof val, "%llu", cur < 4096 ? cur / 4096 * 4096 : 4096);
        write_file(dfd, "memory.reclaim", val);
        (void)read_u64(dfd, "memory.current");
}

static void direct(int rootfd, const char *name, const char *io_line, double t[4]) {
        double a = now_us(), b, c, d, e;
        int dfd;

        if (mkdirat(rootfd, name, 0755) < 0)
                die("mkdir", -errno);
        dfd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        write_file(dfd, "cpu.max", "20000 100000");
        write_file(dfd, "cpu.max.burst", "10000");
        write_file(dfd, "cpu.idle", "1");
        write_file(dfd, "memory.oom.group", "1");
        write_file(dfd, "cpuset.mems", "0");
        write_file(dfd, "hugetlb.2MB.max", "4194304");
        write_file(dfd, "hugetlb.2MB.rsvd.max", "4194304");
        write_file(dfd, "io.max", io_line);
        attach_rules(dfd, 2);
        b = now_us();
        attach_rules(dfd, 3);
        c = now_us();
        reclaim_direct(dfd);
        d = now_us();
        close(dfd);
        if (unlinkat(rootfd, name, AT_REMOVEDIR) < 0)
                die("rmdir", -errno);
        e = now_us();
        t[0] = b - a, t[1] = c - b, t[2] = d - c, t[3] = e - d;
}

static Lmct__V1__DeviceRule *rule(bool allow_it, const char *type, int64_t maj, int64_t min, const char *acc) {
        Lmct__V1__DeviceRule *r = calloc(1, sizeof *r);

        lmct__v1__device_rule__init(r);
        r->has_allow = true, r->allow = allow_it;
        r->type = (char *)type;
        if (maj >= 0)
                r->has_major = true, r->major = maj;
        if (min >= 0)
                r->has_minor = true, r->minor = min;
        r->access = (char *)acc;
        return r;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "cgroup-root", required_argument, NULL, 'r' },
                { "disk", required_argument, NULL, 'd' },
                { "iterations", required_argument, NULL, 'i' },
                {},
        };
        const char *sock = NULL, *rootdir = NULL, *disk = NULL;
        int iters = 200, o, r, rootfd;
        unsigned maj, min;
        char io_line[64];
        double *t[2][4];
        lmct_client *c = NULL;
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT, up = LMCT__V1__LIMITS__INIT;
        Lmct__V1__HugetlbLimit huge = LMCT__V1__HUGETLB_LIMIT__INIT, *hugep = &huge;
        Lmct__V1__IoDeviceLimit io = LMCT__V1__IO_DEVICE_LIMIT__INIT, *iop = &io;
        Lmct__V1__DeviceRules d2 = LMCT__V1__DEVICE_RULES__INIT, d3 = LMCT__V1__DEVICE_RULES__INIT;
        Lmct__V1__DeviceRule *r3[3];
        static const char *ops[4] = { "create", "device rules", "reclaim 4K", "destroy" };

        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (o) {
                case 's': sock = optarg; break;
                case 'r': rootdir = optarg; break;
                case 'd': disk = optarg; break;
                case 'i': iters = atoi(optarg); break;
                default: return 2;
                }
        }
        if (!sock || !rootdir || !disk || sscanf(disk, "%u:%u", &maj, &min) != 2 || iters < 1)
                return fprintf(stderr, "usage: bench-model --socket PATH --cgroup-root DIR --disk MAJ:MIN\n"), 2;
        snprintf(io_line, sizeof io_line, "%u:%u rbps=10485760", maj, min);
        rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                die(rootdir, -errno);
        if ((r = lmct_connect(sock, &c)) < 0)
                die("connect", r);
        l.has_cpu_millis = 1, l.cpu_millis = 200;
        l.has_cpu_burst_us = 1, l.cpu_burst_us = 10000;
        l.has_cpu_idle = 1, l.cpu_idle = 1;
        l.has_oom_group = 1, l.oom_group = 1;
        l.cpuset_mems = "0";
        huge.page_size = "2MB", huge.has_max = 1, huge.max = 4u << 20;
        l.hugetlb = &hugep, l.n_hugetlb = 1;
        io.has_major = io.has_minor = 1, io.major = maj, io.minor = min, io.has_rbps = 1, io.rbps = 10u << 20;
        l.io_devices = &iop, l.n_io_devices = 1;
        r3[0] = rule(false, "a", -1, -1, "rwm");
        r3[1] = rule(true, "c", 1, 3, "rw");
        r3[2] = rule(true, "c", 1, 5, "r");
        d2.rules = r3, d2.n_rules = 2;
        d3.rules = r3, d3.n_rules = 3;
        l.devices = &d2;
        up.devices = &d3;
        for (int s = 0; s < 2; s++)
                for (int k = 0; k < 4; k++)
                        t[s][k] = calloc((size_t)iters, sizeof(double));
        /* Warm up: lmctld enables the controllers in its root once. */
        if ((r = lmct_create(c, "bench-warm", &l, false)) < 0 || (r = lmct_destroy(c, "bench-warm", false, false)) < 0)
                die(lmct_client_message(c), r);
        for (int i = 0; i < iters; i++) {
                char name[64];
                double tt[4];
                for (int side = i % 2, k = 0; k < 2; k++, side ^= 1) {
                        if (side == 0) {
                                snprintf(name, sizeof name, "bench-direct-%d", i);
                                direct(rootfd, name, io_line, tt);
                        } else {
                                lmct_response *resp = NULL;
                                double a, b, e, g, f;
                                snprintf(name, sizeof name, "bench-lmct-%d", i);
                                a = now_us();
                                if ((r = lmct_create(c, name, &l, false)) < 0)
                                        die(lmct_client_message(c), r);
                                b = now_us();
                                if ((r = lmct_update(c, name, &up)) < 0)
                                        die(lmct_client_message(c), r);
                                e = now_us();
                                if ((r = lmct_reclaim(c, name, 4096, &resp)) < 0)
                                        die(lmct_client_message(c), r);
                                g = now_us();
                                lmct_response_free(resp);
                                if ((r = lmct_destroy(c, name, false, false)) < 0)
                                        die(lmct_client_message(c), r);
                                f = now_us();
                                tt[0] = b - a, tt[1] = e - b, tt[2] = g - e, tt[3] = f - g;
                        }
                        for (int s = 0; s < 4; s++)
                                t[side][s][i] = tt[s];
                }
        }
        printf("model: %d iterations interleaved; create = mkdir, cpu.max, cpu.max.burst, cpu.idle, "
               "memory.oom.group, cpuset.mems, hugetlb.2MB.max and .rsvd.max, io.max, a device program "
               "(2 rules); device rules = a new program (3 rules) attached, the old detached; reclaim 4K = "
               "memory.current, memory.reclaim (at most the usage: 0 here), memory.current (lmctld: in a thread)\n",
               iters);
        printf("model: %-14s %12s %12s %10s\n", "(medians)", "direct", "lmctld", "ratio");
        for (int s = 0; s < 4; s++) {
                double dm = median(t[0][s], (size_t)iters), lm = median(t[1][s], (size_t)iters);
                printf("model: %-14s %9.1f us %9.1f us %9.2fx\n", ops[s], dm, lm, lm / dm);
        }
        lmct_client_free(c);
        return 0;
}

/* Workloads for lmct's integration tests: each shows a limit by behaviour.
 *
 *   lmct-test-helper [-w CGROUP-SUBSTRING] spin
 *   lmct-test-helper [-w ...] alloc MIB        touch MIB MiB, print "allocated", sleep
 *   lmct-test-helper [-w ...] forkloop N       fork up to N sleeping children, print how many succeeded
 *   lmct-test-helper [-w ...] tick FILE        write a growing counter to FILE every 20 ms
 *
 * -w: first wait until /proc/self/cgroup contains the substring, so that a
 * test can start the helper, move it into a container with lmctl enter,
 * and only then let it work. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int wait_cgroup(const char *want) {
        for (int i = 0; i < 3000; i++) {
                char buf[4096];
                int fd = open("/proc/self/cgroup", O_RDONLY);
                ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
                if (fd >= 0)
                        close(fd);
                if (n > 0) {
                        buf[n] = '\0';
                        if (strstr(buf, want))
                                return 0;
                }
                sleep_ms(10);
        }
        fprintf(stderr, "lmct-test-helper: never moved into a cgroup matching %s\n", want);
        return -1;
}

/* Device programs: "attached DIR", those on the cgroup DIR itself
 * ("detach DIR" detaches them, as someone other than lmctld might);
 * "loaded", every BPF_PROG_TYPE_CGROUP_DEVICE program the kernel holds. */
static int bpf_count(const char *what, const char *dir) {
        union bpf_attr a;
        unsigned n = 0;

        memset(&a, 0, sizeof a);
        if (strcmp(what, "attached") == 0 || strcmp(what, "detach") == 0) {
                unsigned ids[64];
                int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
                if (fd < 0)
                        return perror("open"), 1;
                a.query.target_fd = (unsigned)fd;
                a.query.attach_type = BPF_CGROUP_DEVICE;
                a.query.prog_ids = (unsigned long)ids;
                a.query.prog_cnt = 64;
                if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof a) < 0)
                        return perror("BPF_PROG_QUERY"), 1;
                n = a.query.prog_cnt;
                for (unsigned k = 0; strcmp(what, "detach") == 0 && k < n; k++) {
                        union bpf_attr d;
                        int pfd;
                        memset(&d, 0, sizeof d);
                        d.prog_id = ids[k];
                        pfd = (int)syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &d, sizeof d);
                        memset(&d, 0, sizeof d);
                        d.target_fd = (unsigned)fd;
                        d.attach_bpf_fd = (unsigned)pfd;
                        d.attach_type = BPF_CGROUP_DEVICE;
                        if (pfd < 0 || syscall(SYS_bpf, BPF_PROG_DETACH, &d, sizeof d) < 0)
                                return perror("BPF_PROG_DETACH"), 1;
                        close(pfd);
                }
        } else {
                unsigned id = 0;
                for (;;) {
                        struct bpf_prog_info info;
                        int fd;
                        memset(&a, 0, sizeof a);
                        a.start_id = id;
                        if (syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &a, sizeof a) < 0)
                                break;
                        id = a.next_id;
                        memset(&a, 0, sizeof a);
                        a.prog_id = id;
                        fd = (int)syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &a, sizeof a);
                        if (fd < 0)
                                continue;
                        memset(&info, 0, sizeof info);
                        memset(&a, 0, sizeof a);
                        a.info.bpf_fd = (unsigned)fd;
                        a.info.info_len = sizeof info;
                        a.info.info = (unsigned long)&info;
                        if (syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof a) == 0 &&
                            info.type == BPF_PROG_TYPE_CGROUP_DEVICE)
                                n++;
                        close(fd);
                }
        }
        printf("%u\n", n);
        return 0;
}

int main(int argc, char **argv) {
        int i = 1;

        if (argc > 2 && strcmp(argv[1], "-w") == 0) {
                if (wait_cgroup(argv[2]) < 0)
                        return 1;
                i = 3;
        }
        if (i >= argc)
                goto usage;
        if (strcmp(argv[i], "spin") == 0) {
                volatile unsigned long x = 0;
                for (;;)
                        x++;
        }
        if (strcmp(argv[i], "alloc") == 0 && i + 1 < argc) {
                size_t len = (size_t)atol(argv[i + 1]) << 20;
                char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        perror("mmap");
                        return 1;
                }
                for (size_t o = 0; o < len; o += 4096)
                        p[o] = 1;
                printf("allocated\n");
                fflush(stdout);
                pause();
                return 0;
        }
        if (strcmp(argv[i], "forkloop") == 0 && i + 1 < argc) {
                int n = atoi(argv[i + 1]), ok = 0;
                pid_t kids[1024];
                for (int k = 0; k < n && k < 1024; k++) {
                        pid_t p = fork();
                        if (p == 0) {
                                pause();
                                _exit(0);
                        }
                        if (p < 0)
                                break;
                        kids[ok++] = p;
                }
                printf("%d\n", ok);
                fflush(stdout);
                for (int k = 0; k < ok; k++) {
                        kill(kids[k], SIGKILL);
                        waitpid(kids[k], NULL, 0);
                }
                return 0;
        }
        if (strcmp(argv[i], "bpf-devices") == 0 && i + 1 < argc)
                return bpf_count(argv[i + 1], i + 2 < argc ? argv[i + 2] : NULL);
        if (strcmp(argv[i], "tick") == 0 && i + 1 < argc) {
                for (unsigned long n = 1;; n++) {
                        char tmp[4096], buf[32];
                        int fd, len = snprintf(buf, sizeof buf, "%lu\n", n);
                        snprintf(tmp, sizeof tmp, "%s.tmp", argv[i + 1]);
                        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                        if (fd >= 0) {
                                (void)!write(fd, buf, (size_t)len);
                                close(fd);
                                rename(tmp, argv[i + 1]);
                        }
                        sleep_ms(20);
                }
        }
usage:
        fprintf(stderr, "usage: lmct-test-helper [-w CGROUP] spin | alloc MIB | forkloop N | tick FILE |\n"
                        "       bpf-devices attached|detach DIR | bpf-devices loaded\n");
        return 2;
}

/* What a memory threshold costs lmctld (cgroup v2 has no usage
 * notification, so --memory-above reads memory.current, and memory.peak,
 * every 100 ms per subscription): lmctld's CPU time with N subscriptions
 * that have a threshold, less its CPU time with N that have none, per
 * reading; against the floor, the same two preads done directly.
 *
 *   bench-threshold SOCKET LMCTLD-PID CGROUP-DIR CONTAINER [N] [SECONDS] [ROUNDS]
 *
 * CGROUP-DIR is the container's cgroup directory; the threshold (1 TiB) is
 * never reached, so no event is sent and only the readings are measured. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "lmct.h"

/* lmctld's user + system CPU time in microseconds. */
static double cpu_us(int pid) {
        char path[64], buf[1024], *p;
        unsigned long long ut, st;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        f = fopen(path, "r");
        if (!f || !fgets(buf, sizeof buf, f)) {
                if (f)
                        fclose(f);
                return -1;
        }
        fclose(f);
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return -1;
        return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* N subscriptions to NAME, with THRESHOLD bytes (0: none), held for
 * SECONDS: lmctld's CPU time meanwhile. */
static double round_us(const char *sock, int pid, const char *name, int n, uint64_t threshold, int seconds) {
        lmct_client *c[256];
        double before, after;
        int k = 0;

        for (; k < n; k++) {
                Lmct__V1__EventsRequest er = LMCT__V1__EVENTS_REQUEST__INIT;
                lmct_response *resp = NULL;
                er.name = (char *)name;
                er.has_memory_above = threshold != 0;
                er.memory_above = threshold;
                if (lmct_connect(sock, &c[k]) < 0 || lmct_events_request(c[k], &er, &resp) < 0) {
                        fprintf(stderr, "bench-threshold: subscription %d: %s\n", k,
                                c[k] ? lmct_client_message(c[k]) : "cannot connect");
                        exit(1);
                }
                lmct_response_free(resp);
        }
        usleep(200000);
        before = cpu_us(pid);
        sleep((unsigned)seconds);
        after = cpu_us(pid);
        while (k > 0)
                lmct_client_free(c[--k]);
        usleep(200000);
        return after - before;
}

int main(int argc, char **argv) {
        const char *sock, *dir, *name;
        int pid, n, seconds, rounds;
        double with[16], without[16], floor_us[16];

        if (argc < 5) {
                fprintf(stderr, "usage: bench-threshold SOCKET LMCTLD-PID CGROUP-DIR CONTAINER [N] [SECONDS] [ROUNDS]\n");
                return 2;
        }
        sock = argv[1];
        pid = atoi(argv[2]);
        dir = argv[3];
        name = argv[4];
        n = argc > 5 ? atoi(argv[5]) : 64;
        seconds = argc > 6 ? atoi(argv[6]) : 5;
        rounds = argc > 7 ? atoi(argv[7]) : 3;
        if (n < 1 || n > 256 || seconds < 1 || rounds < 1 || rounds > 16) {
                fprintf(stderr, "bench-threshold: N 1..256, SECONDS >= 1, ROUNDS 1..16\n");
                return 2;
        }
        for (int r = 0; r < rounds; r++) {
                char path[4096], buf[64];
                long readings = (long)n * seconds * 10;
                struct rusage a, b;
                int cur, peak;

                without[r] = round_us(sock, pid, name, n, 0, seconds);
                with[r] = round_us(sock, pid, name, n, UINT64_C(1) << 40, seconds);
                snprintf(path, sizeof path, "%s/memory.current", dir);
                cur = open(path, O_RDONLY | O_CLOEXEC);
                snprintf(path, sizeof path, "%s/memory.peak", dir);
                peak = open(path, O_RDONLY | O_CLOEXEC);
                if (cur < 0) {
                        fprintf(stderr, "bench-threshold: %s/memory.current: %s\n", dir, strerror(errno));
                        return 1;
                }
                getrusage(RUSAGE_SELF, &a);
                for (long i = 0; i < readings; i++) {
                        if (pread(cur, buf, sizeof buf - 1, 0) < 0 || (peak >= 0 && pread(peak, buf, sizeof buf - 1, 0) < 0))
                                return 1;
                }
                getrusage(RUSAGE_SELF, &b);
                floor_us[r] = (double)(b.ru_utime.tv_sec - a.ru_utime.tv_sec + b.ru_stime.tv_sec - a.ru_stime.tv_sec) *
                                      1e6 +
                              (double)(b.ru_utime.tv_usec - a.ru_utime.tv_usec + b.ru_stime.tv_usec -
                                       a.ru_stime.tv_usec);
                close(cur);
                if (peak >= 0)
                        close(peak);
                /* Per reading (one tick of one subscription). */
                with[r] = (with[r] - without[r]) / (double)readings;
                without[r] /= (double)readings;
                floor_us[r] /= (double)readings;
        }
        {
                double w = median(with, (size_t)rounds), f = median(floor_us, (size_t)rounds);
                double idle = median(without, (size_t)rounds);
                printf("threshold: %d subscriptions x %d s x 10 readings/s, median of %d rounds\n", n, seconds, rounds);
                printf("threshold: lmctld %.2f us CPU per reading (memory.current and memory.peak), "
                       "beyond %.2f us with plain subscriptions\n",
                       w, idle);
                printf("threshold: floor (the same preads directly) %.2f us; ratio %.2fx\n", f, f > 0 ? w / f : 0);
                printf("threshold: %d subscriptions cost lmctld %.2f%% of one CPU\n", n, w * n * 10 / 1e4);
        }
        return 0;
}

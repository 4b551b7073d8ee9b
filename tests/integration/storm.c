/* lmct-storm: create/update/destroy requests as fast as lmctld answers,
 * while something kills lmctld with SIGKILL at random moments and starts it
 * again. Keeps a model of what was acknowledged and checks it against the
 * kernel (the cgroup files themselves) after every reconnect and at the end:
 *   - every request answered OK is there, with all its limits;
 *   - a request that lost its answer is either wholly done or not at all.
 *
 * Usage: lmct-storm SOCKET CGROUP-ROOT SEED
 * Runs until SIGTERM, then checks once more and prints one line:
 *   storm: N requests acknowledged, N in doubt, N reconnects, N violations
 * followed by one line per violation. Exit status 0 without violations. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lmct-client.h"

#define TOPS 6
#define KIDS 3

typedef struct ent {
        bool exists;
        bool limited;           /* created by create -p as a parent: no limits */
        uint64_t pids, mem_mib, cpu_millis;
} ent;

/* [t][0] is "sT", [t][1 + k] is "sT/cK". */
static ent model[TOPS][KIDS + 1];
static volatile sig_atomic_t stop;
static const char *cgroot;
static unsigned violations, acked, doubt, reconnects;

static void on_term(int sig) {
        (void)sig;
        stop = 1;
}

static void name_of(int t, int k, char *buf, size_t len) {
        if (k == 0)
                snprintf(buf, len, "s%d", t);
        else
                snprintf(buf, len, "s%d/c%d", t, k - 1);
}

static int read_file(const char *name, const char *file, char *buf, size_t len) {
        char path[512];
        ssize_t n;
        int fd;

        snprintf(path, sizeof path, "%s/%s/%s", cgroot, name, file);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, len - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

/* The entry as the kernel holds it. */
static ent observe(int t, int k) {
        char name[64], path[512], buf[128];
        struct stat st;
        ent e = { 0 };
        unsigned long long q, p;

        name_of(t, k, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", cgroot, name);
        if (stat(path, &st) < 0)
                return e;
        e.exists = true;
        if (read_file(name, "pids.max", buf, sizeof buf) < 0 || strcmp(buf, "max") == 0) {
                e.limited = false;
        } else {
                e.limited = true;
                e.pids = strtoull(buf, NULL, 10);
        }
        if (read_file(name, "memory.max", buf, sizeof buf) == 0 && strcmp(buf, "max") != 0)
                e.mem_mib = strtoull(buf, NULL, 10) >> 20;
        if (read_file(name, "cpu.max", buf, sizeof buf) == 0 && sscanf(buf, "%llu %llu", &q, &p) == 2)
                e.cpu_millis = q * 1000 / p;
        return e;
}

static bool same(const ent *a, const ent *b) {
        if (a->exists != b->exists)
                return false;
        if (!a->exists)
                return true;
        if (a->limited != b->limited)
                return false;
        return !a->limited || (a->pids == b->pids && a->mem_mib == b->mem_mib && a->cpu_millis == b->cpu_millis);
}

static void describe(const ent *e, char *buf, size_t len) {
        if (!e->exists)
                snprintf(buf, len, "absent");
        else if (!e->limited)
                snprintf(buf, len, "present, no limits");
        else
                snprintf(buf, len, "pids %llu memory %lluM cpu %llu", (unsigned long long)e->pids,
                         (unsigned long long)e->mem_mib, (unsigned long long)e->cpu_millis);
}

static void violation(int t, int k, const char *what, const ent *want, const ent *got) {
        char name[64], a[128], b[128];

        name_of(t, k, name, sizeof name);
        describe(want, a, sizeof a);
        describe(got, b, sizeof b);
        printf("violation: %s: %s: expected %s, the kernel has %s\n", name, what, a, b);
        violations++;
}

/* Every entry must be as acknowledged. */
static void check_all(const char *when) {
        for (int t = 0; t < TOPS; t++)
                for (int k = 0; k <= KIDS; k++) {
                        ent got = observe(t, k);
                        if (!same(&model[t][k], &got))
                                violation(t, k, when, &model[t][k], &got);
                }
}

static uint64_t pick(uint64_t lo, uint64_t hi) { return lo + (uint64_t)rand() % (hi - lo + 1); }

static void random_limits(ent *e) {
        e->exists = e->limited = true;
        e->pids = pick(10, 5000);
        e->mem_mib = pick(16, 2048);
        e->cpu_millis = pick(1, 40) * 100;
}

static void to_limits(const ent *e, lmct_limits *l) {
        lmct__v1__limits__init(l);
        l->has_pids_max = l->has_memory_max = l->has_cpu_millis = true;
        l->pids_max = e->pids;
        l->memory_max = e->mem_mib << 20;
        l->cpu_millis = e->cpu_millis;
}

/* Connects and gets an answer, waiting up to a minute for lmctld to be
 * back (a dying daemon may still accept a connection it never serves). */
static int connect_retry(const char *sock, lmct_client **c) {
        for (int i = 0; i < 3000; i++) {
                if (lmct_connect(sock, c) == 0) {
                        if (lmct_version(*c, NULL) == 0)
                                return 0;
                        *c = lmct_client_free(*c);
                }
                usleep(20000);
        }
        return -ETIMEDOUT;
}

int main(int argc, char **argv) {
        ent before[TOPS][KIDS + 1], after[TOPS][KIDS + 1];
        lmct_client *c = NULL;
        const char *sock;

        if (argc != 4) {
                fprintf(stderr, "usage: lmct-storm SOCKET CGROUP-ROOT SEED\n");
                return 2;
        }
        sock = argv[1];
        cgroot = argv[2];
        srand((unsigned)strtoul(argv[3], NULL, 10));
        signal(SIGTERM, on_term);
        signal(SIGPIPE, SIG_IGN);
        if (connect_retry(sock, &c) < 0) {
                printf("storm: cannot connect to %s\n", sock);
                return 1;
        }
        while (!stop) {
                int t = rand() % TOPS, k = rand() % (KIDS + 1), r;
                char name[64];
                lmct_limits l;
                const char *verb;

                memcpy(before, model, sizeof model);
                memcpy(after, model, sizeof model);
                name_of(t, k, name, sizeof name);
                if (!model[t][k].exists) {
                        /* create, with -p when the parent is missing */
                        bool parents = k > 0 && !model[t][0].exists;
                        random_limits(&after[t][k]);
                        if (parents)
                                after[t][0] = (ent){ .exists = true };
                        to_limits(&after[t][k], &l);
                        verb = "create";
                        r = lmct_create(c, name, &l, parents);
                } else if (rand() % 3 == 0) {
                        /* destroy, recursively for a top-level one */
                        verb = "destroy";
                        after[t][k] = (ent){ 0 };
                        if (k == 0)
                                for (int j = 1; j <= KIDS; j++)
                                        after[t][j] = (ent){ 0 };
                        r = lmct_destroy(c, name, k == 0, false);
                } else {
                        verb = "update";
                        random_limits(&after[t][k]);
                        to_limits(&after[t][k], &l);
                        r = lmct_update(c, name, &l);
                }
                if (r == 0) {
                        memcpy(model, after, sizeof model);
                        acked++;
                        continue;
                }
                if (lmct_client_code(c) != LMCT__V1__CODE__UNAVAILABLE) {
                        printf("violation: %s %s refused: %s\n", verb, name, lmct_client_message(c));
                        violations++;
                        continue;
                }
                /* The answer was lost: wait for the next lmctld, which has
                 * resolved any half-done operation before it serves. */
                doubt++;
                lmct_client_free(c);
                c = NULL;
                if (connect_retry(sock, &c) < 0) {
                        printf("storm: lmctld did not come back on %s\n", sock);
                        return 1;
                }
                reconnects++;
                for (int j = 0; j <= KIDS; j++) {
                        ent got = observe(t, j);
                        if (same(&got, &after[t][j]))
                                continue;
                        if (!same(&got, &before[t][j]))
                                violation(t, j, "half done after a crash", &after[t][j], &got);
                }
                /* The whole operation or none of it: one model for the entry group. */
                {
                        bool all_after = true;
                        for (int j = 0; j <= KIDS; j++) {
                                ent got = observe(t, j);
                                if (!same(&got, &after[t][j]))
                                        all_after = false;
                        }
                        memcpy(model, all_after ? after : before, sizeof model);
                }
                check_all("after a restart");
        }
        if (c && lmct_version(c, NULL) < 0) {
                lmct_client_free(c);
                c = NULL;
                if (connect_retry(sock, &c) < 0)
                        return 1;
        }
        check_all("at the end");
        printf("storm: %u requests acknowledged, %u in doubt, %u reconnects, %u violations\n", acked, doubt,
               reconnects, violations);
        lmct_client_free(c);
        return violations ? 1 : 0;
}

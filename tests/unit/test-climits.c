/* Limits into cgroup writes (core/climits.c): what climits_plan writes,
 * and what it refuses, naming the limit. No cgroupfs needed (a new
 * container: DIRFD -1). */
#include <errno.h>
#include <stdlib.h>

#include "climits.h"
#include "lmct-limits.h"
#include "test.h"

static const limit_write *find(const limit_plan *p, const char *file) {
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->w[i].file, file) == 0)
                        return &p->w[i];
        return NULL;
}

static void test_writes(void) {
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        limit_plan p;
        status st = { 0 };

        CHECK(climits_plan(NULL, -1, &p, &st) == 0 && p.n == 0);
        l.has_cpu_millis = true;
        l.cpu_millis = 6000; /* --cpu 6 */
        l.has_memory_max = true;
        l.memory_max = 1 << 30;
        l.has_pids_max = true;
        l.pids_max = LMCT_MAX;
        l.has_max_descendants = true;
        l.max_descendants = 10;
        CHECK(climits_plan(&l, -1, &p, &st) == 0);
        CHECK(p.n == 4);
        CHECK(find(&p, "cpu.max") && strcmp(find(&p, "cpu.max")->value, "600000 100000") == 0);
        CHECK(find(&p, "memory.max") && strcmp(find(&p, "memory.max")->value, "1073741824") == 0);
        CHECK(find(&p, "pids.max") && strcmp(find(&p, "pids.max")->value, "max") == 0);
        /* Each container holds a leaf for its processes: twice, plus one. */
        CHECK(find(&p, "cgroup.max.descendants") && strcmp(find(&p, "cgroup.max.descendants")->value, "21") == 0);
        CHECK(p.mask != 0);

        /* The files a plan writes are the files the intent record may name. */
        for (size_t i = 0; i < p.n; i++)
                CHECK(climits_file(p.w[i].file));
        CHECK(climits_file("cpuset.cpus"));
        CHECK(!climits_file("cgroup.procs"));
        CHECK(!climits_file("cgroup.subtree_control"));
        CHECK(!climits_file("../etc/passwd"));
}

static void test_refusals(void) {
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        limit_plan p;
        status st = { 0 };

        l.has_cpu_millis = true;
        l.cpu_millis = 0;
        CHECK(climits_plan(&l, -1, &p, &st) == -EINVAL);
        CHECK(st.code == LMCT__V1__CODE__INVALID_ARGUMENT && strstr(st.msg, "cpu") != NULL);

        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.has_cpu_weight = true;
        l.cpu_weight = 0;
        CHECK(climits_plan(&l, -1, &p, &st) == -ERANGE);
        CHECK(strstr(st.msg, "cpu-weight") != NULL);

        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.has_cpu_period_us = true;
        l.cpu_period_us = 1;
        CHECK(climits_plan(&l, -1, &p, &st) == -EINVAL);
        CHECK(strstr(st.msg, "cpu-period") != NULL);

        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.cpuset_cpus = "0-3,x";
        CHECK(climits_plan(&l, -1, &p, &st) == -EINVAL);
        CHECK(strstr(st.msg, "cpuset") != NULL);

        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.has_pids_max = true;
        l.pids_max = (uint64_t)1 << 40;
        CHECK(climits_plan(&l, -1, &p, &st) == -ERANGE);
        CHECK(strstr(st.msg, "pids") != NULL);
}

TEST_MAIN(test_writes(); test_refusals())

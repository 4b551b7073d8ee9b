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

/* The switches, the burst and the memory nodes: their files and values,
 * and effective values that come down from an ancestor. */
static void test_model(void) {
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT, anc = LMCT__V1__LIMITS__INIT;
        Lmct__V1__Limits *eff;
        limit_plan p;
        status st = { 0 };

        l.has_oom_group = true;
        l.oom_group = true;
        l.has_cpu_idle = true;
        l.cpu_idle = false;
        l.has_cpu_burst_us = true;
        l.cpu_burst_us = 20000;
        l.cpuset_mems = "0-1";
        CHECK(climits_plan(&l, -1, &p, &st) == 0);
        CHECK(p.n == 4);
        CHECK(find(&p, "memory.oom.group") && strcmp(find(&p, "memory.oom.group")->value, "1") == 0);
        CHECK(find(&p, "cpu.idle") && strcmp(find(&p, "cpu.idle")->value, "0") == 0);
        CHECK(find(&p, "cpu.max.burst") && strcmp(find(&p, "cpu.max.burst")->value, "20000") == 0);
        CHECK(find(&p, "cpuset.mems") && strcmp(find(&p, "cpuset.mems")->value, "0-1") == 0);
        for (size_t i = 0; i < p.n; i++)
                CHECK(climits_file(p.w[i].file));
        CHECK(climits_any(&l));

        /* "" removes the node list (the kernel takes an empty line). */
        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.cpuset_mems = "";
        CHECK(climits_plan(&l, -1, &p, &st) == 0 && p.n == 1 && strcmp(p.w[0].value, "\n") == 0);

        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.cpuset_mems = "1-";
        CHECK(climits_plan(&l, -1, &p, &st) == -EINVAL);
        CHECK(strstr(st.msg, "cpuset-mems") != NULL);

        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.has_cpu_burst_us = true;
        l.cpu_burst_us = LMCT_MAX;
        CHECK(climits_plan(&l, -1, &p, &st) == -ERANGE);
        CHECK(strstr(st.msg, "cpu-burst") != NULL);

        l = (Lmct__V1__Limits)LMCT__V1__LIMITS__INIT;
        l.has_cpu_idle = l.cpu_idle = true;
        l.has_cpu_weight = true;
        l.cpu_weight = 50;
        CHECK(climits_plan(&l, -1, &p, &st) == -EINVAL);
        CHECK(strstr(st.msg, "cpu-idle and cpu-weight") != NULL);
        l.cpu_idle = false; /* ending idleness, then a weight: in that order */
        CHECK(climits_plan(&l, -1, &p, &st) == 0 && p.n == 2);
        CHECK(strcmp(p.w[0].file, "cpu.idle") == 0 && strcmp(p.w[1].file, "cpu.weight") == 0);

        /* An ancestor's oom-group and idleness reach the container's
         * effective values; a switch off above does not turn one off here. */
        eff = climits_new();
        CHECK(eff != NULL);
        anc.has_oom_group = anc.oom_group = true;
        anc.has_cpu_idle = true;
        anc.cpu_idle = false;
        climits_tighten(eff, &anc);
        CHECK(eff->has_oom_group && eff->oom_group);
        CHECK(!eff->has_cpu_idle);
        lmct__v1__limits__free_unpacked(eff, NULL);
}

TEST_MAIN(test_writes(); test_refusals(); test_model())

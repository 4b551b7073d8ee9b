/* Parsing of cgroup files' text (no cgroupfs needed). */
#include <errno.h>

#include "cgroup.h"
#include "test.h"

static void test_keys(void) {
        const char *ev = "low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\n";
        uint64_t v;

        CHECK(cg_parse_key(ev, "high", &v) == 0 && v == 12);
        CHECK(cg_parse_key(ev, "oom_kill", &v) == 0 && v == 1);
        CHECK(cg_parse_key(ev, "oom", &v) == 0 && v == 1);
        CHECK(cg_parse_key(ev, "hig", &v) == -ENOENT);
        CHECK(cg_parse_key("", "high", &v) == -ENOENT);
}

static void test_pressure(void) {
        const char *cpu = "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\n"
                          "full avg10=0.00 avg60=0.00 avg300=0.00 total=789\n";
        cg_pressure p;

        CHECK(cg_parse_pressure(cpu, "some", &p) == 0 && p.total_us == 123456 && p.avg10 == 1.5 &&
              p.avg60 == 0.25);
        CHECK(cg_parse_pressure(cpu, "full", &p) == 0 && p.total_us == 789);
        /* A kernel without "full" for this resource. */
        CHECK(cg_parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n", "full", &p) == -ENOENT);
        CHECK(cg_parse_pressure("some avg10=x avg60=0.00 avg300=0.00 total=5\n", "some", &p) == -ENOENT);
        CHECK(cg_parse_pressure("", "some", &p) == -ENOENT);
}

TEST_MAIN(test_keys(); test_pressure())

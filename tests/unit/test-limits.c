#include <errno.h>
#include <stdint.h>

#include "lmct-limits.h"
#include "test.h"

static uint64_t size(const char *s) {
        uint64_t v = 12345;
        return lmct_parse_size(s, 1, &v) < 0 ? 0xdead : v;
}

static void test_sizes(void) {
        uint64_t v;
        CHECK(size("0") == 0);
        CHECK(size("100") == 100);
        CHECK(size("512M") == 512ull << 20);
        CHECK(size("4G") == 4ull << 30);
        CHECK(size("4g") == 4ull << 30);
        CHECK(size("1T") == 1ull << 40);
        CHECK(size("1.5G") == 3ull << 29);
        CHECK(size("0.5K") == 512);
        CHECK(size("max") == LMCT_MAX);
        CHECK(lmct_parse_size("max", 0, &v) == -EINVAL);
        CHECK(size("12Q") == 0xdead);
        CHECK(size("-1") == 0xdead);
        CHECK(size("1.5.0") == 0xdead);
        CHECK(size("") == 0xdead);
        CHECK(size("1.5") == 0xdead);
        CHECK(size("G") == 0xdead);
        CHECK(size("1GB") == 0xdead);
        CHECK(size(" 1") == 0xdead);
        CHECK(lmct_parse_size("99999999999999999999", 1, &v) == -ERANGE);
        CHECK(lmct_parse_size("16777216T", 1, &v) == -ERANGE);
}

static void test_cpu(void) {
        uint64_t v;
        CHECK(lmct_parse_cpu("6", &v) == 0 && v == 6000);
        CHECK(lmct_parse_cpu("0.5", &v) == 0 && v == 500);
        CHECK(lmct_parse_cpu("0.125", &v) == 0 && v == 125);
        CHECK(lmct_parse_cpu("max", &v) == 0 && v == LMCT_MAX);
        CHECK(lmct_parse_cpu("0", &v) == -EINVAL);
        CHECK(lmct_parse_cpu("0.000", &v) == -EINVAL);
        CHECK(lmct_parse_cpu("-2", &v) == -EINVAL);
        CHECK(lmct_parse_cpu("0.0001", &v) == -EINVAL);
        CHECK(lmct_parse_cpu("1.", &v) == -EINVAL);
        CHECK(lmct_parse_cpu("abc", &v) == -EINVAL);
        CHECK(lmct_cpu_quota_from_millis(6000, 100000) == 600000);
        CHECK(lmct_cpu_quota_from_millis(500, 100000) == 50000);
        CHECK(lmct_cpu_millis_from_quota(600000, 100000) == 6000);
        CHECK(lmct_cpu_millis_from_quota(25000, 50000) == 500);
        CHECK(lmct_cpu_millis_from_quota(LMCT_MAX, 100000) == LMCT_MAX);
        CHECK(lmct_cpu_millis_from_quota(1, 1000000) == 1);
}

static void test_uint_cpuset(void) {
        uint64_t v;
        CHECK(lmct_parse_uint("100", 1, 10000, 0, &v) == 0 && v == 100);
        CHECK(lmct_parse_uint("0", 1, 10000, 0, &v) == -ERANGE);
        CHECK(lmct_parse_uint("10001", 1, 10000, 0, &v) == -ERANGE);
        CHECK(lmct_parse_uint("max", 0, 10, 1, &v) == 0 && v == LMCT_MAX);
        CHECK(lmct_parse_uint("max", 0, 10, 0, &v) == -EINVAL);
        CHECK(lmct_parse_uint("1.5", 0, 10, 0, &v) == -EINVAL);
        CHECK(lmct_parse_cpuset("0-3,6") == 0);
        CHECK(lmct_parse_cpuset("") == 0);
        CHECK(lmct_parse_cpuset("3-1") == -EINVAL);
        CHECK(lmct_parse_cpuset("1,,2") == -EINVAL);
        CHECK(lmct_parse_cpuset("a") == -EINVAL);
        CHECK(lmct_parse_cpuset("1-") == -EINVAL);
}

static void test_page_sizes(void) {
        uint64_t v;
        char b[16];
        CHECK(lmct_parse_page_size("2MB", &v) == 0 && v == 2u << 20);
        CHECK(lmct_parse_page_size("2m", &v) == 0 && v == 2u << 20);
        CHECK(lmct_parse_page_size("1GB", &v) == 0 && v == 1u << 30);
        CHECK(lmct_parse_page_size("64KB", &v) == 0 && v == 64u << 10);
        CHECK(lmct_parse_page_size("3MB", &v) == -EINVAL);   /* not a power of two */
        CHECK(lmct_parse_page_size("2KB", &v) == -EINVAL);   /* below 4 KiB */
        CHECK(lmct_parse_page_size("2", &v) == -EINVAL);
        CHECK(lmct_parse_page_size("2MBB", &v) == -EINVAL);
        CHECK(lmct_parse_page_size("../2MB", &v) == -EINVAL);
        CHECK(lmct_parse_page_size("99999999GB", &v) == -ERANGE);
        CHECK_STR(lmct_format_page_size(2u << 20, b, sizeof b), "2MB");
        CHECK_STR(lmct_format_page_size(1u << 30, b, sizeof b), "1GB");
        CHECK_STR(lmct_format_page_size(64u << 10, b, sizeof b), "64KB");
}

static void test_device_rules(void) {
        lmct_device_rule r;
        char b[48];
        CHECK(lmct_parse_device_rule("c 1:3 rw", &r) == 0 && r.type == 'c' && r.major == 1 && r.minor == 3 &&
              r.access == (LMCT_DEV_READ | LMCT_DEV_WRITE));
        CHECK_STR(lmct_format_device_rule(&r, b, sizeof b), "c 1:3 rw");
        CHECK(lmct_parse_device_rule("b 8:* r", &r) == 0 && r.major == 8 && r.minor == -1);
        CHECK_STR(lmct_format_device_rule(&r, b, sizeof b), "b 8:* r");
        CHECK(lmct_parse_device_rule("a", &r) == 0 && r.type == 'a' && r.major == -1 &&
              r.access == (LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD));
        CHECK_STR(lmct_format_device_rule(&r, b, sizeof b), "a *:* rwm");
        CHECK(lmct_parse_device_rule("c *:* m", &r) == 0 && r.access == LMCT_DEV_MKNOD);
        CHECK(lmct_parse_device_rule("x 1:3 rw", &r) == -EINVAL);
        CHECK(lmct_parse_device_rule("c 1:3 rwx", &r) == -EINVAL);
        CHECK(lmct_parse_device_rule("c 1:3 rr", &r) == -EINVAL);
        CHECK(lmct_parse_device_rule("c 1:3 ", &r) == -EINVAL);
        CHECK(lmct_parse_device_rule("c 1 rw", &r) == -EINVAL);
        CHECK(lmct_parse_device_rule("c 1:-3 rw", &r) == -EINVAL);
        CHECK(lmct_parse_device_rule("c 4096:0 r", &r) == -ERANGE);
        CHECK(lmct_parse_device_rule("c 0:1048576 r", &r) == -ERANGE);
        CHECK(lmct_parse_device_rule("c", &r) == -EINVAL);
        CHECK(lmct_parse_device_rule("", &r) == -EINVAL);
}

static void test_format(void) {
        char b[32];
        CHECK_STR(lmct_format_size(512ull << 20, b, sizeof b), "512M");
        CHECK_STR(lmct_format_size(4ull << 30, b, sizeof b), "4G");
        CHECK_STR(lmct_format_size(3ull << 29, b, sizeof b), "1.5G");
        CHECK_STR(lmct_format_size(100, b, sizeof b), "100");
        CHECK_STR(lmct_format_size(1024, b, sizeof b), "1K");
        /* Rounded down, so that it parses back (found by fuzz-limits). */
        CHECK_STR(lmct_format_size(UINT64_MAX - 7, b, sizeof b), "16777215.9T");
        CHECK(size(b) <= UINT64_MAX - 7);
        CHECK_STR(lmct_format_size((1ull << 40) - 1, b, sizeof b), "1023.9G");
        CHECK_STR(lmct_format_size(LMCT_MAX, b, sizeof b), "max");
        CHECK_STR(lmct_format_cpu(6000, b, sizeof b), "6");
        CHECK_STR(lmct_format_cpu(500, b, sizeof b), "0.5");
        CHECK_STR(lmct_format_cpu(250, b, sizeof b), "0.25");
        CHECK_STR(lmct_format_cpu(125, b, sizeof b), "0.125");
        CHECK_STR(lmct_format_cpu(LMCT_MAX, b, sizeof b), "max");
}

static void test_durations(void) {
        uint64_t v, stall, window;
        const char *res;
        int full;

        CHECK(lmct_parse_duration_us("150ms", &v) == 0 && v == 150000);
        CHECK(lmct_parse_duration_us("1s", &v) == 0 && v == 1000000);
        CHECK(lmct_parse_duration_us("1.5s", &v) == 0 && v == 1500000);
        CHECK(lmct_parse_duration_us("2500us", &v) == 0 && v == 2500);
        CHECK(lmct_parse_duration_us("0.25ms", &v) == 0 && v == 250);
        CHECK(lmct_parse_duration_us("1.5us", &v) == -EINVAL);
        CHECK(lmct_parse_duration_us("150", &v) == -EINVAL);
        CHECK(lmct_parse_duration_us("ms", &v) == -EINVAL);
        CHECK(lmct_parse_duration_us("1m", &v) == -EINVAL);
        CHECK(lmct_parse_duration_us("-1s", &v) == -EINVAL);
        CHECK(lmct_parse_duration_us("99999999999999999999s", &v) == -ERANGE);
        CHECK(lmct_parse_duration_us("18446744073709s", &v) == -ERANGE);

        CHECK(lmct_parse_pressure("memory:150ms/1s", &res, &full, &stall, &window) == 0);
        CHECK_STR(res, "memory");
        CHECK(!full && stall == 150000 && window == 1000000);
        CHECK(lmct_parse_pressure("cpu:full:50ms/500ms", &res, &full, &stall, &window) == 0);
        CHECK_STR(res, "cpu");
        CHECK(full && stall == 50000 && window == 500000);
        CHECK(lmct_parse_pressure("io:some:1s/2s", &res, &full, &stall, &window) == 0 && !full);
        CHECK(lmct_parse_pressure("disk:1s/2s", &res, &full, &stall, &window) == -EINVAL);
        CHECK(lmct_parse_pressure("cpu:1s", &res, &full, &stall, &window) == -EINVAL);
        CHECK(lmct_parse_pressure("cpu:half:1s/2s", &res, &full, &stall, &window) == -EINVAL);
        CHECK(lmct_parse_pressure("cpu", &res, &full, &stall, &window) == -EINVAL);
        CHECK(lmct_parse_pressure("cpux:1s/2s", &res, &full, &stall, &window) == -EINVAL);
        CHECK(lmct_parse_pressure("cpu:1s/2", &res, &full, &stall, &window) == -EINVAL);
}

TEST_MAIN(test_sizes(); test_cpu(); test_uint_cpuset(); test_page_sizes(); test_device_rules(); test_format();
          test_durations())

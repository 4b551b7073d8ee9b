/* Parsing and formatting of limit values, shared by lmctl, lmctld and agents. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* "max": no limit, on the wire and in these helpers. */
#define LMCT_MAX UINT64_MAX

#define LMCT_CPU_PERIOD_DEFAULT 100000
#define LMCT_CPU_PERIOD_MIN 1000
#define LMCT_CPU_PERIOD_MAX 1000000
#define LMCT_CPU_QUOTA_MIN 1000
#define LMCT_WEIGHT_MIN 1
#define LMCT_WEIGHT_MAX 10000
#define LMCT_HUGETLB_MAX 4      /* page sizes in one request */
#define LMCT_IO_DEVICES_MAX 8   /* block devices in one request */
#define LMCT_DEV_MAJOR_MAX 4095
#define LMCT_DEV_MINOR_MAX 1048575

/* Sizes in bytes: digits with an optional fraction and an optional binary
 * suffix K, M, G, T (case-insensitive, "512M", "1.5G"), or "max" when
 * ALLOW_MAX (stored as LMCT_MAX). -EINVAL on anything else, -ERANGE when
 * it does not fit 64 bits. */
int lmct_parse_size(const char *s, int allow_max, uint64_t *ret);

/* A huge page size: digits and K, M or G with an optional B,
 * case-insensitive ("2MB", "2M", "1gb"), a power of two of at least 4 KiB.
 * Its bytes in *RET; lmct_format_page_size gives the name the kernel uses
 * in hugetlb.<SIZE>.max ("2MB", "1GB"). */
int lmct_parse_page_size(const char *s, uint64_t *ret);
char *lmct_format_page_size(uint64_t bytes, char *buf, size_t len);

/* A device rule as cgroup v1's devices.allow wrote one: "TYPE MAJ:MIN
 * ACCESS", TYPE a, b or c, MAJ and MIN numbers or *, ACCESS letters of
 * rwm ("c 1:3 rw", "b 8:* r"); "a" alone is every device. The numbers are
 * -1 for *; ACCESS is a mask of LMCT_DEV_*. */
#define LMCT_DEV_MKNOD 1
#define LMCT_DEV_READ 2
#define LMCT_DEV_WRITE 4
#define LMCT_DEVICE_RULES_MAX 128
typedef struct lmct_device_rule {
        char type;
        int64_t major, minor;
        unsigned access;
} lmct_device_rule;
int lmct_parse_device_rule(const char *s, lmct_device_rule *ret);
char *lmct_format_device_rule(const lmct_device_rule *r, char *buf, size_t len);
/* "rwm" letters to a mask (-EINVAL: another letter, one twice, or none). */
int lmct_parse_device_access(const char *s, unsigned *ret);

/* CPUs as a decimal with up to three fractional digits ("6", "0.5"), in
 * thousandths; "max" gives LMCT_MAX. Zero and negatives are -EINVAL. */
int lmct_parse_cpu(const char *s, uint64_t *ret_millis);

/* A plain decimal integer in [MIN, MAX]; "max" gives LMCT_MAX if ALLOW_MAX. */
int lmct_parse_uint(const char *s, uint64_t min, uint64_t max, int allow_max, uint64_t *ret);

/* A cpuset list "0-3,6" (what cpuset.cpus takes); "" is valid (no
 * restriction). -EINVAL if malformed or a range is reversed. */
int lmct_parse_cpuset(const char *s);

/* "512M", "4G", "1.5G", "100" (bytes), "max". Exact when the value is a
 * whole number of the unit, otherwise one decimal, rounded down (so that
 * what is printed always parses back). Returns BUF. */
char *lmct_format_size(uint64_t v, char *buf, size_t len);

/* "6", "0.5", "0.125", "max". Returns BUF. */
char *lmct_format_cpu(uint64_t millis, char *buf, size_t len);

/* Kernel cpu.max value: quota and period to thousandths of a CPU (rounded
 * down; a quota below 1/1000 CPU gives 1) and back. */
uint64_t lmct_cpu_millis_from_quota(uint64_t quota_us, uint64_t period_us);
uint64_t lmct_cpu_quota_from_millis(uint64_t millis, uint64_t period_us);

/* A duration with its unit: "150ms", "1.5s", "500000us". -EINVAL without
 * a unit or below a microsecond, -ERANGE past 64 bits. */
int lmct_parse_duration_us(const char *s, uint64_t *ret);

/* A PSI trigger "RESOURCE[:some|:full]:STALL/WINDOW" ("memory:150ms/1s",
 * "cpu:full:50ms/500ms"): RESOURCE is cpu, memory or io (a static string
 * in *RET_RESOURCE), "some" by default. Syntax only: lmctld checks the
 * ranges. */
int lmct_parse_pressure(const char *s, const char **ret_resource, int *ret_full, uint64_t *ret_stall_us,
                        uint64_t *ret_window_us);

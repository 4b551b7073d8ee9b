/* The cgroup v2 backend. Every access is relative to an open directory fd:
 * no path is ever built from a client's string and then resolved from "/". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
        CG_CPU,
        CG_CPUSET,
        CG_MEMORY,
        CG_PIDS,
        CG_IO,
        CG_HUGETLB,
        _CG_MAX,
};
#define CG_MASK(c) (1u << (c))
#define CG_ALL ((1u << _CG_MAX) - 1)

const char *cg_controller_name(int c);
/* Space-separated controller names to a mask; unknown names are skipped. */
unsigned cg_parse_controllers(const char *s);

/* Opens directory RELPATH ("" for ROOTFD itself) below ROOTFD, refusing
 * symlinks and anything that resolves outside it. Returns an fd or -errno. */
int cg_open(int rootfd, const char *relpath);

/* Reads FILE in DIRFD into BUF (NUL-terminated, one trailing newline cut).
 * Returns the length or -errno. */
ssize_t cg_read(int dirfd, const char *file, char *buf, size_t len);
/* Reads a whole file of any size into a new buffer. */
int cg_read_all(int dirfd, const char *file, char **ret, size_t *ret_len);
/* The same for any file below DIRFD (not followed if a symlink), up to
 * about MAX bytes (-EFBIG past it), NUL-terminated. */
int read_all_at(int dirfd, const char *file, size_t max, char **ret, size_t *ret_len);
int cg_write(int dirfd, const char *file, const char *value);

/* The "some" or "full" line (KIND) of a *.pressure file's text. */
typedef struct cg_pressure {
        double avg10, avg60, avg300;
        uint64_t total_us;
} cg_pressure;
int cg_parse_pressure(const char *buf, const char *kind, cg_pressure *ret);
/* A single number, or "max" as UINT64_MAX. */
int cg_read_u64(int dirfd, const char *file, uint64_t *ret);
/* cpu.max of DIRFD ("QUOTA PERIOD", or "max PERIOD": *QUOTA UINT64_MAX);
 * -EINVAL for anything else, or a period of 0. */
int cg_read_cpu_max(int dirfd, uint64_t *quota, uint64_t *period);
/* The value of KEY in a flat-keyed file ("key value" lines: cpu.stat,
 * cgroup.events). -ENOENT if KEY is not there. */
int cg_read_key(int dirfd, const char *file, const char *key, uint64_t *ret);
/* The same, in a buffer already read. */
int cg_parse_key(const char *buf, const char *key, uint64_t *ret);

/* The huge page sizes this kernel offers, as hugetlb files name them
 * ("2MB"), at most CG_PAGE_SIZES_MAX: read once from /sys/kernel/mm/hugepages. */
#define CG_PAGE_SIZES_MAX 4
size_t cg_page_sizes(char (*names)[16]);
/* hugetlb.SIZE.current, .max (UINT64_MAX: none) and .events "max" of
 * DIRFD; -ENOENT where the controller is not enabled. */
typedef struct cg_hugetlb {
        uint64_t current, max, limit_hits;
        bool has_max, has_hits;
} cg_hugetlb;
int cg_read_hugetlb(int dirfd, const char *size, cg_hugetlb *ret);

/* Adds the controllers of MASK to DIRFD's cgroup.subtree_control. */
int cg_enable(int dirfd, unsigned mask);

/* cgroup.events "populated": 1 if any process is in the subtree, 0 if not. */
int cg_populated(int dirfd);

/* Removes directory NAME below PARENTFD and every directory below it,
 * bottom-up. Returns 0 or the -errno of the first rmdir that failed, with
 * the failing directory's name relative to PARENTFD in FAILED. */
int cg_rmtree(int parentfd, const char *name, char *failed, size_t failed_len);

/* Calls CB for each pid in DIRFD's cgroup.procs. */
int cg_for_each_pid(int dirfd, int (*cb)(pid_t pid, void *userdata), void *userdata);

/* The same for DIRFD's cgroup and every cgroup below it; a cgroup that
 * vanishes meanwhile is skipped. */
int cg_for_each_pid_below(int dirfd, int (*cb)(pid_t pid, void *userdata), void *userdata);

/* Calls CB for each subdirectory of DIRFD. */
int cg_for_each_child(int dirfd, int (*cb)(int dirfd, const char *name, void *userdata), void *userdata);

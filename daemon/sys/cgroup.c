#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lmct-limits.h"
#include "util.h"

static const char *const controller_names[_CG_MAX] = {
        [CG_CPU] = "cpu",
        [CG_CPUSET] = "cpuset",
        [CG_MEMORY] = "memory",
        [CG_PIDS] = "pids",
        [CG_IO] = "io",
        [CG_HUGETLB] = "hugetlb",
};

const char *cg_controller_name(int c) {
        return c >= 0 && c < _CG_MAX ? controller_names[c] : "?";
}

unsigned cg_parse_controllers(const char *s) {
        unsigned mask = 0;

        while (*s) {
                size_t n = strcspn(s, " \n");
                for (int c = 0; c < _CG_MAX; c++)
                        if (strlen(controller_names[c]) == n && strncmp(s, controller_names[c], n) == 0)
                                mask |= CG_MASK(c);
                s += n;
                s += strspn(s, " \n");
        }
        return mask;
}

static int open_walk(int rootfd, const char *relpath) {
        _cleanup_close_ int fd = -1;
        char comp[NAME_MAX + 1];
        const char *p = relpath;

        fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negerrno();
        while (*p) {
                size_t n = strcspn(p, "/");
                int next;
                if (n == 0 || n > NAME_MAX)
                        return -EINVAL;
                memcpy(comp, p, n);
                comp[n] = '\0';
                if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
                        return -EINVAL;
                next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (next < 0)
                        return negerrno();
                close(fd);
                fd = next;
                p += n;
                if (*p == '/')
                        p++;
        }
        return TAKE_FD(fd);
}

int cg_open(int rootfd, const char *relpath) {
        static int have_openat2 = 1;
        struct open_how how = {
                .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        long fd;

        if (!*relpath)
                relpath = ".";
        if (have_openat2) {
                fd = syscall(SYS_openat2, rootfd, relpath, &how, sizeof how);
                if (fd >= 0)
                        return (int)fd;
                if (errno != ENOSYS)
                        return negerrno();
                have_openat2 = 0;
        }
        return open_walk(rootfd, strcmp(relpath, ".") == 0 ? "" : relpath);
}

ssize_t cg_read(int dirfd, const char *file, char *buf, size_t len) {
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negerrno();
        n = read(fd, buf, len - 1);
        if (n < 0)
                return negerrno();
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = '\0';
        return n;
}

int read_all_at(int dirfd, const char *file, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 4096;

        fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negerrno();
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;
                if (cap - len < 2) {
                        char *nb;
                        if (cap >= max)
                                return -EFBIG;
                        nb = realloc(buf, cap * 2);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap *= 2;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negerrno();
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int cg_read_all(int dirfd, const char *file, char **ret, size_t *ret_len) {
        return read_all_at(dirfd, file, SIZE_MAX / 2, ret, ret_len);
}

int cg_write(int dirfd, const char *file, const char *value) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);
        ssize_t n;

        fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negerrno();
        n = write(fd, value, len);
        if (n < 0)
                return negerrno();
        return (size_t)n == len ? 0 : -EIO;
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || s[3] == ' ' || s[3] == '\n')) {
                *ret = LMCT_MAX;
                return 0;
        }
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || (*end && *end != ' ' && *end != '\n'))
                return -EINVAL;
        *ret = v;
        return 0;
}

int cg_read_u64(int dirfd, const char *file, uint64_t *ret) {
        char buf[64];
        ssize_t n = cg_read(dirfd, file, buf, sizeof buf);

        if (n < 0)
                return (int)n;
        return parse_u64(buf, ret);
}

int cg_read_cpu_max(int dirfd, uint64_t *quota, uint64_t *period) {
        char buf[64];
        unsigned long long q, p;
        ssize_t n = cg_read(dirfd, "cpu.max", buf, sizeof buf);

        if (n < 0)
                return (int)n;
        if (sscanf(buf, "max %llu", &p) == 1)
                q = UINT64_MAX;
        else if (sscanf(buf, "%llu %llu", &q, &p) != 2)
                return -EINVAL;
        if (p == 0)
                return -EINVAL;
        *quota = q;
        *period = p;
        return 0;
}

int cg_parse_key(const char *buf, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        for (const char *line = buf; line && *line;) {
                const char *nl = strchr(line, '\n');
                if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
                        return parse_u64(line + klen + 1, ret);
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

int cg_parse_pressure(const char *buf, const char *kind, cg_pressure *ret) {
        for (const char *line = buf; line && *line;) {
                const char *nl = strchr(line, '\n');
                char k[8];
                cg_pressure p;
                unsigned long long total;

                if (sscanf(line, "%7s avg10=%lf avg60=%lf avg300=%lf total=%llu", k, &p.avg10, &p.avg60, &p.avg300,
                           &total) == 5 &&
                    strcmp(k, kind) == 0) {
                        p.total_us = total;
                        *ret = p;
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

int cg_read_key(int dirfd, const char *file, const char *key, uint64_t *ret) {
        char buf[4096];
        ssize_t n = cg_read(dirfd, file, buf, sizeof buf);

        if (n < 0)
                return (int)n;
        return cg_parse_key(buf, key, ret);
}

size_t cg_page_sizes(char (*names)[16]) {
        static char cache[CG_PAGE_SIZES_MAX][16];
        static size_t n;
        static bool done;

        if (!done) {
                DIR *d = opendir("/sys/kernel/mm/hugepages");
                struct dirent *de;
                done = true;
                while (d && (de = readdir(d)) && n < CG_PAGE_SIZES_MAX) {
                        unsigned long long kb;
                        if (sscanf(de->d_name, "hugepages-%llukB", &kb) == 1 && kb > 0)
                                lmct_format_page_size((uint64_t)kb << 10, cache[n++], sizeof cache[0]);
                }
                if (d)
                        closedir(d);
        }
        memcpy(names, cache, sizeof cache);
        return n;
}

int cg_read_hugetlb(int dirfd, const char *size, cg_hugetlb *ret) {
        char file[48], buf[256];
        int r;

        *ret = (cg_hugetlb){ .max = UINT64_MAX };
        snprintf(file, sizeof file, "hugetlb.%s.current", size);
        r = cg_read_u64(dirfd, file, &ret->current);
        if (r < 0)
                return r;
        snprintf(file, sizeof file, "hugetlb.%s.events", size);
        ret->has_hits = cg_read(dirfd, file, buf, sizeof buf) >= 0 && cg_parse_key(buf, "max", &ret->limit_hits) >= 0;
        snprintf(file, sizeof file, "hugetlb.%s.max", size);
        ret->has_max = cg_read_u64(dirfd, file, &ret->max) >= 0;
        return 0;
}

int cg_enable(int dirfd, unsigned mask) {
        char buf[64];
        size_t n = 0;

        buf[0] = '\0';
        for (int c = 0; c < _CG_MAX; c++)
                if (mask & CG_MASK(c))
                        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s+%s", n ? " " : "", controller_names[c]);
        return n ? cg_write(dirfd, "cgroup.subtree_control", buf) : 0;
}

int cg_populated(int dirfd) {
        uint64_t v;
        int r = cg_read_key(dirfd, "cgroup.events", "populated", &v);

        return r < 0 ? r : v != 0;
}

int cg_for_each_child(int dirfd, int (*cb)(int dirfd, const char *name, void *userdata), void *userdata) {
        DIR *d;
        struct dirent *de;
        int fd, r = 0;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negerrno();
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                r = cb(dirfd, de->d_name, userdata);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

struct rm_ctx {
        char *failed;
        size_t failed_len;
};

static int rm_one(int parentfd, const char *name, void *userdata) {
        struct rm_ctx *ctx = userdata;
        _cleanup_close_ int fd = -1;
        int r;

        fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : negerrno();
        r = cg_for_each_child(fd, rm_one, ctx);
        if (r < 0)
                return r;
        if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                r = negerrno();
                if (ctx->failed && !ctx->failed[0])
                        snprintf(ctx->failed, ctx->failed_len, "%s", name);
                return r;
        }
        return 0;
}

int cg_rmtree(int parentfd, const char *name, char *failed, size_t failed_len) {
        struct rm_ctx ctx = { failed, failed_len };

        if (failed && failed_len)
                failed[0] = '\0';
        return rm_one(parentfd, name, &ctx);
}

int cg_for_each_pid(int dirfd, int (*cb)(pid_t pid, void *userdata), void *userdata) {
        _cleanup_free_ char *buf = NULL;
        char *p;
        int r;

        r = cg_read_all(dirfd, "cgroup.procs", &buf, NULL);
        if (r < 0)
                return r;
        for (p = buf; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                r = cb((pid_t)v, userdata);
                if (r < 0)
                        return r;
                p = end + strspn(end, "\n");
        }
        return 0;
}

struct pid_walk {
        int (*cb)(pid_t pid, void *userdata);
        void *userdata;
};

static int pid_walk_child(int dirfd, const char *name, void *userdata) {
        struct pid_walk *pw = userdata;
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return 0;
        return cg_for_each_pid_below(fd, pw->cb, pw->userdata);
}

int cg_for_each_pid_below(int dirfd, int (*cb)(pid_t pid, void *userdata), void *userdata) {
        struct pid_walk pw = { cb, userdata };
        int r;

        r = cg_for_each_pid(dirfd, cb, userdata);
        if (r < 0 && r != -ENOENT)
                return r;
        return cg_for_each_child(dirfd, pid_walk_child, &pw);
}

/* A command's root filesystem, set up in the child before it executes.
 *
 * An image is not to be trusted: a symlink in it ("evil -> /etc") must not
 * lead a mkdir, a file creation or a mount outside the root. So no path
 * below the root is ever walked by the kernel from the host's "/": each is
 * opened with openat2(RESOLVE_IN_ROOT) from a descriptor of the root, what
 * is missing is created one component at a time below a directory so
 * opened, and mounts land on the descriptor (/proc/self/fd/N), as crun
 * does. Bind sources are host paths by design (a bundle names them). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

#define FAIL(r, ...) ({ snprintf(step, steplen, __VA_ARGS__); (r); })

/* PATH (absolute or not: it is below ROOTFD either way) opened inside the
 * root ROOTFD, symlinks resolved as if ROOTFD were "/". */
static int open_in_root(int rootfd, const char *path, int flags) {
        struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd;

        while (*path == '/')
                path++;
        if (!*path)
                path = ".";
        fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
        return fd < 0 ? negerrno() : fd;
}

/* The path of a descriptor, for mount(2): the kernel follows the magic
 * link to exactly what the descriptor holds. */
static const char *fd_path(int fd, char *buf, size_t len) {
        snprintf(buf, len, "/proc/self/fd/%d", fd);
        return buf;
}

/* Component P of PATH (up to SLASH; CUT, if not NULL, is the '/' before
 * it) is a symlink in PARENT, a directory opened in the root: PATH becomes
 * its target followed by the rest, to be resolved again from the start
 * (-EAGAIN), still inside the root. */
static int through_link(int parent, char *path, size_t len, char *p, char *slash, char *cut) {
        char target[4096], rest[4096], saved = *slash;
        ssize_t n;

        *slash = '\0';
        n = readlinkat(parent, p, target, sizeof target - 1);
        *slash = saved;
        if (n <= 0)
                return n < 0 ? negerrno() : -ENOENT;
        target[n] = '\0';
        snprintf(rest, sizeof rest, "%s", slash);
        if (target[0] == '/')
                n = snprintf(path, len, "%s%s", target, rest);
        else {
                char dir[4096];
                if (cut)
                        *cut = '\0';
                snprintf(dir, sizeof dir, "%s", cut ? path : "");
                n = snprintf(path, len, "%s/%s%s", dir, target, rest);
        }
        return (size_t)n >= len ? -ENAMETOOLONG : -EAGAIN;
}

/* One pass of make_in_root over PATH. Returns a descriptor, a negative
 * errno, or -EAGAIN with PATH rewritten when a component is a symlink to
 * something missing: the symlink's target, read as the root sees it, with
 * the rest of the path after it, is what is to be made instead. */
static int make_once(int rootfd, char *path, size_t len, bool is_file) {
        char *p = path;

        for (;;) {
                _cleanup_close_ int parent = -1;
                char *slash, saved, *cut;
                struct stat sb;
                bool last;
                int fd;

                while (*p == '/')
                        p++;
                slash = p + strcspn(p, "/");
                last = *slash == '\0' || slash[strspn(slash, "/")] == '\0';
                saved = *slash;
                *slash = '\0';
                fd = open_in_root(rootfd, path, O_PATH | (last && is_file ? 0 : O_DIRECTORY));
                *slash = saved;
                if (fd >= 0 && !last) {
                        close(fd);
                        p = slash;
                        continue;
                }
                if (fd != -ENOENT)
                        return fd;
                /* Missing: made below its parent, itself opened in the root. */
                cut = p > path ? p - 1 : NULL;
                if (cut)
                        *cut = '\0';
                parent = open_in_root(rootfd, cut ? path : ".", O_PATH | O_DIRECTORY);
                if (cut)
                        *cut = '/';
                if (parent < 0)
                        return parent;
                *slash = '\0';
                if (fstatat(parent, p, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode)) {
                        *slash = saved;
                        return through_link(parent, path, len, p, slash, cut);
                }
                if (last && is_file) {
                        fd = openat(parent, p, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (fd >= 0)
                                close(fd);
                } else
                        fd = mkdirat(parent, p, 0755);
                *slash = saved;
                if (fd < 0 && errno != EEXIST)
                        return negerrno();
                /* Open what now exists, resolved in the root once more. */
                if (last) {
                        char keep = *slash;
                        *slash = '\0';
                        fd = open_in_root(rootfd, path, O_PATH | (is_file ? 0 : O_DIRECTORY));
                        *slash = keep;
                        return fd;
                }
                p = slash;
        }
}

/* Makes PATH inside the root, each missing component a directory (the last
 * an empty file with IS_FILE), and returns an O_PATH descriptor of it.
 * Symlinks are followed as the root sees them, never out of it. */
static int make_in_root(int rootfd, const char *path, bool is_file) {
        char buf[4096];

        if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
                return -ENAMETOOLONG;
        for (int hops = 0; hops < 40; hops++) {
                int r = make_once(rootfd, buf, sizeof buf, is_file);
                if (r != -EAGAIN)
                        return r;
        }
        return -ELOOP;
}

/* Mounts onto PATH inside the root, made if missing. */
static int mount_in_root(int rootfd, const char *path, bool is_file, const char *src, const char *type,
                         unsigned long flags, const char *data) {
        char where[32];
        _cleanup_close_ int fd = make_in_root(rootfd, path, is_file);

        if (fd < 0)
                return fd;
        return mount(src, fd_path(fd, where, sizeof where), type, flags, data) < 0 ? negerrno() : 0;
}

/* Remounts what is mounted at PATH inside the root with FLAGS. */
static int remount_in_root(int rootfd, const char *path, unsigned long flags) {
        char where[32];
        _cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH);

        if (fd < 0)
                return fd;
        return mount(NULL, fd_path(fd, where, sizeof where), NULL, flags, NULL) < 0 ? negerrno() : 0;
}

/* One mount of an OCI config. */
static int one_mount(int rootfd, const spawn_mount *mt, const char *bundle_dir, char *step, size_t steplen) {
        char src[4096];
        struct stat sb;
        bool is_file = false;
        int r;

        src[0] = '\0';
        if (mt->source) {
                bool abs = mt->source[0] == '/' || !bundle_dir;
                if ((size_t)snprintf(src, sizeof src, "%s%s%s", abs ? "" : bundle_dir, abs ? "" : "/", mt->source) >=
                    sizeof src)
                        return FAIL(-ENAMETOOLONG, "mount %s", mt->destination);
        }
        if (mt->bind) {
                is_file = stat(src, &sb) == 0 && !S_ISDIR(sb.st_mode);
                r = mount_in_root(rootfd, mt->destination, is_file, src, NULL, mt->flags | MS_BIND, NULL);
                if (r >= 0 && (mt->readonly || (mt->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC))))
                        r = remount_in_root(rootfd, mt->destination,
                                            MS_BIND | MS_REMOUNT | (mt->flags & ~(unsigned long)MS_REC) |
                                                    (mt->readonly ? MS_RDONLY : 0));
        } else if (strcmp(mt->type, "cgroup") == 0 || strcmp(mt->type, "cgroup2") == 0)
                r = mount_in_root(rootfd, mt->destination, false, "cgroup2", "cgroup2",
                                  mt->flags | (mt->readonly ? MS_RDONLY : 0), NULL);
        else
                r = mount_in_root(rootfd, mt->destination, false, src[0] ? src : mt->type, mt->type,
                                  mt->flags | (mt->readonly ? MS_RDONLY : 0), mt->data);
        return r < 0 ? FAIL(r, "mount %s", mt->destination) : 0;
}

/* The device nodes every container gets, bound from the host's, in the
 * root's /dev (itself a tmpfs by then). */
static int default_devices(int rootfd, char *step, size_t steplen) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = { { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
                                                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
                                                { "pts/ptmx", "ptmx" } };
        _cleanup_close_ int dev = open_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);

        if (dev < 0)
                return FAIL(dev, "set up /dev");
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                char host[32], where[32];
                struct stat sb;
                int fd;
                if (fstatat(dev, nodes[i], &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(sb.st_mode))
                        continue;
                fd = openat(dev, nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (fd < 0)
                        return FAIL(negerrno(), "create /dev/%s", nodes[i]);
                snprintf(host, sizeof host, "/dev/%s", nodes[i]);
                if (mount(host, fd_path(fd, where, sizeof where), NULL, MS_BIND, NULL) < 0) {
                        int r = negerrno();
                        close(fd);
                        return FAIL(r, "bind /dev/%s", nodes[i]);
                }
                close(fd);
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
                        return FAIL(negerrno(), "symlink /dev/%s", links[i][1]);
        (void)mkdirat(dev, "pts", 0755);
        (void)mkdirat(dev, "shm", 01777);
        return 0;
}

/* The directory DIR inside the root, each missing component made, none a
 * symlink: a device node lands where its path says, never through a link
 * of the image (into a directory bound from the host, say). */
static int device_dir(int rootfd, const char *dir) {
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        char buf[4096], *save = NULL, *comp;
        int fd = dup(rootfd);

        if (fd < 0)
                return negerrno();
        snprintf(buf, sizeof buf, "%s", dir);
        for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                int next = (int)syscall(SYS_openat2, fd, comp, &how, sizeof how);
                if (next < 0 && errno == ENOENT) {
                        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
                                int r = negerrno();
                                close(fd);
                                return r;
                        }
                        next = (int)syscall(SYS_openat2, fd, comp, &how, sizeof how);
                }
                if (next < 0) {
                        int r = negerrno();
                        close(fd);
                        return r;
                }
                close(fd);
                fd = next;
        }
        return fd;
}

/* A bundle's device nodes (linux.devices), as runc makes them: each with
 * mknod in its directory (made if missing), its mode exactly, then its
 * owner, given to the node just made (checked by type and number through
 * a descriptor, never by name again). A name that exists already is left
 * as it is. */
static int make_devices(int rootfd, const spawn_device *devs, size_t n, char *step, size_t steplen) {
        for (size_t i = 0; i < n; i++) {
                const spawn_device *d = &devs[i];
                char dir[4096];
                const char *base = strrchr(d->path, '/') + 1;
                mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
                dev_t rdev = d->type == 'p' ? 0 : makedev(d->major, d->minor);
                _cleanup_close_ int dirfd = -1, node = -1;
                struct stat sb;
                mode_t old;
                int r;

                snprintf(dir, sizeof dir, "%.*s", (int)(base - d->path), d->path);
                dirfd = device_dir(rootfd, dir);
                if (dirfd == -ELOOP)
                        return FAIL(dirfd, "make device %s: a directory on its path is a symlink", d->path);
                if (dirfd < 0)
                        return FAIL(dirfd, "make the directory of device %s", d->path);
                old = umask(0);
                r = mknodat(dirfd, base, type | (d->mode & 07777), rdev);
                umask(old);
                if (r < 0 && errno == EEXIST)
                        continue;
                if (r < 0)
                        return FAIL(negerrno(), "make device %s", d->path);
                if (!d->uid && !d->gid)
                        continue;
                node = openat(dirfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (node < 0 || fstat(node, &sb) < 0 || (sb.st_mode & S_IFMT) != type || sb.st_rdev != rdev)
                        return FAIL(-EEXIST, "make device %s: replaced while it was made", d->path);
                if (fchownat(node, "", d->uid, d->gid, AT_EMPTY_PATH) < 0)
                        return FAIL(negerrno(), "give device %s to %u:%u", d->path, (unsigned)d->uid, (unsigned)d->gid);
        }
        return 0;
}

/* /proc, a tmpfs /dev and a read-only /sys: a root without a bundle. */
static int default_mounts(int rootfd, char *step, size_t steplen) {
        int r;

        r = mount_in_root(rootfd, "proc", false, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if (r < 0)
                return FAIL(r, "mount /proc");
        r = mount_in_root(rootfd, "dev", false, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
        if (r < 0)
                return FAIL(r, "mount /dev");
        r = default_devices(rootfd, step, steplen);
        if (r < 0)
                return r;
        r = mount_in_root(rootfd, "sys", false, "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
        if (r < 0)
                r = mount_in_root(rootfd, "sys", false, "/sys", NULL, MS_BIND | MS_REC | MS_RDONLY, NULL);
        return r < 0 ? FAIL(r, "mount /sys") : 0;
}

/* maskedPaths and readonlyPaths (resolved in the root, where its own
 * /proc is mounted by now), and a read-only root. */
static int mask_and_protect(int root, const spawn_spec *sp, char *step, size_t steplen) {
        char where[32];
        int r;

        for (size_t i = 0; i < sp->n_masked; i++) {
                _cleanup_close_ int fd = open_in_root(root, sp->masked[i], O_PATH);
                struct stat sb;
                if (fd < 0 || fstat(fd, &sb) < 0)
                        continue;
                if (S_ISDIR(sb.st_mode))
                        r = mount("tmpfs", fd_path(fd, where, sizeof where), "tmpfs", MS_RDONLY, "size=0");
                else
                        r = mount("/dev/null", fd_path(fd, where, sizeof where), NULL, MS_BIND, NULL);
                if (r < 0)
                        return FAIL(negerrno(), "mask %s", sp->masked[i]);
        }
        for (size_t i = 0; i < sp->n_readonly; i++) {
                _cleanup_close_ int fd = open_in_root(root, sp->readonly_paths[i], O_PATH);
                if (fd < 0)
                        continue;
                if (mount(fd_path(fd, where, sizeof where), where, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return FAIL(negerrno(), "make %s read-only", sp->readonly_paths[i]);
                r = remount_in_root(root, sp->readonly_paths[i], MS_BIND | MS_REMOUNT | MS_RDONLY);
                if (r < 0)
                        return FAIL(r, "make %s read-only", sp->readonly_paths[i]);
        }
        if (sp->root_readonly && (r = remount_in_root(root, ".", MS_BIND | MS_REMOUNT | MS_RDONLY)) < 0)
                return FAIL(r, "make the root read-only");
        return 0;
}

int spawn_setup_root(const spawn_spec *sp, char *step, size_t steplen) {
        _cleanup_close_ int rootfd = -1;
        bool dev_mounted = false;
        int r;

        rootfd = open(sp->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return FAIL(negerrno(), "use %s as the root directory", sp->rootfs);
        close(TAKE_FD(rootfd));
        if (mount(sp->rootfs, sp->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return FAIL(negerrno(), "bind-mount the root directory %s", sp->rootfs);
        rootfd = open(sp->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return FAIL(negerrno(), "open the root directory %s", sp->rootfs);
        if (sp->mounts) {
                for (size_t i = 0; i < sp->n_mounts; i++) {
                        r = one_mount(rootfd, &sp->mounts[i], sp->bundle_dir, step, steplen);
                        if (r < 0)
                                return r;
                        if (strcmp(sp->mounts[i].destination, "/dev") == 0)
                                dev_mounted = true;
                }
                if (!dev_mounted &&
                    (r = mount_in_root(rootfd, "dev", false, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                                       "mode=755,size=65536k")) < 0)
                        return FAIL(r, "mount /dev");
                r = default_devices(rootfd, step, steplen);
        } else
                r = default_mounts(rootfd, step, steplen);
        if (r >= 0)
                r = make_devices(rootfd, sp->devices, sp->n_devices, step, steplen);
        if (r < 0 || (r = mask_and_protect(rootfd, sp, step, steplen)) < 0)
                return r;
        if (fchdir(rootfd) < 0)
                return FAIL(negerrno(), "enter the root directory");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return FAIL(negerrno(), "pivot_root");
        if (umount2(".", MNT_DETACH) < 0)
                return FAIL(negerrno(), "detach the old root");
        if (chdir("/") < 0)
                return FAIL(negerrno(), "chdir /");
        return 0;
}

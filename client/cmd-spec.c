/* spec: a default OCI config.json, as `runc spec` writes one, that lmctl
 * and crun both run unchanged once DIR/rootfs holds a root filesystem. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lmctl.h"

static json_object *strings(const char *const *v) {
        json_object *a = json_object_new_array();

        for (; *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static json_object *mount_entry(const char *dest, const char *type, const char *src, const char *const *opts) {
        json_object *m = json_object_new_object();

        json_object_object_add(m, "destination", json_object_new_string(dest));
        json_object_object_add(m, "type", json_object_new_string(type));
        json_object_object_add(m, "source", json_object_new_string(src));
        if (opts)
                json_object_object_add(m, "options", strings(opts));
        return m;
}

static json_object *default_spec(void) {
        static const char *const args[] = { "sh", NULL };
        static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                           "TERM=xterm", NULL };
        static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
        static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                              "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                              "/proc/sched_debug", "/sys/firmware", "/proc/scsi", NULL };
        static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
                                          NULL };
        static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", NULL };
        json_object *o = json_object_new_object(), *p = json_object_new_object(), *u = json_object_new_object();
        json_object *c = json_object_new_object(), *rl = json_object_new_object(), *root = json_object_new_object();
        json_object *mounts = json_object_new_array(), *lx = json_object_new_object(), *nss = json_object_new_array();
        json_object *rls = json_object_new_array();

        json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
        json_object_object_add(p, "terminal", json_object_new_boolean(0));
        json_object_object_add(u, "uid", json_object_new_int(0));
        json_object_object_add(u, "gid", json_object_new_int(0));
        json_object_object_add(p, "user", u);
        json_object_object_add(p, "args", strings(args));
        json_object_object_add(p, "env", strings(env));
        json_object_object_add(p, "cwd", json_object_new_string("/"));
        json_object_object_add(c, "bounding", strings(caps));
        json_object_object_add(c, "effective", strings(caps));
        json_object_object_add(c, "permitted", strings(caps));
        json_object_object_add(c, "inheritable", strings(caps));
        json_object_object_add(c, "ambient", strings(caps));
        json_object_object_add(p, "capabilities", c);
        json_object_object_add(rl, "type", json_object_new_string("RLIMIT_NOFILE"));
        json_object_object_add(rl, "hard", json_object_new_int(1024));
        json_object_object_add(rl, "soft", json_object_new_int(1024));
        json_object_array_add(rls, rl);
        json_object_object_add(p, "rlimits", rls);
        json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
        json_object_object_add(o, "process", p);
        json_object_object_add(root, "path", json_object_new_string("rootfs"));
        json_object_object_add(root, "readonly", json_object_new_boolean(1));
        json_object_object_add(o, "root", root);
        json_object_object_add(o, "hostname", json_object_new_string("lmct"));
        json_object_array_add(mounts, mount_entry("/proc", "proc", "proc", NULL));
        json_object_array_add(mounts, mount_entry("/dev", "tmpfs", "tmpfs",
                (const char *const[]){ "nosuid", "strictatime", "mode=755", "size=65536k", NULL }));
        json_object_array_add(mounts, mount_entry("/dev/pts", "devpts", "devpts",
                (const char *const[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL }));
        json_object_array_add(mounts, mount_entry("/dev/shm", "tmpfs", "shm",
                (const char *const[]){ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL }));
        json_object_array_add(mounts, mount_entry("/dev/mqueue", "mqueue", "mqueue",
                (const char *const[]){ "nosuid", "noexec", "nodev", NULL }));
        json_object_array_add(mounts, mount_entry("/sys", "sysfs", "sysfs",
                (const char *const[]){ "nosuid", "noexec", "nodev", "ro", NULL }));
        json_object_array_add(mounts, mount_entry("/sys/fs/cgroup", "cgroup", "cgroup",
                (const char *const[]){ "nosuid", "noexec", "nodev", "relatime", "ro", NULL }));
        json_object_object_add(o, "mounts", mounts);
        for (const char *const *t = ns; *t; t++) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "type", json_object_new_string(*t));
                json_object_array_add(nss, e);
        }
        json_object_object_add(lx, "namespaces", nss);
        {
                /* As runc spec: every device denied but the defaults lmctld adds. */
                json_object *res = json_object_new_object(), *devs = json_object_new_array(),
                            *deny = json_object_new_object();
                json_object_object_add(deny, "allow", json_object_new_boolean(0));
                json_object_object_add(deny, "access", json_object_new_string("rwm"));
                json_object_array_add(devs, deny);
                json_object_object_add(res, "devices", devs);
                json_object_object_add(lx, "resources", res);
        }
        json_object_object_add(lx, "maskedPaths", strings(masked));
        json_object_object_add(lx, "readonlyPaths", strings(ro));
        json_object_object_add(o, "linux", lx);
        return o;
}

int cmd_spec(ctx *c, int argc, char **argv) {
        static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
        const char *dir = ".";
        json_object *o;
        const char *text;
        int dfd, fd, o_;
        ssize_t n;

        while ((o_ = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                cmd_usage(c->verb);
                return o_ == 'h' ? EXIT_OK : EXIT_USAGE;
        }
        if (argc - optind > 1)
                return usage_error(c, "give at most one directory");
        if (optind < argc)
                dir = argv[optind];
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                fprintf(stderr, "lmctl: spec: %s: %s\n", dir, strerror(errno));
                return EXIT_FAILURE_;
        }
        fd = openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        close(dfd);
        if (fd < 0) {
                fprintf(stderr, "lmctl: spec: %s/config.json: %s\n", dir, strerror(errno));
                return errno == EEXIST ? EXIT_EXISTS : EXIT_FAILURE_;
        }
        o = default_spec();
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        n = write(fd, text, strlen(text));
        if (n >= 0)
                n = write(fd, "\n", 1);
        close(fd);
        json_object_put(o);
        if (n < 0) {
                fprintf(stderr, "lmctl: spec: writing %s/config.json: %s\n", dir, strerror(errno));
                return EXIT_FAILURE_;
        }
        return EXIT_OK;
}

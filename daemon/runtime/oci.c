#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "climits.h"
#include "devrules.h"
#include "lmct-limits.h"
#include "util.h"

#define CONFIG_MAX (4u << 20)

struct oci_bundle {
        char *dir;               /* the bundle: relative bind sources are below it */
        char *rootfs;
        char **argv, **envp;
        char *cwd;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char *hostname;
        int ns_flags;
        spawn_mount *mounts;
        size_t n_mounts;
        spawn_device *devices;
        size_t n_devices;
        char **masked, **readonly;
        size_t n_masked, n_readonly;
        bool root_readonly, no_new_privs;
        spawn_rlimit *rlimits;
        size_t n_rlimits;
        spawn_caps caps;
        bool has_caps;
        int oom_score_adj;
        bool has_oom;
        Lmct__V1__Limits limits;
        char *cpuset, *cpuset_mems;
};

#define BAD(st, ...) st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, __VA_ARGS__)

static json_object *get(json_object *o, const char *k) {
        json_object *v = NULL;
        return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* Every key of O must be in ALLOWED; AT names O for the message. */
static int only_keys(json_object *o, const char *at, const char *const *allowed, status *st) {
        if (!json_object_is_type(o, json_type_object))
                return BAD(st, "bundle: %s must be an object", *at ? at : "the config");
        json_object_object_foreach(o, key, val) {
                bool ok = false;
                (void)val;
                for (const char *const *a = allowed; *a; a++)
                        if (strcmp(*a, key) == 0)
                                ok = true;
                if (!ok)
                        return BAD(st, "bundle: %s%s%s is not supported by lmctld", at, *at ? "." : "", key);
        }
        return 0;
}

/* An array field that must be absent or empty. */
static int must_be_empty(json_object *o, const char *k, const char *at, status *st) {
        json_object *v = get(o, k);

        if (!v || json_object_get_type(v) == json_type_null)
                return 0;
        if ((json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0) ||
            (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0) ||
            (json_object_is_type(v, json_type_string) && !*json_object_get_string(v)))
                return 0;
        return BAD(st, "bundle: %s.%s is not supported by lmctld", at, k);
}

static int str_array(json_object *a, const char *at, char ***ret, size_t *ret_n, status *st) {
        size_t n;
        char **v;

        if (!a) {
                *ret = calloc(1, sizeof **ret);
                if (ret_n)
                        *ret_n = 0;
                return *ret ? 0 : -ENOMEM;
        }
        if (!json_object_is_type(a, json_type_array))
                return BAD(st, "bundle: %s must be an array of strings", at);
        n = json_object_array_length(a);
        v = calloc(n + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string)) {
                        for (size_t k = 0; k < i; k++)
                                free(v[k]);
                        free(v);
                        return BAD(st, "bundle: %s[%zu] must be a string", at, i);
                }
                v[i] = strdup(json_object_get_string(e));
        }
        *ret = v;
        if (ret_n)
                *ret_n = n;
        return 0;
}

static void strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

static int parse_caps(json_object *c, spawn_caps *caps, status *st) {
        static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable", "ambient", NULL };
        uint64_t *dst[] = { &caps->bounding, &caps->effective, &caps->permitted, &caps->inheritable, &caps->ambient };
        int r = only_keys(c, "process.capabilities", sets, st);

        if (r < 0)
                return r;
        for (size_t i = 0; sets[i]; i++) {
                json_object *a = get(c, sets[i]);
                size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
                for (size_t k = 0; k < n; k++) {
                        const char *name = json_object_get_string(json_object_array_get_idx(a, k));
                        char lower[64];
                        cap_value_t v;
                        size_t j;
                        for (j = 0; name && name[j] && j < sizeof lower - 1; j++)
                                lower[j] = (char)(name[j] >= 'A' && name[j] <= 'Z' ? name[j] + 32 : name[j]);
                        lower[j] = '\0';
                        if (!name || cap_from_name(lower, &v) < 0 || v > 63)
                                return BAD(st, "bundle: process.capabilities.%s: unknown capability %s", sets[i],
                                           name ? name : "(not a string)");
                        *dst[i] |= UINT64_C(1) << v;
                }
        }
        return 0;
}

static int parse_rlimits(json_object *a, oci_bundle *b, status *st) {
        static const struct { const char *name; int res; } names[] = {
                { "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_DATA", RLIMIT_DATA },
                { "RLIMIT_STACK", RLIMIT_STACK }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_RSS", RLIMIT_RSS },
                { "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_NOFILE", RLIMIT_NOFILE },
                { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_LOCKS", RLIMIT_LOCKS },
                { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
                { "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
        };
        size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

        b->rlimits = calloc(n ? n : 1, sizeof *b->rlimits);
        if (!b->rlimits)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                const char *type = json_object_get_string(get(e, "type"));
                size_t k;
                for (k = 0; k < ELEMENTSOF(names); k++)
                        if (type && strcmp(type, names[k].name) == 0)
                                break;
                if (k == ELEMENTSOF(names))
                        return BAD(st, "bundle: process.rlimits[%zu]: unknown type %s", i, type ? type : "(none)");
                b->rlimits[i].resource = names[k].res;
                b->rlimits[i].soft = (unsigned long long)json_object_get_int64(get(e, "soft"));
                b->rlimits[i].hard = (unsigned long long)json_object_get_int64(get(e, "hard"));
                b->n_rlimits = i + 1;
        }
        return 0;
}

static int parse_process(json_object *p, oci_bundle *b, status *st) {
        static const char *const keys[] = { "terminal", "consoleSize", "user", "args", "env", "cwd", "capabilities",
                                            "rlimits", "noNewPrivileges", "apparmorProfile", "oomScoreAdj",
                                            "selinuxLabel", NULL };
        static const char *const user_keys[] = { "uid", "gid", "additionalGids", "umask", "username", NULL };
        json_object *u, *v;
        size_t n;
        int r;

        if (!p || !json_object_is_type(p, json_type_object))
                return BAD(st, "bundle: process is missing");
        if ((r = only_keys(p, "process", keys, st)) < 0)
                return r;
        if (json_object_get_boolean(get(p, "terminal")))
                return BAD(st, "bundle: process.terminal true is not supported by lmctld (it passes the caller's stdio)");
        if ((r = must_be_empty(p, "apparmorProfile", "process", st)) < 0 ||
            (r = must_be_empty(p, "selinuxLabel", "process", st)) < 0)
                return r;
        if ((r = str_array(get(p, "args"), "process.args", &b->argv, &n, st)) < 0)
                return r;
        if (n == 0)
                return BAD(st, "bundle: process.args is empty");
        if ((r = str_array(get(p, "env"), "process.env", &b->envp, NULL, st)) < 0)
                return r;
        v = get(p, "cwd");
        if (!v || !json_object_is_type(v, json_type_string) || json_object_get_string(v)[0] != '/')
                return BAD(st, "bundle: process.cwd must be an absolute path");
        b->cwd = strdup(json_object_get_string(v));
        u = get(p, "user");
        if (u) {
                json_object *g = get(u, "additionalGids");
                if ((r = only_keys(u, "process.user", user_keys, st)) < 0)
                        return r;
                if (get(u, "umask") || get(u, "username"))
                        return BAD(st, "bundle: process.user.%s is not supported by lmctld",
                                   get(u, "umask") ? "umask" : "username");
                b->uid = (uid_t)json_object_get_int64(get(u, "uid"));
                b->gid = (gid_t)json_object_get_int64(get(u, "gid"));
                n = g && json_object_is_type(g, json_type_array) ? json_object_array_length(g) : 0;
                b->groups = calloc(n ? n : 1, sizeof *b->groups);
                if (!b->groups)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        b->groups[i] = (gid_t)json_object_get_int64(json_object_array_get_idx(g, i));
                b->n_groups = n;
        }
        if ((v = get(p, "capabilities"))) {
                if ((r = parse_caps(v, &b->caps, st)) < 0)
                        return r;
                b->has_caps = true;
        }
        if ((v = get(p, "rlimits")) && (r = parse_rlimits(v, b, st)) < 0)
                return r;
        b->no_new_privs = json_object_get_boolean(get(p, "noNewPrivileges"));
        if ((v = get(p, "oomScoreAdj"))) {
                b->has_oom = true;
                b->oom_score_adj = json_object_get_int(v);
        }
        return 0;
}

static int parse_mount_options(json_object *opts, spawn_mount *m, status *st, size_t idx) {
        static const struct { const char *name; unsigned long set, clear; } flags[] = {
                { "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY }, { "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
                { "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV }, { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
                { "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS }, { "dirsync", MS_DIRSYNC, 0 },
                { "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME }, { "nodiratime", MS_NODIRATIME, 0 },
                { "diratime", 0, MS_NODIRATIME }, { "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
                { "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
                { "bind", MS_BIND, 0 }, { "rbind", MS_BIND | MS_REC, 0 },
                /* lmctld makes every mount private; these ask for no more. */
                { "private", 0, 0 }, { "rprivate", 0, 0 }, { "slave", 0, 0 }, { "rslave", 0, 0 },
        };
        size_t n = opts && json_object_is_type(opts, json_type_array) ? json_object_array_length(opts) : 0;
        char data[1024] = "";

        for (size_t i = 0; i < n; i++) {
                const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
                size_t k;
                if (!o)
                        continue;
                for (k = 0; k < ELEMENTSOF(flags); k++)
                        if (strcmp(o, flags[k].name) == 0)
                                break;
                if (k < ELEMENTSOF(flags)) {
                        m->flags = (m->flags | flags[k].set) & ~flags[k].clear;
                        continue;
                }
                if (!strcmp(o, "shared") || !strcmp(o, "rshared") || !strcmp(o, "tmpcopyup") || !strcmp(o, "idmap") ||
                    !strcmp(o, "unbindable") || !strcmp(o, "runbindable"))
                        return BAD(st, "bundle: mounts[%zu]: option %s is not supported by lmctld", idx, o);
                if (strlen(data) + strlen(o) + 2 >= sizeof data)
                        return BAD(st, "bundle: mounts[%zu]: options too long", idx);
                if (data[0])
                        strcat(data, ",");
                strcat(data, o);
        }
        m->bind = (m->flags & MS_BIND) != 0;
        m->readonly = (m->flags & MS_RDONLY) != 0;
        m->flags &= ~(unsigned long)(MS_BIND | MS_RDONLY);
        if (m->bind)
                m->flags &= MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        m->data = data[0] ? strdup(data) : NULL;
        return 0;
}

static int parse_mounts(json_object *a, oci_bundle *b, status *st) {
        static const char *const keys[] = { "destination", "type", "source", "options", "uidMappings", "gidMappings",
                                            NULL };
        size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

        b->mounts = calloc(n ? n : 1, sizeof *b->mounts);
        if (!b->mounts)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                spawn_mount *m = &b->mounts[i];
                const char *dest = json_object_get_string(get(e, "destination"));
                const char *type = json_object_get_string(get(e, "type"));
                char at[32];
                int r;
                snprintf(at, sizeof at, "mounts[%zu]", i);
                if ((r = only_keys(e, at, keys, st)) < 0 || (r = must_be_empty(e, "uidMappings", at, st)) < 0 ||
                    (r = must_be_empty(e, "gidMappings", at, st)) < 0)
                        return r;
                if (!dest || dest[0] != '/' || strstr(dest, ".."))
                        return BAD(st, "bundle: mounts[%zu].destination must be an absolute path without ..", i);
                m->destination = strdup(dest);
                m->type = strdup(type ? type : "none");
                m->source = get(e, "source") ? strdup(json_object_get_string(get(e, "source"))) : NULL;
                b->n_mounts = i + 1;
                if ((r = parse_mount_options(get(e, "options"), m, st, i)) < 0)
                        return r;
                if (!m->bind && !strcmp(m->type, "bind"))
                        m->bind = true;
        }
        return 0;
}

static int parse_namespaces(json_object *a, oci_bundle *b, status *st) {
        static const struct { const char *name; int flag; } types[] = {
                { "pid", CLONE_NEWPID }, { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
                { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "cgroup", CLONE_NEWCGROUP },
        };
        size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                const char *type = json_object_get_string(get(e, "type"));
                size_t k;
                if (get(e, "path"))
                        return BAD(st, "bundle: linux.namespaces[%zu].path (joining an existing namespace) is not "
                                       "supported by lmctld", i);
                for (k = 0; k < ELEMENTSOF(types); k++)
                        if (type && strcmp(type, types[k].name) == 0)
                                break;
                if (k == ELEMENTSOF(types))
                        return BAD(st, "bundle: linux.namespaces[%zu]: namespace type %s is not supported by lmctld", i,
                                   type ? type : "(none)");
                b->ns_flags |= types[k].flag;
        }
        return 0;
}

/* A blkio weight (10..1000, cgroup v1's scale) to io.weight (1..10000),
 * as runc and crun convert it. */
static int blkio_weight(json_object *v, const char *at, uint64_t *ret, status *st) {
        int64_t w = json_object_get_int64(v);

        if (!json_object_is_type(v, json_type_int) || w < 10 || w > 1000)
                return BAD(st, "bundle: %s is %s: give a blkio weight, 10..1000", at, json_object_to_json_string(v));
        *ret = 1 + (uint64_t)(w - 10) * 9999 / 990;
        return 0;
}

/* A {major, minor} of linux.resources.blockIO to its entry in L. */
static int block_device(json_object *e, const char *at, Lmct__V1__Limits *l, Lmct__V1__IoDeviceLimit **ret,
                        status *st) {
        json_object *maj = get(e, "major"), *min = get(e, "minor");
        bool known = false;

        if (!json_object_is_type(e, json_type_object) || !json_object_is_type(maj, json_type_int) ||
            !json_object_is_type(min, json_type_int) || json_object_get_int64(maj) < 0 ||
            json_object_get_int64(maj) > LMCT_DEV_MAJOR_MAX || json_object_get_int64(min) < 0 ||
            json_object_get_int64(min) > LMCT_DEV_MINOR_MAX)
                return BAD(st, "bundle: %s needs a device's major and minor numbers", at);
        for (size_t i = 0; i < l->n_io_devices; i++)
                if (l->io_devices[i]->major == json_object_get_int64(maj) &&
                    l->io_devices[i]->minor == json_object_get_int64(min))
                        known = true;
        if (!known && l->n_io_devices == LMCT_IO_DEVICES_MAX)
                return BAD(st, "bundle: linux.resources.blockIO names more than %d devices", LMCT_IO_DEVICES_MAX);
        *ret = climits_io_device(l, (uint32_t)json_object_get_int64(maj), (uint32_t)json_object_get_int64(min));
        return *ret ? 0 : -ENOMEM;
}

/* linux.resources.blockIO: the default weight, device weights and the
 * throttles (a rate of 0 is no limit, as on cgroup v1). */
static int parse_block_io(json_object *bio, Lmct__V1__Limits *l, status *st) {
        static const char *const keys[] = { "weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
                                            "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                                            "throttleWriteIOPSDevice", NULL };
        static const char *const throttles[] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
                                                 "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
        json_object *v, *a;
        char at[96];
        int r;

        if ((r = only_keys(bio, "linux.resources.blockIO", keys, st)) < 0)
                return r;
        if ((v = get(bio, "leafWeight")) && json_object_get_int64(v) != 0)
                return BAD(st, "bundle: linux.resources.blockIO.leafWeight has no cgroup v2 counterpart");
        if ((v = get(bio, "weight")) && json_object_get_int64(v) != 0) {
                if ((r = blkio_weight(v, "linux.resources.blockIO.weight", &l->io_weight, st)) < 0)
                        return r;
                l->has_io_weight = true;
        }
        if ((a = get(bio, "weightDevice")) && !json_object_is_type(a, json_type_array))
                return BAD(st, "bundle: linux.resources.blockIO.weightDevice must be an array");
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                Lmct__V1__IoDeviceLimit *d;
                snprintf(at, sizeof at, "linux.resources.blockIO.weightDevice[%zu]", i);
                if ((r = block_device(e, at, l, &d, st)) < 0)
                        return r;
                if ((v = get(e, "leafWeight")) && json_object_get_int64(v) != 0)
                        return BAD(st, "bundle: %s.leafWeight has no cgroup v2 counterpart", at);
                if ((v = get(e, "weight"))) {
                        snprintf(at + strlen(at), sizeof at - strlen(at), ".weight");
                        if ((r = blkio_weight(v, at, &d->weight, st)) < 0)
                                return r;
                        d->has_weight = true;
                }
        }
        for (size_t t = 0; t < ELEMENTSOF(throttles); t++) {
                if (!(a = get(bio, throttles[t])))
                        continue;
                if (!json_object_is_type(a, json_type_array))
                        return BAD(st, "bundle: linux.resources.blockIO.%s must be an array", throttles[t]);
                for (size_t i = 0; i < json_object_array_length(a); i++) {
                        json_object *e = json_object_array_get_idx(a, i), *rate;
                        Lmct__V1__IoDeviceLimit *d;
                        uint64_t val;
                        snprintf(at, sizeof at, "linux.resources.blockIO.%s[%zu]", throttles[t], i);
                        if ((r = block_device(e, at, l, &d, st)) < 0)
                                return r;
                        rate = get(e, "rate");
                        if (!json_object_is_type(rate, json_type_int) || json_object_get_int64(rate) < 0)
                                return BAD(st, "bundle: %s.rate must be an integer, 0 or more", at);
                        val = json_object_get_uint64(rate);
                        val = val == 0 ? LMCT_MAX : val;
                        switch (t) {
                        case 0: d->has_rbps = true; d->rbps = val; break;
                        case 1: d->has_wbps = true; d->wbps = val; break;
                        case 2: d->has_riops = true; d->riops = val; break;
                        default: d->has_wiops = true; d->wiops = val; break;
                        }
                }
        }
        return 0;
}

/* linux.resources.hugepageLimits: [{pageSize "2MB", limit bytes}]. */
static int parse_hugepages(json_object *a, Lmct__V1__Limits *l, status *st) {
        if (!json_object_is_type(a, json_type_array))
                return BAD(st, "bundle: linux.resources.hugepageLimits must be an array");
        if (json_object_array_length(a) > LMCT_HUGETLB_MAX)
                return BAD(st, "bundle: linux.resources.hugepageLimits has more than %d page sizes", LMCT_HUGETLB_MAX);
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i), *size = get(e, "pageSize"), *lim = get(e, "limit");
                uint64_t bytes;
                char canon[16];
                if (!json_object_is_type(size, json_type_string) ||
                    lmct_parse_page_size(json_object_get_string(size), &bytes) < 0)
                        return BAD(st, "bundle: linux.resources.hugepageLimits[%zu].pageSize must be a page size "
                                       "such as 2MB", i);
                if (!json_object_is_type(lim, json_type_int) || json_object_get_int64(lim) < 0)
                        return BAD(st, "bundle: linux.resources.hugepageLimits[%zu].limit must be bytes, 0 or more", i);
                if (!climits_hugetlb_add(l, lmct_format_page_size(bytes, canon, sizeof canon),
                                         json_object_get_uint64(lim)))
                        return -ENOMEM;
        }
        return 0;
}

/* The devices a container always has, allowed after a bundle's own rules
 * as runc and crun allow them: mknod of any node, and null, zero, full,
 * random, urandom, tty, ptmx and the pseudo-terminals, tun. */
static const lmct_device_rule default_devices[] = {
        { 'c', -1, -1, LMCT_DEV_MKNOD }, { 'b', -1, -1, LMCT_DEV_MKNOD },
#define RWM (LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD)
        { 'c', 1, 3, RWM }, { 'c', 1, 5, RWM }, { 'c', 1, 7, RWM }, { 'c', 1, 8, RWM }, { 'c', 1, 9, RWM },
        { 'c', 5, 0, RWM }, { 'c', 5, 2, RWM }, { 'c', 136, -1, RWM }, { 'c', 10, 200, RWM },
#undef RWM
};

static int add_device_rule(Lmct__V1__DeviceRules *d, bool allow, const lmct_device_rule *dr) {
        Lmct__V1__DeviceRule *r = devrules_rule_message(dr, allow);

        if (!r)
                return -ENOMEM;
        d->rules[d->n_rules++] = r;
        return 0;
}

/* linux.devices: nodes made in the container's root. */
#define OCI_DEVICES_MAX 64

/* An integer field K of E in MIN..MAX, or absent (*RET = DEF). */
static int int_field(json_object *e, const char *k, int64_t min, int64_t max, int64_t def, int64_t *ret) {
        json_object *v = get(e, k);

        *ret = def;
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min || json_object_get_int64(v) > max)
                return -EINVAL;
        *ret = json_object_get_int64(v);
        return 0;
}

/* An absolute path to a file: no component "." or "..", no trailing '/'. */
static bool node_path_ok(const char *path) {
        size_t len = strlen(path);

        if (path[0] != '/' || len >= 4096 || path[len - 1] == '/')
                return false;
        for (const char *p = path; *p;) {
                size_t n;
                while (*p == '/')
                        p++;
                n = strcspn(p, "/");
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n;
        }
        return true;
}

static int parse_nodes(json_object *a, oci_bundle *b, status *st) {
        static const char *const keys[] = { "path", "type", "major", "minor", "fileMode", "uid", "gid", NULL };
        size_t n;

        if (!a || json_object_get_type(a) == json_type_null)
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return BAD(st, "bundle: linux.devices must be an array");
        n = json_object_array_length(a);
        if (n > OCI_DEVICES_MAX)
                return BAD(st, "bundle: linux.devices has more than %d devices", OCI_DEVICES_MAX);
        b->devices = calloc(n ? n : 1, sizeof *b->devices);
        if (!b->devices)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i), *pv, *tv;
                spawn_device *d = &b->devices[i];
                const char *path, *t;
                int64_t major, minor, mode, uid, gid;
                char at[32];
                int r;

                snprintf(at, sizeof at, "linux.devices[%zu]", i);
                if ((r = only_keys(e, at, keys, st)) < 0)
                        return r;
                pv = get(e, "path");
                path = json_object_get_string(pv);
                if (!json_object_is_type(pv, json_type_string) || !node_path_ok(path))
                        return BAD(st, "bundle: %s.path must be an absolute path to a file, without . or ..", at);
                tv = get(e, "type");
                t = json_object_get_string(tv);
                if (!json_object_is_type(tv, json_type_string) || strlen(t) != 1 || !strchr("cbup", t[0]))
                        return BAD(st, "bundle: %s.type must be c, b, u or p", at);
                d->type = t[0] == 'u' ? 'c' : t[0];
                if (d->type != 'p' && (!get(e, "major") || !get(e, "minor")))
                        return BAD(st, "bundle: %s needs major and minor", at);
                if (int_field(e, "major", 0, LMCT_DEV_MAJOR_MAX, 0, &major) < 0)
                        return BAD(st, "bundle: %s.major is not a major number (0 to %d)", at, LMCT_DEV_MAJOR_MAX);
                if (int_field(e, "minor", 0, LMCT_DEV_MINOR_MAX, 0, &minor) < 0)
                        return BAD(st, "bundle: %s.minor is not a minor number (0 to %d)", at, LMCT_DEV_MINOR_MAX);
                if (int_field(e, "fileMode", 0, 07777, 0666, &mode) < 0)
                        return BAD(st, "bundle: %s.fileMode must be permission bits (0 to 07777)", at);
                if (int_field(e, "uid", 0, UINT32_MAX - 1, 0, &uid) < 0 ||
                    int_field(e, "gid", 0, UINT32_MAX - 1, 0, &gid) < 0)
                        return BAD(st, "bundle: %s.uid and gid must be user and group ids", at);
                d->major = (unsigned)major;
                d->minor = (unsigned)minor;
                d->mode = (unsigned)mode;
                d->uid = (uid_t)uid;
                d->gid = (gid_t)gid;
                d->path = strdup(path);
                b->n_devices = i + 1;
                if (!d->path)
                        return -ENOMEM;
        }
        return 0;
}

/* linux.resources.devices: the bundle's rules in order, then the default
 * devices, then the nodes of linux.devices (read, write, mknod: runc
 * allows them so); the kernel denies what no rule allows. */
static int parse_devices(json_object *a, const oci_bundle *b, Lmct__V1__Limits *l, status *st) {
        size_t n, n_nodes = 0;
        int r;

        if (a && !json_object_is_type(a, json_type_array))
                return BAD(st, "bundle: linux.resources.devices must be an array");
        n = a ? json_object_array_length(a) : 0;
        for (size_t i = 0; i < b->n_devices; i++)
                n_nodes += b->devices[i].type != 'p';
        if (n + n_nodes + ELEMENTSOF(default_devices) > LMCT_DEVICE_RULES_MAX)
                return BAD(st, "bundle: linux.resources.devices and the nodes of linux.devices make more than %zu rules",
                           LMCT_DEVICE_RULES_MAX - ELEMENTSOF(default_devices));
        l->devices = malloc(sizeof *l->devices);
        if (!l->devices)
                return -ENOMEM;
        lmct__v1__device_rules__init(l->devices);
        l->devices->rules = calloc(n + n_nodes + ELEMENTSOF(default_devices), sizeof *l->devices->rules);
        if (!l->devices->rules)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i), *v;
                lmct_device_rule dr = { 'a', -1, -1, LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD };
                const char *t;

                if (!json_object_is_type(e, json_type_object) || !json_object_is_type(get(e, "allow"), json_type_boolean))
                        return BAD(st, "bundle: linux.resources.devices[%zu] needs allow, true or false", i);
                if ((v = get(e, "type"))) {
                        t = json_object_get_string(v);
                        if (!json_object_is_type(v, json_type_string) || strlen(t) != 1 || !strchr("abc", t[0]))
                                return BAD(st, "bundle: linux.resources.devices[%zu].type must be a, b or c", i);
                        dr.type = t[0];
                }
                if ((v = get(e, "major")) && (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -1 ||
                                              json_object_get_int64(v) > LMCT_DEV_MAJOR_MAX))
                        return BAD(st, "bundle: linux.resources.devices[%zu].major is not a major number", i);
                if ((v = get(e, "minor")) && (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -1 ||
                                              json_object_get_int64(v) > LMCT_DEV_MINOR_MAX))
                        return BAD(st, "bundle: linux.resources.devices[%zu].minor is not a minor number", i);
                dr.major = get(e, "major") ? json_object_get_int64(get(e, "major")) : -1;
                dr.minor = get(e, "minor") ? json_object_get_int64(get(e, "minor")) : -1;
                if ((v = get(e, "access")) && (!json_object_is_type(v, json_type_string) ||
                                               lmct_parse_device_access(json_object_get_string(v), &dr.access) < 0))
                        return BAD(st, "bundle: linux.resources.devices[%zu].access must be letters of rwm", i);
                if ((r = add_device_rule(l->devices, json_object_get_boolean(get(e, "allow")), &dr)) < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(default_devices); i++)
                if ((r = add_device_rule(l->devices, true, &default_devices[i])) < 0)
                        return r;
        for (size_t i = 0; i < b->n_devices; i++) {
                const spawn_device *d = &b->devices[i];
                lmct_device_rule dr = { d->type, (int64_t)d->major, (int64_t)d->minor,
                                        LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD };
                if (d->type != 'p' && (r = add_device_rule(l->devices, true, &dr)) < 0)
                        return r;
        }
        return 0;
}

/* linux.resources to limits, with the conversions crun uses. */
static int parse_resources(json_object *res, oci_bundle *b, status *st) {
        static const char *const keys[] = { "cpu", "memory", "pids", "devices", "hugepageLimits", "blockIO", NULL };
        static const char *const cpu_keys[] = { "shares", "quota", "period", "cpus", "mems", "idle", "burst", NULL };
        static const char *const mem_keys[] = { "limit", "swap", "reservation", NULL };
        Lmct__V1__Limits *l = &b->limits;
        json_object *c, *m, *p, *v;
        int r;

        if ((r = only_keys(res, "linux.resources", keys, st)) < 0)
                return r;
        if ((v = get(res, "devices")) && (r = parse_devices(v, b, l, st)) < 0)
                return r;
        if ((c = get(res, "cpu"))) {
                if ((r = only_keys(c, "linux.resources.cpu", cpu_keys, st)) < 0)
                        return r;
                if ((v = get(c, "shares")) && json_object_get_int64(v) > 0) {
                        int64_t s = json_object_get_int64(v);
                        uint64_t w = s <= 2 ? 1 : (uint64_t)(1 + ((s - 2) * 9999) / 262142);
                        l->has_cpu_weight = true;
                        l->cpu_weight = w > 10000 ? 10000 : w;
                }
                if ((v = get(c, "period")) && json_object_get_int64(v) > 0) {
                        l->has_cpu_period_us = true;
                        l->cpu_period_us = (uint64_t)json_object_get_int64(v);
                }
                if ((v = get(c, "quota")) && json_object_get_int64(v) != 0) {
                        int64_t q = json_object_get_int64(v);
                        uint64_t period = l->has_cpu_period_us ? l->cpu_period_us : LMCT_CPU_PERIOD_DEFAULT;
                        l->has_cpu_millis = true;
                        l->cpu_millis = q < 0 ? LMCT_MAX : lmct_cpu_millis_from_quota((uint64_t)q, period);
                }
                if ((v = get(c, "cpus")) && *json_object_get_string(v)) {
                        b->cpuset = strdup(json_object_get_string(v));
                        l->cpuset_cpus = b->cpuset;
                }
                if ((v = get(c, "mems")) && *json_object_get_string(v)) {
                        b->cpuset_mems = strdup(json_object_get_string(v));
                        l->cpuset_mems = b->cpuset_mems;
                }
                /* As crun: idle is written as it is (0 or 1); burst in microseconds. */
                if ((v = get(c, "idle"))) {
                        int64_t idle = json_object_get_int64(v);
                        if (!json_object_is_type(v, json_type_int) || (idle != 0 && idle != 1))
                                return BAD(st, "linux.resources.cpu.idle is %s: give 0 or 1",
                                           json_object_to_json_string(v));
                        l->has_cpu_idle = true;
                        l->cpu_idle = idle == 1;
                }
                if ((v = get(c, "burst"))) {
                        int64_t burst = json_object_get_int64(v);
                        if (!json_object_is_type(v, json_type_int) || burst < 0)
                                return BAD(st, "linux.resources.cpu.burst is %s: give microseconds, 0 or more",
                                           json_object_to_json_string(v));
                        l->has_cpu_burst_us = true;
                        l->cpu_burst_us = (uint64_t)burst;
                }
        }
        if ((m = get(res, "memory"))) {
                int64_t lim = 0;
                if ((r = only_keys(m, "linux.resources.memory", mem_keys, st)) < 0)
                        return r;
                if ((v = get(m, "limit")) && (lim = json_object_get_int64(v)) != 0) {
                        l->has_memory_max = true;
                        l->memory_max = lim < 0 ? LMCT_MAX : (uint64_t)lim;
                }
                if ((v = get(m, "swap")) && json_object_get_int64(v) != 0) {
                        int64_t sw = json_object_get_int64(v);
                        l->has_swap_max = true;
                        l->swap_max = sw < 0 ? LMCT_MAX : lim > 0 && sw >= lim ? (uint64_t)(sw - lim) : (uint64_t)sw;
                }
                if ((v = get(m, "reservation")) && json_object_get_int64(v) > 0) {
                        l->has_memory_low = true;
                        l->memory_low = (uint64_t)json_object_get_int64(v);
                }
        }
        if ((p = get(res, "pids")) && (v = get(p, "limit"))) {
                int64_t pl = json_object_get_int64(v);
                l->has_pids_max = true;
                l->pids_max = pl <= 0 ? LMCT_MAX : (uint64_t)pl;
        }
        if ((v = get(res, "hugepageLimits")) && (r = parse_hugepages(v, l, st)) < 0)
                return r;
        if ((v = get(res, "blockIO")) && (r = parse_block_io(v, l, st)) < 0)
                return r;
        return 0;
}

static int parse_linux(json_object *lx, oci_bundle *b, status *st) {
        static const char *const keys[] = { "namespaces", "resources", "cgroupsPath", "maskedPaths", "readonlyPaths",
                                            "rootfsPropagation", "uidMappings", "gidMappings", "seccomp", "sysctl",
                                            "devices", "mountLabel", NULL };
        json_object *v;
        const char *prop;
        int r;

        if (!lx)
                return parse_devices(NULL, b, &b->limits, st);
        if ((r = only_keys(lx, "linux", keys, st)) < 0)
                return r;
        if ((r = must_be_empty(lx, "uidMappings", "linux", st)) < 0 || (r = must_be_empty(lx, "gidMappings", "linux", st)) < 0 ||
            (r = must_be_empty(lx, "seccomp", "linux", st)) < 0 || (r = must_be_empty(lx, "sysctl", "linux", st)) < 0 ||
            (r = must_be_empty(lx, "mountLabel", "linux", st)) < 0)
                return r;
        if ((r = parse_nodes(get(lx, "devices"), b, st)) < 0)
                return r;
        prop = json_object_get_string(get(lx, "rootfsPropagation"));
        if (prop && strcmp(prop, "private") && strcmp(prop, "rprivate") && strcmp(prop, "slave") && strcmp(prop, "rslave"))
                return BAD(st, "bundle: linux.rootfsPropagation %s is not supported by lmctld", prop);
        if ((r = parse_namespaces(get(lx, "namespaces"), b, st)) < 0)
                return r;
        if ((v = get(lx, "resources")) && (r = parse_resources(v, b, st)) < 0)
                return r;
        /* No device rules in the bundle: as runc and crun, every device is
         * denied but the defaults. */
        if (!b->limits.devices && (r = parse_devices(NULL, b, &b->limits, st)) < 0)
                return r;
        if ((r = str_array(get(lx, "maskedPaths"), "linux.maskedPaths", &b->masked, &b->n_masked, st)) < 0 ||
            (r = str_array(get(lx, "readonlyPaths"), "linux.readonlyPaths", &b->readonly, &b->n_readonly, st)) < 0)
                return r;
        return 0;
}

static int parse(json_object *cfg, const char *bundle, oci_bundle *b, status *st) {
        static const char *const keys[] = { "ociVersion", "process", "root", "hostname", "mounts", "linux",
                                            "annotations", "hooks", NULL };
        json_object *root, *v;
        const char *ver, *path;
        char buf[4096];
        struct stat sb;
        int r;

        if (!json_object_is_type(cfg, json_type_object))
                return BAD(st, "bundle: config.json is not a JSON object");
        if ((r = only_keys(cfg, "", keys, st)) < 0 || (r = must_be_empty(cfg, "hooks", "config", st)) < 0)
                return r;
        ver = json_object_get_string(get(cfg, "ociVersion"));
        if (!ver || strncmp(ver, "1.", 2) != 0)
                return BAD(st, "bundle: ociVersion %s is not 1.x", ver ? ver : "is missing; it");
        if ((r = parse_process(get(cfg, "process"), b, st)) < 0)
                return r;
        root = get(cfg, "root");
        path = json_object_get_string(get(root, "path"));
        if (!path || !*path)
                return BAD(st, "bundle: root.path is missing");
        snprintf(buf, sizeof buf, "%s%s%s", path[0] == '/' ? "" : bundle, path[0] == '/' ? "" : "/", path);
        if (stat(buf, &sb) < 0 || !S_ISDIR(sb.st_mode))
                return BAD(st, "bundle: root.path %s is not a directory", buf);
        b->rootfs = realpath(buf, NULL);
        b->root_readonly = json_object_get_boolean(get(root, "readonly"));
        if ((v = get(cfg, "hostname")) && *json_object_get_string(v))
                b->hostname = strdup(json_object_get_string(v));
        if ((r = parse_mounts(get(cfg, "mounts"), b, st)) < 0)
                return r;
        if ((r = parse_linux(get(cfg, "linux"), b, st)) < 0)
                return r;
        b->ns_flags |= CLONE_NEWNS; /* a root of its own needs its own mounts */
        return b->rootfs ? 0 : -ENOMEM;
}

int oci_load(const char *bundle, oci_bundle **ret, status *st) {
        _cleanup_close_ int dfd = -1, fd = -1;
        _cleanup_free_ char *text = NULL;
        enum json_tokener_error jerr;
        json_object *cfg;
        struct stat sb;
        oci_bundle *b;
        ssize_t n;
        int r;

        if (!bundle || bundle[0] != '/')
                return BAD(st, "bundle must be an absolute path");
        dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return BAD(st, "bundle %s: %s", bundle, strerror(errno));
        /* Non-blocking: a FIFO must not hold the open (and the loop) until
         * somebody writes to it; it is refused as not a regular file. */
        fd = openat(dfd, "config.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return BAD(st, "bundle %s has no config.json: %s", bundle, strerror(errno));
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > CONFIG_MAX)
                return BAD(st, "bundle %s: config.json is not a regular file under %u bytes", bundle, CONFIG_MAX);
        text = malloc((size_t)sb.st_size + 1);
        if (!text)
                return -ENOMEM;
        n = read(fd, text, (size_t)sb.st_size);
        if (n < 0)
                return BAD(st, "bundle %s: cannot read config.json: %s", bundle, strerror(errno));
        text[n] = '\0';
        cfg = json_tokener_parse_verbose(text, &jerr);
        if (!cfg)
                return BAD(st, "bundle %s: config.json is not valid JSON: %s", bundle, json_tokener_error_desc(jerr));
        b = calloc(1, sizeof *b);
        if (!b) {
                json_object_put(cfg);
                return -ENOMEM;
        }
        lmct__v1__limits__init(&b->limits);
        b->dir = strdup(bundle);
        r = b->dir ? parse(cfg, bundle, b, st) : -ENOMEM;
        json_object_put(cfg);
        if (r < 0) {
                oci_free(b);
                return r == -ENOMEM ? st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r, "out of memory") : r;
        }
        *ret = b;
        return 0;
}

oci_bundle *oci_free(oci_bundle *b) {
        if (!b)
                return NULL;
        free(b->dir);
        free(b->rootfs);
        strv_free(b->argv);
        strv_free(b->envp);
        free(b->cwd);
        free(b->groups);
        free(b->hostname);
        for (size_t i = 0; i < b->n_mounts; i++) {
                free(b->mounts[i].destination);
                free(b->mounts[i].type);
                free(b->mounts[i].source);
                free(b->mounts[i].data);
        }
        free(b->mounts);
        for (size_t i = 0; i < b->n_devices; i++)
                free(b->devices[i].path);
        free(b->devices);
        strv_free(b->masked);
        strv_free(b->readonly);
        free(b->rlimits);
        free(b->cpuset);
        free(b->cpuset_mems);
        for (size_t i = 0; i < b->limits.n_hugetlb; i++) {
                free(b->limits.hugetlb[i]->page_size);
                free(b->limits.hugetlb[i]);
        }
        free(b->limits.hugetlb);
        for (size_t i = 0; i < b->limits.n_io_devices; i++)
                free(b->limits.io_devices[i]);
        free(b->limits.io_devices);
        if (b->limits.devices) {
                for (size_t i = 0; i < b->limits.devices->n_rules; i++) {
                        free(b->limits.devices->rules[i]->type);
                        free(b->limits.devices->rules[i]->access);
                        free(b->limits.devices->rules[i]);
                }
                free(b->limits.devices->rules);
                free(b->limits.devices);
        }
        free(b);
        return NULL;
}

void oci_spawn_spec(const oci_bundle *b, spawn_spec *sp) {
        sp->argv = b->argv;
        sp->envp = b->envp;
        sp->cwd = b->cwd;
        sp->set_user = true;
        sp->uid = b->uid;
        sp->gid = b->gid;
        sp->groups = b->groups;
        sp->n_groups = b->n_groups;
        sp->ns_flags = b->ns_flags;
        sp->hostname = b->hostname;
        sp->rootfs = b->rootfs;
        sp->bundle_dir = b->dir;
        sp->mounts = b->mounts;
        sp->n_mounts = b->n_mounts;
        sp->devices = b->devices;
        sp->n_devices = b->n_devices;
        sp->masked = b->masked;
        sp->n_masked = b->n_masked;
        sp->readonly_paths = b->readonly;
        sp->n_readonly = b->n_readonly;
        sp->root_readonly = b->root_readonly;
        sp->no_new_privs = b->no_new_privs;
        sp->rlimits = b->rlimits;
        sp->n_rlimits = b->n_rlimits;
        sp->caps = b->has_caps ? &b->caps : NULL;
        sp->oom_score_adj = b->oom_score_adj;
        sp->set_oom_score_adj = b->has_oom;
}

const Lmct__V1__Limits *oci_limits(const oci_bundle *b) {
        return &b->limits;
}

/* list, show, ps, detect: the verbs that only look. */
#include "manager-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "climits.h"
#include "devrules.h"
#include "labels.h"
#include "lmct-limits.h"
#include "lmct-name.h"
#include "peer.h"
#include "cleanup.h"
#include "util.h"

typedef struct strv {
        char **v;
        size_t n, alloc;
        size_t room;     /* bytes the answer may still take */
} strv;

static int strv_push(strv *s, char *str) {
        size_t sz;

        if (!str)
                return -ENOMEM;
        sz = strlen(str) + 4;
        if (sz > s->room) {
                free(str);
                return -EMSGSIZE;
        }
        s->room -= sz;
        if (s->n == s->alloc) {
                size_t na = s->alloc ? s->alloc * 2 : 16;
                char **nv = realloc(s->v, na * sizeof *nv);
                if (!nv) {
                        free(str);
                        return -ENOMEM;
                }
                s->v = nv;
                s->alloc = na;
        }
        s->v[s->n++] = str;
        return 0;
}

static void strv_done(strv *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
}

/* Appends the full names below N (whose full name is PATH, LEN bytes).
 * With VISIBLE, a container it refuses is left out and the search goes on
 * below it; everything below a visible one is visible. */
static int list_below(const node *n, char *path, size_t len, bool recursive, node_filter visible, void *ud,
                      strv *out) {
        for (size_t i = 0; i < n->n_children; i++) {
                const node *c = n->children[i];
                size_t cl = strlen(c->name), nl = len ? len + 1 + cl : cl;
                int r = 0;

                if (len)
                        path[len] = '/';
                memcpy(path + (len ? len + 1 : 0), c->name, cl + 1);
                if (!visible || visible(c, ud)) {
                        r = strv_push(out, strndup(path, nl));
                        if (r >= 0 && recursive)
                                r = list_below(c, path, nl, true, NULL, NULL, out);
                } else
                        r = list_below(c, path, nl, recursive, visible, ud, out);
                if (r < 0)
                        return r;
                path[len] = '\0';
        }
        return 0;
}

/* Keeps the names in OUT whose containers carry every label of SEL. */
static void filter_labels(manager *m, strv *out, Lmct__V1__Label *const *sel, size_t n_sel) {
        size_t kept = 0;

        for (size_t i = 0; i < out->n; i++) {
                char text[LABELS_TEXT_MAX];
                _cleanup_close_ int fd = cg_open(m->rootfd, out->v[i]);
                if (fd >= 0 && labels_read(m, fd, text, sizeof text) == 0 && labels_match(text, sel, n_sel))
                        out->v[kept++] = out->v[i];
                else
                        free(out->v[i]);
        }
        out->n = kept;
}

int manager_list(manager *m, const char *name, bool recursive, node_filter visible, void *ud,
                 Lmct__V1__Label *const *sel, size_t n_sel, size_t max_bytes, Lmct__V1__ListResult **ret,
                 status *st) {
        char path[LMCT_NAME_MAX + 2];
        Lmct__V1__ListResult *res;
        strv out = { .room = max_bytes };
        node *n;
        int r;

        r = find_node(m, name, true, st, &n);
        if (r < 0)
                return r;
        tree_path(n, path, sizeof path);
        if (visible && visible(n, ud))
                visible = NULL; /* all of it */
        r = list_below(n, path, strlen(path), recursive, visible, ud, &out);
        if (r >= 0 && n_sel)
                filter_labels(m, &out, sel, n_sel);
        if (r < 0 || !(res = malloc(sizeof *res))) {
                strv_done(&out);
                if (r == -EMSGSIZE)
                        return answer_too_big(st, max_bytes);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        lmct__v1__list_result__init(res);
        res->names = out.v;
        res->n_names = out.n;
        *ret = res;
        return 0;
}

static int count_pid(pid_t pid, void *userdata) {
        (void)pid;
        (*(uint64_t *)userdata)++;
        return 0;
}

int read_usage(int fd, Lmct__V1__Usage *u) {
        char buf[4096];
        uint64_t v;

#define KEY(key, field)                                           \
        if (cg_parse_key(buf, key, &v) >= 0) {                    \
                u->has_##field = true;                            \
                u->field = v;                                     \
        }
        if (cg_read(fd, "cpu.stat", buf, sizeof buf) >= 0) {
                KEY("usage_usec", cpu_usage_us);
                KEY("user_usec", cpu_user_us);
                KEY("system_usec", cpu_system_us);
                KEY("nr_periods", cpu_nr_periods);
                KEY("nr_throttled", cpu_nr_throttled);
                KEY("throttled_usec", cpu_throttled_us);
        }
        if (cg_read(fd, "cgroup.events", buf, sizeof buf) >= 0) {
                KEY("frozen", frozen);
                KEY("populated", populated);
        }
#undef KEY
#define FILE_U64(file, field)                                     \
        if (cg_read_u64(fd, file, &v) >= 0) {                     \
                u->has_##field = true;                            \
                u->field = v;                                     \
        }
        FILE_U64("memory.current", memory_current);
        FILE_U64("memory.peak", memory_peak);
        FILE_U64("pids.current", pids_current);
#undef FILE_U64
        u->has_processes = true;
        return cg_for_each_pid_below(fd, count_pid, &u->processes);
}

int effective_limits(manager *m, node *n, const Lmct__V1__Limits *own, int fd, Lmct__V1__Limits **ret) {
        Lmct__V1__Limits *eff = climits_new();
        char buf[256];

        if (!eff)
                return -ENOMEM;
        climits_tighten(eff, own);
        for (node *a = n->parent; a; a = a->parent) {
                _cleanup_pb_ Lmct__V1__Limits *al = NULL;
                status ignored;
                _cleanup_close_ int afd = open_node(m, a, &ignored);
                if (afd >= 0 && climits_read(afd, &al) >= 0)
                        climits_tighten(eff, al);
        }
        if (cg_read(fd, "cpuset.cpus.effective", buf, sizeof buf) >= 0)
                eff->cpuset_cpus = strdup(buf);
        if (cg_read(fd, "cpuset.mems.effective", buf, sizeof buf) >= 0)
                eff->cpuset_mems = strdup(buf);
        *ret = eff;
        return 0;
}

int manager_show(manager *m, const char *name, Lmct__V1__ContainerInfo **ret, status *st) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        _cleanup_pb_ Lmct__V1__ContainerInfo *info = NULL;
        node *n;
        int r;

        fd = open_container(m, name, true, st, &n, path, sizeof path);
        if (fd < 0)
                return fd;
        info = malloc(sizeof *info);
        if (!info)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        lmct__v1__container_info__init(info);
        info->name = strdup(path);
        info->usage = malloc(sizeof *info->usage);
        if (info->usage)
                lmct__v1__usage__init(info->usage);
        info->children = calloc(n->n_children ? n->n_children : 1, sizeof *info->children);
        r = info->name && info->usage && info->children ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n->n_children; i++) {
                info->children[i] = strdup(n->children[i]->name);
                if (!info->children[i])
                        r = -ENOMEM;
                else
                        info->n_children = i + 1;
        }
        if (r >= 0)
                r = climits_read(fd, &info->configured);
        if (r >= 0)
                r = devrules_read(m, fd, &info->configured->devices);
        if (r >= 0)
                r = effective_limits(m, n, info->configured, fd, &info->effective);
        if (r >= 0)
                r = read_usage(fd, info->usage);
        if (r >= 0) {
                char text[LABELS_TEXT_MAX];
                if (labels_read(m, fd, text, sizeof text) == 0)
                        r = labels_to_proto(text, &info->labels, &info->n_labels);
        }
        if (r >= 0 && n->last_run && !(info->last_run = run_result_message(n->last_run, true, NULL)))
                r = -ENOMEM;
        for (const node *a = n; r >= 0 && a; a = a->parent)
                if (a->has_owner) {
                        char from[LMCT_NAME_MAX + 1];
                        info->has_owner_uid = info->has_owner_gid = true;
                        info->owner_uid = a->owner_uid;
                        info->owner_gid = a->owner_gid;
                        info->owner_from = strdup(tree_path(a, from, sizeof from));
                        if (!info->owner_from)
                                r = -ENOMEM;
                        break;
                }
        if (r < 0)
                return st_fail(st, st_code_from_errno(r), r, "cannot read %s: %s", path, strerror(-r));
        *ret = TAKE_PTR(info);
        return 0;
}

typedef struct ps_ctx {
        Lmct__V1__PsResult *res;
        size_t alloc;
        const char *container;
        size_t room;     /* bytes the answer may still take */
} ps_ctx;

static int ps_add(pid_t pid, void *userdata) {
        ps_ctx *c = userdata;
        size_t sz = strlen(c->container) + 16;
        Lmct__V1__Process *p;

        if (sz > c->room)
                return -EMSGSIZE;
        c->room -= sz;
        if (c->res->n_processes == c->alloc) {
                size_t na = c->alloc ? c->alloc * 2 : 16;
                Lmct__V1__Process **nv = realloc(c->res->processes, na * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                c->res->processes = nv;
                c->alloc = na;
        }
        p = malloc(sizeof *p);
        if (!p)
                return -ENOMEM;
        lmct__v1__process__init(p);
        p->has_pid = true;
        p->pid = pid;
        p->container = strdup(c->container);
        c->res->processes[c->res->n_processes++] = p;
        return p->container ? 0 : -ENOMEM;
}

static int ps_node(manager *m, node *n, bool recursive, ps_ctx *c) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1, leaf = -1;
        status ignored;
        int r;

        fd = open_node(m, n, &ignored);
        if (fd < 0)
                return 0; /* vanished meanwhile */
        c->container = n->parent ? tree_path(n, path, sizeof path) : "/";
        r = cg_for_each_pid(fd, ps_add, c);
        if (r < 0 && r != -ENOENT)
                return r;
        leaf = openat(fd, LMCT_LEAF, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (leaf >= 0) {
                r = cg_for_each_pid(leaf, ps_add, c);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        for (size_t i = 0; recursive && i < n->n_children; i++) {
                r = ps_node(m, n->children[i], true, c);
                if (r < 0)
                        return r;
        }
        return 0;
}

int manager_ps(manager *m, const char *name, bool recursive, size_t max_bytes, Lmct__V1__PsResult **ret,
               status *st) {
        ps_ctx c = { .room = max_bytes };
        node *n;
        int r;

        r = find_node(m, name, true, st, &n);
        if (r < 0)
                return r;
        c.res = malloc(sizeof *c.res);
        if (!c.res)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        lmct__v1__ps_result__init(c.res);
        r = ps_node(m, n, recursive, &c);
        if (r < 0) {
                lmct__v1__ps_result__free_unpacked(c.res, NULL);
                if (r == -EMSGSIZE)
                        return answer_too_big(st, max_bytes);
                return st_fail(st, st_code_from_errno(r), r, "cannot list processes: %s", strerror(-r));
        }
        *ret = c.res;
        return 0;
}

int manager_detect(manager *m, pid_t pid, char **ret_name, status *st) {
        char name[LMCT_NAME_MAX + 1];
        _cleanup_close_ int pidfd = -1;
        int r;

        if (pid <= 0)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "%d is not a process id", pid);
        pidfd = pidfd_open_(pid);
        if (pidfd < 0)
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ESRCH, "process %d does not exist", pid);
        r = manager_pid_position(m, pid, pidfd, name, sizeof name, st);
        if (r < 0)
                return r;
        if (!name[0])
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "process %d is not in a container", pid);
        *ret_name = strdup(name);
        if (!*ret_name)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

Lmct__V1__RunResult *run_result_message(const run_status *rs, bool log_path, const char *error) {
        Lmct__V1__RunResult *rr = malloc(sizeof *rr);

        if (!rr)
                return NULL;
        lmct__v1__run_result__init(rr);
        rr->has_pid = rs->pid > 0;
        rr->pid = rs->pid;
        rr->has_exited = true;
        rr->exited = rs->exited;
        if (rs->exited) {
                rr->has_signal = rs->signal != 0;
                rr->signal = rs->signal;
                rr->has_exit_code = !rs->signal;
                rr->exit_code = rs->exit_code;
        }
        if ((log_path && rs->log_path[0] && !(rr->log_path = strdup(rs->log_path))) ||
            (error && !(rr->error = strdup(error)))) {
                lmct__v1__run_result__free_unpacked(rr, NULL);
                return NULL;
        }
        return rr;
}

/* The kernel's event files of each container, watched with inotify in the
 * loop while anyone subscribes: a change is read, compared with what was
 * seen last, and published. */
#include "events-internal.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>

#include "cgroup.h"
#include "lmct-name.h"
#include "log.h"
#include "util.h"

static const char *const files[_F_MAX] = { "cgroup.events", "memory.events", "pids.events" };

/* memory.events keys reported, and the event each becomes. oom and
 * memory_max come on the container whose limit was hit, oom_kill on the
 * one whose processes died, oom_group_kill on the container the kernel
 * killed whole (--oom-group): an agent learns that a/b died because a was
 * full, and that it died whole. */
static const char *const mem_keys[N_MEM] = { "high", "max", "oom", "oom_kill", "oom_group_kill" };
static const char *const mem_kinds[N_MEM] = { "memory_high", "memory_max", "oom", "oom_kill", "oom_group_kill" };

/* The memory.events counters of container N itself: its subtree's less its
 * subcontainers' subtrees'. */
static void own_memory_events(manager *m, node *n, int fd, uint64_t out[N_MEM]) {
        char buf[1024];

        memset(out, 0, N_MEM * sizeof *out);
        if (cg_read(fd, "memory.events", buf, sizeof buf) < 0)
                return;
        for (int k = 0; k < N_MEM; k++)
                (void)cg_parse_key(buf, mem_keys[k], &out[k]);
        for (size_t i = 0; i < n->n_children; i++) {
                status ignored;
                _cleanup_close_ int cfd = open_node(m, n->children[i], &ignored);
                uint64_t v;
                if (cfd < 0 || cg_read(cfd, "memory.events", buf, sizeof buf) < 0)
                        continue;
                for (int k = 0; k < N_MEM; k++)
                        if (cg_parse_key(buf, mem_keys[k], &v) >= 0)
                                out[k] = out[k] > v ? out[k] - v : 0;
        }
}

/* Reads W's file now: the state to compare later changes against, and
 * with REPORT the events since the last reading. */
void events_refresh(events *e, watched *w, bool report) {
        node *n = tree_lookup(e->m->root, w->name, NULL, NULL);
        status ignored;
        _cleanup_close_ int fd = -1;
        char buf[512];
        uint64_t v;

        if (!n)
                return;
        fd = open_node(e->m, n, &ignored);
        if (fd < 0)
                return;
        if (w->file == F_EVENTS) {
                bool populated = false, frozen = false;
                if (cg_read(fd, "cgroup.events", buf, sizeof buf) < 0)
                        return;
                if (cg_parse_key(buf, "populated", &v) >= 0)
                        populated = v;
                if (cg_parse_key(buf, "frozen", &v) >= 0)
                        frozen = v;
                /* The command lmctld ran may leave the cgroup a moment before
                 * it is reaped: its exit status is awaited (on_run_ended). */
                if (report && !populated && w->populated && e->run_waiting && e->run_waiting(e->m, w->name)) {
                        w->empty_held = true;
                        report = false;
                        w->populated = false;
                }
                if (report && populated != w->populated) {
                        Lmct__V1__Event *ev = ev_make(populated ? "populated" : "empty", w->name);
                        if (ev && !populated && n->last_run)
                                ev->last_run = run_result_message(n->last_run, false, NULL);
                        if (ev)
                                ev_publish(e, ev);
                }
                if (report && frozen != w->frozen)
                        ev_emit(e, frozen ? "frozen" : "thawed", w->name, 0);
                w->populated = populated;
                w->frozen = frozen;
        } else if (w->file == F_MEMORY) {
                uint64_t now[N_MEM];
                own_memory_events(e->m, n, fd, now);
                for (int k = 0; k < N_MEM; k++) {
                        if (report && now[k] > w->last[k])
                                ev_emit(e, mem_kinds[k], w->name, now[k] - w->last[k]);
                        w->last[k] = now[k];
                }
        } else {
                v = 0;
                if (cg_read(fd, "pids.events", buf, sizeof buf) >= 0)
                        (void)cg_parse_key(buf, "max", &v);
                if (report && v > w->last[0])
                        ev_emit(e, "pids_max", w->name, v - w->last[0]);
                w->last[0] = v;
        }
}

static void unwatch(events *e, int wd) {
        if (wd < 0 || (size_t)wd >= e->n_wd || !e->by_wd[wd])
                return;
        free(e->by_wd[wd]->name);
        free(e->by_wd[wd]);
        e->by_wd[wd] = NULL;
}

/* Watches the files of container NAME (N). */
void events_watch_node(events *e, node *n, const char *name) {
        status ignored;
        _cleanup_close_ int fd = open_node(e->m, n, &ignored);

        if (fd < 0)
                return;
        for (int f = 0; f < _F_MAX; f++) {
                char path[64];
                watched *w;
                int wd;

                snprintf(path, sizeof path, "/proc/self/fd/%d/%s", fd, files[f]);
                wd = inotify_add_watch(e->ifd, path, IN_MODIFY);
                if (wd < 0) {
                        if (errno != ENOENT && !e->warned) {
                                log_warning("cannot watch %s/%s: %m (events from it will be missing)", name,
                                            files[f]);
                                e->warned = true;
                        }
                        continue;
                }
                if ((size_t)wd >= e->n_wd) {
                        size_t nn = (size_t)wd * 2 + 16;
                        watched **nv = realloc(e->by_wd, nn * sizeof *nv);
                        if (!nv)
                                continue;
                        memset(nv + e->n_wd, 0, (nn - e->n_wd) * sizeof *nv);
                        e->by_wd = nv;
                        e->n_wd = nn;
                }
                if (e->by_wd[wd])
                        continue; /* the same file, watched already */
                w = calloc(1, sizeof *w);
                if (!w || !(w->name = strdup(name))) {
                        free(w);
                        inotify_rm_watch(e->ifd, wd);
                        continue;
                }
                w->file = f;
                e->by_wd[wd] = w;
                events_refresh(e, w, false);
        }
}

void events_watch_all(events *e, node *n) {
        char path[LMCT_NAME_MAX + 1];

        if (n->parent)
                events_watch_node(e, n, tree_path(n, path, sizeof path));
        for (size_t i = 0; i < n->n_children; i++)
                events_watch_all(e, n->children[i]);
}

void events_on_inotify(evutil_socket_t fd, short what, void *arg) {
        events *e = arg;
        char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        (void)what;
        events_enter(e);
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ie = (struct inotify_event *)p;
                        p += sizeof *ie + ie->len;
                        if (ie->mask & IN_IGNORED)
                                unwatch(e, ie->wd);
                        else if (ie->wd >= 0 && (size_t)ie->wd < e->n_wd && e->by_wd[ie->wd])
                                events_refresh(e, e->by_wd[ie->wd], true);
                }
        }
        events_leave(e);
}

/* Stops watching once nobody listens. */
void events_stop_watching(events *e) {
        if (e->ev)
                event_free(e->ev);
        e->ev = NULL;
        if (e->ifd >= 0)
                close(e->ifd);
        e->ifd = -1;
        for (size_t i = 0; i < e->n_wd; i++)
                if (e->by_wd[i]) {
                        free(e->by_wd[i]->name);
                        free(e->by_wd[i]);
                }
        free(e->by_wd);
        e->by_wd = NULL;
        e->n_wd = 0;
}

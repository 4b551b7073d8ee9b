/* Memory usage thresholds. cgroup v2 has no notification for usage (v1's
 * cgroup.event_control thresholds are gone), so memory.current is read
 * every MEMORY_SAMPLE_MS while any threshold is set, and memory.peak,
 * which catches a crossing between two readings. */
#include "events-internal.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

static int read_u64_at(int fd, uint64_t *ret) {
        char buf[32], *end;
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

        if (n < 0)
                return negerrno();
        buf[n] = '\0';
        errno = 0;
        *ret = strtoull(buf, &end, 10);
        return end == buf || errno ? -EIO : 0;
}

void threshold_stop(subscriber *s) {
        events *e = s->e;

        if (s->mem_fd >= 0) {
                close(s->mem_fd);
                if (--e->n_thresholds == 0 && e->mem_timer)
                        event_del(e->mem_timer);
        }
        if (s->peak_fd >= 0)
                close(s->peak_fd);
        s->mem_fd = s->peak_fd = -1;
}

static void memory_event(subscriber *s, const char *kind, uint64_t bytes) {
        Lmct__V1__Event *ev = ev_for(s, kind, s->name);

        if (!ev) {
                s->dropped++;
                return;
        }
        ev->has_memory_bytes = ev->has_threshold = true;
        ev->memory_bytes = bytes;
        ev->threshold = s->mem_above;
        sub_send(s, ev);
}

/* One reading of S's threshold. */
static void memory_check(subscriber *s) {
        uint64_t cur, peak = 0;

        if (read_u64_at(s->mem_fd, &cur) < 0) {
                threshold_stop(s); /* the container is gone: "destroyed" says so */
                return;
        }
        if (s->peak_fd >= 0 && read_u64_at(s->peak_fd, &peak) < 0)
                peak = 0;
        if (!s->above && (cur >= s->mem_above || peak >= s->mem_above)) {
                s->above = true;
                memory_event(s, "memory_above", cur >= s->mem_above ? cur : peak);
        } else if (s->above && cur < s->mem_above) {
                s->above = false;
                memory_event(s, "memory_below", cur);
        }
        if (s->peak_fd >= 0 && peak >= s->mem_above) {
                close(s->peak_fd); /* it never falls again: it tells nothing more */
                s->peak_fd = -1;
        }
}

/* Every 100 ms while any subscription has a threshold: one wakeup reads
 * them all. */
static void on_memory_tick(evutil_socket_t fd, short what, void *arg) {
        events *e = arg;

        (void)fd;
        (void)what;
        events_enter(e);
        for (subscriber *s = e->subs; s; s = s->subs_next)
                if (!s->gone && s->mem_fd >= 0)
                        memory_check(s);
        events_leave(e);
}

/* S's memory threshold ABOVE on the container DIRFD (SHOWN to its caller):
 * memory.current read on E's timer, and memory.peak while usage is below. */
int threshold_start(events *e, subscriber *s, int dirfd, uint64_t above, const char *shown, status *st) {
        uint64_t cur, peak;
        struct timeval tv = { 0, MEMORY_SAMPLE_MS * 1000 };
        int r;

        s->mem_above = above;
        s->mem_fd = openat(dirfd, "memory.current", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (s->mem_fd < 0) {
                r = negerrno();
                if (r == -ENOENT)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                       "%s has no memory.current: the memory controller is not enabled there", shown);
                return st_fail(st, st_code_from_errno(r), r, "cannot open memory.current of %s: %s", shown,
                               strerror(-r));
        }
        e->n_thresholds++; /* threshold_stop counts it off */
        /* A peak already past the threshold tells nothing new. */
        s->peak_fd = openat(dirfd, "memory.peak", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (s->peak_fd >= 0 && read_u64_at(s->peak_fd, &peak) == 0 && peak >= s->mem_above) {
                close(s->peak_fd);
                s->peak_fd = -1;
        }
        if (read_u64_at(s->mem_fd, &cur) < 0)
                return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, -EIO, "cannot read memory.current of %s",
                               shown);
        /* Usage above already: the first reading reports it. */
        if (!e->mem_timer && !(e->mem_timer = event_new(e->m->base, -1, EV_PERSIST, on_memory_tick, e)))
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        if (!event_pending(e->mem_timer, EV_TIMEOUT, NULL) && event_add(e->mem_timer, &tv) < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

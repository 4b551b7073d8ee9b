/* PSI triggers: written to a container's *.pressure file, whose
 * descriptor the kernel wakes; lmctld watches it in the loop. */
#include "events-internal.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "cgroup.h"
#include "util.h"

const char *const psi_resources[N_PSI] = { "cpu", "memory", "io" };

static void pressure_fired(trigger *t);

/* T's line (some or full) of its *.pressure file, read through the
 * descriptor that holds the trigger. */
static int trigger_read(const trigger *t, cg_pressure *p) {
        char buf[256];
        ssize_t n = pread(t->fd, buf, sizeof buf - 1, 0);

        if (n <= 0)
                return n < 0 ? negerrno() : -ENODATA;
        buf[n] = '\0';
        return cg_parse_pressure(buf, t->full ? "full" : "some", p);
}

void trigger_stop(trigger *t) {
        if (t->ev)
                event_free(t->ev);
        t->ev = NULL;
        if (t->fd >= 0) {
                close(t->fd);
                t->s->e->n_triggers--;
        }
        t->fd = -1;
}

/* The trigger fired. The file's readiness is edge-triggered: one call per
 * wakeup of the kernel's trigger, plus one as the descriptor is added (its
 * file always polls readable); that one counts only if the stall since the
 * trigger was made reached its threshold. */
static void on_pressure(evutil_socket_t fd, short what, void *arg) {
        trigger *t = arg;
        events *e = t->s->e;

        (void)fd;
        (void)what;
        /* Sending may close the connection: its subscriptions (T's among
         * them) are freed only once this is over. */
        events_enter(e);
        if (!t->s->gone)
                pressure_fired(t);
        events_leave(e);
}

static void pressure_fired(trigger *t) {
        cg_pressure p;
        Lmct__V1__Event *ev;
        bool first = !t->armed;

        t->armed = true;
        if (trigger_read(t, &p) < 0) {
                trigger_stop(t); /* the container is gone */
                return;
        }
        if (first && p.total_us - t->total_us < t->stall_us)
                return;
        t->total_us = p.total_us;
        ev = ev_for(t->s, "pressure", t->s->name);
        if (ev && (ev->trigger = malloc(sizeof *ev->trigger))) {
                lmct__v1__pressure_trigger__init(ev->trigger);
                ev->trigger->resource = strdup(psi_resources[t->resource]);
                ev->trigger->has_full = ev->trigger->has_stall_us = ev->trigger->has_window_us = true;
                ev->trigger->full = t->full;
                ev->trigger->stall_us = t->stall_us;
                ev->trigger->window_us = t->window_us;
                ev->pressure = pressure_message(&p);
        }
        if (!ev || !ev->trigger || !ev->trigger->resource || !ev->pressure) {
                if (ev)
                        lmct__v1__event__free_unpacked(ev, NULL);
                t->s->dropped++;
                return;
        }
        sub_send(t->s, ev);
}

static bool have_capability(unsigned cap) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];

        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[cap / 32].effective & (1u << (cap % 32));
}

/* Writes trigger T to its file in the cgroup DIRFD. */
static int trigger_start(events *e, trigger *t, int dirfd, const char *shown, status *st) {
        char file[32], spec[64];
        cg_pressure p;
        int len;

        snprintf(file, sizeof file, "%s.pressure", psi_resources[t->resource]);
        t->fd = openat(dirfd, file, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (t->fd < 0) {
                int r = negerrno();
                if (r == -ENOENT)
                        return st_fail(st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                                       "%s has no %s: the kernel does not account pressure (PSI)", shown, file);
                return st_fail(st, st_code_from_errno(r), r, "cannot open %s of %s: %s", file, shown, strerror(-r));
        }
        e->n_triggers++;
        if (trigger_read(t, &p) == 0)
                t->total_us = p.total_us;
        len = snprintf(spec, sizeof spec, "%s %llu %llu", t->full ? "full" : "some",
                       (unsigned long long)t->stall_us, (unsigned long long)t->window_us);
        if (write(t->fd, spec, (size_t)len + 1) < 0) {
                int r = negerrno();
                /* Since Linux 6.5 a writer without CAP_SYS_RESOURCE gets
                 * windows of whole multiples of 2 s only. */
                bool unprivileged = r == -EINVAL && t->window_us % 2000000 && !have_capability(CAP_SYS_RESOURCE);
                return st_fail(st, r == -EINVAL ? LMCT__V1__CODE__INVALID_ARGUMENT : st_code_from_errno(r), r,
                               "the kernel refused the trigger \"%s\" on %s of %s: %s%s", spec, file, shown,
                               strerror(-r),
                               unprivileged ? " (lmctld lacks CAP_SYS_RESOURCE: windows must be whole multiples "
                                              "of 2 s)"
                                            : "");
        }
        t->ev = event_new(e->m->base, t->fd, EV_READ | EV_ET | EV_PERSIST, on_pressure, t);
        if (!t->ev || event_add(t->ev, NULL) < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "cannot watch %s of %s", file,
                               shown);
        return 0;
}

/* S's PSI triggers (REQ's, checked) on the container DIRFD. */
int triggers_start(events *e, subscriber *s, int dirfd, const Lmct__V1__EventsRequest *req, const char *shown,
                          status *st) {
        s->trig = calloc(req->n_pressure, sizeof *s->trig);
        if (!s->trig)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        for (size_t i = 0; i < req->n_pressure; i++) {
                const Lmct__V1__PressureTrigger *pt = req->pressure[i];
                trigger *t = &s->trig[s->n_trig++];
                int r;

                t->s = s;
                t->fd = -1;
                for (t->resource = 0; strcmp(pt->resource, psi_resources[t->resource]) != 0; t->resource++)
                        ;
                t->full = pt->full;
                t->stall_us = pt->stall_us;
                t->window_us = pt->window_us;
                r = trigger_start(e, t, dirfd, shown, st);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* reclaim: proactive reclaim through memory.reclaim.
 *
 * A write to memory.reclaim returns once the kernel has reclaimed what was
 * asked or found nothing more, and a tenant sets its pace: pages that are
 * dirty behind a slow disk, or refilled as fast as they go, keep it going.
 * So the write is done in a thread (offload.h) while the request waits,
 * never in the loop, and its work is bounded four ways: at most 2 reclaims
 * per principal and 16 in all (Q_RECLAIMS); no more than the container's
 * usage is asked; it is asked in chunks, with a flag checked between them;
 * and at the deadline (--reclaim-timeout) the thread is interrupted (the
 * kernel's loop ends with EINTR at a pending signal).
 *
 * The container is held while its reclaim runs: removing a cgroup waits in
 * the kernel for writes in progress on its files, so a destroy must not
 * rmdir under a reclaim. A destroy that finds only reclaims in the way
 * stops them and goes on once they have returned (reclaims_stop_then). */
#include "manager-internal.h"

#include <errno.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "list.h"
#include "lmct-limits.h"
#include "lmct-name.h"
#include "log.h"
#include "offload.h"
#include "quota.h"
#include "util.h"

/* Asked of the kernel in one write at most: the flag is checked between. */
#define RECLAIM_CHUNK (64ull << 20)
/* Once stopping, the thread is interrupted again this often: a signal that
 * came before the write began is lost on it. */
#define RECLAIM_NUDGE_MS 50

typedef enum { GOING, TIMED_OUT, DESTROYED } reclaim_end;

struct reclaim {
        manager *m;
        quota *q;                /* given back in the loop; NULL once given */
        node *n;                 /* held; NULL once released */
        offload *load;
        struct event *timer;     /* the deadline, then the nudges */
        int fd;                  /* the container's cgroup directory */
        uint64_t bytes, asked, before, after;
        int result;              /* of the writes: 0 or a negative errno */
        bool has_after;
        atomic_bool stop;        /* read by the thread between writes */
        reclaim_end why;
        char name[LMCT_NAME_MAX + 1];
        reclaim_done_fn done;
        void *userdata;
        LIST_FIELDS(reclaim, reclaims);
};

/* A destroy that waits for the reclaims below its container to return,
 * for destroy_timeout_ms at most. */
struct reclaim_stop {
        manager *m;
        struct event *timer;
        caller who;              /* a copy: who asked may be gone by then */
        bool has_who;
        char name[LMCT_NAME_MAX + 1];
        bool recursive, force;
        op_done_fn done;
        void *userdata;
        LIST_FIELDS(reclaim_stop, stops);
};

/* In the thread: touches nothing but RC. */
static void reclaim_work(void *p) {
        reclaim *rc = p;
        uint64_t left = rc->asked;
        char value[24];

        rc->result = 0;
        while (left > 0) {
                uint64_t chunk = left < RECLAIM_CHUNK ? left : RECLAIM_CHUNK;
                if (atomic_load(&rc->stop)) {
                        rc->result = -EINTR;
                        break;
                }
                snprintf(value, sizeof value, "%llu", (unsigned long long)chunk);
                rc->result = cg_write(rc->fd, "memory.reclaim", value);
                if (rc->result < 0)
                        break;
                left -= chunk;
        }
        rc->has_after = cg_read_u64(rc->fd, "memory.current", &rc->after) >= 0;
}

/* In the thread once abandoned, or in the loop. */
static void reclaim_free(void *p) {
        reclaim *rc = p;

        if (rc->fd >= 0)
                close(rc->fd);
        free(rc);
}

/* Leaves the loop's side: the list, the timer, the node, the principal's
 * count. */
static void reclaim_detach(reclaim *rc) {
        LIST_REMOVE(reclaims, rc->m->reclaims, rc);
        if (rc->timer)
                event_free(rc->timer);
        rc->timer = NULL;
        if (rc->n)
                node_release(rc->n);
        rc->n = NULL;
        quota_give(rc->q, Q_RECLAIMS, 1);
        quota_unref(rc->q);
        rc->q = NULL;
}

static void nudge(reclaim *rc) {
        struct timeval tv = { 0, RECLAIM_NUDGE_MS * 1000 };

        atomic_store(&rc->stop, true);
        offload_interrupt(rc->load);
        evtimer_add(rc->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
        reclaim *rc = arg;

        (void)fd;
        (void)what;
        if (rc->why == GOING) {
                rc->why = TIMED_OUT;
                log_warning("reclaim %s: still working after %u ms; stopping it", rc->name, rc->m->reclaim_timeout_ms);
        }
        nudge(rc);
}

/* Whether RC holds N: it runs on N or below it. */
static bool holds(const reclaim *rc, const node *n) {
        for (const node *a = rc->n; a; a = a->parent)
                if (a == n)
                        return true;
        return false;
}

/* How many reclaims hold N. */
static size_t reclaims_below(manager *m, node *n) {
        size_t k = 0;

        for (reclaim *rc = m->reclaims; rc; rc = rc->reclaims_next)
                k += holds(rc, n);
        return k;
}

static void stop_free(reclaim_stop *s) {
        LIST_REMOVE(stops, s->m->stops, s);
        if (s->timer)
                event_free(s->timer);
        free(s);
}

/* The destroy of S runs now, logged for who asked it. */
static void stop_resume(reclaim_stop *s) {
        manager *m = s->m;
        node *n = tree_lookup(m->root, s->name, NULL, NULL);
        log_context ctx = { .verb = "destroy", .container = s->name, .pid = s->who.pid, .uid = s->who.uid };
        const log_context *saved = log_get_context();
        op_done_fn done = s->done;
        void *userdata = s->userdata;
        status st = { 0 };
        int r;

        if (n)
                n->destroying = false;
        if (s->has_who)
                log_set_context(&ctx);
        r = manager_destroy(m, s->has_who ? &s->who : NULL, s->name, s->recursive, s->force, &st, done, userdata);
        log_set_context(saved);
        stop_free(s);
        if (r != MANAGER_PENDING)
                done(userdata, r, &st);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg) {
        reclaim_stop *s = arg;
        node *n = tree_lookup(s->m->root, s->name, NULL, NULL);
        op_done_fn done = s->done;
        void *userdata = s->userdata;
        status st = { 0 };

        (void)fd;
        (void)what;
        if (n)
                n->destroying = false;
        st_fail(&st, LMCT__V1__CODE__UNAVAILABLE, -ETIMEDOUT,
                "%s: the reclaims in its subtree did not stop within %d s", s->name, s->m->destroy_timeout_ms / 1000);
        log_warning("destroy %s", st.msg);
        stop_free(s);
        done(userdata, -ETIMEDOUT, &st);
}

/* Runs the destroys whose containers are no longer held. */
static void run_stops(manager *m) {
        reclaim_stop *s;

        do {
                for (s = m->stops; s; s = s->stops_next) {
                        node *n = tree_lookup(m->root, s->name, NULL, NULL);
                        if (!n || !n->busy)
                                break;
                }
                if (s)
                        stop_resume(s);
        } while (s);
}

static void reclaim_done(void *p) {
        reclaim *rc = p;
        Lmct__V1__ReclaimResult *res = NULL;
        char a[32], b[32], c[32];
        status st = { 0 };
        int r = rc->result;
        manager *m = rc->m;

        reclaim_detach(rc);
        lmct_format_size(rc->before, b, sizeof b);
        if (rc->has_after)
                lmct_format_size(rc->after, c, sizeof c);
        else
                snprintf(c, sizeof c, "?");
        /* The kernel found no more: a result, not a failure; unless a
         * destroy cut it short (it may have ended so at the signal). */
        if (r == -EAGAIN)
                r = rc->why == DESTROYED ? -EINTR : 0;
        if (r == -EINTR && rc->why == TIMED_OUT)
                st_fail(&st, LMCT__V1__CODE__UNAVAILABLE, -ETIMEDOUT,
                        "reclaim of %s stopped after %u.%03u s, the kernel still at work (memory %s -> %s)", rc->name,
                        m->reclaim_timeout_ms / 1000, m->reclaim_timeout_ms % 1000, b, c);
        else if (r == -EINTR && rc->why == DESTROYED)
                st_fail(&st, LMCT__V1__CODE__UNAVAILABLE, -ECANCELED,
                        "reclaim of %s stopped: it is being destroyed (memory %s -> %s)", rc->name, b, c);
        else if (r == -ENOENT)
                st_fail(&st, LMCT__V1__CODE__FAILED_PRECONDITION, r,
                        "this kernel has no memory.reclaim (Linux 5.19 or later is needed)");
        else if (r < 0)
                st_fail(&st, LMCT__V1__CODE__INTERNAL, r, "cannot reclaim memory of %s: memory.reclaim: %s", rc->name,
                        strerror(-r));
        else if (!(res = malloc(sizeof *res)))
                r = st_fail(&st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        else {
                lmct__v1__reclaim_result__init(res);
                res->has_requested = res->has_complete = res->has_memory_before = true;
                res->requested = rc->asked;
                res->complete = rc->result == 0 && rc->asked == rc->bytes;
                res->memory_before = rc->before;
                res->has_memory_after = rc->has_after;
                res->memory_after = rc->after;
                log_info("reclaim %s: asked %s, memory %s -> %s%s", rc->name, lmct_format_size(rc->asked, a, sizeof a),
                         b, c, res->complete ? "" : " (not all of it)");
        }
        rc->done(rc->userdata, r, &st, res);
        reclaim_free(rc);
        run_stops(m);
}

int manager_reclaim(manager *m, const caller *who, const char *name, bool has_bytes, uint64_t bytes, status *st,
                    reclaim_done_fn done, void *userdata) {
        uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
        unsigned ms = m->reclaim_timeout_ms;
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        char path[LMCT_NAME_MAX + 1], why[sizeof st->msg];
        _cleanup_close_ int fd = -1;
        reclaim *rc;
        node *n;
        int r;

        r = find_node(m, name, false, st, &n);
        if (r < 0)
                return r;
        tree_path(n, path, sizeof path);
        if (!has_bytes || bytes < page)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                               "reclaim: give the bytes to reclaim, at least one page (%llu bytes)",
                               (unsigned long long)page);
        /* The bound first: a refused request changes nothing. */
        r = quota_take(who->q, Q_RECLAIMS, 1);
        if (r < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r, "%s",
                               quota_refusal(who->q, Q_RECLAIMS, r, "has", "reclaims in progress", why, sizeof why));
        rc = calloc(1, sizeof *rc);
        if (!rc) {
                quota_give(who->q, Q_RECLAIMS, 1);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        *rc = (reclaim){ .m = m, .q = quota_ref(who->q), .fd = -1, .bytes = bytes, .done = done, .userdata = userdata };
        snprintf(rc->name, sizeof rc->name, "%s", path);
        LIST_PREPEND(reclaims, m->reclaims, rc);
        /* The container's memory is accounted on its own once the
         * controller is on down to it, as for a limit. */
        r = ensure_controllers(m, n->parent, CG_MASK(CG_MEMORY), st);
        if (r >= 0)
                r = fd = open_node(m, n, st);
        if (r >= 0 && (r = cg_read_u64(fd, "memory.current", &rc->before)) < 0)
                st_fail(st, st_code_from_errno(r), r, "cannot read memory.current of %s: %s", path, strerror(-r));
        if (r < 0) {
                reclaim_detach(rc);
                reclaim_free(rc);
                return r;
        }
        rc->asked = bytes < rc->before / page * page ? bytes : rc->before / page * page;
        rc->fd = TAKE_FD(fd);
        rc->timer = evtimer_new(m->base, on_timer, rc);
        if (!rc->timer || evtimer_add(rc->timer, &tv) < 0 ||
            (r = offload_start(m->base, reclaim_work, reclaim_done, reclaim_free, rc, &rc->load)) < 0) {
                reclaim_detach(rc);
                reclaim_free(rc);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "cannot start a thread");
        }
        rc->n = n;
        node_hold(n);
        return MANAGER_PENDING;
}

int reclaims_stop_then(manager *m, const caller *who, node *n, const char *name, bool recursive, bool force,
                       status *st, op_done_fn done, void *userdata) {
        struct timeval tv = { m->destroy_timeout_ms / 1000, (m->destroy_timeout_ms % 1000) * 1000 };
        reclaim_stop *s;

        if (!n->busy || reclaims_below(m, n) != n->busy)
                return 0;
        s = calloc(1, sizeof *s);
        if (!s)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        *s = (reclaim_stop){ .m = m, .has_who = who != NULL, .recursive = recursive, .force = force, .done = done,
                             .userdata = userdata };
        if (who)
                s->who = *who;
        snprintf(s->name, sizeof s->name, "%s", name);
        LIST_PREPEND(stops, m->stops, s);
        s->timer = evtimer_new(m->base, on_stop_timeout, s);
        if (!s->timer || evtimer_add(s->timer, &tv) < 0) {
                stop_free(s);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        /* Nothing new starts below it meanwhile (find_node refuses it). */
        n->destroying = true;
        for (reclaim *rc = m->reclaims; rc; rc = rc->reclaims_next)
                if (holds(rc, n)) {
                        if (rc->why == GOING)
                                rc->why = DESTROYED;
                        nudge(rc);
                }
        log_info("destroy %s: stopping the reclaims in its subtree first", name);
        return MANAGER_PENDING;
}

void manager_reclaims_abandon(manager *m) {
        status st = { .code = LMCT__V1__CODE__UNAVAILABLE };

        snprintf(st.msg, sizeof st.msg, "lmctld is shutting down");
        while (m->stops) {
                reclaim_stop *s = m->stops;
                op_done_fn done = s->done;
                void *userdata = s->userdata;
                stop_free(s);
                done(userdata, -ECANCELED, &st);
        }
        while (m->reclaims) {
                reclaim *rc = m->reclaims;
                reclaim_done_fn done = rc->done;
                void *userdata = rc->userdata;

                atomic_store(&rc->stop, true);
                offload_interrupt(rc->load);
                reclaim_detach(rc);
                /* The thread frees RC once the kernel returns. */
                offload_abandon(rc->load);
                done(userdata, -ECANCELED, &st, NULL);
        }
}

#include "release.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "util.h"

/* Workers in all, at once for one principal, and kept for the privileged. */
#define WORKERS_MAX 64
#define WORKERS_PER_PRINCIPAL 4
#define WORKERS_RESERVED 8
#define WORKER_STACK (128u << 10)

typedef struct batch batch;
struct batch {
        quota *q;
        unsigned n_conns, n_fds;
        size_t n;
        LIST_FIELDS(batch, list);
        int fds[];
};

struct releaser {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        /* Under LOCK: queued (oldest first), being closed, closed. */
        batch *queue, *working, *done;
        unsigned queued, workers, idle;
        bool stopping;
        size_t pending;
        /* The loop's side: woken when a batch is done. */
        int efd;
        struct event *ev;
        pthread_t threads[WORKERS_MAX];
        void (*notify)(void *userdata);   /* in the loop, after batches were closed */
        void *notify_userdata;
};

/* Whether B's principal is the privileged one (its quota's flag never
 * changes: it may be read from a worker). */
static bool privileged(const batch *b) {
        return b->q && quota_privileged(b->q);
}

/* The oldest batch whose principal may take one more worker: at most a
 * few per principal, and the last few only for the privileged, so that no
 * client whose files never close can stall another's releases. */
static batch *next_batch(releaser *r) {
        unsigned unprivileged = 0;
        batch *b, *w;

        LIST_FOREACH(list, w, r->working)
                unprivileged += !privileged(w);
        LIST_FOREACH(list, b, r->queue) {
                unsigned same = 0;
                if (!privileged(b) && unprivileged >= WORKERS_MAX - WORKERS_RESERVED)
                        continue;
                LIST_FOREACH(list, w, r->working)
                        same += w->q == b->q;
                if (same < WORKERS_PER_PRINCIPAL)
                        return b;
        }
        return NULL;
}

/* Allocates nothing: lmctld starts commands with a raw clone3, and a child
 * must never find the allocator locked by a worker. */
static void *worker(void *arg) {
        releaser *r = arg;
        uint64_t one = 1;

        pthread_mutex_lock(&r->lock);
        for (;;) {
                batch *b = NULL;
                while (!r->stopping && !(b = next_batch(r))) {
                        r->idle++;
                        pthread_cond_wait(&r->cond, &r->lock);
                        r->idle--;
                }
                if (!b)
                        break;
                LIST_REMOVE(list, r->queue, b);
                r->queued--;
                LIST_PREPEND(list, r->working, b);
                pthread_mutex_unlock(&r->lock);
                for (size_t i = 0; i < b->n; i++)
                        close(b->fds[i]);
                pthread_mutex_lock(&r->lock);
                LIST_REMOVE(list, r->working, b);
                LIST_PREPEND(list, r->done, b);
                /* Another principal's batch may have waited for this one's
                 * worker to come free. */
                pthread_cond_signal(&r->cond);
                (void)!write(r->efd, &one, sizeof one);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

static void give_back(batch *b) {
        if (!b->q)
                return;
        quota_give(b->q, Q_CONNS, b->n_conns);
        quota_give(b->q, Q_FDS, b->n_fds);
        quota_unref(b->q);
}

/* In the loop: batches closed by the workers give back their quota. */
static void on_done(evutil_socket_t fd, short what, void *arg) {
        releaser *r = arg;
        uint64_t v;
        batch *done, *b, *next;
        bool any;

        (void)what;
        (void)!read(fd, &v, sizeof v);
        pthread_mutex_lock(&r->lock);
        done = r->done;
        any = done != NULL;
        r->done = NULL;
        pthread_mutex_unlock(&r->lock);
        LIST_FOREACH_SAFE(list, b, next, done) {
                give_back(b);
                r->pending--;
                free(b);
        }
        if (any && r->notify)
                r->notify(r->notify_userdata);
}

void releaser_set_notify(releaser *r, void (*fn)(void *userdata), void *userdata) {
        r->notify = fn;
        r->notify_userdata = userdata;
}

int releaser_new(struct event_base *base, releaser **ret) {
        releaser *r = calloc(1, sizeof *r);

        if (!r)
                return -ENOMEM;
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->cond, NULL);
        r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (r->efd < 0) {
                int e = negerrno();
                free(r);
                return e;
        }
        r->ev = event_new(base, r->efd, EV_READ | EV_PERSIST, on_done, r);
        if (!r->ev || event_add(r->ev, NULL) < 0) {
                if (r->ev)
                        event_free(r->ev);
                close(r->efd);
                free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

/* A worker more, while there are fewer idle ones than queued batches (a
 * worker signalled but not yet awake still counts as idle). Under LOCK. */
static void grow(releaser *r) {
        pthread_attr_t attr;

        if (r->idle >= r->queued || r->workers >= WORKERS_MAX)
                return;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, WORKER_STACK);
        if (pthread_create(&r->threads[r->workers], &attr, worker, r) == 0)
                r->workers++;
        else
                log_warning("cannot start a thread to release client descriptors: %m");
        pthread_attr_destroy(&attr);
}

void release_fds(releaser *r, quota *q, const int *fds, size_t n, unsigned n_conns, unsigned n_fds) {
        batch *b;

        if (n == 0 && n_conns == 0 && n_fds == 0)
                return;
        b = r ? calloc(1, sizeof *b + n * sizeof *fds) : NULL;
        if (!b && !r) {
                /* No loop to protect: the fuzzer's teardown. */
                for (size_t i = 0; i < n; i++)
                        close(fds[i]);
                if (q) {
                        quota_give(q, Q_CONNS, n_conns);
                        quota_give(q, Q_FDS, n_fds);
                }
                return;
        }
        if (!b) {
                /* Out of memory: they stay open (and counted) rather than
                 * be closed here, where a close may wait forever. */
                log_error("out of memory: %zu descriptor%s of a client left open", n, n == 1 ? "" : "s");
                return;
        }
        b->q = quota_ref(q);
        b->n_conns = n_conns;
        b->n_fds = n_fds;
        b->n = n;
        memcpy(b->fds, fds, n * sizeof *fds);
        pthread_mutex_lock(&r->lock);
        LIST_APPEND(list, r->queue, b);
        r->queued++;
        r->pending++;
        grow(r);
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
}

size_t releaser_pending(const releaser *r) {
        return r ? r->pending : 0;
}

releaser *releaser_free(releaser *r) {
        struct timespec until;
        unsigned stuck = 0;
        batch *b, *next;

        if (!r)
                return NULL;
        r->notify = NULL;
        pthread_mutex_lock(&r->lock);
        r->stopping = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        /* A worker stuck in a close is left behind: lmctld is exiting. */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        for (unsigned i = 0; i < r->workers; i++)
                if (pthread_timedjoin_np(r->threads[i], NULL, &until) != 0) {
                        pthread_detach(r->threads[i]);
                        stuck++;
                }
        on_done(r->efd, EV_READ, r);
        LIST_FOREACH_SAFE(list, b, next, r->queue) {
                give_back(b);
                free(b);
        }
        event_free(r->ev);
        if (stuck) {
                /* Their batches and the lock stay theirs. */
                log_warning("%u descriptor%s of clients could not be closed before exit", stuck,
                            stuck == 1 ? "" : "s");
                return NULL;
        }
        close(r->efd);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}

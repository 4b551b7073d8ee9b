#include "offload.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util.h"

struct offload {
        pthread_t thread;        /* joined by the loop, unless abandoned */
        pthread_mutex_t lock;
        bool finished, abandoned;   /* under LOCK */
        int efd;
        struct event *ev;
        void (*work)(void *arg), (*done)(void *arg), (*free_fn)(void *arg);
        void *arg;
};

/* The signal offload_interrupt sends: a handler that does nothing,
 * installed without SA_RESTART, so the call it lands in fails with EINTR. */
#define OFFLOAD_SIGNAL (SIGRTMIN + 2)

static void on_interrupt(int sig) {
        (void)sig;
}

static void install_handler(void) {
        struct sigaction sa = { .sa_handler = on_interrupt };

        sigemptyset(&sa.sa_mask);
        (void)sigaction(OFFLOAD_SIGNAL, &sa, NULL);
}

static void offload_free(offload *o) {
        if (o->ev)
                event_free(o->ev);
        if (o->efd >= 0)
                close(o->efd);
        pthread_mutex_destroy(&o->lock);
        free(o);
}

static void *thread_main(void *p) {
        offload *o = p;
        uint64_t one = 1;
        sigset_t interrupt;
        bool abandoned;

        /* Born with every signal blocked: it takes offload_interrupt's only. */
        sigemptyset(&interrupt);
        sigaddset(&interrupt, OFFLOAD_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &interrupt, NULL);
        o->work(o->arg);
        pthread_mutex_lock(&o->lock);
        abandoned = o->abandoned;
        o->finished = true;
        if (!abandoned)
                (void)!write(o->efd, &one, sizeof one);
        pthread_mutex_unlock(&o->lock);
        if (abandoned) {
                /* The loop has let go of O: it is the thread's to free. */
                o->free_fn(o->arg);
                offload_free(o);
        }
        return NULL;
}

static void on_finished(evutil_socket_t fd, short what, void *p) {
        offload *o = p;
        void (*done)(void *) = o->done;
        void *arg = o->arg;

        (void)fd;
        (void)what;
        /* The thread may still be leaving the lock: gone once joined. */
        pthread_join(o->thread, NULL);
        offload_free(o);
        done(arg);
}

int offload_start(struct event_base *base, void (*work)(void *arg), void (*done)(void *arg),
                  void (*free_fn)(void *arg), void *arg, offload **ret) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        offload *o = calloc(1, sizeof *o);
        sigset_t all, old;
        int r;

        if (!o)
                return -ENOMEM;
        pthread_mutex_init(&o->lock, NULL);
        *o = (offload){ .lock = o->lock, .efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .work = work, .done = done,
                        .free_fn = free_fn, .arg = arg };
        o->ev = o->efd >= 0 ? event_new(base, o->efd, EV_READ, on_finished, o) : NULL;
        if (!o->ev || event_add(o->ev, NULL) < 0) {
                offload_free(o);
                return -ENOMEM;
        }
        pthread_once(&once, install_handler);
        /* SIGTERM and the like are the loop's (libevent's), never a thread's. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&o->thread, NULL, thread_main, o);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                offload_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

void offload_interrupt(offload *o) {
        pthread_mutex_lock(&o->lock);
        /* Not yet joined (the loop joins it, after this): a valid thread. */
        if (!o->finished && !o->abandoned)
                (void)pthread_kill(o->thread, OFFLOAD_SIGNAL);
        pthread_mutex_unlock(&o->lock);
}

void offload_abandon(offload *o) {
        pthread_mutex_lock(&o->lock);
        if (o->finished) {
                /* WORK returned, DONE not yet called: once the thread is
                 * out of the lock, nobody else holds O. */
                pthread_mutex_unlock(&o->lock);
                pthread_join(o->thread, NULL);
                o->free_fn(o->arg);
                offload_free(o);
                return;
        }
        /* The loop lets go of its side now; the thread frees O once WORK
         * returns, and touches nothing here after it sees ABANDONED. */
        event_free(o->ev);
        o->ev = NULL;
        close(o->efd);
        o->efd = -1;
        o->abandoned = true;
        pthread_detach(o->thread);
        pthread_mutex_unlock(&o->lock);
}

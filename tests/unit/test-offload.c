/* offload (sys/offload.c): work in a thread, its end delivered in the loop;
 * offload_interrupt ends a system call the work blocks in with EINTR (a
 * reclaim past its deadline); a process-wide signal never lands on such a
 * thread; an abandoned offload frees its argument when the work returns. */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "offload.h"
#include "test.h"

typedef struct job {
        int fd;                 /* read end of a pipe nobody writes to */
        ssize_t n;
        int err;
        sigset_t mask;          /* the thread's signal mask */
        atomic_bool started;
        bool done;
        struct event_base *base;
} job;

static atomic_int freed;

static void block_in_read(void *p) {
        job *j = p;
        char c;

        pthread_sigmask(SIG_BLOCK, NULL, &j->mask);
        atomic_store(&j->started, true);
        j->n = read(j->fd, &c, 1);
        j->err = j->n < 0 ? errno : 0;
}

static void job_done(void *p) {
        job *j = p;

        j->done = true;
        event_base_loopbreak(j->base);
}

static void job_free(void *p) {
        (void)p;
        atomic_fetch_add(&freed, 1);
}

static void wait_started(job *j) {
        for (int i = 0; i < 2000 && !atomic_load(&j->started); i++)
                usleep(1000);
        usleep(20000); /* into read() by now */
}

static void test_interrupt(void) {
        struct event_base *base = event_base_new();
        struct timeval limit = { 5, 0 };
        int p[2];
        job j = { .base = base };
        offload *o = NULL;

        CHECK(pipe(p) == 0);
        j.fd = p[0];
        CHECK(offload_start(base, block_in_read, job_done, job_free, &j, &o) == 0);
        wait_started(&j);
        /* A process-wide SIGUSR1 (blocked here, as lmctld's loop takes its
         * signals through libevent) stays pending: the thread has it
         * blocked and so never takes it. */
        {
                sigset_t usr1, pending;
                sigemptyset(&usr1);
                sigaddset(&usr1, SIGUSR1);
                pthread_sigmask(SIG_BLOCK, &usr1, NULL);
                kill(getpid(), SIGUSR1);
                usleep(20000);
                CHECK(!j.done);
                sigpending(&pending);
                CHECK(sigismember(&pending, SIGUSR1));
                CHECK(sigismember(&j.mask, SIGUSR1) && sigismember(&j.mask, SIGTERM));
                signal(SIGUSR1, SIG_IGN); /* drop it */
                pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
        }
        offload_interrupt(o);
        event_base_loopexit(base, &limit);
        event_base_dispatch(base);
        CHECK(j.done);
        CHECK(j.n < 0 && j.err == EINTR);
        CHECK(atomic_load(&freed) == 0); /* DONE, not FREE, once delivered */
        close(p[0]);
        close(p[1]);
        event_base_free(base);
}

static void test_abandon(void) {
        struct event_base *base = event_base_new();
        job *j = calloc(1, sizeof *j);
        int p[2];
        offload *o = NULL;

        CHECK(pipe(p) == 0);
        j->fd = p[0];
        j->base = base;
        atomic_store(&freed, 0);
        CHECK(offload_start(base, block_in_read, job_done, job_free, j, &o) == 0);
        wait_started(j);
        offload_abandon(o);
        /* The work returns (the write end closed): the thread frees. */
        close(p[1]);
        for (int i = 0; i < 2000 && atomic_load(&freed) == 0; i++)
                usleep(1000);
        CHECK(atomic_load(&freed) == 1);
        CHECK(!j->done);
        close(p[0]);
        free(j);
        event_base_free(base);
}

TEST_MAIN(test_interrupt(); test_abandon())

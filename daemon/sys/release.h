/* Releasing what a client has a stake in, off the event loop.
 *
 * close() of the last reference to a file can wait for as long as someone
 * else likes: a TCP socket with SO_LINGER and unsent data, a FUSE file
 * whose server does not answer its flush, a Unix socket that still
 * carries such files in its queue. A client's own socket and every
 * descriptor it sent are therefore closed by worker threads, never in the
 * loop. A batch is counted against its principal (quota.h) until it is
 * closed, and one principal occupies at most a few workers at once, so
 * that a client whose files never close stalls only its own releases. */
#pragma once

#include <stddef.h>

#include "quota.h"

struct event_base;
typedef struct releaser releaser;

int releaser_new(struct event_base *base, releaser **ret);
/* Stops the workers that are idle; a batch still queued is dropped (its
 * descriptors stay open until lmctld exits). */
releaser *releaser_free(releaser *r);

/* Takes the N descriptors of FDS to close off the loop. They stay counted
 * against Q as N_CONNS connections and N_FDS descriptors (quota_give is
 * called in the loop once they are closed). R NULL: closed here and now
 * (a daemon without a loop: the fuzzer's teardown). */
void release_fds(releaser *r, quota *q, const int *fds, size_t n, unsigned n_conns, unsigned n_fds);

/* Batches queued or being closed. */
size_t releaser_pending(const releaser *r);
/* FN(USERDATA) is called in the loop after batches were closed. */
void releaser_set_notify(releaser *r, void (*fn)(void *userdata), void *userdata);

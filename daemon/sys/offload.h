/* Work that may wait on something a client named (a bundle on a
 * filesystem that does not answer), done in a thread of its own so that
 * the event loop never waits for it. */
#pragma once

struct event_base;
typedef struct offload offload;

/* Runs WORK(ARG) in a thread. Once it returned, DONE(ARG) is called in the
 * loop, unless offload_abandon came first: then the thread itself calls
 * FREE(ARG) when WORK returns (however long that takes). WORK must touch
 * nothing but ARG. */
int offload_start(struct event_base *base, void (*work)(void *arg), void (*done)(void *arg),
                  void (*free_fn)(void *arg), void *arg, offload **ret);
/* Interrupts O's thread: a system call it is in (or enters before it sees
 * a flag WORK checks) fails with EINTR. Threads of offload take no other
 * signal. Does nothing once WORK returned. */
void offload_interrupt(offload *o);
/* Gives up on O: DONE is never called; ARG is freed when WORK returns, or
 * now if it has. */
void offload_abandon(offload *o);

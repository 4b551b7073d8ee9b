/* Typed cleanup, in systemd's style, for protobuf messages and lmctld's own
 * types: a variable so marked is freed when it goes out of scope, unless
 * TAKE_PTR hands it on.
 *
 *   _cleanup_pb_ Lmct__V1__Limits *l = NULL;
 *   _cleanup_(quota_unrefp) quota *q = quota_get(...);
 */
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "util.h"

/* Any message: each starts with its ProtobufCMessage. */
static inline void pb_freep(void *p) {
        ProtobufCMessage **m = p;

        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_pb_ _cleanup_(pb_freep)

/* Frees each of the N events and buffers that is not NULL: an error
 * path's unwinding of a half-made connection. */
static inline void event_free_each(struct event *const *ev, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (ev[i])
                        event_free(ev[i]);
}

static inline void evbuffer_free_each(struct evbuffer *const *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        evbuffer_free(b[i]);
}

/* FUNCp(TYPE **) calls FUNC on a pointer that is not NULL. */
#define DEFINE_POINTER_CLEANUP(type, func)              \
        static inline void func##p(type **p) {          \
                if (*p)                                 \
                        func(*p);                       \
        }

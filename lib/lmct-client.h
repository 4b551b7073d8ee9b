/* liblmct client API: a blocking connection to lmctld, one call per verb.
 *
 * Every function returns 0 or a negative errno. When the daemon answers
 * with an error status the call returns the errno that matches its code
 * (lmct_code_to_errno) and lmct_client_code() / lmct_client_message() tell
 * the code and the daemon's sentence. Transport failures return the errno
 * of the failing call, with the code UNAVAILABLE. Results are protobuf-c
 * messages owned by the caller: free them with lmct_response_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lmct.pb-c.h"

#define LMCT_PROTOCOL_VERSION 1
#define LMCT_SOCKET_DEFAULT "/run/lmct/lmctld.sock"
#define LMCT_SOCKET_ENV "LMCT_SOCKET"

typedef struct lmct_client lmct_client;
typedef Lmct__V1__Response lmct_response;
typedef Lmct__V1__Limits lmct_limits;

/* PATH NULL: $LMCT_SOCKET, else LMCT_SOCKET_DEFAULT. */
int lmct_connect(const char *path, lmct_client **ret);

/* With ON, a blocking call whose connection closes before its answer
 * begins (lmctld restarted) is sent once more on a new connection. Off by
 * default: the first attempt may have taken effect, so only callers that
 * can tell (lmct_client_retried) should turn it on. */
void lmct_client_set_retry(lmct_client *c, bool on);
/* Whether a call on C was sent a second time. */
bool lmct_client_retried(const lmct_client *c);
lmct_client *lmct_client_free(lmct_client *c);

/* The code and message of the last failed call on C. */
Lmct__V1__Code lmct_client_code(const lmct_client *c);
const char *lmct_client_message(const lmct_client *c);

int lmct_code_to_errno(Lmct__V1__Code code);
const char *lmct_code_name(Lmct__V1__Code code);

/* Pipelining: send a request (its id is set if 0) and read answers in the
 * order the daemon sends them. */
int lmct_send(lmct_client *c, Lmct__V1__Request *req);
/* The same, passing N_FDS descriptors with the frame (SCM_RIGHTS): run and
 * exec take the caller's stdin, stdout and stderr this way. */
int lmct_send_fds(lmct_client *c, Lmct__V1__Request *req, const int *fds, size_t n_fds);
/* For callers that wait on the socket with poll(): its fd, and whether
 * answers are already buffered (poll would not report them). */
int lmct_client_fd(const lmct_client *c);
bool lmct_client_buffered(const lmct_client *c);
int lmct_recv(lmct_client *c, lmct_response **ret);
/* One request, wait for its answer; a non-OK status is returned as an errno. */
int lmct_call(lmct_client *c, Lmct__V1__Request *req, lmct_response **ret);
lmct_response *lmct_response_free(lmct_response *r);

int lmct_version(lmct_client *c, lmct_response **ret);
int lmct_create(lmct_client *c, const char *name, const lmct_limits *limits, bool parents);
/* create, handing the subtree to OWNER_UID (and OWNER_GID, default the
 * uid's number) when not NULL: root only. */
int lmct_create_owned(lmct_client *c, const char *name, const lmct_limits *limits, bool parents,
                      const uint32_t *owner_uid, const uint32_t *owner_gid);
int lmct_update(lmct_client *c, const char *name, const lmct_limits *limits);
/* create, update and list with every field of their requests (labels,
 * list selectors). */
int lmct_create_request(lmct_client *c, const Lmct__V1__CreateRequest *create);
int lmct_update_request(lmct_client *c, const Lmct__V1__UpdateRequest *update);
int lmct_list_request(lmct_client *c, const Lmct__V1__ListRequest *list, lmct_response **ret);
int lmct_destroy(lmct_client *c, const char *name, bool recursive, bool force);
int lmct_list(lmct_client *c, const char *name, bool recursive, lmct_response **ret);
int lmct_show(lmct_client *c, const char *name, lmct_response **ret);
int lmct_ps(lmct_client *c, const char *name, bool recursive, lmct_response **ret);
int lmct_enter(lmct_client *c, const char *name, const int32_t *pids, size_t n_pids);
int lmct_pause(lmct_client *c, const char *name);
int lmct_resume(lmct_client *c, const char *name);
int lmct_kill(lmct_client *c, const char *name, int signal);
int lmct_detect(lmct_client *c, int32_t pid, char **ret_name);
/* Statistics of NAME (and with RECURSIVE its subtree): RET's stats. */
int lmct_stats(lmct_client *c, const char *name, bool recursive, lmct_response **ret);
/* Proactive reclaim: asks the kernel to take BYTES back from NAME's memory
 * (at most its usage), waiting while it works; RET's reclaim says how much
 * was asked, whether all of it came back, and the usage before and after. */
int lmct_reclaim(lmct_client *c, const char *name, uint64_t bytes, lmct_response **ret);
/* Subscribes C to the events of NAME (and below, with RECURSIVE): RET (if
 * not NULL) gets the answer, a "subscribed" event; then each lmct_recv
 * returns one event (its event field) until C is closed. Use the
 * connection for nothing else afterwards. */
int lmct_events(lmct_client *c, const char *name, bool recursive, lmct_response **ret);
/* The same with every option of EVENTS: a memory usage threshold
 * (memory_above) and PSI triggers (pressure), for the named container. */
int lmct_events_request(lmct_client *c, const Lmct__V1__EventsRequest *events, lmct_response **ret);

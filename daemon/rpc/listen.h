/* Listening on a Unix socket path: lmctld's own socket and the metrics
 * socket. */
#pragma once

#include <sys/types.h>

/* Binds PATH (its directory made if missing), replacing a stale socket but
 * never a live one's, with MODE and, unless GID is -1, that group. Returns
 * a listening, non-blocking descriptor or a negative errno (logged). */
int listen_unix(const char *path, mode_t mode, gid_t gid);

/* Bounds on what callers may hold in lmctld, counted per principal and in
 * all, with room always kept for the privileged.
 *
 * A principal is who a bound is counted against: a user (uid) for a caller
 * outside every container, and the top-level container for a caller inside
 * one, whatever its uid (root inside team1 and root inside team2 are two
 * principals, and neither is the host's root). The privileged principal
 * (root outside every container, with CAP_SYS_ADMIN) has no bound of its
 * own; every other principal has one per kind, and all of them together
 * may use the global bound less a reserve that only the privileged may
 * take. So no user and no container can fill a table that root needs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum quota_kind {
        Q_CONNS,        /* connections (each holds its socket and the peer's pidfd) */
        Q_FDS,          /* descriptors a client sent, held or not yet released */
        Q_RUNS,         /* commands lmctld tracks, detached ones included */
        Q_SUBS,         /* event subscriptions */
        Q_TRIGGERS,     /* PSI triggers (a descriptor each) */
        Q_THRESHOLDS,   /* memory thresholds (two descriptors each) */
        Q_WAITS,        /* requests in flight (destroy -f and pause wait, holding a descriptor) */
        Q_OUTPUT,       /* bytes of answers queued, not yet sent */
        Q_RECLAIMS,     /* memory.reclaim writes in progress (a thread each) */
        _Q_MAX,
} quota_kind;

typedef struct quota quota;

/* The entry of principal KEY ("uid 1000", "container team1", "root"),
 * created on first use; a reference for the caller. */
quota *quota_get(const char *key, bool privileged);
quota *quota_ref(quota *q);
void quota_unref(quota *q);

/* Takes N of kind K for Q: 0, or -EDQUOT when Q's own bound would be
 * passed, or -ENFILE when the global one would (what remains for the
 * unprivileged, for them). */
int quota_take(quota *q, quota_kind k, uint64_t n);
void quota_give(quota *q, quota_kind k, uint64_t n);
/* Adds or removes (DELTA < 0) without a check: output that is already
 * queued is counted, and -EDQUOT/-ENFILE tell whether Q is now over. */
int quota_adjust(quota *q, quota_kind k, int64_t delta);
/* Whether Q is at or past its bound of kind K (or the unprivileged are at
 * theirs in all), so that it should wait before taking more. With HALF,
 * whether it is past half of it: the level at which waiting stops. */
bool quota_over(const quota *q, quota_kind k, bool half);

/* Why quota_take refused Q (R: -EDQUOT or -ENFILE), as one sentence into
 * BUF: "KEY VERB N WHAT already (at most M)", with " in all, some kept for
 * root" when the global bound was reached. Returns BUF. */
const char *quota_refusal(const quota *q, quota_kind k, int r, const char *verb, const char *what, char *buf,
                          size_t len);

uint64_t quota_used(const quota *q, quota_kind k);
const char *quota_key(const quota *q);
bool quota_privileged(const quota *q);
/* Q's own bound of kind K (UINT64_MAX for the privileged), and the global one. */
uint64_t quota_limit(const quota *q, quota_kind k);
uint64_t quota_global_limit(quota_kind k);
/* What kind K is called in messages ("connections", "bytes of answers"). */
const char *quota_kind_name(quota_kind k);

/* The descriptors lmctld needs when every global bound is reached. */
uint64_t quota_descriptors_needed(void);
/* Scales the global bounds (and the reserves) by NUM/DEN: for a daemon
 * whose descriptor limit could not be raised to what they need. */
void quota_scale(uint64_t num, uint64_t den);
/* Replaces the bounds of kind K (tests and lmctld's options). */
void quota_set_limits(quota_kind k, uint64_t per_principal, uint64_t global, uint64_t reserve);

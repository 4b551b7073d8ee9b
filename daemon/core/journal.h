/* Crash consistency for the verbs that take more than one syscall.
 *
 * Before the first change, lmctld records what it is about to do in an
 * extended attribute of its root cgroup (trusted.lmct.intent, or
 * user.lmct.intent for a daemon without CAP_SYS_ADMIN), and removes
 * it after the last. The record lives exactly as long as the cgroups it
 * describes, and the daemon runs one such operation at a time, so one slot
 * is enough. At start, a record left by a daemon that died midway is
 * resolved before the tree is read:
 *
 *   create NAME        NAME is the first directory the create made: it is
 *                      removed with everything below it (the request was
 *                      never answered OK, so it never happened)
 *   update NAME        followed by "file=old value" lines: the old values
 *                      are written back (likewise undone); a "labels=" line
 *                      holds the old labels, newlines as tabs
 *   destroy NAME       the removal is finished (an rmdir cannot be undone)
 *
 * Single-syscall operations (mkdir of one directory without limits, a
 * one-file update, rmdir of a leaf) are atomic already and skip the record. */
#pragma once

#include "climits.h"
#include "manager.h"

/* Records the intent (with OLD's saved values and OLD_LABELS, the labels to
 * put back, when not NULL): 0, or a negative errno if it cannot be recorded (the
 * operation is then refused). A no-op where the root's cgroupfs takes no
 * extended attributes at all (logged once at start). */
int journal_begin(manager *m, const char *verb, const char *name, const limit_plan *old, const char *old_labels,
                  const char *old_devices);
void journal_end(manager *m);

/* Resolves a record left by a previous daemon, before the tree is read,
 * and finds which attribute namespace this daemon can write. What cannot
 * be resolved (a cgroup that gained processes) is logged and adopted as it
 * is. */
void journal_recover(manager *m);

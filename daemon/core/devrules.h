/* A container's device rules: a BPF_CGROUP_DEVICE program attached to its
 * cgroup, and the rules as text in an extended attribute of the cgroup
 * (m->devices_xattr), one per line ("allow c 1:3 rw"). The kernel keeps
 * both as long as the cgroup lives; a restarted lmctld finds the program
 * attached and checks it against the record (adopt, never duplicate). */
#pragma once

#include <stdbool.h>

#include "lmct-limits.h"
#include "lmct.pb-c.h"
#include "manager.h"
#include "status.h"

#define DEVRULES_TEXT_MAX 8192

typedef struct devrules_op {
        bool change;            /* the request gives rules */
        int progfd;             /* the new program; -1: none (rules removed) */
        char record[DEVRULES_TEXT_MAX]; /* the new record, "" when removed */
        char old[DEVRULES_TEXT_MAX];    /* the record before (devrules_apply) */
} devrules_op;

/* Checks L's device rules and loads their program, before anything is
 * written. OP is set up even when L gives none (devrules_done is safe). */
int devrules_prepare(manager *m, const Lmct__V1__Limits *l, devrules_op *op, status *st);

/* The record of the cgroup FD into BUF (DEVRULES_TEXT_MAX): "" if none. */
void devrules_read_record(const manager *m, int fd, char *buf, size_t len);

/* Puts OP's rules on the cgroup CGFD: the record first, then the program
 * (attached before the old one is detached). On failure nothing changed. */
int devrules_apply(manager *m, devrules_op *op, int cgfd, const char *name, status *st);

/* Restores RECORD as the cgroup's record (the journal's undo). */
int devrules_write_record(const manager *m, int fd, const char *record);

void devrules_done(devrules_op *op);

/* One rule as the protocol's message (NULL: out of memory). */
Lmct__V1__DeviceRule *devrules_rule_message(const lmct_device_rule *dr, bool allow);

/* The rules recorded on the cgroup FD, or NULL when it has none. */
int devrules_read(const manager *m, int fd, Lmct__V1__DeviceRules **ret);

/* At adoption: the program attached to the cgroup FD is the one its record
 * gives, or it is put back from the record. */
void devrules_adopt(manager *m, int fd, const char *name);

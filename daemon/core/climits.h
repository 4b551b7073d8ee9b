/* Container limits <-> cgroup interface files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lmct.pb-c.h"
#include "status.h"

#define CLIMITS_WRITES_MAX 48

typedef struct limit_write {
        char file[40];
        const char *what;      /* the limit's name for messages: "memory-high" */
        int controller;
        char key[24];          /* a file of per-device lines (io.max): the
                                * line's "MAJ:MIN", what is saved and restored */
        bool optional;         /* a file the kernel may lack: skipped then */
        char value[128];
        char old[128];         /* for rollback */
        bool done;
} limit_write;

typedef struct limit_plan {
        limit_write w[CLIMITS_WRITES_MAX];
        size_t n;
        unsigned mask;         /* controllers the writes need */
        bool saved;            /* old values read (climits_save) */
} limit_plan;

/* Validates L and turns it into writes. DIRFD is the existing container
 * (for values that combine with what is set: cpu.max's quota and period),
 * or -1 for a new one. INVALID_ARGUMENT naming the limit on bad values. */
/* Whether FILE is a cgroup file lmctld writes as a limit. */
bool climits_file(const char *file);

int climits_plan(const Lmct__V1__Limits *l, int dirfd, limit_plan *plan, status *st);

/* Reads the values PLAN will overwrite into it. */
void climits_save(limit_plan *plan, int dirfd);

/* Applies PLAN to DIRFD. With ROLLBACK, values it overwrote are restored
 * when a later write fails. */
int climits_apply(limit_plan *plan, int dirfd, bool rollback, status *st);

/* Puts back what an applied PLAN (applied with ROLLBACK) overwrote. */
void climits_undo(limit_plan *plan, int dirfd);

/* Reads the limits configured on DIRFD (fields whose files exist). */
int climits_read(int dirfd, Lmct__V1__Limits **ret);

/* Folds the limits of an ancestor into EFF: keeps the tighter of each. */
void climits_tighten(Lmct__V1__Limits *eff, const Lmct__V1__Limits *anc);

Lmct__V1__Limits *climits_new(void);
/* Appends a page size's bound to L; the entry of device MAJ:MIN in L,
 * added when absent. NULL when out of memory. */
Lmct__V1__HugetlbLimit *climits_hugetlb_add(Lmct__V1__Limits *l, const char *page_size, uint64_t max);
Lmct__V1__IoDeviceLimit *climits_io_device(Lmct__V1__Limits *l, uint32_t maj, uint32_t min);
/* Whether L names any limit at all. */
bool climits_any(const Lmct__V1__Limits *l);

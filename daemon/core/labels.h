/* Container labels: "key=value\n" lines sorted by key, kept in an extended
 * attribute of the container's cgroup (m->labels_xattr), so that the
 * kernel holds them as long as the container lives, across restarts of
 * lmctld, with nothing for lmctld to save or adopt. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lmct-name.h"
#include "lmct.pb-c.h"
#include "manager.h"
#include "status.h"

/* Room for a container's labels as text, with its NUL. */
#define LABELS_TEXT_MAX (LMCT_LABELS_BYTES_MAX + 1)

/* A change to a container's labels (UpdateRequest). */
typedef struct label_change {
        Lmct__V1__Label *const *set;
        size_t n_set;
        char *const *remove;
        size_t n_remove;
} label_change;

/* The labels of the cgroup FD into BUF (LABELS_TEXT_MAX bytes): "" when
 * it has none. */
int labels_read(const manager *m, int fd, char *buf, size_t len);

/* OLD ("" for none) changed by LC into OUT (LABELS_TEXT_MAX bytes), every
 * label checked and the result within the bounds. */
int labels_edit(const char *old, const label_change *lc, char *out, size_t len, status *st);

/* Writes TEXT as the labels of the cgroup FD ("" removes them). */
int labels_write(const manager *m, int fd, const char *text);

/* TEXT as Label messages. */
int labels_to_proto(const char *text, Lmct__V1__Label ***ret, size_t *n_ret);

/* Checks list selectors: valid keys, and values when given. */
int labels_check_selector(Lmct__V1__Label *const *sel, size_t n, status *st);
/* Whether TEXT carries every label of SEL (one without value: the key). */
bool labels_match(const char *text, Lmct__V1__Label *const *sel, size_t n);

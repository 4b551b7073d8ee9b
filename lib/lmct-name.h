/* Container names: components joined by '/'. */
#pragma once

#include <stddef.h>

#define LMCT_NAME_DEPTH_MAX 32
#define LMCT_COMPONENT_MAX 64
/* Longest normalized name: 32 components of 64 bytes and their slashes. */
#define LMCT_NAME_MAX (LMCT_NAME_DEPTH_MAX * (LMCT_COMPONENT_MAX + 1))

/* Name of the hidden leaf cgroup holding a container's own processes. It
 * starts with '_', which no container name may, and has no '.', which every
 * kernel interface file has. */
#define LMCT_LEAF "_self"

/* Check NAME (LEN bytes, may hold NULs) against the grammar: components
 * matching [A-Za-z0-9][A-Za-z0-9_-]{0,63}, joined by single '/', an optional
 * leading '/', at most MAX_DEPTH components. The empty name and "/" are the
 * root and are refused unless ALLOW_ROOT. On success returns the depth
 * (0 for the root) and stores in *RET_SKIP the number of leading bytes
 * ('/') to skip for the normalized form. On failure returns -EINVAL and
 * writes a sentence naming the offending part into ERR. */
int lmct_name_check(const char *name, size_t len, unsigned max_depth, int allow_root,
                    size_t *ret_skip, char *err, size_t errlen);

/* Pointer into NAME at its last component (NAME itself if it has one). */
const char *lmct_name_last(const char *name);

/* Labels (see Label in lmct.proto): a key is 1 to LMCT_LABEL_KEY_MAX
 * characters of letters, digits and . _ / -, beginning and ending with a
 * letter or digit; a value is up to LMCT_LABEL_VALUE_MAX bytes without
 * control characters. */
#define LMCT_LABEL_KEY_MAX 128
#define LMCT_LABEL_VALUE_MAX 255
#define LMCT_LABELS_MAX 32
#define LMCT_LABELS_BYTES_MAX 4096

/* NULL when KEY (and VALUE, unless NULL) make a valid label; otherwise
 * why not, as a static sentence ("a label key must ..."). */
const char *lmct_label_problem(const char *key, const char *value);

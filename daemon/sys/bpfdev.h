/* Device rules as a BPF_CGROUP_DEVICE program on a cgroup. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lmct-limits.h"

/* Loads the program for RULES (the last that matches decides, default
 * deny); its descriptor in *RET_FD. The kernel's verifier log, if it
 * refuses, goes to LOG. */
int bpfdev_load(const lmct_device_rule *rules, const int *allow, size_t n, int *ret_fd, char *log, size_t log_len);

/* The device programs attached to CGFD itself, by id (at most MAX). */
int bpfdev_query(int cgfd, uint32_t *ids, size_t max, size_t *ret_n);

/* Attaches PROGFD to CGFD (BPF_F_ALLOW_MULTI) and then detaches every
 * other device program attached to CGFD itself, so that there is no
 * moment without rules. PROGFD -1: detaches them all. */
int bpfdev_replace(int cgfd, int progfd);

/* The kernel's tag of a program (a hash of its instructions). */
int bpfdev_tag(int progfd, uint8_t tag[8]);
int bpfdev_tag_by_id(uint32_t id, uint8_t tag[8]);

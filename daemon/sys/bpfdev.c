#include "bpfdev.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

/* The instructions used here, as the kernel's filter.h spells them. */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_IMM(dst, imm, off) INSN(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JEQ_IMM(dst, imm, off) INSN(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* At most 6 + 14 per rule + 2 instructions. */
#define INSNS_MAX (8 + 14 * LMCT_DEVICE_RULES_MAX)

static int sys_bpf(int cmd, union bpf_attr *attr) {
        long r = syscall(SYS_bpf, cmd, attr, sizeof *attr);
        return r < 0 ? -errno : (int)r;
}

/* The program: the request's type in r2, access in r3, major in r4,
 * minor in r5; each rule, from the last to the first, a block that jumps
 * past its verdict when the request does not match it; then deny.
 *
 * Each test works on a copy in r1 changed by an ALU operation, so that no
 * path learns anything of r2..r5: every path reaches the next block in the
 * same state, the verifier prunes them, and a program costs it time in
 * proportion to its rules (a bare compare of r2..r5 makes the paths
 * differ, and its time grows with the square of the rules). */
static size_t build(const lmct_device_rule *rules, const int *allow, size_t n, struct bpf_insn *p) {
        const unsigned all = LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD;
        size_t k = 0;

        p[k++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
        p[k++] = ALU32_IMM(BPF_AND, BPF_REG_2, 0xFFFF);
        p[k++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
        p[k++] = ALU32_IMM(BPF_RSH, BPF_REG_3, 16);
        p[k++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
        p[k++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);
        for (size_t i = n; i-- > 0;) {
                const lmct_device_rule *r = &rules[i];
                bool has_type = r->type != 'a', has_access = (r->access & all) != all;
                bool has_major = r->major >= 0, has_minor = r->minor >= 0;
                /* Instructions from the first test to the verdict, 3 a test. */
                int left = 3 * (has_type + has_access + has_major + has_minor);
                unsigned acc = (r->access & LMCT_DEV_READ ? BPF_DEVCG_ACC_READ : 0) |
                               (r->access & LMCT_DEV_WRITE ? BPF_DEVCG_ACC_WRITE : 0) |
                               (r->access & LMCT_DEV_MKNOD ? BPF_DEVCG_ACC_MKNOD : 0);
                const unsigned acc_all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

                /* Each jump skips the rest of the tests and the verdict (2). */
                if (has_type) {
                        p[k++] = MOV32_REG(BPF_REG_1, BPF_REG_2);
                        p[k++] = ALU32_IMM(BPF_XOR, BPF_REG_1, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
                        p[k++] = JNE_IMM(BPF_REG_1, 0, (left -= 3) + 2);
                }
                if (has_access) {
                        /* An allow rule matches a request within its access
                         * (nothing outside it); a deny rule one that shares any
                         * of it (an O_RDWR open asks for both: a rule denying w
                         * denies it), as cgroup v1 did. */
                        p[k++] = MOV32_REG(BPF_REG_1, BPF_REG_3);
                        if (allow[i]) {
                                p[k++] = ALU32_IMM(BPF_AND, BPF_REG_1, (int)(acc_all & ~acc));
                                p[k++] = JNE_IMM(BPF_REG_1, 0, (left -= 3) + 2);
                        } else {
                                p[k++] = ALU32_IMM(BPF_AND, BPF_REG_1, (int)acc);
                                p[k++] = JEQ_IMM(BPF_REG_1, 0, (left -= 3) + 2);
                        }
                }
                if (has_major) {
                        p[k++] = MOV32_REG(BPF_REG_1, BPF_REG_4);
                        p[k++] = ALU32_IMM(BPF_XOR, BPF_REG_1, (int)r->major);
                        p[k++] = JNE_IMM(BPF_REG_1, 0, (left -= 3) + 2);
                }
                if (has_minor) {
                        p[k++] = MOV32_REG(BPF_REG_1, BPF_REG_5);
                        p[k++] = ALU32_IMM(BPF_XOR, BPF_REG_1, (int)r->minor);
                        p[k++] = JNE_IMM(BPF_REG_1, 0, (left -= 3) + 2);
                }
                p[k++] = MOV64_IMM(BPF_REG_0, allow[i] ? 1 : 0);
                p[k++] = EXIT();
                /* A rule that matches every request decides them all: the
                 * rules before it never get a say (and the verifier refuses
                 * instructions it cannot reach). */
                if (!has_type && !has_access && !has_major && !has_minor)
                        return k;
        }
        p[k++] = MOV64_IMM(BPF_REG_0, 0);
        p[k++] = EXIT();
        return k;
}

int bpfdev_load(const lmct_device_rule *rules, const int *allow, size_t n, int *ret_fd, char *log, size_t log_len) {
        _cleanup_free_ struct bpf_insn *insns = NULL;
        union bpf_attr attr;
        size_t k;
        int fd;

        if (n > LMCT_DEVICE_RULES_MAX)
                return -E2BIG;
        insns = calloc(INSNS_MAX, sizeof *insns);
        if (!insns)
                return -ENOMEM;
        k = build(rules, allow, n, insns);
        memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)insns;
        attr.insn_cnt = (uint32_t)k;
        attr.license = (uint64_t)(uintptr_t) "GPL";
        /* Without the verifier's log (which costs most of its time), and
         * with it only to say why the kernel refused. */
        if (log && log_len > 0)
                log[0] = '\0';
        fd = sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd < 0 && fd != -EPERM && log && log_len > 1) {
                int again;
                attr.log_buf = (uint64_t)(uintptr_t)log;
                attr.log_size = (uint32_t)log_len;
                attr.log_level = 1;
                again = sys_bpf(BPF_PROG_LOAD, &attr);
                if (again >= 0)
                        fd = again; /* accepted the second time: so be it */
        }
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int bpfdev_query(int cgfd, uint32_t *ids, size_t max, size_t *ret_n) {
        union bpf_attr attr;
        int r;

        memset(&attr, 0, sizeof attr);
        attr.query.target_fd = (uint32_t)cgfd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
        attr.query.prog_cnt = (uint32_t)max;
        r = sys_bpf(BPF_PROG_QUERY, &attr);
        if (r < 0 && r != -ENOSPC)
                return r;
        *ret_n = attr.query.prog_cnt < max ? attr.query.prog_cnt : max;
        return r < 0 ? r : 0;
}

static int fd_by_id(uint32_t id) {
        union bpf_attr attr;

        memset(&attr, 0, sizeof attr);
        attr.prog_id = id;
        return sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}

int bpfdev_tag(int progfd, uint8_t tag[8]) {
        struct bpf_prog_info info;
        union bpf_attr attr;
        int r;

        memset(&info, 0, sizeof info);
        memset(&attr, 0, sizeof attr);
        attr.info.bpf_fd = (uint32_t)progfd;
        attr.info.info_len = sizeof info;
        attr.info.info = (uint64_t)(uintptr_t)&info;
        r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
        if (r < 0)
                return r;
        memcpy(tag, info.tag, 8);
        return 0;
}

int bpfdev_tag_by_id(uint32_t id, uint8_t tag[8]) {
        _cleanup_close_ int fd = fd_by_id(id);

        return fd < 0 ? fd : bpfdev_tag(fd, tag);
}

static int detach(int cgfd, int progfd) {
        union bpf_attr attr;

        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t)cgfd;
        attr.attach_bpf_fd = (uint32_t)progfd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        return sys_bpf(BPF_PROG_DETACH, &attr);
}

int bpfdev_replace(int cgfd, int progfd) {
        uint32_t ids[64];
        size_t n = 0;
        union bpf_attr attr;
        int r;

        r = bpfdev_query(cgfd, ids, ELEMENTSOF(ids), &n);
        if (r < 0)
                return r;
        if (progfd >= 0) {
                memset(&attr, 0, sizeof attr);
                attr.target_fd = (uint32_t)cgfd;
                attr.attach_bpf_fd = (uint32_t)progfd;
                attr.attach_type = BPF_CGROUP_DEVICE;
                attr.attach_flags = BPF_F_ALLOW_MULTI;
                r = sys_bpf(BPF_PROG_ATTACH, &attr);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int old = fd_by_id(ids[i]);
                if (old < 0)
                        continue; /* gone meanwhile */
                r = detach(cgfd, old);
                if (r < 0 && r != -ENOENT) {
                        /* Back to what was attached (an old one may be gone:
                         * the new one stays then, never none). */
                        if (progfd >= 0 && i == 0)
                                (void)detach(cgfd, progfd);
                        return r;
                }
        }
        return 0;
}

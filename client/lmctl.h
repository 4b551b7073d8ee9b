/* lmctl: the command-line client. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lmct.h"
#include "lmct-name.h"
#include "util.h"

/* Exit statuses (documented in lmctl --help and the README). */
enum {
        EXIT_OK = 0,
        EXIT_FAILURE_ = 1,      /* any other failure */
        EXIT_USAGE = 2,         /* bad command line or invalid argument */
        EXIT_NOT_FOUND = 3,
        EXIT_EXISTS = 4,
        EXIT_DENIED = 5,
        EXIT_UNREACHABLE = 6,   /* lmctld is not running or not reachable */
        EXIT_PRECONDITION = 7,  /* refused in the current state (busy, has children, controller missing) */
};

typedef struct ctx {
        const char *socket;
        bool json;
        const char *verb;
        lmct_client *client;
} ctx;

typedef struct cmd {
        const char *name;
        const char *args;
        const char *summary;
        int (*run)(ctx *c, int argc, char **argv);
} cmd;

/* Connects to lmctld; on failure prints why and returns EXIT_UNREACHABLE. */
int connect_daemon(ctx *c);
/* Prints "lmctl: VERB WHAT: message" for a failed call and returns the exit status for it. */
int call_failed(ctx *c, const char *what, int r);
/* Prints "lmctl: VERB: message" and returns EXIT_USAGE. */
int usage_error(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the verb's own usage line. */
void cmd_usage(const char *verb);

/* Limit flags shared by create and update: "--cpu" ... */
#define LIMIT_OPTS_HELP                                                                                   \
        "  --cpu N            CPUs (6, 0.5; max): cpu.max quota N x period\n"                             \
        "  --cpu-period US    cpu.max period in microseconds (default 100000)\n"                          \
        "  --cpu-weight W     cpu.weight 1..10000\n"                                                      \
        "  --cpuset LIST      cpuset.cpus, e.g. 0-3,6\n"                                                  \
        "  --cpuset-mems LIST cpuset.mems: memory nodes, e.g. 0-1\n"                                        \
        "  --cpu-idle[=on|off] cpu.idle: run at idle priority, yielding to every other container\n"          \
        "  --cpu-burst US     cpu.max.burst: unused quota spendable beyond cpu.max, at most the quota\n"     \
        "  --memory SIZE      memory.max (512M, 4G; max)\n"                                               \
        "  --memory-high SIZE memory.high\n"                                                              \
        "  --memory-low SIZE  memory.low\n"                                                               \
        "  --memory-min SIZE  memory.min\n"                                                               \
        "  --swap SIZE        memory.swap.max\n"                                                          \
        "  --oom-group[=on|off] memory.oom.group: an OOM kill takes the whole container\n"                \
        "  --pids N           pids.max (or max)\n"                                                        \
        "  --io-weight W      io.weight 1..10000 (the default for every device)\n"                        \
        "  --io-weight DEV:W  the weight on one disk, a path or MAJ:MIN (DEV:default removes it)\n"      \
        "  --io-max DEV:KEY=V,... bounds on one disk: rbps, wbps (bytes per second: 10M),\n"        \
        "                     riops, wiops (operations per second); max removes one\n"              \
        "  --hugetlb SIZE=LIMIT huge pages of one size (2MB, 1GB): hugetlb.SIZE.max (64M; max)\n"     \
        "  --device-allow RULE, --device-deny RULE  device rules, 'c 1:3 rw', 'b 8:* r', 'a': all\n"  \
        "                     others denied once one is given; the last rule that matches decides\n"   \
        "  --no-device-rules  remove the container's device rules\n"                                   \
        "  --max-descendants N  containers allowed below, at any depth (or max;\n"                        \
        "                     alias --max-children): cgroup.max.descendants\n"                            \
        "  --max-depth N      levels of containers allowed below (or max): cgroup.max.depth\n"

/* Parses one limit option (by its long name) into L. Returns 0, or
 * prints a usage error and returns EXIT_USAGE. */
int limit_opt(ctx *c, const char *opt, const char *value, Lmct__V1__Limits *l);
/* Frees what limit_opt allocated in L and empties it. */
void limits_clear(Lmct__V1__Limits *l);
extern const struct option limit_options[];
/* Copies the limit options and their terminator into TO (ROOM entries). */
size_t limit_options_copy(struct option *to, size_t room);
#define LIMIT_OPT_BASE 1000

/* --label values collected from the command line. */
typedef struct label_opts {
        Lmct__V1__Label l[LMCT_LABELS_MAX], *p[LMCT_LABELS_MAX];
        size_t n;
        char *remove[LMCT_LABELS_MAX];
        size_t n_remove;
        char *keys[2 * LMCT_LABELS_MAX]; /* copies, freed by label_opts_done */
        size_t n_keys;
} label_opts;
enum label_mode {
        LABEL_SET,    /* create: KEY=VALUE */
        LABEL_EDIT,   /* update: KEY=VALUE, or KEY- to remove */
        LABEL_SELECT, /* list: KEY=VALUE, or KEY for any value */
};
/* Adds one --label ARG to LO. Returns 0, or prints a usage error and
 * returns EXIT_USAGE. */
int label_opt(ctx *c, const char *arg, enum label_mode mode, label_opts *lo);
void label_opts_done(label_opts *lo);

/* The options of a verb that takes --json and --help alone, then NPOS
 * arguments (MISSING says what they are): -1 to go on (optind at the
 * first), or the exit status. */
int json_help_options(ctx *c, int argc, char **argv, int npos, const char *missing);

/* JSON output of a value that may be "max". */
struct json_object *json_limit(unsigned long long v);

int cmd_version(ctx *c, int argc, char **argv);
int cmd_create(ctx *c, int argc, char **argv);
int cmd_update(ctx *c, int argc, char **argv);
int cmd_destroy(ctx *c, int argc, char **argv);
int cmd_list(ctx *c, int argc, char **argv);
int cmd_show(ctx *c, int argc, char **argv);
int cmd_ps(ctx *c, int argc, char **argv);
int cmd_enter(ctx *c, int argc, char **argv);
int cmd_pause(ctx *c, int argc, char **argv);
int cmd_resume(ctx *c, int argc, char **argv);
int cmd_kill(ctx *c, int argc, char **argv);
int cmd_reclaim(ctx *c, int argc, char **argv);
int cmd_detect(ctx *c, int argc, char **argv);
int cmd_run(ctx *c, int argc, char **argv);
int cmd_exec(ctx *c, int argc, char **argv);
int cmd_spec(ctx *c, int argc, char **argv);
int cmd_stats(ctx *c, int argc, char **argv);
int cmd_events(ctx *c, int argc, char **argv);
int cmd_top(ctx *c, int argc, char **argv);

/* Any protobuf-c message as JSON (field names as in the .proto). */
struct json_object *pb_to_json(const ProtobufCMessage *m);

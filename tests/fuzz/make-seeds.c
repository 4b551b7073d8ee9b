/* Writes the seed corpora of the fuzz harnesses: one file per request kind
 * (framed as on the wire, after the caller byte fuzz-request reads), and
 * typical names and limit strings.
 *
 *   make-seeds DIR      (makes DIR/request, DIR/frame, DIR/name, DIR/limits) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lmct-frame.h"
#include "lmct.pb-c.h"

static const char *dir;

static void put(const char *sub, const char *name, const void *data, size_t len) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, sub);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
        f = fopen(path, "we");
        if (!f || fwrite(data, 1, len, f) != len) {
                perror(path);
                exit(1);
        }
        fclose(f);
}

static void seed(const char *name, Lmct__V1__Request *req) {
        uint8_t buf[4096];
        size_t n = 1, len = lmct__v1__request__get_packed_size(req);

        buf[0] = 0; /* the caller: root */
        n += lmct_varint_encode(len, buf + 1);
        lmct__v1__request__pack(req, buf + n);
        n += len;
        put("frame", name, buf + 1, n - 1);
        put("request", name, buf, n);
        char other[128];
        buf[0] = 1; /* another uid */
        snprintf(other, sizeof other, "%s-user", name);
        put("request", other, buf, n);
        buf[0] = 2; /* root, with stdio descriptors */
        snprintf(other, sizeof other, "%s-fds", name);
        put("request", other, buf, n);
        buf[0] = 8 | 2; /* privileged root, with stdio */
        snprintf(other, sizeof other, "%s-privileged-fds", name);
        put("request", other, buf, n);
        buf[0] = 4 | 2; /* root inside container fz, with stdio */
        snprintf(other, sizeof other, "%s-contained-fds", name);
        put("request", other, buf, n);
}

int main(int argc, char **argv) {
        Lmct__V1__Request req;
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        char *args[] = { "/bin/true", "x" }, *env[] = { "A=B" };

        if (argc != 2) {
                fprintf(stderr, "usage: make-seeds DIR\n");
                return 2;
        }
        dir = argv[1];
        mkdir(dir, 0755);
        l.has_cpu_millis = l.has_memory_max = l.has_pids_max = 1;
        l.cpu_millis = 6000;
        l.memory_max = 1 << 30;
        l.pids_max = 100;
        l.cpuset_cpus = "0-1";

#define REQ(vc, field, type, init, nm, ...) do {                       \
                type v_ = init;                                        \
                lmct__v1__request__init(&req);                         \
                req.has_id = 1;                                        \
                req.id = 7;                                            \
                req.verb_case = LMCT__V1__REQUEST__VERB_##vc;          \
                req.field = &v_;                                       \
                __VA_ARGS__;                                           \
                seed(nm, &req);                                        \
        } while (0)
        REQ(VERSION, version, Lmct__V1__VersionRequest, LMCT__V1__VERSION_REQUEST__INIT, "version", (void)0);
        REQ(CREATE, create, Lmct__V1__CreateRequest, LMCT__V1__CREATE_REQUEST__INIT, "create",
            v_.name = "containerA/sub1"; v_.limits = &l; v_.has_parents = 1; v_.parents = 1);
        REQ(UPDATE, update, Lmct__V1__UpdateRequest, LMCT__V1__UPDATE_REQUEST__INIT, "update",
            v_.name = "a"; v_.limits = &l);
        REQ(DESTROY, destroy, Lmct__V1__DestroyRequest, LMCT__V1__DESTROY_REQUEST__INIT, "destroy",
            v_.name = "a"; v_.has_recursive = v_.recursive = 1; v_.has_force = v_.force = 1);
        REQ(LIST, list, Lmct__V1__ListRequest, LMCT__V1__LIST_REQUEST__INIT, "list",
            v_.name = "/"; v_.has_recursive = v_.recursive = 1);
        REQ(SHOW, show, Lmct__V1__ShowRequest, LMCT__V1__SHOW_REQUEST__INIT, "show", v_.name = "a");
        REQ(PS, ps, Lmct__V1__PsRequest, LMCT__V1__PS_REQUEST__INIT, "ps", v_.name = "a");
        REQ(ENTER, enter, Lmct__V1__EnterRequest, LMCT__V1__ENTER_REQUEST__INIT, "enter", {
                static int32_t pids[] = { 1, 999999 };
                v_.name = "a";
                v_.n_pids = 2;
                v_.pids = pids;
        });
        REQ(PAUSE, pause, Lmct__V1__PauseRequest, LMCT__V1__PAUSE_REQUEST__INIT, "pause", v_.name = "a");
        REQ(RESUME, resume, Lmct__V1__ResumeRequest, LMCT__V1__RESUME_REQUEST__INIT, "resume", v_.name = "a");
        REQ(KILL, kill, Lmct__V1__KillRequest, LMCT__V1__KILL_REQUEST__INIT, "kill",
            v_.name = "a"; v_.has_signal = 1; v_.signal = 15);
        REQ(DETECT, detect, Lmct__V1__DetectRequest, LMCT__V1__DETECT_REQUEST__INIT, "detect",
            v_.has_pid = 1; v_.pid = 1);
        REQ(RUN, run, Lmct__V1__RunRequest, LMCT__V1__RUN_REQUEST__INIT, "run",
            v_.name = "r"; v_.n_args = 2; v_.args = args; v_.n_env = 1; v_.env = env; v_.cwd = "/";
            v_.has_remove = v_.remove = 1; v_.limits = &l);
        REQ(RUN, run, Lmct__V1__RunRequest, LMCT__V1__RUN_REQUEST__INIT, "run-bundle",
            v_.name = "r"; v_.bundle = "/nonexistent"; v_.has_detach = v_.detach = 1);
        /* What a tenant tries: a root of its own, namespaces, another
         * user, a detached command, a directory it may not enter. */
        REQ(RUN, run, Lmct__V1__RunRequest, LMCT__V1__RUN_REQUEST__INIT, "run-rootfs-isolate", {
                static Lmct__V1__Isolation iso = LMCT__V1__ISOLATION__INIT;
                iso.has_pid = iso.pid = 1;
                v_.name = "r"; v_.n_args = 1; v_.args = args; v_.rootfs = "/"; v_.isolate = &iso;
                v_.has_remove = v_.remove = 1; v_.has_uid = 1; v_.uid = 0;
        });
        REQ(RUN, run, Lmct__V1__RunRequest, LMCT__V1__RUN_REQUEST__INIT, "run-detach",
            v_.name = "r"; v_.n_args = 1; v_.args = args; v_.has_detach = v_.detach = 1; v_.has_remove = v_.remove = 1);
        REQ(RUN, run, Lmct__V1__RunRequest, LMCT__V1__RUN_REQUEST__INIT, "run-cwd",
            v_.name = "r"; v_.n_args = 1; v_.args = args; v_.cwd = "/root"; v_.has_remove = v_.remove = 1);
        REQ(EXEC, exec, Lmct__V1__ExecRequest, LMCT__V1__EXEC_REQUEST__INIT, "exec",
            v_.name = "r"; v_.n_args = 1; v_.args = args);
        REQ(SIGNAL, signal, Lmct__V1__SignalRequest, LMCT__V1__SIGNAL_REQUEST__INIT, "signal",
            v_.has_run_id = 1; v_.run_id = 1; v_.has_signal = 1; v_.signal = 2);
        REQ(STATS, stats, Lmct__V1__StatsRequest, LMCT__V1__STATS_REQUEST__INIT, "stats",
            v_.name = "/"; v_.has_recursive = v_.recursive = 1);
        REQ(EVENTS, events, Lmct__V1__EventsRequest, LMCT__V1__EVENTS_REQUEST__INIT, "events",
            v_.name = "a"; v_.has_recursive = v_.recursive = 1);
        REQ(EVENTS, events, Lmct__V1__EventsRequest, LMCT__V1__EVENTS_REQUEST__INIT, "events-watch", {
                static Lmct__V1__PressureTrigger t = LMCT__V1__PRESSURE_TRIGGER__INIT, *tp[] = { &t, &t };
                t.resource = "memory";
                t.has_stall_us = t.has_window_us = t.has_full = t.full = 1;
                t.stall_us = 150000;
                t.window_us = 1000000;
                v_.name = "a";
                v_.has_memory_above = 1;
                v_.memory_above = 1 << 20;
                v_.n_pressure = 2;
                v_.pressure = tp;
        });
        {
                static Lmct__V1__Label a = LMCT__V1__LABEL__INIT, b = LMCT__V1__LABEL__INIT, *ab[] = { &a, &b };
                static char *rm[] = { "team" };
                a.key = "team";
                a.value = "infra";
                b.key = "scheduler.example.com/job";
                b.value = "etl-42";
                REQ(CREATE, create, Lmct__V1__CreateRequest, LMCT__V1__CREATE_REQUEST__INIT, "create-labels",
                    v_.name = "l"; v_.n_labels = 2; v_.labels = ab);
                REQ(UPDATE, update, Lmct__V1__UpdateRequest, LMCT__V1__UPDATE_REQUEST__INIT, "update-labels",
                    v_.name = "l"; v_.n_labels = 1; v_.labels = ab + 1; v_.n_remove_labels = 1; v_.remove_labels = rm);
                REQ(LIST, list, Lmct__V1__ListRequest, LMCT__V1__LIST_REQUEST__INIT, "list-selector",
                    v_.name = "/"; v_.has_recursive = v_.recursive = 1; v_.n_selector = 2; v_.selector = ab);
        }
        REQ(CREATE, create, Lmct__V1__CreateRequest, LMCT__V1__CREATE_REQUEST__INIT, "create-owned",
            v_.name = "team1"; v_.has_owner_uid = 1; v_.owner_uid = 1000; v_.limits = &l);

        static const char *const names[] = { "containerA", "containerA/sub1", "/a/b/c", "a-b_c.d", "_self", "..",
                                             "a//b", "/" };
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
                char buf[256], nm[16];
                buf[0] = (char)(i % 2 ? 0x85 : 0x20);
                memcpy(buf + 1, names[i], strlen(names[i]));
                snprintf(nm, sizeof nm, "n%zu", i);
                put("name", nm, buf, strlen(names[i]) + 1);
        }
        static const char *const limits[] = { "512M", "4G", "1.5G", "max", "0.5", "6", "0-3,6", "100", "1e3", "" };
        for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
                char nm[16];
                snprintf(nm, sizeof nm, "l%zu", i);
                put("limits", nm, limits[i], strlen(limits[i]));
        }
        return 0;
}

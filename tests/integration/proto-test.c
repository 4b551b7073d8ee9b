/* Protocol tests against a real lmctld: pipelining, unknown fields and
 * verbs, and hostile frames (truncated, oversized, not protobuf, bad
 * strings). After each, the daemon still serves and the tree is unchanged.
 *
 *   lmct-proto-test BUILD-DIR VARIANT CGROUP-MOUNT
 *
 * Prints PASS:/FAIL: lines like the shell tests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lmct.h"

static char sock_path[100], root[256], label[64];
static pid_t daemon_pid;

static void result(int ok, const char *what, const char *fmt, ...) {
        va_list ap;

        if (ok) {
                printf("PASS: %s: %s\n", label, what);
        } else {
                printf("FAIL: %s: %s: ", label, what);
                va_start(ap, fmt);
                vprintf(fmt, ap);
                va_end(ap);
                printf("\n");
        }
        fflush(stdout);
}

static int raw_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void send_all(int fd, const void *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k <= 0)
                        return;
                p = (const char *)p + k;
                n -= (size_t)k;
        }
}

/* Reads one response with a 10 s deadline; NULL on EOF or timeout. */
static Lmct__V1__Response *recv_resp(int fd) {
        uint8_t hdr[10], *buf;
        uint64_t len = 0;
        size_t n = 0, got = 0;
        struct pollfd p = { fd, POLLIN, 0 };
        Lmct__V1__Response *r;

        for (;;) {
                if (poll(&p, 1, 10000) <= 0 || read(fd, hdr + n, 1) != 1)
                        return NULL;
                n++;
                int h = lmct_frame_header(hdr, n, &len);
                if (h > 0)
                        break;
                if (h < 0 || n == 10)
                        return NULL;
        }
        buf = malloc(len + 1);
        while (got < len) {
                ssize_t k;
                if (poll(&p, 1, 10000) <= 0 || (k = read(fd, buf + got, len - got)) <= 0) {
                        free(buf);
                        return NULL;
                }
                got += (size_t)k;
        }
        r = lmct__v1__response__unpack(NULL, len, buf);
        free(buf);
        return r;
}

/* True when the peer closed the connection within 10 s. */
static int closed_by_peer(int fd) {
        struct pollfd p = { fd, POLLIN, 0 };
        char c;

        return poll(&p, 1, 10000) == 1 && read(fd, &c, 1) == 0;
}

static size_t frame(const Lmct__V1__Request *req, uint8_t *out) {
        size_t n = lmct__v1__request__get_packed_size(req);
        size_t h = lmct_varint_encode(n, out);

        lmct__v1__request__pack(req, out + h);
        return h + n;
}

static size_t version_frame(uint64_t id, uint8_t *out) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__VersionRequest v = LMCT__V1__VERSION_REQUEST__INIT;

        req.has_id = 1;
        req.id = id;
        req.verb_case = LMCT__V1__REQUEST__VERB_VERSION;
        req.version = &v;
        return frame(&req, out);
}

static int code_of(const Lmct__V1__Response *r) {
        return r && r->status ? (int)r->status->code : -1;
}

static char *snapshot_dirs(const char *dir, char *acc, size_t cap) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return acc;
        while ((de = readdir(d))) {
                char sub[1024];
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
                strncat(acc, sub, cap - strlen(acc) - 2);
                strcat(acc, "\n");
                snapshot_dirs(sub, acc, cap);
        }
        closedir(d);
        return acc;
}

static char before[65536];

/* The daemon answers a version request on a fresh connection and the tree
 * is as it was. */
static void still_fine(const char *after_what) {
        uint8_t buf[64];
        char what[256], now[65536] = "";
        int fd = raw_connect();
        Lmct__V1__Response *r = NULL;

        if (fd >= 0) {
                send_all(fd, buf, version_frame(7, buf));
                r = recv_resp(fd);
                close(fd);
        }
        snprintf(what, sizeof what, "after %s the daemon serves others", after_what);
        result(r && code_of(r) == 0 && r->id == 7, what, "no answer to a version request");
        lmct__v1__response__free_unpacked(r, NULL);
        snapshot_dirs(root, now, sizeof now);
        snprintf(what, sizeof what, "after %s the tree is unchanged", after_what);
        result(strcmp(before, now) == 0, what, "tree changed");
}

/* Sends BYTES and expects an INVALID_ARGUMENT answer with id 0 and then
 * the connection closed. */
static void hostile(const char *what, const uint8_t *bytes, size_t n, int expect_answer) {
        int fd = raw_connect();
        Lmct__V1__Response *r;
        char w[256];

        send_all(fd, bytes, n);
        if (expect_answer) {
                r = recv_resp(fd);
                snprintf(w, sizeof w, "%s is refused with INVALID_ARGUMENT", what);
                result(code_of(r) == LMCT__V1__CODE__INVALID_ARGUMENT, w, "code %d (%s)", code_of(r),
                       r && r->status && r->status->message ? r->status->message : "no answer");
                lmct__v1__response__free_unpacked(r, NULL);
        } else
                shutdown(fd, SHUT_WR);
        snprintf(w, sizeof w, "%s closes that connection", what);
        result(closed_by_peer(fd), w, "connection still open");
        close(fd);
        still_fine(what);
}

static void start_daemon(const char *build) {
        char exe[512], log[512];
        int fd;

        snprintf(exe, sizeof exe, "%s/daemon/lmctld", build);
        daemon_pid = fork();
        if (daemon_pid == 0) {
                snprintf(log, sizeof log, "%s/lmctld-proto.log", getenv("LMCT_LOGS") ? getenv("LMCT_LOGS") : "/tmp");
                fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                execl(exe, "lmctld", "--socket", sock_path, "--cgroup-root", root, (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                int c = raw_connect();
                if (c >= 0) {
                        close(c);
                        return;
                }
                usleep(50000);
        }
}

static void test_pipelining(void) {
        enum { N = 60 };
        static uint8_t buf[N * 128];
        int seen[N + 1] = { 0 }, ok = 1, fd = raw_connect();
        size_t off = 0;

        for (int i = 1; i <= N; i++) {
                Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
                Lmct__V1__CreateRequest cr = LMCT__V1__CREATE_REQUEST__INIT;
                Lmct__V1__ShowRequest sr = LMCT__V1__SHOW_REQUEST__INIT;
                char name[32];
                snprintf(name, sizeof name, "pipe%d", (i + 1) / 2);
                req.has_id = 1;
                req.id = 1000 + i;
                if (i % 2) {
                        req.verb_case = LMCT__V1__REQUEST__VERB_CREATE;
                        req.create = &cr;
                        cr.name = name;
                } else {
                        req.verb_case = LMCT__V1__REQUEST__VERB_SHOW;
                        req.show = &sr;
                        sr.name = name;
                }
                off += frame(&req, buf + off);
        }
        send_all(fd, buf, off);
        for (int i = 0; i < N; i++) {
                Lmct__V1__Response *r = recv_resp(fd);
                if (!r || r->id <= 1000 || r->id > 1000 + N || code_of(r) != 0) {
                        ok = 0;
                        lmct__v1__response__free_unpacked(r, NULL);
                        break;
                }
                seen[r->id - 1000]++;
                if (r->id % 2 == 0 && (!r->show || !r->show->name))
                        ok = 0;
                lmct__v1__response__free_unpacked(r, NULL);
        }
        for (int i = 1; i <= N; i++)
                ok &= seen[i] == 1;
        result(ok, "60 pipelined requests in one write get 60 answers, each with its request's id", "ids missing");
        close(fd);
}

static void test_unknown(void) {
        uint8_t buf[128];
        size_t n;
        int fd = raw_connect();
        Lmct__V1__Response *r;

        /* A version request followed by unknown field 1000 (varint 5). */
        n = version_frame(11, buf + 1) + 1;
        buf[0] = 0; /* placeholder: rebuild the frame with the extra field */
        {
                uint8_t body[64];
                size_t bl = 0, h;
                Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
                Lmct__V1__VersionRequest v = LMCT__V1__VERSION_REQUEST__INIT;
                req.has_id = 1;
                req.id = 11;
                req.verb_case = LMCT__V1__REQUEST__VERB_VERSION;
                req.version = &v;
                bl = lmct__v1__request__pack(&req, body);
                body[bl++] = 0xc0; /* key: field 1000, wire type 0 */
                body[bl++] = 0x3e;
                body[bl++] = 0x05;
                h = lmct_varint_encode(bl, buf);
                memcpy(buf + h, body, bl);
                n = h + bl;
        }
        send_all(fd, buf, n);
        r = recv_resp(fd);
        result(r && r->id == 11 && code_of(r) == 0 && r->version && r->version->protocol == 1,
               "unknown fields are ignored; version reports protocol 1", "code %d", code_of(r));
        lmct__v1__response__free_unpacked(r, NULL);

        /* Request{id:12, field 99 (a verb from a newer client): empty message}. */
        {
                const uint8_t f[] = { 5, 0x08, 12, 0x9a, 0x06, 0x00 };
                send_all(fd, f, sizeof f);
                r = recv_resp(fd);
                result(r && r->id == 12 && code_of(r) == LMCT__V1__CODE__UNIMPLEMENTED,
                       "an unknown verb gets UNIMPLEMENTED with its id", "code %d", code_of(r));
                lmct__v1__response__free_unpacked(r, NULL);
        }
        /* An empty frame: a request with no verb. */
        {
                const uint8_t f[] = { 0 };
                send_all(fd, f, sizeof f);
                r = recv_resp(fd);
                result(code_of(r) == LMCT__V1__CODE__UNIMPLEMENTED, "an empty request gets UNIMPLEMENTED", "code %d",
                       code_of(r));
                lmct__v1__response__free_unpacked(r, NULL);
        }
        /* create{name:"a\0b"}: refused, the connection stays usable. */
        {
                const uint8_t f[] = { 9, 0x08, 13, 0x5a, 0x05, 0x0a, 0x03, 'a', 0x00, 'b' };
                send_all(fd, f, sizeof f);
                r = recv_resp(fd);
                result(r && r->id == 13 && code_of(r) == LMCT__V1__CODE__INVALID_ARGUMENT && r->status->message &&
                               strstr(r->status->message, "NUL"),
                       "a NUL inside a name gets INVALID_ARGUMENT naming it", "code %d", code_of(r));
                lmct__v1__response__free_unpacked(r, NULL);
                n = version_frame(14, buf);
                send_all(fd, buf, n);
                r = recv_resp(fd);
                result(r && r->id == 14 && code_of(r) == 0, "the connection still serves after a refused request",
                       "no answer");
                lmct__v1__response__free_unpacked(r, NULL);
        }
        close(fd);
        still_fine("unknown fields, verbs and bad strings");
}

/* Page sizes and devices for the rows below: static, since a row's
 * message points at them. */
static Lmct__V1__HugetlbLimit huge_rows[5], *huge_ptrs[5];
static Lmct__V1__IoDeviceLimit dev_rows[9], *dev_ptrs[9];
#define HUGE(i, size, has, v)                                                             \
        (lmct__v1__hugetlb_limit__init(&huge_rows[i]), huge_rows[i].page_size = (char *)(size), \
         huge_rows[i].has_max = (has), huge_rows[i].max = (v), huge_ptrs[i] = &huge_rows[i],   \
         l->hugetlb = huge_ptrs)
#define IODEV(i, maj, min)                                                                   \
        (lmct__v1__io_device_limit__init(&dev_rows[i]), dev_rows[i].has_major = dev_rows[i].has_minor = 1, \
         dev_rows[i].major = (maj), dev_rows[i].minor = (min), dev_ptrs[i] = &dev_rows[i],            \
         l->io_devices = dev_ptrs)

static Lmct__V1__DeviceRules dev_rules;
static Lmct__V1__DeviceRule rule_rows[129], *rule_ptrs[129];
#define DEVRULE(i, t, maj, min, acc)                                                                         \
        (lmct__v1__device_rules__init(&dev_rules), lmct__v1__device_rule__init(&rule_rows[i]),               \
         rule_rows[i].type = (char *)(t), rule_rows[i].has_major = rule_rows[i].has_minor = 1,              \
         rule_rows[i].major = (maj), rule_rows[i].minor = (min), rule_rows[i].access = (char *)(acc),       \
         rule_ptrs[i] = &rule_rows[i], dev_rules.rules = rule_ptrs, dev_rules.n_rules = (size_t)(i) + 1,   \
         l->devices = &dev_rules)

static void test_limits_on_wire(void) {
        struct {
                const char *what;
                void (*set)(Lmct__V1__Limits *);
                int code;
        } cases[] = {
                { "cpu_millis 0", ({ void f(Lmct__V1__Limits *l) { l->has_cpu_millis = 1; l->cpu_millis = 0; } f; }), 3 },
                { "cpu_millis 1 (quota below 1 ms)", ({ void f(Lmct__V1__Limits *l) { l->has_cpu_millis = 1; l->cpu_millis = 1; } f; }), 3 },
                { "cpu_period_us 10", ({ void f(Lmct__V1__Limits *l) { l->has_cpu_period_us = 1; l->cpu_period_us = 10; } f; }), 3 },
                { "cpu_weight 0", ({ void f(Lmct__V1__Limits *l) { l->has_cpu_weight = 1; l->cpu_weight = 0; } f; }), 3 },
                { "io_weight 20000", ({ void f(Lmct__V1__Limits *l) { l->has_io_weight = 1; l->io_weight = 20000; } f; }), 3 },
                { "pids_max 2^40", ({ void f(Lmct__V1__Limits *l) { l->has_pids_max = 1; l->pids_max = 1ull << 40; } f; }), 3 },
                { "cpuset_cpus \"3-1\"", ({ void f(Lmct__V1__Limits *l) { l->cpuset_cpus = "3-1"; } f; }), 3 },
                { "cpuset_cpus of CPUs the machine lacks", ({ void f(Lmct__V1__Limits *l) { l->cpuset_cpus = "200-300"; } f; }), 3 },
                { "cpuset_mems \"0-\"", ({ void f(Lmct__V1__Limits *l) { l->cpuset_mems = "0-"; } f; }), 3 },
                { "cpuset_mems of nodes the machine lacks", ({ void f(Lmct__V1__Limits *l) { l->cpuset_mems = "60-63"; } f; }), 3 },
                { "cpu_burst_us 2^63", ({ void f(Lmct__V1__Limits *l) { l->has_cpu_burst_us = 1; l->cpu_burst_us = 1ull << 63; } f; }), 3 },
                { "cpu_burst_us over the quota", ({ void f(Lmct__V1__Limits *l) { l->has_cpu_millis = 1; l->cpu_millis = 100; l->has_cpu_burst_us = 1; l->cpu_burst_us = 50000; } f; }), 3 },
                { "hugetlb page size \"2mb\" (not the kernel's name)", ({ void f(Lmct__V1__Limits *l) { HUGE(0, "2mb", 1, 2 << 20); l->n_hugetlb = 1; } f; }), 3 },
                { "hugetlb without a page size", ({ void f(Lmct__V1__Limits *l) { HUGE(0, NULL, 1, 2 << 20); l->n_hugetlb = 1; } f; }), 3 },
                { "hugetlb page size \"../../x\"", ({ void f(Lmct__V1__Limits *l) { HUGE(0, "../../x", 1, 2 << 20); l->n_hugetlb = 1; } f; }), 3 },
                { "hugetlb without a limit", ({ void f(Lmct__V1__Limits *l) { HUGE(0, "2MB", 0, 0); l->n_hugetlb = 1; } f; }), 3 },
                { "hugetlb 3 MiB of 2MB pages", ({ void f(Lmct__V1__Limits *l) { HUGE(0, "2MB", 1, 3 << 20); l->n_hugetlb = 1; } f; }), 3 },
                { "hugetlb 2MB twice", ({ void f(Lmct__V1__Limits *l) { HUGE(0, "2MB", 1, 2 << 20); HUGE(1, "2MB", 1, 4 << 20); l->n_hugetlb = 2; } f; }), 3 },
                { "hugetlb of 5 page sizes", ({ void f(Lmct__V1__Limits *l) { for (int i = 0; i < 5; i++) HUGE(i, "2MB", 1, 2 << 20); l->n_hugetlb = 5; } f; }), 3 },
                { "hugetlb of a page size the kernel lacks (16MB)", ({ void f(Lmct__V1__Limits *l) { HUGE(0, "16MB", 1, 32 << 20); l->n_hugetlb = 1; } f; }), 3 },
                { "io device major 5000", ({ void f(Lmct__V1__Limits *l) { IODEV(0, 5000, 0); l->io_devices[0]->has_rbps = 1; l->io_devices[0]->rbps = 1; l->n_io_devices = 1; } f; }), 3 },
                { "io device without numbers", ({ void f(Lmct__V1__Limits *l) { IODEV(0, 8, 0); l->io_devices[0]->has_minor = 0; l->io_devices[0]->has_rbps = 1; l->io_devices[0]->rbps = 1; l->n_io_devices = 1; } f; }), 3 },
                { "io device with no bound or weight", ({ void f(Lmct__V1__Limits *l) { IODEV(0, 8, 0); l->n_io_devices = 1; } f; }), 3 },
                { "io device rbps 0", ({ void f(Lmct__V1__Limits *l) { IODEV(0, 8, 0); l->io_devices[0]->has_rbps = 1; l->io_devices[0]->rbps = 0; l->n_io_devices = 1; } f; }), 3 },
                { "io device riops 2^40", ({ void f(Lmct__V1__Limits *l) { IODEV(0, 8, 0); l->io_devices[0]->has_riops = 1; l->io_devices[0]->riops = 1ull << 40; l->n_io_devices = 1; } f; }), 3 },
                { "io device weight 20000", ({ void f(Lmct__V1__Limits *l) { IODEV(0, 8, 0); l->io_devices[0]->has_weight = 1; l->io_devices[0]->weight = 20000; l->n_io_devices = 1; } f; }), 3 },
                { "io device given twice", ({ void f(Lmct__V1__Limits *l) { for (int i = 0; i < 2; i++) { IODEV(i, 8, 0); l->io_devices[i]->has_wbps = 1; l->io_devices[i]->wbps = 1; } l->n_io_devices = 2; } f; }), 3 },
                { "io devices, 9 of them", ({ void f(Lmct__V1__Limits *l) { for (int i = 0; i < 9; i++) { IODEV(i, 8, (uint32_t)i * 16); l->io_devices[i]->has_wbps = 1; l->io_devices[i]->wbps = 1; } l->n_io_devices = 9; } f; }), 3 },
                { "device rule of type \"x\"", ({ void f(Lmct__V1__Limits *l) { DEVRULE(0, "x", 1, 3, "rw"); } f; }), 3 },
                { "device rule with access \"rwq\"", ({ void f(Lmct__V1__Limits *l) { DEVRULE(0, "c", 1, 3, "rwq"); } f; }), 3 },
                { "device rule with access \"rr\"", ({ void f(Lmct__V1__Limits *l) { DEVRULE(0, "c", 1, 3, "rr"); } f; }), 3 },
                { "device rule with an empty access", ({ void f(Lmct__V1__Limits *l) { DEVRULE(0, "c", 1, 3, ""); } f; }), 3 },
                { "device rule major -2", ({ void f(Lmct__V1__Limits *l) { DEVRULE(0, "c", -2, 3, "r"); } f; }), 3 },
                { "device rule minor 2^40", ({ void f(Lmct__V1__Limits *l) { DEVRULE(0, "c", 1, 1ll << 40, "r"); } f; }), 3 },
                { "129 device rules", ({ void f(Lmct__V1__Limits *l) { for (int i = 0; i < 129; i++) DEVRULE(i, "c", 1, i, "r"); } f; }), 3 },
                { "io device the kernel does not have (4000:4000)", ({ void f(Lmct__V1__Limits *l) { IODEV(0, 4000, 4000); l->io_devices[0]->has_rbps = 1; l->io_devices[0]->rbps = 1 << 20; l->n_io_devices = 1; } f; }), 5 },
        };
        lmct_client *c = NULL;

        if (lmct_connect(sock_path, &c) < 0) {
                result(0, "connect", "cannot connect");
                return;
        }
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
                char w[256];
                int r;
                cases[i].set(&l);
                r = lmct_create(c, "wire", &l, false);
                snprintf(w, sizeof w, "create with %s gets %s", cases[i].what,
                         cases[i].code == 5 ? "NOT_FOUND" : "INVALID_ARGUMENT");
                result(r < 0 && (int)lmct_client_code(c) == cases[i].code, w, "r=%d code %d: %s", r,
                       lmct_client_code(c), lmct_client_message(c));
                still_fine(cases[i].what);
        }
        lmct_client_free(c);
}

/* run without the caller's descriptors: refused, nothing started. */
static void test_run_without_fds(void) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__RunRequest rq = LMCT__V1__RUN_REQUEST__INIT;
        char *args[] = { "true" };
        lmct_client *c = NULL;
        lmct_response *resp = NULL;
        int r;

        if (lmct_connect(sock_path, &c) < 0) {
                result(0, "connect", "cannot connect");
                return;
        }
        req.verb_case = LMCT__V1__REQUEST__VERB_RUN;
        req.run = &rq;
        rq.name = "nofds";
        rq.has_remove = rq.remove = 1;
        rq.args = args;
        rq.n_args = 1;
        r = lmct_call(c, &req, &resp);
        result(r == -EINVAL && strstr(lmct_client_message(c), "stdin, stdout and stderr"),
               "run without stdin, stdout and stderr descriptors gets INVALID_ARGUMENT", "r=%d: %s", r,
               lmct_client_message(c));
        lmct_response_free(resp);
        rq.n_args = 0;
        r = lmct_send_fds(c, &req, (int[]){ 0, 1, 2 }, 3);
        if (r == 0)
                r = lmct_recv(c, &resp);
        result(r == 0 && resp->status && resp->status->code == LMCT__V1__CODE__INVALID_ARGUMENT,
               "run with no command gets INVALID_ARGUMENT", "r=%d", r);
        lmct_response_free(resp);
        lmct_client_free(c);
        still_fine("run requests without descriptors or command");
}


/* The hostile-input table: one request per row, sent through liblmct
 * (with stdin, stdout and stderr attached for run and exec), the code and
 * the words of the error it must get, then proof that the daemon still
 * serves others and the tree is unchanged. */
static char big[1000001];

static void test_hostile_table(void) {
        static char *two[] = { "true", "x" }, *bad_utf8[] = { "tr\xff" "ue" }, *noeq[] = { "NOEQUALS" };
        static int32_t neg[] = { -5 }, huge_pid[] = { INT32_MAX }, many[2000];
        /* The verbs are a oneof (a union): each row points the request at
         * the one it fills. */
        static Lmct__V1__CreateRequest cr;
        static Lmct__V1__UpdateRequest ur;
        static Lmct__V1__DestroyRequest dr;
        static Lmct__V1__ShowRequest sr;
        static Lmct__V1__ListRequest lr;
        static Lmct__V1__EnterRequest er;
        static Lmct__V1__KillRequest kr;
        static Lmct__V1__DetectRequest dt;
        static Lmct__V1__SignalRequest sg;
        static Lmct__V1__RunRequest rr;
        static Lmct__V1__ExecRequest ex;
        static Lmct__V1__StatsRequest sa;
        static Lmct__V1__EventsRequest ev;
        static Lmct__V1__ReclaimRequest rc;
        static Lmct__V1__PressureTrigger pt[7], *ptp[7];
        static Lmct__V1__Label lb[34], *lbp[34];
        static char lbkeys[34][8], *rm[] = { "k0" };
        static Lmct__V1__Limits l;
        struct row {
                const char *what;
                void (*set)(Lmct__V1__Request *);
                int fds;
                int code;
                const char *words;
        } rows[] = {
#define ROW(what, fds, code, words, body) { what, ({ void f(Lmct__V1__Request *q) { body; } f; }), fds, code, words }
#define CREATE(n) q->verb_case = LMCT__V1__REQUEST__VERB_CREATE; q->create = &cr; cr.limits = &l; cr.name = (n)
#define RUN(n) q->verb_case = LMCT__V1__REQUEST__VERB_RUN; q->run = &rr; rr.name = (n); rr.args = two; rr.n_args = 1
                ROW("create name \"..\"", 0, 3, "invalid name", CREATE("..")),
                ROW("create name \"a/../b\"", 0, 3, "invalid name", CREATE("a/../b")),
                ROW("create name \"../../etc\"", 0, 3, "invalid name", CREATE("../../etc")),
                ROW("create name \".\"", 0, 3, "invalid name", CREATE(".")),
                ROW("create name \"_self\" (the leaf)", 0, 3, "invalid name", CREATE("_self")),
                ROW("create name \"-x\"", 0, 3, "invalid name", CREATE("-x")),
                ROW("create name with a newline", 0, 3, "invalid name", CREATE("a\nb")),
                ROW("create name of 1,000,000 bytes", 0, 3, "invalid name", CREATE(big)),
                ROW("create name 40 levels deep", 0, 3, "invalid name",
                    CREATE("a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a")),
                ROW("create name not UTF-8", 0, 3, "UTF-8", CREATE("caf\xe9")),
                ROW("create cpu 2^64-2", 0, 3, "too large",
                    CREATE("wire"); q->create->limits->has_cpu_millis = 1; q->create->limits->cpu_millis = UINT64_MAX - 1),
                ROW("create cpu period 2^63", 0, 3, "cpu-period",
                    CREATE("wire"); q->create->limits->has_cpu_period_us = 1; q->create->limits->cpu_period_us = 1ull << 63),
                ROW("create pids 2^63", 0, 3, "too large",
                    CREATE("wire"); q->create->limits->has_pids_max = 1; q->create->limits->pids_max = 1ull << 63),
                ROW("create cpuset \"0-3,,\"", 0, 3, "cpuset", CREATE("wire"); q->create->limits->cpuset_cpus = "0-3,,"),
                ROW("create cpuset-mems \"a\"", 0, 3, "cpuset-mems", CREATE("wire"); q->create->limits->cpuset_mems = "a"),
                ROW("create cpu-burst 2^64-1", 0, 3, "cpu-burst",
                    CREATE("wire"); q->create->limits->has_cpu_burst_us = 1; q->create->limits->cpu_burst_us = UINT64_MAX),
                ROW("create owner uid 2^32-1", 0, 3, "not a user",
                    CREATE("wire"); q->create->has_owner_uid = 1; q->create->owner_uid = UINT32_MAX),
                ROW("create owner gid without uid", 0, 3, "without a uid",
                    CREATE("wire"); q->create->has_owner_gid = 1; q->create->owner_gid = 5),
                ROW("update of a container that does not exist", 0, 5, "does not exist",
                    q->verb_case = LMCT__V1__REQUEST__VERB_UPDATE; q->update = &ur; q->update->name = "nothere"),
#define LABELS(n) lbp[0] = &lb[0]; q->create->labels = lbp; q->create->n_labels = (n)
                ROW("create label key \"\"", 0, 3, "label 1: a label key must not be empty",
                    CREATE("wire"); LABELS(1); lb[0].key = ""),
                ROW("create label key \"a b\"", 0, 3, "label 1: a label key takes only",
                    CREATE("wire"); LABELS(1); lb[0].key = "a b"),
                ROW("create label key \"-a\"", 0, 3, "must begin and end with a letter or digit",
                    CREATE("wire"); LABELS(1); lb[0].key = "-a"),
                ROW("create label key of 129 characters", 0, 3, "at most 128 characters",
                    CREATE("wire"); LABELS(1); lb[0].key = big + sizeof big - 130),
                ROW("create label value with a newline", 0, 3, "must not hold control characters",
                    CREATE("wire"); LABELS(1); lb[0].value = "a\nb"),
                ROW("create label value of 256 bytes", 0, 3, "at most 255 bytes",
                    CREATE("wire"); LABELS(1); lb[0].value = big + sizeof big - 257),
                ROW("create with 33 labels", 0, 3, "at most 32 on one container", CREATE("wire"); LABELS(33)),
                ROW("create with a label key twice", 0, 3, "label key \"k0\" is given twice",
                    CREATE("wire"); LABELS(2); lb[1].key = "k0"),
                ROW("create with 32 labels of 200 bytes", 0, 3, "at most 4096 on one container",
                    CREATE("wire"); LABELS(32); for (int k = 0; k < 32; k++) lb[k].value = big + sizeof big - 201),
                ROW("update setting and removing one label", 0, 3, "both set and removed",
                    q->verb_case = LMCT__V1__REQUEST__VERB_UPDATE; q->update = &ur; ur.name = "keep";
                    ur.labels = lbp; ur.n_labels = 1; ur.remove_labels = rm; ur.n_remove_labels = 1),
                ROW("update removing a label key \"a\\tb\"", 0, 3, "label to remove 1: a label key takes only",
                    q->verb_case = LMCT__V1__REQUEST__VERB_UPDATE; q->update = &ur; ur.name = "keep";
                    rm[0] = "a\tb"; ur.remove_labels = rm; ur.n_remove_labels = 1),
                ROW("update with nothing to change", 0, 3, "no limit or label given",
                    q->verb_case = LMCT__V1__REQUEST__VERB_UPDATE; q->update = &ur; ur.name = "keep"),
                ROW("list selector key \"=\"", 0, 3, "selector 1: a label key takes only",
                    q->verb_case = LMCT__V1__REQUEST__VERB_LIST; q->list = &lr; lr.selector = lbp;
                    lr.n_selector = 1; lb[0].key = "="),
                ROW("list with 33 selectors", 0, 3, "33 selectors: at most 32",
                    q->verb_case = LMCT__V1__REQUEST__VERB_LIST; q->list = &lr; lr.selector = lbp; lr.n_selector = 33),
#undef LABELS
                ROW("destroy name \"/\" (the root)", 0, 3, "invalid name",
                    q->verb_case = LMCT__V1__REQUEST__VERB_DESTROY; q->destroy = &dr; q->destroy->name = "/"),
                ROW("show name \"/../x\"", 0, 3, "invalid name",
                    q->verb_case = LMCT__V1__REQUEST__VERB_SHOW; q->show = &sr; q->show->name = "/../x"),
                ROW("list name \"a//b/\"", 0, 3, "invalid name",
                    q->verb_case = LMCT__V1__REQUEST__VERB_LIST; q->list = &lr; q->list->name = "a//b/"),
                ROW("enter pid -5", 0, 3, "not a process id",
                    q->verb_case = LMCT__V1__REQUEST__VERB_ENTER; q->enter = &er; q->enter->name = "keep"; q->enter->pids = neg; q->enter->n_pids = 1),
                ROW("enter pid 2^31-1", 0, 5, "does not exist",
                    q->verb_case = LMCT__V1__REQUEST__VERB_ENTER; q->enter = &er; q->enter->name = "keep"; q->enter->pids = huge_pid; q->enter->n_pids = 1),
                ROW("enter 2000 pids", 0, 3, "at most",
                    q->verb_case = LMCT__V1__REQUEST__VERB_ENTER; q->enter = &er; q->enter->name = "keep"; q->enter->pids = many; q->enter->n_pids = 2000),
                ROW("kill signal -1", 0, 3, "signal",
                    q->verb_case = LMCT__V1__REQUEST__VERB_KILL; q->kill = &kr; q->kill->name = "keep"; q->kill->has_signal = 1; q->kill->signal = -1),
                ROW("kill signal 1000", 0, 3, "signal",
                    q->verb_case = LMCT__V1__REQUEST__VERB_KILL; q->kill = &kr; q->kill->name = "keep"; q->kill->has_signal = 1; q->kill->signal = 1000),
                ROW("detect pid -1", 0, 3, "not a process id",
                    q->verb_case = LMCT__V1__REQUEST__VERB_DETECT; q->detect = &dt; q->detect->has_pid = 1; q->detect->pid = -1),
                ROW("detect with no pid", 0, 3, "no pid",
                    q->verb_case = LMCT__V1__REQUEST__VERB_DETECT; q->detect = &dt),
                ROW("signal run id 2^64-1", 0, 5, "no running command",
                    q->verb_case = LMCT__V1__REQUEST__VERB_SIGNAL; q->signal = &sg; q->signal->has_run_id = 1; q->signal->run_id = UINT64_MAX;
                    q->signal->has_signal = 1; q->signal->signal = 15),
                ROW("run cwd \"..\"", 1, 3, "absolute", RUN("keep"); q->run->cwd = ".."),
                ROW("run rootfs \"relative\"", 1, 3, "absolute", RUN("keep"); q->run->rootfs = "relative"),
                ROW("run bundle \"/nonexistent/..\"", 1, 3, "bundle", RUN("keep"); q->run->n_args = 0; q->run->bundle = "/nonexistent/.."),
                ROW("run hostname of 1,000,000 bytes", 1, 3, "hostname", RUN("keep"); q->run->hostname = big),
                ROW("run env without '='", 1, 3, "env", RUN("keep"); q->run->env = noeq; q->run->n_env = 1),
                ROW("run arg not UTF-8", 1, 3, "UTF-8", RUN("keep"); q->run->args = bad_utf8),
                ROW("run with no command", 1, 3, "no command", RUN("keep"); q->run->n_args = 0),
                ROW("run --rm on an existing container", 1, 6, "exists", RUN("keep"); q->run->has_remove = q->run->remove = 1),
                ROW("exec name \"..\"", 1, 3, "invalid name",
                    q->verb_case = LMCT__V1__REQUEST__VERB_EXEC; q->exec = &ex; q->exec->name = ".."; q->exec->args = two; q->exec->n_args = 1),
                ROW("exec where nothing runs", 1, 9, "no running command",
                    q->verb_case = LMCT__V1__REQUEST__VERB_EXEC; q->exec = &ex; q->exec->name = "keep"; q->exec->args = two; q->exec->n_args = 1),
                ROW("stats name \"a/../b\"", 0, 3, "invalid name",
                    q->verb_case = LMCT__V1__REQUEST__VERB_STATS; q->stats = &sa; sa.name = "a/../b"),
                ROW("stats of a container that does not exist", 0, 5, "does not exist",
                    q->verb_case = LMCT__V1__REQUEST__VERB_STATS; q->stats = &sa; sa.name = "nothere"),
#define RECLAIM(n) q->verb_case = LMCT__V1__REQUEST__VERB_RECLAIM; q->reclaim = &rc; rc.name = (n)
                ROW("reclaim without bytes", 0, 3, "at least one page", RECLAIM("keep"); rc.has_bytes = 0),
                ROW("reclaim of 0 bytes", 0, 3, "at least one page", RECLAIM("keep"); rc.has_bytes = 1; rc.bytes = 0),
                ROW("reclaim of 4095 bytes", 0, 3, "at least one page", RECLAIM("keep"); rc.has_bytes = 1; rc.bytes = 4095),
                ROW("reclaim name \"../x\"", 0, 3, "invalid name", RECLAIM("../x"); rc.has_bytes = 1; rc.bytes = 1 << 20),
                ROW("reclaim of the root", 0, 3, "invalid name", RECLAIM("/"); rc.has_bytes = 1; rc.bytes = 1 << 20),
                ROW("reclaim of a container that does not exist", 0, 5, "does not exist",
                    RECLAIM("nothere"); rc.has_bytes = 1; rc.bytes = 1 << 20),
                ROW("events name \"..\"", 0, 3, "invalid name",
                    q->verb_case = LMCT__V1__REQUEST__VERB_EVENTS; q->events = &ev; ev.name = ".."),
                ROW("events of a container that does not exist", 0, 5, "does not exist",
                    q->verb_case = LMCT__V1__REQUEST__VERB_EVENTS; q->events = &ev; ev.name = "nothere"),
#define EVENTS(n) q->verb_case = LMCT__V1__REQUEST__VERB_EVENTS; q->events = &ev; ev.name = "keep"; \
                ev.pressure = ptp; ev.n_pressure = (n)
                ROW("events memory_above 0", 0, 3, "memory_above must be at least 1 byte",
                    EVENTS(0); ev.has_memory_above = 1; ev.memory_above = 0),
                ROW("events with 7 pressure triggers", 0, 3, "at most 6 per subscription", EVENTS(7)),
                ROW("events pressure trigger without a resource", 0, 3, "resource (unprintable or empty) is not",
                    EVENTS(1); pt[0].resource = NULL),
                ROW("events pressure resource \"cpu\\n\"", 0, 3, "resource (unprintable or empty) is not cpu",
                    EVENTS(1); pt[0].resource = "cpu\n"),
                ROW("events pressure resource \"disk\"", 0, 3, "resource \"disk\" is not cpu, memory or io",
                    EVENTS(1); pt[0].resource = "disk"),
                ROW("events pressure window 2^64-1", 0, 3, "outside 500000..10000000",
                    EVENTS(1); pt[0].window_us = UINT64_MAX),
                ROW("events pressure window 0", 0, 3, "outside 500000..10000000", EVENTS(1); pt[0].window_us = 0),
                ROW("events pressure stall 0", 0, 3, "a stall of 0 us", EVENTS(1); pt[0].stall_us = 0),
                ROW("events pressure stall past the window", 0, 3, "its window",
                    EVENTS(2); pt[1].stall_us = 2000000),
#undef EVENTS
#undef RUN
#undef CREATE
#undef ROW
        };
        lmct_client *c = NULL;

        memset(big, 'a', sizeof big - 1);
        for (size_t i = 0; i < sizeof many / sizeof *many; i++)
                many[i] = 1000000 + (int32_t)i;
        if (lmct_connect(sock_path, &c) < 0 || lmct_create(c, "keep", NULL, false) < 0) {
                result(0, "hostile table: set up", "cannot connect or create keep");
                return;
        }
        before[0] = '\0';
        snapshot_dirs(root, before, sizeof before);
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
                Lmct__V1__Request q = LMCT__V1__REQUEST__INIT;
                lmct_response *resp = NULL;
                const char *msg;
                char w[512];
                int r, code;

                lmct__v1__create_request__init(&cr);
                lmct__v1__update_request__init(&ur);
                lmct__v1__destroy_request__init(&dr);
                lmct__v1__show_request__init(&sr);
                lmct__v1__list_request__init(&lr);
                rm[0] = "k0";
                for (size_t k = 0; k < 34; k++) {
                        /* Valid and distinct unless a row spoils one. */
                        lmct__v1__label__init(&lb[k]);
                        snprintf(lbkeys[k], sizeof lbkeys[k], "k%zu", k);
                        lb[k].key = lbkeys[k];
                        lb[k].value = "v";
                        lbp[k] = &lb[k];
                }
                lmct__v1__enter_request__init(&er);
                lmct__v1__kill_request__init(&kr);
                lmct__v1__detect_request__init(&dt);
                lmct__v1__signal_request__init(&sg);
                lmct__v1__run_request__init(&rr);
                lmct__v1__exec_request__init(&ex);
                lmct__v1__stats_request__init(&sa);
                lmct__v1__events_request__init(&ev);
                lmct__v1__reclaim_request__init(&rc);
                for (size_t k = 0; k < 7; k++) {
                        /* Valid unless a row spoils one. */
                        lmct__v1__pressure_trigger__init(&pt[k]);
                        pt[k].resource = "cpu";
                        pt[k].has_stall_us = pt[k].has_window_us = 1;
                        pt[k].stall_us = 100000;
                        pt[k].window_us = 1000000;
                        ptp[k] = &pt[k];
                }
                lmct__v1__limits__init(&l);
                rows[i].set(&q);
                q.has_id = 1;
                q.id = 1000 + i;
                if (rows[i].fds) {
                        int fds[3] = { 0, 1, 2 };
                        r = lmct_send_fds(c, &q, fds, 3);
                        if (r == 0)
                                r = lmct_recv(c, &resp);
                        code = r == 0 && resp->status ? (int)resp->status->code : -1;
                        msg = r == 0 && resp->status && resp->status->message ? resp->status->message : "";
                } else {
                        r = lmct_call(c, &q, &resp);
                        code = r == 0 ? 0 : (int)lmct_client_code(c);
                        msg = lmct_client_message(c);
                }
                snprintf(w, sizeof w, "hostile input %zu, %s: %s: \"%.160s\"", i + 1, rows[i].what,
                         lmct_code_name((Lmct__V1__Code)code), msg);
                result(code == rows[i].code && strstr(msg, rows[i].words), w, "expected %s with \"%s\"",
                       lmct_code_name((Lmct__V1__Code)rows[i].code), rows[i].words);
                lmct_response_free(resp);
                snprintf(w, sizeof w, "hostile input %zu", i + 1);
                still_fine(w);
        }
        lmct_destroy(c, "keep", false, false);
        before[0] = '\0';
        snapshot_dirs(root, before, sizeof before);
        lmct_client_free(c);
}

int main(int argc, char **argv) {
        uint8_t buf[64];

        if (argc != 4) {
                fprintf(stderr, "usage: lmct-proto-test BUILD VARIANT CGROUP-MOUNT\n");
                return 2;
        }
        snprintf(label, sizeof label, "%s:proto", argv[2]);
        snprintf(sock_path, sizeof sock_path, "/run/lmct-proto-%d.sock", getpid());
        snprintf(root, sizeof root, "%s/lmct-proto-%d", argv[3], getpid());
        start_daemon(argv[1]);
        snapshot_dirs(root, before, sizeof before);

        test_unknown();
        test_hostile_table();
        test_limits_on_wire();
        test_run_without_fds();
        {
                /* Header announcing 2 MiB. */
                size_t n = lmct_varint_encode(2u << 20, buf);
                hostile("a frame over 1 MiB", buf, n, 1);
                n = lmct_varint_encode(UINT64_C(1) << 63, buf);
                hostile("a length prefix of 2^63", buf, n, 1);
        }
        {
                uint8_t v[11];
                memset(v, 0xff, sizeof v);
                hostile("a length varint of 11 bytes", v, sizeof v, 1);
        }
        {
                const uint8_t g[] = { 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
                hostile("a frame that is not protobuf", g, sizeof g, 1);
                const uint8_t nested[] = { 8, 0x5a, 0x06, 0x12, 0x04, 0x0a, 0x7f, 0x01, 0x02 };
                hostile("nested garbage inside create.limits", nested, sizeof nested, 1);
        }
        {
                const uint8_t t[] = { 100, 0x08, 0x01, 0x5a };
                hostile("a truncated frame", t, sizeof t, 0);
        }
        {
                /* 100 requests, then hang up before reading any answer. */
                static uint8_t many[100 * 16];
                size_t off = 0;
                int fd = raw_connect();
                for (int i = 0; i < 100; i++)
                        off += version_frame((uint64_t)i + 1, many + off);
                send_all(fd, many, off);
                close(fd);
                usleep(200000);
                still_fine("a client that hangs up with 100 requests in flight");
        }
        test_pipelining();

        kill(daemon_pid, SIGTERM);
        {
                int st = 0;
                waitpid(daemon_pid, &st, 0);
                result(WIFEXITED(st) && WEXITSTATUS(st) == 0, "lmctld exits cleanly after the protocol tests",
                       "status %d", st);
        }
        /* Remove what the pipelining test made. */
        for (int i = 1; i <= 30; i++) {
                char d[512];
                snprintf(d, sizeof d, "%s/pipe%d", root, i);
                rmdir(d);
        }
        rmdir(root);
        return 0;
}

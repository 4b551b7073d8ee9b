/* OCI bundles (runtime/oci.c): config.json into limits, with crun's
 * conversions, and what lmctld refuses, naming the field, rather than
 * ignore. A bundle in a scratch directory; no cgroupfs needed. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmct-limits.h"
#include "oci.h"
#include "test.h"

static char dir[] = "/tmp/lmct-test-oci.XXXXXX";

static int load(const char *linux_json, const char *process_extra, oci_bundle **b, status *st) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/config.json", dir);
        f = fopen(path, "w");
        if (!f)
                abort();
        fprintf(f,
                "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
                " \"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\"%s},"
                " \"linux\": %s}",
                process_extra, linux_json);
        fclose(f);
        *b = NULL;
        return oci_load(dir, b, st);
}

static void test_resources(void) {
        oci_bundle *b;
        status st = { 0 };
        const Lmct__V1__Limits *l;

        CHECK(load("{\"resources\": {\"cpu\": {\"quota\": 150000, \"period\": 100000, \"shares\": 1024},"
                   " \"memory\": {\"limit\": 536870912, \"swap\": 1073741824, \"reservation\": 1048576},"
                   " \"pids\": {\"limit\": 64}}}",
                   "", &b, &st) == 0);
        l = b ? oci_limits(b) : NULL;
        CHECK(l != NULL);
        if (l) {
                CHECK(l->has_cpu_millis && l->cpu_millis == 1500);
                CHECK(l->has_cpu_period_us && l->cpu_period_us == 100000);
                /* crun's shares-to-weight: 1024 shares is weight 39. */
                CHECK(l->has_cpu_weight && l->cpu_weight == 39);
                CHECK(l->has_memory_max && l->memory_max == 536870912);
                /* OCI's swap counts memory too; cgroup v2's does not. */
                CHECK(l->has_swap_max && l->swap_max == 536870912);
                CHECK(l->has_memory_low && l->memory_low == 1048576);
                CHECK(l->has_pids_max && l->pids_max == 64);
        }
        oci_free(b);

        /* hugepageLimits and blockIO: a page size as the kernel names it,
         * crun's weight conversion, the throttles of one disk together. */
        CHECK(load("{\"resources\": {\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}], "
                   "\"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1048576}], "
                   "\"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 0}]}}}", "", &b, &st) == 0);
        l = b ? oci_limits(b) : NULL;
        CHECK(l && l->n_hugetlb == 1 && strcmp(l->hugetlb[0]->page_size, "2MB") == 0 && l->hugetlb[0]->max == 4194304);
        CHECK(l && l->has_io_weight && l->io_weight == 4950);
        CHECK(l && l->n_io_devices == 1 && l->io_devices[0]->major == 8 && l->io_devices[0]->rbps == 1048576 &&
              l->io_devices[0]->has_wiops && l->io_devices[0]->wiops == LMCT_MAX && !l->io_devices[0]->has_riops);
        oci_free(b);

        /* runc spec's deny-all rule, then the default devices; the same
         * defaults alone for a bundle without rules. */
        CHECK(load("{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}}", "", &b, &st) == 0);
        l = b ? oci_limits(b) : NULL;
        CHECK(l && l->devices && l->devices->n_rules == 12 && !l->devices->rules[0]->allow &&
              strcmp(l->devices->rules[0]->type, "a") == 0 && l->devices->rules[3]->allow &&
              l->devices->rules[3]->major == 1 && l->devices->rules[3]->minor == 3);
        oci_free(b);
        CHECK(load("{}", "", &b, &st) == 0);
        l = b ? oci_limits(b) : NULL;
        CHECK(l && l->devices && l->devices->n_rules == 11);
        oci_free(b);

        /* linux.devices: nodes to make, each allowed read, write and mknod
         * after the rules and the defaults (a FIFO needs no rule). */
        CHECK(load("{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}, \"devices\": ["
                   "{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229, \"fileMode\": 432, \"uid\": 7},"
                   "{\"path\": \"/dev/loopx\", \"type\": \"b\", \"major\": 7, \"minor\": 9},"
                   "{\"path\": \"/run/fifo\", \"type\": \"p\"}]}", "", &b, &st) == 0);
        l = b ? oci_limits(b) : NULL;
        CHECK(l && l->devices && l->devices->n_rules == 14);
        if (l && l->devices && l->devices->n_rules == 14) {
                const Lmct__V1__DeviceRule *fuse = l->devices->rules[12], *loop = l->devices->rules[13];
                CHECK(fuse->allow && strcmp(fuse->type, "c") == 0 && fuse->major == 10 && fuse->minor == 229 &&
                      strcmp(fuse->access, "rwm") == 0);
                CHECK(loop->allow && strcmp(loop->type, "b") == 0 && loop->major == 7 && loop->minor == 9);
        }
        if (b) {
                spawn_spec sp = { 0 };
                oci_spawn_spec(b, &sp);
                CHECK(sp.n_devices == 3);
                CHECK(sp.n_devices == 3 && strcmp(sp.devices[0].path, "/dev/fuse") == 0 && sp.devices[0].type == 'c' &&
                      sp.devices[0].mode == 0660 && sp.devices[0].uid == 7 && sp.devices[0].gid == 0);
                CHECK(sp.n_devices == 3 && sp.devices[1].mode == 0666 && sp.devices[2].type == 'p');
        }
        oci_free(b);

        /* A name with dots in it is a name. */
        CHECK(load("{\"devices\": [{\"path\": \"/dev/a..b\", \"type\": \"c\", \"major\": 1, \"minor\": 3}]}", "", &b, &st) == 0);
        oci_free(b);

        CHECK(load("{\"resources\": {\"memory\": {\"limit\": -1}, \"pids\": {\"limit\": 0}}}", "", &b, &st) == 0);
        l = b ? oci_limits(b) : NULL;
        CHECK(l && l->memory_max == LMCT_MAX && l->pids_max == LMCT_MAX && !l->has_cpu_millis);
        oci_free(b);
}

static void refused(const char *linux_json, const char *process_extra, const char *field) {
        oci_bundle *b;
        status st = { 0 };
        int r = load(linux_json, process_extra, &b, &st);

        CHECK(r == -EINVAL);
        CHECK(st.code == LMCT__V1__CODE__INVALID_ARGUMENT);
        if (!strstr(st.msg, field)) {
                test_failures++;
                fprintf(stderr, "refusal does not name %s: %s\n", field, st.msg);
        }
        CHECK(b == NULL);
        oci_free(b);
}

static void test_refusals(void) {
        refused("{\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\"}}", "", "seccomp");
        refused("{\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}", "", "uidMappings");
        refused("{\"resources\": {\"devices\": [{\"access\": \"rwm\"}]}}", "", "devices[0] needs allow");
        refused("{\"resources\": {\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]}}", "", "access must be letters of rwm");
        refused("{\"resources\": {\"blockIO\": 5}}", "", "blockIO must be an object");
        refused("{\"devices\": {}}", "", "linux.devices must be an array");
        refused("{\"devices\": [5]}", "", "linux.devices[0] must be an object");
        refused("{\"devices\": [{\"path\": \"dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229}]}", "",
                "linux.devices[0].path must be an absolute path");
        refused("{\"devices\": [{\"path\": \"/dev/../etc/x\", \"type\": \"c\", \"major\": 10, \"minor\": 229}]}", "",
                "without . or ..");
        refused("{\"devices\": [{\"path\": \"/dev/.\", \"type\": \"c\", \"major\": 10, \"minor\": 229}]}", "",
                "without . or ..");
        refused("{\"devices\": [{\"path\": \"/dev/\", \"type\": \"c\", \"major\": 10, \"minor\": 229}]}", "",
                "to a file");
        refused("{\"devices\": [{\"path\": \"/dev/x\", \"type\": \"s\", \"major\": 10, \"minor\": 229}]}", "",
                "type must be c, b, u or p");
        refused("{\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 10}]}", "", "needs major and minor");
        refused("{\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 4096, \"minor\": 0}]}", "",
                "major is not a major number");
        refused("{\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1, \"minor\": -1}]}", "",
                "minor is not a minor number");
        refused("{\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1, \"minor\": 3, \"fileMode\": 8192}]}",
                "", "fileMode must be permission bits");
        refused("{\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1, \"minor\": 3, \"uid\": -1}]}", "",
                "uid and gid");
        refused("{\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1, \"minor\": 3, \"owner\": 0}]}", "",
                "linux.devices[0].owner is not supported");
        refused("{\"resources\": {\"unified\": {\"memory.max\": \"1\"}}}", "", "unified");
        refused("{\"resources\": {\"hugepageLimits\": [{\"pageSize\": \"3MB\", \"limit\": 0}]}}", "", "pageSize");
        refused("{\"resources\": {\"blockIO\": {\"weight\": 1001}}}", "", "blockIO.weight");
        refused("{\"resources\": {\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8}]}}}", "",
                "throttleReadBpsDevice[0] needs a device's major and minor");
        refused("{\"namespaces\": [{\"type\": \"network\", \"path\": \"/proc/1/ns/net\"}]}", "", "path");
        refused("{\"namespaces\": [{\"type\": \"time\"}]}", "", "time");
        refused("{}", ", \"terminal\": true", "terminal");
        refused("{}", ", \"apparmorProfile\": \"x\"", "apparmorProfile");
}

int main(void) {
        char rootfs[256];

        if (!mkdtemp(dir))
                abort();
        snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
        if (mkdir(rootfs, 0755) < 0)
                abort();
        test_resources();
        test_refusals();
        {
                char path[256];
                snprintf(path, sizeof path, "%s/config.json", dir);
                unlink(path);
                rmdir(rootfs);
                rmdir(dir);
        }
        printf("%d checks, %d failed\n", test_checks, test_failures);
        return test_failures ? 1 : 0;
}

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

/* The intent record's resolution at start (core/journal.c), on a plain
 * directory standing in for the root cgroup: an interrupted create is
 * undone, an interrupted update's old values written back, and a record
 * that names anything but a container and its limit files is refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "test.h"

static char top[] = "/tmp/lmct-test-journal.XXXXXX";

static const char *path_of(const char *rel) {
        static char path[256];

        snprintf(path, sizeof path, "%s/%s", top, rel);
        return path;
}

static void put(const char *rel, const char *text) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", top, rel);
        f = fopen(path, "w");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

static const char *get(const char *rel) {
        static char buf[256];
        char path[256];
        FILE *f;
        size_t n;

        snprintf(path, sizeof path, "%s/%s", top, rel);
        f = fopen(path, "r");
        if (!f)
                return "(absent)";
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static bool exists(const char *rel) {
        char path[256];

        snprintf(path, sizeof path, "%s/%s", top, rel);
        return access(path, F_OK) == 0;
}

static void dir(const char *rel) {
        char path[256];

        snprintf(path, sizeof path, "%s/%s", top, rel);
        if (mkdir(path, 0755) < 0)
                abort();
}

/* Leaves REC as the record of a daemon that died, and starts anew. */
static void recover(const char *rec) {
        char root[256];
        manager m = { .max_depth = 32 };

        snprintf(root, sizeof root, "%s/root", top);
        m.root_path = root;
        m.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m.rootfd < 0 || fsetxattr(m.rootfd, "user.lmct.intent", rec, strlen(rec), 0) < 0)
                abort();
        journal_recover(&m);
        CHECK(fgetxattr(m.rootfd, "user.lmct.intent", NULL, 0) < 0 && errno == ENODATA);
        CHECK(m.intent_xattr != NULL);
        close(m.rootfd);
}

int main(void) {
        log_max_level = -1;
        if (!mkdtemp(top))
                abort();
        dir("root");
        dir("outside");

        /* create: the first directory it made goes, with what is below. */
        dir("root/a");
        dir("root/a/b");
        dir("root/keep");
        recover("create a\n");
        CHECK(!exists("root/a"));
        CHECK(exists("root/keep"));

        /* update: the old values are written back, labels too. */
        dir("root/x");
        put("root/x/memory.max", "max");
        put("root/x/cgroup.procs", "0");
        put("root/x/cgroup.max.descendants", ""); /* a plain file: written over, not replaced */
        recover("update x\nmemory.max=456\ncgroup.max.descendants=21\nlabels=job=a\tteam=b\n");
        CHECK_STR(get("root/x/memory.max"), "456");
        CHECK_STR(get("root/x/cgroup.max.descendants"), "21");
        {
                char path[256], v[64] = "";
                ssize_t n;
                snprintf(path, sizeof path, "%s/root/x", top);
                n = getxattr(path, "user.lmct.labels", v, sizeof v - 1);
                CHECK(n > 0);
                CHECK_STR(v, "job=a\nteam=b");
        }

        /* A record naming a file that is not a limit is refused whole. */
        recover("update x\ncgroup.procs=1\n");
        CHECK_STR(get("root/x/cgroup.procs"), "0");
        /* And one naming something outside the root. */
        recover("create ../outside\n");
        CHECK(exists("outside"));
        recover("destroy /\n");
        CHECK(exists("root/x") && exists("root/keep"));

        /* Clean up. */
        for (const char *const *f = (const char *const[]){ "root/x/memory.max", "root/x/cgroup.procs", "root/x/cgroup.max.descendants", NULL }; *f; f++)
                unlinkat(AT_FDCWD, path_of(*f), 0);
        for (const char *const *d = (const char *const[]){ "root/x", "root/keep", "root", "outside", NULL }; *d; d++)
                rmdir(path_of(*d));
        rmdir(top);
        printf("%d checks, %d failed\n", test_checks, test_failures);
        return test_failures ? 1 : 0;
}

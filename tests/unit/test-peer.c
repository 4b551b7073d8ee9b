/* A caller's position from its /proc/PID/cgroup text. */
#include <errno.h>

#include "peer.h"
#include "test.h"

static void test_position(void) {
        char name[LMCT_NAME_MAX + 1];
        size_t len;

        CHECK(peer_position("0::/lmct/team1/sub/_self\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "team1/sub");
        CHECK(peer_position("0::/lmct/team1\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "team1");
        /* Outside the tree, at its root, or beside it ("/lmct2"). */
        CHECK(peer_position("0::/user.slice/x\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "");
        CHECK(peer_position("0::/lmct\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "");
        CHECK(peer_position("0::/lmct2/a\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "");
        CHECK(peer_position("0::/lmct/_keeper\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "");
        /* A cgroup below a container that is no container stops the name. */
        CHECK(peer_position("0::/lmct/a/b.c/d\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "a");
        /* The v2 line among v1 lines (a hybrid host). */
        CHECK(peer_position("12:pids:/x\n1:name=systemd:/y\n0::/lmct/a\n", "/lmct", name, sizeof name) == 0);
        CHECK_STR(name, "a");
        /* No v2 line: the position cannot be established. */
        CHECK(peer_position("12:pids:/x\n", "/lmct", name, sizeof name) == -ENOENT);
        CHECK(peer_position("", "/lmct", name, sizeof name) == -ENOENT);
        CHECK(peer_position("0::/lmct/abcdef\n", "/lmct", name, 4) == -ENAMETOOLONG);
        CHECK(peer_cgroup_path("1:a:/b\n0::/c/d\n", &len) && len == 4);
}

TEST_MAIN(test_position())

/* Who may do what (rpc/access.c), on a tree built in memory: ownership,
 * position, the root, names resolved below a caller's container, and the
 * principal a caller's bounds are counted against. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "access.h"
#include "test.h"

static node *add(node *parent, const char *name, int owner) {
        node *n = NULL;

        if (tree_add(parent, name, &n) < 0)
                abort();
        if (owner >= 0) {
                n->has_owner = true;
                n->owner_uid = n->owner_gid = (unsigned)owner;
        }
        return n;
}

static void test_ownership(manager *m) {
        caller root, alice, bob, inside;
        status st = { 0 };

        caller_made_up(0, 0, "", true, &root);
        caller_made_up(1000, 1000, "", false, &alice);
        caller_made_up(1001, 1001, "", false, &bob);
        caller_made_up(0, 0, "team1/box", false, &inside);

        CHECK(access_check(m, &root, "team2/x", ACCESS_CHANGE, &st) == 0);
        /* An owner reads and uses what it owns, and changes only below it. */
        CHECK(access_check(m, &alice, "team1", ACCESS_READ, &st) == 0);
        CHECK(access_check(m, &alice, "team1", ACCESS_USE, &st) == 0);
        CHECK(access_check(m, &alice, "team1", ACCESS_CHANGE, &st) == -EACCES);
        CHECK(st.code == LMCT__V1__CODE__PERMISSION_DENIED && strstr(st.msg, "only what is below it"));
        CHECK(access_check(m, &alice, "team1/box", ACCESS_CHANGE, &st) == 0);
        CHECK(access_check(m, &alice, "team1/new/deeper", ACCESS_CHANGE, &st) == 0);
        /* Nothing of anyone else's, and not the root. */
        CHECK(access_check(m, &alice, "team2", ACCESS_READ, &st) == -EACCES);
        CHECK(strstr(st.msg, "uid 1000 does not own \"team2\"") || strstr(st.msg, "uid 1000 does not own team2"));
        CHECK(access_check(m, &alice, "", ACCESS_READ, &st) == -EACCES);
        CHECK(access_check(m, &bob, "team1/box", ACCESS_READ, &st) == -EACCES);
        CHECK(access_check(m, &bob, "team2/a", ACCESS_CHANGE, &st) == 0);
        /* ACCESS_NONE (version) is for anyone. */
        CHECK(access_check(m, &bob, "team1", ACCESS_NONE, &st) == 0);
        /* uid 0 inside a container is root of what it sees. */
        CHECK(caller_is_admin(&inside));
        CHECK(!caller_is_admin(&alice));

        CHECK(access_visible(m, &alice, tree_lookup(m->root, "team1/box", NULL, NULL)));
        CHECK(!access_visible(m, &alice, tree_lookup(m->root, "team2", NULL, NULL)));
        caller_done(&root);
        caller_done(&alice);
        caller_done(&bob);
        caller_done(&inside);
}

static void test_position(manager *m) {
        caller in, out;
        char buf[LMCT_NAME_MAX + 2], key[128];

        caller_made_up(1000, 1000, "team1/box", false, &in);
        caller_made_up(1000, 1000, "", false, &out);
        CHECK_STR(caller_resolve(&in, "sub", buf, sizeof buf), "team1/box/sub");
        CHECK_STR(caller_resolve(&in, "/sub", buf, sizeof buf), "team1/box/sub");
        CHECK_STR(caller_resolve(&out, "team2", buf, sizeof buf), "team2");
        CHECK_STR(caller_relative(&in, "team1/box/sub"), "sub");
        CHECK_STR(caller_relative(&in, "team1/box"), "");
        CHECK(caller_relative(&in, "team1") == NULL);
        CHECK(caller_relative(&in, "team1/boxer") == NULL);
        CHECK(caller_relative(&in, "team2/box/sub") == NULL);
        CHECK_STR(caller_relative(&out, "team2"), "team2");

        /* Principals: per uid outside, per owned subtree inside. */
        access_principal(m, &out, key, sizeof key);
        CHECK_STR(key, "uid 1000");
        access_principal(m, &in, key, sizeof key);
        CHECK_STR(key, "container team1");
        caller_done(&in);
        caller_made_up(0, 0, "", true, &in);
        access_principal(m, &in, key, sizeof key);
        CHECK_STR(key, "root");
        caller_done(&in);
        caller_made_up(0, 0, "plain/x", false, &in);
        access_principal(m, &in, key, sizeof key);
        CHECK_STR(key, "container plain");
        caller_done(&in);
        caller_done(&out);
}

int main(void) {
        manager m = { .max_depth = 32 };

        m.root = tree_new_root();
        node *t1 = add(m.root, "team1", 1000);
        add(t1, "box", -1);
        add(add(m.root, "team2", 1001), "a", -1);
        add(add(m.root, "plain", -1), "x", -1);
        test_ownership(&m);
        test_position(&m);
        tree_free(m.root);
        printf("%d checks, %d failed\n", test_checks, test_failures);
        return test_failures ? 1 : 0;
}

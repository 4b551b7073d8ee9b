/* The container tree's index (core/tree.c): adding, lookup, paths, counts,
 * removal. No cgroupfs needed. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "tree.h"

static void test_shape(void) {
        node *root = tree_new_root(), *a, *b, *c, *ab, *deepest = NULL, *n;
        char buf[256];
        size_t missing = 0;

        CHECK(root != NULL);
        CHECK(tree_add(root, "b", &b) == 0);
        CHECK(tree_add(root, "a", &a) == 0);
        CHECK(tree_add(root, "c", &c) == 0);
        CHECK(tree_add(root, "a", &n) == -EEXIST);
        CHECK(tree_add(a, "b", &ab) == 0);
        /* Children are kept sorted by name, whatever the order they came in. */
        CHECK(root->n_children == 3);
        CHECK_STR(root->children[0]->name, "a");
        CHECK_STR(root->children[1]->name, "b");
        CHECK_STR(root->children[2]->name, "c");
        CHECK(tree_child(root, "bx", 1) == b);
        CHECK(tree_child(root, "d", 1) == NULL);
        CHECK(ab->depth == 2 && a->depth == 1 && ab->parent == a);

        CHECK(tree_lookup(root, "a/b", NULL, NULL) == ab);
        CHECK(tree_lookup(root, "a/b/x/y", &deepest, &missing) == NULL);
        CHECK(deepest == ab);
        CHECK(missing == 4); /* "x/y" starts at offset 4 */
        CHECK(tree_lookup(root, "zz", &deepest, &missing) == NULL);
        CHECK(deepest == root && missing == 0);

        CHECK_STR(tree_path(ab, buf, sizeof buf), "a/b");
        CHECK_STR(tree_path(root, buf, sizeof buf), "");
        CHECK(tree_count(root) == 4);
        CHECK(tree_count(a) == 1);

        tree_remove(a);
        CHECK(tree_count(root) == 2);
        CHECK(tree_lookup(root, "a/b", &deepest, NULL) == NULL && deepest == root);
        CHECK(root->n_children == 2);
        CHECK_STR(root->children[0]->name, "b");
        tree_free(root);
}

/* Many children: lookups stay right as the sorted array grows. */
static void test_many(void) {
        node *root = tree_new_root(), *n;
        char name[16];
        bool all = true;

        for (int i = 999; i >= 0; i--) {
                snprintf(name, sizeof name, "c%03d", i);
                all &= tree_add(root, name, &n) == 0;
        }
        CHECK(all);
        CHECK(tree_count(root) == 1000);
        for (int i = 0; i < 1000; i++) {
                snprintf(name, sizeof name, "c%03d", i);
                n = tree_lookup(root, name, NULL, NULL);
                all &= n && strcmp(n->name, name) == 0;
        }
        CHECK(all);
        for (size_t i = 1; i < root->n_children; i++)
                all &= strcmp(root->children[i - 1]->name, root->children[i]->name) < 0;
        CHECK(all);
        tree_free(root);
}

TEST_MAIN(test_shape(); test_many())

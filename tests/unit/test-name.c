#include <errno.h>
#include <string.h>

#include "lmct-name.h"
#include "test.h"

static int check(const char *s, size_t len) {
        char err[200];
        size_t skip;
        return lmct_name_check(s, len, LMCT_NAME_DEPTH_MAX, 0, &skip, err, sizeof err);
}

static int chk(const char *s) { return check(s, strlen(s)); }

static void test_valid(void) {
        size_t skip = 9;
        CHECK(chk("containerA") == 1);
        CHECK(chk("containerA/sub1") == 2);
        CHECK(chk("a/b-c/d_e/0") == 4);
        CHECK(lmct_name_check("/containerA/sub1", 16, 32, 0, &skip, NULL, 0) == 2);
        CHECK(skip == 1);
        CHECK(lmct_name_check("", 0, 32, 1, &skip, NULL, 0) == 0);
        CHECK(lmct_name_check("/", 1, 32, 1, &skip, NULL, 0) == 0 && skip == 1);
}

static void test_invalid(void) {
        char err[200];
        char longc[70], deep[200];

        CHECK(chk("") == -EINVAL);
        CHECK(chk("/") == -EINVAL);
        CHECK(chk("a//b") == -EINVAL);
        CHECK(chk("a/") == -EINVAL);
        CHECK(chk("//a") == -EINVAL);
        CHECK(chk(".") == -EINVAL);
        CHECK(chk("..") == -EINVAL);
        CHECK(chk("a/../b") == -EINVAL);
        CHECK(chk("a.b") == -EINVAL);
        CHECK(chk("_self") == -EINVAL);
        CHECK(chk("-a") == -EINVAL);
        CHECK(chk("a b") == -EINVAL);
        CHECK(chk("a\nb") == -EINVAL);
        CHECK(chk("caf\xc3\xa9") == -EINVAL);
        CHECK(check("a\0b", 3) == -EINVAL);
        memset(longc, 'x', 65);
        longc[65] = '\0';
        CHECK(chk(longc) == -EINVAL);
        longc[64] = '\0';
        CHECK(chk(longc) == 1);
        deep[0] = '\0';
        for (int i = 0; i < 33; i++)
                strcat(deep, i ? "/a" : "a");
        CHECK(chk(deep) == -EINVAL);
        deep[strlen(deep) - 2] = '\0';
        CHECK(chk(deep) == 32);
        CHECK(lmct_name_check(deep, strlen(deep), 4, 0, NULL, err, sizeof err) == -EINVAL);
        CHECK(strstr(err, "4 levels") != NULL);
}

static void test_messages(void) {
        char err[200];
        lmct_name_check("a/b..c", 6, 32, 0, NULL, err, sizeof err);
        CHECK(strstr(err, "a dot") && strstr(err, "component 2"));
        lmct_name_check("a\0", 2, 32, 0, NULL, err, sizeof err);
        CHECK(strstr(err, "NUL") != NULL);
        lmct_name_check("a\n", 2, 32, 0, NULL, err, sizeof err);
        CHECK(strstr(err, "newline") != NULL);
        lmct_name_check("a//b", 4, 32, 0, NULL, err, sizeof err);
        CHECK(strstr(err, "empty component 2") != NULL);
        lmct_name_check("\xff", 1, 32, 0, NULL, err, sizeof err);
        CHECK(strstr(err, "non-ASCII") != NULL);
        CHECK_STR(lmct_name_last("a/b/c"), "c");
        CHECK_STR(lmct_name_last("c"), "c");
}

static void test_labels(void) {
        char k129[130], v256[257];

        memset(k129, 'k', sizeof k129 - 1);
        k129[sizeof k129 - 1] = '\0';
        memset(v256, 'v', sizeof v256 - 1);
        v256[sizeof v256 - 1] = '\0';
        CHECK(lmct_label_problem("team", "infra") == NULL);
        CHECK(lmct_label_problem("example.com/role", "web server") == NULL);
        CHECK(lmct_label_problem("a", "") == NULL);
        CHECK(lmct_label_problem("a-b_c.d", NULL) == NULL);
        CHECK(lmct_label_problem("k", "caf\xc3\xa9") == NULL);
        CHECK(lmct_label_problem(k129 + 1, v256 + 1) == NULL);
        CHECK(lmct_label_problem(k129, "v") != NULL);
        CHECK(lmct_label_problem("k", v256) != NULL);
        CHECK(lmct_label_problem("", "v") != NULL);
        CHECK(lmct_label_problem(NULL, "v") != NULL);
        CHECK(lmct_label_problem("-k", "v") != NULL);
        CHECK(lmct_label_problem("k-", "v") != NULL);
        CHECK(lmct_label_problem("k=v", NULL) != NULL);
        CHECK(lmct_label_problem("a b", "v") != NULL);
        CHECK(lmct_label_problem("k", "a\nb") != NULL);
        CHECK(lmct_label_problem("k", "a\tb") != NULL);
        CHECK(lmct_label_problem("k", "a\x7f") != NULL);
        CHECK_STR(lmct_label_problem("k", "a\nb"), "a label value must not hold control characters");
}

TEST_MAIN(test_valid(); test_invalid(); test_messages(); test_labels())

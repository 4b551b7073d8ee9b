/* Label text: editing, bounds and selectors (no cgroupfs needed). */
#include <errno.h>
#include <stdlib.h>

#include "labels.h"
#include "test.h"

static Lmct__V1__Label L(const char *k, const char *v) {
        Lmct__V1__Label l = LMCT__V1__LABEL__INIT;
        l.key = (char *)k;
        l.value = (char *)v;
        return l;
}

static int edit(const char *old, Lmct__V1__Label *set, size_t n_set, char **rm, size_t n_rm, char *out,
                status *st) {
        Lmct__V1__Label *p[40];
        label_change lc = { p, n_set, rm, n_rm };

        for (size_t i = 0; i < n_set; i++)
                p[i] = &set[i];
        return labels_edit(old, &lc, out, LABELS_TEXT_MAX, st);
}

static void test_edit(void) {
        char out[LABELS_TEXT_MAX];
        status st = { 0 };
        Lmct__V1__Label set[40];
        char *rm[] = { "job", "absent" };

        set[0] = L("team", "infra");
        set[1] = L("job", "web-1");
        CHECK(edit("", set, 2, NULL, 0, out, &st) == 0);
        CHECK_STR(out, "job=web-1\nteam=infra\n");
        /* Replace one, add one, remove one (and one that is not there). */
        set[0] = L("team", "db");
        set[1] = L("tier", "");
        CHECK(edit("job=web-1\nteam=infra\n", set, 2, rm, 2, out, &st) == 0);
        CHECK_STR(out, "team=db\ntier=\n");
        /* Removing the last label leaves no text. */
        CHECK(edit("job=web-1\n", NULL, 0, rm, 1, out, &st) == 0);
        CHECK_STR(out, "");
        /* A value absent is an empty value; a value may hold '='. */
        set[0] = L("k", NULL);
        set[1] = L("eq", "a=b");
        CHECK(edit("", set, 2, NULL, 0, out, &st) == 0);
        CHECK_STR(out, "eq=a=b\nk=\n");
        /* Refusals. */
        set[0] = L("k", "a\nb");
        CHECK(edit("", set, 1, NULL, 0, out, &st) == -EINVAL);
        CHECK(strstr(st.msg, "label 1: a label value must not hold control characters") != NULL);
        set[0] = L("k", "1");
        set[1] = L("k", "2");
        CHECK(edit("", set, 2, NULL, 0, out, &st) == -EINVAL);
        CHECK(strstr(st.msg, "label key \"k\" is given twice") != NULL);
        set[0] = L("job", "1");
        CHECK(edit("", set, 1, rm, 1, out, &st) == -EINVAL);
        CHECK(strstr(st.msg, "both set and removed") != NULL);
        {
                static char keys[33][8];
                for (int i = 0; i < 33; i++) {
                        snprintf(keys[i], sizeof keys[i], "k%d", i);
                        set[i] = L(keys[i], "v");
                }
                CHECK(edit("", set, 32, NULL, 0, out, &st) == 0);
                CHECK(edit(out, set + 32, 1, NULL, 0, out, &st) == -E2BIG);
                CHECK(strstr(st.msg, "33 labels: at most 32") != NULL);
        }
        {
                static char v[256];
                static char keys[20][8];
                memset(v, 'v', 255);
                for (int i = 0; i < 20; i++) {
                        snprintf(keys[i], sizeof keys[i], "k%d", i);
                        set[i] = L(keys[i], v);
                }
                CHECK(edit("", set, 15, NULL, 0, out, &st) == 0);
                CHECK(edit("", set, 16, NULL, 0, out, &st) == -E2BIG);
                CHECK(strstr(st.msg, "at most 4096") != NULL);
        }
}

static void test_match(void) {
        const char *text = "job=web-1\nteam=infra\ntier=\n";
        Lmct__V1__Label s[3], *p[3] = { &s[0], &s[1], &s[2] };

        s[0] = L("team", "infra");
        CHECK(labels_match(text, p, 1));
        s[1] = L("job", NULL);
        CHECK(labels_match(text, p, 2));
        s[2] = L("tier", "");
        CHECK(labels_match(text, p, 3));
        s[2] = L("tier", "x");
        CHECK(!labels_match(text, p, 3));
        s[0] = L("team", "infr");
        CHECK(!labels_match(text, p, 1));
        s[0] = L("tea", NULL);
        CHECK(!labels_match(text, p, 1));
        CHECK(labels_match("", p, 0));
        CHECK(!labels_match("", p, 1));
        /* Lines without '=' (written by hand) are ignored. */
        s[0] = L("garbage", NULL);
        CHECK(!labels_match("garbage\nteam=infra\n", p, 1));
}

static void test_proto(void) {
        Lmct__V1__Label **v;
        size_t n;

        CHECK(labels_to_proto("a=1\nb=\n", &v, &n) == 0 && n == 2);
        CHECK_STR(v[0]->key, "a");
        CHECK_STR(v[0]->value, "1");
        CHECK_STR(v[1]->key, "b");
        CHECK_STR(v[1]->value, "");
        for (size_t i = 0; i < n; i++)
                lmct__v1__label__free_unpacked(v[i], NULL);
        free(v);
        CHECK(labels_to_proto("", &v, &n) == 0 && n == 0 && v == NULL);
}

TEST_MAIN(test_edit(); test_match(); test_proto())

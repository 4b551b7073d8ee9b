/* A minimal agent built against the installed liblmct (lmct.h, liblmct.pc):
 * creates a container with limits, lists the tree, destroys it.
 *   agent-example SOCKET NAME */
#include <errno.h>
#include <stdio.h>

#include <lmct.h>

int main(int argc, char **argv) {
        lmct_limits l = LMCT__V1__LIMITS__INIT; /* no limits: structure works on any cgroup v2 host */
        lmct_response *resp = NULL;
        lmct_client *c;
        int r;

        if (argc != 3)
                return 2;
        if ((r = lmct_connect(argv[1], &c)) < 0)
                return fprintf(stderr, "connect: %d\n", r), 1;
        if ((r = lmct_create(c, argv[2], &l, true)) < 0)
                return fprintf(stderr, "create: %s: %s\n", lmct_code_name(lmct_client_code(c)), lmct_client_message(c)), 1;
        if ((r = lmct_list(c, "", true, &resp)) < 0)
                return 1;
        for (size_t i = 0; i < resp->list->n_names; i++)
                printf("%s\n", resp->list->names[i]);
        lmct_response_free(resp);
        if ((r = lmct_create(c, argv[2], &l, false)) != -EEXIST)
                return fprintf(stderr, "a duplicate create returned %d\n", r), 1;
        printf("duplicate: %s\n", lmct_code_name(lmct_client_code(c)));
        if ((r = lmct_destroy(c, argv[2], false, false)) < 0)
                return 1;
        lmct_client_free(c);
        return 0;
}

/* libFuzzer: container names, the first thing every verb checks. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lmct-name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[200];
        size_t skip;
        int depth;

        if (size < 1)
                return 0;
        /* The first byte picks the depth bound and whether "/" is allowed. */
        depth = lmct_name_check((const char *)data + 1, size - 1, 1 + data[0] % 40, data[0] & 0x80, &skip, err,
                                sizeof err);
        if (depth > 0) {
                char name[LMCT_NAME_MAX + 2];
                if (size - 1 > LMCT_NAME_MAX + 1)
                        __builtin_trap(); /* accepted a name longer than the maximum */
                memcpy(name, data + 1, size - 1);
                name[size - 1] = '\0';
                (void)lmct_name_last(name + skip);
        }
        return 0;
}

/* libFuzzer: the size, CPU, count and CPU-list parsers, and that what the
 * formatters print parses back: CPUs exactly, sizes within the one decimal
 * the formatter keeps. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lmct-limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1), buf[64];
        uint64_t v, w;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (lmct_parse_size(s, 1, &v) == 0 && v != LMCT_MAX) {
                lmct_format_size(v, buf, sizeof buf);
                if (lmct_parse_size(buf, 1, &w) != 0 || (w > v ? w - v : v - w) > v / 10)
                        __builtin_trap(); /* a formatted size does not parse back */
        }
        if (lmct_parse_cpu(s, &v) == 0 && v != LMCT_MAX) {
                lmct_format_cpu(v, buf, sizeof buf);
                if (lmct_parse_cpu(buf, &w) != 0 || w != v)
                        __builtin_trap(); /* a formatted CPU count does not parse back */
        }
        (void)lmct_parse_uint(s, 1, 10000, 1, &v);
        (void)lmct_parse_cpuset(s);
        free(s);
        return 0;
}

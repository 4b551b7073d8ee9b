/* libFuzzer: the frame decoder and request checks lmctld runs on every
 * byte a client sends, before any dispatch: length prefix, protobuf
 * decoding, string checks. */
#include <stddef.h>
#include <stdint.h>

#include "lmct-frame.h"
#include "lmct.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        while (size > 0) {
                uint64_t len;
                char err[128];
                Lmct__V1__Request *req;
                int h = lmct_frame_header(data, size, &len);

                if (h <= 0 || len > size - (size_t)h)
                        return 0;
                data += h;
                size -= (size_t)h;
                if (lmct_check_strings(&lmct__v1__request__descriptor, data, (size_t)len, err, sizeof err) == 0) {
                        req = lmct__v1__request__unpack(NULL, (size_t)len, data);
                        if (req)
                                lmct__v1__request__free_unpacked(req, NULL);
                }
                data += len;
                size -= (size_t)len;
        }
        return 0;
}

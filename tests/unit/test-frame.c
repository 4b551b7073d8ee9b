#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "lmct.pb-c.h"
#include "lmct-frame.h"
#include "test.h"

static void test_varint(void) {
        uint8_t b[LMCT_VARINT_MAX];
        uint64_t v;
        const uint64_t cases[] = { 0, 1, 127, 128, 300, 16383, 16384, 1u << 20, UINT64_MAX };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                size_t n = lmct_varint_encode(cases[i], b);
                CHECK(lmct_frame_header(b, n, &v) == (int)n && v == cases[i]);
                CHECK(n == 1 || lmct_frame_header(b, n - 1, &v) == 0);
        }
        CHECK(lmct_varint_encode(300, b) == 2 && b[0] == 0xac && b[1] == 0x02);
        memset(b, 0xff, sizeof b);
        CHECK(lmct_frame_header(b, sizeof b, &v) == -EBADMSG);
        b[9] = 0x02; /* bit 64 set */
        CHECK(lmct_frame_header(b, sizeof b, &v) == -EBADMSG);
}

/* A request packs, frames, unframes and unpacks to itself. */
static void test_roundtrip(void) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__CreateRequest cr = LMCT__V1__CREATE_REQUEST__INIT;
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        uint8_t buf[256];
        uint64_t len;
        size_t n, h;
        int hl;

        req.has_id = 1;
        req.id = 42;
        req.verb_case = LMCT__V1__REQUEST__VERB_CREATE;
        req.create = &cr;
        cr.name = "containerA/sub1";
        cr.limits = &l;
        l.has_cpu_millis = 1;
        l.cpu_millis = 6000;
        n = lmct__v1__request__get_packed_size(&req);
        h = lmct_varint_encode(n, buf);
        lmct__v1__request__pack(&req, buf + h);
        hl = lmct_frame_header(buf, h + n, &len);
        CHECK(hl == (int)h && len == n);
        {
                Lmct__V1__Request *r = lmct__v1__request__unpack(NULL, len, buf + hl);
                CHECK(r && r->id == 42 && r->verb_case == LMCT__V1__REQUEST__VERB_CREATE);
                CHECK(r && !strcmp(r->create->name, "containerA/sub1") && r->create->limits->cpu_millis == 6000);
                lmct__v1__request__free_unpacked(r, NULL);
        }
        CHECK(lmct_check_strings(&lmct__v1__request__descriptor, buf + hl, len, (char[64]){ 0 }, 64) == 0);
}

static void test_strings(void) {
        /* Request{create{name:"a\0b"}}: field 11 (create), field 1 (name). */
        const uint8_t nul[] = { 0x5a, 0x05, 0x0a, 0x03, 'a', 0x00, 'b' };
        const uint8_t bad_utf8[] = { 0x5a, 0x04, 0x0a, 0x02, 0xc3, 0x28 };
        const uint8_t good_utf8[] = { 0x5a, 0x05, 0x0a, 0x03, 'a', 0xc3, 0xa9 };
        const uint8_t truncated[] = { 0x5a, 0x09, 0x0a, 0x03 };
        char err[128];

        CHECK(lmct_check_strings(&lmct__v1__request__descriptor, nul, sizeof nul, err, sizeof err) == -EBADMSG);
        CHECK(strstr(err, "name") != NULL);
        CHECK(lmct_check_strings(&lmct__v1__request__descriptor, bad_utf8, sizeof bad_utf8, err, sizeof err) == -EBADMSG);
        CHECK(lmct_check_strings(&lmct__v1__request__descriptor, good_utf8, sizeof good_utf8, err, sizeof err) == 0);
        CHECK(lmct_check_strings(&lmct__v1__request__descriptor, truncated, sizeof truncated, err, sizeof err) == -EBADMSG);
}

TEST_MAIN(test_varint(); test_roundtrip(); test_strings())

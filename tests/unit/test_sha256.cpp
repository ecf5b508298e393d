// sha256.c: known vectors (FIPS 180-2 examples), streamed file hashing, digest syntax.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include "fsutil.h"
#include "sha256.h"
}

static std::string hex_of(const std::string &s) {
    char hex[65];
    kiln_sha256_hex(s.data(), s.size(), hex);
    return hex;
}

TEST_CASE("sha256 of known vectors", "[sha256]") {
    CHECK(hex_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(hex_of(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 of a file is streamed and matches the in-memory digest", "[sha256]") {
    kiln_error err = {};
    char *dir = kiln_make_temp_dir("/tmp", "kiln-test-sha-", &err);
    REQUIRE(dir != nullptr);
    // 3 MiB + 7 bytes: crosses the reader's chunk boundary several times.
    std::string data(3 * 1024 * 1024 + 7, '\0');
    for (size_t i = 0; i < data.size(); i++) data[i] = (char)(i * 131 + (i >> 13));
    char *path = kiln_path_join(dir, "blob");
    REQUIRE(kiln_write_file_atomic(path, data.data(), data.size(), &err) == 0);

    char hex[65];
    int64_t size = -1;
    REQUIRE(kiln_sha256_file(path, hex, &size, &err) == 0);
    CHECK(std::string(hex) == hex_of(data));
    CHECK(size == (int64_t)data.size());
    CHECK(kiln_is_digest(hex));

    SECTION("an empty file") {
        char *empty = kiln_path_join(dir, "empty");
        REQUIRE(kiln_write_file_atomic(empty, "", 0, &err) == 0);
        REQUIRE(kiln_sha256_file(empty, hex, nullptr, &err) == 0);
        CHECK(std::string(hex) == hex_of(""));
        free(empty);
    }
    SECTION("a missing file is KILN_ENOTFOUND and the message names it") {
        char *missing = kiln_path_join(dir, "nope");
        kiln_error e2 = {};
        CHECK(kiln_sha256_file(missing, hex, nullptr, &e2) == KILN_ENOTFOUND);
        CHECK(e2.code == KILN_ENOTFOUND);
        CHECK(std::string(e2.message).find(missing) != std::string::npos);
        free(missing);
    }
    SECTION("a directory is KILN_EIO") {
        kiln_error e2 = {};
        CHECK(kiln_sha256_file(dir, hex, nullptr, &e2) == KILN_EIO);
    }
    free(path);
    REQUIRE(kiln_remove_tree(dir, &err) == 0);
    free(dir);
}

TEST_CASE("kiln_is_digest accepts exactly 64 lowercase hex chars", "[sha256]") {
    std::string good(64, 'a');
    CHECK(kiln_is_digest(good.c_str()));
    CHECK(kiln_is_digest("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    CHECK_FALSE(kiln_is_digest(std::string(63, 'a').c_str()));
    CHECK_FALSE(kiln_is_digest(std::string(65, 'a').c_str()));
    CHECK_FALSE(kiln_is_digest(std::string(64, 'A').c_str()));
    CHECK_FALSE(kiln_is_digest(std::string(64, 'g').c_str()));
    CHECK_FALSE(kiln_is_digest(""));
    CHECK_FALSE(kiln_is_digest(nullptr));
}

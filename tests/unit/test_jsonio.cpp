// jsonio.c: parse errors carry FILE:LINE:COL; writes are deterministic and atomic.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include "fsutil.h"
#include "jsonio.h"
}

namespace {
struct TmpDir {
    std::string path;
    TmpDir() {
        kiln_error err = {};
        char *p = kiln_make_temp_dir("/tmp", "kiln-test-json-", &err);
        REQUIRE(p != nullptr);
        path = p;
        free(p);
    }
    ~TmpDir() {
        kiln_error err = {};
        kiln_remove_tree(path.c_str(), &err);
    }
    std::string operator/(const std::string &name) const { return path + "/" + name; }
};

bool starts_with(const std::string &s, const std::string &prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}
} // namespace

TEST_CASE("parse errors name the source, line and column", "[jsonio]") {
    const char *text = "{\n  \"a\": 1,\n  \"b\": x\n}\n";
    kiln_error err = {};
    json_t *v = kiln_json_parse(text, strlen(text), "graph.json", &err);
    CHECK(v == nullptr);
    CHECK(err.code == KILN_EFORMAT);
    INFO(err.message);
    CHECK(starts_with(err.message, "graph.json:3:8: "));
}

TEST_CASE("truncated input reports where it ended", "[jsonio]") {
    const char *text = "{\"a\": [1, 2,";
    kiln_error err = {};
    CHECK(kiln_json_parse(text, strlen(text), "t.json", &err) == nullptr);
    INFO(err.message);
    CHECK(starts_with(err.message, "t.json:1:"));
}

TEST_CASE("duplicate keys are rejected", "[jsonio]") {
    const char *text = "{\"a\": 1,\n \"a\": 2}";
    kiln_error err = {};
    CHECK(kiln_json_parse(text, strlen(text), "d.json", &err) == nullptr);
    INFO(err.message);
    CHECK(starts_with(err.message, "d.json:2:"));
    CHECK(std::string(err.message).find("duplicate") != std::string::npos);
}

TEST_CASE("parse accepts any JSON value and text without a NUL", "[jsonio]") {
    kiln_error err = {};
    const char buf[] = {'[', '1', ']', 'x'};
    json_t *v = kiln_json_parse(buf, 3, "b", &err);
    REQUIRE(v != nullptr);
    CHECK(json_array_size(v) == 1);
    json_decref(v);
    v = kiln_json_parse("42", 2, "n", &err);
    REQUIRE(v != nullptr);
    CHECK(json_integer_value(v) == 42);
    json_decref(v);
}

TEST_CASE("read_file errors", "[jsonio]") {
    TmpDir t;
    kiln_error err = {};
    std::string missing = t / "missing.json";
    CHECK(kiln_json_read(missing.c_str(), &err) == nullptr);
    CHECK(err.code == KILN_ENOTFOUND);
    CHECK(std::string(err.message).find(missing) != std::string::npos);

    std::string bad = t / "bad.json";
    const char *text = "{\n\n   \"k\": [1,, 2]\n}";
    REQUIRE(kiln_write_file_atomic(bad.c_str(), text, strlen(text), &err) == 0);
    kiln_error e2 = {};
    CHECK(kiln_json_read(bad.c_str(), &e2) == nullptr);
    CHECK(e2.code == KILN_EFORMAT);
    INFO(e2.message);
    CHECK(starts_with(e2.message, bad + ":3:"));
}

TEST_CASE("write is sorted, 2-space indented, newline-terminated and round-trips", "[jsonio]") {
    TmpDir t;
    kiln_error err = {};
    json_t *v = json_pack("{s:f, s:{s:i, s:[i,i]}, s:s}", "zeta", 0.5, "alpha", "y", 1, "x", 1,
                          2, "mid", "caf\xc3\xa9");
    std::string p = t / "m.json";
    REQUIRE(kiln_json_write(p.c_str(), v, &err) == 0);
    char *data = nullptr;
    size_t len = 0;
    REQUIRE(kiln_read_file(p.c_str(), &data, &len, &err) == 0);
    std::string text(data, len);
    free(data);
    CHECK(text ==
          "{\n  \"alpha\": {\n    \"x\": [\n      1,\n      2\n    ],\n    \"y\": 1\n  },\n"
          "  \"mid\": \"caf\xc3\xa9\",\n  \"zeta\": 0.5\n}\n");
    json_t *back = kiln_json_read(p.c_str(), &err);
    REQUIRE(back != nullptr);
    CHECK(json_equal(back, v));

    // Same value, built in another order: same bytes.
    json_t *w = json_pack("{s:s, s:{s:[i,i], s:i}, s:f}", "mid", "caf\xc3\xa9", "alpha", "x", 1,
                          2, "y", 1, "zeta", 0.5);
    std::string p2 = t / "m2.json";
    REQUIRE(kiln_json_write(p2.c_str(), w, &err) == 0);
    REQUIRE(kiln_read_file(p2.c_str(), &data, &len, &err) == 0);
    CHECK(std::string(data, len) == text);
    free(data);
    json_decref(back);
    json_decref(v);
    json_decref(w);
}

// canon.c: canonical JSON bytes (the input of every action key). Also the event line format
// (events.c), which is serialised JSON as well.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <unistd.h>

extern "C" {
#include "canon.h"
#include "events.h"
}

static std::string canon(const json_t *v) {
    char *s = kiln_canonical_json(v);
    std::string r(s);
    free(s);
    return r;
}

static std::string canon_text(const char *text) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    REQUIRE(v != nullptr);
    std::string r = canon(v);
    json_decref(v);
    return r;
}

TEST_CASE("canonical JSON is compact with sorted keys at every level", "[canon]") {
    CHECK(canon_text("{ \"b\": 1, \"a\": {\"z\": [1, 2, {\"y\": null, \"x\": true}], \"c\": \"s\"} }") ==
          "{\"a\":{\"c\":\"s\",\"z\":[1,2,{\"x\":true,\"y\":null}]},\"b\":1}");
}

TEST_CASE("insertion order does not change the bytes", "[canon]") {
    json_t *a = json_object();
    json_object_set_new(a, "op", json_string("cpu.train"));
    json_object_set_new(a, "lr", json_real(0.05));
    json_object_set_new(a, "epochs", json_integer(10));
    json_t *b = json_object();
    json_object_set_new(b, "epochs", json_integer(10));
    json_object_set_new(b, "lr", json_real(0.05));
    json_object_set_new(b, "op", json_string("cpu.train"));
    CHECK(canon(a) == canon(b));
    json_decref(a);
    json_decref(b);
}

TEST_CASE("non-ASCII text is escaped", "[canon]") {
    json_t *s = json_string("caf\xc3\xa9 \xf0\x9f\x94\xa5");
    CHECK(canon(s) == "\"caf\\u00E9 \\uD83D\\uDD25\"");
    json_decref(s);
}

TEST_CASE("reals print with 17 significant digits and round-trip exactly", "[canon]") {
    double values[] = {0.1, 0.05, 1.0 / 3.0, 1e-300, 123456789.123456789, -2.5};
    for (double v : values) {
        json_t *r = json_real(v);
        std::string s = canon(r);
        CHECK(strtod(s.c_str(), nullptr) == v);
        json_decref(r);
    }
    json_t *r = json_real(0.1);
    CHECK(canon(r) == "0.10000000000000001");
    json_decref(r);
    // An integer and a real with the same value are different keys.
    json_t *i = json_integer(1);
    json_t *f = json_real(1.0);
    CHECK(canon(i) != canon(f));
    json_decref(i);
    json_decref(f);
}

TEST_CASE("scalars and NULL serialise", "[canon]") {
    json_t *t = json_true();
    CHECK(canon(t) == "true");
    CHECK(canon(nullptr) == "null");
    json_t *s = json_string("a\"b\n");
    CHECK(canon(s) == "\"a\\\"b\\n\"");
    json_decref(s);
}

TEST_CASE("events are one compact JSON line with ts, type, job and node", "[events]") {
    json_t *ev = kiln_event_new("state", "r-1", "train[lr=0.05]");
    REQUIRE(ev != nullptr);
    CHECK(json_is_real(json_object_get(ev, "ts")));
    CHECK(json_real_value(json_object_get(ev, "ts")) > 1.6e9);
    json_object_set_new(ev, "state", json_string("running"));
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    REQUIRE(kiln_event_write_fd(fds[1], ev) == 0);
    close(fds[1]);
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    REQUIRE(n > 0);
    buf[n] = '\0';
    std::string line(buf);
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
    json_error_t je;
    json_t *back = json_loads(buf, 0, &je);
    REQUIRE(back != nullptr);
    CHECK(json_equal(back, ev));
    json_decref(back);
    json_decref(ev);

    json_t *bare = kiln_event_new("log", nullptr, nullptr);
    CHECK(json_object_get(bare, "job") == nullptr);
    CHECK(json_object_get(bare, "node") == nullptr);
    CHECK(std::string(json_string_value(json_object_get(bare, "type"))) == "log");
    json_decref(bare);
}

// Unit tests for core/src/schema.c: the params schema subset.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

extern "C" {
#include "schema.h"
}

namespace {

const char *kTrainSchema = R"({
  "type": "object",
  "properties": {
    "lr":        {"type": "number", "exclusiveMinimum": 0, "default": 0.01, "description": "learning rate"},
    "epochs":    {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
    "batch":     {"type": "integer", "minimum": 1, "default": 128},
    "hidden":    {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "default": [128]},
    "optimizer": {"type": "string", "enum": ["sgd", "adam"], "default": "sgd"},
    "images":    {"type": "string", "format": "input-file"},
    "name":      {"type": "string", "minLength": 1, "maxLength": 8},
    "shuffle":   {"type": "boolean", "default": true},
    "opts":      {"type": "object", "properties": {"momentum": {"type": "number", "default": 0.9}}}
  },
  "required": ["images"]
})";

struct Schema {
    kiln_schema *s = nullptr;
    explicit Schema(const char *text) {
        kiln_error err = {};
        s = kiln_schema_parse(text, &err);
        INFO(err.message);
        REQUIRE(s != nullptr);
    }
    ~Schema() { kiln_schema_free(s); }
};

struct Diags {
    kiln_diags d = {};
    ~Diags() { kiln_diags_free(&d); }
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        for (size_t i = 0; i < d.count; i++) v.push_back(d.items[i]);
        return v;
    }
    bool has(const std::string &s) const {
        for (size_t i = 0; i < d.count; i++)
            if (s == d.items[i]) return true;
        return false;
    }
    std::string all() const {
        std::string r;
        for (size_t i = 0; i < d.count; i++) r += std::string(d.items[i]) + "\n";
        return r;
    }
};

json_t *parse(const char *text) {
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    REQUIRE(v != nullptr);
    return v;
}

std::string parse_error(const char *text) {
    kiln_error err = {};
    kiln_schema *s = kiln_schema_parse(text, &err);
    kiln_schema_free(s);
    REQUIRE(s == nullptr);
    CHECK(err.code == KILN_EINVAL);
    return err.message;
}

}  // namespace

TEST_CASE("schema: valid params pass, defaults are filled and numbers normalised", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *p = parse(R"({"images": "train.gz", "lr": 1, "epochs": 3.0})");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "graph.json: node 'train'", &d.d) == 0);
    INFO(d.all());
    CHECK(d.d.count == 0);
    // integer given for a "number" becomes a real
    CHECK(json_is_real(json_object_get(p, "lr")));
    CHECK(json_real_value(json_object_get(p, "lr")) == 1.0);
    // an integral real given for an "integer" becomes an integer
    CHECK(json_is_integer(json_object_get(p, "epochs")));
    CHECK(json_integer_value(json_object_get(p, "epochs")) == 3);
    // defaults
    CHECK(json_integer_value(json_object_get(p, "batch")) == 128);
    CHECK(std::string(json_string_value(json_object_get(p, "optimizer"))) == "sgd");
    CHECK(json_is_true(json_object_get(p, "shuffle")));
    json_t *hidden = json_object_get(p, "hidden");
    REQUIRE(json_is_array(hidden));
    CHECK(json_integer_value(json_array_get(hidden, 0)) == 128);
    // no default, not given: stays absent
    CHECK(json_object_get(p, "name") == nullptr);
    json_decref(p);
}

TEST_CASE("schema: defaults are normalised too, and filled inside nested objects", "[schema]") {
    Schema s(R"({"type": "object", "properties": {
        "wd": {"type": "number", "default": 0},
        "opts": {"type": "object", "properties": {"momentum": {"type": "number", "default": 1}}}}})");
    Diags d;
    json_t *p = parse(R"({"opts": {}})");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "g.json: node 'n'", &d.d) == 0);
    CHECK(json_is_real(json_object_get(p, "wd")));
    json_t *m = json_object_get(json_object_get(p, "opts"), "momentum");
    CHECK(json_is_real(m));
    CHECK(json_real_value(m) == 1.0);
    json_decref(p);
}

TEST_CASE("schema: range errors name where, the JSON path and what was expected", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *p = parse(R"({"images": "x", "lr": -1})");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "graph.json: node 'train'", &d.d) == 1);
    CHECK(d.has("graph.json: node 'train': params/lr: expected a number > 0, got -1"));
    json_decref(p);
}

TEST_CASE("schema: nested array items are checked with their index in the path", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *p = parse(R"({"images": "x", "hidden": [256, 0, 64]})");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "graph.json: node 'train'", &d.d) == 1);
    INFO(d.all());
    CHECK(d.has("graph.json: node 'train': params/hidden/1: expected an integer >= 1, got 0"));
    json_decref(p);
}

TEST_CASE("schema: unknown params list the known ones and suggest the closest", "[schema]") {
    Schema s(R"({"type": "object", "properties": {
        "lr": {"type": "number"}, "epochs": {"type": "integer"}, "batch": {"type": "integer"}}})");
    Diags d;
    json_t *p = parse(R"({"lrr": 0.1, "zzzzzz": 1})");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "graph.json: node 'train'", &d.d) == 2);
    INFO(d.all());
    CHECK(d.has("graph.json: node 'train': params/lrr: unknown param; known: batch, epochs, lr "
                "(did you mean 'lr'?)"));
    CHECK(d.has("graph.json: node 'train': params/zzzzzz: unknown param; known: batch, epochs, lr"));
    json_decref(p);
}

TEST_CASE("schema: an op without params refuses any param", "[schema]") {
    Schema s(nullptr);
    Diags d;
    json_t *p = parse(R"({"x": 1})");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "g: node 'n'", &d.d) == 1);
    CHECK(d.has("g: node 'n': params/x: unknown param; this op takes no params"));
    json_decref(p);
    json_t *empty = json_object();
    CHECK(kiln_schema_apply(s.s, empty, nullptr, "g: node 'n'", &d.d) == 0);
    json_decref(empty);
}

TEST_CASE("schema: missing required params say type and that it is an input file", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *p = json_object();
    CHECK(kiln_schema_apply(s.s, p, nullptr, "graph.json: node 'train'", &d.d) == 1);
    CHECK(d.has("graph.json: node 'train': params: missing required param 'images' (string, input file)"));
    json_decref(p);
}

TEST_CASE("schema: skipped (swept) params are not required and get no default", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *p = json_object();
    json_t *skip = parse(R"({"images": ["a", "b"], "lr": [0.1, 0.2]})");
    CHECK(kiln_schema_apply(s.s, p, skip, "g", &d.d) == 0);
    CHECK(json_object_get(p, "lr") == nullptr);
    CHECK(json_object_get(p, "epochs") != nullptr);
    json_decref(p);
    json_decref(skip);
}

TEST_CASE("schema: every problem is reported, not just the first", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *p = parse(R"({"lr": "fast", "epochs": 0, "optimizer": "adamm", "name": "",
                          "shuffle": 1, "hidden": [], "opts": {"momentun": 0.5}, "bogus": 1})");
    int n = kiln_schema_apply(s.s, p, nullptr, "g.json: node 't'", &d.d);
    INFO(d.all());
    CHECK(n == 9);
    CHECK(n == (int)d.d.count);
    CHECK(d.has("g.json: node 't': params/lr: expected a number, got \"fast\""));
    CHECK(d.has("g.json: node 't': params/epochs: expected an integer >= 1 and <= 1000, got 0"));
    CHECK(d.has("g.json: node 't': params/optimizer: expected one of \"sgd\", \"adam\", got \"adamm\" "
                "(did you mean \"adam\"?)"));
    CHECK(d.has("g.json: node 't': params/name: expected a string of 1 to 8 characters, got \"\""));
    CHECK(d.has("g.json: node 't': params/shuffle: expected a boolean, got 1"));
    CHECK(d.has("g.json: node 't': params/hidden: expected an array of at least 1 item, got []"));
    CHECK(d.has("g.json: node 't': params/opts/momentun: unknown key; known: momentum "
                "(did you mean 'momentum'?)"));
    CHECK(d.has("g.json: node 't': params/bogus: unknown param; known: batch, epochs, hidden, "
                "images, lr, name, optimizer, opts, shuffle"));
    CHECK(d.has("g.json: node 't': params: missing required param 'images' (string, input file)"));
    json_decref(p);
}

TEST_CASE("schema: type lists, const and exclusive maximum", "[schema]") {
    Schema s(R"({"type": "object", "properties": {
        "seed": {"type": ["integer", "string"]},
        "v": {"const": 2},
        "p": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}}})");
    Diags d;
    json_t *p = parse(R"({"seed": 1.5, "v": 3, "p": 1})");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "g", &d.d) == 3);
    INFO(d.all());
    CHECK(d.has("g: params/seed: expected a string or an integer, got 1.5"));
    CHECK(d.has("g: params/v: expected 2, got 3"));
    CHECK(d.has("g: params/p: expected a number >= 0 and < 1, got 1"));
    json_decref(p);
    // both integer and number allowed: an integer stays an integer
    Schema s2(R"({"type": "object", "properties": {"x": {"type": ["integer", "number"]}}})");
    json_t *q = parse(R"({"x": 3})");
    CHECK(kiln_schema_apply(s2.s, q, nullptr, "g", &d.d) == 0);
    CHECK(json_is_integer(json_object_get(q, "x")));
    json_decref(q);
}

TEST_CASE("schema: a non-object params is one problem", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *p = parse("[1]");
    CHECK(kiln_schema_apply(s.s, p, nullptr, "g", &d.d) == 1);
    CHECK(d.has("g: params: expected an object, got [1]"));
    json_decref(p);
}

TEST_CASE("schema: check_value checks one sweep value", "[schema]") {
    Schema s(kTrainSchema);
    Diags d;
    json_t *ok = json_real(0.5);
    CHECK(kiln_schema_check_value(s.s, "lr", ok, "g: node 't': sweep/lr/0", &d.d) == 0);
    json_t *bad = json_integer(-2);
    CHECK(kiln_schema_check_value(s.s, "lr", bad, "g: node 't': sweep/lr/1", &d.d) == 1);
    CHECK(d.has("g: node 't': sweep/lr/1: expected a number > 0, got -2"));
    json_t *arr = parse("[1, -1]");
    CHECK(kiln_schema_check_value(s.s, "hidden", arr, "g: node 't': sweep/hidden/0", &d.d) == 1);
    CHECK(d.has("g: node 't': sweep/hidden/0/1: expected an integer >= 1, got -1"));
    CHECK(kiln_schema_check_value(s.s, "lrr", ok, "g: node 't': sweep/lrr", &d.d) == 1);
    INFO(d.all());
    CHECK(d.has("g: node 't': sweep/lrr: no param 'lrr'; known: batch, epochs, hidden, images, lr, "
                "name, optimizer, opts, shuffle (did you mean 'lr'?)"));
    json_decref(ok);
    json_decref(bad);
    json_decref(arr);
}

TEST_CASE("schema: has, is_input_file and describe", "[schema]") {
    Schema s(kTrainSchema);
    CHECK(kiln_schema_has(s.s, "lr"));
    CHECK_FALSE(kiln_schema_has(s.s, "nope"));
    CHECK(kiln_schema_is_input_file(s.s, "images"));
    CHECK_FALSE(kiln_schema_is_input_file(s.s, "lr"));
    const json_t *desc = kiln_schema_describe(s.s);
    REQUIRE(json_is_object(desc));
    const json_t *lr = json_object_get(desc, "lr");
    CHECK(std::string(json_string_value(json_object_get(lr, "type"))) == "number");
    CHECK(json_real_value(json_object_get(lr, "default")) == 0.01);
    CHECK(json_is_false(json_object_get(lr, "required")));
    CHECK(std::string(json_string_value(json_object_get(lr, "description"))) == "learning rate");
    CHECK(json_is_true(json_object_get(json_object_get(desc, "images"), "required")));
    Schema none("");
    CHECK(json_object_size(kiln_schema_describe(none.s)) == 0);
}

TEST_CASE("schema: parse rejects what is outside the subset, naming where", "[schema]") {
    CHECK(parse_error("{") .find("params schema:1:") == 0);
    CHECK(parse_error(R"({"type": "object", "properties": {"x": {"type": "float"}}})") ==
          "params schema: properties/x/type: expected a type name (string, number, integer, boolean, "
          "array, object) or a list of them, got \"float\"");
    CHECK(parse_error(R"({"type": "object", "properties": {"x": {"type": "number", "pattern": "a"}}})")
              .find("params schema: properties/x/pattern: unknown keyword 'pattern'") == 0);
    CHECK(parse_error(R"({"type": "object", "properties": {"x": {"type": "number", "minimum": "0"}}})") ==
          "params schema: properties/x/minimum: expected a number, got \"0\"");
    CHECK(parse_error(R"({"type": "object", "properties": {"x": {"type": "string", "minLength": -1}}})") ==
          "params schema: properties/x/minLength: expected an integer >= 0, got -1");
    CHECK(parse_error(R"({"type": "object", "properties": {}, "required": ["y"]})") ==
          "params schema: required: 'y' is required but not declared in properties");
    CHECK(parse_error(R"({"type": "array"})").find("params schema: type: expected \"object\"") == 0);
    CHECK(parse_error(R"({"type": "object", "properties": {"x": {"type": "number", "format": "uri"}}})")
              .find("params schema: properties/x/format:") == 0);
    CHECK(parse_error(R"({"type": "object", "properties": {"x": {"type": "integer", "minimum": 1, "default": 0}}})") ==
          "params schema: properties/x/default: does not fit its own schema: expected an integer >= 1, got 0");
    CHECK(parse_error(R"({"type": "object", "properties": {"x": {"type": "array", "items": {"type": "nope"}}}})")
              .find("params schema: properties/x/items/type:") == 0);
    CHECK(parse_error(R"({"type": "object", "additionalProperties": true})")
              .find("params schema: additionalProperties: expected false") == 0);
}

// Unit tests of the Bazel exporter's pure parts: target names for instances (sweeps as
// `train__lr_0.05`), the mapping of characters Bazel does not allow, reserved names, label
// collisions, Starlark/JSON text in buildifier's style, and the model's refusals (bad
// options, a plugin without a path, two instances with one target name).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "bazel/model.h"
#include "bazel/names.h"
#include "bazel/text.h"
}

namespace {

std::string name_of(const char *node, const char *sweep_json) {
    json_t *sweep = sweep_json ? json_loads(sweep_json, JSON_DECODE_ANY, nullptr) : nullptr;
    if (sweep_json) REQUIRE(sweep);
    char *n = kb_target_name(node, sweep);
    REQUIRE(n);
    std::string s = n;
    free(n);
    json_decref(sweep);
    return s;
}

std::string json_text(const char *json) {
    json_t *v = json_loads(json, JSON_DECODE_ANY, nullptr);
    REQUIRE(v);
    char *t = kb_json_text(v);
    REQUIRE(t);
    std::string s = t;
    free(t);
    json_decref(v);
    return s;
}

std::string starlark_string(const char *s) {
    kb_buf b = {};
    kb_put_string(&b, s);
    REQUIRE_FALSE(b.oom);
    std::string r = kb_str(&b);
    kb_buf_free(&b);
    return r;
}

std::string number(double v) {
    kb_buf b = {};
    kb_put_number(&b, v);
    std::string r = kb_str(&b);
    kb_buf_free(&b);
    return r;
}

// A plan of test.param instances, as kiln_plan_to_json gives it, one per (node, sweep).
json_t *plan_of(const std::vector<std::pair<std::string, std::string>> &instances) {
    json_t *list = json_array();
    for (const auto &in : instances) {
        json_t *sweep = json_loads(in.second.c_str(), 0, nullptr);
        REQUIRE(sweep);
        std::string name = in.first;
        if (json_object_size(sweep)) name += "[" + in.second + "]";
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:f}, s:{}, s:{s:{s:s, s:s}}, s:[s]}", "name", name.c_str(),
                            "node", in.first.c_str(), "op", "test.param", "plugin", "test", "sweep", sweep, "params",
                            "value", 1.0, "inputs", "outputs", "out", "type", "file", "file_name", "param.txt",
                            "flags", "deterministic"));
    }
    return json_pack("{s:{s:s}, s:o}", "graph", "name", "g", "instances", list);
}

json_t *options_with(const char *plugins_json) {
    json_t *o = json_pack("{s:s}", "kiln", "/opt/kiln/bin/kiln");
    json_object_set_new(o, "plugins", json_loads(plugins_json, 0, nullptr));
    return o;
}

// kb_model_build's refusal ("" when it built the model).
std::string refusal(const json_t *plan, const json_t *options) {
    kiln_error err = {};
    kb_model *m = kb_model_build(plan, options, &err);
    if (m) {
        kb_model_free(m);
        return "";
    }
    CHECK(err.code < 0);
    return err.message;
}

}  // namespace

TEST_CASE("an instance that is not swept keeps its node's name") {
    CHECK(name_of("train", nullptr) == "train");
    CHECK(name_of("train", "{}") == "train");
    CHECK(name_of("pre-process_2", "{}") == "pre-process_2");
}

TEST_CASE("a swept instance is named <node>__<axis>_<value>, axes sorted") {
    CHECK(name_of("train", R"({"lr": 0.05})") == "train__lr_0.05");
    CHECK(name_of("train", R"({"lr": 0.05, "batch": 64})") == "train__batch_64__lr_0.05");
    CHECK(name_of("eval", R"({"b.lr": 0.2, "a.lr": 0.1})") == "eval__a.lr_0.1__b.lr_0.2");
}

TEST_CASE("sweep values print in their shortest form") {
    CHECK(name_of("t", R"({"v": -0.001})") == "t__v_-0.001");
    CHECK(name_of("t", R"({"v": 1e-7})") == "t__v_1e-07");
    CHECK(name_of("t", R"({"v": 3.0})") == "t__v_3");
    CHECK(name_of("t", R"({"v": 2})") == "t__v_2");
    CHECK(name_of("t", R"({"v": 1e300})") == "t__v_1e+300");
    CHECK(name_of("t", R"({"v": true, "w": false, "x": null})") == "t__v_true__w_false__x_null");
    CHECK(name_of("t", R"({"hidden": [256, 128]})") == "t__hidden_256_128");
    CHECK(name_of("t", R"({"o": {"b": 2, "a": [1, "x"]}})") == "t__o_a_1_x_b_2");
}

TEST_CASE("characters Bazel does not allow in a target name become '_'") {
    CHECK(name_of("score", R"({"tag": "a b"})") == "score__tag_a_b");
    CHECK(name_of("score", R"({"tag": "c/d"})") == "score__tag_c_d");
    CHECK(name_of("score", R"({"tag": "x:y@z\"q'r\\s*t"})") == "score__tag_x_y_z_q_r_s_t");
    CHECK(name_of("score", R"({"tag": "\u00e9"})") == "score__tag___");  // two UTF-8 bytes
    CHECK(name_of("score", R"({"tag": "a+b-c.d"})") == "score__tag_a+b-c.d");
    char *s = kb_sanitize(".hidden/x y");
    CHECK(std::string(s) == "_hidden_x_y");
    free(s);
    s = kb_sanitize("..");
    CHECK(std::string(s) == "_.");
    free(s);
}

TEST_CASE("names Bazel's command line gives a meaning get a trailing '_'") {
    CHECK(name_of("all", nullptr) == "all_");
    CHECK(name_of("all-targets", nullptr) == "all-targets_");
    CHECK(name_of("all_", nullptr) == "all_");  // and so collides with "all": reported
    CHECK(name_of("allx", nullptr) == "allx");
}

TEST_CASE("two things with one label are reported, the first three by name") {
    kb_names set = {};
    kiln_error err = {};
    REQUIRE(kb_names_add(&set, "a", "instance 'a'") == 0);
    REQUIRE(kb_names_add(&set, "b", "instance 'b'") == 0);
    CHECK(kb_names_check(&set, &err) == 0);
    kb_names_free(&set);

    for (int i = 0; i < 5; i++) {
        std::string label = "x" + std::to_string(i);
        REQUIRE(kb_names_add(&set, label.c_str(), ("instance '" + label + "[p=1]'").c_str()) == 0);
        REQUIRE(kb_names_add(&set, label.c_str(), ("instance '" + label + "[p=\"1\"]'").c_str()) == 0);
    }
    CHECK(kb_names_check(&set, &err) == KILN_EINVAL);
    CHECK(err.code == KILN_EINVAL);
    std::string msg = err.message;
    CHECK(msg.find("instance 'x0[p=1]' and instance 'x0[p=\"1\"]' both map to the Bazel label ':x0'") !=
          std::string::npos);
    CHECK(msg.find("':x2'") != std::string::npos);
    CHECK(msg.find("':x3'") == std::string::npos);
    CHECK(msg.find("and 2 more") != std::string::npos);
    kb_names_free(&set);
}

TEST_CASE("the model refuses two instances with one target name, naming both") {
    json_t *plan = plan_of({{"score", R"({"tag": "c/d"})"}, {"score", R"({"tag": "c_d"})"}});
    json_t *opts = options_with(R"({"test": "/opt/kiln/plugins/kiln_test.so"})");
    std::string msg = refusal(plan, opts);
    CHECK(msg.find("bazel: instance 'score[{\"tag\": \"c/d\"}]' and instance 'score[{\"tag\": \"c_d\"}]' both map to "
                   "the Bazel label ':score__tag_c_d'") == 0);
    // Only the target names: not also every file the two targets would declare.
    CHECK(msg.find("kiln.log") == std::string::npos);
    json_decref(plan);

    // A node named like another node's swept instance.
    plan = plan_of({{"score", R"({"value": 2})"}, {"score__value_2", "{}"}});
    msg = refusal(plan, opts);
    CHECK(msg.find("both map to the Bazel label ':score__value_2'") != std::string::npos);
    json_decref(plan);

    // A node named like the generated files, or like a reserved name after mapping.
    plan = plan_of({{"all", "{}"}, {"all_", "{}"}});
    msg = refusal(plan, opts);
    CHECK(msg.find("instance 'all' and instance 'all_' both map to the Bazel label ':all_'") != std::string::npos);
    json_decref(plan);

    plan = plan_of({{"a", "{}"}, {"b", "{}"}});
    CHECK(refusal(plan, opts) == "");
    json_decref(plan);
    json_decref(opts);
}

TEST_CASE("the model refuses bad options, naming the option") {
    json_t *plan = plan_of({{"a", "{}"}});
    json_t *opts = json_pack("{s:{s:s}}", "plugins", "test", "/p/kiln_test.so");
    CHECK(refusal(plan, opts).find("option 'kiln'") != std::string::npos);
    json_decref(opts);

    opts = json_pack("{s:s, s:{s:s}}", "kiln", "relative/kiln", "plugins", "test", "/p/kiln_test.so");
    CHECK(refusal(plan, opts).find("option 'kiln': expected the absolute path") != std::string::npos);
    json_decref(opts);

    opts = options_with(R"({"other": "/p/kiln_other.so"})");
    std::string msg = refusal(plan, opts);
    CHECK(msg.find("test") != std::string::npos);
    json_decref(opts);

    opts = options_with(R"({"test": "/p/kiln_test.so"})");
    json_object_set_new(opts, "data", json_string("move"));
    CHECK(refusal(plan, opts).find("option 'data': expected \"copy\" or \"link\"") != std::string::npos);
    json_object_del(opts, "data");
    json_object_set_new(opts, "colour", json_string("blue"));
    CHECK(refusal(plan, opts).find("unknown option 'colour'") != std::string::npos);
    json_decref(opts);
    json_decref(plan);

    opts = options_with(R"({"test": "/p/kiln_test.so"})");
    json_t *bad = json_pack("{s:{}}", "graph");
    CHECK(refusal(bad, opts).find("no \"instances\" list") != std::string::npos);
    json_decref(bad);
    json_decref(opts);
}

TEST_CASE("Starlark strings and JSON text are escaped and canonical") {
    CHECK(starlark_string("plain") == "\"plain\"");
    CHECK(starlark_string("q\"b\\n\nt\t") == "\"q\\\"b\\\\n\\nt\\t\"");
    CHECK(starlark_string("\x01") == "\"\\001\"");
    CHECK(starlark_string("\xc3\xa9") == "\"\xc3\xa9\"");
    CHECK(number(0.05) == "0.05");
    CHECK(number(1e-7) == "1e-07");
    CHECK(number(0.1 + 0.2) == "0.30000000000000004");
    CHECK(json_text(R"({"b": [1, 2.5, "x"], "a": {"d": null, "c": true}})") ==
          R"({"a": {"c": true, "d": null}, "b": [1, 2.5, "x"]})");
    // The same value, whatever its key order, gives the same bytes.
    CHECK(json_text(R"({"x": 1, "y": 2})") == json_text(R"({"y": 2, "x": 1})"));
}

TEST_CASE("labels sort as buildifier sorts them") {
    std::vector<const char *> v = {":b", "@r//x", "//p:a", "b.txt", ":a", "a.txt", "//p", "a"};
    std::qsort(v.data(), v.size(), sizeof v[0], kb_buildifier_cmp);
    std::vector<std::string> got(v.begin(), v.end());
    std::vector<std::string> want = {"a", "a.txt", "b.txt", ":a", ":b", "//p", "//p:a", "@r//x"};
    CHECK(got == want);
}

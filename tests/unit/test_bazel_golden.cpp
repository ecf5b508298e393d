// Golden-file tests of the Bazel exporter: every tests/data/bazel_golden/<case>/graph.json is
// parsed, validated and planned by the core with the real plugins (as `kiln export bazel`
// does), and the generator's WORKSPACE, BUILD.bazel and README.md must equal the case's
// *.golden files byte for byte; a case with error.golden expects the export to be refused
// with that message instead. Options name fixed paths (/opt/kiln/...), and the case's own
// directory reads as <graph dir>, so the files do not depend on where the tree is.
//
// Also: the same graph, written with every JSON object's keys in reverse order, gives the
// same bytes; and building the model twice gives the same bytes.
//
// Regenerate after an intended change to the generator (then review the diff):
//   KILN_UPDATE_GOLDEN=1 ctest --test-dir BUILD -R test_bazel_golden
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "bazel/emit.h"
#include "bazel/model.h"
#include "diag.h"
#include "graph.h"
#include "plan.h"
#include "registry.h"
#include "validate.h"
}

namespace {

std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

std::string golden_root() { return env("KILN_SOURCE_DIR") + "/tests/data/bazel_golden"; }

bool read_file(const std::string &path, std::string *out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    *out = ss.str();
    return true;
}

void write_file(const std::string &path, const std::string &text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    REQUIRE(f);
    f << text;
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    DIR *d = opendir(golden_root().c_str());
    if (!d) return names;
    while (struct dirent *e = readdir(d)) {
        std::string n = e->d_name;
        std::string dummy;
        if (n[0] != '.' && read_file(golden_root() + "/" + n + "/graph.json", &dummy)) names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

// Every `from` in `s` replaced by `to`.
std::string replace_all(std::string s, const std::string &from, const std::string &to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// A registry with the test plugins and the build's plugins, as the e2e tests load them.
kiln_registry *load_registry() {
    std::string path = env("KILN_TEST_PLUGIN_DIR") + ":" + env("KILN_BUILD_DIR") + "/lib/kiln/plugins";
    setenv("KILN_PLUGIN_PATH", path.c_str(), 1);
    kiln_registry *reg = kiln_registry_new();
    kiln_registry_load_default(reg);
    return reg;
}

// `v` with every object's keys in reverse order (a different text of the same graph).
json_t *reversed(const json_t *v) {
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) json_array_append_new(a, reversed(json_array_get(v, i)));
        return a;
    }
    if (!json_is_object(v)) return json_deep_copy(v);
    std::vector<const char *> keys;
    const char *k;
    json_t *x;
    json_object_foreach(const_cast<json_t *>(v), k, x) keys.push_back(k);
    json_t *o = json_object();
    for (auto it = keys.rbegin(); it != keys.rend(); ++it)
        json_object_set_new(o, *it, reversed(json_object_get(v, *it)));
    return o;
}

struct Export {
    std::string error;                      // the refusal, when the model was not built
    std::string workspace, build, readme;   // the files, when it was
};

// Plans graph text (as read from `path`) and runs the generator with fixed options.
Export export_graph(const kiln_registry *reg, const std::string &text, const std::string &path,
                    const std::string &graph_dir) {
    Export ex;
    kiln_diags diags = {};
    kiln_graph *g = kiln_graph_parse_text(text.c_str(), text.size(), path.c_str(), &diags);
    if (g) kiln_validate(g, reg, &diags);
    kiln_plan *plan = g && diags.count == 0 ? kiln_plan_build(g, reg, &diags) : nullptr;
    for (size_t i = 0; i < diags.count; i++) UNSCOPED_INFO(diags.items[i]);
    REQUIRE(diags.count == 0);
    REQUIRE(plan);
    json_t *doc = kiln_plan_to_json(plan);
    json_t *opts = json_pack("{s:s, s:[s], s:{}, s:s}", "kiln", "/opt/kiln/bin/kiln", "kiln_libs",
                             "/opt/kiln/lib/libkiln.so.0", "plugins", "graph_file", "graph.json");
    json_t *plugins = json_object_get(opts, "plugins");
    for (size_t i = 0; i < json_array_size(json_object_get(doc, "instances")); i++) {
        const char *p = json_string_value(json_object_get(json_array_get(json_object_get(doc, "instances"), i), "plugin"));
        json_object_set_new(plugins, p, json_string(("/opt/kiln/lib/kiln/plugins/kiln_" + std::string(p) + ".so").c_str()));
    }
    kiln_error err = {};
    kb_model *m = kb_model_build(doc, opts, &err);
    if (!m) {
        ex.error = std::string(err.message) + "\n";
    } else {
        char *w = kb_emit_workspace(m), *b = kb_emit_build(m), *r = kb_emit_readme(m);
        REQUIRE(w);
        REQUIRE(b);
        REQUIRE(r);
        ex.workspace = replace_all(w, graph_dir, "<graph dir>");
        ex.build = replace_all(b, graph_dir, "<graph dir>");
        ex.readme = replace_all(r, graph_dir, "<graph dir>");
        free(w);
        free(b);
        free(r);
        // The same model emits the same bytes again.
        char *b2 = kb_emit_build(m);
        CHECK(replace_all(b2, graph_dir, "<graph dir>") == ex.build);
        free(b2);
        kb_model_free(m);
    }
    json_decref(opts);
    json_decref(doc);
    kiln_plan_free(plan);
    kiln_graph_free(g);
    kiln_diags_free(&diags);
    return ex;
}

// Compares (or, with KILN_UPDATE_GOLDEN=1, rewrites) one golden file; "" means absent.
void check_golden(const std::string &dir, const std::string &name, const std::string &got) {
    std::string path = dir + "/" + name + ".golden";
    if (env("KILN_UPDATE_GOLDEN") == "1") {
        if (got.empty()) std::remove(path.c_str());
        else write_file(path, got);
        return;
    }
    std::string want;
    bool have = read_file(path, &want);
    INFO("golden file " << path << " (regenerate: KILN_UPDATE_GOLDEN=1 ctest -R test_bazel_golden)");
    if (got.empty()) {
        CHECK_FALSE(have);
        return;
    }
    REQUIRE(have);
    if (got != want) {
        // Name the first differing line: Catch would print both whole files.
        std::istringstream a(got), b(want);
        std::string la, lb;
        int line = 0;
        while (true) {
            bool ga = (bool)std::getline(a, la), gb = (bool)std::getline(b, lb);
            line++;
            if (!ga && !gb) break;
            if (!ga || !gb || la != lb) {
                FAIL_CHECK(name << ": line " << line << " differs:\n  generated: " << (ga ? la : "<end>")
                                << "\n  golden:    " << (gb ? lb : "<end>"));
                break;
            }
        }
        CHECK(got == want);  // differing only in a trailing newline
    }
}

}  // namespace

TEST_CASE("exports of the golden graphs equal their golden files") {
    std::vector<std::string> cases = case_names();
    REQUIRE(cases.size() >= 3);
    std::string dummy;
    if (!read_file(env("KILN_BUILD_DIR") + "/lib/kiln/plugins/kiln_wheel.so", &dummy)) {
        WARN("the build's plugins are missing: golden cases skipped");
        return;
    }
    kiln_registry *reg = load_registry();
    for (const std::string &name : cases) {
        SECTION(name) {
            std::string dir = golden_root() + "/" + name, text;
            REQUIRE(read_file(dir + "/graph.json", &text));
            Export ex = export_graph(reg, text, dir + "/graph.json", dir);
            check_golden(dir, "error", ex.error);
            check_golden(dir, "WORKSPACE", ex.workspace);
            check_golden(dir, "BUILD.bazel", ex.build);
            check_golden(dir, "README.md", ex.readme);

            // The same graph with every object's keys reversed: the same bytes.
            json_error_t jerr;
            json_t *doc = json_loads(text.c_str(), 0, &jerr);
            REQUIRE(doc);
            json_t *rev = reversed(doc);
            char *rtext = json_dumps(rev, JSON_PRESERVE_ORDER | JSON_INDENT(1));
            Export ex2 = export_graph(reg, rtext, dir + "/graph.json", dir);
            free(rtext);
            json_decref(rev);
            json_decref(doc);
            CHECK(ex2.error == ex.error);
            CHECK(ex2.workspace == ex.workspace);
            CHECK(ex2.build == ex.build);
            CHECK(ex2.readme == ex.readme);
        }
    }
    kiln_registry_free(reg);
}

// Unit tests for core/src/validate.c: a parsed graph checked against ops. The registry is
// built by hand from static op definitions (its fields are public in registry.h).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

extern "C" {
#include "fsutil.h"
#include "graph.h"
#include "registry.h"
#include "schema.h"
#include "validate.h"
}

namespace {

// ---- test ops ---------------------------------------------------------------------------

const kiln_port_def kDatasetOut[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, "dataset.safetensors", "the data"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kSplitIn[] = {
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, nullptr, "data to split"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kSplitOut[] = {
    {"train", KILN_TYPE_DATASET, KILN_ONE, 0, "train.safetensors", "train part"},
    {"holdout", KILN_TYPE_DATASET, KILN_ONE, 0, "holdout.safetensors", "holdout part"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kTrainIn[] = {
    {"train", KILN_TYPE_DATASET, KILN_ONE, 0, nullptr, "training data"},
    {"val", KILN_TYPE_DATASET, KILN_ONE, KILN_PORT_OPTIONAL, nullptr, "validation data"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kModelOut[] = {
    {"model", KILN_TYPE_MODEL, KILN_ONE, 0, "model.safetensors", "the model"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kClassifyIn[] = {
    {"model", KILN_TYPE_MODEL, KILN_ONE, 0, nullptr, "a model"},
    {"dataset", KILN_TYPE_DATASET, KILN_ONE, 0, nullptr, "test data"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kMetricsOut[] = {
    {"metrics", KILN_TYPE_METRICS, KILN_ONE, 0, "metrics.json", "metrics"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kSelectIn[] = {
    {"metrics", KILN_TYPE_METRICS, KILN_LIST, 0, nullptr, "candidates' metrics"},
    {"models", KILN_TYPE_MODEL, KILN_LIST, 0, nullptr, "candidates"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kPassIn[] = {
    {"in", KILN_TYPE_FILE, KILN_ONE, KILN_PORT_OPTIONAL, nullptr, "anything"},
    {"more", KILN_TYPE_FILE, KILN_LIST, KILN_PORT_OPTIONAL, nullptr, "anything"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};
const kiln_port_def kFileOut[] = {
    {"out", KILN_TYPE_FILE, KILN_ONE, 0, nullptr, "a file"},
    {nullptr, KILN_TYPE_FILE, KILN_ONE, 0, nullptr, nullptr}};

const char *kLoadSchema = R"({"type": "object", "properties": {
    "images": {"type": "string", "format": "input-file"},
    "labels": {"type": "string", "format": "input-file"},
    "seed": {"type": "integer", "default": 0}}, "required": ["images"]})";
const char *kSplitSchema = R"({"type": "object", "properties": {
    "holdout": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.1},
    "seed": {"type": "integer", "default": 0}}})";
const char *kTrainSchema = R"({"type": "object", "properties": {
    "lr": {"type": "number", "exclusiveMinimum": 0, "default": 0.01},
    "epochs": {"type": "integer", "minimum": 1, "default": 1},
    "batch": {"type": "integer", "minimum": 1, "default": 32},
    "hidden": {"type": "array", "items": {"type": "integer", "minimum": 1}, "default": [128]},
    "optimizer": {"type": "string", "enum": ["sgd", "adam"], "default": "sgd"}}})";
const char *kSelectSchema = R"({"type": "object", "properties": {
    "by": {"type": "string", "default": "accuracy"},
    "mode": {"type": "string", "enum": ["max", "min"], "default": "max"}}})";

const kiln_op_def kLoad = {sizeof(kiln_op_def), "data.load", "load", kLoadSchema, nullptr, kDatasetOut,
                           KILN_OP_DETERMINISTIC, 0, nullptr};
const kiln_op_def kSplit = {sizeof(kiln_op_def), "data.split", "split", kSplitSchema, kSplitIn, kSplitOut,
                            KILN_OP_DETERMINISTIC, 0, nullptr};
const kiln_op_def kTrain = {sizeof(kiln_op_def), "cpu.train", "train", kTrainSchema, kTrainIn, kModelOut,
                            KILN_OP_DETERMINISTIC, 0, nullptr};
const kiln_op_def kClassify = {sizeof(kiln_op_def), "eval.classify", "classify", nullptr, kClassifyIn,
                               kMetricsOut, KILN_OP_DETERMINISTIC, 0, nullptr};
const kiln_op_def kSelect = {sizeof(kiln_op_def), "eval.select", "select", kSelectSchema, kSelectIn,
                             kModelOut, KILN_OP_DETERMINISTIC, 0, nullptr};
const kiln_op_def kPass = {sizeof(kiln_op_def), "test.pass", "pass", nullptr, kPassIn, kFileOut, 0, 0,
                           nullptr};

const kiln_op_def *const kDataOps[] = {&kLoad, &kSplit, nullptr};
const kiln_op_def *const kCpuOps[] = {&kTrain, nullptr};
const kiln_op_def *const kEvalOps[] = {&kClassify, &kSelect, nullptr};
const kiln_op_def *const kTestOps[] = {&kPass, nullptr};

const kiln_plugin_desc kDataDesc = {KILN_PLUGIN_ABI_MAJOR, KILN_PLUGIN_ABI_MINOR, sizeof(kiln_plugin_desc),
                                    "data", "1.0.0", "data", kDataOps, nullptr, nullptr};
const kiln_plugin_desc kCpuDesc = {KILN_PLUGIN_ABI_MAJOR, KILN_PLUGIN_ABI_MINOR, sizeof(kiln_plugin_desc),
                                   "cpu", "1.0.0", "cpu", kCpuOps, nullptr, nullptr};
const kiln_plugin_desc kEvalDesc = {KILN_PLUGIN_ABI_MAJOR, KILN_PLUGIN_ABI_MINOR, sizeof(kiln_plugin_desc),
                                    "eval", "1.0.0", "eval", kEvalOps, nullptr, nullptr};
const kiln_plugin_desc kTestDesc = {KILN_PLUGIN_ABI_MAJOR, KILN_PLUGIN_ABI_MINOR, sizeof(kiln_plugin_desc),
                                    "test", "1.0.0", "test", kTestOps, nullptr, nullptr};

// A registry over the static ops above (ops sorted by name, as the loader keeps them).
struct TestRegistry {
    kiln_registry reg = {};
    kiln_plugin plugins[4] = {};
    kiln_op_entry ops[6] = {};
    TestRegistry() {
        const kiln_plugin_desc *descs[4] = {&kCpuDesc, &kDataDesc, &kEvalDesc, &kTestDesc};
        size_t n = 0;
        for (int p = 0; p < 4; p++) {
            plugins[p].path = const_cast<char *>("(static)");
            plugins[p].handle = nullptr;
            plugins[p].desc = descs[p];
            for (size_t i = 0; descs[p]->ops[i]; i++) {
                kiln_error err = {};
                ops[n].def = descs[p]->ops[i];
                ops[n].plugin = &plugins[p];
                ops[n].schema = kiln_schema_parse(descs[p]->ops[i]->params_schema, &err);
                INFO(err.message);
                REQUIRE(ops[n].schema != nullptr);
                n++;
            }
        }
        reg.plugins = plugins;
        reg.nplugins = 4;
        reg.ops = ops;
        reg.nops = n;
        for (size_t i = 1; i < n; i++) REQUIRE(strcmp(ops[i - 1].def->name, ops[i].def->name) < 0);
    }
    ~TestRegistry() {
        for (size_t i = 0; i < reg.nops; i++) kiln_schema_free(ops[i].schema);
    }
};

// ---- helpers ----------------------------------------------------------------------------

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln-validate-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        kiln_error err = {};
        kiln_remove_tree(path.c_str(), &err);
    }
    std::string write(const std::string &name, const std::string &content) const {
        std::string p = path + "/" + name;
        FILE *f = fopen(p.c_str(), "w");
        REQUIRE(f);
        fputs(content.c_str(), f);
        fclose(f);
        return p;
    }
};

struct Checked {
    kiln_diags d = {};
    kiln_graph *g = nullptr;
    int n = 0;
    Checked(const TestRegistry &r, const std::string &text, const char *path = "graph.json") {
        g = kiln_graph_parse_text(text.data(), text.size(), path, &d);
        REQUIRE(g != nullptr);
        INFO(all());
        REQUIRE(d.count == 0);
        n = kiln_validate(g, &r.reg, &d);
    }
    Checked(const TestRegistry &r, const TempDir &dir, const std::string &name, const std::string &text) {
        std::string p = dir.write(name, text);
        g = kiln_graph_parse_file(p.c_str(), &d);
        REQUIRE(g != nullptr);
        INFO(all());
        REQUIRE(d.count == 0);
        n = kiln_validate(g, &r.reg, &d);
    }
    ~Checked() {
        kiln_graph_free(g);
        kiln_diags_free(&d);
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

std::string graph(const std::string &nodes) { return "{\"kiln\": 1, \"nodes\": {" + nodes + "}}"; }

}  // namespace

TEST_CASE("validate: a correct graph has no problems", "[validate]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    dir.write("labels.gz", "lbl");
    Checked c(r, dir, "g.json", graph(R"(
        "data": {"op": "data.load", "params": {"images": "images.gz", "labels": "labels.gz"}},
        "split": {"op": "data.split", "inputs": {"dataset": "data.dataset"}, "params": {"holdout": 0.2}},
        "train": {"op": "cpu.train", "inputs": {"train": "split.train", "val": ["split.holdout"]},
                  "params": {"hidden": [64, 32], "lr": 0.05}, "sweep": {"lr": [0.01, 0.05, 0.1], "batch": [32, 64]}},
        "eval": {"op": "eval.classify", "inputs": {"model": "train.model", "dataset": "split.holdout"}},
        "best": {"op": "eval.select", "inputs": {"metrics": "eval.metrics", "models": ["train.model"]},
                 "params": {"mode": "max"}},
        "any": {"op": "test.pass", "inputs": {"in": "eval.metrics", "more": ["best.model", "data.dataset"]}})"));
    INFO(c.all());
    CHECK(c.n == 0);
    CHECK(c.d.count == 0);
}

TEST_CASE("validate: unknown ops suggest the closest loaded op", "[validate]") {
    TestRegistry r;
    Checked c(r, graph(R"("x": {"op": "cpu.trian"}, "y": {"op": "zzz.qqqqqq"})"));
    INFO(c.all());
    CHECK(c.n == 2);
    CHECK(c.has("graph.json: node 'x': op: unknown op 'cpu.trian'; did you mean 'cpu.train'? "
                "(kiln plugins lists the loaded ops)"));
    CHECK(c.has("graph.json: node 'y': op: unknown op 'zzz.qqqqqq' (kiln plugins lists the loaded ops)"));
}

TEST_CASE("validate: params are checked against the op's schema", "[validate]") {
    TestRegistry r;
    Checked c(r, graph(R"(
        "s": {"op": "data.split", "inputs": {"dataset": "t.model"}, "params": {"holdout": 1.5, "sed": 1}},
        "t": {"op": "cpu.train", "inputs": {"train": "s.train"}, "params": {"lr": -1, "hidden": [8, 0]}})"));
    INFO(c.all());
    CHECK(c.has("graph.json: node 's': params/holdout: expected a number > 0 and < 1, got 1.5"));
    CHECK(c.has("graph.json: node 's': params/sed: unknown param; known: holdout, seed (did you mean 'seed'?)"));
    CHECK(c.has("graph.json: node 't': params/lr: expected a number > 0, got -1"));
    CHECK(c.has("graph.json: node 't': params/hidden/1: expected an integer >= 1, got 0"));
    // s <-> t is also a cycle, and s.dataset gets a model: everything is reported at once
    CHECK(c.has("graph.json: node 's': inputs/dataset: expected a dataset output for port 'dataset', "
                "got 't.model', a model"));
    CHECK(c.has("graph.json: node 's': inputs: expected no cycles, got the cycle s -> t -> s"));
    CHECK(c.n == 6);
}

TEST_CASE("validate: missing required params, and input files that do not exist", "[validate]") {
    TestRegistry r;
    TempDir dir;
    dir.write("present.gz", "x");
    REQUIRE(kiln_mkdir_p((dir.path + "/adir").c_str(), nullptr) == 0);
    Checked c(r, dir, "g.json", graph(R"(
        "a": {"op": "data.load"},
        "b": {"op": "data.load", "params": {"images": "present.gz", "labels": "missing.gz"}},
        "c": {"op": "data.load", "params": {"images": "adir"}},
        "d": {"op": "data.load", "params": {"images": "/nonexistent/kiln/x.gz"}})"));
    INFO(c.all());
    std::string gpath = dir.path + "/g.json";
    CHECK(c.has(gpath + ": node 'a': params: missing required param 'images' (string, input file)"));
    CHECK(c.has(gpath + ": node 'b': params/labels: expected an existing regular file, got \"missing.gz\" "
                "(resolved to " + dir.path + "/missing.gz: no such file)"));
    CHECK(c.has(gpath + ": node 'c': params/images: expected an existing regular file, got \"adir\" "
                "(resolved to " + dir.path + "/adir: a directory)"));
    CHECK(c.has(gpath + ": node 'd': params/images: expected an existing regular file, got "
                "\"/nonexistent/kiln/x.gz\" (no such file)"));
    CHECK(c.n == 4);
}

TEST_CASE("validate: relative input files resolve against the graph's directory", "[validate]") {
    TestRegistry r;
    TempDir dir;
    REQUIRE(kiln_mkdir_p((dir.path + "/sub/data").c_str(), nullptr) == 0);
    dir.write("sub/data/img.gz", "x");
    std::string text = graph(R"("a": {"op": "data.load", "params": {"images": "data/img.gz"}})");
    std::string gpath = dir.write("sub/g.json", text);
    // run from another directory: the graph's own directory must be used
    char *cwd = getcwd(nullptr, 0);
    REQUIRE(chdir(dir.path.c_str()) == 0);
    kiln_diags d = {};
    kiln_graph *g = kiln_graph_parse_file("sub/g.json", &d);
    REQUIRE(g != nullptr);
    CHECK(kiln_validate(g, &r.reg, &d) == 0);
    REQUIRE(chdir(cwd) == 0);
    free(cwd);
    kiln_graph_free(g);
    kiln_diags_free(&d);
}

TEST_CASE("validate: sweeps name declared params with values that fit", "[validate]") {
    TestRegistry r;
    TempDir dir;
    dir.write("a.gz", "a");
    Checked c(r, dir, "g.json", graph(R"(
        "data": {"op": "data.load", "sweep": {"images": ["a.gz", "b.gz"]}},
        "t": {"op": "cpu.train", "inputs": {"train": "data.dataset"},
              "sweep": {"lr": [0.1, -0.5, 0], "lrr": [1], "optimizer": ["sgd", "adamw"], "hidden": [[1], [2, 0]]}})"));
    INFO(c.all());
    std::string g = dir.path + "/g.json";
    CHECK(c.has(g + ": node 'data': sweep/images/1: expected an existing regular file, got \"b.gz\" "
                "(resolved to " + dir.path + "/b.gz: no such file)"));
    CHECK(c.has(g + ": node 't': sweep/lr/1: expected a number > 0, got -0.5"));
    CHECK(c.has(g + ": node 't': sweep/lr/2: expected a number > 0, got 0"));
    CHECK(c.has(g + ": node 't': sweep/lrr: no param 'lrr'; known: batch, epochs, hidden, lr, optimizer "
                "(did you mean 'lr'?)"));
    CHECK(c.has(g + ": node 't': sweep/optimizer/1: expected one of \"sgd\", \"adam\", got \"adamw\" "
                "(did you mean \"adam\"?)"));
    CHECK(c.has(g + ": node 't': sweep/hidden/1/1: expected an integer >= 1, got 0"));
    CHECK(c.n == 6);
}

TEST_CASE("validate: inputs name existing ports, nodes and outputs of the right type", "[validate]") {
    TestRegistry r;
    TempDir dir;
    dir.write("a.gz", "a");
    Checked c(r, dir, "g.json", graph(R"(
        "data": {"op": "data.load", "params": {"images": "a.gz"}},
        "s": {"op": "data.split", "inputs": {"datset": "data.dataset"}},
        "t": {"op": "cpu.train", "inputs": {"train": "splt.train", "val": "s.holdot"}},
        "t2": {"op": "cpu.train", "inputs": {"train": ["s.train", "s.holdout"]}},
        "e": {"op": "eval.classify", "inputs": {"model": "s.train", "dataset": "data.dataset"}},
        "l": {"op": "data.load", "params": {"images": "a.gz"}, "inputs": {"x": "data.dataset"}},
        "p": {"op": "test.pass", "inputs": {"in": "t2.model", "more": ["e.metrics", "s.train"]}})"));
    INFO(c.all());
    std::string g = dir.path + "/g.json";
    CHECK(c.has(g + ": node 's': inputs/datset: unknown input port of op data.split; known: dataset "
                "(did you mean 'dataset'?)"));
    CHECK(c.has(g + ": node 's': inputs: missing required input 'dataset' (dataset, \"node.port\")"));
    CHECK(c.has(g + ": node 't': inputs/train: expected \"node.port\" naming a node of the graph; no node "
                "'splt'"));
    CHECK(c.has(g + ": node 't': inputs/val: node 's' (op data.split) has no output 'holdot'; outputs: "
                "holdout, train (did you mean 'holdout'?)"));
    CHECK(c.has(g + ": node 't2': inputs/train: expected exactly one reference (port 'train' takes one "
                "dataset, it is not a list port), got 2"));
    CHECK(c.has(g + ": node 'e': inputs/model: expected a model output for port 'model', got 's.train', "
                "a dataset"));
    CHECK(c.has(g + ": node 'l': inputs/x: unknown input port; op data.load takes no inputs"));
    // test.pass takes FILE: anything goes
    CHECK(c.n == 7);
}

TEST_CASE("validate: a cycle is reported with its nodes in order", "[validate]") {
    TestRegistry r;
    SECTION("three nodes") {
        Checked c(r, graph(R"(
            "a": {"op": "test.pass", "inputs": {"in": "c.out"}},
            "b": {"op": "test.pass", "inputs": {"in": "a.out"}},
            "c": {"op": "test.pass", "inputs": {"in": "b.out"}},
            "d": {"op": "test.pass", "inputs": {"in": "c.out"}})"));
        INFO(c.all());
        CHECK(c.n == 1);
        CHECK(c.has("graph.json: node 'a': inputs: expected no cycles, got the cycle a -> b -> c -> a"));
    }
    SECTION("the message starts at the first node of the document, wherever the search began") {
        Checked c(r, graph(R"(
            "x": {"op": "test.pass"},
            "c": {"op": "test.pass", "inputs": {"in": "b.out", "more": ["x.out"]}},
            "b": {"op": "test.pass", "inputs": {"in": "a.out"}},
            "a": {"op": "test.pass", "inputs": {"in": "c.out"}})"));
        INFO(c.all());
        CHECK(c.n == 1);
        CHECK(c.has("graph.json: node 'c': inputs: expected no cycles, got the cycle c -> a -> b -> c"));
    }
    SECTION("a node feeding itself") {
        Checked c(r, graph(R"("a": {"op": "test.pass", "inputs": {"in": "a.out", "more": ["a.out"]}})"));
        INFO(c.all());
        CHECK(c.n == 1);
        CHECK(c.has("graph.json: node 'a': inputs: expected no cycles, got the cycle a -> a"));
    }
    SECTION("two separate cycles are both reported") {
        Checked c(r, graph(R"(
            "a": {"op": "test.pass", "inputs": {"in": "b.out"}},
            "b": {"op": "test.pass", "inputs": {"in": "a.out"}},
            "c": {"op": "test.pass", "inputs": {"in": "d.out"}},
            "d": {"op": "test.pass", "inputs": {"in": "c.out"}})"));
        INFO(c.all());
        CHECK(c.n == 2);
        CHECK(c.has("graph.json: node 'a': inputs: expected no cycles, got the cycle a -> b -> a"));
        CHECK(c.has("graph.json: node 'c': inputs: expected no cycles, got the cycle c -> d -> c"));
    }
}

TEST_CASE("validate: problems of every kind are reported together", "[validate]") {
    TestRegistry r;
    Checked c(r, graph(R"(
        "a": {"op": "cpu.trian"},
        "b": {"op": "cpu.train", "inputs": {"train": "nope.x"}, "params": {"epochs": 0}, "sweep": {"zz": [1]}},
        "c": {"op": "test.pass", "inputs": {"in": "c.out"}})"));
    INFO(c.all());
    CHECK(c.n == 5);
    CHECK(c.n == (int)c.d.count);
}

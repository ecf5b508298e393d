// Unit tests for core/src/plan.c: sweep expansion, fan-out and gathering, ordering, file
// hashing and action keys. The registry is built by hand from static op definitions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" {
#include "canon.h"
#include "fsutil.h"
#include "graph.h"
#include "plan.h"
#include "registry.h"
#include "schema.h"
#include "sha256.h"
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
const kiln_plugin_desc kCpuDesc2 = {KILN_PLUGIN_ABI_MAJOR, KILN_PLUGIN_ABI_MINOR, sizeof(kiln_plugin_desc),
                                    "cpu", "2.0.0", "cpu", kCpuOps, nullptr, nullptr};
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
        char tmpl[] = "/tmp/kiln-plan-XXXXXX";
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

std::string all_of(const kiln_diags &d) {
    std::string r;
    for (size_t i = 0; i < d.count; i++) r += std::string(d.items[i]) + "\n";
    return r;
}

// A graph parsed, validated and planned; every step must succeed.
struct Planned {
    kiln_diags d = {};
    kiln_graph *g = nullptr;
    kiln_plan *plan = nullptr;
    Planned(const TestRegistry &r, const std::string &text, const std::string &path = "graph.json") {
        g = kiln_graph_parse_text(text.data(), text.size(), path.c_str(), &d);
        REQUIRE(g != nullptr);
        INFO(all_of(d));
        REQUIRE(d.count == 0);
        REQUIRE(kiln_validate(g, &r.reg, &d) == 0);
        plan = kiln_plan_build(g, &r.reg, &d);
        REQUIRE(plan != nullptr);
        REQUIRE(d.count == 0);
    }
    ~Planned() {
        kiln_plan_free(plan);
        kiln_graph_free(g);
        kiln_diags_free(&d);
    }
    const kiln_instance &at(const std::string &name) const {
        long i = kiln_plan_find(plan, name.c_str());
        INFO("instance " << name);
        REQUIRE(i >= 0);
        return plan->instances[i];
    }
    std::vector<std::string> names_of(const std::string &node) const {
        std::vector<std::string> v;
        for (size_t i = 0; i < plan->ninstances; i++)
            if (node == g->nodes[plan->instances[i].node].name) v.push_back(plan->instances[i].name);
        return v;
    }
    // source instance names of port `port` of instance `name`, in order
    std::vector<std::string> sources(const std::string &name, const std::string &port) const {
        const kiln_instance &in = at(name);
        std::vector<std::string> v;
        for (size_t i = 0; i < in.ninputs; i++) {
            if (port != in.inputs[i].port) continue;
            for (size_t s = 0; s < in.inputs[i].nsources; s++)
                v.push_back(std::string(plan->instances[in.inputs[i].sources[s].instance].name) + "." +
                            in.inputs[i].sources[s].port);
        }
        return v;
    }
};

// Fake output digests: sha256 of "<instance name>.<port>", so keys can be computed without
// running anything.
struct FakeDigests {
    const kiln_plan *plan;
    std::map<std::string, std::string> memo;
    static const char *get(size_t instance, const char *port, void *user) {
        FakeDigests *f = static_cast<FakeDigests *>(user);
        std::string id = std::string(f->plan->instances[instance].name) + "." + port;
        auto it = f->memo.find(id);
        if (it == f->memo.end()) {
            char hex[65];
            kiln_sha256_hex(id.data(), id.size(), hex);
            it = f->memo.emplace(id, hex).first;
        }
        return it->second.c_str();
    }
};

std::string key_of(const Planned &p, const std::string &name) {
    FakeDigests f{p.plan, {}};
    char key[65];
    long i = kiln_plan_find(p.plan, name.c_str());
    REQUIRE(i >= 0);
    REQUIRE(kiln_plan_action_key(p.plan, (size_t)i, FakeDigests::get, &f, key) == 0);
    CHECK(kiln_is_digest(key));
    return key;
}

std::string graph(const std::string &nodes) { return "{\"kiln\": 1, \"nodes\": {" + nodes + "}}"; }

// The classic pipeline: load -> split -> train (3x3 sweep) -> eval (fan-out) -> best (gather).
std::string pipeline(const std::string &images = "images.gz", const std::string &train_params = "{}") {
    return graph(R"(
        "data": {"op": "data.load", "params": {"images": ")" + images + R"("}},
        "split": {"op": "data.split", "inputs": {"dataset": "data.dataset"}},
        "train": {"op": "cpu.train", "inputs": {"train": "split.train", "val": "split.holdout"},
                  "params": )" + train_params + R"(,
                  "sweep": {"lr": [0.01, 0.05, 0.1], "batch": [64, 128, 256]}},
        "eval": {"op": "eval.classify", "inputs": {"model": "train.model", "dataset": "split.holdout"}},
        "best": {"op": "eval.select", "inputs": {"metrics": "eval.metrics", "models": "train.model"}})");
}

const char *kLrs[] = {"0.01", "0.05", "0.1"};
const char *kBatches[] = {"64", "128", "256"};

}  // namespace

TEST_CASE("plan: a 3x3 sweep expands to 9 instances with stable names", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    Planned p(r, pipeline(), dir.path + "/g.json");
    auto train = p.names_of("train");
    REQUIRE(train.size() == 9);
    std::set<std::string> want;
    for (auto b : kBatches)
        for (auto lr : kLrs) want.insert(std::string("train[batch=") + b + ",lr=" + lr + "]");
    CHECK(std::set<std::string>(train.begin(), train.end()) == want);

    const kiln_instance &t = p.at("train[batch=128,lr=0.05]");
    // sweep values applied, defaults filled, numbers normalised
    CHECK(json_real_value(json_object_get(t.params, "lr")) == 0.05);
    CHECK(json_integer_value(json_object_get(t.params, "batch")) == 128);
    CHECK(json_integer_value(json_object_get(t.params, "epochs")) == 1);
    CHECK(std::string(json_string_value(json_object_get(t.params, "optimizer"))) == "sgd");
    json_t *sw = json_pack("{sf si}", "lr", 0.05, "batch", 128);
    CHECK(json_equal(t.sweep, sw));
    json_decref(sw);
    CHECK(std::string(p.g->nodes[t.node].name) == "train");
    CHECK(t.op == kiln_registry_find_op(&r.reg, "cpu.train"));
    // non-swept nodes keep their plain name and an empty sweep
    const kiln_instance &d = p.at("data");
    CHECK(json_object_size(d.sweep) == 0);
    CHECK(p.plan->ninstances == 1 + 1 + 9 + 9 + 1);
}

TEST_CASE("plan: a ONE port fans out alongside a swept producer", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    Planned p(r, pipeline(), dir.path + "/g.json");
    auto eval = p.names_of("eval");
    REQUIRE(eval.size() == 9);
    for (auto b : kBatches)
        for (auto lr : kLrs) {
            std::string suffix = std::string("[batch=") + b + ",lr=" + lr + "]";
            CHECK(p.sources("eval" + suffix, "model") == std::vector<std::string>{"train" + suffix + ".model"});
            CHECK(p.sources("eval" + suffix, "dataset") == std::vector<std::string>{"split.holdout"});
            // the consumer's sweep shows the inherited axes; its own params are untouched
            CHECK(json_object_size(p.at("eval" + suffix).sweep) == 2);
            CHECK(json_object_size(p.at("eval" + suffix).params) == 0);
        }
    CHECK(p.sources("train[batch=64,lr=0.1]", "train") == std::vector<std::string>{"split.train"});
    CHECK(p.sources("train[batch=64,lr=0.1]", "val") == std::vector<std::string>{"split.holdout"});
}

TEST_CASE("plan: a LIST port gathers every instance, aligned across ports", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    Planned p(r, pipeline(), dir.path + "/g.json");
    REQUIRE(p.names_of("best") == std::vector<std::string>{"best"});
    auto metrics = p.sources("best", "metrics");
    auto models = p.sources("best", "models");
    REQUIRE(metrics.size() == 9);
    REQUIRE(models.size() == 9);
    std::set<std::string> seen;
    for (size_t i = 0; i < 9; i++) {
        // eval[X].metrics pairs with train[X].model
        std::string x = models[i].substr(std::string("train").size());
        x = x.substr(0, x.size() - std::string(".model").size());
        CHECK(metrics[i] == "eval" + x + ".metrics");
        seen.insert(models[i]);
    }
    CHECK(seen.size() == 9);
}

TEST_CASE("plan: two swept producers feed one consumer", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("a.gz", "a");
    dir.write("b.gz", "b");
    Planned p(r, graph(R"(
        "d0": {"op": "data.load", "params": {"images": "a.gz"}},
        "d1": {"op": "data.load", "sweep": {"images": ["a.gz", "b.gz"]}},
        "s": {"op": "data.split", "inputs": {"dataset": "d0.dataset"}, "sweep": {"seed": [7, 8]}},
        "t": {"op": "cpu.train", "inputs": {"train": "s.train"}, "sweep": {"lr": [0.1, 0.2, 0.3]}},
        "e": {"op": "eval.classify", "inputs": {"model": "t.model", "dataset": "d1.dataset"}},
        "e2": {"op": "eval.classify", "inputs": {"model": "t.model", "dataset": "s.holdout"}},
        "sel": {"op": "test.pass", "inputs": {"in": "s.train", "more": "t.model"}},
        "all": {"op": "eval.select", "inputs": {"metrics": ["e.metrics", "e2.metrics"], "models": "t.model"}})"),
              dir.path + "/g.json");
    // t inherits s's axis
    CHECK(p.names_of("t").size() == 6);
    CHECK(p.sources("t[lr=0.2,seed=8]", "train") == std::vector<std::string>{"s[seed=8].train"});
    // e: the cartesian product of both producers' axes
    auto e = p.names_of("e");
    CHECK(e.size() == 12);
    CHECK(p.sources("e[images=b.gz,lr=0.3,seed=7]", "model") ==
          std::vector<std::string>{"t[lr=0.3,seed=7].model"});
    CHECK(p.sources("e[images=b.gz,lr=0.3,seed=7]", "dataset") ==
          std::vector<std::string>{"d1[images=b.gz].dataset"});
    // e2: the axis both producers share stays aligned (6 instances, not 12)
    CHECK(p.names_of("e2").size() == 6);
    CHECK(p.sources("e2[lr=0.1,seed=8]", "dataset") == std::vector<std::string>{"s[seed=8].holdout"});
    // sel: one instance per seed; its LIST port gathers the t instances of the same seed only
    CHECK(p.names_of("sel") == std::vector<std::string>{"sel[seed=7]", "sel[seed=8]"});
    CHECK(p.sources("sel[seed=7]", "more") ==
          (std::vector<std::string>{"t[lr=0.1,seed=7].model", "t[lr=0.2,seed=7].model", "t[lr=0.3,seed=7].model"}));
    // all: a LIST of two references gathers both, in reference order
    CHECK(p.sources("all", "metrics").size() == 12 + 6);
    CHECK(p.sources("all", "models").size() == 6);
}

TEST_CASE("plan: same param name on two inherited axes is qualified by node", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("a.gz", "a");
    Planned p(r, graph(R"(
        "d0": {"op": "data.load", "params": {"images": "a.gz"}},
        "d1": {"op": "data.load", "params": {"images": "a.gz"}, "sweep": {"seed": [1, 2]}},
        "s": {"op": "data.split", "inputs": {"dataset": "d0.dataset"}, "sweep": {"seed": [7, 8]}},
        "t": {"op": "cpu.train", "inputs": {"train": "s.train", "val": "d1.dataset"}, "sweep": {"lr": [0.1]}})"),
              dir.path + "/g.json");
    auto t = p.names_of("t");
    REQUIRE(t.size() == 4);
    CHECK(std::find(t.begin(), t.end(), "t[lr=0.1,d1.seed=2,s.seed=7]") != t.end());
    const kiln_instance &in = p.at("t[lr=0.1,d1.seed=2,s.seed=7]");
    CHECK(json_integer_value(json_object_get(in.sweep, "d1.seed")) == 2);
    CHECK(json_integer_value(json_object_get(in.sweep, "s.seed")) == 7);
    CHECK(p.sources("t[lr=0.1,d1.seed=2,s.seed=7]", "val") == std::vector<std::string>{"d1[seed=2].dataset"});
}

TEST_CASE("plan: sweep values print as compact JSON, plain strings unquoted", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("a.gz", "a");
    Planned p(r, graph(R"(
        "d": {"op": "data.load", "params": {"images": "a.gz"}},
        "t": {"op": "cpu.train", "inputs": {"train": "d.dataset"},
              "sweep": {"optimizer": ["adam"], "hidden": [[64, 32]], "lr": [1, 2.5, 1e-5]}},
        "b": {"op": "eval.select", "inputs": {"metrics": "x.metrics", "models": "t.model"},
              "sweep": {"by": ["top-1.acc", "top 1", "a\"b"]}},
        "x": {"op": "eval.classify", "inputs": {"model": "t.model", "dataset": "d.dataset"}})"),
              dir.path + "/g.json");
    CHECK(p.names_of("t") == (std::vector<std::string>{"t[hidden=[64,32],lr=1,optimizer=adam]",
                                                        "t[hidden=[64,32],lr=1e-05,optimizer=adam]",
                                                        "t[hidden=[64,32],lr=2.5,optimizer=adam]"}));
    // "lr": 1 is keyed as a number
    CHECK(json_is_real(json_object_get(p.at("t[hidden=[64,32],lr=1,optimizer=adam]").params, "lr")));
    auto b = p.names_of("b");
    CHECK(std::set<std::string>(b.begin(), b.end()) ==
          std::set<std::string>{"b[by=top-1.acc]", "b[by=\"top 1\"]", "b[by=\"a\\\"b\"]"});
}

TEST_CASE("plan: instances are in topological order, ties broken by name", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    {
        Planned p(r, pipeline(), dir.path + "/g.json");
        for (size_t i = 0; i < p.plan->ninstances; i++)
            for (size_t k = 0; k < p.plan->instances[i].ninputs; k++)
                for (size_t s = 0; s < p.plan->instances[i].inputs[k].nsources; s++)
                    CHECK(p.plan->instances[i].inputs[k].sources[s].instance < i);
        CHECK(std::string(p.plan->instances[0].name) == "data");
        CHECK(std::string(p.plan->instances[1].name) == "split");
        CHECK(std::string(p.plan->instances[2].name) == "train[batch=128,lr=0.01]");
        CHECK(std::string(p.plan->instances[p.plan->ninstances - 1].name) == "best");
    }
    {
        Planned p(r, graph(R"("z": {"op": "test.pass"}, "a": {"op": "test.pass", "inputs": {"in": "z.out"}},
                              "m": {"op": "test.pass"}, "b": {"op": "test.pass"})"));
        std::vector<std::string> order;
        for (size_t i = 0; i < p.plan->ninstances; i++) order.push_back(p.plan->instances[i].name);
        CHECK(order == (std::vector<std::string>{"b", "m", "z", "a"}));
        CHECK(kiln_plan_find(p.plan, "m") == 1);
        CHECK(kiln_plan_find(p.plan, "nope") == -1);
    }
}

TEST_CASE("plan: input files are absolute in params and hashed into file_digests", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    Planned p(r, pipeline(), dir.path + "/g.json");
    const kiln_instance &d = p.at("data");
    CHECK(std::string(json_string_value(json_object_get(d.params, "images"))) == dir.path + "/images.gz");
    char hex[65];
    kiln_sha256_hex("img", 3, hex);
    CHECK(std::string(json_string_value(json_object_get(d.file_digests, "images"))) == hex);
    CHECK(json_object_size(p.at("split").file_digests) == 0);
}

TEST_CASE("plan: the action key is sha256 of the documented canonical JSON", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    Planned p(r, pipeline(), dir.path + "/g.json");
    FakeDigests f{p.plan, {}};
    char key[65];
    long ti = kiln_plan_find(p.plan, "train[batch=64,lr=0.1]");
    REQUIRE(kiln_plan_action_key(p.plan, (size_t)ti, FakeDigests::get, &f, key) == 0);
    long si = kiln_plan_find(p.plan, "split");
    std::string tr = FakeDigests::get((size_t)si, "train", &f);
    std::string ho = FakeDigests::get((size_t)si, "holdout", &f);
    json_t *doc = json_pack("{si ss ss ss s{sf si si s[i] ss} s{s[s] s[s]}}", "kiln_key", 1, "op", "cpu.train",
                            "plugin", "cpu", "plugin_version", "1.0.0", "params", "lr", 0.1, "batch", 64,
                            "epochs", 1, "hidden", 128, "optimizer", "sgd", "inputs", "train", tr.c_str(),
                            "val", ho.c_str());
    REQUIRE(doc);
    char *text = kiln_canonical_json(doc);
    char want[65];
    kiln_sha256_hex(text, strlen(text), want);
    free(text);
    json_decref(doc);
    CHECK(std::string(key) == want);

    // input files are keyed as {"sha256": ...}
    long di = kiln_plan_find(p.plan, "data");
    REQUIRE(kiln_plan_action_key(p.plan, (size_t)di, FakeDigests::get, &f, key) == 0);
    char img[65];
    kiln_sha256_hex("img", 3, img);
    doc = json_pack("{si ss ss ss s{s{ss} si} s{}}", "kiln_key", 1, "op", "data.load", "plugin", "data",
                    "plugin_version", "1.0.0", "params", "images", "sha256", img, "seed", 0, "inputs");
    text = kiln_canonical_json(doc);
    kiln_sha256_hex(text, strlen(text), want);
    free(text);
    json_decref(doc);
    CHECK(std::string(key) == want);

    // an unknown producer digest: no key yet
    auto none = [](size_t, const char *, void *) -> const char * { return nullptr; };
    CHECK(kiln_plan_action_key(p.plan, (size_t)ti, none, nullptr, key) == KILN_ENOTFOUND);
    CHECK(kiln_plan_action_key(p.plan, p.plan->ninstances, FakeDigests::get, &f, key) == KILN_EINVAL);
}

TEST_CASE("plan: keys are stable and change only where they should", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    std::string gpath = dir.path + "/g.json";
    Planned a(r, pipeline(), gpath);
    Planned b(r, pipeline(), gpath);
    std::vector<std::string> names;
    for (size_t i = 0; i < a.plan->ninstances; i++) names.push_back(a.plan->instances[i].name);
    for (auto &n : names) CHECK(key_of(a, n) == key_of(b, n));
    // all keys differ from each other
    std::set<std::string> keys;
    for (auto &n : names) keys.insert(key_of(a, n));
    CHECK(keys.size() == names.size());

    SECTION("a param change changes that node's key only") {
        Planned c(r, pipeline("images.gz", R"({"epochs": 3})"), gpath);
        for (auto &n : names) {
            INFO(n);
            if (n.compare(0, 6, "train[") == 0)
                CHECK(key_of(a, n) != key_of(c, n));
            else  // upstream unchanged; downstream sees train through its (unchanged) digests
                CHECK(key_of(a, n) == key_of(c, n));
        }
    }
    SECTION("defaults and integer-for-number spellings key the same") {
        Planned c(r, pipeline("images.gz", R"({"epochs": 1, "optimizer": "sgd", "hidden": [128.0]})"), gpath);
        for (auto &n : names) CHECK(key_of(a, n) == key_of(c, n));
        Planned d(r, graph(R"("d": {"op": "data.load", "params": {"images": "images.gz"}},
            "t": {"op": "cpu.train", "inputs": {"train": "d.dataset"}, "params": {"lr": 1}})"), gpath);
        Planned e(r, graph(R"("d": {"op": "data.load", "params": {"images": "images.gz"}},
            "t": {"op": "cpu.train", "inputs": {"train": "d.dataset"}, "params": {"lr": 1.0}})"), gpath);
        CHECK(key_of(d, "t") == key_of(e, "t"));
    }
    SECTION("the plugin version is part of the key") {
        TestRegistry r2;
        r2.plugins[0].desc = &kCpuDesc2;
        Planned c(r2, pipeline(), gpath);
        CHECK(key_of(a, "train[batch=64,lr=0.1]") != key_of(c, "train[batch=64,lr=0.1]"));
        CHECK(key_of(a, "data") == key_of(c, "data"));
    }
}

TEST_CASE("plan: input files are keyed by content, never by path", "[plan]") {
    TestRegistry r;
    TempDir one, two;
    one.write("images.gz", "the same bytes");
    two.write("moved.gz", "the same bytes");
    Planned a(r, pipeline(), one.path + "/g.json");
    // a copy elsewhere, named by an absolute path from a graph in yet another place
    Planned b(r, pipeline(two.path + "/moved.gz"), "/tmp/elsewhere/g.json");
    CHECK(key_of(a, "data") == key_of(b, "data"));
    // a different byte: a different key
    two.write("moved.gz", "the same bytez");
    Planned c(r, pipeline(two.path + "/moved.gz"), "/tmp/elsewhere/g.json");
    CHECK(key_of(a, "data") != key_of(c, "data"));
    CHECK(key_of(a, "split") == key_of(c, "split"));  // through digests: split sees data's output only
}

TEST_CASE("plan: keys do not depend on where the graph and its state live", "[plan]") {
    TestRegistry r;
    TempDir one, two;
    one.write("images.gz", "img");
    two.write("images.gz", "img");
    Planned a(r, pipeline(), one.path + "/g.json");
    Planned b(r, pipeline(), two.path + "/g.json");
    for (size_t i = 0; i < a.plan->ninstances; i++) {
        std::string n = a.plan->instances[i].name;
        CHECK(key_of(a, n) == key_of(b, n));
    }
    // and a different working directory changes nothing
    char *cwd = getcwd(nullptr, 0);
    REQUIRE(chdir(two.path.c_str()) == 0);
    Planned c(r, pipeline(), "g.json");
    REQUIRE(chdir(cwd) == 0);
    free(cwd);
    CHECK(key_of(a, "data") == key_of(c, "data"));
    CHECK(key_of(a, "best") == key_of(c, "best"));
}

TEST_CASE("plan: an input file that vanished after validation fails the build", "[plan]") {
    TestRegistry r;
    TempDir dir;
    std::string img = dir.write("images.gz", "img");
    std::string text = pipeline();
    std::string gpath = dir.path + "/g.json";
    kiln_diags d = {};
    kiln_graph *g = kiln_graph_parse_text(text.data(), text.size(), gpath.c_str(), &d);
    REQUIRE(g);
    REQUIRE(kiln_validate(g, &r.reg, &d) == 0);
    REQUIRE(unlink(img.c_str()) == 0);
    kiln_plan *plan = kiln_plan_build(g, &r.reg, &d);
    CHECK(plan == nullptr);
    REQUIRE(d.count == 1);
    CHECK(std::string(d.items[0]).find(gpath + ": node 'data': params/images: expected a readable input file: ") == 0);
    kiln_graph_free(g);
    kiln_diags_free(&d);
}

TEST_CASE("plan: to_json describes every instance", "[plan]") {
    TestRegistry r;
    TempDir dir;
    dir.write("images.gz", "img");
    std::string text = graph(R"(
        "data": {"op": "data.load", "params": {"images": "images.gz"}},
        "t": {"op": "cpu.train", "inputs": {"train": "data.dataset"}, "sweep": {"lr": [0.1, 0.2]},
              "timeout": 30, "retries": 2})");
    Planned p(r, "{\"kiln\": 1, \"name\": \"demo\", " + text.substr(std::string("{\"kiln\": 1, ").size()),
              dir.path + "/g.json");
    json_t *doc = kiln_plan_to_json(p.plan);
    REQUIRE(doc);
    json_t *gj = json_object_get(doc, "graph");
    CHECK(std::string(json_string_value(json_object_get(gj, "name"))) == "demo");
    CHECK(std::string(json_string_value(json_object_get(gj, "path"))) == dir.path + "/g.json");
    CHECK(std::string(json_string_value(json_object_get(gj, "dir"))) == dir.path);
    json_t *insts = json_object_get(doc, "instances");
    REQUIRE(json_array_size(insts) == 3);
    json_t *t = json_array_get(insts, 1);
    CHECK(std::string(json_string_value(json_object_get(t, "name"))) == "t[lr=0.1]");
    CHECK(std::string(json_string_value(json_object_get(t, "node"))) == "t");
    CHECK(std::string(json_string_value(json_object_get(t, "op"))) == "cpu.train");
    CHECK(std::string(json_string_value(json_object_get(t, "plugin"))) == "cpu");
    CHECK(std::string(json_string_value(json_object_get(t, "plugin_version"))) == "1.0.0");
    CHECK(json_real_value(json_object_get(json_object_get(t, "params"), "lr")) == 0.1);
    CHECK(json_real_value(json_object_get(json_object_get(t, "sweep"), "lr")) == 0.1);
    CHECK(json_object_size(json_object_get(t, "file_digests")) == 0);
    json_t *src = json_array_get(json_object_get(json_object_get(t, "inputs"), "train"), 0);
    CHECK(std::string(json_string_value(json_object_get(src, "instance"))) == "data");
    CHECK(std::string(json_string_value(json_object_get(src, "port"))) == "dataset");
    json_t *model = json_object_get(json_object_get(t, "outputs"), "model");
    CHECK(std::string(json_string_value(json_object_get(model, "type"))) == "model");
    CHECK(std::string(json_string_value(json_object_get(model, "file_name"))) == "model.safetensors");
    CHECK(json_array_size(json_object_get(t, "flags")) == 1);
    CHECK(std::string(json_string_value(json_array_get(json_object_get(t, "flags"), 0))) == "deterministic");
    CHECK(json_number_value(json_object_get(t, "timeout_s")) == 30.0);
    CHECK(json_integer_value(json_object_get(t, "retries")) == 2);
    json_t *d = json_array_get(insts, 0);
    CHECK(json_string_value(json_object_get(json_object_get(d, "file_digests"), "images")) != nullptr);
    // the document is a copy: changing it leaves the plan alone
    json_object_set_new(json_object_get(d, "params"), "seed", json_integer(99));
    CHECK(json_integer_value(json_object_get(p.at("data").params, "seed")) == 0);
    json_decref(doc);
}

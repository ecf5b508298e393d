// Unit tests for core/src/graph.c: parsing a graph spec and checking its shape.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

extern "C" {
#include "fsutil.h"
#include "graph.h"
}

namespace {

struct Diags {
    kiln_diags d = {};
    ~Diags() { kiln_diags_free(&d); }
    bool has(const std::string &s) const {
        for (size_t i = 0; i < d.count; i++)
            if (s == d.items[i]) return true;
        return false;
    }
    bool has_prefix(const std::string &s) const {
        for (size_t i = 0; i < d.count; i++)
            if (std::string(d.items[i]).compare(0, s.size(), s) == 0) return true;
        return false;
    }
    std::string all() const {
        std::string r;
        for (size_t i = 0; i < d.count; i++) r += std::string(d.items[i]) + "\n";
        return r;
    }
};

struct Parsed {
    Diags diags;
    kiln_graph *g = nullptr;
    explicit Parsed(const std::string &text, const char *path = "graph.json") {
        g = kiln_graph_parse_text(text.data(), text.size(), path, &diags.d);
    }
    ~Parsed() { kiln_graph_free(g); }
};

}  // namespace

TEST_CASE("graph: a well-formed graph parses into nodes in document order", "[graph]") {
    Parsed p(R"({
  "kiln": 1,
  "name": "fashion-mlp",
  "nodes": {
    "train_data": {"op": "data.idx", "params": {"images": "a.gz"}},
    "split": {"op": "data.split", "inputs": {"dataset": "train_data.dataset"}},
    "train": {"op": "cpu.train",
              "inputs": {"train": "split.train", "val": "split.holdout"},
              "params": {"lr": 0.05},
              "sweep": {"lr": [0.01, 0.05, 0.1]},
              "timeout": 60, "retries": 2},
    "best": {"op": "eval.select", "inputs": {"models": ["train.model", "other-1.model"]}}
  }
})");
    INFO(p.diags.all());
    REQUIRE(p.g != nullptr);
    CHECK(p.diags.d.count == 0);
    CHECK(std::string(p.g->name) == "fashion-mlp");
    CHECK(std::string(p.g->path) == "graph.json");
    CHECK(p.g->dir[0] == '/');
    REQUIRE(p.g->nnodes == 4);
    CHECK(std::string(p.g->nodes[0].name) == "train_data");
    CHECK(std::string(p.g->nodes[3].name) == "best");
    CHECK(p.g->nodes[0].line == 5);
    CHECK(p.g->nodes[1].line == 6);
    CHECK(p.g->nodes[2].line == 7);
    CHECK(p.g->nodes[3].line == 12);

    const kiln_graph_node *split = &p.g->nodes[1];
    CHECK(std::string(split->op) == "data.split");
    CHECK(json_is_object(split->params));
    CHECK(json_object_size(split->params) == 0);
    CHECK(split->sweep == nullptr);
    REQUIRE(split->ninputs == 1);
    CHECK(std::string(split->inputs[0].port) == "dataset");
    CHECK_FALSE(split->inputs[0].is_array);
    REQUIRE(split->inputs[0].nrefs == 1);
    CHECK(std::string(split->inputs[0].refs[0].node) == "train_data");
    CHECK(std::string(split->inputs[0].refs[0].port) == "dataset");

    const kiln_graph_node *train = &p.g->nodes[2];
    CHECK(train->timeout_s == 60.0);
    CHECK(train->retries == 2);
    REQUIRE(train->sweep != nullptr);
    CHECK(json_array_size(json_object_get(train->sweep, "lr")) == 3);
    REQUIRE(train->ninputs == 2);
    CHECK(std::string(train->inputs[1].port) == "val");
    CHECK(std::string(train->inputs[1].refs[0].port) == "holdout");

    const kiln_graph_node *best = &p.g->nodes[3];
    REQUIRE(best->ninputs == 1);
    CHECK(best->inputs[0].is_array);
    REQUIRE(best->inputs[0].nrefs == 2);
    CHECK(std::string(best->inputs[0].refs[1].node) == "other-1");

    CHECK(kiln_graph_find(p.g, "train") == 2);
    CHECK(kiln_graph_find(p.g, "nope") == -1);
}

TEST_CASE("graph: malformed JSON is reported with line and column", "[graph]") {
    Parsed p("{\n  \"kiln\": 1,\n  \"nodes\": {\"a\" {}}\n}\n");
    CHECK(p.g == nullptr);
    REQUIRE(p.diags.d.count == 1);
    INFO(p.diags.all());
    CHECK(p.diags.has_prefix("graph.json:3:17: "));
}

TEST_CASE("graph: duplicate node names are refused with their position", "[graph]") {
    Parsed p("{\"kiln\": 1, \"nodes\": {\n\"a\": {\"op\": \"x.y\"},\n\"a\": {\"op\": \"x.z\"}}}");
    CHECK(p.g == nullptr);
    INFO(p.diags.all());
    CHECK(p.diags.has_prefix("graph.json:3:"));
    CHECK(p.diags.all().find("duplicate") != std::string::npos);
}

TEST_CASE("graph: the version is required and must be 1", "[graph]") {
    {
        Parsed p(R"({"nodes": {"a": {"op": "x.y"}}})");
        REQUIRE(p.g != nullptr);
        CHECK(p.diags.has("graph.json: kiln: missing; expected \"kiln\": 1 (the graph spec version)"));
    }
    {
        Parsed p(R"({"kiln": 2, "nodes": {"a": {"op": "x.y"}}})");
        CHECK(p.diags.has("graph.json: kiln: expected 1 (the only graph spec version this kiln reads), got 2"));
    }
    {
        Parsed p(R"({"kiln": "1", "nodes": {"a": {"op": "x.y"}}})");
        CHECK(p.diags.d.count == 1);
    }
}

TEST_CASE("graph: the document and nodes must be objects", "[graph]") {
    {
        Parsed p("[1, 2]");
        CHECK(p.g == nullptr);
        CHECK(p.diags.has_prefix("graph.json: expected a JSON object"));
    }
    {
        Parsed p(R"({"kiln": 1, "nodes": [1]})");
        CHECK(p.diags.has("graph.json: nodes: expected an object of named nodes, got [1]"));
    }
    {
        Parsed p(R"({"kiln": 1})");
        CHECK(p.diags.has_prefix("graph.json: nodes: missing"));
    }
    {
        Parsed p(R"({"kiln": 1, "nodes": {}, "extra": 1})");
        CHECK(p.diags.has("graph.json: nodes: expected at least one node"));
        CHECK(p.diags.has("graph.json: extra: unknown key; allowed: kiln, name, description, nodes"));
    }
}

TEST_CASE("graph: every shape problem is reported at once", "[graph]") {
    Parsed p(R"({
  "kiln": 1,
  "name": 5,
  "nodes": {
    "bad name": {"op": "x.y"},
    "no_op": {"params": {}},
    "op_num": {"op": 3},
    "n1": {"op": "x.y", "params": [1], "inputs": {"a": "nodot", "b": ["ok.port", 7], "c": 5, "d": []}},
    "n2": {"op": "x.y", "sweep": {"lr": [], "bs": 3, "k": [1, 2, 1.0]}, "timeout": "10", "retries": -1},
    "n3": {"op": "x.y", "timeout": -5, "retries": 1.5, "sweeps": {}},
    "n4": {"op": "x.y", "inputs": "a.b", "sweep": [1]},
    "n5": 7
  }
})");
    REQUIRE(p.g != nullptr);
    INFO(p.diags.all());
    CHECK(p.diags.has("graph.json: name: expected a string, got 5"));
    CHECK(p.diags.has("graph.json: node 'bad name': expected a node name of letters, digits, '_' and '-'"));
    CHECK(p.diags.has("graph.json: node 'no_op': op: missing; expected \"op\": \"<plugin>.<op>\""));
    CHECK(p.diags.has("graph.json: node 'op_num': op: expected an op name string (\"cpu.train\"), got 3"));
    CHECK(p.diags.has("graph.json: node 'n1': params: expected an object, got [1]"));
    CHECK(p.diags.has("graph.json: node 'n1': inputs/a: expected \"node.port\" (a node name, a dot, an output port), got \"nodot\""));
    CHECK(p.diags.has("graph.json: node 'n1': inputs/b/1: expected \"node.port\" (a node name, a dot, an output port), got 7"));
    CHECK(p.diags.has("graph.json: node 'n1': inputs/c: expected \"node.port\" or a non-empty array of them, got 5"));
    CHECK(p.diags.has("graph.json: node 'n1': inputs/d: expected \"node.port\" or a non-empty array of them, got []"));
    CHECK(p.diags.has("graph.json: node 'n2': sweep/lr: expected a non-empty array of values, got []"));
    CHECK(p.diags.has("graph.json: node 'n2': sweep/bs: expected a non-empty array of values, got 3"));
    CHECK(p.diags.has("graph.json: node 'n2': sweep/k/2: expected distinct values, got 1.0 again (also at sweep/k/0)"));
    CHECK(p.diags.has("graph.json: node 'n2': timeout: expected a number of seconds >= 0, got \"10\""));
    CHECK(p.diags.has("graph.json: node 'n2': retries: expected an integer >= 0, got -1"));
    CHECK(p.diags.has("graph.json: node 'n3': timeout: expected a number of seconds >= 0, got -5"));
    CHECK(p.diags.has("graph.json: node 'n3': retries: expected an integer >= 0, got 1.5"));
    CHECK(p.diags.has("graph.json: node 'n3': sweeps: unknown key; allowed: op, params, inputs, sweep, timeout, retries"));
    CHECK(p.diags.has("graph.json: node 'n4': inputs: expected an object of \"port\": \"node.port\", got \"a.b\""));
    CHECK(p.diags.has("graph.json: node 'n4': sweep: expected an object of \"param\": [values...], got [1]"));
    CHECK(p.diags.has("graph.json: node 'n5': expected an object with \"op\", got 7"));
    CHECK(p.diags.d.count == 20);
    // the graph is still usable for further checks: every node is there
    CHECK(p.g->nnodes == 8);
    CHECK(std::string(p.g->nodes[1].op) == "");
    // a valid reference of a partly bad input list is not half-kept
    CHECK(p.g->nodes[3].ninputs == 0);
}

TEST_CASE("graph: optional fields default to none", "[graph]") {
    Parsed p(R"({"kiln": 1, "nodes": {"a": {"op": "x.y", "timeout": 0, "retries": 0, "sweep": {}}}})");
    REQUIRE(p.g != nullptr);
    CHECK(p.diags.d.count == 0);
    CHECK(p.g->nodes[0].timeout_s == 0);
    CHECK(p.g->nodes[0].retries == 0);
    CHECK(p.g->nodes[0].sweep == nullptr);
    CHECK(p.g->nodes[0].ninputs == 0);
    CHECK(std::string(p.g->name) == "");
}

TEST_CASE("graph: parse_file resolves the directory and reports unreadable files", "[graph]") {
    char tmpl[] = "/tmp/kiln-graph-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    std::string dir = tmpl;
    std::string path = dir + "/g.json";
    FILE *f = fopen(path.c_str(), "w");
    REQUIRE(f);
    fputs("{\"kiln\": 1,\n \"nodes\": {\n  \"a\": {\"op\": \"x.y\"}}}\n", f);
    fclose(f);
    Diags d;
    kiln_graph *g = kiln_graph_parse_file(path.c_str(), &d.d);
    REQUIRE(g != nullptr);
    CHECK(d.d.count == 0);
    CHECK(std::string(g->dir) == dir);
    CHECK(std::string(g->path) == path);
    CHECK(g->nodes[0].line == 3);
    kiln_graph_free(g);

    // relative path: dir is absolute all the same
    char *cwd = getcwd(nullptr, 0);
    REQUIRE(chdir(dir.c_str()) == 0);
    g = kiln_graph_parse_file("g.json", &d.d);
    REQUIRE(g != nullptr);
    CHECK(std::string(g->dir) == dir);
    kiln_graph_free(g);
    REQUIRE(chdir(cwd) == 0);
    free(cwd);

    g = kiln_graph_parse_file((dir + "/missing.json").c_str(), &d.d);
    CHECK(g == nullptr);
    CHECK(d.has_prefix(dir + "/missing.json"));
    kiln_error err = {};
    kiln_remove_tree(dir.c_str(), &err);
}

// test_exec_node.cpp -- kiln_exec_node() run in a forked child (it installs signal handlers
// and the op may crash), with its events read from a pipe, against the "test" plugin.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern "C" {
#include "exec_node.h"
#include "fsutil.h"
#include "safetensors.h"
#include "sha256.h"
#include "store.h"
}

namespace {

std::string plugin_file(const char *name) {
    const char *d = std::getenv("KILN_TEST_PLUGIN_DIR");
    REQUIRE(d != nullptr);
    return std::string(d) + "/" + name + ".so";
}

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void spit(const std::string &path, const std::string &text) {
    std::ofstream(path, std::ios::binary) << text;
}

bool exists(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

// A temporary directory removed at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln_test_exec_node_XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        kiln_error err = {};
        kiln_remove_tree(path.c_str(), &err);
    }
    std::string operator/(const std::string &name) const { return path + "/" + name; }
};

// What one exec-node child did.
struct Outcome {
    int exit_code = -1;            // when it exited
    int signal = 0;                // when a signal killed it
    std::vector<json_t *> events;  // owned
    Outcome() = default;
    Outcome(const Outcome &) = delete;
    Outcome &operator=(const Outcome &) = delete;
    Outcome(Outcome &&o) noexcept : exit_code(o.exit_code), signal(o.signal), events(std::move(o.events)) {}
    ~Outcome() {
        for (json_t *e : events) json_decref(e);
    }
    const json_t *result() const {
        if (events.empty()) return nullptr;
        const json_t *last = events.back();
        return std::string(json_string_value(json_object_get(last, "type"))) == "result" ? last : nullptr;
    }
    std::string status() const { return result() ? json_string_value(json_object_get(result(), "status")) : ""; }
    std::string error() const {
        const char *e = result() ? json_string_value(json_object_get(result(), "error")) : nullptr;
        return e ? e : "";
    }
    std::vector<const json_t *> of_type(const char *type) const {
        std::vector<const json_t *> out;
        for (const json_t *e : events)
            if (std::string(json_string_value(json_object_get(e, "type"))) == type) out.push_back(e);
        return out;
    }
};

// Exit code the child uses when the events fd lost its close-on-exec flag.
constexpr int LEAKED_FD = 99;

// Forks; the child runs kiln_exec_node(spec, pipe) with stderr sent to `stderr_path`. Each
// event line is parsed and handed to on_event(pid, event) as it arrives.
Outcome run_node(const std::string &spec, const std::string &stderr_path,
                 std::function<void(pid_t, const json_t *)> on_event = nullptr) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(nullptr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        int errfd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (errfd >= 0) dup2(errfd, 2);
        int rc = kiln_exec_node(spec.c_str(), fds[1]);
        if (!(fcntl(fds[1], F_GETFD) & FD_CLOEXEC)) rc = LEAKED_FD;
        _exit(rc);
    }
    close(fds[1]);
    Outcome out;
    FILE *in = fdopen(fds[0], "r");
    REQUIRE(in != nullptr);
    char *line = nullptr;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
        json_error_t jerr;
        json_t *ev = json_loads(line, 0, &jerr);
        INFO("event line: " << line);
        REQUIRE(ev != nullptr);
        CHECK(json_is_string(json_object_get(ev, "type")));
        CHECK(json_is_number(json_object_get(ev, "ts")));
        out.events.push_back(ev);
        if (on_event) on_event(pid, ev);
    }
    free(line);
    fclose(in);
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    if (WIFEXITED(st)) out.exit_code = WEXITSTATUS(st);
    if (WIFSIGNALED(st)) out.signal = WTERMSIG(st);
    return out;
}

// A spec for op `op` of the test plugin, working in dir/work; `extra` fields are merged in.
std::string write_spec(const TempDir &dir, const char *op, json_t *extra, const char *name = "spec.json") {
    json_t *spec = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:i}", "kiln_spec", 1, "plugin_path",
                             plugin_file("kiln_test").c_str(), "op", op, "node", "n1", "job", "j1", "work_dir",
                             (dir / "work").c_str(), "params", json_object(), "threads", 1);
    REQUIRE(spec != nullptr);
    if (extra) {
        json_object_update(spec, extra);
        json_decref(extra);
    }
    std::string path = dir / name;
    REQUIRE(json_dump_file(spec, path.c_str(), JSON_INDENT(2)) == 0);
    json_decref(spec);
    return path;
}

std::string sha256_of(const std::string &s) {
    char hex[65];
    kiln_sha256_hex(s.data(), s.size(), hex);
    return hex;
}

int count_blobs(const std::string &home) {
    kiln_store store = {};
    kiln_error err = {};
    REQUIRE(kiln_store_open(&store, home.c_str(), &err) == 0);
    int n = 0;
    kiln_store_foreach(
        &store, [](const char *, int64_t, void *user) { return ++*static_cast<int *>(user), 0; }, &n);
    kiln_store_close(&store);
    return n;
}

} // namespace

TEST_CASE("exec-node: echo puts its output into the store and reports it", "[exec_node]") {
    TempDir dir;
    spit(dir / "a.txt", "A\n");
    spit(dir / "b.txt", "B\n");
    std::string home = dir / "home";
    json_t *extra = json_pack("{s:{s:s}, s:{s:[{s:s, s:{s:s}}, {s:s}]}, s:s, s:{s:s}}", "params", "message", "hi ",
                              "inputs", "items", "path", (dir / "a.txt").c_str(), "info", "node", "a", "path",
                              (dir / "b.txt").c_str(), "store", home.c_str(), "output_paths", "out",
                              (dir / "copies/echo.txt").c_str());
    std::string spec = write_spec(dir, "test.echo", extra);
    Outcome o = run_node(spec, dir / "stderr.log");
    INFO("stderr: " << slurp(dir / "stderr.log"));
    REQUIRE(o.exit_code == 0);
    REQUIRE(o.status() == "ok");
    const json_t *r = o.result();
    CHECK(std::string(json_string_value(json_object_get(r, "job"))) == "j1");
    CHECK(std::string(json_string_value(json_object_get(r, "node"))) == "n1");
    CHECK(json_object_get(r, "error") == nullptr);

    const json_t *out = json_object_get(json_object_get(r, "outputs"), "out");
    REQUIRE(out != nullptr);
    const std::string expected = "hi A\nB\n";
    std::string digest = json_string_value(json_object_get(out, "digest"));
    CHECK(digest == sha256_of(expected));
    CHECK(json_integer_value(json_object_get(out, "size")) == (json_int_t)expected.size());
    CHECK(std::string(json_string_value(json_object_get(out, "file_name"))) == "echo.txt");
    CHECK(std::string(json_string_value(json_object_get(out, "type"))) == "file");

    // In the store, under its digest; copied to output_paths; out/ emptied by the move.
    kiln_store store = {};
    kiln_error err = {};
    REQUIRE(kiln_store_open(&store, home.c_str(), &err) == 0);
    char *blob = kiln_store_blob_path(&store, digest.c_str());
    CHECK(slurp(blob) == expected);
    CHECK(kiln_store_check(&store, digest.c_str(), 1, &err) == 0);
    free(blob);
    kiln_store_close(&store);
    CHECK(slurp(dir / "copies/echo.txt") == expected);
    CHECK(!exists(dir / "work/out/out"));
    CHECK(!exists(dir / "work/scratch"));
    CHECK(exists(dir / "work/checkpoint"));

    // The plugin's log line went to stderr and out as a "log" event.
    CHECK(slurp(dir / "stderr.log").find("[info] echo: message of 3 bytes and 2 item(s)") != std::string::npos);
    auto logs = o.of_type("log");
    REQUIRE(logs.size() == 1);
    CHECK(std::string(json_string_value(json_object_get(logs[0], "level"))) == "info");
}

TEST_CASE("exec-node: a failing op exits 1, says why and stores nothing", "[exec_node]") {
    TempDir dir;
    std::string home = dir / "home";
    std::string spec = write_spec(dir, "test.fail", json_pack("{s:{s:s}, s:s}", "params", "message", "boom: param 'x' is wrong",
                                                              "store", home.c_str()));
    Outcome o = run_node(spec, dir / "stderr.log");
    CHECK(o.exit_code == 1);
    CHECK(o.status() == "failed");
    CHECK(o.error() == "boom: param 'x' is wrong");
    CHECK(json_object_size(json_object_get(o.result(), "outputs")) == 0);
    CHECK(count_blobs(home) == 0);
    CHECK(!exists(dir / "work/out"));
    CHECK(slurp(dir / "stderr.log").find("boom: param 'x' is wrong") != std::string::npos);
}

TEST_CASE("exec-node: a crashing op kills the process with SIGSEGV", "[exec_node]") {
    TempDir dir;
    std::string home = dir / "home";
    std::string spec = write_spec(dir, "test.crash", json_pack("{s:s}", "store", home.c_str()));
    Outcome o = run_node(spec, dir / "stderr.log");
    CHECK(o.signal == SIGSEGV);
    CHECK(o.result() == nullptr);
    CHECK(count_blobs(home) == 0);
}

TEST_CASE("exec-node: an op that skips an output fails", "[exec_node]") {
    TempDir dir;
    std::string home = dir / "home";
    std::string spec = write_spec(dir, "test.nowrite", json_pack("{s:s}", "store", home.c_str()));
    Outcome o = run_node(spec, dir / "stderr.log");
    CHECK(o.exit_code == 1);
    CHECK(o.status() == "failed");
    CHECK(o.error().find("op did not write output 'out'") != std::string::npos);
    CHECK(count_blobs(home) == 0);
}

TEST_CASE("exec-node: bad specs exit 2 naming the field", "[exec_node]") {
    TempDir dir;
    struct Case {
        const char *what;
        json_t *extra;
        const char *expect;
    };
    Case cases[] = {
        {"a newer spec version", json_pack("{s:i}", "kiln_spec", 2), "field 'kiln_spec': expected 1, got 2"},
        {"kiln_spec of the wrong type", json_pack("{s:s}", "kiln_spec", "1"), "field 'kiln_spec'"},
        {"a relative work_dir", json_pack("{s:s}", "work_dir", "relative/dir"), "field 'work_dir': expected an absolute path"},
        {"no op", json_pack("{s:n}", "op"), "field 'op'"},
        {"params not an object", json_pack("{s:[]}", "params"), "field 'params': expected an object, got an array"},
        {"threads zero", json_pack("{s:i}", "threads", 0), "field 'threads'"},
        {"an unknown op", json_pack("{s:s}", "op", "test.ech"), "did you mean 'test.echo'"},
        {"an unknown input port", json_pack("{s:{s:[]}}", "inputs", "nope"), "field 'inputs/nope': op 'test.echo' has no input 'nope'"},
        {"a missing input file", json_pack("{s:{s:[{s:s}]}}", "inputs", "items", "path", "/nonexistent/file"),
         "inputs/items/0/path"},
        {"an output of the wrong type", json_pack("{s:{s:{s:s}}}", "outputs", "out", "type", "model"),
         "field 'outputs/out/type': expected \"file\""},
        {"an unknown output path port", json_pack("{s:{s:s}}", "output_paths", "nope", "/tmp/x"), "output_paths/nope"},
        {"an unknown param", json_pack("{s:{s:i}}", "params", "bogus", 1), "bogus"},
        {"a param of the wrong type", json_pack("{s:{s:i}}", "params", "message", 1), "message"},
    };
    for (Case &c : cases) {
        SECTION(c.what) {
            std::string spec = write_spec(dir, "test.echo", json_incref(c.extra));
            Outcome o = run_node(spec, dir / "stderr.log");
            CHECK(o.exit_code == 2);
            CHECK(o.status() == "failed");
            INFO("error: " << o.error());
            CHECK(o.error().find(c.expect) != std::string::npos);
            CHECK(o.error().find(spec) != std::string::npos); // names the spec file
        }
    }
    for (Case &c : cases) json_decref(c.extra);

    SECTION("no spec file") {
        Outcome o = run_node(dir / "missing.json", dir / "stderr.log");
        CHECK(o.exit_code == 2);
        CHECK(o.error().find("missing.json") != std::string::npos);
    }
    SECTION("not JSON") {
        spit(dir / "bad.json", "{\"kiln_spec\": 1,");
        Outcome o = run_node(dir / "bad.json", dir / "stderr.log");
        CHECK(o.exit_code == 2);
        CHECK(o.error().find("bad.json") != std::string::npos);
    }
}

TEST_CASE("exec-node: a refused plugin exits 3 with the loader's reason", "[exec_node]") {
    TempDir dir;
    std::string spec = write_spec(dir, "badabi.noop", json_pack("{s:s}", "plugin_path", plugin_file("kiln_test_badabi").c_str()));
    Outcome o = run_node(spec, dir / "stderr.log");
    CHECK(o.exit_code == 3);
    CHECK(o.status() == "failed");
    CHECK(o.error().find("ABI major") != std::string::npos);
}

TEST_CASE("exec-node: SIGTERM cancels a running op", "[exec_node]") {
    TempDir dir;
    std::string spec = write_spec(dir, "test.sleep", json_pack("{s:{s:i}}", "params", "seconds", 30));
    bool sent = false;
    Outcome o = run_node(spec, dir / "stderr.log", [&](pid_t pid, const json_t *ev) {
        if (!sent && std::string(json_string_value(json_object_get(ev, "type"))) == "progress") {
            kill(pid, SIGTERM);
            sent = true;
        }
    });
    CHECK(sent);
    CHECK(o.exit_code == 143);
    CHECK(o.status() == "cancelled");
    CHECK(!exists(dir / "work/out"));
}

TEST_CASE("exec-node: SIGINT does not cancel (the parent decides)", "[exec_node]") {
    TempDir dir;
    std::string spec = write_spec(dir, "test.sleep", json_pack("{s:{s:f}}", "params", "seconds", 0.3));
    bool sent = false;
    Outcome o = run_node(spec, dir / "stderr.log", [&](pid_t pid, const json_t *ev) {
        if (!sent && std::string(json_string_value(json_object_get(ev, "type"))) == "progress") {
            kill(pid, SIGINT);
            sent = true;
        }
    });
    CHECK(sent);
    CHECK(o.exit_code == 0);
    CHECK(o.status() == "ok");
}

TEST_CASE("exec-node: progress is rate-limited and its last value always sent", "[exec_node]") {
    TempDir dir;
    std::string spec = write_spec(dir, "test.sleep", json_pack("{s:{s:f}}", "params", "seconds", 0.5));
    Outcome o = run_node(spec, dir / "stderr.log");
    REQUIRE(o.exit_code == 0);
    auto progress = o.of_type("progress");
    // ~50 calls in 0.5 s; at most one event per 100 ms plus the final one.
    CHECK(progress.size() >= 2);
    CHECK(progress.size() <= 9);
    const json_t *last = progress.back();
    CHECK(json_number_value(json_object_get(last, "done")) == Approx(0.5));
    CHECK(json_number_value(json_object_get(last, "total")) == Approx(0.5));
    CHECK(std::string(json_string_value(json_object_get(last, "unit"))) == "second");
}

TEST_CASE("exec-node: metrics go out as events and into the result", "[exec_node]") {
    TempDir dir;
    std::string spec =
        write_spec(dir, "test.param", json_pack("{s:{s:f, s:s}, s:{s:{s:s}}}", "params", "value", 0.05, "tag", "a", "outputs",
                                                "out", "file_name", "renamed.txt"));
    Outcome o = run_node(spec, dir / "stderr.log");
    REQUIRE(o.exit_code == 0);
    auto metrics = o.of_type("metric");
    REQUIRE(metrics.size() == 1);
    CHECK(std::string(json_string_value(json_object_get(metrics[0], "name"))) == "value");
    const json_t *m = json_object_get(json_object_get(o.result(), "metrics"), "value");
    REQUIRE(m != nullptr);
    CHECK(json_number_value(json_object_get(m, "value")) == Approx(0.05));
    CHECK(json_integer_value(json_object_get(m, "step")) == 0);
    // No store: the output stays in out/, hashed; the spec's file_name wins.
    const json_t *out = json_object_get(json_object_get(o.result(), "outputs"), "out");
    CHECK(std::string(json_string_value(json_object_get(out, "file_name"))) == "renamed.txt");
    CHECK(slurp(dir / "work/out/out") == "value=0.05\ntag=a\n");
    CHECK(std::string(json_string_value(json_object_get(out, "digest"))) == sha256_of("value=0.05\ntag=a\n"));
}

TEST_CASE("exec-node: test.tensors writes a readable safetensors dataset", "[exec_node]") {
    TempDir dir;
    std::string spec = write_spec(dir, "test.tensors", nullptr);
    Outcome o = run_node(spec, dir / "stderr.log");
    INFO("stderr: " << slurp(dir / "stderr.log"));
    REQUIRE(o.exit_code == 0);
    const json_t *out = json_object_get(json_object_get(o.result(), "outputs"), "dataset");
    REQUIRE(out != nullptr);
    CHECK(std::string(json_string_value(json_object_get(out, "type"))) == "dataset");
    CHECK(std::string(json_string_value(json_object_get(out, "file_name"))) == "dataset.safetensors");
    kiln_error err = {};
    kiln_tensors *t = kiln_tensors_open((dir / "work/out/dataset").c_str(), &err);
    INFO(err.message);
    REQUIRE(t != nullptr);
    kiln_tensor x, y;
    REQUIRE(kiln_tensors_get(t, "x", &x) == 0);
    CHECK(x.dtype == KILN_DTYPE_F32);
    CHECK(x.ndim == 2);
    CHECK(x.shape[0] == 4);
    CHECK(x.shape[1] == 3);
    REQUIRE(kiln_tensors_get(t, "y", &y) == 0);
    CHECK(y.dtype == KILN_DTYPE_I64);
    CHECK(y.ndim == 1);
    CHECK(y.shape[0] == 4);
    CHECK(static_cast<const int64_t *>(y.data)[3] == 1);
    kiln_tensors_close(t);
}

TEST_CASE("exec-node: count and source", "[exec_node]") {
    TempDir dir;
    spit(dir / "f.txt", "file bytes");
    SECTION("count gathers a list") {
        std::string p = (dir / "f.txt");
        std::string spec = write_spec(dir, "test.count",
                                      json_pack("{s:{s:[{s:s},{s:s},{s:s}]}}", "inputs", "items", "path", p.c_str(), "path",
                                                p.c_str(), "path", p.c_str()));
        Outcome o = run_node(spec, dir / "stderr.log");
        REQUIRE(o.exit_code == 0);
        CHECK(slurp(dir / "work/out/out") == "3\n");
    }
    SECTION("count with no items writes 0") {
        std::string spec = write_spec(dir, "test.count", nullptr);
        Outcome o = run_node(spec, dir / "stderr.log");
        CHECK(o.exit_code == 0); // a LIST input may gather nothing
        CHECK(slurp(dir / "work/out/out") == "0\n");
    }
    SECTION("source copies an input-file param") {
        std::string spec = write_spec(dir, "test.source", json_pack("{s:{s:s}}", "params", "file", (dir / "f.txt").c_str()));
        Outcome o = run_node(spec, dir / "stderr.log");
        REQUIRE(o.exit_code == 0);
        CHECK(slurp(dir / "work/out/out") == "file bytes");
    }
    SECTION("source needs text or file") {
        std::string spec = write_spec(dir, "test.source", nullptr);
        Outcome o = run_node(spec, dir / "stderr.log");
        CHECK(o.exit_code == 1);
        CHECK(o.error().find("'text'") != std::string::npos);
    }
}

TEST_CASE("exec-node: a bad events fd is a usage error", "[exec_node]") {
    TempDir dir;
    std::string spec = write_spec(dir, "test.noop", nullptr);
    fflush(nullptr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int errfd = open((dir / "stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (errfd >= 0) dup2(errfd, 2);
        _exit(kiln_exec_node(spec.c_str(), 987));
    }
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 2);
    CHECK(slurp(dir / "stderr.log").find("--events-fd 987") != std::string::npos);
}

extern "C" {
#include "registry.h"
}

TEST_CASE("host API: ctx slots over a hand-built context", "[exec_node][host_api]") {
    static const kiln_port_def inputs[] = {{"one", KILN_TYPE_FILE, KILN_ONE, KILN_PORT_OPTIONAL, nullptr, ""},
                                           {"many", KILN_TYPE_FILE, KILN_LIST, 0, nullptr, ""},
                                           {nullptr, (kiln_port_type)0, KILN_ONE, 0, nullptr, nullptr}};
    static const kiln_port_def outputs[] = {{"out", KILN_TYPE_FILE, KILN_ONE, 0, "o.txt", ""},
                                            {nullptr, (kiln_port_type)0, KILN_ONE, 0, nullptr, nullptr}};
    kiln_op_def op = {};
    op.struct_size = sizeof op;
    op.name = "t.x";
    op.inputs = inputs;
    op.outputs = outputs;

    const kiln_host_api *h = kiln_host_api_table();
    volatile sig_atomic_t flag = 0;
    kiln_ctx ctx;
    kiln_ctx_init(&ctx);
    json_t *params = json_pack("{s:i}", "k", 3);
    json_t *ins = json_pack("{s:[{s:s, s:{s:s}}, {s:s}]}", "many", "path", "/a", "info", "node", "p", "path", "/b");
    ctx.op = &op;
    ctx.params = params;
    ctx.inputs = ins;
    ctx.cancel_flag = &flag;
    ctx.threads = 3;
    json_object_set_new(ctx.outputs, "out", json_pack("{s:s, s:s}", "path", "/w/out/out", "file_name", "o.txt"));

    CHECK(json_integer_value(json_object_get(h->params(&ctx), "k")) == 3);
    CHECK(h->input_count(&ctx, "many") == 2);
    CHECK(h->input_count(&ctx, "one") == 0);     // declared, unwired
    CHECK(h->input_count(&ctx, "nope") == -1);   // not declared
    CHECK(std::string(h->input_path(&ctx, "many", 1)) == "/b");
    CHECK(h->input_path(&ctx, "many", 2) == nullptr);
    CHECK(h->input_path(&ctx, "many", -1) == nullptr);
    CHECK(std::string(json_string_value(json_object_get(h->input_info(&ctx, "many", 0), "node"))) == "p");
    CHECK(h->input_info(&ctx, "many", 1) == nullptr);
    CHECK(std::string(h->output_path(&ctx, "out")) == "/w/out/out");
    CHECK(h->output_path(&ctx, "nope") == nullptr);

    CHECK(h->set_output_name(&ctx, "out", "model-1.0.whl") == 0);
    CHECK(std::string(json_string_value(json_object_get(json_object_get(ctx.outputs, "out"), "file_name"))) ==
          "model-1.0.whl");
    CHECK(h->set_output_name(&ctx, "out", "a/b") == KILN_EINVAL);
    CHECK(h->set_output_name(&ctx, "out", "..") == KILN_EINVAL);
    CHECK(h->set_output_name(&ctx, "out", "") == KILN_EINVAL);
    CHECK(h->set_output_name(&ctx, "nope", "x") == KILN_ENOTFOUND);

    CHECK(h->threads(&ctx) == 3);
    CHECK(h->cancelled(&ctx) == 0);
    flag = 1;
    CHECK(h->cancelled(&ctx) == 1);

    CHECK(h->fail(&ctx, "first %d", 1) == KILN_EINVAL);
    CHECK(h->fail(&ctx, "second") == KILN_EINVAL);
    CHECK(ctx.failed == 1);
    CHECK(std::string(ctx.fail_message) == "first 1");

    h->metric(&ctx, "acc", 0.5, 1);
    h->metric(&ctx, "acc", 0.75, 2); // last wins
    h->metric(&ctx, "nan", std::nan(""), 0);
    CHECK(json_real_value(json_object_get(json_object_get(ctx.metrics, "acc"), "value")) == 0.75);
    CHECK(json_integer_value(json_object_get(json_object_get(ctx.metrics, "acc"), "step")) == 2);
    CHECK(json_is_null(json_object_get(json_object_get(ctx.metrics, "nan"), "value")));

    h->progress(&ctx, 1, 10, "batch");
    h->progress(&ctx, 2, 10, "batch"); // within 100 ms: held back
    CHECK(ctx.progress_pending == 1);
    kiln_ctx_flush_progress(&ctx);
    CHECK(ctx.progress_pending == 0);

    kiln_ctx_release(&ctx);
    json_decref(params);
    json_decref(ins);
}

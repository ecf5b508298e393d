// Unit tests of `kiln wheel check` (core/cli/cmd_wheel.c, linked into this test with the
// checker): exit codes, the human summary, --json, usage errors.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" {
#include "wheel/record.h"
#include "wheel/zipwrite.h"
int cmd_wheel(int argc, char **argv);
}

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln-wheel-cli.XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// demo-1.0 with one module; `tamper` changes the module after RECORD was computed.
std::string make_wheel(const std::string &dir, const std::string &file_name, bool tamper) {
    std::string init = "x = 1\n", meta = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
                wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    std::string rec;
    for (auto f : {std::make_pair("demo/__init__.py", &init), std::make_pair("demo-1.0.dist-info/METADATA", &meta),
                   std::make_pair("demo-1.0.dist-info/WHEEL", &wheel)}) {
        char h[128];
        kiln_wheel_hash_buffer(f.second->data(), f.second->size(), h, sizeof h);
        rec += std::string(f.first) + "," + h + "," + std::to_string(f.second->size()) + "\n";
    }
    rec += "demo-1.0.dist-info/RECORD,,\n";
    if (tamper) init = "x = 2\n";
    kiln_wheel_zip_entry e[4] = {{"demo/__init__.py", init.data(), init.size(), nullptr, 0},
                                 {"demo-1.0.dist-info/METADATA", meta.data(), meta.size(), nullptr, 0},
                                 {"demo-1.0.dist-info/WHEEL", wheel.data(), wheel.size(), nullptr, 0},
                                 {"demo-1.0.dist-info/RECORD", rec.data(), rec.size(), nullptr, 0}};
    std::string path = dir + "/" + file_name;
    kiln_error err = {};
    REQUIRE(kiln_wheel_zip_write(path.c_str(), e, 4, 6, nullptr, &err) == 0);
    return path;
}

// Runs cmd_wheel with stdout captured into `out`.
int run(const std::string &dir, std::vector<std::string> args, std::string &out) {
    std::string capture = dir + "/stdout.txt";
    fflush(stdout);
    int saved = dup(1);
    int fd = open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(saved >= 0);
    REQUIRE(fd >= 0);
    dup2(fd, 1);
    close(fd);
    args.insert(args.begin(), "wheel");
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    int rc = cmd_wheel((int)args.size(), argv.data());
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    out = slurp(capture);
    return rc;
}

}  // namespace

TEST_CASE("kiln wheel check: summary and exit status", "[wheel][cli]") {
    TempDir d;
    std::string good = make_wheel(d.path, "demo-1.0-py3-none-any.whl", false);
    std::string bad = make_wheel(d.path, "bad-1.0-py3-none-any.whl", true);
    std::string out;
    CHECK(run(d.path, {"check", good}, out) == 0);
    CHECK(out.find(good + ": valid (0 warnings)") != std::string::npos);
    CHECK(out.find("demo 1.0, tags py3-none-any, 4 files, 3 RECORD hashes verified") != std::string::npos);

    CHECK(run(d.path, {"check", good, bad}, out) == 1);
    CHECK(out.find(bad + ": INVALID (") != std::string::npos);
    CHECK(out.find("error [record] hash mismatch for 'demo/__init__.py'") != std::string::npos);
    CHECK(out.find("error [metadata] the METADATA name 'demo' does not match the file name 'bad'") != std::string::npos);

    CHECK(run(d.path, {"check", d.path + "/missing.whl"}, out) == 1);
    CHECK(out.find("INVALID") != std::string::npos);
}

TEST_CASE("kiln wheel check --json prints every report", "[wheel][cli]") {
    TempDir d;
    std::string good = make_wheel(d.path, "demo-1.0-py3-none-any.whl", false);
    std::string bad = make_wheel(d.path, "demo-1.0-py2-none-any.whl", false);
    std::string out;
    CHECK(run(d.path, {"check", "--json", good, bad}, out) == 1);
    json_error_t je;
    json_t *doc = json_loads(out.c_str(), 0, &je);
    REQUIRE(doc);
    CHECK(json_is_false(json_object_get(doc, "valid")));
    json_t *wheels = json_object_get(doc, "wheels");
    REQUIRE(json_array_size(wheels) == 2);
    CHECK(std::string(json_string_value(json_object_get(json_array_get(wheels, 0), "path"))) == good);
    CHECK(json_is_true(json_object_get(json_array_get(wheels, 0), "valid")));
    CHECK(json_is_false(json_object_get(json_array_get(wheels, 1), "valid")));
    json_decref(doc);

    CHECK(run(d.path, {"check", good, "--json"}, out) == 0);
    doc = json_loads(out.c_str(), 0, &je);
    REQUIRE(doc);
    CHECK(json_is_true(json_object_get(doc, "valid")));
    json_decref(doc);
}

TEST_CASE("kiln wheel check: zip-bomb limits from the command line", "[wheel][cli]") {
    TempDir d;
    std::string good = make_wheel(d.path, "demo-1.0-py3-none-any.whl", false);
    std::string out;
    CHECK(run(d.path, {"check", "--max-entries", "3", good}, out) == 1);
    CHECK(out.find("error [bomb] the archive has 4 entries, more than the limit of 3") != std::string::npos);
    CHECK(run(d.path, {"check", "--max-entries", "4", "--max-ratio", "50", "--max-size", "100000", good}, out) == 0);
    CHECK(run(d.path, {"check", "--max-size", "10", good}, out) == 1);
    CHECK(out.find("error [bomb] the entries expand to") != std::string::npos);
}

TEST_CASE("kiln wheel: usage errors exit 2", "[wheel][cli]") {
    TempDir d;
    std::string out;
    CHECK(run(d.path, {}, out) == 2);
    CHECK(run(d.path, {"frobnicate"}, out) == 2);
    CHECK(run(d.path, {"check"}, out) == 2);
    CHECK(run(d.path, {"check", "--json"}, out) == 2);
    CHECK(run(d.path, {"check", "--bogus", "x.whl"}, out) == 2);
    CHECK(run(d.path, {"check", "--max-entries"}, out) == 2);
    CHECK(run(d.path, {"check", "--max-entries", "0", "x.whl"}, out) == 2);
    CHECK(run(d.path, {"check", "--max-entries", "-3", "x.whl"}, out) == 2);
    CHECK(run(d.path, {"check", "--max-ratio", "1", "x.whl"}, out) == 2);
    CHECK(run(d.path, {"check", "--max-size", "12k", "x.whl"}, out) == 2);
    CHECK(out.empty());
}

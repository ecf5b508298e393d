// test_registry.cpp -- the production plugin loader against the test plugins
// (tests/plugins/*.c, built into $KILN_TEST_PLUGIN_DIR): the good one loads with its ops,
// each bad one is refused with the reason a plugin author needs.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "registry.h"
}

static std::string plugin_dir() {
    const char *d = std::getenv("KILN_TEST_PLUGIN_DIR");
    REQUIRE(d != nullptr);
    return d;
}

static std::string plugin_file(const char *name) {
    return plugin_dir() + "/" + name + ".so";
}

// The reason the registry recorded for the plugin file `path` ("" when not refused).
static std::string refusal(const kiln_registry *reg, const std::string &path) {
    char *real = realpath(path.c_str(), nullptr);
    std::string want = real ? real : path;
    free(real);
    for (size_t i = 0; i < reg->nrefused; i++)
        if (want == reg->refused[i].path) return reg->refused[i].reason;
    return "";
}

static std::string refused_reason_for(const char *plugin, int expect_rc_negative = 1) {
    kiln_registry *reg = kiln_registry_new();
    kiln_error err = {};
    std::string path = plugin_file(plugin);
    int rc = kiln_registry_load_file(reg, path.c_str(), &err);
    if (expect_rc_negative) CHECK(rc < 0);
    CHECK(err.code == rc);
    CHECK(reg->nplugins == 0);
    CHECK(reg->nops == 0);
    REQUIRE(reg->nrefused == 1);
    std::string reason = reg->refused[0].reason;
    // err carries the path too, the record only the reason.
    CHECK(std::string(err.message).find(path) != std::string::npos);
    CHECK(std::string(err.message).find(reason) != std::string::npos);
    kiln_registry_free(reg);
    return reason;
}

TEST_CASE("the test plugin loads with every op, sorted and checked", "[registry]") {
    kiln_registry *reg = kiln_registry_new();
    kiln_error err = {};
    std::string path = plugin_file("kiln_test");
    REQUIRE(kiln_registry_load_file(reg, path.c_str(), &err) == 0);
    CHECK(err.code == 0);
    REQUIRE(reg->nplugins == 1);
    CHECK(reg->nrefused == 0);
    CHECK(std::string(reg->plugins[0].desc->name) == "test");
    CHECK(std::string(reg->plugins[0].desc->version) == "1.0.0");
    CHECK(reg->plugins[0].path[0] == '/');

    const char *names[] = {"test.echo",  "test.source", "test.sleep", "test.fail", "test.crash",
                           "test.noop",  "test.tensors", "test.count", "test.param", "test.nowrite",
                           "test.flaky", "test.stats",  "test.gate"};
    CHECK(reg->nops == sizeof names / sizeof names[0]);
    for (const char *n : names) {
        const kiln_op_entry *e = kiln_registry_find_op(reg, n);
        INFO(n);
        REQUIRE(e != nullptr);
        CHECK(std::string(e->def->name) == n);
        CHECK(e->plugin == &reg->plugins[0]);
        CHECK(e->schema != nullptr);
    }
    for (size_t i = 1; i < reg->nops; i++) CHECK(std::strcmp(reg->ops[i - 1].def->name, reg->ops[i].def->name) < 0);

    const kiln_op_entry *echo = kiln_registry_find_op(reg, "test.echo");
    CHECK((echo->def->flags & KILN_OP_DETERMINISTIC) != 0);
    CHECK(kiln_schema_has(echo->schema, "message"));
    CHECK((kiln_registry_find_op(reg, "test.sleep")->def->flags & KILN_OP_DETERMINISTIC) == 0);
    CHECK(kiln_schema_is_input_file(kiln_registry_find_op(reg, "test.source")->schema, "file"));

    CHECK(kiln_registry_find_op(reg, "test.nope") == nullptr);
    CHECK(kiln_registry_find_op(reg, "") == nullptr);
    CHECK(kiln_registry_find_exporter(reg, "bazel", nullptr) == nullptr);
    kiln_registry_free(reg);
}

TEST_CASE("loading the same file twice is a no-op", "[registry]") {
    kiln_registry *reg = kiln_registry_new();
    kiln_error err = {};
    std::string path = plugin_file("kiln_test");
    REQUIRE(kiln_registry_load_file(reg, path.c_str(), &err) == 0);
    std::string twice = plugin_dir() + "/./kiln_test.so";
    REQUIRE(kiln_registry_load_file(reg, twice.c_str(), &err) == 0);
    CHECK(reg->nplugins == 1);
    CHECK(reg->nrefused == 0);
    kiln_registry_free(reg);
}

TEST_CASE("bad plugins are refused with the reason", "[registry]") {
    SECTION("ABI major from the future") {
        std::string r = refused_reason_for("kiln_test_badabi");
        CHECK(r.find("ABI major 2, host has 1") != std::string::npos);
    }
    SECTION("ABI minor newer than the host's") {
        std::string r = refused_reason_for("kiln_test_newminor");
        CHECK(r.find("ABI minor " + std::to_string(KILN_PLUGIN_ABI_MINOR + 1) + " is newer") != std::string::npos);
    }
    SECTION("no descriptor symbol") {
        std::string r = refused_reason_for("kiln_test_nosym");
        CHECK(r.find("missing symbol kiln_plugin_descriptor") != std::string::npos);
    }
    SECTION("init refuses") {
        std::string r = refused_reason_for("kiln_test_initfail");
        CHECK(r.find("no frobnicator found") != std::string::npos);
    }
    SECTION("a LIST output port") {
        std::string r = refused_reason_for("kiln_test_badport");
        CHECK(r.find("op 'badport.many'") != std::string::npos);
        CHECK(r.find("output port 'outs'") != std::string::npos);
        CHECK(r.find("KILN_ONE") != std::string::npos);
    }
    SECTION("an undefined symbol: dlerror's text") {
        std::string r = refused_reason_for("kiln_test_undef");
        CHECK(r.find("undefined symbol") != std::string::npos);
        CHECK(r.find("kiln_test_symbol_nobody_defines") != std::string::npos);
    }
    SECTION("a missing file") {
        kiln_registry *reg = kiln_registry_new();
        kiln_error err = {};
        CHECK(kiln_registry_load_file(reg, "/nonexistent/kiln_nothing.so", &err) == KILN_ENOTFOUND);
        REQUIRE(reg->nrefused == 1);
        CHECK(std::string(reg->refused[0].reason).find("No such file") != std::string::npos);
        kiln_registry_free(reg);
    }
    SECTION("a file that is not a shared object") {
        char dir[] = "/tmp/kiln_test_registry_XXXXXX";
        REQUIRE(mkdtemp(dir) != nullptr);
        std::string junk = std::string(dir) + "/junk.so";
        std::ofstream(junk) << "not an ELF file\n";
        kiln_registry *reg = kiln_registry_new();
        kiln_error err = {};
        CHECK(kiln_registry_load_file(reg, junk.c_str(), &err) < 0);
        REQUIRE(reg->nrefused == 1);
        CHECK(std::string(reg->refused[0].reason).find("dlopen failed") != std::string::npos);
        kiln_registry_free(reg);
        unlink(junk.c_str());
        rmdir(dir);
    }
}

TEST_CASE("a second plugin with a loaded name is refused as a duplicate", "[registry]") {
    char dir[] = "/tmp/kiln_test_registry_XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    std::string copy = std::string(dir) + "/kiln_test_copy.so";
    {
        std::ifstream in(plugin_file("kiln_test"), std::ios::binary);
        std::ofstream out(copy, std::ios::binary);
        out << in.rdbuf();
    }
    kiln_registry *reg = kiln_registry_new();
    kiln_error err = {};
    REQUIRE(kiln_registry_load_file(reg, plugin_file("kiln_test").c_str(), &err) == 0);
    CHECK(kiln_registry_load_file(reg, copy.c_str(), &err) < 0);
    CHECK(reg->nplugins == 1);
    REQUIRE(reg->nrefused == 1);
    std::string r = reg->refused[0].reason;
    CHECK(r.find("duplicate plugin name 'test'") != std::string::npos);
    CHECK(r.find("kiln_test.so") != std::string::npos); // names where the first one came from
    // The first plugin's ops are untouched.
    CHECK(kiln_registry_find_op(reg, "test.echo") != nullptr);
    CHECK(kiln_registry_find_op(reg, "test.echo")->plugin == &reg->plugins[0]);
    kiln_registry_free(reg);
    unlink(copy.c_str());
    rmdir(dir);
}

TEST_CASE("loading a directory loads the good and records the bad", "[registry]") {
    kiln_registry *reg = kiln_registry_new();
    CHECK(kiln_registry_load_dir(reg, plugin_dir().c_str()) == 0);
    REQUIRE(reg->nplugins == 1);
    CHECK(std::string(reg->plugins[0].desc->name) == "test");
    CHECK(reg->nrefused >= 6);
    CHECK(refusal(reg, plugin_file("kiln_test_badabi")).find("ABI major") != std::string::npos);
    CHECK(refusal(reg, plugin_file("kiln_test_newminor")).find("ABI minor") != std::string::npos);
    CHECK(refusal(reg, plugin_file("kiln_test_nosym")).find("missing symbol") != std::string::npos);
    CHECK(refusal(reg, plugin_file("kiln_test_initfail")).find("no frobnicator found") != std::string::npos);
    CHECK(refusal(reg, plugin_file("kiln_test_undef")).find("undefined symbol") != std::string::npos);
    // A missing directory is not an error.
    CHECK(kiln_registry_load_dir(reg, "/nonexistent/kiln/plugins") == 0);
    kiln_registry_free(reg);
}

TEST_CASE("search dirs: KILN_PLUGIN_PATH first, then the install dir", "[registry]") {
    const char *old = std::getenv("KILN_PLUGIN_PATH");
    std::string saved = old ? old : "";
    setenv("KILN_PLUGIN_PATH", "/a/one::/b/two:", 1);
    char **dirs = kiln_registry_search_dirs();
    REQUIRE(dirs[0] != nullptr);
    CHECK(std::string(dirs[0]) == "/a/one");
    REQUIRE(dirs[1] != nullptr);
    CHECK(std::string(dirs[1]) == "/b/two");
    REQUIRE(dirs[2] != nullptr); // the install dir
    CHECK(std::string(dirs[2]).find("kiln/plugins") != std::string::npos);
    CHECK(dirs[3] == nullptr);
    for (size_t i = 0; dirs[i]; i++) free(dirs[i]);
    free(dirs);

    setenv("KILN_PLUGIN_PATH", plugin_dir().c_str(), 1);
    kiln_registry *reg = kiln_registry_new();
    CHECK(kiln_registry_load_default(reg) == 0);
    CHECK(kiln_registry_find_op(reg, "test.echo") != nullptr);
    kiln_registry_free(reg);

    if (old)
        setenv("KILN_PLUGIN_PATH", saved.c_str(), 1);
    else
        unsetenv("KILN_PLUGIN_PATH");
}

TEST_CASE("suggest: the closest op names", "[registry]") {
    kiln_registry *reg = kiln_registry_new();
    kiln_error err = {};
    REQUIRE(kiln_registry_load_file(reg, plugin_file("kiln_test").c_str(), &err) == 0);
    char buf[256];
    kiln_registry_suggest(reg, "test.ech", buf, sizeof buf);
    CHECK(std::string(buf).rfind("'test.echo'", 0) == 0);
    kiln_registry_suggest(reg, "tset.echo", buf, sizeof buf);
    CHECK(std::string(buf).find("'test.echo'") != std::string::npos);
    kiln_registry_suggest(reg, "echo", buf, sizeof buf);
    CHECK(std::string(buf).find("'test.echo'") != std::string::npos);
    kiln_registry_suggest(reg, "test.sleeep", buf, sizeof buf);
    CHECK(std::string(buf).rfind("'test.sleep'", 0) == 0);
    kiln_registry_suggest(reg, "completely.unrelated", buf, sizeof buf);
    CHECK(std::string(buf) == "");
    // A tiny buffer gets whole entries or nothing.
    char small[8];
    kiln_registry_suggest(reg, "test.ech", small, sizeof small);
    CHECK(std::string(small) == "");
    kiln_registry_free(reg);
}

TEST_CASE("the host API table fills every slot", "[registry]") {
    const kiln_host_api *h = kiln_host_api_table();
    REQUIRE(h != nullptr);
    CHECK(h->struct_size == sizeof(kiln_host_api));
    CHECK(h->abi_major == KILN_PLUGIN_ABI_MAJOR);
    CHECK(h->abi_minor == KILN_PLUGIN_ABI_MINOR);
    CHECK(KILN_HOST_HAS(h, sha256_file));
    // Every slot after the three version fields is a function pointer.
    const size_t first = offsetof(kiln_host_api, params);
    const size_t nslots = (sizeof(kiln_host_api) - first) / sizeof(void (*)(void));
    for (size_t i = 0; i < nslots; i++) {
        void (*slot)(void) = nullptr;
        std::memcpy(&slot, reinterpret_cast<const char *>(h) + first + i * sizeof slot, sizeof slot);
        INFO("slot " << i);
        CHECK(slot != nullptr);
    }
    // ctx slots are harmless without a ctx (init and exporters have none).
    CHECK(h->params(nullptr) == nullptr);
    CHECK(h->input_count(nullptr, "x") == -1);
    CHECK(h->output_path(nullptr, "x") == nullptr);
    CHECK(h->cancelled(nullptr) == 0);
    CHECK(h->threads(nullptr) == 1);
    CHECK(h->fail(nullptr, "no ctx") == KILN_EINVAL);
}

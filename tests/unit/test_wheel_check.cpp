// Unit tests of the wheel checker (plugins/wheel/check.h) and the reproducible zip writer
// (zipwrite.h): good wheels pass; each kind of bad input (not a zip, truncated, zip bombs,
// duplicate entries, RECORD mismatches, absolute and ../ paths, bad names and versions,
// tag and metadata mismatches, tampering) gives a clear error, and nothing is extracted.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zip.h>

extern "C" {
#include "wheel/check.h"
#include "wheel/elfinfo.h"
#include "wheel/record.h"
#include "wheel/zipwrite.h"
}

namespace {

struct File {
    std::string name, data;
    bool store;
};

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln-wheel-test.XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string operator/(const std::string &f) const { return path + "/" + f; }
};

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void spit(const std::string &path, const std::string &data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

std::string record_for(const std::vector<File> &files, const std::string &record_name) {
    std::string rec;
    for (const auto &f : files) {
        char h[128];
        kiln_wheel_hash_buffer(f.data.data(), f.data.size(), h, sizeof h);
        rec += f.name + "," + h + "," + std::to_string(f.data.size()) + "\n";
    }
    return rec + record_name + ",,\n";
}

std::vector<File> demo_files(const std::string &name = "demo", const std::string &version = "1.0",
                             const std::string &tag = "py3-none-any") {
    std::string di = name + "-" + version + ".dist-info/";
    return {{name + "/__init__.py", "x = 1\n", false},
            {di + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: demo\n", false},
            {di + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: " + tag + "\n", false}};
}

// Writes files (+ RECORD unless record is "-": then none; "" computes it) into dir/file_name.
std::string write_wheel(const TempDir &dir, const std::string &file_name, std::vector<File> files,
                        const std::string &record = "", const std::string &dist_info = "demo-1.0.dist-info") {
    if (record != "-") {
        std::string rn = dist_info + "/RECORD";
        files.push_back({rn, record.empty() ? record_for(files, rn) : record, false});
    }
    std::vector<kiln_wheel_zip_entry> entries;
    for (const auto &f : files) entries.push_back({f.name.c_str(), f.data.data(), f.data.size(), nullptr, f.store ? 1 : 0});
    std::string path = dir / file_name;
    kiln_error err = {};
    REQUIRE(kiln_wheel_zip_write(path.c_str(), entries.data(), entries.size(), 6, nullptr, &err) == 0);
    return path;
}

struct Report {
    json_t *r;
    explicit Report(json_t *j) : r(j) { REQUIRE(r); }
    ~Report() { json_decref(r); }
    bool valid() const { return json_is_true(json_object_get(r, "valid")); }
    std::string dump() const {
        char *s = json_dumps(r, JSON_INDENT(2) | JSON_SORT_KEYS);
        std::string out = s ? s : "";
        free(s);
        return out;
    }
    // An error (or warning) of category `check` whose message contains `text`.
    bool has(const char *list, const char *check, const std::string &text) const {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r, list), i, e) {
            if (std::string(json_string_value(json_object_get(e, "check"))) == check &&
                std::string(json_string_value(json_object_get(e, "message"))).find(text) != std::string::npos)
                return true;
        }
        return false;
    }
    bool error(const char *check, const std::string &text) const { return has("errors", check, text); }
    bool warning(const char *check, const std::string &text) const { return has("warnings", check, text); }
};

Report check(const std::string &path, const char *file_name = nullptr, const kiln_wheel_limits *lim = nullptr) {
    return Report(kiln_wheel_check(path.c_str(), file_name, lim));
}

// Replaces every occurrence of `from` by `to` (same length) in the file's bytes.
void patch_bytes(const std::string &path, const std::string &from, const std::string &to) {
    REQUIRE(from.size() == to.size());
    std::string data = slurp(path);
    size_t n = 0;
    for (size_t pos = data.find(from); pos != std::string::npos; pos = data.find(from, pos + 1), n++)
        data.replace(pos, from.size(), to);
    REQUIRE(n > 0);
    spit(path, data);
}

}  // namespace

TEST_CASE("a well-formed wheel passes and the report describes it", "[wheel][check]") {
    TempDir d;
    std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", demo_files());
    Report r = check(p);
    INFO(r.dump());
    CHECK(r.valid());
    CHECK(std::string(json_string_value(json_object_get(r.r, "file_name"))) == "demo-1.0-py3-none-any.whl");
    CHECK(std::string(json_string_value(json_object_get(r.r, "file_name_source"))) == "path");
    CHECK(std::string(json_string_value(json_object_get(r.r, "name"))) == "demo");
    CHECK(json_integer_value(json_object_get(json_object_get(r.r, "record"), "verified")) == 3);
    CHECK(json_integer_value(json_object_get(r.r, "files")) == 4);
    CHECK(json_array_size(json_object_get(r.r, "warnings")) == 0);
}

TEST_CASE("a wheel without a .whl name gets its name derived from its contents", "[wheel][check]") {
    TempDir d;
    std::string p = write_wheel(d, "blob", demo_files("demo", "1.0", "py2-none-any\nTag: py3-none-any"));
    Report r = check(p);
    INFO(r.dump());
    CHECK(r.valid());
    CHECK(std::string(json_string_value(json_object_get(r.r, "file_name"))) == "demo-1.0-py2.py3-none-any.whl");
    CHECK(std::string(json_string_value(json_object_get(r.r, "file_name_source"))) == "derived");
    Report given = check(p, "demo-1.0-py3-none-any.whl");
    CHECK_FALSE(given.valid());
    CHECK(given.error("wheel", "lists tag py2-none-any, which the file name does not have"));
}

TEST_CASE("the zip writer is reproducible: same entries, same bytes, in any time zone", "[wheel][zip]") {
    TempDir d;
    std::string a = write_wheel(d, "a.whl", demo_files());
    const char *tz = getenv("TZ");
    std::string old = tz ? tz : "";
    setenv("TZ", "Pacific/Kiritimati", 1);
    tzset();
    std::string b = write_wheel(d, "b.whl", demo_files());
    if (tz) setenv("TZ", old.c_str(), 1);
    else unsetenv("TZ");
    tzset();
    CHECK(slurp(a) == slurp(b));
    // 1980-01-01 00:00 in the DOS fields of the first local header (offsets 10..13).
    std::string bytes = slurp(a);
    REQUIRE(bytes.size() > 30);
    CHECK(bytes.substr(0, 4) == std::string("PK\x03\x04", 4));
    CHECK(bytes.substr(10, 4) == std::string("\x00\x00\x21\x00", 4));
}

TEST_CASE("not a zip, an empty file and a truncated zip are refused clearly", "[wheel][check]") {
    TempDir d;
    spit(d / "text-1.0-py3-none-any.whl", "this is not a zip archive\n");
    Report r1 = check(d / "text-1.0-py3-none-any.whl");
    CHECK_FALSE(r1.valid());
    CHECK(r1.error("zip", "not a zip archive: it starts with bytes 74 68 69 73"));

    spit(d / "empty-1.0-py3-none-any.whl", "");
    Report r2 = check(d / "empty-1.0-py3-none-any.whl");
    CHECK(r2.error("zip", "not a zip archive: the file is empty"));

    std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", demo_files());
    std::string whole = slurp(p);
    spit(p, whole.substr(0, whole.size() / 2));
    Report r3 = check(p);
    INFO(r3.dump());
    CHECK_FALSE(r3.valid());
    CHECK(r3.error("zip", "truncated or damaged zip archive"));

    Report r4 = check(d / "missing-1.0-py3-none-any.whl");
    CHECK(r4.error("file", "cannot read"));
}

TEST_CASE("zip bombs: compression ratio, total size and entry count limits", "[wheel][check]") {
    TempDir d;
    auto files = demo_files();
    files.push_back({"demo/zeros.bin", std::string(8 << 20, '\0'), false});
    std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", files);
    Report r = check(p);
    INFO(r.dump());
    CHECK_FALSE(r.valid());
    CHECK(r.error("bomb", "entry 'demo/zeros.bin' expands"));
    CHECK(json_object_get(r.r, "record") == nullptr);  // nothing was decompressed

    kiln_wheel_limits lim;
    kiln_wheel_limits_default(&lim);
    lim.max_ratio = 1e9;
    lim.max_total_size = 1 << 20;
    Report r2 = check(p, nullptr, &lim);
    CHECK(r2.error("bomb", "the entries expand to"));

    kiln_wheel_limits_default(&lim);
    lim.max_entries = 3;
    Report r3 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", demo_files()), nullptr, &lim);
    CHECK(r3.error("bomb", "the archive has 4 entries, more than the limit of 3"));
}

TEST_CASE("duplicate entries are refused", "[wheel][check]") {
    TempDir d;
    // libzip will not write two entries with one name: write demo/x.py and demo/y.py, then
    // rename y to x in the local and central headers (no RECORD, whose text would hold it).
    auto files = demo_files();
    files.push_back({"demo/x.py", "x = 1\n", false});
    files.push_back({"demo/y.py", "y = 2\n", false});
    std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", files, "-");
    patch_bytes(p, "demo/y.py", "demo/x.py");
    Report r = check(p);
    INFO(r.dump());
    CHECK_FALSE(r.valid());
    CHECK(r.error("zip", "duplicate entry 'demo/x.py'"));
}

TEST_CASE("RECORD mismatches: hash, size, unlisted and missing files, weak hashes", "[wheel][check]") {
    TempDir d;
    const std::string rn = "demo-1.0.dist-info/RECORD";
    auto files = demo_files();
    std::string good = record_for(files, rn);

    std::string bad_hash = good;
    bad_hash.replace(bad_hash.find("sha256=") + 7, 4, "AAAA");
    Report r1 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, bad_hash));
    CHECK(r1.error("record", "hash mismatch for 'demo/__init__.py'"));

    std::string bad_size = good;
    bad_size.replace(bad_size.find(",6\n"), 3, ",7\n");
    Report r2 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, bad_size));
    CHECK(r2.error("record", "RECORD says 'demo/__init__.py' is 7 bytes, the archive holds 6"));

    std::string unlisted = good.substr(good.find('\n') + 1);
    Report r3 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, unlisted));
    CHECK(r3.error("record", "'demo/__init__.py' is in the archive but not listed in RECORD"));

    Report r4 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, good + "demo/gone.py,sha256=abc,3\n"));
    CHECK(r4.error("record", "lists 'demo/gone.py', which is not in the archive"));

    std::string md5 = "demo/__init__.py,md5=abc,6\n" + good.substr(good.find('\n') + 1);
    Report r5 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, md5));
    CHECK(r5.error("record", "insecure"));

    Report r6 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, good + good.substr(0, good.find('\n') + 1)));
    CHECK(r6.error("record", "RECORD lists 'demo/__init__.py' twice"));

    Report r7 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, "-"));
    CHECK(r7.error("record", "demo-1.0.dist-info/RECORD is missing"));

    Report r8 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, "a,b\n"));
    CHECK(r8.error("record", "RECORD line 1: expected 3 fields"));
}

TEST_CASE("tampering: changed content under an unchanged RECORD, and flipped bytes", "[wheel][check]") {
    TempDir d;
    auto files = demo_files();
    std::string rec = record_for(files, "demo-1.0.dist-info/RECORD");
    files[0].data = "x = 2\n";  // same size, different content
    Report r1 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files, rec));
    CHECK_FALSE(r1.valid());
    CHECK(r1.error("record", "hash mismatch for 'demo/__init__.py'"));

    auto stored = demo_files();
    stored[0].store = true;
    stored[0].data = "print('kiln says hello')\n";
    std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", stored);
    patch_bytes(p, "hello", "HELLO");  // the CRC no longer matches
    Report r2 = check(p);
    INFO(r2.dump());
    CHECK_FALSE(r2.valid());
    CHECK(r2.error("zip", "cannot read entry demo/__init__.py"));
}

TEST_CASE("unsafe paths are refused and nothing is ever extracted", "[wheel][check]") {
    TempDir d;
    std::string marker = "kiln-wheel-escape-" + std::to_string(getpid());
    std::string abs = d / ("abs-" + marker);
    for (const std::string &bad : {std::string("../") + marker, std::string("demo/../../") + marker, abs,
                                   std::string("demo\\evil.py"), std::string("C:/evil.py"), std::string("demo//x.py"),
                                   std::string("./demo/x.py"), std::string("demo/\x01.py")}) {
        INFO(bad);
        // libzip refuses control characters in names: write a stand-in, then patch it.
        bool control = bad.find('\x01') != std::string::npos;
        auto files = demo_files();
        files.push_back({control ? std::string("demo/Q.py") : bad, "evil = True\n", false});
        std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", files);
        if (control) patch_bytes(p, "demo/Q.py", bad);
        char cwd[4096];
        REQUIRE(getcwd(cwd, sizeof cwd));
        REQUIRE(chdir(d.path.c_str()) == 0);
        Report r = check("demo-1.0-py3-none-any.whl");
        REQUIRE(chdir(cwd) == 0);
        CHECK_FALSE(r.valid());
        CHECK(r.error("path", "entry '" + bad + "' has"));
        struct stat sb;
        CHECK(stat((d / ("../" + marker)).c_str(), &sb) != 0);
        CHECK(stat(abs.c_str(), &sb) != 0);
    }
}

TEST_CASE("names and versions: file name grammar, dist-info, METADATA, WHEEL", "[wheel][check]") {
    TempDir d;
    Report r1 = check(write_wheel(d, "bad name-1.0-py3-none-any.whl", demo_files()));
    CHECK(r1.error("filename", "invalid distribution name 'bad name'"));

    Report r2 = check(write_wheel(d, "demo-1.0.x-py3-none-any.whl", demo_files()));
    CHECK(r2.error("filename", "invalid version '1.0.x'"));

    Report r3 = check(write_wheel(d, "demo-1.0-py3-none.whl", demo_files()));
    CHECK(r3.error("filename", "5 or 6 parts"));

    Report r4 = check(write_wheel(d, "other-1.0-py3-none-any.whl", demo_files()));
    CHECK(r4.error("dist-info", "the .dist-info name 'demo' does not match the file name 'other'"));
    CHECK(r4.error("metadata", "the METADATA name 'demo' does not match the file name 'other'"));

    Report r5 = check(write_wheel(d, "demo-2.0-py3-none-any.whl", demo_files()));
    CHECK(r5.error("dist-info", "version '1.0' does not match the file version '2.0'"));

    auto bad_version = demo_files("demo", "1.0");
    bad_version[1].data = "Metadata-Version: 2.1\nName: demo\nVersion: one\n";
    Report r6 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", bad_version));
    CHECK(r6.error("metadata", "Version: invalid version 'one'"));

    auto no_name = demo_files();
    no_name[1].data = "Metadata-Version: 2.1\nVersion: 1.0\n";
    Report r7 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", no_name));
    CHECK(r7.error("metadata", "has no Name (a required field)"));

    auto bad_wheel = demo_files();
    bad_wheel[2].data = "Wheel-Version: 2.0\nRoot-Is-Purelib: maybe\n";
    Report r8 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", bad_wheel));
    CHECK(r8.error("wheel", "Wheel-Version 2.0 is not supported"));
    CHECK(r8.error("wheel", "Root-Is-Purelib must be 'true' or 'false'"));
    CHECK(r8.error("wheel", "has no Tag line"));

    Report r9 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", demo_files("demo", "1.0", "py3-none-linux_x86_64")));
    CHECK(r9.error("wheel", "the file name has tag py3-none-any, which demo-1.0.dist-info/WHEEL does not list"));

    auto two = demo_files();
    two.push_back({"other-1.0.dist-info/METADATA", "Name: other\n", false});
    Report r10 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", two));
    CHECK(r10.error("dist-info", "more than one .dist-info directory"));

    std::vector<File> none = {{"demo/__init__.py", "", false}};
    Report r11 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", none, "-"));
    CHECK(r11.error("dist-info", "no {name}-{version}.dist-info directory"));

    auto data_dir = demo_files();
    data_dir.push_back({"demo-1.0.data/bin/tool", "#!/bin/sh\n", false});
    Report r12 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", data_dir));
    CHECK(r12.error("dist-info", "a .data directory only holds purelib, platlib, headers, scripts and data"));

    auto norm = demo_files("Demo.Pkg", "1.0.0");
    Report r13 = check(write_wheel(d, "demo_pkg-1.0-py3-none-any.whl", norm, "", "Demo.Pkg-1.0.0.dist-info"));
    INFO(r13.dump());
    CHECK(r13.valid());  // names compare after PEP 503 normalisation, versions after PEP 440's
}

TEST_CASE("an ELF file in a pure wheel and a non-ELF .so are reported", "[wheel][check]") {
    TempDir d;
    const char *build = getenv("KILN_BUILD_DIR");
    std::string lib = build ? std::string(build) + "/lib/libkiln.so" : "";
    struct stat sb;
    if (lib.empty() || stat(lib.c_str(), &sb) != 0) {
        WARN("KILN_BUILD_DIR/lib/libkiln.so not found; skipped");
        return;
    }
    auto files = demo_files();
    files.push_back({"demo/_lib.so", slurp(lib), false});
    Report r = check(write_wheel(d, "demo-1.0-py3-none-any.whl", files));
    INFO(r.dump());
    CHECK(r.error("policy", "tagged for any platform but contains 1 ELF file"));
    json_t *elfs = json_object_get(json_object_get(r.r, "platform"), "elf_files");
    REQUIRE(json_array_size(elfs) == 1);
    CHECK(json_array_size(json_object_get(json_array_get(elfs, 0), "needed")) > 0);

    auto plat = demo_files("demo", "1.0", "cp311-cp311-manylinux_2_17_x86_64");
    plat.push_back({"demo/_lib.so", slurp(lib), false});
    plat.push_back({"demo/_broken.so", std::string("\x7f" "ELF", 4) + "garbage", false});
    Report r2 = check(write_wheel(d, "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", plat));
    INFO(r2.dump());
    CHECK(r2.error("policy", "manylinux_2_17_x86_64: demo/_lib.so needs libjansson.so.4, which the policy does not allow"));
    CHECK(r2.error("elf", "demo/_broken.so looks like an ELF file but cannot be read"));
    CHECK(r2.warning("wheel", "Root-Is-Purelib is true but the wheel contains ELF files"));
    CHECK(std::string(json_string_value(json_object_get(json_object_get(r2.r, "platform"), "satisfied_tag"))) == "linux_x86_64");
}

TEST_CASE("names that are not UTF-8 are reported, escaped, not turned into a failure to report", "[wheel][check]") {
    TempDir d;
    auto files = demo_files();
    files.push_back({"demo/Q.py", "q = 1\n", false});
    std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", files);
    patch_bytes(p, "demo/Q.py", "demo/\xff.py");
    Report r = check(p);
    INFO(r.dump());
    CHECK_FALSE(r.valid());
    CHECK(r.error("path", "entry 'demo/\\xff.py' has a name that is not valid UTF-8"));
    // A file name given by the caller that is not UTF-8 either.
    Report r2 = check(write_wheel(d, "demo-1.0-py3-none-any.whl", demo_files()), "demo\xc3-1.0-py3-none-any.whl");
    CHECK(r2.error("filename", "demo\\xc3"));
}

// Mutation tests: hostile bytes must give a report (or a clean ELF error), never a crash or
// an out-of-bounds read -- the sanitizer build runs these too. Seeded, so failures repeat.
namespace {
struct Lcg {
    unsigned long long s;
    unsigned next() {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (unsigned)(s >> 33);
    }
};
}  // namespace

TEST_CASE("mutated wheels always give a report", "[wheel][check][mutation]") {
    TempDir d;
    auto files = demo_files();
    files.push_back({"demo/data.bin", std::string(300, 'q') + "tail", false});
    files.push_back({"demo/raw.txt", "stored entry\n", true});
    std::string p = write_wheel(d, "demo-1.0-py3-none-any.whl", files);
    const std::string good = slurp(p);
    Lcg rng{42};
    int invalid = 0;
    for (int iter = 0; iter < 1500; iter++) {
        std::string bad = good;
        if (iter % 10 == 9) {
            bad.resize(rng.next() % good.size());  // truncated anywhere
        } else {
            for (unsigned k = 0, n = 1 + rng.next() % 4; k < n; k++)
                bad[rng.next() % bad.size()] = (char)(rng.next() & 0xff);
        }
        spit(p, bad);
        json_t *r = kiln_wheel_check(p.c_str(), nullptr, nullptr);
        INFO("iteration " << iter);
        if (!r) spit(d.path + "/../kiln-wheel-mutant.whl", bad);
        REQUIRE(r);
        REQUIRE(json_is_boolean(json_object_get(r, "valid")));
        if (!json_is_true(json_object_get(r, "valid"))) invalid++;
        json_decref(r);
    }
    CHECK(invalid > 1000);  // most mutations are caught (some hit bytes nobody reads)
}

TEST_CASE("mutated and truncated ELF images fail cleanly", "[wheel][elf][mutation]") {
    const char *dir = getenv("KILN_TEST_PLUGIN_DIR");
    std::string so = dir ? std::string(dir) + "/kiln_test_nosym.so" : "";
    struct stat sb;
    if (so.empty() || stat(so.c_str(), &sb) != 0) {
        WARN("KILN_TEST_PLUGIN_DIR/kiln_test_nosym.so not found; skipped");
        return;
    }
    const std::string good = slurp(so);
    REQUIRE(kiln_elf_is_elf(good.data(), good.size()));
    {
        std::string img = good;
        kiln_elf_info info = {};
        kiln_error err = {};
        REQUIRE(kiln_elf_inspect(&img[0], img.size(), &info, &err) == 0);
        CHECK(info.machine != 0);
        kiln_elf_info_clear(&info);
    }
    Lcg rng{7};
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 3000; iter++) {
        std::string img = good;
        if (iter % 8 == 7) {
            img.resize(rng.next() % good.size());
        } else {
            // Mostly the headers and the dynamic/version sections (the first and last pages),
            // where the parser follows offsets; sometimes anywhere.
            for (unsigned k = 0, n = 1 + rng.next() % 6; k < n; k++) {
                size_t at = rng.next() % 3 ? rng.next() % 256 : rng.next() % img.size();
                if (rng.next() % 2) at = img.size() - 1 - at % img.size();
                img[at] = (char)(rng.next() & 0xff);
            }
        }
        if (img.empty()) continue;
        kiln_elf_info info = {};
        kiln_error err = {};
        int rc = kiln_elf_inspect(&img[0], img.size(), &info, &err);
        if (rc == 0) {
            ok++;
            for (size_t i = 0; i < info.nneeded; i++) REQUIRE(info.needed[i]);
            for (size_t i = 0; i < info.nreqs; i++) REQUIRE((info.reqs[i].version && info.reqs[i].library));
        } else {
            failed++;
            CHECK(rc == KILN_EFORMAT);
            CHECK(err.message[0] != '\0');
        }
        kiln_elf_info_clear(&info);
    }
    CHECK(ok + failed > 2900);
}

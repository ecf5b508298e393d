// fsutil.c (paths, atomic writes, copies, trees), plus the small helpers that sit on it:
// diag.c (error setter, diagnostics list) and home.c (state directory resolution).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "diag.h"
#include "fsutil.h"
#include "home.h"
}

namespace {
struct TmpDir {
    std::string path;
    TmpDir() {
        kiln_error err = {};
        char *p = kiln_make_temp_dir("/tmp", "kiln-test-fs-", &err);
        REQUIRE(p != nullptr);
        path = p;
        free(p);
    }
    ~TmpDir() {
        kiln_error err = {};
        kiln_remove_tree(path.c_str(), &err);
    }
    std::string operator/(const std::string &name) const { return path + "/" + name; }
};

std::string take(char *s) {
    std::string r(s);
    free(s);
    return r;
}

int count_entries(const std::string &dir) {
    DIR *d = opendir(dir.c_str());
    if (!d) return -1;
    int n = 0;
    while (struct dirent *de = readdir(d))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}
} // namespace

TEST_CASE("path_join never doubles a slash", "[fsutil]") {
    CHECK(take(kiln_path_join("a", "b")) == "a/b");
    CHECK(take(kiln_path_join("a/", "b")) == "a/b");
    CHECK(take(kiln_path_join("a/", "/b")) == "a/b");
    CHECK(take(kiln_path_join("/", "b")) == "/b");
    CHECK(take(kiln_path_join("", "b")) == "b");
}

TEST_CASE("path_absolute normalises lexically", "[fsutil]") {
    CHECK(take(kiln_path_absolute("/base/dir", "x/../y/./z")) == "/base/dir/y/z");
    CHECK(take(kiln_path_absolute("/base/dir", "/abs//p/")) == "/abs/p");
    CHECK(take(kiln_path_absolute("/base", "../../..")) == "/");
    CHECK(take(kiln_path_absolute("/base/dir", ".")) == "/base/dir");
    char *cwd = getcwd(nullptr, 0);
    CHECK(take(kiln_path_absolute(nullptr, "f.json")) == std::string(cwd) + "/f.json");
    free(cwd);
}

TEST_CASE("path_dirname", "[fsutil]") {
    CHECK(take(kiln_path_dirname("a/b")) == "a");
    CHECK(take(kiln_path_dirname("/a/b/c")) == "/a/b");
    CHECK(take(kiln_path_dirname("/a")) == "/");
    CHECK(take(kiln_path_dirname("a")) == ".");
    CHECK(take(kiln_path_dirname("a/b/")) == "a");
    CHECK(take(kiln_path_dirname("/")) == "/");
}

TEST_CASE("mkdir_p creates nested directories and tolerates existing ones", "[fsutil]") {
    TmpDir t;
    kiln_error err = {};
    std::string deep = t / "a/b/c";
    REQUIRE(kiln_mkdir_p(deep.c_str(), &err) == 0);
    CHECK(kiln_is_directory(deep.c_str()));
    CHECK(kiln_mkdir_p(deep.c_str(), &err) == 0);
    CHECK(kiln_mkdir_p((deep + "/").c_str(), &err) == 0);

    std::string file = t / "file";
    REQUIRE(kiln_write_file_atomic(file.c_str(), "x", 1, &err) == 0);
    kiln_error e2 = {};
    CHECK(kiln_mkdir_p((file + "/sub").c_str(), &e2) == KILN_EIO);
    CHECK(std::string(e2.message).find(file) != std::string::npos);
}

TEST_CASE("write_file_atomic and read_file", "[fsutil]") {
    TmpDir t;
    kiln_error err = {};
    std::string p = t / "data.bin";
    const char payload[] = "hello\0world";
    REQUIRE(kiln_write_file_atomic(p.c_str(), payload, sizeof payload, &err) == 0);
    char *data = nullptr;
    size_t len = 0;
    REQUIRE(kiln_read_file(p.c_str(), &data, &len, &err) == 0);
    CHECK(len == sizeof payload);
    CHECK(memcmp(data, payload, len) == 0);
    CHECK(data[len] == '\0');
    free(data);

    SECTION("overwrite replaces the content and leaves no temporary file") {
        REQUIRE(kiln_write_file_atomic(p.c_str(), "new", 3, &err) == 0);
        REQUIRE(kiln_read_file(p.c_str(), &data, &len, &err) == 0);
        CHECK(std::string(data, len) == "new");
        free(data);
        CHECK(count_entries(t.path) == 1);
    }
    SECTION("an empty file reads as an empty string") {
        REQUIRE(kiln_write_file_atomic(p.c_str(), "", 0, &err) == 0);
        REQUIRE(kiln_read_file(p.c_str(), &data, &len, &err) == 0);
        CHECK(len == 0);
        CHECK(data[0] == '\0');
        free(data);
    }
    SECTION("a missing file is KILN_ENOTFOUND naming the path") {
        kiln_error e2 = {};
        std::string missing = t / "missing";
        CHECK(kiln_read_file(missing.c_str(), &data, &len, &e2) == KILN_ENOTFOUND);
        CHECK(data == nullptr);
        CHECK(std::string(e2.message).find(missing) != std::string::npos);
    }
    SECTION("a directory is KILN_EIO") {
        kiln_error e2 = {};
        CHECK(kiln_read_file(t.path.c_str(), &data, &len, &e2) == KILN_EIO);
        CHECK(std::string(e2.message).find("directory") != std::string::npos);
    }
    SECTION("writing into a missing directory fails without leaving anything") {
        kiln_error e2 = {};
        std::string bad = t / "nodir/x";
        CHECK(kiln_write_file_atomic(bad.c_str(), "x", 1, &e2) == KILN_EIO);
        CHECK_FALSE(kiln_is_regular_file(bad.c_str()));
    }
}

TEST_CASE("copy_file copies bytes atomically", "[fsutil]") {
    TmpDir t;
    kiln_error err = {};
    std::string src = t / "src", dst = t / "dst";
    std::string big(2 * 1024 * 1024 + 3, 'q');
    big[12345] = 'z';
    REQUIRE(kiln_write_file_atomic(src.c_str(), big.data(), big.size(), &err) == 0);
    REQUIRE(kiln_copy_file(src.c_str(), dst.c_str(), &err) == 0);
    char *data = nullptr;
    size_t len = 0;
    REQUIRE(kiln_read_file(dst.c_str(), &data, &len, &err) == 0);
    CHECK(std::string(data, len) == big);
    free(data);
    CHECK(count_entries(t.path) == 2);
    kiln_error e2 = {};
    CHECK(kiln_copy_file((t / "nope").c_str(), dst.c_str(), &e2) == KILN_ENOTFOUND);
}

TEST_CASE("remove_tree removes nested trees, read-only files included", "[fsutil]") {
    TmpDir t;
    kiln_error err = {};
    std::string root = t / "tree";
    REQUIRE(kiln_mkdir_p((root + "/a/b").c_str(), &err) == 0);
    std::string ro = root + "/a/b/ro";
    REQUIRE(kiln_write_file_atomic(ro.c_str(), "x", 1, &err) == 0);
    REQUIRE(chmod(ro.c_str(), 0444) == 0);
    std::string outside = t / "outside";
    REQUIRE(kiln_mkdir_p(outside.c_str(), &err) == 0);
    REQUIRE(kiln_write_file_atomic((outside + "/keep").c_str(), "k", 1, &err) == 0);
    REQUIRE(symlink(outside.c_str(), (root + "/a/link").c_str()) == 0);
    REQUIRE(kiln_remove_tree(root.c_str(), &err) == 0);
    CHECK_FALSE(kiln_is_directory(root.c_str()));
    CHECK(kiln_remove_tree(root.c_str(), &err) == 0); // missing is success
    CHECK(kiln_is_regular_file((outside + "/keep").c_str())); // symlinks are not followed
}

TEST_CASE("make_temp_dir, is_regular_file, is_directory, now", "[fsutil]") {
    TmpDir t;
    kiln_error err = {};
    char *a = kiln_make_temp_dir(t.path.c_str(), "x-", &err);
    char *b = kiln_make_temp_dir(t.path.c_str(), "x-", &err);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(std::string(a) != std::string(b));
    CHECK(kiln_is_directory(a));
    CHECK_FALSE(kiln_is_regular_file(a));
    free(a);
    free(b);
    kiln_error e2 = {};
    CHECK(kiln_make_temp_dir((t / "missing").c_str(), "x-", &e2) == nullptr);
    CHECK(e2.code == KILN_EIO);
    double t0 = kiln_now();
    CHECK(t0 > 1.6e9);
    CHECK(kiln_now() >= t0);
}

TEST_CASE("kiln_error_set formats and returns the code; NULL err is allowed", "[diag]") {
    kiln_error err = {};
    CHECK(kiln_error_set(&err, KILN_EINVAL, "%s: field %s expected %d", "g.json", "lr", 3) ==
          KILN_EINVAL);
    CHECK(err.code == KILN_EINVAL);
    CHECK(std::string(err.message) == "g.json: field lr expected 3");
    CHECK(kiln_error_set(nullptr, KILN_EIO, "x") == KILN_EIO);
    std::string longmsg(5000, 'm');
    kiln_error_set(&err, KILN_EIO, "%s", longmsg.c_str());
    CHECK(strlen(err.message) == KILN_ERROR_MESSAGE_MAX - 1);
}

TEST_CASE("kiln_diags collects every message", "[diag]") {
    kiln_diags d = {};
    for (int i = 0; i < 20; i++) kiln_diags_add(&d, "error %d", i);
    REQUIRE(d.count == 20);
    CHECK(std::string(d.items[0]) == "error 0");
    CHECK(std::string(d.items[19]) == "error 19");
    kiln_diags_free(&d);
    CHECK(d.count == 0);
    CHECK(d.items == nullptr);
    kiln_diags_free(&d);
}

TEST_CASE("home resolution order", "[home]") {
    const char *saved[3];
    const char *names[3] = {"KILN_HOME", "XDG_CACHE_HOME", "HOME"};
    std::string keep[3];
    bool had[3];
    for (int i = 0; i < 3; i++) {
        saved[i] = getenv(names[i]);
        had[i] = saved[i] != nullptr;
        if (had[i]) keep[i] = saved[i];
    }
    setenv("KILN_HOME", "/k/home", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    setenv("HOME", "/h", 1);
    CHECK(take(kiln_home_resolve("/over/ride")) == "/over/ride");
    CHECK(take(kiln_home_resolve(nullptr)) == "/k/home");
    unsetenv("KILN_HOME");
    CHECK(take(kiln_home_resolve(nullptr)) == "/xdg/kiln");
    unsetenv("XDG_CACHE_HOME");
    CHECK(take(kiln_home_resolve(nullptr)) == "/h/.cache/kiln");
    char *cwd = getcwd(nullptr, 0);
    CHECK(take(kiln_home_resolve("rel")) == std::string(cwd) + "/rel");
    free(cwd);
    for (int i = 0; i < 3; i++) {
        if (had[i])
            setenv(names[i], keep[i].c_str(), 1);
        else
            unsetenv(names[i]);
    }
}

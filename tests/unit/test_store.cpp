// store.c: content-addressed puts, integrity checks (cheap and full), quarantine, listing,
// removal, and concurrent writers of the same digest.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern "C" {
#include "fsutil.h"
#include "sha256.h"
#include "store.h"
}

namespace {
struct TmpStore {
    std::string home;
    kiln_store store;
    TmpStore() {
        kiln_error err = {};
        char *p = kiln_make_temp_dir("/tmp", "kiln-test-store-", &err);
        REQUIRE(p != nullptr);
        home = p;
        free(p);
        REQUIRE(kiln_store_open(&store, home.c_str(), &err) == 0);
    }
    ~TmpStore() {
        kiln_store_close(&store);
        kiln_error err = {};
        kiln_remove_tree(home.c_str(), &err);
    }
    std::string blob(const std::string &digest) const {
        char *p = kiln_store_blob_path(&store, digest.c_str());
        std::string r(p);
        free(p);
        return r;
    }
    std::string operator/(const std::string &name) const { return home + "/" + name; }
};

std::string hex_of(const std::string &s) {
    char hex[65];
    kiln_sha256_hex(s.data(), s.size(), hex);
    return hex;
}

std::string slurp(const std::string &path) {
    kiln_error err = {};
    char *data = nullptr;
    size_t len = 0;
    REQUIRE(kiln_read_file(path.c_str(), &data, &len, &err) == 0);
    std::string r(data, len);
    free(data);
    return r;
}

void spit(const std::string &path, const std::string &bytes) {
    kiln_error err = {};
    REQUIRE(kiln_write_file_atomic(path.c_str(), bytes.data(), bytes.size(), &err) == 0);
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

// Overwrites the blob's bytes in place (same size, same inode) and puts its mtime back, as a
// careless tool or a bit flip on disk would leave it. Only ctime betrays the change.
void tamper_in_place(const std::string &blob, const std::string &bytes) {
    struct stat st;
    REQUIRE(stat(blob.c_str(), &st) == 0);
    REQUIRE(chmod(blob.c_str(), 0644) == 0);
    int fd = open(blob.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, bytes.data(), bytes.size(), 0) == (ssize_t)bytes.size());
    REQUIRE(chmod(blob.c_str(), st.st_mode & 07777) == 0);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    REQUIRE(futimens(fd, times) == 0);
    close(fd);
    struct stat after;
    REQUIRE(stat(blob.c_str(), &after) == 0);
    REQUIRE(after.st_mtim.tv_sec == st.st_mtim.tv_sec);
    REQUIRE(after.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
    REQUIRE(after.st_size == st.st_size);
    REQUIRE(after.st_ino == st.st_ino);
}

long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }
} // namespace

TEST_CASE("open creates the layout", "[store]") {
    TmpStore s;
    CHECK(kiln_is_directory(s.store.cas_dir));
    CHECK(kiln_is_directory(s.store.ac_dir));
    CHECK(kiln_is_directory(s.store.tmp_dir));
    CHECK(kiln_is_directory((s / "quarantine").c_str()));
    CHECK(std::string(s.store.cas_dir) == s / "cas");
}

TEST_CASE("put_bytes stores once under the sha256, read-only, with a stat record", "[store]") {
    TmpStore s;
    kiln_error err = {};
    std::string content = "hello artifact";
    char digest[65];
    REQUIRE(kiln_store_put_bytes(&s.store, content.data(), content.size(), digest, &err) == 0);
    CHECK(std::string(digest) == hex_of(content));
    std::string blob = s.blob(digest);
    CHECK(blob == s.home + "/cas/" + std::string(digest, 2) + "/" + digest);
    CHECK(slurp(blob) == content);
    struct stat st;
    REQUIRE(stat(blob.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0444);

    // The .meta record: "size mtime_ns ctime_ns ino".
    long long size, mt, ct;
    unsigned long long ino;
    std::string meta = slurp(blob + ".meta");
    REQUIRE(sscanf(meta.c_str(), "%lld %lld %lld %llu", &size, &mt, &ct, &ino) == 4);
    CHECK(size == (long long)content.size());
    CHECK(mt == ns(st.st_mtim));
    CHECK(ct == ns(st.st_ctim));
    CHECK(ino == (unsigned long long)st.st_ino);
    CHECK(meta.back() == '\n');

    CHECK(kiln_store_check(&s.store, digest, 0, &err) == 0);
    CHECK(kiln_store_check(&s.store, digest, 1, &err) == 0);

    SECTION("a second put is idempotent and keeps the existing blob") {
        char again[65];
        REQUIRE(kiln_store_put_bytes(&s.store, content.data(), content.size(), again, &err) == 0);
        CHECK(std::string(again) == digest);
        struct stat st2;
        REQUIRE(stat(blob.c_str(), &st2) == 0);
        CHECK(st2.st_ino == st.st_ino);
        CHECK(count_entries(s.store.tmp_dir) == 0);
    }
    SECTION("empty content is a valid artifact") {
        char d2[65];
        REQUIRE(kiln_store_put_bytes(&s.store, "", 0, d2, &err) == 0);
        CHECK(std::string(d2) == hex_of(""));
        CHECK(kiln_store_check(&s.store, d2, 1, &err) == 0);
    }
}

TEST_CASE("put_file copies (hashing in one pass) or moves", "[store]") {
    TmpStore s;
    kiln_error err = {};
    std::string big(3 * 1024 * 1024 + 11, '\0');
    for (size_t i = 0; i < big.size(); i++) big[i] = (char)(i * 7 + (i >> 11));
    std::string src = s / "src.bin";
    spit(src, big);

    char digest[65];
    int64_t size = -1;
    REQUIRE(kiln_store_put_file(&s.store, src.c_str(), 0, digest, &size, &err) == 0);
    CHECK(std::string(digest) == hex_of(big));
    CHECK(size == (int64_t)big.size());
    CHECK(kiln_is_regular_file(src.c_str())); // copy keeps the source
    CHECK(slurp(s.blob(digest)) == big);
    CHECK(count_entries(s.store.tmp_dir) == 0);

    SECTION("move of new content renames the file into the store") {
        std::string other = s / "other.bin";
        spit(other, "moved content");
        struct stat before;
        REQUIRE(stat(other.c_str(), &before) == 0);
        char d2[65];
        REQUIRE(kiln_store_put_file(&s.store, other.c_str(), 1, d2, nullptr, &err) == 0);
        CHECK(std::string(d2) == hex_of("moved content"));
        CHECK_FALSE(kiln_is_regular_file(other.c_str()));
        struct stat after;
        REQUIRE(stat(s.blob(d2).c_str(), &after) == 0);
        CHECK(after.st_ino == before.st_ino);
        CHECK((after.st_mode & 0777) == 0444);
        CHECK(kiln_store_check(&s.store, d2, 0, &err) == 0);
    }
    SECTION("move of content already stored drops the source") {
        char d2[65];
        int64_t sz2 = 0;
        REQUIRE(kiln_store_put_file(&s.store, src.c_str(), 1, d2, &sz2, &err) == 0);
        CHECK(std::string(d2) == digest);
        CHECK(sz2 == (int64_t)big.size());
        CHECK_FALSE(kiln_is_regular_file(src.c_str()));
    }
    SECTION("a symlink is copied, never moved") {
        std::string link = s / "link";
        REQUIRE(symlink(src.c_str(), link.c_str()) == 0);
        char d2[65];
        std::string fresh = s / "fresh.bin";
        spit(fresh, "via link");
        unlink(link.c_str());
        REQUIRE(symlink(fresh.c_str(), link.c_str()) == 0);
        REQUIRE(kiln_store_put_file(&s.store, link.c_str(), 1, d2, nullptr, &err) == 0);
        struct stat st;
        REQUIRE(lstat(s.blob(d2).c_str(), &st) == 0);
        CHECK(S_ISREG(st.st_mode));
        CHECK(kiln_is_regular_file(fresh.c_str()));
    }
    SECTION("a missing source is KILN_ENOTFOUND naming it") {
        kiln_error e2 = {};
        std::string missing = s / "missing";
        CHECK(kiln_store_put_file(&s.store, missing.c_str(), 0, digest, nullptr, &e2) ==
              KILN_ENOTFOUND);
        CHECK(std::string(e2.message).find(missing) != std::string::npos);
        CHECK(kiln_store_put_file(&s.store, missing.c_str(), 1, digest, nullptr, &e2) ==
              KILN_ENOTFOUND);
    }
}

TEST_CASE("check: missing and malformed digests", "[store]") {
    TmpStore s;
    kiln_error err = {};
    std::string absent = hex_of("never stored");
    CHECK(kiln_store_check(&s.store, absent.c_str(), 0, &err) == KILN_ENOTFOUND);
    CHECK(std::string(err.message).find(absent) != std::string::npos);
    CHECK(kiln_store_check(&s.store, "xyz", 0, &err) == KILN_EINVAL);
    CHECK(kiln_store_check(&s.store, "../../etc/passwd", 0, &err) == KILN_EINVAL);
}

TEST_CASE("a tampered blob is detected by the cheap check and quarantined", "[store]") {
    TmpStore s;
    kiln_error err = {};
    std::string content = "the real bytes of a model";
    char digest[65];
    REQUIRE(kiln_store_put_bytes(&s.store, content.data(), content.size(), digest, &err) == 0);
    std::string blob = s.blob(digest);

    tamper_in_place(blob, "THE real bytes of a model");
    kiln_error e2 = {};
    CHECK(kiln_store_check(&s.store, digest, 0, &e2) == KILN_EFORMAT);
    INFO(e2.message);
    CHECK(std::string(e2.message).find(digest) != std::string::npos);
    CHECK(std::string(e2.message).find("quarantine") != std::string::npos);
    CHECK_FALSE(kiln_is_regular_file(blob.c_str()));
    CHECK_FALSE(kiln_is_regular_file((blob + ".meta").c_str()));
    CHECK(count_entries(s / "quarantine") == 1);
    CHECK(kiln_store_check(&s.store, digest, 0, &e2) == KILN_ENOTFOUND);

    // Putting the content again heals the store.
    char again[65];
    REQUIRE(kiln_store_put_bytes(&s.store, content.data(), content.size(), again, &err) == 0);
    CHECK(kiln_store_check(&s.store, digest, 1, &err) == 0);
}

TEST_CASE("a changed size or a replaced file is detected", "[store]") {
    TmpStore s;
    kiln_error err = {};
    char digest[65];
    REQUIRE(kiln_store_put_bytes(&s.store, "abc", 3, digest, &err) == 0);
    std::string blob = s.blob(digest);
    REQUIRE(unlink(blob.c_str()) == 0);
    spit(blob, "abcd");
    CHECK(kiln_store_check(&s.store, digest, 0, &err) == KILN_EFORMAT);
}

TEST_CASE("the cheap path trusts a matching stat record and does not re-hash", "[store]") {
    TmpStore s;
    kiln_error err = {};
    std::string content = "0123456789";
    char digest[65];
    REQUIRE(kiln_store_put_bytes(&s.store, content.data(), content.size(), digest, &err) == 0);
    std::string blob = s.blob(digest);
    usleep(30 * 1000);
    tamper_in_place(blob, "9876543210");
    // Forge a record that matches the tampered blob's stat, written after the change (so it
    // is not "racily clean"): the cheap check must believe it without reading the content.
    usleep(30 * 1000);
    struct stat st;
    REQUIRE(stat(blob.c_str(), &st) == 0);
    char line[128];
    snprintf(line, sizeof line, "%lld %lld %lld %llu\n", (long long)st.st_size, ns(st.st_mtim),
             ns(st.st_ctim), (unsigned long long)st.st_ino);
    spit(blob + ".meta", line);
    CHECK(kiln_store_check(&s.store, digest, 0, &err) == 0);
    // A forced re-hash (`kiln cache verify`) finds it.
    kiln_error e2 = {};
    CHECK(kiln_store_check(&s.store, digest, 1, &e2) == KILN_EFORMAT);
    CHECK_FALSE(kiln_is_regular_file(blob.c_str()));
}

TEST_CASE("a missing or stale record is rebuilt by a re-hash", "[store]") {
    TmpStore s;
    kiln_error err = {};
    char digest[65];
    REQUIRE(kiln_store_put_bytes(&s.store, "meta me", 7, digest, &err) == 0);
    std::string blob = s.blob(digest);
    REQUIRE(unlink((blob + ".meta").c_str()) == 0);
    CHECK(kiln_store_check(&s.store, digest, 0, &err) == 0);
    CHECK(kiln_is_regular_file((blob + ".meta").c_str()));
    spit(blob + ".meta", "garbage\n");
    CHECK(kiln_store_check(&s.store, digest, 0, &err) == 0);
    long long a, b, c;
    unsigned long long d;
    CHECK(sscanf(slurp(blob + ".meta").c_str(), "%lld %lld %lld %llu", &a, &b, &c, &d) == 4);
}

namespace {
struct Listing {
    std::vector<std::string> digests;
    std::vector<int64_t> sizes;
    int stop_after = -1;
};
int collect(const char *digest, int64_t size, void *user) {
    Listing *l = static_cast<Listing *>(user);
    l->digests.push_back(digest);
    l->sizes.push_back(size);
    if (l->stop_after >= 0 && (int)l->digests.size() == l->stop_after) return 7;
    return 0;
}
} // namespace

TEST_CASE("foreach lists every blob in digest order; remove deletes", "[store]") {
    TmpStore s;
    kiln_error err = {};
    std::vector<std::string> expect;
    for (int i = 0; i < 12; i++) {
        std::string c(i + 1, (char)('a' + i));
        char d[65];
        REQUIRE(kiln_store_put_bytes(&s.store, c.data(), c.size(), d, &err) == 0);
        expect.push_back(d);
    }
    std::sort(expect.begin(), expect.end());
    Listing l;
    REQUIRE(kiln_store_foreach(&s.store, collect, &l) == 0);
    CHECK(l.digests == expect);
    for (size_t i = 0; i < l.digests.size(); i++)
        CHECK(l.sizes[i] == (int64_t)slurp(s.blob(l.digests[i])).size());

    Listing partial;
    partial.stop_after = 3;
    CHECK(kiln_store_foreach(&s.store, collect, &partial) == 7);
    CHECK(partial.digests.size() == 3);

    REQUIRE(kiln_store_remove(&s.store, expect[0].c_str(), &err) == 0);
    CHECK_FALSE(kiln_is_regular_file(s.blob(expect[0]).c_str()));
    CHECK_FALSE(kiln_is_regular_file((s.blob(expect[0]) + ".meta").c_str()));
    CHECK(kiln_store_check(&s.store, expect[0].c_str(), 0, &err) == KILN_ENOTFOUND);
    CHECK(kiln_store_remove(&s.store, expect[0].c_str(), &err) == 0);
    CHECK(kiln_store_remove(&s.store, "bad", &err) == KILN_EINVAL);
    Listing after;
    REQUIRE(kiln_store_foreach(&s.store, collect, &after) == 0);
    CHECK(after.digests.size() == 11);
}

TEST_CASE("several processes putting the same digest at once", "[store]") {
    TmpStore s;
    std::string content(256 * 1024, 'k');
    for (size_t i = 0; i < content.size(); i += 97) content[i] = (char)i;
    std::string src = s / "shared-src";
    spit(src, content);
    const int nproc = 6;
    std::vector<pid_t> kids;
    for (int p = 0; p < nproc; p++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int bad = 0;
            for (int i = 0; i < 15; i++) {
                kiln_error err = {};
                char d[65];
                if ((p + i) % 3 == 0) {
                    if (kiln_store_put_bytes(&s.store, content.data(), content.size(), d, &err))
                        bad = 1;
                } else if ((p + i) % 3 == 1) {
                    if (kiln_store_put_file(&s.store, src.c_str(), 0, d, nullptr, &err)) bad = 1;
                } else {
                    // move: each child moves its own private copy in.
                    std::string mine = s.home + "/mine-" + std::to_string(p) + "-" +
                                       std::to_string(i);
                    if (kiln_copy_file(src.c_str(), mine.c_str(), &err) ||
                        kiln_store_put_file(&s.store, mine.c_str(), 1, d, nullptr, &err))
                        bad = 1;
                }
                if (!bad && kiln_store_check(&s.store, d, 0, &err) != 0) bad = 1;
                if (bad) {
                    fprintf(stderr, "child %d: %s\n", p, err.message);
                    break;
                }
            }
            _exit(bad);
        }
        kids.push_back(pid);
    }
    for (pid_t pid : kids) {
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    kiln_error err = {};
    std::string digest = hex_of(content);
    CHECK(kiln_store_check(&s.store, digest.c_str(), 1, &err) == 0);
    CHECK(count_entries(s.store.tmp_dir) == 0);
    CHECK(count_entries(s / "quarantine") == 0);
    // Only the blob and its record in the fan-out directory: no stray temporary files.
    CHECK(count_entries(s.home + "/cas/" + digest.substr(0, 2)) == 2);
}

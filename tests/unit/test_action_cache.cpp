// action_cache.c: records by action key; a hit is valid only while every blob it names is
// intact.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

extern "C" {
#include "action_cache.h"
#include "fsutil.h"
#include "jsonio.h"
#include "sha256.h"
#include "store.h"
}

namespace {
struct TmpStore {
    std::string home;
    kiln_store store;
    TmpStore() {
        kiln_error err = {};
        char *p = kiln_make_temp_dir("/tmp", "kiln-test-ac-", &err);
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
    std::string put(const std::string &content) {
        kiln_error err = {};
        char d[65];
        REQUIRE(kiln_store_put_bytes(&store, content.data(), content.size(), d, &err) == 0);
        return d;
    }
};

std::string key_of(const std::string &s) {
    char hex[65];
    kiln_sha256_hex(s.data(), s.size(), hex);
    return hex;
}

json_t *make_record(const std::string &key, const std::string &model, const std::string &log) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:i, s:s, s:s}}, s:s, "
                     "s:{s:{s:f, s:i}}, s:f, s:f}",
                     "key", key.c_str(), "node", "train[lr=0.05]", "op", "cpu.train", "plugin",
                     "cpu", "plugin_version", "1.0.0", "outputs", "model", "digest",
                     model.c_str(), "size", 11, "file_name", "model.safetensors", "type",
                     "model", "log", log.c_str(), "metrics", "val_accuracy", "value", 0.91,
                     "step", 9, "duration_s", 12.5, "created", 1763900000.25);
}

void overwrite_blob(const std::string &path, const std::string &bytes) {
    REQUIRE(chmod(path.c_str(), 0644) == 0);
    FILE *f = fopen(path.c_str(), "r+");
    REQUIRE(f != nullptr);
    REQUIRE(fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    fclose(f);
}
} // namespace

TEST_CASE("put then get returns the record; absent keys are a quiet miss", "[ac]") {
    TmpStore s;
    kiln_error err = {};
    std::string key = key_of("action 1");
    std::string model = s.put("model bytes"), log = s.put("log text");
    json_t *rec = make_record(key, model, log);
    REQUIRE(kiln_ac_put(&s.store, key.c_str(), rec, &err) == 0);
    CHECK(kiln_is_regular_file((s.home + "/ac/" + key.substr(0, 2) + "/" + key + ".json").c_str()));

    json_t *got = kiln_ac_get(&s.store, key.c_str(), &err);
    REQUIRE(got != nullptr);
    CHECK(json_equal(got, rec));
    json_decref(got);

    got = kiln_ac_get_valid(&s.store, key.c_str(), &err);
    REQUIRE(got != nullptr);
    CHECK(json_equal(got, rec));
    json_decref(got);

    kiln_error e2 = {};
    std::string other = key_of("action 2");
    CHECK(kiln_ac_get(&s.store, other.c_str(), &e2) == nullptr);
    CHECK(e2.code == 0);
    CHECK(kiln_ac_get_valid(&s.store, other.c_str(), &e2) == nullptr);
    CHECK(e2.code == 0);

    // Replacing a record.
    json_object_set_new(rec, "duration_s", json_real(1.0));
    REQUIRE(kiln_ac_put(&s.store, key.c_str(), rec, &err) == 0);
    got = kiln_ac_get(&s.store, key.c_str(), &err);
    REQUIRE(got != nullptr);
    CHECK(json_real_value(json_object_get(got, "duration_s")) == 1.0);
    json_decref(got);

    REQUIRE(kiln_ac_remove(&s.store, key.c_str(), &err) == 0);
    CHECK(kiln_ac_get(&s.store, key.c_str(), &err) == nullptr);
    CHECK(kiln_ac_remove(&s.store, key.c_str(), &err) == 0);
    json_decref(rec);
}

TEST_CASE("bad keys and bad records", "[ac]") {
    TmpStore s;
    kiln_error err = {};
    json_t *obj = json_object();
    CHECK(kiln_ac_put(&s.store, "not-a-key", obj, &err) == KILN_EINVAL);
    kiln_error e2 = {};
    CHECK(kiln_ac_get(&s.store, "../x", &e2) == nullptr);
    CHECK(e2.code == KILN_EINVAL);
    json_t *arr = json_array();
    std::string key = key_of("k");
    CHECK(kiln_ac_put(&s.store, key.c_str(), arr, &err) == KILN_EINVAL);
    json_decref(arr);
    json_decref(obj);

    // An unreadable record is a miss reported through err.
    std::string dir = s.home + "/ac/" + key.substr(0, 2);
    REQUIRE(kiln_mkdir_p(dir.c_str(), &err) == 0);
    std::string path = dir + "/" + key + ".json";
    REQUIRE(kiln_write_file_atomic(path.c_str(), "{\"key\": ", 8, &err) == 0);
    kiln_error e3 = {};
    CHECK(kiln_ac_get(&s.store, key.c_str(), &e3) == nullptr);
    CHECK(e3.code == KILN_EFORMAT);
    CHECK(std::string(e3.message).find(path) != std::string::npos);

    // A record filed under the wrong key is not served.
    json_t *wrong = json_pack("{s:s, s:{}}", "key", key_of("other").c_str(), "outputs");
    REQUIRE(kiln_json_write(path.c_str(), wrong, &err) == 0);
    kiln_error e4 = {};
    CHECK(kiln_ac_get(&s.store, key.c_str(), &e4) == nullptr);
    CHECK(e4.code == KILN_EFORMAT);
    json_decref(wrong);
}

TEST_CASE("get_valid misses, and deletes the record, when a blob is not intact", "[ac]") {
    TmpStore s;
    kiln_error err = {};
    std::string key = key_of("action");
    std::string model = s.put("model bytes"), log = s.put("log text");
    json_t *rec = make_record(key, model, log);
    REQUIRE(kiln_ac_put(&s.store, key.c_str(), rec, &err) == 0);

    SECTION("corrupt output blob") {
        overwrite_blob(s.blob(model), "MODEL");
        kiln_error e2 = {};
        CHECK(kiln_ac_get_valid(&s.store, key.c_str(), &e2) == nullptr);
        CHECK(e2.code == KILN_EFORMAT);
        CHECK(std::string(e2.message).find("model") != std::string::npos);
        // The corrupt blob went to quarantine.
        CHECK_FALSE(kiln_is_regular_file(s.blob(model).c_str()));
    }
    SECTION("missing output blob") {
        REQUIRE(kiln_store_remove(&s.store, model.c_str(), &err) == 0);
        kiln_error e2 = {};
        CHECK(kiln_ac_get_valid(&s.store, key.c_str(), &e2) == nullptr);
        CHECK(e2.code == KILN_ENOTFOUND);
    }
    SECTION("missing log blob: still a hit (a log is never served as a result)") {
        REQUIRE(kiln_store_remove(&s.store, log.c_str(), &err) == 0);
        kiln_error e2 = {};
        json_t *hit = kiln_ac_get_valid(&s.store, key.c_str(), &e2);
        CHECK(hit != nullptr);
        json_decref(hit);
        REQUIRE(kiln_ac_remove(&s.store, key.c_str(), &err) == 0);
    }
    SECTION("malformed output digest") {
        json_object_set_new(json_object_get(json_object_get(rec, "outputs"), "model"), "digest",
                            json_string("abc"));
        REQUIRE(kiln_ac_put(&s.store, key.c_str(), rec, &err) == 0);
        kiln_error e2 = {};
        CHECK(kiln_ac_get_valid(&s.store, key.c_str(), &e2) == nullptr);
        CHECK(e2.code == KILN_EFORMAT);
    }
    // Every miss above deleted the record.
    kiln_error e3 = {};
    CHECK(kiln_ac_get(&s.store, key.c_str(), &e3) == nullptr);
    CHECK(e3.code == 0);
    json_decref(rec);
}

TEST_CASE("a record without a log is valid when its outputs are", "[ac]") {
    TmpStore s;
    kiln_error err = {};
    std::string key = key_of("nolog");
    std::string model = s.put("m");
    json_t *rec = json_pack("{s:s, s:{s:{s:s}}}", "key", key.c_str(), "outputs", "model",
                            "digest", model.c_str());
    REQUIRE(kiln_ac_put(&s.store, key.c_str(), rec, &err) == 0);
    json_t *got = kiln_ac_get_valid(&s.store, key.c_str(), &err);
    CHECK(got != nullptr);
    json_decref(got);
    json_decref(rec);
}

namespace {
int collect_keys(const char *key, const json_t *record, void *user) {
    auto *v = static_cast<std::vector<std::string> *>(user);
    CHECK(std::string(json_string_value(json_object_get(record, "key"))) == key);
    v->push_back(key);
    return v->size() == 100 ? 5 : 0;
}
} // namespace

TEST_CASE("foreach visits records in key order", "[ac]") {
    TmpStore s;
    kiln_error err = {};
    std::string model = s.put("m"), log = s.put("l");
    std::vector<std::string> keys;
    for (int i = 0; i < 20; i++) {
        std::string key = key_of("action " + std::to_string(i));
        keys.push_back(key);
        json_t *rec = make_record(key, model, log);
        REQUIRE(kiln_ac_put(&s.store, key.c_str(), rec, &err) == 0);
        json_decref(rec);
    }
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> seen;
    REQUIRE(kiln_ac_foreach(&s.store, collect_keys, &seen) == 0);
    CHECK(seen == keys);
}

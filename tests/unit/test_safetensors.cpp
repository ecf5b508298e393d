// safetensors.c: writer/reader round trips, deterministic bytes, strict header validation.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "fsutil.h"
#include "safetensors.h"
}

namespace {
struct TmpDir {
    std::string path;
    TmpDir() {
        kiln_error err = {};
        char *p = kiln_make_temp_dir("/tmp", "kiln-test-st-", &err);
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

// A file with `header` as its JSON header (unpadded), declared length `declared` (default:
// the real length) and `data_len` bytes of data.
std::string raw_file(const std::string &header, size_t data_len, int64_t declared = -1) {
    uint64_t n = declared >= 0 ? (uint64_t)declared : header.size();
    std::string out(8, '\0');
    for (int i = 0; i < 8; i++) out[i] = (char)((n >> (8 * i)) & 0xff);
    out += header;
    out += std::string(data_len, '\x01');
    return out;
}

struct Src {
    const char *name;
    kiln_dtype dtype;
    std::vector<int64_t> shape;
    std::vector<unsigned char> bytes;
};

std::vector<Src> sample_tensors() {
    std::vector<Src> v;
    auto fill = [](size_t n, unsigned seed) {
        std::vector<unsigned char> b(n);
        for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(i * 37 + seed);
        return b;
    };
    v.push_back({"weight", KILN_DTYPE_F32, {2, 3}, fill(24, 1)});
    v.push_back({"bias", KILN_DTYPE_F64, {3}, fill(24, 2)});
    v.push_back({"scalar", KILN_DTYPE_I64, {}, fill(8, 3)});           // 0-d
    v.push_back({"empty", KILN_DTYPE_U8, {0, 4}, {}});                 // no elements
    v.push_back({"mask", KILN_DTYPE_BOOL, {5}, fill(5, 4)});
    v.push_back({"half", KILN_DTYPE_F16, {2}, fill(4, 5)});
    v.push_back({"brain", KILN_DTYPE_BF16, {1, 1, 2}, fill(4, 6)});
    v.push_back({"small", KILN_DTYPE_I8, {3}, fill(3, 7)});
    v.push_back({"idx", KILN_DTYPE_I32, {2, 2}, fill(16, 8)});
    v.push_back({"0.layer.weight", KILN_DTYPE_F32, {1, 1, 1, 1, 1, 1, 1, 2}, fill(8, 9)});
    return v;
}

void write_sample(const std::string &path, const std::vector<Src> &src, bool reverse,
                  int borrow) {
    kiln_error err = {};
    kiln_tensors_writer *w = kiln_tensors_writer_new();
    REQUIRE(w != nullptr);
    for (size_t k = 0; k < src.size(); k++) {
        const Src &s = src[reverse ? src.size() - 1 - k : k];
        REQUIRE(kiln_tensors_writer_add(w, s.name, s.dtype, (int)s.shape.size(), s.shape.data(),
                                        s.bytes.empty() ? nullptr : s.bytes.data(), borrow,
                                        &err) == 0);
    }
    if (reverse) {
        REQUIRE(kiln_tensors_writer_set_meta(w, "format", "pt") == 0);
        REQUIRE(kiln_tensors_writer_set_meta(w, "arch", "{\"layers\":[1,2]}") == 0);
    } else {
        REQUIRE(kiln_tensors_writer_set_meta(w, "arch", "{\"layers\":[1,2]}") == 0);
        REQUIRE(kiln_tensors_writer_set_meta(w, "format", "pt") == 0);
    }
    REQUIRE(kiln_tensors_writer_finish(w, path.c_str(), &err) == 0);
    kiln_tensors_writer_free(w);
}

// Opens `path` expecting failure; returns the message after checking the code and that it
// names the file.
std::string open_fails(const std::string &path) {
    kiln_error err = {};
    kiln_tensors *t = kiln_tensors_open(path.c_str(), &err);
    CHECK(t == nullptr);
    kiln_tensors_close(t);
    CHECK(err.code == KILN_EFORMAT);
    INFO(err.message);
    CHECK(std::string(err.message).find(path) != std::string::npos);
    return err.message;
}

bool contains(const std::string &s, const std::string &what) {
    return s.find(what) != std::string::npos;
}
} // namespace

TEST_CASE("dtype names", "[safetensors]") {
    CHECK(std::string(kiln_dtype_name(KILN_DTYPE_BF16)) == "BF16");
    CHECK(kiln_dtype_parse("I64") == KILN_DTYPE_I64);
    CHECK(kiln_dtype_parse("f32") == 0);
    CHECK(kiln_dtype_parse("F8_E4M3") == 0);
    CHECK(kiln_dtype_name((kiln_dtype)99) == nullptr);
}

TEST_CASE("round trip of several dtypes and shapes with metadata", "[safetensors]") {
    TmpDir t;
    auto src = sample_tensors();
    std::string p = t / "model.safetensors";
    write_sample(p, src, false, 0);

    kiln_error err = {};
    kiln_tensors *r = kiln_tensors_open(p.c_str(), &err);
    INFO(err.message);
    REQUIRE(r != nullptr);
    REQUIRE(kiln_tensors_count(r) == (int)src.size());
    for (const Src &s : src) {
        kiln_tensor tt;
        INFO(s.name);
        REQUIRE(kiln_tensors_get(r, s.name, &tt) == 0);
        CHECK(std::string(tt.name) == s.name);
        CHECK(tt.dtype == s.dtype);
        REQUIRE(tt.ndim == (int)s.shape.size());
        for (int d = 0; d < tt.ndim; d++) CHECK(tt.shape[d] == s.shape[d]);
        REQUIRE(tt.nbytes == s.bytes.size());
        if (tt.nbytes) CHECK(memcmp(tt.data, s.bytes.data(), tt.nbytes) == 0);
    }
    // Header order is name order (the writer sorts).
    std::string prev;
    for (int i = 0; i < kiln_tensors_count(r); i++) {
        kiln_tensor tt;
        REQUIRE(kiln_tensors_at(r, i, &tt) == 0);
        CHECK(prev < std::string(tt.name));
        prev = tt.name;
    }
    kiln_tensor tt;
    CHECK(kiln_tensors_at(r, -1, &tt) == KILN_ENOTFOUND);
    CHECK(kiln_tensors_at(r, (int)src.size(), &tt) == KILN_ENOTFOUND);
    CHECK(kiln_tensors_get(r, "nope", &tt) == KILN_ENOTFOUND);

    const json_t *meta = kiln_tensors_metadata(r);
    REQUIRE(json_is_object(meta));
    CHECK(json_object_size(meta) == 2);
    CHECK(std::string(json_string_value(json_object_get(meta, "format"))) == "pt");
    CHECK(std::string(json_string_value(json_object_get(meta, "arch"))) == "{\"layers\":[1,2]}");
    kiln_tensors_close(r);
}

TEST_CASE("layout: u64 header length, space padding to 8, sorted header keys", "[safetensors]") {
    TmpDir t;
    std::string p = t / "x.safetensors";
    auto src = sample_tensors();
    write_sample(p, src, false, 0);
    std::string bytes = slurp(p);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (unsigned char)bytes[i];
    CHECK(n % 8 == 0);
    std::string header = bytes.substr(8, n);
    CHECK(header[0] == '{');
    size_t end = header.find_last_not_of(' ');
    CHECK(header[end] == '}');
    CHECK(n - (end + 1) < 8);
    size_t total = 0;
    for (auto &s : src) total += s.bytes.size();
    CHECK(bytes.size() == 8 + n + total);
    // Sorted keys: __metadata__ sorts before "0.layer.weight"? ('_' is 0x5f, '0' is 0x30.)
    CHECK(header.find("\"0.layer.weight\"") < header.find("\"__metadata__\""));
    CHECK(header.find("\"__metadata__\"") < header.find("\"bias\""));
    CHECK(header.find("\"bias\"") < header.find("\"weight\""));
    // Larger elements first (the reference writer's order): every tensor is aligned.
    kiln_error err = {};
    kiln_tensors *r = kiln_tensors_open(p.c_str(), &err);
    REQUIRE(r != nullptr);
    for (int i = 0; i < kiln_tensors_count(r); i++) {
        kiln_tensor tt;
        REQUIRE(kiln_tensors_at(r, i, &tt) == 0);
        size_t esize = kiln_dtype_size(tt.dtype);
        if (tt.nbytes) CHECK((uintptr_t)tt.data % esize == 0);
    }
    kiln_tensors_close(r);
}

TEST_CASE("same content gives the same bytes (order of adds, copy vs borrow)", "[safetensors]") {
    TmpDir t;
    auto src = sample_tensors();
    std::string a = t / "a.safetensors", b = t / "b.safetensors";
    write_sample(a, src, false, 0);
    write_sample(b, src, true, 1);
    CHECK(slurp(a) == slurp(b));
}

TEST_CASE("a file without tensors or metadata", "[safetensors]") {
    TmpDir t;
    std::string p = t / "empty.safetensors";
    kiln_error err = {};
    kiln_tensors_writer *w = kiln_tensors_writer_new();
    REQUIRE(kiln_tensors_writer_finish(w, p.c_str(), &err) == 0);
    kiln_tensors_writer_free(w);
    CHECK(slurp(p) == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
    kiln_tensors *r = kiln_tensors_open(p.c_str(), &err);
    REQUIRE(r != nullptr);
    CHECK(kiln_tensors_count(r) == 0);
    CHECK(json_object_size(kiln_tensors_metadata(r)) == 0);
    kiln_tensors_close(r);
}

TEST_CASE("writer copies unless asked to borrow", "[safetensors]") {
    TmpDir t;
    kiln_error err = {};
    float data[2] = {1.0f, 2.0f};
    int64_t shape[1] = {2};
    kiln_tensors_writer *w = kiln_tensors_writer_new();
    REQUIRE(kiln_tensors_writer_add(w, "copied", KILN_DTYPE_F32, 1, shape, data, 0, &err) == 0);
    REQUIRE(kiln_tensors_writer_add(w, "borrowed", KILN_DTYPE_F32, 1, shape, data, 1, &err) == 0);
    data[0] = 9.0f;
    std::string p = t / "c.safetensors";
    REQUIRE(kiln_tensors_writer_finish(w, p.c_str(), &err) == 0);
    kiln_tensors_writer_free(w);
    kiln_tensors *r = kiln_tensors_open(p.c_str(), &err);
    REQUIRE(r != nullptr);
    kiln_tensor tt;
    REQUIRE(kiln_tensors_get(r, "copied", &tt) == 0);
    float v[2];
    memcpy(v, tt.data, sizeof v);
    CHECK(v[0] == 1.0f);
    REQUIRE(kiln_tensors_get(r, "borrowed", &tt) == 0);
    memcpy(v, tt.data, sizeof v);
    CHECK(v[0] == 9.0f);
    kiln_tensors_close(r);
}

TEST_CASE("writer rejects bad tensors", "[safetensors]") {
    kiln_error err = {};
    kiln_tensors_writer *w = kiln_tensors_writer_new();
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    float one = 1.0f;
    REQUIRE(kiln_tensors_writer_add(w, "a", KILN_DTYPE_F32, 1, shape, &one, 0, &err) == 0);
    CHECK(kiln_tensors_writer_add(w, "a", KILN_DTYPE_F32, 1, shape, &one, 0, &err) == KILN_EINVAL);
    CHECK(contains(err.message, "duplicate"));
    CHECK(kiln_tensors_writer_add(w, "b", (kiln_dtype)42, 1, shape, &one, 0, &err) == KILN_EINVAL);
    CHECK(kiln_tensors_writer_add(w, "c", KILN_DTYPE_U8, 9, shape, &one, 0, &err) == KILN_EINVAL);
    int64_t neg[1] = {-1};
    CHECK(kiln_tensors_writer_add(w, "d", KILN_DTYPE_U8, 1, neg, &one, 0, &err) == KILN_EINVAL);
    CHECK(kiln_tensors_writer_add(w, "__metadata__", KILN_DTYPE_U8, 1, shape, &one, 0, &err) ==
          KILN_EINVAL);
    CHECK(kiln_tensors_writer_add(w, "", KILN_DTYPE_U8, 1, shape, &one, 0, &err) == KILN_EINVAL);
    CHECK(kiln_tensors_writer_add(w, "e", KILN_DTYPE_U8, 1, shape, nullptr, 0, &err) ==
          KILN_EINVAL);
    kiln_tensors_writer_free(w);
    kiln_tensors_writer_free(nullptr);
}

TEST_CASE("finish into a missing directory leaves nothing behind", "[safetensors]") {
    TmpDir t;
    kiln_error err = {};
    kiln_tensors_writer *w = kiln_tensors_writer_new();
    std::string p = t / "no/such/dir.safetensors";
    CHECK(kiln_tensors_writer_finish(w, p.c_str(), &err) == KILN_EIO);
    CHECK(contains(err.message, t.path));
    kiln_tensors_writer_free(w);
}

TEST_CASE("reader keeps header order and accepts any offset order", "[safetensors]") {
    TmpDir t;
    std::string p = t / "order.safetensors";
    // "zz" comes first in the header but its data is second in the buffer.
    spit(p, raw_file("{\"zz\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
                     "\"aa\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]},"
                     "\"__metadata__\":{\"k\":\"v\"}}",
                     6));
    kiln_error err = {};
    kiln_tensors *r = kiln_tensors_open(p.c_str(), &err);
    INFO(err.message);
    REQUIRE(r != nullptr);
    REQUIRE(kiln_tensors_count(r) == 2);
    kiln_tensor a, b;
    REQUIRE(kiln_tensors_at(r, 0, &a) == 0);
    REQUIRE(kiln_tensors_at(r, 1, &b) == 0);
    CHECK(std::string(a.name) == "zz");
    CHECK(std::string(b.name) == "aa");
    CHECK(b.ndim == 0);
    CHECK(b.nbytes == 4);
    CHECK((const char *)a.data - (const char *)b.data == 4);
    kiln_tensor g;
    REQUIRE(kiln_tensors_get(r, "aa", &g) == 0);
    CHECK(g.data == b.data);
    CHECK(std::string(json_string_value(json_object_get(kiln_tensors_metadata(r), "k"))) == "v");
    kiln_tensors_close(r);
}

TEST_CASE("reader rejects malformed files, naming the file", "[safetensors]") {
    TmpDir t;
    std::string p = t / "bad.safetensors";
    const std::string two_f32 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    SECTION("a valid hand-made file opens (the baseline for the cases below)") {
        spit(p, raw_file(two_f32, 8));
        kiln_error err = {};
        kiln_tensors *r = kiln_tensors_open(p.c_str(), &err);
        INFO(err.message);
        CHECK(r != nullptr);
        kiln_tensors_close(r);
    }
    SECTION("missing file") {
        kiln_error err = {};
        CHECK(kiln_tensors_open((t / "none").c_str(), &err) == nullptr);
        CHECK(err.code == KILN_ENOTFOUND);
    }
    SECTION("truncated below the length prefix") {
        spit(p, std::string("\x10\0\0", 3));
        CHECK(contains(open_fails(p), "too short"));
    }
    SECTION("truncated data") {
        std::string full = raw_file(two_f32, 8);
        spit(p, full.substr(0, full.size() - 3));
        CHECK(contains(open_fails(p), "out of range"));
    }
    SECTION("a real file cut short") {
        auto src = sample_tensors();
        write_sample(p, src, false, 0);
        std::string full = slurp(p);
        spit(p, full.substr(0, full.size() - 1));
        open_fails(p);
    }
    SECTION("header length beyond the file") {
        spit(p, raw_file(two_f32, 8, 1000));
        CHECK(contains(open_fails(p), "header length 1000"));
    }
    SECTION("absurd header length") {
        spit(p, raw_file(two_f32, 8, (int64_t)1 << 62));
        open_fails(p);
    }
    SECTION("bad JSON") {
        spit(p, raw_file("{\"a\": {\"dtype\": ", 0));
        CHECK(contains(open_fails(p), "not valid JSON"));
    }
    SECTION("header is not an object") {
        spit(p, raw_file("[1, 2]  ", 0));
        CHECK(contains(open_fails(p), "object"));
    }
    SECTION("duplicate tensor names") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                         "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                         2));
        open_fails(p);
    }
    SECTION("unknown dtype") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2));
        CHECK(contains(open_fails(p), "unknown dtype 'F8'"));
    }
    SECTION("offsets out of range") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]}}", 8));
        CHECK(contains(open_fails(p), "out of range"));
    }
    SECTION("begin after end") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 8));
        open_fails(p);
    }
    SECTION("overlapping tensors") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                         12));
        std::string msg = open_fails(p);
        CHECK(contains(msg, "overlap"));
        CHECK(contains(msg, "'a'"));
        CHECK(contains(msg, "'b'"));
    }
    SECTION("size mismatch between shape and offsets") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8));
        CHECK(contains(open_fails(p), "need 12"));
    }
    SECTION("a gap in the buffer") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4));
        CHECK(contains(open_fails(p), "gap"));
    }
    SECTION("bytes left over after the last tensor") {
        spit(p, raw_file(two_f32, 12));
        CHECK(contains(open_fails(p), "cover"));
    }
    SECTION("negative shape") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0));
        CHECK(contains(open_fails(p), "shape[0]"));
    }
    SECTION("non-integer offsets") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1.0]}}", 1));
        CHECK(contains(open_fails(p), "data_offsets"));
    }
    SECTION("unknown field in a tensor entry") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],"
                         "\"extra\":1}}",
                         1));
        CHECK(contains(open_fails(p), "extra"));
    }
    SECTION("missing field") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1));
        CHECK(contains(open_fails(p), "shape"));
    }
    SECTION("metadata values must be strings") {
        spit(p, raw_file("{\"__metadata__\":{\"epochs\":3}}", 0));
        CHECK(contains(open_fails(p), "__metadata__"));
    }
    SECTION("too many dimensions") {
        spit(p, raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                         "\"data_offsets\":[0,1]}}",
                         1));
        CHECK(contains(open_fails(p), "dimensions"));
    }
}

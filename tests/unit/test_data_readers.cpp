// plugins/data readers without the host: file.c, stream.c (plain/gzip), idx.c, csv.c, npy.c,
// npz.c, npyread.c. Every bad input of issue 4 gets a precise error (file + byte or line);
// good inputs give exactly the data written.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <vector>
#include <zlib.h>

extern "C" {
#include "data/csv.h"
#include "data/idx.h"
#include "data/npy.h"
#include "data/npyread.h"
#include "data/npz.h"
#include "data/stream.h"
#include "fsutil.h"
}

namespace {
typedef std::vector<uint8_t> bytes;

struct TmpDir {
    std::string path;
    TmpDir() {
        kiln_error err = {};
        char *p = kiln_make_temp_dir("/tmp", "kiln-test-data-", &err);
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

std::string write_file(const std::string &path, const bytes &b) {
    FILE *f = fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    if (!b.empty())
        REQUIRE(fwrite(b.data(), 1, b.size(), f) == b.size());
    fclose(f);
    return path;
}

std::string write_text(const std::string &path, const std::string &s) {
    return write_file(path, bytes(s.begin(), s.end()));
}

bytes gzip_bytes(const bytes &b) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    bytes out(deflateBound(&zs, b.size()) + 64);
    zs.next_in = const_cast<Bytef *>(b.data());
    zs.avail_in = (uInt)b.size();
    zs.next_out = out.data();
    zs.avail_out = (uInt)out.size();
    REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

void be32(bytes &b, uint32_t v) {
    b.push_back((uint8_t)(v >> 24));
    b.push_back((uint8_t)(v >> 16));
    b.push_back((uint8_t)(v >> 8));
    b.push_back((uint8_t)v);
}

// An IDX file: type, dims, then `data` as given (already big-endian).
bytes idx_file(uint8_t type, std::vector<uint32_t> dims, const bytes &data) {
    bytes b = {0, 0, type, (uint8_t)dims.size()};
    for (uint32_t d : dims)
        be32(b, d);
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

bytes seq(size_t n, int mod) {
    bytes b(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i % (size_t)mod);
    return b;
}

// Reads images + labels; returns the code, the message in msg.
int read_idx(const std::string &images, const std::string &labels, kiln_data_set *set,
             std::string &msg, kiln_dtype dt = (kiln_dtype)0, const json_t *classes = nullptr) {
    kiln_error err = {};
    kiln_data_set_init(set);
    int rc = kiln_data_idx_read(images.c_str(), labels.c_str(), dt, classes, nullptr, set, &err);
    msg = err.message;
    if (rc)
        CHECK(set->x == nullptr);
    return rc;
}
}  // namespace

TEST_CASE("data idx: plain and gzip files read to the same uint8 dataset", "[data][idx]") {
    TmpDir t;
    bytes img = seq(5 * 3 * 2, 251), lab = {0, 1, 2, 1, 0};
    write_file(t / "i", idx_file(0x08, {5, 3, 2}, img));
    write_file(t / "l", idx_file(0x08, {5}, lab));
    write_file(t / "i.gz", gzip_bytes(idx_file(0x08, {5, 3, 2}, img)));
    write_file(t / "l.gz", gzip_bytes(idx_file(0x08, {5}, lab)));
    for (const char *suffix : {"", ".gz"}) {
        kiln_data_set s;
        std::string msg;
        REQUIRE(read_idx(t / (std::string("i") + suffix), t / (std::string("l") + suffix), &s,
                         msg) == 0);
        CHECK(s.x_dtype == KILN_DTYPE_U8);
        CHECK(s.x_ndim == 3);
        CHECK(s.x_shape[0] == 5);
        CHECK(s.x_shape[1] == 3);
        CHECK(s.x_shape[2] == 2);
        CHECK(s.n == 5);
        CHECK(kiln_data_set_features(&s) == 6);
        REQUIRE(s.x_nbytes == img.size());
        CHECK(memcmp(s.x, img.data(), img.size()) == 0);
        for (int i = 0; i < 5; i++)
            CHECK(s.y[i] == lab[(size_t)i]);
        kiln_data_set_clear(&s);
    }
}

TEST_CASE("data idx: float32 conversion and wider IDX types", "[data][idx]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    write_file(t / "l", idx_file(0x08, {2}, {1, 0}));
    write_file(t / "i8", idx_file(0x08, {2, 2}, {0, 1, 254, 255}));
    REQUIRE(read_idx(t / "i8", t / "l", &s, msg, KILN_DTYPE_F32) == 0);
    CHECK(s.x_dtype == KILN_DTYPE_F32);
    const float *f = (const float *)s.x;
    CHECK(f[0] == 0.0f);
    CHECK(f[3] == 255.0f);
    kiln_data_set_clear(&s);

    // int16 -2 and 300, big-endian; auto turns them into float32.
    write_file(t / "i16", idx_file(0x0B, {2, 1}, {0xff, 0xfe, 0x01, 0x2c}));
    REQUIRE(read_idx(t / "i16", t / "l", &s, msg) == 0);
    CHECK(s.x_dtype == KILN_DTYPE_F32);
    f = (const float *)s.x;
    CHECK(f[0] == -2.0f);
    CHECK(f[1] == 300.0f);
    kiln_data_set_clear(&s);
    CHECK(read_idx(t / "i16", t / "l", &s, msg, KILN_DTYPE_U8) == KILN_EINVAL);
    CHECK_THAT(msg, Catch::Contains("int16") && Catch::Contains("uint8"));

    // float32 images 1.5 and -0.25.
    write_file(t / "f32", idx_file(0x0D, {2, 1}, {0x3f, 0xc0, 0, 0, 0xbe, 0x80, 0, 0}));
    REQUIRE(read_idx(t / "f32", t / "l", &s, msg) == 0);
    f = (const float *)s.x;
    CHECK(f[0] == 1.5f);
    CHECK(f[1] == -0.25f);
    kiln_data_set_clear(&s);
}

TEST_CASE("data idx: class names bound the labels", "[data][idx]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    json_t *classes = json_pack("[sss]", "a", "b", "c");
    write_file(t / "i", idx_file(0x08, {4, 1}, {1, 2, 3, 4}));
    write_file(t / "ok", idx_file(0x08, {4}, {0, 1, 2, 2}));
    write_file(t / "bad", idx_file(0x08, {4}, {0, 1, 3, 2}));
    REQUIRE(read_idx(t / "i", t / "ok", &s, msg, (kiln_dtype)0, classes) == 0);
    REQUIRE(s.classes != nullptr);
    CHECK(json_array_size(s.classes) == 3);
    json_t *meta = kiln_data_set_metadata(&s);
    CHECK(std::string(json_string_value(json_object_get(meta, "kiln.num_classes"))) == "3");
    CHECK(std::string(json_string_value(json_object_get(meta, "kiln.classes"))) ==
          "[\"a\",\"b\",\"c\"]");
    json_decref(meta);
    kiln_data_set_clear(&s);

    CHECK(read_idx(t / "i", t / "bad", &s, msg, (kiln_dtype)0, classes) == KILN_EINVAL);
    // Label 3 of item 2 sits at byte 8 + 2.
    CHECK_THAT(msg, Catch::Contains(t / "bad") && Catch::Contains("label 3 of item 2") &&
                        Catch::Contains("byte 10") && Catch::Contains("out of range"));

    // Without classes: num_classes is max + 1.
    REQUIRE(read_idx(t / "i", t / "bad", &s, msg) == 0);
    meta = kiln_data_set_metadata(&s);
    CHECK(std::string(json_string_value(json_object_get(meta, "kiln.num_classes"))) == "4");
    CHECK(json_object_get(meta, "kiln.classes") == nullptr);
    json_decref(meta);
    kiln_data_set_clear(&s);

    // Negative labels (int8) are always out of range.
    write_file(t / "neg", idx_file(0x09, {4}, {0, 0xff, 0, 0}));
    CHECK(read_idx(t / "i", t / "neg", &s, msg) == KILN_EINVAL);
    CHECK_THAT(msg, Catch::Contains("label -1 of item 1") && Catch::Contains("byte 9"));

    // Classes checks.
    kiln_error err = {};
    json_t *dup = json_pack("[ss]", "a", "a");
    CHECK(kiln_data_check_classes(dup, "param 'classes'", &err) == KILN_EINVAL);
    CHECK_THAT(err.message, Catch::Contains("repeats"));
    json_decref(dup);
    json_decref(classes);
}

TEST_CASE("data idx: bad headers and sizes name the file and the byte", "[data][idx]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    std::string lab = write_file(t / "l", idx_file(0x08, {3}, {0, 1, 2}));

    write_file(t / "magic", {0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 3, 1, 2, 3});
    CHECK(read_idx(t / "magic", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains(t / "magic") && Catch::Contains("wrong magic at byte 0") &&
                        Catch::Contains("50 4b 03 04"));

    write_file(t / "type", {0, 0, 0x07, 1, 0, 0, 0, 3, 1, 2, 3});
    CHECK(read_idx(t / "type", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("unknown IDX element type 0x07 at byte 2"));

    write_file(t / "zero", idx_file(0x08, {3, 0}, {}));
    CHECK(read_idx(t / "zero", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("dimension 1 is 0 at byte 8"));

    write_file(t / "hdr", {0, 0, 8, 3, 0, 0});
    CHECK(read_idx(t / "hdr", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("truncated") && Catch::Contains("byte 4"));

    bytes img = idx_file(0x08, {3, 2}, {1, 2, 3, 4, 5});  // one byte short
    write_file(t / "short", img);
    CHECK(read_idx(t / "short", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains(t / "short") && Catch::Contains("truncated") &&
                        Catch::Contains("ends at byte 17"));
    write_file(t / "short.gz", gzip_bytes(img));
    CHECK(read_idx(t / "short.gz", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("truncated") && Catch::Contains("byte 12 (decompressed)") &&
                        Catch::Contains("ends at byte 17"));

    // A header claiming far more than the gzip file could expand to.
    write_file(t / "huge.gz", gzip_bytes(idx_file(0x08, {60000, 4000, 4000}, {1, 2, 3})));
    CHECK(read_idx(t / "huge.gz", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("more than a gzip file of"));

    bytes longer = idx_file(0x08, {3, 2}, {1, 2, 3, 4, 5, 6, 7});  // one byte extra
    write_file(t / "long", longer);
    CHECK(read_idx(t / "long", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("trailing bytes after the data at byte 18"));
    write_file(t / "long.gz", gzip_bytes(longer));
    CHECK(read_idx(t / "long.gz", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("trailing bytes after the data at byte 18 (decompressed)"));

    // Count mismatch names both files and counts.
    write_file(t / "four", idx_file(0x08, {4, 1}, {1, 2, 3, 4}));
    CHECK(read_idx(t / "four", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("count mismatch") && Catch::Contains(t / "four") &&
                        Catch::Contains("4 images") && Catch::Contains(lab) &&
                        Catch::Contains("3 labels"));

    // Labels must be 1-D integers.
    write_file(t / "l2", idx_file(0x08, {3, 1}, {0, 1, 2}));
    CHECK(read_idx(t / "four", t / "l2", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("1 dimension"));
    write_file(t / "lf", idx_file(0x0D, {4}, bytes(16, 0)));
    CHECK(read_idx(t / "four", t / "lf", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("labels must be integers"));
}

TEST_CASE("data idx: missing, directory and empty files", "[data][idx]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    std::string lab = write_file(t / "l", idx_file(0x08, {1}, {0}));
    CHECK(read_idx(t / "nope", lab, &s, msg) == KILN_ENOTFOUND);
    CHECK_THAT(msg, Catch::Contains(t / "nope") && Catch::Contains("No such file"));
    mkdir((t / "dir").c_str(), 0755);
    CHECK(read_idx(t / "dir", lab, &s, msg) == KILN_EIO);
    CHECK_THAT(msg, Catch::Contains(t / "dir") && Catch::Contains("is a directory"));
    write_file(t / "empty", {});
    CHECK(read_idx(t / "empty", lab, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains(t / "empty") && Catch::Contains("empty file"));
}

TEST_CASE("data stream: truncated, corrupt and concatenated gzip", "[data][stream]") {
    TmpDir t;
    bytes plain = seq(200000, 253);
    bytes gz = gzip_bytes(plain);
    kiln_error err = {};
    kiln_data_stream *s = nullptr;
    std::vector<uint8_t> buf(plain.size() + 10);
    size_t got = 0;

    // Truncated: half the compressed bytes.
    write_file(t / "half.gz", bytes(gz.begin(), gz.begin() + (long)gz.size() / 2));
    REQUIRE(kiln_data_stream_open((t / "half.gz").c_str(), &s, &err) == 0);
    CHECK(kiln_data_stream_is_gzip(s));
    CHECK(kiln_data_stream_read(s, buf.data(), buf.size(), &got, &err) == KILN_EFORMAT);
    CHECK_THAT(err.message, Catch::Contains("truncated gzip stream") &&
                                Catch::Contains("ends at byte " + std::to_string(gz.size() / 2)));
    kiln_data_stream_close(s);

    // Only the trailer is missing (CRC + size): still truncated.
    err = {};
    write_file(t / "notrailer.gz", bytes(gz.begin(), gz.end() - 8));
    REQUIRE(kiln_data_stream_open((t / "notrailer.gz").c_str(), &s, &err) == 0);
    CHECK(kiln_data_stream_read(s, buf.data(), buf.size(), &got, &err) == KILN_EFORMAT);
    CHECK_THAT(err.message, Catch::Contains("truncated gzip stream"));
    kiln_data_stream_close(s);

    // Corrupt: a flipped byte in the CRC gives a data error at a compressed offset.
    err = {};
    bytes bad = gz;
    bad[bad.size() - 6] ^= 0xff;
    write_file(t / "bad.gz", bad);
    REQUIRE(kiln_data_stream_open((t / "bad.gz").c_str(), &s, &err) == 0);
    CHECK(kiln_data_stream_read(s, buf.data(), buf.size(), &got, &err) == KILN_EFORMAT);
    CHECK_THAT(err.message, Catch::Contains("corrupt gzip data near compressed byte"));
    kiln_data_stream_close(s);

    // Two members read as one stream.
    err = {};
    bytes two = gz;
    two.insert(two.end(), gz.begin(), gz.end());
    write_file(t / "two.gz", two);
    REQUIRE(kiln_data_stream_open((t / "two.gz").c_str(), &s, &err) == 0);
    std::vector<uint8_t> big(plain.size() * 2 + 10);
    REQUIRE(kiln_data_stream_read(s, big.data(), big.size(), &got, &err) == 0);
    CHECK(got == plain.size() * 2);
    CHECK(memcmp(big.data() + plain.size(), plain.data(), plain.size()) == 0);
    CHECK(kiln_data_stream_offset(s) == plain.size() * 2);
    kiln_data_stream_close(s);

    // Trailing garbage after the member.
    err = {};
    bytes garbage = gz;
    garbage.push_back('X');
    write_file(t / "garbage.gz", garbage);
    REQUIRE(kiln_data_stream_open((t / "garbage.gz").c_str(), &s, &err) == 0);
    CHECK(kiln_data_stream_read(s, big.data(), big.size(), &got, &err) == KILN_EFORMAT);
    CHECK_THAT(err.message,
               Catch::Contains("trailing garbage") &&
                   Catch::Contains("compressed byte " + std::to_string(gz.size())));
    kiln_data_stream_close(s);

    // Small reads give the same bytes as one big read.
    err = {};
    write_file(t / "ok.gz", gz);
    REQUIRE(kiln_data_stream_open((t / "ok.gz").c_str(), &s, &err) == 0);
    size_t total = 0;
    for (;;) {
        REQUIRE(kiln_data_stream_read(s, buf.data() + total, 777, &got, &err) == 0);
        total += got;
        if (got < 777)
            break;
    }
    CHECK(total == plain.size());
    CHECK(memcmp(buf.data(), plain.data(), plain.size()) == 0);
    kiln_data_stream_close(s);
}

namespace {
int read_csv(const std::string &path, kiln_data_set *s, std::string &msg,
             kiln_data_csv_report *rep = nullptr, int skip = 0, char delim = ',',
             const char *label = "label", const json_t *classes = nullptr) {
    kiln_error err = {};
    kiln_data_csv_options opt = {label, delim, skip, classes};
    kiln_data_set_init(s);
    int rc = kiln_data_csv_read(path.c_str(), &opt, nullptr, s, rep, &err);
    msg = err.message;
    return rc;
}
}  // namespace

TEST_CASE("data csv: numbers, quotes, BOM, CRLF, blank lines, TSV, gzip", "[data][csv]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    write_text(t / "a.csv",
               "\xEF\xBB\xBF" "f1, \"label\" ,f2\r\n"
               "1.5,2,-3e2\r\n"
               "\r\n"
               "  4 ,0, \"5\" \r\n"
               "7,1,8");
    REQUIRE(read_csv(t / "a.csv", &s, msg) == 0);
    REQUIRE(s.n == 3);
    CHECK(s.x_dtype == KILN_DTYPE_F32);
    CHECK(s.x_ndim == 2);
    CHECK(s.x_shape[1] == 2);
    const float *x = (const float *)s.x;
    CHECK(x[0] == 1.5f);
    CHECK(x[1] == -300.0f);
    CHECK(x[2] == 4.0f);
    CHECK(x[3] == 5.0f);
    CHECK(x[5] == 8.0f);
    CHECK(s.y[0] == 2);
    CHECK(s.y[1] == 0);
    CHECK(s.y[2] == 1);
    kiln_data_set_clear(&s);

    write_text(t / "a.tsv", "cls\tv\n3\t0.25\n1.0\t-1\n");
    REQUIRE(read_csv(t / "a.tsv", &s, msg, nullptr, 0, '\t', "cls") == 0);
    CHECK(s.n == 2);
    CHECK(s.y[0] == 3);
    CHECK(s.y[1] == 1);  // "1.0" is a whole number
    CHECK(((const float *)s.x)[0] == 0.25f);
    kiln_data_set_clear(&s);

    std::string text = "label,a\n";
    for (int i = 0; i < 1000; i++)
        text += std::to_string(i % 3) + "," + std::to_string(i) + "\n";
    write_file(t / "big.csv.gz", gzip_bytes(bytes(text.begin(), text.end())));
    REQUIRE(read_csv(t / "big.csv.gz", &s, msg) == 0);
    CHECK(s.n == 1000);
    CHECK(((const float *)s.x)[999] == 999.0f);
    kiln_data_set_clear(&s);
}

TEST_CASE("data csv: bad rows fail with their line, or are skipped and counted", "[data][csv]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    kiln_data_csv_report rep;
    write_text(t / "bad.csv", "a,label,b\n1,0,2\n1,0,x7\n3,1\n4,1,5\n6,-1,7\n8,2.5,9\n1,0,nan\n");
    REQUIRE(read_csv(t / "bad.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains(t / "bad.csv") && Catch::Contains("line 3") &&
                        Catch::Contains("column 'b' (field 3)") &&
                        Catch::Contains("'x7' is not a number"));
    CHECK(s.x == nullptr);

    REQUIRE(read_csv(t / "bad.csv", &s, msg, &rep, 1) == 0);
    CHECK(s.n == 2);
    CHECK(rep.rows == 2);
    CHECK(rep.skipped == 5);
    CHECK(rep.first_lines[0] == 3);
    CHECK(rep.first_lines[1] == 4);
    CHECK(rep.first_lines[2] == 6);
    CHECK(rep.first_lines[3] == 7);
    CHECK(rep.first_lines[4] == 8);
    CHECK_THAT(rep.first_reason, Catch::Contains("line 3"));
    kiln_data_set_clear(&s);

    write_text(t / "ragged.csv", "a,label\n1,0\n1,0,3\n");
    CHECK(read_csv(t / "ragged.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("line 3: 3 fields, the header has 2 (ragged row)"));
    write_text(t / "neg.csv", "a,label\n1,-1\n");
    CHECK(read_csv(t / "neg.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("line 2") && Catch::Contains("not a whole number >= 0"));
    write_text(t / "inf.csv", "a,label\n1e999,1\n");
    CHECK(read_csv(t / "inf.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("line 2") && Catch::Contains("not a finite float32 number"));
    write_text(t / "quote.csv", "a,label\n\"1,0\n");
    CHECK(read_csv(t / "quote.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("line 2") && Catch::Contains("unterminated quoted field"));

    json_t *classes = json_pack("[ss]", "no", "yes");
    write_text(t / "cls.csv", "a,label\n1,0\n2,2\n");
    CHECK(read_csv(t / "cls.csv", &s, msg, nullptr, 0, ',', "label", classes) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("line 3") && Catch::Contains("2 classes given"));
    json_decref(classes);

    write_text(t / "allbad.csv", "a,label\nx,0\ny,1\n");
    CHECK(read_csv(t / "allbad.csv", &s, msg, &rep, 1) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("every data row is bad (2 skipped)"));
}

TEST_CASE("data csv: header problems and empty files", "[data][csv]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    write_text(t / "nolabel.csv", "a,b\n1,2\n");
    CHECK(read_csv(t / "nolabel.csv", &s, msg) == KILN_EINVAL);
    CHECK_THAT(msg, Catch::Contains("line 1 (header): no column named 'label'; columns: 'a', 'b'"));
    write_text(t / "twice.csv", "label,label\n1,2\n");
    CHECK(read_csv(t / "twice.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("appears twice"));
    write_text(t / "only.csv", "label\n1\n");
    CHECK(read_csv(t / "only.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("no features"));
    write_text(t / "hdr.csv", "a,label\n\n");
    CHECK(read_csv(t / "hdr.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("no data rows after the header (line 1)"));
    write_text(t / "blank.csv", "\n  \n");
    CHECK(read_csv(t / "blank.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("only blank lines"));
    write_text(t / "empty.csv", "");
    CHECK(read_csv(t / "empty.csv", &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("empty file"));
    CHECK(read_csv(t / "missing.csv", &s, msg) == KILN_ENOTFOUND);
    mkdir((t / "d.csv").c_str(), 0755);
    CHECK(read_csv(t / "d.csv", &s, msg) == KILN_EIO);
    CHECK_THAT(msg, Catch::Contains("is a directory"));
}

namespace {
// A .npy file: version 1 header padded to 64 bytes.
bytes npy_file(const std::string &descr, const std::string &shape, const bytes &data,
               const char *order = "False") {
    std::string h = "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " +
                    shape + ", }";
    while ((10 + h.size() + 1) % 64)
        h += ' ';
    h += '\n';
    std::string head = std::string("\x93NUMPY\x01\x00", 8);
    head += (char)(h.size() & 0xff);
    head += (char)(h.size() >> 8);
    head += h;
    head.append(data.begin(), data.end());
    return bytes(head.begin(), head.end());
}

template <typename T> bytes le(std::vector<T> v) {
    bytes b(v.size() * sizeof(T));
    memcpy(b.data(), v.data(), b.size());
    return b;
}

int read_npy(const std::string &x, const char *y, kiln_data_set *s, std::string &msg,
             const json_t *classes = nullptr) {
    kiln_error err = {};
    kiln_data_set_init(s);
    int rc = kiln_data_npy_read(x.c_str(), y, "x", "y", classes, s, &err);
    msg = err.message;
    return rc;
}
}  // namespace

TEST_CASE("data npy: x and y from .npy files, dtypes kept or converted", "[data][npy]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    std::string y = write_file(t / "y.npy", npy_file("<i8", "(3,)", le<int64_t>({2, 0, 1})));
    write_file(t / "u8.npy", npy_file("|u1", "(3, 2)", {1, 2, 3, 4, 5, 6}));
    REQUIRE(read_npy(t / "u8.npy", y.c_str(), &s, msg) == 0);
    CHECK(s.x_dtype == KILN_DTYPE_U8);
    CHECK(s.x_map != nullptr);  // used in place, not copied
    CHECK(((const uint8_t *)s.x)[5] == 6);
    CHECK(s.y[0] == 2);
    kiln_data_set_clear(&s);

    write_file(t / "f8.npy", npy_file("<f8", "(3,)", le<double>({0.5, -1, 2})));
    REQUIRE(read_npy(t / "f8.npy", y.c_str(), &s, msg) == 0);
    CHECK(s.x_dtype == KILN_DTYPE_F32);
    CHECK(s.x_ndim == 1);
    CHECK(((const float *)s.x)[1] == -1.0f);
    kiln_data_set_clear(&s);

    // Big-endian int16 x, uint8 labels, float labels that are whole.
    write_file(t / "be.npy", npy_file(">i2", "(3, 1)", {0xff, 0xfe, 0, 7, 1, 0}));
    write_file(t / "yu.npy", npy_file("|u1", "(3,)", {1, 1, 0}));
    REQUIRE(read_npy(t / "be.npy", (t / "yu.npy").c_str(), &s, msg) == 0);
    CHECK(((const float *)s.x)[0] == -2.0f);
    CHECK(((const float *)s.x)[2] == 256.0f);
    CHECK(s.y[2] == 0);
    kiln_data_set_clear(&s);
    write_file(t / "yf.npy", npy_file("<f4", "(3,)", le<float>({1, 2, 0})));
    REQUIRE(read_npy(t / "u8.npy", (t / "yf.npy").c_str(), &s, msg) == 0);
    CHECK(s.y[1] == 2);
    kiln_data_set_clear(&s);
}

TEST_CASE("data npy: unsupported dtypes and bad arrays are named", "[data][npy]") {
    TmpDir t;
    kiln_data_set s;
    std::string msg;
    std::string y = write_file(t / "y.npy", npy_file("<i8", "(2,)", le<int64_t>({0, 1})));
    write_file(t / "c8.npy", npy_file("<c8", "(2,)", bytes(16, 0)));
    CHECK(read_npy(t / "c8.npy", y.c_str(), &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains(t / "c8.npy") && Catch::Contains("unsupported dtype '<c8'") &&
                        Catch::Contains("at byte 20"));
    write_file(t / "f2.npy", npy_file("<f2", "(2,)", bytes(4, 0)));
    CHECK(read_npy(t / "f2.npy", y.c_str(), &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("unsupported dtype '<f2'"));
    write_file(t / "obj.npy", npy_file("|O", "(2,)", bytes(16, 0)));
    CHECK(read_npy(t / "obj.npy", y.c_str(), &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("unsupported dtype '|O'"));
    write_file(t / "fo.npy", npy_file("<f4", "(2, 1)", bytes(8, 0), "True"));
    CHECK(read_npy(t / "fo.npy", y.c_str(), &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("fortran_order"));
    bytes trunc = npy_file("<f4", "(2, 2)", bytes(12, 0));
    write_file(t / "trunc.npy", trunc);
    CHECK(read_npy(t / "trunc.npy", y.c_str(), &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg,
               Catch::Contains("truncated") && Catch::Contains("16 bytes of data at byte 128"));
    write_file(t / "notnpy.npy", {'h', 'e', 'l', 'l', 'o'});
    CHECK(read_npy(t / "notnpy.npy", y.c_str(), &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("not a .npy or .npz file"));
    write_file(t / "x3.npy", npy_file("<f4", "(3,)", bytes(12, 0)));
    CHECK(read_npy(t / "x3.npy", y.c_str(), &s, msg) == KILN_EINVAL);
    CHECK_THAT(msg, Catch::Contains("count mismatch") && Catch::Contains("3 samples") &&
                        Catch::Contains("2 labels"));
    write_file(t / "yneg.npy", npy_file("<i4", "(2,)", le<int32_t>({0, -5})));
    write_file(t / "x2.npy", npy_file("<f4", "(2,)", bytes(8, 0)));
    CHECK(read_npy(t / "x2.npy", (t / "yneg.npy").c_str(), &s, msg) == KILN_EINVAL);
    CHECK_THAT(msg, Catch::Contains("y[1] = -5 at byte 132"));
    write_file(t / "yhalf.npy", npy_file("<f8", "(2,)", le<double>({0, 0.5})));
    CHECK(read_npy(t / "x2.npy", (t / "yhalf.npy").c_str(), &s, msg) == KILN_EINVAL);
    CHECK_THAT(msg, Catch::Contains("not a whole number"));
    CHECK(read_npy(t / "x2.npy", nullptr, &s, msg) == KILN_EINVAL);
    CHECK_THAT(msg, Catch::Contains("param 'y'"));
}

TEST_CASE("data npz: stored and deflated archives from numpy", "[data][npz]") {
    const char *dir = getenv("KILN_TEST_DATA");
    REQUIRE(dir != nullptr);
    std::string d = dir;
    for (const char *name : {"data_xy.npz", "data_xy_compressed.npz"}) {
        kiln_data_set s;
        std::string msg;
        INFO(name);
        // x = arange(12, dtype=float32).reshape(4, 3); y = [0, 1, 2, 1]; z = 7.
        REQUIRE(read_npy(d + "/" + name, nullptr, &s, msg) == 0);
        CHECK(s.x_dtype == KILN_DTYPE_F32);
        CHECK(s.n == 4);
        CHECK(s.x_shape[1] == 3);
        CHECK(((const float *)s.x)[11] == 11.0f);
        CHECK(s.y[2] == 2);
        kiln_data_set_clear(&s);

        kiln_error err = {};
        kiln_data_set_init(&s);
        CHECK(kiln_data_npy_read((d + "/" + name).c_str(), nullptr, "x", "labels", nullptr, &s,
                                 &err) == KILN_ENOTFOUND);
        CHECK_THAT(err.message, Catch::Contains("no array 'labels'") &&
                                    Catch::Contains("'x', 'y', 'z'"));
    }
    // A corrupted member fails its CRC; a cut archive has no end record.
    TmpDir t;
    FILE *f = fopen((d + "/data_xy.npz").c_str(), "rb");
    REQUIRE(f != nullptr);
    bytes b(4096);
    b.resize(fread(b.data(), 1, b.size(), f));
    fclose(f);
    bytes bad = b;
    bad[200] ^= 0x55;  // inside x.npy's data
    write_file(t / "bad.npz", bad);
    kiln_data_set s;
    std::string msg;
    CHECK(read_npy(t / "bad.npz", nullptr, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("CRC-32"));
    write_file(t / "cut.npz", bytes(b.begin(), b.begin() + (long)b.size() - 30));
    CHECK(read_npy(t / "cut.npz", nullptr, &s, msg) == KILN_EFORMAT);
    CHECK_THAT(msg, Catch::Contains("corrupt zip (.npz) archive"));
}

TEST_CASE("data readers: mutated and cut inputs fail cleanly, never crash", "[data][fuzz]") {
    // Deterministic byte flips and truncations of valid files; run under
    // -DKILN_SANITIZE=address,undefined this checks every read stays in bounds.
    const char *dir = getenv("KILN_TEST_DATA");
    REQUIRE(dir != nullptr);
    TmpDir t;
    std::vector<std::pair<std::string, bytes>> seeds;
    for (const char *name : {"data_xy.npz", "data_xy_compressed.npz"}) {
        FILE *f = fopen((std::string(dir) + "/" + name).c_str(), "rb");
        REQUIRE(f != nullptr);
        bytes b(4096);
        b.resize(fread(b.data(), 1, b.size(), f));
        fclose(f);
        seeds.push_back({"npz", b});
    }
    seeds.push_back({"npy", npy_file("<f4", "(3, 2)", bytes(24, 1))});
    seeds.push_back({"idx", gzip_bytes(idx_file(0x08, {3, 2}, {1, 2, 3, 4, 5, 6}))});
    seeds.push_back({"idx", idx_file(0x0B, {3, 2}, bytes(12, 1))});
    std::string csv = "a,label,b\n1,0,2\n\"3\",1,4\n5,2,6\n";
    seeds.push_back({"csv", bytes(csv.begin(), csv.end())});
    std::string y = write_file(t / "y.npy", npy_file("<i8", "(3,)", le<int64_t>({0, 1, 2})));
    std::string lab = write_file(t / "lab", idx_file(0x08, {3}, {0, 1, 2}));
    uint64_t rng = 12345;
    auto next = [&rng]() {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        return (size_t)(rng >> 33);
    };
    int ok = 0, failed = 0;
    for (int round = 0; round < 3000; round++) {
        const auto &seed = seeds[(size_t)round % seeds.size()];
        bytes b = seed.second;
        if (round % 3 == 0 && b.size() > 1) {
            b.resize(next() % b.size());
        } else {
            for (int k = 0, flips = 1 + (int)(next() % 4); k < flips && !b.empty(); k++)
                b[next() % b.size()] = (uint8_t)next();
        }
        std::string p = write_file(t / "in", b);
        kiln_data_set s;
        kiln_error err = {};
        kiln_data_set_init(&s);
        int rc;
        if (seed.first == "npz") {
            rc = kiln_data_npy_read(p.c_str(), nullptr, "x", "y", nullptr, &s, &err);
        } else if (seed.first == "npy") {
            rc = kiln_data_npy_read(p.c_str(), y.c_str(), "x", "y", nullptr, &s, &err);
        } else if (seed.first == "idx") {
            rc = kiln_data_idx_read(p.c_str(), lab.c_str(), (kiln_dtype)0, nullptr, nullptr, &s,
                                    &err);
        } else {
            kiln_data_csv_options opt = {"label", ',', 0, nullptr};
            rc = kiln_data_csv_read(p.c_str(), &opt, nullptr, &s, nullptr, &err);
        }
        if (rc == 0) {
            ok++;
            REQUIRE(s.n >= 1);
            REQUIRE(s.x != nullptr);
        } else {
            failed++;
            REQUIRE(err.code == rc);
            REQUIRE(err.message[0] != '\0');
            REQUIRE(s.x == nullptr);
        }
        kiln_data_set_clear(&s);
    }
    CHECK(failed > 1000);
    CHECK(ok > 10);
}

// Unit tests of the wheel plugin's naming rules (names.h: PEP 503/508 names, PEP 440
// versions, wheel file names), RECORD helpers (record.h) and manylinux policy data (policy.h).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

extern "C" {
#include "wheel/names.h"
#include "wheel/policy.h"
#include "wheel/record.h"
}

static std::string norm_version(const char *v) {
    char out[256];
    kiln_error err = {};
    if (kiln_wheel_version_normalize(v, out, sizeof out, &err) != 0) return std::string("ERR: ") + err.message;
    return out;
}

static bool version_ok(const char *v) { return norm_version(v).rfind("ERR: ", 0) != 0; }

TEST_CASE("PEP 440 versions are normalised", "[wheel][names]") {
    CHECK(norm_version("1.0") == "1.0");
    CHECK(norm_version("v1.0") == "1.0");
    CHECK(norm_version(" 1.0.0 ") == "1.0.0");
    CHECK(norm_version("01.002.0") == "1.2.0");
    CHECK(norm_version("1.0-RC1") == "1.0rc1");
    CHECK(norm_version("1.0a") == "1.0a0");
    CHECK(norm_version("1.0alpha1") == "1.0a1");
    CHECK(norm_version("1.0.beta.2") == "1.0b2");
    CHECK(norm_version("1.0c3") == "1.0rc3");
    CHECK(norm_version("1.0pre4") == "1.0rc4");
    CHECK(norm_version("1.0preview5") == "1.0rc5");
    CHECK(norm_version("1.0-1") == "1.0.post1");
    CHECK(norm_version("1.0-post2") == "1.0.post2");
    CHECK(norm_version("1.0.post-2") == "1.0.post2");
    CHECK(norm_version("1.0.rev3") == "1.0.post3");
    CHECK(norm_version("1.0r") == "1.0.post0");
    CHECK(norm_version("1.0dev") == "1.0.dev0");
    CHECK(norm_version("1.0-dev-2") == "1.0.dev2");
    CHECK(norm_version("1!2.0") == "1!2.0");
    CHECK(norm_version("0!1.0") == "1.0");
    CHECK(norm_version("1.0+ubuntu-1") == "1.0+ubuntu.1");
    CHECK(norm_version("1.0+AbC_09") == "1.0+abc.9");
    CHECK(norm_version("1.0a1.post2.dev3+g1234") == "1.0a1.post2.dev3+g1234");
    CHECK(norm_version("1.0a.post1") == "1.0a0.post1");
    CHECK(norm_version("2.0.dev20250131") == "2.0.dev20250131");
    CHECK(kiln_wheel_version_is_local("1.0+g12ab"));
    CHECK_FALSE(kiln_wheel_version_is_local("1.0"));
}

TEST_CASE("invalid PEP 440 versions are refused with the offending part", "[wheel][names]") {
    for (const char *bad : {"", "abc", "1.0+", "1.0+a..b", "1.0-", "1..0", "1.0.", "1.0 beta", "1.0_", "1.0a-", "1.0foo",
                            "1.0+ab/c", "!1.0", "1!"}) {
        INFO(bad);
        CHECK_FALSE(version_ok(bad));
    }
    CHECK(norm_version("1.0foo").find("unexpected 'foo'") != std::string::npos);
}

TEST_CASE("distribution names: validity, PEP 503 normalisation, escaping, import names", "[wheel][names]") {
    for (const char *good : {"a", "A1", "fashion-mlp", "a.b_c-d", "Tiny-CNN"}) {
        INFO(good);
        CHECK(kiln_wheel_name_valid(good));
    }
    for (const char *bad : {"", "-a", "a-", ".a", "a b", "caf\xc3\xa9", "a/b"}) {
        INFO(bad);
        CHECK_FALSE(kiln_wheel_name_valid(bad));
    }
    char out[256];
    kiln_error err = {};
    REQUIRE(kiln_wheel_name_normalize("Fashion__MLP", out, sizeof out, &err) == 0);
    CHECK(std::string(out) == "fashion-mlp");
    REQUIRE(kiln_wheel_name_normalize("a.-_b", out, sizeof out, &err) == 0);
    CHECK(std::string(out) == "a-b");
    REQUIRE(kiln_wheel_name_escape("Fashion.MLP", out, sizeof out, &err) == 0);
    CHECK(std::string(out) == "fashion_mlp");
    REQUIRE(kiln_wheel_import_name("My.Pkg", out, sizeof out, &err) == 0);
    CHECK(std::string(out) == "my_pkg");
    CHECK(kiln_wheel_import_name("3d-net", out, sizeof out, &err) == KILN_EINVAL);
    CHECK(std::string(err.message).find("import_name") != std::string::npos);
    CHECK(kiln_wheel_import_name("class", out, sizeof out, &err) == KILN_EINVAL);
    CHECK(kiln_wheel_name_escape("bad name", out, sizeof out, &err) == KILN_EINVAL);
    CHECK(std::string(err.message).find("invalid distribution name 'bad name'") != std::string::npos);
    char tiny[4];
    CHECK(kiln_wheel_name_escape("toolong", tiny, sizeof tiny, &err) == KILN_EINVAL);
    CHECK(kiln_wheel_is_identifier("_x1"));
    CHECK_FALSE(kiln_wheel_is_identifier("1x"));
    CHECK_FALSE(kiln_wheel_is_identifier("import"));
}

TEST_CASE("wheel file names are split and checked", "[wheel][names]") {
    kiln_wheel_filename fn;
    kiln_error err = {};
    REQUIRE(kiln_wheel_filename_parse("demo-1.0-py3-none-any.whl", &fn, &err) == 0);
    CHECK(std::string(fn.name) == "demo");
    CHECK(std::string(fn.version) == "1.0");
    CHECK(fn.build == nullptr);
    CHECK(std::string(fn.platform) == "any");

    REQUIRE(kiln_wheel_filename_parse("demo-1.0-1b-py2.py3-none-any.whl", &fn, &err) == 0);
    CHECK(std::string(fn.build) == "1b");
    json_t *tags = kiln_wheel_filename_tags(&fn);
    REQUIRE(json_array_size(tags) == 2);
    CHECK(std::string(json_string_value(json_array_get(tags, 0))) == "py2-none-any");
    CHECK(std::string(json_string_value(json_array_get(tags, 1))) == "py3-none-any");
    json_decref(tags);

    REQUIRE(kiln_wheel_filename_parse("x-2.0+g1a2b-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", &fn, &err) == 0);
    tags = kiln_wheel_filename_tags(&fn);
    CHECK(json_array_size(tags) == 2);
    json_decref(tags);

    struct {
        const char *name, *why;
    } bad[] = {{"demo-1.0-x-py3-none-any.whl", "must start with a digit"},
               {"demo-1.0-py3-none.whl", "5 or 6 parts"},
               {"demo-1.0-1-2-py3-none-any.whl", "more than 6 parts"},
               {"demo-1.0-py3-none-any.zip", "does not end in '.whl'"},
               {"de mo-1.0-py3-none-any.whl", "invalid distribution name"},
               {"demo-1.0.x-py3-none-any.whl", "invalid version"},
               {"demo-1.0-py3-none-an$y.whl", "platform tag"},
               {"demo-1.0-py3..x-none-any.whl", "python tag"},
               {"dir/demo-1.0-py3-none-any.whl", "directory part"}};
    for (auto &b : bad) {
        INFO(b.name);
        err = {};
        CHECK(kiln_wheel_filename_parse(b.name, &fn, &err) == KILN_EINVAL);
        CHECK(std::string(err.message).find(b.why) != std::string::npos);
    }
}

TEST_CASE("RECORD: URL-safe base64 sha256, CSV rows with quotes, bad rows named by line", "[wheel][record]") {
    char h[128];
    REQUIRE(kiln_wheel_hash_buffer("", 0, h, sizeof h) == 0);
    CHECK(std::string(h) == "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    REQUIRE(kiln_wheel_hash_from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", h, sizeof h) == 0);
    CHECK(std::string(h) == "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    CHECK(kiln_wheel_hash_from_hex("xyz", h, sizeof h) == KILN_EINVAL);

    kiln_error err = {};
    CHECK(kiln_wheel_hasher_new("md5", &err) == nullptr);
    CHECK(std::string(err.message).find("insecure") != std::string::npos);
    CHECK(kiln_wheel_hasher_new("crc32", &err) == nullptr);
    kiln_wheel_hasher *hs = kiln_wheel_hasher_new("sha512", &err);
    REQUIRE(hs);
    kiln_wheel_hasher_update(hs, "abc", 3);
    REQUIRE(kiln_wheel_hasher_finish(hs, h, sizeof h) == 0);
    CHECK(std::string(h).rfind("sha512=3a81oZNherrMQXNJriBBMRLm-k6JqX6iCp7u5ktV05ohkpkqJ0", 0) == 0);
    kiln_wheel_hasher_free(hs);

    const char text[] = "a/x.py,sha256=abc,12\r\n\"a/with,comma.py\",sha256=def,3\n\n\"q\"\"uote\",,\nRECORD,,";
    kiln_wheel_record rec = {};
    REQUIRE(kiln_wheel_record_parse(text, sizeof text - 1, &rec, &err) == 0);
    REQUIRE(rec.count == 4);
    CHECK(std::string(rec.rows[0].path) == "a/x.py");
    CHECK(std::string(rec.rows[0].size) == "12");
    CHECK(std::string(rec.rows[1].path) == "a/with,comma.py");
    CHECK(std::string(rec.rows[2].path) == "q\"uote");
    CHECK(std::string(rec.rows[2].hash).empty());
    CHECK(rec.rows[3].line == 5);
    kiln_wheel_record_clear(&rec);

    const char bad[] = "a.py,sha256=x,1\nb.py,sha256=y\n";
    CHECK(kiln_wheel_record_parse(bad, sizeof bad - 1, &rec, &err) == KILN_EFORMAT);
    CHECK(std::string(err.message) == "RECORD line 2: expected 3 fields (path,hash,size), got 2");
    kiln_wheel_record_clear(&rec);
    const char open_quote[] = "\"a.py,sha256=x,1\n";
    CHECK(kiln_wheel_record_parse(open_quote, sizeof open_quote - 1, &rec, &err) == KILN_EFORMAT);
    kiln_wheel_record_clear(&rec);

    char *buf = nullptr;
    size_t len = 0, cap = 0;
    REQUIRE(kiln_wheel_csv_append(&buf, &len, &cap, "a,\"b", 0) == 0);
    REQUIRE(kiln_wheel_csv_append(&buf, &len, &cap, "plain", 1) == 0);
    CHECK(std::string(buf) == "\"a,\"\"b\",plain\n");
    free(buf);
}

TEST_CASE("manylinux tags and policies", "[wheel][policy]") {
    int minor = 0;
    char arch[32];
    REQUIRE(kiln_manylinux_parse_tag("manylinux_2_17_x86_64", &minor, arch, sizeof arch));
    CHECK(minor == 17);
    CHECK(std::string(arch) == "x86_64");
    REQUIRE(kiln_manylinux_parse_tag("manylinux2014_aarch64", &minor, arch, sizeof arch));
    CHECK(minor == 17);
    CHECK(std::string(arch) == "aarch64");
    REQUIRE(kiln_manylinux_parse_tag("manylinux1_i686", &minor, arch, sizeof arch));
    CHECK(minor == 5);
    REQUIRE(kiln_manylinux_parse_tag("manylinux2010_x86_64", &minor, arch, sizeof arch));
    CHECK(minor == 12);
    CHECK_FALSE(kiln_manylinux_parse_tag("linux_x86_64", &minor, arch, sizeof arch));
    CHECK_FALSE(kiln_manylinux_parse_tag("manylinux_3_1_x86_64", &minor, arch, sizeof arch));
    CHECK(kiln_linux_parse_tag("linux_x86_64", arch, sizeof arch));

    CHECK(kiln_version_compare("2.2.5", "2.17") < 0);
    CHECK(kiln_version_compare("3.4.30", "3.4.9") > 0);
    CHECK(kiln_version_compare("2.17", "2.17") == 0);
    CHECK(kiln_version_compare("2.17", "2.17.1") < 0);

    const char *rest = nullptr;
    CHECK(kiln_manylinux_ns_of("GLIBCXX_3.4.30", &rest) == KILN_NS_GLIBCXX);
    CHECK(std::string(rest) == "3.4.30");
    CHECK(kiln_manylinux_ns_of("GLIBC_2.34", &rest) == KILN_NS_GLIBC);
    CHECK(kiln_manylinux_ns_of("GCC_3.0", &rest) == KILN_NS_GCC);
    CHECK(kiln_manylinux_ns_of("CXXABI_TM_1", &rest) == KILN_NS_CXXABI);
    CHECK(kiln_manylinux_ns_of("OPENSSL_3.0.0", &rest) == -1);

    const kiln_manylinux_policy *p17 = kiln_manylinux_find("x86_64", 17), *p24 = kiln_manylinux_find("x86_64", 24);
    REQUIRE(p17);
    REQUIRE(p24);
    CHECK(std::string(p17->alias) == "manylinux2014");
    CHECK(kiln_manylinux_allows(p17, KILN_NS_GLIBC, "2.17"));
    CHECK(kiln_manylinux_allows(p17, KILN_NS_GLIBC, "2.2.5"));
    CHECK_FALSE(kiln_manylinux_allows(p17, KILN_NS_GLIBC, "2.18"));
    CHECK_FALSE(kiln_manylinux_allows(p17, KILN_NS_GLIBC, "PRIVATE"));
    CHECK(kiln_manylinux_allows(p17, KILN_NS_GLIBCXX, "3.4.19"));
    CHECK_FALSE(kiln_manylinux_allows(p17, KILN_NS_GLIBCXX, "3.4.20"));
    CHECK(kiln_manylinux_allows(p17, KILN_NS_CXXABI, "TM_1"));
    CHECK_FALSE(kiln_manylinux_allows(p17, KILN_NS_CXXABI, "FLOAT128"));
    CHECK(kiln_manylinux_allows(p24, KILN_NS_CXXABI, "FLOAT128"));
    CHECK(kiln_manylinux_allows_lib(p17, "libc.so.6"));
    CHECK(kiln_manylinux_allows_lib(p17, "ld-linux-x86-64.so.2"));
    CHECK_FALSE(kiln_manylinux_allows_lib(p17, "libssl.so.3"));
    CHECK_FALSE(kiln_manylinux_allows_lib(p17, "libmvec.so.1"));
    CHECK(kiln_manylinux_allows_lib(p24, "libmvec.so.1"));

    size_t count = 0;
    const kiln_manylinux_policy *ps = kiln_manylinux_policies("x86_64", &count);
    REQUIRE(ps);
    REQUIRE(count >= 10);
    for (size_t i = 1; i < count; i++) {
        CHECK(ps[i].glibc_minor > ps[i - 1].glibc_minor);
        for (int ns = 0; ns < KILN_NS_COUNT; ns++) CHECK(kiln_version_compare(ps[i].max[ns], ps[i - 1].max[ns]) >= 0);
    }
    CHECK(ps[count - 1].glibc_minor == 39);
    CHECK(kiln_manylinux_policies("sparc", &count) == nullptr);
    CHECK(count == 0);
}

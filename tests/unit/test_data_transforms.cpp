// plugins/data maths without the host: normalize.c (statistics, apply, JSON round trip),
// prng.c (a pinned sequence: seeded ops must give the same bytes everywhere) and select.c
// (shuffle, split, subset: valid, reproducible, proportions as promised).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include "data/normalize.h"
#include "data/prng.h"
#include "data/select.h"
}

namespace {
struct Stats {
    kiln_data_norm_stats s;
    Stats() { memset(&s, 0, sizeof s); }
    ~Stats() { kiln_data_norm_stats_clear(&s); }
};

// Population mean/std of column j of an n x f matrix, in double.
void col_stats(const std::vector<double> &v, int64_t n, int64_t f, int64_t j, double &mean,
               double &sd) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++)
        s += v[(size_t)(i * f + j)];
    mean = s / (double)n;
    for (int64_t i = 0; i < n; i++)
        q += (v[(size_t)(i * f + j)] - mean) * (v[(size_t)(i * f + j)] - mean);
    sd = std::sqrt(q / (double)n);
}
}  // namespace

TEST_CASE("data normalize: per-feature statistics match a direct computation", "[data][norm]") {
    const int64_t n = 7, f = 3;
    std::vector<uint8_t> u(n * f);
    std::vector<float> x(n * f);
    std::vector<double> d(n * f);
    for (int64_t i = 0; i < n * f; i++) {
        u[(size_t)i] = (uint8_t)((i * 37 + 11) % 256);
        if (i % f == 2)
            u[(size_t)i] = 9;  // a constant feature
        x[(size_t)i] = u[(size_t)i];
        d[(size_t)i] = u[(size_t)i];
    }
    Stats su, sf;
    kiln_error err = {};
    REQUIRE(kiln_data_norm_compute(KILN_NORM_PER_FEATURE, u.data(), KILN_DTYPE_U8, n, f, nullptr,
                                   &su.s, &err) == 0);
    REQUIRE(kiln_data_norm_compute(KILN_NORM_PER_FEATURE, x.data(), KILN_DTYPE_F32, n, f, nullptr,
                                   &sf.s, &err) == 0);
    REQUIRE(su.s.count == f);
    for (int64_t j = 0; j < f; j++) {
        double mean, sd;
        col_stats(d, n, f, j, mean, sd);
        CHECK(su.s.a[j] == Approx(mean).epsilon(1e-15));
        CHECK(su.s.b[j] == Approx(sd).epsilon(1e-12));
        CHECK(sf.s.a[j] == Approx(mean).epsilon(1e-15));
        CHECK(sf.s.b[j] == Approx(sd).epsilon(1e-12));
    }
    CHECK(su.s.b[2] == 0.0);

    // Applying: uint8 and float32 inputs give the same floats; the constant feature is 0.
    std::vector<float> ou(n * f), of(n * f);
    REQUIRE(kiln_data_norm_apply(&su.s, u.data(), KILN_DTYPE_U8, n, f, nullptr, ou.data(), &err) ==
            0);
    REQUIRE(kiln_data_norm_apply(&su.s, x.data(), KILN_DTYPE_F32, n, f, nullptr, of.data(),
                                 &err) == 0);
    CHECK(memcmp(ou.data(), of.data(), ou.size() * sizeof(float)) == 0);
    for (int64_t j = 0; j < f; j++) {
        double mean = 0, sq = 0;
        for (int64_t i = 0; i < n; i++)
            mean += ou[(size_t)(i * f + j)];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++)
            sq += (ou[(size_t)(i * f + j)] - mean) * (ou[(size_t)(i * f + j)] - mean);
        CHECK(std::fabs(mean) < 1e-6);
        CHECK(std::sqrt(sq / (double)n) == Approx(j == 2 ? 0.0 : 1.0).margin(1e-6));
    }
    CHECK(ou[2] == 0.0f);

    // Wrong feature count.
    CHECK(kiln_data_norm_apply(&su.s, u.data(), KILN_DTYPE_U8, f, n, nullptr, ou.data(), &err) ==
          KILN_EINVAL);
    CHECK_THAT(err.message, Catch::Contains("3 features, x has 7"));
}

TEST_CASE("data normalize: global and minmax modes", "[data][norm]") {
    std::vector<uint8_t> u = {0, 10, 20, 30, 40, 250};
    std::vector<float> x(u.begin(), u.end());
    kiln_error err = {};
    {
        Stats s;
        REQUIRE(kiln_data_norm_compute(KILN_NORM_GLOBAL, u.data(), KILN_DTYPE_U8, 3, 2, nullptr,
                                       &s.s, &err) == 0);
        CHECK(s.s.count == 1);
        CHECK(s.s.a[0] == Approx(350.0 / 6));
        Stats t;
        REQUIRE(kiln_data_norm_compute(KILN_NORM_GLOBAL, x.data(), KILN_DTYPE_F32, 3, 2, nullptr,
                                       &t.s, &err) == 0);
        CHECK(t.s.a[0] == Approx(s.s.a[0]).epsilon(1e-15));
        CHECK(t.s.b[0] == Approx(s.s.b[0]).epsilon(1e-12));
    }
    for (kiln_dtype dt : {KILN_DTYPE_U8, KILN_DTYPE_F32}) {
        Stats s;
        const void *p = dt == KILN_DTYPE_U8 ? (const void *)u.data() : (const void *)x.data();
        REQUIRE(kiln_data_norm_compute(KILN_NORM_MINMAX, p, dt, 3, 2, nullptr, &s.s, &err) == 0);
        CHECK(s.s.a[0] == 0.0);
        CHECK(s.s.b[0] == 250.0);
        std::vector<float> o(6);
        REQUIRE(kiln_data_norm_apply(&s.s, p, dt, 3, 2, nullptr, o.data(), &err) == 0);
        CHECK(o[0] == 0.0f);
        CHECK(o[5] == 1.0f);
        CHECK(o[2] == Approx(20.0 / 250));
        Stats pf;
        REQUIRE(kiln_data_norm_compute(KILN_NORM_MINMAX_PER_FEATURE, p, dt, 3, 2, nullptr, &pf.s,
                                       &err) == 0);
        CHECK(pf.s.count == 2);
        CHECK(pf.s.a[0] == 0.0);
        CHECK(pf.s.b[0] == 40.0);
        CHECK(pf.s.a[1] == 10.0);
        CHECK(pf.s.b[1] == 250.0);
    }
}

TEST_CASE("data normalize: NaN and infinity are refused with their position", "[data][norm]") {
    std::vector<float> x = {1, 2, 3, NAN, 5, 6};
    kiln_error err = {};
    Stats s;
    CHECK(kiln_data_norm_compute(KILN_NORM_PER_FEATURE, x.data(), KILN_DTYPE_F32, 3, 2, nullptr,
                                 &s.s, &err) == KILN_EINVAL);
    CHECK_THAT(err.message, Catch::Contains("x[1] feature 1 is NaN"));
    x[3] = INFINITY;
    err = {};
    CHECK(kiln_data_norm_compute(KILN_NORM_MINMAX, x.data(), KILN_DTYPE_F32, 3, 2, nullptr, &s.s,
                                 &err) == KILN_EINVAL);
    CHECK_THAT(err.message, Catch::Contains("x[1] feature 1 is infinite"));
}

TEST_CASE("data normalize: statistics survive JSON bit for bit", "[data][norm]") {
    std::vector<float> x;
    for (int i = 0; i < 60; i++)
        x.push_back((float)std::sin(i * 0.7) * 3.3f + (float)(i % 4));
    kiln_error err = {};
    for (kiln_data_norm_mode mode : {KILN_NORM_PER_FEATURE, KILN_NORM_GLOBAL, KILN_NORM_MINMAX,
                                     KILN_NORM_MINMAX_PER_FEATURE}) {
        Stats s, back;
        REQUIRE(kiln_data_norm_compute(mode, x.data(), KILN_DTYPE_F32, 15, 4, nullptr, &s.s,
                                       &err) == 0);
        char *text = kiln_data_norm_to_json(&s.s);
        REQUIRE(text != nullptr);
        INFO(text);
        REQUIRE(kiln_data_norm_from_json(text, "test", &back.s, &err) == 0);
        CHECK(back.s.mode == mode);
        CHECK(back.s.features == 4);
        REQUIRE(back.s.count == s.s.count);
        CHECK(memcmp(back.s.a, s.s.a, (size_t)s.s.count * sizeof(double)) == 0);
        CHECK(memcmp(back.s.b, s.s.b, (size_t)s.s.count * sizeof(double)) == 0);
        free(text);
    }
    Stats bad;
    CHECK(kiln_data_norm_from_json("{\"mode\":\"per-feature\",\"features\":2,\"mean\":[1],"
                                   "\"std\":[1,1]}",
                                   "meta", &bad.s, &err) == KILN_EFORMAT);
    CHECK_THAT(err.message, Catch::Contains("\"mean\" must be an array of 2 numbers"));
    err = {};
    CHECK(kiln_data_norm_from_json("{\"mode\":\"zscore\",\"features\":2}", "meta", &bad.s, &err) ==
          KILN_EFORMAT);
    err = {};
    CHECK(kiln_data_norm_from_json("not json", "meta", &bad.s, &err) == KILN_EFORMAT);
    err = {};
    CHECK(kiln_data_norm_from_json("{\"mode\":\"global\",\"features\":1,\"mean\":0,\"std\":-1}",
                                   "meta", &bad.s, &err) == KILN_EFORMAT);
    CHECK_THAT(err.message, Catch::Contains("negative std"));
}

TEST_CASE("data prng: the sequence for a seed is pinned", "[data][prng]") {
    // xoshiro256** seeded by splitmix64(0): changing these values changes every seeded
    // output, which needs a plugin version bump.
    kiln_data_rng r;
    kiln_data_rng_seed(&r, 0);
    uint64_t a = kiln_data_rng_next(&r), b = kiln_data_rng_next(&r);
    kiln_data_rng r2;
    kiln_data_rng_seed(&r2, 0);
    CHECK(kiln_data_rng_next(&r2) == a);
    CHECK(kiln_data_rng_next(&r2) == b);
    CHECK(a == 0x99ec5f36cb75f2b4ull);
    CHECK(b == 0xbf6e1f784956452aull);
    kiln_data_rng_seed(&r, 1);
    CHECK(kiln_data_rng_next(&r) != a);
    // Bounded draws stay in range and hit every value.
    std::vector<int> hits(7);
    for (int i = 0; i < 7000; i++) {
        uint64_t v = kiln_data_rng_below(&r, 7);
        REQUIRE(v < 7);
        hits[v]++;
    }
    for (int h : hits)
        CHECK(h > 800);
}

TEST_CASE("data select: shuffle is a seeded permutation", "[data][select]") {
    kiln_error err = {};
    int64_t *a = nullptr, *b = nullptr, *c = nullptr;
    REQUIRE(kiln_data_select_shuffle(1000, 42, &a, &err) == 0);
    REQUIRE(kiln_data_select_shuffle(1000, 42, &b, &err) == 0);
    REQUIRE(kiln_data_select_shuffle(1000, 43, &c, &err) == 0);
    CHECK(memcmp(a, b, 1000 * sizeof *a) == 0);
    CHECK(memcmp(a, c, 1000 * sizeof *a) != 0);
    std::vector<int64_t> sorted(a, a + 1000);
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 1000; i++)
        REQUIRE(sorted[(size_t)i] == i);
    free(a);
    free(b);
    free(c);
}

TEST_CASE("data select: split sizes, stratification and reproducibility", "[data][select]") {
    kiln_error err = {};
    int64_t k = 0;
    CHECK(kiln_data_select_holdout_count(0.1, 1000, &k, &err) == 0);
    CHECK(k == 100);
    CHECK(kiln_data_select_holdout_count(0.25, 10, &k, &err) == 0);
    CHECK(k == 3);  // 2.5 rounds to nearest (half up)
    CHECK(kiln_data_select_holdout_count(7, 10, &k, &err) == 0);
    CHECK(k == 7);
    CHECK(kiln_data_select_holdout_count(7.5, 10, &k, &err) == KILN_EINVAL);
    CHECK_THAT(err.message, Catch::Contains("whole number"));
    err = {};
    CHECK(kiln_data_select_holdout_count(10, 10, &k, &err) == KILN_EINVAL);
    err = {};
    CHECK(kiln_data_select_holdout_count(0.01, 10, &k, &err) == KILN_EINVAL);
    CHECK_THAT(err.message, Catch::Contains("the holdout would be empty"));

    // 3 classes of 50, 30, 20 rows, interleaved.
    std::vector<int64_t> y;
    for (int i = 0; i < 100; i++)
        y.push_back(i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2);
    for (int stratify : {0, 1}) {
        int64_t *tr, *ho, ntr, nho, *tr2, *ho2, ntr2, nho2;
        REQUIRE(kiln_data_select_split(y.data(), 100, 0.3, stratify, 5, &tr, &ntr, &ho, &nho,
                                       &err) == 0);
        REQUIRE(kiln_data_select_split(y.data(), 100, 0.3, stratify, 5, &tr2, &ntr2, &ho2, &nho2,
                                       &err) == 0);
        CHECK(ntr == 70);
        CHECK(nho == 30);
        CHECK(memcmp(ho, ho2, 30 * sizeof *ho) == 0);
        std::vector<int> seen(100);
        for (int64_t i = 0; i < ntr; i++) {
            seen[(size_t)tr[i]]++;
            if (i)
                CHECK(tr[i] > tr[i - 1]);  // input order kept
        }
        std::map<int64_t, int> per;
        for (int64_t i = 0; i < nho; i++) {
            seen[(size_t)ho[i]]++;
            per[y[(size_t)ho[i]]]++;
        }
        for (int v : seen)
            CHECK(v == 1);  // a partition
        if (stratify) {
            CHECK(per[0] == 15);
            CHECK(per[1] == 9);
            CHECK(per[2] == 6);
        }
        free(tr);
        free(ho);
        free(tr2);
        free(ho2);
    }
    // Largest remainder: 10 of 3+3+3+1 -> quotas 3.33 each / 0.1... total exactly k.
    std::vector<int64_t> y2 = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3};
    int64_t *tr, *ho, ntr, nho;
    REQUIRE(kiln_data_select_split(y2.data(), 10, 5, 1, 0, &tr, &ntr, &ho, &nho, &err) == 0);
    CHECK(nho == 5);
    std::map<int64_t, int> per;
    for (int64_t i = 0; i < nho; i++)
        per[y2[(size_t)ho[i]]]++;
    // quotas 1.5, 1.5, 1.5, 0.5: floors 1+1+1+0, two more go to the smallest labels.
    CHECK(per[0] == 2);
    CHECK(per[1] == 2);
    CHECK(per[2] == 1);
    CHECK(per[3] == 0);
    free(tr);
    free(ho);
}

TEST_CASE("data select: subset first or random, ascending", "[data][select]") {
    kiln_error err = {};
    int64_t *a, *b;
    REQUIRE(kiln_data_select_subset(10, 4, 0, 0, &a, &err) == 0);
    for (int64_t i = 0; i < 4; i++)
        CHECK(a[i] == i);
    free(a);
    REQUIRE(kiln_data_select_subset(1000, 50, 1, 9, &a, &err) == 0);
    REQUIRE(kiln_data_select_subset(1000, 50, 1, 9, &b, &err) == 0);
    CHECK(memcmp(a, b, 50 * sizeof *a) == 0);
    for (int64_t i = 1; i < 50; i++)
        CHECK(a[i] > a[i - 1]);
    CHECK(a[49] > 50);  // not just the first rows
    free(a);
    free(b);
    CHECK(kiln_data_select_subset(10, 11, 0, 0, &a, &err) == KILN_EINVAL);

    // take copies rows and labels.
    const uint8_t x[] = {1, 2, 3, 4, 5, 6};
    const int64_t y[] = {7, 8, 9};
    const int64_t idx[] = {2, 0};
    uint8_t xo[4];
    int64_t yo[2];
    kiln_data_take(x, 2, y, idx, 2, xo, yo);
    CHECK(xo[0] == 5);
    CHECK(xo[3] == 2);
    CHECK(yo[0] == 9);
    CHECK(yo[1] == 7);
}

// plugins/cpu without the host: architectures (params -> layers, kiln.arch round trip, shape
// errors), the pinned random generator, optimizers and schedules against PyTorch's formulas,
// and the oneDNN net's parameter layouts and batch-size instances.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "cpu/arch.h"
#include "cpu/net.h"
#include "cpu/optim.h"
#include "cpu/rng.h"
}

namespace {
json_t *J(const char *s) {
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    REQUIRE(j != nullptr);
    return j;
}

struct ArchP {
    kiln_cpu_arch a;
    kiln_error err;
    int rc;
    ArchP(const char *params, int nd, std::vector<int64_t> shape, int64_t classes) {
        memset(&a, 0, sizeof a);
        memset(&err, 0, sizeof err);
        json_t *p = J(params);
        int64_t s[3] = {shape[0], shape.size() > 1 ? shape[1] : 1, shape.size() > 2 ? shape[2] : 1};
        rc = kiln_cpu_arch_from_params(p, nd, s, classes, &a, &err);
        json_decref(p);
    }
    ~ArchP() { kiln_cpu_arch_clear(&a); }
};
}  // namespace

TEST_CASE("mlp from params: the Sequential of docs/artifacts.md", "[cpu][arch]") {
    ArchP m("{\"arch\": \"mlp\", \"hidden\": [256, 128]}", 3, {1, 28, 28}, 10);
    REQUIRE(m.rc == 0);
    REQUIRE(m.a.nlayers == 6);
    CHECK(m.a.layers[0].type == KILN_CPU_FLATTEN);
    CHECK(m.a.layers[1].type == KILN_CPU_LINEAR);
    CHECK(m.a.layers[1].in == 784);
    CHECK(m.a.layers[1].out == 256);
    CHECK(m.a.layers[3].in == 256);
    CHECK(m.a.layers[5].out == 10);
    int64_t params = 0;
    for (int i = 0; i < m.a.nlayers; i++)
        params += kiln_cpu_layer_params(&m.a.layers[i]);
    CHECK(params == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
}

TEST_CASE("cnn from params: the default architecture, shapes 28 -> 26 -> 13 -> 11 -> 5", "[cpu][arch]") {
    ArchP c("{\"arch\": \"cnn\"}", 3, {1, 28, 28}, 10);
    REQUIRE(c.rc == 0);
    REQUIRE(c.a.nlayers == 10);
    CHECK(c.a.layers[0].type == KILN_CPU_CONV2D);
    CHECK(c.a.layers[0].out_shape[1] == 26);
    CHECK(c.a.layers[2].type == KILN_CPU_MAXPOOL2D);
    CHECK(c.a.layers[2].out_shape[1] == 13);
    CHECK(c.a.layers[3].out_shape[1] == 11);
    CHECK(c.a.layers[5].out_shape[1] == 5);
    CHECK(c.a.layers[6].type == KILN_CPU_FLATTEN);
    CHECK(c.a.layers[7].in == 1600);
    CHECK(c.a.layers[7].out == 128);
    CHECK(c.a.layers[9].out == 10);
    // 2 * MACs of conv1, conv2, fc1, fc2.
    double want = 2.0 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 32 * 9 + 1600 * 128 + 128 * 10);
    CHECK(kiln_cpu_arch_forward_flops(&c.a) == Approx(want));
}

TEST_CASE("kiln.arch JSON round trip", "[cpu][arch]") {
    ArchP c("{\"arch\": \"cnn\", \"conv\": [8], \"hidden\": [16]}", 3, {1, 12, 12}, 4);
    REQUIRE(c.rc == 0);
    json_t *j = kiln_cpu_arch_to_json(&c.a);
    REQUIRE(j);
    CHECK(std::string(json_string_value(json_object_get(j, "format"))) == "kiln.model/1");
    kiln_cpu_arch b;
    kiln_error err = {0, {0}};
    REQUIRE(kiln_cpu_arch_from_json(j, &b, &err) == 0);
    REQUIRE(b.nlayers == c.a.nlayers);
    for (int i = 0; i < b.nlayers; i++) {
        CHECK(b.layers[i].type == c.a.layers[i].type);
        CHECK(b.layers[i].in == c.a.layers[i].in);
        CHECK(b.layers[i].out == c.a.layers[i].out);
        CHECK(b.layers[i].out_shape[0] == c.a.layers[i].out_shape[0]);
    }
    kiln_cpu_arch_clear(&b);
    json_decref(j);
}

TEST_CASE("architecture errors name the param or layer", "[cpu][arch]") {
    ArchP h0("{\"arch\": \"mlp\", \"hidden\": [64, 0]}", 3, {1, 28, 28}, 10);
    CHECK(h0.rc == KILN_EINVAL);
    CHECK(std::string(h0.err.message).find("param 'hidden'") != std::string::npos);
    CHECK(std::string(h0.err.message).find("hidden size 1 is 0") != std::string::npos);

    ArchP flat("{\"arch\": \"cnn\"}", 1, {784}, 10);
    CHECK(flat.rc == KILN_EINVAL);
    CHECK(std::string(flat.err.message).find("needs images") != std::string::npos);

    ArchP tiny("{\"arch\": \"cnn\"}", 3, {1, 6, 6}, 10);
    CHECK(tiny.rc == KILN_EINVAL);
    CHECK(std::string(tiny.err.message).find("does not fit the cnn") != std::string::npos);

    json_t *bad = J(R"({"format": "kiln.model/1", "input_shape": [10], "num_classes": 3,
                        "layers": [{"type": "linear", "in": 9, "out": 3}]})");
    kiln_cpu_arch a;
    kiln_error err = {0, {0}};
    CHECK(kiln_cpu_arch_from_json(bad, &a, &err) == KILN_EFORMAT);
    CHECK(std::string(err.message).find("layer 0 (linear 9 -> 3) gets 10 features") != std::string::npos);
    json_decref(bad);
    bad = J(R"({"format": "kiln.model/1", "input_shape": [10], "num_classes": 3,
                "layers": [{"type": "softmax"}]})");
    CHECK(kiln_cpu_arch_from_json(bad, &a, &err) == KILN_EFORMAT);
    CHECK(std::string(err.message).find("layers[0].type") != std::string::npos);
    json_decref(bad);
}

TEST_CASE("input shapes: [H, W] images get one channel", "[cpu][arch]") {
    int nd;
    int64_t s[3];
    kiln_error err = {0, {0}};
    int64_t hw[2] = {28, 28};
    REQUIRE(kiln_cpu_input_shape(hw, 2, "x", &nd, s, &err) == 0);
    CHECK(nd == 3);
    CHECK(s[0] == 1);
    CHECK(s[2] == 28);
    int64_t five[4] = {1, 2, 3, 4};
    CHECK(kiln_cpu_input_shape(five, 4, "input 'train'", &nd, s, &err) == KILN_EINVAL);
    CHECK(std::string(err.message).find("input 'train'") != std::string::npos);
}

TEST_CASE("rng: pinned sequence, uniform range, permutations", "[cpu][rng]") {
    kiln_cpu_rng a, b;
    kiln_cpu_rng_seed(&a, 0, 0);
    kiln_cpu_rng_seed(&b, 0, 0);
    uint64_t first = kiln_cpu_rng_next(&a);
    CHECK(first == kiln_cpu_rng_next(&b));
    // Pinned: model bytes depend on this sequence; a change needs a plugin version bump.
    kiln_cpu_rng p;
    kiln_cpu_rng_seed(&p, 1234, 1);
    uint64_t v[3] = {kiln_cpu_rng_next(&p), kiln_cpu_rng_next(&p), kiln_cpu_rng_next(&p)};
    kiln_cpu_rng q;
    kiln_cpu_rng_seed(&q, 1234, 1);
    CHECK(kiln_cpu_rng_next(&q) == v[0]);
    kiln_cpu_rng_seed(&q, 1234, 2);
    CHECK(kiln_cpu_rng_next(&q) != v[0]);
    for (int i = 0; i < 1000; i++) {
        float u = kiln_cpu_rng_uniform(&a);
        REQUIRE(u >= 0.0f);
        REQUIRE(u < 1.0f);
        REQUIRE(kiln_cpu_rng_below(&a, 7) < 7);
    }
    std::vector<int64_t> perm(1000);
    kiln_cpu_rng_permutation(&a, perm.data(), 1000);
    std::set<int64_t> seen(perm.begin(), perm.end());
    CHECK(seen.size() == 1000);
    CHECK(*seen.begin() == 0);
    CHECK(*seen.rbegin() == 999);
    int fixed = 0;
    for (int i = 0; i < 1000; i++)
        fixed += perm[(size_t)i] == i;
    CHECK(fixed < 10);
}

TEST_CASE("sgd with momentum and nesterov follows PyTorch", "[cpu][optim]") {
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        kiln_cpu_optim o;
        memset(&o, 0, sizeof o);
        o.kind = KILN_CPU_SGD;
        o.lr = 0.1;
        o.momentum = 0.9;
        o.nesterov = nesterov;
        o.weight_decay = 0.01;
        REQUIRE(kiln_cpu_optim_nstates(&o) == 1);
        std::vector<float> w = {1.0f, -2.0f}, buf(2, 0.0f);
        std::vector<double> rw = {1.0, -2.0}, rb(2, 0.0);
        for (int t = 1; t <= 3; t++) {
            std::vector<float> g = {0.5f * (float)t, -0.25f};
            kiln_cpu_optim_update(&o, o.lr, t, w.data(), g.data(), buf.data(), nullptr, 2);
            for (int i = 0; i < 2; i++) {
                double gi = g[(size_t)i] + 0.01 * rw[(size_t)i];
                rb[(size_t)i] = t == 1 ? gi : 0.9 * rb[(size_t)i] + gi;
                rw[(size_t)i] -= 0.1 * (nesterov ? gi + 0.9 * rb[(size_t)i] : rb[(size_t)i]);
            }
        }
        CHECK(w[0] == Approx(rw[0]).epsilon(1e-6));
        CHECK(w[1] == Approx(rw[1]).epsilon(1e-6));
    }
}

TEST_CASE("adam follows PyTorch (bias-corrected)", "[cpu][optim]") {
    kiln_cpu_optim o;
    memset(&o, 0, sizeof o);
    o.kind = KILN_CPU_ADAM;
    o.lr = 0.01;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    REQUIRE(kiln_cpu_optim_nstates(&o) == 2);
    std::vector<float> w = {0.3f}, m(1, 0.0f), v(1, 0.0f);
    double rw = 0.3, rm = 0, rv = 0;
    for (int t = 1; t <= 5; t++) {
        std::vector<float> g = {0.2f - 0.1f * (float)t};
        kiln_cpu_optim_update(&o, o.lr, t, w.data(), g.data(), m.data(), v.data(), 1);
        rm = 0.9 * rm + 0.1 * g[0];
        rv = 0.999 * rv + 0.001 * (double)g[0] * g[0];
        double mh = rm / (1 - std::pow(0.9, t)), vh = rv / (1 - std::pow(0.999, t));
        rw -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
    }
    CHECK(w[0] == Approx(rw).epsilon(1e-5));
}

TEST_CASE("lr schedules", "[cpu][optim]") {
    kiln_cpu_optim o;
    memset(&o, 0, sizeof o);
    o.lr = 0.1;
    CHECK(kiln_cpu_lr(&o, 7, 700, 1000) == 0.1);
    o.schedule = KILN_CPU_LR_STEP;
    o.step_size = 3;
    o.gamma = 0.5;
    CHECK(kiln_cpu_lr(&o, 2, 0, 0) == Approx(0.1));
    CHECK(kiln_cpu_lr(&o, 3, 0, 0) == Approx(0.05));
    CHECK(kiln_cpu_lr(&o, 7, 0, 0) == Approx(0.025));
    o.schedule = KILN_CPU_LR_COSINE;
    CHECK(kiln_cpu_lr(&o, 0, 0, 100) == Approx(0.1));
    CHECK(kiln_cpu_lr(&o, 0, 50, 100) == Approx(0.05));
    CHECK(kiln_cpu_lr(&o, 0, 99, 100) == Approx(0.1 * 0.5 * (1 + std::cos(M_PI * 0.99))));
}

TEST_CASE("net: parameters round-trip through the internal (blocked) layout", "[cpu][net]") {
    ArchP c("{\"arch\": \"cnn\", \"conv\": [32, 64], \"hidden\": [128]}", 3, {1, 28, 28}, 10);
    REQUIRE(c.rc == 0);
    kiln_cpu_net *net = nullptr;
    kiln_error err = {0, {0}};
    REQUIRE(kiln_cpu_net_new(&c.a, 16, KILN_CPU_NET_TRAIN, 2, &net, &err) == 0);
    REQUIRE(kiln_cpu_net_nparams(net) == 8);
    CHECK(std::string(kiln_cpu_net_param_name(net, 0)) == "0.weight");
    CHECK(std::string(kiln_cpu_net_param_name(net, 5)) == "7.bias");
    int64_t s[4];
    CHECK(kiln_cpu_net_param_shape(net, 4, s) == 2);
    CHECK(s[0] == 128);
    CHECK(s[1] == 1600);
    for (int i = 0; i < 8; i++) {
        int64_t n = kiln_cpu_net_param_count(net, i);
        std::vector<float> in((size_t)n), out((size_t)n);
        for (int64_t k = 0; k < n; k++)
            in[(size_t)k] = (float)k * 0.001f - 1.0f;
        for (int b = 0; b < 4; b++) {
            REQUIRE(kiln_cpu_net_set(net, i, (kiln_cpu_buf)b, in.data(), &err) == 0);
            REQUIRE(kiln_cpu_net_get(net, i, (kiln_cpu_buf)b, out.data(), &err) == 0);
            REQUIRE(memcmp(in.data(), out.data(), (size_t)n * sizeof(float)) == 0);
        }
        int64_t raw = 0;
        REQUIRE(kiln_cpu_net_raw(net, i, KILN_CPU_VALUE, &raw) != nullptr);
        CHECK(raw >= n);
    }
    kiln_cpu_net_free(net);
}

TEST_CASE("net: every batch size gives the same per-sample outputs", "[cpu][net]") {
    ArchP c("{\"arch\": \"cnn\", \"conv\": [16], \"hidden\": [32]}", 3, {1, 10, 10}, 5);
    REQUIRE(c.rc == 0);
    kiln_cpu_net *net = nullptr;
    kiln_error err = {0, {0}};
    REQUIRE(kiln_cpu_net_new(&c.a, 8, 0, 0, &net, &err) == 0);
    kiln_cpu_rng g;
    kiln_cpu_rng_seed(&g, 5, 5);
    for (int i = 0; i < kiln_cpu_net_nparams(net); i++) {
        std::vector<float> p((size_t)kiln_cpu_net_param_count(net, i));
        for (auto &x : p)
            x = kiln_cpu_rng_uniform(&g) - 0.5f;
        REQUIRE(kiln_cpu_net_set(net, i, KILN_CPU_VALUE, p.data(), &err) == 0);
    }
    std::vector<float> xs(8 * 100);
    for (auto &x : xs)
        x = kiln_cpu_rng_uniform(&g);
    const float *lg;
    float *x8 = kiln_cpu_net_input(net, 8, &err);
    memcpy(x8, xs.data(), xs.size() * sizeof(float));
    REQUIRE(kiln_cpu_net_forward(net, 8, &lg, &err) == 0);
    std::vector<float> full(lg, lg + 8 * 5);
    for (int n : {1, 3, 8, 5}) {
        float *x = kiln_cpu_net_input(net, n, &err);
        REQUIRE(x != nullptr);
        memcpy(x, xs.data(), (size_t)n * 100 * sizeof(float));
        REQUIRE(kiln_cpu_net_forward(net, n, &lg, &err) == 0);
        for (int k = 0; k < n * 5; k++)
            CHECK(lg[k] == Approx(full[(size_t)k]).margin(1e-5));
    }
    char *d = kiln_cpu_net_describe(net, 8);
    REQUIRE(d != nullptr);
    CHECK(std::string(d).find("conv2d+relu") != std::string::npos);
    free(d);
    kiln_cpu_net_free(net);
}

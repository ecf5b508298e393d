// plugins/cpu gradients: finite-difference checks of every layer type the oneDNN net runs
// (linear, conv2d, max pooling, ReLU fused and standalone) and of softmax cross-entropy.
//
// For a net f(x; params) -> logits and a fixed random R, the scalar L = sum(logits * R) has
// d L / d logits = R: feeding R as the output gradient, the net's backward must give the
// same numbers as central differences of L in every parameter and input element checked.
// These nets are piecewise linear, so central differences are exact up to float rounding
// unless a perturbation crosses a ReLU / max-pool kink; random data makes that rare, and a
// case tolerates at most one such element.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

extern "C" {
#include "cpu/arch.h"
#include "cpu/loss.h"
#include "cpu/net.h"
#include "cpu/rng.h"
}

namespace {

struct Arch {
    kiln_cpu_arch a;
    explicit Arch(const char *json) {
        memset(&a, 0, sizeof a);
        json_error_t je;
        json_t *j = json_loads(json, 0, &je);
        REQUIRE(j != nullptr);
        kiln_error err = {0, {0}};
        int rc = kiln_cpu_arch_from_json(j, &a, &err);
        json_decref(j);
        INFO(err.message);
        REQUIRE(rc == 0);
    }
    ~Arch() { kiln_cpu_arch_clear(&a); }
};

struct Net {
    kiln_cpu_net *net = nullptr;
    Net(const kiln_cpu_arch *a, int n, unsigned flags) {
        kiln_error err = {0, {0}};
        int rc = kiln_cpu_net_new(a, n, flags, 0, &net, &err);
        INFO(err.message);
        REQUIRE(rc == 0);
    }
    ~Net() { kiln_cpu_net_free(net); }
};

std::vector<float> random_vec(kiln_cpu_rng *g, size_t n, float scale) {
    std::vector<float> v(n);
    for (auto &x : v)
        x = (2.0f * kiln_cpu_rng_uniform(g) - 1.0f) * scale;
    return v;
}

// L = sum(logits * R) for the current params and input xs.
double objective(kiln_cpu_net *net, int n, const std::vector<float> &xs, const std::vector<float> &r) {
    kiln_error err = {0, {0}};
    float *x = kiln_cpu_net_input(net, n, &err);
    REQUIRE(x != nullptr);
    memcpy(x, xs.data(), xs.size() * sizeof(float));
    const float *logits = nullptr;
    REQUIRE(kiln_cpu_net_forward(net, n, &logits, &err) == 0);
    double s = 0;
    for (size_t i = 0; i < r.size(); i++)
        s += (double)logits[i] * (double)r[i];
    return s;
}

// Compares an analytic gradient with central differences at up to `samples` elements.
// perturb(i, delta) sets element i to base + delta and returns the delta actually applied.
template <typename Set>
int check_elements(const char *what, const std::vector<float> &analytic, size_t count, int samples,
                   kiln_cpu_rng *g, Set perturb, std::function<double()> f) {
    int bad = 0;
    const float eps = 1e-3f;
    for (int k = 0; k < samples; k++) {
        size_t i = count <= (size_t)samples ? (size_t)k : (size_t)kiln_cpu_rng_below(g, count);
        if (i >= count)
            break;
        double dp = perturb(i, eps);
        double fp = f();
        double dm = perturb(i, -eps);
        double fm = f();
        perturb(i, 0);
        double fd = (fp - fm) / (dp - dm);
        double an = analytic[i];
        double tol = 3e-3 + 2e-2 * std::fabs(an);
        if (std::fabs(fd - an) > tol) {
            bad++;
            WARN(what << "[" << i << "]: analytic " << an << ", finite difference " << fd);
        }
    }
    return bad;
}

// Checks every parameter's gradient and (when input_grad) the input gradient of `arch_json`.
void grad_check(const char *arch_json, int n, int max_bad) {
    Arch A(arch_json);
    Net N(&A.a, n, KILN_CPU_NET_TRAIN | KILN_CPU_NET_INPUT_GRAD);
    kiln_cpu_net *net = N.net;
    kiln_cpu_rng g;
    kiln_cpu_rng_seed(&g, 42, 7);
    kiln_error err = {0, {0}};
    const int np = kiln_cpu_net_nparams(net);
    std::vector<std::vector<float>> params(np);
    for (int i = 0; i < np; i++) {
        params[i] = random_vec(&g, (size_t)kiln_cpu_net_param_count(net, i), 0.5f);
        REQUIRE(kiln_cpu_net_set(net, i, KILN_CPU_VALUE, params[i].data(), &err) == 0);
    }
    const int64_t f = kiln_cpu_net_in_features(net), c = A.a.num_classes;
    std::vector<float> xs = random_vec(&g, (size_t)(n * f), 1.0f);
    std::vector<float> r = random_vec(&g, (size_t)(n * c), 1.0f);

    objective(net, n, xs, r);
    float *dl = kiln_cpu_net_dlogits(net, n, &err);
    REQUIRE(dl != nullptr);
    memcpy(dl, r.data(), r.size() * sizeof(float));
    REQUIRE(kiln_cpu_net_backward(net, n, &err) == 0);
    std::vector<std::vector<float>> grads(np);
    for (int i = 0; i < np; i++) {
        grads[i].resize(params[i].size());
        REQUIRE(kiln_cpu_net_get(net, i, KILN_CPU_GRAD, grads[i].data(), &err) == 0);
    }
    const float *dxp = kiln_cpu_net_dinput(net, n);
    REQUIRE(dxp != nullptr);
    std::vector<float> dx(dxp, dxp + n * f);

    int bad = 0;
    auto fobj = [&]() { return objective(net, n, xs, r); };
    for (int i = 0; i < np; i++) {
        std::vector<float> &p = params[i];
        auto perturb = [&](size_t k, float d) {
            std::vector<float> q = p;
            q[k] = p[k] + d;
            REQUIRE(kiln_cpu_net_set(net, i, KILN_CPU_VALUE, q.data(), &err) == 0);
            return (double)q[k] - (double)p[k];
        };
        bad += check_elements(kiln_cpu_net_param_name(net, i), grads[i], p.size(), 24, &g, perturb, fobj);
        REQUIRE(kiln_cpu_net_set(net, i, KILN_CPU_VALUE, p.data(), &err) == 0);
    }
    std::vector<float> x0 = xs;
    auto perturb_x = [&](size_t k, float d) {
        xs[k] = x0[k] + d;
        return (double)xs[k] - (double)x0[k];
    };
    bad += check_elements("input", dx, xs.size(), 32, &g, perturb_x, fobj);
    CHECK(bad <= max_bad);
}

}  // namespace

TEST_CASE("linear: weights, bias and input gradients", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [7], "num_classes": 5,
                   "layers": [{"type": "linear", "in": 7, "out": 5}]})",
               3, 0);
}

TEST_CASE("linear + fused relu + linear", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [6], "num_classes": 3,
                   "layers": [{"type": "linear", "in": 6, "out": 9}, {"type": "relu"},
                              {"type": "linear", "in": 9, "out": 3}]})",
               4, 1);
}

TEST_CASE("flatten of images into an MLP", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [1, 5, 4], "num_classes": 3,
                   "layers": [{"type": "flatten"}, {"type": "linear", "in": 20, "out": 6},
                              {"type": "relu"}, {"type": "linear", "in": 6, "out": 3}]})",
               3, 1);
}

TEST_CASE("conv2d with stride and padding", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [2, 7, 7], "num_classes": 3,
                   "layers": [{"type": "conv2d", "in_channels": 2, "out_channels": 4, "kernel": 3,
                               "stride": 2, "padding": 1},
                              {"type": "flatten"}, {"type": "linear", "in": 64, "out": 3}]})",
               2, 0);
}

TEST_CASE("conv2d + fused relu, 16+ channels (blocked layouts)", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [3, 6, 6], "num_classes": 4,
                   "layers": [{"type": "conv2d", "in_channels": 3, "out_channels": 16, "kernel": 3},
                              {"type": "relu"},
                              {"type": "conv2d", "in_channels": 16, "out_channels": 32, "kernel": 3},
                              {"type": "flatten"}, {"type": "linear", "in": 128, "out": 4}]})",
               2, 1);
}

TEST_CASE("max pooling", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [3, 6, 6], "num_classes": 4,
                   "layers": [{"type": "maxpool2d", "kernel": 2, "stride": 2},
                              {"type": "flatten"}, {"type": "linear", "in": 27, "out": 4}]})",
               3, 0);
}

TEST_CASE("standalone relu (first layer, and after pooling)", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [2, 4, 4], "num_classes": 3,
                   "layers": [{"type": "relu"}, {"type": "flatten"},
                              {"type": "linear", "in": 32, "out": 3}]})",
               3, 1);
    grad_check(R"({"format": "kiln.model/1", "input_shape": [16, 4, 4], "num_classes": 3,
                   "layers": [{"type": "maxpool2d", "kernel": 2, "stride": 2}, {"type": "relu"},
                              {"type": "flatten"}, {"type": "linear", "in": 64, "out": 3}]})",
               2, 1);
}

TEST_CASE("a small version of the default CNN", "[cpu][grad]") {
    grad_check(R"({"format": "kiln.model/1", "input_shape": [1, 12, 12], "num_classes": 3,
                   "layers": [{"type": "conv2d", "in_channels": 1, "out_channels": 16, "kernel": 3},
                              {"type": "relu"}, {"type": "maxpool2d", "kernel": 2, "stride": 2},
                              {"type": "conv2d", "in_channels": 16, "out_channels": 32, "kernel": 3},
                              {"type": "relu"}, {"type": "maxpool2d", "kernel": 2, "stride": 2},
                              {"type": "flatten"}, {"type": "linear", "in": 32, "out": 8},
                              {"type": "relu"}, {"type": "linear", "in": 8, "out": 3}]})",
               3, 2);
}

TEST_CASE("softmax cross-entropy: value and gradient", "[cpu][grad]") {
    const int64_t n = 4, c = 5;
    kiln_cpu_rng g;
    kiln_cpu_rng_seed(&g, 3, 0);
    std::vector<float> z = random_vec(&g, (size_t)(n * c), 3.0f);
    std::vector<int64_t> y = {0, 4, 2, 2};
    std::vector<float> dz((size_t)(n * c));
    int64_t correct = 0;
    const float scale = 1.0f / (float)n;
    double loss = kiln_cpu_xent(z.data(), y.data(), n, c, dz.data(), scale, &correct);
    // Reference value in double.
    double ref = 0;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) {
        double m = -1e30, s = 0;
        int64_t am = 0;
        for (int64_t j = 0; j < c; j++)
            if (z[(size_t)(i * c + j)] > m) {
                m = z[(size_t)(i * c + j)];
                am = j;
            }
        for (int64_t j = 0; j < c; j++)
            s += std::exp(z[(size_t)(i * c + j)] - m);
        ref += m + std::log(s) - z[(size_t)(i * c + y[(size_t)i])];
        ok += am == y[(size_t)i];
    }
    CHECK(loss == Approx(ref).epsilon(1e-12));
    CHECK(correct == ok);
    // Gradient of scale * sum by central differences.
    for (size_t k = 0; k < z.size(); k++) {
        std::vector<float> zp = z, zm = z;
        zp[k] += 1e-3f;
        zm[k] -= 1e-3f;
        double fd = scale * (kiln_cpu_xent(zp.data(), y.data(), n, c, nullptr, 0, nullptr) -
                             kiln_cpu_xent(zm.data(), y.data(), n, c, nullptr, 0, nullptr)) /
                    ((double)zp[k] - (double)zm[k]);
        CHECK(dz[k] == Approx(fd).margin(1e-5));
    }
    // Softmax rows sum to one and agree with the gradient + onehot.
    std::vector<float> p((size_t)(n * c));
    std::vector<int64_t> cls((size_t)n);
    kiln_cpu_softmax(z.data(), n, c, p.data(), cls.data());
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < c; j++) {
            s += p[(size_t)(i * c + j)];
            double want = dz[(size_t)(i * c + j)] / scale + (j == y[(size_t)i] ? 1.0 : 0.0);
            CHECK(p[(size_t)(i * c + j)] == Approx(want).margin(1e-6));
        }
        CHECK(s == Approx(1.0).epsilon(1e-6));
    }
}

TEST_CASE("softmax cross-entropy: large logits stay finite", "[cpu][grad]") {
    std::vector<float> z = {1000.0f, -1000.0f, 0.0f};
    std::vector<int64_t> y = {1};
    std::vector<float> dz(3);
    double loss = kiln_cpu_xent(z.data(), y.data(), 1, 3, dz.data(), 1.0f, nullptr);
    CHECK(loss == Approx(2000.0));
    CHECK(dz[0] == Approx(1.0));
    CHECK(dz[1] == Approx(-1.0));
}

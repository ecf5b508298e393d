// plugins/eval without the host: metrics from logits (confusion [true][pred], precision,
// recall, f1, support, accuracy, mean loss) and eval.select's decisions (best value, pairing
// metrics with models).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "eval/metrics.h"
#include "eval/select.h"
}

namespace {
json_t *J(const char *s) {
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    REQUIRE(j != nullptr);
    return j;
}
double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
}  // namespace

TEST_CASE("metrics: confusion, precision, recall, f1 by hand", "[eval]") {
    // 3 classes; predictions are the argmax of one-hot-ish logits.
    // true: 0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
    std::vector<int64_t> y = {0, 0, 0, 1, 1, 2};
    std::vector<int64_t> pred = {0, 0, 1, 1, 2, 2};
    std::vector<float> logits(6 * 3, 0.0f);
    for (size_t i = 0; i < 6; i++)
        logits[i * 3 + (size_t)pred[i]] = 2.0f;
    kiln_eval_counts c;
    REQUIRE(kiln_eval_counts_init(&c, 3) == 0);
    kiln_eval_counts_add(&c, logits.data(), y.data(), 4);
    kiln_eval_counts_add(&c, logits.data() + 12, y.data() + 4, 2);
    CHECK(c.n == 6);
    json_t *names = J(R"(["a", "b", "c"])");
    json_t *m = kiln_eval_metrics_json(&c, names);
    REQUIRE(m);
    CHECK(num(m, "accuracy") == Approx(4.0 / 6));
    CHECK(json_integer_value(json_object_get(m, "samples")) == 6);
    // loss: each row has logit 2 at the prediction, 0 elsewhere.
    double lse = std::log(std::exp(2.0) + 2.0);
    double want = (4 * (lse - 2.0) + 2 * lse) / 6;
    CHECK(num(m, "loss") == Approx(want).epsilon(1e-6));
    json_t *conf = json_object_get(m, "confusion");
    CHECK(json_integer_value(json_array_get(json_array_get(conf, 0), 0)) == 2);
    CHECK(json_integer_value(json_array_get(json_array_get(conf, 0), 1)) == 1);
    CHECK(json_integer_value(json_array_get(json_array_get(conf, 1), 2)) == 1);
    CHECK(json_integer_value(json_array_get(json_array_get(conf, 2), 2)) == 1);
    json_t *per = json_object_get(m, "per_class");
    REQUIRE(json_array_size(per) == 3);
    // class 0: tp 2, predicted 2, support 3 -> p 1, r 2/3, f1 0.8
    CHECK(num(json_array_get(per, 0), "precision") == Approx(1.0));
    CHECK(num(json_array_get(per, 0), "recall") == Approx(2.0 / 3));
    CHECK(num(json_array_get(per, 0), "f1") == Approx(0.8));
    CHECK(json_integer_value(json_object_get(json_array_get(per, 0), "support")) == 3);
    CHECK(std::string(json_string_value(json_object_get(json_array_get(per, 2), "name"))) == "c");
    // class 2: tp 1, predicted 2, support 1 -> p 0.5, r 1
    CHECK(num(json_array_get(per, 2), "precision") == Approx(0.5));
    CHECK(num(json_array_get(per, 2), "recall") == Approx(1.0));
    CHECK(json_array_size(json_object_get(m, "classes")) == 3);
    json_decref(m);
    json_decref(names);
    kiln_eval_counts_clear(&c);
}

TEST_CASE("metrics: a class never predicted and one without samples score 0, not NaN", "[eval]") {
    std::vector<int64_t> y = {0, 0};
    std::vector<float> logits = {1, 0, 0, 1, 0, 0};
    kiln_eval_counts c;
    REQUIRE(kiln_eval_counts_init(&c, 3) == 0);
    kiln_eval_counts_add(&c, logits.data(), y.data(), 2);
    json_t *m = kiln_eval_metrics_json(&c, nullptr);
    json_t *per = json_object_get(m, "per_class");
    for (size_t k = 1; k < 3; k++) {
        CHECK(num(json_array_get(per, k), "precision") == 0.0);
        CHECK(num(json_array_get(per, k), "recall") == 0.0);
        CHECK(num(json_array_get(per, k), "f1") == 0.0);
    }
    CHECK(json_object_get(m, "classes") == nullptr);
    json_decref(m);
    kiln_eval_counts_clear(&c);
}

TEST_CASE("select: best value, ties to the first, NaN never wins", "[eval]") {
    double v[] = {0.5, 0.9, 0.9, NAN, 0.1};
    CHECK(kiln_eval_best(v, 5, 1) == 1);
    CHECK(kiln_eval_best(v, 5, 0) == 4);
    double n[] = {NAN, NAN};
    CHECK(kiln_eval_best(n, 2, 1) == -1);
    CHECK(kiln_eval_best(v, 0, 1) == -1);
}

TEST_CASE("select: pairs metrics with models by digest, then sweep, then position", "[eval]") {
    json_t *m0 = J(R"({"accuracy": 0.5, "model": "bbbb"})");
    json_t *m1 = J(R"({"accuracy": 0.7})");
    json_t *mi0 = J(R"({"node": "eval[lr=0.1]", "sweep": {"lr": 0.1}})");
    json_t *mi1 = J(R"({"node": "eval[lr=0.2]", "sweep": {"lr": 0.2}})");
    json_t *d0 = J(R"({"node": "train[lr=0.2]", "digest": "aaaa", "sweep": {"lr": 0.2}})");
    json_t *d1 = J(R"({"node": "train[lr=0.1]", "digest": "bbbb", "sweep": {"lr": 0.1}})");
    const json_t *metrics[] = {m0, m1}, *minfo[] = {mi0, mi1}, *dinfo[] = {d0, d1};
    int pair[2];
    char msg[256];
    REQUIRE(kiln_eval_pair(metrics, minfo, 2, dinfo, 2, pair, msg, sizeof msg) == 0);
    CHECK(pair[0] == 1);  // by digest
    CHECK(pair[1] == 0);  // by sweep
    // No digest, no sweep, different counts: an error naming the metrics' node.
    json_t *mi2 = J(R"({"node": "eval_x"})");
    const json_t *minfo2[] = {mi2};
    const json_t *metrics2[] = {m1};
    CHECK(kiln_eval_pair(metrics2, minfo2, 1, dinfo, 2, pair, msg, sizeof msg) == -1);
    CHECK(std::string(msg).find("eval_x") != std::string::npos);
    // Same counts: by position.
    const json_t *dinfo1[] = {d0};
    REQUIRE(kiln_eval_pair(metrics2, minfo2, 1, dinfo1, 1, pair, msg, sizeof msg) == 0);
    CHECK(pair[0] == 0);
    for (json_t *j : {m0, m1, mi0, mi1, d0, d1, mi2})
        json_decref(j);
}

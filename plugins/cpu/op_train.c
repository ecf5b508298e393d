/* op_train.c -- cpu.train: trains an MLP or CNN classifier with oneDNN, one checkpoint per
 * epoch, and writes the model artifact (docs/artifacts.md).
 *
 * The loop: each epoch draws a permutation of the training set from the shuffling generator,
 * then per batch gathers the rows, runs forward, softmax cross-entropy (mean over the batch),
 * backward, and one optimizer update of every parameter at the scheduled learning rate; after
 * the epoch it evaluates the validation set, reports metrics, and replaces the checkpoint.
 * Everything that decides the bytes of the model (weights init, order, the arithmetic, the
 * metadata) depends only on the inputs, the params and the thread count; timings go to logs
 * and metrics, never into the model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifact.h"
#include "ckpt.h"
#include "common.h"
#include "loss.h"
#include "net.h"
#include "ops.h"
#include "optim.h"
#include "rng.h"

static const char train_schema[] =
    "{\"type\": \"object\","
    " \"properties\": {"
    "  \"arch\": {\"type\": \"string\", \"enum\": [\"mlp\", \"cnn\"], \"default\": \"mlp\","
    "            \"description\": \"mlp: Flatten, then Linear+ReLU per hidden size, then Linear to the "
    "classes; cnn: per 'conv' entry Conv2d(kernel)+ReLU+MaxPool2d(pool), Flatten, 'hidden' dense "
    "layers, Linear to the classes\"},"
    "  \"hidden\": {\"type\": \"array\", \"items\": {\"type\": \"integer\", \"minimum\": 1},"
    "              \"maxItems\": 64,"
    "              \"description\": \"sizes of the hidden dense layers (ReLU); default [256, 128] "
    "for mlp, [128] for cnn\"},"
    "  \"conv\": {\"type\": \"array\", \"items\": {\"type\": \"integer\", \"minimum\": 1},"
    "            \"maxItems\": 64, \"default\": [32, 64],"
    "            \"description\": \"cnn: output channels of each conv layer\"},"
    "  \"kernel\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 15, \"default\": 3,"
    "              \"description\": \"cnn: conv kernel size (stride 1)\"},"
    "  \"padding\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 7, \"default\": 0,"
    "               \"description\": \"cnn: conv zero padding\"},"
    "  \"pool\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 8, \"default\": 2,"
    "            \"description\": \"cnn: max-pooling window and stride after each conv\"},"
    "  \"epochs\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100000, \"default\": 10},"
    "  \"batch\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 65536, \"default\": 128,"
    "             \"description\": \"samples per optimizer step (the last batch of an epoch may be "
    "smaller)\"},"
    "  \"optimizer\": {\"type\": \"string\", \"enum\": [\"sgd\", \"adam\"], \"default\": \"sgd\"},"
    "  \"lr\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"default\": 0.05,"
    "          \"description\": \"learning rate (base of the schedule)\"},"
    "  \"momentum\": {\"type\": \"number\", \"minimum\": 0, \"exclusiveMaximum\": 1, \"default\": 0.9,"
    "                \"description\": \"sgd momentum (0: plain sgd)\"},"
    "  \"nesterov\": {\"type\": \"boolean\", \"default\": false,"
    "                \"description\": \"sgd: Nesterov momentum\"},"
    "  \"beta1\": {\"type\": \"number\", \"minimum\": 0, \"exclusiveMaximum\": 1, \"default\": 0.9},"
    "  \"beta2\": {\"type\": \"number\", \"minimum\": 0, \"exclusiveMaximum\": 1, \"default\": 0.999},"
    "  \"eps\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"default\": 1e-08,"
    "           \"description\": \"adam epsilon\"},"
    "  \"weight_decay\": {\"type\": \"number\", \"minimum\": 0, \"default\": 0,"
    "                    \"description\": \"L2 penalty added to the gradient (PyTorch's weight_decay)\"},"
    "  \"schedule\": {\"type\": \"string\", \"enum\": [\"constant\", \"step\", \"cosine\"],"
    "                \"default\": \"constant\","
    "                \"description\": \"step: lr * gamma^floor(epoch / step_size); cosine: annealed "
    "per step from lr to 0 over the run\"},"
    "  \"step_size\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 5,"
    "                 \"description\": \"schedule step: epochs between decays\"},"
    "  \"gamma\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"maximum\": 1, \"default\": 0.1,"
    "             \"description\": \"schedule step: decay factor\"},"
    "  \"seed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0,"
    "            \"description\": \"weights init and shuffling\"},"
    "  \"threads\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 256, \"default\": 2,"
    "               \"description\": \"CPU threads; results are identical for the same seed and "
    "threads\"}}}";

static const kiln_port_def train_inputs[] = {
    {"train", KILN_TYPE_DATASET, KILN_ONE, 0, NULL, "training set"},
    {"val", KILN_TYPE_DATASET, KILN_ONE, KILN_PORT_OPTIONAL, NULL,
     "validation set, evaluated after every epoch"},
    {NULL, 0, 0, 0, NULL, NULL}};

static const kiln_port_def train_outputs[] = {
    {"model", KILN_TYPE_MODEL, KILN_ONE, 0, "model.safetensors",
     "trained weights (PyTorch nn.Sequential state_dict) with kiln.arch and kiln.training"},
    {NULL, 0, 0, 0, NULL, NULL}};

/* Everything one training run holds; released by train_clear. */
typedef struct train_run {
    const kiln_host_api *h;
    kiln_ctx *ctx;
    const json_t *params;
    kiln_cpu_dataset train, val;
    int has_val;
    kiln_cpu_arch arch;
    kiln_cpu_optim opt;
    int nstates, batch, threads;
    int64_t epochs, seed;
    kiln_cpu_net *net;
    int64_t *perm, *labels;
    kiln_cpu_ckpt ck;
    char *fingerprint;
    kiln_error err;
} train_run;

static void train_clear(train_run *r) {
    kiln_cpu_net_free(r->net);
    kiln_cpu_dataset_close(r->h, &r->train);
    kiln_cpu_dataset_close(r->h, &r->val);
    kiln_cpu_arch_clear(&r->arch);
    kiln_cpu_ckpt_clear(&r->ck);
    free(r->perm);
    free(r->labels);
    free(r->fingerprint);
}

static int64_t pint(const json_t *p, const char *k, int64_t d) {
    const json_t *v = json_object_get(p, k);
    return json_is_integer(v) ? json_integer_value(v) : d;
}
static double pnum(const json_t *p, const char *k, double d) {
    const json_t *v = json_object_get(p, k);
    return json_is_number(v) ? json_number_value(v) : d;
}
static const char *pstr(const json_t *p, const char *k, const char *d) {
    const char *s = json_string_value(json_object_get(p, k));
    return s ? s : d;
}

/* Reads the optimizer params and checks what the schema cannot (NaN). */
static int read_optim(train_run *r) {
    const json_t *p = r->params;
    kiln_cpu_optim *o = &r->opt;
    const char *sched = pstr(p, "schedule", "constant");
    memset(o, 0, sizeof *o);
    o->kind = strcmp(pstr(p, "optimizer", "sgd"), "adam") == 0 ? KILN_CPU_ADAM : KILN_CPU_SGD;
    o->lr = pnum(p, "lr", 0.05);
    o->momentum = pnum(p, "momentum", 0.9);
    o->nesterov = json_is_true(json_object_get(p, "nesterov"));
    o->beta1 = pnum(p, "beta1", 0.9);
    o->beta2 = pnum(p, "beta2", 0.999);
    o->eps = pnum(p, "eps", 1e-8);
    o->weight_decay = pnum(p, "weight_decay", 0);
    o->schedule = strcmp(sched, "step") == 0     ? KILN_CPU_LR_STEP
                  : strcmp(sched, "cosine") == 0 ? KILN_CPU_LR_COSINE
                                                 : KILN_CPU_LR_CONSTANT;
    o->step_size = pint(p, "step_size", 5);
    o->gamma = pnum(p, "gamma", 0.1);
    if (!(o->lr > 0) || !isfinite(o->lr))
        return r->h->fail(r->ctx, "param 'lr': expected a finite number > 0, got %g", o->lr);
    if (!(o->momentum >= 0 && o->momentum < 1))
        return r->h->fail(r->ctx, "param 'momentum': expected 0 <= momentum < 1, got %g", o->momentum);
    if (o->nesterov && o->kind == KILN_CPU_SGD && o->momentum == 0)
        return r->h->fail(r->ctx, "param 'nesterov': Nesterov momentum needs 'momentum' > 0");
    if (!(o->weight_decay >= 0))
        return r->h->fail(r->ctx, "param 'weight_decay': expected >= 0, got %g", o->weight_decay);
    r->nstates = kiln_cpu_optim_nstates(o);
    return 0;
}

/* PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases. */
static int init_weights(train_run *r) {
    kiln_cpu_rng g;
    kiln_cpu_rng_seed(&g, (uint64_t)r->seed, 1);
    for (int i = 0; i < kiln_cpu_net_nparams(r->net); i++) {
        int64_t shape[4], n = kiln_cpu_net_param_count(r->net, i), fan_in;
        int64_t ws[4];
        kiln_cpu_net_param_shape(r->net, i, shape);
        int wnd = kiln_cpu_net_param_shape(r->net, i - i % 2, ws);
        fan_in = ws[1] * (wnd == 4 ? ws[2] * ws[3] : 1);
        float bound = (float)(1.0 / sqrt((double)fan_in));
        float *buf = malloc((size_t)n * sizeof *buf);
        if (!buf)
            return r->h->fail(r->ctx, "out of memory");
        for (int64_t k = 0; k < n; k++)
            buf[k] = (2.0f * kiln_cpu_rng_uniform(&g) - 1.0f) * bound;
        int rc = kiln_cpu_net_set(r->net, i, KILN_CPU_VALUE, buf, &r->err);
        free(buf);
        if (rc)
            return r->h->fail(r->ctx, "%s", r->err.message), rc;
    }
    return 0;
}

/* A string that changes whenever the run would: params, inputs, plugin version. */
static char *make_fingerprint(train_run *r) {
    json_t *f = json_object();
    const json_t *ti = r->h->input_info(r->ctx, "train", 0);
    const json_t *vi = r->has_val ? r->h->input_info(r->ctx, "val", 0) : NULL;
    json_object_set(f, "params", (json_t *)r->params);
    json_object_set_new(f, "plugin", json_string(KILN_CPU_PLUGIN_VERSION));
    if (ti && json_object_get(ti, "digest"))
        json_object_set(f, "train", json_object_get(ti, "digest"));
    if (vi && json_object_get(vi, "digest"))
        json_object_set(f, "val", json_object_get(vi, "digest"));
    json_object_set_new(f, "train_n", json_integer(r->train.d.n));
    json_object_set_new(f, "val_n", json_integer(r->has_val ? r->val.d.n : 0));
    char *s = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(f);
    return s;
}

static int cancelled_cb(void *ud) {
    train_run *r = ud;
    return r->h->cancelled(r->ctx);
}

/* Validation loss and accuracy over the whole set. */
typedef struct val_acc {
    int64_t classes;
    double loss;
    int64_t correct;
} val_acc;

static int val_chunk(void *ud, const float *logits, const int64_t *labels, int64_t start, int64_t n) {
    val_acc *a = ud;
    (void)start;
    a->loss += kiln_cpu_xent(logits, labels, n, a->classes, NULL, 0, &a->correct);
    return 0;
}

static json_t *history_json(const train_run *r, int64_t epochs_done) {
    json_t *a = json_array();
    for (int64_t e = 0; e < epochs_done; e++) {
        const double *row = r->ck.history + e * KILN_CPU_HIST_COLS;
        json_t *o = json_pack("{s:I, s:f, s:f, s:f}", "epoch", (json_int_t)row[0], "lr", row[1],
                              "train_loss", row[2], "train_accuracy", row[3]);
        if (r->has_val) {
            json_object_set_new(o, "val_loss", json_real(row[4]));
            json_object_set_new(o, "val_accuracy", json_real(row[5]));
        }
        json_array_append_new(a, o);
    }
    return a;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Opens inputs, builds the net, and restores a checkpoint or initialises the weights. */
static int setup(train_run *r) {
    const kiln_host_api *h = r->h;
    int rc;
    r->epochs = pint(r->params, "epochs", 10);
    r->batch = (int)pint(r->params, "batch", 128);
    r->seed = pint(r->params, "seed", 0);
    r->threads = (int)pint(r->params, "threads", 2);
    if (r->epochs < 1 || r->batch < 1 || r->seed < 0 || r->threads < 1)
        return h->fail(r->ctx, "params 'epochs', 'batch', 'threads' must be >= 1 and 'seed' >= 0");
    rc = read_optim(r);
    if (rc)
        return rc;
    kiln_cpu_set_threads(r->threads);
    if (h->threads(r->ctx) != r->threads)
        h->log(r->ctx, KILN_LOG_INFO,
               "running on %d threads (param 'threads'; the scheduler's slot has %d): results "
               "depend on the thread count",
               r->threads, h->threads(r->ctx));
    rc = kiln_cpu_dataset_open(h, h->input_path(r->ctx, "train", 0), "input 'train'", &r->train, &r->err);
    if (rc)
        return h->fail(r->ctx, "%s", r->err.message), rc;
    if (h->input_count(r->ctx, "val") > 0) {
        rc = kiln_cpu_dataset_open(h, h->input_path(r->ctx, "val", 0), "input 'val'", &r->val, &r->err);
        if (rc)
            return h->fail(r->ctx, "%s", r->err.message), rc;
        r->has_val = 1;
        if (r->val.d.features != r->train.d.features || r->val.in_ndim != r->train.in_ndim ||
            memcmp(r->val.in_shape, r->train.in_shape, sizeof r->val.in_shape) != 0)
            return h->fail(r->ctx,
                           "input 'val': samples have %lld features in shape [%lld, %lld, %lld], "
                           "but the training set's have %lld in [%lld, %lld, %lld]",
                           (long long)r->val.d.features, (long long)r->val.in_shape[0],
                           (long long)r->val.in_shape[1], (long long)r->val.in_shape[2],
                           (long long)r->train.d.features, (long long)r->train.in_shape[0],
                           (long long)r->train.in_shape[1], (long long)r->train.in_shape[2]);
        rc = kiln_cpu_data_check_labels(&r->val.d, r->train.d.num_classes, "input 'val'", &r->err);
        if (rc)
            return h->fail(r->ctx, "%s; the training set has %lld classes", r->err.message,
                           (long long)r->train.d.num_classes), rc;
    }
    rc = kiln_cpu_arch_from_params(r->params, r->train.in_ndim, r->train.in_shape,
                                   r->train.d.num_classes, &r->arch, &r->err);
    if (rc)
        return h->fail(r->ctx, "%s", r->err.message), rc;
    if (r->batch > r->train.d.n)
        r->batch = (int)r->train.d.n;
    rc = kiln_cpu_net_new(&r->arch, r->batch, KILN_CPU_NET_TRAIN, r->nstates, &r->net, &r->err);
    if (rc)
        return h->fail(r->ctx, "building the network: %s", r->err.message), rc;
    char *desc = kiln_cpu_net_describe(r->net, r->batch);
    if (desc) {
        h->log(r->ctx, KILN_LOG_DEBUG, "oneDNN primitives (batch %d):\n%s", r->batch, desc);
        free(desc);
    }
    r->perm = malloc((size_t)r->train.d.n * sizeof *r->perm);
    r->labels = malloc((size_t)r->batch * sizeof *r->labels);
    r->fingerprint = make_fingerprint(r);
    if (!r->perm || !r->labels || !r->fingerprint)
        return h->fail(r->ctx, "out of memory");
    const char *dir = h->checkpoint_dir(r->ctx);
    kiln_error cerr = {0};
    int got = dir ? kiln_cpu_ckpt_load(h, dir, r->net, r->nstates, &r->ck, r->fingerprint, &cerr) : 0;
    if (got == 1 && r->ck.epochs_done <= r->epochs) {
        h->log(r->ctx, KILN_LOG_INFO, "resuming from the checkpoint after epoch %lld of %lld",
               (long long)r->ck.epochs_done, (long long)r->epochs);
        return 0;
    }
    if (got < 0)
        h->log(r->ctx, KILN_LOG_WARN, "ignoring the checkpoint: %s", cerr.message);
    else if (got == 1)
        h->log(r->ctx, KILN_LOG_WARN, "ignoring a checkpoint of %lld epochs (more than 'epochs')",
               (long long)r->ck.epochs_done);
    kiln_cpu_ckpt_clear(&r->ck);
    /* Fresh start: zero the optimizer state (a failed load may have written some), init. */
    for (int i = 0; i < kiln_cpu_net_nparams(r->net); i++)
        for (int b = KILN_CPU_STATE1; b <= KILN_CPU_STATE2; b++) {
            int64_t n;
            float *s = kiln_cpu_net_raw(r->net, i, (kiln_cpu_buf)b, &n);
            if (s)
                memset(s, 0, (size_t)n * sizeof *s);
        }
    kiln_cpu_rng_seed(&r->ck.rng, (uint64_t)r->seed, 2);
    return init_weights(r);
}

/* One epoch; fills the history row. */
static int run_epoch(train_run *r, int64_t epoch, int64_t steps_per_epoch, int64_t total_steps,
                     double *row) {
    const kiln_host_api *h = r->h;
    const kiln_cpu_data *d = &r->train.d;
    const int64_t classes = d->num_classes;
    double loss_sum = 0, lr = r->opt.lr;
    int64_t correct = 0;
    int rc;
    kiln_cpu_rng_permutation(&r->ck.rng, r->perm, d->n);
    for (int64_t s = 0; s < steps_per_epoch; s++) {
        int64_t off = s * r->batch;
        int n = (int)(d->n - off < r->batch ? d->n - off : r->batch);
        const float *logits;
        if (h->cancelled(r->ctx))
            return KILN_ECANCELLED;
        float *x = kiln_cpu_net_input(r->net, n, &r->err);
        if (!x)
            return h->fail(r->ctx, "%s", r->err.message), KILN_EINTERNAL;
        kiln_cpu_data_gather(d, r->perm + off, 0, n, x, r->labels);
        rc = kiln_cpu_net_forward(r->net, n, &logits, &r->err);
        if (rc)
            return h->fail(r->ctx, "epoch %lld step %lld: %s", (long long)epoch + 1, (long long)s + 1,
                           r->err.message), rc;
        float *dl = kiln_cpu_net_dlogits(r->net, n, &r->err);
        if (!dl)
            return h->fail(r->ctx, "%s", r->err.message), KILN_EINTERNAL;
        double loss = kiln_cpu_xent(logits, r->labels, n, classes, dl, 1.0f / (float)n, &correct);
        if (!isfinite(loss))
            return h->fail(r->ctx,
                           "the loss became %s at epoch %lld, step %lld of %lld (global step %lld): "
                           "training diverged; lower 'lr' (now %g) or normalise the inputs "
                           "(data.normalize)",
                           isnan(loss) ? "NaN" : "infinite", (long long)epoch + 1, (long long)s + 1,
                           (long long)steps_per_epoch, (long long)r->ck.steps + 1, r->opt.lr);
        loss_sum += loss;
        rc = kiln_cpu_net_backward(r->net, n, &r->err);
        if (rc)
            return h->fail(r->ctx, "epoch %lld step %lld: %s", (long long)epoch + 1, (long long)s + 1,
                           r->err.message), rc;
        lr = kiln_cpu_lr(&r->opt, epoch, r->ck.steps, total_steps);
        r->ck.steps++;
        for (int i = 0; i < kiln_cpu_net_nparams(r->net); i++) {
            int64_t cnt;
            float *w = kiln_cpu_net_raw(r->net, i, KILN_CPU_VALUE, &cnt);
            float *g = kiln_cpu_net_raw(r->net, i, KILN_CPU_GRAD, NULL);
            float *s1 = r->nstates > 0 ? kiln_cpu_net_raw(r->net, i, KILN_CPU_STATE1, NULL) : NULL;
            float *s2 = r->nstates > 1 ? kiln_cpu_net_raw(r->net, i, KILN_CPU_STATE2, NULL) : NULL;
            kiln_cpu_optim_update(&r->opt, lr, r->ck.steps, w, g, s1, s2, cnt);
        }
        h->progress(r->ctx, (double)r->ck.steps, (double)total_steps, "batch");
    }
    row[0] = (double)(epoch + 1);
    row[1] = lr;
    row[2] = loss_sum / (double)d->n;
    row[3] = (double)correct / (double)d->n;
    row[4] = row[5] = NAN;
    if (r->has_val) {
        val_acc a = {classes, 0, 0};
        rc = kiln_cpu_forward_all(r->net, &r->val.d, r->batch, val_chunk, &a, cancelled_cb, r, &r->err);
        if (rc == KILN_ECANCELLED)
            return rc;
        if (rc)
            return h->fail(r->ctx, "epoch %lld: validation: %s", (long long)epoch + 1, r->err.message), rc;
        row[4] = a.loss / (double)r->val.d.n;
        row[5] = (double)a.correct / (double)r->val.d.n;
    }
    return 0;
}

static int write_model(train_run *r) {
    const kiln_host_api *h = r->h;
    json_t *t = json_object();
    json_object_set_new(t, "op", json_string("cpu.train"));
    json_object_set_new(t, "plugin_version", json_string(KILN_CPU_PLUGIN_VERSION));
    json_object_set(t, "params", (json_t *)r->params);
    json_object_set_new(t, "history", history_json(r, r->epochs));
    json_object_set_new(t, "train_samples", json_integer(r->train.d.n));
    if (r->has_val)
        json_object_set_new(t, "val_samples", json_integer(r->val.d.n));
    json_object_set_new(t, "steps", json_integer(r->ck.steps));
    json_object_set_new(t, "threads", json_integer(r->threads));
    json_object_set_new(t, "backend", json_string("cpu/oneDNN"));
    int rc = kiln_cpu_model_write(h, h->output_path(r->ctx, "model"), r->net, t, r->train.meta, &r->err);
    json_decref(t);
    if (rc)
        return h->fail(r->ctx, "writing the model: %s", r->err.message), rc;
    return 0;
}

static int run_train(const kiln_host_api *h, kiln_ctx *ctx) {
    train_run r;
    memset(&r, 0, sizeof r);
    r.h = h;
    r.ctx = ctx;
    r.params = h->params(ctx);
    int rc = setup(&r);
    if (rc) {
        train_clear(&r);
        return rc < 0 ? rc : KILN_EINVAL;
    }
    const int64_t steps_per_epoch = (r.train.d.n + r.batch - 1) / r.batch;
    const int64_t total_steps = steps_per_epoch * r.epochs;
    const double flops_per_sample = 3.0 * kiln_cpu_arch_forward_flops(&r.arch);
    const char *dir = h->checkpoint_dir(ctx);
    double *hist = realloc(r.ck.history, (size_t)r.epochs * KILN_CPU_HIST_COLS * sizeof *hist);
    if (!hist) {
        train_clear(&r);
        return h->fail(ctx, "out of memory");
    }
    r.ck.history = hist;
    int64_t nparams = 0;
    for (int i = 0; i < r.arch.nlayers; i++)
        nparams += kiln_cpu_layer_params(&r.arch.layers[i]);
    h->log(ctx, KILN_LOG_INFO,
           "cpu.train: %s, %lld parameters, %lld training samples%s, batch %d, %lld epochs, %s, "
           "%d threads",
           pstr(r.params, "arch", "mlp"), (long long)nparams, (long long)r.train.d.n,
           r.has_val ? " + validation" : "", r.batch, (long long)r.epochs,
           r.opt.kind == KILN_CPU_ADAM ? "adam" : "sgd", r.threads);
    for (int64_t e = r.ck.epochs_done; e < r.epochs; e++) {
        double t0 = now_s();
        double *row = r.ck.history + e * KILN_CPU_HIST_COLS;
        rc = run_epoch(&r, e, steps_per_epoch, total_steps, row);
        if (rc) {
            train_clear(&r);
            return rc;
        }
        double dt = now_s() - t0;
        double sps = dt > 0 ? (double)r.train.d.n / dt : 0;
        r.ck.epochs_done = e + 1;
        h->metric(ctx, "train_loss", row[2], e + 1);
        h->metric(ctx, "train_accuracy", row[3], e + 1);
        if (r.has_val) {
            h->metric(ctx, "val_loss", row[4], e + 1);
            h->metric(ctx, "val_accuracy", row[5], e + 1);
        }
        h->metric(ctx, "lr", row[1], e + 1);
        h->metric(ctx, "samples_per_s", sps, e + 1);
        if (r.has_val)
            h->log(ctx, KILN_LOG_INFO,
                   "epoch %lld/%lld: train loss %.4f acc %.4f, val loss %.4f acc %.4f, lr %.4g, "
                   "%.0f samples/s, %.1f GFLOP/s",
                   (long long)e + 1, (long long)r.epochs, row[2], row[3], row[4], row[5], row[1], sps,
                   sps * flops_per_sample * 1e-9);
        else
            h->log(ctx, KILN_LOG_INFO,
                   "epoch %lld/%lld: train loss %.4f acc %.4f, lr %.4g, %.0f samples/s, %.1f GFLOP/s",
                   (long long)e + 1, (long long)r.epochs, row[2], row[3], row[1], sps,
                   sps * flops_per_sample * 1e-9);
        if (dir) {
            kiln_error cerr = {0};
            if (kiln_cpu_ckpt_save(h, dir, r.net, r.nstates, &r.ck, r.fingerprint, &cerr))
                h->log(ctx, KILN_LOG_WARN, "epoch %lld: checkpoint not written: %s", (long long)e + 1,
                       cerr.message);
        }
        h->progress(ctx, (double)r.ck.steps, (double)total_steps, "batch");
    }
    rc = write_model(&r);
    train_clear(&r);
    return rc;
}

const kiln_op_def kiln_cpu_op_train = {
    sizeof(kiln_op_def),
    "cpu.train",
    "trains an MLP or CNN classifier with oneDNN (checkpoint per epoch, resumable)",
    train_schema,
    train_inputs,
    train_outputs,
    KILN_OP_DETERMINISTIC,
    2, /* threads: the "threads" param (default 2) wins */
    run_train,
};

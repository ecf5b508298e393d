/* net.c -- forward / backward of a kiln_cpu_arch with oneDNN primitives; see net.h.
 *
 * Structure. Parameters (param_t) belong to the net and live in one internal layout (wmd),
 * chosen by the forward primitive of the first instance (format_tag any). An instance
 * (inst_t) holds, for one batch size, a list of stages: LINEAR (inner product, optional fused
 * ReLU), CONV (direct convolution, optional fused ReLU), POOL (max pooling), RELU (a ReLU not
 * fused into a preceding layer) and FLATTEN. A flatten of a plain tensor is a reinterpretation
 * of its memory and produces no stage; a flatten of a blocked tensor (a conv / pool output,
 * nChw16c) is a FLATTEN stage: a reorder to plain NCHW (and back for the gradient), so that the
 * inner product that follows gets a 2D [N, CHW] source. An inner product could take the 4D
 * blocked source directly, but oneDNN 2.6 then runs its forward on a slow gemm path (4.5 ms
 * instead of 0.5 ms for the default CNN's 1600 -> 128 layer at batch 128); the reorder costs
 * 0.1 ms.
 *
 * When a primitive of a later instance (or a backward primitive) cannot use wmd, an adapter
 * reorder converts between wmd and what it wants, so correctness never depends on oneDNN
 * agreeing on layouts; in practice the adapters are not needed for the default models.
 */
#include "net.h"

#include <omp.h>
#include <stdarg.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_INST 8

/* One linear / conv2d layer's parameters. */
typedef struct param_t {
    int layer;                 /* arch index                                            */
    int wndim;                 /* 2 or 4: oneDNN weight dims                            */
    dnnl_dims_t wdims;
    int pt_ndim;               /* PyTorch shape of the weight                           */
    int64_t pt_shape[4];
    int have_wmd;              /* wmd chosen (by the first instance)                    */
    dnnl_memory_desc_t wmd;    /* internal layout                                       */
    dnnl_memory_desc_t wplain; /* oi / oihw                                             */
    dnnl_memory_desc_t bmd;    /* x                                                     */
    int64_t wfloats;           /* internal size in floats (with padding)                */
    int64_t wcount, out;       /* plain element counts of weight and bias               */
    float *w[4], *b[4];        /* by kiln_cpu_buf                                       */
    dnnl_memory_t wmem[2], bmem[2]; /* value, grad                                      */
    char wname[32], bname[32];
} param_t;

typedef struct reorder_t {
    dnnl_primitive_t p; /* NULL: not needed */
    dnnl_memory_t from, to;
} reorder_t;

typedef enum stage_kind { ST_LINEAR, ST_CONV, ST_POOL, ST_RELU, ST_FLATTEN } stage_kind;

typedef struct stage_t {
    stage_kind kind;
    int layer, param, relu, need_dsrc;
    dnnl_primitive_t fwd, bwd_data, bwd_w, relu_bwd;
    dnnl_memory_t src, dst, dsrc, ddst, ws;
    dnnl_memory_t w_fwd, w_bwd, dw; /* what the primitives get for weights              */
    reorder_t w_fwd_fix, w_bwd_fix, dw_fix;
} stage_t;

/* Everything an instance created, for cleanup. */
typedef struct owned_t {
    dnnl_primitive_t *prims;
    int nprims, capprims;
    dnnl_memory_t *mems;
    int nmems, capmems;
    void **bufs;
    int nbufs, capbufs;
} owned_t;

typedef struct inst_t {
    int n;
    uint64_t used;
    int nstages;
    stage_t *st;
    float *x, *dx, *logits, *dlogits;
    dnnl_memory_t xmem, dxmem;
    reorder_t out_fix, dout_fix;
    owned_t own;
} inst_t;

struct kiln_cpu_net {
    kiln_cpu_arch arch;
    unsigned flags;
    int nstates, batch;
    int64_t in_features;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    int nparam;
    param_t *p;
    inst_t *inst[MAX_INST];
    uint64_t tick;
};

void kiln_cpu_set_threads(int threads) { omp_set_num_threads(threads < 1 ? 1 : threads); }

/* ---- small helpers --------------------------------------------------------------------- */

static int dnnl_fail(kiln_error *err, int layer, const char *what, dnnl_status_t st) {
    return kiln_cpu_err(err, st == dnnl_out_of_memory ? KILN_ENOMEM : KILN_EINTERNAL,
                        "layer %d: oneDNN %s failed: %s", layer, what, dnnl_status2str(st));
}

#define TRY(call, what)                                                                    \
    do {                                                                                   \
        dnnl_status_t st_ = (call);                                                        \
        if (st_ != dnnl_success)                                                           \
            return dnnl_fail(err, layer, what, st_);                                       \
    } while (0)

static float *alloc_floats(int64_t n) {
    void *p = NULL;
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, bytes) != 0)
        return NULL;
    memset(p, 0, bytes);
    return p;
}

static int grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap)
        return 0;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*arr, (size_t)nc * elem);
    if (!q)
        return -1;
    *arr = q;
    *cap = nc;
    return 0;
}

static int own_prim(owned_t *o, dnnl_primitive_t p) {
    if (grow((void **)&o->prims, &o->capprims, o->nprims + 1, sizeof *o->prims))
        return -1;
    o->prims[o->nprims++] = p;
    return 0;
}
static int own_mem(owned_t *o, dnnl_memory_t m) {
    if (grow((void **)&o->mems, &o->capmems, o->nmems + 1, sizeof *o->mems))
        return -1;
    o->mems[o->nmems++] = m;
    return 0;
}
static int own_buf(owned_t *o, void *b) {
    if (grow((void **)&o->bufs, &o->capbufs, o->nbufs + 1, sizeof *o->bufs))
        return -1;
    o->bufs[o->nbufs++] = b;
    return 0;
}

static void owned_free(owned_t *o) {
    for (int i = 0; i < o->nprims; i++)
        dnnl_primitive_destroy(o->prims[i]);
    for (int i = 0; i < o->nmems; i++)
        dnnl_memory_destroy(o->mems[i]);
    for (int i = 0; i < o->nbufs; i++)
        free(o->bufs[i]);
    free(o->prims);
    free(o->mems);
    free(o->bufs);
    memset(o, 0, sizeof *o);
}

/* A memory object over a new zeroed buffer for `md`; *buf gets the buffer when not NULL. */
static int new_mem(kiln_cpu_net *net, owned_t *o, const dnnl_memory_desc_t *md, dnnl_memory_t *out,
                   float **buf, int layer, kiln_error *err) {
    size_t bytes = dnnl_memory_desc_get_size(md);
    float *b = alloc_floats((int64_t)(bytes / sizeof(float)) + 1);
    if (!b || own_buf(o, b)) {
        free(b);
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory (activation buffer of layer %d)", layer);
    }
    TRY(dnnl_memory_create(out, md, net->eng, b), "memory_create");
    if (own_mem(o, *out)) {
        dnnl_memory_destroy(*out);
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    }
    if (buf)
        *buf = b;
    return 0;
}

/* A memory object over an existing buffer. */
static int wrap_mem(kiln_cpu_net *net, owned_t *o, const dnnl_memory_desc_t *md, void *buf,
                    dnnl_memory_t *out, int layer, kiln_error *err) {
    TRY(dnnl_memory_create(out, md, net->eng, buf), "memory_create");
    if (own_mem(o, *out)) {
        dnnl_memory_destroy(*out);
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    }
    return 0;
}

/* Creates the primitive of `pd` (pd destroyed in all cases) and records it in `o`. */
static int make_prim(owned_t *o, dnnl_primitive_desc_t pd, dnnl_primitive_t *out, int layer,
                     const char *what, kiln_error *err) {
    dnnl_status_t st = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        return dnnl_fail(err, layer, what, st);
    if (own_prim(o, *out)) {
        dnnl_primitive_destroy(*out);
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    }
    return 0;
}

/* A reorder from memory `from` to a new buffer in `to_md` (or to memory `to` when given). */
static int make_reorder(kiln_cpu_net *net, owned_t *o, dnnl_memory_t from, const dnnl_memory_desc_t *from_md,
                        const dnnl_memory_desc_t *to_md, dnnl_memory_t to, reorder_t *r, int layer,
                        kiln_error *err) {
    dnnl_primitive_desc_t pd;
    int rc;
    if (!to) {
        rc = new_mem(net, o, to_md, &to, NULL, layer, err);
        if (rc)
            return rc;
    }
    TRY(dnnl_reorder_primitive_desc_create(&pd, from_md, net->eng, to_md, net->eng, NULL),
        "reorder_primitive_desc_create");
    rc = make_prim(o, pd, &r->p, layer, "reorder", err);
    if (rc)
        return rc;
    r->from = from;
    r->to = to;
    return 0;
}

static dnnl_status_t run_reorder(kiln_cpu_net *net, const reorder_t *r) {
    if (!r->p)
        return dnnl_success;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, r->from}, {DNNL_ARG_TO, r->to}};
    return dnnl_primitive_execute(r->p, net->strm, 2, a);
}

static const char *impl_name(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
        return "?";
    return s;
}

static int is_ref(const_dnnl_primitive_desc_t pd) { return strncmp(impl_name(pd), "ref", 3) == 0; }

static const dnnl_memory_desc_t *qmd(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static void md_plain(dnnl_memory_desc_t *md, int ndim, const dnnl_dims_t dims) {
    dnnl_memory_desc_init_by_tag(md, ndim, dims, dnnl_f32, ndim == 1 ? dnnl_a : ndim == 2 ? dnnl_ab : dnnl_abcd);
}

static void md_any(dnnl_memory_desc_t *md, int ndim, const dnnl_dims_t dims) {
    dnnl_memory_desc_init_by_tag(md, ndim, dims, dnnl_f32, dnnl_format_tag_any);
}

/* ---- parameters ------------------------------------------------------------------------- */

/* Allocates the parameter's buffers for its chosen wmd. */
static int param_alloc(kiln_cpu_net *net, param_t *p, kiln_error *err) {
    int layer = p->layer;
    int nbuf = (net->flags & KILN_CPU_NET_TRAIN) ? 2 + net->nstates : 1;
    p->wfloats = (int64_t)(dnnl_memory_desc_get_size(&p->wmd) / sizeof(float));
    for (int i = 0; i < nbuf; i++) {
        p->w[i] = alloc_floats(p->wfloats);
        p->b[i] = alloc_floats(p->out);
        if (!p->w[i] || !p->b[i])
            return kiln_cpu_err(err, KILN_ENOMEM, "out of memory (parameters of layer %d)", layer);
    }
    for (int i = 0; i < nbuf && i < 2; i++) {
        TRY(dnnl_memory_create(&p->wmem[i], &p->wmd, net->eng, p->w[i]), "memory_create");
        TRY(dnnl_memory_create(&p->bmem[i], &p->bmd, net->eng, p->b[i]), "memory_create");
    }
    p->have_wmd = 1;
    return 0;
}

static void param_free(param_t *p) {
    for (int i = 0; i < 2; i++) {
        if (p->wmem[i])
            dnnl_memory_destroy(p->wmem[i]);
        if (p->bmem[i])
            dnnl_memory_destroy(p->bmem[i]);
    }
    for (int i = 0; i < 4; i++) {
        free(p->w[i]);
        free(p->b[i]);
    }
}

/* ---- stage construction ------------------------------------------------------------------ */

/* Post-ops attr with a ReLU, or NULL attr when relu == 0. Caller destroys *attr. */
static dnnl_status_t relu_attr(int relu, dnnl_primitive_attr_t *attr) {
    dnnl_post_ops_t po;
    dnnl_status_t st;
    *attr = NULL;
    if (!relu)
        return dnnl_success;
    st = dnnl_primitive_attr_create(attr);
    if (st != dnnl_success)
        return st;
    st = dnnl_post_ops_create(&po);
    if (st != dnnl_success)
        return st;
    st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_post_ops(*attr, po);
    dnnl_post_ops_destroy(po);
    return st;
}

/* Forward desc of a linear / conv stage with weights md `wmd`. */
static dnnl_status_t fwd_desc(const stage_t *s, const kiln_cpu_layer *l, dnnl_prop_kind_t prop,
                              const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *wmd,
                              const dnnl_memory_desc_t *bmd, const dnnl_memory_desc_t *dst,
                              void *desc) {
    if (s->kind == ST_LINEAR)
        return dnnl_inner_product_forward_desc_init(desc, prop, src, wmd, bmd, dst);
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->padding, l->padding};
    return dnnl_convolution_forward_desc_init(desc, prop, dnnl_convolution_direct, src, wmd, bmd,
                                              dst, strides, pad, pad);
}

/* Creates a pd for the weights-carrying primitive `which` (0 fwd, 1 bwd data, 2 bwd weights)
 * trying weights md `fixed` first, falling back to format any when `fixed` is unsupported or
 * only has a reference implementation. *used_any tells which one it got. */
typedef struct wctx {
    kiln_cpu_net *net;
    stage_t *s;
    const kiln_cpu_layer *l;
    dnnl_prop_kind_t prop;
    const dnnl_memory_desc_t *src, *bmd, *dst;
    dnnl_primitive_attr_t attr;
    const_dnnl_primitive_desc_t hint;
} wctx;

static dnnl_status_t try_pd(const wctx *c, int which, const dnnl_memory_desc_t *wmd,
                            dnnl_primitive_desc_t *pd) {
    union {
        dnnl_inner_product_desc_t ip;
        dnnl_convolution_desc_t conv;
    } d;
    dnnl_status_t st;
    const kiln_cpu_layer *l = c->l;
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->padding, l->padding};
    if (which == 0)
        st = fwd_desc(c->s, l, c->prop, c->src, wmd, c->bmd, c->dst, &d);
    else if (which == 1)
        st = c->s->kind == ST_LINEAR
                 ? dnnl_inner_product_backward_data_desc_init(&d.ip, c->src, wmd, c->dst)
                 : dnnl_convolution_backward_data_desc_init(&d.conv, dnnl_convolution_direct, c->src,
                                                            wmd, c->dst, strides, pad, pad);
    else
        st = c->s->kind == ST_LINEAR
                 ? dnnl_inner_product_backward_weights_desc_init(&d.ip, c->src, wmd, c->bmd, c->dst)
                 : dnnl_convolution_backward_weights_desc_init(&d.conv, dnnl_convolution_direct,
                                                               c->src, wmd, c->bmd, c->dst, strides,
                                                               pad, pad);
    if (st != dnnl_success)
        return st;
    return dnnl_primitive_desc_create(pd, &d, which == 0 ? c->attr : NULL, c->net->eng,
                                      which == 0 ? NULL : c->hint);
}

static dnnl_status_t pick_pd(const wctx *c, int which, const dnnl_memory_desc_t *fixed,
                             const dnnl_memory_desc_t *any, dnnl_primitive_desc_t *pd, int *used_any) {
    dnnl_primitive_desc_t a = NULL, b = NULL;
    dnnl_status_t st = fixed ? try_pd(c, which, fixed, &a) : dnnl_unimplemented;
    *used_any = 0;
    if (st == dnnl_success && !is_ref(a)) {
        *pd = a;
        return st;
    }
    dnnl_status_t st2 = try_pd(c, which, any, &b);
    if (st2 == dnnl_success && (st != dnnl_success || !is_ref(b))) {
        if (a)
            dnnl_primitive_desc_destroy(a);
        *pd = b;
        *used_any = 1;
        return st2;
    }
    if (b)
        dnnl_primitive_desc_destroy(b);
    if (st == dnnl_success) {
        *pd = a;
        return st;
    }
    return st2;
}

/* Builds a linear / conv stage: s->src (md src_md) given; creates dst, ddst, primitives. */
static int build_wstage(kiln_cpu_net *net, inst_t *in, stage_t *s, const dnnl_memory_desc_t *src_md,
                        dnnl_memory_desc_t *dst_md_out, kiln_error *err) {
    const kiln_cpu_layer *l = &net->arch.layers[s->layer];
    param_t *p = &net->p[s->param];
    int layer = s->layer, rc, used_any;
    int train = (net->flags & KILN_CPU_NET_TRAIN) != 0;
    dnnl_memory_desc_t wany, dst_md, bmd;
    dnnl_dims_t ddims;
    dnnl_primitive_desc_t fpd = NULL, pd;
    dnnl_primitive_attr_t attr = NULL;
    owned_t *o = &in->own;

    md_any(&wany, p->wndim, p->wdims);
    bmd = p->bmd;
    if (s->kind == ST_LINEAR) {
        ddims[0] = in->n;
        ddims[1] = l->out;
        md_plain(&dst_md, 2, ddims);
    } else {
        ddims[0] = in->n;
        ddims[1] = l->out;
        ddims[2] = l->out_shape[1];
        ddims[3] = l->out_shape[2];
        md_any(&dst_md, 4, ddims);
    }
    TRY(relu_attr(s->relu, &attr), "post_ops (relu)");
    wctx c = {net, s, l, train ? dnnl_forward_training : dnnl_forward_inference, src_md, &bmd,
              &dst_md, attr, NULL};
    dnnl_status_t st = pick_pd(&c, 0, p->have_wmd ? &p->wmd : NULL, &wany, &fpd, &used_any);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
        return dnnl_fail(err, layer, s->kind == ST_LINEAR ? "inner product forward" : "convolution forward", st);
    const dnnl_memory_desc_t *fw = qmd(fpd, dnnl_query_weights_md);
    dst_md = *qmd(fpd, dnnl_query_dst_md);
    if (!p->have_wmd) {
        p->wmd = *fw;
        rc = param_alloc(net, p, err);
        if (rc) {
            dnnl_primitive_desc_destroy(fpd);
            return rc;
        }
    }
    s->w_fwd = p->wmem[0];
    if (!dnnl_memory_desc_equal(fw, &p->wmd)) {
        rc = make_reorder(net, o, p->wmem[0], &p->wmd, fw, NULL, &s->w_fwd_fix, layer, err);
        if (rc) {
            dnnl_primitive_desc_destroy(fpd);
            return rc;
        }
        s->w_fwd = s->w_fwd_fix.to;
    }
    rc = new_mem(net, o, &dst_md, &s->dst, NULL, layer, err);
    if (rc) {
        dnnl_primitive_desc_destroy(fpd);
        return rc;
    }
    if (!train) {
        *dst_md_out = dst_md;
        return make_prim(o, fpd, &s->fwd, layer, "forward primitive", err);
    }
    /* Backward: the forward pd is the hint; keep it alive until the backward pds exist. */
    rc = new_mem(net, o, &dst_md, &s->ddst, NULL, layer, err);
    c.prop = dnnl_backward;
    c.dst = &dst_md;
    c.hint = fpd;
    if (!rc && s->relu) {
        dnnl_eltwise_desc_t ed;
        dnnl_primitive_desc_t epd_f = NULL, epd_b = NULL;
        st = dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd,
                                            &dst_md, 0.0f, 0.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_desc_create(&epd_f, &ed, NULL, net->eng, NULL);
        if (st == dnnl_success)
            st = dnnl_eltwise_backward_desc_init(&ed, dnnl_eltwise_relu_use_dst_for_bwd, &dst_md,
                                                 &dst_md, 0.0f, 0.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_desc_create(&epd_b, &ed, NULL, net->eng, epd_f);
        if (epd_f)
            dnnl_primitive_desc_destroy(epd_f);
        if (st != dnnl_success)
            rc = dnnl_fail(err, layer, "relu backward", st);
        else
            rc = make_prim(o, epd_b, &s->relu_bwd, layer, "relu backward", err);
    }
    /* Weights gradient. */
    if (!rc) {
        st = pick_pd(&c, 2, &p->wmd, &wany, &pd, &used_any);
        if (st != dnnl_success)
            rc = dnnl_fail(err, layer, "backward weights", st);
        else {
            const dnnl_memory_desc_t *dw = qmd(pd, dnnl_query_diff_weights_md);
            s->dw = p->wmem[1];
            if (!dnnl_memory_desc_equal(dw, &p->wmd)) {
                dnnl_memory_t local;
                rc = new_mem(net, o, dw, &local, NULL, layer, err);
                if (!rc)
                    rc = make_reorder(net, o, local, dw, &p->wmd, p->wmem[1], &s->dw_fix, layer, err);
                s->dw = local;
            }
            if (rc)
                dnnl_primitive_desc_destroy(pd);
            else
                rc = make_prim(o, pd, &s->bwd_w, layer, "backward weights", err);
        }
    }
    /* Data gradient. */
    if (!rc && s->need_dsrc) {
        st = pick_pd(&c, 1, &p->wmd, &wany, &pd, &used_any);
        if (st != dnnl_success)
            rc = dnnl_fail(err, layer, "backward data", st);
        else {
            const dnnl_memory_desc_t *bw = qmd(pd, dnnl_query_weights_md);
            s->w_bwd = p->wmem[0];
            if (!dnnl_memory_desc_equal(bw, &p->wmd)) {
                rc = make_reorder(net, o, p->wmem[0], &p->wmd, bw, NULL, &s->w_bwd_fix, layer, err);
                s->w_bwd = s->w_bwd_fix.to;
            }
            if (rc)
                dnnl_primitive_desc_destroy(pd);
            else
                rc = make_prim(o, pd, &s->bwd_data, layer, "backward data", err);
        }
    }
    if (rc) {
        dnnl_primitive_desc_destroy(fpd);
        return rc;
    }
    *dst_md_out = dst_md;
    return make_prim(o, fpd, &s->fwd, layer, "forward primitive", err);
}

static int build_pool(kiln_cpu_net *net, inst_t *in, stage_t *s, const dnnl_memory_desc_t *src_md,
                      dnnl_memory_desc_t *dst_md_out, kiln_error *err) {
    const kiln_cpu_layer *l = &net->arch.layers[s->layer];
    int layer = s->layer, rc, train = (net->flags & KILN_CPU_NET_TRAIN) != 0;
    dnnl_pooling_desc_t d;
    dnnl_primitive_desc_t fpd, bpd;
    dnnl_memory_desc_t dst_md;
    dnnl_dims_t ddims = {in->n, l->out_shape[0], l->out_shape[1], l->out_shape[2]};
    dnnl_dims_t strides = {l->stride, l->stride}, kernel = {l->kernel, l->kernel}, pad = {0, 0};
    owned_t *o = &in->own;
    md_any(&dst_md, 4, ddims);
    TRY(dnnl_pooling_forward_desc_init(&d, train ? dnnl_forward_training : dnnl_forward_inference,
                                       dnnl_pooling_max, src_md, &dst_md, strides, kernel, pad, pad),
        "pooling forward desc");
    TRY(dnnl_primitive_desc_create(&fpd, &d, NULL, net->eng, NULL), "pooling forward");
    dst_md = *qmd(fpd, dnnl_query_dst_md);
    rc = new_mem(net, o, &dst_md, &s->dst, NULL, layer, err);
    if (!rc && train) {
        const dnnl_memory_desc_t *ws = qmd(fpd, dnnl_query_workspace_md);
        if (ws && dnnl_memory_desc_get_size(ws) > 0)
            rc = new_mem(net, o, ws, &s->ws, NULL, layer, err);
        if (!rc)
            rc = new_mem(net, o, &dst_md, &s->ddst, NULL, layer, err);
        if (!rc && s->need_dsrc) {
            dnnl_status_t st = dnnl_pooling_backward_desc_init(&d, dnnl_pooling_max, src_md, &dst_md,
                                                               strides, kernel, pad, pad);
            if (st == dnnl_success)
                st = dnnl_primitive_desc_create(&bpd, &d, NULL, net->eng, fpd);
            if (st != dnnl_success)
                rc = dnnl_fail(err, layer, "pooling backward", st);
            else
                rc = make_prim(o, bpd, &s->bwd_data, layer, "pooling backward", err);
        }
    }
    if (rc) {
        dnnl_primitive_desc_destroy(fpd);
        return rc;
    }
    *dst_md_out = dst_md;
    return make_prim(o, fpd, &s->fwd, layer, "pooling forward", err);
}

static int build_relu(kiln_cpu_net *net, inst_t *in, stage_t *s, const dnnl_memory_desc_t *src_md,
                      dnnl_memory_desc_t *dst_md_out, kiln_error *err) {
    int layer = s->layer, rc, train = (net->flags & KILN_CPU_NET_TRAIN) != 0;
    dnnl_eltwise_desc_t d;
    dnnl_primitive_desc_t fpd, bpd;
    owned_t *o = &in->own;
    TRY(dnnl_eltwise_forward_desc_init(&d, train ? dnnl_forward_training : dnnl_forward_inference,
                                       train ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu,
                                       src_md, 0.0f, 0.0f),
        "relu forward desc");
    TRY(dnnl_primitive_desc_create(&fpd, &d, NULL, net->eng, NULL), "relu forward");
    dnnl_memory_desc_t dst_md = *qmd(fpd, dnnl_query_dst_md);
    rc = new_mem(net, o, &dst_md, &s->dst, NULL, layer, err);
    if (!rc && train) {
        rc = new_mem(net, o, &dst_md, &s->ddst, NULL, layer, err);
        if (!rc && s->need_dsrc) {
            dnnl_status_t st = dnnl_eltwise_backward_desc_init(&d, dnnl_eltwise_relu_use_dst_for_bwd,
                                                               &dst_md, &dst_md, 0.0f, 0.0f);
            if (st == dnnl_success)
                st = dnnl_primitive_desc_create(&bpd, &d, NULL, net->eng, fpd);
            if (st != dnnl_success)
                rc = dnnl_fail(err, layer, "relu backward", st);
            else
                rc = make_prim(o, bpd, &s->bwd_data, layer, "relu backward", err);
        }
    }
    if (rc) {
        dnnl_primitive_desc_destroy(fpd);
        return rc;
    }
    *dst_md_out = dst_md;
    return make_prim(o, fpd, &s->fwd, layer, "relu forward", err);
}

/* A FLATTEN stage for layer `layer` of a blocked 4D source `src` (md *md): a reorder to a new
 * plain NCHW buffer, and for training a plain gradient buffer reordered back into `dsrc` (when
 * need_dsrc). On success *md, *out and *dout describe the [n, CHW] plain view of the new
 * buffers. */
static int build_flatten(kiln_cpu_net *net, inst_t *in, stage_t *s, int layer, dnnl_memory_t src,
                         dnnl_memory_t dsrc, int need_dsrc, dnnl_memory_desc_t *md, dnnl_memory_t *out,
                         dnnl_memory_t *dout, kiln_error *err) {
    int train = (net->flags & KILN_CPU_NET_TRAIN) != 0, rc;
    owned_t *o = &in->own;
    dnnl_memory_desc_t plain4, flat;
    dnnl_dims_t fd = {md->dims[0], md->dims[1] * md->dims[2] * md->dims[3]};
    reorder_t r = {0};
    void *h = NULL;
    memset(s, 0, sizeof *s);
    s->kind = ST_FLATTEN;
    s->layer = layer;
    s->param = -1;
    s->src = src;
    s->dsrc = dsrc;
    s->need_dsrc = need_dsrc && dsrc;
    md_plain(&plain4, 4, md->dims);
    md_plain(&flat, 2, fd);
    rc = make_reorder(net, o, src, md, &plain4, NULL, &r, layer, err);
    if (rc)
        return rc;
    s->fwd = r.p;
    s->dst = r.to;
    TRY(dnnl_memory_get_data_handle(s->dst, &h), "memory_get_data_handle");
    rc = wrap_mem(net, o, &flat, h, out, layer, err);
    *dout = NULL;
    if (!rc && train) {
        rc = new_mem(net, o, &plain4, &s->ddst, NULL, layer, err);
        if (!rc && s->need_dsrc) {
            rc = make_reorder(net, o, s->ddst, &plain4, md, dsrc, &r, layer, err);
            s->bwd_data = r.p;
        }
        if (!rc) {
            TRY(dnnl_memory_get_data_handle(s->ddst, &h), "memory_get_data_handle");
            rc = wrap_mem(net, o, &flat, h, dout, layer, err);
        }
    }
    if (!rc)
        *md = flat;
    return rc;
}

/* Is md a plain (row-major) layout of its dims? */
static int md_is_plain(const dnnl_memory_desc_t *md) {
    dnnl_memory_desc_t p;
    md_plain(&p, md->ndims, md->dims);
    return dnnl_memory_desc_equal(md, &p);
}

static void inst_free(inst_t *in) {
    if (!in)
        return;
    owned_free(&in->own);
    free(in->st);
    free(in);
}

/* Builds the instance for n samples. */
static int inst_build(kiln_cpu_net *net, int n, inst_t **out, kiln_error *err) {
    const kiln_cpu_arch *a = &net->arch;
    int train = (net->flags & KILN_CPU_NET_TRAIN) != 0;
    int layer = -1, rc = 0, pi = 0;
    int grads_before = (net->flags & KILN_CPU_NET_INPUT_GRAD) != 0;
    inst_t *in = calloc(1, sizeof *in);
    dnnl_memory_desc_t cur_md;
    dnnl_dims_t dims;
    if (!in || !(in->st = calloc((size_t)a->nlayers, sizeof *in->st))) {
        free(in);
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    }
    in->n = n;
    /* Input: [n, F] or [n, C, H, W]; a leading flatten makes it [n, CHW]. */
    if (a->in_ndim == 1 || a->layers[0].type == KILN_CPU_FLATTEN) {
        dims[0] = n;
        dims[1] = net->in_features;
        md_plain(&cur_md, 2, dims);
    } else {
        dims[0] = n;
        dims[1] = a->in_shape[0];
        dims[2] = a->in_shape[1];
        dims[3] = a->in_shape[2];
        md_plain(&cur_md, 4, dims);
    }
    rc = new_mem(net, &in->own, &cur_md, &in->xmem, &in->x, -1, err);
    if (!rc && (net->flags & KILN_CPU_NET_INPUT_GRAD) && train)
        rc = new_mem(net, &in->own, &cur_md, &in->dxmem, &in->dx, -1, err);
    dnnl_memory_t cur = in->xmem, cur_d = in->dxmem;
    for (int i = 0; !rc && i < a->nlayers; i++) {
        const kiln_cpu_layer *l = &a->layers[i];
        stage_t *s = &in->st[in->nstages];
        layer = i;
        if (l->type == KILN_CPU_FLATTEN) {
            if (cur_md.ndims == 4 && !md_is_plain(&cur_md)) {
                rc = build_flatten(net, in, s, i, cur, cur_d, train && grads_before, &cur_md, &cur, &cur_d, err);
                if (!rc)
                    in->nstages++;
                continue;
            }
            /* A plain 4D tensor flattens in place: re-describe its memory as [n, CHW]. */
            if (cur_md.ndims == 4 && md_is_plain(&cur_md)) {
                void *h = NULL, *dh = NULL;
                dims[0] = n;
                dims[1] = cur_md.dims[1] * cur_md.dims[2] * cur_md.dims[3];
                md_plain(&cur_md, 2, dims);
                TRY(dnnl_memory_get_data_handle(cur, &h), "memory_get_data_handle");
                rc = wrap_mem(net, &in->own, &cur_md, h, &cur, i, err);
                if (!rc && cur_d) {
                    TRY(dnnl_memory_get_data_handle(cur_d, &dh), "memory_get_data_handle");
                    rc = wrap_mem(net, &in->own, &cur_md, dh, &cur_d, i, err);
                }
            }
            continue;
        }
        memset(s, 0, sizeof *s);
        s->layer = i;
        s->param = -1;
        s->src = cur;
        s->dsrc = cur_d;
        s->need_dsrc = train && grads_before;
        dnnl_memory_desc_t dst_md;
        switch (l->type) {
        case KILN_CPU_LINEAR:
        case KILN_CPU_CONV2D:
            s->kind = l->type == KILN_CPU_LINEAR ? ST_LINEAR : ST_CONV;
            s->param = pi++;
            if (i + 1 < a->nlayers && a->layers[i + 1].type == KILN_CPU_RELU) {
                s->relu = 1;
                i++;
            }
            if (s->kind == ST_LINEAR) {
                param_t *p = &net->p[s->param];
                /* The weights' dims follow the source's rank (4D blocked source: [O,C,H,W]). */
                if (!p->have_wmd) {
                    p->wndim = cur_md.ndims;
                    p->wdims[0] = l->out;
                    for (int k = 1; k < cur_md.ndims; k++)
                        p->wdims[k] = cur_md.dims[k];
                    md_plain(&p->wplain, p->wndim, p->wdims);
                } else if (p->wndim != cur_md.ndims) {
                    rc = kiln_cpu_err(err, KILN_EINTERNAL,
                                      "layer %d: source rank changed between batch sizes", i);
                    break;
                }
            }
            rc = build_wstage(net, in, s, &cur_md, &dst_md, err);
            grads_before = 1;
            break;
        case KILN_CPU_MAXPOOL2D:
            s->kind = ST_POOL;
            rc = build_pool(net, in, s, &cur_md, &dst_md, err);
            break;
        case KILN_CPU_RELU:
            s->kind = ST_RELU;
            rc = build_relu(net, in, s, &cur_md, &dst_md, err);
            break;
        default: rc = kiln_cpu_err(err, KILN_EINTERNAL, "layer %d: unknown type", i);
        }
        if (rc)
            break;
        in->nstages++;
        cur = s->dst;
        cur_d = s->ddst;
        cur_md = dst_md;
    }
    /* Logits: [n, classes] plain, aliasing the last output when it is plain already. */
    if (!rc) {
        void *h = NULL;
        layer = a->nlayers - 1;
        if (md_is_plain(&cur_md)) {
            TRY(dnnl_memory_get_data_handle(cur, &h), "memory_get_data_handle");
            in->logits = h;
            if (cur_d) {
                TRY(dnnl_memory_get_data_handle(cur_d, &h), "memory_get_data_handle");
                in->dlogits = h;
            }
        } else {
            dnnl_memory_desc_t pm;
            md_plain(&pm, cur_md.ndims, cur_md.dims);
            rc = make_reorder(net, &in->own, cur, &cur_md, &pm, NULL, &in->out_fix, layer, err);
            if (!rc) {
                TRY(dnnl_memory_get_data_handle(in->out_fix.to, &h), "memory_get_data_handle");
                in->logits = h;
            }
            if (!rc && cur_d) {
                dnnl_memory_t dm;
                rc = new_mem(net, &in->own, &pm, &dm, &in->dlogits, layer, err);
                if (!rc)
                    rc = make_reorder(net, &in->own, dm, &pm, &cur_md, cur_d, &in->dout_fix, layer, err);
            }
        }
    }
    if (rc) {
        inst_free(in);
        return rc;
    }
    *out = in;
    return 0;
}

/* The instance for n (built on first use; least recently used evicted beyond MAX_INST,
 * never the first one). */
static inst_t *get_inst(kiln_cpu_net *net, int n, kiln_error *err) {
    int free_slot = -1, lru = -1;
    if (n < 1) {
        kiln_cpu_err(err, KILN_EINVAL, "batch of %d samples, expected >= 1", n);
        return NULL;
    }
    for (int i = 0; i < MAX_INST; i++) {
        inst_t *in = net->inst[i];
        if (in && in->n == n) {
            in->used = ++net->tick;
            return in;
        }
        if (!in && free_slot < 0)
            free_slot = i;
        if (in && i > 0 && (lru < 0 || in->used < net->inst[lru]->used))
            lru = i;
    }
    if (free_slot < 0) {
        inst_free(net->inst[lru]);
        net->inst[lru] = NULL;
        free_slot = lru;
    }
    if (inst_build(net, n, &net->inst[free_slot], err))
        return NULL;
    net->inst[free_slot]->used = ++net->tick;
    return net->inst[free_slot];
}

/* ---- public API ---------------------------------------------------------------------------- */

int kiln_cpu_net_new(const kiln_cpu_arch *arch, int batch, unsigned flags, int nstates,
                     kiln_cpu_net **out, kiln_error *err) {
    kiln_cpu_net *net = calloc(1, sizeof *net);
    int rc, layer = -1;
    *out = NULL;
    if (!net)
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    net->flags = flags;
    net->nstates = nstates < 0 ? 0 : nstates > 2 ? 2 : nstates;
    net->batch = batch;
    net->arch = *arch;
    net->arch.layers = malloc((size_t)arch->nlayers * sizeof *arch->layers);
    if (!net->arch.layers) {
        free(net);
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    }
    memcpy(net->arch.layers, arch->layers, (size_t)arch->nlayers * sizeof *arch->layers);
    rc = kiln_cpu_arch_infer(&net->arch, err);
    if (rc) {
        kiln_cpu_net_free(net);
        return rc;
    }
    net->in_features = arch->in_shape[0] * (arch->in_ndim == 3 ? arch->in_shape[1] * arch->in_shape[2] : 1);
    for (int i = 0; i < arch->nlayers; i++)
        if (kiln_cpu_layer_params(&arch->layers[i]) > 0)
            net->nparam++;
    net->p = calloc((size_t)(net->nparam ? net->nparam : 1), sizeof *net->p);
    if (!net->p) {
        kiln_cpu_net_free(net);
        return kiln_cpu_err(err, KILN_ENOMEM, "out of memory");
    }
    for (int i = 0, k = 0; i < arch->nlayers; i++) {
        const kiln_cpu_layer *l = &net->arch.layers[i];
        if (kiln_cpu_layer_params(l) == 0)
            continue;
        param_t *p = &net->p[k++];
        dnnl_dims_t bd = {l->out};
        p->layer = i;
        p->out = l->out;
        p->pt_ndim = kiln_cpu_layer_weight_shape(l, p->pt_shape);
        p->wcount = 1;
        for (int d = 0; d < p->pt_ndim; d++)
            p->wcount *= p->pt_shape[d];
        if (l->type == KILN_CPU_CONV2D) {
            p->wndim = 4;
            for (int d = 0; d < 4; d++)
                p->wdims[d] = p->pt_shape[d];
            md_plain(&p->wplain, 4, p->wdims);
        }
        md_plain(&p->bmd, 1, bd);
        snprintf(p->wname, sizeof p->wname, "%d.weight", i);
        snprintf(p->bname, sizeof p->bname, "%d.bias", i);
    }
    {
        dnnl_status_t st = dnnl_engine_create(&net->eng, dnnl_cpu, 0);
        if (st == dnnl_success)
            st = dnnl_stream_create(&net->strm, net->eng, dnnl_stream_default_flags);
        if (st != dnnl_success) {
            kiln_cpu_net_free(net);
            return dnnl_fail(err, layer, "engine/stream create", st);
        }
    }
    if (!get_inst(net, batch, err)) {
        kiln_cpu_net_free(net);
        return err ? (err->code ? err->code : KILN_EINTERNAL) : KILN_EINTERNAL;
    }
    *out = net;
    return 0;
}

void kiln_cpu_net_free(kiln_cpu_net *net) {
    if (!net)
        return;
    for (int i = 0; i < MAX_INST; i++)
        inst_free(net->inst[i]);
    for (int i = 0; i < net->nparam && net->p; i++)
        param_free(&net->p[i]);
    free(net->p);
    if (net->strm)
        dnnl_stream_destroy(net->strm);
    if (net->eng)
        dnnl_engine_destroy(net->eng);
    free(net->arch.layers);
    free(net);
}

const kiln_cpu_arch *kiln_cpu_net_arch(const kiln_cpu_net *net) { return &net->arch; }

int64_t kiln_cpu_net_in_features(const kiln_cpu_net *net) { return net->in_features; }

int kiln_cpu_net_nparams(const kiln_cpu_net *net) { return 2 * net->nparam; }

const char *kiln_cpu_net_param_name(const kiln_cpu_net *net, int index) {
    if (index < 0 || index >= 2 * net->nparam)
        return NULL;
    const param_t *p = &net->p[index / 2];
    return index % 2 ? p->bname : p->wname;
}

int kiln_cpu_net_param_shape(const kiln_cpu_net *net, int index, int64_t shape[4]) {
    if (index < 0 || index >= 2 * net->nparam)
        return 0;
    const param_t *p = &net->p[index / 2];
    if (index % 2) {
        shape[0] = p->out;
        return 1;
    }
    memcpy(shape, p->pt_shape, sizeof p->pt_shape);
    return p->pt_ndim;
}

int64_t kiln_cpu_net_param_count(const kiln_cpu_net *net, int index) {
    if (index < 0 || index >= 2 * net->nparam)
        return 0;
    const param_t *p = &net->p[index / 2];
    return index % 2 ? p->out : p->wcount;
}

float *kiln_cpu_net_raw(kiln_cpu_net *net, int index, kiln_cpu_buf which, int64_t *count) {
    if (index < 0 || index >= 2 * net->nparam || (int)which < 0 || (int)which > 3)
        return NULL;
    param_t *p = &net->p[index / 2];
    if (count)
        *count = index % 2 ? p->out : p->wfloats;
    return index % 2 ? p->b[which] : p->w[which];
}

/* Copies between a plain buffer and an internal weight buffer. */
static int weight_copy(kiln_cpu_net *net, param_t *p, float *internal, float *plain, int to_plain,
                       kiln_error *err) {
    int layer = p->layer;
    dnnl_memory_t mi = NULL, mp = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_status_t st = dnnl_memory_create(&mi, &p->wmd, net->eng, internal);
    if (st == dnnl_success)
        st = dnnl_memory_create(&mp, &p->wplain, net->eng, plain);
    if (st == dnnl_success)
        st = to_plain ? dnnl_reorder_primitive_desc_create(&pd, &p->wmd, net->eng, &p->wplain, net->eng, NULL)
                      : dnnl_reorder_primitive_desc_create(&pd, &p->wplain, net->eng, &p->wmd, net->eng, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&r, pd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, to_plain ? mi : mp}, {DNNL_ARG_TO, to_plain ? mp : mi}};
        st = dnnl_primitive_execute(r, net->strm, 2, a);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(net->strm);
    if (r)
        dnnl_primitive_destroy(r);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (mp)
        dnnl_memory_destroy(mp);
    if (mi)
        dnnl_memory_destroy(mi);
    return st == dnnl_success ? 0 : dnnl_fail(err, layer, "weights reorder", st);
}

int kiln_cpu_net_get(kiln_cpu_net *net, int index, kiln_cpu_buf which, float *plain, kiln_error *err) {
    int64_t n;
    float *raw = kiln_cpu_net_raw(net, index, which, &n);
    if (!raw)
        return kiln_cpu_err(err, KILN_EINVAL, "parameter %d buffer %d: not allocated", index, (int)which);
    if (index % 2) {
        memcpy(plain, raw, (size_t)n * sizeof *plain);
        return 0;
    }
    return weight_copy(net, &net->p[index / 2], raw, plain, 1, err);
}

int kiln_cpu_net_set(kiln_cpu_net *net, int index, kiln_cpu_buf which, const float *plain,
                     kiln_error *err) {
    int64_t n;
    float *raw = kiln_cpu_net_raw(net, index, which, &n);
    if (!raw)
        return kiln_cpu_err(err, KILN_EINVAL, "parameter %d buffer %d: not allocated", index, (int)which);
    if (index % 2) {
        memcpy(raw, plain, (size_t)n * sizeof *plain);
        return 0;
    }
    return weight_copy(net, &net->p[index / 2], raw, (float *)plain, 0, err);
}

float *kiln_cpu_net_input(kiln_cpu_net *net, int n, kiln_error *err) {
    inst_t *in = get_inst(net, n, err);
    return in ? in->x : NULL;
}

#define EXEC(prim, ...)                                                                      \
    do {                                                                                     \
        dnnl_exec_arg_t a_[] = {__VA_ARGS__};                                                \
        dnnl_status_t st_ = dnnl_primitive_execute(prim, net->strm, (int)(sizeof a_ / sizeof a_[0]), a_); \
        if (st_ != dnnl_success)                                                             \
            return dnnl_fail(err, layer, "execute", st_);                                    \
    } while (0)

int kiln_cpu_net_forward(kiln_cpu_net *net, int n, const float **logits, kiln_error *err) {
    inst_t *in = get_inst(net, n, err);
    int layer = -1;
    if (!in)
        return err && err->code ? err->code : KILN_EINTERNAL;
    for (int i = 0; i < in->nstages; i++) {
        stage_t *s = &in->st[i];
        param_t *p = s->param >= 0 ? &net->p[s->param] : NULL;
        layer = s->layer;
        switch (s->kind) {
        case ST_LINEAR:
        case ST_CONV:
            TRY(run_reorder(net, &s->w_fwd_fix), "weights reorder");
            EXEC(s->fwd, {DNNL_ARG_SRC, s->src}, {DNNL_ARG_WEIGHTS, s->w_fwd},
                 {DNNL_ARG_BIAS, p->bmem[0]}, {DNNL_ARG_DST, s->dst});
            break;
        case ST_POOL:
            if (s->ws)
                EXEC(s->fwd, {DNNL_ARG_SRC, s->src}, {DNNL_ARG_DST, s->dst}, {DNNL_ARG_WORKSPACE, s->ws});
            else
                EXEC(s->fwd, {DNNL_ARG_SRC, s->src}, {DNNL_ARG_DST, s->dst});
            break;
        case ST_RELU: EXEC(s->fwd, {DNNL_ARG_SRC, s->src}, {DNNL_ARG_DST, s->dst}); break;
        case ST_FLATTEN: EXEC(s->fwd, {DNNL_ARG_FROM, s->src}, {DNNL_ARG_TO, s->dst}); break;
        }
    }
    TRY(run_reorder(net, &in->out_fix), "output reorder");
    TRY(dnnl_stream_wait(net->strm), "stream_wait");
    *logits = in->logits;
    return 0;
}

float *kiln_cpu_net_dlogits(kiln_cpu_net *net, int n, kiln_error *err) {
    if (!(net->flags & KILN_CPU_NET_TRAIN)) {
        kiln_cpu_err(err, KILN_EINVAL, "not a training net");
        return NULL;
    }
    inst_t *in = get_inst(net, n, err);
    return in ? in->dlogits : NULL;
}

int kiln_cpu_net_backward(kiln_cpu_net *net, int n, kiln_error *err) {
    int layer = -1;
    if (!(net->flags & KILN_CPU_NET_TRAIN))
        return kiln_cpu_err(err, KILN_EINVAL, "not a training net");
    inst_t *in = get_inst(net, n, err);
    if (!in)
        return err && err->code ? err->code : KILN_EINTERNAL;
    TRY(run_reorder(net, &in->dout_fix), "output gradient reorder");
    for (int i = in->nstages - 1; i >= 0; i--) {
        stage_t *s = &in->st[i];
        param_t *p = s->param >= 0 ? &net->p[s->param] : NULL;
        layer = s->layer;
        switch (s->kind) {
        case ST_LINEAR:
        case ST_CONV:
            if (s->relu)
                EXEC(s->relu_bwd, {DNNL_ARG_DST, s->dst}, {DNNL_ARG_DIFF_DST, s->ddst},
                     {DNNL_ARG_DIFF_SRC, s->ddst});
            EXEC(s->bwd_w, {DNNL_ARG_SRC, s->src}, {DNNL_ARG_DIFF_DST, s->ddst},
                 {DNNL_ARG_DIFF_WEIGHTS, s->dw}, {DNNL_ARG_DIFF_BIAS, p->bmem[1]});
            TRY(run_reorder(net, &s->dw_fix), "weights gradient reorder");
            if (s->need_dsrc) {
                TRY(run_reorder(net, &s->w_bwd_fix), "weights reorder");
                EXEC(s->bwd_data, {DNNL_ARG_DIFF_DST, s->ddst}, {DNNL_ARG_WEIGHTS, s->w_bwd},
                     {DNNL_ARG_DIFF_SRC, s->dsrc});
            }
            break;
        case ST_POOL:
            if (s->need_dsrc) {
                if (s->ws)
                    EXEC(s->bwd_data, {DNNL_ARG_DIFF_DST, s->ddst}, {DNNL_ARG_WORKSPACE, s->ws},
                         {DNNL_ARG_DIFF_SRC, s->dsrc});
                else
                    EXEC(s->bwd_data, {DNNL_ARG_SRC, s->src}, {DNNL_ARG_DIFF_DST, s->ddst},
                         {DNNL_ARG_DIFF_SRC, s->dsrc});
            }
            break;
        case ST_RELU:
            if (s->need_dsrc)
                EXEC(s->bwd_data, {DNNL_ARG_DST, s->dst}, {DNNL_ARG_DIFF_DST, s->ddst},
                     {DNNL_ARG_DIFF_SRC, s->dsrc});
            break;
        case ST_FLATTEN:
            if (s->need_dsrc)
                EXEC(s->bwd_data, {DNNL_ARG_FROM, s->ddst}, {DNNL_ARG_TO, s->dsrc});
            break;
        }
    }
    TRY(dnnl_stream_wait(net->strm), "stream_wait");
    return 0;
}

const float *kiln_cpu_net_dinput(kiln_cpu_net *net, int n) {
    kiln_error e = {0};
    inst_t *in = get_inst(net, n, &e);
    return in ? in->dx : NULL;
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) KILN_PRINTF(4, 5);
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0 || !*buf)
        return;
    if ((size_t)k >= sizeof line)
        k = (int)sizeof line - 1;
    if (*len + (size_t)k + 1 > *cap) {
        size_t nc = (*cap + (size_t)k + 1) * 2;
        char *q = realloc(*buf, nc);
        if (!q) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = q;
        *cap = nc;
    }
    memcpy(*buf + *len, line, (size_t)k + 1);
    *len += (size_t)k;
}

static const char *prim_impl(const_dnnl_primitive_t p) {
    const_dnnl_primitive_desc_t pd = NULL;
    if (!p || dnnl_primitive_get_primitive_desc(p, &pd) != dnnl_success)
        return "-";
    return impl_name(pd);
}

char *kiln_cpu_net_describe(kiln_cpu_net *net, int n) {
    kiln_error e = {0};
    inst_t *in = get_inst(net, n, &e);
    size_t len = 0, cap = 256;
    char *buf = malloc(cap);
    static const char *kinds[] = {"linear", "conv2d", "maxpool2d", "relu", "flatten"};
    if (!in || !buf) {
        free(buf);
        return NULL;
    }
    buf[0] = 0;
    for (int i = 0; i < in->nstages; i++) {
        stage_t *s = &in->st[i];
        append(&buf, &len, &cap, "layer %d %s%s: fwd %s", s->layer, kinds[s->kind],
               s->relu ? "+relu" : "", prim_impl(s->fwd));
        if (s->bwd_w)
            append(&buf, &len, &cap, ", bwd_w %s", prim_impl(s->bwd_w));
        if (s->bwd_data)
            append(&buf, &len, &cap, ", bwd_d %s", prim_impl(s->bwd_data));
        if (s->w_fwd_fix.p || s->w_bwd_fix.p || s->dw_fix.p)
            append(&buf, &len, &cap, " (weight reorders:%s%s%s)", s->w_fwd_fix.p ? " fwd" : "",
                   s->w_bwd_fix.p ? " bwd_d" : "", s->dw_fix.p ? " bwd_w" : "");
        append(&buf, &len, &cap, "\n");
    }
    return buf;
}

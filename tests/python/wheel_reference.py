"""Reference forward pass of a kiln model artifact (docs/artifacts.md), written apart from the
module that wheel.package ships: float64, explicit loops over output positions, its own
reading of the safetensors file. Tests compare the installed wheel's predictions with it.

    from wheel_reference import forward, softmax
    logits = forward("model.safetensors", x)      # float64 [N, num_classes]
"""
import json
import struct

import numpy as np


def read(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"]).astype(np.float64)
    return out, meta


def _pair(v, default):
    if v is None:
        return default, default
    if isinstance(v, list):
        return v[0], v[1]
    return v, v


def forward(path, x):
    w, meta = read(path)
    arch = json.loads(meta["kiln.arch"])
    h = np.asarray(x, dtype=np.float64).reshape((-1,) + tuple(arch["input_shape"]))
    for i, layer in enumerate(arch["layers"]):
        t = layer["type"]
        if t == "linear":
            h = h @ w["%d.weight" % i].T + w["%d.bias" % i]
        elif t == "conv2d":
            W, B = w["%d.weight" % i], w["%d.bias" % i]
            kh, kw = W.shape[2], W.shape[3]
            sh, sw = _pair(layer.get("stride"), 1)
            ph, pw = _pair(layer.get("padding"), 0)
            h = np.pad(h, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
            oh, ow = (h.shape[2] - kh) // sh + 1, (h.shape[3] - kw) // sw + 1
            out = np.empty((h.shape[0], W.shape[0], oh, ow))
            for r in range(oh):
                for c in range(ow):
                    win = h[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw]
                    out[:, :, r, c] = np.einsum("nckl,ockl->no", win, W) + B
            h = out
        elif t == "maxpool2d":
            kh, kw = _pair(layer["kernel"], None)
            sh, sw = _pair(layer.get("stride"), None) if layer.get("stride") is not None else (kh, kw)
            oh, ow = (h.shape[2] - kh) // sh + 1, (h.shape[3] - kw) // sw + 1
            out = np.empty((h.shape[0], h.shape[1], oh, ow))
            for r in range(oh):
                for c in range(ow):
                    out[:, :, r, c] = h[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw].max(axis=(2, 3))
            h = out
        elif t == "relu":
            h = np.maximum(h, 0.0)
        elif t == "flatten":
            h = h.reshape(h.shape[0], -1)
        else:
            raise ValueError("unknown layer type %r" % t)
    return h


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)

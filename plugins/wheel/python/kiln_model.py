"""A classifier trained with kiln and packaged as a wheel by kiln's wheel.package op.

    import <package>
    <package>.predict(x)        # class indices, int64 [N]
    <package>.predict_proba(x)  # float32 [N, num_classes]; each row sums to 1
    <package>.classes           # class names (or 0..num_classes-1)
    <package>.metadata          # name, version, architecture, training facts, metrics
    model = <package>.load()    # the Model behind predict(), weights loaded once

Needs numpy alone. x is anything numpy turns into numbers, shaped [N, *input_shape],
[N, prod(input_shape)], or one sample shaped input_shape. Inputs must be prepared the way
the training data was: when metadata["normalize"] is set, pass raw inputs through
preprocess(x) first. The weights are the safetensors file next to this module, under
PyTorch nn.Sequential state_dict names; read_safetensors() reads any such file.
"""
import json
import os
import struct

import numpy as np

__all__ = ["Model", "classes", "load", "metadata", "predict", "predict_proba", "preprocess", "read_safetensors"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_WEIGHTS = os.path.join(_HERE, "model.safetensors")
_METADATA = os.path.join(_HERE, "kiln_model.json")
_BATCH = 256  # samples per forward pass: bounds the memory of the conv2d windows

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I8": "i1", "U8": "u1",
           "BOOL": "?"}


def read_safetensors(path):
    """Reads a safetensors file with numpy alone: ({name: array}, {metadata key: string})."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError("%s: not a safetensors file (shorter than 8 bytes)" % path)
        (n,) = struct.unpack("<Q", head)
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    meta = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, t in header.items():
        if t["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor %s has dtype %s, which numpy cannot read" % (path, name, t["dtype"]))
        begin, end = t["data_offsets"]
        shape = tuple(int(d) for d in t["shape"])
        dtype = np.dtype(_DTYPES[t["dtype"]])
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * dtype.itemsize or end > len(data):
            raise ValueError("%s: tensor %s: data_offsets do not match its shape" % (path, name))
        tensors[name] = np.frombuffer(data, dtype=dtype, count=count, offset=begin).reshape(shape)
    return tensors, meta


def _pair(value, default):
    if value is None:
        return (default, default)
    if isinstance(value, (list, tuple)):
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def _windows(x, kh, kw, sh, sw):
    """[N, C, H, W] -> a read-only view [N, C, OH, OW, kh, kw] of every kh x kw window."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s0, s1, s2, s3 = x.strides
    return np.lib.stride_tricks.as_strided(x, shape=(n, c, oh, ow, kh, kw),
                                           strides=(s0, s1, s2 * sh, s3 * sw, s2, s3), writeable=False)


def _conv2d(x, weight, bias, stride, padding):
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    x = np.ascontiguousarray(x)
    win = _windows(x, weight.shape[2], weight.shape[3], stride[0], stride[1])
    out = np.tensordot(win, weight, axes=([1, 4, 5], [1, 2, 3]))  # [N, OH, OW, OC]
    out = out.transpose(0, 3, 1, 2) + bias[None, :, None, None]
    return np.ascontiguousarray(out, dtype=np.float32)


def _maxpool2d(x, kernel, stride, padding):
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    x = np.ascontiguousarray(x)
    return _windows(x, kernel[0], kernel[1], stride[0], stride[1]).max(axis=(4, 5))


class Model:
    """A kiln classifier: an nn.Sequential of linear, conv2d, relu, maxpool2d and flatten
    layers, run with numpy in float32."""

    def __init__(self, weights=_WEIGHTS):
        tensors, meta = read_safetensors(weights)
        self.arch = json.loads(meta["kiln.arch"])
        self.input_shape = tuple(int(d) for d in self.arch["input_shape"])
        self.num_classes = int(self.arch["num_classes"])
        self.layers = []
        for i, layer in enumerate(self.arch["layers"]):
            kind = layer["type"]
            if kind in ("linear", "conv2d"):
                w = np.ascontiguousarray(tensors["%d.weight" % i], dtype=np.float32)
                b = np.ascontiguousarray(tensors["%d.bias" % i], dtype=np.float32)
                if kind == "linear":
                    self.layers.append((kind, (np.ascontiguousarray(w.T), b)))
                else:
                    self.layers.append((kind, (w, b, _pair(layer.get("stride"), 1), _pair(layer.get("padding"), 0))))
            elif kind == "maxpool2d":
                kernel = _pair(layer["kernel"], 1)
                stride = _pair(layer["stride"], 1) if layer.get("stride") is not None else kernel
                self.layers.append((kind, (kernel, stride, _pair(layer.get("padding"), 0))))
            elif kind in ("relu", "flatten"):
                self.layers.append((kind, ()))
            else:
                raise ValueError("layer %d: unknown type %r" % (i, kind))

    def _batch(self, x):
        x = np.asarray(x)
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        shape = self.input_shape
        size = int(np.prod(shape))
        if x.shape == shape:
            return x.reshape((1,) + shape)
        if x.ndim >= 2 and x.shape[1:] == shape:
            return x
        if x.ndim >= 2 and int(np.prod(x.shape[1:])) == size:
            return x.reshape((x.shape[0],) + shape)
        raise ValueError("expected inputs shaped [N, %s] (or [N, %d]), got %s"
                         % (", ".join(str(d) for d in shape), size, list(x.shape)))

    def logits(self, x):
        """Logits [N, num_classes] of the inputs x."""
        x = self._batch(x)
        out = [self._forward(x[i:i + _BATCH]) for i in range(0, x.shape[0], _BATCH)]
        if not out:
            return np.zeros((0, self.num_classes), dtype=np.float32)
        return np.concatenate(out, axis=0)

    def _forward(self, h):
        for kind, p in self.layers:
            if kind == "linear":
                h = h @ p[0] + p[1]
            elif kind == "conv2d":
                h = _conv2d(h, p[0], p[1], p[2], p[3])
            elif kind == "maxpool2d":
                h = _maxpool2d(h, p[0], p[1], p[2])
            elif kind == "relu":
                h = np.maximum(h, 0)
            else:  # flatten: [N, C, H, W] -> [N, C*H*W] in C order (PyTorch's NCHW flatten)
                h = h.reshape(h.shape[0], -1)
        return h.astype(np.float32, copy=False)

    def predict_proba(self, x):
        """Class probabilities [N, num_classes] (softmax of the logits), float32."""
        z = self.logits(x)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict(self, x):
        """Class indices [N] (int64): the argmax of the logits."""
        return self.logits(x).argmax(axis=1).astype(np.int64)


def _load_metadata():
    with open(_METADATA, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


metadata = _load_metadata()
classes = list(metadata["classes"]) if metadata.get("classes") else list(range(int(metadata["num_classes"])))
__version__ = metadata["version"]
_model = []  # the loaded Model, once load() ran


def load():
    """The packaged Model (weights read on the first call, then reused)."""
    if not _model:
        _model.append(Model(_WEIGHTS))
    return _model[0]


def predict(x):
    """Class indices [N] (int64) for the inputs x."""
    return load().predict(x)


def predict_proba(x):
    """Class probabilities [N, num_classes] (float32) for the inputs x."""
    return load().predict_proba(x)


def preprocess(x):
    """Applies the training data's normalisation (metadata["normalize"], written by kiln's
    data.normalize) to raw inputs x [N, ...]; returns x as float32 unchanged when the model
    was trained on raw data."""
    x = np.asarray(x)
    norm = metadata.get("normalize")
    x32 = x.astype(np.float32)
    if not norm:
        return x32
    minmax = norm["mode"] in ("minmax", "minmax-per-feature")
    a = np.asarray(norm["min" if minmax else "mean"], dtype=np.float64)
    b = np.asarray(norm["max" if minmax else "std"], dtype=np.float64)
    spread = b - a if minmax else b
    shift = a.astype(np.float32)
    div = np.where((spread > 0) & (spread.astype(np.float32) > 0), spread, 1.0).astype(np.float32)
    features = int(norm["features"])
    flat = x32.reshape(-1, features)
    return ((flat - shift) / div).astype(np.float32).reshape(x32.shape)

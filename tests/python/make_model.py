"""Write a kiln model artifact (docs/artifacts.md, "model") with numpy alone, for tests and
benchmarks that must not depend on a trainer.

    make_model.py --arch mlp|cnn|big --out model.safetensors [--x x.npy --n 64] [--seed 0]
                  [--classes] [--normalize] [--size-mb 100]

mlp: Sequential(Flatten, Linear(64,16), ReLU, Linear(16,12), ReLU, Linear(12,5)) on [1, 8, 8];
cnn: Sequential(Conv2d(1,4,3), ReLU, MaxPool2d(2), Conv2d(4,6,3,padding=1), ReLU, MaxPool2d(2),
     Flatten, Linear(24,10), ReLU, Linear(10,3)) on [1, 12, 12];
big: Sequential(Flatten, Linear(F,F), ReLU, Linear(F,10)) on [F] with F chosen so the file is
     about --size-mb megabytes.
Weights are seeded random numbers; --x writes float32 inputs shaped [n, *input_shape]; with
--classes the model carries kiln.classes, with --normalize a kiln.normalize block (global
mean/std). The file follows the kiln writer's layout (tensors by element size then name,
header padded to 8 bytes), so the same arguments always give the same bytes.
"""
import argparse
import json
import struct

import numpy as np


def arch_for(kind, size_mb):
    if kind == "mlp":
        layers = [{"type": "flatten"}, {"type": "linear", "in": 64, "out": 16}, {"type": "relu"},
                  {"type": "linear", "in": 16, "out": 12}, {"type": "relu"},
                  {"type": "linear", "in": 12, "out": 5}]
        return {"format": "kiln.model/1", "input_shape": [1, 8, 8], "num_classes": 5, "layers": layers}
    if kind == "cnn":
        layers = [{"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel": 3, "stride": 1, "padding": 0},
                  {"type": "relu"},
                  {"type": "maxpool2d", "kernel": 2, "stride": 2},
                  {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel": 3, "stride": 1, "padding": 1},
                  {"type": "relu"},
                  {"type": "maxpool2d", "kernel": 2, "stride": 2},
                  {"type": "flatten"},
                  {"type": "linear", "in": 24, "out": 10}, {"type": "relu"},
                  {"type": "linear", "in": 10, "out": 3}]
        return {"format": "kiln.model/1", "input_shape": [1, 12, 12], "num_classes": 3, "layers": layers}
    # big: F*F + F + 10*F + 10 floats ~ size_mb megabytes
    f = int((size_mb * 1e6 / 4) ** 0.5)
    layers = [{"type": "flatten"}, {"type": "linear", "in": f, "out": f}, {"type": "relu"},
              {"type": "linear", "in": f, "out": 10}]
    return {"format": "kiln.model/1", "input_shape": [f], "num_classes": 10, "layers": layers}


def weights_for(arch, rng):
    tensors = {}
    for i, layer in enumerate(arch["layers"]):
        if layer["type"] == "linear":
            fan_in = layer["in"]
            tensors["%d.weight" % i] = rng.standard_normal((layer["out"], layer["in"])) / np.sqrt(fan_in)
            tensors["%d.bias" % i] = rng.standard_normal(layer["out"]) * 0.1
        elif layer["type"] == "conv2d":
            k = layer["kernel"]
            fan_in = layer["in_channels"] * k * k
            tensors["%d.weight" % i] = rng.standard_normal((layer["out_channels"], layer["in_channels"], k, k)) / np.sqrt(fan_in)
            tensors["%d.bias" % i] = rng.standard_normal(layer["out_channels"]) * 0.1
    return {k: v.astype(np.float32) for k, v in tensors.items()}


def write_safetensors(path, tensors, metadata):
    names = sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n))
    header, offset = {}, 0
    for n in names:
        a = np.ascontiguousarray(tensors[n])
        header[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    header["__metadata__"] = metadata
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for n in names:
            f.write(np.ascontiguousarray(tensors[n], dtype="<f4").tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", choices=["mlp", "cnn", "big"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--x", help="also write float32 inputs [n, *input_shape] here (.npy)")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", action="store_true", help="add kiln.classes names")
    ap.add_argument("--normalize", action="store_true", help="add a kiln.normalize block (global)")
    ap.add_argument("--size-mb", type=float, default=100.0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    arch = arch_for(args.arch, args.size_mb)
    tensors = weights_for(arch, rng)
    meta = {"format": "pt", "kiln.arch": json.dumps(arch, sort_keys=True),
            "kiln.training": json.dumps({"op": "tests/python/make_model.py", "params": {"seed": args.seed}},
                                        sort_keys=True)}
    if args.classes:
        meta["kiln.classes"] = json.dumps(["class_%d" % i for i in range(arch["num_classes"])])
    if args.normalize:
        features = int(np.prod(arch["input_shape"]))
        meta["kiln.normalize"] = json.dumps({"mode": "global", "features": features, "mean": 0.25, "std": 2.0},
                                            sort_keys=True)
    write_safetensors(args.out, tensors, meta)
    if args.x:
        x = rng.standard_normal((args.n,) + tuple(arch["input_shape"])).astype(np.float32)
        np.save(args.x, x)


if __name__ == "__main__":
    main()

"""Check an installed model wheel against the reference forward pass (run it with the venv's
python, from outside the source tree):

    wheel_verify.py --import fashion_mlp --model model.safetensors --x x.npy
                    [--name N] [--version V] [--classes] [--predictions pred.npy]

Asserts: the package is imported from an installed location (site-packages), predict()
equals the argmax of the reference logits, predict_proba() matches the reference softmax,
single-sample and flattened inputs work, metadata and classes are right; with
--predictions, predict() also equals those class indices (cpu.predict's, say). Prints one
JSON line with what it compared; exits non-zero on any mismatch.
"""
import argparse
import importlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wheel_reference import forward, softmax  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--import", dest="module", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--x", required=True)
    ap.add_argument("--name")
    ap.add_argument("--version")
    ap.add_argument("--classes", action="store_true", help="expect kiln.classes names")
    ap.add_argument("--predictions", help=".npy of class indices predict() must equal")
    args = ap.parse_args()

    pkg = importlib.import_module(args.module)
    where = os.path.abspath(pkg.__file__)
    assert "site-packages" in where or "dist-packages" in where, "imported from %s, not an install" % where

    x = np.load(args.x)
    ref = forward(args.model, x)
    want = ref.argmax(axis=1)
    got = pkg.predict(x)
    assert got.dtype == np.int64 and got.shape == (x.shape[0],), (got.dtype, got.shape)
    diff = np.nonzero(got != want)[0]
    for i in diff:  # only a near-tie may differ between float32 and float64
        top = np.sort(ref[i])[-2:]
        assert top[1] - top[0] < 1e-4, "sample %d: predict %d, reference %d (logits %s)" % (i, got[i], want[i], ref[i])
    proba = pkg.predict_proba(x)
    assert proba.dtype == np.float32 and proba.shape == ref.shape, (proba.dtype, proba.shape)
    err = float(np.abs(proba - softmax(ref)).max())
    assert err < 1e-5, "predict_proba differs from the reference by %g" % err
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)

    one = pkg.predict(x[0])
    assert one.shape == (1,) and one[0] == got[0], one
    flat = pkg.predict(x.reshape(x.shape[0], -1))
    assert np.array_equal(flat, got)
    model = pkg.load()
    assert model is pkg.load()

    meta = pkg.metadata
    if args.name:
        assert meta["name"] == args.name, meta["name"]
    if args.version:
        assert meta["version"] == args.version and pkg.__version__ == args.version, meta["version"]
    n = int(meta["num_classes"])
    if args.classes:
        assert pkg.classes == ["class_%d" % i for i in range(n)], pkg.classes
    else:
        assert pkg.classes == list(range(n)), pkg.classes
    if meta.get("normalize"):
        pre = pkg.preprocess(x)
        norm = meta["normalize"]
        assert np.allclose(pre, (x - np.float32(norm["mean"])) / np.float32(norm["std"]), atol=1e-6)
    if args.predictions:
        other = np.load(args.predictions)
        assert np.array_equal(other.astype(np.int64), got), "predict() differs from %s" % args.predictions

    print(json.dumps({"module": args.module, "file": where, "samples": int(x.shape[0]),
                      "near_tie_differences": int(len(diff)), "max_proba_error": err,
                      "classes": n}))


if __name__ == "__main__":
    main()

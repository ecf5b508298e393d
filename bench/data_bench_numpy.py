"""numpy peer of bench/data_bench.sh: the same work as kiln's data.idx -> data.normalize graph.

Reads the Fashion-MNIST training images and labels (.gz), checks the IDX headers, converts the
images to float32, computes statistics in float64 (per-feature mean/std by default, as
data.normalize), normalises, and writes a safetensors dataset (x float32 [N, 28, 28], y int64
[N], the statistics in __metadata__) atomically (temporary file, fsync, rename), as kiln's
store does. Usage: data_bench_numpy.py IMAGES.gz LABELS.gz OUT.safetensors [MODE]
"""
import gzip, json, os, struct, sys, time
import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit("%s: not a uint8 IDX file" % path)
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    a = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if a.size != int(np.prod(dims)):
        sys.exit("%s: size mismatch" % path)
    return a.reshape(dims)


def main():
    images, labels, out = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "per-feature"
    t0 = time.perf_counter()
    x8 = read_idx(images)
    y = read_idx(labels).astype(np.int64)
    if x8.shape[0] != y.shape[0]:
        sys.exit("count mismatch")
    t1 = time.perf_counter()
    n = x8.shape[0]
    x = x8.reshape(n, -1).astype(np.float32)
    if mode == "per-feature":
        mean = x.mean(0, dtype=np.float64)
        std = x.std(0, dtype=np.float64)
        std[std == 0] = 1
        stats = {"mode": mode, "features": x.shape[1], "mean": mean.tolist(), "std": std.tolist()}
    else:  # global
        mean = x.mean(dtype=np.float64)
        std = x.std(dtype=np.float64) or 1.0
        stats = {"mode": mode, "features": x.shape[1], "mean": float(mean), "std": float(std)}
    x -= mean.astype(np.float32) if isinstance(mean, np.ndarray) else np.float32(mean)
    x /= std.astype(np.float32) if isinstance(std, np.ndarray) else np.float32(std)
    t2 = time.perf_counter()
    xb, yb = x.reshape(x8.shape), y
    header = {"__metadata__": {"kiln.normalize": json.dumps(stats, sort_keys=True)},
              "x": {"dtype": "F32", "shape": list(xb.shape), "data_offsets": [0, xb.nbytes]},
              "y": {"dtype": "I64", "shape": list(yb.shape),
                    "data_offsets": [xb.nbytes, xb.nbytes + yb.nbytes]}}
    h = json.dumps(header, sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        f.write(memoryview(xb).cast("B"))
        f.write(memoryview(yb).cast("B"))
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, out)
    t3 = time.perf_counter()
    print("numpy phases: read %.3fs, normalise %.3fs, write %.3fs" % (t1 - t0, t2 - t1, t3 - t2))


if __name__ == "__main__":
    main()

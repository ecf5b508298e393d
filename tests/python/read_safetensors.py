"""Load a kiln dataset (or any safetensors file) with numpy alone.

    from read_safetensors import load
    tensors, metadata = load("dataset.safetensors")   # {"x": array, "y": array}, {"kiln.classes": "[...]"}

Run as a script it prints each tensor's dtype and shape and the metadata keys.
"""
import json, struct, sys
import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "U8": "u1", "I8": "i1", "I32": "<i4",
          "I64": "<i8", "BOOL": "?"}


def load(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {name: np.frombuffer(data, DTYPES[t["dtype"]], offset=t["data_offsets"][0],
                                   count=int(np.prod(t["shape"], dtype=np.int64))).reshape(t["shape"])
               for name, t in header.items()}
    return tensors, meta


if __name__ == "__main__":
    tensors, meta = load(sys.argv[1])
    for name, a in sorted(tensors.items()):
        print(name, a.dtype, list(a.shape))
    for key, value in sorted(meta.items()):
        print("meta", key, value if len(value) < 200 else value[:200] + "...")

"""Helpers for tests/e2e/test_data_*.sh (numpy + the stdlib only).

    data_e2e.py errors EVENTS.jsonl            print "node<TAB>error" for every failed node
    data_e2e.py no-datasets KILN_HOME          fail if any safetensors file is in the store
    data_e2e.py idx FILE ARRAY.npy [CODE]      write ARRAY as an IDX file (gzip when FILE ends .gz)
"""
import gzip, json, os, struct, sys
import numpy as np


def errors(path):
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        ev = json.loads(line)
        if ev.get("type") == "state" and ev.get("state") == "failed" and ev.get("node"):
            print("%s\t%s" % (ev["node"], ev.get("error", "")))


def no_datasets(home):
    bad = []
    for root, _, files in os.walk(os.path.join(home, "cas")):
        for name in files:
            p = os.path.join(root, name)
            with open(p, "rb") as f:
                head = f.read(10)
            if len(head) == 10 and head[8:10] == b'{"':
                bad.append(p)
    if bad:
        sys.exit("safetensors artifacts in the store: %s" % bad)


IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
             np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(a):
    a = np.asarray(a)
    head = bytes([0, 0, IDX_CODES[a.dtype], a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write_idx(path, a):
    data = idx_bytes(a)
    if path.endswith(".gz"):
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "errors":
        errors(sys.argv[2])
    elif cmd == "no-datasets":
        no_datasets(sys.argv[2])
    elif cmd == "idx":
        write_idx(sys.argv[2], np.load(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)

"""Writes a tiny, valid model wheel (tinymodel-1.0.0-py3-none-any.whl) offering what a
kiln model wheel offers to its test: load().input_shape, classes and predict(x).
Usage: make_wheel.py OUT.whl"""
import base64
import hashlib
import sys
import zipfile

INIT = '''import numpy as np

classes = ["zero", "one", "two"]


class _Model:
    input_shape = (4,)


def load():
    return _Model()


def predict(x):
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return (x.sum(axis=1) > 0).astype(np.int64)
'''
FILES = {
    "tinymodel/__init__.py": INIT,
    "tinymodel-1.0.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinymodel\nVersion: 1.0.0\n"
                                           "Requires-Dist: numpy\n",
    "tinymodel-1.0.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: kiln-test\nRoot-Is-Purelib: true\n"
                                        "Tag: py3-none-any\n",
}


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d\n" % (name, digest, len(data))


def main():
    record = "".join(record_line(n, t.encode()) for n, t in FILES.items())
    record += "tinymodel-1.0.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(sys.argv[1], "w") as z:
        for name, text in list(FILES.items()) + [("tinymodel-1.0.0.dist-info/RECORD", record)]:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            z.writestr(info, text)


if __name__ == "__main__":
    main()

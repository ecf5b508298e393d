"""Craft good and hostile wheels with Python's zipfile (independently of kiln's writer) for
the wheel.check tests.

    wheel_craft.py bad OUTDIR     writes one file per bad case into OUTDIR and OUTDIR/cases.json:
                                  [{"file": ..., "check": category, "expect": message part,
                                    "params": {...wheel.check params...}}]
    wheel_craft.py good OUT.whl   a small valid pure wheel (demo 1.0)

Every bad case names files that must never appear on disk ("canary": paths outside the
output dir); the test asserts they do not exist after checking.
"""
import base64
import hashlib
import json
import os
import sys
import warnings
import zipfile


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d\n" % (name, digest, len(data))


def demo_files(name="demo", version="1.0", tag="py3-none-any"):
    di = "%s-%s.dist-info/" % (name, version)
    return [(name + "/__init__.py", b"x = 1\n"),
            (di + "METADATA", ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)).encode()),
            (di + "WHEEL", ("Wheel-Version: 1.0\nGenerator: craft\nRoot-Is-Purelib: true\nTag: %s\n" % tag).encode())]


def write(path, files, record=True, dist_info="demo-1.0.dist-info", record_text=None, compress=zipfile.ZIP_DEFLATED):
    files = list(files)
    if record:
        text = record_text
        if text is None:
            text = "".join(record_line(n, d) for n, d in files) + dist_info + "/RECORD,,\n"
        files.append((dist_info + "/RECORD", text.encode()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one case
        with zipfile.ZipFile(path, "w", compress) as z:
            for n, d in files:
                z.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), d, compress_type=compress)


def bad_cases(out):
    cases = []

    def case(file, check, expect, params=None, canary=None):
        cases.append({"file": file, "check": check, "expect": expect, "params": params or {},
                      "canary": canary or []})

    good = os.path.join(out, "demo-1.0-py3-none-any.whl")
    write(good, demo_files())
    data = open(good, "rb").read()

    open(os.path.join(out, "notzip-1.0-py3-none-any.whl"), "wb").write(b"#!/bin/sh\necho not a zip\n")
    case("notzip-1.0-py3-none-any.whl", "zip", "not a zip archive")
    open(os.path.join(out, "truncated-1.0-py3-none-any.whl"), "wb").write(data[: len(data) * 2 // 3])
    case("truncated-1.0-py3-none-any.whl", "zip", "truncated or damaged zip archive")

    files = demo_files() + [("demo/weights.bin", b"\0" * (64 << 20))]
    write(os.path.join(out, "ratio-1.0-py3-none-any.whl"), files)
    case("ratio-1.0-py3-none-any.whl", "bomb", "entry 'demo/weights.bin' expands")

    files = demo_files() + [("demo/m%02d.py" % i, b"") for i in range(20)]
    write(os.path.join(out, "count-1.0-py3-none-any.whl"), files)
    case("count-1.0-py3-none-any.whl", "bomb", "the archive has 24 entries, more than the limit of 10",
         {"max_entries": 10})

    files = demo_files() + [("demo/x.py", b"a = 1\n"), ("demo/x.py", b"import os; os.system('id')\n")]
    write(os.path.join(out, "dup-1.0-py3-none-any.whl"), files)
    case("dup-1.0-py3-none-any.whl", "zip", "duplicate entry 'demo/x.py'")

    files = demo_files()
    rec = "".join(record_line(n, d) for n, d in files) + "demo-1.0.dist-info/RECORD,,\n"
    files[0] = (files[0][0], b"x = 666\n")  # content changed after RECORD was written
    write(os.path.join(out, "tampered-1.0-py3-none-any.whl"), files, record_text=rec)
    case("tampered-1.0-py3-none-any.whl", "record", "hash mismatch for 'demo/__init__.py'")

    files = demo_files() + [("demo/extra.py", b"")]
    rec = "".join(record_line(n, d) for n, d in demo_files()) + "demo-1.0.dist-info/RECORD,,\n"
    write(os.path.join(out, "unlisted-1.0-py3-none-any.whl"), files, record_text=rec)
    case("unlisted-1.0-py3-none-any.whl", "record", "'demo/extra.py' is in the archive but not listed in RECORD")

    canary_abs = os.path.join(os.path.dirname(os.path.abspath(out)), "kiln-abs-canary")
    write(os.path.join(out, "abs-1.0-py3-none-any.whl"), demo_files() + [(canary_abs, b"pwned\n")])
    case("abs-1.0-py3-none-any.whl", "path", "has an absolute path", canary=[canary_abs])
    write(os.path.join(out, "dotdot-1.0-py3-none-any.whl"), demo_files() + [("demo/../../kiln-dotdot-canary", b"x")])
    case("dotdot-1.0-py3-none-any.whl", "path", "has a '..' component",
         canary=[os.path.join(os.path.dirname(os.path.abspath(out)), "kiln-dotdot-canary")])

    write(os.path.join(out, "bad name-1.0-py3-none-any.whl"), demo_files())
    case("bad name-1.0-py3-none-any.whl", "filename", "invalid distribution name 'bad name'")
    write(os.path.join(out, "demo-1.x-py3-none-any.whl"), demo_files())
    case("demo-1.x-py3-none-any.whl", "filename", "invalid version '1.x'")
    write(os.path.join(out, "demo-2.0-py3-none-any.whl"), demo_files())
    case("demo-2.0-py3-none-any.whl", "dist-info", "version '1.0' does not match the file version '2.0'")
    write(os.path.join(out, "demo-1.0-py2-none-any.whl"), demo_files())
    case("demo-1.0-py2-none-any.whl", "wheel", "the file name has tag py2-none-any")

    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "bad":
        os.makedirs(sys.argv[2], exist_ok=True)
        bad_cases(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "good":
        write(sys.argv[2], demo_files())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

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
import struct
import sys
import warnings
import zipfile
import zlib


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


def patch_sizes(path, name, size):
    """Rewrites the uncompressed size of entry `name` in its local and central headers."""
    data = bytearray(open(path, "rb").read())
    n = name.encode()
    for sig, name_len_at, size_at, head in ((b"PK\x03\x04", 26, 22, 30), (b"PK\x01\x02", 28, 24, 46)):
        i = data.find(sig)
        while i >= 0:
            (nl,) = struct.unpack_from("<H", data, i + name_len_at)
            if data[i + head:i + head + nl] == n:
                struct.pack_into("<I", data, i + size_at, size)
            i = data.find(sig, i + 4)
    open(path, "wb").write(bytes(data))


def overlap_zip(path, files, quoted):
    """A zip whose entry `quoted` is stored once but reached twice: entry 'demo/quote.bin'
    (stored) holds the local header and deflated data of `quoted` as its content, so the two
    entries share bytes -- the overlap trick of non-recursive zip bombs. Headers agree with
    the central directory; RECORD (the last of `files`) lists both with correct hashes."""
    def local(name, method, crc, csize, usize):
        return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, csize, usize,
                           len(name), 0) + name.encode()
    out, central = b"", []
    for name, data in files:
        if name == quoted:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = c.compress(data) + c.flush()
            inner = local(name, 8, zlib.crc32(data), len(comp), len(data)) + comp
            outer = local("demo/quote.bin", 0, zlib.crc32(inner), len(inner), len(inner))
            central.append(("demo/quote.bin", 0, zlib.crc32(inner), len(inner), len(inner), len(out)))
            central.append((name, 8, zlib.crc32(data), len(comp), len(data), len(out) + len(outer)))
            out += outer + inner
        else:
            central.append((name, 0, zlib.crc32(data), len(data), len(data), len(out)))
            out += local(name, 0, zlib.crc32(data), len(data), len(data)) + data
    cd = b""
    for name, method, crc, csize, usize, off in central:
        cd += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 0x031e, 20, 0, method, 0, 0x21, crc, csize, usize,
                          len(name), 0, 0, 0, 0, 0o100644 << 16, off) + name.encode()
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), len(cd), len(out), 0)
    open(path, "wb").write(out + cd + eocd)


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

    # Many entries, each under the 1 MiB per-entry threshold: the whole archive's ratio.
    files = demo_files() + [("demo/z%02d.bin" % i, b"\0" * (1000 << 10)) for i in range(30)]
    write(os.path.join(out, "total-1.0-py3-none-any.whl"), files)
    case("total-1.0-py3-none-any.whl", "bomb", "the archive expands")

    # Headers that lie: 4 MiB of zeros declared as 100 bytes; reading stops at the declared size.
    files = demo_files() + [("demo/lie.bin", b"\0" * (4 << 20))]
    write(os.path.join(out, "lie-1.0-py3-none-any.whl"), files)
    patch_sizes(os.path.join(out, "lie-1.0-py3-none-any.whl"), "demo/lie.bin", 100)
    case("lie-1.0-py3-none-any.whl", "zip", "entry demo/lie.bin holds more data than its declared size 100")

    # Overlapping entries (non-recursive zip bomb): two entries share one deflate stream.
    # (incompressible content: the shared bytes must outweigh the headers for the sizes to show it)
    inner = ("demo/b.bin", b"".join(hashlib.sha256(struct.pack("<I", i)).digest() for i in range(2048)))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    comp = c.compress(inner[1]) + c.flush()
    quote = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, zlib.crc32(inner[1]), len(comp),
                        len(inner[1]), len(inner[0]), 0) + inner[0].encode() + comp
    files = demo_files() + [inner]
    rec = "".join(record_line(n, d) for n, d in files + [("demo/quote.bin", quote)]) + "demo-1.0.dist-info/RECORD,,\n"
    overlap_zip(os.path.join(out, "overlap-1.0-py3-none-any.whl"), files + [("demo-1.0.dist-info/RECORD", rec.encode())],
                "demo/b.bin")
    case("overlap-1.0-py3-none-any.whl", "bomb", "entries overlap")

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

    files = demo_files()
    rec = "".join(record_line(n, d) for n, d in files) + "demo-1.0.dist-info/RECORD,,\n"
    rec = rec.replace(",%d\n" % len(files[0][1]), ",%d\n" % (len(files[0][1]) + 1), 1)
    write(os.path.join(out, "size-1.0-py3-none-any.whl"), files, record_text=rec)
    case("size-1.0-py3-none-any.whl", "record", "RECORD says 'demo/__init__.py' is 7 bytes, the archive holds 6")
    write(os.path.join(out, "norecord-1.0-py3-none-any.whl"), demo_files(), record=False)
    case("norecord-1.0-py3-none-any.whl", "record", "demo-1.0.dist-info/RECORD is missing")

    p = os.path.join(out, "link-1.0-py3-none-any.whl")
    with zipfile.ZipFile(p, "w") as z:
        files = demo_files() + [("demo/link.py", b"/etc/passwd")]
        for n, d in files:
            zi = zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0))
            if n == "demo/link.py":
                zi.create_system, zi.external_attr = 3, 0o120777 << 16
            z.writestr(zi, d)
        rec = "".join(record_line(n, d) for n, d in files) + "demo-1.0.dist-info/RECORD,,\n"
        z.writestr(zipfile.ZipInfo("demo-1.0.dist-info/RECORD", (1980, 1, 1, 0, 0, 0)), rec)
    case("link-1.0-py3-none-any.whl", "path", "entry 'demo/link.py' is a symbolic link")

    files = demo_files()
    files[1] = (files[1][0], b"Metadata-Version: 2.1\nVersion: 1.0\n")
    write(os.path.join(out, "noname-1.0-py3-none-any.whl"), files)
    case("noname-1.0-py3-none-any.whl", "metadata", "has no Name (a required field)")

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

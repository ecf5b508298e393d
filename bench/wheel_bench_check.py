"""The Python peer of wheel.check's RECORD verification in bench/wheel_bench.sh: what pip's
installer and `python3 -m wheel unpack` do to trust a wheel, without writing anything --
open the zip, parse RECORD, stream every file through its hash, compare hashes and sizes,
and flag unlisted files and unsafe paths.

    wheel_bench_check.py FILE.whl    exit 0 when the wheel verifies, 1 otherwise
"""
import base64
import csv
import hashlib
import io
import sys
import zipfile


def verify(path):
    errors = []
    with zipfile.ZipFile(path) as z:
        names = [i.filename for i in z.infolist() if not i.is_dir()]
        if len(names) != len(set(names)):
            errors.append("duplicate entries")
        for n in names:
            if n.startswith("/") or ".." in n.split("/"):
                errors.append("unsafe path %s" % n)
        records = [n for n in names if n.endswith(".dist-info/RECORD") and n.count("/") == 1]
        if len(records) != 1:
            return ["expected one .dist-info/RECORD, found %d" % len(records)]
        rows = list(csv.reader(io.TextIOWrapper(z.open(records[0]), encoding="utf-8")))
        listed = set()
        for row in rows:
            if not row:
                continue
            name, digest, size = row
            listed.add(name)
            if name == records[0]:
                continue
            algo, _, want = digest.partition("=")
            h = hashlib.new(algo)
            n = 0
            with z.open(name) as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                    n += len(chunk)
            have = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
            if have != want.rstrip("="):
                errors.append("hash mismatch for %s" % name)
            if str(n) != size:
                errors.append("size mismatch for %s" % name)
        errors += ["%s is not listed in RECORD" % n for n in names if n not in listed]
    return errors


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    errors = verify(sys.argv[1])
    for e in errors:
        print(e)
    print("%s: %s" % (sys.argv[1], "INVALID" if errors else "valid"))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

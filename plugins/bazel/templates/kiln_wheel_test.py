"""Tests a model wheel built by kiln's wheel.package in the build (written by `kiln export
bazel`; do not edit: re-export).

Usage: kiln_wheel_test.py WHEEL

Installs the wheel with pip into a fresh virtual environment (system site packages visible,
for numpy; no index, no dependencies fetched), imports the package it carries, and calls its
predict() on two zero samples of the model's input shape: the answer must be two class
indices of the model's classes. The wheel is copied under its PEP 427 name first (the build
declares it as model.whl), taken from its own .dist-info/WHEEL.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

CHECK = """
import importlib, sys
import numpy as np
m = importlib.import_module(sys.argv[1])
model = m.load()
x = np.zeros((2,) + tuple(model.input_shape), dtype=np.float32)
y = np.asarray(m.predict(x))
assert y.shape == (2,), "predict() returned shape %r, expected (2,)" % (y.shape,)
assert all(0 <= int(v) < len(m.classes) for v in y), "predict() returned %r" % (y,)
print("%s: predict() on 2 samples of shape %r -> %r" % (sys.argv[1], model.input_shape, y.tolist()))
"""


def wheel_facts(path):
    """(PEP 427 file name, import package) from the wheel's own metadata."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        dist_infos = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")})
        if len(dist_infos) != 1:
            sys.exit("%s: expected one .dist-info directory, found %r" % (path, dist_infos))
        dist_info = dist_infos[0]
        wheel = z.read(dist_info + "/WHEEL").decode("utf-8")
        tags = [l.split(":", 1)[1].strip() for l in wheel.splitlines() if l.startswith("Tag:")]
        if not tags:
            sys.exit("%s: %s/WHEEL has no Tag line" % (path, dist_info))
        packages = sorted({n.split("/")[0] for n in names
                           if n.count("/") == 1 and n.endswith("/__init__.py")})
        if len(packages) != 1:
            sys.exit("%s: expected one top-level package, found %r" % (path, packages))
    return "%s-%s.whl" % (dist_info[:-len(".dist-info")], tags[0]), packages[0]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    wheel = os.path.abspath(sys.argv[1])
    file_name, package = wheel_facts(wheel)
    tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    try:
        named = os.path.join(tmp, file_name)
        shutil.copyfile(wheel, named)
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        venv = os.path.join(tmp, "venv")
        subprocess.check_call([python, "-m", "venv", "--system-site-packages", venv])
        venv_python = os.path.join(venv, "bin", "python")
        subprocess.check_call([venv_python, "-m", "pip", "install", "--no-index", "--no-deps",
                               "--disable-pip-version-check", "--quiet", named])
        # Run from the temp dir so that the package comes from the venv, not the runfiles.
        subprocess.check_call([venv_python, "-c", CHECK, package], cwd=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# api/openapi.yaml and the server agree, both ways:
#   - the spec's paths and methods equal the route table `kiln serve --routes` prints;
#   - probing the real server: every documented METHOD PATH is routed (never the "no
#     route" 404 nor 405), and every other method on those paths answers 405 with an Allow
#     header listing exactly the documented ones (so --routes is the table that serves);
#   - the error codes the spec lists are exactly those the server's sources can send;
#   - `kiln serve --help` and the client commands' --help name exactly the options parsed.
# The YAML is read with a small line parser (PyYAML may be absent); when PyYAML is there,
# the parse is checked against it too.
source "$(dirname "$0")/lib.sh"
source "$KILN_SOURCE_DIR/api/tests/e2e_lib.sh"
SPEC="$KILN_SOURCE_DIR/api/openapi.yaml"

/usr/bin/python3 - "$SPEC" > "$T/spec.routes" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
routes, in_paths, path = [], False, None
for line in text.split("\n"):
    if re.match(r"^\S", line):                       # a top-level key
        in_paths = line.startswith("paths:")
        continue
    if not in_paths: continue
    m = re.match(r"^  (/\S*):\s*$", line)
    if m: path = m.group(1); continue
    m = re.match(r"^    (get|put|post|delete|patch|head|options|trace):\s*$", line)
    if m and path: routes.append(f"{m.group(1).upper()} {path}")
try:
    import yaml                                        # cross-check the line parser when possible
    doc = yaml.safe_load(text)
    full = sorted(f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops
                  if m in ("get", "put", "post", "delete", "patch", "head", "options", "trace"))
    assert full == sorted(routes), (full, routes)
except ImportError:
    pass
print("\n".join(sorted(routes)))
PY
[ "$(wc -l < "$T/spec.routes")" -ge 10 ] || fail "parsed too few routes from $SPEC: $(cat "$T/spec.routes")"
"$KILN" serve --routes | sort > "$T/server.routes"
if ! diff -u "$T/spec.routes" "$T/server.routes" > "$T/diff"; then
  cat "$T/diff"
  fail "api/openapi.yaml (-) and the server's routes (+) differ"
fi
pass "openapi.yaml paths = kiln serve --routes ($(wc -l < "$T/spec.routes") routes)"

# --- probe the live server with every documented route and every other method
start_server
/usr/bin/python3 - "$PORT" "$T/spec.routes" <<'PY' || fail "probing the server's routes"
import http.client, json, sys
port, routes = int(sys.argv[1]), [l.split() for l in open(sys.argv[2]) if l.strip()]
fill = {"{id}": "r-20000101-000000-000000", "{node}": "n", "{digest}": "0" * 64}
def concrete(p):
    for k, v in fill.items(): p = p.replace(k, v)
    return p
def request(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
by_path = {}
for m, p in routes: by_path.setdefault(p, set()).add(m)
problems = []
for p, methods in sorted(by_path.items()):
    cp = concrete(p)
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"):
        documented = m in methods or (m == "HEAD" and "GET" in methods)
        status, hdr, data = request(m, cp, "{}" if m in ("POST", "PUT", "PATCH") else None)
        err = {}
        if data and hdr.get("content-type", "").startswith("application/json"):
            err = json.loads(data).get("error") or {}
        if documented:
            if status == 405 or (status == 404 and "no route" in err.get("message", "")):
                problems.append(f"{m} {p}: documented, but the server answers {status} {err}")
        else:
            if status != 405:
                problems.append(f"{m} {p}: not documented, but the server answers {status}")
                continue
            allow = {a.strip() for a in hdr.get("allow", "").split(",") if a.strip()}
            want = set(methods) | ({"HEAD"} if "GET" in methods else set())
            if allow != want:
                problems.append(f"{m} {p}: Allow {sorted(allow)}, documented {sorted(want)}")
# a path the spec does not have is not served
for p in ("/v1", "/v1/job", "/v1/jobs/x/y", "/v1/jobs/x/nodes/n", "/v1/artifacts", "/openapi.yaml", "/"):
    status, _, _ = request("GET", p)
    if status != 404: problems.append(f"GET {p}: undocumented path answers {status}, expected 404")
if problems:
    print("\n".join(problems)); sys.exit(1)
PY
pass "every documented route is served, every other method answers 405 with the documented Allow, other paths 404"

# --- error codes: the spec's list = what the sources send
/usr/bin/python3 - "$SPEC" "$KILN_SOURCE_DIR/api" <<'PY' || fail "error codes"
import glob, re, sys
spec = open(sys.argv[1]).read()
m = re.search(r"code:\s*\n\s*type: string\s*\n\s*description: >\s*\n((?:\s{16}.*\n)+)", spec)
assert m, "no error code list in the spec"
documented = {c.strip() for c in m.group(1).replace("\n", " ").split(",") if c.strip()}
sent = set()
for f in glob.glob(sys.argv[2] + "/*.c"):
    sent |= set(re.findall(r'\b[45]\d\d,\s*"([a-z_]+)"', open(f).read()))
assert documented == sent, f"documented only: {sorted(documented - sent)}; sent only: {sorted(sent - documented)}"
print(f"{len(sent)} error codes")
PY
pass "the spec's error codes = the codes the server sends"

# --- `kiln serve --help` and the client commands' --help name exactly the options they parse
for c in serve submit jobs job cancel retry logs watch; do
  "$KILN" "$c" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u > "$T/help-$c"
done
/usr/bin/python3 - "$KILN_SOURCE_DIR/core/cli" "$T" <<'PY' || fail "--help and the option tables differ"
import re, sys
src, t = sys.argv[1], sys.argv[2]
def body(text, start):  # the function body that starts at `start`, to its closing "\n}\n"
    i = text.index(start)
    return text[i:text.index("\n}\n", i)]
def longopts(code):
    opts = set(re.findall(r'\{"([a-z][a-z-]*)",\s*(?:no|required|optional)_argument', code))
    if "CLIENT_LONGOPTS" in code: opts |= {"server", "token-file"}
    return opts
serve = open(src + "/cmd_serve.c").read()
client = open(src + "/cmd_client.c").read()
code = {"serve": longopts(body(serve, "int cmd_serve("))}
for c in ("submit", "jobs", "job", "logs", "watch"): code[c] = longopts(body(client, f"int cmd_{c}("))
code["cancel"] = code["retry"] = longopts(body(client, "static int job_action("))
bad = []
for c, opts in code.items():
    helped = {l.strip()[2:] for l in open(f"{t}/help-{c}") if l.strip()}
    if opts != helped:
        bad.append(f"kiln {c}: parsed only: {sorted(opts - helped)}; in --help only: {sorted(helped - opts)}")
if bad: print("\n".join(bad)); sys.exit(1)
PY
pass "kiln serve/submit/jobs/job/cancel/retry/logs/watch --help name exactly the options each parses"

stop_server
[ "$SERVER_RC" = 0 ] || fail "SIGTERM: exit $SERVER_RC"
echo "all API spec checks passed"

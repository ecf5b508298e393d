# lib_cpu.sh -- sourced (after lib.sh) by the end-to-end tests of the cpu and eval plugins.
#
# cpu_test_setup PLUGIN...: sets PY, PYTHONPATH, PLUGINS and FM, exits 0 with "skip: ..."
# when a named plugin (e.g. kiln_cpu) is not built, and sets up LeakSanitizer for the
# sanitizer builds: LSan crashes at exit ("Tracer caught signal 11") scanning the dynamic TLS
# of the OpenMP worker threads oneDNN starts inside the dlopen'd plugin (a bogus DTLS range)
# whenever a node runs on 2 threads. Not scanning TLS as a root set avoids it; the only blocks
# then unreachable are libgomp's per-thread state, suppressed. Leaks elsewhere are still
# reported. No effect on other builds.
cpu_test_setup() {
  printf 'leak:libgomp.so\n' > "$T/lsan.supp"
  export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}use_tls=0:suppressions=$T/lsan.supp"
  PY=/usr/bin/python3
  export PYTHONPATH="$KILN_SOURCE_DIR/tests/python"
  FM=/usr/share/datasets/fashion-mnist
  PLUGINS="$KILN_BUILD_DIR/lib/kiln/plugins"
  local p
  for p in "$@"; do
    if [ ! -f "$PLUGINS/$p.so" ]; then echo "skip: $PLUGINS/$p.so not built"; exit 0; fi
  done
}

/* export.c -- writing the workspace's files (see export.h). */
#include "export.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit.h"
#include "model.h"

/* Templates embedded at build time (CMakeLists.txt, embed.cmake). */
extern const unsigned char kb_tpl_kiln_bzl[];
extern const unsigned char kb_tpl_wheel_test_py[];

static int fail_io(kiln_error *err, const char *fmt, ...) KILN_PRINTF(2, 3);
static int fail_io(kiln_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = KILN_EIO;
    return KILN_EIO;
}

static char *path_join(const char *dir, const char *rel) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, rel) < 0) return NULL;
    return p;
}

/* mkdir -p of the directories above `path` inside out_dir. */
static int make_parents(const char *path, kiln_error *err) {
    char *p = strdup(path);
    if (!p) return fail_io(err, "bazel: out of memory");
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int rc = fail_io(err, "bazel: cannot create directory %s: %s", p, strerror(errno));
            free(p);
            return rc;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

/* Writes `text` to out_dir/rel (created, never overwritten: out_dir starts empty). */
static int write_text(const char *out_dir, const char *rel, const char *text, kiln_error *err) {
    if (!text) {
        err->code = KILN_ENOMEM;
        snprintf(err->message, sizeof err->message, "bazel: out of memory writing %s", rel);
        return KILN_ENOMEM;
    }
    char *path = path_join(out_dir, rel);
    if (!path) return fail_io(err, "bazel: out of memory");
    int rc = make_parents(path, err);
    FILE *f = rc ? NULL : fopen(path, "wx");
    if (!rc && !f) rc = fail_io(err, "bazel: cannot create %s: %s", path, strerror(errno));
    if (f) {
        size_t len = strlen(text);
        int bad = fwrite(text, 1, len, f) != len;
        if (fclose(f) != 0 || bad) rc = fail_io(err, "bazel: cannot write %s: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

static int copy_file(const char *src, const char *dst, kiln_error *err) {
    FILE *in = fopen(src, "rb");
    if (!in) return fail_io(err, "bazel: cannot read input file %s: %s", src, strerror(errno));
    FILE *out = fopen(dst, "wbx");
    if (!out) {
        fclose(in);
        return fail_io(err, "bazel: cannot create %s: %s", dst, strerror(errno));
    }
    char buf[1 << 16];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0) bad = fwrite(buf, 1, n, out) != n;
    bad |= ferror(in);
    fclose(in);
    if (fclose(out) != 0) bad = 1;
    if (bad) return fail_io(err, "bazel: copying %s to %s failed: %s", src, dst, strerror(errno));
    return 0;
}

/* Puts each data file in place: a copy whose sha256 is checked, or a symbolic link. */
static int write_data(const kiln_host_api *host, const kb_model *m, const char *out_dir, kiln_error *err) {
    for (size_t i = 0; i < m->ndata; i++) {
        const kb_data *d = &m->data[i];
        char *dst = path_join(out_dir, d->rel);
        if (!dst) return fail_io(err, "bazel: out of memory");
        int rc = make_parents(dst, err);
        if (!rc && m->link_data) {
            if (symlink(d->src, dst) != 0) rc = fail_io(err, "bazel: cannot link %s to %s: %s", dst, d->src, strerror(errno));
        } else if (!rc) {
            rc = copy_file(d->src, dst, err);
            if (!rc && host) {
                char hex[65];
                kiln_error herr = {0};
                if (host->sha256_file(dst, hex, &herr) != 0)
                    rc = fail_io(err, "bazel: cannot hash %s: %s", dst, herr.message);
                else if (strcmp(hex, d->sha256) != 0)
                    rc = fail_io(err,
                                 "bazel: input file %s has sha256 %s, expected %s: it changed after the graph was "
                                 "planned; export again",
                                 d->src, hex, d->sha256);
            }
        }
        free(dst);
        if (rc) return rc;
    }
    return 0;
}

int kb_export(const kiln_host_api *host, const json_t *plan, const char *out_dir, const json_t *options,
              kiln_error *err) {
    kb_model *m = kb_model_build(plan, options, err);
    if (!m) return err->code ? err->code : KILN_EINVAL;
    char *text;
    int rc = write_text(out_dir, "WORKSPACE", text = kb_emit_workspace(m), err);
    free(text);
    if (!rc) {
        rc = write_text(out_dir, "BUILD.bazel", text = kb_emit_build(m), err);
        free(text);
    }
    if (!rc) rc = write_text(out_dir, "kiln.bzl", (const char *)kb_tpl_kiln_bzl, err);
    if (!rc) {
        rc = write_text(out_dir, "README.md", text = kb_emit_readme(m), err);
        free(text);
    }
    if (!rc && m->nwheel_tests) rc = write_text(out_dir, "kiln_wheel_test.py", (const char *)kb_tpl_wheel_test_py, err);
    if (!rc) rc = write_data(host, m, out_dir, err);
    kb_model_free(m);
    return rc;
}

/* names.c -- distribution names (PEP 503/508), versions (PEP 440) and wheel file names
 * (binary distribution format). See names.h. */
#include "names.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(kiln_error *err, const char *fmt, ...) KILN_PRINTF(2, 3);
static int fail(kiln_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = KILN_EINVAL;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return KILN_EINVAL;
}

static int is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_sep(char c) { return c == '-' || c == '_' || c == '.'; }

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* ---------------------------------------------------------------------------------------- */
/* Names                                                                                     */
/* ---------------------------------------------------------------------------------------- */

int kiln_wheel_name_valid(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > KILN_WHEEL_NAME_MAX) return 0;
    if (!is_alnum(name[0]) || !is_alnum(name[n - 1])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(name[i]) && !is_sep(name[i])) return 0;
    return 1;
}

/* Writes the name lowercased with runs of separators replaced by `sep`. */
static int squash(const char *name, char sep, char *out, size_t out_len, kiln_error *err) {
    if (!kiln_wheel_name_valid(name))
        return fail(err,
                    "invalid distribution name '%s': expected ASCII letters and digits, with '.', '_' "
                    "or '-' only between them (at most %d characters)",
                    name ? name : "", KILN_WHEEL_NAME_MAX);
    size_t o = 0;
    for (size_t i = 0; name[i]; i++) {
        char c = name[i];
        if (is_sep(c)) {
            if (o > 0 && out[o - 1] == sep) continue;
            c = sep;
        } else {
            c = lower(c);
        }
        if (o + 1 >= out_len) return fail(err, "distribution name '%s' is too long", name);
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int kiln_wheel_name_normalize(const char *name, char *out, size_t out_len, kiln_error *err) {
    return squash(name, '-', out, out_len, err);
}

int kiln_wheel_name_escape(const char *name, char *out, size_t out_len, kiln_error *err) {
    return squash(name, '_', out, out_len, err);
}

static const char *const python_keywords[] = {
    "False", "None",   "True",    "and",      "as",       "assert", "async",  "await",
    "break", "class",  "continue", "def",     "del",      "elif",   "else",   "except",
    "finally", "for",  "from",    "global",   "if",       "import", "in",     "is",
    "lambda", "nonlocal", "not",  "or",       "pass",     "raise",  "return", "try",
    "while", "with",   "yield",   NULL};

int kiln_wheel_is_identifier(const char *s) {
    if (!s || !*s || is_digit(s[0])) return 0;
    for (const char *p = s; *p; p++)
        if (!is_alnum(*p) && *p != '_') return 0;
    for (size_t i = 0; python_keywords[i]; i++)
        if (strcmp(s, python_keywords[i]) == 0) return 0;
    return 1;
}

int kiln_wheel_import_name(const char *name, char *out, size_t out_len, kiln_error *err) {
    int rc = kiln_wheel_name_escape(name, out, out_len, err);
    if (rc) return rc;
    if (!kiln_wheel_is_identifier(out))
        return fail(err,
                    "distribution name '%s' gives the import name '%s', which is not a Python "
                    "identifier (or is a keyword): set param 'import_name'",
                    name, out);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* PEP 440                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* A growing output buffer that records overflow instead of writing past its end. */
typedef struct outbuf {
    char *p;
    size_t len, used;
    int overflow;
} outbuf;

static void put(outbuf *o, const char *s, size_t n) {
    if (o->used + n + 1 > o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->used, s, n);
    o->used += n;
    o->p[o->used] = '\0';
}

static void puts_(outbuf *o, const char *s) { put(o, s, strlen(s)); }

/* Appends the decimal number at s[0..n) without leading zeros ("007" -> "7"). */
static void put_number(outbuf *o, const char *s, size_t n) {
    while (n > 1 && s[0] == '0') {
        s++;
        n--;
    }
    put(o, s, n);
}

static size_t digits_at(const char *s) {
    size_t n = 0;
    while (is_digit(s[n])) n++;
    return n;
}

/* If s starts with (case-insensitively, s is already lowercase) one of `words`, returns
 * its length and sets *which; the list must put longer words before their prefixes. */
static size_t word_at(const char *s, const char *const *words, int *which) {
    for (int i = 0; words[i]; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(s, words[i], n) == 0) {
            *which = i;
            return n;
        }
    }
    return 0;
}

/* After a label: an optional separator and an optional number. The separator is only
 * consumed when a number follows (so "1.0a.post1" leaves ".post1" for the post part).
 * Returns the number of characters consumed; num and num_len get the digits (or "0"). */
static size_t label_number(const char *s, const char **num, size_t *num_len) {
    size_t off = 0;
    if (is_sep(s[0]) && is_digit(s[1])) off = 1;
    size_t n = digits_at(s + off);
    if (n == 0) {
        *num = "0";
        *num_len = 1;
        return 0;
    }
    *num = s + off;
    *num_len = n;
    return off + n;
}

int kiln_wheel_version_normalize(const char *version, char *out, size_t out_len, kiln_error *err) {
    char v[KILN_WHEEL_NAME_MAX + 1];
    const char *orig = version ? version : "";
    while (isspace((unsigned char)*orig)) orig++;
    size_t n = strlen(orig);
    while (n > 0 && isspace((unsigned char)orig[n - 1])) n--;
    if (n == 0) return fail(err, "invalid version '': expected a PEP 440 version such as 1.0.0");
    if (n > KILN_WHEEL_NAME_MAX) return fail(err, "invalid version: longer than %d characters", KILN_WHEEL_NAME_MAX);
    for (size_t i = 0; i < n; i++) v[i] = lower(orig[i]);
    v[n] = '\0';

    outbuf o = {out, out_len, 0, 0};
    if (out_len) out[0] = '\0';
    const char *p = v;
    if (*p == 'v') p++;

    /* epoch */
    size_t d = digits_at(p);
    if (d == 0) return fail(err, "invalid version '%s': expected a release number (such as 1.0) at '%s'", v, p);
    if (p[d] == '!') {
        const char *e = p;
        while (*e == '0' && e < p + d - 1) e++;
        if (!(e == p + d - 1 && *e == '0')) {
            put_number(&o, p, d);
            puts_(&o, "!");
        }
        p += d + 1;
        d = digits_at(p);
        if (d == 0) return fail(err, "invalid version '%s': expected a release number after the epoch", v);
    }
    /* release: N(.N)* */
    put_number(&o, p, d);
    p += d;
    while (p[0] == '.' && is_digit(p[1])) {
        p++;
        d = digits_at(p);
        puts_(&o, ".");
        put_number(&o, p, d);
        p += d;
    }
    /* pre-release */
    {
        static const char *const pre_words[] = {"preview", "alpha", "beta", "pre", "rc", "a", "b", "c", NULL};
        static const char *const pre_norm[] = {"rc", "a", "b", "rc", "rc", "a", "b", "rc"};
        size_t off = is_sep(p[0]) ? 1 : 0;
        int which = -1;
        size_t w = word_at(p + off, pre_words, &which);
        /* "pre" must not swallow "post" and "r" forms; "preview"/"pre" are fine. */
        if (w) {
            const char *num;
            size_t num_len;
            p += off + w;
            p += label_number(p, &num, &num_len);
            puts_(&o, pre_norm[which]);
            put_number(&o, num, num_len);
        }
    }
    /* post-release */
    if (p[0] == '-' && is_digit(p[1])) {
        p++;
        d = digits_at(p);
        puts_(&o, ".post");
        put_number(&o, p, d);
        p += d;
    } else {
        static const char *const post_words[] = {"post", "rev", "r", NULL};
        size_t off = is_sep(p[0]) ? 1 : 0;
        int which = -1;
        size_t w = word_at(p + off, post_words, &which);
        if (w) {
            const char *num;
            size_t num_len;
            p += off + w;
            p += label_number(p, &num, &num_len);
            puts_(&o, ".post");
            put_number(&o, num, num_len);
        }
    }
    /* dev release */
    {
        static const char *const dev_words[] = {"dev", NULL};
        size_t off = is_sep(p[0]) ? 1 : 0;
        int which = -1;
        size_t w = word_at(p + off, dev_words, &which);
        if (w) {
            const char *num;
            size_t num_len;
            p += off + w;
            p += label_number(p, &num, &num_len);
            puts_(&o, ".dev");
            put_number(&o, num, num_len);
        }
    }
    /* local version: +seg([-_.]seg)* with seg = [a-z0-9]+ */
    if (p[0] == '+') {
        p++;
        puts_(&o, "+");
        int first = 1;
        for (;;) {
            size_t s = 0;
            while (is_alnum(p[s])) s++;
            if (s == 0)
                return fail(err, "invalid version '%s': the local part after '+' must be letters and digits separated by '.', '-' or '_'", v);
            if (!first) puts_(&o, ".");
            int numeric = 1;
            for (size_t i = 0; i < s; i++)
                if (!is_digit(p[i])) numeric = 0;
            if (numeric) put_number(&o, p, s);
            else put(&o, p, s);
            first = 0;
            p += s;
            if (is_sep(p[0])) {
                p++;
                continue;
            }
            break;
        }
    }
    if (*p)
        return fail(err,
                    "invalid version '%s': unexpected '%s' (PEP 440: [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local])",
                    v, p);
    if (o.overflow) return fail(err, "version '%s' is too long", v);
    return 0;
}

int kiln_wheel_version_is_local(const char *normalized) { return normalized && strchr(normalized, '+') != NULL; }

/* ---------------------------------------------------------------------------------------- */
/* Wheel file names                                                                          */
/* ---------------------------------------------------------------------------------------- */

/* A tag set: components of [A-Za-z0-9_]+ joined by '.'. */
static int tag_set_valid(const char *s) {
    if (!*s) return 0;
    int need = 1; /* a component must start here */
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (need) return 0;
            need = 1;
        } else if (is_alnum(*p) || *p == '_') {
            need = 0;
        } else {
            return 0;
        }
    }
    return !need;
}

int kiln_wheel_filename_parse(const char *file_name, kiln_wheel_filename *out, kiln_error *err) {
    memset(out, 0, sizeof *out);
    size_t n = file_name ? strlen(file_name) : 0;
    if (n < 5 || strcmp(file_name + n - 4, ".whl") != 0)
        return fail(err, "file name '%s' does not end in '.whl'", file_name ? file_name : "");
    if (strchr(file_name, '/'))
        return fail(err, "file name '%s' has a directory part", file_name);
    if (n - 4 >= sizeof out->buf) return fail(err, "file name '%s' is too long", file_name);
    memcpy(out->buf, file_name, n - 4);
    out->buf[n - 4] = '\0';

    char *parts[7];
    int count = 0;
    char *s = out->buf;
    for (;;) {
        if (count == 7) break;
        parts[count++] = s;
        char *dash = strchr(s, '-');
        if (!dash) break;
        *dash = '\0';
        s = dash + 1;
    }
    if (count != 5 && count != 6)
        return fail(err,
                    "file name '%s': expected {name}-{version}(-{build})?-{python tag}-{abi tag}-{platform "
                    "tag}.whl (5 or 6 parts separated by '-'), got %s%d parts",
                    file_name, count == 7 ? "more than " : "", count == 7 ? 6 : count);
    out->name = parts[0];
    out->version = parts[1];
    out->build = count == 6 ? parts[2] : NULL;
    out->python = parts[count - 3];
    out->abi = parts[count - 2];
    out->platform = parts[count - 1];
    if (!kiln_wheel_name_valid(out->name))
        return fail(err, "file name '%s': invalid distribution name '%s'", file_name, out->name);
    char norm[KILN_WHEEL_NAME_MAX + 1];
    kiln_error verr = {0};
    if (kiln_wheel_version_normalize(out->version, norm, sizeof norm, &verr) != 0)
        return fail(err, "file name '%s': %s", file_name, verr.message);
    if (out->build) {
        if (!is_digit(out->build[0]))
            return fail(err, "file name '%s': build tag '%s' must start with a digit", file_name, out->build);
        for (const char *p = out->build; *p; p++)
            if (!is_alnum(*p) && *p != '_' && *p != '.')
                return fail(err, "file name '%s': build tag '%s' has a character other than letters, digits, '_' and '.'",
                            file_name, out->build);
    }
    const char *what[3] = {"python", "abi", "platform"};
    const char *tags[3] = {out->python, out->abi, out->platform};
    for (int i = 0; i < 3; i++)
        if (!tag_set_valid(tags[i]))
            return fail(err, "file name '%s': %s tag '%s' must be [A-Za-z0-9_]+ components joined by '.'", file_name,
                        what[i], tags[i]);
    return 0;
}

/* Splits a '.'-joined set into a JSON array of strings. */
static json_t *split_set(const char *s) {
    json_t *arr = json_array();
    const char *p = s;
    while (arr && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (json_array_append_new(arr, json_stringn(p, len)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += len + (dot ? 1 : 0);
    }
    return arr;
}

json_t *kiln_wheel_filename_tags(const kiln_wheel_filename *fn) {
    json_t *py = split_set(fn->python), *abi = split_set(fn->abi), *plat = split_set(fn->platform);
    json_t *out = (py && abi && plat) ? json_array() : NULL;
    size_t i, j, k;
    json_t *a, *b, *c;
    json_array_foreach(py, i, a) {
        json_array_foreach(abi, j, b) {
            json_array_foreach(plat, k, c) {
                char tag[3 * KILN_WHEEL_NAME_MAX + 3];
                snprintf(tag, sizeof tag, "%s-%s-%s", json_string_value(a), json_string_value(b), json_string_value(c));
                if (out && json_array_append_new(out, json_string(tag)) != 0) {
                    json_decref(out);
                    out = NULL;
                }
            }
        }
    }
    json_decref(py);
    json_decref(abi);
    json_decref(plat);
    return out;
}

/* schema.c -- the params schema subset of kiln/plugin.h: parsing (with checks on the schema
 * itself), checking params against it, filling defaults and normalising numbers.
 *
 * A parsed schema keeps the validated JSON document and interprets it directly: the subset
 * is small enough that a separate tree of structs would only duplicate it. */
#include "schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                             */
/* ---------------------------------------------------------------------------------------- */

struct kiln_schema {
    json_t *root;     /* owned: the schema document ({} for "no params")             */
    json_t *props;    /* borrowed from root: "properties", or an owned-by-root {}    */
    json_t *describe; /* owned: the view kiln_schema_describe returns                */
};

enum {
    T_STRING = 1u << 0,
    T_NUMBER = 1u << 1,
    T_INTEGER = 1u << 2,
    T_BOOLEAN = 1u << 3,
    T_ARRAY = 1u << 4,
    T_OBJECT = 1u << 5
};

static const struct {
    const char *name;
    unsigned bit;
    const char *phrase;
} type_names[] = {
    {"string", T_STRING, "a string"},   {"number", T_NUMBER, "a number"},
    {"integer", T_INTEGER, "an integer"}, {"boolean", T_BOOLEAN, "a boolean"},
    {"array", T_ARRAY, "an array"},     {"object", T_OBJECT, "an object"},
};
#define NTYPES (sizeof type_names / sizeof type_names[0])

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* A growable string (messages and paths). Out of memory aborts, like kiln_diags_add. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_grow(sbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) abort();
    b->s = s;
    b->cap = cap;
}

static void sb_putn(sbuf *b, const char *s, size_t n) {
    sb_grow(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) KILN_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *tmp = NULL;
    int n = vasprintf(&tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || !tmp) abort();
    sb_putn(b, tmp, (size_t)n);
    free(tmp);
}

/* Returns b's string (never NULL; "" when empty); the caller owns it. */
static char *sb_take(sbuf *b) {
    if (!b->s) sb_grow(b, 0), b->s[0] = '\0';
    char *s = b->s;
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

/* The shortest "%.Ng" that reads back as the same double; ".0" appended when the text would
 * read as an integer (as JSON writers do), so 0.05 prints "0.05" and 1.0 prints "1.0". */
static void put_real(sbuf *b, double d) {
    char buf[40];
    if (!isfinite(d)) {
        sb_puts(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
    sb_puts(b, buf);
}

/* Compact JSON of v, reals printed shortest, into b. */
static void put_json(sbuf *b, const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_REAL: put_real(b, json_real_value(v)); return;
    case JSON_ARRAY: {
        sb_puts(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) sb_puts(b, ",");
            put_json(b, json_array_get(v, i));
        }
        sb_puts(b, "]");
        return;
    }
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        sb_puts(b, "{");
        json_object_foreach((json_t *)v, k, x) {
            if (!first) sb_puts(b, ",");
            first = 0;
            json_t *kj = json_string(k);
            char *kd = json_dumps(kj, JSON_ENCODE_ANY);
            json_decref(kj);
            sb_puts(b, kd ? kd : "\"?\"");
            free(kd);
            sb_puts(b, ":");
            put_json(b, x);
        }
        sb_puts(b, "}");
        return;
    }
    default: {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        sb_puts(b, s ? s : "?");
        free(s);
        return;
    }
    }
}

/* What a message says was found: compact JSON, cut at 80 characters. Caller frees. */
static char *render_value(const json_t *v) {
    sbuf b = {0};
    if (!v)
        sb_puts(&b, "nothing");
    else
        put_json(&b, v);
    if (b.len > 80) {
        b.len = 77;
        sb_puts(&b, "...");
    }
    return sb_take(&b);
}

/* Optimal-string-alignment distance (edits, with adjacent transpositions counting one). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t *d = xmalloc((la + 1) * (lb + 1) * sizeof *d);
#define D(i, j) d[(i) * (lb + 1) + (j)]
    for (size_t i = 0; i <= la; i++) D(i, 0) = i;
    for (size_t j = 0; j <= lb; j++) D(0, j) = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = D(i - 1, j) + 1;
            if (D(i, j - 1) + 1 < best) best = D(i, j - 1) + 1;
            if (D(i - 1, j - 1) + cost < best) best = D(i - 1, j - 1) + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                D(i - 2, j - 2) + 1 < best)
                best = D(i - 2, j - 2) + 1;
            D(i, j) = best;
        }
    }
    size_t r = D(la, lb);
#undef D
    free(d);
    return r;
}

/* The key of object `obj` closest to `name` when close enough to be a likely typo, or NULL
 * (borrowed). Ties go to the first in sorted order. */
static const char *closest_key(const json_t *obj, const char *name) {
    size_t len = strlen(name);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        size_t dist = edit_distance(name, k);
        if (dist <= limit && (dist < best_d || (dist == best_d && strcmp(k, best) < 0))) {
            best = k;
            best_d = dist;
        }
    }
    return best;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a, b, c": the keys of `obj` sorted by name. Caller frees. */
static char *sorted_keys(const json_t *obj) {
    size_t n = json_object_size(obj);
    const char **keys = xmalloc(n * sizeof *keys);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    sbuf b = {0};
    for (i = 0; i < n; i++) {
        if (i) sb_puts(&b, ", ");
        sb_puts(&b, keys[i]);
    }
    free(keys);
    return sb_take(&b);
}

/* Type bits of a schema's "type" (0: any type). The schema was checked at parse time. */
static unsigned type_bits(const json_t *sch) {
    const json_t *t = json_object_get(sch, "type");
    unsigned bits = 0;
    if (!t) return 0;
    for (size_t i = 0; i < (json_is_array(t) ? json_array_size(t) : 1); i++) {
        const char *name = json_string_value(json_is_array(t) ? json_array_get(t, i) : t);
        for (size_t j = 0; name && j < NTYPES; j++)
            if (!strcmp(name, type_names[j].name)) bits |= type_names[j].bit;
    }
    return bits;
}

/* "a string or an integer" for the bits set. */
static void put_type_phrase(sbuf *b, unsigned bits) {
    int first = 1;
    for (size_t j = 0; j < NTYPES; j++) {
        if (!(bits & type_names[j].bit)) continue;
        if (!first) sb_puts(b, " or ");
        sb_puts(b, type_names[j].phrase);
        first = 0;
    }
    if (first) sb_puts(b, "a value");
}

/* "string", "number|integer"... the short type names of a schema, for "missing" messages. */
static void put_type_short(sbuf *b, const json_t *sch) {
    unsigned bits = type_bits(sch);
    int first = 1;
    for (size_t j = 0; j < NTYPES; j++) {
        if (!(bits & type_names[j].bit)) continue;
        if (!first) sb_puts(b, " or ");
        sb_puts(b, type_names[j].name);
        first = 0;
    }
    if (first) sb_puts(b, "any type");
}

/* 1 when `v` has one of the types in `bits` (0: any). An integral real counts as an
 * integer, as in JSON Schema. */
static int type_matches(const json_t *v, unsigned bits) {
    if (!bits) return 1;
    switch (json_typeof(v)) {
    case JSON_STRING: return (bits & T_STRING) != 0;
    case JSON_INTEGER: return (bits & (T_INTEGER | T_NUMBER)) != 0;
    case JSON_REAL: {
        if (bits & T_NUMBER) return 1;
        double d = json_real_value(v);
        return (bits & T_INTEGER) && isfinite(d) && d == floor(d) && fabs(d) < 9.007199254740992e15;
    }
    case JSON_TRUE:
    case JSON_FALSE: return (bits & T_BOOLEAN) != 0;
    case JSON_ARRAY: return (bits & T_ARRAY) != 0;
    case JSON_OBJECT: return (bits & T_OBJECT) != 0;
    case JSON_NULL: return 0;
    }
    return 0;
}

/* JSON equality where 1 and 1.0 are the same number. */
static int values_equal(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

/* Number of code points of a UTF-8 string (jansson only holds valid UTF-8). */
static size_t utf8_length(const char *s, size_t bytes) {
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

/* ---------------------------------------------------------------------------------------- */
/* Checking values                                                                           */
/* ---------------------------------------------------------------------------------------- */

/* Where messages go and how their location is written:
 *   MODE_PARAMS: "<where>: <path>: <what>" (path starts at "params"),
 *   MODE_VALUE:  "<where>[/<path>]: <what>" (where already holds the value's path). */
enum { MODE_PARAMS, MODE_VALUE };

typedef struct vctx {
    kiln_diags *diags;
    const char *where;
    int mode;
    int count;
} vctx;

static void report(vctx *c, const char *path, const char *fmt, ...) KILN_PRINTF(3, 4);
static void report(vctx *c, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *what = NULL;
    int n = vasprintf(&what, fmt, ap);
    va_end(ap);
    if (n < 0 || !what) abort();
    sbuf b = {0};
    int has_where = c->where && *c->where;
    if (c->mode == MODE_PARAMS) {
        if (has_where) sb_printf(&b, "%s: ", c->where);
        if (*path) sb_printf(&b, "%s: ", path);
    } else {
        if (has_where) sb_puts(&b, c->where);
        if (*path) sb_printf(&b, "%s%s", has_where ? "/" : "", path);
        if (has_where || *path) sb_puts(&b, ": ");
    }
    sb_puts(&b, what);
    free(what);
    char *msg = sb_take(&b);
    if (c->diags) kiln_diags_add(c->diags, "%s", msg);
    free(msg);
    c->count++;
}

/* "path/elem" as a new string. */
static char *path_child(const char *path, const char *elem) {
    sbuf b = {0};
    if (*path) sb_printf(&b, "%s/", path);
    sb_puts(&b, elem);
    return sb_take(&b);
}

static char *path_index(const char *path, size_t i) {
    char num[32];
    snprintf(num, sizeof num, "%zu", i);
    return path_child(path, num);
}

/* Appends " >= 0 and < 1" style bounds of a schema to b; returns how many were written. */
static int put_bounds(sbuf *b, const json_t *sch, const char *const kw[4], const char *const op[4]) {
    int n = 0;
    for (int i = 0; i < 4; i++) {
        const json_t *x = json_object_get(sch, kw[i]);
        if (!x) continue;
        sb_printf(b, "%s %s ", n ? " and" : "", op[i]);
        put_json(b, x);
        n++;
    }
    return n;
}

static json_t *check_node(vctx *c, const json_t *sch, json_t *v, const char *path, int top);

/* Checks an object against "properties"/"required" (top: the params object itself, whose
 * keys are "params"). Fills defaults, recurses, replaces normalised members in place. */
static void check_object(vctx *c, const json_t *sch, json_t *obj, const char *path, int top,
                         const json_t *skip) {
    const json_t *props = json_object_get(sch, "properties");
    if (!props) return; /* a free-form object (the top level always has properties) */
    const char *what = top ? "param" : "key";

    /* Unknown keys, then the known ones (recursing). */
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(obj, tmp, k, x) {
        const json_t *psch = json_object_get(props, k);
        char *p = path_child(path, k);
        if (!psch) {
            if (json_object_size(props) == 0) {
                report(c, p, "unknown %s; %s", what,
                       top ? "this op takes no params" : "this object takes no keys");
            } else {
                char *known = sorted_keys(props);
                const char *near = closest_key(props, k);
                if (near)
                    report(c, p, "unknown %s; known: %s (did you mean '%s'?)", what, known, near);
                else
                    report(c, p, "unknown %s; known: %s", what, known);
                free(known);
            }
        } else {
            json_t *rep = check_node(c, psch, x, p, 0);
            if (rep) json_object_set_new(obj, k, rep);
        }
        free(p);
    }
    /* Required keys (skip: swept params, checked elsewhere). */
    const json_t *req = json_object_get(sch, "required");
    for (size_t i = 0; i < json_array_size(req); i++) {
        const char *name = json_string_value(json_array_get(req, i));
        if (!name || json_object_get(obj, name)) continue;
        if (skip && json_object_get(skip, name)) continue;
        const json_t *psch = json_object_get(props, name);
        sbuf t = {0};
        put_type_short(&t, psch);
        const char *fmt = json_string_value(json_object_get(psch, "format"));
        if (fmt && !strcmp(fmt, "input-file")) sb_puts(&t, ", input file");
        char *tt = sb_take(&t);
        report(c, path, "missing required %s '%s' (%s)", what, name, tt);
        free(tt);
    }

    /* Defaults for absent keys (not for skipped ones: their values come from the sweep). */
    json_object_foreach((json_t *)props, k, x) {
        const json_t *def = json_object_get(x, "default");
        if (!def || json_object_get(obj, k)) continue;
        if (skip && json_object_get(skip, k)) continue;
        json_t *copy = json_deep_copy(def);
        if (!copy) abort();
        char *p = path_child(path, k);
        json_t *rep = check_node(c, x, copy, p, 0); /* normalises (the default is valid) */
        free(p);
        json_object_set_new(obj, k, rep ? rep : copy);
        if (rep) json_decref(copy);
    }
}

/* Checks value v against schema sch at `path`. Returns a NEW value that should replace v
 * (a normalised number), or NULL when v stays (possibly modified in place). */
static json_t *check_node(vctx *c, const json_t *sch, json_t *v, const char *path, int top) {
    unsigned bits = type_bits(sch);
    if (!type_matches(v, bits)) {
        sbuf b = {0};
        sb_puts(&b, "expected ");
        put_type_phrase(&b, bits);
        char *exp = sb_take(&b);
        char *got = render_value(v);
        report(c, path, "%s, got %s", exp, got);
        free(exp);
        free(got);
        return NULL;
    }

    /* Normalise numbers so that equal params give equal keys. */
    json_t *rep = NULL;
    if (json_is_integer(v) && (bits & T_NUMBER) && !(bits & T_INTEGER)) {
        rep = json_real((double)json_integer_value(v));
    } else if (json_is_real(v) && (bits & T_INTEGER) && !(bits & T_NUMBER)) {
        rep = json_integer((json_int_t)json_real_value(v));
    }
    const json_t *val = rep ? rep : v;

    const json_t *cst = json_object_get(sch, "const");
    if (cst && !values_equal(cst, val)) {
        char *e = render_value(cst), *g = render_value(v);
        report(c, path, "expected %s, got %s", e, g);
        free(e);
        free(g);
        return rep;
    }
    const json_t *en = json_object_get(sch, "enum");
    if (en) {
        int found = 0;
        for (size_t i = 0; i < json_array_size(en) && !found; i++)
            found = values_equal(json_array_get(en, i), val);
        if (!found) {
            sbuf b = {0};
            const char *near = NULL;
            size_t near_d = (size_t)-1;
            for (size_t i = 0; i < json_array_size(en); i++) {
                const json_t *e = json_array_get(en, i);
                if (i) sb_puts(&b, ", ");
                put_json(&b, e);
                if (json_is_string(e) && json_is_string(val)) {
                    size_t d = edit_distance(json_string_value(val), json_string_value(e));
                    size_t len = json_string_length(val);
                    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
                    if (d <= limit && d < near_d) near = json_string_value(e), near_d = d;
                }
            }
            char *list = sb_take(&b), *g = render_value(v);
            if (near)
                report(c, path, "expected one of %s, got %s (did you mean \"%s\"?)", list, g, near);
            else
                report(c, path, "expected one of %s, got %s", list, g);
            free(list);
            free(g);
            return rep;
        }
    }

    if (json_is_number(val)) {
        double d = json_number_value(val);
        int bad = 0;
        const json_t *x;
        if ((x = json_object_get(sch, "minimum")) && !(d >= json_number_value(x))) bad = 1;
        if ((x = json_object_get(sch, "maximum")) && !(d <= json_number_value(x))) bad = 1;
        if ((x = json_object_get(sch, "exclusiveMinimum")) && !(d > json_number_value(x))) bad = 1;
        if ((x = json_object_get(sch, "exclusiveMaximum")) && !(d < json_number_value(x))) bad = 1;
        if (bad) {
            static const char *const kw[4] = {"exclusiveMinimum", "minimum", "exclusiveMaximum",
                                              "maximum"};
            static const char *const op[4] = {">", ">=", "<", "<="};
            sbuf b = {0};
            sb_puts(&b, "expected ");
            sb_puts(&b, (bits & T_INTEGER) && !(bits & T_NUMBER) ? "an integer" : "a number");
            put_bounds(&b, sch, kw, op);
            char *exp = sb_take(&b), *g = render_value(v); /* as written */
            report(c, path, "%s, got %s", exp, g);
            free(exp);
            free(g);
        }
    } else if (json_is_string(val)) {
        size_t n = utf8_length(json_string_value(val), json_string_length(val));
        const json_t *mn = json_object_get(sch, "minLength"), *mx = json_object_get(sch, "maxLength");
        if ((mn && (json_int_t)n < json_integer_value(mn)) ||
            (mx && (json_int_t)n > json_integer_value(mx))) {
            char *g = render_value(val);
            if (mn && mx)
                report(c, path, "expected a string of %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT
                       " characters, got %s", json_integer_value(mn), json_integer_value(mx), g);
            else if (mn)
                report(c, path, "expected a string of at least %" JSON_INTEGER_FORMAT
                       " character%s, got %s", json_integer_value(mn),
                       json_integer_value(mn) == 1 ? "" : "s", g);
            else
                report(c, path, "expected a string of at most %" JSON_INTEGER_FORMAT
                       " character%s, got %s", json_integer_value(mx),
                       json_integer_value(mx) == 1 ? "" : "s", g);
            free(g);
        }
    } else if (json_is_array(val)) {
        size_t n = json_array_size(val);
        const json_t *mn = json_object_get(sch, "minItems"), *mx = json_object_get(sch, "maxItems");
        if ((mn && (json_int_t)n < json_integer_value(mn)) ||
            (mx && (json_int_t)n > json_integer_value(mx))) {
            char *g = render_value(val);
            if (mn && mx)
                report(c, path, "expected an array of %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT
                       " items, got %s", json_integer_value(mn), json_integer_value(mx), g);
            else if (mn)
                report(c, path, "expected an array of at least %" JSON_INTEGER_FORMAT " item%s, got %s",
                       json_integer_value(mn), json_integer_value(mn) == 1 ? "" : "s", g);
            else
                report(c, path, "expected an array of at most %" JSON_INTEGER_FORMAT " item%s, got %s",
                       json_integer_value(mx), json_integer_value(mx) == 1 ? "" : "s", g);
            free(g);
        }
        const json_t *items = json_object_get(sch, "items");
        if (items) {
            for (size_t i = 0; i < n; i++) {
                char *p = path_index(path, i);
                json_t *r = check_node(c, items, json_array_get(v, i), p, 0);
                if (r) json_array_set_new(v, i, r);
                free(p);
            }
        }
    } else if (json_is_object(val)) {
        check_object(c, sch, v, path, top, NULL);
    }
    return rep;
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing a schema                                                                          */
/* ---------------------------------------------------------------------------------------- */

static const char *const known_keywords =
    "type, enum, const, default, minimum, maximum, exclusiveMinimum, exclusiveMaximum, "
    "minLength, maxLength, minItems, maxItems, items, properties, required, description, "
    "format, title, $schema, $comment, additionalProperties";

/* Sets err to "params schema: <path>: <what>" and returns -1. */
static int schema_error(kiln_error *err, const char *path, const char *fmt, ...) KILN_PRINTF(3, 4);
static int schema_error(kiln_error *err, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *what = NULL;
    int n = vasprintf(&what, fmt, ap);
    va_end(ap);
    if (n < 0 || !what) abort();
    kiln_error_set(err, KILN_EINVAL, "params schema: %s: %s", *path ? path : "(top)", what);
    free(what);
    return -1;
}

static int is_count(const json_t *x) { return json_is_integer(x) && json_integer_value(x) >= 0; }

/* Checks one schema object (recursively). Returns 0 or -1 with err set. */
static int check_schema(const json_t *sch, const char *path, int top, kiln_error *err) {
    if (!json_is_object(sch)) {
        char *g = render_value(sch);
        int rc = schema_error(err, path, "expected a schema object, got %s", g);
        free(g);
        return rc;
    }
    const char *k;
    json_t *x;
    int rc = 0;
    json_object_foreach((json_t *)sch, k, x) {
        char *p = path_child(path, k);
        char *g = render_value(x);
        if (!strcmp(k, "type")) {
            size_t n = json_is_array(x) ? json_array_size(x) : 1;
            if (json_is_array(x) && n == 0) rc = schema_error(err, p, "expected a type name or a non-empty list of them, got []");
            for (size_t i = 0; rc == 0 && i < n; i++) {
                const char *name = json_string_value(json_is_array(x) ? json_array_get(x, i) : x);
                int ok = 0;
                for (size_t j = 0; name && j < NTYPES; j++) ok |= !strcmp(name, type_names[j].name);
                if (!ok)
                    rc = schema_error(err, p, "expected a type name (string, number, integer, "
                                      "boolean, array, object) or a list of them, got %s", g);
            }
            if (rc == 0 && top && type_bits(sch) != T_OBJECT)
                rc = schema_error(err, p, "expected \"object\" at the top of a params schema, got %s", g);
        } else if (!strcmp(k, "enum")) {
            if (!json_is_array(x) || json_array_size(x) == 0)
                rc = schema_error(err, p, "expected a non-empty array, got %s", g);
        } else if (!strcmp(k, "const") || !strcmp(k, "default")) {
            /* any value; default is checked against the schema below */
        } else if (!strcmp(k, "minimum") || !strcmp(k, "maximum") ||
                   !strcmp(k, "exclusiveMinimum") || !strcmp(k, "exclusiveMaximum")) {
            if (!json_is_number(x)) rc = schema_error(err, p, "expected a number, got %s", g);
        } else if (!strcmp(k, "minLength") || !strcmp(k, "maxLength") || !strcmp(k, "minItems") ||
                   !strcmp(k, "maxItems")) {
            if (!is_count(x)) rc = schema_error(err, p, "expected an integer >= 0, got %s", g);
        } else if (!strcmp(k, "items")) {
            rc = check_schema(x, p, 0, err);
        } else if (!strcmp(k, "properties")) {
            if (!json_is_object(x)) {
                rc = schema_error(err, p, "expected an object of schemas, got %s", g);
            } else {
                const char *pk;
                json_t *px;
                json_object_foreach(x, pk, px) {
                    char *pp = path_child(p, pk);
                    if (!*pk) rc = schema_error(err, pp, "expected a non-empty property name");
                    if (rc == 0) rc = check_schema(px, pp, 0, err);
                    free(pp);
                    if (rc) break;
                }
            }
        } else if (!strcmp(k, "required")) {
            if (!json_is_array(x)) rc = schema_error(err, p, "expected an array of names, got %s", g);
            for (size_t i = 0; rc == 0 && i < json_array_size(x); i++) {
                const char *name = json_string_value(json_array_get(x, i));
                if (!name)
                    rc = schema_error(err, p, "expected an array of names, got %s", g);
                else if (!json_object_get(json_object_get(sch, "properties"), name))
                    rc = schema_error(err, p, "'%s' is required but not declared in properties", name);
            }
        } else if (!strcmp(k, "description") || !strcmp(k, "title") || !strcmp(k, "$comment")) {
            if (!json_is_string(x)) rc = schema_error(err, p, "expected a string, got %s", g);
        } else if (!strcmp(k, "$schema")) {
            if (!top || !json_is_string(x))
                rc = schema_error(err, p, "expected a string at the top of the schema only");
        } else if (!strcmp(k, "format")) {
            if (!json_is_string(x) || strcmp(json_string_value(x), "input-file"))
                rc = schema_error(err, p, "expected \"input-file\" (the only format kiln knows), got %s", g);
            else if (type_bits(sch) != T_STRING)
                rc = schema_error(err, p, "\"input-file\" needs \"type\": \"string\"");
        } else if (!strcmp(k, "additionalProperties")) {
            if (!json_is_false(x))
                rc = schema_error(err, p, "expected false (unknown params are always errors), got %s", g);
        } else {
            rc = schema_error(err, p, "unknown keyword '%s'; supported: %s", k, known_keywords);
        }
        free(g);
        free(p);
        if (rc) return rc;
    }
    if (top && json_object_get(sch, "default"))
        return schema_error(err, "default", "not allowed at the top of a params schema");

    /* A default must satisfy its own schema. */
    const json_t *def = json_object_get(sch, "default");
    if (def) {
        kiln_diags d = {0};
        vctx c = {&d, "", MODE_VALUE, 0};
        json_t *copy = json_deep_copy(def);
        if (!copy) abort();
        json_t *r = check_node(&c, sch, copy, "", 0);
        json_decref(r);
        json_decref(copy);
        if (c.count) {
            char *p = path_child(path, "default");
            schema_error(err, p, "does not fit its own schema: %s", d.items[0]);
            free(p);
            kiln_diags_free(&d);
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Public API                                                                                */
/* ---------------------------------------------------------------------------------------- */

/* Parses and checks the schema text; builds the describe view. */
kiln_schema *kiln_schema_parse(const char *text, kiln_error *err) {
    json_t *root;
    if (!text || !*text) {
        root = json_object();
    } else {
        json_error_t je;
        root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
            kiln_error_set(err, KILN_EINVAL, "params schema:%d:%d: %s", je.line, je.column, je.text);
            return NULL;
        }
        if (check_schema(root, "", 1, err) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    kiln_schema *s = xmalloc(sizeof *s);
    s->root = root;
    s->props = json_object_get(root, "properties");
    if (!s->props) {
        json_object_set_new(root, "properties", json_object());
        s->props = json_object_get(root, "properties");
    }
    s->describe = json_object();
    const json_t *req = json_object_get(root, "required");
    const char *k;
    json_t *x;
    json_object_foreach(s->props, k, x) {
        json_t *d = json_deep_copy(x);
        int required = 0;
        for (size_t i = 0; i < json_array_size(req); i++)
            required |= !strcmp(json_string_value(json_array_get(req, i)), k);
        json_object_set_new(d, "required", json_boolean(required));
        json_object_set_new(s->describe, k, d);
    }
    return s;
}

/* Frees the schema and its describe view. NULL is ignored. */
void kiln_schema_free(kiln_schema *s) {
    if (!s) return;
    json_decref(s->root);
    json_decref(s->describe);
    free(s);
}

/* Checks the params object in place (see schema.h). A non-object `params` is one problem. */
int kiln_schema_apply(const kiln_schema *s, json_t *params, const json_t *skip, const char *where,
                      kiln_diags *diags) {
    vctx c = {diags, where, MODE_PARAMS, 0};
    if (!json_is_object(params)) {
        char *g = render_value(params);
        report(&c, "params", "expected an object, got %s", g);
        free(g);
        return c.count;
    }
    check_object(&c, s->root, params, "params", 1, skip);
    return c.count;
}

/* Checks one value of param `name` (see schema.h). Messages: "<where>[/sub]: what". */
int kiln_schema_check_value(const kiln_schema *s, const char *name, json_t *value,
                            const char *where, kiln_diags *diags) {
    vctx c = {diags, where, MODE_VALUE, 0};
    const json_t *psch = json_object_get(s->props, name);
    if (!psch) {
        if (json_object_size(s->props) == 0) {
            report(&c, "", "no param '%s'; this op takes no params", name);
        } else {
            char *known = sorted_keys(s->props);
            const char *near = closest_key(s->props, name);
            if (near)
                report(&c, "", "no param '%s'; known: %s (did you mean '%s'?)", name, known, near);
            else
                report(&c, "", "no param '%s'; known: %s", name, known);
            free(known);
        }
        return c.count;
    }
    json_t *r = check_node(&c, psch, value, "", 0);
    json_decref(r);
    return c.count;
}

/* 1 when `name` is a declared top-level property (0 for NULL arguments). */
int kiln_schema_has(const kiln_schema *s, const char *name) {
    return s && name && json_object_get(s->props, name) != NULL;
}

/* 1 when property `name` has "format": "input-file" (which parse allows on strings only). */
int kiln_schema_is_input_file(const kiln_schema *s, const char *name) {
    if (!s || !name) return 0;
    const char *f = json_string_value(json_object_get(json_object_get(s->props, name), "format"));
    return f && !strcmp(f, "input-file");
}

/* Borrowed view built at parse time: each property's schema plus "required"; valid until
 * kiln_schema_free. NULL for a NULL schema. */
const json_t *kiln_schema_describe(const kiln_schema *s) { return s ? s->describe : NULL; }

/* csv.c -- numeric CSV reader (see csv.h). */
#include "csv.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

/* Reads the whole (possibly gzip) file into a new NUL-terminated buffer. */
static int slurp(const char *path, char **out, size_t *len, kiln_error *err) {
    kiln_data_stream *s = NULL;
    size_t cap, n = 0, got;
    char *buf;
    int rc = kiln_data_stream_open(path, &s, err);
    if (rc)
        return rc;
    cap = (size_t)kiln_data_stream_file_size(s);
    if (kiln_data_stream_is_gzip(s))
        cap *= 4;
    cap += 1;
    buf = malloc(cap);
    for (;;) {
        if (buf && n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
        if (!buf) {
            kiln_data_stream_close(s);
            return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory reading the file", path);
        }
        rc = kiln_data_stream_read(s, buf + n, cap - 1 - n, &got, err);
        if (rc) {
            free(buf);
            kiln_data_stream_close(s);
            return rc;
        }
        n += got;
        if (n + 1 < cap)
            break; /* a short read: the data ended */
    }
    kiln_data_stream_close(s);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

typedef struct fields {
    char **v;
    int count, cap;
} fields;

static int fields_push(fields *f, char *s) {
    if (f->count == f->cap) {
        int cap = f->cap ? f->cap * 2 : 64;
        char **nv = realloc(f->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return -1;
        f->v = nv;
        f->cap = cap;
    }
    f->v[f->count++] = s;
    return 0;
}

static int is_blank(char c, char delim) {
    return (c == ' ' || c == '\t') && c != delim;
}

/* Splits the NUL-terminated line [s, e) into fields in place (trimmed, unquoted,
 * NUL-terminated). Returns 0, -1 (out of memory) or -2 (bad quoting; *why set). */
static int split_line(char *s, char *e, char delim, fields *f, const char **why) {
    char *i = s;
    f->count = 0;
    for (;;) {
        char *start, *end;
        int at_delim;
        while (i < e && is_blank(*i, delim))
            i++;
        if (i < e && *i == '"') {
            char *w = i;
            start = w;
            i++;
            for (;;) {
                if (i >= e) {
                    *why = "unterminated quoted field (a quote cannot span lines)";
                    return -2;
                }
                if (*i == '"') {
                    if (i + 1 < e && i[1] == '"') {
                        *w++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *w++ = *i++;
            }
            end = w;
            while (i < e && is_blank(*i, delim))
                i++;
            if (i < e && *i != delim) {
                *why = "unexpected text after a closing quote";
                return -2;
            }
        } else {
            start = i;
            while (i < e && *i != delim)
                i++;
            end = i;
            while (end > start && is_blank(end[-1], delim))
                end--;
        }
        at_delim = i < e && *i == delim;
        *end = '\0'; /* end <= i: overwrites the delimiter, a blank, or the line's NUL */
        if (fields_push(f, start))
            return -1;
        if (!at_delim)
            return 0;
        i++;
    }
}

/* Short, printable excerpt of a cell for messages. */
static void excerpt(const char *cell, char *out, size_t cap) {
    size_t n = strlen(cell);
    if (n + 1 <= cap) {
        memcpy(out, cell, n + 1);
    } else {
        memcpy(out, cell, cap - 4);
        memcpy(out + cap - 4, "...", 4);
    }
}

int kiln_data_csv_read(const char *path, const kiln_data_csv_options *opt,
                       const kiln_data_monitor *m, kiln_data_set *out,
                       kiln_data_csv_report *report, kiln_error *err) {
    kiln_data_csv_report local;
    char *buf = NULL, *p, *end;
    size_t len = 0, max_rows = 0;
    fields f = {0};
    char **header = NULL;
    int ncols = 0, label_col = -1, rc = 0;
    int64_t line = 0, header_line = 0, rows = 0, nfeat, limit = kiln_data_label_limit(opt->classes);
    float *x = NULL;
    int64_t *y = NULL;
    char delim = opt->delimiter ? opt->delimiter : ',';

    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    rc = slurp(path, &buf, &len, err);
    if (rc)
        return rc;
    p = buf;
    end = buf + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        max_rows++;
    max_rows++; /* a last line without '\n' */

    /* Header: the first non-blank line. */
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        char *t = p;
        const char *why = NULL;
        line++;
        if (le > p && le[-1] == '\r')
            le--;
        *le = '\0';
        while (t < le && (*t == ' ' || *t == '\t'))
            t++;
        if (t == le) {
            p = nl ? nl + 1 : end;
            continue;
        }
        rc = split_line(p, le, delim, &f, &why);
        if (rc == -1) {
            rc = kiln_data_error(err, KILN_ENOMEM, "out of memory");
            goto done;
        }
        if (rc == -2) {
            rc = kiln_data_error(err, KILN_EFORMAT, "%s: line %" PRId64 " (header): %s", path,
                                 line, why);
            goto done;
        }
        p = nl ? nl + 1 : end;
        header_line = line;
        break;
    }
    if (f.count == 0) {
        rc = kiln_data_error(err, KILN_EFORMAT,
                             "%s: no header line: the file has only blank lines", path);
        goto done;
    }
    ncols = f.count;
    header = f.v; /* keep the header's field pointers; the buffer keeps their text */
    f.v = NULL;
    f.count = f.cap = 0;
    for (int j = 0; j < ncols; j++) {
        if (strcmp(header[j], opt->label) != 0)
            continue;
        if (label_col >= 0) {
            rc = kiln_data_error(err, KILN_EFORMAT,
                                 "%s: line %" PRId64 " (header): the label column '%s' appears "
                                 "twice (fields %d and %d)",
                                 path, line, opt->label, label_col + 1, j + 1);
            goto done;
        }
        label_col = j;
    }
    if (label_col < 0) {
        char cols[512] = "";
        size_t used = 0;
        for (int j = 0; j < ncols && used + 8 < sizeof cols; j++) {
            int w = snprintf(cols + used, sizeof cols - used, "%s'%s'", j ? ", " : "", header[j]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        if (used >= sizeof cols)
            memcpy(cols + sizeof cols - 4, "...", 4);
        rc = kiln_data_error(err, KILN_EINVAL,
                             "%s: line %" PRId64 " (header): no column named '%s'; columns: %s",
                             path, line, opt->label, cols);
        goto done;
    }
    if (ncols < 2) {
        rc = kiln_data_error(err, KILN_EFORMAT,
                             "%s: line %" PRId64 " (header): only the label column, no features",
                             path, line);
        goto done;
    }
    nfeat = ncols - 1;
    {
        size_t xs;
        if (kiln_data_mul_size(max_rows, (size_t)nfeat * sizeof(float), &xs)) {
            rc = kiln_data_error(err, KILN_ENOMEM, "%s: too large", path);
            goto done;
        }
        x = kiln_data_alloc_large(xs);
        y = malloc(max_rows * sizeof *y);
        if (!x || !y) {
            rc = kiln_data_error(err, KILN_ENOMEM, "%s: out of memory for %zu rows", path,
                                 max_rows);
            goto done;
        }
    }

    /* Data rows. */
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end, *t = p;
        const char *why = NULL;
        char reason[512] = "";
        int bad = 0;
        line++;
        if (le > p && le[-1] == '\r')
            le--;
        *le = '\0';
        while (t < le && (*t == ' ' || *t == '\t'))
            t++;
        if (t == le) {
            p = nl ? nl + 1 : end;
            continue;
        }
        if ((line & 0xffff) == 0) {
            if (kiln_data_cancelled(m)) {
                rc = kiln_data_cancel_error(err);
                goto done;
            }
            kiln_data_progress(m, (double)(p - buf), (double)len, "byte");
        }
        rc = split_line(p, le, delim, &f, &why);
        p = nl ? nl + 1 : end;
        if (rc == -1) {
            rc = kiln_data_error(err, KILN_ENOMEM, "out of memory");
            goto done;
        }
        rc = 0;
        if (why) {
            snprintf(reason, sizeof reason, "%s", why);
            bad = 1;
        } else if (f.count != ncols) {
            snprintf(reason, sizeof reason, "%d fields, the header has %d (ragged row)", f.count,
                     ncols);
            bad = 1;
        }
        for (int j = 0, k = 0; !bad && j < ncols; j++) {
            char *ep, cell[48];
            double d = strtod(f.v[j], &ep);
            int numeric = ep != f.v[j] && *ep == '\0';
            if (j == label_col) {
                if (!numeric || !(d >= 0) || d != floor(d) || d >= (double)limit ||
                    d > 9007199254740992.0) {
                    excerpt(f.v[j], cell, sizeof cell);
                    if (!numeric)
                        snprintf(reason, sizeof reason,
                                 "label column '%s' (field %d): '%s' is not a number", header[j],
                                 j + 1, cell);
                    else if (limit != INT64_MAX)
                        snprintf(reason, sizeof reason,
                                 "label column '%s' (field %d): '%s' is out of range: %" PRId64
                                 " classes given, labels must be whole numbers 0..%" PRId64,
                                 header[j], j + 1, cell, limit, limit - 1);
                    else
                        snprintf(reason, sizeof reason,
                                 "label column '%s' (field %d): '%s' is not a whole number >= 0",
                                 header[j], j + 1, cell);
                    bad = 1;
                    break;
                }
                y[rows] = (int64_t)d;
            } else {
                float v = (float)d;
                if (!numeric || !isfinite(v)) {
                    excerpt(f.v[j], cell, sizeof cell);
                    snprintf(reason, sizeof reason, "column '%s' (field %d): '%s' is not %s",
                             header[j], j + 1, cell,
                             numeric ? "a finite float32 number" : "a number");
                    bad = 1;
                    break;
                }
                x[rows * nfeat + k++] = v;
            }
        }
        if (bad) {
            if (!opt->skip_bad_rows) {
                rc = kiln_data_error(err, KILN_EFORMAT, "%s: line %" PRId64 ": %s", path, line,
                                     reason);
                goto done;
            }
            if (report->skipped < 8)
                report->first_lines[report->skipped] = line;
            if (report->skipped == 0)
                snprintf(report->first_reason, sizeof report->first_reason, "line %" PRId64 ": %s",
                         line, reason);
            report->skipped++;
            continue;
        }
        rows++;
    }
    if (rows == 0) {
        if (report->skipped)
            rc = kiln_data_error(err, KILN_EFORMAT,
                                 "%s: every data row is bad (%" PRId64 " skipped); first: %s",
                                 path, report->skipped, report->first_reason);
        else
            rc = kiln_data_error(err, KILN_EFORMAT,
                                 "%s: no data rows after the header (line %" PRId64 ")", path,
                                 header_line);
        goto done;
    }
    report->rows = rows;
    {
        float *sx = realloc(x, (size_t)rows * (size_t)nfeat * sizeof *x);
        int64_t *sy = realloc(y, (size_t)rows * sizeof *y);
        if (sx)
            x = sx;
        if (sy)
            y = sy;
    }
    kiln_data_set_init(out);
    out->x_dtype = KILN_DTYPE_F32;
    out->x_ndim = 2;
    out->x_shape[0] = rows;
    out->x_shape[1] = nfeat;
    out->x_owned = x;
    out->x = x;
    out->x_nbytes = (size_t)rows * (size_t)nfeat * sizeof(float);
    out->y = y;
    out->n = rows;
    x = NULL;
    y = NULL;
    if (opt->classes) {
        out->classes = json_deep_copy(opt->classes);
        if (!out->classes) {
            kiln_data_set_clear(out);
            rc = kiln_data_error(err, KILN_ENOMEM, "out of memory");
        }
    }
done:
    free(x);
    free(y);
    free(f.v);
    free(header);
    free(buf);
    return rc;
}

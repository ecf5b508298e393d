/* check.c -- the wheel checker (see check.h): archive safety, names, dist-info, WHEEL,
 * METADATA, RECORD hashes, and the manylinux policy of ELF files. It reads the archive with
 * libzip and never extracts anything: entry data flows into hashers, ELF images into a
 * private buffer that libelf reads from memory. */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zip.h>

#include "elfinfo.h"
#include "names.h"
#include "policy.h"
#include "record.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

void kiln_wheel_limits_default(kiln_wheel_limits *l) {
    l->max_entries = 100000;
    l->max_total_size = 16 * GIB;
    l->max_entry_size = 8 * GIB;
    l->max_ratio = 200.0;
    l->max_meta_size = 64 * MIB;
    l->max_elf_size = 2 * GIB;
}

/* ---------------------------------------------------------------------------------------- */
/* State                                                                                     */
/* ---------------------------------------------------------------------------------------- */

typedef struct entry {
    char *name;           /* as stored (raw bytes)                                  */
    zip_uint64_t index;
    uint64_t size, comp_size;
    int is_dir;
    int dup;              /* a second (or later) entry with an earlier entry's name  */
    int bad_path;         /* the name failed the path rules                          */
    int record_row;       /* index of its RECORD row + 1, 0 when unlisted            */
    int is_elf;
    kiln_elf_info elf;
} entry;

typedef struct checker {
    kiln_wheel_limits lim;
    json_t *report, *errors, *warnings;
    zip_t *za;
    entry *e;
    size_t n;
    int oom;
    int unreadable;       /* do not decompress anything (bomb limits exceeded)      */
    uint64_t file_size;   /* of the archive file                                    */
    /* from the names */
    int have_fn;
    kiln_wheel_filename fn;
    char dist_info[2 * KILN_WHEEL_NAME_MAX + 16];
    /* WHEEL */
    json_t *wheel_tags;   /* owned */
    int root_is_purelib;  /* -1 unknown */
    kiln_wheel_record record;
} checker;

/* The length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there are not one
 * (bad lead or continuation byte, overlong form, surrogate, beyond U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s) {
    unsigned c = *s;
    int extra;
    unsigned min;
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) {
        extra = 1;
        min = 0x80;
        c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        extra = 2;
        min = 0x800;
        c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        extra = 3;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i <= extra; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the terminating NUL */
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    return (size_t)extra + 1;
}

static int utf8_valid(const unsigned char *s) {
    while (*s) {
        size_t n = utf8_seq_len(s);
        if (!n) return 0;
        s += n;
    }
    return 1;
}

/* A new JSON string of text that comes from the archive (names, header values, messages
 * quoting them). jansson refuses invalid UTF-8, so a byte that does not belong to a valid
 * sequence is written as the four characters \xNN. NULL only when memory runs out. */
static json_t *jstr(const char *text) {
    const unsigned char *p = (const unsigned char *)text;
    if (utf8_valid(p)) return json_string(text);
    size_t n = strlen(text), o = 0;
    char *out = malloc(4 * n + 1);
    if (!out) return NULL;
    while (*p) {
        size_t len = utf8_seq_len(p);
        if (len) {
            memcpy(out + o, p, len);
            o += len;
            p += len;
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
            p++;
        }
    }
    out[o] = '\0';
    json_t *j = json_string(out);
    free(out);
    return j;
}

static void issue(checker *ck, json_t *list, const char *check, const char *path, const char *fmt, va_list ap) {
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap); /* may cut a UTF-8 sequence: jstr copes */
    json_t *o = json_object();
    if (!o) {
        ck->oom = 1;
        return;
    }
    /* The _new setters take the value even when they fail (NULL fails). */
    int bad = json_object_set_new(o, "check", json_string(check)) != 0;
    bad |= json_object_set_new(o, "message", jstr(msg)) != 0;
    if (path) bad |= json_object_set_new(o, "path", jstr(path)) != 0;
    if (bad) {
        json_decref(o);
        ck->oom = 1;
    } else if (json_array_append_new(list, o) != 0) {
        ck->oom = 1;
    }
}

static void error(checker *ck, const char *check, const char *path, const char *fmt, ...) KILN_PRINTF(4, 5);
static void error(checker *ck, const char *check, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    issue(ck, ck->errors, check, path, fmt, ap);
    va_end(ap);
}

static void warning(checker *ck, const char *check, const char *path, const char *fmt, ...) KILN_PRINTF(4, 5);
static void warning(checker *ck, const char *check, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    issue(ck, ck->warnings, check, path, fmt, ap);
    va_end(ap);
}

static void set(checker *ck, const char *key, json_t *value) {
    if (!value || json_object_set_new(ck->report, key, value) != 0) ck->oom = 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry names                                                                               */
/* ---------------------------------------------------------------------------------------- */

/* Why `p` is not a safe relative path inside the wheel, or NULL when it is. A trailing
 * '/' (a directory entry) is allowed. */
static const char *path_problem(const char *p) {
    if (!*p) return "an empty name";
    if (p[0] == '/') return "an absolute path (it would be written outside the install directory)";
    if (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':')
        return "an absolute path (drive letter)";
    if (strchr(p, '\\')) return "a backslash in the path (wheels use '/')";
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return "a control character in the name";
    if (!utf8_valid((const unsigned char *)p)) return "a name that is not valid UTF-8";
    size_t n = strlen(p);
    size_t end = (p[n - 1] == '/') ? n - 1 : n;
    size_t start = 0;
    while (start <= end) {
        size_t len = 0;
        while (start + len < end && p[start + len] != '/') len++;
        if (len == 2 && p[start] == '.' && p[start + 1] == '.')
            return "a '..' component (it would escape the install directory)";
        if (len == 0) return "an empty path component ('//' or a leading '/')";
        if (len == 1 && p[start] == '.') return "a '.' path component";
        start += len + 1;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Reading entries                                                                           */
/* ---------------------------------------------------------------------------------------- */

static const char *zip_file_error(zip_file_t *zf) {
    zip_error_t *ze = zip_file_get_error(zf);
    return ze ? zip_error_strerror(ze) : "unknown error";
}

/* Reads a whole entry (at most `limit` bytes) into a new NUL-terminated buffer. Returns 0,
 * or -1 after reporting why. */
static int read_entry(checker *ck, const entry *en, uint64_t limit, const char *check, char **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (en->size > limit) {
        error(ck, check, en->name, "%s is %llu bytes, more than the limit of %llu", en->name,
              (unsigned long long)en->size, (unsigned long long)limit);
        return -1;
    }
    zip_file_t *zf = zip_fopen_index(ck->za, en->index, 0);
    if (!zf) {
        error(ck, "zip", en->name, "cannot open entry %s: %s", en->name, zip_error_strerror(zip_get_error(ck->za)));
        return -1;
    }
    size_t cap = (size_t)en->size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        zip_fclose(zf);
        ck->oom = 1;
        return -1;
    }
    for (;;) {
        if (len == cap - 1) {
            /* More data than the central directory says: never trust it, never grow. */
            char probe;
            zip_int64_t extra = zip_fread(zf, &probe, 1);
            if (extra > 0) {
                error(ck, "zip", en->name, "entry %s holds more data than its declared size %llu", en->name,
                      (unsigned long long)en->size);
                free(buf);
                zip_fclose(zf);
                return -1;
            }
            if (extra < 0) goto read_error;
            break;
        }
        zip_int64_t got = zip_fread(zf, buf + len, cap - 1 - len);
        if (got < 0) goto read_error;
        if (got == 0) break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    zip_fclose(zf);
    *out = buf;
    *out_len = len;
    return 0;
read_error:
    error(ck, "zip", en->name, "cannot read entry %s: %s (corrupt or tampered archive)", en->name, zip_file_error(zf));
    free(buf);
    zip_fclose(zf);
    return -1;
}

static entry *find_entry(checker *ck, const char *name) {
    for (size_t i = 0; i < ck->n; i++)
        if (!ck->e[i].dup && strcmp(ck->e[i].name, name) == 0) return &ck->e[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Step 1: the archive and its entries                                                       */
/* ---------------------------------------------------------------------------------------- */

static int cmp_entry_ptr(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_entry_ptr_nocase(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    int c = strcasecmp(x->name, y->name);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Opens the archive. Returns 0 or -1 (reported: not a zip, truncated, inconsistent). */
static int open_archive(checker *ck, const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        error(ck, "file", NULL, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        error(ck, "file", NULL, "%s is not a regular file", path);
        return -1;
    }
    ck->file_size = (uint64_t)sb.st_size;
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f) fclose(f);
    if (!f) {
        error(ck, "file", NULL, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    int local = got == 4 && memcmp(magic, "PK\003\004", 4) == 0;
    int empty_zip = got == 4 && memcmp(magic, "PK\005\006", 4) == 0;
    if (!local && !empty_zip) {
        if (got == 0) error(ck, "zip", NULL, "not a zip archive: the file is empty");
        else
            error(ck, "zip", NULL, "not a zip archive: it starts with bytes %02x %02x %02x %02x, expected 'PK\\3\\4'",
                  magic[0], magic[1], magic[2], magic[3]);
        return -1;
    }
    int zerr = 0;
    ck->za = zip_open(path, ZIP_RDONLY, &zerr);
    if (!ck->za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        if (zerr == ZIP_ER_NOZIP)
            error(ck, "zip", NULL,
                  "truncated or damaged zip archive: it starts like a zip but has no valid end-of-central-directory "
                  "record (libzip: %s)",
                  zip_error_strerror(&ze));
        else
            error(ck, "zip", NULL, "damaged zip archive: %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }
    return 0;
}

/* Lists the entries, checks names, sizes, ratios, duplicates, encryption, symlinks. */
static int scan_entries(checker *ck) {
    zip_int64_t n = zip_get_num_entries(ck->za, 0);
    if (n < 0) n = 0;
    if ((uint64_t)n > ck->lim.max_entries) {
        error(ck, "bomb", NULL, "the archive has %lld entries, more than the limit of %llu (zip bomb?)", (long long)n,
              (unsigned long long)ck->lim.max_entries);
        ck->unreadable = 1;
        return -1;
    }
    ck->e = calloc((size_t)n ? (size_t)n : 1, sizeof *ck->e);
    if (!ck->e) {
        ck->oom = 1;
        return -1;
    }
    uint64_t total = 0, total_comp = 0;
    size_t files = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        entry *en = &ck->e[ck->n];
        zip_stat_t st;
        zip_stat_init(&st);
        const char *raw = zip_get_name(ck->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!raw || zip_stat_index(ck->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &st) != 0) {
            error(ck, "zip", NULL, "cannot read the directory entry #%lld: %s", (long long)i,
                  zip_error_strerror(zip_get_error(ck->za)));
            continue;
        }
        en->name = strdup(raw);
        if (!en->name) {
            ck->oom = 1;
            return -1;
        }
        en->index = (zip_uint64_t)i;
        en->size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
        en->comp_size = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
        size_t len = strlen(raw);
        en->is_dir = len > 0 && raw[len - 1] == '/';
        ck->n++;

        const char *why = path_problem(raw);
        if (why) {
            en->bad_path = 1;
            error(ck, "path", raw, "entry '%s' has %s", raw, why);
        }
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
            error(ck, "zip", raw, "entry '%s' is encrypted", raw);
        if ((st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
            warning(ck, "zip", raw, "entry '%s' uses compression method %d (installers expect stored or deflated entries)",
                    raw, (int)st.comp_method);
        zip_uint8_t opsys = 0;
        zip_uint32_t attr = 0;
        if (zip_file_get_external_attributes(ck->za, (zip_uint64_t)i, 0, &opsys, &attr) == 0 &&
            opsys == ZIP_OPSYS_UNIX && S_ISLNK((attr >> 16) & 0xffff))
            error(ck, "path", raw, "entry '%s' is a symbolic link (wheels hold regular files only)", raw);
        if (en->is_dir) continue;
        files++;
        if (en->size > ck->lim.max_entry_size) {
            error(ck, "bomb", raw, "entry '%s' expands to %llu bytes, more than the limit of %llu", raw,
                  (unsigned long long)en->size, (unsigned long long)ck->lim.max_entry_size);
            ck->unreadable = 1;
        }
        if (en->size > MIB && (double)en->size > ck->lim.max_ratio * (double)(en->comp_size ? en->comp_size : 1)) {
            error(ck, "bomb", raw, "entry '%s' expands %llu bytes into %llu (ratio %.0f, limit %.0f; zip bomb?)", raw,
                  (unsigned long long)en->comp_size, (unsigned long long)en->size,
                  (double)en->size / (double)(en->comp_size ? en->comp_size : 1), ck->lim.max_ratio);
            ck->unreadable = 1;
        }
        if (total + en->size < total) total = UINT64_MAX;
        else total += en->size;
        if (total_comp + en->comp_size < total_comp) total_comp = UINT64_MAX;
        else total_comp += en->comp_size;
    }
    /* Each entry's compressed data lies in its own byte range of the file: when they add
     * up to more than the file, entries share bytes -- the overlapping-entry trick of
     * non-recursive zip bombs (one deflate stream decompressed once per entry). */
    if (total_comp > ck->file_size) {
        error(ck, "bomb", NULL,
              "entries overlap: their compressed data add up to %llu bytes, more than the %llu-byte file "
              "(overlapping entries, the trick of non-recursive zip bombs)",
              (unsigned long long)total_comp, (unsigned long long)ck->file_size);
        ck->unreadable = 1;
    }
    if (total > ck->lim.max_total_size) {
        error(ck, "bomb", NULL, "the entries expand to %llu bytes in all, more than the limit of %llu (zip bomb?)",
              (unsigned long long)total, (unsigned long long)ck->lim.max_total_size);
        ck->unreadable = 1;
    } else if (total > MIB && (double)total > ck->lim.max_ratio * (double)(total_comp ? total_comp : 1)) {
        error(ck, "bomb", NULL, "the archive expands %llu bytes into %llu (ratio %.0f, limit %.0f; zip bomb?)",
              (unsigned long long)total_comp, (unsigned long long)total,
              (double)total / (double)(total_comp ? total_comp : 1), ck->lim.max_ratio);
        ck->unreadable = 1;
    }
    set(ck, "entries", json_integer((json_int_t)ck->n));
    set(ck, "files", json_integer((json_int_t)files));
    set(ck, "size", json_integer((json_int_t)(total > (uint64_t)INT64_MAX ? INT64_MAX : total)));
    set(ck, "compressed_size", json_integer((json_int_t)(total_comp > (uint64_t)INT64_MAX ? INT64_MAX : total_comp)));

    /* Duplicates: sort pointers by name; equal neighbours are duplicates. */
    entry **sorted = malloc((ck->n ? ck->n : 1) * sizeof *sorted);
    if (!sorted) {
        ck->oom = 1;
        return -1;
    }
    for (size_t i = 0; i < ck->n; i++) sorted[i] = &ck->e[i];
    qsort(sorted, ck->n, sizeof *sorted, cmp_entry_ptr);
    for (size_t i = 1; i < ck->n; i++)
        if (strcmp(sorted[i]->name, sorted[i - 1]->name) == 0) {
            sorted[i]->dup = 1;
            error(ck, "zip", sorted[i]->name,
                  "duplicate entry '%s' (entries #%llu and #%llu): installers disagree on which one wins",
                  sorted[i]->name, (unsigned long long)sorted[i - 1]->index, (unsigned long long)sorted[i]->index);
        }
    qsort(sorted, ck->n, sizeof *sorted, cmp_entry_ptr_nocase);
    for (size_t i = 1; i < ck->n; i++)
        if (strcasecmp(sorted[i]->name, sorted[i - 1]->name) == 0 && strcmp(sorted[i]->name, sorted[i - 1]->name) != 0)
            warning(ck, "path", sorted[i]->name, "entries '%s' and '%s' differ only in case (they collide on "
                    "case-insensitive file systems)", sorted[i - 1]->name, sorted[i]->name);
    free(sorted);
    return 0;
}

/* libzip's ZIP_CHECKCONS open: local headers versus the central directory. Skipped with
 * duplicates, which it reports less clearly than scan_entries. */
static void check_consistency(checker *ck, const char *path) {
    for (size_t i = 0; i < ck->n; i++)
        if (ck->e[i].dup) return;
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (za) {
        zip_discard(za);
        return;
    }
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    error(ck, "zip", NULL, "inconsistent zip archive: local file headers do not match the central directory (libzip: %s)",
          zip_error_strerror(&ze));
    zip_error_fini(&ze);
}

/* ---------------------------------------------------------------------------------------- */
/* Step 2: names, dist-info, WHEEL, METADATA                                                 */
/* ---------------------------------------------------------------------------------------- */

typedef struct header {
    char *key, *value;
} header;

typedef struct headers {
    header *h;
    size_t n;
} headers;

static void headers_free(headers *hs) {
    for (size_t i = 0; i < hs->n; i++) {
        free(hs->h[i].key);
        free(hs->h[i].value);
    }
    free(hs->h);
    hs->h = NULL;
    hs->n = 0;
}

/* Parses "Key: value" header lines (RFC 822 style, as email.parser reads METADATA and
 * WHEEL) up to the first blank line; continuation lines are joined with a space. Returns
 * 0, or -1 after reporting the bad line. */
static int parse_headers(checker *ck, const char *check, const char *path, const char *text, headers *out) {
    const char *p = text;
    int line = 0;
    while (*p) {
        line++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        size_t trimmed = len;
        if (trimmed && p[trimmed - 1] == '\r') trimmed--;
        if (trimmed == 0) break; /* blank line: the body follows */
        if ((p[0] == ' ' || p[0] == '\t') && out->n > 0) {
            header *h = &out->h[out->n - 1];
            size_t old = strlen(h->value);
            const char *c = p;
            while (c < p + trimmed && (*c == ' ' || *c == '\t')) c++;
            size_t add = (size_t)(p + trimmed - c);
            char *v = realloc(h->value, old + add + 2);
            if (!v) {
                ck->oom = 1;
                return -1;
            }
            v[old] = ' ';
            memcpy(v + old + 1, c, add);
            v[old + 1 + add] = '\0';
            h->value = v;
        } else {
            const char *colon = memchr(p, ':', trimmed);
            if (!colon || colon == p) {
                error(ck, check, path, "%s line %d: expected 'Key: value', got '%.*s'", path, line,
                      (int)(trimmed > 80 ? 80 : trimmed), p);
                return -1;
            }
            const char *v = colon + 1;
            while (v < p + trimmed && (*v == ' ' || *v == '\t')) v++;
            size_t vlen = (size_t)(p + trimmed - v);
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
            header *nh = realloc(out->h, (out->n + 1) * sizeof *nh);
            if (!nh) {
                ck->oom = 1;
                return -1;
            }
            out->h = nh;
            nh[out->n].key = strndup(p, (size_t)(colon - p));
            nh[out->n].value = strndup(v, vlen);
            out->n++;
            if (!nh[out->n - 1].key || !nh[out->n - 1].value) {
                ck->oom = 1;
                return -1;
            }
        }
        if (!eol) break;
        p = eol + 1;
    }
    return 0;
}

static const char *header_get(const headers *hs, const char *key) {
    for (size_t i = 0; i < hs->n; i++)
        if (strcasecmp(hs->h[i].key, key) == 0) return hs->h[i].value;
    return NULL;
}

/* Finds the one top-level *.dist-info directory. Returns 0 and sets ck->dist_info, or -1. */
static int find_dist_info(checker *ck) {
    json_t *found = json_array();
    if (!found) {
        ck->oom = 1;
        return -1;
    }
    for (size_t i = 0; i < ck->n; i++) {
        const char *name = ck->e[i].name;
        const char *slash = strchr(name, '/');
        if (!slash) continue;
        size_t len = (size_t)(slash - name);
        if (len > 10 && strncmp(slash - 10, ".dist-info", 10) == 0) {
            int seen = 0;
            size_t k;
            json_t *v;
            json_array_foreach(found, k, v) {
                if (strlen(json_string_value(v)) == len && strncmp(json_string_value(v), name, len) == 0) seen = 1;
            }
            if (!seen) json_array_append_new(found, json_stringn(name, len));
        }
        /* {name}-{version}.data/<key>/...: only the sysconfig install paths are allowed. */
        if (len > 5 && strncmp(slash - 5, ".data", 5) == 0 && slash[1]) {
            const char *key = slash + 1;
            const char *end = strchr(key, '/');
            size_t klen = end ? (size_t)(end - key) : strlen(key);
            static const char *const keys[] = {"purelib", "platlib", "headers", "scripts", "data", NULL};
            int ok = 0;
            for (int j = 0; keys[j]; j++)
                if (strlen(keys[j]) == klen && strncmp(keys[j], key, klen) == 0) ok = 1;
            if (!ok && end)
                error(ck, "dist-info", name, "'%s' is under '%.*s/%.*s', but a .data directory only holds purelib, platlib, "
                      "headers, scripts and data", name, (int)len, name, (int)klen, key);
        }
    }
    int rc = -1;
    if (json_array_size(found) == 0) {
        error(ck, "dist-info", NULL, "no {name}-{version}.dist-info directory at the top of the archive");
    } else if (json_array_size(found) > 1) {
        char *list = json_dumps(found, JSON_COMPACT);
        error(ck, "dist-info", NULL, "more than one .dist-info directory: %s", list ? list : "?");
        free(list);
    } else {
        snprintf(ck->dist_info, sizeof ck->dist_info, "%s", json_string_value(json_array_get(found, 0)));
        set(ck, "dist_info", jstr(ck->dist_info));
        rc = 0;
    }
    json_decref(found);
    return rc;
}

/* "name" and "version" of a dist-info directory name into the buffers. */
static int split_dist_info(const char *dist_info, char *name, size_t nlen, char *version, size_t vlen) {
    size_t len = strlen(dist_info) - 10; /* without ".dist-info" */
    const char *dash = memchr(dist_info, '-', len);
    if (!dash) return -1;
    size_t a = (size_t)(dash - dist_info), b = len - a - 1;
    if (a == 0 || b == 0 || a >= nlen || b >= vlen) return -1;
    memcpy(name, dist_info, a);
    name[a] = '\0';
    memcpy(version, dash + 1, b);
    version[b] = '\0';
    return 0;
}

static void check_names_match(checker *ck, const char *what_a, const char *name_a, const char *what_b,
                              const char *name_b, const char *check) {
    char na[KILN_WHEEL_NAME_MAX + 1], nb[KILN_WHEEL_NAME_MAX + 1];
    if (kiln_wheel_name_normalize(name_a, na, sizeof na, NULL) || kiln_wheel_name_normalize(name_b, nb, sizeof nb, NULL))
        return; /* reported where the name was read */
    if (strcmp(na, nb) != 0)
        error(ck, check, NULL, "the %s name '%s' does not match the %s name '%s'", what_a, name_a, what_b, name_b);
}

/* Drops trailing ".0" release components of a normalised version ("1.0.0rc1" -> "1rc1"):
 * PEP 440 compares 1.0 and 1.0.0 equal. */
static void drop_trailing_zeros(char *v) {
    char *r = strchr(v, '!');
    r = r ? r + 1 : v;
    char *end = r;
    while ((*end >= '0' && *end <= '9') || (*end == '.' && end[1] >= '0' && end[1] <= '9')) end++;
    char *cut = end;
    while (cut - r >= 2 && cut[-1] == '0' && cut[-2] == '.') cut -= 2;
    if (cut != end) memmove(cut, end, strlen(end) + 1);
}

static void check_versions_match(checker *ck, const char *what_a, const char *va, const char *what_b, const char *vb,
                                 const char *check) {
    char na[KILN_WHEEL_NAME_MAX + 1], nb[KILN_WHEEL_NAME_MAX + 1];
    if (kiln_wheel_version_normalize(va, na, sizeof na, NULL) || kiln_wheel_version_normalize(vb, nb, sizeof nb, NULL))
        return;
    drop_trailing_zeros(na);
    drop_trailing_zeros(nb);
    if (strcmp(na, nb) != 0)
        error(ck, check, NULL, "the %s version '%s' does not match the %s version '%s'", what_a, va, what_b, vb);
}

static void check_dist_info_name(checker *ck) {
    char name[KILN_WHEEL_NAME_MAX + 1], version[KILN_WHEEL_NAME_MAX + 1], norm[KILN_WHEEL_NAME_MAX + 1];
    kiln_error err = {0};
    if (split_dist_info(ck->dist_info, name, sizeof name, version, sizeof version) != 0) {
        error(ck, "dist-info", ck->dist_info, "'%s' is not named {name}-{version}.dist-info", ck->dist_info);
        return;
    }
    if (!kiln_wheel_name_valid(name)) error(ck, "dist-info", ck->dist_info, "'%s': invalid distribution name '%s'", ck->dist_info, name);
    if (kiln_wheel_version_normalize(version, norm, sizeof norm, &err) != 0)
        error(ck, "dist-info", ck->dist_info, "'%s': %s", ck->dist_info, err.message);
    if (ck->have_fn) {
        check_names_match(ck, ".dist-info", name, "file", ck->fn.name, "dist-info");
        check_versions_match(ck, ".dist-info", version, "file", ck->fn.version, "dist-info");
    }
}

static void check_wheel_file(checker *ck) {
    char path[sizeof ck->dist_info + 16];
    snprintf(path, sizeof path, "%s/WHEEL", ck->dist_info);
    entry *en = find_entry(ck, path);
    if (!en) {
        error(ck, "wheel", path, "%s is missing", path);
        return;
    }
    char *text;
    size_t len;
    if (ck->unreadable || read_entry(ck, en, ck->lim.max_meta_size, "wheel", &text, &len) != 0) return;
    headers hs = {0};
    if (parse_headers(ck, "wheel", path, text, &hs) == 0) {
        const char *wv = header_get(&hs, "Wheel-Version");
        if (!wv) {
            error(ck, "wheel", path, "%s has no Wheel-Version", path);
        } else {
            set(ck, "wheel_version", jstr(wv));
            char *end;
            long major = strtol(wv, &end, 10);
            if (end == wv || (*end && *end != '.')) error(ck, "wheel", path, "%s: Wheel-Version '%s' is not a version", path, wv);
            else if (major != 1) error(ck, "wheel", path, "%s: Wheel-Version %s is not supported (major version 1 expected)", path, wv);
            else if (*end == '.' && strtol(end + 1, NULL, 10) > 0)
                warning(ck, "wheel", path, "%s: Wheel-Version %s is newer than 1.0", path, wv);
        }
        const char *purelib = header_get(&hs, "Root-Is-Purelib");
        if (!purelib) error(ck, "wheel", path, "%s has no Root-Is-Purelib", path);
        else if (strcasecmp(purelib, "true") == 0) ck->root_is_purelib = 1;
        else if (strcasecmp(purelib, "false") == 0) ck->root_is_purelib = 0;
        else error(ck, "wheel", path, "%s: Root-Is-Purelib must be 'true' or 'false', got '%s'", path, purelib);
        if (ck->root_is_purelib >= 0) set(ck, "root_is_purelib", json_boolean(ck->root_is_purelib));
        const char *gen = header_get(&hs, "Generator");
        if (gen) set(ck, "generator", jstr(gen));
        ck->wheel_tags = json_array();
        if (!ck->wheel_tags) ck->oom = 1;
        for (size_t i = 0; ck->wheel_tags && i < hs.n; i++) {
            if (strcasecmp(hs.h[i].key, "Tag") != 0) continue;
            const char *t = hs.h[i].value;
            const char *d1 = strchr(t, '-'), *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
            if (!d1 || !d2 || strchr(d2 + 1, '-') || strchr(t, '.') || d1 == t || d2 == d1 + 1 || !d2[1])
                error(ck, "wheel", path, "%s: Tag '%s' is not one python-abi-platform triple", path, t);
            json_array_append_new(ck->wheel_tags, jstr(t));
        }
        if (ck->wheel_tags && json_array_size(ck->wheel_tags) == 0) error(ck, "wheel", path, "%s has no Tag line", path);
        set(ck, "tags", json_incref(ck->wheel_tags));
        const char *build = header_get(&hs, "Build");
        if (ck->have_fn && (build || ck->fn.build) && (!build || !ck->fn.build || strcmp(build, ck->fn.build) != 0))
            error(ck, "wheel", path, "%s: Build '%s' does not match the file name's build tag '%s'", path,
                  build ? build : "(none)", ck->fn.build ? ck->fn.build : "(none)");
        /* The file name's tag set must be exactly the Tag lines. */
        if (ck->have_fn && ck->wheel_tags) {
            json_t *fn_tags = kiln_wheel_filename_tags(&ck->fn);
            size_t i, j;
            json_t *a, *b;
            json_array_foreach(fn_tags, i, a) {
                int found = 0;
                json_array_foreach(ck->wheel_tags, j, b) found |= json_equal(a, b);
                if (!found)
                    error(ck, "wheel", path, "the file name has tag %s, which %s does not list", json_string_value(a), path);
            }
            json_array_foreach(ck->wheel_tags, j, b) {
                int found = 0;
                json_array_foreach(fn_tags, i, a) found |= json_equal(a, b);
                if (!found)
                    error(ck, "wheel", path, "%s lists tag %s, which the file name does not have", path, json_string_value(b));
            }
            json_decref(fn_tags);
        }
    }
    headers_free(&hs);
    free(text);
}

static void check_metadata(checker *ck) {
    char path[sizeof ck->dist_info + 16];
    snprintf(path, sizeof path, "%s/METADATA", ck->dist_info);
    entry *en = find_entry(ck, path);
    if (!en) {
        error(ck, "metadata", path, "%s is missing", path);
        return;
    }
    char *text;
    size_t len;
    if (ck->unreadable || read_entry(ck, en, ck->lim.max_meta_size, "metadata", &text, &len) != 0) return;
    headers hs = {0};
    if (parse_headers(ck, "metadata", path, text, &hs) == 0) {
        static const char *const known[] = {"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", NULL};
        const char *mv = header_get(&hs, "Metadata-Version");
        const char *name = header_get(&hs, "Name");
        const char *version = header_get(&hs, "Version");
        if (!mv) {
            error(ck, "metadata", path, "%s has no Metadata-Version (a required field)", path);
        } else {
            set(ck, "metadata_version", jstr(mv));
            int ok = 0;
            for (int i = 0; known[i]; i++) ok |= strcmp(mv, known[i]) == 0;
            if (!ok) {
                if (strtol(mv, NULL, 10) > 2) error(ck, "metadata", path, "%s: Metadata-Version %s is not supported", path, mv);
                else warning(ck, "metadata", path, "%s: unknown Metadata-Version %s", path, mv);
            }
        }
        if (!name) {
            error(ck, "metadata", path, "%s has no Name (a required field)", path);
        } else {
            set(ck, "name", jstr(name));
            if (!kiln_wheel_name_valid(name)) error(ck, "metadata", path, "%s: invalid Name '%s'", path, name);
            else if (ck->have_fn) check_names_match(ck, "METADATA", name, "file", ck->fn.name, "metadata");
        }
        if (!version) {
            error(ck, "metadata", path, "%s has no Version (a required field)", path);
        } else {
            char norm[KILN_WHEEL_NAME_MAX + 1];
            kiln_error err = {0};
            set(ck, "version", jstr(version));
            if (kiln_wheel_version_normalize(version, norm, sizeof norm, &err) != 0)
                error(ck, "metadata", path, "%s: Version: %s", path, err.message);
            else if (ck->have_fn) check_versions_match(ck, "METADATA", version, "file", ck->fn.version, "metadata");
        }
    }
    headers_free(&hs);
    free(text);
}

/* ---------------------------------------------------------------------------------------- */
/* Step 3: RECORD and the content of every file                                              */
/* ---------------------------------------------------------------------------------------- */

/* RECORD, RECORD.jws, RECORD.p7s of the dist-info: listed without hash. */
static int is_record_file(const checker *ck, const char *path) {
    size_t n = strlen(ck->dist_info);
    if (strncmp(path, ck->dist_info, n) != 0 || path[n] != '/') return 0;
    const char *f = path + n + 1;
    return strcmp(f, "RECORD") == 0 || strcmp(f, "RECORD.jws") == 0 || strcmp(f, "RECORD.p7s") == 0;
}

static void load_record(checker *ck) {
    char path[sizeof ck->dist_info + 16];
    snprintf(path, sizeof path, "%s/RECORD", ck->dist_info);
    entry *en = find_entry(ck, path);
    if (!en) {
        error(ck, "record", path, "%s is missing", path);
        return;
    }
    char *text;
    size_t len;
    if (ck->unreadable || read_entry(ck, en, ck->lim.max_meta_size, "record", &text, &len) != 0) return;
    kiln_error err = {0};
    int parsed = kiln_wheel_record_parse(text, len, &ck->record, &err);
    free(text);
    if (parsed != 0) {
        error(ck, "record", path, "%s: %s", path, err.message);
        kiln_wheel_record_clear(&ck->record);
        return;
    }
    /* Rows: safe paths, no duplicates, each names an archive file. */
    for (size_t i = 0; i < ck->record.count; i++) {
        kiln_wheel_record_row *r = &ck->record.rows[i];
        const char *why = path_problem(r->path);
        if (why) {
            error(ck, "record", r->path, "RECORD line %d: '%s' has %s", r->line, r->path, why);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(ck->record.rows[j].path, r->path) == 0) {
                error(ck, "record", r->path, "RECORD lists '%s' twice (lines %d and %d)", r->path, ck->record.rows[j].line,
                      r->line);
                break;
            }
        entry *fe = find_entry(ck, r->path);
        if (!fe || fe->is_dir) {
            error(ck, "record", r->path, "RECORD line %d lists '%s', which is not in the archive", r->line, r->path);
            continue;
        }
        if (!fe->record_row) fe->record_row = (int)i + 1;
        if (is_record_file(ck, r->path)) {
            if (r->hash[0] || r->size[0])
                warning(ck, "record", r->path, "RECORD line %d: '%s' should be listed with an empty hash and size",
                        r->line, r->path);
            continue;
        }
        if (!r->hash[0]) {
            error(ck, "record", r->path, "RECORD line %d: '%s' has no hash", r->line, r->path);
            continue;
        }
        const char *eq = strchr(r->hash, '=');
        if (!eq) error(ck, "record", r->path, "RECORD line %d: hash '%s' is not algorithm=digest", r->line, r->hash);
        char *end = NULL;
        errno = 0;
        unsigned long long sz = strtoull(r->size, &end, 10);
        if (!r->size[0] || *end || errno || r->size[0] == '-')
            error(ck, "record", r->path, "RECORD line %d: size '%s' of '%s' is not a number of bytes", r->line, r->size,
                  r->path);
        else if (sz != fe->size)
            error(ck, "record", r->path, "RECORD says '%s' is %llu bytes, the archive holds %llu", r->path, sz,
                  (unsigned long long)fe->size);
    }
    /* Every file of the archive must be listed. */
    for (size_t i = 0; i < ck->n; i++) {
        entry *fe = &ck->e[i];
        if (fe->is_dir || fe->dup || fe->record_row || is_record_file(ck, fe->name)) continue;
        error(ck, "record", fe->name, "'%s' is in the archive but not listed in RECORD", fe->name);
    }
}

/* Streams one file entry: hashes it with the RECORD's algorithm, counts its bytes, keeps an
 * ELF image in memory. Returns 0 when the hash matched (or there was nothing to compare). */
static void verify_entry(checker *ck, entry *en, int *verified) {
    kiln_wheel_record_row *row = en->record_row ? &ck->record.rows[en->record_row - 1] : NULL;
    const char *want = (row && row->hash[0] && !is_record_file(ck, en->name)) ? row->hash : NULL;
    char algo[16] = "sha256";
    if (want) {
        const char *eq = strchr(want, '=');
        if (!eq || (size_t)(eq - want) >= sizeof algo) want = NULL;
        else {
            memcpy(algo, want, (size_t)(eq - want));
            algo[eq - want] = '\0';
        }
    }
    kiln_error err = {0};
    kiln_wheel_hasher *h = kiln_wheel_hasher_new(algo, &err);
    if (!h) {
        if (err.code == KILN_ENOMEM) ck->oom = 1;
        else error(ck, "record", en->name, "RECORD line %d: %s", row ? row->line : 0, err.message);
        return;
    }
    zip_file_t *zf = zip_fopen_index(ck->za, en->index, 0);
    if (!zf) {
        error(ck, "zip", en->name, "cannot open entry %s: %s", en->name, zip_error_strerror(zip_get_error(ck->za)));
        kiln_wheel_hasher_free(h);
        return;
    }
    unsigned char *elf = NULL;
    size_t elf_len = 0;
    int elf_wanted = -1; /* unknown until the first bytes are read */
    uint64_t total = 0;
    unsigned char buf[1 << 16];
    int failed = 0;
    for (;;) {
        zip_int64_t got = zip_fread(zf, buf, sizeof buf);
        if (got < 0) {
            error(ck, "zip", en->name, "cannot read entry %s: %s (corrupt or tampered archive)", en->name, zip_file_error(zf));
            failed = 1;
            break;
        }
        if (got == 0) break;
        total += (uint64_t)got;
        if (total > en->size) {
            error(ck, "zip", en->name, "entry %s holds more data than its declared size %llu", en->name,
                  (unsigned long long)en->size);
            failed = 1;
            break;
        }
        kiln_wheel_hasher_update(h, buf, (size_t)got);
        if (elf_wanted < 0) {
            elf_wanted = kiln_elf_is_elf(buf, (size_t)got);
            if (elf_wanted && en->size > ck->lim.max_elf_size) {
                warning(ck, "elf", en->name, "ELF file %s is larger than %llu bytes: not inspected", en->name,
                        (unsigned long long)ck->lim.max_elf_size);
                elf_wanted = 0;
            }
            if (elf_wanted && !(elf = malloc((size_t)en->size ? (size_t)en->size : 1))) {
                ck->oom = 1;
                elf_wanted = 0;
            }
        }
        if (elf_wanted) {
            memcpy(elf + elf_len, buf, (size_t)got);
            elf_len += (size_t)got;
        }
    }
    zip_fclose(zf);
    char have[128];
    kiln_wheel_hasher_finish(h, have, sizeof have);
    kiln_wheel_hasher_free(h);
    if (!failed) {
        if (total != en->size)
            error(ck, "zip", en->name, "entry %s holds %llu bytes, its directory entry says %llu", en->name,
                  (unsigned long long)total, (unsigned long long)en->size);
        if (want) {
            /* Compare without any '=' padding a writer may have left. */
            size_t wl = strlen(want);
            while (wl && want[wl - 1] == '=') wl--;
            if (wl != strlen(have) || strncmp(want, have, wl) != 0)
                error(ck, "record", en->name, "hash mismatch for '%s': RECORD says %s, the content hashes to %s (tampered?)",
                      en->name, want, have);
            else
                (*verified)++;
            if (wl != strlen(want))
                warning(ck, "record", en->name, "RECORD line %d: the digest of '%s' has '=' padding (the spec says none)",
                        row->line, en->name);
        }
    }
    if (!failed && elf && elf_len == en->size) {
        kiln_elf_info info = {0};
        kiln_error eerr = {0};
        if (kiln_elf_inspect(elf, elf_len, &info, &eerr) == 0) {
            en->is_elf = 1;
            en->elf = info;
        } else if (eerr.code == KILN_ENOMEM) {
            ck->oom = 1;
        } else {
            error(ck, "elf", en->name, "%s looks like an ELF file but cannot be read: %s", en->name, eerr.message);
        }
    }
    free(elf);
}

static void verify_contents(checker *ck) {
    int verified = 0;
    for (size_t i = 0; i < ck->n && !ck->oom; i++) {
        entry *en = &ck->e[i];
        if (en->is_dir || en->dup || en->bad_path) continue;
        verify_entry(ck, en, &verified);
    }
    set(ck, "record", json_pack("{s:i, s:i}", "rows", (json_int_t)ck->record.count, "verified", (json_int_t)verified));
}

/* ---------------------------------------------------------------------------------------- */
/* Step 4: platform tags and ELF files                                                       */
/* ---------------------------------------------------------------------------------------- */

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* 1 when the wheel itself carries a library with this soname (auditwheel repair puts them
 * in <pkg>.libs/). */
static int bundled(const checker *ck, const char *soname) {
    for (size_t i = 0; i < ck->n; i++) {
        const entry *en = &ck->e[i];
        if (!en->is_elf) continue;
        if (strcmp(base_name(en->name), soname) == 0) return 1;
        if (en->elf.soname && strcmp(en->elf.soname, soname) == 0) return 1;
    }
    return 0;
}

/* Counts what ELF file `en` violates in policy p (tag text for messages); reports each
 * violation when `report` is set. */
static int elf_violations(checker *ck, const entry *en, const kiln_manylinux_policy *p, const char *tag, int glibc_minor,
                          int report) {
    int v = 0;
    char mbuf[32];
    int want_machine = kiln_manylinux_arch_machine(p->arch);
    int want_class = strcmp(p->arch, "i686") == 0 ? 32 : 64;
    if (en->elf.machine != want_machine || en->elf.elf_class != want_class) {
        v++;
        if (report)
            error(ck, "policy", en->name, "%s: %s is built for %s (%d-bit), not %s", tag, en->name,
                  kiln_elf_machine_name(en->elf.machine, mbuf, sizeof mbuf), en->elf.elf_class, p->arch);
    }
    for (size_t i = 0; i < en->elf.nneeded; i++) {
        const char *lib = en->elf.needed[i];
        if (kiln_manylinux_allows_lib(p, lib) || bundled(ck, lib)) continue;
        v++;
        if (report)
            error(ck, "policy", en->name, "%s: %s needs %s, which the policy does not allow and the wheel does not bundle",
                  tag, en->name, lib);
    }
    for (size_t i = 0; i < en->elf.nreqs; i++) {
        const kiln_elf_verreq *r = &en->elf.reqs[i];
        const char *rest;
        int ns = kiln_manylinux_ns_of(r->version, &rest);
        if (ns < 0) continue;
        int ok = kiln_manylinux_allows(p, ns, rest);
        /* A manylinux_2_X tag newer than the table's rows: glibc up to 2.X is allowed. */
        if (!ok && ns == KILN_NS_GLIBC && glibc_minor > p->glibc_minor) {
            char max[16];
            snprintf(max, sizeof max, "2.%d", glibc_minor);
            ok = rest[0] >= '0' && rest[0] <= '9' && kiln_version_compare(rest, max) <= 0;
        }
        if (ok) continue;
        v++;
        if (report)
            error(ck, "policy", en->name, "%s: %s requires %s from %s%s%s%s, newer than the policy allows (%s_%s at most)", tag,
                  en->name, r->version, r->library, r->symbols[0] ? " (" : "", r->symbols, r->symbols[0] ? ")" : "",
                  kiln_manylinux_ns_name(ns), p->max[ns]);
    }
    return v;
}

static json_t *elf_json(const entry *en) {
    char mbuf[32];
    json_t *needed = json_array(), *versions = json_array(), *o = json_object();
    if (!needed || !versions || !o) {
        json_decref(needed);
        json_decref(versions);
        json_decref(o);
        return NULL;
    }
    for (size_t i = 0; i < en->elf.nneeded; i++) json_array_append_new(needed, jstr(en->elf.needed[i]));
    for (size_t i = 0; i < en->elf.nreqs; i++) {
        json_t *v = json_object();
        if (!v) continue;
        json_object_set_new(v, "version", jstr(en->elf.reqs[i].version));
        json_object_set_new(v, "library", jstr(en->elf.reqs[i].library));
        json_object_set_new(v, "symbols", jstr(en->elf.reqs[i].symbols));
        json_array_append_new(versions, v);
    }
    json_object_set_new(o, "path", jstr(en->name));
    json_object_set_new(o, "machine", jstr(kiln_elf_machine_name(en->elf.machine, mbuf, sizeof mbuf)));
    json_object_set_new(o, "class", json_integer(en->elf.elf_class));
    json_object_set_new(o, "needed", needed);
    json_object_set_new(o, "versions", versions);
    if (en->elf.soname) json_object_set_new(o, "soname", jstr(en->elf.soname));
    return o;
}

/* The newest version required per namespace across every ELF file. */
static json_t *max_versions_json(const checker *ck) {
    const char *max[KILN_NS_COUNT] = {NULL};
    for (size_t i = 0; i < ck->n; i++) {
        const entry *en = &ck->e[i];
        if (!en->is_elf) continue;
        for (size_t k = 0; k < en->elf.nreqs; k++) {
            const char *rest;
            int ns = kiln_manylinux_ns_of(en->elf.reqs[k].version, &rest);
            if (ns < 0 || rest[0] < '0' || rest[0] > '9') continue;
            if (!max[ns] || kiln_version_compare(rest, max[ns]) > 0) max[ns] = rest;
        }
    }
    json_t *o = json_object();
    for (int ns = 0; o && ns < KILN_NS_COUNT; ns++)
        json_object_set_new(o, kiln_manylinux_ns_name(ns), max[ns] ? jstr(max[ns]) : json_null());
    return o;
}

static void check_platform(checker *ck) {
    /* Platform tags: the file name's, else WHEEL's. */
    json_t *tags = ck->have_fn ? kiln_wheel_filename_tags(&ck->fn) : json_incref(ck->wheel_tags);
    json_t *platform = json_object(), *declared = json_array(), *elfs = json_array();
    if (!platform || !declared || !elfs) {
        ck->oom = 1;
        json_decref(tags);
        json_decref(platform);
        json_decref(declared);
        json_decref(elfs);
        return;
    }
    size_t nelf = 0;
    const entry *first_elf = NULL;
    for (size_t i = 0; i < ck->n; i++)
        if (ck->e[i].is_elf) {
            json_array_append_new(elfs, elf_json(&ck->e[i]));
            if (!first_elf) first_elf = &ck->e[i];
            nelf++;
        }
    char arch[32] = "";
    size_t ti;
    json_t *tv;
    json_array_foreach(tags, ti, tv) {
        const char *t = json_string_value(tv);
        const char *plat = t ? strrchr(t, '-') : NULL;
        if (!plat) continue;
        plat++;
        int seen = 0;
        size_t k;
        json_t *d;
        json_array_foreach(declared, k, d) seen |= strcmp(json_string_value(d), plat) == 0;
        if (seen) continue;
        json_array_append_new(declared, jstr(plat));
        int minor = 0;
        char tag_arch[32];
        if (strcmp(plat, "any") == 0) {
            if (nelf)
                error(ck, "policy", first_elf->name,
                      "the wheel is tagged for any platform but contains %zu ELF file%s (%s%s): use a platform tag", nelf,
                      nelf == 1 ? "" : "s", first_elf->name, nelf > 1 ? ", ..." : "");
        } else if (kiln_manylinux_parse_tag(plat, &minor, tag_arch, sizeof tag_arch)) {
            snprintf(arch, sizeof arch, "%s", tag_arch);
            size_t count = 0;
            const kiln_manylinux_policy *ps = kiln_manylinux_policies(tag_arch, &count);
            const kiln_manylinux_policy *p = NULL;
            for (size_t j = 0; j < count; j++)
                if (ps[j].glibc_minor <= minor) p = &ps[j];
            if (!ps) {
                error(ck, "policy", NULL, "%s: kiln has no manylinux policy data for architecture '%s' (it knows x86_64, i686, aarch64)",
                      plat, tag_arch);
            } else if (!p) {
                error(ck, "policy", NULL, "%s: no manylinux policy for glibc 2.%d on %s (the oldest is manylinux_2_%d)", plat,
                      minor, tag_arch, ps[0].glibc_minor);
            } else {
                for (size_t i = 0; i < ck->n; i++)
                    if (ck->e[i].is_elf) elf_violations(ck, &ck->e[i], p, plat, minor, 1);
            }
        } else if (kiln_linux_parse_tag(plat, tag_arch, sizeof tag_arch)) {
            snprintf(arch, sizeof arch, "%s", tag_arch);
            warning(ck, "policy", NULL, "%s: a plain linux tag promises nothing about the system libraries (PyPI refuses it); "
                    "see satisfied_tag for the manylinux tag the wheel qualifies for", plat);
        } else if (nelf) {
            warning(ck, "policy", NULL, "platform %s is not checked (kiln checks manylinux and linux tags)", plat);
        }
    }
    if (nelf && ck->root_is_purelib == 1)
        warning(ck, "wheel", NULL, "Root-Is-Purelib is true but the wheel contains ELF files (platlib is expected)");
    /* The most compatible manylinux tag every ELF file satisfies. */
    if (!arch[0] && first_elf) {
        char mbuf[32];
        snprintf(arch, sizeof arch, "%s", kiln_elf_machine_name(first_elf->elf.machine, mbuf, sizeof mbuf));
    }
    json_t *satisfied = json_null();
    if (nelf && arch[0]) {
        size_t count = 0;
        const kiln_manylinux_policy *ps = kiln_manylinux_policies(arch, &count);
        char tag[64];
        snprintf(tag, sizeof tag, "linux_%s", arch);
        for (size_t j = 0; j < count; j++) {
            int v = 0;
            for (size_t i = 0; i < ck->n; i++)
                if (ck->e[i].is_elf) v += elf_violations(ck, &ck->e[i], &ps[j], NULL, ps[j].glibc_minor, 0);
            if (v == 0) {
                snprintf(tag, sizeof tag, "manylinux_2_%d_%s", ps[j].glibc_minor, arch);
                break;
            }
        }
        json_decref(satisfied);
        satisfied = jstr(tag);
    }
    json_object_set_new(platform, "declared", declared);
    json_object_set_new(platform, "elf_files", elfs);
    json_object_set_new(platform, "satisfied_tag", satisfied);
    json_object_set_new(platform, "max_versions", max_versions_json(ck));
    set(ck, "platform", platform);
    json_decref(tags);
}

/* ---------------------------------------------------------------------------------------- */
/* The file name                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* 1 when the '.'-joined set holds item. */
static int set_has(const char *set, const char *item) {
    size_t n = strlen(item);
    for (const char *p = set; *p;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == n && strncmp(p, item, n) == 0) return 1;
        p += len + (dot ? 1 : 0);
    }
    return 0;
}

/* A file name from the contents: {escaped name}-{version}-{compressed tags}.whl. */
static json_t *derived_file_name(checker *ck) {
    char name[KILN_WHEEL_NAME_MAX + 1], version[KILN_WHEEL_NAME_MAX + 1], esc[KILN_WHEEL_NAME_MAX + 1];
    char norm[KILN_WHEEL_NAME_MAX + 1];
    if (!ck->dist_info[0] || split_dist_info(ck->dist_info, name, sizeof name, version, sizeof version) != 0) return NULL;
    if (kiln_wheel_name_escape(name, esc, sizeof esc, NULL) || kiln_wheel_version_normalize(version, norm, sizeof norm, NULL))
        return NULL;
    /* Compress the tags as "a.b-c-d.e" from the distinct parts, in order of appearance. */
    char parts[3][256] = {"", "", ""};
    size_t i;
    json_t *t;
    json_array_foreach(ck->wheel_tags, i, t) {
        char copy[256];
        snprintf(copy, sizeof copy, "%s", json_string_value(t));
        char *fields[3] = {copy, NULL, NULL};
        char *d1 = strchr(copy, '-');
        if (!d1) continue;
        *d1 = '\0';
        fields[1] = d1 + 1;
        char *d2 = strchr(fields[1], '-');
        if (!d2) continue;
        *d2 = '\0';
        fields[2] = d2 + 1;
        for (int k = 0; k < 3; k++) {
            if (set_has(parts[k], fields[k])) continue;
            size_t used = strlen(parts[k]), add = strlen(fields[k]);
            if (used + add + 2 > sizeof parts[k]) continue;
            if (used) parts[k][used++] = '.';
            memcpy(parts[k] + used, fields[k], add + 1);
        }
    }
    if (!parts[0][0]) return NULL;
    char out[2 * KILN_WHEEL_NAME_MAX + 3 * 256 + 16];
    snprintf(out, sizeof out, "%s-%s-%s-%s-%s.whl", esc, norm, parts[0], parts[1], parts[2]);
    return jstr(out);
}

/* ---------------------------------------------------------------------------------------- */
/* Entry point                                                                               */
/* ---------------------------------------------------------------------------------------- */

json_t *kiln_wheel_check(const char *path, const char *file_name, const kiln_wheel_limits *limits) {
    checker ck;
    memset(&ck, 0, sizeof ck);
    if (limits) ck.lim = *limits;
    else kiln_wheel_limits_default(&ck.lim);
    ck.root_is_purelib = -1;
    ck.report = json_object();
    ck.errors = json_array();
    ck.warnings = json_array();
    if (!ck.report || !ck.errors || !ck.warnings) {
        json_decref(ck.report);
        json_decref(ck.errors);
        json_decref(ck.warnings);
        return NULL;
    }

    /* The name to validate. */
    const char *source = "given";
    if (!file_name) {
        const char *b = base_name(path);
        size_t bl = strlen(b);
        if (bl > 4 && strcmp(b + bl - 4, ".whl") == 0) {
            file_name = b;
            source = "path";
        }
    }
    if (file_name) {
        kiln_error err = {0};
        if (kiln_wheel_filename_parse(file_name, &ck.fn, &err) == 0) ck.have_fn = 1;
        else error(&ck, "filename", NULL, "%s", err.message);
        set(&ck, "file_name", jstr(file_name));
        set(&ck, "file_name_source", json_string(source));
    }

    if (open_archive(&ck, path) == 0 && scan_entries(&ck) == 0) {
        if (!ck.unreadable) check_consistency(&ck, path);
        if (find_dist_info(&ck) == 0) {
            check_dist_info_name(&ck);
            check_wheel_file(&ck);
            check_metadata(&ck);
            load_record(&ck);
        }
        if (!ck.unreadable && !ck.oom) {
            verify_contents(&ck);
            check_platform(&ck);
        }
        if (!file_name) {
            json_t *derived = ck.wheel_tags ? derived_file_name(&ck) : NULL;
            set(&ck, "file_name", derived ? derived : json_null());
            set(&ck, "file_name_source", json_string("derived"));
        }
    } else if (!file_name) {
        set(&ck, "file_name", json_null());
        set(&ck, "file_name_source", json_string("derived"));
    }

    set(&ck, "valid", json_boolean(json_array_size(ck.errors) == 0));
    set(&ck, "errors", json_incref(ck.errors));
    set(&ck, "warnings", json_incref(ck.warnings));
    json_decref(ck.errors);
    json_decref(ck.warnings);
    json_decref(ck.wheel_tags);
    kiln_wheel_record_clear(&ck.record);
    for (size_t i = 0; i < ck.n; i++) {
        free(ck.e[i].name);
        kiln_elf_info_clear(&ck.e[i].elf);
    }
    free(ck.e);
    if (ck.za) zip_discard(ck.za);
    if (ck.oom) {
        json_decref(ck.report);
        return NULL;
    }
    return ck.report;
}

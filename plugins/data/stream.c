/* stream.c -- plain or gzip sequential reader with exact error offsets (see stream.h). */
#include "stream.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "file.h"

#define KILN_DATA_STREAM_CHUNK (256u * 1024u)

struct kiln_data_stream {
    char *path;          /* owned copy                                              */
    int fd;
    uint64_t file_size;
    int gzip;            /* 1: inflate through zs                                   */
    z_stream zs;         /* gzip state (inflateInit2 done when gzip)                */
    unsigned char *in;   /* gzip: compressed input buffer (KILN_DATA_STREAM_CHUNK)  */
    uint64_t in_read;    /* compressed bytes read from the file so far              */
    int in_eof;          /* the file has no more bytes                              */
    int member_done;     /* the last inflate() ended a gzip member                  */
    int done;            /* no more data                                            */
    uint64_t offset;     /* decompressed bytes delivered                            */
};

/* read() that retries on EINTR and fills as much as it can. Returns bytes read or -1. */
static ssize_t read_full(int fd, void *buf, size_t n) {
    size_t total = 0;
    while (total < n) {
        ssize_t r = read(fd, (char *)buf + total, n - total);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        total += (size_t)r;
    }
    return (ssize_t)total;
}

int kiln_data_stream_open(const char *path, kiln_data_stream **out, kiln_error *err) {
    kiln_data_stream *s;
    unsigned char magic[2];
    ssize_t r;
    int rc;
    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    s->fd = -1;
    s->path = strdup(path ? path : "");
    if (!s->path) {
        free(s);
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    }
    rc = kiln_data_file_open(path, &s->fd, &s->file_size, err);
    if (rc) {
        kiln_data_stream_close(s);
        return rc;
    }
    r = pread(s->fd, magic, 2, 0);
    if (r < 0) {
        rc = kiln_data_error(err, KILN_EIO, "%s: read failed: %s", path, strerror(errno));
        kiln_data_stream_close(s);
        return rc;
    }
    if (r == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        s->gzip = 1;
        s->in = malloc(KILN_DATA_STREAM_CHUNK);
        if (!s->in) {
            kiln_data_stream_close(s);
            return kiln_data_error(err, KILN_ENOMEM, "out of memory");
        }
        memset(&s->zs, 0, sizeof s->zs);
        if (inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK) {
            s->gzip = 0; /* nothing to end */
            kiln_data_stream_close(s);
            return kiln_data_error(err, KILN_ENOMEM, "%s: cannot initialise zlib", path);
        }
    }
    *out = s;
    return 0;
}

/* Refills the compressed buffer when it is empty. Returns 0 or KILN_EIO. */
static int fill_input(kiln_data_stream *s, kiln_error *err) {
    ssize_t r;
    if (s->zs.avail_in > 0 || s->in_eof)
        return 0;
    r = read_full(s->fd, s->in, KILN_DATA_STREAM_CHUNK);
    if (r < 0)
        return kiln_data_error(err, KILN_EIO, "%s: read failed at byte %llu: %s", s->path,
                               (unsigned long long)s->in_read, strerror(errno));
    if (r == 0)
        s->in_eof = 1;
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)r;
    s->in_read += (uint64_t)r;
    return 0;
}

/* Compressed offset of the next byte inflate would consume. */
static uint64_t compressed_offset(const kiln_data_stream *s) {
    return s->in_read - s->zs.avail_in;
}

static int gzip_read(kiln_data_stream *s, unsigned char *buf, size_t n, size_t *got,
                     kiln_error *err) {
    size_t total = 0;
    while (total < n && !s->done) {
        size_t want = n - total;
        uInt avail = want > UINT_MAX ? UINT_MAX : (uInt)want;
        int zr, rc = fill_input(s, err);
        if (rc)
            return rc;
        if (s->member_done) {
            /* Between members: end of data, another member, or garbage. */
            if (s->zs.avail_in == 0) {
                s->done = 1; /* fill_input found EOF */
                break;
            }
            if (s->zs.next_in[0] != 0x1f)
                return kiln_data_error(err, KILN_EFORMAT,
                                       "%s: trailing garbage after the gzip stream at compressed "
                                       "byte %llu (the file has %llu bytes)",
                                       s->path, (unsigned long long)compressed_offset(s),
                                       (unsigned long long)s->file_size);
            inflateReset(&s->zs);
            s->member_done = 0;
        }
        s->zs.next_out = buf + total;
        s->zs.avail_out = avail;
        zr = inflate(&s->zs, Z_NO_FLUSH);
        total += avail - s->zs.avail_out;
        switch (zr) {
        case Z_STREAM_END:
            s->member_done = 1;
            break;
        case Z_OK:
            break;
        case Z_BUF_ERROR:
            /* No progress possible: it needs more input. At the end of the file, the
             * stream was cut short; otherwise the next turn refills the buffer. */
            if (s->zs.avail_in == 0 && s->in_eof)
                return kiln_data_error(err, KILN_EFORMAT,
                                       "%s: truncated gzip stream: the file ends at byte %llu "
                                       "before the end of the compressed data (%llu bytes "
                                       "decompressed)",
                                       s->path, (unsigned long long)s->file_size,
                                       (unsigned long long)(s->offset + total));
            if (s->zs.avail_in != 0)
                return kiln_data_error(err, KILN_EINTERNAL, "%s: zlib made no progress", s->path);
            break;
        case Z_MEM_ERROR:
            return kiln_data_error(err, KILN_ENOMEM, "%s: out of memory in zlib", s->path);
        default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            return kiln_data_error(err, KILN_EFORMAT,
                                   "%s: corrupt gzip data near compressed byte %llu: %s", s->path,
                                   (unsigned long long)compressed_offset(s),
                                   s->zs.msg ? s->zs.msg : "invalid data");
        }
    }
    *got = total;
    return 0;
}

int kiln_data_stream_read(kiln_data_stream *s, void *buf, size_t n, size_t *got, kiln_error *err) {
    int rc;
    *got = 0;
    if (n == 0)
        return 0;
    if (s->gzip) {
        rc = gzip_read(s, buf, n, got, err);
    } else {
        ssize_t r = s->done ? 0 : read_full(s->fd, buf, n);
        if (r < 0)
            return kiln_data_error(err, KILN_EIO, "%s: read failed at byte %llu: %s", s->path,
                                   (unsigned long long)s->offset, strerror(errno));
        if ((size_t)r < n)
            s->done = 1;
        *got = (size_t)r;
        rc = 0;
    }
    s->offset += *got;
    return rc;
}

int kiln_data_stream_read_exact(kiln_data_stream *s, void *buf, size_t n, const char *what,
                                kiln_error *err) {
    uint64_t start = s->offset;
    size_t got;
    int rc = kiln_data_stream_read(s, buf, n, &got, err);
    if (rc)
        return rc;
    if (got < n)
        return kiln_data_error(err, KILN_EFORMAT,
                               "%s: truncated: %s needs %llu bytes at byte %llu%s, the data "
                               "ends at byte %llu",
                               s->path, what, (unsigned long long)n, (unsigned long long)start,
                               s->gzip ? " (decompressed)" : "", (unsigned long long)s->offset);
    return 0;
}

uint64_t kiln_data_stream_offset(const kiln_data_stream *s) { return s->offset; }
int kiln_data_stream_is_gzip(const kiln_data_stream *s) { return s->gzip; }
uint64_t kiln_data_stream_file_size(const kiln_data_stream *s) { return s->file_size; }
const char *kiln_data_stream_path(const kiln_data_stream *s) { return s->path; }

void kiln_data_stream_close(kiln_data_stream *s) {
    if (!s)
        return;
    if (s->gzip)
        inflateEnd(&s->zs);
    if (s->fd >= 0)
        close(s->fd);
    free(s->in);
    free(s->path);
    free(s);
}

/* file.c -- opening and mapping input files with precise errors (see file.h). */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int kiln_data_file_open(const char *path, int *fd_out, uint64_t *size_out, kiln_error *err) {
    struct stat st;
    int fd;
    if (!path || !*path)
        return kiln_data_error(err, KILN_EINVAL, "no input file path given");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return kiln_data_error(err, e == ENOENT ? KILN_ENOTFOUND : KILN_EIO,
                               "%s: cannot open: %s", path, strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return kiln_data_error(err, KILN_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return kiln_data_error(err, KILN_EIO, "%s: is a directory, expected a file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return kiln_data_error(err, KILN_EIO, "%s: is not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return kiln_data_error(err, KILN_EFORMAT, "%s: empty file (0 bytes)", path);
    }
    *fd_out = fd;
    *size_out = (uint64_t)st.st_size;
    return 0;
}

int kiln_data_map_open(const char *path, kiln_data_map **out, kiln_error *err) {
    int fd = -1, rc;
    uint64_t size = 0;
    void *p;
    kiln_data_map *m;
    *out = NULL;
    rc = kiln_data_file_open(path, &fd, &size, err);
    if (rc)
        return rc;
    if (size > (uint64_t)SIZE_MAX) {
        close(fd);
        return kiln_data_error(err, KILN_ENOMEM, "%s: too large to map", path);
    }
    p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return kiln_data_error(err, KILN_EIO, "%s: cannot map: %s", path, strerror(errno));
    m = malloc(sizeof *m);
    if (!m) {
        munmap(p, (size_t)size);
        return kiln_data_error(err, KILN_ENOMEM, "out of memory");
    }
    m->data = p;
    m->size = (size_t)size;
    *out = m;
    return 0;
}

void kiln_data_map_close(kiln_data_map *m) {
    if (!m)
        return;
    munmap((void *)m->data, m->size);
    free(m);
}

/* check.h -- validate any wheel (.whl) file and describe it as a JSON report: the library
 * behind the wheel.check op and `kiln wheel check`.
 *
 * What is checked (binary distribution format, PEP 427 and its current text; PEP 440;
 * PEP 503; core metadata; PEP 600 manylinux, in the style of `auditwheel show`):
 *   - the archive: a zip (not truncated), at most `max_entries` entries, no entry larger or
 *     more compressed than the limits (zip bombs), no overlapping entries (compressed
 *     sizes that add up to more than the file: non-recursive zip bombs), no duplicate
 *     names, local headers that agree with the central directory, no encrypted entries,
 *     no symlinks;
 *   - every entry name: relative, no "..", ".", empty or backslash components, no drive
 *     letter, no control characters, valid UTF-8. Nothing is ever extracted: entries are
 *     streamed from the archive into hashers (and ELF images into memory for libelf);
 *   - the file name grammar {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl, the
 *     version (PEP 440), and the tag set against the WHEEL file's Tag lines;
 *   - exactly one {name}-{version}.dist-info directory matching the file name, with WHEEL
 *     (Wheel-Version 1.x, Root-Is-Purelib, Tag), METADATA (Metadata-Version, Name, Version
 *     matching the file name) and RECORD;
 *   - RECORD: every file listed once with a sha256/384/512 hash and size that match its
 *     content; nothing unlisted; nothing listed that is missing;
 *   - platform wheels: every ELF file's machine, DT_NEEDED libraries and required symbol
 *     versions (GLIBC_, GLIBCXX_, CXXABI_, GCC_) against the manylinux policy of each
 *     manylinux tag (policy.h), and the most compatible manylinux tag the wheel really
 *     satisfies ("satisfied_tag"); a pure wheel ("any") must contain no ELF file.
 *
 * The report (a JSON object, deterministic for the same file, name and limits):
 *   {"file_name": "x-1.0-py3-none-any.whl", "file_name_source": "path|given|derived",
 *    "valid": true|false, "errors": [{"check": "record", "path": "x/a.py", "message": "..."}],
 *    "warnings": [...same shape...], "name": "x", "version": "1.0", "dist_info": "x-1.0.dist-info",
 *    "tags": ["py3-none-any"], "root_is_purelib": true, "wheel_version": "1.0",
 *    "metadata_version": "2.1", "entries": 7, "files": 6, "size": 1234, "compressed_size": 999,
 *    "record": {"rows": 6, "verified": 5},
 *    "platform": {"elf_files": [...], "declared": [...], "satisfied_tag": "manylinux_2_17_x86_64"}}
 * Categories ("check"): file, zip, bomb, path, filename, dist-info, wheel, metadata, record,
 * elf, policy. */
#ifndef KILN_WHEEL_CHECK_H
#define KILN_WHEEL_CHECK_H

#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_wheel_limits {
    uint64_t max_entries;    /* entries in the archive                       (100000)   */
    uint64_t max_total_size; /* sum of uncompressed sizes                     (16 GiB)   */
    uint64_t max_entry_size; /* one entry, uncompressed                        (8 GiB)   */
    double max_ratio;        /* uncompressed / compressed, per entry above 1 MiB
                                and for the whole archive                       (200)   */
    uint64_t max_meta_size;  /* METADATA, WHEEL, RECORD                       (64 MiB)   */
    uint64_t max_elf_size;   /* an ELF file read into memory for libelf        (2 GiB)   */
} kiln_wheel_limits;

/* Fills l with the defaults above. */
void kiln_wheel_limits_default(kiln_wheel_limits *l);

/* Checks the wheel at `path`. `file_name` is the name to validate (NULL: the last
 * component of path when it ends in ".whl", else a name derived from the dist-info and
 * WHEEL tags, reported as "file_name_source": "derived"). `limits` NULL: defaults.
 * Returns a new report (caller owns: json_decref); "valid" is false when "errors" is not
 * empty. Returns NULL only when memory runs out. Never writes to the file system. */
json_t *kiln_wheel_check(const char *path, const char *file_name, const kiln_wheel_limits *limits);

#ifdef __cplusplus
}
#endif

#endif

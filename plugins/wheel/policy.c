/* policy.c -- the manylinux policy table (see policy.h).
 *
 * Source: pypa/auditwheel, src/auditwheel/policy/manylinux-policy.json. For every policy and
 * architecture that file lists the allowed symbol versions per namespace; kiln keeps the
 * newest numeric version of each (older ones are implied: glibc never removes a version)
 * and the named ones. Updating for a new manylinux_2_X means appending one row per arch.
 * Blacklisted symbols (libz internals) are not checked. */
#include "policy.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allowed libraries. The list grew twice: libexpat with manylinux2010, libmvec with 2_24. */
#define LIBS_COMMON                                                                                   \
    "libatomic.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libanl.so.1", "libdl.so.2", \
        "librt.so.1", "libc.so.6", "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libX11.so.6", \
        "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6", "libGL.so.1",               \
        "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0", "libresolv.so.2", "libz.so.1"

static const char *const libs_2_5[] = {LIBS_COMMON, NULL};
static const char *const libs_2_12[] = {LIBS_COMMON, "libexpat.so.1", NULL};
static const char *const libs_2_24[] = {LIBS_COMMON, "libexpat.so.1", "libmvec.so.1", NULL};

/* Named versions (non-numeric) allowed by a policy. */
static const char *const ex_none[] = {NULL};
static const char *const ex_tm[] = {"CXXABI_TM_1", NULL};
static const char *const ex_tm_f128[] = {"CXXABI_TM_1", "CXXABI_FLOAT128", NULL};
static const char *const ex_tm_f128_relr[] = {"CXXABI_TM_1", "CXXABI_FLOAT128", "GLIBC_ABI_DT_RELR", NULL};
static const char *const ex_tm_relr[] = {"CXXABI_TM_1", "GLIBC_ABI_DT_RELR", NULL};

/*                     2_X  alias            arch       GLIBC   GLIBCXX   CXXABI    GCC       extras  libs */
static const kiln_manylinux_policy policies[] = {
    {5, "manylinux1", "x86_64", {"2.5", "3.4.8", "1.3.1", "4.2.0"}, ex_none, libs_2_5},
    {12, "manylinux2010", "x86_64", {"2.12", "3.4.13", "1.3.3", "4.3.0"}, ex_none, libs_2_12},
    {17, "manylinux2014", "x86_64", {"2.17", "3.4.19", "1.3.7", "4.8.0"}, ex_tm, libs_2_12},
    {24, NULL, "x86_64", {"2.24", "3.4.22", "1.3.10", "4.8.0"}, ex_tm_f128, libs_2_24},
    {26, NULL, "x86_64", {"2.26", "3.4.22", "1.3.10", "4.8.0"}, ex_tm_f128, libs_2_24},
    {27, NULL, "x86_64", {"2.27", "3.4.24", "1.3.11", "7.0.0"}, ex_tm_f128, libs_2_24},
    {28, NULL, "x86_64", {"2.28", "3.4.24", "1.3.11", "7.0.0"}, ex_tm_f128, libs_2_24},
    {31, NULL, "x86_64", {"2.31", "3.4.28", "1.3.12", "7.0.0"}, ex_tm_f128, libs_2_24},
    {34, NULL, "x86_64", {"2.34", "3.4.29", "1.3.13", "7.0.0"}, ex_tm_f128, libs_2_24},
    {35, NULL, "x86_64", {"2.35", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128, libs_2_24},
    {36, NULL, "x86_64", {"2.36", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128_relr, libs_2_24},
    {37, NULL, "x86_64", {"2.37", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128_relr, libs_2_24},
    {38, NULL, "x86_64", {"2.38", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128_relr, libs_2_24},
    {39, NULL, "x86_64", {"2.39", "3.4.33", "1.3.15", "14.0.0"}, ex_tm_f128_relr, libs_2_24},

    {5, "manylinux1", "i686", {"2.5", "3.4.8", "1.3.1", "4.2.0"}, ex_none, libs_2_5},
    {12, "manylinux2010", "i686", {"2.12", "3.4.13", "1.3.3", "4.5.0"}, ex_none, libs_2_12},
    {17, "manylinux2014", "i686", {"2.17", "3.4.19", "1.3.7", "4.8.0"}, ex_tm, libs_2_12},
    {24, NULL, "i686", {"2.24", "3.4.22", "1.3.10", "4.8.0"}, ex_tm_f128, libs_2_24},
    {26, NULL, "i686", {"2.26", "3.4.24", "1.3.11", "7.0.0"}, ex_tm_f128, libs_2_24},
    {27, NULL, "i686", {"2.27", "3.4.24", "1.3.11", "7.0.0"}, ex_tm_f128, libs_2_24},
    {28, NULL, "i686", {"2.28", "3.4.24", "1.3.11", "7.0.0"}, ex_tm_f128, libs_2_24},
    {31, NULL, "i686", {"2.31", "3.4.28", "1.3.12", "7.0.0"}, ex_tm_f128, libs_2_24},
    {34, NULL, "i686", {"2.34", "3.4.29", "1.3.13", "7.0.0"}, ex_tm_f128, libs_2_24},
    {35, NULL, "i686", {"2.35", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128, libs_2_24},
    {36, NULL, "i686", {"2.36", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128_relr, libs_2_24},
    {37, NULL, "i686", {"2.37", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128_relr, libs_2_24},
    {38, NULL, "i686", {"2.38", "3.4.30", "1.3.13", "12.0.0"}, ex_tm_f128_relr, libs_2_24},
    {39, NULL, "i686", {"2.39", "3.4.33", "1.3.15", "14.0.0"}, ex_tm_f128_relr, libs_2_24},

    {17, "manylinux2014", "aarch64", {"2.18", "3.4.19", "1.3.7", "4.7.0"}, ex_tm, libs_2_12},
    {24, NULL, "aarch64", {"2.24", "3.4.22", "1.3.10", "4.7.0"}, ex_tm, libs_2_24},
    {26, NULL, "aarch64", {"2.26", "3.4.24", "1.3.11", "7.0.0"}, ex_tm, libs_2_24},
    {27, NULL, "aarch64", {"2.27", "3.4.24", "1.3.11", "7.0.0"}, ex_tm, libs_2_24},
    {28, NULL, "aarch64", {"2.28", "3.4.24", "1.3.11", "7.0.0"}, ex_tm, libs_2_24},
    {31, NULL, "aarch64", {"2.31", "3.4.28", "1.3.12", "7.0.0"}, ex_tm, libs_2_24},
    {34, NULL, "aarch64", {"2.34", "3.4.29", "1.3.13", "11.0"}, ex_tm, libs_2_24},
    {35, NULL, "aarch64", {"2.35", "3.4.30", "1.3.13", "11.0"}, ex_tm, libs_2_24},
    {36, NULL, "aarch64", {"2.36", "3.4.30", "1.3.13", "11.0"}, ex_tm_relr, libs_2_24},
    {37, NULL, "aarch64", {"2.37", "3.4.30", "1.3.13", "11.0"}, ex_tm_relr, libs_2_24},
    {38, NULL, "aarch64", {"2.38", "3.4.30", "1.3.13", "11.0"}, ex_tm_relr, libs_2_24},
    {39, NULL, "aarch64", {"2.39", "3.4.33", "1.3.15", "14.0.0"}, ex_tm_relr, libs_2_24},
};

#define NPOLICIES (sizeof policies / sizeof policies[0])

static const char *const ns_names[KILN_NS_COUNT] = {"GLIBC", "GLIBCXX", "CXXABI", "GCC"};

const char *kiln_manylinux_ns_name(int ns) { return ns >= 0 && ns < KILN_NS_COUNT ? ns_names[ns] : "?"; }

const kiln_manylinux_policy *kiln_manylinux_policies(const char *arch, size_t *count) {
    const kiln_manylinux_policy *first = NULL;
    *count = 0;
    for (size_t i = 0; i < NPOLICIES; i++) {
        if (strcmp(policies[i].arch, arch) != 0) continue;
        if (!first) first = &policies[i];
        (*count)++;
    }
    return first;
}

const kiln_manylinux_policy *kiln_manylinux_find(const char *arch, int glibc_minor) {
    for (size_t i = 0; i < NPOLICIES; i++)
        if (policies[i].glibc_minor == glibc_minor && strcmp(policies[i].arch, arch) == 0) return &policies[i];
    return NULL;
}

/* Copies the arch after `prefix` into arch; 0 when it is empty or too long. */
static int take_arch(const char *s, char *arch, size_t arch_len) {
    size_t n = strlen(s);
    if (n == 0 || n >= arch_len) return 0;
    memcpy(arch, s, n + 1);
    return 1;
}

int kiln_manylinux_parse_tag(const char *platform, int *glibc_minor, char *arch, size_t arch_len) {
    static const struct {
        const char *prefix;
        int minor;
    } aliases[] = {{"manylinux1_", 5}, {"manylinux2010_", 12}, {"manylinux2014_", 17}};
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        size_t n = strlen(aliases[i].prefix);
        if (strncmp(platform, aliases[i].prefix, n) == 0) {
            *glibc_minor = aliases[i].minor;
            return take_arch(platform + n, arch, arch_len);
        }
    }
    /* manylinux_<major>_<minor>_<arch> */
    if (strncmp(platform, "manylinux_", 10) != 0) return 0;
    const char *p = platform + 10;
    char *end;
    long major = strtol(p, &end, 10);
    if (end == p || *end != '_' || major != 2) return 0;
    p = end + 1;
    long minor = strtol(p, &end, 10);
    if (end == p || *end != '_' || minor < 0 || minor > 1000) return 0;
    *glibc_minor = (int)minor;
    return take_arch(end + 1, arch, arch_len);
}

int kiln_linux_parse_tag(const char *platform, char *arch, size_t arch_len) {
    if (strncmp(platform, "linux_", 6) != 0) return 0;
    return take_arch(platform + 6, arch, arch_len);
}

/* Next dotted component: numeric value in *num (1) or a name (0); advances *s. */
static int component(const char **s, unsigned long long *num, const char **name, size_t *name_len) {
    const char *p = *s;
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    int numeric = len > 0 && len < 19;
    for (size_t i = 0; i < len; i++)
        if (p[i] < '0' || p[i] > '9') numeric = 0;
    *num = numeric ? strtoull(p, NULL, 10) : 0;
    *name = p;
    *name_len = len;
    *s = dot ? dot + 1 : p + len;
    return numeric;
}

int kiln_version_compare(const char *a, const char *b) {
    while (*a || *b) {
        if (!*a) return -1;
        if (!*b) return 1;
        unsigned long long na, nb;
        const char *sa, *sb;
        size_t la, lb;
        int ia = component(&a, &na, &sa, &la), ib = component(&b, &nb, &sb, &lb);
        if (ia && ib) {
            if (na != nb) return na < nb ? -1 : 1;
        } else if (ia != ib) {
            return ia ? -1 : 1;
        } else {
            size_t m = la < lb ? la : lb;
            int c = strncmp(sa, sb, m);
            if (c) return c;
            if (la != lb) return la < lb ? -1 : 1;
        }
    }
    return 0;
}

int kiln_manylinux_ns_of(const char *version_name, const char **rest) {
    /* Longest prefix first: "GLIBCXX_" before "GLIBC_". */
    static const int order[KILN_NS_COUNT] = {KILN_NS_GLIBCXX, KILN_NS_GLIBC, KILN_NS_CXXABI, KILN_NS_GCC};
    for (int i = 0; i < KILN_NS_COUNT; i++) {
        const char *name = ns_names[order[i]];
        size_t n = strlen(name);
        if (strncmp(version_name, name, n) == 0 && version_name[n] == '_' && version_name[n + 1]) {
            *rest = version_name + n + 1;
            return order[i];
        }
    }
    *rest = NULL;
    return -1;
}

int kiln_manylinux_allows(const kiln_manylinux_policy *p, int ns, const char *rest) {
    if (rest[0] >= '0' && rest[0] <= '9') {
        for (const char *c = rest; *c; c++)
            if (!((*c >= '0' && *c <= '9') || *c == '.')) return 0;
        return kiln_version_compare(rest, p->max[ns]) <= 0;
    }
    char full[128];
    snprintf(full, sizeof full, "%s_%s", ns_names[ns], rest);
    for (size_t i = 0; p->extras[i]; i++)
        if (strcmp(full, p->extras[i]) == 0) return 1;
    return 0;
}

int kiln_manylinux_allows_lib(const kiln_manylinux_policy *p, const char *soname) {
    for (size_t i = 0; p->libs[i]; i++)
        if (strcmp(soname, p->libs[i]) == 0) return 1;
    /* The dynamic loader itself ("ld-linux-x86-64.so.2") is part of glibc. */
    return strncmp(soname, "ld-linux", 8) == 0 || strncmp(soname, "ld64.so", 7) == 0;
}

int kiln_manylinux_arch_machine(const char *arch) {
    if (strcmp(arch, "x86_64") == 0) return EM_X86_64;
    if (strcmp(arch, "i686") == 0) return EM_386;
    if (strcmp(arch, "aarch64") == 0) return EM_AARCH64;
    return -1;
}

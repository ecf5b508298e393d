/* policy.h -- the manylinux policies (PEP 600, with the PEP 513/571/599 aliases) as data:
 * for each manylinux_2_X and architecture, the shared libraries an extension may link
 * against and the newest symbol version it may require from each versioned namespace
 * (GLIBC_, GLIBCXX_, CXXABI_, GCC_). The numbers are those of auditwheel's
 * manylinux-policy.json (pypa/auditwheel), reduced to the maximum per namespace: a wheel
 * satisfies a policy when every version it requires is at most that maximum (numeric
 * comparison, "2.17" < "2.34") or is one of the policy's named extras (TM_1, FLOAT128,
 * ABI_DT_RELR). See policy.c for the table. */
#ifndef KILN_WHEEL_POLICY_H
#define KILN_WHEEL_POLICY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The versioned namespaces a policy limits. */
enum { KILN_NS_GLIBC = 0, KILN_NS_GLIBCXX = 1, KILN_NS_CXXABI = 2, KILN_NS_GCC = 3, KILN_NS_COUNT = 4 };

typedef struct kiln_manylinux_policy {
    int glibc_minor;              /* manylinux_2_<glibc_minor>                            */
    const char *alias;            /* legacy name ("manylinux2014") or NULL                */
    const char *arch;             /* "x86_64", "i686", "aarch64"                          */
    const char *max[KILN_NS_COUNT];  /* newest version per namespace, e.g. "2.17"        */
    const char *const *extras;    /* named versions also allowed ("CXXABI_TM_1"), NULL-ended */
    const char *const *libs;      /* allowed DT_NEEDED sonames, NULL-ended                */
} kiln_manylinux_policy;

/* Namespace prefix without the '_' ("GLIBC"). */
const char *kiln_manylinux_ns_name(int ns);

/* Every policy for `arch`, oldest glibc first (the most compatible first). Sets *count;
 * returns NULL (count 0) for an architecture the table does not cover. */
const kiln_manylinux_policy *kiln_manylinux_policies(const char *arch, size_t *count);

/* Parses a platform tag: "manylinux_2_17_x86_64", or a legacy alias ("manylinux2014_x86_64",
 * "manylinux2010_i686", "manylinux1_x86_64"). Sets *glibc_minor and writes the arch into
 * arch (at least 32 bytes). Returns 1 for a manylinux tag, 0 otherwise. */
int kiln_manylinux_parse_tag(const char *platform, int *glibc_minor, char *arch, size_t arch_len);

/* "linux_x86_64"-style tag: returns 1 and writes the arch. */
int kiln_linux_parse_tag(const char *platform, char *arch, size_t arch_len);

/* The policy for manylinux_2_<glibc_minor> on arch, or NULL when the table has none. */
const kiln_manylinux_policy *kiln_manylinux_find(const char *arch, int glibc_minor);

/* Compares dotted numeric versions ("2.2.5" vs "2.17"): <0, 0, >0. Non-numeric components
 * compare after numeric ones (so an unknown named version is never "older"). */
int kiln_version_compare(const char *a, const char *b);

/* 1 when policy p allows requiring version `rest` of namespace ns: `rest` is what follows
 * "<NS>_" in the version name ("2.34" for GLIBC_2.34, "TM_1" for CXXABI_TM_1). Numeric
 * versions are compared with the policy's maximum; named ones must be in its extras. */
int kiln_manylinux_allows(const kiln_manylinux_policy *p, int ns, const char *rest);

/* The namespace of a version name ("GLIBCXX_3.4.30" -> KILN_NS_GLIBCXX, *rest = "3.4.30"),
 * or -1 for a namespace policies do not limit (a library's own versions). */
int kiln_manylinux_ns_of(const char *version_name, const char **rest);

/* 1 when the soname is allowed by p (the list of the policy, or a dynamic loader). */
int kiln_manylinux_allows_lib(const kiln_manylinux_policy *p, const char *soname);

/* The ELF e_machine value expected for arch (EM_X86_64 for "x86_64"), or -1 if unknown. */
int kiln_manylinux_arch_machine(const char *arch);

#ifdef __cplusplus
}
#endif

#endif

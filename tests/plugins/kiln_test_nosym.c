/* kiln_test_nosym.c -- a shared object that is not a kiln plugin: it exports a function,
 * but no kiln_plugin_descriptor. The loader must refuse it ("missing symbol ..."). */
#include <kiln/plugin.h>

KILN_PLUGIN_EXPORT int kiln_test_nosym_answer(void);
KILN_PLUGIN_EXPORT int kiln_test_nosym_answer(void) {
    return 42;
}

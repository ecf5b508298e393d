// The one main() shared by every Catch2 unit test executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

# embed.cmake -- writes a C source holding the bytes of a file, so the plugin carries the
# Python module it packages without looking for files at run time.
#   cmake -DIN=file -DOUT=file.c -DSYMBOL=name -P embed.cmake
# gives `const unsigned char name[]` (NUL-terminated) and `const size_t name_len`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR len "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
get_filename_component(name "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "/* generated from ${name} by embed.cmake: do not edit */\n"
  "#include <stddef.h>\n"
  "extern const unsigned char ${SYMBOL}[];\n"
  "extern const size_t ${SYMBOL}_len;\n"
  "const unsigned char ${SYMBOL}[] = {\n${body}0x00};\n"
  "const size_t ${SYMBOL}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")

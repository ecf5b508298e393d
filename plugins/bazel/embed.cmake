# embed.cmake -- writes a C source holding the bytes of a template file, so the exporter
# carries kiln.bzl, the README and the wheel test without looking for files at run time.
#   cmake -DIN=file -DOUT=file.c -DSYMBOL=name -P embed.cmake
# gives `const unsigned char name[]`, NUL-terminated.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
get_filename_component(name "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "/* generated from ${name} by plugins/bazel/embed.cmake: do not edit */\n"
  "extern const unsigned char ${SYMBOL}[];\n"
  "const unsigned char ${SYMBOL}[] = {\n${body}0x00};\n")
file(RENAME "${OUT}.tmp" "${OUT}")

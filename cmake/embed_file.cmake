# cmake -DINPUT=FILE -DOUTPUT=FILE.cc -DHEADER=api/x.h -DFUNCTION=Name -P embed_file.cmake
# Writes OUTPUT, a C++ source whose function sw::FUNCTION() answers the bytes of INPUT as
# a std::string_view (declared in HEADER). The build runs it whenever INPUT changes, so a
# checked-in document (docs/openapi.json) is served as it is, with no copy in C++ source.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Lines of 32 bytes (160 characters), for compilers and people who open the file.
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_file.cmake; edit that file, not this one.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace sw {\n\nnamespace {\n\nconstexpr unsigned char kBytes[] = {\n${bytes}\n0x00};\n\n"
  "}  // namespace\n\n"
  "std::string_view ${FUNCTION}() {\n"
  "  return std::string_view(reinterpret_cast<const char*>(kBytes), sizeof(kBytes) - 1);\n"
  "}\n\n}  // namespace sw\n")
# Only a changed source is replaced, so an unchanged document rebuilds nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

# Generates a C++ source that embeds every src/store/migrations/*.sql file.
# Inputs: MIGRATIONS_DIR, OUTPUT.
file(GLOB files RELATIVE "${MIGRATIONS_DIR}" "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "#include \"store/migrations_embedded.h\"\n\nnamespace kontor::store {\n\n")
string(APPEND body "const std::vector<EmbeddedMigration>& EmbeddedMigrations() {\n")
string(APPEND body "  static const std::vector<EmbeddedMigration> kFiles = {\n")
foreach(f ${files})
  file(READ "${MIGRATIONS_DIR}/${f}" sql)
  string(APPEND body "      {\"${f}\", R\"kontorsql(${sql})kontorsql\"},\n")
endforeach()
string(APPEND body "  };\n  return kFiles;\n}\n\n}  // namespace kontor::store\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")

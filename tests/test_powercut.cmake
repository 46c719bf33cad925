# test_powercut runs itself as a child under the power-cut shim and builds
# crash states with torture/crashstate.c.
target_sources(${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/torture/crashstate.c)
target_compile_definitions(${t} PRIVATE
  SFJ_PC_SHIM="$<TARGET_FILE:sfj_powercut_shim>")
add_dependencies(${t} sfj_powercut_shim)
set_tests_properties(${t} PROPERTIES TIMEOUT 600)

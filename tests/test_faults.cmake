# test_faults runs itself under the fault shim (LD_PRELOAD).
target_compile_definitions(${t} PRIVATE
  SFJ_FAULT_SHIM="$<TARGET_FILE:sfj_fault_shim>")
target_link_libraries(${t} PRIVATE ${CMAKE_DL_LIBS})
add_dependencies(${t} sfj_fault_shim)

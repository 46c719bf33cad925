# The progress line of long work on a TTY (cli_progress.h): libc only, so
# that pos-sim, which uses the public API alone, shares it with the tools.
# Included by tools/common and by examples/, whichever comes first.
if(NOT TARGET sfj_progress)
  add_library(sfj_progress STATIC ${CMAKE_CURRENT_LIST_DIR}/cli_progress.c)
  target_include_directories(sfj_progress PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(sfj_progress PRIVATE sfj_warnings sfj_sanitize)
endif()

# The same crash loop with sfj-host on the PostgreSQL store (a server the
# test starts); skipped when PostgreSQL is not installed.
if(SFJ_HAVE_LIBPQ)
  add_test(NAME ${t}_pg COMMAND ${t} --pg)
  set_tests_properties(${t}_pg PROPERTIES TIMEOUT 300
    ENVIRONMENT "SFJ_BIN=${PROJECT_BINARY_DIR}/bin")
endif()

# The libserialport backend runs against fakes: every sp_ call it makes is
# wrapped at link time. Without libserialport there is nothing to test.
if(SFJ_WITH_SERIAL)
  foreach(fn sp_get_port_by_name sp_open sp_close sp_free_port sp_set_config
             sp_flush sp_blocking_write sp_nonblocking_write
             sp_blocking_read_next sp_nonblocking_read sp_get_port_handle)
    target_link_options(${t} PRIVATE -Wl,--wrap=${fn})
  endforeach()
else()
  set_tests_properties(${t} PROPERTIES DISABLED TRUE)
endif()

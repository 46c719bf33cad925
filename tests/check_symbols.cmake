# Fails unless libsfj exports exactly two kinds of dynamic symbols
# (docs/HACKING.md, "The internal surface"):
#   - public names, sfj_ followed by a letter or digit, in version SFJ_1;
#   - internal names of include/sfj/sys/, sfj__..., in version SFJ_PRIVATE
#     (for the tools of this tree only).
# A public name in SFJ_PRIVATE, an internal one in SFJ_1, an unversioned
# or unprefixed export all fail (a bare ^sfj_ would let sfj__ through).
execute_process(COMMAND readelf --dyn-syms -W ${LIB}
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf failed on ${LIB}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(npublic 0)
set(nprivate 0)
set(bad "")
foreach(line ${lines})
  # Defined symbols only: the section index is a number, not UND.
  if(line MATCHES "^ *[0-9]+: [0-9a-f]+ +[0-9]+ [A-Z]+ +[A-Z]+ +[A-Z]+ +([0-9]+|ABS) (.+)$")
    set(sym ${CMAKE_MATCH_2})
    if(sym MATCHES "^SFJ_(1|PRIVATE)$")
      # the version definitions themselves
    elseif(sym MATCHES "^sfj__[a-z0-9_]+@@SFJ_PRIVATE$")
      math(EXPR nprivate "${nprivate} + 1")
    elseif(sym MATCHES "^sfj_[a-z0-9][a-z0-9_]*@@SFJ_1$")
      math(EXPR npublic "${npublic} + 1")
    else()
      list(APPEND bad ${sym})
    endif()
  endif()
endforeach()
if(bad)
  list(JOIN bad " " bad)
  message(FATAL_ERROR "libsfj exports symbols outside SFJ_1 (sfj_) and "
                      "SFJ_PRIVATE (sfj__): ${bad}")
endif()
if(npublic LESS 10 OR nprivate LESS 10)
  message(FATAL_ERROR "libsfj exports only ${npublic} public and "
                      "${nprivate} internal symbols")
endif()
message(STATUS "libsfj exports ${npublic} public sfj_ names (SFJ_1) and "
               "${nprivate} internal sfj__ names (SFJ_PRIVATE)")

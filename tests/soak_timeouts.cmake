# Included by tests/CMakeLists.txt after the tests are registered. The
# soak variants (SFJ_SOAK=1, or SFJ_*_ROUNDS / SFJ_MODEL_STEPS /
# SFJ_FORK_ROUNDS in the environment at configure time; tools/test.sh
# configures on every run) get a TIMEOUT that grows with their rounds
# instead of being cut at the default. The time allowed per round is about
# four times what a round takes on 2 busy cores; a timeout is only ever
# raised, never lowered.

if("$ENV{SFJ_SOAK}" STREQUAL "" OR "$ENV{SFJ_SOAK}" STREQUAL "0")
  set(_sfj_soak 0)
else()
  set(_sfj_soak 1)
endif()

# sfj_soak_timeout(test env soak_rounds ms_per_round floor)
function(sfj_soak_timeout test var soak ms_per_round floor)
  set(n "$ENV{${var}}")
  if(NOT n MATCHES "^[0-9]+$" OR n EQUAL 0)
    if(NOT _sfj_soak)
      return() # the default run keeps its TIMEOUT
    endif()
    set(n ${soak})
  endif()
  math(EXPR t "300 + (${n} * ${ms_per_round}) / 1000")
  if(t GREATER floor)
    set_tests_properties(${test} PROPERTIES TIMEOUT ${t})
  endif()
endfunction()

sfj_soak_timeout(test_crash SFJ_CRASH_ROUNDS 3000 800 300)
sfj_soak_timeout(test_crashloop SFJ_CRASHLOOP_ROUNDS 3000 1000 300)
if(SFJ_HAVE_LIBPQ)
  sfj_soak_timeout(test_crashloop_pg SFJ_CRASHLOOP_ROUNDS 1000 1500 300)
endif()
sfj_soak_timeout(test_powercut SFJ_POWERCUT_ROUNDS 2000 4000 600)
sfj_soak_timeout(test_model SFJ_MODEL_STEPS 10000 100 300)
sfj_soak_timeout(test_fork SFJ_FORK_ROUNDS 3000 200 300)
if(_sfj_soak)
  # Every bit of the journal flipped: hours.
  set_tests_properties(test_corruption PROPERTIES TIMEOUT 21600)
endif()

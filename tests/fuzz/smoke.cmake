# One fuzz target's CTest run: every committed input (corpus/<t>, regressions/<t>) first,
# each of which must pass, then SECONDS of fuzzing from them. libFuzzer exits non-zero on
# a crash, a sanitizer report, a leak or a timeout, and writes the input to WORK.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/new)
set(dirs ${CORPUS})
if(EXISTS ${REGRESSIONS})
  list(APPEND dirs ${REGRESSIONS})
endif()
execute_process(COMMAND ${FUZZER} -runs=0 -timeout=10 ${dirs} RESULT_VARIABLE replay)
if(NOT replay EQUAL 0)
  message(FATAL_ERROR "${FUZZER}: a committed input fails (status ${replay})")
endif()
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=3072
                        -print_final_stats=1 -artifact_prefix=${WORK}/ ${WORK}/new ${dirs}
                RESULT_VARIABLE fuzz)
if(NOT fuzz EQUAL 0)
  message(FATAL_ERROR "${FUZZER}: finding after fuzzing (status ${fuzz}); the input is in ${WORK}")
endif()

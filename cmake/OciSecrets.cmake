# One helper adds a test, one a benchmark, one a fuzz target.

# oci_add_test(NAME SOURCES a.cc b.cc LIBS lib... [LABELS unit|integration])
# Builds a GoogleTest binary and registers each TEST with CTest.
function(oci_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS;PROPERTIES" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${T_LABELS}" ${T_PROPERTIES})
endfunction()

# oci_add_bench(NAME SOURCES ... LIBS ...): a benchmark program in build/bin.
function(oci_add_bench name)
  cmake_parse_arguments(B "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${B_SOURCES})
  target_link_libraries(${name} PRIVATE ${B_LIBS})
  # Under the sanitizers a benchmark would measure the sanitizers, and no test runs one:
  # the sanitized tree leaves them out of `all` (`ninja NAME` still builds one there).
  if(OCI_SECRETS_SANITIZE)
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL TRUE)
  endif()
endfunction()

# oci_add_fuzz(NAME SOURCES ... LIBS ...): a libFuzzer target, only with OCI_SECRETS_FUZZ.
function(oci_add_fuzz name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT OCI_SECRETS_FUZZ)
    return()
  endif()
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()

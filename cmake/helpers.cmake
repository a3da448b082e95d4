# sw_library(NAME SOURCES ... DEPS ...): one static library per layer; DEPS are the
# layers (and packages) below it, so an upward include fails to link.
function(sw_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# sw_test(NAME SOURCES ... DEPS ... [LABELS ...] [FIXTURE fixture]): a GoogleTest binary
# under CTest; every one of its tests requires FIXTURE, a CTest fixture (e.g. `postgres`,
# the server the tests on PostgreSQL share).
function(sw_test name)
  cmake_parse_arguments(ARG "" "FIXTURE" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  set(fixture "")
  if(ARG_FIXTURE)
    set(fixture FIXTURES_REQUIRED ${ARG_FIXTURE})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABELS}" ${fixture})
endfunction()
include(GoogleTest)

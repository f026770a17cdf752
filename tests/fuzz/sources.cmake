# erps_library_sources(ROOT DIR LIB OUT): the source files of the main
# build's `add_library(LIB STATIC ...)` in ROOT/DIR/CMakeLists.txt, as
# absolute paths in OUT. The fuzz build compiles the same files, instrumented,
# without a list of its own to keep in step.
function(erps_library_sources root dir lib out)
  file(READ "${root}/${dir}/CMakeLists.txt" text)
  string(REGEX MATCH "add_library\\(${lib}[ \t\r\n]+STATIC([^)]*)\\)" found "${text}")
  if(NOT found)
    message(FATAL_ERROR "no add_library(${lib} STATIC ...) in ${dir}/CMakeLists.txt")
  endif()
  string(REGEX REPLACE "[ \t\r\n]+" ";" srcs "${CMAKE_MATCH_1}")
  list(FILTER srcs INCLUDE REGEX "\\.c$")
  list(TRANSFORM srcs PREPEND "${root}/${dir}/")
  set(${out} ${srcs} PARENT_SCOPE)
endfunction()

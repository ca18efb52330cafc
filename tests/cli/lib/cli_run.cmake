# Helpers shared by the CLI test scripts (tests/cli/*.cmake, each run by ctest as cli_<name> with
# -DCLI=<quantscope-cli> -DSOURCE=<repo> -DDATA=<shared data> -DWORK=<scratch dir>). Kept in lib/ so
# that the test glob does not turn this file into a test of its own.

foreach(var CLI SOURCE DATA WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
# Caches (weight statistics) go to the scratch folder, not the user's ~/.cache.
set(ENV{QUANTSCOPE_CACHE_DIR} "${WORK}/cache")

# cli_run(<prefix> args...): runs quantscope-cli; sets <prefix>_rc, <prefix>_out and <prefix>_err.
function(cli_run prefix)
  execute_process(COMMAND "${CLI}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 600)
  set(${prefix}_rc "${rc}" PARENT_SCOPE)
  set(${prefix}_out "${out}" PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
endfunction()

# cli_fail(<prefix> <why>): stops the test, showing the command's outputs.
function(cli_fail prefix why)
  message(FATAL_ERROR "${why}\n  exit status: ${${prefix}_rc}\n  stdout:\n${${prefix}_out}\n  stderr:\n${${prefix}_err}")
endfunction()

# cli_expect(<prefix> <exit status> args...): runs and checks the exit status.
function(cli_expect prefix status)
  cli_run(run ${ARGN})
  set(${prefix}_rc "${run_rc}" PARENT_SCOPE)
  set(${prefix}_out "${run_out}" PARENT_SCOPE)
  set(${prefix}_err "${run_err}" PARENT_SCOPE)
  if(NOT "${run_rc}" STREQUAL "${status}")
    string(JOIN " " command ${ARGN})
    cli_fail(run "quantscope-cli ${command}: expected exit status ${status}")
  endif()
endfunction()

# expect_match(<prefix> <stream: out|err> <regex>): the stream of the last cli_expect matches.
function(expect_match prefix stream regex)
  if(NOT "${${prefix}_${stream}}" MATCHES "${regex}")
    cli_fail(${prefix} "std${stream} does not match '${regex}'")
  endif()
endfunction()

# json_get(<var> <json> keys...): a value of a JSON document, failing the test when it is absent.
function(json_get var json)
  string(JSON value ERROR_VARIABLE error GET "${json}" ${ARGN})
  if(error)
    message(FATAL_ERROR "JSON ${ARGN}: ${error}\n${json}")
  endif()
  set(${var} "${value}" PARENT_SCOPE)
endfunction()

# expect_range(<what> <value> <lo> <hi>): lo <= value <= hi (if() compares numbers as doubles).
function(expect_range what value lo hi)
  if(NOT value MATCHES "^-?[0-9.]+([eE][-+]?[0-9]+)?$")
    message(FATAL_ERROR "${what} = '${value}' is not a number")
  endif()
  if(value LESS lo OR value GREATER hi)
    message(FATAL_ERROR "${what} = ${value}, expected within [${lo}, ${hi}]")
  endif()
endfunction()

# expect_near(<what> <value> <want> <ppm>): |value − want| ≤ ppm · 10⁻⁶ · want for plain positive
# decimals (perplexities as --json prints them), in integer millionths since math() has no floats.
function(expect_near what value want ppm)
  foreach(v value want)
    if(NOT "${${v}}" MATCHES "^([0-9]+)(\\.([0-9]*))?$")
      message(FATAL_ERROR "${what}: '${${v}}' is not a plain decimal")
    endif()
    string(SUBSTRING "${CMAKE_MATCH_3}000000" 0 6 fraction)
    math(EXPR ${v}_micro "${CMAKE_MATCH_1} * 1000000 + ${fraction}")
  endforeach()
  math(EXPR diff "${value_micro} - ${want_micro}")
  math(EXPR allowed "${want_micro} * ${ppm} / 1000000")
  if(diff LESS -${allowed} OR diff GREATER ${allowed})
    message(FATAL_ERROR "${what} = ${value}, expected within ${ppm} ppm of ${want}")
  endif()
endfunction()

# data_require(files...): ends the calling script with a message when a data file is absent.
macro(data_require)
  foreach(file ${ARGN})
    if(NOT EXISTS "${file}")
      message(STATUS "SKIPPED: ${file} is absent (shared data not available)")
      return()
    endif()
  endforeach()
endmacro()

# bytes_write(<path> <hex>): writes raw bytes (CMake strings cannot hold NUL) through printf(1).
function(bytes_write path hex)
  string(REGEX REPLACE "(..)" "\\\\x\\1" format "${hex}")
  execute_process(COMMAND printf "${format}" OUTPUT_FILE "${path}" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "printf failed writing ${path}")
  endif()
endfunction()

# u64_hex(<var> <n>): n as 8 little-endian bytes in hex.
function(u64_hex var n)
  set(hex "")
  foreach(i RANGE 7)
    math(EXPR byte "${n} % 256")
    math(EXPR n "${n} / 256")
    math(EXPR high "${byte} / 16")
    math(EXPR low "${byte} % 16")
    string(SUBSTRING "0123456789abcdef" ${high} 1 h)
    string(SUBSTRING "0123456789abcdef" ${low} 1 l)
    string(APPEND hex "${h}${l}")
  endforeach()
  set(${var} "${hex}" PARENT_SCOPE)
endfunction()

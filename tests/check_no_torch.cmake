# Fails when a public core header, a widget or an app source includes a LibTorch header: front ends
# must build without torch (Qt's `slots` macro breaks it, and each include costs 10-20 s).
file(GLOB_RECURSE files ${ROOT}/core/include/*.hpp ${ROOT}/widgets/*.cpp ${ROOT}/widgets/*.hpp
     ${ROOT}/app/*.cpp ${ROOT}/app/*.hpp)
set(bad "")
foreach(f ${files})
  file(STRINGS ${f} lines REGEX "#[ \t]*include[ \t]*[<\"](torch|ATen|c10)/")
  if(lines)
    list(APPEND bad "${f}")
  endif()
endforeach()
list(LENGTH files n)
if(bad)
  message(FATAL_ERROR "LibTorch included by front-end or public files: ${bad}")
endif()
message(STATUS "${n} front-end and public files checked: none includes LibTorch")

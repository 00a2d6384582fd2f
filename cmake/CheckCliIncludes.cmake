# The CLI is a user of the library like any other: its files may include
# <mrnet/...> public headers, system headers and cli/'s own headers, never a
# library-internal header (src/ is not on its include path either). Checked
# at configure time, so a violating file fails the build with its name.
function(mrnet_check_cli_includes dir)
  file(GLOB files CONFIGURE_DEPENDS ${dir}/*.c ${dir}/*.h)
  file(GLOB own RELATIVE ${dir} ${dir}/*.h)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line ${lines})
      if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
        set(h ${CMAKE_MATCH_1})
        list(FIND own ${h} found)
        if(found EQUAL -1)
          message(FATAL_ERROR "${f}: includes \"${h}\": the CLI may use only public headers "
                              "(<mrnet/...>) and cli/'s own; see docs/ARCHITECTURE.md")
        endif()
      elseif(line MATCHES "#[ \t]*include[ \t]*<([^>]+)>")
        set(h ${CMAKE_MATCH_1})
        if(NOT h MATCHES "^mrnet/" AND EXISTS ${PROJECT_SOURCE_DIR}/src/${h})
          message(FATAL_ERROR "${f}: includes <${h}>, a library-internal header; "
                              "see docs/ARCHITECTURE.md")
        endif()
      endif()
    endforeach()
  endforeach()
endfunction()

# certkeeper_library(NAME DEPS dep...): one static library per directory, built from
# every .cc file in it except tests, exported as certkeeper::NAME. Public headers
# live beside the sources and are included as "NAME/header.h".
function(certkeeper_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cc"
                                   "${CMAKE_CURRENT_SOURCE_DIR}/internal/*.cc")
  list(FILTER srcs EXCLUDE REGEX "_test\\.cc$")
  add_library(certkeeper_${name} STATIC ${srcs})
  add_library(certkeeper::${name} ALIAS certkeeper_${name})
  target_include_directories(certkeeper_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(certkeeper_${name} PUBLIC ${ARG_DEPS})
endfunction()

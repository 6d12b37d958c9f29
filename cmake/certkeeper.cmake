# certkeeper_library(NAME DEPS dep...): one static library per directory, built from
# every .cc file in it except tests, exported as certkeeper::NAME. Public headers
# live beside the sources and are included as "NAME/header.h".
#
# PCH: the library's sources share one precompiled header of the standard
# library and nlohmann/json (acme/client.h brings json into most of them, and at
# -O0 with the sanitizers parsing it costs more than compiling most files).
function(certkeeper_library name)
  cmake_parse_arguments(ARG "PCH" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cc"
                                   "${CMAKE_CURRENT_SOURCE_DIR}/internal/*.cc")
  list(FILTER srcs EXCLUDE REGEX "_test\\.cc$")
  add_library(certkeeper_${name} STATIC ${srcs})
  add_library(certkeeper::${name} ALIAS certkeeper_${name})
  target_include_directories(certkeeper_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(certkeeper_${name} PUBLIC ${ARG_DEPS})
  if(ARG_PCH)
    target_link_libraries(certkeeper_${name} PRIVATE nlohmann_json::nlohmann_json)
    target_precompile_headers(certkeeper_${name} PRIVATE ${CERTKEEPER_PCH_HEADERS})
  endif()
endfunction()

# The headers every precompiled header holds.
set(CERTKEEPER_PCH_HEADERS <nlohmann/json.hpp> <string> <vector> <map> <memory> <optional>
    <functional> <chrono> <mutex>)

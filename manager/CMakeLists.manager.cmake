# The manager daemon's own libraries (registry, api, daemon), each in its folder.
foreach(dir registry api daemon)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
    add_subdirectory(${dir})
  endif()
endforeach()

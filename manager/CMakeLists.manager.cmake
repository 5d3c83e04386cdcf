# The manager daemon's own libraries (registry, daemon; api is listed in CMakeLists.txt), each in its folder.
foreach(dir registry live cluster rotation worker node migrate daemon)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
    add_subdirectory(${dir})
  endif()
endforeach()

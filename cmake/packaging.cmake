# The installed package: a CMake package (find_package(pitstore)) with the targets
# pitstore::pitstore (static), pitstore::pitstore_shared, and, where the tools were built,
# pitstore::pitstore_io and pitstore::pitstore_workflow (static); and a pkg-config file per
# library (pitstore.pc, pitstore_io.pc, pitstore_workflow.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(PITSTORE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pitstore)
set(PITSTORE_WITH_LIBRARIES ${PITSTORE_BUILD_TOOLS})
install(EXPORT pitstoreTargets NAMESPACE pitstore:: DESTINATION ${PITSTORE_PACKAGE_DIR})
configure_package_config_file(cmake/pitstoreConfig.cmake.in ${CMAKE_BINARY_DIR}/pitstoreConfig.cmake
                              INSTALL_DESTINATION ${PITSTORE_PACKAGE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/pitstoreConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/pitstoreConfig.cmake ${CMAKE_BINARY_DIR}/pitstoreConfigVersion.cmake
        DESTINATION ${PITSTORE_PACKAGE_DIR})
# Relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix P).
file(RELATIVE_PATH PITSTORE_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
set(pc_files pitstore)
if(PITSTORE_BUILD_TOOLS)
  list(APPEND pc_files pitstore_io pitstore_workflow)
endif()
foreach(pc ${pc_files})
  configure_file(cmake/${pc}.pc.in ${CMAKE_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

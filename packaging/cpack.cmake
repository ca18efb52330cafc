# CPack: a Debian package of the GUI, the CLI, the demo model with its task files and the desktop entry.
set(CPACK_PACKAGE_NAME quantscope)
set(CPACK_PACKAGE_VENDOR "Quantscope")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Workbench for studying LLM quantization layer by layer")
set(CPACK_PACKAGE_CONTACT "quantscope developers")
set(CPACK_GENERATOR TGZ DEB)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(GNUInstallDirs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/models DESTINATION ${CMAKE_INSTALL_DATADIR}/quantscope)
# Beside models/, where the evaluation panel looks for the demo model's tasks.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/tasks DESTINATION ${CMAKE_INSTALL_DATADIR}/quantscope
        FILES_MATCHING PATTERN "*.jsonl")
if(QS_GUI)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/quantscope.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
endif()
include(CPack)

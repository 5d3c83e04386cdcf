# The OCI hook: a library per concern (oci/ config/ mount/ stages/) in one static library,
# and a thin main. Included by hook/CMakeLists.txt.
add_library(oci_secrets_hook STATIC
  config/hook_config.cc
  mount/safe_path.cc
  mount/tmpfs_builder.cc
  oci/id_mapping.cc
  oci/oci_state.cc
  stages/hook_log.cc
  stages/stages.cc
)
target_include_directories(oci_secrets_hook PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(oci_secrets_hook PUBLIC oci_secrets_shared)

# The OCI hook: a library per concern (oci/ config/ mount/ stages/) in one static library,
# and a thin main. Included by hook/CMakeLists.txt.
add_library(oci_secrets_hook STATIC
  config/hook_config.cc
  mount/safe_path.cc
  mount/tmpfs_builder.cc
  oci/id_mapping.cc
  oci/oci_state.cc
  stages/api_lease_client.cc
  stages/hook_log.cc
  stages/runtime_relay.cc
  stages/stages.cc
)
target_include_directories(oci_secrets_hook PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(oci_secrets_hook PUBLIC oci_secrets_shared)

# The hook runs at every container start: link it static-ish (libstdc++, libgcc and
# libcrypto's few used objects inside) so starting it costs about what /bin/true costs.
add_executable(oci-secrets-hook main.cc)
find_library(OCI_LIBCRYPTO_STATIC NAMES libcrypto.a)
if(OCI_LIBCRYPTO_STATIC AND NOT OCI_SECRETS_SANITIZE AND NOT OCI_SECRETS_FUZZ)
  target_link_libraries(oci-secrets-hook PRIVATE
    oci_secrets_hook oci_secrets_shared ${OCI_LIBCRYPTO_STATIC})
  target_link_options(oci-secrets-hook PRIVATE
    -static-libstdc++ -static-libgcc -Wl,--as-needed -Wl,--gc-sections)
else()
  target_link_libraries(oci-secrets-hook PRIVATE oci_secrets_hook)
endif()

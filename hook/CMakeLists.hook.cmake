# The OCI hook: a library per concern (oci/ config/ mount/ stages/) in one static library,
# and a thin main. Included by hook/CMakeLists.txt.
add_library(oci_secrets_hook STATIC
  config/hook_config.cc
  mount/safe_path.cc
  mount/tmpfs_builder.cc
  oci/id_mapping.cc
  oci/oci_state.cc
  sandbox/hook_filter.cc
  stages/api_lease_client.cc
  stages/grant_files.cc
  stages/hook_args.cc
  stages/hook_log.cc
  stages/refresh.cc
  stages/runtime_relay.cc
  stages/stages.cc
)
target_include_directories(oci_secrets_hook PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(oci_secrets_hook PUBLIC oci_secrets_shared)

# The hook's seccomp program, compiled once by the build (hook/sandbox/hook_filter.h).
# A cross build cannot run the generator, and in a sanitizer build the sanitizer runtime's
# unconditional kill/tgkill leave no pid in the program: those hooks compile the filter at
# start instead.
if(NOT CMAKE_CROSSCOMPILING AND NOT OCI_SECRETS_SANITIZE AND NOT OCI_SECRETS_FUZZ)
  add_executable(hook_filter_gen sandbox/hook_filter_gen.cc)
  target_link_libraries(hook_filter_gen PRIVATE oci_secrets_shared)
  set_target_properties(hook_filter_gen PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set(OCI_HOOK_FILTER_HEADER
    ${CMAKE_CURRENT_BINARY_DIR}/generated/hook/sandbox/hook_filter_bpf.h)
  add_custom_command(
    OUTPUT ${OCI_HOOK_FILTER_HEADER}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/generated/hook/sandbox
    COMMAND hook_filter_gen ${OCI_HOOK_FILTER_HEADER}
    DEPENDS hook_filter_gen
    COMMENT "Compiling the hook's seccomp filter")
  target_sources(oci_secrets_hook PRIVATE ${OCI_HOOK_FILTER_HEADER})
  target_include_directories(oci_secrets_hook PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
  set_source_files_properties(sandbox/hook_filter.cc PROPERTIES
    COMPILE_DEFINITIONS OCI_SECRETS_HOOK_FILTER_PRECOMPILED=1
    OBJECT_DEPENDS ${OCI_HOOK_FILTER_HEADER})
endif()

# The hook runs at every container start: link it fully static (static-pie: libc,
# libstdc++ and libseccomp inside, no libcrypto) so that starting it maps no shared object
# and resolves no symbol; it then starts faster than a dynamic /bin/true. It makes no NSS
# lookup (no user or host names), the one thing a static glibc would do differently.
add_executable(oci-secrets-hook main.cc)
target_link_libraries(oci-secrets-hook PRIVATE oci_secrets_hook)
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_LINK_OPTIONS -static-pie)
check_cxx_source_compiles("int main() { return 0; }" OCI_HAVE_STATIC_PIE)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(OCI_HAVE_STATIC_PIE AND OCI_LIBSECCOMP_STATIC AND NOT OCI_SECRETS_SANITIZE
   AND NOT OCI_SECRETS_FUZZ)
  set_target_properties(oci-secrets-hook PROPERTIES OCI_SECRETS_FULLY_STATIC ON)
  target_link_options(oci-secrets-hook PRIVATE -static-pie -Wl,--gc-sections)
elseif(NOT OCI_SECRETS_SANITIZE AND NOT OCI_SECRETS_FUZZ)
  target_link_options(oci-secrets-hook PRIVATE
    -static-libstdc++ -static-libgcc -Wl,--as-needed -Wl,--gc-sections)
endif()

# Unit tests of the hook (no containers needed; the mount ones need root).
oci_add_test(hook_test
  SOURCES
    hook_args_test.cc
    hook_config_test.cc
    hook_filter_test.cc
    id_mapping_test.cc
    oci_state_test.cc
    runtime_relay_test.cc
    safe_path_test.cc
    stages_test.cc
    windows_path_test.cc
  LIBS oci_secrets_hook)

# The built hook's command line as a runtime or a person meets it (exit codes, streams).
oci_add_test(hook_binary_test
  SOURCES hook_binary_test.cc
  LIBS oci_secrets_itest
  LABELS integration)
add_dependencies(hook_binary_test oci-secrets-hook)

# `oci-secrets-hook refresh`, the built binary under its filter, against a stand-in
# container (a child in its own mount namespace, chrooted, our tmpfs at /run/secrets).
oci_add_test(hook_refresh_test
  SOURCES refresh_test.cc
  LIBS oci_secrets_hook oci_secrets_itest
  LABELS integration)
add_dependencies(hook_refresh_test oci-secrets-hook)

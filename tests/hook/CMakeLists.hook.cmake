# Unit tests of the hook (no containers needed; the mount ones need root).
oci_add_test(hook_test
  SOURCES
    hook_config_test.cc
    id_mapping_test.cc
    oci_state_test.cc
    runtime_relay_test.cc
    safe_path_test.cc
    stages_test.cc
    windows_path_test.cc
  LIBS oci_secrets_hook)

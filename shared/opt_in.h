// How a container opts in to a service's secrets, decided once for the hook and the shim:
// the annotation kServiceAnnotation, or kServiceEnv=NAME in the container's environment
// (config.json process.env), for engines that cannot pass annotations (Docker before 24,
// Compose). The variable names a service, never a secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace ocisecrets {

// Where an opt-in came from, as messages name it.
inline constexpr std::string_view kAnnotationSource = "annotation org.oci-secrets.service";
inline constexpr std::string_view kEnvSource = "OCI_SECRETS_SERVICE in the container's environment";

struct OptIn {
  std::string service;
  std::string_view source;  // kAnnotationSource or kEnvSource
};

// The value of kServiceEnv among `env` ("KEY=VALUE" strings, as process.env holds them).
// nullopt when absent. Several entries that disagree are InvalidArgument (which one the
// process sees depends on its libc); a value that is not a valid service name
// (shared/validation.h) is InvalidArgument naming the variable.
Result<std::optional<std::string>> ServiceFromEnv(const std::vector<std::string>& env);

// The one service a container opted in to, from its annotation and its environment
// variable (either may be absent). Both present and different: InvalidArgument saying
// they "name different services". Neither: nullopt. An empty annotation is returned as
// it is (the caller refuses it, naming the source).
Result<std::optional<OptIn>> ChooseOptIn(const std::optional<std::string>& annotation,
                                         const std::optional<std::string>& env_service);

}  // namespace ocisecrets

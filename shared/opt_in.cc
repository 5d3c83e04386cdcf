#include "shared/opt_in.h"

#include "shared/names.h"
#include "shared/validation.h"

namespace ocisecrets {

Result<std::optional<std::string>> ServiceFromEnv(const std::vector<std::string>& env) {
  std::optional<std::string> found;
  for (const std::string& entry : env) {
    if (entry.size() <= kServiceEnv.size() || entry[kServiceEnv.size()] != '=' ||
        std::string_view(entry).substr(0, kServiceEnv.size()) != kServiceEnv) {
      continue;
    }
    std::string value = entry.substr(kServiceEnv.size() + 1);
    if (found && *found != value) {
      return Status::InvalidArgument(std::string(kServiceEnv) +
                                     " is set twice in the container's environment, to "
                                     "different services");
    }
    found = std::move(value);
  }
  if (found) {
    Status valid = ValidateServiceName(*found);
    if (!valid.ok()) return valid.WithContext(std::string(kEnvSource));
  }
  return found;
}

Result<std::optional<OptIn>> ChooseOptIn(const std::optional<std::string>& annotation,
                                         const std::optional<std::string>& env_service) {
  if (annotation && env_service && *annotation != *env_service) {
    return Status::InvalidArgument(std::string(kAnnotationSource) + "=" + *annotation + " and " +
                                   std::string(kServiceEnv) + "=" + *env_service +
                                   " in the container's environment name different services");
  }
  if (annotation) return std::optional<OptIn>(OptIn{*annotation, kAnnotationSource});
  if (env_service) return std::optional<OptIn>(OptIn{*env_service, kEnvSource});
  return std::optional<OptIn>();
}

}  // namespace ocisecrets

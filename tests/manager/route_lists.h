// Lists of the router's routes, for the tests that check a refusal on each of them.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ocisecrets::testing {

using RouteList = std::vector<std::pair<std::string, std::string>>;  // method, target

// The metrics and every secret and service route: a manager's own.
inline RouteList ManagerDataRoutes() {
  return {
      {"GET", "/metrics"},
      {"POST", "/v1/secrets"},
      {"GET", "/v1/secrets"},
      {"GET", "/v1/secrets/pw"},
      {"DELETE", "/v1/secrets/pw"},
      {"POST", "/v1/secrets/pw/update?version=1"},
      {"POST", "/v1/services"},
      {"GET", "/v1/services"},
      {"GET", "/v1/services/redis"},
      {"DELETE", "/v1/services/redis"},
      {"POST", "/v1/services/redis/update?version=1"},
      {"POST", "/v1/secrets/pw/rotate"},
      {"POST", "/v1/secrets/pw/rollback"},
      {"POST", "/v1/secrets/pw/revoke"},
      {"GET", "/v1/secrets/pw/holders"},
      {"GET", "/v1/services/redis/holders"},
  };
}

}  // namespace ocisecrets::testing

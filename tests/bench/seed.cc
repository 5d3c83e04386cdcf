#include "tests/bench/seed.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "shared/models.h"
#include "tests/bench/bench_runner.h"

namespace ocisecrets::bench {

using nlohmann::json;

std::string SecretCreateBody(const std::string& name, std::size_t size) {
  std::string payload(size, 'x');
  for (std::size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<char>('a' + (i * 7 + name.size()) % 26);
  }
  json body = {{"Name", name},
               {"Labels", json::object()},
               {"Data", Base64Encode(reinterpret_cast<const std::uint8_t*>(payload.data()), size)}};
  return body.dump();
}

std::string ServiceCreateBody(const std::string& name, const std::vector<std::string>& secrets) {
  json refs = json::array();
  for (const auto& s : secrets) {
    refs.push_back({{"SecretName", s},
                    {"File", {{"Name", s}, {"UID", "0"}, {"GID", "0"}, {"Mode", 0444}}}});
  }
  json body = {{"Name", name}, {"SecretsDir", ""}, {"Labels", json::object()}, {"Secrets", refs}};
  return body.dump();
}

Status CreateSecret(UnixHttpConnection& conn, const std::string& name, std::size_t size) {
  ASSIGN_OR_RETURN(HttpReply r, conn.Request("POST", "/v1/secrets", SecretCreateBody(name, size)),
                   "create secret " + name);
  if (r.status != 201) {
    return Status::IOError("create secret " + name + ": HTTP " + std::to_string(r.status) + " " + r.body);
  }
  return Status::Ok();
}

Status CreateService(UnixHttpConnection& conn, const std::string& name,
                     const std::vector<std::string>& secrets) {
  ASSIGN_OR_RETURN(HttpReply r, conn.Request("POST", "/v1/services", ServiceCreateBody(name, secrets)),
                   "create service " + name);
  if (r.status != 201) {
    return Status::IOError("create service " + name + ": HTTP " + std::to_string(r.status) + " " + r.body);
  }
  return Status::Ok();
}

Result<std::unique_ptr<ManagerProcess>> StartManager(const std::string& dir,
                                                     const std::vector<std::string>& extra_args) {
  std::string bin = BinDir() + "/oci-secretsd";
  if (!IsExecutable(bin)) return Status::NotFound("oci-secretsd not built yet");
  ::mkdir((dir + "/state").c_str(), 0700);
  return ManagerProcess::Start(bin, dir + "/state", dir + "/m.sock", dir + "/manager.log", extra_args);
}

Result<std::unique_ptr<ManagerProcess>> StartSeededManager(const std::string& dir) {
  ASSIGN_OR_RETURN(auto manager, StartManager(dir), "manager");
  ASSIGN_OR_RETURN(auto conn, UnixHttpConnection::Connect(manager->socket()), "manager");
  RETURN_IF_ERROR(CreateSecret(*conn, "bench-one-0", 32), "seed");
  RETURN_IF_ERROR(CreateService(*conn, "bench-one", {"bench-one-0"}), "seed");
  std::vector<std::string> ten;
  for (int i = 0; i < 10; ++i) {
    ten.push_back("bench-ten-" + std::to_string(i));
    RETURN_IF_ERROR(CreateSecret(*conn, ten.back(), 4096), "seed");
  }
  RETURN_IF_ERROR(CreateService(*conn, "bench-ten", ten), "seed");
  return manager;
}

}  // namespace ocisecrets::bench

// Fuzzes the manager's API through the real Router (manager/api/router.h), in process:
// the routing, query parsing, JSON bodies, validation and the registry behind them, on an
// in-memory store. Each input is a short session of requests, one per block:
//   [!|@|%]METHOD TARGET\n BODY   blocks separated by "\n===\n"; the caller is a local
//   admin, or "!" a local peer without a role, "@" a node (certificate, node ID "nodea"),
//   "%" a manager (certificate).
// Every run starts from a store holding one secret (a known payload marker) used by one
// service. Invariants: a status in 200..599; errors are JSON {"message", "code"} (on a
// Docker path, Docker's {"message"}); a peer without a role only ever gets an error; a
// node succeeds only on the health and lease routes; the payload marker appears in no
// answer except a lease's (or an error quoting the request's own target).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "manager/api/docker/docker_shapes.h"
#include "manager/api/router.h"
#include "shared/models.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/manager/memory_kv_store.h"

namespace ocisecrets {
namespace {

constexpr std::string_view kMarker = "OCS-MARKER-fuzz-router-payload";

Identity LocalAdmin() {
  Identity id;
  id.role = Role::kAdmin;
  id.node_id = "local";
  id.uid = 0;
  id.gid = 0;
  id.pid = 1;
  return id;
}

Identity CallerOf(char prefix) {
  Identity id = LocalAdmin();
  if (prefix == '!') {
    id.role.reset();
    id.node_id.clear();
    id.uid = 1000;
    id.gid = 1000;
    id.pid = 2;
  } else if (prefix == '@' || prefix == '%') {
    id = Identity{};
    id.kind = Identity::Kind::kCertificate;
    id.role = prefix == '@' ? Role::kNode : Role::kManager;
    id.node_id = prefix == '@' ? "nodea" : "mgr1";
  }
  return id;
}

struct World {
  MemoryKvStore store;
  FakeSealer sealer;
  int ids = 0;
  Registry registry{&store, &sealer, Options()};
  Router router{&registry, nullptr, RouterOptions{"oci-secrets-admin", "0.1.0"}};
  std::string marker_b64;

  RegistryOptions Options() {
    RegistryOptions o;
    o.new_id = [this] {
      std::string n = std::to_string(++ids);
      return std::string(25 - n.size(), 'k') + n;
    };
    return o;
  }

  World() {
    marker_b64 = Base64Encode(reinterpret_cast<const std::uint8_t*>(kMarker.data()), kMarker.size());
    Identity admin = LocalAdmin();
    Response r = router.Handle({"POST", "/v1/secrets",
                                R"({"Name":"seed","Labels":{"env":"prod"},"Data":")" + marker_b64 + R"("})"},
                               admin);
    FUZZ_CHECK(r.status == 201, "seed secret created");
    r = router.Handle({"POST", "/v1/services",
                       R"({"Name":"svc","Secrets":[{"SecretName":"seed","File":{"Name":"pw","UID":"0","GID":"0","Mode":292}}]})"},
                      admin);
    FUZZ_CHECK(r.status == 201, "seed service created");
  }
};

void CheckResponse(const World& w, const Request& req, const Identity& peer, const Response& r) {
  FUZZ_CHECK(r.status >= 200 && r.status <= 599, "status in range");
  // A peer without a role gets no answer but an error: 403 for every route; a request the
  // router cannot even route (e.g. a target without a leading '/') may be 400/404 first.
  if (!peer.role) FUZZ_CHECK(r.status >= 400, "a peer without a role never succeeds");
  if (peer.role == Role::kNode && r.status < 400) {
    std::string_view path(req.target);
    path = path.substr(0, path.find('?'));
    bool node_route = (req.method == "GET" && path == "/v1/health") ||
                      (req.method == "POST" && path == "/v1/leases") ||
                      (req.method == "DELETE" && path.rfind("/v1/leases/", 0) == 0);
    FUZZ_CHECK(node_route, "a node succeeds only on the health and lease routes");
  }
  if (r.status >= 400) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    FUZZ_CHECK(j.is_object() && j.contains("message") && j["message"].is_string(),
               "an error body is {\"message\": string}");
    std::string m = j["message"].get<std::string>();
    FUZZ_CHECK(m.find('\n') == std::string::npos, "an error message is one line");
    std::string_view path(req.target);
    path = path.substr(0, path.find('?'));
    if (peer.transport == Identity::Transport::kUnix && docker::DockerPath(path)) {
      FUZZ_CHECK(!j.contains("code"), "an error on a Docker path has Docker's body");
    } else {
      FUZZ_CHECK(j.contains("code") && j["code"].is_string() &&
                     StatusCodeFromName(j["code"].get<std::string>()).value_or(StatusCode::kOk) !=
                         StatusCode::kOk,
                 "an error body names its code");
    }
  }
  bool lease = req.method == "POST" && req.target.rfind("/v1/leases", 0) == 0 && r.status == 200;
  // An error may quote the caller's own URL ("no route for ..."); a marker the caller put
  // there is an echo, not a leak. A body never excuses it: a refused create must not quote
  // the Data it was given.
  bool echoed = req.target.find(kMarker) != std::string::npos ||
                req.target.find(w.marker_b64) != std::string::npos;
  if (lease) {
    FUZZ_CHECK(r.sensitive, "a lease answer is marked sensitive (wiped after sending)");
  } else if (!echoed) {
    FUZZ_CHECK(r.body.find(kMarker) == std::string::npos, "no payload outside a lease");
    FUZZ_CHECK(r.body.find(w.marker_b64) == std::string::npos, "no base64 payload outside a lease");
  }
}

}  // namespace
}  // namespace ocisecrets

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  if (size > 256 * 1024) return 0;
  World w;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  int requests = 0;
  while (!in.empty() && requests++ < 16) {
    std::size_t end = in.find("\n===\n");
    std::string_view block = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view() : in.substr(end + 5);
    Identity peer = LocalAdmin();
    if (!block.empty() && (block[0] == '!' || block[0] == '@' || block[0] == '%')) {
      peer = CallerOf(block[0]);
      block.remove_prefix(1);
    }
    std::size_t nl = block.find('\n');
    std::string_view line = block.substr(0, nl);
    std::string body(nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1));
    std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    Request req{std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)), body};
    Response r = w.router.Handle(req, peer);
    CheckResponse(w, req, peer, r);
    WipeString(r.body);
  }
  return 0;
}

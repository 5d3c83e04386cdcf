// The `oci-secrets` command line: CLI11 subcommands over ApiClient. main() is RunCli.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "shared/api_client.h"
#include "shared/tls_policy.h"
#include "shared/status.h"

namespace ocisecrets {

// Global flags every command sees.
struct CliContext {
  std::string host;  // --host, else $OCI_SECRETS_HOST, else the standard socket
  std::chrono::milliseconds timeout{30000};
  // For an https:// host: --tlscacert, --tlscert, --tlskey; each empty one is taken from
  // $OCI_SECRETS_CERT_PATH (ca.pem, cert.pem, key.pem), as Docker's DOCKER_CERT_PATH.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

// The certificate files of an https:// host: ctx's flags, each missing one from
// $OCI_SECRETS_CERT_PATH; InvalidArgument naming the flags when one is still missing,
// the file's error when one cannot be read (the key's bytes never reach a message).
Result<TlsClientOptions> RemoteTlsOptions(const CliContext& ctx);

// A client for ctx.host; InvalidArgument for a bad --host. Connecting happens on the
// first call.
Result<ApiClient> Connect(const CliContext& ctx);

// Removes each name with remove(name), printing the name on success. Like Docker it goes
// on past a failure (printing all but the last error) and returns the last one; a
// failure that would fail every other name too (manager unreachable, slow, or refusing
// the caller) is returned at once.
Status RemoveEach(const std::vector<std::string>& names,
                  const std::function<Status(const std::string&)>& remove);

// Like `docker secret inspect`: inspects each name, prints print(found) for what was
// found, then one error line "No such KIND: NAME" per name that was not, and returns the
// last as NotFound. An error other than NotFound (manager unreachable, refusing) is
// returned at once, before anything is printed.
template <typename T>
Status InspectEach(const std::vector<std::string>& names, std::string_view kind,
                   const std::function<Result<T>(const std::string&)>& inspect,
                   const std::function<std::string(const std::vector<T>&)>& print) {
  std::vector<T> found;
  std::vector<std::string> errors;
  for (const auto& n : names) {
    Result<T> one = inspect(n);
    if (one.ok()) {
      found.push_back(std::move(one).value());
    } else if (one.status().code() == StatusCode::kNotFound) {
      errors.push_back("No such " + std::string(kind) + ": " + n);
    } else {
      return one.status();
    }
  }
  std::cout << print(found);
  if (errors.empty()) return Status::Ok();
  for (std::size_t i = 0; i + 1 < errors.size(); ++i) std::cerr << "Error: " << errors[i] << "\n";
  return Status::NotFound(errors.back());
}

// Runs a command's body. On error prints one line "Error: <message>" to stderr and
// throws CLI::RuntimeError(1), which RunCli turns into exit status 1. Every command
// callback (also the install commands) goes through this.
void RunOrFail(const std::function<Status()>& body);

// The whole program: parses argv, runs the command. Returns the exit status: 0 success,
// 1 the command failed, 2 usage error (unknown flag, missing argument, bad choice).
int RunCli(int argc, char** argv);

}  // namespace ocisecrets

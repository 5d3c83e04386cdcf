#include "manager/cli/cli.h"

#include <cstdlib>
#include <iostream>

#include "manager/cli/commands.h"
#include "manager/cli/install_commands.h"
#include "shared/file_util.h"
#include "shared/tls_stream.h"

#ifndef OCI_SECRETS_VERSION
#define OCI_SECRETS_VERSION "0.0.0"
#endif

namespace ocisecrets {
namespace {

// "oci-secrets secret create": the deepest subcommand the user named, for usage hints.
std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* at = &app;
  for (;;) {
    auto subs = at->get_subcommands();
    if (subs.empty()) break;
    at = subs.front();
    path += " " + at->get_name();
  }
  return path;
}

// One line per message, whatever CLI11 put in it.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

Result<TlsClientOptions> RemoteTlsOptions(const CliContext& ctx) {
  const char* env = std::getenv("OCI_SECRETS_CERT_PATH");
  const std::string cert_path = env != nullptr ? env : "";
  auto pick = [&](const std::string& flag, const char* file) {
    if (!flag.empty() || cert_path.empty()) return flag;
    return cert_path + "/" + file;
  };
  const std::string ca = pick(ctx.tls_ca, "ca.pem");
  const std::string cert = pick(ctx.tls_cert, "cert.pem");
  const std::string key = pick(ctx.tls_key, "key.pem");
  if (ca.empty() || cert.empty() || key.empty()) {
    return Status::InvalidArgument(
        ctx.host + " needs the cluster's CA and an admin certificate: --tlscacert, --tlscert "
        "and --tlskey, or $OCI_SECRETS_CERT_PATH holding ca.pem, cert.pem and key.pem "
        "(make them on a manager with `oci-secrets cluster admin-cert --out DIR`)");
  }
  constexpr std::size_t kMaxPem = 64 * 1024;
  TlsClientOptions tls;
  ASSIGN_OR_RETURN(tls.ca_pem, ReadFileBounded(ca, kMaxPem), "--tlscacert " + ca);
  ASSIGN_OR_RETURN(tls.cert_pem, ReadFileBounded(cert, kMaxPem), "--tlscert " + cert);
  ASSIGN_OR_RETURN(std::string key_pem, ReadFileBounded(key, kMaxPem), "--tlskey " + key);
  tls.key_pem.assign(key_pem.begin(), key_pem.end());
  WipeString(key_pem);
  tls.require_role = "manager";
  return tls;
}

Result<ApiClient> Connect(const CliContext& ctx) {
  if (ctx.host.starts_with("https://")) {
    ASSIGN_OR_RETURN(TlsClientOptions tls, RemoteTlsOptions(ctx), "");
    ASSIGN_OR_RETURN(auto transport, MakeTransport(ctx.host, &tls), "--host");
    return ApiClient(std::move(transport), ctx.timeout);
  }
  ASSIGN_OR_RETURN(auto transport, MakeTransport(ctx.host), "--host");
  return ApiClient(std::move(transport), ctx.timeout);
}

Status RemoveEach(const std::vector<std::string>& names,
                  const std::function<Status(const std::string&)>& remove) {
  Status last;
  for (const auto& n : names) {
    Status s = remove(n);
    if (s.ok()) {
      std::cout << n << "\n";
      continue;
    }
    if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded ||
        s.code() == StatusCode::kPermissionDenied) {
      return s;
    }
    if (!last.ok()) std::cerr << "Error: " << last.message() << "\n";
    last = s;
  }
  return last;
}

CLI::App* ClusterCommand(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == "cluster") return sub;
  }
  CLI::App* cluster = app.add_subcommand("cluster", "Make, join and manage a cluster of machines (managers and nodes)");
  cluster->require_subcommand(1);
  return cluster;
}

void RunOrFail(const std::function<Status()>& body) {
  Status s = body();
  if (s.ok()) return;
  std::cout.flush();
  std::cerr << "Error: " << OneLine(s.message()) << std::endl;
  throw CLI::RuntimeError(1);
}

int RunCli(int argc, char** argv) {
  CLI::App app(
      "Docker-Swarm-style secrets for any OCI runtime: create secrets, grant them to "
      "services, and containers started with the annotation org.oci-secrets.service=NAME "
      "find them in /run/secrets.",
      "oci-secrets");
  app.fallthrough();  // --host works before or after the subcommand
  app.require_subcommand(1);
  app.set_version_flag("--version", "oci-secrets " OCI_SECRETS_VERSION "\n");
  app.get_formatter()->column_width(34);
  CliContext ctx;
  ctx.host = DefaultHost();
  app.add_option("-H,--host", ctx.host,
                 "The manager: unix:///PATH (default unix:///run/oci-secrets/manager.sock, "
                 "or $OCI_SECRETS_HOST), or https://MANAGER:7443 with an admin certificate")
      ->type_name("URL");
  app.add_option("--tlscacert", ctx.tls_ca,
                 "https: the cluster's CA (default $OCI_SECRETS_CERT_PATH/ca.pem)")
      ->type_name("FILE");
  app.add_option("--tlscert", ctx.tls_cert,
                 "https: the admin certificate (default $OCI_SECRETS_CERT_PATH/cert.pem)")
      ->type_name("FILE");
  app.add_option("--tlskey", ctx.tls_key,
                 "https: its private key (default $OCI_SECRETS_CERT_PATH/key.pem)")
      ->type_name("FILE");
  app.footer(
      "Examples:\n"
      "  echo -n 's3cret' | oci-secrets secret create redis_password -\n"
      "  oci-secrets service create --name redis --secret redis_password\n"
      "  podman run --annotation org.oci-secrets.service=redis IMAGE cat "
      "/run/secrets/redis_password\n"
      "\n"
      "Exit status: 0 success, 1 the command failed, 2 usage error.\n"
      "Run 'oci-secrets COMMAND --help' for more on a command.");
  RegisterSecretCommands(app, ctx);
  RegisterServiceCommands(app, ctx);
  RegisterClusterCommands(app, ctx);
  RegisterClusterJoinCommands(app, ctx);
  RegisterClusterLockCommands(app, ctx);
  RegisterNodeCommands(app, ctx);
  RegisterComposeCommands(app, ctx);
  RegisterInstallCommands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // RunOrFail already printed the error
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::string path = CommandPath(app);
    std::cerr << "Error: " << OneLine(e.what()) << "\n"
              << "See '" << path << " --help'." << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "Error: internal: " << OneLine(e.what()) << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace ocisecrets

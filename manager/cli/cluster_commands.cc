// cluster init | join-token | inspect | update | rotate-key | admin-cert (join and leave: the worker's)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "manager/cli/commands.h"
#include "shared/cluster_client.h"
#include "shared/pki.h"
#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

struct ClusterOptions {
  std::string listen_addr;
  std::string cert_expiry;
  bool autolock = false;           // init --autolock
  std::string autolock_setting;    // update --autolock=true|false; empty: unchanged
  std::string role;
  bool rotate = false;
  bool quiet = false;
  bool status = false;
  std::string out_dir;
};

// Swarm's words for the join command of a role.
std::string JoinInstructions(const JoinTokenInfo& t) {
  return std::string("To add a ") + (t.role == "manager" ? "manager" : "worker") +
         " to this cluster, run the following command:\n\n    " + t.command + "\n";
}

Status CheckDuration(const std::string& text, const char* flag) {
  if (text.empty()) return Status::Ok();
  return ParseDuration(text).status().WithContext(flag);
}

// The unlock key of an init or update answer, once, with the advice; wiped after.
void PrintUnlockKey(ClusterInfo& info) {
  if (info.unlock_key.empty()) return;
  std::string text = UnlockKeyInstructions(info.unlock_key);
  std::cout << text << "\n";
  WipeString(text);
  WipeString(info.unlock_key);
}

Status InitClusterCommand(const CliContext& ctx, const ClusterOptions& o) {
  RETURN_IF_ERROR(CheckDuration(o.cert_expiry, "--cert-expiry"), "");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ClusterInitRequest request{o.listen_addr, o.cert_expiry, std::nullopt};
  if (o.autolock) request.autolock = true;
  ASSIGN_OR_RETURN(ClusterInfo info, InitCluster(client, request), "");
  std::cout << "Cluster initialized: " << info.cluster_id << "; this node (" << info.node_id
            << ") is its manager.\n\n";
  PrintUnlockKey(info);
  ASSIGN_OR_RETURN(JoinTokenInfo token, GetJoinToken(client, "node", false), "join token");
  std::cout << JoinInstructions(token)
            << "\nTo add a manager to this cluster, run 'oci-secrets cluster join-token "
               "manager' and follow the instructions.\n";
  WipeString(token.token);
  WipeString(token.command);
  return Status::Ok();
}

Status JoinTokenCommand(const CliContext& ctx, const ClusterOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(JoinTokenInfo token, GetJoinToken(client, o.role, o.rotate), "");
  if (o.quiet) {
    std::cout << token.token << "\n";
  } else {
    if (o.rotate) {
      std::cout << "Successfully rotated " << (o.role == "manager" ? "manager" : "worker")
                << " join token.\n\n";
    }
    std::cout << JoinInstructions(token);
  }
  WipeString(token.token);
  WipeString(token.command);
  return Status::Ok();
}

Status InspectClusterCommand(const CliContext& ctx) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(ClusterInfo info, InspectCluster(client), "");
  nlohmann::json array = nlohmann::json::array({nlohmann::json::parse(ToJson(info))});
  std::cout << array.dump(4) << "\n";
  return Status::Ok();
}

Status UpdateClusterCommand(const CliContext& ctx, const ClusterOptions& o) {
  if (o.cert_expiry.empty() && o.autolock_setting.empty()) {
    return Status::InvalidArgument("nothing to update: give --cert-expiry or --autolock");
  }
  RETURN_IF_ERROR(CheckDuration(o.cert_expiry, "--cert-expiry"), "");
  ClusterInitRequest request{"", o.cert_expiry, std::nullopt};
  if (!o.autolock_setting.empty()) request.autolock = o.autolock_setting == "true";
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(ClusterInfo info, UpdateCluster(client, request), "");
  std::cout << "Cluster updated.\n";
  if (!info.unlock_key.empty()) std::cout << "\n";
  PrintUnlockKey(info);
  return Status::Ok();
}

std::string KeyStatusText(const KeyStatus& k) {
  std::string terms;
  for (std::uint32_t t : k.key_terms) terms += (terms.empty() ? "" : ", ") + std::to_string(t);
  std::string text = "Key terms: " + terms + " (current " + std::to_string(k.current_term) + ")\n";
  if (k.rotation) {
    text += "Rotation to term " + std::to_string(k.rotation->term) + ": " + k.rotation->state +
            ", " + std::to_string(k.rotation->done) + " of " + std::to_string(k.rotation->total) +
            " records\n";
  }
  return text;
}

Status RotateKeyCommand(const CliContext& ctx, const ClusterOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  if (o.status) {
    ASSIGN_OR_RETURN(KeyStatus keys, GetKeyStatus(client), "");
    std::cout << KeyStatusText(keys);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(RotateKeyResponse rotated, RotateKey(client), "");
  std::cout << "Key term " << rotated.term
            << " is now current: new writes are sealed with it, and every stored record is "
               "being re-encrypted under it in the background; the older terms are retired "
               "once nothing uses them and every manager has had time to see the new term "
               "(half a minute at least).\n"
               "Follow the progress with 'oci-secrets cluster inspect' (or 'oci-secrets "
               "cluster rotate-key --status').\n";
  return Status::Ok();
}

// Creates path with content and mode; never replaces anything (O_EXCL, no symlink).
Status WriteNewFile(const std::string& path, std::string_view content, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return PosixError("create " + path, errno);
  Status s;
  if (fchmod(fd, mode) != 0) s = PosixError("chmod " + path, errno);
  std::size_t done = 0;
  while (s.ok() && done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = PosixError("write " + path, errno);
    else done += static_cast<std::size_t>(n);
  }
  if (s.ok() && fsync(fd) != 0) s = PosixError("fsync " + path, errno);
  if (close(fd) != 0 && s.ok()) s = PosixError("close " + path, errno);
  if (!s.ok()) unlink(path.c_str());
  return s;
}

Status AdminCertCommand(const CliContext& ctx, const ClusterOptions& o) {
  const std::string dir = o.out_dir;
  const std::string ca = dir + "/ca.pem", cert = dir + "/cert.pem", key = dir + "/key.pem";
  for (const std::string& p : {ca, cert, key}) {
    struct stat st {};
    if (lstat(p.c_str(), &st) == 0) {
      return Status::AlreadyExists(p + " already exists: refusing to overwrite it (choose another "
                                   "--out or remove the old files)");
    }
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return PosixError("mkdir " + dir, errno);
  // The key is made here and never leaves this machine: only the CSR is sent.
  ASSIGN_OR_RETURN(SecretBytes key_pem, GenerateKeyPem(), "admin key");
  ASSIGN_OR_RETURN(std::string csr, MakeCsr(key_pem, "admin"), "admin key");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(JoinResponse issued, IssueAdminCert(client, {csr, ""}), "");
  RETURN_IF_ERROR(WriteNewFile(key, std::string_view(reinterpret_cast<const char*>(key_pem.data()),
                                                     key_pem.size()),
                               0600),
                  "");
  RETURN_IF_ERROR(WriteNewFile(cert, issued.certificate, 0644), "");
  RETURN_IF_ERROR(WriteNewFile(ca, issued.ca, 0644), "");
  std::string until;
  if (auto info = ParseCertificate(issued.certificate); info.ok()) {
    until = ", valid until " + FormatTime(info->not_after);
  }
  std::cout << "Admin certificate " << issued.node_id << " written to " << dir
            << " (ca.pem, cert.pem, key.pem" << until << ").\n"
            << "Use it from another machine with OCI_SECRETS_CERT_PATH=" << dir
            << " oci-secrets --host https://MANAGER:7443 ...\n";
  return Status::Ok();
}

}  // namespace

void RegisterClusterCommands(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<ClusterOptions>();
  CLI::App* cluster = ClusterCommand(app);
  cluster->footer(
      "A cluster is one or more managers (the first made by `cluster init`, more joined with\n"
      "the manager token; several managers need a shared store: oci-secretsd --store etcd)\n"
      "and the worker machines that joined with the node token. Secrets reach workers only\n"
      "over mutual TLS.");

  CLI::App* init = cluster->add_subcommand("init", "Make this manager the first of a new cluster");
  init->add_option("--listen-addr", o->listen_addr,
                   "Where the TLS listener serves nodes and remote admins (default "
                   "0.0.0.0:7443)")
      ->type_name("ADDR:PORT");
  init->add_option("--cert-expiry", o->cert_expiry,
                   "Lifetime of node certificates (default 24h; s, m, h, d)")
      ->type_name("DURATION");
  init->add_flag("--autolock", o->autolock,
                 "Keep the root key wrapped by an unlock key (printed once): a restarted "
                 "manager serves nothing until `oci-secrets cluster unlock`");
  init->footer(
      "Makes the cluster CA (its key sealed in the store), the join tokens and this\n"
      "manager's node, and starts the TLS listener. Prints the command that adds a worker.\n"
      "Examples:\n"
      "  oci-secrets cluster init\n"
      "  oci-secrets cluster init --listen-addr 10.0.0.5:7443 --cert-expiry 12h\n"
      "  oci-secrets cluster init --autolock");
  init->callback([&ctx, o] { RunOrFail([&] { return InitClusterCommand(ctx, *o); }); });

  CLI::App* token = cluster->add_subcommand("join-token", "Print the command that adds a node");
  token->add_option("ROLE", o->role, "node or manager")
      ->required()
      ->check(CLI::IsMember({"node", "manager"}));
  token->add_flag("--rotate", o->rotate, "Make a new token; the old one is refused from now on");
  token->add_flag("-q,--quiet", o->quiet, "Only print the token");
  token->footer(
      "Examples:\n"
      "  oci-secrets cluster join-token node\n"
      "  oci-secrets cluster join-token node --rotate -q");
  token->callback([&ctx, o] { RunOrFail([&] { return JoinTokenCommand(ctx, *o); }); });

  CLI::App* inspect = cluster->add_subcommand("inspect", "Show the cluster as JSON");
  inspect->footer("Example:\n  oci-secrets cluster inspect");
  inspect->callback([&ctx] { RunOrFail([&] { return InspectClusterCommand(ctx); }); });

  CLI::App* update = cluster->add_subcommand("update", "Change the cluster's settings");
  update->add_option("--cert-expiry", o->cert_expiry,
                     "Lifetime of node certificates issued from now on (s, m, h, d)")
      ->type_name("DURATION");
  update->add_option("--autolock", o->autolock_setting,
                     "true: wrap the root key by a new unlock key (printed once) and delete "
                     "every manager's root.key; false: write root.key back")
      ->check(CLI::IsMember({"true", "false"}))
      ->type_name("true|false");
  update->footer(
      "Examples:\n"
      "  oci-secrets cluster update --cert-expiry 12h\n"
      "  oci-secrets cluster update --autolock=true");
  update->callback([&ctx, o] { RunOrFail([&] { return UpdateClusterCommand(ctx, *o); }); });

  CLI::App* rotate = cluster->add_subcommand(
      "rotate-key", "Add a key term and re-encrypt every stored record under it");
  rotate->add_flag("--status", o->status, "Only show the key terms and the rotation's progress");
  rotate->footer(
      "New secrets use the new term at once; the daemon re-encrypts the stored ones in the\n"
      "background (oci-secretsd --reencrypt-rate, records per second) and retires the old\n"
      "term when nothing uses it. Leases keep working meanwhile. Works on a manager that\n"
      "never ran `cluster init` too.\n"
      "Examples:\n"
      "  oci-secrets cluster rotate-key\n"
      "  oci-secrets cluster rotate-key --status");
  rotate->callback([&ctx, o] { RunOrFail([&] { return RotateKeyCommand(ctx, *o); }); });

  CLI::App* admin = cluster->add_subcommand("admin-cert", "Issue a certificate for a remote admin");
  admin->add_option("--out", o->out_dir, "Directory for ca.pem, cert.pem and key.pem (key 0600)")
      ->required()
      ->type_name("DIR");
  admin->footer(
      "Runs on a manager, as root or --admin-group, over the local socket. The key is made\n"
      "here; existing files are never overwritten. The certificate lives 90 days.\n"
      "Example:\n"
      "  oci-secrets cluster admin-cert --out ~/.oci-secrets\n"
      "  OCI_SECRETS_CERT_PATH=~/.oci-secrets oci-secrets --host https://manager:7443 secret ls");
  admin->callback([&ctx, o] { RunOrFail([&] { return AdminCertCommand(ctx, *o); }); });
}

}  // namespace ocisecrets

// cluster join | leave: this machine as a worker of a cluster.
#include <iostream>

#include "manager/cli/commands.h"
#include "shared/cluster_client.h"
#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

struct JoinOptions {
  std::string token;
  std::vector<std::string> managers;
  std::string listen_addr;
  bool force = false;
};

Status Join(const CliContext& ctx, JoinOptions& o) {
  JoinRequest req;
  req.token = o.token;
  req.managers = o.managers;
  req.listen_addr = o.listen_addr;
  WipeString(o.token);
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  auto info = JoinCluster(client, req);
  WipeString(req.token);
  if (!info.ok()) return info.status();
  std::cout << "This node joined a cluster as a " << (info->role == "manager" ? "manager" : "worker")
            << " (node ID " << info->node_id << ")." << std::endl;
  return Status::Ok();
}

Status Leave(const CliContext& ctx, const JoinOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  RETURN_IF_ERROR(LeaveCluster(client, o.force), "");
  std::cout << "Node left the cluster." << std::endl;
  return Status::Ok();
}

}  // namespace

void RegisterClusterJoinCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* cluster = ClusterCommand(app);
  auto o = std::make_shared<JoinOptions>();

  CLI::App* join = cluster->add_subcommand(
      "join", "Join a cluster as a worker, or as a manager");
  join->footer(
      "This machine's daemon makes its key and asks a manager for a "
      "certificate, checking the manager's CA against the token first. From then on it "
      "forwards the leases of local containers to the managers; the secrets kept in this "
      "machine's own store are no longer served (they are again after `cluster leave`).\n\n"
      "A daemon started on the store of the cluster's managers (--store etcd) joins as a "
      "manager with the manager token: it receives the root key over mutual TLS and serves "
      "the cluster on --listen-addr.\n\n"
      "Examples:\n  oci-secrets cluster join --token OCSTKN-1-... 192.0.2.10:7443\n"
      "  oci-secrets cluster join --token MANAGER_TOKEN --listen-addr 192.0.2.11:7443 "
      "192.0.2.10:7443");
  join->add_option("--token", o->token, "The join token (`oci-secrets cluster join-token node` on a manager)")
      ->required();
  join->add_option("--listen-addr", o->listen_addr,
                   "A joining manager's TLS address, ADDR:PORT (default 0.0.0.0:7443)")
      ->type_name("ADDR:PORT");
  join->add_option("managers", o->managers, "Managers to join through, tried in order")
      ->required()
      ->type_name("MANAGER:PORT");
  join->callback([&ctx, o] { RunOrFail([&] { return Join(ctx, *o); }); });

  CLI::App* leave = cluster->add_subcommand(
      "leave", "Leave the cluster");
  leave->footer(
      "Forgets the certificate, key and managers; the local secrets serve "
      "again. Refused while local containers hold secrets of the cluster, unless --force");
  leave->add_flag("-f,--force", o->force, "Leave even while containers hold secrets of the cluster");
  leave->callback([&ctx, o] { RunOrFail([&] { return Leave(ctx, *o); }); });
}

}  // namespace ocisecrets

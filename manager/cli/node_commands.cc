// node ls | inspect | update | rm
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "manager/cli/commands.h"
#include "manager/cli/format.h"
#include "manager/cli/secret_spec.h"
#include "shared/cluster_client.h"

namespace ocisecrets {
namespace {

struct NodeOptions {
  bool quiet = false;
  bool force = false;
  std::string format = "table";
  std::vector<std::string> label_add;
  std::vector<std::string> label_rm;
  std::vector<std::string> names;
};

std::string CertExpires(TimePoint at, TimePoint now) {
  if (at == TimePoint{}) return "-";
  if (at <= now) return "expired";
  return "in " + HumanDuration(at - now);
}

// ID (the local manager's marked " *", as Swarm marks its own), HOSTNAME, ROLE, STATUS,
// CERT EXPIRES, LAST SEEN.
std::string NodesTable(const std::vector<Node>& nodes, const std::string& self, TimePoint now) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "HOSTNAME", "ROLE", "STATUS", "CERT EXPIRES", "LAST SEEN"}};
  for (const Node& n : nodes) {
    rows.push_back({n.id + (n.id == self ? " *" : ""), n.hostname, n.role, n.state,
                    CertExpires(n.cert_expires_at, now),
                    n.last_seen == TimePoint{} ? "-" : Ago(n.last_seen, now)});
  }
  return FormatTable(rows);
}

Status ListNodesCommand(const CliContext& ctx, const NodeOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(ClusterInfo info, InspectCluster(client), "");
  ASSIGN_OR_RETURN(std::vector<Node> nodes, ListNodes(client), "");
  if (o.quiet) {
    for (const Node& n : nodes) std::cout << n.id << "\n";
  } else if (o.format == "json") {
    for (const Node& n : nodes) std::cout << ToJson(n) << "\n";
  } else {
    std::cout << NodesTable(nodes, info.node_id, Clock::now());
  }
  return Status::Ok();
}

Status InspectNodesCommand(const CliContext& ctx, const NodeOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  return InspectEach<Node>(
      o.names, "node", [&](const std::string& n) { return InspectNode(client, n); }, [](const std::vector<Node>& nodes) {
        nlohmann::json a = nlohmann::json::array();
        for (const Node& n : nodes) a.push_back(nlohmann::json::parse(ToJson(n)));
        return a.dump(4) + "\n";
      });
}

// Read-modify-write with the version read, so a concurrent change fails rather than is lost.
Status UpdateNodeCommand(const CliContext& ctx, const NodeOptions& o) {
  if (o.label_add.empty() && o.label_rm.empty()) {
    return Status::InvalidArgument("nothing to update: give --label-add or --label-rm");
  }
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  const std::string& name = o.names.front();
  ASSIGN_OR_RETURN(Node node, InspectNode(client, name), "");
  NodeSpec spec = node.spec;
  for (const auto& key : o.label_rm) {
    if (spec.labels.erase(key) == 0) {
      return Status::NotFound("node " + name + " has no label " + key);
    }
  }
  for (const auto& label : o.label_add) RETURN_IF_ERROR(ParseLabel(label, &spec.labels), "");
  RETURN_IF_ERROR(UpdateNode(client, node.id, node.version, spec), "");
  std::cout << name << "\n";
  return Status::Ok();
}

Status RemoveNodesCommand(const CliContext& ctx, const NodeOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  return RemoveEach(o.names, [&](const std::string& n) { return RemoveNode(client, n, o.force); });
}

}  // namespace

void RegisterNodeCommands(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<NodeOptions>();
  CLI::App* node = app.add_subcommand("node", "Manage the cluster's nodes (on a manager)");
  node->require_subcommand(1);
  node->footer(
      "NODE is a node ID, a unique ID prefix or a hostname. A node is ready when the manager\n"
      "heard from it in the last 15 seconds.");

  CLI::App* ls = node->add_subcommand("ls", "List nodes");
  ls->alias("list");
  ls->add_flag("-q,--quiet", o->quiet, "Only print IDs");
  ls->add_option("--format", o->format, "Output: table (default) or json (one object a line)")
      ->check(CLI::IsMember({"table", "json"}));
  ls->footer("The manager you ask is marked with '*' after its ID.\nExample:\n  oci-secrets node ls");
  ls->callback([&ctx, o] { RunOrFail([&] { return ListNodesCommand(ctx, *o); }); });

  CLI::App* inspect = node->add_subcommand("inspect", "Show nodes as JSON");
  inspect->add_option("NODE", o->names, "Node (one or more)")->required();
  inspect->footer("Example:\n  oci-secrets node inspect worker-1");
  inspect->callback([&ctx, o] { RunOrFail([&] { return InspectNodesCommand(ctx, *o); }); });

  CLI::App* update = node->add_subcommand("update", "Change a node's labels");
  update->add_option("NODE", o->names, "Node")->required()->expected(1);
  update->add_option("--label-add", o->label_add, "Add or change label KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  update->add_option("--label-rm", o->label_rm, "Remove label KEY (repeatable)")
      ->type_name("KEY")
      ->allow_extra_args(false);
  update->footer(
      "Labels feed service constraints (--constraint node.labels.KEY==VALUE).\n"
      "Example:\n"
      "  oci-secrets node update --label-add zone=eu --label-rm rack worker-1");
  update->callback([&ctx, o] { RunOrFail([&] { return UpdateNodeCommand(ctx, *o); }); });

  CLI::App* rm = node->add_subcommand("rm", "Remove nodes from the cluster");
  rm->alias("remove");
  rm->add_option("NODE", o->names, "Node (one or more)")->required();
  rm->add_flag("-f,--force", o->force, "Remove a node that is still ready");
  rm->footer(
      "The node's certificate is refused from that moment, on open connections too.\n"
      "Stop the node first (or `cluster leave` on it); --force removes a ready one.\n"
      "Example:\n"
      "  oci-secrets node rm worker-1");
  rm->callback([&ctx, o] { RunOrFail([&] { return RemoveNodesCommand(ctx, *o); }); });
}

}  // namespace ocisecrets

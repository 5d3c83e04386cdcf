// service create | update | ls | inspect | rm
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>

#include "manager/cli/commands.h"
#include "manager/cli/format.h"
#include "manager/cli/secret_spec.h"
#include "shared/constraint.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

struct ServiceOptions {
  std::string name;
  std::string secrets_dir;
  std::vector<std::string> labels;
  std::vector<std::string> secrets;
  std::vector<std::string> secret_add;
  std::vector<std::string> secret_rm;
  std::vector<std::string> constraints;  // create --constraint
  std::vector<std::string> constraint_add;
  std::vector<std::string> constraint_rm;
  bool quiet = false;
  std::string format = "table";
  std::vector<std::string> names;
  std::string update_signal;  // --update-signal SIG (the manager checks the name)
};

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Parses every --secret SPEC (all before any network call, so a typo changes nothing)
// and then resolves each source through the manager: an exact name, a name in another
// case, or a full ID; an unknown secret is "secret not found: NAME". Fills in SecretID
// and the secret's real name (also as the default target).
Result<std::vector<SecretReference>> ResolveSecrets(ApiClient* client,
                                                    const std::vector<std::string>& specs) {
  std::vector<SecretReference> refs;
  std::vector<bool> default_target;
  for (const auto& spec : specs) {
    ASSIGN_OR_RETURN(SecretReference r, ParseSecretReference(spec), "");
    default_target.push_back(r.file.name == r.secret_name);
    refs.push_back(std::move(r));
  }
  if (client == nullptr) return refs;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    auto& r = refs[i];
    auto s = client->InspectSecret(r.secret_name);
    if (!s.ok() && s.status().code() != StatusCode::kNotFound) return s.status();
    if (!s.ok() || (s->id != r.secret_name && !EqualsIgnoringCase(s->spec.name, r.secret_name))) {
      return Status::NotFound("secret not found: " + r.secret_name);
    }
    if (default_target[i]) r.file.name = s->spec.name;
    r.secret_id = s->id;
    r.secret_name = s->spec.name;
  }
  return refs;
}

Status CreateService(const CliContext& ctx, const ServiceOptions& o) {
  ServiceSpec spec;
  spec.name = o.name;
  spec.secrets_dir = o.secrets_dir;
  spec.update_signal = o.update_signal;
  ASSIGN_OR_RETURN(spec.labels, ParseLabels(o.labels), "");
  // Everything that needs no manager is checked first.
  ASSIGN_OR_RETURN(spec.constraints, CanonicalConstraints(o.constraints, o.name), "");
  ASSIGN_OR_RETURN(spec.secrets, ResolveSecrets(nullptr, o.secrets), "");
  RETURN_IF_ERROR(ValidateServiceSpec(spec), "");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(spec.secrets, ResolveSecrets(&client, o.secrets), "");
  RETURN_IF_ERROR(ValidateServiceSpec(spec), "");
  ASSIGN_OR_RETURN(std::string id, client.CreateService(spec), "");
  std::cout << id << "\n";
  return Status::Ok();
}

// --constraint-rm (each matched by its canonical text; one the service does not have is
// NotFound), then --constraint-add (one the service has already is not added twice).
Status UpdateConstraints(ServiceSpec* spec, const std::vector<std::string>& rm,
                         const std::vector<std::string>& add) {
  for (const std::string& c : rm) {
    auto before = spec->constraints.size();
    std::erase(spec->constraints, c);
    if (spec->constraints.size() == before) {
      return Status::NotFound("service " + spec->name + " has no constraint " + c);
    }
  }
  for (const std::string& c : add) {
    if (std::find(spec->constraints.begin(), spec->constraints.end(), c) ==
        spec->constraints.end()) {
      spec->constraints.push_back(c);
    }
  }
  return Status::Ok();
}

// Read-modify-write: --secret-rm first, then --secret-add (and the same for constraints),
// then the whole spec goes back with the version it was read at, so a concurrent change
// makes this fail rather than be lost.
Status UpdateService(const CliContext& ctx, const ServiceOptions& o, bool dir_given) {
  if (o.secret_add.empty() && o.secret_rm.empty() && !dir_given && o.labels.empty() &&
      o.constraint_add.empty() && o.constraint_rm.empty() && o.update_signal.empty()) {
    return Status::InvalidArgument(
        "nothing to update: give --secret-add, --secret-rm, --secrets-dir, --label-add, "
        "--constraint-add, --constraint-rm or --update-signal");
  }
  ASSIGN_OR_RETURN(auto parsed, ResolveSecrets(nullptr, o.secret_add), "");
  ASSIGN_OR_RETURN(auto constraint_add, CanonicalConstraints(o.constraint_add, o.name), "");
  ASSIGN_OR_RETURN(auto constraint_rm, CanonicalConstraints(o.constraint_rm, o.name), "");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(Service svc, client.InspectService(o.name), "");
  ServiceSpec spec = svc.spec;
  for (const auto& rm : o.secret_rm) {
    auto before = spec.secrets.size();
    std::erase_if(spec.secrets, [&](const SecretReference& r) {
      return r.secret_name == rm || r.secret_id == rm;
    });
    if (spec.secrets.size() == before) {
      return Status::NotFound("service " + spec.name + " has no secret " + rm);
    }
  }
  ASSIGN_OR_RETURN(auto added, ResolveSecrets(&client, o.secret_add), "");
  spec.secrets.insert(spec.secrets.end(), added.begin(), added.end());
  if (dir_given) spec.secrets_dir = o.secrets_dir;
  if (!o.update_signal.empty()) spec.update_signal = o.update_signal;
  RETURN_IF_ERROR(UpdateConstraints(&spec, constraint_rm, constraint_add), "");
  for (const auto& l : o.labels) RETURN_IF_ERROR(ParseLabel(l, &spec.labels), "");
  RETURN_IF_ERROR(ValidateServiceSpec(spec), "");
  RETURN_IF_ERROR(client.UpdateService(svc.id, svc.version, spec), "");
  std::cout << o.name << "\n";
  return Status::Ok();
}

Status ListServices(const CliContext& ctx, const ServiceOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(auto services, client.ListServices(), "");
  if (o.quiet) {
    for (const auto& s : services) std::cout << s.id << "\n";
  } else if (o.format == "json") {
    std::cout << ServicesJsonLines(services);
  } else {
    std::cout << ServicesTable(services, Clock::now());
  }
  return Status::Ok();
}

Status InspectServices(const CliContext& ctx, const ServiceOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  return InspectEach<Service>(
      o.names, "service", [&](const std::string& n) { return client.InspectService(n); }, InspectServicesJson);
}

Status ListServiceHolders(const CliContext& ctx, const ServiceOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(Service svc, client.InspectService(o.name), "");
  ASSIGN_OR_RETURN(auto holders, client.ServiceHolders(svc.id), "");
  std::cout << (o.format == "json" ? ToJson(holders) + "\n" : ServiceHoldersTable(holders, Clock::now()));
  return Status::Ok();
}

Status RemoveServices(const CliContext& ctx, const ServiceOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  return RemoveEach(o.names, [&](const std::string& n) { return client.RemoveService(n); });
}

}  // namespace

void RegisterServiceCommands(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<ServiceOptions>();
  CLI::App* service =
      app.add_subcommand("service", "Manage services (which secrets a container gets)");
  service->require_subcommand(1);
  service->footer(
      "A service names the secrets that containers started with the annotation\n"
      "org.oci-secrets.service=NAME receive, each as a file in the service's secrets dir.");

  const char* kSpecHelp =
      "Secret to grant: NAME, or source=NAME,target=FILE,uid=UID,gid=GID,mode=OCTAL, or "
      "Podman's NAME,type=mount,target=FILE,... (defaults: target NAME, uid 0, gid 0, mode "
      "0444; type=env is refused: the environment leaks)";
  const char* kSignalHelp =
      "Signal sent to each running container's init after a live change of its secrets "
      "(SIGHUP, SIGUSR1, ... or a number), e.g. to reload them";
  const char* kConstraintHelp =
      "Placement constraint KEY==VALUE or KEY!=VALUE, KEY one of node.id, node.hostname, "
      "node.role (manager, worker) or node.labels.LABEL (repeatable)";

  CLI::App* create = service->add_subcommand("create", "Create a service");
  create->add_option("--name", o->name, "Service name")->required();
  create
      ->add_option("--secrets-dir", o->secrets_dir,
                   "Absolute directory of the files in the container (default /run/secrets)")
      ->type_name("DIR");
  create->add_option("--secret", o->secrets, kSpecHelp)->type_name("SPEC")->allow_extra_args(false);
  create->add_option("-l,--label", o->labels, "Label KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  create->add_option("--constraint", o->constraints, kConstraintHelp)
      ->type_name("EXPR")
      ->allow_extra_args(false);
  create->add_option("--update-signal", o->update_signal, kSignalHelp)->type_name("SIG");
  create->footer(
      "Relative targets are files under the secrets dir; targets with '..', the same target\n"
      "twice and unknown secrets are refused. Prints the new service's ID.\n"
      "Constraints (Swarm's syntax) are ANDed: a node outside them is refused the lease.\n"
      "Examples:\n"
      "  oci-secrets service create --name redis --secret redis_password\n"
      "  oci-secrets service create --name web \\\n"
      "      --secret source=tls_cert,target=server.pem,uid=999,gid=999,mode=0400\n"
      "  oci-secrets service create --name db --secret db_pw \\\n"
      "      --constraint node.labels.zone==eu --constraint node.role!=manager\n"
      "  oci-secrets service create --name nginx --secret tls_cert --update-signal SIGHUP");
  create->callback([&ctx, o] { RunOrFail([&] { return CreateService(ctx, *o); }); });

  CLI::App* update = service->add_subcommand("update", "Change a service's secrets");
  update->add_option("SERVICE", o->name, "Service name or ID")->required();
  update->add_option("--secret-add", o->secret_add, kSpecHelp)
      ->type_name("SPEC")
      ->allow_extra_args(false);
  update->add_option("--secret-rm", o->secret_rm, "Secret name or ID to take away (repeatable)")
      ->type_name("NAME")
      ->allow_extra_args(false);
  CLI::Option* dir = update
                         ->add_option("--secrets-dir", o->secrets_dir,
                                      "New directory of the files in the container")
                         ->type_name("DIR");
  update->add_option("--label-add", o->labels, "Add or change label KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  // --constraint too, as `service create` has it and the issue names it for update.
  update->add_option("--constraint-add,--constraint", o->constraint_add, kConstraintHelp)
      ->type_name("EXPR")
      ->allow_extra_args(false);
  update
      ->add_option("--constraint-rm", o->constraint_rm,
                   "Placement constraint to take away, as `service inspect` shows it (repeatable)")
      ->type_name("EXPR")
      ->allow_extra_args(false);
  update->add_option("--update-signal", o->update_signal, kSignalHelp)->type_name("SIG");
  update->footer(
      "--secret-rm is applied before --secret-add, --constraint-rm before --constraint-add.\n"
      "Running containers get the change live: a removed secret's file goes, an added one\n"
      "appears with its uid, gid and mode, and the --update-signal (if any) follows.\n"
      "Examples:\n"
      "  oci-secrets service update --secret-rm redis_password redis\n"
      "  oci-secrets service update --update-signal SIGHUP nginx\n"
      "  oci-secrets service update --secret-rm pw_v1 --secret-add source=pw_v2,target=pw redis\n"
      "  oci-secrets service update --constraint-rm node.labels.zone==eu \\\n"
      "      --constraint-add node.labels.zone==us redis");
  update->callback(
      [&ctx, o, dir] { RunOrFail([&] { return UpdateService(ctx, *o, dir->count() > 0); }); });

  CLI::App* ls = service->add_subcommand("ls", "List services");
  ls->alias("list");
  ls->add_flag("-q,--quiet", o->quiet, "Only print IDs");
  ls->add_option("--format", o->format, "Output: table (default) or json (one object a line)")
      ->check(CLI::IsMember({"table", "json"}));
  ls->footer("Example:\n  oci-secrets service ls");
  ls->callback([&ctx, o] { RunOrFail([&] { return ListServices(ctx, *o); }); });

  CLI::App* inspect = service->add_subcommand("inspect", "Show services as JSON");
  inspect->add_option("SERVICE", o->names, "Service name or ID (one or more)")->required();
  inspect->footer("Example:\n  oci-secrets service inspect redis");
  inspect->callback([&ctx, o] { RunOrFail([&] { return InspectServices(ctx, *o); }); });

  CLI::App* ps = service->add_subcommand("ps", "List a service's running containers and what they hold");
  ps->add_option("SERVICE", o->name, "Service name or ID")->required();
  ps->add_option("--format", o->format, "Output: table (default) or json (one row per container and secret)")
      ->check(CLI::IsMember({"table", "json"}));
  ps->footer(
      "One row per container: CONTAINER, NODE, SINCE (its start) and VERSIONS, the data\n"
      "version of each secret it holds (db_password:3 tls:1; ? until its node reported).\n"
      "Example:\n"
      "  oci-secrets service ps redis");
  ps->callback([&ctx, o] { RunOrFail([&] { return ListServiceHolders(ctx, *o); }); });

  CLI::App* rm = service->add_subcommand("rm", "Remove services");
  rm->alias("remove");
  rm->add_option("SERVICE", o->names, "Service name or ID (one or more)")->required();
  rm->footer(
      "Running containers keep their secrets until they stop.\n"
      "Example:\n"
      "  oci-secrets service rm redis");
  rm->callback([&ctx, o] { RunOrFail([&] { return RemoveServices(ctx, *o); }); });
}

}  // namespace ocisecrets

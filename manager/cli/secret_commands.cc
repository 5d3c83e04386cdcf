// secret create | ls | inspect | update | rm
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "manager/cli/commands.h"
#include "manager/cli/format.h"
#include "manager/cli/payload_input.h"
#include "manager/cli/secret_spec.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

struct SecretOptions {
  std::string name;
  std::string file;
  std::vector<std::string> labels;
  std::vector<std::string> label_rm;
  bool quiet = false;
  std::vector<std::string> filters;
  std::string format = "table";
  std::vector<std::string> names;
  std::string overlap;                // rotate --overlap
  std::string timeout = "10s";        // revoke --timeout
};

// How often `secret revoke` asks who still holds the secret.
constexpr std::chrono::milliseconds kRevokePoll{200};

Status RotateSecret(const CliContext& ctx, const SecretOptions& o) {
  SecretRotateRequest req;
  if (!o.overlap.empty()) {
    ASSIGN_OR_RETURN(auto overlap, ParseDuration(o.overlap), "--overlap");
    req.overlap_seconds = static_cast<std::uint64_t>(overlap.count());
  }
  ASSIGN_OR_RETURN(req.data, ReadPayload(o.file), "");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(Secret s, client.InspectSecret(o.name), "");
  ASSIGN_OR_RETURN(Secret rotated, client.RotateSecret(s.id, req), "");
  std::cout << rotated.spec.name << ": data version " << rotated.data.index << "\n";
  return Status::Ok();
}

Status RollbackSecret(const CliContext& ctx, const SecretOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(Secret s, client.InspectSecret(o.name), "");
  ASSIGN_OR_RETURN(Secret back, client.RollbackSecret(s.id), "");
  std::cout << back.spec.name << ": data version " << back.data.index << "\n";
  return Status::Ok();
}

// Revokes, then asks every kRevokePoll who still holds it, until no one or the timeout.
Status RevokeSecret(const CliContext& ctx, const SecretOptions& o) {
  ASSIGN_OR_RETURN(auto timeout, ParseDuration(o.timeout), "--timeout");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(Secret s, client.InspectSecret(o.name), "");
  ASSIGN_OR_RETURN(auto before, client.SecretHolders(s.id), "holders before the revoke");
  ASSIGN_OR_RETURN(Secret revoked, client.RevokeSecret(s.id), "");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<SecretHolder> still;
  while (true) {
    ASSIGN_OR_RETURN(still, client.SecretHolders(s.id), "holders after the revoke");
    if (still.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kRevokePoll);
  }
  std::cout << RevokeReport(revoked.spec.name, before, still);
  if (!still.empty()) {
    return Status::DeadlineExceeded("secret " + revoked.spec.name + " still held by " +
                                    std::to_string(still.size()) + " containers after " +
                                    o.timeout);
  }
  return Status::Ok();
}

Status ListHolders(const CliContext& ctx, const SecretOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(Secret s, client.InspectSecret(o.name), "");
  ASSIGN_OR_RETURN(auto holders, client.SecretHolders(s.id), "");
  std::cout << (o.format == "json" ? ToJson(holders) + "\n" : SecretHoldersTable(holders, Clock::now()));
  return Status::Ok();
}

Status CreateSecret(const CliContext& ctx, const SecretOptions& o) {
  RETURN_IF_ERROR(ValidateSecretName(o.name), "");
  ASSIGN_OR_RETURN(Labels labels, ParseLabels(o.labels), "");
  SecretCreateRequest req;
  req.spec.name = o.name;
  req.spec.labels = std::move(labels);
  ASSIGN_OR_RETURN(req.data, ReadPayload(o.file), "");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(std::string id, client.CreateSecret(req), "");
  std::cout << id << "\n";
  return Status::Ok();
}

Status CheckFilter(const std::string& f) {
  auto eq = f.find('=');
  std::string key = f.substr(0, eq);
  if (eq == std::string::npos || (key != "name" && key != "id" && key != "label")) {
    return Status::InvalidArgument("invalid filter '" + f +
                                   "': want name=NAME, id=ID-PREFIX, label=KEY or label=KEY=VALUE");
  }
  return Status::Ok();
}

Status ListSecrets(const CliContext& ctx, const SecretOptions& o) {
  for (const auto& f : o.filters) RETURN_IF_ERROR(CheckFilter(f), "");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(auto secrets, client.ListSecrets(o.filters), "");
  if (o.quiet) {
    for (const auto& s : secrets) std::cout << s.id << "\n";
  } else if (o.format == "json") {
    std::cout << SecretsJsonLines(secrets);
  } else {
    std::cout << SecretsTable(secrets, Clock::now());
  }
  return Status::Ok();
}

// Like `docker secret inspect`: prints what was found, then one error line per name
// that was not, and fails if any was not.
Status InspectSecrets(const CliContext& ctx, const SecretOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  return InspectEach<Secret>(
      o.names, "secret", [&](const std::string& n) { return client.InspectSecret(n); }, InspectSecretsJson);
}

Status UpdateSecret(const CliContext& ctx, const SecretOptions& o) {
  if (o.labels.empty() && o.label_rm.empty()) {
    return Status::InvalidArgument("nothing to update: give --label-add or --label-rm");
  }
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(Secret s, client.InspectSecret(o.name), "");
  for (const auto& k : o.label_rm) {
    if (s.spec.labels.erase(k) == 0) {
      return Status::NotFound("secret " + s.spec.name + " has no label '" + k + "'");
    }
  }
  for (const auto& l : o.labels) RETURN_IF_ERROR(ParseLabel(l, &s.spec.labels), "");
  RETURN_IF_ERROR(client.UpdateSecret(s.id, s.version, s.spec), "");
  std::cout << o.name << "\n";
  return Status::Ok();
}

// Removes each; like Docker, goes on past failures and fails at the end if any did.
Status RemoveSecrets(const CliContext& ctx, const SecretOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  return RemoveEach(o.names, [&](const std::string& n) { return client.RemoveSecret(n); });
}

}  // namespace

void RegisterSecretCommands(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<SecretOptions>();
  CLI::App* secret = app.add_subcommand("secret", "Manage secrets");
  secret->require_subcommand(1);
  secret->footer(
      "A secret is 1 to 511,999 bytes, kept encrypted by the manager and never returned by\n"
      "the API. Containers get it through a service (see 'oci-secrets service --help').");

  CLI::App* create = secret->add_subcommand("create", "Create a secret from a file or stdin");
  create
      ->add_option("NAME", o->name, "Secret name: [a-zA-Z0-9][a-zA-Z0-9-_.]*, up to 64 characters")
      ->required();
  create->add_option("FILE", o->file, "File to read the payload from, or - for stdin")
      ->required()
      ->type_name("FILE|-");
  create->add_option("-l,--label", o->labels, "Label KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  create->footer(
      "Prints the new secret's ID.\n"
      "Examples:\n"
      "  printf %s 'mysecretpassword' | oci-secrets secret create redis_password -\n"
      "  oci-secrets secret create tls_cert ./cert.pem --label env=prod");
  create->callback([&ctx, o] { RunOrFail([&] { return CreateSecret(ctx, *o); }); });

  CLI::App* ls = secret->add_subcommand("ls", "List secrets");
  ls->alias("list");
  ls->add_flag("-q,--quiet", o->quiet, "Only print IDs");
  ls->add_option(
        "-f,--filter", o->filters,
        "Filter: name=NAME, id=ID-PREFIX, label=KEY or label=KEY=VALUE (repeatable, ANDed)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  ls->add_option("--format", o->format, "Output: table (default) or json (one object a line)")
      ->check(CLI::IsMember({"table", "json"}));
  ls->footer(
      "Examples:\n"
      "  oci-secrets secret ls\n"
      "  oci-secrets secret ls --filter label=env=prod --format json\n"
      "  oci-secrets secret ls -q");
  ls->callback([&ctx, o] { RunOrFail([&] { return ListSecrets(ctx, *o); }); });

  CLI::App* inspect = secret->add_subcommand("inspect", "Show secrets' metadata as JSON");
  inspect->add_option("SECRET", o->names, "Secret name or ID (one or more)")->required();
  inspect->footer(
      "Prints a JSON array like 'docker secret inspect'. The payload is never shown.\n"
      "Example:\n"
      "  oci-secrets secret inspect redis_password");
  inspect->callback([&ctx, o] { RunOrFail([&] { return InspectSecrets(ctx, *o); }); });

  CLI::App* update = secret->add_subcommand("update", "Change a secret's labels");
  update->add_option("SECRET", o->name, "Secret name or ID")->required();
  update->add_option("--label-add", o->labels, "Add or change label KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  update->add_option("--label-rm", o->label_rm, "Remove label KEY (repeatable)")
      ->type_name("KEY")
      ->allow_extra_args(false);
  update->footer(
      "Only labels change here: a new payload is 'secret rotate NAME FILE', which running\n"
      "containers get live.\n"
      "Example:\n"
      "  oci-secrets secret update --label-add env=prod --label-rm stage tls_cert");
  update->callback([&ctx, o] { RunOrFail([&] { return UpdateSecret(ctx, *o); }); });

  CLI::App* rotate = secret->add_subcommand("rotate", "Give a secret a new value, live");
  rotate->add_option("SECRET", o->name, "Secret name or ID")->required();
  rotate->add_option("FILE", o->file, "File to read the new payload from, or - for stdin")
      ->required()
      ->type_name("FILE|-");
  rotate->add_option("--overlap", o->overlap,
                     "Also keep the previous value at TARGET.previous for this long (90s, 15m, 1h)")
      ->type_name("DURATION");
  rotate->footer(
      "Adds a data version: same name and ID, new payload. Running containers of every\n"
      "service that uses the secret see the new file within about a second (the old one\n"
      "stays readable through descriptors opened before); new starts get it too.\n"
      "Prints the new data version. Also clears a revoke.\n"
      "Examples:\n"
      "  printf %s 'n3w-passw0rd' | oci-secrets secret rotate redis_password -\n"
      "  oci-secrets secret rotate tls_cert ./new-cert.pem --overlap 10m");
  rotate->callback([&ctx, o] { RunOrFail([&] { return RotateSecret(ctx, *o); }); });

  CLI::App* rollback = secret->add_subcommand("rollback", "Make the previous value current again");
  rollback->add_option("SECRET", o->name, "Secret name or ID")->required();
  rollback->footer(
      "The value before the last rotate becomes current again, live, as a rotate would.\n"
      "Only one step back is kept: after a rollback, rotate before rolling back again.\n"
      "Example:\n"
      "  oci-secrets secret rollback redis_password");
  rollback->callback([&ctx, o] { RunOrFail([&] { return RollbackSecret(ctx, *o); }); });

  CLI::App* revoke = secret->add_subcommand("revoke", "Pull a secret from every container now");
  revoke->add_option("SECRET", o->name, "Secret name or ID")->required();
  revoke->add_option("--timeout", o->timeout, "How long to wait for every node to pull it (default 10s)")
      ->type_name("DURATION");
  revoke->footer(
      "The file disappears from every running container that holds it, on every node, and\n"
      "starts that need it fail until 'secret rotate' gives it a new value. Waits until no\n"
      "container holds it; a node that did not answer in time is listed, and the exit\n"
      "status is 1.\n"
      "Example:\n"
      "  oci-secrets secret revoke db_password && oci-secrets secret rotate db_password ./new");
  revoke->callback([&ctx, o] { RunOrFail([&] { return RevokeSecret(ctx, *o); }); });

  CLI::App* ps = secret->add_subcommand("ps", "List the running containers that hold a secret");
  ps->add_option("SECRET", o->name, "Secret name or ID")->required();
  ps->add_option("--format", o->format, "Output: table (default) or json (the API's array)")
      ->check(CLI::IsMember({"table", "json"}));
  ps->footer(
      "One row per container: NODE, CONTAINER, SERVICE, VERSION (the data version it holds)\n"
      "and SINCE (its start). Exited containers are gone once their poststop hook ran.\n"
      "Example:\n"
      "  oci-secrets secret ps db_password");
  ps->callback([&ctx, o] { RunOrFail([&] { return ListHolders(ctx, *o); }); });

  CLI::App* rm = secret->add_subcommand("rm", "Remove secrets");
  rm->alias("remove");
  rm->add_option("SECRET", o->names, "Secret name, ID or unique ID prefix (one or more)")
      ->required();
  rm->footer(
      "A secret that a service uses cannot be removed: update the service first.\n"
      "Example:\n"
      "  oci-secrets secret rm redis_password");
  rm->callback([&ctx, o] { RunOrFail([&] { return RemoveSecrets(ctx, *o); }); });
}

}  // namespace ocisecrets

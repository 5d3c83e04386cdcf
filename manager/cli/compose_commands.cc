// compose import | rm: a Compose project's secrets and grants into the manager, and the
// Compose file Docker runs instead (manager/cli/compose/compose_file.h).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include <cerrno>

#include "manager/cli/commands.h"
#include "manager/cli/compose/compose_file.h"
#include "manager/cli/payload_input.h"
#include "shared/file_util.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

namespace fs = std::filesystem;
using compose::ComposeProject;
using compose::ComposeSecret;

// The labels on everything an import makes (Compose's own project label, and ours).
constexpr char kProjectLabel[] = "com.docker.compose.project";
constexpr char kManagedLabel[] = "org.oci-secrets.compose.managed";
constexpr char kDefaultOut[] = "docker-compose.oci-secrets.yml";
// The files Compose looks for when no -f is given, in its order.
constexpr const char* kDefaultFiles[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
                                         "docker-compose.yaml"};

struct ComposeOptions {
  std::vector<std::string> files;
  std::string project;
  std::string out;
};

// What one run did, for its report and its "nothing changed".
struct Report {
  int changes = 0;
  void Say(const std::string& what, const std::string& kind, const std::string& name,
           bool changed, const std::string& note = "") {
    std::cout << what << " " << kind << " " << name << note << "\n";
    if (changed) ++changes;
  }
};

// The project of the options: the files (-f, else Compose's default names in the current
// dir), its name (-p, else $COMPOSE_PROJECT_NAME, else the dir's) and OUT.
struct Project {
  ComposeProject compose;
  std::string name;
  std::string out;
  std::string source;  // the file names, for OUT's first line
  uid_t owner = 0;     // OUT's owner: the first file's (the import often runs under sudo)
  gid_t group = 0;
};

Result<Project> OpenProject(const ComposeOptions& o) {
  std::vector<std::string> files = o.files;
  if (files.empty()) {
    for (const char* f : kDefaultFiles) {
      if (fs::exists(f)) {
        files.push_back(f);
        break;
      }
    }
    if (files.empty()) {
      return Status::NotFound("no docker-compose.yml or compose.yaml here: give the file with -f");
    }
  }
  Project p;
  ASSIGN_OR_RETURN(p.compose, compose::LoadComposeFiles(files), "");
  if (!o.project.empty()) {
    p.name = o.project;
  } else if (const char* env = std::getenv("COMPOSE_PROJECT_NAME"); env != nullptr && *env) {
    p.name = env;
  } else {
    ASSIGN_OR_RETURN(p.name, compose::DefaultProjectName(p.compose.dir), "");
  }
  RETURN_IF_ERROR(ValidateServiceName(compose::ServiceName(p.name, "x")), "-p " + p.name);
  p.out = o.out.empty() ? (fs::path(p.compose.dir) / kDefaultOut).string() : o.out;
  for (const std::string& f : files) {
    p.source += (p.source.empty() ? "" : " + ") + fs::path(f).filename().string();
  }
  struct stat st{};
  if (::stat(files.front().c_str(), &st) != 0) return PosixError("stat " + files.front(), errno);
  p.owner = st.st_uid;
  p.group = st.st_gid;
  return p;
}

bool MadeBy(const Labels& labels, const std::string& project) {
  auto p = labels.find(kProjectLabel);
  auto m = labels.find(kManagedLabel);
  return p != labels.end() && p->second == project && m != labels.end() && m->second == "true";
}

Labels ManagedLabels(const std::string& project, Labels labels = {}) {
  labels[kProjectLabel] = project;
  labels[kManagedLabel] = "true";
  return labels;
}

// The payload of a file: or environment: secret. Errors name the Compose key.
Result<SecretBytes> ReadComposePayload(const ComposeSecret& s) {
  if (s.source == ComposeSecret::Source::kFile) {
    ASSIGN_OR_RETURN(SecretBytes data, ReadPayload(s.file), s.where + ": secrets." + s.key + ".file");
    return data;
  }
  const char* value = std::getenv(s.variable.c_str());
  if (value == nullptr) {
    return Status::NotFound(s.where + ": secrets." + s.key + ".environment: $" + s.variable +
                            " is not set");
  }
  SecretBytes data(value, value + std::strlen(value));
  RETURN_IF_ERROR(ValidatePayloadSize(data.size()),
                  s.where + ": secrets." + s.key + ".environment: $" + s.variable);
  return data;
}

// The secret `name` as found, or NotFound; found means its name matches (not an ID prefix).
Result<Secret> FindSecret(ApiClient& client, const std::string& name) {
  auto s = client.InspectSecret(name);
  if (s.ok() && s->spec.name != name) return Status::NotFound("secret " + name + " not found");
  return s;
}

// Creates or rotates one secret of the project with `data` (or checks an external one, whose
// data is empty); its ID.
Result<std::string> ImportSecret(ApiClient& client, const Project& p, const ComposeSecret& s,
                                 SecretBytes data, Report* report) {
  const std::string name = compose::SecretName(p.name, s);
  auto found = FindSecret(client, s.source == ComposeSecret::Source::kExternal
                                      ? (s.name.empty() ? s.key : s.name)
                                      : name);
  if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
  if (s.source == ComposeSecret::Source::kExternal) {
    const std::string external = s.name.empty() ? s.key : s.name;
    if (!found.ok()) {
      return Status::NotFound(s.where + ": secrets." + s.key + ": external secret " + external +
                              " does not exist: create it first (oci-secrets secret create " +
                              external + " FILE)");
    }
    report->Say("external", "secret", external, false, " (exists)");
    return found->id;
  }
  if (!found.ok()) {
    SecretCreateRequest req;
    req.spec.name = name;
    req.spec.labels = ManagedLabels(p.name, s.labels);
    req.data = std::move(data);
    ASSIGN_OR_RETURN(std::string id, client.CreateSecret(req), "secret " + name);
    report->Say("created", "secret", name, true);
    return id;
  }
  if (!MadeBy(found->spec.labels, p.name)) {
    return Status::AlreadyExists("secret " + name + " exists and was not made by compose import of project " +
                                 p.name + ": remove it, or declare it `external: true`");
  }
  SecretRotateRequest req;
  req.data = std::move(data);
  ASSIGN_OR_RETURN(SecretRotateResult r, client.RotateSecretIfChanged(found->id, std::move(req)),
                   "secret " + name);
  if (r.changed) {
    report->Say("rotated", "secret", name, true,
                " (data version " + std::to_string(r.secret.data.index) + ")");
  } else {
    report->Say("unchanged", "secret", name, false);
  }
  return found->id;
}

bool SameGrants(const ServiceSpec& a, const ServiceSpec& b) {
  if (a.secrets_dir != b.secrets_dir || a.labels != b.labels || a.secrets.size() != b.secrets.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.secrets.size(); ++i) {
    const SecretReference& x = a.secrets[i];
    const SecretReference& y = b.secrets[i];
    if (x.secret_id != y.secret_id || x.file.name != y.file.name || x.file.uid != y.file.uid ||
        x.file.gid != y.file.gid || x.file.mode != y.file.mode) {
      return false;
    }
  }
  return true;
}

Status ImportService(ApiClient& client, const Project& p, const compose::ComposeService& service,
                     const std::map<std::string, std::string>& secret_ids, Report* report) {
  ServiceSpec spec;
  spec.name = compose::ServiceName(p.name, service.name);
  spec.secrets_dir = compose::kComposeSecretsDir;
  spec.labels = ManagedLabels(p.name);
  for (const compose::ComposeGrant& g : service.grants) {
    const ComposeSecret& s = p.compose.secrets.at(g.source);
    SecretReference ref;
    ref.secret_id = secret_ids.at(g.source);
    ref.secret_name = s.source == ComposeSecret::Source::kExternal
                          ? (s.name.empty() ? s.key : s.name)
                          : compose::SecretName(p.name, s);
    ref.file = g.file;
    spec.secrets.push_back(std::move(ref));
  }
  auto found = client.InspectService(spec.name);
  if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
  if (!found.ok() || found->spec.name != spec.name) {
    ASSIGN_OR_RETURN(std::string id, client.CreateService(spec), "service " + spec.name);
    report->Say("created", "service", spec.name, true);
    return Status::Ok();
  }
  if (!MadeBy(found->spec.labels, p.name)) {
    return Status::AlreadyExists("service " + spec.name +
                                 " exists and was not made by compose import of project " + p.name +
                                 ": remove it or choose another project name with -p");
  }
  if (SameGrants(found->spec, spec)) {
    report->Say("unchanged", "service", spec.name, false);
    return Status::Ok();
  }
  spec.constraints = found->spec.constraints;
  spec.update_signal = found->spec.update_signal;
  RETURN_IF_ERROR(client.UpdateService(found->id, found->version, spec), "service " + spec.name);
  report->Say("updated", "service", spec.name, true);
  return Status::Ok();
}

Status WriteOut(const Project& p, const std::string& text, Report* report) {
  auto old = ReadFileBounded(p.out, compose::kMaxComposeFileBytes + 4096);
  if (old.ok() && *old == text) {
    report->Say("unchanged", "file", p.out, false);
    return Status::Ok();
  }
  RETURN_IF_ERROR(ReplaceFileAtomically(p.out, text, 0644, p.owner, p.group), "write " + p.out);
  report->Say("wrote", "file", p.out, true);
  return Status::Ok();
}

Status Import(const CliContext& ctx, const ComposeOptions& o) {
  ASSIGN_OR_RETURN(Project p, OpenProject(o), "");
  // Everything that can be refused without the manager is refused before any change.
  ASSIGN_OR_RETURN(std::string text, compose::RenderRuntimeFile(p.compose, p.name, p.source), "");
  std::map<std::string, SecretBytes> payloads;  // wiped when they go
  for (const auto& [key, s] : p.compose.secrets) {
    if (s.source == ComposeSecret::Source::kExternal) continue;
    RETURN_IF_ERROR(ValidateSecretName(compose::SecretName(p.name, s)), s.where + ": secrets." + key);
    ASSIGN_OR_RETURN(payloads[key], ReadComposePayload(s), "");
  }
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  Report report;
  std::map<std::string, std::string> secret_ids;
  for (const auto& [key, s] : p.compose.secrets) {
    ASSIGN_OR_RETURN(secret_ids[key], ImportSecret(client, p, s, std::move(payloads[key]), &report),
                     "");
  }
  for (const auto& [name, service] : p.compose.services) {
    RETURN_IF_ERROR(ImportService(client, p, service, secret_ids, &report), "");
  }
  RETURN_IF_ERROR(WriteOut(p, text, &report), "");
  if (report.changes == 0) std::cout << "nothing changed\n";
  return Status::Ok();
}

// Removes what an import of the project made: the services first (a secret in use cannot
// go), then the secrets, only those that carry both labels; then OUT.
Status Remove(const CliContext& ctx, const ComposeOptions& o) {
  ASSIGN_OR_RETURN(Project p, OpenProject(o), "");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  Report report;
  ASSIGN_OR_RETURN(std::vector<Service> services, client.ListServices(), "");
  for (const Service& s : services) {
    if (!MadeBy(s.spec.labels, p.name)) continue;
    RETURN_IF_ERROR(client.RemoveService(s.id), "service " + s.spec.name);
    report.Say("removed", "service", s.spec.name, true);
  }
  ASSIGN_OR_RETURN(std::vector<Secret> secrets,
                   client.ListSecrets({std::string("label=") + kProjectLabel + "=" + p.name,
                                       std::string("label=") + kManagedLabel + "=true"}),
                   "");
  for (const Secret& s : secrets) {
    RETURN_IF_ERROR(client.RemoveSecret(s.id), "secret " + s.spec.name);
    report.Say("removed", "secret", s.spec.name, true);
  }
  // OUT only when an import wrote it (its first line says so).
  auto out = ReadFileBounded(p.out, compose::kMaxComposeFileBytes + 4096);
  if (out.ok() && out->starts_with(compose::kGeneratedComment)) {
    if (::unlink(p.out.c_str()) != 0) return PosixError("remove " + p.out, errno);
    report.Say("removed", "file", p.out, true);
  } else if (out.ok()) {
    std::cout << "left file " << p.out << " alone: not written by compose import\n";
  }
  if (report.changes == 0) std::cout << "nothing to remove\n";
  return Status::Ok();
}

void AddProjectOptions(CLI::App* cmd, ComposeOptions* o) {
  cmd->add_option("-f,--file", o->files,
                  "Compose file (repeatable: later files override earlier ones; default "
                  "compose.yaml or docker-compose.yml here)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  cmd->add_option("-p,--project-name", o->project,
                  "Project name (default $COMPOSE_PROJECT_NAME, else the file's directory name)")
      ->type_name("PROJECT");
  cmd->add_option("-o,--output", o->out,
                  "The file Docker runs (default docker-compose.oci-secrets.yml beside the first file)")
      ->type_name("OUT");
}

}  // namespace

void RegisterComposeCommands(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<ComposeOptions>();
  CLI::App* group = app.add_subcommand("compose", "Real secrets for a Docker Compose project");
  group->require_subcommand(1);

  CLI::App* import = group->add_subcommand(
      "import", "Take a Compose file's secrets and grants, write the file Docker runs");
  AddProjectOptions(import, o.get());
  import->footer(
      "Every top-level secret from file: or environment: is created as PROJECT_NAME (or\n"
      "rotated when its content changed); external: true secrets must exist already. Every\n"
      "service with secrets: becomes the service PROJECT_SERVICE with those grants (target,\n"
      "uid, gid, mode). OUT is the same project with each such service's secrets: replaced\n"
      "by OCI_SECRETS_SERVICE in its environment and runtime: oci-secrets; it holds no secret.\n"
      "Run it again after editing the Compose file: only what changed changes.\n"
      "Example:\n"
      "  oci-secrets compose import -f docker-compose.yml\n"
      "  docker-compose -f docker-compose.oci-secrets.yml up");
  import->callback([&ctx, o] { RunOrFail([&] { return Import(ctx, *o); }); });

  CLI::App* rm = group->add_subcommand("rm", "Remove what compose import made for a project");
  rm->alias("remove");
  AddProjectOptions(rm, o.get());
  rm->footer(
      "Removes the project's services, then its secrets (only those carrying the labels\n"
      "com.docker.compose.project=PROJECT and org.oci-secrets.compose.managed=true), then OUT.\n"
      "Example:\n"
      "  oci-secrets compose rm -f docker-compose.yml");
  rm->callback([&ctx, o] { RunOrFail([&] { return Remove(ctx, *o); }); });
}

}  // namespace ocisecrets

// Fuzzes the shim's edit of config.json (hook/runtime/bundle_edit.h AddHookEntries), which
// reads what the engine wrote from the user's request. The first byte picks the shim's
// settings (bound service or not, prestart or createRuntime, a --config or not); the rest is
// config.json.
// Invariants: without the annotation (and no bound service) nothing changes; an edit is
// idempotent (editing the result again changes nothing); the result keeps every other
// member and every existing hook entry as they were, and adds exactly our entries, each
// with the fixed env and the timeout; a bound service ends up as the annotation.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "hook/runtime/bundle_edit.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using Json = nlohmann::ordered_json;
using ocisecrets::ConfigEdit;
using ocisecrets::EditOutcome;
using ocisecrets::ShimConfig;

bool IsOurEntry(const Json& e, const ShimConfig& config, const std::string& stage) {
  return e.is_object() && e.contains("path") && e["path"] == config.hook_path &&
         e.contains("args") && e["args"].is_array() && !e["args"].empty() &&
         e["args"].back() == stage;
}

// `after` is `before` plus, at the end, at most one entry of ours, which is well formed.
void CheckHookList(const Json& before, const Json& after, const ShimConfig& config,
                   const std::string& stage) {
  FUZZ_CHECK(after.is_array(), "hooks list is an array");
  std::size_t old_size = before.is_array() ? before.size() : 0;
  FUZZ_CHECK(after.size() == old_size || after.size() == old_size + 1, "at most one entry added");
  for (std::size_t i = 0; i < old_size; ++i) {
    FUZZ_CHECK(after[i] == before[i], "existing hook entries kept as they were");
  }
  bool present = false;
  for (const Json& e : after) present = present || IsOurEntry(e, config, stage);
  FUZZ_CHECK(present, "our entry is in the list");
  if (after.size() == old_size + 1) {
    const Json& e = after.back();
    FUZZ_CHECK(IsOurEntry(e, config, stage), "the added entry is ours");
    FUZZ_CHECK(e["env"] == Json::array({std::string(ocisecrets::kHookEnvPath)}),
               "the added entry has the fixed env only");
    FUZZ_CHECK(e["timeout"] == config.hook_timeout, "the added entry has the timeout");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  ShimConfig config;
  config.hook_stage = (mode & 1) ? "createRuntime" : "prestart";
  if (mode & 2) config.hook_config = "/etc/oci-secrets/hook.json";
  const std::string service = (mode & 4) ? "redis" : "";
  const std::string key(kServiceAnnotation);

  auto edit = AddHookEntries(in, config, service);
  if (!edit.ok()) {
    FUZZ_CHECK(!edit.status().message().empty(), "a refusal says why");
    return 0;
  }
  Json before = Json::parse(in.begin(), in.end(), nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(before.is_object(), "accepted config.json is a JSON object");
  bool annotated = before.contains("annotations") && before["annotations"].is_object() &&
                   before["annotations"].contains(key);
  if (edit->outcome != EditOutcome::kAdded) {
    FUZZ_CHECK(edit->new_config.empty(), "no new text when nothing changes");
  }
  bool env_opt_in = false;  // OCI_SECRETS_SERVICE=... among process.env's strings
  if (before.contains("process") && before["process"].is_object() &&
      before["process"].contains("env") && before["process"]["env"].is_array()) {
    for (const Json& e : before["process"]["env"]) {
      if (e.is_string() && e.get<std::string>().rfind(std::string(kServiceEnv) + "=", 0) == 0) {
        env_opt_in = true;
      }
    }
  }
  if (edit->outcome == EditOutcome::kNotOptedIn) {
    FUZZ_CHECK(service.empty() && !annotated && !env_opt_in, "left alone only when not opted in");
    return 0;
  }
  FUZZ_CHECK(annotated || env_opt_in || !service.empty(), "edited only when opted in");
  if (edit->outcome == EditOutcome::kAlreadyPresent) return 0;

  Json after = Json::parse(edit->new_config, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(after.is_object(), "the edited config is a JSON object");
  for (auto it = before.begin(); it != before.end(); ++it) {
    if (it.key() == "hooks" || it.key() == "annotations") continue;
    FUZZ_CHECK(after.contains(it.key()) && after[it.key()] == it.value(),
               "every other member kept as it was");
  }
  for (auto it = after.begin(); it != after.end(); ++it) {
    FUZZ_CHECK(before.contains(it.key()) || it.key() == "hooks" || it.key() == "annotations",
               "no member but hooks and annotations added");
  }
  FUZZ_CHECK(env_opt_in || (after["annotations"].is_object() && after["annotations"].contains(key)),
             "the edited config has the annotation, or opted in by its environment");
  if (!service.empty()) {
    FUZZ_CHECK(after["annotations"][key] == service, "the bound service is the annotation");
  }
  if (before.contains("annotations") && before["annotations"].is_object()) {
    for (auto it = before["annotations"].begin(); it != before["annotations"].end(); ++it) {
      FUZZ_CHECK(after["annotations"].contains(it.key()) &&
                     after["annotations"][it.key()] == it.value(),
                 "existing annotations kept");
    }
  }
  const Json no_list;
  const Json& old_hooks = before.contains("hooks") ? before["hooks"] : no_list;
  FUZZ_CHECK(after["hooks"].is_object(), "hooks is an object");
  if (old_hooks.is_object()) {
    for (auto it = old_hooks.begin(); it != old_hooks.end(); ++it) {
      if (it.key() == config.hook_stage || it.key() == "poststop") continue;
      FUZZ_CHECK(after["hooks"].contains(it.key()) && after["hooks"][it.key()] == it.value(),
                 "other hook stages kept");
    }
  }
  for (const std::string& stage : {config.hook_stage, std::string("poststop")}) {
    const Json& old_list =
        old_hooks.is_object() && old_hooks.contains(stage) ? old_hooks[stage] : no_list;
    CheckHookList(old_list, after["hooks"][stage], config, stage);
  }

  // Idempotent: the edited config, edited again, needs nothing more.
  auto twice = AddHookEntries(edit->new_config, config, service);
  FUZZ_CHECK(twice.ok(), "the edited config is accepted again");
  FUZZ_CHECK(twice->outcome == EditOutcome::kAlreadyPresent, "editing twice equals editing once");
  return 0;
}

#include "shared/hook_entry.h"

namespace ocisecrets {
namespace {

// `text` as a regular expression matching only itself (hooks.d conditions are regexes).
std::string QuoteRegex(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

nlohmann::ordered_json HookEntry(const HookEntryOptions& options, std::string_view stage) {
  using Json = nlohmann::ordered_json;
  Json args = Json::array({"oci-secrets-hook"});
  if (!options.hook_config.empty()) {
    args.push_back("--config");
    args.push_back(options.hook_config);
  }
  if (!stage.empty()) args.push_back(std::string(stage));
  return Json{{"path", options.hook_path},
              {"args", std::move(args)},
              {"env", Json::array({std::string(kHookEnvPath)})},
              {"timeout", options.timeout_seconds}};
}

std::string HooksDJson(const HookEntryOptions& options, const std::vector<std::string>& stages,
                       HooksDWhen when) {
  using Json = nlohmann::ordered_json;
  const std::string condition = "^" + QuoteRegex(kServiceAnnotation) + "$";
  Json doc{{"version", "1.0.0"},
           {"hook", HookEntry(options, stages.size() == 1 ? stages[0] : std::string())},
           {"when", when == HooksDWhen::kAlways ? Json{{"always", true}}
                                                 : Json{{"annotations", Json{{condition, ".*"}}}}},
           {"stages", stages}};
  return doc.dump(2) + "\n";
}

}  // namespace ocisecrets

// Fuzzes the Compose file reader of `compose import` (manager/cli/compose/compose_file.h),
// which reads files a user may have from anywhere. The input is one file, and also that
// file merged over itself. Invariants: a refusal says why; an accepted project's grants pass
// the server's own validation; the file rendered for Docker parses again and, read as a
// Compose project, holds no secrets at all.
#include <cstddef>
#include <cstdint>
#include <string>

#include "manager/cli/compose/compose_file.h"
#include "shared/validation.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  using namespace ocisecrets::compose;
  std::string text(reinterpret_cast<const char*>(data), size);
  for (int copies = 1; copies <= 2; ++copies) {
    std::vector<ComposeText> texts(copies, ComposeText{"f.yml", text});
    auto project = ParseComposeTexts(texts, "/p");
    if (!project.ok()) {
      FUZZ_CHECK(!project.status().message().empty(), "an error says why");
      continue;
    }
    for (const auto& [name, service] : project->services) {
      for (const ComposeGrant& g : service.grants) {
        FUZZ_CHECK(project->secrets.contains(g.source), "a grant names a defined secret");
        FUZZ_CHECK(ValidateSecretTarget(g.file.name).ok(), "accepted target is valid");
        FUZZ_CHECK(ValidateMode(g.file.mode).ok(), "accepted mode has no setuid/setgid/sticky");
      }
    }
    auto rendered = RenderRuntimeFile(*project, "p", "f.yml");
    if (!rendered.ok()) {
      FUZZ_CHECK(!rendered.status().message().empty(), "an error says why");
      continue;
    }
    auto again = ParseComposeTexts({{"out.yml", *rendered}}, "/p");
    FUZZ_CHECK(again.ok(), "the rendered file parses again");
    FUZZ_CHECK(again->secrets.empty() && again->services.empty(), "the rendered file holds no secrets");
  }
  return 0;
}

// Fuzzes what crosses between the node role and `oci-secrets-hook refresh`
// (shared/refresh_plan.h): the plan the hook reads on stdin, the answer the daemon reads
// from the hook's stdout, and the /proc/PID/stat text whose start time says who a pid is.
// Invariants: nothing crashes; a plan that parses, written again by ToJson, parses to the
// same plan (and the same text); a refusal names no payload: its message holds none of
// the input's "Data" strings nor what they decode to (unless the string is the message's
// own words: the same input with every "Data" swapped for other bytes is refused with it
// too); an outcome is one of the three kinds and its detail is the hook's line or the
// fixed "no answer" text.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "shared/refresh_plan.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ocisecrets::LeasedFile;
using ocisecrets::RefreshPlan;

bool SameFile(const LeasedFile& a, const LeasedFile& b) {
  return a.name == b.name && a.uid == b.uid && a.gid == b.gid && a.mode == b.mode &&
         a.data == b.data && a.secret_id == b.secret_id && a.version == b.version &&
         a.previous == b.previous;
}

bool SamePlan(const RefreshPlan& a, const RefreshPlan& b) {
  if (a.container_id != b.container_id || a.pid != b.pid || a.start_time != b.start_time ||
      a.secrets_dir != b.secrets_dir || a.tmpfs_size != b.tmpfs_size || a.signal != b.signal ||
      a.files.size() != b.files.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.files.size(); ++i) {
    if (!SameFile(a.files[i], b.files[i])) return false;
  }
  return true;
}

// Every "Data" string anywhere in the input (when it is JSON), and its decoding when it
// decodes: what a refusal must never repeat. Strings under 4 bytes are left out: their
// bytes occur in field names and words of any message.
void CollectData(const nlohmann::json& j, std::vector<std::string>* out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "Data" && it->is_string()) {
        const std::string& s = it->get_ref<const std::string&>();
        if (s.size() >= 4) out->push_back(s);
        auto decoded = ocisecrets::Base64Decode(s);
        if (decoded.ok() && decoded->size() >= 4)
          out->emplace_back(decoded->begin(), decoded->end());
      } else {
        CollectData(*it, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& e : j) CollectData(e, out);
  }
}

// The input with every "Data" string replaced by as many bytes of one kind, '~' or, for a
// string that starts with '~', '#': what the parser says about it cannot come from a
// payload, and a payload it echoed would not be found in it.
void SwapData(nlohmann::json* j) {
  if (j->is_object()) {
    for (auto it = j->begin(); it != j->end(); ++it) {
      if (it.key() == "Data" && it->is_string()) {
        const std::string& s = it->get_ref<const std::string&>();
        *it = std::string(s.size(), s.starts_with('~') ? '#' : '~');
      } else {
        SwapData(&*it);
      }
    }
  } else if (j->is_array()) {
    for (auto& e : *j) SwapData(&e);
  }
}

void CheckPlan(std::string_view in) {
  auto plan = ocisecrets::ParseRefreshPlan(in);
  if (!plan.ok()) {
    const std::string message = plan.status().message();
    FUZZ_CHECK(message.starts_with("refresh plan"), "a refusal is prefixed 'refresh plan'");
    nlohmann::json j = nlohmann::json::parse(in.begin(), in.end(), nullptr, false);
    std::vector<std::string> data;
    if (!j.is_discarded()) CollectData(j, &data);
    std::string own_words;  // the refusal of the same input without its payloads
    if (!data.empty()) {
      SwapData(&j);
      auto swapped = ocisecrets::ParseRefreshPlan(
          j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      if (!swapped.ok()) own_words = swapped.status().message();
    }
    for (std::string& d : data) {
      FUZZ_CHECK(message.find(d) == std::string::npos || own_words.find(d) != std::string::npos,
                 "a refusal holds no payload");
      ocisecrets::WipeString(d);
    }
    return;
  }
  FUZZ_CHECK(plan->pid > 0 && plan->start_time > 0 && plan->tmpfs_size > 0,
             "an accepted plan names a process and a size");
  FUZZ_CHECK(plan->secrets_dir.starts_with('/'), "an accepted secrets dir is absolute");
  FUZZ_CHECK(plan->signal >= 0 && plan->signal <= 64, "an accepted signal is 0 to 64");
  std::string json = ToJson(*plan);
  auto again = ocisecrets::ParseRefreshPlan(json);
  FUZZ_CHECK(again.ok(), "a written plan parses again");
  FUZZ_CHECK(SamePlan(*plan, *again), "a written plan parses to the same plan");
  std::string twice = ToJson(*again);
  FUZZ_CHECK(twice == json, "the plan's text is stable");
  ocisecrets::WipeString(json);
  ocisecrets::WipeString(twice);
}

void CheckOutcome(std::string_view in) {
  using Kind = ocisecrets::RefreshOutcome::Kind;
  ocisecrets::RefreshOutcome o = ocisecrets::ParseRefreshOutcome(in);
  FUZZ_CHECK(o.kind == Kind::kRefreshed || o.kind == Kind::kSkipped || o.kind == Kind::kFailed,
             "an outcome has a known kind");
  FUZZ_CHECK(o.detail.find('\n') == std::string::npos, "an outcome's detail is one line");
  if (o.kind == Kind::kRefreshed) FUZZ_CHECK(o.detail.starts_with("refreshed files="), "refreshed");
  if (o.kind == Kind::kSkipped) FUZZ_CHECK(o.detail.starts_with("skipped: "), "skipped");
  if (o.kind == Kind::kFailed) {
    FUZZ_CHECK(o.detail.starts_with("oci-secrets-hook: refresh: ") ||
                   o.detail == "no answer from oci-secrets-hook refresh",
               "a failure is the hook's line or no answer");
  }
}

void CheckStat(std::string_view in) {
  auto t = ocisecrets::ParseStatStartTime(in);
  if (!t.ok()) {
    FUZZ_CHECK(t.status().message().starts_with("/proc stat: "), "a refusal names /proc stat");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckPlan(in);
  CheckOutcome(in);
  CheckStat(in);
  return 0;
}

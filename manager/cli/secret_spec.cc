#include "manager/cli/secret_spec.h"

#include <charconv>
#include <set>
#include <string>

#include "shared/validation.h"

namespace ocisecrets {
namespace {

// Shows user text in an error on one line, bounded.
std::string Shown(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c != 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > 80) out += "...";
  return out;
}

Result<std::uint64_t> ParseDecimalId(std::string_view value, const char* what) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size()) {
    return Status::InvalidArgument(std::string("invalid ") + what + " '" + Shown(value) +
                                   "': want a decimal number");
  }
  RETURN_IF_ERROR(ValidateUnixId(v, what), "");
  return v;
}

Result<std::uint32_t> ParseOctalMode(std::string_view value) {
  std::string_view digits = value;
  if (digits.starts_with("0o") || digits.starts_with("0O")) digits.remove_prefix(2);
  std::uint64_t v = 0;
  bool ok = !digits.empty() && digits.size() <= 11;
  for (char c : digits) {
    if (!ok) break;
    ok = c >= '0' && c <= '7';
    v = v * 8 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || v > 0xffffffffULL) {
    return Status::InvalidArgument("invalid mode '" + Shown(value) +
                                   "': want octal permission bits like 0444 or 0400");
  }
  auto mode = static_cast<std::uint32_t>(v);
  RETURN_IF_ERROR(ValidateMode(mode), "");
  return mode;
}

// Podman's "type=": "mount" is what we do; "env" is refused for good.
Status CheckSecretType(std::string_view value) {
  if (value == "mount") return Status::Ok();
  if (value == "env") {
    return Status::InvalidArgument(
        "type=env is not supported: a secret in the environment leaks into inspect output, "
        "logs and every child process (Docker refused it too, moby#31422); use type=mount, "
        "the default, and read the file");
  }
  return Status::InvalidArgument("invalid type '" + Shown(value) + "': want mount");
}

}  // namespace

Result<SecretReference> ParseSecretReference(std::string_view spec) {
  auto wrap = [&](const Status& s) {
    return s.WithContext("invalid --secret '" + Shown(spec) + "'");
  };
  SecretReference ref;
  if (spec.find('=') == std::string_view::npos && spec.find(',') == std::string_view::npos) {
    Status s = ValidateSecretName(spec);
    if (!s.ok()) return wrap(s);
    ref.secret_name = std::string(spec);
    ref.file.name = ref.secret_name;
    return ref;
  }
  std::set<std::string> seen;
  bool have_target = false;
  std::string_view rest = spec;
  for (bool first = true;; first = false) {
    std::size_t comma = rest.find(',');
    std::string_view field = rest.substr(0, comma);
    std::size_t eq = field.find('=');
    std::string key;
    std::string_view value;
    if (eq != std::string_view::npos) {
      key = std::string(field.substr(0, eq));
      value = field.substr(eq + 1);
    } else if (first) {
      // Podman's form: the secret's name first, without "source=".
      key = "source";
      value = field;
    } else {
      return wrap(Status::InvalidArgument("field '" + Shown(field) + "' must be a key=value pair"));
    }
    if (key == "src") key = "source";
    if (!seen.insert(key).second) {
      return wrap(Status::InvalidArgument("field '" + key + "' is given twice"));
    }
    if (key == "type") {
      Status s = CheckSecretType(value);
      if (!s.ok()) return wrap(s);
    } else if (key == "source") {
      Status s = ValidateSecretName(value);
      if (!s.ok()) return wrap(s);
      ref.secret_name = std::string(value);
    } else if (key == "target") {
      Status s = ValidateSecretTarget(value);
      if (!s.ok()) return wrap(s);
      ref.file.name = std::string(value);
      have_target = true;
    } else if (key == "uid" || key == "gid") {
      auto id = ParseDecimalId(value, key.c_str());
      if (!id.ok()) return wrap(id.status());
      (key == "uid" ? ref.file.uid : ref.file.gid) = static_cast<std::uint32_t>(*id);
    } else if (key == "mode") {
      auto mode = ParseOctalMode(value);
      if (!mode.ok()) return wrap(mode.status());
      ref.file.mode = *mode;
    } else {
      return wrap(Status::InvalidArgument("unknown field '" + Shown(key) +
                                          "': want source, target, uid, gid, mode or type"));
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (ref.secret_name.empty()) return wrap(Status::InvalidArgument("source is required"));
  if (!have_target) ref.file.name = ref.secret_name;
  return ref;
}

Status ParseLabel(std::string_view text, Labels* labels) {
  std::size_t eq = text.find('=');
  std::string_view key = text.substr(0, eq);
  if (key.empty()) {
    return Status::InvalidArgument("invalid label '" + Shown(text) + "': empty key");
  }
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("invalid label '" + Shown(text) +
                                     "': control character in the key");
    }
  }
  (*labels)[std::string(key)] =
      eq == std::string_view::npos ? std::string() : std::string(text.substr(eq + 1));
  return Status::Ok();
}

Result<Labels> ParseLabels(const std::vector<std::string>& texts) {
  Labels labels;
  for (const auto& t : texts) RETURN_IF_ERROR(ParseLabel(t, &labels), "");
  return labels;
}

}  // namespace ocisecrets

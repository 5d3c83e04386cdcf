#include "shared/validation.h"

#include <cstdio>
#include <set>
#include <string>

#include "shared/constraint.h"

namespace ocisecrets {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string QuoteForMessage(std::string_view s) {
  constexpr std::size_t kMaxShown = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += "\"";
  return out;
}

namespace {

Status ValidateObjectName(std::string_view name, const char* kind) {
  if (name.empty()) return Status::InvalidArgument(std::string(kind) + " name must be provided");
  bool ok = name.size() <= kMaxNameLength && IsAlnum(name.front()) && IsAlnum(name.back());
  for (char c : name) {
    if (!ok) break;
    ok = IsAlnum(c) || c == '-' || c == '_' || c == '.';
  }
  if (!ok) {
    return Status::InvalidArgument("invalid " + std::string(kind) + " name " + QuoteForMessage(name) +
                                   ": only 64 [a-zA-Z0-9-_.] characters allowed, and the "
                                   "start and end character must be [a-zA-Z0-9]");
  }
  return Status::Ok();
}

// The component rules of targets and Linux secrets dirs. `what` names the value.
Status ValidatePathComponents(std::string_view path, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid " + std::string(what) + " " + QuoteForMessage(path) + ": " +
                                   why);
  };
  if (path.empty()) return bad("must not be empty");
  if (path.size() > kMaxPathLength) return bad("longer than 4096 bytes");
  if (path.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  if (path.find('\n') != std::string_view::npos || path.find('\r') != std::string_view::npos) {
    return bad("contains a newline");
  }
  std::string_view rest = path;
  if (rest.front() == '/') rest.remove_prefix(1);
  if (rest.empty()) return bad("names no file");
  while (true) {
    std::size_t slash = rest.find('/');
    std::string_view comp = rest.substr(0, slash);
    if (comp.empty()) return bad("has an empty path component");
    if (comp == "..") return bad("must not contain a \"..\" component");
    if (comp == ".") return bad("must not contain a \".\" component");
    if (comp.size() > kMaxPathComponent) return bad("has a component longer than 255 bytes");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return Status::Ok();
}

bool IsDriveLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool IsWindowsSeparator(char c) { return c == '\\' || c == '/'; }

// CON, PRN, AUX, NUL, COM1-9, LPT1-9, alone or before an extension ("nul.txt", "NUL .x").
bool IsReservedWindowsName(std::string_view component) {
  std::string base(component.substr(0, component.find('.')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (char& ch : base) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  if (base == "CON" || base == "PRN" || base == "AUX" || base == "NUL") return true;
  return base.size() == 4 && (base.starts_with("COM") || base.starts_with("LPT")) &&
         base[3] >= '1' && base[3] <= '9';
}

}  // namespace

Status ValidateSecretName(std::string_view name) { return ValidateObjectName(name, "secret"); }

Status ValidateServiceName(std::string_view name) { return ValidateObjectName(name, "service"); }

Status ValidatePayloadSize(std::size_t size) {
  if (size < kMinPayloadSize || size > kMaxPayloadSize) {
    return Status::InvalidArgument("secret data must be larger than 0 and less than 512000 bytes (got " +
                                   std::to_string(size) + ")");
  }
  return Status::Ok();
}

Status ValidateSecretTarget(std::string_view target) {
  return ValidatePathComponents(target, "secret target");
}

Status ValidateMode(std::uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode);
  if (mode & 04000) {
    return Status::InvalidArgument(std::string("invalid file mode ") + buf +
                                   ": setuid is not allowed on a secret file");
  }
  if (mode & 02000) {
    return Status::InvalidArgument(std::string("invalid file mode ") + buf +
                                   ": setgid is not allowed on a secret file");
  }
  if (mode & 01000) {
    return Status::InvalidArgument(std::string("invalid file mode ") + buf +
                                   ": the sticky bit is not allowed on a secret file");
  }
  if (mode & ~07777u) {
    return Status::InvalidArgument(std::string("invalid file mode ") + buf +
                                   ": only permission bits (0777) are allowed");
  }
  return Status::Ok();
}

Status ValidateUnixId(std::uint64_t id, std::string_view what) {
  if (id > kMaxUnixId) {
    return Status::InvalidArgument("invalid " + std::string(what) + " " + std::to_string(id) +
                                   ": must be 0..4294967294");
  }
  return Status::Ok();
}

bool LooksLikeWindowsPath(std::string_view p) {
  if (p.size() >= 2 && IsDriveLetter(p[0]) && p[1] == ':') return true;  // C:\ or C:/
  return p.starts_with("\\\\") || p.find('\\') != std::string_view::npos;
}

Status ValidateWindowsPath(std::string_view path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid windows path " + QuoteForMessage(path) + ": " + why);
  };
  constexpr std::size_t kMaxWindowsPath = 259;  // MAX_PATH less the terminating NUL
  if (path.empty()) return bad("must not be empty");
  if (path.starts_with("\\\\") || path.starts_with("//")) {
    return bad("UNC paths are not allowed, use a drive letter (C:\\...)");
  }
  if (path.size() > kMaxWindowsPath) return bad("longer than 259 characters");
  if (path.size() < 3 || !IsDriveLetter(path[0]) || path[1] != ':' ||
      !IsWindowsSeparator(path[2])) {
    return bad("must start with a drive letter, a colon and a separator (C:\\...)");
  }
  std::string_view rest = path.substr(3);
  if (rest.empty()) return bad("must not be the drive root");
  while (true) {
    std::size_t end = 0;
    while (end < rest.size() && !IsWindowsSeparator(rest[end])) ++end;
    std::string_view comp = rest.substr(0, end);
    bool last = end == rest.size() || end + 1 == rest.size();  // one trailing separator is fine
    if (comp.empty()) return bad("has an empty path component");
    if (comp == "." || comp == "..") return bad("must not contain a \".\" or \"..\" component");
    if (comp.size() > kMaxPathComponent) return bad("has a component longer than 255 bytes");
    for (char ch : comp) {
      if (static_cast<unsigned char>(ch) < 0x20) return bad("contains a control character");
      if (std::string_view("<>:\"|?*").find(ch) != std::string_view::npos) {
        return bad(std::string("contains the forbidden character '") + ch + "'");
      }
    }
    if (comp.back() == ' ' || comp.back() == '.') {
      return bad("a component must not end with a space or a dot");
    }
    if (IsReservedWindowsName(comp)) {
      return bad(QuoteForMessage(comp) + " is a reserved device name");
    }
    if (last) break;
    rest.remove_prefix(end + 1);
  }
  return Status::Ok();
}

Status ValidateSecretsDir(std::string_view dir) {
  if (dir.empty()) return Status::Ok();
  if (LooksLikeWindowsPath(dir)) return ValidateWindowsPath(dir).WithContext("secrets dir");
  if (dir.front() != '/') {
    return Status::InvalidArgument("invalid secrets dir " + QuoteForMessage(dir) +
                                   ": must be an absolute path");
  }
  return ValidatePathComponents(dir, "secrets dir");
}

Status ValidateServiceSpec(const ServiceSpec& spec) {
  RETURN_IF_ERROR(ValidateServiceName(spec.name), "");
  RETURN_IF_ERROR(ValidateSecretsDir(spec.secrets_dir), "");
  if (spec.secrets.size() > kMaxServiceSecrets) {
    return Status::InvalidArgument("service " + QuoteForMessage(spec.name) + " grants " +
                                   std::to_string(spec.secrets.size()) +
                                   " secrets; a service may grant at most " +
                                   std::to_string(kMaxServiceSecrets));
  }
  RETURN_IF_ERROR(ParseConstraints(spec.constraints, spec.name).status(), "");
  std::set<std::string> targets;
  for (const SecretReference& ref : spec.secrets) {
    if (ref.secret_name.empty() && ref.secret_id.empty()) {
      return Status::InvalidArgument("a secret reference needs a SecretName or a SecretID");
    }
    if (!ref.secret_name.empty()) RETURN_IF_ERROR(ValidateSecretName(ref.secret_name), "");
    std::string target = ref.file.name.empty() ? ref.secret_name : ref.file.name;
    if (target.empty()) {
      return Status::InvalidArgument("secret " + QuoteForMessage(ref.secret_id) + ": a target is required");
    }
    RETURN_IF_ERROR(ValidateSecretTarget(target), "");
    RETURN_IF_ERROR(ValidateMode(ref.file.mode), "secret " + QuoteForMessage(target));
    RETURN_IF_ERROR(ValidateUnixId(ref.file.uid, "uid"), "secret " + QuoteForMessage(target));
    RETURN_IF_ERROR(ValidateUnixId(ref.file.gid, "gid"), "secret " + QuoteForMessage(target));
    if (!targets.insert(target).second) {
      return Status::InvalidArgument("duplicate secret target " + QuoteForMessage(target) +
                                     " in service " + QuoteForMessage(spec.name));
    }
  }
  return Status::Ok();
}

Status ValidateContainerId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxContainerIdLength && IsAlnum(id.front());
  for (char c : id) {
    if (!ok) break;
    ok = IsAlnum(c) || c == '_' || c == '.' || c == '+' || c == '-';
  }
  if (!ok) {
    return Status::InvalidArgument("invalid container ID " + QuoteForMessage(id) +
                                   ": want 1..1024 characters of [A-Za-z0-9_.+-]");
  }
  return Status::Ok();
}

}  // namespace ocisecrets

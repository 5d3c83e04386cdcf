// Input rules shared by the CLI (early, friendly errors) and the manager (authoritative).
// Every function returns OK or InvalidArgument with a one-line message that names the
// offending value, never a payload. Docker's rules and wording are the reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

inline constexpr std::size_t kMaxNameLength = 64;
inline constexpr std::size_t kMinPayloadSize = 1;
inline constexpr std::size_t kMaxPayloadSize = 511999;
inline constexpr std::size_t kMaxPathComponent = 255;
inline constexpr std::size_t kMaxPathLength = 4096;
inline constexpr std::uint64_t kMaxUnixId = 4294967294ULL;  // (uid_t)-1 means "unchanged"
inline constexpr std::size_t kMaxContainerIdLength = 1024;

// A user-given value quoted for an error message: in double quotes, with quotes,
// backslashes and control bytes escaped, at most 80 bytes shown ("..." after).
std::string QuoteForMessage(std::string_view s);

// Docker's secret name rule: ^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$, 1..64 chars.
Status ValidateSecretName(std::string_view name);

// Same rule as secret names, with "service" in the message.
Status ValidateServiceName(std::string_view name);

// A payload must hold 1..511,999 bytes.
Status ValidatePayloadSize(std::size_t size);

// A secret file target (File.Name): relative (under the secrets dir) or absolute. Refuses
// empty, NUL, newline, a "." or ".." component, an empty component ("a//b", trailing
// "/"), a component over 255 bytes and a path over 4096 bytes.
Status ValidateSecretTarget(std::string_view target);

// Only the permission bits 0777; setuid, setgid and sticky are refused by name.
Status ValidateMode(std::uint32_t mode);

// A uid or gid in 0..4294967294 (what names it: "uid", "gid").
Status ValidateUnixId(std::uint64_t id, std::string_view what);

// The service's secrets dir: empty (the hook's default), an absolute Linux path with the
// target rules, or a Windows path (see ValidateWindowsPath below).
Status ValidateSecretsDir(std::string_view dir);

// Where a service's files go when it names no secrets dir (the hook's default, which a
// node's hook.json may change).
inline constexpr std::string_view kDefaultSecretsDir = "/run/secrets";

// --- Windows paths -------------------------------------------------------------------
// Docker's default secrets dir in a Windows container.
inline constexpr std::string_view kWindowsDefaultSecretsDir = "C:\\ProgramData\\Docker\\secrets";

// True when `path` is meant as a Windows path: a drive letter and a colon ("C:"), a
// leading "\\" (UNC), or any backslash. Such a path is checked by ValidateWindowsPath.
bool LooksLikeWindowsPath(std::string_view path);

// OK when `path` is an absolute Windows directory usable as a secrets dir: "X:\" then
// components separated by '\' or '/' (one trailing separator allowed); no empty, "." or
// ".." component, none ending in a space or a dot, no reserved device name (CON, PRN, AUX,
// NUL, COM1-9, LPT1-9, also with an extension: "nul.txt"), no character of <>:"|?* or
// below 0x20, at most 255 bytes a component and 259 in all, not the drive root. UNC paths
// (\\server\share) are refused: a container's secrets dir is on its own drive.
// InvalidArgument names the rule the path breaks.
Status ValidateWindowsPath(std::string_view path);
// --------------------------------------------------------------------------------------

// The most secrets one service may grant. A service is written in one store txn, and an
// update that replaces every secret of one service with others writes 3 ops a secret
// plus one; 40 keeps that within kMaxTxnOps (128, etcd's default), on every engine.
inline constexpr std::size_t kMaxServiceSecrets = 40;

// A whole service spec without store lookups: name, secrets dir, at most
// kMaxServiceSecrets references, every reference's target/uid/gid/mode, a SecretName or
// SecretID on each, and targets unique in the service (an empty File.Name means the
// secret's name), and its placement constraints (ParseConstraints in constraint.h).
Status ValidateServiceSpec(const ServiceSpec& spec);

// A container ID as runtimes make them: [A-Za-z0-9][A-Za-z0-9_.+-]*, 1..1024 chars.
Status ValidateContainerId(std::string_view id);

}  // namespace ocisecrets

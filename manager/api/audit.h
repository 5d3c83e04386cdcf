// The audit log: one JSON line per lease and per admin change (and per refused call),
// never a payload. Lines are appended and flushed one by one; safe from many threads.
// Every line names the caller: "kind" ("local" or "certificate"), "role" (absent for a
// refused local peer), "node" (the node ID it speaks for), and for a local peer "uid" and
// "pid", for a TLS peer "addr" (ADDR:PORT). "result" says what the call came to: "ok", "denied" (a 401 or 403: a refusal,
// with the reason in "error") or "error" (any other failure, with its message).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "manager/api/auth.h"
#include "shared/status.h"

namespace ocisecrets {

struct AuditEvent {
  std::string action;        // "secret.create", "lease.create", "denied", ...
  int status = 0;            // the HTTP status answered
  std::string name;          // object name when known
  std::string id;            // object ID when known
  std::string container_id;  // leases
  std::vector<std::string> secret_ids;  // leases: what was handed out (IDs only)
  std::string error;         // the error message when status >= 400
  // Live updates ("live.update", "live.revoke"): the data version the container held
  // before and holds after ("from_version", "to_version"; absent when 0).
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Records one event of the caller peer. Must not fail the request: errors are reported
  // elsewhere. Called from many threads at once.
  virtual void Record(const Identity& peer, const AuditEvent& event) = 0;
};

// The JSON line for one event of peer, with "time" set to now (RFC 3339 UTC), keys in
// sorted order, ending in a newline.
std::string AuditLine(const Identity& peer, const AuditEvent& event);

class FileAuditLog : public AuditSink {
 public:
  // Opens (creates 0600) path for appending. Refuses a path group- or world-accessible.
  static Result<std::unique_ptr<FileAuditLog>> Open(const std::string& path);
  ~FileAuditLog() override;
  void Record(const Identity& peer, const AuditEvent& event) override;

 private:
  explicit FileAuditLog(int fd) : fd_(fd) {}
  std::mutex mu_;
  int fd_;
  bool warned_ = false;
};

}  // namespace ocisecrets

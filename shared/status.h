// Errors are values. A Status is OK or carries a code and a message that reads
// like a path of contexts: "prestart: mount tmpfs: move_mount /run/secrets: EBUSY".
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ocisecrets {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller's input is wrong (HTTP 400)
  kNotFound,          // HTTP 404
  kAlreadyExists,     // HTTP 409
  kFailedPrecondition,// state forbids it, e.g. secret in use (HTTP 409)
  kPermissionDenied,  // HTTP 403
  kUnavailable,       // peer gone, manager down, sealed (HTTP 503)
  kDeadlineExceeded,  // HTTP 504
  kIOError,           // the environment failed: disk, socket, kernel
  kDataLoss,          // stored data failed authentication or parsing
  kInternal,          // a bug
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) {
    return {StatusCode::kDeadlineExceeded, std::move(m)};
  }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message". OK stays OK.
  Status WithContext(std::string_view context) const;

  // "message" for errors, "OK" for success.
  std::string ToString() const { return ok() ? "OK" : message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Turns errno into a Status: "context: strerror (ENAME)". ENOENT maps to kNotFound,
// EACCES/EPERM to kPermissionDenied, ETIMEDOUT to kDeadlineExceeded, the rest to kIOError.
Status PosixError(std::string_view context, int err);

// The code's name as the API writes it in error bodies: "InvalidArgument", "NotFound",
// "AlreadyExists", "FailedPrecondition", "PermissionDenied", "Unavailable",
// "DeadlineExceeded", "IOError", "DataLoss", "Internal"; "OK" for kOk.
std::string_view StatusCodeName(StatusCode code);

// The code named `name` (exactly as StatusCodeName spells it, case-sensitive), or nullopt
// for any other string.
std::optional<StatusCode> StatusCodeFromName(std::string_view name);

// Short symbolic name of an errno value ("EBUSY"), or "errno N".
const char* ErrnoName(int err);

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; Status::Ok() when there is a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ocisecrets

#define OCI_CONCAT_INNER_(a, b) a##b
#define OCI_CONCAT_(a, b) OCI_CONCAT_INNER_(a, b)

// Returns from the enclosing function with "context: error" when expr fails.
#define RETURN_IF_ERROR(expr, context)                                  \
  do {                                                                  \
    ::ocisecrets::Status oci_status_ = (expr);                          \
    if (!oci_status_.ok()) return oci_status_.WithContext(context);     \
  } while (0)

// ASSIGN_OR_RETURN(auto x, Foo(), "foo"): x = value, or return "foo: error".
#define ASSIGN_OR_RETURN(lhs, expr, context)                                      \
  auto OCI_CONCAT_(oci_result_, __LINE__) = (expr);                               \
  if (!OCI_CONCAT_(oci_result_, __LINE__).ok())                                   \
    return OCI_CONCAT_(oci_result_, __LINE__).status().WithContext(context);      \
  lhs = std::move(OCI_CONCAT_(oci_result_, __LINE__)).value()

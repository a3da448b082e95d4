// Status and Result<T>: expected failures as values, with abseil-like codes.
//
// GCC 12 has no std::expected in C++20, so Result<T> is a small variant with the
// same shape. Only api/ maps codes to HTTP; everything below speaks these codes.
// Thread-compatible value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sw {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // bad input from a user: 400
  kNotFound,            // 404
  kFailedPrecondition,  // a transition the status does not allow: 409 invalid_transition
  kAborted,             // a lost compare-and-set: 409 state_changed
  kAlreadyExists,       // 409
  kPermissionDenied,    // 403
  kUnauthenticated,     // 401
  kResourceExhausted,   // limits: 413 / 429
  kUnavailable,         // the store or a dependency is down: 503
  kCancelled,           // work stopped by its cancellation token (a cancel, a shutdown)
  kDeadlineExceeded,    // work outlived its deadline: 504
  kInternal,            // a bug or an environment failure: 500
};

enum class RunStatus;  // core/run_status.h

// One of several errors of a value (a form's data against its schema): where, and what.
struct FieldError {
  std::string path;     // a JSON pointer into the value ("/age"); "" for the value itself
  std::string message;  // about that value: "must be an integer", "is required"

  bool operator==(const FieldError&) const = default;
};

// What an error is about beyond its code, as data: the stable reason a program reads
// (it is also the `code` a step error records) and the fields that locate the error.
// api/ alone turns it into the contract's error object, its HTTP status and the
// contract's sentences.
struct ErrorDetail {
  std::string reason{};         // snake_case, stable: "connection_expired", "timeout";
                                // empty: api/ names it after the StatusCode
  std::string step_id{};        // the step the error concerns
  std::string field{};          // the input it concerns: "with.url", "retry.initial", "cursor"
  std::string connection_id{};  // the connection that needs reconnecting
  // A run's compare-and-set lost: the run changed since the caller saw it, and where
  // it is now when the store read it.
  bool run_changed = false;
  std::optional<RunStatus> current_status{};
  std::optional<int64_t> version{};
  std::vector<FieldError> errors{};  // each wrong part of the input, when there are several
};

// Status: a code, a sentence for people (logs, the run's error) and the detail.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, ErrorDetail detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}
  Status(StatusCode code, std::string message, std::string reason)
      : Status(code, std::move(message), ErrorDetail{.reason = std::move(reason)}) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& reason() const { return detail_.reason; }
  const ErrorDetail& detail() const { return detail_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  ErrorDetail detail_;
};

// Bad input; the reason is "invalid_request" unless `detail` names another.
inline Status InvalidArgument(std::string message, ErrorDetail detail = {}) {
  if (detail.reason.empty()) detail.reason = "invalid_request";
  return Status(StatusCode::kInvalidArgument, std::move(message), std::move(detail));
}
inline Status NotFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message), "not_found");
}
inline Status Internal(std::string message) {
  return Status(StatusCode::kInternal, std::move(message), "internal");
}

// Result<T> holds either a T or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; an ok Status when the result holds a value.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sw

// Bugs are assertions: SW_CHECK aborts with the failed condition.
#define SW_CHECK(cond)                                         \
  do {                                                         \
    if (!(cond)) ::sw::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace sw {
[[noreturn]] void CheckFailed(const char* cond, const char* file, int line);
}

// Status and Result<T>: expected failures as values, with abseil-like codes.
//
// GCC 12 has no std::expected in C++20, so Result<T> is a small variant with the
// same shape. Only api/ maps codes to HTTP; everything below speaks these codes.
// Thread-compatible value types.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>

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

// Status carries a code, a human sentence, an API error code (snake_case, optional:
// the api layer derives one from the code when empty) and extra fields for the error
// object (e.g. {"step_id": "fetch", "field": "with.url"}).
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string api_code = "",
         nlohmann::json extra = nullptr)
      : code_(code),
        message_(std::move(message)),
        api_code_(std::move(api_code)),
        extra_(std::move(extra)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& api_code() const { return api_code_; }
  const nlohmann::json& extra() const { return extra_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string api_code_;
  nlohmann::json extra_;
};

inline Status InvalidArgument(std::string message, nlohmann::json extra = nullptr) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "invalid_request",
                std::move(extra));
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

// Errors are values. A Status is ok or carries an exit code and a message in
// "context: detail" form; Result<T> is a T or a non-ok Status. Nothing that
// returns these throws across a module boundary.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/exit_codes.h"

namespace lifeline {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok

  static Status Ok() { return Status(); }
  static Status Usage(std::string msg) { return Status(ExitCode::kUsage, std::move(msg)); }
  static Status Infra(std::string msg) { return Status(ExitCode::kInfrastructure, std::move(msg)); }
  static Status CheckFailed(std::string msg) {
    return Status(ExitCode::kCheckFailed, std::move(msg));
  }
  static Status Interrupted(std::string msg) {
    return Status(ExitCode::kInterrupted, std::move(msg));
  }

  // An infrastructure error that may go away if the same request is sent
  // again (a coordinator still loading, a leader moving).
  static Status Transient(std::string msg) {
    Status s(ExitCode::kInfrastructure, std::move(msg));
    s.transient_ = true;
    return s;
  }

  bool ok() const { return code_ == ExitCode::kOk; }
  bool transient() const { return transient_; }
  ExitCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message: "context: original".
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    Status s(code_, std::string(context) + ": " + message_);
    s.transient_ = transient_;
    return s;
  }

 private:
  Status(ExitCode code, std::string msg) : code_(code), message_(std::move(msg)) {
    assert(code != ExitCode::kOk);
  }

  ExitCode code_ = ExitCode::kOk;
  std::string message_;
  bool transient_ = false;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lifeline

// Returns early from the enclosing function when `expr` is a non-ok Status.
#define LIFELINE_RETURN_IF_ERROR(expr)           \
  do {                                           \
    ::lifeline::Status lifeline_st_ = (expr);    \
    if (!lifeline_st_.ok()) return lifeline_st_; \
  } while (0)

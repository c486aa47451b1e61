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
  // An infrastructure error where the cluster did not answer in time (no
  // connection, a timeout): one that is known to have answered before may
  // be back a moment later (a broker restarting).
  static Status Unreachable(std::string msg) {
    Status s(ExitCode::kInfrastructure, std::move(msg));
    s.unreachable_ = true;
    return s;
  }

  bool ok() const { return code_ == ExitCode::kOk; }
  bool transient() const { return transient_; }
  bool unreachable() const { return unreachable_; }
  ExitCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message: "context: original".
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    Status s(code_, std::string(context) + ": " + message_);
    s.transient_ = transient_;
    s.unreachable_ = unreachable_;
    return s;
  }

 private:
  Status(ExitCode code, std::string msg) : code_(code), message_(std::move(msg)) {
    assert(code != ExitCode::kOk);
  }

  ExitCode code_ = ExitCode::kOk;
  std::string message_;
  bool transient_ = false;
  bool unreachable_ = false;
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

// Unwraps a Result<T> into `lhs`, or returns its error from the enclosing
// function (which returns Status or any Result<U>). `lhs` is a declaration
// (`auto maps`) or an lvalue; a type with a comma needs an alias. Expands to
// more than one statement, so it cannot be the body of an unbraced if.
#define LIFELINE_ASSIGN_OR_RETURN(lhs, expr) \
  LIFELINE_ASSIGN_OR_RETURN_IMPL_(LIFELINE_STATUS_CONCAT_(lifeline_result_, __LINE__), lhs, expr, )

// The same, with "context: " prefixed to the error it returns.
#define LIFELINE_ASSIGN_OR_RETURN_CTX(lhs, expr, context)                                         \
  LIFELINE_ASSIGN_OR_RETURN_IMPL_(LIFELINE_STATUS_CONCAT_(lifeline_result_, __LINE__), lhs, expr, \
                                  .WithContext(context))

#define LIFELINE_STATUS_CONCAT_INNER_(a, b) a##b
#define LIFELINE_STATUS_CONCAT_(a, b) LIFELINE_STATUS_CONCAT_INNER_(a, b)
// tmp is a name, lhs a declaration and with_context a member-call suffix:
// none of them can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LIFELINE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, with_context) \
  auto tmp = (expr);                                                  \
  if (!tmp.ok()) return tmp.status() with_context;                    \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

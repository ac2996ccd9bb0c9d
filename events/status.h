#pragma once

// Errors as values. A Status is either OK or carries a code and a message
// meant for a person. Result<T> is a T or a non-OK Status.
//
// What each code tells a caller:
//   kInvalidArgument     the input is malformed; retrying it unchanged fails again.
//   kNotFound            the thing named does not exist.
//   kAlreadyExists       it exists already (e.g. a second receive of one incident).
//   kFailedPrecondition  a domain rule forbids it in the current state; the message
//                        names the rule. Retrying only helps after the state changes.
//   kConflict            an optimistic check failed (expected sequence or hash);
//                        reload the state and decide again.
//   kCorruption          stored or received bytes are damaged or were altered.
//   kBusy                a resource is held by someone else (data directory locked).
//   kUnavailable         a transient failure (broker down); retry with backoff.
//   kFenced              another writer took over; this one must stop.
//   kIOError             the operating system refused a read or write.
//   kInternal            a bug; report it.
//   kEndOfStream         a reader reached the end position it was asked to stop at.

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace blotter {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kConflict,
  kCorruption,
  kBusy,
  kUnavailable,
  kFenced,
  kIOError,
  kInternal,
  kEndOfStream,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Fenced(std::string m) { return {StatusCode::kFenced, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status EndOfStream(std::string m = "end of stream") {
    return {StatusCode::kEndOfStream, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or an error. Accessing the value of an error is a broken invariant
// (asserted); check ok() first.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value, so `for (x : F().value())` does not dangle.
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace blotter

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define BLOTTER_RETURN_IF_ERROR(expr) \
  do {                                \
    ::blotter::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#define BLOTTER_CONCAT_INNER(a, b) a##b
#define BLOTTER_CONCAT(a, b) BLOTTER_CONCAT_INNER(a, b)
// Declares `lhs` from a Result expression, or returns its error.
#define BLOTTER_ASSIGN_OR_RETURN(lhs, expr) \
  BLOTTER_ASSIGN_OR_RETURN_IMPL(BLOTTER_CONCAT(_res_, __LINE__), lhs, expr)
#define BLOTTER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

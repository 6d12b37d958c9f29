// Status and Result<T>: the only error channel in certkeeper.
//
// Every function that can fail returns a Status or a Result<T>. An error carries
// what failed (the message, prefixed by the operations that led to it), where
// (a URL, a path, a certificate name), a hint that tells the user what to do next,
// and, for errors that came from an ACME server, the RFC 7807 problem document as
// data. Exceptions never cross a module boundary.
#ifndef CERTKEEPER_BASE_STATUS_H_
#define CERTKEEPER_BASE_STATUS_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace certkeeper {

// Codes tell the caller what to do, not what happened: retry later, give up,
// fix the input.
enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,     // bad user input or configuration: fix and run again
  kNotFound,            // a named thing does not exist
  kAlreadyExists,
  kPermissionDenied,    // file modes, ownership, CA refused the account
  kFailedPrecondition,  // state does not allow the operation now
  kUnavailable,         // network error, 5xx: retry later
  kRateLimited,         // the CA asked us to wait (Retry-After in the problem)
  kDeadlineExceeded,    // a bounded wait ran out
  kAcme,                // the CA answered with a problem document
  kTls,                 // TLS handshake or certificate verification failed
  kProtocol,            // the peer answered something malformed
  kLocked,              // another run holds the lock
  kIo,                  // local file system or process error
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);

// RFC 7807 problem document as ACME uses it (RFC 8555 §6.7).
struct Problem {
  std::string type;        // full URN, e.g. urn:ietf:params:acme:error:badNonce
  std::string detail;
  int status = 0;          // HTTP status from the document or the response
  std::string identifier;  // subproblems: the identifier value they concern
  std::vector<Problem> subproblems;
  std::optional<std::chrono::system_clock::time_point> retry_after;

  // "badNonce" for "urn:ietf:params:acme:error:badNonce"; the full type otherwise.
  std::string ShortType() const;
  bool Is(std::string_view short_type) const { return ShortType() == short_type; }
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  ErrorCode code() const { return rep_ ? rep_->code : ErrorCode::kOk; }
  const std::string& message() const;
  const std::string& where() const;
  const std::string& hint() const;
  const Problem* problem() const;
  // The retry time the peer asked for (Retry-After), if any.
  std::optional<std::chrono::system_clock::time_point> retry_after() const;

  // Builders; each returns *this so that errors read as one expression:
  //   return Status(ErrorCode::kIo, "cannot write key").Where(path).Hint("...");
  Status& Where(std::string where) &;
  Status&& Where(std::string where) &&;
  Status& Hint(std::string hint) &;
  Status&& Hint(std::string hint) &&;
  Status& WithProblem(Problem problem) &;
  Status&& WithProblem(Problem problem) &&;
  Status& WithRetryAfter(std::chrono::system_clock::time_point t) &;
  Status&& WithRetryAfter(std::chrono::system_clock::time_point t) &&;
  // Prefixes the message with the operation that failed: "issue web: <message>".
  Status& Annotate(std::string_view operation) &;
  Status&& Annotate(std::string_view operation) &&;

  // One line: "message (where): acme problem badNonce: detail".
  std::string ToString() const;
  // ToString() plus the hint on its own line, for the user.
  std::string ToUserString() const;

 private:
  struct Rep {
    ErrorCode code;
    std::string message;
    std::string where;
    std::string hint;
    std::optional<Problem> problem;
    std::optional<std::chrono::system_clock::time_point> retry_after;
  };
  Rep& mutable_rep();
  std::shared_ptr<Rep> rep_;
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) {
      v_ = Status(ErrorCode::kInternal, "Result constructed from an OK status");
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) { return r.status(); }
}  // namespace internal

}  // namespace certkeeper

#define CK_CONCAT_INNER_(a, b) a##b
#define CK_CONCAT_(a, b) CK_CONCAT_INNER_(a, b)

// Returns the error from the enclosing function when expr is not OK.
#define CK_RETURN_IF_ERROR(expr)                                        \
  do {                                                                  \
    ::certkeeper::Status ck_status_ = ::certkeeper::internal::AsStatus(expr); \
    if (!ck_status_.ok()) return ck_status_;                            \
  } while (0)

// CK_ASSIGN_OR_RETURN(auto x, FunctionReturningResult());
#define CK_ASSIGN_OR_RETURN(lhs, expr) \
  CK_ASSIGN_OR_RETURN_IMPL_(CK_CONCAT_(ck_result_, __LINE__), lhs, expr)
#define CK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // CERTKEEPER_BASE_STATUS_H_

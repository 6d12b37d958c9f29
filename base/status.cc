#include "base/status.h"

namespace certkeeper {

namespace {
const std::string& Empty() {
  static const std::string* empty = new std::string();
  return *empty;
}
constexpr std::string_view kAcmeErrorPrefix = "urn:ietf:params:acme:error:";
}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::kAcme: return "acme";
    case ErrorCode::kTls: return "tls";
    case ErrorCode::kProtocol: return "protocol";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Problem::ShortType() const {
  if (type.rfind(kAcmeErrorPrefix, 0) == 0) {
    return type.substr(kAcmeErrorPrefix.size());
  }
  return type;
}

Status::Status(ErrorCode code, std::string message) {
  if (code == ErrorCode::kOk) return;
  rep_ = std::make_shared<Rep>();
  rep_->code = code;
  rep_->message = std::move(message);
}

Status::Rep& Status::mutable_rep() {
  if (!rep_) {
    rep_ = std::make_shared<Rep>();
    rep_->code = ErrorCode::kInternal;
  } else if (rep_.use_count() > 1) {
    rep_ = std::make_shared<Rep>(*rep_);
  }
  return *rep_;
}

const std::string& Status::message() const { return rep_ ? rep_->message : Empty(); }
const std::string& Status::where() const { return rep_ ? rep_->where : Empty(); }
const std::string& Status::hint() const { return rep_ ? rep_->hint : Empty(); }
const Problem* Status::problem() const {
  return rep_ && rep_->problem ? &*rep_->problem : nullptr;
}
std::optional<std::chrono::system_clock::time_point> Status::retry_after() const {
  if (!rep_) return std::nullopt;
  if (rep_->retry_after) return rep_->retry_after;
  if (rep_->problem) return rep_->problem->retry_after;
  return std::nullopt;
}

Status& Status::Where(std::string where) & {
  if (!ok()) mutable_rep().where = std::move(where);
  return *this;
}
Status&& Status::Where(std::string where) && { return std::move(Where(std::move(where))); }
Status& Status::Hint(std::string hint) & {
  if (!ok()) mutable_rep().hint = std::move(hint);
  return *this;
}
Status&& Status::Hint(std::string hint) && { return std::move(Hint(std::move(hint))); }
Status& Status::WithProblem(Problem problem) & {
  if (!ok()) mutable_rep().problem = std::move(problem);
  return *this;
}
Status&& Status::WithProblem(Problem problem) && {
  return std::move(WithProblem(std::move(problem)));
}
Status& Status::WithRetryAfter(std::chrono::system_clock::time_point t) & {
  if (!ok()) mutable_rep().retry_after = t;
  return *this;
}
Status&& Status::WithRetryAfter(std::chrono::system_clock::time_point t) && {
  return std::move(WithRetryAfter(t));
}
Status& Status::Annotate(std::string_view operation) & {
  if (!ok() && !operation.empty()) {
    Rep& rep = mutable_rep();
    rep.message = std::string(operation) + ": " + rep.message;
  }
  return *this;
}
Status&& Status::Annotate(std::string_view operation) && {
  return std::move(Annotate(operation));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out = rep_->message;
  if (!rep_->where.empty()) out += " (" + rep_->where + ")";
  if (rep_->problem) {
    const Problem& p = *rep_->problem;
    out += ": acme problem " + p.ShortType();
    if (!p.detail.empty()) out += ": " + p.detail;
    for (const Problem& sub : p.subproblems) {
      out += "; [" + sub.identifier + "] " + sub.ShortType();
      if (!sub.detail.empty()) out += ": " + sub.detail;
    }
  }
  return out;
}

std::string Status::ToUserString() const {
  std::string out = ToString();
  if (!ok() && !rep_->hint.empty()) out += "\n  hint: " + rep_->hint;
  return out;
}

}  // namespace certkeeper
